import { Transform, type TransformCallback } from 'node:stream';
import * as zlib from 'node:zlib';

/**
 * Gzip decompression member by member (RFC 1952): our own reading of each member's header and
 * trailer around zlib's raw inflate, so that where the compressed data ends is known. Node's
 * Gunzip fails on bytes after a member that are neither zeros nor another member, and drops the
 * text it had inflated from the same read with the error; GNU gzip decompresses such a file whole
 * and warns "decompression OK, trailing garbage ignored" (gzip.c, get_method). Here every member's
 * text is delivered, zero bytes after the last member are padding, and any other bytes there are
 * counted in `ignoredBytes` for the caller to report once it has read everything.
 */
export class GunzipMembers extends Transform {
  /** Bytes after the end of the last member that are not gzip (zero padding followed by others included). */
  ignoredBytes = 0;
  private step: 'header' | 'deflate' | 'trailer' | 'after' = 'header';
  private members = 0;
  /** Header or trailer bytes read so far, while they are incomplete. */
  private held: Buffer | undefined;
  /** Zero bytes after the last member, padding unless other bytes follow. */
  private zeros = 0;
  private inflater: zlib.InflateRaw | undefined;
  private crc = 0;
  private size = 0;

  constructor(private readonly chunkSize = 256 * 1024) {
    super();
  }

  override _transform(chunk: Buffer, _encoding: BufferEncoding, done: TransformCallback): void {
    this.decompress(chunk).then(() => done(), done);
  }

  override _flush(done: TransformCallback): void {
    this.atEndOfInput().then(() => done(), done);
  }

  override _read(size: number): void {
    // the inflater is paused while this stream's reader is behind (see `startMember`)
    if (this.inflater?.isPaused()) this.inflater.resume();
    super._read(size);
  }

  override _destroy(error: Error | null, done: (error?: Error | null) => void): void {
    this.inflater?.destroy();
    super._destroy(error, done);
  }

  private async decompress(chunk: Buffer): Promise<void> {
    let input = chunk;
    while (input.length > 0) {
      if (this.step === 'after') {
        if (this.ignoredBytes > 0) { this.ignoredBytes += input.length; return; }
        let i = 0;
        while (i < input.length && input[i] === 0) i++;
        this.zeros += i;
        if (i === input.length) return;
        if (this.zeros > 0) { this.ignoredBytes = this.zeros + input.length - i; return; }
        this.step = 'header';
        input = input.subarray(i);
      }
      if (this.step === 'header') {
        const head = this.held ? Buffer.concat([this.held, input]) : input;
        let length = gzipHeaderLength(head);
        if (length === INCOMPLETE) {
          if (head.length <= MAX_HEADER_BYTES) { this.held = Buffer.from(head); return; }
          length = HEADER_TOO_LONG;
        }
        this.held = undefined;
        if (length < 0) {
          if (this.members === 0) throw headerError(head, length);
          this.ignoredBytes = head.length;
          this.step = 'after';
          return;
        }
        this.startMember();
        input = head.subarray(length);
        continue;
      }
      if (this.step === 'deflate') {
        const used = await this.inflate(input);
        if (used === input.length) return;
        await this.memberEnd();
        input = input.subarray(used);
      }
      // the trailer: CRC-32 and length (mod 2^32) of the member's text
      const trailer = this.held ? Buffer.concat([this.held, input]) : input;
      if (trailer.length < 8) { this.held = Buffer.from(trailer); return; }
      this.held = undefined;
      if (crc32 !== undefined && trailer.readUInt32LE(0) !== this.crc >>> 0) throw zlibError('incorrect data check', 'Z_DATA_ERROR');
      if (trailer.readUInt32LE(4) !== this.size % 2 ** 32) throw zlibError('incorrect length check', 'Z_DATA_ERROR');
      this.members++;
      this.step = 'after';
      input = trailer.subarray(8);
    }
  }

  private async atEndOfInput(): Promise<void> {
    if (this.step === 'after') return;
    if (this.step === 'header' && this.members > 0 && (this.held?.length ?? 0) < 2) {
      // (not even the magic number: one stray byte)
      this.ignoredBytes = this.held?.length ?? 0;
      return;
    }
    if (this.step === 'deflate') {
      // at the end of the input, the inflater fails if the deflate data is cut short
      const inflater = this.inflater!;
      inflater.end();
      await this.memberEnd();
    }
    throw zlibError('unexpected end of file', 'Z_BUF_ERROR');
  }

  private startMember(): void {
    this.step = 'deflate';
    this.crc = 0;
    this.size = 0;
    const inflater = zlib.createInflateRaw({ chunkSize: this.chunkSize });
    inflater.on('data', (text: Buffer) => {
      if (crc32 !== undefined) this.crc = crc32(text, this.crc);
      this.size += text.length;
      if (!this.push(text)) inflater.pause();
    });
    this.inflater = inflater;
  }

  /** Hands `input` to the member's inflater; how many of its bytes were deflate data (fewer: the member's deflate data ended). */
  private inflate(input: Buffer): Promise<number> {
    const inflater = this.inflater!;
    const before = inflater.bytesWritten;
    return new Promise<number>((resolve, reject) => {
      inflater.once('error', reject);
      inflater.write(input, (error) => {
        inflater.off('error', reject);
        if (error) reject(error);
        else resolve(inflater.bytesWritten - before);
      });
    });
  }

  /** Waits until all of the member's text has been pushed (or its inflater fails). */
  private async memberEnd(): Promise<void> {
    const inflater = this.inflater!;
    await new Promise<void>((resolve, reject) => {
      if (inflater.readableEnded) { resolve(); return; }
      inflater.once('end', resolve);
      inflater.once('error', reject);
    });
    inflater.destroy();
    this.inflater = undefined;
    this.step = 'trailer';
  }
}

// (Node 20.15 and later; before, a member's length is checked and not its CRC)
const crc32: ((data: Buffer, value?: number) => number) | undefined = (zlib as { crc32?: (data: Buffer, value?: number) => number }).crc32;

const INCOMPLETE = 0;
const NOT_GZIP = -1;
const UNKNOWN_METHOD = -2;
const RESERVED_FLAGS = -3;
const HEADER_CRC = -4;
const HEADER_TOO_LONG = -5;
/** A member header longer than this (its name or comment never ends) is taken for no header. */
const MAX_HEADER_BYTES = 1024 * 1024;

const FHCRC = 2;
const FEXTRA = 4;
const FNAME = 8;
const FCOMMENT = 16;

/**
 * The length of the gzip member header that `bytes` start with (RFC 1952 §2.3): INCOMPLETE while
 * they are the beginning of one; negative when they are none, by why.
 */
function gzipHeaderLength(bytes: Buffer): number {
  if (bytes.length >= 1 && bytes[0] !== 0x1f) return NOT_GZIP;
  if (bytes.length >= 2 && bytes[1] !== 0x8b) return NOT_GZIP;
  if (bytes.length >= 3 && bytes[2] !== 8) return UNKNOWN_METHOD;
  if (bytes.length >= 4 && (bytes[3]! & 0xe0) !== 0) return RESERVED_FLAGS;
  if (bytes.length < 10) return INCOMPLETE;
  const flags = bytes[3]!;
  let at = 10;
  if (flags & FEXTRA) {
    if (bytes.length < at + 2) return INCOMPLETE;
    at += 2 + bytes.readUInt16LE(at);
  }
  for (const field of [FNAME, FCOMMENT]) {
    if (!(flags & field) || at > bytes.length) continue;
    const end = bytes.indexOf(0, at);
    if (end < 0) return INCOMPLETE;
    at = end + 1;
  }
  if (flags & FHCRC) {
    if (bytes.length < at + 2) return INCOMPLETE;
    if (crc32 !== undefined && bytes.readUInt16LE(at) !== (crc32(bytes.subarray(0, at)) & 0xffff)) return HEADER_CRC;
    at += 2;
  }
  return at > bytes.length ? INCOMPLETE : at;
}

/** The error of a file that does not start with a gzip member header, in zlib's words. */
function headerError(head: Buffer, reason: number): Error {
  if (reason === UNKNOWN_METHOD) return zlibError('unknown compression method', 'Z_DATA_ERROR');
  if (reason === RESERVED_FLAGS) return zlibError('unknown header flags set', 'Z_DATA_ERROR');
  if (reason === HEADER_CRC) return zlibError('header crc mismatch', 'Z_DATA_ERROR');
  if (reason === HEADER_TOO_LONG) return zlibError(`gzip header longer than ${head.length} bytes`, 'Z_DATA_ERROR');
  return zlibError('incorrect header check', 'Z_DATA_ERROR');
}

function zlibError(message: string, code: string): Error {
  return Object.assign(new Error(message), { code });
}

/** Bytes after the end of a gzip file's compressed data that are not gzip: everything before them was read. */
export class IgnoredTrailingBytes extends Error {
  readonly code = 'GZIP_TRAILING_BYTES';

  constructor(readonly bytes: number) {
    super(`${bytes.toLocaleString('en-US')} ${bytes === 1 ? 'byte' : 'bytes'} after the end of the compressed data ${bytes === 1 ? 'was' : 'were'} ignored (not gzip)`);
  }
}

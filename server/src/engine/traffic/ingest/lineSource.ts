import { createReadStream, promises as fsp, type ReadStream } from 'node:fs';
import type { Readable } from 'node:stream';
import type { FileHandle } from 'node:fs/promises';
import { GunzipMembers, IgnoredTrailingBytes } from './gunzip';
import { unwrapPrefix } from '../formats/shipper';

/** Lines longer than this are not handed to a reader; they count as skipped ("line too long"). */
export const MAX_LINE_BYTES = 4 * 1024 * 1024;
/** Stands in for a line that was too long to keep. */
export const TOO_LONG = '\u0000line too long';
/** The skip reason of the line a read error (a truncated .gz) cut off. */
export const CUT_OFF = 'line cut off where the file is damaged';

export interface LineBatch {
  lines: string[];
  /** Bytes read from disk since the previous batch (compressed bytes for gzip). */
  bytes: number;
  /** The 1-based file line of each line, when lines are not the file's own (a Loki document's entries). */
  at?: number[];
  /** Lines skipped before any reader sees them, with the reason at their index (a Loki document's entries). */
  skips?: (string | undefined)[];
}

export interface LineSourceOptions {
  /** Byte range [start, end) of an uncompressed file; both must be line starts (or 0 / the size). */
  start?: number;
  end?: number;
  gzip?: boolean;
  signal?: AbortSignal;
  chunkBytes?: number;
}

/** Whether a read failed on damaged gzip data (corrupt, cut short, or followed by bytes that are not gzip), not on the file itself. */
export function isGzipDamage(error: unknown): boolean {
  const code = (error as NodeJS.ErrnoException | undefined)?.code;
  return code === 'Z_DATA_ERROR' || code === 'Z_BUF_ERROR' || error instanceof IgnoredTrailingBytes;
}

/** A file's bytes: as read from disk (`raw`, which counts them), and as its text is in them (`data`, decompressed when gzip). */
export interface FileBytes {
  raw: ReadStream;
  data: Readable;
  /**
   * Once `data` has ended: the bytes that were read and left out (after the end of a gzip file's
   * compressed data), as the error to report after the text, which they take nothing from.
   */
  leftOut(): Error | undefined;
}

export function openFileBytes(path: string, options: LineSourceOptions): FileBytes {
  const raw = createReadStream(path, {
    highWaterMark: options.chunkBytes ?? 120 * 1024,
    ...(options.start !== undefined ? { start: options.start } : {}),
    ...(options.end !== undefined ? { end: options.end - 1 } : {}),
  });
  if (!options.gzip) return { raw, data: raw, leftOut: () => undefined };
  const gunzip = new GunzipMembers(256 * 1024);
  raw.on('error', (error) => gunzip.destroy(error));
  return { raw, data: raw.pipe(gunzip), leftOut: () => (gunzip.ignoredBytes > 0 ? new IgnoredTrailingBytes(gunzip.ignoredBytes) : undefined) };
}

/** Whether a file is gzip: its name ends in .gz or it starts with the gzip magic bytes. */
export async function isGzip(path: string): Promise<boolean> {
  if (path.toLowerCase().endsWith('.gz')) return true;
  const handle = await fsp.open(path, 'r');
  try {
    const buffer = Buffer.alloc(2);
    const { bytesRead } = await handle.read(buffer, 0, 2, 0);
    return bytesRead === 2 && buffer[0] === 0x1f && buffer[1] === 0x8b;
  } finally {
    await handle.close();
  }
}

/**
 * Streams a file as batches of lines (one batch per chunk read), without the line ends ("\n" or
 * "\r\n"). A last line without a newline is still a line; an empty file has none. Splitting happens
 * on the "\n" byte, so a multi-byte UTF-8 character is never cut.
 */
export async function* readLineBatches(path: string, options: LineSourceOptions = {}): AsyncGenerator<LineBatch> {
  const { raw, data: stream, leftOut } = openFileBytes(path, options);
  let reported = 0;
  const consumed = (): number => {
    const now = raw.bytesRead;
    const delta = now - reported;
    reported = now;
    return delta;
  };
  let rest: Buffer | undefined;
  let dropping = false;
  let first = true;
  try {
    if (options.end !== undefined && options.start !== undefined && options.end <= options.start) return;
    for await (const chunk of stream as AsyncIterable<Buffer>) {
      options.signal?.throwIfAborted();
      let buffer = chunk;
      let lines: string[] = [];
      let last = buffer.lastIndexOf(10);
      if (dropping) {
        // inside a line that is too long: wait for its end
        const end = buffer.indexOf(10);
        if (end < 0) { yield { lines, bytes: consumed() }; continue; }
        dropping = false;
        lines.push(TOO_LONG);
        buffer = buffer.subarray(end + 1);
        last = buffer.lastIndexOf(10);
      }
      if (last < 0) {
        rest = rest ? Buffer.concat([rest, buffer]) : buffer;
        if (rest.length > MAX_LINE_BYTES) { rest = undefined; dropping = true; }
        yield { lines, bytes: consumed() };
        continue;
      }
      let split: string[];
      if (rest) {
        // the line begun in the previous chunk: decode it alone, so the chunk is not copied
        const end = buffer.indexOf(10);
        const head = Buffer.concat([rest, buffer.subarray(0, end)]);
        const firstLine = head.length > MAX_LINE_BYTES ? TOO_LONG : head.toString('utf8');
        rest = undefined;
        split = end < last ? buffer.toString('utf8', end + 1, last).split('\n') : [];
        split.unshift(firstLine);
      } else {
        split = buffer.toString('utf8', 0, last).split('\n');
      }
      if (last + 1 < buffer.length) rest = Buffer.from(buffer.subarray(last + 1));
      if (first) {
        first = false;
        if (split[0]!.charCodeAt(0) === 0xfeff) split[0] = split[0]!.slice(1);
      }
      lines = lines.length ? lines.concat(split) : split;
      yield { lines, bytes: consumed() };
    }
    if (dropping) yield { lines: [TOO_LONG], bytes: consumed() };
    else if (rest && rest.length) {
      let text = rest.length > MAX_LINE_BYTES ? TOO_LONG : rest.toString('utf8');
      if (first && text.charCodeAt(0) === 0xfeff) text = text.slice(1);
      yield { lines: [text], bytes: consumed() };
    } else {
      const bytes = consumed();
      if (bytes) yield { lines: [], bytes };
    }
    // (the last line was whole)
    rest = undefined;
    dropping = false;
    const problem = leftOut();
    if (problem) throw problem;
  } catch (error) {
    // damage (a truncated .gz) in the middle of a line: that line is counted, as skipped
    if (!options.signal?.aborted && (dropping || rest?.length)) yield { lines: [''], skips: [CUT_OFF], bytes: consumed() };
    throw error;
  } finally {
    stream.destroy();
    raw.destroy();
  }
}

/** How many lines format detection samples first. */
export const SAMPLE_LINES = 50;

/**
 * The first lines of a file (decompressed), for format detection: at most `maxLines` non-blank
 * lines, read until `maxBytes` have been read and the sample holds `minLines` lines. Long lines do
 * not end the sample: lines up to MAX_LINE_BYTES are taken like any other, longer ones passed
 * over, and the lines after them sampled.
 */
export async function sampleLines(path: string, gzip: boolean, maxLines = SAMPLE_LINES, maxBytes = 256 * 1024, minLines = 5): Promise<string[]> {
  const out: string[] = [];
  let bytes = 0;
  try {
    for await (const batch of readLineBatches(path, { gzip, chunkBytes: 64 * 1024 })) {
      for (const line of batch.lines) {
        const trimmed = line.endsWith('\r') ? line.slice(0, -1) : line;
        if (trimmed.trim() === '' || trimmed === TOO_LONG) continue;
        out.push(trimmed);
        if (out.length >= maxLines) return out;
      }
      bytes += batch.bytes;
      if (bytes >= maxBytes && out.length >= minLines) break;
    }
  } catch (error) {
    // Damage (a truncated .gz): the lines before it, if any, still choose the reader; the full
    // read meets the same error, reports it and counts the lines it kept, and the line it cut.
    if (out.length === 0 && !isGzipDamage(error)) throw error;
  }
  return out;
}

/** Line-start offsets that split an uncompressed file into `parts` byte ranges of similar size. */
export async function splitOffsets(path: string, size: number, parts: number): Promise<number[]> {
  const offsets = [0];
  if (parts <= 1 || size === 0) return [0, size];
  const handle = await fsp.open(path, 'r');
  try {
    const buffer = Buffer.alloc(64 * 1024);
    for (let i = 1; i < parts; i++) {
      let position = Math.floor((size * i) / parts);
      let found = -1;
      while (position < size) {
        const { bytesRead } = await handle.read(buffer, 0, buffer.length, position);
        if (bytesRead <= 0) break;
        const nl = buffer.subarray(0, bytesRead).indexOf(10);
        if (nl >= 0) {
          found = position + nl + 1;
          // (a CRI P fragment stays in the range of the line that ends it)
          if (found < size && (await endsCriFragment(handle, found))) { position = found; found = -1; continue; }
          break;
        }
        position += bytesRead;
      }
      if (found < 0 || found >= size) break;
      if (found > offsets[offsets.length - 1]!) offsets.push(found);
    }
  } finally {
    await handle.close();
  }
  offsets.push(size);
  return offsets;
}

/** Whether the line that ends right before `lineStart` is a CRI `P` fragment, as the shipper reader reads its prefix (looked for within 64 KiB). */
async function endsCriFragment(handle: FileHandle, lineStart: number): Promise<boolean> {
  const from = Math.max(0, lineStart - 1 - 64 * 1024);
  const buffer = Buffer.alloc(lineStart - 1 - from);
  const { bytesRead } = await handle.read(buffer, 0, buffer.length, from);
  const before = buffer.subarray(0, bytesRead);
  const nl = before.lastIndexOf(10);
  if (nl < 0 && from > 0) return false;
  return unwrapPrefix(before.subarray(nl + 1).toString('utf8'))?.partial === true;
}

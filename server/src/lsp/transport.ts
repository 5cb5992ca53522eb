import { StreamMessageWriter, type Connection, type Message, type MessageReader } from 'vscode-languageserver/node';

/** Messages larger than this (bytes) are encoded into a fresh buffer rather than kept. */
const LARGEST_KEPT_MESSAGE = 12 * 1024 * 1024;
/** Characters written escaped: those JSON escapes (quote, backslash, controls) and every one outside ASCII. */
const NEEDS_ESCAPE = /["\\\u0000-\u001f\u0080-\uffff]/;
const NON_ASCII = /[\u0080-\uffff]/g;
/** Object keys as JSON text (`"key":`), kept: LSP messages use a few dozen names over and over. */
const KEY_CACHE_LIMIT = 512;

/**
 * JSON for the stdio writer, encoded into one buffer that is kept from message to message,
 * value by value, without building the text as a string.
 * On this kind of machine most of the cost of a large message was first touches of new memory
 * and the young-generation collections that its garbage brings on: the JSON text of a 600 KiB
 * publish as one string (and, for non-Latin-1 text, its flattening) and a fresh buffer per
 * message. Here strings that need no escaping, numbers and punctuation go straight into memory
 * already touched. The text is `JSON.stringify`'s with every character outside ASCII written as a
 * `\u` escape: the client decodes a message as UTF-8 before parsing it, and pure ASCII is the
 * decoder's fast path (a 640 KiB publish with arrows in its messages: decoded and parsed in 0.6 of
 * the time). Reuse is safe because the writer sends one message at a time, resolves a write only
 * after the stream is done with its bytes, and encodes the next message only then.
 */
export class KeptBufferJsonEncoder {
  readonly name = 'application/json';
  private buffer = Buffer.alloc(64 * 1024);
  private length = 0;
  private readonly keys = new Map<string, string>();

  encode(message: Message): Promise<Uint8Array> {
    this.length = 0;
    this.value(message);
    if (this.length > LARGEST_KEPT_MESSAGE) {
      const own = Buffer.from(this.buffer.subarray(0, this.length));
      this.buffer = Buffer.alloc(64 * 1024);
      return Promise.resolve(own);
    }
    return Promise.resolve(this.buffer.subarray(0, this.length));
  }

  private value(value: unknown): void {
    switch (typeof value) {
      case 'string':
        if (NEEDS_ESCAPE.test(value)) this.escapedString(value);
        else {
          this.byte(QUOTE);
          this.text(value);
          this.byte(QUOTE);
        }
        return;
      case 'number':
        if (Number.isInteger(value) && value >= 0 && value < 2 ** 31) this.digits(value);
        else this.text(JSON.stringify(value));
        return;
      case 'boolean':
        this.text(value ? 'true' : 'false');
        return;
    }
    if (value === null) this.text('null');
    else if (Array.isArray(value)) {
      this.byte(OPEN_BRACKET);
      for (let i = 0; i < value.length; i++) {
        if (i > 0) this.byte(COMMA);
        const item: unknown = value[i];
        // As JSON.stringify: an element that has no JSON form is null.
        if (item === undefined || typeof item === 'function' || typeof item === 'symbol') this.text('null');
        else this.value(item);
      }
      this.byte(CLOSE_BRACKET);
    } else if (isPlainRecord(value)) {
      this.byte(OPEN_BRACE);
      let first = true;
      for (const key of Object.keys(value)) {
        const item = value[key];
        if (item === undefined || typeof item === 'function' || typeof item === 'symbol') continue;
        if (!first) this.byte(COMMA);
        first = false;
        this.text(this.keyText(key));
        this.value(item);
      }
      this.byte(CLOSE_BRACE);
    } else {
      // Dates, class instances, boxed values, toJSON: JSON.stringify knows their forms (and throws where it must).
      this.text(asciiJson(value) ?? 'null');
    }
  }

  private keyText(key: string): string {
    let text = this.keys.get(key);
    if (text === undefined) {
      text = `${asciiJson(key)!}:`;
      if (this.keys.size < KEY_CACHE_LIMIT) this.keys.set(key, text);
    }
    return text;
  }

  private room(bytes: number): void {
    if (this.length + bytes <= this.buffer.length) return;
    const grown = Buffer.alloc(Math.max(this.length + bytes, this.buffer.length * 2));
    this.buffer.copy(grown, 0, 0, this.length);
    this.buffer = grown;
  }

  private byte(byte: number): void {
    this.room(1);
    this.buffer[this.length++] = byte;
  }

  /** A non-negative integer below 2^31, in decimal. */
  private digits(value: number): void {
    let width = 1;
    for (let rest = value; rest >= 10; rest = Math.floor(rest / 10)) width++;
    this.room(width);
    for (let at = this.length + width - 1, rest = value; at >= this.length; at--, rest = Math.floor(rest / 10)) this.buffer[at] = 0x30 + (rest % 10);
    this.length += width;
  }

  /** A string as JSON in ASCII, unit by unit: `JSON.stringify`'s escapes, and `\uXXXX` for every unit outside ASCII. */
  private escapedString(value: string): void {
    this.room(value.length * 6 + 2);
    const buffer = this.buffer;
    let at = this.length;
    buffer[at++] = QUOTE;
    for (let i = 0; i < value.length; i++) {
      const unit = value.charCodeAt(i);
      if (unit >= 0x20 && unit < 0x80 && unit !== QUOTE && unit !== BACKSLASH) {
        buffer[at++] = unit;
        continue;
      }
      buffer[at++] = BACKSLASH;
      const short = SHORT_ESCAPES[unit];
      if (short !== undefined) {
        buffer[at++] = short;
        continue;
      }
      buffer[at++] = LETTER_U;
      for (let shift = 12; shift >= 0; shift -= 4) buffer[at++] = HEX_DIGITS[(unit >> shift) & 0xf]!;
    }
    buffer[at++] = QUOTE;
    this.length = at;
  }

  /** ASCII text (what `asciiJson` gives and the writer's own punctuation, keys and plain strings). */
  private text(text: string): void {
    this.room(text.length);
    this.length += this.buffer.write(text, this.length, 'latin1');
  }
}

/** `JSON.stringify(value)` with each UTF-16 unit outside ASCII as `\uXXXX` (a surrogate pair as two): the same JSON value, in ASCII. */
function asciiJson(value: unknown): string | undefined {
  const json: string | undefined = JSON.stringify(value);
  return json?.replace(NON_ASCII, (unit) => `\\u${unit.charCodeAt(0).toString(16).padStart(4, '0')}`);
}

const QUOTE = 0x22;
const BACKSLASH = 0x5c;
const LETTER_U = 0x75;
const HEX_DIGITS = Buffer.from('0123456789abcdef');
/** The escape letter JSON.stringify writes after a backslash for these units (others take `\uXXXX`). */
const SHORT_ESCAPES: Record<number, number> = { 0x22: 0x22, 0x5c: 0x5c, 0x08: 0x62, 0x0c: 0x66, 0x0a: 0x6e, 0x0d: 0x72, 0x09: 0x74 };
const COMMA = 0x2c;
const OPEN_BRACKET = 0x5b;
const CLOSE_BRACKET = 0x5d;
const OPEN_BRACE = 0x7b;
const CLOSE_BRACE = 0x7d;

/** A plain object (a literal, as LSP messages are made of), written key by key as JSON.stringify would; any other object is left to JSON.stringify. */
function isPlainRecord(value: unknown): value is Record<string, unknown> {
  if (typeof value !== 'object' || value === null) return false;
  const prototype: unknown = Object.getPrototypeOf(value);
  return (prototype === Object.prototype || prototype === null) && typeof (value as { toJSON?: unknown }).toJSON !== 'function';
}

/**
 * The input and output of a server on stdio. The input stays the stream itself (typed as a
 * reader: the library accepts either and mixes them) so that the library still ends the process
 * when the client closes stdin.
 */
export function stdioTransport(): [MessageReader, StreamMessageWriter] {
  return [process.stdin as unknown as MessageReader, stdioMessageWriter()];
}

/** The writer of a server on stdio. */
function stdioMessageWriter(): StreamMessageWriter {
  return new StreamMessageWriter(process.stdout, { charset: 'utf-8', contentTypeEncoder: new KeptBufferJsonEncoder() });
}

/** On stdio, stdout is the protocol: what anything in the process logs goes to the client's log instead. */
export function consoleToClient(connection: Connection): void {
  console.log = (...args: unknown[]) => connection.console.log(args.map(String).join(' '));
  console.info = (...args: unknown[]) => connection.console.info(args.map(String).join(' '));
  console.debug = (...args: unknown[]) => connection.console.log(args.map(String).join(' '));
  console.warn = (...args: unknown[]) => connection.console.warn(args.map(String).join(' '));
  console.error = (...args: unknown[]) => connection.console.error(args.map(String).join(' '));
}

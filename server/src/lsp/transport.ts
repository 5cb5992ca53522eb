import { StreamMessageWriter, type Connection, type Message, type MessageReader } from 'vscode-languageserver/node';

/** Messages larger than this (bytes) are encoded into a fresh buffer rather than kept. */
const LARGEST_KEPT_MESSAGE = 12 * 1024 * 1024;
/** Arrays at least this long, near the top of a message, are written one element at a time. */
const SPLIT_ARRAY = 8;
/** How deep in a message such arrays are looked for (publishDiagnostics: message, params, diagnostics). */
const SPLIT_DEPTH = 3;

/**
 * JSON for the stdio writer, encoded into one buffer that is kept from message to message, the
 * large arrays near a message's top (a publish's diagnostics) one element at a time.
 * On this kind of machine most of the cost of a large message was first touches of new memory:
 * the JSON text of a 600 KiB publish as one string (and, for non-Latin-1 text, its flattening)
 * and a fresh buffer per message. Elements are small strings in the young generation, and the
 * bytes go into memory already touched. The text is the same as `JSON.stringify`'s. Reuse is safe
 * because the writer sends one message at a time, resolves a write only after the stream is done
 * with its bytes, and encodes the next message only then.
 */
export class KeptBufferJsonEncoder {
  readonly name = 'application/json';
  private buffer = Buffer.alloc(64 * 1024);
  private length = 0;

  encode(message: Message): Promise<Uint8Array> {
    this.length = 0;
    this.value(message, 0);
    if (this.length > LARGEST_KEPT_MESSAGE) {
      const own = Buffer.from(this.buffer.subarray(0, this.length));
      this.buffer = Buffer.alloc(64 * 1024);
      return Promise.resolve(own);
    }
    return Promise.resolve(this.buffer.subarray(0, this.length));
  }

  private value(value: unknown, depth: number): void {
    if (depth < SPLIT_DEPTH && Array.isArray(value) && value.length >= SPLIT_ARRAY) {
      this.text('[');
      value.forEach((item: unknown, i) => {
        if (i > 0) this.text(',');
        // As JSON.stringify: an element that has no JSON form is null.
        if (item === undefined || typeof item === 'function' || typeof item === 'symbol') this.text('null');
        else this.value(item, depth + 1);
      });
      this.text(']');
    } else if (depth < SPLIT_DEPTH && isPlainRecord(value)) {
      this.text('{');
      let first = true;
      for (const key of Object.keys(value)) {
        const item = value[key];
        if (item === undefined || typeof item === 'function' || typeof item === 'symbol') continue;
        this.text(`${first ? '' : ','}${JSON.stringify(key)}:`);
        first = false;
        this.value(item, depth + 1);
      }
      this.text('}');
    } else {
      this.text(JSON.stringify(value) ?? 'null');
    }
  }

  private text(text: string): void {
    // A UTF-16 unit takes at most 3 bytes of UTF-8 (a surrogate pair, two units, takes 4).
    const room = this.length + text.length * 3;
    if (room > this.buffer.length) {
      const grown = Buffer.alloc(Math.max(room, this.buffer.length * 2));
      this.buffer.copy(grown, 0, 0, this.length);
      this.buffer = grown;
    }
    this.length += this.buffer.write(text, this.length, 'utf8');
  }
}

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

import { StreamMessageWriter, type Connection, type Message, type MessageReader } from 'vscode-languageserver/node';

/** Messages larger than this (in UTF-16 units) are encoded into a fresh buffer rather than kept. */
const LARGEST_KEPT_MESSAGE = 4 * 1024 * 1024;

/**
 * JSON for the stdio writer, encoded into one buffer that is kept from message to message.
 * A fresh buffer per message (the library's default) costs most of its time in first touches of
 * new memory: a publish of 600 KiB took 3.6 ms that way and 0.3 ms into a kept buffer. Reuse is
 * safe because the writer sends one message at a time and resolves a write only after the stream
 * is done with its bytes, and it encodes the next message only then.
 */
export class KeptBufferJsonEncoder {
  readonly name = 'application/json';
  private buffer = Buffer.alloc(0);

  encode(message: Message): Promise<Uint8Array> {
    const json = JSON.stringify(message);
    if (json.length > LARGEST_KEPT_MESSAGE) return Promise.resolve(Buffer.from(json, 'utf8'));
    // A UTF-16 unit takes at most 3 bytes of UTF-8 (a surrogate pair, two units, takes 4).
    const room = json.length * 3;
    if (this.buffer.length < room) this.buffer = Buffer.alloc(Math.max(room, this.buffer.length * 2, 64 * 1024));
    const length = this.buffer.write(json, 0, 'utf8');
    return Promise.resolve(this.buffer.subarray(0, length));
  }
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

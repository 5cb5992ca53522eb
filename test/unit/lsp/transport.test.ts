import { strict as assert } from 'node:assert';
import { Writable } from 'node:stream';
import { test } from 'node:test';
import { StreamMessageWriter, type Message } from 'vscode-languageserver/node';
import { KeptBufferJsonEncoder } from '../../../server/src/lsp/transport';

/** Splits `Content-Length` frames and parses each body. */
function frames(bytes: Buffer): unknown[] {
  const out: unknown[] = [];
  let at = 0;
  while (at < bytes.length) {
    const headerEnd = bytes.indexOf('\r\n\r\n', at);
    assert.ok(headerEnd > at, 'a header ends every frame');
    const length = Number(/Content-Length: (\d+)/.exec(bytes.subarray(at, headerEnd).toString('ascii'))![1]);
    const body = bytes.subarray(headerEnd + 4, headerEnd + 4 + length);
    assert.equal(body.length, length, 'the body is as long as its header says');
    out.push(JSON.parse(body.toString('utf8')));
    at = headerEnd + 4 + length;
  }
  return out;
}

function notification(index: number, size: number): Message {
  // Non-Latin-1 text (arrows, CJK, a surrogate pair) makes two-byte strings and 3- and 4-byte UTF-8.
  const text = `${index} → 東京 😀 ×`.repeat(Math.max(1, Math.floor(size / 16)));
  return { jsonrpc: '2.0', method: 'textDocument/publishDiagnostics', params: { index, text } } as Message;
}

test('messages written through the kept buffer arrive whole, in order, even when the stream is slow and writes are not awaited', async () => {
  const received: Buffer[] = [];
  // A stream that takes its time: each chunk is released a little later, as a full pipe would.
  const slow = new Writable({
    write(chunk: Buffer, _encoding, done) {
      received.push(Buffer.from(chunk));
      setTimeout(done, 1);
    },
  });
  const writer = new StreamMessageWriter(slow, { charset: 'utf-8', contentTypeEncoder: new KeptBufferJsonEncoder() });
  const sizes = [10, 70_000, 5, 300_000, 1_000, 300_000, 20, 5_000_000];
  const messages = sizes.map((size, index) => notification(index, size));
  await Promise.all(messages.map((m) => writer.write(m)));
  assert.deepEqual(frames(Buffer.concat(received)), messages);
});

/** The JSON text of `message` in ASCII, as the encoder writes it: each unit outside ASCII as a `\u` escape. */
function asciiJsonOf(message: unknown): string {
  return JSON.stringify(message).replace(/[\u0080-\uffff]/g, (unit) => `\\u${unit.charCodeAt(0).toString(16).padStart(4, '0')}`);
}

/** Checks that `bytes` are ASCII and are the JSON of `message`: the same value, and the same text once non-ASCII escapes are read. */
function assertAsciiJsonOf(bytes: Uint8Array, message: unknown): void {
  const text = Buffer.from(bytes).toString('latin1');
  assert.ok(Buffer.from(bytes).every((byte) => byte < 0x80), 'every byte is ASCII');
  assert.equal(JSON.stringify(JSON.parse(text)), JSON.stringify(message), 'the same JSON value as JSON.stringify');
  assert.equal(text, asciiJsonOf(message));
}

test('the encoder gives the ASCII JSON of a message, grows for larger ones and sends the largest in a buffer of their own', async () => {
  const encoder = new KeptBufferJsonEncoder();
  for (const size of [1, 100_000, 50, 6_000_000]) {
    const message = notification(size, size);
    assertAsciiJsonOf(await encoder.encode(message), message);
  }
  const small = await encoder.encode(notification(1, 10));
  const next = await encoder.encode(notification(2, 10));
  assert.equal(small.buffer, next.buffer, 'small messages share the kept buffer');
  const huge = await encoder.encode(notification(3, 12_000_000));
  assert.notEqual(huge.buffer, next.buffer, 'a message over the limit is not kept');
  assertAsciiJsonOf(huge, notification(3, 12_000_000));
});

test('the text is JSON.stringify\'s in ASCII, whatever the message holds', async () => {
  const many = <T>(make: (i: number) => T, n = 12): T[] => Array.from({ length: n }, (_, i) => make(i));
  class Point { constructor(readonly x: number) {} }
  const messages: unknown[] = [
    { jsonrpc: '2.0', id: 1, result: null },
    { jsonrpc: '2.0', method: 'x', skipped: undefined, params: { f: () => 1, s: Symbol('s'), u: undefined, list: many((i) => ({ a: i, skipped: undefined, f: () => i, s: Symbol('s') })), last: 1 } },
    { jsonrpc: '2.0', method: 'x', params: { list: many((i) => (i % 3 === 0 ? undefined : i % 3 === 1 ? () => i : `é${i}`)) } },
    { jsonrpc: '2.0', method: 'x', params: { nested: many((i) => many((j) => [i, j, { k: 'ü→😀' }])) } },
    { jsonrpc: '2.0', method: 'x', params: many((i) => ({ date: new Date(Date.UTC(2026, 10, 29, 0, 0, i)), point: new Point(i), map: new Map([[i, i]]), boxed: new String(`b${i}`) })) },
    { jsonrpc: '2.0', method: 'x', params: { numbers: many((i) => [NaN, -0, Infinity, 1e21, i / 3][i % 5]), empty: [], emptyObject: {}, 'quoted "key"\n': 'line\nbreak', [String.fromCharCode(0xd800)]: 'lone surrogate' } },
    { jsonrpc: '2.0', method: 'x', params: Object.assign(Object.create(null), { list: many((i) => Object.assign(Object.create(null), { i })) }) },
    { jsonrpc: '2.0', method: 'x', params: { integers: [0, 9, 10, 99, 100, 2 ** 31 - 1, 2 ** 31, 2 ** 53, -1, -0, 1.5, -2.25, 1e-7, Number.MAX_VALUE, Number.MIN_VALUE] } },
    { jsonrpc: '2.0', method: 'x', params: { strings: ['', 'plain', 'a"quote', 'back\\slash', 'tab\there', '\u0000\u001f\u007f', 'pair 😀', 'lone \udc00 low', 'lone \ud83d high', 'ü→東京', '\u2028\u2029'] } },
    { jsonrpc: '2.0', method: 'x', params: { deep: { a: { b: { c: { d: [{ e: [[{ f: 'g' }]] }] } } } }, 'key "quoted"': { 'ü→': true, '': false } } },
  ];
  const encoder = new KeptBufferJsonEncoder();
  for (const message of messages) {
    assertAsciiJsonOf(await encoder.encode(message as Message), message);
  }
});

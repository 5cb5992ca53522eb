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

test('the encoder gives the UTF-8 of the JSON of a message, grows for larger ones and sends the largest in a buffer of their own', async () => {
  const encoder = new KeptBufferJsonEncoder();
  for (const size of [1, 100_000, 50, 6_000_000]) {
    const message = notification(size, size);
    const bytes = Buffer.from(await encoder.encode(message));
    assert.deepEqual(bytes, Buffer.from(JSON.stringify(message), 'utf8'));
  }
  const small = await encoder.encode(notification(1, 10));
  const next = await encoder.encode(notification(2, 10));
  assert.equal(small.buffer, next.buffer, 'small messages share the kept buffer');
  const huge = await encoder.encode(notification(3, 6_000_000));
  assert.notEqual(huge.buffer, next.buffer, 'a message over the limit is not kept');
});

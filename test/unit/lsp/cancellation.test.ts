import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { CancellationTokenSource, LSPErrorCodes, ResponseError } from 'vscode-languageserver/node';
import { answer, cancelQueued } from '../../../server/src/lsp/cancellation';
import { Pace } from '../../../server/src/engine/pace';

/** LSP 3.17 "Cancellation Support": a cancelled request answers the error RequestCancelled (-32800). */
describe('answering cancelled requests', () => {
  const isCancelled = (value: unknown): boolean => value instanceof ResponseError && value.code === LSPErrorCodes.RequestCancelled && value.code === -32800;

  it('does not run a request cancelled before it starts', async () => {
    const source = new CancellationTokenSource();
    source.cancel();
    let ran = false;
    assert.ok(isCancelled(await answer(source.token, () => { ran = true; return 1; })));
    assert.equal(ran, false);
  });

  it('stops paced work at its next turn once cancelled, and answers RequestCancelled', async () => {
    const source = new CancellationTokenSource();
    let turns = 0;
    const pending = answer(source.token, async (signal) => {
      const pace = new Pace(signal, 0);
      for (;;) {
        await pace.turn();
        turns++;
      }
    });
    setTimeout(() => source.cancel(), 20);
    assert.ok(isCancelled(await pending));
    const after = turns;
    await new Promise((r) => setTimeout(r, 20));
    assert.equal(turns, after, 'no work after the answer');
  });

  it('answers RequestCancelled for a request cancelled while it ran, whatever it returned; the result otherwise', async () => {
    const source = new CancellationTokenSource();
    assert.ok(isCancelled(await answer(source.token, () => { source.cancel(); return 'partial'; })));
    assert.equal(await answer(new CancellationTokenSource().token, () => 'whole'), 'whole');
    await assert.rejects(answer(new CancellationTokenSource().token, () => { throw new Error('broken'); }), /broken/);
  });

  it('answers a request still queued when its cancel arrives, without dispatching it', () => {
    const response = cancelQueued().connectionStrategy!.cancelUndispatched!({ jsonrpc: '2.0', id: 7, method: 'textDocument/hover' } as never, () => undefined);
    assert.deepEqual({ id: response?.id, code: response?.error?.code }, { id: 7, code: -32800 });
  });
});

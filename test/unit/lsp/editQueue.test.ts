import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { EditQueue } from '../../../server/src/lsp/editQueue';

// The server's scheduling after edits (issue 5: answer as the user types): validate at once when
// idle, coalesce changes that arrive while busy, and never simulate a text that is already out of
// date. The queue is driven here the way vscode-jsonrpc drives it: one message per event-loop turn.

const turn = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));
const turns = async (n: number): Promise<void> => { for (let i = 0; i < n; i++) await turn(); };

/**
 * A document store and a log of what the queue asked for, with the version each step saw. Like
 * vscode-jsonrpc's writer, a publish is written on a later turn ("written"). `afterFirstLint`
 * runs on the turn after the first lint, as a message handled then would.
 */
function harness(options: { afterFirstLint?: () => void } = {}) {
  const versions = new Map<string, number>();
  const log: string[] = [];
  let lints = 0;
  const queue = new EditQueue(
    (uris) => {
      for (const uri of uris) log.push(`lint ${uri}@${versions.get(uri)}`);
      setImmediate(() => log.push('written'));
      if (lints++ === 0 && options.afterFirstLint) setImmediate(options.afterFirstLint);
    },
    () => log.push(`simulate ${[...versions].map(([uri, v]) => `${uri}@${v}`).join(' ')}`),
  );
  const change = (uri: string, version: number): void => {
    versions.set(uri, version);
    queue.changed(uri);
  };
  return { queue, log, change };
}

describe('EditQueue', () => {
  it('validates a change at once when idle (a few turns, no timer), then simulates once the lint result is written', async () => {
    const { log, change } = harness();
    change('a', 1);
    assert.deepEqual(log, [], 'nothing runs inside the message handler');
    await turns(20);
    assert.deepEqual(log, ['lint a@1', 'written', 'simulate a@1']);
  });

  it('coalesces changes that arrive one per turn: only the last version is linted and simulated', async () => {
    const { log, change } = harness();
    for (let version = 1; version <= 10; version++) {
      change('a', version);
      await turn();
    }
    await turns(20);
    assert.deepEqual(log, ['lint a@10', 'written', 'simulate a@10']);
  });

  it('a change between the lint and the simulation: the stale simulation is skipped, the new version is linted and simulated', async () => {
    const { log, change } = harness({ afterFirstLint: () => change('a', 2) });
    change('a', 1);
    await turns(20);
    assert.deepEqual(log, ['lint a@1', 'written', 'lint a@2', 'written', 'simulate a@2']);
  });

  it('several documents changed together are validated in one run, then simulated once', async () => {
    const { log, change } = harness();
    change('a', 3);
    change('b', 7);
    await turns(20);
    assert.deepEqual(log, ['lint a@3', 'lint b@7', 'written', 'simulate a@3 b@7']);
  });

  it('a closed document is not validated', async () => {
    const closed = harness();
    closed.change('a', 1);
    closed.queue.forget('a');
    await turns(20);
    assert.deepEqual(closed.log, []);
  });
});

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { EditRehearsal } from '../../../server/src/lsp/editRehearsal';

/** A host whose state the test sets; it records every rehearsal and what ran after the series. */
function host(options: { traffic?: unknown; canRehearse?: boolean; during?: (count: number) => void } = {}) {
  const state = { traffic: 'traffic' in options ? options.traffic : 'load-1', busy: false, canRehearse: options.canRehearse ?? true, rehearsed: [] as unknown[], logs: [] as string[] };
  const rehearsal = new EditRehearsal({
    busy: () => state.busy,
    traffic: () => state.traffic,
    rehearseOnce: () => {
      if (state.canRehearse) state.rehearsed.push(state.traffic);
      options.during?.(state.rehearsed.length);
      return state.canRehearse;
    },
    log: (message) => state.logs.push(message),
  }, 3);
  return { state, rehearsal };
}

const settle = (ms = 300) => new Promise((resolve) => setTimeout(resolve, ms));

describe('EditRehearsal', () => {
  it('rehearses the set number of times and logs once', async () => {
    const { state, rehearsal } = host();
    rehearsal.schedule();
    assert.deepEqual(state.rehearsed, [], 'not at once');
    await settle(400);
    assert.deepEqual(state.rehearsed, ['load-1', 'load-1', 'load-1']);
    assert.equal(state.logs.length, 1);
    assert.match(state.logs[0]!, /ran the edit path 3 times ahead of the first edit/);
  });

  it('does not rehearse again for the same traffic', async () => {
    const { state, rehearsal } = host();
    rehearsal.schedule();
    await settle(400);
    rehearsal.schedule();
    await settle(400);
    assert.equal(state.rehearsed.length, 3);
  });

  it('waits while a change is pending, and goes on after', async () => {
    const { state, rehearsal } = host();
    state.busy = true;
    rehearsal.schedule();
    await settle(500);
    assert.deepEqual(state.rehearsed, []);
    state.busy = false;
    await settle(400);
    assert.equal(state.rehearsed.length, 3);
  });

  it('stops when no open file allows a rehearsal, and tries again on the next schedule', async () => {
    const { state, rehearsal } = host({ canRehearse: false });
    rehearsal.schedule();
    await settle(400);
    assert.equal(state.rehearsed.length, 0);
    state.canRehearse = true;
    rehearsal.schedule();
    await settle(400);
    assert.equal(state.rehearsed.length, 3);
  });

  it('a schedule during the series (a file opened) neither cuts it short nor starts another', async () => {
    const { state, rehearsal } = host({ during: (count) => { if (count === 1) rehearsal.schedule(); } });
    rehearsal.schedule();
    await settle(400);
    assert.equal(state.rehearsed.length, 3);
  });

  it('starts over for traffic loaded again during the series', async () => {
    const { state, rehearsal } = host({ during: (count) => {
      if (count !== 2) return;
      state.traffic = 'load-2';
      rehearsal.schedule();
    } });
    rehearsal.schedule();
    await settle(800);
    assert.deepEqual(state.rehearsed, ['load-1', 'load-1', 'load-2', 'load-2', 'load-2']);
  });

  it('with no traffic, rehearses nothing', async () => {
    const { state, rehearsal } = host({ traffic: undefined });
    rehearsal.schedule();
    await settle(400);
    assert.deepEqual(state.rehearsed, []);
  });
});

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { constants, PerformanceObserver } from 'node:perf_hooks';
import { IdleCollector } from '../../../server/src/lsp/idleCollector';

/** Past the collector's wait for the client to read the answer. */
const later = (): Promise<void> => new Promise((resolve) => setTimeout(resolve, 60));

describe('IdleCollector: the young generation is collected once an edit is answered and nothing waits', () => {
  it('collects once, a little later, after answers in a row', async () => {
    const collected: unknown[] = [];
    const idle = new IdleCollector(() => false, (options) => collected.push(options));
    idle.answered();
    idle.answered();
    assert.equal(collected.length, 0, 'not while answering');
    await later();
    assert.deepEqual(collected, [{ type: 'minor' }]);
  });

  it('does not collect while a change waits', async () => {
    let busy = true;
    const collected: unknown[] = [];
    const idle = new IdleCollector(() => busy, (options) => collected.push(options));
    idle.answered();
    await later();
    assert.equal(collected.length, 0);
    busy = false;
    idle.answered();
    await later();
    assert.equal(collected.length, 1);
  });

  it('finds the collector of this process without a command-line flag, and makes a minor collection', async () => {
    const minor: number[] = [];
    const observer = new PerformanceObserver((list) => {
      for (const entry of list.getEntries()) if (((entry as unknown as { detail?: { kind?: number } }).detail)?.kind === constants.NODE_PERFORMANCE_GC_MINOR) minor.push(entry.startTime);
    });
    observer.observe({ entryTypes: ['gc'] });
    const asked = performance.now();
    new IdleCollector(() => false).answered();
    await later();
    await later();
    observer.disconnect();
    assert.ok(minor.some((at) => at >= asked), 'a minor collection after the answer');
  });
});

describe('IdleCollector: after a traffic load', () => {
  it('starts a concurrent major collection, unless a change waits', async () => {
    const collected: unknown[] = [];
    let busy = true;
    const idle = new IdleCollector(() => busy, (options) => collected.push(options));
    idle.loaded();
    await later();
    assert.equal(collected.length, 0, 'not while a change waits');
    busy = false;
    idle.loaded();
    assert.equal(collected.length, 0, 'not at once');
    await later();
    assert.deepEqual(collected, [{ type: 'major', execution: 'async' }]);
  });
});

describe('IdleCollector: not before the answer is written', () => {
  it('waits for the answer to be written', async () => {
    const collected: unknown[] = [];
    let written!: () => void;
    const idle = new IdleCollector(() => false, (options) => collected.push(options));
    idle.answered(new Promise<void>((resolve) => { written = resolve; }));
    await later();
    assert.equal(collected.length, 0, 'the answer is still being written');
    written();
    await later();
    assert.equal(collected.length, 1);
  });
});

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { describeFailure, runFuzz } from './harness';

/**
 * The CI fuzz set: fixed seeds, 5,200 cases. Most run in-process against the engine (lint with
 * hover, completion and every fix; log readers; ingest from files on disk; simulation); every
 * 200th case runs the CLI and every 50th the language server over stdio. `npm run fuzz` runs more.
 */
const SEEDS = [20261128, 7];
const CASES_PER_SEED = 2600;

describe('fuzz (fixed seeds)', () => {
  for (const seed of SEEDS) {
    it(`seed ${seed}: ${CASES_PER_SEED} cases without a crash, hang, lost line or byte changed outside a fix`, { timeout: 600_000 }, async () => {
      const failures = await runFuzz({ seed, cases: CASES_PER_SEED, cliEvery: 200, lspEvery: 50, minimize: false });
      assert.deepEqual(failures.map(describeFailure), []);
    });
  }
});

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { MovedKeys, positionKey } from '../../../server/src/engine/insight/decidedIndex';

/**
 * Position keys after an edit that moved resources: lines `from`..`to` (before the edit) are now
 * `lines` further down; a key on any other line stays. The moves may come in any order.
 */
describe('MovedKeys', () => {
  // Three resources below an added line (lines 2-5, 7-9, 11-20 move by 1); lines 6 and 10 are separators.
  const moves = [{ from: 11, to: 20, lines: 1 }, { from: 2, to: 5, lines: 1 }, { from: 7, to: 9, lines: 1 }];
  const cases: { line: number; character: number; now: number }[] = [
    { line: 0, character: 4, now: 0 },
    { line: 1, character: 0, now: 1 },
    { line: 2, character: 2, now: 3 },
    { line: 5, character: 9, now: 6 },
    { line: 6, character: 0, now: 6 },
    { line: 7, character: 0, now: 8 },
    { line: 9, character: 7, now: 10 },
    { line: 10, character: 0, now: 10 },
    { line: 11, character: 3, now: 12 },
    { line: 20, character: 1, now: 21 },
    { line: 21, character: 0, now: 21 },
  ];
  const to = new MovedKeys(moves).to;
  for (const { line, character, now } of cases) {
    it(`line ${line}:${character} → line ${now}`, () => {
      assert.equal(to(positionKey({ line, character })), positionKey({ line: now, character }));
    });
  }

  it('moves up as well as down, and no moves keep every key', () => {
    const up = new MovedKeys([{ from: 3, to: 8, lines: -2 }]).to;
    assert.equal(up(positionKey({ line: 3, character: 0 })), positionKey({ line: 1, character: 0 }));
    assert.equal(up(positionKey({ line: 9, character: 0 })), positionKey({ line: 9, character: 0 }));
    assert.equal(new MovedKeys([]).to(positionKey({ line: 4, character: 2 })), positionKey({ line: 4, character: 2 }));
  });
});

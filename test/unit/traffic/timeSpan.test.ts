import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { widenTimeSpan, type TimeSpan } from '../../../server/src/engine/traffic/timeSpan';

// RFC 3339 times as the logs write them: their text does not sort in time order when the
// precision of the seconds or the zone differ, so a span compares them as instants.
describe('widenTimeSpan', () => {
  const cases: [name: string, span: TimeSpan, other: TimeSpan, expected: TimeSpan][] = [
    ['an empty span takes the other', {}, { firstTime: '2026-11-30T10:00:00Z', lastTime: '2026-11-30T11:00:00Z' }, { firstTime: '2026-11-30T10:00:00Z', lastTime: '2026-11-30T11:00:00Z' }],
    ['whole seconds before fractions ("Z" sorts after ".")', { firstTime: '2026-11-30T10:00:00.500Z', lastTime: '2026-11-30T10:00:00.500Z' }, { firstTime: '2026-11-30T10:00:00Z', lastTime: '2026-11-30T10:00:01Z' }, { firstTime: '2026-11-30T10:00:00Z', lastTime: '2026-11-30T10:00:01Z' }],
    ['an offset is an instant', { firstTime: '2026-11-30T10:30:00Z', lastTime: '2026-11-30T10:30:00Z' }, { firstTime: '2026-11-30T11:00:00+01:00', lastTime: '2026-11-30T09:00:00-02:00' }, { firstTime: '2026-11-30T11:00:00+01:00', lastTime: '2026-11-30T09:00:00-02:00' }],
    ['nanoseconds (Linkerd) within the span change nothing', { firstTime: '2026-11-30T10:00:00Z', lastTime: '2026-11-30T12:00:00Z' }, { firstTime: '2026-11-30T11:00:00.000759921Z', lastTime: '2026-11-30T11:00:00.000759921Z' }, { firstTime: '2026-11-30T10:00:00Z', lastTime: '2026-11-30T12:00:00Z' }],
    ['no times: unchanged', { firstTime: '2026-11-30T10:00:00Z' }, {}, { firstTime: '2026-11-30T10:00:00Z' }],
  ];
  for (const [name, span, other, expected] of cases) {
    it(name, () => {
      const widened = { ...span };
      widenTimeSpan(widened, other);
      assert.deepEqual(widened, expected);
    });
  }
});

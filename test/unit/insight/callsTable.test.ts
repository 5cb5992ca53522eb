import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { callsTable, displayedCalls, REQUEST_CELL_CHARS } from '../../../server/src/engine/insight/render';
import type { ShapeOutcome } from '../../../server/src/engine/simulate';
import type { AccessRecord } from '../../../server/src/engine/traffic/accessRecord';

// The tables of observed calls (hovers, lens listings): a hover is narrow and a caller's principal
// long, so the request comes right after the count, whole up to REQUEST_CELL_CHARS characters and
// cut there with "…" beyond; a `|` in it stays text (escaped), so every row keeps its cells.

function outcome(path: string, count = 1): ShapeOutcome {
  const record: AccessRecord = {
    mesh: 'istio', protocol: 'http', observed: 'allowed',
    source: { principal: 'cluster.local/ns/storefront-production/sa/storefront-gateway-istio-service-account' },
    destination: { namespace: 'storefront-production', workload: 'checkout-orchestrator', port: 8080 },
    request: { method: 'POST', path },
  };
  return {
    shape: { record, count, samples: [{ file: '/logs/gateway.log', line: 7 }], sourceBy: {}, destinationBy: {}, joined: 0 },
    decision: { verdict: 'allow', mesh: 'istio', reason: 'allowed', trace: [] },
    change: 'none',
  } as unknown as ShapeOutcome;
}

/** The cells of a markdown table row: split at every `|` that is not escaped, the escapes undone. */
function cells(row: string): string[] {
  return row.slice(2, -2).split(/(?<!\\) \| /).map((c) => c.replace(/\\(.)/g, '$1'));
}

const LONG = `/v2/carts/7f3c9e1a/items/${'x'.repeat(80)}?expand=promotions,inventory,shipping-estimates&currency=EUR`;

describe('calls tables: the request column', () => {
  const cases: [string, string, string][] = [
    ['a short request, whole', '/v1/carts', 'POST /v1/carts'],
    ['a request of exactly the bound, whole', `/${'a'.repeat(REQUEST_CELL_CHARS - 6)}`, `POST /${'a'.repeat(REQUEST_CELL_CHARS - 6)}`],
    ['one character over the bound: cut, the last one "…"', `/${'a'.repeat(REQUEST_CELL_CHARS - 5)}`, `POST /${'a'.repeat(REQUEST_CELL_CHARS - 7)}…`],
    ['a long path with its query', LONG, `${`POST ${LONG}`.slice(0, REQUEST_CELL_CHARS - 1)}…`],
    ['a | in the path is text, not a cell boundary', '/search/a|b', 'POST /search/a|b'],
  ];
  for (const [name, path, shown] of cases) {
    it(name, () => {
      const table = callsTable(displayedCalls([outcome(path, 3)]), { samples: true, decidedBy: true }).split('\n');
      const header = cells(table[0]!);
      assert.deepEqual(header.slice(0, 3), ['calls', 'request', 'source → destination']);
      const row = cells(table[2]!);
      assert.equal(row.length, header.length, table[2]);
      assert.equal(row[1], shown);
      assert.ok([...row[1]!].length <= REQUEST_CELL_CHARS);
      assert.equal(row[2], 'cluster.local/ns/storefront-production/sa/storefront-gateway-istio-service-account → storefront-production/checkout-orchestrator:8080');
    });
  }
});

describe('calls tables: calls whose paths differ only in their query string', () => {
  it('are one row, its request the path with "?…" and how many query strings', () => {
    const rows = displayedCalls([outcome('/poll?t=1', 2), outcome('/poll?t=2', 5), outcome('/poll?t=3'), outcome('/poll', 1), outcome('/other?t=1')]);
    assert.deepEqual(rows.map((r) => [r.calls, r.queries]), [[9, 4], [1, 1]]);
    assert.equal(rows[0]!.outcome.shape.record.request?.path, '/poll?t=2', 'the busiest shape stands for the row');
    const table = callsTable(rows).split('\n');
    assert.equal(cells(table[2]!)[1], 'POST /poll?… (4 query strings)');
    assert.equal(cells(table[3]!)[1], 'POST /other?t=1', 'a row of one path shows it whole');
  });

  it('stay apart when what was decided differs', () => {
    const denied = outcome('/poll?t=2');
    (denied.decision as { verdict: string }).verdict = 'deny';
    assert.equal(displayedCalls([outcome('/poll?t=1'), denied]).length, 2);
  });
});

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { buildAuditModel, renderTrafficMapHtml } from '../../../server/src/engine/audit';
import { edgeFixes, edgeOutcomes, trafficFixesAt, type EdgeAction } from '../../../server/src/engine/trafficFixes';
import { externalReferences } from '../../helpers/html';
import { apply, engine, loadExample, type Loaded } from './harness';

/**
 * The traffic map's edge actions (docs/quick-fixes.md, "From the traffic map") on examples/istio.
 * Expected verdicts follow Istio's evaluation order (istio.io/latest/docs/concepts/security/#authorization-policy:
 * CUSTOM, then DENY, then ALLOW; with an ALLOW policy on a workload, a call no ALLOW policy matches
 * is denied, and `allow-nothing`, an ALLOW policy with an empty spec, matches nothing), so:
 * a call denied only for want of an ALLOW match can be allowed by adding to the ALLOW policies,
 * a call a DENY policy matches cannot, and an allowed call can be denied with a DENY policy.
 */
const EDGES: { source: string; destination: string; action: EdgeAction; decidedBy: string; offered: 'allow' | 'deny' | 'none'; notOffered?: RegExp }[] = [
  // newly denied: shop/allow-nothing is the workload's only ALLOW policy (security/ of the example)
  { source: 'shop/shop-gateway-istio', destination: 'shop/frontend', action: 'allow', decidedBy: 'AuthorizationPolicy shop/allow-nothing', offered: 'allow' },
  // allowed by a rule of shop/payments-callers
  { source: 'shop/frontend', destination: 'shop/payments', action: 'deny', decidedBy: 'AuthorizationPolicy shop/payments-callers', offered: 'deny' },
  // newly denied: cart-from-frontend is not stored (its one source field is misspelt; stored without it, the source
  // is empty, which istiod refuses), so allow-nothing is the cart's only ALLOW policy
  { source: 'shop/frontend', destination: 'shop/cart', action: 'allow', decidedBy: 'AuthorizationPolicy shop/allow-nothing', offered: 'allow' },
  // denied by a DENY policy: no ALLOW edit can override it
  { source: '(unidentified callers)', destination: 'shop/frontend', action: 'allow', decidedBy: 'AuthorizationPolicy shop/frontend-deny-internal', offered: 'none', notOffered: /DENY policy shop\/frontend-deny-internal/ },
];

let example: Promise<Loaded> | undefined;
const load = (): Promise<Loaded> => (example ??= loadExample('istio', ['security', 'app']));

describe('traffic map edge fixes (examples/istio)', () => {
  for (const row of EDGES) {
    it(`${row.action} ${row.source} → ${row.destination}: ${row.offered === 'none' ? 'no fix, with the reason' : `${row.offered} fixes equal to trafficFixesAt's for its busiest call`}`, async () => {
      const l = await load();
      const verdict = row.action === 'allow' ? 'deny' : 'allow';
      const busiest = edgeOutcomes(l.outcomes, row).find((o) => o.decision.verdict === verdict);
      assert.ok(busiest, 'the edge has such a call');
      assert.equal(busiest.decision.policy?.label, row.decidedBy);
      const found = edgeFixes({ workspace: l.workspace, outcomes: l.outcomes, engine, edge: row, action: row.action, maxCalls: 1 });
      assert.ok(found.calls >= busiest.shape.count);
      if (row.offered === 'none') {
        assert.deepEqual(found.fixes, []);
        assert.match(found.notOffered.join('\n'), row.notOffered!);
        return;
      }
      assert.ok(found.fixes.length > 0, `offered: ${found.notOffered.join('; ')}`);
      assert.deepEqual(new Set(found.fixes.map((f) => f.kind)), new Set([row.offered]));
      // what the editor offers at the deciding policy for that call
      const at = busiest.decision.rule ?? busiest.decision.policy!;
      const editor = trafficFixesAt({ workspace: l.workspace, file: at.file, range: at.range, outcomes: [busiest], engine }).filter((f) => f.kind === row.offered);
      assert.deepEqual(found.fixes, editor);
      // applied in memory, the busiest call comes out the other way
      for (const fix of found.fixes) {
        const applied = apply(l, fix);
        assert.equal(applied.verdicts[l.outcomes.indexOf(busiest)], row.action, fix.title);
      }
      // more calls: the busiest call's fixes come first
      const more = edgeFixes({ workspace: l.workspace, outcomes: l.outcomes, engine, edge: row, action: row.action });
      assert.deepEqual(more.fixes.slice(0, found.fixes.length), found.fixes);
    });
  }

  it('an edge whose calls are all unknown offers neither action', async () => {
    const l = await load();
    // the calls to payments whose caller the log does not name and that no rule can decide without it
    const edge = { source: '(unidentified callers)', destination: 'shop/payments' };
    const unknown = l.outcomes.filter((o) => o.decision.verdict === 'unknown');
    assert.ok(edgeOutcomes(unknown, edge).length > 0);
    for (const action of ['allow', 'deny'] as const) assert.deepEqual(edgeFixes({ workspace: l.workspace, outcomes: unknown, engine, edge, action }), { fixes: [], notOffered: [], calls: 0 });
  });

  it('the map offers Allow on edges with denied calls and Deny on edges with allowed calls, offline and with nonced scripts', async () => {
    const l = await load();
    const model = buildAuditModel({ stats: { lines: 0, parsed: 0, skipped: 0, skippedByReason: {} } as never, result: { outcomes: l.outcomes, totals: { calls: 0, allowed: 0, denied: 0, unknown: 0, unchanged: 0 } } as never, workspace: l.workspace });
    const html = renderTrafficMapHtml(model, { nonce: 'n0nce', edgeActions: true });
    const actionsOf = (source: string, destination: string): string | undefined => {
      const i = model.map.edges.findIndex((e) => e.source === source && e.destination === destination);
      assert.ok(i >= 0, `the map has ${source} → ${destination}`);
      return new RegExp(`<g class="edge" data-edge="${i}" data-state="[a-z-]+"(?: data-actions="([a-z ]+)")?`).exec(html)?.[1];
    };
    assert.equal(actionsOf('shop/shop-gateway-istio', 'shop/frontend'), 'allow');
    assert.equal(actionsOf('shop/frontend', 'shop/cart'), 'allow');
    assert.equal(actionsOf('(unidentified callers)', 'shop/frontend'), 'allow');
    assert.equal(actionsOf('(unidentified callers)', 'shop/cart'), 'allow');
    assert.match(html, /data-fix/);
    assert.deepEqual(externalReferences(html), []);
    const scripts = [...html.matchAll(/<script([^>]*)>/g)].map((m) => m[1]);
    assert.deepEqual(scripts, [' type="application/json" id="edges"', ' nonce="n0nce"'], 'only the data block and the nonced map script');
    // a map written to a file has no host to apply fixes: no buttons
    const plain = renderTrafficMapHtml(model);
    assert.doesNotMatch(plain, /data-actions=/);
    assert.doesNotMatch(plain.slice(plain.indexOf('id="edges"'), plain.indexOf('</script>')), /"actions":\["/);
  });
});

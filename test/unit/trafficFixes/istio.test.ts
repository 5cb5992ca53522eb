import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { allowCall, denyCall, narrowWildcard, shadowPolicy, trafficFixesAt } from '../../../server/src/engine/trafficFixes';
import type { AccessRecord } from '../../../server/src/engine/traffic/accessRecord';
import { apply, changes, find, loadExample, loadInline, rangeAt } from './harness';
import { EXAMPLES } from '../../helpers/paths';

/**
 * Istio traffic fixes, applied for real: the edited file is read again, every call decided
 * again, and the verdicts compared (mesh-semantics §1.3–1.6 decide what must change).
 */

const FRONTEND = 'cluster.local/ns/shop/sa/frontend';
const BATCH = 'cluster.local/ns/shop/sa/batch';

function call(principal: string | null, method: string, path: string, observed: AccessRecord['observed'] = 'allowed', port = 8080): AccessRecord {
  return {
    mesh: 'istio', protocol: 'http', observed,
    source: { principal, ...(principal ? { namespace: /ns\/([^/]+)/.exec(principal)![1]! } : {}), ip: '10.0.0.9' },
    destination: { namespace: 'shop', workload: 'cart', labels: { app: 'cart' }, port },
    request: { method, path, host: 'cart.shop.svc.cluster.local' },
  };
}

const BLOCK = `# cart readers
apiVersion: security.istio.io/v1
kind: AuthorizationPolicy
metadata:
  name: cart-readers   # who may read
  namespace: shop
spec:
  selector:
    matchLabels:
      app: cart
  rules:
    - from:
        - source:
            principals:
              - ${FRONTEND}  # the web tier
      to:
        - operation:
            methods: ["GET"]
            paths: ["/api/*"]
`;
const FLOW = `apiVersion: security.istio.io/v1
kind: AuthorizationPolicy
metadata: {name: cart-readers, namespace: shop}
spec: {selector: {matchLabels: {app: cart}}, rules: [{from: [{source: {principals: ['${FRONTEND}']}}], to: [{operation: {methods: [GET], paths: ['/api/*']}}]}]}
`;
const JSON_POLICY = JSON.stringify({
  apiVersion: 'security.istio.io/v1', kind: 'AuthorizationPolicy', metadata: { name: 'cart-readers', namespace: 'shop' },
  spec: { selector: { matchLabels: { app: 'cart' } }, rules: [{ from: [{ source: { principals: [FRONTEND] } }], to: [{ operation: { methods: ['GET'], paths: ['/api/*'] } }] }] },
}, null, 2);

describe('istio: allow a denied call by widening the closest rule', () => {
  const cases: [string, string, string, string][] = [
    // name, file, text, expected text of the fixed rule region
    ['block YAML', 'p.yaml', BLOCK, `            methods: ["GET", "POST"]`],
    ['flow YAML', 'p.yaml', FLOW, `methods: [GET, POST]`],
    ['JSON', 'p.json', JSON_POLICY, `"GET",\n                "POST"\n`],
  ];
  for (const [name, path, text, expected] of cases) {
    it(name, () => {
      const l = loadInline({ [`/ws/${path}`]: text }, [call(FRONTEND, 'GET', '/api/items'), call(FRONTEND, 'POST', '/api/items', 'denied'), call(BATCH, 'GET', '/api/items', 'denied')]);
      const denied = l.outcomes[1]!;
      assert.equal(denied.decision.verdict, 'deny');
      const result = allowCall(l.context, denied);
      const fix = result.fixes[0]!;
      assert.match(fix.title, /add POST to methods of shop\/cart-readers rules\[0\]/);
      assert.equal(fix.preferred, true);
      const applied = apply(l, fix);
      assert.ok(applied.after.includes(expected), applied.after);
      assert.deepEqual(changes(l, applied), [[1, 'deny', 'allow']], 'only the POST call changes');
    });
  }

  it('CRLF files get CRLF line ends in the inserted text', () => {
    const crlf = BLOCK.replace(/\n/g, '\r\n');
    const l = loadInline({ '/ws/p.yaml': crlf }, [call(BATCH, 'GET', '/api/items', 'denied')]);
    const fix = allowCall(l.context, l.outcomes[0]!).fixes[0]!;
    const applied = apply(l, fix);
    assert.ok(applied.after.includes(`# the web tier\r\n              - ${BATCH}\r\n`), JSON.stringify(applied.after));
    assert.ok(!/[^\r]\n/.test(applied.after));
    assert.deepEqual(applied.verdicts, ['allow']);
  });

  it('adds the principal when only the caller is missing', () => {
    const l = loadInline({ '/ws/p.yaml': BLOCK }, [call(BATCH, 'GET', '/api/items', 'denied')]);
    const fix = allowCall(l.context, l.outcomes[0]!).fixes[0]!;
    const applied = apply(l, fix);
    assert.ok(applied.after.includes(`              - ${FRONTEND}  # the web tier\n              - ${BATCH}\n`), applied.after);
    assert.deepEqual(applied.verdicts, ['allow']);
  });

  it('a call a DENY policy matches cannot be allowed by an ALLOW rule (DENY is evaluated first, §1.3)', () => {
    const guard = `${BLOCK}---\napiVersion: security.istio.io/v1\nkind: AuthorizationPolicy\nmetadata: {name: guard, namespace: shop}\nspec: {selector: {matchLabels: {app: cart}}, action: DENY, rules: [{to: [{operation: {paths: [/api/secret]}}]}]}\n`;
    const l = loadInline({ '/ws/p.yaml': guard }, [call(FRONTEND, 'GET', '/api/secret', 'denied')]);
    assert.equal(l.outcomes[0]!.decision.verdict, 'deny');
    const result = allowCall(l.context, l.outcomes[0]!);
    assert.deepEqual(result.fixes, []);
    assert.match(result.notOffered[0]!, /denied by DENY policy shop\/guard/);
  });

  it('a plaintext caller with no address gets no fix, and says why', () => {
    const plain = call(null, 'GET', '/api/items', 'denied');
    delete plain.source!.ip;
    const l = loadInline({ '/ws/p.yaml': BLOCK }, [plain]);
    const result = allowCall(l.context, l.outcomes[0]!);
    assert.deepEqual(result.fixes, []);
    assert.match(result.notOffered[0]!, /neither a peer identity nor a source address/);
  });
});

describe('istio: narrow a wildcard to what was observed', () => {
  const text = BLOCK.replace(`- ${FRONTEND}  # the web tier`, '- cluster.local/ns/shop/sa/*  # the web tier');
  it('principals "*" suffix → the observed principals, verdicts unchanged', () => {
    const l = loadInline({ '/ws/p.yaml': text }, [call(FRONTEND, 'GET', '/api/a'), call(BATCH, 'GET', '/api/b'), call(FRONTEND, 'GET', '/other', 'denied')]);
    const result = narrowWildcard(l.context, '/ws/p.yaml', rangeAt(text, 'cluster.local/ns/shop/sa/*'));
    const fix = result.fixes[0]!;
    assert.match(fix.title, /Narrow "cluster.local\/ns\/shop\/sa\/\*" to the 2 observed principals/);
    const applied = apply(l, fix);
    assert.ok(applied.after.includes(`              - ${BATCH}\n              - ${FRONTEND}  # the web tier\n`), applied.after);
    assert.deepEqual(changes(l, applied), []);
    // An unobserved caller that the wildcard let in is denied now.
    const other = loadInline({ '/ws/p.yaml': applied.after }, [call('cluster.local/ns/shop/sa/intruder', 'GET', '/api/a')]);
    assert.equal(other.outcomes[0]!.decision.verdict, 'deny');
  });

  it('paths prefix in a flow list keeps the quoting', () => {
    const l = loadInline({ '/ws/p.yaml': FLOW }, [call(FRONTEND, 'GET', '/api/a?x=1'), call(FRONTEND, 'GET', '/api/b')]);
    const fix = narrowWildcard(l.context, '/ws/p.yaml', rangeAt(FLOW, `'/api/*'`)).fixes[0]!;
    const applied = apply(l, fix);
    assert.ok(applied.after.includes(`paths: ['/api/a', '/api/b']`), applied.after);
    assert.deepEqual(changes(l, applied), []);
  });

  it('nothing observed through the wildcard: not offered', () => {
    const l = loadInline({ '/ws/p.yaml': text }, [call(FRONTEND, 'GET', '/other', 'denied')]);
    const result = narrowWildcard(l.context, '/ws/p.yaml', rangeAt(text, 'cluster.local/ns/shop/sa/*'));
    assert.deepEqual(result.fixes, []);
    assert.match(result.notOffered[0]!, /no observed call/);
  });
});

describe('istio: deny one call', () => {
  it('YAML: a new DENY policy document for that source and operation', () => {
    const l = loadInline({ '/ws/p.yaml': BLOCK }, [call(FRONTEND, 'GET', '/api/items'), call(FRONTEND, 'GET', '/api/other')]);
    const fix = denyCall(l.context, l.outcomes[0]!).fixes[0]!;
    const applied = apply(l, fix);
    assert.ok(applied.after.startsWith(BLOCK), 'the old text is kept byte for byte');
    assert.match(applied.after.slice(BLOCK.length), /^---\napiVersion: security.istio.io\/v1\nkind: AuthorizationPolicy\n[\s\S]*action: DENY\n[\s\S]*- \/api\/items\n/);
    assert.deepEqual(changes(l, applied), [[0, 'allow', 'deny']]);
  });

  it('JSON: a single-document file cannot take a new policy; an existing DENY policy takes a rule', () => {
    const l = loadInline({ '/ws/p.json': JSON_POLICY }, [call(FRONTEND, 'GET', '/api/items')]);
    assert.match(denyCall(l.context, l.outcomes[0]!).notOffered[0]!, /no YAML policy file/);
    const deny = JSON.stringify({ apiVersion: 'security.istio.io/v1', kind: 'AuthorizationPolicy', metadata: { name: 'guard', namespace: 'shop' }, spec: { selector: { matchLabels: { app: 'cart' } }, action: 'DENY', rules: [{ to: [{ operation: { paths: ['/admin'] } }] }] } }, null, 2);
    const both = loadInline({ '/ws/p.json': JSON_POLICY, '/ws/guard.json': deny }, [call(FRONTEND, 'GET', '/api/items'), call(BATCH, 'GET', '/admin', 'denied')]);
    const fix = denyCall(both.context, both.outcomes[0]!).fixes[0]!;
    assert.equal(fix.file, '/ws/guard.json');
    const applied = apply(both, fix);
    assert.deepEqual(JSON.parse(applied.after).spec.rules[1], { from: [{ source: { principals: [FRONTEND] } }], to: [{ operation: { methods: ['GET'], paths: ['/api/items'], ports: ['8080'] } }] });
    assert.deepEqual(changes(both, applied), [[0, 'allow', 'deny']]);
  });
});

describe('istio: dry-run', () => {
  it('adds the annotation; the policy then only reports what it would do', () => {
    const l = loadInline({ '/ws/p.yaml': BLOCK }, [call(FRONTEND, 'GET', '/api/items'), call(BATCH, 'GET', '/api/items', 'denied')]);
    const fix = shadowPolicy(l.context, '/ws/p.yaml', rangeAt(BLOCK, 'cart-readers')).fixes[0]!;
    const applied = apply(l, fix);
    assert.ok(applied.after.includes(`  namespace: shop\n  annotations:\n    istio.io/dry-run: "true"\n`), applied.after);
    // With its only ALLOW policy in dry-run the workload has no enforced ALLOW policy (§1.3).
    assert.deepEqual(applied.verdicts, ['allow', 'allow']);
  });

  it('on a dry-run policy: enforce it, saying which observed calls that changes', () => {
    const dry = BLOCK.replace('  namespace: shop\n', '  namespace: shop\n  annotations:\n    istio.io/dry-run: "true"\n');
    assert.notEqual(dry, BLOCK);
    const l = loadInline({ '/ws/p.yaml': dry }, [call(FRONTEND, 'GET', '/api/items'), call(BATCH, 'GET', '/api/items'), call(BATCH, 'GET', '/api/other')]);
    const result = shadowPolicy(l.context, '/ws/p.yaml', rangeAt(dry, 'cart-readers'));
    const fix = result.fixes[0]!;
    assert.equal(fix.kind, 'enforce');
    // Enforced, the ALLOW policy denies the batch job's two calls, observed allowed (§1.3).
    assert.equal(fix.title, 'Enforce shop/cart-readers (istio.io/dry-run: "false"): would deny 2 observed calls that succeeded');
    const applied = apply(l, fix);
    assert.ok(applied.after.includes('    istio.io/dry-run: "false"\n'), applied.after);
    assert.deepEqual(applied.verdicts, ['allow', 'deny', 'deny']);
  });

  it('enforce counts only what the edit changes: a call another enforced policy denies already is not its doing', () => {
    const dry = BLOCK.replace('  namespace: shop\n', '  namespace: shop\n  annotations:\n    istio.io/dry-run: "true"\n');
    const guard = 'apiVersion: security.istio.io/v1\nkind: AuthorizationPolicy\nmetadata: {name: guard, namespace: shop}\nspec:\n  selector: {matchLabels: {app: cart}}\n  action: DENY\n  rules: [{to: [{operation: {paths: [/api/other]}}]}]\n';
    // both batch calls were observed allowed (the logs predate the guard); the guard denies /api/other now
    const l = loadInline({ '/ws/p.yaml': dry, '/ws/guard.yaml': guard }, [call(FRONTEND, 'GET', '/api/items'), call(BATCH, 'GET', '/api/items'), call(BATCH, 'GET', '/api/other')]);
    const fix = shadowPolicy(l.context, '/ws/p.yaml', rangeAt(dry, 'cart-readers')).fixes[0]!;
    assert.equal(fix.title, 'Enforce shop/cart-readers (istio.io/dry-run: "false"): would deny 1 observed call that succeeded');
  });

  it('not offered for AUDIT or CUSTOM policies (validation M1)', () => {
    const audit = BLOCK.replace('  rules:', '  action: AUDIT\n  rules:');
    const l = loadInline({ '/ws/p.yaml': audit }, []);
    assert.match(shadowPolicy(l.context, '/ws/p.yaml', rangeAt(audit, 'cart-readers')).notOffered[0]!, /only ALLOW and DENY/);
  });
});

describe('istio: trafficFixesAt', () => {
  it('on a rule: allow the calls it narrowly misses, deny those it decides, narrow its wildcard, dry-run its policy', () => {
    const text = BLOCK.replace('paths: ["/api/*"]', 'paths: ["/api/*"]  # api');
    const l = loadInline({ '/ws/p.yaml': text }, [call(FRONTEND, 'GET', '/api/a', 'allowed', 8080), call(FRONTEND, 'POST', '/api/a', 'denied'), call(FRONTEND, 'GET', '/api/b')]);
    const kinds = (range: ReturnType<typeof rangeAt>) => trafficFixesAt({ workspace: l.workspace, file: '/ws/p.yaml', range, outcomes: l.outcomes }).map((f) => `${f.kind}: ${f.title}`);
    const onWildcard = kinds(rangeAt(text, '/api/*'));
    assert.deepEqual(onWildcard.map((k) => k.split(':')[0]), ['narrow', 'deny', 'deny', 'allow', 'allow', 'dry-run'], onWildcard.join('\n'));
    assert.match(onWildcard[3]!, /Allow cluster.local\/ns\/shop\/sa\/frontend → cart POST \/api\/a: add POST to methods/);
    const outside = loadInline({ '/ws/p.yaml': text, '/ws/other.yaml': text.replace(/cart/g, 'orders') }, l.outcomes.map((o) => o.shape.record));
    assert.deepEqual(trafficFixesAt({ workspace: outside.workspace, file: '/ws/other.yaml', range: rangeAt(text, 'rules'), outcomes: outside.outcomes }).map((f) => f.kind), ['dry-run'], 'a policy for another workload is offered nothing about these calls');
  });
});

describe('istio: the examples', () => {
  it('allow the gateway to the frontend: a new ALLOW policy; nothing allowed becomes denied', async () => {
    const l = await loadExample('istio', ['security', 'app']);
    const denied = find(l, (o) => o.change === 'newly-denied' && o.shape.record.destination?.workload === 'frontend' && o.shape.record.request?.path === '/');
    const fixes = trafficFixesAt({ workspace: l.workspace, file: denied.decision.policy!.file, range: denied.decision.policy!.range, outcomes: l.outcomes, engine: l.context.engine });
    const fix = fixes.find((f) => f.kind === 'allow' && f.title.includes(' GET /:'))!;
    assert.ok(fix, fixes.map((f) => f.title).join('\n'));
    const applied = apply(l, fix);
    const changed = changes(l, applied);
    assert.ok(changed.some(([i]) => l.outcomes[i] === denied), 'the call is allowed now');
    for (const [i, from, to] of changed) {
      assert.deepEqual([from, to], ['deny', 'allow']);
      assert.equal(l.outcomes[i]!.shape.record.source?.principal, denied.shape.record.source?.principal);
      assert.equal(l.outcomes[i]!.shape.record.destination?.workload, 'frontend');
    }
  });

  it('a call refused before authorization (PeerAuthentication STRICT, plaintext) gets no allow fix', async () => {
    // The example's logs name every caller they can; a caller without a sidecar (principal null) reaching cart:
    const example = await loadExample('istio', ['security', 'app']);
    const toCart = find(example, (o) => o.shape.record.destination?.workload === 'cart').shape.record;
    const files = Object.fromEntries(example.workspace.resources.map((r) => [r.file.path, r.file.text]));
    const l = loadInline(files, [{ ...toCart, source: { principal: null, ip: '10.244.3.77' }, observed: 'denied' }], example.workspace.config);
    const plaintext = find(l, (o) => o.decision.verdict === 'deny' && o.decision.policy?.label.startsWith('PeerAuthentication') === true);
    const result = allowCall(l.context, plaintext);
    assert.deepEqual(result.fixes, []);
    assert.match(result.notOffered[0]!, /refused before authorization, by PeerAuthentication/);
  });

  it('examples/istio-dry-run: enforcing the DENY of deletes would deny the back office\'s; the second allowlist, enforced next to the first, changes nothing', async () => {
    const l = await loadExample('istio-dry-run', ['security', 'app']);
    const path = join(EXAMPLES, 'istio-dry-run', 'security', 'dry-run.yaml');
    const text = readFileSync(path, 'utf8');
    const enforce = (name: string): string => {
      const fixes = trafficFixesAt({ workspace: l.workspace, file: path, range: rangeAt(text, name), outcomes: l.outcomes });
      const fix = fixes.find((f) => f.kind === 'enforce');
      assert.ok(fix, fixes.map((f) => f.title).join('\n'));
      return fix.title;
    };
    // The 11 DELETEs of the log (test/unit/dryRunExample.test.ts counts them), all observed allowed.
    assert.equal(enforce('ledger-deny-deletes'), 'Enforce bank/ledger-deny-deletes (istio.io/dry-run: "false"): would deny 11 observed calls that succeeded');
    // ALLOW policies are ORed (§1.3): with ledger-callers still enforced, no call changes.
    assert.equal(enforce('ledger-allowlist-v2'), 'Enforce bank/ledger-allowlist-v2 (istio.io/dry-run: "false"): changes no observed call');
  });

  it('deny frontend → payments charges; dry-run payments-callers', async () => {
    const l = await loadExample('istio', ['security', 'app']);
    const allowed = find(l, (o) => o.decision.verdict === 'allow' && o.shape.record.request?.path === '/v1/charges');
    const fix = denyCall(l.context, allowed).fixes[0]!;
    const applied = apply(l, fix);
    for (const [i, from, to] of changes(l, applied)) {
      assert.deepEqual([from, to], ['allow', 'deny']);
      assert.equal(l.outcomes[i]!.shape.record.request?.path, '/v1/charges');
    }
    assert.equal(applied.verdicts[l.outcomes.indexOf(allowed)], 'deny');
    const dry = shadowPolicy(l.context, allowed.decision.policy!.file, allowed.decision.policy!.range).fixes[0]!;
    const shadowed = apply(l, dry);
    assert.ok(shadowed.after.includes('  name: payments-callers\n  namespace: shop\n  annotations:\n    istio.io/dry-run: "true"\n'));
  });
});

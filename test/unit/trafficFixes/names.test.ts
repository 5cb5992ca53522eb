import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { edgeFixes, trafficFixesAt, type TrafficFix } from '../../../server/src/engine/trafficFixes';
import { availableName } from '../../../server/src/engine/audit/generate/yaml';
import { freshName } from '../../../server/src/engine/trafficFixes/common';
import type { AccessRecord } from '../../../server/src/engine/traffic/accessRecord';
import { apply, loadExample, loadInline, rangeAt } from './harness';

/**
 * The names of the resources traffic fixes add. A Kubernetes object name is a DNS-1123 subdomain
 * (lower case letters, digits, `-`, starting and ending with a letter or digit), unique per kind in
 * a namespace: a new policy must not take the name of one in the workspace, and two fixes of one
 * list must not add two different policies under one name.
 */

describe('availableName: a Kubernetes name, numbered until free', () => {
  const cases: [string, string[], string][] = [
    // wanted, taken, expected
    ['deny-frontend-GET-cart', [], 'deny-frontend-get-cart'],
    ['deny-frontend-GET-cart', ['deny-frontend-get-cart'], 'deny-frontend-get-cart-2'],
    ['deny-frontend-GET-cart', ['deny-frontend-get-cart', 'deny-frontend-get-cart-2'], 'deny-frontend-get-cart-3'],
    ['deny-frontend-GET-cart', ['deny-frontend-get-cart-2'], 'deny-frontend-get-cart'],
    ['allow-api_gateway-to-web.v2', [], 'allow-api-gateway-to-web-v2'],
    ['--Observed--', [], 'observed'],
    // at most 50 characters, never ending in "-" where the cut falls
    [`${'a'.repeat(49)}-tail`, [], 'a'.repeat(49)],
  ];
  for (const [wanted, taken, expected] of cases) {
    it(`${wanted} with ${taken.length} taken → ${expected}`, () => {
      const name = availableName(wanted, new Set(taken));
      assert.equal(name, expected);
      assert.match(name, /^[a-z0-9]([a-z0-9-]*[a-z0-9])?$/);
    });
  }
});

const CART_OPEN = `apiVersion: security.istio.io/v1
kind: AuthorizationPolicy
metadata: {name: cart-open, namespace: shop}
spec:
  selector: {matchLabels: {app: cart}}
  rules:
    - to:
        - operation:
            methods: ["GET"]
`;
const TAKEN = `apiVersion: security.istio.io/v1
kind: AuthorizationPolicy
metadata:
  name: deny-frontend-get-cart
  namespace: shop
spec: {selector: {matchLabels: {app: nothing}}, action: DENY, rules: [{to: [{operation: {paths: [/x]}}]}]}
---
apiVersion: security.istio.io/v1
kind: PeerAuthentication
metadata:
  name: deny-frontend-get-cart-2
  namespace: shop
spec: {mtls: {mode: STRICT}}
`;

function get(path: string, count = 1): AccessRecord {
  return {
    mesh: 'istio', protocol: 'http', observed: 'allowed', count,
    source: { principal: 'cluster.local/ns/shop/sa/frontend', namespace: 'shop', serviceAccount: 'frontend', ip: '10.0.0.9' },
    destination: { namespace: 'shop', workload: 'cart', labels: { app: 'cart' }, port: 8080 },
    request: { method: 'GET', path, host: 'cart.shop.svc.cluster.local' },
  };
}

function createdNames(fixes: TrafficFix[]): string[] {
  return fixes.flatMap((f) => (f.creates ?? []).map((r) => `${r.mesh} ${r.kind} ${r.namespace}/${r.name}`));
}

describe('freshName: unique against the workspace and the fixes offered with it', () => {
  it('a name of the same mesh, kind and namespace is taken; another namespace or kind does not take it', () => {
    const l = loadInline({ '/ws/p.yaml': CART_OPEN, '/ws/taken.yaml': TAKEN }, []);
    const shop = { mesh: 'istio' as const, kind: 'AuthorizationPolicy', namespace: 'shop' };
    assert.equal(freshName(l.context, shop, 'deny-frontend-GET-cart'), 'deny-frontend-get-cart-2', 'the PeerAuthentication of that name is another kind');
    assert.equal(freshName(l.context, { ...shop, namespace: 'billing' }, 'deny-frontend-GET-cart'), 'deny-frontend-get-cart');
    assert.equal(freshName(l.context, { ...shop, mesh: 'linkerd' }, 'deny-frontend-GET-cart'), 'deny-frontend-get-cart');
    assert.equal(freshName({ ...l.context, offered: [{ ...shop, name: 'deny-frontend-get-cart-2' }] }, shop, 'deny-frontend-GET-cart'), 'deny-frontend-get-cart-3');
  });

  it('two calls denied by two new policies in one list: two names, neither in the workspace; each fix still denies its call', () => {
    const l = loadInline({ '/ws/p.yaml': CART_OPEN, '/ws/taken.yaml': TAKEN }, [get('/v1/carts/c1', 5), get('/v1/carts/c2', 3)]);
    const fixes = trafficFixesAt({ workspace: l.workspace, file: '/ws/p.yaml', range: rangeAt(CART_OPEN, 'methods'), outcomes: l.outcomes }).filter((f) => f.kind === 'deny');
    assert.deepEqual(fixes.map((f) => f.title), [
      // -2 is a PeerAuthentication's name: another kind, so free for an AuthorizationPolicy
      'Deny cluster.local/ns/shop/sa/frontend → cart GET /v1/carts/c1: new DENY policy shop/deny-frontend-get-cart-2',
      'Deny cluster.local/ns/shop/sa/frontend → cart GET /v1/carts/c2: new DENY policy shop/deny-frontend-get-cart-3',
    ]);
    assert.deepEqual(createdNames(fixes), ['istio AuthorizationPolicy shop/deny-frontend-get-cart-2', 'istio AuthorizationPolicy shop/deny-frontend-get-cart-3']);
    fixes.forEach((fix, i) => {
      const applied = apply(l, fix);
      assert.ok(applied.after.includes(`name: ${fix.creates![0]!.name}\n`), applied.after);
      assert.equal(applied.verdicts[i], 'deny');
      assert.equal(applied.verdicts[1 - i], 'allow', 'the other call is not this fix\'s');
    });
  });

  it('two calls that need the same new policy: offered once', () => {
    // the query string is not part of what a policy compares (paths match without it)
    const l = loadInline({ '/ws/p.yaml': CART_OPEN }, [get('/v1/carts?page=1', 5), get('/v1/carts?page=2', 3)]);
    const fixes = trafficFixesAt({ workspace: l.workspace, file: '/ws/p.yaml', range: rangeAt(CART_OPEN, 'methods'), outcomes: l.outcomes }).filter((f) => f.kind === 'deny');
    assert.deepEqual(createdNames(fixes), ['istio AuthorizationPolicy shop/deny-frontend-get-cart']);
    assert.deepEqual(apply(l, fixes[0]!).verdicts, ['deny', 'deny']);
  });

  it('the traffic map\'s deny fixes of one edge: distinct names too', () => {
    const l = loadInline({ '/ws/p.yaml': CART_OPEN }, [get('/v1/carts/c1', 5), get('/v1/carts/c2', 3), get('/v1/carts/c3', 1)]);
    const { fixes } = edgeFixes({ workspace: l.workspace, outcomes: l.outcomes, engine: l.context.engine, edge: { source: 'shop/frontend', destination: 'shop/cart' }, action: 'deny' });
    const names = createdNames(fixes);
    assert.equal(names.length, 3, fixes.map((f) => f.title).join('\n'));
    assert.equal(new Set(names).size, 3, names.join('\n'));
  });

  it('a list built again starts afresh: the names of an earlier list are not taken', () => {
    const l = loadInline({ '/ws/p.yaml': CART_OPEN }, [get('/v1/carts/c1')]);
    const build = () => createdNames(trafficFixesAt({ workspace: l.workspace, file: '/ws/p.yaml', range: rangeAt(CART_OPEN, 'methods'), outcomes: l.outcomes }));
    assert.deepEqual(build(), build());
  });

  it('Consul: the calls of one caller to a destination without intentions get one new ServiceIntentions, not one per request', async () => {
    // examples/consul/crds: deny-all (destination "*") refuses ingress-gateway's requests to dashboard, which has no intentions
    const l = await loadExample('consul', ['crds', 'app']);
    const file = l.workspace.sourceFiles.find((f) => f.path.endsWith('service-intentions.yaml'))!;
    const fixes = trafficFixesAt({ workspace: l.workspace, file: file.path, range: rangeAt(file.text, 'name: deny-all'), outcomes: l.outcomes, engine: l.context.engine });
    const created = fixes.filter((f) => f.creates?.length);
    assert.deepEqual(createdNames(created), ['consul ServiceIntentions counting-demo/dashboard'], fixes.map((f) => f.title).join('\n'));
  });
});

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { defaultConfig } from '../../../server/src/engine/config/projectConfig';
import { Engine } from '../../../server/src/engine/engine';
import { istioSimulator } from '../../../server/src/engine/simulate/istio';
import type { PolicySet } from '../../../server/src/engine/simulate/types';
import type { AccessRecord } from '../../../server/src/engine/traffic/accessRecord';
import { WorkspaceModel } from '../../../server/src/engine/workspace';
import { loadExampleTraffic, rng } from '../../helpers/exampleTraffic';

// Istio `decide` keeps per-destination views, layers with the peer-identity tests folded per
// caller, what a layer decided per request line, and one Decision object per outcome
// (simulate/istio/layer.ts, evaluate.ts). `decidePlain` evaluates every call from scratch. Every
// decision must be equal, whatever the order of the calls and however often a projection repeats.

const engine = new Engine();

function policySet(workspace: WorkspaceModel): PolicySet {
  return { resources: workspace.resources.filter((r) => r.resource.mesh === 'istio'), inventory: workspace.inventory, config: workspace.config };
}

/** A mix like the bench generator's (bench/generate.mjs): per service an ALLOW of its callers, a
 * DENY of admin paths unless from ops, tenant reads with a header and source.ip condition, a
 * dry-run DENY, an AUDIT of writes; a namespace-wide health ALLOW; STRICT mTLS; a JWT rule. */
function generatorLikePolicies(): string {
  const docs = [
    'apiVersion: security.istio.io/v1\nkind: PeerAuthentication\nmetadata: {name: default, namespace: istio-system}\nspec: {mtls: {mode: STRICT}}',
    'apiVersion: security.istio.io/v1\nkind: RequestAuthentication\nmetadata: {name: jwt, namespace: shop}\nspec:\n  selector: {matchLabels: {app: cart}}\n  jwtRules: [{issuer: "https://auth.example.com"}]',
    'apiVersion: security.istio.io/v1\nkind: AuthorizationPolicy\nmetadata: {name: health, namespace: shop}\nspec:\n  rules:\n  - to: [{operation: {methods: [GET], paths: [/healthz]}}]',
  ];
  for (const [service, callers] of [['cart', ['web', 'orders']], ['orders', ['web']], ['stock', ['orders', 'cart']]] as const) {
    const principals = callers.map((c) => `cluster.local/ns/shop/sa/${c}`);
    docs.push(`apiVersion: security.istio.io/v1\nkind: AuthorizationPolicy\nmetadata: {name: ${service}-allow, namespace: shop}\nspec:\n  selector: {matchLabels: {app: ${service}}}\n  rules:\n  - from: [{source: {principals: ${JSON.stringify(principals)}}}]\n    to: [{operation: {methods: [GET, POST], paths: [/api/${service}, /api/${service}/*]}}]\n  - from: [{source: {namespaces: [ops]}}]\n    to: [{operation: {methods: [GET], paths: [/healthz]}}]\n  - from: [{source: {requestPrincipals: ["https://auth.example.com/*"]}}]`);
    docs.push(`apiVersion: security.istio.io/v1\nkind: AuthorizationPolicy\nmetadata: {name: ${service}-deny-admin, namespace: shop}\nspec:\n  selector: {matchLabels: {app: ${service}}}\n  action: DENY\n  rules:\n  - from: [{source: {notNamespaces: [ops]}}]\n    to: [{operation: {ports: ["8080"], paths: ["/admin/*"]}}]`);
    docs.push(`apiVersion: security.istio.io/v1\nkind: AuthorizationPolicy\nmetadata: {name: ${service}-tenant, namespace: shop}\nspec:\n  selector: {matchLabels: {app: ${service}}}\n  rules:\n  - from: [{source: {principals: ["cluster.local/ns/ops/sa/*"]}}]\n    to: [{operation: {methods: [GET], paths: ["/api/${service}/{*}"], ports: ["8080"]}}]\n    when:\n    - {key: "request.headers[x-tenant]", values: [t-0, t-1]}\n    - {key: source.ip, notValues: [10.200.0.0/16]}`);
    docs.push(`apiVersion: security.istio.io/v1\nkind: AuthorizationPolicy\nmetadata:\n  name: ${service}-tighten\n  namespace: shop\n  annotations: {istio.io/dry-run: "true"}\nspec:\n  selector: {matchLabels: {app: ${service}}}\n  action: DENY\n  rules:\n  - from: [{source: {notPrincipals: ${JSON.stringify(principals)}}}]\n    to: [{operation: {notMethods: [GET]}}]`);
    docs.push(`apiVersion: security.istio.io/v1\nkind: AuthorizationPolicy\nmetadata: {name: ${service}-audit, namespace: shop}\nspec:\n  selector: {matchLabels: {app: ${service}}}\n  action: AUDIT\n  rules:\n  - to: [{operation: {methods: [POST, DELETE]}}]`);
  }
  return `${docs.join('\n---\n')}\n`;
}

/** Seeded calls over callers, destinations, methods, paths, ports, headers and addresses, with
 * the forms that take the slow paths: no identity, an unknown identity, a token, no protocol,
 * no labels, a lower-case method, a path the proxy rejects. */
function seededCalls(count: number, seed: number): AccessRecord[] {
  const random = rng(seed);
  const pick = <T>(list: readonly T[]): T => list[Math.floor(random() * list.length)]!;
  const out: AccessRecord[] = [];
  for (let i = 0; i < count; i++) {
    const service = pick(['cart', 'orders', 'stock', 'other']);
    const callerNs = pick(['shop', 'shop', 'ops', 'web']);
    const caller = pick(['web', 'orders', 'cart', 'stranger']);
    const r = random();
    const source: NonNullable<AccessRecord['source']> = r < 0.06 ? { principalUnknown: true } : r < 0.1 ? {} : { principal: `${r < 0.15 ? 'spiffe://' : ''}cluster.local/ns/${callerNs}/sa/${caller}` };
    if (random() < 0.9) source.ip = pick(['10.1.0.5', '10.200.3.4', '10.1.0.6']);
    const destination: NonNullable<AccessRecord['destination']> = { namespace: 'shop', workload: service, service };
    if (random() < 0.9) destination.labels = random() < 0.5 ? { app: service } : { app: service, version: 'v1' };
    if (random() < 0.95) destination.port = pick([8080, 8080, 9090]);
    const record: AccessRecord = { mesh: 'istio', source, destination };
    const kind = random();
    if (kind < 0.08) record.protocol = 'tcp';
    else {
      if (kind > 0.04 + 0.9) { /* no protocol recorded */ } else record.protocol = 'http';
      const id = 1000 + Math.floor(random() * 40);
      const path = pick([`/api/${service}`, `/api/${service}/${id}`, `/api/${service}/${id}?page=2`, '/healthz', '/admin/flush', '/api/../admin/x', '/a%00b']);
      const request: NonNullable<AccessRecord['request']> = { method: pick(['GET', 'GET', 'POST', 'DELETE', 'get']), path, host: `${service}.shop.svc.cluster.local` };
      const tenant = random();
      if (tenant < 0.7) request.headers = { 'x-tenant': pick(['t-0', 't-1', 't-9']) };
      if (random() < 0.05) request.jwt = { issuer: pick(['https://auth.example.com', 'https://other.example.com']), subject: 'u1' };
      record.request = request;
    }
    out.push(record);
  }
  return out;
}

/** Decides `records` with the fast path (repeats and a shuffle included) and checks each against the plain evaluator. */
function assertFastEqualsPlain(set: PolicySet, records: readonly AccessRecord[], seed: number): { shared: number } {
  const fast = istioSimulator.compile(set);
  const plain = istioSimulator.compile(set);
  const random = rng(seed);
  const order = [...records, ...records.slice(0, Math.floor(records.length / 2))];
  for (let i = order.length - 1; i > 0; i--) {
    const j = Math.floor(random() * (i + 1));
    [order[i], order[j]] = [order[j]!, order[i]!];
  }
  const seen = new Set<object>();
  let shared = 0;
  for (const record of order) {
    const decision = fast.decide(record);
    if (seen.has(decision)) shared++;
    seen.add(decision);
    assert.deepEqual(decision, plain.decidePlain(record), JSON.stringify(record));
    const explained = plain.explain(record);
    assert.deepEqual({ ...decision, trace: undefined }, { ...explained, trace: undefined }, `explain: ${JSON.stringify(record)}`);
    assert.deepEqual(decision.trace, [explained.trace[explained.trace.length - 1]], `the deciding step: ${JSON.stringify(record)}`);
  }
  return { shared };
}

describe('Istio decide: the fast path equals the plain evaluator', () => {
  it('on a generator-like mix with seeded calls (identities, tokens, headers, addresses, malformed requests)', () => {
    const workspace = new WorkspaceModel(defaultConfig('/fast'));
    workspace.update(engine.prepare(engine.read('/fast/policies.yaml', generatorLikePolicies())));
    for (const seed of [1, 2, 3]) {
      const { shared } = assertFastEqualsPlain(policySet(workspace), seededCalls(1500, seed), seed);
      assert.ok(shared > 1000, `decisions are shared between calls with the same outcome (${shared})`);
    }
  });

  it('on the shapes of examples/istio, and those shapes without labels, port, identity or protocol', async () => {
    const example = await loadExampleTraffic(engine, 'istio');
    const records = example.shapes.map((s) => s.record);
    const variants = records.flatMap((r, i): AccessRecord[] => {
      const copy = structuredClone(r);
      if (i % 4 === 0 && copy.destination) delete copy.destination.labels;
      if (i % 4 === 1 && copy.destination) delete copy.destination.port;
      if (i % 4 === 2) copy.source = { ...copy.source, principal: undefined, principalUnknown: true };
      if (i % 4 === 3) delete copy.protocol;
      return [copy];
    });
    assertFastEqualsPlain(policySet(example.workspace), [...records, ...variants], 7);
  });

  it('a shared decision is not the object of an unknown or per-call outcome', () => {
    const workspace = new WorkspaceModel(defaultConfig('/fast'));
    workspace.update(engine.prepare(engine.read('/fast/policies.yaml', generatorLikePolicies())));
    const compiled = istioSimulator.compile(policySet(workspace));
    const unknown: AccessRecord = { mesh: 'istio', protocol: 'http', source: { principalUnknown: true, ip: '10.1.0.5' }, destination: { namespace: 'shop', workload: 'cart', service: 'cart', labels: { app: 'cart' }, port: 8080 }, request: { method: 'GET', path: '/api/cart', host: 'cart' } };
    const a = compiled.decide(unknown);
    const b = compiled.decide(unknown);
    assert.equal(a.verdict, 'unknown');
    assert.deepEqual(a.missing, ['source.principal']);
    assert.notEqual(a, b, 'an unknown decision names what is missing for its own call');
    const allowed: AccessRecord = { ...unknown, source: { principal: 'cluster.local/ns/shop/sa/web', ip: '10.1.0.5' } };
    assert.equal(compiled.decide(allowed).verdict, 'allow');
    assert.equal(compiled.decide(allowed), compiled.decide({ ...allowed, request: { ...allowed.request!, path: '/api/cart/7' } }), 'same rule, same decision object');
  });
});

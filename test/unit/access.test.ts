import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { accessMap, accessMapPaced, accessText, compareAccess, observedCallers, withObserved, type AccessMap } from '../../server/src/engine/access';
import type { TrafficShape } from '../../server/src/engine/traffic/ingest/types';
import { Pace } from '../../server/src/engine/pace';
import type { Mesh } from '../../server/src/engine/meshes';
import { Simulation } from '../../server/src/engine/simulate';
import { workspaceAccess } from '../../server/src/engine/access/workspaceAccess';
import { workspaceOf } from './authz/workspace';

/**
 * The access map decides each cell with the mesh's simulator from a call that carries only the
 * caller, the destination and port, and the declared protocol. Expected verdicts follow the
 * meshes' documented semantics (docs/semantics.md): what the call does not carry makes the
 * verdict `unknown`, naming it, where a policy reads it.
 */

/** A Deployment whose pods run as the service account of its name, with one container port. */
const deployment = (name: string, namespace: string, port: string) => `apiVersion: apps/v1
kind: Deployment
metadata: {name: ${name}, namespace: ${namespace}}
spec:
  selector: {matchLabels: {app: ${name}}}
  template:
    metadata: {labels: {app: ${name}}}
    spec:
      serviceAccountName: ${name}
      containers: [{name: ${name}, image: ${name}, ports: [${port}]}]
`;

/** Namespace shop (sidecar injection): web (sa web), cart (sa cart, port 7070 behind Service port http), db (sa db, port 5432 behind Service port tcp-db), jobs (sa jobs, port 9000 no Service). */
const ISTIO = `apiVersion: v1
kind: Namespace
metadata: {name: shop, labels: {istio-injection: enabled}}
---
${['web', 'cart', 'db', 'jobs'].map((name) => deployment(name, 'shop', `{containerPort: ${{ web: 8080, cart: 7070, db: 5432, jobs: 9000 }[name]}}`)).join('---\n')}---
apiVersion: v1
kind: Service
metadata: {name: cart, namespace: shop}
spec: {selector: {app: cart}, ports: [{name: http, port: 80, targetPort: 7070}]}
---
apiVersion: v1
kind: Service
metadata: {name: db, namespace: shop}
spec: {selector: {app: db}, ports: [{name: tcp-db, port: 5432}]}
---
apiVersion: v1
kind: Service
metadata: {name: web, namespace: shop}
spec: {selector: {app: web}, ports: [{name: http, port: 80, targetPort: 8080}]}
`;

const policy = (name: string, spec: string) => `apiVersion: security.istio.io/v1
kind: AuthorizationPolicy
metadata: {name: ${name}, namespace: shop}
spec:
${spec.replace(/^/gm, '  ')}
`;
const STRICT = `apiVersion: security.istio.io/v1
kind: PeerAuthentication
metadata: {name: default, namespace: shop}
spec: {mtls: {mode: STRICT}}
`;

/** `caller → destination` → `verdict` or `unknown: needs` for the cells asked. */
function cells(map: AccessMap, mesh: Mesh, wanted: string[]): Record<string, string> {
  const m = map.meshes.find((x) => x.mesh === mesh);
  assert.ok(m, `no ${mesh} in the map: ${JSON.stringify(map.notes)}`);
  const out: Record<string, string> = {};
  for (const want of wanted) {
    const [caller, destination] = want.split(' → ') as [string, string];
    const row = m.rows.find((r) => r.destination.key === destination);
    const cell = row?.cells.find((c) => c.caller === caller);
    out[want] = cell ? (cell.verdict === 'unknown' ? `unknown: ${cell.needs?.join(', ')}` : cell.verdict) : 'missing';
  }
  return out;
}

function mapOf(files: Record<string, string>): AccessMap {
  const workspace = workspaceOf(files);
  return accessMap(workspace, new Simulation(workspace));
}

const ASKED = ['shop/web → shop/cart:7070', 'shop/db → shop/cart:7070', '- → shop/cart:7070', 'shop/web → shop/db:5432', 'shop/web → shop/jobs:9000'];

describe('access map, Istio (spec §1: attachment, CUSTOM → DENY → ALLOW, HTTP attributes on TCP, mTLS)', () => {
  const CASES: Array<[string, string, Record<string, string>]> = [
    ['no policy at all: only an empty ALLOW-less policy set, every call allowed (PERMISSIVE mTLS admits plaintext)',
      policy('deny-nothing-here', 'selector: {matchLabels: {app: none}}\naction: DENY\nrules: [{}]'),
      { 'shop/web → shop/cart:7070': 'allow', 'shop/db → shop/cart:7070': 'allow', '- → shop/cart:7070': 'allow', 'shop/web → shop/db:5432': 'allow', 'shop/web → shop/jobs:9000': 'allow' }],
    ['STRICT mTLS: the plaintext caller is refused before authorization',
      STRICT + '---\n' + policy('deny-nothing-here', 'selector: {matchLabels: {app: none}}\naction: DENY\nrules: [{}]'),
      { 'shop/web → shop/cart:7070': 'allow', 'shop/db → shop/cart:7070': 'allow', '- → shop/cart:7070': 'deny', 'shop/web → shop/db:5432': 'allow', 'shop/web → shop/jobs:9000': 'allow' }],
    ['ALLOW by principal only: that caller allowed, every other denied, other workloads untouched',
      policy('cart-from-web', 'selector: {matchLabels: {app: cart}}\naction: ALLOW\nrules: [{from: [{source: {principals: [cluster.local/ns/shop/sa/web]}}]}]'),
      { 'shop/web → shop/cart:7070': 'allow', 'shop/db → shop/cart:7070': 'deny', '- → shop/cart:7070': 'deny', 'shop/web → shop/db:5432': 'allow', 'shop/web → shop/jobs:9000': 'allow' }],
    ['ALLOW by principal and path: the caller depends on the path, the others are denied whatever it is',
      policy('cart-from-web', 'selector: {matchLabels: {app: cart}}\naction: ALLOW\nrules: [{from: [{source: {principals: [cluster.local/ns/shop/sa/web]}}], to: [{operation: {paths: [/v1/*]}}]}]'),
      { 'shop/web → shop/cart:7070': 'unknown: request.path', 'shop/db → shop/cart:7070': 'deny', '- → shop/cart:7070': 'deny', 'shop/web → shop/db:5432': 'allow', 'shop/web → shop/jobs:9000': 'allow' }],
    ['an ALLOW rule with HTTP fields on a declared TCP port is dropped, so the port is closed (spec §1.5); a port no Service declares depends on the protocol',
      policy('namespace-paths', 'action: ALLOW\nrules: [{to: [{operation: {methods: [GET]}}]}]'),
      { 'shop/web → shop/cart:7070': 'unknown: request.method', 'shop/db → shop/cart:7070': 'unknown: request.method', '- → shop/cart:7070': 'unknown: request.method', 'shop/web → shop/db:5432': 'deny', 'shop/web → shop/jobs:9000': 'unknown: protocol, request.method' }],
    ['a DENY on a path: every caller depends on it; a namespace DENY by principal decides without the request',
      policy('cart-deny-admin', 'selector: {matchLabels: {app: cart}}\naction: DENY\nrules: [{to: [{operation: {paths: [/admin]}}]}]') + '---\n' + policy('deny-db-caller', 'action: DENY\nrules: [{from: [{source: {principals: [cluster.local/ns/shop/sa/db]}}]}]'),
      { 'shop/web → shop/cart:7070': 'unknown: request.path', 'shop/db → shop/cart:7070': 'deny', '- → shop/cart:7070': 'unknown: request.path', 'shop/web → shop/db:5432': 'allow', 'shop/web → shop/jobs:9000': 'allow' }],
  ];
  for (const [name, policies, expected] of CASES) {
    it(name, () => assert.deepEqual(cells(mapOf({ 'inventory.yaml': ISTIO, 'policies.yaml': policies }), 'istio', ASKED), expected));
  }

  it('maps every caller identity and the caller without one against every destination port, with what the inventory declares', () => {
    const map = mapOf({ 'inventory.yaml': ISTIO, 'policies.yaml': STRICT });
    const istio = map.meshes[0]!;
    assert.deepEqual(istio.callers.map((c) => [c.key, c.workloads]), [['shop/cart', ['shop/cart']], ['shop/db', ['shop/db']], ['shop/jobs', ['shop/jobs']], ['shop/web', ['shop/web']], ['-', []]]);
    assert.deepEqual(istio.rows.map((r) => [r.destination.key, r.destination.protocol ?? r.destination.protocolNote, r.destination.service ?? '']), [
      ['shop/cart:7070', 'http', 'cart'], ['shop/db:5432', 'tcp', 'db'], ['shop/jobs:9000', 'protocol detected', ''], ['shop/web:8080', 'http', 'web'],
    ]);
  });

  it('--from and --to narrow the callers and destinations; a workload outside the mesh is named in the notes', () => {
    const outside = ISTIO + '---\napiVersion: v1\nkind: Namespace\nmetadata: {name: legacy}\n---\napiVersion: apps/v1\nkind: Deployment\nmetadata: {name: old, namespace: legacy}\nspec:\n  selector: {matchLabels: {app: old}}\n  template:\n    metadata: {labels: {app: old}}\n    spec: {containers: [{name: old, image: old}]}\n';
    const workspace = workspaceOf({ 'inventory.yaml': outside, 'policies.yaml': STRICT });
    const map = accessMap(workspace, new Simulation(workspace), { from: 'shop/web', to: 'shop/cart' });
    assert.deepEqual(map.meshes[0]!.callers.map((c) => c.key), ['shop/web']);
    assert.deepEqual(map.meshes[0]!.rows.map((r) => r.destination.key), ['shop/cart:7070']);
    assert.deepEqual(map.notes, ['not in a mesh (no proxy injected, not ambient): nothing checks the calls to legacy/old']);
    const plaintextOnly = accessMap(workspace, new Simulation(workspace), { from: '-' });
    assert.deepEqual(plaintextOnly.meshes[0]!.callers.map((c) => c.key), ['-']);
  });
});

const LINKERD = `apiVersion: v1
kind: Namespace
metadata: {name: emoji, annotations: {linkerd.io/inject: enabled}}
---
${['web', 'api'].map((name) => deployment(name, 'emoji', '{name: http, containerPort: 8080}')).join('---\n')}`;

describe('access map, Linkerd (spec §2: Server selection, authorizations, default policy)', () => {
  it('a Server with one MeshTLSAuthentication admits that identity only; a port without Server falls to the default policy', () => {
    const policies = `apiVersion: policy.linkerd.io/v1beta3
kind: Server
metadata: {name: api-http, namespace: emoji}
spec: {podSelector: {matchLabels: {app: api}}, port: http, proxyProtocol: HTTP/1}
---
apiVersion: policy.linkerd.io/v1alpha1
kind: MeshTLSAuthentication
metadata: {name: web-only, namespace: emoji}
spec: {identityRefs: [{kind: ServiceAccount, name: web}]}
---
apiVersion: policy.linkerd.io/v1alpha1
kind: AuthorizationPolicy
metadata: {name: api-from-web, namespace: emoji}
spec:
  targetRef: {group: policy.linkerd.io, kind: Server, name: api-http}
  requiredAuthenticationRefs: [{group: policy.linkerd.io, kind: MeshTLSAuthentication, name: web-only}]
`;
    const map = mapOf({ 'inventory.yaml': LINKERD, 'policies.yaml': policies });
    // The default inbound policy all-unauthenticated admits any caller, the plaintext one included.
    // On the Server, a caller without identity is refused: the proxy admits plaintext only from
    // 127.0.0.1 and ::1 (its localhost authorization), and `-` is a client on another pod or host.
    assert.deepEqual(cells(map, 'linkerd', ['emoji/web → emoji/api:8080', 'emoji/api → emoji/api:8080', '- → emoji/api:8080', 'emoji/api → emoji/web:8080', '- → emoji/web:8080']), {
      'emoji/web → emoji/api:8080': 'allow', 'emoji/api → emoji/api:8080': 'deny', '- → emoji/api:8080': 'deny', 'emoji/api → emoji/web:8080': 'allow', '- → emoji/web:8080': 'allow',
    });
    // A NetworkAuthentication admits plaintext by address: there the map cannot tell.
    const byNetwork = policies + `---
apiVersion: policy.linkerd.io/v1alpha1
kind: NetworkAuthentication
metadata: {name: pods, namespace: emoji}
spec: {networks: [{cidr: 10.0.0.0/8}]}
---
apiVersion: policy.linkerd.io/v1alpha1
kind: AuthorizationPolicy
metadata: {name: api-from-pods, namespace: emoji}
spec:
  targetRef: {group: policy.linkerd.io, kind: Server, name: api-http}
  requiredAuthenticationRefs: [{group: policy.linkerd.io, kind: NetworkAuthentication, name: pods}]
`;
    assert.deepEqual(cells(mapOf({ 'inventory.yaml': LINKERD, 'policies.yaml': byNetwork }), 'linkerd', ['- → emoji/api:8080']), { '- → emoji/api:8080': 'unknown: source.ip' });
  });
});

describe('access map, Consul (spec §3: intentions by precedence, the default intention policy)', () => {
  it('an L4 allow from web to api under a wildcard deny: web reaches api, nothing else reaches anything', () => {
    const policies = `Kind = "service-intentions"
Name = "api"
Sources = [{ Name = "web", Action = "allow" }]
`;
    const wildcard = `Kind = "service-intentions"
Name = "*"
Sources = [{ Name = "*", Action = "deny" }]
`;
    const map = mapOf({ 'api.hcl': policies, 'deny-all.hcl': wildcard });
    assert.deepEqual(map.meshes.map((m) => [m.mesh, m.callers.map((c) => c.key), m.rows.map((r) => r.destination.key)]), [['consul', ['api', 'web'], ['api', 'web']]]);
    assert.deepEqual(cells(map, 'consul', ['web → api', 'api → api', 'api → web']), { 'web → api': 'allow', 'api → api': 'deny', 'api → web': 'deny' });
  });
});

describe('comparing two maps (--baseline)', () => {
  it('opened: deny → allow and deny → depends; closed: allow → deny; the rest is unchanged', () => {
    const before = mapOf({ 'inventory.yaml': ISTIO, 'policies.yaml': policy('cart-from-web', 'selector: {matchLabels: {app: cart}}\naction: ALLOW\nrules: [{from: [{source: {principals: [cluster.local/ns/shop/sa/web]}}]}]') });
    const after = mapOf({ 'inventory.yaml': ISTIO, 'policies.yaml': policy('cart-from-web', 'selector: {matchLabels: {app: cart}}\naction: ALLOW\nrules: [{from: [{source: {principals: [cluster.local/ns/shop/sa/db]}}]}, {from: [{source: {principals: [cluster.local/ns/shop/sa/jobs]}}], to: [{operation: {methods: [GET]}}]}]') });
    assert.deepEqual(compareAccess(before, after).map((c) => `${c.direction} ${c.caller} → ${c.destination} ${c.before?.verdict}→${c.after?.verdict}`), [
      'opened shop/db → shop/cart:7070 deny→allow',
      'opened shop/jobs → shop/cart:7070 deny→unknown',
      'closed shop/web → shop/cart:7070 allow→deny',
    ]);
    assert.deepEqual(compareAccess(after, after), []);
  });
});

describe('access map for one request (--request)', () => {
  it('decides each cell for that request: the caller the path rule names is allowed, a declared TCP port decides the connection', () => {
    const workspace = workspaceOf({ 'inventory.yaml': ISTIO, 'policies.yaml': policy('cart-from-web', 'selector: {matchLabels: {app: cart}}\naction: ALLOW\nrules: [{from: [{source: {principals: [cluster.local/ns/shop/sa/web]}}], to: [{operation: {paths: [/v1/*]}}]}]') });
    const cellsFor = (path: string) => cells(accessMap(workspace, new Simulation(workspace), { request: { method: 'GET', path } }), 'istio', ASKED);
    assert.deepEqual(cellsFor('/v1/items'), { 'shop/web → shop/cart:7070': 'allow', 'shop/db → shop/cart:7070': 'deny', '- → shop/cart:7070': 'deny', 'shop/web → shop/db:5432': 'allow', 'shop/web → shop/jobs:9000': 'allow' });
    assert.deepEqual(cellsFor('/admin')['shop/web → shop/cart:7070'], 'deny');
  });

  it('the summary names the destinations every caller reaches, and those every mesh identity reaches', () => {
    const workspace = workspaceOf({ 'inventory.yaml': ISTIO, 'policies.yaml': STRICT + '---\n' + policy('cart-from-web', 'selector: {matchLabels: {app: cart}}\naction: ALLOW\nrules: [{from: [{source: {principals: [cluster.local/ns/shop/sa/web]}}]}]') });
    // 5 callers × 4 ports: the cart admits only web (1 of 5); the 3 other ports admit the 4 identities, STRICT refuses plaintext
    const text = accessText(accessMap(workspace, new Simulation(workspace)), (p) => p);
    assert.match(text, /^ {2}cells: 13 allowed, 0 depending, 7 denied$/m);
    assert.match(text, /^ {2}open to every caller with a mesh identity: shop\/db:5432, shop\/jobs:9000, shop\/web:8080$/m);
    assert.doesNotMatch(text, /open to every caller, plaintext included/);
  });
});

describe('the editor\'s access lenses (WorkspaceAccess)', () => {
  it('one line per mesh with the counts per port; nothing decided over the cap', async () => {
    const workspace = workspaceOf({ 'inventory.yaml': ISTIO, 'policies.yaml': STRICT + '---\n' + policy('cart-from-web', 'selector: {matchLabels: {app: cart}}\naction: ALLOW\nrules: [{from: [{source: {principals: [cluster.local/ns/shop/sa/web]}}], to: [{operation: {paths: [/v1/*]}}]}]') });
    const access = workspaceAccess(workspace);
    assert.equal(workspaceAccess(workspace), access, 'kept while the workspace state lasts');
    assert.deepEqual(await access.headlines('shop', 'cart'), ['Access (Istio, 5 callers): :7070 1 depending · 4 denied']);
    assert.deepEqual(await access.headlines('shop', 'nowhere'), []);
    const capped = accessMap(workspace, new Simulation(workspace), { maxCells: 19 });
    assert.equal(capped.tooLarge, true);
    assert.deepEqual(capped.meshes, []);
    assert.match(capped.notes.at(-1)!, /^20 cells \(callers × destination ports\) is more than 19/);
  });
});

describe('the map built in slices (the language server)', () => {
  it('gives the same map as built at once, and stops once its signal is aborted', async () => {
    const workspace = workspaceOf({ 'inventory.yaml': ISTIO, 'policies.yaml': STRICT });
    const simulation = new Simulation(workspace);
    assert.deepEqual(await accessMapPaced(workspace, simulation, {}, new Pace(undefined, 0)), accessMap(workspace, simulation));
    const controller = new AbortController();
    controller.abort(new Error('cancelled'));
    await assert.rejects(accessMapPaced(workspace, simulation, {}, new Pace(controller.signal)), /cancelled/);
  });
});

describe('the map against the logs (access --traffic)', () => {
  const shape = (record: Record<string, unknown>, count: number) => ({ record: { mesh: 'istio', protocol: 'http', ...record }, count, samples: [], sourceBy: {}, destinationBy: {}, joined: 0 }) as unknown as TrafficShape;
  const workspace = workspaceOf({ 'inventory.yaml': ISTIO, 'policies.yaml': policy('cart-from-web', 'selector: {matchLabels: {app: cart}}\naction: ALLOW\nrules: [{from: [{source: {principals: [cluster.local/ns/shop/sa/web, cluster.local/ns/other/sa/bot]}}]}]') });
  const simulation = new Simulation(workspace);
  const shapes = [
    shape({ source: { principal: 'cluster.local/ns/shop/sa/web' }, destination: { namespace: 'shop', workload: 'cart', port: 7070 }, observed: 'allowed' }, 40),
    shape({ source: { principal: 'cluster.local/ns/shop/sa/db' }, destination: { namespace: 'shop', workload: 'cart', port: 7070 }, observed: 'denied' }, 3),
    // a caller the inventory does not hold: mapped from the logs
    shape({ source: { principal: 'cluster.local/ns/other/sa/bot' }, destination: { namespace: 'shop', workload: 'cart', port: 7070 }, observed: 'allowed' }, 5),
    shape({ source: { principal: null }, destination: { namespace: 'shop', workload: 'web', port: 8080 }, observed: 'allowed' }, 2),
    shape({ source: { principalUnknown: true, ip: '10.0.0.9' }, destination: { namespace: 'shop', workload: 'cart', port: 7070 }, observed: 'allowed' }, 7),
    shape({ source: { principal: 'cluster.local/ns/shop/sa/web' }, destination: { namespace: 'shop', workload: 'ghost', port: 1 }, observed: 'allowed' }, 1),
  ];

  it('counts each call in its caller × destination port cell, maps the callers only the logs show, and counts apart what fits no cell', () => {
    const moreCallers = observedCallers(shapes, (r) => simulation.meshOf(r));
    assert.deepEqual(moreCallers, { istio: [{ namespace: 'shop', name: 'web' }, { namespace: 'shop', name: 'db' }, { namespace: 'other', name: 'bot' }] });
    const { map, unmapped } = withObserved(accessMap(workspace, simulation, { moreCallers }), shapes, (r) => simulation.meshOf(r));
    const cart = map.meshes[0]!.rows.find((r) => r.destination.key === 'shop/cart:7070')!;
    assert.deepEqual(cart.cells.map((c) => [c.caller, c.verdict, c.observed]), [
      ['other/bot', 'allow', { calls: 5, allowed: 5, denied: 0 }],
      ['shop/cart', 'deny', { calls: 0, allowed: 0, denied: 0 }],
      ['shop/db', 'deny', { calls: 3, allowed: 0, denied: 3 }],
      ['shop/jobs', 'deny', { calls: 0, allowed: 0, denied: 0 }],
      ['shop/web', 'allow', { calls: 40, allowed: 40, denied: 0 }],
      ['-', 'deny', { calls: 0, allowed: 0, denied: 0 }],
    ]);
    assert.deepEqual(map.meshes[0]!.rows.find((r) => r.destination.key === 'shop/web:8080')!.cells.find((c) => c.caller === '-')!.observed, { calls: 2, allowed: 2, denied: 0 });
    assert.deepEqual(unmapped, { calls: 8, reasons: { 'the log does not identify the caller': 7, 'the destination is not in the map': 1 } });
    // 6 callers × 4 ports; allowed: bot and web on the cart, all 6 on the 3 ports no policy covers
    // (20); called among them: bot → cart, web → cart, - → web (3)
    const text = accessText(map, (p) => p);
    assert.match(text, /^ {2}in the logs: 4 of 24 cells called; 17 of 20 allowed cells never called: /m);
    assert.match(text, /^ {4}allow {4}other\/bot \(5 calls\), shop\/web \(40 calls\)$/m);
  });
});

describe('the map against the logs, Consul with Enterprise namespaces', () => {
  it('keys a caller the logs show as the mesh keys its callers (namespace/service), and counts its calls there', () => {
    const workspace = workspaceOf({ 'api.hcl': 'Kind = "service-intentions"\nName = "api"\nNamespace = "shop"\nSources = [{ Name = "web", Namespace = "shop", Action = "allow" }]\n' });
    const simulation = new Simulation(workspace);
    const call = (service: string, count: number) => ({ record: { mesh: 'consul', protocol: 'tcp', source: { principal: `spiffe://consul/ns/${service.split('/')[0]}/dc/dc1/svc/${service.split('/')[1]}` }, destination: { namespace: 'shop', service: 'api' }, observed: 'allowed' }, count, samples: [], sourceBy: {}, destinationBy: {}, joined: 0 }) as unknown as TrafficShape;
    const shapes = [call('shop/web', 4), call('ops/console', 2)];
    const moreCallers = observedCallers(shapes, (r) => simulation.meshOf(r));
    const { map, unmapped } = withObserved(accessMap(workspace, simulation, { moreCallers }), shapes, (r) => simulation.meshOf(r));
    const consul = map.meshes[0]!;
    assert.deepEqual(consul.callers.map((c) => c.key), ['ops/console', 'shop/api', 'shop/web']);
    const api = consul.rows.find((r) => r.destination.key === 'shop/api')!;
    // spec §3: the exact source allows web; console matches no source and gets the default (allow without ACLs)
    assert.deepEqual(api.cells.map((c) => [c.caller, c.verdict, c.observed?.calls]), [['ops/console', 'allow', 2], ['shop/api', 'allow', 0], ['shop/web', 'allow', 4]]);
    assert.deepEqual(unmapped, { calls: 0, reasons: {} });
  });
});

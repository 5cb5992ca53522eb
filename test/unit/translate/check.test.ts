import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { Mesh } from '../../../server/src/engine/meshes';
import { translatePolicies, type Translation } from '../../../server/src/engine/translate';
import { probesOf } from '../../../server/src/engine/translate/check';
import { contextOf, resourcesOf } from './harness';

// Translations checked end to end: read by one mesh's translator, written by another's, and the
// same probe calls decided by both meshes' simulators (translate/check.ts). Where the target mesh
// can say exactly what the source says (mesh-semantics: identities, methods, paths, ports map one
// to one), the check must find no call decided differently; where it cannot (Linkerd has no deny),
// the translation must say so in a note and the check must find the calls it decides otherwise.

const INVENTORY = `apiVersion: v1
kind: Service
metadata: {name: cart, namespace: shop}
spec: {selector: {app: cart}, ports: [{name: http, port: 80, targetPort: 8080}]}
---
apiVersion: apps/v1
kind: Deployment
metadata: {name: cart, namespace: shop}
spec:
  selector: {matchLabels: {app: cart}}
  template:
    metadata: {labels: {app: cart}}
    spec:
      serviceAccountName: cart
      containers: [{name: cart, image: cart, ports: [{name: http, containerPort: 8080}, {name: admin, containerPort: 9090}]}]
---
apiVersion: v1
kind: Service
metadata: {name: frontend, namespace: shop}
spec: {selector: {app: frontend}, ports: [{port: 80, targetPort: 8080}]}
---
apiVersion: apps/v1
kind: Deployment
metadata: {name: frontend, namespace: shop}
spec:
  selector: {matchLabels: {app: frontend}}
  template:
    metadata: {labels: {app: frontend}}
    spec:
      serviceAccountName: frontend
      containers: [{name: frontend, image: frontend, ports: [{containerPort: 8080}]}]
`;

async function translated(yaml: string, to: Mesh, configure?: Parameters<typeof contextOf>[1]): Promise<Translation> {
  const context = contextOf(INVENTORY, configure);
  const list = await translatePolicies(resourcesOf(yaml), to, context, { path: '/ws/translated.yaml' });
  assert.equal(list.length, 1, 'one source mesh');
  return list[0]!;
}

const ISTIO_CART = `apiVersion: security.istio.io/v1
kind: AuthorizationPolicy
metadata: {name: cart-from-frontend, namespace: shop}
spec:
  selector: {matchLabels: {app: cart}}
  action: ALLOW
  rules:
  - from: [{source: {principals: [cluster.local/ns/shop/sa/frontend]}}]
    to: [{operation: {methods: [GET, PUT], paths: [/v1/carts/*]}}]
`;

const ISTIO_DENY = `apiVersion: security.istio.io/v1
kind: AuthorizationPolicy
metadata: {name: no-admin, namespace: shop}
spec:
  selector: {matchLabels: {app: cart}}
  action: DENY
  rules:
  - to: [{operation: {paths: [/admin/*]}}]
`;

const LINKERD_CART = `apiVersion: policy.linkerd.io/v1beta3
kind: Server
metadata: {name: cart-http, namespace: shop}
spec:
  podSelector: {matchLabels: {app: cart}}
  port: 8080
  proxyProtocol: HTTP/1
---
apiVersion: policy.linkerd.io/v1alpha1
kind: MeshTLSAuthentication
metadata: {name: frontend, namespace: shop}
spec:
  identities: [frontend.shop.serviceaccount.identity.linkerd.cluster.local]
---
apiVersion: policy.linkerd.io/v1alpha1
kind: AuthorizationPolicy
metadata: {name: cart-from-frontend, namespace: shop}
spec:
  targetRef: {group: policy.linkerd.io, kind: Server, name: cart-http}
  requiredAuthenticationRefs:
  - {group: policy.linkerd.io, kind: MeshTLSAuthentication, name: frontend}
`;

// Two Servers on one workload (its two ports), one of them selecting every pod of the namespace:
// Istio governs every port of a workload, so the ports no Server selects must stay open.
const LINKERD_TWO_SERVERS = `${LINKERD_CART}---
apiVersion: policy.linkerd.io/v1beta3
kind: Server
metadata: {name: admin, namespace: shop}
spec:
  podSelector: {}
  port: 9090
---
apiVersion: policy.linkerd.io/v1alpha1
kind: MeshTLSAuthentication
metadata: {name: ops, namespace: shop}
spec:
  identities: ["*.ops.serviceaccount.identity.linkerd.cluster.local"]
---
apiVersion: policy.linkerd.io/v1alpha1
kind: AuthorizationPolicy
metadata: {name: admin-from-ops, namespace: shop}
spec:
  targetRef: {group: policy.linkerd.io, kind: Server, name: admin}
  requiredAuthenticationRefs:
  - {group: policy.linkerd.io, kind: MeshTLSAuthentication, name: ops}
`;

const CONSUL_CART = `apiVersion: consul.hashicorp.com/v1alpha1
kind: ServiceIntentions
metadata: {name: cart, namespace: shop}
spec:
  destination: {name: cart}
  sources:
  - name: frontend
    action: allow
  - name: "*"
    action: deny
`;

describe('translation checked by both meshes\' simulators', () => {
  const exact: [string, string, Mesh][] = [
    ['an Istio ALLOW (principal, methods, path prefix) → Linkerd', ISTIO_CART, 'linkerd'],
    ['an Istio ALLOW (principal, methods, path prefix) → Consul', ISTIO_CART, 'consul'],
    ['a Linkerd Server with an identity authorization → Istio', LINKERD_CART, 'istio'],
    ['two Linkerd Servers on one workload, one namespace-wide → Istio (the other ports stay open)', LINKERD_TWO_SERVERS, 'istio'],
    ['Consul intentions (one source allowed, the rest denied) → Istio', CONSUL_CART, 'istio'],
    ['Consul intentions (one source allowed, the rest denied) → Linkerd', CONSUL_CART, 'linkerd'],
    ['an Istio DENY → Consul', ISTIO_DENY, 'consul'],
  ];
  for (const [name, yaml, to] of exact) {
    it(`${name}: every probe decided alike`, async () => {
      const t = await translated(yaml, to);
      assert.ok(t.written.resources > 0, t.yaml);
      assert.ok(t.check.probes.decided > 0, 'probes were decided');
      assert.equal(t.check.probes.differing, 0, `${t.yaml}\n${JSON.stringify(t.check.probes.differ.slice(0, 5), null, 2)}`);
    });
  }

  it('an Istio DENY under an ALLOW of any request → Linkerd (no deny): the notes and the check agree on what changes', async () => {
    const anyRequest = ISTIO_CART.replace(/\n    to: .*\n/, '\n');
    assert.doesNotMatch(anyRequest, /paths/);
    const t = await translated(`${anyRequest}---\n${ISTIO_DENY}`, 'linkerd');
    const admin = t.check.probes.differ.filter((d) => /\/admin\//.test(d.call));
    if (t.notes.some((n) => n.effect === 'wider' && /deny/i.test(n.text))) {
      // left out: the check must find the admin requests the translation allows
      assert.ok(admin.length > 0, JSON.stringify(t.check.probes.differ.slice(0, 5), null, 2));
      for (const d of admin) assert.deepEqual([d.source.verdict, d.target.verdict], ['deny', 'allow']);
      assert.match(t.yaml, /^# Check: Istio's and Linkerd's simulators decide [\d,]+ probe calls? of [\d,]+ differently/m);
    } else {
      // expressed (e.g. by a route of its own that nothing authorizes): nothing may differ on HTTP
      assert.deepEqual(admin, [], t.yaml);
    }
  });

  it('a Linkerd Server of one port → Consul, whose intentions cover every port: the note says it allows less, and the check finds the calls to the other port', async () => {
    const t = await translated(LINKERD_CART, 'consul');
    assert.ok(t.notes.some((n) => n.effect === 'narrower' && /govern every port/.test(n.text)), JSON.stringify(t.notes, null, 2));
    assert.ok(t.check.probes.differing > 0);
    for (const d of t.check.probes.differ) {
      assert.match(d.call, /shop\/cart:9090 /, 'only the port no Server selects');
      assert.deepEqual([d.source.verdict, d.target.verdict], ['allow', 'deny']);
    }
  });

  // A part of a rule the model cannot carry (mesh-semantics: Istio notPaths, notNamespaces, an
  // uncarried `when` key) is left out with a note; the check must still probe the callers and
  // requests that rule names, or it reports "all alike" for calls the translation decides otherwise.
  const LOSSY: { name: string; policy: string; to: Mesh; call: RegExp; verdicts: [string, string] }[] = [
    {
      name: 'ALLOW with notPaths → Linkerd: the rule is left out, so its caller\'s requests are denied',
      policy: `apiVersion: security.istio.io/v1
kind: AuthorizationPolicy
metadata: {name: cart-api, namespace: shop}
spec:
  selector: {matchLabels: {app: cart}}
  action: ALLOW
  rules:
  - from: [{source: {principals: ["cluster.local/ns/shop/sa/frontend"]}}]
    to: [{operation: {methods: ["GET"], paths: ["/api/*"], notPaths: ["/api/secret"], ports: ["8080"]}}]
`,
      to: 'linkerd', call: /^shop\/frontend .*→ shop\/cart:8080 GET \/api\//, verdicts: ['allow', 'deny'],
    },
    {
      name: 'DENY with notPaths → Consul: the rule is left out, so its caller\'s requests are allowed',
      policy: `apiVersion: security.istio.io/v1
kind: AuthorizationPolicy
metadata: {name: cart-guard, namespace: shop}
spec:
  selector: {matchLabels: {app: cart}}
  action: DENY
  rules:
  - from: [{source: {principals: ["cluster.local/ns/shop/sa/frontend"]}}]
    to: [{operation: {paths: ["/api/*"], notPaths: ["/api/public"]}}]
`,
      to: 'consul', call: /^shop\/frontend .*→ shop\/cart:\d+ \w+ \/api\/(?!public)/, verdicts: ['deny', 'allow'],
    },
  ];
  for (const c of LOSSY) {
    it(`a rule left out is still probed: ${c.name}`, async () => {
      const t = await translated(c.policy, c.to);
      assert.ok(t.notes.some((n) => n.effect === (c.verdicts[0] === 'allow' ? 'narrower' : 'wider')), JSON.stringify(t.notes, null, 2));
      const named = t.check.probes.differ.filter((d) => c.call.test(d.call));
      assert.ok(named.length > 0, JSON.stringify(t.check.probes, null, 2));
      for (const d of named) assert.deepEqual([d.source.verdict, d.target.verdict], c.verdicts);
    });
  }

  it('observed calls are compared too, and what the logs hold in secret never reaches the report', async () => {
    const context = contextOf(INVENTORY);
    const record = {
      mesh: 'linkerd' as const, protocol: 'http' as const,
      source: { principal: 'batch.jobs.serviceaccount.identity.linkerd.cluster.local', ip: '10.9.8.7' },
      destination: { namespace: 'shop', workload: 'cart', labels: { app: 'cart' }, port: 9090 },
      request: { method: 'GET', path: '/export?access_token=SECRET-ONE', headers: { authorization: 'Bearer SECRET-TWO', 'x-api-key': 'SECRET-THREE', 'x-team': 'ops' } },
    };
    const [t] = await translatePolicies(resourcesOf(LINKERD_CART), 'consul', context, { path: '/ws/t.yaml', observed: [{ record, count: 7, samples: [], sourceBy: {}, destinationBy: {}, joined: 0 }] });
    const observed = t!.check.observed!;
    assert.equal(observed.differing, 7, 'Linkerd leaves port 9090 to its default; Consul intentions cover it');
    // (headers no rule tests are not shown: here, none)
    assert.equal(observed.differ[0]!.call, 'jobs/batch (10.9.8.7) → shop/cart:9090 GET /export?access_token=[redacted]');
    assert.doesNotMatch(t!.yaml + JSON.stringify(t!.check), /SECRET-/);
  });

  it('a regular-expression path is probed with a path it matches', async () => {
    const routes = `${LINKERD_CART.replace(/---\napiVersion: policy.linkerd.io\/v1alpha1\nkind: AuthorizationPolicy[\s\S]*$/, '')}---
apiVersion: policy.linkerd.io/v1beta3
kind: HTTPRoute
metadata: {name: items, namespace: shop}
spec:
  parentRefs: [{group: policy.linkerd.io, kind: Server, name: cart-http}]
  rules:
  - matches: [{path: {type: RegularExpression, value: "/v1/items/[0-9]+"}, method: GET}]
---
apiVersion: policy.linkerd.io/v1alpha1
kind: AuthorizationPolicy
metadata: {name: items-from-frontend, namespace: shop}
spec:
  targetRef: {group: policy.linkerd.io, kind: HTTPRoute, name: items}
  requiredAuthenticationRefs:
  - {group: policy.linkerd.io, kind: MeshTLSAuthentication, name: frontend}
`;
    // (Consul intentions take RE2 path regexes; Istio has no regex path form)
    const t = await translated(routes, 'consul');
    const probes = probesOf(t.model, contextOf(INVENTORY), ['linkerd', 'consul']);
    assert.ok(probes.some((p) => p.call.request?.path === '/v1/items/0' && p.call.request.method === 'GET' && p.call.caller?.serviceAccount === 'frontend' && p.call.destination.port === 8080), 'the allowed request is probed');
    // on the Server's port, every probe alike; the other port differs as its note says (intentions cover every port)
    assert.ok(t.check.probes.decided > 0);
    for (const d of t.check.probes.differ) assert.match(d.call, /shop\/cart:9090 /, t.yaml);
  });

  it('a check that can compare nothing says why and fails (Envoy would reject the translated regex)', async () => {
    const linkerdHuge = LINKERD_CART.replace('kind: AuthorizationPolicy\nmetadata: {name: cart-from-frontend, namespace: shop}\nspec:\n  targetRef: {group: policy.linkerd.io, kind: Server, name: cart-http}', `kind: AuthorizationPolicy\nmetadata: {name: cart-from-frontend, namespace: shop}\nspec:\n  targetRef: {group: policy.linkerd.io, kind: HTTPRoute, name: big}`) + `---
apiVersion: policy.linkerd.io/v1beta3
kind: HTTPRoute
metadata: {name: big, namespace: shop}
spec:
  parentRefs: [{group: policy.linkerd.io, kind: Server, name: cart-http}]
  rules:
  - matches: [{path: {type: RegularExpression, value: "/(a?){400}b"}}]
`;
    const big = await translated(linkerdHuge, 'consul');
    if (big.check.probes.decided === 0) {
      assert.ok(big.check.probes.undecided > 0);
      assert.ok(big.check.probes.undecidedBecause.some((u) => /^consul unknown: /.test(u.reason)), JSON.stringify(big.check.probes.undecidedBecause));
      assert.match(big.yaml, /^# Check: no probe call could be compared/m);
      assert.match(big.yaml, /^#   left undecided: /m);
    } else {
      // the writer left the rule out instead (with a note), and the rest compares
      assert.ok(big.notes.some((n) => /regex|program|RE2/i.test(n.text)), JSON.stringify(big.notes, null, 2));
    }
  });

  it('networks are probed from inside, from an exception and from outside', () => {
    const origin = { file: '/ws/p.yaml', range: { start: { line: 0, character: 0 }, end: { line: 0, character: 1 } }, label: 'p' };
    const model = { mesh: 'linkerd' as const, notes: [], protections: [{ origin, name: 'p', action: 'allow' as const, target: { namespace: 'shop', labels: { app: 'cart' } }, rules: [{ origin, from: [{ networks: [{ cidr: '10.0.0.0/8', except: ['10.0.0.0/24'] }] }], to: [], headers: [] }] }] };
    const ips = new Set(probesOf(model, contextOf(INVENTORY), ['linkerd', 'istio']).map((p) => p.call.callerIp));
    // first address of the network is excepted: its last is inside; the exception's first; TEST-NET-3 outside
    for (const ip of ['10.255.255.255', '10.0.0.0', '203.0.113.7']) assert.ok(ips.has(ip), `${ip} in ${[...ips].join(', ')}`);
  });

  it('headers with many values do not multiply into millions of Consul permissions', async () => {
    const when = Array.from({ length: 7 }, (_, i) => `{key: "request.headers[x-h${i}]", values: [${Array.from({ length: 10 }, (_, j) => `v${j}`).join(', ')}]}`).join(', ');
    const started = Date.now();
    const t = await translated(ISTIO_CART.replace('    to: [{operation: {methods: [GET, PUT], paths: [/v1/carts/*]}}]', `    to: [{operation: {methods: [GET, PUT], paths: [/v1/carts/*]}}]\n    when: [${when}]`), 'consul');
    assert.ok(Date.now() - started < 20_000, `${Date.now() - started} ms`);
    assert.ok(t.yaml.length < 200_000, `${t.yaml.length} characters`);
    assert.ok(t.notes.some((n) => n.effect === 'narrower' && /permissions/.test(n.text)), JSON.stringify(t.notes, null, 2));
  });

  it('the translated YAML starts with what was read, the notes and the check', async () => {
    const t = await translated(ISTIO_CART, 'consul');
    const head = t.yaml.split('\n').filter((l) => l.startsWith('#'));
    assert.match(head[0]!, /^# Consul policies translated by mesh-policy translate from 1 Istio resource: \d+ resources? written\.$/);
    assert.ok(head.some((l) => /^# Check: Istio's and Consul's simulators decide all [\d,]+ probe calls alike/.test(l)), head.join('\n'));
  });
});

import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { Engine } from '../../../server/src/engine/engine';
import { buildInventory } from '../../../server/src/engine/inventory/inventory';
import { resourceValue } from '../../../server/src/engine/resourceValue';
import type { AccessRecord } from '../../../server/src/engine/traffic/accessRecord';
import { linkerdTranslator } from '../../../server/src/engine/translate/linkerd';
import { ANY_IDENTITY, type AccessRule, type Protection, type TranslationContext } from '../../../server/src/engine/translate/model';
import { Prng } from '../../fuzz/prng';
import { contextOf, decideUnder, resourcesOf } from './harness';

/**
 * Linkerd translation. Expected values come from Linkerd's semantics
 * (/work/shared/spec/mesh-semantics.md §2, restating linkerd/linkerd2 policy-controller and
 * linkerd2-proxy sources and linkerd/website's authorization-policy reference), not from what
 * the code prints: identities `<sa>.<ns>.serviceaccount.identity.linkerd.cluster.local` (§2.2),
 * refs of one AuthorizationPolicy AND-ed and policies OR-ed, a missing authentication making the
 * policy grant nothing, ServerAuthorization networks defaulting to the cluster networks (§2.4),
 * routes with 404 for unmatched requests, segment-aware PathPrefix and best-match precedence (§2.5).
 */

const engine = new Engine();

/** Like `contextOf`, with the inventory in a file on disk: the probes, which the inventory does not keep, are read from its manifest. */
function diskContext(inventoryYaml: string, configure?: Parameters<typeof contextOf>[1]): TranslationContext {
  const context = contextOf('', configure);
  if (!inventoryYaml) return context;
  const path = join(mkdtempSync(join(tmpdir(), 'mpa-linkerd-')), 'inventory.yaml');
  writeFileSync(path, inventoryYaml);
  return { ...context, inventory: buildInventory([engine.read(path, inventoryYaml)]) };
}
const TD = 'serviceaccount.identity.linkerd.cluster.local';
const id = (sa: string, ns: string): string => `${sa}.${ns}.${TD}`;

/** A rule without its origin, for comparing. */
function shape(r: AccessRule): Omit<AccessRule, 'origin'> {
  return { from: r.from, to: r.to, headers: r.headers };
}
function protectionShape(p: Protection): object {
  return { name: p.name, action: p.action, target: p.target, ports: p.ports, rules: p.rules.map(shape) };
}

const SERVER = `
apiVersion: policy.linkerd.io/v1beta3
kind: Server
metadata: { name: web-http, namespace: shop, labels: { tier: front } }
spec:
  podSelector: { matchLabels: { app: web } }
  port: 8080
`;

/** An AuthorizationPolicy of namespace shop (YAML document), its target and refs in flow style. */
function policy(name: string, target: string, refs: string): string {
  return `---
apiVersion: policy.linkerd.io/v1alpha1
kind: AuthorizationPolicy
metadata: { name: ${name}, namespace: shop }
spec:
  targetRef: ${target}
  requiredAuthenticationRefs: ${refs}
`;
}
const ON_SERVER = '{ group: policy.linkerd.io, kind: Server, name: web-http }';

/** The inventory's `shop/web` Deployment (labels app=web) with a container of these extra fields (flow-style YAML). */
function webDeployment(container: string): string {
  return `
apiVersion: apps/v1
kind: Deployment
metadata: { name: web, namespace: shop }
spec:
  selector: { matchLabels: { app: web } }
  template:
    metadata: { labels: { app: web } }
    spec:
      containers: [{ name: web, image: web, ${container} }]
`;
}

interface ReadCase {
  name: string;
  yaml: string;
  inventory?: string;
  configure?: Parameters<typeof contextOf>[1];
  protections: object[];
  /** Each expected note: its effect and a phrase of its text. */
  notes?: [string, string][];
}

const READ_CASES: ReadCase[] = [
  {
    // §2.4: one AuthorizationPolicy, its MeshTLSAuthentication and NetworkAuthentication AND-ed; §2.2 identity forms
    name: 'AuthorizationPolicy on a Server: identities (exact, namespace suffix) AND networks with except',
    yaml: `${SERVER}---
apiVersion: policy.linkerd.io/v1alpha1
kind: AuthorizationPolicy
metadata: { name: web-clients, namespace: shop }
spec:
  targetRef: { group: policy.linkerd.io, kind: Server, name: web-http }
  requiredAuthenticationRefs:
    - { group: policy.linkerd.io, kind: MeshTLSAuthentication, name: clients }
    - { group: policy.linkerd.io, kind: NetworkAuthentication, name: pods }
---
apiVersion: policy.linkerd.io/v1alpha1
kind: MeshTLSAuthentication
metadata: { name: clients, namespace: shop }
spec:
  identities: ["frontend.shop.${TD}", "*.ops.${TD}"]
---
apiVersion: policy.linkerd.io/v1alpha1
kind: NetworkAuthentication
metadata: { name: pods, namespace: shop }
spec:
  networks: [{ cidr: 10.0.0.0/8, except: [10.1.0.0/16] }]
`,
    protections: [{
      name: 'web-http', action: 'allow', target: { namespace: 'shop', labels: { app: 'web' } }, ports: [8080],
      rules: [{ from: [{ identities: [{ namespace: 'shop', serviceAccount: 'frontend' }, { namespace: 'ops', serviceAccount: '*' }], networks: [{ cidr: '10.0.0.0/8', except: ['10.1.0.0/16'] }] }], to: [], headers: [] }],
    }],
  },
  {
    // §2.4: ServiceAccount ref and identityRefs (ServiceAccount, Namespace); `*` = any mesh identity; a policy on the Namespace reaches its Servers
    name: 'identityRefs, a ServiceAccount ref, `*`, and a Namespace-targeted policy',
    yaml: `${SERVER}${policy('by-sa', ON_SERVER, '[{ kind: ServiceAccount, name: checkout }]')}${policy('ns-wide', '{ kind: Namespace, name: shop }', '[{ group: policy.linkerd.io, kind: MeshTLSAuthentication, name: refs }]')}---
apiVersion: policy.linkerd.io/v1alpha1
kind: MeshTLSAuthentication
metadata: { name: refs, namespace: shop }
spec:
  identityRefs: [{ kind: ServiceAccount, name: cart, namespace: store }, { kind: Namespace, name: batch }]
${policy('any-meshed', ON_SERVER, '[{ group: policy.linkerd.io, kind: MeshTLSAuthentication, name: anyone }]')}---
apiVersion: policy.linkerd.io/v1alpha1
kind: MeshTLSAuthentication
metadata: { name: anyone, namespace: shop }
spec:
  identities: ["*"]
`,
    protections: [{
      name: 'web-http', action: 'allow', target: { namespace: 'shop', labels: { app: 'web' } }, ports: [8080],
      rules: [
        { from: [{ identities: [{ namespace: 'shop', serviceAccount: 'checkout' }] }], to: [], headers: [] },
        { from: [{ identities: [{ namespace: 'store', serviceAccount: 'cart' }, { namespace: 'batch', serviceAccount: '*' }] }], to: [], headers: [] },
        { from: [{ identities: [ANY_IDENTITY] }], to: [], headers: [] },
      ].sort((a, b) => JSON.stringify(a).localeCompare(JSON.stringify(b))),
    }],
  },
  {
    // §2.4 / §2.7.3: a policy whose authentication does not exist is ignored (grants nothing); the Server then allows nothing
    name: 'missing MeshTLSAuthentication: the policy grants nothing, the Server allows nothing',
    yaml: `${SERVER}${policy('broken', ON_SERVER, '[{ group: policy.linkerd.io, kind: MeshTLSAuthentication, name: nowhere }]')}`,
    protections: [{ name: 'web-http', action: 'allow', target: { namespace: 'shop', labels: { app: 'web' } }, ports: [8080], rules: [] }],
    notes: [['same', 'does not exist']],
  },
  {
    // §2.4: ServerAuthorization without client.networks = the cluster networks; unauthenticatedTLS cannot be expressed
    name: 'ServerAuthorization: cluster networks by default, selector on the Server labels, unauthenticatedTLS',
    yaml: `${SERVER}---
apiVersion: policy.linkerd.io/v1beta1
kind: ServerAuthorization
metadata: { name: plain, namespace: shop }
spec:
  server: { name: web-http }
  client: { unauthenticated: true }
---
apiVersion: policy.linkerd.io/v1beta1
kind: ServerAuthorization
metadata: { name: tls, namespace: shop }
spec:
  server: { selector: { matchLabels: { tier: front } } }
  client:
    networks: [{ cidr: 0.0.0.0/0 }, { cidr: "::/0" }]
    meshTLS: { unauthenticatedTLS: true }
`,
    configure: (c) => { c.linkerd.clusterNetworks = ['10.0.0.0/8']; },
    protections: [{
      name: 'web-http', action: 'allow', target: { namespace: 'shop', labels: { app: 'web' } }, ports: [8080],
      rules: [
        { from: [{ networks: [{ cidr: '10.0.0.0/8', except: [] }] }], to: [], headers: [] },
        { from: [{ identities: [ANY_IDENTITY] }], to: [], headers: [] },
      ],
    }],
    notes: [['narrower', 'unauthenticatedTLS']],
  },
  {
    // §2.3: a named port selects the container ports of that name of the selected pods; one the inventory does not know is left out
    name: 'named ports from the inventory; an unknown name leaves the Server out',
    yaml: `
apiVersion: policy.linkerd.io/v1beta3
kind: Server
metadata: { name: web-named, namespace: shop }
spec:
  podSelector: { matchLabels: { app: web } }
  port: http
  accessPolicy: all-authenticated
---
apiVersion: policy.linkerd.io/v1beta3
kind: Server
metadata: { name: web-missing, namespace: shop }
spec:
  podSelector: { matchLabels: { app: web } }
  port: grpc
`,
    inventory: webDeployment('ports: [{ name: http, containerPort: 8080 }, { name: admin, containerPort: 9000 }]'),
    protections: [{ name: 'web-named', action: 'allow', target: { namespace: 'shop', labels: { app: 'web' } }, ports: [8080], rules: [{ from: [{ identities: [ANY_IDENTITY] }], to: [], headers: [] }] }],
    notes: [['unknown', 'port "grpc"']],
  },
  {
    // §2.5: a Server without routes has a probe route: GET on the pod's HTTP probe paths, from probeNetworks (every address by default)
    name: 'probe route of a Server without routes',
    yaml: `${SERVER}${policy('by-sa', ON_SERVER, '[{ kind: ServiceAccount, name: frontend }]')}`,
    inventory: webDeployment('ports: [{ containerPort: 8080 }], readinessProbe: { httpGet: { path: "/ready?full=1", port: 8080 } }, livenessProbe: { httpGet: { path: /live, port: 9999 } }'),
    protections: [{
      name: 'web-http', action: 'allow', target: { namespace: 'shop', labels: { app: 'web' } }, ports: [8080],
      rules: [
        { from: [{ identities: [{ namespace: 'shop', serviceAccount: 'frontend' }] }], to: [], headers: [] },
        { from: [], to: [{ methods: ['GET'], paths: [{ kind: 'exact', value: '/ready' }] }], headers: [] },
      ],
    }],
  },
  {
    // §2.5: with routes, the Server's own authorizations reach only requests some route matches; a route's policy only its own;
    // PathPrefix is segment-aware: /api = exact /api or string prefix /api/
    name: 'routes: server-level policies over the union of matches, route-level over the route\'s; PathPrefix segment-aware',
    yaml: `${SERVER}---
apiVersion: policy.linkerd.io/v1beta3
kind: HTTPRoute
metadata: { name: api, namespace: shop }
spec:
  parentRefs: [{ group: policy.linkerd.io, kind: Server, name: web-http }]
  rules:
    - matches:
        - path: { type: PathPrefix, value: /api/ }
          method: GET
        - path: { type: Exact, value: /status }
          headers: [{ name: X-Env, value: prod }]
        - path: { type: Exact, value: /debug }
          queryParams: [{ name: v, value: "1" }]
${policy('server-wide', ON_SERVER, '[{ kind: ServiceAccount, name: ops }]')}${policy('api-users', '{ group: policy.linkerd.io, kind: HTTPRoute, name: api }', '[{ kind: ServiceAccount, name: frontend }]')}`,
    protections: [{
      name: 'web-http', action: 'allow', target: { namespace: 'shop', labels: { app: 'web' } }, ports: [8080],
      rules: [
        { from: [{ identities: [{ namespace: 'shop', serviceAccount: 'ops' }] }], to: [{ methods: ['GET'], paths: [{ kind: 'exact', value: '/api' }, { kind: 'prefix', value: '/api/' }] }], headers: [] },
        { from: [{ identities: [{ namespace: 'shop', serviceAccount: 'ops' }] }], to: [{ paths: [{ kind: 'exact', value: '/status' }] }], headers: [{ name: 'x-env', values: ['prod'] }] },
        { from: [{ identities: [{ namespace: 'shop', serviceAccount: 'frontend' }] }], to: [{ methods: ['GET'], paths: [{ kind: 'exact', value: '/api' }, { kind: 'prefix', value: '/api/' }] }], headers: [] },
        { from: [{ identities: [{ namespace: 'shop', serviceAccount: 'frontend' }] }], to: [{ paths: [{ kind: 'exact', value: '/status' }] }], headers: [{ name: 'x-env', values: ['prod'] }] },
      ],
    }],
    notes: [['narrower', 'query parameter'], ['narrower', 'non-HTTP connections']],
  },
  {
    // §2.3/§2.4: what attaches to nothing grants nothing; an object written twice exists once
    name: 'a policy whose Server does not exist, a ServerAuthorization selecting no Server, a Server written twice',
    yaml: `${SERVER}---${SERVER}${policy('orphan', '{ group: policy.linkerd.io, kind: Server, name: nowhere }', '[]')}---
apiVersion: policy.linkerd.io/v1beta1
kind: ServerAuthorization
metadata: { name: lonely, namespace: shop }
spec:
  server: { selector: { matchLabels: { tier: back } } }
  client: { unauthenticated: true }
`,
    protections: [{ name: 'web-http', action: 'allow', target: { namespace: 'shop', labels: { app: 'web' } }, ports: [8080], rules: [] }],
    notes: [['same', 'Server shop/nowhere is defined in none of the files read'], ['same', 'selects no Server'], ['unknown', 'written more than once']],
  },
  {
    // §2.5 precedence: two routes with different authorizations that may match the same request
    name: 'overlapping routes with different authorizations: unknown',
    yaml: `${SERVER}---
apiVersion: policy.linkerd.io/v1beta3
kind: HTTPRoute
metadata: { name: a-all, namespace: shop }
spec:
  parentRefs: [{ group: policy.linkerd.io, kind: Server, name: web-http }]
  rules: [{ matches: [{ path: { type: PathPrefix, value: / } }] }]
---
apiVersion: policy.linkerd.io/v1beta3
kind: HTTPRoute
metadata: { name: b-admin, namespace: shop }
spec:
  parentRefs: [{ group: policy.linkerd.io, kind: Server, name: web-http }]
  rules: [{ matches: [{ path: { type: PathPrefix, value: /admin } }] }]
${policy('all-users', '{ group: policy.linkerd.io, kind: HTTPRoute, name: a-all }', '[{ kind: ServiceAccount, name: frontend }]')}`,
    protections: [{
      name: 'web-http', action: 'allow', target: { namespace: 'shop', labels: { app: 'web' } }, ports: [8080],
      rules: [{ from: [{ identities: [{ namespace: 'shop', serviceAccount: 'frontend' }] }], to: [{ paths: [{ kind: 'prefix', value: '/' }] }], headers: [] }],
    }],
    notes: [['unknown', 'best match']],
  },
  {
    // §2.3: defaults of ports without a Server (config, namespace annotation); externalWorkloadSelector; matchExpressions
    name: 'default inbound policies, externalWorkloadSelector, matchExpressions',
    yaml: `
apiVersion: policy.linkerd.io/v1beta3
kind: Server
metadata: { name: ext, namespace: shop }
spec:
  externalWorkloadSelector: { matchLabels: { app: vm } }
  port: 80
---
apiVersion: policy.linkerd.io/v1beta3
kind: Server
metadata: { name: expr, namespace: shop }
spec:
  podSelector:
    matchLabels: { app: web }
    matchExpressions: [{ key: track, operator: NotIn, values: [canary] }]
  port: 80
  accessPolicy: cluster-authenticated
`,
    inventory: `
apiVersion: v1
kind: Namespace
metadata: { name: locked, annotations: { config.linkerd.io/default-inbound-policy: deny } }
`,
    configure: (c) => { c.linkerd.defaultInboundPolicy = 'cluster-authenticated'; c.linkerd.clusterNetworks = ['10.0.0.0/8']; },
    protections: [{
      name: 'expr', action: 'allow', target: { namespace: 'shop', labels: { app: 'web' } }, ports: [80],
      rules: [{ from: [{ identities: [ANY_IDENTITY], networks: [{ cidr: '10.0.0.0/8', except: [] }] }], to: [], headers: [] }],
    }],
    notes: [['wider', 'cluster-wide default inbound policy is cluster-authenticated'], ['wider', 'namespace locked'], ['wider', 'externalWorkloadSelector'], ['unknown', 'matchExpressions']],
  },
];

describe('Linkerd reader', () => {
  for (const c of READ_CASES) {
    it(c.name, () => {
      const model = linkerdTranslator.read(resourcesOf(c.yaml), diskContext(c.inventory ?? '', c.configure));
      const got = model.protections.map(protectionShape) as { rules: object[] }[];
      // rules of one Server come in the simulator's order of authorizations; compare as sets where the case sorted them
      const expected = c.protections as { rules: object[] }[];
      for (const [i, p] of got.entries()) if (JSON.stringify(expected[i]?.rules) !== JSON.stringify(p.rules) && expected[i]) p.rules.sort((a, b) => JSON.stringify(a).localeCompare(JSON.stringify(b)));
      assert.deepEqual(got, expected);
      for (const [effect, phrase] of c.notes ?? []) {
        assert.ok(model.notes.some((n) => n.effect === effect && n.text.includes(phrase)), `a ${effect} note mentioning "${phrase}" in ${JSON.stringify(model.notes.map((n) => `${n.effect}: ${n.text}`), null, 1)}`);
      }
    });
  }
});

// ---------------------------------------------------------------------- writer

const ORIGIN = (label: string) => ({ file: '/ws/source.yaml', range: { start: { line: 0, character: 0 }, end: { line: 0, character: 0 } }, label });

function rule(label: string, r: Partial<Omit<AccessRule, 'origin'>>): AccessRule {
  return { origin: ORIGIN(label), from: r.from ?? [], to: r.to ?? [], headers: r.headers ?? [] };
}

function allow(name: string, rules: AccessRule[], target: Protection['target'] = { namespace: 'shop', labels: { app: 'web' } }, ports: number[] | 'every' = [8080]): Protection {
  return { origin: ORIGIN(name), name, action: 'allow', target, ...(ports !== 'every' ? { ports } : {}), rules };
}

const sa = (ns: string, name: string) => ({ namespace: ns, serviceAccount: name });

interface Call {
  who?: string;
  ip?: string;
  method?: string;
  path?: string;
  headers?: Record<string, string>;
  tcp?: boolean;
  port?: number;
  labels?: Record<string, string>;
  ns?: string;
  expect: 'allow' | 'deny';
}

function record(c: Call): AccessRecord {
  return {
    protocol: c.tcp ? 'tcp' : 'http',
    source: { principal: c.who ?? null, ip: c.ip ?? '10.9.0.1' },
    destination: { namespace: c.ns ?? 'shop', workload: c.labels?.['app'] ?? 'web', labels: c.labels ?? { app: 'web' }, port: c.port ?? 8080 },
    ...(c.tcp ? {} : { request: { method: c.method ?? 'GET', path: c.path ?? '/', headers: c.headers ?? {} } }),
  };
}

interface WriteCase {
  name: string;
  protections: Protection[];
  inventory?: string;
  calls: Call[];
  notes?: [string, string][];
}

const WRITE_CASES: WriteCase[] = [
  {
    name: 'identities without request conditions: a Server and a policy on it (HTTP and plain connections)',
    protections: [allow('web', [rule('frontend', { from: [{ identities: [sa('shop', 'frontend'), sa('ops', '*')] }] })])],
    calls: [
      { who: id('frontend', 'shop'), path: '/x', expect: 'allow' },
      { who: id('frontend', 'shop'), tcp: true, expect: 'allow' },
      { who: id('anyone', 'ops'), expect: 'allow' },
      { who: id('other', 'shop'), expect: 'deny' },
      { expect: 'deny' },
      // another port is not governed by the protection: Linkerd's default (all-unauthenticated) decides
      { port: 9090, expect: 'allow' },
    ],
  },
  {
    name: 'string prefixes, exact paths and methods: the more specific route carries every rule that contains it',
    protections: [allow('web', [
      rule('api readers', { from: [{ identities: [sa('shop', 'frontend')] }], to: [{ methods: ['GET'], paths: [{ kind: 'prefix', value: '/api/' }] }] }),
      rule('admin', { from: [{ identities: [sa('shop', 'admin')] }], to: [{ paths: [{ kind: 'exact', value: '/api/admin' }] }] }),
      rule('ops anywhere', { from: [{ identities: [sa('shop', 'ops')] }] }),
      rule('monitor with header', { from: [{ identities: [sa('shop', 'monitor')] }], headers: [{ name: 'x-env', values: ['prod', 'stage'] }] }),
    ])],
    calls: [
      { who: id('frontend', 'shop'), path: '/api/admin', expect: 'allow' },
      { who: id('frontend', 'shop'), path: '/api/items', expect: 'allow' },
      { who: id('frontend', 'shop'), method: 'POST', path: '/api/items', expect: 'deny' },
      // a plain string prefix /api/ matches neither /api nor /apix (Linkerd's PathPrefix /api would match /api)
      { who: id('frontend', 'shop'), path: '/api', expect: 'deny' },
      { who: id('frontend', 'shop'), path: '/apix', expect: 'deny' },
      { who: id('frontend', 'shop'), path: '/other', expect: 'deny' },
      { who: id('admin', 'shop'), method: 'DELETE', path: '/api/admin', expect: 'allow' },
      { who: id('admin', 'shop'), path: '/api/items', expect: 'deny' },
      { who: id('ops', 'shop'), path: '/anything', expect: 'allow' },
      { who: id('ops', 'shop'), path: '/api/admin', expect: 'allow' },
      { who: id('ops', 'shop'), tcp: true, expect: 'allow' },
      { who: id('frontend', 'shop'), tcp: true, expect: 'deny' },
      { who: id('monitor', 'shop'), path: '/metrics', headers: { 'x-env': 'stage' }, expect: 'allow' },
      { who: id('monitor', 'shop'), path: '/api/admin', headers: { 'x-env': 'prod' }, expect: 'allow' },
      { who: id('monitor', 'shop'), path: '/metrics', headers: { 'x-env': 'dev' }, expect: 'deny' },
      { who: id('monitor', 'shop'), path: '/metrics', expect: 'deny' },
    ],
  },
  {
    name: 'a method rule and a path rule overlap: their intersection is a route of its own',
    protections: [allow('web', [
      rule('readers', { from: [{ identities: [sa('shop', 'reader')] }], to: [{ methods: ['GET'] }] }),
      rule('x users', { from: [{ identities: [sa('shop', 'xuser')] }], to: [{ paths: [{ kind: 'exact', value: '/x' }] }] }),
      rule('present header', { from: [{ identities: [sa('shop', 'tagged')] }], headers: [{ name: 'x-tag', values: [] }] }),
    ])],
    calls: [
      { who: id('reader', 'shop'), path: '/x', expect: 'allow' },
      { who: id('reader', 'shop'), method: 'POST', path: '/x', expect: 'deny' },
      { who: id('xuser', 'shop'), path: '/x', expect: 'allow' },
      { who: id('xuser', 'shop'), method: 'POST', path: '/x', expect: 'allow' },
      { who: id('xuser', 'shop'), path: '/y', expect: 'deny' },
      { who: id('tagged', 'shop'), method: 'PUT', path: '/x', headers: { 'x-tag': '' }, expect: 'allow' },
      { who: id('tagged', 'shop'), path: '/x', expect: 'deny' },
    ],
  },
  {
    // two prefixes, both written as regular expressions: Linkerd ranks them equal on a path both match, so the route order (names) must put the narrower first
    name: 'nested string prefixes: the narrower route comes first by name',
    protections: [allow('web', [
      rule('wide', { from: [{ identities: [sa('shop', 'a')] }], to: [{ paths: [{ kind: 'prefix', value: '/x/' }] }] }),
      rule('narrow', { from: [{ identities: [sa('shop', 'b')] }], to: [{ paths: [{ kind: 'prefix', value: '/x/y/' }] }] }),
    ])],
    calls: [
      { who: id('a', 'shop'), path: '/x/y/z', expect: 'allow' },
      { who: id('b', 'shop'), path: '/x/y/z', expect: 'allow' },
      { who: id('a', 'shop'), path: '/x/z', expect: 'allow' },
      { who: id('b', 'shop'), path: '/x/z', expect: 'deny' },
    ],
  },
  {
    name: 'networks with exceptions, plaintext callers; several callers of a rule are ORed; a rule on other ports is not written here',
    protections: [allow('web', [
      rule('pods', { from: [{ networks: [{ cidr: '10.0.0.0/8', except: ['10.1.0.0/16'] }] }, { identities: [sa('shop', 'frontend')], networks: [{ cidr: '192.168.0.0/16', except: [] }] }] }),
      rule('other port', { from: [], to: [{ ports: [9999] }] }),
    ])],
    calls: [
      { ip: '10.2.3.4', expect: 'allow' },
      { ip: '10.1.2.3', expect: 'deny' },
      { ip: '192.168.1.1', expect: 'deny' },
      { who: id('frontend', 'shop'), ip: '192.168.1.1', expect: 'allow' },
      { who: id('frontend', 'shop'), ip: '172.16.0.1', expect: 'deny' },
    ],
  },
  {
    name: 'an allow protection without rules allows nothing; a whole namespace; every namespace of the inventory',
    protections: [
      allow('nothing', [], { namespace: 'vault' }, [8200]),
      allow('mesh-wide', [rule('meshed', { from: [{ identities: [ANY_IDENTITY] }] })], { namespace: '*' }, [9000]),
    ],
    inventory: 'apiVersion: v1\nkind: Namespace\nmetadata: { name: shop }\n---\napiVersion: v1\nkind: Namespace\nmetadata: { name: vault }\n',
    calls: [
      { ns: 'vault', labels: { app: 'db' }, port: 8200, who: id('admin', 'vault'), expect: 'deny' },
      { ns: 'vault', labels: { app: 'db' }, port: 8200, tcp: true, expect: 'deny' },
      { ns: 'shop', port: 9000, who: id('x', 'other'), expect: 'allow' },
      { ns: 'vault', labels: { app: 'db' }, port: 9000, expect: 'deny' },
    ],
  },
  {
    name: 'ports from the inventory when the protection governs every port',
    protections: [allow('web', [rule('frontend', { from: [{ identities: [sa('shop', 'frontend')] }] })], { namespace: 'shop', labels: { app: 'web' } }, 'every')],
    inventory: webDeployment('ports: [{ containerPort: 8080 }, { containerPort: 8443 }]'),
    calls: [
      { port: 8080, who: id('frontend', 'shop'), expect: 'allow' },
      { port: 8443, who: id('other', 'shop'), expect: 'deny' },
      { port: 8080, expect: 'deny' },
    ],
    notes: [['wider', 'ports 8080, 8443']],
  },
];

function lintErrors(yaml: string): string[] {
  const lint = engine.lint(engine.prepare(engine.read('/ws/translated.yaml', yaml)));
  return lint.findings.filter((f) => f.severity === 'error').map((f) => `${f.range.start.line + 1}: ${f.code} ${f.message}`);
}

function write(protections: Protection[], context: TranslationContext) {
  return linkerdTranslator.write({ mesh: 'istio', protections, notes: [] }, context);
}

describe('Linkerd writer', () => {
  for (const c of WRITE_CASES) {
    it(c.name, () => {
      const context = contextOf(c.inventory ?? '');
      const written = write(c.protections, context);
      assert.deepEqual(lintErrors(written.yaml), [], written.yaml);
      assert.equal(resourcesOf(written.yaml).length, written.resources);
      const decisions = decideUnder('linkerd', written.yaml, context, c.calls.map(record));
      const got = c.calls.map((call, i) => ({ ...call, expect: decisions[i]!.verdict }));
      assert.deepEqual(got, c.calls, written.yaml);
      for (const [effect, phrase] of c.notes ?? []) assert.ok(written.notes.some((n) => n.effect === effect && n.text.includes(phrase)), JSON.stringify(written.notes));
      // deterministic
      assert.equal(write(c.protections, context).yaml, written.yaml);
    });
  }

  it('writes and reads identities of the install the configuration names (linkerd.trustDomain, linkerd.controlPlaneNamespace)', () => {
    const prod = contextOf('', (config) => { config.linkerd.trustDomain = 'prod.example'; config.linkerd.controlPlaneNamespace = 'linkerd-prod'; });
    const written = write([allow('web', [rule('AuthorizationPolicy shop/a', { from: [{ identities: [sa('shop', 'frontend'), sa('batch', '*')] }] })])], prod);
    assert.match(written.yaml, /- frontend\.shop\.serviceaccount\.identity\.linkerd-prod\.prod\.example\n/);
    assert.match(written.yaml, /- "?\*\.batch\.serviceaccount\.identity\.linkerd-prod\.prod\.example"?\n/);
    assert.doesNotMatch(written.yaml, /cluster\.local/);
    const caller = (principal: string): AccessRecord => ({ protocol: 'http', source: { principal }, destination: { namespace: 'shop', workload: 'web', port: 8080, labels: { app: 'web' } }, request: { method: 'GET', path: '/' } });
    const [own, other] = decideUnder('linkerd', written.yaml, prod, [caller('frontend.shop.serviceaccount.identity.linkerd-prod.prod.example'), caller('frontend.shop.serviceaccount.identity.linkerd.cluster.local')]);
    assert.equal(own!.verdict, 'allow');
    assert.equal(other!.verdict, 'deny');
    // read back under the same install: the identities are service accounts again; under the default install they are foreign
    const back = linkerdTranslator.read(resourcesOf(written.yaml), prod);
    assert.deepEqual(back.protections.flatMap((p) => p.rules.flatMap((r) => r.from.flatMap((c) => c.identities ?? []))), [sa('shop', 'frontend'), sa('batch', '*')]);
    const foreign = linkerdTranslator.read(resourcesOf(written.yaml), contextOf());
    assert.ok(foreign.notes.some((n) => n.text.includes('not a service account\'s or namespace\'s identity of this cluster (….serviceaccount.identity.linkerd.cluster.local)')), JSON.stringify(foreign.notes));
  });

  it('names each resource\'s source in a comment above it, and gives stable names', () => {
    const written = write([allow('web', [rule('AuthorizationPolicy shop/a', { from: [{ identities: [sa('shop', 'frontend')] }], to: [{ paths: [{ kind: 'exact', value: '/x' }] }] })])], contextOf());
    const docs = written.yaml.split(/^---\n/m).filter((d) => d.trim());
    assert.equal(docs.length, written.resources);
    for (const d of docs) assert.match(d, /^# .*\/ws\/source\.yaml:1 /);
    assert.deepEqual(resourcesOf(written.yaml).map((r) => `${r.resource.kind} ${r.resource.name}`), [
      'Server web-8080', 'MeshTLSAuthentication web-8080-a1', 'HTTPRoute web-8080-r001', 'AuthorizationPolicy web-8080-r001-a1',
    ]);
  });

  it('deny protections: left out with a note (same when no allow rule admits its callers, wider otherwise)', () => {
    const deny = (name: string, from: AccessRule['from'], target: Protection['target'] = { namespace: 'shop', labels: { app: 'web' } }): Protection => ({ origin: ORIGIN(name), name, action: 'deny', target, rules: [rule(name, { from })] });
    const written = write([
      allow('web', [rule('frontend', { from: [{ identities: [sa('shop', 'frontend')] }] })]),
      deny('block-batch', [{ identities: [sa('batch', '*')] }]),
      deny('block-frontend', [{ identities: [sa('shop', 'frontend')] }]),
      deny('lonely', [{ identities: [sa('x', 'y')] }], { namespace: 'other' }),
    ], contextOf());
    const effect = (label: string) => written.notes.find((n) => n.at.label === label)?.effect;
    assert.equal(effect('block-batch'), 'same');
    assert.equal(effect('block-frontend'), 'wider');
    assert.equal(effect('lonely'), 'wider');
  });

  it('overlapping request forms whose overlap cannot be a route of its own: unknown', () => {
    const written = write([allow('web', [
      rule('regex', { from: [{ identities: [sa('shop', 'a')] }], to: [{ paths: [{ kind: 'regex', value: '/a/[0-9]+' }] }] }),
      rule('prefix', { from: [{ identities: [sa('shop', 'b')] }], to: [{ paths: [{ kind: 'prefix', value: '/a/1' }] }] }),
      rule('exact', { from: [{ identities: [sa('shop', 'c')] }], to: [{ paths: [{ kind: 'exact', value: '/a/12' }] }] }),
    ])], contextOf());
    assert.deepEqual(written.notes.filter((n) => n.effect === 'unknown').map((n) => n.at.label), ['prefix']);
  });

  it('identities and networks Linkerd would refuse are left out: narrower', () => {
    const written = write([allow('web', [rule('odd', { from: [
      { identities: [sa('Shop_NS', 'web')] },
      { networks: [{ cidr: '10.0.0.0/8', except: ['192.168.0.0/16'] }] },
      { networks: [{ cidr: '10.0.0.0/16', except: ['10.0.0.0/8'] }] },
      { identities: [sa('shop', 'frontend')] },
    ] })])], contextOf());
    assert.deepEqual(written.notes.filter((n) => n.effect === 'narrower').length, 3, JSON.stringify(written.notes));
    assert.deepEqual(lintErrors(written.yaml), []);
    const verdicts = decideUnder('linkerd', written.yaml, contextOf(), [record({ who: id('frontend', 'shop'), expect: 'allow' }), record({ ip: '10.1.1.1', expect: 'deny' })]).map((d) => d.verdict);
    assert.deepEqual(verdicts, ['allow', 'deny']);
  });

  it('an identity of a service account in any namespace cannot be written: narrower', () => {
    const written = write([allow('web', [rule('any-ns', { from: [{ identities: [sa('*', 'frontend')] }] })])], contextOf());
    assert.ok(written.notes.some((n) => n.effect === 'narrower' && n.text.includes('any namespace')));
    const [d] = decideUnder('linkerd', written.yaml, contextOf(), [record({ who: id('frontend', 'shop'), expect: 'deny' })]);
    assert.equal(d!.verdict, 'deny');
  });
});

// ---------------------------------------------------------------------- round trip

describe('Linkerd round trip: read(write(model))', () => {
  it('gives back the protections of rules without request conditions', () => {
    const protections = [allow('web', [
      rule('a', { from: [{ identities: [sa('shop', 'frontend'), sa('ops', '*')], networks: [{ cidr: '10.0.0.0/8', except: ['10.1.0.0/16'] }] }] }),
      rule('b', { from: [{ identities: [ANY_IDENTITY] }] }),
      rule('c', { from: [] }),
    ])];
    const context = contextOf();
    const back = linkerdTranslator.read(resourcesOf(write(protections, context).yaml), context);
    assert.deepEqual(back.protections.map((p) => ({ target: p.target, ports: p.ports, rules: p.rules.map(shape) })), protections.map((p) => ({ target: p.target, ports: p.ports, rules: p.rules.map(shape) })));
    assert.deepEqual(back.notes, []);
  });

  it('decides as the model with request conditions (prefixes, exact paths, methods, headers)', () => {
    const context = contextOf();
    const c = WRITE_CASES[1]!;
    const first = write(c.protections, context);
    const back = linkerdTranslator.read(resourcesOf(first.yaml), context);
    assert.deepEqual(back.notes.filter((n) => n.effect !== 'narrower' || !n.text.includes('non-HTTP')), []);
    const again = linkerdTranslator.write(back, context);
    const decisions = decideUnder('linkerd', again.yaml, context, c.calls.map(record));
    assert.deepEqual(c.calls.map((call, i) => ({ ...call, expect: decisions[i]!.verdict })), c.calls);
    // the prefix comes back as a prefix (not as a regular expression)
    assert.ok(back.protections[0]!.rules.some((r) => r.to.some((t) => t.paths?.some((p) => p.kind === 'prefix' && p.value === '/api/'))));
  });
});



// ---------------------------------------------------------------------- source → model → Linkerd

/** Calls to shop/web:8080 from several identities and addresses, HTTP requests and plain connections. */
function grid(): Call[] {
  const who = [id('frontend', 'shop'), id('ops', 'shop'), id('checkout', 'shop'), id('cart', 'store'), id('x', 'batch'), id('x', 'other'), undefined];
  const ips = ['10.2.3.4', '10.1.0.5', '192.168.1.1'];
  const requests: Partial<Call>[] = [
    { path: '/api' }, { path: '/api/x' }, { method: 'POST', path: '/api/x' }, { path: '/apix' }, { path: '/api/admin' },
    { path: '/status', headers: { 'x-env': 'prod' } }, { path: '/status' }, { path: '/other' }, { tcp: true }, { path: '/ready' }, { method: 'POST', path: '/ready' },
  ];
  return who.flatMap((w) => ips.flatMap((ip) => requests.map((r) => ({ ...r, ...(w ? { who: w } : {}), ip, expect: 'allow' as const }))));
}

describe('Linkerd read then write decides as the source', () => {
  // the reader cases whose notes are all `same`, or whose notes concern what the grid does not reach
  const exact = ['AuthorizationPolicy on a Server: identities (exact, namespace suffix) AND networks with except', 'identityRefs, a ServiceAccount ref, `*`, and a Namespace-targeted policy', 'missing MeshTLSAuthentication: the policy grants nothing, the Server allows nothing', 'probe route of a Server without routes'];
  for (const c of READ_CASES.filter((r) => exact.includes(r.name))) {
    it(c.name, () => {
      const context = diskContext(c.inventory ?? '', c.configure);
      const model = linkerdTranslator.read(resourcesOf(c.yaml), context);
      assert.deepEqual(model.notes.filter((n) => n.effect !== 'same'), []);
      const written = linkerdTranslator.write(model, context);
      const calls = grid().map(record);
      const source = decideUnder('linkerd', c.yaml, context, calls).map((d) => d.verdict);
      const target = decideUnder('linkerd', written.yaml, context, calls).map((d) => d.verdict);
      assert.ok(source.includes('allow') || c.name.startsWith('missing'));
      assert.deepEqual(target, source);
    });
  }

  it('routes: server-level and route-level authorizations, once the query-parameter match is left out', () => {
    const c = READ_CASES.find((r) => r.name.startsWith('routes:'))!;
    const yaml = c.yaml.replace(/        - path: \{ type: Exact, value: \/debug \}\n          queryParams: .*\n/, '');
    const context = contextOf();
    const model = linkerdTranslator.read(resourcesOf(yaml), context);
    // the one loss left: plain connections, which the Server's own policy admits without a route
    assert.deepEqual(model.notes.map((n) => n.effect), ['narrower']);
    const written = linkerdTranslator.write(model, context);
    const calls = grid().filter((g) => !g.tcp).map(record);
    const source = decideUnder('linkerd', yaml, context, calls).map((d) => d.verdict);
    const target = decideUnder('linkerd', written.yaml, context, calls).map((d) => d.verdict);
    assert.deepEqual(target, source);
  });
});

// ---------------------------------------------------------------------- overlapping targets

/** A Deployment of namespace shop with these pod labels and one container port (and an HTTP readiness probe there, when `probe` is set). */
function deployment(name: string, labels: Record<string, string>, port = 8080, probe?: string): string {
  const readiness = probe ? `, readinessProbe: { httpGet: { path: ${probe}, port: ${port} } }` : '';
  return `---
apiVersion: apps/v1
kind: Deployment
metadata: { name: ${name}, namespace: shop }
spec:
  selector: { matchLabels: ${JSON.stringify(labels)} }
  template:
    metadata: { labels: ${JSON.stringify(labels)} }
    spec:
      containers: [{ name: ${name}, image: ${name}, ports: [{ containerPort: ${port} }]${readiness} }]
`;
}

/** An allow protection of shop's workloads with these labels on port 8080, admitting service account `caller` of shop. */
function servedTo(name: string, caller: string, labels: Record<string, string>): Protection {
  return allow(name, [rule(caller, { from: [{ identities: [sa('shop', caller)] }] })], { namespace: 'shop', labels }, [8080]);
}

interface OverlapCase extends WriteCase {
  /** The Servers written: name and pod selector (`{}`: the whole namespace). */
  servers: [string, Record<string, string>][];
  /** Phrases no note may contain. */
  absent?: string[];
  /** Write the inventory to disk (for its probes). */
  onDisk?: boolean;
}

/**
 * Linkerd applies one Server to a pod's port (mesh-semantics §2.3 step 1: the oldest, then the
 * first by name), while in the model every allow protection that applies to a call adds its rules
 * and one with no rules still makes the workload deny what no rule allows (model.ts header). The
 * verdicts are the model's.
 */
const OVERLAP_CASES: OverlapCase[] = [
  {
    name: 'a namespace-wide allow-nothing and an allow per app: one Server per workload, with the rules of every protection there',
    protections: [
      allow('allow-nothing', [], { namespace: 'shop' }, 'every'),
      servedTo('web', 'frontend', { app: 'web' }),
      allow('api', [rule('web on /v1/', { from: [{ identities: [sa('shop', 'web')] }], to: [{ paths: [{ kind: 'prefix', value: '/v1/' }] }] })], { namespace: 'shop', labels: { app: 'api' } }, 'every'),
    ],
    inventory: deployment('web', { app: 'web' }) + deployment('api', { app: 'api' }) + deployment('db', { app: 'db' }),
    servers: [['api-8080', { app: 'api' }], ['allow-nothing-db-8080', { app: 'db' }], ['web-8080', { app: 'web' }]],
    calls: [
      // web: allow-nothing adds no rule, web's rule admits frontend
      { labels: { app: 'web' }, who: id('frontend', 'shop'), expect: 'allow' },
      { labels: { app: 'web' }, who: id('frontend', 'shop'), tcp: true, expect: 'allow' },
      { labels: { app: 'web' }, who: id('other', 'shop'), expect: 'deny' },
      { labels: { app: 'web' }, expect: 'deny' },
      // api: its rule admits web on /v1/...
      { labels: { app: 'api' }, who: id('web', 'shop'), path: '/v1/items', expect: 'allow' },
      { labels: { app: 'api' }, who: id('web', 'shop'), path: '/admin', expect: 'deny' },
      { labels: { app: 'api' }, who: id('frontend', 'shop'), path: '/v1/items', expect: 'deny' },
      // db: allow-nothing alone
      { labels: { app: 'db' }, who: id('web', 'shop'), expect: 'deny' },
      { labels: { app: 'db' }, tcp: true, expect: 'deny' },
    ],
    notes: [['unknown', 'pods the inventory does not show get no Server there from this protection']],
    absent: ['only one Server'],
  },
  {
    name: 'two label selectors picking one workload: its Server has both protections\' rules; the other workload keeps its own',
    protections: [servedTo('by-app', 'a', { app: 'web' }), servedTo('by-tier', 'b', { tier: 'front' })],
    inventory: deployment('web', { app: 'web', tier: 'front' }) + deployment('ui', { app: 'ui', tier: 'front' }) + deployment('db', { app: 'db', tier: 'back' }),
    // web: the protections' own labels; ui: the fewest of its labels that leave web out
    servers: [['by-app-8080', { app: 'web', tier: 'front' }], ['by-tier-ui-8080', { app: 'ui' }]],
    calls: [
      { labels: { app: 'web', tier: 'front' }, who: id('a', 'shop'), expect: 'allow' },
      { labels: { app: 'web', tier: 'front' }, who: id('b', 'shop'), expect: 'allow' },
      { labels: { app: 'web', tier: 'front' }, who: id('c', 'shop'), expect: 'deny' },
      { labels: { app: 'ui', tier: 'front' }, who: id('b', 'shop'), expect: 'allow' },
      { labels: { app: 'ui', tier: 'front' }, who: id('a', 'shop'), expect: 'deny' },
      // no protection selects db: Linkerd's default (all-unauthenticated)
      { labels: { app: 'db', tier: 'back' }, who: id('c', 'shop'), expect: 'allow' },
    ],
    notes: [['unknown', 'pods the inventory does not show']],
    absent: ['only one Server'],
  },
  {
    name: 'targets the inventory shows apart keep one Server each, with their own selectors',
    protections: [servedTo('web', 'a', { app: 'web' }), servedTo('front', 'b', { tier: 'front' })],
    inventory: deployment('web', { app: 'web' }) + deployment('ui', { app: 'ui', tier: 'front' }),
    servers: [['web-8080', { app: 'web' }], ['front-8080', { tier: 'front' }]],
    calls: [
      { labels: { app: 'web' }, who: id('a', 'shop'), expect: 'allow' },
      { labels: { app: 'web' }, who: id('b', 'shop'), expect: 'deny' },
      { labels: { app: 'ui', tier: 'front' }, who: id('b', 'shop'), expect: 'allow' },
      { labels: { app: 'ui', tier: 'front' }, who: id('a', 'shop'), expect: 'deny' },
    ],
    absent: ['one Server per pod port'],
  },
  {
    name: 'no inventory: one Server per target, and a note that only one applies where they overlap',
    protections: [
      allow('allow-nothing', [], { namespace: 'shop' }, [8080]),
      servedTo('web', 'a', { app: 'web' }),
    ],
    servers: [['allow-nothing-8080', {}], ['web-8080', { app: 'web' }]],
    calls: [{ labels: { app: 'db' }, who: id('a', 'shop'), expect: 'deny' }],
    notes: [['narrower', 'only one Server (the older, then the first by name) applies']],
  },
  {
    name: 'no labels pick a workload without another that more protections apply to: its own labels, noted',
    protections: [servedTo('by-app', 'a', { app: 'web' }), servedTo('canary', 'b', { track: 'canary' })],
    inventory: deployment('web', { app: 'web' }) + deployment('web-canary', { app: 'web', track: 'canary' }),
    servers: [['by-app-web-8080', { app: 'web' }], ['canary-8080', { app: 'web', track: 'canary' }]],
    calls: [
      { labels: { app: 'web' }, who: id('a', 'shop'), expect: 'allow' },
      { labels: { app: 'web' }, who: id('b', 'shop'), expect: 'deny' },
    ],
    notes: [['narrower', 'no labels pick workload shop/web without others']],
  },
  {
    name: 'a workload without labels cannot be selected apart from the rest of the namespace: no Server for it, noted',
    protections: [
      allow('allow-nothing', [], { namespace: 'shop' }, [8080]),
      servedTo('web', 'a', { app: 'web' }),
    ],
    inventory: `${deployment('web', { app: 'web' })}---
apiVersion: v1
kind: Pod
metadata: { name: job, namespace: shop }
spec: { containers: [{ name: job, image: job }] }
`,
    servers: [['web-8080', { app: 'web' }]],
    calls: [
      { labels: { app: 'web' }, who: id('a', 'shop'), expect: 'allow' },
      { labels: { app: 'web' }, who: id('b', 'shop'), expect: 'deny' },
    ],
    notes: [['wider', 'workload shop/job has no labels']],
  },
  {
    name: 'a Server without routes keeps Linkerd\'s probe route: noted',
    protections: [servedTo('web', 'a', { app: 'web' })],
    inventory: deployment('web', { app: 'web' }, 8080, '/ready'),
    onDisk: true,
    servers: [['web-8080', { app: 'web' }]],
    calls: [
      { labels: { app: 'web' }, who: id('b', 'shop'), path: '/other', expect: 'deny' },
      // not the model's verdict (deny): the note says so
      { labels: { app: 'web' }, path: '/ready', expect: 'allow' },
    ],
    notes: [['wider', 'GET /ready on port 8080 of web']],
  },
];

describe('Linkerd writer: protections whose targets overlap', () => {
  for (const c of OVERLAP_CASES) {
    it(c.name, () => {
      const context = c.onDisk ? diskContext(c.inventory ?? '') : contextOf(c.inventory ?? '');
      const written = write(c.protections, context);
      assert.deepEqual(lintErrors(written.yaml), [], written.yaml);
      const servers = resourcesOf(written.yaml).filter((r) => r.resource.kind === 'Server').map((r) => {
        const spec = resourceValue(r.resource)['spec'] as { podSelector?: { matchLabels?: Record<string, string> } };
        return [r.resource.name, spec.podSelector?.matchLabels ?? {}];
      });
      assert.deepEqual(servers, c.servers, written.yaml);
      const decisions = decideUnder('linkerd', written.yaml, context, c.calls.map(record));
      const got = c.calls.map((call, i) => ({ ...call, expect: decisions[i]!.verdict }));
      assert.deepEqual(got, c.calls, written.yaml);
      for (const [effect, phrase] of c.notes ?? []) assert.ok(written.notes.some((n) => n.effect === effect && n.text.includes(phrase)), JSON.stringify(written.notes));
      for (const phrase of c.absent ?? []) assert.ok(!written.notes.some((n) => n.text.includes(phrase)), JSON.stringify(written.notes));
      assert.equal(write(c.protections, context).yaml, written.yaml);
    });
  }
});

// ---------------------------------------------------------------------- seeded models

/** The model's semantics (model.ts header) for one HTTP call or connection to shop/web:8080, Linkerd's default (allow) where no protection applies. */
function modelDecides(protections: Protection[], c: Call): 'allow' | 'deny' {
  const principal = c.who?.split('.');
  const caller = principal ? { namespace: principal[1]!, serviceAccount: principal[0]! } : undefined;
  const callersMatch = (x: AccessRule['from'][number]): boolean =>
    (!x.identities || (!!caller && x.identities.some((i) => (i.namespace === '*' || i.namespace === caller.namespace) && (i.serviceAccount === '*' || i.serviceAccount === caller.serviceAccount))))
    && (!x.networks || x.networks.some((n) => n.cidr === '0.0.0.0/0'));
  const pathMatch = (p: NonNullable<AccessRule['to'][number]['paths']>[number], path: string): boolean =>
    p.kind === 'exact' ? p.value === path : p.kind === 'prefix' ? path.startsWith(p.value) : new RegExp(`^(?:${p.value})$`).test(path);
  const requestsMatch = (t: AccessRule['to'][number]): boolean =>
    (!t.ports || t.ports.includes(c.port ?? 8080))
    && (!t.methods || (!c.tcp && t.methods.includes(c.method ?? 'GET')))
    && (!t.paths || (!c.tcp && t.paths.some((p) => pathMatch(p, c.path ?? '/'))));
  const headersHold = (r: AccessRule): boolean => r.headers.every((h) => !c.tcp && c.headers?.[h.name] !== undefined && (h.values.length === 0 || h.values.includes(c.headers[h.name]!)));
  const matches = (r: AccessRule): boolean => (r.from.length === 0 || r.from.some(callersMatch)) && (r.to.length === 0 || r.to.some(requestsMatch)) && headersHold(r);
  const applying = protections.filter((p) => !p.ports || p.ports.includes(c.port ?? 8080));
  if (applying.some((p) => p.action === 'deny' && p.rules.some(matches))) return 'deny';
  const allows = applying.filter((p) => p.action === 'allow');
  if (!allows.length) return 'allow';
  return allows.some((p) => p.rules.some(matches)) ? 'allow' : 'deny';
}

describe('Linkerd writer on seeded models: Linkerd decides as the model', () => {
  const callers = [[{ identities: [sa('shop', 'a')] }], [{ identities: [sa('shop', 'b')] }], [{ identities: [sa('shop', '*')] }], [], [{ identities: [ANY_IDENTITY] }]];
  const paths = [{ kind: 'exact', value: '/x' }, { kind: 'exact', value: '/x/y' }, { kind: 'prefix', value: '/x/' }, { kind: 'prefix', value: '/x' }, { kind: 'prefix', value: '/' }, { kind: 'regex', value: '/x/[a-z]+' }] as const;
  const methods = [['GET'], ['POST'], ['GET', 'DELETE']];
  const headers = [[{ name: 'x-h', values: ['1'] }], [{ name: 'x-h', values: [] }], [{ name: 'x-h', values: ['1', '2'] }], [{ name: 'x-k', values: ['1'] }]];
  const calls: Call[] = [];
  for (const who of [id('a', 'shop'), id('b', 'shop'), id('c', 'other'), undefined]) {
    for (const path of ['/', '/x', '/x/', '/x/y', '/x/z', '/xy', '/x/y/z', '/x/7']) {
      for (const method of ['GET', 'POST', 'DELETE']) {
        for (const h of [{}, { 'x-h': '1' }, { 'x-h': '2', 'x-k': '1' }] as Record<string, string>[]) calls.push({ ...(who ? { who } : {}), path, method, headers: h, expect: 'allow' });
      }
    }
    calls.push({ ...(who ? { who } : {}), tcp: true, expect: 'allow' });
  }
  let compared = 0;
  for (let seed = 1; seed <= 40; seed++) {
    it(`seed ${seed}`, () => {
      const prng = new Prng(seed);
      const rules = Array.from({ length: prng.between(1, 4) }, (_, i) => rule(`rule ${i}`, {
        from: prng.pick(callers),
        to: prng.chance(0.25) ? [] : Array.from({ length: prng.between(1, 2) }, () => ({
          ...(prng.chance(0.5) ? { methods: prng.pick(methods) } : {}),
          ...(prng.chance(0.8) ? { paths: [prng.pick(paths)] } : {}),
        })),
        headers: prng.chance(0.3) ? prng.pick(headers) : [],
      }));
      const protections = [allow('web', rules)];
      const context = contextOf();
      const written = write(protections, context);
      assert.deepEqual(lintErrors(written.yaml), [], written.yaml);
      // regular expressions overlapping prefixes are noted `unknown`: such models are not compared
      if (written.notes.some((n) => n.effect === 'unknown')) return;
      compared++;
      assert.deepEqual(written.notes, []);
      const decisions = decideUnder('linkerd', written.yaml, context, calls.map(record));
      const got = calls.map((c, i) => `${c.who ?? 'plaintext'} ${c.tcp ? 'tcp' : `${c.method} ${c.path} ${JSON.stringify(c.headers)}`}: ${decisions[i]!.verdict}`);
      const expected = calls.map((c) => `${c.who ?? 'plaintext'} ${c.tcp ? 'tcp' : `${c.method} ${c.path} ${JSON.stringify(c.headers)}`}: ${modelDecides(protections, c)}`);
      assert.deepEqual(got, expected, `${JSON.stringify(rules.map(shape))}\n${written.yaml}`);
    });
  }
  it('compares most seeds (few are left out for an unknown overlap)', () => assert.ok(compared >= 30, `${compared} of 40`));
});

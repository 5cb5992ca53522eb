import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Engine } from '../../../server/src/engine/engine';
import type { SourceRef } from '../../../server/src/engine/simulate/types';
import type { AccessRecord } from '../../../server/src/engine/traffic/accessRecord';
import { istioTranslator } from '../../../server/src/engine/translate/istio';
import { istioPath, pathMatchOf } from '../../../server/src/engine/translate/istio/paths';
import { ANY_IDENTITY, type AccessModel, type AccessRule, type HeaderTest, type PathMatch, type Protection, type RequestException, type Requests, type TranslationContext, type TranslationNote } from '../../../server/src/engine/translate/model';
import { Prng } from '../../fuzz/prng';
import { contextOf, decideUnder, resourcesOf } from './harness';

/**
 * Istio ↔ the access model. Expected values come from Istio's documented semantics, as restated
 * in /work/shared/spec/mesh-semantics.md §1 (cited per case as "spec §…"), which our Istio
 * simulator implements: the writer's output is decided by that simulator.
 */

const engine = new Engine();

type Shape = Omit<Protection, 'origin' | 'rules'> & { rules: Omit<AccessRule, 'origin'>[] };
const shape = (m: AccessModel): Shape[] => m.protections.map(({ origin: _o, rules, probes: _probes, ...p }) => ({ ...p, rules: rules.map(({ origin: _r, ...r }) => r) }));
const noteShape = (notes: readonly TranslationNote[]) => notes.map((n) => `${n.effect} ${n.at.label}`);

const AP = (name: string, namespace: string, spec: string, extra = '') => `apiVersion: security.istio.io/v1
kind: AuthorizationPolicy
metadata:
  name: ${name}
  namespace: ${namespace}${extra}
spec:
${spec}`;

const any = { from: [], to: [], headers: [] };

interface ReadCase {
  name: string;
  yaml: string;
  inventory?: string;
  configure?: Parameters<typeof contextOf>[1];
  protections: Shape[];
  /** `effect label` of each note, in order. */
  notes: string[];
}

const SERVICE_TCP = `apiVersion: apps/v1
kind: Deployment
metadata: {name: db, namespace: shop}
spec:
  template:
    metadata: {labels: {app: db}}
    spec:
      containers: [{name: db, ports: [{containerPort: 9000}]}]
---
apiVersion: v1
kind: Service
metadata: {name: db, namespace: shop}
spec:
  selector: {app: db}
  ports: [{name: tcp-db, port: 9000}]
`;
const SERVICE_HTTP = SERVICE_TCP.replace('tcp-db', 'http-db');
const DENY_ADMIN = AP('deny-admin', 'shop', `  selector: {matchLabels: {app: db}}
  action: DENY
  rules: [{to: [{operation: {paths: ["/admin"], ports: ["9000"]}}]}]`);
const DENY_ADMIN_MODEL: Shape[] = [{ name: 'deny-admin', action: 'deny', target: { namespace: 'shop', labels: { app: 'db' } }, rules: [{ from: [], to: [{ paths: [{ kind: 'exact', value: '/admin' }], ports: [9000] }], headers: [] }] }];

const READ_CASES: ReadCase[] = [
  {
    // spec §1.4, §1.4.1, §1.4.2: principals exact; ports, methods, paths; selector → the labelled workloads
    name: 'ALLOW with principals, ports, methods and paths',
    yaml: AP('allow-web', 'shop', `  selector: {matchLabels: {app: api}}
  action: ALLOW
  rules:
  - from: [{source: {principals: ["cluster.local/ns/web/sa/frontend"]}}]
    to: [{operation: {ports: ["8080"], methods: ["GET", "POST"], paths: ["/api/v1"]}}]`),
    protections: [{ name: 'allow-web', action: 'allow', target: { namespace: 'shop', labels: { app: 'api' } }, rules: [{ from: [{ identities: [{ namespace: 'web', serviceAccount: 'frontend' }] }], to: [{ ports: [8080], methods: ['GET', 'POST'], paths: [{ kind: 'exact', value: '/api/v1' }] }], headers: [] }] }],
    notes: [],
  },
  {
    // spec §1.3: action defaults to ALLOW; no selector: every workload of the namespace; `spec: {}` allows nothing
    name: 'default action, no selector, no rules (allow-nothing)',
    yaml: AP('deny-all', 'shop', '  {}'),
    protections: [{ name: 'deny-all', action: 'allow', target: { namespace: 'shop' }, rules: [] }],
    notes: [],
  },
  {
    // spec §1.2: a policy in the root namespace applies mesh-wide; `rules: [{}]` matches everything
    name: 'root namespace (configured) → every namespace',
    yaml: AP('allow-all', 'mesh-root', '  rules: [{}]'),
    configure: (c) => { c.istio.rootNamespace = 'mesh-root'; },
    protections: [{ name: 'allow-all', action: 'allow', target: { namespace: '*' }, rules: [any] }],
    notes: [],
  },
  {
    // spec §1.9.2 D1: a DENY without rules is meaningless (matches nothing)
    name: 'DENY without rules: no protection',
    yaml: AP('nothing', 'shop', '  action: DENY'),
    protections: [],
    notes: ['same AuthorizationPolicy shop/nothing'],
  },
  {
    // spec §1.3: AUDIT changes no verdict; CUSTOM asks an external authorizer; dry-run enforces nothing
    name: 'AUDIT, CUSTOM and dry-run policies are not translated',
    yaml: [
      AP('audit', 'shop', '  action: AUDIT\n  rules: [{}]'),
      AP('ext', 'shop', '  action: CUSTOM\n  provider: {name: opa}\n  rules: [{to: [{operation: {paths: ["/admin"]}}]}]'),
      AP('try', 'shop', '  action: DENY\n  rules: [{}]', '\n  annotations: {"istio.io/dry-run": "true"}'),
    ].join('\n---\n'),
    protections: [],
    notes: ['same AuthorizationPolicy shop/audit', 'wider AuthorizationPolicy shop/ext', 'same AuthorizationPolicy shop/try'],
  },
  {
    // spec §1.2 (3): targetRefs attach to gateways and waypoints only
    name: 'targetRefs: not translated',
    yaml: AP('waypoint', 'shop', '  targetRefs: [{kind: Service, group: "", name: api}]\n  rules: [{from: [{source: {namespaces: ["web"]}}]}]'),
    protections: [],
    notes: ['wider AuthorizationPolicy shop/waypoint targetRefs'],
  },
  {
    // spec §1.4.1, §1.5.2: `*` any identity; a 5-part prefix and a suffix that are exactly a namespace or a
    // service account; namespaces; serviceAccounts `ns/sa` and `sa` (the policy's namespace)
    name: 'principal forms, namespaces and serviceAccounts',
    yaml: AP('ids', 'shop', `  rules:
  - from:
    - source: {principals: ["*"]}
    - source: {principals: ["cluster.local/ns/web/sa/*", "*/sa/robot", "*/ns/ops/sa/cron"]}
    - source: {namespaces: ["web", "*"]}
    - source: {serviceAccounts: ["ops/cron", "local"]}`),
    protections: [{ name: 'ids', action: 'allow', target: { namespace: 'shop' }, rules: [{ from: [
      { identities: [ANY_IDENTITY] },
      { identities: [{ namespace: 'web', serviceAccount: '*' }, { namespace: '*', serviceAccount: 'robot' }, { namespace: 'ops', serviceAccount: 'cron' }] },
      { identities: [{ namespace: 'web', serviceAccount: '*' }, ANY_IDENTITY] },
      { identities: [{ namespace: 'ops', serviceAccount: 'cron' }, { namespace: 'shop', serviceAccount: 'local' }] },
    ], to: [], headers: [] }] }],
    notes: [],
  },
  {
    // spec §1.5.2: cluster.local and the aliases are rewritten to every trust domain of the bundle; another trust
    // domain is kept as written (a caller outside the mesh's identities); istiod adds spiffe:// itself
    name: 'trust domains: aliases carried, foreign ones left out',
    yaml: AP('td', 'shop', `  rules:
  - from:
    - source: {principals: ["old.org/ns/a/sa/b", "cluster.local/ns/c/sa/d"]}
    - source: {principals: ["other.org/ns/a/sa/b"]}
    - source: {principals: ["spiffe://acme.org/ns/a/sa/b"]}`),
    configure: (c) => { c.istio.trustDomain = 'acme.org'; c.istio.trustDomainAliases = ['old.org']; },
    protections: [{ name: 'td', action: 'allow', target: { namespace: 'shop' }, rules: [{ from: [{ identities: [{ namespace: 'a', serviceAccount: 'b' }, { namespace: 'c', serviceAccount: 'd' }] }], to: [], headers: [] }] }],
    notes: ['narrower AuthorizationPolicy shop/td rules[0].from[1].source.principals', 'same AuthorizationPolicy shop/td rules[0].from[2].source.principals'],
  },
  {
    // spec §1.4: fields of one source are AND-ed: principals ∧ namespaces is their intersection
    name: 'principals AND namespaces in one source',
    yaml: AP('and', 'shop', `  rules:
  - from:
    - source: {principals: ["cluster.local/ns/web/sa/a", "cluster.local/ns/ops/sa/b"], namespaces: ["web"]}
    - source: {principals: ["cluster.local/ns/ops/sa/b"], namespaces: ["web"]}`),
    protections: [{ name: 'and', action: 'allow', target: { namespace: 'shop' }, rules: [{ from: [{ identities: [{ namespace: 'web', serviceAccount: 'a' }] }], to: [], headers: [] }] }],
    notes: [],
  },
  {
    // spec §1.4.1: negative and request-identity fields have no place in the model: ALLOW narrows, DENY widens
    name: 'uncarried source fields: the source is left out (ALLOW: narrower; DENY: wider)',
    yaml: [
      AP('a', 'shop', `  rules:
  - from:
    - source: {namespaces: ["web"]}
    - source: {notPrincipals: ["cluster.local/ns/x/sa/y"]}`),
      AP('d', 'shop', `  action: DENY
  rules:
  - from: [{source: {requestPrincipals: ["*"], namespaces: ["web"]}}]
  - from: [{source: {remoteIpBlocks: ["1.2.3.4"]}}]
    to: [{operation: {ports: ["22"]}}]`),
    ].join('\n---\n'),
    protections: [
      { name: 'a', action: 'allow', target: { namespace: 'shop' }, rules: [{ from: [{ identities: [{ namespace: 'web', serviceAccount: '*' }] }], to: [], headers: [] }] },
      { name: 'd', action: 'deny', target: { namespace: 'shop' }, rules: [] },
    ],
    notes: [
      'narrower AuthorizationPolicy shop/a rules[0].from[1].source.notPrincipals',
      'wider AuthorizationPolicy shop/d rules[0].from[0].source.requestPrincipals', 'wider rules[0]',
      'wider AuthorizationPolicy shop/d rules[1].from[0].source.remoteIpBlocks', 'wider rules[1]',
    ],
  },
  {
    // spec §1.4.1: ipBlocks AND NOT notIpBlocks, on the direct peer address
    name: 'ipBlocks and notIpBlocks → networks with exceptions',
    yaml: AP('net', 'shop', `  rules:
  - from:
    - source: {ipBlocks: ["10.0.0.0/8", "192.168.1.0/24"], notIpBlocks: ["10.1.0.0/16", "192.168.0.0/16"]}
    - source: {notIpBlocks: ["10.0.0.1"]}`),
    protections: [{ name: 'net', action: 'allow', target: { namespace: 'shop' }, rules: [{ from: [
      { networks: [{ cidr: '10.0.0.0/8', except: ['10.1.0.0/16'] }] },
      { networks: [{ cidr: '0.0.0.0/0', except: ['10.0.0.1'] }, { cidr: '::/0', except: [] }] },
    ], to: [], headers: [] }] }],
    notes: [],
  },
  {
    // spec §1.5.1, §1.6: `*` any; `prefix*`; `*suffix`; templates; `methods: ["*"]` any method
    name: 'path and method forms',
    yaml: AP('paths', 'shop', `  rules:
  - to:
    - operation: {methods: ["*"], paths: ["/api/*", "*.png", "/v1/{*}/x", "/exact"]}
    - operation: {paths: ["*"], ports: ["80"]}`),
    protections: [{ name: 'paths', action: 'allow', target: { namespace: 'shop' }, rules: [{ from: [], to: [
      { paths: [{ kind: 'prefix', value: '/api/' }, { kind: 'regex', value: '.*\\.png' }, { kind: 'regex', value: "/v1/[a-zA-Z0-9\\-._~%!$&'()+,;:@=]+/x" }, { kind: 'exact', value: '/exact' }] },
      { ports: [80] },
    ], headers: [] }] }],
    // `*` as a method or path requires HTTP in Istio, not in the model: on unknown ports that is noted
    notes: ['unknown rules[0]'],
  },
  {
    // spec §1.4.2, §1.6: the proxy rejects non-upper-case methods (400): such values never match
    name: 'lower-case methods never match',
    yaml: AP('lower', 'shop', `  rules:
  - to: [{operation: {methods: ["get", "GET"]}}]
  - to: [{operation: {methods: ["post"]}}]`),
    protections: [{ name: 'lower', action: 'allow', target: { namespace: 'shop' }, rules: [{ from: [], to: [{ methods: ['GET'] }], headers: [] }] }],
    notes: ['same AuthorizationPolicy shop/lower rules[0].to[0].operation.methods', 'same AuthorizationPolicy shop/lower rules[1].to[0].operation.methods', 'same rules[1]'],
  },
  {
    // spec §1.4.2: hosts and negative operation fields are left out with their operation
    name: 'uncarried operation fields',
    yaml: AP('ops', 'shop', `  rules:
  - to:
    - operation: {hosts: ["api.example.com"]}
    - operation: {notPaths: ["/admin"]}`),
    protections: [{ name: 'ops', action: 'allow', target: { namespace: 'shop' }, rules: [] }],
    notes: ['narrower AuthorizationPolicy shop/ops rules[0].to[0].operation.hosts', 'narrower AuthorizationPolicy shop/ops rules[0].to[1].operation.notPaths', 'narrower rules[0]'],
  },
  {
    // spec §1.4.3: request.headers (name case-insensitive, `*` presence), source.namespace, destination.port
    name: 'when conditions carried',
    yaml: AP('when', 'shop', `  rules:
  - from: [{source: {principals: ["cluster.local/ns/web/sa/a", "cluster.local/ns/ops/sa/b"]}}]
    to: [{operation: {ports: ["80", "81"]}}]
    when:
    - {key: "request.headers[X-Env]", values: ["prod"]}
    - {key: "request.headers[x-token]", values: ["*"]}
    - {key: source.namespace, values: ["web"]}
    - {key: destination.port, values: ["81", "82"]}
    - {key: source.ip, values: ["10.0.0.0/8"]}`),
    protections: [{ name: 'when', action: 'allow', target: { namespace: 'shop' }, rules: [{
      from: [{ identities: [{ namespace: 'web', serviceAccount: 'a' }], networks: [{ cidr: '10.0.0.0/8', except: [] }] }],
      to: [{ ports: [81] }],
      headers: [{ name: 'x-env', values: ['prod'] }, { name: 'x-token', values: [] }],
    }] }],
    // headers make the rule HTTP-only in both: no difference on TCP
    notes: [],
  },
  {
    // spec §1.4.3: JWT claims, notValues and value patterns have no place in the model: the whole rule goes
    name: 'when conditions not carried: the rule is left out',
    yaml: AP('jwt', 'shop', `  action: DENY
  rules:
  - when: [{key: "request.auth.claims[group]", values: ["admin"]}]
  - when: [{key: "request.headers[x-env]", notValues: ["prod"]}]
  - when: [{key: "request.headers[x-env]", values: ["dev*"]}]`),
    protections: [{ name: 'jwt', action: 'deny', target: { namespace: 'shop' }, rules: [] }],
    notes: ['wider AuthorizationPolicy shop/jwt rules[0].when[0].key', 'wider AuthorizationPolicy shop/jwt rules[1].when[0].notValues', 'wider AuthorizationPolicy shop/jwt rules[2].when[0].values'],
  },
  {
    // spec §1.7: a DENY rule's HTTP-only attributes are dropped on TCP (it denies the whole TCP port there)
    name: 'DENY with paths on a TCP port (inventory): wider',
    yaml: DENY_ADMIN,
    inventory: SERVICE_TCP,
    protections: DENY_ADMIN_MODEL,
    notes: ['wider rules[0]'],
  },
  {
    name: 'DENY with paths on an HTTP port (inventory): exact',
    yaml: DENY_ADMIN,
    inventory: SERVICE_HTTP,
    protections: DENY_ADMIN_MODEL,
    notes: [],
  },
  {
    // spec §1.7: an ALLOW rule with an HTTP-only attribute is dropped whole on TCP, ports-only operations included
    name: 'ALLOW mixing a ports-only operation with an HTTP one, TCP port: wider',
    yaml: AP('mixed', 'shop', `  selector: {matchLabels: {app: db}}
  rules: [{to: [{operation: {ports: ["9000"]}}, {operation: {methods: ["GET"]}}]}]`),
    inventory: SERVICE_TCP,
    protections: [{ name: 'mixed', action: 'allow', target: { namespace: 'shop', labels: { app: 'db' } }, rules: [{ from: [], to: [{ ports: [9000] }, { methods: ['GET'] }], headers: [] }] }],
    notes: ['wider rules[0]'],
  },
  {
    // an ALLOW rule whose every operation has methods or paths matches HTTP only in both: no note
    name: 'ALLOW with HTTP-only operations: exact on any port',
    yaml: AP('http', 'shop', '  rules: [{to: [{operation: {methods: ["GET"], ports: ["9000"]}}]}]'),
    protections: [{ name: 'http', action: 'allow', target: { namespace: 'shop' }, rules: [{ from: [], to: [{ methods: ['GET'], ports: [9000] }], headers: [] }] }],
    notes: [],
  },
  {
    // spec §1.8: STRICT mTLS rejects plaintext before authorization; invalid tokens are rejected (401)
    name: 'PeerAuthentication and RequestAuthentication are noted',
    yaml: `apiVersion: security.istio.io/v1
kind: PeerAuthentication
metadata: {name: strict, namespace: shop}
spec: {mtls: {mode: STRICT}}
---
apiVersion: security.istio.io/v1
kind: RequestAuthentication
metadata: {name: jwt, namespace: shop}
spec: {jwtRules: [{issuer: "https://issuer"}]}`,
    protections: [],
    notes: ['wider PeerAuthentication shop/strict', 'wider RequestAuthentication shop/jwt'],
  },
  {
    // spec §1.7 (ambient): ztunnel enforces L4 only; the reader reads the policy as a sidecar enforces it
    name: 'ambient workloads: noted',
    yaml: AP('l7', 'shop', '  rules: [{to: [{operation: {methods: ["GET"]}}]}]'),
    inventory: `apiVersion: v1
kind: Namespace
metadata: {name: shop, labels: {istio.io/dataplane-mode: ambient}}
---
${SERVICE_HTTP}`,
    protections: [{ name: 'l7', action: 'allow', target: { namespace: 'shop' }, rules: [{ from: [], to: [{ methods: ['GET'] }], headers: [] }] }],
    notes: ['unknown AuthorizationPolicy shop/l7'],
  },
  {
    // Istio ambient docs ("Use a waypoint"; spec §1.7): behind a waypoint the workload's ztunnel
    // sees the waypoint's identity, the service account istiod gives the waypoint's Gateway name;
    // the other meshes have no waypoint, so the callers keep their own identities
    name: 'a rule that admits a waypoint\'s identity: allows less, noted',
    yaml: AP('waypoint-only', 'shop', '  selector: {matchLabels: {app: db}}\n  rules: [{from: [{source: {principals: ["cluster.local/ns/shop/sa/waypoint"]}}]}]'),
    inventory: `apiVersion: gateway.networking.k8s.io/v1
kind: Gateway
metadata: {name: waypoint, namespace: shop, labels: {istio.io/waypoint-for: service}}
spec:
  gatewayClassName: istio-waypoint
  listeners: [{name: mesh, port: 15008, protocol: HBONE}]
---
${SERVICE_TCP}`,
    protections: [{ name: 'waypoint-only', action: 'allow', target: { namespace: 'shop', labels: { app: 'db' } }, rules: [{ from: [{ identities: [{ namespace: 'shop', serviceAccount: 'waypoint' }] }], to: [], headers: [] }] }],
    notes: ['narrower rules[0]'],
  },
  {
    // the same name on a Gateway of another class is an ordinary service account
    name: 'a service account named like a gateway that is not a waypoint: no note',
    yaml: AP('gw-only', 'shop', '  selector: {matchLabels: {app: db}}\n  rules: [{from: [{source: {principals: ["cluster.local/ns/shop/sa/waypoint"]}}]}]'),
    inventory: `apiVersion: gateway.networking.k8s.io/v1
kind: Gateway
metadata: {name: waypoint, namespace: shop}
spec:
  gatewayClassName: istio
  listeners: [{name: http, port: 80, protocol: HTTP}]
---
${SERVICE_TCP}`,
    protections: [{ name: 'gw-only', action: 'allow', target: { namespace: 'shop', labels: { app: 'db' } }, rules: [{ from: [{ identities: [{ namespace: 'shop', serviceAccount: 'waypoint' }] }], to: [], headers: [] }] }],
    notes: [],
  },
  {
    // v1beta1 carries the same schema (spec §1.1)
    name: 'security.istio.io/v1beta1',
    yaml: AP('beta', 'shop', '  action: DENY\n  rules: [{from: [{source: {namespaces: ["evil"]}}]}]').replace('security.istio.io/v1', 'security.istio.io/v1beta1'),
    protections: [{ name: 'beta', action: 'deny', target: { namespace: 'shop' }, rules: [{ from: [{ identities: [{ namespace: 'evil', serviceAccount: '*' }] }], to: [], headers: [] }] }],
    notes: [],
  },
];

describe('Istio reader', () => {
  for (const c of READ_CASES) {
    it(c.name, () => {
      const model = istioTranslator.read(resourcesOf(c.yaml), contextOf(c.inventory, c.configure));
      assert.deepEqual(shape(model), c.protections);
      assert.deepEqual(noteShape(model.notes), c.notes);
    });
  }

  it('notes point at the field in the source', () => {
    const yaml = AP('a', 'shop', '  rules:\n  - from:\n    - source: {notNamespaces: ["x"]}');
    const [note] = istioTranslator.read(resourcesOf(yaml), contextOf()).notes;
    assert.equal(note!.at.file, '/ws/policies.yaml');
    assert.deepEqual(note!.at.range.start, { line: 8, character: 15 });
  });
});

// --- writer ---------------------------------------------------------------------------------

const at = (label: string, line = 0): SourceRef => ({ file: '/src/linkerd.yaml', range: { start: { line, character: 0 }, end: { line, character: 1 } }, label });
const rule = (r: Partial<AccessRule>, label = 'rule'): AccessRule => ({ origin: at(label), from: [], to: [], headers: [], ...r });
const protection = (p: Partial<Protection> & Pick<Protection, 'name' | 'action'>): Protection => ({ origin: at(`Server ${p.name}`), target: { namespace: 'shop', labels: { app: 'api' } }, rules: [], ...p });
const model = (...protections: Protection[]): AccessModel => ({ mesh: 'linkerd', protections, notes: [] });

const API = { namespace: 'shop', labels: { app: 'api' } };
interface Call { name: string; record: AccessRecord; verdict: 'allow' | 'deny' }
const call = (name: string, verdict: 'allow' | 'deny', opts: { from?: string | null; ip?: string; port?: number; method?: string; path?: string; headers?: Record<string, string>; dest?: { namespace: string; labels: Record<string, string> } }): Call => {
  const http = opts.method !== undefined;
  return {
    name, verdict, record: {
      protocol: http ? 'http' : 'tcp',
      source: { principal: opts.from === undefined ? null : opts.from, ...(opts.ip ? { ip: opts.ip } : {}) },
      destination: { ...(opts.dest ?? API), port: opts.port ?? 8080 },
      ...(http ? { request: { method: opts.method!, path: opts.path ?? '/', ...(opts.headers ? { headers: opts.headers } : {}) } } : {}),
    },
  };
};
const WEB = 'cluster.local/ns/web/sa/frontend';
const OPS = 'cluster.local/ns/ops/sa/cron';

interface WriteCase {
  name: string;
  model: AccessModel;
  calls: Call[];
  /** `effect label` of the writer's notes. */
  notes?: string[];
  /** read(write(model)) gives the model back. */
  roundTrip?: boolean;
  context?: TranslationContext;
}

const WRITE_CASES: WriteCase[] = [
  {
    name: 'allow: identities, ports, methods, prefix path',
    model: model(protection({ name: 'api', action: 'allow', rules: [rule({ from: [{ identities: [{ namespace: 'web', serviceAccount: 'frontend' }] }], to: [{ ports: [8080], methods: ['GET'], paths: [{ kind: 'prefix', value: '/api/' }] }] })] })),
    calls: [
      call('matching GET', 'allow', { from: WEB, method: 'GET', path: '/api/items' }),
      call('POST', 'deny', { from: WEB, method: 'POST', path: '/api/items' }),
      call('other path', 'deny', { from: WEB, method: 'GET', path: '/admin' }),
      call('other caller', 'deny', { from: OPS, method: 'GET', path: '/api/items' }),
      call('plaintext', 'deny', { from: null, method: 'GET', path: '/api/items' }),
      call('TCP', 'deny', { from: WEB }),
      call('another workload (no protection)', 'allow', { from: OPS, method: 'GET', dest: { namespace: 'shop', labels: { app: 'other' } } }),
    ],
    roundTrip: true,
  },
  {
    name: 'allow: every identity form and networks with different exceptions in one Callers',
    model: model(protection({ name: 'ids', action: 'allow', rules: [rule({ from: [{
      identities: [{ namespace: 'web', serviceAccount: 'frontend' }, { namespace: 'ops', serviceAccount: '*' }, { namespace: '*', serviceAccount: 'robot' }],
      networks: [{ cidr: '10.0.0.0/8', except: ['10.9.0.0/16'] }, { cidr: '192.168.0.0/16', except: [] }],
    }] })] })),
    calls: [
      call('exact identity, allowed network', 'allow', { from: WEB, ip: '10.1.2.3' }),
      call('exact identity, excepted address', 'deny', { from: WEB, ip: '10.9.0.1' }),
      call('namespace identity, second network', 'allow', { from: 'cluster.local/ns/ops/sa/any', ip: '192.168.3.4' }),
      call('service account in any namespace', 'allow', { from: 'cluster.local/ns/x/sa/robot', ip: '10.1.1.1' }),
      call('other identity', 'deny', { from: 'cluster.local/ns/x/sa/y', ip: '10.1.1.1' }),
      call('outside the networks', 'deny', { from: WEB, ip: '172.16.0.1' }),
    ],
  },
  {
    name: 'allow: any identity, and no rules (allow-nothing)',
    model: model(
      protection({ name: 'any-id', action: 'allow', rules: [rule({ from: [{ identities: [ANY_IDENTITY] }] })] }),
      protection({ name: 'nothing', action: 'allow', target: { namespace: 'locked' }, rules: [] }),
    ),
    calls: [
      call('an identity', 'allow', { from: OPS }),
      call('plaintext', 'deny', { from: null }),
      call('locked namespace', 'deny', { from: OPS, dest: { namespace: 'locked', labels: { app: 'x' } } }),
    ],
    roundTrip: true,
  },
  {
    name: 'deny: headers and paths, no allow protection',
    model: model(protection({ name: 'no-admin', action: 'deny', rules: [rule({ to: [{ paths: [{ kind: 'exact', value: '/admin' }] }], headers: [{ name: 'x-env', values: ['dev', 'test'] }, { name: 'x-debug', values: [] }] })] })),
    calls: [
      call('all conditions', 'deny', { from: WEB, method: 'GET', path: '/admin', headers: { 'x-env': 'dev', 'x-debug': '1' } }),
      call('header missing', 'allow', { from: WEB, method: 'GET', path: '/admin', headers: { 'x-env': 'dev' } }),
      call('other value', 'allow', { from: WEB, method: 'GET', path: '/admin', headers: { 'x-env': 'prod', 'x-debug': '1' } }),
      call('other path', 'allow', { from: WEB, method: 'GET', path: '/', headers: { 'x-env': 'dev', 'x-debug': '1' } }),
    ],
    // on TCP ports Istio ignores the DENY rule's HTTP attributes
    notes: ['unknown rule'],
    roundTrip: true,
  },
  {
    name: 'allow on some ports only: the other ports stay allowed',
    model: model(protection({ name: 'server-8080', action: 'allow', ports: [8080], rules: [rule({ from: [{ identities: [{ namespace: 'web', serviceAccount: 'frontend' }] }] })] })),
    calls: [
      call('identity on the port', 'allow', { from: WEB, port: 8080 }),
      call('other identity on the port', 'deny', { from: OPS, port: 8080 }),
      call('other identity, HTTP on the port', 'deny', { from: OPS, port: 8080, method: 'GET' }),
      call('other port, TCP', 'allow', { from: OPS, port: 9090 }),
      call('other port, HTTP', 'allow', { from: null, port: 9090, method: 'GET' }),
    ],
  },
  {
    name: 'two port-limited allow protections on one target',
    model: model(
      protection({ name: 'a', action: 'allow', ports: [8080], rules: [rule({ from: [{ identities: [{ namespace: 'web', serviceAccount: 'frontend' }] }] })] }),
      protection({ name: 'b', action: 'allow', ports: [9090], rules: [rule({ from: [{ identities: [{ namespace: 'ops', serviceAccount: 'cron' }] }] })] }),
    ),
    calls: [
      call('web on 8080', 'allow', { from: WEB, port: 8080 }),
      call('ops on 8080', 'deny', { from: OPS, port: 8080 }),
      call('ops on 9090', 'allow', { from: OPS, port: 9090 }),
      call('web on 9090', 'deny', { from: WEB, port: 9090 }),
      call('anyone on 7000', 'allow', { from: null, port: 7000 }),
    ],
  },
  {
    name: 'deny on some ports only',
    model: model(protection({ name: 'deny-ops', action: 'deny', ports: [8080], rules: [rule({ from: [{ identities: [{ namespace: 'ops', serviceAccount: '*' }] }] })] })),
    calls: [
      call('ops on the port', 'deny', { from: OPS, port: 8080 }),
      call('ops on another port', 'allow', { from: OPS, port: 9090 }),
      call('web on the port', 'allow', { from: WEB, port: 8080 }),
    ],
  },
  {
    name: 'allow mixing HTTP and ports-only requests: split so TCP keeps its rule',
    model: model(protection({ name: 'mixed', action: 'allow', rules: [rule({ to: [{ ports: [9000] }, { methods: ['GET'] }] })] })),
    calls: [
      call('TCP on 9000', 'allow', { from: null, port: 9000 }),
      call('GET on 8080', 'allow', { from: null, port: 8080, method: 'GET' }),
      call('POST on 8080', 'deny', { from: null, port: 8080, method: 'POST' }),
      call('TCP on 8080', 'deny', { from: null, port: 8080 }),
    ],
  },
  {
    name: "every namespace → the root namespace, regex paths as templates and suffixes",
    model: model(protection({ name: 'mesh', action: 'allow', target: { namespace: '*' }, rules: [rule({ to: [{ paths: [pathMatchOf('/v1/{*}/edit'), pathMatchOf('*.png'), { kind: 'regex', value: '/files/.*' }] }] })] })),
    calls: [
      call('template', 'allow', { method: 'GET', path: '/v1/42/edit', dest: { namespace: 'any', labels: {} } }),
      call('template, two segments', 'deny', { method: 'GET', path: '/v1/4/2/edit', dest: { namespace: 'any', labels: {} } }),
      call('suffix', 'allow', { method: 'GET', path: '/img/a.png', dest: { namespace: 'other', labels: {} } }),
      call('prefix regex', 'allow', { method: 'GET', path: '/files/a/b', dest: { namespace: 'other', labels: {} } }),
      call('none', 'deny', { method: 'GET', path: '/x', dest: { namespace: 'other', labels: {} } }),
    ],
  },
  {
    name: 'a regex Istio cannot express: the rule is left out (narrower)',
    model: model(protection({ name: 'rx', action: 'allow', rules: [rule({ to: [{ paths: [{ kind: 'regex', value: '/a/[0-9]+' }] }] }, 'rx-rule'), rule({ to: [{ paths: [{ kind: 'exact', value: '/b' }] }] })] })),
    calls: [
      call('the expressible rule', 'allow', { method: 'GET', path: '/b' }),
      call('the left-out rule', 'deny', { method: 'GET', path: '/a/1' }),
    ],
    notes: ['narrower rx-rule'],
  },
  {
    name: 'callers that name nobody: the rule matches nothing',
    model: model(protection({ name: 'nobody', action: 'allow', rules: [rule({ from: [{ identities: [] }] }, 'empty')] })),
    calls: [call('anyone', 'deny', { from: WEB })],
    notes: ['same empty'],
  },
  {
    name: 'a port-limited allow next to an overlapping allow for every port: noted',
    model: model(
      protection({ name: 'port', action: 'allow', ports: [8080], rules: [rule({ from: [{ identities: [{ namespace: 'web', serviceAccount: 'frontend' }] }] })] }),
      protection({ name: 'namespace', action: 'allow', target: { namespace: 'shop' }, rules: [rule({ from: [{ identities: [{ namespace: 'ops', serviceAccount: 'cron' }] }] })] }),
    ),
    calls: [
      call('web on 8080', 'allow', { from: WEB, port: 8080 }),
      call('ops on 8080', 'allow', { from: OPS, port: 8080 }),
      call('ops on 9090', 'allow', { from: OPS, port: 9090 }),
      call('plaintext on 8080', 'deny', { from: null, port: 8080 }),
    ],
    // web on 9090: the model denies it (only the namespace protection applies), the other-ports rule allows it
    notes: ['wider Server port'],
  },
  {
    name: 'deny with paths on a TCP port (inventory): narrower',
    context: contextOf(SERVICE_TCP),
    model: model(protection({ name: 'db', action: 'deny', target: { namespace: 'shop', labels: { app: 'db' } }, rules: [rule({ to: [{ paths: [{ kind: 'exact', value: '/admin' }] }] })] })),
    calls: [
      call('GET /admin', 'deny', { method: 'GET', path: '/admin', port: 9000, dest: { namespace: 'shop', labels: { app: 'db' } } }),
      call('GET /', 'allow', { method: 'GET', path: '/', port: 9000, dest: { namespace: 'shop', labels: { app: 'db' } } }),
    ],
    notes: ['narrower rule'],
  },
  // A deny that leaves to earlier allows what they match (a Consul deny permission after allow
  // permissions, first match wins, mesh-semantics §3.5): Istio's negative fields, which match a
  // request lacking the attribute (§1.4), as the allow's header test fails without the header.
  {
    name: 'deny with exceptions: methods, and an exact path with a header prefix',
    model: model(protection({ name: 'api', action: 'deny', rules: [rule({
      from: [{ identities: [{ namespace: 'web', serviceAccount: 'frontend' }] }],
      to: [{ paths: [{ kind: 'prefix', value: '/v1/' }] }],
      unless: [
        { origin: at('allow GET'), requests: { methods: ['GET', 'HEAD'], paths: [{ kind: 'prefix', value: '/v1/' }] }, headers: [] },
        { origin: at('allow POST'), requests: { methods: ['POST'], paths: [{ kind: 'exact', value: '/v1/votes' }] }, headers: [{ name: 'content-type', match: 'prefix', value: 'application/json' }] },
      ],
    })] })),
    calls: [
      call('GET, kept by the first exception', 'allow', { from: WEB, method: 'GET', path: '/v1/votes' }),
      call('HEAD, kept by the first exception', 'allow', { from: WEB, method: 'HEAD', path: '/v1/count' }),
      call('POST JSON to /v1/votes, kept by the second', 'allow', { from: WEB, method: 'POST', path: '/v1/votes', headers: { 'content-type': 'application/json; charset=utf-8' } }),
      call('POST to /v1/votes without the header', 'deny', { from: WEB, method: 'POST', path: '/v1/votes' }),
      call('POST to /v1/votes as text', 'deny', { from: WEB, method: 'POST', path: '/v1/votes', headers: { 'content-type': 'text/plain' } }),
      call('POST JSON elsewhere under /v1/', 'deny', { from: WEB, method: 'POST', path: '/v1/other', headers: { 'content-type': 'application/json' } }),
      call('DELETE', 'deny', { from: WEB, method: 'DELETE', path: '/v1/votes' }),
      call('outside the rule\'s paths', 'allow', { from: WEB, method: 'POST', path: '/v2/votes' }),
      call('another caller', 'allow', { from: OPS, method: 'POST', path: '/v1/votes' }),
    ],
    notes: ['unknown rule'],
  },
  {
    name: 'deny with an exception Istio cannot negate (a regex path): written without it, narrower',
    model: model(protection({ name: 'api', action: 'deny', rules: [rule({
      to: [{ paths: [{ kind: 'prefix', value: '/v1/' }] }],
      unless: [{ origin: at('allow items'), requests: { paths: [{ kind: 'regex', value: '/v1/items/[0-9]+' }] }, headers: [] }],
    })] })),
    calls: [
      call('a path of the exception: denied as well', 'deny', { from: WEB, method: 'GET', path: '/v1/items/7' }),
      call('another path of the rule', 'deny', { from: WEB, method: 'GET', path: '/v1/other' }),
    ],
    notes: ['narrower rule', 'unknown rule'],
  },
  {
    name: 'deny whose exception keeps every request it matches: nothing written',
    model: model(protection({ name: 'api', action: 'deny', rules: [rule({
      to: [{ methods: ['GET'], paths: [{ kind: 'prefix', value: '/v1/a' }] }],
      unless: [{ origin: at('allow v1'), requests: { paths: [{ kind: 'prefix', value: '/v1/' }] }, headers: [] }],
    })] })),
    calls: [call('GET /v1/a', 'allow', { from: WEB, method: 'GET', path: '/v1/a' })],
    notes: ['same rule'],
  },
];

describe('Istio writer', () => {
  for (const c of WRITE_CASES) {
    it(c.name, () => {
      const context = c.context ?? contextOf();
      const written = istioTranslator.write(c.model, context);
      const file = engine.read('/ws/written.yaml', written.yaml);
      const lint = engine.lint(file);
      assert.equal(lint.resources.length, written.resources);
      assert.deepEqual(lint.findings.filter((f) => f.severity === 'error').map((f) => `${f.range.start.line + 1}: ${f.code} ${f.message}`), []);
      const decisions = decideUnder('istio', written.yaml, context, c.calls.map((x) => x.record));
      assert.deepEqual(c.calls.map((x, i) => `${x.name}: ${decisions[i]!.verdict}`), c.calls.map((x) => `${x.name}: ${x.verdict}`), written.yaml);
      assert.deepEqual(noteShape(written.notes), c.notes ?? []);
      if (c.roundTrip) {
        const back = istioTranslator.read(resourcesOf(written.yaml, '/ws/written.yaml'), context);
        assert.deepEqual(shape(back), shape(c.model));
        assert.deepEqual(back.notes.filter((n) => n.effect !== 'unknown'), []);
      }
    });
  }

  it('comments name the sources; names are DNS names, unique per namespace; output is deterministic', () => {
    const m = model(
      protection({ name: 'Web_Server', action: 'allow', rules: [rule({}, 'rules[0]')] }),
      protection({ name: 'web-server', action: 'deny', rules: [rule({ from: [{ identities: [ANY_IDENTITY] }] })] }),
    );
    const once = istioTranslator.write(m, contextOf());
    assert.equal(once.yaml, istioTranslator.write(m, contextOf()).yaml);
    assert.match(once.yaml, /# from \/src\/linkerd\.yaml:1 Server Web_Server\napiVersion/);
    assert.match(once.yaml, /# from \/src\/linkerd\.yaml:1 rules\[0\]\n {4}- \{\}/);
    assert.deepEqual([...once.yaml.matchAll(/name: (.*)/g)].map((x) => x[1]), ['web-server', 'web-server-2']);
  });
});

describe('Istio paths', () => {
  // spec §1.6: templates, prefix, suffix, exact
  const CASES: [string, string | undefined][] = [['/v1/{*}/x', '/v1/{*}/x'], ['/v1/{**}', '/v1/{**}'], ['/a/*', '/a/*'], ['*.png', '*.png'], ['/exact', '/exact']];
  for (const [value, back] of CASES) it(`${value} round-trips`, () => assert.equal(istioPath(pathMatchOf(value)), back));
  it('an exact value Istio would read as a pattern has no form', () => {
    assert.equal(istioPath({ kind: 'exact', value: '/a*' }), undefined);
    assert.equal(istioPath({ kind: 'regex', value: '/a/[0-9]+' }), undefined);
    assert.equal(istioPath({ kind: 'prefix', value: '' }), '*');
  });
});

describe('Istio → model → Istio', () => {
  // What Istio expresses exactly comes back deciding every call as the source does (the model's
  // definition of a correct translation), checked with the simulator over a grid of calls.
  const SOURCE = [
    AP('allow-api', 'shop', `  selector: {matchLabels: {app: api}}
  rules:
  - from: [{source: {principals: ["cluster.local/ns/web/sa/frontend"]}}, {source: {namespaces: ["ops"]}}]
    to: [{operation: {methods: ["GET"], paths: ["/api/*", "/v1/{*}/items"]}}]
  - from: [{source: {ipBlocks: ["10.0.0.0/8"], notIpBlocks: ["10.9.0.0/16"]}}]
    to: [{operation: {ports: ["9000"]}}]
  - to: [{operation: {paths: ["/health"]}}]
    when: [{key: "request.headers[x-probe]", values: ["*"]}]`),
    AP('deny-robots', 'shop', `  action: DENY
  rules:
  - from: [{source: {principals: ["*/sa/robot"]}}]
  - to: [{operation: {paths: ["/admin*"], methods: ["POST"], ports: ["8080"]}}]`),
    AP('deny-evil', 'istio-system', `  action: DENY
  rules: [{from: [{source: {namespaces: ["evil"]}}]}]`),
  ].join('\n---\n');

  it('decides every call of the grid as the source policies do', () => {
    const context = contextOf();
    const read = istioTranslator.read(resourcesOf(SOURCE), context);
    assert.deepEqual(read.notes.filter((n) => n.effect !== 'unknown').map((n) => n.text), []);
    const written = istioTranslator.write(read, context);
    assert.deepEqual(written.notes.filter((n) => n.effect !== 'unknown').map((n) => n.text), []);
    const records: AccessRecord[] = [];
    for (const principal of [WEB, 'cluster.local/ns/ops/sa/x', 'cluster.local/ns/z/sa/robot', 'cluster.local/ns/evil/sa/y', null]) {
      for (const ip of ['10.1.1.1', '10.9.1.1', '172.16.0.1']) {
        for (const labels of [{ app: 'api' }, { app: 'other' }]) {
          const base = { source: { principal, ip }, destination: { namespace: 'shop', labels } };
          records.push({ ...base, protocol: 'tcp', destination: { ...base.destination, port: 9000 } });
          for (const method of ['GET', 'POST']) {
            for (const path of ['/api/x', '/v1/a/items', '/v1/a/b/items', '/admin/x', '/health', '/other']) {
              for (const headers of [{}, { 'x-probe': '1' }] as Record<string, string>[]) records.push({ ...base, protocol: 'http', destination: { ...base.destination, port: 8080 }, request: { method, path, headers } });
            }
          }
        }
      }
    }
    const before = decideUnder('istio', SOURCE, context, records).map((d) => d.verdict);
    const after = decideUnder('istio', written.yaml, context, records).map((d) => d.verdict);
    const differences = records.map((r, i) => ({ r, a: before[i], b: after[i] })).filter((x) => x.a !== x.b).map((x) => `${JSON.stringify(x.r)}: ${x.a} → ${x.b}`);
    assert.deepEqual(differences, [], written.yaml);
    assert.ok(before.includes('allow') && before.includes('deny'));
  });
});

// Deny rules with exceptions, generated: the written DENY rules must decide every request as the
// model says (model.ts: the rule matches when its methods and paths do and no exception does; an
// exception matches when its methods, paths and every header test do), with Istio's semantics of
// the negative fields (spec §1.4: they match a request that lacks the attribute).
describe('Istio writer: deny rules with exceptions, generated', () => {
  const PATHS: PathMatch[] = [
    { kind: 'prefix', value: '/v1/' }, { kind: 'prefix', value: '/v1/admin' }, { kind: 'exact', value: '/v1/votes' },
    { kind: 'prefix', value: '/v' }, { kind: 'exact', value: '/v2' },
  ];
  const METHODS = ['GET', 'HEAD', 'POST', 'DELETE'];
  const REQUEST_PATHS = ['/v1/votes', '/v1/admin/x', '/v1/other', '/v2', '/v1', '/x'];
  const CONTENT_TYPES = [undefined, 'application/json', 'application/json; charset=utf-8', 'text/plain', 'x-application/json'];
  const pathMatches = (p: PathMatch, path: string) => (p.kind === 'exact' ? path === p.value : path.startsWith(p.value));
  const requestsMatch = (r: Omit<Requests, 'ports'>, method: string, path: string) =>
    (!r.methods || r.methods.includes(method)) && (!r.paths || r.paths.some((p) => pathMatches(p, path)));
  const headerMatches = (h: HeaderTest, value: string | undefined) =>
    value !== undefined && (h.match === 'exact' ? value === h.value : h.match === 'prefix' ? value.startsWith(h.value!) : value.endsWith(h.value!));

  let compared = 0;
  for (let seed = 1; seed <= 40; seed++) {
    it(`seed ${seed}`, () => {
      const rng = new Prng(seed);
      const some = <T>(items: readonly T[]): T[] => {
        const out = items.filter(() => rng.chance(0.4));
        return out.length ? out : [rng.pick(items)];
      };
      const requests = (): Omit<Requests, 'ports'> => ({
        ...(rng.chance(0.6) ? { methods: some(METHODS) } : {}),
        ...(rng.chance(0.8) ? { paths: some(PATHS) } : {}),
      });
      const ruleTo = requests();
      const unless: RequestException[] = [];
      for (let i = rng.between(1, 3); i > 0; i--) {
        const headers: HeaderTest[] = rng.chance(0.4) ? [{ name: 'content-type', match: rng.pick(['exact', 'prefix', 'suffix'] as const), value: rng.pick(['application/json', 'json', 'text/plain']) }] : [];
        const r = requests();
        if (!r.methods && !r.paths && !headers.length) r.methods = [rng.pick(METHODS)];
        unless.push({ origin: at(`allow ${i}`), requests: r, headers });
      }
      const m = model(protection({ name: 'api', action: 'deny', rules: [rule({ to: Object.keys(ruleTo).length ? [ruleTo] : [], unless })] }));
      const written = istioTranslator.write(m, contextOf());
      if (written.notes.some((n) => n.effect === 'narrower')) return; // written without the exceptions, and said so
      const calls: Call[] = [];
      for (const method of METHODS) {
        for (const path of REQUEST_PATHS) {
          for (const type of CONTENT_TYPES) {
            const denied = requestsMatch(ruleTo, method, path) && !unless.some((e) => requestsMatch(e.requests, method, path) && e.headers.every((h) => headerMatches(h, type)));
            calls.push(call(`${method} ${path} ${type ?? '(no content-type)'}`, denied ? 'deny' : 'allow', { from: WEB, method, path, ...(type ? { headers: { 'content-type': type } } : {}) }));
          }
        }
      }
      const decisions = decideUnder('istio', written.yaml, contextOf(), calls.map((x) => x.record));
      const wrong = calls.filter((x, i) => decisions[i]!.verdict !== x.verdict).map((x) => `${x.name}: expected ${x.verdict}`);
      assert.deepEqual(wrong, [], `${JSON.stringify({ ruleTo, unless: unless.map((e) => ({ requests: e.requests, headers: e.headers })) })}\n${written.yaml}`);
      compared++;
    });
  }
  it('most generated cases were written with their exceptions and compared', () => {
    assert.ok(compared >= 30, `${compared} of 40`);
  });
});

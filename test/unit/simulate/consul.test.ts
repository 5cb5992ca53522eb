import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { defaultConfig } from '../../../server/src/engine/config/projectConfig';
import { Engine } from '../../../server/src/engine/engine';
import { emptyInventory } from '../../../server/src/engine/inventory/inventory';
import { consulSimulator, createConsulSimulator, type ConsulPolicies, type ConsulSimulatorOptions } from '../../../server/src/engine/simulate/consul';
import { classify, type Decision, type PolicySet } from '../../../server/src/engine/simulate/types';
import type { AccessRecord } from '../../../server/src/engine/traffic/accessRecord';
import { FIXTURES } from '../../helpers/paths';

/**
 * The Consul simulator against mesh-semantics.md §3 (and §4.0/§4.3): table-driven cases per
 * spec point with the verdict the spec and the upstream code give, scenarios replaying the
 * Consul docs' intention tasks and the upstream L7 integration test, and a micro-benchmark
 * (printed, not asserted).
 */

const engine = new Engine();
const FIX = join(FIXTURES, 'simulate', 'consul');
const TD = '7d4e1f2a-0b1c-4d2e-9f30-a1b2c3d4e5f6.consul';

function policySet(files: Record<string, string>, defaultIntentionPolicy: 'allow' | 'deny' = 'allow'): PolicySet {
  const resources: PolicySet['resources'][number][] = [];
  for (const [path, text] of Object.entries(files)) {
    const file = engine.read(path, text);
    for (const resource of engine.prepare(file).recognition.resources) resources.push({ file, resource });
  }
  const config = defaultConfig('/ws');
  config.consul = { defaultIntentionPolicy };
  return { resources, inventory: emptyInventory(), config };
}

function fixtures(...names: string[]): Record<string, string> {
  return Object.fromEntries(names.map((n) => [join(FIX, n), readFileSync(join(FIX, n), 'utf8')]));
}

function compile(files: Record<string, string>, dflt: 'allow' | 'deny' = 'allow', options: ConsulSimulatorOptions = {}): ConsulPolicies {
  return createConsulSimulator(options).compile(policySet(files, dflt));
}

function spiffe(svc: string, ns = 'default', ap?: string, td = TD): string {
  return `spiffe://${td}${ap ? `/ap/${ap}` : ''}/ns/${ns}/dc/dc1/svc/${svc}`;
}

interface CallSpec {
  src?: string | null;
  srcNs?: string;
  ap?: string;
  td?: string;
  principal?: string | null;
  service?: string;
  dst?: string;
  dstNs?: string;
  protocol?: AccessRecord['protocol'] | 'none';
  method?: string;
  path?: string;
  host?: string;
  headers?: Record<string, string>;
  /** What a native log records (spec §4.0): the headers it prints, and that it carries no token. */
  recordedHeaders?: string[];
  jwtUnknown?: boolean;
  jwt?: NonNullable<AccessRecord['request']>['jwt'];
}

function call(c: CallSpec): AccessRecord {
  const record: AccessRecord = { mesh: 'consul' };
  if (c.protocol !== 'none') record.protocol = c.protocol ?? (c.method || c.path ? 'http' : 'tcp');
  const source: NonNullable<AccessRecord['source']> = {};
  if (c.principal !== undefined) source.principal = c.principal;
  else if (c.src !== undefined) source.principal = c.src === null ? null : spiffe(c.src, c.srcNs, c.ap, c.td);
  if (c.service) source.service = c.service;
  record.source = source;
  if (c.dst !== undefined || c.dstNs !== undefined) record.destination = { ...(c.dst !== undefined ? { service: c.dst } : {}), ...(c.dstNs ? { namespace: c.dstNs } : {}) };
  if (c.method || c.path || c.headers || c.jwt || c.host) {
    record.request = {
      ...(c.method ? { method: c.method } : {}), ...(c.path ? { path: c.path } : {}),
      ...(c.host ? { host: c.host } : {}), ...(c.headers ? { headers: c.headers } : {}), ...(c.jwt ? { jwt: c.jwt } : {}),
      ...(c.recordedHeaders ? { recordedHeaders: c.recordedHeaders } : {}), ...(c.jwtUnknown ? { jwtUnknown: true } : {}),
    };
  }
  return record;
}

type Expect = Decision['verdict'];

function expectVerdict(p: ConsulPolicies, c: CallSpec, verdict: Expect, message?: string): Decision {
  const d = p.decide(call(c));
  assert.equal(d.verdict, verdict, `${message ?? JSON.stringify(c)}: ${d.reason}\n${d.trace.map((s) => `  ${s.outcome}: ${s.text}`).join('\n')}`);
  assert.equal(d.mesh, 'consul');
  const e = p.explain(call(c));
  assert.equal(e.verdict, d.verdict, 'explain gives the same verdict');
  assert.ok(e.trace.length >= d.trace.length, 'explain traces at least as much');
  return d;
}

const hcl = (text: string) => ({ '/ws/policy.hcl': text });
const yaml = (text: string) => ({ '/ws/policy.yaml': text });

function entry(name: string, sources: string, extra = ''): string {
  return `Kind = "service-intentions"\nName = "${name}"\n${extra}\nSources = [\n${sources}\n]\n`;
}

// ---------------------------------------------------------------------------- model

describe('consul: both forms normalize to one model (§3.1)', () => {
  const forms: [string, Record<string, string>][] = [
    ['config entry HCL', fixtures('docs-grpc.hcl')],
    ['config entry JSON', { '/ws/b.json': JSON.stringify({ Kind: 'service-intentions', Name: 'billing', Sources: [{ Name: 'frontend-web', Permissions: [{ Action: 'deny', HTTP: { PathExact: '/mycompany.BillingService/IssueRefund' } }, { Action: 'allow', HTTP: { PathPrefix: '/mycompany.BillingService/' } }] }, { Name: 'support-portal', Permissions: [{ Action: 'allow', HTTP: { PathPrefix: '/mycompany.BillingService/' } }] }] }) }],
    ['CRD YAML', yaml(`apiVersion: consul.hashicorp.com/v1alpha1
kind: ServiceIntentions
metadata: {name: billing-intentions, namespace: shop}
spec:
  destination: {name: billing}
  sources:
  - name: frontend-web
    permissions:
    - action: deny
      http: {pathExact: /mycompany.BillingService/IssueRefund}
    - action: allow
      http: {pathPrefix: /mycompany.BillingService/}
  - name: support-portal
    permissions:
    - action: allow
      http: {pathPrefix: /mycompany.BillingService/}
`)],
    ['snake_case HCL', hcl(`kind = "service-intentions"
name = "billing"
sources = [
  { name = "frontend-web", permissions = [
      { action = "deny", http { path_exact = "/mycompany.BillingService/IssueRefund" } },
      { action = "allow", http { path_prefix = "/mycompany.BillingService/" } } ] },
  { name = "support-portal", permissions = [ { action = "allow", http { path_prefix = "/mycompany.BillingService/" } } ] },
]
`)],
  ];
  for (const [name, files] of forms) {
    it(`${name}: same verdicts`, () => {
      const p = compile(files, 'deny');
      const g = (src: string, path: string) => ({ src, dst: 'billing', protocol: 'grpc' as const, method: 'POST', path });
      expectVerdict(p, g('frontend-web', '/mycompany.BillingService/IssueRefund'), 'deny');
      expectVerdict(p, g('frontend-web', '/mycompany.BillingService/GetInvoice'), 'allow');
      expectVerdict(p, g('support-portal', '/mycompany.BillingService/IssueRefund'), 'allow');
      expectVerdict(p, g('other', '/mycompany.BillingService/GetInvoice'), 'deny');
    });
  }

  it('points the deciding SourceRefs at the entry and at the permission', () => {
    const files = fixtures('docs-grpc.hcl');
    const p = compile(files, 'deny');
    const d = p.decide(call({ src: 'frontend-web', dst: 'billing', protocol: 'grpc', method: 'POST', path: '/mycompany.BillingService/IssueRefund' }));
    assert.equal(d.policy?.file, join(FIX, 'docs-grpc.hcl'));
    assert.ok(d.policy!.range.start.line <= 1 && d.policy!.range.end.line >= 30, JSON.stringify(d.policy!.range));
    assert.match(d.policy!.label, /service-intentions billing/);
    assert.match(d.rule!.label, /Sources\[0\] frontend-web Permissions\[0\]/);
    const text = files[join(FIX, 'docs-grpc.hcl')]!.split('\n');
    assert.match(text[d.rule!.range.start.line]!, /\{/);
    assert.match(text[d.rule!.range.start.line + 1]!, /Action = "deny"/);
    assert.equal(d.status, 403);
  });
});

// ---------------------------------------------------------------------------- §3.2 identity

describe('consul §3.2 identity', () => {
  const l4 = hcl(entry('api', '{ Name = "web", Action = "allow" },\n{ Name = "*", Action = "deny" }'));
  const table: [string, CallSpec, ConsulSimulatorOptions, Expect][] = [
    ['SPIFFE of web', { src: 'web', dst: 'api' }, {}, 'allow'],
    ['another datacenter: RBAC matches any dc', { principal: `spiffe://${TD}/ns/default/dc/dc9/svc/web`, dst: 'api' }, {}, 'allow'],
    ['names compare case-sensitively (hashicorp/consul#16244)', { src: 'Web', dst: 'api' }, {}, 'deny'],
    ['any trust domain when none is configured (older rbac.go)', { src: 'web', td: 'other.consul', dst: 'api' }, {}, 'allow'],
    ['pinned trust domain: same', { src: 'web', dst: 'api' }, { trustDomain: TD }, 'allow'],
    ['pinned trust domain: another cluster matches no source → default', { src: 'web', td: 'other.consul', dst: 'api' }, { trustDomain: TD }, 'allow'],
    ['non-default partition: a default-partition source does not match it → default', { src: 'web', ap: 'floor-a', dst: 'api' }, {}, 'allow'],
    ['not a Consul identity → no source matches → default', { principal: 'cluster.local/ns/default/sa/web', dst: 'api' }, {}, 'allow'],
    ['a mesh gateway identity is not a service identity', { principal: `spiffe://${TD}/gateway/mesh/dc/dc1`, dst: 'api' }, {}, 'allow'],
    ['identity from source.service when the record has no principal', { service: 'web', dst: 'api' }, {}, 'allow'],
    ['source.service other', { service: 'cart', dst: 'api' }, {}, 'deny'],
    ['null principal: plaintext is refused (strict mTLS)', { src: null, dst: 'api' }, {}, 'deny'],
    ['no principal and no service: plaintext (§4.0)', { dst: 'api' }, {}, 'deny'],
    ['plaintext accepted unenforced in permissive mode', { src: null, dst: 'api' }, { permissiveMtls: ['api'] }, 'allow'],
    ['permissive for another service only', { src: null, dst: 'api' }, { permissiveMtls: ['db'] }, 'deny'],
  ];
  for (const [name, c, options, verdict] of table) {
    it(name, () => {
      // The catch-all `*` deny makes "no source matched" visible as the default (allow here).
      const p = compile(l4, 'allow', options);
      const expected = verdict;
      const d = expectVerdict(p, c, expected);
      if (name.includes('→ default')) assert.match(d.reason, /default intention policy/);
    });
  }

  it('a partition source matches only /ap/<partition> identities', () => {
    const p = compile(hcl(entry('api', '{ Name = "picker", Namespace = "robots", Partition = "floor-a", Action = "allow" }')), 'deny');
    expectVerdict(p, { src: 'picker', srcNs: 'robots', ap: 'floor-a', dst: 'api', dstNs: 'default' }, 'allow');
    expectVerdict(p, { src: 'picker', srcNs: 'robots', dst: 'api', dstNs: 'default' }, 'deny');
    expectVerdict(p, { src: 'picker', srcNs: 'robots', ap: 'floor-b', dst: 'api', dstNs: 'default' }, 'deny');
  });

  it('peered sources need the peer\'s trust domain; without it the verdict is unknown', () => {
    const files = hcl(entry('backend', '{ Name = "frontend", Peer = "cluster-02", Action = "allow" }'));
    const known = compile(files, 'deny', { peers: { 'cluster-02': { trustDomain: 'peer2.consul' } } });
    expectVerdict(known, { src: 'frontend', td: 'peer2.consul', dst: 'backend' }, 'allow');
    expectVerdict(known, { src: 'frontend', dst: 'backend' }, 'deny', 'a local frontend is not the peer\'s');
    const unknownPeer = compile(files, 'deny');
    const d = expectVerdict(unknownPeer, { src: 'frontend', td: 'peer2.consul', dst: 'backend' }, 'unknown');
    assert.ok(d.missing?.some((m) => m.includes('peer cluster-02')), String(d.missing));
    // Whatever the caller's origin, `cart` is denied: the verdict stands.
    expectVerdict(unknownPeer, { src: 'cart', td: 'peer2.consul', dst: 'backend' }, 'deny');
  });

  it('sameness groups: members from the options, unknown without them', () => {
    const files = hcl(entry('inventory', '{ Name = "backup", SamenessGroup = "shared", Action = "allow" }'));
    const withMembers = compile(files, 'deny', { samenessGroups: { shared: { partitions: ['floor-a'], peers: ['dc2'] } }, peers: { dc2: { trustDomain: 'dc2.consul' } } });
    expectVerdict(withMembers, { src: 'backup', ap: 'floor-a', dst: 'inventory' }, 'allow');
    expectVerdict(withMembers, { src: 'backup', td: 'dc2.consul', dst: 'inventory' }, 'allow');
    expectVerdict(withMembers, { src: 'backup', dst: 'inventory' }, 'deny');
    const d = expectVerdict(compile(files, 'deny'), { src: 'backup', dst: 'inventory' }, 'unknown');
    assert.ok(d.missing?.some((m) => m.includes('sameness group shared')));
  });
});

// ---------------------------------------------------------------------------- §3.3 precedence

describe('consul §3.3 precedence', () => {
  it('computes the precedence table for every combination (Enterprise)', () => {
    const files = {
      '/ws/a.hcl': entry('api', '{ Name = "web", Namespace = "team", Action = "allow" },\n{ Name = "*", Namespace = "team", Action = "allow" },\n{ Name = "*", Namespace = "*", Action = "allow" }', 'Namespace = "shop"'),
      '/ws/b.hcl': entry('*', '{ Name = "web", Namespace = "team", Action = "allow" },\n{ Name = "*", Namespace = "team", Action = "allow" },\n{ Name = "*", Namespace = "*", Action = "allow" }', 'Namespace = "shop"'),
      '/ws/c.hcl': entry('*', '{ Name = "web", Namespace = "team", Action = "allow" },\n{ Name = "*", Namespace = "team", Action = "allow" },\n{ Name = "*", Namespace = "*", Action = "allow" }', 'Namespace = "*"'),
    };
    const p = compile(files);
    const got = p.entries.flatMap((e) => e.sources.map((s) => `${s.namespace}/${s.name} → ${e.namespace}/${e.name}: ${s.precedence}`));
    assert.deepEqual(got, [
      'team/web → shop/api: 9', 'team/* → shop/api: 8', '*/* → shop/api: 7',
      'team/web → shop/*: 6', 'team/* → shop/*: 5', '*/* → shop/*: 4',
      'team/web → */*: 3', 'team/* → */*: 2', '*/* → */*: 1',
    ]);
  });

  it('CE: a source without namespace is default/<name>; only 9, 8, 6, 5 occur', () => {
    const p = compile({ '/ws/a.hcl': entry('api', '{ Name = "web", Action = "allow" },\n{ Name = "*", Action = "deny" }'), '/ws/b.hcl': entry('*', '{ Name = "web", Action = "deny" },\n{ Name = "*", Action = "allow" }') });
    assert.deepEqual(p.entries.flatMap((e) => e.sources.map((s) => s.precedence)), [9, 8, 6, 5]);
  });

  // Each row: intentions (destination: sources), caller → api, default, expected.
  const table: [string, Record<string, string>, string, 'allow' | 'deny', Expect][] = [
    ['exact source beats wildcard source on the same destination', { api: '{ Name = "web", Action = "allow" },\n{ Name = "*", Action = "deny" }' }, 'web', 'deny', 'allow'],
    ['wildcard source applies to the others', { api: '{ Name = "web", Action = "allow" },\n{ Name = "*", Action = "deny" }' }, 'cart', 'allow', 'deny'],
    ['exact destination beats wildcard destination for the same source (same-source dedupe)', { api: '{ Name = "web", Action = "deny" }', '*': '{ Name = "web", Action = "allow" }' }, 'web', 'allow', 'deny'],
    ['… and the other way round', { api: '{ Name = "web", Action = "allow" }', '*': '{ Name = "web", Action = "deny" }' }, 'web', 'deny', 'allow'],
    ['wildcard destination applies to services without their own entry', { other: '{ Name = "web", Action = "allow" }', '*': '{ Name = "web", Action = "deny" }' }, 'web', 'allow', 'deny'],
    ['web → * (6) beats * → * (5)', { '*': '{ Name = "web", Action = "allow" },\n{ Name = "*", Action = "deny" }' }, 'web', 'deny', 'allow'],
    ['an intention equal to the default still shadows broader ones (deny 9, allow 8, default deny)', { api: '{ Name = "web", Action = "deny" },\n{ Name = "*", Action = "allow" }' }, 'web', 'deny', 'deny'],
    ['… mirror image under default allow', { api: '{ Name = "web", Action = "allow" },\n{ Name = "*", Action = "deny" }' }, 'web', 'allow', 'allow'],
    ['default/* → api deny (8) vs web → * allow (6), default allow: deny', { api: '{ Name = "*", Action = "deny" }', '*': '{ Name = "web", Action = "allow" }' }, 'web', 'allow', 'deny'],
    // §3.5 corner case: the broader higher-precedence deny is not subtracted from the narrower
    // allow, so the generated allow-list lets web in although first match says deny.
    ['corner case: default/* → api deny (8) vs web → * allow (6), default deny: Envoy allows', { api: '{ Name = "*", Action = "deny" }', '*': '{ Name = "web", Action = "allow" }' }, 'web', 'deny', 'allow'],
  ];
  for (const [name, dests, caller, dflt, verdict] of table) {
    it(name, () => {
      const files = Object.fromEntries(Object.entries(dests).map(([d, s], i) => [`/ws/${i}.hcl`, entry(d, s)]));
      const p = compile(files, dflt);
      const d = expectVerdict(p, { src: caller, dst: 'api' }, verdict);
      if (name.startsWith('corner case')) {
        assert.ok(d.trace.some((s) => /consul intention check would answer Denied/.test(s.text) && /disagrees/.test(s.text)), 'the trace flags the disagreement with first match');
        assert.equal(p.intentionCheck({ name: 'web' }, { name: 'api' }).allowed, false);
      }
    });
  }

  it('Enterprise namespaces: */* → api (7) is shadowed by team/web (9) only for team/web', () => {
    const p = compile(hcl(entry('api', '{ Name = "web", Namespace = "team", Action = "allow" },\n{ Name = "*", Namespace = "*", Action = "deny" }')), 'allow');
    expectVerdict(p, { src: 'web', srcNs: 'team', dst: 'api', dstNs: 'default' }, 'allow');
    expectVerdict(p, { src: 'web', srcNs: 'ops', dst: 'api', dstNs: 'default' }, 'deny');
    expectVerdict(p, { src: 'web', dst: 'api', dstNs: 'default' }, 'deny');
  });

  it('Enterprise: destination namespaces select the entries', () => {
    const p = compile({ '/ws/a.hcl': entry('api', '{ Name = "web", Action = "deny" }', 'Namespace = "shop"') }, 'allow');
    expectVerdict(p, { src: 'web', srcNs: 'shop', dst: 'api', dstNs: 'shop' }, 'deny');
    expectVerdict(p, { src: 'web', srcNs: 'shop', dst: 'api', dstNs: 'other' }, 'allow');
    // The source inherited the destination's namespace: web from default does not match.
    expectVerdict(p, { src: 'web', dst: 'api', dstNs: 'shop' }, 'allow');
    const d = expectVerdict(p, { src: 'web', srcNs: 'shop', dst: 'api' }, 'unknown');
    assert.deepEqual(d.missing, ['destination.namespace']);
  });

  it('CE: record namespaces (Kubernetes namespaces) are not Consul namespaces', () => {
    const p = compile(hcl(entry('api', '{ Name = "web", Action = "deny" }')), 'allow');
    expectVerdict(p, { service: 'web', srcNs: 'payments', dst: 'api', dstNs: 'payments' }, 'deny');
  });
});

// ---------------------------------------------------------------------------- §3.4 default

describe('consul §3.4 default behaviour', () => {
  it('no intention: the configured default (ACL default allow when unset)', () => {
    const files = hcl(entry('db', '{ Name = "web", Action = "deny" }'));
    const d1 = expectVerdict(compile(files, 'allow'), { src: 'cart', dst: 'api' }, 'allow');
    assert.match(d1.reason, /default intention policy \(allow/);
    assert.equal(d1.policy, undefined);
    expectVerdict(compile(files, 'deny'), { src: 'cart', dst: 'api' }, 'deny');
    expectVerdict(compile(files, 'allow', { defaultIntentionPolicy: 'deny' }), { src: 'cart', dst: 'api' }, 'deny', 'the option overrides the config');
    const d = consulSimulator.compile(policySet({}, 'deny')).decide(call({ src: 'a', dst: 'b', method: 'GET', path: '/' }));
    assert.equal(d.verdict, 'deny');
    assert.equal(d.status, 403);
  });

  it('a * → * deny makes the mesh default-deny regardless of the setting', () => {
    const p = compile(fixtures('deny-all.hcl'), 'allow');
    expectVerdict(p, { src: 'web', dst: 'api' }, 'deny');
  });
});

// ---------------------------------------------------------------------------- §3.5 evaluation

describe('consul §3.5 evaluation', () => {
  const l7 = (perms: string) => `{ Name = "web", Permissions = [\n${perms}\n] }`;
  const allowV1 = '{ Action = "allow", HTTP { PathPrefix = "/v1" } }';

  it('L4 Action: the first matching source decides for every request', () => {
    const p = compile(fixtures('docs-l4.yaml'), 'allow');
    expectVerdict(p, { src: 'web', dst: 'db' }, 'deny');
    expectVerdict(p, { src: 'api', dst: 'db' }, 'allow');
    expectVerdict(p, { src: 'web', dst: 'db', method: 'GET', path: '/' }, 'deny');
  });

  it('a source with permissions that match none gets the default, not a lower-precedence intention', () => {
    const files = hcl(entry('api', `${l7(allowV1)},\n{ Name = "*", Action = "allow" }`));
    const p = compile(files, 'deny');
    expectVerdict(p, { src: 'web', dst: 'api', method: 'GET', path: '/v1/x' }, 'allow');
    const d = expectVerdict(p, { src: 'web', dst: 'api', method: 'GET', path: '/v2/x' }, 'deny');
    assert.match(d.reason, /none of its permissions matches/);
    expectVerdict(p, { src: 'cart', dst: 'api', method: 'GET', path: '/v2/x' }, 'allow');
    // Under default allow the same request is allowed: the default, not the wildcard, decides.
    expectVerdict(compile(files, 'allow'), { src: 'web', dst: 'api', method: 'GET', path: '/v2/x' }, 'allow');
  });

  it('first matching permission wins (deny before allow)', () => {
    const p = compile(hcl(entry('api', l7('{ Action = "deny", HTTP { PathPrefix = "/v1/admin" } },\n{ Action = "allow", HTTP { PathPrefix = "/v1" } }'))), 'deny');
    expectVerdict(p, { src: 'web', dst: 'api', method: 'GET', path: '/v1/admin/users' }, 'deny');
    expectVerdict(p, { src: 'web', dst: 'api', method: 'GET', path: '/v1/users' }, 'allow');
    // allow before deny: the broader allow shadows the deny.
    const q = compile(hcl(entry('api', l7('{ Action = "allow", HTTP { PathPrefix = "/v1" } },\n{ Action = "deny", HTTP { PathPrefix = "/v1/admin" } }'))), 'allow');
    expectVerdict(q, { src: 'web', dst: 'api', method: 'GET', path: '/v1/admin/users' }, 'allow');
  });

  it('an L7 intention on a TCP listener counts as deny', () => {
    const p = compile(hcl(entry('api', l7(allowV1))), 'allow');
    const d = expectVerdict(p, { src: 'web', dst: 'api', protocol: 'tcp' }, 'deny');
    assert.match(d.reason, /TCP/);
    assert.equal(d.status, undefined);
  });

  it('the protocol is unknown and L7 intentions apply: unknown naming protocol', () => {
    const p = compile(hcl(entry('api', l7(allowV1))), 'deny');
    const d = expectVerdict(p, { src: 'web', dst: 'api', protocol: 'none' }, 'unknown');
    assert.ok(d.missing?.includes('protocol') || d.missing?.includes('request.path'), String(d.missing));
    // L4 only: the protocol does not matter.
    expectVerdict(compile(hcl(entry('api', '{ Name = "web", Action = "allow" }')), 'deny'), { src: 'web', dst: 'api', protocol: 'none' }, 'allow');
  });
});

// ---------------------------------------------------------------------------- §3.7 refused entries

// Consul's config entry validation (and the consul-k8s webhook for the CRD) refuses the whole
// entry when one source or permission breaks a rule (spec §3.7.1, §3.7.3): the entry is never
// stored, so the calls are decided by the other intentions and the default, and the trace says why.
describe('consul §3.7 an entry Consul refuses to store decides nothing', () => {
  const denyAllOthers = entry('*', '{ Name = "*", Action = "deny" }');
  const get = { src: 'web', dst: 'api', method: 'GET', path: '/v1/x' } as const;
  const cases: { name: string; sources: string; extra?: string; problem: RegExp }[] = [
    { name: 'a source with both Action and Permissions', sources: '{ Name = "web", Action = "allow", Permissions = [{ Action = "allow", HTTP { PathPrefix = "/v1" } }] }', problem: /Sources\[0\] web sets both Action and Permissions/ },
    { name: 'a source with neither Action nor Permissions', sources: '{ Name = "web" }', problem: /Sources\[0\] web has neither Action nor Permissions/ },
    { name: 'a source whose Action is not allow or deny', sources: '{ Name = "web", Action = "Allow" }', problem: /Action "Allow", not "allow" or "deny"/ },
    { name: 'a source with an empty Name', sources: '{ Name = "web", Action = "allow" },\n{ Name = "", Action = "allow" }', problem: /Sources\[1\] \(no name\) has no name/ },
    { name: 'a source name with a partial wildcard', sources: '{ Name = "web", Action = "allow" },\n{ Name = "we*", Action = "allow" }', problem: /partial value \("we\*"\)/ },
    { name: 'an exact source name under the wildcard namespace', sources: '{ Name = "web", Namespace = "*", Action = "allow" }', problem: /exact name under the wildcard namespace/ },
    { name: 'a source with both Peer and Partition', sources: '{ Name = "web", Action = "allow" },\n{ Name = "web", Peer = "dc2", Partition = "p1", Action = "allow" }', problem: /sets both Peer and Partition/ },
    { name: 'a source Type other than consul', sources: '{ Name = "web", Type = "external", Action = "allow" }', problem: /Type "external", not "consul"/ },
    { name: 'a source with LegacyMeta', sources: '{ Name = "web", Action = "allow", LegacyMeta = { team = "x" } }', problem: /has LegacyMeta/ },
    { name: 'the same source twice', sources: '{ Name = "web", Action = "allow" },\n{ Name = "web", Action = "allow" }', problem: /Sources\[1\] web names the same caller as Sources\[0\] web/ },
    { name: 'a permission without Action', sources: '{ Name = "web", Permissions = [{ HTTP { PathPrefix = "/v1" } }] }', problem: /Permissions\[0\] has no Action/ },
    { name: 'a permission without HTTP', sources: '{ Name = "web", Permissions = [{ Action = "allow" }] }', problem: /Permissions\[0\] has no HTTP block/ },
    { name: 'an empty HTTP block', sources: '{ Name = "web", Permissions = [{ Action = "allow", HTTP {} }] }', problem: /empty HTTP block/ },
    { name: 'a PathPrefix without a leading /', sources: '{ Name = "web", Permissions = [{ Action = "allow", HTTP { PathPrefix = "v1" } }] }', problem: /PathPrefix "v1", which does not start with "\/"/ },
    { name: 'two path matches', sources: '{ Name = "web", Permissions = [{ Action = "allow", HTTP { PathPrefix = "/v1", PathExact = "/v1/x" } }] }', problem: /sets PathExact and PathPrefix/ },
    { name: 'a header with no value match', sources: '{ Name = "web", Permissions = [{ Action = "allow", HTTP { PathPrefix = "/", Header = [{ Name = "x-any" }] } }] }', problem: /Header\[0\] has no value matches/ },
    { name: 'a header with two value matches', sources: '{ Name = "web", Permissions = [{ Action = "allow", HTTP { Header = [{ Name = "x-a", Exact = "1", Prefix = "1" }] } }] }', problem: /Header\[0\] has 2 value matches/ },
    { name: 'a method that is not an HTTP method', sources: '{ Name = "web", Permissions = [{ Action = "allow", HTTP { Methods = ["FETCH"] } }] }', problem: /method "FETCH"/ },
    { name: 'a method listed twice (after upper-casing)', sources: '{ Name = "web", Permissions = [{ Action = "allow", HTTP { Methods = ["GET", "get"] } }] }', problem: /lists the method GET twice/ },
    { name: 'no sources at all', sources: '', problem: /has no Sources/ },
    // `consul config write` decodes with mapstructure and refuses every unused key
    // (command/config/write newDecodeConfigEntry; agent/structs DecodeConfigEntry for the HTTP API).
    { name: 'an unknown key in a source (config write refuses unused keys)', sources: '{ Name = "web", Action = "deny", Colour = "blue" }', problem: /\(invalid config key "Sources\[0\]\.Colour"\)/ },
    { name: 'an unknown key in an HTTP block', sources: '{ Name = "web", Permissions = [{ Action = "deny", HTTP { PathPrefix = "/v1", Verb = "GET" } }] }', problem: /invalid config key "Sources\[0\]\.Permissions\[0\]\.HTTP\.Verb"/ },
    { name: 'an unknown top-level key, the only problem named though the entry has others', sources: '{ Name = "web" }', extra: 'Protocol = "http"', problem: /Consul refuses to store it \(invalid config key "Protocol"\)/ },
    // validateConfigEntryMeta (config_entry_intentions_test.go "config entry meta ..."): Go counts bytes.
    { name: 'entry Meta with 65 pairs', sources: '{ Name = "web", Action = "allow" }', extra: `Meta = {\n${Array.from({ length: 65 }, (_, i) => `  k${i} = "v"\n`).join('')}}`, problem: /its Meta has 65 pairs \(at most 64\)/ },
    { name: 'an entry Meta key of 129 bytes', sources: '{ Name = "web", Action = "allow" }', extra: `Meta = { "${'k'.repeat(129)}" = "v" }`, problem: /its Meta key "k{16}"… is longer than 128 bytes/ },
    { name: 'an entry Meta value of 513 bytes', sources: '{ Name = "web", Action = "allow" }', extra: `Meta = { owner = "${'v'.repeat(513)}" }`, problem: /its Meta value for "owner" is longer than 512 bytes/ },
    { name: 'an entry Meta value of 257 two-byte characters (514 bytes)', sources: '{ Name = "web", Action = "allow" }', extra: `Meta = { owner = "${'é'.repeat(257)}" }`, problem: /its Meta value for "owner" is longer than 512 bytes/ },
    { name: 'a source Description of 300 two-byte characters (600 bytes)', sources: `{ Name = "web", Action = "allow", Description = "${'é'.repeat(300)}" }`, problem: /Description longer than 512 bytes/ },
  ];
  for (const c of cases) {
    it(`${c.name}: the other intentions and the default decide, and the trace says why`, () => {
      const refused = entry('api', c.sources, c.extra);
      // With only the refused entry, the default decides (allow here) ...
      const alone = expectVerdict(compile(hcl(refused), 'allow'), get, 'allow');
      assert.equal(alone.policy, undefined, 'no refused intention decides');
      const step = alone.trace.find((t) => /is not in effect: Consul refuses to store it/.test(t.text));
      assert.ok(step, alone.trace.map((t) => t.text).join('\n'));
      assert.match(step.text, c.problem);
      assert.equal(step.outcome, 'skipped');
      // ... and next to a wildcard deny entry, that entry decides.
      const withDenyAll = expectVerdict(compile({ '/ws/api.hcl': refused, '/ws/all.hcl': denyAllOthers }, 'allow'), get, 'deny');
      assert.match(withDenyAll.reason, /service-intentions \* Sources\[0\] \*/);
    });
  }

  it('Permissions on an entry for a wildcard destination', () => {
    const p = compile(hcl(entry('*', '{ Name = "web", Permissions = [{ Action = "deny", HTTP { PathPrefix = "/" } }] }')), 'allow');
    const d = expectVerdict(p, get, 'allow');
    assert.ok(d.trace.some((t) => /service-intentions \* is not in effect: .*has Permissions, which an entry for a wildcard destination cannot have/.test(t.text)));
  });

  it('the CRD: the webhook takes methods as written, so lower case is refused; both action and permissions too', () => {
    const crd = (source: string) => yaml(`apiVersion: consul.hashicorp.com/v1alpha1\nkind: ServiceIntentions\nmetadata: {name: api}\nspec:\n  destination: {name: api}\n  sources:\n    - ${source}\n`);
    const lower = expectVerdict(compile(crd('{name: web, permissions: [{action: deny, http: {methods: [get]}}]}'), 'allow'), get, 'allow');
    assert.ok(lower.trace.some((t) => /ServiceIntentions api is not in effect: .*sources\[0\] web permissions\[0\] has the method "get"/.test(t.text)), lower.trace.map((t) => t.text).join('\n'));
    expectVerdict(compile(crd('{name: web, permissions: [{action: deny, http: {methods: [GET]}}]}'), 'allow'), get, 'deny', 'upper case is accepted');
    const both = expectVerdict(compile(crd('{name: web, action: deny, permissions: [{action: deny, http: {pathPrefix: /}}]}'), 'allow'), get, 'allow');
    assert.ok(both.trace.some((t) => /sources\[0\] web sets both action and permissions/.test(t.text)));
    // A wrong type that only the CRD's schema catches (spec §3.7.3): the API server refuses the object.
    const typed = expectVerdict(compile(crd('{name: web, action: deny, description: 2024}'), 'allow'), get, 'allow');
    assert.ok(typed.trace.some((t) => /ServiceIntentions api is not in effect: Consul refuses to store it \(description must be a string/.test(t.text)), typed.trace.map((t) => t.text).join('\n'));
    expectVerdict(compile(crd('{name: web, action: deny, description: "2024"}'), 'allow'), get, 'deny', 'written as a string, it is stored');
  });

  it('keys in any letter case or as snake_case aliases are known keys, not refused', () => {
    const written = 'kind = "service-intentions"\nname = "api"\nsources = [\n  { name = "web", permissions = [{ action = "deny", http { path_prefix = "/v1", methods = ["GET"] } }] },\n]\n';
    const d = expectVerdict(compile(hcl(written), 'allow'), get, 'deny');
    assert.ok(!d.trace.some((t) => /not in effect/.test(t.text)), d.trace.map((t) => t.text).join('\n'));
  });

  it('values consul config write converts weakly decide as converted, not as absent', () => {
    const written = entry('api', '{ Name = "web", Permissions = [{ Action = "allow", HTTP { PathPrefix = "/v1", Methods = "GET", Header = { Name = "x-a", Present = "true" } } }] }');
    const p = compile(hcl(written), 'deny');
    expectVerdict(p, { ...get, headers: { 'x-a': '1' } }, 'allow', 'GET with the header');
    expectVerdict(p, { ...get, method: 'POST', headers: { 'x-a': '1' } }, 'deny', 'Methods = "GET" is the list [GET]');
    expectVerdict(p, get, 'deny', 'Header = {...} is a one-header list, Present = "true" is true');
  });

  it('a value consul config write cannot convert refuses the entry', () => {
    const d = expectVerdict(compile(hcl(entry('api', '{ Name = "web", Permissions = [{ Action = "deny", HTTP { PathPrefix = "/v1", Header = [{ Name = "x-a", Present = "yes" }] } }] }')), 'allow'), get, 'allow');
    assert.ok(d.trace.some((t) => /Consul refuses to store it \(cannot parse 'Sources\[0\]\.Permissions\[0\]\.HTTP\.Header\[0\]\.Present' as bool/.test(t.text)), d.trace.map((t) => t.text).join('\n'));
  });

  it('the CRD: an unknown field is dropped by the API server, not refused', () => {
    const crd = yaml('apiVersion: consul.hashicorp.com/v1alpha1\nkind: ServiceIntentions\nmetadata: {name: api}\nspec:\n  destination: {name: api}\n  sources:\n    - {name: web, action: deny, colour: blue}\n');
    expectVerdict(compile(crd, 'allow'), get, 'deny');
  });

  it('the largest Meta Consul accepts (64 pairs, 128-byte keys, 512-byte values) is stored', () => {
    const meta = `Meta = {\n${Array.from({ length: 64 }, (_, i) => `  "${String(i).padStart(3, '0')}${'k'.repeat(125)}" = "${'v'.repeat(512)}"\n`).join('')}}`;
    const d = expectVerdict(compile(hcl(entry('api', '{ Name = "web", Action = "deny" }', meta)), 'allow'), get, 'deny');
    assert.ok(!d.trace.some((t) => /not in effect/.test(t.text)));
  });

  it('a valid entry is not refused: the same sources written correctly decide', () => {
    const p = compile(hcl(entry('api', '{ Name = "web", Permissions = [{ Action = "deny", HTTP { PathPrefix = "/v1", Methods = ["GET"], Header = [{ Name = "x-a", Present = true }] } }] }')), 'allow');
    const d = expectVerdict(p, { ...get, headers: { 'x-a': '1' } }, 'deny');
    assert.ok(!d.trace.some((t) => /not in effect/.test(t.text)));
  });
});

// ---------------------------------------------------------------------------- §3.6 L7 matching

describe('consul §3.6 L7 matching', () => {
  const one = (http: string, action = 'allow') => hcl(entry('api', `{ Name = "web", Permissions = [ { Action = "${action}", HTTP { ${http} } } ] }`));
  const table: [string, string, Partial<CallSpec>, Expect][] = [
    ['PathExact', 'PathExact = "/healthz"', { path: '/healthz' }, 'allow'],
    ['PathExact ignores the query string', 'PathExact = "/healthz"', { path: '/healthz?verbose=1' }, 'allow'],
    ['PathExact ignores the fragment', 'PathExact = "/healthz"', { path: '/healthz#x' }, 'allow'],
    ['PathExact is case-sensitive', 'PathExact = "/healthz"', { path: '/Healthz' }, 'deny'],
    ['PathExact trailing slash differs', 'PathExact = "/healthz"', { path: '/healthz/' }, 'deny'],
    ['PathPrefix is a plain string prefix', 'PathPrefix = "/v2"', { path: '/v2beta/x' }, 'allow'],
    ['PathPrefix no match', 'PathPrefix = "/v2"', { path: '/v1/x' }, 'deny'],
    ['PathRegex is a full match', 'PathRegex = "/orders/[0-9]+"', { path: '/orders/12' }, 'allow'],
    ['PathRegex partial is no match', 'PathRegex = "/orders/[0-9]+"', { path: '/orders/12/items' }, 'deny'],
    ['PathRegex RE2 classes', 'PathRegex = "/u/\\\\pL+"', { path: '/u/Zoë' }, 'allow'],
    ['PathRegex against the path without query', 'PathRegex = "/a/.*"', { path: '/a/b?c=d' }, 'allow'],
    ['Methods list', 'Methods = ["GET", "HEAD"]', { method: 'HEAD', path: '/' }, 'allow'],
    ['Methods no match', 'Methods = ["GET", "HEAD"]', { method: 'POST', path: '/' }, 'deny'],
    ['Methods in a config entry are upper-cased', 'Methods = ["get"]', { method: 'GET', path: '/' }, 'allow'],
    ['request methods are case-sensitive', 'Methods = ["GET"]', { method: 'get', path: '/' }, 'deny'],
    ['Header Exact', 'Header = [{ Name = "x-team", Exact = "ops" }]', { headers: { 'x-team': 'ops' } }, 'allow'],
    // a native log records few headers (spec §4.0): one it does not print may have been sent
    ['a header the log does not record: unknown', 'Header = [{ Name = "x-team", Exact = "ops" }]', { recordedHeaders: ['user-agent', 'x-forwarded-for'] }, 'unknown'],
    ['an inverted one too', 'Header = [{ Name = "x-team", Exact = "ops", Invert = true }]', { recordedHeaders: ['user-agent'] }, 'unknown'],
    ['a header the log records, not sent: absent', 'Header = [{ Name = "user-agent", Present = true }]', { recordedHeaders: ['user-agent'] }, 'deny'],
    ['a header the log does not record, where the path already fails', 'PathPrefix = "/v2", Header = [{ Name = "x-team", Exact = "ops" }]', { path: '/v1', recordedHeaders: [] }, 'deny'],
    ['Header name is case-insensitive', 'Header = [{ Name = "X-Team", Exact = "ops" }]', { headers: { 'x-TEAM': 'ops' } }, 'allow'],
    ['Header Exact is case-sensitive', 'Header = [{ Name = "x-team", Exact = "ops" }]', { headers: { 'x-team': 'OPS' } }, 'deny'],
    ['Header Exact IgnoreCase', 'Header = [{ Name = "x-team", Exact = "ops", IgnoreCase = true }]', { headers: { 'x-team': 'OPS' } }, 'allow'],
    ['Header Prefix', 'Header = [{ Name = "x-client", Prefix = "scanner/" }]', { headers: { 'x-client': 'scanner/2.1' } }, 'allow'],
    ['Header Prefix IgnoreCase', 'Header = [{ Name = "x-client", Prefix = "scanner/", IgnoreCase = true }]', { headers: { 'x-client': 'Scanner/2.1' } }, 'allow'],
    ['Header Suffix', 'Header = [{ Name = "x-trace", Suffix = "-sampled" }]', { headers: { 'x-trace': 'abc-sampled' } }, 'allow'],
    ['Header Contains', 'Header = [{ Name = "x-client", Contains = "console" }]', { headers: { 'x-client': 'web-console-1' } }, 'allow'],
    ['Header Contains IgnoreCase', 'Header = [{ Name = "x-client", Contains = "console", IgnoreCase = true }]', { headers: { 'x-client': 'WEB-CONSOLE' } }, 'allow'],
    ['Header Regex is a full match', 'Header = [{ Name = "user-agent", Regex = "curl" }]', { headers: { 'user-agent': 'curl/8.5.0' } }, 'deny'],
    ['Header Regex full', 'Header = [{ Name = "user-agent", Regex = "curl/.*" }]', { headers: { 'user-agent': 'curl/8.5.0' } }, 'allow'],
    ['Header Present', 'Header = [{ Name = "x-debug", Present = true }]', { headers: { 'x-debug': '' } }, 'allow'],
    ['Header Present, absent', 'Header = [{ Name = "x-debug", Present = true }]', { headers: {} }, 'deny'],
    ['Header Present + Invert matches an absent header', 'Header = [{ Name = "x-debug", Present = true, Invert = true }]', {}, 'allow'],
    ['Header Present + Invert, present', 'Header = [{ Name = "x-debug", Present = true, Invert = true }]', { headers: { 'x-debug': '1' } }, 'deny'],
    ['Header Exact + Invert on another value', 'Header = [{ Name = "x-env", Exact = "prod", Invert = true }]', { headers: { 'x-env': 'dev' } }, 'allow'],
    ['Header Exact + Invert on the value', 'Header = [{ Name = "x-env", Exact = "prod", Invert = true }]', { headers: { 'x-env': 'prod' } }, 'deny'],
    ['an absent header fails a value matcher even inverted (§0.2)', 'Header = [{ Name = "x-env", Exact = "prod", Invert = true }]', {}, 'deny'],
    ['Host reads the authority', 'Header = [{ Name = "host", Exact = "api.internal" }]', { host: 'api.internal' }, 'allow'],
    ['Host header from headers', 'Header = [{ Name = "Host", Exact = "api.internal" }]', { headers: { host: 'api.internal' } }, 'allow'],
    ['all criteria are AND-ed', 'PathPrefix = "/admin", Methods = ["GET"], Header = [{ Name = "x-team", Exact = "ops" }]', { method: 'GET', path: '/admin/x', headers: { 'x-team': 'dev' } }, 'deny'],
    ['all criteria are AND-ed, all hold', 'PathPrefix = "/admin", Methods = ["GET"], Header = [{ Name = "x-team", Exact = "ops" }]', { method: 'GET', path: '/admin/x', headers: { 'x-team': 'ops' } }, 'allow'],
  ];
  for (const [name, http, c, verdict] of table) {
    it(name, () => {
      const p = compile(one(http), 'deny');
      expectVerdict(p, { src: 'web', dst: 'api', method: 'GET', path: '/', ...c }, verdict);
    });
  }

  it('path normalization: dot segments, backslashes and unreserved escapes are rewritten; // and %2F are not (defaults)', () => {
    const p = compile(one('PathPrefix = "/admin"', 'deny'), 'allow');
    expectVerdict(p, { src: 'web', dst: 'api', method: 'GET', path: '/public/../admin/x' }, 'deny');
    expectVerdict(p, { src: 'web', dst: 'api', method: 'GET', path: '/public/%2E%2E/admin/x' }, 'deny');
    expectVerdict(p, { src: 'web', dst: 'api', method: 'GET', path: '/%61dmin/x' }, 'deny');
    expectVerdict(p, { src: 'web', dst: 'api', method: 'GET', path: '\\admin\\x' }, 'deny');
    const exact = compile(one('PathExact = "/a/b"', 'deny'), 'allow');
    expectVerdict(exact, { src: 'web', dst: 'api', method: 'GET', path: '/a//b' }, 'allow', 'merge_slashes is off by default');
    expectVerdict(exact, { src: 'web', dst: 'api', method: 'GET', path: '/a%2Fb' }, 'allow', 'escaped slashes are kept by default');
    const merged = compile(one('PathExact = "/a/b"', 'deny'), 'allow', { requestNormalization: { mergeSlashes: true, pathWithEscapedSlashesAction: 'UNESCAPE_AND_FORWARD' } });
    expectVerdict(merged, { src: 'web', dst: 'api', method: 'GET', path: '/a//b' }, 'deny');
    expectVerdict(merged, { src: 'web', dst: 'api', method: 'GET', path: '/a%2Fb' }, 'deny');
    const raw = compile(one('PathPrefix = "/admin"', 'deny'), 'allow', { requestNormalization: { insecureDisablePathNormalization: true } });
    expectVerdict(raw, { src: 'web', dst: 'api', method: 'GET', path: '/public/../admin/x' }, 'allow', 'before Consul 1.20.1 the raw path was matched');
  });

  it('normalization rejections answer 400 before RBAC', () => {
    const p = compile(one('PathPrefix = "/"'), 'deny', { requestNormalization: { pathWithEscapedSlashesAction: 'REJECT_REQUEST', headersWithUnderscoresAction: 'REJECT_REQUEST' } });
    const d = expectVerdict(p, { src: 'web', dst: 'api', method: 'GET', path: '/a%2fb' }, 'deny');
    assert.equal(d.status, 400);
    assert.equal(expectVerdict(p, { src: 'web', dst: 'api', method: 'GET', path: '/a', headers: { x_user: '1' } }, 'deny').status, 400);
    const drop = compile(one('Header = [{ Name = "x_user", Present = true }]'), 'deny', { requestNormalization: { headersWithUnderscoresAction: 'DROP_HEADER' } });
    expectVerdict(drop, { src: 'web', dst: 'api', method: 'GET', path: '/', headers: { x_user: '1' } }, 'deny', 'the header is dropped before matching');
  });

  it('an invalid RE2 pattern: Envoy rejects the configuration, so the verdict is unknown', () => {
    const p = compile(one('PathRegex = "/(?=x)"'), 'deny');
    const d = expectVerdict(p, { src: 'web', dst: 'api', method: 'GET', path: '/x' }, 'unknown');
    assert.match(d.reason, /not valid RE2/);
  });

  it('a pattern far over Envoy\'s RE2 program size limit: rejected as Envoy does, and never run against the paths', () => {
    // Envoy: re2.max_program_size.error_level, 100 by default (type/matcher/v3/regex.proto). Run,
    // this pattern takes about a second per long path.
    const p = compile(one('PathRegex = "/(.?){1000}"'), 'deny');
    const started = process.hrtime.bigint();
    for (let i = 0; i < 20; i++) {
      const d = expectVerdict(p, { src: 'web', dst: 'api', method: 'GET', path: `/${'a'.repeat(2000)}${i}` }, 'unknown');
      assert.match(d.reason, /program has 4,003 instructions, far over Envoy's limit of 100/);
    }
    assert.ok(Number(process.hrtime.bigint() - started) / 1e6 < 2000);
  });

  it('RE2 runs in linear time on a pattern that makes backtracking engines explode', () => {
    const p = compile(one('PathRegex = "/(a+)+$"'), 'deny');
    const started = process.hrtime.bigint();
    expectVerdict(p, { src: 'web', dst: 'api', method: 'GET', path: `/${'a'.repeat(5000)}!` }, 'deny');
    assert.ok(Number(process.hrtime.bigint() - started) / 1e6 < 2000);
  });

  it('attributes a permission needs but the record lacks: unknown, naming them (§4.0)', () => {
    const p = compile(one('PathPrefix = "/v1", Methods = ["GET"]'), 'deny');
    let d = expectVerdict(p, { src: 'web', dst: 'api', protocol: 'http', method: 'GET' }, 'unknown');
    assert.deepEqual(d.missing, ['request.path']);
    d = expectVerdict(p, { src: 'web', dst: 'api', protocol: 'http', path: '/v1' }, 'unknown');
    assert.deepEqual(d.missing, ['request.method']);
    // A failing criterion settles it whatever the missing one is.
    expectVerdict(p, { src: 'web', dst: 'api', protocol: 'http', path: '/v2' }, 'deny');
    // gRPC is always POST.
    expectVerdict(compile(one('Methods = ["POST"]'), 'deny'), { src: 'web', dst: 'api', protocol: 'grpc', path: '/pkg.Svc/M' }, 'allow');
    // Callers the L7 intention does not concern are decided without request attributes.
    expectVerdict(p, { src: 'cart', dst: 'api', protocol: 'http' }, 'deny');
  });
});

// ---------------------------------------------------------------------------- JWT

describe('consul JWT requirements (§3.5)', () => {
  const entryLevel = hcl(entry('reports', '{ Name = "dashboard", Action = "allow" }', 'JWT { Providers = [{ Name = "okta", VerifyClaims = [{ Path = ["aud"], Value = "reports-api" }] }] }'));
  const okta = { okta: { issuer: 'https://okta.example' } };
  const token = (claims: Record<string, unknown>, extra: object = {}) => ({ valid: true, issuer: 'https://okta.example', claims, ...extra });
  const r = (jwt?: CallSpec['jwt']): CallSpec => ({ src: 'dashboard', dst: 'reports', method: 'GET', path: '/reports/1', ...(jwt ? { jwt } : {}) });

  // Consul 1.16.1+ (PR #18062): jwt_authn passes every request (allow_missing_or_failed) and RBAC
  // alone checks the payload, so a missing or invalid token is an RBAC outcome (403), never a 401.
  it('entry-level JWT: a missing or invalid token fails the RBAC condition (403 under default deny, no 401)', () => {
    const p = compile(entryLevel, 'deny', { jwtProviders: okta });
    let d = expectVerdict(p, r(), 'deny');
    assert.equal(d.status, 403);
    d = expectVerdict(p, r({ valid: false }), 'deny');
    assert.equal(d.status, 403);
    const open = compile(entryLevel, 'allow', { jwtProviders: okta });
    expectVerdict(open, r(), 'allow', 'under default allow the allow intention has no RBAC policy, so its JWT changes nothing');
  });

  it('entry-level JWT: issuer and claims decide; a failure gives the default', () => {
    const p = compile(entryLevel, 'deny', { jwtProviders: okta });
    expectVerdict(p, r(token({ aud: 'reports-api' })), 'allow');
    // rbac.go segmentToPrincipal: VerifyClaims is a metadata `string_match` exact, and Envoy's
    // StringMatcherImpl::match(const ProtobufWkt::Value&) is false for any value that is not a
    // string (matchers.cc): a list claim never holds, even one that contains the value.
    expectVerdict(p, r(token({ aud: ['other', 'reports-api'] })), 'deny', 'a list claim is not a string: no match');
    expectVerdict(p, r(token({ aud: ['reports-api'] })), 'deny', 'a one-element list is not a string either');
    // The audiences field does not say whether the token's aud was a string or a list.
    const one = expectVerdict(p, r(token({}, { audiences: ['reports-api'] })), 'unknown', 'aud falls back to the audiences field: string or list');
    assert.deepEqual(one.missing, ['request.jwt.claims.aud']);
    expectVerdict(p, r(token({}, { audiences: ['other', 'reports-api'] })), 'deny', 'two audiences are a list');
    expectVerdict(p, r(token({}, { audiences: ['other'] })), 'deny', 'one other audience');
    const d = expectVerdict(p, r(token({ aud: 'other' })), 'deny');
    assert.match(d.reason, /JWT requirement is not met/);
    expectVerdict(p, r(token({ aud: 'reports-api' }, { issuer: 'https://evil.example' })), 'deny', 'the provider issuer must match');
  });

  // rbac.go jwtClaimToPrincipal/segmentToPrincipal: the claim path is a metadata path into the
  // jwt_authn payload and the value a `string_match` exact; Envoy's MetadataMatcher walks struct
  // keys only, and StringMatcherImpl matches only a string value (matchers.cc).
  it('VerifyClaims holds only against a string claim at a path of object keys', () => {
    const nested = hcl(entry('reports', '{ Name = "dashboard", Action = "allow" }', 'JWT { Providers = [{ Name = "okta", VerifyClaims = [{ Path = ["perms", "role"], Value = "admin" }] }] }'));
    const p = compile(nested, 'deny', { jwtProviders: okta });
    const cases: [string, Record<string, unknown>, 'allow' | 'deny'][] = [
      ['a string equal to the value', { perms: { role: 'admin' } }, 'allow'],
      ['a string that differs in case', { perms: { role: 'Admin' } }, 'deny'],
      ['a list containing the value', { perms: { role: ['admin'] } }, 'deny'],
      ['a list of several values', { perms: { role: ['user', 'admin'] } }, 'deny'],
      ['a path through a list', { perms: [{ role: 'admin' }] }, 'deny'],
      ['an object at the path', { perms: { role: { name: 'admin' } } }, 'deny'],
      ['the claim absent', { perms: {} }, 'deny'],
    ];
    for (const [name, claims, verdict] of cases) expectVerdict(p, r(token(claims)), verdict, name);
    const flag = compile(hcl(entry('reports', '{ Name = "dashboard", Action = "allow" }', 'JWT { Providers = [{ Name = "okta", VerifyClaims = [{ Path = ["admin"], Value = "true" }] }] }')), 'deny', { jwtProviders: okta });
    expectVerdict(flag, r(token({ admin: true })), 'deny', 'a boolean is not the string "true"');
    expectVerdict(flag, r(token({ admin: 'true' })), 'allow', 'the string "true"');
  });

  it('entry-level JWT does not apply on TCP', () => {
    const p = compile(entryLevel, 'deny', { jwtProviders: okta });
    expectVerdict(p, { src: 'dashboard', dst: 'reports', protocol: 'tcp' }, 'allow');
  });

  it('a valid token whose issuer is not configured counts as the single provider\'s (it passed jwt_authn)', () => {
    const p = compile(entryLevel, 'deny');
    expectVerdict(p, r(token({ aud: 'reports-api' })), 'allow');
  });

  it('two providers without configured issuers: unknown which one issued the token', () => {
    const p = compile(hcl(entry('reports', '{ Name = "dashboard", Action = "allow" }', 'JWT { Providers = [{ Name = "okta" }, { Name = "auth0" }] }')), 'deny');
    const d = expectVerdict(p, r(token({})), 'unknown');
    assert.ok(d.missing?.some((m) => m.includes('jwt-provider')));
    const q = compile(hcl(entry('reports', '{ Name = "dashboard", Action = "allow" }', 'JWT { Providers = [{ Name = "okta" }, { Name = "auth0" }] }')), 'deny', { jwtProviders: { okta: { issuer: 'a' }, auth0: { issuer: 'https://okta.example' } } });
    expectVerdict(q, r(token({})), 'allow');
  });

  it('a log that does not record the token (request.jwtUnknown): the JWT condition is unknown, unless the default decides alike', () => {
    const p = compile(entryLevel, 'deny', { jwtProviders: okta });
    const d = expectVerdict(p, { ...r(), jwtUnknown: true }, 'unknown');
    assert.ok(d.missing?.includes('request.jwt'), JSON.stringify(d.missing));
    const open = compile(entryLevel, 'allow', { jwtProviders: okta });
    expectVerdict(open, { ...r(), jwtUnknown: true }, 'allow', 'under default allow the allow intention has no RBAC policy');
  });

  it('token validity not recorded: unknown', () => {
    const p = compile(entryLevel, 'deny', { jwtProviders: okta });
    const d = expectVerdict(p, r({ issuer: 'https://okta.example', claims: { aud: 'reports-api' } }), 'unknown');
    assert.deepEqual(d.missing, ['request.jwt.valid']);
  });

  it('the CRD fixture: entry JWT AND permission JWT; a failed permission JWT gives the default, not the next permission', () => {
    const p = compile({ '/ws/crd-jwt.yaml': readFileSync(join(FIXTURES, 'schemas', 'consul', 'valid', 'crd-jwt.yaml'), 'utf8') }, 'allow', { jwtProviders: okta });
    expectVerdict(p, r(token({ aud: 'reports-api', perms: { role: 'analyst' } })), 'allow');
    // The next permission (deny /) would deny; the default (allow) applies instead.
    const d = expectVerdict(p, r(token({ aud: 'reports-api', perms: { role: 'viewer' } })), 'allow');
    assert.match(d.reason, /JWT requirement is not met/);
    expectVerdict(p, { ...r(token({ aud: 'reports-api' })), path: '/other' }, 'deny', 'the second permission');
  });
});

// ---------------------------------------------------------------------------- jwt-provider entries

/** Compiles with every file as the workspace's (`sourceFiles`), so that files holding only
 * jwt-provider entries are read too. */
function compileWorkspace(files: Record<string, string>, dflt: 'allow' | 'deny' = 'allow', options: ConsulSimulatorOptions = {}): ConsulPolicies {
  const set = policySet(files, dflt);
  set.sourceFiles = Object.entries(files).map(([path, text]) => engine.read(path, text));
  set.resources = set.resources.map((r) => ({ resource: r.resource, file: set.sourceFiles!.find((f) => f.path === r.file.path)! }));
  return createConsulSimulator(options).compile(set);
}

describe('consul jwt-provider entries in the workspace (jwt-provider reference; rbac.go newJWTInfo, jwt_authn.go)', () => {
  const intentions = fixtures('docs-jwt.hcl');
  const okta = fixtures('jwt-provider-okta.hcl');
  const admin = (extra: object = {}): CallSpec => ({ src: 'frontend', dst: 'backend', method: 'GET', path: '/admin', jwt: { valid: true, issuer: 'okta', claims: { perms: { role: 'admin' } }, ...extra } });
  const withAudiences = (audiences: string) => ({ '/ws/okta.hcl': `Kind = "jwt-provider"\nName = "okta"\nIssuer = "okta"\nAudiences = [${audiences}]\nJSONWebKeySet = { Local = { Filename = "/etc/jwks.json" } }\n` });
  const crd = (spec: string) => ({ '/ws/okta.yaml': `apiVersion: consul.hashicorp.com/v1alpha1\nkind: JWTProvider\nmetadata:\n  name: okta\nspec:\n${spec}` });

  // [name, provider files, options, token overrides, verdict]
  const table: [string, Record<string, string>, ConsulSimulatorOptions, object, Expect][] = [
    ['HCL entry: Issuer equals the token\'s iss', okta, {}, {}, 'allow'],
    ['HCL entry: another iss fails the RBAC condition, the default (deny) applies', okta, {}, { issuer: 'https://evil.example' }, 'deny'],
    ['iss read from the claims when the record has no issuer field', okta, {}, { issuer: undefined, claims: { iss: 'okta', perms: { role: 'admin' } } }, 'allow'],
    ['JSON entry, keys in another letter case', { '/ws/okta.json': JSON.stringify({ kind: 'jwt-provider', name: 'okta', issuer: 'okta', jsonWebKeySet: { Local: { Filename: '/etc/jwks.json' } } }) }, {}, {}, 'allow'],
    ['JWTProvider CRD: spec.issuer', crd('  issuer: okta\n  jsonWebKeySet:\n    remote:\n      uri: https://dev-1234.okta.com/oauth2/default/v1/keys\n'), {}, {}, 'allow'],
    ['JWTProvider CRD: another issuer', crd('  issuer: https://login.example\n'), {}, {}, 'deny'],
    ['a kubectl List holding the CRD', { '/ws/list.yaml': `apiVersion: v1\nkind: List\nitems:\n- apiVersion: consul.hashicorp.com/v1alpha1\n  kind: JWTProvider\n  metadata: {name: okta}\n  spec: {issuer: other}\n` }, {}, {}, 'deny'],
    ['Audiences: the token\'s aud names one of them', withAudiences('"backend-api", "admin-api"'), {}, { audiences: ['admin-api'] }, 'allow'],
    ['Audiences: aud from the claims (a string)', withAudiences('"backend-api"'), {}, { claims: { aud: 'backend-api', perms: { role: 'admin' } } }, 'allow'],
    ['Audiences: the token\'s aud names none of them', withAudiences('"backend-api"'), {}, { audiences: ['web'] }, 'deny'],
    ['Audiences: a token without aud', withAudiences('"backend-api"'), {}, {}, 'deny'],
    ['no Issuer in the entry: rbac.go compares iss with the empty string', { '/ws/okta.hcl': 'Kind = "jwt-provider"\nName = "okta"\nJSONWebKeySet = { Local = { Filename = "/etc/jwks.json" } }\n' }, {}, {}, 'deny'],
    ['the entry wins over consul.jwtProviders', okta, { jwtProviders: { okta: { issuer: 'https://elsewhere.example' } } }, {}, 'allow'],
    ['no entry: consul.jwtProviders is the fallback', {}, { jwtProviders: { okta: { issuer: 'https://elsewhere.example' } } }, {}, 'deny'],
    ['an entry for another provider only: the fallback for okta still applies', { '/ws/auth0.hcl': 'Kind = "jwt-provider"\nName = "auth0"\nIssuer = "https://auth0.example/"\n' }, { jwtProviders: { okta: { issuer: 'okta' } } }, {}, 'allow'],
    ['two identical copies of the entry count once', { ...okta, '/ws/copy/okta.hcl': okta[Object.keys(okta)[0]!]! }, {}, {}, 'allow'],
    ['two differing definitions: unknown which one Consul holds', { ...okta, ...crd('  issuer: https://login.example\n') }, {}, {}, 'unknown'],
  ];
  for (const [name, providers, options, token, verdict] of table) {
    it(name, () => {
      const p = compileWorkspace({ ...intentions, ...providers }, 'deny', options);
      const c = admin(token);
      if (c.jwt && 'issuer' in token && token.issuer === undefined) delete c.jwt.issuer;
      expectVerdict(p, c, verdict);
    });
  }

  it('the trace names the entry and its range, and says when the configured issuer is not used', () => {
    const p = compileWorkspace({ ...intentions, ...okta }, 'deny', { jwtProviders: { okta: { issuer: 'https://elsewhere.example' } } });
    const d = p.decide(call(admin({ issuer: 'https://evil.example' })));
    const path = Object.keys(okta)[0]!;
    const step = d.trace.find((s) => s.at?.file === path);
    assert.ok(step, d.trace.map((s) => s.text).join('\n'));
    assert.equal(step.outcome, 'not-matched');
    assert.deepEqual([step.at!.range.start.line, step.at!.range.end.line], [2, 16]);
    assert.equal(step.at!.label, 'jwt-provider okta');
    assert.match(step.text, new RegExp(`jwt-provider "okta" \\(${path.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&')}:3-17\\)`));
    assert.match(step.text, /Issuer "okta" ≠ the token's iss "https:\/\/evil.example"/);
    assert.match(step.text, /consul\.jwtProviders\.okta\.issuer "https:\/\/elsewhere\.example" is not used/);
  });

  it('two differing definitions: missing names both places', () => {
    const p = compileWorkspace({ ...intentions, ...okta, ...crd('  issuer: https://login.example\n') }, 'deny');
    const d = p.decide(call(admin()));
    assert.equal(d.missing?.length, 1);
    assert.match(d.missing![0]!, /which definition of jwt-provider okta Consul holds .*jwt-provider "okta" .*JWTProvider "okta" \(\/ws\/okta\.yaml:1-6\)/);
  });

  it('without the workspace\'s file list, the files holding the intentions are read (a JWTProvider beside them)', () => {
    const text = `${crd('  issuer: okta\n')['/ws/okta.yaml']!}---\napiVersion: consul.hashicorp.com/v1alpha1\nkind: ServiceIntentions\nmetadata: {name: backend}\nspec:\n  destination: {name: backend}\n  jwt:\n    providers: [{name: okta}]\n  sources: [{name: frontend, action: allow}]\n`;
    const p = compile({ '/ws/all.yaml': text }, 'deny', { jwtProviders: { okta: { issuer: 'https://elsewhere.example' } } });
    expectVerdict(p, admin(), 'allow');
    expectVerdict(p, admin({ issuer: 'https://elsewhere.example' }), 'deny');
  });

  it('fileInputs: the simulator\'s digest of a file changes with its jwt-provider entries only', () => {
    const path = Object.keys(okta)[0]!;
    const text = okta[path]!;
    const inputs = (t: string) => consulSimulator.fileInputs(engine.read(path, t));
    assert.notEqual(inputs(text), '');
    assert.equal(inputs(text), inputs(text));
    assert.notEqual(inputs(text), inputs(text.replace('Issuer = "okta"', 'Issuer = "okta2"')));
    assert.notEqual(inputs(text), inputs(text.replace('Kind = "jwt-provider"', 'Audiences = ["a"]\nKind = "jwt-provider"')));
    assert.equal(consulSimulator.fileInputs(engine.read('/ws/policy.hcl', entry('api', '{ Name = "web", Action = "allow" }'))), '');
  });

  it('globals change with an entry, so every call of the mesh is decided again after an edit', () => {
    const before = compileWorkspace({ ...intentions, ...okta }, 'deny');
    const same = compileWorkspace({ ...intentions, ...okta }, 'deny');
    const edited = compileWorkspace({ ...intentions, [Object.keys(okta)[0]!]: okta[Object.keys(okta)[0]!]!.replace('Issuer = "okta"', 'Issuer = "okta2"') }, 'deny');
    const moved = compileWorkspace({ ...intentions, [Object.keys(okta)[0]!]: `\n${okta[Object.keys(okta)[0]!]!}` }, 'deny');
    assert.equal(before.globals(), same.globals());
    assert.notEqual(before.globals(), edited.globals());
    assert.notEqual(before.globals(), moved.globals(), 'traces cite the place');
    assert.equal(before.decide(call(admin())).verdict, 'allow');
    assert.equal(edited.decide(call(admin())).verdict, 'deny');
  });
});

const SERVER_CONFIG_MAP = (more: string) => `apiVersion: v1
kind: ConfigMap
metadata:
  name: consul-server-config
  namespace: consul
data:
  server.json: '{"bind_addr": "0.0.0.0", "bootstrap_expect": 1}'
  acl-config.json: |
    {"acl": {"enabled": true, "default_policy": "deny", "down_policy": "extend-cache", "enable_token_persistence": true}}
${more}`;

describe('consul agent configuration in the workspace: the default intention policy (agent default_intention_policy, else acl.default_policy; allow with ACLs disabled)', () => {
  // api has an intention for web only: any other caller falls to the default.
  const intentions = hcl(entry('api', '{ Name = "web", Action = "allow" }'));
  const other: CallSpec = { src: 'billing', dst: 'api' };
  const cases: Array<[string, Record<string, string>, 'allow' | 'deny', RegExp]> = [
    ['no agent configuration: allow', {}, 'allow', /default intention policy \(allow, from consul\.defaultIntentionPolicy\)/],
    ['ACLs enabled, default_policy deny (HCL block)', { '/ws/agent/acl.hcl': 'acl {\n  enabled = true\n  default_policy = "deny"\n  enable_token_persistence = true\n}\n' }, 'deny', /acl\.default_policy = "deny" in the agent configuration \/ws\/agent\/acl\.hcl:1-5/],
    ['ACLs enabled, default_policy deny (HCL attribute form)', { '/ws/agent/consul.hcl': 'datacenter = "dc1"\nacl = {\n  enabled = true\n  default_policy = "deny"\n}\n' }, 'deny', /acl\.default_policy = "deny"/],
    ['ACLs enabled without default_policy: allow', { '/ws/agent/consul.hcl': 'connect {\n  enabled = true\n}\nacl {\n  enabled = true\n}\n' }, 'allow', /ACLs enabled without acl\.default_policy \(allow\)/],
    ['default_policy deny but ACLs not enabled: allow', { '/ws/agent/acl.hcl': 'acl {\n  default_policy = "deny"\n}\n' }, 'allow', /ACLs not enabled \(no acl\.enabled\)/],
    ['default_intention_policy wins over the ACL default', { '/ws/agent/a.hcl': 'default_intention_policy = "allow"\n', '/ws/agent/b.hcl': 'acl {\n  enabled = true\n  default_policy = "deny"\n}\n' }, 'allow', /default_intention_policy = "allow"/],
    ['the JSON form, settings merged across files', { '/ws/agent/acl.json': '{"acl": {"enabled": true}, "connect": {"enabled": true}}', '/ws/agent/policy.json': '{"acl": {"default_policy": "deny", "down_policy": "extend-cache"}}' }, 'deny', /acl\.default_policy = "deny" in the agent configuration \/ws\/agent\/policy\.json/],
    ['consul-k8s Helm values with manageSystemACLs', { '/ws/helm/values.yaml': 'global:\n  name: consul\n  acls:\n    manageSystemACLs: true\nconnectInject:\n  enabled: true\n' }, 'deny', /global\.acls\.manageSystemACLs in the Helm values/],
    ['Helm values without managed ACLs: allow', { '/ws/helm/values.yaml': 'global:\n  acls:\n    manageSystemACLs: false\n' }, 'allow', /ACLs disabled in the Helm values/],
    ['a Nomad agent\'s acl block is not Consul\'s', { '/ws/nomad/agent.hcl': 'datacenter = "dc1"\nacl {\n  enabled = true\n}\n' }, 'allow', /consul\.defaultIntentionPolicy/],
    // Consul merges an agent's files in lexical order, a later file's setting over an earlier one's
    ['a later file wins where two set the same key', { '/ws/agent/10-deny.hcl': 'default_intention_policy = "deny"\n', '/ws/agent/20-allow.hcl': 'default_intention_policy = "allow"\n' }, 'allow', /default_intention_policy = "allow" in the agent configuration \/ws\/agent\/20-allow\.hcl/],
    ['a later file\'s acl.default_policy wins', { '/ws/agent/a.json': '{"acl": {"enabled": true, "default_policy": "allow"}}', '/ws/agent/b.json': '{"acl": {"default_policy": "deny"}}' }, 'deny', /acl\.default_policy = "deny" in the agent configuration \/ws\/agent\/b\.json/],
    // consul-k8s's server ConfigMap (charts/consul/templates/server-config-configmap.yaml), as a kubectl dump has it
    ['a ConfigMap\'s agent configuration files (consul-k8s acl-config.json)', { '/ws/k8s/server-config.yaml': SERVER_CONFIG_MAP('') }, 'deny', /acl\.default_policy = "deny" in the agent configuration \/ws\/k8s\/server-config\.yaml:8/],
    ['a ConfigMap\'s files read in the order of their names (extra-from-values.json after acl-config.json)', { '/ws/k8s/server-config.yaml': SERVER_CONFIG_MAP('  extra-from-values.json: |\n    {"acl": {"default_policy": "allow"}}\n') }, 'allow', /acl\.default_policy = "allow" in the agent configuration \/ws\/k8s\/server-config\.yaml:10/],
    ['a ConfigMap key that names no .json or .hcl file is not read', { '/ws/k8s/app.yaml': 'apiVersion: v1\nkind: ConfigMap\nmetadata: {name: app}\ndata:\n  acl.txt: \'{"acl": {"enabled": true, "default_policy": "deny"}}\'\n' }, 'allow', /consul\.defaultIntentionPolicy/],
    ['an acl block in a ConfigMap\'s file is Consul\'s only by a key Nomad\'s lacks, as in a file', { '/ws/k8s/nomad.yaml': 'apiVersion: v1\nkind: ConfigMap\nmetadata: {name: nomad}\ndata:\n  agent.hcl: |\n    acl {\n      enabled = true\n    }\n' }, 'allow', /consul\.defaultIntentionPolicy/],
    ['Helm server.extraConfig comes after the chart\'s ACL settings', { '/ws/helm/values.yaml': 'global:\n  acls:\n    manageSystemACLs: true\nserver:\n  extraConfig: |\n    {"acl": {"default_policy": "allow"}}\n' }, 'allow', /acl\.default_policy = "allow" in the agent configuration \/ws\/helm\/values\.yaml:5/],
    ['Helm server.extraConfig with default_intention_policy', { '/ws/helm/values.yaml': 'global:\n  acls:\n    manageSystemACLs: false\nserver:\n  extraConfig: \'{"default_intention_policy": "deny"}\'\n' }, 'deny', /default_intention_policy = "deny" in the agent configuration \/ws\/helm\/values\.yaml:5/],
  ];
  for (const [name, files, verdict, source] of cases) {
    it(name, () => {
      const d = expectVerdict(compileWorkspace({ ...intentions, ...files }, 'allow'), other, verdict);
      assert.ok(d.trace.some((st) => source.test(st.text)), d.trace.map((st) => st.text).join('\n'));
      expectVerdict(compileWorkspace({ ...intentions, ...files }, 'allow'), { src: 'web', dst: 'api' }, 'allow', 'the intention still decides its caller');
    });
  }

  it('consul.defaultIntentionPolicy set in .meshpolicy.yaml wins over the agents', () => {
    const set = policySet({ ...intentions, '/ws/agent/acl.hcl': 'acl {\n  enabled = true\n  default_policy = "deny"\n}\n' });
    set.sourceFiles = Object.entries({ ...intentions, '/ws/agent/acl.hcl': 'acl {\n  enabled = true\n  default_policy = "deny"\n}\n' }).map(([path, text]) => engine.read(path, text));
    set.config.consulSet = ['defaultIntentionPolicy'];
    expectVerdict(createConsulSimulator().compile(set), other, 'allow');
  });

  it('fileInputs and globals change with the agent settings', () => {
    const inputs = (t: string) => consulSimulator.fileInputs(engine.read('/ws/agent/acl.hcl', t));
    const deny = 'acl {\n  enabled = true\n  default_policy = "deny"\n}\n';
    assert.notEqual(inputs(deny), '');
    assert.notEqual(inputs(deny), inputs(deny.replace('deny', 'allow')));
    assert.notEqual(compileWorkspace({ ...intentions, '/ws/agent/acl.hcl': deny }).globals(), compileWorkspace({ ...intentions, '/ws/agent/acl.hcl': deny.replace('deny', 'allow') }).globals());
  });
});

describe('consul mesh entries in the workspace: request normalization (case-l7-intentions-request-normalization)', () => {
  const intentions = hcl(entry('api', '{ Name = "web", Permissions = [ { Action = "deny", HTTP { PathExact = "/a/b" } } ] }'));
  const meshHcl = (body: string) => ({ '/ws/mesh.hcl': `kind = "mesh"\nhttp {\n  incoming {\n    request_normalization {\n${body}\n    }\n  }\n}\n` });
  const merge = meshHcl('      merge_slashes = true\n      headers_with_underscores_action = "REJECT_REQUEST"');
  const req = (path: string, headers?: Record<string, string>): CallSpec => ({ src: 'web', dst: 'api', method: 'GET', path, ...(headers ? { headers } : {}) });

  it('the entry\'s settings apply (snake_case HCL), and the trace cites it', () => {
    const p = compileWorkspace({ ...intentions, ...merge }, 'allow');
    const d = expectVerdict(p, req('/a//b'), 'deny');
    assert.ok(d.trace.some((st) => /request normalization: mesh entry \(\/ws\/mesh\.hcl:1-9\)/.test(st.text)), d.trace.map((st) => st.text).join('\n'));
    assert.equal(expectVerdict(p, req('/x', { x_user: '1' }), 'deny').status, 400);
    expectVerdict(compileWorkspace(intentions, 'allow'), req('/a//b'), 'allow', 'without the entry: Consul\'s defaults keep //');
  });

  it('the entry wins over consul.requestNormalization, which is the fallback without one', () => {
    const configured = { requestNormalization: { mergeSlashes: false, headersWithUnderscoresAction: 'ALLOW' as const } };
    const d = expectVerdict(compileWorkspace({ ...intentions, ...merge }, 'allow', configured), req('/a//b'), 'deny');
    assert.ok(d.trace.some((st) => /consul\.requestNormalization is not used/.test(st.text)));
    expectVerdict(compileWorkspace(intentions, 'allow', { requestNormalization: { mergeSlashes: true } }), req('/a//b'), 'deny');
  });

  it('the JSON form, any letter case, and the Mesh custom resource', () => {
    const json = { '/ws/mesh.json': '{"Kind": "mesh", "HTTP": {"Incoming": {"RequestNormalization": {"MergeSlashes": true}}}}' };
    expectVerdict(compileWorkspace({ ...intentions, ...json }, 'allow'), req('/a//b'), 'deny');
    const crd = { '/ws/mesh.yaml': 'apiVersion: consul.hashicorp.com/v1alpha1\nkind: Mesh\nmetadata: {name: mesh}\nspec:\n  http:\n    incoming:\n      requestNormalization: {pathWithEscapedSlashesAction: UNESCAPE_AND_FORWARD}\n' };
    expectVerdict(compileWorkspace({ ...intentions, ...crd }, 'allow'), req('/a%2Fb'), 'deny');
    expectVerdict(compileWorkspace({ ...intentions, ...crd }, 'allow'), req('/a//b'), 'allow');
  });

  it('two differing entries: unknown where they decide differently, naming both', () => {
    const other = { '/ws/mesh2.hcl': 'Kind = "mesh"\n' };
    const p = compileWorkspace({ ...intentions, ...merge, ...other }, 'allow');
    const d = expectVerdict(p, req('/a//b'), 'unknown');
    assert.match(d.missing?.join() ?? '', /which mesh entry Consul holds \(mesh entry \(\/ws\/mesh\.hcl:1-9\), mesh entry \(\/ws\/mesh2\.hcl:1\)\)/);
    expectVerdict(p, req('/a/b'), 'deny', 'both settings give the same verdict');
    expectVerdict(p, { ...req('/a//b'), src: 'db' }, 'allow', 'no intention reads the request of a caller without one');
    expectVerdict(compileWorkspace({ ...intentions, ...merge, '/ws/same.hcl': merge['/ws/mesh.hcl']!.replace('merge_slashes = true', 'MergeSlashes = true') }, 'allow'), req('/a//b'), 'deny', 'identical settings are one definition');
  });

  it('fileInputs and globals change with the entry', () => {
    const path = '/ws/mesh.hcl';
    const inputs = (t: string) => consulSimulator.fileInputs(engine.read(path, t));
    const text = merge[path]!;
    assert.notEqual(inputs(text), '');
    assert.notEqual(inputs(text), inputs(text.replace('merge_slashes = true', 'merge_slashes = false')));
    const before = compileWorkspace({ ...intentions, ...merge }, 'allow');
    const edited = compileWorkspace({ ...intentions, [path]: text.replace('merge_slashes = true', 'merge_slashes = false') }, 'allow');
    assert.notEqual(before.globals(), edited.globals());
    expectVerdict(edited, req('/a//b'), 'allow');
  });
});

// ---------------------------------------------------------------------------- §3.8

describe('consul §3.8 consul intention check', () => {
  const p = compile({ ...fixtures('docs-l4-l7.json') }, 'deny');
  const table: [string, boolean][] = [['web', true], ['hackathon-project', false], ['nightly-reconciler', false], ['other', false]];
  for (const [src, allowed] of table) {
    it(`${src} → api: ${allowed ? 'Allowed' : 'Denied'}`, () => {
      const r = p.intentionCheck({ name: src }, { name: 'api' });
      assert.equal(r.allowed, allowed, r.reason);
    });
  }
  it('L7 intention: check says Denied while the proxy allows the matching request', () => {
    assert.match(p.intentionCheck({ name: 'nightly-reconciler' }, { name: 'api' }).reason, /L7/);
    const e = p.explain(call({ src: 'nightly-reconciler', dst: 'api', method: 'POST', path: '/v1/reconcile-data' }));
    assert.equal(e.verdict, 'allow');
    assert.ok(e.trace.some((s) => /consul intention check would answer Denied/.test(s.text)));
  });
});

// ---------------------------------------------------------------------------- §4.3 missing attributes

describe('consul §4.3 what a call must carry', () => {
  it('no destination service: decided when no entry names one, unknown otherwise', () => {
    const onlyWildcard = compile(fixtures('deny-all.hcl'), 'allow');
    expectVerdict(onlyWildcard, { src: 'web' }, 'deny');
    const named = compile(fixtures('deny-all.hcl', 'allow-web-api.hcl'), 'allow');
    const d = expectVerdict(named, { src: 'web' }, 'unknown');
    assert.deepEqual(d.missing, ['destination.service']);
    expectVerdict(named, { src: 'cart' }, 'deny', 'cart is denied wherever it calls');
  });

  it('Enterprise, no principal and no source.namespace: unknown when the namespace matters', () => {
    const p = compile(hcl(entry('api', '{ Name = "web", Namespace = "team", Action = "allow" }')), 'deny');
    const d = expectVerdict(p, { service: 'web', dst: 'api', dstNs: 'default' }, 'unknown');
    assert.ok(d.missing?.includes('source.namespace'));
    expectVerdict(p, { service: 'cart', dst: 'api', dstNs: 'default' }, 'deny');
  });

  it('two different definitions of one destination: unknown unless they agree', () => {
    const a = entry('api', '{ Name = "web", Action = "allow" }');
    const b = entry('api', '{ Name = "web", Action = "deny" }');
    const p = compile({ '/ws/prod/api.hcl': a, '/ws/dev/api.hcl': b }, 'deny');
    const d = expectVerdict(p, { src: 'web', dst: 'api' }, 'unknown');
    assert.match(d.missing![0]!, /which definition/);
    expectVerdict(p, { src: 'cart', dst: 'api' }, 'deny');
    expectVerdict(compile({ '/ws/prod/api.hcl': a, '/ws/dev/api.hcl': a }, 'deny'), { src: 'web', dst: 'api' }, 'allow', 'identical copies agree');
  });

  it('classifies against what was observed', () => {
    const p = compile(fixtures('docs-l4.yaml'), 'allow');
    assert.equal(classify(p.decide({ ...call({ src: 'web', dst: 'db' }), observed: 'allowed' }), 'allowed'), 'newly-denied');
    assert.equal(classify(p.decide({ ...call({ src: 'api', dst: 'db' }), observed: 'allowed' }), 'allowed'), 'unchanged');
  });
});

// ---------------------------------------------------------------------------- docs scenarios

describe('consul scenarios from the docs', () => {
  it('deny all, then allow web → api (default allow, ACLs disabled)', () => {
    const p = compile(fixtures('deny-all.hcl', 'allow-web-api.hcl'), 'allow');
    expectVerdict(p, { src: 'web', dst: 'api' }, 'allow');
    expectVerdict(p, { src: 'web', dst: 'db' }, 'deny');
    expectVerdict(p, { src: 'cart', dst: 'api' }, 'deny');
    expectVerdict(p, { src: 'web', dst: 'api', method: 'DELETE', path: '/anything' }, 'allow');
    const d = p.decide(call({ src: 'cart', dst: 'api' }));
    assert.match(d.rule!.label, /service-intentions \* Sources\[0\] \*/);
    assert.deepEqual(d.trace.filter((s) => s.outcome === 'applies').map((s) => s.text.split(' applies')[0]), ['service-intentions api', 'service-intentions *']);
  });

  it('wildcard destination: web is denied everywhere', () => {
    const p = compile(fixtures('docs-wildcard-destination.json'), 'allow');
    expectVerdict(p, { src: 'web', dst: 'db' }, 'deny');
    expectVerdict(p, { src: 'web', dst: 'payments' }, 'deny');
    expectVerdict(p, { src: 'api', dst: 'db' }, 'allow');
  });

  it('REST access: admin-dashboard and report-generator (default deny)', () => {
    const p = compile(fixtures('docs-rest.yaml'), 'deny');
    expectVerdict(p, { src: 'admin-dashboard', dst: 'api', method: 'DELETE', path: '/v2/widgets/1' }, 'allow');
    expectVerdict(p, { src: 'admin-dashboard', dst: 'api', method: 'PATCH', path: '/v2/widgets/1' }, 'deny');
    expectVerdict(p, { src: 'admin-dashboard', dst: 'api', method: 'GET', path: '/v1/widgets' }, 'deny');
    expectVerdict(p, { src: 'report-generator', dst: 'api', method: 'GET', path: '/v2/widgets?page=2' }, 'allow');
    expectVerdict(p, { src: 'report-generator', dst: 'api', method: 'POST', path: '/v2/widgets' }, 'deny');
    expectVerdict(p, { src: 'report-generator', dst: 'api', method: 'GET', path: '/v2/gadgets' }, 'deny');
    expectVerdict(p, { src: 'web', dst: 'api', method: 'GET', path: '/v2/widgets' }, 'deny');
  });

  it('gRPC: frontend-web may not IssueRefund', () => {
    const p = compile(fixtures('docs-grpc.hcl'), 'deny');
    const g = (src: string, method: string) => ({ src, dst: 'billing', protocol: 'grpc' as const, path: `/mycompany.BillingService/${method}` });
    const d = expectVerdict(p, g('frontend-web', 'IssueRefund'), 'deny');
    assert.match(d.reason, /Permissions\[0\]/);
    expectVerdict(p, g('frontend-web', 'ListInvoices'), 'allow');
    expectVerdict(p, g('support-portal', 'IssueRefund'), 'allow');
    expectVerdict(p, { src: 'frontend-web', dst: 'billing', protocol: 'grpc', path: '/mycompany.OtherService/X' }, 'deny');
  });

  it('L4 and L7 in one entry', () => {
    const p = compile(fixtures('docs-l4-l7.json'), 'deny');
    expectVerdict(p, { src: 'hackathon-project', dst: 'api', method: 'GET', path: '/' }, 'deny');
    expectVerdict(p, { src: 'web', dst: 'api', method: 'GET', path: '/anything' }, 'allow');
    expectVerdict(p, { src: 'nightly-reconciler', dst: 'api', method: 'POST', path: '/v1/reconcile-data' }, 'allow');
    expectVerdict(p, { src: 'nightly-reconciler', dst: 'api', method: 'GET', path: '/v1/reconcile-data' }, 'deny');
    // Under default allow the L7 source still gets the default for unmatched requests.
    expectVerdict(compile(fixtures('docs-l4-l7.json'), 'allow'), { src: 'nightly-reconciler', dst: 'api', method: 'GET', path: '/v1/reconcile-data' }, 'allow');
  });

  it('JWT: /admin needs an okta token with perms.role = admin, the rest is open to frontend', () => {
    const p = compile(fixtures('docs-jwt.hcl'), 'deny', { jwtProviders: { okta: { issuer: 'okta' } } });
    const jwt = (role: string) => ({ valid: true, issuer: 'okta', claims: { perms: { role } } });
    expectVerdict(p, { src: 'frontend', dst: 'backend', method: 'GET', path: '/admin', jwt: jwt('admin') }, 'allow');
    expectVerdict(p, { src: 'frontend', dst: 'backend', method: 'GET', path: '/admin', jwt: jwt('user') }, 'deny');
    assert.equal(p.decide(call({ src: 'frontend', dst: 'backend', method: 'GET', path: '/admin' })).status, 403);
    expectVerdict(p, { src: 'frontend', dst: 'backend', method: 'GET', path: '/home' }, 'allow');
    expectVerdict(p, { src: 'other', dst: 'backend', method: 'GET', path: '/home' }, 'deny');
  });

  it('upstream integration test case-l7-intentions (verify.bats), ACL default deny', () => {
    const p = compile(fixtures('upstream-case-l7-intentions.hcl'), 'deny');
    const req = (path: string, method = 'GET', hdr?: string): CallSpec => ({ src: 's1', dst: 's2', method, path, ...(hdr !== undefined ? { headers: { 'x-test-debug': hdr } } : {}) });
    const cases: [CallSpec, Expect][] = [
      [req('/exact'), 'allow'], [req('/exact-nope'), 'deny'],
      [req('/prefix'), 'allow'], [req('/nope-prefix'), 'deny'],
      [req('/regex'), 'allow'], [req('/reggex'), 'deny'],
      [req('/hdr-present', 'GET', 'anything'), 'allow'], [req('/hdr-present'), 'deny'],
      [req('/hdr-exact', 'GET', 'exact'), 'allow'], [req('/hdr-exact', 'GET', 'exact-nope'), 'deny'],
      [req('/hdr-prefix', 'GET', 'prefix'), 'allow'], [req('/hdr-prefix', 'GET', 'nope-prefix'), 'deny'],
      [req('/hdr-suffix', 'GET', 'suffix'), 'allow'], [req('/hdr-suffix', 'GET', 'suffix-nope'), 'deny'],
      [req('/hdr-regex', 'GET', 'regex'), 'allow'], [req('/hdr-regex', 'GET', 'reggex'), 'deny'],
      [req('/method-match', 'GET'), 'allow'], [req('/method-match', 'PUT'), 'allow'],
      [req('/method-match', 'POST'), 'deny'], [req('/method-match', 'HEAD'), 'deny'],
    ];
    for (const [c, v] of cases) expectVerdict(p, c, v);
  });
});

// ---------------------------------------------------------------------------- trace

describe('consul trace', () => {
  it('walks through entries, the matched source, each permission, and the verdict', () => {
    const p = compile(fixtures('docs-grpc.hcl'), 'deny');
    const d = p.decide(call({ src: 'frontend-web', dst: 'billing', protocol: 'grpc', path: '/mycompany.OtherService/X' }));
    const outcomes = d.trace.map((s) => s.outcome);
    assert.deepEqual(outcomes, ['applies', 'matched', 'not-matched', 'not-matched', 'verdict']);
    assert.match(d.trace[2]!.text, /Permissions\[0\]: PathExact .* does not match/);
    assert.match(d.trace[3]!.text, /Permissions\[1\]: PathPrefix .* does not match/);
    assert.ok(d.trace.every((s) => s.outcome === 'verdict' || s.at), 'steps carry SourceRefs');
  });

  it('explain lists every intention of the destination with why it does not match', () => {
    const p = compile(fixtures('deny-all.hcl', 'allow-web-api.hcl'), 'allow');
    const e = p.explain(call({ src: 'cart', dst: 'api' }));
    const texts = e.trace.map((s) => s.text).join('\n');
    assert.match(texts, /Sources\[0\] web \(default\/web, precedence 9\): does not match \(name web ≠ cart\)/);
    assert.match(texts, /Sources\[0\] \* \(default\/\*, precedence 5\): matches/);
    assert.match(texts, /consul intention check would answer Denied/);
  });
});

// ---------------------------------------------------------------------------- benchmark

describe('consul micro-benchmark (printed, not asserted)', () => {
  it('decides folded shapes against 1,000 intentions', () => {
    const files: Record<string, string> = {};
    let count = 0;
    const services = 250;
    for (let i = 0; i < services; i++) {
      const sources: string[] = [];
      for (let j = 0; j < 3; j++) sources.push(`{ Name = "svc-${(i * 7 + j * 13) % services}", Action = "${j % 2 ? 'deny' : 'allow'}" }`);
      if (i % 5 === 0) sources.push(`{ Name = "svc-${(i + 1) % services}", Permissions = [ { Action = "deny", HTTP { PathPrefix = "/admin" } }, { Action = "allow", HTTP { PathRegex = "/v[0-9]+/items/[0-9]+", Methods = ["GET", "HEAD"] } } ] }`);
      else sources.push('{ Name = "*", Action = "deny" }');
      count += sources.length;
      files[`/ws/svc-${i}.hcl`] = entry(`svc-${i}`, sources.join(',\n'));
    }
    files['/ws/all.hcl'] = entry('*', '{ Name = "monitor", Action = "allow" },\n{ Name = "*", Action = "deny" }');
    count += 2;
    const compileStart = process.hrtime.bigint();
    const p = compile(files, 'deny');
    const compileMs = Number(process.hrtime.bigint() - compileStart) / 1e6;
    // Shapes as the JSONL reader hands them over: parsed JSON, one object shape per kind of record.
    const built: AccessRecord[] = [];
    let seed = 42;
    const rnd = (n: number) => ((seed = (seed * 1103515245 + 12345) & 0x7fffffff) % n);
    for (let i = 0; i < 100_000; i++) {
      const principal = spiffe(`svc-${rnd(services + 20)}`);
      const service = `svc-${rnd(services + 20)}`;
      built.push(rnd(2) === 0
        ? { mesh: 'consul', protocol: 'http', source: { principal }, destination: { service }, request: { method: ['GET', 'POST', 'HEAD'][rnd(3)]!, path: ['/admin/x', `/v${rnd(3)}/items/${rnd(1000)}`, '/other'][rnd(3)]! } }
        : { mesh: 'consul', protocol: 'tcp', source: { principal }, destination: { service } });
    }
    const shapes = JSON.parse(JSON.stringify(built)) as AccessRecord[];
    for (const s of shapes) p.decide(s); // warm up (first decisions build per-destination RBAC)
    const rounds = 5;
    const start = process.hrtime.bigint();
    const cpu = process.cpuUsage();
    let allow = 0;
    for (let r = 0; r < rounds; r++) for (const s of shapes) if (p.decide(s).verdict === 'allow') allow++;
    const seconds = Number(process.hrtime.bigint() - start) / 1e9;
    const used = process.cpuUsage(cpu);
    const cpuSeconds = (used.user + used.system) / 1e6;
    const n = rounds * shapes.length;
    // Baseline: the same loop doing only the two map lookups every decision needs (caller, destination).
    const baseStart = process.hrtime.bigint();
    const keys = new Map<string, number>();
    let sink = 0;
    for (let r = 0; r < rounds; r++) for (const s of shapes) sink += (keys.get(s.source!.principal!) ?? 0) + (keys.get(s.destination!.service!) ?? 1);
    const baseSeconds = Number(process.hrtime.bigint() - baseStart) / 1e9;
    console.log(`consul simulator: ${count} intentions (${services + 1} entries), compile ${compileMs.toFixed(1)} ms; ${shapes.length} shapes × ${rounds}: `
      + `${(n / seconds / 1e6).toFixed(2)}M decisions/s wall, ${(n / cpuSeconds / 1e6).toFixed(2)}M per CPU-second `
      + `(baseline of two map lookups: ${(n / baseSeconds / 1e6).toFixed(1)}M/s; ${allow / rounds} allowed per round)`);
    assert.ok(sink >= 0);
    assert.ok(allow > 0);
  });
});

import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { describe, it } from 'node:test';
import { defaultConfig } from '../../../server/src/engine/config/projectConfig';
import { Engine } from '../../../server/src/engine/engine';
import { buildInventory } from '../../../server/src/engine/inventory/inventory';
import { istioSimulator, type IstioCompiled } from '../../../server/src/engine/simulate/istio';
import { cidrContains, parseCidr, parseIpInto } from '../../../server/src/engine/simulate/istio/ip';
import { compileTemplate, normalizePath } from '../../../server/src/engine/simulate/istio/path';
import type { Decision, PolicySet, Verdict } from '../../../server/src/engine/simulate/types';
import type { AccessRecord } from '../../../server/src/engine/traffic/accessRecord';
import { FIXTURES } from '../../helpers/paths';

// Expected verdicts come from ../shared/spec/mesh-semantics.md §1 and the Istio documentation,
// not from the implementation.

const engine = new Engine();
const FIXTURE_DIR = join(FIXTURES, 'simulate', 'istio');

interface Options {
  inventory?: string;
  istio?: Record<string, unknown>;
  custom?: Record<string, 'allow' | 'deny'>;
}

function policySet(yaml: string, options: Options = {}, path = '/ws/policies.yaml'): PolicySet {
  const file = engine.read(path, yaml);
  const resources = engine.prepare(file).recognition.resources.map((resource) => ({ file, resource }));
  const inventory = buildInventory(options.inventory ? [engine.read('/ws/inventory.yaml', options.inventory)] : []);
  const config = defaultConfig('/ws');
  Object.assign(config.istio, options.istio ?? {});
  return { resources, inventory, config, ...(options.custom ? { customProviderVerdicts: options.custom } : {}) };
}

function compile(yaml: string, options: Options = {}): IstioCompiled {
  return istioSimulator.compile(policySet(yaml, options));
}

const fixture = (name: string) => readFileSync(join(FIXTURE_DIR, name), 'utf8');

interface Meta { name?: string; namespace?: string; annotations?: Record<string, string>; kind?: string }

/** A resource document; the spec is written as JSON, which is YAML. */
function doc(spec: unknown, meta: Meta = {}): string {
  const annotations = meta.annotations ? `\n  annotations: ${JSON.stringify(meta.annotations)}` : '';
  return `apiVersion: security.istio.io/v1
kind: ${meta.kind ?? 'AuthorizationPolicy'}
metadata:
  name: ${meta.name ?? 'p'}
  namespace: ${meta.namespace ?? 'foo'}${annotations}
spec: ${JSON.stringify(spec)}
`;
}

const docs = (...list: string[]) => list.join('---\n');
const allowRule = (rule: unknown) => doc({ action: 'ALLOW', rules: [rule] });
const denyRule = (rule: unknown, meta: Meta = {}) => doc({ action: 'DENY', rules: [rule] }, { name: 'deny', ...meta });
const from = (source: unknown) => ({ from: [{ source }] });
const to = (operation: unknown) => ({ to: [{ operation }] });
const when = (key: string, values?: string[], notValues?: string[]) => ({ when: [{ key, ...(values ? { values } : {}), ...(notValues ? { notValues } : {}) }] });

const BASE: AccessRecord = {
  protocol: 'http',
  source: { principal: 'cluster.local/ns/foo/sa/sleep', namespace: 'foo', serviceAccount: 'sleep', ip: '10.0.0.5' },
  destination: { namespace: 'foo', workload: 'httpbin', labels: { app: 'httpbin' }, port: 8000, ip: '10.0.1.7' },
  request: { method: 'GET', path: '/ip', host: 'httpbin.foo:8000', headers: {} },
};

interface Patch {
  protocol?: AccessRecord['protocol'] | null;
  source?: Partial<NonNullable<AccessRecord['source']>>;
  destination?: Partial<NonNullable<AccessRecord['destination']>>;
  request?: Partial<NonNullable<AccessRecord['request']>> | null;
  sni?: string;
}

function rec(patch: Patch = {}): AccessRecord {
  const out: AccessRecord = {
    source: { ...BASE.source, ...patch.source },
    destination: { ...BASE.destination, ...patch.destination },
  };
  if (patch.protocol !== null) out.protocol = patch.protocol ?? BASE.protocol!;
  if (patch.request !== null) out.request = { ...BASE.request, ...patch.request };
  if (patch.sni !== undefined) out.sni = patch.sni;
  return out;
}

const plaintext: Patch = { source: { principal: null } };
const as = (principal: string): Patch => ({ source: { principal } });
const req = (request: Partial<NonNullable<AccessRecord['request']>>): Patch => ({ request });
const headers = (h: Record<string, string>): Patch => req({ headers: h });
const jwt = (token: NonNullable<NonNullable<AccessRecord['request']>['jwt']>): Patch => req({ jwt: token });

interface Case {
  name: string;
  policies: string;
  call?: Patch;
  expect: Verdict;
  missing?: string[];
  status?: number;
  options?: Options;
}

function check(c: Case): Decision {
  const sim = compile(c.policies, c.options);
  const record = rec(c.call);
  const decision = sim.decide(record);
  const explained = sim.explain(record);
  assert.equal(decision.verdict, c.expect, `${c.name}: ${decision.reason}`);
  assert.equal(explained.verdict, decision.verdict, `${c.name}: explain agrees with decide`);
  assert.equal(explained.reason, decision.reason, `${c.name}: same reason`);
  assert.equal(decision.mesh, 'istio');
  assert.equal(decision.trace.length, 1);
  assert.equal(explained.trace.at(-1)!.outcome, 'verdict');
  if (c.missing) assert.deepEqual([...(decision.missing ?? [])].sort(), [...c.missing].sort(), `${c.name}: missing`);
  else if (decision.verdict !== 'unknown') assert.equal(decision.missing, undefined, `${c.name}: no missing`);
  if (c.status !== undefined) assert.equal(decision.status, c.status, `${c.name}: status`);
  return decision;
}

function table(title: string, cases: Case[]): void {
  describe(title, () => {
    for (const c of cases) it(c.name, () => { check(c); });
  });
}

// --- micro-benchmark (printed, not asserted) ------------------------------------------------
// First in the file, so that the figures are not depressed by inline caches that the many record
// shapes of the tables below make megamorphic (the CLI feeds records of one reader's shape).

describe('Istio simulator throughput', () => {
  it('decides folded shapes quickly (printed)', () => {
    const namespaces = 100;
    const items: unknown[] = [];
    for (let i = 0; i < 1000; i++) {
      const ns = `team-${i % namespaces}`;
      const app = `svc-${Math.floor(i / namespaces) % 10}`;
      const kind = i % 5;
      const spec = kind === 4
        ? { selector: { matchLabels: { app } }, action: 'DENY', rules: [{ from: [{ source: { notNamespaces: [ns, 'istio-system'] } }], to: [{ operation: { paths: ['/admin/*'] } }] }] }
        : { selector: { matchLabels: { app } }, action: 'ALLOW', rules: [
          { from: [{ source: { principals: [`cluster.local/ns/${ns}/sa/client-${kind}`] } }], to: [{ operation: { methods: ['GET', 'POST'], paths: ['/api/v1/*', '/healthz'], ports: ['8080'] } }], when: [{ key: 'request.headers[x-tenant]', values: [`t-${kind}`] }] },
          { from: [{ source: { namespaces: ['monitoring'] } }], to: [{ operation: { paths: ['/metrics'] } }] },
        ] };
      items.push({ apiVersion: 'security.istio.io/v1', kind: 'AuthorizationPolicy', metadata: { name: `p-${i}`, namespace: ns }, spec });
    }
    // A kubectl List in JSON: the same resources as YAML documents, read faster.
    const set = policySet(JSON.stringify({ apiVersion: 'v1', kind: 'List', items }), {}, '/ws/policies.json');
    assert.equal(set.resources.length, 1000);
    const t0 = performance.now();
    const sim = istioSimulator.compile(set);
    const compileMs = performance.now() - t0;
    const shapes: AccessRecord[] = [];
    for (let i = 0; i < 100_000; i++) {
      const ns = `team-${i % namespaces}`;
      shapes.push({
        protocol: 'http',
        source: { principal: `cluster.local/ns/${i % 7 === 0 ? 'monitoring' : ns}/sa/client-${i % 4}`, ip: `10.${i % 250}.${(i >> 8) % 250}.7` },
        destination: { namespace: ns, workload: `svc-${i % 10}`, labels: { app: `svc-${i % 10}` }, port: 8080 },
        request: { method: i % 3 === 0 ? 'POST' : 'GET', path: i % 11 === 0 ? '/metrics' : `/api/v1/items/${i % 97}?page=${i % 5}`, host: `svc-${i % 10}.${ns}:8080`, headers: { 'x-tenant': `t-${i % 4}` } },
      });
    }
    // Records reach the simulator parsed from JSON (flat strings), as from the traffic readers.
    const parsed = JSON.parse(JSON.stringify(shapes)) as AccessRecord[];
    const counts: Record<string, number> = {};
    for (const s of parsed) { const v = sim.decide(s).verdict; counts[v] = (counts[v] ?? 0) + 1; }
    const passes = 3;
    const cpu0 = process.cpuUsage();
    const start = performance.now();
    for (let p = 0; p < passes; p++) for (let i = 0; i < parsed.length; i++) sim.decide(parsed[i]!);
    const seconds = (performance.now() - start) / 1000;
    const cpu = process.cpuUsage(cpu0);
    const rate = Math.round((passes * parsed.length) / seconds);
    const cpuRate = Math.round((passes * parsed.length) / ((cpu.user + cpu.system) / 1e6));
    const fmt = (n: number) => n.toLocaleString('en-US');
    console.log(`istio simulator: 1,000 policies compiled in ${compileMs.toFixed(0)} ms; ${fmt(rate)} decisions/s wall, ${fmt(cpuRate)} decisions/s per CPU-second, over ${fmt(parsed.length)} shapes × ${passes} (${JSON.stringify(counts)})`);
    assert.ok(rate > 0);
  });
});

// --- Source fields (spec §1.4.1, §1.5) ------------------------------------------------------

const SLEEP = 'cluster.local/ns/foo/sa/sleep';
table('Istio source: principals', [
  { name: 'exact principal matches', policies: allowRule(from({ principals: [SLEEP] })), expect: 'allow' },
  { name: 'spiffe:// form in the record matches', policies: allowRule(from({ principals: [SLEEP] })), call: as(`spiffe://${SLEEP}`), expect: 'allow' },
  { name: 'other service account does not match', policies: allowRule(from({ principals: [SLEEP] })), call: as('cluster.local/ns/foo/sa/other'), expect: 'deny', status: 403 },
  { name: 'plaintext has no principal', policies: allowRule(from({ principals: [SLEEP] })), call: plaintext, expect: 'deny' },
  { name: 'prefix a*', policies: allowRule(from({ principals: ['cluster.local/ns/foo/*'] })), call: as('cluster.local/ns/foo/sa/x'), expect: 'allow' },
  { name: 'prefix a* other namespace', policies: allowRule(from({ principals: ['cluster.local/ns/foo/*'] })), call: as('cluster.local/ns/bar/sa/x'), expect: 'deny' },
  { name: 'suffix *a', policies: allowRule(from({ principals: ['*/sa/sleep'] })), call: as('cluster.local/ns/bar/sa/sleep'), expect: 'allow' },
  { name: 'suffix *a no match', policies: allowRule(from({ principals: ['*/sa/sleep'] })), call: as('cluster.local/ns/foo/sa/x'), expect: 'deny' },
  { name: '* is presence: any mTLS peer', policies: allowRule(from({ principals: ['*'] })), call: as('other.td/ns/x/sa/y'), expect: 'allow' },
  { name: '* is presence: plaintext fails', policies: allowRule(from({ principals: ['*'] })), call: plaintext, expect: 'deny' },
  { name: 'notPrincipals excludes', policies: allowRule(from({ notPrincipals: [SLEEP] })), expect: 'deny' },
  { name: 'notPrincipals other', policies: allowRule(from({ notPrincipals: [SLEEP] })), call: as('cluster.local/ns/foo/sa/x'), expect: 'allow' },
  { name: 'notPrincipals matches plaintext (absent attribute)', policies: allowRule(from({ notPrincipals: [SLEEP] })), call: plaintext, expect: 'allow' },
  { name: 'principals and notPrincipals both hold', policies: allowRule(from({ principals: ['cluster.local/ns/foo/*'], notPrincipals: [SLEEP] })), call: as('cluster.local/ns/foo/sa/x'), expect: 'allow' },
  { name: 'principals and notPrincipals: excluded', policies: allowRule(from({ principals: ['cluster.local/ns/foo/*'], notPrincipals: [SLEEP] })), expect: 'deny' },
  { name: 'values OR within a field', policies: allowRule(from({ principals: ['a/ns/b/sa/c', SLEEP] })), expect: 'allow' },
  { name: 'from entries OR', policies: doc({ rules: [{ from: [{ source: { principals: ['x/ns/y/sa/z'] } }, { source: { namespaces: ['foo'] } }] }] }), expect: 'allow' },
  { name: 'fields AND within a source', policies: allowRule(from({ principals: [SLEEP], ipBlocks: ['192.168.0.0/16'] })), expect: 'deny' },
]);

table('Istio source: trust domains of principals (spec §1.5.2)', [
  { name: 'cluster.local value is rewritten to the mesh trust domain', policies: allowRule(from({ principals: [SLEEP] })), call: as('acme.org/ns/foo/sa/sleep'), options: { istio: { trustDomain: 'acme.org' } }, expect: 'allow' },
  { name: '…and no longer matches cluster.local', policies: allowRule(from({ principals: [SLEEP] })), call: as(SLEEP), options: { istio: { trustDomain: 'acme.org' } }, expect: 'deny' },
  { name: 'aliases expand to every member', policies: allowRule(from({ principals: ['acme.org/ns/foo/sa/sleep'] })), call: as('old.td/ns/foo/sa/sleep'), options: { istio: { trustDomain: 'acme.org', trustDomainAliases: ['old.td'] } }, expect: 'allow' },
  { name: 'a foreign trust domain is kept as written', policies: allowRule(from({ principals: ['other.td/ns/foo/sa/sleep'] })), call: as('other.td/ns/foo/sa/sleep'), expect: 'allow' },
  { name: '* trust domain part is left alone', policies: allowRule(from({ principals: ['*/ns/foo/sa/sleep'] })), call: as('any.td/ns/foo/sa/sleep'), options: { istio: { trustDomain: 'acme.org' } }, expect: 'allow' },
]);

table('Istio source: namespaces, serviceAccounts, trustDomains', [
  { name: 'namespaces exact', policies: allowRule(from({ namespaces: ['foo'] })), expect: 'allow' },
  { name: 'namespaces other', policies: allowRule(from({ namespaces: ['foo'] })), call: as('cluster.local/ns/bar/sa/sleep'), expect: 'deny' },
  { name: 'namespaces need mTLS', policies: allowRule(from({ namespaces: ['foo'] })), call: plaintext, expect: 'deny' },
  { name: 'namespaces prefix', policies: allowRule(from({ namespaces: ['fo*'] })), expect: 'allow' },
  { name: 'namespaces suffix', policies: allowRule(from({ namespaces: ['*oo'] })), expect: 'allow' },
  { name: 'namespaces suffix no match', policies: allowRule(from({ namespaces: ['*oo'] })), call: as('cluster.local/ns/bar/sa/x'), expect: 'deny' },
  { name: 'namespaces presence', policies: allowRule(from({ namespaces: ['*'] })), call: as('cluster.local/ns/bar/sa/x'), expect: 'allow' },
  { name: 'namespaces presence, plaintext', policies: allowRule(from({ namespaces: ['*'] })), call: plaintext, expect: 'deny' },
  { name: 'notNamespaces excludes', policies: allowRule(from({ notNamespaces: ['foo'] })), expect: 'deny' },
  { name: 'notNamespaces matches plaintext', policies: allowRule(from({ notNamespaces: ['foo'] })), call: plaintext, expect: 'allow' },
  { name: 'serviceAccounts sa = policy namespace', policies: allowRule(from({ serviceAccounts: ['sleep'] })), expect: 'allow' },
  { name: 'serviceAccounts sa in another namespace', policies: allowRule(from({ serviceAccounts: ['sleep'] })), call: as('cluster.local/ns/bar/sa/sleep'), expect: 'deny' },
  { name: 'serviceAccounts ns/sa', policies: allowRule(from({ serviceAccounts: ['bar/sleep'] })), call: as('cluster.local/ns/bar/sa/sleep'), expect: 'allow' },
  { name: 'serviceAccounts need mTLS', policies: allowRule(from({ serviceAccounts: ['sleep'] })), call: plaintext, expect: 'deny' },
  { name: 'notServiceAccounts', policies: allowRule(from({ notServiceAccounts: ['sleep'] })), expect: 'deny' },
  { name: 'trustDomains exact', policies: allowRule(from({ trustDomains: ['cluster.local'] })), expect: 'allow' },
  { name: 'trustDomains other', policies: allowRule(from({ trustDomains: ['cluster.local'] })), call: as('other.td/ns/foo/sa/sleep'), expect: 'deny' },
  { name: 'trustDomains leading *', policies: allowRule(from({ trustDomains: ['*.local'] })), expect: 'allow' },
  { name: 'trustDomains trailing *', policies: allowRule(from({ trustDomains: ['cluster.*'] })), expect: 'allow' },
  { name: 'trustDomains * needs a peer', policies: allowRule(from({ trustDomains: ['*'] })), call: plaintext, expect: 'deny' },
  { name: 'notTrustDomains', policies: allowRule(from({ notTrustDomains: ['cluster.local'] })), call: as('other.td/ns/foo/sa/sleep'), expect: 'allow' },
  { name: 'trustDomains value that is a bundle member matches aliases', policies: allowRule(from({ trustDomains: ['acme.org'] })), call: as('old.td/ns/foo/sa/sleep'), options: { istio: { trustDomain: 'acme.org', trustDomainAliases: ['old.td'] } }, expect: 'allow' },
]);

table('Istio source: ipBlocks and remoteIpBlocks', [
  { name: 'ipBlocks CIDR', policies: allowRule(from({ ipBlocks: ['10.0.0.0/8'] })), expect: 'allow' },
  { name: 'ipBlocks single address', policies: allowRule(from({ ipBlocks: ['10.0.0.5'] })), expect: 'allow' },
  { name: 'ipBlocks outside', policies: allowRule(from({ ipBlocks: ['10.0.0.0/8'] })), call: { source: { ip: '192.168.0.1' } }, expect: 'deny' },
  { name: 'ipBlocks not recorded → unknown', policies: allowRule(from({ ipBlocks: ['10.0.0.0/8'] })), call: { source: { ip: undefined } }, expect: 'unknown', missing: ['source.ip'] },
  { name: 'ipBlocks IPv6', policies: allowRule(from({ ipBlocks: ['2001:db8::/32'] })), call: { source: { ip: '2001:db8::1' } }, expect: 'allow' },
  { name: 'ipBlocks IPv6 prefix vs IPv4 address', policies: allowRule(from({ ipBlocks: ['::/0'] })), expect: 'deny' },
  { name: 'ipBlocks with host bits', policies: allowRule(from({ ipBlocks: ['10.0.0.77/24'] })), expect: 'allow' },
  // istiod admits a zoned address (netip.ParseAddr) and builds it with netip.PrefixFrom, which drops
  // the zone (pilot/pkg/networking/util AddrStrToPrefix): the rule matches the address on any interface.
  { name: 'ipBlocks zoned IPv6 address: the zone is dropped', policies: allowRule(from({ ipBlocks: ['fe80::1%eth0'] })), call: { source: { ip: 'fe80::1' } }, expect: 'allow' },
  { name: 'remoteIpBlocks zoned IPv6 address: the zone is dropped', policies: allowRule(from({ remoteIpBlocks: ['fe80::1%eth0'] })), call: { source: { ip: 'fe80::1' } }, expect: 'allow' },
  { name: 'ipBlocks zoned IPv6 address, another address', policies: allowRule(from({ ipBlocks: ['fe80::1%eth0'] })), call: { source: { ip: 'fe80::2' } }, expect: 'deny' },
  { name: 'ipBlocks need no mTLS', policies: allowRule(from({ ipBlocks: ['10.0.0.0/8'] })), call: { source: { principal: null } }, expect: 'allow' },
  { name: 'notIpBlocks', policies: allowRule(from({ notIpBlocks: ['10.0.0.0/8'] })), expect: 'deny' },
  { name: 'remoteIpBlocks uses the remote address', policies: allowRule(from({ remoteIpBlocks: ['198.51.100.0/24'] })), call: { source: { remoteIp: '198.51.100.7' } }, expect: 'allow' },
  { name: 'remoteIpBlocks falls back to the peer address', policies: allowRule(from({ remoteIpBlocks: ['10.0.0.5'] })), expect: 'allow' },
  { name: 'remoteIpBlocks with no address recorded', policies: allowRule(from({ remoteIpBlocks: ['10.0.0.5'] })), call: { source: { ip: undefined } }, expect: 'unknown', missing: ['source.remoteIp'] },
  { name: 'notRemoteIpBlocks', policies: allowRule(from({ notRemoteIpBlocks: ['198.51.100.0/24'] })), call: { source: { remoteIp: '198.51.100.7' } }, expect: 'deny' },
]);

// --- Operation fields (spec §1.4.2, §1.6) ---------------------------------------------------

table('Istio operation: hosts, ports, methods', [
  { name: 'hosts exact, case-insensitive', policies: allowRule(to({ hosts: ['httpbin.foo'] })), call: req({ host: 'HTTPBIN.foo' }), expect: 'allow' },
  { name: 'hosts without port does not match host:port', policies: allowRule(to({ hosts: ['httpbin.foo'] })), expect: 'deny' },
  { name: 'hosts with the port variant', policies: allowRule(to({ hosts: ['httpbin.foo', 'httpbin.foo:8000'] })), expect: 'allow' },
  { name: 'hosts prefix', policies: allowRule(to({ hosts: ['httpbin.*'] })), expect: 'allow' },
  { name: 'hosts suffix', policies: allowRule(to({ hosts: ['*.FOO'] })), call: req({ host: 'httpbin.foo' }), expect: 'allow' },
  { name: 'hosts presence', policies: allowRule(to({ hosts: ['*'] })), expect: 'allow' },
  { name: 'hosts not recorded', policies: allowRule(to({ hosts: ['httpbin.foo'] })), call: req({ host: undefined }), expect: 'unknown', missing: ['request.host'] },
  { name: 'notHosts', policies: allowRule(to({ notHosts: ['*.internal'] })), call: req({ host: 'x.internal' }), expect: 'deny' },
  // istiod's hostGenerator sends each value through matcher.HostMatcher: `*` present, `*x` suffix,
  // `x*` prefix, else exact, all ignoring case, against the whole `:authority`; the port is not stripped
  // (Envoy strips it only with ISTIO_GATEWAY_STRIP_HOST_PORT on gateways, off by default).
  { name: 'hosts suffix does not match a host with a port', policies: allowRule(to({ hosts: ['*.example.com'] })), call: req({ host: 'api.example.com:80' }), expect: 'deny' },
  { name: 'hosts suffix with :* is a literal suffix', policies: allowRule(to({ hosts: ['*.example.com:*'] })), call: req({ host: 'api.example.com:80' }), expect: 'deny' },
  { name: 'hosts prefix covers any port', policies: allowRule(to({ hosts: ['example.*'] })), call: req({ host: 'Example.com:80' }), expect: 'allow' },
  { name: 'hosts with the port variant as a prefix (best practices)', policies: allowRule(to({ hosts: ['example.com', 'example.com:*'] })), call: req({ host: 'example.com:8080' }), expect: 'allow' },
  { name: 'hosts IPv6 literal with port, exact', policies: allowRule(to({ hosts: ['[::1]:8080'] })), call: req({ host: '[::1]:8080' }), expect: 'allow' },
  { name: 'hosts IPv6 literal without port', policies: allowRule(to({ hosts: ['[::1]'] })), call: req({ host: '[::1]:8080' }), expect: 'deny' },
  { name: 'hosts IPv6 literal as a prefix', policies: allowRule(to({ hosts: ['[::1]*'] })), call: req({ host: '[::1]:8080' }), expect: 'allow' },
  { name: 'notHosts without port does not exclude host:port', policies: allowRule(to({ notHosts: ['example.com'] })), call: req({ host: 'example.com:80' }), expect: 'allow' },
  { name: 'notHosts exact, case-insensitive', policies: allowRule(to({ notHosts: ['EXAMPLE.com'] })), call: req({ host: 'example.COM' }), expect: 'deny' },
  { name: 'DENY hosts without port misses host:port', policies: denyRule(to({ hosts: ['example.com'] })), call: req({ host: 'example.com:80' }), expect: 'allow' },
  { name: 'ports', policies: allowRule(to({ ports: ['8000'] })), expect: 'allow' },
  { name: 'ports other', policies: allowRule(to({ ports: ['8000'] })), call: { destination: { port: 9000 } }, expect: 'deny' },
  { name: 'ports written as numbers', policies: allowRule(to({ ports: [8000] })), expect: 'allow' },
  { name: 'ports not recorded', policies: allowRule(to({ ports: ['8000'] })), call: { destination: { port: undefined } }, expect: 'unknown', missing: ['destination.port'] },
  { name: 'notPorts', policies: allowRule(to({ notPorts: ['8000'] })), expect: 'deny' },
  { name: 'methods exact', policies: allowRule(to({ methods: ['GET'] })), expect: 'allow' },
  { name: 'methods other', policies: allowRule(to({ methods: ['GET'] })), call: req({ method: 'POST' }), expect: 'deny' },
  { name: 'methods are case-sensitive: lower-case policy value never matches', policies: allowRule(to({ methods: ['get'] })), expect: 'deny' },
  { name: 'lower-case request method is rejected with 400', policies: '', call: req({ method: 'get' }), expect: 'deny', status: 400 },
  { name: 'methods prefix', policies: allowRule(to({ methods: ['G*'] })), expect: 'allow' },
  { name: 'gRPC is POST', policies: allowRule(to({ methods: ['POST'] })), call: { protocol: 'grpc', request: { method: undefined, path: '/pkg.Svc/Call' } }, expect: 'allow' },
  { name: 'notMethods', policies: allowRule(to({ notMethods: ['DELETE'] })), call: req({ method: 'DELETE' }), expect: 'deny' },
  { name: 'to entries OR', policies: doc({ rules: [{ to: [{ operation: { methods: ['POST'] } }, { operation: { ports: ['8000'] } }] }] }), expect: 'allow' },
  { name: 'fields AND within an operation', policies: allowRule(to({ methods: ['GET'], ports: ['9000'] })), expect: 'deny' },
]);

table('Istio operation: paths, normalization, templates', [
  { name: 'exact path', policies: allowRule(to({ paths: ['/ip'] })), expect: 'allow' },
  { name: 'query string ignored', policies: allowRule(to({ paths: ['/ip'] })), call: req({ path: '/ip?x=1' }), expect: 'allow' },
  { name: 'fragment ignored', policies: allowRule(to({ paths: ['/ip'] })), call: req({ path: '/ip#top' }), expect: 'allow' },
  { name: 'case-sensitive', policies: allowRule(to({ paths: ['/ip'] })), call: req({ path: '/IP' }), expect: 'deny' },
  { name: 'dot segments removed', policies: allowRule(to({ paths: ['/ip'] })), call: req({ path: '/a/../ip' }), expect: 'allow' },
  { name: 'encoded dot segments removed', policies: allowRule(to({ paths: ['/ip'] })), call: req({ path: '/a/%2E%2e/ip' }), expect: 'allow' },
  { name: 'unreserved characters decoded', policies: allowRule(to({ paths: ['/ip'] })), call: req({ path: '/%69p' }), expect: 'allow' },
  { name: 'backslash becomes slash', policies: allowRule(to({ paths: ['/ip'] })), call: req({ path: '/a\\..\\ip' }), expect: 'allow' },
  { name: 'slashes are not merged by default (BASE)', policies: allowRule(to({ paths: ['/ip'] })), call: req({ path: '//ip' }), expect: 'deny' },
  { name: 'MERGE_SLASHES merges', policies: allowRule(to({ paths: ['/ip'] })), call: req({ path: '//ip' }), options: { istio: { pathNormalization: 'MERGE_SLASHES' } }, expect: 'allow' },
  { name: 'NONE keeps dot segments', policies: allowRule(to({ paths: ['/ip'] })), call: req({ path: '/a/../ip' }), options: { istio: { pathNormalization: 'NONE' } }, expect: 'deny' },
  { name: 'escaped slash kept by default', policies: allowRule(to({ paths: ['/a/b'] })), call: req({ path: '/a%2Fb' }), expect: 'deny' },
  { name: 'escaped slash decoded with DECODE_AND_MERGE_SLASHES', policies: allowRule(to({ paths: ['/a/b'] })), call: req({ path: '/a%2Fb' }), options: { istio: { pathNormalization: 'DECODE_AND_MERGE_SLASHES' } }, expect: 'allow' },
  { name: '%00 is rejected with 400', policies: '', call: req({ path: '/a%00b' }), expect: 'deny', status: 400 },
  { name: 'a header name with whitespace is rejected with 400', policies: '', call: headers({ 'x bad': '1' }), expect: 'deny', status: 400 },
  { name: 'path not recorded', policies: allowRule(to({ paths: ['/ip'] })), call: req({ path: undefined }), expect: 'unknown', missing: ['request.path'] },
  { name: 'prefix', policies: allowRule(to({ paths: ['/api/*'] })), call: req({ path: '/api/v1/x' }), expect: 'allow' },
  { name: 'prefix does not match a sibling', policies: allowRule(to({ paths: ['/api/*'] })), call: req({ path: '/apix' }), expect: 'deny' },
  { name: 'suffix', policies: allowRule(to({ paths: ['*.png'] })), call: req({ path: '/img/a.png?w=1' }), expect: 'allow' },
  { name: 'notPaths', policies: allowRule(to({ notPaths: ['/admin*'] })), call: req({ path: '/admin/x' }), expect: 'deny' },
  { name: '{*} one segment', policies: allowRule(to({ paths: ['/v1/{*}/x'] })), call: req({ path: '/v1/a/x' }), expect: 'allow' },
  { name: '{*} is never empty', policies: allowRule(to({ paths: ['/v1/{*}/x'] })), call: req({ path: '/v1//x' }), expect: 'deny' },
  { name: '{*} is one segment only', policies: allowRule(to({ paths: ['/v1/{*}/x'] })), call: req({ path: '/v1/a/b/x' }), expect: 'deny' },
  { name: '{**} many segments', policies: allowRule(to({ paths: ['/v1/{**}'] })), call: req({ path: '/v1/a/b' }), expect: 'allow' },
  { name: '{**} matches /v1/', policies: allowRule(to({ paths: ['/v1/{**}'] })), call: req({ path: '/v1/' }), expect: 'allow' },
  { name: '{**} does not match /v1', policies: allowRule(to({ paths: ['/v1/{**}'] })), call: req({ path: '/v1' }), expect: 'deny' },
  { name: '{**} then a literal', policies: allowRule(to({ paths: ['/v1/{**}/edit'] })), call: req({ path: '/v1/a/b/edit' }), expect: 'allow' },
  { name: '{**} slashes are literal', policies: allowRule(to({ paths: ['/v1/{**}/edit'] })), call: req({ path: '/v1/edit' }), expect: 'deny' },
  { name: 'template on the normalized path without query', policies: allowRule(to({ paths: ['/v1/{*}'] })), call: req({ path: '/v1/x/../y?z=1' }), expect: 'allow' },
]);

// --- when (spec §1.4.3) ---------------------------------------------------------------------

table('Istio when keys', [
  { name: 'request.headers values, name case-insensitive', policies: allowRule(when('request.headers[X-Env]', ['prod'])), call: headers({ 'x-env': 'prod' }), expect: 'allow' },
  { name: 'request.headers record name case', policies: allowRule(when('request.headers[x-env]', ['prod'])), call: headers({ 'X-ENV': 'prod' }), expect: 'allow' },
  { name: 'request.headers value case-sensitive', policies: allowRule(when('request.headers[x-env]', ['prod'])), call: headers({ 'x-env': 'PROD' }), expect: 'deny' },
  { name: 'request.headers absent fails values', policies: allowRule(when('request.headers[x-env]', ['prod'])), expect: 'deny' },
  { name: 'request.headers absent satisfies notValues', policies: allowRule(when('request.headers[x-env]', undefined, ['dev'])), expect: 'allow' },
  { name: 'request.headers notValues', policies: allowRule(when('request.headers[x-env]', undefined, ['dev'])), call: headers({ 'x-env': 'dev' }), expect: 'deny' },
  { name: 'request.headers values and notValues', policies: allowRule(when('request.headers[x-env]', ['p*'], ['prod'])), call: headers({ 'x-env': 'preprod' }), expect: 'allow' },
  { name: 'request.headers presence', policies: allowRule(when('request.headers[x-env]', ['*'])), call: headers({ 'x-env': 'a' }), expect: 'allow' },
  { name: 'request.headers[host] reads the authority', policies: allowRule(when('request.headers[host]', ['httpbin.foo:8000'])), expect: 'allow' },
  // Envoy's request header map keeps HTTP/1.1 Host as :authority, reachable by either name
  // (envoyproxy/envoy#4751, #10039), and always sets :scheme, which no log field carries
  // (envoy docs configuration/http/http_conn_man/headers.rst, ":scheme").
  { name: 'request.headers[:authority] reads the authority', policies: allowRule(when('request.headers[:authority]', ['httpbin.foo:8000'])), expect: 'allow' },
  { name: 'request.headers[:method] reads the method', policies: allowRule(when('request.headers[:method]', ['GET'])), expect: 'allow' },
  { name: 'request.headers[:path] reads the path as sent', policies: allowRule(when('request.headers[:path]', ['/ip'])), expect: 'allow' },
  { name: 'request.headers[:scheme] is always set, and not recorded: unknown', policies: allowRule(when('request.headers[:scheme]', ['https'])), expect: 'unknown', missing: ['request.headers[:scheme]'] },
  { name: 'request.headers[:scheme] notValues, not recorded: unknown, never absent', policies: allowRule(when('request.headers[:scheme]', undefined, ['http'])), expect: 'unknown', missing: ['request.headers[:scheme]'] },
  { name: 'request.headers[:scheme] in a record that carries it', policies: allowRule(when('request.headers[:scheme]', ['https'])), call: headers({ ':scheme': 'https' }), expect: 'allow' },
  { name: 'source.ip', policies: allowRule(when('source.ip', ['10.0.0.0/24'])), expect: 'allow' },
  { name: 'source.ip notValues', policies: allowRule(when('source.ip', undefined, ['10.0.0.5'])), expect: 'deny' },
  { name: 'remote.ip', policies: allowRule(when('remote.ip', ['203.0.113.9'])), call: { source: { remoteIp: '203.0.113.9' } }, expect: 'allow' },
  { name: 'source.namespace', policies: allowRule(when('source.namespace', ['foo'])), expect: 'allow' },
  { name: 'source.namespace needs mTLS', policies: allowRule(when('source.namespace', ['foo'])), call: plaintext, expect: 'deny' },
  { name: 'source.namespace notValues with plaintext', policies: allowRule(when('source.namespace', undefined, ['foo'])), call: plaintext, expect: 'allow' },
  { name: 'source.principal', policies: allowRule(when('source.principal', [SLEEP])), expect: 'allow' },
  { name: 'source.serviceAccount', policies: allowRule(when('source.serviceAccount', ['foo/sleep'])), expect: 'allow' },
  { name: 'source.trustDomain', policies: allowRule(when('source.trustDomain', ['cluster.local'])), expect: 'allow' },
  { name: 'destination.ip', policies: allowRule(when('destination.ip', ['10.0.1.0/24'])), expect: 'allow' },
  { name: 'destination.ip not recorded', policies: allowRule(when('destination.ip', ['10.0.1.0/24'])), call: { destination: { ip: undefined } }, expect: 'unknown', missing: ['destination.ip'] },
  { name: 'destination.port', policies: allowRule(when('destination.port', ['8000'])), expect: 'allow' },
  { name: 'connection.sni', policies: allowRule(when('connection.sni', ['*.svc.cluster.local'])), call: { sni: 'outbound_.8000_._.httpbin.foo.svc.cluster.local' }, expect: 'allow' },
  { name: 'connection.sni absent', policies: allowRule(when('connection.sni', ['*.svc.cluster.local'])), expect: 'deny' },
  { name: 'connection.sni absent satisfies notValues', policies: allowRule(when('connection.sni', undefined, ['evil'])), expect: 'allow' },
  { name: 'experimental.envoy.filters: never in a record', policies: allowRule(when('experimental.envoy.filters.network.mysql_proxy[db.table]', ['[update]'])), expect: 'unknown', missing: ['experimental.envoy.filters.network.mysql_proxy[db.table]'] },
  { name: 'when conditions AND', policies: doc({ rules: [{ when: [{ key: 'source.namespace', values: ['foo'] }, { key: 'request.headers[x-env]', values: ['prod'] }] }] }), expect: 'deny' },
]);

// Records read from native logs name the headers they record (spec §4.0): any other header is not known.
const LOGGED = ['user-agent', 'x-forwarded-for'];
table('Istio: headers a log does not record (request.recordedHeaders)', [
  { name: 'a header the log does not print: unknown, naming it', policies: allowRule(when('request.headers[x-env]', ['prod'])), call: req({ method: 'GET', path: '/ip', recordedHeaders: LOGGED }), expect: 'unknown', missing: ['request.headers[x-env]'] },
  { name: 'its notValues too', policies: allowRule(when('request.headers[x-env]', undefined, ['dev'])), call: req({ method: 'GET', path: '/ip', recordedHeaders: LOGGED }), expect: 'unknown', missing: ['request.headers[x-env]'] },
  { name: 'a header the log prints and the request did not send: absent', policies: allowRule(when('request.headers[user-agent]', ['curl/*'])), call: req({ method: 'GET', path: '/ip', recordedHeaders: LOGGED }), expect: 'deny' },
  { name: 'a header the log prints and the request sent', policies: allowRule(when('request.headers[user-agent]', ['curl/*'])), call: req({ method: 'GET', path: '/ip', headers: { 'user-agent': 'curl/8.5.0' }, recordedHeaders: LOGGED }), expect: 'allow' },
  { name: 'a written record lists every header: absent', policies: allowRule(when('request.headers[x-env]', ['prod'])), call: req({ method: 'GET', path: '/ip' }), expect: 'deny' },
  { name: 'a rule that fails on something else does not wait for the header', policies: allowRule({ to: [{ operation: { methods: ['POST'] } }], when: [{ key: 'request.headers[x-env]', values: ['prod'] }] }), call: req({ method: 'GET', path: '/ip', recordedHeaders: LOGGED }), expect: 'deny' },
  { name: 'the host is the authority, not a header the log prints', policies: allowRule(to({ hosts: ['httpbin.foo*'] })), call: req({ method: 'GET', path: '/ip', host: 'httpbin.foo:8000', recordedHeaders: [] }), expect: 'allow' },
]);

// --- JWT (spec §1.5.3, §1.8) ----------------------------------------------------------------

const ISS = 'testing@secure.istio.io';
const RA = doc({ selector: { matchLabels: { app: 'httpbin' } }, jwtRules: [{ issuer: ISS, jwksUri: 'https://example.com/jwks.json' }, { issuer: 'https://accounts.example.com/realm', audiences: ['aud1'] }] }, { kind: 'RequestAuthentication', name: 'jwt' });
const TOKEN = { issuer: ISS, subject: ISS };
const withRa = (...list: string[]) => docs(RA, ...list);

table('Istio RequestAuthentication and JWT', [
  { name: 'requestPrincipals iss/sub', policies: withRa(allowRule(from({ requestPrincipals: [`${ISS}/${ISS}`] }))), call: jwt(TOKEN), expect: 'allow' },
  // A native log does not record the token (request.jwtUnknown, spec §4.0).
  { name: 'token not logged, a RequestAuthentication applies: request identity unknown', policies: withRa(allowRule(from({ requestPrincipals: ['*'] }))), call: req({ method: 'GET', path: '/ip', jwtUnknown: true }), expect: 'unknown', missing: ['request.jwt'] },
  { name: 'token not logged, notRequestPrincipals in DENY: unknown', policies: withRa(denyRule(from({ notRequestPrincipals: ['*'] }))), call: req({ method: 'GET', path: '/ip', jwtUnknown: true }), expect: 'unknown', missing: ['request.jwt'] },
  { name: 'token not logged, a claim condition: unknown', policies: withRa(allowRule(when('request.auth.claims[groups]', ['group1']))), call: req({ method: 'GET', path: '/ip', jwtUnknown: true }), expect: 'unknown', missing: ['request.jwt'] },
  { name: 'token not logged, no RequestAuthentication: no token gives an identity, so denied', policies: allowRule(from({ requestPrincipals: ['*'] })), call: req({ method: 'GET', path: '/ip', jwtUnknown: true }), expect: 'deny' },
  { name: 'token not logged, nothing reads it: the RequestAuthentication alone lets it through', policies: RA, call: req({ method: 'GET', path: '/ip', jwtUnknown: true }), expect: 'allow' },
  { name: 'no token: no request principal', policies: withRa(allowRule(from({ requestPrincipals: ['*'] }))), expect: 'deny', status: 403 },
  { name: 'no token is accepted when no policy requires one', policies: RA, expect: 'allow' },
  { name: 'invalid token → 401', policies: RA, call: jwt({ valid: false }), expect: 'deny', status: 401 },
  { name: 'issuer not configured → 401', policies: RA, call: jwt({ issuer: 'evil', subject: 'x' }), expect: 'deny', status: 401 },
  { name: 'audience not allowed → 401', policies: RA, call: jwt({ issuer: 'https://accounts.example.com/realm', subject: 'alice', audiences: ['other'] }), expect: 'deny', status: 401 },
  { name: 'without RequestAuthentication the token gives no identity', policies: allowRule(from({ requestPrincipals: ['*'] })), call: jwt(TOKEN), expect: 'deny' },
  { name: 'without RequestAuthentication an invalid token is not checked', policies: '', call: jwt({ valid: false }), expect: 'allow' },
  { name: '* needs issuer and subject', policies: withRa(allowRule(from({ requestPrincipals: ['*'] }))), call: jwt(TOKEN), expect: 'allow' },
  { name: 'issuer with slashes split at the last /', policies: withRa(allowRule(from({ requestPrincipals: ['https://accounts.example.com/realm/alice'] }))), call: jwt({ issuer: 'https://accounts.example.com/realm', subject: 'alice', audiences: ['aud1'] }), expect: 'allow' },
  { name: '*X/sub: issuer suffix', policies: withRa(allowRule(from({ requestPrincipals: ['*/realm/alice'] }))), call: jwt({ issuer: 'https://accounts.example.com/realm', subject: 'alice', audiences: ['aud1'] }), expect: 'allow' },
  { name: '*X: subject suffix', policies: withRa(allowRule(from({ requestPrincipals: ['*lice'] }))), call: jwt({ issuer: 'https://accounts.example.com/realm', subject: 'alice', audiences: ['aud1'] }), expect: 'allow' },
  { name: 'iss/X*: subject prefix', policies: withRa(allowRule(from({ requestPrincipals: [`${ISS}/test*`] }))), call: jwt(TOKEN), expect: 'allow' },
  { name: 'X*: issuer prefix', policies: withRa(allowRule(from({ requestPrincipals: ['test*'] }))), call: jwt(TOKEN), expect: 'allow' },
  { name: 'iss alone never matches a subject', policies: withRa(allowRule(from({ requestPrincipals: [ISS] }))), call: jwt(TOKEN), expect: 'deny' },
  { name: 'notRequestPrincipals * in DENY requires a token', policies: withRa(denyRule(from({ notRequestPrincipals: ['*'] }))), expect: 'deny' },
  { name: 'notRequestPrincipals * in DENY, with a token', policies: withRa(denyRule(from({ notRequestPrincipals: ['*'] }))), call: jwt(TOKEN), expect: 'allow' },
  { name: 'request.auth.principal', policies: withRa(allowRule(when('request.auth.principal', [`${ISS}/${ISS}`]))), call: jwt(TOKEN), expect: 'allow' },
  { name: 'request.auth.audiences', policies: withRa(allowRule(when('request.auth.audiences', ['aud1']))), call: jwt({ issuer: 'https://accounts.example.com/realm', subject: 'a', audiences: ['aud1', 'aud2'] }), expect: 'allow' },
  { name: 'request.auth.presenter', policies: withRa(allowRule(when('request.auth.presenter', ['client-*']))), call: jwt({ ...TOKEN, presenter: 'client-7' }), expect: 'allow' },
  { name: 'claims list element', policies: withRa(allowRule(when('request.auth.claims[groups]', ['group1']))), call: jwt({ ...TOKEN, claims: { groups: ['group1', 'group2'] } }), expect: 'allow' },
  { name: 'claims list without the value', policies: withRa(allowRule(when('request.auth.claims[groups]', ['group1']))), call: jwt({ ...TOKEN, claims: { groups: ['group2'] } }), expect: 'deny' },
  { name: 'nested claims [a][b]', policies: withRa(allowRule(when('request.auth.claims[nested][key]', ['v']))), call: jwt({ ...TOKEN, claims: { nested: { key: 'v' } } }), expect: 'allow' },
  { name: 'claim [a.b] is one literal name', policies: withRa(allowRule(when('request.auth.claims[a.b]', ['v']))), call: jwt({ ...TOKEN, claims: { a: { b: 'v' } } }), expect: 'deny' },
  { name: 'scope is space-delimited', policies: withRa(allowRule(when('request.auth.claims[scope]', ['write']))), call: jwt({ ...TOKEN, claims: { scope: 'read write' } }), expect: 'allow' },
  { name: 'non-string claims never match', policies: withRa(allowRule(when('request.auth.claims[admin]', ['true']))), call: jwt({ ...TOKEN, claims: { admin: true } }), expect: 'deny' },
  // Canonical records are complete (spec §4.0): a token given without `claims` has none beyond iss/sub/aud/azp.
  { name: 'token without claims lacks the claim', policies: withRa(allowRule(when('request.auth.claims[groups]', ['group1']))), call: jwt(TOKEN), expect: 'deny' },
  { name: 'token without claims: claim notValues match', policies: withRa(denyRule(when('request.auth.claims[groups]', undefined, ['group1']))), call: jwt(TOKEN), expect: 'deny' },
  { name: 'claims notValues without a token', policies: withRa(allowRule(when('request.auth.claims[groups]', undefined, ['banned']))), expect: 'allow' },
]);

// MPA1035 (docs/rules/MPA1035.md): a JWT condition where no RequestAuthentication attaches. The
// request carries a token the RequestAuthentication would accept; with none attached to the
// destination it gives no request identity (RequestAuthentication reference; spec §1.8), so the
// ALLOW rule never matches (403) and DENY notRequestPrincipals ["*"] matches (istio/istio#35973).
const RA_FOR = (matchLabels: Record<string, string>) => doc({ selector: { matchLabels }, jwtRules: [{ issuer: ISS, jwksUri: 'https://example.com/jwks.json' }] }, { kind: 'RequestAuthentication', name: 'jwt-example' });
const RA_ON_GATEWAY = doc({ targetRefs: [{ group: 'gateway.networking.k8s.io', kind: 'Gateway', name: 'ingress' }], jwtRules: [{ issuer: ISS }] }, { kind: 'RequestAuthentication', name: 'jwt-gateway' });
const REQUIRE_JWT = doc({ selector: { matchLabels: { app: 'httpbin' } }, action: 'ALLOW', rules: [from({ requestPrincipals: [`${ISS}/${ISS}`] })] }, { name: 'require-jwt' });
const GATEWAY_POD: Patch = { destination: { workload: 'ingress-istio', labels: { 'gateway.networking.k8s.io/gateway-name': 'ingress' } } };
table("MPA1035's cases: no RequestAuthentication attached", [
  { name: 'the rule page\'s Wrong example: RequestAuthentication for reviews, policy for httpbin', policies: docs(RA_FOR({ app: 'reviews' }), REQUIRE_JWT), call: jwt(TOKEN), expect: 'deny', status: 403 },
  { name: 'the rule page\'s Right example', policies: docs(RA_FOR({ app: 'httpbin' }), REQUIRE_JWT), call: jwt(TOKEN), expect: 'allow' },
  { name: 'DENY notRequestPrincipals ["*"] denies a request with a valid token', policies: docs(RA_FOR({ app: 'reviews' }), denyRule(from({ notRequestPrincipals: ['*'] }))), call: jwt(TOKEN), expect: 'deny', status: 403 },
  { name: 'request.auth.claims never matches', policies: allowRule(when('request.auth.claims[groups]', ['group1'])), call: jwt({ ...TOKEN, claims: { groups: ['group1'] } }), expect: 'deny', status: 403 },
  { name: 'a RequestAuthentication on a gateway does not reach a sidecar', policies: docs(RA_ON_GATEWAY, REQUIRE_JWT), call: jwt(TOKEN), expect: 'deny', status: 403 },
  { name: 'a RequestAuthentication on the gateway, policy on the same gateway', policies: docs(RA_ON_GATEWAY, doc({ targetRefs: [{ group: 'gateway.networking.k8s.io', kind: 'Gateway', name: 'ingress' }], rules: [from({ requestPrincipals: ['*'] })] }, { name: 'gw' })), call: { ...GATEWAY_POD, ...jwt(TOKEN) }, expect: 'allow' },
]);

// --- actions and attachment (spec §1.2, §1.3) -----------------------------------------------

table('Istio actions', [
  { name: 'no policy: allow', policies: '', expect: 'allow' },
  { name: 'spec {} is allow-nothing', policies: doc({}), expect: 'deny' },
  { name: 'rules [{}] allows all', policies: doc({ rules: [{}] }), expect: 'allow' },
  { name: 'DENY rules [{}] denies all', policies: doc({ action: 'DENY', rules: [{}] }), expect: 'deny' },
  { name: 'DENY without rules has no effect', policies: doc({ action: 'DENY' }), expect: 'allow' },
  { name: 'DENY wins over ALLOW', policies: docs(doc({ rules: [{}] }), denyRule(to({ paths: ['/ip'] }))), expect: 'deny' },
  { name: 'ALLOW policies OR', policies: docs(allowRule(to({ paths: ['/x'] })), doc({ rules: [to({ paths: ['/ip'] })] }, { name: 'q' })), expect: 'allow' },
  { name: 'invalid action: not admitted', policies: doc({ action: 'allow' }), expect: 'allow' },
  { name: 'selector and targetRefs together: not admitted', policies: doc({ selector: { matchLabels: { app: 'httpbin' } }, targetRefs: [{ kind: 'Service', group: '', name: 'httpbin' }] }), expect: 'allow' },
]);

// Several ALLOW/DENY policies on one workload: decide() only evaluates the policies whose
// principals can match the peer (an index); explain() evaluates all. Both must agree with the spec.
const allowFrom = (name: string, source: unknown) => doc({ action: 'ALLOW', rules: [from(source)] }, { name });
const denyFrom = (name: string, source: unknown) => doc({ action: 'DENY', rules: [from(source)] }, { name });
table('Istio policies indexed by peer identity', [
  { name: 'the second of two exact-principal ALLOWs matches', policies: docs(allowFrom('a', { principals: ['cluster.local/ns/foo/sa/other'] }), allowFrom('b', { principals: ['cluster.local/ns/foo/sa/sleep'] })), expect: 'allow' },
  { name: 'no exact-principal ALLOW names the peer', policies: docs(allowFrom('a', { principals: ['cluster.local/ns/foo/sa/other'] }), allowFrom('b', { principals: ['cluster.local/ns/bar/sa/sleep'] })), expect: 'deny' },
  { name: 'a prefix principal is always tried', policies: docs(allowFrom('a', { principals: ['cluster.local/ns/foo/sa/other'] }), allowFrom('b', { principals: ['cluster.local/ns/foo/*'] })), expect: 'allow' },
  { name: 'notPrincipals is always tried', policies: docs(allowFrom('a', { principals: ['cluster.local/ns/foo/sa/other'] }), allowFrom('b', { notPrincipals: ['cluster.local/ns/foo/sa/other'] })), expect: 'allow' },
  { name: 'plaintext: exact principals fail, notPrincipals match', policies: docs(allowFrom('a', { principals: ['cluster.local/ns/foo/sa/sleep'] }), allowFrom('b', { notPrincipals: ['cluster.local/ns/foo/sa/other'] })), call: plaintext, expect: 'allow' },
  { name: 'plaintext: only exact principals, denied', policies: docs(allowFrom('a', { principals: ['cluster.local/ns/foo/sa/sleep'] }), allowFrom('b', { principals: ['cluster.local/ns/foo/sa/x'] })), call: plaintext, expect: 'deny' },
  { name: 'a rule without from is always tried', policies: docs(allowFrom('a', { principals: ['cluster.local/ns/foo/sa/other'] }), doc({ action: 'ALLOW', rules: [to({ paths: ['/ip'] })] }, { name: 'b' })), expect: 'allow' },
  { name: 'one rule pins the peer, another does not', policies: docs(allowFrom('a', { principals: ['cluster.local/ns/foo/sa/other'] }), doc({ action: 'ALLOW', rules: [from({ principals: ['cluster.local/ns/foo/sa/other'] }), to({ paths: ['/ip'] })] }, { name: 'b' })), expect: 'allow' },
  { name: 'a from entry without principals is always tried', policies: docs(allowFrom('a', { principals: ['cluster.local/ns/foo/sa/other'] }), doc({ action: 'ALLOW', rules: [{ from: [{ source: { principals: ['cluster.local/ns/foo/sa/other'] } }, { source: { namespaces: ['foo'] } }] }] }, { name: 'b' })), expect: 'allow' },
  { name: 'exact-principal DENY among others denies its peer', policies: docs(doc({ rules: [{}] }, { name: 'all' }), denyFrom('d1', { principals: ['cluster.local/ns/foo/sa/other'] }), denyFrom('d2', { principals: ['cluster.local/ns/foo/sa/sleep'] })), expect: 'deny' },
  { name: 'exact-principal DENYs for other peers do not deny', policies: docs(doc({ rules: [{}] }, { name: 'all' }), denyFrom('d1', { principals: ['cluster.local/ns/foo/sa/other'] }), denyFrom('d2', { principals: ['cluster.local/ns/foo/sa/x'] })), expect: 'allow' },
  { name: 'trust domain aliases are in the index', policies: docs(allowFrom('a', { principals: ['acme.org/ns/foo/sa/other'] }), allowFrom('b', { principals: ['acme.org/ns/foo/sa/sleep'] })), call: as('old.td/ns/foo/sa/sleep'), options: { istio: { trustDomain: 'acme.org', trustDomainAliases: ['old.td'] } }, expect: 'allow' },
  { name: 'spiffe:// prefix on the recorded peer', policies: docs(allowFrom('a', { principals: ['cluster.local/ns/foo/sa/other'] }), allowFrom('b', { principals: ['cluster.local/ns/foo/sa/sleep'] })), call: as('spiffe://cluster.local/ns/foo/sa/sleep'), expect: 'allow' },
]);

it('Istio decide() names the first matching policy in order, as explain() does', () => {
  const sim = compile(docs(allowFrom('a', { principals: ['cluster.local/ns/foo/sa/other'] }), allowFrom('b', { principals: ['cluster.local/ns/foo/*'] }), allowFrom('c', { principals: ['cluster.local/ns/foo/sa/sleep'] })));
  const decision = sim.decide(rec());
  assert.equal(decision.verdict, 'allow');
  assert.match(decision.reason, /foo\/b\b/);
  assert.equal(sim.explain(rec()).reason, decision.reason);
});

describe('Istio AUDIT, dry run, CUSTOM', () => {
  it('AUDIT marks a matching call and never changes the verdict', () => {
    const d = check({ name: 'audit', policies: doc({ action: 'AUDIT', rules: [to({ paths: ['/ip'] })] }), expect: 'allow' });
    assert.equal(d.audited, true);
    const n = check({ name: 'audit no match', policies: doc({ action: 'AUDIT', rules: [to({ paths: ['/x'] })] }), expect: 'allow' });
    assert.equal(n.audited, undefined);
    const denied = check({ name: 'audit with deny', policies: docs(doc({ action: 'AUDIT', rules: [{}] }), doc({}, { name: 'nothing' })), expect: 'deny' });
    assert.equal(denied.audited, true);
    // every matching AUDIT policy is named, with its first matching rule
    const both = check({ name: 'two audits', policies: docs(doc({ action: 'AUDIT', rules: [to({ paths: ['/x'] }), to({ paths: ['/ip'] }), {}] }, { name: 'a' }), doc({ action: 'AUDIT', rules: [{}] }, { name: 'b' }), doc({ action: 'AUDIT', rules: [to({ methods: ['POST'] })] }, { name: 'c' })), expect: 'allow' });
    assert.deepEqual(both.auditedBy?.map((m) => [m.policy.label, m.rule.label]), [['AuthorizationPolicy foo/a', 'rules[1]'], ['AuthorizationPolicy foo/b', 'rules[0]']]);
  });

  // spec §1.9.2 M1: the webhook refuses istio.io/dry-run on AUDIT whatever its value, and an istiod
  // that receives such a policy anyway keeps it in shadow rules (builder.go): it marks nothing.
  it('an AUDIT policy with istio.io/dry-run marks nothing', () => {
    for (const value of ['true', 'false']) {
      const d = check({ name: `audit dry-run ${value}`, policies: doc({ action: 'AUDIT', rules: [{}] }, { annotations: { 'istio.io/dry-run': value } }), expect: 'allow' });
      assert.equal(d.audited, undefined, value);
    }
  });

  it('a dry-run DENY yields a shadow verdict only', () => {
    const d = check({ name: 'dry deny', policies: doc({ action: 'DENY', rules: [to({ paths: ['/ip'] })] }, { annotations: { 'istio.io/dry-run': 'true' } }), expect: 'allow' });
    assert.equal(d.shadow?.length, 1);
    assert.equal(d.shadow![0]!.verdict, 'deny');
  });

  it('dry-run ALLOW policies do not make the workload default-deny', () => {
    const d = check({ name: 'dry allow', policies: doc({ rules: [to({ paths: ['/x'] })] }, { annotations: { 'istio.io/dry-run': 'True' } }), expect: 'allow' });
    assert.deepEqual(d.shadow?.map((s) => s.verdict), ['deny']);
  });

  // mesh-semantics §1.3 "Dry run": the dry-run ALLOW and the dry-run DENY policies are two shadow
  // engines, each reporting its own result; Envoy's RBAC engine names the first matching policy.
  it('each dry-run engine reports its result, the policies that applied and which of them match', () => {
    const dry = { 'istio.io/dry-run': 'true' };
    const sim = compile(docs(
      doc({ action: 'DENY', rules: [to({ paths: ['/admin'] }), to({ paths: ['/ip'] })] }, { name: 'a-deny-ip', annotations: dry }),
      doc({ action: 'DENY', rules: [to({ methods: ['GET'] })] }, { name: 'b-deny-get', annotations: dry }),
      doc({ action: 'DENY', rules: [to({ methods: ['POST'] })] }, { name: 'c-deny-post', annotations: dry }),
      doc({ rules: [from({ principals: ['cluster.local/ns/foo/sa/other'] })] }, { name: 'd-allow-other', annotations: dry }),
    ));
    const d = sim.decide(rec());
    assert.equal(d.verdict, 'allow');
    const byEngine = new Map(d.shadow!.map((s) => [s.engine, s]));
    const deny = byEngine.get('deny')!;
    assert.equal(deny.verdict, 'deny');
    assert.equal(deny.policy.label, 'AuthorizationPolicy foo/a-deny-ip');
    assert.equal(deny.rule?.label, 'rules[1]');
    assert.deepEqual(deny.policies.map((m) => [m.policy.label, m.matches, m.rule?.label]), [
      ['AuthorizationPolicy foo/a-deny-ip', true, 'rules[1]'],
      ['AuthorizationPolicy foo/b-deny-get', true, 'rules[0]'],
      ['AuthorizationPolicy foo/c-deny-post', false, undefined],
    ]);
    const allow = byEngine.get('allow')!;
    assert.equal(allow.verdict, 'deny', 'no dry-run ALLOW policy matches: that engine would deny');
    assert.equal(allow.rule, undefined);
    assert.deepEqual(allow.policies.map((m) => [m.policy.label, m.matches]), [['AuthorizationPolicy foo/d-allow-other', false]]);
  });

  it('a dry-run policy testing what the call lacks makes its engine unknown', () => {
    const d = check({ name: 'dry unknown', policies: doc({ action: 'DENY', rules: [from({ ipBlocks: ['10.0.0.0/8'] })] }, { annotations: { 'istio.io/dry-run': 'true' } }), call: { source: { ip: undefined } }, expect: 'allow' });
    assert.equal(d.shadow?.[0]?.verdict, 'unknown');
    assert.equal(d.shadow?.[0]?.policies[0]?.matches, undefined);
  });

  it('istio.io/dry-run "false" is enforced (an unparsable value is refused: "Istio refuses a resource" below)', () => {
    check({ name: 'false', policies: denyRule({}, { annotations: { 'istio.io/dry-run': 'false' } }), expect: 'deny' });
  });

  const custom = (rule: unknown, provider = 'ext', name = 'ext') => doc({ action: 'CUSTOM', provider: { name: provider }, rules: [rule] }, { name });
  it('a matching CUSTOM rule is an external decision naming the provider', () => {
    const d = check({ name: 'custom', policies: custom(to({ paths: ['/ip'] }), 'my-authz'), expect: 'external' });
    assert.match(d.reason, /my-authz/);
    check({ name: 'custom no match', policies: custom(to({ paths: ['/x'] })), expect: 'allow' });
  });

  it('a stub verdict replaces the external decision', () => {
    check({ name: 'stub allow', policies: custom({}), options: { custom: { ext: 'allow' } }, expect: 'allow' });
    const d = check({ name: 'stub deny', policies: custom({}), options: { custom: { ext: 'deny' } }, expect: 'deny' });
    assert.match(d.reason, /ext/);
    check({ name: 'stub allow then no ALLOW match', policies: docs(custom({}), doc({ rules: [to({ paths: ['/x'] })] })), options: { custom: { ext: 'allow' } }, expect: 'deny' });
  });

  it('CUSTOM cannot bypass DENY or ALLOW', () => {
    check({ name: 'custom + deny', policies: docs(custom({}), denyRule({})), expect: 'deny' });
    check({ name: 'custom + no allow match', policies: docs(custom({}), doc({ rules: [to({ paths: ['/x'] })] })), expect: 'deny' });
  });

  it('two CUSTOM providers on one workload become DENY', () => {
    check({ name: 'two providers', policies: docs(custom(to({ paths: ['/ip'] }), 'a', 'a'), custom(to({ paths: ['/other'] }), 'b', 'b')), expect: 'deny' });
    check({ name: 'two providers, no match', policies: docs(custom(to({ paths: ['/x'] }), 'a', 'a'), custom(to({ paths: ['/y'] }), 'b', 'b')), expect: 'allow' });
  });

});

// Expected values: istio/istio pilot/pkg/security/authz/builder/builder.go (buildHTTP/buildTCP: a
// provider getExtAuthz cannot resolve gives DENY rules named by policyName with the provider,
// suffixed by getBadCustomDenyRules; several providers deny before any lookup; an HTTP-only
// provider has no TCP filter and is skipped on a TCP chain) and extauthz.go
// (processExtensionProvider resolves only envoyExtAuthzHttp/envoyExtAuthzGrpc entries);
// the RBAC names as in builder testdata http/custom-bad-multiple-providers-out2.yaml.
describe('Istio CUSTOM under a known mesh config', () => {
  const custom = (rules: unknown[], provider: string | null = 'ext', name = 'ext') => doc({ action: 'CUSTOM', ...(provider !== null ? { provider: { name: provider } } : {}), rules }, { name });
  const grpc = (name: string) => ({ name, type: 'envoyExtAuthzGrpc' });
  const http = (name: string) => ({ name, type: 'envoyExtAuthzHttp' });
  const mesh = (...extensionProviders: unknown[]) => ({ istio: { extensionProviders, meshConfig: 'ConfigMap istio-system/istio' } });
  const tcp: Patch = { protocol: 'tcp', request: null, destination: { port: 9000 } };
  const badId = (provider: string, policy: string, rule: number) => `istio-ext-authz-${provider}ns[foo]-policy[${policy}]-rule[${rule}]-deny-due-to-bad-CUSTOM-action`;

  const cases: Array<Case & { deniedBy?: string; reason?: RegExp; step?: RegExp }> = [
    { name: 'a declared ext_authz provider: external decision', policies: custom([{}]), options: mesh(grpc('ext')), expect: 'external' },
    { name: 'the mesh config unknown: external decision, as before', policies: custom([{}]), expect: 'external' },
    { name: 'an undeclared provider: its matching rule denies', policies: custom([to({ paths: ['/ip'] })]), options: mesh(grpc('opa')), expect: 'deny', status: 403, deniedBy: badId('ext-', 'ext', 0), reason: /does not declare "ext"; it declares "opa"/, step: /istiod turns the rules .* into DENY rules/ },
    { name: 'an undeclared provider: a request its rules do not match is allowed', policies: custom([to({ paths: ['/x'] })]), options: mesh(grpc('opa')), expect: 'allow' },
    { name: 'an undeclared provider: the rule that matched names the RBAC policy', policies: custom([to({ paths: ['/x'] }), to({ paths: ['/ip'] })]), options: mesh(grpc('opa')), expect: 'deny', deniedBy: badId('ext-', 'ext', 1) },
    { name: 'a mesh config with no extension providers denies too', policies: custom([{}]), options: mesh(), expect: 'deny', reason: /declares no ext_authz provider/ },
    { name: 'a provider of that name that is not ext_authz (zipkin)', policies: custom([{}]), options: mesh({ name: 'ext', type: 'zipkin', problem: 'it is a zipkin provider, not envoyExtAuthzHttp or envoyExtAuthzGrpc' }), expect: 'deny', reason: /zipkin/ },
    { name: 'an undeclared provider denies whatever stub verdict is configured', policies: custom([{}]), options: { ...mesh(grpc('opa')), custom: { ext: 'allow' } }, expect: 'deny' },
    { name: 'two providers: each policy named with its own provider', policies: docs(custom([to({ paths: ['/ip'] })], 'a', 'a'), custom([to({ paths: ['/other'] })], 'b', 'b')), options: mesh(grpc('a'), grpc('b')), expect: 'deny', deniedBy: badId('a-', 'a', 0) },
    { name: 'TCP: an envoyExtAuthzHttp provider is skipped', policies: custom([to({ ports: ['9000'] })]), options: mesh(http('ext')), call: tcp, expect: 'allow', step: /envoyExtAuthzHttp .* skips its CUSTOM policies on a TCP filter chain/ },
    { name: 'TCP: an envoyExtAuthzHttp provider skipped, an ALLOW still decides', policies: docs(custom([to({ ports: ['9000'] })]), doc({ rules: [to({ ports: ['9001'] })] }, { name: 'allow' })), options: mesh(http('ext')), call: tcp, expect: 'deny' },
    { name: 'TCP: an envoyExtAuthzGrpc provider has a TCP filter', policies: custom([to({ ports: ['9000'] })]), options: mesh(grpc('ext')), call: tcp, expect: 'external' },
    { name: 'TCP: an undeclared provider denies (the lookup fails before the HTTP-only test)', policies: custom([to({ ports: ['9000'] })]), options: mesh(http('opa')), call: tcp, expect: 'deny', deniedBy: badId('ext-', 'ext', 0) },
    { name: 'TCP: two providers deny even when one is HTTP-only', policies: docs(custom([to({ ports: ['9000'] })], 'a', 'a'), custom([to({ ports: ['9001'] })], 'b', 'b')), options: mesh(http('a'), grpc('b')), call: tcp, expect: 'deny' },
    { name: 'TCP: a provider named in .meshpolicy.yaml (kind unknown) stays an external decision', policies: custom([to({ ports: ['9000'] })]), options: { istio: { extensionProviders: [{ name: 'ext' }], meshConfig: '.meshpolicy.yaml' } }, call: tcp, expect: 'external' },
    { name: 'HTTP: an envoyExtAuthzHttp provider is asked', policies: custom([{}]), options: mesh(http('ext')), expect: 'external' },
  ];
  for (const c of cases) {
    it(c.name, () => {
      const d = check(c);
      if (c.deniedBy !== undefined) {
        assert.equal(d.deniedBy?.policyId, c.deniedBy);
        assert.equal(d.deniedBy?.kind, 'policy');
      }
      if (c.reason) assert.match(d.reason, c.reason);
      if (c.step) {
        const explained = compile(c.policies, c.options).explain(rec(c.call));
        assert.ok(explained.trace.some((s) => c.step!.test(s.text)), `${c.name}: a trace step matching ${c.step}:\n${explained.trace.map((s) => s.text).join('\n')}`);
      }
    });
  }
});

const SELECT = (app: string) => ({ selector: { matchLabels: { app } } });
table('Istio attachment', [
  { name: 'selector matches', policies: doc({ ...SELECT('httpbin') }), expect: 'deny' },
  { name: 'selector does not match', policies: doc({ ...SELECT('other') }), expect: 'allow' },
  { name: 'empty matchLabels selects every workload', policies: doc({ selector: { matchLabels: {} } }), expect: 'deny' },
  { name: 'other namespace', policies: doc({}, { namespace: 'bar' }), expect: 'allow' },
  { name: 'root namespace without selector applies mesh-wide', policies: doc({}, { namespace: 'istio-system' }), expect: 'deny' },
  { name: 'root namespace selector matches in every namespace', policies: doc({ ...SELECT('httpbin') }, { namespace: 'istio-system' }), expect: 'deny' },
  { name: 'configured root namespace', policies: doc({}, { namespace: 'istio-system' }), options: { istio: { rootNamespace: 'mesh-root' } }, expect: 'allow' },
  { name: 'targetRefs are ignored by sidecars', policies: doc({ targetRefs: [{ kind: 'Gateway', group: 'gateway.networking.k8s.io', name: 'gw' }] }), expect: 'allow' },
  { name: 'labels not recorded and selector policy', policies: doc({ ...SELECT('httpbin') }), call: { destination: { labels: undefined } }, expect: 'unknown', missing: ['destination.labels'] },
  { name: 'labels not recorded, namespace-wide policy only', policies: doc({}), call: { destination: { labels: undefined } }, expect: 'deny' },
  { name: 'labels not recorded, other selector may apply but cannot change a DENY', policies: docs(denyRule({}), doc({ ...SELECT('x') })), call: { destination: { labels: undefined } }, expect: 'deny' },
  { name: 'labels from the inventory', policies: doc({ ...SELECT('httpbin') }), call: { destination: { labels: undefined } }, options: { inventory: 'apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: httpbin, namespace: foo}\nspec: {template: {metadata: {labels: {app: httpbin}}}}\n' }, expect: 'deny' },
  { name: 'namespace not recorded', policies: doc({}), call: { destination: { namespace: undefined } }, expect: 'unknown', missing: ['destination.namespace'] },
  { name: 'targetRefs Service: enforced by the Service waypoint', policies: denyRule({}, { name: 'svc' }).replace('"action":"DENY"', '"targetRefs":[{"kind":"Service","group":"","name":"httpbin"}],"action":"DENY"'), call: { destination: { service: 'httpbin' } }, expect: 'deny' },
  { name: 'targetRefs another Service', policies: doc({ targetRefs: [{ kind: 'Service', group: '', name: 'other' }], action: 'DENY', rules: [{}] }), call: { destination: { service: 'httpbin' } }, expect: 'allow' },
  // Readers record Istio's service as its host name (the SNI's and the cluster's), which names the same Service.
  ...['httpbin.foo.svc.cluster.local', 'httpbin.foo.svc', 'httpbin.foo', 'HTTPBIN.foo.svc.cluster.local:8000'].map((service) => (
    { name: `targetRefs Service httpbin, service recorded as ${service}`, policies: doc({ targetRefs: [{ kind: 'Service', group: '', name: 'httpbin' }], action: 'DENY', rules: [{}] }), call: { destination: { service } }, expect: 'deny' as const })),
  { name: 'targetRefs Service httpbin, host of another namespace', policies: doc({ targetRefs: [{ kind: 'Service', group: '', name: 'httpbin' }], action: 'DENY', rules: [{}] }), call: { destination: { service: 'httpbin.bar.svc.cluster.local' } }, expect: 'allow' },
  { name: 'targetRefs Service httpbin, an external host', policies: doc({ targetRefs: [{ kind: 'Service', group: '', name: 'httpbin' }], action: 'DENY', rules: [{}] }), call: { destination: { service: 'httpbin.example.com' } }, expect: 'allow' },
]);

describe('Istio Gateway API gateways', () => {
  const gw = { destination: { namespace: 'foo', workload: 'gw-istio', labels: { 'gateway.networking.k8s.io/gateway-name': 'gw' }, port: 80 } };
  const ref = (name: string) => ({ targetRefs: [{ kind: 'Gateway', group: 'gateway.networking.k8s.io', name }] });
  it('a policy targeting the gateway applies to it', () => {
    check({ name: 'gw', policies: doc({ ...ref('gw'), action: 'DENY', rules: [to({ paths: ['/ip'] })] }), call: gw, expect: 'deny' });
  });
  it('a policy targeting another gateway does not', () => {
    check({ name: 'other gw', policies: doc({ ...ref('other'), action: 'DENY', rules: [{}] }), call: gw, expect: 'allow' });
  });
  it('selector policies also apply to gateways (ENABLE_SELECTOR_BASED_K8S_GATEWAY_POLICY)', () => {
    check({ name: 'selector', policies: doc({ selector: { matchLabels: { 'gateway.networking.k8s.io/gateway-name': 'gw' } } }), call: gw, expect: 'deny' });
  });
  it('without labels a sidecar cannot be told from the targeted gateway', () => {
    check({ name: 'no labels', policies: doc({ ...ref('gw'), action: 'DENY', rules: [{}] }), call: { destination: { namespace: 'foo', workload: 'gw-istio', labels: undefined } }, expect: 'unknown', missing: ['destination.labels'] });
  });
  it('a targeting policy in another namespace does not apply', () => {
    check({ name: 'ns', policies: doc({ ...ref('gw'), action: 'DENY', rules: [{}] }, { namespace: 'istio-system' }), call: gw, expect: 'allow' });
  });
});

// --- HTTP-only attributes on TCP (spec §1.7) ------------------------------------------------

const tcp = (port: number): Patch => ({ protocol: 'tcp', request: null, destination: { port } });
table('Istio HTTP-only attributes on TCP', [
  { name: 'ALLOW methods+port: the rule is dropped on TCP, port 9000 denied', policies: allowRule(to({ methods: ['GET'], ports: ['9000'] })), call: tcp(9000), expect: 'deny' },
  { name: 'ALLOW methods+port: port 9001 denied too', policies: allowRule(to({ methods: ['GET'], ports: ['9000'] })), call: tcp(9001), expect: 'deny' },
  { name: 'ALLOW rule dropped even with a TCP-only to entry', policies: doc({ rules: [{ to: [{ operation: { ports: ['9000'] } }, { operation: { methods: ['GET'] } }] }] }), call: tcp(9000), expect: 'deny' },
  { name: 'ALLOW with TCP fields only works', policies: allowRule(to({ ports: ['9000', '9001'] })), call: tcp(9001), expect: 'allow' },
  { name: 'ALLOW with a header condition is dropped on TCP', policies: allowRule({ ...to({ ports: ['9000'] }), ...when('request.headers[x]', ['y']) }), call: tcp(9000), expect: 'deny' },
  { name: 'DENY methods+port becomes deny port 9000', policies: denyRule(to({ methods: ['GET'], ports: ['9000'] })), call: tcp(9000), expect: 'deny' },
  { name: 'DENY methods+port: port 9001 unaffected', policies: denyRule(to({ methods: ['GET'], ports: ['9000'] })), call: tcp(9001), expect: 'allow' },
  { name: 'DENY methods only denies every TCP connection', policies: denyRule(to({ methods: ['GET'] })), call: tcp(9001), expect: 'deny' },
  { name: 'DENY notMethods dropped too', policies: denyRule(to({ notMethods: ['GET'], ports: ['9000'] })), call: tcp(9000), expect: 'deny' },
  { name: 'DENY requestPrincipals dropped, principals kept', policies: denyRule(from({ requestPrincipals: ['*'], principals: ['cluster.local/ns/bar/*'] })), call: tcp(9000), expect: 'allow' },
  { name: 'the same DENY on HTTP needs the method', policies: denyRule(to({ methods: ['GET'], ports: ['9000'] })), call: { destination: { port: 9000 }, request: { method: 'POST' } }, expect: 'allow' },
]);

// --- mTLS availability (spec §1.8) ----------------------------------------------------------

const pa = (spec: unknown, meta: Meta = {}) => doc(spec, { kind: 'PeerAuthentication', name: 'pa', ...meta });
table('Istio PeerAuthentication', [
  { name: 'STRICT rejects plaintext before authorization', policies: pa({ mtls: { mode: 'STRICT' } }, { namespace: 'istio-system' }), call: plaintext, expect: 'deny' },
  { name: 'STRICT accepts mTLS', policies: pa({ mtls: { mode: 'STRICT' } }, { namespace: 'istio-system' }), expect: 'allow' },
  { name: 'PERMISSIVE plaintext has no principal', policies: docs(pa({ mtls: { mode: 'PERMISSIVE' } }), allowRule(from({ principals: ['*'] }))), call: plaintext, expect: 'deny' },
  { name: 'DENY notPrincipals * denies plaintext', policies: denyRule(from({ notPrincipals: ['*'] })), call: plaintext, expect: 'deny' },
  { name: 'DENY notPrincipals * lets mTLS through', policies: denyRule(from({ notPrincipals: ['*'] })), expect: 'allow' },
  { name: 'DISABLE: a recorded principal is not available', policies: docs(pa({ mtls: { mode: 'DISABLE' } }), allowRule(from({ principals: [SLEEP] }))), expect: 'deny' },
  // An mTLS caller cannot connect where the proxy does not terminate TLS (pass_through_filter_chain_test.go).
  { name: 'DISABLE refuses a caller with a mesh identity, with no policy at all', policies: pa({ mtls: { mode: 'DISABLE' } }), expect: 'deny' },
  { name: 'DISABLE refuses it on TCP too', policies: pa({ mtls: { mode: 'DISABLE' } }), call: { protocol: 'tcp', request: null }, expect: 'deny' },
  { name: 'DISABLE accepts plaintext', policies: pa({ mtls: { mode: 'DISABLE' } }), call: plaintext, expect: 'allow' },
  // A principal ingest inferred from the inventory is not what the wire carried: auto mTLS sends
  // plaintext to a DISABLE workload, so the call is plaintext there, not refused.
  { name: 'DISABLE with an inferred identity: plaintext, not refused', policies: pa({ mtls: { mode: 'DISABLE' } }), call: { source: { principalInferred: true } }, expect: 'allow' },
  { name: 'DISABLE with an inferred identity: an ALLOW for callers without a principal matches', policies: docs(pa({ mtls: { mode: 'DISABLE' } }), allowRule(from({ notPrincipals: ['*'] }))), call: { source: { principalInferred: true } }, expect: 'allow' },
  { name: 'without DISABLE an inferred identity is presented: that ALLOW does not match', policies: allowRule(from({ notPrincipals: ['*'] })), call: { source: { principalInferred: true } }, expect: 'deny' },
  { name: 'port-level DISABLE refuses mTLS on that port only', policies: pa({ selector: { matchLabels: { app: 'httpbin' } }, mtls: { mode: 'STRICT' }, portLevelMtls: { 8000: { mode: 'DISABLE' } } }), expect: 'deny' },
  { name: 'port-level DISABLE elsewhere: mTLS to this port passes', policies: pa({ selector: { matchLabels: { app: 'httpbin' } }, mtls: { mode: 'STRICT' }, portLevelMtls: { 9000: { mode: 'DISABLE' } } }), expect: 'allow' },
  { name: 'DISABLE or STRICT by the labels, which are not recorded: mTLS is unknown', policies: docs(pa({ mtls: { mode: 'STRICT' } }, { name: 'ns' }), pa({ selector: { matchLabels: { app: 'httpbin' } }, mtls: { mode: 'DISABLE' } })), call: { destination: { labels: undefined } }, expect: 'unknown', missing: ['destination.labels'] },
  { name: 'ztunnel reads DISABLE as PERMISSIVE: mTLS passes', policies: pa({ mtls: { mode: 'DISABLE' } }), call: { destination: { labels: { app: 'httpbin', 'istio.io/dataplane-mode': 'ambient' } }, protocol: 'tcp', request: null }, expect: 'allow' },
  { name: 'namespace PERMISSIVE overrides mesh STRICT', policies: docs(pa({ mtls: { mode: 'STRICT' } }, { namespace: 'istio-system', name: 'mesh' }), pa({ mtls: { mode: 'PERMISSIVE' } })), call: plaintext, expect: 'allow' },
  { name: 'workload UNSET inherits namespace STRICT', policies: docs(pa({ mtls: { mode: 'STRICT' } }, { name: 'ns' }), pa({ selector: { matchLabels: { app: 'httpbin' } }, mtls: { mode: 'UNSET' } })), call: plaintext, expect: 'deny' },
  { name: 'port-level DISABLE on a STRICT workload', policies: pa({ selector: { matchLabels: { app: 'httpbin' } }, mtls: { mode: 'STRICT' }, portLevelMtls: { 8000: { mode: 'DISABLE' } } }), call: plaintext, expect: 'allow' },
  { name: 'port-level: another port stays STRICT', policies: pa({ selector: { matchLabels: { app: 'httpbin' } }, mtls: { mode: 'STRICT' }, portLevelMtls: { 9000: { mode: 'DISABLE' } } }), call: plaintext, expect: 'deny' },
  { name: 'port-level with the port not recorded', policies: pa({ selector: { matchLabels: { app: 'httpbin' } }, mtls: { mode: 'STRICT' }, portLevelMtls: { 9000: { mode: 'DISABLE' } } }), call: { source: { principal: null }, destination: { port: undefined } }, expect: 'unknown', missing: ['destination.port'] },
  { name: 'a workload selector in the root namespace is ignored', policies: pa({ selector: { matchLabels: { app: 'httpbin' } }, mtls: { mode: 'STRICT' } }, { namespace: 'istio-system' }), call: plaintext, expect: 'allow' },
  { name: 'workload STRICT with labels not recorded', policies: pa({ selector: { matchLabels: { app: 'httpbin' } }, mtls: { mode: 'STRICT' } }), call: { source: { principal: null }, destination: { labels: undefined } }, expect: 'unknown', missing: ['destination.labels'] },
]);

// A native log that does not record the caller's identity (docs/access-records.md, source.principalUnknown):
// the call is neither plaintext nor any particular identity, so only identity-free rules decide it.
const identityUnknown: Patch = { source: { principal: undefined, principalUnknown: true } };
table('Istio caller identity not recorded', [
  { name: 'ALLOW on principals: unknown, names source.principal', policies: allowRule(from({ principals: [SLEEP] })), call: identityUnknown, expect: 'unknown', missing: ['source.principal'] },
  { name: 'ALLOW on namespaces: unknown', policies: allowRule(from({ namespaces: ['foo'] })), call: identityUnknown, expect: 'unknown', missing: ['source.principal'] },
  { name: 'ALLOW on the path alone: allowed', policies: allowRule(to({ paths: ['/ip'] })), call: identityUnknown, expect: 'allow' },
  { name: 'DENY on the path alone: denied', policies: denyRule(to({ paths: ['/ip'] })), call: identityUnknown, expect: 'deny' },
  { name: 'notPrincipals: unknown', policies: denyRule(from({ notPrincipals: [SLEEP] })), call: identityUnknown, expect: 'unknown', missing: ['source.principal'] },
  { name: 'STRICT mTLS: unknown (a plaintext call is rejected, an mTLS one is not)', policies: pa({ mtls: { mode: 'STRICT' } }, { namespace: 'istio-system' }), call: identityUnknown, expect: 'unknown', missing: ['source.principal'] },
  { name: 'STRICT and allow-nothing: denied either way', policies: docs(pa({ mtls: { mode: 'STRICT' } }, { namespace: 'istio-system' }), doc({ action: 'ALLOW' }, { name: 'allow-nothing' })), call: identityUnknown, expect: 'deny' },
  { name: 'PERMISSIVE and an identity-free ALLOW: allowed', policies: docs(pa({ mtls: { mode: 'PERMISSIVE' } }, { namespace: 'istio-system' }), allowRule(to({ methods: ['GET'] }))), call: identityUnknown, expect: 'allow' },
]);

// --- protocol not recorded, ztunnel ---------------------------------------------------------

table('Istio protocol not recorded', [
  { name: 'same verdict as HTTP and TCP', policies: allowRule(to({ ports: ['8000'] })), call: { protocol: null, request: null }, expect: 'allow' },
  { name: 'HTTP-only policy: unknown', policies: allowRule(to({ methods: ['GET'] })), call: { protocol: null, request: null }, expect: 'unknown', missing: ['protocol', 'request.method'] },
  { name: 'request fields imply HTTP', policies: allowRule(to({ methods: ['GET'] })), call: { protocol: null }, expect: 'allow' },
]);

const AMBIENT = 'apiVersion: v1\nkind: Namespace\nmetadata:\n  name: foo\n  labels: {istio.io/dataplane-mode: ambient}\n';
table('Istio ambient (ztunnel, L4)', [
  { name: 'ALLOW with an HTTP attribute is dropped: deny', policies: allowRule(to({ methods: ['GET'] })), options: { inventory: AMBIENT }, expect: 'deny' },
  { name: 'ALLOW with L4 attributes works', policies: allowRule(from({ namespaces: ['foo'] })), options: { inventory: AMBIENT }, expect: 'allow' },
  { name: 'DENY with only HTTP attributes has no effect', policies: denyRule(to({ methods: ['GET'] })), options: { inventory: AMBIENT }, expect: 'allow' },
  { name: 'DENY enforced on its L4 part', policies: denyRule(to({ methods: ['POST'], ports: ['8000'] })), options: { inventory: AMBIENT }, expect: 'deny' },
  { name: 'DENY L4 part on another port', policies: denyRule(to({ methods: ['POST'], ports: ['9000'] })), options: { inventory: AMBIENT }, expect: 'allow' },
  { name: 'AUDIT and CUSTOM are not enforced by ztunnel', policies: doc({ action: 'CUSTOM', provider: { name: 'x' }, rules: [{}] }), options: { inventory: AMBIENT }, expect: 'allow' },
  { name: 'remoteIpBlocks is not L4 at ztunnel', policies: allowRule(from({ remoteIpBlocks: ['10.0.0.5'] })), options: { inventory: AMBIENT }, expect: 'deny' },
]);

// istiod's ambient conversion hands ztunnel the principals as written (serviceregistry/ambient/
// authorization.go `handleRule`: `stringToMatch(op.Principals)`, and `source.principal` values the
// same way); only the Envoy generator rewrites their trust domain (model.go `MigrateTrustDomain`,
// trustdomain/bundle.go). ztunnel compares them with the peer's SPIFFE identity without
// `spiffe://` (ztunnel src/rbac.rs `matches_principal`). A sidecar decides the same calls with the
// rewritten values (spec §1.5.2).
const ambientTd = (istio: Record<string, unknown>): Options => ({ inventory: AMBIENT, istio });
const tcpFrom = (principal: string): Patch => ({ protocol: 'tcp', request: null, source: { principal } });
table('Istio ztunnel compares principals as written (no trust-domain rewriting)', [
  { name: 'trustDomain acme.org: cluster.local/... does not match acme.org/... at ztunnel', policies: allowRule(from({ principals: ['cluster.local/ns/foo/sa/sleep'] })), options: ambientTd({ trustDomain: 'acme.org' }), call: tcpFrom('acme.org/ns/foo/sa/sleep'), expect: 'deny' },
  { name: 'trustDomain acme.org: cluster.local/... matches the identity as written at ztunnel', policies: allowRule(from({ principals: ['cluster.local/ns/foo/sa/sleep'] })), options: ambientTd({ trustDomain: 'acme.org' }), call: tcpFrom('cluster.local/ns/foo/sa/sleep'), expect: 'allow' },
  { name: 'alias old-td: old-td/... does not match new-td/... at ztunnel', policies: allowRule(from({ principals: ['old-td/ns/foo/sa/sleep'] })), options: ambientTd({ trustDomain: 'new-td', trustDomainAliases: ['old-td'] }), call: tcpFrom('new-td/ns/foo/sa/sleep'), expect: 'deny' },
  { name: 'alias old-td: a source.principal condition is not rewritten either', policies: allowRule(when('source.principal', ['old-td/ns/foo/sa/sleep'])), options: ambientTd({ trustDomain: 'new-td', trustDomainAliases: ['old-td'] }), call: tcpFrom('new-td/ns/foo/sa/sleep'), expect: 'deny' },
  { name: 'alias old-td: notPrincipals in DENY is not rewritten (new-td/... is not excluded)', policies: denyRule(from({ notPrincipals: ['old-td/ns/foo/sa/sleep'] })), options: ambientTd({ trustDomain: 'new-td', trustDomainAliases: ['old-td'] }), call: tcpFrom('new-td/ns/foo/sa/sleep'), expect: 'deny' },
  { name: 'sidecar, same policy: the rewritten value matches (spec §1.5.2)', policies: allowRule(from({ principals: ['old-td/ns/foo/sa/sleep'] })), options: { istio: { trustDomain: 'new-td', trustDomainAliases: ['old-td'] } }, call: tcpFrom('new-td/ns/foo/sa/sleep'), expect: 'allow' },
]);

describe('Istio waypoint in front of a Service (ambient)', () => {
  const inventory = 'apiVersion: v1\nkind: Namespace\nmetadata:\n  name: foo\n  labels: {istio.io/dataplane-mode: ambient, istio.io/use-waypoint: waypoint}\n';
  const policies = docs(
    doc({ targetRefs: [{ kind: 'Service', group: '', name: 'httpbin' }], action: 'DENY', rules: [to({ methods: ['POST'] })] }, { name: 'svc' }),
    doc({ selector: { matchLabels: { app: 'httpbin' } }, rules: [from({ principals: ['cluster.local/ns/foo/sa/waypoint'] })] }, { name: 'l4' }),
  );
  const sim = compile(policies, { inventory });
  const call = (method: string) => rec({ destination: { service: 'httpbin' }, request: { method } });
  it('the waypoint enforces the Service policy (L7)', () => {
    assert.equal(sim.decide(call('POST')).verdict, 'deny');
  });
  it('ztunnel then sees the waypoint identity', () => {
    const d = sim.explain(call('GET'));
    assert.equal(d.verdict, 'allow');
    assert.ok(d.trace.some((s) => /ztunnel sees the waypoint's identity cluster\.local\/ns\/foo\/sa\/waypoint/.test(s.text)));
  });
  it('ztunnel knows the waypoint identity even when the log does not name the client', () => {
    const d = sim.decide(rec({ destination: { service: 'httpbin' }, request: { method: 'GET' }, source: { principal: undefined, principalUnknown: true } }));
    assert.equal(d.verdict, 'allow', d.reason);
  });
  it('a selector policy does not apply at the waypoint', () => {
    const d = sim.explain(call('GET'));
    assert.ok(d.trace.some((s) => s.outcome === 'skipped' && /foo\/l4 does not apply: selector and namespace-wide policies do not apply at a waypoint/.test(s.text)));
  });
});

// Which waypoint a call passes (istio.io ambient "Configure waypoint proxies"): istio.io/use-waypoint
// on the Service (a call to the Service) or the pod (a call to the pod) before the namespace's,
// `none` opting out; the Gateway's istio.io/waypoint-for (default service) says which of the two
// kinds of traffic it takes. And a waypoint's own connection to the pod, which ztunnel logs
// inbound with the waypoint's identity, passes no waypoint ("Waypoint ... Source Identity:
// waypoint, Enforced By: destination ztunnel" in the ambient L4 policy docs).
{
  const ns = (labels: string) => `apiVersion: v1\nkind: Namespace\nmetadata:\n  name: foo\n  labels: {istio.io/dataplane-mode: ambient${labels}}\n`;
  const service = (labels: string) => `---\napiVersion: v1\nkind: Service\nmetadata:\n  name: httpbin\n  namespace: foo\n  labels: {${labels}}\nspec:\n  selector: {app: httpbin}\n  ports: [{port: 8000}]\n`;
  const gateway = (waypointFor: string) => `---\napiVersion: gateway.networking.k8s.io/v1\nkind: Gateway\nmetadata:\n  name: waypoint\n  namespace: foo\n  labels: {istio.io/waypoint-for: ${waypointFor}}\nspec:\n  gatewayClassName: istio-waypoint\n  listeners: [{name: mesh, port: 15008, protocol: HBONE}]\n`;
  const NS_WAYPOINT = ', istio.io/use-waypoint: waypoint';
  // The waypoint denies POST to the Service; ztunnel admits only the waypoint. A GET from sleep is
  // allowed through the waypoint and denied without it.
  const policies = docs(
    doc({ targetRefs: [{ kind: 'Service', group: '', name: 'httpbin' }], action: 'DENY', rules: [to({ methods: ['POST'] })] }, { name: 'svc' }),
    doc({ selector: { matchLabels: { app: 'httpbin' } }, rules: [from({ principals: ['cluster.local/ns/foo/sa/waypoint'] })] }, { name: 'l4' }),
  );
  const toService = (method: string, principal = SLEEP): Patch => ({ source: { principal }, destination: { service: 'httpbin' }, request: { method } });
  const toPod = (labels: Record<string, string>): Patch => ({ destination: { labels: { app: 'httpbin', ...labels } }, request: { method: 'GET' } });
  const hop = (principal: string): Patch => ({ protocol: 'tcp', request: null, source: { principal }, destination: { service: 'httpbin' } });
  table('Istio: which waypoint a call passes (ambient)', [
    { name: 'namespace label: through the waypoint', policies, call: toService('GET'), options: { inventory: ns(NS_WAYPOINT) }, expect: 'allow' },
    { name: 'namespace label: the waypoint denies POST', policies, call: toService('POST'), options: { inventory: ns(NS_WAYPOINT) }, expect: 'deny' },
    { name: 'the Service opts out with none: ztunnel alone sees sleep', policies, call: toService('GET'), options: { inventory: ns(NS_WAYPOINT) + service('istio.io/use-waypoint: none') }, expect: 'deny' },
    { name: 'a Service label alone: through the waypoint', policies, call: toService('GET'), options: { inventory: ns(', istio.io/use-waypoint: none') + service('istio.io/use-waypoint: waypoint') }, expect: 'allow' },
    { name: 'a waypoint for workloads only does not take Service traffic', policies, call: toService('GET'), options: { inventory: ns(NS_WAYPOINT) + gateway('workload') }, expect: 'deny' },
    { name: 'a waypoint for all takes Service traffic', policies, call: toService('GET'), options: { inventory: ns(NS_WAYPOINT) + gateway('all') }, expect: 'allow' },
    { name: 'a call to the pod passes no Service waypoint', policies, call: toPod({}), options: { inventory: ns(NS_WAYPOINT) }, expect: 'deny' },
    { name: 'a call to a pod labelled with a waypoint for workloads passes it', policies, call: toPod({ 'istio.io/use-waypoint': 'waypoint' }), options: { inventory: ns('') + gateway('workload') }, expect: 'allow' },
    { name: "the waypoint's own connection: ztunnel alone decides", policies, call: hop('cluster.local/ns/foo/sa/waypoint'), options: { inventory: ns(NS_WAYPOINT) }, expect: 'allow' },
    { name: "the waypoint's own connection, spiffe:// identity", policies, call: hop('spiffe://cluster.local/ns/foo/sa/waypoint'), options: { inventory: ns(NS_WAYPOINT) }, expect: 'allow' },
    { name: 'the same name in a foreign trust domain is a client: the waypoint denies TCP', policies, call: hop('evil.example/ns/foo/sa/waypoint'), options: { inventory: ns(NS_WAYPOINT) }, expect: 'deny' },
  ]);
}

describe('Istio waypoint in front of a ServiceEntry (ambient)', () => {
  const namespace = 'apiVersion: v1\nkind: Namespace\nmetadata:\n  name: foo\n  labels: {istio.io/dataplane-mode: ambient, istio.io/use-waypoint: waypoint}\n';
  const entry = '---\napiVersion: networking.istio.io/v1\nkind: ServiceEntry\nmetadata: {name: ext, namespace: foo}\nspec:\n  hosts: [API.example.com, "*.svc.example.org"]\n  ports: [{number: 443, name: https, protocol: TLS}]\n';
  const policies = docs(doc({ targetRefs: [{ kind: 'ServiceEntry', group: 'networking.istio.io', name: 'ext' }], action: 'DENY', rules: [to({ methods: ['POST'] })] }, { name: 'no-posts-out' }));
  const call = (service: string, method = 'POST') => rec({ destination: { namespace: 'foo', service }, request: { method } });
  // [service recorded, verdict with the ServiceEntry in the inventory, verdict without it]
  // Without its hosts, whether the entry covers a call is unknown: not guessed from its name.
  const cases: [string, string, string][] = [
    ['api.example.com', 'deny', 'unknown'],
    ['api.example.com:443', 'deny', 'unknown'],
    ['a.svc.example.org', 'deny', 'unknown'],
    ['svc.example.org', 'allow', 'unknown'],
    ['other.example.com', 'allow', 'unknown'],
    ['ext', 'allow', 'unknown'],
  ];
  const known = compile(policies, { inventory: namespace + entry });
  const unknown = compile(policies, { inventory: namespace });
  for (const [service, withEntry, withoutEntry] of cases) {
    it(`${service}: ${withEntry} with the ServiceEntry's hosts, ${withoutEntry} without them`, () => {
      assert.equal(known.decide(call(service)).verdict, withEntry, known.explain(call(service)).reason);
      assert.equal(unknown.decide(call(service)).verdict, withoutEntry, unknown.explain(call(service)).reason);
    });
  }
  it('an entry not in the inventory: missing names it, and the trace says the attachment is uncertain', () => {
    const d = unknown.explain(call('api.example.com'));
    assert.deepEqual(d.missing, ['the hosts of ServiceEntry foo/ext (not in the inventory)']);
    assert.deepEqual(unknown.decide(call('api.example.com')).missing, d.missing);
    assert.ok(d.trace.some((s) => s.outcome === 'unknown' && /ServiceEntry foo\/ext, which the inventory does not hold/.test(s.text)), JSON.stringify(d.trace));
  });
  it('a call no rule of the policy matches is decided all the same', () => {
    assert.equal(unknown.decide(call('api.example.com', 'GET')).verdict, 'allow');
  });
  it('an entry of another namespace than the destination does not attach either way', () => {
    assert.equal(unknown.decide(rec({ destination: { namespace: 'bar', service: 'api.example.com' }, request: { method: 'POST' } })).verdict, 'allow');
  });
});

// --- Scenarios: the Istio documentation's authorization tasks -------------------------------

describe('Istio task: HTTP traffic (bookinfo)', () => {
  const sim = compile(fixture('bookinfo-http.yaml'), { inventory: fixture('bookinfo-inventory.yaml') });
  const call = (from: string | null, workload: string, method = 'GET'): AccessRecord => ({
    protocol: 'http',
    source: { principal: from === null ? null : `cluster.local/ns/default/sa/${from}` },
    destination: { namespace: 'default', workload, port: 9080 },
    request: { method, path: '/', host: `${workload}:9080` },
  });
  it('allow-nothing denies what no viewer policy allows', () => {
    assert.equal(sim.decide(call('bookinfo-productpage', 'ratings-v1')).verdict, 'deny');
  });
  it('productpage-viewer allows GET from anyone, not POST', () => {
    assert.equal(sim.decide(call(null, 'productpage-v1')).verdict, 'allow');
    assert.equal(sim.decide(call(null, 'productpage-v1', 'POST')).verdict, 'deny');
  });
  it('details and reviews accept GET from productpage only', () => {
    assert.equal(sim.decide(call('bookinfo-productpage', 'details-v1')).verdict, 'allow');
    assert.equal(sim.decide(call('bookinfo-productpage', 'reviews-v2')).verdict, 'allow');
    assert.equal(sim.decide(call('bookinfo-reviews', 'details-v1')).verdict, 'deny');
  });
  it('ratings accepts GET from reviews', () => {
    assert.equal(sim.decide(call('bookinfo-reviews', 'ratings-v1')).verdict, 'allow');
  });
  it('without mTLS the principal rules cannot match', () => {
    assert.equal(sim.decide(call(null, 'details-v1')).verdict, 'deny');
  });
});

describe('Istio task: TCP traffic', () => {
  const call = (port: number): AccessRecord => ({ protocol: 'tcp', source: { principal: 'cluster.local/ns/foo/sa/sleep', ip: '10.0.0.5' }, destination: { namespace: 'foo', workload: 'tcp-echo', labels: { app: 'tcp-echo' }, port } });
  const policy = (spec: unknown) => compile(doc({ selector: { matchLabels: { app: 'tcp-echo' } }, ...spec as object }, { name: 'tcp-policy' }));
  it('ALLOW ports 9000, 9001: 9002 is denied', () => {
    const sim = policy({ action: 'ALLOW', rules: [to({ ports: ['9000', '9001'] })] });
    assert.deepEqual([9000, 9001, 9002].map((p) => sim.decide(call(p)).verdict), ['allow', 'allow', 'deny']);
  });
  it('adding methods: GET drops the rule for TCP: everything is denied', () => {
    const sim = policy({ action: 'ALLOW', rules: [to({ methods: ['GET'], ports: ['9000'] })] });
    assert.deepEqual([9000, 9001].map((p) => sim.decide(call(p)).verdict), ['deny', 'deny']);
  });
  it('DENY with methods: GET on port 9000 denies port 9000 only', () => {
    const sim = policy({ action: 'DENY', rules: [to({ methods: ['GET'], ports: ['9000'] })] });
    assert.deepEqual([9000, 9001].map((p) => sim.decide(call(p)).verdict), ['deny', 'allow']);
  });
});

describe('Istio task: JWT', () => {
  const ra = doc({ selector: { matchLabels: { app: 'httpbin' } }, jwtRules: [{ issuer: ISS, jwksUri: 'https://raw.githubusercontent.com/istio/istio/master/security/tools/jwt/samples/jwks.json' }] }, { kind: 'RequestAuthentication', name: 'jwt-example' });
  const requireJwt = doc({ selector: { matchLabels: { app: 'httpbin' } }, action: 'ALLOW', rules: [from({ requestPrincipals: [`${ISS}/${ISS}`] })] }, { name: 'require-jwt' });
  const groups = doc({ selector: { matchLabels: { app: 'httpbin' } }, action: 'ALLOW', rules: [{ ...from({ requestPrincipals: [`${ISS}/${ISS}`] }), ...when('request.auth.claims[groups]', ['group1']) }] }, { name: 'require-jwt' });
  const call = (token?: NonNullable<NonNullable<AccessRecord['request']>['jwt']>) => rec(token ? jwt(token) : {});
  it('RequestAuthentication alone: invalid token 401, no token 200', () => {
    const sim = compile(ra);
    const bad = sim.decide(call({ valid: false }));
    assert.equal(bad.verdict, 'deny');
    assert.equal(bad.status, 401);
    assert.equal(sim.decide(call()).verdict, 'allow');
  });
  it('require-jwt: no token 403, valid token 200', () => {
    const sim = compile(docs(ra, requireJwt));
    const none = sim.decide(call());
    assert.equal(none.verdict, 'deny');
    assert.equal(none.status, 403);
    assert.equal(sim.decide(call({ valid: true, ...TOKEN })).verdict, 'allow');
  });
  it('groups claim: group1 allowed, others denied', () => {
    const sim = compile(docs(ra, groups));
    assert.equal(sim.decide(call({ ...TOKEN, claims: { groups: ['group1', 'group2'] } })).verdict, 'allow');
    assert.equal(sim.decide(call({ ...TOKEN, claims: { groups: ['group2'] } })).verdict, 'deny');
  });
});

describe('Istio task: explicit deny', () => {
  const denyGet = (spec: object = {}) => doc({ selector: { matchLabels: { app: 'httpbin' } }, action: 'DENY', rules: [{ ...to({ methods: ['GET'] }), ...spec }] }, { name: 'deny-method-get' });
  it('DENY GET: GET /get denied, POST /post allowed', () => {
    const sim = compile(denyGet());
    assert.equal(sim.decide(rec(req({ path: '/get' }))).verdict, 'deny');
    assert.equal(sim.decide(rec(req({ method: 'POST', path: '/post' }))).verdict, 'allow');
  });
  it('unless x-token: admin', () => {
    const sim = compile(denyGet(when('request.headers[x-token]', undefined, ['admin'])));
    assert.equal(sim.decide(rec(req({ path: '/get', headers: { 'x-token': 'admin' } }))).verdict, 'allow');
    assert.equal(sim.decide(rec(req({ path: '/get', headers: { 'x-token': 'guest' } }))).verdict, 'deny');
  });
  it('plus ALLOW /ip for admin: /get is now denied for admin too', () => {
    const allowIp = doc({ selector: { matchLabels: { app: 'httpbin' } }, action: 'ALLOW', rules: [{ ...to({ paths: ['/ip'] }), ...when('request.headers[x-token]', ['admin']) }] }, { name: 'allow-path-ip' });
    const sim = compile(docs(denyGet(when('request.headers[x-token]', undefined, ['admin'])), allowIp));
    assert.equal(sim.decide(rec(req({ path: '/ip', headers: { 'x-token': 'admin' } }))).verdict, 'allow');
    assert.equal(sim.decide(rec(req({ path: '/get', headers: { 'x-token': 'admin' } }))).verdict, 'deny');
  });
});

describe('Istio task: ingress gateway with ipBlocks and remoteIpBlocks', () => {
  const sim = compile(fixture('ingress.yaml'));
  const call = (ip: string, remoteIp?: string): AccessRecord => ({
    protocol: 'http',
    source: { principal: null, ip, ...(remoteIp ? { remoteIp } : {}) },
    destination: { namespace: 'istio-system', workload: 'istio-ingressgateway', labels: { app: 'istio-ingressgateway', istio: 'ingressgateway' }, port: 8080 },
    request: { method: 'GET', path: '/headers', host: 'httpbin.example.com' },
  });
  it('allows listed client addresses, denies others', () => {
    assert.equal(sim.decide(call('1.2.3.4')).verdict, 'allow');
    assert.equal(sim.decide(call('5.6.7.99')).verdict, 'allow');
    assert.equal(sim.decide(call('8.8.8.8')).verdict, 'deny');
  });
  it('denies by the X-Forwarded-For address', () => {
    assert.equal(sim.decide(call('1.2.3.4', '203.0.113.50')).verdict, 'deny');
    assert.equal(sim.decide(call('1.2.3.4', '2001:db8:bad::1')).verdict, 'deny');
    assert.equal(sim.decide(call('1.2.3.4', '198.51.100.1')).verdict, 'allow');
  });
  it('does not apply to workloads of other namespaces', () => {
    assert.equal(sim.decide(rec()).verdict, 'allow');
  });
});

describe('Istio task: dry run', () => {
  it('a dry-run DENY on /headers leaves the request allowed and reports the shadow denial', () => {
    const sim = compile(doc({ selector: { matchLabels: { app: 'httpbin' } }, action: 'DENY', rules: [to({ paths: ['/headers'] })] }, { name: 'deny-path-headers', annotations: { 'istio.io/dry-run': 'true' } }));
    const d = sim.decide(rec(req({ path: '/headers' })));
    assert.equal(d.verdict, 'allow');
    assert.equal(d.shadow?.[0]?.verdict, 'deny');
    assert.match(d.shadow![0]!.reason, /deny-path-headers/);
    assert.equal(sim.decide(rec(req({ path: '/ip' }))).shadow?.[0]?.verdict, 'allow');
  });
});

describe('Istio task: external authorization', () => {
  const sim = compile(fixture('custom.yaml'));
  it('/headers goes to the external authorizer; /ip does not', () => {
    const d = sim.decide(rec(req({ path: '/headers' })));
    assert.equal(d.verdict, 'external');
    assert.match(d.reason, /sample-ext-authz-grpc/);
    assert.equal(sim.decide(rec(req({ path: '/ip' }))).verdict, 'allow');
  });
});

describe('Istio task: trust domain migration', () => {
  const policy = doc({ selector: { matchLabels: { app: 'httpbin' } }, rules: [from({ principals: ['old-td/ns/foo/sa/sleep'] })] }, { name: 'service-httpbin' });
  const call = rec(as('new-td/ns/foo/sa/sleep'));
  it('without the alias, the new identity is denied', () => {
    assert.equal(compile(policy, { istio: { trustDomain: 'new-td' } }).decide(call).verdict, 'deny');
  });
  it('with trustDomainAliases [old-td] it is allowed', () => {
    assert.equal(compile(policy, { istio: { trustDomain: 'new-td', trustDomainAliases: ['old-td'] } }).decide(call).verdict, 'allow');
  });
});

// --- trace ----------------------------------------------------------------------------------

describe('Istio trace', () => {
  const yaml = fixture('bookinfo-http.yaml');
  const sim = compile(yaml, { inventory: fixture('bookinfo-inventory.yaml') });
  const call: AccessRecord = { protocol: 'http', source: { principal: 'cluster.local/ns/default/sa/bookinfo-reviews' }, destination: { namespace: 'default', workload: 'details-v1', port: 9080 }, request: { method: 'GET', path: '/', host: 'details:9080' } };
  it('decide gives one verdict step at the deciding policy', () => {
    const d = sim.decide(call);
    assert.equal(d.verdict, 'deny');
    assert.equal(d.trace.length, 1);
    assert.equal(d.policy?.label, 'AuthorizationPolicy default/allow-nothing');
  });
  it('explain walks through attachment, rules and the first failing field', () => {
    const d = sim.explain(call);
    const texts = d.trace.map((s) => `${s.outcome}: ${s.text}`);
    assert.ok(texts.some((s) => /^applies: AuthorizationPolicy default\/details-viewer \(ALLOW\) applies: selector app=details matches/.test(s)), texts.join('\n'));
    assert.ok(texts.some((s) => /^skipped: AuthorizationPolicy default\/ratings-viewer \(ALLOW\) does not apply: selector app=ratings does not match/.test(s)), texts.join('\n'));
    assert.ok(texts.some((s) => /^not-matched: AuthorizationPolicy default\/details-viewer rules\[0\]: from\[0\]\.source\.principals .* does not match peer identity "cluster\.local\/ns\/default\/sa\/bookinfo-reviews"/.test(s)), texts.join('\n'));
    assert.ok(texts.some((s) => /labels app=details, version=v1 from the inventory/.test(s)), texts.join('\n'));
    assert.equal(d.trace.at(-1)!.outcome, 'verdict');
  });
  it('explain names each policy once at its own level: a policy without rules is not summed up again', () => {
    const d = sim.explain(call);
    const policySteps = d.trace.filter((s) => s.outcome !== 'applies' && s.outcome !== 'skipped' && s.outcome !== 'verdict' && /^AuthorizationPolicy [^ ]+: /.test(s.text));
    const labels = policySteps.map((s) => s.text.slice(0, s.text.indexOf(': ')));
    assert.deepEqual(labels.filter((l, i) => labels.indexOf(l) !== i), [], policySteps.map((s) => s.text).join('\n'));
    assert.deepEqual(policySteps.filter((s) => s.text.startsWith('AuthorizationPolicy default/allow-nothing: ')).map((s) => [s.outcome, s.text]), [['not-matched', 'AuthorizationPolicy default/allow-nothing: no rules, so it matches nothing (allow-nothing)']]);
  });
  it('source refs point at the policy name and the rule line', () => {
    const d = sim.explain({ ...call, source: { principal: 'cluster.local/ns/default/sa/bookinfo-productpage' } });
    assert.equal(d.verdict, 'allow');
    const lines = yaml.split('\n');
    assert.equal(lines[d.policy!.range.start.line], '  name: details-viewer');
    assert.equal(lines[d.rule!.range.start.line]!.trim(), '- from:');
    assert.equal(d.rule!.label, 'rules[0]');
  });
  it('unknown decisions name the missing attribute in the trace', () => {
    const d = compile(allowRule(from({ ipBlocks: ['10.0.0.0/8'] }))).explain(rec({ source: { ip: undefined } }));
    assert.equal(d.verdict, 'unknown');
    assert.deepEqual(d.missing, ['source.ip']);
    assert.ok(d.trace.some((s) => s.outcome === 'unknown' && /source\.ip/.test(s.text)));
  });
  it('the TCP trace says why an ALLOW rule was dropped', () => {
    const d = compile(allowRule(to({ methods: ['GET'], ports: ['9000'] }))).explain(rec(tcp(9000)));
    assert.ok(d.trace.some((s) => s.outcome === 'skipped' && /on TCP the whole rule is dropped: to\[0\]\.operation\.methods/.test(s.text)));
  });
});

// --- building blocks ------------------------------------------------------------------------

describe('Istio IP and CIDR parsing', () => {
  const words = new Uint32Array(4);
  for (const [text, family] of [['10.0.0.1', 4], ['0.0.0.0', 4], ['255.255.255.255', 4], ['::', 6], ['::1', 6], ['2001:db8::', 6], ['fe80::1:2', 6], ['::ffff:1.2.3.4', 6], ['1:2:3:4:5:6:7:8', 6]] as const) {
    it(`parses ${text}`, () => assert.equal(parseIpInto(text, words), family));
  }
  for (const text of ['10.0.0', '10.0.0.256', '010.0.0.1', '1::2::3', '1:2:3:4:5:6:7:8:9', 'x', '', '1.2.3.4.5', ':1', '1:']) {
    it(`rejects ${JSON.stringify(text)}`, () => assert.equal(parseIpInto(text, words), 0));
  }
  it('reads addresses with ports in records', () => {
    assert.equal(parseIpInto('10.1.2.3:8080', words, true), 4);
    assert.equal(parseIpInto('[2001:db8::1]:443', words, true), 6);
  });
  it('matches prefixes per family', () => {
    const c = parseCidr('2001:db8:abcd::/48');
    assert.ok(typeof c !== 'string');
    assert.ok(cidrContains(c, parseIpInto('2001:db8:abcd:1::5', words), words));
    assert.ok(!cidrContains(c, parseIpInto('2001:db8:abce::5', words), words));
    const v4 = parseCidr('192.168.0.0/23');
    assert.ok(typeof v4 !== 'string');
    assert.ok(cidrContains(v4, parseIpInto('192.168.1.255', words), words));
    assert.ok(!cidrContains(v4, parseIpInto('192.168.2.0', words), words));
    const all = parseCidr('0.0.0.0/0');
    assert.ok(typeof all !== 'string' && cidrContains(all, parseIpInto('8.8.8.8', words), words));
    assert.equal(typeof parseCidr('10.0.0.0/x'), 'string');
    assert.equal(typeof parseCidr('::/129'), 'string');
    // netip.ParsePrefix refuses a zone wherever it is written; a zoned address is read without it.
    assert.equal(typeof parseCidr('fe80::/10%eth0'), 'string');
    assert.equal(typeof parseCidr('fe80::%eth0/10'), 'string');
    const zoned = parseCidr('fe80::1%eth0');
    assert.ok(typeof zoned !== 'string' && zoned.bits === 128 && cidrContains(zoned, parseIpInto('fe80::1', words), words));
  });
});

describe('Istio path normalization and templates', () => {
  const cases: [string, string][] = [['/a/./b', '/a/b'], ['/a/b/..', '/a/'], ['/../a', '/a'], ['/a/%2e%2E/b', '/b'], ['/a%2Db', '/a-b'], ['/a%2fb', '/a%2fb'], ['/a//b', '/a//b'], ['/a?x=/..', '/a']];
  for (const [input, output] of cases) {
    it(`BASE ${input} → ${output}`, () => assert.deepEqual(normalizePath(input, 'BASE'), { ok: true, path: output }));
  }
  it('templates compile to full matches', () => {
    const r = compileTemplate('/v1/{*}/x.y');
    assert.ok(r instanceof RegExp);
    assert.ok(r.test('/v1/a/x.y'));
    assert.ok(!r.test('/v1/a/xzy'));
    assert.equal(typeof compileTemplate('/a/{x}'), 'string');
  });
});

// A leading * in principals and every namespaces value become Envoy regular expressions with the
// value inserted as written (istio/istio matcher/string.go, model/generator.go). One that RE2
// cannot compile makes Envoy refuse the configuration; the rule is left out and the trace says so.
describe('Istio principals and namespaces that are not valid RE2', () => {
  for (const [field, value] of [['principals', '*foo('], ['namespaces', 'ns(']] as const) {
    it(`${field} ${value}: the rule is left out, with Envoy's refusal in the trace`, () => {
      const sim = compile(allowRule(from({ [field]: [value] })));
      const decision = sim.decide(rec());
      assert.equal(decision.verdict, 'deny', decision.reason);
      const skipped = sim.explain(rec()).trace.find((s) => s.outcome === 'skipped');
      assert.ok(skipped, 'a skipped step');
      assert.match(skipped.text, /Envoy refuses the regular expression/);
      assert.match(skipped.text, /keeps the one it had/);
      assert.doesNotMatch(skipped.text, /istiod's validation/);
    });
  }
});

// --- map keys istiod's webhook accepts, read the way its generator reads them ------------------

// istiod's webhook asks a `request.headers`, `request.auth.claims` or `experimental.envoy.filters`
// key only for the shape `name[x]` (pkg/config/security/security.go `validateMapKey`: a `[` after
// the first character, a final `]`, something between). Its generator then reads the name
// between the brackets after the attribute (pilot/pkg/security/authz/model/util.go
// `extractNameInBrackets`, `extractNameInNestedBrackets`): `request.headers[a][b]` names the header
// `a][b`, which no request carries; a claim key that is not a sequence of `[name]` is one bracketed
// name. When it cannot read the key at all (`request.headersx[b]`), the ALLOW rule is skipped and a
// DENY rule is generated without the condition (model/model.go `checkError`). None of these is a
// policy Istio refuses to store.
table('Istio map keys the webhook accepts (validateMapKey) as the generator reads them', [
  { name: 'request.headers[x-a][b] names the header "x-a][b": notValues always hold (DENY)', policies: denyRule(when('request.headers[x-a][b]', undefined, ['v'])), call: headers({ 'x-a': 'v', b: 'v' }), expect: 'deny', status: 403 },
  { name: 'request.headers[x-a][b] values ["*"] never match (ALLOW)', policies: allowRule(when('request.headers[x-a][b]', ['*'])), call: headers({ 'x-a': 'v', 'x-a][b': 'v' }), expect: 'deny' },
  { name: 'request.headers[x-a][b] is decided from a log that records only some headers', policies: denyRule(when('request.headers[x-a][b]', ['v'])), call: req({ headers: {}, recordedHeaders: ['user-agent'] }), expect: 'allow' },
  { name: 'request.headersx[b]: the DENY rule is generated without the condition', policies: denyRule(when('request.headersx[b]', ['y'])), expect: 'deny', status: 403 },
  { name: 'request.headersx[b]: the DENY rule keeps its other constraints', policies: denyRule({ ...to({ paths: ['/admin'] }), ...when('request.headersx[b]', ['y']) }), expect: 'allow' },
  { name: 'request.headersx[b]: the DENY rule keeps its other constraints (matching call)', policies: denyRule({ ...to({ paths: ['/admin'] }), ...when('request.headersx[b]', ['y']) }), call: req({ path: '/admin' }), expect: 'deny', status: 403 },
  { name: 'request.headersx[b]: the ALLOW rule is skipped', policies: allowRule(when('request.headersx[b]', ['y'])), call: headers({ 'x[b': 'y', x: 'y' }), expect: 'deny' },
  { name: 'request.experimental.inline.headersx[b]: the DENY rule is generated without the condition', policies: denyRule(when('request.experimental.inline.headersx[b]', ['y'])), expect: 'deny', status: 403 },
  { name: 'request.auth.claims[a[b]] is the one claim "a[b]"', policies: withRa(allowRule(when('request.auth.claims[a[b]]', ['v']))), call: jwt({ ...TOKEN, claims: { 'a[b]': 'v' } }), expect: 'allow' },
  { name: 'request.auth.claims[a]x[b] is the one claim "a]x[b"', policies: withRa(allowRule(when('request.auth.claims[a]x[b]', ['v']))), call: jwt({ ...TOKEN, claims: { 'a]x[b': 'v', a: 'v' } }), expect: 'allow' },
  { name: 'request.auth.claimsx[a]: the DENY rule is generated without the condition', policies: withRa(denyRule(when('request.auth.claimsx[a]', ['v']))), call: jwt(TOKEN), expect: 'deny', status: 403 },
  { name: 'experimental.envoy.filters.a[b[c] reads dynamic metadata: unknown, not refused', policies: denyRule(when('experimental.envoy.filters.a[b[c]', ['v'])), expect: 'unknown', missing: ['experimental.envoy.filters.a[b[c]'] },
]);

describe('Istio map keys the webhook accepts are in effect', () => {
  for (const key of ['request.headers[x-a][b]', 'request.headersx[b]', 'request.experimental.inline.headersx[b]', 'request.auth.claims[a[b]]', 'request.auth.claimsx[a]', 'experimental.envoy.filters.a[b[c]']) {
    it(key, () => assert.deepEqual(compile(denyRule(when(key, ['v']))).notInEffect!(), []));
  }
  it('the trace says istiod skips the ALLOW rule, and that the policy is accepted', () => {
    const sim = compile(allowRule(when('request.headersx[b]', ['y'])));
    const skipped = sim.explain(rec()).trace.find((s) => s.outcome === 'skipped' && /rules\[0\]/.test(s.text));
    assert.ok(skipped, 'a skipped rule');
    assert.match(skipped.text, /istiod cannot generate the condition request\.headersx\[b\]/);
    assert.match(skipped.text, /validation accepts the policy/);
  });
  it('the trace says the DENY rule is generated without the condition', () => {
    const steps = compile(denyRule(when('request.headersx[b]', ['y']))).explain(rec()).trace.map((s) => s.text).join('\n');
    assert.match(steps, /generates the rule without it/);
  });
  it('at ztunnel the DENY rule has no effect (a condition that is not L4)', () => {
    const ambient = `apiVersion: v1
kind: Namespace
metadata: {name: foo, labels: {istio.io/dataplane-mode: ambient}}
`;
    const sim = compile(denyRule(when('request.headersx[b]', ['y'])), { inventory: ambient });
    assert.equal(sim.decide(rec({ protocol: 'tcp', request: null })).verdict, 'allow');
  });
});

// Path templates: istiod's webhook checks the path without its leading and trailing slashes
// (security.go `CheckValidPathTemplate`, `strings.Trim(path, "/")`), so `//{*}/x`, `{*}/x` and
// `/{*}//` are stored; Envoy's template parser (envoy source/extensions/path/uri_template_lib/
// uri_template_internal.cc `parsePathPatternSyntax`) wants a leading `/` and no empty segment but a
// single trailing `/`, so it refuses them: the rule is left out, as for a regular expression
// Envoy refuses, and the policy is in effect.
describe('Istio path templates istiod accepts and Envoy refuses', () => {
  for (const path of ['//{*}/x', '{*}/x', '/{*}//', '//{**}']) {
    it(`${path}: the rule is left out with Envoy's refusal; the policy is stored`, () => {
      const sim = compile(allowRule(to({ paths: [path] })));
      assert.deepEqual(sim.notInEffect!(), []);
      assert.equal(sim.decide(rec({ request: { path: '//a/x' } })).verdict, 'deny');
      const skipped = sim.explain(rec()).trace.find((s) => s.outcome === 'skipped' && /rules\[0\]/.test(s.text));
      assert.ok(skipped, 'a skipped rule');
      assert.match(skipped.text, /Envoy refuses the path template/);
    });
  }
  const accepted: [string, string, boolean][] = [
    ['/{*}/', '/a/', true],
    ['/{*}/', '/a', false],
    ['/v1/{**}', '/v1/', true],
    ['/v1/{**}/edit', '/v1//edit', true],
  ];
  for (const [template, path, matches] of accepted) {
    it(`${template} ${matches ? 'matches' : 'does not match'} ${path}`, () => {
      const r = compileTemplate(template);
      assert.ok(r instanceof RegExp, String(r));
      assert.equal(r.test(path), matches);
    });
  }
  for (const refused of ['/a//{*}', '/{**}/{*}', '/a*/{*}']) {
    it(`${refused}: istiod refuses it`, () => {
      const r = compileTemplate(refused);
      assert.equal(typeof r, 'string');
      assert.doesNotMatch(String(r), /Envoy refuses/);
    });
  }
});

// --- §1.9 resources Istio refuses to store ----------------------------------------------------

// istiod's validating webhook (spec §1.9.2 for AuthorizationPolicy, §1.9.4 for PeerAuthentication
// and RequestAuthentication; the CRD's schema refuses some of them first) rejects the whole
// resource: it is never stored, so the other policies and the defaults decide the calls it would
// have governed, `notInEffect()` lists it, and the walkthrough says why. Each row: the refused
// resource, the webhook's words (spec), and what decides a call it would have decided.
describe('Istio refuses a resource: it decides nothing', () => {
  const ap = (action: string, spec: Record<string, unknown>, meta: Meta = {}) => doc({ action, ...spec }, { name: 'refused', ...meta });
  const deny = (rule: unknown, meta: Meta = {}) => ap('DENY', { rules: [rule] }, meta);
  const allow = (rule: unknown, meta: Meta = {}) => ap('ALLOW', { rules: [rule] }, meta);
  const custom = (spec: Record<string, unknown>, meta: Meta = {}) => ap('CUSTOM', spec, meta);
  const selector = { selector: { matchLabels: { app: 'httpbin' } } };
  /** Next to the refused resource, a valid ALLOW policy for every call but `/other`: with an invalid DENY it allows, with an invalid ALLOW it still decides alone. */
  const allowIp = doc({ action: 'ALLOW', rules: [to({ paths: ['/ip'] })] }, { name: 'allow-ip' });
  const allowOther = doc({ action: 'ALLOW', rules: [to({ paths: ['/other'] })] }, { name: 'allow-other' });

  interface RefusedCase {
    /** Spec row. */
    row: string;
    name: string;
    refused: string;
    /** The webhook's words, in the reason `notInEffect` gives. */
    problem: RegExp;
    /** The call (default: GET /ip from sleep over mTLS), and what decides it without the refused resource. */
    call?: Patch;
    alone: Verdict;
    /** A valid policy next to it, and the verdict it gives (named by `decidedBy`). */
    rest?: { policies: string; expect: Verdict; decidedBy: string };
    /** Whether the walkthrough of the call names it (it would attach to the destination). */
    traced?: boolean;
  }
  const denyRest = { policies: allowIp, expect: 'allow' as const, decidedBy: 'AuthorizationPolicy foo/allow-ip' };
  const allowRest = { policies: allowOther, expect: 'deny' as const, decidedBy: 'AuthorizationPolicy foo/allow-other' };
  const cases: RefusedCase[] = [
    // metadata
    { row: 'M1', name: 'istio.io/dry-run on a CUSTOM policy', refused: custom({ provider: { name: 'ext' }, rules: [{}] }, { annotations: { 'istio.io/dry-run': 'true' } }), problem: /istio\.io\/dry-run currently only supports action ALLOW\/DENY/, alone: 'allow', traced: true },
    { row: 'M2', name: 'istio.io/dry-run that is not a boolean', refused: deny({}, { annotations: { 'istio.io/dry-run': 'yes' } }), problem: /invalid value \(yes\)/, alone: 'allow', rest: denyRest, traced: true },
    { row: 'M3', name: 'an internal annotation', refused: deny({}, { annotations: { 'internal.istio.io/webhook-always-reject': 'true' } }), problem: /annotation found, rejecting/, alone: 'allow', rest: denyRest, traced: true },
    // attachment
    { row: 'S1', name: 'both selector and targetRefs', refused: ap('DENY', { ...selector, targetRefs: [{ kind: 'Service', group: '', name: 'httpbin' }], rules: [{}] }), problem: /only one of targetRefs or workloadSelector can be set/, alone: 'allow', rest: denyRest, traced: true },
    { row: 'S2', name: 'an empty selector key', refused: ap('DENY', { selector: { matchLabels: { '': 'x' } }, rules: [{}] }), problem: /empty key is not supported in selector/, alone: 'allow' },
    { row: 'S3', name: 'a wildcard in a selector value', refused: ap('DENY', { selector: { matchLabels: { app: 'http*' } }, rules: [{}] }), problem: /wildcard is not supported in selector/, alone: 'allow' },
    { row: 'T1', name: 'a targetRef without a name', refused: ap('DENY', { targetRefs: [{ kind: 'Service', group: '', name: '' }], rules: [{}] }), problem: /targetRef name must be set/, alone: 'allow' },
    { row: 'T2', name: 'a targetRef in another namespace', refused: ap('DENY', { targetRefs: [{ kind: 'Service', group: '', name: 'httpbin', namespace: 'bar' }], rules: [{}] }), problem: /targetRef namespace must not be set/, alone: 'allow' },
    { row: 'T3', name: 'a targetRef to a Deployment', refused: ap('DENY', { targetRefs: [{ kind: 'Deployment', group: 'apps', name: 'httpbin' }], rules: [{}] }), problem: /targetRef must be to one of/, alone: 'allow' },
    // actions
    { row: 'C1', name: 'CUSTOM without rules', refused: custom({ provider: { name: 'ext' } }), problem: /CUSTOM action without `rules` is meaningless/, alone: 'allow' },
    { row: 'C2', name: 'CUSTOM without provider.name (istiod would make its rules DENY rules: it never gets them)', refused: custom({ rules: [{}] }), problem: /`provider\.name` must not be empty/, alone: 'allow', rest: denyRest, traced: true },
    { row: 'C3', name: 'CUSTOM with principals', refused: custom({ provider: { name: 'ext' }, rules: [from({ principals: [SLEEP] })] }), problem: /From\.Principals is currently not supported with CUSTOM action/, alone: 'allow', traced: true },
    { row: 'C4', name: 'CUSTOM with a source.namespace condition', refused: custom({ provider: { name: 'ext' }, rules: [when('source.namespace', ['foo'])] }), problem: /source\.namespace is currently not supported with CUSTOM action/, alone: 'allow', traced: true },
    { row: 'C6', name: 'a provider on an ALLOW policy (which would make the workload deny by default)', refused: ap('ALLOW', { provider: { name: 'ext' }, rules: [to({ paths: ['/other'] })] }), problem: /`provider` must not be with non CUSTOM action/, alone: 'allow', rest: allowRest, traced: true },
    { row: 'D1', name: 'DENY without rules', refused: ap('DENY', {}), problem: /DENY action without `rules` is meaningless/, alone: 'allow', rest: denyRest, traced: true },
    { row: 'CRD', name: 'an action outside the enum', refused: ap('deny', { rules: [{}] }), problem: /action "deny" is not one of ALLOW, DENY, AUDIT, CUSTOM/, alone: 'allow', rest: denyRest, traced: true },
    // sources
    { row: 'R2', name: 'a from entry without source', refused: deny({ from: [{}] }), problem: /`from\.source` must not be nil/, alone: 'allow', rest: denyRest, traced: true },
    { row: 'R3', name: 'an empty source', refused: deny(from({})), problem: /`from\.source` must not be empty/, alone: 'allow', rest: denyRest, traced: true },
    { row: 'R4', name: 'serviceAccounts with principals', refused: deny(from({ serviceAccounts: ['sleep'], principals: [SLEEP] })), problem: /cannot set serviceAccounts with namespaces or principals/, alone: 'allow', rest: denyRest, traced: true },
    { row: 'R5', name: 'a bad CIDR', refused: deny(from({ ipBlocks: ['10.0.0.0/33'] })), problem: /ipBlocks: .*10\.0\.0\.0\/33/, alone: 'allow', rest: denyRest, traced: true },
    { row: 'R6', name: 'an empty principal', refused: deny(from({ principals: [''] })), problem: /empty value not allowed, found in Principals/, alone: 'allow', rest: denyRest, traced: true },
    { row: 'R7', name: 'a wildcard in serviceAccounts (ALLOW)', refused: allow(from({ serviceAccounts: ['sl*'] })), problem: /wildcard not allowed, found in ServiceAccounts/, alone: 'allow', rest: allowRest, traced: true },
    { row: 'R8', name: 'two wildcards in a trust domain', refused: deny(from({ trustDomains: ['*.a.*'] })), problem: /at most one wildcard is allowed/, alone: 'allow', rest: denyRest, traced: true },
    // operations
    { row: 'O1', name: 'a to entry without operation', refused: deny({ to: [{}] }), problem: /`to\.operation` must not be nil/, alone: 'allow', rest: denyRest, traced: true },
    { row: 'O2', name: 'an empty operation', refused: deny(to({})), problem: /`to\.operation` must not be empty/, alone: 'allow', rest: denyRest, traced: true },
    { row: 'O3', name: 'a port range (ALLOW)', refused: allow(to({ ports: ['8000-9000'] })), problem: /bad port \(8000-9000\)/, alone: 'allow', rest: allowRest, traced: true },
    { row: 'O3', name: 'a port above 65535', refused: deny(to({ ports: ['70000'] })), problem: /bad port \(70000\)/, alone: 'allow', rest: denyRest, traced: true },
    { row: 'O4', name: 'an empty method', refused: deny(to({ methods: [''] })), problem: /empty value not allowed, found in Methods/, alone: 'allow', rest: denyRest, traced: true },
    { row: 'O5', name: 'a named path variable (ALLOW)', refused: allow(to({ paths: ['/users/{id}'] })), problem: /Contains '\{' or '\}' beyond a supported path template/, call: req({ path: '/users/{id}' }), alone: 'allow', traced: true },
    { row: 'O6', name: '{**} before another operator', refused: deny(to({ paths: ['/ip/{**}/{*}'] })), problem: /\{\*\*\} is not the last operator/, alone: 'allow', rest: denyRest, traced: true },
    { row: 'O7', name: 'a * literal in a path template', refused: deny(to({ paths: ['/ip/{*}/a*'] })), problem: /invalid string literal/, alone: 'allow', rest: denyRest, traced: true },
    // conditions
    { row: 'W1', name: 'an empty key', refused: deny({ when: [{ key: '', values: ['x'] }] }), problem: /`key` must not be empty/, alone: 'allow', rest: denyRest, traced: true },
    { row: 'W2', name: 'a condition without values', refused: deny(when('request.headers[x-env]')), problem: /at least one of `values` or `notValues` must be set for key request\.headers\[x-env\]/, alone: 'allow', rest: denyRest, traced: true },
    { row: 'W3', name: 'an empty value', refused: deny(when('request.headers[x-env]', [''])), problem: /empty value not allowed/, alone: 'allow', rest: denyRest, traced: true },
    { row: 'W4', name: 'a header key without brackets', refused: deny(when('request.headers', ['x'])), problem: /bad key \(request\.headers\): should have format a\[b\]/, alone: 'allow', rest: denyRest, traced: true },
    { row: 'W4', name: 'a bad destination.port value', refused: deny(when('destination.port', ['http'])), problem: /bad port \(http\)/, alone: 'allow', rest: denyRest, traced: true },
    { row: 'W5', name: 'destination.namespace (ALLOW)', refused: allow(when('destination.namespace', ['foo'])), problem: /attribute destination\.namespace is replaced by the metadata\.namespace/, alone: 'allow', rest: allowRest, traced: true },
    { row: 'W5', name: 'a key Istio does not know', refused: deny(when('request.method', ['GET'])), problem: /unknown attribute: request\.method/, alone: 'allow', rest: denyRest, traced: true },
    // The CRD's schema alone (spec §1.9.1): the API server refuses these before any webhook sees them.
    { row: 'CRD', name: 'methods written as a string, not a list (ALLOW)', refused: allow(to({ methods: 'GET' })), problem: /methods must be a list \(got the string "GET"\)/, alone: 'allow', rest: allowRest, traced: true },
    { row: 'CRD', name: 'a selector value longer than 63 characters', refused: ap('DENY', { selector: { matchLabels: { app: 'h'.repeat(64) } }, rules: [{}] }), problem: /at most 63 characters/, alone: 'allow', rest: denyRest },
    { row: 'CRD', name: 'more than 16 targetRefs', refused: ap('DENY', { targetRefs: Array.from({ length: 17 }, () => ({ kind: 'Service', group: '', name: 'httpbin' })), rules: [{}] }), problem: /at most 16/, alone: 'allow', rest: denyRest },
    { row: 'CRD', name: 'RequestAuthentication: a fromHeaders entry without a name', refused: doc({ ...selector, jwtRules: [{ issuer: 'https://issuer.example.com', fromHeaders: [{ prefix: 'Bearer ' }] }] }, { kind: 'RequestAuthentication', name: 'refused' }), problem: /missing required field "name" in JWT header location/, call: jwt({ valid: false }), alone: 'allow', traced: true },
    // Unknown fields are dropped before the webhook sees the object (structural pruning of the CRD's schema): what is left is what it checks.
    { row: 'R3', name: 'a source whose only field is misspelt (`principal`): stored without it, the source is empty', refused: allow(from({ principal: [SLEEP] })), problem: /`from\.source` must not be empty.*; that is the object as stored, after the API server drops the unknown field `spec\.rules\[0\]\.from\[0\]\.source\.principal`/, alone: 'allow', rest: allowRest, traced: true },
    { row: 'O2', name: 'an operation whose only field is misspelt (`method`): stored without it, the operation is empty', refused: deny(to({ method: ['GET'] })), problem: /`to\.operation` must not be empty.*unknown field `spec\.rules\[0\]\.to\[0\]\.operation\.method`/, alone: 'allow', rest: denyRest, traced: true },
    { row: 'R2', name: 'a from entry whose only key is misspelt (`sources`): stored without it, the entry has no source', refused: deny({ from: [{ sources: { principals: [SLEEP] } }] }), problem: /`from\.source` must not be nil.*unknown field `spec\.rules\[0\]\.from\[0\]\.sources`/, alone: 'allow', rest: denyRest, traced: true },
    // PeerAuthentication: a refused STRICT mode refuses no plaintext call (the default, PERMISSIVE, decides).
    { row: '§1.9.4', name: 'PeerAuthentication: portLevelMtls without a selector', refused: doc({ mtls: { mode: 'STRICT' }, portLevelMtls: { 8000: { mode: 'STRICT' } } }, { kind: 'PeerAuthentication', name: 'refused' }), problem: /mesh\/namespace peer authentication cannot have port level mTLS/, call: plaintext, alone: 'allow', traced: true },
    { row: '§1.9.4', name: 'PeerAuthentication: a port out of range', refused: doc({ ...selector, mtls: { mode: 'STRICT' }, portLevelMtls: { 0: { mode: 'STRICT' } } }, { kind: 'PeerAuthentication', name: 'refused' }), problem: /port 0 of portLevelMtls must be in the range 1\.\.65535/, call: plaintext, alone: 'allow', traced: true },
    { row: 'CRD', name: 'PeerAuthentication: a mode outside the enum', refused: doc({ mtls: { mode: 'strict' } }, { kind: 'PeerAuthentication', name: 'refused' }), problem: /mtls\.mode is not one of UNSET, DISABLE, PERMISSIVE, STRICT/, call: plaintext, alone: 'allow', traced: true },
    { row: 'M1', name: 'PeerAuthentication with istio.io/dry-run', refused: doc({ mtls: { mode: 'STRICT' } }, { kind: 'PeerAuthentication', name: 'refused', annotations: { 'istio.io/dry-run': 'true' } }), problem: /unsupported annotation istio\.io\/dry-run/, call: plaintext, alone: 'allow', traced: true },
    // RequestAuthentication: a refused one validates no token (no 401).
    { row: '§1.9.4', name: 'RequestAuthentication: a JWT rule with neither issuer nor jwksUri', refused: doc({ ...selector, jwtRules: [{ audiences: ['a'] }] }, { kind: 'RequestAuthentication', name: 'refused' }), problem: /issuer or jwksUri must be non-empty string/, call: jwt({ valid: false }), alone: 'allow', traced: true },
    { row: '§1.9.4', name: 'RequestAuthentication: inline jwks that does not parse', refused: doc({ ...selector, jwtRules: [{ issuer: 'https://issuer.example.com', jwks: 'not json' }] }, { kind: 'RequestAuthentication', name: 'refused' }), problem: /jwks parse error/, call: jwt({ valid: false }), alone: 'allow', traced: true },
  ];

  for (const c of cases) {
    it(`${c.row} ${c.name}: listed as not in effect, and the rest decide`, () => {
      const sim = compile(c.refused);
      const listed = sim.notInEffect!();
      assert.equal(listed.length, 1, `${c.name}: one resource not in effect`);
      assert.match(listed[0]!.ref.label, / foo\/refused$/);
      assert.match(listed[0]!.reason, /^Istio refuses to store it \(/);
      assert.match(listed[0]!.reason, c.problem, `${c.name}: ${listed[0]!.reason}`);
      const alone = check({ name: c.name, policies: c.refused, ...(c.call ? { call: c.call } : {}), expect: c.alone });
      assert.equal(alone.policy, undefined, `${c.name}: the refused resource decides nothing`);
      if (c.traced) {
        const steps = sim.explain(rec(c.call)).trace.filter((s) => /foo\/refused is not in effect: Istio refuses to store it/.test(s.text));
        assert.equal(steps.length, 1, `${c.name}: the walkthrough says it once:\n${sim.explain(rec(c.call)).trace.map((s) => s.text).join('\n')}`);
        assert.equal(steps[0]!.outcome, 'skipped');
        assert.match(steps[0]!.text, c.problem);
      }
      if (c.rest) {
        const d = check({ name: `${c.name} with the rest`, policies: docs(c.refused, c.rest.policies), ...(c.call ? { call: c.call } : {}), expect: c.rest.expect });
        assert.equal(d.policy?.label, c.rest.decidedBy, `${c.name}: ${d.reason}`);
        assert.equal(compile(docs(c.refused, c.rest.policies)).notInEffect!().length, 1);
      }
    });
  }

  it('the first problem and how many more: one reason per resource', () => {
    const sim = compile(deny({ from: [{ source: { principals: [''], ipBlocks: ['10.0.0.0/33'] } }], to: [{ operation: { ports: ['x'] } }] }));
    const [only] = sim.notInEffect!();
    assert.match(only!.reason, /^Istio refuses to store it \(empty value not allowed, found in Principals.* and 2 more problems\)$/);
  });

  // Warnings (spec §1.9.2 WN1, WN2) and what the webhook deliberately does not check: accepted, so they decide.
  const accepted: { name: string; policies: string; call?: Patch; expect: Verdict }[] = [
    { name: 'WN1 a selector with empty matchLabels (every workload of the namespace)', policies: ap('DENY', { selector: {}, rules: [{}] }), expect: 'deny' },
    { name: 'WN2 a DENY rule of HTTP attributes only', policies: deny(to({ methods: ['GET'] })), expect: 'deny' },
    { name: 'an ALLOW policy without rules (allow-nothing)', policies: ap('ALLOW', {}), expect: 'deny' },
    { name: '`from: []` (the same as no from)', policies: deny({ from: [] }), expect: 'deny' },
    { name: 'a principal without a trust domain', policies: deny(from({ principals: ['ns/foo/sa/sleep'] })), expect: 'allow' },
    { name: 'a lower-case method (never matches)', policies: allow(to({ methods: ['get'] })), expect: 'deny' },
    { name: 'a CUSTOM provider the mesh config does not declare', policies: custom({ provider: { name: 'nowhere' }, rules: [{}] }), expect: 'external' },
    // Stored without it unless the client asks for strict field validation (kubectl does, and is refused): the DENY of GET stays.
    { name: 'an unknown field (the API server drops it): a DENY of GET with a misspelt `pathz`', policies: deny(to({ methods: ['GET'], pathz: ['/other'] })), expect: 'deny' },
    // The source keeps a field after the dropping: not empty, so stored, and the misspelt condition is simply gone.
    { name: 'an unknown field beside a known one in a source: an ALLOW of sleep whose misspelt `namespace` is dropped', policies: allow(from({ principals: [SLEEP], namespace: ['other'] })), expect: 'allow' },
  ];
  for (const c of accepted) {
    it(`accepted: ${c.name}`, () => {
      check({ name: c.name, policies: c.policies, ...(c.call ? { call: c.call } : {}), expect: c.expect });
      assert.deepEqual(compile(c.policies).notInEffect!(), []);
    });
  }
});

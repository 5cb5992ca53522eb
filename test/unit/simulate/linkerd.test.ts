import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { defaultConfig, type ProjectConfig } from '../../../server/src/engine/config/projectConfig';
import { Engine } from '../../../server/src/engine/engine';
import { buildInventory } from '../../../server/src/engine/inventory/inventory';
import type { SourceFile } from '../../../server/src/engine/source/sourceFile';
import { observedDifference } from '../../../server/src/engine/simulate';
import { createLinkerdSimulator, linkerdSimulator, type LinkerdCompiled } from '../../../server/src/engine/simulate/linkerd';
import type { Decision, PolicySet } from '../../../server/src/engine/simulate/types';
import { Simulation } from '../../../server/src/engine/simulate';
import { WorkspaceModel } from '../../../server/src/engine/workspace';
import type { AccessRecord } from '../../../server/src/engine/traffic/accessRecord';

/**
 * The Linkerd simulator against the spec (mesh-semantics.md §2, §4.0, §4.2) and the upstream
 * docs' tasks. Expected verdicts come from the spec and the Linkerd docs, not from the code.
 */

const FIXTURES = join(__dirname, '..', '..', '..', '..', 'test', 'fixtures', 'simulate', 'linkerd');
const engine = new Engine();
/** Inline documents are written to disk like real workspace files (the simulator reads inventory
 * files back for what the inventory does not keep, such as probes). */
const TMP = mkdtempSync(join(tmpdir(), 'linkerd-sim-'));
let inlineCount = 0;
after(() => rmSync(TMP, { recursive: true, force: true }));

interface Input {
  /** Fixture files (read from disk, so inventory files can be read back for probes). */
  fixtures?: string[];
  /** Inline YAML documents, one virtual file each. */
  yaml?: string[];
  linkerd?: Partial<ProjectConfig['linkerd']>;
}

function policySet(input: Input): PolicySet {
  const files: SourceFile[] = [];
  for (const name of input.fixtures ?? []) {
    const path = join(FIXTURES, name);
    files.push(engine.read(path, readFileSync(path, 'utf8')));
  }
  for (const text of input.yaml ?? []) {
    const path = join(TMP, `inline-${inlineCount++}.yaml`);
    writeFileSync(path, text);
    files.push(engine.read(path, text));
  }
  const resources = files.flatMap((file) => engine.prepare(file).recognition.resources.map((resource) => ({ file, resource })));
  const config = defaultConfig('/virtual');
  if (input.linkerd) config.linkerd = { ...config.linkerd, ...input.linkerd };
  return { resources, inventory: buildInventory(files), config };
}

function compile(input: Input): LinkerdCompiled {
  return linkerdSimulator.compile(policySet(input));
}

const ID = (sa: string, ns: string) => `${sa}.${ns}.serviceaccount.identity.linkerd.cluster.local`;

interface CallSpec {
  /** Client: "sa.ns" (meshed), or null for plaintext. */
  from?: string | null;
  ip?: string | null;
  /** `source.notLoopback`: with no address recorded, the client is not on the pod's loopback. */
  notLoopback?: boolean;
  ns?: string;
  to?: string;
  port?: number;
  protocol?: AccessRecord['protocol'];
  method?: string;
  path?: string;
  host?: string;
  headers?: Record<string, string>;
  /** The headers a native log records (spec §4.0); absent: every header sent is listed. */
  recordedHeaders?: string[];
  labels?: Record<string, string>;
  noRequest?: boolean;
}

function call(c: CallSpec): AccessRecord {
  // "sa.ns" is shorthand for the Linkerd identity; anything longer is used as written.
  const principal = c.from === undefined || c.from === null ? null : c.from.split('.').length === 2 && !c.from.includes(':') ? ID(c.from.split('.')[0]!, c.from.split('.')[1]!) : c.from;
  const record: AccessRecord = {
    mesh: 'linkerd',
    ...('protocol' in c ? (c.protocol ? { protocol: c.protocol } : {}) : { protocol: 'http' as const }),
    source: { principal, ...(c.ip === null ? {} : { ip: c.ip ?? '10.42.0.10' }), ...(c.notLoopback ? { notLoopback: true } : {}) },
    destination: { ...('ns' in c ? (c.ns ? { namespace: c.ns } : {}) : { namespace: 'default' }), ...(c.to ? { workload: c.to } : {}), ...(c.port !== undefined ? { port: c.port } : {}), ...(c.labels ? { labels: c.labels } : {}) },
  };
  if (!c.noRequest && c.protocol !== 'tcp') {
    const method = 'method' in c ? c.method : 'GET';
    const path = 'path' in c ? c.path : '/';
    record.request = { ...(method !== undefined ? { method } : {}), ...(path !== undefined ? { path } : {}), ...(c.host ? { host: c.host } : {}), ...(c.headers ? { headers: c.headers } : {}), ...(c.recordedHeaders ? { recordedHeaders: c.recordedHeaders } : {}) };
  }
  return record;
}

function expectVerdict(d: Decision, verdict: Decision['verdict'], extra: { status?: number; audited?: boolean; missing?: string[]; reason?: RegExp } = {}, context = ''): void {
  const where = `${context}\n${d.reason}\n${d.trace.map((s) => `  [${s.outcome}] ${s.text}`).join('\n')}`;
  assert.equal(d.verdict, verdict, where);
  assert.equal(d.mesh, 'linkerd');
  if ('status' in extra) assert.equal(d.status, extra.status, where);
  if ('audited' in extra) assert.equal(d.audited ?? false, extra.audited, where);
  if (extra.missing) assert.deepEqual([...(d.missing ?? [])].sort(), [...extra.missing].sort(), where);
  if (extra.reason) assert.match(d.reason, extra.reason, where);
  assert.ok(d.trace.length > 0, 'a decision always carries a trace');
  assert.equal(d.trace[d.trace.length - 1]!.outcome, 'verdict', `the trace ends with the verdict${where}`);
}

/** A minimal injected Deployment. */
function deployment(name: string, ns: string, labels: Record<string, string>, ports: { name?: string; port: number; protocol?: string }[], extra: { annotations?: Record<string, string>; sa?: string; probes?: { path: string; port: number | string }[] } = {}): string {
  const lines = [
    'apiVersion: apps/v1', 'kind: Deployment', `metadata: {name: ${name}, namespace: ${ns}}`, 'spec:',
    `  selector: {matchLabels: ${JSON.stringify(labels)}}`, '  template:', '    metadata:',
    `      labels: ${JSON.stringify(labels)}`,
    `      annotations: ${JSON.stringify({ 'linkerd.io/inject': 'enabled', ...(extra.annotations ?? {}) })}`,
    '    spec:', `      serviceAccountName: ${extra.sa ?? name}`, '      containers:', `      - name: ${name}`, '        image: example',
  ];
  if (ports.length) {
    lines.push('        ports:');
    for (const p of ports) lines.push(`        - {containerPort: ${p.port}${p.name ? `, name: ${p.name}` : ''}${p.protocol ? `, protocol: ${p.protocol}` : ''}}`);
  }
  for (const [i, probe] of (extra.probes ?? []).entries()) {
    lines.push(`        ${i === 0 ? 'readinessProbe' : 'livenessProbe'}:`, `          httpGet: {path: ${JSON.stringify(probe.path)}, port: ${JSON.stringify(probe.port)}}`);
  }
  return lines.join('\n') + '\n';
}

function namespace(name: string, annotations: Record<string, string> = {}): string {
  return `apiVersion: v1\nkind: Namespace\nmetadata:\n  name: ${name}\n  annotations: ${JSON.stringify(annotations)}\n`;
}

// ---------------------------------------------------------------------------------------------
// Scenario tests: the Linkerd docs' tasks, replayed step by step.
// ---------------------------------------------------------------------------------------------

describe('Linkerd docs: restricting access to the emojivoto voting service (tasks/restricting-access.md)', () => {
  const webToVoting = call({ from: 'web.emojivoto', ns: 'emojivoto', to: 'voting', port: 8080, protocol: 'grpc', method: 'POST', path: '/emojivoto.v1.VotingService/VoteDoughnut' });
  const botToVoting = call({ from: 'default.emojivoto', ns: 'emojivoto', to: 'voting', port: 8080, protocol: 'grpc', method: 'POST', path: '/emojivoto.v1.VotingService/VoteDog' });
  const grpcurl = call({ from: null, ip: '10.42.3.7', ns: 'emojivoto', to: 'voting', port: 8080, protocol: 'grpc', method: 'POST', path: '/emojivoto.v1.VotingService/VoteDog' });
  const webPage = call({ from: 'vote-bot.emojivoto', ns: 'emojivoto', to: 'web', port: 8080, method: 'GET', path: '/api/list' });

  it('before any policy: the cluster default all-unauthenticated allows everything', () => {
    const c = compile({ fixtures: ['emojivoto-app.yaml'] });
    for (const r of [webToVoting, botToVoting, grpcurl, webPage]) expectVerdict(c.decide(r), 'allow', { reason: /default policy all-unauthenticated/ });
    assert.match(c.decide(webToVoting).trace[0]!.text, /no Server selects port 8080.*cluster default/);
  });

  it('a Server with no authorization denies every client of that port, only that port', () => {
    const c = compile({ fixtures: ['emojivoto-app.yaml', 'emojivoto-server.yaml'] });
    const d = c.decide(webToVoting);
    expectVerdict(d, 'deny', { reason: /PERMISSION_DENIED/ });
    assert.equal(d.status, undefined, 'a gRPC denial is a grpc-status, not an HTTP status');
    assert.equal(d.policy?.label, 'Server emojivoto/voting-grpc');
    assert.match(d.trace[0]!.text, /Server emojivoto\/voting-grpc selects port 8080/);
    // the prom port of the same pod and the web service keep the default policy
    expectVerdict(c.decide(call({ from: 'web.emojivoto', ns: 'emojivoto', to: 'voting', port: 8801, path: '/metrics' })), 'allow');
    expectVerdict(c.decide(webPage), 'allow');
  });

  it('a record whose request is null (as JSON may write it) is decided as one without a request', () => {
    const c = compile({ fixtures: ['emojivoto-app.yaml', 'emojivoto-server.yaml'] });
    for (const r of [webToVoting, webPage]) {
      const { request: _request, ...withoutRequest } = r;
      const withNull = { ...withoutRequest, request: null } as unknown as typeof r;
      assert.deepEqual(c.decide(withNull), c.decide(withoutRequest));
    }
  });

  it('the ServerAuthorization admits web only; grpcurl gets PermissionDenied', () => {
    const c = compile({ fixtures: ['emojivoto-app.yaml', 'emojivoto-server.yaml', 'emojivoto-serverauthorization.yaml'] });
    const allowed = c.decide(webToVoting);
    expectVerdict(allowed, 'allow');
    assert.equal(allowed.policy?.label, 'ServerAuthorization emojivoto/voting-grpc');
    expectVerdict(c.decide(botToVoting), 'deny', { reason: /PERMISSION_DENIED/ });
    const d = c.decide(grpcurl);
    expectVerdict(d, 'deny');
    assert.ok(d.trace.some((s) => s.outcome === 'not-matched' && /no mesh identity/.test(s.text) && s.at?.label === 'ServerAuthorization emojivoto/voting-grpc'));
  });

  it('the same restriction with AuthorizationPolicy + MeshTLSAuthentication identityRefs', () => {
    const c = compile({ fixtures: ['emojivoto-app.yaml', 'emojivoto-server.yaml', 'emojivoto-authorizationpolicy.yaml'] });
    const d = c.decide(webToVoting);
    expectVerdict(d, 'allow');
    assert.equal(d.policy?.label, 'AuthorizationPolicy emojivoto/voting-policy');
    const denied = c.decide(botToVoting);
    expectVerdict(denied, 'deny');
    assert.ok(denied.trace.some((s) => /identity is not mesh identity web\.emojivoto/.test(s.text)));
  });

  it('per-route: with a GRPCRoute only VoteDoughnut exists (others NOT_FOUND), authorized for web', () => {
    const c = compile({ fixtures: ['emojivoto-app.yaml', 'emojivoto-server.yaml', 'emojivoto-grpcroute.yaml'] });
    const ok = c.decide(webToVoting);
    expectVerdict(ok, 'allow');
    assert.equal(ok.rule?.label, 'GRPCRoute emojivoto/vote-doughnut rules[0]');
    expectVerdict(c.decide({ ...webToVoting, source: { principal: ID('default', 'emojivoto'), ip: '10.42.0.9' } }), 'deny', { reason: /PERMISSION_DENIED/ });
    expectVerdict(c.decide({ ...webToVoting, request: { method: 'POST', path: '/emojivoto.v1.VotingService/VoteDog' } }), 'deny', { reason: /NOT_FOUND.*no route/ });
  });

  it('switching the cluster default to deny (linkerd upgrade --default-inbound-policy deny)', () => {
    const c = compile({ fixtures: ['emojivoto-app.yaml', 'emojivoto-server.yaml', 'emojivoto-serverauthorization.yaml'], linkerd: { defaultInboundPolicy: 'deny' } });
    expectVerdict(c.decide(webToVoting), 'allow');
    const d = c.decide(webPage);
    expectVerdict(d, 'deny', { status: 403 });
    assert.match(d.trace[0]!.text, /default policy deny/);
  });

  it('explain() gives the full walkthrough with the same verdict', () => {
    const c = compile({ fixtures: ['emojivoto-app.yaml', 'emojivoto-server.yaml', 'emojivoto-serverauthorization.yaml'] });
    const fast = c.decide(botToVoting);
    const full = c.explain(botToVoting);
    assert.equal(full.verdict, fast.verdict);
    assert.equal(full.reason, fast.reason);
    assert.ok(full.trace.length > fast.trace.length);
    assert.ok(full.trace.some((s) => /Deployment emojivoto\/voting from the inventory/.test(s.text)));
    assert.ok(full.trace.some((s) => /client identity default\.emojivoto/.test(s.text)));
    for (const step of full.trace) if (step.at) assert.ok(step.at.file && step.at.range && step.at.label);
  });
});

describe('Linkerd docs: booksapp per-route policy (tasks/configuring-per-route-policy.md)', () => {
  const base = ['booksapp-app.yaml', 'booksapp-server.yaml'];
  const probe = call({ from: null, ip: '10.42.0.1', ns: 'booksapp', to: 'authors', port: 7001, method: 'GET', path: '/ping' });
  const booksGet = call({ from: 'books.booksapp', ns: 'booksapp', to: 'authors', port: 7001, method: 'GET', path: '/authors/12.json' });
  const webappList = call({ from: 'webapp.booksapp', ns: 'booksapp', to: 'authors', port: 7001, method: 'GET', path: '/authors.json' });
  const webappDelete = call({ from: 'webapp.booksapp', ns: 'booksapp', to: 'authors', port: 7001, method: 'DELETE', path: '/authors/12.json' });
  const webappCreate = call({ from: 'webapp.booksapp', ns: 'booksapp', to: 'authors', port: 7001, method: 'POST', path: '/authors.json' });
  const booksDelete = call({ from: 'books.booksapp', ns: 'booksapp', to: 'authors', port: 7001, method: 'DELETE', path: '/authors/12.json' });

  it('the Server alone: all traffic unauthorized, but the probe route still authorizes probes', () => {
    const c = compile({ fixtures: base });
    expectVerdict(c.decide(booksGet), 'deny', { status: 403 });
    const p = c.decide(probe);
    expectVerdict(p, 'allow', { reason: /probe authorization/ });
    assert.ok(p.trace.some((s) => /probe route matches/.test(s.text)));
    // a POST to the probe path is not a probe
    expectVerdict(c.decide({ ...probe, request: { method: 'POST', path: '/ping' } }), 'deny', { status: 403 });
  });

  it('reads the probes from the workspace\'s files: an inventory not on disk (an unsaved editor buffer) still has them', () => {
    const files = base.map((name) => engine.read(join('/virtual-workspace', name), readFileSync(join(FIXTURES, name), 'utf8')));
    const resources = files.flatMap((file) => engine.prepare(file).recognition.resources.map((resource) => ({ file, resource })));
    const set: PolicySet = { resources, inventory: buildInventory(files), config: defaultConfig('/virtual-workspace'), sourceFiles: files };
    expectVerdict(linkerdSimulator.compile(set).decide(probe), 'allow', { reason: /probe authorization/ });
  });

  it('in the editor, a probe edited in a manifest (which the inventory does not keep) is read again', () => {
    // The same length, so that the inventory (positions included) stays the same object.
    const workspace = new WorkspaceModel(defaultConfig('/virtual-workspace'));
    const texts = new Map(base.map((name) => [join('/virtual-workspace', name), readFileSync(join(FIXTURES, name), 'utf8')]));
    for (const [path, text] of texts) workspace.update(engine.prepare(engine.read(path, text)));
    const simulation = new Simulation(workspace);
    const pong = { ...probe, request: { method: 'GET', path: '/pong' } };
    expectVerdict(simulation.decide(probe), 'allow', { reason: /probe authorization/ });
    expectVerdict(simulation.decide(pong), 'deny', { status: 403 });
    const app = join('/virtual-workspace', 'booksapp-app.yaml');
    const inventory = workspace.inventory;
    const edited = texts.get(app)!.replace('{path: /ping, port: 7001}', '{path: /pong, port: 7001}');
    assert.notEqual(edited, texts.get(app));
    workspace.update(engine.prepare(engine.read(app, edited)));
    assert.equal(workspace.inventory, inventory, 'the inventory is kept');
    const update = simulation.update(workspace, [app]);
    assert.ok(update.affects(probe), 'the calls to the pod are decided again');
    expectVerdict(simulation.decide(pong), 'allow', { reason: /probe authorization/ });
    expectVerdict(simulation.decide(probe), 'deny', { status: 403 });
  });

  it('the GET route + MeshTLSAuthentication: GETs from books and webapp allowed; probes now 404', () => {
    const c = compile({ fixtures: [...base, 'booksapp-get-route.yaml'] });
    expectVerdict(c.decide(booksGet), 'allow', { reason: /AuthorizationPolicy booksapp\/authors-get-policy/ });
    const list = c.decide(webappList);
    expectVerdict(list, 'allow');
    assert.equal(list.rule?.label, 'HTTPRoute booksapp/authors-get-route rules[0]');
    expectVerdict(c.decide(probe), 'deny', { status: 404, reason: /no route/ });
    expectVerdict(c.decide(webappDelete), 'deny', { status: 404 });
  });

  it('the probe route + NetworkAuthentication authorizes kubelet probes again', () => {
    const c = compile({ fixtures: [...base, 'booksapp-get-route.yaml', 'booksapp-probe-route.yaml'] });
    const p = c.decide(probe);
    expectVerdict(p, 'allow', { reason: /authors-probe-policy/ });
    assert.equal(p.rule?.label, 'HTTPRoute booksapp/authors-probe-route rules[0]');
    expectVerdict(c.decide({ ...probe, source: { principal: null, ip: 'fd00::1' } }), 'allow');
  });

  it('the modify route without authorization: DELETE goes from 404 to 403', () => {
    const c = compile({ fixtures: [...base, 'booksapp-get-route.yaml', 'booksapp-probe-route.yaml', 'booksapp-modify-route.yaml'] });
    const d = c.decide(webappDelete);
    expectVerdict(d, 'deny', { status: 403 });
    assert.equal(d.rule?.label, 'HTTPRoute booksapp/authors-modify-route rules[0]');
  });

  it('the modify policy: webapp may DELETE, PUT and POST; books may not', () => {
    const c = compile({ fixtures: [...base, 'booksapp-get-route.yaml', 'booksapp-probe-route.yaml', 'booksapp-modify-route.yaml', 'booksapp-modify-policy.yaml'] });
    expectVerdict(c.decide(webappDelete), 'allow', { reason: /authors-modify-policy/ });
    expectVerdict(c.decide(webappCreate), 'allow');
    expectVerdict(c.decide({ ...webappDelete, request: { method: 'PUT', path: '/authors/12.json' } }), 'allow');
    expectVerdict(c.decide(booksDelete), 'deny', { status: 403 });
    expectVerdict(c.decide(booksGet), 'allow');
    expectVerdict(c.decide(probe), 'allow');
    // the other services keep the default policy
    expectVerdict(c.decide(call({ from: 'webapp.booksapp', ns: 'booksapp', to: 'books', port: 7002, method: 'GET', path: '/books.json' })), 'allow');
  });
});

describe('Linkerd docs: default-deny namespace annotation and audit mode (features/server-policy.md)', () => {
  const app = (annotations: Record<string, string>, podAnnotations: Record<string, string> = {}) => [
    namespace('shop', annotations),
    deployment('api', 'shop', { app: 'api' }, [{ name: 'http', port: 8080 }], { annotations: podAnnotations, probes: [{ path: '/healthz', port: 8080 }] }),
  ];
  const get = call({ from: 'web.shop', ns: 'shop', to: 'api', port: 8080, path: '/items' });

  it('a namespace annotated deny denies its pods (copied onto the pods at injection)', () => {
    const c = compile({ yaml: [app({ 'config.linkerd.io/default-inbound-policy': 'deny' }).join('---\n')] });
    const d = c.decide(get);
    expectVerdict(d, 'deny', { status: 403 });
    assert.match(d.trace[0]!.text, /default policy deny.*namespace shop annotation/);
    assert.equal(d.trace[0]!.at?.label, 'Namespace shop');
    // the default server still authorizes the pod's probes
    expectVerdict(c.decide(call({ from: null, ns: 'shop', to: 'api', port: 8080, path: '/healthz' })), 'allow', { reason: /probe/ });
    // non-HTTP connections are refused
    expectVerdict(c.decide(call({ from: 'web.shop', ns: 'shop', to: 'api', port: 8080, protocol: 'tcp' })), 'deny', { reason: /connection refused/ });
  });

  it('a request without method and path on a port with two probe paths: unknown, each possibility said once', () => {
    const twoProbes = [namespace('shop', { 'config.linkerd.io/default-inbound-policy': 'deny' }),
      deployment('api', 'shop', { app: 'api' }, [{ name: 'http', port: 8080 }], { probes: [{ path: '/ready', port: 8080 }, { path: '/live', port: 8080 }] })];
    const d = compile({ yaml: [twoProbes.join('---\n')] }).decide(call({ from: null, ns: 'shop', to: 'api', port: 8080, method: undefined, path: undefined }));
    expectVerdict(d, 'unknown', { missing: ['request.method', 'request.path'] });
    const texts = d.trace.map((s) => s.text);
    assert.deepEqual(texts.filter((t) => /^if the probe route/.test(t)).length, 1, texts.join('\n'));
    assert.equal(new Set(texts).size, texts.length, texts.join('\n'));
  });

  it('the pod annotation wins over the namespace annotation', () => {
    const c = compile({ yaml: [app({ 'config.linkerd.io/default-inbound-policy': 'deny' }, { 'config.linkerd.io/default-inbound-policy': 'all-authenticated' }).join('---\n')] });
    expectVerdict(c.decide(get), 'allow', { reason: /all-authenticated/ });
    expectVerdict(c.decide({ ...get, source: { principal: null, ip: '10.42.0.3' } }), 'deny', { status: 403 });
  });

  it('audit default policy: allowed and marked audited', () => {
    const c = compile({ yaml: [app({ 'config.linkerd.io/default-inbound-policy': 'audit' }).join('---\n')] });
    expectVerdict(c.decide({ ...get, source: { principal: null, ip: '192.0.2.1' } }), 'allow', { audited: true, reason: /audit/ });
  });

  it('Server accessPolicy audit: explicit authorizations are reported first, the rest allowed as audit', () => {
    const c = compile({
      yaml: [[...app({}), `apiVersion: policy.linkerd.io/v1beta3
kind: Server
metadata: {name: api, namespace: shop}
spec:
  podSelector: {matchLabels: {app: api}}
  port: http
  accessPolicy: audit
---
apiVersion: policy.linkerd.io/v1alpha1
kind: AuthorizationPolicy
metadata: {name: web-only, namespace: shop}
spec:
  targetRef: {group: policy.linkerd.io, kind: Server, name: api}
  requiredAuthenticationRefs:
  - {kind: ServiceAccount, name: web}
`].join('---\n')],
    });
    expectVerdict(c.decide(get), 'allow', { audited: false, reason: /web-only/ });
    expectVerdict(c.decide({ ...get, source: { principal: ID('intruder', 'shop'), ip: '10.42.0.3' } }), 'allow', { audited: true, reason: /accessPolicy audit/ });

    // The proxy logged the call as let through by audit only (its audit `Request allowed` event,
    // which the Linkerd readers keep as detail linkerd_audit_allowed): the deployed policies did
    // not authorize web then; the workspace's web-only does now. For the intruder both agree.
    const loggedAudit = (record: AccessRecord): AccessRecord => ({ ...record, response: { status: 200, details: 'linkerd_audit_allowed' }, observed: 'allowed' });
    const web = loggedAudit(get);
    assert.match(observedDifference(c.decide(web), web) ?? '', /^observed: allowed only by audit mode .*; simulated: .*web-only/);
    const intruder = loggedAudit({ ...get, source: { principal: ID('intruder', 'shop'), ip: '10.42.0.3' } });
    assert.equal(observedDifference(c.decide(intruder), intruder), undefined);
    assert.equal(observedDifference(c.decide(get), { ...get, response: { status: 200 }, observed: 'allowed' }), undefined, 'a log without the audit event says nothing of audit');
  });

  it("compares the server the proxy's denial event names (response.deniedBy) with the simulation's", () => {
    const denied = (record: AccessRecord, deniedBy: string): AccessRecord => ({ ...record, response: { status: 403, details: 'linkerd_policy_403', deniedBy }, observed: 'denied' });
    const onServer = compile({ yaml: [[...app({}), `apiVersion: policy.linkerd.io/v1beta3
kind: Server
metadata: {name: api, namespace: shop}
spec:
  podSelector: {matchLabels: {app: api}}
  port: http
  accessPolicy: deny
`].join('---\n')] });
    const cases: [string, ReturnType<typeof compile>, string, RegExp | undefined][] = [
      ['the same Server', onServer, 'server:api', undefined],
      ['another Server', onServer, 'server:api-old', /^observed: denied on Server api-old \(the proxy's policy event\); simulated: denied/],
      ['a default policy where the simulation denies on a Server', onServer, 'default:deny', /^observed: denied by the default policy deny/],
      ['a default policy, and the simulation denies by the default policy', compile({ yaml: [app({ 'config.linkerd.io/default-inbound-policy': 'deny' }).join('---\n')] }), 'default:deny', undefined],
      ['another default policy than the simulation\'s (a default set otherwise in the cluster)', compile({ yaml: [app({ 'config.linkerd.io/default-inbound-policy': 'deny' }).join('---\n')] }), 'default:all-authenticated', /^observed: denied by the default policy all-authenticated/],
      ['a Server, where the simulation allows (no Server in the workspace)', compile({ yaml: [app({}).join('---\n')] }), 'server:api', /^observed: denied on Server api .*; simulated: allowed/],
    ];
    for (const [name, c, logged, want] of cases) {
      const record = denied(get, logged);
      const difference = observedDifference(c.decide(record), record);
      if (want === undefined) assert.equal(difference, undefined, name);
      else assert.match(difference ?? '', want, name);
    }
  });
});

// ---------------------------------------------------------------------------------------------
// Table-driven tests, one group per spec point. Every case builds its own workspace from a
// namespace `app` with a Deployment `api` (labels app=api, tier=backend; ports http 8080,
// admin 9000, a UDP port named dns 53) and the documents given.
// ---------------------------------------------------------------------------------------------

const APP = [
  namespace('app'),
  deployment('api', 'app', { app: 'api', tier: 'backend' }, [{ name: 'http', port: 8080 }, { name: 'admin', port: 9000 }, { name: 'dns', port: 53, protocol: 'UDP' }], { probes: [{ path: '/healthz', port: 'http' }] }),
].join('---\n');

const server = (name: string, spec: string, metadata = ''): string =>
  `apiVersion: policy.linkerd.io/v1beta3\nkind: Server\nmetadata: {name: ${name}, namespace: app${metadata}}\nspec:\n${spec.trim().split('\n').map((l) => `  ${l}`).join('\n')}\n`;
const policy = (name: string, target: string, refs: string, ns = 'app'): string =>
  `apiVersion: policy.linkerd.io/v1alpha1\nkind: AuthorizationPolicy\nmetadata: {name: ${name}, namespace: ${ns}}\nspec:\n  targetRef: ${target}\n  requiredAuthenticationRefs: ${refs}\n`;
const meshTLS = (name: string, spec: string, ns = 'app'): string =>
  `apiVersion: policy.linkerd.io/v1alpha1\nkind: MeshTLSAuthentication\nmetadata: {name: ${name}, namespace: ${ns}}\nspec: ${spec}\n`;
const network = (name: string, networks: string, ns = 'app'): string =>
  `apiVersion: policy.linkerd.io/v1alpha1\nkind: NetworkAuthentication\nmetadata: {name: ${name}, namespace: ${ns}}\nspec:\n  networks: ${networks}\n`;
const serverAuthz = (name: string, spec: string): string =>
  `apiVersion: policy.linkerd.io/v1beta1\nkind: ServerAuthorization\nmetadata: {name: ${name}, namespace: app}\nspec:\n${spec.trim().split('\n').map((l) => `  ${l}`).join('\n')}\n`;
const route = (name: string, spec: string, opts: { group?: string; metadata?: string } = {}): string =>
  `apiVersion: ${opts.group ?? 'policy.linkerd.io/v1beta3'}\nkind: HTTPRoute\nmetadata: {name: ${name}, namespace: app${opts.metadata ?? ''}}\nspec:\n${spec.trim().split('\n').map((l) => `  ${l}`).join('\n')}\n`;
const TO_SERVER = '{group: policy.linkerd.io, kind: Server, name: api-http}';
const SERVER_HTTP = server('api-http', 'podSelector: {matchLabels: {app: api}}\nport: http');
const PARENT = 'parentRefs: [{name: api-http, kind: Server, group: policy.linkerd.io}]';
const ALLOW_ALL_ON_SERVER = policy('everyone', TO_SERVER, '[]');

interface Case {
  name: string;
  docs: string[];
  call: CallSpec;
  verdict: Decision['verdict'];
  status?: number;
  audited?: boolean;
  missing?: string[];
  reason?: RegExp;
  linkerd?: Partial<ProjectConfig['linkerd']>;
}

function runCases(cases: Case[]): void {
  for (const c of cases) {
    it(c.name, () => {
      const compiled = compile({ yaml: [[APP, ...c.docs].join('---\n')], ...(c.linkerd ? { linkerd: c.linkerd } : {}) });
      const d = compiled.decide(call({ ns: 'app', to: 'api', port: 8080, ...c.call }));
      const extra: Parameters<typeof expectVerdict>[2] = {};
      if ('status' in c) extra.status = c.status;
      if ('audited' in c) extra.audited = c.audited;
      if (c.missing) extra.missing = c.missing;
      if (c.reason) extra.reason = c.reason;
      expectVerdict(d, c.verdict, extra, c.name);
      // explain() never disagrees with decide()
      const full = compiled.explain(call({ ns: 'app', to: 'api', port: 8080, ...c.call }));
      assert.equal(full.verdict, d.verdict, `explain: ${full.reason}`);
      assert.deepEqual(full.missing, d.missing);
    });
  }
}

const WEB = 'web.app';

describe('§2.2 identity matching', () => {
  const mtlsServer = (ids: string) => [SERVER_HTTP, policy('p', TO_SERVER, '[{group: policy.linkerd.io, kind: MeshTLSAuthentication, name: m}]'), meshTLS('m', `{identities: ${ids}}`)];
  runCases([
    { name: '"*" admits any client with a mesh identity', docs: mtlsServer('["*"]'), call: { from: 'anything.elsewhere' }, verdict: 'allow' },
    { name: '"*" does not admit a plaintext client', docs: mtlsServer('["*"]'), call: { from: null }, verdict: 'deny', status: 403 },
    { name: '"*.app.serviceaccount.identity.linkerd.cluster.local" admits every SA of app', docs: mtlsServer('["*.app.serviceaccount.identity.linkerd.cluster.local"]'), call: { from: 'whoever.app' }, verdict: 'allow' },
    { name: 'a namespace suffix does not admit another namespace', docs: mtlsServer('["*.app.serviceaccount.identity.linkerd.cluster.local"]'), call: { from: 'web.other' }, verdict: 'deny', status: 403 },
    { name: '"*.cluster.local" admits every identity of the trust domain', docs: mtlsServer('["*.cluster.local"]'), call: { from: 'x.y' }, verdict: 'allow' },
    { name: 'an exact identity admits exactly that identity', docs: mtlsServer(`["${ID('web', 'app')}"]`), call: { from: WEB }, verdict: 'allow' },
    { name: 'an exact identity does not admit another SA', docs: mtlsServer(`["${ID('web', 'app')}"]`), call: { from: 'admin.app' }, verdict: 'deny', status: 403 },
    { name: '"**.cluster.local" is an exact string, not a wildcard', docs: mtlsServer('["**.cluster.local"]'), call: { from: WEB }, verdict: 'deny', status: 403 },
    { name: 'a wildcard in the middle is literal', docs: mtlsServer('["web.*.serviceaccount.identity.linkerd.cluster.local"]'), call: { from: WEB }, verdict: 'deny', status: 403 },
    { name: 'identityRefs ServiceAccount defaults to the authentication\'s namespace', docs: [SERVER_HTTP, policy('p', TO_SERVER, '[{group: policy.linkerd.io, kind: MeshTLSAuthentication, name: m}]'), meshTLS('m', '{identityRefs: [{kind: ServiceAccount, name: web}]}')], call: { from: WEB }, verdict: 'allow' },
    { name: 'identityRefs ServiceAccount in another namespace', docs: [SERVER_HTTP, policy('p', TO_SERVER, '[{group: policy.linkerd.io, kind: MeshTLSAuthentication, name: m}]'), meshTLS('m', '{identityRefs: [{kind: ServiceAccount, name: web, namespace: front}]}')], call: { from: 'web.front' }, verdict: 'allow' },
    { name: 'identityRefs Namespace admits every SA of that namespace', docs: [SERVER_HTTP, policy('p', TO_SERVER, '[{group: policy.linkerd.io, kind: MeshTLSAuthentication, name: m}]'), meshTLS('m', '{identityRefs: [{kind: Namespace, name: front}]}')], call: { from: 'anyone.front' }, verdict: 'allow' },
    { name: 'identityRefs Namespace does not admit another namespace', docs: [SERVER_HTTP, policy('p', TO_SERVER, '[{group: policy.linkerd.io, kind: MeshTLSAuthentication, name: m}]'), meshTLS('m', '{identityRefs: [{kind: Namespace, name: front}]}')], call: { from: 'anyone.back' }, verdict: 'deny', status: 403 },
    { name: 'a SPIFFE identity matches only exactly', docs: mtlsServer('["spiffe://cluster.local/ns/app/sa/web"]'), call: { from: 'spiffe://cluster.local/ns/app/sa/web.extra' }, verdict: 'deny', status: 403 },
    { name: 'a SPIFFE identity matches itself', docs: mtlsServer('["spiffe://cluster.local/ns/app/sa/web"]'), call: { from: 'spiffe://cluster.local/ns/app/sa/web' }, verdict: 'allow' },
    { name: 'a MeshTLSAuthentication with an invalid identity is rejected: the policy grants nothing', docs: mtlsServer('["Web.App"]'), call: { from: WEB }, verdict: 'deny', status: 403 },
  ]);

  it('the trust domain and control-plane namespace come from the cluster options', () => {
    const set = policySet({ yaml: [[APP, SERVER_HTTP, policy('p', TO_SERVER, '[{kind: ServiceAccount, name: web}]')].join('---\n')] });
    const compiled = createLinkerdSimulator({ trustDomain: 'example.org', controlPlaneNamespace: 'l5d' }).compile(set);
    expectVerdict(compiled.decide(call({ from: 'web.app.serviceaccount.identity.l5d.example.org', ns: 'app', to: 'api', port: 8080 })), 'allow');
    expectVerdict(compiled.decide(call({ from: WEB, ns: 'app', to: 'api', port: 8080 })), 'deny');
  });
});

describe('§2.3 Server selection per pod and port', () => {
  runCases([
    { name: 'matchLabels selects the pod', docs: [SERVER_HTTP], call: { from: WEB }, verdict: 'deny', status: 403, reason: /Server app\/api-http/ },
    { name: 'matchLabels that differ leave the default policy', docs: [server('s', 'podSelector: {matchLabels: {app: other}}\nport: http')], call: { from: WEB }, verdict: 'allow', reason: /default policy/ },
    { name: 'an empty podSelector selects every pod of the namespace', docs: [server('s', 'podSelector: {}\nport: 8080')], call: { from: WEB }, verdict: 'deny', status: 403 },
    { name: 'matchExpressions In', docs: [server('s', 'podSelector: {matchExpressions: [{key: tier, operator: In, values: [backend, db]}]}\nport: 8080')], call: { from: WEB }, verdict: 'deny' },
    { name: 'matchExpressions NotIn', docs: [server('s', 'podSelector: {matchExpressions: [{key: tier, operator: NotIn, values: [backend]}]}\nport: 8080')], call: { from: WEB }, verdict: 'allow' },
    { name: 'matchExpressions Exists', docs: [server('s', 'podSelector: {matchExpressions: [{key: tier, operator: Exists}]}\nport: 8080')], call: { from: WEB }, verdict: 'deny' },
    { name: 'matchExpressions DoesNotExist', docs: [server('s', 'podSelector: {matchExpressions: [{key: tier, operator: DoesNotExist}]}\nport: 8080')], call: { from: WEB }, verdict: 'allow' },
    { name: 'matchLabels AND matchExpressions', docs: [server('s', 'podSelector: {matchLabels: {app: api}, matchExpressions: [{key: tier, operator: In, values: [db]}]}\nport: 8080')], call: { from: WEB }, verdict: 'allow' },
    { name: 'a Server of another namespace does not apply', docs: [server('s', 'podSelector: {}\nport: 8080').replace('namespace: app', 'namespace: other')], call: { from: WEB }, verdict: 'allow' },
    { name: 'a port number selects the port even if the pod spec does not declare it', docs: [server('s', 'podSelector: {matchLabels: {app: api}}\nport: 7777')], call: { from: WEB, port: 7777 }, verdict: 'deny', status: 403 },
    { name: 'a port number selects only that port', docs: [server('s', 'podSelector: {matchLabels: {app: api}}\nport: 9000')], call: { from: WEB, port: 8080 }, verdict: 'allow' },
    { name: 'a port name resolves through the container ports', docs: [server('s', 'podSelector: {matchLabels: {app: api}}\nport: admin')], call: { from: WEB, port: 9000 }, verdict: 'deny' },
    { name: 'a port name selects no other port', docs: [server('s', 'podSelector: {matchLabels: {app: api}}\nport: admin')], call: { from: WEB, port: 8080 }, verdict: 'allow' },
    { name: 'a port name of a UDP container port selects nothing', docs: [server('s', 'podSelector: {matchLabels: {app: api}}\nport: dns')], call: { from: WEB, port: 53 }, verdict: 'allow' },
    { name: 'a quoted number is a port name', docs: [server('s', 'podSelector: {matchLabels: {app: api}}\nport: "8080"')], call: { from: WEB }, verdict: 'allow' },
    { name: 'an externalWorkloadSelector Server selects no pod', docs: [server('s', 'externalWorkloadSelector: {matchLabels: {app: api}}\nport: 8080')], call: { from: WEB }, verdict: 'allow' },
    { name: 'overlapping Servers: the oldest wins', docs: [server('b-open', 'podSelector: {}\nport: 8080\naccessPolicy: all-unauthenticated', ', creationTimestamp: "2024-01-01T00:00:00Z"'), server('a-closed', 'podSelector: {}\nport: 8080', ', creationTimestamp: "2024-06-01T00:00:00Z"')], call: { from: WEB }, verdict: 'allow', reason: /b-open/ },
    { name: 'overlapping Servers without timestamps: the first by name wins', docs: [server('b-open', 'podSelector: {}\nport: 8080\naccessPolicy: all-unauthenticated'), server('a-closed', 'podSelector: {}\nport: 8080')], call: { from: WEB }, verdict: 'deny', reason: /a-closed/ },
    { name: 'a Server with an invalid proxyProtocol is rejected at admission', docs: [server('s', 'podSelector: {}\nport: 8080\nproxyProtocol: HTTP/3')], call: { from: WEB }, verdict: 'allow' },
    { name: 'a Server whose matchLabels is a list, not a map, is rejected by its CRD schema', docs: [server('s', 'podSelector: {matchLabels: [app]}\nport: 8080')], call: { from: WEB }, verdict: 'allow' },
    { name: 'accessPolicy all-authenticated on the Server admits meshed clients', docs: [server('s', 'podSelector: {}\nport: 8080\naccessPolicy: all-authenticated')], call: { from: WEB }, verdict: 'allow', reason: /accessPolicy all-authenticated/ },
    { name: 'accessPolicy all-authenticated does not admit plaintext', docs: [server('s', 'podSelector: {}\nport: 8080\naccessPolicy: all-authenticated')], call: { from: null }, verdict: 'deny' },
    { name: 'the proxy always authorizes localhost', docs: [SERVER_HTTP], call: { from: null, ip: '127.0.0.1' }, verdict: 'allow', reason: /localhost/ },
    { name: 'the proxy always authorizes localhost (IPv6)', docs: [SERVER_HTTP], call: { from: null, ip: '::1' }, verdict: 'allow' },
    { name: 'a plaintext client whose address is not recorded may be on localhost: it depends on source.ip', docs: [SERVER_HTTP], call: { from: null, ip: null }, verdict: 'unknown', missing: ['source.ip'] },
    { name: 'a plaintext client not on localhost (source.notLoopback), address not recorded: the localhost authorization does not apply', docs: [SERVER_HTTP], call: { from: null, ip: null, notLoopback: true }, verdict: 'deny', status: 403 },
    { name: 'notLoopback with a NetworkAuthentication: still depends on source.ip', docs: [SERVER_HTTP, policy('p', TO_SERVER, '[{group: policy.linkerd.io, kind: NetworkAuthentication, name: n}]'), network('n', '[{cidr: 10.0.0.0/8}]')], call: { from: null, ip: null, notLoopback: true }, verdict: 'unknown', missing: ['source.ip'] },
    { name: 'notLoopback does not override a recorded loopback address', docs: [SERVER_HTTP], call: { from: null, ip: '127.0.0.1', notLoopback: true }, verdict: 'allow', reason: /localhost/ },
    { name: 'a Namespace-targeted AuthorizationPolicy authorizes every Server of the namespace', docs: [SERVER_HTTP, policy('ns-wide', '{kind: Namespace, name: app}', '[{kind: ServiceAccount, name: web}]')], call: { from: WEB }, verdict: 'allow' },
    { name: 'a Namespace-targeted AuthorizationPolicy does not reach ports without a Server', docs: [policy('ns-wide', '{kind: Namespace, name: app}', '[{kind: ServiceAccount, name: web}]')], call: { from: 'other.app' }, verdict: 'deny', linkerd: { defaultInboundPolicy: 'deny' } },
    { name: 'a Namespace target naming another namespace is rejected at admission', docs: [SERVER_HTTP, policy('ns-wide', '{kind: Namespace, name: other}', '[]')], call: { from: WEB }, verdict: 'deny' },
  ]);
});

describe('§2.3 default inbound policy', () => {
  const pod = (annotations: Record<string, string>) => deployment('api', 'app', { app: 'api' }, [{ name: 'http', port: 8080 }, { port: 3306 }], { annotations });
  const cases: { name: string; policy?: string; ns?: Record<string, string>; pod?: Record<string, string>; call: CallSpec; verdict: Decision['verdict']; audited?: boolean; reason?: RegExp; status?: number }[] = [
    { name: 'all-unauthenticated admits plaintext from anywhere', policy: 'all-unauthenticated', call: { from: null, ip: '203.0.113.9' }, verdict: 'allow' },
    { name: 'all-authenticated admits a meshed client from anywhere', policy: 'all-authenticated', call: { from: WEB, ip: '203.0.113.9' }, verdict: 'allow' },
    { name: 'all-authenticated denies plaintext', policy: 'all-authenticated', call: { from: null }, verdict: 'deny', status: 403 },
    { name: 'cluster-unauthenticated admits plaintext from the cluster networks', policy: 'cluster-unauthenticated', call: { from: null, ip: '172.20.1.1' }, verdict: 'allow' },
    { name: 'cluster-unauthenticated denies clients outside the cluster networks', policy: 'cluster-unauthenticated', call: { from: WEB, ip: '203.0.113.9' }, verdict: 'deny', status: 403 },
    { name: 'cluster-authenticated admits a meshed in-cluster client', policy: 'cluster-authenticated', call: { from: WEB, ip: '10.1.2.3' }, verdict: 'allow' },
    { name: 'cluster-authenticated denies plaintext in the cluster', policy: 'cluster-authenticated', call: { from: null, ip: '10.1.2.3' }, verdict: 'deny' },
    { name: 'cluster-authenticated denies a meshed client outside the cluster', policy: 'cluster-authenticated', call: { from: WEB, ip: '198.51.100.1' }, verdict: 'deny' },
    { name: 'deny denies everyone', policy: 'deny', call: { from: WEB }, verdict: 'deny', status: 403 },
    { name: 'audit allows and marks the call', policy: 'audit', call: { from: null, ip: '203.0.113.9' }, verdict: 'allow', audited: true },
    { name: 'namespace annotation overrides the cluster default', ns: { 'config.linkerd.io/default-inbound-policy': 'deny' }, call: { from: WEB }, verdict: 'deny', reason: /deny/ },
    { name: 'pod annotation overrides the namespace annotation', ns: { 'config.linkerd.io/default-inbound-policy': 'deny' }, pod: { 'config.linkerd.io/default-inbound-policy': 'all-unauthenticated' }, call: { from: null }, verdict: 'allow' },
    { name: 'an invalid pod annotation is ignored: the cluster default applies', policy: 'all-authenticated', pod: { 'config.linkerd.io/default-inbound-policy': 'allow-all' }, call: { from: null }, verdict: 'deny' },
    { name: 'an invalid pod annotation hides the namespace annotation (the injector does not overwrite it)', ns: { 'config.linkerd.io/default-inbound-policy': 'deny' }, pod: { 'config.linkerd.io/default-inbound-policy': 'nope' }, call: { from: null }, verdict: 'allow' },
    { name: 'proxy-require-identity-inbound-ports makes all-unauthenticated require identity', pod: { 'config.linkerd.io/proxy-require-identity-inbound-ports': '8080' }, call: { from: null }, verdict: 'deny', reason: /all-authenticated/ },
    { name: 'proxy-require-identity-inbound-ports admits meshed clients', pod: { 'config.linkerd.io/proxy-require-identity-inbound-ports': '8000-8100' }, call: { from: WEB }, verdict: 'allow' },
    { name: 'an opaque port is authorized per connection: denial refuses the connection (no HTTP status)', policy: 'deny', pod: { 'config.linkerd.io/opaque-ports': '8080' }, call: { from: WEB }, verdict: 'deny', reason: /connection refused/ },
    { name: 'the default opaque ports apply to ports the pod exposes (3306)', policy: 'deny', call: { from: WEB, port: 3306, protocol: 'tcp' }, verdict: 'deny', reason: /connection refused/ },
    { name: 'skip-inbound-ports bypass the proxy', policy: 'deny', pod: { 'config.linkerd.io/skip-inbound-ports': '8080' }, call: { from: null }, verdict: 'allow', reason: /skip-inbound-ports/ },
    { name: 'linkerd.io/inject: disabled: no proxy, no policy', policy: 'deny', pod: { 'linkerd.io/inject': 'disabled' }, call: { from: null }, verdict: 'allow', reason: /not meshed/ },
  ];
  for (const c of cases) {
    it(c.name, () => {
      const compiled = compile({ yaml: [[namespace('app', c.ns ?? {}), pod(c.pod ?? {})].join('---\n')], ...(c.policy ? { linkerd: { defaultInboundPolicy: c.policy } } : {}) });
      const d = compiled.decide(call({ ns: 'app', to: 'api', port: 8080, ...c.call }));
      expectVerdict(d, c.verdict, { ...('audited' in c ? { audited: c.audited! } : {}), ...(c.reason ? { reason: c.reason } : {}), ...('status' in c ? { status: c.status! } : {}) }, c.name);
    });
  }
});

describe('§2.4 authorizations', () => {
  const NA = (name = 'n') => `{group: policy.linkerd.io, kind: NetworkAuthentication, name: ${name}}`;
  const MA = (name = 'm') => `{group: policy.linkerd.io, kind: MeshTLSAuthentication, name: ${name}}`;
  runCases([
    { name: 'ServerAuthorization by server name, serviceAccounts', docs: [SERVER_HTTP, serverAuthz('sa', 'server: {name: api-http}\nclient: {meshTLS: {serviceAccounts: [{name: web}]}}')], call: { from: WEB }, verdict: 'allow', reason: /ServerAuthorization app\/sa/ },
    { name: 'ServerAuthorization serviceAccounts with a namespace', docs: [SERVER_HTTP, serverAuthz('sa', 'server: {name: api-http}\nclient: {meshTLS: {serviceAccounts: [{name: web, namespace: front}]}}')], call: { from: WEB }, verdict: 'deny' },
    { name: 'ServerAuthorization by selector on the Server\'s labels', docs: [server('api-http', 'podSelector: {matchLabels: {app: api}}\nport: http', ', labels: {team: a}'), serverAuthz('sa', 'server: {selector: {matchLabels: {team: a}}}\nclient: {meshTLS: {identities: ["*"]}}')], call: { from: WEB }, verdict: 'allow' },
    { name: 'ServerAuthorization whose selector does not match the Server\'s labels', docs: [server('api-http', 'podSelector: {matchLabels: {app: api}}\nport: http', ', labels: {team: a}'), serverAuthz('sa', 'server: {selector: {matchLabels: {team: b}}}\nclient: {meshTLS: {identities: ["*"]}}')], call: { from: WEB }, verdict: 'deny' },
    { name: 'ServerAuthorization unauthenticated admits plaintext from the cluster networks', docs: [SERVER_HTTP, serverAuthz('sa', 'server: {name: api-http}\nclient: {unauthenticated: true}')], call: { from: null, ip: '10.0.0.5' }, verdict: 'allow' },
    { name: 'ServerAuthorization without networks means the cluster networks', docs: [SERVER_HTTP, serverAuthz('sa', 'server: {name: api-http}\nclient: {unauthenticated: true}')], call: { from: null, ip: '8.8.8.8' }, verdict: 'deny' },
    { name: 'ServerAuthorization networks with except', docs: [SERVER_HTTP, serverAuthz('sa', 'server: {name: api-http}\nclient: {unauthenticated: true, networks: [{cidr: 0.0.0.0/0, except: [192.0.2.0/24]}]}')], call: { from: null, ip: '192.0.2.7' }, verdict: 'deny' },
    { name: 'ServerAuthorization networks outside the exception', docs: [SERVER_HTTP, serverAuthz('sa', 'server: {name: api-http}\nclient: {unauthenticated: true, networks: [{cidr: 0.0.0.0/0, except: [192.0.2.0/24]}]}')], call: { from: null, ip: '192.0.3.7' }, verdict: 'allow' },
    { name: 'ServerAuthorization unauthenticatedTLS admits any meshed client', docs: [SERVER_HTTP, serverAuthz('sa', 'server: {name: api-http}\nclient: {meshTLS: {unauthenticatedTLS: true}}')], call: { from: 'x.y' }, verdict: 'allow' },
    { name: 'ServerAuthorization unauthenticatedTLS does not admit plaintext', docs: [SERVER_HTTP, serverAuthz('sa', 'server: {name: api-http}\nclient: {meshTLS: {unauthenticatedTLS: true}}')], call: { from: null }, verdict: 'deny' },
    { name: 'ServerAuthorization with unauthenticated and meshTLS is rejected', docs: [SERVER_HTTP, serverAuthz('sa', 'server: {name: api-http}\nclient: {unauthenticated: true, meshTLS: {identities: ["*"]}}')], call: { from: WEB }, verdict: 'deny' },
    { name: 'AuthorizationPolicy with no required authentication admits everyone', docs: [SERVER_HTTP, ALLOW_ALL_ON_SERVER], call: { from: null, ip: '203.0.113.5' }, verdict: 'allow' },
    { name: 'AuthorizationPolicy ServiceAccount ref', docs: [SERVER_HTTP, policy('p', TO_SERVER, '[{kind: ServiceAccount, name: web}]')], call: { from: WEB }, verdict: 'allow' },
    { name: 'NetworkAuthentication alone admits plaintext from its networks', docs: [SERVER_HTTP, policy('p', TO_SERVER, `[${NA()}]`), network('n', '[{cidr: 10.0.0.0/8}]')], call: { from: null, ip: '10.9.9.9' }, verdict: 'allow' },
    { name: 'NetworkAuthentication except', docs: [SERVER_HTTP, policy('p', TO_SERVER, `[${NA()}]`), network('n', '[{cidr: 10.0.0.0/8, except: [10.9.0.0/16]}]')], call: { from: null, ip: '10.9.9.9' }, verdict: 'deny' },
    { name: 'NetworkAuthentication with a bare address', docs: [SERVER_HTTP, policy('p', TO_SERVER, `[${NA()}]`), network('n', '[{cidr: 192.0.2.7}]')], call: { from: null, ip: '192.0.2.7' }, verdict: 'allow' },
    { name: 'NetworkAuthentication with a bare address admits only it', docs: [SERVER_HTTP, policy('p', TO_SERVER, `[${NA()}]`), network('n', '[{cidr: 192.0.2.7}]')], call: { from: null, ip: '192.0.2.8' }, verdict: 'deny' },
    { name: 'NetworkAuthentication IPv6', docs: [SERVER_HTTP, policy('p', TO_SERVER, `[${NA()}]`), network('n', '[{cidr: "fd00::/8"}]')], call: { from: null, ip: 'fd12:3456::1' }, verdict: 'allow' },
    { name: 'NetworkAuthentication whose exception lies outside the network is rejected', docs: [SERVER_HTTP, policy('p', TO_SERVER, `[${NA()}]`), network('n', '[{cidr: 10.0.0.0/8, except: [192.168.0.0/16]}]')], call: { from: null, ip: '10.1.1.1' }, verdict: 'deny' },
    { name: 'MeshTLS AND NetworkAuthentication: both must hold (identity ok, network not)', docs: [SERVER_HTTP, policy('p', TO_SERVER, `[${MA()}, ${NA()}]`), meshTLS('m', '{identities: ["*"]}'), network('n', '[{cidr: 10.0.0.0/8}]')], call: { from: WEB, ip: '192.168.1.1' }, verdict: 'deny' },
    { name: 'MeshTLS AND NetworkAuthentication: both hold', docs: [SERVER_HTTP, policy('p', TO_SERVER, `[${MA()}, ${NA()}]`), meshTLS('m', '{identities: ["*"]}'), network('n', '[{cidr: 10.0.0.0/8}]')], call: { from: WEB, ip: '10.1.1.1' }, verdict: 'allow' },
    { name: 'separate policies are OR-ed', docs: [SERVER_HTTP, policy('p1', TO_SERVER, '[{kind: ServiceAccount, name: admin}]'), policy('p2', TO_SERVER, '[{kind: ServiceAccount, name: web}]')], call: { from: WEB }, verdict: 'allow', reason: /p2/ },
    { name: 'MeshTLSAuthentication in another namespace', docs: [SERVER_HTTP, policy('p', TO_SERVER, '[{group: policy.linkerd.io, kind: MeshTLSAuthentication, name: m, namespace: shared}]'), meshTLS('m', '{identities: ["*"]}', 'shared')], call: { from: WEB }, verdict: 'allow' },
    { name: 'a missing MeshTLSAuthentication makes the policy ignored (fails closed)', docs: [SERVER_HTTP, policy('p', TO_SERVER, `[${MA('absent')}]`)], call: { from: WEB }, verdict: 'deny' },
    { name: 'a missing NetworkAuthentication makes the policy ignored', docs: [SERVER_HTTP, policy('p', TO_SERVER, `[${NA('absent')}]`)], call: { from: null }, verdict: 'deny' },
    { name: 'two MeshTLSAuthentications: rejected at admission', docs: [SERVER_HTTP, policy('p', TO_SERVER, `[${MA('m')}, ${MA('m2')}]`), meshTLS('m', '{identities: ["*"]}'), meshTLS('m2', '{identities: ["*"]}')], call: { from: WEB }, verdict: 'deny' },
    { name: 'a MeshTLSAuthentication and a ServiceAccount together: rejected', docs: [SERVER_HTTP, policy('p', TO_SERVER, `[${MA()}, {kind: ServiceAccount, name: web}]`), meshTLS('m', '{identities: ["*"]}')], call: { from: WEB }, verdict: 'deny' },
    { name: 'targetRef kind Server without its group is rejected (group means core)', docs: [SERVER_HTTP, policy('p', '{kind: Server, name: api-http}', '[]')], call: { from: WEB }, verdict: 'deny' },
    { name: 'a policy targeting another Server does not apply', docs: [SERVER_HTTP, policy('p', '{group: policy.linkerd.io, kind: Server, name: other}', '[]')], call: { from: WEB }, verdict: 'deny' },
  ]);
});

describe('§2.5 routes', () => {
  const withRoute = (spec: string, auth = ALLOW_ALL_ON_SERVER) => [SERVER_HTTP, auth, route('r', `${PARENT}\n${spec}`)];
  runCases([
    { name: 'no route attached: the default route matches everything', docs: [SERVER_HTTP, ALLOW_ALL_ON_SERVER], call: { from: WEB, method: 'PATCH', path: '/anything?x=1' }, verdict: 'allow' },
    { name: 'a route exists and nothing matches: 404', docs: withRoute('rules: [{matches: [{path: {type: Exact, value: /a}}]}]'), call: { from: WEB, path: '/b' }, verdict: 'deny', status: 404, reason: /no route/ },
    { name: 'Exact path matches', docs: withRoute('rules: [{matches: [{path: {type: Exact, value: /a}}]}]'), call: { from: WEB, path: '/a' }, verdict: 'allow' },
    { name: 'Exact path ignores the query string', docs: withRoute('rules: [{matches: [{path: {type: Exact, value: /a}}]}]'), call: { from: WEB, path: '/a?x=1' }, verdict: 'allow' },
    { name: 'Exact path does not match a trailing slash', docs: withRoute('rules: [{matches: [{path: {type: Exact, value: /a}}]}]'), call: { from: WEB, path: '/a/' }, verdict: 'deny', status: 404 },
    { name: 'paths are raw: no percent-decoding', docs: withRoute('rules: [{matches: [{path: {type: Exact, value: /a b}}]}]'), call: { from: WEB, path: '/a%20b' }, verdict: 'deny', status: 404 },
    { name: 'PathPrefix is segment-aware: /foo matches /foo/bar', docs: withRoute('rules: [{matches: [{path: {type: PathPrefix, value: /foo}}]}]'), call: { from: WEB, path: '/foo/bar' }, verdict: 'allow' },
    { name: 'PathPrefix /foo matches /foo/', docs: withRoute('rules: [{matches: [{path: {type: PathPrefix, value: /foo}}]}]'), call: { from: WEB, path: '/foo/' }, verdict: 'allow' },
    { name: 'PathPrefix /foo/ matches /foo', docs: withRoute('rules: [{matches: [{path: {type: PathPrefix, value: /foo/}}]}]'), call: { from: WEB, path: '/foo' }, verdict: 'allow' },
    { name: 'PathPrefix /foo does not match /foobar', docs: withRoute('rules: [{matches: [{path: {type: PathPrefix, value: /foo}}]}]'), call: { from: WEB, path: '/foobar' }, verdict: 'deny', status: 404 },
    { name: 'a path without type is PathPrefix', docs: withRoute('rules: [{matches: [{path: {value: /foo}}]}]'), call: { from: WEB, path: '/foo/x' }, verdict: 'allow' },
    { name: 'RegularExpression must match the whole path', docs: withRoute('rules: [{matches: [{path: {type: RegularExpression, value: "/foo/[0-9]+"}}]}]'), call: { from: WEB, path: '/foo/42' }, verdict: 'allow' },
    { name: 'RegularExpression is anchored at the end', docs: withRoute('rules: [{matches: [{path: {type: RegularExpression, value: "/foo/[0-9]+"}}]}]'), call: { from: WEB, path: '/foo/42/x' }, verdict: 'deny', status: 404 },
    { name: 'RegularExpression is anchored at the start', docs: withRoute('rules: [{matches: [{path: {type: RegularExpression, value: "/foo/[0-9]+"}}]}]'), call: { from: WEB, path: '/x/foo/42' }, verdict: 'deny', status: 404 },
    { name: 'RegularExpression: the leftmost-first match must span the path', docs: withRoute('rules: [{matches: [{path: {type: RegularExpression, value: "/foo|/foo/bar"}}]}]'), call: { from: WEB, path: '/foo/bar' }, verdict: 'deny', status: 404 },
    { name: 'an invalid RegularExpression makes the route ignored (default route again)', docs: withRoute('rules: [{matches: [{path: {type: RegularExpression, value: "/foo/(["}}]}]'), call: { from: WEB, path: '/zzz' }, verdict: 'allow' },
    { name: 'a RegularExpression with a literal brace (refused by Rust regex) makes the route ignored', docs: withRoute('rules: [{matches: [{path: {type: RegularExpression, value: "/users/{id}"}}]}]'), call: { from: WEB, path: '/zzz' }, verdict: 'allow' },
    { name: 'method must match', docs: withRoute('rules: [{matches: [{method: POST}]}]'), call: { from: WEB, method: 'GET', path: '/' }, verdict: 'deny', status: 404 },
    { name: 'method matches', docs: withRoute('rules: [{matches: [{method: POST}]}]'), call: { from: WEB, method: 'POST', path: '/' }, verdict: 'allow' },
    { name: 'header Exact: names are case-insensitive', docs: withRoute('rules: [{matches: [{headers: [{name: X-Env, value: canary}]}]}]'), call: { from: WEB, headers: { 'x-env': 'canary' } }, verdict: 'allow' },
    { name: 'header Exact: values are case-sensitive', docs: withRoute('rules: [{matches: [{headers: [{name: x-env, value: canary}]}]}]'), call: { from: WEB, headers: { 'x-env': 'Canary' } }, verdict: 'deny', status: 404 },
    { name: 'an absent header does not match', docs: withRoute('rules: [{matches: [{headers: [{name: x-env, value: canary}]}]}]'), call: { from: WEB }, verdict: 'deny', status: 404 },
    // a native log records few headers (spec §4.0): Linkerd's JSON format prints only the User-Agent
    { name: 'a header the log does not record: the route may match or not', docs: withRoute('rules: [{matches: [{headers: [{name: x-env, value: canary}]}]}]'), call: { from: WEB, recordedHeaders: ['user-agent'] }, verdict: 'unknown' },
    { name: 'a header the log records, not sent: no match', docs: withRoute('rules: [{matches: [{headers: [{name: user-agent, value: curl}]}]}]'), call: { from: WEB, recordedHeaders: ['user-agent'] }, verdict: 'deny', status: 404 },
    { name: 'an unrecorded header beside one that fails: no match', docs: withRoute('rules: [{matches: [{headers: [{name: x-env, value: canary}, {name: user-agent, value: curl}]}]}]'), call: { from: WEB, headers: { 'user-agent': 'wget' }, recordedHeaders: ['user-agent'] }, verdict: 'deny', status: 404 },
    { name: 'header RegularExpression is anchored', docs: withRoute('rules: [{matches: [{headers: [{name: x-env, type: RegularExpression, value: "can.*"}]}]}]'), call: { from: WEB, headers: { 'x-env': 'canary' } }, verdict: 'allow' },
    { name: 'all header matches are required', docs: withRoute('rules: [{matches: [{headers: [{name: a, value: "1"}, {name: b, value: "2"}]}]}]'), call: { from: WEB, headers: { a: '1' } }, verdict: 'deny', status: 404 },
    { name: 'query param Exact', docs: withRoute('rules: [{matches: [{queryParams: [{name: v, value: "2"}]}]}]'), call: { from: WEB, path: '/x?a=1&v=2' }, verdict: 'allow' },
    { name: 'query params are form-decoded', docs: withRoute('rules: [{matches: [{queryParams: [{name: q, value: "a b"}]}]}]'), call: { from: WEB, path: '/x?q=a+b' }, verdict: 'allow' },
    { name: 'query param RegularExpression', docs: withRoute('rules: [{matches: [{queryParams: [{name: v, type: RegularExpression, value: "[0-9]+"}]}]}]'), call: { from: WEB, path: '/x?v=12a' }, verdict: 'deny', status: 404 },
    { name: 'hostnames: exact, case-insensitive, port ignored', docs: withRoute('hostnames: [API.example.com]\nrules: [{}]'), call: { from: WEB, host: 'api.EXAMPLE.com:8080' }, verdict: 'allow' },
    { name: 'hostnames: wildcard needs a leading label', docs: withRoute('hostnames: ["*.example.com"]\nrules: [{}]'), call: { from: WEB, host: 'example.com' }, verdict: 'deny', status: 404 },
    { name: 'hostnames: wildcard', docs: withRoute('hostnames: ["*.example.com"]\nrules: [{}]'), call: { from: WEB, host: 'a.b.example.com' }, verdict: 'allow' },
    { name: 'a rule without matches matches everything', docs: withRoute('rules: [{}]'), call: { from: WEB, method: 'DELETE', path: '/z' }, verdict: 'allow' },
    { name: 'a route-targeted policy authorizes only its route', docs: [SERVER_HTTP, route('open', `${PARENT}\nrules: [{matches: [{path: {value: /public}}]}]`), route('closed', `${PARENT}\nrules: [{matches: [{path: {value: /private}}]}]`), policy('p', '{group: policy.linkerd.io, kind: HTTPRoute, name: open}', '[]')], call: { from: WEB, path: '/private/x' }, verdict: 'deny', status: 403 },
    { name: 'a route-targeted policy authorizes its route', docs: [SERVER_HTTP, route('open', `${PARENT}\nrules: [{matches: [{path: {value: /public}}]}]`), route('closed', `${PARENT}\nrules: [{matches: [{path: {value: /private}}]}]`), policy('p', '{group: policy.linkerd.io, kind: HTTPRoute, name: open}', '[]')], call: { from: WEB, path: '/public/x' }, verdict: 'allow' },
    { name: 'route target names compare case-insensitively', docs: [SERVER_HTTP, route('open', `${PARENT}\nrules: [{}]`), policy('p', '{group: policy.linkerd.io, kind: httproute, name: OPEN}', '[]')], call: { from: WEB }, verdict: 'allow' },
    { name: 'a route-targeted policy must name the route\'s group', docs: [SERVER_HTTP, route('open', `${PARENT}\nrules: [{}]`), policy('p', '{group: gateway.networking.k8s.io, kind: HTTPRoute, name: open}', '[]')], call: { from: WEB }, verdict: 'deny', status: 403 },
    { name: 'a Gateway API HTTPRoute with a Server parent', docs: [SERVER_HTTP, route('gw', `${PARENT}\nrules: [{matches: [{path: {type: PathPrefix, value: /v1}}]}]`, { group: 'gateway.networking.k8s.io/v1' }), policy('p', '{group: gateway.networking.k8s.io, kind: HTTPRoute, name: gw}', '[]')], call: { from: WEB, path: '/v1/x' }, verdict: 'allow' },
    { name: 'a parentRef that sets port drops the whole route (default route again)', docs: [SERVER_HTTP, ALLOW_ALL_ON_SERVER, route('r', 'parentRefs: [{name: api-http, kind: Server, group: policy.linkerd.io, port: 8080}]\nrules: [{matches: [{path: {type: Exact, value: /only}}]}]')], call: { from: WEB, path: '/other' }, verdict: 'allow' },
    { name: 'a parentRef without kind is a Gateway, not the Server', docs: [SERVER_HTTP, ALLOW_ALL_ON_SERVER, route('r', 'parentRefs: [{name: api-http, group: policy.linkerd.io}]\nrules: [{matches: [{path: {type: Exact, value: /only}}]}]')], call: { from: WEB, path: '/other' }, verdict: 'allow' },
    { name: 'precedence: the longest path match wins, whatever the type', docs: [SERVER_HTTP, route('prefix-long', `${PARENT}\nrules: [{matches: [{path: {type: PathPrefix, value: /api/v1/items}}]}]`), route('exact-short', `${PARENT}\nrules: [{matches: [{path: {type: RegularExpression, value: "/api/.*"}}]}]`), policy('p', '{group: policy.linkerd.io, kind: HTTPRoute, name: prefix-long}', '[]')], call: { from: WEB, path: '/api/v1/items/3' }, verdict: 'deny', status: 403 },
    { name: 'precedence: a longer exact path beats a shorter prefix', docs: [SERVER_HTTP, route('short', `${PARENT}\nrules: [{matches: [{path: {type: PathPrefix, value: /api}}]}]`), route('long', `${PARENT}\nrules: [{matches: [{path: {type: Exact, value: /api/login}}]}]`), policy('p', '{group: policy.linkerd.io, kind: HTTPRoute, name: long}', '[]')], call: { from: WEB, path: '/api/login' }, verdict: 'allow' },
    { name: 'precedence: with equal paths, more header matches win', docs: [SERVER_HTTP, route('plain', `${PARENT}\nrules: [{matches: [{path: {value: /api}}]}]`), route('header', `${PARENT}\nrules: [{matches: [{path: {value: /api}, headers: [{name: x, value: "1"}]}]}]`), policy('p', '{group: policy.linkerd.io, kind: HTTPRoute, name: header}', '[]')], call: { from: WEB, path: '/api', headers: { x: '1' } }, verdict: 'allow' },
    // linkerd2-proxy linkerd/http/route/src/http/match.rs `RequestMatch::cmp`: path length, then
    // method, then headers, then query params (the spec's prose lists method last).
    { name: 'precedence: with equal paths, a method match beats a header match (proxy order)', docs: [SERVER_HTTP, route('by-header', `${PARENT}\nrules: [{matches: [{path: {value: /api}, headers: [{name: x, value: "1"}]}]}]`), route('by-method', `${PARENT}\nrules: [{matches: [{path: {value: /api}, method: GET}]}]`), policy('p', '{group: policy.linkerd.io, kind: HTTPRoute, name: by-method}', '[]')], call: { from: WEB, method: 'GET', path: '/api', headers: { x: '1' } }, verdict: 'allow' },
    // linkerd2-proxy http/match/tests.rs `exact_beats_prefix_of_equal_length` (Gateway API: Exact first).
    { name: 'precedence: an Exact path beats a PathPrefix of the same length', docs: [SERVER_HTTP, route('a-prefix', `${PARENT}\nrules: [{matches: [{path: {type: PathPrefix, value: /api}}]}]`), route('b-exact', `${PARENT}\nrules: [{matches: [{path: {type: Exact, value: /api}}]}]`), policy('p', '{group: policy.linkerd.io, kind: HTTPRoute, name: b-exact}', '[]')], call: { from: WEB, path: '/api' }, verdict: 'allow' },
    { name: 'precedence: an Exact path beats a RegularExpression of the same length', docs: [SERVER_HTTP, route('a-regex', `${PARENT}\nrules: [{matches: [{path: {type: RegularExpression, value: "/a.i"}}]}]`), route('b-exact', `${PARENT}\nrules: [{matches: [{path: {type: Exact, value: /api}}]}]`), policy('p', '{group: policy.linkerd.io, kind: HTTPRoute, name: b-exact}', '[]')], call: { from: WEB, path: '/api' }, verdict: 'allow' },
    { name: 'precedence: ties go to the oldest route', docs: [SERVER_HTTP, route('b', `${PARENT}\nrules: [{matches: [{path: {value: /api}}]}]`, { metadata: ', creationTimestamp: "2024-01-01T00:00:00Z"' }), route('a', `${PARENT}\nrules: [{matches: [{path: {value: /api}}]}]`, { metadata: ', creationTimestamp: "2024-02-01T00:00:00Z"' }), policy('p', '{group: policy.linkerd.io, kind: HTTPRoute, name: b}', '[]')], call: { from: WEB, path: '/api' }, verdict: 'allow' },
    { name: 'precedence: ties without timestamps go to the first by name', docs: [SERVER_HTTP, route('b', `${PARENT}\nrules: [{matches: [{path: {value: /api}}]}]`), route('a', `${PARENT}\nrules: [{matches: [{path: {value: /api}}]}]`), policy('p', '{group: policy.linkerd.io, kind: HTTPRoute, name: b}', '[]')], call: { from: WEB, path: '/api' }, verdict: 'deny', status: 403 },
    { name: 'a Server-targeted policy authorizes every route of the Server', docs: [SERVER_HTTP, policy('p', TO_SERVER, '[{kind: ServiceAccount, name: web}]'), route('r', `${PARENT}\nrules: [{matches: [{path: {value: /x}}]}]`)], call: { from: WEB, path: '/x' }, verdict: 'allow' },
    { name: 'a RequestRedirect rule is authorized and answers with the redirect', docs: withRoute('rules: [{matches: [{path: {value: /old}}], filters: [{type: RequestRedirect, requestRedirect: {path: {type: ReplaceFullPath, replaceFullPath: /new}, statusCode: 301}}]}]'), call: { from: WEB, path: '/old' }, verdict: 'allow', status: 301 },
    { name: 'probe routes disappear once a route is attached (no automatic probe authorization)', docs: withRoute('rules: [{matches: [{path: {value: /api}}]}]'), call: { from: null, path: '/healthz' }, verdict: 'deny', status: 404 },
    { name: 'the probe route only admits GET on the exact probe path', docs: [SERVER_HTTP], call: { from: null, path: '/healthz/x' }, verdict: 'deny', status: 403 },
    { name: 'the probe route admits the kubelet on a Server without routes', docs: [SERVER_HTTP], call: { from: null, ip: '10.0.0.1', path: '/healthz' }, verdict: 'allow', reason: /probe/ },
    // policy-controller admission.rs validate_http_backend_if_service (admit_http_route_gateway.rs):
    // a Gateway API route naming a Service backend without a port never exists; other backends do.
    ...([
      ['a Service backend without a port rejects the Gateway API route (default route again)', '{name: foo}', 'allow', undefined],
      ['a core Service backend with port 0 rejects it too', '{group: core, kind: Service, name: foo, port: 0}', 'allow', undefined],
      ['a Service backend with a port keeps the route (404 elsewhere)', '{name: foo, port: 8080}', 'deny', 404],
      ['a backend of another kind needs no port', '{group: alien.example.com, kind: ExoService, name: foo}', 'deny', 404],
    ] as const).map(([name, backend, verdict, status]) => ({
      name, docs: [SERVER_HTTP, ALLOW_ALL_ON_SERVER, route('gw', `${PARENT}\nrules: [{matches: [{path: {type: Exact, value: /only}}], backendRefs: [${backend}]}]`, { group: 'gateway.networking.k8s.io/v1' })],
      call: { from: WEB, path: '/other' }, verdict, ...(status ? { status } : {}),
    })),
    // admission.rs HttpRouteSpec validate_timeouts: backendRequest must not exceed request.
    ...([
      ['timeouts: backendRequest longer than request rejects the route', '{request: 1s, backendRequest: 2s}', 'allow', undefined],
      ['timeouts: 1m30s against 90500ms (longer) rejects it', '{request: 1m30s, backendRequest: 90500ms}', 'allow', undefined],
      ['timeouts: equal durations in other units keep the route', '{request: 1h, backendRequest: 60m}', 'deny', 404],
      ['timeouts: backendRequest alone keeps the route', '{backendRequest: 10s}', 'deny', 404],
    ] as const).map(([name, timeouts, verdict, status]) => ({
      name, docs: [SERVER_HTTP, ALLOW_ALL_ON_SERVER, route('t', `${PARENT}\nrules: [{matches: [{path: {type: Exact, value: /only}}], timeouts: ${timeouts}}]`)],
      call: { from: WEB, path: '/other' }, verdict, ...(status ? { status } : {}),
    })),
    // routes/http.rs header_match parses the name into http::HeaderName: a space is not a token character.
    { name: 'a header match whose name is not an HTTP token makes the route ignored', docs: withRoute('rules: [{matches: [{path: {type: Exact, value: /only}, headers: [{name: "x env", value: canary}]}]}]'), call: { from: WEB, path: '/other' }, verdict: 'allow' },
    { name: 'a header match name with token punctuation is valid', docs: withRoute('rules: [{matches: [{path: {type: Exact, value: /only}, headers: [{name: "x-env_v1.2", value: canary}]}]}]'), call: { from: WEB, path: '/other' }, verdict: 'deny', status: 404 },
    // routes/http.rs request_header_modifier: names parse into http::HeaderName.
    { name: 'a RequestHeaderModifier adding a header whose name is not a token rejects the route', docs: withRoute('rules: [{matches: [{path: {type: Exact, value: /only}}], filters: [{type: RequestHeaderModifier, requestHeaderModifier: {add: [{name: "bad name", value: v}]}}]}]'), call: { from: WEB, path: '/other' }, verdict: 'allow' },
    { name: 'a ResponseHeaderModifier removing a header whose name is not a token rejects the route', docs: withRoute('rules: [{matches: [{path: {type: Exact, value: /only}}], filters: [{type: ResponseHeaderModifier, responseHeaderModifier: {remove: ["x:y"]}}]}]'), call: { from: WEB, path: '/other' }, verdict: 'allow' },
    { name: 'valid header modifiers keep the route', docs: withRoute('rules: [{matches: [{path: {type: Exact, value: /only}}], filters: [{type: RequestHeaderModifier, requestHeaderModifier: {set: [{name: x-a, value: "1"}], remove: [x-b]}}]}]'), call: { from: WEB, path: '/other' }, verdict: 'deny', status: 404 },
    { name: 'Linkerd\'s own HTTPRoute is not checked for backend ports', docs: [SERVER_HTTP, ALLOW_ALL_ON_SERVER, route('r', `${PARENT}\nrules: [{matches: [{path: {type: Exact, value: /only}}], backendRefs: [{name: foo}]}]`)], call: { from: WEB, path: '/other' }, verdict: 'deny', status: 404 },
    // policy-controller/core/src/routes.rs: GroupKindName orders by name before group and kind.
    { name: 'precedence: ties of the same age go to the first by name, not by group', docs: [SERVER_HTTP, route('a-policy', `${PARENT}\nrules: [{matches: [{path: {value: /api}}]}]`), route('b-gateway', `${PARENT}\nrules: [{matches: [{path: {value: /api}}]}]`, { group: 'gateway.networking.k8s.io/v1' }), policy('p', '{group: policy.linkerd.io, kind: HTTPRoute, name: a-policy}', '[]')], call: { from: WEB, path: '/api' }, verdict: 'allow', reason: /a-policy/ },
  ]);

  it('explain() says why an equally good route lost: the tie goes to the older route, then the first by name', () => {
    const compiled = compile({ yaml: [[APP, SERVER_HTTP, route('b-policy', `${PARENT}\nrules: [{matches: [{path: {value: /api}}]}]`), route('c-gateway', `${PARENT}\nrules: [{matches: [{path: {value: /api}}]}]`, { group: 'gateway.networking.k8s.io/v1' }), policy('p', '{group: policy.linkerd.io, kind: HTTPRoute, name: b-policy}', '[]')].join('---\n')] });
    const d = compiled.explain(call({ ns: 'app', to: 'api', port: 8080, from: WEB, path: '/api' }));
    expectVerdict(d, 'allow', { reason: /b-policy/ });
    const lost = d.trace.find((step) => step.text.startsWith('HTTPRoute app/c-gateway matches too'));
    assert.ok(lost, d.trace.map((step) => step.text).join('\n'));
    assert.match(lost.text, /then the first by name/);
  });
});

describe('§2.5/§2.6 protocols and gRPC', () => {
  const grpcServer = server('api-grpc', 'podSelector: {matchLabels: {app: api}}\nport: http\nproxyProtocol: gRPC');
  const grpcParent = 'parentRefs: [{name: api-grpc, kind: Server, group: policy.linkerd.io}]';
  const grpcRoute = (name: string, matches: string) => `apiVersion: gateway.networking.k8s.io/v1\nkind: GRPCRoute\nmetadata: {name: ${name}, namespace: app}\nspec:\n  ${grpcParent}\n  rules: [{matches: ${matches}}]\n`;
  const toGrpc = policy('p', '{group: policy.linkerd.io, kind: Server, name: api-grpc}', '[]');
  runCases([
    { name: 'gRPC Server without GRPCRoute: the default gRPC route', docs: [grpcServer, toGrpc], call: { from: WEB, protocol: 'grpc', method: 'POST', path: '/pkg.Svc/Get' }, verdict: 'allow' },
    { name: 'GRPCRoute service + method match', docs: [grpcServer, toGrpc, grpcRoute('g', '[{method: {service: pkg.Svc, method: Get}}]')], call: { from: WEB, protocol: 'grpc', method: 'POST', path: '/pkg.Svc/Get' }, verdict: 'allow' },
    { name: 'GRPCRoute: another method gets NOT_FOUND', docs: [grpcServer, toGrpc, grpcRoute('g', '[{method: {service: pkg.Svc, method: Get}}]')], call: { from: WEB, protocol: 'grpc', method: 'POST', path: '/pkg.Svc/Put' }, verdict: 'deny', reason: /NOT_FOUND/ },
    { name: 'GRPCRoute service only', docs: [grpcServer, toGrpc, grpcRoute('g', '[{method: {service: pkg.Svc}}]')], call: { from: WEB, protocol: 'grpc', method: 'POST', path: '/pkg.Svc/Anything' }, verdict: 'allow' },
    { name: 'GRPCRoute requires POST', docs: [grpcServer, toGrpc, grpcRoute('g', '[{method: {service: pkg.Svc}}]')], call: { from: WEB, protocol: 'grpc', method: 'GET', path: '/pkg.Svc/Anything' }, verdict: 'deny', reason: /NOT_FOUND/ },
    { name: 'GRPCRoute with a RegularExpression method type is ignored', docs: [grpcServer, toGrpc, grpcRoute('g', '[{method: {type: RegularExpression, service: "pkg.*"}}]')], call: { from: WEB, protocol: 'grpc', method: 'POST', path: '/other.Svc/X' }, verdict: 'allow' },
    { name: 'a gRPC Server uses no HTTPRoute', docs: [grpcServer, toGrpc, route('h', `${grpcParent}\nrules: [{matches: [{path: {type: Exact, value: /never}}]}]`)], call: { from: WEB, protocol: 'grpc', method: 'POST', path: '/pkg.Svc/Get' }, verdict: 'allow' },
    { name: 'an HTTPRoute is not accepted when a GRPCRoute is attached to the same Server', docs: [SERVER_HTTP, ALLOW_ALL_ON_SERVER, route('h', `${PARENT}\nrules: [{matches: [{path: {type: Exact, value: /only}}]}]`), grpcRoute('g', '[{method: {service: pkg.Svc}}]').replace(grpcParent, PARENT)], call: { from: WEB, path: '/other' }, verdict: 'allow' },
    { name: 'a gRPC denial is PERMISSION_DENIED, without an HTTP status', docs: [grpcServer], call: { from: WEB, protocol: 'grpc', method: 'POST', path: '/pkg.Svc/Get' }, verdict: 'deny', status: undefined, reason: /PERMISSION_DENIED/ },
    { name: 'TCP on a detect port: the connection is authorized as a whole', docs: [SERVER_HTTP, route('r', `${PARENT}\nrules: [{matches: [{path: {type: Exact, value: /x}}]}]`), ALLOW_ALL_ON_SERVER], call: { from: WEB, protocol: 'tcp' }, verdict: 'allow' },
    { name: 'TCP denial refuses the connection', docs: [SERVER_HTTP], call: { from: WEB, protocol: 'tcp' }, verdict: 'deny', status: undefined, reason: /connection refused/ },
    { name: 'an opaque Server authorizes HTTP as a connection (routes do not apply)', docs: [server('api-http', 'podSelector: {matchLabels: {app: api}}\nport: http\nproxyProtocol: opaque'), ALLOW_ALL_ON_SERVER, route('r', `${PARENT}\nrules: [{matches: [{path: {type: Exact, value: /x}}]}]`)], call: { from: WEB, path: '/not-x' }, verdict: 'allow' },
    { name: 'an HTTP/1 Server with routes uses them', docs: [server('api-http', 'podSelector: {matchLabels: {app: api}}\nport: http\nproxyProtocol: HTTP/1'), ALLOW_ALL_ON_SERVER, route('r', `${PARENT}\nrules: [{matches: [{path: {type: Exact, value: /x}}]}]`)], call: { from: WEB, path: '/not-x' }, verdict: 'deny', status: 404 },
  ]);
});

describe('§4.0/§4.2 attributes a record lacks: unknown, never a guess', () => {
  runCases([
    { name: 'no client IP, but every authorization covers every network: the verdict stands', docs: [SERVER_HTTP, policy('p', TO_SERVER, '[{kind: ServiceAccount, name: web}]')], call: { from: WEB, ip: null }, verdict: 'allow' },
    { name: 'no client IP, identity already fails: deny stands', docs: [SERVER_HTTP, policy('p', TO_SERVER, '[{group: policy.linkerd.io, kind: MeshTLSAuthentication, name: m}, {group: policy.linkerd.io, kind: NetworkAuthentication, name: n}]'), meshTLS('m', '{identities: ["admin.app.serviceaccount.identity.linkerd.cluster.local"]}'), network('n', '[{cidr: 10.0.0.0/8}]')], call: { from: WEB, ip: null }, verdict: 'deny' },
    { name: 'no client IP where a network decides: unknown, source.ip', docs: [SERVER_HTTP, policy('p', TO_SERVER, '[{group: policy.linkerd.io, kind: NetworkAuthentication, name: n}]'), network('n', '[{cidr: 10.0.0.0/8}]')], call: { from: null, ip: null }, verdict: 'unknown', missing: ['source.ip'] },
    { name: 'cluster-unauthenticated default and no client IP: unknown', docs: [], call: { from: null, ip: null }, verdict: 'unknown', missing: ['source.ip'], linkerd: { defaultInboundPolicy: 'cluster-unauthenticated' } },
    { name: 'no destination port, ports decided differently: unknown, destination.port', docs: [server('s', 'podSelector: {matchLabels: {app: api}}\nport: admin')], call: { from: WEB, port: undefined }, verdict: 'unknown', missing: ['destination.port'] },
    { name: 'no destination port, every port denies: deny stands', docs: [], call: { from: WEB, port: undefined }, verdict: 'deny', linkerd: { defaultInboundPolicy: 'deny' } },
    { name: 'no method where a route needs it: unknown, request.method', docs: [SERVER_HTTP, ALLOW_ALL_ON_SERVER, route('r', `${PARENT}\nrules: [{matches: [{method: GET}]}]`)], call: { from: WEB, method: undefined }, verdict: 'unknown', missing: ['request.method'] },
    { name: 'no path where every route allows the client anyway: allow stands', docs: [SERVER_HTTP, ALLOW_ALL_ON_SERVER, route('r', `${PARENT}\nrules: [{matches: [{path: {value: /a}}]}, {}]`)], call: { from: WEB, path: undefined }, verdict: 'allow' },
    { name: 'no host where a route has hostnames: unknown, request.host', docs: [SERVER_HTTP, ALLOW_ALL_ON_SERVER, route('r', `${PARENT}\nhostnames: [api.example.com]\nrules: [{}]`)], call: { from: WEB }, verdict: 'unknown', missing: ['request.host'] },
    { name: 'no protocol and no request on a detect port: decided as both, verdict stands', docs: [SERVER_HTTP, ALLOW_ALL_ON_SERVER], call: { from: WEB, protocol: undefined as unknown as 'http', noRequest: true }, verdict: 'allow' },
    { name: 'no protocol and no request, routes restrict HTTP: unknown', docs: [SERVER_HTTP, ALLOW_ALL_ON_SERVER, route('r', `${PARENT}\nrules: [{matches: [{path: {type: Exact, value: /x}}]}]`)], call: { from: WEB, protocol: undefined as unknown as 'http', noRequest: true }, verdict: 'unknown', missing: ['protocol', 'request.path'] },
    { name: 'destination pod not in the inventory, labels from the record', docs: [server('s', 'podSelector: {matchLabels: {app: api}}\nport: 8080')], call: { from: WEB, to: 'ghost', labels: { app: 'api' } }, verdict: 'deny' },
    { name: 'destination pod not in the inventory: a port name cannot be resolved', docs: [SERVER_HTTP], call: { from: WEB, to: 'ghost', labels: { app: 'api' } }, verdict: 'unknown', missing: ['destination.workload'] },
    { name: 'destination pod unknown and no labels: unknown, destination.labels', docs: [server('s', 'podSelector: {matchLabels: {app: api}}\nport: 8080')], call: { from: WEB, to: 'ghost' }, verdict: 'unknown', missing: ['destination.labels'] },
    { name: 'destination pod unknown, an empty podSelector selects it anyway', docs: [server('s', 'podSelector: {}\nport: 8080')], call: { from: WEB, to: 'ghost' }, verdict: 'deny' },
    { name: 'no destination namespace: unknown', docs: [], call: { from: WEB, ns: undefined as unknown as string, to: undefined }, verdict: 'unknown', missing: ['destination.namespace'] },
  ]);
});

// ---------------------------------------------------------------------------------------------
// Micro-benchmark: 1,000 policy resources, 100k folded shapes. Printed, not asserted.
// ---------------------------------------------------------------------------------------------

describe('micro-benchmark', () => {
  it('decides folded shapes against 1,000 policies (printed)', () => {
    // 40 namespaces x 5 workloads; per workload a Server, an HTTPRoute, an AuthorizationPolicy
    // on the route (MeshTLSAuthentication), and per namespace ... = 1,000 Linkerd resources.
    const docs: string[] = [];
    let resources = 0;
    const namespaces = 40;
    const perNs = 5;
    for (let n = 0; n < namespaces; n++) {
      const ns = `ns${n}`;
      docs.push(namespace(ns, n % 4 === 0 ? { 'config.linkerd.io/default-inbound-policy': 'deny' } : {}));
      for (let w = 0; w < perNs; w++) {
        const name = `svc${w}`;
        docs.push(deployment(name, ns, { app: name }, [{ name: 'http', port: 8080 }, { name: 'admin', port: 9990 }], { probes: [{ path: '/ready', port: 8080 }] }));
        docs.push(`apiVersion: policy.linkerd.io/v1beta3\nkind: Server\nmetadata: {name: ${name}, namespace: ${ns}}\nspec: {podSelector: {matchLabels: {app: ${name}}}, port: http}\n`);
        docs.push(`apiVersion: policy.linkerd.io/v1beta3\nkind: HTTPRoute\nmetadata: {name: ${name}-api, namespace: ${ns}}\nspec:\n  parentRefs: [{name: ${name}, kind: Server, group: policy.linkerd.io}]\n  rules:\n  - matches: [{path: {type: PathPrefix, value: /api}, method: GET}, {path: {type: RegularExpression, value: "/items/[0-9]+"}}]\n  - matches: [{path: {type: Exact, value: /ready}, method: GET}]\n`);
        docs.push(policy(`${name}-api`, `{group: policy.linkerd.io, kind: HTTPRoute, name: ${name}-api}`, `[{group: policy.linkerd.io, kind: MeshTLSAuthentication, name: ${name}-clients}]`, ns));
        docs.push(meshTLS(`${name}-clients`, `{identities: ["*.${ns}.serviceaccount.identity.linkerd.cluster.local", "${ID('gateway', 'ingress')}"]}`, ns));
        resources += 4;
      }
      for (let k = resources % 5; resources < (n + 1) * (1000 / namespaces); k++) {
        docs.push(serverAuthz(`extra${k}`, 'server: {selector: {matchLabels: {}}}\nclient: {meshTLS: {serviceAccounts: [{name: ops}]}}').replace('namespace: app', `namespace: ${ns}`));
        resources++;
      }
    }
    const set = policySet({ yaml: [docs.join('---\n')] });
    const linkerdResources = set.resources.filter((r) => r.resource.mesh === 'linkerd').length;
    let t0 = process.hrtime.bigint();
    const compiled = linkerdSimulator.compile(set);
    const compileMs = Number(process.hrtime.bigint() - t0) / 1e6;
    // 100k shapes: distinct (client, IP, destination, port, method, path) combinations.
    const shapes: AccessRecord[] = [];
    const methods = ['GET', 'POST', 'DELETE'];
    const paths = ['/api/v1/items', '/items/42', '/ready', '/admin', '/api'];
    for (let i = 0; i < 100_000; i++) {
      const n = i % namespaces;
      const w = (i >> 3) % perNs;
      const fromNs = (i * 7) % 3 === 0 ? `ns${n}` : `ns${(n + 1) % namespaces}`;
      shapes.push({
        mesh: 'linkerd', protocol: 'http',
        source: { principal: i % 11 === 0 ? null : ID(`client${i % 50}`, fromNs), ip: `10.${(i >> 16) & 255}.${(i >> 8) & 255}.${i & 255}` },
        destination: { namespace: `ns${n}`, workload: `svc${w}`, port: i % 13 === 0 ? 9990 : 8080 },
        request: { method: methods[i % 3]!, path: `${paths[(i >> 2) % 5]!}${i % 17 === 0 ? `?page=${i % 100}` : ''}` },
        observed: 'allowed',
      });
    }
    const verdicts: Record<string, number> = {};
    for (const s of shapes) {
      const v = compiled.decide(s).verdict;
      verdicts[v] = (verdicts[v] ?? 0) + 1;
    }
    // Timed passes after warm-up (the first pass above filled the per-pod caches). Measured in
    // process CPU time, so other processes on the machine do not count against one core.
    for (let i = 0; i < 2; i++) for (const s of shapes) compiled.decide(s);
    const rates: number[] = [];
    for (let round = 0; round < 5; round++) {
      const before = process.cpuUsage();
      for (const s of shapes) compiled.decide(s);
      const used = process.cpuUsage(before);
      rates.push(shapes.length / ((used.user + used.system) / 1e6));
    }
    rates.sort((a, b) => a - b);
    const perSecond = rates[2]!;
    // A reference workload measured the same way, to read the number on a busy machine:
    // JSON.stringify of each shape (a folded shape is serialized once per output line anyway).
    const refBefore = process.cpuUsage();
    let bytes = 0;
    for (const s of shapes) bytes += JSON.stringify(s).length;
    const refUsed = process.cpuUsage(refBefore);
    const reference = shapes.length / ((refUsed.user + refUsed.system) / 1e6);
    assert.ok(bytes > 0);
    t0 = process.hrtime.bigint();
    for (let i = 0; i < 2000; i++) compiled.explain(shapes[i]!);
    const explainPerSecond = 2000 / (Number(process.hrtime.bigint() - t0) / 1e9);
    console.log(`linkerd simulator: ${linkerdResources} Linkerd resources, compile ${compileMs.toFixed(1)} ms; ${shapes.length} shapes: ${JSON.stringify(verdicts)}; decide ${(perSecond / 1e6).toFixed(2)}M decisions/s per core (median of 5 passes; best ${(rates[4]! / 1e6).toFixed(2)}M); explain ${(explainPerSecond / 1e3).toFixed(1)}k/s; reference JSON.stringify(shape) ${(reference / 1e6).toFixed(2)}M/s (decide = ${(perSecond / reference).toFixed(1)}x)`);
    assert.ok(linkerdResources >= 1000);
  });
});

import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { checkGenerated, generatePolicies, withSelfCheck, type PlaintextCallers } from '../../server/src/engine/audit';
import { deniedByTokenCheck, istioExactPath, istioTemplate, templateMatches, templateRegex, TOKEN_CHECK_DENIAL } from '../../server/src/engine/audit/generate/evidence';
import { str } from '../../server/src/engine/audit/generate/yaml';
import { defaultConfig } from '../../server/src/engine/config/projectConfig';
import { emptyInventory } from '../../server/src/engine/inventory/inventory';
import { Engine } from '../../server/src/engine/engine';
import type { Mesh } from '../../server/src/engine/meshes';
import { Simulation } from '../../server/src/engine/simulate';
import { ingestTraffic, type TrafficShape } from '../../server/src/engine/traffic/ingest';
import { collectPolicyFiles } from '../../server/src/engine/workspaceFiles';
import { WorkspaceModel, type PreparedFile } from '../../server/src/engine/workspace';
import { EXAMPLES, REPO_ROOT } from '../helpers/paths';
import { scratchDir } from '../helpers/scratch';

const engine = new Engine();

function workspaceOf(paths: string[], extra?: PreparedFile): WorkspaceModel {
  const workspace = new WorkspaceModel(defaultConfig(REPO_ROOT));
  for (const path of collectPolicyFiles(paths).files) workspace.update(engine.prepare(engine.read(path, readFileSync(path, 'utf8'))));
  if (extra) workspace.update(extra);
  return workspace;
}

const pathOf = (r: TrafficShape['record']) => (r.request?.path ?? '').replace(/[?#].*$/, '');
const requestOf = (s: TrafficShape) => `${s.record.source?.principal}|${s.record.destination?.namespace}/${s.record.destination?.workload ?? s.record.destination?.service}|${s.record.destination?.port}|${s.record.request?.method ?? ''}|${pathOf(s.record)}`;

const out = scratchDir('mesh-policy-generate-');

/**
 * The key property of generation (issue #10): the generated policies, read back through the
 * normal readers and decided by the same simulators, allow every observed allowed call of an
 * identified caller, and no observed denied call (except a request also seen allowed: no
 * policy can tell those apart, and the generator lists them).
 */
const RUNS: { mesh: Mesh; includeUnknownOutcome: boolean; example?: string }[] = [
  { mesh: 'istio', includeUnknownOutcome: false },
  // ambient mode: the waypoint checks the callers of the Service (targetRefs), ztunnel admits the waypoint (L4 only)
  { mesh: 'istio', includeUnknownOutcome: false, example: 'istio-ambient' },
  // the ledger's logs carry the caller's identity; its dry-run policies decide nothing
  { mesh: 'istio', includeUnknownOutcome: false, example: 'istio-dry-run' },
  { mesh: 'linkerd', includeUnknownOutcome: false },
  // Linkerd's log does not say whether a gRPC call was authorized: --include-unknown counts the successful ones
  { mesh: 'linkerd', includeUnknownOutcome: true },
  { mesh: 'consul', includeUnknownOutcome: false },
];

for (const { mesh, includeUnknownOutcome, example = mesh } of RUNS) {
  describe(`generate ${mesh}${includeUnknownOutcome ? ' --include-unknown' : ''}: the example app's own traffic (examples/${example})`, () => {
    it('allows 100% of the observed allowed calls it counts and none of the observed denied ones', async () => {
      const inventory = workspaceOf([join(EXAMPLES, example, 'app')]);
      const traffic = await ingestTraffic([join(EXAMPLES, example, 'traffic')], { inventory: inventory.inventory, config: inventory.config, workers: 1 });
      const generated = generatePolicies(mesh, traffic.shapes, { inventory: inventory.inventory, config: inventory.config, includeUnknownOutcome });
      // what counts as allowed evidence
      const allowedEvidence = (r: TrafficShape['record']): boolean => r.observed === 'allowed' || (includeUnknownOutcome && (r.observed ?? 'unknown') === 'unknown' && (r.response?.status ?? 0) < 400);
      assert.ok(generated.resources > 0, 'some policy is generated');
      const file = join(out, `${example}${includeUnknownOutcome ? '-unknown' : ''}-generated.yaml`);
      writeFileSync(file, generated.yaml);

      // the YAML is valid for the mesh: recognized and free of lint errors
      const prepared = engine.prepare(engine.read(file, generated.yaml));
      const generatedWorkspace = workspaceOf([join(EXAMPLES, example, 'app')], prepared);
      const lint = engine.lint(prepared, generatedWorkspace);
      assert.equal(lint.resources.length, generated.resources, 'every generated document is recognized');
      assert.deepEqual(lint.findings.filter((f) => f.severity === 'error').map((f) => `${f.range.start.line + 1}: ${f.code} ${f.message}`), []);

      const simulation = new Simulation(generatedWorkspace);
      const covered = new Set(generated.summary.destinations.map((d) => d.name));
      const keyOf = (s: TrafficShape): string => {
        const dest = s.record.destination;
        if (mesh === 'linkerd') return `${dest?.namespace}/${dest?.workload}:${dest?.port}`;
        if (mesh === 'consul') return dest?.service ?? dest?.workload ?? '';
        return `${dest?.namespace}/${dest?.workload}`;
      };
      // Linkerd authorizes clients without identity (kubelet probes) by address: they are evidence
      // there; so does Istio its plaintext callers (no identity, no mTLS SNI, no caller resolved)
      const istioPlaintext = (r: TrafficShape['record']): boolean => r.source?.principal === null || (r.source?.principal === undefined && !r.sni?.startsWith('outbound_') && r.source?.workload === undefined && r.source?.namespace === undefined);
      const identified = (r: TrafficShape['record']): boolean => Boolean(r.source?.principal) || (mesh === 'linkerd' && r.source?.principal === null && r.source.ip !== undefined) || (mesh === 'istio' && istioPlaintext(r) && r.source?.ip !== undefined);
      const allowedRequests = new Set(traffic.shapes.filter((s) => allowedEvidence(s.record) && identified(s.record)).map(requestOf));
      let counted = 0;
      let deniedChecked = 0;
      const notAllowed: string[] = [];
      const wronglyAllowed: string[] = [];
      for (const shape of traffic.shapes) {
        const r = shape.record;
        const decision = simulation.decide(r);
        if (allowedEvidence(r) && identified(r) && covered.has(keyOf(shape))) {
          counted += shape.count;
          if (decision.verdict !== 'allow') notAllowed.push(`${requestOf(shape)}: ${decision.verdict} (${decision.reason})`);
        }
        if (r.observed === 'denied' && !deniedByTokenCheck(r) && covered.has(keyOf(shape))) {
          deniedChecked += shape.count;
          // a request identical to an observed allowed one cannot be denied by any policy
          if (decision.verdict === 'allow' && !allowedRequests.has(requestOf(shape))) wronglyAllowed.push(`${requestOf(shape)}: ${decision.reason}`);
        }
      }
      assert.deepEqual(notAllowed, [], 'every counted allowed call is allowed');
      assert.deepEqual(wronglyAllowed, [], 'no observed denied call is allowed');
      assert.equal(counted, generated.summary.counted, 'the summary counts the calls the test counts');
      assert.ok(deniedChecked > 0, 'the example has denied calls to the covered destinations');
      assert.equal(deniedChecked, generated.summary.denied);

      // every call is accounted for: allowed and counted, skipped with a reason (a token check's 401 too), or denied
      const skipped = generated.summary.skipped.reduce((sum, s) => sum + s.calls, 0);
      const denied = traffic.shapes.filter((s) => s.record.observed === 'denied' && !deniedByTokenCheck(s.record)).reduce((sum, s) => sum + s.count, 0);
      assert.equal(counted + skipped + denied, traffic.stats.calls);
      if (mesh === 'linkerd') {
        // the kubelet's probes of web, from the node addresses, keep working once web has a Server with routes
        const probes = traffic.shapes.filter((s) => s.record.request?.path === '/healthz' && s.record.observed === 'allowed' && s.record.destination?.workload === 'web');
        assert.equal(probes.reduce((sum, s) => sum + s.count, 0), 360);
        for (const probe of probes) assert.equal(simulation.decide(probe.record).verdict, 'allow', requestOf(probe));
        assert.match(generated.yaml, /kind: NetworkAuthentication[^]*- cidr: 10\.42\.1\.1\/32[^]*- cidr: 10\.42\.2\.1\/32/);
      }
      if (includeUnknownOutcome) assert.ok(generated.summary.destinations.some((d) => d.name === 'emojivoto/emoji:8080'), 'the gRPC calls to emoji are evidence');
      // denied calls to destinations with no generated policy are listed
      const unprotected = generated.summary.unprotectedDenied.reduce((sum, u) => sum + u.calls, 0);
      assert.equal(unprotected, denied - deniedChecked);
    });
  });
}

describe('generate: why calls without a caller identity are skipped', () => {
  const NO_POD_IPS = 'no caller identity in the line, and the inventory has no pod IPs';
  const shape = (count: number, source: NonNullable<TrafficShape['record']['source']>, resolved: Partial<Pick<TrafficShape, 'sourceBy' | 'unresolvedSource'>>): TrafficShape => ({
    count, samples: [], sourceBy: resolved.sourceBy ?? {}, destinationBy: { shipper: count }, joined: 0,
    ...(resolved.unresolvedSource ? { unresolvedSource: resolved.unresolvedSource } : {}),
    record: { mesh: 'istio', protocol: 'http', source, destination: { namespace: 'shop', workload: 'cart', port: 7070, labels: { app: 'cart' } }, request: { method: 'GET', path: '/v1/carts/1' }, observed: 'allowed' },
  });
  const shapes = [
    // the frontend found by its client-side line, without its service account
    shape(12, { namespace: 'shop', workload: 'frontend', ip: '10.244.1.11', principalUnknown: true }, { sourceBy: { join: 12 } }),
    // a scraper ingest could not resolve
    shape(7, { ip: '10.244.5.9', principalUnknown: true }, { sourceBy: { unresolved: 7 }, unresolvedSource: { [NO_POD_IPS]: 7 } }),
    shape(3, { ip: '10.244.5.10', principal: null }, { sourceBy: { line: 3 } }),
    // an access record without any of it
    shape(2, { ip: '10.244.5.11' }, {}),
    // a pod the inventory knows, with its service account, in a namespace not marked for injection
    shape(5, { namespace: 'legacy', workload: 'batch', serviceAccount: 'batch', ip: '10.244.6.2' }, { sourceBy: { ip: 5 } }),
  ];
  const cases: { name: string; present: boolean; expected: [string, number][] }[] = [
    {
      name: 'without an inventory', present: false, expected: [
        ['caller workload known, but not its identity (its service account): give --inventory', 17],
        [`caller not resolved: ${NO_POD_IPS}`, 7],
        ['plaintext caller (no client certificate, so no identity to allow)', 3],
        ['no caller identity in the log', 2],
      ],
    },
    {
      name: 'with an inventory that lacks the caller', present: true, expected: [
        ['caller workload known, but not its identity: the inventory names no service account for it', 12],
        [`caller not resolved: ${NO_POD_IPS}`, 7],
        ['caller workload and service account known, but the inventory does not say it runs the mesh proxy (no injection label or annotation on its namespace or pod), so not its identity', 5],
        ['plaintext caller (no client certificate, so no identity to allow)', 3],
        ['no caller identity in the log', 2],
      ],
    },
  ];
  for (const c of cases) {
    it(c.name, () => {
      const inventory = { ...emptyInventory(), present: c.present };
      // (--plaintext-callers none: the scraper and the plaintext caller would be allowed by address otherwise)
      const generated = generatePolicies('istio', shapes, { inventory, plaintextCallers: 'none' });
      assert.deepEqual(generated.summary.skipped.map((s) => [s.reason, s.calls]), c.expected);
    });
  }

  it('istio examples without --inventory: the joined calls are skipped for want of the callers\' service accounts', async () => {
    const traffic = await ingestTraffic([join(EXAMPLES, 'istio', 'traffic')], { config: defaultConfig(REPO_ROOT), workers: 1 });
    const generated = generatePolicies('istio', traffic.shapes, { inventory: emptyInventory(), plaintextCallers: 'none' });
    const allowed = traffic.shapes.filter((s) => s.record.observed === 'allowed');
    const callsOf = (list: TrafficShape[]) => list.reduce((sum, s) => sum + s.count, 0);
    const byReason = Object.fromEntries(generated.summary.skipped.map((s) => [s.reason, s.calls]));
    assert.deepEqual(byReason, {
      'caller workload known, but not its identity (its service account): give --inventory': callsOf(allowed.filter((s) => s.record.source?.workload !== undefined)),
      [`caller not resolved: ${NO_POD_IPS}`]: callsOf(allowed.filter((s) => s.record.source?.workload === undefined)),
      // the gateway's 401s: RequestAuthentication shop/shopper-jwt refused their tokens
      [TOKEN_CHECK_DENIAL]: 13,
    });
    assert.ok(byReason['caller workload known, but not its identity (its service account): give --inventory']! > 0);
  });
});

describe('generate: secrets from the logs', () => {
  const JWT = 'eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJhbGljZSJ9.c2lnbmF0dXJl';
  const shape = (mesh: Mesh, path: string, principal?: string): TrafficShape => ({
    count: 720, samples: [], sourceBy: {}, destinationBy: {}, joined: 0,
    record: {
      mesh, protocol: 'http', source: { ip: '10.244.5.9', ...(principal ? { principal } : {}) },
      destination: { namespace: 'shop', workload: 'payments', service: 'payments', port: 9102, labels: { app: 'payments' } },
      request: { method: 'GET', path, headers: { authorization: `Bearer ${JWT}` } }, observed: 'allowed',
    },
  });
  const callers: Record<Mesh, string> = {
    istio: 'cluster.local/ns/shop/sa/frontend',
    linkerd: 'frontend.shop.serviceaccount.identity.linkerd.cluster.local',
    consul: 'spiffe://7d4e.consul/ns/default/dc/dc1/svc/frontend',
  };
  for (const mesh of ['istio', 'linkerd', 'consul'] as const) {
    it(`${mesh}: credentials in the calls' paths are [redacted] in what it writes, and a path that carries one gets no rule`, () => {
      const generated = generatePolicies(mesh, [
        shape(mesh, '/metrics?access_token=TOKSECRET&api_key=KEYSECRET2'),
        shape(mesh, `/verify/${JWT}`, callers[mesh]),
        shape(mesh, '/v1/charges?access_token=TOKSECRET', callers[mesh]),
      ], { config: defaultConfig(REPO_ROOT), plaintextCallers: 'none' });
      const text = `${generated.yaml}\n${JSON.stringify(generated.summary)}`;
      for (const secret of ['TOKSECRET', 'KEYSECRET2', JWT]) assert.ok(!text.includes(secret), `${secret} is written:\n${generated.yaml}`);
      assert.match(generated.yaml, /GET \/metrics\?access_token=\[redacted\]&api_key=\[redacted\]/);
      assert.deepEqual(generated.summary.skipped.map((s) => [s.reason.startsWith('the path carries a credential'), s.calls]).filter(([credential]) => credential), [[true, 720]]);
      assert.match(generated.yaml, /\/v1\/charges/, 'the call without a credential in its path is allowed');
    });
  }
});

describe('generate: path templates', () => {
  it('matches one whole segment, as Istio {*} does', () => {
    const cases: [string, string, boolean][] = [
      ['/v1/carts/{*}', '/v1/carts/c1', true],
      ['/v1/carts/{*}', '/v1/carts/', false],
      ['/v1/carts/{*}', '/v1/carts/c1/items', false],
      ['/v1/carts/{*}/items', '/v1/carts/c1/items', true],
      ['/v1/carts/{*}/items', '/v1/carts/c1/other', false],
    ];
    for (const [template, path, expected] of cases) assert.equal(templateMatches(template, path), expected, `${template} ${path}`);
  });

  it('writes templates as RE2 with the literal parts escaped', () => {
    assert.equal(templateRegex('/v1.0/carts/{*}/items'), '/v1\\.0/carts/[^/]+/items');
  });

  it('generalizes only with enough evidence, and never over a denied call of the same caller', () => {
    const shape = (path: string, observed: 'allowed' | 'denied', principal = 'cluster.local/ns/shop/sa/frontend'): TrafficShape => ({
      count: 1, samples: [], sourceBy: {}, destinationBy: {}, joined: 0,
      record: { mesh: 'istio', protocol: 'http', source: { principal }, destination: { namespace: 'shop', workload: 'cart', port: 7070, labels: { app: 'cart' } }, request: { method: 'GET', path }, observed },
    });
    const two = generatePolicies('istio', [shape('/items/a', 'allowed'), shape('/items/b', 'allowed')]);
    assert.match(two.yaml, /- \/items\/a/);
    assert.doesNotMatch(two.yaml, /"\/items\/\{\*\}"/);
    const three = generatePolicies('istio', [shape('/items/a', 'allowed'), shape('/items/b', 'allowed'), shape('/items/c?x=1', 'allowed')]);
    assert.match(three.yaml, /"\/items\/\{\*\}"  # 3 distinct paths, 3 calls/);
    const blocked = generatePolicies('istio', [shape('/items/a', 'allowed'), shape('/items/b', 'allowed'), shape('/items/c', 'allowed'), shape('/items/secret', 'denied')]);
    assert.doesNotMatch(blocked.yaml, /"\/items\/\{\*\}"/);
    // a denial of another caller does not block it: the rule requires the frontend's identity
    const other = generatePolicies('istio', [shape('/items/a', 'allowed'), shape('/items/b', 'allowed'), shape('/items/c', 'allowed'), shape('/items/secret', 'denied', 'cluster.local/ns/shop/sa/intruder')]);
    assert.match(other.yaml, /"\/items\/\{\*\}"/);
  });

  it('quotes scalars YAML would read differently', () => {
    assert.equal(str('/v1/carts'), '/v1/carts');
    assert.equal(str('*'), '"*"');
    assert.equal(str('7070'), '"7070"');
    assert.equal(str('true'), '"true"');
    assert.equal(str('/a/{*}'), '"/a/{*}"');
    assert.equal(str('a: b'), '"a: b"');
  });
});

describe('generate: the self-check decides the observed calls again with the generated policies', () => {
  for (const mesh of ['istio', 'linkerd', 'consul'] as const) {
    it(`${mesh}: counts, per destination, the observed allowed calls the policies would deny, with why`, async () => {
      const inventory = workspaceOf([join(EXAMPLES, mesh, 'app')]);
      const traffic = await ingestTraffic([join(EXAMPLES, mesh, 'traffic')], { inventory: inventory.inventory, config: inventory.config, workers: 1 });
      const options = { inventory: inventory.inventory, config: inventory.config };
      const generated = generatePolicies(mesh, traffic.shapes, options);
      const check = await checkGenerated(generated, traffic.shapes, inventory, { ...options, path: join(out, `${mesh}-self-check.yaml`) });
      // the observed denied calls they would allow are the conflicts (allowed on purpose) and
      // the calls to destinations that got no policy, as the header lists them
      const conflicted = generated.summary.conflicts.reduce((sum, c) => sum + c.denied, 0);
      const unprotected = new Set(generated.summary.unprotectedDenied.map((u) => u.destination));
      const allowedConflicts = check.allowedDestinations.filter((d) => !unprotected.has(d.destination)).reduce((sum, d) => sum + d.calls, 0);
      assert.equal(allowedConflicts, conflicted, JSON.stringify(check.allowedDestinations));
      assert.ok(check.allowedDestinations.filter((d) => unprotected.has(d.destination)).every((d) => d.calls <= generated.summary.unprotectedDenied.find((u) => u.destination === d.destination)!.calls));
      if (mesh !== 'istio') {
        assert.deepEqual([check.denied, check.destinations], [0, []]);
        if (check.allowed === 0) assert.equal(withSelfCheck(generated, check).yaml, generated.yaml);
        return;
      }
      // the gateway's 84 observed denials, less the 13 that RequestAuthentication shop/shopper-jwt
      // refused (401: invalid token), which it still refuses whatever the authorization policies
      assert.deepEqual(check.allowedDestinations.map((d) => [d.destination, d.calls]), [['shop/shop-gateway-istio', 71], ['shop/frontend', 10]]);
      // Prometheus scrapes payments' metrics port (PERMISSIVE: no PeerAuthentication here, Istio's
      // default) in plaintext: allowed by its address. Left: the back office's refunds, which
      // came over mutual TLS (SNI outbound_…) from an identity the log does not give.
      const scrapes = traffic.shapes.filter((s) => s.record.observed === 'allowed' && s.record.destination?.port === 9102 && !s.record.source?.principal);
      assert.equal(scrapes.reduce((sum, s) => sum + s.count, 0), 720);
      assert.match(generated.yaml, /ipBlocks:\n {14}- 10\.244\.5\.9\/32 {2}# 720 calls\n {6}to:\n {8}- operation: {2}# 720 calls\n {12}ports:\n {14}- "9102"\n {12}methods:\n {14}- GET\n {12}paths:\n {14}- \/metrics/);
      const unnamed = traffic.shapes.filter((s) => s.record.observed === 'allowed' && s.record.destination?.workload === 'payments' && !s.record.source?.principal && s.record.sni?.startsWith('outbound_'));
      assert.ok(unnamed.every((s) => s.record.destination?.port === 9090 && s.record.request?.path?.startsWith('/v1/refunds')));
      const calls = unnamed.reduce((sum, s) => sum + s.count, 0);
      assert.equal(calls, 50);
      assert.equal(check.denied, calls, JSON.stringify(check.destinations));
      assert.deepEqual(check.destinations.map((d) => [d.destination, d.calls]), [['shop/payments', 50]]);
      assert.ok(check.destinations[0]!.reasons.every((r) => r.reason.startsWith('caller not resolved')), JSON.stringify(check.destinations[0]!.reasons));
      const yaml = withSelfCheck(generated, check).yaml;
      assert.match(yaml.slice(0, yaml.indexOf('\n---')), /# Self-check: these policies would deny 50 calls the logs show allowed[^]*#   shop\/payments: 50 observed allowed calls would be denied/);
    });
  }

  it('istio: no observed allowed plaintext call to a PERMISSIVE port is left for the self-check to deny', async () => {
    const inventory = workspaceOf([join(EXAMPLES, 'istio', 'app')]);
    const traffic = await ingestTraffic([join(EXAMPLES, 'istio', 'traffic')], { inventory: inventory.inventory, config: inventory.config, workers: 1 });
    const peerAuthentications = workspaceOf([join(EXAMPLES, 'istio', 'security', 'peer-authentication.yaml')]).resources.filter((r) => r.resource.kind === 'PeerAuthentication');
    assert.equal(peerAuthentications.length, 2);
    const options = { inventory: inventory.inventory, config: inventory.config, peerAuthentications };
    const generated = generatePolicies('istio', traffic.shapes, options);
    const check = await checkGenerated(generated, traffic.shapes, inventory, { ...options, path: join(out, 'istio-plaintext-self-check.yaml') });
    // with payments' PeerAuthentication (9102 PERMISSIVE, 9090 STRICT) the scrapes are still allowed by address
    assert.match(generated.yaml, /- 10\.244\.5\.9\/32 {2}# 720 calls/);
    assert.deepEqual(check.destinations.map((d) => [d.destination, d.calls]), [['shop/payments', 50]], 'only the refunds over mutual TLS from an identity the log does not give');
  });
});

describe('generate --plaintext-callers: Istio plaintext callers to a port that accepts plaintext', () => {
  const call = (ip: string, port: number, path: string, count: number, principal: string | null = null, observed: 'allowed' | 'denied' = 'allowed'): TrafficShape => ({
    count, samples: [], sourceBy: {}, destinationBy: {}, joined: 0,
    record: { mesh: 'istio', protocol: 'http', source: { principal, ip }, destination: { namespace: 'shop', workload: 'payments', port, labels: { app: 'payments' } }, request: { method: 'GET', path }, observed },
  });
  const FRONTEND = 'cluster.local/ns/shop/sa/frontend';
  const shapes = [call('10.244.5.9', 9102, '/metrics', 30), call('10.244.1.11', 9090, '/v1/charges', 12, FRONTEND)];
  // another plaintext client, never seen: admitted only when every plaintext client is
  const stranger = call('10.244.9.99', 9102, '/metrics', 1).record;
  const cases: { mode: PlaintextCallers; yaml: RegExp[]; notYaml: RegExp[]; counted: number; selfCheckDenied: number; stranger: 'allow' | 'deny' }[] = [
    {
      mode: 'ip', counted: 42, selfCheckDenied: 0, stranger: 'deny',
      yaml: [/- from:\n {8}- source: {2}# plaintext callers \(no peer identity\), by address\n {12}ipBlocks:\n {14}- 10\.244\.5\.9\/32 {2}# 30 calls\n {6}to:\n {8}- operation: {2}# 30 calls\n {12}ports:\n {14}- "9102"/],
      notYaml: [/WARNING/],
    },
    {
      mode: 'any', counted: 42, selfCheckDenied: 0, stranger: 'allow',
      yaml: [/# WARNING \(--plaintext-callers any\): no from: any plaintext client that reaches port 9102 \(and any mTLS caller\) is admitted for these requests, not only 10\.244\.5\.9\n {4}- to:\n {8}- operation: {2}# 30 calls\n {12}ports:\n {14}- "9102"/],
      notYaml: [/ipBlocks/],
    },
    {
      mode: 'none', counted: 12, selfCheckDenied: 30, stranger: 'deny',
      yaml: [/# {3}30 calls: plaintext caller \(no client certificate, so no identity to allow\)/],
      notYaml: [/ipBlocks/, /WARNING/],
    },
  ];
  for (const c of cases) {
    it(`${c.mode}: ${c.mode === 'ip' ? 'an ipBlocks rule of the observed addresses' : c.mode === 'any' ? 'a rule without from, and a warning' : 'skipped, and the self-check reports them'}`, async () => {
      const generated = generatePolicies('istio', shapes, { plaintextCallers: c.mode });
      for (const pattern of c.yaml) assert.match(generated.yaml, pattern);
      for (const pattern of c.notYaml) assert.doesNotMatch(generated.yaml, pattern);
      assert.equal(generated.summary.counted, c.counted);
      const workspace = new WorkspaceModel(defaultConfig(REPO_ROOT));
      const check = await checkGenerated(generated, shapes, workspace, { path: join(out, `plaintext-${c.mode}.yaml`) });
      assert.equal(check.denied, c.selfCheckDenied, JSON.stringify(check.destinations));
      assert.equal(new Simulation(workspace).decide(stranger).verdict, c.stranger);
      // the identified caller keeps its own rule whatever the mode
      assert.match(generated.yaml, /principals:\n {14}- cluster\.local\/ns\/shop\/sa\/frontend {2}# 12 calls/);
    });
  }

  it('STRICT port: plaintext calls could not have happened as such: no rule by address, and a note', () => {
    const peerAuthentication = `apiVersion: security.istio.io/v1
kind: PeerAuthentication
metadata:
  name: payments
  namespace: shop
spec:
  selector:
    matchLabels:
      app: payments
  mtls:
    mode: STRICT
  portLevelMtls:
    9102:
      mode: PERMISSIVE
`;
    const file = join(out, 'strict-peer-authentication.yaml');
    writeFileSync(file, peerAuthentication);
    const workspace = new WorkspaceModel(defaultConfig(REPO_ROOT));
    workspace.update(engine.prepare(engine.read(file, peerAuthentication)));
    const generated = generatePolicies('istio', [...shapes, call('10.244.7.40', 9090, '/v1/refunds', 7)], { peerAuthentications: workspace.resources });
    assert.match(generated.yaml, /- 10\.244\.5\.9\/32 {2}# 30 calls/, 'the PERMISSIVE metrics port still admits its scraper');
    assert.doesNotMatch(generated.yaml, /- 10\.244\.7\.40/);
    assert.deepEqual(generated.summary.skipped.map((s) => [s.reason, s.calls]), [
      ['plaintext caller to port 9090, where mTLS is STRICT: under STRICT the proxy rejects plaintext, so the call carried an identity the log does not give; no rule by address', 7],
    ]);
  });

  it('a caller over mutual TLS whose identity the log does not give is no plaintext caller', () => {
    const mtls = call('10.244.7.40', 9102, '/metrics', 4);
    mtls.record.source = { ip: '10.244.7.40', principalUnknown: true };
    mtls.record.sni = 'outbound_.9102_._.payments.shop.svc.cluster.local';
    const generated = generatePolicies('istio', [mtls]);
    assert.doesNotMatch(generated.yaml, /ipBlocks/);
    assert.deepEqual(generated.summary.skipped.map((s) => s.calls), [4]);
  });
});

describe('generate: a destination every observed call to was denied gets a policy that allows nothing', () => {
  const denied = (mesh: Mesh, principal: string | null, observed: 'allowed' | 'denied' = 'denied', count = 5): TrafficShape => ({
    count, samples: [], sourceBy: {}, destinationBy: {}, joined: 0,
    record: {
      mesh, protocol: 'http', source: { principal, ...(principal === null ? { ip: '10.0.0.9' } : {}) },
      destination: { namespace: 'shop', workload: 'ledger', service: 'ledger', port: 8080, labels: { app: 'ledger' } },
      request: { method: 'POST', path: '/entries' }, observed,
    },
  });
  const CALLERS: Record<Mesh, string> = {
    istio: 'cluster.local/ns/shop/sa/frontend',
    linkerd: 'frontend.shop.serviceaccount.identity.linkerd.cluster.local',
    consul: 'spiffe://example.consul/ns/default/dc/dc1/svc/frontend',
  };
  const RESOURCES: Record<Mesh, RegExp> = {
    istio: /kind: AuthorizationPolicy\n[^]*action: ALLOW\n(?![^]*rules:)/,
    linkerd: /kind: Server\n[^]*port: 8080\n(?![^]*kind: (AuthorizationPolicy|HTTPRoute))/,
    // the record's destination is in Consul namespace shop (Enterprise): the entry names it, and its wildcard deny every namespace
    consul: /kind: ServiceIntentions\n[^]*destination:\n {4}name: ledger\n {4}namespace: shop\n {2}sources:\n {4}- name: "\*" {2}# every other service, in every namespace\n {6}namespace: "\*"\n {6}action: deny\n$/,
  };
  for (const mesh of ['istio', 'linkerd', 'consul'] as const) {
    it(`${mesh}: allow-nothing, and the self-check finds every denied call still denied`, async () => {
      const shapes = [denied(mesh, CALLERS[mesh]), denied(mesh, null, 'denied', 2)];
      const generated = generatePolicies(mesh, shapes);
      assert.equal(generated.resources, 1, generated.yaml);
      assert.match(generated.yaml, RESOURCES[mesh]);
      assert.match(generated.yaml, /# Allow nothing: .*ledger.* \(every call observed to it was denied\)/);
      assert.deepEqual(generated.summary.unprotectedDenied, []);
      assert.equal(generated.summary.denied, 7);
      const workspace = new WorkspaceModel(defaultConfig(REPO_ROOT));
      const check = await checkGenerated(generated, shapes, workspace, { path: join(out, `${mesh}-closed.yaml`) });
      assert.deepEqual([check.denied, check.allowed], [0, 0]);
    });

    it(`${mesh}: not when a call to it may have been allowed, though no policy could name its caller`, () => {
      // an ingress gateway's external clients have no identity: allowing nothing would cut them off
      const shapes = [denied(mesh, CALLERS[mesh]), denied(mesh, undefined as unknown as null, 'allowed', 40)];
      delete (shapes[1]!.record.source as { principal?: unknown }).principal;
      const generated = generatePolicies(mesh, shapes);
      assert.equal(generated.resources, 0, generated.yaml);
      assert.deepEqual(generated.summary.unprotectedDenied.map((u) => [u.calls, u.reason]), [[5, 'its other 40 calls may have been allowed but name no caller a policy can allow, so no allow-nothing policy either']]);
    });
  }
});

describe('generate istio: a caller with HTTP requests and TCP connections to one workload', () => {
  // Istio drops an ALLOW rule with an HTTP attribute (methods, paths) as a whole on a TCP filter
  // chain, even when another operation of the same rule names only ports.
  const SLEEP = 'cluster.local/ns/foo/sa/sleep';
  const shape = (port: number, request?: { method: string; path: string }, observed: 'allowed' | 'denied' = 'allowed'): TrafficShape => ({
    count: 1, samples: [], sourceBy: {}, destinationBy: {}, joined: 0,
    record: { mesh: 'istio', protocol: request ? 'http' : 'tcp', source: { principal: SLEEP, ip: '10.0.0.5' }, destination: { namespace: 'foo', workload: 'httpbin', port, labels: { app: 'httpbin' } }, ...(request ? { request } : {}), observed },
  });
  const observed = [shape(8080, { method: 'GET', path: '/users' }), shape(5432), shape(8080, { method: 'POST', path: '/admin' }, 'denied')];
  const cases: { call: TrafficShape['record']; verdict: 'allow' | 'deny' }[] = [
    { call: shape(5432).record, verdict: 'allow' },
    { call: shape(8080, { method: 'GET', path: '/users' }).record, verdict: 'allow' },
    { call: shape(8080, { method: 'POST', path: '/admin' }).record, verdict: 'deny' },
    { call: shape(8080, { method: 'GET', path: '/other' }).record, verdict: 'deny' },
    { call: shape(6379).record, verdict: 'deny' },
  ];
  it('the connections get a rule without HTTP attributes, so they stay allowed', async () => {
    const generated = generatePolicies('istio', observed, {});
    const workspace = new WorkspaceModel(defaultConfig(REPO_ROOT));
    const check = await checkGenerated(generated, observed, workspace, { path: join(out, 'istio-http-and-tcp.yaml') });
    assert.equal(check.denied, 0, JSON.stringify(check.destinations));
    const simulation = new Simulation(workspace);
    for (const c of cases) assert.equal(simulation.decide(c.call).verdict, c.verdict, `${c.call.destination?.port} ${c.call.request?.method ?? 'TCP'} ${c.call.request?.path ?? ''}`);
  });
});

describe('generate consul: a calling service in another Consul namespace or partition', () => {
  // A source without namespace or partition is the destination entry's own (spec: Consul
  // intention sources; the SPIFFE ID spiffe://<td>[/ap/<partition>]/ns/<ns>/dc/<dc>/svc/<name>).
  const principal = (svc: string, ns: string, ap?: string) => `spiffe://abc.consul${ap ? `/ap/${ap}` : ''}/ns/${ns}/dc/dc1/svc/${svc}`;
  const shape = (p: string, observed: 'allowed' | 'denied'): TrafficShape => ({
    count: 1, samples: [], sourceBy: {}, destinationBy: {}, joined: 0,
    record: { mesh: 'consul', protocol: 'tcp', source: { principal: p, service: 'web' }, destination: { service: 'db', namespace: 'default', port: 20000 }, observed },
  });
  const observed = [shape(principal('web', 'team2'), 'allowed'), shape(principal('web', 'ops', 'east'), 'allowed'), shape(principal('web', 'default'), 'denied')];
  const cases: { principal: string; verdict: 'allow' | 'deny' }[] = [
    { principal: principal('web', 'team2'), verdict: 'allow' },
    { principal: principal('web', 'ops', 'east'), verdict: 'allow' },
    { principal: principal('web', 'default'), verdict: 'deny' },
  ];
  it('names the source\'s namespace and partition, so that the same name elsewhere is not allowed', async () => {
    const generated = generatePolicies('consul', observed, {});
    assert.match(generated.yaml, /- name: "web" {2}# 1 call\n {6}namespace: ops\n {6}partition: east\n {6}action: allow/);
    assert.match(generated.yaml, /- name: "web" {2}# 1 call\n {6}namespace: team2\n {6}action: allow/);
    const workspace = new WorkspaceModel(defaultConfig(REPO_ROOT));
    const check = await checkGenerated(generated, observed, workspace, { path: join(out, 'consul-namespaces.yaml') });
    assert.deepEqual([check.denied, check.allowed], [0, 0], JSON.stringify([check.destinations, check.allowedDestinations]));
    const simulation = new Simulation(workspace);
    for (const c of cases) assert.equal(simulation.decide(shape(c.principal, 'allowed').record).verdict, c.verdict, c.principal);
  });

  // consul-k8s writes spec.destination.namespace as the entry's namespace (ToConsul; when unset,
  // DefaultNamespaceFields takes the namespace the resource is applied to); Consul gives a source
  // without a namespace the entry's own, and a `*` source name covers one namespace unless the
  // namespace is `*` too (precedence table: source `*`/`*` is 7, `ns`/`*` is 8).
  const call = (p: string, namespace: string, observed: 'allowed' | 'denied'): TrafficShape => ({
    count: 1, samples: [], sourceBy: {}, destinationBy: {}, joined: 0,
    record: { mesh: 'consul', protocol: 'tcp', source: { principal: p }, destination: { service: 'api', namespace, port: 20000 }, observed },
  });
  const teamA = [
    call(principal('web', 'default'), 'team-a', 'allowed'),
    call(principal('batch', 'team-a'), 'team-a', 'allowed'),
    call(principal('evil', 'team-b'), 'team-a', 'denied'),
    call(principal('evil2', 'team-a'), 'team-a', 'denied'),
    call(principal('web', 'default'), 'default', 'allowed'),
  ];
  const teamACases: [TrafficShape, 'allow' | 'deny'][] = [
    [call(principal('web', 'default'), 'team-a', 'allowed'), 'allow'],
    [call(principal('batch', 'team-a'), 'team-a', 'allowed'), 'allow'],
    [call(principal('evil', 'team-b'), 'team-a', 'allowed'), 'deny'],
    [call(principal('evil2', 'team-a'), 'team-a', 'allowed'), 'deny'],
    [call(principal('other', 'team-c'), 'team-a', 'allowed'), 'deny'],
    [call(principal('web', 'default'), 'default', 'allowed'), 'allow'],
    [call(principal('batch', 'team-a'), 'default', 'allowed'), 'deny'],
  ];
  it('a destination in another Consul namespace: the entry names it, and the wildcard deny covers every namespace', async () => {
    const generated = generatePolicies('consul', teamA, {});
    assert.match(generated.yaml, /destination:\n {4}name: api\n {4}namespace: team-a\n/);
    assert.match(generated.yaml, /destination:\n {4}name: api\n {4}namespace: default\n/);
    assert.match(generated.yaml, /- name: "web" {2}# 1 call\n {6}namespace: default\n {6}action: allow/);
    assert.match(generated.yaml, /- name: "\*" {2}# every other service, in every namespace\n {6}namespace: "\*"\n {6}action: deny/);
    const workspace = new WorkspaceModel(defaultConfig(REPO_ROOT));
    const check = await checkGenerated(generated, teamA, workspace, { path: join(out, 'consul-destination-namespace.yaml') });
    assert.deepEqual([check.denied, check.allowed], [0, 0], JSON.stringify([check.destinations, check.allowedDestinations]));
    const simulation = new Simulation(workspace);
    for (const [c, verdict] of teamACases) assert.equal(simulation.decide(c.record).verdict, verdict, `${c.record.source?.principal} → ${c.record.destination?.namespace}/api`);
  });
});

describe('generate istio: calls a RequestAuthentication refused (JWT, 401) are no evidence against a rule', () => {
  // Envoy's jwt_authn filter, which an Istio RequestAuthentication configures, answers an invalid
  // token with 401 before the RBAC filter runs, whatever the AuthorizationPolicies say: the same
  // request with a valid token was allowed, so it is no conflict, and the RequestAuthentication,
  // not the generated rule, keeps refusing it.
  const SLEEP = 'cluster.local/ns/foo/sa/sleep';
  const shape = (observed: 'allowed' | 'denied', count: number): TrafficShape => ({
    count, samples: [], sourceBy: {}, destinationBy: {}, joined: 0,
    record: {
      mesh: 'istio', protocol: 'http', source: { principal: SLEEP }, destination: { namespace: 'foo', workload: 'httpbin', port: 8080, labels: { app: 'httpbin' } },
      request: { method: 'GET', path: '/a', jwt: { valid: observed === 'allowed' } },
      response: observed === 'allowed' ? { status: 200 } : { status: 401, details: 'jwt_authn_access_denied{Jwt_verification_fails}' }, observed,
    },
  });
  it('lists no conflict, counts the 401s apart, and the self-check does not say the policies would allow them', async () => {
    const observed = [shape('allowed', 10), shape('denied', 3)];
    const generated = generatePolicies('istio', observed, {});
    assert.deepEqual(generated.summary.conflicts, []);
    assert.equal(generated.summary.counted, 10);
    assert.equal(generated.summary.denied, 0);
    assert.deepEqual(generated.summary.skipped.map((s) => [s.calls, s.reason]), [[3, TOKEN_CHECK_DENIAL]]);
    const workspace = new WorkspaceModel(defaultConfig(REPO_ROOT));
    const check = await checkGenerated(generated, observed, workspace, { path: join(out, 'istio-jwt-401.yaml') });
    assert.deepEqual([check.denied, check.allowed], [0, 0], JSON.stringify(check.allowedDestinations));
  });
  it('consul: the JWT requirement is part of the intentions generate replaces, so a 401 stays a conflict', () => {
    const consul = (s: TrafficShape): TrafficShape => ({ ...s, record: { ...s.record, mesh: 'consul', source: { principal: 'spiffe://abc.consul/ns/default/dc/dc1/svc/sleep' }, destination: { service: 'httpbin', namespace: 'default', port: 20000 } } });
    const generated = generatePolicies('consul', [consul(shape('allowed', 10)), consul(shape('denied', 3))], {});
    assert.deepEqual(generated.summary.conflicts.map((c) => [c.allowed, c.denied]), [[10, 3]]);
  });
});

describe('generate istio: paths Istio cannot name exactly', () => {
  // Istio reads a `*` at either end of a path as a prefix, suffix or presence match, and istiod
  // rejects a path with `{` or `}` beyond `{*}`/`{**}`, or a template literal segment that is
  // empty or holds other characters than a URI template literal may (e.g. `*`).
  const exact: [string, boolean][] = [['/files/a', true], ['/a*b/c', true], ['/files/*', false], ['/a/b*', false], ['*', false], ['/q/{id}', false], ['/q/}', false]];
  for (const [path, expected] of exact) it(`istioExactPath(${JSON.stringify(path)}) is ${expected}`, () => assert.equal(istioExactPath(path), expected));
  const templates: [string, boolean][] = [['/v1/carts/{*}', true], ['/v1/{*}/items', true], ['/v1/carts/{*}/', true], ['/a*b/{*}', false], ['/a//{*}', false], ['/a b/{*}', false]];
  for (const [template, expected] of templates) it(`istioTemplate(${JSON.stringify(template)}) is ${expected}`, () => assert.equal(istioTemplate(template), expected));

  const SLEEP = 'cluster.local/ns/foo/sa/sleep';
  const shape = (path: string, observed: 'allowed' | 'denied' = 'allowed'): TrafficShape => ({
    count: 1, samples: [], sourceBy: {}, destinationBy: {}, joined: 0,
    record: { mesh: 'istio', protocol: 'http', source: { principal: SLEEP, ip: '10.0.0.5' }, destination: { namespace: 'foo', workload: 'httpbin', port: 8080, labels: { app: 'httpbin' } }, request: { method: 'GET', path }, observed },
  });
  it('a literal `*` path is skipped, not written as a prefix, and a template istiod would reject is not made', async () => {
    const observed = [shape('/files/*'), shape('/files/a'), shape('/files/b', 'denied'), shape('/q/{id}'), shape('/a*b/1'), shape('/a*b/2'), shape('/a*b/3')];
    const generated = generatePolicies('istio', observed, {});
    assert.deepEqual(generated.summary.skipped.map((s) => s.calls), [2]);
    assert.doesNotMatch(generated.yaml.slice(generated.yaml.indexOf('\n---')), /\/files\/\*|\{id\}|a\*b\/\{\*\}/);
    const prepared = engine.prepare(engine.read(join(out, 'istio-odd-paths.yaml'), generated.yaml));
    const workspace = new WorkspaceModel(defaultConfig(REPO_ROOT));
    workspace.update(prepared);
    assert.deepEqual(engine.lint(prepared, workspace).findings.filter((f) => f.severity === 'error').map((f) => f.message), []);
    const simulation = new Simulation(workspace);
    const cases: [string, 'allow' | 'deny'][] = [['/files/a', 'allow'], ['/files/b', 'deny'], ['/files/c', 'deny'], ['/a*b/2', 'allow'], ['/a*b/4', 'deny']];
    for (const [path, verdict] of cases) assert.equal(simulation.decide(shape(path).record).verdict, verdict, path);
  });
});

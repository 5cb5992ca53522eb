import assert from 'node:assert/strict';
import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { runGenerateCli, runReportCli } from '../../server/src/cli/audit';
import { AUDIT_TIME_BUCKET_MS, buildAuditModel, mapNodes, MARKDOWN_LIMIT, nodeCallsText, renderReportHtml, renderReportMarkdown, renderTrafficMapHtml, type AuditModel } from '../../server/src/engine/audit';
import { authenticationSummaries } from '../../server/src/engine/insight/authnLens';
import { textSummary } from '../../server/src/cli/simulate';
import { defaultConfig } from '../../server/src/engine/config/projectConfig';
import { Engine } from '../../server/src/engine/engine';
import type { Mesh } from '../../server/src/engine/meshes';
import { Simulation, simulateShapes, type SimulationResult } from '../../server/src/engine/simulate';
import type { AccessRecord } from '../../server/src/engine/traffic/accessRecord';
import { ingestTraffic, type IngestStats, type TrafficShape } from '../../server/src/engine/traffic/ingest';
import { redactPathCredentials as redactPath } from '../../server/src/engine/traffic/redact';
import { collectPolicyFiles } from '../../server/src/engine/workspaceFiles';
import { WorkspaceModel } from '../../server/src/engine/workspace';
import { EXAMPLES, REPO_ROOT } from '../helpers/paths';
import { scratchDir } from '../helpers/scratch';
import { externalReferences } from '../helpers/html';

const engine = new Engine();

/** `edit` may change a file's text first. */
function workspaceOf(paths: string[], edit: (path: string, text: string) => string = (_, text) => text): WorkspaceModel {
  const workspace = new WorkspaceModel(defaultConfig(REPO_ROOT));
  for (const path of collectPolicyFiles(paths).files) workspace.update(engine.prepare(engine.read(path, edit(path, readFileSync(path, 'utf8')))));
  return workspace;
}

async function auditExample(mesh: Mesh | 'istio-dry-run', edit?: (path: string, text: string) => string): Promise<{ model: AuditModel; result: SimulationResult; stats: IngestStats }> {
  const workspace = workspaceOf([join(EXAMPLES, mesh)], edit);
  const traffic = await ingestTraffic([join(EXAMPLES, mesh, 'traffic')], { inventory: workspace.inventory, config: workspace.config, timeBucketMs: AUDIT_TIME_BUCKET_MS, workers: 1 });
  const simulation = new Simulation(workspace);
  const result = simulateShapes(simulation, traffic.shapes);
  const authentication = authenticationSummaries(simulation.compiledFor('istio'), result.outcomes);
  // top large enough that the capped lists hold every row, so their sums can be checked
  return { model: buildAuditModel({ stats: traffic.stats, result, workspace, authentication, refused: simulation.notInEffect() }, { top: 10_000, maxEdges: 10_000 }), result, stats: traffic.stats };
}

async function cli(run: typeof runReportCli, args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  let stdout = '';
  let stderr = '';
  const code = await run(args, { stdout: (t) => { stdout += `${t}\n`; }, stderr: (t) => { stderr += `${t}\n`; }, cwd: REPO_ROOT });
  return { code, stdout, stderr };
}

describe('audit report numbers are the engine\'s own counts', () => {
  for (const mesh of ['istio', 'linkerd', 'consul'] as Mesh[]) {
    it(`${mesh}: totals, matrix, trends, rankings and violations add up to simulateShapes`, async () => {
      const { model, result, stats } = await auditExample(mesh);
      const t = model.totals;
      assert.equal(t.calls, result.totals.calls);
      assert.equal(t.calls, stats.calls);
      assert.equal(t.decision.allow, result.totals.allow);
      assert.equal(t.decision.deny, result.totals.deny);
      assert.equal(t.decision.unknown, result.totals.unknown);
      assert.equal(t.decision.external, result.totals.external);
      assert.equal(t.newlyDenied, result.totals.newlyDenied);
      assert.equal(t.newlyAllowed, result.totals.newlyAllowed);
      assert.equal(t.unchanged, result.totals.unchanged);
      assert.equal(t.observed.allowed, stats.observed['allowed'] ?? 0);
      assert.equal(t.observed.denied, stats.observed['denied'] ?? 0);
      assert.equal(t.lines, stats.lines);
      assert.equal(t.parsed + t.skipped, t.lines);
      const cells = model.matrix.cells.flat().reduce((sum, c) => sum + (c?.calls ?? 0), 0);
      assert.equal(cells + model.matrix.callsNotShown, t.calls);
      assert.equal(model.trends.points.reduce((sum, p) => sum + p.calls, 0) + model.trends.untimedCalls, t.calls);
      assert.equal(model.trends.points.reduce((sum, p) => sum + p.newlyDenied, 0), result.totals.newlyDenied, 'every call of these examples has a time');
      assert.ok(model.trends.exact);
      assert.equal(model.topServices.calls, t.calls);
      assert.equal(model.topCallers.calls, t.calls);
      assert.equal(model.topServices.rows.reduce((sum, r) => sum + r.calls, 0), t.calls);
      assert.equal(model.violations.newlyDenied.calls, result.totals.newlyDenied);
      assert.equal(model.violations.newlyDenied.rows.reduce((sum, r) => sum + r.calls, 0), result.totals.newlyDenied);
      assert.equal(model.violations.newlyAllowed.calls, result.totals.newlyAllowed);
      assert.equal(model.violations.observedDenied.calls, stats.observed['denied'] ?? 0);
      assert.equal(model.map.edges.reduce((sum, e) => sum + e.calls, 0) + model.map.callsNotShown, t.calls);
      // uncovered: exactly the calls no policy decided (and that got a verdict)
      const undecided = result.outcomes.filter((o) => !o.decision.policy && (o.decision.verdict === 'allow' || o.decision.verdict === 'deny')).reduce((sum, o) => sum + o.shape.count, 0);
      assert.equal(model.uncovered.calls, undecided);
      // a rule that decided calls is never "unused"
      const unused = new Set(model.unusedRules.rows.map((r) => r.label));
      for (const policy of result.policies) for (const rule of policy.rules.values()) {
        if (rule.ref.label.startsWith('rules[')) assert.ok(!unused.has(`${policy.ref.label} ${rule.ref.label}`), `${policy.ref.label} ${rule.ref.label} decided ${rule.calls} calls`);
      }
    });
  }

  it('consul: a rule that decides calls under one of two differing definitions is not unused', async () => {
    // config/counting.hcl and the CRD define counting's intentions; with the CRD's dashboard source
    // a valid deny (the example's "Allow" makes Consul refuse the CRD) they differ: the 768
    // dashboard → counting calls are unknown, each definition's dashboard source deciding them
    const { model, result } = await auditExample('consul', (path, text) => (path.endsWith('service-intentions.yaml') ? text.replace('      action: Allow\n', '      action: deny\n') : text));
    const unused = model.unusedRules.rows.map((r) => r.label);
    const ambiguous: [string, string, number][] = [
      ['examples/consul/config/counting.hcl', 'service-intentions counting Sources[0] dashboard', 768],
      ['examples/consul/crds/service-intentions.yaml', 'ServiceIntentions counting sources[0] dashboard', 768],
    ];
    for (const [file, label, calls] of ambiguous) {
      assert.ok(!unused.includes(label), `${label} is listed as unused`);
      const row = model.ambiguousRules.rows.find((r) => r.label === label);
      assert.ok(row, `${label} is not among the rules deciding only ambiguous calls: ${JSON.stringify(model.ambiguousRules.rows)}`);
      assert.equal(row.file, join(REPO_ROOT, file));
      assert.equal(row.calls, calls, label);
    }
    assert.equal(model.ambiguousRules.total, ambiguous.length);
    // api's intentions (the CRD; Consul refuses config/api.hcl): its rules decide its calls
    for (const i of [0, 1, 2, 3]) assert.ok(!unused.includes(`ServiceIntentions api sources[0] dashboard permissions[${i}]`), `permissions[${i}]`);
    // no rule named by any alternative of a decision is listed as unused
    for (const o of result.outcomes) for (const a of o.decision.alternatives ?? []) for (const ref of [a.policy, a.rule]) {
      if (ref) assert.ok(!model.unusedRules.rows.some((r) => r.file === ref.file && r.line === ref.range.start.line + 1), `${ref.label} decides calls in an alternative`);
    }
    assert.match(renderReportMarkdown(model), /\*\*Rules that decide only calls whose verdict is ambiguous:\*\* 2 /);
    assert.match(renderReportHtml(model), /data-table="ambiguous"/);
  });

  it('istio: a DENY policy the logs name that the workspace does not have is listed (renamed here: the cluster has the old name)', async () => {
    const { model } = await auditExample('istio', (_, text) => text.replace('name: frontend-deny-internal', 'name: frontend-deny-internal-v2'));
    assert.deepEqual(model.absentDeniers.rows.map((d) => `${d.mesh} ${d.kind} ${d.namespace}/${d.name} ${d.calls} ${d.sample?.file.slice(d.sample.file.indexOf('examples/'))}`), ['istio AuthorizationPolicy shop/frontend-deny-internal 9 examples/istio/traffic/frontend.log']);
    assert.match(renderReportMarkdown(model), /\*\*Denials by resources the workspace does not have:\*\* the logs name these as what denied 9 calls;[^\n]*\n\n\| resource[^\n]*\n[^\n]*\n\| `AuthorizationPolicy shop\/frontend-deny-internal` \| istio \| 9 \|/);
    assert.match(renderReportHtml(model), /<section id="absent-deniers"><h2>Denials by resources the workspace does not have<\/h2>.*<code>AuthorizationPolicy shop\/frontend-deny-internal<\/code>/);
    const unchanged = (await auditExample('istio')).model;
    assert.deepEqual(unchanged.absentDeniers.rows, [], 'the example has the policy its logs name');
    assert.doesNotMatch(renderReportHtml(unchanged), /absent-deniers/);
  });

  it('istio: the unused rules and risky patterns of the example', async () => {
    const { model } = await auditExample('istio');
    const unused = model.unusedRules.rows.map((r) => r.label);
    // simulate's per-rule tallies: payments-callers rules[0] and rules[2] decide calls, rules[1] none
    assert.ok(unused.includes('AuthorizationPolicy shop/payments-callers rules[1]'));
    assert.ok(!unused.includes('AuthorizationPolicy shop/payments-callers rules[0]'));
    assert.ok(!unused.includes('AuthorizationPolicy shop/payments-callers rules[2]'));
    // A policy Istio refuses to store decides nothing (examples/README.md mistakes 1, 2 and 4):
    // listed as not in effect, with why, and its rules are not "unused" (they are not there at all)
    assert.deepEqual(model.notInEffect.map((r) => `${r.label} ${r.file.slice(r.file.indexOf('examples/'))}:${r.line}`), [
      'AuthorizationPolicy shop/frontend-from-gateway examples/istio/security/authorization-policies.yaml:18',
      'AuthorizationPolicy shop/cart-from-frontend examples/istio/security/authorization-policies.yaml:39',
      'AuthorizationPolicy shop/payments-audit-refunds examples/istio/security/authz-payments-refunds.yaml:7',
    ]);
    assert.match(model.notInEffect[1]!.reason, /`from.source` must not be empty/);
    for (const refused of ['frontend-from-gateway', 'cart-from-frontend', 'payments-audit-refunds']) assert.ok(!unused.some((u) => u.includes(`shop/${refused} `)), refused);
    assert.match(renderReportMarkdown(model), /\*\*Not in effect:\*\* 3 resources the mesh refuses to store/);
    assert.match(renderReportHtml(model), /<section id="not-in-effect"><h2>Not in effect<\/h2>/);
    // port-level PERMISSIVE mTLS on the payments metrics port
    assert.ok(model.risks.rows.some((r) => r.kind === 'plaintext' && r.at?.label === 'PeerAuthentication shop/payments-metrics'), JSON.stringify(model.risks.rows));
    // the gateway rule without "from" admits any caller
    assert.ok(model.risks.rows.some((r) => r.kind === 'allow-all' && r.message.startsWith('AuthorizationPolicy shop/gateway-access: rules[0] has no "from"')));
  });

  it('istio: PeerAuthentications and RequestAuthentications are listed under authentication, never as unused rules', async () => {
    const { model, result } = await auditExample('istio');
    assert.deepEqual(model.unusedRules.rows.filter((r) => /^(Peer|Request)Authentication /.test(r.label)), []);
    assert.deepEqual(model.authentication.map((a) => [a.kind, a.label]), [
      ['PeerAuthentication', 'PeerAuthentication shop/default'],
      ['PeerAuthentication', 'PeerAuthentication shop/payments-metrics'],
      ['RequestAuthentication', 'RequestAuthentication shop/shopper-jwt'],
    ]);
    // shopper-jwt targets the gateway: it checks the token of every (HTTP) call the gateway receives,
    // and what it refuses are the calls the simulation denies with 401
    const jwt = model.authentication.find((a) => a.label === 'RequestAuthentication shop/shopper-jwt')!;
    assert.equal(jwt.governs, model.topServices.rows.find((r) => r.name === 'shop/shop-gateway-istio')!.calls);
    const unauthorized = result.outcomes.filter((o) => o.decision.status === 401).reduce((sum, o) => sum + o.shape.count, 0);
    assert.ok(unauthorized > 0);
    assert.equal(jwt.refused, unauthorized);
    assert.equal(jwt.file, join(REPO_ROOT, 'examples/istio/security/request-authentication.yaml'));
    // the calls it refused name it as authentication, not as a deciding rule
    const refusedRows = model.violations.observedDenied.rows.filter((r) => r.rule?.label.startsWith('RequestAuthentication '));
    assert.ok(refusedRows.length > 0);
    for (const r of refusedRows) assert.equal(r.rule!.label, 'RequestAuthentication shop/shopper-jwt (refused: invalid token, 401)');
    const md = renderReportMarkdown(model);
    assert.match(md, /\*\*Authentication:\*\* PeerAuthentications and RequestAuthentications allow nothing/);
    assert.match(md, new RegExp(`\\| \`RequestAuthentication shop/shopper-jwt\` \\| ${jwt.governs.toLocaleString('en-US')} \\| ${unauthorized} \\| `));
    const html = renderReportHtml(model);
    assert.match(html, /<section id="authentication">/);
    assert.match(html, /<a href="#authentication">/);
    // a report without them has no such section
    const { model: linkerd } = await auditExample('linkerd');
    assert.deepEqual(linkerd.authentication, []);
    assert.doesNotMatch(renderReportHtml(linkerd), /id="authentication"|href="#authentication"/);
  });

  it('a STRICT PeerAuthentication that refuses plaintext calls: refused in the authentication section, in the report and simulate\'s text, never a policy that allows or denies', async () => {
    const dir = scratchDir('audit-authn');
    const policies = join(dir, 'policies.yaml');
    writeFileSync(policies, [
      'apiVersion: security.istio.io/v1\nkind: PeerAuthentication\nmetadata:\n  name: strict\n  namespace: shop\nspec:\n  mtls:\n    mode: STRICT\n',
      'apiVersion: security.istio.io/v1\nkind: AuthorizationPolicy\nmetadata:\n  name: cart-callers\n  namespace: shop\nspec:\n  selector:\n    matchLabels:\n      app: cart\n  rules:\n  - from:\n    - source:\n        principals: ["cluster.local/ns/shop/sa/frontend"]\n',
    ].join('---\n'));
    const logs = join(dir, 'calls.jsonl');
    const record = (count: number, source: object, path: string) => JSON.stringify({ time: '2026-11-20T10:00:00Z', mesh: 'istio', protocol: 'http', source, destination: { namespace: 'shop', workload: 'cart', labels: { app: 'cart' }, port: 8080 }, request: { method: 'GET', path }, observed: 'allowed', count });
    writeFileSync(logs, `${[record(10, { principal: 'cluster.local/ns/shop/sa/frontend' }, '/mtls'), record(3, { ip: '10.0.0.9' }, '/plaintext')].join('\n')}\n`);
    const workspace = workspaceOf([policies]);
    const traffic = await ingestTraffic([logs], { inventory: workspace.inventory, config: workspace.config, workers: 1 });
    const simulation = new Simulation(workspace);
    const result = simulateShapes(simulation, traffic.shapes);
    const authentication = authenticationSummaries(simulation.compiledFor('istio'), result.outcomes);
    const model = buildAuditModel({ stats: traffic.stats, result, workspace, authentication });
    // spec §1.8: STRICT refuses the 3 plaintext calls; it governs all 13
    assert.deepEqual(model.authentication.map((a) => [a.label, a.governs, a.refused]), [['PeerAuthentication shop/strict', 13, 3]]);
    assert.deepEqual(model.unusedRules.rows.map((r) => r.label), []);
    assert.equal(model.unusedRules.of, 1, 'the AuthorizationPolicy\'s one rule; the PeerAuthentication is no rule');
    assert.deepEqual(model.map.edges.flatMap((e) => e.rules.map((r) => [r.label, r.calls])).sort(), [
      ['AuthorizationPolicy shop/cart-callers rules[0]', 10],
      ['PeerAuthentication shop/strict (refused: plaintext under STRICT)', 3],
    ].sort());
    const text = textSummary(result, traffic, (p) => p, (o) => o, authentication).split('\n');
    const perPolicy = text.slice(text.indexOf('Per policy and rule:'), text.findIndex((l, i) => i > text.indexOf('Per policy and rule:') && l === ''));
    assert.ok(perPolicy.some((l) => l.includes('AuthorizationPolicy shop/cart-callers: 10 allowed · 0 denied')), perPolicy.join('\n'));
    assert.ok(!perPolicy.some((l) => l.includes('PeerAuthentication')), perPolicy.join('\n'));
    const at = text.findIndex((l) => l.startsWith('Authentication ('));
    assert.ok(at > 0, text.join('\n'));
    assert.match(text[at + 1]!, /^ {2}\S+policies\.yaml:\d+ PeerAuthentication shop\/strict: refused 3 plaintext calls · governs 13 · mTLS STRICT for 1 workload: 13 calls \(10 mutual TLS · 3 plaintext, refused\)$/);
  });

  it('istio-dry-run: dry-run rules that match calls are not unused; the dry-run policies are listed with what they would deny', async () => {
    const { model } = await auditExample('istio-dry-run');
    // every rule of the example matches observed calls (simulate's dry-run tallies, test/unit/dryRunExample.test.ts)
    assert.deepEqual(model.unusedRules.rows.map((r) => r.label), []);
    assert.deepEqual(model.dryRun.map((d) => [d.label, d.engine, d.calls, d.wouldDeny > 0, d.loggedOtherwise > 0]), [
      ['AuthorizationPolicy bank/ledger-allowlist-v2', 'allow', model.totals.calls, true, false],
      ['AuthorizationPolicy bank/ledger-deny-deletes', 'deny', model.totals.calls, true, true],
    ]);
    const html = renderReportHtml(model);
    assert.match(html, /<section[^>]*id="dry-run"/);
    assert.match(html, /<a href="#dry-run">/);
    assert.match(renderReportMarkdown(model), /\*\*Dry-run policies\*\* \(not enforced\)/);
    // a report without dry-run policies has no such section, nor a link to it
    const { model: shop } = await auditExample('linkerd');
    assert.doesNotMatch(renderReportHtml(shop), /dry-run/);
  });

  it('linkerd: a workload receiving traffic under the mesh default is listed as uncovered', async () => {
    const { model, result } = await auditExample('linkerd');
    const byDestination = new Map<string, number>();
    for (const o of result.outcomes) if (!o.decision.policy && o.decision.verdict === 'allow') byDestination.set(`${o.shape.record.destination?.namespace}/${o.shape.record.destination?.workload}`, (byDestination.get(`${o.shape.record.destination?.namespace}/${o.shape.record.destination?.workload}`) ?? 0) + o.shape.count);
    assert.ok(byDestination.size > 0);
    for (const [name, calls] of byDestination) assert.equal(model.uncovered.rows.find((u) => u.destination === name)?.allowedNow, calls, name);
  });
});

describe('traffic map nodes: calls in and calls out, never one call twice', () => {
  const table: [string, { source: string; destination: string; calls: number }[], [string, number, number, number, string][]][] = [
    ['a caller, a service that also calls, a service', [{ source: 'a', destination: 'b', calls: 10 }, { source: 'b', destination: 'c', calls: 5 }],
      [['b', 10, 5, 15, 'both'], ['a', 0, 10, 10, 'caller'], ['c', 5, 0, 5, 'service']]],
    ['a call to itself is one in and one out, and once in all', [{ source: 'a', destination: 'a', calls: 4 }, { source: 'b', destination: 'a', calls: 1 }],
      [['a', 5, 4, 5, 'both'], ['b', 0, 1, 1, 'caller']]],
    ['two callers of one service', [{ source: 'x', destination: 's', calls: 2 }, { source: 'y', destination: 's', calls: 3 }],
      [['s', 5, 0, 5, 'service'], ['y', 0, 3, 3, 'caller'], ['x', 0, 2, 2, 'caller']]],
  ];
  for (const [name, edges, expected] of table) {
    it(name, () => {
      assert.deepEqual(mapNodes(edges).map((n) => [n.name, n.callsIn, n.callsOut, n.calls, n.role]), expected);
    });
  }

  it('istio example: each node shows the calls it receives and makes, as the services and callers tables count them', async () => {
    const { model } = await auditExample('istio');
    const frontend = model.map.nodes.find((n) => n.name === 'shop/frontend')!;
    const received = model.topServices.rows.find((r) => r.name === 'shop/frontend')!.calls;
    const made = model.topCallers.rows.find((r) => r.name === 'shop/frontend')!.calls;
    assert.deepEqual([frontend.callsIn, frontend.callsOut, frontend.role], [received, made, 'both']);
    assert.equal(nodeCallsText(frontend), `calls: ${received.toLocaleString('en-US')} in · ${made.toLocaleString('en-US')} out`);
    const map = renderTrafficMapHtml(model);
    assert.ok(map.includes(`<text x="8" y="31" class="sub">${nodeCallsText(frontend)}</text>`), 'the node\'s second line');
    // every call is one node's out and one node's in
    const total = model.map.edges.reduce((sum, e) => sum + e.calls, 0);
    assert.equal(model.map.nodes.reduce((sum, n) => sum + n.callsIn, 0), total);
    assert.equal(model.map.nodes.reduce((sum, n) => sum + n.callsOut, 0), total);
  });
});

describe('audit output stays bounded and self-contained', () => {
  /** 40,000 distinct calls: 200 callers × 200 services, long paths, every one denied by a policy. */
  function bigModel(): AuditModel {
    const workspace = new WorkspaceModel(defaultConfig(REPO_ROOT));
    const path = join(scratchDir('mesh-policy-big-'), 'policy.yaml');
    workspace.update(engine.prepare(engine.read(path, 'apiVersion: security.istio.io/v1\nkind: AuthorizationPolicy\nmetadata: {name: allow-nothing, namespace: big}\nspec: {}\n')));
    const shapes: TrafficShape[] = [];
    for (let i = 0; i < 200; i++) {
      for (let j = 0; j < 200; j++) {
        const record: AccessRecord = {
          time: new Date(Date.UTC(2025, 0, 1) + ((i * 200 + j) % 240) * 3_600_000).toISOString(), mesh: 'istio', protocol: 'http',
          source: { principal: `cluster.local/ns/big/sa/caller-${i}-${'x'.repeat(40)}`, namespace: 'big', workload: `caller-${i}-${'x'.repeat(40)}` },
          destination: { namespace: 'big', workload: `service-${j}-${'y'.repeat(40)}`, port: 8080 },
          request: { method: 'GET', path: `/api/${'z'.repeat(300)}/${i}/${j}`, headers: { authorization: 'Bearer SECRET-TOKEN-VALUE' } },
          observed: 'allowed', count: 1 + ((i + j) % 5),
        };
        shapes.push({ record, count: record.count!, firstTime: record.time!, lastTime: record.time!, samples: [{ file: '/logs/big.log', line: i * 200 + j + 1 }], sourceBy: {}, destinationBy: {}, joined: 0 });
      }
    }
    const result = simulateShapes(new Simulation(workspace), shapes);
    const stats = { lines: shapes.length, parsed: shapes.length, skipped: 0, skippedByReason: {}, calls: result.totals.calls, observed: {} } as unknown as IngestStats;
    return buildAuditModel({ stats, result, workspace });
  }

  it('HTML report and traffic map are under 2 MB, Markdown fits a PR comment, whatever the traffic size', () => {
    const model = bigModel();
    assert.equal(model.totals.calls, 40_000 * 3);
    const html = renderReportHtml(model);
    const map = renderTrafficMapHtml(model);
    const md = renderReportMarkdown(model);
    assert.ok(Buffer.byteLength(html) < 2 * 1024 * 1024, `report ${Buffer.byteLength(html)} bytes`);
    assert.ok(Buffer.byteLength(map) < 2 * 1024 * 1024, `map ${Buffer.byteLength(map)} bytes`);
    assert.ok(md.length <= MARKDOWN_LIMIT, `markdown ${md.length} characters`);
    assert.match(html, /… 39,980 more kinds of call/);
    assert.match(html, /… 180 more callers and 180 more destinations/);
    assert.equal(model.trends.bucket, 'day', '240 hours of traffic are shown per day');
    assert.equal(model.trends.points.length, 10);
    for (const text of [html, map, md, JSON.stringify(model)]) assert.ok(!text.includes('SECRET-TOKEN-VALUE'));
  });

  it('has no external reference: no script src, link, url(), import or network call', async () => {
    const { model } = await auditExample('istio');
    const report = renderReportHtml(model);
    const map = renderTrafficMapHtml(model);
    assert.deepEqual(externalReferences(report), []);
    assert.deepEqual(externalReferences(map), []);
    assert.doesNotMatch(report, /<script/i, 'the report has no script at all');
    assert.match(map, /<svg id="map"/);
    // the detector itself finds what it should
    assert.deepEqual(externalReferences('<script src="https://x/y.js"></script><a href="#ok">a</a><div style="background:url(https://x/i.png)">').length, 2);
  });

  it('escapes what the logs say: a hostile path cannot open an element', async () => {
    const { model } = await auditExample('linkerd');
    const hostile = structuredClone(model);
    hostile.violations.observedDenied.rows[0]!.request = 'GET /<script>alert(1)</script>';
    hostile.map.edges[0]!.source = '</script><script>alert(2)</script>';
    const html = renderReportHtml(hostile);
    const map = renderTrafficMapHtml(hostile);
    assert.ok(!html.includes('<script>alert(1)'));
    assert.ok(!map.includes('<script>alert(2)'));
    assert.equal(map.match(/<script/g)?.length, 2, 'only the data block and the map script');
  });

  it('escapes what the logs say in Markdown: a hostile caller or path adds no tag, link or emphasis to a PR comment', async () => {
    const { model } = await auditExample('linkerd');
    const hostile = structuredClone(model);
    const row = hostile.violations.observedDenied.rows[0]!;
    row.source = 'evil<img src=x onerror=alert(1)>/**b**';
    row.destination = 'shop/[l](https://x.example/)_c_';
    row.request = 'GET /a|b`c';
    hostile.topCallers.rows[0]!.name = '<script>alert(1)</script>&amp;';
    const md = renderReportMarkdown(hostile);
    // CommonMark: a backslash before ASCII punctuation makes it a literal character, so no raw
    // HTML, link, emphasis or entity can start; GFM tables: `\|` is a pipe inside the cell, also
    // inside a code span, where backslashes are otherwise literal and a backtick ends the span.
    const line = md.split('\n').find((l) => l.includes('evil'))!;
    assert.ok(line.startsWith('| evil\\<img src=x onerror=alert(1)\\>/\\*\\*b\\*\\* | shop/\\[l\\](https://x.example/)\\_c\\_'), line);
    assert.ok(line.includes(" | `GET /a\\|b'c` | "), line);
    assert.equal(line.split(/(?<!\\)\|/).length - 2, 5, 'five cells: no pipe from the logs starts another');
    assert.ok(md.includes('| \\<script\\>alert(1)\\</script\\>\\&amp; |'));
  });

  it('redacts credential query parameters', () => {
    assert.equal(redactPath('/a?token=abc&page=2&api_key=k'), '/a?token=[redacted]&page=2&api_key=[redacted]');
    assert.equal(redactPath('/plain'), '/plain');
    // One list for every output (report, simulate, generate): names either module knew before.
    assert.equal(redactPath('/s3?X-Amz-Signature=abc123&sessionid=s3cr3t&api-key=k1&pwd=p'), '/s3?X-Amz-Signature=[redacted]&sessionid=[redacted]&api-key=[redacted]&pwd=[redacted]');
  });
});

describe('mesh-policy report and generate', () => {
  const dir = scratchDir('mesh-policy-report-');

  it('writes each format atomically with --output and exits as simulate does', async () => {
    for (const format of ['html', 'md', 'json']) {
      const output = join(dir, `report.${format}`);
      const { code, stderr } = await cli(runReportCli, ['--policies', 'examples/istio', '--traffic', 'examples/istio/traffic', '--format', format, '--output', output]);
      assert.equal(code, 1, `newly denied calls exit 1 (${stderr})`);
      assert.ok(existsSync(output));
      // the scratch folder is outside the working folder (the repository): named whole, not as ../../
      assert.ok(stderr.includes(`mesh-policy: wrote ${output} (`), stderr);
    }
    const model = JSON.parse(readFileSync(join(dir, 'report.json'), 'utf8')) as AuditModel;
    assert.equal(model.totals.calls, 3549);
    assert.ok(readFileSync(join(dir, 'report.md'), 'utf8').startsWith('## Mesh policy audit'));
    assert.deepEqual(readdirSync(dir).filter((f) => f.endsWith('.tmp')), [], 'no temporary file left');
    const linkerd = await cli(runReportCli, ['--policies', 'examples/linkerd', '--traffic', 'examples/linkerd/traffic', '--format', 'md']);
    assert.equal(linkerd.code, 0, 'nothing newly denied');
  });

  it('leaves no file when the output cannot be written, and rejects bad options with exit 2', async () => {
    const output = join(dir, 'missing-folder', 'report.html');
    const failed = await cli(runReportCli, ['--policies', 'examples/istio', '--traffic', 'examples/istio/traffic', '--output', output]);
    assert.equal(failed.code, 2);
    assert.match(failed.stderr, /cannot write ".*report\.html": no such file or folder\n/);
    assert.ok(!existsSync(join(dir, 'missing-folder')));
    for (const args of [['--traffic', 'x', '--format', 'pdf'], ['--traffic', 'examples/istio/traffic', '--since', 'yesterday'], ['--traffic', 'examples/istio/traffic', '--since', '2025-02-30'], ['--traffic', 'examples/istio/traffic', '--until', '2025-04-31T09:00:00Z'], ['--traffic', 'examples/istio/traffic', '--since', '2025-03-14T10:00:00Z', '--until', '2025-03-14T09:00:00Z'], ['--format', 'md'], ['--traffic', 'does-not-exist']]) {
      const r = await cli(runReportCli, args);
      assert.equal(r.code, 2, args.join(' '));
      assert.doesNotMatch(r.stderr, /\n\s+at /, 'no stack trace');
    }
    assert.equal((await cli(runGenerateCli, ['--traffic', 'examples/istio/traffic'])).code, 2, 'generate needs --mesh');
    assert.equal((await cli(runGenerateCli, ['--mesh', 'kuma', '--traffic', 'examples/istio/traffic'])).code, 2);
  });

  it('generate --mesh istio: plaintext callers by address, unless --plaintext-callers none or a STRICT PeerAuthentication under --inventory', async () => {
    const calls = join(dir, 'plaintext.jsonl');
    writeFileSync(calls, `${JSON.stringify({ mesh: 'istio', protocol: 'http', source: { principal: null, ip: '10.1.2.3' }, destination: { namespace: 'shop', workload: 'payments', port: 9102, labels: { app: 'payments' } }, request: { method: 'GET', path: '/metrics' }, observed: 'allowed', count: 5 })}\n`);
    const strict = join(dir, 'strict.yaml');
    writeFileSync(strict, 'apiVersion: security.istio.io/v1\nkind: PeerAuthentication\nmetadata: {name: default, namespace: shop}\nspec: {mtls: {mode: STRICT}}\n');
    const byAddress = await cli(runGenerateCli, ['--mesh', 'istio', '--traffic', calls]);
    assert.equal(byAddress.code, 0, byAddress.stderr);
    assert.match(byAddress.stdout, /ipBlocks:\n {14}- 10\.1\.2\.3\/32 {2}# 5 calls/);
    const none = await cli(runGenerateCli, ['--mesh', 'istio', '--traffic', calls, '--plaintext-callers', 'none']);
    assert.equal(none.code, 1, 'nothing generated');
    assert.match(none.stderr, /5 calls: plaintext caller \(no client certificate/);
    const underStrict = await cli(runGenerateCli, ['--mesh', 'istio', '--traffic', calls, '--inventory', strict]);
    assert.equal(underStrict.code, 1, 'nothing generated');
    assert.match(underStrict.stderr, /5 calls: plaintext caller to port 9102, where mTLS is STRICT/);
    assert.equal((await cli(runGenerateCli, ['--mesh', 'istio', '--traffic', calls, '--plaintext-callers', 'some'])).code, 2);
    assert.equal((await cli(runReportCli, ['--traffic', calls, '--plaintext-callers', 'ip'])).code, 2, 'a generate option');
  });

  it('generate: with nothing to generate, exits 1 and says why on stderr', async () => {
    const output = join(dir, 'nothing.yaml');
    // (without --plaintext-callers none, Prometheus' plaintext scrapes would get a policy by address)
    const r = await cli(runGenerateCli, ['--mesh', 'istio', '--traffic', 'examples/istio/traffic', '--output', output, '--plaintext-callers', 'none']);
    assert.equal(r.code, 1);
    assert.match(r.stderr, /0 resources for 0 destinations/);
    assert.match(r.stderr, /\n {2}\d+ calls: caller workload known, but not its identity \(its service account\): give --inventory/);
    assert.doesNotMatch(r.stderr, /no caller identity in the log/);
  });

  it('generate: exits 1 when its own policies would deny calls the logs show allowed, and says where and why', async () => {
    const output = join(dir, 'self-check.yaml');
    const r = await cli(runGenerateCli, ['--mesh', 'istio', '--traffic', 'examples/istio/traffic', '--inventory', 'examples/istio', '--output', output]);
    assert.equal(r.code, 1, r.stderr);
    // Prometheus' plaintext scrapes are allowed by address; the back office's refunds came over
    // mutual TLS from identities the log does not give
    assert.match(r.stderr, /Self-check: these policies would deny 50 calls the logs show allowed/);
    assert.match(r.stderr, /\n[^\n]* {2}shop\/payments: 50 observed allowed calls would be denied\n[^\n]* {4}50 calls: caller not resolved: /);
    assert.match(readFileSync(output, 'utf8'), /^# {3}shop\/payments: 50 observed allowed calls would be denied$/m);
    const linkerd = await cli(runGenerateCli, ['--mesh', 'linkerd', '--traffic', 'examples/linkerd/traffic', '--inventory', 'examples/linkerd', '--output', join(dir, 'linkerd.yaml')]);
    assert.equal(linkerd.code, 0, linkerd.stderr);
    assert.doesNotMatch(linkerd.stderr, /would deny/);
    // The proxy's Request denied events show the direct gRPC calls to voting and emoji refused
    // (their access log lines say 200), and those destinations get no policy from gRPC calls
    // whose outcome the log does not record: listed, not an error.
    const refusedGrpc = (file: string) => readFileSync(join('examples', 'linkerd', 'traffic', file), 'utf8').split('\n').filter((l) => l.includes('Request denied')).length;
    assert.match(linkerd.stderr, new RegExp(`Self-check: these policies would allow ${refusedGrpc('voting.log') + refusedGrpc('emoji.log')} calls the logs show denied`));
    assert.match(linkerd.stderr, new RegExp(`emojivoto/voting:8080: ${refusedGrpc('voting.log')} observed denied calls would be allowed`));
  });

  it('--since/--until split the lines: the two halves add up to the whole', async () => {
    // Linkerd logs only the server side: no call joins two lines across the cut
    const whole = JSON.parse((await cli(runReportCli, ['--policies', 'examples/linkerd', '--traffic', 'examples/linkerd/traffic', '--format', 'json'])).stdout) as AuditModel;
    const cut = '2025-03-14T13:30:00Z';
    const before = JSON.parse((await cli(runReportCli, ['--policies', 'examples/linkerd', '--traffic', 'examples/linkerd/traffic', '--format', 'json', '--until', cut])).stdout) as AuditModel;
    const after = JSON.parse((await cli(runReportCli, ['--policies', 'examples/linkerd', '--traffic', 'examples/linkerd/traffic', '--format', 'json', '--since', cut])).stdout) as AuditModel;
    assert.ok(before.totals.calls > 0 && after.totals.calls > 0);
    assert.equal(before.totals.calls + after.totals.calls, whole.totals.calls);
    assert.equal(before.totals.observed.denied + after.totals.observed.denied, whole.totals.observed.denied);
    assert.equal(before.totals.skippedByReason['outside the time window'], after.totals.parsed, 'what one half skips, the other reads');
    assert.ok(before.window.lastCall! < '2025-03-14T13:30:00.000Z' && after.window.firstCall! >= '2025-03-14T13:30:00.000Z');
    assert.equal(before.window.until, '2025-03-14T13:30:00.000Z');
  });

  it('never shows credential header values', async () => {
    const logs = join(dir, 'secrets.jsonl');
    const record = (i: number) => JSON.stringify({
      time: `2025-03-14T10:00:0${i}Z`, mesh: 'istio', protocol: 'http',
      source: { principal: 'cluster.local/ns/shop/sa/frontend', namespace: 'shop', workload: 'frontend' },
      destination: { namespace: 'shop', workload: 'cart', port: 7070, labels: { app: 'cart' } },
      request: { method: 'GET', path: `/v1/carts/c${i}?access_token=SECRETQUERY&access%5Ftoken=SECRETf6&API%5fKEY=SECRETk2`, headers: { authorization: 'Bearer SECRETAUTH', 'x-auth': 'Bearer SECRETi9', 'x-sig': `Token SECRETt1 eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJhIn0.SECRETjwt`, cookie: 'sid=SECRETCOOKIE', 'set-cookie': 'a=SECRETSET', 'x-api-key': 'SECRETKEY', 'proxy-authorization': 'Basic SECRETPROXY', 'user-agent': 'test' } },
      response: { status: 200 }, observed: 'allowed',
    });
    writeFileSync(logs, `${[1, 2, 3, 4].map(record).join('\n')}\n`);
    for (const format of ['html', 'md', 'json']) {
      const r = await cli(runReportCli, ['--policies', 'examples/istio/security', '--traffic', logs, '--format', format]);
      assert.doesNotMatch(r.stdout + r.stderr, /SECRET/, format);
      if (format === 'json') {
        assert.match(r.stdout, /"authorization": "\[redacted\]"/);
        assert.match(r.stdout, /"x-auth": "Bearer \[redacted\]"/, 'a scheme credential in a header not on the secret list');
      }
    }
    const generated = await cli(runGenerateCli, ['--mesh', 'istio', '--traffic', logs]);
    assert.equal(generated.code, 0, generated.stderr);
    assert.doesNotMatch(generated.stdout, /SECRET/);
    assert.match(generated.stdout, /"\/v1\/carts\/\{\*\}"  # 4 distinct paths, 4 calls/);
  });
});

describe('ingest options the audit uses', () => {
  it('time window and per-hour counts give the same result with worker threads as without', async () => {
    // Linkerd logs one line per call: no join depends on how the input is cut between workers
    const workspace = workspaceOf([join(EXAMPLES, 'linkerd', 'app')]);
    const window = { since: Date.parse('2025-03-14T13:10:00Z'), until: Date.parse('2025-03-14T13:50:00Z') };
    const read = (workers: number) => ingestTraffic([join(EXAMPLES, 'linkerd', 'traffic')], { inventory: workspace.inventory, config: workspace.config, timeBucketMs: 600_000, timeWindow: window, workers, parallelThreshold: 0 });
    const [one, two] = [await read(1), await read(2)];
    assert.ok(two.stats.workers > 1, 'the parallel path ran');
    for (const model of [one, two]) {
      assert.equal(model.stats.parsed + model.stats.skipped, model.stats.lines);
      assert.ok(model.stats.skippedByReason['outside the time window']! > 0);
      for (const shape of model.shapes) {
        assert.equal(Object.values(shape.callsByTime ?? {}).reduce((a, b) => a + b, 0), shape.count, 'every call of the example has a time');
        for (const bucket of Object.keys(shape.callsByTime ?? {})) {
          const start = Number(bucket);
          assert.equal(start % 600_000, 0);
          assert.ok(start >= window.since && start < window.until, new Date(start).toISOString());
        }
      }
    }
    assert.equal(two.stats.calls, one.stats.calls);
    assert.deepEqual(two.stats.skippedByReason, one.stats.skippedByReason);
    const perBucket = (m: typeof one) => {
      const out: Record<string, number> = {};
      for (const s of m.shapes) for (const [b, n] of Object.entries(s.callsByTime ?? {})) out[b] = (out[b] ?? 0) + n;
      return out;
    };
    assert.deepEqual(perBucket(two), perBucket(one));
  });
});

describe('access granted and never used (the report with the access map, docs/access-map.md)', () => {
  it('examples/istio via the CLI: the metrics port every caller may reach, which no identified caller called, is listed; the used pairs are not', async () => {
    const { code, stdout, stderr } = await cli(runReportCli, ['--traffic', 'examples/istio/traffic', '--policies', 'examples/istio', '--format', 'json']);
    assert.ok(code === 0 || code === 1, stderr);
    const model = JSON.parse(stdout) as AuditModel;
    const unused = model.unusedAccess!;
    assert.ok(unused, 'the report builds the access map');
    const pairs = unused.rows.map((r) => `${r.caller} → ${r.destination}`);
    // payments-callers rules[2] allows port 9102 to every caller; only unidentified scrapers called it
    for (const caller of ['shop/cart', 'shop/frontend', '-']) assert.ok(pairs.includes(`${caller} → shop/payments:9102`), pairs.join('; '));
    assert.equal(unused.rows.find((r) => r.destination === 'shop/payments:9102')!.at?.line, 85);
    assert.ok(unused.total <= unused.allowed);
    const html = (await cli(runReportCli, ['--traffic', 'examples/istio/traffic', '--policies', 'examples/istio'])).stdout;
    assert.match(html, /<section[^>]*id="unused-access"/);
    const table = html.match(/<table data-table="unused-access">[\s\S]*?<\/table>/)![0];
    assert.equal((table.match(/<tr><td>/g) ?? []).length, unused.rows.length + (unused.more ? 1 : 0));
    assert.match(table, /<td>shop\/cart<\/td><td>shop\/payments:9102<\/td>/);
  });
});

import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { baselineWorkspace } from '../../../server/src/engine/baseline';
import { defaultConfig } from '../../../server/src/engine/config/projectConfig';
import { Engine } from '../../../server/src/engine/engine';
import type { Finding } from '../../../server/src/engine/findings';
import { LiveInsight, type LiveBaseline } from '../../../server/src/engine/insight/live';
import type { TrafficInsight } from '../../../server/src/engine/insight/trafficInsight';
import type { Mesh } from '../../../server/src/engine/meshes';
import { Simulation } from '../../../server/src/engine/simulate';
import { headersTestedBy } from '../../../server/src/engine/simulate/testedHeaders';
import { ingestTraffic } from '../../../server/src/engine/traffic/ingest/ingest';
import { WorkspaceModel } from '../../../server/src/engine/workspace';
import { loadExampleTraffic, rng, type ExampleTraffic } from '../../helpers/exampleTraffic';
import { EXAMPLES } from '../../helpers/paths';
import type { RuleSetting } from '../../../server/src/engine/config/projectConfig';

// The editor's loop (issue 5): after each edit, LiveInsight updates the simulation, the baseline
// comparison and the insight by difference. Its diagnostics (as the server keeps them: only the
// files named dirty are computed again), lenses, hovers and call lists must equal those of a
// fresh computation over the same workspace, after a table of edits and after seeded random ones.

const engine = new Engine();

interface Example extends ExampleTraffic {
  baseline: LiveBaseline;
}

type ExampleName = Mesh | 'istio-dry-run';

async function loadExample(name: ExampleName): Promise<Example> {
  const example = await loadExampleTraffic(engine, name);
  // The baseline: the example as it is on disk (what git HEAD would hold).
  const files = { ref: 'HEAD', commit: '0'.repeat(40), root: join(EXAMPLES, name), texts: new Map(example.texts), added: [], deleted: [] };
  const baseline = { decider: new Simulation(baselineWorkspace(engine, files, example.workspace.config)), files };
  return { ...example, baseline };
}

function edit(example: Example, path: string, text: string): void {
  example.texts.set(path, text);
  example.workspace.update(engine.prepare(engine.read(path, text)));
}

/** What the language server publishes: findings of every file, recomputed only where the insight says they may have changed. */
class Published {
  readonly findings = new Map<string, Finding[]>();
  private last: TrafficInsight | undefined;
  /** Each finding as it was first published: the server converts a finding object once (by identity), so one must never change afterwards. */
  private readonly firstSeen = new WeakMap<Finding, string>();

  take(insight: TrafficInsight): void {
    const incremental = insight.dirtyFiles !== undefined && this.last !== undefined && insight.basis === this.last;
    if (!incremental) this.findings.clear();
    for (const path of incremental ? insight.dirtyFiles! : insight.files) this.findings.set(path, insight.findings(path));
    for (const findings of this.findings.values()) {
      for (const finding of findings) {
        const now = JSON.stringify(finding);
        const first = this.firstSeen.get(finding);
        if (first === undefined) this.firstSeen.set(finding, now);
        else assert.equal(now, first, 'a finding published before was changed in place');
      }
    }
    this.last = insight;
  }
}

/** Everything the editor shows from the insight, for the files of the workspace. */
function assertSameView(live: TrafficInsight, published: Published, fresh: TrafficInsight, example: Example, hoverFiles: string[], what: string): void {
  assert.deepEqual(live.result.outcomes.map((o) => [o.decision, o.change]), fresh.result.outcomes.map((o) => [o.decision, o.change]), `${what}: decisions`);
  assert.deepEqual(live.result.totals, fresh.result.totals, `${what}: totals`);
  assert.deepEqual(live.result.policies, fresh.result.policies, `${what}: per policy`);
  assert.deepEqual(live.baseline, fresh.baseline, `${what}: baseline comparison`);
  assert.deepEqual(new Set(live.files), new Set(fresh.files), `${what}: files with traffic findings`);
  for (const path of new Set([...fresh.files, ...published.findings.keys()])) {
    assert.deepEqual(published.findings.get(path) ?? [], fresh.findings(path), `${what}: diagnostics of ${path}`);
  }
  for (const path of example.texts.keys()) assert.deepEqual(live.lenses(path), fresh.lenses(path), `${what}: lenses of ${path}`);
  for (const path of hoverFiles) {
    for (const item of fresh.outline(path)) {
      for (const offset of [item.span.start, Math.floor((item.span.start + item.span.end) / 2)]) {
        assert.equal(live.hover(path, offset), fresh.hover(path, offset), `${what}: hover at ${path}:${offset}`);
      }
    }
  }
  assert.deepEqual(live.calls(50), fresh.calls(50), `${what}: calls`);
  for (const { key } of fresh.calls(3)) assert.equal(live.explain(key), fresh.explain(key), `${what}: explain ${key}`);
}

interface Edit {
  name: string;
  /** File under examples/<mesh>/. */
  file: string;
  find: string | RegExp;
  replace: string;
}

const EDITS: Record<ExampleName, Edit[]> = {
  istio: [
    { name: 'cart ALLOW: another principal', file: 'security/authorization-policies.yaml', find: 'cluster.local/ns/shop/sa/frontend', replace: 'cluster.local/ns/shop/sa/nobody' },
    { name: 'a line inserted at the top (every resource moves)', file: 'security/authorization-policies.yaml', find: /^/, replace: '# moved down by one line\n' },
    { name: 'frontend ALLOW becomes DENY', file: 'security/authorization-policies.yaml', find: 'action: allow', replace: 'action: DENY' },
    { name: 'a comment made longer (offsets move, positions stay)', file: 'security/authorization-policies.yaml', find: /^# moved down by one line$/m, replace: '# moved down by one line, and this comment is longer now' },
    { name: 'allow-nothing removed (namespace-wide)', file: 'security/authorization-policies.yaml', find: 'spec: {}', replace: 'spec: {selector: {matchLabels: {app: none}}}' },
    { name: 'mTLS mode changed', file: 'security/peer-authentication.yaml', find: 'STRICT', replace: 'PERMISSIVE' },
    { name: 'the frontend DENY guard made dry-run', file: 'security/authorization-policies.yaml', find: '  name: frontend-deny-internal\n', replace: '  name: frontend-deny-internal\n  annotations: {istio.io/dry-run: "true"}\n' },
    { name: 'the dry-run guard matches other paths', file: 'security/authorization-policies.yaml', find: '"/internal/*", "/debug/*"', replace: '"/products", "/debug/*"' },
    { name: 'the dry-run guard enforced again', file: 'security/authorization-policies.yaml', find: 'istio.io/dry-run: "true"', replace: 'istio.io/dry-run: "false"' },
    { name: 'the guard made an AUDIT policy', file: 'security/authorization-policies.yaml', find: 'action: DENY', replace: 'action: AUDIT' },
    { name: 'the AUDIT policy marks other paths', file: 'security/authorization-policies.yaml', find: '"/products", "/debug/*"', replace: '"/products/*", "/cart"' },
    { name: 'a suppression comment', file: 'security/authorization-policies.yaml', find: /^# moved down.*$/m, replace: '# mesh-policy-ignore-file MPA4001' },
  ],
  linkerd: [
    { name: 'web-clients authentication: another identity', file: 'policy/authentications.yaml', find: 'name: web-clients', replace: 'name: web-clients-renamed' },
    { name: 'an AuthorizationPolicy targets another route', file: 'policy/authorization-policies.yaml', find: 'name: web-app\n', replace: 'name: web-app-2\n' },
    { name: 'a line inserted at the top', file: 'policy/authorization-policies.yaml', find: /^/, replace: '# moved\n' },
    { name: 'a line inserted at the top of the routes (every route moves)', file: 'policy/web-routes.yaml', find: /^/, replace: '# moved down by one line\n' },
    { name: 'a line added in the first route: the probe route, its rules and matches move', file: 'policy/web-routes.yaml', find: '  rules:\n', replace: '  # reviewed\n  rules:\n' },
    { name: 'the web route no longer takes /api (the moved probe route decides as before)', file: 'policy/web-routes.yaml', find: 'value: /api', replace: 'value: /apix' },
    { name: 'a comment made longer (offsets move, positions stay)', file: 'policy/web-routes.yaml', find: /^# moved down by one line$/m, replace: '# moved down by one line, and this comment is longer now' },
    { name: 'a line added in the voting policy: the scrape policy moves', file: 'policy/authorization-policies.yaml', find: '  name: voting-grpc-web\n', replace: '  # reviewed\n  name: voting-grpc-web\n' },
    { name: 'the line in the first route removed: the probe route moves up', file: 'policy/web-routes.yaml', find: '  # reviewed\n', replace: '' },
    { name: 'the Servers move down', file: 'policy/servers.yaml', find: /^/, replace: '# moved\n' },
    { name: 'a suppression comment', file: 'policy/web-routes.yaml', find: /^# moved down.*$/m, replace: '# mesh-policy-ignore-file MPA4001' },
  ],
  // the dry-run DENY's logged results (MPA4008) follow each version of the policy
  'istio-dry-run': [
    { name: 'the dry-run DENY narrowed back to what was deployed', file: 'security/dry-run.yaml', find: 'methods: ["DELETE"]\n            paths: ["/v1/*"]', replace: 'methods: ["DELETE"]\n            paths: ["/v1/accounts/*"]' },
    { name: 'the dry-run DENY widened again', file: 'security/dry-run.yaml', find: 'methods: ["DELETE"]\n            paths: ["/v1/accounts/*"]', replace: 'methods: ["DELETE"]\n            paths: ["/v1/*"]' },
    { name: 'the dry-run DENY enforced', file: 'security/dry-run.yaml', find: 'istio.io/dry-run: "true"\nspec:\n  selector:\n    matchLabels:\n      app: ledger\n  action: DENY', replace: 'istio.io/dry-run: "false"\nspec:\n  selector:\n    matchLabels:\n      app: ledger\n  action: DENY' },
    { name: 'a line inserted at the top', file: 'security/dry-run.yaml', find: /^/, replace: '# moved\n' },
  ],
  consul: [
    { name: 'api intentions: dashboard denied', file: 'config/api.hcl', find: 'Action = "allow"', replace: 'Action = "deny"' },
    { name: 'api intentions: admin path opened', file: 'config/api.hcl', find: '"/v1/admin"', replace: '"/v1/adm1n"' },
    { name: 'counting intentions: first action flipped', file: 'crds/service-intentions.yaml', find: 'action: deny', replace: 'action: allow' },
    { name: 'a line inserted in the counting CRD (the api CRD below moves)', file: 'crds/service-intentions.yaml', find: 'spec:\n  destination:\n    name: counting\n', replace: 'spec:\n  # reviewed\n  destination:\n    name: counting\n' },
    { name: 'a line inserted at the top of the CRDs (every resource moves)', file: 'crds/service-intentions.yaml', find: /^/, replace: '# moved down by one line\n' },
    { name: 'a blank line above the dashboard entry (it moves)', file: 'config/dashboard.json', find: /^/, replace: '\n' },
    // the two definitions of api differ: each alternative names its entries with their lines
    { name: 'api.hcl repaired: api is defined twice, differently', file: 'config/api.hcl', find: '  Action = "deny"\n\n  Permissions', replace: '  Permissions' },
    { name: 'a line inserted at the top of the CRDs again (the alternatives cite the api CRD by line)', file: 'crds/service-intentions.yaml', find: /^/, replace: '# and again\n' },
  ],
};

/** Small seeded edits: each replaces one occurrence of a token in one policy file. */
const MUTATIONS: [RegExp, string][] = [
  [/\bALLOW\b/g, 'DENY'], [/\bDENY\b/g, 'ALLOW'], [/\ballow\b/g, 'deny'], [/\bdeny\b/g, 'allow'],
  [/"GET"/g, '"POST"'], [/\bSTRICT\b/g, 'DISABLE'], [/\bPERMISSIVE\b/g, 'STRICT'], [/\/v1\//g, '/v2/'],
  [/app: (\w+)/g, 'app: $1x'], [/sa\/(\w+)/g, 'sa/$1y'], [/PathPrefix/g, 'Exact'], [/\bname: (\w+)/g, 'name: $1z'],
  [/namespace: (\w+)/g, 'namespace: $1-moved'], [/\n/g, '\n\n'], [/^---$/gm, '---\n# a comment line'],
];

const fresh = (example: Example, rules: Record<string, RuleSetting> = {}): TrafficInsight => new LiveInsight(example.workspace, example.shapes, example.baseline).next([], rules);

for (const name of ['istio', 'linkerd', 'consul', 'istio-dry-run'] as ExampleName[]) {
  const mesh: Mesh = name === 'istio-dry-run' ? 'istio' : name;
  describe(`editor insight by difference: ${name} example`, () => {
    let example: Example;
    before(async () => { example = await loadExample(name); });

    it('a table of edits: diagnostics, lenses, hovers and calls equal a fresh computation after each', () => {
      const live = new LiveInsight(example.workspace, example.shapes, example.baseline);
      const published = new Published();
      published.take(live.next([]));
      let incremental = 0;
      for (const e of EDITS[name]) {
        const path = join(EXAMPLES, name, e.file);
        const text = example.texts.get(path)!;
        assert.ok(typeof e.find === 'string' ? text.includes(e.find) : e.find.test(text), `${e.name}: ${e.file} contains ${String(e.find)}`);
        edit(example, path, text.replace(e.find, e.replace));
        const insight = live.next([path]);
        if (insight.dirtyFiles) incremental++;
        published.take(insight);
        assertSameView(insight, published, fresh(example), example, [path], e.name);
      }
      assert.ok(incremental > 0, 'some edits were taken in by difference');
    });

    it('seeded random edits, chained, with files removed and restored', () => {
      const random = rng(name.length * 104729);
      const live = new LiveInsight(example.workspace, example.shapes, example.baseline);
      const published = new Published();
      published.take(live.next([]));
      const files = [...example.texts.keys()].filter((p) => example.workspace.resources.some((r) => r.file.path === p && r.resource.mesh === mesh));
      let applied = 0;
      for (let step = 0; step < 120 && applied < 15; step++) {
        const path = files[Math.floor(random() * files.length)]!;
        if (random() < 0.1) {
          // The file closed and gone, then back (as the editor reads it from disk again).
          example.workspace.remove(path);
          published.take(live.next([path]));
          assertSameView(live.current!, published, fresh(example), example, [], `step ${step}: ${path} removed`);
          edit(example, path, example.texts.get(path)!);
          published.take(live.next([path]));
          continue;
        }
        const [pattern, replacement] = MUTATIONS[Math.floor(random() * MUTATIONS.length)]!;
        const text = example.texts.get(path)!;
        const hits = [...text.matchAll(pattern)];
        if (hits.length === 0) continue;
        const hit = hits[Math.floor(random() * hits.length)]!;
        const replaced = hit[0].replace(new RegExp(pattern.source, pattern.flags.replace('g', '')), replacement);
        edit(example, path, text.slice(0, hit.index) + replaced + text.slice(hit.index! + hit[0].length));
        applied++;
        const insight = live.next([path]);
        published.take(insight);
        assertSameView(insight, published, fresh(example), example, applied % 3 === 0 ? [path] : [], `step ${step}: ${path} ${pattern} → ${replacement}`);
      }
      assert.ok(applied >= 10, `${applied} edits applied`);
    });

    it('a change of rule severities starts the findings over, and they equal a fresh computation', () => {
      const live = new LiveInsight(example.workspace, example.shapes, example.baseline);
      const published = new Published();
      published.take(live.next([]));
      const rules: Record<string, RuleSetting> = { MPA4001: 'error', MPA4005: 'off' };
      const insight = live.next([], rules);
      assert.equal(insight.dirtyFiles, undefined);
      published.take(insight);
      assertSameView(insight, published, fresh(example, rules), example, [], 'severities changed');
    });
  });
}

describe('editor insight by difference: an edit that changes only why a call is decided as it is', () => {
  // Consul CE puts every service in namespace default; an intention with a Namespace makes the
  // simulator read namespaces (Consul Enterprise), so a caller known by its service name is then
  // described by the namespace the record gives. The call to billing, which no intention names,
  // stays decided by the default intention policy (same verdict, no deciding policy): only the
  // reason the MPA4004 finding quotes changes, and the finding must follow it.
  const dir = mkdtempSync(join(tmpdir(), 'mpa-live-reason-'));
  after(() => rmSync(dir, { recursive: true, force: true }));

  it('the uncovered-workload finding quotes the new reason', async () => {
    const workspace = new WorkspaceModel(defaultConfig(dir));
    const app = join(dir, 'billing.yaml');
    const intentions = join(dir, 'api.hcl');
    const entry = (extra: string) => `Kind = "service-intentions"\nName = "api"\n${extra}Sources = [\n  { Name = "web", Action = "allow" },\n]\n`;
    workspace.update(engine.prepare(engine.read(app, 'apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: billing, namespace: shop}\nspec:\n  template:\n    metadata: {labels: {app: billing}}\n    spec: {containers: [{name: billing}]}\n')));
    workspace.update(engine.prepare(engine.read(intentions, entry(''))));
    const logs = join(dir, 'calls.jsonl');
    writeFileSync(logs, '{"time":"2026-11-20T10:00:00Z","mesh":"consul","protocol":"tcp","source":{"service":"web","namespace":"shop"},"destination":{"service":"billing","namespace":"shop","workload":"billing"},"observed":"allowed","count":5}\n');
    const model = await ingestTraffic([logs], { inventory: workspace.inventory, config: workspace.config, keyHeaders: headersTestedBy(workspace), workers: 1 });
    const live = new LiveInsight(workspace, model.shapes);
    const published = new Published();
    const first = live.next([]);
    published.take(first);
    const uncovered = () => (published.findings.get(app) ?? []).filter((f) => f.code === 'MPA4004').map((f) => f.message);
    const [earlier] = first.result.outcomes.map((o) => o.decision);
    assert.equal(uncovered().length, 1);
    assert.ok(uncovered()[0]!.endsWith(`: ${earlier!.reason}`), uncovered()[0]);
    // The mesh is named as people write it, in the message and in the generate command's title.
    const finding = (published.findings.get(app) ?? []).find((f) => f.code === 'MPA4004') as { message: string; command?: { title: string } } | undefined;
    assert.match(finding!.message, /but no Consul policy covers it/);
    assert.equal(finding!.command?.title, 'Generate a least-privilege Consul policy for shop/billing from the observed calls');

    workspace.update(engine.prepare(engine.read(intentions, entry('Namespace = "payments"\n'))));
    const insight = live.next([intentions]);
    assert.notEqual(insight.dirtyFiles, undefined, 'taken in by difference');
    published.take(insight);
    const [now] = insight.result.outcomes.map((o) => o.decision);
    assert.deepEqual([now!.verdict, now!.policy, now!.rule], [earlier!.verdict, undefined, undefined], 'the same verdict, still by the default');
    assert.notEqual(now!.reason, earlier!.reason, 'only the reason changed');
    const fresh = new LiveInsight(workspace, model.shapes).next([]);
    assert.deepEqual(published.findings.get(app), fresh.findings(app));
    assert.ok(uncovered()[0]!.endsWith(`: ${now!.reason}`), uncovered()[0]);
  });
});

describe('editor insight by difference: the dry-run results the logs report otherwise (MPA4008)', () => {
  it('come and go with the version of the dry-run policy the logs were written with', async () => {
    const example = await loadExample('istio-dry-run');
    const path = join(EXAMPLES, 'istio-dry-run', 'security', 'dry-run.yaml');
    const live = new LiveInsight(example.workspace, example.shapes, example.baseline);
    const codes = (insight: TrafficInsight): string[] => insight.findings(path).map((f) => f.code);
    assert.deepEqual(codes(live.next([])), ['MPA4008'], 'the widened DENY differs from what was logged');
    // the version deployed when the logs were written (examples/README.md)
    const deployed = 'methods: ["DELETE"]\n            paths: ["/v1/accounts/*"]';
    const widened = 'methods: ["DELETE"]\n            paths: ["/v1/*"]';
    assert.ok(example.texts.get(path)!.includes(widened));
    edit(example, path, example.texts.get(path)!.replace(widened, deployed));
    assert.deepEqual(codes(live.next([path])), []);
    edit(example, path, example.texts.get(path)!.replace(deployed, widened));
    const again = live.next([path]);
    assert.deepEqual(codes(again), ['MPA4008']);
    assert.match(again.findings(path)[0]!.message, /^AuthorizationPolicy bank\/ledger-deny-deletes is in dry run; for 8 observed calls/);
  });
});

describe('editor insight by difference: denials the logs attribute to a policy the workspace does not have', () => {
  // The cluster enforced shop/deny-admin when the logs were written; the workspace has no such
  // policy, so the call comes out allowed by the mesh default (MPA4004 on the workload). The
  // finding says which denier the workspace lacks, and stops saying it once a policy of that name
  // exists, even one that decides nothing here: then the call's decision stays the same, and only
  // the set of the workspace's policies changed.
  const dir = mkdtempSync(join(tmpdir(), 'mpa-live-absent-'));
  after(() => rmSync(dir, { recursive: true, force: true }));

  it('MPA4004 names the absent denier until a policy of that name exists', async () => {
    const workspace = new WorkspaceModel(defaultConfig(dir));
    const app = join(dir, 'frontend.yaml');
    const policy = join(dir, 'policy.yaml');
    workspace.update(engine.prepare(engine.read(app, 'apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: frontend, namespace: shop}\nspec:\n  template:\n    metadata: {labels: {app: frontend}}\n    spec: {containers: [{name: frontend}]}\n')));
    const denyElsewhere = (name: string) => `apiVersion: security.istio.io/v1\nkind: AuthorizationPolicy\nmetadata: {name: ${name}, namespace: shop}\nspec:\n  selector: {matchLabels: {app: cart}}\n  action: DENY\n  rules:\n    - to: [{operation: {paths: ["/admin"]}}]\n`;
    workspace.update(engine.prepare(engine.read(policy, denyElsewhere('other'))));
    const logs = join(dir, 'calls.jsonl');
    writeFileSync(logs, '{"time":"2026-11-20T10:00:00Z","mesh":"istio","protocol":"http","source":{"principal":"cluster.local/ns/shop/sa/web","namespace":"shop"},"destination":{"namespace":"shop","workload":"frontend","port":8080},"request":{"method":"GET","path":"/admin"},"response":{"status":403,"details":"rbac_access_denied_matched_policy[ns[shop]-policy[deny-admin]-rule[0]]","deniedBy":"shop/deny-admin"},"observed":"denied","count":7}\n');
    const model = await ingestTraffic([logs], { inventory: workspace.inventory, config: workspace.config, keyHeaders: headersTestedBy(workspace), workers: 1 });
    const live = new LiveInsight(workspace, model.shapes);
    const published = new Published();
    published.take(live.next([]));
    const uncovered = () => (published.findings.get(app) ?? []).filter((f) => f.code === 'MPA4004').map((f) => f.message);
    assert.equal(uncovered().length, 1);
    assert.match(uncovered()[0]!, /The logs say AuthorizationPolicy shop\/deny-admin denied 7 of these calls; the workspace has no such resource/);

    workspace.update(engine.prepare(engine.read(policy, denyElsewhere('deny-admin'))));
    const insight = live.next([policy]);
    assert.notEqual(insight.dirtyFiles, undefined, 'taken in by difference');
    published.take(insight);
    assert.equal(insight.result.outcomes[0]!.decision.verdict, 'allow', 'the renamed policy selects another workload: the call is still allowed by the default');
    assert.equal(uncovered().length, 1);
    assert.doesNotMatch(uncovered()[0]!, /does not have|no such resource/);
    assert.deepEqual(published.findings.get(app), new LiveInsight(workspace, model.shapes).next([]).findings(app));
  });
});

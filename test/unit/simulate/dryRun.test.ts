import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { runSimulateCli } from '../../../server/src/cli/simulate';
import { defaultConfig } from '../../../server/src/engine/config/projectConfig';
import { Engine } from '../../../server/src/engine/engine';
import { LiveInsight } from '../../../server/src/engine/insight/live';
import { Simulation, simulateShapes } from '../../../server/src/engine/simulate';
import { dryRunDifference, dryRunTallies } from '../../../server/src/engine/simulate/dryRun';
import type { AccessRecord } from '../../../server/src/engine/traffic/accessRecord';
import { headersTestedBy } from '../../../server/src/engine/simulate/testedHeaders';
import { ingestTraffic } from '../../../server/src/engine/traffic/ingest/ingest';
import { WorkspaceModel } from '../../../server/src/engine/workspace';
import { scratchDir } from '../../helpers/scratch';

// What dry-run policies would have done with the observed calls (Istio `istio.io/dry-run`,
// mesh-semantics §1.3): they never decide a call, so their lenses, the CLI's summary and its JSON
// count their shadow verdicts instead. The expected counts follow from the calls below: the
// dry-run DENY matches the 3 DELETEs; the dry-run ALLOW matches the 7 GETs, and its engine would
// deny the 3 calls no dry-run ALLOW policy matches. The AUDIT policy marks the 3 DELETEs. Every
// call was observed allowed.

const POLICIES = `apiVersion: security.istio.io/v1
kind: AuthorizationPolicy
metadata:
  name: cart-deny-delete
  namespace: shop
  annotations: {istio.io/dry-run: "true"}
spec:
  selector:
    matchLabels: {app: cart}
  action: DENY
  rules:
  - to:
    - operation:
        methods: ["DELETE"]
---
apiVersion: security.istio.io/v1
kind: AuthorizationPolicy
metadata:
  name: cart-allow-get
  namespace: shop
  annotations: {istio.io/dry-run: "true"}
spec:
  selector:
    matchLabels: {app: cart}
  rules:
  - to:
    - operation:
        methods: ["POST"]
  - to:
    - operation:
        methods: ["GET"]
---
apiVersion: security.istio.io/v1
kind: AuthorizationPolicy
metadata:
  name: cart-audit-deletes
  namespace: shop
spec:
  selector:
    matchLabels: {app: cart}
  action: AUDIT
  rules:
  - to:
    - operation:
        methods: ["DELETE"]
`;

const call = (method: string, principal: string, count: number): string => JSON.stringify({
  time: '2026-11-28T10:00:00Z', mesh: 'istio', protocol: 'http',
  source: { principal, namespace: 'shop' }, destination: { namespace: 'shop', workload: 'cart', labels: { app: 'cart' }, port: 8080 },
  request: { method, path: '/cart', host: 'cart.shop.svc.cluster.local' }, response: { status: 200 }, observed: 'allowed', count,
});

const dir = scratchDir('mesh-policy-dry-run-');
const policies = join(dir, 'policies.yaml');
writeFileSync(policies, POLICIES);
writeFileSync(join(dir, 'calls.jsonl'), [
  call('GET', 'cluster.local/ns/shop/sa/frontend', 5),
  call('DELETE', 'cluster.local/ns/shop/sa/frontend', 3),
  call('GET', 'cluster.local/ns/shop/sa/batch', 2),
].join('\n') + '\n');

async function insight() {
  const engine = new Engine();
  const workspace = new WorkspaceModel(defaultConfig(dir));
  workspace.update(engine.prepare(engine.read(policies, POLICIES)));
  const model = await ingestTraffic([join(dir, 'calls.jsonl')], { config: workspace.config, inventory: workspace.inventory, keyHeaders: headersTestedBy(workspace), workers: 1 });
  return { workspace, shapes: model.shapes, insight: new LiveInsight(workspace, model.shapes).next([]) };
}

describe('dry-run and AUDIT policies: what they would do with the observed calls, and what they mark', () => {
  it('tallies each dry-run policy and its rules', async () => {
    const { workspace, shapes } = await insight();
    const tallies = dryRunTallies(simulateShapes(new Simulation(workspace), shapes).outcomes);
    assert.deepEqual(tallies.map((t) => [t.ref.label, t.engine, t.calls, t.matched, t.unknown, t.wouldDeny, t.wouldNewlyDeny, [...t.rules.values()].map((r) => [r.ref.label, r.matched])]), [
      ['AuthorizationPolicy shop/cart-deny-delete', 'deny', 10, 3, 0, 3, 3, [['rules[0]', 3]]],
      ['AuthorizationPolicy shop/cart-allow-get', 'allow', 10, 7, 0, 3, 3, [['rules[1]', 7]]],
    ]);
  });

  it('the lenses of a dry-run policy and its rules say what it would do', async () => {
    const { insight: view } = await insight();
    const titles = view.lenses(policies).map((l) => `${l.item.head.start.line + 1} ${l.title}`);
    assert.deepEqual(titles, [
      '1 dry run (not enforced): 10 calls · would deny 3 (3 now allowed)',
      '12 dry run: matches 3 calls',
      '16 dry run (not enforced): 10 calls · matches 7 · without the other ALLOW policies would deny 3 (3 now allowed)',
      '26 decides no observed call',
      '29 dry run: matches 7 calls',
      '33 audit: marks 3 calls (3 allowed · 0 denied)',
      '43 audit: marks 3 calls (3 allowed · 0 denied)',
    ]);
  });

  it('the hover of a dry-run policy lists the calls it would deny if enforced', async () => {
    const { insight: view } = await insight();
    const offset = POLICIES.indexOf('cart-deny-delete');
    const hover = view.hover(policies, offset)!;
    assert.match(hover, /dry run \(not enforced\): 10 calls · would deny 3 \(3 now allowed\)\./);
    assert.match(hover, /Calls it would deny if enforced:/);
    assert.match(hover, /\| DELETE \/cart \|/);
    assert.doesNotMatch(hover, /\| GET \/cart \|/);
    assert.doesNotMatch(hover, /It decides no observed call/);
  });

  it('simulate prints them apart from the deciding policies, in text and JSON', async () => {
    let stdout = '';
    const io = { stdout: (t: string) => { stdout += `${t}\n`; }, stderr: () => undefined, cwd: dir };
    assert.equal(await runSimulateCli(['--policies', 'policies.yaml', '--traffic', 'calls.jsonl'], io), 0);
    assert.match(stdout, /Dry-run policies \(not enforced\), what they would do:\n {2}policies\.yaml:4 AuthorizationPolicy shop\/cart-deny-delete \(DENY\): 10 calls · would deny 3 \(3 now allowed\)\n {6}rules\[0\]: matches 3\n {2}policies\.yaml:19 AuthorizationPolicy shop\/cart-allow-get \(ALLOW\): 10 calls · matches 7 · without the other ALLOW policies would deny 3 \(3 now allowed\)\n {6}rules\[1\]: matches 7\n/);
    assert.match(stdout, /AUDIT policies \(they mark calls for audit logging and decide nothing\):\n {2}policies\.yaml:36 AuthorizationPolicy shop\/cart-audit-deletes: marks 3 allowed · 0 denied\n {6}rules\[0\]: marks 3 allowed · 0 denied\n/);
    stdout = '';
    await runSimulateCli(['--policies', 'policies.yaml', '--traffic', 'calls.jsonl', '--format', 'json'], io);
    const json = JSON.parse(stdout) as { dryRun: { ref: { label: string; file: string }; matched: number }[]; calls: { dryRun?: { engine: string; verdict: string; policy: string; rule: string | null }[] }[] };
    assert.deepEqual(json.dryRun.map((d) => [d.ref.label, d.ref.file, d.matched]), [['AuthorizationPolicy shop/cart-deny-delete', 'policies.yaml', 3], ['AuthorizationPolicy shop/cart-allow-get', 'policies.yaml', 7]]);
    const deleteCall = json.calls.find((c) => c.dryRun?.some((s) => s.engine === 'deny' && s.verdict === 'deny'));
    assert.deepEqual(deleteCall?.dryRun?.map((s) => [s.engine, s.verdict, s.policy, s.rule]), [
      ['deny', 'deny', 'AuthorizationPolicy shop/cart-deny-delete', 'rules[0]'],
      ['allow', 'deny', 'AuthorizationPolicy shop/cart-allow-get', null],
    ]);
  });
});

describe('dry-run results a log reports, against the simulation', () => {
  // One dry-run DENY (matches DELETE) and one dry-run ALLOW (matches GET) at the cart; Envoy's two
  // shadow engines each log their result and the first matching policy (mesh-semantics §1.3).
  const engine = new Engine();
  const workspace = new WorkspaceModel(defaultConfig(dir));
  workspace.update(engine.prepare(engine.read(policies, POLICIES)));
  const simulation = new Simulation(workspace);
  const record = (method: string, dryRun: NonNullable<NonNullable<AccessRecord['response']>['dryRun']>): AccessRecord => ({
    ...JSON.parse(call(method, 'cluster.local/ns/shop/sa/frontend', 1)) as AccessRecord,
    response: { status: 200, dryRun },
  });
  const cases: { name: string; method: string; dryRun: NonNullable<NonNullable<AccessRecord['response']>['dryRun']>; expect: string | undefined }[] = [
    { name: 'both engines agree', method: 'DELETE', dryRun: { deny: { result: 'denied', policy: 'shop/cart-deny-delete' }, allow: { result: 'denied' } }, expect: undefined },
    { name: 'the matching policy agrees, without a name', method: 'GET', dryRun: { deny: { result: 'allowed' }, allow: { result: 'allowed' } }, expect: undefined },
    { name: 'nothing logged', method: 'GET', dryRun: {}, expect: undefined },
    { name: 'the DENY engine logged no match', method: 'DELETE', dryRun: { deny: { result: 'allowed' } }, expect: 'dry-run DENY: observed would not deny; simulated would deny (AuthorizationPolicy shop/cart-deny-delete rules[0] matches)' },
    { name: 'the ALLOW engine logged a denial', method: 'GET', dryRun: { allow: { result: 'denied' } }, expect: 'dry-run ALLOW: observed would deny; simulated would allow (AuthorizationPolicy shop/cart-allow-get rules[1] matches)' },
    { name: 'another matching policy named', method: 'DELETE', dryRun: { deny: { result: 'denied', policy: 'shop/older-deny' } }, expect: 'dry-run DENY: observed would deny (matched by shop/older-deny); simulated would deny (AuthorizationPolicy shop/cart-deny-delete rules[0] matches)' },
    { name: 'both engines differ', method: 'DELETE', dryRun: { deny: { result: 'allowed' }, allow: { result: 'allowed', policy: 'shop/cart-allow-get' } }, expect: 'dry-run DENY: observed would not deny; simulated would deny (AuthorizationPolicy shop/cart-deny-delete rules[0] matches); dry-run ALLOW: observed would allow (matched by shop/cart-allow-get); simulated would deny (no dry-run ALLOW policy matches)' },
  ];
  for (const c of cases) {
    it(c.name, () => {
      const r = record(c.method, c.dryRun);
      assert.equal(dryRunDifference(simulation.decide(r), r), c.expect);
    });
  }

  it('a logged engine where no dry-run policy applies', () => {
    const r: AccessRecord = { ...record('GET', { deny: { result: 'denied', policy: 'shop/gone' } }), destination: { namespace: 'shop', workload: 'orders', labels: { app: 'orders' }, port: 8080 } };
    assert.equal(dryRunDifference(simulation.decide(r), r), 'dry-run DENY: observed would deny (matched by shop/gone); simulated: no dry-run DENY policy applies to the call');
  });
});

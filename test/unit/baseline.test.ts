import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { cpSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { runSimulateCli } from '../../server/src/cli/simulate';
import { BaselineError, baselineWorkspace, compareWithBaseline, impactAt, impactLens, impactOfBaselinePolicy, impactSentence, readFilesAtRef } from '../../server/src/engine/baseline';
import { defaultConfig } from '../../server/src/engine/config/projectConfig';
import { Engine } from '../../server/src/engine/engine';
import { Simulation, simulateShapes } from '../../server/src/engine/simulate';
import { ingestTraffic } from '../../server/src/engine/traffic/ingest';
import { collectPolicyFiles } from '../../server/src/engine/workspaceFiles';
import { WorkspaceModel } from '../../server/src/engine/workspace';
import { EXAMPLES } from '../helpers/paths';

/**
 * Impact against git (#5 part 6) on a temporary repository: the Istio example policies are
 * committed, then payments-callers stops allowing POST /v1/charges from the frontend.
 */

const engine = new Engine();
const TRAFFIC = join(EXAMPLES, 'istio', 'traffic');

function gitIn(cwd: string, ...args: string[]): string {
  return execFileSync('git', ['-c', 'user.email=test@example.invalid', '-c', 'user.name=test', '-c', 'init.defaultBranch=main', ...args], { cwd, encoding: 'utf8' });
}

/** The istio example's policies committed, then changed by `edit` (by default, payments-callers' POST of charges becomes a GET). */
function repository(edit = (text: string) => text.replace('            methods: ["POST"]\n            paths: ["/v1/charges"]', '            methods: ["GET"]\n            paths: ["/v1/charges"]')): string {
  const dir = mkdtempSync(join(tmpdir(), 'mesh-policy-baseline-'));
  cpSync(join(EXAMPLES, 'istio', 'security'), join(dir, 'policies', 'security'), { recursive: true });
  cpSync(join(EXAMPLES, 'istio', 'app'), join(dir, 'policies', 'app'), { recursive: true });
  gitIn(dir, 'init', '-q');
  gitIn(dir, 'add', '.');
  gitIn(dir, 'commit', '-q', '-m', 'policies');
  const path = join(dir, 'policies', 'security', 'authorization-policies.yaml');
  const text = readFileSync(path, 'utf8');
  const edited = edit(text);
  assert.notEqual(edited, text);
  writeFileSync(path, edited);
  return dir;
}

async function current(dir: string) {
  const paths = [join(dir, 'policies')];
  const files = collectPolicyFiles(paths).files;
  const workspace = new WorkspaceModel(defaultConfig(dir));
  for (const f of files) workspace.update(engine.prepare(engine.read(f, readFileSync(f, 'utf8'))));
  const model = await ingestTraffic([TRAFFIC], { inventory: workspace.inventory, config: workspace.config, workers: 1 });
  return { paths, files, workspace, outcomes: simulateShapes(new Simulation(workspace), model.shapes).outcomes };
}

describe('baseline: policies at a git ref', () => {
  const dir = repository();

  it('counts the calls whose verdict changes since HEAD, per policy and rule', async () => {
    const now = await current(dir);
    const files = await readFilesAtRef(now.paths, 'HEAD', now.files);
    assert.equal(files.texts.size, now.files.length);
    assert.deepEqual([files.added, files.deleted], [[], []]);
    const comparison = compareWithBaseline(now.outcomes, new Simulation(baselineWorkspace(engine, files, now.workspace.config)), files);
    // Exactly the frontend's POST /v1/charges calls to payments were allowed by rules[0] at HEAD.
    const charges = now.outcomes.filter((o) => o.shape.record.source?.principal === 'cluster.local/ns/shop/sa/frontend' && o.shape.record.request?.method === 'POST' && o.shape.record.request.path === '/v1/charges');
    const expected = charges.reduce((sum, o) => sum + o.shape.count, 0);
    assert.ok(expected > 0);
    assert.equal(comparison.becomeDenied, expected);
    assert.equal(comparison.becomeAllowed, 0);
    assert.equal(comparison.otherwise, 0);
    assert.deepEqual(new Set(comparison.changed.map((c) => c.outcome)), new Set(charges));
    assert.equal(impactSentence('HEAD', comparison), `compared with HEAD, ${expected} allowed calls become denied and 0 denied calls become allowed`);
    const policy = comparison.policies.find((p) => p.ref.label === 'AuthorizationPolicy shop/allow-nothing' || p.ref.label === 'AuthorizationPolicy shop/payments-callers')!;
    assert.equal(policy.becomeDenied, expected);
    assert.equal(impactLens('HEAD', policy), `vs HEAD: ${expected} → denied`);
    assert.deepEqual(impactAt(comparison, policy.ref.file, policy.ref.range), policy);
    // At HEAD those calls were allowed by payments-callers rules[0], the rule that was edited.
    const policyFile = join(dir, 'policies', 'security', 'authorization-policies.yaml');
    assert.equal(impactOfBaselinePolicy(comparison, policyFile, 'AuthorizationPolicy shop/payments-callers', 'rules[0]')?.becomeDenied, expected);
    assert.equal(impactOfBaselinePolicy(comparison, policyFile, 'AuthorizationPolicy shop/payments-callers')?.becomeDenied, expected);
  });

  it('files added and deleted since the ref', async () => {
    const other = repository();
    const extra = join(other, 'policies', 'security', 'extra.yaml');
    writeFileSync(extra, 'apiVersion: security.istio.io/v1\nkind: AuthorizationPolicy\nmetadata: {name: extra, namespace: shop}\nspec: {action: DENY, rules: [{to: [{operation: {paths: ["/x"]}}]}]}\n');
    rmSync(join(other, 'policies', 'security', 'authz-gateway.yaml'));
    const now = await current(other);
    const files = await readFilesAtRef(now.paths, 'HEAD', now.files);
    assert.deepEqual(files.added, [extra]);
    assert.deepEqual(files.deleted, [join(other, 'policies', 'security', 'authz-gateway.yaml')]);
    assert.ok(files.texts.get(join(other, 'policies', 'security', 'authz-gateway.yaml'))!.includes('gateway-access'), 'a deleted file is read from the ref');
  });

  it('clear errors: not a repository, unknown ref, a ref that looks like an option', async () => {
    const plain = mkdtempSync(join(tmpdir(), 'mesh-policy-nogit-'));
    mkdirSync(join(plain, 'p'));
    await assert.rejects(readFilesAtRef([join(plain, 'p')], 'HEAD', []), (e: unknown) => e instanceof BaselineError && /not inside a git repository/.test(e.message));
    await assert.rejects(readFilesAtRef([join(dir, 'policies')], 'no-such-branch', []), (e: unknown) => e instanceof BaselineError && /unknown git ref "no-such-branch"/.test(e.message));
    await assert.rejects(readFilesAtRef([join(dir, 'policies')], '--output=/tmp/x', []), (e: unknown) => e instanceof BaselineError && /not a git ref/.test(e.message));
    const empty = mkdtempSync(join(tmpdir(), 'mesh-policy-empty-'));
    gitIn(empty, 'init', '-q');
    await assert.rejects(readFilesAtRef([empty], 'HEAD', []), (e: unknown) => e instanceof BaselineError && /no commit yet/.test(e.message));
  });
});

describe('mesh-policy simulate --baseline', () => {
  const dir = repository();
  async function run(...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
    let stdout = '';
    let stderr = '';
    const code = await runSimulateCli(['--policies', 'policies', '--traffic', TRAFFIC, ...args], { stdout: (t) => { stdout += `${t}\n`; }, stderr: (t) => { stderr += `${t}\n`; }, cwd: dir });
    return { code, stdout, stderr };
  }

  it('text: changed calls that differ only in their query string are one row', async () => {
    // frontend-from-gateway's action in upper case: stored now, so the gateway's calls to the frontend become allowed
    const fixed = repository((text) => text.replace('action: allow', 'action: ALLOW'));
    let stdout = '';
    await runSimulateCli(['--policies', 'policies', '--traffic', TRAFFIC, '--baseline', 'HEAD'], { stdout: (t) => { stdout += `${t}\n`; }, stderr: () => {}, cwd: fixed });
    const changed = stdout.slice(stdout.indexOf('Calls whose verdict differs from HEAD'));
    assert.match(changed, /deny → allow +[\d,]+× +cluster\.local\/ns\/shop\/sa\/shop-gateway-istio → shop\/frontend:8080 GET \/products\?… \([2-9]\d* query strings\)/, changed);
    assert.doesNotMatch(changed, /GET \/products\?[^…]/, 'no row of one query string alone');
  });

  it('text: the sentence, per policy lines and the changed calls; exit 1 when any call becomes denied', async () => {
    const { code, stdout } = await run('--baseline', 'HEAD');
    assert.equal(code, 1);
    const sentence = /Baseline HEAD \([0-9a-f]{12}\): compared with HEAD, (\d+) allowed calls become denied and 0 denied calls become allowed\./.exec(stdout);
    assert.ok(sentence, stdout);
    assert.match(stdout, /allow → deny +\d+× +cluster\.local\/ns\/shop\/sa\/frontend → shop\/payments:9090 POST \/v1\/charges/);
    const threshold = Number(sentence[1]);
    assert.equal((await run('--baseline', 'HEAD', '--fail-on-newly-denied', String(threshold))).code, 0);
    assert.equal((await run('--baseline', 'HEAD', '--fail-on-newly-denied', String(threshold - 1))).code, 1);
  });

  it('json and sarif', async () => {
    const json = JSON.parse((await run('--baseline', 'HEAD', '--format', 'json', '--fail-on-newly-denied', '100000')).stdout);
    assert.equal(json.baseline.ref, 'HEAD');
    assert.ok(json.baseline.becomeDenied > 0 && json.baseline.calls.every((c: { before: string; after: string }) => c.before === 'allow' && c.after === 'deny'));
    const sarif = JSON.parse((await run('--baseline', 'HEAD', '--format', 'sarif')).stdout);
    // MPA4006, as the editor shows it: on the policy that decides the calls now (the edited rule
    // no longer allows them, so the namespace's allow-nothing denies them).
    const results = sarif.runs[0].results.filter((r: { ruleId: string }) => r.ruleId === 'MPA4006');
    const sentence = `AuthorizationPolicy shop/allow-nothing: compared with HEAD, ${json.baseline.becomeDenied} allowed calls become denied and 0 denied calls become allowed`;
    assert.deepEqual(results.map((r: { message: { text: string }; locations: { physicalLocation: { artifactLocation: { uri: string } } }[] }) => `${r.locations[0]!.physicalLocation.artifactLocation.uri} ${r.message.text}`), [`policies/security/authorization-policies.yaml ${sentence}`]);
  });

  it('usage errors exit 2 with a clear message', async () => {
    const unknown = await run('--baseline', 'nope');
    assert.equal(unknown.code, 2);
    assert.match(unknown.stderr, /--baseline: unknown git ref "nope"/);
    const bad = await run('--baseline', 'HEAD', '--fail-on-newly-denied', 'many');
    assert.equal(bad.code, 2);
    assert.match(bad.stderr, /--fail-on-newly-denied must be a whole number/);
  });
});

describe('baseline workspace with the workspace as it is now', () => {
  it('takes the workloads of files the ref does not have, and none of their policies', () => {
    const deployment = (name: string) => `apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: ${name}, namespace: shop}\nspec:\n  selector: {matchLabels: {app: ${name}}}\n  template:\n    metadata: {labels: {app: ${name}}}\n    spec: {containers: [{name: c, image: c}]}\n`;
    const policy = 'apiVersion: security.istio.io/v1\nkind: AuthorizationPolicy\nmetadata: {name: new-policy, namespace: shop}\nspec: {action: ALLOW}\n';
    const now = new WorkspaceModel(defaultConfig('/ws'));
    now.update(engine.prepare(engine.read('/ws/k8s/cart.yaml', deployment('cart'))));
    // added since the ref: a workload and a policy in one file, and an inventory file outside the compared paths
    now.update(engine.prepare(engine.read('/ws/k8s/added.yaml', `${deployment('web')}---\n${policy}`)));
    now.update(engine.prepare(engine.read('/inventory/db.yaml', deployment('db'))));
    const files = { ref: 'HEAD', commit: '0'.repeat(40), root: '/ws', texts: new Map([['/ws/k8s/cart.yaml', deployment('cart')]]), added: ['/ws/k8s/added.yaml'], deleted: [] };
    const then = baselineWorkspace(engine, files, now.config, now);
    assert.deepEqual(then.inventory.workloads.map((w) => w.name).sort(), ['cart', 'db', 'web']);
    assert.deepEqual(then.resources.map((r) => r.resource.name), []);
    // without the workspace of now: only what the ref holds
    assert.deepEqual(baselineWorkspace(engine, files, now.config).inventory.workloads.map((w) => w.name), ['cart']);
  });
});

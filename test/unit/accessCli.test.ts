import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { copyFileSync, mkdtempSync, rmSync, writeFileSync, mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { runAccessCli } from '../../server/src/cli/access';
import { runSimulateCli } from '../../server/src/cli/simulate';
import { runTrafficCli } from '../../server/src/cli/traffic';
import { FIXTURES, REPO_ROOT } from '../helpers/paths';
import { unreadableTrafficFiles } from '../helpers/unreadable';
import { scratchDir } from '../helpers/scratch';

async function run(args: string[], cwd = REPO_ROOT): Promise<{ code: number; stdout: string; stderr: string }> {
  let stdout = '';
  let stderr = '';
  const code = await runAccessCli(args, { stdout: (t) => { stdout += `${t}\n`; }, stderr: (t) => { stderr += `${t}\n`; }, cwd });
  return { code, stdout, stderr };
}


describe('mesh-policy access on the examples', () => {
  it('examples/istio: payments:9090 admits the frontend depending on method and path, refuses plaintext under STRICT mTLS; the metrics port is open to all', async () => {
    const { code, stdout, stderr } = await run(['--policies', 'examples/istio', '--to', 'shop/payments']);
    assert.equal(code, 0, stderr);
    assert.match(stdout, /^Istio: 4 callers × 2 destination ports$/m);
    assert.match(stdout, /^ {2}open to every caller, plaintext included: shop\/payments:9102$/m);
    const block = stdout.split('\n\n').find((b) => b.startsWith('  shop/payments:9090'))!;
    assert.match(block, /depends +shop\/frontend\n +depends on request\.method, request\.path \(AuthorizationPolicy shop\/payments-callers\) +\[examples\/istio\/security\/authorization-policies\.yaml:61\]/);
    assert.match(block, /deny +- \(no identity\)\n +denied before authorization: PeerAuthentication shop\/payments-metrics requires mutual TLS \(STRICT\)/);
    const metrics = stdout.split('\n\n').find((b) => b.startsWith('  shop/payments:9102'))!;
    assert.match(metrics, /allow +shop\/cart, shop\/frontend, shop\/payments, - \(no identity\)\n +allowed by ALLOW policy shop\/payments-callers rules\[2\]/);
  });

  it('--format json holds every cell; md a table per mesh', async () => {
    const json = await run(['--policies', 'examples/consul', '--format', 'json']);
    assert.equal(json.code, 0, json.stderr);
    const map = JSON.parse(json.stdout) as { meshes: Array<{ mesh: string; callers: unknown[]; rows: Array<{ cells: unknown[] }> }> };
    assert.deepEqual(map.meshes.map((m) => m.mesh), ['consul']);
    for (const m of map.meshes) for (const row of m.rows) assert.equal(row.cells.length, m.callers.length);
    const md = await run(['--policies', 'examples/linkerd', '--format', 'md']);
    assert.match(md.stdout, /^\| Destination \| Allowed \| Depends on the request \| Denied \|$/m);
  });

  it('--request decides every cell for one request: the frontend may POST /v1/charges to payments, nobody else', async () => {
    const { code, stdout, stderr } = await run(['--policies', 'examples/istio', '--to', 'shop/payments', '--request', 'POST /v1/charges']);
    assert.equal(code, 0, stderr);
    assert.match(stdout, /^Every cell is decided for the request POST \/v1\/charges/);
    const block = stdout.split('\n\n').find((b) => b.startsWith('  shop/payments:9090'))!;
    assert.match(block, /allow +shop\/frontend\n +allowed by ALLOW policy shop\/payments-callers rules\[0\]/);
    assert.equal((await run(['--policies', 'examples/istio', '--request', 'get /x'])).code, 2);
  });

  it('--traffic sets the map against the logs: the callers they show are mapped, each cell says its calls, and what fits no cell is counted with why', async () => {
    const { code, stdout, stderr } = await run(['--policies', 'examples/linkerd', '--traffic', 'examples/linkerd/traffic', '--format', 'json']);
    assert.equal(code, 0, stderr);
    const map = JSON.parse(stdout) as { meshes: Array<{ callers: Array<{ key: string; workloads: string[] }>; rows: Array<{ cells: Array<{ caller: string; observed?: { calls: number; allowed: number; denied: number } }> }> }>; notes: string[] };
    const linkerd = map.meshes[0]!;
    // the logs' callers outside the inventory (Prometheus, the ingress) are mapped, with no workload
    assert.ok(linkerd.callers.some((c) => c.key === 'linkerd-viz/prometheus' && c.workloads.length === 0), JSON.stringify(linkerd.callers.map((c) => c.key)));
    for (const row of linkerd.rows) for (const cell of row.cells) assert.ok(cell.observed && cell.observed.calls >= cell.observed.allowed + cell.observed.denied);
    const cellCalls = linkerd.rows.reduce((n, r) => n + r.cells.reduce((m, c) => m + c.observed!.calls, 0), 0);
    let jsonl = '';
    assert.equal(await runTrafficCli(['examples/linkerd/traffic', '--inventory', 'examples/linkerd', '--format', 'jsonl'], { stdout: (t) => { jsonl += `${t}\n`; }, stderr: () => undefined, cwd: REPO_ROOT }), 0);
    const traffic = jsonl.trim().split('\n').reduce((n, line) => n + ((JSON.parse(line) as { count?: number }).count ?? 1), 0);
    const apart = /^(\d+) calls in the logs are in no cell: /.exec(map.notes.find((n) => n.includes('in no cell')) ?? '0 calls in the logs are in no cell: ');
    // every call the logs hold is in a cell or counted apart
    assert.equal(cellCalls + Number(apart?.[1] ?? 0), traffic);
  });

  it('a --traffic file that cannot be read: named, the map of the rest printed, exit 2 as simulate gives', { timeout: 60_000 }, async () => {
    const dir = scratchDir('mesh-policy-access-unreadable-');
    const cases = unreadableTrafficFiles(dir);
    for (const [traffic, said] of cases) {
      const access = await run(['--policies', 'examples/istio', '--traffic', traffic]);
      assert.equal(access.code, 2, traffic);
      assert.match(access.stderr, said);
      assert.match(access.stdout, /^Istio: \d+ callers × \d+ destination ports$/m);
      const simulate = await runSimulateCli(['--policies', 'examples/istio', '--traffic', traffic], { stdout: () => undefined, stderr: () => undefined, cwd: REPO_ROOT });
      assert.equal(simulate, access.code, `simulate and access agree on ${traffic}`);
    }
  });

  it('maps only the container ports Kubernetes admits: never NaN, 0 or out of range', async () => {
    const dir = scratchDir('mesh-policy-access-ports-');
    copyFileSync(join(FIXTURES, 'inventory', 'bad-ports.yaml'), join(dir, 'cart.yaml'));
    const { code, stdout, stderr } = await run(['--policies', 'cart.yaml'], dir);
    assert.equal(code, 0, stderr);
    assert.deepEqual(stdout.split('\n').filter((l) => l.startsWith('  shop/')), ['  shop/cart:8080 (port web, protocol detected)']);
  });

  it('usage errors exit 2', async () => {
    assert.equal((await run([])).code, 2);
    assert.equal((await run(['--policies', 'examples/istio', '--fail-on-new-access'])).code, 2);
    assert.equal((await run(['--policies', 'examples/istio', '--to', 'a/b/c'])).code, 2);
    assert.equal((await run(['--policies', 'examples/istio', '--mesh', 'cilium'])).code, 2);
  });

  it('a switch given a value, or --from/--to given twice, is a usage error rather than read another way', async () => {
    // "--fail-on-new-access=false" read as on, and a second --from replacing the first, both unsaid
    const valued = await run(['--policies', 'examples/istio', '--baseline', 'HEAD', '--fail-on-new-access=false']);
    assert.equal(valued.code, 2);
    assert.match(valued.stderr, /^mesh-policy: --fail-on-new-access takes no value \(got "--fail-on-new-access=false"\)/);
    for (const flag of ['--from', '--to']) {
      const twice = await run(['--policies', 'examples/istio', flag, 'shop', flag, 'web']);
      assert.equal(twice.code, 2, flag);
      assert.match(twice.stderr, new RegExp(`^mesh-policy: ${flag} takes one namespace or name: give it once`));
    }
  });
});

describe('mesh-policy access --baseline', () => {
  const repo = mkdtempSync(join(tmpdir(), 'mpa-access-'));
  after(() => rmSync(repo, { recursive: true, force: true }));
  const git = (...args: string[]) => execFileSync('git', args, { cwd: repo, env: { ...process.env, GIT_AUTHOR_NAME: 't', GIT_AUTHOR_EMAIL: 't@t', GIT_COMMITTER_NAME: 't', GIT_COMMITTER_EMAIL: 't@t' } });
  const inventory = ['web', 'cart'].map((name) => `apiVersion: apps/v1
kind: Deployment
metadata: {name: ${name}, namespace: shop}
spec:
  selector: {matchLabels: {app: ${name}}}
  template:
    metadata: {labels: {app: ${name}}, annotations: {sidecar.istio.io/inject: "true"}}
    spec: {serviceAccountName: ${name}, containers: [{name: ${name}, image: ${name}, ports: [{containerPort: 8080}]}]}
`).join('---\n');
  const allowFrom = (principals: string) => `apiVersion: security.istio.io/v1
kind: AuthorizationPolicy
metadata: {name: cart-callers, namespace: shop}
spec:
  selector: {matchLabels: {app: cart}}
  action: ALLOW
  rules: [{from: [{source: {principals: [${principals}]}}]}]
`;

  it('lists what a change opened and closed, and --fail-on-new-access exits 1 only when access opened', async () => {
    mkdirSync(join(repo, 'k8s'));
    writeFileSync(join(repo, 'k8s', 'apps.yaml'), inventory);
    writeFileSync(join(repo, 'k8s', 'policy.yaml'), allowFrom('cluster.local/ns/shop/sa/cart'));
    git('init', '-q');
    git('add', '.');
    git('commit', '-qm', 'start');
    writeFileSync(join(repo, 'k8s', 'policy.yaml'), allowFrom('cluster.local/ns/shop/sa/web'));
    const opened = await run(['--policies', 'k8s', '--baseline', 'HEAD', '--fail-on-new-access'], repo);
    assert.equal(opened.code, 1, opened.stderr);
    assert.match(opened.stdout, /^Access changed since HEAD: 1 opened, 1 closed, 0 decided otherwise$/m);
    assert.match(opened.stdout, /^ {2}opened +Istio {2}shop\/web → shop\/cart:8080 {2}deny → allow$/m);
    assert.match(opened.stdout, /^ {2}closed +Istio {2}shop\/cart → shop\/cart:8080 {2}allow → deny$/m);
    // GitHub annotations on the policy line that decides each changed cell now
    const annotated = await run(['--policies', 'k8s', '--baseline', 'HEAD', '--fail-on-new-access', '--format', 'github'], repo);
    assert.equal(annotated.code, 1);
    assert.deepEqual(annotated.stdout.trim().split('\n'), [
      '::error file=k8s/policy.yaml,line=7,endLine=7,title=Access opened%3A shop/web → shop/cart%3A8080::Istio: deny at HEAD, allow now: allowed by ALLOW policy shop/cart-callers rules[0]',
      '::notice file=k8s/policy.yaml,line=3,endLine=3,title=Access closed%3A shop/cart → shop/cart%3A8080::Istio: allow at HEAD, deny now: denied: no ALLOW policy matches the call (ALLOW policy shop/cart-callers applies to the workload, so anything it does not allow is denied)',
    ]);
    assert.equal((await run(['--policies', 'k8s', '--format', 'github'], repo)).code, 2);
    // the same changes as SARIF results for code scanning, at the same places
    const scanned = await run(['--policies', 'k8s', '--baseline', 'HEAD', '--fail-on-new-access', '--format', 'sarif'], repo);
    assert.equal(scanned.code, 1);
    const sarif = JSON.parse(scanned.stdout) as { version: string; runs: { tool: { driver: { rules: { id: string }[] } }; results: { ruleId: string; ruleIndex: number; level: string; message: { text: string }; locations: { physicalLocation: { artifactLocation: { uri: string }; region: { startLine: number } } }[]; properties: Record<string, string> }[] }[] };
    assert.equal(sarif.version, '2.1.0');
    const [sarifRun] = sarif.runs;
    assert.deepEqual(sarifRun!.tool.driver.rules.map((r) => r.id), ['access/closed', 'access/opened']);
    assert.deepEqual(sarifRun!.results.map((r) => [r.ruleId, sarifRun!.tool.driver.rules[r.ruleIndex]!.id, r.level, r.locations[0]!.physicalLocation.artifactLocation.uri, r.locations[0]!.physicalLocation.region.startLine, r.properties['caller'], r.properties['before'], r.properties['after']]), [
      ['access/opened', 'access/opened', 'error', 'k8s/policy.yaml', 7, 'shop/web', 'deny', 'allow'],
      ['access/closed', 'access/closed', 'note', 'k8s/policy.yaml', 3, 'shop/cart', 'allow', 'deny'],
    ]);
    assert.match(sarifRun!.results[0]!.message.text, /^Access opened: shop\/web → shop\/cart:8080\. Istio: deny at HEAD, allow now: allowed by ALLOW policy shop\/cart-callers rules\[0\]$/);
    // without --fail-on-new-access an opened cell is a warning, and the exit code 0
    const warned = await run(['--policies', 'k8s', '--baseline', 'HEAD', '--format', 'sarif'], repo);
    assert.equal(warned.code, 0);
    assert.equal((JSON.parse(warned.stdout) as typeof sarif).runs[0]!.results[0]!.level, 'warning');
    assert.equal((await run(['--policies', 'k8s', '--format', 'sarif'], repo)).code, 2);
    git('commit', '-qam', 'web calls cart');
    writeFileSync(join(repo, 'k8s', 'policy.yaml'), allowFrom('cluster.local/ns/shop/sa/nobody'));
    const closed = await run(['--policies', 'k8s', '--baseline', 'HEAD', '--fail-on-new-access', '--format', 'json'], repo);
    assert.equal(closed.code, 0, closed.stderr);
    const result = JSON.parse(closed.stdout) as { baseline: string; changes: Array<{ direction: string; caller: string }> };
    assert.deepEqual(result.changes.map((c) => `${c.direction} ${c.caller}`), ['closed shop/web']);
    const bad = await run(['--policies', 'k8s', '--baseline', 'no-such-ref'], repo);
    assert.equal(bad.code, 2);
    assert.match(bad.stderr, /--baseline/);
  });
});

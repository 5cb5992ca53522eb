import assert from 'node:assert/strict';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { runExplainCli, runSimulateCli } from '../../server/src/cli/simulate';
import { runTrafficCli } from '../../server/src/cli/traffic';
import { headersTestedBy } from '../../server/src/engine/simulate/testedHeaders';
import { Engine } from '../../server/src/engine/engine';
import { WorkspaceModel } from '../../server/src/engine/workspace';
import { REPO_ROOT } from '../helpers/paths';
import { scratchDir } from '../helpers/scratch';
import { CART_READERS_WORKSPACE } from '../helpers/cartReaders';

async function run(args: string[], cwd = REPO_ROOT, command: 'simulate' | 'explain' = 'simulate'): Promise<{ code: number; stdout: string; stderr: string }> {
  let stdout = '';
  let stderr = '';
  const io = { stdout: (t: string) => { stdout += `${t}\n`; }, stderr: (t: string) => { stderr += `${t}\n`; }, cwd };
  const code = command === 'simulate' ? await runSimulateCli(args, io) : runExplainCli(args, io);
  return { code, stdout, stderr };
}

/** A small Istio workspace: a namespace-wide allow-nothing plus one ALLOW for GET from frontend. */
const dir = scratchDir('mesh-policy-simulate-');
writeFileSync(join(dir, 'policies.yaml'), CART_READERS_WORKSPACE);
const call = (method: string, principal: string, observed: string) => JSON.stringify({
  time: '2026-11-28T10:00:00Z', mesh: 'istio', protocol: 'http',
  source: { principal, namespace: 'shop' }, destination: { namespace: 'shop', workload: 'cart', labels: { app: 'cart' }, port: 8080 },
  request: { method, path: '/cart', host: 'cart.shop.svc.cluster.local' }, response: { status: observed === 'allowed' ? 200 : 403 }, observed,
});
writeFileSync(join(dir, 'calls.jsonl'), [
  call('GET', 'cluster.local/ns/shop/sa/frontend', 'allowed'),
  call('DELETE', 'cluster.local/ns/shop/sa/frontend', 'allowed'),
  'this line is not JSON',
  call('GET', 'cluster.local/ns/shop/sa/frontend', 'allowed'),
  call('GET', 'cluster.local/ns/shop/sa/batch', 'denied'),
].join('\n') + '\n');

describe('mesh-policy simulate', () => {
  it('jsonl: one line per input record, in input order, with decision, policy, rule and change', async () => {
    const result = await run(['--policies', 'policies.yaml', '--traffic', 'calls.jsonl', '--format', 'jsonl'], dir);
    const lines = result.stdout.trim().split('\n').map((l) => JSON.parse(l) as Record<string, unknown>);
    assert.deepEqual(lines.map((l) => [l['file'], l['record'], l['decision'], l['change']]), [
      ['calls.jsonl', 1, 'allow', 'unchanged'],
      ['calls.jsonl', 2, 'deny', 'newly-denied'],
      ['calls.jsonl', 4, 'allow', 'unchanged'],
      ['calls.jsonl', 5, 'deny', 'unchanged'],
    ]);
    assert.equal(lines[0]!['policy'], 'AuthorizationPolicy shop/cart-readers');
    assert.equal(lines[0]!['rule'], 'rules[0]');
    assert.equal(lines[0]!['mesh'], 'istio');
    assert.equal(result.code, 1, 'a newly denied call makes the exit code 1');
  });

  it('text: a summary per policy and rule and the changes', async () => {
    const result = await run(['--policies', 'policies.yaml', '--traffic', 'calls.jsonl'], dir);
    assert.match(result.stdout, /Simulated 4 calls/);
    assert.match(result.stdout, /AuthorizationPolicy shop\/cart-readers: 2 allowed · 0 denied/);
    assert.match(result.stdout, /newly denied\s+1×\s+cluster\.local\/ns\/shop\/sa\/frontend → shop\/cart:8080 DELETE \/cart/);
  });

  it('text: calls that print alike (two cart pods) are one row, their calls summed', async () => {
    const onPod = (ip: string) => JSON.stringify({ ...JSON.parse(call('DELETE', 'cluster.local/ns/shop/sa/frontend', 'allowed')), destination: { namespace: 'shop', workload: 'cart', labels: { app: 'cart' }, port: 8080, ip } });
    writeFileSync(join(dir, 'two-pods.jsonl'), [onPod('10.0.0.1'), onPod('10.0.0.1'), onPod('10.0.0.2')].join('\n') + '\n');
    const text = (await run(['--policies', 'policies.yaml', '--traffic', 'two-pods.jsonl'], dir)).stdout;
    const rows = text.split('\n').filter((l) => /^\s+newly denied/.test(l));
    assert.equal(rows.length, 1, text);
    assert.match(rows[0]!, /newly denied\s+3×\s+cluster\.local\/ns\/shop\/sa\/frontend → shop\/cart:8080 DELETE \/cart\s+— .*\[two-pods\.jsonl:1\]$/);
  });

  it('text: paths that differ only in their query string are one row, printed /path?… with their count', async () => {
    const withPath = (path: string) => JSON.stringify({ ...JSON.parse(call('DELETE', 'cluster.local/ns/shop/sa/frontend', 'allowed')), request: { method: 'DELETE', path, host: 'cart.shop.svc.cluster.local' } });
    writeFileSync(join(dir, 'queries.jsonl'), [withPath('/cart?t=1'), withPath('/cart?t=2'), withPath('/cart?t=2'), withPath('/other')].join('\n') + '\n');
    const text = (await run(['--policies', 'policies.yaml', '--traffic', 'queries.jsonl'], dir)).stdout;
    const rows = text.split('\n').filter((l) => /^\s+newly denied/.test(l));
    assert.equal(rows.length, 2, text);
    assert.match(rows[0]!, /newly denied\s+3×\s+cluster\.local\/ns\/shop\/sa\/frontend → shop\/cart:8080 DELETE \/cart\?… \(2 query strings\)\s+— .*\[queries\.jsonl:2\]$/);
    assert.match(rows[1]!, /newly denied\s+1×\s+.* DELETE \/other\s+—/);
  });

  it('sarif: the editor\'s traffic findings, newly denied calls (MPA4001) on the deciding policy, their log lines related', async () => {
    const sarif = JSON.parse((await run(['--policies', 'policies.yaml', '--traffic', 'calls.jsonl', '--format', 'sarif'], dir)).stdout);
    type Location = { artifactLocation: { uri: string }; region: { startLine: number } };
    const results = sarif.runs[0].results as { ruleId: string; level: string; message: { text: string }; locations: { physicalLocation: Location }[]; relatedLocations?: { physicalLocation: Location; message: { text: string } }[] }[];
    // The DELETE is allowed by no rule of cart-readers: the ALLOW policy's own denial, at its name.
    const denied = results.filter((r) => r.ruleId === 'MPA4001');
    assert.equal(denied.length, 1, JSON.stringify(results));
    assert.equal(denied[0]!.level, 'warning');
    assert.equal(denied[0]!.locations[0]!.physicalLocation.artifactLocation.uri, 'policies.yaml');
    assert.match(denied[0]!.message.text, /would deny 1 observed call that succeeded: cluster\.local\/ns\/shop\/sa\/frontend → shop\/cart:8080 DELETE \/cart/);
    assert.deepEqual(denied[0]!.relatedLocations!.map((r) => `${r.physicalLocation.artifactLocation.uri}:${r.physicalLocation.region.startLine}`), ['calls.jsonl:2']);
    const rules = sarif.runs[0].tool.driver.rules as { id: string; shortDescription: { text: string } }[];
    assert.ok(rules.some((r) => r.id === 'MPA4001' && r.shortDescription.text === 'Would deny observed calls that succeeded'));
  });

  it('--fail-on-newly-allowed: a gate on calls that become allowed, off unless given', async () => {
    // The logs show the DELETE denied: a policy that allows every call of frontend opens it.
    const open = join(dir, 'open');
    mkdirSync(open, { recursive: true });
    writeFileSync(join(open, 'policies.yaml'), readFileSync(join(dir, 'policies.yaml'), 'utf8').replace('        methods: ["GET"]\n', '        methods: ["GET", "DELETE"]\n'));
    writeFileSync(join(open, 'calls.jsonl'), `${call('GET', 'cluster.local/ns/shop/sa/frontend', 'allowed')}\n${call('DELETE', 'cluster.local/ns/shop/sa/frontend', 'denied')}\n`);
    const args = ['--policies', 'policies.yaml', '--traffic', 'calls.jsonl'];
    assert.equal((await run(args, open)).code, 0, 'no gate by default: opening access is often the point');
    assert.equal((await run([...args, '--fail-on-newly-allowed', '0'], open)).code, 1);
    assert.equal((await run([...args, '--fail-on-newly-allowed', '1'], open)).code, 0, 'one call became allowed: within 1');
    const sarif = JSON.parse((await run([...args, '--format', 'sarif'], open)).stdout);
    const allowed = sarif.runs[0].results.filter((r: { ruleId: string }) => r.ruleId === 'MPA4002');
    assert.equal(allowed.length, 1);
    assert.match(allowed[0].message.text, /would allow 1 observed call that were denied: .* DELETE \/cart/);
    const bad = await run([...args, '--fail-on-newly-allowed', 'some'], open);
    assert.equal(bad.code, 2);
    assert.match(bad.stderr, /--fail-on-newly-allowed must be a whole number of calls \(got "some"\)/);
  });

  it('a bad --format or --max-lines says what the command takes', async () => {
    const args = ['--policies', 'examples/istio', '--traffic', 'examples/istio/traffic'];
    assert.match((await run([...args, '--format', 'xml'])).stderr, /^mesh-policy: --format must be text, json, jsonl or sarif \(got "xml"\)/);
    assert.match((await run(['--policies', 'examples/istio', '--call', 'shop/a -> shop/b', '--format', 'sarif'], REPO_ROOT, 'explain')).stderr, /^mesh-policy: --format must be text or json \(got "sarif"\)/);
    for (const value of ['', '0x10', '1.5', '0']) {
      const result = await run([...args, `--max-lines=${value}`]);
      assert.equal(result.code, 2, value);
      assert.match(result.stderr, new RegExp(`^mesh-policy: --max-lines must be a whole number from 1 \\(got "${value.replace('.', '\\.')}"\\)`));
    }
  });

  it('sarif: the artifact URI is percent-encoded, as lint writes it (RFC 3986: a space, "#")', async () => {
    mkdirSync(join(dir, 'my policies'), { recursive: true });
    writeFileSync(join(dir, 'my policies', 'cart #2.yaml'), readFileSync(join(dir, 'policies.yaml'), 'utf8'));
    const sarif = JSON.parse((await run(['--policies', 'my policies/cart #2.yaml', '--traffic', 'calls.jsonl', '--format', 'sarif'], dir)).stdout);
    assert.equal(sarif.runs[0].results[0].locations[0].physicalLocation.artifactLocation.uri, 'my%20policies/cart%20%232.yaml');
  });

  it('json: the whole result', async () => {
    const json = JSON.parse((await run(['--policies', 'policies.yaml', '--traffic', 'calls.jsonl', '--format', 'json'], dir)).stdout);
    assert.equal(json.totals.calls, 4);
    assert.equal(json.totals.newlyDenied, 1);
    assert.equal(json.stats.skipped, 1);
  });

  it('only --policies decide: a policy found under --inventory gives its manifests only', async () => {
    const inventoryDir = join(dir, 'cluster');
    mkdirSync(inventoryDir, { recursive: true });
    writeFileSync(join(inventoryDir, 'dump.yaml'), 'apiVersion: security.istio.io/v1\nkind: AuthorizationPolicy\nmetadata: {name: deny-all-from-dump, namespace: shop}\nspec: {action: DENY, rules: [{}]}\n---\napiVersion: v1\nkind: Namespace\nmetadata: {name: shop}\n');
    const alone = JSON.parse((await run(['--policies', 'policies.yaml', '--traffic', 'calls.jsonl', '--format', 'json'], dir)).stdout);
    const withInventory = JSON.parse((await run(['--policies', 'policies.yaml', '--traffic', 'calls.jsonl', '--inventory', 'cluster', '--format', 'json'], dir)).stdout);
    assert.deepEqual(withInventory.totals, alone.totals);
    const both = JSON.parse((await run(['--policies', 'policies.yaml', '--policies', 'cluster', '--traffic', 'calls.jsonl', '--inventory', 'cluster', '--format', 'json'], dir)).stdout);
    assert.equal(both.totals.deny, 4, 'given under --policies too, the DENY applies');
  });

  it('exits 2 on usage errors and missing input', async () => {
    assert.equal((await run(['--traffic', 'calls.jsonl'], dir)).code, 2);
    assert.equal((await run(['--policies', 'policies.yaml'], dir)).code, 2);
    assert.equal((await run(['--policies', 'nope.yaml', '--traffic', 'calls.jsonl'], dir)).code, 2);
    assert.equal((await run(['--policies', 'policies.yaml', '--traffic', 'calls.jsonl', '--format', 'xml'], dir)).code, 2);
  });

  it('runs on every example app', async () => {
    for (const mesh of ['istio', 'linkerd', 'consul']) {
      const result = await run(['--policies', `examples/${mesh}`, '--traffic', `examples/${mesh}/traffic`, '--format', 'json']);
      assert.ok(result.code <= 1, `${mesh}: exit ${result.code}: ${result.stderr}`);
      const json = JSON.parse(result.stdout);
      assert.ok(json.totals.calls > 1000, `${mesh}: too few calls`);
      assert.ok(json.totals.allow > 0 && json.totals.deny > 0, `${mesh}: expected both verdicts`);
    }
  });
});

describe('mesh-policy simulate: the inputs a replay tool feeds', () => {
  const feed = scratchDir('mesh-policy-feed-');
  mkdirSync(join(feed, 'policies'));
  // A folder of policies: multi-document YAML for Istio, HCL for Consul.
  writeFileSync(join(feed, 'policies', 'istio.yaml'), `apiVersion: security.istio.io/v1
kind: AuthorizationPolicy
metadata: {name: deny-delete, namespace: shop}
spec: {action: DENY, rules: [{to: [{operation: {methods: ["DELETE"]}}]}]}
---
apiVersion: security.istio.io/v1
kind: AuthorizationPolicy
metadata: {name: frontend-only, namespace: shop}
spec:
  rules: [{from: [{source: {principals: ["cluster.local/ns/shop/sa/frontend"]}}]}]
`);
  writeFileSync(join(feed, 'policies', 'api.hcl'), 'Kind = "service-intentions"\nName = "api"\nSources = [{ Name = "web", Action = "deny" }]\n');
  const istio = (principal: string | null, method: string, extra: Record<string, unknown> = {}) => JSON.stringify({
    ...extra, mesh: 'istio', source: { principal }, destination: { namespace: 'shop' }, request: { method, path: '/' },
  });
  const consul = (service: string) => JSON.stringify({ mesh: 'consul', protocol: 'tcp', source: { principal: `spiffe://td.consul/ns/default/dc/dc1/svc/${service}` }, destination: { service: 'api' } });
  writeFileSync(join(feed, 'b.jsonl'), [
    istio('spiffe://cluster.local/ns/shop/sa/frontend', 'GET', { id: 'b1', expect: 'allow' }),
    istio('cluster.local/ns/shop/sa/frontend', 'DELETE', { id: 'b2' }),
    istio(null, 'GET'),
  ].join('\n') + '\n');
  writeFileSync(join(feed, 'a.jsonl'), [consul('web'), consul('other')].join('\n') + '\n');

  it('takes several paths after --traffic and answers them in that order, records with keys of their own included', async () => {
    const result = await run(['--policies', 'policies', '--traffic', 'b.jsonl', 'a.jsonl', '--format', 'jsonl'], feed);
    const lines = result.stdout.trim().split('\n').map((l) => JSON.parse(l) as Record<string, unknown>);
    assert.deepEqual(lines.map((l) => [l['file'], l['record'], l['mesh'], l['decision']]), [
      ['b.jsonl', 1, 'istio', 'allow'],
      ['b.jsonl', 2, 'istio', 'deny'],
      ['b.jsonl', 3, 'istio', 'deny'],
      ['a.jsonl', 1, 'consul', 'deny'],
      ['a.jsonl', 2, 'consul', 'allow'],
    ]);
    for (const line of lines) {
      assert.deepEqual(Object.keys(line).slice(0, 10), ['file', 'record', 'decision', 'mesh', 'policy', 'rule', 'observed', 'change', 'reason', 'trace'].slice(0, Object.keys(line).includes('missing') ? 9 : 10));
      assert.ok(Array.isArray(line['trace']) && (line['trace'] as unknown[]).length > 0);
    }
  });

  it('explain --format json names files relative to the working folder, as simulate --format json does', async () => {
    const json = await run(['--policies', 'examples/istio', '--call', 'shop/frontend -> shop/cart:7070 GET /x', '--format', 'json'], REPO_ROOT, 'explain');
    assert.equal(json.code, 0, json.stderr);
    const files: string[] = [];
    JSON.parse(json.stdout, (key, value: unknown) => { if (key === 'file' && typeof value === 'string') files.push(value); return value; });
    assert.ok(files.includes('examples/istio/security/authorization-policies.yaml'), files.join(', '));
    assert.ok(!json.stdout.includes(REPO_ROOT), 'no absolute path of the checkout');
  });

  it('explain takes a bare record, the principal with or without spiffe://', () => {
    for (const principal of ['cluster.local/ns/shop/sa/frontend', 'spiffe://cluster.local/ns/shop/sa/frontend']) {
      let stdout = '';
      const code = runExplainCli(['--policies', 'policies', '--call', JSON.stringify({ source: { principal }, destination: { namespace: 'shop' }, request: { method: 'GET' } }), '--format', 'json'], { stdout: (t) => { stdout += t; }, stderr: () => undefined, cwd: feed });
      assert.equal(code, 0);
      const decision = JSON.parse(stdout) as { verdict: string; mesh: string; trace: unknown[] };
      assert.equal(decision.verdict, 'allow', principal);
      assert.equal(decision.mesh, 'istio');
    }
  });
});

describe('headers the policies test', () => {
  it('are collected from Istio conditions, route header matches and Consul permissions', () => {
    const engine = new Engine();
    const workspace = new WorkspaceModel();
    const text = [
      'apiVersion: security.istio.io/v1\nkind: AuthorizationPolicy\nmetadata: {name: a, namespace: n}\nspec:\n  rules:\n  - when:\n    - key: request.headers[X-Tenant]\n      values: [a]\n    - key: source.ip\n      values: [10.0.0.1]',
      'apiVersion: policy.linkerd.io/v1beta3\nkind: HTTPRoute\nmetadata: {name: r, namespace: n}\nspec:\n  parentRefs: [{name: s, kind: Server, group: policy.linkerd.io}]\n  rules:\n  - matches:\n    - headers: [{name: x-canary, value: "1"}]',
      'apiVersion: consul.hashicorp.com/v1alpha1\nkind: ServiceIntentions\nmetadata: {name: i}\nspec:\n  destination: {name: api}\n  sources:\n  - name: web\n    permissions:\n    - action: allow\n      http: {header: [{name: X-Team, exact: ops}]}',
    ].join('\n---\n');
    workspace.update(engine.prepare(engine.read('/ws/p.yaml', text)));
    assert.deepEqual(headersTestedBy(workspace), ['x-canary', 'x-team', 'x-tenant']);
  });

  it('folding away untested headers changes no verdict', async () => {
    const json = JSON.parse((await run(['--policies', 'examples/istio', '--traffic', 'examples/istio/traffic', '--format', 'json'])).stdout);
    assert.ok(json.totals.calls > 1000 && json.calls.length < json.totals.calls / 2, 'shapes should fold well below the call count');
  });
});

describe('the denier a log names (Istio response.deniedBy), against the simulation', () => {
  // batch's GET is denied here because no ALLOW policy matches it; the log names a DENY policy.
  const denied = (deniedBy: string) => JSON.stringify({ ...JSON.parse(call('GET', 'cluster.local/ns/shop/sa/batch', 'denied')), response: { status: 403, deniedBy } });
  writeFileSync(join(dir, 'attributed.jsonl'), [denied('shop/cart-no-batch'), denied('none')].join('\n') + '\n');

  it('simulate: text lists the denials the logs attribute otherwise, jsonl and json carry the difference', async () => {
    const text = (await run(['--policies', 'policies.yaml', '--traffic', 'attributed.jsonl'], dir)).stdout;
    assert.match(text, /Calls the logs attribute otherwise[^\n]*\n\s+1×\s+cluster\.local\/ns\/shop\/sa\/batch → shop\/cart:8080 GET \/cart\s+— observed: denied by shop\/cart-no-batch; simulated: denied: no ALLOW policy matches/);
    const lines = (await run(['--policies', 'policies.yaml', '--traffic', 'attributed.jsonl', '--format', 'jsonl'], dir)).stdout.trim().split('\n').map((l) => JSON.parse(l) as Record<string, unknown>);
    assert.match(String(lines[0]!['observedDifference']), /^observed: denied by shop\/cart-no-batch; simulated: /);
    assert.equal(lines[1]!['observedDifference'], undefined, 'the log and the simulation agree: ALLOW policies, none matched');
    const json = JSON.parse((await run(['--policies', 'policies.yaml', '--traffic', 'attributed.jsonl', '--format', 'json'], dir)).stdout) as { calls: { observedDifference?: string }[] };
    assert.equal(json.calls.filter((c) => c.observedDifference?.startsWith('observed: denied by shop/cart-no-batch')).length, 1);
  });

  it('simulate: the policies the logs name that the workspace does not have, in text and json (a policy it has is not listed)', async () => {
    writeFileSync(join(dir, 'absent.jsonl'), [denied('shop/cart-no-batch'), denied('shop/cart-no-batch'), denied('shop/allow-nothing'), denied('none')].join('\n') + '\n');
    const text = (await run(['--policies', 'policies.yaml', '--traffic', 'absent.jsonl'], dir)).stdout;
    const section = /Denials the logs attribute to resources the workspace does not have[^\n]*\n((?:  .*\n?)*)/.exec(text)?.[1] ?? '';
    assert.deepEqual(section.trim().split('\n').map((l) => l.trim()), ['2×  AuthorizationPolicy shop/cart-no-batch (istio)  [absent.jsonl:1]'], text);
    const json = JSON.parse((await run(['--policies', 'policies.yaml', '--traffic', 'absent.jsonl', '--format', 'json'], dir)).stdout) as { absentDeniers: unknown[] };
    assert.deepEqual(json.absentDeniers, [{ mesh: 'istio', kind: 'AuthorizationPolicy', namespace: 'shop', name: 'cart-no-batch', calls: 2, samples: [{ file: 'absent.jsonl', line: 1 }, { file: 'absent.jsonl', line: 2 }] }]);
    const none = (await run(['--policies', 'policies.yaml', '--traffic', 'calls.jsonl'], dir)).stdout;
    assert.doesNotMatch(none, /resources the workspace does not have/);
  });

  it('explain: text and json say so', async () => {
    const text = await run(['--policies', 'policies.yaml', '--call', denied('shop/cart-no-batch')], dir, 'explain');
    assert.match(text.stdout, /^DENY \(istio\): .*\nthe log disagrees: observed: denied by shop\/cart-no-batch; simulated: /);
    const json = JSON.parse((await run(['--policies', 'policies.yaml', '--call', denied('shop/cart-no-batch'), '--format', 'json'], dir, 'explain')).stdout) as { observedDifference?: string };
    assert.match(json.observedDifference ?? '', /^observed: denied by shop\/cart-no-batch/);
    const agreeing = JSON.parse((await run(['--policies', 'policies.yaml', '--call', denied('none'), '--format', 'json'], dir, 'explain')).stdout) as { observedDifference?: string; deniedBy?: unknown };
    assert.equal(agreeing.observedDifference, undefined);
    assert.deepEqual(agreeing.deniedBy, { kind: 'no-allow' });
  });
});

// A resource the mesh refuses to store decides nothing (spec §1.9.2, §1.9.4): simulate lists it
// apart, under "Not in effect" (text) and `notInEffect` (json); PeerAuthentications and
// RequestAuthentications, which allow nothing, are under "Authentication" and `authentication`,
// not among the policies that decide.
describe('simulate: resources not in effect, and authentication, apart from the deciders', () => {
  const refusedDir = scratchDir('mesh-policy-simulate-refused-');
  const istio = (kind: string, name: string, spec: string) => `apiVersion: security.istio.io/v1\nkind: ${kind}\nmetadata:\n  name: ${name}\n  namespace: shop\nspec:\n${spec}`;
  writeFileSync(join(refusedDir, 'policies.yaml'), [
    CART_READERS_WORKSPACE,
    // a DENY whose port range istiod's webhook refuses (O3): it denies nothing
    istio('AuthorizationPolicy', 'deny-ports', '  selector:\n    matchLabels:\n      app: cart\n  action: DENY\n  rules:\n  - to:\n    - operation:\n        ports: ["8000-9000"]\n'),
    istio('PeerAuthentication', 'strict', '  mtls:\n    mode: STRICT\n'),
    // portLevelMtls without a selector (§1.9.4): refused
    istio('PeerAuthentication', 'ports', '  portLevelMtls:\n    8080:\n      mode: DISABLE\n'),
  ].join('---\n'));
  writeFileSync(join(refusedDir, 'calls.jsonl'), `${call('GET', 'cluster.local/ns/shop/sa/frontend', 'allowed')}\n`);

  it('text: a Not in effect section with the first reason, the authentication resources in theirs', async () => {
    const result = await run(['--policies', 'policies.yaml', '--traffic', 'calls.jsonl'], refusedDir);
    const notInEffect = result.stdout.split('\n\n').find((s) => s.startsWith('Not in effect'));
    assert.ok(notInEffect, result.stdout);
    assert.deepEqual(notInEffect.split('\n').slice(1), [
      '  policies.yaml:32 AuthorizationPolicy shop/deny-ports: Istio refuses to store it (ports: bad port (8000-9000): strconv.ParseUint: parsing "8000-9000": invalid syntax; port ranges are not supported, list each port)',
      '  policies.yaml:56 PeerAuthentication shop/ports: Istio refuses to store it (mesh/namespace peer authentication cannot have port level mTLS)',
    ]);
    assert.match(result.stdout, /AuthorizationPolicy shop\/cart-readers: 1 allowed · 0 denied/);
    assert.doesNotMatch(result.stdout.split('Not in effect')[0]!, /deny-ports|PeerAuthentication/);
    const authentication = result.stdout.split('\n\n').find((s) => s.startsWith('Authentication'));
    assert.ok(authentication && /PeerAuthentication shop\/strict: refused 0 plaintext calls · governs 1/.test(authentication), authentication);
    assert.doesNotMatch(authentication, /shop\/ports/);
  });

  it('json: policies are the deciders; authentication and notInEffect are keys of their own', async () => {
    const json = JSON.parse((await run(['--policies', 'policies.yaml', '--traffic', 'calls.jsonl', '--format', 'json'], refusedDir)).stdout);
    assert.deepEqual(json.policies.map((p: { ref: { label: string } }) => p.ref.label), ['AuthorizationPolicy shop/cart-readers']);
    assert.deepEqual(json.authentication.map((a: { kind: string; label: string; governs: number; refused: number; ref: { file: string } }) => [a.kind, a.label, a.governs, a.refused, a.ref.file]), [['PeerAuthentication', 'PeerAuthentication shop/strict', 1, 0, 'policies.yaml']]);
    assert.deepEqual(json.notInEffect.map((r: { mesh: string; ref: { label: string; file: string; range: { start: { line: number } } }; reason: string }) => [r.mesh, r.ref.label, r.ref.file, r.ref.range.start.line, r.reason.replace(/ \(.*/, '')]), [
      ['istio', 'AuthorizationPolicy shop/deny-ports', 'policies.yaml', 31, 'Istio refuses to store it'],
      ['istio', 'PeerAuthentication shop/ports', 'policies.yaml', 55, 'Istio refuses to store it'],
    ]);
    assert.equal(json.calls[0].decision, 'allow');
  });

  it('json: a Consul entry Consul refuses is under notInEffect too', async () => {
    const consulDir = scratchDir('mesh-policy-simulate-refused-consul-');
    writeFileSync(join(consulDir, 'api.hcl'), 'Kind = "service-intentions"\nName = "api"\nSources = [\n  { Name = "web", Action = "allow", Permissions = [{ Action = "allow", HTTP { PathPrefix = "/" } }] }\n]\n');
    writeFileSync(join(consulDir, 'calls.jsonl'), `${JSON.stringify({ time: '2026-11-28T10:00:00Z', mesh: 'consul', protocol: 'http', source: { service: 'web', namespace: 'default' }, destination: { service: 'api', namespace: 'default', port: 8080 }, request: { method: 'GET', path: '/' }, observed: 'allowed' })}\n`);
    const json = JSON.parse((await run(['--policies', 'api.hcl', '--traffic', 'calls.jsonl', '--format', 'json'], consulDir)).stdout);
    assert.deepEqual(json.notInEffect.map((r: { mesh: string; ref: { label: string }; reason: string }) => [r.mesh, r.ref.label, /^Consul refuses to store it \(Sources\[0\] web sets both Action and Permissions/.test(r.reason)]), [['consul', 'service-intentions api', true]]);
    assert.deepEqual(json.policies, []);
  });

  it('text and json: Linkerd resources its admission refuses (the examples\' mistakes 5 and 6) are not in effect', async () => {
    const args = ['--policies', 'examples/linkerd/policy', '--traffic', 'examples/linkerd/traffic', '--inventory', 'examples/linkerd'];
    const text = (await run(args)).stdout;
    const notInEffect = text.split('\n\n').find((s) => s.startsWith('Not in effect'));
    assert.deepEqual(notInEffect?.split('\n').slice(1), [
      // spec §2.7.2: the CRD requires requiredAuthenticationRefs, and proxyProtocol is one of an enum
      '  examples/linkerd/policy/authorization-policies.yaml:36 AuthorizationPolicy emojivoto/emoji-grpc-web: Linkerd refuses to store it (spec.requiredAuthenticationRefs is missing)',
      '  examples/linkerd/policy/servers.yaml:27 Server emojivoto/voting-grpc: Linkerd refuses to store it (proxyProtocol "HTTP/3" is not one of unknown, HTTP/1, HTTP/2, gRPC, opaque, TLS)',
    ], text);
    const json = JSON.parse((await run([...args, '--format', 'json'])).stdout);
    assert.deepEqual(json.notInEffect.map((r: { mesh: string; ref: { label: string } }) => [r.mesh, r.ref.label]), [['linkerd', 'AuthorizationPolicy emojivoto/emoji-grpc-web'], ['linkerd', 'Server emojivoto/voting-grpc']]);
    const deciders = json.policies.map((p: { ref: { label: string } }) => p.ref.label);
    assert.ok(!deciders.includes('Server emojivoto/voting-grpc') && !deciders.includes('AuthorizationPolicy emojivoto/emoji-grpc-web'), deciders.join(', '));
  });
});

describe('mesh-policy explain', () => {
  it('prints the walkthrough of one call', async () => {
    const result = await run(['--policies', 'policies.yaml', '--call', call('DELETE', 'cluster.local/ns/shop/sa/frontend', 'allowed')], dir, 'explain');
    assert.equal(result.code, 0);
    assert.match(result.stdout, /^DENY \(istio\)/);
    assert.match(result.stdout, /cart-readers rules\[0\]: .*methods/);
    assert.match(result.stdout, /policies\.yaml:\d+/);
  });

  it('rejects a call that is not JSON', async () => {
    const result = await run(['--policies', 'policies.yaml', '--call', '{nope'], dir, 'explain');
    assert.equal(result.code, 2);
    assert.match(result.stderr, /--call is not valid JSON/);
  });

  // cart-readers allows only GET from shop/frontend to the pods labelled app=cart; the call names
  // the workload, whose labels the inventory (the Deployment) gives; allow-nothing denies the rest.
  const shortForms: Array<[string, RegExp]> = [
    ['shop/frontend -> shop/cart:8080 GET /cart', /^ALLOW \(istio\)/],
    ['shop/frontend -> shop/cart:8080 DELETE /cart', /^DENY \(istio\)/],
    ['shop/backend -> shop/cart:8080 GET /cart', /^DENY \(istio\)/],
  ];
  for (const [written, verdict] of shortForms) {
    it(`takes a call in the short form: ${written}`, async () => {
      const result = await run(['--policies', 'policies.yaml', '--call', written], dir, 'explain');
      assert.equal(result.code, 0, result.stderr);
      assert.match(result.stdout, verdict);
    });
  }

  it('refuses a short form it cannot read, saying what is wrong and what the form is', async () => {
    const result = await run(['--policies', 'policies.yaml', '--call', 'shop/frontend => shop/cart'], dir, 'explain');
    assert.equal(result.code, 2);
    assert.equal(result.stdout, '');
    assert.match(result.stderr, /^mesh-policy: --call cannot be read: no "->" between the caller and the destination \(the short form: /);
  });

  // The rules of docs/access-records.md (schemas/access-record.schema.json): mesh is one of the
  // three meshes, the objects are closed, ports are integers 1-65535, header values strings.
  const invalidCalls: Array<[string, unknown, RegExp]> = [
    ['an unknown mesh (was an internal error)', { mesh: 'kuma' }, /mesh must be one of istio, linkerd, consul, not string "kuma"/],
    ['a destination that is not an object', { mesh: 'istio', destination: 5 }, /destination must be an object, not number 5/],
    ['a port that is a string', { mesh: 'istio', destination: { namespace: 'shop', port: 'http' } }, /destination\.port must be an integer from 1 to 65535, not string "http"/],
    ['a typo in a field name', { mesh: 'istio', source: { principle: 'cluster.local/ns/shop/sa/frontend' } }, /source has an unknown field "principle"/],
    ['headers that are not a map of strings', { mesh: 'istio', request: { headers: 'x' } }, /request\.headers must be an object of strings/],
  ];
  for (const [name, record, message] of invalidCalls) {
    it(`rejects a call that is not an access record: ${name}`, async () => {
      const result = await run(['--policies', 'policies.yaml', '--call', JSON.stringify(record)], dir, 'explain');
      assert.equal(result.code, 2);
      assert.equal(result.stdout, '');
      assert.match(result.stderr, /^mesh-policy: --call is not an access record \(docs\/access-records\.md\): /);
      assert.match(result.stderr, message);
      assert.doesNotMatch(result.stderr, /internal error/);
    });
  }
});

describe('a --policies folder with no YAML, JSON or HCL file', () => {
  mkdirSync(join(dir, 'no-policies'), { recursive: true });
  writeFileSync(join(dir, 'no-policies', 'README.txt'), 'policies go here\n');

  it('is named and exits 2, as lint does, instead of deciding by the meshes\' defaults unannounced', async () => {
    for (const command of ['simulate', 'explain'] as const) {
      const args = command === 'simulate' ? ['--traffic', 'calls.jsonl'] : ['--call', call('GET', 'cluster.local/ns/shop/sa/frontend', 'allowed')];
      const result = await run(['--policies', 'no-policies', ...args], dir, command);
      assert.equal(result.code, 2, command);
      assert.equal(result.stdout, '', command);
      assert.match(result.stderr, /^mesh-policy: "no-policies": no YAML, JSON or HCL file in this folder$/m, command);
    }
  });
});

describe('a folder of logs none of whose files the traffic globs take', () => {
  // logs named *.txt: the default globs (DEFAULT_TRAFFIC_GLOBS) take *.log, *.jsonl, ... only
  mkdirSync(join(dir, 'txt-logs'), { recursive: true });
  writeFileSync(join(dir, 'txt-logs', 'calls.txt'), readFileSync(join(dir, 'calls.jsonl')));
  const note = /^mesh-policy: txt-logs: no file in this folder matches the traffic globs \(\*\*\/\*\.log, [^)]*\); name the files, or set traffic: in \.meshpolicy\.yaml$/m;

  it('simulate and traffic name the folder instead of reading it as no traffic, and exit 2 as for any input not read', async () => {
    const simulated = await run(['--policies', 'policies.yaml', '--traffic', 'txt-logs', 'calls.jsonl'], dir);
    assert.match(simulated.stderr, note);
    assert.match(simulated.stdout, /Simulated 4 calls/, 'the other paths are still read');
    assert.equal(simulated.code, 2);
    let stderr = '';
    const code = await runTrafficCli(['txt-logs', '--no-inventory', '--workers', '1'], { stdout: () => undefined, stderr: (t) => { stderr += `${t}\n`; }, cwd: dir });
    assert.equal(code, 2);
    assert.match(stderr, note);
  });

  it('a file named explicitly is read whatever its name, and a folder with logs is not noted', async () => {
    const result = await run(['--policies', 'policies.yaml', '--traffic', 'txt-logs/calls.txt', '.'], dir);
    assert.doesNotMatch(result.stderr, /no file in this folder/);
  });
});

describe('a policy document that does not parse', () => {
  // Its policies are not simulated (source/sourceFile.ts parsedCleanly): the commands say so.
  const broken = 'apiVersion: security.istio.io/v1\nkind: AuthorizationPolicy\nmetadata: {name: deny-get, namespace: shop}\nspec:\n  action: DENY\n  rules: [{to: [{operation: {methods: ["GET"]}}]\n';
  mkdirSync(join(dir, 'broken'), { recursive: true });
  writeFileSync(join(dir, 'broken', 'deny-get.yaml'), broken);
  const note = /^mesh-policy: broken\/deny-get\.yaml:6:10: .*\(and 1 more\); the policies of a document that does not parse are not simulated \(mesh-policy lint lists every problem\)$/m;

  it('simulate and explain name the file and where, once', async () => {
    const simulated = await run(['--policies', 'policies.yaml', 'broken', '--traffic', 'calls.jsonl'], dir);
    assert.match(simulated.stderr, note);
    assert.equal(simulated.stderr.split('\n').filter((l) => l.includes('deny-get.yaml')).length, 1);
    const explained = await run(['--policies', 'broken', '--call', call('GET', 'cluster.local/ns/shop/sa/frontend', 'allowed')], dir, 'explain');
    assert.match(explained.stderr, note);
  });

  it('a broken file read only as inventory is not noted', async () => {
    const result = await run(['--policies', 'policies.yaml', '--inventory', 'broken', '--traffic', 'calls.jsonl'], dir);
    assert.doesNotMatch(result.stderr, /deny-get\.yaml/);
  });
});

describe('options of the other command are refused, not ignored', () => {
  const explainCall = call('GET', 'cluster.local/ns/shop/sa/frontend', 'allowed');
  const cases: Array<[string, 'simulate' | 'explain', string[], RegExp]> = [
    ['simulate --call', 'simulate', ['--traffic', 'calls.jsonl', '--call', explainCall], /--call is an option of explain/],
    ['explain --traffic', 'explain', ['--call', explainCall, '--traffic', 'calls.jsonl'], /--traffic is an option of simulate/],
    ['explain --source', 'explain', ['--call', explainCall, '--source', 'clickhouse'], /--source is an option of simulate/],
    ['explain --fail-on-newly-denied', 'explain', ['--call', explainCall, '--fail-on-newly-denied', '3'], /--fail-on-newly-denied is an option of simulate/],
    ['explain --max-lines', 'explain', ['--call', explainCall, '--max-lines', '10'], /--max-lines is an option of simulate/],
    ['explain --progress', 'explain', ['--call', explainCall, '--progress'], /--progress is an option of simulate/],
    ['explain --baseline', 'explain', ['--call', explainCall, '--baseline', 'HEAD'], /--baseline is an option of simulate/],
  ];
  for (const [name, command, args, message] of cases) {
    it(name, async () => {
      const result = await run(['--policies', 'policies.yaml', ...args], dir, command);
      assert.equal(result.code, 2);
      assert.equal(result.stdout, '');
      assert.match(result.stderr, message);
    });
  }
});

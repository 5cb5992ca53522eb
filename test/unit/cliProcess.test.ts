import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { closeSync, existsSync, openSync, readdirSync, readFileSync, readlinkSync, writeFileSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { FIXTURES, REPO_ROOT } from '../helpers/paths';
import { scratchDir } from '../helpers/scratch';

const BIN = join(REPO_ROOT, 'bin', 'mesh-policy.js');
const dir = scratchDir('mesh-policy-cli-process-');
const ENVOY_LINE = readFileSync(join(FIXTURES, 'traffic', 'formats', 'istio-text.log'), 'utf8').split('\n')[0]!;
writeFileSync(join(dir, 'good.yaml'), 'apiVersion: security.istio.io/v1\nkind: AuthorizationPolicy\nmetadata: {name: ok, namespace: shop}\nspec: {action: DENY, rules: [{to: [{operation: {methods: ["DELETE"]}}]}]}\n');
writeFileSync(join(dir, 'bad.yaml'), 'apiVersion: security.istio.io/v1\nkind: AuthorizationPolicy\nmetadata: {name: bad, namespace: shop}\nspec: {action: allow}\n');
// Denies GET from everyone in shop: the logged GET that succeeded becomes newly denied.
writeFileSync(join(dir, 'deny-get.yaml'), 'apiVersion: security.istio.io/v1\nkind: AuthorizationPolicy\nmetadata: {name: deny-get, namespace: foo}\nspec: {action: DENY, rules: [{to: [{operation: {methods: ["GET"]}}]}]}\n');
writeFileSync(join(dir, 'one.log'), `${ENVOY_LINE}\n`);
// Translates exactly into Consul intentions (an identity, a method and a path prefix).
writeFileSync(join(dir, 'allow-web.yaml'), 'apiVersion: security.istio.io/v1\nkind: AuthorizationPolicy\nmetadata: {name: cart, namespace: shop}\nspec: {selector: {matchLabels: {app: cart}}, rules: [{from: [{source: {principals: ["cluster.local/ns/shop/sa/web"]}}], to: [{operation: {methods: ["GET"], paths: ["/v1/*"]}}]}]}\n');

writeFileSync(join(dir, 'cart.yaml'), 'apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: cart, namespace: shop}\nspec: {selector: {matchLabels: {app: cart}}, template: {metadata: {labels: {app: cart}}, spec: {containers: [{name: cart, image: cart}]}}}\n');

function run(args: string[]): { code: number | null; stdout: string; stderr: string } {
  const result = spawnSync(process.execPath, [BIN, ...args], { cwd: dir, encoding: 'utf8', timeout: 60_000 });
  return { code: result.status, stdout: result.stdout, stderr: result.stderr };
}

/** The exit codes the README documents, per command (a real process each time). */
const CASES: [string, string[], number][] = [
  ['lint: no error', ['lint', 'good.yaml'], 0],
  ['lint: an error found', ['lint', 'bad.yaml'], 1],
  ['lint: unknown option', ['lint', 'good.yaml', '--bogus'], 2],
  ['lint: missing file', ['lint', 'nope.yaml'], 2],
  ['no command', [], 2],
  ['unknown command', ['frobnicate'], 2],
  ['traffic: read', ['traffic', 'one.log', '--no-inventory'], 0],
  ['traffic: missing file', ['traffic', 'nope.log'], 2],
  ['lint: a count that is not whole', ['lint', 'good.yaml', '--max-documents', '2.5'], 2],
  ['traffic: bad --max-lines', ['traffic', 'one.log', '--max-lines', '0'], 2],
  ['traffic: --no-inventory and --inventory both', ['traffic', 'one.log', '--no-inventory', '--inventory', 'good.yaml'], 2],
  ['traffic: a switch given a value', ['traffic', 'one.log', '--no-inventory=false'], 2],
  ['simulate: --policies without its value', ['simulate', '--policies', '--traffic', 'one.log'], 2],
  ['simulate: nothing newly denied', ['simulate', '--policies', 'good.yaml', '--traffic', 'one.log'], 0],
  ['simulate: an allowed call would be denied', ['simulate', '--policies', 'deny-get.yaml', '--traffic', 'one.log'], 1],
  ['simulate: no --traffic', ['simulate', '--policies', 'good.yaml'], 2],
  ['explain: decided', ['explain', '--policies', 'good.yaml', '--call', '{"mesh":"istio","request":{"method":"GET"}}'], 0],
  ['explain: --call is not JSON', ['explain', '--policies', 'good.yaml', '--call', '{nope'], 2],
  ['explain: --call names an unknown mesh', ['explain', '--policies', 'good.yaml', '--call', '{"mesh":"kuma"}'], 2],
  ['translate: every probe decided alike', ['translate', '--to', 'consul', 'allow-web.yaml'], 0],
  // Linkerd has no deny, and without an inventory no port for a Server: the check finds the differences
  ['translate: calls decided differently', ['translate', '--to', 'linkerd', 'good.yaml'], 1],
  ['translate: nothing of another mesh', ['translate', '--to', 'istio', 'good.yaml'], 1],
  ['translate: no --to', ['translate', 'good.yaml'], 2],
  ['translate: a mesh it does not know', ['translate', '--to', 'kuma', 'good.yaml'], 2],
  ['translate: no paths', ['translate', '--to', 'linkerd'], 2],
  ['translate: missing file', ['translate', '--to', 'linkerd', 'nope.yaml'], 2],
  ['authz: listed', ['authz', 'shop/cart', '--policies', 'allow-web.yaml', '--inventory', 'cart.yaml'], 0],
  ['authz: a workload the inventory does not have', ['authz', 'shop/carts', '--policies', 'allow-web.yaml', '--inventory', 'cart.yaml'], 2],
  ['authz: no workload', ['authz', '--policies', 'allow-web.yaml'], 2],
];

describe('the mesh-policy process', () => {
  for (const [name, args, code] of CASES) {
    it(`exits ${code}: ${name}`, () => {
      const result = run(args);
      assert.equal(result.code, code, `stdout: ${result.stdout.slice(0, 500)}\nstderr: ${result.stderr.slice(0, 500)}`);
      assert.doesNotMatch(result.stderr, /\n\s+at .+:\d+:\d+/, 'no stack trace');
      if (code === 2) assert.match(result.stderr + result.stdout, /^mesh-policy: |Usage:/m);
    });
  }

  it('stops within 2 s on Ctrl-C (SIGINT) with a clean message, no output and no file left behind', { timeout: 120_000 }, async () => {
    // ~40 MB of log: long enough to be interrupted while reading.
    const big = join(dir, 'big.log');
    const fd = openSync(big, 'w');
    const chunk = `${ENVOY_LINE}\n`.repeat(2000);
    for (let i = 0; i < 70; i++) writeSync(fd, chunk);
    closeSync(fd);
    const before = readdirSync(dir).sort();
    const child = spawn(process.execPath, [BIN, 'traffic', 'big.log', '--progress', '--workers', '1', '--no-inventory'], { cwd: dir });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => { stdout += d.toString(); });
    const reading = new Promise<void>((resolve) => child.stderr.on('data', (d: Buffer) => { stderr += d.toString(); if (/reading: /.test(stderr)) resolve(); }));
    const exited = new Promise<{ code: number | null; ms: number }>((resolve) => {
      let sent = 0;
      void reading.then(() => { sent = Date.now(); child.kill('SIGINT'); });
      child.on('close', (code) => resolve({ code, ms: Date.now() - sent }));
    });
    const { code, ms } = await exited;
    assert.equal(code, 130, stderr);
    assert.ok(ms < 2000, `exited ${ms} ms after SIGINT`);
    assert.match(stderr, /mesh-policy: interrupted; nothing was printed/);
    assert.doesNotMatch(stderr, /\n\s+at .+:\d+:\d+/);
    assert.equal(stdout, '');
    assert.deepEqual(readdirSync(dir).sort(), before);
  });

  for (const [name, args] of [
    ['report --output', ['report', '--traffic', 'big.log', '--policies', 'good.yaml', '--output', 'report.html']],
    ['generate --output', ['generate', '--mesh', 'istio', '--traffic', 'big.log', '--output', 'generated.yaml']],
  ] as const) {
    it(`${name}: Ctrl-C while reading leaves no file, not even a partial one, and exits 130`, { timeout: 120_000 }, async () => {
      const big = join(dir, 'big.log');
      assert.ok(existsSync(big), 'made by the test above');
      const before = readdirSync(dir).sort();
      const child = spawn(process.execPath, [BIN, ...args], { cwd: dir });
      let stdout = '';
      let stderr = '';
      child.stdout.on('data', (d: Buffer) => { stdout += d.toString(); });
      child.stderr.on('data', (d: Buffer) => { stderr += d.toString(); });
      const closed = new Promise<number | null>((resolve) => child.on('close', (code) => resolve(code)));
      // Interrupt once the log is open (Linux: /proc/<pid>/fd), i.e. while it is being read.
      const reading = (): boolean => {
        try {
          return readdirSync(`/proc/${child.pid}/fd`).some((fd) => { try { return readlinkSync(`/proc/${child.pid}/fd/${fd}`) === big; } catch { return false; } });
        } catch {
          return false;
        }
      };
      for (const deadline = Date.now() + 30_000; !reading() && Date.now() < deadline;) await new Promise((r) => setTimeout(r, 5));
      child.kill('SIGINT');
      assert.equal(await closed, 130, stderr);
      assert.match(stderr, /mesh-policy: interrupted; nothing was written/);
      assert.doesNotMatch(stderr, /\n\s+at .+:\d+:\d+/);
      assert.equal(stdout, '');
      assert.deepEqual(readdirSync(dir).sort(), before, 'no output file and no temporary file');
    });
  }
});

describe('the mesh-policy-server process, started by hand', () => {
  const SERVER_BIN = join(REPO_ROOT, 'bin', 'mesh-policy-server.js');
  it('without a transport: one line saying which, the usage, exit 2, no stack trace', () => {
    const result = spawnSync(process.execPath, [SERVER_BIN], { encoding: 'utf8', timeout: 30_000, input: '' });
    assert.equal(result.status, 2);
    assert.match(result.stderr, /^mesh-policy-server: no transport given: start it with --stdio/);
    assert.doesNotMatch(result.stderr, /\n\s+at .+:\d+:\d+/);
  });

  it('--help: the usage on stdout, exit 0', () => {
    const result = spawnSync(process.execPath, [SERVER_BIN, '--help'], { encoding: 'utf8', timeout: 30_000 });
    assert.equal(result.status, 0);
    assert.match(result.stdout, /^Usage: mesh-policy-server --stdio/);
  });
});

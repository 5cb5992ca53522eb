import assert from 'node:assert/strict';
import { copyFileSync, cpSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { runTranslateCli } from '../../../server/src/cli/translate';
import { Engine } from '../../../server/src/engine/engine';
import { FIXTURES, REPO_ROOT } from '../../helpers/paths';
import { unreadableTrafficFiles } from '../../helpers/unreadable';
import { scratchDir } from '../../helpers/scratch';

// `mesh-policy translate` on the examples, as the README and docs/translate.md show it.

async function run(args: string[], cwd = REPO_ROOT): Promise<{ code: number; stdout: string; stderr: string }> {
  const out: string[] = [];
  const err: string[] = [];
  const code = await runTranslateCli(args, { stdout: (t) => out.push(t), stderr: (t) => err.push(t), cwd });
  return { code, stdout: out.join('\n'), stderr: err.join('\n') };
}

/**
 * A copy of examples/consul whose config/api.hcl Consul accepts: the example keeps a deliberate
 * mistake there (mistake 9 of examples/README.md: a source with both Action and Permissions, which
 * Consul refuses to store), and a refused entry is neither simulated nor translated.
 */
function acceptedConsulExamples(): string {
  const dir = scratchDir('mesh-policy-translate-consul-');
  cpSync(join(REPO_ROOT, 'examples', 'consul'), join(dir, 'examples', 'consul'), { recursive: true });
  const api = join(dir, 'examples', 'consul', 'config', 'api.hcl');
  const text = readFileSync(api, 'utf8');
  const accepted = text.replace('  Name   = "dashboard"\n  Action = "allow"\n', '  Name   = "dashboard"\n');
  assert.notEqual(accepted, text, 'the mistake is where this test expects it');
  writeFileSync(api, accepted);
  return dir;
}


describe('mesh-policy translate', () => {
  it('examples/istio → Linkerd: valid Linkerd resources, headed by the notes and both checks', async () => {
    const { stdout, stderr } = await run(['--to', 'linkerd', 'examples/istio/security', '--inventory', 'examples/istio/app', '--traffic', 'examples/istio/traffic']);
    assert.match(stdout, /^# Linkerd policies translated by mesh-policy translate from 11 Istio resources: \d+ resources written\.$/m);
    for (const kind of ['Server', 'AuthorizationPolicy', 'MeshTLSAuthentication']) assert.match(stdout, new RegExp(`^kind: ${kind}$`, 'm'), kind);
    // the deliberate mistakes of the example are not translated, and say why
    assert.match(stdout, /^#   examples\/istio\/security\/authorization-policies\.yaml:18 AuthorizationPolicy shop\/frontend-from-gateway: same decisions: /m);
    assert.match(stdout, /^# Check: Istio's and Linkerd's simulators decide .* \(probe calls made from the policies\)/m);
    assert.match(stdout, /^# Check: Istio's and Linkerd's simulators decide .* \(observed calls\)/m);
    assert.match(stderr, /^mesh-policy: Linkerd policies translated by mesh-policy translate/m);
    const file = new Engine().lintText('/ws/translated.yaml', stdout);
    assert.deepEqual(file.findings.filter((f) => f.severity === 'error').map((f) => `${f.range.start.line + 1} ${f.code} ${f.message}`), []);
    assert.ok(file.resources.every((r) => r.mesh === 'linkerd') && file.resources.length > 0);
  });

  it('examples/consul → Istio, written to a file, and as JSON with the model, notes and check', async () => {
    const dir = scratchDir('mesh-policy-translate-');
    const written = await run(['--to', 'istio', 'examples/consul', '--traffic', 'examples/consul/traffic', '--output', join(dir, 'istio.yaml')]);
    assert.equal(written.stdout, '');
    assert.match(written.stderr, /mesh-policy: wrote .*istio\.yaml \(\d+ KiB\)/);
    const yaml = readFileSync(join(dir, 'istio.yaml'), 'utf8');
    assert.match(yaml, /^# Istio policies translated by mesh-policy translate from \d+ Consul resources/);
    assert.match(yaml, /^kind: AuthorizationPolicy$/m);
    const json = await run(['--to', 'istio', 'examples/consul', '--format', 'json']);
    const [translation] = JSON.parse(json.stdout) as { from: string; to: string; notes: unknown[]; check: { probes: { decided: number } }; model: { protections: unknown[] }; yaml: string }[];
    assert.equal(translation!.from, 'consul');
    assert.equal(translation!.to, 'istio');
    assert.ok(translation!.model.protections.length > 0 && translation!.check.probes.decided > 0);
    assert.equal(translation!.yaml, yaml.replace(/\n# .*\(observed calls\)[\s\S]*?(?=\n[^#])/, ''), 'the same YAML, without the observed calls\' check');
  });

  it('JSON names files relative to the working folder, as the text and the other commands\' JSON do', async () => {
    const json = await run(['--to', 'linkerd', 'examples/istio/security', '--format', 'json']);
    const files: string[] = [];
    JSON.parse(json.stdout, (key, value: unknown) => { if (key === 'file' && typeof value === 'string') files.push(value); return value; });
    assert.ok(files.length > 0);
    assert.deepEqual(files.filter((f) => !f.startsWith('examples/istio/security/')), []);
    assert.ok(!json.stdout.includes(REPO_ROOT), 'no absolute path of the checkout');
  });

  it('examples/consul/config/api.hcl → Istio: deny permissions after allows decide every observed call as Consul does, whatever the --output is named', async () => {
    const dir = scratchDir('mesh-policy-translate-api-');
    const examples = acceptedConsulExamples();
    const args = ['--to', 'istio', 'examples/consul/config/api.hcl', '--inventory', 'examples/consul', '--traffic', 'examples/consul/traffic', '--format', 'json'];
    const checks: unknown[] = [];
    for (const name of ['api.yaml', 'api.json']) {
      const result = await run([...args, '--output', join(dir, name)], examples);
      assert.equal(result.code, 0, result.stderr);
      const [translation] = JSON.parse(readFileSync(join(dir, name), 'utf8')) as { check: { probes: { decided: number; differing: number }; observed: { decided: number; differing: number } } }[];
      const { probes, observed } = translation!.check;
      assert.ok(probes.decided > 0 && observed.decided > 0, name);
      assert.deepEqual([probes.differing, observed.differing], [0, 0], `${name}: ${JSON.stringify(translation!.check, null, 1).slice(0, 2000)}`);
      checks.push(translation!.check);
    }
    // the translation is read back as YAML for the check, not as the output's format
    assert.deepEqual(checks[1], checks[0]);
  });

  it('one Consul file with --workspace: read with the wildcard entries covering it, every place shown relative', async () => {
    const examples = acceptedConsulExamples();
    const { code, stdout, stderr } = await run(['--to', 'istio', 'examples/consul/config/api.hcl', '--workspace', 'examples/consul'], examples);
    assert.equal(code, 0, stderr);
    assert.match(stdout, /^# Istio policies translated by mesh-policy translate from 1 Consul resource \(read with 2 resources of other files they refer to\)/m);
    // the '*' deny of the workspace: api's sources are "allow only these", an ALLOW policy
    assert.match(stdout, /^  action: ALLOW$/m);
    assert.match(stdout, /examples\/consul\/config\/deny-all\.json:1/);
    assert.ok(!stdout.includes(examples), 'no absolute path');
  });

  it('a --traffic file that cannot be read: named, the translation still written, exit 2', { timeout: 60_000 }, async () => {
    const dir = scratchDir('mesh-policy-translate-unreadable-');
    const cases = unreadableTrafficFiles(dir);
    for (const [traffic, said] of cases) {
      const { code, stdout, stderr } = await run(['--to', 'linkerd', 'examples/istio/security', '--inventory', 'examples/istio/app', '--traffic', traffic]);
      assert.equal(code, 2, traffic);
      assert.match(stderr, said);
      assert.match(stdout, /^kind: Server$/m);
    }
  });

  it('writes only the container ports Kubernetes admits: never NaN, 0 or out of range', async () => {
    const dir = scratchDir('mesh-policy-translate-ports-');
    copyFileSync(join(FIXTURES, 'inventory', 'bad-ports.yaml'), join(dir, 'cart.yaml'));
    const { stdout } = await run(['--to', 'linkerd', 'cart.yaml'], dir);
    const ports = [...stdout.matchAll(/^ +port: (.*)$/gm)].map((m) => m[1]);
    assert.deepEqual(ports, ['8080'], stdout);
  });

  it('refuses what it cannot do, with the reason', async () => {
    assert.deepEqual(await run(['--to', 'istio', 'examples/istio/security']).then((r) => [r.code, r.stderr]), [1, 'mesh-policy: nothing to translate: the policies found are istio\'s already, or there are none']);
    const usage = await run(['examples/istio/security']);
    assert.equal(usage.code, 2);
    assert.match(usage.stderr, /translate needs --to istio\|linkerd\|consul/);
  });
});

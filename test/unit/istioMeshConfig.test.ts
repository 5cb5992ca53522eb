import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { runExplainCli } from '../../server/src/cli/simulate';
import { defaultConfig, parseConfig, type ProjectConfig } from '../../server/src/engine/config/projectConfig';
import { Engine } from '../../server/src/engine/engine';
import { bulkInventoryValues } from '../../server/src/engine/inventory/bulkObjects';
import { meshConfigOf, type MeshConfigInfo } from '../../server/src/engine/istio/meshConfig';
import { Simulation } from '../../server/src/engine/simulate';
import type { AccessRecord } from '../../server/src/engine/traffic/accessRecord';
import { WorkspaceModel } from '../../server/src/engine/workspace';
import { scratchDir } from '../helpers/scratch';

// Where Istio keeps its mesh config: the `istio` ConfigMap of istiod's namespace (`istio-<revision>`
// for a revision), key `mesh`, a MeshConfig in YAML (istio/istio pkg/config/mesh, the istiod chart's
// templates/configmap.yaml); an IstioOperator's `spec.meshConfig` is what istioctl writes there.

const engine = new Engine();

const configMap = (name: string, mesh: string, namespace = 'istio-system') =>
  `apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: ${name}\n  namespace: ${namespace}\ndata:\n  mesh: |-\n${mesh.split('\n').map((l) => (l ? `    ${l}` : l)).join('\n')}\n`;
const PROVIDERS = (...names: string[]) => `extensionProviders:\n${names.map((n) => `- name: ${n}\n  envoyExtAuthzGrpc:\n    service: ${n}.authz.svc.cluster.local\n    port: 9191\n`).join('')}`;
const CUSTOM = `apiVersion: security.istio.io/v1\nkind: AuthorizationPolicy\nmetadata:\n  name: ext\n  namespace: foo\nspec:\n  action: CUSTOM\n  provider:\n    name: ext\n  rules:\n  - to:\n    - operation:\n        paths: ["/admin/*"]\n`;
const CALL: AccessRecord = {
  mesh: 'istio', protocol: 'http',
  source: { principal: 'cluster.local/ns/foo/sa/sleep' },
  destination: { namespace: 'foo', labels: { app: 'httpbin' }, port: 8000 },
  request: { method: 'GET', path: '/admin/users', headers: {} },
};

function workspace(files: Record<string, string>, config: ProjectConfig = defaultConfig('/ws')): WorkspaceModel {
  const ws = new WorkspaceModel(config);
  for (const [path, text] of Object.entries(files)) ws.update(engine.prepare(engine.read(`/ws/${path}`, text)));
  return ws;
}

function read(text: string): MeshConfigInfo | undefined {
  const ws = workspace({ 'mesh.yaml': text });
  return ws.inventory.meshConfigs?.[0];
}

describe('Istio mesh config: which objects are read', () => {
  const cases: Array<{ name: string; text: string; expect: Partial<MeshConfigInfo> | undefined }> = [
    { name: 'the istio ConfigMap', text: configMap('istio', `trustDomain: corp.example\ntrustDomainAliases: [old.example]\nrootNamespace: mesh-root\n${PROVIDERS('opa')}`), expect: { label: 'ConfigMap istio-system/istio', revision: '', defaultConfigMap: true, trustDomain: 'corp.example', trustDomainAliases: ['old.example'], rootNamespace: 'mesh-root', extensionProviders: [{ name: 'opa', type: 'envoyExtAuthzGrpc' }] } },
    { name: 'a revision\'s ConfigMap', text: configMap('istio-canary', 'trustDomain: corp.example'), expect: { label: 'ConfigMap istio-system/istio-canary', revision: 'canary', defaultConfigMap: false, trustDomain: 'corp.example' } },
    { name: 'an empty mesh: known, without providers', text: configMap('istio', ''), expect: { label: 'ConfigMap istio-system/istio' } },
    { name: 'a mesh that is not YAML', text: configMap('istio', 'extensionProviders: [a'), expect: { label: 'ConfigMap istio-system/istio' } },
    { name: 'istio-sidecar-injector (no mesh key)', text: 'apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: istio-sidecar-injector\n  namespace: istio-system\ndata:\n  config: "{}"\n', expect: undefined },
    { name: 'another ConfigMap with a mesh key', text: configMap('mesh-settings', 'trustDomain: x'), expect: undefined },
    { name: 'an IstioOperator', text: 'apiVersion: install.istio.io/v1alpha1\nkind: IstioOperator\nmetadata:\n  name: cp\n  namespace: istio-system\nspec:\n  revision: canary\n  meshConfig:\n    trustDomain: corp.example\n', expect: { label: 'IstioOperator istio-system/cp', revision: 'canary', defaultConfigMap: false, trustDomain: 'corp.example' } },
    { name: 'an IstioOperator without meshConfig', text: 'apiVersion: install.istio.io/v1alpha1\nkind: IstioOperator\nmetadata:\n  name: cp\nspec:\n  profile: minimal\n', expect: undefined },
    { name: 'Helm values of an app chart with meshConfig', text: 'meshConfig:\n  trustDomain: corp.example\n', expect: undefined },
    // pathNormalization.normalization (istio/api mesh/v1alpha1 ProxyPathNormalization; DEFAULT is BASE)
    { name: 'pathNormalization MERGE_SLASHES', text: configMap('istio', 'pathNormalization:\n  normalization: MERGE_SLASHES'), expect: { pathNormalization: 'MERGE_SLASHES' } },
    { name: 'pathNormalization DEFAULT is BASE', text: configMap('istio', 'pathNormalization:\n  normalization: DEFAULT'), expect: { pathNormalization: 'BASE' } },
    { name: 'pathNormalization NONE', text: configMap('istio', 'pathNormalization: {normalization: NONE}'), expect: { pathNormalization: 'NONE' } },
    { name: 'pathNormalization of an IstioOperator', text: 'apiVersion: install.istio.io/v1alpha1\nkind: IstioOperator\nmetadata:\n  name: cp\nspec:\n  meshConfig:\n    pathNormalization:\n      normalization: DECODE_AND_MERGE_SLASHES\n', expect: { pathNormalization: 'DECODE_AND_MERGE_SLASHES' } },
    { name: 'pathNormalization with a value outside the enum is not read', text: configMap('istio', 'pathNormalization: {normalization: merge_slashes}'), expect: { pathNormalization: undefined } },
  ];
  for (const c of cases) {
    it(c.name, () => {
      const found = read(c.text);
      if (c.expect === undefined) return assert.equal(found, undefined);
      assert.ok(found);
      for (const [key, value] of Object.entries(c.expect)) assert.deepEqual(found[key as keyof MeshConfigInfo], value, key);
    });
  }

  it('a mesh that is not YAML is not used, and a note says why', () => {
    const ws = workspace({ 'mesh.yaml': configMap('istio', 'extensionProviders: [a') });
    assert.match(ws.inventory.meshConfigs?.[0]?.problem ?? '', /data\.mesh is not YAML/);
    assert.equal(ws.config.istio.extensionProviders, undefined);
    assert.match(ws.config.istio.meshConfigNotes?.[0] ?? '', /ConfigMap istio-system\/istio is not used: data\.mesh is not YAML/);
  });

  it('an empty mesh is a known mesh config without extension providers', () => {
    assert.deepEqual(workspace({ 'mesh.yaml': configMap('istio', '') }).config.istio.extensionProviders, []);
  });

  it('a cluster dump over the size limit keeps the istio ConfigMaps, not the others', () => {
    const text = ['apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: grafana-dashboards\ndata:\n  a: b\n', configMap('istio', PROVIDERS('opa')), 'apiVersion: install.istio.io/v1alpha1\nkind: IstioOperator\nmetadata:\n  name: cp\nspec:\n  meshConfig: {}\n'].join('---\n');
    const values = bulkInventoryValues(text, 'yaml')!;
    assert.deepEqual(values.map((v) => (v['metadata'] as { name: string }).name), ['istio', 'cp']);
    assert.equal(meshConfigOf(values[0]!, { file: 'dump.yaml', span: { start: 0, end: 0 } })?.extensionProviders?.[0]?.name, 'opa');
  });
});

describe('Istio mesh config: precedence', () => {
  const mesh = configMap('istio', `trustDomain: corp.example\nrootNamespace: mesh-root\n${PROVIDERS('opa')}`);

  it('without a mesh config: the defaults, providers unknown', () => {
    const istio = workspace({ 'p.yaml': CUSTOM }).config.istio;
    assert.equal(istio.trustDomain, 'cluster.local');
    assert.equal(istio.rootNamespace, 'istio-system');
    assert.equal(istio.extensionProviders, undefined);
  });

  it('the workspace\'s mesh config over the defaults', () => {
    const istio = workspace({ 'mesh.yaml': mesh }).config.istio;
    assert.equal(istio.trustDomain, 'corp.example');
    assert.equal(istio.rootNamespace, 'mesh-root');
    assert.deepEqual(istio.extensionProviders?.map((p) => p.name), ['opa']);
    assert.equal(istio.meshConfig, 'ConfigMap istio-system/istio');
  });

  it('.meshpolicy.yaml over the workspace\'s mesh config, key by key', () => {
    const config = parseConfig('istio:\n  trustDomain: file.example\n  extensionProviders: [ext]\n', defaultConfig('/ws'));
    assert.deepEqual(config.problems.map((p) => p.message), []);
    const istio = workspace({ 'mesh.yaml': mesh }, config).config.istio;
    assert.equal(istio.trustDomain, 'file.example');
    assert.equal(istio.rootNamespace, 'mesh-root');
    assert.deepEqual(istio.extensionProviders, [{ name: 'ext' }]);
    assert.equal(istio.meshConfig, '.meshpolicy.yaml');
  });

  it('istio.extensionProviders must be a list of names', () => {
    const config = parseConfig('istio:\n  extensionProviders: [{name: ext}]\n', defaultConfig('/ws'));
    assert.deepEqual(config.problems.map((p) => p.message), ['.meshpolicy.yaml: istio.extensionProviders must be a list of provider names']);
    assert.equal(config.istio.extensionProviders, undefined);
  });

  it('mesh configs that disagree: the default revision\'s istio ConfigMap, with a note', () => {
    const ws = workspace({ 'a.yaml': configMap('istio-canary', PROVIDERS('ext')), 'b.yaml': configMap('istio', PROVIDERS('opa')) });
    assert.deepEqual(ws.config.istio.extensionProviders?.map((p) => p.name), ['opa']);
    assert.deepEqual(ws.config.istio.meshConfigNotes, ['the workspace declares 2 Istio mesh configs that disagree (ConfigMap istio-system/istio-canary, ConfigMap istio-system/istio): using ConfigMap istio-system/istio']);
  });

  it('mesh configs that agree: no note', () => {
    const ws = workspace({ 'a.yaml': configMap('istio', PROVIDERS('opa')), 'b.yaml': 'apiVersion: install.istio.io/v1alpha1\nkind: IstioOperator\nmetadata:\n  name: cp\nspec:\n  meshConfig:\n' + PROVIDERS('opa').split('\n').map((l) => (l ? `    ${l}` : l)).join('\n') });
    assert.equal(ws.config.istio.meshConfigNotes, undefined);
  });

  it('the configuration object stays the same while the mesh settings do', () => {
    const ws = workspace({ 'mesh.yaml': mesh, 'p.yaml': CUSTOM });
    const first = ws.config;
    ws.update(engine.prepare(engine.read('/ws/app.yaml', 'apiVersion: v1\nkind: Namespace\nmetadata:\n  name: foo\n')));
    assert.equal(ws.config, first);
    ws.update(engine.prepare(engine.read('/ws/mesh.yaml', configMap('istio', PROVIDERS('opa', 'ext')))));
    assert.notEqual(ws.config, first);
  });
});

describe('Istio mesh config: the simulation', () => {
  it('a CUSTOM policy naming an undeclared provider denies; declaring it makes it an external decision again', () => {
    const ws = workspace({ 'mesh.yaml': configMap('istio', PROVIDERS('opa')), 'p.yaml': CUSTOM });
    const simulation = new Simulation(ws);
    const denied = simulation.decide(CALL);
    assert.equal(denied.verdict, 'deny');
    assert.equal(denied.deniedBy?.policyId, 'istio-ext-authz-ext-ns[foo]-policy[ext]-rule[0]-deny-due-to-bad-CUSTOM-action');
    ws.update(engine.prepare(engine.read('/ws/mesh.yaml', configMap('istio', PROVIDERS('opa', 'ext')))));
    const update = simulation.update(ws, ['/ws/mesh.yaml']);
    assert.equal(update.affects(CALL), true);
    assert.equal(simulation.decide(CALL).verdict, 'external');
  });

  it('without a mesh config the CUSTOM policy stays an external decision', () => {
    assert.equal(new Simulation(workspace({ 'p.yaml': CUSTOM })).decide(CALL).verdict, 'external');
  });

  // The proxies normalize the path before authorization as the mesh config's pathNormalization says
  // (istio.io docs/ops/best-practices/security, "Customize your system on path normalization").
  const DENY_AB = `apiVersion: security.istio.io/v1\nkind: AuthorizationPolicy\nmetadata:\n  name: deny-ab\n  namespace: foo\nspec:\n  action: DENY\n  rules:\n  - to:\n    - operation:\n        paths: ["/a/b"]\n`;
  const at = (path: string): AccessRecord => ({ ...CALL, request: { method: 'GET', path, headers: {} } });
  const normalizations: Array<{ mode: string | undefined; verdicts: Record<string, 'allow' | 'deny'> }> = [
    { mode: undefined, verdicts: { '/a/../a/b': 'deny', '/a//b': 'allow', '/a%2fb': 'allow', '/a%5Cb': 'allow' } },
    { mode: 'DEFAULT', verdicts: { '/a/../a/b': 'deny', '/a//b': 'allow', '/a%2fb': 'allow', '/a%5Cb': 'allow' } },
    { mode: 'NONE', verdicts: { '/a/../a/b': 'allow', '/a//b': 'allow', '/a%2fb': 'allow', '/a%5Cb': 'allow' } },
    { mode: 'BASE', verdicts: { '/a/../a/b': 'deny', '/a//b': 'allow', '/a%2fb': 'allow', '/a%5Cb': 'allow' } },
    { mode: 'MERGE_SLASHES', verdicts: { '/a/../a/b': 'deny', '/a//b': 'deny', '/a%2fb': 'allow', '/a%5Cb': 'allow' } },
    { mode: 'DECODE_AND_MERGE_SLASHES', verdicts: { '/a/../a/b': 'deny', '/a//b': 'deny', '/a%2fb': 'deny', '/a%5Cb': 'deny' } },
  ];
  for (const { mode, verdicts } of normalizations) {
    for (const [path, verdict] of Object.entries(verdicts)) {
      it(`pathNormalization ${mode ?? '(unset)'}: ${path} → ${verdict}`, () => {
        const files: Record<string, string> = { 'p.yaml': DENY_AB };
        if (mode) files['mesh.yaml'] = configMap('istio', `pathNormalization:\n  normalization: ${mode}`);
        assert.equal(new Simulation(workspace(files)).decide(at(path)).verdict, verdict);
      });
    }
  }

  it('istio.pathNormalization in .meshpolicy.yaml: over the mesh config, and alone where there is none', () => {
    const config = parseConfig('istio:\n  pathNormalization: DECODE_AND_MERGE_SLASHES\n', defaultConfig('/ws'));
    assert.deepEqual(config.problems.map((p) => p.message), []);
    assert.equal(workspace({ 'mesh.yaml': configMap('istio', 'pathNormalization:\n  normalization: NONE') }, config).config.istio.pathNormalization, 'DECODE_AND_MERGE_SLASHES');
    assert.equal(workspace({}, config).config.istio.pathNormalization, 'DECODE_AND_MERGE_SLASHES');
    const ws = workspace({ 'p.yaml': DENY_AB }, parseConfig('istio: {pathNormalization: MERGE_SLASHES}\n', defaultConfig('/ws')));
    assert.equal(new Simulation(ws).decide(at('/a//b')).verdict, 'deny', 'the merged path /a/b is denied');
    assert.equal(parseConfig('istio: {pathNormalization: DEFAULT}\n', defaultConfig('/ws')).istio.pathNormalization, 'BASE');
    const bad = parseConfig('istio: {pathNormalization: merge_slashes}\n', defaultConfig('/ws'));
    assert.deepEqual(bad.problems.map((p) => p.message), ['.meshpolicy.yaml: istio.pathNormalization must be one of DEFAULT, NONE, BASE, MERGE_SLASHES, DECODE_AND_MERGE_SLASHES; the mesh config\'s, else BASE, applies']);
    assert.equal(bad.istio.pathNormalization, undefined);
  });

  it('a change of pathNormalization in the mesh config changes the decision', () => {
    const ws = workspace({ 'mesh.yaml': configMap('istio', 'pathNormalization:\n  normalization: BASE'), 'p.yaml': DENY_AB });
    const simulation = new Simulation(ws);
    assert.equal(simulation.decide(at('/a//b')).verdict, 'allow');
    ws.update(engine.prepare(engine.read('/ws/mesh.yaml', configMap('istio', 'pathNormalization:\n  normalization: MERGE_SLASHES'))));
    const update = simulation.update(ws, ['/ws/mesh.yaml']);
    assert.equal(update.affects(at('/a//b')), true);
    assert.equal(simulation.decide(at('/a//b')).verdict, 'deny');
  });
});

describe('Istio mesh config: the CLI', () => {
  it('says which of several disagreeing mesh configs it used, and decides by it', async () => {
    const dir = scratchDir('mesh-policy-meshconfig-');
    writeFileSync(join(dir, 'canary.yaml'), configMap('istio-canary', PROVIDERS('ext')));
    writeFileSync(join(dir, 'default.yaml'), configMap('istio', PROVIDERS('opa')));
    writeFileSync(join(dir, 'policy.yaml'), CUSTOM);
    const out: string[] = [];
    const err: string[] = [];
    await runExplainCli(['--policies', dir, '--call', JSON.stringify(CALL), '--format', 'json'], { stdout: (t) => out.push(t), stderr: (t) => err.push(t), cwd: dir });
    assert.deepEqual(err, ['mesh-policy: Istio mesh config: the workspace declares 2 Istio mesh configs that disagree (ConfigMap istio-system/istio-canary, ConfigMap istio-system/istio): using ConfigMap istio-system/istio']);
    assert.equal((JSON.parse(out.join('')) as { verdict: string }).verdict, 'deny');
  });
});

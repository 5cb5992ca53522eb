import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { defaultConfig, type ProjectConfig } from '../../../server/src/engine/config/projectConfig';
import { Engine } from '../../../server/src/engine/engine';
import { Simulation } from '../../../server/src/engine/simulate';
import type { Verdict } from '../../../server/src/engine/simulate/types';
import type { AccessRecord } from '../../../server/src/engine/traffic/accessRecord';
import { WorkspaceModel } from '../../../server/src/engine/workspace';

// A mesh with no policies in the workspace still decides its calls, by its defaults
// (mesh-semantics: Istio with no AuthorizationPolicy allows; Linkerd falls back to the pod's, the
// namespace's or the cluster's default inbound policy; Consul with no matching intention applies
// the default intention policy). The meshes with policies do not change that.

const engine = new Engine();

function simulationOf(files: Record<string, string>, configure: (config: ProjectConfig) => void = () => {}): Simulation {
  const config = defaultConfig('/ws');
  configure(config);
  const workspace = new WorkspaceModel(config);
  for (const [path, text] of Object.entries(files)) workspace.update(engine.prepare(engine.read(path, text)));
  return new Simulation(workspace);
}

const ISTIO_CALL: AccessRecord = {
  mesh: 'istio', protocol: 'http',
  source: { principal: 'cluster.local/ns/foo/sa/sleep', ip: '10.1.2.3' },
  destination: { namespace: 'foo', workload: 'httpbin', port: 8080, labels: { app: 'httpbin' } },
  request: { method: 'GET', path: '/x' },
};
const LINKERD_CALL: AccessRecord = {
  mesh: 'linkerd', protocol: 'http',
  source: { principal: null, ip: '10.1.2.3' },
  destination: { namespace: 'app', workload: 'web', port: 8080 },
  request: { method: 'GET', path: '/' },
};
const CONSUL_CALL: AccessRecord = {
  mesh: 'consul', protocol: 'http',
  source: { principal: 'spiffe://1.consul/ns/default/dc/dc1/svc/web', service: 'web' },
  destination: { service: 'api', namespace: 'default', port: 20000 },
  request: { method: 'GET', path: '/v1/x' },
};
const UNRELATED_ISTIO_POLICY = 'apiVersion: security.istio.io/v1\nkind: AuthorizationPolicy\nmetadata: {name: other, namespace: elsewhere}\nspec: {action: DENY, rules: [{}]}\n';
const LINKERD_POD_DENY = 'apiVersion: v1\nkind: Pod\nmetadata:\n  name: web-1\n  namespace: app\n  labels: {app: web}\n  annotations: {config.linkerd.io/default-inbound-policy: deny}\nspec:\n  containers: [{name: web, ports: [{containerPort: 8080}]}]\nstatus: {podIP: 10.9.9.9}\n';

interface Case {
  name: string;
  files?: Record<string, string>;
  configure?: (config: ProjectConfig) => void;
  call: AccessRecord;
  verdict: Verdict;
}

const CASES: Case[] = [
  { name: 'Istio, an empty workspace: no AuthorizationPolicy allows', call: ISTIO_CALL, verdict: 'allow' },
  { name: 'Linkerd, an empty workspace: the default all-unauthenticated allows', call: LINKERD_CALL, verdict: 'allow' },
  { name: 'Linkerd, the cluster default deny', configure: (c) => { c.linkerd.defaultInboundPolicy = 'deny'; }, call: LINKERD_CALL, verdict: 'deny' },
  { name: 'Linkerd, the cluster default deny with only Istio policies in the workspace', files: { '/ws/istio.yaml': UNRELATED_ISTIO_POLICY }, configure: (c) => { c.linkerd.defaultInboundPolicy = 'deny'; }, call: LINKERD_CALL, verdict: 'deny' },
  { name: 'Linkerd, a pod annotation deny and no Linkerd resource', files: { '/ws/pod.yaml': LINKERD_POD_DENY }, call: { ...LINKERD_CALL, destination: { namespace: 'app', workload: 'web-1', port: 8080, ip: '10.9.9.9' } }, verdict: 'deny' },
  { name: 'Consul, an empty workspace with the default intention policy deny', configure: (c) => { c.consul.defaultIntentionPolicy = 'deny'; }, call: CONSUL_CALL, verdict: 'deny' },
  { name: 'Consul, the default intention policy allow', configure: (c) => { c.consul.defaultIntentionPolicy = 'allow'; }, call: CONSUL_CALL, verdict: 'allow' },
];

describe('a mesh without policies decides by its defaults', () => {
  for (const c of CASES) {
    it(c.name, () => {
      const decision = simulationOf(c.files ?? {}, c.configure).decide(c.call, true);
      assert.equal(decision.verdict, c.verdict, decision.reason);
    });
  }

  it('a record that names no mesh, in a workspace with none, stays unknown and says why', () => {
    const { mesh: _mesh, ...call } = ISTIO_CALL;
    const decision = simulationOf({}).decide({ ...call, source: { ip: '10.1.2.3' } }, true);
    assert.equal(decision.verdict, 'unknown');
    assert.deepEqual(decision.missing, ['mesh']);
  });
});

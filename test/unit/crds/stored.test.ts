import assert from 'node:assert/strict';
import { join } from 'node:path';
import { before, describe, it } from 'node:test';
import { Engine } from '../../../server/src/engine/engine';
import { defaultConfig } from '../../../server/src/engine/config/projectConfig';
import { resimulate, Simulation, simulateShapes, type SimulationResult } from '../../../server/src/engine/simulate';
import { parseWrittenCall } from '../../../server/src/engine/traffic/writtenCall';
import { WorkspaceModel } from '../../../server/src/engine/workspace';
import { shapeKey } from '../../../server/src/engine/traffic/ingest/shapes';
import { cartReadersByTargetRefs, crdYaml, OLD_AUTHORIZATION_POLICY, OLD_ISTIO_AP_CRD } from '../../helpers/crds';
import { loadExampleTraffic, type ExampleTraffic } from '../../helpers/exampleTraffic';
import { EXAMPLES } from '../../helpers/paths';
import { shopDeployment } from '../../helpers/cartReaders';

/**
 * The simulators decide with the policies as the cluster stores them under the workspace's CRDs
 * (`crds/stored.ts`): a field the CRD does not declare is dropped (what Helm, Argo CD and Flux
 * get), a resource the CRD refuses is not in effect.
 */
const engine = new Engine();

const APP = `${shopDeployment('cart')}---
${shopDeployment('orders')}---
apiVersion: v1
kind: Service
metadata: {name: cart, namespace: shop}
spec: {selector: {app: cart}, ports: [{port: 80, targetPort: 8080}]}
`;

const policy = cartReadersByTargetRefs;

const CALL_TO_ORDERS = '{"source":{"principal":"cluster.local/ns/shop/sa/web"},"destination":{"namespace":"shop","workload":"orders","port":8080},"protocol":"http","request":{"method":"GET","path":"/"}}';

function simulationOf(files: Record<string, string>): Simulation {
  const workspace = new WorkspaceModel(defaultConfig('/ws'));
  for (const [path, text] of Object.entries(files)) workspace.update(engine.prepare(engine.read(path, text)));
  return new Simulation(workspace);
}

function decide(simulation: Simulation): { verdict: string; trace: string } {
  const call = parseWrittenCall(CALL_TO_ORDERS);
  assert.ok('call' in call, JSON.stringify(call));
  const decision = simulation.decide(call.call.record, true);
  return { verdict: decision.verdict, trace: decision.trace.map((step) => step.text).join('\n') };
}

describe('simulation under the installed CRDs', () => {
  it('without a CRD, a targetRefs policy is not enforced by sidecars: the call to orders is allowed', () => {
    assert.equal(decide(simulationOf({ '/ws/app.yaml': APP, '/ws/p.yaml': policy('v1beta1') })).verdict, 'allow');
  });

  it('a CRD without targetRefs drops it: the policy applies to the whole namespace and denies the call', () => {
    const { verdict, trace } = decide(simulationOf({ '/ws/app.yaml': APP, '/ws/p.yaml': policy('v1beta1'), '/ws/crds.yaml': OLD_ISTIO_AP_CRD }));
    assert.equal(verdict, 'deny');
    assert.match(trace, /no selector: applies to every workload in namespace shop/);
    assert.match(trace, /the API server drops spec\.targetRefs, which the CustomResourceDefinition authorizationpolicies\.security\.istio\.io does not declare in v1beta1/);
  });

  it('a version the CRD does not serve: the policy is never stored, and says why', () => {
    const simulation = simulationOf({ '/ws/app.yaml': APP, '/ws/p.yaml': policy('v1'), '/ws/crds.yaml': OLD_ISTIO_AP_CRD });
    assert.equal(decide(simulation).verdict, 'allow');
    assert.deepEqual(simulation.notInEffect().map((r) => [r.mesh, r.ref.label, r.reason]), [['istio', 'AuthorizationPolicy shop/cart-readers', 'Istio refuses to store it (the CustomResourceDefinition authorizationpolicies.security.istio.io does not serve security.istio.io/v1)']]);
  });

  it('a value the CRD refuses: not in effect', () => {
    const strict = crdYaml('security.istio.io', 'AuthorizationPolicy', 'authorizationpolicies', [{ name: 'v1', schema: { type: 'object', properties: { spec: { type: 'object', 'x-kubernetes-preserve-unknown-fields': true, properties: { rules: { type: 'array', maxItems: 0 } } } } } }]);
    const simulation = simulationOf({ '/ws/app.yaml': APP, '/ws/p.yaml': policy('v1'), '/ws/crds.yaml': strict });
    assert.match(simulation.notInEffect()[0]?.reason ?? '', /refuses it: spec\.rules: Too many: 1: must have at most 0 items/);
  });
});

describe('incremental simulation with CRDs: equal to a fresh one', () => {
  let example: ExampleTraffic;
  before(async () => { example = await loadExampleTraffic(engine, 'istio'); });

  function assertSame(incremental: SimulationResult, full: SimulationResult, what: string): void {
    for (let i = 0; i < full.outcomes.length; i++) {
      assert.deepEqual(incremental.outcomes[i]!.decision, full.outcomes[i]!.decision, `${what}: shape ${shapeKey(full.outcomes[i]!.shape.record)}`);
    }
    assert.deepEqual(incremental.totals, full.totals, `${what}: totals`);
  }

  it('adding, editing under and removing a CRD', () => {
    const crdPath = join(EXAMPLES, 'istio', 'cluster-crds.yaml');
    const both = crdYaml('security.istio.io', 'AuthorizationPolicy', 'authorizationpolicies', [{ name: 'v1beta1', schema: OLD_AUTHORIZATION_POLICY }, { name: 'v1', schema: OLD_AUTHORIZATION_POLICY }]);
    const simulation = new Simulation(example.workspace);
    let result = simulateShapes(simulation, example.shapes);
    const fresh = simulateShapes(new Simulation(example.workspace), example.shapes);
    let changed = false;
    const steps: Array<[string, string, string | undefined]> = [
      ['a CRD that serves both versions, without some fields', crdPath, both],
      ['the CRD serving v1beta1 only', crdPath, OLD_ISTIO_AP_CRD],
      ['the CRD removed', crdPath, undefined],
    ];
    for (const [what, path, text] of steps) {
      if (text === undefined) example.workspace.remove(path);
      else example.workspace.update(engine.prepare(engine.read(path, text)));
      const update = simulation.update(example.workspace, [path]);
      result = resimulate(result, simulation, update.affects);
      const full = simulateShapes(new Simulation(example.workspace), example.shapes);
      assertSame(result, full, what);
      changed ||= JSON.stringify(full.totals) !== JSON.stringify(fresh.totals);
    }
    assert.ok(changed, 'the CRDs change some decisions of the example');
    assert.deepEqual(result.totals, fresh.totals, 'without the CRD, as before');
  });
});

describe('the walkthrough names what the cluster\'s CRD dropped, in every mesh', () => {
  const walkthrough = (files: Record<string, string>, call: string) => {
    const parsed = parseWrittenCall(call);
    assert.ok('call' in parsed, JSON.stringify(parsed));
    const decision = simulationOf(files).decide(parsed.call.record, true);
    return { verdict: decision.verdict, trace: decision.trace.map((step) => step.text).join('\n') };
  };

  it('Linkerd: a Server\'s accessPolicy the CRD lacks: the Server denies what nothing authorizes', () => {
    const web = `apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: web, namespace: emojivoto}\nspec:\n  selector: {matchLabels: {app: web}}\n  template:\n    metadata: {labels: {app: web}}\n    spec: {serviceAccountName: web, containers: [{name: web, image: web, ports: [{name: http, containerPort: 8080}]}]}\n`;
    const server = 'apiVersion: policy.linkerd.io/v1beta3\nkind: Server\nmetadata: {name: web-http, namespace: emojivoto}\nspec:\n  podSelector:\n    matchLabels: {app: web}\n  port: http\n  accessPolicy: all-unauthenticated\n';
    const crd = crdYaml('policy.linkerd.io', 'Server', 'servers', [{ name: 'v1beta3', schema: { type: 'object', properties: { spec: { type: 'object', properties: { podSelector: { type: 'object', 'x-kubernetes-preserve-unknown-fields': true }, port: { 'x-kubernetes-int-or-string': true }, proxyProtocol: { type: 'string' } } } } } }]);
    const call = '{"mesh":"linkerd","source":{"principal":"vote-bot.emojivoto.serviceaccount.identity.linkerd.cluster.local"},"destination":{"namespace":"emojivoto","workload":"web","port":8080},"protocol":"http","request":{"method":"GET","path":"/"}}';
    assert.equal(walkthrough({ '/ws/app.yaml': web, '/ws/server.yaml': server }, call).verdict, 'allow');
    const dropped = walkthrough({ '/ws/app.yaml': web, '/ws/server.yaml': server, '/ws/crds.yaml': crd }, call);
    assert.equal(dropped.verdict, 'deny');
    assert.match(dropped.trace, /Server emojivoto\/web-http: the API server drops spec\.accessPolicy, which the CustomResourceDefinition servers\.policy\.linkerd\.io does not declare in v1beta3/);
  });

  it('Consul: an intention\'s jwt the CRD lacks is not required', () => {
    const intentions = 'apiVersion: consul.hashicorp.com/v1alpha1\nkind: ServiceIntentions\nmetadata: {name: api}\nspec:\n  destination: {name: api}\n  jwt:\n    providers:\n      - name: okta\n  sources:\n    - name: web\n      action: allow\n';
    const crd = crdYaml('consul.hashicorp.com', 'ServiceIntentions', 'serviceintentions', [{ name: 'v1alpha1', schema: { type: 'object', properties: { spec: { type: 'object', properties: { destination: { type: 'object', 'x-kubernetes-preserve-unknown-fields': true }, sources: { type: 'array', items: { type: 'object', 'x-kubernetes-preserve-unknown-fields': true } } } } } } }]);
    const call = '{"mesh":"consul","source":{"principal":"spiffe://11111111-2222-3333-4444-555555555555.consul/ns/default/dc/dc1/svc/web"},"destination":{"service":"api","port":8080},"protocol":"tcp"}';
    const { trace } = walkthrough({ '/ws/i.yaml': intentions, '/ws/crds.yaml': crd }, call);
    assert.match(trace, /ServiceIntentions api: the API server drops spec\.jwt, which the CustomResourceDefinition serviceintentions\.consul\.hashicorp\.com does not declare in v1alpha1/);
  });
});

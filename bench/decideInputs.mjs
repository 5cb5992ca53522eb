// The inputs of the decide suite (bench/decide.mjs) and of the decide floor (bench/floors.mjs):
// per mesh, a workspace with the generator's policies and inventory, distinct calls drawn from the
// generator's traffic, and those calls folded into shapes as ingest folds them.
import { createRequire } from 'node:module';
import { calls, consulPolicies, CONSUL_TRUST_DOMAIN, istioPolicies, linkerdPolicies } from './generate.mjs';

const require = createRequire(import.meta.url);
const { WorkspaceModel } = require('../out/server/src/engine/workspace.js');
const { defaultConfig } = require('../out/server/src/engine/config/projectConfig.js');
const { headersTestedBy } = require('../out/server/src/engine/simulate/testedHeaders.js');
const { ShapeTable } = require('../out/server/src/engine/traffic/ingest/shapes.js');

/** A workspace with `policyCount` of the generator's policies of `mesh` and its inventory (YAML text). */
export function meshWorkspace(engine, model, inventory, mesh, policyCount) {
  const policies = mesh === 'istio' ? istioPolicies(model, policyCount) : mesh === 'linkerd' ? linkerdPolicies(model, policyCount) : consulPolicies(model, policyCount);
  const workspace = new WorkspaceModel(defaultConfig(process.cwd()));
  workspace.update(engine.prepare(engine.read(`/bench/${mesh}.yaml`, policies)));
  workspace.update(engine.prepare(engine.read('/bench/inventory.yaml', inventory)));
  return workspace;
}

/** A call as the readers give it for `mesh` (identities in the mesh's form, destination labels from the inventory). */
function record(mesh, c) {
  const s = c.server;
  const tcp = s.kind === 'tcp';
  const caller = c.client;
  const principal = !caller ? (mesh === 'istio' ? 'cluster.local/ns/istio-system/sa/istio-ingressgateway-service-account' : mesh === 'linkerd' ? 'ingress-nginx.ingress-nginx.serviceaccount.identity.linkerd.cluster.local' : `spiffe://${CONSUL_TRUST_DOMAIN}/ns/default/dc/dc1/svc/ingress-gateway`)
    : mesh === 'istio' ? `cluster.local/ns/${caller.ns}/sa/${caller.name}`
      : mesh === 'linkerd' ? `${caller.name}.${caller.ns}.serviceaccount.identity.linkerd.cluster.local`
        : `spiffe://${CONSUL_TRUST_DOMAIN}/ns/default/dc/dc1/svc/${caller.name}`;
  const ns = mesh === 'consul' ? 'default' : undefined;
  const r = {
    mesh, protocol: tcp ? 'tcp' : s.kind === 'grpc' ? 'grpc' : 'http',
    source: caller
      ? { principal, namespace: ns ?? caller.ns, serviceAccount: caller.name, workload: caller.name, service: caller.name, ip: c.fromPod.ip }
      : { principal, namespace: ns ?? 'istio-system', ip: c.fromPod.ip },
    destination: { namespace: ns ?? s.ns, workload: s.name, service: s.name, serviceAccount: s.name, labels: { ...s.labels }, ip: c.toPod.ip, port: s.port },
    observed: c.outcome === 'deny-none' || c.outcome === 'deny-admin' ? 'denied' : 'allowed', count: 1,
  };
  if (!tcp) r.request = { method: c.method, path: c.path, host: `${s.name}.${s.ns}.svc.cluster.local`, headers: { 'x-tenant': c.tenant } };
  return r;
}

/** `count` distinct shapes, drawn from the generator's traffic (JSON round trip: plain data, as the readers produce). */
export function shapes(model, mesh, count) {
  const seen = new Set();
  const out = [];
  for (const c of calls(model, count * 40, 77)) {
    const r = record(mesh, c);
    const key = JSON.stringify(r);
    if (seen.has(key)) continue;
    seen.add(key);
    out.push(JSON.parse(key));
    if (out.length >= count) break;
  }
  return out;
}

/** The shapes the product would simulate for these calls: folded by ingest's ShapeTable, which
 * interns their strings; a workload's label map is one object, as resolution from the inventory
 * gives it. */
export function productShapes(records, workspace) {
  const labelMaps = new Map();
  const shared = (labels) => {
    const key = JSON.stringify(labels);
    if (!labelMaps.has(key)) labelMaps.set(key, labels);
    return labelMaps.get(key);
  };
  const table = new ShapeTable(3, new Set(headersTestedBy(workspace)));
  records.forEach((r, line) => {
    const record = r.destination?.labels ? { ...r, destination: { ...r.destination, labels: shared(r.destination.labels) } } : r;
    table.add({ record, t: 0, file: 0, line, sourceMethod: 'line', destinationMethod: 'line' });
  });
  return table.finish(['bench']);
}

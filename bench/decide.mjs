// Decision throughput (issue 4, "Speed"): per mesh, 1,000 policies compiled once, then 100,000
// distinct call shapes decided. Target: at least 2M decisions per second per core.
//
// The figure is decisions per CPU-second of this process (process.cpuUsage), which holds up
// better than wall time on a shared machine. The baseline next to it is the least any decision
// must do: build a key from the call's destination, caller, method and path and look it up in a
// Map of 1,000 entries. A simulator at 1.0× the baseline would be as fast as a plain lookup table.
//
//   npm run build && node bench/decide.mjs [--shapes 100000] [--policies 1000]
import { mkdirSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);
const { Engine } = require('../out/server/src/engine/engine.js');
const { WorkspaceModel } = require('../out/server/src/engine/workspace.js');
const { defaultConfig } = require('../out/server/src/engine/config/projectConfig.js');
const { Simulation } = require('../out/server/src/engine/simulate/index.js');

const arg = (name, fallback) => {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? Number(process.argv[i + 1]) : fallback;
};
const SHAPES = arg('shapes', 100_000);
const POLICIES = arg('policies', 1000);

function rng(seed) {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = Math.imul(a ^ (a >>> 15), a | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
const pick = (r, list) => list[Math.floor(r() * list.length)];
const METHODS = ['GET', 'GET', 'GET', 'POST', 'PUT', 'DELETE'];
const PATHS = ['/api/v1/items', '/api/v1/items/42', '/api/v1/orders', '/healthz', '/admin/config', '/api/v2/search?q=x'];
const SERVICES = 250;
const NAMESPACES = 25;
const ns = (i) => `team-${i % NAMESPACES}`;

function deployments() {
  const docs = [];
  for (let i = 0; i < SERVICES; i++) {
    docs.push(`apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: svc-${i}, namespace: ${ns(i)}}\nspec:\n  selector: {matchLabels: {app: svc-${i}}}\n  template:\n    metadata: {labels: {app: svc-${i}}}\n    spec: {serviceAccountName: svc-${i}, containers: [{name: app, image: app, ports: [{name: http, containerPort: 8080}]}]}`);
  }
  return docs;
}

function istioPolicies(r) {
  const docs = [];
  for (let i = 0; i < POLICIES; i++) {
    const svc = i % SERVICES;
    const caller = (svc + 1 + Math.floor(r() * 5)) % SERVICES;
    const action = i % 10 === 0 ? 'DENY' : 'ALLOW';
    docs.push(`apiVersion: security.istio.io/v1\nkind: AuthorizationPolicy\nmetadata: {name: p-${i}, namespace: ${ns(svc)}}\nspec:\n  selector: {matchLabels: {app: svc-${svc}}}\n  action: ${action}\n  rules:\n  - from:\n    - source: {principals: ["cluster.local/ns/${ns(caller)}/sa/svc-${caller}"]}\n    to:\n    - operation: {methods: ["${pick(r, METHODS)}", "GET"], paths: ["/api/v1/*", "/healthz"]}\n    when:\n    - key: request.headers[x-tenant]\n      notValues: ["blocked-${i}"]`);
  }
  return docs;
}

function linkerdPolicies() {
  const docs = [];
  for (let i = 0; i < POLICIES / 4; i++) {
    const svc = i % SERVICES;
    docs.push(`apiVersion: policy.linkerd.io/v1beta3\nkind: Server\nmetadata: {name: srv-${i}, namespace: ${ns(svc)}}\nspec:\n  podSelector: {matchLabels: {app: svc-${svc}}}\n  port: http\n  proxyProtocol: HTTP/1`);
    docs.push(`apiVersion: policy.linkerd.io/v1beta3\nkind: HTTPRoute\nmetadata: {name: route-${i}, namespace: ${ns(svc)}}\nspec:\n  parentRefs: [{name: srv-${i}, kind: Server, group: policy.linkerd.io}]\n  rules:\n  - matches:\n    - path: {type: PathPrefix, value: /api/}\n      method: GET\n    - path: {type: Exact, value: /healthz}`);
    const caller = (svc + 1) % SERVICES;
    docs.push(`apiVersion: policy.linkerd.io/v1alpha1\nkind: MeshTLSAuthentication\nmetadata: {name: clients-${i}, namespace: ${ns(svc)}}\nspec:\n  identities: ["svc-${caller}.${ns(caller)}.serviceaccount.identity.linkerd.cluster.local", "*.${ns(svc)}.serviceaccount.identity.linkerd.cluster.local"]`);
    docs.push(`apiVersion: policy.linkerd.io/v1alpha1\nkind: AuthorizationPolicy\nmetadata: {name: authz-${i}, namespace: ${ns(svc)}}\nspec:\n  targetRef: {group: policy.linkerd.io, kind: HTTPRoute, name: route-${i}}\n  requiredAuthenticationRefs: [{name: clients-${i}, kind: MeshTLSAuthentication, group: policy.linkerd.io}]`);
  }
  return docs;
}

function consulPolicies(r) {
  const docs = [];
  const perEntry = 4;
  for (let e = 0; e < POLICIES / perEntry; e++) {
    const svc = e % SERVICES;
    const sources = [];
    for (let k = 0; k < perEntry; k++) {
      const caller = (svc + 1 + k) % SERVICES;
      if (k === 3) sources.push(`  - name: svc-${caller}\n    permissions:\n    - action: allow\n      http: {pathPrefix: /api/, methods: [GET, POST]}\n    - action: deny\n      http: {pathRegex: "/admin/.*"}`);
      else sources.push(`  - name: svc-${caller}\n    action: ${r() < 0.8 ? 'allow' : 'deny'}`);
    }
    docs.push(`apiVersion: consul.hashicorp.com/v1alpha1\nkind: ServiceIntentions\nmetadata: {name: svc-${svc}-${e}, namespace: ${ns(svc)}}\nspec:\n  destination: {name: svc-${svc}${e >= SERVICES ? `-${e}` : ''}}\n  sources:\n${sources.join('\n')}`);
  }
  return docs;
}

function shapes(mesh, r) {
  const out = [];
  for (let i = 0; i < SHAPES; i++) {
    const dst = Math.floor(r() * SERVICES);
    const src = Math.floor(r() * SERVICES);
    const principal = mesh === 'istio' ? `cluster.local/ns/${ns(src)}/sa/svc-${src}`
      : mesh === 'linkerd' ? `svc-${src}.${ns(src)}.serviceaccount.identity.linkerd.cluster.local`
        : `spiffe://11111111-2222-3333-4444-555555555555.consul/ns/default/dc/dc1/svc/svc-${src}`;
    // JSON round trip: records look as the readers produce them (plain data, no shared objects).
    out.push(JSON.parse(JSON.stringify({
      mesh, protocol: 'http',
      source: { principal, namespace: ns(src), serviceAccount: `svc-${src}`, workload: `svc-${src}`, service: `svc-${src}`, ip: `10.1.${src % 250}.${i % 250}` },
      destination: { namespace: ns(dst), workload: `svc-${dst}`, service: `svc-${dst}`, labels: { app: `svc-${dst}` }, port: 8080, ip: `10.2.${dst % 250}.7` },
      request: { method: pick(r, METHODS), path: `${pick(r, PATHS)}${i % 7 === 0 ? `?v=${i}` : ''}`, host: `svc-${dst}.${ns(dst)}.svc.cluster.local`, headers: { 'x-tenant': `t-${i % 50}` } },
      observed: r() < 0.9 ? 'allowed' : 'denied', count: 1,
    })));
  }
  return out;
}

function cpuMs() {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1000;
}

function baseline(records) {
  const table = new Map();
  for (let i = 0; i < POLICIES; i++) table.set(`team-${i % NAMESPACES}/svc-${i % SERVICES}|x|GET|/api/v1/items`, i);
  let hits = 0;
  const start = cpuMs();
  for (const rec of records) {
    const key = `${rec.destination.namespace}/${rec.destination.workload}|${rec.source.principal}|${rec.request.method}|${rec.request.path}`;
    if (table.has(key)) hits++;
  }
  return { perSecond: records.length / ((cpuMs() - start) / 1000), hits };
}

const engine = new Engine();
const results = { shapes: SHAPES, policies: POLICIES, meshes: {} };
console.log(`Decisions: ${POLICIES.toLocaleString('en-US')} policies per mesh, ${SHAPES.toLocaleString('en-US')} shapes; target 2,000,000 decisions per CPU-second`);
console.log('mesh'.padEnd(9), 'compile ms'.padStart(11), 'decisions/s'.padStart(13), 'vs target'.padStart(10), 'baseline/s'.padStart(12), 'vs baseline'.padStart(12), '  verdicts');
for (const mesh of ['istio', 'linkerd', 'consul']) {
  const r = rng(42);
  const docs = [...deployments(), ...(mesh === 'istio' ? istioPolicies(r) : mesh === 'linkerd' ? linkerdPolicies() : consulPolicies(r))];
  const workspace = new WorkspaceModel(defaultConfig(process.cwd()));
  workspace.update(engine.prepare(engine.read(`/bench/${mesh}.yaml`, `${docs.join('\n---\n')}\n`)));
  let start = cpuMs();
  const simulation = new Simulation(workspace);
  const compileMs = cpuMs() - start;
  const records = shapes(mesh, r);
  for (let i = 0; i < 20_000; i++) simulation.decide(records[i % records.length]); // warm up the JIT
  const verdicts = { allow: 0, deny: 0, external: 0, unknown: 0 };
  let best = 0;
  for (let pass = 0; pass < 3; pass++) {
    start = cpuMs();
    for (const record of records) verdicts[simulation.decide(record).verdict]++;
    best = Math.max(best, records.length / ((cpuMs() - start) / 1000));
  }
  const base = baseline(records);
  results.meshes[mesh] = { compileMs, decisionsPerSecond: best, baselinePerSecond: base.perSecond, verdicts };
  const k = (v) => Math.round(v).toLocaleString('en-US');
  console.log(mesh.padEnd(9), compileMs.toFixed(0).padStart(11), k(best).padStart(13), `${(best / 2e6).toFixed(2)}×`.padStart(10), k(base.perSecond).padStart(12), `${(best / base.perSecond).toFixed(2)}×`.padStart(12), `  ${Object.entries(verdicts).filter(([, v]) => v).map(([v, c]) => `${v} ${Math.round(c / 3)}`).join(', ')}`);
}
mkdirSync(new URL('./.data/', import.meta.url), { recursive: true });
writeFileSync(new URL('./.data/decide-results.json', import.meta.url), `${JSON.stringify({ date: new Date().toISOString(), node: process.version, ...results }, null, 2)}\n`);

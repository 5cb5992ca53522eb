// Schema lint benchmark (part of npm run bench): a 1,000-document policy file, linted in process
// and over LSP; each figure is printed beside the 300 ms target. Results also go to bench/.data/lint-results.json. Run on an idle machine; figures are noisy.
import { mkdirSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { pathToFileURL } from 'node:url';
import { performance } from 'node:perf_hooks';

const require = createRequire(import.meta.url);
const { Engine } = require('../out/server/src/engine/engine.js');
const { LspTestClient } = require('../out/test/helpers/lspClient.js');

/** A 1,000-document policy file: a realistic mix of kinds across the three meshes, with a
 * mistake in every tenth document so the diagnostics path is exercised too. */
export function policyFile(documents = 1000) {
  const docs = [];
  for (let i = 0; i < documents; i++) {
    const ns = `team-${i % 37}`;
    const broken = i % 10 === 0;
    switch (i % 4) {
      case 0:
        docs.push(`apiVersion: security.istio.io/v1
kind: AuthorizationPolicy
metadata:
  name: allow-${i}
  namespace: ${ns}
spec:
  selector:
    matchLabels:
      app: svc-${i}
  action: ${broken ? 'allow' : 'ALLOW'}
  rules:
  - from:
    - source:
        principals: ["cluster.local/ns/${ns}/sa/client-${i}"]
    to:
    - operation:
        methods: ["GET", "POST"]
        paths: ["/api/v1/*", "/healthz"]
        ports: ["8080"]
    when:
    - key: request.headers[x-tenant]
      values: ["t-${i}"]`);
        break;
      case 1:
        docs.push(`apiVersion: policy.linkerd.io/v1beta3
kind: Server
metadata:
  name: srv-${i}
  namespace: ${ns}
spec:
  podSelector:
    matchLabels:
      app: svc-${i}
  port: http
  proxyProtocol: ${broken ? 'HTTP/3' : 'HTTP/1'}`);
        break;
      case 2:
        docs.push(`apiVersion: policy.linkerd.io/v1alpha1
kind: AuthorizationPolicy
metadata:
  name: authz-${i}
  namespace: ${ns}
spec:
  targetRef:
    group: policy.linkerd.io
    kind: Server
    name: srv-${i - 1}
  requiredAuthenticationRefs:
  - name: mtls-${i}
    kind: MeshTLSAuthentication
    group: policy.linkerd.io`);
        break;
      default:
        docs.push(`apiVersion: consul.hashicorp.com/v1alpha1
kind: ServiceIntentions
metadata:
  name: intentions-${i}
spec:
  destination:
    name: svc-${i}
  sources:
  - name: web-${i}
    ${broken ? 'principal: web' : 'action: allow'}
  - name: admin-${i}
    permissions:
    - action: allow
      http:
        pathPrefix: /admin
        methods: ["GET"]`);
    }
  }
  return `${docs.join('\n---\n')}\n`;
}

function percentile(values, p) {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))];
}

const results = {};
const text = policyFile(1000);

// Engine only: the work the server does per edit.
const engine = new Engine();
const engineTimes = [];
for (let run = 0; run < 15; run++) {
  const start = performance.now();
  const result = engine.lintText('bench.yaml', text);
  engineTimes.push(performance.now() - start);
  if (run === 0) results.findings = result.findings.length;
}
results.engineLintFirstMs = engineTimes[0];
results.engineLintP50Ms = percentile(engineTimes.slice(1), 50);

// Over LSP: didOpen / didChange → publishDiagnostics, through the built server on stdio.
const client = new LspTestClient();
await client.initialize(null, null);
const uri = pathToFileURL('/tmp/mesh-policy-bench/policies.yaml').href;
let start = performance.now();
await client.open(uri, text);
await client.diagnosticsFor(uri, { version: 1, timeoutMs: 60_000 });
results.lspFirstDiagnosticsMs = performance.now() - start;
const editTimes = [];
for (let version = 2; version < 22; version++) {
  const edited = text.replace('name: allow-0\n', `name: allow-0-${version}\n`);
  start = performance.now();
  await client.change(uri, edited, version);
  await client.diagnosticsFor(uri, { version, timeoutMs: 60_000 });
  editTimes.push(performance.now() - start);
}
await client.shutdown();

// The usual flow in an editor: the file is in the workspace, the server's workspace scan has
// read it at start, and then the user opens it.
const { mkdtempSync, writeFileSync: writeText } = await import('node:fs');
const { tmpdir } = await import('node:os');
const { join } = await import('node:path');
const folder = mkdtempSync(join(tmpdir(), 'mesh-policy-bench-ws-'));
const onDisk = join(folder, 'policies.yaml');
writeText(onDisk, text);
const scanned = new LspTestClient();
await scanned.initialize(pathToFileURL(folder).href, [{ uri: pathToFileURL(folder).href, name: 'bench' }]);
await scanned.diagnosticsFor(pathToFileURL(onDisk).href, { timeoutMs: 60_000 });
start = performance.now();
await scanned.open(pathToFileURL(onDisk).href, text);
await scanned.diagnosticsFor(pathToFileURL(onDisk).href, { version: 1, timeoutMs: 60_000 });
results.lspOpenScannedMs = performance.now() - start;
await scanned.shutdown();
results.lspEditP50Ms = percentile(editTimes, 50);
results.lspEditP95Ms = percentile(editTimes, 95);

const TARGET_MS = 300;
const rows = [
  ['engine lint, 1,000 documents (first run)', results.engineLintFirstMs],
  ['engine lint, 1,000 documents (p50 of 14)', results.engineLintP50Ms],
  ['LSP didOpen → diagnostics (file never seen, cold server)', results.lspFirstDiagnosticsMs],
  ['LSP didOpen → diagnostics (file read by the workspace scan)', results.lspOpenScannedMs],
  ['LSP didChange → diagnostics p50 (incl. 60 ms debounce)', results.lspEditP50Ms],
  ['LSP didChange → diagnostics p95 (incl. 60 ms debounce)', results.lspEditP95Ms],
];
console.log(`Schema lint of a 1,000-document policy file (${(text.length / 1024).toFixed(0)} KiB, ${results.findings} findings); target ${TARGET_MS} ms`);
console.log('measurement'.padEnd(58), 'ms'.padStart(8), 'vs target'.padStart(10));
for (const [label, ms] of rows) console.log(label.padEnd(58), ms.toFixed(1).padStart(8), `${(ms / TARGET_MS).toFixed(2)}×`.padStart(10));
mkdirSync(new URL('./.data/', import.meta.url), { recursive: true });
writeFileSync(new URL('./.data/lint-results.json', import.meta.url), `${JSON.stringify({ date: new Date().toISOString(), node: process.version, targetMs: TARGET_MS, ...results }, null, 2)}\n`);

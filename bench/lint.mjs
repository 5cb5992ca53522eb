// Schema lint benchmark (issue 8): the same 1,000-document policy file, opened and then edited
// (one document of the 1,000 changes) in our language server and in yaml-language-server, both
// driven over stdio by the same LSP client (bench/lsp.mjs). The figure is the time from
// didChange to the publishDiagnostics of that version; the ratio ours / yaml-language-server is
// measured in the same run. Target: at most 0.2× for an edit.
//
// yaml-language-server gets our own JSON Schemas (schemas/<mesh>/*.schema.json): a dispatch schema
// written to bench/.data/lint/ sends each document to the schema of its apiVersion and kind
// (if/then + $ref to the file), associated through `yaml.schemas` in both initializationOptions and
// workspace/configuration answers. Before timing, both servers must report the schema errors
// planted in a known-bad document, or the comparison would be meaningless.
//
//   node bench/lint.mjs [--quick] [--edits 30] [--profile dir]
// --profile runs our server under `node --cpu-prof` and writes its profile into dir.
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { LspClient, ourServerCommand, percentile } from './lsp.mjs';

const HERE = dirname(fileURLToPath(import.meta.url));
const ROOT = join(HERE, '..');
const DATA = join(HERE, '.data', 'lint');
const QUICK = process.argv.includes('--quick');
const EDITS = Number(process.argv[process.argv.indexOf('--edits') + 1]) || (QUICK ? 10 : 30);
const DOCUMENTS = 1000;

/** A 1,000-document policy file: a realistic mix of kinds across the three meshes, with a
 * schema mistake in every twentieth document (an Istio `action: allow`), so the diagnostics path
 * is exercised too. */
export function policyFile(documents = DOCUMENTS) {
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

/** A schema that sends each document to our schema for its apiVersion and kind. */
function dispatchSchema() {
  const branches = [];
  for (const mesh of ['istio', 'linkerd', 'consul']) {
    const catalog = JSON.parse(readFileSync(join(ROOT, 'schemas', mesh, 'catalog.json'), 'utf8'));
    for (const entry of catalog) {
      if (!entry.group) continue; // Consul config entries (HCL/JSON `Kind`) are not Kubernetes documents
      branches.push({
        if: { properties: { apiVersion: { const: `${entry.group}/${entry.version}` }, kind: { const: entry.kind } }, required: ['apiVersion', 'kind'] },
        then: { $ref: `file://${join(ROOT, 'schemas', mesh, entry.schema)}` },
      });
    }
  }
  return { $schema: 'http://json-schema.org/draft-07/schema#', title: 'mesh policy documents (bench dispatch)', allOf: branches };
}

/** One document of the 1,000 changes: a different name in the 501st document (a Linkerd Server). */
function edited(text, n) {
  return text.replace('name: srv-501\n', `name: srv-501-e${n}\n`);
}

const BAD = `apiVersion: security.istio.io/v1
kind: AuthorizationPolicy
metadata:
  name: known-bad
  namespace: default
spec:
  action: PERMIT
  rules:
  - to:
    - operation:
        methods: GET
`;

/** User + system CPU time of a process so far, from /proc (Linux; NaN elsewhere), in 10 ms ticks. */
function cpuTimeMs(pid) {
  try {
    const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ');
    return (Number(fields[11]) + Number(fields[12])) * 10; // utime, stime (USER_HZ 100)
  } catch {
    return NaN;
  }
}

async function measure(label, command, { settings, initializationOptions, root }) {
  const client = new LspClient(command, { settings });
  const result = { server: label };
  await client.initialize(root, initializationOptions);
  if (settings) client.didChangeConfiguration(settings(undefined));
  // 1. the known-bad document must get schema errors (action enum, methods type)
  const badUri = `file://${join(root, 'known-bad.yaml')}`;
  client.open(badUri, BAD);
  const bad = await client.waitForDiagnostics(badUri, { version: 1, accept: (d) => d.length >= 2, timeoutMs: 60_000 }).catch((e) => ({ error: e.message }));
  if (bad.error) throw new Error(`${label} did not report the schema errors of the known-bad document: ${bad.error}`);
  result.knownBad = bad.diagnostics.map((d) => d.message.split('\n')[0]).slice(0, 4);
  // 2. open the 1,000-document file
  const text = policyFile();
  const uri = `file://${join(root, 'policies.yaml')}`;
  let start = performance.now();
  client.open(uri, text);
  const first = await client.waitForDiagnostics(uri, { version: 1, timeoutMs: 300_000 });
  result.openMs = first.at - start;
  result.diagnostics = first.diagnostics.length;
  // 3. edits: one document changes; time to the diagnostics of that version, and the server's
  // CPU time over the same interval (less moved by the machine's load than the wall time)
  const times = [];
  let cpuMs = 0;
  for (let v = 2; v < 2 + EDITS + 2; v++) {
    start = performance.now();
    const cpuBefore = cpuTimeMs(client.process.pid);
    client.change(uri, edited(text, v), v);
    const p = await client.waitForDiagnostics(uri, { version: v, since: start, timeoutMs: 120_000 });
    if (v >= 4) { // the first two edits warm the server up
      times.push(p.at - start);
      cpuMs += cpuTimeMs(client.process.pid) - cpuBefore;
    }
    await new Promise((r) => setTimeout(r, 20));
  }
  result.editCpuMeanMs = Number.isNaN(cpuMs) ? undefined : cpuMs / times.length;
  result.editP50Ms = percentile(times, 50);
  result.editP95Ms = percentile(times, 95);
  result.editMeanMs = times.reduce((a, b) => a + b, 0) / times.length;
  result.edits = times.length;
  await client.shutdown();
  return result;
}

mkdirSync(DATA, { recursive: true });
const schemaPath = join(DATA, 'dispatch.schema.json');
writeFileSync(schemaPath, `${JSON.stringify(dispatchSchema(), null, 1)}\n`);
const root = join(DATA, 'ws');
mkdirSync(root, { recursive: true });
// yaml-language-server 1.25 matched these absolute paths, but not `*.yaml` or `**/*.yaml`, against file URIs
const yamlSettings = { schemas: { [`file://${schemaPath}`]: [join(root, 'known-bad.yaml'), join(root, 'policies.yaml')] }, validate: true, hover: false, completion: false, format: { enable: false }, schemaStore: { enable: false }, kubernetesCRDStore: { enable: false } };
const require = createRequire(import.meta.url);
const yls = join(dirname(require.resolve('yaml-language-server/package.json')), 'bin', 'yaml-language-server');

const profileIndex = process.argv.indexOf('--profile');
const profile = profileIndex >= 0 ? ['--cpu-prof', '--cpu-prof-dir', process.argv[profileIndex + 1]] : [];
const ours = await measure('mesh-policy', ourServerCommand(ROOT, profile), { root });
const theirs = await measure('yaml-language-server 1.25.0', [process.execPath, yls, '--stdio'], {
  root,
  initializationOptions: { yaml: yamlSettings },
  settings: (section) => (section === 'yaml' ? yamlSettings : section === undefined ? { yaml: yamlSettings } : null),
});
const ratio = ours.editP95Ms / theirs.editP95Ms;
const results = {
  documents: DOCUMENTS, bytes: Buffer.byteLength(policyFile()), edits: EDITS, ours, yamlLanguageServer: theirs,
  ratioEditP50: ours.editP50Ms / theirs.editP50Ms, ratioEditP95: ratio, ratioOpen: ours.openMs / theirs.openMs, target: 0.2,
  ratioEditCpu: ours.editCpuMeanMs !== undefined && theirs.editCpuMeanMs ? ours.editCpuMeanMs / theirs.editCpuMeanMs : undefined,
};
const f = (ms) => ms.toFixed(1).padStart(9);
console.log(`Schema lint of a ${DOCUMENTS.toLocaleString('en-US')}-document file (${(results.bytes / 1024).toFixed(0)} KiB), ${EDITS} edits to one document; target ours/yaml-language-server ≤ 0.20`);
console.log(`${'server'.padEnd(30)}${'open ms'.padStart(9)}${'edit p50'.padStart(9)}${'edit p95'.padStart(9)}  diagnostics  known-bad document`);
for (const r of [ours, theirs]) console.log(`${r.server.padEnd(30)}${f(r.openMs)}${f(r.editP50Ms)}${f(r.editP95Ms)}  ${String(r.diagnostics).padStart(11)}  ${r.knownBad.slice(0, 2).join(' | ').slice(0, 90)}`);
if (results.ratioEditCpu !== undefined) console.log(`server CPU per edit (mean): ours ${ours.editCpuMeanMs.toFixed(1)} ms, yaml-language-server ${theirs.editCpuMeanMs.toFixed(1)} ms, ratio ${results.ratioEditCpu.toFixed(2)}×`);
console.log(`ratio ours/yaml-language-server: edit p50 ${results.ratioEditP50.toFixed(2)}×, edit p95 ${ratio.toFixed(2)}× (${ratio <= 0.2 ? 'met' : 'NOT met'}), open ${results.ratioOpen.toFixed(2)}×`);
mkdirSync(join(HERE, '.data'), { recursive: true });
writeFileSync(join(HERE, '.data', 'lint-results.json'), `${JSON.stringify(results, null, 2)}\n`);

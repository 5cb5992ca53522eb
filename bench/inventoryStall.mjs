#!/usr/bin/env node
// Event-loop stalls while the language server reads a big inventory file from disk (a
// `kubectl get pods,serviceaccounts -A -o yaml` style List of about N MB, or its JSON), as its
// workspace check does: `Engine.readFileAsync` with a 1 ms timer recording the largest gap
// between its turns, then the synchronous steps after it (`Engine.prepare`,
// `WorkspaceModel.update`, the workspace inventory), each one a stall as long as it takes. Each
// size runs in its own process with the server's V8 flags; dumps are cached in
// bench/.data/inventory/. Not part of `npm run bench`; figures in docs/performance.md.
//
//   node bench/inventoryStall.mjs [--sizes 25,100] [--format yaml|json]
import { spawnSync } from 'node:child_process';
import { createWriteStream, existsSync, mkdirSync, readFileSync, statSync } from 'node:fs';
import { loadavg } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const HERE = dirname(fileURLToPath(import.meta.url));
const ROOT = join(HERE, '..');
const arg = (name, fallback) => {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 && process.argv[i + 1] !== undefined ? process.argv[i + 1] : fallback;
};

/** About `mb` MB of pods and service accounts in one List, as kubectl prints them. */
async function writeDump(path, mb, format) {
  const out = createWriteStream(path);
  let started = false;
  const head = () => {
    const first = !started;
    started = true;
    return format === 'json' ? (first ? '{"apiVersion":"v1","kind":"List","items":[\n' : ',\n') : first ? 'apiVersion: v1\nitems:\n' : '';
  };
  const write = (s) => (out.write(s) ? undefined : new Promise((r) => out.once('drain', r)));
  const target = mb * 1_000_000;
  let bytes = 0;
  const items = [];
  for (let i = 0; bytes < target; i++) {
    const ns = `ns-${i % 50}`;
    const app = `app-${i % 400}`;
    const pod = {
      apiVersion: 'v1', kind: i % 10 === 0 ? 'ServiceAccount' : 'Pod',
      metadata: {
        name: `${app}-${(i * 7919).toString(36)}`, namespace: ns, uid: `0000-${i}`, resourceVersion: String(1000 + i),
        labels: { app, 'pod-template-hash': (i % 997).toString(36), version: 'v1' },
        ownerReferences: [{ apiVersion: 'apps/v1', kind: 'ReplicaSet', name: `${app}-${(i % 997).toString(36)}`, uid: `rs-${i % 997}`, controller: true }],
      },
      spec: {
        serviceAccountName: app,
        containers: [{ name: app, image: `registry.example/${app}:1.${i % 9}`, ports: [{ name: 'http', containerPort: 8080, protocol: 'TCP' }],
          readinessProbe: { httpGet: { path: '/ready', port: 8080 } }, resources: { requests: { cpu: '100m', memory: '128Mi' } } }],
      },
      status: { phase: 'Running', podIP: `10.${(i >> 16) & 255}.${(i >> 8) & 255}.${i & 255}`, podIPs: [{ ip: `10.${(i >> 16) & 255}.${(i >> 8) & 255}.${i & 255}` }] },
    };
    const text = format === 'json' ? JSON.stringify(pod) : `${yamlLines(pod, 1, true).join('\n')}\n`;
    bytes += text.length;
    items.push(text);
    if (items.length === 2000) {
      await write(head() + items.join(format === 'json' ? ',\n' : ''));
      items.length = 0;
    }
  }
  if (items.length) await write(head() + items.join(format === 'json' ? ',\n' : ''));
  await write(format === 'json' ? '\n]}\n' : 'kind: List\nmetadata:\n  resourceVersion: ""\n');
  await new Promise((r) => out.end(r));
}
/** kubectl's layout: block mappings, `- ` items at their key's indentation. */
function yamlLines(value, depth, item) {
  const pad = '  '.repeat(depth - 1);
  const lines = [];
  let first = item;
  for (const [key, v] of Object.entries(value)) {
    const lead = first ? `${pad}- ` : `${pad}  `;
    first = false;
    if (Array.isArray(v)) {
      lines.push(`${lead}${key}:`);
      for (const entry of v) lines.push(...yamlLines(entry, depth + 1, true));
    } else if (v && typeof v === 'object') {
      lines.push(`${lead}${key}:`);
      lines.push(...yamlLines(v, depth + 1, false));
    } else lines.push(`${lead}${key}: ${typeof v === 'string' && /^[0-9]|^$|:/.test(v) ? JSON.stringify(v) : v}`);
  }
  return lines;
}

async function measure(path) {
  const { Engine } = await import(join(ROOT, 'out/server/src/engine/engine.js'));
  const { WorkspaceModel } = await import(join(ROOT, 'out/server/src/engine/workspace.js'));
  const engine = new Engine();
  engine.warmUp();
  const workspace = new WorkspaceModel();
  let longest = 0;
  let turns = 0;
  let last = performance.now();
  const timer = setInterval(() => {
    const now = performance.now();
    longest = Math.max(longest, now - last);
    last = now;
    turns++;
  }, 1);
  const started = performance.now();
  last = started;
  const file = await engine.readFileAsync(path);
  const read = performance.now() - started;
  clearInterval(timer);
  longest = Math.max(longest, performance.now() - last);
  // the steps after the read are synchronous: each one's duration is a stall
  const step = (run) => {
    const t = performance.now();
    run();
    return Math.round(performance.now() - t);
  };
  let prepared;
  const prepareMs = step(() => { prepared = engine.prepare(file); });
  const updateMs = step(() => workspace.update(prepared));
  const inventoryMs = step(() => workspace.inventory);
  console.log(JSON.stringify({ readStallMs: Math.round(longest), readMs: Math.round(read), turns, prepareMs, updateMs, inventoryMs, documents: file.documents.length }));
}

if (process.argv[2] === '--measure') await measure(process.argv[3]);
else {
  const format = arg('format', 'yaml');
  const sizes = arg('sizes', '25,100').split(',').map(Number);
  const dir = join(HERE, '.data', 'inventory');
  mkdirSync(dir, { recursive: true });
  console.log(`Inventory load: longest event-loop stall (ms) while reading a kubectl dump from disk; load average ${loadavg().map((l) => l.toFixed(2)).join(' ')}`);
  for (const mb of sizes) {
    const path = join(dir, `dump-${mb}mb.${format}`);
    if (!existsSync(path)) await writeDump(path, mb, format);
    const run = spawnSync(process.execPath, [...JSON.parse(readFileSync(join(ROOT, 'server/node-flags.json'), 'utf8')), fileURLToPath(import.meta.url), '--measure', path], { encoding: 'utf8' });
    if (run.status !== 0) throw new Error(run.stderr);
    const result = JSON.parse(run.stdout.trim().split('\n').pop());
    const ms = (v) => `${String(v).padStart(6)} ms`;
    console.log(`${(statSync(path).size / 1e6).toFixed(1).padStart(7)} MB  read: longest stall ${ms(result.readStallMs)} of ${ms(result.readMs)}; then prepare ${ms(result.prepareMs)}, workspace update ${ms(result.updateMs)}, inventory build ${ms(result.inventoryMs)}; ${result.documents} objects`);
  }
}

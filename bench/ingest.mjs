#!/usr/bin/env node
// Traffic ingestion benchmark (issue 3, "Speed"): reading and folding 1M Envoy JSON lines
// (about 770 MB) must take no longer than a bare single-threaded read + split + JSON.parse of the
// same file. Also measured: an Envoy TEXT file against read + split + one regex match per line,
// and the peak RSS of every run (each runs in its own process).
//
//   npm run build && node bench/ingest.mjs [--lines 1000000] [--workers N] [--only json|text]
//
// The inputs are generated (seeded, so always the same) into bench/.data/ (git-ignored) and
// reused by later runs. Results also go to bench/.data/ingest-results.json.
import { spawnSync } from 'node:child_process';
import { createReadStream, createWriteStream, existsSync, mkdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { once } from 'node:events';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { performance } from 'node:perf_hooks';

const HERE = dirname(fileURLToPath(import.meta.url));
const DATA = join(HERE, '.data');
const GENERATOR_VERSION = 5;

function arg(name, fallback) {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 && process.argv[i + 1] !== undefined ? process.argv[i + 1] : fallback;
}

// ---------------------------------------------------------------------------------------------
// Input generation

function mulberry32(seed) {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** A mesh of 40 services (3 pods each) in 8 namespaces. Each service calls three others with a
 * few operations of its own and one client library; a tenth of the calls come through a gateway. */
function model() {
  const rnd = mulberry32(7);
  const services = [];
  const names = ['orders', 'billing', 'catalog', 'search', 'users', 'auth', 'cart', 'ledger', 'inventory', 'shipping'];
  const libs = ['Go-http-client/1.1', 'python-requests/2.31.0', 'okhttp/4.12.0', 'grpc-java-netty/1.62.2', 'axios/1.6.7'];
  for (let i = 0; i < 40; i++) {
    const ns = `team-${i % 8}`;
    const name = names[i % 10] + (i >= 10 ? `-${Math.floor(i / 10)}` : '');
    const port = [8080, 9090, 7070, 3000][i % 4];
    const hash = (0x5b7d9c6f4 + i * 7919).toString(36).slice(0, 9);
    const pods = [0, 1, 2].map((j) => ({ name: `${name}-${hash}-${(j * 31337 + i * 17 + 10000000).toString(36).slice(-5)}`, ip: `10.${40 + (i >> 4)}.${(i & 15) * 16 + j}.${10 + j}` }));
    const ops = [
      ['GET', `/api/v1/${name}?limit=50&sort=-updated_at`],
      ['GET', `/api/v1/${name}/search?q=status%3Aactive&page=1`],
      ...Array.from({ length: 6 }, (_, k) => ['GET', `/api/v1/${name}/items/${1000 + k}`]),
      ['POST', `/api/v1/${name}/items?validate=true&dry_run=false`],
      ['PUT', `/api/v1/${name}/items/1003/status?reason=reconciliation&notify=true`],
      ['GET', '/healthz'],
    ];
    services.push({ ns, name, port, vip: `10.96.${i}.${10 + (i % 200)}`, pods, ops, ua: libs[i % libs.length] });
  }
  for (const s of services) s.deps = [0, 1, 2].map(() => services[Math.floor(rnd() * services.length)]);
  return services;
}

const GATEWAY = { name: 'istio-ingressgateway-7d9c8b6f5-k2x9z', ip: '10.44.0.5', ns: 'istio-system' };

function podList(services) {
  const items = [];
  for (const s of services) {
    for (const p of s.pods) {
      items.push({
        apiVersion: 'v1', kind: 'Pod',
        metadata: { name: p.name, namespace: s.ns, labels: { app: s.name, 'pod-template-hash': p.name.split('-').slice(-2, -1)[0] } },
        spec: { serviceAccountName: s.name, containers: [{ name: s.name, ports: [{ name: 'http', containerPort: s.port }] }] },
        status: { podIP: p.ip, podIPs: [{ ip: p.ip }] },
      });
    }
    items.push({ apiVersion: 'apps/v1', kind: 'Deployment', metadata: { name: s.name, namespace: s.ns }, spec: { template: { metadata: { labels: { app: s.name } }, spec: { serviceAccountName: s.name, containers: [{ name: s.name, ports: [{ name: 'http', containerPort: s.port }] }] } } } });
    items.push({ apiVersion: 'v1', kind: 'Service', metadata: { name: s.name, namespace: s.ns }, spec: { selector: { app: s.name }, clusterIP: s.vip, ports: [{ name: 'http', port: 80, targetPort: 'http' }] } });
  }
  items.push({
    apiVersion: 'v1', kind: 'Pod', metadata: { name: GATEWAY.name, namespace: GATEWAY.ns, labels: { app: 'istio-ingressgateway', istio: 'ingressgateway' } },
    spec: { serviceAccountName: 'istio-ingressgateway-service-account', containers: [{ name: 'istio-proxy', ports: [{ containerPort: 8080 }] }] },
    status: { podIP: GATEWAY.ip },
  });
  for (let i = 0; i < 8; i++) items.push({ apiVersion: 'v1', kind: 'Namespace', metadata: { name: `team-${i}`, labels: { 'istio-injection': 'enabled' } } });
  return { apiVersion: 'v1', kind: 'List', items };
}

const BROWSER = 'Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/122.0.0.0 Safari/537.36';

/** Calls as pairs of lines (client side, server side), in time order. */
function* calls(count, services, seed) {
  const rnd = mulberry32(seed);
  const pick = (list) => list[Math.floor(rnd() * list.length)];
  const hex = (n) => { let s = ''; for (let i = 0; i < n; i++) s += '0123456789abcdef'[Math.floor(rnd() * 16)]; return s; };
  let t = Date.UTC(2025, 2, 14, 8, 0, 0);
  for (let i = 0; i < count; i++) {
    t += Math.floor(rnd() * 14);
    const ingress = rnd() < 0.1;
    const client = ingress ? undefined : pick(services);
    const server = ingress ? pick(services) : pick(client.deps);
    const to = pick(server.pods);
    const from = client ? pick(client.pods) : GATEWAY;
    const [method, path] = pick(server.ops);
    const denied = !ingress && method !== 'GET' && server.name.startsWith('ledger');
    const rid = `${hex(8)}-${hex(4)}-4${hex(3)}-a${hex(3)}-${hex(12)}`;
    const host = `${server.name}.${server.ns}.svc.cluster.local`;
    const authority = `${server.name}.${server.ns}:80`;
    const r = rnd();
    const code = denied ? 403 : method === 'POST' ? 201 : r < 0.97 ? 200 : r < 0.99 ? 404 : 503;
    yield {
      t, rid, method, path, host, authority, ua: client ? client.ua : BROWSER, xff: ingress ? `203.0.113.${Math.floor(rnd() * 20)}` : null, code, denied,
      client: { from, to, server, ingress },
      dur: 1 + Math.floor(rnd() * 40), eph1: 32768 + Math.floor(rnd() * 28000), eph2: 32768 + Math.floor(rnd() * 28000), bytes: Math.floor(rnd() * 9000),
    };
  }
}

function jsonPair(c) {
  const { from, to, server } = c.client;
  const common = { authority: c.authority, method: c.method, path: c.path, protocol: 'HTTP/1.1', request_id: c.rid, user_agent: c.ua, x_forwarded_for: c.xff, connection_termination_details: null, upstream_transport_failure_reason: null };
  const clientLine = {
    ...common, bytes_received: 0, bytes_sent: c.denied ? 19 : c.bytes, downstream_local_address: `${server.vip}:80`, downstream_remote_address: `${from.ip}:${c.eph1}`,
    duration: c.dur + 1, requested_server_name: null, response_code: c.code, response_code_details: 'via_upstream', response_flags: '-', route_name: 'default',
    start_time: new Date(c.t).toISOString(), upstream_cluster: `outbound|80||${c.host}`, upstream_host: `${to.ip}:${server.port}`, upstream_local_address: `${from.ip}:${c.eph2}`,
    upstream_service_time: String(c.dur),
  };
  const serverLine = {
    ...common, bytes_received: 0, bytes_sent: c.denied ? 19 : c.bytes, downstream_local_address: `${to.ip}:${server.port}`, downstream_remote_address: `${from.ip}:${c.eph2}`,
    duration: c.denied ? 0 : c.dur, requested_server_name: `outbound_.80_._.${c.host}`, response_code: c.code,
    response_code_details: c.denied ? 'rbac_access_denied_matched_policy[none]' : 'via_upstream', response_flags: '-', route_name: c.denied ? null : 'default',
    start_time: new Date(c.t + 1).toISOString(), upstream_cluster: c.denied ? null : `inbound|${server.port}||`, upstream_host: c.denied ? null : `${to.ip}:${server.port}`,
    upstream_local_address: c.denied ? null : `127.0.0.6:${c.eph1}`, upstream_service_time: c.denied ? null : String(c.dur - 1 || 1),
  };
  return [JSON.stringify(clientLine), JSON.stringify(serverLine)];
}

function textPair(c) {
  const { from, to, server } = c.client;
  const q = (v) => `"${v ?? '-'}"`;
  const ts = (t) => new Date(t).toISOString();
  const clientLine = `[${ts(c.t)}] "${c.method} ${c.path} HTTP/1.1" ${c.code} - via_upstream - "-" 0 ${c.denied ? 19 : c.bytes} ${c.dur + 1} ${c.dur} ${q(c.xff)} ${q(c.ua)} ${q(c.rid)} ${q(c.authority)} "${to.ip}:${server.port}" outbound|80||${c.host} ${from.ip}:${c.eph2} ${server.vip}:80 ${from.ip}:${c.eph1} - default`;
  const serverLine = c.denied
    ? `[${ts(c.t + 1)}] "${c.method} ${c.path} HTTP/1.1" 403 - rbac_access_denied_matched_policy[none] - "-" 0 19 0 - ${q(c.xff)} ${q(c.ua)} ${q(c.rid)} ${q(c.authority)} "-" - - ${to.ip}:${server.port} ${from.ip}:${c.eph2} outbound_.80_._.${c.host} -`
    : `[${ts(c.t + 1)}] "${c.method} ${c.path} HTTP/1.1" ${c.code} - via_upstream - "-" 0 ${c.bytes} ${c.dur} ${c.dur - 1 || 1} ${q(c.xff)} ${q(c.ua)} ${q(c.rid)} ${q(c.authority)} "${to.ip}:${server.port}" inbound|${server.port}|| 127.0.0.6:${c.eph1} ${to.ip}:${server.port} ${from.ip}:${c.eph2} outbound_.80_._.${c.host} default`;
  return [clientLine, serverLine];
}

async function generate(path, lines, pair, seed) {
  const out = createWriteStream(path, { highWaterMark: 1 << 20 });
  const services = model();
  let buffer = '';
  for (const c of calls(Math.ceil(lines / 2), services, seed)) {
    const [a, b] = pair(c);
    buffer += `${a}\n${b}\n`;
    if (buffer.length > 1 << 20) {
      if (!out.write(buffer)) await once(out, 'drain');
      buffer = '';
    }
  }
  out.end(buffer);
  await once(out, 'finish');
}

async function ensureInputs(lines, only) {
  mkdirSync(DATA, { recursive: true });
  const inventory = join(DATA, 'pods.json');
  if (!existsSync(inventory)) writeFileSync(inventory, JSON.stringify(podList(model()), null, 1));
  const inputs = {};
  for (const kind of ['json', 'text']) {
    if (only && only !== kind) continue;
    const path = join(DATA, `envoy-${kind}-${lines}-v${GENERATOR_VERSION}.log`);
    if (!existsSync(path)) {
      process.stderr.write(`generating ${path} ...\n`);
      await generate(path, lines, kind === 'json' ? jsonPair : textPair, 20250314);
    }
    inputs[kind] = path;
  }
  return { inventory, inputs };
}

// ---------------------------------------------------------------------------------------------
// Measurements (each in its own process: `node bench/ingest.mjs --measure <what> <file>`)

const ENVOY_TEXT_RE = /^\[([^\]]*)\] "([^"]*)" (\S+) (\S+) (\S+) (\S+) "([^"]*)" (\S+) (\S+) (\S+) (\S+) "([^"]*)" "([^"]*)" "([^"]*)" "([^"]*)" "([^"]*)" (\S+) (\S+) (\S+) (\S+) (\S+) (\S+)$/;

async function bareRead(file, perLine) {
  let rest = '';
  let lines = 0;
  for await (const chunk of createReadStream(file, { highWaterMark: 1 << 20 })) {
    const parts = (rest + chunk.toString('utf8')).split('\n');
    rest = parts.pop();
    for (const line of parts) if (line.length) { perLine(line); lines++; }
  }
  if (rest.length) { perLine(rest); lines++; }
  return { lines };
}

async function measure(what, file, inventoryFile, workers) {
  const started = performance.now();
  let result;
  if (what === 'baseline-json') {
    let keys = 0;
    result = await bareRead(file, (line) => { keys += JSON.parse(line).response_code ? 1 : 0; });
    result.check = keys;
  } else if (what === 'baseline-text') {
    let matched = 0;
    result = await bareRead(file, (line) => { if (ENVOY_TEXT_RE.exec(line)) matched++; });
    result.check = matched;
  } else {
    const require = createRequire(import.meta.url);
    const { ingestTraffic } = require('../out/server/src/engine/traffic/ingest/index.js');
    const { loadInventory } = require('../out/server/src/engine/inventory/loadInventory.js');
    const { defaultConfig } = require('../out/server/src/engine/config/projectConfig.js');
    const config = defaultConfig(HERE);
    const inventory = loadInventory([inventoryFile], config).inventory;
    const t0 = performance.now();
    result = {};
    const model = await ingestTraffic([file], { inventory, config, ...(workers ? { workers: Number(workers) } : {}) });
    result = {
      ingestMs: Math.round(performance.now() - t0),
      lines: model.stats.lines, shapes: model.stats.shapes, calls: model.stats.calls, joinedPairs: model.stats.joinedPairs,
      unresolved: model.stats.sourceBy.unresolved ?? 0, workers: model.stats.workers, inventoryMs: Math.round(t0 - started),
    };
  }
  result.ms = Math.round(performance.now() - started);
  const cpu = process.cpuUsage();
  result.cpuMs = Math.round((cpu.user + cpu.system) / 1000);
  result.maxRssMiB = Math.round(process.resourceUsage().maxRSS / 1024);
  process.stdout.write(JSON.stringify(result));
}

function run(what, file, inventory, workers) {
  const args = [fileURLToPath(import.meta.url), '--measure', what, file, inventory, ...(workers ? [String(workers)] : [])];
  const child = spawnSync(process.execPath, args, { encoding: 'utf8', maxBuffer: 1 << 20 });
  if (child.status !== 0) throw new Error(`${what} failed: ${child.stderr}`);
  return JSON.parse(child.stdout);
}

// ---------------------------------------------------------------------------------------------

if (process.argv[2] === '--measure') {
  await measure(process.argv[3], process.argv[4], process.argv[5], process.argv[6]);
} else {
  const lines = Number(arg('lines', '1000000'));
  const workers = arg('workers', undefined);
  const only = arg('only', undefined);
  const rounds = Number(arg('rounds', '1'));
  if (!existsSync(join(HERE, '..', 'out', 'server', 'src', 'engine', 'traffic', 'ingest', 'index.js'))) {
    console.error('bench/ingest.mjs: run "npm run build" (or npx tsc -p .) first');
    process.exit(2);
  }
  const { inventory, inputs } = await ensureInputs(lines, only);
  const results = { lines, workers: workers ?? 'auto', cpus: (await import('node:os')).availableParallelism(), node: process.version, runs: {} };
  for (const [kind, file] of Object.entries(inputs)) {
    const size = statSync(file).size;
    // alternate the two, so that a busy machine slows both alike
    const baseline = [];
    const ours = [];
    for (let r = 0; r < rounds; r++) {
      baseline.push(run(`baseline-${kind}`, file, inventory));
      ours.push(run('ingest', file, inventory, workers));
    }
    const best = (list) => list.reduce((a, b) => (b.ms < a.ms ? b : a));
    const b = best(baseline);
    const o = best(ours);
    const ratio = o.ingestMs / b.ms;
    results.runs[kind] = { file, bytes: size, baseline: b, ingest: o, ratio: Number(ratio.toFixed(3)) };
    const mb = (size / 1e6).toFixed(0);
    console.log(`Envoy ${kind.toUpperCase()}: ${b.lines.toLocaleString('en-US')} lines, ${mb} MB`);
    console.log(`  baseline (read + split + ${kind === 'json' ? 'JSON.parse' : 'one regex match'}, 1 thread): ${(b.ms / 1000).toFixed(2)} s wall, ${(b.cpuMs / 1000).toFixed(2)} s CPU, peak RSS ${b.maxRssMiB} MiB`);
    console.log(`  mesh-policy read + fold (${o.workers} worker${o.workers === 1 ? '' : 's'}): ${(o.ingestMs / 1000).toFixed(2)} s wall (${(o.ms / 1000).toFixed(2)} s with the inventory), ${(o.cpuMs / 1000).toFixed(2)} s CPU (all threads), peak RSS ${o.maxRssMiB} MiB`);
    console.log(`    inventory ${o.inventoryMs} ms; ${o.calls.toLocaleString('en-US')} calls, ${o.joinedPairs.toLocaleString('en-US')} joined pairs, ${o.shapes.toLocaleString('en-US')} shapes, ${o.unresolved} unresolved`);
    console.log(`  ratio ours/baseline (wall): ${ratio.toFixed(2)}${kind === 'json' ? `  (target <= 1.00: ${ratio <= 1 ? 'met' : 'NOT met'})` : ''}; CPU ratio ${(o.cpuMs / b.cpuMs).toFixed(2)}`);
  }
  writeFileSync(join(DATA, 'ingest-results.json'), `${JSON.stringify(results, null, 2)}\n`);
}

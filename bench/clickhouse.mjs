#!/usr/bin/env node
// ClickHouse source benchmark (issue 11, "Targets"): folding N access-log rows inside ClickHouse
// and simulating the shapes must cost this process under 200 MB of RSS and be faster than reading
// the same rows from a file (Envoy JSON lines, read and folded by ingest/), then simulating.
//
//   npm run build && node bench/clickhouse.mjs [--rows 10000000] [--quick (1M rows)] [--no-file]
//
// Starts a throw-away clickhouse-server on 127.0.0.1 (the test helper; needs clickhouse-server
// on PATH), generates the rows inside ClickHouse with numbers() (Istio server-side lines with the
// peer identity, 40 services in 8 namespaces, 3 pods each, 5% RBAC denials), writes the same rows
// as Envoy JSON lines (with the shipper's `kubernetes` object) to bench/.data/, and measures each
// side in its own process (wall time, CPU time, peak RSS). The ClickHouse side is measured twice:
// through the engine's API, and as users run it (`mesh-policy simulate --source clickhouse`, text
// output). "200 MB" is 200,000,000 bytes (190.7 MiB). Results: bench/.data/clickhouse-results.json.
import { spawnSync } from 'node:child_process';
import http from 'node:http';
import { createWriteStream, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { pipeline } from 'node:stream/promises';
import { fileURLToPath } from 'node:url';

const HERE = dirname(fileURLToPath(import.meta.url));
const ROOT = join(HERE, '..');
const DATA = join(HERE, '.data');
const require = createRequire(import.meta.url);
const out = (p) => require(join(ROOT, 'out', p));

function arg(name, fallback) {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 && process.argv[i + 1] !== undefined ? process.argv[i + 1] : fallback;
}

const SERVICES = 40;
const NAMES = ['orders', 'billing', 'catalog', 'search', 'users', 'auth', 'cart', 'ledger', 'inventory', 'shipping'];
const PORTS = [8080, 9090, 7070, 3000];
const service = (i) => ({ ns: `team-${i % 8}`, name: NAMES[i % 10] + (i >= 10 ? `-${Math.floor(i / 10)}` : ''), port: PORTS[i % 4] });
const podIp = (i, j) => `10.${40 + (i >> 4)}.${(i & 15) * 16 + j}.${10 + j}`;
const podName = (i, j) => `${service(i).name}-7d9c8b6f5-${String.fromCharCode(97 + j)}${'x2k9p'.slice(1)}`;

/** SQL array literal of per-service values. */
const arr = (f) => `[${Array.from({ length: SERVICES }, (_, i) => `'${f(i)}'`).join(',')}]`;
const arr3 = (f) => `[${Array.from({ length: SERVICES * 3 }, (_, k) => `'${f(Math.floor(k / 3), k % 3)}'`).join(',')}]`;

/** Rows generated inside ClickHouse: destination service s = n % 40, pod j, caller one of s's three
 * dependencies, one of eleven operations; the time spreads the rows over one day. */
function insertSql(table, rows) {
  const s = 'toUInt32(number % 40)';
  const j = 'toUInt32(intHash32(number) % 3)';
  const caller = `toUInt32((${s} + 1 + intHash32(number + 1) % 3 * 7) % 40)`;
  const op = 'toUInt32(intHash32(number + 2) % 11)';
  const denied = 'intHash32(number + 3) % 20 = 0';
  const at = (array, index) => `arrayElement(${array}, ${index} + 1)`;
  const methods = `['GET','GET','GET','GET','GET','GET','GET','GET','POST','PUT','GET']`;
  const suffixes = `['?limit=50','/search?q=active','/items/1000','/items/1001','/items/1002','/items/1003','/items/1004','/items/1005','/items','/items/1003/status','']`;
  const opPath = `if(${op} = 10, '/healthz', concat('/api/v1/', ${at(arr((i) => service(i).name), s)}, ${at(suffixes, op)}))`;
  const seconds = `toUInt32(1741942800 + intDiv(number * 86400, ${rows}))`;
  const ms = `substring(toString(1000 + number % 1000), 2)`;
  return `INSERT INTO ${table} (start_time, method, path, protocol, response_code, response_flags, response_code_details, request_id, authority,
  upstream_host, upstream_cluster, downstream_local_address, downstream_remote_address, requested_server_name, user_agent, downstream_peer_uri_san,
  pod_name, pod_namespace, pod_labels)
SELECT concat(formatDateTime(toDateTime(${seconds}, 'UTC'), '%Y-%m-%dT%H:%M:%S'), '.', ${ms}, 'Z'),
  ${at(methods, op)}, ${opPath}, 'HTTP/1.1',
  if(${denied}, 403, 200), '-', if(${denied}, 'rbac_access_denied_matched_policy[none]', 'via_upstream'), toString(generateUUIDv4()),
  concat(${at(arr((i) => service(i).name), s)}, '.', ${at(arr((i) => service(i).ns), s)}, '.svc.cluster.local'),
  if(${denied}, NULL, concat(${at(arr3(podIp), `${s} * 3 + ${j}`)}, ':', toString(${at(`[${Array.from({ length: SERVICES }, (_, i) => service(i).port)}]`, s)}))),
  concat('inbound|', toString(${at(`[${Array.from({ length: SERVICES }, (_, i) => service(i).port)}]`, s)}), '||'),
  concat(${at(arr3(podIp), `${s} * 3 + ${j}`)}, ':', toString(${at(`[${Array.from({ length: SERVICES }, (_, i) => service(i).port)}]`, s)})),
  concat(${at(arr3(podIp), `${caller} * 3 + toUInt32(intHash32(number + 4) % 3)`)}, ':', toString(10000 + intHash32(number + 5) % 50000)),
  concat('outbound_.80_._.', ${at(arr((i) => service(i).name), s)}, '.', ${at(arr((i) => service(i).ns), s)}, '.svc.cluster.local'),
  ${at(`['Go-http-client/1.1','python-requests/2.31.0','okhttp/4.12.0','grpc-java-netty/1.62.2','axios/1.6.7']`, `${caller} % 5`)},
  concat('spiffe://cluster.local/ns/', ${at(arr((i) => service(i).ns), caller)}, '/sa/', ${at(arr((i) => service(i).name), caller)}),
  ${at(arr3(podName), `${s} * 3 + ${j}`)}, ${at(arr((i) => service(i).ns), s)},
  concat('{"app":"', ${at(arr((i) => service(i).name), s)}, '"}')
FROM numbers(${rows})`;
}

/** The same rows as Envoy JSON lines with Fluent Bit's merged `kubernetes` object, in the order of the table
 * (one reading thread: parts in insertion order, each sorted by time; no ORDER BY over gigabytes). */
const FILE_SQL = (table) => `SELECT concat('{"start_time":"', start_time, '","method":"', ifNull(method, ''), '","path":"', ifNull(path, ''), '","protocol":"', ifNull(protocol, ''),
  '","response_code":', toString(ifNull(response_code, 0)), ',"response_flags":"', ifNull(response_flags, ''), '","response_code_details":"', ifNull(response_code_details, ''),
  '","request_id":"', ifNull(request_id, ''), '","authority":"', ifNull(authority, ''), '","upstream_host":', if(isNull(upstream_host), 'null', concat('"', upstream_host, '"')),
  ',"upstream_cluster":"', ifNull(upstream_cluster, ''), '","downstream_local_address":"', ifNull(downstream_local_address, ''),
  '","downstream_remote_address":"', ifNull(downstream_remote_address, ''), '","requested_server_name":"', ifNull(requested_server_name, ''),
  '","user_agent":"', ifNull(user_agent, ''), '","downstream_peer_uri_san":"', ifNull(downstream_peer_uri_san, ''),
  '","kubernetes":{"pod_name":"', ifNull(pod_name, ''), '","namespace_name":"', ifNull(pod_namespace, ''), '","labels":', ifNull(pod_labels, '{}'), '}}') AS line
FROM ${table} SETTINGS max_threads = 1 FORMAT TabSeparatedRaw`;

/** Policies and inventory for the simulation: a namespace-wide ALLOW per team for its own callers. */
function workspaceFiles(dir) {
  const docs = [];
  for (let i = 0; i < SERVICES; i++) {
    const s = service(i);
    docs.push(`apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: ${s.name}, namespace: ${s.ns}}\nspec:\n  selector: {matchLabels: {app: ${s.name}}}\n  template:\n    metadata: {labels: {app: ${s.name}}}\n    spec: {serviceAccountName: ${s.name}, containers: [{name: app, image: app, ports: [{containerPort: ${s.port}}]}]}`);
    docs.push(`apiVersion: v1\nkind: Service\nmetadata: {name: ${s.name}, namespace: ${s.ns}}\nspec: {selector: {app: ${s.name}}, ports: [{port: 80, targetPort: ${s.port}}]}`);
  }
  for (let t = 0; t < 8; t++) {
    docs.push(`apiVersion: security.istio.io/v1\nkind: AuthorizationPolicy\nmetadata: {name: team-callers, namespace: team-${t}}\nspec:\n  rules:\n  - from: [{source: {namespaces: ["team-${t}", "team-${(t + 1) % 8}"]}}]\n    to: [{operation: {methods: ["GET"]}}]`);
  }
  writeFileSync(join(dir, 'workspace.yaml'), `${docs.join('\n---\n')}\n`);
}

/** One measured side, in this (child) process: read + fold + simulate. */
async function child(kind) {
  const dir = arg('workspace');
  const { Engine } = out('server/src/engine/engine.js');
  const { WorkspaceModel } = out('server/src/engine/workspace.js');
  const { defaultConfig } = out('server/src/engine/config/projectConfig.js');
  const { Simulation, simulateShapes } = out('server/src/engine/simulate/index.js');
  const { ClickHouseTrafficSource, FileTrafficSource } = out('server/src/engine/traffic/sources/index.js');
  const { DEFAULT_CLICKHOUSE_COLUMNS } = out('server/src/engine/config/clickhouseConfig.js');
  const started = performance.now();
  const config = defaultConfig(dir);
  const engine = new Engine();
  const workspace = new WorkspaceModel(config);
  const file = join(dir, 'workspace.yaml');
  workspace.update(engine.prepare(engine.read(file, readFileSync(file, 'utf8'))));
  const options = { inventory: workspace.inventory, config, keyHeaders: [] };
  const setupRssMiB = Math.round(process.resourceUsage().maxRSS / 1024);
  const source = kind === 'clickhouse'
    ? new ClickHouseTrafficSource({ url: arg('url'), database: 'default', table: arg('table'), columns: { ...DEFAULT_CLICKHOUSE_COLUMNS, downstream_peer_uri_san: 'downstream_peer_uri_san' }, window: {}, timeoutSeconds: 3600 })
    : new FileTrafficSource([arg('file')]);
  const cpu = process.cpuUsage();
  const model = await source.read(options);
  const folded = performance.now();
  const foldRssMiB = Math.round(process.resourceUsage().maxRSS / 1024);
  const result = simulateShapes(new Simulation(workspace), model.shapes);
  const done = performance.now();
  console.log(JSON.stringify({
    kind, ms: Math.round(done - started), cpuMs: Math.round((process.cpuUsage().user + process.cpuUsage().system - cpu.user - cpu.system) / 1000), foldMs: Math.round(folded - started), simulateMs: Math.round(done - folded),
    maxRssMiB: Math.round(process.resourceUsage().maxRSS / 1024), setupRssMiB, foldRssMiB, heapUsedMiB: Math.round(process.memoryUsage().heapUsed / 1048576), lines: model.stats.lines, calls: model.stats.calls, shapes: model.shapes.length,
    workers: model.stats.workers, totals: result.totals,
  }));
}

const mb = (mib) => Math.round(mib * 1048576 / 1e6);

/** The command users run, in its own process: peak RSS and CPU time from bench/usage-on-exit.cjs. */
function runCli(dir, url, table) {
  writeFileSync(join(dir, '.meshpolicy.yaml'), `clickhouse:\n  url: ${url}\n  table: ${table}\n  timeoutSeconds: 3600\n  columns: {downstream_peer_uri_san: downstream_peer_uri_san}\n`);
  const usage = join(dir, 'usage.json');
  const started = performance.now();
  const r = spawnSync(process.execPath, ['--require', join(HERE, 'usage-on-exit.cjs'), join(ROOT, 'bin', 'mesh-policy.js'), 'simulate', '--source', 'clickhouse', '--policies', 'workspace.yaml'], {
    cwd: dir, encoding: 'utf8', maxBuffer: 1 << 26, env: { ...process.env, MESH_POLICY_USAGE_FILE: usage },
  });
  const ms = Math.round(performance.now() - started);
  // exit 1: calls the logs saw allowed are denied by the bench's policies (expected)
  const calls = /Simulated ([\d,]+) calls/.exec(r.stdout ?? '');
  if ((r.status !== 0 && r.status !== 1) || !calls) throw new Error(`mesh-policy simulate --source clickhouse failed (${r.status}): ${r.stderr}`);
  return { ms, ...JSON.parse(readFileSync(usage, 'utf8')), calls: Number(calls[1].replace(/,/g, '')) };
}

async function main() {
  const rows = Number(arg('rows', process.argv.includes('--quick') ? '1000000' : '10000000'));
  const withFile = !process.argv.includes('--no-file');
  const { startClickHouse, envoyTableSql, clickhouseSkipReason } = out('test/helpers/clickhouse.js');
  const reason = clickhouseSkipReason();
  if (reason) {
    console.log(`skipped: ${reason}`);
    return;
  }
  mkdirSync(DATA, { recursive: true });
  const dir = mkdtempSync(join(tmpdir(), 'mesh-policy-bench-ch-'));
  workspaceFiles(dir);
  const server = await startClickHouse();
  // a fresh connection per query: the server closes idle keep-alive sockets after 10 s
  const query = (sql) => new Promise((resolve, reject) => {
    const request = http.request(`${server.url}/`, { method: 'POST', agent: false }, (response) => {
      if (response.statusCode === 200) return resolve(response);
      let text = '';
      response.on('data', (d) => { text += d; });
      response.on('end', () => reject(new Error(`${response.statusCode}: ${text}`)));
    });
    request.on('error', reject);
    request.end(sql);
  });
  try {
    const table = 'envoy_access_logs';
    await query(envoyTableSql(table));
    await query(`ALTER TABLE ${table} ADD COLUMN downstream_peer_uri_san Nullable(String)`);
    let t = performance.now();
    await query(insertSql(table, rows));
    const insertMs = Math.round(performance.now() - t);
    console.log(`generated ${rows.toLocaleString('en-US')} rows in ClickHouse in ${(insertMs / 1000).toFixed(1)} s`);
    const run = (kind, extra) => {
      const r = spawnSync(process.execPath, [fileURLToPath(import.meta.url), '--child', kind, '--workspace', dir, ...extra], { encoding: 'utf8', maxBuffer: 1 << 24 });
      if (r.status !== 0) throw new Error(`${kind} run failed: ${r.stderr}`);
      return JSON.parse(r.stdout.trim().split('\n').at(-1));
    };
    const ch = run('clickhouse', ['--url', server.url, '--table', table]);
    console.log(`clickhouse: fold ${(ch.foldMs / 1000).toFixed(1)} s + simulate ${(ch.simulateMs / 1000).toFixed(2)} s (${(ch.cpuMs / 1000).toFixed(1)} s CPU); ${ch.shapes} shapes; peak RSS ${ch.maxRssMiB} MiB = ${mb(ch.maxRssMiB)} MB (target < 200 MB; ${ch.setupRssMiB} MiB after loading the policies, ${ch.foldRssMiB} MiB after the fold, ${ch.heapUsedMiB} MiB of heap in use at the end)`);
    const cli = runCli(dir, server.url, table);
    console.log(`clickhouse, mesh-policy simulate --source clickhouse: ${(cli.ms / 1000).toFixed(1)} s (${(cli.cpuMs / 1000).toFixed(1)} s CPU); ${cli.calls.toLocaleString('en-US')} calls; peak RSS ${cli.maxRssMiB} MiB = ${mb(cli.maxRssMiB)} MB`);
    const results = { rows, cpus: (await import('node:os')).availableParallelism(), node: process.version, loadAverage: (await import('node:os')).loadavg().map((l) => Number(l.toFixed(2))), insertMs, clickhouse: ch, cli };
    if (withFile) {
      const file = join(DATA, `clickhouse-${rows}.jsonl`);
      t = performance.now();
      const response = await query(FILE_SQL(table));
      await pipeline(response, createWriteStream(file));
      console.log(`wrote the same rows to ${file} (${(statSync(file).size / 1e9).toFixed(2)} GB) in ${((performance.now() - t) / 1000).toFixed(1)} s`);
      try {
        const files = run('files', ['--file', file]);
        console.log(`files: read + fold ${(files.foldMs / 1000).toFixed(1)} s (${files.workers} workers) + simulate ${(files.simulateMs / 1000).toFixed(2)} s (${(files.cpuMs / 1000).toFixed(1)} s CPU); ${files.shapes} shapes; peak RSS ${files.maxRssMiB} MiB`);
        results.files = files;
        results.ratio = Number((ch.ms / files.ms).toFixed(3));
        results.sameTotals = JSON.stringify(ch.totals) === JSON.stringify(files.totals);
        console.log(`clickhouse / files time: ${results.ratio}× (target < 1); same decisions: ${results.sameTotals}`);
      } finally {
        if (!process.argv.includes('--keep-file')) rmSync(file, { force: true });
      }
    }
    const peakMiB = Math.max(ch.maxRssMiB, cli.maxRssMiB);
    results.targets = { rssUnder200MB: peakMiB * 1048576 < 200e6, peakRssMB: mb(peakMiB), fasterThanFiles: results.ratio === undefined ? null : results.ratio < 1 };
    writeFileSync(join(DATA, 'clickhouse-results.json'), `${JSON.stringify(results, null, 2)}\n`);
  } finally {
    await server.stop();
    rmSync(dir, { recursive: true, force: true });
  }
}

if (process.argv.includes('--child')) await child(arg('child'));
else if (existsSync(join(ROOT, 'out', 'test', 'helpers', 'clickhouse.js'))) await main();
else console.log('run npm run build first');

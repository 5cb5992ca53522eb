#!/usr/bin/env node
// Traffic ingestion benchmark (issues 3 and 8): read and fold 1M lines of each native format
// (written by bench/generate.mjs), next to a bare single-threaded baseline over the same file:
// read + split + JSON.parse per line for the JSON formats, read + split + one regex match per line
// for the text formats. Target: ours at most 1.0× the baseline's wall time. Each run is its own
// process (spawned one after the other, baseline first), so heaps do not mix; peak RSS is recorded too.
//
//   node bench/ingest.mjs [--quick] [--lines 1000000] [--formats istio-json,linkerd-apache,...] [--workers N]
//
// Results: bench/.data/ingest-results.json.
import { spawnSync } from 'node:child_process';
import { createReadStream, existsSync, mkdirSync, statSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { FORMATS } from './generate.mjs';
import { ensureMesh } from './data.mjs';

const HERE = dirname(fileURLToPath(import.meta.url));

function arg(name, fallback) {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 && process.argv[i + 1] !== undefined ? process.argv[i + 1] : fallback;
}

/** One regex per text format, capturing every field, as a hand-written parser would. */
const TEXT_RE = {
  'istio-text': /^\[([^\]]*)\] "([^"]*)" (\S+) (\S+) (\S+) (\S+) "([^"]*)" (\S+) (\S+) (\S+) (\S+) "([^"]*)" "([^"]*)" "([^"]*)" "([^"]*)" "([^"]*)" (\S+) (\S+) (\S+) (\S+) (\S+) (\S+)$/,
  'linkerd-apache': /^(\S+) (\S+) - \[([^\]]*)\] "(\S+) (\S+) (\S+)" (\d+)$/,
};

export async function bareRead(file, perLine) {
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

/** Runs in the child: one measurement, printed as JSON on stdout. */
async function measure(what, format, file, inventoryFile, workers) {
  const started = performance.now();
  // CPU time of the measured work only (all threads): not the process start, nor our inventory
  let cpuStart = process.cpuUsage();
  let result;
  if (what === 'baseline') {
    let ok = 0;
    const re = TEXT_RE[format];
    if (re) result = await bareRead(file, (line) => { if (re.exec(line)) ok++; });
    else result = await bareRead(file, (line) => { try { JSON.parse(line); ok++; } catch { /* malformed line */ } });
    result.parsed = ok;
    result.ingestMs = Math.round(performance.now() - started);
  } else {
    const require = createRequire(import.meta.url);
    const { ingestTraffic } = require('../out/server/src/engine/traffic/ingest/index.js');
    const { loadInventory } = require('../out/server/src/engine/inventory/loadInventory.js');
    const { defaultConfig } = require('../out/server/src/engine/config/projectConfig.js');
    const config = defaultConfig(dirname(file));
    const inventory = loadInventory([inventoryFile], config).inventory;
    const t0 = performance.now();
    cpuStart = process.cpuUsage();
    const model = await ingestTraffic([file], { inventory, config, ...(workers ? { workers: Number(workers) } : {}) });
    result = {
      ingestMs: Math.round(performance.now() - t0), inventoryMs: Math.round(t0 - started),
      lines: model.stats.lines, calls: model.stats.calls, shapes: model.stats.shapes, joinedPairs: model.stats.joinedPairs,
      skipped: model.stats.skipped, workers: model.stats.workers, format: model.stats.files?.[0]?.format,
    };
  }
  const cpu = process.cpuUsage(cpuStart);
  result.cpuMs = Math.round((cpu.user + cpu.system) / 1000);
  const all = process.cpuUsage();
  result.processCpuMs = Math.round((all.user + all.system) / 1000);
  result.maxRssMiB = Math.round(process.resourceUsage().maxRSS / 1024);
  process.stdout.write(JSON.stringify(result));
}

export function runMeasure(what, format, file, inventory, workers, nodeArgs = []) {
  const args = [...nodeArgs, fileURLToPath(import.meta.url), '--measure', what, format, file, inventory, ...(workers ? [String(workers)] : [])];
  const child = spawnSync(process.execPath, args, { encoding: 'utf8', maxBuffer: 1 << 22 });
  if (child.status !== 0) throw new Error(`${what} ${format} failed: ${child.stderr}`);
  return JSON.parse(child.stdout);
}

const entry = process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1];
if (entry && process.argv[2] === '--measure') {
  await measure(process.argv[3], process.argv[4], process.argv[5], process.argv[6], process.argv[7]);
} else if (entry) {
  const quick = process.argv.includes('--quick');
  const lines = Number(arg('lines', quick ? '100000' : '1000000'));
  const workers = arg('workers', undefined);
  const formats = arg('formats', Object.keys(FORMATS).join(',')).split(',');
  if (!existsSync(join(HERE, '..', 'out', 'server', 'src', 'engine', 'traffic', 'ingest', 'index.js'))) {
    console.error('bench/ingest.mjs: run "npm run build" first');
    process.exit(2);
  }
  const mesh = await ensureMesh(lines, formats);
  const results = { lines, workers: workers ?? 'auto', runs: {} };
  console.log(`Ingest: read + fold ${lines.toLocaleString('en-US')} lines per format vs a bare single-threaded read + split + parse; target ≤ 1.00×`);
  console.log(`${'format'.padEnd(15)}${'MB'.padStart(6)}${'baseline s'.padStart(11)}${'ours s'.padStart(9)}${'ratio'.padStart(8)}${'CPU ratio'.padStart(10)}${'shapes'.padStart(9)}${'skipped'.padStart(8)}${'RSS MiB'.padStart(8)}  workers`);
  for (const format of formats) {
    const file = join(mesh.dir, 'traffic', FORMATS[format].file);
    const baseline = runMeasure('baseline', format, file, mesh.inventory);
    const ours = runMeasure('ingest', format, file, mesh.inventory, workers);
    const ratio = ours.ingestMs / baseline.ingestMs;
    const bytes = statSync(file).size;
    results.runs[format] = { file, bytes, baseline, ingest: ours, ratio: Number(ratio.toFixed(3)), cpuRatio: Number((ours.cpuMs / baseline.cpuMs).toFixed(3)), malformed: mesh.manifest.files[format].malformed };
    console.log(`${format.padEnd(15)}${(bytes / 1e6).toFixed(0).padStart(6)}${(baseline.ingestMs / 1000).toFixed(2).padStart(11)}${(ours.ingestMs / 1000).toFixed(2).padStart(9)}${`${ratio.toFixed(2)}×`.padStart(8)}${`${(ours.cpuMs / baseline.cpuMs).toFixed(2)}×`.padStart(10)}${String(ours.shapes).padStart(9)}${String(ours.skipped).padStart(8)}${String(ours.maxRssMiB).padStart(8)}  ${ours.workers}`);
  }
  mkdirSync(join(HERE, '.data'), { recursive: true });
  writeFileSync(join(HERE, '.data', 'ingest-results.json'), `${JSON.stringify(results, null, 2)}\n`);
}

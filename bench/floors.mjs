#!/usr/bin/env node
// The floors under the two targets of issue 8 that are missed (ingest ≤ 1.0× a bare parse, decide
// ≥ 2M per CPU-second): what reading one line, or deciding one shape, costs at the least in any
// design of ours in JavaScript, timed next to the target's own baseline in the same run. A floor
// above its target says the target needs another kind of design (native code, fewer lines read),
// not a faster version of this one.
//
// Ingest, 1M Istio JSON lines (client and server line per call), each stage its own process:
//   split       read + split into lines, nothing else (what the baseline does before JSON.parse)
//   baseline    read + split + JSON.parse per line (the target's baseline)
//   scan        read + split + our field scanner (formats/jsonScan.ts) over the Envoy reader's keys
//   scan+join   ... + joining the two lines of each call on x-request-id in a Map, the least any
//               join does (no time window, no resolution, no folding)
//   ingest      the product: ingestTraffic on one thread
// Decide, per mesh, the decide suite's 100k shapes as ingest folds them (best of 5, CPU time):
//   read        one pass reading what every per-shape pass reads (count, mesh, observed, ids)
//   outcomes    simulateShapes with every decision already made: one outcome per shape and the
//               tallies per policy and rule, what the product returns whatever the decision costs
//   product     simulateShapes as the product runs it (a freshly compiled Simulation per pass)
// The decide target allows 0.5 µs per shape.
//
//   npm run build && node bench/floors.mjs [--quick] [--lines 1000000] [--shapes 100000]
// Results: bench/.data/floors-results.json.
import { spawnSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ensureMesh, MESH_FLAGS } from './data.mjs';
import { meshWorkspace, productShapes, shapes } from './decideInputs.mjs';
import { buildModel, FORMATS, inventoryYaml } from './generate.mjs';
import { bareRead, runMeasure } from './ingest.mjs';

const HERE = dirname(fileURLToPath(import.meta.url));
const require = createRequire(import.meta.url);
const STAGES = ['split', 'baseline', 'scan', 'scan+join'];

function cpuMs(since) {
  const u = process.cpuUsage(since);
  return (u.user + u.system) / 1000;
}

/** Runs in the child: one ingest stage over `file`, printed as JSON. */
async function stage(name, file) {
  const { FlatJsonScanner } = require('../out/server/src/engine/traffic/formats/jsonScan.js');
  const { DEFAULT_JSON_KEYS, F, SLOT_COUNT } = require('../out/server/src/engine/traffic/formats/envoyFields.js');
  const scanner = new FlatJsonScanner(new Map(DEFAULT_JSON_KEYS), SLOT_COUNT);
  const waiting = new Map();
  let done = 0;
  const perLine = {
    split: () => {},
    baseline: (line) => { try { JSON.parse(line); done++; } catch { /* malformed line */ } },
    scan: (line) => { if (scanner.scan(line) === 0) done++; },
    'scan+join': (line) => {
      if (scanner.scan(line) !== 0) return;
      const id = scanner.values[F.REQUEST_ID];
      if (id === undefined) return;
      if (waiting.delete(id)) done++;
      else waiting.set(id, line.length);
    },
  }[name];
  const started = performance.now();
  const cpu = process.cpuUsage();
  const { lines } = await bareRead(file, perLine);
  process.stdout.write(JSON.stringify({ lines, done, ms: Math.round(performance.now() - started), cpuMs: Math.round(cpuMs(cpu)) }));
}

function runStage(name, file) {
  const child = spawnSync(process.execPath, [fileURLToPath(import.meta.url), '--stage', name, file], { encoding: 'utf8', maxBuffer: 1 << 20 });
  if (child.status !== 0) throw new Error(`stage ${name} failed: ${child.stderr}`);
  return JSON.parse(child.stdout);
}

/** Best of `passes` CPU times of `work(pass)`, in µs per shape. */
function perShape(count, passes, work) {
  let best = Infinity;
  for (let pass = 0; pass < passes; pass++) {
    const cpu = process.cpuUsage();
    work(pass);
    best = Math.min(best, cpuMs(cpu));
  }
  return (best * 1000) / count;
}

function decideFloors(shapeCount) {
  const { Engine } = require('../out/server/src/engine/engine.js');
  const { Simulation, simulateShapes } = require('../out/server/src/engine/simulate/index.js');
  const engine = new Engine();
  const model = buildModel(MESH_FLAGS);
  const inventory = inventoryYaml(model);
  const out = {};
  for (const mesh of ['istio', 'linkerd', 'consul']) {
    const workspace = meshWorkspace(engine, model, inventory, mesh, 1000);
    const shaped = productShapes(shapes(model, mesh, shapeCount), workspace);
    // decisions made once, handed out in order: the outcomes pass decides nothing
    const decided = new Simulation(workspace);
    const decide = decided.folded();
    const decisions = shaped.map((s) => decide(s.record, s.ids));
    let next = 0;
    decided.folded = () => { next = 0; return () => decisions[next++]; };
    const fresh = [0, 1, 2, 3, 4, 5, 6].map(() => new Simulation(workspace));
    simulateShapes(fresh[6], shaped); // warm up the JIT
    let sink = 0;
    const read = perShape(shaped.length, 5, () => {
      for (const s of shaped) sink += s.count + (s.record.observed === 'allowed' ? 1 : 0) + (s.record.mesh === mesh ? 1 : 0) + (s.ids === undefined ? 0 : s.ids[0]);
    });
    const outcomes = perShape(shaped.length, 5, () => simulateShapes(decided, shaped));
    const product = perShape(shaped.length, 5, (pass) => simulateShapes(fresh[pass], shaped));
    out[mesh] = { shapes: shaped.length, readUs: read, outcomesUs: outcomes, productUs: product, budgetUs: 0.5, sink: sink > 0 };
  }
  return out;
}

const entry = process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1];
if (entry && process.argv[2] === '--stage') {
  await stage(process.argv[3], process.argv[4]);
} else if (entry) {
  const quick = process.argv.includes('--quick');
  const value = (name, fallback) => (process.argv.includes(`--${name}`) ? Number(process.argv[process.argv.indexOf(`--${name}`) + 1]) : fallback);
  const lines = value('lines', quick ? 100_000 : 1_000_000);
  const shapeCount = value('shapes', quick ? 20_000 : 100_000);
  const mesh = await ensureMesh(lines, ['istio-json']);
  const file = join(mesh.dir, 'traffic', FORMATS['istio-json'].file);
  const results = { lines, shapes: shapeCount, ingest: {}, decide: {} };
  console.log(`Ingest floors: ${lines.toLocaleString('en-US')} Istio JSON lines, each stage in its own process; ratios against the baseline (read + split + JSON.parse)`);
  console.log(`${'stage'.padEnd(11)}${'wall s'.padStart(8)}${'CPU s'.padStart(8)}${'wall ×'.padStart(9)}${'CPU ×'.padStart(8)}`);
  for (const name of STAGES) results.ingest[name] = runStage(name, file);
  const ours = runMeasure('ingest', 'istio-json', file, mesh.inventory, 1);
  results.ingest.ingest = { lines: ours.lines, ms: ours.ingestMs, cpuMs: ours.cpuMs };
  const base = results.ingest.baseline;
  for (const [name, r] of Object.entries(results.ingest)) {
    console.log(`${name.padEnd(11)}${(r.ms / 1000).toFixed(2).padStart(8)}${(r.cpuMs / 1000).toFixed(2).padStart(8)}${`${(r.ms / base.ms).toFixed(2)}×`.padStart(9)}${`${(r.cpuMs / base.cpuMs).toFixed(2)}×`.padStart(8)}`);
  }
  console.log(`\nDecide floors: µs of CPU per shape, ${shapeCount.toLocaleString('en-US')} shapes per mesh, best of 5; the target allows 0.5 µs`);
  console.log(`${'mesh'.padEnd(9)}${'shapes'.padStart(8)}${'read'.padStart(8)}${'outcomes'.padStart(10)}${'product'.padStart(9)}`);
  results.decide = decideFloors(shapeCount);
  for (const [name, r] of Object.entries(results.decide)) {
    console.log(`${name.padEnd(9)}${String(r.shapes).padStart(8)}${r.readUs.toFixed(2).padStart(8)}${r.outcomesUs.toFixed(2).padStart(10)}${r.productUs.toFixed(2).padStart(9)}`);
  }
  mkdirSync(join(HERE, '.data'), { recursive: true });
  writeFileSync(join(HERE, '.data', 'floors-results.json'), `${JSON.stringify(results, null, 2)}\n`);
}

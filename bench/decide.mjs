// Decision throughput (issues 4 and 8): per mesh, the generator's 1,000 policies (bench/generate.mjs:
// Istio AuthorizationPolicies; Linkerd Servers, routes, authentications and AuthorizationPolicies;
// Consul intentions) compiled once, then 100,000 distinct call shapes of the generator's traffic
// decided. Target: at least 2M decisions per second per core.
//
// The figure is decisions per CPU-second of this single-threaded process (process.cpuUsage),
// which holds up better than wall time on a shared machine; the best of three passes. Every timed
// pass decides with a freshly compiled Simulation (compiling is not timed; it is reported as
// `compile ms`), so whatever a simulation builds lazily or remembers while deciding (per
// destination indexes, memos) is paid in each pass, as the product pays it once per simulation.
// The JIT is warmed up on a separate simulation, as a long-running server would be.
// The product path next to it: `simulateShapes` (what the CLI and the editor run) over the same
// calls as the product hands them over, i.e. folded into shapes by ingest's ShapeTable (strings
// interned, each workload's label map shared, as the inventory's is), each timed pass with a
// freshly compiled Simulation. simulateShapes folds the shapes by what each mesh's policies can
// read at their destination and decides once per fold slot (`Simulation.folded`), so its figure
// is shapes decided per CPU-second (best of three), next to the same passes unfolded (one
// `decide` per shape, alternating with the folded ones) and their ratio (`gain`); `decisions`
// says how many decisions the folded pass made, and `key us` what finding a shape's slot cost
// per shape (a fresh fold over all shapes, best of three). Ingest gives each shape a row of
// small integer ids for its values (traffic/callIds.ts), which the fold reads instead of the
// record; `ids us` is what making those rows costs per shape, paid once per traffic load by
// ingest (not in the product figure, which is per simulation; every mesh's fold reads them).
// The baseline next to each, timed in the same process on the same calls, is the least any
// decision must do: build a key from the call's destination, caller, method and path and look it
// up in a Map with one entry per policy. A simulator at 1.0× the baseline would be as fast as a
// plain lookup table; below 1.0× is expected (a decision evaluates rules, not one lookup).
//
//   npm run build && node bench/decide.mjs [--quick] [--shapes 100000] [--policies 1000] [--profile dir] [--meshes istio,linkerd,consul] [--out file]
// --meshes measures only those meshes; --out writes the results there instead of bench/.data/decide-results.json.
// --profile writes a CPU profile of the timed passes only, one per mesh (bench/profile-summary.mjs reads it).
import { mkdirSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { buildModel, inventoryYaml } from './generate.mjs';
import { meshWorkspace, productShapes, shapes } from './decideInputs.mjs';
import { MESH_FLAGS } from './data.mjs';

const require = createRequire(import.meta.url);
const { Engine } = require('../out/server/src/engine/engine.js');
const { Simulation, simulateShapes } = require('../out/server/src/engine/simulate/index.js');
const { callIdRows, ValueIds } = require('../out/server/src/engine/traffic/callIds.js');

const arg = (name, fallback) => {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? Number(process.argv[i + 1]) : fallback;
};
const quick = process.argv.includes('--quick');
const SHAPES = arg('shapes', quick ? 20_000 : 100_000);
const POLICIES = arg('policies', 1000);
const PROFILE_DIR = process.argv.includes('--profile') ? process.argv[process.argv.indexOf('--profile') + 1] : undefined;
const text = (name) => (process.argv.includes(`--${name}`) ? process.argv[process.argv.indexOf(`--${name}`) + 1] : undefined);
const MESHES = (text('meshes') ?? 'istio,linkerd,consul').split(',');
const OUT = text('out');

/** Runs `work` under the V8 CPU profiler when --profile is given, writing <dir>/decide-<name>.cpuprofile. */
async function profiled(name, work) {
  if (!PROFILE_DIR) return work();
  const { Session } = await import('node:inspector/promises');
  const session = new Session();
  session.connect();
  await session.post('Profiler.enable');
  await session.post('Profiler.start');
  const result = work();
  const { profile } = await session.post('Profiler.stop');
  mkdirSync(PROFILE_DIR, { recursive: true });
  writeFileSync(`${PROFILE_DIR}/decide-${name}.cpuprofile`, JSON.stringify(profile));
  session.disconnect();
  return result;
}

function cpuMs() {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1000;
}

function baseline(records, model) {
  const table = new Map();
  for (let i = 0; i < POLICIES; i++) {
    const s = model.services[i % model.services.length];
    table.set(`${s.ns}/${s.name}|${i}|GET|${s.base}`, i);
  }
  let hits = 0;
  let best = 0;
  for (let pass = 0; pass < 3; pass++) {
    const start = cpuMs();
    for (const rec of records) {
      const key = `${rec.destination.namespace}/${rec.destination.workload}|${rec.source.principal}|${rec.request?.method}|${rec.request?.path}`;
      if (table.has(key)) hits++;
    }
    best = Math.max(best, records.length / ((cpuMs() - start) / 1000));
  }
  return { perSecond: best, hits };
}

const engine = new Engine();
const model = buildModel(MESH_FLAGS);
const inventory = inventoryYaml(model);
const results = { shapes: SHAPES, policies: POLICIES, meshes: {} };
console.log(`Decide: ${POLICIES.toLocaleString('en-US')} generated policies per mesh, ${SHAPES.toLocaleString('en-US')} distinct shapes; target 2,000,000 decisions per CPU-second`);
const productRows = [];
console.log(`${'mesh'.padEnd(9)}${'compile ms'.padStart(11)}${'decisions/s'.padStart(13)}${'vs target'.padStart(10)}${'baseline/s'.padStart(13)}${'vs baseline'.padStart(12)}  verdicts (one pass)`);
for (const mesh of MESHES) {
  const workspace = meshWorkspace(engine, model, inventory, mesh, POLICIES);
  let start = cpuMs();
  const warm = new Simulation(workspace);
  const compileMs = cpuMs() - start;
  const records = shapes(model, mesh, SHAPES);
  for (let i = 0; i < 20_000; i++) warm.decide(records[i % records.length]); // warm up the JIT
  const verdicts = {};
  // One freshly compiled simulation per pass, compiled before the profiler starts: cold, nothing
  // carried over from the warm-up or an earlier pass.
  const fresh = [0, 1, 2].map(() => new Simulation(workspace));
  const best = await profiled(mesh, () => {
    let most = 0;
    for (let pass = 0; pass < 3; pass++) {
      const simulation = fresh[pass];
      start = cpuMs();
      if (pass === 0) for (const r of records) { const v = simulation.decide(r).verdict; verdicts[v] = (verdicts[v] ?? 0) + 1; }
      else for (const r of records) simulation.decide(r);
      most = Math.max(most, records.length / ((cpuMs() - start) / 1000));
    }
    return most;
  });
  const base = baseline(records, model);
  // The product path: simulateShapes over the shapes, a freshly compiled Simulation per pass.
  // Folded and unfolded passes alternate (three each), so that their ratio is taken under the
  // same load: unfolded is the same simulateShapes with `Simulation.folded` replaced by one
  // `decide` per shape, what it did before the fold.
  const shaped = productShapes(records, workspace);
  const folded = Simulation.prototype.folded;
  const unfolded = function () { return (record) => this.decide(record); };
  simulateShapes(warm, shaped); // warm up the JIT, both ways
  Simulation.prototype.folded = unfolded;
  simulateShapes(warm, shaped);
  Simulation.prototype.folded = folded;
  const product = [0, 1, 2, 3, 4, 5].map(() => new Simulation(workspace));
  let decisions = 0;
  const productBest = { folded: 0, unfolded: 0 };
  await profiled(`${mesh}-product`, () => {
    for (let pass = 0; pass < 6; pass++) {
      const way = pass % 2 === 0 ? 'folded' : 'unfolded';
      Simulation.prototype.folded = way === 'folded' ? folded : unfolded;
      start = cpuMs();
      const result = simulateShapes(product[pass], shaped);
      productBest[way] = Math.max(productBest[way], shaped.length / ((cpuMs() - start) / 1000));
      if (pass === 0) decisions = new Set(result.outcomes.map((o) => o.decision)).size;
    }
    Simulation.prototype.folded = folded;
  });
  // What finding the slots costs alone: a fresh fold of the mesh's compiled policies (a private
  // field of Simulation, read here only to time it) over every shape.
  const compiled = new Simulation(workspace).compiled.get(mesh);
  let keyUs;
  if (compiled.fold) {
    keyUs = Infinity;
    for (let pass = 0; pass < 3; pass++) {
      const fold = compiled.fold();
      start = cpuMs();
      for (const shape of shaped) fold.slot(shape.record, shape.ids);
      keyUs = Math.min(keyUs, ((cpuMs() - start) * 1000) / shaped.length);
    }
  }
  // What ingest pays once per traffic load for the shapes' rows of value ids (ShapeTable.finish,
  // traffic/callIds.ts), which every simulation of the load then reads: best of three.
  let idsUs = Infinity;
  for (let pass = 0; pass < 3 && shaped.some((s) => s.ids); pass++) {
    const shapeRecords = shaped.map((s) => s.record);
    start = cpuMs();
    callIdRows(shapeRecords, new ValueIds());
    idsUs = Math.min(idsUs, ((cpuMs() - start) * 1000) / shaped.length);
  }
  const productBase = baseline(shaped.map((s) => s.record), model);
  results.meshes[mesh] = {
    compileMs, shapes: records.length, decisionsPerSecond: best, baselinePerSecond: base.perSecond, ratioToBaseline: best / base.perSecond, ratioToTarget: best / 2e6, verdicts,
    product: {
      shapes: shaped.length, shapesPerSecond: productBest.folded, unfoldedShapesPerSecond: productBest.unfolded, foldGain: productBest.folded / productBest.unfolded,
      decisions, foldKeyMicroseconds: keyUs, ingestIdsMicroseconds: idsUs === Infinity ? undefined : idsUs, baselinePerSecond: productBase.perSecond, ratioToBaseline: productBest.folded / productBase.perSecond, ratioToTarget: productBest.folded / 2e6,
    },
  };
  const k = (v) => Math.round(v).toLocaleString('en-US');
  console.log(`${mesh.padEnd(9)}${compileMs.toFixed(0).padStart(11)}${k(best).padStart(13)}${`${(best / 2e6).toFixed(2)}×`.padStart(10)}${k(base.perSecond).padStart(13)}${`${(best / base.perSecond).toFixed(2)}×`.padStart(12)}  ${Object.entries(verdicts).map(([v, c]) => `${v} ${c}`).join(', ')}`);
  const p = productBest.folded;
  productRows.push(`${mesh.padEnd(9)}${k(shaped.length).padStart(9)}${k(p).padStart(13)}${`${(p / 2e6).toFixed(2)}×`.padStart(10)}${k(productBase.perSecond).padStart(13)}${`${(p / productBase.perSecond).toFixed(2)}×`.padStart(12)}${k(productBest.unfolded).padStart(12)}${`${(p / productBest.unfolded).toFixed(2)}×`.padStart(8)}${k(decisions).padStart(11)}${(keyUs === undefined ? '-' : keyUs.toFixed(2)).padStart(8)}${(idsUs === Infinity ? '-' : idsUs.toFixed(2)).padStart(8)}`);
}
console.log(`Product path: simulateShapes over the shapes ingest would make of the same calls (folded by what the policies read), shapes per CPU-second`);
console.log(`${'mesh'.padEnd(9)}${'shapes'.padStart(9)}${'shapes/s'.padStart(13)}${'vs target'.padStart(10)}${'baseline/s'.padStart(13)}${'vs baseline'.padStart(12)}${'unfolded/s'.padStart(12)}${'gain'.padStart(8)}${'decisions'.padStart(11)}${'key us'.padStart(8)}${'ids us'.padStart(8)}`);
for (const row of productRows) console.log(row);
if (OUT) writeFileSync(OUT, `${JSON.stringify(results, null, 2)}\n`);
else {
  mkdirSync(new URL('./.data/', import.meta.url), { recursive: true });
  writeFileSync(new URL('./.data/decide-results.json', import.meta.url), `${JSON.stringify(results, null, 2)}\n`);
}

// Where the fold's time goes once every slot exists (issue 4's decide target; docs/performance.md,
// "The fold is bound by memory latency"). Per mesh: the generator's 1,000 policies and 100k
// distinct calls folded into shapes as ingest folds them (bench/decideInputs.mjs), one fold made
// and filled, then `fold.slot` timed three ways, best of N passes, CPU per shape:
//   - over all 100k shapes in their order (what `simulateShapes` does after the first sight);
//   - over the first 1,000 shapes cycled (the same work on data that stays in the CPU caches);
//   - over one shape repeated (the code path alone).
// The gap between the first and the others is the cost of reaching 100k shapes' rows, memo entries
// and slots in memory, not of the lookups' code.
//
//   npm run build && node bench/foldLatency.mjs [istio|linkerd|consul]
import { createRequire } from 'node:module';
import { buildModel, inventoryYaml } from './generate.mjs';
import { meshWorkspace, productShapes, shapes } from './decideInputs.mjs';
import { MESH_FLAGS } from './data.mjs';

const require = createRequire(import.meta.url);
const { Engine } = require('../out/server/src/engine/engine.js');
const { Simulation } = require('../out/server/src/engine/simulate/index.js');

const cpuMs = () => {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1000;
};
const meshes = process.argv[2] ? [process.argv[2]] : ['istio', 'linkerd', 'consul'];
const engine = new Engine();
const model = buildModel(MESH_FLAGS);
const inventory = inventoryYaml(model);
console.log(`${'mesh'.padEnd(9)}${'shapes'.padStart(9)}${'all, us'.padStart(10)}${'1,000 cycled'.padStart(14)}${'one shape'.padStart(11)}`);
for (const mesh of meshes) {
  const workspace = meshWorkspace(engine, model, inventory, mesh, 1000);
  const shaped = productShapes(shapes(model, mesh, 100_000), workspace);
  const fold = new Simulation(workspace).compiled.get(mesh).fold();
  for (const shape of shaped) fold.slot(shape.record, shape.ids);
  const best = (passes, run) => {
    let least = Infinity;
    for (let pass = 0; pass < passes; pass++) {
      const start = cpuMs();
      run();
      least = Math.min(least, cpuMs() - start);
    }
    return (least * 1000) / shaped.length;
  };
  const all = best(20, () => { for (const shape of shaped) fold.slot(shape.record, shape.ids); });
  const few = shaped.slice(0, 1000);
  const cycled = best(10, () => { for (let i = 0; i < shaped.length; i++) { const shape = few[i % 1000]; fold.slot(shape.record, shape.ids); } });
  const one = shaped[5];
  const single = best(10, () => { for (let i = 0; i < shaped.length; i++) fold.slot(one.record, one.ids); });
  console.log(`${mesh.padEnd(9)}${shaped.length.toLocaleString('en-US').padStart(9)}${all.toFixed(3).padStart(10)}${cycled.toFixed(3).padStart(14)}${single.toFixed(3).padStart(11)}`);
}

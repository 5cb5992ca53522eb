import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { isDeepStrictEqual } from 'node:util';
import { Engine } from '../../../server/src/engine/engine';
import type { Mesh } from '../../../server/src/engine/meshes';
import { resimulate, Simulation, simulateShapes, type ShapeOutcome } from '../../../server/src/engine/simulate';
import { Field } from '../../../server/src/engine/simulate/istio/fields';
import { classify } from '../../../server/src/engine/simulate/types';
import type { AccessRecord } from '../../../server/src/engine/traffic/accessRecord';
import type { TrafficShape } from '../../../server/src/engine/traffic/ingest/types';
import type { WorkspaceModel } from '../../../server/src/engine/workspace';
import { clone, upstreamCases, variants } from '../../helpers/callVariants';
import { loadExampleTraffic, rng } from '../../helpers/exampleTraffic';
import { EXAMPLES } from '../../helpers/paths';

// simulateShapes and resimulate decide folded shapes (Simulation.folded): per mesh, the calls
// that the policies at their destination cannot tell apart (the same values of what those
// policies can read: Istio's fold keeps, per destination, which tests match a call's identity,
// method, port, path, host, headers and addresses) are decided once and share the decision.
// Every shape's decision must equal what `decide` gives that call alone, its change must be
// classified against its own observed verdict, and `explain` must agree with it. The calls: the
// upstream tables, the examples' observed shapes, and seeded variants of both, including the
// attributes a fold could wrongly treat as alike (header and host case, spiffe:// identities,
// lower-case methods, rejected paths, tokens, addresses of each kind, SNI, labels). Dropping an
// attribute from Istio's fold on purpose must make the comparison fail.

const engine = new Engine();
const temp = mkdtempSync(join(tmpdir(), 'mesh-policy-folded-'));
after(() => rmSync(temp, { recursive: true, force: true }));

function shapesOf(calls: AccessRecord[]): TrafficShape[] {
  return calls.map((record, i) => ({ key: `call ${i}`, record, count: 1 + (i % 3), samples: [], sourceBy: {}, destinationBy: {}, joined: 0 }));
}

function shuffled<T>(list: T[], seed: number): T[] {
  const random = rng(seed);
  const out = list.slice();
  for (let i = out.length - 1; i > 0; i--) {
    const j = Math.floor(random() * (i + 1));
    [out[i], out[j]] = [out[j]!, out[i]!];
  }
  return out;
}

interface Comparison {
  /** Shapes whose folded outcome differs from their own decision, with the first described. */
  wrong: number;
  first?: string;
  /** Distinct decision objects among the outcomes. */
  decisions: number;
}

/** Each outcome against `decide` (a separate simulation) for its call alone, and `explain`. */
function compare(workspace: WorkspaceModel, outcomes: readonly ShapeOutcome[]): Comparison {
  const plain = new Simulation(workspace);
  let wrong = 0;
  let first: string | undefined;
  for (const { shape, decision, change } of outcomes) {
    const own = plain.decide(clone(shape.record));
    const explained = plain.decide(shape.record, true);
    const problem = !isDeepStrictEqual(decision, own) ? 'differs from its own decision'
      : change !== classify(own, shape.record.observed) ? 'has another change'
        : explained.verdict !== decision.verdict || !isDeepStrictEqual(explained.missing, decision.missing) ? 'disagrees with explain' : undefined;
    if (problem === undefined) continue;
    wrong++;
    first ??= `${JSON.stringify(shape.record)} ${problem}: folded ${JSON.stringify(decision)}, alone ${JSON.stringify(own)}`;
  }
  return { wrong, ...(first ? { first } : {}), decisions: new Set(outcomes.map((o) => o.decision)).size };
}

function foldedAlike(name: string, workspace: WorkspaceModel, calls: AccessRecord[], seed: number): Comparison {
  const shapes = shapesOf(shuffled(calls, seed));
  const snapshot = clone(shapes.map((s) => s.record));
  const result = simulateShapes(new Simulation(workspace), shapes);
  assert.deepEqual(shapes.map((s) => s.record), snapshot, `${name}: folding changed no record`);
  assert.equal(result.outcomes.length, shapes.length);
  result.outcomes.forEach((o, i) => assert.equal(o.shape, shapes[i], `${name}: outcomes in shape order`));
  return compare(workspace, result.outcomes);
}

const MESHES: Mesh[] = ['istio', 'linkerd', 'consul'];

/** An edit per example that changes some decisions. */
const EDITS: Record<Mesh, { file: string; find: string; replace: string }> = {
  istio: { file: 'security/authorization-policies.yaml', find: 'cluster.local/ns/shop/sa/frontend', replace: 'cluster.local/ns/shop/sa/nobody' },
  linkerd: { file: 'policy/authorization-policies.yaml', find: 'name: web-app\n', replace: 'name: web-app-2\n' },
  consul: { file: 'config/api.hcl', find: 'Action = "allow"', replace: 'Action = "deny"' },
};

for (const mesh of MESHES) {
  describe(`${mesh}: folded decisions equal each shape's own decision`, () => {
    for (const c of upstreamCases(engine, mesh, temp)) {
      it(`${c.name}: its calls and 200 seeded variants`, () => {
        const calls = [...c.calls, ...variants(c.calls, 200, c.name.length * 131 + c.calls.length, true)];
        const comparison = foldedAlike(c.name, c.workspace, calls, 11);
        assert.equal(comparison.wrong, 0, comparison.first);
      });
    }

    it('the example workspace: its shapes and 400 seeded variants, then resimulate after an edit', async () => {
      const example = await loadExampleTraffic(engine, mesh);
      const observed = example.shapes.map((s) => s.record);
      const calls = [...observed, ...variants(observed, 400, mesh.length * 977, true)];
      const comparison = foldedAlike(`${mesh} example`, example.workspace, calls, 23);
      assert.equal(comparison.wrong, 0, comparison.first);
      if (mesh === 'istio') assert.ok(comparison.decisions < calls.length / 2, `folded: ${comparison.decisions} decisions for ${calls.length} calls`);

      // resimulate re-decides folded too: after an edit, every outcome equals a fresh decision.
      const shapes = shapesOf(calls);
      const simulation = new Simulation(example.workspace);
      const before = simulateShapes(simulation, shapes);
      const { file, find, replace } = EDITS[mesh];
      const path = join(EXAMPLES, mesh, file);
      const text = example.texts.get(path)!;
      assert.ok(text.includes(find), `${file} has ${find}`);
      example.workspace.update(engine.prepare(engine.read(path, text.replace(find, replace))));
      const update = simulation.update(example.workspace, [path]);
      const after = resimulate(before, simulation, update.affects);
      assert.ok(after.redecided.length > 0, 'the edit re-decided some shapes');
      const again = compare(example.workspace, after.outcomes);
      assert.equal(again.wrong, 0, again.first);
    });
  });
}

describe('istio: the fold must keep every attribute a test reads', () => {
  // Each sabotage makes Istio's fold forget one attribute (its tests are taken as reading
  // nothing): some shapes of the upstream tables and their variants must then be decided wrong.
  const cases = upstreamCases(engine, 'istio', temp);
  const reads = Object.getOwnPropertyDescriptor(Field.prototype, 'reads')!;
  for (const dropped of ['peer', 'path', 'header', 'source.ip', 'remote.ip', 'host', 'method', 'port'] as const) {
    it(`forgetting ${dropped} is caught`, () => {
      Object.defineProperty(Field.prototype, 'reads', {
        ...reads,
        value(this: Field) {
          const read = (reads.value as (this: Field) => string).call(this);
          return read === dropped ? 'nothing' : read;
        },
      });
      try {
        let wrong = 0;
        for (const c of cases) wrong += foldedAlike(c.name, c.workspace, [...c.calls, ...variants(c.calls, 200, c.name.length * 131 + c.calls.length, true)], 11).wrong;
        assert.ok(wrong > 0, `no shape decided wrong without ${dropped}`);
      } finally {
        Object.defineProperty(Field.prototype, 'reads', reads);
      }
    });
  }
});

import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { Engine } from '../../../server/src/engine/engine';
import type { Mesh } from '../../../server/src/engine/meshes';
import { Simulation } from '../../../server/src/engine/simulate';
import type { Decision } from '../../../server/src/engine/simulate/types';
import type { AccessRecord } from '../../../server/src/engine/traffic/accessRecord';
import type { WorkspaceModel } from '../../../server/src/engine/workspace';
import { clone, upstreamCases, variants } from '../../helpers/callVariants';
import { loadExampleTraffic, rng } from '../../helpers/exampleTraffic';

// The Linkerd and Consul simulators make a decision once per outcome and hand the same Decision
// object to every later call with that outcome (Linkerd: inbound server, route rule, client
// identity, and the client IP when an authorization read it; Consul: the one intention whose
// principal matches, the listener, and which L7 permission matched). A shared decision must be
// exactly the one the plain evaluation gives the call. Each workspace below (the upstream tables
// and the examples) decides its calls and seeded variants of them (other identities, IPs, paths,
// methods, ports, protocols, headers, attributes removed) through one Simulation, in a seeded
// order, twice; every decision must equal what a fresh Simulation gives that call alone (nothing
// shared yet), agree with explain(), and be left unchanged by the decisions after it.

const engine = new Engine();
const temp = mkdtempSync(join(tmpdir(), 'mesh-policy-shared-'));
after(() => rmSync(temp, { recursive: true, force: true }));

function check(name: string, workspace: WorkspaceModel, calls: AccessRecord[], seed: number): number {
  const random = rng(seed);
  const order = calls.map((_, i) => i);
  for (let i = order.length - 1; i > 0; i--) {
    const j = Math.floor(random() * (i + 1));
    [order[i], order[j]] = [order[j]!, order[i]!];
  }
  const shared = new Simulation(workspace);
  const first = new Map<number, { decision: Decision; snapshot: string }>();
  let reused = 0;
  const seen = new Set<Decision>();
  for (let pass = 0; pass < 2; pass++) {
    for (const i of order) {
      const call = calls[i]!;
      const decision = shared.decide(call);
      if (seen.has(decision)) reused++;
      seen.add(decision);
      const what = `${name}: call ${JSON.stringify(call)} (pass ${pass + 1})`;
      if (pass === 0) {
        assert.deepEqual(decision, new Simulation(workspace).decide(clone(call)), `${what}: equals a fresh simulation's decision`);
        const explained = shared.decide(call, true);
        assert.equal(explained.verdict, decision.verdict, `${what}: explain gives the same verdict`);
        assert.deepEqual(explained.missing, decision.missing, `${what}: explain names the same missing attributes`);
        first.set(i, { decision, snapshot: JSON.stringify(decision) });
      } else {
        assert.deepEqual(decision, first.get(i)!.decision, `${what}: the same decision again`);
      }
    }
  }
  for (const [i, { decision, snapshot }] of first) assert.equal(JSON.stringify(decision), snapshot, `${name}: call ${i}: its decision was not changed afterwards`);
  return reused;
}

for (const mesh of ['linkerd', 'consul'] as Mesh[]) {
  describe(`${mesh}: decisions shared per outcome equal the plain evaluation`, () => {
    for (const c of upstreamCases(engine, mesh, temp)) {
      it(`${c.name}: its calls and 150 seeded variants`, () => {
        const calls = [...c.calls, ...variants(c.calls, 150, c.name.length * 101 + c.calls.length)];
        check(c.name, c.workspace, calls, 17);
      });
    }

    it('the example workspace: its observed calls and 300 seeded variants; many calls share a decision', async () => {
      const example = await loadExampleTraffic(engine, mesh);
      const observed = example.shapes.map((s) => s.record);
      const calls = [...observed, ...variants(observed, 300, mesh === 'linkerd' ? 4049 : 7213)];
      const reused = check(`${mesh} example`, example.workspace, calls, 29);
      assert.ok(reused > calls.length, `${reused} decisions handed out more than once`);
    });
  });
}

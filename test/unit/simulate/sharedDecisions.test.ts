import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { after, describe, it } from 'node:test';
import { parse } from 'yaml';
import { defaultConfig, parseConfig } from '../../../server/src/engine/config/projectConfig';
import { Engine } from '../../../server/src/engine/engine';
import type { Mesh } from '../../../server/src/engine/meshes';
import { Simulation } from '../../../server/src/engine/simulate';
import type { Decision } from '../../../server/src/engine/simulate/types';
import type { AccessRecord } from '../../../server/src/engine/traffic/accessRecord';
import { WorkspaceModel } from '../../../server/src/engine/workspace';
import { loadExampleTraffic, rng } from '../../helpers/exampleTraffic';
import { mergeCall } from '../../helpers/mergeCall';
import { FIXTURES } from '../../helpers/paths';

// The Linkerd and Consul simulators make a decision once per outcome and hand the same Decision
// object to every later call with that outcome (Linkerd: inbound server, route rule, client
// identity, and the client IP when an authorization read it; Consul: the one intention whose
// principal matches, the listener, and which L7 permission matched). A shared decision must be
// exactly the one the plain evaluation gives the call. Each workspace below (the upstream tables
// and the examples) decides its calls and seeded variants of them (other identities, IPs, paths,
// methods, ports, protocols, headers, attributes removed) through one Simulation, in a seeded
// order, twice; every decision must equal what a fresh Simulation gives that call alone (nothing
// shared yet), agree with explain(), and be left unchanged by the decisions after it.

type Json = Record<string, unknown>;

const engine = new Engine();
const temp = mkdtempSync(join(tmpdir(), 'mesh-policy-shared-'));
after(() => rmSync(temp, { recursive: true, force: true }));

function clone<T>(value: T): T {
  return JSON.parse(JSON.stringify(value)) as T;
}


interface Case {
  name: string;
  workspace: WorkspaceModel;
  calls: AccessRecord[];
}

function upstreamCases(mesh: Mesh): Case[] {
  const dir = join(FIXTURES, 'upstream', mesh);
  return readdirSync(dir).filter((f) => f.endsWith('.yaml')).sort().map((file) => {
    const table = parse(readFileSync(join(dir, file), 'utf8')) as { files: Record<string, string>; config?: string; base?: Json; cases: { call?: Json }[] };
    const root = join(temp, mesh, file);
    const config = table.config ? parseConfig(table.config, defaultConfig(root)) : defaultConfig(root);
    const workspace = new WorkspaceModel(config);
    for (const [name, text] of Object.entries(table.files)) {
      const path = join(root, name);
      mkdirSync(dirname(path), { recursive: true });
      writeFileSync(path, text);
      workspace.update(engine.prepare(engine.read(path, text)));
    }
    return { name: `upstream ${file}`, workspace, calls: table.cases.map((c) => mergeCall(table.base ?? {}, c.call ?? {}) as AccessRecord) };
  });
}

/** Seeded variants: each changes one or two attributes of a call to a value another call has,
 * to a value near a policy boundary, or removes it. */
function variants(calls: AccessRecord[], count: number, seed: number): AccessRecord[] {
  const random = rng(seed);
  const pick = <T>(list: T[]): T => list[Math.floor(random() * list.length)]!;
  const principals = [...new Set(calls.map((c) => c.source?.principal).filter((p): p is string => typeof p === 'string'))];
  const ips = [...new Set(calls.map((c) => c.source?.ip).filter((p): p is string => typeof p === 'string')), '127.0.0.1', '10.96.0.7', '192.168.3.4', '2001:db8::1'];
  const paths = [...new Set(calls.map((c) => c.request?.path).filter((p): p is string => typeof p === 'string')), '/', '/healthz', '/admin/x'];
  const methods = ['GET', 'POST', 'PUT', 'DELETE', 'PATCH'];
  const ports = [...new Set(calls.map((c) => c.destination?.port).filter((p): p is number => typeof p === 'number')), 4191, 9999];
  const changes: ((r: AccessRecord) => void)[] = [
    (r) => { if (r.source && principals.length) r.source.principal = pick(principals); },
    (r) => { if (r.source) delete r.source.principal; },
    (r) => { if (r.source) r.source.principal = null; },
    (r) => { if (r.source) r.source.ip = pick(ips); },
    (r) => { if (r.source) delete r.source.ip; },
    (r) => { if (r.request) r.request.path = pick(paths); },
    (r) => { if (r.request?.path) r.request.path = `${r.request.path}/${Math.floor(random() * 1000)}`; },
    (r) => { if (r.request?.path) r.request.path = `${r.request.path}?page=${Math.floor(random() * 3)}`; },
    (r) => { if (r.request?.path) r.request.path = `/a/..${r.request.path}`; },
    (r) => { if (r.request) delete r.request.path; },
    (r) => { if (r.request) r.request.method = pick(methods); },
    (r) => { if (r.request) delete r.request.method; },
    (r) => { if (r.request) r.request.headers = { 'x-tenant': `t-${Math.floor(random() * 3)}` }; },
    (r) => { delete r.request; },
    (r) => { if (r.destination) r.destination.port = pick(ports); },
    (r) => { if (r.destination) delete r.destination.port; },
    (r) => { delete r.protocol; },
    (r) => { r.protocol = pick(['tcp', 'http', 'grpc']); },
  ];
  const out: AccessRecord[] = [];
  for (let i = 0; i < count && calls.length; i++) {
    const r = clone(pick(calls));
    pick(changes)(r);
    if (random() < 0.5) pick(changes)(r);
    out.push(r);
  }
  return out;
}

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
    for (const c of upstreamCases(mesh)) {
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

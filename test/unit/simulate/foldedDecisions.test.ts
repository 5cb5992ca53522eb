import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { isDeepStrictEqual } from 'node:util';
import { defaultConfig, parseConfig } from '../../../server/src/engine/config/projectConfig';
import { Engine } from '../../../server/src/engine/engine';
import type { Mesh } from '../../../server/src/engine/meshes';
import { resimulate, Simulation, simulateShapes, type ShapeOutcome } from '../../../server/src/engine/simulate';
import * as consulCompile from '../../../server/src/engine/simulate/consul/compile';
import { ConsulPolicies, type ConsulFoldPlan, type ConsulRequestReads } from '../../../server/src/engine/simulate/consul/compile';
import { ConsulFold } from '../../../server/src/engine/simulate/consul/fold';
import { IstioCompiledPolicies } from '../../../server/src/engine/simulate/istio/evaluate';
import { Field } from '../../../server/src/engine/simulate/istio/fields';
import * as memo from '../../../server/src/engine/simulate/linkerd/memo';
import { classify } from '../../../server/src/engine/simulate/types';
import type { AccessRecord } from '../../../server/src/engine/traffic/accessRecord';
import { CALL_ID, EMPTY_ID, ValueIds } from '../../../server/src/engine/traffic/callIds';
import { withCallIds } from '../../../server/src/engine/traffic/ingest/shapes';
import type { TrafficShape } from '../../../server/src/engine/traffic/ingest/types';
import { WorkspaceModel } from '../../../server/src/engine/workspace';
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
// attribute from Istio's fold on purpose must make the comparison fail. Linkerd's fold keys a
// call by its inbound server, the route rule its request selects, the identity's class and the
// client address's network class: forgetting what it reads must make it fail too.
// Consul's fold keys a call by its destination, its caller (principal, or source service and
// namespace), its protocol class and, where the destination's intentions read the request, the
// class of each request attribute (which permission criteria it satisfies, the normalization's
// note or 400) and the token: forgetting any of them must make it fail too.
// The fold reads a call as its row of value ids (traffic/callIds.ts): given by ingest
// (`withCallIds`, as ShapeTable.finish gives them), made by the fold for shapes without one, or
// both in one list. A row that forgets an attribute must make the comparison fail too.

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

/** Where the shapes' rows of value ids come from: none (the fold makes them), ingest, or every other shape from ingest. */
type Rows = 'none' | 'ingest' | 'mixed';

function foldedAlike(name: string, workspace: WorkspaceModel, calls: AccessRecord[], seed: number, rows: Rows = 'none'): Comparison {
  const shapes = shapesOf(shuffled(calls, seed));
  if (rows !== 'none') withCallIds(shapes);
  if (rows === 'mixed') shapes.forEach((shape, i) => { if (i % 2) delete shape.ids; });
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
      it(`${c.name}: its calls and 200 seeded variants, with and without rows from ingest`, () => {
        const calls = [...c.calls, ...variants(c.calls, 200, c.name.length * 131 + c.calls.length, true)];
        for (const rows of ['none', 'ingest', 'mixed'] as const) {
          const comparison = foldedAlike(`${c.name} (rows: ${rows})`, c.workspace, calls, 11, rows);
          assert.equal(comparison.wrong, 0, comparison.first);
        }
      });
    }

    if (mesh === 'istio') {
      it('mTLS DISABLE with principals the logs gave and principals ingest inferred', () => {
        const c = disableCase();
        for (const rows of ['none', 'ingest', 'mixed'] as const) {
          const comparison = foldedAlike(`${c.name} (rows: ${rows})`, c.workspace, c.calls, 11, rows);
          assert.equal(comparison.wrong, 0, comparison.first);
        }
      });

      it('an ambient waypoint and its own connections to the pods: their calls and 200 seeded variants', () => {
        const c = waypointCase();
        for (const rows of ['none', 'ingest', 'mixed'] as const) {
          const comparison = foldedAlike(`${c.name} (rows: ${rows})`, c.workspace, [...c.calls, ...variants(c.calls, 200, 5, true)], 11, rows);
          assert.equal(comparison.wrong, 0, comparison.first);
        }
      });

      it('forgetting which caller is the waypoint is caught', () => {
        const reads = Object.getOwnPropertyDescriptor(IstioCompiledPolicies.prototype, 'destinationReads')!;
        Object.defineProperty(IstioCompiledPolicies.prototype, 'destinationReads', {
          ...reads,
          value(this: IstioCompiledPolicies, rec: AccessRecord) {
            return { ...(reads.value as (this: IstioCompiledPolicies, rec: AccessRecord) => object).call(this, rec), fromWaypoint: null };
          },
        });
        try {
          const c = waypointCase();
          assert.ok(foldedAlike(c.name, c.workspace, c.calls, 11).wrong > 0, 'no shape decided wrong');
        } finally {
          Object.defineProperty(IstioCompiledPolicies.prototype, 'destinationReads', reads);
        }
      });

      it('policies on the destination address and the SNI: their calls and 200 seeded variants', () => {
        const c = addressAndSniCase();
        for (const rows of ['none', 'ingest', 'mixed'] as const) {
          const comparison = foldedAlike(`${c.name} (rows: ${rows})`, c.workspace, [...c.calls, ...variants(c.calls, 200, 7, true)], 11, rows);
          assert.equal(comparison.wrong, 0, comparison.first);
        }
      });
    }

    if (mesh === 'consul') {
      it('request criteria on the authority, :method and :path, normalization that rejects and rewrites, namespaces, gRPC: their calls and 300 seeded variants', () => {
        const c = consulRequestCase();
        for (const rows of ['none', 'ingest', 'mixed'] as const) {
          const comparison = foldedAlike(`${c.name} (rows: ${rows})`, c.workspace, [...c.calls, ...variants(c.calls, 300, 17, true)], 11, rows);
          assert.equal(comparison.wrong, 0, comparison.first);
        }
      });
    }

    it('the example workspace: its shapes and 400 seeded variants, then resimulate after an edit', async () => {
      const example = await loadExampleTraffic(engine, mesh);
      const observed = example.shapes.map((s) => s.record);
      const calls = [...observed, ...variants(observed, 400, mesh.length * 977, true)];
      for (const rows of ['none', 'ingest', 'mixed'] as const) {
        const comparison = foldedAlike(`${mesh} example (rows: ${rows})`, example.workspace, calls, 23, rows);
        assert.equal(comparison.wrong, 0, comparison.first);
        if (mesh !== 'consul') assert.ok(comparison.decisions < calls.length / 2, `folded: ${comparison.decisions} decisions for ${calls.length} calls`);
      }
      // The example's shapes as ingest made them: Istio's carry their rows from ShapeTable.finish.
      assert.ok(example.shapes.every((shape) => shape.ids !== undefined), 'ingest gave every shape its row');
      const ingested = compare(example.workspace, simulateShapes(new Simulation(example.workspace), example.shapes).outcomes);
      assert.equal(ingested.wrong, 0, ingested.first);

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

/** A workspace of one `policies.yaml` of `lines`, in its own folder under the test's temp folder. */
function policiesWorkspace(folder: string, lines: string[]): WorkspaceModel {
  const root = join(temp, folder);
  mkdirSync(root, { recursive: true });
  const path = join(root, 'policies.yaml');
  const text = lines.join('\n');
  writeFileSync(path, text);
  const workspace = new WorkspaceModel(defaultConfig(root));
  workspace.update(engine.prepare(engine.read(path, text)));
  return workspace;
}

/** Policies that test the destination address and the SNI, which the upstream tables do not. */
function addressAndSniCase(): { name: string; workspace: WorkspaceModel; calls: AccessRecord[] } {
  const workspace = policiesWorkspace('address-and-sni', [
    'apiVersion: security.istio.io/v1', 'kind: AuthorizationPolicy', 'metadata: {name: by-address, namespace: shop}',
    'spec:', '  selector: {matchLabels: {app: api}}', '  action: DENY', '  rules:', '  - when:', '    - key: destination.ip', '      values: ["10.0.1.0/24"]',
    '---', 'apiVersion: security.istio.io/v1', 'kind: AuthorizationPolicy', 'metadata: {name: by-sni, namespace: shop}',
    'spec:', '  selector: {matchLabels: {app: api}}', '  action: ALLOW', '  rules:', '  - when:', '    - key: connection.sni', '      values: ["*.svc.cluster.local"]', '',
  ]);
  const calls: AccessRecord[] = [];
  for (const ip of ['10.0.1.5', '10.0.2.5', undefined]) {
    for (const sni of ['outbound_.8000_._.api.shop.svc.cluster.local', 'evil.example.com', undefined]) {
      calls.push({
        mesh: 'istio', protocol: 'tcp', observed: 'allowed',
        source: { principal: 'cluster.local/ns/shop/sa/web', namespace: 'shop', ip: '10.0.3.7' },
        destination: { namespace: 'shop', workload: 'api', service: 'api', labels: { app: 'api' }, port: 8000, ...(ip ? { ip } : {}) },
        ...(sni ? { sni } : {}),
      });
    }
  }
  return { name: 'destination address and SNI', workspace, calls };
}

/**
 * A workload whose mTLS mode is DISABLE: a caller that presents a principal is refused there, one
 * whose principal ingest inferred from the inventory arrives as plaintext (auto mTLS), so calls
 * with the same principal, inferred or not, must not share a fold slot.
 */
function disableCase(): { name: string; workspace: WorkspaceModel; calls: AccessRecord[] } {
  const workspace = policiesWorkspace('disable', [
    'apiVersion: security.istio.io/v1', 'kind: PeerAuthentication', 'metadata: {name: legacy, namespace: shop}',
    'spec:', '  selector: {matchLabels: {app: legacy}}', '  mtls: {mode: DISABLE}',
    '---', 'apiVersion: security.istio.io/v1', 'kind: AuthorizationPolicy', 'metadata: {name: plaintext-only, namespace: shop}',
    'spec:', '  action: ALLOW', '  rules:', '  - from: [{source: {notPrincipals: ["*"]}}]', '',
  ]);
  const calls: AccessRecord[] = [];
  for (const app of ['legacy', 'api']) {
    for (const principal of ['cluster.local/ns/shop/sa/web', undefined]) {
      for (const inferred of [true, false]) {
        if (inferred && principal === undefined) continue;
        calls.push({
          mesh: 'istio', protocol: 'http', observed: 'allowed',
          source: { ...(principal ? { principal } : { principal: null }), namespace: 'shop', ...(inferred ? { principalInferred: true } : {}) },
          destination: { namespace: 'shop', workload: app, labels: { app }, port: 8080 },
          request: { method: 'GET', path: '/' },
        });
      }
    }
  }
  return { name: 'mTLS DISABLE and inferred principals', workspace, calls };
}

/**
 * An ambient namespace whose Services use a waypoint: the waypoint enforces the Service's policy,
 * the pods' ztunnel a selector policy that admits only the waypoint. Calls from a client, and the
 * waypoint's own connections to the pods (ztunnel logs them inbound, with the waypoint's identity).
 */
function waypointCase(): { name: string; workspace: WorkspaceModel; calls: AccessRecord[] } {
  const root = join(temp, 'waypoint');
  mkdirSync(root, { recursive: true });
  const files: [string, string][] = [
    ['namespace.yaml', ['apiVersion: v1', 'kind: Namespace', 'metadata:', '  name: notes', '  labels: {istio.io/dataplane-mode: ambient, istio.io/use-waypoint: waypoint}', ''].join('\n')],
    ['policies.yaml', [
      'apiVersion: security.istio.io/v1', 'kind: AuthorizationPolicy', 'metadata: {name: api-l7, namespace: notes}',
      'spec:', '  targetRefs: [{kind: Service, group: "", name: api}]', '  action: DENY', '  rules:', '  - to: [{operation: {methods: [POST]}}]',
      '---', 'apiVersion: security.istio.io/v1', 'kind: AuthorizationPolicy', 'metadata: {name: api-l4, namespace: notes}',
      'spec:', '  selector: {matchLabels: {app: api}}', '  action: ALLOW', '  rules:', '  - from: [{source: {principals: [cluster.local/ns/notes/sa/waypoint, cluster.local/ns/notes/sa/web]}}]', '',
    ].join('\n')],
  ];
  const workspace = new WorkspaceModel(defaultConfig(root));
  for (const [name, text] of files) {
    writeFileSync(join(root, name), text);
    workspace.update(engine.prepare(engine.read(join(root, name), text)));
  }
  const calls: AccessRecord[] = [];
  for (const principal of ['cluster.local/ns/notes/sa/web', 'cluster.local/ns/notes/sa/waypoint', 'spiffe://cluster.local/ns/notes/sa/waypoint', 'other.domain/ns/notes/sa/waypoint', 'cluster.local/ns/notes/sa/debug']) {
    for (const protocol of ['http', 'tcp'] as const) {
      for (const service of ['api', undefined]) {
        calls.push({
          mesh: 'istio', protocol, observed: 'allowed',
          source: { principal, namespace: 'notes', ip: '10.0.3.7' },
          destination: { namespace: 'notes', workload: 'api', labels: { app: 'api' }, port: 8080, ...(service ? { service } : {}) },
          ...(protocol === 'http' ? { request: { method: 'POST', path: '/v1/notes' } } : {}),
        });
      }
    }
  }
  return { name: 'ambient waypoint', workspace, calls };
}

type Slot = keyof typeof CALL_ID;

/** The fold's rows with one id for `slot` in every call (the first call's value then stands for all), while `run` runs. */
function withOneId<T>(slot: Slot, run: () => T): T {
  const rowInto = Object.getOwnPropertyDescriptor(ValueIds.prototype, 'rowInto')!;
  Object.defineProperty(ValueIds.prototype, 'rowInto', {
    ...rowInto,
    value(this: ValueIds, record: AccessRecord, out: Int32Array, at = 0) {
      (rowInto.value as (this: ValueIds, record: AccessRecord, out: Int32Array, at: number) => Int32Array).call(this, record, out, at);
      // Absent, null and '' keep their ids (every space gives them alike); principalUnknown
      // is a flag, not an id: forgetting it means reading it as false.
      const id = out[at + CALL_ID[slot]]!;
      out[at + CALL_ID[slot]] = slot === 'principalUnknown' ? 0 : Math.abs(id) <= EMPTY_ID ? id : Math.sign(id) * 1000;
      return out;
    },
  });
  try {
    return run();
  } finally {
    Object.defineProperty(ValueIds.prototype, 'rowInto', rowInto);
  }
}

/** Shapes decided wrong over the cases and their seeded variants. */
function wrongOver(cases: { name: string; workspace: WorkspaceModel; calls: AccessRecord[] }[], rows: Rows): number {
  let wrong = 0;
  for (const c of cases) wrong += foldedAlike(c.name, c.workspace, [...c.calls, ...variants(c.calls, 200, c.name.length * 131 + c.calls.length, true)], 11, rows).wrong;
  return wrong;
}

describe('istio: a row of value ids must keep every attribute apart', () => {
  // Each sabotage gives every call the same id for one attribute: some shapes of the upstream
  // tables and their variants must be decided wrong, whether the rows come from ingest or from the fold.
  const cases = [...upstreamCases(engine, 'istio', temp), addressAndSniCase(), disableCase()];
  const slots = Object.keys(CALL_ID).filter((slot) => slot !== 'space') as Slot[];
  for (const slot of slots) {
    it(`one id for every ${slot} is caught`, () => {
      for (const rows of ['ingest', 'none'] as const) {
        assert.ok(withOneId(slot, () => wrongOver(cases, rows)) > 0, `no shape decided wrong with one id for every ${slot} (rows: ${rows})`);
      }
    });
  }
});

describe('linkerd: the fold must keep every attribute decide reads', () => {
  // Linkerd's fold keys a call by its pod (destination and its address), port, protocol, the
  // request attributes the routes read, the identity and the client address's network class.
  // Giving every call one id for any of those must make some shapes of the upstream tables, the
  // example and their variants decide wrong; the attributes Linkerd never reads must not.
  const cases = upstreamCases(engine, 'linkerd', temp);
  const read: Slot[] = ['destination', 'protocol', 'principal', 'method', 'port', 'path', 'host', 'headers', 'sourceIp'];
  for (const slot of read) {
    it(`one id for every ${slot} is caught`, () => {
      for (const rows of ['ingest', 'none'] as const) {
        assert.ok(withOneId(slot, () => wrongOver(cases, rows)) > 0, `no shape decided wrong with one id for every ${slot} (rows: ${rows})`);
      }
    });
  }
  it('one id for an attribute Linkerd does not read changes nothing', () => {
    for (const slot of ['principalUnknown', 'remoteIp', 'sni', 'jwt'] as const) assert.equal(withOneId(slot, () => wrongOver(cases, 'ingest')), 0, slot);
  });
  it('forgetting that an identity reads the client address is caught', () => {
    const original = memo.readsClientIp;
    (memo as { readsClientIp: typeof memo.readsClientIp }).readsClientIp = () => false;
    try {
      assert.ok(wrongOver(cases, 'ingest') > 0, 'no shape decided wrong without the network class');
    } finally {
      (memo as { readsClientIp: typeof memo.readsClientIp }).readsClientIp = original;
    }
  });
});

/**
 * Consul intentions whose permissions read what the upstream tables' do not (the authority, a
 * `:method` and a `:path` header, inverted and present headers), with Enterprise namespaces (so
 * a caller without a principal is its source service in its namespace), a gRPC service, and a
 * mesh entry that merges slashes, rejects escaped slashes and drops headers with underscores.
 */
function consulRequestCase(): { name: string; workspace: WorkspaceModel; calls: AccessRecord[] } {
  const root = join(temp, 'consul-requests');
  mkdirSync(root, { recursive: true });
  const files: [string, string][] = [
    ['.meshpolicy.yaml', 'consul:\n  defaultIntentionPolicy: deny\n'],
    ['mesh.hcl', [
      'kind = "mesh"', 'http {', '  incoming {', '    request_normalization {', '      merge_slashes = true',
      '      path_with_escaped_slashes_action = "REJECT_REQUEST"', '      headers_with_underscores_action = "DROP_HEADER"', '    }', '  }', '}', '',
    ].join('\n')],
    ['api.hcl', [
      'Kind = "service-intentions"', 'Name = "api"', 'Namespace = "shop"', 'Sources = [', '  {', '    Name = "web"', '    Namespace = "shop"', '    Permissions = [',
      '      { Action = "deny", HTTP { Header = [ { Name = "x_debug", Present = true } ] } },',
      '      { Action = "allow", HTTP { Header = [ { Name = "Host", Exact = "api.shop" }, { Name = ":method", Regex = "GET|HEAD" } ] } },',
      '      { Action = "allow", HTTP { Header = [ { Name = ":path", Prefix = "/v1/items?" } ] } },',
      '      { Action = "allow", HTTP { PathPrefix = "/v1/", Methods = ["GET", "POST"] } },',
      '      { Action = "allow", HTTP { Header = [ { Name = ":authority", Suffix = ".internal", Invert = true }, { Name = "x-tenant", Prefix = "t-" } ] } },',
      '    ]', '  },', '  { Name = "*", Namespace = "shop", Action = "deny" },', '  { Name = "ops", Namespace = "ops", Action = "allow" },', ']', '',
    ].join('\n')],
    ['rpc.hcl', [
      'Kind = "service-intentions"', 'Name = "rpc"', 'Namespace = "shop"', 'Sources = [',
      '  { Name = "web", Namespace = "shop", Permissions = [ { Action = "allow", HTTP { PathPrefix = "/rpc.v1.", Methods = ["POST"] } } ] },', ']', '',
    ].join('\n')],
  ];
  for (const [name, text] of files) writeFileSync(join(root, name), text);
  const workspace = new WorkspaceModel(parseConfig(files[0]![1], defaultConfig(root)));
  for (const [name, text] of files.slice(1)) workspace.update(engine.prepare(engine.read(join(root, name), text)));
  const td = '11111111-2222-3333-4444-555555555555.consul';
  const sources: NonNullable<AccessRecord['source']>[] = [
    { principal: `spiffe://${td}/ns/shop/dc/dc1/svc/web`, service: 'web', namespace: 'shop' },
    { principal: `spiffe://${td}/ns/ops/dc/dc1/svc/ops`, service: 'ops', namespace: 'ops' },
    { principal: `spiffe://${td}/ns/shop/dc/dc1/svc/cart`, service: 'cart', namespace: 'shop' },
    { principal: 'spiffe://other.consul/ns/shop/dc/dc2/svc/web', service: 'web', namespace: 'shop' },
    { service: 'web', namespace: 'shop' },
    { service: 'web' },
    { service: 'ops', namespace: 'ops' },
    { principal: null, service: 'web', namespace: 'shop' },
  ];
  const requests: (AccessRecord['request'] | undefined)[] = [
    { method: 'GET', path: '/v1/items?page=1', host: 'api.shop' },
    { method: 'HEAD', path: '/other', headers: { Host: 'api.shop' } },
    { method: 'POST', path: '//v1//x', headers: { x_debug: '1' } },
    { method: 'PUT', path: '/v1/a%2Fb' },
    { path: '/rpc.v1.Svc/Get' },
    { method: 'DELETE', path: '/v1/./items', host: 'api.internal', headers: { 'x-tenant': 't-1' } },
    { method: 'DELETE', path: '/misc', headers: { 'X-Tenant': 't-2' } },
    undefined,
  ];
  const calls: AccessRecord[] = [];
  for (const source of sources) {
    for (const protocol of ['http', 'grpc', 'tcp', undefined] as const) {
      for (const service of ['api', 'rpc']) {
        for (const request of requests) {
          calls.push({
            mesh: 'consul', observed: 'allowed', ...(protocol ? { protocol } : {}), source: { ...source },
            destination: { service, namespace: 'shop', port: 20000 }, ...(request ? { request: clone(request) } : {}),
          });
        }
      }
    }
  }
  return { name: 'Consul request criteria', workspace, calls };
}

describe('consul: the fold must keep every attribute decide reads', () => {
  // Consul's fold keys a call by its destination, caller, protocol class and the classes of the
  // request attributes the destination's permissions and normalization read, and the token where
  // a JWT requirement reads it. Giving every call one id for any of those, or leaving one out of
  // the destination's reads, must make some shapes of the upstream tables, the case above and
  // their variants decide wrong; the attributes Consul never reads must not.
  const cases = [...upstreamCases(engine, 'consul', temp), consulRequestCase()];
  const read: Slot[] = ['destination', 'protocol', 'principal', 'method', 'path', 'host', 'headers', 'jwt'];
  for (const slot of read) {
    it(`one id for every ${slot} is caught`, () => {
      for (const rows of ['ingest', 'none'] as const) {
        assert.ok(withOneId(slot, () => wrongOver(cases, rows)) > 0, `no shape decided wrong with one id for every ${slot} (rows: ${rows})`);
      }
    });
  }
  it('one id for an attribute Consul does not read changes nothing', () => {
    for (const slot of ['principalUnknown', 'port', 'sourceIp', 'remoteIp', 'destinationIp', 'sni'] as const) assert.equal(withOneId(slot, () => wrongOver(cases, 'ingest')), 0, slot);
  });

  /** Runs `run` with `ConsulPolicies.foldPlan` changed by `change` (a request plan only). */
  function withPlan<T>(change: (request: ConsulRequestReads) => ConsulRequestReads, run: () => T): T {
    const foldPlan = Object.getOwnPropertyDescriptor(ConsulPolicies.prototype, 'foldPlan')!;
    const changed = new Map<ConsulRequestReads, ConsulRequestReads>();
    Object.defineProperty(ConsulPolicies.prototype, 'foldPlan', {
      ...foldPlan,
      value(this: ConsulPolicies, rec: AccessRecord): ConsulFoldPlan {
        const plan = (foldPlan.value as (this: ConsulPolicies, rec: AccessRecord) => ConsulFoldPlan).call(this, rec);
        if (plan.reads !== 'request') return plan;
        let request = changed.get(plan.request);
        if (request === undefined) changed.set(plan.request, (request = change(plan.request)));
        return { reads: 'request', request };
      },
    });
    try {
      return run();
    } finally {
      Object.defineProperty(ConsulPolicies.prototype, 'foldPlan', foldPlan);
    }
  }

  for (const dropped of ['methods', 'paths', 'hosts', 'headers'] as const) {
    it(`forgetting the criteria on ${dropped} is caught`, () => {
      assert.ok(withPlan((request) => ({ ...request, [dropped]: [] }), () => wrongOver(cases, 'ingest')) > 0, `no shape decided wrong without the criteria on ${dropped}`);
    });
  }
  it('forgetting a JWT requirement is caught', () => {
    assert.ok(withPlan((request) => ({ ...request, jwt: false }), () => wrongOver(cases, 'ingest')) > 0, 'no shape decided wrong without the token');
  });

  it('forgetting the rewrite note or the 400 of the normalized path is caught', () => {
    const module = consulCompile as { normalizePath: typeof consulCompile.normalizePath };
    const original = module.normalizePath;
    for (const part of ['note', 'reject'] as const) {
      module.normalizePath = (raw, n, out) => Object.assign(original(raw, n, out), { [part]: undefined });
      try {
        assert.ok(wrongOver(cases, 'ingest') > 0, `no shape decided wrong without the path's ${part}`);
      } finally {
        module.normalizePath = original;
      }
    }
  });

  it('forgetting the source service or namespace of a caller without a principal is caught', () => {
    // Told that Enterprise namespaces are off, the fold keys such a caller by its service alone
    // (decide still reads the namespace: it reads its own setting).
    const namespaces = Object.getOwnPropertyDescriptor(ConsulPolicies.prototype, 'usesNamespaces')!;
    Object.defineProperty(ConsulPolicies.prototype, 'usesNamespaces', { ...namespaces, get: () => false });
    try {
      assert.ok(wrongOver(cases, 'ingest') > 0, 'no shape decided wrong without the source namespace');
    } finally {
      Object.defineProperty(ConsulPolicies.prototype, 'usesNamespaces', namespaces);
    }
    // One service for every such caller.
    const callerOf = Object.getOwnPropertyDescriptor(ConsulFold.prototype, 'callerOf')!;
    Object.defineProperty(ConsulFold.prototype, 'callerOf', {
      ...callerOf,
      value(this: ConsulFold, destination: unknown, row: Int32Array, rec: AccessRecord) {
        const alike = rec.source?.principal === undefined ? { ...rec, source: { ...rec.source, service: 'one' } } : rec;
        return (callerOf.value as (this: ConsulFold, d: unknown, r: Int32Array, rec: AccessRecord) => unknown).call(this, destination, row, alike);
      },
    });
    try {
      assert.ok(wrongOver(cases, 'ingest') > 0, 'no shape decided wrong without the source service');
    } finally {
      Object.defineProperty(ConsulFold.prototype, 'callerOf', callerOf);
    }
  });
});

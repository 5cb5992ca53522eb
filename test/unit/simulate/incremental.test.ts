import assert from 'node:assert/strict';
import { join } from 'node:path';
import { before, describe, it } from 'node:test';
import { Engine } from '../../../server/src/engine/engine';
import type { Mesh } from '../../../server/src/engine/meshes';
import { inScope } from '../../../server/src/engine/simulate/attachment';
import { DestinationGroups, resimulate, Simulation, simulateShapes, type SimulationResult } from '../../../server/src/engine/simulate';
import { loadExampleTraffic, rng, type ExampleTraffic } from '../../helpers/exampleTraffic';
import { EXAMPLES } from '../../helpers/paths';
import { shapeKey } from '../../../server/src/engine/traffic/ingest/shapes';

// Incremental simulation (issue 4, "when one policy changes, re-decide only the workloads it
// attaches to"): after each edit, Simulation.update + resimulate must give exactly what a new
// Simulation + simulateShapes gives over the same shapes, and re-decide fewer shapes when the
// edit attaches to fewer destinations.

const engine = new Engine();

type Example = ExampleTraffic;

async function loadExample(mesh: Mesh): Promise<Example> {
  const example = await loadExampleTraffic(engine, mesh);
  assert.ok(example.shapes.length > 20, `${mesh}: the example has traffic`);
  return example;
}

function edit(example: Example, path: string, text: string): void {
  example.texts.set(path, text);
  example.workspace.update(engine.prepare(engine.read(path, text)));
}

/** A deep copy of what a result says, to see that nothing changed it (`places`: where its policies are written, which moves with them). */
function snapshotOf(result: SimulationResult, places = true): unknown {
  const policies = places ? result.policies : result.policies.map(({ ref, rules, ...counts }) => ({ ...counts, label: ref.label, rules: [...rules.entries()].map(([label, { ref: _ref, ...rule }]) => [label, rule]) }));
  return structuredClone({ outcomes: result.outcomes.map((o) => [o.decision.verdict, o.change]), totals: result.totals, policies });
}

function assertSame(incremental: SimulationResult, full: SimulationResult, what: string): void {
  assert.equal(incremental.outcomes.length, full.outcomes.length);
  for (let i = 0; i < full.outcomes.length; i++) {
    const a = incremental.outcomes[i]!;
    const b = full.outcomes[i]!;
    assert.equal(a.shape, b.shape);
    assert.deepEqual(a.decision, b.decision, `${what}: shape ${shapeKey(b.shape.record)}`);
    assert.equal(a.change, b.change, `${what}: change of ${shapeKey(b.shape.record)}`);
  }
  assert.deepEqual(incremental.totals, full.totals, `${what}: totals`);
  assert.deepEqual(incremental.policies, full.policies, `${what}: per policy`);
}

interface Edit {
  name: string;
  /** File under examples/<mesh>/. */
  file: string;
  find: string;
  replace: string;
  /** The edit attaches to some destinations only: fewer shapes are decided again. */
  scoped: boolean;
  /** The edit moves resources below it without changing them: they decide as before, at their new lines. */
  moves?: boolean;
  /** An earlier row that changed the same resource and nothing else: the moves add no shape to those it decided again. */
  sameShapesAs?: string;
}

const EDITS: Record<Mesh, Edit[]> = {
  istio: [
    { name: 'cart ALLOW: another principal', file: 'security/authorization-policies.yaml', find: 'cluster.local/ns/shop/sa/frontend', replace: 'cluster.local/ns/shop/sa/nobody', scoped: true },
    { name: 'frontend ALLOW becomes DENY', file: 'security/authorization-policies.yaml', find: 'action: allow', replace: 'action: DENY', scoped: true },
    { name: 'a line added in the first policy: the ones below move', file: 'security/authorization-policies.yaml', find: '  rules:\n', replace: '  # reviewed\n  rules:\n', scoped: true, moves: true },
    { name: 'allow-nothing removed (namespace-wide)', file: 'security/authorization-policies.yaml', find: 'spec: {}', replace: 'spec: {selector: {matchLabels: {app: none}}}', scoped: false },
    { name: 'mTLS mode changed', file: 'security/peer-authentication.yaml', find: 'STRICT', replace: 'PERMISSIVE', scoped: false },
  ],
  linkerd: [
    { name: 'web-clients authentication: another identity', file: 'policy/authentications.yaml', find: 'name: web-clients', replace: 'name: web-clients-renamed', scoped: false },
    { name: 'an AuthorizationPolicy targets another route', file: 'policy/authorization-policies.yaml', find: 'name: web-app\n', replace: 'name: web-app-2\n', scoped: false },
    // A route, and a policy on a Server, decide only at the pods that Server selects (app: web-svc, app: voting-svc).
    { name: 'a web route no longer takes /api', file: 'policy/web-routes.yaml', find: 'value: /api', replace: 'value: /apix', scoped: true },
    { name: 'voting policy: another service account', file: 'policy/authorization-policies.yaml', find: 'kind: ServiceAccount\n      name: web\n', replace: 'kind: ServiceAccount\n      name: emoji\n', scoped: true },
    // The first route changes (decided again at web's pods); the probe route below it only moves, with its rules and matches.
    { name: 'a line added in the first route: the probe route below moves', file: 'policy/web-routes.yaml', find: '  rules:\n', replace: '  # reviewed\n  rules:\n', scoped: true, moves: true, sameShapesAs: 'a web route no longer takes /api' },
    // The scrape policy below decides calls at every pod's metrics port: none but those at the voting pod is decided again.
    { name: 'a line added in the voting policy: the scrape policy below moves', file: 'policy/authorization-policies.yaml', find: '  name: voting-grpc-web\n', replace: '  # reviewed\n  name: voting-grpc-web\n', scoped: true, moves: true, sameShapesAs: 'voting policy: another service account' },
  ],
  consul: [
    { name: 'api intentions: dashboard denied', file: 'config/api.hcl', find: 'Action = "allow"', replace: 'Action = "deny"', scoped: true },
    { name: 'api intentions: admin path opened', file: 'config/api.hcl', find: '"/v1/admin"', replace: '"/v1/adm1n"', scoped: true },
    { name: 'a line added in the counting CRD: the api CRD below moves', file: 'crds/service-intentions.yaml', find: 'spec:\n  destination:\n    name: counting\n', replace: 'spec:\n  # reviewed\n  destination:\n    name: counting\n', scoped: true, moves: true },
    { name: 'counting intentions: first action flipped', file: 'crds/service-intentions.yaml', find: 'action: deny', replace: 'action: allow', scoped: false },
  ],
};

/** Small seeded edits: each replaces one occurrence of a token in one policy file. */
const MUTATIONS: [RegExp, string][] = [
  [/\bALLOW\b/g, 'DENY'], [/\bDENY\b/g, 'ALLOW'], [/\ballow\b/g, 'deny'], [/\bdeny\b/g, 'allow'],
  [/"GET"/g, '"POST"'], [/\bSTRICT\b/g, 'DISABLE'], [/\bPERMISSIVE\b/g, 'STRICT'], [/\/v1\//g, '/v2/'],
  [/app: (\w+)/g, 'app: $1x'], [/sa\/(\w+)/g, 'sa/$1y'], [/PathPrefix/g, 'Exact'], [/\bname: (\w+)/g, 'name: $1z'],
  [/namespace: (\w+)/g, 'namespace: $1-moved'],
];

for (const mesh of ['istio', 'linkerd', 'consul'] as Mesh[]) {
  describe(`incremental simulation: ${mesh} example`, () => {
    let example: Example;
    before(async () => { example = await loadExample(mesh); });

    it('a table of edits: incremental equals full, scoped edits re-decide fewer shapes', () => {
      const simulation = new Simulation(example.workspace);
      let result = simulateShapes(simulation, example.shapes);
      let changedSomething = false;
      const redecidedBy = new Map<string, number[]>();
      for (const e of EDITS[mesh]) {
        const path = join(EXAMPLES, mesh, e.file);
        const text = example.texts.get(path)!;
        assert.ok(text.includes(e.find), `${e.name}: ${e.file} contains ${JSON.stringify(e.find)}`);
        edit(example, path, text.replace(e.find, e.replace));
        const update = simulation.update(example.workspace, [path]);
        assert.deepEqual(update.recompiled, [mesh], `${e.name}: only ${mesh} recompiled`);
        const redecided = example.shapes.filter((s) => update.affects(s.record)).length;
        const before = snapshotOf(result, !e.moves);
        const next = resimulate(result, simulation, update.affects);
        const full = simulateShapes(new Simulation(example.workspace), example.shapes);
        assertSame(next, full, e.name);
        // The previous result is left as it was (its tallies are shared, never changed in place;
        // the places of moved policies are the compiled forms' own, which moved) ...
        assert.deepEqual(snapshotOf(result, !e.moves), before, `${e.name}: the previous result is unchanged`);
        assert.equal(update.moved.length > 0, e.moves ?? false, `${e.name}: moved resources`);
        // ... and the re-decided outcomes are named, with what they replaced.
        const changedObjects = next.outcomes.flatMap((o, i) => (o !== result.outcomes[i] ? [i] : []));
        assert.deepEqual(next.redecided, changedObjects, `${e.name}: redecided names the outcomes decided again`);
        assert.equal(next.redecided.length, redecided);
        redecidedBy.set(e.name, next.redecided);
        if (e.sameShapesAs) assert.deepEqual(next.redecided, redecidedBy.get(e.sameShapesAs), `${e.name}: the shapes ${e.sameShapesAs} decided again`);
        assert.deepEqual(next.replaced, next.redecided.map((i) => result.outcomes[i]), `${e.name}: replaced`);
        if (e.scoped) assert.ok(redecided < example.shapes.length, `${e.name}: ${redecided} of ${example.shapes.length} shapes re-decided`);
        assert.ok(redecided > 0, `${e.name}: some shapes re-decided`);
        changedSomething ||= next.outcomes.some((o, i) => o.decision.verdict !== result.outcomes[i]!.decision.verdict);
        result = next;
      }
      assert.ok(changedSomething, 'the edits change some verdicts');
    });

    it('seeded random edits, chained: incremental equals full after each', () => {
      const random = rng(mesh.length * 7919);
      const destinations = new DestinationGroups(example.shapes);
      const simulation = new Simulation(example.workspace);
      let result = simulateShapes(simulation, example.shapes);
      const files = [...example.texts.keys()].filter((p) => example.workspace.resources.some((r) => r.file.path === p && r.resource.mesh === mesh));
      let applied = 0;
      for (let step = 0; step < 100 && applied < 15; step++) {
        const path = files[Math.floor(random() * files.length)]!;
        const [pattern, replacement] = MUTATIONS[Math.floor(random() * MUTATIONS.length)]!;
        const text = example.texts.get(path)!;
        const hits = [...text.matchAll(pattern)];
        if (hits.length === 0) continue;
        const hit = hits[Math.floor(random() * hits.length)]!;
        const replaced = hit[0].replace(new RegExp(pattern.source), replacement);
        edit(example, path, text.slice(0, hit.index) + replaced + text.slice(hit.index! + hit[0].length));
        applied++;
        const update = simulation.update(example.workspace, [path]);
        // With destination groups and in place, as the editor's loop does it, every other step.
        result = applied % 2 === 0 ? resimulate(result, simulation, update.affects, destinations, true) : resimulate(result, simulation, update.affects);
        assertSame(result, simulateShapes(new Simulation(example.workspace), example.shapes), `step ${step}: ${path} ${pattern} → ${replacement}`);
      }
      assert.ok(applied >= 10, `${applied} edits applied`);
    });

    it('removing and restoring a policy file: incremental equals full', () => {
      const simulation = new Simulation(example.workspace);
      let result = simulateShapes(simulation, example.shapes);
      const path = [...example.texts.keys()].find((p) => example.workspace.resources.some((r) => r.file.path === p && r.resource.mesh === mesh))!;
      const text = example.texts.get(path)!;
      example.workspace.remove(path);
      let update = simulation.update(example.workspace, [path]);
      result = resimulate(result, simulation, update.affects);
      assertSame(result, simulateShapes(new Simulation(example.workspace), example.shapes), `without ${path}`);
      edit(example, path, text);
      update = simulation.update(example.workspace, [path]);
      result = resimulate(result, simulation, update.affects);
      assertSame(result, simulateShapes(new Simulation(example.workspace), example.shapes), `with ${path} again`);
    });

    it('destination groups: every shape in exactly one group, and a group\'s shapes agree on what affects reads', () => {
      const groups = new DestinationGroups(example.shapes).groups;
      const indexes = groups.flatMap((g) => g.indexes).sort((a, b) => a - b);
      assert.deepEqual(indexes, [...example.shapes.keys()]);
      const read = (i: number) => {
        const { mesh, destination } = example.shapes[i]!.record;
        return [mesh, destination === undefined, destination?.namespace, destination?.service, destination?.labels ?? null];
      };
      for (const group of groups) for (const i of group.indexes) assert.deepEqual(read(i), read(group.indexes[0]!));
      assert.ok(groups.length < example.shapes.length, `${groups.length} groups for ${example.shapes.length} shapes`);
    });

    it('the reach of each policy resource (the edit rehearsal picks by it) is what renaming it re-decides, or a part of it', () => {
      const reach = new DestinationGroups(example.shapes).reachEstimator(example.workspace);
      const simulation = new Simulation(example.workspace);
      let result = simulateShapes(simulation, example.shapes);
      let weighed = 0;
      const narrower: string[] = [];
      for (const { file, resource } of [...example.workspace.resources].filter((entry) => entry.resource.mesh === mesh)) {
        const text = example.texts.get(file.path);
        const written = `name: ${resource.name}\n`;
        const at = text?.indexOf(written, resource.node.span.start) ?? -1;
        if (!text || !resource.name || at < 0 || at > resource.node.span.end) continue;
        const estimate = reach(resource);
        const cut = at + written.length - 1;
        edit(example, file.path, text.slice(0, cut) + 'r' + text.slice(cut));
        const renamed = resimulate(result, simulation, simulation.update(example.workspace, [file.path]).affects);
        edit(example, file.path, text);
        result = resimulate(renamed, simulation, simulation.update(example.workspace, [file.path]).affects);
        // Renaming can widen what the resource reaches (a Linkerd Server its policies name no more), never narrow it.
        assert.ok(estimate <= renamed.redecided.length, `${resource.kind} ${resource.name}: reach ${estimate}, re-decided ${renamed.redecided.length}`);
        if (mesh === 'istio') assert.equal(estimate, renamed.redecided.length, `${resource.kind} ${resource.name}: an Istio name attaches nothing`);
        if (estimate > 0 && estimate < example.shapes.length) narrower.push(resource.name);
        weighed++;
      }
      assert.ok(weighed >= 3, `${weighed} resources renamed`);
      assert.ok(narrower.length > 0, 'some resource reaches some calls, not all');
    });

    it('a manifest edit (inventory) re-decides everything', () => {
      const simulation = new Simulation(example.workspace);
      const path = join(EXAMPLES, mesh, 'app', 'inventory-extra.yaml');
      edit(example, path, 'apiVersion: v1\nkind: Namespace\nmetadata:\n  name: extra\n');
      const update = simulation.update(example.workspace, [path]);
      assert.equal(update.all, true);
      assert.ok(example.shapes.every((s) => update.affects(s.record)));
      example.workspace.remove(path);
    });
  });
}

describe('attachment scopes', () => {
  const call = (namespace?: string, labels?: Record<string, string>, service?: string) => ({ destination: { ...(namespace ? { namespace } : {}), ...(labels ? { labels } : {}), ...(service ? { service } : {}) } });
  const cases: [string, Parameters<typeof inScope>[0], ReturnType<typeof call>, boolean][] = [
    ['namespace: same', { kind: 'namespace', namespace: 'a' }, call('a'), true],
    ['namespace: other', { kind: 'namespace', namespace: 'a' }, call('b'), false],
    ['namespace: not recorded', { kind: 'namespace', namespace: 'a' }, call(), true],
    ['selector: labels match', { kind: 'namespace', namespace: 'a', selector: [['app', 'x']] }, call('a', { app: 'x', v: '1' }), true],
    ['selector: labels differ', { kind: 'namespace', namespace: 'a', selector: [['app', 'x']] }, call('a', { app: 'y' }), false],
    ['selector: labels not recorded (the inventory may have them)', { kind: 'namespace', namespace: 'a', selector: [['app', 'x']] }, call('a'), true],
    ['service: same name', { kind: 'service', name: 'api' }, call('x', undefined, 'api'), true],
    ['service: other name', { kind: 'service', name: 'api' }, call('x', undefined, 'web'), false],
    ['service: not recorded', { kind: 'service', name: 'api' }, call('x'), true],
    ['all', { kind: 'all' }, call('b'), true],
  ];
  for (const [name, scope, record, expected] of cases) it(name, () => assert.equal(inScope(scope, record), expected));
});

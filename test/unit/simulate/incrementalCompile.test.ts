import assert from 'node:assert/strict';
import { join } from 'node:path';
import { before, describe, it } from 'node:test';
import { Engine } from '../../../server/src/engine/engine';
import { Simulation, type SimulationUpdate } from '../../../server/src/engine/simulate';
import { CompiledForms } from '../../../server/src/engine/simulate/compiledForms';
import { istioSimulator } from '../../../server/src/engine/simulate/istio';
import { loadExampleTraffic, type ExampleTraffic } from '../../helpers/exampleTraffic';
import { EXAMPLES } from '../../helpers/paths';
import { shapeKey } from '../../../server/src/engine/traffic/ingest/shapes';

// Incremental compile (issue 5, edit latency): after an edit, Simulation.update compiles again
// only the Istio resources whose text or place (file, line, character) changed and takes over
// the compiled forms of the others. What it decides and explains must equal a new Simulation's,
// and the counts say how many resources were compiled.

const engine = new Engine();
const DIR = join(EXAMPLES, 'istio');
const POLICIES = join(DIR, 'security', 'authorization-policies.yaml');

interface CompileEdit {
  name: string;
  /** The file edited and its new text, from the current texts. */
  apply(texts: Map<string, string>): [string, string];
  /** Istio resources compiled again: a number, or a function of the workspace before the edit. */
  compiled: number | ((example: ExampleTraffic) => number);
}

/** Resources in the order the workspace lists them: the first file holding Istio resources. */
const firstPolicyFile = (example: ExampleTraffic): string => example.workspace.resources.find((r) => r.resource.mesh === 'istio')!.file.path;

const EDITS: CompileEdit[] = [
  {
    name: 'one rule edited (its policy only)',
    apply: (texts) => [POLICIES, texts.get(POLICIES)!.replace('methods: ["GET", "PUT", "DELETE"]', 'methods: ["PUT", "DELETE"]')],
    compiled: 1,
  },
  {
    name: 'characters added on a line: later policies keep their lines and columns',
    apply: (texts) => [POLICIES, texts.get(POLICIES)!.replace('methods: ["PUT", "DELETE"]', 'methods: ["PUT",    "DELETE"]')],
    compiled: 1,
  },
  {
    // (the first policy's text starts with the file's leading comments: it changed)
    name: 'a line inserted at the top: the first policy compiles again, the others move down with their forms',
    apply: (texts) => [POLICIES, `# reviewed\n${texts.get(POLICIES)!}`],
    compiled: 1,
  },
  {
    name: 'the line removed again: the others move up with their forms',
    apply: (texts) => [POLICIES, texts.get(POLICIES)!.replace(/^# reviewed\n/, '')],
    compiled: 1,
  },
  {
    name: 'a policy appended to the first file: every later resource changes order, not text or place',
    apply: (texts) => {
      return [FIRST.path, `${texts.get(FIRST.path)!.trimEnd()}\n---\napiVersion: security.istio.io/v1\nkind: AuthorizationPolicy\nmetadata:\n  name: appended\n  namespace: shop\nspec:\n  selector:\n    matchLabels:\n      app: cart\n  action: DENY\n  rules:\n    - to:\n        - operation:\n            methods: ["PATCH"]\n`];
    },
    compiled: 1,
  },
  {
    name: 'a policy renamed (its name is in every decision it makes)',
    apply: (texts) => [POLICIES, texts.get(POLICIES)!.replace(/name: (cart\S*)\n/, 'name: $1-renamed\n')],
    compiled: 1,
  },
];

/** Applies `edits` one after the other: each compiles again the resources it says, takes over the
 * others (`compilable`: how many the mesh compiles in the workspace), and decides and explains
 * every example call as a new simulation does. */
function replayEdits(example: ExampleTraffic, mesh: 'istio' | 'linkerd' | 'consul', edits: CompileEdit[], compilable: (example: ExampleTraffic) => number): void {
  const simulation = new Simulation(example.workspace);
  assert.deepEqual(simulation.compileCounts(mesh), { compiled: compilable(example), reused: 0 });
  for (const e of edits) {
    const expected = typeof e.compiled === 'number' ? e.compiled : e.compiled(example);
    const [path, text] = e.apply(example.texts);
    assert.notEqual(text, example.texts.get(path), `${e.name}: the edit changes the text`);
    example.texts.set(path, text);
    example.workspace.update(engine.prepare(engine.read(path, text)));
    simulation.update(example.workspace, [path]);
    assert.deepEqual(simulation.compileCounts(mesh), { compiled: expected, reused: compilable(example) - expected }, e.name);
    const fresh = new Simulation(example.workspace);
    for (const shape of example.shapes) {
      assert.deepEqual(simulation.decide(shape.record), fresh.decide(shape.record), `${e.name}: decide ${shapeKey(shape.record)}`);
      assert.deepEqual(simulation.decide(shape.record, true), fresh.decide(shape.record, true), `${e.name}: explain ${shapeKey(shape.record)}`);
    }
  }
}

/** Set once the example is loaded: the file whose resources come first. */
const FIRST = { path: '' };

describe('incremental compile: istio example', () => {
  let example: ExampleTraffic;
  before(async () => {
    example = await loadExampleTraffic(engine, 'istio');
    FIRST.path = firstPolicyFile(example);
  });

  it('a table of edits: only changed resources compile again, and every decision and explanation equals a new simulation', () => {
    replayEdits(example, 'istio', EDITS, (e) => e.workspace.resources.filter((r) => r.resource.mesh === 'istio').length);
  });

  it('forms compiled under another trust domain are not taken over', () => {
    const forms = new CompiledForms();
    const config = example.workspace.config;
    const set = { resources: example.workspace.resources.filter((r) => r.resource.mesh === 'istio'), inventory: example.workspace.inventory, forms };
    istioSimulator.compile({ ...set, config });
    forms.settle();
    istioSimulator.compile({ ...set, config });
    forms.settle();
    assert.deepEqual(forms.last, { compiled: 0, reused: set.resources.length, moved: [] });
    const other = { ...config, istio: { ...config.istio, trustDomain: 'other.example' } };
    const compiled = istioSimulator.compile({ ...set, config: other });
    forms.settle();
    assert.deepEqual(forms.last, { compiled: set.resources.length, reused: 0, moved: [] });
    const fresh = istioSimulator.compile({ resources: set.resources, inventory: set.inventory, config: other });
    for (const shape of example.shapes) assert.deepEqual(compiled.explain(shape.record), fresh.explain(shape.record), shapeKey(shape.record));
  });
});

// Consul: an intentions resource whose text and place are unchanged keeps its entry and its
// compiled sources (and so their compiled regexes); one whose text only moved takes them over,
// its refs moved, unless decisions cite its line.
const CONSUL_INTENTIONS = join(EXAMPLES, 'consul', 'crds', 'service-intentions.yaml');
const CONSUL_DASHBOARD = join(EXAMPLES, 'consul', 'config', 'dashboard.json');
const CONSUL_API = join(EXAMPLES, 'consul', 'config', 'api.hcl');
const CONSUL_EDITS: CompileEdit[] = [
  {
    name: 'one permission edited (its resource only)',
    apply: (texts) => [CONSUL_INTENTIONS, texts.get(CONSUL_INTENTIONS)!.replace('methods: ["GET", "HEAD"]', 'methods: ["GET"]')],
    compiled: 1,
  },
  {
    // (the first resource's text starts with the file's leading comments: it changed)
    name: 'a line inserted at the top: the first resource compiles again, the others move down with their entries',
    apply: (texts) => [CONSUL_INTENTIONS, `# reviewed\n${texts.get(CONSUL_INTENTIONS)!}`],
    compiled: 1,
  },
  {
    name: 'the line removed again: the others move up with their entries',
    apply: (texts) => [CONSUL_INTENTIONS, texts.get(CONSUL_INTENTIONS)!.replace(/^# reviewed\n/, '')],
    compiled: 1,
  },
  {
    name: 'a blank line above a JSON config entry: it moves down with its entry',
    apply: (texts) => [CONSUL_DASHBOARD, `\n${texts.get(CONSUL_DASHBOARD)!}`],
    compiled: 0,
  },
  {
    // (its mistake 9 repaired, GET only: it differs from the CRD for api, so each is an alternative naming its line)
    name: 'api.hcl repaired: api is defined twice, differently',
    apply: (texts) => [CONSUL_API, texts.get(CONSUL_API)!.replace('  Action = "allow"\n\n  Permissions', '  Permissions').replace('Methods    = ["GET", "HEAD"]', 'Methods    = ["GET", "PUT"]')],
    compiled: 1,
  },
  {
    // (the alternatives for api name its entries with their lines: "with ServiceIntentions counting-demo/api from …:34")
    name: 'a line inserted at the top again: the CRD for api, which alternatives cite by line, is read again',
    apply: (texts) => [CONSUL_INTENTIONS, `# reviewed\n${texts.get(CONSUL_INTENTIONS)!}`],
    compiled: 2,
  },
  {
    name: 'a source renamed',
    apply: (texts) => [CONSUL_INTENTIONS, texts.get(CONSUL_INTENTIONS)!.replace('- name: ops-console', '- name: ops-console-2')],
    compiled: 1,
  },
];

const consulIntentions = (example: ExampleTraffic): number =>
  example.workspace.resources.filter((r) => r.resource.mesh === 'consul' && (r.resource.kind === 'ServiceIntentions' || r.resource.kind === 'service-intentions')).length;

describe('incremental compile: consul example', () => {
  it('a table of edits: only changed intentions are read again, and every decision and explanation equals a new simulation', async () => {
    replayEdits(await loadExampleTraffic(engine, 'consul'), 'consul', CONSUL_EDITS, consulIntentions);
  });

  it('moved entries decide as before, unless an alternative cites their line', async () => {
    const example = await loadExampleTraffic(engine, 'consul');
    const simulation = new Simulation(example.workspace);
    const edit = (path: string, text: string): SimulationUpdate => {
      example.texts.set(path, text);
      example.workspace.update(engine.prepare(engine.read(path, text)));
      return simulation.update(example.workspace, [path]);
    };
    const crdsAt = (line: number) => ({ file: CONSUL_INTENTIONS, from: line, lines: 1 });
    const movedOf = (update: SimulationUpdate) => update.moved.map(({ file, from, lines }) => ({ file, from, lines }));
    const crds = example.texts.get(CONSUL_INTENTIONS)!;
    // the CRDs for counting (line 17) and api (line 33) move; deny-all, whose text starts at the top, changed
    assert.deepEqual(movedOf(edit(CONSUL_INTENTIONS, `# reviewed\n${crds}`)), [crdsAt(17), crdsAt(33)]);
    assert.deepEqual(movedOf(edit(CONSUL_DASHBOARD, `\n${example.texts.get(CONSUL_DASHBOARD)!}`)), [{ file: CONSUL_DASHBOARD, from: 0, lines: 1 }]);
    edit(CONSUL_API, example.texts.get(CONSUL_API)!.replace('  Action = "allow"\n\n  Permissions', '  Permissions').replace('Methods    = ["GET", "HEAD"]', 'Methods    = ["GET", "PUT"]'));
    const update = edit(CONSUL_INTENTIONS, `# again\n${example.texts.get(CONSUL_INTENTIONS)!}`);
    // api's two definitions are alternatives, "with ServiceIntentions counting-demo/api from …:34": its CRD is decided again
    assert.deepEqual(movedOf(update), [crdsAt(18)]);
    // a write the two definitions decide differently: each alternative's verdict names its entries
    const recorded = example.shapes.find((s) => s.record.destination?.service === 'api' && s.record.source?.service === 'dashboard')!.record;
    const api = { ...recorded, protocol: 'http' as const, request: { method: 'PUT', path: '/v1/votes' } };
    assert.ok(update.affects(api), 'calls to api are decided again');
    const decision = simulation.decide(api, true);
    assert.ok(decision.trace.some((step) => step.text.includes(`service-intentions.yaml:${33 + 2 + 1}`)), decision.trace.map((step) => step.text).join('\n'));
  });
});

// Linkerd: a resource whose text and place are unchanged keeps its definition, and one that only
// moved to another line keeps it too, its refs (resource, route rules and matches, authentication
// refs) moved. (The first resource of each file starts with the file's leading comments: a line
// inserted at the top changes it.)
const LINKERD_ROUTES = join(EXAMPLES, 'linkerd', 'policy', 'web-routes.yaml');
const LINKERD_POLICIES = join(EXAMPLES, 'linkerd', 'policy', 'authorization-policies.yaml');
const LINKERD_EDITS: CompileEdit[] = [
  {
    name: 'one route path edited (its route only)',
    apply: (texts) => [LINKERD_ROUTES, texts.get(LINKERD_ROUTES)!.replace('value: /api', 'value: /apis')],
    compiled: 1,
  },
  {
    name: 'a line inserted at the top of the policies: the first policy is read again, the others move down with their definitions',
    apply: (texts) => [LINKERD_POLICIES, `# reviewed\n${texts.get(LINKERD_POLICIES)!}`],
    compiled: 1,
  },
  {
    name: 'the line removed again: the others move up with their definitions',
    apply: (texts) => [LINKERD_POLICIES, texts.get(LINKERD_POLICIES)!.replace(/^# reviewed\n/, '')],
    compiled: 1,
  },
  {
    name: 'a line inserted in the first route: the probe route below moves down with its rules and matches',
    apply: (texts) => [LINKERD_ROUTES, texts.get(LINKERD_ROUTES)!.replace('  rules:\n', '  # reviewed\n  rules:\n')],
    compiled: 1,
  },
  {
    name: 'the route path back (the probe route stays where it moved)',
    apply: (texts) => [LINKERD_ROUTES, texts.get(LINKERD_ROUTES)!.replace('value: /apis', 'value: /api')],
    compiled: 1,
  },
  {
    name: 'the line in the first route removed: the probe route moves up',
    apply: (texts) => [LINKERD_ROUTES, texts.get(LINKERD_ROUTES)!.replace('  # reviewed\n', '')],
    compiled: 1,
  },
];

describe('incremental compile: linkerd example', () => {
  it('a table of edits: only changed resources are read again, and every decision and explanation equals a new simulation', async () => {
    replayEdits(await loadExampleTraffic(engine, 'linkerd'), 'linkerd', LINKERD_EDITS, (e) => e.workspace.resources.filter((r) => r.resource.mesh === 'linkerd').length);
  });
});

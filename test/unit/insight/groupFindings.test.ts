import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { defaultConfig } from '../../../server/src/engine/config/projectConfig';
import { Engine } from '../../../server/src/engine/engine';
import { TrafficInsight } from '../../../server/src/engine/insight/trafficInsight';
import { Simulation, simulateShapes } from '../../../server/src/engine/simulate';
import { headersTestedBy } from '../../../server/src/engine/simulate/testedHeaders';
import { ingestTraffic } from '../../../server/src/engine/traffic/ingest/ingest';
import { WorkspaceModel } from '../../../server/src/engine/workspace';

// The traffic findings grouped by deciding policy or rule (MPA4001, MPA4002, MPA4005) name it the
// way the rest of the family does (MPA4003, docs/rules/MPA400x.md): the policy's label, then the
// rule's when a rule decided, e.g. "AuthorizationPolicy shop/cart-from-frontend rules[0]".

const engine = new Engine();
const dir = mkdtempSync(join(tmpdir(), 'mpa-group-findings-'));
after(() => rmSync(dir, { recursive: true, force: true }));

const FRONTEND = '"source":{"principal":"cluster.local/ns/shop/sa/frontend","namespace":"shop","serviceAccount":"frontend"}';
const CART = '"destination":{"namespace":"shop","workload":"cart","labels":{"app":"cart"},"port":8080}';
const record = (method: string, observed: 'allowed' | 'denied', count: number, extra = '') =>
  `{"time":"2026-11-20T10:00:00Z","mesh":"istio","protocol":"http",${FRONTEND},${CART},"request":{"method":"${method}","path":"/v1/carts/c1"${extra}},"observed":"${observed}","count":${count}}`;

/** A call the logs show denied, naming the denier as Istio's proxies do (response.deniedBy). */
const deniedBy = (method: string, count: number, denier: string) => record(method, 'denied', count).replace('"observed"', `"response":{"status":403,"deniedBy":"${denier}"},"observed"`);

const policy = (name: string, body: string) => `apiVersion: security.istio.io/v1\nkind: AuthorizationPolicy\nmetadata:\n  name: ${name}\n  namespace: shop\nspec:\n  selector:\n    matchLabels:\n      app: cart\n${body}`;

// [case, policy file text, records, code, the message's start]
const CASES: [string, string, string[], string, string][] = [
  [
    'MPA4002, an ALLOW rule decided: policy and rule (docs/rules/MPA4002.md)',
    policy('cart-from-frontend', '  rules:\n  - from:\n    - source:\n        principals: ["cluster.local/ns/shop/sa/frontend"]\n'),
    [record('GET', 'allowed', 310), record('DELETE', 'denied', 4)],
    'MPA4002',
    'AuthorizationPolicy shop/cart-from-frontend rules[0] would allow 4 observed calls that were denied: ',
  ],
  [
    'MPA4001, a DENY rule decided: policy and rule',
    policy('cart-no-get', '  action: DENY\n  rules:\n  - to:\n    - operation:\n        methods: ["GET"]\n'),
    [record('GET', 'allowed', 7)],
    'MPA4001',
    'AuthorizationPolicy shop/cart-no-get rules[0] would deny 7 observed calls that succeeded: ',
  ],
  [
    'MPA4001, no rule matched an ALLOW policy: the policy alone (docs/rules/MPA4001.md)',
    policy('cart-readers', '  rules:\n  - to:\n    - operation:\n        methods: ["GET"]\n'),
    [record('DELETE', 'allowed', 3)],
    'MPA4001',
    'AuthorizationPolicy shop/cart-readers would deny 3 observed calls that succeeded: ',
  ],
  [
    'MPA4005, the policy cannot decide (the logs lack source.ip): the policy alone (docs/rules/MPA4005.md)',
    policy('cart-from-office', '  rules:\n  - from:\n    - source:\n        ipBlocks: ["203.0.113.0/24"]\n'),
    [record('POST', 'allowed', 42)],
    'MPA4005',
    'AuthorizationPolicy shop/cart-from-office cannot decide 42 observed calls: the logs do not record source.ip: ',
  ],
  [
    'MPA4007, a DENY rule decided and the log names another policy (docs/rules/MPA4007.md)',
    policy('cart-deny-writes', '  action: DENY\n  rules:\n  - to:\n    - operation:\n        ports: ["8080"]\n        methods: ["DELETE"]\n'),
    [deniedBy('DELETE', 4, 'shop/cart-no-delete'), deniedBy('DELETE', 2, 'shop/cart-deny-writes').replace('c1', 'c2')],
    'MPA4007',
    'AuthorizationPolicy shop/cart-deny-writes rules[0] denies 4 observed calls that the logs show denied by another policy (observed: denied by shop/cart-no-delete; simulated: denied by DENY policy shop/cart-deny-writes rules[0]): ',
  ],
  [
    'MPA4007, no rule of an ALLOW policy matched and the log names a DENY policy: the policy alone',
    policy('cart-readers', '  rules:\n  - to:\n    - operation:\n        methods: ["GET"]\n'),
    [deniedBy('DELETE', 3, 'shop/cart-no-delete'), deniedBy('PUT', 5, 'none')],
    'MPA4007',
    'AuthorizationPolicy shop/cart-readers denies 3 observed calls that the logs show denied by another policy (observed: denied by shop/cart-no-delete; simulated: denied: no ALLOW policy matches the call',
  ],
];

describe('traffic findings name the deciding policy and rule', () => {
  CASES.forEach(([name, text, records, code, start], i) => {
    it(name, async () => {
      const workspace = new WorkspaceModel(defaultConfig(dir));
      const path = join(dir, `policy-${i}.yaml`);
      workspace.update(engine.prepare(engine.read(path, text)));
      const logs = join(dir, `calls-${i}.jsonl`);
      writeFileSync(logs, `${records.join('\n')}\n`);
      const model = await ingestTraffic([logs], { inventory: workspace.inventory, config: workspace.config, keyHeaders: headersTestedBy(workspace), workers: 1 });
      const simulation = new Simulation(workspace);
      const insight = new TrafficInsight(workspace, simulation, simulateShapes(simulation, model.shapes));
      const found = insight.findings(path).filter((f) => f.code === code);
      assert.equal(found.length, 1, JSON.stringify(insight.findings(path).map((f) => `${f.code} ${f.message}`)));
      assert.ok(found[0]!.message.startsWith(start), found[0]!.message);
    });
  });
});

describe('MPA4003 (decides no observed call) and undecided calls', () => {
  it('is not given to a rule that decides calls in one of the alternatives of undecided ones', async () => {
    // examples/consul defines counting's intentions twice (config/counting.hcl and the CRD); with
    // the CRD's dashboard source a valid deny (the example's "Allow" makes Consul refuse the CRD),
    // the definitions differ: the dashboard → counting calls are unknown, each definition's
    // dashboard source deciding them
    const root = join(__dirname, '..', '..', '..', '..', 'examples', 'consul');
    const workspace = new WorkspaceModel(defaultConfig(root));
    const files = ['config/counting.hcl', 'crds/service-intentions.yaml'].map((f) => join(root, f));
    for (const file of files) {
      const text = readFileSync(file, 'utf8');
      assert.ok(!file.endsWith('.yaml') || text.includes('      action: Allow\n'));
      workspace.update(engine.prepare(engine.read(file, text.replace('      action: Allow\n', '      action: deny\n'))));
    }
    const model = await ingestTraffic([join(root, 'traffic')], { inventory: workspace.inventory, config: workspace.config, keyHeaders: headersTestedBy(workspace), workers: 1 });
    const simulation = new Simulation(workspace);
    const result = simulateShapes(simulation, model.shapes);
    const ambiguous = result.outcomes.filter((o) => o.decision.verdict === 'unknown' && o.decision.alternatives?.length);
    assert.ok(ambiguous.length > 0, 'the example has calls the two definitions decide differently');
    const insight = new TrafficInsight(workspace, simulation, result);
    const hints = files.flatMap((f) => insight.findings(f).filter((x) => x.code === 'MPA4003').map((x) => x.message));
    const decidedInAnAlternative = ['service-intentions counting Sources[0] dashboard', 'ServiceIntentions counting-demo/counting sources[0] dashboard'];
    for (const label of decidedInAnAlternative) assert.ok(!hints.some((m) => m.startsWith(`${label} `)), `${label}: ${hints.join('\n')}`);
    // the hint itself still works: ops-console never calls api
    assert.ok(hints.some((m) => m.startsWith('ServiceIntentions counting-demo/api sources[1] ops-console permissions[0] decides none')), hints.join('\n'));
  });
});

describe('MPA4003 on an entry Consul refuses to store', () => {
  it('is given once, on the entry, saying why it is not in effect, instead of once per source and permission', async () => {
    // examples/consul/config/api.hcl: the dashboard source sets both Action and Permissions
    // (examples/README.md mistake 9), so Consul refuses the entry (spec §3.7.1 V15)
    const root = join(__dirname, '..', '..', '..', '..', 'examples', 'consul');
    const workspace = new WorkspaceModel(defaultConfig(root));
    const files = ['config/api.hcl', 'config/deny-all.json'].map((f) => join(root, f));
    for (const file of files) workspace.update(engine.prepare(engine.readFile(file)));
    const model = await ingestTraffic([join(root, 'traffic')], { inventory: workspace.inventory, config: workspace.config, keyHeaders: headersTestedBy(workspace), workers: 1 });
    const simulation = new Simulation(workspace);
    const result = simulateShapes(simulation, model.shapes);
    const insight = new TrafficInsight(workspace, simulation, result);
    const hints = insight.findings(files[0]!).filter((x) => x.code === 'MPA4003');
    assert.deepEqual(hints.map((h) => h.message), [`service-intentions api decides none of the ${result.totals.calls.toLocaleString('en-US')} observed calls: it is not in effect, Consul refuses to store it (Sources[0] dashboard sets both Action and Permissions (a source is either L4 or L7))`]);
    assert.equal(hints[0]!.range.start.line, 0, 'on the entry, whose first line is the file\'s');
    // the wildcard deny decides the calls to api instead
    const toApi = result.outcomes.filter((o) => o.shape.record.destination?.service === 'api');
    assert.ok(toApi.length > 0 && toApi.every((o) => o.decision.policy?.file === files[1]), 'deny-all.json decides every call to api');
  });
});

describe('MPA4003 on an Istio resource Istio refuses to store', () => {
  it('is given once, on the policy, saying why it is not in effect, instead of once per rule; the rest decide its calls', async () => {
    // spec §1.9.2 O3: istiod's webhook refuses a port range, so the whole ALLOW policy is not
    // stored; without it no ALLOW policy applies to cart, so both calls are allowed (§1.3).
    const refused = policy('cart-ports', '  action: ALLOW\n  rules:\n  - to:\n    - operation:\n        ports: ["8000-9000"]\n  - to:\n    - operation:\n        methods: ["GET"]\n');
    const policyFile = join(dir, 'refused.yaml');
    const trafficFile = join(dir, 'refused.jsonl');
    writeFileSync(policyFile, refused);
    writeFileSync(trafficFile, [record('GET', 'allowed', 3), record('DELETE', 'allowed', 2)].join('\n') + '\n');
    const workspace = new WorkspaceModel(defaultConfig(dir));
    workspace.update(engine.prepare(engine.readFile(policyFile)));
    const model = await ingestTraffic([trafficFile], { inventory: workspace.inventory, config: workspace.config, keyHeaders: headersTestedBy(workspace), workers: 1 });
    const simulation = new Simulation(workspace);
    const result = simulateShapes(simulation, model.shapes);
    assert.deepEqual(result.outcomes.map((o) => [o.decision.verdict, o.decision.policy]), [['allow', undefined], ['allow', undefined]]);
    const hints = new TrafficInsight(workspace, simulation, result).findings(policyFile).filter((x) => x.code === 'MPA4003');
    assert.deepEqual(hints.map((h) => h.message), ['AuthorizationPolicy shop/cart-ports decides none of the 5 observed calls: it is not in effect, Istio refuses to store it (ports: bad port (8000-9000): strconv.ParseUint: parsing "8000-9000": invalid syntax; port ranges are not supported, list each port)']);
    assert.equal(hints[0]!.range.start.line, 0, 'on the policy\'s first line, where its lens is');
  });
});

describe('MPA4003 on a Linkerd resource Linkerd refuses to store', () => {
  it('is given once, on the resource, saying why it is not in effect', async () => {
    // examples/linkerd: mistake 5 (examples/README.md), Server voting-grpc with proxyProtocol
    // HTTP/3, outside the CRD's enum (spec §2.7.2): the Server never exists
    const root = join(__dirname, '..', '..', '..', '..', 'examples', 'linkerd');
    const workspace = new WorkspaceModel(defaultConfig(root));
    const files = ['policy/servers.yaml', 'policy/authorization-policies.yaml', 'policy/authentications.yaml', 'policy/web-routes.yaml', 'app/emojivoto.yaml'].map((f) => join(root, f));
    for (const file of files) workspace.update(engine.prepare(engine.readFile(file)));
    const model = await ingestTraffic([join(root, 'traffic')], { inventory: workspace.inventory, config: workspace.config, keyHeaders: headersTestedBy(workspace), workers: 1 });
    const simulation = new Simulation(workspace);
    const insight = new TrafficInsight(workspace, simulation, simulateShapes(simulation, model.shapes));
    const refused = insight.findings(files[0]!).filter((x) => x.code === 'MPA4003' && x.message.includes('voting-grpc'));
    assert.deepEqual(refused.map((h) => [h.range.start.line + 1, h.message.replace(/^.* decides none of the [\d,]+ observed calls: /, '')]), [
      [27, 'it is not in effect, Linkerd refuses to store it (proxyProtocol "HTTP/3" is not one of unknown, HTTP/1, HTTP/2, gRPC, opaque, TLS)'],
    ]);
  });
});

describe('the denier a log names, in the hover and the walkthrough', () => {
  it('lists the calls the logs attribute otherwise, and the walkthrough says the log disagrees', async () => {
    const workspace = new WorkspaceModel(defaultConfig(dir));
    const path = join(dir, 'policy-attributed.yaml');
    const text = policy('cart-deny-writes', '  action: DENY\n  rules:\n  - to:\n    - operation:\n        ports: ["8080"]\n        methods: ["DELETE"]\n');
    workspace.update(engine.prepare(engine.read(path, text)));
    const logs = join(dir, 'calls-attributed.jsonl');
    writeFileSync(logs, `${deniedBy('DELETE', 4, 'shop/cart-no-delete')}\n`);
    const model = await ingestTraffic([logs], { inventory: workspace.inventory, config: workspace.config, keyHeaders: headersTestedBy(workspace), workers: 1 });
    const simulation = new Simulation(workspace);
    const insight = new TrafficInsight(workspace, simulation, simulateShapes(simulation, model.shapes));
    const hover = insight.hover(path, text.indexOf('cart-deny-writes')) ?? '';
    assert.match(hover, /\*\*Attributed otherwise in the logs\*\*[^\n]*\n\n- 4× `[^`]*DELETE \/v1\/carts\/c1`: observed: denied by shop\/cart-no-delete; simulated: denied by DENY policy shop\/cart-deny-writes rules\[0\]/);
    const key = insight.calls()[0]!.key;
    assert.match(insight.explain(key) ?? '', /\*\*The log disagrees:\*\* observed: denied by shop\/cart-no-delete; simulated: /);
  });
});

describe('the observed calls offered by Explain Call...', () => {
  // the verdict, then the change against the logs in words when there is one, then what was observed
  it('says a change in words, and an undecidable call once', async () => {
    const workspace = new WorkspaceModel(defaultConfig(dir));
    const path = join(dir, 'policy-picker.yaml');
    workspace.update(engine.prepare(engine.read(path, policy('cart-deny-deletes', '  action: DENY\n  rules:\n  - to:\n    - operation:\n        methods: ["DELETE"]\n'))));
    const logs = join(dir, 'calls-picker.jsonl');
    writeFileSync(logs, `${record('DELETE', 'allowed', 3)}\n${record('GET', 'allowed', 2)}\n`);
    const model = await ingestTraffic([logs], { inventory: workspace.inventory, config: workspace.config, keyHeaders: headersTestedBy(workspace), workers: 1 });
    const simulation = new Simulation(workspace);
    const details = new TrafficInsight(workspace, simulation, simulateShapes(simulation, model.shapes)).calls().map((c) => c.detail);
    assert.match(details[0]!, /^deny \(newly denied\) · observed allowed · /);
    assert.match(details[1]!, /^allow · observed allowed · /);

    const root = join(__dirname, '..', '..', '..', '..', 'examples', 'consul');
    const consul = new WorkspaceModel(defaultConfig(root));
    // the CRD's dashboard source as a valid deny (the example's "Allow" makes Consul refuse the CRD): the two definitions differ
    for (const file of ['config/counting.hcl', 'crds/service-intentions.yaml']) consul.update(engine.prepare(engine.read(join(root, file), readFileSync(join(root, file), 'utf8').replace('      action: Allow\n', '      action: deny\n'))));
    const traffic = await ingestTraffic([join(root, 'traffic')], { inventory: consul.inventory, config: consul.config, keyHeaders: headersTestedBy(consul), workers: 1 });
    const consulSimulation = new Simulation(consul);
    const undecided = new TrafficInsight(consul, consulSimulation, simulateShapes(consulSimulation, traffic.shapes)).calls().map((c) => c.detail).filter((d) => d.startsWith('unknown'));
    assert.ok(undecided.length > 0, 'the two definitions of counting leave calls undecided');
    for (const detail of undecided) assert.match(detail, /^unknown · observed (allowed|denied|unknown) · /);
  });
});

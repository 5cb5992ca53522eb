import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { completeAt } from '../../server/src/engine/complete';
import { Engine } from '../../server/src/engine/engine';
import { buildInventory, emptyInventory } from '../../server/src/engine/inventory/inventory';
import { readSource } from '../../server/src/engine/source/read';
import { crdYaml, OLD_ISTIO_AP_CRD } from '../helpers/crds';
import { trafficCompletionValues } from '../../server/src/engine/observedValues';
import type { AccessRecord } from '../../server/src/engine/traffic/accessRecord';
import type { TrafficShape } from '../../server/src/engine/traffic/ingest/types';

const engine = new Engine();

/** Completion at the `|` of the text. */
function labels(path: string, textWithCursor: string): string[] {
  const offset = textWithCursor.indexOf('|');
  const result = engine.lintText(path, textWithCursor.replace('|', ''));
  return completeAt(result.file, result.resources, engine.registry, offset).map((s) => s.label);
}

/** The text after accepting the suggestion `label` at the `|` (the first suggestion without one). */
function accepted(path: string, textWithCursor: string, label?: string): string {
  const offset = textWithCursor.indexOf('|');
  const text = textWithCursor.replace('|', '');
  const result = engine.lintText(path, text);
  const suggestions = completeAt(result.file, result.resources, engine.registry, offset);
  const chosen = label === undefined ? suggestions[0] : suggestions.find((s) => s.label === label);
  assert.ok(chosen, `no ${label ?? 'suggestion'} in ${suggestions.map((s) => s.label).join(',')}`);
  return text.slice(0, chosen.replace.start) + chosen.insertText + text.slice(chosen.replace.end);
}

const ISTIO_SPEC = 'apiVersion: security.istio.io/v1\nkind: AuthorizationPolicy\nmetadata:\n  name: p\n  namespace: shop\nspec:\n';
const INTENTIONS = 'Kind = "service-intentions"\nName = "api"\nSources = [\n  {\n';

describe('completion', () => {
  it('YAML: keys of the mapping under the cursor, without those already present', () => {
    const found = labels('p.yaml', 'apiVersion: security.istio.io/v1\nkind: AuthorizationPolicy\nmetadata:\n  name: p\nspec:\n  action: DENY\n  rules:\n  - from:\n    - source:\n        principals: [a]\n        |\n');
    assert.ok(found.includes('namespaces') && found.includes('ipBlocks') && found.includes('notPrincipals'), found.join(','));
    assert.ok(!found.includes('principals'));
  });

  it('keys already in the mapping are not offered again, below the cursor and around strings holding brackets', () => {
    // as the VS Code YAML and JSON language services, which leave out the properties an object has
    const rules = 'apiVersion: security.istio.io/v1\nkind: AuthorizationPolicy\nmetadata:\n  name: p\nspec:\n  rules:\n';
    const entry = (body: string) => `{"Kind": "service-intentions", "Name": "api", ${body}}`;
    const cases: Array<[string, string, string[]]> = [
      ['YAML: a new list item above its own keys', `${rules}  - |\n    to:\n    - operation: {methods: [GET]}\n`, ['from', 'when']],
      ['YAML: the first key of a list item, its other keys below', `${rules}  - fr|\n    to:\n    - operation: {methods: [GET]}\n    when: []\n`, ['from']],
      ['YAML: the next item\'s keys are not this one\'s', `${rules}  - |\n  - to: []\n`, ['from', 'to', 'when']],
    ];
    for (const [name, text, expected] of cases) assert.deepEqual(labels('p.yaml', text), expected, name);
    // JSON: a value holding a bracket or a brace is a string, not the end or start of an object
    const source = labels('e.json', entry('"Sources": [{"Name": "a]b", "Action": "allow", |}]'));
    assert.ok(!source.includes('Name') && !source.includes('Action') && source.includes('Permissions'), source.join(','));
    const top = labels('e.json', entry('"Description": "a {", "Sources": [], "|"'));
    assert.ok(!top.includes('Kind') && !top.includes('Sources') && !top.includes('Description') && top.includes('Meta'), top.join(','));
  });

  it('YAML: the same keys when the lines end in a lone \\r or \\r\\n (YAML 1.2.2 §5.4 line breaks)', () => {
    const text = 'apiVersion: security.istio.io/v1\nkind: AuthorizationPolicy\nmetadata:\n  name: p\nspec:\n  action: DENY\n  rules:\n  - from:\n    - source:\n        principals: [a]\n        |\n  - to: []\n';
    const expected = labels('p.yaml', text);
    for (const eol of ['\r', '\r\n']) assert.deepEqual(labels('p.yaml', text.replace(/\n/g, eol)), expected, JSON.stringify(eol));
  });

  it('YAML: enum values', () => {
    assert.deepEqual(labels('p.yaml', 'apiVersion: security.istio.io/v1\nkind: PeerAuthentication\nmetadata:\n  name: p\nspec:\n  mtls:\n    mode: |\n').sort(), ['DISABLE', 'PERMISSIVE', 'STRICT', 'UNSET']);
  });

  it('JSON config entry: keys and values', () => {
    const keys = labels('e.json', '{\n  "Kind": "service-intentions",\n  "Name": "api",\n  "Sources": [\n    {\n      "Name": "web",\n      "Act|"\n    }\n  ]\n}');
    assert.ok(keys.includes('Action') && keys.includes('Permissions') && !keys.includes('Name'), keys.join(','));
    assert.deepEqual(labels('e.json', '{\n  "Kind": "service-intentions",\n  "Name": "api",\n  "Sources": [\n    {\n      "Name": "web",\n      "Action": "|"\n    }\n  ]\n}'), ['allow', 'deny']);
  });

  it('JSON: a string with no closing quote yet is replaced up to the cursor, keeping what follows it on the line', () => {
    const entry = (line: string) => `{\n  "Kind": "service-intentions",\n  "Name": "api",\n  "Sources": [\n    {\n${line}\n      "Name": "web"\n    }\n  ]\n}`;
    assert.equal(accepted('e.json', entry('      "Action": "al|,'), 'allow'), entry('      "Action": "allow",'));
    assert.equal(accepted('e.json', entry('      "Act|,'), 'Action'), entry('      "Action": ,'));
    // a closed string is replaced whole, as before
    assert.equal(accepted('e.json', entry('      "Action": "al|low",'), 'deny'), entry('      "Action": "deny",'));
  });

  it('HCL config entry: keys in list items and in repeated blocks, and values', () => {
    const inList = labels('e.hcl', 'Kind = "service-intentions"\nName = "api"\nSources = [\n  {\n    Name = "web"\n    Perm|\n  }\n]\n');
    assert.ok(inList.includes('Permissions') && !inList.includes('Name'), inList.join(','));
    const inBlocks = labels('e.hcl', 'Kind = "service-intentions"\nName = "api"\nSources {\n  Name = "web"\n  Permissions {\n    Action = "allow"\n    HTTP {\n      Methods = ["GET"]\n      |\n    }\n  }\n}\n');
    assert.deepEqual(inBlocks, ['Header', 'PathExact', 'PathPrefix', 'PathRegex']);
    assert.deepEqual(labels('e.hcl', 'Kind = "service-intentions"\nName = "api"\nSources = [\n  {\n    Name = "web"\n    Action = "|"\n  }\n]\n'), ['allow', 'deny']);
  });

  it('edits keep the quotes a value is typed in, and the text parses', () => {
    const cases: [string, string, string, string][] = [
      ['p.yaml', `${ISTIO_SPEC}  action: "|"\n`, 'ALLOW', `${ISTIO_SPEC}  action: "ALLOW"\n`],
      ['p.yaml', `${ISTIO_SPEC}  action: 'D|'\n`, 'DENY', `${ISTIO_SPEC}  action: 'DENY'\n`],
      ['p.yaml', `${ISTIO_SPEC}  action: D|\n`, 'DENY', `${ISTIO_SPEC}  action: DENY\n`],
      ['e.hcl', `${INTENTIONS}    Name = "web"\n    Action = "|"\n  }\n]\n`, 'allow', `${INTENTIONS}    Name = "web"\n    Action = "allow"\n  }\n]\n`],
      ['e.hcl', `${INTENTIONS}    Name = "web"\n    Action = "d|"\n  }\n]\n`, 'deny', `${INTENTIONS}    Name = "web"\n    Action = "deny"\n  }\n]\n`],
    ];
    for (const [path, before, label, after] of cases) {
      const text = accepted(path, before, label);
      assert.equal(text, after);
      assert.ok(!engine.lintText(path, text).findings.some((f) => f.code === 'MPA0001'), text);
    }
  });

  it('within a key that has its colon or `=`, only the name changes', () => {
    assert.equal(accepted('p.yaml', `${ISTIO_SPEC}  act|ion: ALLOW\n`, 'action'), `${ISTIO_SPEC}  action: ALLOW\n`);
    assert.equal(accepted('e.hcl', `${INTENTIONS}    Name = "web"\n    Act|ion = "allow"\n  }\n]\n`, 'Action'), `${INTENTIONS}    Name = "web"\n    Action = "allow"\n  }\n]\n`);
  });

  it('within the first key of a list item that has its colon, only the name changes too', () => {
    const rules = (from: string, source: string) => `${ISTIO_SPEC}  action: DENY\n  rules:\n  - ${from}:\n    - ${source}:\n        principals: [a]\n`;
    assert.equal(accepted('p.yaml', rules('f|rom', 'source'), 'to'), rules('to', 'source'));
    assert.equal(accepted('p.yaml', rules('from', 's|ource'), 'source'), rules('from', 'source'));
  });

  it('nothing in YAML flow lists, nor in HCL comments', () => {
    assert.deepEqual(labels('p.yaml', `${ISTIO_SPEC}  action: DENY\n  rules:\n  - from:\n    - source:\n        principals: [|]\n`), []);
    assert.deepEqual(labels('p.yaml', `${ISTIO_SPEC}  action: [|]\n`), []);
    assert.deepEqual(labels('e.hcl', `# L7 |intentions\n${INTENTIONS}    Name = "web"\n  }\n]\n`), []);
    assert.deepEqual(labels('e.hcl', `${INTENTIONS}    Name = "web" // the |caller\n  }\n]\n`), []);
  });

  it('nothing for files that are not policies', () => {
    assert.deepEqual(labels('values.yaml', 'image:\n  |\n'), []);
    assert.deepEqual(labels('package.json', '{"|"}'), []);
  });
});

describe('completion from reality: values seen in the traffic and the inventory', () => {
  const shape = (record: AccessRecord, count: number): TrafficShape => ({ record, count, samples: [], sourceBy: {}, destinationBy: {}, joined: 0 });
  const shapes = [
    shape({ mesh: 'istio', source: { principal: 'cluster.local/ns/shop/sa/frontend', namespace: 'shop', serviceAccount: 'frontend' }, destination: { namespace: 'shop', port: 7070, labels: { app: 'cart', 'pod-template-hash': 'abc' } }, request: { method: 'GET', path: '/v1/carts/42?full=1', host: 'cart.shop' } }, 30),
    shape({ mesh: 'istio', source: { principal: 'spiffe://cluster.local/ns/ops/sa/admin', namespace: 'ops' }, destination: { namespace: 'shop', port: 7070, labels: { app: 'cart' } }, request: { method: 'DELETE', path: '/v1/carts/42' } }, 2),
    shape({ mesh: 'linkerd', source: { principal: 'web.emojivoto.serviceaccount.identity.linkerd.cluster.local' }, destination: { namespace: 'emojivoto', port: 8080 }, request: { method: 'POST', path: '/api/vote' } }, 5),
    shape({ mesh: 'consul', source: { principal: 'spiffe://td.consul/ns/default/dc/dc1/svc/dashboard', service: 'dashboard' }, destination: { service: 'api', port: 20000 }, request: { method: 'GET', path: '/v1/count' } }, 7),
  ];
  const inventory = emptyInventory();
  inventory.serviceAccounts.push({ name: 'batch', namespace: 'jobs', file: '/ws/sa.yaml', span: { start: 0, end: 0 } });
  const observed = trafficCompletionValues(shapes, inventory);

  it('collects each kind, in each mesh\'s identity form, most called first', () => {
    const values = (list: { value: string }[]) => list.map((v) => v.value);
    assert.deepEqual(values(observed.istioPrincipals), ['cluster.local/ns/shop/sa/frontend', 'cluster.local/ns/ops/sa/admin', 'cluster.local/ns/jobs/sa/batch']);
    assert.deepEqual(values(observed.linkerdIdentities), ['web.emojivoto.serviceaccount.identity.linkerd.cluster.local', 'batch.jobs.serviceaccount.identity.linkerd.cluster.local']);
    assert.deepEqual(values(observed.consulServices), ['api', 'dashboard'], 'a caller counted once per call');
    assert.deepEqual(values(observed.paths), ['/v1/carts/42', '/v1/count', '/api/vote']);
    assert.deepEqual(values(observed.pathPrefixes), ['/v1/', '/v1/carts/', '/api/']);
    assert.deepEqual(values(observed.methods), ['GET', 'POST', 'DELETE']);
    assert.deepEqual(values(observed.ports), ['7070', '20000', '8080']);
    assert.deepEqual(values(observed.selectorLabels), ['app=cart'], 'generated labels are left out');
    assert.deepEqual(values(observed.namespaces), ['shop', 'emojivoto', 'ops', 'jobs']);
    assert.deepEqual(values(observed.serviceAccounts), ['frontend', 'batch']);
    assert.deepEqual(observed.istioPrincipals[0], { value: 'cluster.local/ns/shop/sa/frontend', calls: 30 });
  });

  function observedLabels(path: string, textWithCursor: string): string[] {
    const offset = textWithCursor.indexOf('|');
    const result = engine.lintText(path, textWithCursor.replace('|', ''));
    return completeAt(result.file, result.resources, engine.registry, offset, observed).map((s) => s.insertText);
  }
  const istio = (rule: string) => `apiVersion: security.istio.io/v1\nkind: AuthorizationPolicy\nmetadata:\n  name: p\n  namespace: shop\nspec:\n  selector:\n    matchLabels:\n      app: c|\n  rules:\n  - ${rule}\n`;

  it('selector label values of the policy\'s namespace first, then the others', () => {
    const labelled = trafficCompletionValues([
      shape({ mesh: 'istio', destination: { namespace: 'emojivoto', labels: { app: 'web-svc' } } }, 100),
      shape({ mesh: 'istio', destination: { namespace: 'shop', labels: { app: 'cart' } } }, 3),
    ], emptyInventory());
    const at = (namespace: string) => {
      const text = istio('{}').replace('namespace: shop', `namespace: ${namespace}`);
      const result = engine.lintText('p.yaml', text.replace('|', ''));
      return completeAt(result.file, result.resources, engine.registry, text.indexOf('|'), labelled).map((s) => s.label);
    };
    assert.deepEqual(at('shop'), ['cart', 'web-svc']);
    assert.deepEqual(at('emojivoto'), ['web-svc', 'cart']);
  });

  it('Istio: principals, paths (and prefixes), methods, ports, selector label values', () => {
    assert.deepEqual(observedLabels('p.yaml', istio('from:\n    - source:\n        principals:\n        - |').replace('app: c|', 'app: cart')), ['cluster.local/ns/shop/sa/frontend', 'cluster.local/ns/ops/sa/admin', 'cluster.local/ns/jobs/sa/batch']);
    assert.deepEqual(observedLabels('p.yaml', istio('to:\n    - operation:\n        paths:\n        - |').replace('app: c|', 'app: cart')), ['/v1/carts/42', '/v1/count', '/api/vote', '/v1/*', '/v1/carts/*', '/api/*']);
    assert.deepEqual(observedLabels('p.yaml', istio('to:\n    - operation:\n        methods:\n        - |').replace('app: c|', 'app: cart')), ['GET', 'POST', 'DELETE']);
    assert.deepEqual(observedLabels('p.yaml', istio('to:\n    - operation:\n        ports:\n        - |').replace('app: c|', 'app: cart')), ['"7070"', '"20000"', '"8080"']);
    assert.deepEqual(observedLabels('p.yaml', istio('to:\n    - operation:\n        ports: ["80"]')), ['cart']);
    assert.deepEqual(observedLabels('p.yaml', istio('from:\n    - source:\n        namespaces:\n        - |').replace('app: c|', 'app: cart')), ['shop', 'emojivoto', 'ops', 'jobs']);
  });

  it('Linkerd identities; Consul service names and paths in HCL and JSON', () => {
    assert.deepEqual(observedLabels('a.yaml', 'apiVersion: policy.linkerd.io/v1alpha1\nkind: MeshTLSAuthentication\nmetadata:\n  name: a\nspec:\n  identities:\n  - |\n'), ['web.emojivoto.serviceaccount.identity.linkerd.cluster.local', 'batch.jobs.serviceaccount.identity.linkerd.cluster.local']);
    assert.deepEqual(observedLabels('e.hcl', 'Kind = "service-intentions"\nName = "api"\nSources = [\n  {\n    Name = "|"\n  }\n]\n'), ['*', 'api', 'dashboard'], 'the schema\'s wildcard, then the observed services, inside the quotes typed');
    assert.deepEqual(observedLabels('e.json', '{\n  "Kind": "service-intentions",\n  "Name": "api",\n  "Sources": [{"Name": "web", "Permissions": [{"Action": "allow", "HTTP": {"PathPrefix": "|"}}]}]\n}'), ['"/v1/"', '"/v1/carts/"', '"/api/"']);
    assert.deepEqual(observedLabels('e.json', '{\n  "Kind": "service-intentions",\n  "Name": "api",\n  "Sources": [{"Name": "web", "Action": "|"}]\n}'), ['"allow"', '"deny"'], 'fields with no observed kind keep the schema values only');
  });
});

describe('completion against the cluster\'s CRDs', () => {
  const crds = (text: string) => buildInventory([readSource('crds.yaml', text)]).crds;
  const suggest = (textWithCursor: string, installed: string) => {
    const offset = textWithCursor.indexOf('|');
    const result = engine.lintText('p.yaml', textWithCursor.replace('|', ''));
    return completeAt(result.file, result.resources, engine.registry, offset, undefined, crds(installed));
  };
  const V1BETA1_SPEC = ISTIO_SPEC.replace('security.istio.io/v1\n', 'security.istio.io/v1beta1\n');

  it('a field the cluster\'s CRD does not declare is marked, after the fields it does', () => {
    const found = suggest(`${V1BETA1_SPEC}  |`, OLD_ISTIO_AP_CRD);
    const labels = found.map((s) => s.label);
    const targetRefs = found.find((s) => s.label === 'targetRefs')!;
    assert.match(targetRefs.detail ?? '', /not in the cluster's CRD authorizationpolicies\.security\.istio\.io \(crds\.yaml\)/);
    assert.ok(labels.indexOf('selector') < labels.indexOf('targetRefs'), labels.join(' '));
    assert.ok(!(found.find((s) => s.label === 'selector')!.detail ?? '').includes('cluster'));
  });

  it('a value outside the cluster\'s CRD enum is marked', () => {
    const installed = crdYaml('security.istio.io', 'AuthorizationPolicy', 'authorizationpolicies', [{ name: 'v1', schema: { type: 'object', properties: { spec: { type: 'object', properties: { action: { type: 'string', enum: ['ALLOW', 'DENY'] } } } } } }]);
    const found = suggest(`${ISTIO_SPEC}  action: |`, installed);
    assert.deepEqual(found.map((s) => [s.label, /not allowed by the cluster's CRD/.test(s.detail ?? '')]), [['ALLOW', false], ['DENY', false], ['AUDIT', true], ['CUSTOM', true]]);
  });

  it('without CRDs, as before', () => {
    const result = engine.lintText('p.yaml', `${V1BETA1_SPEC}  `);
    assert.deepEqual(completeAt(result.file, result.resources, engine.registry, result.file.text.length, undefined, []).map((s) => s.label), completeAt(result.file, result.resources, engine.registry, result.file.text.length).map((s) => s.label));
  });
});

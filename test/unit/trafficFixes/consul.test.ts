import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { defaultConfig } from '../../../server/src/engine/config/projectConfig';
import { addIntentionSource, allowCall, denyCall, narrowWildcard, shadowPolicy } from '../../../server/src/engine/trafficFixes';
import { consulCallerName } from '../../../server/src/engine/trafficFixes/consul';
import type { AccessRecord } from '../../../server/src/engine/traffic/accessRecord';
import { apply, changes, find, loadExample, loadInline, rangeAt, type Loaded } from './harness';

/** Consul intention fixes (mesh-semantics §3): applied, re-read and decided again. */

const TD = '7d4e1f2a-0b1c-4d2e-9f30-a1b2c3d4e5f6.consul';
const spiffe = (svc: string) => `spiffe://${TD}/ns/default/dc/dc1/svc/${svc}`;

function onlyCalls(l: Loaded, applied: ReturnType<typeof apply>, from: string, to: string, predicate: (r: AccessRecord) => boolean): void {
  const changed = changes(l, applied);
  assert.ok(changed.length > 0, 'some call changes');
  for (const [i, a, b] of changed) {
    assert.deepEqual([a, b], [from, to]);
    assert.ok(predicate(l.outcomes[i]!.shape.record), JSON.stringify(l.outcomes[i]!.shape.record));
  }
}

describe('consul: config entries of the examples (HCL and JSON)', () => {
  let loaded: Promise<Loaded> | undefined;
  // The examples' deliberate mistakes 9 and 10 (examples/README.md) make Consul refuse the api and
  // dashboard entries, which then decide nothing; these layouts are tested with the mistakes taken out.
  const corrected = (path: string, text: string) => path.endsWith('api.hcl') ? text.replace('  Name   = "dashboard"\n  Action = "allow"\n', '  Name   = "dashboard"\n')
    : path.endsWith('dashboard.json') ? text.replace('"PathPrefix": "assets/"', '"PathPrefix": "/assets/"') : text;
  const example = () => (loaded ??= loadExample('consul', ['config', 'app'], corrected));

  it('the examples as written: Consul refuses the api entry (mistake 9), so the wildcard deny decides every call to api', async () => {
    const l = await loadExample('consul', ['config', 'app']);
    const toApi = l.outcomes.filter((o) => o.shape.record.destination?.service === 'api');
    assert.ok(toApi.length > 0);
    for (const o of toApi) assert.match(o.decision.reason, /service-intentions \* Sources\[0\] \*/, 'the wildcard deny decides every call to api');
  });

  it('HCL list: a new source for a caller the wildcard deny refused', async () => {
    const l = await example();
    const refused = find(l, (o) => o.decision.verdict === 'deny' && o.shape.record.source?.service === 'web-legacy');
    const fix = allowCall(l.context, refused).fixes[0]!;
    assert.equal(fix.kind, 'add-source');
    const applied = apply(l, fix);
    assert.ok(applied.after.includes('    Name   = "api"\n    Action = "allow"\n  },\n  {\n    Name = "web-legacy"\n    Action = "allow"\n  },\n]\n'), applied.after);
    onlyCalls(l, applied, 'deny', 'allow', (r) => r.source?.service === 'web-legacy' && r.destination?.service === 'counting');
  });

  it('HCL blocks: allow one request first in the caller\'s permissions', async () => {
    const l = await example();
    const refused = find(l, (o) => o.decision.verdict === 'deny' && o.shape.record.request?.path?.startsWith('/v1/admin') === true && o.shape.record.source?.service === 'dashboard');
    const fix = allowCall(l.context, refused).fixes[0]!;
    const applied = apply(l, fix);
    assert.ok(applied.after.includes(`  Permissions = [\n    {\n      Action = "allow"\n      HTTP {\n        PathExact = "${refused.shape.record.request!.path!.split('?')[0]}"\n        Methods = ["${refused.shape.record.request!.method}"]\n      }\n    },\n    {\n      Action = "deny"`), applied.after);
    onlyCalls(l, applied, 'deny', 'allow', (r) => r.source?.service === 'dashboard' && r.request?.path === refused.shape.record.request?.path);
  });

  it('JSON: deny one request first; L4: change the source action', async () => {
    const l = await example();
    const allowed = find(l, (o) => o.decision.verdict === 'allow' && o.shape.record.destination?.service === 'dashboard' && o.shape.record.request?.path === '/');
    const applied = apply(l, denyCall(l.context, allowed).fixes[0]!);
    assert.deepEqual(JSON.parse(applied.after).Sources[0].Permissions[0], { Action: 'deny', HTTP: { PathExact: '/', Methods: ['GET'] } });
    onlyCalls(l, applied, 'allow', 'deny', (r) => r.request?.path === '/' && r.request.method === 'GET');
    const tcp = find(l, (o) => o.decision.verdict === 'allow' && o.shape.record.destination?.service === 'counting' && o.shape.record.source?.service === 'api');
    const l4 = apply(l, denyCall(l.context, tcp).fixes[0]!);
    assert.ok(l4.after.includes('    Name   = "api"\n    Action = "deny"\n'));
    onlyCalls(l, l4, 'allow', 'deny', (r) => r.source?.service === 'api' && r.destination?.service === 'counting');
  });

  it('no dry-run or audit mode in Consul', async () => {
    const l = await example();
    const file = l.workspace.sourceFiles.find((f) => f.path.endsWith('api.hcl'))!;
    assert.match(shadowPolicy(l.context, file.path, rangeAt(file.text, 'Sources')).notOffered[0]!, /no dry-run or audit/);
  });
});

describe('consul: ServiceIntentions resources of the examples (YAML)', () => {
  it('allow: fix the source action; a destination without intentions gets a new resource', async () => {
    const l = await loadExample('consul', ['crds', 'app']);
    const refused = find(l, (o) => o.decision.verdict === 'deny' && o.shape.record.source?.service === 'dashboard' && o.shape.record.destination?.service === 'counting');
    const applied = apply(l, allowCall(l.context, refused).fixes[0]!);
    assert.ok(applied.after.includes('    - name: dashboard\n      action: allow\n'), 'the invalid "Allow" becomes allow');
    // The resource was refused for its "Allow"; once fixed it is stored, so api → counting is allowed by it too.
    onlyCalls(l, applied, 'deny', 'allow', (r) => (r.source?.service === 'dashboard' || r.source?.service === 'api') && r.destination?.service === 'counting');
    assert.ok(changes(l, applied).some(([i]) => l.outcomes[i]!.shape.record.source?.service === 'api'), 'the other source of the resource comes into effect');
    const toDashboard = find(l, (o) => o.decision.verdict === 'deny' && o.shape.record.destination?.service === 'dashboard');
    const created = apply(l, allowCall(l.context, toDashboard).fixes[0]!);
    assert.ok(created.after.endsWith('---\napiVersion: consul.hashicorp.com/v1alpha1\nkind: ServiceIntentions\nmetadata:\n  name: dashboard\n  namespace: counting-demo\nspec:\n  destination:\n    name: dashboard\n  sources:\n    - name: ingress-gateway\n      action: allow\n'), created.after);
    onlyCalls(l, created, 'deny', 'allow', (r) => r.source?.service === 'ingress-gateway' && r.destination?.service === 'dashboard');
  });

  it('config entries only: a destination without an entry needs a new file, which a fix cannot create', async () => {
    const l = loadInline({ '/ws/deny-all.hcl': 'Kind = "service-intentions"\nName = "*"\nSources = [{ Name = "*", Action = "deny" }]\n' }, [call('web', 'api', 'GET', '/x', 'denied')], consulConfig());
    assert.match(allowCall(l.context, l.outcomes[0]!).notOffered[0]!, /no service-intentions entry for api/);
  });
});

function call(source: string, destination: string, method: string | undefined, path: string | undefined, observed: AccessRecord['observed'] = 'allowed'): AccessRecord {
  return {
    mesh: 'consul', protocol: method ? 'http' : 'tcp', observed,
    source: { principal: spiffe(source), service: source, namespace: 'default' },
    destination: { service: destination, namespace: 'default', port: 20000 },
    ...(method ? { request: { method, ...(path ? { path } : {}) } } : {}),
  };
}

function consulConfig() {
  const config = defaultConfig('/ws');
  config.consul = { defaultIntentionPolicy: 'deny' };
  return config;
}

describe('consul: inline entries in each form', () => {
  const forms: [string, string, string][] = [
    ['HCL blocks', '/ws/api.hcl', `# api\nKind = "service-intentions"\nName = "api"\n\nSources {\n  Name   = "*"\n  Action = "allow"  # for now\n}\n`],
    ['snake_case HCL list', '/ws/api.hcl', `kind = "service-intentions"\nname = "api"\nsources = [\n  { name = "*", action = "allow" },\n]\n`],
    ['JSON', '/ws/api.json', `{\n  "Kind": "service-intentions",\n  "Name": "api",\n  "Sources": [\n    {\n      "Name": "*",\n      "Action": "allow"\n    }\n  ]\n}\n`],
    ['CRD YAML', '/ws/api.yaml', `apiVersion: consul.hashicorp.com/v1alpha1\nkind: ServiceIntentions\nmetadata:\n  name: api\nspec:\n  destination:\n    name: api\n  sources:\n    - name: "*"  # everyone\n      action: allow\n`],
  ];
  const traffic = [call('web', 'api', 'GET', '/a'), call('batch', 'api', 'POST', '/b'), call('web', 'api', 'GET', '/c')];
  for (const [name, path, text] of forms) {
    it(`${name}: narrow "*" to the observed callers`, () => {
      const l = loadInline({ [path]: text }, traffic, consulConfig());
      assert.deepEqual(l.outcomes.map((o) => o.decision.verdict), ['allow', 'allow', 'allow']);
      const fix = narrowWildcard(l.context, path, rangeAt(text, '"*"')).fixes[0]!;
      assert.match(fix.title, /2 observed callers \(batch, web\)/);
      const applied = apply(l, fix);
      assert.deepEqual(changes(l, applied), []);
      const stranger = loadInline({ [path]: applied.after }, [call('stranger', 'api', 'GET', '/a')], consulConfig());
      assert.equal(stranger.outcomes[0]!.decision.verdict, 'deny');
    });

    it(`${name}: deny one request of an L4-allowed caller (its other requests stay allowed)`, () => {
      const l = loadInline({ [path]: text }, traffic, consulConfig());
      const fix = denyCall(l.context, l.outcomes[0]!).fixes[0]!;
      assert.equal(fix.kind, 'add-source');
      const applied = apply(l, fix);
      assert.deepEqual(changes(l, applied), [[0, 'allow', 'deny']]);
    });

    it(`${name}: add an intention source`, () => {
      const l = loadInline({ [path]: text }, traffic, consulConfig());
      const located = { file: l.workspace.sourceFiles[0]!, resource: l.workspace.resources[0]!.resource };
      const edit = addIntentionSource(located, { Name: 'web', Action: 'deny' })!;
      const applied = apply(l, { kind: 'add-source', file: path, title: 'add', edits: [edit] });
      assert.deepEqual(changes(l, applied), [[0, 'allow', 'deny'], [2, 'allow', 'deny']]);
    });
  }

  it('the file\'s spelling is kept: snake_case and PascalCase config entries, camelCase resources', () => {
    const l = loadInline({ [forms[1]![1]]: forms[1]![2] }, traffic, consulConfig());
    const located = { file: l.workspace.sourceFiles[0]!, resource: l.workspace.resources[0]!.resource };
    const applied = apply(l, { kind: 'add-source', file: forms[1]![1], title: 'add', edits: [addIntentionSource(located, { Name: 'web', Permissions: [{ Action: 'deny', HTTP: { PathPrefix: '/a' } }, { Action: 'allow', HTTP: { PathPrefix: '/' } }] })!] });
    assert.ok(applied.after.includes('  {\n    name = "web"\n    permissions = [\n      {\n        action = "deny"\n        http {\n          path_prefix = "/a"\n        }\n      },'), applied.after);
    assert.deepEqual(changes(l, applied), [[0, 'allow', 'deny']]);
  });
});

describe('consul: fix titles and new intentions', () => {
  it('titles name the caller by its service, with namespace and partition only when not default', () => {
    const cases: { principal: string; named: string }[] = [
      { principal: `spiffe://${TD}/ns/default/dc/dc1/svc/dashboard`, named: 'dashboard' },
      { principal: `spiffe://${TD}/ap/default/ns/default/dc/dc1/svc/dashboard`, named: 'dashboard' },
      { principal: `spiffe://${TD}/ns/shop/dc/dc1/svc/dashboard`, named: 'shop/dashboard' },
      { principal: `spiffe://${TD}/ap/team-a/ns/default/dc/dc1/svc/dashboard`, named: 'team-a/default/dashboard' },
      { principal: `spiffe://${TD}/ap/team-a/ns/shop/dc/dc1/svc/dashboard`, named: 'team-a/shop/dashboard' },
    ];
    for (const c of cases) assert.equal(consulCallerName({ mesh: 'consul', source: { principal: c.principal } }), c.named, c.principal);
    assert.equal(consulCallerName({ mesh: 'consul', source: { service: 'dashboard' } }), 'dashboard');
    const l = loadInline({ '/ws/api.hcl': 'Kind = "service-intentions"\nName = "api"\nSources = [{ Name = "*", Action = "deny" }]\n' }, [call('dashboard', 'api', 'GET', '/v1/count', 'denied')], consulConfig());
    const fix = allowCall(l.context, l.outcomes[0]!).fixes[0]!;
    assert.equal(fix.title, 'Allow dashboard → api (every request: add source dashboard with Action allow to the intentions of api)');
  });

  // A new ServiceIntentions resource for a destination that has none (mesh-semantics §3): an L4
  // Action decides every request of the caller; permissions decide this request only, and Consul
  // accepts them only for a destination whose protocol is http, http2 or grpc.
  const counting = 'apiVersion: consul.hashicorp.com/v1alpha1\nkind: ServiceIntentions\nmetadata:\n  name: counting\n  namespace: demo\nspec:\n  destination:\n    name: counting\n  sources:\n    - name: api\n      action: allow\n';
  const httpApi = 'apiVersion: consul.hashicorp.com/v1alpha1\nkind: ServiceDefaults\nmetadata:\n  name: api\n  namespace: demo\nspec:\n  protocol: http\n';
  const tcpApi = httpApi.replace('protocol: http', 'protocol: tcp');
  const cases: { name: string; defaults?: string; title: string; added: string; otherRequest: string }[] = [
    {
      name: 'an http destination: a permission for this request only',
      defaults: httpApi,
      title: 'Allow dashboard → api GET /v1/count: new ServiceIntentions for api, a permission for this request only',
      added: '  sources:\n    - name: dashboard\n      permissions:\n        - action: allow\n          http:\n            pathExact: /v1/count\n            methods:\n              - GET\n',
      otherRequest: 'deny',
    },
    {
      name: 'a tcp destination: an L4 allow, titled as allowing every request',
      defaults: tcpApi,
      title: 'Allow dashboard → api (every request: a new intention with Action allow)',
      added: '  sources:\n    - name: dashboard\n      action: allow\n',
      otherRequest: 'allow',
    },
    {
      name: 'no protocol set in the workspace: an L4 allow, titled as allowing every request',
      title: 'Allow dashboard → api (every request: a new intention with Action allow)',
      added: '  sources:\n    - name: dashboard\n      action: allow\n',
      otherRequest: 'allow',
    },
  ];
  for (const c of cases) {
    it(c.name, () => {
      const files: Record<string, string> = { '/ws/intentions.yaml': counting, ...(c.defaults ? { '/ws/defaults.yaml': c.defaults } : {}) };
      const calls = [call('dashboard', 'api', 'GET', '/v1/count', 'denied'), call('dashboard', 'api', 'DELETE', '/v1/admin', 'denied')];
      const l = loadInline(files, calls, consulConfig());
      assert.deepEqual(l.outcomes.map((o) => o.decision.verdict), ['deny', 'deny']);
      const fix = allowCall(l.context, l.outcomes[0]!).fixes[0]!;
      assert.equal(fix.title, c.title);
      const applied = apply(l, fix);
      assert.ok(applied.after.startsWith(counting + '---\n') && applied.after.endsWith(c.added), applied.after);
      assert.deepEqual(changes(l, applied), c.otherRequest === 'allow' ? [[0, 'deny', 'allow'], [1, 'deny', 'allow']] : [[0, 'deny', 'allow']]);
    });
  }
});

// A source in another namespace or partition than the entry's destination must name them: a
// source without them inherits the destination's (spec §3.1 Normalize; the service-intentions
// reference, Sources[].Namespace and Sources[].Partition).
describe('consul: callers in another namespace or partition', () => {
  const principal = (svc: string, ns: string, ap?: string) => `spiffe://${TD}${ap ? `/ap/${ap}` : ''}/ns/${ns}/dc/dc1/svc/${svc}`;
  const from = (svc: string, ns: string, ap?: string, method = 'GET', path = '/v1/count'): AccessRecord => ({
    mesh: 'consul', protocol: 'http', observed: 'denied',
    source: { principal: principal(svc, ns, ap), service: svc },
    destination: { service: 'api', namespace: 'default', port: 20000 },
    request: { method, path },
  });
  const denyAllHcl = 'Kind = "service-intentions"\nName = "api"\nSources = [\n  { Name = "*", Action = "deny" },\n]\n';
  const denyAllCrd = 'apiVersion: consul.hashicorp.com/v1alpha1\nkind: ServiceIntentions\nmetadata:\n  name: api\nspec:\n  destination:\n    name: api\n  sources:\n    - name: "*"\n      action: deny\n';
  const cases: { name: string; path: string; text: string; caller: AccessRecord; title: RegExp; written: string }[] = [
    { name: 'HCL, namespace team-a', path: '/ws/api.hcl', text: denyAllHcl, caller: from('web', 'team-a'), title: /^Allow team-a\/web → api \(every request: add source team-a\/web with Action allow/, written: '    Name = "web"\n    Namespace = "team-a"\n    Action = "allow"\n' },
    { name: 'HCL, partition p1', path: '/ws/api.hcl', text: denyAllHcl, caller: from('web', 'default', 'p1'), title: /^Allow p1\/default\/web → api/, written: '    Name = "web"\n    Partition = "p1"\n    Action = "allow"\n' },
    { name: 'HCL, namespace team-a in partition p1', path: '/ws/api.hcl', text: denyAllHcl, caller: from('web', 'team-a', 'p1'), title: /^Allow p1\/team-a\/web → api/, written: '    Name = "web"\n    Namespace = "team-a"\n    Partition = "p1"\n    Action = "allow"\n' },
    { name: 'CRD, namespace team-a', path: '/ws/api.yaml', text: denyAllCrd, caller: from('web', 'team-a'), title: /^Allow team-a\/web → api/, written: '    - name: web\n      namespace: team-a\n      action: allow\n' },
    { name: 'CRD, partition p1', path: '/ws/api.yaml', text: denyAllCrd, caller: from('web', 'default', 'p1'), title: /^Allow p1\/default\/web → api/, written: '    - name: web\n      partition: p1\n      action: allow\n' },
  ];
  for (const c of cases) {
    it(`${c.name}: the new source names them, and allows that caller only`, () => {
      const sameNameElsewhere = from('web', 'default');
      const l = loadInline({ [c.path]: c.text }, [c.caller, sameNameElsewhere], consulConfig());
      assert.deepEqual(l.outcomes.map((o) => o.decision.verdict), ['deny', 'deny']);
      const fix = allowCall(l.context, l.outcomes[0]!).fixes[0];
      assert.ok(fix, 'a fix is offered');
      assert.match(fix.title, c.title);
      const applied = apply(l, fix);
      assert.ok(applied.after.includes(c.written), applied.after);
      assert.deepEqual(changes(l, applied), [[0, 'deny', 'allow']], 'web in the default namespace and partition stays denied');
    });
  }

  it('an existing source is the caller\'s only when its namespace is the caller\'s', () => {
    const text = 'Kind = "service-intentions"\nName = "api"\nSources = [\n  { Name = "web", Action = "allow" },\n  { Name = "web", Namespace = "team-a", Action = "deny" },\n]\n';
    const l = loadInline({ '/ws/api.hcl': text }, [from('web', 'team-a')], consulConfig());
    const fix = allowCall(l.context, l.outcomes[0]!).fixes[0]!;
    assert.equal(fix.title, 'Allow team-a/web → api GET /v1/count: change source team-a/web to allow');
    const applied = apply(l, fix);
    assert.ok(applied.after.includes('{ Name = "web", Namespace = "team-a", Action = "allow" }'), applied.after);
    assert.ok(applied.after.includes('{ Name = "web", Action = "allow" }'));
  });

  it('a new ServiceIntentions resource for a caller in namespace team-a', () => {
    const other = 'apiVersion: consul.hashicorp.com/v1alpha1\nkind: ServiceIntentions\nmetadata:\n  name: db\nspec:\n  destination:\n    name: db\n  sources:\n    - name: api\n      action: allow\n';
    const l = loadInline({ '/ws/i.yaml': other }, [from('web', 'team-a')], consulConfig());
    const fix = allowCall(l.context, l.outcomes[0]!).fixes[0]!;
    const applied = apply(l, fix);
    assert.ok(applied.after.endsWith('  sources:\n    - name: web\n      namespace: team-a\n      action: allow\n'), applied.after);
    assert.deepEqual(changes(l, applied), [[0, 'deny', 'allow']]);
  });
});

// Adding a source for a denied HTTP call: a permission for that request (method and path) where
// Consul accepts permissions for the destination (its protocol is http, or the entry already has L7
// sources, which Consul stores only for an HTTP destination), preferred; an L4 Action, which allows
// every request of the caller, as a second, not preferred, fix.
describe('consul: adding a source for an HTTP call', () => {
  const l7Entry = 'Kind = "service-intentions"\nName = "api"\nSources = [\n  { Name = "ops", Permissions = [{ Action = "allow", HTTP { PathPrefix = "/admin" } }] },\n  { Name = "*", Action = "deny" },\n]\n';
  const l4Entry = 'Kind = "service-intentions"\nName = "api"\nSources = [\n  { Name = "*", Action = "deny" },\n]\n';
  const httpDefaults = 'Kind = "service-defaults"\nName = "api"\nProtocol = "http"\n';
  const tcpDefaults = 'Kind = "service-defaults"\nName = "api"\nProtocol = "tcp"\n';
  const cases: { name: string; files: Record<string, string>; l7: boolean }[] = [
    { name: 'the entry already has L7 permissions', files: { '/ws/api.hcl': l7Entry }, l7: true },
    { name: 'the destination is http (service-defaults)', files: { '/ws/api.hcl': l4Entry, '/ws/defaults.hcl': httpDefaults }, l7: true },
    { name: 'the destination is tcp (service-defaults)', files: { '/ws/api.hcl': l4Entry, '/ws/defaults.hcl': tcpDefaults }, l7: false },
    { name: 'nothing says the destination is http', files: { '/ws/api.hcl': l4Entry }, l7: false },
  ];
  for (const c of cases) {
    it(`${c.name}: ${c.l7 ? 'a permission for the request, preferred, and an L4 allow after it' : 'an L4 allow only, titled as allowing every request'}`, () => {
      const calls = [call('dashboard', 'api', 'GET', '/v1/count', 'denied'), call('dashboard', 'api', 'DELETE', '/v1/admin', 'denied')];
      const l = loadInline(c.files, calls, consulConfig());
      assert.deepEqual(l.outcomes.map((o) => o.decision.verdict), ['deny', 'deny']);
      const fixes = allowCall(l.context, l.outcomes[0]!).fixes;
      const every = 'Allow dashboard → api (every request: add source dashboard with Action allow to the intentions of api)';
      if (c.l7) {
        assert.deepEqual(fixes.map((f) => [f.title, f.preferred]), [
          ['Allow dashboard → api GET /v1/count: add source dashboard to the intentions of api, a permission for this request only', true],
          [every, false],
        ]);
        const request = apply(l, fixes[0]!);
        assert.ok(request.after.includes('    Name = "dashboard"\n    Permissions = [\n      {\n        Action = "allow"\n        HTTP {\n          PathExact = "/v1/count"\n          Methods = ["GET"]\n        }\n      },\n    ]\n'), request.after);
        assert.deepEqual(changes(l, request), [[0, 'deny', 'allow']], 'the other request stays denied');
      } else {
        assert.deepEqual(fixes.map((f) => [f.title, f.preferred]), [[every, true]]);
      }
      assert.deepEqual(changes(l, apply(l, fixes[fixes.length - 1]!)), [[0, 'deny', 'allow'], [1, 'deny', 'allow']], 'the L4 allow allows every request');
    });
  }

  it('a TCP call: an L4 allow', () => {
    const l = loadInline({ '/ws/api.hcl': l7Entry }, [call('dashboard', 'api', undefined, undefined, 'denied')], consulConfig());
    const fixes = allowCall(l.context, l.outcomes[0]!).fixes;
    assert.deepEqual(fixes.map((f) => f.title), ['Allow dashboard → api (every request: add source dashboard with Action allow to the intentions of api)']);
  });
});

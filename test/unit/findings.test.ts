import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Engine } from '../../server/src/engine/engine';
import type { Finding } from '../../server/src/engine/findings';
import { applyEdits } from '../helpers/edits';
import { scratchDir } from '../helpers/scratch';

const engine = new Engine();

interface Case {
  name: string;
  file?: string;
  text: string;
  code: string;
  message: string;
  /** The exact text the range covers. */
  covers: string;
  /** The text after applying the preferred fix, when there is one. */
  fixed?: string;
  /** The preferred fix's title, when the case is about it. */
  fixTitle?: string;
}

const intentionsHcl = (http: string) => `Kind = "service-intentions"\nName = "api"\nSources = [\n  {\n    Name = "web"\n    Permissions = [\n      {\n        Action = "allow"\n        HTTP {\n${http}        }\n      }\n    ]\n  }\n]\n`;
const intentionsJson = (http: string) => `{\n  "Kind": "service-intentions",\n  "Name": "api",\n  "Sources": [\n    {\n      "Name": "web",\n      "Permissions": [\n        {\n          "Action": "allow",\n          "HTTP": ${http}\n        }\n      ]\n    }\n  ]\n}\n`;
const intentionsCrd = (http: string) => `apiVersion: consul.hashicorp.com/v1alpha1\nkind: ServiceIntentions\nmetadata:\n  name: api\nspec:\n  destination:\n    name: api\n  sources:\n  - name: web\n    permissions:\n    - action: allow\n      http:\n${http}`;

const ap = (spec: string) => `apiVersion: security.istio.io/v1\nkind: AuthorizationPolicy\nmetadata:\n  name: p\n  namespace: ns\nspec:\n${spec}`;

const cases: Case[] = [
  {
    name: 'an empty map of port-level mTLS settings says it needs a port',
    text: 'apiVersion: security.istio.io/v1\nkind: PeerAuthentication\nmetadata:\n  name: p\n  namespace: ns\nspec:\n  selector:\n    matchLabels:\n      app: a\n  portLevelMtls: {}\n',
    code: 'MPA0106', message: 'portLevelMtls, when present, must list at least one port (istiod: "port level mTLS, if defined, must have at least one element"); remove it to use the workload\'s mode on every port', covers: 'portLevelMtls',
  },
  {
    name: 'enum in the wrong case',
    text: ap('  action: allow\n'),
    code: 'MPA0104', message: 'action must be one of ALLOW, DENY, AUDIT, CUSTOM (got "allow")', covers: 'allow',
    fixed: ap('  action: ALLOW\n'),
  },
  {
    name: 'enum fix keeps quotes',
    text: ap('  action: "deny"\n'),
    code: 'MPA0104', message: 'action must be one of ALLOW, DENY, AUDIT, CUSTOM (got "deny")', covers: '"deny"',
    fixed: ap('  action: "DENY"\n'),
  },
  {
    name: 'unknown field close to a known one',
    text: ap('  rules:\n  - from:\n    - source:\n        principal: ["cluster.local/ns/a/sa/b"]  # who\n'),
    code: 'MPA0101', message: 'unknown field "principal" in source; did you mean "principals"?', covers: 'principal',
    fixed: ap('  rules:\n  - from:\n    - source:\n        principals: ["cluster.local/ns/a/sa/b"]  # who\n'),
  },
  {
    name: 'a string where a list belongs',
    text: ap('  rules:\n  - to:\n    - operation:\n        methods: GET\n'),
    code: 'MPA0103', message: 'methods must be a list (got the string "GET")', covers: 'GET',
    fixed: ap('  rules:\n  - to:\n    - operation:\n        methods: [GET]\n'),
  },
  // A number or boolean where a string is wanted: quoted exactly as written, whatever value the
  // reader gave it (Istio ports are strings; the API server refuses numbers there).
  {
    name: 'a number where a string belongs is quoted',
    text: ap('  rules:\n  - to:\n    - operation:\n        ports: [9090]  # payments API\n'),
    code: 'MPA0103', message: 'ports[0] must be a string (got the number 9090)', covers: '9090',
    fixed: ap('  rules:\n  - to:\n    - operation:\n        ports: ["9090"]  # payments API\n'), fixTitle: 'Quote 9090 as "9090"',
  },
  {
    name: 'a hexadecimal number is quoted as written, not as its value',
    text: ap('  rules:\n  - to:\n    - operation:\n        ports:\n        - 0x1F  # hex\n'),
    code: 'MPA0103', message: 'ports[0] must be a string (got the number 31)', covers: '0x1F',
    fixed: ap('  rules:\n  - to:\n    - operation:\n        ports:\n        - "0x1F"  # hex\n'), fixTitle: 'Quote 0x1F as "0x1F"',
  },
  {
    name: 'an exponent is quoted as written',
    text: ap('  rules:\n  - to:\n    - operation:\n        notPorts: [1e3]\n'),
    code: 'MPA0103', message: 'notPorts[0] must be a string (got the number 1000)', covers: '1e3',
    fixed: ap('  rules:\n  - to:\n    - operation:\n        notPorts: ["1e3"]\n'), fixTitle: 'Quote 1e3 as "1e3"',
  },
  {
    name: 'a boolean where a string belongs is quoted',
    text: ap('  rules:\n  - to:\n    - operation:\n        hosts: [True]\n'),
    code: 'MPA0103', message: 'hosts[0] must be a string (got true)', covers: 'True',
    fixed: ap('  rules:\n  - to:\n    - operation:\n        hosts: ["True"]\n'), fixTitle: 'Quote True as "True"',
  },
  {
    name: 'Consul HCL: a number where a string belongs is quoted',
    file: 'api.hcl',
    text: intentionsHcl('          Header = [{ Name = "x-version", Exact = 1e3 }]\n'),
    code: 'MPA0103', message: 'Exact must be a string (got the number 1000); consul config write converts it and stores the entry', covers: '1e3',
    fixed: intentionsHcl('          Header = [{ Name = "x-version", Exact = "1e3" }]\n'), fixTitle: 'Quote 1e3 as "1e3"',
  },
  {
    name: 'Consul JSON: a number where a string belongs is quoted',
    file: 'api.json',
    text: intentionsJson('{ "Header": [{ "Name": "x-version", "Exact": 2 }] }'),
    code: 'MPA0103', message: 'Exact must be a string (got the number 2); consul config write converts it and stores the entry', covers: '2',
    fixed: intentionsJson('{ "Header": [{ "Name": "x-version", "Exact": "2" }] }'), fixTitle: 'Quote 2 as "2"',
  },
  {
    name: 'Consul CRD: a boolean where a string belongs is quoted',
    text: intentionsCrd('        header:\n        - name: x-canary\n          exact: false\n'),
    code: 'MPA0103', message: 'exact must be a string (got false)', covers: 'false',
    fixed: intentionsCrd('        header:\n        - name: x-canary\n          exact: "false"\n'), fixTitle: 'Quote false as "false"',
  },
  // Consul requires PathExact and PathPrefix, when set, to start with "/" (PathRegex need not).
  {
    name: 'Consul JSON: PathPrefix without its leading slash',
    file: 'api.json',
    text: intentionsJson('{ "PathPrefix": "assets/" }'),
    code: 'MPA0105', message: 'PathPrefix must start with "/" (got "assets/")', covers: '"assets/"',
    fixed: intentionsJson('{ "PathPrefix": "/assets/" }'), fixTitle: 'Start the path with /',
  },
  {
    name: 'Consul HCL: PathExact without its leading slash, snake_case key',
    file: 'api.hcl',
    text: intentionsHcl('          path_exact = "healthz"  # probe\n'),
    code: 'MPA0105', message: 'PathExact must start with "/" (got "healthz")', covers: '"healthz"',
    fixed: intentionsHcl('          path_exact = "/healthz"  # probe\n'), fixTitle: 'Start the path with /',
  },
  {
    name: 'Consul CRD: pathPrefix without its leading slash keeps its quoting',
    text: intentionsCrd("        pathPrefix: 'v1/'\n"),
    code: 'MPA0105', message: 'pathPrefix must start with "/" (got "v1/")', covers: "'v1/'",
    fixed: intentionsCrd("        pathPrefix: '/v1/'\n"), fixTitle: 'Start the path with /',
  },
  {
    name: 'Consul CRD: a plain pathExact',
    text: intentionsCrd('        pathExact: healthz\n'),
    code: 'MPA0105', message: 'pathExact must start with "/" (got "healthz")', covers: 'healthz',
    fixed: intentionsCrd('        pathExact: /healthz\n'), fixTitle: 'Start the path with /',
  },
  // Gateway API: an Exact or PathPrefix path starts with "/" (a CEL rule of the CRD; our schema's if/then).
  {
    name: 'Linkerd HTTPRoute: PathPrefix without its leading slash',
    text: 'apiVersion: gateway.networking.k8s.io/v1\nkind: HTTPRoute\nmetadata:\n  name: books\n  namespace: shop\nspec:\n  parentRefs:\n  - name: web\n    kind: Server\n    group: policy.linkerd.io\n  rules:\n  - matches:\n    - path:\n        type: PathPrefix\n        value: api/books  # keep\n',
    code: 'MPA0107', message: 'an Exact or PathPrefix path must start with "/"', covers: 'value',
    fixed: 'apiVersion: gateway.networking.k8s.io/v1\nkind: HTTPRoute\nmetadata:\n  name: books\n  namespace: shop\nspec:\n  parentRefs:\n  - name: web\n    kind: Server\n    group: policy.linkerd.io\n  rules:\n  - matches:\n    - path:\n        type: PathPrefix\n        value: /api/books  # keep\n', fixTitle: 'Start the path with /',
  },
  {
    name: 'missing required field in a block mapping',
    text: ap('  targetRef:\n    kind: Service\n  rules:\n  - {}\n'),
    code: 'MPA0102', message: 'missing required field "name" in target reference', covers: 'targetRef',
  },
  {
    name: 'selector and targetRefs together',
    text: ap('  selector:\n    matchLabels:\n      app: a\n  targetRefs:\n  - kind: Service\n    name: a\n'),
    code: 'MPA0107', message: 'only one of selector, targetRef or targetRefs may be set', covers: 'targetRefs',
  },
  {
    name: 'Linkerd Server proxyProtocol',
    text: 'apiVersion: policy.linkerd.io/v1beta3\nkind: Server\nmetadata:\n  name: web\n  namespace: app\nspec:\n  podSelector:\n    matchLabels:\n      app: web\n  port: http\n  proxyProtocol: http/1\n',
    code: 'MPA0104', message: 'proxyProtocol must be one of unknown, HTTP/1, HTTP/2, gRPC, opaque, TLS (got "http/1")', covers: 'http/1',
    fixed: 'apiVersion: policy.linkerd.io/v1beta3\nkind: Server\nmetadata:\n  name: web\n  namespace: app\nspec:\n  podSelector:\n    matchLabels:\n      app: web\n  port: http\n  proxyProtocol: HTTP/1\n',
  },
  {
    name: 'Consul CRD action case',
    text: 'apiVersion: consul.hashicorp.com/v1alpha1\nkind: ServiceIntentions\nmetadata:\n  name: api\nspec:\n  destination:\n    name: api\n  sources:\n  - name: web\n    action: Allow\n',
    code: 'MPA0104', message: 'action must be one of allow, deny (got "Allow")', covers: 'Allow',
    fixed: 'apiVersion: consul.hashicorp.com/v1alpha1\nkind: ServiceIntentions\nmetadata:\n  name: api\nspec:\n  destination:\n    name: api\n  sources:\n  - name: web\n    action: allow\n',
  },
  {
    name: 'Consul HCL config entry, snake_case keys accepted, enum checked',
    file: 'api.hcl',
    text: 'Kind = "service-intentions"\nName = "api"\nSources = [\n  {\n    Name = "web"\n    Permissions = [\n      {\n        Action = "Allow"\n        HTTP {\n          path_prefix = "/v1"\n        }\n      }\n    ]\n  }\n]\n',
    code: 'MPA0104', message: 'Action must be one of allow, deny (got "Allow")', covers: '"Allow"',
    fixed: 'Kind = "service-intentions"\nName = "api"\nSources = [\n  {\n    Name = "web"\n    Permissions = [\n      {\n        Action = "allow"\n        HTTP {\n          path_prefix = "/v1"\n        }\n      }\n    ]\n  }\n]\n',
  },
  {
    name: 'Consul JSON config entry, missing field added in JSON style',
    file: 'api.json',
    text: '{\n  "Kind": "service-intentions",\n  "Name": "api",\n  "Sources": [\n    {\n      "Action": "allow"\n    }\n  ]\n}\n',
    code: 'MPA0102', message: 'missing required field "Name" in source', covers: '{',
  },
  {
    name: 'unserved API version',
    text: 'apiVersion: security.istio.io/v1alpha1\nkind: AuthorizationPolicy\nmetadata:\n  name: p\nspec: {}\n',
    code: 'MPA0003', message: 'AuthorizationPolicy is not served as security.istio.io/v1alpha1; use one of security.istio.io/v1, security.istio.io/v1beta1', covers: 'security.istio.io/v1alpha1',
    fixed: 'apiVersion: security.istio.io/v1\nkind: AuthorizationPolicy\nmetadata:\n  name: p\nspec: {}\n',
  },
];

function only(findings: Finding[], code: string): Finding {
  const matching = findings.filter((f) => f.code === code);
  assert.equal(matching.length, 1, `expected one ${code}, got: ${findings.map((f) => `${f.code} ${f.message}`).join(' | ')}`);
  return matching[0]!;
}

describe('schema findings: message, range and fix', () => {
  for (const c of cases) {
    it(c.name, () => {
      const result = engine.lintText(c.file ?? 'policy.yaml', c.text);
      const finding = only(result.findings, c.code);
      assert.equal(finding.message, c.message);
      const lines = result.file.lines;
      assert.equal(c.text.slice(lines.offset(finding.range.start), lines.offset(finding.range.end)).split('\n')[0], c.covers);
      if (c.fixed !== undefined) {
        const fix = finding.fixes?.find((f) => f.preferred);
        assert.ok(fix, 'expected a preferred fix');
        if (c.fixTitle !== undefined) assert.equal(fix.title, c.fixTitle);
        const after = applyEdits(c.text, fix.edits);
        assert.equal(after, c.fixed);
        assert.equal(engine.lintText(c.file ?? 'policy.yaml', after).findings.filter((f) => f.code === c.code).length, 0, 'fix did not clear the finding');
      }
    });
  }

  it('adds a missing field with the indentation of its siblings', () => {
    const text = ap('  targetRef:\n    kind: Service\n  rules:\n  - {}\n');
    const finding = only(engine.lintText('p.yaml', text).findings, 'MPA0102');
    const after = applyEdits(text, finding.fixes![0]!.edits);
    assert.equal(after, ap('  targetRef:\n    kind: Service\n    name: ""\n  rules:\n  - {}\n').replace('name: ""', after.includes('name: ""') ? 'name: ""' : after.split('\n')[8]!.trim()));
    assert.deepEqual(engine.lintText('p.yaml', after).findings.filter((f) => f.code === 'MPA0102'), []);
  });

  it('adds a missing field inside an HCL block that closes on the line of its last entry', () => {
    const head = 'Kind = "service-intentions"\nName = "api"\n';
    const cases: [string, string][] = [
      // (the end of that line is outside the block: a field there would set the entry's Name again)
      [`${head}Sources { Action = "allow" }\n`, `${head}Sources {\n  Action = "allow"\n  Name = "web"\n}\n`],
      [`${head}Sources {\n  Action = "allow" }\n`, `${head}Sources {\n  Action = "allow"\n  Name = "web"\n}\n`],
      [`${head}Sources { Sources { } }\n`, `${head}Sources {\n  Sources { }\n  Name = "web"\n}\n`],
      [`${head}Sources {\n  Action = "allow"\n}\n`, `${head}Sources {\n  Action = "allow"\n  Name = "web"\n}\n`],
    ];
    for (const [text, expected] of cases) {
      const finding = only(engine.lintText('api.hcl', text).findings, 'MPA0102');
      const after = applyEdits(text, finding.fixes![0]!.edits);
      assert.equal(after, expected);
      assert.deepEqual(engine.lintText('api.hcl', after).findings.filter((f) => f.code === 'MPA0001' || f.code === 'MPA0102'), [], after);
    }
  });

  it('a missing field is offered with a placeholder, never preferred (fix-all applies no guess)', () => {
    const text = 'apiVersion: policy.linkerd.io/v1alpha1\nkind: AuthorizationPolicy\nmetadata: {name: p, namespace: ns}\nspec:\n  targetRef: {group: policy.linkerd.io, kind: Server, name: s}\n';
    const finding = only(engine.lintText('p.yaml', text).findings, 'MPA0102');
    assert.equal(finding.fixes?.[0]?.title, 'Add the missing field "requiredAuthenticationRefs"');
    assert.deepEqual(finding.fixes?.filter((f) => f.preferred), []);
    // An empty list would authorize every client (Linkerd); a reference to fill in authorizes no one
    // while it names nothing that exists (the controller ignores such a policy).
    const after = applyEdits(text, finding.fixes![0]!.edits);
    assert.match(after, /\n {2}requiredAuthenticationRefs: \[\{kind: MeshTLSAuthentication, name: web-clients\}\]\n$/);
    assert.deepEqual(engine.lintText('p.yaml', after).findings.filter((f) => f.code === 'MPA0102' || f.code === 'MPA0001'), []);
  });

  it('a missing object or list of objects gets its required fields to fill in: no example that grants access', () => {
    // Consul: an example source with Action allow would allow that caller; a source with only its
    // Name is refused (Action or Permissions needed) until it is filled in.
    const text = 'Kind = "service-intentions"\nName = "api"\n';
    const finding = only(engine.lintText('api.hcl', text).findings, 'MPA0102');
    const after = applyEdits(text, finding.fixes![0]!.edits);
    assert.match(after, /\nSources = \[\{Name = "[^"]+"\}\]\n$/, after);
    assert.ok(engine.lintText('api.hcl', after).findings.some((f) => f.severity === 'error'), 'the placeholder source is not accepted as it is');
    const yaml = 'apiVersion: policy.linkerd.io/v1alpha1\nkind: AuthorizationPolicy\nmetadata: {name: p, namespace: ns}\nspec:\n  requiredAuthenticationRefs: []\n';
    const target = only(engine.lintText('p.yaml', yaml).findings, 'MPA0102');
    assert.match(applyEdits(yaml, target.fixes![0]!.edits), /\n {2}targetRef: \{kind: Server, name: [a-z-]+\}\n$/);
  });

  it('adds a missing field to a JSON object', () => {
    const text = '{\n  "Kind": "service-intentions",\n  "Name": "api",\n  "Sources": [\n    {\n      "Action": "allow"\n    }\n  ]\n}\n';
    const finding = only(engine.lintText('e.json', text).findings, 'MPA0102');
    const after = applyEdits(text, finding.fixes![0]!.edits);
    assert.match(after, /"Action": "allow",\n {6}"Name": "[^"]*"/);
  });

  it('a value as near to several allowed values offers each, the nearest first, none preferred (fix-all applies no guess)', () => {
    const text = 'apiVersion: policy.linkerd.io/v1beta3\nkind: Server\nmetadata:\n  name: voting-grpc\n  namespace: emojivoto\nspec:\n  podSelector:\n    matchLabels:\n      app: voting\n  port: grpc\n  proxyProtocol: HTTP/3\n';
    const finding = only(engine.lintText('s.yaml', text).findings, 'MPA0104');
    assert.deepEqual(finding.fixes?.filter((f) => f.preferred), []);
    // HTTP/1 and HTTP/2 are one edit away from HTTP/3; the rest follow in the schema's order.
    assert.deepEqual(finding.fixes?.map((f) => f.title), ['HTTP/1', 'HTTP/2', 'unknown', 'gRPC', 'opaque', 'TLS'].map((v) => `Change to "${v}"`));
  });

  it('Consul config entries: a wrong type consul config write converts is a warning; one it cannot convert stays an error', () => {
    // mapstructure, weakly typed: a single value where a list belongs is lifted, a number is its text.
    const converted = engine.lintText('api.hcl', intentionsHcl('          Methods = "GET"\n')).findings.filter((f) => f.code === 'MPA0103');
    assert.deepEqual(converted.map((f) => [f.severity, f.message]), [['warning', 'Methods must be a list (got the string "GET"); consul config write converts it and stores the entry']]);
    assert.deepEqual(converted[0]!.fixes?.filter((f) => f.preferred).map((f) => f.title), ['Wrap the value in a list']);
    // "maybe" is no bool to strconv.ParseBool: the entry does not decode, so every wrong type stays an error.
    const refused = engine.lintText('api.hcl', intentionsHcl('          Methods = "GET"\n          Header = [{ Name = "x", Present = "maybe" }]\n')).findings.filter((f) => f.code === 'MPA0103');
    assert.deepEqual(refused.map((f) => f.severity), ['error', 'error']);
    // The CRD goes through the API server, which converts nothing.
    const crd = engine.lintText('crd.yaml', intentionsCrd('        header:\n        - name: x-canary\n          exact: false\n')).findings.filter((f) => f.code === 'MPA0103');
    assert.deepEqual(crd.map((f) => f.severity), ['error']);
  });

  it('Consul config entries: an unknown key says that consul config write refuses the whole entry; the CRD\'s does not', () => {
    const entry = only(engine.lintText('api.hcl', intentionsHcl('          PathPrefx = "/v1"\n')).findings, 'MPA0101');
    assert.equal(entry.message, 'unknown field "PathPrefx" in HTTP match; did you mean "PathPrefix"? (consul config write refuses the whole entry: invalid config key)');
    assert.equal(entry.severity, 'error');
    const crd = only(engine.lintText('crd.yaml', intentionsCrd('        pathPrefx: /v1\n')).findings, 'MPA0101');
    assert.doesNotMatch(crd.message, /consul config write/);
  });

  it('a quoted value the schema would still refuse is offered, not preferred (fix-all applies no guess)', () => {
    // Consul's PathExact is a string that starts with "/": "5" is a string but still wrong.
    const text = intentionsJson('{ "PathExact": 5 }');
    const finding = only(engine.lintText('api.json', text).findings, 'MPA0103');
    assert.deepEqual(finding.fixes?.map((f) => [f.title, f.preferred ?? false]), [['Quote 5 as "5"', false]]);
    assert.equal(applyEdits(text, finding.fixes![0]!.edits), intentionsJson('{ "PathExact": "5" }'));
  });

  it('quotes only where a string is wanted, and PathRegex needs no leading slash', () => {
    const cases: { name: string; file: string; text: string; codes: string[] }[] = [
      // int-or-string: a number is right as it is
      { name: 'Linkerd Server port', file: 's.yaml', text: 'apiVersion: policy.linkerd.io/v1beta3\nkind: Server\nmetadata:\n  name: web\n  namespace: app\nspec:\n  podSelector:\n    matchLabels:\n      app: web\n  port: 8080\n', codes: [] },
      { name: 'a string where a list of strings belongs', file: 'p.yaml', text: ap('  rules:\n  - to:\n    - operation:\n        ports: "9090"\n'), codes: ['MPA0103'] },
      { name: 'Consul PathRegex', file: 'api.json', text: intentionsJson('{ "PathRegex": "assets/.*" }'), codes: [] },
      { name: 'Consul empty PathPrefix', file: 'api.hcl', text: intentionsHcl('          PathPrefix = ""\n          Methods = ["GET"]\n'), codes: [] },
    ];
    for (const c of cases) {
      // (the schema's findings: MPA3014, say, reads what the allow-only permissions of these entries do)
      const findings = engine.lintText(c.file, c.text).findings.filter((f) => f.code.startsWith('MPA01'));
      assert.deepEqual(findings.map((f) => f.code), c.codes, c.name);
      for (const finding of findings) assert.deepEqual(finding.fixes?.filter((f) => /^Quote /.test(f.title)) ?? [], [], c.name);
    }
  });

  it('fixes keep comments and formatting elsewhere', () => {
    const text = '# team: payments\n' + ap('  # who may call\n  action: allow   # keep me\n  rules:\n  - {}\n');
    const finding = only(engine.lintText('p.yaml', text).findings, 'MPA0104');
    assert.equal(applyEdits(text, finding.fixes![0]!.edits), text.replace('action: allow', 'action: ALLOW'));
  });
});

describe('what is left alone', () => {
  it('ignores other YAML, including broken YAML', () => {
    const deployment = 'apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: web\nspec:\n  replicas: [1\n';
    assert.deepEqual(engine.lintText('deploy.yaml', deployment).findings, []);
    assert.deepEqual(engine.lintText('values.yaml', 'image:\n  tag: latest\nfoo: : bar\n').findings, []);
    assert.deepEqual(engine.lintText('package.json', '{"name": "x", "version": }').findings, []);
    assert.deepEqual(engine.lintText('nomad.hcl', 'job "x" {\n  datacenters = [\n').findings, []);
  });

  it('reports syntax errors in files that name a mesh group or Consul kind, even when no policy could be recognized', () => {
    const brokenQuote = 'apiVersion: "security.istio.io/v1\nkind: AuthorizationPolicy\nmetadata:\n  name: x\nspec:\n  action: allow\n';
    const cases: { file: string; text: string; reported: boolean }[] = [
      { file: 'q.yaml', text: brokenQuote, reported: true },
      { file: 'l.yaml', text: 'apiVersion: policy.linkerd.io/v1beta3\nkind: Server\nspec: [\n', reported: true },
      { file: 'c.hcl', text: 'Kind = "service-intentions\nName = "api"\n', reported: true },
      { file: 'c.json', text: '{"kind": "service-intentions", "Name": }', reported: true },
      { file: 'helm.yaml', text: `{{- if .Values.enabled }}\n${brokenQuote}{{- end }}\n`, reported: false },
      { file: 'route.yaml', text: 'apiVersion: gateway.networking.k8s.io/v1\nkind: HTTPRoute\nspec: [\n', reported: false },
      { file: 'notes.yaml', text: 'see: "security.istio.io/v1\n', reported: false },
    ];
    for (const c of cases) {
      const findings = engine.lintText(c.file, c.text).findings;
      assert.deepEqual(findings.map((f) => f.code), c.reported ? ['MPA0001'] : [], c.file);
    }
  });

  it('a key set twice is MPA0001 at the second, in YAML and in HCL; repeated HCL blocks are a list', () => {
    const intentions = 'Kind = "service-intentions"\nName = "api"\n';
    const cases: { file: string; text: string; at: [number, number][] }[] = [
      { file: 'p.yaml', text: 'apiVersion: security.istio.io/v1\nkind: AuthorizationPolicy\nmetadata:\n  name: a\n  name: b\nspec: {}\n', at: [[4, 2]] },
      { file: 'c.hcl', text: `${intentions}Name = "web"\nSources = [{Name = "x", Action = "allow"}]\n`, at: [[2, 0]] },
      { file: 'c.hcl', text: `${intentions}Sources {\n  Name = "x"\n  Action = "allow"\n  Action = "deny"\n}\n`, at: [[5, 2]] },
      { file: 'c.hcl', text: `${intentions}Sources {\n  Name = "x"\n  Action = "allow"\n}\nSources {\n  Name = "y"\n  Action = "deny"\n}\n`, at: [] },
      // Consul reads config entry keys in any case, with or without underscores: one field each.
      { file: 'c.hcl', text: `${intentions}name = "web"\nSources = [{Name = "x", Action = "allow"}]\n`, at: [[2, 0]] },
      { file: 'c.hcl', text: `${intentions}Sources {\n  Name = "x"\n  Permissions = [{Action = "allow", HTTP {\n    PathPrefix = "/a"\n    path_prefix = "/b"\n  }}]\n}\n`, at: [[6, 4]] },
    ];
    for (const c of cases) {
      const findings = engine.lintText(c.file, c.text).findings;
      assert.deepEqual(findings.map((f) => [f.code, f.range.start.line, f.range.start.character]), c.at.map(([line, character]) => ['MPA0001', line, character]), c.text);
    }
  });

  it('ignores Gateway API routes that do not attach to a Linkerd Server', () => {
    const route = 'apiVersion: gateway.networking.k8s.io/v1\nkind: HTTPRoute\nmetadata:\n  name: r\nspec:\n  parentRefs:\n  - name: public-gw\n  bogus: 1\n';
    assert.deepEqual(engine.lintText('route.yaml', route).findings, []);
    const linkerd = route.replace('  - name: public-gw\n', '  - name: web-http\n    group: policy.linkerd.io\n    kind: Server\n');
    assert.equal(engine.lintText('route.yaml', linkerd).findings[0]?.message, 'unknown field "bogus" in HTTPRoute spec');
  });

  it('reports a syntax error in a policy file without hiding the other documents', () => {
    const text = `${ap('  action: allow\n')}---\napiVersion: security.istio.io/v1\nkind: AuthorizationPolicy\nmetadata:\n  name: q\nspec:\n  rules: [\n---\n${ap('  action: deny\n')}`;
    const findings = engine.lintText('multi.yaml', text).findings;
    assert.deepEqual(findings.map((f) => [f.code, f.range.start.line]), [['MPA0104', 6], ['MPA0001', 13], ['MPA0104', 21]]);
  });

  it('checks the items of a kubectl List dump', () => {
    const text = 'apiVersion: v1\nkind: List\nitems:\n- apiVersion: security.istio.io/v1\n  kind: AuthorizationPolicy\n  metadata:\n    name: a\n    uid: 123\n    managedFields: []\n  spec:\n    action: deny\n  status: {}\n';
    const result = engine.lintText('dump.yaml', text);
    assert.equal(result.resources.length, 1);
    assert.deepEqual(result.resources[0]!.path, ['items', 0]);
    assert.equal(result.findings[0]?.message, 'action must be one of ALLOW, DENY, AUDIT, CUSTOM (got "deny")');
    assert.equal(result.findings[0]?.range.start.line, 10);
  });

  it('drops null fields before validation, as the API server does', () => {
    assert.deepEqual(engine.lintText('p.yaml', ap('  selector:\n  action: DENY\n  rules:\n  - {}\n')).findings, []);
  });
});

describe('limits', () => {
  it('a 10,000-rule policy gets its findings capped with a summary', () => {
    const rules = Array.from({ length: 10_000 }, (_, i) => `  - to:\n    - operation:\n        ports: [${8000 + (i % 100)}]\n`).join('');
    const result = engine.lintText('huge.yaml', ap(`  rules:\n${rules}`));
    assert.ok(result.findings.some((f) => f.message === 'rules has 10000 items; at most 512 are allowed'));
    assert.ok(result.findings.some((f) => /more problems in this document are not shown/.test(f.message)));
    assert.ok(result.findings.length <= engine.options.maxFindingsPerDocument + 1);
  });

  it('an alias bomb in a policy file is reported, not expanded', () => {
    const lines = ['apiVersion: security.istio.io/v1', 'kind: AuthorizationPolicy', 'metadata: {name: bomb}', 'x0: &a0 [x, x, x, x, x, x, x, x, x, x]'];
    for (let i = 1; i < 12; i++) lines.push(`x${i}: &a${i} [${Array(10).fill(`*a${i - 1}`).join(', ')}]`);
    const findings = engine.lintText('bomb.yaml', lines.join('\n')).findings;
    assert.equal(findings.length, 1);
    assert.equal(findings[0]!.code, 'MPA0002');
  });

  it('a file over the size limit in a policy folder says so', () => {
    const small = new Engine(undefined, { limits: { ...engine.options.limits, maxFileBytes: 1000 } });
    const { findings } = small.lintText("big.yaml", ap("  action: DENY\n") + "#".repeat(2000));
    assert.equal(findings.length, 1);
    assert.match(findings[0]!.message, /file is too large to check/);
  });

  it('a file over the size limit names a mesh group anywhere in it: kubectl dumps, long annotations', () => {
    const small = new Engine(undefined, { limits: { ...engine.options.limits, maxFileBytes: 100_000 } });
    const deployments = Array.from({ length: 2000 }, (_, i) => `- apiVersion: apps/v1\n  kind: Deployment\n  metadata: {name: d${i}}\n`).join('');
    const policy = '- apiVersion: security.istio.io/v1\n  kind: AuthorizationPolicy\n  metadata: {name: p}\n  spec: {action: ALLOW}\n';
    const annotation = `metadata:\n  annotations:\n    big: "${'y'.repeat(200_000)}"\n`;
    const cases: { text: string; reported: boolean }[] = [
      { text: `apiVersion: v1\nkind: List\nitems:\n${deployments}${policy}`, reported: true },
      { text: `${annotation}apiVersion: security.istio.io/v1\nkind: AuthorizationPolicy\n`, reported: true },
      { text: `apiVersion: v1\nkind: List\nitems:\n${deployments}`, reported: false },
    ];
    for (const c of cases) {
      assert.ok(c.text.length > 100_000);
      assert.deepEqual(small.lintText('big.yaml', c.text).findings.map((f) => f.code), c.reported ? ['MPA0002'] : []);
    }
  });

  it('a file on disk over the size limit is scanned in chunks, not read whole, and judged alike', async () => {
    const small = new Engine(undefined, { limits: { ...engine.options.limits, maxFileBytes: 100_000, maxInventoryFileBytes: 100_000 } });
    const dir = scratchDir('mesh-policy-big-');
    // the chunks are 4 MiB: a mark split across the first boundary must still be found
    const filler = (n: number) => `# ${'z'.repeat(n - 3)}\n`;
    const boundary = 4 * 1024 * 1024;
    const mark = 'apiVersion: security.istio.io/v1\nkind: AuthorizationPolicy\n';
    const cases: { name: string; text: string; reported: boolean }[] = [
      { name: 'split.yaml', text: `${filler(boundary - 10)}${mark}${filler(1000)}`, reported: true },
      { name: 'late.yaml', text: `${filler(9 * 1024 * 1024)}${mark}`, reported: true },
      { name: 'other.yaml', text: `${filler(5 * 1024 * 1024)}apiVersion: apps/v1\nkind: Deployment\n`, reported: false },
      { name: 'helm.yaml', text: `${filler(5 * 1024 * 1024)}${mark}metadata: {name: {{ .Values.name }}}\n`, reported: false },
      { name: 'intentions.hcl', text: `${filler(200_000)}Kind = "service-intentions"\n`, reported: true },
    ];
    for (const c of cases) {
      const path = join(dir, c.name);
      writeFileSync(path, c.text);
      for (const file of [small.readFile(path), await small.readFileAsync(path)]) {
        assert.equal(file.text, '', `${c.name} is not held whole`);
        assert.deepEqual(small.lint(small.prepare(file)).findings.map((f) => f.code), c.reported ? ['MPA0002'] : [], c.name);
        // the same verdict as for the text in memory
        assert.deepEqual(small.lintText(path, c.text).findings.map((f) => f.code), c.reported ? ['MPA0002'] : [], `${c.name} in memory`);
      }
    }
    const within = join(dir, 'small.yaml');
    writeFileSync(within, ap('  action: DENY\n'));
    assert.equal(small.readFile(within).documents.length, 1, 'a file within the limit is parsed');
  });
});

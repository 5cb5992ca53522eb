import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { CONSUL_CHECKS } from '../../../server/src/engine/checks/consul';
import { runChecks } from '../../../server/src/engine/checks/runChecks';
import { defaultConfig, type ProjectConfig } from '../../../server/src/engine/config/projectConfig';
import { Engine } from '../../../server/src/engine/engine';
import type { Finding } from '../../../server/src/engine/findings';
import { WorkspaceModel } from '../../../server/src/engine/workspace';
import { applyEdits } from '../../helpers/edits';
import { FIXTURES, REPO_ROOT } from '../../helpers/paths';
import { crdYaml } from '../../helpers/crds';

/**
 * Consul semantic checks (MPA3xxx). One table per check: cases that must produce the code (file,
 * 1-based line and a piece of the message) and cases that must not, in the three forms Consul
 * intentions come in: the ServiceIntentions custom resource (YAML), and service-intentions config
 * entries in HCL and JSON. Cross-file checks get a workspace of several files.
 */

const engine = new Engine();

type Files = Record<string, string>;

interface Hit {
  name: string;
  files: Files;
  /** `file:line` of the expected finding (1-based line). */
  at: string;
  message: string;
  config?: Partial<ProjectConfig['consul']>;
}

interface Quiet {
  name: string;
  files: Files;
  config?: Partial<ProjectConfig['consul']>;
}

function lintAll(files: Files, consul?: Partial<ProjectConfig['consul']>): Finding[] {
  const config = defaultConfig('/ws');
  if (consul) config.consul = { ...config.consul, ...consul };
  const workspace = new WorkspaceModel(config);
  const prepared = Object.entries(files).map(([path, text]) => engine.prepare(engine.read(path, text)));
  for (const p of prepared) workspace.update(p);
  return prepared.flatMap((p) => engine.lint(p, workspace).findings);
}

function show(findings: Finding[]): string {
  return findings.length ? findings.map((f) => `${f.file}:${f.range.start.line + 1} ${f.code} ${f.message}`).join('\n  ') : 'no findings';
}

function table(code: string, hits: Hit[], quiet: Quiet[]): void {
  describe(`${code} triggers`, () => {
    for (const c of hits) {
      it(c.name, () => {
        const findings = lintAll(c.files, c.config);
        const found = findings.find((f) => f.code === code && `${f.file}:${f.range.start.line + 1}` === c.at && f.message.includes(c.message));
        assert.ok(found, `expected ${code} at ${c.at} with "${c.message}"; got:\n  ${show(findings)}`);
      });
    }
  });
  describe(`${code} stays quiet`, () => {
    for (const c of quiet) {
      it(c.name, () => {
        const findings = lintAll(c.files, c.config).filter((f) => f.code === code);
        assert.deepEqual(findings.map((f) => `${f.file}:${f.range.start.line + 1} ${f.message}`), []);
      });
    }
  });
}

/** Applies the preferred fix of the one finding with `code` and returns the new text. */
function fixOnce(path: string, text: string, code: string): string {
  const findings = engine.lintText(path, text).findings.filter((f) => f.code === code);
  assert.equal(findings.length, 1, `expected one ${code}; got:\n  ${show(findings)}`);
  const fix = findings[0]!.fixes?.find((f) => f.preferred);
  assert.ok(fix, 'expected a preferred fix');
  const after = applyEdits(text, fix.edits);
  const again = engine.lintText(path, after).findings;
  assert.deepEqual(again.filter((f) => f.code === code || f.code === 'MPA0001').map((f) => f.message), [], `the fix left:\n${after}`);
  return after;
}

const crd = (spec: string, name = 'api') => `apiVersion: consul.hashicorp.com/v1alpha1\nkind: ServiceIntentions\nmetadata:\n  name: ${name}\nspec:\n${spec}`;
const hcl = (body: string, name = 'api') => `Kind = "service-intentions"\nName = "${name}"\n${body}`;
const json = (entry: Record<string, unknown>) => `${JSON.stringify({ Kind: 'service-intentions', ...entry }, null, 2)}\n`;

// ---------------------------------------------------------------------------------------------
table('MPA3001', [
  {
    name: 'CRD: same source name twice',
    files: { '/ws/i.yaml': crd('  destination:\n    name: api\n  sources:\n    - name: web\n      action: allow\n    - name: web\n      action: deny\n') },
    at: '/ws/i.yaml:11', message: 'source "web" is already listed at line 9',
  },
  {
    name: 'HCL: the namespace written out is the destination\'s own',
    files: { '/ws/i.hcl': hcl('Sources = [\n  { Name = "web", Action = "allow" },\n  {\n    Name      = "web"\n    Namespace = "default"\n    Action    = "deny"\n  },\n]\n') },
    at: '/ws/i.hcl:6', message: 'source "web" is already listed at line 4',
  },
  {
    name: 'HCL: inherited non-default namespace (Enterprise)',
    files: { '/ws/i.hcl': 'Kind = "service-intentions"\nName = "api"\nNamespace = "team"\nSources = [\n  { Name = "web", Action = "allow" },\n  { Name = "web", Namespace = "team", Action = "deny" },\n]\n' },
    at: '/ws/i.hcl:6', message: 'source "team/web" is already listed',
  },
  {
    name: 'HCL: repeated Sources blocks',
    files: { '/ws/i.hcl': hcl('Sources {\n  Name   = "web"\n  Action = "allow"\n}\nSources {\n  Name   = "web"\n  Action = "allow"\n}\n') },
    at: '/ws/i.hcl:8', message: 'source "web" is already listed at line 3',
  },
  {
    name: 'JSON: same peer source twice',
    files: { '/ws/i.json': json({ Name: 'api', Sources: [{ Name: 'web', Peer: 'dc2', Action: 'allow' }, { Name: 'web', Peer: 'dc2', Action: 'deny' }] }) },
    at: '/ws/i.json:11', message: 'source "web from peer dc2" is already listed at line 5',
  },
], [
  { name: 'CRD: different names', files: { '/ws/i.yaml': crd('  destination:\n    name: api\n  sources:\n    - name: web\n      action: allow\n    - name: "*"\n      action: deny\n') } },
  { name: 'HCL: same name, one from a peer', files: { '/ws/i.hcl': hcl('Sources = [\n  { Name = "web", Action = "allow" },\n  { Name = "web", Peer = "dc2", Action = "deny" },\n]\n') } },
  { name: 'HCL: same name, other namespace', files: { '/ws/i.hcl': hcl('Sources = [\n  { Name = "web", Action = "allow" },\n  { Name = "web", Namespace = "other", Action = "deny" },\n]\n') } },
  { name: 'JSON: names differ in case only (Consul compares exactly)', files: { '/ws/i.json': json({ Name: 'api', Sources: [{ Name: 'web', Action: 'allow' }, { Name: 'Web', Action: 'deny' }] }) } },
  { name: 'JSON: same name, one from a sameness group', files: { '/ws/i.json': json({ Name: 'api', Sources: [{ Name: 'web', Action: 'allow' }, { Name: 'web', SamenessGroup: 'sg', Action: 'deny' }] }) } },
]);

describe('MPA3001 fix: remove an identical repeated source', () => {
  it('CRD block list', () => {
    const text = crd('  destination:\n    name: api\n  sources:\n    - name: web\n      action: allow\n    - name: web   # again\n      action: allow\n    - name: db\n      action: deny\n');
    assert.equal(fixOnce('i.yaml', text, 'MPA3001'), crd('  destination:\n    name: api\n  sources:\n    - name: web\n      action: allow\n    - name: db\n      action: deny\n'));
  });
  it('HCL list', () => {
    const text = hcl('Sources = [\n  {\n    Name   = "web"\n    Action = "allow"\n  },\n  # repeated\n  {\n    Name   = "web"\n    Action = "allow"\n  },\n]\n');
    assert.equal(fixOnce('i.hcl', text, 'MPA3001'), hcl('Sources = [\n  {\n    Name   = "web"\n    Action = "allow"\n  },\n  # repeated\n]\n'));
  });
  it('HCL repeated blocks', () => {
    const text = hcl('Sources {\n  Name   = "web"\n  Action = "allow"\n}\n\nSources {\n  Name   = "web"\n  Action = "allow"\n}\n');
    assert.equal(fixOnce('i.hcl', text, 'MPA3001'), hcl('Sources {\n  Name   = "web"\n  Action = "allow"\n}\n\n'));
  });
  it('JSON', () => {
    const text = json({ Name: 'api', Sources: [{ Name: 'web', Action: 'allow' }, { Name: 'web', Action: 'allow', Description: 'dup' }] });
    assert.equal(fixOnce('i.json', text, 'MPA3001'), json({ Name: 'api', Sources: [{ Name: 'web', Action: 'allow' }] }));
  });
  it('no fix when the two sources disagree', () => {
    const text = hcl('Sources = [\n  { Name = "web", Action = "allow" },\n  { Name = "web", Action = "deny" },\n]\n');
    const finding = engine.lintText('i.hcl', text).findings.find((f) => f.code === 'MPA3001');
    assert.ok(finding);
    assert.equal(finding.fixes, undefined);
  });
});

// ---------------------------------------------------------------------------------------------
const perm = (methods: string) => hcl(`Sources = [\n  {\n    Name = "web"\n    Permissions = [\n      {\n        Action = "allow"\n        HTTP {\n          PathPrefix = "/v1"\n          Methods    = ${methods}\n        }\n      },\n    ]\n  },\n]\n`);
table('MPA3002', [
  { name: 'HCL: GET and get', files: { '/ws/i.hcl': perm('["GET", "get"]') }, at: '/ws/i.hcl:11', message: 'method "get" repeats "GET": Consul upper-cases methods' },
  { name: 'HCL: post and Post', files: { '/ws/i.hcl': perm('["post", "HEAD", "Post"]') }, at: '/ws/i.hcl:11', message: 'contain "POST" more than once' },
  {
    name: 'JSON: multi-line list',
    files: { '/ws/i.json': json({ Name: 'api', Sources: [{ Name: 'web', Permissions: [{ Action: 'allow', HTTP: { PathPrefix: '/v1', Methods: ['GET', 'Get'] } }] }] }) },
    at: '/ws/i.json:14', message: 'method "Get" repeats "GET" (line 13)',
  },
], [
  { name: 'HCL: lower case without repeats (Consul upper-cases)', files: { '/ws/i.hcl': perm('["get", "head"]') } },
  { name: 'HCL: exact repeat is MPA0108, not this', files: { '/ws/i.hcl': perm('["GET", "GET"]') } },
  { name: 'CRD: the webhook does not upper-case; lower case is MPA0104', files: { '/ws/i.yaml': crd('  destination:\n    name: api\n  sources:\n    - name: web\n      permissions:\n        - action: allow\n          http:\n            methods: [GET, get]\n') } },
]);

describe('MPA3002 fix: remove the repeated method', () => {
  it('HCL one-line list', () => {
    assert.equal(fixOnce('i.hcl', perm('["GET", "get", "HEAD"]'), 'MPA3002'), perm('["GET", "HEAD"]'));
  });
  it('HCL multi-line list keeps the other lines', () => {
    assert.equal(fixOnce('i.hcl', perm('[\n            "GET",  # reads\n            "get",\n          ]'), 'MPA3002'), perm('[\n            "GET",  # reads\n          ]'));
  });
  it('JSON', () => {
    const text = json({ Name: 'api', Sources: [{ Name: 'web', Permissions: [{ Action: 'allow', HTTP: { Methods: ['get', 'GET'] } }] }] });
    assert.equal(fixOnce('i.json', text, 'MPA3002'), json({ Name: 'api', Sources: [{ Name: 'web', Permissions: [{ Action: 'allow', HTTP: { Methods: ['get'] } }] }] }));
  });
});

// ---------------------------------------------------------------------------------------------
table('MPA3003', [
  {
    name: 'JSON: consul config read output written back',
    files: { '/ws/i.json': json({ Name: 'billing', Sources: [{ Name: 'cron', Action: 'allow', LegacyID: 'x', LegacyMeta: { ticket: 'OPS-1' } }] }) },
    at: '/ws/i.json:9', message: 'LegacyMeta must be omitted',
  },
  {
    name: 'HCL: snake_case legacy_meta',
    files: { '/ws/i.hcl': hcl('Sources = [\n  {\n    Name        = "cron"\n    Action      = "allow"\n    legacy_meta = { ticket = "OPS-1" }\n  },\n]\n') },
    at: '/ws/i.hcl:7', message: 'LegacyMeta must be omitted',
  },
], [
  { name: 'JSON: LegacyID and legacy times are cleared by Consul', files: { '/ws/i.json': json({ Name: 'billing', Sources: [{ Name: 'cron', Action: 'allow', LegacyID: 'x', LegacyCreateTime: '2020-11-02T10:15:00Z', LegacyUpdateTime: '2020-11-02T10:15:00Z' }] }) } },
  { name: 'JSON: empty LegacyMeta', files: { '/ws/i.json': json({ Name: 'billing', Sources: [{ Name: 'cron', Action: 'allow', LegacyMeta: {} }] }) } },
]);

describe('MPA3003 fix: remove LegacyMeta', () => {
  it('JSON, not the last field', () => {
    const text = json({ Name: 'billing', Sources: [{ Name: 'cron', LegacyMeta: { ticket: 'OPS-1' }, Action: 'allow' }] });
    assert.equal(fixOnce('i.json', text, 'MPA3003'), json({ Name: 'billing', Sources: [{ Name: 'cron', Action: 'allow' }] }));
  });
  it('JSON, the last field', () => {
    const text = json({ Name: 'billing', Sources: [{ Name: 'cron', Action: 'allow', LegacyMeta: { ticket: 'OPS-1' } }] });
    assert.equal(fixOnce('i.json', text, 'MPA3003'), json({ Name: 'billing', Sources: [{ Name: 'cron', Action: 'allow' }] }));
  });
  it('HCL, a multi-line block', () => {
    const text = hcl('Sources = [\n  {\n    Name   = "cron"\n    LegacyMeta = {\n      ticket = "OPS-1"\n    }\n    Action = "allow" # keep\n  },\n]\n');
    assert.equal(fixOnce('i.hcl', text, 'MPA3003'), hcl('Sources = [\n  {\n    Name   = "cron"\n    Action = "allow" # keep\n  },\n]\n'));
  });
});

// ---------------------------------------------------------------------------------------------
table('MPA3004', [
  { name: 'HCL: SamenessGroup', files: { '/ws/i.hcl': hcl('Sources = [\n  { Name = "web", SamenessGroup = "sg", Action = "allow" },\n]\n') }, at: '/ws/i.hcl:4', message: 'SamenessGroup needs Consul Enterprise' },
  { name: 'HCL: snake_case sameness_group', files: { '/ws/i.hcl': hcl('Sources = [\n  {\n    Name = "web"\n    sameness_group = "sg"\n    Action = "allow"\n  },\n]\n') }, at: '/ws/i.hcl:6', message: 'Sameness groups are a Consul Enterprise feature.' },
  { name: 'JSON: destination namespace', files: { '/ws/i.json': json({ Name: 'api', Namespace: 'team', Sources: [{ Name: 'web', Action: 'allow' }] }) }, at: '/ws/i.json:4', message: 'Namespace "team" needs Consul Enterprise' },
  { name: 'JSON: source partition', files: { '/ws/i.json': json({ Name: 'api', Sources: [{ Name: 'web', Partition: 'p1', Action: 'allow' }] }) }, at: '/ws/i.json:7', message: 'Partition "p1" needs Consul Enterprise admin partitions' },
  { name: 'JSON: wildcard namespace', files: { '/ws/i.json': json({ Name: '*', Namespace: '*', Sources: [{ Name: '*', Action: 'deny' }] }) }, at: '/ws/i.json:4', message: 'Namespace "*" needs Consul Enterprise' },
  { name: 'CRD: any destination namespace, even default', files: { '/ws/i.yaml': crd('  destination:\n    name: api\n    namespace: default\n  sources:\n    - name: web\n      action: allow\n') }, at: '/ws/i.yaml:8', message: 'destination.namespace needs Consul Enterprise namespaces' },
  { name: 'CRD: source partition', files: { '/ws/i.yaml': crd('  destination:\n    name: api\n  sources:\n    - name: web\n      partition: p1\n      action: allow\n') }, at: '/ws/i.yaml:10', message: 'Consul Enterprise Admin Partitions must be enabled to set source.partition' },
  { name: 'CRD: samenessGroup', files: { '/ws/i.yaml': crd('  destination:\n    name: api\n  sources:\n    - name: web\n      samenessGroup: sg\n      action: allow\n') }, at: '/ws/i.yaml:10', message: 'samenessGroup needs Consul Enterprise' },
], [
  { name: 'HCL: Namespace and Partition "default"', files: { '/ws/i.hcl': 'Kind = "service-intentions"\nName = "api"\nNamespace = "default"\nPartition = "default"\nSources = [\n  { Name = "web", Namespace = "default", Action = "allow" },\n]\n' } },
  { name: 'JSON: Peer is CE', files: { '/ws/i.json': json({ Name: 'api', Sources: [{ Name: 'web', Peer: 'dc2', Action: 'allow' }] }) } },
  { name: 'CRD: Kubernetes metadata.namespace is not a Consul namespace', files: { '/ws/i.yaml': 'apiVersion: consul.hashicorp.com/v1alpha1\nkind: ServiceIntentions\nmetadata:\n  name: api\n  namespace: team\nspec:\n  destination:\n    name: api\n  sources:\n    - name: web\n      peer: dc2\n      action: allow\n' } },
]);

// ---------------------------------------------------------------------------------------------
const regexEntry = (pathRegex: string, header?: string) => json({
  Name: 'api',
  Sources: [{ Name: 'web', Permissions: [{ Action: 'allow', HTTP: { PathRegex: pathRegex, ...(header ? { Header: [{ Name: 'x-v', Regex: header }] } : {}) } }] }],
});
table('MPA3005', [
  { name: 'JSON: look-ahead', files: { '/ws/i.json': regexEntry('/a(?=b)') }, at: '/ws/i.json:11', message: 'PathRegex is not a valid RE2 regular expression (invalid or unsupported Perl syntax: `(?=`)' },
  { name: 'JSON: back-reference in a header regex', files: { '/ws/i.json': regexEntry('/a', '(a)\\1') }, at: '/ws/i.json:15', message: 'Header[0].Regex is not a valid RE2 regular expression (invalid escape sequence: `\\1`)' },
  { name: 'HCL: unclosed bracket', files: { '/ws/i.hcl': hcl('Sources = [\n  { Name = "web", Permissions = [{ Action = "deny", HTTP { PathRegex = "/[a-z" } }] },\n]\n') }, at: '/ws/i.hcl:4', message: 'missing closing ]' },
  { name: 'CRD: pathRegex', files: { '/ws/i.yaml': crd('  destination:\n    name: api\n  sources:\n    - name: web\n      permissions:\n        - action: allow\n          http:\n            pathRegex: "/x{2000}"\n') }, at: '/ws/i.yaml:13', message: 'pathRegex is not a valid RE2 regular expression (invalid repeat count' },
  { name: 'CRD: header regex', files: { '/ws/i.yaml': crd('  destination:\n    name: api\n  sources:\n    - name: web\n      permissions:\n        - action: allow\n          http:\n            header:\n              - name: ua\n                regex: "(?<!curl).*"\n') }, at: '/ws/i.yaml:15', message: 'header[0].regex is not a valid RE2' },
  // Envoy's re2.max_program_size.error_level defaults to 100 (envoy type/matcher/v3/regex.proto,
  // GoogleRE2); `(.?){1000}` compiles to thousands of instructions.
  { name: 'JSON: a program far over Envoy\'s size limit', files: { '/ws/i.json': regexEntry('/(.?){1000}') }, at: '/ws/i.json:11', message: 'PathRegex is not a valid RE2 regular expression (its RE2 program has 4,003 instructions, far over Envoy\'s limit of 100 (runtime key re2.max_program_size.error_level))' },
], [
  { name: 'JSON: a UUID pattern, well under Envoy\'s program size limit', files: { '/ws/i.json': regexEntry('/[^/]+/items/[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}') } },
  { name: 'JSON: RE2 patterns that JS and RE2 share', files: { '/ws/i.json': regexEntry('^/socket\\.io/.*$', '^v[0-9]+$') } },
  { name: 'JSON: RE2-only syntax (named group, Unicode class)', files: { '/ws/i.json': regexEntry('/(?P<id>[0-9]+)', '\\pL+') } },
  { name: 'HCL: no regex at all', files: { '/ws/i.hcl': hcl('Sources = [\n  { Name = "web", Permissions = [{ Action = "deny", HTTP { PathPrefix = "/a" } }] },\n]\n') } },
]);

// ---------------------------------------------------------------------------------------------
const crdPerm = (http: string, destination = 'api') => crd(`  destination:\n    name: "${destination}"\n  sources:\n    - name: web\n      permissions:\n        - action: allow\n${http}`);
table('MPA3006', [
  { name: 'header with no matcher', files: { '/ws/i.yaml': crdPerm('          http:\n            header:\n              - name: x-team\n') }, at: '/ws/i.yaml:14', message: 'should only contain one of Present, Exact, Prefix, Suffix, or Regex' },
  { name: 'header with present: false only', files: { '/ws/i.yaml': crdPerm('          http:\n            header:\n              - name: x-team\n                present: false\n') }, at: '/ws/i.yaml:14', message: 'has none of present, exact' },
  { name: 'header with an empty name', files: { '/ws/i.yaml': crdPerm('          http:\n            header:\n              - name: ""\n                exact: a\n') }, at: '/ws/i.yaml:14', message: 'missing required Name field' },
  { name: 'permission without http', files: { '/ws/i.yaml': crdPerm('') }, at: '/ws/i.yaml:11', message: 'Sources[0].Permissions[0].HTTP is required' },
  { name: 'empty http block', files: { '/ws/i.yaml': crdPerm('          http: {}\n') }, at: '/ws/i.yaml:12', message: 'HTTP should not be empty' },
  { name: 'http with only empty strings', files: { '/ws/i.yaml': crdPerm('          http:\n            pathPrefix: ""\n') }, at: '/ws/i.yaml:12', message: 'sets no path, header or method' },
  { name: 'permissions on the wildcard destination', files: { '/ws/i.yaml': crdPerm('          http:\n            pathPrefix: /a\n', '*') }, at: '/ws/i.yaml:10', message: 'Permissions cannot be specified on intentions with wildcarded destinations' },
  { name: 'partial wildcard in a source name', files: { '/ws/i.yaml': crd('  destination:\n    name: api\n  sources:\n    - name: web-*\n      action: allow\n') }, at: '/ws/i.yaml:9', message: "wildcard character '*' cannot be used with partial values" },
  { name: 'partial wildcard in the destination', files: { '/ws/i.yaml': crd('  destination:\n    name: api*\n  sources:\n    - name: web\n      action: allow\n') }, at: '/ws/i.yaml:7', message: 'spec.destination.name "api*"' },
  { name: 'exact name after a wildcard namespace', files: { '/ws/i.yaml': crd('  destination:\n    name: api\n  sources:\n    - name: web\n      namespace: "*"\n      action: allow\n') }, at: '/ws/i.yaml:9', message: 'exact value cannot follow wildcard namespace' },
  { name: 'destination name missing', files: { '/ws/i.yaml': crd('  destination: {}\n  sources:\n    - name: web\n      action: allow\n') }, at: '/ws/i.yaml:6', message: 'Name is required' },
], [
  { name: 'a complete L7 resource', files: { '/ws/i.yaml': crdPerm('          http:\n            pathPrefix: /a\n            header:\n              - name: x-team\n                exact: sre\n              - name: x-debug\n                present: true\n                invert: true\n') } },
  { name: 'wildcards used whole', files: { '/ws/i.yaml': crd('  destination:\n    name: "*"\n  sources:\n    - name: "*"\n      namespace: "*"\n      action: deny\n') } },
  { name: 'methods alone are a criterion', files: { '/ws/i.yaml': crdPerm('          http:\n            methods: [GET]\n') } },
  { name: 'config entries are the schema\'s business', files: { '/ws/i.hcl': hcl('Sources = [\n  { Name = "web", Permissions = [{ Action = "deny", HTTP { Header = [{ Name = "x" }] } }] },\n]\n') } },
]);

// ---------------------------------------------------------------------------------------------
const simple = (metadataName: string, destination: string, source = 'web', extra = '') => crd(`  destination:\n    name: ${destination}\n${extra}  sources:\n    - name: ${source}\n      action: allow\n`, metadataName);
table('MPA3007', [
  { name: 'two resources in one file', files: { '/ws/i.yaml': `${simple('a', 'api')}---\n${simple('b', 'api', 'db')}` }, at: '/ws/i.yaml:18', message: 'ServiceIntentions "a" (line 1) also has spec.destination.name "api"' },
  { name: 'the first one is reported too', files: { '/ws/i.yaml': `${simple('a', 'api')}---\n${simple('b', 'api', 'db')}` }, at: '/ws/i.yaml:7', message: 'an existing ServiceIntentions resource has spec.destination.name: api' },
  { name: 'two files in one folder, different Kubernetes namespaces', files: { '/ws/k/a.yaml': simple('a', 'api').replace('  name: a\n', '  name: a\n  namespace: one\n'), '/ws/k/b.yaml': simple('b', 'api').replace('  name: b\n', '  name: b\n  namespace: two\n') }, at: '/ws/k/b.yaml:8', message: 'ServiceIntentions "a" (a.yaml:1)' },
], [
  { name: 'different destinations', files: { '/ws/i.yaml': `${simple('a', 'api')}---\n${simple('b', 'db')}` } },
  { name: 'same destination in different folders (per-environment copies)', files: { '/ws/prod/i.yaml': simple('a', 'api'), '/ws/staging/i.yaml': simple('a', 'api') } },
  { name: 'different Consul destination namespaces', files: { '/ws/i.yaml': `${simple('a', 'api', 'web', '    namespace: one\n')}---\n${simple('b', 'api', 'web', '    namespace: two\n')}` } },
  { name: 'a config entry is not a resource (MPA3008)', files: { '/ws/i.yaml': simple('a', 'api'), '/ws/i.hcl': hcl('Sources = [{ Name = "web", Action = "allow" }]\n') } },
]);

// ---------------------------------------------------------------------------------------------
table('MPA3008', [
  { name: 'HCL and JSON entries for one destination', files: { '/ws/c/a.hcl': hcl('Sources = [{ Name = "web", Action = "allow" }]\n'), '/ws/c/a.json': json({ Name: 'api', Sources: [{ Name: 'db', Action: 'allow' }] }) }, at: '/ws/c/a.hcl:2', message: 'the config entry (a.json:1) also defines the intentions of "api"; consul config write replaces the whole entry' },
  { name: 'a resource next to a config entry: reported on the resource', files: { '/ws/c/a.hcl': hcl('Sources = [{ Name = "web", Action = "allow" }]\n'), '/ws/c/i.yaml': simple('x', 'api') }, at: '/ws/c/i.yaml:7', message: 'the config entry (a.hcl:1) also defines the intentions of "api"; Consul holds one entry per destination' },
  { name: 'a resource next to a config entry: reported on the entry', files: { '/ws/c/a.hcl': hcl('Sources = [{ Name = "web", Action = "allow" }]\n'), '/ws/c/i.yaml': simple('x', 'api') }, at: '/ws/c/a.hcl:2', message: 'the ServiceIntentions "x" (i.yaml:1)' },
  { name: 'unset namespace is default', files: { '/ws/c/a.hcl': 'Kind = "service-intentions"\nName = "api"\nNamespace = "default"\nSources = [{ Name = "web", Action = "allow" }]\n', '/ws/c/b.json': json({ Name: 'api', Sources: [{ Name: 'web', Action: 'allow' }] }) }, at: '/ws/c/b.json:3', message: 'also defines' },
], [
  { name: 'different folders (another installation)', files: { '/ws/vm/a.hcl': hcl('Sources = [{ Name = "web", Action = "allow" }]\n'), '/ws/k8s/i.yaml': simple('x', 'api') } },
  { name: 'different destinations', files: { '/ws/c/a.hcl': hcl('Sources = [{ Name = "web", Action = "allow" }]\n'), '/ws/c/b.hcl': hcl('Sources = [{ Name = "web", Action = "allow" }]\n', 'db') } },
  { name: 'different namespaces', files: { '/ws/c/a.hcl': 'Kind = "service-intentions"\nName = "api"\nNamespace = "one"\nSources = [{ Name = "web", Action = "allow" }]\n', '/ws/c/b.hcl': hcl('Sources = [{ Name = "web", Action = "allow" }]\n') } },
  { name: 'the resource migrates the entry', files: { '/ws/c/a.hcl': hcl('Sources = [{ Name = "web", Action = "allow" }]\n'), '/ws/c/i.yaml': simple('x', 'api').replace('  name: x\n', '  name: x\n  annotations:\n    consul.hashicorp.com/migrate-entry: "true"\n') } },
  { name: 'two resources are MPA3007', files: { '/ws/c/i.yaml': `${simple('a', 'api')}---\n${simple('b', 'api')}` } },
]);

// ---------------------------------------------------------------------------------------------
const l7 = (perms: string) => hcl(`Sources = [\n  {\n    Name = "web"\n    Permissions = [\n${perms}    ]\n  },\n]\n`);
const p = (action: string, http: string, jwt = '') => `      {\n        Action = "${action}"\n        HTTP { ${http} }\n${jwt}      },\n`;
table('MPA3009', [
  { name: 'HCL: allow "/" first', files: { '/ws/i.hcl': l7(p('allow', 'PathPrefix = "/"') + p('deny', 'PathPrefix = "/admin"')) }, at: '/ws/i.hcl:11', message: 'Permissions[1] is never reached: Permissions[0] (line 7) matches every request' },
  { name: 'HCL: catch-all regex', files: { '/ws/i.hcl': l7(p('deny', 'PathRegex = ".*"') + p('allow', 'PathExact = "/healthz"')) }, at: '/ws/i.hcl:11', message: 'its "allow" never applies' },
  { name: 'HCL: prefix covers a longer prefix with a method subset', files: { '/ws/i.hcl': l7(p('allow', 'PathPrefix = "/v1", Methods = ["GET", "HEAD"]') + p('allow', 'PathPrefix = "/v1/items", Methods = ["get"]')) }, at: '/ws/i.hcl:11', message: 'matches every request this one matches' },
  { name: 'HCL: same permission twice', files: { '/ws/i.hcl': l7(p('deny', 'PathExact = "/a"') + p('deny', 'PathExact = "/a"')) }, at: '/ws/i.hcl:11', message: 'it is redundant' },
  {
    name: 'JSON: header conditions of the first are in the second',
    files: { '/ws/i.json': json({ Name: 'api', Sources: [{ Name: 'web', Permissions: [{ Action: 'allow', HTTP: { Header: [{ Name: 'X-Team', Exact: 'ops' }] } }, { Action: 'deny', HTTP: { PathPrefix: '/x', Header: [{ Name: 'x-team', Exact: 'ops' }, { Name: 'x-b', Present: true }] } }] }] }) },
    at: '/ws/i.json:19', message: 'Permissions[1] is never reached: Permissions[0] (line 8)',
  },
  // rbac.go removePermissionPrecedence AND-NOTs each earlier permission's `Perm` (convertPermission:
  // HTTP criteria only; Flatten adds the JWT to the permission's own rule), so an earlier
  // permission with a JWT requirement still hides every later one its criteria cover.
  { name: 'HCL: an earlier permission with a JWT requirement still hides the later one', files: { '/ws/i.hcl': l7(p('allow', 'PathPrefix = "/"', '        JWT { Providers = [{ Name = "okta" }] }\n') + p('deny', 'PathPrefix = "/admin"')) }, at: '/ws/i.hcl:12', message: 'Permissions[1] is never reached: Permissions[0] (line 7) matches every request, and the first matching permission decides (its JWT requirement does not change that' },
  { name: 'CRD: methods only, then a subset', files: { '/ws/i.yaml': crd('  destination:\n    name: api\n  sources:\n    - name: web\n      permissions:\n        - action: deny\n          http:\n            methods: [DELETE, POST]\n        - action: allow\n          http:\n            pathPrefix: /a\n            methods: [POST]\n') }, at: '/ws/i.yaml:14', message: 'permissions[1] is never reached: permissions[0] (line 11)' },
], [
  { name: 'HCL: narrow first, broad last', files: { '/ws/i.hcl': l7(p('deny', 'PathPrefix = "/admin"') + p('allow', 'PathPrefix = "/"')) } },
  { name: 'HCL: prefix does not cover a regex', files: { '/ws/i.hcl': l7(p('allow', 'PathPrefix = "/v1"') + p('deny', 'PathRegex = "/v1/.*"')) } },
  { name: 'HCL: later has fewer methods restrictions', files: { '/ws/i.hcl': l7(p('allow', 'PathPrefix = "/v1", Methods = ["GET"]') + p('deny', 'PathPrefix = "/v1/x"')) } },
  { name: 'HCL: an earlier header condition the later lacks', files: { '/ws/i.hcl': l7(p('allow', 'PathPrefix = "/", Header = [{ Name = "x", Exact = "1" }]') + p('deny', 'PathPrefix = "/admin"')) } },
  { name: 'CRD: different sources are not compared', files: { '/ws/i.yaml': crd('  destination:\n    name: api\n  sources:\n    - name: "*"\n      action: allow\n    - name: web\n      permissions:\n        - action: deny\n          http:\n            pathPrefix: /admin\n') } },
]);

// ---------------------------------------------------------------------------------------------
const l7crd = crd('  destination:\n    name: api\n  sources:\n    - name: web\n      permissions:\n        - action: allow\n          http:\n            pathPrefix: /v1\n', 'api');
const l7hcl = hcl('Sources = [\n  {\n    Name = "web"\n    Permissions = [{ Action = "allow", HTTP { PathPrefix = "/v1" } }]\n  },\n]\n');
const serviceDefaultsCrd = (protocol: string, name = 'api') => `apiVersion: consul.hashicorp.com/v1alpha1\nkind: ServiceDefaults\nmetadata:\n  name: ${name}\nspec:\n  protocol: ${protocol}\n`;
table('MPA3010', [
  { name: 'CRD + ServiceDefaults tcp in one file', files: { '/ws/i.yaml': `${serviceDefaultsCrd('tcp')}---\n${l7crd}` }, at: '/ws/i.yaml:17', message: 'service "api" has protocol "tcp" according to ServiceDefaults "api" (line 6), which is incompatible with L7 intentions permissions' },
  { name: 'HCL + service-defaults HCL in another folder', files: { '/ws/a/i.hcl': l7hcl, '/ws/b/d.hcl': 'Kind = "service-defaults"\nName = "api"\nprotocol = "TCP"\n' }, at: '/ws/a/i.hcl:6', message: 'protocol "tcp" according to service-defaults "api" (d.hcl:3)' },
  { name: 'JSON + proxy-defaults global protocol', files: { '/ws/i.json': json({ Name: 'api', Sources: [{ Name: 'web', Permissions: [{ Action: 'allow', HTTP: { PathPrefix: '/v1' } }] }] }), '/ws/p.hcl': 'Kind = "proxy-defaults"\nName = "global"\nConfig {\n  protocol = "tcp"\n}\n' }, at: '/ws/i.json:7', message: 'according to proxy-defaults "global" (p.hcl:4) (no service-defaults sets one)' },
  { name: 'service-defaults wins over proxy-defaults', files: { '/ws/i.hcl': l7hcl, '/ws/d.json': '{"Kind": "service-defaults", "Name": "api", "Protocol": "tcp"}', '/ws/p.yaml': 'apiVersion: consul.hashicorp.com/v1alpha1\nkind: ProxyDefaults\nmetadata:\n  name: global\nspec:\n  config:\n    protocol: http\n' }, at: '/ws/i.hcl:6', message: 'service-defaults "api" (d.json:1)' },
], [
  { name: 'no defaults in the workspace', files: { '/ws/i.yaml': l7crd } },
  { name: 'http service', files: { '/ws/i.yaml': `${serviceDefaultsCrd('http')}---\n${l7crd}` } },
  { name: 'grpc service', files: { '/ws/i.hcl': l7hcl, '/ws/d.hcl': 'Kind = "service-defaults"\nName = "api"\nProtocol = "grpc"\n' } },
  { name: 'defaults for another service', files: { '/ws/i.yaml': `${serviceDefaultsCrd('tcp', 'db')}---\n${l7crd}` } },
  { name: 'one http declaration among copies', files: { '/ws/i.hcl': l7hcl, '/ws/vm/d.hcl': 'Kind = "service-defaults"\nName = "api"\nProtocol = "tcp"\n', '/ws/k8s/d.yaml': serviceDefaultsCrd('http2') } },
  { name: 'L4 intentions on a tcp service', files: { '/ws/i.yaml': `${serviceDefaultsCrd('tcp')}---\n${simple('api', 'api')}` } },
  { name: 'proxy-defaults not named global is ignored', files: { '/ws/i.hcl': l7hcl, '/ws/p.hcl': 'Kind = "proxy-defaults"\nName = "other"\nConfig {\n  protocol = "tcp"\n}\n' } },
]);

// ---------------------------------------------------------------------------------------------
const jwtProviderCrd = (name: string) => `apiVersion: consul.hashicorp.com/v1alpha1\nkind: JWTProvider\nmetadata:\n  name: ${name}\nspec:\n  issuer: https://issuer.example\n`;
const jwtHcl = hcl('JWT {\n  Providers = [{ Name = "okta" }]\n}\nSources = [\n  {\n    Name = "web"\n    Permissions = [\n      {\n        Action = "allow"\n        HTTP { PathPrefix = "/" }\n        JWT { Providers = [{ Name = "auth0" }] }\n      },\n    ]\n  },\n]\n');
table('MPA3011', [
  { name: 'HCL: entry-level provider unknown', files: { '/ws/i.hcl': jwtHcl, '/ws/j.hcl': 'Kind = "jwt-provider"\nName = "auth0"\nIssuer = "https://a"\n' }, at: '/ws/i.hcl:4', message: 'JWT provider "okta" has no jwt-provider config entry in the workspace (known: "auth0")' },
  { name: 'HCL: permission-level provider unknown', files: { '/ws/i.hcl': jwtHcl, '/ws/j.json': '{"Kind": "jwt-provider", "Name": "okta"}' }, at: '/ws/i.hcl:13', message: 'Referenced JWT Provider does not exist. Provider Name: auth0' },
  { name: 'CRD with a JWTProvider resource in the same file', files: { '/ws/i.yaml': `${jwtProviderCrd('okta')}---\n${crd('  destination:\n    name: api\n  jwt:\n    providers:\n      - name: otka\n  sources:\n    - name: web\n      action: allow\n')}` }, at: '/ws/i.yaml:17', message: 'JWT provider "otka"' },
], [
  { name: 'no jwt-provider in the workspace', files: { '/ws/i.hcl': jwtHcl } },
  { name: 'every provider defined', files: { '/ws/i.hcl': jwtHcl, '/ws/j.yaml': `${jwtProviderCrd('okta')}---\n${jwtProviderCrd('auth0')}` } },
]);

// ---------------------------------------------------------------------------------------------
// Consul's agent configuration: ACLs on with a default policy of deny (the simulator reads it too)
const AGENT_DENY = 'acl {\n  enabled = true\n  default_policy = "deny"\n}\n';
table('MPA3012', [
  { name: 'HCL: deny-only source next to "*" deny, default allow', files: { '/ws/i.hcl': hcl('Sources = [\n  { Name = "web", Permissions = [{ Action = "deny", HTTP { PathPrefix = "/admin" } }] },\n  { Name = "*", Action = "deny" },\n]\n') }, at: '/ws/i.hcl:4', message: 'not by the "*" source of this entry, so they are allowed' },
  { name: 'JSON: default deny from .meshpolicy.yaml', config: { defaultIntentionPolicy: 'deny' }, files: { '/ws/i.json': json({ Name: 'api', Sources: [{ Name: 'web', Permissions: [{ Action: 'deny', HTTP: { Methods: ['DELETE'] } }] }] }) }, at: '/ws/i.json:7', message: 'which is deny here (consul.defaultIntentionPolicy): every request from "web" is denied' },
  { name: 'CRD', files: { '/ws/i.yaml': crd('  destination:\n    name: api\n  sources:\n    - name: web\n      permissions:\n        - action: deny\n          http:\n            pathPrefix: /a\n        - action: deny\n          http:\n            pathPrefix: /b\n') }, at: '/ws/i.yaml:10', message: 'every permission of source "web" is deny' },
  // (a permission whose JWT requirement fails leaves the request to the default: rbac.go Flatten)
  { name: 'HCL: a final deny-everything permission with a JWT requirement leaves failing tokens to the default', files: { '/ws/i.hcl': l7(p('deny', 'PathPrefix = "/admin"') + p('deny', 'PathPrefix = "/"', '        JWT { Providers = [{ Name = "okta" }] }\n')) }, at: '/ws/i.hcl:6', message: 'every permission of source "web" is deny' },
  { name: 'default deny from the workspace\'s agent configuration, which the message names', files: { '/ws/i.json': json({ Name: 'api', Sources: [{ Name: 'web', Permissions: [{ Action: 'deny', HTTP: { Methods: ['DELETE'] } }] }] }), '/ws/agent/acl.hcl': AGENT_DENY }, at: '/ws/i.json:7', message: 'which is deny here (agent configuration acl.hcl:1): every request from "web" is denied' },
], [
  { name: 'HCL: a final allow', files: { '/ws/i.hcl': l7(p('deny', 'PathPrefix = "/admin"') + p('allow', 'PathPrefix = "/"')) } },
  { name: 'HCL: allow only', files: { '/ws/i.hcl': l7(p('allow', 'PathPrefix = "/v1"')) } },
  { name: 'HCL: a final deny-everything permission', files: { '/ws/i.hcl': l7(p('deny', 'PathPrefix = "/admin"') + p('deny', 'PathPrefix = "/"')) } },
  { name: 'CRD: L4 deny', files: { '/ws/i.yaml': crd('  destination:\n    name: api\n  sources:\n    - name: web\n      action: deny\n') } },
]);

// ---------------------------------------------------------------------------------------------
const star = (action: string, extra = '') => hcl(`Sources = [\n${extra}  { Name = "*", Action = "${action}" },\n]\n`);
const outbound = (action: string, name = 'web') => json({ Name: '*', Sources: [{ Name: name, Action: action }] });
table('MPA3013', [
  { name: 'HCL "*" allow (default) against JSON web -> * deny', files: { '/ws/api.hcl': star('allow'), '/ws/web.json': outbound('deny') }, at: '/ws/api.hcl:4', message: '"web" -> "api": consul intention check answers allowed (this "*" source outranks "web" -> "*" deny, web.json:1), but the proxy has it denied' },
  { name: 'default deny: "*" deny against web -> * allow', config: { defaultIntentionPolicy: 'deny' }, files: { '/ws/api.hcl': star('deny'), '/ws/web.json': outbound('allow') }, at: '/ws/api.hcl:4', message: 'answers denied' },
  { name: 'default deny from the agent configuration', files: { '/ws/api.hcl': star('deny'), '/ws/web.json': outbound('allow'), '/ws/agent/acl.hcl': AGENT_DENY }, at: '/ws/api.hcl:4', message: 'this deny is the default (agent configuration acl.hcl:1)' },
  { name: 'CRD form, both in one file', files: { '/ws/i.yaml': `${simple('api', 'api', '"*"')}---\n${crd('  destination:\n    name: "*"\n  sources:\n    - name: web\n      action: deny\n', 'out')}` }, at: '/ws/i.yaml:9', message: 'but the proxy has it denied' },
], [
  { name: 'the "*" action is not the default: both evaluators agree', files: { '/ws/api.hcl': star('deny'), '/ws/web.json': outbound('allow') } },
  { name: 'same actions', files: { '/ws/api.hcl': star('allow'), '/ws/web.json': outbound('allow') } },
  { name: 'the entry names the caller itself', files: { '/ws/api.hcl': star('allow', '  { Name = "web", Action = "deny" },\n'), '/ws/web.json': outbound('deny') } },
  { name: 'the wildcard entry has only "*" sources', files: { '/ws/api.hcl': star('allow'), '/ws/all.json': outbound('deny', '*') } },
  { name: 'another namespace', files: { '/ws/api.hcl': star('allow'), '/ws/web.json': json({ Name: '*', Sources: [{ Name: 'web', Namespace: 'other', Action: 'deny' }] }) } },
  { name: 'L7 source', files: { '/ws/api.hcl': hcl('Sources = [\n  { Name = "*", Permissions = [{ Action = "allow", HTTP { PathPrefix = "/" } }] },\n]\n'), '/ws/web.json': outbound('deny') } },
]);

// ---------------------------------------------------------------------------------------------
// Spec §3.5: a request from a source with permissions that matches none gets the default intention policy.
table('MPA3014', [
  { name: 'HCL: allow-only source next to "*" deny, default allow (hashicorp/consul#10699)', files: { '/ws/i.hcl': hcl('Sources = [\n  { Name = "web", Permissions = [{ Action = "allow", HTTP { PathExact = "/api" } }] },\n  { Name = "*", Action = "deny" },\n]\n') }, at: '/ws/i.hcl:4', message: 'get the default intention policy (not the "*" deny source of this entry), which is allow here (consul.defaultIntentionPolicy): every request from "web" is allowed' },
  { name: 'JSON: two allow permissions', files: { '/ws/i.json': json({ Name: 'api', Sources: [{ Name: 'web', Permissions: [{ Action: 'allow', HTTP: { PathPrefix: '/v1' } }, { Action: 'allow', HTTP: { Methods: ['GET'] } }] }] }) }, at: '/ws/i.json:7', message: 'every permission of source "web" is allow' },
  { name: 'CRD', files: { '/ws/i.yaml': crd('  destination:\n    name: api\n  sources:\n    - name: web\n      permissions:\n        - action: allow\n          http:\n            pathPrefix: /v1\n') }, at: '/ws/i.yaml:10', message: 'these permissions restrict nothing' },
  { name: 'HCL: an allow after the last deny, default allow: only the deny restricts', files: { '/ws/i.hcl': l7(p('deny', 'PathPrefix = "/admin"') + p('allow', 'PathPrefix = "/api"')) }, at: '/ws/i.hcl:11', message: 'source "web"\'s allow permission Permissions[1], after its last deny, restricts nothing' },
  { name: 'CRD: two allows after a deny', files: { '/ws/i.yaml': crd('  destination:\n    name: api\n  sources:\n    - name: web\n      permissions:\n        - action: deny\n          http:\n            pathPrefix: /admin\n        - action: allow\n          http:\n            pathPrefix: /v1\n        - action: allow\n          http:\n            methods: [GET]\n') }, at: '/ws/i.yaml:14', message: 'allow permissions permissions[1], permissions[2], after its last deny, restrict nothing' },
], [
  { name: 'an allow before a deny is an exception to it (first match wins)', files: { '/ws/i.hcl': l7(p('allow', 'PathExact = "/admin/health"') + p('deny', 'PathPrefix = "/admin"')) } },
  { name: 'default deny from .meshpolicy.yaml: the allowlist it looks like', config: { defaultIntentionPolicy: 'deny' }, files: { '/ws/i.hcl': l7(p('allow', 'PathPrefix = "/v1"')) } },
  { name: 'default deny from the workspace\'s agent configuration', files: { '/ws/i.hcl': l7(p('allow', 'PathPrefix = "/v1"')), '/ws/agent/acl.hcl': AGENT_DENY } },
  { name: 'default deny from consul-k8s Helm values (manageSystemACLs)', files: { '/ws/i.hcl': l7(p('allow', 'PathPrefix = "/v1"')), '/ws/helm/values.yaml': 'global:\n  acls:\n    manageSystemACLs: true\n' } },
  { name: 'a final deny of the rest', files: { '/ws/i.hcl': l7(p('allow', 'PathPrefix = "/v1"') + p('deny', 'PathPrefix = "/"')) } },
  { name: 'deny only (MPA3012)', files: { '/ws/i.hcl': l7(p('deny', 'PathPrefix = "/admin"')) } },
  { name: 'L4 allow', files: { '/ws/i.yaml': crd('  destination:\n    name: api\n  sources:\n    - name: web\n      action: allow\n') } },
]);

// ---------------------------------------------------------------------------------------------
// consul-k8s writes Synced on ServiceIntentions: False with Consul's error when the config entry could not be written.
const SYNCED = (status: string, extra = '') => `status:\n  conditions:\n    - type: Synced\n      status: "${status}"\n${extra}`;
table('MPA3015', [
  { name: 'Synced False, with Consul\'s error', files: { '/ws/i.yaml': crd('  destination:\n    name: api\n  sources:\n    - name: web\n      action: allow\n') + SYNCED('False', '      reason: ConsulAgentError\n      message: "writing config entry to consul: Unexpected response code: 500 (service \\"api\\" has protocol \\"tcp\\")"\n') }, at: '/ws/i.yaml:14', message: 'consul-k8s reported Synced False (ConsulAgentError): writing config entry to consul: Unexpected response code: 500 (service "api" has protocol "tcp"); the cluster had not taken the resource as written when this status was saved with it' },
], [
  { name: 'Synced True', files: { '/ws/i.yaml': crd('  destination:\n    name: api\n  sources:\n    - name: web\n      action: allow\n') + SYNCED('True') } },
  { name: 'a config entry (no status there)', files: { '/ws/i.hcl': hcl('Sources = [\n  { Name = "web", Action = "allow" },\n]\n') } },
]);

// ---------------------------------------------------------------------------------------------
// The API server against the workspace's CRD: a consul-k8s release whose ServiceIntentions has no jwt.
const INTENTIONS_CRD_WITHOUT_JWT = crdYaml('consul.hashicorp.com', 'ServiceIntentions', 'serviceintentions', [{ name: 'v1alpha1', statusSubresource: true, schema: { type: 'object', properties: { spec: { type: 'object', properties: { destination: { type: 'object', properties: { name: { type: 'string' }, namespace: { type: 'string' } } }, sources: { type: 'array', maxItems: 2, items: { type: 'object', 'x-kubernetes-preserve-unknown-fields': true } } } } } } }]);
table('MPA3016', [
  { name: 'a field the CRD does not declare', files: { '/ws/i.yaml': crd('  destination:\n    name: api\n  jwt:\n    providers:\n      - name: okta\n  sources:\n    - name: web\n      action: allow\n'), '/ws/crds.yaml': INTENTIONS_CRD_WITHOUT_JWT }, at: '/ws/i.yaml:8', message: 'unknown field "spec.jwt": the CustomResourceDefinition serviceintentions.consul.hashicorp.com (crds.yaml) does not declare it in v1alpha1' },
  { name: 'more items than the CRD allows', files: { '/ws/i.yaml': crd('  destination:\n    name: api\n  sources:\n    - name: web\n      action: allow\n    - name: db\n      action: deny\n    - name: ops\n      action: allow\n'), '/ws/crds.yaml': INTENTIONS_CRD_WITHOUT_JWT }, at: '/ws/i.yaml:8', message: 'spec.sources: Too many: 3: must have at most 2 items' },
], [
  { name: 'what the CRD declares', files: { '/ws/i.yaml': crd('  destination:\n    name: api\n  sources:\n    - name: web\n      action: allow\n'), '/ws/crds.yaml': INTENTIONS_CRD_WITHOUT_JWT } },
  { name: 'a config entry, which is not a custom resource', files: { '/ws/i.hcl': hcl('JWT {\n  Providers = [\n    { Name = "okta" },\n  ]\n}\nSources = [\n  { Name = "web", Action = "allow" },\n]\n'), '/ws/crds.yaml': INTENTIONS_CRD_WITHOUT_JWT } },
]);

// ---------------------------------------------------------------------------------------------
const injected = (name: string, extra = '') => `apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: ${name}, namespace: apps}\nspec:\n  selector: {matchLabels: {app: ${name}}}\n  template:\n    metadata: {labels: {app: ${name}}, annotations: {consul.hashicorp.com/connect-inject: "true"${extra}}}\n    spec: {serviceAccountName: ${name}, containers: [{name: ${name}, image: ${name}}]}\n`;
const inventory = `${injected('dashboard')}---\n${injected('api')}---\n${injected('counting')}`;
table('MPA3017', [
  { name: 'HCL: a source one letter off a connect-injected workload', files: { '/ws/k8s.yaml': inventory, '/ws/i.hcl': hcl('Sources = [\n  { Name = "dashbord", Action = "allow" },\n]\n', 'counting') }, at: '/ws/i.hcl:4', message: 'service "dashbord" is not in the workspace, but "dashboard" is' },
  { name: 'JSON: a destination in another letter case', files: { '/ws/k8s.yaml': inventory, '/ws/i.json': json({ Name: 'API', Sources: [{ Name: 'dashboard', Action: 'allow' }] }) }, at: '/ws/i.json:3', message: 'so these intentions govern no service' },
  { name: 'CRD: a source close to the name a connect-service annotation gives', files: { '/ws/k8s.yaml': injected('web-v2', ', consul.hashicorp.com/connect-service: frontend'), '/ws/i.yaml': crd('  destination:\n    name: api\n  sources:\n    - name: frontnd\n      action: deny\n') }, at: '/ws/i.yaml:9', message: 'but "frontend" is' },
], [
  { name: 'every name is a workload', files: { '/ws/k8s.yaml': inventory, '/ws/i.hcl': hcl('Sources = [\n  { Name = "dashboard", Action = "allow" },\n  { Name = "*", Action = "deny" },\n]\n', 'counting') } },
  { name: 'a name close to no service is taken for one kept elsewhere', files: { '/ws/k8s.yaml': inventory, '/ws/i.hcl': hcl('Sources = [\n  { Name = "ops-console", Action = "allow" },\n]\n', 'payments') } },
  { name: 'no connect-injected workload: the inventory does not hold the mesh', files: { '/ws/i.hcl': hcl('Sources = [\n  { Name = "dashbord", Action = "allow" },\n]\n', 'counting'), '/ws/d.hcl': 'Kind = "service-defaults"\nName = "dashboard"\nProtocol = "http"\n' } },
  { name: 'a source from a peer', files: { '/ws/k8s.yaml': inventory, '/ws/i.hcl': hcl('Sources = [\n  { Name = "dashbord", Peer = "east", Action = "allow" },\n]\n', 'counting') } },
  { name: 'a source named by service-defaults only (a VM service)', files: { '/ws/k8s.yaml': inventory, '/ws/d.hcl': 'Kind = "service-defaults"\nName = "dashbord"\nProtocol = "http"\n', '/ws/i.hcl': hcl('Sources = [\n  { Name = "dashbord", Action = "allow" },\n]\n', 'counting') } },
]);

// ---------------------------------------------------------------------------------------------
describe('Consul checks: registry and repository data', () => {
  it('each check has a consul code, a docs page and runs on both forms where it says so', () => {
    const codes = CONSUL_CHECKS.map((c) => c.code);
    assert.deepEqual(codes, [...codes].sort());
    assert.equal(new Set(codes).size, codes.length);
    for (const check of CONSUL_CHECKS) {
      assert.match(check.code, /^MPA3\d{3}$/);
      assert.equal(check.mesh, 'consul');
      assert.ok(check.upstream, `${check.code} names no upstream message`);
      assert.ok(check.kinds.every((k) => k === 'ServiceIntentions' || k === 'service-intentions'));
      const page = join(REPO_ROOT, 'docs', 'rules', `${check.code}.md`);
      assert.ok(existsSync(page), `missing docs/rules/${check.code}.md`);
      assert.equal(readFileSync(page, 'utf8').split('\n', 1)[0], `# ${check.code}: ${check.title}`);
    }
  });

  it('the docs examples: Wrong gives the code shown, Right gives nothing', () => {
    for (const check of CONSUL_CHECKS) {
      const page = readFileSync(join(REPO_ROOT, 'docs', 'rules', `${check.code}.md`), 'utf8');
      const block = (heading: string) => {
        const section = page.split(`\n## ${heading}\n`)[1]!;
        const match = /```(yaml|hcl|json)\n([\s\S]*?)\n```/.exec(section)!;
        return { ext: match[1]!, body: `${match[2]!}\n` };
      };
      const wrong = block('Wrong');
      const findings = engine.lintText(`${check.code.toLowerCase()}-wrong.${wrong.ext}`, wrong.body).findings;
      const first = findings.find((f) => f.code === check.code);
      assert.ok(first, `${check.code}: Wrong example gave ${show(findings)}`);
      assert.ok(page.includes(`:${first.range.start.line + 1}:${first.range.start.character + 1} ${first.severity} ${first.code} ${first.message}`), `${check.code}: "What you see" is out of date: ${first.message}`);
      const right = block('Right');
      assert.deepEqual(engine.lintText(`${check.code.toLowerCase()}-right.${right.ext}`, right.body).findings.map((f) => `${f.code} ${f.message}`), [], `${check.code}: Right example`);
    }
  });

  it('examples/consul gets no Consul semantic finding', () => {
    const dir = join(REPO_ROOT, 'examples', 'consul');
    const files: Files = {};
    for (const sub of ['app', 'config', 'crds']) {
      for (const name of ['counting.yaml', 'api-defaults.hcl', 'api.hcl', 'counting.hcl', 'dashboard-defaults.json', 'dashboard.json', 'deny-all.json', 'service-defaults.yaml', 'service-intentions.yaml']) {
        const path = join(dir, sub, name);
        if (existsSync(path)) files[path] = readFileSync(path, 'utf8');
      }
    }
    assert.ok(Object.keys(files).length >= 9);
    assert.deepEqual(lintAll(files).filter((f) => f.code.startsWith('MPA3')).map((f) => `${f.file}:${f.range.start.line + 1} ${f.code}`), []);
  });

  it('a large entry is checked quickly (the checks alone, not reading and schema validation)', () => {
    const sources = Array.from({ length: 400 }, (_, i) => `  {\n    Name = "svc-${i}"\n    Permissions = [\n${Array.from({ length: 10 }, (_, j) => `      { Action = "${j % 2 ? 'deny' : 'allow'}", HTTP { PathPrefix = "/p${j}/", Methods = ["GET"] } },\n`).join('')}    ]\n  },\n`).join('');
    const prepared = engine.prepare(engine.read('/ws/big.hcl', hcl(`Sources = [\n${sources}]\n`)));
    const workspace = new WorkspaceModel(defaultConfig('/ws'));
    workspace.update(prepared);
    const resource = prepared.recognition.resources[0]!;
    const started = performance.now();
    const findings = runChecks(prepared.file, resource, workspace, CONSUL_CHECKS);
    const elapsed = performance.now() - started;
    assert.ok(elapsed < 1500, `took ${Math.round(elapsed)} ms`);
    assert.deepEqual(findings.map((f) => f.code), []);
  });

  it('the valid schema fixtures only get findings that Consul itself would give', () => {
    const dir = join(FIXTURES, 'schemas', 'consul', 'valid');
    const read = (name: string) => ({ [join(dir, name)]: readFileSync(join(dir, name), 'utf8') });
    // Writing back `consul config read` output with LegacyMeta fails (V13); Enterprise features warn.
    const legacy = lintAll(read('ce-read-output.json'), { defaultIntentionPolicy: 'deny' }).filter((f) => f.code.startsWith('MPA3'));
    assert.deepEqual(legacy.map((f) => f.code), ['MPA3003']);
    for (const name of ['ce-enterprise-wildcard.json', 'crd-enterprise.yaml', 'ce-snake-case.hcl']) {
      assert.ok(lintAll(read(name), { defaultIntentionPolicy: 'deny' }).filter((f) => f.code.startsWith('MPA3')).every((f) => f.code === 'MPA3004' && f.severity === 'warning'), name);
    }
    // (their allow-only permissions are an allowlist under a default deny; under the default allow MPA3014 says they restrict nothing)
    for (const name of ['ce-jwt.hcl', 'ce-jwt.json', 'ce-l4.hcl', 'ce-l4.json', 'ce-l7-blocks.hcl', 'ce-l7.json', 'crd-jwt.yaml', 'crd-kubectl-dump.yaml', 'crd-l4-allow-deny.yaml', 'crd-l7-permissions.yaml']) {
      assert.deepEqual(lintAll(read(name), { defaultIntentionPolicy: 'deny' }).map((f) => `${f.code} ${f.message}`), [], name);
    }
  });
});

describe('Consul checks: fixture workspace', () => {
  it('test/fixtures/checks/consul/workspace gives exactly the expected findings', () => {
    const dir = join(FIXTURES, 'checks', 'consul', 'workspace');
    const expected = JSON.parse(readFileSync(join(dir, 'expected.json'), 'utf8')) as string[];
    const files: Files = {};
    for (const name of ['k8s/intentions.yaml', 'k8s/defaults.yaml', 'vm/api.hcl', 'vm/api-defaults.hcl', 'vm/billing.json', 'vm/jwt-providers.hcl']) files[join(dir, name)] = readFileSync(join(dir, name), 'utf8');
    const got = lintAll(files).filter((f) => f.code.startsWith('MPA3')).map((f) => `${f.file.slice(dir.length + 1)}:${f.range.start.line + 1} ${f.code}`).sort();
    assert.deepEqual(got, [...expected].sort());
  });
});

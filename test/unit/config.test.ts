import assert from 'node:assert/strict';
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { runCli } from '../../server/src/cli/main';
import { runExplainCli } from '../../server/src/cli/simulate';
import { CLICKHOUSE_FIELDS } from '../../server/src/engine/config/clickhouseConfig';
import { defaultConfig, findConfig, loadConfig, parseConfig } from '../../server/src/engine/config/projectConfig';
import { Engine } from '../../server/src/engine/engine';
import { WorkspaceModel } from '../../server/src/engine/workspace';
import { scratchDir } from '../helpers/scratch';

const POLICY = 'apiVersion: security.istio.io/v1\nkind: AuthorizationPolicy\nmetadata:\n  name: p\nspec:\n  action: allow\n';

describe('.meshpolicy.yaml', () => {
  it('reads every documented key', () => {
    const config = parseConfig([
      'traffic: ["logs/**/*.log"]',
      'inventory: ["k8s/**/*.yaml"]',
      'istio: {rootNamespace: mesh-root, trustDomain: example.org, trustDomainAliases: [old.example.org, cluster.local], customProviderVerdicts: {opa: deny, ext-authz: allow}}',
      'linkerd: {defaultInboundPolicy: deny, clusterNetworks: [10.0.0.0/8], trustDomain: prod.example, controlPlaneNamespace: linkerd-system}',
      'consul: {defaultIntentionPolicy: deny}',
      'rules: {MPA0104: warning, MPA0101: "off"}',
      'readers: {format: envoy-json}',
    ].join('\n'), defaultConfig('/ws'));
    assert.deepEqual(config.problems.map((p) => p.message), []);
    assert.deepEqual(config.traffic, ['logs/**/*.log']);
    assert.deepEqual(config.inventory, ['k8s/**/*.yaml']);
    assert.deepEqual(config.istio, { rootNamespace: 'mesh-root', trustDomain: 'example.org', trustDomainAliases: ['old.example.org', 'cluster.local'], customProviderVerdicts: { opa: 'deny', 'ext-authz': 'allow' } });
    assert.deepEqual(config.linkerd, { defaultInboundPolicy: 'deny', clusterNetworks: ['10.0.0.0/8'], trustDomain: 'prod.example', controlPlaneNamespace: 'linkerd-system' });
    assert.equal(config.consul.defaultIntentionPolicy, 'deny');
    assert.deepEqual(config.rules, { MPA0104: 'warning', MPA0101: 'off' });
    assert.deepEqual(config.readers, { format: 'envoy-json' });
  });

  it('defaults work with no file, and mistakes are reported, not fatal', () => {
    const defaults = defaultConfig('/ws');
    assert.equal(defaults.istio.rootNamespace, 'istio-system');
    assert.equal(defaults.istio.trustDomain, 'cluster.local');
    assert.equal(defaults.linkerd.defaultInboundPolicy, 'all-unauthenticated');
    const bad = parseConfig('rules: {MPA0104: loud}\nlinkerd: {defaultInboundPolicy: open, defaultInboundPolcy: deny}\nistio: {rootNamspace: x}\nbogus: 1\n', defaultConfig('/ws'));
    assert.equal(bad.problems.length, 5);
    assert.ok(bad.problems.map((p) => p.message).includes('.meshpolicy.yaml: unknown key "linkerd.defaultInboundPolcy"'));
    assert.ok(bad.problems.map((p) => p.message).includes('.meshpolicy.yaml: unknown key "istio.rootNamspace"'));
    assert.equal(bad.linkerd.defaultInboundPolicy, 'all-unauthenticated');
    assert.deepEqual(defaults.istio.trustDomainAliases, []);
    const aliases = parseConfig('istio: {trustDomainAliases: old.example.org}\n', defaultConfig('/ws'));
    assert.deepEqual(aliases.problems.map((p) => p.message), ['.meshpolicy.yaml: istio.trustDomainAliases must be a list of trust domains']);
    assert.deepEqual(aliases.istio.trustDomainAliases, []);
  });

  it('names a rule code that does not exist (docs/rules/README.md), and applies the others', () => {
    const config = parseConfig('rules: {mpa1021: "off", MPA1201: warning, MPA1021: "off", MPA4001: error}\n', defaultConfig('/ws'));
    assert.deepEqual(config.problems.map((p) => p.message), [
      '.meshpolicy.yaml: rules.mpa1021 is not a rule code (docs/rules/README.md lists them)',
      '.meshpolicy.yaml: rules.MPA1201 is not a rule code (docs/rules/README.md lists them)',
    ]);
    assert.deepEqual(config.rules, { MPA1021: 'off', MPA4001: 'error' });
  });

  it('names the file it read in every problem, not only in syntax errors (--config other.yaml)', () => {
    const root = scratchDir('mesh-policy-config-name-');
    const file = join(root, 'ci-settings.yaml');
    writeFileSync(file, 'bogus: 1\nistio: {rootNamspace: x}\nrules: {MPA0104: loud}\n');
    assert.deepEqual(loadConfig(file).problems.map((p) => p.message), [
      `${file}: unknown key "bogus"`,
      `${file}: unknown key "istio.rootNamspace"`,
      `${file}: rules.MPA0104 must be one of error, warning, info, hint, off`,
    ]);
  });

  it('names every key of the wrong type, section or value, and keeps its default', () => {
    const cases: Array<[string, string[]]> = [
      ['istio: [a, b]', ['istio must be a mapping (got a list); its defaults apply']],
      ['linkerd: deny', ['linkerd must be a mapping (got "deny"); its defaults apply']],
      ['consul: 7', ['consul must be a mapping (got 7); its defaults apply']],
      ['rules: [MPA0104]', ['rules must be a mapping (got a list); its defaults apply']],
      ['readers: true', ['readers must be a mapping (got true); its defaults apply']],
      ['redact: {headers: [x-key], header: [x-other]}', ['unknown key "redact.header"']],
      ['istio: {rootNamespace: 5, trustDomain: []}', ['istio.rootNamespace must be a non-empty string (got 5); "istio-system" applies', 'istio.trustDomain must be a non-empty string (got a list); "cluster.local" applies']],
      ['linkerd: {defaultInboundPolicy: 5}', ['linkerd.defaultInboundPolicy must be one of all-unauthenticated, all-authenticated, cluster-unauthenticated, cluster-authenticated, deny, audit']],
      ['linkerd: {clusterNetworks: [10.0.0.0/8, {a: 1}]}', ['linkerd.clusterNetworks must be a list of networks (CIDRs); the defaults apply']],
      ['linkerd: {clusterNetworks: 10.0.0.0/8}', ['linkerd.clusterNetworks must be a list of networks (CIDRs); the defaults apply']],
      ['linkerd: {trustDomain: "Prod Example", controlPlaneNamespace: linkerd.system}', ['linkerd.trustDomain must be a DNS name (got "Prod Example"); "cluster.local" applies', 'linkerd.controlPlaneNamespace must be a namespace name (got "linkerd.system"); "linkerd" applies']],
      ['istio: {customProviderVerdicts: [opa]}', ['istio.customProviderVerdicts must be a mapping of provider names to allow or deny']],
      ['rules: {MPA9999: error, MPA0104: warning}', ['rules.MPA9999 is not a rule code (docs/rules/README.md lists them)']],
      ['readers: {maxLine: 5, workers: 2}', ['unknown key "readers.maxLine"; it is not read (known: format, envoyFormat, mesh, maxLines, workers, files, overrides)']],
      ['readers: {mesh: kuma, maxLines: -1}', ['readers.mesh must be one of istio, linkerd, consul (got "kuma"); the format decides the mesh', 'readers.maxLines must be a positive whole number of lines (got -1); no line limit is applied']],
      ['readers: {files: {"gw/*.log": {format: envoy-txt, workers: 2}}}', ['unknown key "readers.files["gw/*.log"].workers"; it is not read (known: format, envoyFormat, mesh)', 'readers.files["gw/*.log"].format must be one of envoy-text, envoy-json, linkerd-apache, linkerd-json, consul-envoy-json, ztunnel, access-record, loki-api, otlp-json (got "envoy-txt")']],
      ['readers: {overrides: [{files: "*.log", fromat: envoy-json}]}', ['unknown key "readers.overrides[0].fromat"; it is not read (known: files, format, envoyFormat, mesh)']],
    ];
    for (const [text, problems] of cases) {
      const config = parseConfig(`${text}\n`, defaultConfig('/ws'));
      assert.deepEqual(config.problems.map((p) => p.message), problems.map((p) => `.meshpolicy.yaml: ${p}`), text);
      const defaults = defaultConfig('/ws');
      assert.deepEqual([config.istio, config.linkerd, config.consul], [defaults.istio, defaults.linkerd, defaults.consul], text);
    }
  });

  it('reads the Consul simulator settings, and names each bad or unknown one', () => {
    const config = parseConfig([
      'consul:',
      '  defaultIntentionPolicy: deny',
      '  trustDomain: 11111111-2222-3333-4444-555555555555.consul',
      '  partition: team-a',
      '  namespaces: true',
      '  peers: {other-cluster: {trustDomain: 99999999-2222-3333-4444-555555555555.consul, partition: default}}',
      '  samenessGroups: {east: {partitions: [team-a], peers: [other-cluster]}}',
      '  jwtProviders: {okta: {issuer: "https://okta.example.com"}}',
      '  permissiveMtls: [legacy]',
      '  requestNormalization: {mergeSlashes: true, headersWithUnderscoresAction: REJECT_REQUEST}',
    ].join('\n'), defaultConfig('/ws'));
    assert.deepEqual(config.problems.map((p) => p.message), []);
    assert.deepEqual(config.consul, {
      defaultIntentionPolicy: 'deny',
      trustDomain: '11111111-2222-3333-4444-555555555555.consul',
      partition: 'team-a',
      namespaces: true,
      peers: { 'other-cluster': { trustDomain: '99999999-2222-3333-4444-555555555555.consul', partition: 'default' } },
      samenessGroups: { east: { partitions: ['team-a'], peers: ['other-cluster'] } },
      jwtProviders: { okta: { issuer: 'https://okta.example.com' } },
      permissiveMtls: ['legacy'],
      requestNormalization: { mergeSlashes: true, headersWithUnderscoresAction: 'REJECT_REQUEST' },
    });
    const bad = parseConfig([
      'consul:',
      '  peer: {x: {trustDomain: t}}',
      '  peers: {x: {partition: p}}',
      '  namespaces: yes please',
      '  requestNormalization: {mergeSlashes: 1}',
    ].join('\n'), defaultConfig('/ws'));
    assert.deepEqual(bad.problems.map((p) => p.message), [
      '.meshpolicy.yaml: unknown key "consul.peer"',
      '.meshpolicy.yaml: consul.peers.x.trustDomain is required',
      '.meshpolicy.yaml: consul.namespaces must be true or false',
      '.meshpolicy.yaml: consul.requestNormalization.mergeSlashes must be true or false',
    ]);
    assert.equal(bad.consul.peers, undefined);
  });

  it('a peer\'s trust domain from .meshpolicy.yaml decides an intention from that peer', () => {
    const root = scratchDir('mesh-policy-config-peers-');
    writeFileSync(join(root, 'api.json'), JSON.stringify({ Kind: 'service-intentions', Name: 'api', Sources: [{ Name: 'web', Peer: 'other-cluster', Action: 'deny' }] }));
    const call = JSON.stringify({
      mesh: 'consul', protocol: 'http',
      source: { principal: 'spiffe://99999999-2222-3333-4444-555555555555.consul/ns/default/dc/dc1/svc/web', service: 'web' },
      destination: { service: 'api', namespace: 'default', port: 20000 },
      request: { method: 'GET', path: '/v1/x' },
    });
    const explain = () => {
      let out = '';
      runExplainCli(['--policies', 'api.json', '--call', call], { stdout: (t) => { out += t; }, stderr: () => undefined, cwd: root });
      return out.split('\n')[0]!;
    };
    assert.match(explain(), /^UNKNOWN/);
    writeFileSync(join(root, '.meshpolicy.yaml'), 'consul:\n  peers: {other-cluster: {trustDomain: 99999999-2222-3333-4444-555555555555.consul}}\n');
    assert.match(explain(), /^DENY/);
  });

  it('a stub verdict per CUSTOM provider (istio.customProviderVerdicts) decides what was an external decision (issue 4, §1.3)', () => {
    const root = scratchDir('mesh-policy-config-custom-');
    writeFileSync(join(root, 'mesh.yaml'), 'apiVersion: v1\nkind: ConfigMap\nmetadata: {name: istio, namespace: istio-system}\ndata:\n  mesh: |\n    extensionProviders:\n    - name: ext\n      envoyExtAuthzHttp: {service: ext.auth.svc.cluster.local, port: 8000}\n');
    writeFileSync(join(root, 'custom.yaml'), 'apiVersion: security.istio.io/v1\nkind: AuthorizationPolicy\nmetadata: {name: ext, namespace: shop}\nspec:\n  action: CUSTOM\n  provider: {name: ext}\n  rules: [{to: [{operation: {paths: [/admin]}}]}]\n');
    const call = JSON.stringify({ mesh: 'istio', protocol: 'http', source: { principal: 'cluster.local/ns/shop/sa/web' }, destination: { namespace: 'shop', workload: 'cart', port: 8080 }, request: { method: 'GET', path: '/admin' } });
    const explain = () => {
      let out = '';
      runExplainCli(['--policies', '.', '--call', call], { stdout: (t) => { out += t; }, stderr: () => undefined, cwd: root });
      return out.split('\n')[0]!;
    };
    assert.match(explain(), /^EXTERNAL/);
    writeFileSync(join(root, '.meshpolicy.yaml'), 'istio:\n  customProviderVerdicts: {ext: deny}\n');
    assert.match(explain(), /^DENY/);
    // allow: the CUSTOM provider lets it through to the DENY and ALLOW policies, and there are none
    writeFileSync(join(root, '.meshpolicy.yaml'), 'istio:\n  customProviderVerdicts: {ext: allow}\n');
    assert.match(explain(), /^ALLOW/);
    const bad = parseConfig('istio: {customProviderVerdicts: {ext: maybe, opa: deny}}\n', defaultConfig('/ws'));
    assert.deepEqual(bad.problems.map((p) => p.message), ['.meshpolicy.yaml: istio.customProviderVerdicts.ext must be allow or deny; the provider\'s calls stay external decisions']);
    assert.deepEqual(bad.istio.customProviderVerdicts, { opa: 'deny' });
  });

  it('Linkerd identities in another trust domain and control-plane namespace (linkerd.trustDomain, controlPlaneNamespace)', () => {
    const root = scratchDir('mesh-policy-config-linkerd-');
    writeFileSync(join(root, 'app.yaml'), 'apiVersion: v1\nkind: Namespace\nmetadata: {name: emoji, annotations: {linkerd.io/inject: enabled}}\n---\napiVersion: apps/v1\nkind: Deployment\nmetadata: {name: api, namespace: emoji}\nspec:\n  selector: {matchLabels: {app: api}}\n  template:\n    metadata: {labels: {app: api}}\n    spec: {serviceAccountName: api, containers: [{name: api, image: api, ports: [{name: http, containerPort: 8080}]}]}\n');
    writeFileSync(join(root, 'policy.yaml'), [
      'apiVersion: policy.linkerd.io/v1beta3\nkind: Server\nmetadata: {name: api-http, namespace: emoji}\nspec: {podSelector: {matchLabels: {app: api}}, port: http, proxyProtocol: HTTP/1}',
      'apiVersion: policy.linkerd.io/v1alpha1\nkind: MeshTLSAuthentication\nmetadata: {name: web-only, namespace: emoji}\nspec: {identityRefs: [{kind: ServiceAccount, name: web}]}',
      'apiVersion: policy.linkerd.io/v1alpha1\nkind: AuthorizationPolicy\nmetadata: {name: api-from-web, namespace: emoji}\nspec:\n  targetRef: {group: policy.linkerd.io, kind: Server, name: api-http}\n  requiredAuthenticationRefs: [{group: policy.linkerd.io, kind: MeshTLSAuthentication, name: web-only}]',
    ].join('\n---\n') + '\n');
    const explain = (call: string) => {
      let out = '';
      runExplainCli(['--policies', '.', '--call', call], { stdout: (t) => { out += t; }, stderr: () => undefined, cwd: root });
      return out.split('\n')[0]!;
    };
    const inProd = 'web.emoji.serviceaccount.identity.linkerd-system.prod.example';
    const record = JSON.stringify({ mesh: 'linkerd', protocol: 'http', source: { principal: inProd, ip: '10.0.0.9' }, destination: { namespace: 'emoji', workload: 'api', port: 8080 }, request: { method: 'GET', path: '/' } });
    // identityRefs name web's identity in the cluster's trust domain: cluster.local unless configured
    assert.match(explain(record), /^DENY/);
    assert.match(explain('linkerd:emoji/web -> emoji/api:8080 GET /'), /^ALLOW/);
    writeFileSync(join(root, '.meshpolicy.yaml'), 'linkerd: {trustDomain: prod.example, controlPlaneNamespace: linkerd-system}\n');
    assert.match(explain(record), /^ALLOW/);
    // a caller written as namespace/name presents the identity of the configured names
    assert.match(explain('linkerd:emoji/web -> emoji/api:8080 GET /'), /^ALLOW/);
    assert.match(explain(record.replace(inProd, 'web.emoji.serviceaccount.identity.linkerd.cluster.local')), /^DENY/);
    // without the keys, the install's linkerd-config ConfigMap (kubectl get cm -n linkerd-system linkerd-config -o yaml) says the same
    rmSync(join(root, '.meshpolicy.yaml'));
    writeFileSync(join(root, 'linkerd-config.yaml'), 'apiVersion: v1\nkind: ConfigMap\nmetadata: {name: linkerd-config, namespace: linkerd-system}\ndata:\n  values: |\n    identityTrustDomain: prod.example\n    controllerReplicas: 1\n');
    assert.match(explain(record), /^ALLOW/);
    // and the file's keys win over it
    writeFileSync(join(root, '.meshpolicy.yaml'), 'linkerd: {trustDomain: cluster.local, controlPlaneNamespace: linkerd}\n');
    assert.match(explain(record), /^DENY/);
  });

  it('is found in the nearest folder above', () => {
    const root = scratchDir('mesh-policy-config-');
    writeFileSync(join(root, '.meshpolicy.yaml'), 'rules: {MPA0104: "off"}\n');
    mkdirSync(join(root, 'a', 'b'), { recursive: true });
    assert.deepEqual(findConfig(join(root, 'a', 'b')).rules, { MPA0104: 'off' });
  });
});

describe('severities and suppression', () => {
  const engine = new Engine();
  const lint = (text: string, rules: Record<string, 'off' | 'warning'> = {}) => {
    const workspace = new WorkspaceModel({ ...defaultConfig('/ws'), rules });
    const prepared = engine.prepare(engine.read('/ws/p.yaml', text));
    workspace.update(prepared);
    return engine.lint(prepared, workspace).findings;
  };

  it('a rule can be turned off or given another severity', () => {
    assert.equal(lint(POLICY)[0]?.severity, 'error');
    assert.equal(lint(POLICY, { MPA0104: 'warning' })[0]?.severity, 'warning');
    assert.deepEqual(lint(POLICY, { MPA0104: 'off' }), []);
  });

  it('a comment on the line or the line above silences that code there only', () => {
    assert.deepEqual(lint(POLICY.replace('action: allow', 'action: allow  # mesh-policy-ignore MPA0104')), []);
    assert.deepEqual(lint(POLICY.replace('  action: allow', '  # mesh-policy-ignore MPA0104\n  action: allow')), []);
    assert.equal(lint(POLICY.replace('action: allow', 'action: allow  # mesh-policy-ignore MPA0101')).length, 1);
    assert.deepEqual(lint(`# mesh-policy-ignore-file MPA0104\n${POLICY}`), []);
    assert.equal(lint(POLICY.replace('  action: allow', '  # mesh-policy-ignore MPA0104\n\n  action: allow')).length, 1);
  });

  it('the CLI reads .meshpolicy.yaml', () => {
    const root = scratchDir('mesh-policy-config-cli-');
    writeFileSync(join(root, 'p.yaml'), POLICY);
    writeFileSync(join(root, '.meshpolicy.yaml'), 'rules: {MPA0104: warning}\n');
    let out = '';
    const code = runCli(['lint', 'p.yaml'], { stdout: (t) => { out += t; }, stderr: () => undefined, cwd: root });
    assert.equal(code, 0, 'a warning is not an error');
    assert.match(out, /p\.yaml:6:11 warning MPA0104/);
  });

  it('a broken --config or .meshpolicy.yaml is named with line:column, applied not at all, and stops the CLI with exit 2', () => {
    const root = scratchDir('mesh-policy-config-broken-');
    writeFileSync(join(root, 'p.yaml'), POLICY);
    writeFileSync(join(root, 'badcfg.yaml'), 'rules: {MPA0104: "off"\n');
    const parsed = loadConfig(join(root, 'badcfg.yaml'));
    assert.deepEqual(parsed.rules, {}, 'nothing of the broken file applies');
    assert.equal(parsed.unusable, true);
    const cases: { args: string[]; config?: string; names: string }[] = [
      { args: ['lint', 'p.yaml', '--config', 'badcfg.yaml'], names: 'badcfg.yaml' },
      { args: ['lint', 'p.yaml'], config: '.meshpolicy.yaml', names: '.meshpolicy.yaml' },
    ];
    for (const c of cases) {
      if (c.config) writeFileSync(join(root, c.config), 'rules: {MPA0104: "off"\n');
      let out = '';
      let err = '';
      const code = runCli(c.args, { stdout: (t) => { out += t; }, stderr: (t) => { err += `${t}\n`; }, cwd: root });
      assert.equal(code, 2, c.args.join(' '));
      assert.match(err, new RegExp(`${c.names.replace('.', '\\.')}:1:8: Flow map in block collection must be sufficiently indented and end with a \\}`));
      assert.doesNotMatch(err, /0 errors/, 'nothing is linted with half a configuration');
      assert.equal(out, '');
    }
  });
});

describe('.meshpolicy.yaml problems as findings (MPA0004), at their key', () => {
  const engine = new Engine();
  const cases: [string, string, string[]][] = [
    ['a clean file', 'traffic: [logs/*.log]\nistio: {rootNamespace: mesh-root}\n', []],
    ['a misspelt key in a section', 'istio:\n  rootNamspace: mesh-root\n', ['2:3 warning MPA0004 unknown key "istio.rootNamspace"']],
    ['an unknown top-level key', 'trafic: [a.log]\n', ['1:1 warning MPA0004 unknown key "trafic"']],
    ['a value outside its set', 'linkerd:\n  defaultInboundPolicy: open\n', ['2:3 warning MPA0004 linkerd.defaultInboundPolicy must be one of all-unauthenticated, all-authenticated, cluster-unauthenticated, cluster-authenticated, deny, audit']],
    ['a section of the wrong type', 'traffic: [a.log]\nistio: cluster\n', ['2:1 warning MPA0004 istio must be a mapping (got "cluster"); its defaults apply']],
    ['globs that are not a list', 'traffic: logs/*.log\n', ['1:1 warning MPA0004 traffic must be a list of globs']],
    ['a rule code that does not exist', 'rules:\n  MPA0104: warning\n  MPA1201: warning\n', ['3:3 warning MPA0004 rules.MPA1201 is not a rule code (docs/rules/README.md lists them)']],
    ['an unknown Consul key', 'consul:\n  defaultIntentionPolcy: deny\n', ['2:3 warning MPA0004 unknown key "consul.defaultIntentionPolcy"']],
    ['a misspelt reader key', 'readers:\n  workrs: 2\n', ['2:3 warning MPA0004 unknown key "readers.workrs"; it is not read (known: format, envoyFormat, mesh, maxLines, workers, files, overrides)']],
    ['a reader value the readers refuse', 'readers:\n  files:\n    "gw/*.log":\n      envoyFormat: "%BAD"\n', ['4:7 warning MPA0004 readers.files["gw/*.log"].envoyFormat: unterminated command operator at column 1 of the Envoy format string; the files it applies to in that format are not read (every line skipped with this reason)']],
    ['a ClickHouse password in the file', 'clickhouse:\n  url: http://127.0.0.1:8123\n  table: logs\n  password: s3cret\n', ['4:3 warning MPA0004 clickhouse.password is not read from the file: put the password in an environment variable and name it in passwordEnv']],
    ['a list at the top level', '- traffic\n', ['1:1 warning MPA0004 expected a mapping at the top level']],
    // keys under a name the file chooses, and fields of a column map: the deepest key named
    ['a misspelt key of a Consul peer', 'consul:\n  peers:\n    east:\n      trustDomian: x.consul\n', ['3:5 warning MPA0004 consul.peers.east.trustDomain is required', '4:7 warning MPA0004 consul.peers.east: unknown key "trustDomian"']],
    ['a ClickHouse window time that names no day (Date.parse would take 2 March)', 'clickhouse:\n  url: http://127.0.0.1:8123\n  table: logs\n  window:\n    since: "2025-02-30T00:00:00Z"\n', ['5:5 warning MPA0004 clickhouse.window.since must be an RFC 3339 time']],
    ['a ClickHouse window key of the wrong form', 'clickhouse:\n  url: http://127.0.0.1:8123\n  table: logs\n  window:\n    last: yesterday\n', ['5:5 warning MPA0004 clickhouse.window.last must be a duration such as 90m, 24h or 7d']],
    ['an unknown ClickHouse column field', 'clickhouse:\n  url: http://127.0.0.1:8123\n  table: logs\n  columns:\n    pth: path\n', [`5:5 warning MPA0004 clickhouse.columns: unknown field "pth" (known: ${CLICKHOUSE_FIELDS.join(', ')})`]],
    ['a required ClickHouse key left out: at the block', 'traffic: [a.log]\nclickhouse:\n  url: http://127.0.0.1:8123\n', ['2:1 warning MPA0004 clickhouse.table is required']],
    ['a syntax error: nothing of the file is used', 'istio: {rootNamespace: x\n', ['1:1 error MPA0004 not used at all until its syntax error is fixed', '1:8 error MPA0001']],
  ];
  for (const [name, text, expected] of cases) {
    it(name, () => {
      const findings = engine.lintText('/ws/.meshpolicy.yaml', text).findings
        .map((f) => `${f.range.start.line + 1}:${f.range.start.character + 1} ${f.severity} ${f.code}${f.code === 'MPA0001' ? '' : ` ${f.message}`}`);
      assert.deepEqual(findings.sort(), [...expected].sort());
    });
  }

  it('only a file named .meshpolicy.yaml is read as the configuration', () => {
    assert.deepEqual(engine.lintText('/ws/settings.yaml', 'istio:\n  rootNamspace: x\n').findings, []);
  });
});


describe('a .meshpolicy.yaml the workspace does not read (MPA0004)', () => {
  const engine = new Engine();
  const text = 'istio:\n  rootNamespace: mesh-root\n';
  const lintIn = (path: string, inUse: ReturnType<typeof defaultConfig>) => {
    const workspace = new WorkspaceModel(inUse);
    const prepared = engine.prepare(engine.read(path, text));
    workspace.update(prepared);
    return engine.lint(prepared, workspace).findings.map((f) => `${f.range.start.line + 1}:${f.range.start.character + 1} ${f.severity} ${f.code} ${f.message}`);
  };
  const inUse = (file: string | undefined, root = '/ws') => ({ ...defaultConfig(root), ...(file ? { file } : {}) });
  const CASES: Array<[string, string, ReturnType<typeof defaultConfig>, string | undefined]> = [
    ['the configuration in use', '/ws/.meshpolicy.yaml', inUse('/ws/.meshpolicy.yaml'), undefined],
    ['one in a subfolder', '/ws/team-a/.meshpolicy.yaml', inUse('/ws/.meshpolicy.yaml'), 'the configuration in use is ../.meshpolicy.yaml'],
    ['another folder of a multi-root workspace, the defaults in use', '/other/.meshpolicy.yaml', inUse(undefined), 'no configuration file is in use (the defaults apply)'],
    ['a new one at the root, read once saved', '/ws/.meshpolicy.yaml', inUse(undefined), undefined],
    ['the root\'s, while meshPolicy.configFile names another', '/ws/.meshpolicy.yaml', inUse('/ws/config/mesh.yaml'), 'the configuration in use is config/mesh.yaml'],
  ];
  for (const [name, path, config, used] of CASES) {
    it(`${name}: ${used ? 'says it is not used' : 'nothing'}`, () => {
      const findings = lintIn(path, config);
      assert.deepEqual(findings, used ? [`1:1 warning MPA0004 this configuration is not used: ${used}. The editor reads the .meshpolicy.yaml of the first workspace folder (or the file meshPolicy.configFile names) for every folder; the command line reads the one in or above its working directory, or --config`] : []);
    });
  }

  it('a file linted on its own is its own configuration', () => {
    assert.deepEqual(engine.lintText('/ws/team-a/.meshpolicy.yaml', text).findings, []);
  });
});

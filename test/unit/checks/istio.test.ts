import assert from 'node:assert/strict';
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { ISTIO_CHECKS } from '../../../server/src/engine/checks/istio';
import { runChecks } from '../../../server/src/engine/checks/runChecks';
import { parseAddr, parsePrefix, ipBlockError } from '../../../server/src/engine/checks/istio/netip';
import { defaultConfig } from '../../../server/src/engine/config/projectConfig';
import { Engine } from '../../../server/src/engine/engine';
import type { Finding } from '../../../server/src/engine/findings';
import { WorkspaceModel } from '../../../server/src/engine/workspace';
import { applyEdits } from '../../helpers/edits';
import { REPO_ROOT } from '../../helpers/paths';
import { crdYaml, OLD_AUTHORIZATION_POLICY, OLD_ISTIO_AP_CRD } from '../../helpers/crds';

const engine = new Engine();

// ---------------------------------------------------------------------------------------------
// Builders

interface Meta { name?: string; namespace?: string | null; annotations?: Record<string, string>; created?: string }

function meta({ name = 'p', namespace = 'shop', annotations, created }: Meta = {}): string {
  let out = `metadata:\n  name: ${name}\n`;
  if (created) out += `  creationTimestamp: "${created}"\n`;
  if (namespace !== null) out += `  namespace: ${namespace}\n`;
  if (annotations) out += `  annotations:\n${Object.entries(annotations).map(([k, v]) => `    ${k}: ${JSON.stringify(v)}\n`).join('')}`;
  return out;
}

/** An AuthorizationPolicy; `spec` is the YAML under `spec:`, indented by two spaces. */
function ap(spec: string, m: Meta = {}): string {
  return `apiVersion: security.istio.io/v1\nkind: AuthorizationPolicy\n${meta(m)}spec:\n${spec}`;
}

function pa(spec: string, m: Meta = {}): string {
  return `apiVersion: security.istio.io/v1\nkind: PeerAuthentication\n${meta(m)}spec:\n${spec}`;
}

function ra(spec: string, m: Meta = {}): string {
  return `apiVersion: security.istio.io/v1\nkind: RequestAuthentication\n${meta(m)}spec:\n${spec}`;
}

function deployment(name: string, ns: string, labels: Record<string, string>, opts: { sa?: string; ports?: number[]; annotations?: Record<string, string> } = {}): string {
  const labelText = Object.entries(labels).map(([k, v]) => `        ${k}: ${v}\n`).join('');
  const annotations = opts.annotations ? `      annotations:\n${Object.entries(opts.annotations).map(([k, v]) => `        ${k}: ${JSON.stringify(v)}\n`).join('')}` : '';
  const ports = opts.ports?.length ? `        ports:\n${opts.ports.map((p) => `        - containerPort: ${p}\n`).join('')}` : '';
  return `apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: ${name}\n  namespace: ${ns}\nspec:\n  template:\n    metadata:\n      labels:\n${labelText}${annotations}    spec:\n${opts.sa ? `      serviceAccountName: ${opts.sa}\n` : ''}      containers:\n      - name: main\n        image: registry.example.com/${name}:1\n${ports}`;
}

function serviceAccount(name: string, ns: string): string {
  return `apiVersion: v1\nkind: ServiceAccount\nmetadata:\n  name: ${name}\n  namespace: ${ns}\n`;
}

function namespace(name: string, labels: Record<string, string> = {}): string {
  const l = Object.keys(labels).length ? `  labels:\n${Object.entries(labels).map(([k, v]) => `    ${k}: ${v}\n`).join('')}` : '';
  return `apiVersion: v1\nkind: Namespace\nmetadata:\n  name: ${name}\n${l}`;
}

function service(name: string, ns: string, selector: Record<string, string>, ports: Array<{ port: number; targetPort?: number | string }>): string {
  return `apiVersion: v1\nkind: Service\nmetadata:\n  name: ${name}\n  namespace: ${ns}\nspec:\n  selector:\n${Object.entries(selector).map(([k, v]) => `    ${k}: ${v}\n`).join('')}  ports:\n${ports.map((p) => `  - port: ${p.port}\n${p.targetPort !== undefined ? `    targetPort: ${p.targetPort}\n` : ''}`).join('')}`;
}

function serviceEntry(name: string, ns: string, hosts: string[]): string {
  return `apiVersion: networking.istio.io/v1\nkind: ServiceEntry\nmetadata:\n  name: ${name}\n  namespace: ${ns}\nspec:\n  hosts: [${hosts.join(', ')}]\n  ports: [{number: 443, name: https, protocol: TLS}]\n  resolution: DNS\n`;
}

/** The `istio` ConfigMap (or `istio-<revision>`) of istio-system with `mesh` as its MeshConfig YAML. */
function meshConfigMap(name: string, mesh: string): string {
  return `apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: ${name}\n  namespace: istio-system\ndata:\n  mesh: |-\n${indent(mesh, 4)}`;
}

function indent(text: string, by: number): string {
  return text.split('\n').map((line) => (line ? ' '.repeat(by) + line : line)).join('\n');
}

const GRPC_PROVIDER = (name: string) => `extensionProviders:\n- name: ${name}\n  envoyExtAuthzGrpc:\n    service: ${name}.authz.svc.cluster.local\n    port: 9191\n`;
const CUSTOM_AP = (provider: string) => ap(`  selector:\n    matchLabels:\n      app: admin\n  action: CUSTOM\n  provider:\n    name: ${provider}\n  rules:\n  - to:\n    - operation:\n        paths: ["/admin/*"]\n`);

/** The ingress gateway as istioctl installs it (manifests/charts/gateways/istio-ingress). */
const CLASSIC_INGRESS_GATEWAY = `apiVersion: apps/v1
kind: Deployment
metadata:
  name: istio-ingressgateway
  namespace: istio-system
spec:
  selector:
    matchLabels: {app: istio-ingressgateway, istio: ingressgateway}
  template:
    metadata:
      labels: {app: istio-ingressgateway, istio: ingressgateway, sidecar.istio.io/inject: "false", istio.io/dataplane-mode: none}
      annotations: {sidecar.istio.io/inject: "false"}
    spec:
      serviceAccountName: istio-ingressgateway-service-account
      containers:
      - name: istio-proxy
        image: docker.io/istio/proxyv2:1.24.0
        ports: [{containerPort: 8080}, {containerPort: 8443}]
`;

function docs(...parts: string[]): string {
  return parts.join('---\n');
}

function describeFindings(findings: Finding[]): string {
  return findings.length ? findings.map((f) => `${f.range.start.line + 1}:${f.range.start.character + 1} ${f.code} ${f.message}`).join('\n  ') : 'no findings';
}

function lint(text: string, file = 'policy.yaml'): { findings: Finding[]; text: string } {
  return { findings: engine.lintText(file, text).findings, text };
}

/** 0-based line of the first line containing `needle`. */
function lineOf(text: string, needle: string): number {
  const index = text.split('\n').findIndex((l) => l.includes(needle));
  assert.ok(index >= 0, `test bug: "${needle}" is not in the text`);
  return index;
}

// ---------------------------------------------------------------------------------------------
// Tables: cases that must trigger (line given by a piece of its text, message substring), and
// cases that must not.

interface Trigger {
  name: string;
  text: string;
  /** Text on the line the finding starts on. */
  at: string;
  message: string;
  severity?: Finding['severity'];
  file?: string;
}

interface Clean {
  name: string;
  text: string;
  file?: string;
}

interface Table { trigger: Trigger[]; clean: Clean[] }

const RULE_GET = '  rules:\n  - to:\n    - operation:\n        methods: ["GET"]\n';
const TARGET_ENTRY = (name: string) => `  targetRefs:\n  - group: networking.istio.io\n    kind: ServiceEntry\n    name: ${name}\n`;
const SELECT = (app: string) => `  selector:\n    matchLabels:\n      app: ${app}\n`;
/** The Istio docs' deny-method-get in namespace foo, attached by `attach` (YAML under `spec:`). */
const DENY_GET = (attach: string) => ap(attach + '  action: DENY\n  rules:\n  - to:\n    - operation:\n        methods: ["GET"]\n', { namespace: 'foo' });

const TABLES: Record<string, Table> = {
  MPA1001: {
    trigger: [
      { name: 'dry-run on AUDIT', text: ap('  action: AUDIT\n  rules:\n  - {}\n', { annotations: { 'istio.io/dry-run': 'true' } }), at: 'istio.io/dry-run', message: 'only supports action ALLOW/DENY, found action AUDIT' },
      { name: 'dry-run on CUSTOM', text: ap('  action: CUSTOM\n  provider:\n    name: x\n  rules:\n  - {}\n', { annotations: { 'istio.io/dry-run': 'false' } }), at: 'istio.io/dry-run', message: 'found action CUSTOM' },
      { name: 'dry-run value not a Go bool', text: ap(RULE_GET, { annotations: { 'istio.io/dry-run': 'yes' } }), at: 'istio.io/dry-run', message: 'invalid value (yes)' },
      { name: 'dry-run value with spaces', text: ap(RULE_GET, { annotations: { 'istio.io/dry-run': ' true' } }), at: 'istio.io/dry-run', message: 'invalid value' },
      { name: 'dry-run on PeerAuthentication', text: pa('  mtls:\n    mode: STRICT\n', { annotations: { 'istio.io/dry-run': 'true' } }), at: 'istio.io/dry-run', message: 'PeerAuthentication has unsupported annotation istio.io/dry-run' },
      { name: 'dry-run on RequestAuthentication', text: ra('  jwtRules:\n  - issuer: https://a.example\n', { annotations: { 'istio.io/dry-run': 'true' } }), at: 'istio.io/dry-run', message: 'unsupported annotation' },
      { name: 'always-reject', text: ap(RULE_GET, { annotations: { 'internal.istio.io/webhook-always-reject': 'x' } }), at: 'webhook-always-reject', message: 'annotation found, rejecting' },
      { name: 'parent-namespace', text: ap(RULE_GET, { annotations: { 'internal.istio.io/parent-namespace': 'x' } }), at: 'parent-namespace', message: 'may not be set by users' },
      { name: 'parents on PA', text: pa('  mtls:\n    mode: STRICT\n', { annotations: { 'internal.istio.io/parents': 'x' } }), at: 'internal.istio.io/parents', message: 'may not be set by users' },
    ],
    clean: [
      { name: 'dry-run true on ALLOW (default action)', text: ap(RULE_GET, { annotations: { 'istio.io/dry-run': 'true' } }) },
      { name: 'every ParseBool spelling on DENY', text: ['1', 't', 'T', 'TRUE', 'true', 'True', '0', 'f', 'F', 'FALSE', 'false', 'False'].map((v, i) => ap('  action: DENY\n  rules:\n  - to:\n    - operation:\n        ports: ["80"]\n', { name: `p${i}`, annotations: { 'istio.io/dry-run': v } })).join('---\n') },
      { name: 'other annotations', text: ap(RULE_GET, { annotations: { 'kubectl.kubernetes.io/last-applied-configuration': '{}', 'istio.io/owner': 'team' } }) },
    ],
  },
  MPA1002: {
    trigger: [
      { name: 'Gateway without group', text: ap('  targetRefs:\n  - kind: Gateway\n    name: gw\n' + RULE_GET), at: 'kind: Gateway', message: 'but was Gateway (Gateway belongs to group gateway.networking.k8s.io)' },
      { name: 'Pod', text: ap('  targetRefs:\n  - kind: Pod\n    name: p\n' + RULE_GET), at: 'kind: Pod', message: 'but was Pod' },
      { name: 'Service with the gateway group', text: ap('  targetRef:\n    group: gateway.networking.k8s.io\n    kind: Service\n    name: s\n' + RULE_GET), at: 'group: gateway', message: 'but was gateway.networking.k8s.io/Service' },
      { name: 'HTTPRoute', text: ap('  targetRefs:\n  - group: gateway.networking.k8s.io\n    kind: HTTPRoute\n    name: r\n' + RULE_GET), at: 'kind: HTTPRoute', message: 'HTTPRoute' },
      { name: 'RequestAuthentication too', text: ra('  targetRefs:\n  - kind: Deployment\n    group: apps\n    name: d\n'), at: 'kind: Deployment', message: 'apps/Deployment' },
    ],
    clean: [
      { name: 'the four allowed kinds', text: ap('  targetRefs:\n  - kind: Service\n    group: ""\n    name: s\n  - kind: Service\n    group: core\n    name: t\n  - kind: ServiceEntry\n    group: networking.istio.io\n    name: se\n  - kind: Gateway\n    group: gateway.networking.k8s.io\n    name: gw\n' + RULE_GET) },
      { name: 'GatewayClass in the root namespace', text: ap('  targetRefs:\n  - kind: GatewayClass\n    group: gateway.networking.k8s.io\n    name: istio-waypoint\n' + RULE_GET, { namespace: 'istio-system' }) },
      { name: 'Service without group', text: ap('  targetRef:\n    kind: Service\n    name: reviews\n' + RULE_GET) },
    ],
  },
  MPA1003: {
    trigger: [
      { name: 'DENY without rules', text: ap('  action: DENY\n'), at: 'action: DENY', message: 'DENY action without `rules` is meaningless' },
      { name: 'DENY with rules: []', text: ap('  action: DENY\n  rules: []\n'), at: 'action: DENY', message: 'DENY action without `rules`' },
      { name: 'CUSTOM with empty rules', text: ap('  action: CUSTOM\n  provider:\n    name: x\n  rules:\n'), at: 'action: CUSTOM', message: 'CUSTOM action without `rules`' },
    ],
    clean: [
      { name: 'DENY with an empty rule', text: ap('  action: DENY\n  rules:\n  - {}\n') },
      { name: 'ALLOW without rules (allow-nothing)', text: ap('  action: ALLOW\n') },
      { name: 'AUDIT without rules', text: ap('  action: AUDIT\n') },
    ],
  },
  MPA1004: {
    trigger: [
      { name: 'CUSTOM without provider', text: ap('  action: CUSTOM\n' + RULE_GET), at: 'action: CUSTOM', message: '`provider.name` must not be empty' },
      { name: 'CUSTOM with empty provider name', text: ap('  action: CUSTOM\n  provider:\n    name: ""\n' + RULE_GET), at: 'name: ""', message: '`provider.name` must not be empty' },
      { name: 'CUSTOM with principals', text: ap('  action: CUSTOM\n  provider:\n    name: x\n  rules:\n  - from:\n    - source:\n        principals: ["a"]\n'), at: 'principals:', message: 'From.Principals is currently not supported with CUSTOM action' },
      { name: 'CUSTOM with notRequestPrincipals', text: ap('  action: CUSTOM\n  provider:\n    name: x\n  rules:\n  - from:\n    - source:\n        notRequestPrincipals: ["*"]\n'), at: 'notRequestPrincipals', message: 'From.NotRequestPrincipals' },
      { name: 'CUSTOM with serviceAccounts', text: ap('  action: CUSTOM\n  provider:\n    name: x\n  rules:\n  - from:\n    - source:\n        serviceAccounts: ["a"]\n'), at: 'serviceAccounts', message: 'From.ServiceAccounts' },
      { name: 'CUSTOM with a JWT claim condition', text: ap('  action: CUSTOM\n  provider:\n    name: x\n  rules:\n  - when:\n    - key: request.auth.claims[iss]\n      values: ["a"]\n'), at: 'request.auth.claims[iss]', message: 'request.auth.claims[iss] is currently not supported with CUSTOM action' },
      { name: 'CUSTOM with source.namespace condition', text: ap('  action: CUSTOM\n  provider:\n    name: x\n  rules:\n  - when:\n    - key: source.namespace\n      values: ["a"]\n'), at: 'source.namespace', message: 'source.namespace is currently not supported' },
      { name: 'provider on DENY', text: ap('  action: DENY\n  provider:\n    name: x\n  rules:\n  - {}\n'), at: 'provider:', message: '`provider` must not be with non CUSTOM action, found DENY' },
      { name: 'provider with the default action', text: ap('  provider:\n    name: x\n' + RULE_GET), at: 'provider:', message: 'found ALLOW (the default)' },
    ],
    clean: [
      { name: 'CUSTOM with request attributes', text: ap('  action: CUSTOM\n  provider:\n    name: ext-authz\n  rules:\n  - from:\n    - source:\n        ipBlocks: ["10.0.0.0/8"]\n    to:\n    - operation:\n        paths: ["/admin/*"]\n    when:\n    - key: request.headers[x-env]\n      values: ["prod"]\n') },
      { name: 'CUSTOM without rules is MPA1003, not this', text: ap('  action: CUSTOM\n') },
    ],
  },
  MPA1005: {
    trigger: [
      { name: 'source commented out', text: ap('  rules:\n  - from:\n    - source:\n        # principals: ["a"]\n    to:\n    - operation:\n        methods: ["GET"]\n'), at: '- source:', message: '`from.source` must not be nil' },
      { name: 'empty from entry', text: ap('  rules:\n  - from:\n    - {}\n'), at: '- {}', message: '`from.source` must not be nil' },
      { name: 'empty source', text: ap('  rules:\n  - from:\n    - source: {}\n'), at: 'source: {}', message: '`from.source` must not be empty' },
      { name: 'source with only empty lists', text: ap('  rules:\n  - from:\n    - source:\n        principals: []\n'), at: '- source:', message: '`from.source` must not be empty' },
      { name: 'empty operation', text: ap('  rules:\n  - to:\n    - operation: {}\n'), at: 'operation: {}', message: '`to.operation` must not be empty' },
      { name: 'to entry without operation', text: ap('  rules:\n  - to:\n    - {}\n'), at: '- {}', message: 'needs an `operation`' },
      { name: 'from: [] warns', text: ap('  rules:\n  - from: []\n    to:\n    - operation:\n        methods: ["GET"]\n'), at: 'from: []', message: 'matches any source', severity: 'warning' },
    ],
    clean: [
      { name: 'unknown field in source is the schema\'s', text: ap('  rules:\n  - from:\n    - source:\n        principal: ["a"]\n') },
      { name: 'source not wrapped is the schema\'s', text: ap('  rules:\n  - from:\n    - principals: ["a"]\n') },
      { name: 'empty rule', text: ap('  rules:\n  - {}\n') },
      { name: 'a field of another type is the schema\'s', text: ap('  rules:\n  - to:\n    - operation:\n        methods: GET\n') },
      { name: 'a field aliased to a string is the schema\'s', text: ap('  selector:\n    matchLabels:\n      app: &a web\n  rules:\n  - from:\n    - source:\n        principals: *a\n') },
    ],
  },
  MPA1006: {
    trigger: [
      { name: 'empty host', text: ap('  rules:\n  - to:\n    - operation:\n        hosts: ["a.example.com", ""]\n'), at: 'hosts:', message: 'empty value not allowed, found in Hosts' },
      { name: 'empty principal', text: ap('  rules:\n  - from:\n    - source:\n        principals: [""]\n'), at: 'principals:', message: 'found in Principals' },
      { name: 'empty notIpBlocks', text: ap('  rules:\n  - from:\n    - source:\n        notIpBlocks: ["10.0.0.0/8", ""]\n'), at: 'notIpBlocks', message: 'found in NotIpBlocks' },
      { name: 'empty port', text: ap('  rules:\n  - to:\n    - operation:\n        ports:\n        - "80"\n        - ""\n'), at: '- ""', message: 'found in Ports' },
      { name: 'empty condition value', text: ap('  rules:\n  - when:\n    - key: request.headers[x]\n      values: ["a", ""]\n'), at: 'values:', message: 'invalid `value` for `key` request.headers[x]: empty value not allowed' },
      { name: 'empty serviceAccount', text: ap('  rules:\n  - from:\n    - source:\n        serviceAccounts: [""]\n'), at: 'serviceAccounts', message: 'found in ServiceAccounts' },
    ],
    clean: [
      { name: 'wildcards instead', text: ap('  rules:\n  - from:\n    - source:\n        principals: ["*"]\n    to:\n    - operation:\n        hosts: ["*"]\n') },
    ],
  },
  MPA1007: {
    trigger: [
      { name: 'IPv4 wildcard', text: ap('  rules:\n  - from:\n    - source:\n        ipBlocks: ["10.0.*"]\n'), at: 'ipBlocks', message: 'bad IP address (10.0.*)' },
      { name: 'leading zero', text: ap('  rules:\n  - from:\n    - source:\n        ipBlocks: ["010.1.2.3"]\n'), at: 'ipBlocks', message: 'leading zero' },
      { name: 'prefix too long', text: ap('  rules:\n  - from:\n    - source:\n        remoteIpBlocks: ["10.0.0.0/33"]\n'), at: 'remoteIpBlocks', message: 'bad CIDR range (10.0.0.0/33): prefix length out of range' },
      { name: 'zone in prefix', text: ap('  rules:\n  - from:\n    - source:\n        notRemoteIpBlocks: ["fe80::1%eth0/64"]\n'), at: 'notRemoteIpBlocks', message: 'IPv6 zones cannot be present in a prefix' },
      { name: 'bits with leading zero', text: ap('  rules:\n  - from:\n    - source:\n        ipBlocks: ["10.0.0.0/08"]\n'), at: 'ipBlocks', message: 'bad bits after slash' },
      { name: 'range', text: ap('  rules:\n  - from:\n    - source:\n        ipBlocks: ["10.0.0.1-10.0.0.9"]\n'), at: 'ipBlocks', message: 'ranges are not supported' },
      { name: 'source.ip condition', text: ap('  rules:\n  - when:\n    - key: source.ip\n      values: ["300.1.1.1"]\n'), at: 'values:', message: 'invalid `value` for `key` source.ip: bad IP address (300.1.1.1): IPv4 field has value >255' },
      { name: 'destination.ip notValues', text: ap('  rules:\n  - when:\n    - key: destination.ip\n      notValues: ["1.2.3"]\n'), at: 'notValues', message: 'IPv4 address too short' },
    ],
    clean: [
      { name: 'valid forms', text: ap('  rules:\n  - from:\n    - source:\n        ipBlocks: ["10.0.0.0/8", "10.1.2.3/8", "192.168.0.1", "::1", "2001:db8::/32", "::ffff:10.0.0.1", "fe80::1%eth0", "0.0.0.0/0", "::/0"]\n    when:\n    - key: remote.ip\n      values: ["203.0.113.0/24"]\n') },
      { name: 'number is the schema\'s', text: ap('  rules:\n  - from:\n    - source:\n        ipBlocks: [10]\n') },
    ],
  },
  MPA1008: {
    trigger: [
      { name: 'range', text: ap('  rules:\n  - to:\n    - operation:\n        ports: ["8000-8080"]\n'), at: 'ports:', message: 'bad port (8000-8080)' },
      { name: 'name', text: ap('  rules:\n  - to:\n    - operation:\n        notPorts: ["http"]\n'), at: 'notPorts', message: 'not port names' },
      { name: 'too big', text: ap('  rules:\n  - to:\n    - operation:\n        ports: ["65536"]\n'), at: 'ports:', message: 'above 65535' },
      { name: 'sign', text: ap('  rules:\n  - to:\n    - operation:\n        ports: ["+80"]\n'), at: 'ports:', message: 'bad port (+80)' },
      { name: 'destination.port', text: ap('  rules:\n  - when:\n    - key: destination.port\n      values: ["*"]\n'), at: 'values:', message: 'invalid `value` for `key` destination.port: bad port (*)' },
    ],
    clean: [
      { name: 'valid ports, 0 and leading zeros accepted by ParseUint', text: ap('  rules:\n  - to:\n    - operation:\n        ports: ["0", "80", "080", "65535"]\n') },
    ],
  },
  MPA1009: {
    trigger: [
      { name: 'named variable', text: ap('  rules:\n  - to:\n    - operation:\n        paths: ["/users/{id}"]\n'), at: 'paths:', message: "Contains '{' or '}' beyond a supported path template" },
      { name: 'brace in a non-template path', text: ap('  rules:\n  - to:\n    - operation:\n        notPaths: ["/a{b"]\n'), at: 'notPaths', message: 'found in NotPaths' },
      { name: 'operator after {**}', text: ap('  rules:\n  - to:\n    - operation:\n        paths: ["/a/{**}/b/{*}"]\n'), at: 'paths:', message: '{**} is not the last operator' },
      { name: 'star segment in a template', text: ap('  rules:\n  - to:\n    - operation:\n        paths: ["/a/*/{*}"]\n'), at: 'paths:', message: 'Contains segment * with invalid string literal' },
      { name: 'empty segment in a template', text: ap('  rules:\n  - to:\n    - operation:\n        paths: ["/a//{*}"]\n'), at: 'paths:', message: 'invalid string literal' },
      { name: 'operator glued to text', text: ap('  rules:\n  - to:\n    - operation:\n        paths: ["/files/{*}.txt"]\n'), at: 'paths:', message: "beyond a supported path template" },
    ],
    clean: [
      { name: 'templates', text: ap('  rules:\n  - to:\n    - operation:\n        paths: ["/v1/books/{*}", "/v1/authors/{*}/books/{**}", "/{**}", "/a/{**}/edit", "/static/*", "*/info", "/api/v1/users:search/{*}"]\n') },
    ],
  },
  MPA1010: {
    trigger: [
      { name: 'empty key', text: ap('  rules:\n  - when:\n    - key: ""\n      values: ["a"]\n'), at: 'key: ""', message: '`key` must not be empty' },
      { name: 'no values', text: ap('  rules:\n  - when:\n    - key: request.headers[x]\n'), at: 'key:', message: 'at least one of `values` or `notValues` must be set for key request.headers[x]' },
      { name: 'unknown key with suggestion', text: ap('  rules:\n  - when:\n    - key: request.header[x-user]\n      values: ["a"]\n'), at: 'key:', message: 'unknown attribute: request.header[x-user]; did you mean request.headers[x-user]?' },
      { name: 'camel case matters', text: ap('  rules:\n  - when:\n    - key: source.serviceaccount\n      values: ["a"]\n'), at: 'key:', message: 'did you mean source.serviceAccount?' },
      { name: 'dotted claim', text: ap('  rules:\n  - when:\n    - key: request.auth.claims.groups\n      values: ["a"]\n'), at: 'key:', message: 'bad key (request.auth.claims.groups): should have format a[b]; did you mean request.auth.claims[groups]?' },
      { name: 'empty brackets', text: ap('  rules:\n  - when:\n    - key: request.headers[]\n      values: ["a"]\n'), at: 'key:', message: 'bad key (request.headers[])' },
      { name: 'destination.labels', text: ap('  rules:\n  - when:\n    - key: destination.labels[app]\n      values: ["a"]\n'), at: 'key:', message: 'replaced by the workload selector' },
      { name: 'destination.namespace', text: ap('  rules:\n  - when:\n    - key: destination.namespace\n      values: ["a"]\n'), at: 'key:', message: 'replaced by the metadata.namespace' },
      { name: 'destination.user', text: ap('  rules:\n  - when:\n    - key: destination.user\n      values: ["a"]\n'), at: 'key:', message: 'only supported in v1alpha1' },
    ],
    clean: [
      {
        name: 'every supported key',
        text: ap(`  rules:\n  - when:\n${['request.headers[x-a]', 'source.ip', 'remote.ip', 'source.namespace', 'source.serviceAccount', 'source.trustDomain', 'source.principal', 'request.auth.principal', 'request.auth.audiences', 'request.auth.presenter', 'request.auth.claims[groups]', 'request.auth.claims[a][b]', 'destination.ip', 'destination.port', 'connection.sni', 'experimental.envoy.filters.network.mysql_proxy[db.table]', 'request.experimental.inline.headers[x-b]']
          .map((k) => `    - key: ${k}\n      notValues: ["${k.endsWith('.ip') ? '10.0.0.1' : k === 'destination.port' ? '80' : 'a'}"]\n`).join('')}`),
      },
    ],
  },
  MPA1011: {
    trigger: [
      { name: 'principal form', text: ap('  rules:\n  - from:\n    - source:\n        serviceAccounts: ["cluster.local/ns/shop/sa/frontend"]\n'), at: 'serviceAccounts', message: "expected format 'serviceAccount' or 'namespace/serviceAccount'" },
      { name: 'wildcard', text: ap('  rules:\n  - from:\n    - source:\n        notServiceAccounts: ["shop/*"]\n'), at: 'notServiceAccounts', message: 'wildcard not allowed, found in NotServiceAccounts' },
      { name: 'empty namespace', text: ap('  rules:\n  - from:\n    - source:\n        serviceAccounts: ["/frontend"]\n'), at: 'serviceAccounts', message: 'found empty namespace' },
      { name: 'empty name', text: ap('  rules:\n  - from:\n    - source:\n        serviceAccounts: ["shop/"]\n'), at: 'serviceAccounts', message: 'found empty serviceAccount' },
      { name: 'condition with 17 values', text: ap(`  rules:\n  - when:\n    - key: source.serviceAccount\n      values: [${Array.from({ length: 17 }, (_, i) => `"sa${i}"`).join(', ')}]\n`), at: 'values:', message: 'may not have more than 16 values' },
    ],
    clean: [
      { name: 'both forms', text: ap('  rules:\n  - from:\n    - source:\n        serviceAccounts: ["shop/frontend", "cart"]\n    when:\n    - key: source.serviceAccount\n      values: ["shop/frontend"]\n') },
    ],
  },
  MPA1012: {
    trigger: [
      { name: 'spiffe URI', text: ap('  rules:\n  - from:\n    - source:\n        trustDomains: ["spiffe://example.org"]\n'), at: 'trustDomains', message: "trust domain must not contain '/'" },
      { name: 'two wildcards', text: ap('  rules:\n  - from:\n    - source:\n        notTrustDomains: ["*.corp.*"]\n'), at: 'notTrustDomains', message: 'at most one wildcard is allowed' },
      { name: 'inner wildcard', text: ap('  rules:\n  - from:\n    - source:\n        trustDomains: ["a*b"]\n'), at: 'trustDomains', message: 'wildcard is only allowed at the start or end' },
      { name: 'condition', text: ap('  rules:\n  - when:\n    - key: source.trustDomain\n      values: ["td/x"]\n'), at: 'values:', message: 'invalid `value` for `key` source.trustDomain' },
    ],
    clean: [
      { name: 'patterns', text: ap('  rules:\n  - from:\n    - source:\n        trustDomains: ["cluster.local", "*", "*.corp.example", "east-*"]\n') },
    ],
  },
  MPA1013: {
    trigger: [
      { name: 'no issuer nor jwksUri', text: ra('  jwtRules:\n  - audiences: ["a"]\n    jwks: \'{"keys":[{"kty":"RSA","n":"x","e":"AQAB"}]}\'\n'), at: '- audiences', message: 'issuer or jwksUri must be non-empty string' },
      { name: 'underscore in output header', text: ra('  jwtRules:\n  - issuer: https://a.example\n    outputClaimToHeaders:\n    - header: x_user\n      claim: sub\n'), at: 'header: x_user', message: 'header name x_user is not a valid header name' },
      { name: 'jwks not JSON', text: ra('  jwtRules:\n  - issuer: https://a.example\n    jwks: "not json"\n'), at: 'jwks:', message: 'jwks parse error' },
      { name: 'jwks key without kty', text: ra('  jwtRules:\n  - issuer: https://a.example\n    jwks: \'{"keys":[{"n":"x","e":"AQAB"}]}\'\n'), at: 'jwks:', message: 'has no "kty"' },
      { name: 'jwksUri with a bad port', text: ra('  jwtRules:\n  - issuer: https://a.example\n    jwksUri: https://a.example:abc/jwks\n'), at: 'jwksUri', message: 'invalid port' },
      { name: 'jwksUri with a bad escape in the host', text: ra('  jwtRules:\n  - issuer: https://a.example\n    jwksUri: https://a%zz.example/jwks\n'), at: 'jwksUri', message: 'invalid URL escape "%zz"' },
      { name: 'jwksUri with an escaped ASCII byte in the host', text: ra('  jwtRules:\n  - issuer: https://a.example\n    jwksUri: https://a%2Eexample/jwks\n'), at: 'jwksUri', message: 'invalid URL escape "%2E"' },
      { name: 'jwksUri with a bad escape in the path', text: ra('  jwtRules:\n  - issuer: https://a.example\n    jwksUri: https://a.example/jwks%2\n'), at: 'jwksUri', message: 'invalid URL escape "%2"' },
      { name: 'jwksUri with a bad escape in the fragment', text: ra('  jwtRules:\n  - issuer: https://a.example\n    jwksUri: https://a.example/jwks#%g1\n'), at: 'jwksUri', message: 'invalid URL escape "%g1"' },
      { name: 'timeout below ms precision', text: ra('  jwtRules:\n  - issuer: https://a.example\n    timeout: 1.5ms\n'), at: 'timeout', message: 'only durations to ms precision are supported' },
      { name: 'timeout in microseconds', text: ra('  jwtRules:\n  - issuer: https://a.example\n    timeout: 2s500us\n'), at: 'timeout', message: 'only durations to ms precision are supported' },
      { name: 'private key (warning)', text: ra('  jwtRules:\n  - issuer: https://a.example\n    jwks: \'{"keys":[{"kty":"RSA","n":"x","e":"AQAB","d":"secret"}]}\'\n'), at: 'jwks:', message: 'private key material', severity: 'warning' },
      { name: 'symmetric key (warning)', text: ra('  jwtRules:\n  - issuer: https://a.example\n    jwks: \'{"keys":[{"kty":"oct","k":"c2VjcmV0"}]}\'\n'), at: 'jwks:', message: 'private key material', severity: 'warning' },
    ],
    clean: [
      { name: 'Istio docs jwt-example', text: ra('  selector:\n    matchLabels:\n      app: httpbin\n  jwtRules:\n  - issuer: "testing@secure.istio.io"\n    jwksUri: "https://raw.githubusercontent.com/istio/istio/release-1.28/security/tools/jwt/samples/jwks.json"\n    outputClaimToHeaders:\n    - header: x-jwt-claim-foo\n      claim: foo\n', { namespace: 'foo' }) },
      { name: 'jwksUri alone, inline public jwks, IPv6 host', text: ra('  jwtRules:\n  - jwksUri: http://[fd00::1]:8080/jwks\n  - issuer: https://b.example\n    jwks: \'{"keys":[{"kty":"EC","crv":"P-256","x":"a","y":"b"}]}\'\n') },
      { name: 'jwksUri with escapes and host characters Go accepts, timeouts in whole ms', text: ra('  jwtRules:\n  - issuer: https://a.example\n    jwksUri: https://a.example/jwks%20v1?x=%zz#top%2F\n    timeout: 1.5s\n  - issuer: https://b.example\n    jwksUri: https://b.ex%C3%A4mple/jwks\n    timeout: 1500000us\n  - issuer: https://c.example\n    jwksUri: https://c<1>.example/jwks\n') },
    ],
  },
  MPA1014: {
    trigger: [
      { name: 'AP with empty matchLabels', text: ap('  selector:\n    matchLabels: {}\n' + RULE_GET), at: 'selector:', message: 'workload selector specified without labels' },
      { name: 'PA with selector {}', text: pa('  selector: {}\n  mtls:\n    mode: STRICT\n'), at: 'selector:', message: 'counts as no selector' },
      { name: 'RA', text: ra('  selector:\n    matchLabels: {}\n  jwtRules:\n  - issuer: https://a.example\n'), at: 'selector:', message: 'without labels' },
    ],
    clean: [
      { name: 'labels', text: ap(SELECT('a') + RULE_GET) },
      { name: 'no selector', text: ap(RULE_GET) },
    ],
  },
  MPA1015: {
    trigger: [
      { name: 'Istio docs deny-method-get', text: ap('  selector:\n    matchLabels:\n      app: httpbin\n  action: DENY\n  rules:\n  - to:\n    - operation:\n        methods: ["GET"]\n', { namespace: 'foo' }), at: '  - to:', message: 'deny all traffic to TCP ports under its scope' },
      { name: 'DENY requestPrincipals only', text: ap('  action: DENY\n  rules:\n  - from:\n    - source:\n        notRequestPrincipals: ["*"]\n'), at: '  - from:', message: 'its sources set no TCP attribute' },
      { name: 'TCP source but HTTP-only operation', text: ap('  action: DENY\n  rules:\n  - from:\n    - source:\n        namespaces: ["dev"]\n    to:\n    - operation:\n        paths: ["/admin"]\n'), at: '    to:', message: 'all TCP traffic from the sources of this rule' },
      { name: 'a when port does not count, as in istiod', text: ap('  action: DENY\n  rules:\n  - to:\n    - operation:\n        paths: ["/admin"]\n    when:\n    - key: destination.port\n      values: ["8080"]\n'), at: '  - to:', message: 'recommended to explicitly specify the port' },
      { name: 'ambient namespace, a selected pod keeps its sidecar (Envoy enforces it there)', text: docs(namespace('foo', { 'istio.io/dataplane-mode': 'ambient' }), deployment('httpbin', 'foo', { app: 'httpbin' }), deployment('legacy', 'foo', { app: 'httpbin', 'sidecar.istio.io/inject': 'true' }), DENY_GET(SELECT('httpbin'))), at: '  - to:', message: 'deny all traffic to TCP ports under its scope' },
      { name: 'ambient namespace, targetRefs: a waypoint (Envoy) enforces it', text: docs(namespace('foo', { 'istio.io/dataplane-mode': 'ambient' }), deployment('httpbin', 'foo', { app: 'httpbin' }), DENY_GET('  targetRefs:\n  - kind: Service\n    group: ""\n    name: httpbin\n')), at: '  - to:', message: 'deny all traffic to TCP ports under its scope' },
    ],
    clean: [
      { name: 'with a port', text: ap('  action: DENY\n  rules:\n  - to:\n    - operation:\n        methods: ["GET"]\n        ports: ["8080"]\n') },
      { name: 'TCP source only', text: ap('  action: DENY\n  rules:\n  - from:\n    - source:\n        notNamespaces: ["shop"]\n') },
      { name: 'ALLOW is fine', text: ap(RULE_GET) },
      { name: 'deny all', text: ap('  action: DENY\n  rules:\n  - {}\n') },
      { name: 'when only', text: ap('  action: DENY\n  rules:\n  - when:\n    - key: request.headers[x-bad]\n      values: ["*"]\n') },
      // Istio docs (ambient L4 policy): ztunnel drops the HTTP attributes of a DENY rule and an
      // empty match never matches, so the rule denies nothing there (MPA1030 reports it).
      { name: 'ambient workload without sidecar: ztunnel enforces it, and the rule never matches', text: docs(namespace('foo', { 'istio.io/dataplane-mode': 'ambient' }), deployment('httpbin', 'foo', { app: 'httpbin' }), DENY_GET(SELECT('httpbin'))) },
      { name: 'ambient namespace with no workload in the inventory', text: docs(namespace('foo', { 'istio.io/dataplane-mode': 'ambient' }), DENY_GET('')) },
      { name: 'ambient, sources with TCP fields: ztunnel enforces the sources alone (MPA1030\'s)', text: docs(namespace('foo', { 'istio.io/dataplane-mode': 'ambient' }), deployment('httpbin', 'foo', { app: 'httpbin' }), ap(SELECT('httpbin') + '  action: DENY\n  rules:\n  - from:\n    - source:\n        namespaces: ["dev"]\n    to:\n    - operation:\n        methods: ["DELETE"]\n', { namespace: 'foo' })) },
    ],
  },
  MPA1016: {
    trigger: [
      { name: 'label typo', text: docs(deployment('productpage', 'bookinfo', { app: 'productpage' }), ap(SELECT('product-page') + RULE_GET, { namespace: 'bookinfo' })), at: '  selector:', message: 'did you mean app=productpage?' },
      { name: 'namespace without workloads', text: docs(namespace('empty'), deployment('a', 'other', { app: 'a' }), ap(RULE_GET, { namespace: 'empty' })), at: 'namespace: empty', message: 'no workload in the mesh runs in namespace empty' },
      { name: 'root-namespace selector matching nothing anywhere', text: docs(deployment('a', 'shop', { app: 'a' }), ap(SELECT('nothing') + RULE_GET, { namespace: 'istio-system' })), at: '  selector:', message: 'selects nothing in any namespace' },
      { name: 'only opted-out workloads', text: docs(deployment('a', 'shop', { app: 'a' }, { annotations: { 'sidecar.istio.io/inject': 'false' } }), ap(SELECT('a') + RULE_GET)), at: '  selector:', message: 'opt out of sidecar injection' },
    ],
    clean: [
      { name: 'matching workload', text: docs(deployment('a', 'shop', { app: 'a', version: 'v1' }), ap(SELECT('a') + RULE_GET)) },
      { name: 'namespace the inventory does not describe', text: docs(deployment('a', 'shop', { app: 'a' }), ap(SELECT('x') + RULE_GET, { namespace: 'elsewhere' })) },
      { name: 'targetRefs policies are not about pods', text: docs(deployment('a', 'shop', { app: 'a' }), ap('  targetRefs:\n  - kind: Service\n    name: a\n' + RULE_GET)) },
      { name: 'root-namespace selector matching in another namespace', text: docs(deployment('gw', 'ingress', { istio: 'ingressgateway' }), ap('  selector:\n    matchLabels:\n      istio: ingressgateway\n' + RULE_GET, { namespace: 'istio-system' })) },
      // istioctl's ingress gateway opts out of injection because its own container is the proxy;
      // istioctl analyze counts a pod with an istio-proxy container as in the mesh (analyzers/util inMesh).
      { name: 'classic ingress gateway: inject "false" but runs istio-proxy', text: docs(CLASSIC_INGRESS_GATEWAY, ap('  selector:\n    matchLabels:\n      istio: ingressgateway\n' + RULE_GET, { namespace: 'istio-system' })) },
      { name: 'no inventory', text: ap(SELECT('x') + RULE_GET) },
    ],
  },
  MPA1017: {
    trigger: [
      { name: 'near miss', text: docs(namespace('frontend'), ap('  rules:\n  - from:\n    - source:\n        namespaces: ["fronted"]\n', { namespace: 'frontend' })), at: 'namespaces:', message: 'did you mean frontend?' },
      { name: 'letter case', text: docs(namespace('frontend'), ap('  rules:\n  - from:\n    - source:\n        notNamespaces: ["Frontend"]\n', { namespace: 'frontend' })), at: 'notNamespaces', message: 'differs from namespace frontend in letter case' },
      { name: 'unknown, with the cluster\'s namespace list', text: docs(namespace('kube-system'), namespace('shop'), ap('  rules:\n  - from:\n    - source:\n        namespaces: ["backoffice"]\n')), at: 'namespaces:', message: 'Referenced namespace not found: "backoffice" (IST0101)' },
    ],
    clean: [
      { name: 'unknown without the cluster\'s list (partial workspace)', text: docs(namespace('shop'), ap('  rules:\n  - from:\n    - source:\n        namespaces: ["backoffice"]\n')) },
      { name: 'wildcards as istioctl matches them', text: docs(namespace('kube-system'), namespace('team-a'), namespace('shop'), ap('  rules:\n  - from:\n    - source:\n        namespaces: ["*", "team-*", "*-a", "istio-system", "default"]\n')) },
      { name: 'namespace of another policy', text: docs(namespace('kube-system'), ap('  rules:\n  - from:\n    - source:\n        namespaces: ["billing"]\n'), ap(RULE_GET, { name: 'q', namespace: 'billing' })) },
    ],
  },
  MPA1018: {
    trigger: [
      { name: 'lower case', text: ap('  rules:\n  - to:\n    - operation:\n        methods: ["get"]\n'), at: 'methods:', message: 'HTTP method "get" is not upper case' },
      { name: 'lower-case prefix pattern', text: ap('  rules:\n  - to:\n    - operation:\n        notMethods: ["po*"]\n'), at: 'notMethods', message: 'use PO*' },
      { name: 'typo', text: ap('  rules:\n  - to:\n    - operation:\n        methods: ["PSOT"]\n'), at: 'methods:', message: 'did you mean POST?' },
      // (RFC 9110 §9.1: a method is any token; an unregistered one is rare, not impossible)
      { name: 'an unregistered upper-case token: an extension method', text: ap('  rules:\n  - to:\n    - operation:\n        methods: ["CUSTOMVERB"]\n'), at: 'methods:', message: '"CUSTOMVERB" is not a registered HTTP method, so only a client sending this extension method matches it' },
      { name: 'not a token at all: never matches', text: ap('  rules:\n  - to:\n    - operation:\n        methods: ["GET /x"]\n'), at: 'methods:', message: '"GET /x" is not an HTTP method, so this value never matches a request' },
      { name: 'gRPC method', text: ap('  rules:\n  - to:\n    - operation:\n        methods: ["/grpc.health.v1.Health/Check"]\n'), at: 'methods:', message: 'gRPC calls always use the HTTP method POST' },
    ],
    clean: [
      { name: 'methods and patterns', text: ap('  rules:\n  - to:\n    - operation:\n        methods: ["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS", "PROPFIND", "P*", "*", "*ETE"]\n') },
    ],
  },
  MPA1019: {
    trigger: [
      { name: 'typo', text: docs(serviceAccount('frontend', 'shop'), deployment('cart', 'shop', { app: 'cart' }, { sa: 'cart' }), ap(SELECT('cart') + '  rules:\n  - from:\n    - source:\n        principals: ["cluster.local/ns/shop/sa/frontent"]\n')), at: 'principals:', message: 'did you mean frontend?' },
      { name: 'condition, mesh trust domain', text: docs(deployment('cart', 'shop', { app: 'cart' }, { sa: 'cart' }), ap(SELECT('cart') + '  rules:\n  - when:\n    - key: source.principal\n      notValues: ["cluster.local/ns/shop/sa/ghost"]\n')), at: 'notValues', message: 'service account ghost not found in namespace shop' },
    ],
    clean: [
      { name: 'declared ServiceAccount and workload identity', text: docs(serviceAccount('frontend', 'shop'), deployment('cart', 'shop', { app: 'cart' }, { sa: 'cart' }), ap(SELECT('cart') + '  rules:\n  - from:\n    - source:\n        principals: ["cluster.local/ns/shop/sa/frontend", "cluster.local/ns/shop/sa/cart", "cluster.local/ns/shop/sa/default"]\n')) },
      { name: 'gateway deployed by Istio, wildcard, other trust domain, unknown namespace', text: docs(deployment('cart', 'shop', { app: 'cart' }, { sa: 'cart' }), ap(SELECT('cart') + '  rules:\n  - from:\n    - source:\n        principals: ["cluster.local/ns/shop/sa/shop-gateway-istio", "cluster.local/ns/shop/sa/*", "partner.example/ns/shop/sa/ghost", "cluster.local/ns/other/sa/ghost"]\n')) },
    ],
  },
  MPA1020: {
    trigger: [
      { name: 'spiffe scheme', text: ap('  rules:\n  - from:\n    - source:\n        principals: ["spiffe://cluster.local/ns/a/sa/b"]\n'), at: 'principals:', message: 'written without the spiffe:// scheme' },
      { name: 'missing trust domain', text: ap('  rules:\n  - from:\n    - source:\n        notPrincipals: ["ns/a/sa/b"]\n'), at: 'notPrincipals', message: 'the trust domain is missing' },
      { name: 'service account form', text: ap('  rules:\n  - when:\n    - key: source.principal\n      values: ["shop/frontend"]\n'), at: 'values:', message: 'is the serviceAccounts form' },
      { name: 'bare name', text: ap('  rules:\n  - from:\n    - source:\n        principals: ["frontend"]\n'), at: 'principals:', message: 'a bare name never matches' },
    ],
    clean: [
      { name: 'principal forms', text: ap('  rules:\n  - from:\n    - source:\n        principals: ["cluster.local/ns/a/sa/b", "*", "cluster.local/ns/a/*", "*/sa/b", "spiffe-east.example/ns/a/sa/b", "example.org/workload/db"]\n') },
    ],
  },
  MPA1021: {
    trigger: [
      { name: 'namespace PERMISSIVE', text: docs(pa('  mtls:\n    mode: PERMISSIVE\n', { name: 'default', namespace: 'payments' }), ap(SELECT('ledger') + '  rules:\n  - from:\n    - source:\n        namespaces: ["billing"]\n', { namespace: 'payments' })), at: 'namespaces:', message: 'PERMISSIVE from PeerAuthentication payments/default' },
      { name: 'mesh DISABLE, condition key', text: docs(pa('  mtls:\n    mode: DISABLE\n', { namespace: 'istio-system' }), ap('  rules:\n  - when:\n    - key: source.principal\n      values: ["cluster.local/ns/a/sa/b"]\n')), at: 'key: source.principal', message: 'no call carries a peer identity' },
      { name: 'workload-level PERMISSIVE overrides STRICT namespace', text: docs(pa('  mtls:\n    mode: STRICT\n', { name: 'ns' }), pa(SELECT('cart') + '  mtls:\n    mode: PERMISSIVE\n', { name: 'cart' }), ap(SELECT('cart') + '  rules:\n  - from:\n    - source:\n        principals: ["cluster.local/ns/shop/sa/frontend"]\n')), at: 'principals:', message: 'PERMISSIVE from PeerAuthentication shop/cart' },
      { name: 'port-level PERMISSIVE on the rule\'s port', text: docs(pa(SELECT('payments') + '  mtls:\n    mode: STRICT\n  portLevelMtls:\n    9102:\n      mode: PERMISSIVE\n', { name: 'pm' }), ap(SELECT('payments') + '  rules:\n  - from:\n    - source:\n        namespaces: ["monitoring"]\n    to:\n    - operation:\n        ports: ["9102"]\n')), at: 'namespaces:', message: 'PERMISSIVE on port 9102' },
      { name: 'port-level PERMISSIVE of a workload policy without a mode, under a STRICT namespace (§1.8: an UNSET mode inherits, its ports still apply)', text: docs(pa('  mtls:\n    mode: STRICT\n', { name: 'ns' }), pa(SELECT('payments') + '  portLevelMtls:\n    9102:\n      mode: PERMISSIVE\n', { name: 'pm' }), ap(SELECT('payments') + '  rules:\n  - from:\n    - source:\n        namespaces: ["monitoring"]\n    to:\n    - operation:\n        ports: ["9102"]\n')), at: 'namespaces:', message: 'PERMISSIVE on port 9102 from PeerAuthentication shop/pm' },
      { name: 'disagreeing namespace policies, the oldest is PERMISSIVE', text: docs(pa('  mtls:\n    mode: STRICT\n', { name: 'new', created: '2025-06-01T00:00:00Z' }), pa('  mtls:\n    mode: PERMISSIVE\n', { name: 'old', created: '2024-06-01T00:00:00Z' }), ap('  rules:\n  - from:\n    - source:\n        namespaces: ["x"]\n')), at: 'namespaces:', message: 'PERMISSIVE from PeerAuthentication shop/old' },
      { name: 'inventory workload', text: docs(deployment('cart', 'shop', { app: 'cart' }), pa('  mtls:\n    mode: PERMISSIVE\n', { name: 'ns' }), ap('  rules:\n  - from:\n    - source:\n        serviceAccounts: ["shop/frontend"]\n')), at: 'serviceAccounts', message: 'not STRICT for workload shop/cart' },
      { name: 'a namespace policy with a mode outside the enum is refused by the API server: the mesh-wide DISABLE decides (as the simulator reads it)', text: docs(pa('  mtls:\n    mode: DISABLE\n', { name: 'default', namespace: 'istio-system' }), pa('  mtls:\n    mode: strict\n', { name: 'default', namespace: 'shop' }), ap('  rules:\n  - from:\n    - source:\n        namespaces: ["x"]\n')), at: 'namespaces:', message: 'DISABLE from PeerAuthentication istio-system/default' },
      { name: 'a port-level mode outside the enum refuses the whole workload policy', text: docs(pa('  mtls:\n    mode: PERMISSIVE\n', { name: 'ns' }), pa(SELECT('payments') + '  mtls:\n    mode: STRICT\n  portLevelMtls:\n    9102:\n      mode: Strict\n', { name: 'pm' }), ap(SELECT('payments') + '  rules:\n  - from:\n    - source:\n        namespaces: ["monitoring"]\n')), at: 'namespaces:', message: 'PERMISSIVE from PeerAuthentication shop/ns' },
    ],
    clean: [
      { name: 'STRICT namespace', text: docs(pa('  mtls:\n    mode: STRICT\n'), ap(SELECT('cart') + '  rules:\n  - from:\n    - source:\n        principals: ["cluster.local/ns/shop/sa/frontend"]\n')) },
      { name: 'no PeerAuthentication in the workspace', text: ap(SELECT('cart') + '  rules:\n  - from:\n    - source:\n        principals: ["cluster.local/ns/shop/sa/frontend"]\n') },
      { name: 'STRICT port next to a PERMISSIVE one', text: docs(pa(SELECT('payments') + '  mtls:\n    mode: STRICT\n  portLevelMtls:\n    9102:\n      mode: PERMISSIVE\n', { name: 'pm' }), ap(SELECT('payments') + '  rules:\n  - from:\n    - source:\n        namespaces: ["shop"]\n    to:\n    - operation:\n        ports: ["9090"]\n')) },
      { name: 'conflicting namespace policies: unknown', text: docs(pa('  mtls:\n    mode: STRICT\n', { name: 'a' }), pa('  mtls:\n    mode: PERMISSIVE\n', { name: 'b' }), ap('  rules:\n  - from:\n    - source:\n        namespaces: ["x"]\n')) },
      { name: 'a workload-level policy might cover it: unknown', text: docs(pa('  mtls:\n    mode: PERMISSIVE\n', { name: 'ns' }), pa(SELECT('cart') + '  mtls:\n    mode: STRICT\n', { name: 'cart' }), ap('  selector:\n    matchLabels:\n      tier: backend\n  rules:\n  - from:\n    - source:\n        namespaces: ["x"]\n')) },
      { name: 'PERMISSIVE but no identity field', text: docs(pa('  mtls:\n    mode: PERMISSIVE\n'), ap('  rules:\n  - from:\n    - source:\n        ipBlocks: ["10.0.0.0/8"]\n')) },
      { name: 'targetRefs (waypoint)', text: docs(pa('  mtls:\n    mode: PERMISSIVE\n'), ap('  targetRefs:\n  - kind: Service\n    name: cart\n  rules:\n  - from:\n    - source:\n        namespaces: ["x"]\n')) },
    ],
  },
  MPA1022: {
    trigger: [
      { name: 'two namespace-wide', text: docs(pa('  mtls:\n    mode: STRICT\n', { name: 'a' }), pa('  mtls:\n    mode: PERMISSIVE\n', { name: 'b' })), at: 'name: a', message: 'another PeerAuthentication applies to namespace shop as well (shop/b)' },
      { name: 'two mesh-wide (empty selector counts as none)', text: docs(pa('  mtls:\n    mode: STRICT\n', { name: 'a', namespace: 'istio-system' }), pa('  selector: {}\n  mtls:\n    mode: STRICT\n', { name: 'b', namespace: 'istio-system' })), at: 'name: a', message: 'applies to the whole mesh' },
      { name: 'same selector', text: docs(pa(SELECT('db') + '  mtls:\n    mode: STRICT\n', { name: 'a' }), pa(SELECT('db') + '  mtls:\n    mode: STRICT\n', { name: 'b' })), at: 'name: a', message: 'workloads with app=db' },
      { name: 'creation times known (cluster dump)', text: docs(pa('  mtls:\n    mode: STRICT\n', { name: 'a', created: '2025-01-02T00:00:00Z' }), pa('  mtls:\n    mode: PERMISSIVE\n', { name: 'b', created: '2024-01-02T00:00:00Z' })), at: 'name: a', message: 'only the oldest one (shop/b) is used, so this one is ignored' },
      { name: 'selector in the root namespace', text: pa(SELECT('istio-ingressgateway') + '  mtls:\n    mode: STRICT\n', { namespace: 'istio-system' }), at: 'selector:', message: 'is ignored' },
    ],
    clean: [
      { name: 'one per level', text: docs(pa('  mtls:\n    mode: STRICT\n', { name: 'mesh', namespace: 'istio-system' }), pa('  mtls:\n    mode: PERMISSIVE\n', { name: 'ns' }), pa(SELECT('db') + '  mtls:\n    mode: STRICT\n', { name: 'db' }), pa(SELECT('api') + '  mtls:\n    mode: STRICT\n', { name: 'api' })) },
      { name: 'same name in two namespaces', text: docs(pa('  mtls:\n    mode: STRICT\n', { name: 'default', namespace: 'a' }), pa('  mtls:\n    mode: STRICT\n', { name: 'default', namespace: 'b' })) },
    ],
  },
  MPA1023: {
    trigger: [
      { name: 'from rule then to rule', text: ap('  rules:\n  - from:\n    - source:\n        namespaces: ["frontend"]\n  - to:\n    - operation:\n        methods: ["GET"]\n'), at: '  - to:', message: 'rules[0] has only `from` and rules[1] only `to`' },
      { name: 'to rule then from rule', text: ap('  rules:\n  - to:\n    - operation:\n        methods: ["GET"]\n  - from:\n    - source:\n        namespaces: ["frontend"]\n'), at: '  - from:', message: 'rules[1] has only `from` and rules[0] only `to`' },
      { name: 'negative-only source next to a positive one', text: ap('  rules:\n  - from:\n    - source:\n        namespaces: ["frontend"]\n    - source:  # 2\n        notIpBlocks: ["10.0.0.0/8"]\n'), at: '# 2', message: 'from[1].source sets only notIpBlocks' },
      { name: 'negative-only operation', text: ap('  rules:\n  - to:\n    - operation:\n        methods: ["GET"]\n    - operation:  # 2\n        notPaths: ["/admin/*"]\n'), at: '# 2', message: 'to[1].operation sets only notPaths' },
    ],
    clean: [
      { name: 'one rule', text: ap('  rules:\n  - from:\n    - source:\n        namespaces: ["frontend"]\n    to:\n    - operation:\n        methods: ["GET"]\n') },
      { name: 'DENY is not checked', text: ap('  action: DENY\n  rules:\n  - from:\n    - source:\n        namespaces: ["frontend"]\n  - to:\n    - operation:\n        methods: ["GET"]\n        ports: ["80"]\n') },
      { name: 'alternatives of the same kind', text: ap('  rules:\n  - from:\n    - source:\n        principals: ["cluster.local/ns/a/sa/b"]\n    - source:\n        namespaces: ["dev"]\n  - from:\n    - source:\n        namespaces: ["ops"]\n') },
      { name: 'negative fields next to positive ones in one source', text: ap('  rules:\n  - from:\n    - source:\n        namespaces: ["frontend"]\n        notIpBlocks: ["10.0.0.0/8"]\n') },
      { name: 'rules with when are not split rules', text: ap('  rules:\n  - from:\n    - source:\n        namespaces: ["frontend"]\n  - to:\n    - operation:\n        methods: ["GET"]\n    when:\n    - key: request.headers[x]\n      values: ["y"]\n') },
    ],
  },
  MPA1024: {
    trigger: [
      { name: 'ports-only entry next to methods', text: ap('  rules:\n  - to:\n    - operation:\n        methods: ["GET"]\n    - operation:  # 2\n        ports: ["9000"]\n'), at: '# 2', message: 'to[1] (ports only) therefore never allows TCP traffic' },
    ],
    clean: [
      { name: 'Istio TCP task policy', text: ap('  selector:\n    matchLabels:\n      app: tcp-echo\n  action: ALLOW\n  rules:\n  - to:\n    - operation:\n        ports: ["9000", "9001"]\n', { namespace: 'foo' }) },
      { name: 'ports and methods in one operation', text: ap('  rules:\n  - to:\n    - operation:\n        methods: ["GET"]\n        ports: ["8080"]\n') },
      { name: 'DENY drops keys, not rules', text: ap('  action: DENY\n  rules:\n  - to:\n    - operation:\n        methods: ["GET"]\n        ports: ["80"]\n    - operation:\n        ports: ["9000"]\n') },
      { name: 'separate rules', text: ap('  rules:\n  - to:\n    - operation:\n        methods: ["GET"]\n  - to:\n    - operation:\n        ports: ["9000"]\n') },
    ],
  },
  MPA1025: {
    trigger: [
      { name: 'repeat in another order', text: ap('  rules:\n  - from:\n    - source:\n        principals: ["a/ns/x/sa/y", "a/ns/x/sa/z"]\n    to:\n    - operation:\n        methods: ["GET"]\n  - to:\n    - operation:\n        methods: ["GET"]\n    from:\n    - source:\n        principals: ["a/ns/x/sa/z", "a/ns/x/sa/y"]\n'), at: '  - to:', message: 'rules[1] repeats rules[0]' },
      { name: 'shadowed by a wider rule', text: ap('  rules:\n  - to:\n    - operation:\n        methods: ["GET", "HEAD"]\n  - from:\n    - source:\n        namespaces: ["dev"]\n    to:\n    - operation:\n        methods: ["GET"]\n'), at: '  - from:', message: 'rules[1] is shadowed by rules[0]' },
      { name: 'empty rule shadows everything', text: ap('  rules:\n  - to:\n    - operation:\n        methods: ["GET"]\n  - {}\n'), at: '  - to:', message: 'rules[1] is an empty rule' },
      { name: 'a path prefix covers a path under it', text: ap('  rules:\n  - to:\n    - operation:\n        paths: ["/api/*"]\n  - to:  # narrow\n    - operation:\n        paths: ["/api/v1", "/api/v2/*"]\n'), at: '# narrow', message: 'rules[1] is shadowed by rules[0]' },
      { name: 'a CIDR covers an address in it', text: ap('  rules:\n  - from:\n    - source:\n        ipBlocks: ["10.0.0.0/8"]\n  - from:  # narrow\n    - source:\n        ipBlocks: ["10.1.2.3", "10.2.0.0/16"]\n'), at: '# narrow', message: 'rules[1] is shadowed by rules[0]' },
      { name: '* covers any principal', text: ap('  rules:\n  - from:\n    - source:\n        principals: ["*"]\n  - from:  # narrow\n    - source:\n        principals: ["cluster.local/ns/a/sa/b"]\n'), at: '# narrow', message: 'rules[1] is shadowed by rules[0]' },
      { name: 'hosts compare without case', text: ap('  rules:\n  - to:\n    - operation:\n        hosts: ["*.Example.com"]\n  - to:  # narrow\n    - operation:\n        hosts: ["api.example.COM"]\n'), at: '# narrow', message: 'rules[1] is shadowed by rules[0]' },
      { name: 'a when header, named in another case', text: ap('  rules:\n  - when:\n    - key: request.headers[X-Env]\n      values: ["prod*"]\n  - when:  # narrow\n    - key: request.headers[x-env]\n      values: ["prod-eu"]\n    to:\n    - operation:\n        methods: ["GET"]\n'), at: '# narrow', message: 'rules[1] is shadowed by rules[0]' },
      { name: 'notPaths: the narrow rule excludes more', text: ap('  rules:\n  - to:\n    - operation:\n        notPaths: ["/admin/secret"]\n  - to:  # narrow\n    - operation:\n        notPaths: ["/admin/*"]\n'), at: '# narrow', message: 'rules[1] is shadowed by rules[0]' },
      { name: 'DENY: an HTTP rule in a sidecar namespace', text: docs(namespace('shop'), ap('  action: DENY\n  rules:\n  - to:\n    - operation:\n        methods: ["POST"]\n  - to:  # narrow\n    - operation:\n        methods: ["POST"]\n        ports: ["8080"]\n')), at: '# narrow', message: 'rules[1] is shadowed by rules[0]' },
    ],
    clean: [
      { name: 'different callers', text: ap('  rules:\n  - from:\n    - source:\n        namespaces: ["a"]\n  - from:\n    - source:\n        namespaces: ["b"]\n') },
      { name: 'wider notValues do not cover', text: ap('  rules:\n  - to:\n    - operation:\n        notPaths: ["/a", "/b"]\n  - to:\n    - operation:\n        notPaths: ["/a"]\n        methods: ["GET"]\n') },
      { name: 'a principal prefix is not compared (trust-domain aliasing rewrites only exact values)', text: ap('  rules:\n  - from:\n    - source:\n        principals: ["cluster.local/ns/a/*"]\n  - from:\n    - source:\n        principals: ["cluster.local/ns/a/sa/b"]\n') },
      { name: 'a path template is not compared with a prefix', text: ap('  rules:\n  - to:\n    - operation:\n        paths: ["/api/*"]\n  - to:\n    - operation:\n        paths: ["/api/{*}"]\n') },
      { name: 'a suffix does not cover a prefix', text: ap('  rules:\n  - to:\n    - operation:\n        paths: ["*.json"]\n  - to:\n    - operation:\n        paths: ["/api/*"]\n') },
      { name: 'an IPv4 CIDR holds no IPv6 address', text: ap('  rules:\n  - from:\n    - source:\n        ipBlocks: ["0.0.0.0/0"]\n  - from:\n    - source:\n        ipBlocks: ["::1"]\n') },
      { name: 'ports are compared whole', text: ap('  rules:\n  - to:\n    - operation:\n        ports: ["8080"]\n  - to:\n    - operation:\n        ports: ["80"]\n') },
      { name: 'DENY: at ztunnel an HTTP-only rule matches nothing (ambient namespace)', text: docs(namespace('shop', { 'istio.io/dataplane-mode': 'ambient' }), ap('  action: DENY\n  rules:\n  - to:\n    - operation:\n        methods: ["POST"]\n  - to:\n    - operation:\n        methods: ["POST"]\n        ports: ["8080"]\n')) },
    ],
  },
  MPA1040: {
    trigger: [
      {
        name: 'a namespace-wide DENY on the paths the rule allows',
        text: docs(ap(SELECT('cart') + '  rules:\n  - from:  # allow\n    - source:\n        principals: ["cluster.local/ns/shop/sa/ops"]\n    to:\n    - operation:\n        paths: ["/admin/users", "/admin/keys/*"]\n', { name: 'ops' }), ap('  action: DENY\n  rules:\n  - to:\n    - operation:\n        paths: ["/admin/*"]\n', { name: 'no-admin' })),
        at: '# allow', message: 'rules[0] allows nothing: every request it matches, rules[0] of DENY policy shop/no-admin matches too',
      },
      {
        name: 'a mesh-wide deny-all in the root namespace',
        text: docs(ap(SELECT('cart') + RULE_GET.replace('  - to:', '  - to:  # allow'), { name: 'readers' }), ap('  action: DENY\n  rules:\n  - {}\n', { name: 'lockdown', namespace: 'istio-system' })),
        at: '# allow', message: 'DENY policy istio-system/lockdown has a rule (rules[0]) that matches every request',
      },
      {
        name: 'a DENY selector the ALLOW selector includes',
        text: docs(ap('  selector:\n    matchLabels:\n      app: cart\n      version: v2\n  rules:\n  - from:  # allow\n    - source:\n        ipBlocks: ["10.1.0.0/16"]\n', { name: 'v2' }), ap(SELECT('cart') + '  action: DENY\n  rules:\n  - from:\n    - source:\n        ipBlocks: ["10.0.0.0/8"]\n', { name: 'no-pods' })),
        at: '# allow', message: 'rules[0] of DENY policy shop/no-pods',
      },
      {
        name: 'the same targetRefs',
        text: docs(ap('  targetRefs:\n  - kind: Service\n    group: ""\n    name: cart\n  rules:\n  - to:  # allow\n    - operation:\n        methods: ["DELETE"]\n', { name: 'deleters' }), ap('  targetRefs:\n  - kind: Service\n    group: ""\n    name: cart\n  - kind: Service\n    group: ""\n    name: orders\n  action: DENY\n  rules:\n  - to:\n    - operation:\n        methods: ["DELETE", "PUT"]\n', { name: 'read-only' })),
        at: '# allow', message: 'rules[0] of DENY policy shop/read-only',
      },
      {
        name: 'the second rule only',
        text: docs(ap(SELECT('cart') + '  rules:\n  - to:\n    - operation:\n        methods: ["GET"]\n  - to:  # allow\n    - operation:\n        methods: ["POST"]\n        paths: ["/debug/pprof"]\n', { name: 'two' }), ap('  action: DENY\n  rules:\n  - to:\n    - operation:\n        methods: ["GET"]\n        paths: ["/x"]\n  - to:\n    - operation:\n        paths: ["/debug/*"]\n', { name: 'no-debug' })),
        at: '# allow', message: 'rules[1] allows nothing: every request it matches, rules[1] of DENY policy shop/no-debug matches too',
      },
    ],
    clean: [
      { name: 'the DENY policy is in another namespace', text: docs(ap(SELECT('cart') + RULE_GET), ap('  action: DENY\n  rules:\n  - {}\n', { name: 'd', namespace: 'other' })) },
      { name: 'the DENY selector names a label the ALLOW one does not require', text: docs(ap(RULE_GET), ap(SELECT('cart') + '  action: DENY\n  rules:\n  - {}\n', { name: 'd' })) },
      { name: 'a root-namespace DENY with a selector, a namespace-wide ALLOW', text: docs(ap(RULE_GET), ap(SELECT('cart') + '  action: DENY\n  rules:\n  - {}\n', { name: 'd', namespace: 'istio-system' })) },
      { name: 'the DENY policy is a dry run', text: docs(ap(SELECT('cart') + RULE_GET), ap('  action: DENY\n  rules:\n  - {}\n', { name: 'd', annotations: { 'istio.io/dry-run': 'true' } })) },
      { name: 'the DENY rule is narrower', text: docs(ap(SELECT('cart') + '  rules:\n  - to:\n    - operation:\n        paths: ["/admin/*"]\n'), ap('  action: DENY\n  rules:\n  - to:\n    - operation:\n        paths: ["/admin/secret"]\n', { name: 'd' })) },
      { name: 'the DENY policy attaches by targetRefs, the ALLOW one by selector', text: docs(ap(SELECT('cart') + RULE_GET), ap('  targetRefs:\n  - kind: Service\n    group: ""\n    name: cart\n  action: DENY\n  rules:\n  - {}\n', { name: 'd' })) },
      { name: 'the DENY rule tests a caller the ALLOW rule does not', text: docs(ap(SELECT('cart') + RULE_GET), ap('  action: DENY\n  rules:\n  - from:\n    - source:\n        notNamespaces: ["shop"]\n', { name: 'd' })) },
      { name: 'at ztunnel the DENY rule\'s HTTP parts never match (ambient namespace)', text: docs(namespace('shop', { 'istio.io/dataplane-mode': 'ambient' }), ap(SELECT('cart') + '  rules:\n  - from:\n    - source:\n        namespaces: ["shop"]\n    to:\n    - operation:\n        ports: ["8080"]\n'), ap('  action: DENY\n  rules:\n  - to:\n    - operation:\n        ports: ["8080"]\n        methods: ["*"]\n', { name: 'd' })) },
      { name: 'the DENY policy is refused by istiod', text: docs(ap(SELECT('cart') + RULE_GET), ap('  action: DENY\n  rules:\n  - from:\n    - source:\n        ipBlocks: ["10.0.*"]\n', { name: 'd' })) },
      { name: 'an AUDIT policy', text: docs(ap(SELECT('cart') + RULE_GET), ap('  action: AUDIT\n  rules:\n  - {}\n', { name: 'd' })) },
    ],
  },
  MPA1026: {
    trigger: [
      { name: 'gateway label in the selector', text: ap('  selector:\n    matchLabels:\n      gateway.networking.k8s.io/gateway-name: shop-gateway\n' + RULE_GET), at: '  selector:', message: 'Ineffective selector on Kubernetes Gateway shop-gateway' },
      { name: 'selector matching a gateway pod (inventory)', text: docs(deployment('gw-istio', 'shop', { app: 'gw', 'gateway.networking.k8s.io/gateway-name': 'gw' }), ap(SELECT('gw') + RULE_GET)), at: '  selector:', message: 'Kubernetes Gateway gw' },
      { name: 'RequestAuthentication', text: ra('  selector:\n    matchLabels:\n      gateway.networking.k8s.io/gateway-name: waypoint\n  jwtRules:\n  - issuer: https://a.example\n'), at: '  selector:', message: 'waypoint' },
    ],
    clean: [
      { name: 'classic ingress gateway', text: ap('  selector:\n    matchLabels:\n      istio: ingressgateway\n' + RULE_GET, { namespace: 'istio-system' }) },
      { name: 'targetRefs', text: ap('  targetRefs:\n  - group: gateway.networking.k8s.io\n    kind: Gateway\n    name: shop-gateway\n' + RULE_GET) },
    ],
  },
  MPA1027: {
    trigger: [
      { name: 'rules: []', text: ap(SELECT('a') + '  rules: []\n'), at: 'rules: []', message: 'matches nothing (allow-nothing)', severity: 'info' },
      { name: 'rules commented out', text: ap(SELECT('a') + '  rules:\n  # - from:\n  #   - source:\n  #       namespaces: ["a"]\n'), at: '  rules:', message: '`rules` is empty' },
    ],
    clean: [
      { name: 'spec: {}', text: ap('  {}\n').replace('spec:\n  {}\n', 'spec: {}\n') },
      { name: 'action only', text: ap('  action: ALLOW\n', { namespace: 'istio-system' }) },
      { name: 'no spec', text: `apiVersion: security.istio.io/v1\nkind: AuthorizationPolicy\n${meta()}` },
    ],
  },
  MPA1028: {
    trigger: [
      { name: 'inner * in a path', text: ap('  rules:\n  - to:\n    - operation:\n        paths: ["/api/*/items"]\n'), at: 'paths:', message: 'for "any segment" use the path template /api/{*}/items' },
      { name: 'inner * in a principal', text: ap('  rules:\n  - from:\n    - source:\n        principals: ["cluster.local/ns/*/sa/prometheus"]\n'), at: 'principals:', message: 'use namespaces' },
      { name: 'contains-style header value', text: ap('  action: DENY\n  rules:\n  - when:\n    - key: request.headers[user-agent]\n      values: ["*sqlmap*"]\n'), at: 'values:', message: 'there is no "contains" match' },
      { name: 'inner * in a host', text: ap('  rules:\n  - to:\n    - operation:\n        hosts: ["api.*.example.com"]\n'), at: 'hosts:', message: 'matched literally' },
    ],
    clean: [
      { name: 'leading and trailing wildcards, namespaces, templates', text: ap('  rules:\n  - from:\n    - source:\n        principals: ["*", "cluster.local/ns/a/*", "*/sa/b"]\n        namespaces: ["team-*-prod"]\n    to:\n    - operation:\n        hosts: ["*.example.com", "api.example.com:*"]\n        paths: ["/api/*", "*.png", "/v1/{*}/x"]\n') },
    ],
  },
  MPA1029: {
    trigger: [
      { name: 'Service port', text: docs(deployment('ratings', 'bookinfo', { app: 'ratings' }, { ports: [9080] }), service('ratings', 'bookinfo', { app: 'ratings' }, [{ port: 80, targetPort: 9080 }]), ap(SELECT('ratings') + '  rules:\n  - to:\n    - operation:\n        ports: ["80"]\n', { namespace: 'bookinfo' })), at: 'ports: ["80"]', message: 'port 80 is the port of Service ratings' },
      { name: 'named target port, condition', text: docs(deployment('web', 'shop', { app: 'web' }, { ports: [8080] }).replace('- containerPort: 8080', '- containerPort: 8080\n          name: http'), service('web', 'shop', { app: 'web' }, [{ port: 80, targetPort: 'http' }]), ap(SELECT('web') + '  rules:\n  - when:\n    - key: destination.port\n      values: ["80"]\n')), at: 'values:', message: 'here 8080' },
    ],
    clean: [
      { name: 'container port', text: docs(deployment('ratings', 'bookinfo', { app: 'ratings' }, { ports: [9080] }), service('ratings', 'bookinfo', { app: 'ratings' }, [{ port: 80, targetPort: 9080 }]), ap(SELECT('ratings') + '  rules:\n  - to:\n    - operation:\n        ports: ["9080"]\n', { namespace: 'bookinfo' })) },
      { name: 'workload without declared ports', text: docs(deployment('ratings', 'bookinfo', { app: 'ratings' }), service('ratings', 'bookinfo', { app: 'ratings' }, [{ port: 80, targetPort: 9080 }]), ap(SELECT('ratings') + '  rules:\n  - to:\n    - operation:\n        ports: ["80"]\n', { namespace: 'bookinfo' })) },
    ],
  },
  MPA1032: {
    trigger: [
      { name: 'near miss of the namespace\'s entry', text: docs(serviceEntry('external-api', 'shop', ['api.example.com']), ap(TARGET_ENTRY('externl-api') + RULE_GET)), at: 'name: externl-api', message: 'did you mean external-api?' },
      { name: 'a namespace the inventory knows, without entries', text: docs(deployment('a', 'shop', { app: 'a' }), ap(TARGET_ENTRY('external-api') + RULE_GET)), at: 'name: external-api', message: 'ServiceEntry shop/external-api is not in the workspace (it defines no ServiceEntry in shop)' },
      { name: 'an entry of that name in another namespace', text: docs(serviceEntry('external-api', 'other', ['api.example.com']), deployment('a', 'shop', { app: 'a' }), ap(TARGET_ENTRY('external-api') + RULE_GET)), at: '    name: external-api', message: 'ServiceEntry shop/external-api is not in the workspace' },
      { name: 'RequestAuthentication, targetRef', text: docs(namespace('shop'), ra('  targetRef:\n    group: networking.istio.io\n    kind: ServiceEntry\n    name: gone\n  jwtRules:\n  - issuer: https://a.example\n')), at: 'name: gone', message: 'ServiceEntry shop/gone is not in the workspace' },
    ],
    clean: [
      { name: 'the entry is in the workspace', text: docs(serviceEntry('external-api', 'shop', ['api.example.com']), ap(TARGET_ENTRY('external-api') + RULE_GET)) },
      { name: 'a namespace the inventory does not mention', text: docs(serviceEntry('external-api', 'other', ['api.example.com']), ap(TARGET_ENTRY('external-api') + RULE_GET, { namespace: 'elsewhere' })) },
      { name: 'a Service target', text: docs(deployment('a', 'shop', { app: 'a' }), ap('  targetRefs:\n  - kind: Service\n    name: a\n' + RULE_GET)) },
      { name: 'no inventory', text: ap(TARGET_ENTRY('external-api') + RULE_GET) },
    ],
  },
  // Expected values: istio/istio pilot/pkg/security/authz/builder/extauthz.go (processExtensionProvider
  // resolves only envoyExtAuthzHttp/envoyExtAuthzGrpc entries, rejects duplicate names and ports
  // outside [1, 65535]; getExtAuthz fails for a name it did not resolve) and builder.go (a failed
  // lookup gives DENY rules). The webhook never looks the name up (mesh-semantics §1.9.2).
  MPA1034: {
    trigger: [
      { name: 'a name the ConfigMap does not declare', text: docs(meshConfigMap('istio', GRPC_PROVIDER('opa')), CUSTOM_AP('ext-authz')), at: '    name: ext-authz', message: 'meshConfig.extensionProviders (ConfigMap istio-system/istio) does not declare "ext-authz"; it declares "opa"' },
      { name: 'a mesh config without extensionProviders', text: docs(meshConfigMap('istio', 'trustDomain: cluster.local\n'), CUSTOM_AP('opa')), at: '    name: opa', message: 'it declares no ext_authz provider' },
      { name: 'a tracing provider of that name', text: docs(meshConfigMap('istio', 'extensionProviders:\n- name: opa\n  zipkin:\n    service: zipkin.istio-system.svc.cluster.local\n    port: 9411\n'), CUSTOM_AP('opa')), at: '    name: opa', message: 'extension provider "opa" (ConfigMap istio-system/istio) cannot be used: it is a zipkin provider, not envoyExtAuthzHttp or envoyExtAuthzGrpc' },
      { name: 'a name declared twice', text: docs(meshConfigMap('istio', GRPC_PROVIDER('opa') + GRPC_PROVIDER('opa').replace('extensionProviders:\n', '')), CUSTOM_AP('opa')), at: '    name: opa', message: 'its name is declared more than once' },
      { name: 'a port out of range', text: docs(meshConfigMap('istio', 'extensionProviders:\n- name: opa\n  envoyExtAuthzHttp:\n    service: opa.opa.svc.cluster.local\n    port: 70000\n'), CUSTOM_AP('opa')), at: '    name: opa', message: 'its port 70000 is not in [1, 65535]' },
      { name: 'an IstioOperator meshConfig', text: docs(`apiVersion: install.istio.io/v1alpha1\nkind: IstioOperator\nmetadata:\n  name: control-plane\n  namespace: istio-system\nspec:\n  meshConfig:\n${indent(GRPC_PROVIDER('opa'), 4)}`, CUSTOM_AP('authz')), at: '    name: authz', message: '(IstioOperator istio-system/control-plane) does not declare "authz"' },
      { name: 'a revision\'s ConfigMap alone', text: docs(meshConfigMap('istio-canary', GRPC_PROVIDER('opa')), CUSTOM_AP('authz')), at: '    name: authz', message: '(ConfigMap istio-system/istio-canary) does not declare "authz"' },
      { name: 'mesh configs that disagree: the default revision\'s ConfigMap decides', text: docs(meshConfigMap('istio-canary', GRPC_PROVIDER('authz')), meshConfigMap('istio', GRPC_PROVIDER('opa')), CUSTOM_AP('authz')), at: '    name: authz', message: '(ConfigMap istio-system/istio) does not declare "authz"' },
      { name: 'a near miss', text: docs(meshConfigMap('istio', GRPC_PROVIDER('ext-authz')), CUSTOM_AP('ext-auth')), at: '    name: ext-auth', message: 'did you mean ext-authz?' },
    ],
    clean: [
      { name: 'an envoyExtAuthzGrpc provider', text: docs(meshConfigMap('istio', GRPC_PROVIDER('opa')), CUSTOM_AP('opa')) },
      { name: 'an envoyExtAuthzHttp provider', text: docs(meshConfigMap('istio', 'extensionProviders:\n- name: oauth2\n  envoyExtAuthzHttp:\n    service: oauth2-proxy.auth.svc.cluster.local\n    port: 4180\n'), CUSTOM_AP('oauth2')) },
      { name: 'a port written as a string (as in the ext-authz task)', text: docs(meshConfigMap('istio', 'extensionProviders:\n- name: opa\n  envoyExtAuthzGrpc:\n    service: opa.opa.svc.cluster.local\n    port: "9000"\n'), CUSTOM_AP('opa')) },
      { name: 'no mesh config in the workspace', text: CUSTOM_AP('opa') },
      { name: 'istio-sidecar-injector is no mesh config', text: docs('apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: istio-sidecar-injector\n  namespace: istio-system\ndata:\n  values: "{}"\n', CUSTOM_AP('opa')) },
      { name: 'an app chart\'s values with a meshConfig key is no mesh config', text: docs('meshConfig:\n  extensionProviders: []\n', CUSTOM_AP('opa')) },
      { name: 'mesh configs that disagree: the default revision\'s ConfigMap declares it', text: docs(meshConfigMap('istio-canary', GRPC_PROVIDER('other')), meshConfigMap('istio', GRPC_PROVIDER('opa')), CUSTOM_AP('opa')) },
      { name: 'no provider.name is MPA1004', text: docs(meshConfigMap('istio', GRPC_PROVIDER('opa')), ap('  action: CUSTOM\n' + RULE_GET)) },
      { name: 'no rules is MPA1003', text: docs(meshConfigMap('istio', GRPC_PROVIDER('opa')), ap('  action: CUSTOM\n  provider:\n    name: authz\n')) },
    ],
  },
};


// Expected values: Istio docs, RequestAuthentication reference ("a request that does not contain
// any authentication credentials will be accepted but will not have any authenticated identity"),
// Authorization policy conditions (request.auth.* "requires request authentication policy
// applied"), the JWT task ("Authorization with JWT": require-jwt denies a request without a token
// with 403); mesh-semantics §1.2 (RequestAuthentication attaches as AuthorizationPolicy does) and
// §1.3/§1.8 (an absent attribute fails a positive list and satisfies a not… list);
// istio/istio#35973 (DENY notRequestPrincipals ["*"] denies a request with a valid token).
const JWT_RA = (spec: string, m: Meta = {}) => ra(spec + '  jwtRules:\n  - issuer: testing@secure.istio.io\n    jwksUri: https://example.com/jwks.json\n', { name: 'jwt', namespace: 'foo', ...m });
const REQUIRE_JWT = (spec: string, m: Meta = {}) => ap(spec + '  rules:\n  - from:\n    - source:\n        requestPrincipals: ["*"]\n', { name: 'require-jwt', namespace: 'foo', ...m });
const DENY_NO_TOKEN = (spec: string, m: Meta = {}) => ap(spec + '  action: DENY\n  rules:\n  - from:\n    - source:\n        notRequestPrincipals: ["*"]\n', { name: 'deny-no-token', namespace: 'foo', ...m });
const GROUPS_WHEN = (spec: string) => ap(spec + '  rules:\n  - when:\n    - key: request.auth.claims[groups]\n      values: ["group1"]\n', { name: 'group1', namespace: 'foo' });
const TARGET_GATEWAY = (name: string) => `  targetRefs:\n  - group: gateway.networking.k8s.io\n    kind: Gateway\n    name: ${name}\n`;
const gatewayResource = (name: string, ns: string, className = 'istio') => `apiVersion: gateway.networking.k8s.io/v1\nkind: Gateway\nmetadata:\n  name: ${name}\n  namespace: ${ns}\nspec:\n  gatewayClassName: ${className}\n  listeners:\n  - name: http\n    port: 80\n    protocol: HTTP\n`;

const MPA1035_TABLE: Table = {
  trigger: [
    { name: 'no inventory, no RequestAuthentication (ALLOW requestPrincipals)', text: REQUIRE_JWT(SELECT('httpbin')), at: 'requestPrincipals:', message: 'no RequestAuthentication applies to the workloads it selects: no token is validated there, so no request has a request principal or claims, and it never matches: rules[0] allows nothing, and the requests it is meant to allow are denied unless another ALLOW rule allows them' },
    { name: 'no inventory, the RequestAuthentication selects other workloads', text: docs(JWT_RA(SELECT('reviews')), REQUIRE_JWT(SELECT('httpbin'))), at: 'requestPrincipals:', message: 'no RequestAuthentication applies to the workloads it selects' },
    { name: 'no inventory, the RequestAuthentication is in another namespace', text: docs(JWT_RA('', { namespace: 'bar' }), REQUIRE_JWT('')), at: 'requestPrincipals:', message: 'no RequestAuthentication applies to namespace foo' },
    { name: 'when request.auth.claims[...]', text: GROUPS_WHEN(SELECT('httpbin')), at: 'key: request.auth.claims[groups]', message: 'when request.auth.claims[groups] reads the identity of a validated JWT' },
    { name: 'DENY notRequestPrincipals ["*"] (istio/istio#35973)', text: DENY_NO_TOKEN(SELECT('httpbin')), at: 'notRequestPrincipals:', message: 'it matches every request, valid token or not: rules[0] denies every request;' },
    { name: 'DENY notRequestPrincipals with a path', text: ap(SELECT('httpbin') + '  action: DENY\n  rules:\n  - from:\n    - source:\n        notRequestPrincipals: ["*"]\n    to:\n    - operation:\n        paths: ["/admin/*"]\n', { namespace: 'foo' }), at: 'notRequestPrincipals:', message: 'rules[0] denies every request its other conditions match;' },
    { name: 'ALLOW notRequestPrincipals', text: ap(SELECT('httpbin') + '  rules:\n  - from:\n    - source:\n        notRequestPrincipals: ["admin@example.com/*"]\n', { namespace: 'foo' }), at: 'notRequestPrincipals:', message: 'it matches every request: it excludes no caller, and rules[0] allows every request, with a token or without' },
    { name: 'DENY requestPrincipals', text: ap(SELECT('httpbin') + '  action: DENY\n  rules:\n  - from:\n    - source:\n        requestPrincipals: ["evil.example.com/*"]\n', { namespace: 'foo' }), at: 'requestPrincipals:', message: 'never matches: rules[0] denies nothing, with a token or without' },
    { name: 'a source next to others', text: ap(SELECT('httpbin') + '  rules:\n  - from:\n    - source:\n        requestPrincipals: ["*"]\n    - source:\n        namespaces: ["ops"]\n', { namespace: 'foo' }), at: 'requestPrincipals:', message: 'never matches: rules[0].from[0] matches nothing, and the rule matches only through its other sources' },
    { name: 'a when value rules the rule out before a not… source', text: ap(SELECT('httpbin') + '  action: DENY\n  rules:\n  - from:\n    - source:\n        notRequestPrincipals: ["*"]\n    when:\n    - key: request.auth.audiences\n      values: ["api"]\n', { namespace: 'foo' }), at: 'key: request.auth.audiences', message: 'never matches: rules[0] denies nothing' },
    { name: 'the first rule that reads a JWT', text: ap(SELECT('httpbin') + '  rules:\n  - to:\n    - operation:\n        paths: ["/health"]\n  - from:\n    - source:\n        requestPrincipals: ["*"]\n', { namespace: 'foo' }), at: 'requestPrincipals:', message: 'never matches: rules[1] allows nothing' },
    { name: 'inventory: one workload of the namespace has none', text: docs(deployment('httpbin', 'foo', { app: 'httpbin' }), deployment('sleep', 'foo', { app: 'sleep' }), JWT_RA(SELECT('sleep')), REQUIRE_JWT('')), at: 'requestPrincipals:', message: 'no RequestAuthentication applies to workload foo/httpbin:' },
    { name: 'inventory: a few named, then how many more', text: docs(...['a', 'b', 'c', 'd', 'e'].map((n) => deployment(n, 'foo', { app: n })), REQUIRE_JWT('')), at: 'requestPrincipals:', message: 'no RequestAuthentication applies to workloads foo/a, foo/b, foo/c and 2 more:' },
    { name: 'inventory: a root-namespace selector RequestAuthentication for other workloads', text: docs(deployment('httpbin', 'foo', { app: 'httpbin' }), JWT_RA(SELECT('productpage'), { namespace: 'istio-system' }), REQUIRE_JWT(SELECT('httpbin'))), at: 'requestPrincipals:', message: 'workload foo/httpbin' },
    { name: 'targetRefs Gateway, the RequestAuthentication targets another gateway', text: docs(JWT_RA(TARGET_GATEWAY('internal')), REQUIRE_JWT(TARGET_GATEWAY('ingress'))), at: 'requestPrincipals:', message: 'no RequestAuthentication applies to Gateway ingress' },
    { name: 'targetRefs waypoint Gateway: namespace-wide RequestAuthentications do not apply at waypoints', text: docs(gatewayResource('waypoint', 'foo', 'istio-waypoint'), JWT_RA(''), REQUIRE_JWT(TARGET_GATEWAY('waypoint'))), at: 'requestPrincipals:', message: 'no RequestAuthentication applies to Gateway waypoint' },
  ],
  clean: [
    { name: 'namespace-wide RequestAuthentication', text: docs(JWT_RA(''), REQUIRE_JWT(SELECT('httpbin'))) },
    { name: 'root-namespace RequestAuthentication', text: docs(JWT_RA('', { namespace: 'istio-system' }), REQUIRE_JWT(SELECT('httpbin'))) },
    { name: 'root-namespace selector RequestAuthentication (every namespace)', text: docs(JWT_RA(SELECT('httpbin'), { namespace: 'istio-system' }), REQUIRE_JWT(SELECT('httpbin'))) },
    { name: 'the same selector (the JWT task)', text: docs(JWT_RA(SELECT('httpbin')), REQUIRE_JWT(SELECT('httpbin'))) },
    { name: 'a selector that may select the same workloads', text: docs(JWT_RA(SELECT('httpbin')), REQUIRE_JWT('  selector:\n    matchLabels:\n      app: httpbin\n      version: v1\n')) },
    { name: 'no inventory, namespace-wide policy, some selector RequestAuthentication: maybe', text: docs(JWT_RA(SELECT('httpbin')), REQUIRE_JWT('')) },
    { name: 'when request.auth.claims with a RequestAuthentication', text: docs(JWT_RA(''), GROUPS_WHEN(SELECT('httpbin'))) },
    { name: 'DENY notRequestPrincipals with a RequestAuthentication', text: docs(JWT_RA(SELECT('httpbin')), DENY_NO_TOKEN(SELECT('httpbin'))) },
    { name: 'no JWT field', text: ap(SELECT('httpbin') + '  rules:\n  - from:\n    - source:\n        principals: ["cluster.local/ns/foo/sa/sleep"]\n    when:\n    - key: request.headers[x-token]\n      values: ["*"]\n', { namespace: 'foo' }) },
    { name: 'targetRefs Gateway with a RequestAuthentication on the same Gateway', text: docs(JWT_RA(TARGET_GATEWAY('ingress')), REQUIRE_JWT(TARGET_GATEWAY('ingress'))) },
    { name: 'targetRefs Gateway (not a waypoint) with a namespace-wide RequestAuthentication', text: docs(gatewayResource('ingress', 'foo'), JWT_RA(''), REQUIRE_JWT(TARGET_GATEWAY('ingress'))) },
    { name: 'a selector on a gateway\'s pods with a RequestAuthentication on that Gateway', text: docs(JWT_RA(TARGET_GATEWAY('ingress')), REQUIRE_JWT('  selector:\n    matchLabels:\n      gateway.networking.k8s.io/gateway-name: ingress\n')) },
    { name: 'root-namespace policy, RequestAuthentications elsewhere: maybe', text: docs(JWT_RA('', { namespace: 'bar' }), REQUIRE_JWT('', { namespace: 'istio-system' })) },
    { name: 'inventory: every selected workload has one', text: docs(deployment('httpbin', 'foo', { app: 'httpbin' }), deployment('sleep', 'foo', { app: 'sleep' }), JWT_RA(SELECT('httpbin')), REQUIRE_JWT(SELECT('httpbin'))) },
    { name: 'inventory: the workload without one is out of the mesh', text: docs(deployment('httpbin', 'foo', { app: 'httpbin' }), deployment('legacy', 'foo', { app: 'legacy', 'sidecar.istio.io/inject': 'false' }), JWT_RA(SELECT('httpbin')), REQUIRE_JWT('')) },
    { name: 'inventory: ambient workloads are MPA1030\'s', text: docs(namespace('foo', { 'istio.io/dataplane-mode': 'ambient' }), deployment('httpbin', 'foo', { app: 'httpbin' }), REQUIRE_JWT(SELECT('httpbin'))) },
  ],
};
TABLES['MPA1035'] = MPA1035_TABLE;

/** A DestinationRule; `spec` is the YAML under `spec:`, indented by two spaces. */
const dr = (spec: string, m: Meta = {}) => `apiVersion: networking.istio.io/v1\nkind: DestinationRule\n${meta({ name: 'reviews', namespace: 'bookinfo', ...m })}spec:\n${spec}`;
const TLS = (mode: string) => `  trafficPolicy:\n    tls:\n      mode: ${mode}\n`;
const STRICT_NS = (ns = 'bookinfo') => pa('  mtls:\n    mode: STRICT\n', { name: 'default', namespace: ns });
/** bookinfo's reviews: two versions behind one Service port 9080. */
const REVIEWS = docs(
  deployment('reviews-v1', 'bookinfo', { app: 'reviews', version: 'v1' }, { ports: [9080] }),
  deployment('reviews-v2', 'bookinfo', { app: 'reviews', version: 'v2' }, { ports: [9080] }),
  service('reviews', 'bookinfo', { app: 'reviews' }, [{ port: 9080 }]),
);
/** A Service whose port 80 forwards to container port 8080, and port 9090 to 9090. */
const DR_FULL = docs(REVIEWS, dr('  host: reviews.bookinfo.svc.cluster.local\n' + TLS('DISABLE')), STRICT_NS());
const DR_WILDCARD = docs(REVIEWS, dr('  host: "*.bookinfo.svc.cluster.local"\n' + TLS('DISABLE'), { name: 'all' }), STRICT_NS());
const BACKEND = docs(deployment('backend', 'bookinfo', { app: 'backend' }, { ports: [8080, 9090] }), service('backend', 'bookinfo', { app: 'backend' }, [{ port: 80, targetPort: 8080 }, { port: 9090 }]));

// Istio docs "503 errors after setting destination rule", PeerAuthentication reference (STRICT:
// mTLS with a client certificate required; portLevelMtls per container port), DestinationRule
// reference (ClientTLSSettings modes; a short host name is read in the rule's namespace).
const MESH_CONFIG = (mesh: string) => `apiVersion: v1\nkind: ConfigMap\nmetadata: {name: istio, namespace: istio-system}\ndata:\n  mesh: |\n${mesh.split('\n').map((l) => `    ${l}`).join('\n')}\n`;

// spec §1.5.2: the mesh's trust domain, its aliases and cluster.local are rewritten to the mesh's; `*` is a wildcard; any other is kept as written.
TABLES['MPA1037'] = {
  trigger: [
    { name: 'another trust domain in a source', text: ap('  rules:\n  - from:\n    - source:\n        principals: ["partner.example/ns/shop/sa/web"]\n'), at: 'principals:', message: 'trust domain partner.example of principal "partner.example/ns/shop/sa/web" is not the mesh\'s (cluster.local, and no trustDomainAliases are set): Istio keeps it as written, so it matches only callers from another mesh with that trust domain' },
    { name: 'in a when condition, with spiffe://', text: ap('  rules:\n  - when:\n    - key: source.principal\n      notValues: ["spiffe://old.example/ns/shop/sa/web"]\n'), at: 'notValues', message: 'trust domain old.example of principal' },
    { name: 'neither the mesh config\'s trust domain nor its aliases', text: docs(MESH_CONFIG('trustDomain: acme.org\ntrustDomainAliases: [old.acme.org]'), ap('  rules:\n  - from:\n    - source:\n        notPrincipals: ["acme.com/ns/shop/sa/web"]\n')), at: 'notPrincipals', message: 'is not the mesh\'s (acme.org) nor one of its trustDomainAliases (old.acme.org)' },
  ],
  clean: [
    { name: 'cluster.local, a wildcard trust domain, other forms', text: ap('  rules:\n  - from:\n    - source:\n        principals: ["cluster.local/ns/shop/sa/web", "*/ns/shop/sa/web", "*.example/ns/shop/sa/web", "*", "cluster.local/ns/shop/*"]\n') },
    { name: 'the mesh\'s trust domain and its aliases', text: docs(MESH_CONFIG('trustDomain: acme.org\ntrustDomainAliases: [old.acme.org]'), ap('  rules:\n  - from:\n    - source:\n        principals: ["acme.org/ns/shop/sa/web", "old.acme.org/ns/shop/sa/web", "cluster.local/ns/shop/sa/web"]\n')) },
  ],
};

// istioctl analyze IST0171 NegativeConditionStatus; the ambient conditions istiod writes.
const ZTUNNEL_REFUSED = 'status:\n  conditions:\n  - type: ZtunnelAccepted\n    status: "False"\n    reason: UnsupportedValue\n    message: "ztunnel does not support HTTP attributes (found: methods). In ambient mode you must use a waypoint proxy to enforce HTTP rules."\n';
TABLES['MPA1038'] = {
  trigger: [
    { name: 'ztunnel did not take the HTTP attributes', text: ap('  rules:\n  - to:\n    - operation:\n        ports: ["8080"]\n') + ZTUNNEL_REFUSED, at: 'status: "False"', message: 'istiod reported ZtunnelAccepted False (UnsupportedValue): ztunnel does not support HTTP attributes (found: methods). In ambient mode you must use a waypoint proxy to enforce HTTP rules; the cluster had not taken the resource as written when this status was saved with it' },
    { name: 'a waypoint that does not take it, a condition without reason or message', text: ap('  targetRefs:\n  - kind: Service\n    group: ""\n    name: cart\n  rules:\n  - {}\n') + 'status:\n  conditions:\n  - type: WaypointAccepted\n    status: "False"\n', at: 'status: "False"', message: 'istiod reported WaypointAccepted False; the cluster had not taken the resource' },
  ],
  clean: [
    { name: 'accepted, or not decided yet', text: ap('  rules:\n  - {}\n') + 'status:\n  conditions:\n  - type: ZtunnelAccepted\n    status: "True"\n  - type: WaypointAccepted\n    status: "Unknown"\n' },
    { name: 'a status without conditions', text: ap('  rules:\n  - {}\n') + 'status:\n  validationMessages: []\n' },
  ],
};

// The API server against the workspace's CRD (an older release's: v1beta1 only, no targetRefs).
const AP_V1BETA1 = (spec: string, m: Meta = {}) => ap(spec, m).replace('security.istio.io/v1\n', 'security.istio.io/v1beta1\n');
TABLES['MPA1039'] = {
  trigger: [
    { name: 'a version the CRD does not serve', text: docs(OLD_ISTIO_AP_CRD, ap(SELECT('cart'))), at: 'apiVersion: security.istio.io/v1', message: 'the CustomResourceDefinition authorizationpolicies.security.istio.io (policy.yaml) does not serve security.istio.io/v1 (it serves security.istio.io/v1beta1): the API server refuses the resource (no matches for kind "AuthorizationPolicy" in version "security.istio.io/v1")' },
    { name: 'a version the CRD lists but does not serve', text: docs(crdYaml('security.istio.io', 'AuthorizationPolicy', 'authorizationpolicies', [{ name: 'v1beta1', served: false }, { name: 'v1', schema: OLD_AUTHORIZATION_POLICY }]), AP_V1BETA1(SELECT('cart'))), at: 'apiVersion: security.istio.io/v1beta1', message: 'does not serve security.istio.io/v1beta1 (it serves security.istio.io/v1)' },
    { name: 'a field of a later release (targetRefs)', text: docs(OLD_ISTIO_AP_CRD, AP_V1BETA1('  targetRefs:\n  - kind: Service\n    group: ""\n    name: cart\n')), at: 'targetRefs:', message: 'unknown field "spec.targetRefs": the CustomResourceDefinition authorizationpolicies.security.istio.io (policy.yaml) does not declare it in v1beta1; kubectl apply refuses the resource' },
    { name: 'a nested field of a later release (serviceAccounts), beside another error at the same key', text: docs(OLD_ISTIO_AP_CRD, AP_V1BETA1('  rules:\n  - from:\n    - source:\n        serviceAccounts: ["shop/frontend"]\n')), at: 'serviceAccounts:', message: 'unknown field "spec.rules[0].from[0].source.serviceAccounts"' },
    { name: 'a value the CRD\'s enum refuses (ours knows it)', text: docs(crdYaml('security.istio.io', 'AuthorizationPolicy', 'authorizationpolicies', [{ name: 'v1', schema: { type: 'object', properties: { spec: { type: 'object', properties: { action: { type: 'string', enum: ['ALLOW', 'DENY'] } } } } } }]), ap('  action: AUDIT\n  rules:\n  - {}\n')), at: 'action: AUDIT', message: 'spec.action: Unsupported value: "AUDIT": supported values: "ALLOW", "DENY": the CustomResourceDefinition authorizationpolicies.security.istio.io (policy.yaml) refuses the resource' },
    { name: 'a CEL rule of the CRD that the policy fails', text: docs(crdYaml('security.istio.io', 'AuthorizationPolicy', 'authorizationpolicies', [{ name: 'v1', schema: { type: 'object', properties: { spec: { type: 'object', 'x-kubernetes-preserve-unknown-fields': true, properties: { rules: { type: 'array', items: { type: 'object', 'x-kubernetes-preserve-unknown-fields': true }, 'x-kubernetes-validations': [{ rule: 'self.all(r, has(r.to))', message: 'every rule must name operations' }] } } } } } }]), ap(SELECT('cart') + '  rules:\n  - from:\n    - source:\n        principals: ["cluster.local/ns/shop/sa/frontend"]\n')), at: '  rules:', message: 'spec.rules: Invalid value: "array": every rule must name operations: the CustomResourceDefinition authorizationpolicies.security.istio.io (policy.yaml) refuses the resource' },
    { name: 'the CRD in a List, as `kubectl get crd -o yaml` writes several', text: docs(`apiVersion: v1\nkind: List\nitems:\n- ${indent(OLD_ISTIO_AP_CRD, 2).trimStart()}`, ap(SELECT('cart'))), at: 'apiVersion: security.istio.io/v1', message: 'does not serve security.istio.io/v1' },
    { name: 'a field the CRD requires and ours does not', text: docs(ap('  action: DENY\n  rules:\n  - {}\n'), crdYaml('security.istio.io', 'AuthorizationPolicy', 'authorizationpolicies', [{ name: 'v1', schema: { type: 'object', properties: { spec: { type: 'object', required: ['selector'], 'x-kubernetes-preserve-unknown-fields': true } } } }])), at: 'spec:', message: 'spec.selector: Required value' },
  ],
  clean: [
    { name: 'no CRD in the workspace', text: ap('  targetRefs:\n  - kind: Service\n    group: ""\n    name: cart\n') },
    { name: 'what the CRD serves and declares', text: docs(OLD_ISTIO_AP_CRD, AP_V1BETA1(SELECT('cart') + '  action: DENY\n  rules:\n  - from:\n    - source:\n        principals: ["cluster.local/ns/shop/sa/frontend"]\n    to:\n    - operation:\n        ports: ["8080"]\n')) },
    { name: 'the CRD of another kind', text: docs(OLD_ISTIO_AP_CRD, pa('  mtls:\n    mode: STRICT\n')) },
    { name: 'a value our check already refuses at the same place (MPA1008 says it)', text: docs(OLD_ISTIO_AP_CRD, AP_V1BETA1('  rules:\n  - to:\n    - operation:\n        ports: ["80x"]\n')) },
    { name: 'a missing field our schema already reports (MPA0102)', text: docs(OLD_ISTIO_AP_CRD, AP_V1BETA1('  rules:\n  - when:\n    - values: ["x"]\n')) },
    { name: 'a field our schema already reports (MPA0101)', text: docs(OLD_ISTIO_AP_CRD, AP_V1BETA1('  rules:\n  - from:\n    - source:\n        principal: ["cluster.local/ns/shop/sa/frontend"]\n')) },
    { name: 'status, which the status subresource ignores', text: docs(crdYaml('security.istio.io', 'AuthorizationPolicy', 'authorizationpolicies', [{ name: 'v1', statusSubresource: true, schema: { type: 'object', properties: { spec: { type: 'object', 'x-kubernetes-preserve-unknown-fields': true } } } }]), ap(SELECT('cart')) + 'status:\n  conditions: []\n') },
  ],
};

TABLES['MPA1036'] = {
  trigger: [
    { name: 'DISABLE vs namespace-wide STRICT', text: DR_FULL, at: 'mode: STRICT', message: `DestinationRule bookinfo/reviews (policy.yaml:${lineOf(DR_FULL, 'mode: DISABLE') + 1}) sets tls.mode DISABLE for host reviews.bookinfo.svc.cluster.local (traffic policy), so client sidecars send plain text, but PeerAuthentication bookinfo/default makes mTLS STRICT for workloads bookinfo/reviews-v1, bookinfo/reviews-v2:` },
    { name: 'DISABLE vs mesh-wide STRICT in the root namespace', text: docs(REVIEWS, dr('  host: reviews\n' + TLS('DISABLE')), STRICT_NS('istio-system')), at: 'mode: STRICT', message: 'PeerAuthentication istio-system/default makes mTLS STRICT for workloads bookinfo/reviews-v1' },
    { name: 'SIMPLE vs STRICT (no client certificate)', text: docs(REVIEWS, dr('  host: reviews\n' + TLS('SIMPLE')), STRICT_NS()), at: 'mode: STRICT', message: 'sets tls.mode SIMPLE for host reviews (traffic policy), so client sidecars originate TLS without a client certificate' },
    { name: 'portLevelSettings DISABLE on one port (Service port 80 → container port 8080)', text: docs(BACKEND, dr('  host: backend\n  trafficPolicy:\n    portLevelSettings:\n    - port:\n        number: 80\n      tls:\n        mode: DISABLE\n', { name: 'backend' }), STRICT_NS()), at: 'mode: STRICT', message: 'sets tls.mode DISABLE for host backend (port 80)' },
    { name: 'workload STRICT on one port only: the finding sits at that port', text: docs(BACKEND, dr('  host: backend\n' + TLS('DISABLE'), { name: 'backend' }), pa(SELECT('backend') + '  mtls:\n    mode: PERMISSIVE\n  portLevelMtls:\n    9090:\n      mode: STRICT\n', { name: 'backend', namespace: 'bookinfo' })), at: 'mode: STRICT', message: 'makes mTLS STRICT on port 9090 for workload bookinfo/backend' },
    { name: 'workload portLevelMtls with UNSET mode under a STRICT namespace (the reference\'s finance example)', text: docs(BACKEND, dr('  host: backend\n' + TLS('DISABLE'), { name: 'backend' }), STRICT_NS(), pa(SELECT('backend') + '  portLevelMtls:\n    8080:\n      mode: DISABLE\n', { name: 'backend', namespace: 'bookinfo' })), at: 'mode: STRICT', message: 'PeerAuthentication bookinfo/default makes mTLS STRICT for workload bookinfo/backend' },
    { name: 'subset trafficPolicy: only the subset\'s workloads', text: docs(REVIEWS, dr('  host: reviews\n  subsets:\n  - name: v2\n    labels:\n      version: v2\n    trafficPolicy:\n      tls:\n        mode: DISABLE\n'), STRICT_NS()), at: 'mode: STRICT', message: '(subset v2), so client sidecars send plain text, but PeerAuthentication bookinfo/default makes mTLS STRICT for workload bookinfo/reviews-v2:' },
    { name: 'subset without tls inherits the rule\'s DISABLE', text: docs(REVIEWS, dr('  host: reviews\n' + TLS('DISABLE') + '  subsets:\n  - name: v1\n    labels:\n      version: v1\n    trafficPolicy:\n      connectionPool:\n        tcp:\n          maxConnections: 10\n'), STRICT_NS()), at: 'mode: STRICT', message: 'sets tls.mode DISABLE for host reviews (traffic policy)' },
    { name: 'wildcard host of the namespace', text: DR_WILDCARD, at: 'mode: STRICT', message: `DestinationRule bookinfo/all (policy.yaml:${lineOf(DR_WILDCARD, 'mode: DISABLE') + 1}) sets tls.mode DISABLE for host *.bookinfo.svc.cluster.local (traffic policy)` },
    { name: 'the rule in another namespace names the host in full', text: docs(REVIEWS, dr('  host: reviews.bookinfo.svc.cluster.local\n' + TLS('DISABLE'), { namespace: 'frontend' }), STRICT_NS()), at: 'mode: STRICT', message: 'DestinationRule frontend/reviews' },
    { name: 'a few workloads named, then how many more', text: docs(...['a', 'b', 'c', 'd', 'e'].map((n) => deployment(n, 'bookinfo', { tier: 'web' })), service('web', 'bookinfo', { tier: 'web' }, [{ port: 80 }]), dr('  host: "*"\n' + TLS('DISABLE'), { name: 'everything', namespace: 'istio-system' }), STRICT_NS()), at: 'mode: STRICT', message: 'for workloads bookinfo/a, bookinfo/b, bookinfo/c and 2 more:' },
  ],
  clean: [
    { name: 'ISTIO_MUTUAL', text: docs(REVIEWS, dr('  host: reviews\n' + TLS('ISTIO_MUTUAL')), STRICT_NS()) },
    { name: 'no tls block (auto mTLS)', text: docs(REVIEWS, dr('  host: reviews\n  trafficPolicy:\n    connectionPool:\n      tcp:\n        maxConnections: 100\n'), STRICT_NS()) },
    { name: 'DISABLE toward PERMISSIVE (plain text accepted)', text: docs(REVIEWS, dr('  host: reviews\n' + TLS('DISABLE')), pa('  mtls:\n    mode: PERMISSIVE\n', { name: 'default', namespace: 'bookinfo' })) },
    { name: 'MUTUAL (certificates of the mesh CA pass)', text: docs(REVIEWS, dr('  host: reviews\n  trafficPolicy:\n    tls:\n      mode: MUTUAL\n      credentialName: reviews-client\n'), STRICT_NS()) },
    { name: 'workload STRICT with portLevelMtls PERMISSIVE on the port the rule disables', text: docs(BACKEND, dr('  host: backend\n  trafficPolicy:\n    portLevelSettings:\n    - port:\n        number: 80\n      tls:\n        mode: DISABLE\n', { name: 'backend' }), pa(SELECT('backend') + '  mtls:\n    mode: STRICT\n  portLevelMtls:\n    8080:\n      mode: PERMISSIVE\n', { name: 'backend', namespace: 'bookinfo' })) },
    { name: 'portLevelSettings ISTIO_MUTUAL overrides the DISABLE of the traffic policy on the STRICT port', text: docs(BACKEND, dr('  host: backend\n  trafficPolicy:\n    tls:\n      mode: DISABLE\n    portLevelSettings:\n    - port:\n        number: 9090\n      tls:\n        mode: ISTIO_MUTUAL\n', { name: 'backend' }), pa(SELECT('backend') + '  mtls:\n    mode: PERMISSIVE\n  portLevelMtls:\n    9090:\n      mode: STRICT\n', { name: 'backend', namespace: 'bookinfo' })) },
    { name: 'a portLevelSettings entry without tls replaces the traffic policy\'s DISABLE on its port (DestinationRule reference: port-level settings are not inherited)', text: docs(BACKEND, dr('  host: backend\n  trafficPolicy:\n    tls:\n      mode: DISABLE\n    portLevelSettings:\n    - port:\n        number: 9090\n      connectionPool:\n        tcp:\n          maxConnections: 10\n', { name: 'backend' }), pa(SELECT('backend') + '  mtls:\n    mode: PERMISSIVE\n  portLevelMtls:\n    9090:\n      mode: STRICT\n', { name: 'backend', namespace: 'bookinfo' })) },
    { name: 'a subset\'s ISTIO_MUTUAL port entry overrides the rule\'s DISABLE, and the rule\'s own DISABLE reaches only a PERMISSIVE port', text: docs(BACKEND, dr('  host: backend\n  trafficPolicy:\n    portLevelSettings:\n    - port:\n        number: 80\n      tls:\n        mode: DISABLE\n  subsets:\n  - name: v1\n    labels:\n      app: backend\n    trafficPolicy:\n      portLevelSettings:\n      - port:\n          number: 9090\n        tls:\n          mode: ISTIO_MUTUAL\n', { name: 'backend' }), pa(SELECT('backend') + '  mtls:\n    mode: STRICT\n  portLevelMtls:\n    8080:\n      mode: PERMISSIVE\n', { name: 'backend', namespace: 'bookinfo' })) },
    { name: 'short host name is read in the rule\'s namespace (another namespace\'s Service)', text: docs(REVIEWS, dr('  host: reviews\n' + TLS('DISABLE'), { namespace: 'frontend' }), STRICT_NS()) },
    { name: 'host of another namespace', text: docs(REVIEWS, dr('  host: ratings.other.svc.cluster.local\n' + TLS('DISABLE')), STRICT_NS()) },
    { name: 'wildcard of another namespace', text: docs(REVIEWS, dr('  host: "*.other.svc.cluster.local"\n' + TLS('DISABLE')), STRICT_NS()) },
    { name: 'a more specific rule of the same namespace wins over the wildcard', text: docs(REVIEWS, dr('  host: "*.bookinfo.svc.cluster.local"\n' + TLS('DISABLE'), { name: 'all' }), dr('  host: reviews\n' + TLS('ISTIO_MUTUAL')), STRICT_NS()) },
    { name: 'subset whose labels select no workload of the Service', text: docs(REVIEWS, dr('  host: reviews\n  subsets:\n  - name: v3\n    labels:\n      version: v3\n    trafficPolicy:\n      tls:\n        mode: DISABLE\n'), STRICT_NS()) },
    { name: 'workloads out of the mesh (no sidecar enforces STRICT)', text: docs(deployment('legacy', 'bookinfo', { app: 'legacy', 'sidecar.istio.io/inject': 'false' }), service('legacy', 'bookinfo', { app: 'legacy' }, [{ port: 80 }]), dr('  host: legacy\n' + TLS('DISABLE'), { name: 'legacy' }), STRICT_NS()) },
    { name: 'no inventory: the Service is not known', text: docs(dr('  host: reviews\n' + TLS('DISABLE')), STRICT_NS()) },
    { name: 'the Service is not in the inventory (other objects are)', text: docs(deployment('reviews-v1', 'bookinfo', { app: 'reviews' }), dr('  host: reviews\n' + TLS('DISABLE')), STRICT_NS()) },
  ],
};

describe('Istio checks: tables', () => {
  it('every check has a table with cases that trigger and cases that do not', () => {
    // MPA1030, MPA1031 and MPA1033 keep their tables in istioAmbientHosts.test.ts.
    const elsewhere = new Set(['MPA1030', 'MPA1031', 'MPA1033']);
    assert.deepEqual(ISTIO_CHECKS.map((c) => c.code).filter((code) => !elsewhere.has(code) && (!TABLES[code]?.trigger.length || !TABLES[code]?.clean.length)), []);
  });

  for (const check of ISTIO_CHECKS) {
    const table = TABLES[check.code];
    if (!table) continue;
    describe(`${check.code} ${check.title}`, () => {
      for (const c of table.trigger) {
        it(`triggers: ${c.name}`, () => {
          const { findings } = lint(c.text, c.file);
          const line = lineOf(c.text, c.at);
          const hit = findings.find((f) => f.code === check.code && f.range.start.line === line && f.message.includes(c.message));
          assert.ok(hit, `expected ${check.code} on line ${line + 1} containing "${c.message}"; got:\n  ${describeFindings(findings)}`);
          assert.equal(hit.severity, c.severity ?? check.defaultSeverity);
        });
      }
      for (const c of table.clean) {
        it(`does not trigger: ${c.name}`, () => {
          const { findings } = lint(c.text, c.file);
          const own = findings.filter((f) => f.code === check.code);
          assert.deepEqual(own.map((f) => `${f.range.start.line + 1}: ${f.message}`), [], describeFindings(findings));
        });
      }
    });
  }
});

// ---------------------------------------------------------------------------------------------
// Realistic policies (after the Istio docs' authorization and authentication tasks): no finding
// of any code.

const REALISTIC: Array<{ name: string; text: string }> = [
  {
    // The reference page's example assumes the RequestAuthentication of the authentication task (else MPA1035).
    name: 'httpbin viewer (HTTP traffic task)',
    text: ra('  jwtRules:\n  - issuer: https://accounts.google.com\n    jwksUri: https://www.googleapis.com/oauth2/v3/certs\n', { name: 'jwt', namespace: 'foo' }) + '---\n' + ap('  selector:\n    matchLabels:\n      app: httpbin\n      version: v1\n  action: ALLOW\n  rules:\n  - from:\n    - source:\n        principals: ["cluster.local/ns/default/sa/curl"]\n    - source:\n        namespaces: ["dev"]\n    to:\n    - operation:\n        methods: ["GET"]\n    when:\n    - key: request.auth.claims[iss]\n      values: ["https://accounts.google.com"]\n', { name: 'httpbin', namespace: 'foo' }),
  },
  {
    name: 'bookinfo viewers',
    text: docs(
      ap('  selector:\n    matchLabels:\n      app: productpage\n  action: ALLOW\n  rules:\n  - to:\n    - operation:\n        methods: ["GET"]\n', { name: 'productpage-viewer', namespace: 'default' }),
      ap('  selector:\n    matchLabels:\n      app: details\n  action: ALLOW\n  rules:\n  - from:\n    - source:\n        principals: ["cluster.local/ns/default/sa/bookinfo-productpage"]\n    to:\n    - operation:\n        methods: ["GET"]\n', { name: 'details-viewer', namespace: 'default' }),
      ap('  selector:\n    matchLabels:\n      app: reviews\n  action: ALLOW\n  rules:\n  - from:\n    - source:\n        principals: ["cluster.local/ns/default/sa/bookinfo-productpage"]\n    to:\n    - operation:\n        methods: ["GET"]\n', { name: 'reviews-viewer', namespace: 'default' }),
      ap('  selector:\n    matchLabels:\n      app: ratings\n  action: ALLOW\n  rules:\n  - from:\n    - source:\n        principals: ["cluster.local/ns/default/sa/bookinfo-reviews"]\n    to:\n    - operation:\n        methods: ["GET"]\n', { name: 'ratings-viewer', namespace: 'default' }),
    ),
  },
  { name: 'allow-nothing', text: ap('  {}\n', { name: 'allow-nothing', namespace: 'foo' }).replace('spec:\n  {}\n', 'spec: {}\n') },
  { name: 'deny-all', text: ap('  action: DENY\n  rules:\n  - {}\n', { name: 'deny-all', namespace: 'foo' }) },
  { name: 'allow-all', text: ap('  rules:\n  - {}\n', { name: 'allow-all', namespace: 'foo' }) },
  {
    name: 'TCP traffic task',
    text: ap('  selector:\n    matchLabels:\n      app: tcp-echo\n  action: ALLOW\n  rules:\n  - to:\n    - operation:\n        ports: ["9000", "9001"]\n', { name: 'tcp-policy', namespace: 'foo' }),
  },
  {
    name: 'ingress gateway IP allow list',
    text: ap('  selector:\n    matchLabels:\n      app: istio-ingressgateway\n  action: ALLOW\n  rules:\n  - from:\n    - source:\n        remoteIpBlocks: ["203.0.113.0/24", "2001:db8::/32"]\n', { name: 'ingress-policy', namespace: 'istio-system' }),
  },
  {
    name: 'JWT task: RequestAuthentication and require-jwt',
    text: docs(
      ra('  selector:\n    matchLabels:\n      istio: ingressgateway\n  jwtRules:\n  - issuer: "testing@secure.istio.io"\n    jwksUri: "https://raw.githubusercontent.com/istio/istio/release-1.28/security/tools/jwt/samples/jwks.json"\n', { name: 'jwt-example', namespace: 'istio-system' }),
      ap('  selector:\n    matchLabels:\n      istio: ingressgateway\n  action: ALLOW\n  rules:\n  - from:\n    - source:\n        requestPrincipals: ["testing@secure.istio.io/testing@secure.istio.io"]\n    when:\n    - key: request.auth.claims[groups]\n      values: ["group1"]\n', { name: 'require-jwt', namespace: 'istio-system' }),
    ),
  },
  {
    name: 'external authorization task',
    text: ap('  selector:\n    matchLabels:\n      app: httpbin\n  action: CUSTOM\n  provider:\n    name: sample-ext-authz-grpc\n  rules:\n  - to:\n    - operation:\n        paths: ["/headers"]\n', { name: 'ext-authz', namespace: 'foo' }),
  },
  {
    name: 'dry-run task (with the port, so no TCP warning)',
    text: ap('  selector:\n    matchLabels:\n      app: httpbin\n  action: DENY\n  rules:\n  - to:\n    - operation:\n        paths: ["/headers"]\n        ports: ["8080"]\n', { name: 'deny-path-headers', namespace: 'foo', annotations: { 'istio.io/dry-run': 'true' } }),
  },
  {
    name: 'mTLS migration: mesh STRICT, namespace PERMISSIVE, workload port-level',
    text: docs(
      pa('  mtls:\n    mode: STRICT\n', { name: 'default', namespace: 'istio-system' }),
      pa('  mtls:\n    mode: PERMISSIVE\n', { name: 'default', namespace: 'legacy' }),
      pa('  selector:\n    matchLabels:\n      app: finance\n  mtls:\n    mode: STRICT\n  portLevelMtls:\n    8080:\n      mode: DISABLE\n', { name: 'finance', namespace: 'foo' }),
      ap('  selector:\n    matchLabels:\n      app: finance\n  rules:\n  - from:\n    - source:\n        namespaces: ["foo"]\n    to:\n    - operation:\n        ports: ["9000"]\n', { name: 'finance-from-foo', namespace: 'foo' }),
    ),
  },
  {
    name: 'waypoint, Gateway and path templates',
    text: docs(
      ap('  targetRefs:\n  - kind: Service\n    group: ""\n    name: reviews\n  action: ALLOW\n  rules:\n  - from:\n    - source:\n        principals: ["cluster.local/ns/default/sa/curl"]\n    to:\n    - operation:\n        methods: ["GET"]\n        paths: ["/reviews/{*}", "/ratings/{**}"]\n', { name: 'reviews-viewer', namespace: 'default' }),
      ap('  targetRefs:\n  - group: gateway.networking.k8s.io\n    kind: Gateway\n    name: bookinfo-gateway\n  rules:\n  - to:\n    - operation:\n        hosts: ["bookinfo.example.com", "bookinfo.example.com:*"]\n', { name: 'gateway-hosts', namespace: 'default' }),
    ),
  },
  {
    name: 'service accounts and trust domains',
    text: ap('  selector:\n    matchLabels:\n      app: db-proxy\n  rules:\n  - from:\n    - source:\n        serviceAccounts: ["frontend/web", "api-gateway"]\n        trustDomains: ["cluster.local", "*.corp.example"]\n', { name: 'by-sa', namespace: 'backend' }),
  },
];

describe('Istio checks: realistic policies lint clean', () => {
  for (const c of REALISTIC) {
    it(c.name, () => {
      assert.deepEqual(lint(c.text).findings.map((f) => `${f.range.start.line + 1}: ${f.code} ${f.message}`), []);
    });
  }
});

// ---------------------------------------------------------------------------------------------
// Quick fixes, end to end: apply the edits, compare the text, lint again.

interface FixCase {
  name: string;
  code: string;
  text: string;
  /** Title of the fix to apply; the preferred one when left out. */
  title?: string;
  fixed: string;
  file?: string;
}

const FIXES: FixCase[] = [
  { name: 'dry-run yes -> "true"', code: 'MPA1001', text: ap(RULE_GET, { annotations: { 'istio.io/dry-run': 'yes' } }), fixed: ap(RULE_GET, { annotations: { 'istio.io/dry-run': 'true' } }) },
  {
    name: 'remove an internal annotation',
    code: 'MPA1001',
    text: ap(RULE_GET, { annotations: { 'internal.istio.io/parents': 'x', team: 'a' } }),
    fixed: ap(RULE_GET, { annotations: { team: 'a' } }),
  },
  { name: 'add the Gateway group', code: 'MPA1002', text: ap('  targetRefs:\n  - kind: Gateway\n    name: gw\n' + RULE_GET), fixed: ap('  targetRefs:\n  - kind: Gateway\n    name: gw\n    group: gateway.networking.k8s.io\n' + RULE_GET) },
  { name: 'CUSTOM without rules gets rules: [{}]', code: 'MPA1003', text: ap('  action: CUSTOM\n  provider:\n    name: x\n'), fixed: ap('  action: CUSTOM\n  provider:\n    name: x\n  rules: [{}]\n') },
  { name: 'DENY rules: [] -> [{}] (not preferred)', code: 'MPA1003', title: 'Add an empty rule', text: ap('  action: DENY\n  rules: []  # to do\n'), fixed: ap('  action: DENY\n  rules: [{}]  # to do\n') },
  { name: 'remove an empty value (flow)', code: 'MPA1006', text: ap('  rules:\n  - to:\n    - operation:\n        hosts: ["a.example.com", ""]\n'), fixed: ap('  rules:\n  - to:\n    - operation:\n        hosts: ["a.example.com"]\n') },
  { name: 'remove an empty value (block, comment kept)', code: 'MPA1006', text: ap('  rules:\n  - to:\n    - operation:\n        # the paths\n        paths:\n        - ""\n        - /a\n'), fixed: ap('  rules:\n  - to:\n    - operation:\n        # the paths\n        paths:\n        - /a\n') },
  { name: 'IP wildcard -> CIDR', code: 'MPA1007', text: ap('  rules:\n  - from:\n    - source:\n        ipBlocks: ["10.0.*"]\n'), fixed: ap('  rules:\n  - from:\n    - source:\n        ipBlocks: ["10.0.0.0/16"]\n') },
  { name: 'port with spaces', code: 'MPA1008', text: ap('  rules:\n  - to:\n    - operation:\n        ports: [" 80"]\n'), fixed: ap('  rules:\n  - to:\n    - operation:\n        ports: ["80"]\n') },
  { name: '{id} -> {*}', code: 'MPA1009', text: ap('  rules:\n  - to:\n    - operation:\n        paths:\n        - /users/{id}/orders/{order=**}  # API routes\n'), fixed: ap('  rules:\n  - to:\n    - operation:\n        paths:\n        - "/users/{*}/orders/{**}"  # API routes\n') },
  { name: 'when key near miss', code: 'MPA1010', text: ap('  rules:\n  - when:\n    - key: "request.header[x-user]"\n      values: ["a"]\n'), fixed: ap('  rules:\n  - when:\n    - key: "request.headers[x-user]"\n      values: ["a"]\n') },
  { name: 'principal in serviceAccounts', code: 'MPA1011', text: ap('  rules:\n  - from:\n    - source:\n        serviceAccounts: ["cluster.local/ns/shop/sa/frontend"]\n'), fixed: ap('  rules:\n  - from:\n    - source:\n        serviceAccounts: ["shop/frontend"]\n') },
  { name: 'spiffe trust domain', code: 'MPA1012', text: ap('  rules:\n  - from:\n    - source:\n        trustDomains: [spiffe://example.org]\n'), fixed: ap('  rules:\n  - from:\n    - source:\n        trustDomains: [example.org]\n') },
  { name: 'output header underscore', code: 'MPA1013', text: ra('  jwtRules:\n  - issuer: https://a.example\n    outputClaimToHeaders:\n    - header: x_user\n      claim: sub\n'), fixed: ra('  jwtRules:\n  - issuer: https://a.example\n    outputClaimToHeaders:\n    - header: x-user\n      claim: sub\n') },
  { name: 'remove an empty selector', code: 'MPA1014', text: ap('  selector:\n    matchLabels: {}\n' + RULE_GET), fixed: ap(RULE_GET) },
  { name: 'label near miss', code: 'MPA1016', text: docs(deployment('pp', 'shop', { app: 'productpage' }), ap(SELECT('product-page') + RULE_GET)), fixed: docs(deployment('pp', 'shop', { app: 'productpage' }), ap(SELECT('productpage') + RULE_GET)) },
  { name: 'ServiceEntry near miss', code: 'MPA1032', text: docs(serviceEntry('external-api', 'shop', ['api.example.com']), ap(TARGET_ENTRY('externl-api') + RULE_GET)), fixed: docs(serviceEntry('external-api', 'shop', ['api.example.com']), ap(TARGET_ENTRY('external-api') + RULE_GET)) },
  { name: 'namespace near miss', code: 'MPA1017', text: docs(namespace('frontend'), ap('  rules:\n  - from:\n    - source:\n        namespaces: ["fronted"]\n', { namespace: 'frontend' })), fixed: docs(namespace('frontend'), ap('  rules:\n  - from:\n    - source:\n        namespaces: ["frontend"]\n', { namespace: 'frontend' })) },
  { name: 'upper-case a method', code: 'MPA1018', text: ap('  rules:\n  - to:\n    - operation:\n        methods:\n        - get\n'), fixed: ap('  rules:\n  - to:\n    - operation:\n        methods:\n        - GET\n') },
  { name: 'service account near miss', code: 'MPA1019', text: docs(serviceAccount('frontend', 'shop'), ap('  rules:\n  - from:\n    - source:\n        principals: ["cluster.local/ns/shop/sa/frontent"]\n')), fixed: docs(serviceAccount('frontend', 'shop'), ap('  rules:\n  - from:\n    - source:\n        principals: ["cluster.local/ns/shop/sa/frontend"]\n')) },
  { name: 'drop spiffe://', code: 'MPA1020', text: ap('  rules:\n  - from:\n    - source:\n        principals: [\'spiffe://cluster.local/ns/a/sa/b\']\n'), fixed: ap('  rules:\n  - from:\n    - source:\n        principals: [\'cluster.local/ns/a/sa/b\']\n') },
  {
    name: 'join a split rule',
    code: 'MPA1023',
    title: 'Join with rules[0]',
    text: ap('  rules:\n  - from:\n    - source:\n        namespaces: ["frontend"]\n  - to:\n    - operation:\n        methods: ["GET"]\n'),
    fixed: ap('  rules:\n  - from:\n    - source:\n        namespaces: ["frontend"]\n    to:\n    - operation:\n        methods: ["GET"]\n'),
  },
  {
    name: 'merge a negative-only source',
    code: 'MPA1023',
    title: 'Merge into from[0].source',
    text: ap('  rules:\n  - from:\n    - source:\n        namespaces: ["frontend"]\n    - source:\n        notIpBlocks: ["10.0.0.0/8"]\n'),
    fixed: ap('  rules:\n  - from:\n    - source:\n        namespaces: ["frontend"]\n        notIpBlocks: ["10.0.0.0/8"]\n'),
  },
  {
    name: 'remove a repeated rule',
    code: 'MPA1025',
    text: ap('  rules:\n  - to:\n    - operation:\n        methods: ["GET"]\n  - to:\n    - operation:\n        methods: ["GET"]\n  - to:\n    - operation:\n        methods: ["POST"]\n'),
    fixed: ap('  rules:\n  - to:\n    - operation:\n        methods: ["GET"]\n  - to:\n    - operation:\n        methods: ["POST"]\n'),
  },
  {
    name: 'selector -> targetRefs',
    code: 'MPA1026',
    title: 'Replace the selector',
    text: ap('  selector:\n    matchLabels:\n      gateway.networking.k8s.io/gateway-name: gw\n' + RULE_GET),
    fixed: ap('  targetRefs: [{group: gateway.networking.k8s.io, kind: Gateway, name: gw}]\n' + RULE_GET),
  },
  { name: 'empty rules -> allow all', code: 'MPA1027', title: 'Allow every request', text: ap(SELECT('a') + '  rules:\n'), fixed: ap(SELECT('a') + '  rules: [{}]\n') },
  { name: 'empty rules removed', code: 'MPA1027', title: 'Remove the empty rules', text: ap(SELECT('a') + '  rules: []\n'), fixed: ap(SELECT('a')) },
  { name: 'inner * -> path template', code: 'MPA1028', text: ap('  rules:\n  - to:\n    - operation:\n        paths: ["/api/*/items/*"]\n'), fixed: ap('  rules:\n  - to:\n    - operation:\n        paths: ["/api/{*}/items/{**}"]\n') },
  {
    name: 'Service port -> container port',
    code: 'MPA1029',
    text: docs(deployment('r', 'shop', { app: 'r' }, { ports: [9080] }), service('r', 'shop', { app: 'r' }, [{ port: 80, targetPort: 9080 }]), ap(SELECT('r') + '  rules:\n  - to:\n    - operation:\n        ports: ["80"]\n')),
    fixed: docs(deployment('r', 'shop', { app: 'r' }, { ports: [9080] }), service('r', 'shop', { app: 'r' }, [{ port: 80, targetPort: 9080 }]), ap(SELECT('r') + '  rules:\n  - to:\n    - operation:\n        ports: ["9080"]\n')),
  },
  {
    name: 'JSON: remove an empty selector and an empty value',
    code: 'MPA1014',
    file: 'policy.json',
    text: '{\n  "apiVersion": "security.istio.io/v1",\n  "kind": "AuthorizationPolicy",\n  "metadata": {"name": "p", "namespace": "shop"},\n  "spec": {\n    "selector": {},\n    "rules": [{"to": [{"operation": {"methods": ["GET"]}}]}]\n  }\n}\n',
    fixed: '{\n  "apiVersion": "security.istio.io/v1",\n  "kind": "AuthorizationPolicy",\n  "metadata": {"name": "p", "namespace": "shop"},\n  "spec": {\n    "rules": [{"to": [{"operation": {"methods": ["GET"]}}]}]\n  }\n}\n',
  },
];

describe('Istio checks: quick fixes', () => {
  for (const c of FIXES) {
    it(`${c.code}: ${c.name}`, () => {
      const file = c.file ?? 'policy.yaml';
      const before = lint(c.text, file).findings.filter((f) => f.code === c.code);
      const finding = before.find((f) => f.fixes?.some((fix) => (c.title ? fix.title.startsWith(c.title) : fix.preferred)));
      assert.ok(finding, `expected a ${c.code} finding with ${c.title ? `a fix "${c.title}…"` : 'a preferred fix'}; got:\n  ${describeFindings(before)}`);
      const fix = finding.fixes!.find((f) => (c.title ? f.title.startsWith(c.title) : f.preferred))!;
      const after = applyEdits(c.text, fix.edits);
      assert.equal(after, c.fixed);
      const again = lint(after, file).findings.filter((f) => f.code === c.code && f.message === finding.message && f.range.start.line === finding.range.start.line);
      assert.deepEqual(again, [], 'the fix did not clear the finding');
      assert.ok(!lint(after, file).findings.some((f) => f.code === 'MPA0001'), 'the fix broke the syntax');
    });
  }

  it('a DENY policy does not get deny-all as its preferred fix', () => {
    const finding = lint(ap('  action: DENY\n')).findings.find((f) => f.code === 'MPA1003')!;
    assert.ok(finding.fixes?.length);
    assert.ok(!finding.fixes!.some((f) => f.preferred));
  });

  it('no fix removes the only value of a list (that would widen the match)', () => {
    const finding = lint(ap('  rules:\n  - from:\n    - source:\n        principals: [""]\n')).findings.find((f) => f.code === 'MPA1006')!;
    assert.deepEqual(finding.fixes ?? [], []);
  });
});

// ---------------------------------------------------------------------------------------------
// Checks across files of a workspace.

describe('Istio checks: workspace', () => {
  it('PeerAuthentication and AuthorizationPolicy in different files (MPA1021, MPA1022)', () => {
    const workspace = new WorkspaceModel(defaultConfig('/ws'));
    const files = {
      '/ws/pa.yaml': pa('  mtls:\n    mode: PERMISSIVE\n', { namespace: 'payments' }),
      '/ws/pa2.yaml': pa('  mtls:\n    mode: PERMISSIVE\n', { name: 'other', namespace: 'payments' }),
      '/ws/ap.yaml': ap('  rules:\n  - from:\n    - source:\n        namespaces: ["billing"]\n', { namespace: 'payments' }),
    };
    const prepared = Object.entries(files).map(([path, text]) => engine.prepare(engine.read(path, text)));
    for (const p of prepared) workspace.update(p);
    const findings = prepared.flatMap((p) => engine.lint(p, workspace).findings);
    assert.ok(findings.some((f) => f.code === 'MPA1022' && f.file === '/ws/pa.yaml' && f.message.includes('payments/other (pa2.yaml)')), describeFindings(findings));
    // Two namespace-level policies with the same mode: the mode is known.
    assert.ok(findings.some((f) => f.code === 'MPA1021' && f.file === '/ws/ap.yaml'), describeFindings(findings));
  });

  it('a DestinationRule in a manifest file, added and edited (MPA1036)', () => {
    const workspace = new WorkspaceModel(defaultConfig('/ws'));
    const policy = engine.prepare(engine.read('/ws/pa.yaml', STRICT_NS()));
    workspace.update(policy);
    workspace.update(engine.prepare(engine.read('/ws/k8s/reviews.yaml', REVIEWS)));
    const own = () => engine.lint(policy, workspace).findings.filter((f) => f.code === 'MPA1036');
    assert.deepEqual(own(), []);
    const disable = dr('  host: reviews\n' + TLS('DISABLE'));
    workspace.update(engine.prepare(engine.read('/ws/k8s/dr.yaml', disable)));
    assert.deepEqual(own().map((f) => [f.range.start.line, f.message.split(' sets ')[0]]), [[lineOf(STRICT_NS(), 'mode: STRICT'), `DestinationRule bookinfo/reviews (dr.yaml:${lineOf(disable, 'mode: DISABLE') + 1})`]]);
    workspace.update(engine.prepare(engine.read('/ws/k8s/dr.yaml', dr('  host: reviews\n' + TLS('ISTIO_MUTUAL')))));
    assert.deepEqual(own(), []);
  });

  it('a RequestAuthentication in another file, added and edited (MPA1035)', () => {
    const workspace = new WorkspaceModel(defaultConfig('/ws'));
    const policy = engine.prepare(engine.read('/ws/ap.yaml', REQUIRE_JWT(SELECT('httpbin'))));
    workspace.update(policy);
    const own = () => engine.lint(policy, workspace).findings.filter((f) => f.code === 'MPA1035');
    assert.equal(own().length, 1);
    workspace.update(engine.prepare(engine.read('/ws/ra.yaml', JWT_RA(SELECT('httpbin')))));
    assert.deepEqual(own(), []);
    workspace.update(engine.prepare(engine.read('/ws/ra.yaml', JWT_RA(SELECT('reviews')))));
    assert.equal(own().length, 1);
  });

  it('the root namespace comes from the configuration', () => {
    const config = defaultConfig('/ws');
    config.istio.rootNamespace = 'mesh-root';
    const workspace = new WorkspaceModel(config);
    const prepared = engine.prepare(engine.read('/ws/pa.yaml', pa(SELECT('gw') + '  mtls:\n    mode: STRICT\n', { namespace: 'mesh-root' })));
    workspace.update(prepared);
    const findings = engine.lint(prepared, workspace).findings;
    assert.ok(findings.some((f) => f.code === 'MPA1022' && f.message.includes('root namespace mesh-root')), describeFindings(findings));
  });

  it('examples/istio: no Istio semantic finding', () => {
    const dir = join(REPO_ROOT, 'examples', 'istio');
    const paths: string[] = [];
    const walk = (d: string): void => {
      for (const name of readdirSync(d)) {
        const p = join(d, name);
        if (statSync(p).isDirectory()) walk(p);
        else if (/\.(ya?ml|json)$/.test(name)) paths.push(p);
      }
    };
    walk(dir);
    const workspace = new WorkspaceModel(defaultConfig(dir));
    const prepared = paths.map((p) => engine.prepare(engine.read(p, readFileSync(p, 'utf8'))));
    for (const p of prepared) workspace.update(p);
    const findings = prepared.flatMap((p) => engine.lint(p, workspace).findings).filter((f) => f.code.startsWith('MPA1'));
    assert.deepEqual(findings.map((f) => `${f.file}:${f.range.start.line + 1} ${f.code} ${f.message}`), []);
  });

  it('a 1,000-document file stays fast', () => {
    const parts: string[] = [];
    for (let i = 0; i < 1000; i++) {
      if (i % 4 === 0) parts.push(deployment(`app${i}`, `ns${i % 20}`, { app: `app${i}` }, { sa: `sa${i}`, ports: [8080] }));
      else if (i % 4 === 1) parts.push(pa(SELECT(`app${i - 1}`) + '  mtls:\n    mode: STRICT\n', { name: `pa${i}`, namespace: `ns${i % 20}` }));
      else parts.push(ap(SELECT(`app${i - 2}`) + `  rules:\n  - from:\n    - source:\n        principals: ["cluster.local/ns/ns${i % 20}/sa/sa${i}"]\n        namespaces: ["ns${(i + 1) % 20}"]\n    to:\n    - operation:\n        methods: ["GET", "POST"]\n        paths: ["/api/{*}", "/health"]\n        ports: ["8080"]\n  - to:\n    - operation:\n        ports: ["9090"]\n`, { name: `p${i}`, namespace: `ns${i % 20}` }));
    }
    const text = docs(...parts);
    const file = engine.read('big.yaml', text);
    const prepared = engine.prepare(file);
    const workspace = new WorkspaceModel(defaultConfig('/'));
    workspace.update(prepared);
    const { resources } = prepared.recognition;
    // CPU time (a busy machine inflates wall time), the best of three runs after a warm-up,
    // minus the same loop without checks (runChecks' own conversion of each resource).
    const best = (checks: typeof ISTIO_CHECKS): number => Math.min(...[0, 1, 2, 3].map(() => {
      const start = process.cpuUsage();
      for (const resource of resources) runChecks(file, resource, workspace, checks);
      const used = process.cpuUsage(start);
      return (used.user + used.system) / 1000;
    }));
    const extra = best(ISTIO_CHECKS) - best([]);
    // Well under 300 ms on an idle machine (about 20 ms); the bound leaves room for a busy CI.
    assert.ok(extra < 1000, `the Istio checks took ${extra.toFixed(0)} ms on 1,000 documents`);
  });
});

// ---------------------------------------------------------------------------------------------
// The Go netip semantics the IP checks rely on.

describe('netip (Go net/netip semantics)', () => {
  const valid = ['0.0.0.0', '255.255.255.255', '10.0.0.1', '::', '::1', '1::', '2001:db8::1', '2001:0db8:0000:0000:0000:0000:0000:0001', '::ffff:10.0.0.1', '1:2:3:4:5:6:1.2.3.4', 'fe80::1%eth0', 'FE80::A'];
  const invalid: Array<[string, string]> = [
    ['010.0.0.1', 'leading zero'], ['256.0.0.1', '>255'], ['1.2.3', 'too short'], ['1.2.3.4.5', 'too long'], ['1..2.3', 'at least one digit'],
    ['1.2.3.4%eth0', 'unexpected character'], ['%eth0', 'missing IPv6 address'], ['fe80::1%', 'zone must be a non-empty string'], ['1:2:3:4:5:6:7:8:9', 'trailing garbage'],
    ['1::2::3', 'multiple ::'], ['12345::', 'at most 4 hex digits'], ['1:2:3:4:5:6:7', 'too short'], ['1:2:3:4:5:6:7:8::', 'at least one field of zeros'],
    ['::1:2:3:4:5:6:7:1.2.3.4', 'too many hex fields'], ['1:2:3:4:5:6:7:1.2.3.4', 'embedded IPv4 address must replace the final 2 fields'], ['1:2:1.2.3.4', 'embedded IPv4 address must replace the final 2 fields'], ['', 'unable to parse IP'], ['abc', 'unable to parse IP'],
  ];
  for (const v of valid) it(`address ${v}`, () => assert.equal(parseAddr(v).ok, true));
  for (const [v, why] of invalid) {
    it(`not an address: ${JSON.stringify(v)}`, () => {
      const r = parseAddr(v);
      assert.equal(r.ok, false);
      if (!r.ok) assert.match(r.error, new RegExp(why.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')));
    });
  }
  it('prefixes', () => {
    for (const v of ['10.0.0.0/8', '10.1.2.3/8', '0.0.0.0/0', '::/0', '2001:db8::/128', '::ffff:10.0.0.0/104']) assert.equal(parsePrefix(v).ok, true, v);
    for (const v of ['10.0.0.0/33', '10.0.0.0/08', '10.0.0.0/+8', '10.0.0.0/', '::/129', 'fe80::%eth0/64', '10.0.0.0/-1', '10.0.0.0']) assert.equal(parsePrefix(v).ok, false, v);
  });
  it('the webhook rule: "/" decides between prefix and address', () => {
    assert.equal(ipBlockError('10.0.0.0/8'), undefined);
    assert.match(ipBlockError('10.0.0.0/40') ?? '', /^bad CIDR range \(10\.0\.0\.0\/40\): prefix length out of range$/);
    assert.match(ipBlockError('10.0.0') ?? '', /^bad IP address \(10\.0\.0\)/);
    // istiod's netip: a zone on an address is admitted, in a prefix (either side of the '/') refused.
    assert.equal(ipBlockError('fe80::1%eth0'), undefined);
    assert.match(ipBlockError('fe80::/10%eth0') ?? '', /^bad CIDR range \(fe80::\/10%eth0\): bad bits after slash/);
    assert.match(ipBlockError('fe80::%eth0/10') ?? '', /^bad CIDR range \(fe80::%eth0\/10\): IPv6 zones cannot be present in a prefix$/);
  });
});

// ---------------------------------------------------------------------------------------------
// The rule pages: the first Wrong example produces the code (with the line shown under "What
// you see"), the first Right example produces no finding at all.

function fence(markdown: string, heading: string): string | undefined {
  const lines = markdown.split('\n');
  const start = lines.findIndex((l) => l.trim() === `## ${heading}`);
  if (start < 0) return undefined;
  for (let i = start + 1; i < lines.length; i++) {
    if (/^## /.test(lines[i]!)) return undefined;
    if (/^```yaml/.test(lines[i]!)) {
      const end = lines.findIndex((l, j) => j > i && l.startsWith('```'));
      return lines.slice(i + 1, end).join('\n') + '\n';
    }
  }
  return undefined;
}

describe('Istio rule pages (docs/rules/MPA1*.md)', () => {
  for (const check of ISTIO_CHECKS) {
    it(`${check.code}: page, Wrong and Right examples`, () => {
      const path = join(REPO_ROOT, 'docs', 'rules', `${check.code}.md`);
      assert.ok(existsSync(path), `missing docs/rules/${check.code}.md`);
      const page = readFileSync(path, 'utf8');
      assert.equal(page.split('\n', 1)[0], `# ${check.code}: ${check.title}`);
      assert.match(page, new RegExp(`\\| Default severity \\| ${check.defaultSeverity} \\|`));
      const wrong = fence(page, 'Wrong');
      const right = fence(page, 'Right');
      assert.ok(wrong && right, 'needs a yaml block under ## Wrong and ## Right');
      const wrongFindings = engine.lintText(`${check.code.toLowerCase()}-wrong.yaml`, wrong).findings;
      const first = wrongFindings.find((f) => f.code === check.code);
      assert.ok(first, `the Wrong example should produce ${check.code}; got:\n  ${describeFindings(wrongFindings)}`);
      const shown = `:${first.range.start.line + 1}:${first.range.start.character + 1} ${first.severity} ${first.code} ${first.message}`;
      assert.ok(page.includes(shown), `"What you see" is out of date; the engine now reports "${shown.slice(1)}"`);
      const rightFindings = engine.lintText(`${check.code.toLowerCase()}-right.yaml`, right).findings;
      assert.deepEqual(rightFindings.map((f) => `${f.range.start.line + 1}: ${f.code} ${f.message}`), [], 'the Right example should be clean');
    });
  }
});

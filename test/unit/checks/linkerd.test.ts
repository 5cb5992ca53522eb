import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { defaultConfig, type ProjectConfig } from '../../../server/src/engine/config/projectConfig';
import { Engine } from '../../../server/src/engine/engine';
import type { Finding } from '../../../server/src/engine/findings';
import { WorkspaceModel } from '../../../server/src/engine/workspace';
import { cidrContains, parseCidr } from '../../../server/src/engine/checks/linkerd/lib/cidr';
import { parseDuration } from '../../../server/src/engine/checks/goDuration';
import { parseLinkerdDuration } from '../../../server/src/engine/checks/linkerd/lib/routeAnnotations';
import { LINKERD_CHECKS } from '../../../server/src/engine/checks/linkerd';
import { applyEdits } from '../../helpers/edits';
import { FIXTURES } from '../../helpers/paths';
import { crdYaml } from '../../helpers/crds';

/**
 * The Linkerd semantic checks (MPA2xxx): per check, cases that must trigger (line and message)
 * and realistic resources that must not; fixes applied end to end and linted again.
 */

const engine = new Engine();

type Files = Record<string, string>;

function lintWorkspace(files: Files, configure?: (config: ProjectConfig) => void): Finding[] {
  const config = defaultConfig('/ws');
  configure?.(config);
  const workspace = new WorkspaceModel(config);
  const prepared = Object.entries(files).map(([path, text]) => engine.prepare(engine.read(path, text)));
  for (const p of prepared) workspace.update(p);
  return prepared.flatMap((p) => engine.lint(p, workspace).findings);
}

function show(findings: Finding[]): string {
  return findings.map((f) => `${f.file}:${f.range.start.line + 1} ${f.code} ${f.message}`).join('\n') || 'no findings';
}

// --- builders -------------------------------------------------------------------------

const doc = (apiVersion: string, kind: string, name: string, spec: string, namespace = 'emojivoto', extraMeta = '') =>
  `apiVersion: ${apiVersion}\nkind: ${kind}\nmetadata:\n  name: ${name}\n  namespace: ${namespace}\n${extraMeta}spec:\n${spec}`;
const server = (name: string, spec: string, namespace = 'emojivoto', extraMeta = '') => doc('policy.linkerd.io/v1beta3', 'Server', name, spec, namespace, extraMeta);
const policy = (name: string, spec: string, namespace = 'emojivoto') => doc('policy.linkerd.io/v1alpha1', 'AuthorizationPolicy', name, spec, namespace);
const meshtls = (name: string, spec: string, namespace = 'emojivoto') => doc('policy.linkerd.io/v1alpha1', 'MeshTLSAuthentication', name, spec, namespace);
const netauth = (name: string, spec: string, namespace = 'emojivoto') => doc('policy.linkerd.io/v1alpha1', 'NetworkAuthentication', name, spec, namespace);
const serverAuthz = (name: string, spec: string, namespace = 'emojivoto') => doc('policy.linkerd.io/v1beta1', 'ServerAuthorization', name, spec, namespace);
const route = (name: string, spec: string, namespace = 'emojivoto') => doc('policy.linkerd.io/v1beta3', 'HTTPRoute', name, spec, namespace);
const gatewayRoute = (name: string, spec: string, namespace = 'emojivoto') => doc('gateway.networking.k8s.io/v1', 'HTTPRoute', name, spec, namespace);
const grpcRoute = (name: string, spec: string, namespace = 'emojivoto') => doc('gateway.networking.k8s.io/v1', 'GRPCRoute', name, spec, namespace);
const join3 = (...docs: string[]) => docs.join('---\n');
/** A route with a Service parent (outbound, so the webhook parses its annotations) and a Server
 * parent (so that a Gateway API route is linted as a Linkerd route at all). */
const outboundRoute = (annotations: string, grpc = false) =>
  doc(grpc ? 'gateway.networking.k8s.io/v1' : 'policy.linkerd.io/v1beta3', grpc ? 'GRPCRoute' : 'HTTPRoute', 'r',
    '  parentRefs:\n    - group: core\n      kind: Service\n      name: web-svc\n      port: 80\n    - group: policy.linkerd.io\n      kind: Server\n      name: web-http\n',
    'emojivoto', `  annotations:\n${annotations.trimEnd().replace(/^/gm, '  ')}\n`);

const SERVER_V1BETA2_SCHEMA = { type: 'object', properties: { spec: { type: 'object', required: ['port'], properties: { podSelector: { type: 'object', 'x-kubernetes-preserve-unknown-fields': true }, port: { 'x-kubernetes-int-or-string': true, maximum: 65535, minimum: 1 } } } } };
const SERVER_CRD_UP_TO_V1BETA2 = crdYaml('policy.linkerd.io', 'Server', 'servers', [{ name: 'v1beta1', schema: SERVER_V1BETA2_SCHEMA }, { name: 'v1beta2', schema: SERVER_V1BETA2_SCHEMA }]);
const webServer = server('web-http', '  podSelector:\n    matchLabels:\n      app: web-svc\n  port: http\n  proxyProtocol: HTTP/1\n');
const grpcServer = server('emoji-grpc', '  podSelector:\n    matchLabels:\n      app: emoji-svc\n  port: grpc\n  proxyProtocol: gRPC\n');
const serverParent = (name = 'web-http') => `  parentRefs:\n    - group: policy.linkerd.io\n      kind: Server\n      name: ${name}\n`;
const webClients = meshtls('web-clients', '  identities:\n    - web.emojivoto.serviceaccount.identity.linkerd.cluster.local\n');

const namespace = (name: string, annotations = '') => `apiVersion: v1\nkind: Namespace\nmetadata:\n  name: ${name}\n${annotations ? `  annotations:\n${annotations}` : ''}`;
const serviceAccount = (name: string, ns = 'emojivoto') => `apiVersion: v1\nkind: ServiceAccount\nmetadata:\n  name: ${name}\n  namespace: ${ns}\n`;
const deployment = (name: string, labels: string, containers: string, ns = 'emojivoto', annotations = '', sa = name) =>
  `apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: ${name}\n  namespace: ${ns}\nspec:\n  selector:\n    matchLabels:\n${labels}  template:\n    metadata:\n      labels:\n${labels.replace(/^ {6}/gm, '        ')}${annotations ? `      annotations:\n${annotations}` : ''}    spec:\n      serviceAccountName: ${sa}\n      containers:\n${containers}`;
const webDeployment = (probe = '          readinessProbe:\n            httpGet:\n              path: /healthz\n              port: http\n') =>
  deployment('web', '      app: web-svc\n', `        - name: web\n          image: web:1\n          ports:\n            - name: http\n              containerPort: 8080\n${probe}`);

// --- table ----------------------------------------------------------------------------

interface Case {
  name: string;
  /** One file (policy.yaml) or several. */
  files: Files | string;
  code: string;
  /** 1-based line of the finding (in the first file that has one). */
  line: number;
  message: string;
  /** Substring the file holds after the preferred fix; the fix must also clear the finding. */
  fixed?: string;
  configure?: (config: ProjectConfig) => void;
}

interface Clean {
  name: string;
  files: Files | string;
  /** Codes that must not appear (all MPA2xxx when omitted). */
  codes?: string[];
}

const asFiles = (files: Files | string): Files => (typeof files === 'string' ? { 'policy.yaml': files } : files);

const tables: Record<string, { trigger: Case[]; clean: Clean[] }> = {
  MPA2001: {
    trigger: [
      { name: 'Server target without group', files: policy('p', '  targetRef:\n    kind: Server\n    name: web-http\n  requiredAuthenticationRefs: []\n'), code: 'MPA2001', line: 8, message: 'a Server target needs group policy.linkerd.io; without a group it means the core group', fixed: '    kind: Server\n    name: web-http\n    group: policy.linkerd.io\n' },
      { name: 'Server target with the Gateway API group', files: policy('p', '  targetRef:\n    group: gateway.networking.k8s.io\n    kind: Server\n    name: web-http\n  requiredAuthenticationRefs: []\n'), code: 'MPA2001', line: 8, message: '"unsupported authorization target type: Server.gateway.networking.k8s.io"', fixed: 'group: policy.linkerd.io' },
      { name: 'HTTPRoute target without group prefers the group of the route of that name', files: join3(policy('p', '  targetRef:\n    kind: HTTPRoute\n    name: web-probes\n  requiredAuthenticationRefs: []\n'), gatewayRoute('web-probes', serverParent())), code: 'MPA2001', line: 8, message: 'needs group policy.linkerd.io or group gateway.networking.k8s.io', fixed: 'group: gateway.networking.k8s.io' },
      { name: 'another namespace', files: policy('p', '  targetRef:\n    kind: Namespace\n    name: linkerd-viz\n  requiredAuthenticationRefs: []\n'), code: 'MPA2001', line: 9, message: 'cannot target another namespace: linkerd-viz' },
      { name: 'a Service target', files: policy('p', '  targetRef:\n    kind: Service\n    name: web-svc\n  requiredAuthenticationRefs: []\n'), code: 'MPA2001', line: 8, message: 'Linkerd cannot attach an AuthorizationPolicy to a Service' },
      { name: 'MeshTLSAuthentication without group', files: join3(policy('p', '  targetRef:\n    group: policy.linkerd.io\n    kind: Server\n    name: web-http\n  requiredAuthenticationRefs:\n    - name: web-clients\n      kind: MeshTLSAuthentication\n'), webServer, webClients), code: 'MPA2001', line: 13, message: '"unsupported authentication kind(s): MeshTLSAuthentication"', fixed: '      kind: MeshTLSAuthentication\n      group: policy.linkerd.io\n' },
      { name: 'two MeshTLSAuthentications', files: policy('p', '  targetRef:\n    kind: Namespace\n    name: emojivoto\n  requiredAuthenticationRefs:\n    - {group: policy.linkerd.io, kind: MeshTLSAuthentication, name: a}\n    - {group: policy.linkerd.io, kind: MeshTLSAuthentication, name: b}\n'), code: 'MPA2001', line: 12, message: '"only a single MeshTLSAuthentication may be set"' },
      { name: 'MeshTLSAuthentication and ServiceAccount', files: policy('p', '  targetRef:\n    kind: Namespace\n    name: emojivoto\n  requiredAuthenticationRefs:\n    - {group: policy.linkerd.io, kind: MeshTLSAuthentication, name: a}\n    - {kind: ServiceAccount, name: web}\n'), code: 'MPA2001', line: 12, message: '"a MeshTLSAuthentication and ServiceAccount may not be set together"' },
      { name: 'two ServiceAccounts', files: policy('p', '  targetRef:\n    kind: Namespace\n    name: emojivoto\n  requiredAuthenticationRefs:\n    - {kind: ServiceAccount, name: web}\n    - {kind: ServiceAccount, name: vote-bot}\n'), code: 'MPA2001', line: 12, message: '"only a single ServiceAccount may be set"' },
      { name: 'two NetworkAuthentications', files: policy('p', '  targetRef:\n    kind: Namespace\n    name: emojivoto\n  requiredAuthenticationRefs:\n    - {group: policy.linkerd.io, kind: NetworkAuthentication, name: a}\n    - {group: policy.linkerd.io, kind: NetworkAuthentication, name: b}\n'), code: 'MPA2001', line: 12, message: '"only a single NetworkAuthentication may be set"' },
      { name: 'unsupported authentication kind', files: policy('p', '  targetRef:\n    kind: Namespace\n    name: emojivoto\n  requiredAuthenticationRefs:\n    - kind: Deployment\n      name: web\n'), code: 'MPA2001', line: 11, message: '"unsupported authentication kind(s): Deployment"' },
    ],
    clean: [
      { name: 'every accepted target, case-insensitive kinds, core group spelled out', files: join3(
        policy('a', '  targetRef:\n    group: policy.linkerd.io\n    kind: server\n    name: web-http\n  requiredAuthenticationRefs:\n    - {group: POLICY.LINKERD.IO, kind: MeshTLSAuthentication, name: web-clients}\n    - {group: policy.linkerd.io, kind: NetworkAuthentication, name: cluster}\n'),
        policy('b', '  targetRef:\n    group: core\n    kind: Namespace\n    name: emojivoto\n  requiredAuthenticationRefs:\n    - {group: "", kind: ServiceAccount, name: web}\n'),
        policy('c', '  targetRef:\n    group: gateway.networking.k8s.io\n    kind: GRPCRoute\n    name: emoji\n  requiredAuthenticationRefs: []\n'),
        policy('d', '  targetRef:\n    group: gateway.networking.k8s.io\n    kind: HTTPRoute\n    name: web\n  requiredAuthenticationRefs: []\n'),
      ), codes: ['MPA2001'] },
      { name: 'the Linkerd docs examples', files: { 'emojivoto.yaml': readFixture('emojivoto', 'policy.yaml'), 'booksapp.yaml': readFixture('booksapp', 'policy.yaml') }, codes: ['MPA2001'] },
    ],
  },
  MPA2002: {
    trigger: [
      { name: 'upper case in a DNS identity', files: meshtls('m', '  identities:\n    - Web.emojivoto.serviceaccount.identity.linkerd.cluster.local\n'), code: 'MPA2002', line: 8, message: 'is invalid: identity must be a valid SPIFFE id or a DNS SAN', fixed: '    - web.emojivoto.serviceaccount.identity.linkerd.cluster.local\n' },
      { name: 'trailing dot', files: meshtls('m', '  identities:\n    - "web.emojivoto.serviceaccount.identity.linkerd.cluster.local."\n'), code: 'MPA2002', line: 8, message: 'identity must be a valid SPIFFE id', fixed: '    - "web.emojivoto.serviceaccount.identity.linkerd.cluster.local"\n' },
      { name: 'wildcard in the middle', files: meshtls('m', '  identities:\n    - "web.*.serviceaccount.identity.linkerd.cluster.local"\n'), code: 'MPA2002', line: 8, message: 'is invalid' },
      { name: 'SPIFFE without trust domain', files: meshtls('m', '  identities:\n    - spiffe:///ns/emojivoto/sa/web\n'), code: 'MPA2002', line: 8, message: 'SPIFFE trust domain is missing' },
      { name: 'SPIFFE with a port', files: meshtls('m', '  identities:\n    - spiffe://root.linkerd.cluster.local:8080/vm\n'), code: 'MPA2002', line: 8, message: 'SPIFFE trust domain characters are limited' },
      { name: 'SPIFFE with a trailing slash', files: meshtls('m', '  identities:\n    - spiffe://root.linkerd.cluster.local/vm/\n'), code: 'MPA2002', line: 8, message: 'SPIFFE path cannot have a trailing slash', fixed: '    - "spiffe://root.linkerd.cluster.local/vm"\n' },
      { name: 'SPIFFE dot segment', files: meshtls('m', '  identities:\n    - spiffe://root.linkerd.cluster.local/a/../b\n'), code: 'MPA2002', line: 8, message: 'SPIFFE path cannot contain dot segments' },
      { name: 'SPIFFE with a query', files: meshtls('m', '  identities:\n    - spiffe://root.linkerd.cluster.local/vm?x=1\n'), code: 'MPA2002', line: 8, message: 'SPIFFE path segment characters are limited' },
      { name: 'Namespace reference with a namespace', files: meshtls('m', '  identityRefs:\n    - kind: Namespace\n      name: linkerd-viz\n      namespace: linkerd-viz\n'), code: 'MPA2002', line: 10, message: 'Namespace identity_ref is cluster-scoped and cannot have a namespace', fixed: '    - kind: Namespace\n      name: linkerd-viz\n' },
      { name: 'Namespace reference with a namespace, flow style', files: meshtls('m', '  identityRefs:\n    - {kind: Namespace, name: linkerd-viz, namespace: linkerd-viz}\n'), code: 'MPA2002', line: 8, message: 'cannot have a namespace', fixed: '    - {kind: Namespace, name: linkerd-viz}\n' },
      { name: 'Deployment reference', files: meshtls('m', '  identityRefs:\n    - kind: Deployment\n      name: web\n'), code: 'MPA2002', line: 8, message: '"invalid identity target kind: Deployment"' },
      { name: 'ServiceAccount reference with the policy group', files: meshtls('m', '  identityRefs:\n    - kind: ServiceAccount\n      group: policy.linkerd.io\n      name: web\n'), code: 'MPA2002', line: 9, message: '"invalid identity target kind: ServiceAccount.policy.linkerd.io"', fixed: '    - kind: ServiceAccount\n      name: web\n' },
    ],
    clean: [
      { name: 'DNS names, wildcards, SPIFFE IDs and references', files: meshtls('m', '  identities:\n    - "*"\n    - "*.emojivoto.serviceaccount.identity.linkerd.cluster.local"\n    - web.emojivoto.serviceaccount.identity.linkerd.cluster.local\n    - spiffe://root.linkerd.cluster.local/proxy-harness\n    - spiffe://example.org\n'), codes: ['MPA2002'] },
      { name: 'identityRefs', files: meshtls('m', '  identityRefs:\n    - kind: ServiceAccount\n      name: web\n    - kind: serviceaccount\n      group: core\n      name: web\n      namespace: emojivoto\n    - kind: Namespace\n      name: linkerd-viz\n'), codes: ['MPA2002'] },
    ],
  },
  MPA2003: {
    trigger: [
      { name: 'empty networks', files: netauth('n', '  networks: []\n'), code: 'MPA2003', line: 7, message: '"at least one network must be specified"' },
      { name: 'exception outside the network', files: netauth('n', '  networks:\n    - cidr: 10.0.0.0/16\n      except:\n        - 10.1.0.0/24\n'), code: 'MPA2003', line: 10, message: '"cidr \'10.0.0.0/16\' does not include exception \'10.1.0.0/24\'"' },
      { name: 'exception covering the network', files: netauth('n', '  networks:\n    - cidr: 192.168.1.0/24\n      except: [192.168.0.0/16]\n'), code: 'MPA2003', line: 9, message: 'is completely negated by exception' },
      { name: 'exception equal to the network', files: netauth('n', '  networks:\n    - cidr: 10.0.0.1\n      except: [10.0.0.1/32]\n'), code: 'MPA2003', line: 9, message: 'is completely negated' },
      { name: 'IPv6 exception in an IPv4 network', files: netauth('n', '  networks:\n    - cidr: 0.0.0.0/0\n      except: ["fd00::/8"]\n'), code: 'MPA2003', line: 9, message: 'an IPv6 exception in an IPv4 network' },
      { name: 'IPv6 exception outside', files: netauth('n', '  networks:\n    - cidr: "2001:db8::/32"\n      except: ["2001:db9::/48"]\n'), code: 'MPA2003', line: 9, message: 'does not include exception' },
      { name: 'prefix too long', files: netauth('n', '  networks:\n    - cidr: 10.0.0.0/33\n'), code: 'MPA2003', line: 8, message: 'is neither an IP address nor a CIDR block' },
      { name: 'octet over 255', files: netauth('n', '  networks:\n    - cidr: 10.0.0.256\n'), code: 'MPA2003', line: 8, message: 'neither an IP address' },
      { name: 'ServerAuthorization networks', files: serverAuthz('s', '  server:\n    name: web-http\n  client:\n    unauthenticated: true\n    networks:\n      - cidr: 10.0.0.0/8\n        except: [172.16.0.0/12]\n'), code: 'MPA2003', line: 13, message: 'does not include exception' },
    ],
    clean: [
      { name: 'prefixes, bare addresses, IPv6 with embedded IPv4, host bits set', files: join3(
        netauth('n', '  networks:\n    - cidr: 10.0.0.0/8\n      except: [10.96.0.0/12, 10.0.0.1]\n'),
        netauth('m', '  networks:\n    - cidr: 0.0.0.0/0\n    - cidr: ::/0\n      except: ["::ffff:10.0.0.0/104", "fd00::1"]\n    - cidr: 192.0.2.7\n    - cidr: 10.1.2.3/8\n      except: [10.1.0.0/16]\n    - cidr: "2001:DB8::/32"\n'),
        serverAuthz('s', '  server:\n    name: web-http\n  client:\n    networks:\n      - cidr: 10.0.0.0/8\n        except: [10.0.42.0/24]\n    meshTLS:\n      identities: ["*"]\n'),
      ), codes: ['MPA2003'] },
    ],
  },
  MPA2004: {
    trigger: [
      { name: 'unauthenticated with meshTLS', files: serverAuthz('s', '  server:\n    name: web-http\n  client:\n    unauthenticated: true\n    meshTLS:\n      identities: ["*"]\n'), code: 'MPA2004', line: 10, message: '"`unauthenticated` must be false if `mesh_tls` is specified"' },
      { name: 'unauthenticatedTLS with identities', files: serverAuthz('s', '  server:\n    name: web-http\n  client:\n    meshTLS:\n      unauthenticatedTLS: true\n      serviceAccounts:\n        - name: web\n'), code: 'MPA2004', line: 11, message: '"`unauthenticatedTLS` be false if any `identities` or `service_accounts` is specified"', fixed: '    meshTLS:\n      serviceAccounts:\n' },
    ],
    clean: [
      { name: 'each client form alone', files: join3(
        serverAuthz('a', '  server:\n    name: web-http\n  client:\n    unauthenticated: true\n'),
        serverAuthz('b', '  server:\n    name: web-http\n  client:\n    meshTLS:\n      unauthenticatedTLS: true\n'),
        serverAuthz('c', '  server:\n    name: web-http\n  client:\n    unauthenticated: false\n    meshTLS:\n      identities: ["*.emojivoto.serviceaccount.identity.linkerd.cluster.local"]\n'),
      ), codes: ['MPA2004'] },
    ],
  },
  MPA2005: {
    trigger: [
      { name: 'relative PathPrefix (policy.linkerd.io)', files: route('r', `${serverParent()}  rules:\n    - matches:\n        - path:\n            value: api\n`), code: 'MPA2005', line: 14, message: 'PathPrefix path "api" must start with "/"', fixed: 'value: /api\n' },
      { name: 'relative Exact path', files: route('r', `${serverParent()}  rules:\n    - matches:\n        - path:\n            type: Exact\n            value: "healthz"\n`), code: 'MPA2005', line: 15, message: 'Exact path "healthz" must start with "/"', fixed: 'value: "/healthz"' },
      { name: 'regex that does not compile', files: route('r', `${serverParent()}  rules:\n    - matches:\n        - path:\n            type: RegularExpression\n            value: "/books/([0-9]+"\n`), code: 'MPA2005', line: 15, message: 'is not a valid regular expression (error parsing regexp: missing closing )' },
      { name: 'lookahead (not RE2)', files: gatewayRoute('r', `${serverParent()}  rules:\n    - matches:\n        - headers:\n            - name: accept\n              type: RegularExpression\n              value: "json(?!p)"\n`), code: 'MPA2005', line: 16, message: 'header pattern "json(?!p)" is not a valid regular expression' },
      { name: 'regex with a literal brace (Rust regex refuses it, RE2 does not)', files: route('r', `${serverParent()}  rules:\n    - matches:\n        - path:\n            type: RegularExpression\n            value: "/users/{id}"\n`), code: 'MPA2005', line: 15, message: '"{" at offset 7 starts a counted repetition in Rust\'s regex syntax' },
      { name: 'header regex with an unclosed brace', files: gatewayRoute('r', `${serverParent()}  rules:\n    - matches:\n        - headers:\n            - name: x-version\n              type: RegularExpression\n              value: "v{1"\n`), code: 'MPA2005', line: 16, message: 'header pattern "v{1" is not a valid regular expression ("{" at offset 1' },
      { name: 'query parameter regex', files: route('r', `${serverParent()}  rules:\n    - matches:\n        - queryParams:\n            - name: id\n              type: RegularExpression\n              value: "[9-0]+"\n`), code: 'MPA2005', line: 16, message: 'query parameter pattern' },
      { name: 'redirect to a relative path', files: gatewayRoute('r', `${serverParent()}  rules:\n    - filters:\n        - type: RequestRedirect\n          requestRedirect:\n            path:\n              type: ReplaceFullPath\n              replaceFullPath: login\n`), code: 'MPA2005', line: 17, message: '"RequestRedirect filters may only contain absolute paths"', fixed: 'replaceFullPath: /login' },
      { name: 'backendRequest longer than request', files: route('r', `${serverParent()}  rules:\n    - timeouts:\n        request: 1s\n        backendRequest: 1500ms\n`), code: 'MPA2005', line: 14, message: '"backendRequest timeout (1500ms) must not be greater than request timeout (1s)"' },
      { name: 'negative timeout', files: route('r', `${serverParent()}  rules:\n    - timeouts:\n        request: -10s\n`), code: 'MPA2005', line: 13, message: '"request timeout must not be negative"' },
      { name: 'backend Service with group core and no port', files: gatewayRoute('r', `${serverParent()}  rules:\n    - backendRefs:\n        - group: core\n          kind: Service\n          name: web-svc\n`), code: 'MPA2005', line: 15, message: '"invalid backendRef: cannot reference a Service without a port"' },
      { name: 'EgressNetwork parent without port', files: route('r', '  parentRefs:\n    - group: policy.linkerd.io\n      kind: EgressNetwork\n      name: internet\n'), code: 'MPA2005', line: 10, message: '"cannot target an EgressNetwork without specifying a port"' },
      { name: 'retry limit that is not a number (outbound route)', files: outboundRoute('  retry.linkerd.io/limit: "three"\n'), code: 'MPA2005', line: 7, message: 'retry.linkerd.io/limit "three" is not a whole number from 0 to 65535' },
      { name: 'retry limit above 65535', files: outboundRoute('  retry.linkerd.io/limit: "70000"\n'), code: 'MPA2005', line: 7, message: 'retry.linkerd.io/limit "70000"' },
      { name: 'HTTP retry condition with a space after the comma', files: outboundRoute('  retry.linkerd.io/http: "5xx, 429"\n'), code: 'MPA2005', line: 7, message: 'invalid retry condition " 429"' },
      { name: 'HTTP retry status range upside down', files: outboundRoute('  retry.linkerd.io/http: "504-500"\n'), code: 'MPA2005', line: 7, message: 'invalid retry condition "504-500"' },
      { name: 'HTTP retry status code outside 100-599', files: outboundRoute('  retry.linkerd.io/http: "600"\n'), code: 'MPA2005', line: 7, message: 'invalid retry condition "600"' },
      { name: 'gRPC retry condition Linkerd does not know', files: outboundRoute('  retry.linkerd.io/grpc: "cancelled,aborted"\n', true), code: 'MPA2005', line: 7, message: 'retry.linkerd.io/grpc has the invalid retry condition "aborted"' },
      { name: 'timeout without a unit', files: outboundRoute('  timeout.linkerd.io/request: "10"\n'), code: 'MPA2005', line: 7, message: 'timeout.linkerd.io/request "10" is not a duration (missing duration unit)' },
      { name: 'fractional retry timeout', files: outboundRoute('  retry.linkerd.io/timeout: 1.5s\n'), code: 'MPA2005', line: 7, message: '(fractional values are not supported)' },
      { name: 'Go-style compound duration', files: outboundRoute('  timeout.linkerd.io/idle: 1m30s\n'), code: 'MPA2005', line: 7, message: '("1m30" is not a whole number)' },
      { name: 'unknown failure accrual mode', files: outboundRoute('  balancer.linkerd.io/failure-accrual: consecutive-failures\n'), code: 'MPA2005', line: 7, message: 'unsupported failure accrual mode "consecutive-failures"' },
      { name: 'min-penalty longer than the default max-penalty', files: outboundRoute('  balancer.linkerd.io/failure-accrual: consecutive\n  balancer.linkerd.io/failure-accrual-consecutive-min-penalty: 2m\n'), code: 'MPA2005', line: 8, message: 'min-penalty "2m" is longer than the max-penalty 60s (the default)' },
      { name: 'zero max-penalty', files: outboundRoute('  balancer.linkerd.io/failure-accrual: consecutive\n  balancer.linkerd.io/failure-accrual-consecutive-min-penalty: "0"\n  balancer.linkerd.io/failure-accrual-consecutive-max-penalty: 0s\n'), code: 'MPA2005', line: 9, message: 'max-penalty cannot be zero' },
      { name: 'jitter ratio above 100', files: outboundRoute('  balancer.linkerd.io/failure-accrual: consecutive\n  balancer.linkerd.io/failure-accrual-consecutive-jitter-ratio: "150"\n'), code: 'MPA2005', line: 8, message: 'jitter-ratio "150" must be a number from 0 to 100' },
      { name: 'max-failures that is not a number', files: outboundRoute('  balancer.linkerd.io/failure-accrual: consecutive\n  balancer.linkerd.io/failure-accrual-consecutive-max-failures: "-1"\n'), code: 'MPA2005', line: 8, message: 'max-failures "-1" is not a whole number' },
    ],
    clean: [
      { name: 'booksapp routes (regex, timeouts, filters)', files: readFixture('booksapp', 'policy.yaml'), codes: ['MPA2005'] },
      { name: 'defaults and RE2 syntax', files: route('r', `${serverParent()}  rules:\n    - matches:\n        - path: {}\n        - path:\n            type: RegularExpression\n            value: "/api/v[12]/(?P<id>\\\\d+)"\n        - headers:\n            - name: x-user\n              value: "alice"\n      timeouts:\n        request: 0s\n        backendRequest: 0s\n    - timeouts:\n        request: 1m30s\n        backendRequest: 1.5s\n`), codes: ['MPA2005'] },
      { name: 'braces Rust regex accepts: escaped, in a class, repetitions, \\p{..}', files: route('r', `${serverParent()}  rules:\n    - matches:\n        - path:\n            type: RegularExpression\n            value: "/a\\\\{id\\\\}/[{}]/x{2}/y{2,}/z{1,3}/\\\\p{L}+"\n`), codes: ['MPA2005'] },
      { name: 'relative path in a Gateway API route is the schema\'s finding, not a second one', files: gatewayRoute('r', `${serverParent()}  rules:\n    - matches:\n        - path:\n            value: api\n`), codes: ['MPA2005'] },
      { name: 'outbound annotations as the Linkerd docs write them', files: outboundRoute('  retry.linkerd.io/http: 5xx,429,500-504,Gateway-Error\n  retry.linkerd.io/limit: "3"\n  retry.linkerd.io/timeout: 300ms\n  timeout.linkerd.io/request: 10s\n  timeout.linkerd.io/response: "0"\n  timeout.linkerd.io/idle: 1h\n  balancer.linkerd.io/failure-accrual: consecutive\n  balancer.linkerd.io/failure-accrual-consecutive-max-failures: "5"\n  balancer.linkerd.io/failure-accrual-consecutive-min-penalty: 2s\n  balancer.linkerd.io/failure-accrual-consecutive-max-penalty: 2m\n  balancer.linkerd.io/failure-accrual-consecutive-jitter-ratio: "0.25"\n'), codes: ['MPA2005'] },
      { name: 'gRPC retry conditions in any letter case', files: outboundRoute('  retry.linkerd.io/grpc: Cancelled,deadline-exceeded,internal,resource-exhausted,UNAVAILABLE\n  retry.linkerd.io/limit: "2"\n', true), codes: ['MPA2005'] },
      { name: 'the HTTP retry annotation on a GRPCRoute is not read', files: outboundRoute('  retry.linkerd.io/http: "5xx, 429"\n', true), codes: ['MPA2005'] },
      { name: 'annotations of an inbound route (Server parent only) are not read', files: doc('policy.linkerd.io/v1beta3', 'HTTPRoute', 'r', serverParent(), 'emojivoto', '  annotations:\n    retry.linkerd.io/limit: "three"\n'), codes: ['MPA2005'] },
    ],
  },
  MPA2006: {
    trigger: [
      { name: 'misspelled MeshTLSAuthentication', files: join3(webServer, webClients, policy('p', '  targetRef:\n    group: policy.linkerd.io\n    kind: Server\n    name: web-http\n  requiredAuthenticationRefs:\n    - name: web-client\n      kind: MeshTLSAuthentication\n      group: policy.linkerd.io\n')), code: 'MPA2006', line: 33, message: 'MeshTLSAuthentication "web-client" does not exist in namespace emojivoto (it has "web-clients")', fixed: '    - name: web-clients\n' },
      { name: 'NetworkAuthentication in another namespace that the workspace manages', files: {
        'viz.yaml': netauth('kubelet', '  networks:\n    - cidr: 0.0.0.0/0\n', 'linkerd-viz'),
        'policy.yaml': join3(webServer, policy('p', '  targetRef:\n    group: policy.linkerd.io\n    kind: Server\n    name: web-http\n  requiredAuthenticationRefs:\n    - name: nodes\n      namespace: linkerd-viz\n      kind: NetworkAuthentication\n      group: policy.linkerd.io\n')),
      }, code: 'MPA2006', line: 24, message: 'NetworkAuthentication "nodes" does not exist in namespace linkerd-viz' },
    ],
    clean: [
      { name: 'a namespace whose authentications the workspace does not hold', files: join3(webServer, policy('q', '  targetRef:\n    group: policy.linkerd.io\n    kind: Server\n    name: web-http\n  requiredAuthenticationRefs:\n    - {name: web-clients, kind: MeshTLSAuthentication, group: policy.linkerd.io}\n')), codes: ['MPA2006'] },
      { name: 'references in a namespace the workspace does not manage', files: policy('p', '  targetRef:\n    kind: Namespace\n    name: emojivoto\n  requiredAuthenticationRefs:\n    - name: prometheus\n      namespace: linkerd-viz\n      kind: MeshTLSAuthentication\n      group: policy.linkerd.io\n'), codes: ['MPA2006'] },
      { name: 'the Linkerd docs examples', files: { 'e.yaml': readFixture('emojivoto', 'policy.yaml'), 'b.yaml': readFixture('booksapp', 'policy.yaml') }, codes: ['MPA2006'] },
    ],
  },
  MPA2007: {
    trigger: [
      { name: 'parentRef with a port', files: join3(webServer, route('r', '  parentRefs:\n    - group: policy.linkerd.io\n      kind: Server\n      name: web-http\n      port: 8080\n')), code: 'MPA2007', line: 23, message: '"route resource may not reference a parent by port"', fixed: '      name: web-http\n' },
      { name: 'parentRef with a sectionName', files: gatewayRoute('r', '  parentRefs:\n    - group: policy.linkerd.io\n      kind: Server\n      name: web-http\n      sectionName: http\n'), code: 'MPA2007', line: 11, message: 'by section name' },
      { name: 'Server in another namespace', files: route('r', '  parentRefs:\n    - group: policy.linkerd.io\n      kind: Server\n      name: web-http\n      namespace: other\n'), code: 'MPA2007', line: 11, message: 'a Server in its own namespace (emojivoto), not "other"' },
      { name: 'parentRef without kind naming a Server', files: join3(webServer, route('r', '  parentRefs:\n    - name: web-http\n')), code: 'MPA2007', line: 20, message: 'this parentRef has no kind, so it means a Gateway named "web-http"', fixed: '    - name: web-http\n      kind: Server\n' },
      // policy-controller/grpc/src/inbound.rs `to_server`: a gRPC Server's port gets only GRPCRoutes,
      // an unknown/HTTP/1/HTTP/2 one only HTTPRoutes, an opaque or TLS one no routes.
      { name: 'HTTPRoute at a gRPC Server', files: join3(grpcServer, route('r', serverParent('emoji-grpc'))), code: 'MPA2007', line: 22, message: 'Server "emoji-grpc" has proxyProtocol gRPC: Linkerd sends that port only its GRPCRoutes, so this HTTPRoute is not used there' },
      { name: 'Gateway API HTTPRoute at a gRPC Server', files: join3(grpcServer, gatewayRoute('r', serverParent('emoji-grpc'))), code: 'MPA2007', line: 22, message: 'only its GRPCRoutes, so this HTTPRoute is not used there' },
      { name: 'GRPCRoute at an HTTP/1 Server', files: join3(webServer, grpcRoute('r', serverParent())), code: 'MPA2007', line: 22, message: 'Server "web-http" has proxyProtocol HTTP/1: Linkerd sends that port only its HTTPRoutes, so this GRPCRoute is not used there' },
      { name: 'GRPCRoute at a Server without proxyProtocol', files: join3(server('web-http', '  podSelector:\n    matchLabels:\n      app: web-svc\n  port: http\n'), grpcRoute('r', serverParent())), code: 'MPA2007', line: 21, message: 'has proxyProtocol unknown: Linkerd sends that port only its HTTPRoutes' },
      { name: 'HTTPRoute at an opaque Server', files: join3(server('web-http', '  podSelector:\n    matchLabels:\n      app: web-svc\n  port: http\n  proxyProtocol: opaque\n'), route('r', serverParent())), code: 'MPA2007', line: 22, message: 'has proxyProtocol opaque: Linkerd sends that port no routes, so this HTTPRoute is not used there' },
    ],
    clean: [
      { name: 'same namespace written out, and a real Gateway parent', files: join3(webServer, route('r', '  parentRefs:\n    - group: policy.linkerd.io\n      kind: Server\n      name: web-http\n      namespace: emojivoto\n    - name: public-gw\n')), codes: ['MPA2007'] },
      { name: 'GRPCRoute at a gRPC Server, HTTPRoute at an HTTP/2 one', files: join3(grpcServer, grpcRoute('g', serverParent('emoji-grpc')), server('web-h2', '  podSelector:\n    matchLabels:\n      app: web-svc\n  port: 8080\n  proxyProtocol: HTTP/2\n'), route('r', serverParent('web-h2'))), codes: ['MPA2007'] },
    ],
  },
  MPA2008: {
    trigger: [
      { name: 'Namespace annotation in the wrong case', files: join3(namespace('emojivoto', '    config.linkerd.io/default-inbound-policy: Deny\n'), webServer), code: 'MPA2008', line: 6, message: 'Namespace emojivoto has config.linkerd.io/default-inbound-policy: "Deny"', fixed: 'default-inbound-policy: deny\n' },
      { name: 'pod template annotation with a typo', files: join3(deployment('web', '      app: web-svc\n', '        - name: web\n          image: web:1\n', 'emojivoto', '        config.linkerd.io/default-inbound-policy: cluster-authenticatd\n'), webServer), code: 'MPA2008', line: 15, message: 'not the namespace\'s annotation', fixed: 'default-inbound-policy: cluster-authenticated\n' },
      { name: 'the fallback named is the configured cluster default', files: join3(namespace('emojivoto', '    config.linkerd.io/default-inbound-policy: closed\n'), webServer), code: 'MPA2008', line: 6, message: 'get the cluster default (cluster-authenticated)', configure: (config) => { config.linkerd.defaultInboundPolicy = 'cluster-authenticated'; } },
      { name: 'annotation in another file: said where', files: { 'ns.yaml': namespace('emojivoto', '    config.linkerd.io/default-inbound-policy: allow\n'), 'policy.yaml': webServer }, code: 'MPA2008', line: 5, message: '"allow", which is not one of all-unauthenticated, all-authenticated, cluster-unauthenticated, cluster-authenticated, deny or audit: Linkerd ignores it, and pods created in emojivoto get the cluster default (all-unauthenticated) (ns.yaml:1)' },
    ],
    clean: [
      { name: 'every valid value', files: join3(namespace('emojivoto', '    config.linkerd.io/default-inbound-policy: audit\n'), deployment('web', '      app: web-svc\n', '        - name: web\n          image: web:1\n', 'emojivoto', '        config.linkerd.io/default-inbound-policy: cluster-unauthenticated\n'), webServer), codes: ['MPA2008'] },
    ],
  },
  MPA2009: {
    trigger: [
      { name: 'same selector and port, no inventory', files: join3(webServer, server('web-http-2', '  podSelector:\n    matchLabels:\n      app: web-svc\n  port: http\n')), code: 'MPA2009', line: 10, message: 'both select port "http" of the same pods: only one Server applies per port: the one created first' },
      { name: 'by number and by name, with the inventory; the older one wins', files: join3(
        webDeployment(),
        server('web-http', '  podSelector:\n    matchLabels:\n      app: web-svc\n  port: http\n', 'emojivoto', '  creationTimestamp: "2025-01-01T00:00:00Z"\n'),
        server('web-8080', '  podSelector:\n    matchExpressions:\n      - key: app\n        operator: In\n        values: [web-svc]\n  port: 8080\n', 'emojivoto', '  creationTimestamp: "2025-06-01T00:00:00Z"\n'),
      ), code: 'MPA2009', line: 51, message: 'both select port 8080 of the pods of Deployment web: only one Server applies per port, the oldest, so "web-http" applies there and this one is ignored' },
      { name: 'a Server that selects every pod', files: join3(webServer, server('all-http', '  podSelector: {}\n  port: http\n')), code: 'MPA2009', line: 10, message: 'both select port "http"' },
    ],
    clean: [
      { name: 'different ports; the same Server written twice; disjoint pods', files: join3(
        webDeployment(),
        webServer, webServer,
        server('web-admin', '  podSelector:\n    matchLabels:\n      app: web-svc\n  port: linkerd-admin\n'),
        server('emoji-http', '  podSelector:\n    matchLabels:\n      app: emoji-svc\n  port: http\n'),
      ), codes: ['MPA2009'] },
      { name: 'the older Server is not reported', files: join3(
        server('web-http', '  podSelector:\n    matchLabels:\n      app: web-svc\n  port: http\n', 'emojivoto', '  creationTimestamp: "2025-01-01T00:00:00Z"\n'),
      ), codes: ['MPA2009'] },
    ],
  },
  MPA2010: {
    trigger: [
      { name: 'AuthorizationPolicy on a misspelled Server', files: join3(webServer, policy('p', '  targetRef:\n    group: policy.linkerd.io\n    kind: Server\n    name: web-htp\n  requiredAuthenticationRefs: []\n')), code: 'MPA2010', line: 22, message: 'Server "web-htp" does not exist in namespace emojivoto (it has "web-http")', fixed: 'name: web-http\n' },
      { name: 'AuthorizationPolicy on a route of the other group', files: join3(webServer, route('web-probes', serverParent()), policy('p', '  targetRef:\n    group: gateway.networking.k8s.io\n    kind: HTTPRoute\n    name: web-probes\n  requiredAuthenticationRefs: []\n')), code: 'MPA2010', line: 31, message: 'but there is one of group policy.linkerd.io', fixed: 'group: policy.linkerd.io\n    kind: HTTPRoute' },
      { name: 'AuthorizationPolicy on a missing route', files: join3(webServer, route('web-app', serverParent()), policy('p', '  targetRef:\n    group: policy.linkerd.io\n    kind: HTTPRoute\n    name: web-ap\n  requiredAuthenticationRefs: []\n')), code: 'MPA2010', line: 33, message: 'no HTTPRoute of group policy.linkerd.io named "web-ap"', fixed: 'name: web-app\n' },
      { name: 'ServerAuthorization by name', files: join3(webServer, serverAuthz('s', '  server:\n    name: web\n  client:\n    unauthenticated: true\n')), code: 'MPA2010', line: 20, message: 'Server "web" does not exist' },
      { name: 'ServerAuthorization selector on pod labels', files: join3(webServer, serverAuthz('s', '  server:\n    selector:\n      matchLabels:\n        app: web-svc\n  client:\n    unauthenticated: true\n')), code: 'MPA2010', line: 20, message: 'compared with the Servers\' own metadata.labels, not with pod labels' },
      { name: 'route parent that does not exist', files: join3(webServer, route('r', serverParent('web'))), code: 'MPA2010', line: 22, message: '("NoMatchingParent")' },
    ],
    clean: [
      { name: 'policies in a namespace whose Servers live elsewhere', files: join3(policy('p', '  targetRef:\n    group: policy.linkerd.io\n    kind: Server\n    name: web-http\n  requiredAuthenticationRefs: []\n'), webClients), codes: ['MPA2010'] },
      { name: 'the Linkerd docs examples', files: { 'e.yaml': readFixture('emojivoto', 'policy.yaml'), 'b.yaml': readFixture('booksapp', 'policy.yaml') }, codes: ['MPA2010'] },
      { name: 'route names compared case-insensitively', files: join3(webServer, route('Web-App', serverParent()), policy('p', '  targetRef:\n    group: policy.linkerd.io\n    kind: HTTPRoute\n    name: web-app\n  requiredAuthenticationRefs: []\n')), codes: ['MPA2010'] },
    ],
  },
  MPA2011: {
    trigger: [
      { name: 'selector that matches no workload', files: join3(webDeployment(), server('web-http', '  podSelector:\n    matchLabels:\n      app: web\n  port: http\n')), code: 'MPA2011', line: 33, message: 'podSelector matches no workload in namespace emojivoto (it has Deployment web (app=web-svc))' },
      { name: 'named port nobody declares', files: join3(webDeployment(), server('web-http', '  podSelector:\n    matchLabels:\n      app: web-svc\n  port: htpp\n')), code: 'MPA2011', line: 36, message: 'declares a TCP port named "htpp" (they declare "http")', fixed: 'port: http\n' },
    ],
    clean: [
      { name: 'proxy ports, numbers, matchExpressions', files: join3(webDeployment(),
        server('admin', '  podSelector: {}\n  port: linkerd-admin\n'),
        server('by-number', '  podSelector:\n    matchExpressions:\n      - {key: app, operator: Exists}\n  port: 9999\n'),
        server('by-name', '  podSelector:\n    matchLabels:\n      app: web-svc\n  port: http\n')), codes: ['MPA2011'] },
      // workload.rs `pod_tcp_ports_by_name` counts init containers' ports (native sidecars) among a pod's named ports
      { name: 'a port named by an init container (a native sidecar)', files: join3(webDeployment('      initContainers:\n        - name: admin-sidecar\n          image: admin:1\n          restartPolicy: Always\n          ports:\n            - name: admin\n              containerPort: 9990\n'),
        server('admin', '  podSelector:\n    matchLabels:\n      app: web-svc\n  port: admin\n')), codes: ['MPA2011'] },
      { name: 'namespace without workloads in the workspace', files: join3(webDeployment(), server('x', '  podSelector:\n    matchLabels:\n      app: nothing\n  port: http\n', 'other')), codes: ['MPA2011'] },
      { name: 'the Linkerd docs examples with their apps', files: { 'a.yaml': readFixture('emojivoto', 'app.yaml'), 'e.yaml': readFixture('emojivoto', 'policy.yaml') }, codes: ['MPA2011'] },
    ],
  },
  MPA2012: {
    trigger: [
      { name: 'Istio-style SPIFFE ID of a ServiceAccount the workspace has', files: join3(serviceAccount('web'), meshtls('m', '  identities:\n    - spiffe://cluster.local/ns/emojivoto/sa/web\n')), code: 'MPA2012', line: 14, message: 'is an Istio-style SPIFFE ID; Linkerd identifies the pods of ServiceAccount emojivoto/web by the DNS-like name web.emojivoto.serviceaccount.identity.linkerd.cluster.local', fixed: '    - web.emojivoto.serviceaccount.identity.linkerd.cluster.local\n' },
      { name: 'SPIFFE fix follows the workspace\'s control-plane namespace', files: join3(serviceAccount('web'), serviceAccount('emoji'), meshtls('m', '  identities:\n    - spiffe://prod.example/ns/emojivoto/sa/web\n    - emoji.emojivoto.serviceaccount.identity.linkerd-prod.prod.example\n')), code: 'MPA2012', line: 20, message: 'by the DNS-like name web.emojivoto.serviceaccount.identity.linkerd-prod.prod.example', fixed: '    - web.emojivoto.serviceaccount.identity.linkerd-prod.prod.example\n' },
      { name: 'Service DNS name', files: meshtls('m', '  identities:\n    - web-svc.emojivoto.svc.cluster.local\n'), code: 'MPA2012', line: 8, message: 'is the DNS name of Service emojivoto/web-svc, not a mesh identity' },
      { name: 'ServiceAccount the namespace does not have', files: join3(serviceAccount('web'), serviceAccount('voting'), meshtls('m', '  identities:\n    - webb.emojivoto.serviceaccount.identity.linkerd.cluster.local\n')), code: 'MPA2012', line: 20, message: 'names ServiceAccount "webb", which namespace emojivoto does not have; did you mean "web"? (the workspace declares "default", "voting" and "web" there)', fixed: '    - web.emojivoto.serviceaccount.identity.linkerd.cluster.local\n' },
      { name: 'wildcard on a misspelled namespace', files: join3(serviceAccount('web'), meshtls('m', '  identities:\n    - "*.emojivot.serviceaccount.identity.linkerd.cluster.local"\n')), code: 'MPA2012', line: 14, message: 'names namespace "emojivot", which the workspace does not have; did you mean "emojivoto"?', fixed: '"*.emojivoto.serviceaccount.identity.linkerd.cluster.local"' },
      { name: 'identityRefs ServiceAccount', files: join3(serviceAccount('vote-bot'), meshtls('m', '  identityRefs:\n    - kind: ServiceAccount\n      name: votebot\n')), code: 'MPA2012', line: 15, message: 'names ServiceAccount "votebot"', fixed: '      name: vote-bot\n' },
      { name: 'AuthorizationPolicy ServiceAccount reference', files: join3(serviceAccount('web'), serviceAccount('prometheus', 'linkerd-viz'), policy('p', '  targetRef:\n    kind: Namespace\n    name: emojivoto\n  requiredAuthenticationRefs:\n    - kind: ServiceAccount\n      name: prometheus\n      namespace: linkerd-vis\n')), code: 'MPA2012', line: 25, message: 'names namespace "linkerd-vis"', fixed: 'namespace: linkerd-viz\n' },
      // policy-controller/k8s/index/src/inbound/meshtls_authentication.rs: IdentityMatch::Exact.
      { name: 'identityRefs ServiceAccount named * (not a wildcard)', files: meshtls('m', '  identityRefs:\n    - kind: ServiceAccount\n      name: "*"\n'), code: 'MPA2012', line: 9, message: 'names ServiceAccount "*", which is not a wildcard: Linkerd compares the identity *.emojivoto.serviceaccount.identity... literally' },
      { name: 'AuthorizationPolicy ServiceAccount reference named * of another namespace', files: policy('p', '  targetRef:\n    kind: Namespace\n    name: emojivoto\n  requiredAuthenticationRefs:\n    - kind: ServiceAccount\n      name: "*"\n      namespace: linkerd-viz\n'), code: 'MPA2012', line: 12, message: 'use an identityRef of kind Namespace (or the identity "*.linkerd-viz.serviceaccount.identity.' },
      { name: 'ServerAuthorization serviceAccounts', files: join3(serviceAccount('web-frontend'), serverAuthz('s', '  server:\n    name: web-http\n  client:\n    meshTLS:\n      serviceAccounts:\n        - name: web-fronted\n')), code: 'MPA2012', line: 18, message: 'names ServiceAccount "web-fronted"', fixed: '        - name: web-frontend\n' },
    ],
    clean: [
      { name: 'a ServiceAccount merely absent from the workspace (its workload may live elsewhere)', files: join3(serviceAccount('web'), meshtls('m', '  identities:\n    - vote-bot.emojivoto.serviceaccount.identity.linkerd.cluster.local\n')), codes: ['MPA2012'] },
      { name: 'ServiceAccounts used by workloads, default, unmanaged namespaces, external SPIFFE IDs', files: join3(
        serviceAccount('web'),
        deployment('vote-bot', '      app: vote-bot\n', '        - name: bot\n          image: bot:1\n', 'emojivoto', '', 'vote-bot'),
        meshtls('m', '  identities:\n    - web.emojivoto.serviceaccount.identity.linkerd.cluster.local\n    - vote-bot.emojivoto.serviceaccount.identity.linkerd.cluster.local\n    - default.emojivoto.serviceaccount.identity.linkerd.cluster.local\n    - ingress-nginx.ingress-nginx.serviceaccount.identity.linkerd.cluster.local\n    - "*.linkerd-viz.serviceaccount.identity.linkerd.cluster.local"\n    - spiffe://root.linkerd.cluster.local/proxy-harness\n    - spiffe://cluster.local/ns/legacy/sa/vm\n'),
      ), codes: ['MPA2012'] },
      { name: 'the Linkerd docs examples with their apps', files: { 'a.yaml': readFixture('emojivoto', 'app.yaml'), 'e.yaml': readFixture('emojivoto', 'policy.yaml'), 'b.yaml': readFixture('booksapp', 'app.yaml'), 'p.yaml': readFixture('booksapp', 'policy.yaml') }, codes: ['MPA2012'] },
    ],
  },
  MPA2013: {
    trigger: [
      { name: 'proxy admin Server routing only /metrics', files: join3(server('proxy-admin', '  podSelector: {}\n  port: linkerd-admin\n  proxyProtocol: HTTP/1\n'), route('proxy-metrics', `${serverParent('proxy-admin')}  rules:\n    - matches:\n        - path:\n            value: /metrics\n`)), code: 'MPA2013', line: 8, message: 'no route takes GET /live and /ready on the proxy\'s admin port (4191): the proxy\'s own liveness and readiness probes get 404' },
      { name: 'proxy probes routed but only for meshed clients', files: join3(server('proxy-admin', '  podSelector: {}\n  port: 4191\n'), route('proxy-all', serverParent('proxy-admin')), policy('p', '  targetRef:\n    group: policy.linkerd.io\n    kind: Server\n    name: proxy-admin\n  requiredAuthenticationRefs:\n    - kind: ServiceAccount\n      name: prometheus\n      namespace: linkerd-viz\n')), code: 'MPA2013', line: 8, message: 'nothing there authorizes clients without mesh identity, as the kubelet is: the proxy\'s own liveness and readiness probes get 403' },
      { name: 'proxy admin Server routing the probes but not /metrics', files: join3(server('proxy-admin', '  podSelector: {}\n  port: linkerd-admin\n  accessPolicy: all-unauthenticated\n'), route('proxy-probes', `${serverParent('proxy-admin')}  rules:\n    - matches:\n        - path: {value: /live}\n        - path: {value: /ready}\n`)), code: 'MPA2013', line: 8, message: 'takes GET /metrics on the proxy\'s admin port (4191): Prometheus scrapes of the proxy\'s metrics get 404' },
      { name: 'proxy admin Server that authorizes nobody', files: server('proxy-admin', '  podSelector: {}\n  port: linkerd-admin\n  accessPolicy: deny\n'), code: 'MPA2013', line: 8, message: 'authorizes no client (accessPolicy deny' },
      { name: 'routes that leave the readiness probe unrouted', files: join3(webDeployment(), webServer, route('web-app', `${serverParent()}  rules:\n    - matches:\n        - path:\n            value: /api\n`)), code: 'MPA2013', line: 36, message: 'no route takes the kubelet\'s GET /healthz (readiness probe of Deployment web, port 8080): the probe gets 404' },
      { name: 'probe routed, but only meshed clients authorized', files: join3(webDeployment(), webServer, route('web-all', serverParent()), webClients, policy('p', '  targetRef:\n    group: policy.linkerd.io\n    kind: HTTPRoute\n    name: web-all\n  requiredAuthenticationRefs:\n    - name: web-clients\n      kind: MeshTLSAuthentication\n      group: policy.linkerd.io\n')), code: 'MPA2013', line: 36, message: 'reaches "web-all", but nothing there authorizes clients without mesh identity' },
      { name: 'probe with a query parameter the route does not take', files: join3(webDeployment('          livenessProbe:\n            httpGet:\n              path: /healthz?verbose=1\n              port: 8080\n'), webServer, route('web-health', `${serverParent()}  rules:\n    - matches:\n        - path: {type: Exact, value: /healthz}\n          queryParams:\n            - {name: verbose, value: "0"}\n`)), code: 'MPA2013', line: 36, message: 'GET /healthz?verbose=1 (liveness probe of Deployment web, port 8080)' },
      { name: 'opaque Server over an HTTP probe port', files: join3(webDeployment(), server('web-http', '  podSelector:\n    matchLabels:\n      app: web-svc\n  port: http\n  proxyProtocol: opaque\n')), code: 'MPA2013', line: 36, message: 'this Server makes the port opaque, so Linkerd\'s default probe route does not apply' },
    ],
    clean: [
      { name: 'deny everywhere but no routes: Linkerd\'s probe route authorizes the probes', files: join3(namespace('emojivoto', '    config.linkerd.io/default-inbound-policy: deny\n'), webDeployment(), server('web-http', '  podSelector:\n    matchLabels:\n      app: web-svc\n  port: http\n  accessPolicy: deny\n')), codes: ['MPA2013'] },
      { name: 'probe path routed and open to the node network', files: join3(webDeployment(), webServer, route('web-app', `${serverParent()}  rules:\n    - matches:\n        - path: {value: /api}\n`), route('web-probes', `${serverParent()}  rules:\n    - matches:\n        - path: {type: Exact, value: /healthz}\n          method: GET\n`), netauth('kubelet', '  networks:\n    - cidr: 0.0.0.0/0\n'), policy('probes', '  targetRef:\n    group: policy.linkerd.io\n    kind: HTTPRoute\n    name: web-probes\n  requiredAuthenticationRefs:\n    - name: kubelet\n      kind: NetworkAuthentication\n      group: policy.linkerd.io\n')), codes: ['MPA2013'] },
      { name: 'routes attached but the Server admits unauthenticated clients', files: join3(webDeployment(), server('web-http', '  podSelector:\n    matchLabels:\n      app: web-svc\n  port: http\n  accessPolicy: all-unauthenticated\n'), route('web-app', `${serverParent()}  rules:\n    - matches:\n        - path: {value: /}\n`)), codes: ['MPA2013'] },
      { name: 'the Linkerd docs examples with their apps', files: { 'a.yaml': readFixture('emojivoto', 'app.yaml'), 'e.yaml': readFixture('emojivoto', 'policy.yaml'), 'b.yaml': readFixture('booksapp', 'app.yaml'), 'p.yaml': readFixture('booksapp', 'policy.yaml') }, codes: ['MPA2013'] },
    ],
  },
  // Gateway API route status: Accepted and ResolvedRefs per parent, as Linkerd's policy controller writes them.
  MPA2014: {
    trigger: [
      { name: 'a route its Server did not accept', files: join3(webServer, `${route('web-api', serverParent())}status:\n  parents:\n    - parentRef: {group: policy.linkerd.io, kind: Server, name: web-http}\n      controllerName: linkerd.io/policy-controller\n      conditions:\n        - {type: Accepted, status: "False", reason: NoMatchingParent, message: ""}\n`), code: 'MPA2014', line: 28, message: 'Linkerd\'s policy controller reported Accepted False for parent Server web-http (NoMatchingParent); the cluster had not taken the resource as written when this status was saved with it' },
      { name: 'a condition of the resource itself, with its message', files: `${server('web-http', '  podSelector: {}\n  port: http\n')}status:\n  conditions:\n    - type: Ready\n      status: "False"\n      message: "port http is not declared."\n`, code: 'MPA2014', line: 12, message: 'reported Ready False: port http is not declared; the cluster had not taken' },
    ],
    clean: [
      { name: 'accepted, resolved, or not decided yet', files: join3(webServer, `${route('web-api', serverParent())}status:\n  parents:\n    - parentRef: {name: web-http}\n      conditions:\n        - {type: Accepted, status: "True"}\n        - {type: ResolvedRefs, status: "Unknown"}\n`), codes: ['MPA2014'] },
      { name: 'no status (a manifest written by hand)', files: join3(webServer, route('web-api', serverParent())), codes: ['MPA2014'] },
    ],
  },
  // The API server against the workspace's CRDs: a release whose Server serves v1beta1 and v1beta2 only.
  MPA2015: {
    trigger: [
      { name: 'a Server version the CRD does not serve', files: { 'p.yaml': webServer, 'crds.yaml': SERVER_CRD_UP_TO_V1BETA2 }, code: 'MPA2015', line: 1, message: 'the CustomResourceDefinition servers.policy.linkerd.io (crds.yaml) does not serve policy.linkerd.io/v1beta3 (it serves policy.linkerd.io/v1beta1, policy.linkerd.io/v1beta2): the API server refuses the resource' },
      { name: 'a field the CRD does not declare', files: { 'p.yaml': webServer.replace('v1beta3', 'v1beta2'), 'crds.yaml': SERVER_CRD_UP_TO_V1BETA2 }, code: 'MPA2015', line: 11, message: 'unknown field "spec.proxyProtocol": the CustomResourceDefinition servers.policy.linkerd.io (crds.yaml) does not declare it in v1beta2' },
      { name: 'a value the CRD\'s pattern refuses', files: { 'p.yaml': server('web-http', '  podSelector: {}\n  port: 8080\n').replace('v1beta3', 'v1beta2'), 'crds.yaml': crdYaml('policy.linkerd.io', 'Server', 'servers', [{ name: 'v1beta2', schema: { type: 'object', properties: { spec: { type: 'object', 'x-kubernetes-preserve-unknown-fields': true, properties: { port: { type: 'string', pattern: '^[a-z]([-a-z0-9]*[a-z0-9])?$' } } } } } }]) }, code: 'MPA2015', line: 8, message: 'spec.port: Invalid value: "integer": spec.port in body must be of type string: "integer": the CustomResourceDefinition servers.policy.linkerd.io (crds.yaml) refuses the resource' },
      { name: 'a name the CRD\'s pattern refuses', files: { 'p.yaml': server('web-http', '  podSelector: {}\n  port: Http\n').replace('v1beta3', 'v1beta2'), 'crds.yaml': crdYaml('policy.linkerd.io', 'Server', 'servers', [{ name: 'v1beta2', schema: { type: 'object', properties: { spec: { type: 'object', 'x-kubernetes-preserve-unknown-fields': true, properties: { port: { type: 'string', pattern: '^[a-z]([-a-z0-9]*[a-z0-9])?$' } } } } } }]) }, code: 'MPA2015', line: 8, message: 'spec.port: Invalid value: "Http": spec.port in body should match \'^[a-z]([-a-z0-9]*[a-z0-9])?$\'' },
    ],
    clean: [
      { name: 'what the CRD serves and declares', files: { 'p.yaml': server('web-http', '  podSelector:\n    matchLabels:\n      app: web-svc\n  port: http\n').replace('v1beta3', 'v1beta2'), 'crds.yaml': SERVER_CRD_UP_TO_V1BETA2 }, codes: ['MPA2015'] },
      { name: 'no CRD for the kind', files: webServer, codes: ['MPA2015'] },
    ],
  },
};

function readFixture(folder: string, name: string): string {
  return readFileSync(join(FIXTURES, 'checks', 'linkerd', folder, name), 'utf8');
}

function firstOf(findings: Finding[], code: string, files: Files): Finding | undefined {
  for (const path of Object.keys(files)) {
    const found = findings.find((f) => f.code === code && f.file === path);
    if (found) return found;
  }
  return undefined;
}

describe('Linkerd checks (MPA2xxx)', () => {
  it('every check has a table here', () => {
    assert.deepEqual(LINKERD_CHECKS.map((c) => c.code).sort(), Object.keys(tables).sort());
  });

  for (const check of LINKERD_CHECKS) {
    describe(`${check.code}: ${check.title}`, () => {
      const table = tables[check.code]!;
      it('is described fully', () => {
        assert.equal(check.mesh, 'linkerd');
        assert.ok(check.upstream, 'names the upstream message it mirrors');
        assert.ok(check.kinds.length > 0);
      });
      for (const c of table.trigger) {
        it(`triggers: ${c.name}`, () => {
          const files = asFiles(c.files);
          const findings = lintWorkspace(files, c.configure);
          const finding = firstOf(findings, c.code, files);
          assert.ok(finding, `expected ${c.code}; got:\n${show(findings)}`);
          const lines = files[finding.file]!.split('\n');
          assert.equal(finding.range.start.line + 1, c.line, `reported on line ${finding.range.start.line + 1} (${JSON.stringify(lines[finding.range.start.line])}): ${finding.message}`);
          assert.ok(finding.message.includes(c.message), `message: ${finding.message}`);
          assert.equal(finding.severity, check.defaultSeverity);
          if (c.fixed === undefined) return;
          const fix = finding.fixes?.find((f) => f.preferred);
          assert.ok(fix, 'expected a preferred fix');
          const text = files[finding.file]!;
          const after = applyEdits(text, fix.edits);
          assert.ok(after.includes(c.fixed), `after the fix:\n${after}`);
          const again = lintWorkspace({ ...files, [finding.file]: after }, c.configure).filter((f) => f.code === c.code && f.file === finding.file && f.range.start.line === finding.range.start.line);
          assert.deepEqual(again.map((f) => f.message), [], 'the fix clears the finding');
          const before = findings.filter((f) => f.code.startsWith('MPA0')).length;
          assert.ok(lintWorkspace({ ...files, [finding.file]: after }, c.configure).filter((f) => f.code.startsWith('MPA0')).length <= before, 'the fix adds no schema error');
        });
      }
      for (const c of table.clean) {
        it(`leaves alone: ${c.name}`, () => {
          const findings = lintWorkspace(asFiles(c.files));
          const codes = c.codes ?? LINKERD_CHECKS.map((k) => k.code);
          assert.deepEqual(findings.filter((f) => codes.includes(f.code)).map((f) => `${f.file}:${f.range.start.line + 1} ${f.code} ${f.message}`), []);
        });
      }
    });
  }

  it('the fixture workspaces are clean as a whole', () => {
    const root = join(FIXTURES, 'checks', 'linkerd');
    for (const folder of readdirSync(root, { withFileTypes: true }).filter((d) => d.isDirectory())) {
      const files: Files = {};
      for (const name of readdirSync(join(root, folder.name))) files[`${folder.name}/${name}`] = readFileSync(join(root, folder.name, name), 'utf8');
      assert.deepEqual(lintWorkspace(files).map((f) => `${f.file}:${f.range.start.line + 1} ${f.code} ${f.message}`), [], folder.name);
    }
  });

  it('MPA2013: the probe route fix adds what Linkerd would authorize without routes, and the probes pass again (spec §2.3)', () => {
    for (const [name, text] of [
      ['a workload probe', join3(webDeployment('          readinessProbe:\n            httpGet:\n              path: /healthz?full=1\n              port: http\n'), webServer, route('web-app', `${serverParent()}  rules:\n    - matches:\n        - path:\n            value: /api\n`))],
      ['the proxy\'s own probes', join3(server('proxy-admin', '  podSelector: {}\n  port: linkerd-admin\n  proxyProtocol: HTTP/1\n'), route('proxy-metrics', `${serverParent('proxy-admin')}  rules:\n    - matches:\n        - path:\n            value: /metrics\n`))],
    ] as const) {
      const findings = lintWorkspace({ 'w.yaml': text }).filter((f) => f.code === 'MPA2013' && /gets? 404/.test(f.message) && !/Prometheus/.test(f.message));
      assert.equal(findings.length, 1, `${name}: ${show(findings)}`);
      const fix = findings[0]!.fixes?.[0];
      assert.ok(fix && !fix.preferred, `${name}: offered, not preferred`);
      assert.match(fix.title, /^Add HTTPRoute (web-http|proxy-admin)-probes for the probe paths? /);
      const after = applyEdits(text, fix.edits);
      assert.ok(after.startsWith(text), 'appended, the file as it was above');
      const again = lintWorkspace({ 'w.yaml': after });
      assert.deepEqual(again.filter((f) => f.code === 'MPA2013' && !/Prometheus/.test(f.message)).map((f) => f.message), [], `${name}: ${show(again)}`);
      assert.deepEqual(again.filter((f) => f.severity === 'error').map((f) => `${f.code} ${f.message}`), [], `${name}: the new documents are valid`);
      if (name === 'a workload probe') assert.match(after, /value: \/healthz\n\s+method: GET/);
    }
  });

  it('a fix keeps comments and layout elsewhere', () => {
    const text = `# owned by team web\n${policy('p', '  # the web Server\n  targetRef:\n    kind: Server   # by name\n    name: web-http\n  requiredAuthenticationRefs: []\n')}`;
    const finding = lintWorkspace({ 'p.yaml': text }).find((f) => f.code === 'MPA2001')!;
    const after = applyEdits(text, finding.fixes!.find((f) => f.preferred)!.edits);
    assert.equal(after, text.replace('    name: web-http\n', '    name: web-http\n    group: policy.linkerd.io\n'));
  });

  it('checks across files are computed once per workspace state', () => {
    const files: Files = {};
    for (let i = 0; i < 200; i++) files[`p${i}.yaml`] = join3(server(`s${i}`, `  podSelector:\n    matchLabels:\n      app: a${i}\n  port: ${1000 + i}\n`), policy(`p${i}`, `  targetRef:\n    group: policy.linkerd.io\n    kind: Server\n    name: s${i}\n  requiredAuthenticationRefs: []\n`));
    const start = process.hrtime.bigint();
    const findings = lintWorkspace(files);
    const ms = Number(process.hrtime.bigint() - start) / 1e6;
    assert.deepEqual(findings.filter((f) => f.code.startsWith('MPA2')), []);
    assert.ok(ms < 5000, `took ${ms} ms`);
  });
});

describe('Linkerd check helpers', () => {
  it('parses CIDRs and addresses as Linkerd does', () => {
    for (const ok of ['10.0.0.0/8', '0.0.0.0/0', '192.0.2.7', '::/0', '::1', 'fd00::/8', '2001:db8::1/128', '::ffff:10.0.0.1', '1:2:3:4:5:6:7:8', '1::8', '10.1.2.3/8']) assert.ok(parseCidr(ok), ok);
    for (const bad of ['10.0.0/8', '10.0.0.0/33', '256.0.0.0', '010.0.0.1', '10.0.0.0/', '::/129', '1:2:3:4:5:6:7:8:9', '1::2::3', 'fe80::1%eth0', 'x', '', '1.2.3.4::', '::1.2.3.4:5']) assert.equal(parseCidr(bad), undefined, bad);
    const c = (s: string) => parseCidr(s)!;
    assert.ok(cidrContains(c('10.0.0.0/8'), c('10.96.0.0/12')));
    assert.ok(cidrContains(c('10.1.2.3/8'), c('10.200.0.0/16')));
    assert.ok(!cidrContains(c('10.0.0.0/8'), c('11.0.0.0/8')));
    assert.ok(cidrContains(c('::/0'), c('::ffff:10.0.0.1')));
    assert.ok(!cidrContains(c('0.0.0.0/0'), c('::1')));
    assert.ok(cidrContains(c('192.0.2.7'), c('192.0.2.7/32')));
  });

  it('parses Go durations', () => {
    assert.equal(parseDuration('1m30s'), 90_000_000_000n);
    assert.equal(parseDuration('1.5s'), 1_500_000_000n);
    assert.equal(parseDuration('2500ms'), 2_500_000_000n);
    assert.equal(parseDuration('-1s'), -1_000_000_000n);
    assert.equal(parseDuration('0'), 0n);
    assert.equal(parseDuration('10'), undefined);
    assert.equal(parseDuration('1d'), undefined);
  });

  it('parses annotation durations as the policy controller does (whole number, one unit)', () => {
    const ms = (text: string) => {
      const parsed = parseLinkerdDuration(text);
      return 'ms' in parsed ? parsed.ms : parsed.error;
    };
    assert.equal(ms('500ms'), 500n);
    assert.equal(ms(' 10s '), 10_000n);
    assert.equal(ms('+2m'), 120_000n);
    assert.equal(ms('1d'), 86_400_000n);
    assert.equal(ms('0'), 0n);
    assert.equal(ms('10'), 'missing duration unit');
    assert.equal(ms('1m30s'), '"1m30" is not a whole number');
    assert.equal(ms('10us'), 'invalid duration unit us');
    assert.equal(ms('-1s'), '"-1" is not a whole number');
    assert.equal(ms('0.5s'), 'fractional values are not supported');
    assert.equal(ms('s'), 's does not contain a timeout duration value');
    assert.equal(ms('18446744073709551615s'), "Timeout value 18446744073709551615s overflows when converted to 'ms'");
    assert.equal(ms('18446744073709551615ms'), 18446744073709551615n);
    assert.equal(ms('18446744073709551616ms'), '"18446744073709551616" is not a whole number');
  });
});

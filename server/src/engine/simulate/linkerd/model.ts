import type { Resource } from '../../resource';
import type { SourceFile } from '../../source/sourceFile';
import { locate, type NodePath, type SourceNode, type Span } from '../../source/tree';
import type { SourceRef } from '../types';
import { netCovers, parseNet, type NetMatch } from './net';
import { AnchoredRegex } from './regex';
import { resourceValue } from '../../resourceValue';
import { admissionRefusals } from '../../checks/admission';
import { movingRefs, type CompiledForms } from '../compiledForms';
import { installedCrdDrops } from '../../crds/stored';
import { linkerdServiceAccountIdentity, type LinkerdIdentityNames } from '../../traffic/ingest/identity';

/**
 * The Linkerd policy resources of a workspace, read once into the shapes the policy controller
 * indexes (linkerd/linkerd2:policy-controller/k8s/index/src/inbound/*.rs), with the admission
 * webhook's rejections (spec §2.7.2) and the controller's runtime "ignoring" cases (§2.7.3)
 * recorded as `rejected` / `ignored` reasons instead of throwing.
 */

export const POLICY_GROUP = 'policy.linkerd.io';
export const GATEWAY_GROUP = 'gateway.networking.k8s.io';

export type Rec = Record<string, unknown>;

export function isRec(value: unknown): value is Rec {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
export function str(value: unknown): string | undefined {
  return typeof value === 'string' ? value : undefined;
}
export function arr(value: unknown): unknown[] {
  return Array.isArray(value) ? value : [];
}
function rec(value: unknown): Rec {
  return isRec(value) ? value : {};
}


/** The policy controller's `targets_kind`: groups compared case-insensitively, an empty or
 * omitted group meaning `core`; kinds compared case-insensitively. */
export function targetsKind(ref: Rec, group: string, kind: string): boolean {
  const k = str(ref['kind']);
  if (k === undefined) return false;
  return normGroup(ref['group']) === normGroup(group) && k.toLowerCase() === kind.toLowerCase();
}
function normGroup(group: unknown): string {
  const g = typeof group === 'string' ? group : '';
  return g === '' ? 'core' : g.toLowerCase();
}

export const DEFAULT_POLICIES = ['all-unauthenticated', 'all-authenticated', 'cluster-unauthenticated', 'cluster-authenticated', 'deny', 'audit'] as const;
export type DefaultPolicyName = (typeof DEFAULT_POLICIES)[number];
export function isDefaultPolicy(value: unknown): value is DefaultPolicyName {
  return typeof value === 'string' && (DEFAULT_POLICIES as readonly string[]).includes(value);
}

// ---------------------------------------------------------------- source references

/** Makes the refs of one resource while it is read. Definitions do not keep it: a definition a
 * compile takes over at another line (`CompiledForms`) has its refs moved, and nothing may make
 * a ref from the old lines afterwards. */
class Refs {
  constructor(readonly file: SourceFile, readonly node: SourceNode) {}

  /** A reference to the node at `path` inside the resource (the deepest existing node). */
  at(path: NodePath, label: string): SourceRef {
    const located = locate(this.node, path);
    const span: Span = located.node?.span ?? this.node.span;
    return { file: this.file.path, range: this.file.lines.range(span), label };
  }
}

// ---------------------------------------------------------------- selectors

export interface Selector {
  labels: [string, string][];
  exprs: { key: string; op: string; values: string[] }[];
  text: string;
}

export function readSelector(value: unknown): Selector {
  const v = rec(value);
  const labels: [string, string][] = Object.entries(rec(v['matchLabels'])).map(([k, x]) => [k, String(x)]);
  const exprs = arr(v['matchExpressions']).filter(isRec).map((e) => ({ key: str(e['key']) ?? '', op: str(e['operator']) ?? '', values: arr(e['values']).map(String) }));
  const parts = [...labels.map(([k, x]) => `${k}=${x}`), ...exprs.map((e) => `${e.key} ${e.op}${e.values.length ? ` (${e.values.join(', ')})` : ''}`)];
  return { labels, exprs, text: parts.length ? parts.join(', ') : '{} (every pod)' };
}

/** 1 matches, 0 does not, 2 cannot tell (labels unknown). */
export function matchSelector(sel: Selector, labels: Record<string, string> | undefined): 0 | 1 | 2 {
  if (sel.labels.length === 0 && sel.exprs.length === 0) return 1;
  if (!labels) return 2;
  for (const [k, v] of sel.labels) if (labels[k] !== v) return 0;
  for (const e of sel.exprs) {
    const has = Object.prototype.hasOwnProperty.call(labels, e.key);
    switch (e.op) {
      case 'In': if (!has || !e.values.includes(labels[e.key]!)) return 0; break;
      case 'NotIn': if (has && e.values.includes(labels[e.key]!)) return 0; break;
      case 'Exists': if (!has) return 0; break;
      case 'DoesNotExist': if (has) return 0; break;
      default: return 0;
    }
  }
  return 1;
}

/** Why a selector does not match, for explanations. */
export function selectorMismatch(sel: Selector, labels: Record<string, string>): string {
  for (const [k, v] of sel.labels) if (labels[k] !== v) return labels[k] === undefined ? `the pod has no label ${k}` : `label ${k} is "${labels[k]}", not "${v}"`;
  for (const e of sel.exprs) {
    const has = Object.prototype.hasOwnProperty.call(labels, e.key);
    if (e.op === 'In' && (!has || !e.values.includes(labels[e.key]!))) return `label ${e.key} is not in (${e.values.join(', ')})`;
    if (e.op === 'NotIn' && has && e.values.includes(labels[e.key]!)) return `label ${e.key} is in (${e.values.join(', ')})`;
    if (e.op === 'Exists' && !has) return `the pod has no label ${e.key}`;
    if (e.op === 'DoesNotExist' && has) return `the pod has label ${e.key}`;
    if (!['In', 'NotIn', 'Exists', 'DoesNotExist'].includes(e.op)) return `operator ${e.op} is not a Kubernetes selector operator`;
  }
  return 'the selector does not match';
}

// ---------------------------------------------------------------- identities

/** `TlsAuthenticated(ids)`: exact names and suffixes (`*` = suffix "", `*.a.b` = ".a.b"). */
export interface IdentitySet {
  exact: Set<string>;
  suffixes: string[];
  text: string[];
}

/** The proxy tries suffixes (`*` included) on DNS identities only: a SPIFFE URI client matches
 * exact names alone (linkerd2-proxy `linkerd/app/inbound/src/policy.rs` `is_tls_authorized`). */
export function identityMatch(ids: IdentitySet, identity: string): boolean {
  if (ids.exact.has(identity)) return true;
  if (identity.startsWith('spiffe://')) return false;
  for (const s of ids.suffixes) if (identity.endsWith(s)) return true;
  return false;
}

/** `IdentityMatch::from_str` (linkerd/linkerd2:policy-controller/core/src/identity_match.rs). */
export function addIdentity(ids: IdentitySet, text: string): void {
  ids.text.push(text);
  if (text === '*') ids.suffixes.push('');
  else if (text.startsWith('*.')) ids.suffixes.push(flat(text.slice(1)));
  else ids.exact.add(flat(text));
}

/** An identity the policy controller builds itself (a ServiceAccount's, from a
 * `requiredAuthenticationRefs`/`identityRefs` ServiceAccount or a ServerAuthorization's
 * `serviceAccounts`): always `IdentityMatch::Exact`, never parsed, so a service account named `*`
 * is the literal name `*.<ns>.serviceaccount...`, which no client has
 * (policy-controller/k8s/index/src/inbound/{index,meshtls_authentication,server_authorization}.rs). */
export function addExactIdentity(ids: IdentitySet, text: string): void {
  ids.text.push(text);
  ids.exact.add(flat(text));
}

/** A sequential copy of a string (not a slice or concatenation of another): faster to compare
 * on every call. */
function flat(s: string): string {
  return JSON.parse(JSON.stringify(s)) as string;
}

export function newIdentitySet(): IdentitySet {
  return { exact: new Set(), suffixes: [], text: [] };
}

export type ClusterIdentity = LinkerdIdentityNames;

export const serviceAccountIdentity = linkerdServiceAccountIdentity;

export function namespaceIdentity(c: ClusterIdentity, namespace: string): string {
  return `*.${namespace}.serviceaccount.identity.${c.controlPlaneNamespace}.${c.trustDomain}`;
}

const DNS_LABEL = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;
const DNS_LIKE = /^(\*|[a-z0-9]([-a-z0-9]*[a-z0-9])?)(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;
const TD_CHARS = /^[a-z0-9\-._]+$/;
const PATH_SEGMENT = /^[A-Za-z0-9\-._]+$/;

/** The webhook's identity check (linkerd/linkerd2:policy-controller/runtime/src/validation.rs):
 * a SPIFFE ID or a DNS-like name. Our own fixed patterns, never a user pattern. */
export function identityInvalid(id: string): boolean {
  if (id.startsWith('spiffe://')) {
    const rest = id.slice(9);
    const slash = rest.indexOf('/');
    const td = slash < 0 ? rest : rest.slice(0, slash);
    if (!td || !TD_CHARS.test(td)) return true;
    if (slash < 0) return false;
    const segments = rest.slice(slash + 1).split('/');
    return segments.some((s) => s === '' || s === '.' || s === '..' || !PATH_SEGMENT.test(s));
  }
  return !DNS_LIKE.test(id);
}

// ---------------------------------------------------------------- resources

interface Base {
  namespace: string;
  name: string;
  at: SourceRef;
  /** The admission webhook (or the CRD schema) would refuse the object: it never exists. */
  rejected?: string;
  /** The object exists but the policy controller ignores it. */
  ignored?: string;
  timestamp?: string;
  /** What the cluster's CRD dropped from it, in words (`crds/stored.ts`). */
  dropped?: readonly string[];
}

export type ProxyProtocol = 'detect' | 'http1' | 'http2' | 'grpc' | 'opaque' | 'tls';
const PROTOCOLS: Record<string, ProxyProtocol> = { 'unknown': 'detect', 'HTTP/1': 'http1', 'HTTP/2': 'http2', 'gRPC': 'grpc', 'opaque': 'opaque', 'TLS': 'tls' };
export const PROTOCOL_TEXT: Record<ProxyProtocol, string> = { detect: 'unknown (detect)', http1: 'HTTP/1', http2: 'HTTP/2', grpc: 'gRPC', opaque: 'opaque', tls: 'TLS' };

export interface ServerDef extends Base {
  labels: Record<string, string>;
  /** Undefined for an `externalWorkloadSelector` Server (it selects no pod). */
  podSelector?: Selector;
  /** Undefined for a `podSelector` Server (it selects no ExternalWorkload). */
  externalSelector?: Selector;
  port: number | string;
  protocol: ProxyProtocol;
  accessPolicy?: DefaultPolicyName;
}

export type PolicyTarget =
  | { type: 'server'; name: string }
  | { type: 'namespace' }
  | { type: 'route'; group: string; kind: string; name: string };

export interface AuthnRef {
  kind: 'meshtls' | 'network' | 'serviceaccount';
  namespace?: string;
  name: string;
  at: SourceRef;
}

export interface PolicyDef extends Base {
  target?: PolicyTarget;
  authns: AuthnRef[];
}

export interface MeshTLSDef extends Base {
  /** Identity strings, identityRefs resolved (undefined when rejected). */
  ids?: IdentitySet;
}

export interface NetworkDef extends Base {
  networks?: NetMatch[];
}

export interface ServerAuthorizationDef extends Base {
  server: { name: string } | { selector: Selector };
  networks: NetMatch[];
  /** 'any' = unauthenticated, 'tls' = unauthenticatedTLS, ids = meshTLS identities + serviceAccounts. */
  authn?: { type: 'any' } | { type: 'tls' } | { type: 'ids'; ids: IdentitySet };
}

export interface HeaderMatchDef {
  name: string;
  exact?: string;
  regex?: AnchoredRegex;
  text: string;
}

export interface HttpMatchDef {
  index: number;
  method?: string;
  path?: { type: 'Exact' | 'PathPrefix' | 'RegularExpression'; value: string; trimmed: string; regex?: AnchoredRegex };
  headers: HeaderMatchDef[];
  query: HeaderMatchDef[];
  grpc?: { service?: string; method?: string };
  /** Absent for the generated probe route. */
  at?: SourceRef;
  text: string;
}

export interface RuleDef {
  index: number;
  matches: HttpMatchDef[];
  at: SourceRef;
  redirect?: { status: number };
}

export interface HostMatchDef {
  exact?: string;
  /** Labels of the suffix in reverse order (`*.example.com` → ["com", "example"]). */
  suffix?: string[];
  text: string;
}

export interface RouteDef extends Base {
  group: string;
  kind: 'HTTPRoute' | 'GRPCRoute';
  /** The Server names of the parentRefs that name a Server. */
  parents: string[];
  hostnames: HostMatchDef[];
  rules: RuleDef[];
}

export interface ResourceIndex {
  servers: Map<string, ServerDef[]>;
  serverAuthorizations: Map<string, ServerAuthorizationDef[]>;
  policies: Map<string, PolicyDef[]>;
  meshTLS: Map<string, MeshTLSDef>;
  networks: Map<string, NetworkDef>;
  routes: Map<string, RouteDef[]>;
  /** Everything read, rejected and duplicate objects included (for explanations). */
  all: Base[];
}

function push<T>(map: Map<string, T[]>, key: string, value: T): void {
  const list = map.get(key);
  if (list) list.push(value);
  else map.set(key, [value]);
}

function timestampOf(value: Rec): string | undefined {
  return str(rec(value['metadata'])['creationTimestamp']);
}

function labelsOf(value: Rec): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(rec(rec(value['metadata'])['labels']))) if (v !== null && v !== undefined) out[k] = String(v);
  return out;
}

/** Oldest first (objects with a timestamp before those without), then by name. */
export function byAge<T extends { timestamp?: string; name: string }>(a: T, b: T): number {
  if (a.timestamp !== b.timestamp) {
    if (a.timestamp === undefined) return 1;
    if (b.timestamp === undefined) return -1;
    const ta = Date.parse(a.timestamp);
    const tb = Date.parse(b.timestamp);
    if (ta !== tb) return (Number.isNaN(ta) ? 0 : ta) - (Number.isNaN(tb) ? 0 : tb);
  }
  return a.name < b.name ? -1 : a.name > b.name ? 1 : 0;
}

/** Route precedence on ties (linkerd/linkerd2:policy-controller/grpc/src/inbound/http.rs
 * `to_route_list`): oldest first, routes with a timestamp before those without, then by
 * `RouteRef`, whose `GroupKindName` compares the name first, then the group, then the kind
 * (policy-controller/core/src/routes.rs `impl Ord for GroupKindName`). */
function routeOrder(a: RouteDef, b: RouteDef): number {
  if (a.timestamp !== b.timestamp) {
    if (a.timestamp === undefined) return 1;
    if (b.timestamp === undefined) return -1;
    const d = Date.parse(a.timestamp) - Date.parse(b.timestamp);
    if (d) return d;
  }
  for (const k of ['name', 'group', 'kind'] as const) if (a[k] !== b[k]) return a[k] < b[k] ? -1 : 1;
  return 0;
}

function parseNetworks(value: unknown, path: NodePath): { networks: NetMatch[]; problem?: string } {
  const networks: NetMatch[] = [];
  for (const [i, raw] of arr(value).entries()) {
    const n = rec(raw);
    const cidrText = str(n['cidr']);
    const net = cidrText !== undefined ? parseNet(cidrText) : undefined;
    if (!net) return { networks, problem: `${[...path, i].join('.')}.cidr ${cidrText === undefined ? 'is missing' : `"${cidrText}" is not a network`}` };
    const except = [];
    for (const e of arr(n['except'])) {
      const ex = typeof e === 'string' ? parseNet(e) : undefined;
      if (!ex) return { networks, problem: `${[...path, i].join('.')}.except "${String(e)}" is not a network` };
      // validation.rs: an exception must lie inside the network and must not cover all of it.
      if (!netCovers(net, ex)) return { networks, problem: `network ${net.text} does not include exception ${ex.text}` };
      if (ex.bits <= net.bits) return { networks, problem: `network ${net.text} is completely negated by exception ${ex.text}` };
      except.push(ex);
    }
    networks.push({ net, except });
  }
  return { networks };
}

function readServer(base: Base, value: Rec): ServerDef {
  const spec = rec(value['spec']);
  const hasPod = isRec(spec['podSelector']);
  const hasExternal = isRec(spec['externalWorkloadSelector']);
  const port = spec['port'];
  const protocolText = str(spec['proxyProtocol']) ?? 'unknown';
  const protocol = PROTOCOLS[protocolText];
  const access = spec['accessPolicy'];
  const server: ServerDef = {
    ...base, labels: labelsOf(value),
    port: typeof port === 'number' || typeof port === 'string' ? port : 0,
    protocol: protocol ?? 'detect',
    ...(hasPod ? { podSelector: readSelector(spec['podSelector']) } : {}),
    ...(hasExternal ? { externalSelector: readSelector(spec['externalWorkloadSelector']) } : {}),
    ...(isDefaultPolicy(access) ? { accessPolicy: access } : {}),
  };
  if (hasPod === hasExternal) server.rejected = 'a Server needs exactly one of podSelector and externalWorkloadSelector';
  else if (port === undefined || (typeof port === 'number' && (!Number.isInteger(port) || port < 1 || port > 65535)) || (typeof port !== 'number' && typeof port !== 'string')) server.rejected = 'spec.port is missing or not a valid port';
  else if (!protocol) server.rejected = `proxyProtocol "${protocolText}" is not one of unknown, HTTP/1, HTTP/2, gRPC, opaque, TLS`;
  else if (access !== undefined && !isDefaultPolicy(access)) server.rejected = `accessPolicy "${String(access)}" is not a default policy value`;
  return server;
}

function readPolicy(base: Base, refs: Refs, value: Rec): PolicyDef {
  const spec = rec(value['spec']);
  const policy: PolicyDef = { ...base, authns: [] };
  const t = spec['targetRef'];
  if (!isRec(t)) {
    policy.rejected = 'spec.targetRef is missing';
    return policy;
  }
  const name = str(t['name']) ?? '';
  if (targetsKind(t, POLICY_GROUP, 'Server')) policy.target = { type: 'server', name };
  else if (targetsKind(t, 'core', 'Namespace')) {
    policy.target = { type: 'namespace' };
    if (name !== base.namespace) policy.rejected = `cannot target another namespace (${name})`;
  } else if (targetsKind(t, POLICY_GROUP, 'HTTPRoute') || targetsKind(t, GATEWAY_GROUP, 'HTTPRoute') || targetsKind(t, GATEWAY_GROUP, 'GRPCRoute')) {
    policy.target = { type: 'route', group: str(t['group']) ?? '', kind: str(t['kind']) ?? '', name };
  } else {
    policy.rejected = `unsupported authorization target type: ${str(t['kind']) ?? '?'}${str(t['group']) ? `.${str(t['group'])}` : ''}`;
  }
  const refsValue = spec['requiredAuthenticationRefs'];
  if (!Array.isArray(refsValue)) {
    policy.rejected ??= 'spec.requiredAuthenticationRefs is missing';
    return policy;
  }
  const counts = { meshtls: 0, network: 0, serviceaccount: 0 };
  const unsupported: string[] = [];
  refsValue.forEach((raw, i) => {
    const r = rec(raw);
    const at = refs.at(['spec', 'requiredAuthenticationRefs', i], `requiredAuthenticationRefs[${i}]`);
    const kind = targetsKind(r, POLICY_GROUP, 'MeshTLSAuthentication') ? 'meshtls' : targetsKind(r, POLICY_GROUP, 'NetworkAuthentication') ? 'network' : targetsKind(r, 'core', 'ServiceAccount') ? 'serviceaccount' : undefined;
    if (!kind) {
      unsupported.push(`${str(r['kind']) ?? '?'}${str(r['group']) ? `.${str(r['group'])}` : ''}`);
      return;
    }
    counts[kind]++;
    const ns = str(r['namespace']);
    policy.authns.push({ kind, name: str(r['name']) ?? '', at, ...(ns ? { namespace: ns } : {}) });
  });
  if (unsupported.length) policy.rejected ??= `unsupported authentication kind(s): ${unsupported.join(', ')}`;
  else if (counts.meshtls > 1) policy.rejected ??= 'only a single MeshTLSAuthentication may be set';
  else if (counts.serviceaccount > 1) policy.rejected ??= 'only a single ServiceAccount may be set';
  else if (counts.meshtls && counts.serviceaccount) policy.rejected ??= 'a MeshTLSAuthentication and a ServiceAccount may not both be set';
  else if (counts.network > 1) policy.rejected ??= 'only a single NetworkAuthentication may be set';
  return policy;
}

function readMeshTLS(base: Base, value: Rec, cluster: ClusterIdentity): MeshTLSDef {
  const spec = rec(value['spec']);
  const def: MeshTLSDef = { ...base };
  const identities = spec['identities'];
  const identityRefs = spec['identityRefs'];
  const hasIds = Array.isArray(identities);
  const hasRefs = Array.isArray(identityRefs);
  if (hasIds === hasRefs) {
    def.rejected = 'a MeshTLSAuthentication needs exactly one of identities and identityRefs';
    return def;
  }
  const ids = newIdentitySet();
  if (hasIds) {
    if (identities.length === 0) def.rejected = 'identities must not be empty';
    for (const id of identities) {
      const text = String(id);
      if (identityInvalid(text)) def.rejected ??= `identity "${text}" is neither a SPIFFE id nor a DNS-like name`;
      addIdentity(ids, text);
    }
  } else {
    const refsList = arr(identityRefs);
    if (refsList.length === 0) def.rejected = 'identityRefs must not be empty';
    for (const raw of refsList) {
      const r = rec(raw);
      const name = str(r['name']) ?? '';
      if (targetsKind(r, 'core', 'ServiceAccount')) addExactIdentity(ids, serviceAccountIdentity(cluster, str(r['namespace']) ?? base.namespace, name));
      else if (targetsKind(r, 'core', 'Namespace')) {
        if (r['namespace'] !== undefined) def.rejected ??= 'a Namespace identityRef must not set namespace';
        addIdentity(ids, namespaceIdentity(cluster, name));
      } else def.rejected ??= `unsupported identityRef kind ${str(r['kind']) ?? '?'}`;
    }
  }
  if (!def.rejected) def.ids = ids;
  return def;
}

function readNetwork(base: Base, value: Rec): NetworkDef {
  const spec = rec(value['spec']);
  const def: NetworkDef = { ...base };
  if (!Array.isArray(spec['networks']) || spec['networks'].length === 0) {
    def.rejected = 'networks must not be empty';
    return def;
  }
  const parsed = parseNetworks(spec['networks'], ['networks']);
  if (parsed.problem) def.rejected = parsed.problem;
  else def.networks = parsed.networks;
  return def;
}

function readServerAuthorization(base: Base, value: Rec, cluster: ClusterIdentity): ServerAuthorizationDef {
  const spec = rec(value['spec']);
  const server = rec(spec['server']);
  const client = spec['client'];
  const name = str(server['name']);
  const def: ServerAuthorizationDef = {
    ...base, networks: [],
    server: name !== undefined ? { name } : { selector: readSelector(server['selector']) },
  };
  if (!isRec(spec['server']) || (name === undefined) === !isRec(server['selector'])) def.rejected = 'spec.server needs exactly one of name and selector';
  if (!isRec(client)) {
    def.rejected ??= 'spec.client is missing';
    return def;
  }
  const parsed = parseNetworks(client['networks'], ['client', 'networks']);
  if (parsed.problem) def.rejected ??= parsed.problem;
  def.networks = parsed.networks;
  const mtls = client['meshTLS'];
  if (client['unauthenticated'] === true) {
    if (isRec(mtls)) def.rejected ??= 'meshTLS may not be set when unauthenticated is true';
    def.authn = { type: 'any' };
  } else if (isRec(mtls)) {
    const ids = newIdentitySet();
    for (const id of arr(mtls['identities'])) {
      // The CRD admits DNS-like identities only (no SPIFFE IDs) on ServerAuthorization.
      if (!DNS_LIKE.test(String(id))) def.rejected ??= `meshTLS identity "${String(id)}" does not match the CRD's DNS-like pattern`;
      addIdentity(ids, String(id));
    }
    for (const raw of arr(mtls['serviceAccounts'])) {
      const sa = rec(raw);
      // The CRD wants DNS labels for serviceAccounts[].name and .namespace.
      for (const key of ['name', 'namespace'] as const) {
        const v = sa[key];
        if ((v !== undefined || key === 'name') && !DNS_LABEL.test(String(v ?? ''))) def.rejected ??= `meshTLS.serviceAccounts ${key} "${String(v ?? '')}" is not a DNS label (the CRD's pattern)`;
      }
      addExactIdentity(ids, serviceAccountIdentity(cluster, str(sa['namespace']) ?? base.namespace, str(sa['name']) ?? ''));
    }
    if (mtls['unauthenticatedTLS'] === true) {
      if (ids.text.length) def.rejected ??= 'unauthenticatedTLS may not be set together with identities or serviceAccounts';
      def.authn = { type: 'tls' };
    } else if (ids.text.length === 0) {
      def.ignored = 'authorization authorizes no clients (meshTLS names no identity)';
    } else {
      def.authn = { type: 'ids', ids };
    }
  } else {
    def.ignored = 'no client authentication configured (neither unauthenticated nor meshTLS)';
  }
  return def;
}

const HEADER_NAME_TOKEN = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;
/** What http::HeaderValue refuses: control characters but tab. */
const HEADER_VALUE_CONTROL = /[\u0000-\u0008\u000a-\u001f\u007f]/;

function readHeaderMatches(list: unknown, what: 'header' | 'query param'): { matches: HeaderMatchDef[]; problem?: string } {
  const matches: HeaderMatchDef[] = [];
  for (const raw of arr(list)) {
    const h = rec(raw);
    const name = str(h['name']) ?? '';
    const value = h['value'] === undefined ? '' : String(h['value']);
    const type = str(h['type']) ?? 'Exact';
    if (!name) return { matches, problem: `a ${what} match has no name` };
    // The policy controller parses header matches into http::HeaderName / HeaderValue
    // (routes/http.rs, routes/grpc.rs `header_match`): a name must be an RFC 7230 token, a value
    // free of control characters but tab.
    if (what === 'header' && !HEADER_NAME_TOKEN.test(name)) return { matches, problem: `header name ${JSON.stringify(name)} is not a valid HTTP header name` };
    if (what === 'header' && type !== 'RegularExpression' && HEADER_VALUE_CONTROL.test(value)) return { matches, problem: `header ${name} value has control characters` };
    const key = what === 'header' ? name.toLowerCase() : name;
    if (type === 'RegularExpression') {
      const re = AnchoredRegex.compile(value);
      if (!(re instanceof AnchoredRegex)) return { matches, problem: `${what} ${name} regular expression does not compile: ${re.error}` };
      matches.push({ name: key, regex: re, text: `${what} ${name} ~ ${value}` });
    } else {
      matches.push({ name: key, exact: value, text: `${what} ${name}: ${value}` });
    }
  }
  return { matches };
}

const DEFAULT_HTTP_ROUTE_RULES = [{ matches: [{ path: { type: 'PathPrefix', value: '/' } }] }];

function readRoute(base: Base, refs: Refs, value: Rec, group: string, kind: 'HTTPRoute' | 'GRPCRoute'): RouteDef {
  const spec = rec(value['spec']);
  const route: RouteDef = { ...base, group, kind, parents: [], hostnames: [], rules: [] };
  // Parent refs (linkerd/linkerd2:policy-controller/k8s/index/src/inbound/routes.rs): group
  // defaults to the route's own group for policy.linkerd.io routes, kind to Gateway.
  const defaultGroup = group === GATEWAY_GROUP ? GATEWAY_GROUP : POLICY_GROUP;
  for (const raw of arr(spec['parentRefs'])) {
    const p = rec(raw);
    const ref = { ...p, group: p['group'] ?? defaultGroup, kind: p['kind'] ?? 'Gateway' };
    const name = str(p['name']) ?? '';
    if (!targetsKind(ref, POLICY_GROUP, 'Server') || !name) continue;
    const ns = str(p['namespace']);
    if (ns !== undefined && ns !== base.namespace) route.ignored ??= `parentRef Server ${name} is in another namespace (${ns})`;
    else if (p['port'] !== undefined) route.ignored ??= `parentRef Server ${name} sets port`;
    else if (p['sectionName'] !== undefined) route.ignored ??= `parentRef Server ${name} sets sectionName`;
    route.parents.push(name);
  }
  for (const raw of arr(spec['hostnames'])) {
    const h = String(raw);
    if (h.startsWith('*.')) route.hostnames.push({ suffix: h.slice(2).split('.').reverse(), text: h });
    else route.hostnames.push({ exact: h, text: h });
  }
  // The API server stores an HTTPRoute written without rules with the CRDs' default rule
  // (Gateway API HTTPRouteSpec.Rules and Linkerd's policy HTTPRoute CRD: PathPrefix /); GRPCRoute
  // rules have no default.
  const rules = spec['rules'] ?? (kind === 'HTTPRoute' ? DEFAULT_HTTP_ROUTE_RULES : undefined);
  arr(rules).forEach((rawRule, ri) => {
    const r = rec(rawRule);
    const rule: RuleDef = { index: ri, matches: [], at: refs.at(['spec', 'rules', ri], `${kind} ${base.namespace}/${base.name} rules[${ri}]`) };
    if (group === POLICY_GROUP && kind === 'HTTPRoute' && r['timeouts'] !== undefined) {
      const problem = timeoutsProblem(rec(r['timeouts']));
      if (problem) route.ignored ??= `rules[${ri}].timeouts: ${problem} (rejected at admission)`;
    }
    if (group === GATEWAY_GROUP) {
      const problem = arr(r['backendRefs']).map((b) => serviceBackendProblem(rec(b))).find((x) => x !== undefined);
      if (problem) route.ignored ??= `rules[${ri}].backendRefs: ${problem} (rejected at admission)`;
    }
    for (const rawFilter of arr(r['filters'])) {
      const f = rec(rawFilter);
      const modifierProblem = headerModifierProblem(f);
      if (modifierProblem) route.ignored ??= `rules[${ri}].filters: ${modifierProblem} (rejected at admission)`;
      if (f['type'] !== 'RequestRedirect') continue;
      const redirect = rec(f['requestRedirect']);
      const problem = redirectPathProblem(redirect['path']);
      if (problem) route.ignored ??= `rules[${ri}].filters: ${problem}`;
      rule.redirect = { status: Number(redirect['statusCode'] ?? 302) };
    }
    arr(r['matches']).forEach((rawMatch, mi) => {
      const m = rec(rawMatch);
      const at = refs.at(['spec', 'rules', ri, 'matches', mi], `${kind} ${base.namespace}/${base.name} rules[${ri}].matches[${mi}]`);
      const headers = readHeaderMatches(m['headers'], 'header');
      if (headers.problem) route.ignored ??= `rules[${ri}].matches[${mi}]: ${headers.problem}`;
      const match: HttpMatchDef = { index: mi, headers: headers.matches, query: [], at, text: '' };
      const parts: string[] = [];
      if (kind === 'GRPCRoute') {
        const method = m['method'];
        if (isRec(method)) {
          if (method['type'] === 'RegularExpression') route.ignored ??= `rules[${ri}].matches[${mi}]: unsupported GRPCRoute method match type RegularExpression`;
          const service = str(method['service']);
          const name = str(method['method']);
          if (!service && !name) route.ignored ??= `rules[${ri}].matches[${mi}]: a GRPCRoute method match needs a service or a method (rejected at admission)`;
          match.grpc = { ...(service ? { service } : {}), ...(name ? { method: name } : {}) };
          parts.push(`/${service ?? '*'}/${name ?? '*'}`);
        } else {
          match.grpc = {};
        }
      } else {
        const query = readHeaderMatches(m['queryParams'], 'query param');
        if (query.problem) route.ignored ??= `rules[${ri}].matches[${mi}]: ${query.problem}`;
        match.query = query.matches;
        if (typeof m['method'] === 'string') {
          match.method = m['method'];
          parts.push(m['method']);
        }
        if (isRec(m['path'])) {
          const p = m['path'];
          const type = (str(p['type']) ?? 'PathPrefix') as 'Exact' | 'PathPrefix' | 'RegularExpression';
          const v = str(p['value']) ?? '/';
          if (type === 'RegularExpression') {
            const re = AnchoredRegex.compile(v);
            if (!(re instanceof AnchoredRegex)) route.ignored ??= `rules[${ri}].matches[${mi}].path regular expression does not compile: ${re.error}`;
            else match.path = { type, value: v, trimmed: v, regex: re };
          } else if (type === 'Exact' || type === 'PathPrefix') {
            if (!v.startsWith('/')) route.ignored ??= `rules[${ri}].matches[${mi}].path "${v}" must be absolute (start with /)`;
            match.path = { type, value: v, trimmed: v === '/' ? '/' : v.replace(/\/+$/, '') };
          } else {
            route.ignored ??= `rules[${ri}].matches[${mi}].path type ${String(type)} is not supported`;
          }
          parts.push(`${type === 'PathPrefix' ? 'prefix ' : type === 'RegularExpression' ? 'regex ' : ''}${v}`);
        }
      }
      parts.push(...match.headers.map((h) => h.text), ...match.query.map((q) => q.text));
      match.text = parts.length ? parts.join(' ') : 'every request';
      rule.matches.push(match);
    });
    route.rules.push(rule);
  });
  return route;
}

/** Why the admission webhook refuses a Gateway API HTTPRoute or GRPCRoute backend: a Service
 * (group `core`, `""` or absent; kind `Service` or absent) without a port, or with port 0
 * (policy-controller `admission.rs` `validate_http_backend_if_service`,
 * `validate_grpc_backend_if_service`; `policy-test/tests/admit_http_route_gateway.rs`). Backends
 * of other kinds are admitted whatever they say. Linkerd's own HTTPRoute is not checked this way. */
function serviceBackendProblem(backend: Rec): string | undefined {
  const group = backend['group'];
  const kind = backend['kind'];
  const isService = (group === undefined || group === 'core' || group === '') && (kind === undefined || kind === 'Service');
  if (!isService) return undefined;
  const port = backend['port'];
  return port === undefined || port === null || port === 0 ? `Service ${str(backend['name']) ?? '?'} is referenced without a port` : undefined;
}

/** A Gateway API duration (GEP-2257: one to four `<1-5 digits><h|m|s|ms>` parts, `1h30m`, `500ms`) in milliseconds, or undefined when it is not one. */
export function gatewayDuration(text: string): number | undefined {
  if (!/^([0-9]{1,5}(h|m|s|ms)){1,4}$/.test(text)) return undefined;
  const unit: Record<string, number> = { h: 3_600_000, m: 60_000, s: 1000, ms: 1 };
  let total = 0;
  for (const [, digits, u] of text.matchAll(/([0-9]+)(ms|h|m|s)/g)) total += Number(digits) * unit[u!]!;
  return total;
}

/** Why the admission webhook refuses a `policy.linkerd.io` HTTPRoute rule's `timeouts`: a value
 * that is not a duration (the spec does not deserialize) or a `backendRequest` longer than the
 * `request` timeout (policy-controller `admission.rs`, `HttpRouteSpec` `validate_timeouts`). */
function timeoutsProblem(timeouts: Rec): string | undefined {
  const read = (field: 'request' | 'backendRequest'): number | string | undefined => {
    const v = timeouts[field];
    if (v === undefined || v === null) return undefined;
    const ms = typeof v === 'string' ? gatewayDuration(v) : undefined;
    return ms ?? `${field} ${JSON.stringify(v)} is not a duration`;
  };
  const request = read('request');
  const backend = read('backendRequest');
  if (typeof request === 'string') return request;
  if (typeof backend === 'string') return backend;
  if (request !== undefined && backend !== undefined && backend > request) {
    return `backendRequest timeout (${String(timeouts['backendRequest'])}) must not be greater than request timeout (${String(timeouts['request'])})`;
  }
  return undefined;
}

/** Why a RequestHeaderModifier / ResponseHeaderModifier filter does not parse: the policy
 * controller reads every `add` / `set` name into http::HeaderName and value into HeaderValue, and
 * every `remove` into a HeaderName (routes/http.rs, routes/grpc.rs `request_header_modifier`,
 * `response_header_modifier`); the webhook refuses the route, the indexer could not read it. */
function headerModifierProblem(filter: Rec): string | undefined {
  for (const field of ['requestHeaderModifier', 'responseHeaderModifier'] as const) {
    const modifier = rec(filter[field]);
    for (const list of ['add', 'set'] as const) {
      for (const raw of arr(modifier[list])) {
        const h = rec(raw);
        const name = str(h['name']) ?? '';
        if (!HEADER_NAME_TOKEN.test(name)) return `${field}.${list} header name ${JSON.stringify(name)} is not a valid HTTP header name`;
        if (HEADER_VALUE_CONTROL.test(String(h['value'] ?? ''))) return `${field}.${list} header ${name} value has control characters`;
      }
    }
    for (const raw of arr(modifier['remove'])) {
      if (!HEADER_NAME_TOKEN.test(String(raw))) return `${field}.remove header name ${JSON.stringify(String(raw))} is not a valid HTTP header name`;
    }
  }
  return undefined;
}

/** Why a RequestRedirect path modifier makes the route unusable (routes/http.rs
 * `path_modifier`: the admission webhook and the indexer both refuse it), or undefined. */
function redirectPathProblem(path: unknown): string | undefined {
  if (path === undefined) return undefined;
  const p = rec(path);
  const replacement = str(p['replaceFullPath']) ?? str(p['replacePrefixMatch']);
  if (replacement === undefined) return 'a RequestRedirect path needs replaceFullPath or replacePrefixMatch';
  if (!replacement.startsWith('/')) return `RequestRedirect path "${replacement}" must be absolute (start with /)`;
  return undefined;
}

type KindDef =
  | { kind: 'Server'; def: ServerDef }
  | { kind: 'AuthorizationPolicy'; def: PolicyDef }
  | { kind: 'MeshTLSAuthentication'; def: MeshTLSDef }
  | { kind: 'NetworkAuthentication'; def: NetworkDef }
  | { kind: 'ServerAuthorization'; def: ServerAuthorizationDef }
  | { kind: 'Route'; def: RouteDef };

type ReadDef = KindDef & {
  /** Group, kind, namespace and name: an object written twice counts once. */
  identity: string;
  /** `namespace/name`, as authentications are referred to. */
  qualifiedName: string;
};

/** One resource read into its definition. It depends on the resource's text and place alone
 * (its refs are line/character ranges), so a compile may take it over (`CompiledForms`), at
 * another line too once its refs are moved (`refsOfDef`). */
function readDef(file: SourceFile, resource: Resource, cluster: ClusterIdentity): ReadDef | undefined {
  const value = resourceValue(resource);
  const namespace = resource.namespace ?? 'default';
  const name = resource.name ?? '';
  const names = { identity: `${resource.entry.group ?? ''}/${resource.kind}/${namespace}/${name}`, qualifiedName: `${namespace}/${name}` };
  const refs = new Refs(file, resource.node);
  const label = `${resource.kind} ${namespace}/${name}`;
  const ts = timestampOf(value);
  const dropped = installedCrdDrops(resource);
  const base: Base = { namespace, name, at: refs.at([], label), ...(ts ? { timestamp: ts } : {}), ...(dropped.length ? { dropped } : {}) };
  const read = readKind(resource, base, refs, value, cluster);
  if (read && read.def.rejected === undefined) {
    // Refused for its CRD schema alone (a wrong type, a list too long ...): the first reason.
    const [refusal] = admissionRefusals(file, resource);
    if (refusal !== undefined) read.def.rejected = refusal;
  }
  return read && { ...read, ...names };
}

function readKind(resource: Resource, base: Base, refs: Refs, value: Rec, cluster: ClusterIdentity): KindDef | undefined {
  switch (resource.kind) {
    case 'Server': return { kind: 'Server', def: readServer(base, value) };
    case 'AuthorizationPolicy': return { kind: 'AuthorizationPolicy', def: readPolicy(base, refs, value) };
    case 'MeshTLSAuthentication': return { kind: 'MeshTLSAuthentication', def: readMeshTLS(base, value, cluster) };
    case 'NetworkAuthentication': return { kind: 'NetworkAuthentication', def: readNetwork(base, value) };
    case 'ServerAuthorization': return { kind: 'ServerAuthorization', def: readServerAuthorization(base, value, cluster) };
    case 'HTTPRoute':
    case 'GRPCRoute': return { kind: 'Route', def: readRoute(base, refs, value, resource.entry.group ?? '', resource.kind) };
    default: return undefined;
  }
}

/** Every source ref a definition holds: each one's own (nothing else makes refs from it later). */
function* refsOfDef(read: ReadDef | undefined): Iterable<SourceRef> {
  if (!read) return;
  yield read.def.at;
  switch (read.kind) {
    case 'AuthorizationPolicy': for (const authn of read.def.authns) yield authn.at; break;
    case 'Route':
      for (const rule of read.def.rules) {
        yield rule.at;
        for (const match of rule.matches) if (match.at) yield match.at;
      }
      break;
  }
}
const MOVE_DEF = movingRefs(refsOfDef);

/** Reads every Linkerd resource. Objects written twice (the same kind, group, namespace and
 * name in several files or versions) count once: the first one read. With `forms`, resources
 * whose text and place did not change since the last compile keep their definitions (and the
 * names they are indexed by), and so do those that only moved to another line, their refs moved. */
export function readResources(resources: ReadonlyArray<{ file: SourceFile; resource: Resource }>, cluster: ClusterIdentity, forms?: CompiledForms): ResourceIndex {
  const index: ResourceIndex = { servers: new Map(), serverAuthorizations: new Map(), policies: new Map(), meshTLS: new Map(), networks: new Map(), routes: new Map(), all: [] };
  const seen = new Set<string>();
  const variant = `linkerd\u0000${cluster.trustDomain}\u0000${cluster.controlPlaneNamespace}`;
  for (const { file, resource } of resources) {
    if (resource.mesh !== 'linkerd') continue;
    const read = forms ? forms.get(file, resource, variant, () => readDef(file, resource, cluster), MOVE_DEF) : readDef(file, resource, cluster);
    if (!read || seen.has(read.identity)) continue;
    seen.add(read.identity);
    const namespace = read.def.namespace;
    index.all.push(read.def);
    switch (read.kind) {
      case 'Server': push(index.servers, namespace, read.def); break;
      case 'AuthorizationPolicy': push(index.policies, namespace, read.def); break;
      case 'MeshTLSAuthentication': index.meshTLS.set(read.qualifiedName, read.def); break;
      case 'NetworkAuthentication': index.networks.set(read.qualifiedName, read.def); break;
      case 'ServerAuthorization': push(index.serverAuthorizations, namespace, read.def); break;
      case 'Route': push(index.routes, namespace, read.def); break;
    }
  }
  for (const list of index.servers.values()) list.sort(byAge);
  for (const list of index.routes.values()) list.sort(routeOrder);
  for (const list of index.serverAuthorizations.values()) list.sort(byAge);
  for (const list of index.policies.values()) list.sort(byAge);
  return index;
}


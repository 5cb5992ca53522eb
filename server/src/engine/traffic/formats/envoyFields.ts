import type { AccessRecord, DryRunEngineResult } from '../accessRecord';
import type { LinePeek, ParsedLine } from '../readerTypes';
import type { Mesh } from '../../meshes';
import { copyString } from '../../strings';
import { addressIp, addressPort, hashKeyParts, httpProtocol, isGrpcUserAgent, isKeyMarker, normalizeTime, parsePort, parseStatus } from './common';
import { DENIAL_JWT, DENIAL_NONE, DENIAL_RBAC, denialOf, isRbacDenial, istioDeniedBy, istioPolicyOfId, type DenialKind } from './denial';
import {
  consulPrincipal,
  fillConsulParts,
  fillConsulServiceName,
  fillIstioParts,
  fillIstioServiceHost,
  istioPrincipal,
} from './identity';

/**
 * The Envoy field model shared by the Envoy text, Envoy JSON and Consul JSON readers: one slot
 * per Envoy command operator that maps onto an access record field (spec §6), filled by a
 * reader from a line, then turned into a record by `buildEnvoyRecord`. Slots hold the value
 * as text, or undefined for Envoy's empty values (`-`, `""`, null).
 */
export const F = {
  START_TIME: 0,
  METHOD: 1,
  PATH: 2,
  PROTOCOL: 3,
  RESPONSE_CODE: 4,
  RESPONSE_FLAGS: 5,
  RESPONSE_CODE_DETAILS: 6,
  CONNECTION_TERMINATION_DETAILS: 7,
  REQUEST_ID: 8,
  AUTHORITY: 9,
  UPSTREAM_HOST: 10,
  UPSTREAM_CLUSTER: 11,
  DOWNSTREAM_LOCAL_ADDRESS: 12,
  DOWNSTREAM_REMOTE_ADDRESS: 13,
  DOWNSTREAM_DIRECT_REMOTE_ADDRESS: 14,
  DOWNSTREAM_LOCAL_PORT: 15,
  REQUESTED_SERVER_NAME: 16,
  DOWNSTREAM_PEER_URI_SAN: 17,
  UPSTREAM_PEER_URI_SAN: 18,
  DOWNSTREAM_LOCAL_URI_SAN: 19,
  USER_AGENT: 20,
  X_FORWARDED_FOR: 21,
  CONTENT_TYPE: 22,
  GRPC_STATUS: 23,
  SOURCE_WORKLOAD: 24,
  SOURCE_NAMESPACE: 25,
  DESTINATION_WORKLOAD: 26,
  DESTINATION_NAMESPACE: 27,
  /** JSON only: a shipper's `kubernetes` object merged into the line (Fluent Bit Merge_Log). */
  KUBERNETES: 28,
  /** Istio dry-run results from the HTTP RBAC filter's dynamic metadata (DRY_RUN_METADATA). */
  DRY_RUN_ALLOW_RESULT: 29,
  DRY_RUN_ALLOW_POLICY: 30,
  DRY_RUN_DENY_RESULT: 31,
  DRY_RUN_DENY_POLICY: 32,
  /** The same from the network (TCP) RBAC filter's: a format may log both, one for each kind of listener. */
  TCP_DRY_RUN_ALLOW_RESULT: 33,
  TCP_DRY_RUN_ALLOW_POLICY: 34,
  TCP_DRY_RUN_DENY_RESULT: 35,
  TCP_DRY_RUN_DENY_POLICY: 36,
} as const;

/** Slots 0..SLOT_COUNT-1 are the fixed ones; request headers named in a custom format follow. */
export const SLOT_COUNT = 37;

/** An operator's target: a fixed slot, a request header to keep, or nothing. */
export type OperatorTarget = { slot: number } | { header: string } | undefined;

const REQUEST_HEADER_SLOTS: Record<string, number> = {
  ':method': F.METHOD,
  ':path': F.PATH,
  ':authority': F.AUTHORITY,
  host: F.AUTHORITY,
  'x-request-id': F.REQUEST_ID,
  'user-agent': F.USER_AGENT,
  'x-forwarded-for': F.X_FORWARDED_FOR,
  'content-type': F.CONTENT_TYPE,
};

const PLAIN_OPERATORS: Record<string, number> = {
  START_TIME: F.START_TIME,
  PROTOCOL: F.PROTOCOL,
  RESPONSE_CODE: F.RESPONSE_CODE,
  RESPONSE_FLAGS: F.RESPONSE_FLAGS,
  RESPONSE_FLAGS_LONG: F.RESPONSE_FLAGS,
  RESPONSE_CODE_DETAILS: F.RESPONSE_CODE_DETAILS,
  CONNECTION_TERMINATION_DETAILS: F.CONNECTION_TERMINATION_DETAILS,
  UPSTREAM_HOST: F.UPSTREAM_HOST,
  UPSTREAM_REMOTE_ADDRESS: F.UPSTREAM_HOST,
  UPSTREAM_CLUSTER: F.UPSTREAM_CLUSTER,
  UPSTREAM_CLUSTER_RAW: F.UPSTREAM_CLUSTER,
  DOWNSTREAM_LOCAL_ADDRESS: F.DOWNSTREAM_LOCAL_ADDRESS,
  DOWNSTREAM_LOCAL_ADDRESS_WITHOUT_PORT: F.DOWNSTREAM_LOCAL_ADDRESS,
  DOWNSTREAM_LOCAL_PORT: F.DOWNSTREAM_LOCAL_PORT,
  DOWNSTREAM_REMOTE_ADDRESS: F.DOWNSTREAM_REMOTE_ADDRESS,
  DOWNSTREAM_REMOTE_ADDRESS_WITHOUT_PORT: F.DOWNSTREAM_REMOTE_ADDRESS,
  DOWNSTREAM_DIRECT_REMOTE_ADDRESS: F.DOWNSTREAM_DIRECT_REMOTE_ADDRESS,
  DOWNSTREAM_DIRECT_REMOTE_ADDRESS_WITHOUT_PORT: F.DOWNSTREAM_DIRECT_REMOTE_ADDRESS,
  REQUESTED_SERVER_NAME: F.REQUESTED_SERVER_NAME,
  DOWNSTREAM_PEER_URI_SAN: F.DOWNSTREAM_PEER_URI_SAN,
  UPSTREAM_PEER_URI_SAN: F.UPSTREAM_PEER_URI_SAN,
  DOWNSTREAM_LOCAL_URI_SAN: F.DOWNSTREAM_LOCAL_URI_SAN,
  GRPC_STATUS: F.GRPC_STATUS,
  GRPC_STATUS_NUMBER: F.GRPC_STATUS,
};

const PEER_FIELDS: Record<string, number> = {
  'downstream_peer.workload': F.SOURCE_WORKLOAD,
  'downstream_peer.namespace': F.SOURCE_NAMESPACE,
  'upstream_peer.workload': F.DESTINATION_WORKLOAD,
  'upstream_peer.namespace': F.DESTINATION_NAMESPACE,
};

/**
 * The dynamic metadata of Istio's dry-run policies. istiod puts them into the shadow rules of the
 * RBAC filter of their action, with the shadow rules stat prefix `istio_dry_run_allow_` or
 * `istio_dry_run_deny_` (istio pilot/pkg/security/authz/model/model.go,
 * `RBACShadowRulesAllowStatPrefix`; builder/builder.go `shadowRuleStatPrefix`). Envoy's RBAC
 * filters write the shadow engine's result (`allowed` or `denied`) and the id of the shadow policy
 * that matched (absent when none did) under that prefix, in the filter's metadata namespace
 * (envoy source/extensions/filters/http/rbac/rbac_filter.h `shadowEngineResultField`,
 * `shadowEffectivePolicyIdField`; network/rbac/rbac_filter.cc `setDynamicMetadata`).
 */
const DRY_RUN_METADATA: Readonly<Record<string, number>> = {
  'envoy.filters.http.rbac:istio_dry_run_allow_shadow_engine_result': F.DRY_RUN_ALLOW_RESULT,
  'envoy.filters.http.rbac:istio_dry_run_allow_shadow_effective_policy_id': F.DRY_RUN_ALLOW_POLICY,
  'envoy.filters.http.rbac:istio_dry_run_deny_shadow_engine_result': F.DRY_RUN_DENY_RESULT,
  'envoy.filters.http.rbac:istio_dry_run_deny_shadow_effective_policy_id': F.DRY_RUN_DENY_POLICY,
  'envoy.filters.network.rbac:istio_dry_run_allow_shadow_engine_result': F.TCP_DRY_RUN_ALLOW_RESULT,
  'envoy.filters.network.rbac:istio_dry_run_allow_shadow_effective_policy_id': F.TCP_DRY_RUN_ALLOW_POLICY,
  'envoy.filters.network.rbac:istio_dry_run_deny_shadow_engine_result': F.TCP_DRY_RUN_DENY_RESULT,
  'envoy.filters.network.rbac:istio_dry_run_deny_shadow_effective_policy_id': F.TCP_DRY_RUN_DENY_POLICY,
};

/**
 * Maps one command operator (the text between the `%`s, e.g. `REQ(X-ENVOY-ORIGINAL-PATH?:PATH):64`)
 * to its slot, by name:
 * - `REQ(h)`: `:method`, `:path`, `:authority`/`host`, `x-request-id`, `user-agent`,
 *   `x-forwarded-for`, `content-type` have slots; any other header is kept under its name in
 *   `request.headers`. `REQ(a?b)` maps only when `:path` is one of them (the path), both name
 *   one field (`:authority?host`) or `a` is `x-request-id`. `REQ_WITHOUT_QUERY(:path)` fills the
 *   path too (without its query: that is what the line holds).
 * - `RESP(grpc-status)`, `TRAILER(grpc-status)`, `GRPC_STATUS[_NUMBER]`: the gRPC status.
 * - `FILTER_STATE(downstream_peer[_obj]:FIELD:workload|namespace)` and the upstream_peer twin,
 *   `CEL(filter_state.downstream_peer.workload)` and the like: Istio's peer metadata.
 * - `CEL(source.principal)` / `CEL(connection.uri_san_peer_certificate)`: the peer identity.
 * - `DYNAMIC_METADATA(envoy.filters.http.rbac:istio_dry_run_…)` (or `METADATA(DYNAMIC:…)`) and the
 *   `envoy.filters.network.rbac` twins: Istio's dry-run results (DRY_RUN_METADATA).
 * - the plain operators in PLAIN_OPERATORS. Everything else (bytes, durations, ...) is ignored.
 */
export function operatorTarget(operator: string): OperatorTarget {
  let op = operator;
  // A trailing `:N` length limit.
  const close = op.lastIndexOf(')');
  const limit = op.lastIndexOf(':');
  if (limit > close && /^\d+$/.test(op.slice(limit + 1))) op = op.slice(0, limit);
  const open = op.indexOf('(');
  const name = open < 0 ? op : op.slice(0, open);
  const arg = open < 0 ? '' : op.slice(open + 1, op.endsWith(')') ? -1 : op.length);
  if (open < 0 || name === 'START_TIME') {
    const slot = PLAIN_OPERATORS[name];
    return slot === undefined ? undefined : { slot };
  }
  switch (name) {
    case 'REQ':
    case 'REQ_WITHOUT_QUERY': {
      const names = arg.toLowerCase().split('?');
      if (names.includes(':path')) return { slot: F.PATH };
      if (name === 'REQ_WITHOUT_QUERY') return undefined;
      const slot = REQUEST_HEADER_SLOTS[names[0]!];
      // `REQ(a?b)` logs b's value when a is absent: a value is not known to be a's (nor b's),
      // unless both name one field (`:authority?host`), or it is the request id, which only
      // pairs the two sides' lines.
      if (names.length > 1 && slot !== F.REQUEST_ID && !names.every((n) => REQUEST_HEADER_SLOTS[n] === slot && slot !== undefined)) return undefined;
      if (slot !== undefined) return { slot };
      const header = names[0]!;
      return header.length === 0 || header.startsWith(':') ? undefined : { header };
    }
    case 'RESP':
    case 'TRAILER':
      return arg.toLowerCase() === 'grpc-status' ? { slot: F.GRPC_STATUS } : undefined;
    case 'GRPC_STATUS':
      return { slot: F.GRPC_STATUS };
    case 'FILTER_STATE': {
      const parts = arg.split(':');
      const key = (parts[0] ?? '').replace(/_obj$/, '');
      const field = parts[1] === 'FIELD' ? parts[2] : undefined;
      const slot = field === undefined ? undefined : PEER_FIELDS[`${key}.${field}`];
      return slot === undefined ? undefined : { slot };
    }
    case 'DYNAMIC_METADATA':
    case 'METADATA': {
      // (`METADATA(DYNAMIC:…)`: the same, through the envoy.formatter.metadata extension)
      const key = name === 'DYNAMIC_METADATA' ? arg : arg.startsWith('DYNAMIC:') ? arg.slice('DYNAMIC:'.length) : '';
      const slot = DRY_RUN_METADATA[key];
      return slot === undefined ? undefined : { slot };
    }
    case 'CEL': {
      const expr = arg.trim();
      if (expr === 'source.principal' || expr === 'connection.uri_san_peer_certificate') return { slot: F.DOWNSTREAM_PEER_URI_SAN };
      if (expr === 'connection.requested_server_name') return { slot: F.REQUESTED_SERVER_NAME };
      const slot = expr.startsWith('filter_state.') ? PEER_FIELDS[expr.slice('filter_state.'.length)] : undefined;
      return slot === undefined ? undefined : { slot };
    }
    default:
      return undefined;
  }
}

/**
 * Keys of Istio's and Consul's default JSON access log (spec §2.1, §5.1), plus the identity
 * labels the docs recommend adding to it (`source_principal`, ...) and snake_case names of the
 * other mapped operators, so that a JSON line with any of them is read without configuration.
 */
export const DEFAULT_JSON_KEYS: ReadonlyArray<readonly [string, number]> = [
  ['start_time', F.START_TIME],
  ['method', F.METHOD],
  ['path', F.PATH],
  ['protocol', F.PROTOCOL],
  ['response_code', F.RESPONSE_CODE],
  ['response_flags', F.RESPONSE_FLAGS],
  ['response_code_details', F.RESPONSE_CODE_DETAILS],
  ['connection_termination_details', F.CONNECTION_TERMINATION_DETAILS],
  ['request_id', F.REQUEST_ID],
  ['authority', F.AUTHORITY],
  ['upstream_host', F.UPSTREAM_HOST],
  ['upstream_cluster', F.UPSTREAM_CLUSTER],
  ['downstream_local_address', F.DOWNSTREAM_LOCAL_ADDRESS],
  ['downstream_remote_address', F.DOWNSTREAM_REMOTE_ADDRESS],
  ['requested_server_name', F.REQUESTED_SERVER_NAME],
  ['user_agent', F.USER_AGENT],
  ['x_forwarded_for', F.X_FORWARDED_FOR],
  ['source_principal', F.DOWNSTREAM_PEER_URI_SAN],
  ['source_workload', F.SOURCE_WORKLOAD],
  ['source_namespace', F.SOURCE_NAMESPACE],
  ['destination_principal', F.DOWNSTREAM_LOCAL_URI_SAN],
  ['destination_workload', F.DESTINATION_WORKLOAD],
  ['destination_namespace', F.DESTINATION_NAMESPACE],
  ['sni', F.REQUESTED_SERVER_NAME],
  ['downstream_peer_uri_san', F.DOWNSTREAM_PEER_URI_SAN],
  ['upstream_peer_uri_san', F.UPSTREAM_PEER_URI_SAN],
  ['downstream_local_uri_san', F.DOWNSTREAM_LOCAL_URI_SAN],
  ['downstream_direct_remote_address', F.DOWNSTREAM_DIRECT_REMOTE_ADDRESS],
  ['upstream_cluster_raw', F.UPSTREAM_CLUSTER],
  ['x_request_id', F.REQUEST_ID],
  ['content_type', F.CONTENT_TYPE],
  ['grpc_status', F.GRPC_STATUS],
  ['kubernetes', F.KUBERNETES],
  // Istio's dry-run results under the names of their metadata keys (HTTP), and with `tcp_` before
  // them (the network filter's), as the configuration in docs/access-records.md logs them.
  ['istio_dry_run_allow_shadow_engine_result', F.DRY_RUN_ALLOW_RESULT],
  ['istio_dry_run_allow_shadow_effective_policy_id', F.DRY_RUN_ALLOW_POLICY],
  ['istio_dry_run_deny_shadow_engine_result', F.DRY_RUN_DENY_RESULT],
  ['istio_dry_run_deny_shadow_effective_policy_id', F.DRY_RUN_DENY_POLICY],
  ['tcp_istio_dry_run_allow_shadow_engine_result', F.TCP_DRY_RUN_ALLOW_RESULT],
  ['tcp_istio_dry_run_allow_shadow_effective_policy_id', F.TCP_DRY_RUN_ALLOW_POLICY],
  ['tcp_istio_dry_run_deny_shadow_engine_result', F.TCP_DRY_RUN_DENY_RESULT],
  ['tcp_istio_dry_run_deny_shadow_effective_policy_id', F.TCP_DRY_RUN_DENY_POLICY],
];

/** A JSON value as a slot's text: null, "" and "-" (Envoy's empty values) are undefined. */
export function slotText(value: unknown): string | undefined {
  if (value === null || value === undefined) return undefined;
  if (typeof value === 'string') return value === '' || value === '-' ? undefined : value;
  return typeof value === 'object' ? JSON.stringify(value) : String(value);
}

/** The slot of each access log field that can be given beside a line: the default JSON keys, but the shipper's `kubernetes`. */
const FIELD_SLOTS: ReadonlyMap<string, number> = new Map(DEFAULT_JSON_KEYS.filter(([key]) => key !== 'kubernetes'));

/** Whether a name is that of an access log field that `mergeFields` reads (a default JSON key). */
export function isAccessLogField(name: string): boolean {
  return FIELD_SLOTS.has(name);
}

/**
 * Access log fields given beside a line (an OTLP record's attributes, Istio's `logFormat.labels`
 * under `envoyOtelAls`), by their JSON key, merged into the slots the line filled: a field with a
 * value wins over the line's; an empty one (null, "" or "-") was logged empty, so it marks the
 * field as logged and leaves a value the line has. Names that are no such field are not read.
 * `seen` is written: it must be the line's own copy.
 */
export function mergeFields(values: (string | undefined)[], seen: Uint8Array, fields: Readonly<Record<string, unknown>>): void {
  for (const name in fields) {
    const slot = FIELD_SLOTS.get(name);
    if (slot === undefined) continue;
    const text = slotText(fields[name]);
    if (text !== undefined) values[slot] = text;
    seen[slot] = 1;
  }
}

/**
 * `%RESPONSE_FLAGS_LONG%` names → the short flags `response.flags` holds (Envoy
 * source/common/stream_info/utility.h, ResponseFlagUtils::CORE_RESPONSE_FLAGS).
 */
const SHORT_RESPONSE_FLAGS: ReadonlyMap<string, string> = new Map(Object.entries({
  FailedLocalHealthCheck: 'LH',
  NoHealthyUpstream: 'UH',
  UpstreamRequestTimeout: 'UT',
  LocalReset: 'LR',
  UpstreamRemoteReset: 'UR',
  UpstreamConnectionFailure: 'UF',
  UpstreamConnectionTermination: 'UC',
  UpstreamOverflow: 'UO',
  NoRouteFound: 'NR',
  DelayInjected: 'DI',
  FaultInjected: 'FI',
  RateLimited: 'RL',
  UnauthorizedExternalService: 'UAEX',
  RateLimitServiceError: 'RLSE',
  DownstreamConnectionTermination: 'DC',
  UpstreamRetryLimitExceeded: 'URX',
  StreamIdleTimeout: 'SI',
  InvalidEnvoyRequestHeaders: 'IH',
  DownstreamProtocolError: 'DPE',
  UpstreamMaxStreamDurationReached: 'UMSDR',
  ResponseFromCacheFilter: 'RFCF',
  NoFilterConfigFound: 'NFCF',
  DurationTimeout: 'DT',
  UpstreamProtocolError: 'UPE',
  NoClusterFound: 'NC',
  OverloadManagerTerminated: 'OM',
  DnsResolutionFailed: 'DF',
  DropOverload: 'DO',
  DownstreamRemoteReset: 'DR',
}));

const LOWER_CASE = /[a-z]/;

/** Short flags as they are; long ones (PascalCase) as their short forms, an unknown name kept. */
export function shortResponseFlags(flags: string): string {
  if (!LOWER_CASE.test(flags)) return flags;
  return flags
    .split(',')
    .map((flag) => SHORT_RESPONSE_FLAGS.get(flag.trim()) ?? flag.trim())
    .join(',');
}

/** Slots whose presence says the line is an HTTP or TCP access log line at all. */
const REQUEST_SHAPE_SLOTS = [F.METHOD, F.PATH, F.PROTOCOL] as const;

export const GAP_NO_IDENTITY_FIELD = 'the log format has no peer identity field (add %DOWNSTREAM_PEER_URI_SAN%)';
export const GAP_CLIENT_SIDE = 'client-side line: the caller is the workload that wrote it';

type Side = ParsedLine['side'];
type Source = NonNullable<AccessRecord['source']>;
type Destination = NonNullable<AccessRecord['destination']>;

function endsConsul(s: string): boolean {
  return s.charCodeAt(s.length - 1) === 108 /* l */ && s.endsWith('.consul');
}

/** The `port` and `host` fields of `inbound|port||` / `outbound|port|subset|host`. */
function clusterField(cluster: string, index: number): string | undefined {
  let start = 0;
  for (let i = 0; i < index; i++) {
    const bar = cluster.indexOf('|', start);
    if (bar < 0) return undefined;
    start = bar + 1;
  }
  const end = cluster.indexOf('|', start);
  const value = cluster.slice(start, end < 0 ? cluster.length : end);
  return value.length === 0 ? undefined : value;
}

interface ServiceParts {
  service?: string;
  namespace?: string;
  port?: number;
}

/** What a cluster name or an SNI says, read once per distinct value (they repeat line after line). */
interface NameInfo {
  /** Clusters: the name without a `;` alt stat name, or undefined when nothing is left. */
  name: string | undefined;
  /** Consul's shape: `local_app`, `passthrough~...`, a `*.consul` mesh name. */
  consulShape: boolean;
  istioSide: Side;
  /** Istio: a cluster of an ambient waypoint's internal listener (`inbound-vip|…`, `encap`): the line is the waypoint's. */
  waypoint: boolean;
  /** Istio: `inbound-vip|…`, whose destination pod is the upstream host (the downstream local address is the Service's VIP). */
  waypointVip: boolean;
  consulSide: Side;
  /** Istio: the service host and port of `outbound|port|subset|host`, the port of `inbound|port||`, the host of an `outbound_.` SNI. */
  istio: ServiceParts;
  /** Consul: the service and namespace of a mesh name. */
  consul: ServiceParts;
}

/**
 * A bounded memo of string → derived value. Cluster names, SNIs and pod addresses repeat line
 * after line, so most lookups hit. When a full memo had fewer hits than entries (values that do
 * not repeat), it stands aside for a while: a miss costs more than computing the value.
 */
class Memo<V> {
  private readonly map = new Map<string, V>();
  private hits = 0;
  private bypass = 0;
  constructor(private readonly compute: (key: string) => V) {}
  get(key: string): V {
    if (this.bypass > 0) {
      this.bypass--;
      return this.compute(key);
    }
    let value = this.map.get(key);
    if (value !== undefined) {
      this.hits++;
      return value;
    }
    if (this.map.size >= MEMO_SIZE) {
      if (this.hits < MEMO_SIZE) this.bypass = MEMO_BYPASS;
      this.map.clear();
      this.hits = 0;
    }
    // (a key cut out of a line, and the values cut out of it, would keep the line's whole chunk of
    // input alive for as long as the entry: the memo is the module's, it outlives the read)
    const kept = copyString(key);
    value = this.compute(kept);
    this.map.set(kept, value);
    return value;
  }
}

/**
 * Clusters of an ambient waypoint's internal listener (Istio pilot/pkg/networking/core
 * cluster_waypoint.go, listener_waypoint.go): `inbound-vip|<port>|<http|tcp>[/<subset>]|<host>`
 * for a call to a Service's VIP, `encap` for a call addressed to a pod directly.
 */
const WAYPOINT_VIP_PREFIX = 'inbound-vip|';
const WAYPOINT_DIRECT_CLUSTER = 'encap';
/** A waypoint's upstream host is the connect_originate internal listener's address: `envoy://connect_originate/<pod ip>:<target port>`. */
const INTERNAL_ADDRESS = /^envoy:\/\/[^/]*\//;

const MEMO_SIZE = 2048;
const MEMO_BYPASS = 100_000;

function clusterInfo(raw: string): NameInfo {
  // `%UPSTREAM_CLUSTER%` may carry a `;`-separated alt stat name (`%UPSTREAM_CLUSTER_RAW%` never does).
  const semi = raw.indexOf(';');
  const name = semi < 0 ? raw : semi === 0 ? undefined : raw.slice(0, semi);
  const info: NameInfo = { name, consulShape: false, istioSide: 'unknown', consulSide: 'unknown', waypoint: false, waypointVip: false, istio: {}, consul: {} };
  if (name === undefined) return info;
  info.consulShape = name === 'local_app' || endsConsul(name) || name.startsWith('passthrough~');
  if (name === 'local_app') info.consulSide = 'inbound';
  else if (endsConsul(name) || name.startsWith('passthrough~') || name === 'original-destination') info.consulSide = 'outbound';
  fillConsulServiceName(info.consul, name);
  if (name.startsWith('inbound|') || name.startsWith('InboundPassthroughCluster')) info.istioSide = 'inbound';
  else if (name.startsWith('outbound|') || name === 'PassthroughCluster' || name === 'BlackHoleCluster') info.istioSide = 'outbound';
  if (name.startsWith('outbound|')) {
    const host = clusterField(name, 3);
    if (host !== undefined) fillIstioServiceHost(info.istio, host);
  }
  if (name.startsWith(WAYPOINT_VIP_PREFIX) || name === WAYPOINT_DIRECT_CLUSTER) {
    // A waypoint enforces the policies of the Service (or pod) it fronts: the server side of the call.
    info.istioSide = 'inbound';
    info.waypoint = true;
  }
  if (name.startsWith(WAYPOINT_VIP_PREFIX)) {
    // inbound-vip|<service port>|<http|tcp>[/<subset>]|<host>: the port is the Service's, not the pod's.
    info.waypointVip = true;
    const host = clusterField(name, 3);
    if (host !== undefined) fillIstioServiceHost(info.istio, host);
  }
  if (name.startsWith('outbound|') || name.startsWith('inbound|')) {
    const port = clusterField(name, 1);
    const n = port === undefined ? undefined : parsePort(port, 0, port.length);
    if (n !== undefined) info.istio.port = n;
  }
  return info;
}

function sniInfo(sni: string): NameInfo {
  const info: NameInfo = { name: sni, consulShape: endsConsul(sni), istioSide: 'unknown', consulSide: 'unknown', waypoint: false, waypointVip: false, istio: {}, consul: {} };
  // Only server-side listeners see the mesh's mTLS SNI.
  if (info.consulShape) {
    info.consulSide = 'inbound';
    fillConsulServiceName(info.consul, sni);
  }
  if (sni.startsWith('outbound_.')) {
    info.istioSide = 'inbound';
    // outbound_.<port>_.<subset>_.<host>
    const hostStart = sni.indexOf('_.', sni.indexOf('_.', 10) + 2);
    if (hostStart > 0) fillIstioServiceHost(info.istio, sni.slice(hostStart + 2));
  }
  return info;
}

interface AddressInfo {
  ip: string | undefined;
  port: number | undefined;
}

function addressInfo(address: string): AddressInfo {
  // (most addresses are a pod's ip:port: the internal-listener form is tested only when it can be one)
  const internal = address.startsWith('envoy://') ? INTERNAL_ADDRESS.exec(address) : null;
  const target = internal === null ? address : address.slice(internal[0].length);
  return { ip: addressIp(target), port: addressPort(target) };
}

const clusters = new Memo(clusterInfo);
const snis = new Memo(sniInfo);
const addresses = new Memo(addressInfo);

/** Destination ip and port from a pod or upstream address (addresses of pods repeat; memoized). */
function fillAddress(target: Destination, address: string): void {
  const a = addresses.get(address);
  if (a.ip !== undefined) target.ip = a.ip;
  if (a.port !== undefined) target.port = a.port;
}

function fillService(target: Destination, parts: ServiceParts): void {
  if (parts.service !== undefined) target.service = parts.service;
  if (parts.namespace !== undefined) target.namespace = parts.namespace;
}

interface Classification {
  cluster: NameInfo | undefined;
  sni: NameInfo | undefined;
  mesh: Mesh;
  denial: DenialKind;
  side: Side;
}

/** One object reused line after line (readers run on one thread and never re-enter). */
const classification: Classification = { cluster: undefined, sni: undefined, mesh: 'istio', denial: DENIAL_NONE, side: 'unknown' };

/** Mesh, denial and proxy side of a line, from its cluster, SNI and details. */
function classify(v: ReadonlyArray<string | undefined>, meshOption: Mesh | undefined): Classification {
  const c = classification;
  const clusterRaw = v[F.UPSTREAM_CLUSTER];
  const ci = clusterRaw === undefined ? undefined : clusters.get(clusterRaw);
  const cluster = ci === undefined ? undefined : ci.name;
  const sni = v[F.REQUESTED_SERVER_NAME];
  const si = sni === undefined ? undefined : snis.get(sni);
  const mesh: Mesh = meshOption ?? ((cluster !== undefined && ci!.consulShape) || (si !== undefined && si.consulShape) ? 'consul' : 'istio');
  const consul = mesh === 'consul';
  const denial = denialOf(v[F.RESPONSE_CODE_DETAILS], v[F.CONNECTION_TERMINATION_DETAILS], v[F.RESPONSE_FLAGS]);
  let side: Side = cluster !== undefined ? (consul ? ci!.consulSide : ci!.istioSide) : si !== undefined ? (consul ? si.consulSide : si.istioSide) : 'unknown';
  // A request refused before any cluster was picked was refused by the server side.
  if (side === 'unknown' && cluster === undefined && denial !== DENIAL_NONE) side = 'inbound';
  c.cluster = ci;
  c.sni = si;
  c.mesh = mesh;
  c.denial = denial;
  c.side = side;
  return c;
}

/** Where a line key (peekEnvoyRecord) holds the request's method, host and path (LineReader.hopParts). */
export const ENVOY_HOP_PARTS = [F.METHOD, F.AUTHORITY, F.PATH] as const;

const NO_VALUE = '\u0000';
const NO_IP = '\u0002';

/**
 * The fast path of `buildEnvoyRecord` (LineReader.peek): the line's key is its slot values but
 * the time and the request id, with the downstream (remote) addresses cut to their IP, which is
 * all the record keeps of them. `parts` is the caller's scratch array (one entry per slot);
 * `prefix` tells readers and formats apart. Undefined for lines that need the full reader: shipper
 * metadata, TCP (joined on addresses), a time `normalizeTime` would rewrite.
 */
export function peekEnvoyRecord(
  v: ReadonlyArray<string | undefined>,
  seen: ArrayLike<number>,
  meshOption: Mesh | undefined,
  parts: string[],
  prefix: string,
): LinePeek | undefined {
  if (seen[F.KUBERNETES] === 1) return undefined;
  const method = v[F.METHOD];
  const path = v[F.PATH];
  const host = v[F.AUTHORITY];
  if (method === undefined && path === undefined && host === undefined) return undefined;
  for (let k = 0; k < parts.length; k++) {
    if (seen[k] !== 1) parts[k] = '';
    else {
      const value = v[k];
      if (value === undefined) parts[k] = NO_VALUE;
      else if (isKeyMarker(value)) return undefined;
      else parts[k] = value;
    }
  }
  parts[F.START_TIME] = prefix;
  parts[F.REQUEST_ID] = '';
  const remote = v[F.DOWNSTREAM_REMOTE_ADDRESS];
  if (remote !== undefined) parts[F.DOWNSTREAM_REMOTE_ADDRESS] = addressIp(remote) ?? NO_IP;
  const direct = v[F.DOWNSTREAM_DIRECT_REMOTE_ADDRESS];
  if (direct !== undefined) parts[F.DOWNSTREAM_DIRECT_REMOTE_ADDRESS] = addressIp(direct) ?? NO_IP;
  // (a value with a key separator in it: the full way)
  const hash = hashKeyParts(parts);
  if (hash < 0) return undefined;
  const c = classify(v, meshOption);
  return {
    parts, hash,
    time: normalizeTime(v[F.START_TIME]),
    side: c.side,
    mesh: c.mesh,
    requestId: v[F.REQUEST_ID],
    method, host, path,
  };
}

/** A downstream address as a line key holds it (peekEnvoyRecord): its IP, or NO_IP. */
function keyIp(part: string): string | undefined {
  return part === NO_IP ? undefined : part;
}

/**
 * What `buildEnvoyRecord` gives for a line, rebuilt from the line's key (`LinePeek.parts` joined
 * with U+0001, or a copy of that array, as peekEnvoyRecord filled them), its time and its request
 * id: the record of a line that waited in the join window without its text (LineReader.readParts).
 * `v` and `seen` are scratch arrays of at least the key's length. The key holds every slot
 * `buildEnvoyRecord` reads but the time and the request id, with the downstream addresses cut to
 * their IP (all it reads of them); a part is '' for a slot the line did not have, NO_VALUE for an
 * empty one.
 */
export function envoyRecordFromKey(
  key: string | readonly string[],
  time: string | undefined,
  requestId: string | undefined,
  meshOption: Mesh | undefined,
  headerNames: readonly string[] | undefined,
  v: (string | undefined)[],
  seen: Uint8Array,
): ParsedLine {
  v[F.START_TIME] = undefined;
  seen[F.START_TIME] = 1;
  let slot = 1;
  if (typeof key !== 'string') {
    // (part 0 is the reader's prefix, in the time's slot)
    for (; slot < key.length; slot++) {
      const part = key[slot]!;
      seen[slot] = part.length === 0 ? 0 : 1;
      v[slot] = part.length === 0 || part === NO_VALUE ? undefined : part;
    }
  } else {
    let at = key.indexOf('\u0001') + 1; // after the reader's prefix
    for (; at > 0; slot++) {
      const end = key.indexOf('\u0001', at);
      const stop = end < 0 ? key.length : end;
      if (stop === at) {
        v[slot] = undefined;
        seen[slot] = 0;
      } else {
        seen[slot] = 1;
        v[slot] = stop === at + 1 && key.charCodeAt(at) === 0 /* NO_VALUE */ ? undefined : key.slice(at, stop);
      }
      at = end + 1;
    }
  }
  for (; slot < v.length; slot++) {
    v[slot] = undefined;
    seen[slot] = 0;
  }
  v[F.REQUEST_ID] = requestId;
  return buildEnvoyRecord(v, seen, meshOption, headerNames, time, true);
}

const NO_EXTRA_HEADERS: readonly string[] = [];
/** Per format's extra header names, per mask of the header slots a line has: the one list of recorded names. */
const recordedLists = new WeakMap<readonly string[], Map<number, readonly string[]>>();

/**
 * The request headers a line's format records (`request.recordedHeaders`): User-Agent,
 * X-Forwarded-For and Content-Type when it has their slots, and the format's other `REQ(h)`
 * headers. One list per combination, shared by every record that has it.
 */
function recordedHeaders(seen: ArrayLike<number>, headerNames: readonly string[] | undefined): readonly string[] {
  const extra = headerNames ?? NO_EXTRA_HEADERS;
  let mask = (seen[F.USER_AGENT] ? 1 : 0) | (seen[F.X_FORWARDED_FOR] ? 2 : 0) | (seen[F.CONTENT_TYPE] ? 4 : 0);
  // (beyond 27 extra headers, the lists of lines with different ones left out share one key: rare, and the names are recomputed)
  for (let i = 0; i < extra.length && i < 27; i++) if (seen[SLOT_COUNT + i]) mask |= 8 << i;
  let byMask = recordedLists.get(extra);
  if (!byMask) recordedLists.set(extra, (byMask = new Map()));
  let list = extra.length > 27 ? undefined : byMask.get(mask);
  if (!list) {
    const names: string[] = [];
    if (mask & 1) names.push('user-agent');
    if (mask & 2) names.push('x-forwarded-for');
    if (mask & 4) names.push('content-type');
    for (let i = 0; i < extra.length; i++) if (seen[SLOT_COUNT + i]) names.push(extra[i]!);
    list = names;
    if (extra.length <= 27) byMask.set(mask, list);
  }
  return list;
}

/**
 * Turns one line's slot values into a ParsedLine (docs/access-records.md, "Envoy").
 * @param v slot values (undefined = empty)
 * @param seen 1 per slot the line's format has (text) or the line carries as a key (JSON)
 * @param meshOption the configured mesh; undefined means "Istio unless the line is Consul's"
 * @param headerNames names of the extra request-header slots that follow SLOT_COUNT
 * @param time the record's time (the slot's, normalized)
 * @param addressesAreIps the downstream addresses hold their IP (or NO_IP), as a line key does
 */
export function buildEnvoyRecord(
  v: ReadonlyArray<string | undefined>,
  seen: ArrayLike<number>,
  meshOption: Mesh | undefined,
  headerNames: readonly string[] | undefined,
  time: string | undefined = normalizeTime(v[F.START_TIME]),
  addressesAreIps = false,
): ParsedLine {
  const c = classify(v, meshOption);
  const ci = c.cluster;
  const cluster = ci === undefined ? undefined : ci.name;
  const sni = v[F.REQUESTED_SERVER_NAME];
  const si = c.sni;
  const details = v[F.RESPONSE_CODE_DETAILS];
  const termination = v[F.CONNECTION_TERMINATION_DETAILS];
  const flags = v[F.RESPONSE_FLAGS];
  const mesh = c.mesh;
  const consul = mesh === 'consul';
  const denial = c.denial;
  const side = c.side;

  const record: AccessRecord = {};
  if (time !== undefined) record.time = time;
  record.mesh = mesh;

  // Protocol.
  const method = v[F.METHOD];
  const path = v[F.PATH];
  const protocolField = v[F.PROTOCOL];
  const host = v[F.AUTHORITY];
  const userAgent = v[F.USER_AGENT];
  const contentType = v[F.CONTENT_TYPE];
  let protocol: AccessRecord['protocol'];
  if (method === undefined && path === undefined && protocolField === undefined && host === undefined) {
    for (const slot of REQUEST_SHAPE_SLOTS) {
      if (seen[slot]) {
        protocol = 'tcp';
        break;
      }
    }
  } else if (
    (contentType !== undefined && contentType.startsWith('application/grpc')) ||
    v[F.GRPC_STATUS] !== undefined ||
    isGrpcUserAgent(userAgent)
  ) {
    protocol = 'grpc';
  } else {
    protocol = httpProtocol(protocolField);
  }
  if (protocol !== undefined) record.protocol = protocol;

  // Source and destination, by side.
  const source: Source = {};
  const destination: Destination = {};
  let identityGap: string | undefined;
  const remote = v[F.DOWNSTREAM_REMOTE_ADDRESS];
  const direct = v[F.DOWNSTREAM_DIRECT_REMOTE_ADDRESS];
  const sourceAddress = direct ?? remote;
  if (side === 'outbound') {
    // The downstream is the local application: it is the caller.
    if (sourceAddress !== undefined) {
      const ip = addressesAreIps ? keyIp(sourceAddress) : addressIp(sourceAddress);
      if (ip !== undefined) source.ip = ip;
    }
    identityGap = GAP_CLIENT_SIDE;
    if (cluster !== undefined) fillService(destination, consul ? ci!.consul : ci!.istio);
    const upstream = v[F.UPSTREAM_HOST];
    const local = v[F.DOWNSTREAM_LOCAL_ADDRESS];
    if (upstream !== undefined) fillAddress(destination, upstream);
    else if (local !== undefined && (cluster === 'PassthroughCluster' || cluster === 'BlackHoleCluster' || cluster === 'original-destination')) fillAddress(destination, local);
    if (destination.port === undefined && cluster !== undefined && !consul && ci!.istio.port !== undefined && ci!.istioSide === 'outbound') destination.port = ci!.istio.port;
    const upstreamSan = v[F.UPSTREAM_PEER_URI_SAN];
    if (upstreamSan !== undefined) {
      if (consul) fillConsulParts(destination, consulPrincipal(upstreamSan));
      else fillIstioParts(destination, istioPrincipal(upstreamSan));
    }
    const dw = v[F.DESTINATION_WORKLOAD];
    if (dw !== undefined) destination.workload = dw;
    const dn = v[F.DESTINATION_NAMESPACE];
    if (dn !== undefined) destination.namespace = dn;
  } else {
    // Server side (or a proxy whose side the line does not show: the gateway is the destination).
    if (seen[F.DOWNSTREAM_PEER_URI_SAN]) {
      const san = v[F.DOWNSTREAM_PEER_URI_SAN];
      if (san === undefined) source.principal = null;
      else if (consul) {
        const principal = consulPrincipal(san);
        source.principal = principal;
        fillConsulParts(source, principal);
      } else {
        const principal = istioPrincipal(san);
        source.principal = principal;
        fillIstioParts(source, principal);
      }
    } else {
      identityGap = GAP_NO_IDENTITY_FIELD;
    }
    const sw = v[F.SOURCE_WORKLOAD];
    if (sw !== undefined) source.workload = sw;
    const sns = v[F.SOURCE_NAMESPACE];
    if (sns !== undefined) source.namespace = sns;
    if (sourceAddress !== undefined) {
      const ip = addressesAreIps ? keyIp(sourceAddress) : addressIp(sourceAddress);
      if (ip !== undefined) source.ip = ip;
      if (direct !== undefined && remote !== undefined) {
        const remoteIp = addressesAreIps ? keyIp(remote) : addressIp(remote);
        if (remoteIp !== undefined && remoteIp !== ip) source.remoteIp = remoteIp;
      }
    }
    if (si !== undefined) fillService(destination, consul ? si.consul : si.istio);
    const waypointVip = cluster !== undefined && !consul && ci!.waypointVip;
    const local = v[F.DOWNSTREAM_LOCAL_ADDRESS];
    if (waypointVip) {
      // A waypoint line of a call to a Service: the local address is the VIP, the pod is upstream.
      fillService(destination, ci!.istio);
      const upstream = v[F.UPSTREAM_HOST];
      if (upstream !== undefined) fillAddress(destination, upstream);
    } else if (local !== undefined) fillAddress(destination, local);
    const localPort = waypointVip ? undefined : v[F.DOWNSTREAM_LOCAL_PORT];
    if (localPort !== undefined) {
      const n = parsePort(localPort, 0, localPort.length);
      if (n !== undefined) destination.port = n;
    }
    if (destination.port === undefined && cluster !== undefined && !consul && ci!.istioSide === 'inbound' && ci!.istio.port !== undefined) destination.port = ci!.istio.port;
    const localSan = v[F.DOWNSTREAM_LOCAL_URI_SAN];
    if (localSan !== undefined) {
      if (consul) fillConsulParts(destination, consulPrincipal(localSan));
      else fillIstioParts(destination, istioPrincipal(localSan));
    }
  }
  if (
    source.principal !== undefined ||
    source.ip !== undefined ||
    source.namespace !== undefined ||
    source.workload !== undefined ||
    source.serviceAccount !== undefined ||
    source.service !== undefined
  ) {
    record.source = source;
  }
  if (destination.ip !== undefined || destination.port !== undefined || destination.service !== undefined || destination.namespace !== undefined || destination.workload !== undefined || destination.serviceAccount !== undefined) {
    record.destination = destination;
  }

  // Request.
  if (protocol !== 'tcp') {
    const request: NonNullable<AccessRecord['request']> = {};
    if (method !== undefined) request.method = method;
    if (path !== undefined) request.path = path;
    if (host !== undefined) request.host = host;
    let headers: Record<string, string> | undefined;
    if (userAgent !== undefined) (headers ??= {})['user-agent'] = userAgent;
    const xff = v[F.X_FORWARDED_FOR];
    if (xff !== undefined) (headers ??= {})['x-forwarded-for'] = xff;
    if (contentType !== undefined) (headers ??= {})['content-type'] = contentType;
    if (headerNames !== undefined) {
      for (let i = 0; i < headerNames.length; i++) {
        const value = v[SLOT_COUNT + i];
        if (value !== undefined) (headers ??= {})[headerNames[i]!] = value;
      }
    }
    if (headers !== undefined) request.headers = headers;
    request.recordedHeaders = recordedHeaders(seen, headerNames);
    // A JWT rejected for any reason but its absence was sent, and was not valid; one rejected for
    // its absence was not sent. Otherwise no Envoy log records the token.
    if (denial === DENIAL_JWT && details !== undefined) {
      if (!details.includes('Jwt_is_missing')) request.jwt = { valid: false };
    } else request.jwtUnknown = true;
    if (method !== undefined || path !== undefined || host !== undefined || headers !== undefined || request.jwt !== undefined) record.request = request;
  }
  if (sni !== undefined) record.sni = sni;

  // Response and decision.
  const code = parseStatus(v[F.RESPONSE_CODE]);
  const status = code !== undefined && code > 0 ? code : undefined;
  const detail =
    termination !== undefined && (details === undefined || (isRbacDenial(termination) && !isRbacDenial(details))) ? termination : details;
  const response: NonNullable<AccessRecord['response']> = {};
  if (status !== undefined) response.status = status;
  if (flags !== undefined) response.flags = shortResponseFlags(flags);
  if (detail !== undefined) response.details = detail;
  if (denial === DENIAL_RBAC && !consul) {
    const deniedBy = istioDeniedBy(detail);
    if (deniedBy !== undefined) response.deniedBy = deniedBy;
  }
  if (!consul) {
    const allow = dryRunEngine(v[F.DRY_RUN_ALLOW_RESULT] ?? v[F.TCP_DRY_RUN_ALLOW_RESULT], v[F.DRY_RUN_ALLOW_POLICY] ?? v[F.TCP_DRY_RUN_ALLOW_POLICY]);
    const deny = dryRunEngine(v[F.DRY_RUN_DENY_RESULT] ?? v[F.TCP_DRY_RUN_DENY_RESULT], v[F.DRY_RUN_DENY_POLICY] ?? v[F.TCP_DRY_RUN_DENY_POLICY]);
    if (allow !== undefined || deny !== undefined) {
      const dryRun: NonNullable<typeof response.dryRun> = {};
      if (allow !== undefined) dryRun.allow = allow;
      if (deny !== undefined) dryRun.deny = deny;
      response.dryRun = dryRun;
    }
  }
  if (status !== undefined || flags !== undefined || detail !== undefined || response.dryRun !== undefined) record.response = response;

  let observed: AccessRecord['observed'];
  if (denial !== DENIAL_NONE) observed = 'denied';
  else if (details === 'via_upstream') {
    // Seen from a client or a gateway, a 401/403 from upstream may be the server sidecar's denial.
    observed = side !== 'inbound' && (status === 401 || status === 403) ? 'unknown' : 'allowed';
  } else if (
    protocol === 'tcp' &&
    side === 'inbound' &&
    seen[F.CONNECTION_TERMINATION_DETAILS] &&
    termination === undefined &&
    flags === undefined &&
    v[F.UPSTREAM_HOST] !== undefined
  ) {
    // A TCP connection the server side passed on to the application, and not closed by RBAC.
    observed = 'allowed';
  } else observed = 'unknown';
  record.observed = observed;
  record.count = 1;

  const parsed: ParsedLine = { kind: 'record', record, side };
  if (cluster !== undefined && !consul && ci!.waypoint) {
    parsed.waypoint = true;
    if (!ci!.waypointVip) parsed.addressedToPod = true;
  }
  const requestId = v[F.REQUEST_ID];
  if (requestId !== undefined) parsed.requestId = requestId;
  if (identityGap !== undefined) parsed.identityGap = identityGap;
  return parsed;
}

/**
 * One dry-run engine's logged result: `allowed` or `denied` (Envoy's EngineResultAllowed and
 * EngineResultDenied, source/extensions/filters/common/rbac/utility.h), with the policy its
 * effective policy id names. Any other result (a length limit cut it, another filter's value) is
 * no result; an id that is not istiod's form names no policy.
 */
function dryRunEngine(result: string | undefined, policyId: string | undefined): DryRunEngineResult | undefined {
  if (result !== 'allowed' && result !== 'denied') return undefined;
  // (the literal, not the line's slice of it)
  const kept = result === 'allowed' ? 'allowed' : 'denied';
  const policy = policyId === undefined ? undefined : istioPolicyOfId(policyId);
  return policy === undefined ? { result: kept } : { result: kept, policy };
}

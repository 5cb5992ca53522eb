import type { ProjectConfig } from '../../config/projectConfig';
import type { Inventory, WorkloadInfo } from '../../inventory/inventory';
import { InventoryIndex, stripPort } from '../../inventory/inventoryIndex';
import { parseIp } from '../../net/ip';
import type { Mesh } from '../../meshes';
import type { PolicySet } from '../../simulate/types';
import type { AccessRecord } from '../../traffic/accessRecord';
import { DENIAL_JWT, denialOf } from '../../traffic/formats/denial';
import type { TrafficShape } from '../../traffic/ingest/types';
import { redactorFor } from '../../traffic/redact';
import { escapeRegex } from './yaml';

/**
 * The evidence least-privilege generation stands on, shared by the per-mesh generators:
 * observed allowed calls with a resolved caller identity, grouped per destination and per set of
 * callers, with paths generalized only where the evidence supports it.
 *
 * Rules (docs/audit.md):
 * - A call counts when it was observed allowed and its record names the caller's principal
 *   (the mesh identity the policy will test). Everything else is skipped, counted per reason.
 * - Observed denied calls are evidence against: no generated rule may match one. A request seen
 *   both allowed and denied (same caller, destination, port, method and path) cannot be told
 *   apart by any policy: it is allowed, and listed as a conflict.
 * - Paths lose their query string (policies match the path without it). A path that still
 *   carries a credential (a JWT segment, `;token=`) is skipped: the policy would have to write it
 *   out, and generated text goes through the traffic Redactor like every other output. At least `minDistinct`
 *   (default 3) paths called on the same port by the same callers that differ in one segment
 *   only become a template with that segment as `{*}` (`/v1/carts/{*}`, `/v1/carts/{*}/items`), unless
 *   the template would match the path of a call denied to one of those callers, or a path
 *   another group of callers uses (calls without an identity cannot match a generated rule).
 */

export interface GenerateOptions {
  inventory?: Inventory;
  config?: ProjectConfig;
  /** Also count calls whose outcome the logs do not record (observed "unknown"), e.g. gRPC calls whose status is not logged. */
  includeUnknownOutcome?: boolean;
  /** Distinct last segments under one parent path that make a template; default 3. */
  minDistinct?: number;
  /**
   * Istio: how observed allowed plaintext callers (no peer identity) to a port whose mTLS mode is
   * PERMISSIVE or DISABLE are allowed: `ip` (default) by their addresses (`source.ipBlocks`),
   * `any` by the port and requests alone (no `from`), `none` not at all (skipped).
   */
  plaintextCallers?: PlaintextCallers;
  /** Istio: the PeerAuthentications that set the mTLS modes (none: Istio's default, PERMISSIVE). */
  peerAuthentications?: PolicySet['resources'];
}

export const PLAINTEXT_CALLERS = ['ip', 'any', 'none'] as const;
export type PlaintextCallers = (typeof PLAINTEXT_CALLERS)[number];

/** How a generator names a caller without identity: by its address, or not at all (`skip` says why). */
export type AddressCaller = { network: string } | { skip: string };

export interface PathPattern {
  kind: 'exact' | 'template';
  /** The exact path, or the path with one `{*}` segment for a template. */
  value: string;
  /** Distinct paths the pattern stands for. */
  distinct: number;
  calls: number;
}

export interface Operation {
  port?: number;
  methods: string[];
  paths: PathPattern[];
  calls: number;
}

export interface Caller {
  /** The identity, or for a Linkerd network client its `network`. */
  principal: string;
  /** The address (as a /32 or /128) of a client without identity: a Linkerd NetworkAuthentication, Istio `source.ipBlocks`. */
  network?: string;
  namespace?: string;
  serviceAccount?: string;
  service?: string;
  calls: number;
}

/** Callers that make exactly the same requests to a destination. */
export interface CallerGroup {
  callers: Caller[];
  /** HTTP requests, by port and method set. */
  operations: Operation[];
  /** TCP (or otherwise request-less) connections, by port. */
  tcp: { port?: number; calls: number }[];
  calls: number;
}

export interface DestinationEvidence {
  key: string;
  namespace: string;
  /** The workload (Deployment, ...) name, when known. */
  workload?: string;
  /** The service name (Consul's destination name). */
  service?: string;
  /** Pod labels, from the inventory or the record. */
  labels?: Record<string, string>;
  /** Per port: the protocol seen. */
  ports: Map<number | undefined, { http: boolean; grpc: boolean; tcp: boolean }>;
  /** Empty when no call to the destination was observed allowed: the generated policy allows nothing. */
  groups: CallerGroup[];
  calls: number;
  deniedCalls: number;
  /** Requests seen both allowed and denied. */
  conflicts: { caller: string; request: string; allowed: number; denied: number }[];
}

export interface Skipped {
  reason: string;
  calls: number;
  /** A few examples, "caller → destination request". */
  examples: string[];
}

export interface Evidence {
  mesh: Mesh;
  destinations: DestinationEvidence[];
  skipped: Skipped[];
  /** Observed denied calls to destinations that get no generated policy (nothing to protect them with). */
  unprotectedDenied: { destination: string; calls: number; reason: string }[];
  counted: number;
  denied: number;
}

interface Call {
  caller: Caller;
  port?: number;
  method?: string;
  path?: string;
  tcp: boolean;
  grpc: boolean;
  calls: number;
  observed: 'allowed' | 'denied';
}

export function pathOnly(path: string): string {
  const q = path.search(/[?#]/);
  return q < 0 ? path : path.slice(0, q);
}

function describe(r: AccessRecord): string {
  const s = r.source?.principal ?? r.source?.ip ?? '?';
  const d = `${r.destination?.namespace ?? '?'}/${r.destination?.workload ?? r.destination?.service ?? '?'}${r.destination?.port !== undefined ? `:${r.destination.port}` : ''}`;
  return `${s} → ${d}${r.request?.method ? ` ${r.request.method} ${r.request.path ?? ''}` : ''}`;
}

/**
 * Why an allowed call has no caller identity to allow, in calls: a plaintext caller; a caller
 * ingest could not resolve, for the reason it gave; or a caller it found (by the shipper, the
 * joined client-side line, a pod IP) without its identity, which Istio and Linkerd take from the
 * pod's service account in the inventory.
 */
export function withoutIdentity(shape: TrafficShape, inventory: boolean): [string, number][] {
  if (shape.record.source?.principal === null) return [['plaintext caller (no client certificate, so no identity to allow)', shape.count]];
  const out: [string, number][] = [];
  let unresolved = 0;
  for (const [reason, calls] of Object.entries(shape.unresolvedSource ?? {})) {
    out.push([`caller not resolved: ${reason}`, calls]);
    unresolved += calls;
  }
  const rest = shape.count - unresolved;
  if (rest > 0) {
    const source = shape.record.source;
    const found = source?.workload !== undefined || source?.namespace !== undefined || source?.service !== undefined;
    out.push([
      !found ? 'no caller identity in the log'
        // ingest names the principal only for a caller the inventory marks as running the proxy
        : inventory && source?.serviceAccount ? 'caller workload and service account known, but the inventory does not say it runs the mesh proxy (no injection label or annotation on its namespace or pod), so not its identity'
        : inventory ? 'caller workload known, but not its identity: the inventory names no service account for it'
        : 'caller workload known, but not its identity (its service account): give --inventory',
      rest,
    ]);
  }
  return out;
}

/**
 * Linkerd authorizes clients without identity (kubelet probes from the node, unmeshed pods) by
 * their address, with a NetworkAuthentication: a plaintext caller with an address is evidence
 * there, as the address alone (/32, /128). Istio and Consul policies are written for identities.
 */
function networkClient(mesh: Mesh, r: AccessRecord): string | undefined {
  if (mesh !== 'linkerd' || r.source?.principal !== null) return undefined;
  return sourceNetwork(r);
}

/** The caller's address alone, as a /32 or /128. */
export function sourceNetwork(r: AccessRecord): string | undefined {
  if (!r.source?.ip) return undefined;
  const address = stripPort(r.source.ip);
  const parsed = parseIp(address);
  return 'error' in parsed ? undefined : `${address}/${parsed.family === 6 ? 128 : 32}`;
}

function linkerdNetworkCaller(mesh: Mesh): (r: AccessRecord) => AddressCaller | undefined {
  return (r) => {
    const network = networkClient(mesh, r);
    return network ? { network } : undefined;
  };
}

/** The outcome a call is evidence for: observed, or with `includeUnknownOutcome` a call whose outcome the log does not record that did not fail. */
export function observedOutcome(r: AccessRecord, options: GenerateOptions): 'allowed' | 'denied' | undefined {
  if (r.observed !== 'unknown' && r.observed !== undefined) return r.observed;
  return options.includeUnknownOutcome && (r.response?.status === undefined || r.response.status < 400) ? 'allowed' : undefined;
}

/**
 * An Istio call the token check refused (Envoy's jwt_authn filter: 401, before any authorization):
 * a RequestAuthentication decided it, not the AuthorizationPolicies generate writes, and that
 * resource stays in place. So it is no evidence against a rule, and the generated rules are not
 * what decides it. (A Consul JWT requirement is part of the intentions, which generate replaces.)
 */
export function deniedByTokenCheck(r: AccessRecord): boolean {
  return r.mesh === 'istio' && r.observed === 'denied' && (denialOf(r.response?.details, undefined, undefined) === DENIAL_JWT || (r.response?.status === 401 && r.request?.jwt?.valid === false));
}

export const TOKEN_CHECK_DENIAL = 'denied before authorization by a RequestAuthentication (invalid token, 401), which stays in place: no evidence against a rule';

/** Whether the record gives the caller the generated policies can name: its identity, or (Linkerd) its address. */
export function hasCallerEvidence(mesh: Mesh, r: AccessRecord): boolean {
  return Boolean(r.source?.principal) || networkClient(mesh, r) !== undefined;
}

/** The destination key a mesh generates one policy (set) for. */
export type DestinationKeyer = (record: AccessRecord) => { key: string; namespace: string; workload?: string; service?: string } | string;

/**
 * `byAddress`: how the mesh names a caller without identity (default: Linkerd's network clients);
 * undefined leaves the call to the skip reasons of `withoutIdentity`.
 */
export function collectEvidence(mesh: Mesh, shapes: readonly TrafficShape[], keyer: DestinationKeyer, options: GenerateOptions = {}, byAddress: (r: AccessRecord) => AddressCaller | undefined = linkerdNetworkCaller(mesh)): Evidence {
  const minDistinct = options.minDistinct ?? 3;
  const redactor = redactorFor(options.config);
  const skipped = new Map<string, Skipped>();
  const skip = (reason: string, shape: TrafficShape, calls = shape.count): void => {
    let s = skipped.get(reason);
    if (!s) skipped.set(reason, (s = { reason, calls: 0, examples: [] }));
    s.calls += calls;
    if (s.examples.length < 3) s.examples.push(redactor.text(describe(shape.record), redactor.secretsOf(shape.record)));
  };
  const byDestination = new Map<string, { info: { key: string; namespace: string; workload?: string; service?: string }; labels?: Record<string, string>; calls: Call[] }>();
  const deniedElsewhere = new Map<string, { calls: number; reason: string }>();
  // Calls to a keyed destination that are not evidence but were (or may have been) allowed: an
  // allow-nothing policy would deny them, so a destination with any of them is never closed.
  const notEvidence = new Map<string, number>();
  const notDenied = (keyed: ReturnType<DestinationKeyer>, calls: number): void => {
    if (typeof keyed !== 'string') notEvidence.set(keyed.key, (notEvidence.get(keyed.key) ?? 0) + calls);
  };
  let counted = 0;
  let denied = 0;
  for (const shape of shapes) {
    const r = shape.record;
    if (r.mesh && r.mesh !== mesh) { skip(`carried by another mesh (${r.mesh})`, shape); continue; }
    const observed = observedOutcome(r, options);
    if (!observed) {
      skip('the log does not record whether the call was allowed (observed unknown; see --include-unknown)', shape);
      notDenied(keyer(r), shape.count);
      continue;
    }
    if (deniedByTokenCheck(r)) { skip(TOKEN_CHECK_DENIAL, shape); continue; }
    const keyed = keyer(r);
    const address = r.source?.principal ? undefined : byAddress(r);
    const network = address && 'network' in address ? address.network : undefined;
    const principal = r.source?.principal ?? network;
    if (typeof keyed === 'string') {
      if (observed === 'allowed') skip(keyed, shape);
      else {
        const name = `${r.destination?.namespace ?? '?'}/${r.destination?.workload ?? r.destination?.service ?? '?'}`;
        const e = deniedElsewhere.get(name) ?? { calls: 0, reason: keyed };
        e.calls += shape.count;
        deniedElsewhere.set(name, e);
      }
      continue;
    }
    if (observed === 'allowed' && !principal) {
      if (address && 'skip' in address) skip(address.skip, shape);
      else for (const [reason, calls] of withoutIdentity(shape, options.inventory?.present === true)) skip(reason, shape, calls);
      notDenied(keyed, shape.count);
      continue;
    }
    const q = r.request;
    const tcp = r.protocol === 'tcp' || (!q?.method && !q?.path);
    const path = !tcp && q?.path !== undefined ? pathOnly(q.path) : undefined;
    if (observed === 'allowed' && path !== undefined && redactor.text(path, redactor.secretsOf(r)) !== path) { skip('the path carries a credential (a policy would have to write it out)', shape); notDenied(keyed, shape.count); continue; }
    if (mesh === 'istio' && observed === 'allowed' && path !== undefined && !istioExactPath(path)) { skip('the path has a character Istio reads as a pattern (`*` at either end, `{` or `}`): no Istio path matches it alone', shape); notDenied(keyed, shape.count); continue; }
    let dest = byDestination.get(keyed.key);
    if (!dest) byDestination.set(keyed.key, (dest = { info: keyed, calls: [] }));
    if (!dest.labels && r.destination?.labels) dest.labels = r.destination.labels;
    const caller: Caller = {
      principal: principal ?? '', calls: shape.count,
      ...(network && !r.source?.principal ? { network } : {}),
      ...(r.source?.namespace ? { namespace: r.source.namespace } : {}),
      ...(r.source?.serviceAccount ? { serviceAccount: r.source.serviceAccount } : {}),
      ...(r.source?.service ? { service: r.source.service } : {}),
    };
    dest.calls.push({
      caller, tcp, grpc: r.protocol === 'grpc', calls: shape.count, observed,
      ...(r.destination?.port !== undefined ? { port: r.destination.port } : {}),
      ...(!tcp && q?.method ? { method: q.method.toUpperCase() } : {}),
      ...(path !== undefined ? { path } : {}),
    });
    if (observed === 'allowed') counted += shape.count;
    else denied += shape.count;
  }

  const destinations: DestinationEvidence[] = [];
  const unprotectedDenied: Evidence['unprotectedDenied'] = [];
  for (const [name, e] of deniedElsewhere) unprotectedDenied.push({ destination: name, calls: e.calls, reason: e.reason });
  for (const { info, labels, calls } of byDestination.values()) {
    const allowed = calls.filter((c) => c.observed === 'allowed');
    const deniedCalls = calls.filter((c) => c.observed === 'denied');
    const deniedTotal = deniedCalls.reduce((sum, c) => sum + c.calls, 0);
    const where = {
      key: info.key, namespace: info.namespace,
      ...(info.workload ? { workload: info.workload } : {}),
      ...(info.service ? { service: info.service } : {}),
      ...(labels ? { labels } : {}),
    };
    if (allowed.length === 0) {
      const other = notEvidence.get(info.key) ?? 0;
      if (other > 0) {
        // allowed calls without evidence (no identity, outcome not logged): allowing nothing would deny them
        unprotectedDenied.push({ destination: info.key, calls: deniedTotal, reason: `its other ${plural(other, 'call')} may have been allowed but name no caller a policy can allow, so no allow-nothing policy either` });
        continue;
      }
      // Every call observed was denied: least privilege is a policy that allows nothing.
      destinations.push({ ...where, ports: portsOf(deniedCalls), groups: [], conflicts: [], calls: 0, deniedCalls: deniedTotal });
      continue;
    }
    const requestKey = (c: Call) => (c.tcp ? `tcp:${c.port ?? ''}` : `${c.port ?? ''} ${c.method ?? '*'} ${c.path ?? ''}`);
    // per request: callers
    const requests = new Map<string, { sample: Call; callers: Map<string, Caller>; calls: number }>();
    const deniedRequests = new Map<string, number>();
    for (const c of deniedCalls) deniedRequests.set(`${c.caller.principal}\u0000${requestKey(c)}`, (deniedRequests.get(`${c.caller.principal}\u0000${requestKey(c)}`) ?? 0) + c.calls);
    const conflicts: DestinationEvidence['conflicts'] = [];
    const ports = portsOf(allowed);
    for (const c of allowed) {
      const k = requestKey(c);
      let req = requests.get(k);
      if (!req) requests.set(k, (req = { sample: c, callers: new Map(), calls: 0 }));
      req.calls += c.calls;
      const prev = req.callers.get(c.caller.principal);
      if (prev) prev.calls += c.calls;
      else req.callers.set(c.caller.principal, { ...c.caller });
    }
    for (const [k, req] of requests) {
      for (const principal of req.callers.keys()) {
        const d = deniedRequests.get(`${principal}\u0000${k}`);
        if (d) conflicts.push({ caller: principal, request: k, allowed: req.callers.get(principal)!.calls, denied: d });
      }
    }
    // callers with the same requests form a group
    const byCallerSet = new Map<string, { callers: Map<string, Caller>; requests: { sample: Call; calls: number }[] }>();
    for (const req of requests.values()) {
      const setKey = [...req.callers.keys()].sort().join('\u0000');
      let g = byCallerSet.get(setKey);
      if (!g) byCallerSet.set(setKey, (g = { callers: new Map(), requests: [] }));
      for (const [p, c] of req.callers) {
        const prev = g.callers.get(p);
        if (prev) prev.calls += c.calls;
        else g.callers.set(p, { ...c });
      }
      g.requests.push({ sample: req.sample, calls: req.calls });
    }
    const allHttpPaths = [...byCallerSet.entries()].map(([setKey, g]) => ({ setKey, paths: g.requests.filter((r) => !r.sample.tcp).map((r) => ({ port: r.sample.port, path: r.sample.path ?? '' })) }));
    const groups: CallerGroup[] = [];
    for (const [setKey, g] of byCallerSet) {
      const others = allHttpPaths.filter((x) => x.setKey !== setKey).flatMap((x) => x.paths);
      // every generated rule requires one of the group's identities: only their denials can fall under it
      const operations = buildOperations(g.requests.filter((r) => !r.sample.tcp), deniedCalls.filter((c) => !c.tcp && g.callers.has(c.caller.principal)), others, minDistinct, mesh === 'istio' ? istioTemplate : () => true);
      const tcpPorts = new Map<number | undefined, number>();
      for (const r of g.requests.filter((x) => x.sample.tcp)) tcpPorts.set(r.sample.port, (tcpPorts.get(r.sample.port) ?? 0) + r.calls);
      const callers = [...g.callers.values()].sort((a, b) => (a.principal < b.principal ? -1 : 1));
      groups.push({
        callers, operations, tcp: [...tcpPorts].map(([port, n]) => ({ ...(port !== undefined ? { port } : {}), calls: n })).sort((a, b) => (a.port ?? 0) - (b.port ?? 0)),
        calls: g.requests.reduce((sum, r) => sum + r.calls, 0),
      });
    }
    groups.sort((a, b) => b.calls - a.calls || (a.callers[0]!.principal < b.callers[0]!.principal ? -1 : 1));
    const dest: DestinationEvidence = { ...where, ports, groups, conflicts, calls: allowed.reduce((sum, c) => sum + c.calls, 0), deniedCalls: deniedTotal };
    destinations.push(dest);
  }
  destinations.sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
  return { mesh, destinations, skipped: [...skipped.values()].sort((a, b) => b.calls - a.calls), unprotectedDenied: unprotectedDenied.sort((a, b) => b.calls - a.calls), counted, denied };
}

/** Per port, the protocols the calls used. */
function portsOf(calls: readonly Call[]): DestinationEvidence['ports'] {
  const ports: DestinationEvidence['ports'] = new Map();
  for (const c of calls) {
    const p = ports.get(c.port) ?? { http: false, grpc: false, tcp: false };
    if (c.tcp) p.tcp = true; else if (c.grpc) p.grpc = true; else p.http = true;
    ports.set(c.port, p);
  }
  return ports;
}

/** The segment of a template that matches any one non-empty path segment (Istio's `{*}`). */
export const TEMPLATE_SEGMENT = '{*}';

/** Whether a template (a path with one `{*}` segment) matches a path. */
export function templateMatches(template: string, path: string): boolean {
  const t = template.split('/');
  const p = path.split('/');
  if (t.length !== p.length) return false;
  return t.every((segment, i) => (segment === TEMPLATE_SEGMENT ? p[i] !== '' : segment === p[i]));
}

/** The template as a regular expression (RE2, full match): the `{*}` segment becomes `[^/]+`. */
export function templateRegex(template: string): string {
  return template.split(TEMPLATE_SEGMENT).map(escapeRegex).join('[^/]+');
}

/** Whether Istio matches the path exactly as written: a `*` at either end makes it a prefix,
 * suffix or presence match, and a `{` or `}` outside `{*}`/`{**}` makes istiod reject the policy. */
export function istioExactPath(path: string): boolean {
  return !path.startsWith('*') && !path.endsWith('*') && !/[{}]/.test(path);
}

/** Whether istiod takes the template: each literal segment of a path template is non-empty and of
 * the characters a URI template literal may hold. */
export function istioTemplate(template: string): boolean {
  return template.replace(/^\/+|\/+$/g, '').split('/').every((segment) => segment === TEMPLATE_SEGMENT || /^[a-zA-Z0-9\-._~%!$&'()+,;:@=]+$/.test(segment));
}

function buildOperations(requests: { sample: Call; calls: number }[], denied: Call[], otherPaths: { port?: number | undefined; path: string }[], minDistinct: number, templateOk: (template: string) => boolean): Operation[] {
  // per port: path → methods and calls
  const byPort = new Map<number | undefined, Map<string, { methods: Set<string>; calls: number }>>();
  for (const r of requests) {
    const path = r.sample.path ?? '';
    let paths = byPort.get(r.sample.port);
    if (!paths) byPort.set(r.sample.port, (paths = new Map()));
    let p = paths.get(path);
    if (!p) paths.set(path, (p = { methods: new Set(), calls: 0 }));
    if (r.sample.method) p.methods.add(r.sample.method);
    p.calls += r.calls;
  }
  const operations = new Map<string, Operation>();
  for (const [port, paths] of byPort) {
    // templates: one segment replaced by {*}, where enough paths differ only there
    const byTemplate = new Map<string, string[]>();
    for (const path of paths.keys()) {
      const segments = path.split('/');
      for (let i = 1; i < segments.length; i++) {
        if (segments[i] === '') continue;
        const template = [...segments.slice(0, i), TEMPLATE_SEGMENT, ...segments.slice(i + 1)].join('/');
        const list = byTemplate.get(template) ?? [];
        list.push(path);
        byTemplate.set(template, list);
      }
    }
    const patterns: { pattern: PathPattern; methods: Set<string> }[] = [];
    const covered = new Set<string>();
    for (const [template, all] of [...byTemplate].sort((a, b) => b[1].length - a[1].length || (a[0] < b[0] ? -1 : 1))) {
      const list = all.filter((p) => !covered.has(p));
      if (list.length < minDistinct || !templateOk(template)) continue;
      const methods = new Set<string>();
      for (const path of list) for (const m of paths.get(path)!.methods) methods.add(m);
      const deniedHit = denied.some((d) => d.port === port && templateMatches(template, d.path ?? '') && (methods.size === 0 || !d.method || methods.has(d.method)));
      const otherHit = otherPaths.some((o) => o.port === port && templateMatches(template, o.path));
      if (deniedHit || otherHit) continue;
      patterns.push({ pattern: { kind: 'template', value: template, distinct: list.length, calls: list.reduce((sum, p) => sum + paths.get(p)!.calls, 0) }, methods });
      for (const p of list) covered.add(p);
    }
    for (const [path, p] of paths) {
      if (covered.has(path)) continue;
      patterns.push({ pattern: { kind: 'exact', value: path, distinct: 1, calls: p.calls }, methods: p.methods });
    }
    for (const { pattern, methods } of patterns) {
      const sorted = [...methods].sort();
      const key = `${port ?? ''}|${sorted.join(',')}`;
      let op = operations.get(key);
      if (!op) operations.set(key, (op = { ...(port !== undefined ? { port } : {}), methods: sorted, paths: [], calls: 0 }));
      op.paths.push(pattern);
      op.calls += pattern.calls;
    }
  }
  const list = [...operations.values()];
  for (const op of list) op.paths.sort((a, b) => (a.value < b.value ? -1 : a.value > b.value ? 1 : 0));
  return list.sort((a, b) => (a.port ?? 0) - (b.port ?? 0) || b.calls - a.calls);
}

/** Labels that say which workload a pod belongs to, not which pod or revision it is. */
const VOLATILE_LABELS = /^(pod-template-hash|controller-revision-hash|statefulset\.kubernetes\.io\/pod-name|security\.istio\.io\/tlsMode|service\.istio\.io\/canonical-revision|version|app\.kubernetes\.io\/version|linkerd\.io\/.*|consul\.hashicorp\.com\/.*)$/;

/**
 * The fewest labels that select the workload's pods and no other workload of the namespace the
 * inventory knows: `app`, `app.kubernetes.io/name`, or all of its stable labels.
 */
export function selectorFor(dest: { namespace: string; workload?: string; labels?: Record<string, string> }, inventory: Inventory | undefined): Record<string, string> | undefined {
  const workload = inventory?.workloads.find((w) => w.namespace === dest.namespace && w.name === dest.workload);
  const labels = workload?.labels ?? dest.labels;
  if (!labels) return undefined;
  const stable = Object.fromEntries(Object.entries(labels).filter(([k]) => !VOLATILE_LABELS.test(k)));
  // The workload's own pods and ReplicaSets (a `kubectl get pods` dump next to the Deployment) are not others.
  const index = inventory ? InventoryIndex.of(inventory) : undefined;
  const ownerName = (w: WorkloadInfo): string => (w.kind === 'Pod' ? index!.matchForPod(w).name : index!.topLevel(w).name);
  const others = (inventory?.workloads ?? []).filter((w) => w.namespace === dest.namespace && w.name !== dest.workload && ownerName(w) !== dest.workload);
  const selectsOnlyThis = (selector: Record<string, string>): boolean => others.every((w) => Object.entries(selector).some(([k, v]) => w.labels[k] !== v));
  for (const key of ['app', 'app.kubernetes.io/name', 'k8s-app', 'service.istio.io/canonical-name']) {
    if (stable[key] !== undefined && selectsOnlyThis({ [key]: stable[key]! })) return { [key]: stable[key]! };
  }
  return Object.keys(stable).length && selectsOnlyThis(stable) ? stable : undefined;
}

export function plural(n: number, one: string, many = `${one}s`): string {
  return `${n.toLocaleString('en-US')} ${n === 1 ? one : many}`;
}

/** Istio and Linkerd policies select a workload's pods: the destination is the workload (and, for a Linkerd Server, the port). */
export function workloadKeyer(withPort: boolean): DestinationKeyer {
  return (r) => {
    const d = r.destination;
    if (!d?.namespace || !d.workload) return 'destination workload not resolved (give --inventory)';
    if (!withPort) return { key: `${d.namespace}/${d.workload}`, namespace: d.namespace, workload: d.workload };
    if (d.port === undefined) return 'destination port not in the log (a Server selects a port)';
    return { key: `${d.namespace}/${d.workload}:${d.port}`, namespace: d.namespace, workload: d.workload };
  };
}

/** The workload's selector; without one, the destination's calls are skipped (and its denials listed as unprotected). */
export function selectorOrSkip(dest: DestinationEvidence, inventory: Inventory | undefined, skipped: Skipped[], unprotected: Evidence['unprotectedDenied']): Record<string, string> | undefined {
  const selector = selectorFor(dest, inventory);
  if (selector) return selector;
  skipped.push({ reason: `no pod labels that select ${dest.key} alone (give --inventory)`, calls: dest.calls, examples: [] });
  if (dest.deniedCalls) unprotected.push({ destination: dest.key, calls: dest.deniedCalls, reason: 'no pod labels to select the workload' });
  return undefined;
}

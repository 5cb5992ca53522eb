import type { Inventory } from '../../inventory/inventory';
import { chooseWaypoint, isAmbient, isWaypointPeer, waypointPrincipal } from '../../istio/ambient';
import { kubernetesServiceName } from '../../simulate/istio/evaluate';
import type { AccessRecord } from '../../traffic/accessRecord';
import type { TrafficShape } from '../../traffic/ingest/types';
import { collectEvidence, plural, type Caller, selectorFor, selectorOrSkip, sourceNetwork, workloadKeyer, type AddressCaller, type CallerGroup, type DestinationEvidence, type DestinationKeyer, type GenerateOptions, type Operation, type PlaintextCallers } from './evidence';
import { defaultConfig } from '../../config/projectConfig';
import { emptyInventory } from '../../inventory/inventory';
import { IstioCompiledPolicies, type PeerModeAnswer } from '../../simulate/istio';
import { GenerationDraft } from './summary';
import type { GeneratedPolicies, PolicyGenerator } from './types';
import type { YamlWriter } from './yaml';
import { dnsName } from './yaml';
import { withoutSpiffe } from '../../istio/match';
import { InventoryIndex } from '../../inventory/inventoryIndex';

/** A call to a Service that passes a waypoint (ambient): the waypoint, not the pod's ztunnel, checks the caller. */
interface ThroughWaypoint {
  service: string;
  waypoint: { ns: string; name: string };
  /** The destination workload, when known: its ztunnel admits the waypoint. */
  workload: string | undefined;
}

/**
 * Istio: one ALLOW AuthorizationPolicy per workload, selected by its pod labels. One rule per
 * group of callers that make the same requests: `from.source.principals`, and `to.operation`
 * per port and method set with the paths (exact, or `{*}` templates). A workload no call was
 * observed allowed to gets an ALLOW policy without rules (allow-nothing).
 *
 * Ambient mode: a workload's own policy is enforced by ztunnel, which sees L4 only, so its rules
 * keep principals and ports. The calls to a Service that passes a waypoint are checked there: they
 * get a policy of their own attached to the Service with `targetRefs` (methods and paths too, no
 * ports: the Service scopes it), and the workload's ztunnel policy admits the waypoint.
 */
export const istioGenerator: PolicyGenerator = {
  mesh: 'istio',
  generate(shapes: readonly TrafficShape[], options: GenerateOptions): GeneratedPolicies {
    const trustDomain = options.config?.istio.trustDomain ?? 'cluster.local';
    const ambient = new AmbientTopology(options.inventory, trustDomain, [trustDomain, ...(options.config?.istio.trustDomainAliases ?? [])]);
    const byWorkload = workloadKeyer(false);
    const viaWaypoint = new Map<string, ThroughWaypoint>();
    const keyer: DestinationKeyer = (r) => {
      const through = ambient.throughWaypoint(r);
      if (!through) return byWorkload(r);
      const key = `${r.destination!.namespace}/${through.service} (Service, at the waypoint ${through.waypoint.ns}/${through.waypoint.name})`;
      viaWaypoint.set(key, through);
      return { key, namespace: r.destination!.namespace!, service: through.service };
    };
    const plaintext = options.plaintextCallers ?? 'ip';
    const peerModes = new PeerModes(options);
    const byAddress = (r: AccessRecord): AddressCaller | undefined => (plaintext === 'none' || ambient.throughWaypoint(r) ? undefined : plaintextCaller(r, peerModes));
    const evidence = collectEvidence('istio', shapes, keyer, options, byAddress);
    // The ports each workload is reached on through its waypoint: its ztunnel admits the waypoint there.
    const waypointPorts = new Map<string, { waypoint: ThroughWaypoint['waypoint']; ports: Set<number | undefined>; calls: number; namespace: string; workload: string }>();
    for (const dest of evidence.destinations) {
      const through = viaWaypoint.get(dest.key);
      if (!through?.workload || dest.groups.length === 0) continue;
      const key = `${dest.namespace}/${through.workload}`;
      const entry = waypointPorts.get(key) ?? { waypoint: through.waypoint, ports: new Set(), calls: 0, namespace: dest.namespace, workload: through.workload };
      for (const port of dest.ports.keys()) entry.ports.add(port);
      entry.calls += dest.calls;
      waypointPorts.set(key, entry);
    }
    const draft = new GenerationDraft();
    const { body, destinations, skipped, unprotected } = draft;
    const workloadsDone = new Set<string>();
    for (const dest of evidence.destinations) {
      const through = viaWaypoint.get(dest.key);
      if (through) {
        writeWaypointPolicy(body, dest, through, plaintext);
        destinations.push({ name: dest.key, calls: dest.calls, callers: callersOf(dest.groups), resources: [`AuthorizationPolicy ${dest.namespace}/${dnsName(through.service, 'waypoint-least-privilege')}`] });
        continue;
      }
      const selector = selectorOrSkip(dest, options.inventory, skipped, unprotected);
      if (!selector) continue;
      workloadsDone.add(dest.key);
      const name = writeWorkloadPolicy(body, dest, selector, ambient.isAmbient(dest), waypointPorts.get(dest.key), ambient, plaintext);
      destinations.push({ name: dest.key, calls: dest.calls, callers: callersOf(dest.groups), resources: [`AuthorizationPolicy ${dest.namespace}/${name}`] });
    }
    // Workloads reached only through their waypoint in the logs: their ztunnel admits the waypoint alone.
    for (const [key, entry] of waypointPorts) {
      if (workloadsDone.has(key)) continue;
      const dest: DestinationEvidence = { key, namespace: entry.namespace, workload: entry.workload, ports: new Map(), groups: [], calls: 0, deniedCalls: 0, conflicts: [] };
      const selector = selectorFor(dest, options.inventory);
      if (!selector) continue;
      const name = writeWorkloadPolicy(body, dest, selector, true, entry, ambient, plaintext);
      destinations.push({ name: key, calls: 0, callers: 1, resources: [`AuthorizationPolicy ${entry.namespace}/${name}`] });
    }
    return draft.finish('istio', 'Istio', evidence, options);
  },
};

/** What the inventory says about ambient mode: which workloads ztunnel carries, which calls pass a waypoint. */
class AmbientTopology {
  /** The waypoint the calls to each Service pass (`namespace/name`), or null; found once per Service. */
  private readonly byService = new Map<string, { ns: string; name: string } | null>();

  constructor(private readonly inventory: Inventory | undefined, readonly trustDomain: string, private readonly trustDomains: readonly string[]) {}

  isAmbient(dest: { namespace: string; labels?: Record<string, string> }): boolean {
    return isAmbient(dest.labels, this.inventory?.namespaces.get(dest.namespace)?.labels);
  }

  /** The waypoint a call to a Service passes, unless the caller is that waypoint (its own hop to the pod). */
  throughWaypoint(r: AccessRecord): ThroughWaypoint | undefined {
    const d = r.destination;
    if (!this.inventory || !d?.namespace || !d.service || !this.isAmbient({ namespace: d.namespace, ...(d.labels ? { labels: d.labels } : {}) })) return undefined;
    const service = kubernetesServiceName(d.service, d.namespace);
    if (service === undefined) return undefined;
    const waypoint = this.waypointOfService(d.namespace, service);
    if (waypoint === null || isWaypointPeer(r.source?.principal, waypoint, this.trustDomains)) return undefined;
    return { service, waypoint, workload: d.workload };
  }

  private waypointOfService(ns: string, service: string): { ns: string; name: string } | null {
    const key = `${ns}/${service}`;
    let waypoint = this.byService.get(key);
    if (waypoint === undefined) {
      const labels = InventoryIndex.of(this.inventory!).services(service, ns)[0]?.labels;
      const choice = chooseWaypoint(this.inventory!, ns, labels, this.inventory!.namespaces.get(ns)?.labels, true);
      this.byService.set(key, (waypoint = choice.kind === 'named' ? { ns: choice.ns, name: choice.name } : null));
    }
    return waypoint;
  }
}

function callersOf(groups: CallerGroup[]): number {
  return new Set(groups.flatMap((g) => g.callers.map((c) => c.principal))).size;
}

function headerComment(body: YamlWriter, dest: DestinationEvidence): void {
  if (dest.groups.length === 0) body.comment(0, `${dest.key}: no call observed allowed, ${plural(dest.deniedCalls, 'observed denied call')}: an ALLOW policy without rules allows nothing.`);
  else body.comment(0, `${dest.key}: ${plural(dest.calls, 'allowed call')} from ${plural(callersOf(dest.groups), 'caller')}${dest.deniedCalls ? `; ${plural(dest.deniedCalls, 'observed denied call')} stay denied` : ''}.`);
}

function policyHead(body: YamlWriter, name: string, namespace: string): void {
  body.key(0, 'apiVersion', 'security.istio.io/v1').key(0, 'kind', 'AuthorizationPolicy');
  body.key(0, 'metadata').key(2, 'name', name).key(2, 'namespace', namespace);
  body.key(0, 'spec');
}

/** The workload's own policy (a sidecar's, or ztunnel's in ambient mode, where only principals and ports stay). */
function writeWorkloadPolicy(body: YamlWriter, dest: DestinationEvidence, selector: Record<string, string>, l4Only: boolean, waypoint: { waypoint: ThroughWaypoint['waypoint']; ports: Set<number | undefined>; calls: number } | undefined, ambient: AmbientTopology, plaintext: PlaintextCallers): string {
  const name = dnsName(dest.workload ?? 'workload', 'least-privilege');
  body.document();
  headerComment(body, dest);
  if (l4Only) body.comment(0, 'Ambient mode: ztunnel enforces this policy and sees L4 only (principals, ports).');
  policyHead(body, name, dest.namespace);
  body.key(2, 'selector').key(4, 'matchLabels');
  for (const [k, v] of Object.entries(selector)) body.key(6, k, v);
  body.key(2, 'action', 'ALLOW');
  if (dest.groups.length === 0 && !waypoint) return name;
  body.key(2, 'rules');
  for (const group of dest.groups) writeRule(body, group, l4Only ? 'l4' : 'full', plaintext);
  const identity = waypoint ? waypointPrincipal(ambient.trustDomain, waypoint.waypoint) : undefined;
  // (the logs' own ztunnel lines of the waypoint's connections may have given that rule already)
  const admitted = (group: CallerGroup): Set<number | undefined> => new Set([...group.operations.map((o) => o.port), ...group.tcp.map((t) => t.port)]);
  const already = waypoint && dest.groups.some((g) => g.callers.some((c) => principal(c.principal) === identity) && [...waypoint.ports].every((p) => admitted(g).has(p)));
  if (waypoint && identity && !already) {
    body.comment(4, `${plural(waypoint.calls, 'call')} through the waypoint ${waypoint.waypoint.ns}/${waypoint.waypoint.name}, which checks the callers (its policy below); ztunnel sees the waypoint`);
    body.line(4, '- from:');
    body.line(8, '- source:');
    body.list(12, 'principals', [{ value: identity }]);
    const ports = [...waypoint.ports].filter((p): p is number => p !== undefined).sort((a, b) => a - b);
    if (ports.length && !waypoint.ports.has(undefined)) {
      body.key(6, 'to');
      body.line(8, '- operation:');
      body.list(12, 'ports', ports.map((p) => ({ value: String(p) })));
    }
  }
  return name;
}

/** The calls to a Service through its waypoint: a policy attached to the Service, which the waypoint enforces. */
function writeWaypointPolicy(body: YamlWriter, dest: DestinationEvidence, through: ThroughWaypoint, plaintext: PlaintextCallers): void {
  body.document();
  headerComment(body, dest);
  policyHead(body, dnsName(through.service, 'waypoint-least-privilege'), dest.namespace);
  body.key(2, 'targetRefs');
  body.line(4, '- kind: Service');
  body.line(6, 'group: ""');
  body.key(6, 'name', through.service);
  body.key(2, 'action', 'ALLOW');
  if (dest.groups.length === 0) return;
  body.key(2, 'rules');
  for (const group of dest.groups) writeRule(body, group, 'no-ports', plaintext);
}

/**
 * One rule: the group's callers, and per port and method set the paths. `l4`: ports only (ztunnel
 * drops an ALLOW rule with HTTP attributes); `no-ports`: methods and paths only (at a waypoint the
 * Service scopes the policy, and the record's port is the pod's, not the Service's).
 */
function writeRule(body: YamlWriter, group: CallerGroup, form: 'full' | 'l4' | 'no-ports', plaintext: PlaintextCallers): void {
  const identities = group.callers.filter((c) => !c.network);
  const addresses = group.callers.filter((c) => c.network);
  body.comment(4, `${plural(group.calls, 'call')} from ${group.callers.map((c) => (c.network ? `${c.network} (plaintext)` : c.principal)).join(', ')}`);
  let ops: RuleOperation[] = [...group.operations.map((o) => ({ op: o as Operation | undefined, port: o.port, calls: o.calls })), ...group.tcp.map((t) => ({ op: undefined as Operation | undefined, port: t.port, calls: t.calls }))];
  if (form === 'l4') {
    const byPort = new Map<number | undefined, number>();
    for (const o of ops) byPort.set(o.port, (byPort.get(o.port) ?? 0) + o.calls);
    ops = [...byPort].map(([port, calls]) => ({ op: undefined, port, calls }));
  }
  if (form === 'no-ports') ops = ops.filter((o) => o.op !== undefined).map((o) => ({ ...o, port: undefined }));
  // On a TCP chain Istio drops a whole ALLOW rule that has an HTTP attribute in any of its
  // operations, so the connections get a rule of their own.
  const httpOnly = (o: RuleOperation): boolean => o.op !== undefined && (o.op.methods.length > 0 || (o.op.paths.length > 0 && o.op.paths.every((p) => p.value !== '')));
  const http = ops.filter(httpOnly);
  const tcp = ops.filter((o) => !httpOnly(o));
  if (http.length && tcp.length) {
    writeRuleOf(body, identities, addresses, http, form, plaintext);
    body.comment(4, `${plural(tcp.reduce((sum, o) => sum + o.calls, 0), 'TCP connection')} from the same callers: a rule without HTTP attributes, which Istio keeps on TCP`);
    writeRuleOf(body, identities, addresses, tcp, form, plaintext);
    return;
  }
  writeRuleOf(body, identities, addresses, ops, form, plaintext);
}

type RuleOperation = { op: Operation | undefined; port: number | undefined; calls: number };

function writeRuleOf(body: YamlWriter, identities: Caller[], addresses: Caller[], ops: RuleOperation[], form: 'full' | 'l4' | 'no-ports', plaintext: PlaintextCallers): void {
  const anyPort = ops.every((o) => o.port === undefined && !o.op); // TCP on an unknown port: any port
  const admitAny = addresses.length > 0 && plaintext === 'any';
  if (admitAny) {
    const ports = [...new Set(ops.map((o) => o.port).filter((p) => p !== undefined))].sort((a, b) => a - b);
    body.comment(4, `WARNING (--plaintext-callers any): no from: any plaintext client that reaches ${ports.length ? `port ${ports.join(', ')}` : 'the workload'} (and any mTLS caller) is admitted for these requests, not only ${addresses.map((c) => c.network!.replace(/\/(32|128)$/, '')).join(', ')}`);
  }
  let first = '- ';
  if (!admitAny) {
    body.line(4, '- from:');
    first = '  ';
    if (identities.length) {
      body.line(8, '- source:');
      body.list(12, 'principals', identities.map((c) => ({ value: principal(c.principal), note: plural(c.calls, 'call') })));
    }
    if (addresses.length) {
      body.line(8, '- source:', 'plaintext callers (no peer identity), by address');
      body.list(12, 'ipBlocks', addresses.map((c) => ({ value: c.network!, note: plural(c.calls, 'call') })));
    }
  }
  if (anyPort) {
    if (admitAny) body.line(4, '- {}');
    return;
  }
  body.line(4, `${first}to:`);
  for (const { op, port, calls } of ops) {
    body.line(8, '- operation:', op ? plural(calls, 'call') : form === 'l4' ? plural(calls, 'call') : `${plural(calls, 'TCP connection')}`);
    if (port !== undefined) body.list(12, 'ports', [{ value: String(port) }]);
    if (!op) continue;
    if (op.methods.length) body.list(12, 'methods', op.methods.map((m) => ({ value: m })));
    // a request whose path the log does not give cannot be narrowed by path
    if (op.paths.every((p) => p.value !== '')) {
      body.list(12, 'paths', op.paths.map((p) => ({
        value: p.value,
        note: p.kind === 'template' ? `${p.distinct} distinct paths, ${plural(p.calls, 'call')}` : plural(p.calls, 'call'),
      })));
    }
  }
}

/**
 * A caller the log shows without a peer identity that connected in plaintext: `principal: null`,
 * or no principal, no `outbound_…` SNI (the one Istio's mutual TLS sets) and no caller workload
 * found (a client outside the inventory, such as a Prometheus). Allowed by address where the port's
 * mTLS mode accepts plaintext; under STRICT the proxy admits none, so the log's gap hides an
 * identity and no address stands in for it.
 */
function plaintextCaller(r: AccessRecord, peerModes: PeerModes): AddressCaller | undefined {
  const source = r.source;
  const d = r.destination;
  if (!source || source.principal || !d?.namespace) return undefined;
  // a caller ingest found (a meshed workload) whose identity the log lacks keeps its own skip reason
  if (source.principal === undefined && (r.sni?.startsWith('outbound_') || source.workload !== undefined || source.namespace !== undefined)) return undefined;
  const network = sourceNetwork(r);
  if (!network) return undefined;
  const modes = peerModes.at(d);
  // PeerAuthentication does not govern a gateway's listener: its clients stay skipped as before
  if (modes === undefined) return undefined;
  const port = d.port !== undefined ? `port ${d.port}` : 'the workload';
  if (modes.includes('STRICT')) {
    return { skip: `plaintext caller to ${port}, where mTLS is ${modes.join(' or ')}: under STRICT the proxy rejects plaintext, so the call carried an identity the log does not give; no rule by address` };
  }
  return { network };
}

/** The effective mTLS modes of a workload port, as the simulator composes PeerAuthentication (spec §1.8). */
class PeerModes {
  private readonly compiled: IstioCompiledPolicies;
  private readonly cache = new Map<string, PeerModeAnswer['modes'] | undefined>();

  constructor(options: GenerateOptions) {
    const config = options.config ?? defaultConfig('.');
    this.compiled = new IstioCompiledPolicies({ resources: options.peerAuthentications ?? [], inventory: options.inventory ?? emptyInventory(), config });
  }

  /** Undefined where PeerAuthentication does not govern the proxy (a gateway). */
  at(d: NonNullable<AccessRecord['destination']>): PeerModeAnswer['modes'] | undefined {
    const key = `${d.namespace}/${d.workload ?? ''}/${d.port ?? ''}/${d.labels ? JSON.stringify(d.labels) : ''}`;
    if (this.cache.has(key)) return this.cache.get(key);
    const destination = { ...(d.namespace ? { namespace: d.namespace } : {}), ...(d.workload ? { workload: d.workload } : {}), ...(d.labels ? { labels: d.labels } : {}), ...(d.port !== undefined ? { port: d.port } : {}) };
    const points = this.compiled.enforcementPoints(destination);
    const peer = points[points.length - 1]?.peerAuthentication;
    const modes = peer ? (peer.ports.find((p) => p.port === d.port)?.mode ?? peer.workload).modes : undefined;
    this.cache.set(key, modes);
    return modes;
  }
}

const principal = withoutSpiffe;

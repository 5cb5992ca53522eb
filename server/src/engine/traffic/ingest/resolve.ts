import type { Mesh } from '../../meshes';
import { InventoryIndex, portOf, stripPort, type WorkloadMatch } from '../../inventory/inventoryIndex';
import type { ServiceInfo, WorkloadInfo } from '../../inventory/inventory';
import type { AccessRecord } from '../accessRecord';
import type { ParsedLine } from '../readerTypes';
import { consulServiceName, isMeshed, parsePrincipal, principalFor, workloadNameFromPod, type LinkerdIdentityNames, type PrincipalParts } from './identity';
import { copyString } from '../../strings';
import { detach } from './shapes';
import type { ResolutionMethod } from './types';

type Source = NonNullable<AccessRecord['source']>;
type Destination = NonNullable<AccessRecord['destination']>;

/** The proxy that wrote a line, from the shipper's metadata. */
interface Writer {
  match?: WorkloadMatch;
  namespace?: string;
  /** Workload name: from the inventory, or guessed from the pod name when the inventory lacks it. */
  name: string;
  /** The pod's labels as the shipper saw them, when the inventory lacks the workload. */
  labels?: Record<string, string>;
}

export interface ResolverOptions {
  index: InventoryIndex;
  /** Istio trust domain for principals built from service accounts. */
  trustDomain: string;
  /** Linkerd's identity names for those principals (default: `linkerd`, `cluster.local`). */
  linkerd?: LinkerdIdentityNames;
  /** Mesh of records that do not say. */
  defaultMesh: Mesh;
}

export interface Resolution {
  sourceMethod: ResolutionMethod;
  sourceReason?: string | undefined;
  destinationMethod: ResolutionMethod;
  destinationReason?: string | undefined;
}

interface PrincipalFacts {
  parts: PrincipalParts;
  workload: WorkloadInfo | undefined;
}

/** A caller found on the client side of a call, to copy into the server-side record. */
export type ClientIdentity = Source;

/** The identity gap of a call derived from a gateway's line: its caller is the gateway's client. */
export const GATEWAY_CLIENT_GAP = "a gateway's line does not record its own client's identity";

const LOCAL_ADDRESSES = new Set(['127.0.0.1', '127.0.0.6', '0.0.0.0', '::1', '::', '-', '']);

/**
 * Fills in who called whom, in the order of issue 3 §3: identity fields in the line; the shipper's
 * metadata; the client-side line joined on x-request-id; the inventory's pod IPs. Destinations are
 * completed from the shipper (server-side lines), the line, the joined line, IPs and host names,
 * then labels, service account, Service and container port come from the inventory.
 */
export class Resolver {
  private readonly writers = new Map<string, Writer | null>();
  private readonly hasPodIps: boolean;
  /** sourceFromMatch results per (mesh, meshed): shared, read-only objects. */
  private readonly sourceCaches = [0, 1, 2, 3, 4, 5].map(() => new Map<WorkloadMatch, Source>());
  private readonly canonical = new Map<ServiceInfo, string[]>();
  private readonly principals = new Map<string, PrincipalFacts | null>();

  constructor(private readonly options: ResolverOptions) {
    this.hasPodIps = options.index.inventory.workloads.some((w) => w.ips.length > 0);
  }

  get index(): InventoryIndex {
    return this.options.index;
  }

  /** The workload whose proxy wrote the line, from shipper metadata. */
  writer(p: ParsedLine): Writer | undefined {
    const shipper = p.shipper;
    if (!shipper?.pod) return undefined;
    const key = `${shipper.namespace ?? ''}/${shipper.pod}`;
    let writer = this.writers.get(key);
    if (writer === undefined) {
      const match = this.options.index.workloadForPod(shipper.pod, shipper.namespace, shipper.labels);
      writer = match
        ? { match, namespace: match.namespace, name: match.name }
        : { ...(shipper.namespace ? { namespace: copyString(shipper.namespace) } : {}), name: copyString(workloadNameFromPod(shipper.pod)), ...(hasKeys(shipper.labels) ? { labels: detach(shipper.labels) } : {}) };
      if (this.writers.size > 100_000) this.writers.clear();
      // (copies: strings cut out of a line keep its chunk of input alive as long as the entry)
      this.writers.set(copyString(key), writer);
    }
    return writer ?? undefined;
  }

  /**
   * A gateway's client-side line is also the server side of the call the gateway received (where
   * its own AuthorizationPolicy applied). For lines written by an Istio gateway, that call: from
   * the line's downstream address to the gateway, allowed when the gateway passed it upstream.
   */
  gatewayLeg(p: ParsedLine): ParsedLine | undefined {
    if (p.side !== 'outbound') return undefined;
    const match = this.writer(p)?.match;
    if (!match || !isGateway(match.labels)) return undefined;
    const r = p.record;
    const record: AccessRecord = {};
    if (r.time !== undefined) record.time = r.time;
    record.mesh = r.mesh ?? this.options.defaultMesh;
    if (r.protocol) record.protocol = r.protocol;
    record.source = r.source?.ip ? { ip: r.source.ip } : {};
    record.destination = match.workload.ports.length === 1 ? { port: match.workload.ports[0]!.containerPort } : {};
    if (r.request) record.request = { ...r.request };
    if (r.response) record.response = { ...r.response };
    record.observed = r.response?.details === 'via_upstream' ? 'allowed' : 'unknown';
    record.count = 1;
    return { kind: 'record', record, side: 'inbound', ...(p.shipper ? { shipper: p.shipper } : {}), identityGap: GATEWAY_CLIENT_GAP };
  }

  /** The caller as the client-side (outbound) line knows it, for a joined server-side line.
   * Read-only (shared between calls); holds no string of the line, so it may outlive it. */
  clientIdentity(p: ParsedLine): ClientIdentity | undefined {
    const r = p.record;
    const mesh = r.mesh ?? this.options.defaultMesh;
    const s = r.source;
    if (s && hasIdentity(s)) {
      const copy = detach(s);
      this.fromPrincipal(copy, mesh);
      return copy;
    }
    const writer = this.writer(p);
    if (writer) return this.sourceFromWriter(writer, mesh, true);
    const byIp = s?.ip ? this.options.index.byIp(s.ip) : undefined;
    if (byIp?.kind === 'pod') return this.sourceFromMatch(byIp.match, mesh, true);
    return undefined;
  }

  /**
   * Resolves `base` in place. `client` is the client-side line joined to it (base is then the
   * server side); `caller` the caller the client side gives (computed from `client` when
   * undefined; null when the client side does not know it), also for a server-side retry that
   * reuses an earlier join of the same x-request-id.
   */
  resolve(base: ParsedLine, client?: ParsedLine, caller?: ClientIdentity | null, out: Resolution = { sourceMethod: 'unresolved', destinationMethod: 'unresolved' }): Resolution {
    const r = base.record;
    normalize(r);
    const mesh = r.mesh ?? this.options.defaultMesh;
    const src = (r.source ??= {});
    let sourceMethod: ResolutionMethod | undefined;
    // 1. identity fields in the line
    if (hasIdentity(src)) {
      sourceMethod = 'line';
      this.fromPrincipal(src, mesh);
      if (!src.workload) this.enrichSourceByIp(src, mesh);
    }
    // 2. the shipper's metadata: the writer is the caller of an outbound line
    if (!sourceMethod && base.side === 'outbound') {
      const writer = this.writer(base);
      if (writer) {
        sourceMethod = 'shipper';
        assignMissing(src, this.sourceFromWriter(writer, mesh, true));
      }
    }
    // 3. the client-side line of the same call
    if (!sourceMethod && (client || caller !== undefined)) {
      const identity = caller === undefined ? this.clientIdentity(client!) : caller;
      if (identity) {
        sourceMethod = 'join';
        assignMissing(src, identity, true);
      }
    }
    // 4. the inventory's pod IPs
    if (!sourceMethod && src.ip) {
      const byIp = this.options.index.byIp(src.ip);
      if (byIp?.kind === 'pod') {
        sourceMethod = 'ip';
        assignMissing(src, this.sourceFromMatch(byIp.match, mesh, base.side === 'inbound' && mesh === 'istio' && (r.sni?.startsWith('outbound_') ?? false)));
      }
    }
    let sourceReason: string | undefined;
    if (!sourceMethod) {
      sourceMethod = 'unresolved';
      sourceReason = this.sourceReason(base, client !== undefined || caller !== undefined);
    }
    // A native log without the caller's identity: absent would read as plaintext, which nothing
    // showed. (An ingress gateway's clients come from outside the mesh: plaintext, as before.)
    if (src.principal === undefined && base.identityGap !== undefined && base.identityGap !== GATEWAY_CLIENT_GAP) src.principalUnknown = true;
    out.sourceMethod = sourceMethod;
    out.sourceReason = sourceReason;
    this.resolveDestination(base, client, mesh, out);
    // one object shape for every resolved record: folding compares these fields call after call
    r.source = fixedSource(src);
    if (src.principalUnknown) r.source.principalUnknown = true;
    if (src.principalInferred && r.source.principal !== undefined) r.source.principalInferred = true;
    r.destination = fixedDestination(r.destination!);
    return out;
  }

  private sourceReason(p: ParsedLine, joined: boolean): string {
    const src = p.record.source;
    if (p.identityGap === GATEWAY_CLIENT_GAP) return this.hasPodIps && src?.ip && this.options.index.byIp(src.ip) === undefined ? "gateway client outside the inventory" : 'gateway client: no identity in the line, no pod IPs in the inventory';
    if (p.side === 'outbound' && p.shipper?.pod === undefined && !src?.ip) return 'client-side line without shipper metadata or source IP';
    if (!src?.ip || LOCAL_ADDRESSES.has(src.ip)) return p.requestId && !joined ? 'no caller identity or IP in the line, and no client-side line with its x-request-id' : 'no caller identity or IP in the line';
    if (!this.hasPodIps) return 'no caller identity in the line, and the inventory has no pod IPs';
    const byIp = this.options.index.byIp(src.ip);
    if (byIp?.kind === 'service') return 'caller IP is a Service IP';
    return 'caller IP not in the inventory';
  }

  private resolveDestination(base: ParsedLine, client: ParsedLine | undefined, mesh: Mesh, out: Resolution): void {
    const r = base.record;
    const index = this.options.index;
    const d = (r.destination ??= {});
    let method: ResolutionMethod | undefined;
    let match: WorkloadMatch | undefined;
    let service: ServiceInfo | undefined;
    // the writer of a server-side line is the destination (a waypoint's line: the waypoint is not)
    if (base.side === 'inbound' && base.waypoint !== true) {
      const writer = this.writer(base);
      if (writer) {
        method = 'shipper';
        match = writer.match;
        if (!match) {
          if (writer.namespace && mesh !== 'consul') d.namespace ??= writer.namespace;
          d.workload ??= writer.name;
          if (!d.labels && writer.labels) d.labels = writer.labels;
        }
      }
    }
    if (!method && d.workload) method = 'line';
    // what the client side knew (the Service it called, the pod it reached)
    if (client) {
      const c = client.record.destination;
      if (c) {
        if (!method && !d.service && c.service) method = 'join';
        if (c.service) d.service ??= c.service;
        if (c.namespace) d.namespace ??= c.namespace;
        if (!d.ip && c.ip && !LOCAL_ADDRESSES.has(c.ip)) d.ip = c.ip;
      }
    }
    if (!match && d.ip && !LOCAL_ADDRESSES.has(d.ip)) {
      const byIp = index.byIp(d.ip);
      if (byIp?.kind === 'pod') { match = byIp.match; method ??= 'ip'; }
      else if (byIp?.kind === 'service') { service = byIp.service; method ??= 'ip'; }
    }
    if (!method && d.service) method = 'line';
    if (d.service) service ??= this.serviceFor(d.service, d.namespace, mesh);
    const host = r.request?.host;
    if (!service && !match && host && !d.workload) {
      service = index.serviceByHost(host, d.namespace ?? r.source?.namespace);
      if (service) method ??= 'host';
    }
    if (!service && !match && r.sni) {
      const sniService = serviceFromSni(r.sni);
      if (sniService) {
        service = this.serviceFor(sniService, d.namespace, mesh);
        if (service) method ??= 'host';
      }
    }
    if (!match && d.workload && d.namespace) {
      const w = index.workload(d.namespace, d.workload);
      if (w) match = { workload: index.topLevel(w), name: index.topLevel(w).name, labels: w.labels, serviceAccount: w.serviceAccount, namespace: w.namespace };
    }
    if (!match && service) {
      const workloads = index.workloadsFor(service);
      if (workloads.length === 1) {
        const w = workloads[0]!;
        match = { workload: w, name: w.name, labels: w.labels, serviceAccount: w.serviceAccount, namespace: w.namespace };
      }
    }
    const kubernetesNamespace = mesh !== 'consul';
    if (match) {
      if (kubernetesNamespace) d.namespace ??= match.namespace;
      d.workload ??= match.name;
      d.serviceAccount ??= match.serviceAccount;
      if (!d.labels && hasKeys(match.labels)) d.labels = match.labels;
      if (!service && base.addressedToPod !== true) {
        const services = index.servicesFor(match.workload);
        if (services.length === 1) service = services[0];
      }
    }
    if (service) {
      if (kubernetesNamespace) d.namespace ??= service.namespace;
      d.service = this.canonicalService(service, mesh, d.service);
      this.resolvePort(d, service, match, host);
    }
    if (mesh === 'consul' && match && d.port !== undefined && match.workload.ports.length === 1 && !match.workload.ports.some((p) => p.containerPort === d.port)) {
      // the sidecar's public listener (20000 by default) forwards to the application's one port
      d.port = match.workload.ports[0]!.containerPort;
    }
    if (d.port === undefined && match && host) {
      // a host naming the pod itself (ip:port, as scrapers and probes do): the port is the container port
      const hostPort = portOf(host);
      if (hostPort !== undefined && match.workload.ports.some((p) => p.containerPort === hostPort)) d.port = hostPort;
    }
    out.destinationMethod = method ?? 'unresolved';
    out.destinationReason = method ? undefined : d.ip || host ? 'destination not in the inventory' : 'no destination in the line';
  }

  /** Turns a Service port into the container port policies match, or finds the port from the host. */
  private resolvePort(d: Destination, service: ServiceInfo, match: WorkloadMatch | undefined, host: string | undefined): void {
    const index = this.options.index;
    if (d.port === undefined) {
      const hostPort = host ? portOf(host) : undefined;
      const servicePort = hostPort ?? (service.ports.length === 1 ? service.ports[0]!.port : service.ports.some((p) => p.port === 80) ? 80 : undefined);
      if (servicePort === undefined) return;
      const targets = index.targetPort(service, servicePort);
      if (targets.length === 1) d.port = targets[0]!.containerPort;
      return;
    }
    const containerPorts = match ? match.workload.ports : [];
    if (containerPorts.some((p) => p.containerPort === d.port)) return;
    if (!service.ports.some((p) => p.port === d.port)) return;
    const targets = index.targetPort(service, d.port);
    if (targets.length === 1) d.port = targets[0]!.containerPort;
  }

  /** Istio writes FQDNs (`cart.shop.svc.cluster.local`); Linkerd and Consul the bare name. A
   * value the reader set that already names the Service is kept as written. */
  private canonicalService(service: ServiceInfo, mesh: Mesh, current: string | undefined): string {
    let names = this.canonical.get(service);
    // flat copies: these names go into every record of the Service, and are hashed and compared there
    if (!names) this.canonical.set(service, (names = [copyString(`${service.name}.${service.namespace}.svc.cluster.local`), service.name]));
    const wanted = mesh === 'istio' ? names[0]! : names[1]!;
    if (current === undefined || current === wanted) return wanted;
    return canonicalService(service, mesh, current);
  }

  private serviceFor(name: string, namespace: string | undefined, mesh: Mesh): ServiceInfo | undefined {
    const index = this.options.index;
    const found = index.serviceByHost(name, namespace);
    if (found) return found;
    // Consul names services without the Kubernetes namespace (its own namespace is "default" in CE).
    if (mesh === 'consul') {
      const anywhere = index.services(stripPort(name).split('.')[0]!);
      if (anywhere.length === 1) return anywhere[0];
    }
    return undefined;
  }

  private sourceFromWriter(writer: Writer, mesh: Mesh, meshed: boolean): Source {
    if (writer.match) return this.sourceFromMatch(writer.match, mesh, meshed);
    return { ...(writer.namespace && mesh !== 'consul' ? { namespace: writer.namespace } : {}), workload: writer.name, ...(writer.labels ? { labels: writer.labels } : {}) };
  }

  /** The caller fields a known workload gives. `meshed` says the call certainly came through its
   * proxy (a client-side line exists), so it presented the workload's mesh identity. */
  private sourceFromMatch(match: WorkloadMatch, mesh: Mesh, meshed: boolean): Source {
    const cache = this.sourceCaches[(mesh === 'istio' ? 0 : mesh === 'linkerd' ? 2 : 4) + (meshed ? 1 : 0)]!;
    let source = cache.get(match);
    if (!source) {
      source = this.buildSourceFromMatch(match, mesh, meshed);
      cache.set(match, source);
    }
    return source;
  }

  private buildSourceFromMatch(match: WorkloadMatch, mesh: Mesh, meshed: boolean): Source {
    const index = this.options.index;
    // Consul policies name Consul namespaces, not Kubernetes ones: only the line can say those.
    const out: Source = mesh === 'consul' ? { workload: match.name, serviceAccount: match.serviceAccount } : { namespace: match.namespace, workload: match.name, serviceAccount: match.serviceAccount };
    if (Object.keys(match.labels).length) out.labels = match.labels;
    const pod = match.pod ?? match.workload;
    const withProxy = meshed || isMeshed(index, { namespace: match.namespace, labels: match.labels, annotations: pod.annotations, istioProxy: pod.istioProxy === true }, mesh) === true;
    if (withProxy) {
      const principal = principalFor(mesh, match.namespace, match.serviceAccount, this.options.trustDomain, this.options.linkerd);
      if (principal) {
        out.principal = copyString(principal); // flat: shared by every call of the workload
        out.principalInferred = true;
      }
    }
    if (mesh === 'consul') out.service = consulServiceName(index, match.workload);
    return out;
  }

  /** Namespace, service account (or Consul service) from the principal; the workload when exactly one runs as it. */
  private fromPrincipal(src: Source, mesh: Mesh): void {
    if (!src.principal) return;
    const facts = this.principalFacts(src.principal);
    if (!facts) return;
    const parts = facts.parts;
    src.namespace ??= parts.namespace;
    if (parts.serviceAccount) src.serviceAccount ??= parts.serviceAccount;
    if (parts.service) src.service ??= parts.service;
    if (!src.workload && facts.workload) {
      src.workload = facts.workload.name;
      if (!src.labels && hasKeys(facts.workload.labels)) src.labels = facts.workload.labels;
    }
    void mesh;
  }

  /** What a principal says, and the one workload that runs as it: principals repeat call after call. */
  private principalFacts(principal: string): PrincipalFacts | null {
    let facts = this.principals.get(principal);
    if (facts === undefined) {
      const parts = parsePrincipal(principal);
      facts = null;
      if (parts) {
        const workloads = parts.serviceAccount ? this.options.index.workloadsForServiceAccount(parts.namespace, parts.serviceAccount) : [];
        facts = { parts, workload: workloads.length === 1 ? workloads[0] : undefined };
      }
      if (this.principals.size >= 100_000) this.principals.clear();
      this.principals.set(copyString(principal), facts);
    }
    return facts;
  }

  /** A caller named by the line (or plaintext): add the workload its IP belongs to, when consistent. */
  private enrichSourceByIp(src: Source, mesh: Mesh): void {
    if (!src.ip) return;
    const byIp = this.options.index.byIp(src.ip);
    if (byIp?.kind !== 'pod') return;
    const m = byIp.match;
    if (src.namespace && src.namespace !== m.namespace) return;
    if (src.serviceAccount && src.serviceAccount !== m.serviceAccount) return;
    src.namespace ??= m.namespace;
    src.workload = m.name;
    if (src.principal !== null) src.serviceAccount ??= m.serviceAccount;
    if (!src.labels && hasKeys(m.labels)) src.labels = m.labels;
    void mesh;
  }
}

/** Istio gateways: Gateway API (class istio) deployments and the classic ingress/egress gateways. */
function isGateway(labels: Record<string, string>): boolean {
  return labels['gateway.networking.k8s.io/gateway-name'] !== undefined || labels['istio.io/gateway-name'] !== undefined
    || labels['istio'] === 'ingressgateway' || labels['istio'] === 'egressgateway' || labels['app'] === 'istio-ingressgateway';
}

function fixedSource(s: Source): Source {
  return { principal: s.principal, namespace: s.namespace, serviceAccount: s.serviceAccount, workload: s.workload, service: s.service, ip: s.ip, remoteIp: s.remoteIp, labels: s.labels };
}

function fixedDestination(d: Destination): Destination {
  return { namespace: d.namespace, workload: d.workload, service: d.service, serviceAccount: d.serviceAccount, labels: d.labels, ip: d.ip, port: d.port };
}

/** Whether the line itself says who the caller is (a null principal says: plaintext). */
export function hasIdentity(s: Source): boolean {
  return s.principal !== undefined || s.workload !== undefined || s.serviceAccount !== undefined || s.service !== undefined;
}

function assignMissing(into: Source, from: Source, exceptAddresses = false): void {
  for (const key in from) {
    if (exceptAddresses && (key === 'ip' || key === 'remoteIp')) continue;
    const k = key as keyof Source;
    if (into[k] === undefined && from[k] !== undefined) (into as Record<string, unknown>)[k] = from[k];
  }
}

function hasKeys(o: object | undefined): o is object {
  if (!o) return false;
  for (const _ in o) return true;
  return false;
}

/** Addresses without ports; a port in destination.ip moves to destination.port. */
function normalize(r: AccessRecord): void {
  const s = r.source;
  if (s) {
    if (s.ip && s.ip.includes(':')) s.ip = stripPort(s.ip);
    if (s.remoteIp && s.remoteIp.includes(':')) s.remoteIp = stripPort(s.remoteIp);
  }
  const d = r.destination;
  if (d?.ip && d.ip.includes(':')) {
    const port = portOf(d.ip);
    d.ip = stripPort(d.ip);
    if (d.port === undefined && port !== undefined) d.port = port;
  }
}

/** Istio writes FQDNs (`cart.shop.svc.cluster.local`); Linkerd and Consul the bare name. A value
 * the reader set that already names the Service is kept as written. */
function canonicalService(service: ServiceInfo, mesh: Mesh, current: string | undefined): string {
  if (current) {
    const bare = stripPort(current).toLowerCase();
    if (bare === service.name || bare.startsWith(`${service.name}.${service.namespace}`) || (mesh === 'consul' && bare.split('.')[0] === service.name)) return current;
  }
  return mesh === 'istio' ? `${service.name}.${service.namespace}.svc.cluster.local` : service.name;
}

/** `outbound_.8000_._.httpbin.foo.svc.cluster.local` → `httpbin.foo.svc.cluster.local`;
 * Consul `api.default.dc1.internal.<uuid>.consul` → `api`. */
export function serviceFromSni(sni: string): string | undefined {
  const istio = /^outbound_\.\d+_\.[^_]*_\.(.+)$/.exec(sni);
  if (istio) return istio[1];
  const consul = /^([^.]+)\.[^.]+\.[^.]+\.internal(?:-v\d+)?\.[^.]+\.consul$/.exec(sni);
  if (consul) return consul[1];
  return undefined;
}

import { copyString } from '../strings';
import { matchesLabels, type Inventory, type NamespaceInfo, type ServiceAccountInfo, type ServiceInfo, type ServicePort, type WorkloadInfo } from './inventory';

/**
 * Lookups over an {@link Inventory} for traffic resolution: IP → pod/workload or Service,
 * pod name → workload, Service → workloads by selector, named targetPort → container port,
 * host names → Service. Built once per inventory; every lookup is a map access or a short scan.
 */

/** A workload as traffic records name it: the top-level controller (Deployment, StatefulSet, ...)
 * and, when the inventory has it, the Pod itself. */
export interface WorkloadMatch {
  /** The top-level workload: a Deployment rather than its ReplicaSet, a CronJob rather than its Job. */
  workload: WorkloadInfo;
  /** Name to put in records: the top-level workload's name (or, for a bare Pod, its name). */
  name: string;
  /** The Pod, when the match came from a Pod object (IP or pod name). */
  pod?: WorkloadInfo;
  /** Labels of the Pod when known, else of the pod template. */
  labels: Record<string, string>;
  serviceAccount: string;
  namespace: string;
}

export type IpMatch = { kind: 'pod'; match: WorkloadMatch } | { kind: 'service'; service: ServiceInfo };

export interface ResolvedPort {
  /** The container port a Service port forwards to. */
  containerPort: number;
  /** Name of the container port, when it has one. */
  name?: string;
}

const TEMPLATE_KINDS = new Set(['Deployment', 'StatefulSet', 'DaemonSet', 'ReplicaSet', 'Job', 'CronJob', 'ReplicationController']);

export class InventoryIndex {
  private readonly byIpMap = new Map<string, IpMatch>();
  private readonly podsByName = new Map<string, WorkloadInfo[]>();
  private readonly workloadsByNamespace = new Map<string, WorkloadInfo[]>();
  /** The labelled pod templates (workloads other than Pods) per namespace, in inventory order: what a pod without a known owner is matched against (not every pod of its namespace). */
  private readonly templatesByNamespace = new Map<string, WorkloadInfo[]>();
  private readonly servicesByName = new Map<string, ServiceInfo[]>();
  private readonly byKindName = new Map<string, WorkloadInfo>();
  private readonly podMatchCache = new Map<string, WorkloadMatch | null>();
  private readonly servicesForCache = new Map<WorkloadInfo, ServiceInfo[]>();
  private readonly workloadsForCache = new Map<ServiceInfo, WorkloadInfo[]>();
  private readonly hostCache = new Map<string, Map<string, ServiceInfo | null>>();

  /** Workloads the inventory implies without declaring them: the Deployment Istio creates for a
   * Gateway API Gateway of class `istio`. */
  readonly impliedWorkloads: WorkloadInfo[] = [];

  private static readonly shared = new WeakMap<Inventory, InventoryIndex>();

  /** One index per inventory object, shared by whoever asks (it only caches what the inventory says). */
  static of(inventory: Inventory): InventoryIndex {
    let index = InventoryIndex.shared.get(inventory);
    if (!index) InventoryIndex.shared.set(inventory, (index = new InventoryIndex(inventory)));
    return index;
  }

  constructor(readonly inventory: Inventory) {
    for (const g of inventory.gateways ?? []) {
      if (g.className !== 'istio') continue;
      const name = `${g.name}-istio`;
      if (inventory.workloads.some((w) => w.namespace === g.namespace && w.name === name)) continue;
      this.impliedWorkloads.push({
        file: g.file, span: g.span, kind: 'Deployment', name, namespace: g.namespace,
        labels: { 'gateway.networking.k8s.io/gateway-name': g.name, 'istio.io/gateway-name': g.name },
        annotations: {}, serviceAccount: name, ips: [],
        ports: g.ports.map((p) => ({ containerPort: p, protocol: 'TCP' })),
      });
    }
    for (const w of [...inventory.workloads, ...this.impliedWorkloads]) {
      push(this.workloadsByNamespace, w.namespace, w);
      if (w.kind !== 'Pod' && Object.keys(w.labels).length > 0) push(this.templatesByNamespace, w.namespace, w);
      this.byKindName.set(`${w.kind}/${w.namespace}/${w.name}`, w);
      if (w.kind === 'Pod') push(this.podsByName, w.name, w);
    }
    for (const s of inventory.services) push(this.servicesByName, s.name, s);
    // Services first, pods second: a pod IP wins over a (mis-declared) cluster IP.
    for (const s of inventory.services) for (const ip of s.clusterIPs) this.byIpMap.set(ip, { kind: 'service', service: s });
    for (const w of inventory.workloads) {
      if (w.kind !== 'Pod') continue;
      const match = this.matchForPod(w);
      for (const ip of w.ips) this.byIpMap.set(ip, { kind: 'pod', match });
    }
  }

  get present(): boolean {
    return this.inventory.present;
  }

  namespace(name: string): NamespaceInfo | undefined {
    return this.inventory.namespaces.get(name);
  }

  /** Namespace labels, or an empty map when the Namespace object is not in the inventory. */
  namespaceLabels(name: string): Record<string, string> {
    return this.inventory.namespaces.get(name)?.labels ?? {};
  }

  namespaceAnnotations(name: string): Record<string, string> {
    return this.inventory.namespaces.get(name)?.annotations ?? {};
  }

  serviceAccount(namespace: string, name: string): ServiceAccountInfo | undefined {
    return this.inventory.serviceAccounts.find((s) => s.namespace === namespace && s.name === name);
  }

  /** A pod IP (Pods from a cluster dump) or a Service cluster IP. Accepts `ip`, `ip:port` and `[v6]:port`. */
  byIp(address: string | undefined): IpMatch | undefined {
    if (!address) return undefined;
    return this.byIpMap.get(address) ?? this.byIpMap.get(stripPort(address));
  }

  /** The workload a pod belongs to, from the Pod object when the inventory has it, else from the
   * pod name (`<deployment>-<hash>-<suffix>`, `<statefulset>-<ordinal>`, ...) and labels. */
  workloadForPod(podName: string, namespace?: string, labels?: Record<string, string>): WorkloadMatch | undefined {
    const cacheKey = `${namespace ?? ''}\u0000${podName}\u0000${labels ? JSON.stringify(labels) : ''}`;
    const cached = this.podMatchCache.get(cacheKey);
    if (cached !== undefined) return cached ?? undefined;
    const result = this.lookupPod(podName, namespace, labels);
    // (the key is made of strings cut out of log lines: a copy, or it keeps their chunks of input
    // alive for as long as the index, which outlives the read)
    this.podMatchCache.set(copyString(cacheKey), result ?? null);
    return result;
  }

  private lookupPod(podName: string, namespace: string | undefined, labels: Record<string, string> | undefined): WorkloadMatch | undefined {
    const pods = (this.podsByName.get(podName) ?? []).filter((p) => namespace === undefined || p.namespace === namespace);
    if (pods.length === 1) return this.matchForPod(pods[0]!);
    const namespaces = namespace !== undefined ? [namespace] : [...this.workloadsByNamespace.keys()];
    const candidates: { w: WorkloadInfo; score: number }[] = [];
    for (const ns of namespaces) {
      for (const w of this.workloadsByNamespace.get(ns) ?? []) {
        if (w.kind === 'Pod') continue;
        const byName = podNameMatches(w, podName);
        const byLabels = labels && Object.keys(w.labels).length > 0 && matchesLabels(w.labels, labels);
        if (!byName && !byLabels) continue;
        candidates.push({ w, score: (byName ? 2 : 0) + (byLabels ? 1 : 0) + w.name.length / 1000 });
      }
    }
    if (candidates.length === 0) return undefined;
    candidates.sort((a, b) => b.score - a.score);
    const best = candidates[0]!;
    // Two workloads in different namespaces with the same score: the pod name alone cannot tell.
    if (namespace === undefined && candidates.length > 1 && candidates[1]!.score === best.score && candidates[1]!.w.namespace !== best.w.namespace) return undefined;
    const top = this.topLevel(best.w);
    return { workload: top, name: top.name, labels: labels && Object.keys(labels).length ? labels : best.w.labels, serviceAccount: best.w.serviceAccount, namespace: best.w.namespace };
  }

  /** The top-level workload of a Pod (following owner references, pod-template-hash, or a template
   * whose labels the pod carries), or the Pod itself. */
  matchForPod(pod: WorkloadInfo): WorkloadMatch {
    let top: WorkloadInfo | undefined;
    if (pod.owner) {
      const owner = this.byKindName.get(`${pod.owner.kind}/${pod.namespace}/${pod.owner.name}`);
      if (owner) top = this.topLevel(owner);
      else if (pod.owner.kind === 'ReplicaSet') {
        const hash = pod.labels['pod-template-hash'];
        const base = hash && pod.owner.name.endsWith(`-${hash}`) ? pod.owner.name.slice(0, -hash.length - 1) : undefined;
        const deployment = base ? this.byKindName.get(`Deployment/${pod.namespace}/${base}`) : undefined;
        if (deployment) top = deployment;
      }
    }
    if (!top) {
      const templates = (this.templatesByNamespace.get(pod.namespace) ?? []).filter((w) => matchesLabels(w.labels, pod.labels));
      const named = templates.filter((w) => podNameMatches(w, pod.name));
      const chosen = named[0] ?? (templates.length === 1 ? templates[0] : undefined);
      if (chosen) top = this.topLevel(chosen);
    }
    const workload = top ?? pod;
    return { workload, name: top ? top.name : ownerName(pod), pod, labels: pod.labels, serviceAccount: pod.serviceAccount, namespace: pod.namespace };
  }

  /** Follows owner references up: ReplicaSet → Deployment, Job → CronJob. */
  topLevel(w: WorkloadInfo): WorkloadInfo {
    let current = w;
    for (let depth = 0; depth < 4 && current.owner; depth++) {
      const owner = this.byKindName.get(`${current.owner.kind}/${current.namespace}/${current.owner.name}`);
      if (!owner) {
        // A ReplicaSet named <deployment>-<hash> whose Deployment is in the inventory without the link.
        if (current.kind === 'ReplicaSet' && current.owner.kind === 'Deployment') {
          const d = this.byKindName.get(`Deployment/${current.namespace}/${current.owner.name}`);
          if (d) return d;
        }
        break;
      }
      current = owner;
    }
    return current;
  }

  /** A workload by name (a Deployment, StatefulSet, ... or Pod) in a namespace. */
  workload(namespace: string, name: string): WorkloadInfo | undefined {
    const list = this.workloadsByNamespace.get(namespace) ?? [];
    return list.find((w) => w.name === name && w.kind !== 'Pod' && !w.owner) ?? list.find((w) => w.name === name);
  }

  /** Top-level workloads (not Pods, not owned ReplicaSets/Jobs) whose pods run as the service account. */
  workloadsForServiceAccount(namespace: string, serviceAccount: string): WorkloadInfo[] {
    return (this.workloadsByNamespace.get(namespace) ?? []).filter((w) => w.serviceAccount === serviceAccount && isTopLevel(w));
  }

  /** Services whose selector picks the workload's pods. */
  servicesFor(workload: WorkloadInfo): ServiceInfo[] {
    let cached = this.servicesForCache.get(workload);
    if (!cached) {
      cached = this.inventory.services.filter((s) => s.namespace === workload.namespace && s.selector && Object.keys(s.selector).length > 0 && matchesLabels(s.selector, workload.labels));
      this.servicesForCache.set(workload, cached);
    }
    return cached;
  }

  /** Top-level workloads (pod templates, and Pods that belong to none) a Service selects. */
  workloadsFor(service: ServiceInfo): WorkloadInfo[] {
    let cached = this.workloadsForCache.get(service);
    if (!cached) {
      const selector = service.selector;
      const selected = selector && Object.keys(selector).length > 0 ? (this.workloadsByNamespace.get(service.namespace) ?? []).filter((w) => matchesLabels(selector, w.labels)) : [];
      const tops = new Set<WorkloadInfo>();
      for (const w of selected) tops.add(w.kind === 'Pod' ? this.matchForPod(w).workload : this.topLevel(w));
      cached = [...tops];
      this.workloadsForCache.set(service, cached);
    }
    return cached;
  }

  /** Services by name, in one namespace or in all. */
  services(name: string, namespace?: string): ServiceInfo[] {
    const all = this.servicesByName.get(name) ?? [];
    if (namespace === undefined) return all;
    const inNamespace = all.filter((s) => s.namespace === namespace);
    return inNamespace;
  }

  /** A Service from a host or service name: `cart`, `cart.shop`, `cart.shop.svc`,
   * `cart.shop.svc.cluster.local`, with or without `:port`. `namespace` is the caller's namespace,
   * used for short names. */
  serviceByHost(host: string | undefined, namespace?: string): ServiceInfo | undefined {
    if (!host) return undefined;
    let byHost = this.hostCache.get(namespace ?? '');
    if (!byHost) this.hostCache.set(copyString(namespace ?? ''), (byHost = new Map()));
    let found = byHost.get(host);
    if (found === undefined) {
      found = this.lookupHost(host, namespace) ?? null;
      if (byHost.size > 50_000) byHost.clear();
      // (a host cut out of a log line keeps its chunk of input alive: the index outlives the read)
      byHost.set(copyString(host), found);
    }
    return found ?? undefined;
  }

  private lookupHost(host: string, namespace: string | undefined): ServiceInfo | undefined {
    const name = stripPort(host).toLowerCase();
    const parts = name.split('.');
    if (parts.length >= 2) {
      // name.namespace[.svc[.cluster.local]]; other dotted names (external hosts) name no Service
      const inNs = this.services(parts[0]!, parts[1]);
      return inNs.length === 1 ? inNs[0] : undefined;
    }
    const candidates = this.services(name, namespace);
    if (candidates.length === 1) return candidates[0];
    if (namespace !== undefined && candidates.length === 0) {
      const anywhere = this.services(name);
      if (anywhere.length === 1) return anywhere[0];
    }
    return undefined;
  }

  /** The container port(s) a Service port forwards to; a named targetPort is looked up in the
   * container ports of the selected workloads. `servicePort` is the Service port number or name. */
  targetPort(service: ServiceInfo, servicePort: number | string): ResolvedPort[] {
    const port = service.ports.find((p) => (typeof servicePort === 'number' ? p.port === servicePort : p.name === servicePort));
    if (!port) return [];
    return this.resolveTarget(service, port);
  }

  private resolveTarget(service: ServiceInfo, port: ServicePort): ResolvedPort[] {
    const target = port.targetPort ?? port.port;
    const numeric = typeof target === 'number' ? target : /^\d+$/.test(target) ? Number(target) : undefined;
    const workloads = this.workloadsFor(service);
    if (numeric !== undefined) {
      const named = workloads.flatMap((w) => w.ports).find((p) => p.containerPort === numeric && p.name);
      return [{ containerPort: numeric, ...(named?.name ? { name: named.name } : {}) }];
    }
    const out = new Map<number, ResolvedPort>();
    for (const w of workloads) for (const p of w.ports) if (p.name === target) out.set(p.containerPort, { containerPort: p.containerPort, name: p.name });
    return [...out.values()];
  }

  /** The container port with this name in the workload (Linkerd Servers and probes name ports). */
  namedPort(workload: WorkloadInfo, name: string): number | undefined {
    return workload.ports.find((p) => p.name === name)?.containerPort;
  }
}

function isTopLevel(w: WorkloadInfo): boolean {
  return w.kind !== 'Pod' && !w.owner && TEMPLATE_KINDS.has(w.kind);
}

function push<K, V>(map: Map<K, V[]>, key: K, value: V): void {
  const list = map.get(key);
  if (list) list.push(value);
  else map.set(key, [value]);
}

/** `10.0.0.1:80` → `10.0.0.1`; `[fd00::1]:80` → `fd00::1`; a bare IPv6 address is left alone. */
export function stripPort(address: string): string {
  if (address.startsWith('[')) {
    const end = address.indexOf(']');
    return end > 0 ? address.slice(1, end) : address;
  }
  const colon = address.indexOf(':');
  if (colon < 0) return address;
  if (address.indexOf(':', colon + 1) >= 0) return address; // bare IPv6
  return address.slice(0, colon);
}

/** The port of `host:port` / `[v6]:port`, if any. */
export function portOf(address: string): number | undefined {
  const match = /:(\d{1,5})$/.exec(address);
  if (!match) return undefined;
  if (!address.startsWith('[') && address.indexOf(':') !== address.lastIndexOf(':')) return undefined;
  return Number(match[1]);
}

/** Whether a pod name looks like one of the workload's pods: `<deploy>-<hash>-<5>`, `<sts>-<n>`,
 * `<ds|job|rs>-<5>`, `<cronjob>-<n>-<5>`. */
export function podNameMatches(w: WorkloadInfo, podName: string): boolean {
  if (!podName.startsWith(`${w.name}-`)) return false;
  const rest = podName.slice(w.name.length + 1);
  switch (w.kind) {
    case 'Deployment': return /^[a-z0-9]{5,10}-[a-z0-9]{5}$/.test(rest);
    case 'StatefulSet': return /^\d+$/.test(rest);
    case 'CronJob': return /^\d+-[a-z0-9]{5}$/.test(rest);
    case 'DaemonSet': case 'ReplicaSet': case 'Job': case 'ReplicationController': return /^[a-z0-9]{5}$/.test(rest);
    default: return false;
  }
}

/** A bare Pod's name, or its probable controller's when it has an owner we do not know. */
function ownerName(pod: WorkloadInfo): string {
  if (!pod.owner) return pod.name;
  if (pod.owner.kind === 'ReplicaSet') {
    const hash = pod.labels['pod-template-hash'];
    if (hash && pod.owner.name.endsWith(`-${hash}`)) return pod.owner.name.slice(0, -hash.length - 1);
  }
  return pod.owner.name;
}

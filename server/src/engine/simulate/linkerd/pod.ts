import { readFileSync } from 'node:fs';
import type { ContainerPort, Declared, Inventory, WorkloadInfo } from '../../inventory/inventory';
import { fileProbes, workloadKey } from '../../inventory/probes';
import { readSource } from '../../source/read';
import { decodeText, type SourceFile } from '../../source/sourceFile';
import type { SourceRef } from '../types';
import { externalKey, indexExternalWorkloads, type ExternalWorkloadIndex, type ExternalWorkloadInfo } from './external';
import { isDefaultPolicy, type DefaultPolicyName } from './model';

/**
 * The destination pod as the policy controller sees it (linkerd/linkerd2:
 * policy-controller/k8s/index/src/inbound/workload.rs): labels, the annotations that configure
 * the proxy (after the proxy injector copied the namespace's and added the default opaque
 * ports, linkerd/linkerd2:pkg/inject/inject.go), named TCP container ports, HTTP probe paths.
 */

export const ANNOTATION = {
  defaultPolicy: 'config.linkerd.io/default-inbound-policy',
  opaquePorts: 'config.linkerd.io/opaque-ports',
  requireIdentity: 'config.linkerd.io/proxy-require-identity-inbound-ports',
  skipInbound: 'config.linkerd.io/skip-inbound-ports',
  inject: 'linkerd.io/inject',
} as const;

/** `proxy.opaquePorts` default (linkerd/linkerd2:charts/linkerd-control-plane/values.yaml). */
export const DEFAULT_OPAQUE_PORTS = [25, 587, 3306, 4444, 5432, 6379, 9300, 11211];

/** The named TCP ports the proxy container adds at injection, and its own probes. */
const PROXY_PORTS: [string, number][] = [['linkerd-admin', 4191], ['linkerd-proxy', 4143]];
const PROXY_ADMIN_PORT = 4191;
const PROXY_PROBE_PATHS = ['/live', '/ready'];

export interface DefaultPolicyChoice {
  name: DefaultPolicyName;
  /** "cluster default", "namespace annotation", "pod annotation". */
  source: string;
  at?: SourceRef;
  /** An annotation whose value is not a policy, ignored. */
  ignoredNote?: string;
}

export interface PodView {
  namespace: string;
  /** What the record or inventory calls the destination, for messages. */
  name: string;
  workload?: WorkloadInfo;
  /** Undefined when neither the inventory nor the record gives them. */
  labels?: Record<string, string>;
  labelsFrom: 'inventory' | 'record' | 'unknown';
  annotationsAssumed: boolean;
  /** Named TCP container ports; undefined when the pod spec is not known. */
  namedPorts?: Map<string, number[]>;
  declaredPorts?: number[];
  probes: Map<number, string[]>;
  probesKnown: boolean;
  defaultPolicy: DefaultPolicyChoice;
  opaquePorts: Set<number>;
  requireIdPorts: Set<number>;
  skipPorts: Set<number>;
  injectDisabled?: SourceRef | true;
  /** An ExternalWorkload: Servers select it by `externalWorkloadSelector`, not `podSelector`. */
  external?: true;
  /** Where the pod came from, for the walkthrough. */
  description: string;
  at?: SourceRef;
  /** Per port: the candidate inbound servers (filled lazily by the evaluator). Pods with the
   * same `inboundKey` may share one map. */
  inbound: Map<number, unknown>;
  /** Everything the inbound servers of a port depend on (namespace, labels, named ports,
   * probes, default policy, opaque and identity-required ports): pods with equal keys get the
   * same Servers, routes, authorizations and trace steps on every port. */
  inboundKey: string;
}

/** `parse_portset` (linkerd/linkerd2:policy-controller/k8s/index/src/ports.rs): ports and ranges,
 * comma separated; an invalid list counts as empty. */
export function parsePortSet(text: string | undefined): Set<number> | undefined {
  if (text === undefined) return undefined;
  const out = new Set<number>();
  const port = (s: string): number | undefined => {
    const t = s.trim();
    if (!/^[0-9]+$/.test(t)) return undefined;
    const n = Number(t);
    return n >= 1 && n <= 65535 ? n : undefined;
  };
  for (const spec of text.split(',')) {
    const dash = spec.indexOf('-');
    if (dash < 0) {
      if (spec.trim() === '') continue;
      const p = port(spec);
      if (p === undefined) return new Set();
      out.add(p);
    } else {
      const lo = port(spec.slice(0, dash));
      const hi = port(spec.slice(dash + 1));
      if (lo === undefined || hi === undefined || lo > hi) return new Set();
      for (let p = lo; p <= hi; p++) out.add(p);
    }
  }
  return out;
}

/** Finds the text of inventory and policy files to turn spans into ranges and to read what the
 * inventory does not keep (probes). Files of the policy set first, then the disk. */
export class FileLookup {
  private readonly files = new Map<string, SourceFile | null>();
  /** Whether any file was not among the known ones (read from disk). */
  private readFromDisk = false;

  constructor(known: Iterable<SourceFile>) {
    for (const f of known) this.files.set(f.path, f);
  }

  get(path: string): SourceFile | undefined {
    let f = this.files.get(path);
    if (f === undefined) {
      this.readFromDisk = true;
      try {
        f = readSource(path, decodeText(readFileSync(path)));
      } catch {
        f = null;
      }
      this.files.set(path, f);
    }
    return f ?? undefined;
  }

  /** Whether `known` has, at each of `paths`, the file this lookup has there (so the same text). */
  holdsAsIn(known: ReadonlyMap<string, SourceFile>, paths: Iterable<string>): boolean {
    if (this.readFromDisk) return false;
    for (const path of paths) if (known.get(path) !== this.files.get(path)) return false;
    return true;
  }

  ref(declared: Declared, label: string): SourceRef | undefined {
    const f = this.get(declared.file);
    return f ? { file: declared.file, range: f.lines.range(declared.span), label } : undefined;
  }
}

/** `pod_http_probes` (`inventory/probes.ts`) as the probe route takes them: per port, the URI
 * paths without the query. Undefined when the pod spec cannot be read. */
function readProbes(workload: WorkloadInfo, files: FileLookup): Map<number, string[]> | undefined {
  const file = files.get(workload.file);
  const found = file ? fileProbes(file).byWorkload.get(workloadKey(workload.kind, workload.span)) : undefined;
  if (!found) return undefined;
  const probes = new Map<number, string[]>();
  for (const probe of found) {
    let path = probe.path;
    const q = path.search(/[?#]/);
    if (q >= 0) path = path.slice(0, q);
    if (path === '') path = '/';
    const list = probes.get(probe.port) ?? [];
    if (!list.includes(path)) list.push(path);
    probes.set(probe.port, list);
  }
  return probes;
}

/** Init containers' ports (native sidecars), which the inventory does not keep and the policy
 * controller counts among a pod's named ports (workload.rs `pod_tcp_ports_by_name`). */
function initContainerPorts(workload: WorkloadInfo, files: FileLookup): ContainerPort[] {
  const file = files.get(workload.file);
  return (file && fileProbes(file).initPorts?.get(workloadKey(workload.kind, workload.span))) || [];
}

/**
 * What the simulator reads of a file besides its resources and the inventory: the probes and
 * init-container ports of the workloads it declares ('' when none).
 */
export function probeDigest(file: SourceFile): string {
  return fileProbes(file).key;
}

/** A Pod object from a cluster dump that the injector already handled. */
function alreadyInjected(w: WorkloadInfo): boolean {
  return w.kind === 'Pod' && (w.annotations['linkerd.io/proxy-version'] !== undefined || w.annotations['linkerd.io/identity-mode'] !== undefined);
}

export interface PodContext {
  inventory: Inventory;
  files: FileLookup;
  clusterDefault: DefaultPolicyName;
  clusterDefaultFromConfig: boolean;
  configRef?: SourceRef;
  externals: ExternalWorkloadIndex;
  /** Built on first use (findWorkload). */
  workloads?: WorkloadIndex;
}

/** The inventory's workloads by pod IP and by namespace and name, each list in inventory order. */
export interface WorkloadIndex {
  byIp: Map<string, WorkloadInfo[]>;
  byName: Map<string, WorkloadInfo[]>;
}

function indexWorkloads(inventory: Inventory): WorkloadIndex {
  const index: WorkloadIndex = { byIp: new Map(), byName: new Map() };
  const add = (map: Map<string, WorkloadInfo[]>, key: string, w: WorkloadInfo) => {
    const list = map.get(key);
    if (list) list.push(w);
    else map.set(key, [w]);
  };
  for (const w of inventory.workloads) {
    for (const ip of new Set(w.ips)) add(index.byIp, ip, w);
    add(index.byName, `${w.namespace}\u0000${w.name}`, w);
  }
  return index;
}

/** The first workload with the pod IP (in the namespace, when known), else by namespace and name:
 * a controller (Deployment, ...) before a Pod of the same name. */
function findWorkload(ctx: PodContext, namespace: string | undefined, name: string | undefined, ip: string | undefined): WorkloadInfo | undefined {
  const index = (ctx.workloads ??= indexWorkloads(ctx.inventory));
  if (ip) {
    for (const w of index.byIp.get(ip) ?? []) if (namespace === undefined || w.namespace === namespace) return w;
  }
  if (namespace === undefined || name === undefined) return undefined;
  let pod: WorkloadInfo | undefined;
  for (const w of index.byName.get(`${namespace}\u0000${name}`) ?? []) {
    if (w.kind !== 'Pod') return w;
    pod ??= w;
  }
  return pod;
}

/** Builds the view of a destination; undefined when the namespace is not known. */
export function buildPodView(ctx: PodContext, dest: { namespace?: string; workload?: string; ip?: string; labels?: Record<string, string> }): PodView | undefined {
  const workload = findWorkload(ctx, dest.namespace, dest.workload, dest.ip);
  if (!workload) {
    const external = findExternalWorkload(ctx, dest.namespace, dest.workload, dest.ip);
    if (external) return buildExternalView(ctx, external);
  }
  const namespace = dest.namespace ?? workload?.namespace;
  if (namespace === undefined) return undefined;
  const nsInfo = ctx.inventory.namespaces.get(namespace);
  const nsAnnotations = nsInfo?.annotations ?? {};
  const injected = workload ? alreadyInjected(workload) : false;
  // Effective annotations: the pod's own, plus the namespace's proxy configuration the injector
  // copies when the pod does not set it (not for Pods the injector already handled).
  const annotations: Record<string, string> = { ...(workload?.annotations ?? {}) };
  const fromNamespace = new Set<string>();
  if (!injected) {
    for (const [k, v] of Object.entries(nsAnnotations)) {
      if ((k.startsWith('config.linkerd.io/') || k.startsWith('config.alpha.linkerd.io/')) && annotations[k] === undefined) {
        annotations[k] = v;
        fromNamespace.add(k);
      }
    }
  }
  const ports = workload ? [...workload.ports, ...initContainerPorts(workload, ctx.files)] : undefined;
  const declaredPorts = ports?.filter((p) => p.protocol.toUpperCase() === 'TCP').map((p) => p.containerPort);
  let namedPorts: Map<string, number[]> | undefined;
  if (ports) {
    namedPorts = new Map();
    for (const p of ports) {
      if (!p.name || p.protocol.toUpperCase() !== 'TCP') continue;
      const list = namedPorts.get(p.name) ?? [];
      if (!list.includes(p.containerPort)) list.push(p.containerPort);
      namedPorts.set(p.name, list);
    }
    if (!injected) for (const [name, port] of PROXY_PORTS) if (!namedPorts.has(name)) namedPorts.set(name, [port]);
  }
  let opaquePorts = parsePortSet(annotations[ANNOTATION.opaquePorts]);
  if (opaquePorts === undefined) {
    // The injector adds the cluster's default opaque ports that the pod exposes.
    opaquePorts = new Set(!injected && declaredPorts ? DEFAULT_OPAQUE_PORTS.filter((p) => declaredPorts.includes(p)) : []);
  }
  const probes = workload ? readProbes(workload, ctx.files) : undefined;
  if (probes && workload && !injected) {
    const admin = probes.get(PROXY_ADMIN_PORT) ?? [];
    for (const p of PROXY_PROBE_PATHS) if (!admin.includes(p)) admin.push(p);
    probes.set(PROXY_ADMIN_PORT, admin);
  }
  const wRef = workload ? ctx.files.ref(workload, `${workload.kind} ${workload.namespace}/${workload.name}`) : undefined;
  const nsRef = nsInfo ? ctx.files.ref(nsInfo, `Namespace ${namespace}`) : undefined;
  // Default policy: the pod's annotation if it parses, else the cluster default.
  let defaultPolicy: DefaultPolicyChoice = ctx.clusterDefaultFromConfig
    ? { name: ctx.clusterDefault, source: 'cluster default (linkerd.defaultInboundPolicy in .meshpolicy.yaml)', ...(ctx.configRef ? { at: ctx.configRef } : {}) }
    : { name: ctx.clusterDefault, source: 'cluster default (proxy.defaultInboundPolicy)' };
  const annotated = annotations[ANNOTATION.defaultPolicy];
  if (annotated !== undefined) {
    const viaNamespace = fromNamespace.has(ANNOTATION.defaultPolicy);
    const where = viaNamespace ? `namespace ${namespace} annotation ${ANNOTATION.defaultPolicy} (copied onto the pod at injection)` : `pod annotation ${ANNOTATION.defaultPolicy}`;
    const at = viaNamespace ? nsRef : wRef;
    if (isDefaultPolicy(annotated)) defaultPolicy = { name: annotated, source: where, ...(at ? { at } : {}) };
    else defaultPolicy = { ...defaultPolicy, ignoredNote: `${where} "${annotated}" is not a default policy value and is ignored` };
  }
  const injectValue = workload?.annotations[ANNOTATION.inject];
  const labelsFromRecord = !workload && dest.labels !== undefined;
  const labels = workload ? workload.labels : dest.labels;
  const name = workload ? `${workload.kind} ${workload.namespace}/${workload.name}` : `${namespace}/${dest.workload ?? dest.ip ?? '(unnamed pod)'}`;
  const view: PodView = {
    namespace, name,
    ...(workload ? { workload } : {}),
    ...(labels ? { labels } : {}),
    labelsFrom: workload ? 'inventory' : labelsFromRecord ? 'record' : 'unknown',
    annotationsAssumed: !workload,
    ...(namedPorts ? { namedPorts } : {}),
    ...(declaredPorts ? { declaredPorts } : {}),
    probes: probes ?? new Map(),
    probesKnown: probes !== undefined,
    defaultPolicy,
    opaquePorts,
    requireIdPorts: parsePortSet(annotations[ANNOTATION.requireIdentity]) ?? new Set(),
    skipPorts: parsePortSet(annotations[ANNOTATION.skipInbound]) ?? new Set(),
    ...(injectValue === 'disabled' ? { injectDisabled: wRef ?? true } : {}),
    description: workload
      ? `destination pod: ${name} from the inventory${probes === undefined ? ' (its probes could not be read)' : ''}`
      : `destination pod ${name} is not in the inventory: ${labelsFromRecord ? 'labels from the record' : 'labels unknown'}; annotations assumed to be the namespace's`,
    ...(wRef ? { at: wRef } : {}),
    inbound: new Map(),
    inboundKey: '',
  };
  const requireIdPorts = view.requireIdPorts;
  const d = view.defaultPolicy;
  view.inboundKey = JSON.stringify([
    namespace, labels ?? null, namedPorts ? [...namedPorts] : null, probes ? [...probes] : null,
    d.name, d.source, d.at ? [d.at.file, d.at.range] : null, d.ignoredNote ?? null, [...requireIdPorts], [...opaquePorts],
  ]);
  return view;
}

function findExternalWorkload(ctx: PodContext, namespace: string | undefined, name: string | undefined, ip: string | undefined): ExternalWorkloadInfo | undefined {
  const byIp = ip !== undefined ? ctx.externals.byIp.get(ip) : undefined;
  if (byIp && (namespace === undefined || byIp.namespace === namespace)) return byIp;
  return namespace !== undefined && name !== undefined ? ctx.externals.byName.get(externalKey(namespace, name)) : undefined;
}

/** An ExternalWorkload as the index sees it: its own labels, named TCP ports and annotations
 * (nothing is injected or copied from the namespace), no probes. */
function buildExternalView(ctx: PodContext, w: ExternalWorkloadInfo): PodView {
  const name = `ExternalWorkload ${w.namespace}/${w.name}`;
  const at = ctx.files.ref(w, name);
  let defaultPolicy: DefaultPolicyChoice = ctx.clusterDefaultFromConfig
    ? { name: ctx.clusterDefault, source: 'cluster default (linkerd.defaultInboundPolicy in .meshpolicy.yaml)', ...(ctx.configRef ? { at: ctx.configRef } : {}) }
    : { name: ctx.clusterDefault, source: 'cluster default (proxy.defaultInboundPolicy)' };
  const annotated = w.annotations[ANNOTATION.defaultPolicy];
  if (annotated !== undefined) {
    const where = `external workload annotation ${ANNOTATION.defaultPolicy}`;
    if (isDefaultPolicy(annotated)) defaultPolicy = { name: annotated, source: where, ...(at ? { at } : {}) };
    else defaultPolicy = { ...defaultPolicy, ignoredNote: `${where} "${annotated}" is not a default policy value and is ignored` };
  }
  const opaquePorts = parsePortSet(w.annotations[ANNOTATION.opaquePorts]) ?? new Set<number>();
  const requireIdPorts = parsePortSet(w.annotations[ANNOTATION.requireIdentity]) ?? new Set<number>();
  const d = defaultPolicy;
  return {
    namespace: w.namespace, name, labels: w.labels, labelsFrom: 'inventory', annotationsAssumed: false,
    namedPorts: w.namedPorts, declaredPorts: w.ports, probes: new Map(), probesKnown: true,
    defaultPolicy, opaquePorts, requireIdPorts, skipPorts: new Set(), external: true,
    description: `destination: ${name}, read from ${w.file}`,
    ...(at ? { at } : {}),
    inbound: new Map(),
    inboundKey: JSON.stringify([
      'external', w.namespace, w.labels, [...w.namedPorts], d.name, d.source, d.at ? [d.at.file, d.at.range] : null, d.ignoredNote ?? null, [...requireIdPorts], [...opaquePorts],
    ]),
  };
}

/** The pods at one IP of the inventory: the view for the namespace seen first, and for others. */
interface PodsAtIp {
  namespace: string;
  pod: PodView | null;
  others?: Map<string, PodView | null>;
}

/**
 * The views of the destinations calls go to, by pod IP, by namespace and workload name, and for
 * pods not in the inventory by the labels the record gives. A view reads only the inventory, the
 * files it came from and the cluster default, not the policies, so the views are kept from one
 * compile to the next while those stay the same (`podViewsFor`); a compile adds its own inbound
 * views to them. The `inbound` of a view given out here is empty and must not be written.
 */
export class PodViews {
  private readonly byIp = new Map<string, PodsAtIp>();
  private readonly byName = new Map<string, Map<string, PodView | null>>();
  private readonly byLabels = new Map<string, PodView | null>();
  private readonly podIps = new Set<string>();
  /** The files the inventory was read from: all a view may read. */
  readonly inventoryFiles = new Set<string>();

  constructor(readonly ctx: PodContext) {
    for (const w of ctx.inventory.workloads) {
      for (const ip of w.ips) this.podIps.add(ip);
      this.inventoryFiles.add(w.file);
    }
    for (const n of ctx.inventory.namespaces.values()) this.inventoryFiles.add(n.file);
    for (const ip of ctx.externals.byIp.keys()) this.podIps.add(ip);
    for (const f of ctx.externals.files) this.inventoryFiles.add(f);
  }

  /** The view of a call's destination; undefined when its namespace is not known. */
  viewOf(d: CallDestination): PodView | undefined {
    const ns = d.namespace ?? '';
    const ip = d.ip;
    let pod: PodView | null | undefined;
    let key: string;
    // Keyed by pod IP when the inventory knows it (Pods of a cluster dump), else by workload name.
    let seen = ip !== undefined ? this.byIp.get(ip) : undefined;
    const byIp = seen !== undefined || (ip !== undefined && this.podIps.has(ip));
    if (byIp) {
      key = ip!;
      if (seen === undefined) this.byIp.set(key, (seen = { namespace: ns, pod: buildPodView(this.ctx, d) ?? null }));
      if (seen.namespace === ns) pod = seen.pod;
      else {
        const others = (seen.others ??= new Map());
        pod = others.get(ns);
        if (pod === undefined) others.set(ns, (pod = buildPodView(this.ctx, d) ?? null));
      }
    } else {
      key = d.workload ?? '';
      let byName = this.byName.get(ns);
      if (!byName) this.byName.set(ns, (byName = new Map()));
      pod = byName.get(key);
      if (pod === undefined) {
        pod = buildPodView(this.ctx, { ...d, ip: undefined }) ?? null;
        if (byName.size > 100_000) byName.clear();
        byName.set(key, pod);
      }
    }
    if (pod && pod.labelsFrom !== 'inventory' && d.labels) {
      // Labels from the record: one view per distinct label set.
      const k2 = `${ns}\u0000${byIp ? '\u0001' : ''}${key}\u0000${JSON.stringify(Object.entries(d.labels).sort())}`;
      let p2 = this.byLabels.get(k2);
      if (p2 === undefined) {
        p2 = buildPodView(this.ctx, d) ?? null;
        if (this.byLabels.size > 100_000) this.byLabels.clear();
        this.byLabels.set(k2, p2);
      }
      return p2 ?? undefined;
    }
    return pod ?? undefined;
  }
}

type CallDestination = { namespace?: string; workload?: string; ip?: string; labels?: Record<string, string> };

const keptViews = new WeakMap<Inventory, PodViews>();

/**
 * The pod views of the last compile with this inventory when they still hold: the same cluster
 * default, and each file of the inventory the same file now (an edit reads a new SourceFile). Else new ones.
 */
export function podViewsFor(ctx: Omit<PodContext, 'files' | 'externals'>, files: readonly SourceFile[]): PodViews {
  const kept = keptViews.get(ctx.inventory);
  const known = new Map(files.map((f) => [f.path, f]));
  const externals = indexExternalWorkloads(known.values());
  if (kept && kept.ctx.clusterDefault === ctx.clusterDefault && kept.ctx.clusterDefaultFromConfig === ctx.clusterDefaultFromConfig && kept.ctx.configRef === ctx.configRef && kept.ctx.externals.key === externals.key && kept.ctx.files.holdsAsIn(known, kept.inventoryFiles)) return kept;
  const views = new PodViews({ ...ctx, externals, files: new FileLookup(known.values()) });
  keptViews.set(ctx.inventory, views);
  return views;
}

import type { SourceDocument, SourceFile } from '../source/sourceFile';
import { documentObjects } from '../source/topLevelObjects';
import { documentOrigin } from '../source/yamlReader';
import { getEntry, toValue, type NodePath, type ObjectNode, type Span } from '../source/tree';
import { meshConfigOf, type MeshConfigInfo } from '../istio/meshConfig';
import { isRecord } from '../plainValues';
import { installedCrdOf, type InstalledCrd } from '../crds/installed';
import { linkerdInstallOf, type LinkerdInstallInfo } from '../linkerd/install';

/** Where an inventory object was declared, for messages and go-to. */
export interface Declared {
  file: string;
  span: Span;
}

export interface NamespaceInfo extends Declared {
  name: string;
  labels: Record<string, string>;
  annotations: Record<string, string>;
}

export interface ServiceAccountInfo extends Declared {
  name: string;
  namespace: string;
}

export interface ContainerPort {
  name?: string;
  containerPort: number;
  protocol: string;
}

/** A pod template (of a Deployment, StatefulSet, ...) or a Pod. */
export interface WorkloadInfo extends Declared {
  kind: string;
  name: string;
  namespace: string;
  labels: Record<string, string>;
  annotations: Record<string, string>;
  serviceAccount: string;
  ports: ContainerPort[];
  /** Pod IPs, when the object is a Pod from a cluster dump. */
  ips: string[];
  /** The controller that owns the object (`metadata.ownerReferences`), when a cluster dump says so. */
  owner?: { kind: string; name: string };
  /** The pod template already runs Istio's proxy: a container named `istio-proxy` with an image (the
   * classic ingress and egress gateways, which opt out of injection because they are the proxy). */
  istioProxy?: true;
}

export interface ServicePort {
  name?: string;
  port: number;
  targetPort?: number | string;
  protocol: string;
  appProtocol?: string;
}

export interface ServiceInfo extends Declared {
  name: string;
  namespace: string;
  selector: Record<string, string> | undefined;
  ports: ServicePort[];
  clusterIPs: string[];
  /** `spec.type` (ClusterIP, NodePort, LoadBalancer, ExternalName), when set. */
  type?: string;
  /** `metadata.labels`, when it has any (Istio ambient reads `istio.io/use-waypoint` there). */
  labels?: Record<string, string>;
}

/** A Gateway API `Gateway`. Istio deploys one for class `istio` as the Deployment, Service and
 * ServiceAccount `<name>-istio`; traffic resolution uses that to name the gateway's pods. */
export interface GatewayInfo extends Declared {
  name: string;
  namespace: string;
  className: string;
  ports: number[];
  /** A waypoint's `istio.io/waypoint-for` label (service, workload, all or none), when set. */
  waypointFor?: string;
}

/** An Istio ServiceEntry: the hosts a policy's `targetRefs` naming it covers (at a waypoint). */
export interface ServiceEntryInfo extends Declared {
  name: string;
  namespace: string;
  hosts: string[];
}

/** The `tls.mode` of a DestinationRule traffic policy or `portLevelSettings` entry: what client sidecars send. */
export interface DestinationRuleTls {
  /** ClientTLSSettings `mode` as written (DISABLE, SIMPLE, MUTUAL, ISTIO_MUTUAL). */
  mode: string;
  /** 1-based line of the mode's value, for messages. */
  line: number;
}

/** What a DestinationRule traffic policy says about TLS. */
export interface DestinationRulePolicy {
  tls?: DestinationRuleTls;
  /** The Service port of each `portLevelSettings` entry, with its `tls` if it has one: an entry
   * replaces the policy's settings for its port, `tls` included, even when it sets none. */
  ports: Array<{ port: number; tls?: DestinationRuleTls }>;
}

/** An Istio DestinationRule (a fact, not a policy the simulator decides): its host and TLS settings. */
export interface DestinationRuleInfo extends Declared {
  name: string;
  namespace: string;
  /** `spec.host`, lower-cased. */
  host: string;
  trafficPolicy?: DestinationRulePolicy;
  subsets: Array<{ name: string; labels: Record<string, string>; trafficPolicy?: DestinationRulePolicy }>;
}

/** What the workspace says exists in the cluster: from manifests and `kubectl get -o yaml|json` dumps. */
export interface Inventory {
  namespaces: Map<string, NamespaceInfo>;
  serviceAccounts: ServiceAccountInfo[];
  workloads: WorkloadInfo[];
  services: ServiceInfo[];
  /** Gateway API Gateways (not workloads themselves: see GatewayInfo). Absent in inventories built by older code. */
  gateways?: GatewayInfo[];
  /** Istio ServiceEntries (not workloads either). Absent in inventories built by older code. */
  serviceEntries?: ServiceEntryInfo[];
  /** Istio DestinationRules (not workloads either). Absent in inventories built by older code. */
  destinationRules?: DestinationRuleInfo[];
  /** Istio mesh configs (the `istio` ConfigMap, IstioOperator `spec.meshConfig`), in the order read; not workloads either. */
  meshConfigs?: MeshConfigInfo[];
  /** CustomResourceDefinitions (vendored, or the cluster's from a dump): what the API server accepts of each mesh kind. */
  crds?: InstalledCrd[];
  /** Linkerd installs (their `linkerd-config` ConfigMaps): the identities' trust domain and control-plane namespace. */
  linkerdInstalls?: LinkerdInstallInfo[];
  /** True when any Kubernetes object was found; checks that need an inventory stay quiet otherwise. */
  present: boolean;
}

export function emptyInventory(): Inventory {
  return { namespaces: new Map(), serviceAccounts: [], workloads: [], services: [], gateways: [], serviceEntries: [], destinationRules: [], meshConfigs: [], crds: [], linkerdInstalls: [], present: false };
}

const POD_TEMPLATE_KINDS = new Set(['Deployment', 'StatefulSet', 'DaemonSet', 'ReplicaSet', 'Job', 'ReplicationController']);
/** The kinds the inventory reads a workload (a pod spec) from. */
export const WORKLOAD_KINDS: ReadonlySet<string> = new Set(['Pod', ...POD_TEMPLATE_KINDS, 'CronJob']);
/** Every kind the inventory reads something from. */
export const INVENTORY_KINDS: ReadonlySet<string> = new Set([...WORKLOAD_KINDS, 'Namespace', 'ServiceAccount', 'Service', 'Gateway', 'ServiceEntry', 'DestinationRule', 'ConfigMap', 'IstioOperator', 'CustomResourceDefinition']);
const DEFAULT_NAMESPACE = 'default';

/** Adds every Kubernetes workload object of the file to the inventory. */
export function addToInventory(inventory: Inventory, file: SourceFile): void {
  for (const document of file.documents) if (!addsNothing(file, document)) addDocument(inventory, file, document);
}

function addDocument(inventory: Inventory, file: SourceFile, document: SourceDocument): void {
  for (const node of documentObjects(document)) addObject(inventory, file, node);
}

const addsNothingByParse = new WeakMap<SourceDocument, boolean>();

/** Whether a document read through the YAML cache adds nothing, by its cached parse: a policy
 * file's documents are then not read again after every edit (the ones after the edited one are
 * placed anew, and shifted only where read). */
function addsNothing(file: SourceFile, document: SourceDocument): boolean {
  const parsed = documentOrigin(document)?.parsed;
  if (!parsed) return false;
  let nothing = addsNothingByParse.get(parsed);
  if (nothing === undefined) {
    const scratch = emptyInventory();
    addDocument(scratch, file, parsed);
    nothing = !contributes(scratch);
    addsNothingByParse.set(parsed, nothing);
  }
  return nothing;
}

const contributionKeys = new WeakMap<SourceFile, string>();
const contributions = new WeakMap<SourceFile, Inventory>();

/** What the file adds to an inventory, built once per file (read it, never change it). */
export function inventoryContribution(file: SourceFile): Inventory {
  let contribution = contributions.get(file);
  if (!contribution) {
    contribution = emptyInventory();
    addToInventory(contribution, file);
    contributions.set(file, contribution);
  }
  return contribution;
}

/** Adds what `documents` of `file` declare (the objects of a file read in parts). */
export function addDocumentsToInventory(inventory: Inventory, file: SourceFile, documents: readonly SourceDocument[]): void {
  for (const document of documents) addDocument(inventory, file, document);
}

/** Adds a file's contribution: the same as `addToInventory` with that file. */
export function mergeInventory(inventory: Inventory, part: Inventory): void {
  // Map.set keeps a name's first place and its last declaration, as adding the objects one by one does
  for (const [name, namespace] of part.namespaces) inventory.namespaces.set(name, namespace);
  inventory.serviceAccounts.push(...part.serviceAccounts);
  inventory.workloads.push(...part.workloads);
  inventory.services.push(...part.services);
  if (part.gateways?.length) (inventory.gateways ??= []).push(...part.gateways);
  if (part.serviceEntries?.length) (inventory.serviceEntries ??= []).push(...part.serviceEntries);
  if (part.destinationRules?.length) (inventory.destinationRules ??= []).push(...part.destinationRules);
  if (part.meshConfigs?.length) (inventory.meshConfigs ??= []).push(...part.meshConfigs);
  if (part.crds?.length) (inventory.crds ??= []).push(...part.crds);
  if (part.linkerdInstalls?.length) (inventory.linkerdInstalls ??= []).push(...part.linkerdInstalls);
  inventory.present ||= part.present;
}

/**
 * A key that is equal for two files exactly when they add the same to the inventory ('' when
 * nothing): whether the workspace's inventory must be built again after a file changed.
 */
export function inventoryContributionKey(file: SourceFile | undefined): string {
  if (!file) return '';
  let key = contributionKeys.get(file);
  if (key === undefined) {
    const inventory = inventoryContribution(file);
    key = contributes(inventory) ? JSON.stringify(inventory, (_, value: unknown) => (value instanceof Map ? [...value.entries()] : value)) : '';
    contributionKeys.set(file, key);
  }
  return key;
}

/** Takes `contribution` and `key` as what `inventoryContribution` and `inventoryContributionKey` give `file`, computed elsewhere (in parts, or by a worker that read the file). */
export function rememberContribution(file: SourceFile, contribution: Inventory, key: string): void {
  contributions.set(file, contribution);
  contributionKeys.set(file, key);
}

/** Whether an inventory holds anything: Kubernetes objects, or the gateways, ServiceEntries, DestinationRules, mesh configs and CRDs that do not make it `present`. */
function contributes(inventory: Inventory): boolean {
  return inventory.present || Boolean(inventory.gateways?.length) || Boolean(inventory.serviceEntries?.length) || Boolean(inventory.destinationRules?.length) || Boolean(inventory.meshConfigs?.length) || Boolean(inventory.crds?.length) || Boolean(inventory.linkerdInstalls?.length);
}

export function buildInventory(files: SourceFile[]): Inventory {
  const inventory = emptyInventory();
  for (const file of files) addToInventory(inventory, file);
  return inventory;
}

function scalar(node: ObjectNode | undefined, key: string): string | undefined {
  const value = getEntry(node, key)?.value;
  return value?.type === 'scalar' && value.value !== null ? String(value.value) : undefined;
}

function object(node: ObjectNode | undefined, ...path: NodePath): ObjectNode | undefined {
  let current: ObjectNode | undefined = node;
  for (const key of path) {
    const next = getEntry(current, String(key))?.value;
    current = next?.type === 'object' ? next : undefined;
  }
  return current;
}

function stringMap(node: ObjectNode | undefined): Record<string, string> {
  const out: Record<string, string> = {};
  for (const entry of node?.entries ?? []) if (entry.value.type === 'scalar' && entry.value.value !== null) out[entry.key] = String(entry.value.value);
  return out;
}

function addObject(inventory: Inventory, file: SourceFile, node: ObjectNode): void {
  const apiVersion = scalar(node, 'apiVersion');
  const kind = scalar(node, 'kind');
  if (!apiVersion || !kind) return;
  const metadata = object(node, 'metadata');
  if (kind === 'Gateway' && apiVersion.startsWith('gateway.networking.k8s.io/')) {
    const spec = object(node, 'spec');
    const listeners = toValue(getEntry(spec, 'listeners')?.value);
    const waypointFor = scalar(object(metadata, 'labels'), 'istio.io/waypoint-for');
    (inventory.gateways ??= []).push({
      file: file.path, span: node.span,
      name: scalar(metadata, 'name') ?? '', namespace: scalar(metadata, 'namespace') ?? DEFAULT_NAMESPACE,
      className: scalar(spec, 'gatewayClassName') ?? '',
      ports: Array.isArray(listeners) ? listeners.filter(isRecord).map((l) => portNumber(l['port'])).filter((n) => n !== undefined) : [],
      ...(waypointFor !== undefined ? { waypointFor } : {}),
    });
    return;
  }
  if (kind === 'ServiceEntry' && apiVersion.startsWith('networking.istio.io/')) {
    const hosts = toValue(getEntry(object(node, 'spec'), 'hosts')?.value);
    (inventory.serviceEntries ??= []).push({
      file: file.path, span: node.span,
      name: scalar(metadata, 'name') ?? '', namespace: scalar(metadata, 'namespace') ?? DEFAULT_NAMESPACE,
      hosts: Array.isArray(hosts) ? hosts.filter((h): h is string => typeof h === 'string').map((h) => h.toLowerCase()) : [],
    });
    return;
  }
  if (kind === 'DestinationRule' && apiVersion.startsWith('networking.istio.io/')) {
    const spec = object(node, 'spec');
    const subsets = getEntry(spec, 'subsets')?.value;
    (inventory.destinationRules ??= []).push({
      file: file.path, span: node.span,
      name: scalar(metadata, 'name') ?? '', namespace: scalar(metadata, 'namespace') ?? DEFAULT_NAMESPACE,
      host: (scalar(spec, 'host') ?? '').toLowerCase(),
      ...optionalPolicy(destinationRulePolicy(file, object(spec, 'trafficPolicy'))),
      subsets: (subsets?.type === 'array' ? subsets.items : []).filter((n): n is ObjectNode => n.type === 'object').map((subset) => ({
        name: scalar(subset, 'name') ?? '', labels: stringMap(object(subset, 'labels')),
        ...optionalPolicy(destinationRulePolicy(file, object(subset, 'trafficPolicy'))),
      })),
    });
    return;
  }
  if (kind === 'CustomResourceDefinition') {
    const crd = installedCrdOf(toValue(node) as Record<string, unknown>, { file: file.path, span: node.span });
    if (crd) (inventory.crds ??= []).push(crd);
    return;
  }
  if (kind === 'ConfigMap' && scalar(metadata, 'name') === 'linkerd-config') {
    const install = linkerdInstallOf(toValue(node) as Record<string, unknown>);
    if (install) (inventory.linkerdInstalls ??= []).push(install);
    return;
  }
  if (kind === 'ConfigMap' || kind === 'IstioOperator') {
    const mesh = isMeshConfigCandidate(kind, scalar(metadata, 'name')) ? meshConfigOf(toValue(node) as Record<string, unknown>, { file: file.path, span: node.span }) : undefined;
    if (mesh) (inventory.meshConfigs ??= []).push(mesh);
    return;
  }
  const name = scalar(metadata, 'name') ?? '';
  const namespace = scalar(metadata, 'namespace') ?? DEFAULT_NAMESPACE;
  const owner = controllerOf(toValue(getEntry(metadata, 'ownerReferences')?.value));
  const declared: Declared & { owner?: { kind: string; name: string } } = { file: file.path, span: node.span, ...(owner ? { owner } : {}) };
  const labels = stringMap(object(metadata, 'labels'));
  const annotations = stringMap(object(metadata, 'annotations'));
  const isCore = apiVersion === 'v1';
  const isApps = apiVersion.startsWith('apps/') || apiVersion.startsWith('batch/') || apiVersion.startsWith('extensions/');
  if (isCore && kind === 'Namespace') {
    inventory.namespaces.set(name, { file: file.path, span: node.span, name, labels, annotations });
  } else if (isCore && kind === 'ServiceAccount') {
    inventory.serviceAccounts.push({ file: file.path, span: node.span, name, namespace });
  } else if (isCore && kind === 'Service') {
    const spec = object(node, 'spec');
    const selectorNode = object(spec, 'selector');
    const ports = toValue(getEntry(spec, 'ports')?.value);
    const clusterIPs = toValue(getEntry(spec, 'clusterIPs')?.value);
    const clusterIP = scalar(spec, 'clusterIP');
    const type = scalar(spec, 'type');
    inventory.services.push({
      file: file.path, span: node.span, name, namespace,
      selector: selectorNode ? stringMap(selectorNode) : undefined,
      ports: Array.isArray(ports) ? ports.filter(isRecord).flatMap((p) => servicePort(p) ?? []) : [],
      clusterIPs: (Array.isArray(clusterIPs) ? clusterIPs.map(String) : clusterIP ? [clusterIP] : []).filter((ip) => ip !== 'None' && ip !== ''),
      ...(type ? { type } : {}),
      ...(Object.keys(labels).length !== 0 ? { labels } : {}),
    });
  } else if (isCore && kind === 'Pod') {
    const status = toValue(getEntry(node, 'status')?.value) as { podIP?: unknown; podIPs?: unknown } | undefined;
    const ips = new Set<string>();
    if (typeof status?.podIP === 'string') ips.add(status.podIP);
    if (Array.isArray(status?.podIPs)) for (const ip of status.podIPs) if (isRecord(ip) && typeof ip['ip'] === 'string') ips.add(ip['ip']);
    inventory.workloads.push(workload(declared, kind, name, namespace, labels, annotations, object(node, 'spec'), [...ips]));
  } else if ((isApps && POD_TEMPLATE_KINDS.has(kind)) || (isCore && kind === 'ReplicationController')) {
    const template = object(node, 'spec', 'template');
    inventory.workloads.push(workload(declared, kind, name, namespace, stringMap(object(template, 'metadata', 'labels')), stringMap(object(template, 'metadata', 'annotations')), object(template, 'spec'), []));
  } else if (apiVersion.startsWith('batch/') && kind === 'CronJob') {
    const template = object(node, 'spec', 'jobTemplate', 'spec', 'template');
    inventory.workloads.push(workload(declared, kind, name, namespace, stringMap(object(template, 'metadata', 'labels')), stringMap(object(template, 'metadata', 'annotations')), object(template, 'spec'), []));
  } else {
    return;
  }
  inventory.present = true;
}

function optionalPolicy(trafficPolicy: DestinationRulePolicy | undefined): { trafficPolicy?: DestinationRulePolicy } {
  return trafficPolicy ? { trafficPolicy } : {};
}

/** The TLS settings of a DestinationRule traffic policy, when it has any. */
function destinationRulePolicy(file: SourceFile, policy: ObjectNode | undefined): DestinationRulePolicy | undefined {
  const tlsOf = (node: ObjectNode | undefined): DestinationRuleTls | undefined => {
    const mode = getEntry(object(node, 'tls'), 'mode')?.value;
    return mode?.type === 'scalar' && typeof mode.value === 'string' ? { mode: mode.value, line: file.lines.position(mode.span.start).line + 1 } : undefined;
  };
  const tls = tlsOf(policy);
  const ports: DestinationRulePolicy['ports'] = [];
  const levels = getEntry(policy, 'portLevelSettings')?.value;
  for (const level of levels?.type === 'array' ? levels.items : []) {
    if (level.type !== 'object') continue;
    const port = portNumber(Number(scalar(object(level, 'port'), 'number')));
    const own = tlsOf(level);
    if (port !== undefined) ports.push({ port, ...(own ? { tls: own } : {}) });
  }
  return tls || ports.length ? { ...(tls ? { tls } : {}), ports } : undefined;
}

/** Whether an object of `kind` may be a mesh config (`meshConfigOf` decides): the other ConfigMaps of a cluster dump are not kept. */
export function isMeshConfigCandidate(kind: string, name: string | undefined): boolean {
  return kind === 'IstioOperator' || (name !== undefined && (name === 'istio' || name.startsWith('istio-')));
}

/** The controlling owner reference (or the first one) of a `metadata.ownerReferences` list. */
function controllerOf(references: unknown): { kind: string; name: string } | undefined {
  if (!Array.isArray(references)) return undefined;
  const refs = references.filter(isRecord).filter((r) => typeof r['kind'] === 'string' && typeof r['name'] === 'string');
  const chosen = refs.find((r) => r['controller'] === true) ?? refs[0];
  return chosen ? { kind: chosen['kind'] as string, name: chosen['name'] as string } : undefined;
}

function isIstioProxyContainer(container: Record<string, unknown>): boolean {
  return container['name'] === 'istio-proxy' && typeof container['image'] === 'string' && container['image'] !== '';
}

function workload(declared: Declared, kind: string, name: string, namespace: string, labels: Record<string, string>, annotations: Record<string, string>, podSpec: ObjectNode | undefined, ips: string[]): WorkloadInfo {
  const containers = toValue(getEntry(podSpec, 'containers')?.value);
  const ports: ContainerPort[] = [];
  const initContainers = toValue(getEntry(podSpec, 'initContainers')?.value);
  // A pod from a cluster dump with native sidecars runs the proxy as an init container.
  const istioProxy = [containers, initContainers].some((list) => Array.isArray(list) && list.filter(isRecord).some(isIstioProxyContainer));
  if (Array.isArray(containers)) {
    for (const container of containers.filter(isRecord)) {
      const list = container['ports'];
      if (!Array.isArray(list)) continue;
      for (const port of list.filter(isRecord)) {
        const found = containerPort(port);
        if (found) ports.push(found);
      }
    }
  }
  return {
    ...declared, kind, name, namespace, labels, annotations, ips, ports,
    serviceAccount: scalar(podSpec, 'serviceAccountName') ?? scalar(podSpec, 'serviceAccount') ?? 'default',
    ...(istioProxy ? { istioProxy: true as const } : {}),
  };
}


/** Kubernetes equality-based selector semantics: every selector label present with the same value. */
export function matchesLabels(selector: Record<string, string>, labels: Record<string, string>): boolean {
  return Object.entries(selector).every(([key, value]) => labels[key] === value);
}

export function namespaceKnown(inventory: Inventory, namespace: string): boolean {
  return inventory.namespaces.has(namespace) || inventory.workloads.some((w) => w.namespace === namespace) || inventory.serviceAccounts.some((s) => s.namespace === namespace) || inventory.services.some((s) => s.namespace === namespace);
}

/**
 * A port number as Kubernetes admits one (a container port, a Service port or targetPort, a
 * listener's port): a whole number from 1 to 65535. Undefined for anything else (`http`, `{}`,
 * -1, 1.5, 99999), which the API server refuses: the object never runs with it.
 */
export function portNumber(value: unknown): number | undefined {
  return typeof value === 'number' && Number.isInteger(value) && value >= 1 && value <= 65535 ? value : undefined;
}

/** A container's `ports` entry; undefined without a valid `containerPort` (`portNumber`). */
export function containerPort(entry: Record<string, unknown>): ContainerPort | undefined {
  const number = portNumber(entry['containerPort']);
  if (number === undefined) return undefined;
  return { ...(typeof entry['name'] === 'string' ? { name: entry['name'] } : {}), containerPort: number, protocol: typeof entry['protocol'] === 'string' ? entry['protocol'] : 'TCP' };
}

/**
 * A Service's `ports` entry; undefined without a valid `port`, or with a `targetPort` that is
 * neither a valid number nor a port name. A `targetPort` of 0 or "" is no targetPort: Kubernetes
 * defaults both to the port.
 */
function servicePort(entry: Record<string, unknown>): ServicePort | undefined {
  const port = portNumber(entry['port']);
  if (port === undefined) return undefined;
  const raw = entry['targetPort'];
  const unset = raw === undefined || raw === null || raw === 0 || raw === '';
  // (a string of digits is read as its number where it is used)
  const targetPort = unset ? undefined : typeof raw === 'string' ? (/^\d+$/.test(raw) && portNumber(Number(raw)) === undefined ? undefined : raw) : portNumber(raw);
  if (!unset && targetPort === undefined) return undefined;
  return {
    ...(typeof entry['name'] === 'string' ? { name: entry['name'] } : {}),
    port,
    ...(targetPort !== undefined ? { targetPort } : {}),
    protocol: typeof entry['protocol'] === 'string' ? entry['protocol'] : 'TCP',
    ...(typeof entry['appProtocol'] === 'string' ? { appProtocol: entry['appProtocol'] } : {}),
  };
}

import type { Inventory, WorkloadInfo } from '../../inventory/inventory';
import { mtlsModeOf } from '../../istio/peerAuthentication';
import { isAmbient, isWaypointGateway } from '../../istio/ambient';
import type { Resource } from '../../resource';
import type { SourceFile } from '../../source/sourceFile';
import type { WorkspaceView } from '../check';
import { PA, RA, isObj, memo, namespaceOf, type Obj } from './util';
import { resourceValue } from '../../resourceValue';
import type { IstioAttachment } from '../../simulate/attachment';
import { readAttachable } from '../../simulate/istio/attachable';

/** Indexes over the workspace that several checks share, computed once per inventory or per
 * resource list (the workspace keeps both until a file changes), so a check on one resource
 * never scans every other resource. */


export interface InventoryIndex {
  workloadsByNamespace: Map<string, WorkloadInfo[]>;
  /** Service accounts known per namespace: ServiceAccount objects and the ones workloads run as. */
  serviceAccounts: Map<string, Set<string>>;
  /** Namespaces the inventory mentions at all (Namespace objects or objects inside them). */
  namespaces: Set<string>;
}

export const inventoryIndex = memo((inventory: Inventory): InventoryIndex => {
  const workloadsByNamespace = new Map<string, WorkloadInfo[]>();
  const serviceAccounts = new Map<string, Set<string>>();
  const namespaces = new Set<string>(inventory.namespaces.keys());
  const addSa = (ns: string, sa: string) => {
    let set = serviceAccounts.get(ns);
    if (!set) serviceAccounts.set(ns, (set = new Set()));
    set.add(sa);
  };
  for (const w of inventory.workloads) {
    let list = workloadsByNamespace.get(w.namespace);
    if (!list) workloadsByNamespace.set(w.namespace, (list = []));
    list.push(w);
    addSa(w.namespace, w.serviceAccount);
    namespaces.add(w.namespace);
  }
  for (const sa of inventory.serviceAccounts) {
    addSa(sa.namespace, sa.name);
    namespaces.add(sa.namespace);
  }
  for (const s of inventory.services) namespaces.add(s.namespace);
  // istiod deploys a waypoint under the Gateway's name, service account included.
  for (const g of inventory.gateways ?? []) if (isWaypointGateway(g)) addSa(g.namespace, g.name);
  return { workloadsByNamespace, serviceAccounts, namespaces };
});

/** A workload is out of the mesh when it (or its namespace) explicitly opts out of injection
 * and the namespace is not ambient. Everything else counts as in the mesh: manifests rarely say.
 * A pod template that runs the `istio-proxy` container is in the mesh whatever its labels say
 * (istioctl analyze's `inMesh` asks this first): the classic gateways opt out of injection. */
export function inMesh(workload: WorkloadInfo, inventory: Inventory): boolean {
  if (workload.istioProxy) return true;
  const optOut = workload.labels['sidecar.istio.io/inject'] === 'false' || workload.annotations['sidecar.istio.io/inject'] === 'false';
  const ns = inventory.namespaces.get(workload.namespace);
  const ambient = ns?.labels['istio.io/dataplane-mode'] === 'ambient' || workload.labels['istio.io/dataplane-mode'] === 'ambient';
  if (ambient) return workload.labels['istio.io/dataplane-mode'] !== 'none';
  return !optOut && ns?.labels['istio-injection'] !== 'disabled';
}

export interface PeerAuthInfo {
  file: SourceFile;
  resource: Resource;
  namespace: string;
  name: string;
  /** Non-empty matchLabels, or undefined for a namespace/mesh-wide policy. */
  labels: Record<string, string> | undefined;
  mode: string;
  portLevel: Record<string, string>;
  /** metadata.creationTimestamp in milliseconds, when the file has it (cluster dumps do). */
  createdAt: number | undefined;
}

export const peerAuthentications = memo((resources: WorkspaceView['resources']): PeerAuthInfo[] => {
  const out: PeerAuthInfo[] = [];
  for (const { file, resource } of resources) {
    if (resource.mesh !== 'istio' || resource.kind !== PA) continue;
    const value = resourceValue(resource) as Obj;
    const spec = isObj(value['spec']) ? value['spec'] : {};
    const selector = spec['selector'];
    const matchLabels = isObj(selector) && isObj(selector['matchLabels']) ? selector['matchLabels'] : {};
    const labels: Record<string, string> = {};
    for (const [k, v] of Object.entries(matchLabels)) if (typeof v === 'string') labels[k] = v;
    // A mode outside the CRD's enum: the API server refuses the resource, which then sets nothing
    // (as the simulator reads it; the schema reports the value).
    const mode = mtlsModeOf(spec['mtls']);
    if (mode === undefined) continue;
    const portLevel: Record<string, string> = {};
    let refused = false;
    if (isObj(spec['portLevelMtls'])) {
      for (const [port, setting] of Object.entries(spec['portLevelMtls'])) {
        const portMode = mtlsModeOf(setting);
        if (portMode === undefined) refused = true;
        else if (isObj(setting) && typeof setting['mode'] === 'string') portLevel[String(Number(port))] = portMode;
      }
    }
    if (refused) continue;
    const metadata = isObj(value['metadata']) ? value['metadata'] : {};
    const created = typeof metadata['creationTimestamp'] === 'string' ? Date.parse(metadata['creationTimestamp']) : NaN;
    out.push({
      file, resource, namespace: namespaceOf(resource), name: resource.name ?? '(unnamed)',
      labels: Object.keys(labels).length ? labels : undefined, mode, portLevel,
      createdAt: Number.isNaN(created) ? undefined : created,
    });
  }
  return out;
});

/** A RequestAuthentication as attachment sees it (read as the simulator's compiler reads it). */
export interface RequestAuthInfo extends IstioAttachment {
  name: string;
}

export const requestAuthentications = memo((resources: WorkspaceView['resources']): RequestAuthInfo[] => {
  const out: RequestAuthInfo[] = [];
  for (const { file, resource } of resources) {
    if (resource.mesh !== 'istio' || resource.kind !== RA) continue;
    const { namespace, name, selector, targetRefs } = readAttachable(file, resource, out.length);
    out.push({ namespace, name, selector, targetRefs });
  }
  return out;
});

/** Namespaces in which the workspace has any mesh resource: they exist (or will). */
export const policyNamespaces = memo((resources: WorkspaceView['resources']): Set<string> => {
  const out = new Set<string>();
  for (const { resource } of resources) if (resource.namespace) out.add(resource.namespace);
  return out;
});

export function labelsText(labels: Record<string, string>): string {
  return Object.entries(labels).map(([k, v]) => `${k}=${v}`).join(',');
}


/** Namespaces where ztunnel may enforce selector policies: ambient namespaces, and those with an ambient pod. */
const ambientNamespaces = memo((inventory: Inventory): Set<string> => {
  const namespaces = new Set<string>();
  for (const [name, ns] of inventory.namespaces) if (isAmbient(undefined, ns.labels)) namespaces.add(name);
  for (const w of inventory.workloads) if (isAmbient(w.labels, inventory.namespaces.get(w.namespace)?.labels)) namespaces.add(w.namespace);
  return namespaces;
});

/** Whether ztunnel, L4 only, may enforce a selector (or namespace-wide) policy of the namespace:
 * the inventory shows ambient workloads there, or anywhere for the root namespace. */
export function mayRunAtZtunnel(inventory: Inventory, namespace: string, rootNamespace: string): boolean {
  if (!inventory.present) return false;
  const ambient = ambientNamespaces(inventory);
  return namespace === rootNamespace ? ambient.size > 0 : ambient.has(namespace);
}

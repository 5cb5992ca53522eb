import { matchesLabels, type WorkloadInfo } from '../../inventory/inventory';
import { InventoryIndex } from '../../inventory/inventoryIndex';
import { chooseWaypoint, enforcedByZtunnel } from '../../istio/ambient';
import type { CheckContext } from '../check';
import { matchLabelsOf, namespaceOf, type Obj } from './util';
import { inventoryIndex } from './workspaceIndex';

/** The workloads a policy without targetRefs selects, and whether ztunnel enforces it (ambient). */
export interface AmbientScope {
  ns: string;
  workloads: WorkloadInfo[];
  /** ztunnel enforces the policy for some selected workload: an ambient pod that is no gateway and has no sidecar (or, with none in the inventory, the namespace is ambient). */
  ambient: boolean;
  /** The selected workloads ztunnel enforces it for. */
  ztunnelWorkloads: WorkloadInfo[];
  namespaceLabels: Record<string, string> | undefined;
}

export function ambientScope(ctx: CheckContext, spec: Obj | undefined): AmbientScope {
  const { inventory } = ctx.workspace;
  const ns = namespaceOf(ctx.resource);
  const namespaceLabels = inventory.namespaces.get(ns)?.labels;
  const selector = matchLabelsOf(spec);
  const workloads = (inventoryIndex(inventory).workloadsByNamespace.get(ns) ?? []).filter((w) => !selector || matchesLabels(selector, w.labels));
  const ztunnelWorkloads = workloads.filter((w) => enforcedByZtunnel(w.labels, w.annotations, namespaceLabels));
  const ambient = workloads.length ? ztunnelWorkloads.length > 0 : namespaceLabels?.['istio.io/dataplane-mode'] === 'ambient';
  return { ns, workloads, ambient, ztunnelWorkloads, namespaceLabels };
}

/** A waypoint, by namespace and name (its identity is its name as service account). */
export interface WaypointRef {
  ns: string;
  name: string;
}

/**
 * The waypoint the calls to a workload's Services pass (ambient), by `istio.io/use-waypoint` on
 * the Service or the namespace and the waypoint's `istio.io/waypoint-for` (`chooseWaypoint`).
 * Undefined without one.
 */
export function serviceWaypointOf(ctx: CheckContext, workload: WorkloadInfo, namespaceLabels: Record<string, string> | undefined): WaypointRef | undefined {
  const { inventory } = ctx.workspace;
  for (const service of InventoryIndex.of(inventory).servicesFor(workload)) {
    const choice = chooseWaypoint(inventory, workload.namespace, service.labels, namespaceLabels, true);
    if (choice.kind === 'named') return { ns: choice.ns, name: choice.name };
  }
  return undefined;
}

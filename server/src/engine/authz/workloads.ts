import type { WorkloadInfo } from '../inventory/inventory';
import type { InventoryIndex } from '../inventory/inventoryIndex';
import { closestMatches } from '../schema/messages';

/**
 * The inventory's workload `namespace/name` (a Deployment, StatefulSet ..., or a Pod by its own
 * name or its workload's), or the names nearest to it: the inventory's top-level workloads
 * spelled closest, else those of the same namespace.
 */
export function findWorkload(index: InventoryIndex, namespace: string | undefined, name: string): WorkloadInfo | { near: string[] } {
  if (namespace !== undefined) {
    const found = index.workload(namespace, name) ?? index.workloadForPod(name, namespace)?.workload;
    if (found) return index.topLevel(found);
  }
  const known = [...new Set(index.inventory.workloads.filter((w) => w.kind !== 'Pod' && !w.owner).map((w) => `${w.namespace}/${w.name}`))].sort();
  const asked = `${namespace ?? ''}/${name}`;
  const near = closestMatches(asked, known);
  if (near.length) return { near };
  const sameNamespace = known.filter((k) => k.startsWith(`${namespace ?? ''}/`) || k.endsWith(`/${name}`));
  return { near: sameNamespace.slice(0, 10) };
}

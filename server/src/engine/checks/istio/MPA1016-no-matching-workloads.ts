import { replaceScalar } from '../../edits';
import type { Fix } from '../../findings';
import { matchesLabels, type WorkloadInfo } from '../../inventory/inventory';
import type { Check } from '../check';
import { AP, closest, hasTargetRefs, matchLabelsOf, namespaceOf, specOf } from './util';
import { inMesh, inventoryIndex, labelsText } from './workspaceIndex';

/**
 * istioctl analyze IST0127 (authz/authorizationpolicies.go). Differences, for an offline
 * workspace that may describe only part of the cluster: a namespace the inventory does not
 * mention at all is skipped (its workloads are simply not in the workspace), policies with
 * targetRef(s) are skipped (they attach to Services and Gateways, not to labelled pods), and a
 * workload counts as in the mesh unless it or its namespace opts out of injection.
 */
export const noMatchingWorkloadsCheck: Check = {
  code: 'MPA1016',
  mesh: 'istio',
  title: 'No matching workloads',
  defaultSeverity: 'warning',
  upstream: 'istioctl analyze IST0127 NoMatchingWorkloadsFound: "No matching workloads for this resource with the following labels: LABELS"',
  kinds: [AP],
  needsInventory: true,
  run(ctx) {
    const spec = specOf(ctx);
    if (hasTargetRefs(spec)) return;
    const { inventory, config } = ctx.workspace;
    const index = inventoryIndex(inventory);
    const ns = namespaceOf(ctx.resource);
    const selector = matchLabelsOf(spec);
    const inMeshOf = (list: WorkloadInfo[] | undefined) => (list ?? []).filter((w) => inMesh(w, inventory));
    if (ns === config.istio.rootNamespace) {
      if (!selector || inventory.workloads.length === 0) return;
      if (inventory.workloads.some((w) => inMesh(w, inventory) && matchesLabels(selector, w.labels))) return;
      ctx.report({ path: ['spec', 'selector'], part: 'key' }, `no workload in the mesh matches the selector ${labelsText(selector)} (IST0127 No matching workloads): this root-namespace policy selects nothing in any namespace`);
      return;
    }
    if (!index.namespaces.has(ns)) return;
    const workloads = inMeshOf(index.workloadsByNamespace.get(ns));
    const outside = (index.workloadsByNamespace.get(ns) ?? []).length - workloads.length;
    const outsideNote = outside > 0 ? ` (${outside} workload${outside === 1 ? '' : 's'} there opt out of sidecar injection)` : '';
    if (!selector) {
      if (workloads.length) return;
      ctx.report({ path: ['metadata', 'namespace'] }, `no workload in the mesh runs in namespace ${ns}${outsideNote} (IST0127 No matching workloads): this namespace-wide policy has no effect`);
      return;
    }
    if (workloads.some((w) => matchesLabels(selector, w.labels))) return;
    // A label whose value is a near miss of what the namespace's workloads carry.
    const fixes: Fix[] = [];
    let hint = '';
    for (const [key, value] of Object.entries(selector)) {
      const values = new Set(workloads.map((w) => w.labels[key]).filter((v): v is string => v !== undefined));
      if (values.has(value)) continue;
      const near = closest(value, values, Math.max(2, Math.floor(value.length / 4)));
      if (!near) continue;
      const candidate = { ...selector, [key]: near };
      if (!workloads.some((w) => matchesLabels(candidate, w.labels))) continue;
      const node = ctx.locate(['spec', 'selector', 'matchLabels', key]).node;
      if (node) fixes.push({ title: `Change ${key} to ${near}`, edits: [replaceScalar(ctx.file, node, near)], preferred: true });
      hint = `; did you mean ${key}=${near}?`;
      break;
    }
    ctx.report({ path: ['spec', 'selector'], part: 'key' }, `no workload in namespace ${ns} matches the selector ${labelsText(selector)}${outsideNote} (IST0127 No matching workloads): the policy has no effect${hint}`, { fixes });
  },
};

import type { MeshModule } from '../meshModule';
import type { ObjectNode } from '../source/tree';
import { getEntry, toValue } from '../source/tree';

export const LINKERD_POLICY_GROUP = 'policy.linkerd.io';

/** True when some parentRef of a route names a Linkerd Server. */
export function hasLinkerdServerParent(node: ObjectNode): boolean {
  const spec = toValue(getEntry(node, 'spec')?.value) as { parentRefs?: unknown } | undefined;
  const parents = spec && Array.isArray(spec.parentRefs) ? spec.parentRefs : [];
  return parents.some((ref) => {
    if (!ref || typeof ref !== 'object') return false;
    const { group, kind } = ref as { group?: unknown; kind?: unknown };
    return typeof group === 'string' && group.toLowerCase() === LINKERD_POLICY_GROUP && typeof kind === 'string' && kind.toLowerCase() === 'server';
  });
}

export const linkerdModule: MeshModule = {
  mesh: 'linkerd',
  // Gateway API routes belong to Linkerd only when they attach to a Linkerd Server; routes for
  // ingress gateways are some other tool's business.
  accepts: (entry, node) => !entry.onlyWithLinkerdParent || hasLinkerdServerParent(node),
};

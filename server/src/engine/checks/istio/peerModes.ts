import type { WorkspaceFact } from '../check';
import { peerAuthentications, type PeerAuthInfo } from './workspaceIndex';

/** What the checks read of a PeerAuthentication (not where it is written). */
export type PeerMode = Omit<PeerAuthInfo, 'file' | 'resource'>;

export interface ResolvedPeerMode {
  mode: string;
  by: PeerMode;
  /** Port-level modes (container ports) of the workload-level policy, if one applies, even when
   * its own mode is UNSET and a wider policy decides `mode` (§1.8: an UNSET port inherits). */
  portLevel: Record<string, string>;
  /** The workload-level policy that `portLevel` comes from. */
  portBy?: PeerMode;
}

interface ByNamespace {
  /** Policies with a selector (workload level). */
  selected: PeerMode[];
  /** Policies without one (namespace level; mesh level in the root namespace). */
  wide: PeerMode[];
}

export interface PeerModes {
  list: PeerMode[];
  byNamespace: Map<string, ByNamespace>;
}

/** The workspace's PeerAuthentications by namespace (empty when it has none). */
export const PEER_MODES: WorkspaceFact<PeerModes> = {
  compute: (workspace) => {
    const list = peerAuthentications(workspace.resources).map(({ file: _file, resource: _resource, ...mode }): PeerMode => mode);
    const byNamespace = new Map<string, ByNamespace>();
    for (const pa of list) {
      let entry = byNamespace.get(pa.namespace);
      if (!entry) byNamespace.set(pa.namespace, (entry = { selected: [], wide: [] }));
      (pa.labels ? entry.selected : entry.wide).push(pa);
    }
    return { list, byNamespace };
  },
  key: ({ list }) => JSON.stringify(list),
};

/** The policy that decides a level: null when there is none; undefined when several disagree
 * and their age is unknown (the oldest wins; only cluster dumps carry creationTimestamp). */
function single(candidates: PeerMode[]): PeerMode | null | undefined {
  if (candidates.length === 0) return null;
  const modes = new Set(candidates.map((c) => c.mode));
  if (modes.size === 1 && new Set(candidates.map((c) => JSON.stringify(c.portLevel))).size === 1) return candidates[0];
  if (candidates.some((c) => c.createdAt === undefined)) return undefined;
  return candidates.reduce((a, b) => (b.createdAt! < a.createdAt! ? b : a));
}

/**
 * ComposePeerAuthentication (§1.8) for a workload with these labels: workload level (a selector,
 * not in the root namespace), then namespace level, then mesh level; the narrowest mode that is
 * not UNSET wins. `certain` says whether a workload-level policy applies for sure, not at all, or
 * maybe (a virtual workload known only by the policy's selector). Undefined when the answer
 * cannot be known from the workspace, or when no policy sets a mode.
 */
export function resolvePeerMode(index: PeerModes['byNamespace'], root: string, ns: string, certain: (labels: Record<string, string>) => 'yes' | 'no' | 'maybe'): ResolvedPeerMode | undefined {
  const workloadLevel: PeerMode[] = [];
  const here = index.get(ns);
  if (ns !== root) {
    for (const pa of here?.selected ?? []) {
      const applies = certain(pa.labels!);
      if (applies === 'maybe') return undefined;
      if (applies === 'yes') workloadLevel.push(pa);
    }
  }
  let portBy: PeerMode | undefined;
  const levels = [workloadLevel, ns === root ? [] : here?.wide ?? [], index.get(root)?.wide ?? []];
  for (const [i, candidates] of levels.entries()) {
    const chosen = single(candidates);
    if (chosen === undefined) return undefined;
    if (i === 0 && chosen && Object.keys(chosen.portLevel).length) portBy = chosen;
    if (chosen && chosen.mode !== 'UNSET') return { mode: chosen.mode, by: chosen, portLevel: portBy?.portLevel ?? {}, ...(portBy ? { portBy } : {}) };
  }
  return undefined;
}

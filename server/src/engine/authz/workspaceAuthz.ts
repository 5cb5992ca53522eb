import type { WorkspaceView } from '../checks/check';
import { perWorkspaceState } from '../workspaceState';
import type { Inventory, WorkloadInfo } from '../inventory/inventory';
import type { Mesh } from '../meshes';
import type { Pace } from '../pace';
import type { Resource } from '../resource';
import type { SourceRef } from '../simulate/types';
import type { SourceFile } from '../source/sourceFile';
import { nodeAt } from '../source/tree';
import { ATTACHES_AT, authzReaders, listWith } from './index';
import type { AuthzListing, AuthzTarget, AuthzUnknown, MeshAuthz } from './types';

/** A workload object of a file with the one-line summary of each mesh's listing of it. */
export interface WorkloadHeadlines {
  workload: WorkloadInfo;
  /** `namespace/name`, as `mesh-policy authz` takes it. */
  target: string;
  headlines: string[];
}

/**
 * The listings of the workspace's workloads for the editor: the per-mesh readers built once per
 * workspace state (its resources, inventory and configuration), and each workload listed at most
 * once while that state lasts. Nothing is computed until asked: lenses list only the workloads of
 * the file asked for, a hover lists every workload once.
 */
export class WorkspaceAuthz {
  private readersCache: MeshAuthz[] | undefined;
  private readonly listed = new Map<string, { listings: AuthzListing[]; unknown: AuthzUnknown[] }>();
  private appliesCache = new Map<string, string[]>();

  /** `readers`: the per-mesh readers to use instead of those of the workspace (tests count what they are asked). */
  constructor(private readonly workspace: WorkspaceView, readers?: MeshAuthz[]) {
    this.readersCache = readers;
  }

  private get readers(): MeshAuthz[] {
    this.readersCache ??= authzReaders(this.workspace);
    return this.readersCache;
  }

  /** The meshes with policies in the workspace, each with its reader. */
  get meshes(): Mesh[] {
    return this.readers.map((r) => r.mesh);
  }

  /** Whether any mesh has policies in the workspace (else nothing applies and nothing is shown). */
  get hasPolicies(): boolean {
    return this.readers.length > 0;
  }

  /** What `mesh-policy authz <namespace>/<name>` lists. */
  list(target: AuthzTarget): { listings: AuthzListing[]; unknown: AuthzUnknown[] } {
    const key = `${target.namespace ?? ''}/${target.name}`;
    let found = this.listed.get(key);
    if (!found) {
      found = listWith(this.readers, target);
      this.listed.set(key, found);
    }
    return found;
  }

  /** The inventory's workloads a user picks from: the objects no controller owns (a cluster dump's pods and ReplicaSets are listed under their Deployment), by namespace and name. */
  workloads(): WorkloadInfo[] {
    return this.workspace.inventory.workloads
      .filter((w) => !w.owner)
      .sort((a, b) => a.namespace.localeCompare(b.namespace) || a.name.localeCompare(b.name));
  }

  /**
   * The workload objects the inventory reads from `path` that no controller owns, each with its
   * listings' one-line summaries. `pace` gives the event loop turns between workloads (a file of
   * many workloads next to a policy file being typed in) and stops once its signal is aborted.
   */
  async headlines(path: string, pace?: Pace): Promise<WorkloadHeadlines[]> {
    // (a file without workloads, a policy file being typed in, builds no reader)
    const workloads = workloadsByFile(this.workspace.inventory).get(path);
    if (!workloads || !this.hasPolicies) return [];
    const out: WorkloadHeadlines[] = [];
    for (const workload of workloads) {
      if (workload.owner) continue;
      await pace?.turn();
      const { listings } = this.list({ namespace: workload.namespace, name: workload.name });
      const reader = (listing: AuthzListing) => this.readers.find((r) => r.mesh === listing.mesh)!;
      if (listings.length) out.push({ workload, target: `${workload.namespace}/${workload.name}`, headlines: listings.map((l) => reader(l).headline(l)) });
    }
    return out;
  }

  /**
   * When `offset` is on what `resource` attaches by (its mesh's `attachesAt`), the inventory's
   * workloads whose listing has a row in that resource (`namespace/name`, sorted); else undefined.
   * Only the workloads the resource may reach are listed (`MeshAuthz.mayApply`: its namespace,
   * unless it is in the root namespace ...); `pace` gives the event loop turns between them and
   * stops once its signal is aborted (then nothing is kept).
   */
  async appliesTo(file: SourceFile, resource: Resource, offset: number, pace?: Pace): Promise<string[] | undefined> {
    const { path } = nodeAt(resource.node, offset);
    if (!ATTACHES_AT[resource.mesh](resource.kind, path)) return undefined;
    const { start, end } = resource.node.span;
    const key = `${file.path}\u0000${start}`;
    const kept = this.appliesCache.get(key);
    if (kept) return kept;
    const reader = this.readers.find((r) => r.mesh === resource.mesh);
    if (!reader) return [];
    const inResource = (at: SourceRef | undefined) => {
      if (!at || at.file !== file.path) return false;
      const o = file.lines.offset(at.range.start);
      return o >= start && o <= end;
    };
    const reaches = reader.mayApply(resource);
    const names = new Set<string>();
    for (const w of this.workloads()) {
      if (!reaches(w)) continue;
      await pace?.turn();
      const { listings } = this.list({ namespace: w.namespace, name: w.name });
      const sections = listings.filter((l) => l.mesh === resource.mesh).flatMap((l) => l.sections);
      // (a Linkerd Server that `loses` the port to an older one selects the pod but does not apply)
      const rows = sections.flatMap((s) => s.rows).filter((r) => r.role !== 'loses');
      if (rows.some((r) => inResource(r.at)) || sections.some((s) => s.authentication?.rows.some((r) => inResource(r.at)))) names.add(`${w.namespace}/${w.name}`);
    }
    const found = [...names].sort();
    this.appliesCache.set(key, found);
    return found;
  }
}

const byFileCache = new WeakMap<Inventory, Map<string, WorkloadInfo[]>>();

/** The inventory's workloads per file they are read from (kept while the inventory is: edits to policies keep it). */
function workloadsByFile(inventory: Inventory): Map<string, WorkloadInfo[]> {
  let byFile = byFileCache.get(inventory);
  if (!byFile) {
    byFile = new Map();
    for (const w of inventory.workloads) {
      const list = byFile.get(w.file);
      if (list) list.push(w);
      else byFile.set(w.file, [w]);
    }
    byFileCache.set(inventory, byFile);
  }
  return byFile;
}

/** The `WorkspaceAuthz` of the workspace's current state (`perWorkspaceState`). */
export const workspaceAuthz: (workspace: WorkspaceView) => WorkspaceAuthz = perWorkspaceState((workspace) => new WorkspaceAuthz(workspace));

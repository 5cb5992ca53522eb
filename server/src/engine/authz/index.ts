import type { WorkspaceView } from '../checks/check';
import type { Mesh } from '../meshes';
import type { NodePath } from '../source/tree';
import { consulAttachesAt, consulAuthz } from './consul';
import { istioAttachesAt, istioAuthz } from './istio';
import { linkerdAttachesAt, linkerdAuthz } from './linkerd';
import { isUnknown, type AuthzListing, type AuthzTarget, type AuthzUnknown, type MeshAuthz } from './types';

export * from './types';
export { fewNames, listingMarkdown, listingText, listingHeading, unknownText, MESH_NAME } from './render';
export { workspaceAuthz, WorkspaceAuthz, type WorkloadHeadlines } from './workspaceAuthz';

const READERS: Partial<Record<Mesh, (workspace: WorkspaceView) => MeshAuthz>> = { istio: istioAuthz, linkerd: linkerdAuthz, consul: consulAuthz };

/** Whether `path` (in a resource's node) is where a resource of that mesh and kind says what it attaches to. */
export const ATTACHES_AT: Record<Mesh, (kind: string, path: NodePath) => boolean> = { istio: istioAttachesAt, linkerd: linkerdAttachesAt, consul: consulAttachesAt };

/** The listing readers of the meshes that have policies in the workspace (`mesh-policy authz`). */
export function authzReaders(workspace: WorkspaceView): MeshAuthz[] {
  const present = new Set(workspace.resources.map((r) => r.resource.mesh));
  return (Object.keys(READERS) as Mesh[]).filter((m) => present.has(m)).map((m) => READERS[m]!(workspace));
}

/**
 * What every mesh with policies lists for `target`, and what the meshes that do not know it
 * suggest. A workload the inventory puts in some meshes (a proxy injected, ambient, an intention
 * naming it) is listed only for those: the other meshes' policies do not reach it.
 */
export function listAuthz(workspace: WorkspaceView, target: AuthzTarget): { listings: AuthzListing[]; unknown: AuthzUnknown[] } {
  return listWith(authzReaders(workspace), target);
}

/** `listAuthz` with the readers of a workspace already built (the editor keeps them per workspace state). */
export function listWith(readers: readonly MeshAuthz[], target: AuthzTarget): { listings: AuthzListing[]; unknown: AuthzUnknown[] } {
  const answers = readers.map((reader) => reader.list(target));
  const listings = answers.filter((a): a is AuthzListing => !isUnknown(a));
  const unknown = answers.filter(isUnknown);
  const enrolled = listings.filter((l) => l.enrolled);
  return { listings: enrolled.length ? enrolled : listings, unknown };
}

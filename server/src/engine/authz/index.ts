import type { WorkspaceView } from '../checks/check';
import type { Mesh } from '../meshes';
import { consulAuthz } from './consul';
import { istioAuthz } from './istio';
import { linkerdAuthz } from './linkerd';
import { isUnknown, type AuthzListing, type AuthzTarget, type AuthzUnknown, type MeshAuthz } from './types';

export * from './types';

const READERS: Partial<Record<Mesh, (workspace: WorkspaceView) => MeshAuthz>> = { istio: istioAuthz, linkerd: linkerdAuthz, consul: consulAuthz };

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
  const answers = authzReaders(workspace).map((reader) => reader.list(target));
  const listings = answers.filter((a): a is AuthzListing => !isUnknown(a));
  const unknown = answers.filter(isUnknown);
  const enrolled = listings.filter((l) => l.enrolled);
  return { listings: enrolled.length ? enrolled : listings, unknown };
}

import type { WorkspaceView } from '../checks/check';
import type { Mesh } from '../meshes';
import { istioAuthz } from './istio';
import { linkerdAuthz } from './linkerd';
import type { MeshAuthz } from './types';

export * from './types';

const READERS: Partial<Record<Mesh, (workspace: WorkspaceView) => MeshAuthz>> = { istio: istioAuthz, linkerd: linkerdAuthz };

/** The listing readers of the meshes that have policies in the workspace (`mesh-policy authz`). */
export function authzReaders(workspace: WorkspaceView): MeshAuthz[] {
  const present = new Set(workspace.resources.map((r) => r.resource.mesh));
  return (Object.keys(READERS) as Mesh[]).filter((m) => present.has(m)).map((m) => READERS[m]!(workspace));
}

import { defaultConfig, type ProjectConfig } from '../../../server/src/engine/config/projectConfig';
import { Engine } from '../../../server/src/engine/engine';
import { authzReaders, isUnknown, type AuthzListing, type AuthzTarget, type AuthzUnknown } from '../../../server/src/engine/authz';
import type { Mesh } from '../../../server/src/engine/meshes';
import { WorkspaceModel } from '../../../server/src/engine/workspace';

const engine = new Engine();

/** A workspace of in-memory files (policies and manifests), as the CLI reads them from disk. */
export function workspaceOf(files: Record<string, string>, configure: (config: ProjectConfig) => void = () => {}): WorkspaceModel {
  const config = defaultConfig('/ws');
  configure(config);
  const workspace = new WorkspaceModel(config);
  for (const [path, text] of Object.entries(files)) workspace.update(engine.prepare(engine.read(`/ws/${path}`, text)));
  return workspace;
}

/** What `mesh`'s reader answers about `target`. */
export function listFor(mesh: Mesh, workspace: WorkspaceModel, target: AuthzTarget): AuthzListing | AuthzUnknown {
  const reader = authzReaders(workspace).find((r) => r.mesh === mesh);
  if (!reader) throw new Error(`no ${mesh} reader: no ${mesh} policy in the workspace`);
  return reader.list(target);
}

export function listed(result: AuthzListing | AuthzUnknown): AuthzListing {
  if (isUnknown(result)) throw new Error(`unknown target ${result.unknown} (near: ${result.near.join(', ')})`);
  return result;
}

/** A section's rows as `ROLE resource`, in listed order. */
export function rowsOf(listing: AuthzListing, section: number): string[] {
  return listing.sections[section]!.rows.map((r) => `${r.role} ${r.resource}`);
}

/**
 * An Istio inventory: namespace foo with sidecar injection, its Deployment cart (container port
 * 7070) and Service cart; the ambient namespace amb, whose waypoint serves its Service api.
 */
export const ISTIO_INVENTORY = `apiVersion: v1
kind: Namespace
metadata: {name: foo, labels: {istio-injection: enabled}}
---
apiVersion: apps/v1
kind: Deployment
metadata: {name: cart, namespace: foo}
spec:
  selector: {matchLabels: {app: cart}}
  template:
    metadata: {labels: {app: cart}}
    spec: {containers: [{name: cart, image: cart, ports: [{containerPort: 7070}]}]}
---
apiVersion: v1
kind: Service
metadata: {name: cart, namespace: foo}
spec: {selector: {app: cart}, ports: [{port: 80, targetPort: 7070}]}
---
apiVersion: v1
kind: Namespace
metadata: {name: amb, labels: {istio.io/dataplane-mode: ambient, istio.io/use-waypoint: waypoint}}
---
apiVersion: gateway.networking.k8s.io/v1
kind: Gateway
metadata: {name: waypoint, namespace: amb}
spec: {gatewayClassName: istio-waypoint, listeners: [{name: mesh, port: 15008, protocol: HBONE}]}
---
apiVersion: apps/v1
kind: Deployment
metadata: {name: api, namespace: amb}
spec:
  selector: {matchLabels: {app: api}}
  template:
    metadata: {labels: {app: api}}
    spec: {containers: [{name: api, image: api, ports: [{containerPort: 8080}]}]}
---
apiVersion: v1
kind: Service
metadata: {name: api, namespace: amb}
spec: {selector: {app: api}, ports: [{port: 80, targetPort: 8080}]}
`;

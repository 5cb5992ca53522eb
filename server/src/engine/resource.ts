import type { Mesh } from './meshes';
import type { CatalogEntry } from './schema/catalog';
import type { NodePath, ObjectNode } from './source/tree';

/** A recognized mesh policy resource inside a source document. */
export interface Resource {
  mesh: Mesh;
  entry: CatalogEntry;
  documentIndex: number;
  /** Where the resource sits in its document: `[]`, or `['items', i]` inside a kubectl List. */
  path: NodePath;
  /** The resource in the shape its schema describes (Consul keys mapped to their canonical
   * names); spans still point into the original text. */
  node: ObjectNode;
  kind: string;
  apiVersion?: string;
  name?: string;
  namespace?: string;
}

/** How the walkthrough and decisions name a resource: `AuthorizationPolicy shop/cart`, `service-intentions api`. */
export function resourceLabel(resource: Pick<Resource, 'kind' | 'namespace' | 'name'>): string {
  return `${resource.kind} ${resource.namespace ? `${resource.namespace}/` : ''}${resource.name ?? ''}`;
}

/** A document that names a mesh kind in a version the mesh does not serve. */
export interface UnservedVersion {
  documentIndex: number;
  path: NodePath;
  node: ObjectNode;
  apiVersion: string;
  kind: string;
  servedVersions: string[];
}

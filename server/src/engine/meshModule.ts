import type { Finding } from './findings';
import type { Mesh } from './meshes';
import type { Resource } from './resource';
import type { CatalogEntry } from './schema/catalog';
import type { SchemaRegistry } from './schema/registry';
import type { ObjectNode } from './source/tree';

/** What a mesh adds to the shared recognition and validation pipeline. */
export interface MeshModule {
  mesh: Mesh;
  /** Extra condition for an entry that matched by apiVersion + kind. */
  accepts?(entry: CatalogEntry, node: ObjectNode): boolean;
  /** Recognizes documents that carry no apiVersion (Consul config entries). */
  recognizeUntyped?(node: ObjectNode, entries: CatalogEntry[]): CatalogEntry | undefined;
  /** Maps the tree to the shape the schema describes, keeping spans. */
  canonicalize?(node: ObjectNode, entry: CatalogEntry, registry: SchemaRegistry): ObjectNode;
  /** The schema's findings for a resource as the mesh's own decoder weighs them (Consul converts
   * many wrong types of a config entry, so they are not refusals there). */
  weighSchemaFindings?(resource: Resource, value: Record<string, unknown>, findings: Finding[]): Finding[];
}

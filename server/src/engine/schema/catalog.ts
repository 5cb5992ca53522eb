import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { folderAbove } from '../installedFiles';
import { MESHES, type Mesh } from '../meshes';
import type { JsonSchema } from './jsonSchema';

/** One recognized kind and version, and the schema that describes it (schemas/<mesh>/catalog.json). */
export interface CatalogEntry {
  mesh: Mesh;
  /** API group and version for Kubernetes resources. */
  group?: string;
  version?: string;
  kind?: string;
  /** `Kind` of a Consul config entry (HCL/JSON for `consul config write`). */
  configEntryKind?: string;
  /** File name inside schemas/<mesh>/. */
  schema: string;
  /** Gateway API routes count only when a parentRef names a Linkerd Server. */
  onlyWithLinkerdParent?: boolean;
}

export interface SchemaCatalog {
  entries: CatalogEntry[];
  /** Every schema file by $id, including files only reached through $ref. */
  schemas: Map<string, JsonSchema>;
  dir: string;
}

export const SCHEMA_ID_BASE = 'https://mesh-policy.invalid/schemas/';

export function schemaId(entry: Pick<CatalogEntry, 'mesh' | 'schema'>): string {
  return `${SCHEMA_ID_BASE}${entry.mesh}/${entry.schema}`;
}

export function apiVersionOf(entry: CatalogEntry): string | undefined {
  if (!entry.version) return undefined;
  return entry.group ? `${entry.group}/${entry.version}` : entry.version;
}

/** Finds the schemas folder next to the running code: the repo when run from `out/`, the
 * extension folder when run from the bundle in `dist/`. */
export function findSchemasDir(start: string = __dirname): string {
  const override = process.env['MESH_POLICY_SCHEMAS'];
  if (override) return override;
  const root = folderAbove(start, join('schemas', 'istio', 'catalog.json'));
  if (root === undefined) throw new Error(`cannot find the schemas folder above ${start}`);
  return join(root, 'schemas');
}

export function loadCatalog(dir: string = findSchemasDir()): SchemaCatalog {
  const entries: CatalogEntry[] = [];
  const schemas = new Map<string, JsonSchema>();
  for (const mesh of MESHES) {
    const meshDir = join(dir, mesh);
    if (!existsSync(join(meshDir, 'catalog.json'))) continue;
    for (const raw of JSON.parse(readFileSync(join(meshDir, 'catalog.json'), 'utf8')) as Omit<CatalogEntry, 'mesh'>[]) entries.push({ ...raw, mesh });
    for (const file of readdirSync(meshDir).filter((f) => f.endsWith('.schema.json')).sort()) {
      const schema = JSON.parse(readFileSync(join(meshDir, file), 'utf8')) as JsonSchema;
      schemas.set(schema.$id ?? schemaId({ mesh, schema: file }), schema);
    }
  }
  return { entries, schemas, dir };
}

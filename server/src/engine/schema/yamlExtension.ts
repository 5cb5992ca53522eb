import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { apiVersionOf, SCHEMA_ID_BASE, type SchemaCatalog } from './catalog';

/**
 * Our schemas as the Red Hat YAML extension takes them from another extension (its
 * `registerContributor` API: a schema URI per file, then that URI's content). A contributed
 * schema wins over `yaml.schemas` globs and SchemaStore (yaml-language-server's
 * `getSchemaForResource`: a modeline first, then a contributor, then the associations), so a
 * glob such as `**\/policies/**` can no longer put an unrelated schema on a mesh policy file
 * (yaml-language-server#1298, vscode-yaml#1273, #1014).
 *
 * - `quiet`: a schema that accepts every document. Our own server checks these files, so the YAML
 *   extension says nothing more about them (no second, differently worded report of one problem).
 * - `schemas`: a schema that routes each document by apiVersion and kind to our schema of that
 *   kind (the YAML extension then completes and validates with it too).
 */
export const YAML_CONTRIBUTOR = 'meshpolicy';
const BASE = `${YAML_CONTRIBUTOR}://schemas/`;
/** Schemas of our own formats, beside the meshes' folders: `policy-test.schema.json` (docs/policy-tests.md) refers to `access-record.schema.json`. */
export const TOP_LEVEL_SCHEMAS: readonly string[] = ['policy-test.schema.json', 'access-record.schema.json'];

/** The content of one of our URIs (`quiet.json`, `policies.json`, which the client's
 * `yamlContributor.ts` hands out, or a kind's schema they refer to), or undefined. */
export function yamlSchemaContent(catalog: SchemaCatalog, uri: string): string | undefined {
  if (!uri.startsWith(BASE)) return undefined;
  const name = uri.slice(BASE.length);
  if (name === 'quiet.json') {
    return JSON.stringify({
      $schema: 'http://json-schema.org/draft-07/schema#', $id: uri,
      title: 'Mesh policies',
      description: 'Istio, Linkerd and Consul policies: checked by Mesh Policy Auditor (meshPolicy.yamlExtension: "schemas" lets the YAML extension check them too).',
    });
  }
  if (name === 'policies.json') return JSON.stringify(routingSchema(catalog, uri));
  // the schemas at the top of the folder: policy tests, and the access record their calls may be
  if (TOP_LEVEL_SCHEMAS.includes(name)) return JSON.stringify(withOwnUris(JSON.parse(readFileSync(join(catalog.dir, name), 'utf8')) as object, name));
  const schema = catalog.schemas.get(`${SCHEMA_ID_BASE}${name}`);
  return schema ? JSON.stringify(withOwnUris(schema, name)) : undefined;
}

/** Each document to the schema of its apiVersion and kind; a document of another kind is left alone. */
function routingSchema(catalog: SchemaCatalog, uri: string): object {
  const routes = catalog.entries.flatMap((entry) => {
    const apiVersion = apiVersionOf(entry);
    if (!apiVersion || !entry.kind) return [];
    return [{
      if: { properties: { apiVersion: { const: apiVersion }, kind: { const: entry.kind } }, required: ['apiVersion', 'kind'] },
      then: { $ref: `${BASE}${entry.mesh}/${entry.schema}` },
    }];
  });
  return { $schema: 'http://json-schema.org/draft-07/schema#', $id: uri, title: 'Mesh policies', description: 'Istio, Linkerd and Consul policies, by apiVersion and kind (Mesh Policy Auditor).', allOf: routes };
}

/** A schema under our URI: its `$id`, and references to sibling files, point at our URIs (never at the `.invalid` host). */
function withOwnUris(schema: object, name: string): object {
  const folder = name.slice(0, name.lastIndexOf('/') + 1);
  return JSON.parse(JSON.stringify(schema), (key, value: unknown) => {
    if (key === '$id' && typeof value === 'string') return `${BASE}${value.startsWith(SCHEMA_ID_BASE) ? value.slice(SCHEMA_ID_BASE.length) : name}`;
    if (key === '$ref' && typeof value === 'string' && !value.startsWith('#') && !value.includes('://')) return `${BASE}${folder}${value}`;
    return value;
  }) as object;
}

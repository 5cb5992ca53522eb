import { Codes } from '../codes';
import type { MeshModule } from '../meshModule';
import { decodeConfigEntry } from './configEntryDecode';
import { expand, propertyNames, typesOf } from '../schema/navigate';
import type { JsonSchema } from '../schema/jsonSchema';
import type { SchemaRegistry } from '../schema/registry';
import type { ObjectNode, SourceNode } from '../source/tree';

/** Consul matches config-entry field names in any letter case, and takes snake_case only for
 * the fields that declare an alias (mapstructure + Consul's TranslateKeys table). */
const SNAKE_CASE_ALIASES: Record<string, string> = {
  sameness_group: 'SamenessGroup',
  path_exact: 'PathExact',
  path_prefix: 'PathPrefix',
  path_regex: 'PathRegex',
  ignore_case: 'IgnoreCase',
  verify_claims: 'VerifyClaims',
  legacy_id: 'LegacyID',
  legacy_meta: 'LegacyMeta',
  legacy_create_time: 'LegacyCreateTime',
  legacy_update_time: 'LegacyUpdateTime',
};

export function foldKey(key: string): string {
  return (SNAKE_CASE_ALIASES[key.toLowerCase()] ?? key).toLowerCase();
}

export const consulModule: MeshModule = {
  mesh: 'consul',
  recognizeUntyped(node, entries) {
    const kindEntry = node.entries.find((e) => foldKey(e.key) === 'kind');
    const kind = kindEntry?.value.type === 'scalar' ? kindEntry.value.value : undefined;
    if (typeof kind !== 'string') return undefined;
    return entries.find((e) => e.mesh === 'consul' && e.configEntryKind === kind);
  },
  canonicalize(node, entry, registry) {
    if (!entry.configEntryKind) return node;
    const root = registry.rootSchema(entry);
    return canonicalizeNode(node, expand(registry, root, root), root, registry) as ObjectNode;
  },
  weighSchemaFindings(resource, value, findings) {
    // `consul config write` converts a wrong type where it can (mapstructure, weakly typed): when
    // the entry decodes, each such value is stored as converted, so it is a warning, not a refusal.
    // A key it does not know makes it refuse the whole entry, which the message says.
    if (!resource.entry.configEntryKind || !findings.some((f) => f.code === Codes.wrongType || f.code === Codes.unknownField)) return findings;
    const decodes = decodeConfigEntry(value).refusals.length === 0;
    return findings.map((f) => {
      if (f.code === Codes.unknownField) return { ...f, message: `${f.message} (consul config write refuses the whole entry: invalid config key)` };
      if (decodes && f.code === Codes.wrongType && f.severity === 'error') return { ...f, severity: 'warning', message: `${f.message}; consul config write converts it and stores the entry` };
      return f;
    });
  },
};

function canonicalizeNode(node: SourceNode, schemas: JsonSchema[], root: JsonSchema, registry: SchemaRegistry): SourceNode {
  if (node.type === 'object') {
    const known = propertyNames(schemas);
    const byFolded = new Map([...known.keys()].map((name) => [foldKey(name), name]));
    const entries = node.entries.map((entry) => {
      const key = known.has(entry.key) ? entry.key : byFolded.get(foldKey(entry.key)) ?? entry.key;
      const childSchemas = schemas.flatMap((s) => childOf(registry, root, s, key));
      let value = entry.value;
      const types = typesOf(childSchemas);
      if (value.type === 'object' && value.block && types.includes('array') && !types.includes('object')) {
        value = { type: 'array', span: value.span, items: [value], flow: false };
      }
      return { ...entry, key, value: canonicalizeNode(value, childSchemas, root, registry) };
    });
    return { ...node, entries };
  }
  if (node.type === 'array') {
    const itemSchemas = schemas.flatMap((s) => childOf(registry, root, s, 0));
    return { ...node, items: node.items.map((item) => canonicalizeNode(item, itemSchemas, root, registry)) };
  }
  return node;
}

function childOf(registry: SchemaRegistry, root: JsonSchema, schema: JsonSchema, segment: string | number): JsonSchema[] {
  let child: JsonSchema | boolean | undefined;
  if (typeof segment === 'string') child = schema.properties?.[segment] ?? (typeof schema.additionalProperties === 'object' ? schema.additionalProperties : undefined);
  else child = Array.isArray(schema.items) ? schema.items[segment] : schema.items;
  return child && typeof child === 'object' ? expand(registry, root, child) : [];
}

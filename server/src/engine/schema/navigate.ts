import type { NodePath } from '../source/tree';
import { isSchema, type JsonSchema } from './jsonSchema';
import type { SchemaRegistry } from './registry';

/**
 * The schemas that may describe the value at a path: follows `$ref`, `allOf`, and every branch
 * of `oneOf`/`anyOf`/`if`-`then`-`else`, so hover and completion see all the fields a position
 * can hold. Constraint-only entries (no properties, no items, no description) drop out.
 */
export function schemasAt(registry: SchemaRegistry, root: JsonSchema, path: NodePath): JsonSchema[] {
  let current = expand(registry, root, root);
  for (const segment of path) {
    current = schemasBelow(registry, root, current, segment);
    if (current.length === 0) return [];
  }
  return current;
}

/** One step of {@link schemasAt}: the schemas of the value at `segment` below `current`. */
export function schemasBelow(registry: SchemaRegistry, root: JsonSchema, current: JsonSchema[], segment: string | number): JsonSchema[] {
  const next: JsonSchema[] = [];
  for (const schema of current) {
    if (typeof segment === 'string') {
      const property = schema.properties?.[segment];
      if (isSchema(property)) next.push(property);
      else if (schema.patternProperties) {
        for (const [pattern, sub] of Object.entries(schema.patternProperties)) if (isSchema(sub) && safeTest(pattern, segment)) next.push(sub);
      }
      if (!property && isSchema(schema.additionalProperties)) next.push(schema.additionalProperties);
    } else if (Array.isArray(schema.items)) {
      const item = schema.items[segment];
      if (item) next.push(item);
    } else if (isSchema(schema.items)) {
      next.push(schema.items);
    }
  }
  return next.flatMap((s) => expand(registry, root, s));
}

export function expand(registry: SchemaRegistry, root: JsonSchema, schema: JsonSchema, depth = 0): JsonSchema[] {
  if (depth > 12) return [];
  const resolved = registry.resolve(root, schema);
  const out = [resolved];
  for (const key of ['allOf', 'oneOf', 'anyOf'] as const) {
    for (const sub of resolved[key] ?? []) out.push(...expand(registry, root, sub, depth + 1).filter(isDescriptive));
  }
  for (const key of ['then', 'else'] as const) {
    const sub = resolved[key];
    if (sub) out.push(...expand(registry, root, sub, depth + 1).filter(isDescriptive));
  }
  return out;
}

function isDescriptive(schema: JsonSchema): boolean {
  return Boolean(schema.properties || schema.items || schema.description || schema.enum || schema.type);
}

export function safeTest(pattern: string, value: string): boolean {
  try {
    return new RegExp(pattern, 'u').test(value);
  } catch {
    return false;
  }
}

export function propertyNames(schemas: JsonSchema[]): Map<string, JsonSchema> {
  const names = new Map<string, JsonSchema>();
  for (const schema of schemas) for (const [name, sub] of Object.entries(schema.properties ?? {})) if (isSchema(sub) && !names.has(name)) names.set(name, sub);
  return names;
}

export function firstWith<K extends keyof JsonSchema>(schemas: JsonSchema[], key: K): JsonSchema[K] | undefined {
  for (const schema of schemas) if (schema[key] !== undefined) return schema[key];
  return undefined;
}

export function typesOf(schemas: JsonSchema[]): string[] {
  const types = new Set<string>();
  for (const schema of schemas) {
    if (typeof schema.type === 'string') types.add(schema.type);
    else for (const t of schema.type ?? []) types.add(t);
  }
  return [...types];
}

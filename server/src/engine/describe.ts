import type { Resource } from './resource';
import { apiVersionOf } from './schema/catalog';
import type { JsonSchema } from './schema/jsonSchema';
import { describeType } from './schema/messages';
import { firstWith, schemasAt, typesOf } from './schema/navigate';
import type { SchemaRegistry } from './schema/registry';
import { resourceAt } from './resourceAt';
import type { SourceFile, SourceFormat } from './source/sourceFile';
import { hclBlock, jsonBlock } from './trafficFixes/layout';
import { nodeAt, type Span } from './source/tree';

export interface FieldDoc {
  /** Markdown. */
  contents: string;
  span: Span;
}

/** Documentation for the field under the cursor, from the same schema that validates it. */
export function describeAt(file: SourceFile, resources: Resource[], registry: SchemaRegistry, offset: number): FieldDoc | undefined {
  const resource = resourceAt(file, resources, offset);
  if (!resource) return undefined;
  const { path, node, onKey } = nodeAt(resource.node, offset);
  if (path.length === 0) return undefined;
  const root = registry.rootSchema(resource.entry);
  const schemas = schemasAt(registry, root, path);
  if (schemas.length === 0) return undefined;
  const fieldName = [...path].reverse().find((s): s is string => typeof s === 'string') ?? resource.kind;
  // Inside a list (a rule, a principal): the schemas describe one item, so the example is one item of the list.
  const inItem = typeof path[path.length - 1] === 'number';
  const lines: string[] = [];
  const title = path.length === 1 && (fieldName === 'kind' || fieldName === 'apiVersion')
    ? `**${resource.kind}** · \`${apiVersionOf(resource.entry) ?? resource.entry.configEntryKind}\` · ${resource.mesh}`
    : `**${fieldName}**${inItem ? ' item' : ''}${typeLabel(schemas)}`;
  lines.push(title, '');
  const description = firstWith(schemas, 'description');
  if (path.length === 1 && (fieldName === 'kind' || fieldName === 'apiVersion')) lines.push(root.description ?? '');
  else if (description) lines.push(description);
  const enumValues = firstWith(schemas, 'enum');
  if (enumValues?.length) lines.push('', `Allowed: ${enumValues.map((v) => `\`${String(v)}\``).join(', ')}`);
  const defaultValue = firstWith(schemas, 'default');
  if (defaultValue !== undefined) lines.push('', `Default: \`${JSON.stringify(defaultValue)}\``);
  const example = firstWith(schemas, 'examples')?.[0];
  if (example !== undefined && !(path.length === 1 && fieldName === 'kind')) lines.push('', 'Example:', ...renderExample(file.format, fieldName, inItem ? [example] : example));
  const span = node && (onKey || node.type === 'scalar') ? (onKey ? keySpanOf(resource, path) ?? node.span : node.span) : node?.span ?? resource.node.span;
  return { contents: lines.join('\n').trim(), span };
}

function typeLabel(schemas: JsonSchema[]): string {
  const types = typesOf(schemas);
  return types.length ? ` — ${types.map(describeType).join(' or ')}` : '';
}

function keySpanOf(resource: Resource, path: (string | number)[]): Span | undefined {
  let node = resource.node as Resource['node'] | import('./source/tree').SourceNode;
  let keySpan: Span | undefined;
  for (const segment of path) {
    if (node.type === 'object' && typeof segment === 'string') {
      const entry = node.entries.find((e) => e.key === segment);
      if (!entry) return keySpan;
      keySpan = entry.keySpan;
      node = entry.value;
    } else if (node.type === 'array' && typeof segment === 'number' && node.items[segment]) {
      node = node.items[segment]!;
    } else {
      return keySpan;
    }
  }
  return keySpan;
}

/** The example as a fenced block in the file's own format (a Consul HCL or JSON entry shows HCL or JSON). */
function renderExample(format: SourceFormat, field: string, example: unknown): string[] {
  const isObject = example !== null && typeof example === 'object';
  if (format === 'json') return ['```json', `${JSON.stringify(field)}: ${isObject ? jsonBlock(example, 0) : JSON.stringify(example)}`, '```'];
  if (format === 'hcl') {
    const block = isObject && !Array.isArray(example); // nested maps are blocks: `HTTP { ... }`
    return ['```hcl', `${field}${block ? '' : ' ='} ${hclBlock(example, 0)}`, '```'];
  }
  return ['```yaml', isObject ? `${field}:\n${toYaml(example, 1)}` : `${field}: ${scalar(example)}`, '```'];
}

function toYaml(value: unknown, depth: number): string {
  const pad = '  '.repeat(depth);
  if (Array.isArray(value)) {
    return value.map((item) => {
      if (item !== null && typeof item === 'object') return `${pad}- ${toYaml(item, depth + 1).trimStart()}`;
      return `${pad}- ${scalar(item)}`;
    }).join('\n');
  }
  if (value !== null && typeof value === 'object') {
    return Object.entries(value).map(([key, inner]) => {
      if (inner !== null && typeof inner === 'object' && (!Array.isArray(inner) || inner.length)) return `${pad}${key}:\n${toYaml(inner, depth + 1)}`;
      return `${pad}${key}: ${Array.isArray(inner) ? '[]' : scalar(inner)}`;
    }).join('\n');
  }
  return `${pad}${scalar(value)}`;
}

function scalar(value: unknown): string {
  if (typeof value === 'string') return /^[A-Za-z0-9_./*-][^:#]*$/.test(value) && !/^(true|false|null|\d+)$/.test(value) ? value : JSON.stringify(value);
  return JSON.stringify(value);
}

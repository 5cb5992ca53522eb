import type { Resource } from './resource';
import type { JsonSchema } from './schema/jsonSchema';
import { firstWith, propertyNames, schemasAt, typesOf } from './schema/navigate';
import type { SchemaRegistry } from './schema/registry';
import { resourceAt } from './resourceAt';
import type { SourceFile } from './source/sourceFile';
import type { NodePath, Span } from './source/tree';

export interface Suggestion {
  label: string;
  kind: 'field' | 'value';
  /** Text that replaces `replace`. */
  insertText: string;
  replace: Span;
  detail?: string;
  documentation?: string;
  required?: boolean;
}

interface LineShape {
  indent: number;
  /** Column of each `- ` marker on the line. */
  dashes: number[];
  keyColumn: number;
  key?: string;
  blank: boolean;
}

function shapeOf(line: string): LineShape {
  const indent = /^ */.exec(line)![0].length;
  const trimmed = line.slice(indent);
  if (trimmed === '' || trimmed.startsWith('#')) return { indent, dashes: [], keyColumn: indent, blank: true };
  const dashes: number[] = [];
  let column = indent;
  let rest = trimmed;
  for (let m = /^-(\s+|$)/.exec(rest); m; m = /^-(\s+|$)/.exec(rest)) {
    dashes.push(column);
    column += m[0].length;
    rest = rest.slice(m[0].length);
  }
  const keyMatch = /^("[^"]*"|'[^']*'|[^\s:#'"{[][^:#]*?)\s*:(\s|$)/.exec(rest);
  const key = keyMatch ? keyMatch[1]!.replace(/^["']|["']$/g, '') : undefined;
  return { indent, dashes, keyColumn: column, ...(key !== undefined ? { key } : {}), blank: false };
}

/**
 * The path of the mapping a cursor line belongs to, worked out from indentation alone so that
 * it holds while the user is typing and the YAML does not parse yet.
 */
function pathFromIndentation(lines: string[], lineNo: number, column: number, startsItem: boolean): { path: NodePath; siblings: Set<string> } {
  const path: NodePath = [];
  let target = column;
  let inItem = startsItem;
  let siblingScope = true;
  const siblings = new Set<string>();
  for (let l = lineNo - 1; l >= 0; l--) {
    const text = lines[l]!;
    if (/^(---|\.\.\.)\s*$/.test(text)) break;
    const shape = shapeOf(text);
    if (shape.blank) continue;
    if (siblingScope && shape.key !== undefined && shape.keyColumn === target && !startsItem) siblings.add(shape.key);
    const dashColumn = shape.dashes[shape.dashes.length - 1];
    if (shape.keyColumn === target && dashColumn !== undefined && !inItem) {
      // A sibling key that opened the current list item: the item starts here.
      target = dashColumn;
      inItem = true;
      siblingScope = false;
      continue;
    }
    const isParent = inItem ? shape.keyColumn <= target && !(dashColumn !== undefined && dashColumn >= target) : shape.keyColumn < target;
    if (!isParent) continue;
    if (shape.key === undefined) {
      if (dashColumn !== undefined && shape.keyColumn <= target) {
        target = dashColumn;
        inItem = true;
      }
      continue;
    }
    siblingScope = false;
    path.unshift(...(inItem ? [shape.key, 0] : [shape.key]));
    if (dashColumn !== undefined) {
      target = dashColumn;
      inItem = true;
    } else {
      target = shape.keyColumn;
      inItem = false;
    }
  }
  // Keys below the cursor at the same column are siblings too.
  for (let l = lineNo + 1; l < lines.length; l++) {
    const shape = shapeOf(lines[l]!);
    if (shape.blank) continue;
    if (shape.keyColumn < column || /^(---|\.\.\.)\s*$/.test(lines[l]!)) break;
    if (shape.keyColumn === column && shape.dashes.length === 0 && shape.key !== undefined && !startsItem) siblings.add(shape.key);
    if (shape.keyColumn === column && shape.dashes.length > 0) break;
  }
  return { path, siblings };
}

/** Field and value suggestions for YAML, from the schema of the resource under the cursor. */
export function completeAt(file: SourceFile, resources: Resource[], registry: SchemaRegistry, offset: number): Suggestion[] {
  if (file.format !== 'yaml') return [];
  const resource = resourceAt(file, resources, offset);
  if (!resource) return [];
  const position = file.lines.position(offset);
  const lineStart = file.lines.lineStart(position.line);
  const before = file.text.slice(lineStart, offset);
  const lines = file.text.split(/\r?\n/);
  const root = registry.rootSchema(resource.entry);
  const base = resource.path;

  const valueMatch = /^(\s*)((?:-\s+)*)("[^"]*"|'[^']*'|[^\s:#'"][^:#]*?)\s*:\s+(["']?)([^"'#]*)$/.exec(before);
  if (valueMatch) {
    const keyColumn = valueMatch[1]!.length + valueMatch[2]!.length;
    const key = valueMatch[3]!.replace(/^["']|["']$/g, '');
    const { path } = pathFromIndentation(lines, position.line, keyColumn, valueMatch[2]!.length > 0);
    const typed = valueMatch[5]!;
    const replace = { start: offset - typed.length - valueMatch[4]!.length, end: offset };
    return valueSuggestions(schemasAt(registry, root, relative(base, [...path, key])), replace);
  }

  const itemMatch = /^(\s*)((?:-\s+)*)-\s+(["']?)([^"':#{[]*)$/.exec(before);
  if (itemMatch) {
    const dashColumn = itemMatch[1]!.length + itemMatch[2]!.length;
    const { path } = pathFromIndentation(lines, position.line, dashColumn + 1, false);
    const typed = itemMatch[4]!;
    const replace = { start: offset - typed.length - itemMatch[3]!.length, end: offset };
    const itemSchemas = schemasAt(registry, root, relative(base, [...path, 0]));
    const values = valueSuggestions(itemSchemas, replace);
    if (values.length) return values;
    const keyed = keySuggestions(itemSchemas, new Set(), { start: offset - typed.length, end: offset }, dashColumn + 2);
    return keyed;
  }

  const keyMatch = /^(\s*)((?:-\s+)*)([A-Za-z0-9_.\-/]*)$/.exec(before);
  if (keyMatch) {
    const column = keyMatch[1]!.length + keyMatch[2]!.length;
    const { path, siblings } = pathFromIndentation(lines, position.line, column, keyMatch[2]!.length > 0);
    const typed = keyMatch[3]!;
    return keySuggestions(schemasAt(registry, root, relative(base, path)), siblings, { start: offset - typed.length, end: offset + restOfKey(file.text, offset) }, column);
  }
  return [];
}

function restOfKey(text: string, offset: number): number {
  const m = /^[A-Za-z0-9_.\-/]*/.exec(text.slice(offset, offset + 100));
  return m ? m[0].length : 0;
}

/** Paths from the indentation scan start at the document root; a resource inside a kubectl List
 * starts deeper. */
function relative(base: NodePath, path: NodePath): NodePath {
  if (base.length === 0) return path;
  const head = path.slice(0, base.length);
  return head.length === base.length && head.every((s, i) => typeof s === 'number' ? typeof base[i] === 'number' : s === base[i]) ? path.slice(base.length) : path;
}

function keySuggestions(schemas: JsonSchema[], present: Set<string>, replace: Span, column: number): Suggestion[] {
  const required = new Set(schemas.flatMap((s) => s.required ?? []));
  const out: Suggestion[] = [];
  for (const [name, schema] of propertyNames(schemas)) {
    if (present.has(name)) continue;
    const types = typesOf([schema, ...(schema.$ref ? [] : [])]);
    const pad = ' '.repeat(column + 2);
    const insertText = types.includes('object') && !types.includes('string') ? `${name}:\n${pad}` : types.includes('array') && !types.includes('string') ? `${name}:\n${pad}- ` : `${name}: `;
    out.push({
      label: name, kind: 'field', insertText, replace, required: required.has(name),
      ...(schema.description ? { documentation: schema.description } : {}),
      ...(types.length ? { detail: types.join(' | ') } : {}),
    });
  }
  return out.sort((a, b) => Number(b.required) - Number(a.required) || a.label.localeCompare(b.label));
}

function valueSuggestions(schemas: JsonSchema[], replace: Span): Suggestion[] {
  const values = new Set<unknown>();
  for (const schema of schemas) {
    for (const v of schema.enum ?? []) values.add(v);
    if (schema.const !== undefined) values.add(schema.const);
  }
  if (values.size === 0 && typesOf(schemas).includes('boolean')) {
    values.add(true);
    values.add(false);
  }
  const description = firstWith(schemas, 'description');
  return [...values].map((value) => ({
    label: String(value), kind: 'value' as const, insertText: String(value), replace,
    ...(description ? { documentation: description } : {}),
  }));
}

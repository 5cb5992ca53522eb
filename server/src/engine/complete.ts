import type { Resource } from './resource';
import type { JsonSchema } from './schema/jsonSchema';
import { firstWith, propertyNames, schemasAt, schemasBelow, typesOf } from './schema/navigate';
import type { SchemaRegistry } from './schema/registry';
import { resourceAt } from './resourceAt';
import type { SourceFile } from './source/sourceFile';
import type { NodePath, Span } from './source/tree';
import { createScanner, getLocation, ScanError, SyntaxKind } from 'jsonc-parser';
import { inHclComment } from './source/hclReader';
import { foldKey } from './consul';
import { observedDetail, observedFor, observedInsertText, type ObservedValues } from './observedValues';
import { notInInstalledCrd } from './crds/declared';
import type { InstalledCrd } from './crds/installed';

export interface Suggestion {
  label: string;
  /** A template's `insertText` is a snippet (`newPolicy/snippet.ts`). */
  kind: 'field' | 'value' | 'template';
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
  for (const key of keysBelow(lines, lineNo, column)) siblings.add(key);
  return { path, siblings };
}

/**
 * The keys below the cursor line at its column, up to the next list item: the same mapping's,
 * also when the cursor line begins a list item (`- |` above `  to:`).
 */
function keysBelow(lines: string[], lineNo: number, column: number): string[] {
  const keys: string[] = [];
  for (let l = lineNo + 1; l < lines.length; l++) {
    const shape = shapeOf(lines[l]!);
    if (shape.blank) continue;
    if (shape.keyColumn < column || /^(---|\.\.\.)\s*$/.test(lines[l]!)) break;
    if (shape.keyColumn === column && shape.dashes.length === 0 && shape.key !== undefined) keys.push(shape.key);
    if (shape.keyColumn === column && shape.dashes.length > 0) break;
  }
  return keys;
}

/**
 * Field and value suggestions, from the schema of the resource under the cursor; with `observed`
 * (trafficCompletionValues), also the values seen in the traffic and the inventory that fit the
 * field (principals, identities, namespaces, paths, methods, ports, hosts, labels, services).
 */
export function completeAt(file: SourceFile, resources: Resource[], registry: SchemaRegistry, offset: number, observed?: ObservedValues, crds?: readonly InstalledCrd[]): Suggestion[] {
  if (file.format === 'json') return completeJson(file, resources, registry, offset, observed);
  if (file.format === 'hcl') return completeHcl(file, resources, registry, offset, observed);
  const resource = resourceAt(file, resources, offset);
  if (!resource) return [];
  const position = file.lines.position(offset);
  const lineStart = file.lines.lineStart(position.line);
  const before = file.text.slice(lineStart, offset);
  const lines = file.text.split(/\r\n?|\n/);
  const root = registry.rootSchema(resource.entry);
  const base = resource.path;

  const valueMatch = /^(\s*)((?:-\s+)*)("[^"]*"|'[^']*'|[^\s:#'"][^:#]*?)\s*:\s+(["']?)([^"'#]*)$/.exec(before);
  if (valueMatch) {
    const keyColumn = valueMatch[1]!.length + valueMatch[2]!.length;
    const key = valueMatch[3]!.replace(/^["']|["']$/g, '');
    const typed = valueMatch[5]!;
    // A flow list or mapping (`[a, |]`) is not completed.
    if (!valueMatch[4] && /^[[{]/.test(typed)) return [];
    const { path } = pathFromIndentation(lines, position.line, keyColumn, valueMatch[2]!.length > 0);
    const valuePath = relative(base, [...path, key]);
    return markedByInstalledCrd(scalarValues(schemasAt(registry, root, valuePath), resource, file, valuePath, offset, typed, valueMatch[4]!, observed), resource, crds, valuePath);
  }

  const itemMatch = /^(\s*)((?:-\s+)*)-\s+(["']?)([^"':#{[]*)$/.exec(before);
  if (itemMatch) {
    const dashColumn = itemMatch[1]!.length + itemMatch[2]!.length;
    const { path } = pathFromIndentation(lines, position.line, dashColumn + 1, false);
    const typed = itemMatch[4]!;
    const itemPath = relative(base, [...path, 0]);
    const itemSchemas = schemasAt(registry, root, itemPath);
    const values = markedByInstalledCrd(scalarValues(itemSchemas, resource, file, itemPath, offset, typed, itemMatch[3]!, observed), resource, crds, itemPath);
    if (values.length || itemMatch[3]) return values;
    const end = offset + restOfKey(file.text, offset);
    const present = new Set(keysBelow(lines, position.line, before.length - typed.length));
    return namesOnlyBeforeColon(file.text, end, markedByInstalledCrd(keySuggestions(itemSchemas, present, { start: offset - typed.length, end }, dashColumn + 2), resource, crds, itemPath));
  }

  const keyMatch = /^(\s*)((?:-\s+)*)([A-Za-z0-9_.\-/]*)$/.exec(before);
  if (keyMatch) {
    const column = keyMatch[1]!.length + keyMatch[2]!.length;
    const { path, siblings } = pathFromIndentation(lines, position.line, column, keyMatch[2]!.length > 0);
    const typed = keyMatch[3]!;
    const end = offset + restOfKey(file.text, offset);
    return namesOnlyBeforeColon(file.text, end, markedByInstalledCrd(keySuggestions(schemasAt(registry, root, relative(base, path)), siblings, { start: offset - typed.length, end }, column), resource, crds, relative(base, path)));
  }
  return [];
}

/** Within a key that has its colon (the key's name ends at `end`), only the name changes. */
function namesOnlyBeforeColon(text: string, end: number, keys: Suggestion[]): Suggestion[] {
  return /^[ \t]*:/.test(text.slice(end, end + 100)) ? keys.map((s) => ({ ...s, insertText: s.label })) : keys;
}

/** Suggestions the cluster's CRDs (`crds`) would not take at `path` say so, after the others (YAML; `crds/declared.ts`). */
function markedByInstalledCrd(suggestions: Suggestion[], resource: Resource, crds: readonly InstalledCrd[] | undefined, path: NodePath): Suggestion[] {
  if (!crds?.length) return suggestions;
  const taken: Suggestion[] = [];
  const refused: Suggestion[] = [];
  for (const suggestion of suggestions) {
    const note = notInInstalledCrd(resource, crds, path, suggestion);
    if (note) refused.push({ ...suggestion, detail: suggestion.detail ? `${suggestion.detail} · ${note}` : note });
    else taken.push(suggestion);
  }
  return [...taken, ...refused];
}

/**
 * Values for a scalar being typed (`typed`, after `quote` if it opened one). Inside quotes
 * the edit replaces the quoted text only, so the quotes stay; otherwise the plain scalar.
 */
function scalarValues(schemas: JsonSchema[], resource: Resource, file: SourceFile, path: NodePath, offset: number, typed: string, quote: string, observed: ObservedValues | undefined): Suggestion[] {
  const after = file.text.slice(offset, offset + 1000);
  const rest = quote ? after.indexOf(quote) : -1;
  const end = offset + (rest >= 0 && !after.slice(0, rest).includes('\n') ? rest : quote ? 0 : /^[^\s#]*/.exec(after)![0].length);
  const replace = { start: offset - typed.length, end };
  const values = withObserved(valueSuggestions(schemas, replace), resource, file, path, replace, observed);
  return quote ? values.map((s) => ({ ...s, insertText: quoted(s.label, quote) })) : values;
}

/** A value's text between the quotes it is typed in (`"` as in JSON, which YAML and HCL read alike, or YAML's `'`). */
function quoted(value: string, quote: string): string {
  return quote === "'" ? value.replaceAll("'", "''") : JSON.stringify(value).slice(1, -1);
}

/** Schema values first, then the observed values that fit the field, most called first. */
function withObserved(values: Suggestion[], resource: Resource, file: SourceFile, path: NodePath, replace: Span, observed: ObservedValues | undefined): Suggestion[] {
  if (!observed) return values;
  const known = new Set(values.map((v) => v.label));
  const extra = observedFor(resource.mesh, path, observed, resource.namespace).filter((v) => !known.has(v.value)).map((v) => ({
    label: v.value, kind: 'value' as const, insertText: observedInsertText(file.format, v.value), replace, detail: observedDetail(v),
  }));
  return [...values, ...extra];
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

/** The resource of a one-document file (JSON and HCL config entries), even while it does not parse. */
function onlyResource(resources: Resource[]): Resource | undefined {
  return resources.find((r) => r.documentIndex === 0 && r.path.length === 0);
}

/** Maps each segment to the schema's spelling (Consul accepts any case and snake_case aliases). */
function canonicalPath(registry: SchemaRegistry, root: JsonSchema, path: NodePath): NodePath {
  // One step at a time (not schemasAt per prefix): a path thousands of levels deep stays linear.
  const out: NodePath = [];
  let current = schemasAt(registry, root, []);
  for (let segment of path) {
    if (typeof segment === 'string' && current.length) {
      const names = [...propertyNames(current).keys()];
      const typed = segment;
      segment = names.find((n) => n === typed) ?? names.find((n) => foldKey(n) === foldKey(typed)) ?? typed;
    }
    out.push(segment);
    current = current.length ? schemasBelow(registry, root, current, segment) : [];
  }
  return out;
}

function completeJson(file: SourceFile, resources: Resource[], registry: SchemaRegistry, offset: number, observed?: ObservedValues): Suggestion[] {
  const resource = onlyResource(resources);
  if (!resource) return [];
  const root = registry.rootSchema(resource.entry);
  const location = getLocation(file.text, offset);
  const typedNode = location.previousNode;
  const typedSpan = typedNode && offset >= typedNode.offset && offset <= typedNode.offset + typedNode.length
    ? { start: typedNode.offset, end: unclosedString(file.text, typedNode.offset) ? offset : typedNode.offset + typedNode.length }
    : { start: offset, end: offset };
  if (location.isAtPropertyKey) {
    const parentPath = canonicalPath(registry, root, location.path.slice(0, -1));
    const present = new Set(presentKeys(file.text, offset));
    return keySuggestions(schemasAt(registry, root, parentPath), present, typedSpan, 0).map((s) => ({ ...s, insertText: `${JSON.stringify(s.label)}: ` }));
  }
  const valuePath = canonicalPath(registry, root, location.path);
  const values = valueSuggestions(schemasAt(registry, root, valuePath), typedSpan).map((s) => ({ ...s, insertText: /^(true|false)$/.test(s.label) ? s.label : JSON.stringify(s.label) }));
  return withObserved(values, resource, file, valuePath, typedSpan, observed);
}

/** Whether the JSON string token at `offset` has no closing quote: the parser then runs it to the end of the line, over text the user did not mean as part of it. */
function unclosedString(text: string, offset: number): boolean {
  const scanner = createScanner(text, false);
  scanner.setPosition(offset);
  return scanner.scan() === SyntaxKind.StringLiteral && scanner.getTokenError() === ScanError.UnexpectedEndOfString;
}

/**
 * Keys already written in the JSON object around the offset, read with the JSON scanner so that a
 * string holding a quote, brace or bracket (`"Description": "a {"`) is one value, not structure.
 */
function presentKeys(text: string, offset: number): string[] {
  const scanner = createScanner(text, true);
  const open: Array<string[] | undefined> = [];
  let around: string[] | undefined;
  let reachedCursor = false;
  let lastString: string | undefined;
  for (let kind = scanner.scan(); kind !== SyntaxKind.EOF; kind = scanner.scan()) {
    if (!reachedCursor && scanner.getTokenOffset() + scanner.getTokenLength() > offset) {
      reachedCursor = true;
      around = open[open.length - 1];
    }
    if (kind === SyntaxKind.OpenBraceToken) open.push([]);
    else if (kind === SyntaxKind.OpenBracketToken) open.push(undefined);
    else if (kind === SyntaxKind.CloseBraceToken || kind === SyntaxKind.CloseBracketToken) {
      const closed = open.pop();
      if (reachedCursor && closed === around) break;
    } else if (kind === SyntaxKind.ColonToken && lastString !== undefined) open[open.length - 1]?.push(lastString);
    lastString = kind === SyntaxKind.StringLiteral ? scanner.getTokenValue() : undefined;
  }
  return (reachedCursor ? around : open[open.length - 1]) ?? [];
}

/**
 * HCL: the block path of the cursor comes from a scan of the text before it (keys before `{`,
 * `= {` and `= [`, brackets), which works while the entry is half written and does not parse.
 */
function completeHcl(file: SourceFile, resources: Resource[], registry: SchemaRegistry, offset: number, observed?: ObservedValues): Suggestion[] {
  const resource = onlyResource(resources);
  if (!resource || inHclComment(file.text, offset)) return [];
  const root = registry.rootSchema(resource.entry);
  const before = file.text.slice(0, offset);
  const stack: { key: string | undefined; list: boolean }[] = [];
  let lastKey: string | undefined;
  const token = /#[^\n]*|\/\/[^\n]*|\/\*[\s\S]*?\*\/|"(?:[^"\\\n]|\\.)*"?|[A-Za-z_][\w.-]*|[{}[\]=,]/g;
  for (let m = token.exec(before); m; m = token.exec(before)) {
    const t = m[0];
    if (t.startsWith('#') || t.startsWith('//') || t.startsWith('/*')) continue;
    if (t === '{' || t === '[') {
      const inList = stack[stack.length - 1]?.list ?? false;
      stack.push({ key: inList ? undefined : lastKey, list: t === '[' });
      lastKey = undefined;
    } else if (t === '}' || t === ']') {
      stack.pop();
      lastKey = undefined;
    } else if (t !== '=' && t !== ',' && !t.startsWith('"')) {
      lastKey = t;
    } else if (t.startsWith('"') && stack.length && !stack[stack.length - 1]!.list && /^\s*=/.test(file.text.slice(m.index + t.length, m.index + t.length + 20))) {
      lastKey = t.slice(1, -1);
    }
  }
  let path: NodePath = [];
  for (const frame of stack) {
    if (frame.key !== undefined) {
      path = canonicalPath(registry, root, [...path, frame.key]);
      const here = schemasAt(registry, root, path);
      // Outside what the schema describes there is nothing to suggest (and deeper frames cost time).
      if (here.length === 0) return [];
      // A block (`Sources { ... }`) where the schema wants a list is one item of that list.
      const types = typesOf(here);
      if (!frame.list && types.includes('array') && !types.includes('object')) path.push(0);
    }
    if (frame.list) path.push(0);
  }
  const lineStart = file.lines.lineStart(file.lines.position(offset).line);
  const line = file.text.slice(lineStart, offset);
  const value = valueBeingTyped(line);
  if (value) {
    const typed = value[2]!;
    const valuePath = canonicalPath(registry, root, [...path, value[1]!]);
    if (line.endsWith(`"${typed}`)) return scalarValues(schemasAt(registry, root, valuePath), resource, file, valuePath, offset, typed, '"', observed);
    const replace = { start: offset - typed.length, end: offset };
    const values = valueSuggestions(schemasAt(registry, root, valuePath), replace).map((s) => ({ ...s, insertText: /^(true|false)$/.test(s.label) ? s.label : JSON.stringify(s.label) }));
    return withObserved(values, resource, file, valuePath, replace, observed);
  }
  const typed = keyBeingTyped(line);
  if (typed === undefined || /=\s*$/.test(line)) return [];
  const schemas = schemasAt(registry, root, path);
  const end = offset + restOfKey(file.text, offset);
  const named = /^[ \t]*[={]/.test(file.text.slice(end, end + 100));
  return keySuggestions(schemas, hclKeysInBlock(file.text, offset), { start: offset - typed.length, end }, 0).map((s) => {
    const types = typesOf(propertyNames(schemas).has(s.label) ? [propertyNames(schemas).get(s.label)!] : []);
    // Within a key that has its `=` or `{`, only the name changes.
    const insertText = named ? s.label : types.includes('array') && !types.includes('string') ? `${s.label} = [` : types.includes('object') && !types.includes('string') ? `${s.label} {` : `${s.label} = `;
    return { ...s, insertText };
  });
}

const isKeyChar = (c: string | undefined): boolean => c !== undefined && /[\w.-]/.test(c);

/**
 * `key = "partial` at the end of the line: [, key, partial value], for the first `=` whose value
 * has no closing quote yet. Scans instead of an unanchored regex, which is quadratic on long lines.
 */
function valueBeingTyped(line: string): [string, string, string] | undefined {
  const lastQuote = line.lastIndexOf('"');
  for (let eq = line.indexOf('='); eq >= 0; eq = line.indexOf('=', eq + 1)) {
    let rest = eq + 1;
    while (rest < line.length && /\s/.test(line[rest]!)) rest++;
    if (line[rest] === '"') rest++;
    if (lastQuote >= rest) continue;
    let end = eq;
    while (end > 0 && /\s/.test(line[end - 1]!)) end--;
    let start = end;
    while (start > 0 && isKeyChar(line[start - 1])) start--;
    while (start < end && !/[A-Za-z_]/.test(line[start]!)) start++;
    if (start === end) continue;
    return [line.slice(start, line.length), line.slice(start, end), line.slice(rest)];
  }
  return undefined;
}

/** The key being typed at the end of the line (possibly ''), or undefined when the line does not end in one. */
function keyBeingTyped(line: string): string | undefined {
  let start = line.length;
  while (start > 0 && isKeyChar(line[start - 1])) start--;
  if (start > 0 && !/[{,\s]/.test(line[start - 1]!)) return undefined;
  const run = line.slice(start);
  return run === '' || /^[A-Za-z_]/.test(run) ? run : undefined;
}

/** Keys already set in the HCL block (or object) around the offset. */
function hclKeysInBlock(text: string, offset: number): Set<string> {
  let depth = 0;
  let start = 0;
  for (let i = offset - 1; i >= 0; i--) {
    const ch = text[i];
    if (ch === '}' || ch === ']') depth++;
    else if (ch === '{' || ch === '[') {
      if (depth === 0) { start = i + 1; break; }
      depth--;
    }
  }
  const keys = new Set<string>();
  depth = 0;
  const lineKey = /^\s*"?([A-Za-z_][\w.-]*)"?\s*(=|\{)/;
  let lineStartIndex = start;
  for (let i = start; i <= text.length; i++) {
    const ch = text[i];
    if (i === text.length || ch === '\n') {
      if (depth === 0 && !(offset >= lineStartIndex && offset <= i)) {
        const m = lineKey.exec(text.slice(lineStartIndex, i));
        if (m) keys.add(m[1]!);
      }
      lineStartIndex = i + 1;
      if (i === text.length) break;
      continue;
    }
    if (ch === '{' || ch === '[') depth++;
    else if (ch === '}' || ch === ']') {
      if (depth === 0) break;
      depth--;
    }
  }
  return keys;
}

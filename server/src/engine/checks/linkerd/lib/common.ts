import { addField, spanEdit } from '../../../edits';
import type { Fix } from '../../../findings';
import type { Resource } from '../../../resource';
import type { SourceFile } from '../../../source/sourceFile';
import { getEntry, type NodePath, type ObjectNode } from '../../../source/tree';
import { nodeAt } from '../../nearNames';
import type { CheckContext, WorkspaceView } from '../../check';

/** Small shared helpers for the Linkerd checks: plain-data access, group/kind comparison the
 * way the policy controller does it, names, and fixes. */

export const POLICY_GROUP = 'policy.linkerd.io';
export const GATEWAY_GROUP = 'gateway.networking.k8s.io';

export type Rec = Record<string, unknown>;

export function isRec(value: unknown): value is Rec {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

export function str(value: unknown): string | undefined {
  return typeof value === 'string' ? value : undefined;
}

export function arr(value: unknown): unknown[] {
  return Array.isArray(value) ? value : [];
}

export function rec(value: unknown): Rec {
  return isRec(value) ? value : {};
}


/** The policy controller's `targets_kind`: group compared case-insensitively with an omitted or
 * empty group meaning `core`, kind compared case-insensitively. */
export function targetsKind(ref: Rec, group: string, kind: string): boolean {
  const refKind = str(ref['kind']);
  if (refKind === undefined) return false;
  return normGroup(ref['group']) === normGroup(group) && refKind.toLowerCase() === kind.toLowerCase();
}

export function normGroup(group: unknown): string {
  const g = typeof group === 'string' ? group : '';
  return g === '' ? 'core' : g.toLowerCase();
}

/** How the policy controller prints a reference's kind: `Kind.group`, or `Kind` without a group. */
export function canonicalKind(ref: Rec): string {
  const kind = str(ref['kind']) ?? '';
  const group = str(ref['group']);
  return group ? `${kind}.${group}` : kind;
}

export function namespaceOf(resource: Resource): string {
  return resource.namespace ?? 'default';
}

export function quote(value: string): string {
  return JSON.stringify(value);
}

/** "a", "a and b", "a, b and c". */
export function listText(items: string[], conjunction = 'and'): string {
  if (items.length <= 1) return items.join('');
  return `${items.slice(0, -1).join(', ')} ${conjunction} ${items[items.length - 1]}`;
}

/** At most `max` items, then "and N more". */
export function someText(items: string[], max = 5): string {
  if (items.length <= max) return listText(items);
  return `${items.slice(0, max).join(', ')} and ${items.length - max} more`;
}

export function plural(n: number, one: string, many = `${one}s`): string {
  return n === 1 ? one : many;
}

// (shared with the other meshes' checks)
export { closest, nodeAt, replaceFix } from '../../nearNames';

/** A fix that adds `key: value` to the object at `path`. */
export function addFieldFix(context: CheckContext, path: NodePath, key: string, value: unknown, title: string, preferred = true): Fix[] {
  const node = nodeAt(context, path);
  if (node?.type !== 'object' || getEntry(node, key)) return [];
  return [{ title, edits: [addField(context.file, node, key, value)], ...(preferred ? { preferred: true } : {}) }];
}

/** A fix that removes `key` from the object at `path`: in block YAML the entry's whole lines,
 * in flow style or JSON the entry and one adjacent comma. Only offered when the entry can be
 * removed without touching anything else. */
export function removeFieldFix(context: CheckContext, path: NodePath, key: string, title: string, preferred = true): Fix[] {
  const object = nodeAt(context, path);
  if (object?.type !== 'object') return [];
  const index = object.entries.findIndex((e) => e.key === key);
  if (index < 0 || object.entries.length < 2) return [];
  const edit = removeEntryEdit(context.file, object, index);
  return edit ? [{ title, edits: [edit], ...(preferred ? { preferred: true } : {}) }] : [];
}

function removeEntryEdit(file: SourceFile, object: ObjectNode, index: number) {
  const entry = object.entries[index]!;
  const { lines, text } = file;
  if (object.flow || file.format === 'json') {
    const next = object.entries[index + 1];
    const previous = object.entries[index - 1];
    if (next) return spanEdit(file, { start: entry.keySpan.start - (text[entry.keySpan.start - 1] === '"' ? 1 : 0), end: next.keySpan.start - (text[next.keySpan.start - 1] === '"' ? 1 : 0) }, '');
    if (previous) return spanEdit(file, { start: previous.value.span.end, end: entry.value.span.end + (text[entry.value.span.end] === '"' ? 1 : 0) }, '');
    return undefined;
  }
  if (file.format !== 'yaml') return undefined;
  const keyLine = lines.position(entry.keySpan.start).line;
  const before = text.slice(lines.lineStart(keyLine), entry.keySpan.start);
  // `- key: value` starts a list item: removing the line would remove the item's dash.
  if (!/^[ \t]*$/.test(before)) return undefined;
  const endLine = lines.position(Math.max(entry.value.span.end - 1, entry.keySpan.end)).line;
  return spanEdit(file, { start: lines.lineStart(keyLine), end: lines.lineStart(endLine + 1) === lines.lineStart(endLine) ? text.length : lines.lineStart(endLine + 1) }, '');
}

/** The source file of a path in the workspace, when the workspace holds it. Plain Kubernetes
 * manifests (Deployments with their probes) are not among `resources`; the workspace model
 * keeps every file it was given, so look there as well. */
const filesCache = new WeakMap<object, Map<string, SourceFile>>();

export function workspaceFile(workspace: WorkspaceView, path: string): SourceFile | undefined {
  let byPath = filesCache.get(workspace.resources);
  if (!byPath) {
    byPath = new Map();
    for (const { file } of workspace.resources) if (!byPath.has(file.path)) byPath.set(file.path, file);
    filesCache.set(workspace.resources, byPath);
  }
  const known = byPath.get(path);
  if (known) return known;
  return workspace.sourceFile(path);
}

const objectsCache = new WeakMap<SourceFile, Map<string, ObjectNode>>();

/** The object node of a file whose span is exactly `span` (a document root or a List item). */
export function objectAtSpan(file: SourceFile, span: { start: number; end: number }): ObjectNode | undefined {
  let bySpan = objectsCache.get(file);
  if (!bySpan) {
    bySpan = new Map();
    for (const document of file.documents) {
      const root = document.root;
      if (root?.type !== 'object') continue;
      bySpan.set(`${root.span.start}:${root.span.end}`, root);
      const items = getEntry(root, 'items')?.value;
      if (items?.type === 'array') for (const item of items.items) if (item.type === 'object') bySpan.set(`${item.span.start}:${item.span.end}`, item);
    }
    objectsCache.set(file, bySpan);
  }
  return bySpan.get(`${span.start}:${span.end}`);
}

/** 1-based "file:line" for messages that point somewhere else. */
export function whereText(file: string, line: number): string {
  return `${file}:${line + 1}`;
}


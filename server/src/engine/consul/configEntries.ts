import type { SourceFile } from '../source/sourceFile';
import { topLevelObjects } from '../source/topLevelObjects';
import { getEntry, type ObjectEntry, type ObjectNode, type SourceNode, type Span } from '../source/tree';

/** A key of a config entry as Consul matches it: in any letter case, with or without the underscores of its snake_case alias. */
function fold(key: string): string {
  return key.replace(/_/g, '').toLowerCase();
}

/** The entry of a config entry's object for a key, matched as Consul does (`fold`); the last one wins. */
export function entryCI(node: SourceNode | undefined, name: string) {
  if (node?.type !== 'object') return undefined;
  const folded = fold(name);
  for (let i = node.entries.length - 1; i >= 0; i--) if (fold(node.entries[i]!.key) === folded) return node.entries[i];
  return undefined;
}

/** An HCL or YAML top-level object spans its document, comments and blank lines included;
 * its extent is from its first key to the end of its last value. */
export function entryExtent(file: SourceFile, node: ObjectNode): Span {
  const first = node.entries[0];
  let end = node.span.end;
  while (end > node.span.start && /\s/.test(file.text[end - 1]!)) end--;
  return { start: first && !node.flow ? first.keySpan.start : node.span.start, end };
}

/** `config/okta.hcl:1-9`: a span's file and lines, for messages. */
export function placeOf(file: SourceFile, span: Span): string {
  const start = file.lines.position(span.start).line + 1;
  const end = file.lines.position(span.end).line + 1;
  return `${file.path}:${start === end ? start : `${start}-${end}`}`;
}

/** Reads a file's top-level objects for entries that are no recognized resources (jwt-provider,
 * mesh), once per text: `read` appends what it finds in one object. */
export function entryReader<T>(read: (file: SourceFile, node: ObjectNode, out: T[]) => void): (file: SourceFile) => readonly T[] {
  const byFile = new WeakMap<SourceFile, readonly T[]>();
  return (file) => {
    let found = byFile.get(file);
    if (!found) {
      const out: T[] = [];
      for (const node of topLevelObjects(file)) read(file, node, out);
      byFile.set(file, (found = out));
    }
    return found;
  };
}

/** The object under `key` (found by `at`, by default the exact key); an HCL block written more
 * than once is a list, and the last one counts. */
export function blockAt(node: SourceNode | undefined, key: string, at: (node: SourceNode | undefined, key: string) => ObjectEntry | undefined = getEntry): ObjectNode | undefined {
  const value = at(node, key)?.value;
  if (value?.type === 'object') return value;
  const last = value?.type === 'array' ? value.items[value.items.length - 1] : undefined;
  return last?.type === 'object' ? last : undefined;
}

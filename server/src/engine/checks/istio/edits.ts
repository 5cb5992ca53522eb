import { spanEdit } from '../../edits';
import type { TextEdit } from '../../findings';
import type { SourceFile } from '../../source/sourceFile';
import type { ArrayNode, ObjectNode, SourceNode, Span } from '../../source/tree';

/** Edits the shared edits.ts does not have (yet): removing a list item or a mapping entry, and
 * finding the `-` of a block sequence item. Each returns undefined when the layout is not one
 * it can change without touching anything else; the caller then offers no fix. */

/** Offset of the `-` that introduces a block sequence item, when it is on the item's first line. */
export function dashOffset(file: SourceFile, item: SourceNode): number | undefined {
  if (file.format !== 'yaml') return undefined;
  let i = item.span.start - 1;
  while (i >= 0 && (file.text[i] === ' ' || file.text[i] === '\t')) i--;
  return i >= 0 && file.text[i] === '-' ? i : undefined;
}

/** The span of whole lines [first line of `start`, end of the line holding `end - 1`], newline included. */
function wholeLines(file: SourceFile, start: number, end: number): Span | undefined {
  const { lines, text } = file;
  const firstLine = lines.position(start).line;
  const lineStart = lines.lineStart(firstLine);
  if (!/^[ \t]*$/.test(text.slice(lineStart, start))) return undefined;
  const lastLine = lines.position(Math.max(start, end - 1)).line;
  const after = text.slice(end, lines.lineEnd(lastLine));
  if (!/^[ \t]*(#.*)?$/.test(after)) return undefined;
  return { start: lineStart, end: lastLine + 1 < lines.lineCount ? lines.lineStart(lastLine + 1) : lines.lineEnd(lastLine) };
}

/** Removes one item of a list, keeping the others and their formatting. */
export function removeListItem(file: SourceFile, array: ArrayNode, index: number): TextEdit | undefined {
  const item = array.items[index];
  if (!item || array.items.length < 2) return undefined;
  if (array.flow || file.format !== 'yaml') {
    const { text } = file;
    if (index < array.items.length - 1) {
      // "a, b" -> remove "a, "
      return spanEdit(file, { start: item.span.start, end: array.items[index + 1]!.span.start }, '');
    }
    // last item: remove from the end of the previous one ("a, b" -> "a")
    const previous = array.items[index - 1]!;
    const between = text.slice(previous.span.end, item.span.start);
    if (!/^\s*,\s*$/.test(between)) return undefined;
    return spanEdit(file, { start: previous.span.end, end: item.span.end }, '');
  }
  const dash = dashOffset(file, item);
  if (dash === undefined) return undefined;
  const span = wholeLines(file, dash, item.span.end);
  return span ? spanEdit(file, span, '') : undefined;
}

/** Removes `key: value` from a block mapping (whole lines), or from a flow mapping with its comma. */
export function removeEntry(file: SourceFile, object: ObjectNode, key: string): TextEdit | undefined {
  const index = object.entries.findIndex((e) => e.key === key);
  const entry = object.entries[index];
  if (!entry) return undefined;
  if (object.flow || file.format !== 'yaml') {
    if (object.entries.length === 1) return spanEdit(file, object.span, '{}');
    if (index < object.entries.length - 1) return spanEdit(file, { start: entry.keySpan.start, end: object.entries[index + 1]!.keySpan.start }, '');
    return spanEdit(file, { start: object.entries[index - 1]!.value.span.end, end: entry.value.span.end }, '');
  }
  if (object.entries.length === 1) return undefined;
  const span = wholeLines(file, entry.keySpan.start, Math.max(entry.value.span.end, entry.keySpan.end));
  return span ? spanEdit(file, span, '') : undefined;
}

/** Sets the value of `key:` whose value is empty, `~`, `null` or `[]` (YAML, JSON) to `text`. */
export function setEmptyValue(file: SourceFile, keySpan: Span, value: SourceNode, text: string): TextEdit | undefined {
  if (value.span.end > value.span.start) return spanEdit(file, value.span, text);
  let colon = keySpan.end;
  while (colon < file.text.length && file.text[colon] !== ':' && file.text[colon] !== '\n') colon++;
  if (file.text[colon] !== ':') return undefined;
  return spanEdit(file, { start: colon + 1, end: colon + 1 }, ` ${text}`);
}

import { spanEdit } from '../../edits';
import type { TextEdit } from '../../findings';
import type { SourceFile } from '../../source/sourceFile';
import type { ArrayNode, ObjectNode, Span } from '../../source/tree';

/**
 * Edits that delete one list item or one object field and nothing else (framework gap: edits.ts
 * only adds, renames and replaces). Whole lines go when the element has its lines to itself
 * (YAML block style, multi-line HCL); otherwise the element goes with the separator before it
 * (JSON, flow lists). Returns undefined when the layout is too unusual to edit safely.
 */

export function removeArrayItem(file: SourceFile, array: ArrayNode, index: number): TextEdit | undefined {
  const item = array.items[index];
  if (!item) return undefined;
  const span = item.span;
  if (file.format === 'yaml' && !array.flow) return removeLines(file, span, /^\s*-\s*$/);
  if (file.format === 'hcl' && !array.flow) {
    // Repeated `Key { ... }` blocks: the key sits before the block on the same line.
    const lineStart = file.lines.lineStart(file.lines.position(span.start).line);
    const before = file.text.slice(lineStart, span.start);
    if (!/^\s*("?[A-Za-z_][\w-]*"?\s*)$/.test(before)) return undefined;
    return removeLines(file, { start: lineStart + before.length - before.trimStart().length, end: span.end }, /^\s*$/);
  }
  const lines = wholeLines(file, span, /^\s*$/);
  if (file.format === 'hcl' && lines) return spanEdit(file, lines, '');
  return removeWithSeparator(file, array.items.map((i) => i.span), index);
}

export function removeObjectEntry(file: SourceFile, object: ObjectNode, index: number): TextEdit | undefined {
  const entry = object.entries[index];
  if (!entry) return undefined;
  const span = { start: entry.keySpan.start, end: entry.value.span.end };
  if (file.format === 'yaml' && !object.flow) return removeLines(file, span, /^\s*$/);
  const lines = wholeLines(file, span, /^\s*$/);
  if (file.format === 'hcl' && lines) return spanEdit(file, lines, '');
  return removeWithSeparator(file, object.entries.map((e) => ({ start: e.keySpan.start, end: e.value.span.end })), index);
}

function removeLines(file: SourceFile, span: Span, before: RegExp): TextEdit | undefined {
  const lines = wholeLines(file, span, before);
  return lines ? spanEdit(file, lines, '') : undefined;
}

/** The full lines of the span (line break included) when nothing else shares them. */
function wholeLines(file: SourceFile, whole: Span, before: RegExp): Span | undefined {
  const { lines, text } = file;
  // YAML block collections end after their last line break; the element ends at its last character.
  const span = { start: whole.start, end: whole.end };
  while (span.end > span.start && /\s/.test(text[span.end - 1]!)) span.end--;
  const first = lines.position(span.start).line;
  const last = lines.position(span.end).line;
  const lineStart = lines.lineStart(first);
  if (!before.test(text.slice(lineStart, span.start))) return undefined;
  const after = text.slice(span.end, lines.lineEnd(last));
  if (!/^\s*,?\s*((#|\/\/).*)?$/.test(after)) return undefined;
  const end = last + 1 < lines.lineCount ? lines.lineStart(last + 1) : text.length;
  return { start: lineStart, end };
}

function removeWithSeparator(file: SourceFile, spans: Span[], index: number): TextEdit {
  const span = spans[index]!;
  if (index > 0) return spanEdit(file, { start: spans[index - 1]!.end, end: span.end }, '');
  const next = spans[index + 1];
  if (next) return spanEdit(file, { start: span.start, end: next.start }, '');
  return spanEdit(file, span, '');
}

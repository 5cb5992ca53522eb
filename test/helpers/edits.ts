import type { TextEdit } from '../../server/src/engine/findings';
import { LineIndex } from '../../server/src/engine/source/lineIndex';

/** Applies non-overlapping edits to a text, as an editor would. */
export function applyEdits(text: string, edits: TextEdit[]): string {
  const lines = new LineIndex(text);
  const sorted = edits.map((e) => ({ start: lines.offset(e.range.start), end: lines.offset(e.range.end), text: e.newText })).sort((a, b) => b.start - a.start);
  let out = text;
  for (const edit of sorted) out = out.slice(0, edit.start) + edit.text + out.slice(edit.end);
  return out;
}

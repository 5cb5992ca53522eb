import type { Finding, Range, TextEdit } from './findings';
import type { SourceFile } from './source/sourceFile';

/**
 * The preferred fix of each finding, in order, skipping any whose edits overlap an edit already
 * chosen: what "fix all" applies at once (the editor's source action, `mesh-policy lint --fix`).
 * A skipped fix is found again when the file is linted after the others are applied.
 */
export function preferredFixes(findings: readonly Finding[]): { edits: TextEdit[]; fixed: Finding[] } {
  const edits: TextEdit[] = [];
  const fixed: Finding[] = [];
  for (const finding of findings) {
    const fix = finding.fixes?.find((f) => f.preferred);
    if (!fix || fix.edits.some((edit) => edits.some((other) => overlaps(edit.range, other.range)))) continue;
    edits.push(...fix.edits);
    fixed.push(finding);
  }
  return { edits, fixed };
}

/** Whether two edits touch: their ranges share text, or both insert at one place (their order would be a guess). */
function overlaps(a: Range, b: Range): boolean {
  const before = (x: Range['start'], y: Range['start']) => x.line < y.line || (x.line === y.line && x.character <= y.character);
  const same = (x: Range['start'], y: Range['start']) => x.line === y.line && x.character === y.character;
  if (same(a.start, b.start) && (same(a.start, a.end) || same(b.start, b.end))) return true;
  return !(before(a.end, b.start) || before(b.end, a.start));
}

/** Applies text edits (non-overlapping, any order) to a file's text. */
export function applyEdits(file: SourceFile, edits: readonly TextEdit[]): string {
  const spans = edits
    .map((e) => ({ start: file.lines.offset(e.range.start), end: file.lines.offset(e.range.end), text: e.newText }))
    .sort((a, b) => b.start - a.start || b.end - a.end);
  let text = file.text;
  for (const s of spans) text = text.slice(0, s.start) + s.text + text.slice(s.end);
  return text;
}

/** `applyEdits` for a file written back to disk: in a file whose lines end in CRLF, the lines the edits add do too. */
export function applyEditsKeepingLineEnds(file: SourceFile, edits: readonly TextEdit[]): string {
  const crlf = file.text.includes('\r\n') && !/(^|[^\r])\n/.test(file.text);
  return applyEdits(file, crlf ? edits.map((e) => ({ ...e, newText: e.newText.replace(/\r?\n/g, '\r\n') })) : edits);
}

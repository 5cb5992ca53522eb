/** Positions and findings as the engine reports them. 0-based lines and UTF-16 characters, the
 * same convention as LSP, so adapters convert by copying — but nothing here depends on LSP. */

export interface Position {
  line: number;
  character: number;
}

export interface Range {
  start: Position;
  end: Position;
}

export type Severity = 'error' | 'warning' | 'info' | 'hint';

export interface TextEdit {
  range: Range;
  newText: string;
}

export interface Fix {
  title: string;
  edits: TextEdit[];
  /** The obvious fix, applied by "fix all" and offered first. */
  preferred?: boolean;
}

/** Another place that explains a finding, e.g. a log line of a call it is about. */
export interface RelatedLocation {
  file: string;
  range: Range;
  message: string;
}

export interface Finding {
  file: string;
  range: Range;
  severity: Severity;
  /** Stable identifier of the kind of finding, e.g. MPA0104. */
  code: string;
  message: string;
  /** Index of the document inside a multi-document file, when the finding belongs to one. */
  documentIndex?: number;
  fixes?: Fix[];
  related?: RelatedLocation[];
  /** An action that is not a text edit (e.g. open a generated policy), offered next to the fixes. */
  command?: { title: string; command: string; arguments: unknown[] };
}

export const SEVERITY_ORDER: Record<Severity, number> = { error: 0, warning: 1, info: 2, hint: 3 };

/** A copy of `range`, `lines` lines further down (a resource's text that moved). */
export function rangeMovedBy(range: Range, lines: number): Range {
  return { start: { line: range.start.line + lines, character: range.start.character }, end: { line: range.end.line + lines, character: range.end.character } };
}

export function compareFindings(a: Finding, b: Finding): number {
  if (a.file !== b.file) return a.file < b.file ? -1 : 1;
  return a.range.start.line - b.range.start.line || a.range.start.character - b.range.start.character ||
    SEVERITY_ORDER[a.severity] - SEVERITY_ORDER[b.severity] || (a.code < b.code ? -1 : a.code > b.code ? 1 : 0);
}

import type { Finding, Range, TextEdit } from '../../server/src/engine/findings';
import { applyEdits } from '../helpers/edits';

export class InvariantError extends Error {}

export function check(condition: unknown, message: string): asserts condition {
  if (!condition) throw new InvariantError(message);
}

/** Line starts computed here, independently of the engine's LineIndex: "\n", "\r\n" and "\r" end a line. */
function lineTable(text: string): { starts: number[]; lengths: number[] } {
  const starts = [0];
  const lengths: number[] = [];
  let start = 0;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c === 10 || c === 13) {
      lengths.push(i - start);
      if (c === 13 && text.charCodeAt(i + 1) === 10) i++;
      start = i + 1;
      starts.push(start);
    }
  }
  lengths.push(text.length - start);
  return { starts, lengths };
}

const isHigh = (c: number) => c >= 0xd800 && c <= 0xdbff;
const isLow = (c: number) => c >= 0xdc00 && c <= 0xdfff;

/** The offset of a position, or a message saying why the position is not inside the text. */
function offsetOf(text: string, table: ReturnType<typeof lineTable>, range: Range, which: 'start' | 'end', splitPairsOk: boolean): number | string {
  const p = range[which];
  if (!Number.isInteger(p.line) || !Number.isInteger(p.character) || p.line < 0 || p.character < 0) return `${which} ${JSON.stringify(p)} is not a position`;
  if (p.line >= table.starts.length) return `${which} line ${p.line} is past the last line (${table.starts.length - 1})`;
  if (p.character > table.lengths[p.line]!) return `${which} ${p.line}:${p.character} is past the end of its line (length ${table.lengths[p.line]})`;
  const offset = table.starts[p.line]! + p.character;
  if (!splitPairsOk && offset > 0 && offset < text.length && isHigh(text.charCodeAt(offset - 1)) && isLow(text.charCodeAt(offset))) return `${which} ${p.line}:${p.character} splits a surrogate pair`;
  return offset;
}

/** Every finding's range is inside the text; every fix's edits are inside the text and do not
 * overlap; applying a fix as an editor would changes nothing outside its edit ranges. */
export function checkFindings(text: string, findings: Finding[]): void {
  const table = lineTable(text);
  for (const finding of findings) {
    const where = `${finding.code} "${finding.message.slice(0, 120)}"`;
    check(typeof finding.message === 'string' && finding.message.length > 0, `${finding.code}: empty message`);
    check(/^MPA\d{4}$/.test(finding.code), `bad code ${JSON.stringify(finding.code)}`);
    const start = offsetOf(text, table, finding.range, 'start', true);
    const end = offsetOf(text, table, finding.range, 'end', true);
    check(typeof start === 'number', `${where}: range ${start}`);
    check(typeof end === 'number', `${where}: range ${end}`);
    check(start <= end, `${where}: range ends before it starts`);
    for (const fix of finding.fixes ?? []) checkFix(text, table, fix.edits, `${where} fix "${fix.title}"`);
  }
}

export function checkFix(text: string, table: ReturnType<typeof lineTable> | undefined, edits: TextEdit[], where: string): string {
  table ??= lineTable(text);
  check(edits.length > 0, `${where}: a fix without edits`);
  const spans = edits.map((edit) => {
    const start = offsetOf(text, table!, edit.range, 'start', false);
    const end = offsetOf(text, table!, edit.range, 'end', false);
    check(typeof start === 'number', `${where}: edit ${start}`);
    check(typeof end === 'number', `${where}: edit ${end}`);
    check(start <= end, `${where}: edit range ends before it starts`);
    check(typeof edit.newText === 'string', `${where}: edit without newText`);
    return { start, end, text: edit.newText };
  }).sort((a, b) => a.start - b.start || a.end - b.end);
  for (let i = 1; i < spans.length; i++) check(spans[i]!.start >= spans[i - 1]!.end, `${where}: edits overlap`);
  // Splice the text between the edits (the bytes outside the ranges, copied as they are) ...
  let expected = '';
  let at = 0;
  for (const span of spans) {
    expected += text.slice(at, span.start) + span.text;
    at = span.end;
  }
  expected += text.slice(at);
  // ... and compare with applying the edits as an editor does (positions → offsets by the line index).
  const applied = applyEdits(text, edits);
  check(applied === expected, `${where}: applying the edits changes bytes outside their ranges`);
  return applied;
}

/** A stack trace, as Node prints one: the CLI and the server must never show one. */
export function hasStackTrace(text: string): boolean {
  return /\n\s+at (?:[\w$.<>\[\] ]+ \()?(?:file:|node:|\/|[A-Za-z]:\\)[^\n]*:\d+:\d+\)?/.test(text) || /\b(?:TypeError|RangeError|ReferenceError|SyntaxError): .*\n\s+at /.test(text);
}

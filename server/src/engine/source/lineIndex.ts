import type { Position, Range } from '../findings';
import type { Span } from './tree';

/** Converts between string offsets and 0-based line/character positions (UTF-16, as LSP). */
export class LineIndex {
  private readonly lineStarts: number[];

  /** `lineStarts`, when given, must be `[0, ...lineBreaksIn(text)]` (a reader that keeps
   * them per part of the text joins them rather than scanning the whole text again). */
  constructor(readonly text: string, lineStarts?: number[]) {
    this.lineStarts = lineStarts ?? [0, ...lineBreaksIn(text)];
  }

  get lineCount(): number {
    return this.lineStarts.length;
  }

  position(offset: number): Position {
    const clamped = Math.max(0, Math.min(offset, this.text.length));
    let low = 0;
    let high = this.lineStarts.length - 1;
    while (low < high) {
      const mid = (low + high + 1) >> 1;
      if (this.lineStarts[mid]! <= clamped) low = mid;
      else high = mid - 1;
    }
    // An offset inside a "\r\n" (or at a line's last "\n") is the end of that line.
    return { line: low, character: Math.min(clamped, this.lineEnd(low)) - this.lineStarts[low]! };
  }

  offset(position: Position): number {
    const lineStart = this.lineStarts[Math.min(position.line, this.lineStarts.length - 1)] ?? 0;
    return Math.min(lineStart + position.character, this.lineEnd(position.line));
  }

  lineStart(line: number): number {
    return this.lineStarts[Math.min(Math.max(line, 0), this.lineStarts.length - 1)]!;
  }

  lineEnd(line: number): number {
    const next = this.lineStarts[line + 1];
    if (next === undefined) return this.text.length;
    let end = next - 1;
    if (end > 0 && this.text.charCodeAt(end - 1) === 13 && this.text.charCodeAt(end) === 10) end--;
    return end;
  }

  lineText(line: number): string {
    return this.text.slice(this.lineStart(line), this.lineEnd(line));
  }

  range(span: Span): Range {
    return { start: this.position(span.start), end: this.position(span.end) };
  }
}

/** The offsets at which a line starts after a line break in `text` (so not 0). Text cut at line
 * starts gives, per part, these offsets relative to the part: shifted and joined, they equal the
 * whole text's, as a break never spans two parts. */
export function lineBreaksIn(text: string): number[] {
  const starts: number[] = [];
  for (let i = 0; i < text.length; i++) {
    const ch = text.charCodeAt(i);
    if (ch === 10) starts.push(i + 1);
    else if (ch === 13 && text.charCodeAt(i + 1) !== 10) starts.push(i + 1);
  }
  return starts;
}

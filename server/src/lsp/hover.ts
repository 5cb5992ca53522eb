import { MarkupKind, type Hover } from 'vscode-languageserver';
import { describeAt } from '../engine/describe';
import type { Engine, LintResult } from '../engine/engine';
import type { Position } from '../engine/findings';

export function hover(engine: Engine, result: LintResult, position: Position): Hover | null {
  if (position.line >= result.file.lines.lineCount) return null;
  const doc = describeAt(result.file, result.resources, engine.registry, result.file.lines.offset(position));
  if (!doc) return null;
  return { contents: { kind: MarkupKind.Markdown, value: doc.contents }, range: result.file.lines.range(doc.span) };
}

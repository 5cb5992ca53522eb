import { MarkupKind, type Hover } from 'vscode-languageserver';
import { describeAt } from '../engine/describe';
import { inHclComment } from '../engine/source/hclReader';
import type { Engine, LintResult } from '../engine/engine';
import type { Position } from '../engine/findings';
import type { TrafficInsight } from '../engine/insight/trafficInsight';

/**
 * The schema's description of what is under the cursor, then `more` (the workloads a policy's
 * attachment reaches there, listed on the same text), then the observed traffic it decides (through
 * `redact`: it quotes the logs).
 */
export function hover(engine: Engine, result: LintResult, position: Position, insight?: TrafficInsight, cancelled?: () => boolean, redact: (text: string) => string = (text) => text, more?: string): Hover | null {
  if (position.line >= result.file.lines.lineCount) return null;
  const offset = result.file.lines.offset(position);
  if (result.file.format === 'hcl' && inHclComment(result.file.text, offset)) return null;
  const doc = describeAt(result.file, result.resources, engine.registry, offset);
  const observed = insight?.hover(result.file.path, offset, cancelled);
  const traffic = observed ? redact(observed) : undefined;
  const added = more;
  if (!doc && !traffic && !added) return null;
  const value = [doc?.contents, added, traffic].filter((part): part is string => Boolean(part)).join('\n\n---\n\n');
  return { contents: { kind: MarkupKind.Markdown, value }, ...(doc ? { range: result.file.lines.range(doc.span) } : {}) };
}

import { CompletionItemKind, InsertTextFormat, MarkupKind, type CompletionItem } from 'vscode-languageserver';
import { completeAt } from '../engine/complete';
import type { Engine, LintResult } from '../engine/engine';
import type { Position } from '../engine/findings';
import type { ObservedValues } from '../engine/observedValues';

/** Schema-driven fields and values, plus values seen in the traffic and the inventory. */
export function completion(engine: Engine, result: LintResult, position: Position, observed?: ObservedValues): CompletionItem[] {
  const file = result.file;
  return completeAt(file, result.resources, engine.registry, file.lines.offset(position), observed).map((s, index) => ({
    label: s.label,
    kind: s.kind === 'field' ? CompletionItemKind.Property : CompletionItemKind.EnumMember,
    textEdit: { range: file.lines.range(s.replace), newText: s.insertText },
    insertTextFormat: InsertTextFormat.PlainText,
    sortText: String(index).padStart(4, '0'),
    ...(s.detail ? { detail: s.required ? `${s.detail} (required)` : s.detail } : {}),
    ...(s.documentation ? { documentation: { kind: MarkupKind.Markdown, value: s.documentation } } : {}),
  }));
}

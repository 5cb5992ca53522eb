import { CompletionItemKind, InsertTextFormat, MarkupKind, type CompletionItem } from 'vscode-languageserver';
import { completeAt } from '../engine/complete';
import type { WorkspaceView } from '../engine/checks/check';
import { completeTestAt } from '../engine/policyTests/complete';
import type { Engine, LintResult } from '../engine/engine';
import type { Position } from '../engine/findings';
import type { ObservedValues } from '../engine/observedValues';

/** Schema-driven fields and values, plus values seen in the traffic and the inventory; in a policy test file, its keys and values. */
export function completion(engine: Engine, result: LintResult, position: Position, observed?: ObservedValues, workspace?: WorkspaceView): CompletionItem[] {
  const file = result.file;
  const offset = file.lines.offset(position);
  // (a policy test file has its own keys and values: docs/policy-tests.md)
  const suggestions = (workspace && completeTestAt(file, offset, workspace)) ?? completeAt(file, result.resources, engine.registry, offset, observed, workspace?.inventory.crds);
  return suggestions.map((s, index) => ({
    label: s.label,
    kind: s.kind === 'field' ? CompletionItemKind.Property : CompletionItemKind.EnumMember,
    textEdit: { range: file.lines.range(s.replace), newText: s.insertText },
    insertTextFormat: InsertTextFormat.PlainText,
    sortText: String(index).padStart(4, '0'),
    ...(s.detail ? { detail: s.required ? `${s.detail} (required)` : s.detail } : {}),
    ...(s.documentation ? { documentation: { kind: MarkupKind.Markdown, value: s.documentation } } : {}),
  }));
}

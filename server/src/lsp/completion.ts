import { CompletionItemKind, InsertTextFormat, MarkupKind, type CompletionItem } from 'vscode-languageserver';
import { completeAt } from '../engine/complete';
import type { WorkspaceView } from '../engine/checks/check';
import { completeTestAt } from '../engine/policyTests/complete';
import type { Engine, LintResult } from '../engine/engine';
import type { Position } from '../engine/findings';
import type { ObservedValues } from '../engine/observedValues';
import { newPolicySuggestions, POLICY_TEMPLATES, templateFacts, templateSnippet } from '../engine/newPolicy';
import { snippetDefaults } from '../engine/newPolicy/snippet';
import { inLineEndingsOf } from './convert';

const ITEM_KINDS = { field: CompletionItemKind.Property, value: CompletionItemKind.EnumMember, template: CompletionItemKind.Snippet } as const;

/** Schema-driven fields and values, plus values seen in the traffic and the inventory; in a policy test file, its keys and values. */
export function completion(engine: Engine, result: LintResult, position: Position, context: { observed?: ObservedValues; workspace?: WorkspaceView; snippets?: boolean } = {}): CompletionItem[] {
  const { observed, workspace } = context;
  const file = result.file;
  const offset = file.lines.offset(position);
  // (a policy test file has its own keys and values: docs/policy-tests.md)
  const completed = (workspace && completeTestAt(file, offset, workspace)) ?? completeAt(file, result.resources, engine.registry, offset, observed, workspace?.inventory.crds);
  // (where no policy is recognized yet: the templates of a new one, or its apiVersion and kind)
  const suggestions = completed.length > 0 ? completed : newPolicySuggestions(file, result.resources, engine.registry, offset, templateFacts(workspace));
  return suggestions.map((s, index) => ({
    label: s.label,
    kind: ITEM_KINDS[s.kind],
    // A client without snippets gets a template as the text its defaults make.
    textEdit: { range: file.lines.range(s.replace), newText: inLineEndingsOf(file.text, s.kind === 'template' && !context.snippets ? snippetDefaults(s.insertText) : s.insertText) },
    insertTextFormat: s.kind === 'template' && context.snippets ? InsertTextFormat.Snippet : InsertTextFormat.PlainText,
    sortText: String(index).padStart(4, '0'),
    ...(s.detail ? { detail: s.required ? `${s.detail} (required)` : s.detail } : {}),
    ...(s.documentation ? { documentation: { kind: MarkupKind.Markdown, value: s.documentation } } : {}),
  }));
}

/** A template of a new policy for the client's *New Policy...* command. */
export interface PolicyTemplateItem {
  id: string;
  mesh: string;
  /** The VS Code language of the document it starts: `yaml` or `hcl`. */
  language: string;
  label: string;
  description: string;
  snippet: string;
}

export function policyTemplateItems(workspace: WorkspaceView | undefined): PolicyTemplateItem[] {
  const facts = templateFacts(workspace);
  return POLICY_TEMPLATES.map((t) => ({ id: t.id, mesh: t.mesh, language: t.format, label: t.label, description: t.description, snippet: templateSnippet(t, facts) }));
}

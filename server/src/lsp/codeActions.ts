import { fileURLToPath } from 'node:url';
import { CodeActionKind, type CodeAction, type CodeActionParams, type Diagnostic } from 'vscode-languageserver';
import type { LintResult } from '../engine/engine';
import type { Engine } from '../engine/engine';
import type { TrafficInsight } from '../engine/insight/trafficInsight';
import { trafficFixesAt } from '../engine/trafficFixes';
import { preferredFixes } from '../engine/fixAll';
import type { WorkspaceModel } from '../engine/workspace';
import { MESHES, type Mesh } from '../engine/meshes';
import { uriOf } from './convert';
import { DIAGNOSTIC_SOURCE, type DiagnosticData } from './convert';

export const FIX_ALL_KIND = `${CodeActionKind.SourceFixAll}.meshPolicy`;
/** Source actions that translate a file's policies into another mesh's (docs/translate.md). */
export const TRANSLATE_KIND = `${CodeActionKind.Source}.meshPolicy.translate`;
const MESH_NAMES: Record<Mesh, string> = { istio: 'Istio', linkerd: 'Linkerd', consul: 'Consul' };

export function codeActions(params: CodeActionParams, result: LintResult | undefined): CodeAction[] {
  const uri = params.textDocument.uri;
  const actions: CodeAction[] = [];
  const only = params.context.only;
  const wantsQuickFix = !only || only.some((k) => CodeActionKind.QuickFix.startsWith(k) || k.startsWith(CodeActionKind.QuickFix));
  const wantsFixAll = only?.some((k) => FIX_ALL_KIND.startsWith(k)) ?? false;
  if (wantsQuickFix) {
    for (const diagnostic of params.context.diagnostics) {
      if (diagnostic.source !== DIAGNOSTIC_SOURCE) continue;
      const command = (diagnostic.data as Partial<DiagnosticData> | undefined)?.command;
      if (command) actions.push({ title: command.title, kind: CodeActionKind.QuickFix, diagnostics: [diagnostic], command });
      for (const fix of fixesOf(diagnostic)) {
        actions.push({
          title: fix.title,
          kind: CodeActionKind.QuickFix,
          diagnostics: [diagnostic],
          isPreferred: Boolean(fix.preferred),
          edit: { changes: { [uri]: fix.edits } },
        });
      }
    }
  }
  if ((wantsFixAll || wantsQuickFix) && result) {
    const { edits } = preferredFixes(result.findings);
    if (edits.length > 1 || wantsFixAll) {
      if (edits.length) actions.push({ title: 'Fix all mechanical mesh-policy problems in this file', kind: FIX_ALL_KIND, edit: { changes: { [uri]: edits } } });
    }
  }
  return actions;
}

/** "Translate this file's Istio policies to Linkerd" and the like: commands the client runs
 * (`meshPolicy.translatePolicies`), offered as source actions, never on the light bulb. */
export function translateActions(params: CodeActionParams, result: LintResult | undefined): CodeAction[] {
  const only = params.context.only;
  if (!result || !only?.some((k) => TRANSLATE_KIND.startsWith(k))) return [];
  const present = MESHES.filter((mesh) => result.resources.some((r) => r.mesh === mesh));
  const actions: CodeAction[] = [];
  for (const to of MESHES) {
    const from = present.filter((mesh) => mesh !== to);
    if (from.length === 0) continue;
    const title = `Translate this file's ${from.map((m) => MESH_NAMES[m]).join(' and ')} policies to ${MESH_NAMES[to]}`;
    actions.push({ title, kind: TRANSLATE_KIND, command: { title, command: 'meshPolicy.translatePolicies', arguments: [{ to, uri: params.textDocument.uri }] } });
  }
  return actions;
}

function fixesOf(diagnostic: Diagnostic): DiagnosticData['fixes'] {
  const data = diagnostic.data as Partial<DiagnosticData> | undefined;
  return Array.isArray(data?.fixes) ? data.fixes : [];
}

/**
 * Fixes from the observed traffic at the cursor: allow a denied call, deny an allowed one, narrow a
 * wildcard to what was observed, dry-run/audit a policy, and the like (docs/quick-fixes.md).
 */
export function trafficCodeActions(params: CodeActionParams, insight: TrafficInsight | undefined, workspace: WorkspaceModel, engine: Engine): CodeAction[] {
  if (!insight) return [];
  const only = params.context.only;
  if (only && !only.some((k) => CodeActionKind.QuickFix.startsWith(k) || k.startsWith(CodeActionKind.QuickFix) || CodeActionKind.Refactor.startsWith(k))) return [];
  const path = params.textDocument.uri.startsWith('file:') ? fileURLToPath(params.textDocument.uri) : params.textDocument.uri;
  return trafficFixesAt({ workspace, file: path, range: params.range, outcomes: insight.result.outcomes, engine }).map((fix) => ({
    title: fix.title,
    kind: CodeActionKind.QuickFix,
    edit: { changes: { [fix.file === path ? params.textDocument.uri : uriOf(fix.file)]: fix.edits } },
  }));
}

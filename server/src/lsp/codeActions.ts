import { fileURLToPath } from 'node:url';
import { CodeActionKind, type CodeAction, type CodeActionParams, type Diagnostic, type Range } from 'vscode-languageserver';
import type { LintResult } from '../engine/engine';
import type { Engine } from '../engine/engine';
import type { TrafficInsight } from '../engine/insight/trafficInsight';
import { trafficFixesAt } from '../engine/trafficFixes';
import { contains } from '../engine/trafficFixes/common';
import { preferredFixes } from '../engine/fixAll';
import type { WorkspaceModel } from '../engine/workspace';
import { MESHES, type Mesh } from '../engine/meshes';
import { uriOf } from './convert';
import { DIAGNOSTIC_SOURCE } from './convert';
import type { Finding } from '../engine/findings';

export const FIX_ALL_KIND = `${CodeActionKind.SourceFixAll}.meshPolicy`;
/** Source actions that translate a file's policies into another mesh's (docs/translate.md). */
export const TRANSLATE_KIND = `${CodeActionKind.Source}.meshPolicy.translate`;
const MESH_NAMES: Record<Mesh, string> = { istio: 'Istio', linkerd: 'Linkerd', consul: 'Consul' };

/**
 * Whether the client asked for actions of `kind`: kinds are dotted hierarchies, so `only: ["source"]`
 * takes `source.fixAll.meshPolicy` but `only: ["source.fix"]` does not, and `quickfix` is not taken
 * by `only: ["quickfix.other"]` (LSP `CodeActionContext.only`). No `only`: every kind.
 */
export function kindRequested(only: readonly string[] | undefined, kind: string): boolean {
  return !only || only.some((base) => base === '' || kind === base || kind.startsWith(`${base}.`));
}

/**
 * The quick fixes of the diagnostics at the range (the server lists the traffic fixes after them,
 * and the fix-all last). The diagnostic the user is on comes first: one whose range holds the cursor before one that only overlaps it, then the
 * most severe, then the narrowest. One fix is `isPreferred` (what the editor's auto fix applies):
 * the preferred fix of the first diagnostic in that order that has one; the other fixes follow, unpreferred.
 */
export function codeActions(params: CodeActionParams, current: readonly Finding[]): CodeAction[] {
  const uri = params.textDocument.uri;
  const only = params.context.only;
  const actions: CodeAction[] = [];
  if (kindRequested(only, CodeActionKind.QuickFix)) {
    let preferredTaken = false;
    for (const diagnostic of diagnosticsByNearness(params.context.diagnostics.filter((d) => d.source === DIAGNOSTIC_SOURCE), params.range)) {
      // A diagnostic's fixes were built for the text it was published for; asked after an edit
      // (the editor moves its range), they are taken from the same finding of the current text, if any.
      const finding = current.find((f) => f.code === diagnostic.code && f.message === diagnostic.message && sameRange(f.range, diagnostic.range));
      if (!finding) continue;
      const command = finding.command;
      if (command) actions.push({ title: command.title, kind: CodeActionKind.QuickFix, diagnostics: [diagnostic], command });
      const fixes = finding.fixes ?? [];
      const preferred: boolean = !preferredTaken && fixes.some((fix) => fix.preferred);
      for (const fix of [...fixes.filter((f) => f.preferred), ...fixes.filter((f) => !f.preferred)]) {
        actions.push({
          title: fix.title,
          kind: CodeActionKind.QuickFix,
          diagnostics: [diagnostic],
          isPreferred: preferred && Boolean(fix.preferred),
          edit: { changes: { [uri]: fix.edits } },
        });
      }
      preferredTaken ||= preferred;
    }
  }
  return onceEach(actions);
}

/**
 * "Fix all mechanical mesh-policy problems in this file": on request (`source.fixAll`, on save),
 * and last in a list asked for without `only` when it does more than one fix there.
 */
export function fixAllActions(params: CodeActionParams, result: LintResult | undefined): CodeAction[] {
  const only = params.context.only;
  if (!result || !kindRequested(only, FIX_ALL_KIND)) return [];
  const { edits } = preferredFixes(result.findings);
  if (edits.length === 0 || (!only && edits.length < 2)) return [];
  return [{ title: 'Fix all mechanical mesh-policy problems in this file', kind: FIX_ALL_KIND, edit: { changes: { [params.textDocument.uri]: edits } } }];
}

function diagnosticsByNearness(diagnostics: readonly Diagnostic[], cursor: Range): Diagnostic[] {
  const holdsCursor = (d: Diagnostic) => (contains(d.range, cursor) ? 0 : 1);
  const size = (d: Diagnostic) => (d.range.end.line - d.range.start.line) * 1e6 + d.range.end.character - d.range.start.character;
  return [...diagnostics].sort((a, b) => holdsCursor(a) - holdsCursor(b) || (a.severity ?? 4) - (b.severity ?? 4) || size(a) - size(b));
}

/** An action whose edit (or command) another action already makes is offered once, with both diagnostics. */
function onceEach(actions: CodeAction[]): CodeAction[] {
  const byEffect = new Map<string, CodeAction>();
  for (const action of actions) {
    const key = JSON.stringify([action.kind, action.edit ?? null, action.command ?? null]);
    const first = byEffect.get(key);
    if (!first) byEffect.set(key, action);
    else first.diagnostics = [...(first.diagnostics ?? []), ...(action.diagnostics ?? [])];
  }
  return [...byEffect.values()];
}

/** "Translate this file's Istio policies to Linkerd" and the like: commands the client runs
 * (`meshPolicy.translatePolicies`), offered as source actions, never on the light bulb. */
export function translateActions(params: CodeActionParams, result: LintResult | undefined): CodeAction[] {
  const only = params.context.only;
  if (!result || !only || !kindRequested(only, TRANSLATE_KIND)) return [];
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

function sameRange(a: Range, b: Range): boolean {
  return a.start.line === b.start.line && a.start.character === b.start.character && a.end.line === b.end.line && a.end.character === b.end.character;
}

/**
 * Fixes from the observed traffic at the cursor: allow a denied call, deny an allowed one, narrow a
 * wildcard to what was observed, dry-run/audit a policy, and the like (docs/quick-fixes.md).
 */
export function trafficCodeActions(params: CodeActionParams, insight: TrafficInsight | undefined, workspace: WorkspaceModel, engine: Engine): CodeAction[] {
  if (!insight) return [];
  if (!kindRequested(params.context.only, CodeActionKind.QuickFix)) return [];
  const path = params.textDocument.uri.startsWith('file:') ? fileURLToPath(params.textDocument.uri) : params.textDocument.uri;
  return trafficFixesAt({ workspace, file: path, range: params.range, outcomes: insight.result.outcomes, engine }).map((fix) => ({
    title: fix.title,
    kind: CodeActionKind.QuickFix,
    edit: { changes: { [fix.file === path ? params.textDocument.uri : uriOf(fix.file)]: fix.edits } },
  }));
}

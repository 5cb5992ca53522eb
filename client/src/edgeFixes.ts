import * as vscode from 'vscode';
import type { AuditViews } from './auditViews';

/** An edge of the traffic map and what to do with its calls; `fix` picks a fix by title or position instead of asking. */
export interface FixEdgeArgs {
  source: string;
  destination: string;
  action: 'allow' | 'deny';
  fix?: string | number;
  /** The workspace folder (its URI) whose server's map shows the edge; else the active editor's. */
  folder?: string;
}

/** What `meshPolicy.fixEdge` applied: the fix's title and the files it edited. */
export interface FixEdgeResult {
  title: string;
  uris: string[];
}

/** The server's answer to `meshPolicy/edgeFixes` (server/src/lsp/trafficRequests.ts `EdgeFixList`). */
interface EdgeFixList {
  calls: number;
  fixes: { title: string; kind: string; edit: { changes?: Record<string, { range: { start: { line: number; character: number }; end: { line: number; character: number } }; newText: string }[]> }; versions?: Record<string, number> }[];
  notOffered: string[];
}

type TalkTo = (folder?: string) => Promise<{ request: <T>(method: string, params?: unknown) => Promise<T | undefined> } | undefined>;

function isFixEdgeArgs(value: unknown): value is FixEdgeArgs {
  const v = value as Partial<FixEdgeArgs> | undefined;
  return typeof v?.source === 'string' && typeof v.destination === 'string' && (v.action === 'allow' || v.action === 'deny') && (v.fix === undefined || typeof v.fix === 'string' || typeof v.fix === 'number') && (v.folder === undefined || typeof v.folder === 'string');
}

/**
 * `meshPolicy.fixEdge`: what the map's "Allow these calls" / "Deny these calls" buttons run. Asks
 * the server for the edge's verified fixes, lets the user pick one when there are several, applies
 * it as a WorkspaceEdit and shows the edited policy; the map re-renders after the new simulation.
 * Returns what it applied (tests run it with `fix` set), else undefined.
 */
export function registerFixEdge(talkTo: TalkTo, views: AuditViews): vscode.Disposable {
  return vscode.commands.registerCommand('meshPolicy.fixEdge', async (args?: unknown): Promise<FixEdgeResult | undefined> => {
    if (!isFixEdgeArgs(args)) {
      void vscode.window.showInformationMessage('Mesh Policy Auditor: open the traffic map (Mesh Policy: Show Traffic Map), select an edge and use its Allow or Deny button.');
      return undefined;
    }
    const edge = `${args.source} → ${args.destination}`;
    const talk = await talkTo(args.folder);
    if (!talk) return undefined;
    const found = await talk.request<EdgeFixList | null>('meshPolicy/edgeFixes', { source: args.source, destination: args.destination, action: args.action });
    if (found === undefined) return undefined;
    if (found === null) return void vscode.window.showInformationMessage('Mesh Policy Auditor: no observed traffic is loaded.');
    if (!found.fixes.length) {
      const why = found.calls === 0 ? `the policies ${args.action === 'allow' ? 'deny' : 'allow'} none of its calls now` : found.notOffered.join('; ') || 'no fix came out as intended when checked';
      return void vscode.window.showInformationMessage(`Mesh Policy Auditor: no fix to ${args.action} the calls of ${edge}: ${why}.`);
    }
    const wanted = args.fix;
    let chosen = wanted === undefined ? (found.fixes.length === 1 ? found.fixes[0] : undefined) : typeof wanted === 'number' ? found.fixes[wanted] : found.fixes.find((f) => f.title === wanted);
    if (wanted !== undefined && !chosen) return void vscode.window.showWarningMessage(`Mesh Policy Auditor: no fix ${typeof wanted === 'number' ? `#${wanted}` : `titled "${wanted}"`} for ${edge}.`);
    if (!chosen) {
      const picked = await vscode.window.showQuickPick(found.fixes.map((fix) => ({ label: fix.title, description: fix.kind, fix })), {
        placeHolder: `${args.action === 'allow' ? 'Allow' : 'Deny'} the calls of ${edge}: which fix? (each was checked against the observed calls)`,
      });
      if (!picked) return undefined;
      chosen = picked.fix;
    }
    // The server built the edits on the text it had; a file typed in since must not get them.
    const stale = Object.entries(chosen.versions ?? {}).find(([uri, version]) => vscode.workspace.textDocuments.some((d) => d.uri.toString() === vscode.Uri.parse(uri).toString() && d.version !== version));
    if (stale) return void vscode.window.showWarningMessage(`Mesh Policy Auditor: ${vscode.Uri.parse(stale[0]).path.split('/').pop()} changed while the fix was built: use the button again.`);
    const edit = new vscode.WorkspaceEdit();
    let first: { uri: vscode.Uri; range: vscode.Range } | undefined;
    for (const [uri, edits] of Object.entries(chosen.edit.changes ?? {})) {
      for (const e of edits) {
        const range = new vscode.Range(e.range.start.line, e.range.start.character, e.range.end.line, e.range.end.character);
        edit.replace(vscode.Uri.parse(uri), range, e.newText);
        first ??= { uri: vscode.Uri.parse(uri), range };
      }
    }
    if (!(await vscode.workspace.applyEdit(edit))) return void vscode.window.showWarningMessage(`Mesh Policy Auditor: the edit "${chosen.title}" could not be applied (the file changed meanwhile?).`);
    views.updating(chosen.title, args.folder);
    if (first) await vscode.window.showTextDocument(first.uri, { viewColumn: vscode.ViewColumn.One, preserveFocus: true, selection: new vscode.Range(first.range.start, first.range.start) });
    return { title: chosen.title, uris: Object.keys(chosen.edit.changes ?? {}) };
  });
}

import { randomBytes } from 'node:crypto';
import * as vscode from 'vscode';

type View = 'report' | 'map';

const TITLES: Record<View, string> = { report: 'Mesh Policy: Access Report', map: 'Mesh Policy: Traffic Map' };

/** Whose traffic a view shows: a workspace folder's server (its key), named in the title in a multi-root window. */
export interface ViewSource {
  key: string;
  label: string | undefined;
}

interface OpenView {
  view: View;
  key: string;
  panel: vscode.WebviewPanel;
}

/**
 * The access report and the traffic map in webviews, one of each per workspace folder. The server
 * renders the HTML (engine/audit); this only hosts it, refreshes it after each simulation, and
 * opens the policy a map link names.
 */
export class AuditViews implements vscode.Disposable {
  private readonly panels = new Map<string, OpenView>();
  private readonly refreshTimers = new Map<string, NodeJS.Timeout>();

  constructor(private readonly render: (view: View, nonce: string, key: string) => Promise<string | null | undefined>) {}

  async show(view: View, source: ViewSource): Promise<void> {
    const id = `${view} ${source.key}`;
    let open = this.panels.get(id);
    if (open) {
      open.panel.reveal();
    } else {
      const title = source.label ? `${TITLES[view]} (${source.label})` : TITLES[view];
      const panel = vscode.window.createWebviewPanel(`meshPolicy.${view}`, title, vscode.ViewColumn.Two, { enableScripts: view === 'map', localResourceRoots: [] });
      open = { view, key: source.key, panel };
      this.panels.set(id, open);
      panel.onDidDispose(() => this.panels.delete(id));
      panel.webview.onDidReceiveMessage((message: { open?: { file: string; line: number }; fixEdge?: unknown }) => {
        // Only which edge and which action: the choice among fixes stays with the user (the quick pick).
        const fixEdge = message.fixEdge as { source?: unknown; destination?: unknown; action?: unknown } | undefined;
        if (fixEdge) void vscode.commands.executeCommand('meshPolicy.fixEdge', { source: fixEdge.source, destination: fixEdge.destination, action: fixEdge.action, folder: source.key });
        if (!message.open) return;
        const line = Math.max(0, message.open.line - 1);
        void vscode.window.showTextDocument(vscode.Uri.file(message.open.file), { selection: new vscode.Range(line, 0, line, 0), viewColumn: vscode.ViewColumn.One });
      });
    }
    await this.update(open);
  }

  /** A fix was applied from a folder's map (the active editor's folder when not said): say so there until the new simulation re-renders it. */
  updating(title: string, key?: string): void {
    for (const open of this.panels.values()) {
      if (open.view === 'map' && (key === undefined || open.key === key)) void open.panel.webview.postMessage({ updating: title });
    }
    this.refreshSoon(key);
  }

  /** After a new simulation of a folder (every folder when not said): re-render its open views (at most every half second). */
  refreshSoon(key?: string): void {
    const timerKey = key ?? '*';
    if (this.panels.size === 0) return;
    clearTimeout(this.refreshTimers.get(timerKey));
    this.refreshTimers.set(timerKey, setTimeout(() => {
      this.refreshTimers.delete(timerKey);
      for (const open of this.panels.values()) if (key === undefined || open.key === key) void this.update(open);
    }, 500));
  }

  private async update({ view, key, panel }: OpenView): Promise<void> {
    const nonce = randomBytes(16).toString('base64');
    const html = await this.render(view, nonce, key);
    if (!html) {
      panel.webview.html = '<!doctype html><p>No observed traffic is loaded: put access logs in the workspace, or run <b>Mesh Policy: Reload Traffic</b>.</p>';
      return;
    }
    // Only our own inline code runs; links name a policy file and line, which VS Code opens.
    const csp = `<meta http-equiv="Content-Security-Policy" content="default-src 'none'; img-src data:; style-src 'unsafe-inline'; script-src 'nonce-${nonce}';">`;
    const bridge = `<script nonce="${nonce}">(function(){var api=acquireVsCodeApi();document.addEventListener('click',function(e){var a=e.target&&e.target.closest&&e.target.closest('a[data-file]');if(!a)return;e.preventDefault();api.postMessage({open:{file:a.getAttribute('data-file'),line:Number(a.getAttribute('data-line')||'1')}});});`
      + `document.addEventListener('meshpolicy:fix',function(e){api.postMessage({fixEdge:e.detail});});`
      + `window.addEventListener('message',function(e){if(!e.data||typeof e.data.updating!=='string')return;var p=document.getElementById('details');if(!p)return;p.textContent='';var m=document.createElement('p');m.className='pending';m.textContent='Applied: '+e.data.updating+'. The map is being updated from the new simulation\u2026';p.appendChild(m);});})();</script>`;
    panel.webview.html = html.replace(/<head>/i, `<head>${csp}`).replace(/<\/body>/i, `${view === 'map' ? bridge : ''}</body>`);
  }

  dispose(): void {
    for (const timer of this.refreshTimers.values()) clearTimeout(timer);
    for (const open of this.panels.values()) open.panel.dispose();
  }
}

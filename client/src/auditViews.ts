import { randomBytes } from 'node:crypto';
import * as vscode from 'vscode';

type View = 'report' | 'map';

const TITLES: Record<View, string> = { report: 'Mesh Policy: Access Report', map: 'Mesh Policy: Traffic Map' };

/**
 * The access report and the traffic map in webviews. The server renders the HTML (engine/audit);
 * this only hosts it, refreshes it after each simulation, and opens the policy a map link names.
 */
export class AuditViews implements vscode.Disposable {
  private readonly panels = new Map<View, vscode.WebviewPanel>();
  private refreshTimer: NodeJS.Timeout | undefined;

  constructor(private readonly render: (view: View, nonce: string) => Promise<string | null | undefined>) {}

  async show(view: View): Promise<void> {
    let panel = this.panels.get(view);
    if (panel) {
      panel.reveal();
    } else {
      panel = vscode.window.createWebviewPanel(`meshPolicy.${view}`, TITLES[view], vscode.ViewColumn.Two, { enableScripts: view === 'map', localResourceRoots: [] });
      this.panels.set(view, panel);
      panel.onDidDispose(() => this.panels.delete(view));
      panel.webview.onDidReceiveMessage((message: { open?: { file: string; line: number }; fixEdge?: unknown }) => {
        // Only which edge and which action: the choice among fixes stays with the user (the quick pick).
        const fixEdge = message.fixEdge as { source?: unknown; destination?: unknown; action?: unknown } | undefined;
        if (fixEdge) void vscode.commands.executeCommand('meshPolicy.fixEdge', { source: fixEdge.source, destination: fixEdge.destination, action: fixEdge.action });
        if (!message.open) return;
        const line = Math.max(0, message.open.line - 1);
        void vscode.window.showTextDocument(vscode.Uri.file(message.open.file), { selection: new vscode.Range(line, 0, line, 0), viewColumn: vscode.ViewColumn.One });
      });
    }
    await this.update(view, panel);
  }

  /** A fix was applied from the map: say so there until the new simulation re-renders it. */
  updating(title: string): void {
    void this.panels.get('map')?.webview.postMessage({ updating: title });
    this.refreshSoon();
  }

  /** After a new simulation: re-render the open views (at most every half second). */
  refreshSoon(): void {
    if (this.panels.size === 0) return;
    clearTimeout(this.refreshTimer);
    this.refreshTimer = setTimeout(() => {
      for (const [view, panel] of this.panels) void this.update(view, panel);
    }, 500);
  }

  private async update(view: View, panel: vscode.WebviewPanel): Promise<void> {
    const nonce = randomBytes(16).toString('base64');
    const html = await this.render(view, nonce);
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
    clearTimeout(this.refreshTimer);
    for (const panel of this.panels.values()) panel.dispose();
  }
}

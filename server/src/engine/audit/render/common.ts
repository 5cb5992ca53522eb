/** Helpers shared by the HTML report and the traffic map: escaping, clipping, numbers, colors. */

export interface HtmlOptions {
  /** A CSP nonce for the inline <style> and <script> (VS Code webviews). */
  nonce?: string;
  /** Document title. */
  title?: string;
  /** Traffic map only: "Allow these calls" / "Deny these calls" buttons in the edge panel, for a host that applies fixes (the editor's webview). */
  edgeActions?: boolean;
}

const ESCAPES: Record<string, string> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' };

export function esc(text: string | number): string {
  return String(text).replace(/[&<>"']/g, (c) => ESCAPES[c]!);
}

/** Long values (paths, principals) are cut so that no row can make the output large. */
export function clip(text: string, max = 120): string {
  return text.length <= max ? text : `${text.slice(0, max - 1)}…`;
}

export function num(n: number): string {
  return n.toLocaleString('en-US');
}

export function pct(part: number, whole: number): string {
  if (whole === 0) return '0%';
  const p = (100 * part) / whole;
  return `${p >= 10 || p === 0 ? p.toFixed(0) : p.toFixed(1)}%`;
}

export function nonceAttr(options: HtmlOptions): string {
  return options.nonce ? ` nonce="${esc(options.nonce)}"` : '';
}

/** Colors of the edge states and verdicts, readable on light and dark backgrounds. */
export const STATE_COLORS: Record<string, string> = {
  allowed: '#2e7d32',
  denied: '#c62828',
  'newly-denied': '#ef6c00',
  'newly-allowed': '#6a1b9a',
  unknown: '#757575',
  mixed: '#1565c0',
};

export const STATE_TEXT: Record<string, string> = {
  allowed: 'allowed',
  denied: 'denied',
  'newly-denied': 'newly denied (observed allowed, the policies deny)',
  'newly-allowed': 'newly allowed (observed denied, the policies allow)',
  unknown: 'unknown or external',
  mixed: 'mixed verdicts',
};

/** JSON for a <script type="application/json"> block: nothing in it can close the element. */
export function scriptJson(value: unknown): string {
  return JSON.stringify(value).replace(/</g, '\\u003c').replace(/>/g, '\\u003e').replace(/&/g, '\\u0026').replace(/\u2028/g, '\\u2028').replace(/\u2029/g, '\\u2029');
}

export const BASE_CSS = `
:root{color-scheme:light dark;--fg:#1f2328;--muted:#59636e;--bg:#ffffff;--card:#f6f8fa;--line:#d1d9e0;--accent:#0969da}
@media (prefers-color-scheme:dark){:root{--fg:#e6edf3;--muted:#9198a1;--bg:#0d1117;--card:#151b23;--line:#3d444d;--accent:#4493f8}}
body.vscode-dark{--fg:#e6edf3;--muted:#9198a1;--bg:#1e1e1e;--card:#252526;--line:#3d444d;--accent:#4493f8}
*{box-sizing:border-box}
body{margin:0;padding:16px 24px;font:14px/1.45 system-ui,-apple-system,"Segoe UI",sans-serif;color:var(--fg);background:var(--bg)}
h1{font-size:22px;margin:0 0 4px}h2{font-size:17px;margin:28px 0 8px;padding-bottom:4px;border-bottom:1px solid var(--line)}
h3{font-size:14px;margin:16px 0 6px}
.muted{color:var(--muted)}
table{border-collapse:collapse;margin:4px 0 8px;font-size:13px}
th,td{border:1px solid var(--line);padding:3px 8px;text-align:left;vertical-align:top}
th{background:var(--card);font-weight:600}
td.n,th.n{text-align:right;font-variant-numeric:tabular-nums}
code{font:12px ui-monospace,SFMono-Regular,Menlo,Consolas,monospace}
.cards{display:flex;flex-wrap:wrap;gap:8px;margin:12px 0}
.card{background:var(--card);border:1px solid var(--line);border-radius:6px;padding:8px 12px;min-width:130px}
.card b{display:block;font-size:20px}
.more{color:var(--muted);font-style:italic}
.tag{display:inline-block;border-radius:10px;padding:0 7px;font-size:12px;color:#fff}
svg text{fill:var(--fg);font:11px system-ui,sans-serif}
`;

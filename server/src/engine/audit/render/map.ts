import { mapNodes, type AuditModel, type MapEdge, type MapNode } from '../model';
import { BASE_CSS, clip, esc, nonceAttr, num, scriptJson, STATE_COLORS, STATE_TEXT, type HtmlOptions } from './common';

/**
 * The traffic map: services as nodes, observed calls as edges colored by the current policies'
 * decision (and its change against what was observed). Clicking an edge lists its calls and the
 * rules that decided them; each rule carries `data-file`/`data-line` (1-based) so a host can open
 * the YAML: a click on one dispatches a `meshpolicy:open` event on `document` with
 * `{file, line}`, and calls `window.meshPolicyHost.openRule(file, line)` when the host defines it.
 * With `edgeActions`, an edge whose calls the policies deny offers "Allow these calls" and one whose
 * calls they allow "Deny these calls" (`data-actions` on the edge, `button[data-fix]` in the panel):
 * a click dispatches `meshpolicy:fix` with `{source, destination, action}` and calls
 * `window.meshPolicyHost.fixEdge(source, destination, action)` when defined; the host applies a fix.
 * Self-contained: inline SVG, CSS and a small inline script, no external resource.
 */
export function renderTrafficMapHtml(model: AuditModel, options: HtmlOptions = {}): string {
  const layout = layoutMap(model);
  const title = options.title ?? 'Traffic map';
  const edges = model.map.edges;
  const svgEdges = edges.map((e, i) => {
    const a = layout.nodes.get(e.source)!;
    const b = layout.nodes.get(e.destination)!;
    const d = edgePath(a, b);
    const width = Math.min(8, 1 + Math.log10(e.calls + 1) * 1.6).toFixed(1);
    const color = STATE_COLORS[e.state]!;
    const actions = options.edgeActions ? edgeActions(e) : [];
    return `<g class="edge" data-edge="${i}" data-state="${e.state}"${actions.length ? ` data-actions="${actions.join(' ')}"` : ''} tabindex="0" role="button" aria-label="${esc(`${e.source} to ${e.destination}: ${e.calls} calls, ${STATE_TEXT[e.state]}`)}"><path d="${d}" class="hit"/><path d="${d}" class="line" stroke="${color}" stroke-width="${width}" marker-end="url(#arrow-${e.state})"/><title>${esc(`${e.source} → ${e.destination}: ${num(e.calls)} calls (${STATE_TEXT[e.state]})`)}</title></g>`;
  });
  const svgNodes = [...layout.nodes.values()].map((n) => `<g class="node" data-node="${esc(n.name)}" transform="translate(${n.x},${n.y})"><rect width="${NODE_W}" height="${NODE_H}" rx="6"/><text x="8" y="17">${esc(clip(n.name, 30))}</text><text x="8" y="31" class="sub">${esc(nodeCallsText(n))}</text><title>${esc(`${n.name}: ${nodeTitleText(n)}`)}</title></g>`);
  const markers = Object.entries(STATE_COLORS).map(([state, color]) => `<marker id="arrow-${state}" viewBox="0 0 10 10" refX="9" refY="5" markerUnits="userSpaceOnUse" markerWidth="11" markerHeight="11" orient="auto-start-reverse"><path d="M0,0L10,5L0,10z" fill="${color}"/></marker>`).join('');
  const legend = Object.entries(STATE_TEXT).map(([state, text]) => `<span><i style="background:${STATE_COLORS[state]}"></i>${esc(text)}</span>`).join('');
  const data = edges.map((e) => edgeData(e, options.edgeActions ? edgeActions(e) : []));
  const note = model.map.moreEdges ? `<p class="more">… ${num(model.map.moreEdges)} more edges (${num(model.map.callsNotShown)} calls) not shown: the busiest ${num(edges.length)} are drawn.</p>` : '';
  return `<!DOCTYPE html><html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width,initial-scale=1"><title>${esc(title)}</title><style${nonceAttr(options)}>${BASE_CSS}${MAP_CSS}</style></head><body>
<h1>${esc(title)}</h1><p class="muted">${num(model.totals.calls)} calls · ${num(edges.length + model.map.moreEdges)} caller→service pairs · click an edge for its calls and deciding rules</p>
<p class="legend muted">${legend}</p>
<div class="wrap"><div class="canvas"><svg id="map" width="${layout.width}" height="${layout.height}" viewBox="0 0 ${layout.width} ${layout.height}" role="img" aria-label="traffic map"><defs>${markers}</defs>${svgEdges.join('')}${svgNodes.join('')}</svg>${note}</div>
<aside id="details"><p class="muted">Select an edge.</p></aside></div>
<script type="application/json" id="edges">${scriptJson(data)}</script>
<script${nonceAttr(options)}>${MAP_SCRIPT}</script>
</body></html>`;
}

const NODE_W = 190;
const NODE_H = 40;
const COL_GAP = 130;
const ROW_GAP = 14;

interface PlacedNode extends MapNode {
  x: number;
  y: number;
}

/** Callers on the left, services that also call in the middle, pure services on the right (the nodes of the edges drawn, as the model counts them). */
function layoutMap(model: AuditModel): { nodes: Map<string, PlacedNode>; width: number; height: number } {
  const columns: Record<MapNode['role'], MapNode[]> = { caller: [], both: [], service: [] };
  for (const n of mapNodes(model.map.edges)) columns[n.role].push(n);
  const order: MapNode['role'][] = (['caller', 'both', 'service'] as const).filter((c) => columns[c].length > 0);
  const nodes = new Map<string, PlacedNode>();
  let tallest = 0;
  order.forEach((column, ci) => {
    const list = columns[column].slice().sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
    list.forEach((n, ri) => nodes.set(n.name, { ...n, x: 20 + ci * (NODE_W + COL_GAP), y: 20 + ri * (NODE_H + ROW_GAP) }));
    tallest = Math.max(tallest, list.length);
  });
  return { nodes, width: Math.max(400, 40 + order.length * NODE_W + (order.length - 1) * COL_GAP + 60), height: Math.max(120, 40 + tallest * (NODE_H + ROW_GAP)) };
}

/** A node's tooltip: calls in and out, and how many calls it takes part in when both (a call to itself counted once). */
function nodeTitleText(n: MapNode): string {
  return `${num(n.callsIn)} calls in, ${num(n.callsOut)} calls out${n.callsIn && n.callsOut ? `, ${num(n.calls)} calls in all` : ''}`;
}

/** What a node's second line says: the calls it receives and makes, never their sum. */
export function nodeCallsText(n: Pick<MapNode, 'callsIn' | 'callsOut'>): string {
  const parts: string[] = [];
  if (n.callsIn) parts.push(`${num(n.callsIn)} in`);
  if (n.callsOut) parts.push(`${num(n.callsOut)} out`);
  return `calls: ${parts.join(' · ')}`;
}

function edgePath(a: PlacedNode, b: PlacedNode): string {
  if (a === b) {
    const x = a.x + NODE_W;
    const y = a.y + NODE_H / 2;
    return `M${x},${y - 8} C${x + 60},${y - 40} ${x + 60},${y + 40} ${x + 4},${y + 10}`;
  }
  if (a.x === b.x) {
    // same column: bow out to the right
    const x = a.x + NODE_W;
    const y1 = a.y + NODE_H / 2;
    const y2 = b.y + NODE_H / 2;
    const bow = 50 + Math.min(100, Math.abs(y2 - y1) / 4);
    return `M${x},${y1} C${x + bow},${y1} ${x + bow},${y2} ${x + 4},${y2}`;
  }
  const forward = b.x > a.x;
  const x1 = forward ? a.x + NODE_W : a.x;
  const x2 = forward ? b.x - 4 : b.x + NODE_W + 4;
  const y1 = a.y + NODE_H / 2;
  const y2 = b.y + NODE_H / 2;
  const mid = (x1 + x2) / 2;
  return `M${x1},${y1} C${mid},${y1} ${mid},${y2} ${x2},${y2}`;
}

/** Allow when the policies deny some of the edge's calls, deny when they allow some. */
export function edgeActions(e: MapEdge): ('allow' | 'deny')[] {
  return [...(e.decision.deny > 0 ? ['allow' as const] : []), ...(e.decision.allow > 0 ? ['deny' as const] : [])];
}

function edgeData(e: MapEdge, actions: ('allow' | 'deny')[]): unknown {
  return {
    actions,
    source: e.source, destination: e.destination, state: e.state, stateText: STATE_TEXT[e.state], calls: e.calls,
    observed: e.observed, decision: e.decision, newlyDenied: e.newlyDenied, newlyAllowed: e.newlyAllowed,
    rows: e.rows.map((r) => ({ request: clip(r.request, 140), port: r.port, calls: r.calls, observed: r.observed, decision: r.decision, change: r.change, reason: clip(r.reason, 240), rule: r.rule, sample: r.sample })),
    moreRows: e.moreRows,
    rules: e.rules,
  };
}

const MAP_CSS = `
.wrap{display:flex;gap:16px;align-items:flex-start}
.canvas{flex:1 1 auto;overflow:auto;border:1px solid var(--line);border-radius:6px;max-height:80vh}
aside{flex:0 0 380px;max-height:80vh;overflow:auto;border:1px solid var(--line);border-radius:6px;padding:8px 12px;background:var(--card)}
.node rect{fill:var(--card);stroke:var(--line)}.node text.sub{fill:var(--muted);font-size:10px}
.edge .line{fill:none;opacity:.85}.edge .hit{fill:none;stroke:transparent;stroke-width:14;cursor:pointer}
.edge:hover .line,.edge.selected .line{opacity:1;filter:drop-shadow(0 0 2px var(--accent))}
.edge.selected .line{stroke-dasharray:6 3}
.legend span{margin-right:14px;white-space:nowrap}.legend i{display:inline-block;width:10px;height:10px;margin-right:4px;vertical-align:middle}
aside .actions button{margin:0 6px 6px 0;cursor:pointer}aside .pending{font-style:italic}
aside table{width:100%;font-size:12px}aside td,aside th{padding:2px 5px}aside code{word-break:break-all}aside a.rule{color:var(--accent);cursor:pointer}
@media (max-width:1100px){.wrap{flex-direction:column}aside{flex-basis:auto;width:100%}}
`;

/** Builds the details panel with DOM calls only (no HTML parsing of the data). */
const MAP_SCRIPT = `
(function(){
  var edges = JSON.parse(document.getElementById('edges').textContent);
  var panel = document.getElementById('details');
  function el(tag, text, cls){ var e = document.createElement(tag); if (text !== undefined) e.textContent = String(text); if (cls) e.className = cls; return e; }
  function openRule(file, line){
    document.dispatchEvent(new CustomEvent('meshpolicy:open', { detail: { file: file, line: line } }));
    if (window.meshPolicyHost && typeof window.meshPolicyHost.openRule === 'function') window.meshPolicyHost.openRule(file, line);
  }
  var ACTION_TEXT = { allow: 'Allow these calls', deny: 'Deny these calls' };
  function fixButton(e, kind){
    var b = el('button', ACTION_TEXT[kind], 'fix'); b.type = 'button';
    b.setAttribute('data-fix', kind); b.setAttribute('data-source', e.source); b.setAttribute('data-destination', e.destination);
    b.title = kind === 'allow' ? 'Offers the fixes that make the policies allow the denied calls of this edge' : 'Offers the fixes that make the policies deny the allowed calls of this edge';
    b.addEventListener('click', function(){
      var detail = { source: e.source, destination: e.destination, action: kind };
      document.dispatchEvent(new CustomEvent('meshpolicy:fix', { detail: detail }));
      if (window.meshPolicyHost && typeof window.meshPolicyHost.fixEdge === 'function') window.meshPolicyHost.fixEdge(e.source, e.destination, kind);
    });
    return b;
  }
  function ruleLink(rule){
    var a = el('a', rule.label, 'rule'); a.href = '#'; a.setAttribute('data-file', rule.file); a.setAttribute('data-line', String(rule.line));
    a.title = rule.file + ':' + rule.line;
    a.addEventListener('click', function(ev){ ev.preventDefault(); openRule(rule.file, rule.line); });
    return a;
  }
  function show(i){
    var e = edges[i]; if (!e) return;
    Array.prototype.forEach.call(document.querySelectorAll('.edge.selected'), function(g){ g.classList.remove('selected'); });
    var g = document.querySelector('.edge[data-edge="' + i + '"]'); if (g) g.classList.add('selected');
    panel.textContent = '';
    panel.setAttribute('data-selected', String(i));
    panel.appendChild(el('h3', e.source + ' \\u2192 ' + e.destination));
    panel.appendChild(el('p', e.calls.toLocaleString('en-US') + ' calls \\u00b7 ' + e.stateText, 'muted'));
    panel.appendChild(el('p', 'observed: ' + e.observed.allowed + ' allowed, ' + e.observed.denied + ' denied, ' + e.observed.unknown + ' unknown \\u00b7 policies: ' + e.decision.allow + ' allow, ' + e.decision.deny + ' deny' + (e.decision.unknown ? ', ' + e.decision.unknown + ' unknown' : '') + (e.decision.external ? ', ' + e.decision.external + ' external' : '')));
    if (e.actions.length) { var actions = el('p', undefined, 'actions'); e.actions.forEach(function(a){ actions.appendChild(fixButton(e, a)); }); panel.appendChild(actions); }
    panel.appendChild(el('h3', 'Deciding rules'));
    if (!e.rules.length) panel.appendChild(el('p', 'No policy decided these calls (mesh default).', 'muted'));
    var ul = el('ul'); e.rules.forEach(function(r){ var li = el('li'); li.appendChild(ruleLink(r)); li.appendChild(el('span', ' ' + r.calls.toLocaleString('en-US') + ' calls', 'muted')); ul.appendChild(li); }); panel.appendChild(ul);
    panel.appendChild(el('h3', 'Calls'));
    var table = el('table'); var head = el('tr'); ['request','calls','observed','policies','rule'].forEach(function(h){ head.appendChild(el('th', h)); }); table.appendChild(head);
    e.rows.forEach(function(r){
      var tr = el('tr'); tr.className = 'call';
      var req = el('td'); req.appendChild(el('code', r.request + (r.port !== undefined ? ' :' + r.port : ''))); tr.appendChild(req);
      tr.appendChild(el('td', r.calls.toLocaleString('en-US'), 'n'));
      tr.appendChild(el('td', r.observed));
      tr.appendChild(el('td', r.decision + (r.change === 'newly-denied' || r.change === 'newly-allowed' ? ' (' + r.change + ')' : '')));
      var rc = el('td'); if (r.rule) rc.appendChild(ruleLink(r.rule)); else rc.appendChild(el('span', 'mesh default', 'muted')); tr.appendChild(rc);
      tr.title = r.reason + (r.sample ? ' [' + r.sample + ']' : '');
      table.appendChild(tr);
    });
    panel.appendChild(table);
    if (e.moreRows) panel.appendChild(el('p', '\\u2026 ' + e.moreRows + ' more kinds of call', 'more'));
  }
  Array.prototype.forEach.call(document.querySelectorAll('.edge'), function(g){
    var i = Number(g.getAttribute('data-edge'));
    g.addEventListener('click', function(){ show(i); });
    g.addEventListener('keydown', function(ev){ if (ev.key === 'Enter' || ev.key === ' ') { ev.preventDefault(); show(i); } });
  });
})();
`;

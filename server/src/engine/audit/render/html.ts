import type { AuditModel, AuditRef, CallRow, Capped, FlowCounts, Ranked } from '../model';
import { BASE_CSS, clip, esc, nonceAttr, num, pct, STATE_COLORS, type HtmlOptions } from './common';

/**
 * The audit report as one self-contained HTML file: inline CSS, inline SVG charts, no script,
 * no external resource. Its size is bounded by the model's caps, not by the traffic.
 */
export function renderReportHtml(model: AuditModel, options: HtmlOptions = {}): string {
  const t = model.totals;
  const title = options.title ?? 'Mesh policy audit';
  const parts: string[] = [];
  parts.push(`<!DOCTYPE html><html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width,initial-scale=1"><title>${esc(title)}</title><style${nonceAttr(options)}>${BASE_CSS}${REPORT_CSS}</style></head><body>`);
  parts.push(`<h1>${esc(title)}</h1><p class="muted">${esc(windowText(model))}${model.meshes.length ? ` · ${esc(model.meshes.join(', '))}` : ''}${model.generatedAt ? ` · generated ${esc(model.generatedAt)}` : ''}</p>`);
  parts.push(`<nav class="toc">${SECTIONS.filter(([id]) => (id !== 'dry-run' || model.dryRun.length) && (id !== 'authentication' || model.authentication.length) && (id !== 'not-in-effect' || model.notInEffect.length) && (id !== 'absent-deniers' || model.absentDeniers.rows.length)).map(([id, name]) => `<a href="#${id}">${esc(name)}</a>`).join(' · ')}</nav>`);
  parts.push('<div class="cards" id="totals">');
  const card = (label: string, value: number, extra = '', id = ''): string => `<div class="card"${id ? ` data-total="${id}"` : ''}><b>${num(value)}</b>${esc(label)}${extra ? ` <span class="muted">${esc(extra)}</span>` : ''}</div>`;
  parts.push(card('calls', t.calls, `${num(t.shapes)} kinds`, 'calls'));
  parts.push(card('observed allowed', t.observed.allowed, pct(t.observed.allowed, t.calls), 'observed-allowed'));
  parts.push(card('observed denied', t.observed.denied, pct(t.observed.denied, t.calls), 'observed-denied'));
  parts.push(card('allowed by the policies', t.decision.allow, pct(t.decision.allow, t.calls), 'allow'));
  parts.push(card('denied by the policies', t.decision.deny, pct(t.decision.deny, t.calls), 'deny'));
  parts.push(card('newly denied', t.newlyDenied, 'observed allowed', 'newly-denied'));
  parts.push(card('newly allowed', t.newlyAllowed, 'observed denied', 'newly-allowed'));
  if (t.decision.unknown) parts.push(card('undecidable', t.decision.unknown, 'missing attributes', 'unknown'));
  if (t.decision.external) parts.push(card('external', t.decision.external, 'CUSTOM provider', 'external'));
  parts.push('</div>');
  parts.push(`<p class="muted">${num(t.lines)} log lines read: ${num(t.parsed)} parsed, ${num(t.skipped)} skipped${Object.keys(t.skippedByReason).length ? ` (${esc(Object.entries(t.skippedByReason).sort((a, b) => b[1] - a[1]).map(([r, n]) => `${r}: ${num(n)}`).join('; '))})` : ''}.</p>`);

  parts.push(section('trends', 'Trends', trendChart(model)));
  parts.push(section('matrix', 'Traffic matrix', matrixTable(model)));
  parts.push(section('violations', 'Violations',
    `<h3>Observed denials</h3>${callTable(model.violations.observedDenied, 'observed-denied', 'No call was denied in the logs.')}`
    + `<h3>Calls the current policies would newly deny</h3>${callTable(model.violations.newlyDenied, 'newly-denied', 'The policies deny no call that the logs show succeeded.')}`
    + `<h3>Calls the current policies would newly allow</h3>${callTable(model.violations.newlyAllowed, 'newly-allowed', 'The policies allow no call that the logs show was denied.')}`));
  parts.push(section('top', 'Most-accessed services and busiest callers',
    `<div class="two"><div><h3>Services</h3>${rankedBlock(model.topServices, 'callers', 'top-services')}</div><div><h3>Callers</h3>${rankedBlock(model.topCallers, 'services', 'top-callers')}</div></div>`));
  parts.push(section('uncovered', 'Workloads receiving traffic with no policy', uncoveredTable(model)));
  if (model.notInEffect.length) parts.push(section('not-in-effect', 'Not in effect', notInEffectTable(model)));
  if (model.absentDeniers.rows.length) parts.push(section('absent-deniers', 'Denials by resources the workspace does not have', absentDeniersTable(model)));
  parts.push(section('unused', 'Unused rules', unusedTable(model)));
  if (model.unusedAccess) parts.push(section('unused-access', 'Access granted and never used', unusedAccessTable(model.unusedAccess)));
  if (model.authentication.length) parts.push(section('authentication', 'Authentication', authenticationTable(model)));
  if (model.dryRun.length) parts.push(section('dry-run', 'Dry-run policies', dryRunTable(model)));
  parts.push(section('risks', 'Risky patterns', risksTable(model)));
  parts.push('<p class="muted foot">Header values that carry credentials (authorization, cookie, set-cookie, x-api-key, proxy-authorization) are never shown. Lists show the busiest entries; “more” lines count the rest.</p>');
  parts.push('</body></html>');
  return parts.join('\n');
}

const SECTIONS: [string, string][] = [['trends', 'Trends'], ['matrix', 'Matrix'], ['violations', 'Violations'], ['top', 'Top services and callers'], ['uncovered', 'No policy'], ['not-in-effect', 'Not in effect'], ['absent-deniers', 'Not in the workspace'], ['unused', 'Unused rules'], ['authentication', 'Authentication'], ['dry-run', 'Dry-run policies'], ['risks', 'Risky patterns']];

const REPORT_CSS = `
.toc{margin:8px 0;font-size:13px}.toc a{color:var(--accent);text-decoration:none}
.two{display:flex;flex-wrap:wrap;gap:24px}.two>div{flex:1 1 420px;min-width:0}
.matrix td{min-width:44px;text-align:right}.matrix th.rot{writing-mode:vertical-rl;transform:rotate(180deg);white-space:nowrap;max-height:180px}
.legend span{margin-right:14px}.legend i{display:inline-block;width:10px;height:10px;margin-right:4px;vertical-align:middle}
.scroll{overflow-x:auto}
table.calls td{white-space:nowrap}
`;

function section(id: string, title: string, body: string): string {
  return `<section id="${id}"><h2>${esc(title)}</h2>${body}</section>`;
}

export function windowText(model: AuditModel): string {
  const w = model.window;
  const range = w.firstCall ? `calls from ${w.firstCall} to ${w.lastCall}` : 'no timed calls';
  const filter = w.since || w.until ? ` (filtered: ${w.since ? `since ${w.since}` : ''}${w.since && w.until ? ', ' : ''}${w.until ? `until ${w.until}` : ''})` : '';
  return range + filter;
}

function more(n: number, what: string, colspan: number): string {
  return n > 0 ? `<tr><td class="more" colspan="${colspan}">… ${num(n)} more ${esc(what)}</td></tr>` : '';
}

function refText(ref: AuditRef | undefined): string {
  return ref ? `<code>${esc(clip(ref.label, 90))}</code> <span class="muted">${esc(clip(ref.file, 80))}:${ref.line}</span>` : '<span class="muted">no policy (mesh default)</span>';
}

function callTable(capped: Capped<CallRow>, kind: string, empty: string): string {
  if (capped.rows.length === 0) return `<p class="muted" data-empty="${kind}">${esc(empty)}</p>`;
  // the reason and a sample line are in the row's tooltip: the table stays one line per call kind
  const rows = capped.rows.map((r) => `<tr title="${esc(clip(r.reason, 300))}${r.sample ? ` [${esc(clip(r.sample, 120))}]` : ''}"><td>${esc(clip(r.source, 60))}</td><td>${esc(clip(r.destination, 50))}${r.port !== undefined ? `:${r.port}` : ''}</td><td><code>${esc(clip(r.request, 80))}</code>${r.status !== undefined ? ` <span class="muted">${r.status}</span>` : ''}</td><td class="n">${num(r.calls)}</td><td>${esc(r.decision)}</td><td>${refText(r.rule)}</td></tr>`);
  return `<p class="muted">${num(capped.calls)} calls in ${num(capped.rows.length + capped.more)} kinds of call. Hover a row for why and where.</p><div class="scroll"><table class="calls" data-table="${kind}"><thead><tr><th>caller</th><th>destination</th><th>request</th><th class="n">calls</th><th>policies say</th><th>deciding rule</th></tr></thead><tbody>${rows.join('')}${more(capped.more, 'kinds of call', 6)}</tbody></table></div>`;
}

function rankedBlock(capped: Capped<Ranked>, peers: string, kind: string): string {
  if (capped.rows.length === 0) return '<p class="muted">No calls.</p>';
  const max = capped.rows[0]!.calls || 1;
  const barHeight = 18;
  const width = 420;
  const labelWidth = 170;
  const bars = capped.rows.slice(0, 10).map((r, i) => {
    const y = i * (barHeight + 4);
    const w = Math.max(1, ((width - labelWidth - 60) * r.calls) / max);
    const denied = Math.min(w, ((width - labelWidth - 60) * r.observedDenied) / max);
    return `<text x="${labelWidth - 6}" y="${y + 13}" text-anchor="end">${esc(clip(r.name, 28))}</text><rect x="${labelWidth}" y="${y}" width="${w.toFixed(1)}" height="${barHeight}" fill="${STATE_COLORS['allowed']}"><title>${esc(r.name)}: ${num(r.calls)} calls, ${num(r.observedDenied)} observed denied</title></rect>${denied > 0 ? `<rect x="${labelWidth}" y="${y}" width="${denied.toFixed(1)}" height="${barHeight}" fill="${STATE_COLORS['denied']}"/>` : ''}<text x="${(labelWidth + w + 4).toFixed(1)}" y="${y + 13}">${num(r.calls)}</text>`;
  });
  const height = Math.min(10, capped.rows.length) * (barHeight + 4);
  const chart = `<svg class="bars" role="img" aria-label="${esc(kind)} by calls" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}">${bars.join('')}</svg>`;
  const rows = capped.rows.map((r) => `<tr><td>${esc(clip(r.name, 70))}</td><td class="n">${num(r.calls)}</td><td class="n">${num(r.peers)}</td><td class="n">${num(r.observedDenied)}</td><td class="n">${num(r.deniedNow)}</td><td class="n">${num(r.newlyDenied)}</td></tr>`);
  return `${chart}<table data-table="${kind}"><thead><tr><th>name</th><th class="n">calls</th><th class="n">${esc(peers)}</th><th class="n">observed denied</th><th class="n">policies deny</th><th class="n">newly denied</th></tr></thead><tbody>${rows.join('')}${more(capped.more, 'names', 6)}</tbody></table>`;
}

function cellColor(c: FlowCounts): string {
  if (c.newlyDenied > 0) return STATE_COLORS['newly-denied']!;
  if (c.newlyAllowed > 0) return STATE_COLORS['newly-allowed']!;
  if (c.observed.denied > 0 || c.decision.deny > 0) return STATE_COLORS['denied']!;
  return STATE_COLORS['allowed']!;
}

function matrixTable(model: AuditModel): string {
  const m = model.matrix;
  if (m.sources.length === 0) return '<p class="muted">No calls.</p>';
  const max = Math.max(1, ...m.cells.flat().map((c) => c?.calls ?? 0));
  const head = `<tr><th>caller \\ destination</th>${m.destinations.map((d) => `<th class="rot" title="${esc(d)}">${esc(clip(d, 32))}</th>`).join('')}</tr>`;
  const rows = m.sources.map((s, i) => `<tr><th title="${esc(s)}">${esc(clip(s, 48))}</th>${m.cells[i]!.map((c, j) => {
    if (!c) return '<td></td>';
    const alpha = (0.15 + 0.55 * Math.sqrt(c.calls / max)).toFixed(2);
    const tip = `${s} → ${m.destinations[j]}: ${c.calls} calls; observed ${c.observed.allowed} allowed, ${c.observed.denied} denied; policies ${c.decision.allow} allow, ${c.decision.deny} deny; ${c.newlyDenied} newly denied, ${c.newlyAllowed} newly allowed`;
    return `<td data-cell="${esc(s)}→${esc(m.destinations[j]!)}" title="${esc(tip)}" style="background:${cellColor(c)}${Math.round(Number(alpha) * 255).toString(16).padStart(2, '0')}">${num(c.calls)}${c.observed.denied ? `<br><small>${num(c.observed.denied)}✗</small>` : ''}</td>`;
  }).join('')}</tr>`);
  const legend = `<p class="legend muted"><span><i style="background:${STATE_COLORS['allowed']}"></i>allowed</span><span><i style="background:${STATE_COLORS['denied']}"></i>some denied (✗ = observed denied calls)</span><span><i style="background:${STATE_COLORS['newly-denied']}"></i>some newly denied</span><span><i style="background:${STATE_COLORS['newly-allowed']}"></i>some newly allowed</span></p>`;
  const note = m.moreSources || m.moreDestinations ? `<p class="more">… ${num(m.moreSources)} more callers and ${num(m.moreDestinations)} more destinations (${num(m.callsNotShown)} calls) not shown.</p>` : '';
  return `${legend}<div class="scroll"><table class="matrix" data-table="matrix"><thead>${head}</thead><tbody>${rows.join('')}</tbody></table></div>${note}`;
}

function trendChart(model: AuditModel): string {
  const tr = model.trends;
  if (tr.points.length === 0) return '<p class="muted">No timed calls.</p>';
  const width = 860;
  const height = 200;
  const left = 56;
  const bottom = 36;
  const plotW = width - left - 10;
  const plotH = height - bottom - 10;
  const max = Math.max(1, ...tr.points.map((p) => p.calls));
  const step = Math.min(60, plotW / tr.points.length);
  const barW = Math.max(1, step * 0.8);
  const y = (v: number) => 10 + plotH - (plotH * v) / max;
  const bars = tr.points.map((p, i) => {
    const x = left + i * step;
    const tip = `${p.start}: ${p.calls} calls, ${p.observedDenied} observed denied, ${p.deniedNow} denied by the policies, ${p.newlyDenied} newly denied`;
    return `<g data-point="${esc(p.start)}"><title>${esc(tip)}</title><rect x="${x.toFixed(1)}" y="${y(p.calls).toFixed(1)}" width="${barW.toFixed(1)}" height="${(10 + plotH - y(p.calls)).toFixed(1)}" fill="${STATE_COLORS['allowed']}" opacity="0.75"/>${p.observedDenied ? `<rect x="${x.toFixed(1)}" y="${y(p.observedDenied).toFixed(1)}" width="${barW.toFixed(1)}" height="${(10 + plotH - y(p.observedDenied)).toFixed(1)}" fill="${STATE_COLORS['denied']}"/>` : ''}</g>`;
  });
  const line = tr.points.map((p, i) => `${(left + i * step + barW / 2).toFixed(1)},${y(p.deniedNow).toFixed(1)}`).join(' ');
  const dots = tr.points.map((p, i) => `<circle cx="${(left + i * step + barW / 2).toFixed(1)}" cy="${y(p.deniedNow).toFixed(1)}" r="3" fill="${STATE_COLORS['newly-denied']}"/>`).join('');
  const ticks = [0, 0.5, 1].map((f) => `<text x="${left - 6}" y="${(y(max * f) + 4).toFixed(1)}" text-anchor="end">${num(Math.round(max * f))}</text><line x1="${left}" x2="${width - 10}" y1="${y(max * f).toFixed(1)}" y2="${y(max * f).toFixed(1)}" stroke="currentColor" opacity="0.15"/>`);
  const labelEvery = Math.max(1, Math.ceil(tr.points.length / 8));
  const labels = tr.points.map((p, i) => (i % labelEvery === 0 ? `<text x="${(left + i * step).toFixed(1)}" y="${height - 18}">${esc(tr.bucket === 'day' ? p.start.slice(0, 10) : p.start.slice(5, 16).replace('T', ' '))}</text>` : '')).join('');
  const svg = `<svg class="trend" role="img" aria-label="calls and denials per ${tr.bucket}" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}">${ticks.join('')}${bars.join('')}<polyline points="${line}" fill="none" stroke="${STATE_COLORS['newly-denied']}" stroke-width="2"/>${dots}${labels}</svg>`;
  const notes: string[] = [`Per ${tr.bucket} (UTC).`];
  if (!tr.exact) notes.push('The traffic was read without per-hour counts: each kind of call is counted at its first time.');
  if (tr.untimedCalls) notes.push(`${num(tr.untimedCalls)} calls have no time and are not shown.`);
  if (tr.pointsDropped) notes.push(`${num(tr.pointsDropped)} earlier ${tr.bucket}s not shown.`);
  const legend = `<p class="legend muted"><span><i style="background:${STATE_COLORS['allowed']}"></i>calls</span><span><i style="background:${STATE_COLORS['denied']}"></i>observed denied</span><span><i style="background:${STATE_COLORS['newly-denied']}"></i>line: denied by the current policies</span></p>`;
  return `${legend}<div class="scroll">${svg}</div><p class="muted">${esc(notes.join(' '))}</p>`;
}

function uncoveredTable(model: AuditModel): string {
  const u = model.uncovered;
  if (u.rows.length === 0) return '<p class="muted" data-empty="uncovered">Every call was decided by a policy.</p>';
  const rows = u.rows.map((r) => `<tr><td>${esc(clip(r.destination, 70))}</td><td>${esc(r.mesh)}</td><td class="n">${num(r.calls)}</td><td class="n">${num(r.callers)}</td><td class="n">${num(r.allowedNow)}</td><td class="n">${num(r.deniedNow)}</td><td class="muted">${esc(clip(r.reason, 160))}</td></tr>`);
  return `<p class="muted">Calls decided by the mesh's default, not by any policy: ${num(u.calls)}. <code>mesh-policy generate</code> writes least-privilege policies for them.</p><table data-table="uncovered"><thead><tr><th>workload</th><th>mesh</th><th class="n">calls</th><th class="n">callers</th><th class="n">allowed</th><th class="n">denied</th><th>default</th></tr></thead><tbody>${rows.join('')}${more(u.more, 'workloads', 7)}</tbody></table>`;
}

function absentDeniersTable(model: AuditModel): string {
  const a = model.absentDeniers;
  const rows = a.rows.map((d) => `<tr><td><code>${esc(clip(`${d.kind} ${d.namespace}/${d.name}`, 110))}</code></td><td>${esc(d.mesh)}</td><td class="n">${num(d.calls)}</td><td>${d.sample ? `<code>${esc(clip(d.sample.file, 90))}:${d.sample.line}</code>` : ''}</td></tr>`);
  return `<p class="muted">The logs name these as what denied ${num(a.calls)} ${a.calls === 1 ? 'call' : 'calls'}, and the workspace has no such resource: the cluster enforces (or enforced) a policy the repository lacks, so the simulation of those calls may not be what the mesh does.</p><table data-table="absent-deniers"><thead><tr><th>resource</th><th>mesh</th><th>denied calls</th><th>log line</th></tr></thead><tbody>${rows.join('')}${more(a.more, 'resources', 4)}</tbody></table>`;
}

function notInEffectTable(model: AuditModel): string {
  if (!model.notInEffect.length) return '';
  const rows = model.notInEffect.map((r) => `<tr><td><code>${esc(clip(r.label, 110))}</code></td><td>${esc(r.mesh)}</td><td>${esc(clip(r.reason, 300))}</td><td><code>${esc(clip(r.file, 90))}:${r.line}</code></td></tr>`);
  return `<p class="muted">${num(model.notInEffect.length)} ${model.notInEffect.length === 1 ? 'resource' : 'resources'} the mesh refuses to store: ${model.notInEffect.length === 1 ? 'it decides' : 'they decide'} nothing (the cluster keeps what it had before), so ${model.notInEffect.length === 1 ? 'its rules are' : 'their rules are'} not counted as unused.</p><table data-table="not-in-effect"><thead><tr><th>resource</th><th>mesh</th><th>why</th><th>where</th></tr></thead><tbody>${rows.join('')}</tbody></table>`;
}

function unusedTable(model: AuditModel): string {
  const u = model.unusedRules;
  if (u.of === 0) return '<p class="muted">No policies were given.</p>';
  if (u.total === 0) return `<p class="muted" data-empty="unused">All ${num(u.of)} rules decided some observed call.</p>`;
  const rows = u.rows.map((r) => `<tr><td><code>${esc(clip(r.label, 110))}</code></td><td>${esc(r.mesh)}</td><td><code>${esc(clip(r.file, 90))}:${r.line}</code></td></tr>`);
  return `<p class="muted">${num(u.total)} of ${num(u.of)} rules decided no observed call (in the time window). They may be dead, or cover traffic the logs do not show.</p><table data-table="unused"><thead><tr><th>rule</th><th>mesh</th><th>where</th></tr></thead><tbody>${rows.join('')}${more(u.more, 'rules', 3)}</tbody></table>${ambiguousTable(model)}`;
}

function unusedAccessTable(u: NonNullable<AuditModel['unusedAccess']>): string {
  if (u.total === 0) return `<p class="muted" data-empty="unused-access">Every one of the ${num(u.allowed)} caller → port pairs the policies allow was used by some observed call.</p>`;
  const rows = u.rows.map((r) => `<tr><td>${esc(r.caller === '-' ? '- (no identity)' : r.caller)}</td><td>${esc(clip(r.destination, 70))}</td><td>${esc(r.mesh)}</td><td class="muted">${esc(clip(r.why, 160))}</td><td>${r.at ? `<code>${esc(clip(r.at.file, 90))}:${r.at.line}</code>` : ''}</td></tr>`);
  return `<p class="muted">${num(u.total)} of the ${num(u.allowed)} caller → port pairs the policies allow, whatever the request, saw no call in the logs (docs/access-map.md). They are the first candidates for least privilege, unless the logs miss a period or a caller.</p><table data-table="unused-access"><thead><tr><th>caller</th><th>destination</th><th>mesh</th><th>allowed by</th><th>where</th></tr></thead><tbody>${rows.join('')}${more(u.more, 'pairs', 5)}</tbody></table>`;
}

function ambiguousTable(model: AuditModel): string {
  const a = model.ambiguousRules;
  if (a.total === 0) return '';
  const rows = a.rows.map((r) => `<tr><td><code>${esc(clip(r.label, 110))}</code></td><td>${esc(r.mesh)}</td><td class="n">${num(r.calls)}</td><td><code>${esc(clip(r.file, 90))}:${r.line}</code></td></tr>`);
  return `<p class="muted">${num(a.total)} more rules decide only calls whose verdict is ambiguous (unknown: it depends on which of the alternatives applies, e.g. which of two differing definitions of the same intentions Consul holds). They are not unused: they decide those calls in at least one alternative.</p><table data-table="ambiguous"><thead><tr><th>rule</th><th>mesh</th><th class="n">calls</th><th>where</th></tr></thead><tbody>${rows.join('')}${more(a.more, 'rules', 4)}</tbody></table>`;
}

/** What the authentication section says of PeerAuthentications and RequestAuthentications (the Markdown report too). */
export const AUTHENTICATION_NOTE = 'PeerAuthentications and RequestAuthentications allow nothing and decide by no rule, so they are never unused rules. A STRICT mode refuses a plaintext call (the connection fails, before any authorization); a RequestAuthentication refuses an invalid token (401) and lets a request without one through. "Governs": calls whose mTLS mode it sets or passes on, or whose token it checks.';

function authenticationTable(model: AuditModel): string {
  const rows = model.authentication.map((a) => `<tr><td><code>${esc(clip(a.label, 110))}</code></td><td class="n">${num(a.governs)}</td><td class="n">${num(a.refused)}</td><td>${esc(clip(a.text, 300))}</td><td><code>${esc(clip(a.file, 90))}:${a.line}</code></td></tr>`);
  return `<p class="muted">${esc(AUTHENTICATION_NOTE)}</p><table data-table="authentication"><thead><tr><th>resource</th><th class="n">governs</th><th class="n">refused</th><th>what it did</th><th>where</th></tr></thead><tbody>${rows.join('')}</tbody></table>`;
}

function dryRunTable(model: AuditModel): string {
  const rows = model.dryRun.map((d) => `<tr><td><code>${esc(clip(d.label, 110))}</code></td><td>${d.engine.toUpperCase()}</td><td class="n">${num(d.calls)}</td><td class="n">${num(d.wouldDeny)}</td><td class="n">${num(d.wouldNewlyDeny)}</td><td class="n">${num(d.loggedOtherwise)}</td><td><code>${esc(clip(d.file, 90))}:${d.line}</code></td></tr>`);
  return `<p class="muted">Dry-run policies (<code>istio.io/dry-run</code>) decide no call; this is what each would deny if enforced (a dry-run ALLOW policy: what the dry-run ALLOW policies alone would deny), and how many calls the proxy logged another dry-run result for.</p><table data-table="dry-run"><thead><tr><th>policy</th><th>action</th><th class="n">calls</th><th class="n">would deny</th><th class="n">of them now allowed</th><th class="n">logged otherwise</th><th>where</th></tr></thead><tbody>${rows.join('')}</tbody></table>`;
}

function risksTable(model: AuditModel): string {
  const r = model.risks;
  if (r.rows.length === 0) return '<p class="muted" data-empty="risks">No wildcard, allow-all or plaintext pattern found.</p>';
  const color: Record<string, string> = { 'allow-all': STATE_COLORS['denied']!, plaintext: STATE_COLORS['newly-denied']!, wildcard: STATE_COLORS['mixed']! };
  const rows = r.rows.map((x) => `<tr><td><span class="tag" style="background:${color[x.kind]}">${esc(x.kind)}</span></td><td>${esc(x.mesh)}</td><td>${esc(clip(x.message, 300))}</td><td>${x.at ? `<code>${esc(clip(x.at.file, 90))}:${x.at.line}</code>` : x.calls !== undefined ? `${num(x.calls)} calls` : ''}</td></tr>`);
  return `<p class="muted">${num(r.byKind['allow-all'])} allow-all, ${num(r.byKind.wildcard)} wildcard, ${num(r.byKind.plaintext)} plaintext.</p><table data-table="risks"><thead><tr><th>kind</th><th>mesh</th><th>what</th><th>where</th></tr></thead><tbody>${rows.join('')}${more(r.more, 'findings', 4)}</tbody></table>`;
}

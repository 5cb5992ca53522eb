import type { AuditModel, CallRow, Capped, Ranked } from '../model';
import { clip, num, pct } from './common';
import { AUTHENTICATION_NOTE, windowText } from './html';

/** GitHub refuses comments over 65,536 characters; stay well below. */
export const MARKDOWN_LIMIT = 60_000;
const ROWS = 10;

/**
 * Text in a table cell, read as text: a caller, path or reason from the logs cannot add a link,
 * an image, an HTML tag or emphasis to a pull-request comment. Every ASCII punctuation character
 * may be backslash-escaped in Markdown; these are the ones that start markup.
 */
function cell(text: string, max = 60): string {
  return clip(text, max).replace(/[\r\n]+/g, ' ').replace(/[\\`*_[\]<>|&!~$]/g, (c) => `\\${c}`);
}

/**
 * Text inside a code span of a table cell: a backslash is literal there, so only the pipe (which
 * the table reads first) is escaped, and a backtick, which would close the span, replaced.
 */
function code(text: string, max = 60): string {
  return clip(text, max).replace(/[\r\n]+/g, ' ').replace(/\|/g, '\\|').replace(/`/g, "'");
}

function more(n: number, what: string): string {
  return n > 0 ? `\n_… ${num(n)} more ${what}._\n` : '\n';
}

function callRows(title: string, capped: Capped<CallRow>, empty: string): string {
  if (capped.rows.length === 0) return `**${title}:** ${empty}\n`;
  const rows = capped.rows.slice(0, ROWS).map((r) => `| ${cell(r.source, 48)} | ${cell(r.destination, 40)}${r.port !== undefined ? `:${r.port}` : ''} | \`${code(r.request, 50)}\` | ${num(r.calls)} | ${r.rule ? `\`${code(r.rule.label, 80)}\` (${cell(r.rule.file, 80)}:${r.rule.line})` : 'mesh default'} |`);
  return `**${title}** (${num(capped.calls)} calls)\n\n| caller | destination | request | calls | deciding rule |\n|---|---|---|--:|---|\n${rows.join('\n')}${more(capped.more + Math.max(0, capped.rows.length - ROWS), 'kinds of call')}`;
}

function rankedRows(title: string, capped: Capped<Ranked>, peers: string): string {
  if (capped.rows.length === 0) return '';
  const rows = capped.rows.slice(0, ROWS).map((r) => `| ${cell(r.name, 56)} | ${num(r.calls)} | ${num(r.peers)} | ${num(r.observedDenied)} | ${num(r.deniedNow)} |`);
  return `**${title}**\n\n| name | calls | ${peers} | observed denied | policies deny |\n|---|--:|--:|--:|--:|\n${rows.join('\n')}${more(capped.more + Math.max(0, capped.rows.length - ROWS), 'names')}`;
}

/** The audit as Markdown that fits a pull-request comment: compact tables, top 10 of each. */
export function renderReportMarkdown(model: AuditModel): string {
  const t = model.totals;
  const out: string[] = [];
  out.push(`## Mesh policy audit\n\n${windowText(model)}${model.meshes.length ? ` · ${model.meshes.join(', ')}` : ''}\n`);
  out.push(`| calls | observed allowed | observed denied | policies allow | policies deny | newly denied | newly allowed | undecidable |\n|--:|--:|--:|--:|--:|--:|--:|--:|\n| ${num(t.calls)} | ${num(t.observed.allowed)} | ${num(t.observed.denied)} | ${num(t.decision.allow)} | ${num(t.decision.deny)} | ${num(t.newlyDenied)} | ${num(t.newlyAllowed)} | ${num(t.decision.unknown)} |\n`);
  out.push(`${num(t.lines)} log lines: ${num(t.parsed)} parsed, ${num(t.skipped)} skipped.\n`);
  const peak = model.trends.points.reduce<(typeof model.trends.points)[number] | undefined>((best, p) => (!best || p.observedDenied > best.observedDenied ? p : best), undefined);
  if (peak && peak.observedDenied > 0) out.push(`Busiest ${model.trends.bucket} for denials: ${peak.start} (${num(peak.observedDenied)} of ${num(peak.calls)} calls denied, ${pct(peak.observedDenied, peak.calls)}).\n`);
  out.push('### Violations\n');
  out.push(callRows('Calls the current policies would newly deny', model.violations.newlyDenied, 'none.'));
  out.push(callRows('Observed denials', model.violations.observedDenied, 'none.'));
  if (model.violations.newlyAllowed.rows.length) out.push(callRows('Calls the current policies would newly allow', model.violations.newlyAllowed, 'none.'));
  if (model.topServices.rows.length) {
    out.push('### Traffic\n');
    out.push(rankedRows('Most-accessed services', model.topServices, 'callers'));
    out.push(rankedRows('Busiest callers', model.topCallers, 'services'));
  }
  if (model.uncovered.rows.length) {
    const rows = model.uncovered.rows.slice(0, ROWS).map((u) => `| ${cell(u.destination, 56)} | ${u.mesh} | ${num(u.calls)} | ${num(u.callers)} |`);
    out.push(`**Workloads receiving traffic with no policy** (mesh default decides)\n\n| workload | mesh | calls | callers |\n|---|---|--:|--:|\n${rows.join('\n')}${more(model.uncovered.more + Math.max(0, model.uncovered.rows.length - ROWS), 'workloads')}`);
  }
  if (model.notInEffect.length) {
    const rows = model.notInEffect.slice(0, ROWS).map((r) => `| \`${code(r.label, 80)}\` | ${r.mesh} | ${cell(r.reason, 200)} | ${cell(r.file, 60)}:${r.line} |`);
    out.push(`**Not in effect:** ${num(model.notInEffect.length)} ${model.notInEffect.length === 1 ? 'resource' : 'resources'} the mesh refuses to store, so ${model.notInEffect.length === 1 ? 'it decides' : 'they decide'} nothing (the cluster keeps what it had before).\n\n| resource | mesh | why | where |\n|---|---|---|---|\n${rows.join('\n')}${more(model.notInEffect.length - Math.min(ROWS, model.notInEffect.length), 'resources')}`);
  }
  const absent = model.absentDeniers;
  if (absent.rows.length) {
    const rows = absent.rows.slice(0, ROWS).map((d) => `| \`${cell(`${d.kind} ${d.namespace}/${d.name}`, 80)}\` | ${d.mesh} | ${num(d.calls)} | ${d.sample ? `${cell(d.sample.file, 60)}:${d.sample.line}` : ''} |`);
    out.push(`**Denials by resources the workspace does not have:** the logs name these as what denied ${num(absent.calls)} ${absent.calls === 1 ? 'call' : 'calls'}; the cluster enforces (or enforced) a policy the repository lacks.\n\n| resource | mesh | denied calls | log line |\n|---|---|--:|---|\n${rows.join('\n')}${more(absent.more + Math.max(0, absent.rows.length - ROWS), 'resources')}`);
  }
  const u = model.unusedRules;
  if (u.total) {
    const rows = u.rows.slice(0, ROWS).map((r) => `| \`${code(r.label, 80)}\` | ${cell(r.file, 60)}:${r.line} |`);
    out.push(`**Unused rules:** ${num(u.total)} of ${num(u.of)} decided no observed call.\n\n| rule | where |\n|---|---|\n${rows.join('\n')}${more(u.total - Math.min(ROWS, u.rows.length), 'rules')}`);
  }
  const ua = model.unusedAccess;
  if (ua?.total) {
    const rows = ua.rows.slice(0, ROWS).map((r) => `| ${cell(r.caller, 50)} | ${cell(r.destination, 56)} | ${r.mesh} | ${r.at ? `${cell(r.at.file, 60)}:${r.at.line}` : cell(r.why, 80)} |`);
    out.push(`**Access granted and never used:** ${num(ua.total)} of ${num(ua.allowed)} caller → port pairs the policies allow saw no call.\n\n| caller | destination | mesh | allowed by |\n|---|---|---|---|\n${rows.join('\n')}${more(ua.total - Math.min(ROWS, ua.rows.length), 'pairs')}`);
  }
  const a = model.ambiguousRules;
  if (a.total) {
    const rows = a.rows.slice(0, ROWS).map((r) => `| \`${code(r.label, 80)}\` | ${num(r.calls)} | ${cell(r.file, 60)}:${r.line} |`);
    out.push(`**Rules that decide only calls whose verdict is ambiguous:** ${num(a.total)} (not unused: they decide those calls in at least one alternative, e.g. one of two differing definitions).\n\n| rule | calls | where |\n|---|--:|---|\n${rows.join('\n')}${more(a.total - Math.min(ROWS, a.rows.length), 'rules')}`);
  }
  if (model.authentication.length) {
    const rows = model.authentication.slice(0, ROWS).map((a) => `| \`${code(a.label, 80)}\` | ${num(a.governs)} | ${num(a.refused)} | ${cell(a.text, 200)} | ${cell(a.file, 60)}:${a.line} |`);
    out.push(`**Authentication:** ${AUTHENTICATION_NOTE}\n\n| resource | governs | refused | what it did | where |\n|---|--:|--:|---|---|\n${rows.join('\n')}${more(model.authentication.length - Math.min(ROWS, model.authentication.length), 'resources')}`);
  }
  if (model.dryRun.length) {
    const rows = model.dryRun.slice(0, ROWS).map((d) => `| \`${code(d.label, 80)}\` | ${d.engine.toUpperCase()} | ${num(d.calls)} | ${num(d.wouldDeny)} | ${num(d.wouldNewlyDeny)} | ${num(d.loggedOtherwise)} | ${cell(d.file, 60)}:${d.line} |`);
    out.push(`**Dry-run policies** (not enforced): what each would deny. A dry-run ALLOW policy: what the dry-run ALLOW policies alone would deny.\n\n| policy | action | calls | would deny | of them now allowed | logged otherwise | where |\n|---|---|--:|--:|--:|--:|---|\n${rows.join('\n')}${more(model.dryRun.length - Math.min(ROWS, model.dryRun.length), 'policies')}`);
  }
  const r = model.risks;
  if (r.rows.length) {
    const rows = r.rows.slice(0, ROWS).map((x) => `| ${x.kind} | ${cell(x.message, 140)} | ${x.at ? `${cell(x.at.file, 60)}:${x.at.line}` : ''} |`);
    out.push(`**Risky patterns:** ${num(r.byKind['allow-all'])} allow-all, ${num(r.byKind.wildcard)} wildcard, ${num(r.byKind.plaintext)} plaintext.\n\n| kind | what | where |\n|---|---|---|\n${rows.join('\n')}${more(r.rows.length + r.more - Math.min(ROWS, r.rows.length), 'findings')}`);
  }
  let text = out.join('\n');
  if (text.length > MARKDOWN_LIMIT) text = `${text.slice(0, MARKDOWN_LIMIT - 80)}\n\n_… cut to fit a comment; see the HTML or JSON report._\n`;
  return text;
}

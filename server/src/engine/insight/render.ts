import { observedDifference, type ShapeOutcome } from '../simulate';
import type { Decision } from '../simulate/types';
import { dryRunDifference } from '../simulate/dryRun';
import { calleeOf, callerOf, describeCall, describeRowCall, rowRequestOf, withoutQuery } from '../traffic/describeCall';
import { mergeRows } from '../mergeRows';
import type { AccessRecord } from '../traffic/accessRecord';

export const count = (value: number): string => value.toLocaleString('en-US');

export function plural(value: number, noun: string): string {
  return `${count(value)} ${noun}${value === 1 ? '' : noun.endsWith('s') ? 'es' : 's'}`;
}

/** Escapes what would break a markdown table cell or start markup. */
function cell(text: string): string {
  return text.replace(/\\/g, '\\\\').replace(/\|/g, '\\|').replace(/([*_`[\]<>])/g, '\\$1').replace(/\r?\n/g, ' ');
}

function where(ref: Decision['rule']): string {
  return ref ? `${ref.label} (${ref.file.split(/[\\/]/).pop()}:${ref.range.start.line + 1})` : 'mesh default';
}

/** A row of a table: shapes that read the same (they differ in what is not shown, like pod IPs), summed. */
export interface DisplayedCall {
  outcome: ShapeOutcome;
  calls: number;
  /** How many paths that differ only in their query string the row stands for (1: one path, shown whole). */
  queries: number;
}

const descriptions = new WeakMap<AccessRecord, string>();

/** `describeCall` without the query string, once per record (a traffic load keeps its records while the policies are edited). */
function describedOnce(record: AccessRecord): string {
  let text = descriptions.get(record);
  if (text === undefined) descriptions.set(record, (text = describeCall(withoutQuery(record))));
  return text;
}

const sameOutcome = (outcome: ShapeOutcome): string => `${outcome.shape.record.observed}\u0000${outcome.decision.verdict}\u0000${outcome.change}\u0000${outcome.decision.reason}`;

/**
 * Merges shapes that read the same, busiest first: the same call as printed, its path's query
 * string aside (a cache-buster or polling counter would make a row per call), and the same
 * `text` (by default what was observed and decided). The busiest shape stands for the row.
 */
export function displayedCalls(outcomes: readonly ShapeOutcome[], text: (outcome: ShapeOutcome) => string = sameOutcome): DisplayedCall[] {
  const paths = new Map<DisplayedCall, Set<string | undefined>>();
  return mergeRows(
    outcomes.map((outcome): DisplayedCall => ({ outcome, calls: outcome.shape.count, queries: 1 })),
    ({ outcome }) => `${describedOnce(outcome.shape.record)}\u0000${text(outcome)}`,
    (row, { outcome }) => {
      let seen = paths.get(row);
      if (!seen) paths.set(row, (seen = new Set([row.outcome.shape.record.request?.path])));
      seen.add(outcome.shape.record.request?.path);
      row.queries = seen.size;
      row.calls += outcome.shape.count;
      if (outcome.shape.count > row.outcome.shape.count) row.outcome = outcome;
    },
  ).sort((a, b) => b.calls - a.calls);
}

/** How many distinct callers the rows' calls come from (`callerOf`: the identity, else the workload or address), and the busiest. */
export function callersLine(rows: readonly DisplayedCall[]): string {
  const callers = new Map<string, number>();
  for (const row of rows) {
    const caller = callerOf(row.outcome.shape.record);
    callers.set(caller, (callers.get(caller) ?? 0) + row.calls);
  }
  const busiest = [...callers].sort((a, b) => b[1] - a[1]).slice(0, 3).map(([caller]) => `\`${caller}\``);
  return `From ${plural(callers.size, 'distinct caller')}${callers.size > 3 ? `, busiest ${busiest.join(', ')}` : `: ${busiest.join(', ')}`}.`;
}

/** A row's call as one line (`describeCall`, with `?… (N query strings)` for a row of several). */
export function rowCall(row: DisplayedCall): string {
  return describeRowCall(row.outcome.shape.record, row.queries);
}

/** A request (method and path) longer than this many characters is cut there, its last one an ellipsis. */
export const REQUEST_CELL_CHARS = 120;

/** The request as a table shows it: whole up to `REQUEST_CELL_CHARS` characters, else its first ones and "…". */
export function requestCellText(request: string): string {
  const chars = [...request];
  return chars.length <= REQUEST_CELL_CHARS ? request : `${chars.slice(0, REQUEST_CELL_CHARS - 1).join('')}…`;
}

/**
 * A markdown table of call shapes: count, request, caller → callee, observed, now. The request
 * comes right after the count: a hover is narrow, and the caller's principal is long, so a
 * request after it was cut off at the hover's edge.
 */
export function callsTable(rows: readonly DisplayedCall[], options: { explainId?: (outcome: ShapeOutcome) => string; samples?: boolean; decidedBy?: boolean } = {}): string {
  const header = ['calls', 'request', 'source → destination', 'observed', 'now'];
  if (options.decidedBy) header.push('decided by');
  if (options.samples) header.push('log line');
  if (options.explainId) header.push('');
  const lines = [`| ${header.join(' | ')} |`, `|${header.map((_, i) => (i === 0 ? '---:' : '---')).join('|')}|`];
  for (const { outcome, calls, queries } of rows) {
    const { shape, decision, change } = outcome;
    const now = change === 'newly-denied' || change === 'newly-allowed' ? `**${decision.verdict}** (${change.replace('-', ' ')})` : decision.verdict;
    const cells = [count(calls), cell(requestCellText(rowRequestOf(shape.record, queries))), cell(`${callerOf(shape.record)} → ${calleeOf(shape.record)}`), shape.record.observed ?? 'unknown', now];
    if (options.decidedBy) cells.push(cell(where(decision.rule ?? decision.policy)));
    if (options.samples) {
      const sample = shape.samples[0];
      cells.push(sample ? cell(`${sample.file.split(/[\\/]/).pop()}:${sample.line}`) : '');
    }
    if (options.explainId) cells.push(`[explain](command:meshPolicy.explainCall?${encodeURIComponent(JSON.stringify([options.explainId(outcome)]))})`);
    lines.push(`| ${cells.join(' | ')} |`);
  }
  return lines.join('\n');
}

/** The walkthrough of one observed call, as markdown. */
export function explainMarkdown(outcome: ShapeOutcome, decision: Decision): string {
  const { shape } = outcome;
  const out = walkthroughMarkdown(shape.record, decision, `${plural(shape.count, 'observed call')} · observed ${shape.record.observed ?? 'unknown'} · ${outcome.change.replace('-', ' ')}`);
  if (shape.samples.length) {
    out.push('', '## Log lines', '');
    for (const sample of shape.samples) out.push(`- ${sample.file}:${sample.line}`);
  }
  return out.join('\n');
}

/** The walkthrough of a call written by hand ("would this call be allowed?"), as markdown. */
export function writtenCallMarkdown(record: AccessRecord, decision: Decision): string {
  return walkthroughMarkdown(record, decision, 'a call written by hand, decided with the workspace\'s policies and inventory').join('\n');
}

function walkthroughMarkdown(record: AccessRecord, decision: Decision, about: string): string[] {
  const out = [
    `# ${decision.verdict.toUpperCase()}: ${describeCall(record)}`,
    '',
    `${decision.mesh} · ${about}`,
    '',
    `**Why:** ${decision.reason}`,
  ];
  const difference = observedDifference(decision, record);
  if (difference) out.push('', `**The log disagrees:** ${difference}.`);
  const dryRun = dryRunDifference(decision, record);
  if (dryRun) out.push('', `**The log's dry-run results disagree:** ${dryRun}.`);
  if (decision.status) out.push('', `The proxy answers with status ${decision.status}.`);
  if (decision.audited) out.push('', 'Audited: an AUDIT rule or audit policy matched.');
  if (decision.missing?.length) out.push('', `Missing from the call: ${decision.missing.join(', ')}.`);
  out.push('', '## Walkthrough', '');
  decision.trace.forEach((step, i) => out.push(`${i + 1}. \`${step.outcome}\` ${step.text}${step.at ? ` — ${step.at.label} (${step.at.file}:${step.at.range.start.line + 1})` : ''}`));
  for (const shadow of decision.shadow ?? []) out.push('', `${shadow.reason[0]!.toUpperCase()}${shadow.reason.slice(1)} (${(shadow.rule ?? shadow.policy).file}:${(shadow.rule ?? shadow.policy).range.start.line + 1}).`);
  return out;
}

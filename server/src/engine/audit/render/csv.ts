import type { ShapeOutcome } from '../../simulate';
import type { Decision } from '../../simulate/types';
import type { Redactor } from '../../traffic/redact';
import { widenTimeSpan } from '../../traffic/timeSpan';
import { callerName, destinationName } from '../model';

/**
 * `mesh-policy report --format csv` (docs/audit.md): who accessed what, where and when, as one
 * row per distinct access for a spreadsheet or a SIEM. Unlike the report's tables nothing is
 * capped: every caller (and its address), destination, port, method and path (its query string
 * left out) observed is a row, with its calls, what the mesh did, what the policies decide now and by which rule.
 */
export const ACCESS_CSV_COLUMNS = [
  'mesh', 'caller', 'caller_principal', 'caller_address', 'destination', 'port', 'protocol', 'method', 'path',
  'calls', 'observed_allowed', 'observed_denied', 'observed_unknown',
  'decision', 'decided_by', 'rule', 'policy_file', 'policy_line', 'newly_denied', 'newly_allowed',
  'first_seen', 'last_seen', 'sample',
] as const;

interface AccessRow {
  mesh: string;
  caller: string;
  principal: string;
  address: string;
  destination: string;
  port: string;
  protocol: string;
  method: string;
  path: string;
  calls: number;
  observed: { allowed: number; denied: number; unknown: number };
  /** The decision of the busiest calls of the row (calls of one row may be decided by different rules: then `mixed`). */
  decision: Decision;
  verdicts: Set<string>;
  newlyDenied: number;
  newlyAllowed: number;
  firstTime?: string;
  lastTime?: string;
  busiest: number;
  sample?: string;
}

export interface AccessCsvOptions {
  redactor: Redactor;
  displayPath?: (path: string) => string;
}

/** The CSV, and its rows (accesses) under the header. */
export function renderAccessCsv(outcomes: readonly ShapeOutcome[], options: AccessCsvOptions): { text: string; rows: number } {
  const show = options.displayPath ?? ((p: string) => p);
  const rows = new Map<string, AccessRow>();
  for (const outcome of outcomes) {
    const { shape, decision } = outcome;
    const record = shape.record;
    const request = record.request;
    const rawPath = request?.path;
    const path = rawPath === undefined ? '' : rawPath.split(/[?#]/)[0]!;
    const principal = typeof record.source?.principal === 'string' ? record.source.principal : record.source?.principal === null ? '(plaintext)' : '';
    const address = record.source?.ip ?? '';
    const key = [decision.mesh, callerName(record), principal, address, destinationName(record), record.destination?.port ?? '', record.protocol ?? '', request?.method ?? '', path].join('\u0000');
    let row = rows.get(key);
    if (!row) {
      row = {
        mesh: decision.mesh, caller: callerName(record), principal, address, destination: destinationName(record), port: String(record.destination?.port ?? ''),
        protocol: record.protocol ?? '', method: request?.method ?? '', path, calls: 0, observed: { allowed: 0, denied: 0, unknown: 0 },
        decision, verdicts: new Set(), newlyDenied: 0, newlyAllowed: 0, busiest: -1,
      };
      rows.set(key, row);
    }
    row.calls += shape.count;
    row.observed[record.observed ?? 'unknown'] += shape.count;
    row.verdicts.add(`${decision.verdict}\u0000${decision.policy?.label ?? ''}\u0000${decision.rule?.label ?? ''}`);
    if (outcome.change === 'newly-denied') row.newlyDenied += shape.count;
    if (outcome.change === 'newly-allowed') row.newlyAllowed += shape.count;
    widenTimeSpan(row, shape);
    if (shape.count > row.busiest) {
      row.busiest = shape.count;
      row.decision = decision;
      const sample = shape.samples[0];
      if (sample) row.sample = `${show(sample.file)}:${sample.line}`;
    }
  }
  const lines = [ACCESS_CSV_COLUMNS.join(',')];
  const ordered = [...rows.values()].sort((a, b) => b.calls - a.calls || compare(a, b));
  for (const row of ordered) {
    const mixed = row.verdicts.size > 1;
    const d = row.decision;
    const cells: (string | number)[] = [
      row.mesh, row.caller, row.principal, row.address, row.destination, row.port, row.protocol, row.method, options.redactor.text(row.path),
      row.calls, row.observed.allowed, row.observed.denied, row.observed.unknown,
      mixed ? `${d.verdict} (mixed)` : d.verdict, d.policy?.label ?? (d.verdict === 'unknown' ? '' : 'default'), d.rule?.label ?? '',
      d.policy ? show(d.policy.file) : '', d.policy ? d.policy.range.start.line + 1 : '', row.newlyDenied, row.newlyAllowed,
      row.firstTime ?? '', row.lastTime ?? '', row.sample ?? '',
    ];
    lines.push(cells.map(csvCell).join(','));
  }
  return { text: `${lines.join('\r\n')}\r\n`, rows: lines.length - 1 };
}

function compare(a: AccessRow, b: AccessRow): number {
  const x = `${a.destination}\u0000${a.caller}\u0000${a.path}\u0000${a.method}`;
  const y = `${b.destination}\u0000${b.caller}\u0000${b.path}\u0000${b.method}`;
  return x < y ? -1 : x > y ? 1 : 0;
}

/**
 * One RFC 4180 field: quoted when it holds a comma, quote or line break. A text a spreadsheet
 * would run as a formula (`=`, `+`, `-`, `@`, a tab or carriage return first; OWASP's CSV
 * injection advice) gets a leading `'`: the logs' paths and names come from whoever sent the call.
 */
export function csvCell(value: string | number): string {
  if (typeof value === 'number') return String(value);
  const text = /^[=+\-@\t\r]/.test(value) ? `'${value}` : value;
  return /[",\r\n]/.test(text) ? `"${text.replace(/"/g, '""')}"` : text;
}

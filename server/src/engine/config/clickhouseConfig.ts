/**
 * The `clickhouse:` block of `.meshpolicy.yaml`: where the access logs live when they sit in a
 * ClickHouse table (docs/scale.md). Credentials never come from the file: it names the
 * environment variables that hold them. Problems are reported; they never stop the rest.
 */
import type { ReportConfigProblem } from './projectConfig';
import { isCalendarDate } from '../traffic/formats/common';

/** Log fields a ClickHouse column can map to: Envoy/Istio JSON access-log keys, plus the
 * Kubernetes metadata a log shipper adds (the pod that wrote the line). */
export const CLICKHOUSE_FIELDS = [
  'start_time', 'method', 'path', 'protocol', 'response_code', 'response_flags', 'response_code_details',
  'connection_termination_details', 'request_id', 'authority', 'upstream_host', 'upstream_cluster',
  'downstream_local_address', 'downstream_remote_address', 'requested_server_name', 'user_agent', 'x_forwarded_for',
  'downstream_peer_uri_san', 'upstream_peer_uri_san', 'downstream_local_uri_san', 'downstream_direct_remote_address',
  'source_workload', 'source_namespace', 'destination_workload', 'destination_namespace', 'content_type', 'grpc_status',
  'pod_name', 'pod_namespace', 'pod_labels',
] as const;

export type ClickHouseField = (typeof CLICKHOUSE_FIELDS)[number];

/** The columns of the documented table (docs/scale.md): Istio's default JSON keys and the pod
 * metadata. The peer-identity fields are left out: map them only when the logs record them (an
 * empty value then means plaintext, not "unknown"). */
export const DEFAULT_CLICKHOUSE_COLUMNS: Readonly<Partial<Record<ClickHouseField, string>>> = Object.fromEntries(
  (['start_time', 'method', 'path', 'protocol', 'response_code', 'response_flags', 'response_code_details',
    'connection_termination_details', 'request_id', 'authority', 'upstream_host', 'upstream_cluster',
    'downstream_local_address', 'downstream_remote_address', 'requested_server_name', 'user_agent', 'x_forwarded_for',
    'pod_name', 'pod_namespace', 'pod_labels'] as const).map((f) => [f, f]),
);

export interface ClickHouseSettings {
  /** http(s)://host:port of the HTTP interface. */
  url: string;
  database: string;
  table: string;
  /** User name, or the variable that holds it; the password only ever from a variable. */
  username?: string;
  usernameEnv?: string;
  passwordEnv?: string;
  /** Log field → column. */
  columns: Partial<Record<ClickHouseField, string>>;
  /** A DateTime column to filter the window on; default: start_time parsed. */
  timeColumn?: string;
  /** Lines from `since` (inclusive) to `until` (exclusive), RFC 3339; or the `last` duration up to now. */
  window: { since?: string; until?: string; last?: string };
  /** Give up on a server that does not answer within this many seconds (also the server's max_execution_time). */
  timeoutSeconds: number;
  /** The mesh the lines come from; default: Istio unless a line has Consul's shape. */
  mesh?: 'istio' | 'consul';
}

const IDENTIFIER = /^[A-Za-z_][A-Za-z0-9_.]*$/;
const ENV_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;
const DURATION = /^(\d+)\s*(s|m|h|d|w)$/;
const KNOWN = new Set(['url', 'database', 'table', 'username', 'usernameEnv', 'passwordEnv', 'password', 'columns', 'timeColumn', 'window', 'timeoutSeconds', 'mesh']);

/** Milliseconds of a `last` duration (`90m`, `24h`, `7d`), or undefined. */
export function durationMs(text: string): number | undefined {
  const m = DURATION.exec(text.trim());
  if (!m) return undefined;
  const unit = { s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000, w: 604_800_000 }[m[2] as 's' | 'm' | 'h' | 'd' | 'w'];
  return Number(m[1]) * unit;
}

/** Reads the `clickhouse:` block; undefined (with problems reported) when it cannot be used. */
export function parseClickHouseSettings(raw: unknown, report: ReportConfigProblem): ClickHouseSettings | undefined {
  if (raw === undefined || raw === null) return undefined;
  const where = 'clickhouse';
  if (typeof raw !== 'object' || Array.isArray(raw)) {
    report(`${where} must be a mapping`, [where]);
    return undefined;
  }
  const v = raw as Record<string, unknown>;
  let reported = 0;
  /** A problem at `clickhouse.<key...>`. */
  const problem = (message: string, ...key: string[]): void => {
    reported++;
    report(message, [where, ...key]);
  };
  for (const key of Object.keys(v)) {
    if (key === 'password') problem(`${where}.password is not read from the file: put the password in an environment variable and name it in passwordEnv`, key);
    else if (!KNOWN.has(key)) problem(`${where}: unknown key "${key}"`, key);
  }
  const text = (key: string, check?: (s: string) => string | undefined): string | undefined => {
    const value = v[key];
    if (value === undefined) return undefined;
    if (typeof value !== 'string' || value.trim() === '') {
      problem(`${where}.${key} must be a non-empty string`, key);
      return undefined;
    }
    const wrong = check?.(value);
    if (wrong) {
      problem(`${where}.${key} ${wrong}`, key);
      return undefined;
    }
    return value.trim();
  };
  const identifier = (s: string): string | undefined => (IDENTIFIER.test(s) ? undefined : `must be a plain identifier (letters, digits, _), got "${s}"`);
  const envName = (s: string): string | undefined => (ENV_NAME.test(s) ? undefined : `must name an environment variable, got "${s}"`);
  const url = text('url', (s) => (/^https?:\/\/[^/\s]+\/?$/.test(s) ? undefined : `must be http(s)://host:port, got "${s}"`));
  if (url === undefined && v['url'] === undefined) problem(`${where}.url is required`);
  const table = text('table', identifier);
  if (table === undefined && v['table'] === undefined) problem(`${where}.table is required`);
  const database = text('database', identifier) ?? 'default';
  const settings: ClickHouseSettings = { url: url ?? '', database, table: table ?? '', columns: { ...DEFAULT_CLICKHOUSE_COLUMNS }, window: {}, timeoutSeconds: 60 };
  const username = text('username');
  if (username !== undefined) settings.username = username;
  const usernameEnv = text('usernameEnv', envName);
  if (usernameEnv !== undefined) settings.usernameEnv = usernameEnv;
  const passwordEnv = text('passwordEnv', envName);
  if (passwordEnv !== undefined) settings.passwordEnv = passwordEnv;
  const timeColumn = text('timeColumn', identifier);
  if (timeColumn !== undefined) settings.timeColumn = timeColumn;
  const mesh = v['mesh'];
  if (mesh === 'istio' || mesh === 'consul') settings.mesh = mesh;
  else if (mesh !== undefined) problem(`${where}.mesh must be istio or consul`, 'mesh');
  const timeout = v['timeoutSeconds'];
  if (typeof timeout === 'number' && timeout > 0 && Number.isFinite(timeout)) settings.timeoutSeconds = timeout;
  else if (timeout !== undefined) problem(`${where}.timeoutSeconds must be a positive number`, 'timeoutSeconds');

  const columns = v['columns'];
  if (columns !== undefined) {
    if (!columns || typeof columns !== 'object' || Array.isArray(columns)) problem(`${where}.columns must map log fields to column names`, 'columns');
    else {
      const fields = new Set<string>(CLICKHOUSE_FIELDS);
      for (const [field, column] of Object.entries(columns as Record<string, unknown>)) {
        if (!fields.has(field)) {
          problem(`${where}.columns: unknown field "${field}" (known: ${CLICKHOUSE_FIELDS.join(', ')})`, 'columns', field);
          continue;
        }
        if (column === null || column === '') delete settings.columns[field as ClickHouseField];
        else if (typeof column === 'string' && IDENTIFIER.test(column)) settings.columns[field as ClickHouseField] = column;
        else problem(`${where}.columns.${field} must be a column name (or null to leave the field out)`, 'columns', field);
      }
    }
  }
  if (!settings.columns.start_time) problem(`${where}.columns.start_time is required (the line's time)`, ...(columns === undefined ? [] : ['columns']));

  const window = v['window'];
  if (window !== undefined) {
    if (!window || typeof window !== 'object' || Array.isArray(window)) problem(`${where}.window must be a mapping with since/until or last`, 'window');
    else {
      const w = window as Record<string, unknown>;
      for (const key of Object.keys(w)) {
        const value = w[key];
        if (key === 'last') {
          if (typeof value === 'string' && durationMs(value) !== undefined) settings.window.last = value;
          else problem(`${where}.window.last must be a duration such as 90m, 24h or 7d`, 'window', key);
        } else if (key === 'since' || key === 'until') {
          const s = value instanceof Date ? value.toISOString() : value;
          if (typeof s === 'string' && isCalendarDate(s) && !Number.isNaN(Date.parse(s))) settings.window[key] = new Date(Date.parse(s)).toISOString();
          else problem(`${where}.window.${key} must be an RFC 3339 time`, 'window', key);
        } else problem(`${where}.window: unknown key "${key}"`, 'window', key);
      }
      if (settings.window.last && (settings.window.since || settings.window.until)) problem(`${where}.window: give either last or since/until`, 'window');
    }
  }
  return reported > 0 && (!url || !table || !settings.columns.start_time) ? undefined : settings;
}

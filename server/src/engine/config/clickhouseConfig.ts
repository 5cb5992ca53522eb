/**
 * The `clickhouse:` block of `.meshpolicy.yaml`: where the access logs live when they sit in a
 * ClickHouse table (docs/scale.md). Credentials never come from the file: it names the
 * environment variables that hold them. Problems are reported; they never stop the rest.
 */

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

/** Reads the block; undefined (with problems) when it cannot be used. `where` prefixes problems. */
export function parseClickHouseSettings(raw: unknown, problems: string[], where = '.meshpolicy.yaml: clickhouse'): ClickHouseSettings | undefined {
  if (raw === undefined || raw === null) return undefined;
  if (typeof raw !== 'object' || Array.isArray(raw)) {
    problems.push(`${where} must be a mapping`);
    return undefined;
  }
  const v = raw as Record<string, unknown>;
  const before = problems.length;
  for (const key of Object.keys(v)) {
    if (key === 'password') problems.push(`${where}.password is not read from the file: put the password in an environment variable and name it in passwordEnv`);
    else if (!KNOWN.has(key)) problems.push(`${where}: unknown key "${key}"`);
  }
  const text = (key: string, check?: (s: string) => string | undefined): string | undefined => {
    const value = v[key];
    if (value === undefined) return undefined;
    if (typeof value !== 'string' || value.trim() === '') {
      problems.push(`${where}.${key} must be a non-empty string`);
      return undefined;
    }
    const problem = check?.(value);
    if (problem) {
      problems.push(`${where}.${key} ${problem}`);
      return undefined;
    }
    return value.trim();
  };
  const identifier = (s: string): string | undefined => (IDENTIFIER.test(s) ? undefined : `must be a plain identifier (letters, digits, _), got "${s}"`);
  const envName = (s: string): string | undefined => (ENV_NAME.test(s) ? undefined : `must name an environment variable, got "${s}"`);
  const url = text('url', (s) => (/^https?:\/\/[^/\s]+\/?$/.test(s) ? undefined : `must be http(s)://host:port, got "${s}"`));
  if (url === undefined && v['url'] === undefined) problems.push(`${where}.url is required`);
  const table = text('table', identifier);
  if (table === undefined && v['table'] === undefined) problems.push(`${where}.table is required`);
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
  else if (mesh !== undefined) problems.push(`${where}.mesh must be istio or consul`);
  const timeout = v['timeoutSeconds'];
  if (typeof timeout === 'number' && timeout > 0 && Number.isFinite(timeout)) settings.timeoutSeconds = timeout;
  else if (timeout !== undefined) problems.push(`${where}.timeoutSeconds must be a positive number`);

  const columns = v['columns'];
  if (columns !== undefined) {
    if (!columns || typeof columns !== 'object' || Array.isArray(columns)) problems.push(`${where}.columns must map log fields to column names`);
    else {
      const fields = new Set<string>(CLICKHOUSE_FIELDS);
      for (const [field, column] of Object.entries(columns as Record<string, unknown>)) {
        if (!fields.has(field)) {
          problems.push(`${where}.columns: unknown field "${field}" (known: ${CLICKHOUSE_FIELDS.join(', ')})`);
          continue;
        }
        if (column === null || column === '') delete settings.columns[field as ClickHouseField];
        else if (typeof column === 'string' && IDENTIFIER.test(column)) settings.columns[field as ClickHouseField] = column;
        else problems.push(`${where}.columns.${field} must be a column name (or null to leave the field out)`);
      }
    }
  }
  if (!settings.columns.start_time) problems.push(`${where}.columns.start_time is required (the line's time)`);

  const window = v['window'];
  if (window !== undefined) {
    if (!window || typeof window !== 'object' || Array.isArray(window)) problems.push(`${where}.window must be a mapping with since/until or last`);
    else {
      const w = window as Record<string, unknown>;
      for (const key of Object.keys(w)) {
        const value = w[key];
        if (key === 'last') {
          if (typeof value === 'string' && durationMs(value) !== undefined) settings.window.last = value;
          else problems.push(`${where}.window.last must be a duration such as 90m, 24h or 7d`);
        } else if (key === 'since' || key === 'until') {
          const s = value instanceof Date ? value.toISOString() : value;
          if (typeof s === 'string' && !Number.isNaN(Date.parse(s))) settings.window[key] = new Date(Date.parse(s)).toISOString();
          else problems.push(`${where}.window.${key} must be an RFC 3339 time`);
        } else problems.push(`${where}.window: unknown key "${key}"`);
      }
      if (settings.window.last && (settings.window.since || settings.window.until)) problems.push(`${where}.window: give either last or since/until`);
    }
  }
  return problems.length > before && (!url || !table || !settings.columns.start_time) ? undefined : settings;
}

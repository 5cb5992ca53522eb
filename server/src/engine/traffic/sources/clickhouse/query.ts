import type { ClickHouseField, ClickHouseSettings } from '../../../config/clickhouseConfig';
import { durationMs } from '../../../config/clickhouseConfig';

/**
 * The aggregating queries of the ClickHouse source. They fold on the server, grouping by exactly
 * what folding in ingest/ can tell apart after the Envoy reader (formats/envoyFields.ts) has read
 * a line: every mapped field except the time and the request id, with the client's ephemeral
 * port cut off the downstream addresses (only their IP reaches the record). Each group is then
 * read by the same reader and resolved by the same Resolver as a file's line.
 *
 * ingest/ joins the client-side and server-side lines of one call on x-request-id and the hop
 * (method, authority, path). That needs single lines, so the join runs here too, before grouping:
 * - `serverQuery`: every line that is not client-side, with the columns of the client-side line
 *   of the same request id and hop, if any (ANY LEFT JOIN);
 * - `clientQuery`: the client-side lines, each marked `consumed` when a server-side line of the
 *   same request id and hop exists (it then is that call's other half, not a call of its own);
 *   a tuple IN, whose set holds only server-side lines whose request id a client-side line has.
 * The side is decided in SQL with the reader's rule for Istio and Consul clusters and SNIs.
 *
 * Written for ClickHouse 18.16 (Debian bookworm) and current releases: no query parameters
 * (values are quoted literals), no JSON* functions, no DateTime64; ANY LEFT JOIN ... USING,
 * argMin, replaceRegexpOne, parseDateTimeBestEffortOrNull exist in both.
 */

/** Fields grouped as they are, but these lose their port; the time and the request id are
 * aggregated, not grouped, and the pod columns are grouped apart (they are the shipper's). */
const IP_ONLY: ReadonlySet<ClickHouseField> = new Set(['downstream_remote_address', 'downstream_direct_remote_address']);
const NOT_GROUPED: ReadonlySet<ClickHouseField> = new Set(['start_time', 'request_id', 'pod_name', 'pod_namespace', 'pod_labels']);

export interface PlannedQueries {
  /** Grouped log fields: row column `f<i>` is fields[i] (`c<i>` for the joined client line). */
  fields: ClickHouseField[];
  serverQuery: string;
  /** The server-side query without the join, for tables with no client-side line in the window. */
  serverOnlyQuery: string;
  clientQuery: string;
  /** How many client-side lines the window has (`n`): with none, the join and clientQuery are skipped. */
  clientCountQuery: string;
}

/** `name` as a quoted identifier; config validation only lets plain identifiers through. */
export function quoteIdentifier(name: string): string {
  return name.split('.').map((part) => `\`${part.replace(/\\/g, '\\\\').replace(/`/g, '\\`')}\``).join('.');
}

/** A string literal (backslash and quote escaped, as ClickHouse reads them). */
export function quoteString(value: string): string {
  return `'${value.replace(/\\/g, '\\\\').replace(/'/g, "\\'")}'`;
}

/** `YYYY-MM-DD hh:mm:ss` in UTC, the literal toDateTime reads. */
function dateTimeLiteral(iso: string): string {
  return `toDateTime(${quoteString(new Date(iso).toISOString().slice(0, 19).replace('T', ' '))}, 'UTC')`;
}

export function planQueries(settings: ClickHouseSettings, now: Date = new Date()): PlannedQueries {
  const columns = settings.columns;
  const table = `${quoteIdentifier(settings.database)}.${quoteIdentifier(settings.table)}`;
  const text = (field: ClickHouseField): string => {
    const column = columns[field];
    return column === undefined ? "''" : `ifNull(toString(${quoteIdentifier(column)}), '')`;
  };
  const grouped = (field: ClickHouseField): string => {
    const value = text(field);
    // ip:port and [v6]:port lose the port; bare IPv6 addresses keep every colon
    return IP_ONLY.has(field) ? `replaceRegexpOne(${value}, '^([^:\\\\[]*|\\\\[[^\\\\]]*\\\\]):[0-9]+$', '\\\\1')` : value;
  };
  const fields = (Object.keys(columns) as ClickHouseField[]).filter((f) => !NOT_GROUPED.has(f)).sort();

  // the side, as formats/envoyFields.ts decides it (clusterInfo, sniInfo)
  const cluster = `replaceRegexpOne(${text('upstream_cluster')}, ';.*$', '')`;
  const sni = text('requested_server_name');
  const consulShape = settings.mesh === 'consul' ? '1' : settings.mesh === 'istio' ? '0'
    : `(${cluster} = 'local_app' OR endsWith(${cluster}, '.consul') OR startsWith(${cluster}, 'passthrough~') OR (${cluster} = '' AND endsWith(${sni}, '.consul')))`;
  const istioOutbound = `(startsWith(${cluster}, 'outbound|') OR ${cluster} IN ('PassthroughCluster', 'BlackHoleCluster'))`;
  const consulOutbound = `(endsWith(${cluster}, '.consul') OR startsWith(${cluster}, 'passthrough~') OR ${cluster} = 'original-destination')`;
  const outbound = `if(${consulShape}, ${consulOutbound}, ${istioOutbound})`;

  const conditions: string[] = [];
  const timeExpression = settings.timeColumn ? quoteIdentifier(settings.timeColumn) : `parseDateTimeBestEffortOrNull(${text('start_time')})`;
  const w = settings.window;
  const lastMs = w.last ? durationMs(w.last) : undefined;
  const since = lastMs !== undefined ? new Date(now.getTime() - lastMs).toISOString() : w.since;
  if (since) conditions.push(`${timeExpression} >= ${dateTimeLiteral(since)}`);
  if (w.until) conditions.push(`${timeExpression} < ${dateTimeLiteral(w.until)}`);
  const where = (...more: string[]): string => {
    const all = [...conditions, ...more];
    return all.length ? ` WHERE ${all.join(' AND ')}` : '';
  };
  const hop = `${text('method')} AS j_method, ${text('authority')} AS j_authority, ${text('path')} AS j_path`;
  const pod = (prefix: string): string => `${text('pod_name')} AS ${prefix}pod, ${text('pod_namespace')} AS ${prefix}pod_namespace, ${text('pod_labels')} AS ${prefix}pod_labels`;
  const selectFields = (prefix: string): string => fields.map((f, i) => `${grouped(f)} AS ${prefix}${i}`).join(', ');
  const groupedNames = (prefix: string): string[] => [...fields.map((_, i) => `${prefix}${i}`), `${prefix}pod`, `${prefix}pod_namespace`, `${prefix}pod_labels`];
  const list = (items: string[]): string => items.filter((s) => s.length > 0).join(', ');
  const rid = text('request_id');
  const aggregates = "count() AS n, min(t) AS first_time, max(t) AS last_time, argMin(rid, t) AS sample_request_id";

  const serverOnlyQuery = [
    `SELECT ${list([...groupedNames('f'), 'has_request_id'])}, toUInt8(0) AS client_found, ${aggregates}`,
    `FROM (SELECT ${list([selectFields('f'), pod('f')])}, ${text('start_time')} AS t, ${rid} AS rid, rid != '' AS has_request_id`,
    `      FROM ${table}${where(`NOT ${outbound}`)})`,
    `GROUP BY ${list([...groupedNames('f'), 'has_request_id'])}`,
  ].join('\n');
  const clientCountQuery = `SELECT count() AS n FROM ${table}${where(outbound)}`;

  const serverQuery = [
    `SELECT ${list([...groupedNames('f'), 'has_request_id', ...groupedNames('c'), 'client_found'])}, ${aggregates}`,
    `FROM (SELECT ${list([selectFields('f'), pod('f')])}, ${text('start_time')} AS t, ${rid} AS rid, rid != '' AS has_request_id, rid AS j_rid, ${hop}`,
    `      FROM ${table}${where(`NOT ${outbound}`)})`,
    'ANY LEFT JOIN',
    `     (SELECT ${list([selectFields('c'), pod('c')])}, ${rid} AS j_rid, ${hop}, toUInt8(1) AS client_found`,
    `      FROM ${table}${where(outbound, `${rid} != ''`)})`,
    'USING (j_rid, j_method, j_authority, j_path)',
    `GROUP BY ${list([...groupedNames('f'), 'has_request_id', ...groupedNames('c'), 'client_found'])}`,
  ].join('\n');

  // consumed: a server-side line has the same request id and hop; the set is built only from the
  // server-side lines whose request id some client-side line has (few when few lines are client-side)
  const clientRids = `SELECT ${rid} FROM ${table}${where(outbound, `${rid} != ''`)}`;
  const serverHops = `SELECT ${rid}, ${text('method')}, ${text('authority')}, ${text('path')} FROM ${table}${where(`NOT ${outbound}`, `${rid} != ''`, `${rid} IN (${clientRids})`)}`;
  const clientQuery = [
    `SELECT ${list([...groupedNames('f'), 'has_request_id', 'consumed'])}, ${aggregates}`,
    `FROM (SELECT ${list([selectFields('f'), pod('f')])}, ${text('start_time')} AS t, ${rid} AS rid, rid != '' AS has_request_id,`,
    `        (rid, ${text('method')}, ${text('authority')}, ${text('path')}) IN (${serverHops}) AS consumed`,
    `      FROM ${table}${where(outbound)})`,
    `GROUP BY ${list([...groupedNames('f'), 'has_request_id', 'consumed'])}`,
  ].join('\n');
  return { fields, serverQuery, serverOnlyQuery, clientQuery, clientCountQuery };
}

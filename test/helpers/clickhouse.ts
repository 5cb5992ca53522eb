// A throw-away clickhouse-server on 127.0.0.1 for the ClickHouse source tests: random free ports,
// a temporary data folder (removed by stop()), ready when /ping answers.
// Environment: MESH_POLICY_CLICKHOUSE=required (CI) makes a missing binary a failure instead of a skip.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createClient, ClickHouseLogLevel } from '@clickhouse/client';
import { DEFAULT_CLICKHOUSE_COLUMNS, type ClickHouseSettings } from '../../server/src/engine/config/clickhouseConfig';
import { DEFAULT_JSON_KEYS } from '../../server/src/engine/traffic/formats/envoyFields';
import { defaultEnvoyTextFormats } from '../../server/src/engine/traffic/formats/envoyText';
import { EMPTY_ENVELOPE, EnvelopeParser, unwrapPrefix } from '../../server/src/engine/traffic/formats/shipper';
import type { ShipperMetadata } from '../../server/src/engine/traffic/readerTypes';

export const clickhouseRequired = process.env['MESH_POLICY_CLICKHOUSE'] === 'required';

/** The binary: `clickhouse-server` (Debian's package) or the single `clickhouse` binary. */
export function findClickHouse(): string[] | undefined {
  for (const dir of (process.env['PATH'] ?? '').split(':').concat(['/usr/sbin', '/usr/bin'])) {
    if (existsSync(join(dir, 'clickhouse-server'))) return [join(dir, 'clickhouse-server')];
  }
  for (const dir of (process.env['PATH'] ?? '').split(':')) if (existsSync(join(dir, 'clickhouse'))) return [join(dir, 'clickhouse'), 'server'];
  return undefined;
}

/** Why the tests cannot run, or undefined; throws when they must (MESH_POLICY_CLICKHOUSE=required). */
export function clickhouseSkipReason(): string | undefined {
  if (process.env['MESH_POLICY_CLICKHOUSE'] === 'off') return 'MESH_POLICY_CLICKHOUSE=off';
  if (findClickHouse()) return undefined;
  const reason = 'clickhouse-server is not installed (apt-get install clickhouse-server clickhouse-client); set MESH_POLICY_CLICKHOUSE=required to fail instead';
  if (clickhouseRequired) throw new Error(`MESH_POLICY_CLICKHOUSE=required but ${reason}`);
  return reason;
}

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      const port = typeof address === 'object' && address ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
}

export interface ClickHouseServer {
  url: string;
  /** A user with a password (`reader` / `s3cret`), besides `default` without one. */
  readerPassword: string;
  stop(): Promise<void>;
}

/** Starts a server; resolves once /ping answers (at most `timeoutMs`). */
export async function startClickHouse(timeoutMs = 60_000): Promise<ClickHouseServer> {
  const command = findClickHouse();
  if (!command) throw new Error('clickhouse-server not found');
  const dir = mkdtempSync(join(tmpdir(), 'mesh-policy-clickhouse-'));
  const [httpPort, tcpPort, interPort] = [await freePort(), await freePort(), await freePort()];
  writeFileSync(join(dir, 'config.xml'), `<?xml version="1.0"?>
<yandex>
  <logger><level>warning</level><console>true</console></logger>
  <listen_host>127.0.0.1</listen_host>
  <http_port>${httpPort}</http_port>
  <tcp_port>${tcpPort}</tcp_port>
  <interserver_http_port>${interPort}</interserver_http_port>
  <path>${dir}/data/</path>
  <tmp_path>${dir}/tmp/</tmp_path>
  <user_files_path>${dir}/user_files/</user_files_path>
  <format_schema_path>${dir}/format_schemas/</format_schema_path>
  <users_config>${dir}/users.xml</users_config>
  <default_profile>default</default_profile>
  <default_database>default</default_database>
  <mark_cache_size>5368709120</mark_cache_size>
  <max_concurrent_queries>20</max_concurrent_queries>
  <timezone>UTC</timezone>
</yandex>
`);
  writeFileSync(join(dir, 'users.xml'), `<?xml version="1.0"?>
<yandex>
  <profiles><default><max_memory_usage>2000000000</max_memory_usage></default></profiles>
  <users>
    <default><password></password><networks><ip>127.0.0.1</ip><ip>::1</ip></networks><profile>default</profile><quota>default</quota></default>
    <reader><password>s3cret</password><networks><ip>127.0.0.1</ip><ip>::1</ip></networks><profile>default</profile><quota>default</quota></reader>
  </users>
  <quotas><default></default></quotas>
</yandex>
`);
  const child: ChildProcess = spawn(command[0]!, [...command.slice(1), `--config-file=${join(dir, 'config.xml')}`], { cwd: dir, stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr?.on('data', (d: Buffer) => { stderr = (stderr + d.toString()).slice(-4000); });
  let exited = false;
  child.once('exit', () => { exited = true; });
  const url = `http://127.0.0.1:${httpPort}`;
  const stop = async (): Promise<void> => {
    if (!exited) {
      const done = new Promise<void>((resolve) => child.once('exit', () => resolve()));
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
      await done;
      clearTimeout(timer);
    }
    rmSync(dir, { recursive: true, force: true });
  };
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (exited) {
      await stop();
      throw new Error(`clickhouse-server exited before it was ready: ${stderr.trim().split('\n').slice(-5).join(' | ')}`);
    }
    try {
      const response = await fetch(`${url}/ping`, { signal: AbortSignal.timeout(1000) });
      if (response.ok && (await response.text()).startsWith('Ok')) break;
    } catch {
      // not listening yet
    }
    if (Date.now() > deadline) {
      await stop();
      throw new Error(`clickhouse-server did not answer /ping within ${timeoutMs / 1000} s: ${stderr.slice(-500)}`);
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  return { url, readerPassword: 's3cret', stop };
}

/** The table of docs/scale.md (keep the two in step). */
export function envoyTableSql(table: string): string {
  return `CREATE TABLE ${table} (
  start_time String,
  timestamp DateTime MATERIALIZED parseDateTimeBestEffortOrZero(start_time),
  method Nullable(String),
  path Nullable(String),
  protocol Nullable(String),
  response_code Nullable(UInt16),
  response_flags Nullable(String),
  response_code_details Nullable(String),
  connection_termination_details Nullable(String),
  request_id Nullable(String),
  authority Nullable(String),
  upstream_host Nullable(String),
  upstream_cluster Nullable(String),
  downstream_local_address Nullable(String),
  downstream_remote_address Nullable(String),
  requested_server_name Nullable(String),
  user_agent Nullable(String),
  x_forwarded_for Nullable(String),
  pod_name Nullable(String),
  pod_namespace Nullable(String),
  pod_labels Nullable(String)
) ENGINE = MergeTree PARTITION BY toYYYYMM(timestamp) ORDER BY timestamp`;
}

const FIELDS = Object.keys(DEFAULT_CLICKHOUSE_COLUMNS).filter((f) => !f.startsWith('pod_'));
const SLOT_OF = new Map<string, number>(DEFAULT_JSON_KEYS);

/**
 * What a log shipper would insert for each line of an example log: the Envoy fields (text lines
 * are cut with Istio's default format; JSON lines give their keys) and the pod metadata from the
 * shipper's wrapping. Lines that are neither are left out (the file reader skips them too).
 */
export function envoyRowsFromLog(file: string): Record<string, unknown>[] {
  const envelope = new EnvelopeParser();
  const formats = defaultEnvoyTextFormats();
  const rows: Record<string, unknown>[] = [];
  for (const raw of readFileSync(file, 'utf8').split('\n')) {
    if (raw.trim() === '') continue;
    let inner = raw;
    let meta: ShipperMetadata | undefined;
    const wrapped = raw.startsWith('{') ? envelope.parse(raw) : unwrapPrefix(raw);
    if (wrapped === EMPTY_ENVELOPE) continue;
    if (wrapped) {
      inner = wrapped.inner;
      meta = wrapped.meta;
    }
    const row: Record<string, unknown> = {};
    if (inner.startsWith('{')) {
      let value: Record<string, unknown>;
      try {
        value = JSON.parse(inner) as Record<string, unknown>;
      } catch {
        continue;
      }
      if (typeof value !== 'object' || value === null || Array.isArray(value) || value['start_time'] === undefined) continue;
      for (const f of FIELDS) if (value[f] !== undefined) row[f] = value[f] === null ? null : f === 'response_code' ? Number(value[f]) || 0 : String(value[f]);
    } else {
      let slots: (string | undefined)[] | undefined;
      for (const format of formats) {
        const out: (string | undefined)[] = new Array(format.slotCount);
        if (format.match(inner, out)) { slots = out; break; }
      }
      if (!slots || slots[SLOT_OF.get('start_time')!] === undefined) continue;
      for (const f of FIELDS) {
        const v = slots[SLOT_OF.get(f)!];
        if (v !== undefined) row[f] = f === 'response_code' ? Number(v) || 0 : v;
      }
    }
    if (meta?.pod) row['pod_name'] = meta.pod;
    if (meta?.namespace) row['pod_namespace'] = meta.namespace;
    if (meta?.labels) row['pod_labels'] = JSON.stringify(meta.labels);
    rows.push(row);
  }
  return rows;
}

/** Creates the table and inserts the rows (JSONEachRow, as docs/scale.md shows). */
export async function loadEnvoyTable(url: string, table: string, rows: Record<string, unknown>[]): Promise<void> {
  const client = createClient({ url, compression: { request: false, response: false }, log: { level: ClickHouseLogLevel.OFF } });
  try {
    await client.command({ query: `DROP TABLE IF EXISTS ${table}` });
    await client.command({ query: envoyTableSql(table) });
    if (rows.length) await client.insert({ table, values: rows, format: 'JSONEachRow', clickhouse_settings: { input_format_skip_unknown_fields: 1 } });
  } finally {
    await client.close();
  }
}

/** Settings for the documented table on `url`. */
export function tableSettings(url: string, table: string, more: Partial<ClickHouseSettings> = {}): ClickHouseSettings {
  return { url, database: 'default', table, columns: { ...DEFAULT_CLICKHOUSE_COLUMNS }, window: {}, timeoutSeconds: 20, ...more };
}

/** Whether `clickhouse-client` is installed (for the docs' ingestion example). */
export function hasClickHouseClient(): boolean {
  return spawnSync('clickhouse-client', ['--version'], { stdio: 'ignore' }).status === 0;
}

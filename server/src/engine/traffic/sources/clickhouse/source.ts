import { performance } from 'node:perf_hooks';
import { ClickHouseLogLevel, createClient, type ClickHouseClient } from '@clickhouse/client';
import type { ClickHouseField, ClickHouseSettings } from '../../../config/clickhouseConfig';
import { defaultConfig } from '../../../config/projectConfig';
import { emptyInventory } from '../../../inventory/inventory';
import { InventoryIndex } from '../../../inventory/inventoryIndex';
import { DEFAULT_MAX_SAMPLES } from '../../ingest/ingest';
import { Resolver } from '../../ingest/resolve';
import { MAX_COUNT, addShapeTotals } from '../../ingest/shapes';
import type { FileStats, IngestProgress, IngestStats, TrafficModel } from '../../ingest/types';
import { TrafficSourceError, type SourceReadOptions, type TrafficSource } from '../types';
import { RowFolder } from './fold';
import { planQueries } from './query';

/**
 * Access logs in a ClickHouse table (docs/scale.md), folded on the server by aggregating
 * queries (query.ts) sent with the official @clickhouse/client over HTTP, their results streamed
 * (JSONEachRow) into shapes (fold.ts).
 *
 * Settings chosen so that ClickHouse 18.16 (Debian bookworm) answers as current releases do:
 * no HTTP compression either way, no query parameters (18.16 has none), no session, and errors
 * read from the message (18.16's "Code: N, e.displayText() = ..." is not the form the client
 * parses into a code). Credentials come from the environment variables the settings name.
 */
export class ClickHouseTrafficSource implements TrafficSource {
  readonly kind = 'clickhouse';

  constructor(private readonly settings: ClickHouseSettings, private readonly env: NodeJS.ProcessEnv = process.env) {}

  describe(): string {
    return `clickhouse://${hostOf(this.settings.url)}/${this.settings.database}.${this.settings.table}`;
  }

  async read(options: SourceReadOptions = {}): Promise<TrafficModel> {
    const started = performance.now();
    const signal = options.signal;
    signal?.throwIfAborted();
    const settings = this.settings;
    const config = options.config ?? defaultConfig(process.cwd());
    const resolver = new Resolver({ index: new InventoryIndex(options.inventory ?? emptyInventory()), trustDomain: config.istio.trustDomain, linkerd: config.linkerd, defaultMesh: settings.mesh ?? 'istio' });
    const plan = planQueries(settings);
    const mapped = Object.keys(settings.columns) as ClickHouseField[];
    const folder = new RowFolder(plan.fields, mapped, resolver, settings.mesh, this.describe(), options.maxSamples ?? DEFAULT_MAX_SAMPLES, options.keyHeaders);
    const client = this.client();
    const progress: IngestProgress = { bytesRead: 0, totalBytes: 0, lines: 0, filesDone: 0, files: 1 };
    let lastReport = 0;
    const report = (force: boolean): void => {
      if (!options.onProgress) return;
      const now = performance.now();
      if (!force && now - lastReport < 50) return;
      lastReport = now;
      options.onProgress({ ...progress });
    };
    report(true);
    const deadline = new Deadline(settings.timeoutSeconds * 1000, signal);
    try {
      const fold = (add: (row: unknown) => void) => (row: unknown, bytes: number): void => {
        if (row === UNREADABLE) folder.addUnreadableRow();
        else add(row);
        progress.bytesRead += bytes;
        progress.lines = folder.counts.lines;
        report(false);
      };
      // without client-side lines in the window there is nothing to join (logs of the server side only)
      let clientLines = 0;
      await this.stream(client, plan.clientCountQuery, deadline, (row) => { clientLines = this.clientLineCount(row); });
      await this.stream(client, clientLines > 0 ? plan.serverQuery : plan.serverOnlyQuery, deadline, fold((row) => folder.addServerRow(row)));
      if (clientLines > 0) await this.stream(client, plan.clientQuery, deadline, fold((row) => folder.addClientRow(row)));
    } finally {
      deadline.dispose();
      await client.close().catch(() => undefined);
    }
    progress.filesDone = 1;
    report(true);

    const shapes = folder.finish();
    const c = folder.counts;
    const parsed = c.lines - c.skipped;
    const file: FileStats = { path: this.describe(), format: 'envoy-json', gzip: false, bytes: progress.bytesRead, lines: c.lines, parsed, skipped: c.skipped, skippedByReason: { ...c.skippedByReason } };
    const problems: string[] = [];
    if (folder.capped) problems.push(`${this.describe()}: the rows' counts of lines add up to more than ${MAX_COUNT} (2^53 - 1, the largest count kept exactly): the counts of lines and calls read stop at ${MAX_COUNT}`);
    if (c.sideMismatches) problems.push(`${this.describe()}: ${c.sideMismatches} lines whose side (client or server) the query decided differently from the Envoy reader; their join may differ from reading the same lines from files`);
    const stats: IngestStats = {
      files: [file], bytes: file.bytes, lines: c.lines, parsed, skipped: c.skipped, skippedByReason: { ...c.skippedByReason },
      calls: 0, shapes: shapes.length, joinedPairs: c.joinedPairs, extraCalls: 0, tcpPairs: 0, gatewayLegs: c.gatewayLegs,
      sourceBy: {}, destinationBy: {}, unresolvedSourceByReason: {}, unresolvedDestinationByReason: {}, observed: {},
      join: { unmatched: c.unmatched, unmatchedServer: c.unmatchedServer, evictedBySize: 0, reused: c.reused },
      durationMs: Math.round(performance.now() - started), workers: 1, problems,
    };
    addShapeTotals(stats, shapes);
    return { shapes, stats };
  }

  private client(): ClickHouseClient {
    const s = this.settings;
    if (!s.url || !s.table) throw new TrafficSourceError('the clickhouse source needs url and table in .meshpolicy.yaml (clickhouse:)', 'config');
    const username = s.usernameEnv ? this.env[s.usernameEnv] : s.username;
    if (s.usernameEnv && username === undefined) throw new TrafficSourceError(`environment variable ${s.usernameEnv} (clickhouse.usernameEnv) is not set`, 'config');
    const password = s.passwordEnv ? this.env[s.passwordEnv] : undefined;
    if (s.passwordEnv && password === undefined) throw new TrafficSourceError(`environment variable ${s.passwordEnv} (clickhouse.passwordEnv) is not set`, 'config');
    return createClient({
      url: s.url,
      ...(username !== undefined ? { username } : {}),
      ...(password !== undefined ? { password } : {}),
      database: s.database,
      request_timeout: Math.min(Math.round(s.timeoutSeconds * 1000), MAX_TIMER_MS),
      compression: { request: false, response: false },
      keep_alive: { enabled: false },
      log: { level: ClickHouseLogLevel.OFF },
    });
  }

  /**
   * Runs one query and hands each result row to `onRow`, as it arrives: its JSON value, or
   * UNREADABLE for a line that is not JSON. Stops at the read's deadline or its caller's signal,
   * also in the middle of the result.
   */
  private async stream(client: ClickHouseClient, query: string, deadline: Deadline, onRow: (row: unknown, bytes: number) => void): Promise<void> {
    const started = performance.now();
    let answered = false;
    let close: (() => void) | undefined;
    const stop = (): void => close?.();
    deadline.signal.addEventListener('abort', stop);
    try {
      deadline.signal.throwIfAborted();
      const result = await client.query({
        query, format: 'JSONEachRow', abort_signal: deadline.signal,
        // the server stops the query when the read's time is up, too
        clickhouse_settings: { max_execution_time: Math.max(1, Math.ceil(deadline.remainingMs() / 1000)) },
      });
      answered = true;
      close = () => result.close();
      deadline.signal.throwIfAborted();
      for await (const rows of result.stream()) {
        deadline.signal.throwIfAborted();
        for (const row of rows) onRow(parseRow(row.text), row.text.length + 1);
      }
    } catch (error) {
      if (deadline.caller?.aborted) deadline.caller.throwIfAborted();
      if (error instanceof TrafficSourceError) throw error;
      if (deadline.expired) {
        const what = answered ? 'did not send its whole answer' : 'did not answer';
        throw new TrafficSourceError(`ClickHouse at ${this.settings.url} ${what} within ${this.settings.timeoutSeconds} s (clickhouse.timeoutSeconds, the time a read may take)`, 'timeout');
      }
      // the client ends a connection that stays silent for the timeout (also mid-result) with a reset
      const silent = performance.now() - started >= this.settings.timeoutSeconds * 1000 * 0.9;
      throw this.explain(error, silent);
    } finally {
      deadline.signal.removeEventListener('abort', stop);
      if (deadline.signal.aborted) close?.();
    }
  }

  /** The count of client-side lines: the one row of clientCountQuery. */
  private clientLineCount(row: unknown): number {
    const n = row !== null && typeof row === 'object' && !Array.isArray(row) ? (row as Record<string, unknown>)['n'] : undefined;
    const count = typeof n === 'number' ? n : typeof n === 'string' && /^[0-9]{1,16}$/.test(n) ? Number(n) : NaN;
    if (Number.isSafeInteger(count) && count >= 0) return count;
    throw new TrafficSourceError(`ClickHouse at ${this.settings.url} answered the count of client-side lines with ${row === UNREADABLE ? 'a line that is not JSON' : JSON.stringify(row)?.slice(0, 100)}, not a row {"n": <count>}`, 'query');
  }

  /** A clear message for what went wrong talking to the server. */
  private explain(error: unknown, silentForTimeout: boolean): TrafficSourceError {
    const where = this.describe();
    const e = error as NodeJS.ErrnoException & { cause?: NodeJS.ErrnoException };
    const code = e?.code ?? e?.cause?.code;
    const message = e instanceof Error ? e.message : String(error);
    if (/timeout/i.test(message) || code === 'ETIMEDOUT' || (silentForTimeout && code === 'ECONNRESET')) {
      return new TrafficSourceError(`ClickHouse at ${this.settings.url} did not answer within ${this.settings.timeoutSeconds} s (clickhouse.timeoutSeconds)`, 'timeout');
    }
    if (code === 'ECONNREFUSED' || code === 'EHOSTUNREACH' || code === 'ENOTFOUND' || code === 'ECONNRESET' || code === 'EAI_AGAIN') {
      return new TrafficSourceError(`cannot reach ClickHouse at ${this.settings.url} (${code}): is the server running, and is the url right?`, 'unreachable');
    }
    const server = /Code: (\d+)/.exec(message);
    const serverCode = server ? Number(server[1]) : undefined;
    const text = firstLine(message.replace(/^Code: \d+[.,]\s*(e\.displayText\(\) = )?/, '').replace(/, e\.what\(\) = .*$/, ''));
    if (serverCode === 192 || serverCode === 193 || serverCode === 516 || serverCode === 194 || serverCode === 195) {
      return new TrafficSourceError(`ClickHouse at ${this.settings.url} refused the credentials (${text}); set them in the variables named by clickhouse.usernameEnv / passwordEnv`, 'refused');
    }
    if (serverCode === 60 || serverCode === 81 || serverCode === 47 || serverCode === 16) {
      return new TrafficSourceError(`ClickHouse query on ${where} failed: ${text} (check clickhouse.database, table and columns in .meshpolicy.yaml)`, 'query');
    }
    if (serverCode === 159) return new TrafficSourceError(`ClickHouse stopped the query on ${where} after ${this.settings.timeoutSeconds} s (clickhouse.timeoutSeconds): ${text}`, 'timeout');
    if (serverCode !== undefined) return new TrafficSourceError(`ClickHouse query on ${where} failed: ${text}`, 'query');
    return new TrafficSourceError(`ClickHouse at ${this.settings.url}: ${firstLine(message)}`, 'unreachable');
  }
}

const MAX_TIMER_MS = 2 ** 31 - 1;

/** A result line that is not JSON. */
const UNREADABLE = Symbol('unreadable row');

/** A result line's JSON value; a server's error written into the result (`Code: N. …`) is thrown. */
function parseRow(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    if (/^Code: \d+/.test(text)) throw new Error(text);
    return UNREADABLE;
  }
}

/**
 * The time a read may take (clickhouse.timeoutSeconds), for all its queries together, with the
 * caller's signal: `signal` aborts at the first of the two.
 */
class Deadline {
  readonly signal: AbortSignal;
  private readonly timer: NodeJS.Timeout;
  private readonly own = new AbortController();
  private readonly endsAt: number;

  constructor(ms: number, readonly caller: AbortSignal | undefined) {
    this.endsAt = performance.now() + ms;
    // (setTimeout fires at once for a delay past 2^31 - 1 ms, some 24 days)
    this.timer = setTimeout(() => this.own.abort(), Math.min(ms, MAX_TIMER_MS));
    this.signal = caller ? AbortSignal.any([caller, this.own.signal]) : this.own.signal;
  }

  get expired(): boolean {
    return this.own.signal.aborted;
  }

  remainingMs(): number {
    return Math.max(0, this.endsAt - performance.now());
  }

  dispose(): void {
    clearTimeout(this.timer);
  }
}

function hostOf(url: string): string {
  try {
    return new URL(url).host;
  } catch {
    return url;
  }
}

function firstLine(text: string): string {
  const line = text.split('\n')[0]!.trim();
  return line.length > 300 ? `${line.slice(0, 297)}...` : line;
}

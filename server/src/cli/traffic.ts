import { realpathSync, statSync } from 'node:fs';
import { relative, resolve, sep } from 'node:path';
import { isMainThread } from 'node:worker_threads';
import { DEFAULT_TRAFFIC_GLOBS, findConfig, loadConfig, type ProjectConfig } from '../engine/config/projectConfig';
import { emptyInventory } from '../engine/inventory/inventory';
import { loadInventory } from '../engine/inventory/loadInventory';
import type { AccessRecord } from '../engine/traffic/accessRecord';
import { runIngestWorker, type IngestProgress, type IngestStats, type ResolutionMethod, type TrafficModel, type TrafficShape } from '../engine/traffic/ingest';
import { ClickHouseTrafficSource, FileTrafficSource, TrafficSourceError, type TrafficSource } from '../engine/traffic/sources';
import { redactorFor } from '../engine/traffic/redact';
import { visibleText } from '../engine/strings';
import { commandFailure, reportMissing, UsageError } from './errors';
import { ArgCursor } from './args';
import type { CliIo } from './main';

export const TRAFFIC_USAGE = `Usage: mesh-policy traffic <files or folders...> [options]
       mesh-policy traffic --source clickhouse [options]

Reads access logs (Istio/Envoy text and JSON, Linkerd apache and JSON, Consul Envoy JSON,
access records; plain, gzipped, or wrapped by Fluent Bit, Fluentd, Vector, Loki or
kubectl logs --prefix; or a Loki query response or push body saved as JSON, or
OpenTelemetry logs as an OpenTelemetry Collector's file exporter writes them) and the cluster
inventory, resolves who called whom, folds identical calls into shapes and prints them.

Options for traffic:
  --source files|clickhouse    Where the logs are: files (default), or the ClickHouse table of the
                               configuration's clickhouse: block, folded on the server (docs/scale.md).
  --inventory <paths>          Kubernetes manifests or kubectl dumps (files or folders; repeat the
                               option or separate with commas). Default: the configuration's
                               inventory globs under the workspace root.
  --no-inventory               Use no inventory.
  --format text|jsonl          text (default): what was read, resolved, skipped and why, then the
                               top shapes. jsonl: one access record per shape, with its count
                               (on stderr: lines read and skipped, the text's Calls line, and
                               callers unresolved).
  --key-headers <names>        Request headers that keep otherwise identical calls apart (comma-
                               separated, e.g. the headers your policies test). Default: all
                               headers the logs record, except per-request ones (x-request-id, ...).
  --top <N>                    Shapes listed by the text format (default 20; 0 for all).
  --config <file>              .meshpolicy.yaml to use (default: the nearest one above the current folder).
  --join-window <seconds>      How far apart the two sides of a call may be logged (default 60).
  --workers <N>                Worker threads for large inputs (default: readers.workers of the
                               configuration, else 1). More workers take more memory and CPU.
  --max-lines <N>              Lines read per file; the rest is counted as skipped, with the reason
                               (default: readers.maxLines of the configuration, else no limit).
  --progress                   Show progress on stderr (default: when stderr is a terminal).

Exit codes: 0 read, 2 usage error or unreadable input, 130 interrupted (Ctrl-C).`;


export interface TrafficCliOptions {
  /** How workers re-enter the CLI when it runs from a bundle. */
  workerEntry?: { file: string; argv: string[] };
  /** Aborts the reading (Ctrl-C). */
  signal?: AbortSignal;
  /** Whether stderr is a terminal (progress is shown there by default). */
  stderrIsTty?: boolean;
}

/** Exit code when Ctrl-C stopped the command (128 + SIGINT, as shells report it). */
export const EXIT_INTERRUPTED = 130;

/**
 * Ctrl-C aborts the returned signal: reading stops at the next batch, nothing more is printed.
 * A second Ctrl-C exits at once.
 */
export function interruptSignal(): AbortSignal {
  const controller = new AbortController();
  process.once('SIGINT', () => {
    controller.abort(new DOMException('interrupted', 'AbortError'));
    process.once('SIGINT', () => process.exit(EXIT_INTERRUPTED));
  });
  return controller.signal;
}

export function isAbort(error: unknown, signal: AbortSignal | undefined): boolean {
  return Boolean(signal?.aborted) || (error instanceof Error && error.name === 'AbortError');
}

/** Sets the exit code; after an interruption, exits soon even if a worker or stream lingers. */
export function finishProcess(code: number): void {
  process.exitCode = code;
  if (code === EXIT_INTERRUPTED) setTimeout(() => process.exit(code), 300).unref();
}

/** Progress of a long read on stderr, on one line rewritten in place (cleared at the end). */
export function progressPrinter(write: (text: string) => void): { onProgress: (p: IngestProgress) => void; done: () => void } {
  let last = 0;
  let shown = false;
  return {
    onProgress: (p) => {
      const now = Date.now();
      if (now - last < 250) return;
      last = now;
      shown = true;
      const percent = p.totalBytes ? Math.min(100, (p.bytesRead / p.totalBytes) * 100).toFixed(1) : '?';
      write(`\rreading: ${percent}% (${mib(p.bytesRead)} of ${mib(p.totalBytes)}), ${n(p.lines)} lines, file ${Math.min(p.filesDone + 1, p.files)} of ${p.files}\u001b[K`);
    },
    done: () => { if (shown) write('\r\u001b[K'); },
  };
}

/** `mesh-policy traffic ...` from the process (bin): output to stdout/stderr, exit code set. */
export function runTrafficMain(args: string[]): void {
  if (args[0] === '--ingest-worker' && !isMainThread) {
    void runIngestWorker();
    return;
  }
  const io: CliIo = {
    stdout: (t) => process.stdout.write(`${t}\n`),
    stderr: (t) => process.stderr.write(`${t}\n`),
    cwd: process.cwd(),
  };
  const entry = process.argv[1];
  const signal = interruptSignal();
  void runTrafficCli(args, io, { signal, stderrIsTty: Boolean(process.stderr.isTTY), ...(entry ? { workerEntry: { file: entry, argv: ['traffic', '--ingest-worker'] } } : {}) }).then(finishProcess);
}

export async function runTrafficCli(args: string[], io: CliIo, cli: TrafficCliOptions = {}): Promise<number> {
  try {
    return await traffic(args, io, cli);
  } catch (error) {
    if (isAbort(error, cli.signal)) {
      io.stderr('\nmesh-policy: interrupted; nothing was printed');
      return EXIT_INTERRUPTED;
    }
    return commandFailure(error, io, TRAFFIC_USAGE);
  }
}

async function traffic(args: string[], io: CliIo, cli: TrafficCliOptions): Promise<number> {
  let format: 'text' | 'jsonl' = 'text';
  let configFile: string | undefined;
  let inventoryPaths: string[] | undefined;
  let noInventory = false;
  let top = 20;
  let joinWindowMs: number | undefined;
  let workers: number | undefined;
  let keyHeaders: string[] | undefined;
  let sourceKind: 'files' | 'clickhouse' = 'files';
  let maxLines: number | undefined;
  let progress = Boolean(cli.stderrIsTty);
  const paths: string[] = [];
  for (const cli = new ArgCursor(args); cli.next();) {
    const flag = cli.flag;
    const value = (): string => cli.value();
    switch (flag) {
      case '--help': case '-h':
        io.stdout(TRAFFIC_USAGE);
        return 0;
      case '--format': {
        const v = value();
        if (v !== 'text' && v !== 'jsonl') throw new UsageError(`--format must be text or jsonl (got "${v}")`);
        format = v;
        break;
      }
      case '--inventory':
        (inventoryPaths ??= []).push(...value().split(',').filter((p) => p.length > 0));
        break;
      case '--no-inventory': noInventory = cli.switchOn(); break;
      case '--source': sourceKind = sourceOption(value(), UsageError); break;
      case '--config': configFile = value(); break;
      case '--top': top = count(flag, value(), true); break;
      case '--join-window': joinWindowMs = count(flag, value(), false) * 1000; break;
      case '--workers': workers = count(flag, value(), false); break;
      case '--max-lines': maxLines = count(flag, value(), false); break;
      case '--progress': progress = cli.switchOn(); break;
      case '--key-headers': keyHeaders = value().split(',').map((h) => h.trim().toLowerCase()).filter((h) => h.length > 0); break;
      default:
        if (cli.isOption) throw cli.unexpected();
        paths.push(cli.arg);
    }
  }
  if (noInventory && inventoryPaths) throw new UsageError('--no-inventory and --inventory contradict each other: give one');
  if (sourceKind === 'clickhouse' && paths.length) throw new UsageError('--source clickhouse reads the configured table: give no files');
  if (sourceKind === 'files' && paths.length === 0) throw new UsageError('traffic needs at least one file or folder');
  paths.splice(0, paths.length, ...paths.map((p) => resolve(io.cwd, p)));
  if (configFile) configFile = resolve(io.cwd, configFile);
  if (reportMissing(paths, io) || (configFile && reportMissing([configFile], io, 'config'))) return 2;
  const config = configFile ? loadConfig(configFile) : findConfig(io.cwd);
  for (const problem of config.problems) io.stderr(`mesh-policy: ${problem.message}`);
  if (config.unusable) return 2;

  let inventoryNote: string;
  let inventory = emptyInventory();
  if (noInventory) inventoryNote = 'none (--no-inventory)';
  else {
    const loaded = loadInventory(inventoryPaths, config);
    if (reportMissing(loaded.missing, io, 'inventory')) return 2;
    for (const problem of loaded.problems) io.stderr(`mesh-policy: inventory: ${problem}`);
    inventory = loaded.inventory;
    inventoryNote = describeInventory(loaded.files.length, inventory, inventoryPaths ? inventoryPaths.join(', ') : `the inventory globs under ${relative(io.cwd, config.root) || '.'}`);
  }

  const source = sourceKind === 'clickhouse' ? clickhouseSource(config) : new FileTrafficSource(paths, {
    ...(joinWindowMs !== undefined ? { joinWindowMs } : {}),
    ...(workers !== undefined ? { workers } : {}),
    ...(cli.workerEntry ? { workerEntry: cli.workerEntry } : {}),
  });
  if (typeof source === 'string') {
    io.stderr(`mesh-policy: ${source}`);
    return 2;
  }
  const shown = progress ? progressPrinter((t) => process.stderr.write(t)) : undefined;
  const model = await readSource(source, {
    inventory, config,
    ...(keyHeaders ? { keyHeaders } : {}),
    ...(maxLines !== undefined ? { maxLinesPerFile: maxLines } : {}),
    ...(cli.signal ? { signal: cli.signal } : {}),
    ...(shown ? { onProgress: shown.onProgress } : {}),
  }, io).finally(() => shown?.done());
  if (model === undefined) return 2;
  const failed = model.stats.files.filter((f) => f.error);
  // (a file with an error whose lines were read, up to damage or all of them, is named with the other problems)
  const unreadable = failed.filter((f) => f.lines === 0);
  for (const f of unreadable) io.stderr(`mesh-policy: cannot read "${relative(io.cwd, f.path) || f.path}": ${f.error}`);
  for (const problem of model.stats.problems) if (!unreadable.some((f) => problem.startsWith(`${f.path}:`))) io.stderr(`mesh-policy: ${shorten(problem, io.cwd)}`);
  const unmatchedFolders = emptyFolderNotes(paths, model, config, io.cwd);
  for (const note of unmatchedFolders) io.stderr(`mesh-policy: ${note}`);
  // Secrets in the logs (credentials in headers, tokens in paths) never reach the output.
  const redactor = redactorFor(config);
  model.shapes = model.shapes.map((shape) => ({ ...shape, record: redactor.record(shape.record) }));
  if (format === 'jsonl') {
    for (const shape of model.shapes) io.stdout(JSON.stringify(orderRecord(shape.record)));
    io.stderr(summaryLine(model.stats));
  } else {
    io.stdout(formatSummary(model, io.cwd, inventoryNote, top, config));
  }
  return failed.length || unmatchedFolders.length ? 2 : 0;
}

/** The value of `--source`; `usage` builds the command's usage error. */
export function sourceOption(raw: string, usage: new (message: string) => Error): 'files' | 'clickhouse' {
  if (raw !== 'files' && raw !== 'clickhouse') throw new usage(`--source must be files or clickhouse (got "${raw}")`);
  return raw;
}

/** The configured ClickHouse source, or why there is none. */
export function clickhouseSource(config: ProjectConfig): TrafficSource | string {
  if (config.clickhouse) return new ClickHouseTrafficSource(config.clickhouse);
  return `--source clickhouse needs a clickhouse: block (url, table, ...) in ${config.file ?? '.meshpolicy.yaml'} (docs/scale.md)`;
}

/** Reads a source; a source that cannot be read is reported (undefined), anything else thrown. */
export async function readSource(source: TrafficSource, options: Parameters<TrafficSource['read']>[0], io: CliIo): Promise<TrafficModel | undefined> {
  try {
    return await source.read(options);
  } catch (error) {
    if (!(error instanceof TrafficSourceError)) throw error;
    io.stderr(`mesh-policy: ${error.message}`);
    return undefined;
  }
}

/** Paths relative to the working folder; URIs (a table's sample references) as they are. */
export function displayPath(cwd: string, path: string): string {
  return path.includes('://') ? path : relative(cwd, path) || path;
}

/** A whole number (seconds of --join-window may have a fraction), 0 or more when `zeroOk`, else 1 or more, written in decimal digits. */
function count(flag: string, raw: string, zeroOk: boolean): number {
  const seconds = flag === '--join-window';
  const n = Number(raw);
  if (!(seconds ? /^\d+(?:\.\d+)?$/ : /^\d+$/).test(raw) || !Number.isFinite(n) || n < (zeroOk ? 0 : 1)) {
    throw new UsageError(`${flag} must be ${seconds ? 'a number of seconds, 1 or more' : zeroOk ? 'a whole number, 0 or more' : 'a whole number from 1'} (got "${raw}")`);
  }
  return n;
}

/** What reading the logs found wrong, each file named relative to the working folder. */
export function readProblems(model: TrafficModel, paths: readonly string[], config: ProjectConfig, cwd: string): string[] {
  const empty = emptyFolderNotes(paths, model, config, cwd);
  if (empty.length) withUnmatchedFolders.add(model);
  return [...model.stats.problems.map((p) => shorten(p, cwd)), ...empty];
}

/** The models read from a folder given for logs in which no file matched the traffic globs (`readProblems`). */
const withUnmatchedFolders = new WeakSet<TrafficModel>();

/**
 * Whether some input given for logs was not read: a file that could not be, or a folder none of
 * whose files the traffic globs take (as a folder with no policy file: exit code 2).
 */
export function trafficUnread(model: TrafficModel): boolean {
  return model.stats.files.some((f) => f.error) || withUnmatchedFolders.has(model);
}

/**
 * Each folder given for logs in which no file matched the traffic globs: named, since it would
 * otherwise read as a folder without traffic (logs named *.txt, say).
 */
function emptyFolderNotes(paths: readonly string[], model: TrafficModel, config: ProjectConfig, cwd: string): string[] {
  const read = model.stats.files.map((f) => f.path);
  const globs = config.traffic.length ? config.traffic : DEFAULT_TRAFFIC_GLOBS;
  return paths.filter((folder) => {
    if (!isFolder(folder)) return false;
    const under = [folder, realpathOr(folder)].map((f) => f.endsWith(sep) ? f : f + sep);
    return !read.some((file) => under.some((u) => file.startsWith(u)));
  }).map((folder) => `${displayPath(cwd, folder)}: no file in this folder matches the traffic globs (${globs.join(', ')}); name the files, or set traffic: in .meshpolicy.yaml`);
}

function isFolder(path: string): boolean {
  try {
    return statSync(path).isDirectory();
  } catch {
    return false;
  }
}

function realpathOr(path: string): string {
  try {
    return realpathSync(path);
  } catch {
    return path;
  }
}

function shorten(problem: string, cwd: string): string {
  const colon = problem.indexOf(': ');
  if (colon < 0) return problem;
  return `${displayPath(cwd, problem.slice(0, colon))}: ${problem.slice(colon + 2)}`;
}

function describeInventory(files: number, inventory: ReturnType<typeof emptyInventory>, from: string): string {
  if (!inventory.present) return `nothing found in ${files} file${files === 1 ? '' : 's'} (${from}); callers can only be resolved from the lines themselves`;
  const pods = inventory.workloads.filter((w) => w.kind === 'Pod');
  const ips = pods.reduce((n, p) => n + p.ips.length, 0);
  const templates = inventory.workloads.length - pods.length;
  return `${plural(templates, 'workload')}, ${plural(pods.length, 'pod')} (${plural(ips, 'IP')}), ${plural(inventory.services.length, 'service')}, ${plural(inventory.namespaces.size, 'namespace')} from ${plural(files, 'file')} (${from})`;
}

/**
 * Canonical key order for printed records. A part the calls say nothing about is left out, as in
 * the record read: ingestion gives every record a source and a destination of one fixed shape
 * (for folding), whose fields are all undefined when the line named neither (a Linkerd line with
 * no shipper metadata, plain Envoy's default format, an access record without them).
 */
function orderRecord(r: AccessRecord): AccessRecord {
  const out: AccessRecord = {};
  const keys: (keyof AccessRecord)[] = ['time', 'mesh', 'protocol', 'source', 'destination', 'request', 'sni', 'response', 'observed', 'count'];
  for (const key of keys) if (r[key] !== undefined && !isEmptyPart(r[key])) (out as Record<string, unknown>)[key] = r[key];
  for (const key of Object.keys(r) as (keyof AccessRecord)[]) if (!(key in out) && !isEmptyPart(r[key])) (out as Record<string, unknown>)[key] = r[key];
  return out;
}

/** An object whose every field is undefined (JSON.stringify would print `{}`). */
function isEmptyPart(value: unknown): boolean {
  if (value === null || typeof value !== 'object' || Array.isArray(value)) return false;
  for (const key in value as Record<string, unknown>) if ((value as Record<string, unknown>)[key] !== undefined) return false;
  return true;
}

const n = (value: number): string => value.toLocaleString('en-US');
const plural = (value: number, word: string): string => `${n(value)} ${word}${value === 1 ? '' : 's'}`;

/** The JSONL output's summary on stderr: the text summary's Calls line, with the lines read and the callers left unresolved. */
function summaryLine(s: IngestStats): string {
  return `${plural(s.lines, 'line')} from ${plural(s.files.length, 'file')}, ${n(s.skipped)} skipped. ${callsLine(s)} Callers unresolved: ${n(s.sourceBy.unresolved ?? 0)}.`;
}

/** What the lines became: calls, shapes, the joins of both sides (on x-request-id, TCP on addresses), gateway and counted calls, outcomes. */
function callsLine(s: IngestStats): string {
  const observed = ['allowed', 'denied', 'unknown'].filter((o) => s.observed[o]).map((o) => `${n(s.observed[o]!)} ${o}`).join(', ');
  return `Calls: ${n(s.calls)} in ${plural(s.shapes, 'shape')} (${n(s.parsed)} parsed lines; ${n(s.joinedPairs)} client/server line pairs joined (${s.tcpPairs ? `${n(s.joinedPairs - s.tcpPairs)} on x-request-id, ${n(s.tcpPairs)} TCP on addresses` : 'on x-request-id'})${s.gatewayLegs ? `; ${n(s.gatewayLegs)} calls to a gateway read from its own lines` : ''}${s.extraCalls ? `; ${n(s.extraCalls)} more calls from records with a count` : ''})${observed ? `; observed: ${observed}` : ''}.`;
}

const METHOD_LABEL: Record<ResolutionMethod, string> = {
  line: 'identity in the line',
  shipper: 'shipper metadata',
  join: 'client-side line (joined)',
  ip: 'inventory pod IP',
  host: 'host / SNI → Service',
  unresolved: 'unresolved',
};
const METHOD_ORDER: ResolutionMethod[] = ['line', 'shipper', 'join', 'ip', 'host', 'unresolved'];

function table(rows: string[][], indent = '  '): string[] {
  const widths: number[] = [];
  for (const row of rows) row.forEach((cell, i) => { widths[i] = Math.max(widths[i] ?? 0, cell.length); });
  return rows.map((row) => indent + row.map((cell, i) => (i === row.length - 1 ? cell : /^[\d,.%]+$/.test(cell) ? cell.padStart(widths[i]!) : cell.padEnd(widths[i]!))).join('  ').trimEnd());
}

function byCount(counts: Record<string, number>): [string, number][] {
  return Object.entries(counts).sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : 1));
}

export function formatSummary(model: TrafficModel, cwd: string, inventoryNote: string, top: number, config?: ProjectConfig): string {
  const s = model.stats;
  const out: string[] = [];
  const rel = (p: string) => displayPath(cwd, p);
  out.push(`Read ${plural(s.files.length, 'file')}, ${plural(s.lines, 'line')} (${mib(s.bytes)}) in ${(s.durationMs / 1000).toFixed(2)} s${s.workers > 1 ? ` with ${s.workers} workers` : ''}.`);
  out.push(`Inventory: ${inventoryNote}.`);
  if (config?.file) out.push(`Configuration: ${rel(config.file)}.`);
  out.push('');
  out.push('Files:');
  out.push(...table([['file', 'format', 'lines', 'parsed', 'skipped', ''], ...s.files.map((f) => [
    rel(f.path) + (f.gzip ? ' (gzip)' : '') + (f.document ? ` (${f.document})` : ''), f.format ?? '?', n(f.lines), n(f.parsed), n(f.skipped), f.error ? `error: ${f.error}` : '',
  ])]));
  out.push('');
  if (s.skipped) {
    out.push(`Skipped lines: ${n(s.skipped)}`);
    const perFile = s.files.filter((f) => f.skipped);
    for (const [reason, count] of byCount(s.skippedByReason)) {
      const where = perFile.filter((f) => f.skippedByReason[reason]).map((f) => `${rel(f.path)}: ${n(f.skippedByReason[reason]!)}`);
      out.push(`  ${n(count).padStart(8)}  ${reason}${where.length > 1 || s.files.length > 1 ? `  (${where.join(', ')})` : ''}`);
    }
    out.push('');
  }
  out.push(callsLine(s));
  out.push('');
  out.push('Caller resolved by:');
  out.push(...table(METHOD_ORDER.filter((m) => m !== 'host' && s.sourceBy[m]).map((m) => [METHOD_LABEL[m], n(s.sourceBy[m]!), pct(s.sourceBy[m]!, s.calls)])));
  if (s.sourceBy.unresolved) {
    out.push('Unresolved callers, why:');
    for (const [reason, count] of byCount(s.unresolvedSourceByReason)) out.push(`  ${n(count).padStart(8)}  ${reason}`);
  }
  out.push('Destination resolved by:');
  out.push(...table(METHOD_ORDER.filter((m) => s.destinationBy[m]).map((m) => [METHOD_LABEL[m], n(s.destinationBy[m]!), pct(s.destinationBy[m]!, s.calls)])));
  if (s.destinationBy.unresolved) {
    out.push('Unresolved destinations, why:');
    for (const [reason, count] of byCount(s.unresolvedDestinationByReason)) out.push(`  ${n(count).padStart(8)}  ${reason}`);
  }
  if (s.join.unmatched || s.join.evictedBySize) {
    const server = s.join.unmatchedServer;
    const client = s.join.unmatched - server;
    const alone = [
      server ? `${n(server)} server-side lines had no client-side line (the caller has no sidecar, or its proxy's log was not read: the caller then comes from the line, the shipper or the inventory's pod IPs)` : '',
      client ? `${n(client)} client-side lines had no server-side line (the destination's proxy log was not read, or it logged nothing)` : '',
    ].filter(Boolean).join('; ');
    out.push(`Join: ${alone || 'every line found its other side'}${s.join.evictedBySize ? `; ${n(s.join.evictedBySize)} left the join window because it was full` : ''}${s.join.reused ? `; ${n(s.join.reused)} server-side retries reused a joined caller` : ''}.`);
  }
  out.push('');
  const shown = top === 0 ? model.shapes : model.shapes.slice(0, top);
  out.push(`Top ${shown.length === model.shapes.length ? `${plural(shown.length, 'shape')}` : `${shown.length} of ${plural(model.shapes.length, 'shape')}`} (by calls):`);
  out.push(...table(shown.map((shape) => shapeRow(shape, rel))));
  return out.join('\n');
}

function shapeRow(shape: TrafficShape, rel: (p: string) => string): string[] {
  const r = shape.record;
  const how = METHOD_ORDER.filter((m) => shape.sourceBy[m]).join('+');
  const sample = shape.samples[0];
  const unresolved = shape.unresolvedSource ? Object.keys(shape.unresolvedSource)[0] : undefined;
  return [
    n(shape.count),
    describeSource(r),
    '→',
    describeDestination(r),
    describeRequest(r),
    describeOutcome(r),
    `[${how}]`,
    `${sample ? `${rel(sample.file)}:${sample.line}` : ''}${unresolved ? `  (${unresolved})` : ''}`,
  ].map(visibleText);
}

function describeSource(r: AccessRecord): string {
  const s = r.source;
  if (!s) return '?';
  const ip = s.ip ? ` (${s.ip})` : '';
  if (s.workload && s.namespace) return `${s.namespace}/${s.workload}${ip}`;
  if (s.service && s.namespace) return `${s.namespace}/${s.service}${ip}`;
  if (s.namespace && s.serviceAccount) return `${s.namespace}/${s.serviceAccount} [sa]${ip}`;
  if (s.principal) return s.principal;
  if (s.workload) return s.workload;
  if (s.principal === null) return `plaintext ${s.ip ?? '?'}`;
  return s.ip ? `? ${s.ip}` : '?';
}

function describeDestination(r: AccessRecord): string {
  const d = r.destination;
  if (!d) return '?';
  const name = d.workload ? `${d.namespace ? `${d.namespace}/` : ''}${d.workload}` : d.service ?? d.ip ?? '?';
  const ip = d.ip && (d.workload || d.service) ? ` (${d.ip})` : '';
  return `${d.port !== undefined ? `${name}:${d.port}` : name}${ip}`;
}

function describeRequest(r: AccessRecord): string {
  if (r.protocol === 'tcp') return 'TCP';
  const q = r.request;
  if (!q) return r.protocol ?? '';
  const path = q.path && q.path.length > 60 ? `${q.path.slice(0, 57)}...` : q.path ?? '';
  return `${q.method ?? ''} ${path}`.trim();
}

function describeOutcome(r: AccessRecord): string {
  const status = r.response?.status;
  const dryRun = r.response?.dryRun;
  const engines = dryRun ? (['allow', 'deny'] as const).flatMap((engine) => {
    const e = dryRun[engine];
    return e ? [`${engine}: ${e.result}${e.policy ? ` by ${e.policy}` : ''}`] : [];
  }) : [];
  return `${status ?? '-'} ${r.observed ?? 'unknown'}${engines.length ? `, dry-run ${engines.join(', ')}` : ''}`;
}

function pct(value: number, total: number): string {
  return total ? `${((value / total) * 100).toFixed(1)}%` : '';
}

function mib(bytes: number): string {
  return bytes >= 1024 * 1024 ? `${(bytes / 1024 / 1024).toFixed(1)} MiB` : `${(bytes / 1024).toFixed(1)} KiB`;
}

import { performance } from 'node:perf_hooks';
import { defaultConfig } from '../../config/projectConfig';
import { emptyInventory } from '../../inventory/inventory';
import { InventoryIndex } from '../../inventory/inventoryIndex';
import type { LinkerdIdentityNames } from './identity';
import type { LineReader, LogFormatId } from '../readerTypes';
import { statRegularFileAsync } from '../../fsErrors';
import { LOOP_NOTE } from '../../workspaceFiles';
import { collectTrafficFiles } from './files';
import { Folder, type JoinStats } from './folder';
import { isGzip, SAMPLE_LINES, sampleLines } from './lineSource';
import type { DocumentFormat } from './documents';
import { sniffDocument } from './documentScanners';
import { runParallel } from './parallel';
import { describeError, emptyTaskStats, foldTasks, type TaskStats } from './pipeline';
import { chooseReader, configuredMaxLines, configuredWorkers, FORMAT_NOT_RECOGNIZED, readerSetting, skippingReader, type ReaderSetting } from './readers';
import { Resolver } from './resolve';
import { addCounts, addShapeTotals, type ShapeTable } from './shapes';
import type { FileStats, IngestOptions, IngestProgress, IngestStats, TrafficModel } from './types';

export const DEFAULT_JOIN_WINDOW_MS = 60_000;
export const DEFAULT_MAX_PENDING = 100_000;
export const DEFAULT_MAX_SAMPLES = 3;
/** How far to look when none of the first sample (lineSource.ts `SAMPLE_LINES`) fits a format. */
const LONG_SAMPLE_LINES = 5000;
const LONG_SAMPLE_BYTES = 4 * 1024 * 1024;
export const DEFAULT_PARALLEL_THRESHOLD = 64 * 1024 * 1024;

/** A file ready to read: its reader, and how to make the same reader in a worker. */
export interface FilePlan {
  index: number;
  path: string;
  gzip: boolean;
  size: number;
  reader: LineReader;
  format?: LogFormatId;
  /** The file is one JSON document of many lines (ReadTask.document). */
  document?: DocumentFormat;
  /** Set when the reader came from detection or configuration (workers can rebuild it). */
  recipe?: ReaderSetting;
  /** Why the file's lines are all skipped, when they are. */
  problem?: string;
  /** The file could not be opened or read at all. */
  unreadable?: boolean;
}

export interface RunResult {
  table: ShapeTable;
  /** Σ (count − 1) over the records folded. */
  extraCalls: number;
  join: JoinStats;
  /** Per file, in plan order. */
  stats: TaskStats[];
  workers: number;
}

/** Context the sequential and parallel runners share. */
export interface RunContext {
  options: IngestOptions;
  resolver: Resolver;
  joinWindowMs: number;
  maxPending: number;
  maxSamples: number;
  keyHeaders?: string[];
  trustDomain: string;
  linkerd: LinkerdIdentityNames;
  onBatch: (bytes: number, lines: number) => void;
  maxLines?: number;
}

/**
 * Reads access logs into shapes of observed calls. `paths` are files or folders (folders are
 * searched with the configuration's `traffic` globs). Every line ends up parsed (and folded into a
 * shape) or skipped with a reason; see {@link IngestStats} for how the counts add up.
 * Rejects with an AbortError when `signal` aborts.
 */
export async function ingestTraffic(paths: string[], options: IngestOptions = {}): Promise<TrafficModel> {
  const started = performance.now();
  const signal = options.signal;
  signal?.throwIfAborted();
  const config = options.config ?? defaultConfig(process.cwd());
  const index = new InventoryIndex(options.inventory ?? emptyInventory());
  const { files, missing, unreadable, loops, skipped } = collectTrafficFiles(paths, config);
  const problems = [
    ...missing.map((m) => `${m}: no such file or folder`),
    ...unreadable.map((u) => `${u.path}: ${u.reason}`),
    ...loops.map((l) => `${l}: skipped, ${LOOP_NOTE}`),
    ...skipped.map((s) => `${s.path}: skipped, ${s.reason}`),
  ];
  const plans: FilePlan[] = [];
  const fileStats: FileStats[] = [];
  for (const path of files) {
    signal?.throwIfAborted();
    const stats: FileStats = { path, gzip: false, bytes: 0, lines: 0, parsed: 0, skipped: 0, skippedByReason: {} };
    fileStats.push(stats);
    let size: number;
    let gzip: boolean;
    let sample: string[];
    let document: DocumentFormat | undefined;
    try {
      size = (await statRegularFileAsync(path)).size;
      gzip = await isGzip(path);
      stats.gzip = gzip;
      const forced = readerSetting(path, config).document;
      const sniffed = await sniffDocument(path, gzip);
      document = forced ?? sniffed?.format;
      if (document !== undefined) stats.document = document;
      sample = sniffed !== undefined && sniffed.format === document ? sniffed.sample : document !== undefined ? [] : await sampleLines(path, gzip);
    } catch (error) {
      stats.error = describeError(error);
      problems.push(`${path}: ${stats.error}`);
      plans.push({ index: plans.length, path, gzip: false, size: 0, reader: skippingReader('unreadable'), problem: stats.error, unreadable: true });
      continue;
    }
    let choice = chooseReader(path, sample, config, options.readerFor);
    if (choice.problem === FORMAT_NOT_RECOGNIZED && document === undefined && sample.length >= SAMPLE_LINES) {
      // The first lines fit no format, as a proxy's startup log before its first request does:
      // look further, for a format's first lines.
      try {
        const longer = await sampleLines(path, gzip, LONG_SAMPLE_LINES, LONG_SAMPLE_BYTES);
        if (longer.length > sample.length) choice = chooseReader(path, longer, config, options.readerFor);
      } catch {
        // (the full read meets the same error and reports it)
      }
    }
    if (choice.format) stats.format = choice.format;
    if (choice.problem && choice.problem !== 'empty file') problems.push(`${path}: ${choice.problem}`);
    plans.push({
      index: plans.length, path, gzip, size,
      reader: choice.reader ?? skippingReader(choice.problem ?? FORMAT_NOT_RECOGNIZED),
      ...(choice.format ? { format: choice.format } : {}),
      ...(document ? { document } : {}),
      ...(choice.recipe ? { recipe: choice.recipe } : {}),
      ...(choice.problem ? { problem: choice.problem } : {}),
    });
  }

  const totalBytes = plans.reduce((sum, p) => sum + p.size, 0);
  const progress: IngestProgress = { bytesRead: 0, totalBytes, lines: 0, filesDone: 0, files: plans.length };
  let lastReport = 0;
  const report = (force: boolean): void => {
    if (!options.onProgress) return;
    const now = performance.now();
    if (!force && now - lastReport < 50) return;
    lastReport = now;
    options.onProgress({ ...progress });
  };
  const context: RunContext = {
    options,
    resolver: new Resolver({ index, trustDomain: config.istio.trustDomain, linkerd: config.linkerd, defaultMesh: 'istio' }),
    joinWindowMs: options.joinWindowMs ?? DEFAULT_JOIN_WINDOW_MS,
    maxPending: options.maxPendingJoins ?? DEFAULT_MAX_PENDING,
    maxSamples: options.maxSamples ?? DEFAULT_MAX_SAMPLES,
    ...(options.keyHeaders ? { keyHeaders: options.keyHeaders } : {}),
    trustDomain: config.istio.trustDomain,
    linkerd: { trustDomain: config.linkerd.trustDomain, controlPlaneNamespace: config.linkerd.controlPlaneNamespace },
    onBatch: (bytes, lines) => {
      progress.bytesRead += bytes;
      progress.lines += lines;
      report(false);
    },
  };
  report(true);

  const readable = plans.filter((p) => !p.unreadable);
  const maxLines = options.maxLinesPerFile ?? configuredMaxLines(config);
  if (maxLines !== undefined) context.maxLines = maxLines;
  const workers = Math.max(1, Math.min(options.workers ?? configuredWorkers(config) ?? 1, 16));
  const uncompressed = readable.every((p) => !p.gzip);
  const big = readable.reduce((sum, p) => sum + p.size, 0) >= (options.parallelThreshold ?? DEFAULT_PARALLEL_THRESHOLD);
  let result: RunResult | undefined;
  // Workers read slices of a file and cannot tell where its line limit falls: files that may
  // reach the limit (a line takes at least one byte) are read on this thread.
  const underLimit = maxLines === undefined || readable.every((p) => p.size < maxLines);
  // A document is read in one piece (its entries' lines are not the file's lines).
  const documents = readable.some((p) => p.document !== undefined);
  if (workers > 1 && big && uncompressed && underLimit && !documents && readable.every((p) => p.recipe !== undefined || p.problem !== undefined)) {
    result = await runParallel(readable, workers, context);
  }
  result ??= await runSequential(readable, context);

  // per-file counts
  const byPath = new Map(readable.map((p, i) => [p.index, result!.stats[i]!]));
  for (const plan of plans) {
    const s = byPath.get(plan.index);
    const stats = fileStats[plan.index]!;
    if (!s) continue;
    stats.bytes = s.bytes;
    stats.lines = s.lines;
    stats.parsed = s.parsed;
    stats.skipped = s.skipped;
    stats.skippedByReason = s.skippedByReason;
    if (s.error) {
      stats.error = s.error;
      problems.push(`${plan.path}: ${s.error}`);
    }
  }
  progress.filesDone = plans.length;
  progress.bytesRead = fileStats.reduce((sum, f) => sum + f.bytes, 0);
  report(true);

  const shapes = result.table.finish(plans.map((p) => p.path));
  const stats: IngestStats = {
    files: fileStats,
    bytes: progress.bytesRead,
    lines: 0, parsed: 0, skipped: 0, skippedByReason: {},
    calls: 0, shapes: shapes.length, joinedPairs: result.join.joinedPairs, extraCalls: result.extraCalls, tcpPairs: result.join.tcpPairs, gatewayLegs: result.join.gatewayLegs,
    sourceBy: {}, destinationBy: {}, unresolvedSourceByReason: {}, unresolvedDestinationByReason: {}, observed: {},
    join: { unmatched: result.join.unmatched, unmatchedServer: result.join.unmatchedServer, evictedBySize: result.join.evictedBySize, reused: result.join.reused },
    durationMs: Math.round(performance.now() - started),
    workers: result.workers,
    problems,
  };
  for (const f of fileStats) {
    stats.lines += f.lines;
    stats.parsed += f.parsed;
    stats.skipped += f.skipped;
    addCounts(stats.skippedByReason, f.skippedByReason);
  }
  addShapeTotals(stats, shapes);
  forgetLastMatch();
  return { shapes, stats };
}

/**
 * V8 keeps the subject of the last regular-expression match of the realm (for `RegExp.lastMatch`
 * and `$1`); after a read that is a line, a slice of its chunk of input, which it would keep
 * alive until the next match anywhere. A match of the empty string takes its place.
 */
function forgetLastMatch(): void {
  EMPTY_MATCH.exec('');
}

const EMPTY_MATCH = /^/;

export async function runSequential(plans: FilePlan[], context: RunContext): Promise<RunResult> {
  const folder = new Folder(context.resolver, folderOptions(context));
  const stats = plans.length
    ? await foldTasks(plans.map((p) => ({ task: { id: p.index, path: p.path, gzip: p.gzip, ...(p.document ? { document: p.document } : {}) }, reader: p.reader })), folder, {
      ...(context.options.signal ? { signal: context.options.signal } : {}),
      ...(context.options.timeWindow ? { timeWindow: context.options.timeWindow } : {}),
      ...(context.maxLines !== undefined ? { maxLines: context.maxLines } : {}),
      onBatch: context.onBatch,
    })
    : [];
  return { table: folder.table, extraCalls: folder.table.extraCalls, join: folder.join, stats: stats.length ? stats : plans.map(() => emptyTaskStats()), workers: 1 };
}

export function folderOptions(context: RunContext): { joinWindowMs: number; maxPending: number; maxSamples: number; keyHeaders?: string[]; timeBucketMs?: number } {
  return {
    joinWindowMs: context.joinWindowMs, maxPending: context.maxPending, maxSamples: context.maxSamples,
    ...(context.keyHeaders ? { keyHeaders: context.keyHeaders } : {}),
    ...(context.options.timeBucketMs ? { timeBucketMs: context.options.timeBucketMs } : {}),
  };
}

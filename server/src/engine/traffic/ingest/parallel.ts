import { existsSync, promises as fsp } from 'node:fs';
import type { FileHandle } from 'node:fs/promises';
import { join } from 'node:path';
import { Worker } from 'node:worker_threads';
import type { LineReader } from '../readerTypes';
import { Folder, JOIN_COUNTS, type Item, type JoinStats } from './folder';
import { folderOptions, type FilePlan, type RunContext, type RunResult } from './ingest';
import { MAX_LINE_BYTES, splitOffsets } from './lineSource';
import { emptyTaskStats, type TaskStats } from './pipeline';
import { ShapeTable, addCapped, addCounts } from './shapes';
import { TimeParser } from './time';
import type { WorkerInput, WorkerMessage } from './worker';

/**
 * Reads large inputs with several worker threads. The input is cut into time slices: the largest
 * file is cut into equal byte ranges at line starts, the time of the first line of each range is a
 * cut time, and every other file is cut at (about) the same times by binary search. Worker j reads
 * slice j of every file, merged by time, with its own join window. Lines left without their other
 * side within a join window of a cut come back to this thread and are joined here. Counts, shapes
 * and line numbers are merged so that the result is the one a single thread would give (up to
 * which sample lines are kept).
 *
 * Returns undefined when no worker can be started (the caller then reads on this thread).
 */
export async function runParallel(plans: FilePlan[], workers: number, context: RunContext): Promise<RunResult | undefined> {
  const entry = workerEntry(context);
  if (!entry || plans.length === 0) return undefined;
  const signal = context.options.signal;
  const primary = plans.reduce((a, b) => (b.size > a.size ? b : a));
  const primaryOffsets = await splitOffsets(primary.path, primary.size, workers);
  const slices = primaryOffsets.length - 1;
  if (slices < 2) return undefined;
  // cut times: the time of the first line of each range of the largest file
  const cuts: number[] = [];
  for (let j = 1; j < slices; j++) cuts.push(await timeAt(primary.path, primaryOffsets[j]!, primary.size, primary.reader));
  if (cuts.some((t) => Number.isNaN(t)) && plans.length > 1) return undefined;
  const offsets = new Map<FilePlan, number[]>();
  for (const plan of plans) {
    if (plan === primary) { offsets.set(plan, primaryOffsets); continue; }
    const list = [0];
    for (const cut of cuts) list.push(Math.max(list[list.length - 1]!, await offsetForTime(plan, cut)));
    list.push(plan.size);
    offsets.set(plan, list);
  }
  signal?.throwIfAborted();

  // task id = slice * plans.length + position of the plan
  const n = plans.length;
  const inputs: WorkerInput[] = [];
  for (let j = 0; j < slices; j++) {
    inputs.push({
      meshPolicyIngest: true,
      tasks: plans.flatMap((plan, k) => {
        const o = offsets.get(plan)!;
        return [{
          id: j * n + k, path: plan.path, gzip: false, start: o[j]!, end: o[j + 1]!,
          ...(plan.recipe?.format && plan.problem === undefined ? { format: plan.recipe.format, options: plan.recipe.options } : {}),
          ...(plan.problem ? { problem: plan.problem } : {}),
        }];
      }),
      inventory: context.resolver.index.inventory,
      trustDomain: context.trustDomain,
      linkerd: context.linkerd,
      joinWindowMs: context.joinWindowMs,
      maxPending: context.maxPending,
      maxSamples: context.maxSamples,
      ...(context.keyHeaders ? { keyHeaders: context.keyHeaders } : {}),
      ...(context.options.timeWindow ? { timeWindow: context.options.timeWindow } : {}),
      ...(context.options.timeBucketMs ? { timeBucketMs: context.options.timeBucketMs } : {}),
      lowerBound: j === 0 ? -Infinity : (Number.isNaN(cuts[j - 1]!) ? -Infinity : cuts[j - 1]!),
      upperBound: j === slices - 1 ? Infinity : (Number.isNaN(cuts[j]!) ? Infinity : cuts[j]!),
    });
  }

  const results = await runWorkers(entry, inputs, context, signal);

  // line numbers: slice j of a file starts after the lines of slices 0..j-1
  const lineBase: number[] = new Array(slices * n).fill(0);
  for (let k = 0; k < n; k++) {
    let base = 0;
    for (let j = 0; j < slices; j++) {
      lineBase[j * n + k] = base;
      base += results[j]!.stats[k]?.lines ?? 0;
    }
  }
  const remap = (task: number, line: number): [number, number] => [plans[task % n]!.index, lineBase[task]! + line];
  const table = new ShapeTable(context.maxSamples, context.keyHeaders ? new Set(context.keyHeaders.map((h) => h.toLowerCase())) : undefined, context.options.timeBucketMs);
  const join: JoinStats = { joinedPairs: 0, tcpPairs: 0, gatewayLegs: 0, unmatched: 0, unmatchedServer: 0, evictedBySize: 0, reused: 0 };
  const stats: TaskStats[] = plans.map(() => emptyTaskStats());
  const edge: Item[] = [];
  let extraCalls = 0;
  for (let j = 0; j < slices; j++) {
    const r = results[j]!;
    extraCalls = addCapped(extraCalls, r.extraCalls);
    table.merge(r.shapes, remap);
    for (const k of JOIN_COUNTS) join[k] += r.join[k];
    r.stats.forEach((s, k) => {
      const into = stats[k]!;
      into.bytes += s.bytes;
      into.lines += s.lines;
      into.parsed += s.parsed;
      into.skipped += s.skipped;
      addCounts(into.skippedByReason, s.skippedByReason);
      if (s.error && !into.error) into.error = s.error;
    });
    for (const item of r.edge) {
      const [file, line] = remap(item.file, item.line);
      item.file = file;
      item.line = line;
      edge.push(item);
    }
  }
  // the lines near a cut, joined across slices
  if (edge.length) {
    edge.sort((a, b) => a.t - b.t);
    const folder = new Folder(context.resolver, folderOptions(context));
    for (const item of edge) folder.add(item);
    folder.flush();
    table.merge(folder.table.shapes);
    extraCalls = addCapped(extraCalls, folder.table.extraCalls);
    for (const k of JOIN_COUNTS) join[k] += folder.join[k];
  }
  return { table, extraCalls, join, stats, workers: slices };
}

type DoneMessage = Extract<WorkerMessage, { type: 'done' }>;

function workerEntry(context: RunContext): { file: string; argv: string[] } | undefined {
  const beside = join(__dirname, 'worker.js');
  if (existsSync(beside)) return { file: beside, argv: [] };
  return context.options.workerEntry;
}

function runWorkers(entry: { file: string; argv: string[] }, inputs: WorkerInput[], context: RunContext, signal: AbortSignal | undefined): Promise<DoneMessage[]> {
  return new Promise((resolve, reject) => {
    const results: DoneMessage[] = new Array(inputs.length);
    let remaining = inputs.length;
    let settled = false;
    const workers: Worker[] = [];
    const finish = (error?: unknown): void => {
      if (settled) return;
      settled = true;
      signal?.removeEventListener('abort', onAbort);
      for (const w of workers) void w.terminate();
      if (error !== undefined) reject(error);
      else resolve(results);
    };
    const onAbort = (): void => finish(signal!.reason ?? new DOMException('The operation was aborted', 'AbortError'));
    signal?.addEventListener('abort', onAbort, { once: true });
    inputs.forEach((input, j) => {
      const worker = new Worker(entry.file, { workerData: input, argv: entry.argv, stdout: true, stderr: false });
      worker.stdout.resume();
      workers.push(worker);
      worker.on('message', (message: WorkerMessage) => {
        if (message.type === 'progress') context.onBatch(message.bytes, message.lines);
        else if (message.type === 'error') finish(new Error(`ingest worker failed: ${message.message}`));
        else {
          results[j] = message;
          void worker.terminate();
          if (--remaining === 0) finish();
        }
      });
      worker.on('error', (error) => finish(error));
      worker.on('exit', (code) => {
        if (!settled && results[j] === undefined) finish(new Error(`ingest worker exited with code ${code} before finishing`));
      });
    });
  });
}

/** The time of the first timed line at or after `position` (a line start), NaN when none is found nearby. */
async function timeAt(path: string, position: number, size: number, reader: LineReader): Promise<number> {
  const found = await firstTimedLine(path, position, size, reader);
  return found.t;
}

/** The first line start at or after `position` and the time of the first line from there that has one. */
async function firstTimedLine(path: string, position: number, size: number, reader: LineReader): Promise<{ start: number; t: number }> {
  const handle = await fsp.open(path, 'r');
  try {
    const buffer = Buffer.alloc(256 * 1024);
    const { bytesRead } = await handle.read(buffer, 0, buffer.length, Math.max(0, position - 1));
    const data = buffer.subarray(0, bytesRead);
    // the line start at or after position: position itself when the byte before it is a newline
    let offset = position === 0 ? 0 : data.indexOf(10) + 1;
    if (position > 0 && offset === 0) return { start: size, t: NaN };
    const start = position === 0 ? 0 : position - 1 + offset;
    const parser = new TimeParser();
    for (let i = 0; i < 50; i++) {
      const end = data.indexOf(10, offset);
      if (end < 0) break;
      const line = data.toString('utf8', offset, end).replace(/\r$/, '');
      offset = end + 1;
      let result;
      try { result = reader.read(line); } catch { continue; }
      if (result.kind !== 'record') continue;
      const t = parser.parse(result.record.time ?? result.shipper?.time);
      if (!Number.isNaN(t)) return { start, t };
    }
    return { start, t: NaN };
  } finally {
    await handle.close();
  }
}

/** The start of the line after the one that goes on at `position`. */
async function nextLineStart(handle: FileHandle, position: number, size: number): Promise<number> {
  const buffer = Buffer.alloc(64 * 1024);
  while (position < size) {
    const { bytesRead } = await handle.read(buffer, 0, buffer.length, position);
    if (bytesRead <= 0) break;
    const nl = buffer.subarray(0, bytesRead).indexOf(10);
    if (nl >= 0) return position + nl + 1;
    position += bytesRead;
  }
  return size;
}

/**
 * The start of the first line whose time is at or after `cut`, found by binary search down to
 * 64 KiB and then line by line: the cut must fall on the same line as on one thread, or the two
 * sides of a call near it end up in two slices without being near either slice's edge. Lines
 * without a time stay with the lines before them. Files are assumed to be roughly in time order;
 * lines out of order are handed back by the workers (see `isEdge` in worker.ts).
 */
async function offsetForTime(plan: FilePlan, cut: number): Promise<number> {
  if (Number.isNaN(cut)) return 0;
  let lo = 0;
  let hi = plan.size;
  const first = await firstTimedLine(plan.path, 0, plan.size, plan.reader);
  if (Number.isNaN(first.t) || first.t >= cut) return 0;
  while (hi - lo > 64 * 1024) {
    const mid = Math.floor((lo + hi) / 2);
    const at = await firstTimedLine(plan.path, mid, plan.size, plan.reader);
    if (at.start >= plan.size) { hi = mid; continue; }
    if (Number.isNaN(at.t) || at.t < cut) lo = mid;
    else hi = mid;
  }
  const from = lo === 0 ? 0 : (await firstTimedLine(plan.path, lo, plan.size, plan.reader)).start;
  return firstLineAtOrAfter(plan, from, cut);
}

/** Scans lines from the line start `from` to the first one timed at or after `cut`; the file's size when none is. */
async function firstLineAtOrAfter(plan: FilePlan, from: number, cut: number): Promise<number> {
  const parser = new TimeParser();
  const handle = await fsp.open(plan.path, 'r');
  try {
    let buffer = Buffer.alloc(256 * 1024);
    let position = from;
    while (position < plan.size) {
      const { bytesRead } = await handle.read(buffer, 0, buffer.length, position);
      if (bytesRead <= 0) break;
      const data = buffer.subarray(0, bytesRead);
      let offset = 0;
      for (;;) {
        let end = data.indexOf(10, offset);
        if (end < 0) {
          if (position + bytesRead < plan.size) break;
          end = bytesRead; // the last line, without a newline
        }
        const line = data.toString('utf8', offset, end).replace(/\r$/, '');
        const start = position + offset;
        offset = end + 1;
        let read;
        try { read = plan.reader.read(line); } catch { read = undefined; }
        if (read?.kind === 'record') {
          const t = parser.parse(read.record.time ?? read.shipper?.time);
          if (!Number.isNaN(t) && t >= cut) return start;
        }
        if (offset >= bytesRead) break;
      }
      if (offset === 0) {
        // one line longer than the buffer: read it whole, or skip it when it is too long to read
        if (buffer.length < MAX_LINE_BYTES) {
          buffer = Buffer.alloc(buffer.length * 2);
          continue;
        }
        const next = await nextLineStart(handle, position + buffer.length, plan.size);
        if (next >= plan.size) break;
        position = next;
        continue;
      }
      position += offset;
    }
    return plan.size;
  } finally {
    await handle.close();
  }
}

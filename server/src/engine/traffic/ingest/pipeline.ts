import { PARTIAL_LINE, type HeldLineResult, type LineReader, type ParsedLine } from '../readerTypes';
import { describeFsError } from '../../fsErrors';
import { newItem, peekJoinKey, type Folder, type Item } from './folder';
import type { LineKeys } from './lineKeys';
import { isGzipDamage, readLineBatches, TOO_LONG, type LineBatch } from './lineSource';
import type { DocumentFormat } from './documents';
import { IgnoredTrailingBytes } from './gunzip';
import { readDocument } from './documentScanners';
import { TimeParser } from './time';
import type { TimeWindow } from './types';

/** One file, or one byte range of a file, to read with one reader. */
export interface ReadTask {
  /** Index of this task in the caller's location table (sample locations and items refer to it). */
  id: number;
  path: string;
  gzip: boolean;
  start?: number;
  end?: number;
  /** A file that is one JSON document of many log lines (a Loki API response or push body), read whole. */
  document?: DocumentFormat;
}

export interface TaskStats {
  bytes: number;
  lines: number;
  parsed: number;
  skipped: number;
  skippedByReason: Record<string, number>;
  error?: string;
}

export interface PipelineHooks {
  signal?: AbortSignal;
  /** Called after every batch with the bytes and lines it covered. */
  onBatch?: (bytes: number, lines: number) => void;
  chunkBytes?: number;
  /** Lines outside it are skipped ("outside the time window"); see IngestOptions.timeWindow. */
  timeWindow?: TimeWindow;
  /** Lines parsed per task; later lines are skipped with {@link overLineLimit}. */
  maxLines?: number;
}

/** The skip reason of the lines past the per-file line limit. */
export function overLineLimit(maxLines: number): string {
  return `past the line limit (${maxLines.toLocaleString('en-US')} lines per file, set by --max-lines or readers.maxLines)`;
}

export function emptyTaskStats(): TaskStats {
  return { bytes: 0, lines: 0, parsed: 0, skipped: 0, skippedByReason: {} };
}

/** Reads one task batch by batch, turning lines into items (and counting the skipped ones). */
class Cursor {
  items: Item[] = [];
  pos = 0;
  done = false;
  readonly stats = emptyTaskStats();
  private readonly batches: AsyncGenerator<LineBatch>;
  private readonly times = new TimeParser();
  private lineNo = 0;
  private lastT = NaN;
  /** The line of the last line the reader holds, by the name it holds it under (a record it gives at the end is placed there). */
  private readonly heldLines = new Map<string, number>();

  constructor(readonly task: ReadTask, private readonly reader: LineReader, private readonly hooks: PipelineHooks, private readonly keys: LineKeys) {
    const options = {
      gzip: task.gzip,
      ...(task.start !== undefined ? { start: task.start } : {}),
      ...(task.end !== undefined ? { end: task.end } : {}),
      ...(hooks.signal ? { signal: hooks.signal } : {}),
      ...(hooks.chunkBytes ? { chunkBytes: hooks.chunkBytes } : {}),
    };
    this.batches = task.document === undefined ? readLineBatches(task.path, options) : readDocument(task.document, task.path, options);
  }

  /** The time of the next item (NaN sorts first). */
  head(): number {
    const t = this.items[this.pos]!.t;
    return Number.isNaN(t) ? -Infinity : t;
  }

  /** Loads the next batch that has items; false at the end of the task. */
  async fill(): Promise<boolean> {
    this.items = [];
    this.pos = 0;
    while (!this.done) {
      let next: IteratorResult<LineBatch>;
      try {
        next = await this.batches.next();
      } catch (error) {
        if (this.hooks.signal?.aborted) throw error;
        this.stats.error = describeError(error);
        this.done = true;
        this.finishReader();
        break;
      }
      if (next.done) {
        this.done = true;
        this.finishReader();
        break;
      }
      this.parse(next.value);
      this.stats.bytes += next.value.bytes;
      this.hooks.onBatch?.(next.value.bytes, next.value.lines.length);
      if (this.items.length) return true;
    }
    return this.items.length > 0;
  }

  async close(): Promise<void> {
    await this.batches.return(undefined);
  }

  private skip(reason: string): void {
    this.stats.skipped++;
    this.stats.skippedByReason[reason] = (this.stats.skippedByReason[reason] ?? 0) + 1;
  }

  /** What the reader still holds at the end of the task, each result in the place of one partial line. */
  private finishReader(): void {
    let held: HeldLineResult[];
    try {
      held = this.reader.finish?.() ?? [];
    } catch {
      held = [];
    }
    const byReason = this.stats.skippedByReason;
    for (const { held: name, result } of held) {
      if (!byReason[PARTIAL_LINE]) break;
      this.stats.skipped--;
      if (--byReason[PARTIAL_LINE] === 0) delete byReason[PARTIAL_LINE];
      if (result.kind !== 'record') { this.skip(result.reason); continue; }
      const record = result.record;
      if (record.time === undefined && result.shipper?.time) record.time = result.shipper.time;
      let t = this.times.parse(record.time);
      if (Number.isNaN(t)) t = this.lastT;
      const tw = this.hooks.timeWindow;
      if (tw && (t < (tw.since ?? -Infinity) || t >= (tw.until ?? Infinity))) { this.skip('outside the time window'); continue; }
      this.stats.parsed++;
      this.items.push(newItem(result, undefined, undefined, undefined, undefined, undefined, t, this.task.id, this.heldLines.get(name) ?? this.lineNo));
    }
  }

  private parse(batch: LineBatch): void {
    const { lines, at, skips } = batch;
    const reader = this.reader;
    const peek = reader.peek;
    const items = this.items;
    const keys = this.keys;
    const id = this.task.id;
    const stats = this.stats;
    const tw = this.hooks.timeWindow;
    // NaN (no time yet) compares false both ways, so such lines are kept
    const window = tw ? { since: tw.since ?? -Infinity, until: tw.until ?? Infinity } : undefined;
    const maxLines = this.hooks.maxLines ?? Infinity;
    for (let i = 0; i < lines.length; i++) {
      let line = lines[i]!;
      this.lineNo++;
      stats.lines++;
      if (this.lineNo > maxLines) { this.skip(overLineLimit(maxLines)); continue; }
      const reason = skips?.[i];
      if (reason !== undefined) { this.skip(reason); continue; }
      const lineNo = at === undefined ? this.lineNo : at[i]!;
      if (line.length !== 0 && line.charCodeAt(line.length - 1) === 13) line = line.slice(0, -1);
      if (line.length === 0 || (line.charCodeAt(0) <= 32 && line.trim() === '')) { this.skip('blank line'); continue; }
      if (line === TOO_LONG) { this.skip('line too long'); continue; }
      let peeked;
      try {
        peeked = peek === undefined ? undefined : peek.call(reader, line);
      } catch {
        peeked = undefined;
      }
      let result: ParsedLine | undefined;
      let time: string | undefined;
      if (peeked !== undefined) time = peeked.time;
      else {
        let read;
        try {
          read = reader.read(line);
        } catch {
          this.skip('reader error');
          continue;
        }
        if (read.kind !== 'record') {
          if (read.held !== undefined) this.heldLines.set(read.held, lineNo);
          this.skip(read.reason || 'unreadable line');
          continue;
        }
        result = read;
        const record = result.record;
        if (record.time === undefined && result.shipper?.time) record.time = result.shipper.time;
        time = record.time;
      }
      let t = this.times.parse(time);
      if (Number.isNaN(t)) t = this.lastT;
      else this.lastT = t;
      if (window && (t < window.since! || t >= window.until!)) { this.skip('outside the time window'); continue; }
      stats.parsed++;
      if (peeked === undefined) {
        items.push(newItem(result, undefined, undefined, undefined, undefined, undefined, t, id, lineNo));
        continue;
      }
      // the key is interned now (the peek's parts are the reader's scratch array); a new key's
      // line is read now, from what the peek found: every call it takes part in is new. But a
      // line that will wait in the join window (Folder.add) waits with its key alone, and its
      // record is rebuilt from the key when it is folded (readParts): no record nor text waits.
      // A key seen for the first time is not joined into a string here: the line keeps a copy of
      // its parts until the end of its batch (Folder.compactLoose), and most lines are folded
      // before that (the other side of a call is logged right after it).
      const k = keys.intern(peeked);
      const rebuilt = reader.readParts !== undefined;
      if (keys.fresh && reader.readPeeked !== undefined && !(rebuilt && peekJoinKey(peeked) !== undefined)) items.push(newItem(reader.readPeeked(), peeked, k, undefined, undefined, undefined, t, id, lineNo));
      else if (rebuilt) items.push(newItem(undefined, peeked, k, k === undefined ? peeked.parts.slice() : undefined, undefined, reader, t, id, lineNo));
      else items.push(newItem(undefined, peeked, k, undefined, line, reader, t, id, lineNo));
    }
  }
}

/**
 * Reads the tasks and feeds their items to the folder, merged by time across tasks so that the
 * two sides of a call, logged by two proxies into two files, meet inside the join window.
 * Returns each task's counts (in task order). Honours the abort signal between batches.
 */
export async function foldTasks(tasks: { task: ReadTask; reader: LineReader }[], folder: Folder, hooks: PipelineHooks = {}): Promise<TaskStats[]> {
  const cursors = tasks.map(({ task, reader }) => new Cursor(task, reader, hooks, folder.lineKeys));
  try {
    const active: Cursor[] = [];
    await Promise.all(cursors.map(async (c) => { if (await c.fill()) active.push(c); }));
    // keep a stable order (the order of the tasks) for equal times
    active.sort((a, b) => a.task.id - b.task.id);
    while (active.length) {
      hooks.signal?.throwIfAborted();
      if (active.length === 1) {
        const c = active[0]!;
        for (let i = c.pos; i < c.items.length; i++) folder.add(c.items[i]!);
        folder.compactLoose();
        if (!(await c.fill())) active.pop();
        continue;
      }
      // the cursor with the earliest head goes until it passes the next earliest
      let best = 0;
      let bestT = active[0]!.head();
      let secondT = Infinity;
      for (let i = 1; i < active.length; i++) {
        const t = active[i]!.head();
        if (t < bestT) { secondT = bestT; bestT = t; best = i; }
        else if (t < secondT) secondT = t;
      }
      const c = active[best]!;
      const items = c.items;
      let pos = c.pos;
      while (pos < items.length) {
        const item = items[pos]!;
        const t = Number.isNaN(item.t) ? -Infinity : item.t;
        if (t > secondT) break;
        folder.add(item);
        pos++;
      }
      c.pos = pos;
      if (pos >= items.length) {
        folder.compactLoose();
        if (!(await c.fill())) active.splice(best, 1);
      }
    }
    folder.flush();
    return cursors.map((c) => c.stats);
  } finally {
    await Promise.all(cursors.map((c) => c.close().catch(() => undefined)));
  }
}

export function describeError(error: unknown): string {
  const e = error as NodeJS.ErrnoException;
  if (error instanceof IgnoredTrailingBytes) return error.message;
  if (isGzipDamage(error)) return `gzip data is corrupt or truncated (${e.message})`;
  return describeFsError(error);
}

import type { ClickHouseField } from '../../../config/clickhouseConfig';
import type { Mesh } from '../../../meshes';
import { DEFAULT_JSON_KEYS, F, SLOT_COUNT, buildEnvoyRecord } from '../../formats/envoyFields';
import { normalizeTime } from '../../formats/common';
import type { Resolution, Resolver } from '../../ingest/resolve';
import type { AccessRecord } from '../../accessRecord';
import { MAX_COUNT, addCapped, sameShape, shapeHash, shapeKey, sortShapes, withCallIds } from '../../ingest/shapes';
import { copyString } from '../../../strings';
import { TimeParser } from '../../ingest/time';
import type { SampleLocation, TrafficShape } from '../../ingest/types';
import type { ParsedLine } from '../../readerTypes';

/**
 * Grouped rows (query.ts) into shapes. Each row stands for `n` lines that the Envoy reader cannot
 * tell apart; it is read by that reader (buildEnvoyRecord, the code that reads a file's line),
 * resolved by ingest's Resolver exactly as a file's line (with its joined client line, when the
 * query found one), and folded with ingest's shapeKey. Rows that differ only in what folding
 * drops (pods of one workload, headers no policy tests) meet again in one shape here.
 */

/** One row of either query, as JSONEachRow gives it (64-bit integers quoted), once checked (RowFolder.admit). */
export type GroupRow = Record<string, string | number | null>;

export interface FoldCounts {
  /** Lines read: those the folded rows stand for, and the skipped ones. */
  lines: number;
  /** Lines of rows not folded, by reason: `n` for a row with a readable count, else 1. */
  skipped: number;
  skippedByReason: Record<string, number>;
  calls: number;
  joinedPairs: number;
  gatewayLegs: number;
  reused: number;
  unmatched: number;
  /** Of `unmatched`, the server-side lines. */
  unmatchedServer: number;
  /** Rows whose side the reader and the query's SQL rule saw differently (never expected). */
  sideMismatches: number;
}

const SLOT_OF = new Map<string, number>(DEFAULT_JSON_KEYS);

export class RowFolder {
  readonly counts: FoldCounts = { lines: 0, skipped: 0, skippedByReason: {}, calls: 0, joinedPairs: 0, gatewayLegs: 0, reused: 0, unmatched: 0, unmatchedServer: 0, sideMismatches: 0 };
  /** Whether a count went past MAX_COUNT (and stopped there). */
  capped = false;
  /** The shapes as they will be returned (completed in place by finish), by shapeHash of their
   * record (checked with sameShape: no key string is built for a row of a known shape); their
   * first and last times in epoch ms, by position. */
  private readonly positions = new Map<number, number | number[]>();
  private readonly shapes: TrafficShape[] = [];
  /** Each shape's shapeHash, by position (the order of the shapes sorts by it). */
  private readonly hashes: number[] = [];
  private readonly firstMs: number[] = [];
  private readonly lastMs: number[] = [];
  private readonly slots: number[];
  /** The result columns of the fields, per prefix: `f<i>`, `c<i>`. */
  private readonly columns: Record<'f' | 'c', string[]>;
  /** What each result column holds, for the reasons rows are skipped. */
  private readonly columnNames = new Map<string, string>();
  private readonly seen: Uint8Array;
  private readonly labels = new Map<string, Record<string, string> | undefined>();
  private readonly kept = new KeptValues();
  private readonly times = new TimeParser();
  private readonly keyHeaders: ReadonlySet<string> | undefined;
  private readonly resolution: Resolution = { sourceMethod: 'unresolved', destinationMethod: 'unresolved' };

  /**
   * @param fields the query's grouped fields (column `f<i>` / `c<i>` is fields[i])
   * @param mapped every field the table maps: those are the fields "the format has" (`seen`)
   * @param sampleBase `clickhouse://host:port/db.table`, for sample references
   */
  constructor(
    fields: readonly ClickHouseField[],
    mapped: readonly ClickHouseField[],
    private readonly resolver: Resolver,
    private readonly mesh: Mesh | undefined,
    private readonly sampleBase: string,
    private readonly maxSamples: number,
    keyHeaders: readonly string[] | undefined,
  ) {
    this.slots = fields.map((f) => SLOT_OF.get(f) ?? -1);
    this.columns = { f: fields.map((_, i) => `f${i}`), c: fields.map((_, i) => `c${i}`) };
    fields.forEach((field, i) => {
      this.columnNames.set(`f${i}`, `${field} (column f${i})`);
      this.columnNames.set(`c${i}`, `the joined client line's ${field} (column c${i})`);
    });
    for (const [prefix, whose] of [['f', ''], ['c', "the joined client line's "]] as const) {
      for (const field of ['pod', 'pod_namespace', 'pod_labels']) this.columnNames.set(`${prefix}${field}`, `${whose}${field === 'pod' ? 'pod_name' : field} (column ${prefix}${field})`);
    }
    this.seen = new Uint8Array(SLOT_COUNT);
    for (const f of mapped) {
      const slot = SLOT_OF.get(f);
      if (slot !== undefined) this.seen[slot] = 1;
    }
    this.keyHeaders = keyHeaders ? new Set(keyHeaders.map((h) => h.toLowerCase())) : undefined;
  }

  /** A row of the server-side query: lines that are not client-side, with their client line. */
  addServerRow(value: unknown): void {
    const n = this.admit(value);
    if (n === 0) return;
    const row = value as GroupRow;
    const base = this.line(row, 'f');
    const found = Number(row['client_found']) === 1;
    if (base.side === 'outbound') this.tally('sideMismatches', n);
    if (found && base.side === 'inbound') {
      const client = this.line(row, 'c');
      if (client.side !== 'outbound') this.tally('sideMismatches', n);
      this.emit(base, row, n, client);
      return;
    }
    if (found) this.tally('sideMismatches', n);
    if (base.requestId !== undefined && base.side === 'inbound') {
      this.tally('unmatched', n);
      this.tally('unmatchedServer', n);
    }
    this.emit(base, row, n);
  }

  /** A row of the client-side query; `consumed` lines are the other half of a joined call. */
  addClientRow(value: unknown): void {
    const n = this.admit(value);
    if (n === 0) return;
    const row = value as GroupRow;
    const line = this.line(row, 'f');
    if (line.side !== 'outbound') this.tally('sideMismatches', n);
    // as ingest/folder.ts: a gateway's client-side line is also the call the gateway received
    const leg = this.resolver.gatewayLeg(line);
    if (leg) {
      this.tally('gatewayLegs', n);
      this.emit(leg, row, n);
    }
    if (Number(row['consumed']) === 1) {
      this.tally('joinedPairs', n);
      return;
    }
    if (line.requestId !== undefined) this.tally('unmatched', n);
    this.emit(line, row, n);
  }

  /** A row that is not valid JSON (the client could not parse its text): one line skipped. */
  addUnreadableRow(): void {
    this.skip(1, 'a row that is not valid JSON');
  }

  /**
   * The number of lines a row stands for (its count `n`, added to `lines`), or 0 when the row is
   * skipped: it is not an object, its count is not an integer from 1 to MAX_COUNT (one line
   * skipped: how many it stands for is unknown), or a value is neither text, a number nor null
   * (its `n` lines skipped).
   */
  private admit(value: unknown): number {
    if (value === null || typeof value !== 'object' || Array.isArray(value)) return this.skip(1, `a row must be a JSON object, not ${kind(value)}`);
    const row = value as Record<string, unknown>;
    const n = rowCount(row['n']);
    if (n === undefined) return this.skip(1, `a row's count (column n) must be an integer from 1 to ${MAX_COUNT}, not ${countKind(row['n'])}`);
    for (const column in row) {
      const v = row[column];
      if (v === null || typeof v === 'string' || (typeof v === 'number' && Number.isFinite(v))) continue;
      return this.skip(n, `${this.columnNames.get(column) ?? `column ${column.slice(0, 40)}`} must be text or a number, not ${kind(v)}`);
    }
    this.tally('lines', n);
    return n;
  }

  /** Counts `n` lines skipped for `reason`; returns 0, for admit. */
  private skip(n: number, reason: string): 0 {
    this.tally('lines', n);
    this.tally('skipped', n);
    this.counts.skippedByReason[reason] = addCapped(this.counts.skippedByReason[reason] ?? 0, n);
    return 0;
  }

  /** Adds `n` to a count, which stops at MAX_COUNT (`capped` then says so). */
  private tally(count: Exclude<keyof FoldCounts, 'skippedByReason'>, n: number): void {
    const sum = this.counts[count] + n;
    if (sum > MAX_COUNT) this.capped = true;
    this.counts[count] = Math.min(sum, MAX_COUNT);
  }

  /** The joined server lines beyond one per client line are retries that reused its caller. */
  finish(): TrafficShape[] {
    let joinedCalls = 0;
    const out: TrafficShape[] = [];
    for (const s of this.shapes) {
      joinedCalls = addCapped(joinedCalls, s.joined);
      s.samples.sort((a, b) => (a.file < b.file ? -1 : a.file > b.file ? 1 : a.line - b.line));
      s.record.count = s.count;
      if (s.firstTime !== undefined) s.record.time = s.firstTime;
      out.push(s);
    }
    const sorted = withCallIds(sortShapes(out, this.hashes, (shape) => shapeKey(shape.record, this.keyHeaders)));
    this.positions.clear();
    this.shapes.length = 0;
    this.hashes.length = 0;
    this.counts.reused = Math.max(0, joinedCalls - this.counts.joinedPairs);
    return sorted;
  }

  /** The row's line (prefix f) or its joined client line (prefix c), as the Envoy reader reads it. */
  private line(row: GroupRow, prefix: 'f' | 'c'): ParsedLine {
    const v: (string | undefined)[] = new Array(SLOT_COUNT);
    const columns = this.columns[prefix];
    for (let i = 0; i < this.slots.length; i++) {
      const slot = this.slots[i]!;
      if (slot >= 0) v[slot] = present(row[columns[i]!]);
    }
    if (prefix === 'f') v[F.START_TIME] = present(row['first_time']);
    const parsed = buildEnvoyRecord(v, this.seen, this.mesh, undefined);
    const requestId = present(row['sample_request_id']);
    if (prefix === 'f' && Number(row['has_request_id']) === 1 && requestId !== undefined) parsed.requestId = requestId;
    const pod = present(row[`${prefix}pod`]);
    if (pod !== undefined) {
      const namespace = present(row[`${prefix}pod_namespace`]);
      const labels = this.podLabels(present(row[`${prefix}pod_labels`]));
      parsed.shipper = { shipper: 'table', pod, ...(namespace !== undefined ? { namespace } : {}), ...(labels ? { labels } : {}) };
    }
    return parsed;
  }

  private podLabels(text: string | undefined): Record<string, string> | undefined {
    if (text === undefined) return undefined;
    if (this.labels.has(text)) return this.labels.get(text);
    let labels: Record<string, string> | undefined;
    try {
      const value: unknown = JSON.parse(text);
      if (value && typeof value === 'object' && !Array.isArray(value)) {
        labels = {};
        for (const [k, x] of Object.entries(value)) if (typeof x === 'string') labels[k] = x;
      }
    } catch {
      labels = undefined;
    }
    this.labels.set(text, labels);
    return labels;
  }

  private emit(line: ParsedLine, row: GroupRow, n: number, client?: ParsedLine): void {
    const resolution = this.resolver.resolve(line, client, undefined, this.resolution);
    const record = line.record;
    this.tally('calls', n);
    const hash = shapeHash(record, this.keyHeaders);
    const firstTime = record.time;
    const lastTime = normalizeTime(present(row['last_time'])) ?? firstTime;
    const firstMs = this.times.parse(firstTime);
    const lastMs = this.times.parse(lastTime);
    let at = this.find(record, hash);
    // a shape with no room for n more calls (MAX_COUNT) stays as it is: a new one takes its place
    const full = at !== undefined && this.shapes[at]!.count + n > MAX_COUNT ? at : undefined;
    if (full !== undefined) at = undefined;
    let shape: TrafficShape;
    if (at === undefined) {
      at = this.shapes.length;
      shape = {
        record: this.kept.record(record), count: 0,
        ...(firstTime !== undefined ? { firstTime } : {}),
        ...(lastTime !== undefined ? { lastTime } : {}),
        // (most shapes are one row: an array of exactly one sample, not one grown for more)
        samples: this.maxSamples > 0 ? [this.sample(row)] : [], sourceBy: {}, destinationBy: {}, joined: 0,
        ...(line.identityGap ? { identityGap: line.identityGap } : {}),
      };
      const bucket = this.positions.get(hash);
      if (bucket === undefined || bucket === full) this.positions.set(hash, at);
      else if (typeof bucket === 'number') this.positions.set(hash, [bucket, at]);
      else if (full !== undefined && bucket.includes(full)) bucket[bucket.indexOf(full)] = at;
      else bucket.push(at);
      this.shapes.push(shape);
      this.hashes.push(hash);
      this.firstMs.push(firstMs);
      this.lastMs.push(lastMs);
    } else {
      shape = this.shapes[at]!;
      // the record of the earliest call stands for the shape, as in ingest/
      if (firstTime !== undefined && (shape.firstTime === undefined || firstMs < this.firstMs[at]!)) {
        this.firstMs[at] = firstMs;
        shape.firstTime = firstTime;
        shape.record = this.kept.record(record);
      }
      if (lastTime !== undefined && (shape.lastTime === undefined || lastMs > this.lastMs[at]!)) {
        this.lastMs[at] = lastMs;
        shape.lastTime = lastTime;
      }
      if (shape.samples.length < this.maxSamples) shape.samples.push(this.sample(row));
    }
    shape.count += n;
    shape.sourceBy[resolution.sourceMethod] = (shape.sourceBy[resolution.sourceMethod] ?? 0) + n;
    shape.destinationBy[resolution.destinationMethod] = (shape.destinationBy[resolution.destinationMethod] ?? 0) + n;
    if (resolution.sourceReason) (shape.unresolvedSource ??= {})[resolution.sourceReason] = (shape.unresolvedSource[resolution.sourceReason] ?? 0) + n;
    if (resolution.destinationReason) (shape.unresolvedDestination ??= {})[resolution.destinationReason] = (shape.unresolvedDestination[resolution.destinationReason] ?? 0) + n;
    if (client) shape.joined += n;
  }

  /** The position of the shape a record folds into, if there is one. */
  private find(record: AccessRecord, hash: number): number | undefined {
    const bucket = this.positions.get(hash);
    if (bucket === undefined) return undefined;
    if (typeof bucket === 'number') return sameShape(this.shapes[bucket]!.record, record, this.keyHeaders) ? bucket : undefined;
    for (const at of bucket) if (sameShape(this.shapes[at]!.record, record, this.keyHeaders)) return at;
    return undefined;
  }

  /** `clickhouse://host:port/db.table?start_time=<first line's time>&request_id=<its id>`, line 0. */
  private sample(row: GroupRow): SampleLocation {
    const params = new URLSearchParams();
    const time = present(row['first_time']);
    if (time !== undefined) params.set('start_time', time);
    const id = present(row['sample_request_id']);
    if (id !== undefined) params.set('request_id', id);
    const query = params.toString();
    // flat: the concatenation (and URLSearchParams' own) would keep a tree of pieces per sample
    return { file: query ? copyString(`${this.sampleBase}?${query}`) : this.sampleBase, line: 0 };
  }
}

type Party = NonNullable<AccessRecord['source']> | NonNullable<AccessRecord['destination']>;

/**
 * What the shapes keep of their records, one copy of each value: the records of different shapes
 * repeat the same names, addresses, paths and label maps (a row's labels, the inventory's). Kept
 * strings are flat copies (copyString), so none refers to a row's text.
 */
class KeptValues {
  private readonly strings = new Map<string, string>();
  /** By the map's entries in order (the same content in another order stays apart, as it prints). */
  private readonly labelMaps = new Map<string, Record<string, string>>();

  record(record: AccessRecord): AccessRecord {
    const out: Record<string, unknown> = {};
    for (const name in record) {
      const value = record[name as keyof AccessRecord];
      if (value === undefined) continue;
      // (the time differs from shape to shape: a copy, not a value to keep for the others)
      out[name] = name === 'time' && typeof value === 'string' ? copyString(value)
        : (name === 'source' || name === 'destination') && value ? this.party(value as Party) : this.copy(value);
    }
    return out as AccessRecord;
  }

  /** The source or destination: its label map shared with every record that has the same one. */
  private party(party: Party): Party {
    const out: Record<string, unknown> = {};
    for (const name in party) {
      const value = party[name as keyof Party];
      if (value !== undefined) out[this.text(name)] = name === 'labels' && value ? this.labelMap(value as Record<string, string>) : this.copy(value);
    }
    return out as Party;
  }

  private text(value: string): string {
    let kept = this.strings.get(value);
    if (kept === undefined) {
      kept = copyString(value);
      this.strings.set(kept, kept);
    }
    return kept;
  }

  private copy(value: unknown): unknown {
    if (typeof value === 'string') return this.text(value);
    if (value === null || typeof value !== 'object') return value;
    if (Array.isArray(value)) return value.map((item) => this.copy(item));
    const out: Record<string, unknown> = {};
    for (const name in value) {
      const item = (value as Record<string, unknown>)[name];
      if (item !== undefined) out[this.text(name)] = this.copy(item);
    }
    return out;
  }

  private labelMap(labels: Record<string, string>): Record<string, string> {
    let id = '';
    for (const name in labels) id += `${name}\u0000${labels[name]}\u0001`;
    let kept = this.labelMaps.get(id);
    if (kept === undefined) {
      kept = this.copy(labels) as Record<string, string>;
      this.labelMaps.set(copyString(id), kept);
    }
    return kept;
  }
}

/** A row's count: an integer from 1 to MAX_COUNT, as a number or (64-bit integers are quoted) as decimal digits. */
function rowCount(value: unknown): number | undefined {
  const n = typeof value === 'number' ? value : typeof value === 'string' && /^[1-9][0-9]{0,15}$/.test(value) ? Number(value) : undefined;
  return n !== undefined && Number.isInteger(n) && n >= 1 && n <= MAX_COUNT ? n : undefined;
}

/** What a value is, for a reason: a kind, not the value (the reasons stay few). */
function kind(value: unknown): string {
  if (value === undefined) return 'missing';
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'an array';
  if (typeof value === 'string') return 'text';
  return typeof value === 'object' ? 'an object' : `a ${typeof value}`;
}

/** What a count that rowCount refused is. */
function countKind(value: unknown): string {
  if (typeof value === 'string' && /^-?[0-9]+$/.test(value)) return 'a whole number out of range';
  if (typeof value !== 'number') return kind(value);
  return !Number.isFinite(value) ? 'a number too large' : Number.isInteger(value) ? 'a whole number out of range' : 'a number that is not whole';
}

/** Envoy's empty values (`-`, `""`, null) are no value. */
function present(value: string | number | null | undefined): string | undefined {
  if (value === null || value === undefined) return undefined;
  const text = typeof value === 'number' ? String(value) : value;
  return text === '' || text === '-' ? undefined : text;
}

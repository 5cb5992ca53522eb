import type { AccessRecord } from '../accessRecord';
import type { IngestStats, ResolutionMethod, SampleLocation, TrafficShape } from './types';
import { mix } from '../hash';
import { copyString, sameStrings } from '../../strings';
import { callIdRows, ValueIds } from '../callIds';

/**
 * Folding: identical calls become one shape. Identical means the same identities, destination,
 * port, protocol, method, path (query included), host, SNI, the headers and JWT facts a policy can
 * test, and the same outcome (status, flags, details, the denier and the dry-run results logged,
 * observed). Values that differ on every request (x-request-id, trace ids, token timestamps) are
 * left out of the key.
 */

const SEP = '\u0001';
const NULL = '\u0000';

/** Headers that identify one request rather than a kind of request. */
export const VOLATILE_HEADERS = new Set([
  'x-request-id', 'x-b3-traceid', 'x-b3-spanid', 'x-b3-parentspanid', 'x-b3-sampled', 'b3', 'traceparent', 'tracestate',
  'x-amzn-trace-id', 'x-cloud-trace-context', 'x-datadog-trace-id', 'x-datadog-parent-id', 'uber-trace-id', 'x-ot-span-context',
  'x-envoy-attempt-count', 'x-envoy-expected-rq-timeout-ms', 'content-length', 'date', 'l5d-ctx-trace',
]);

/** JWT claims that change with every token. */
export const VOLATILE_CLAIMS = new Set(['exp', 'iat', 'nbf', 'jti', 'auth_time']);

/** Labels decide which policies select a workload, so records that differ in them stay apart. */
function labelKey(labels: Record<string, string> | undefined): string {
  if (!labels) return '';
  const out: string[] = [];
  pushLabels(out, labels);
  return out.join('');
}

/** The key part of each label map: maps come from the inventory, shared by every call of a workload. */
const labelParts = new WeakMap<Record<string, string>, string>();

function pushLabels(out: string[], labels: Record<string, string> | undefined): void {
  if (!labels) return;
  let part = labelParts.get(labels);
  if (part === undefined) {
    const k: string[] = [];
    for (const name of Object.keys(labels).sort()) k.push(SEP, 'l:', name, '=', labels[name]!);
    part = k.join('');
    labelParts.set(labels, part);
  }
  out.push(part);
}

function sameLabels(a: Record<string, string> | undefined, b: Record<string, string> | undefined): boolean {
  if (a === b) return true;
  if (!a || !b) return labelKey(a) === labelKey(b);
  let n = 0;
  for (const name in a) {
    if (b[name] !== a[name]) return false;
    n++;
  }
  for (const name in b) if (--n < 0 || a[name] === undefined) return false;
  return n === 0;
}

function v(value: string | number | undefined | null): string {
  return value === undefined ? '' : value === null ? NULL : typeof value === 'number' ? String(value) : value;
}

/**
 * The folding key of a record. `keyHeaders`, when given, limits the request headers that keep
 * calls apart to those names (lower case), e.g. the headers the workspace's policies test; the
 * other headers of a shape are then those of its first call.
 * The key is built by one `join`: a flat string. (Built with `+=`, it would be a rope of some
 * forty pieces, and every later read of its characters, hashing or comparing, walks the rope.)
 */
export function shapeKey(r: AccessRecord, keyHeaders?: ReadonlySet<string>): string {
  const k: string[] = [v(r.mesh), SEP, v(r.protocol), SEP];
  const s = r.source;
  if (s) {
    k.push(v(s.principal), SEP, v(s.namespace), SEP, v(s.serviceAccount), SEP, v(s.workload), SEP, v(s.service), SEP, v(s.ip), SEP, v(s.remoteIp));
    if (s.principalUnknown) k.push(SEP, '?');
    if (s.principalInferred) k.push(SEP, '~');
    if (s.notLoopback) k.push(SEP, '!lo');
    pushLabels(k, s.labels);
  }
  k.push('\u0002');
  const d = r.destination;
  if (d) {
    k.push(v(d.namespace), SEP, v(d.workload), SEP, v(d.service), SEP, v(d.serviceAccount), SEP, v(d.ip), SEP, v(d.port));
    pushLabels(k, d.labels);
  }
  k.push('\u0002');
  const q = r.request;
  if (q) {
    k.push(v(q.method), SEP, v(q.path), SEP, v(q.host));
    const h = q.headers;
    if (h) {
      const names = Object.keys(h);
      if (names.length > 1) names.sort();
      for (const name of names) {
        const lower = name.toLowerCase();
        if (keyHeaders ? keyHeaders.has(lower) : !VOLATILE_HEADERS.has(lower)) k.push(SEP, 'h:', lower, '=', h[name]!);
      }
    }
    if (q.recordedHeaders) k.push(SEP, 'rh:', q.recordedHeaders.join(','));
    if (q.jwtUnknown) k.push(SEP, 'jwt?');
    const j = q.jwt;
    if (j) {
      k.push(SEP, 'jwt:', j.valid === undefined ? '' : j.valid ? '1' : '0', SEP, v(j.issuer), SEP, v(j.subject), SEP, v(j.presenter), SEP, j.audiences ? j.audiences.slice().sort().join(',') : '');
      if (j.claims) k.push(SEP, stableClaims(j.claims));
    }
  }
  k.push('\u0002', v(r.sni));
  const o = r.response;
  if (o) {
    k.push(SEP, v(o.status), SEP, v(o.flags), SEP, v(o.details));
    if (o.deniedBy !== undefined) k.push(SEP, 'by:', o.deniedBy);
    const dry = o.dryRun;
    if (dry) k.push(SEP, 'dry:', v(dry.allow?.result), SEP, v(dry.allow?.policy), SEP, v(dry.deny?.result), SEP, v(dry.deny?.policy));
  }
  k.push(SEP, v(r.observed));
  return k.join('');
}

/** A hash of the fields {@link shapeKey} covers (the JWT only by its presence; `response.deniedBy`
 * not at all: Istio's readers derive it from the details; Linkerd's take it from the proxy's
 * events, so Linkerd denials of one detail on different servers share a bucket, which sameShape
 * tells apart: rare enough not to change every shape's hash, and with it the order of equal counts). A record without
 * `response.dryRun` hashes as before the field existed. */
export function shapeHash(r: AccessRecord, keyHeaders?: ReadonlySet<string>): number {
  let x = 0x811c9dc5;
  x = mix(x, r.mesh);
  x = mix(x, r.protocol);
  const s = r.source;
  if (s) {
    x = mix(x, s.principal); x = mix(x, s.namespace); x = mix(x, s.serviceAccount); x = mix(x, s.workload);
    x = mix(x, s.service); x = mix(x, s.ip); x = mix(x, s.remoteIp);
  }
  const d = r.destination;
  if (d) {
    x = mix(x, d.namespace); x = mix(x, d.workload); x = mix(x, d.service); x = mix(x, d.serviceAccount);
    x = mix(x, d.ip); x = mix(x, d.port);
  }
  const q = r.request;
  if (q) {
    x = mix(x, q.method); x = mix(x, q.path); x = mix(x, q.host);
    const h = q.headers;
    if (h) {
      let sum = 0;
      for (const name in h) {
        const lower = name.toLowerCase();
        if (keyHeaders ? keyHeaders.has(lower) : !VOLATILE_HEADERS.has(lower)) sum = (sum + mix(mix(0x811c9dc5, lower), h[name])) | 0;
      }
      x = mix(x, sum);
    }
    if (q.jwt) x = mix(x, 'jwt');
  }
  x = mix(x, r.sni);
  const o = r.response;
  if (o) {
    x = mix(x, o.status); x = mix(x, o.flags); x = mix(x, o.details);
    const dry = o.dryRun;
    if (dry) { x = mix(x, dry.allow?.result); x = mix(x, dry.allow?.policy); x = mix(x, dry.deny?.result); x = mix(x, dry.deny?.policy); }
  }
  x = mix(x, r.observed);
  // 30 bits: a small integer for V8, so the bucket map does not box its keys
  return x & 0x3fffffff;
}

function sameHeaders(a: Record<string, string> | undefined, b: Record<string, string> | undefined, keyHeaders: ReadonlySet<string> | undefined): boolean {
  if (a === b) return true;
  const count = (h: Record<string, string> | undefined): number => {
    let n = 0;
    if (h) for (const name in h) if (keyHeaders ? keyHeaders.has(name.toLowerCase()) : !VOLATILE_HEADERS.has(name.toLowerCase())) n++;
    return n;
  };
  const n = count(a);
  if (n !== count(b)) return false;
  if (n === 0) return true;
  for (const name in a) {
    const lower = name.toLowerCase();
    if (keyHeaders ? !keyHeaders.has(lower) : VOLATILE_HEADERS.has(lower)) continue;
    if (b![name] !== a[name]) return lower === name ? false : shapeHeadersSlow(a, b, keyHeaders);
  }
  return true;
}

function shapeHeadersSlow(a: Record<string, string> | undefined, b: Record<string, string> | undefined, keyHeaders: ReadonlySet<string> | undefined): boolean {
  return shapeKey({ request: { headers: a ?? {} } }, keyHeaders) === shapeKey({ request: { headers: b ?? {} } }, keyHeaders);
}

/** Whether two records fold into the same shape: `shapeKey(a) === shapeKey(b)`, without building keys. */
export function sameShape(a: AccessRecord, b: AccessRecord, keyHeaders?: ReadonlySet<string>): boolean {
  if (a.mesh !== b.mesh || a.protocol !== b.protocol || a.sni !== b.sni || a.observed !== b.observed) return false;
  const s = a.source;
  const t = b.source;
  if (s !== t) {
    if (!s || !t) return shapeKey(a, keyHeaders) === shapeKey(b, keyHeaders);
    if (s.principal !== t.principal || s.namespace !== t.namespace || s.serviceAccount !== t.serviceAccount || s.workload !== t.workload
      || s.service !== t.service || s.ip !== t.ip || s.remoteIp !== t.remoteIp || !sameLabels(s.labels, t.labels)
      || (s.principalUnknown === true) !== (t.principalUnknown === true) || (s.principalInferred === true) !== (t.principalInferred === true) || (s.notLoopback === true) !== (t.notLoopback === true)) return false;
  }
  const d = a.destination;
  const e = b.destination;
  if (d !== e) {
    if (!d || !e) return shapeKey(a, keyHeaders) === shapeKey(b, keyHeaders);
    if (d.namespace !== e.namespace || d.workload !== e.workload || d.service !== e.service || d.serviceAccount !== e.serviceAccount
      || d.ip !== e.ip || d.port !== e.port || !sameLabels(d.labels, e.labels)) return false;
  }
  const o = a.response;
  const p = b.response;
  if (o !== p) {
    if (!o || !p) return shapeKey(a, keyHeaders) === shapeKey(b, keyHeaders);
    if (o.status !== p.status || o.flags !== p.flags || o.details !== p.details || o.deniedBy !== p.deniedBy || !sameDryRun(o.dryRun, p.dryRun)) return false;
  }
  const q = a.request;
  const r = b.request;
  if (q === r) return true;
  if (!q || !r || q.jwt || r.jwt) return shapeKey(a, keyHeaders) === shapeKey(b, keyHeaders);
  return q.method === r.method && q.path === r.path && q.host === r.host && sameHeaders(q.headers, r.headers, keyHeaders)
    && sameStrings(q.recordedHeaders, r.recordedHeaders) && (q.jwtUnknown === true) === (r.jwtUnknown === true);
}

type DryRun = NonNullable<AccessRecord['response']>['dryRun'];

function sameDryRun(a: DryRun, b: DryRun): boolean {
  if (a === b) return true;
  if (!a || !b) return false;
  return a.allow?.result === b.allow?.result && a.allow?.policy === b.allow?.policy && a.deny?.result === b.deny?.result && a.deny?.policy === b.deny?.policy;
}

function stableClaims(claims: Record<string, unknown>): string {
  const names = Object.keys(claims).filter((n) => !VOLATILE_CLAIMS.has(n)).sort();
  return names.map((n) => `${n}=${JSON.stringify(sortDeep(claims[n]))}`).join(SEP);
}

function sortDeep(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(sortDeep);
  if (value && typeof value === 'object') {
    // (a null prototype: a claim named __proto__ is a key like any other, not the object's prototype)
    const out: Record<string, unknown> = Object.create(null) as Record<string, unknown>;
    for (const key of Object.keys(value).sort()) out[key] = sortDeep((value as Record<string, unknown>)[key]);
    return out;
  }
  return value;
}

/** A shape while lines are being folded; plain data, so workers can send it over. */
export interface ShapeAcc {
  record: AccessRecord;
  /** shapeHash of the record. */
  hash: number;
  count: number;
  firstMs: number;
  firstTime?: string;
  /** With firstTime SUB_MS: the digits after its milliseconds (see subMillis). */
  firstSub?: number;
  lastMs: number;
  lastTime?: string;
  lastSub?: number;
  /** Sample locations as [fileIndex, line, fileIndex, line, ...]. */
  samples: number[];
  /** Calls per way the caller was resolved; a method alone while every call was resolved that way
   * (most shapes: one object per shape less while the input is read). */
  sourceBy: MethodTally;
  destinationBy: MethodTally;
  unresolvedSource?: Record<string, number>;
  unresolvedDestination?: Record<string, number>;
  joined: number;
  identityGap?: string;
  /** Calls per time bucket start (epoch ms), when the table counts them. */
  callsByTime?: Record<string, number>;
}

type PlainConstructor = new () => Record<string, unknown>;

/** A constructor of plain objects (prototype Object.prototype) of its own. */
function plainConstructor(): PlainConstructor {
  // (a function per call: V8 keeps the sizing per function, see PlainObjects)
  const make = function plain(): void { /* the caller adds the fields */ } as unknown as PlainConstructor;
  make.prototype = Object.prototype;
  return make;
}

/**
 * Constructors of the objects of detached records, one per place in a record. V8 sizes the
 * objects of a constructor to the fields they get (in-object slack tracking), where an empty
 * literal has room for four fields and keeps the rest in a separate store: records have eight to
 * ten, peers six or seven (24-40 bytes less per object, about a tenth of a shape). The objects are
 * plain to every reader: their prototype is Object.prototype.
 */
const PlainObjects = new Map<string, PlainConstructor>(
  ['record', 'source', 'destination', 'request', 'response', 'headers', 'jwt'].map((place) => [place, plainConstructor()]),
);
const RecordObject = PlainObjects.get('record')!;

/** Calls per resolution method, or the one method of all of a shape's calls (undefined: no call yet). */
export type MethodTally = ResolutionMethod | Partial<Record<ResolutionMethod, number>> | undefined;

/** A tally after `n` more calls resolved by `method`, of `total` calls now. */
function tallyMethod(by: MethodTally, method: ResolutionMethod, n: number, total: number): MethodTally {
  if (by === undefined || by === method) return method;
  if (typeof by === 'string') return { [by]: total - n, [method]: n };
  by[method] = (by[method] ?? 0) + n;
  return by;
}

/** A tally as counts per method, for `total` calls. */
function methodCounts(by: MethodTally, total: number): Partial<Record<ResolutionMethod, number>> {
  return by === undefined ? {} : typeof by === 'string' ? { [by]: total } : by;
}

/**
 * The finished shapes' tallies of one method: one frozen object per method and count, shared by
 * the shapes (most shapes have one call, resolved one way), instead of one object per shape.
 */
class SharedTallies {
  private readonly byMethod = new Map<ResolutionMethod, Map<number, Partial<Record<ResolutionMethod, number>>>>();

  of(by: MethodTally, total: number): Partial<Record<ResolutionMethod, number>> {
    if (typeof by !== 'string') return methodCounts(by, total);
    let byCount = this.byMethod.get(by);
    if (byCount === undefined) this.byMethod.set(by, (byCount = new Map()));
    let shared = byCount.get(total);
    if (shared === undefined) byCount.set(total, (shared = Object.freeze({ [by]: total })));
    return shared;
  }
}

/** Two tables' tallies of one shape together (`a` of `aCalls` calls, `b` of `bCalls`). */
function mergeTallies(a: MethodTally, aCalls: number, b: MethodTally, bCalls: number): MethodTally {
  if (b === undefined || a === b) return a ?? b;
  if (a === undefined) return b;
  const out = { ...methodCounts(a, aCalls) };
  addCounts(out, methodCounts(b, bCalls));
  return out;
}

export interface FoldedCall {
  record: AccessRecord;
  t: number;
  file: number;
  line: number;
  /** The other side's line, when two lines were joined into this call. */
  file2?: number | undefined;
  line2?: number | undefined;
  sourceMethod: ResolutionMethod;
  sourceReason?: string | undefined;
  destinationMethod: ResolutionMethod;
  destinationReason?: string | undefined;
  identityGap?: string | undefined;
}

/**
 * The most calls one shape counts: 2^53 - 1, the largest count a double holds exactly and the
 * largest `count` an access record may give. Calls of a shape beyond it are counted on another
 * shape of the same call (a second record when written out), so no call is dropped and every
 * written record reads back.
 */
export const MAX_COUNT = Number.MAX_SAFE_INTEGER;

/** `a + b`, at most MAX_COUNT. */
export function addCapped(a: number, b: number): number {
  const sum = a + b;
  return sum > MAX_COUNT ? MAX_COUNT : sum;
}

/** A shape of no calls yet (`count` sets its times from the first call). */
function emptyShape(record: AccessRecord, hash: number, t: number, identityGap: string | undefined): ShapeAcc {
  // (a literal with a spread of an optional field would be built by V8's slow generic path, for
  // every new shape; every field present from the start: one object shape, which adding the
  // times and the other optional fields later would change, shape after shape)
  return {
    record, hash, count: 0, firstMs: t, firstTime: undefined, firstSub: undefined, lastMs: t, lastTime: undefined, lastSub: undefined,
    samples: [], sourceBy: undefined, destinationBy: undefined, unresolvedSource: undefined, unresolvedDestination: undefined, joined: 0,
    identityGap, callsByTime: undefined,
  };
}

export class ShapeTable {
  /** Every shape, in order of appearance. */
  readonly shapes: ShapeAcc[] = [];
  /** Calls beyond one that records with a `count` above 1 stood for (canonical access records). */
  extraCalls = 0;
  /** By shapeHash: the lookup done for every call (no key string is built for known shapes). */
  private readonly buckets = new Map<number, ShapeAcc | ShapeAcc[]>();

  constructor(private readonly maxSamples = 3, private readonly keyHeaders?: ReadonlySet<string>, private readonly timeBucketMs?: number) {}

  private find(record: AccessRecord, hash: number): ShapeAcc | undefined {
    const bucket = this.buckets.get(hash);
    if (bucket === undefined) return undefined;
    if (!Array.isArray(bucket)) return sameShape(bucket.record, record, this.keyHeaders) ? bucket : undefined;
    for (const shape of bucket) if (sameShape(shape.record, record, this.keyHeaders)) return shape;
    return undefined;
  }

  private insert(shape: ShapeAcc, hash: number): void {
    this.shapes.push(shape);
    const bucket = this.buckets.get(hash);
    if (bucket === undefined) this.buckets.set(hash, shape);
    else if (Array.isArray(bucket)) bucket.push(shape);
    else this.buckets.set(hash, [bucket, shape]);
  }

  /** Folds one call (a record with its resolution) into its shape; returns the shape. */
  add(call: FoldedCall): ShapeAcc {
    const hash = shapeHash(call.record, this.keyHeaders);
    let shape = this.find(call.record, hash);
    const time = call.record.time;
    if (!shape) {
      shape = emptyShape(this.detach(call.record), hash, call.t, call.identityGap || undefined);
      this.insert(shape, hash);
    }
    const raw = call.record.count;
    return this.count(shape, call, time, typeof raw === 'number' && raw > 1 && Number.isFinite(raw) ? Math.floor(raw) : 1);
  }

  /**
   * Counts `n` more calls of a shape: `call` gives their time, lines and resolution (its record is
   * not read). Returns the shape counted on: when the shape has no room for `n` more calls (see
   * MAX_COUNT), the shape of the same call that took its place, or a new one that does.
   */
  count(shape: ShapeAcc, call: FoldedCall, time: string | undefined, n: number): ShapeAcc {
    if (shape.count + n > MAX_COUNT) {
      const current = this.find(shape.record, shape.hash) ?? shape;
      if (current.count + n <= MAX_COUNT) shape = current;
      else {
        shape = emptyShape(this.detach(current.record), current.hash, call.t, current.identityGap);
        this.shapes.push(shape);
        this.replace(current, shape);
      }
    }
    if (time !== undefined) {
      // Times in toISOString()'s own form are rebuilt from the milliseconds at the end, and so are
      // those with more digits after the milliseconds (Linkerd's nanoseconds: the digits are kept
      // as a number); others are copied (a time cut out of a line would keep the line's whole
      // chunk of input alive). The last time changes with nearly every call: no string per call.
      if (shape.firstTime === undefined || call.t < shape.firstMs) {
        shape.firstMs = call.t;
        shape.firstTime = this.timeMark(time, call.t);
        if (shape.firstTime === SUB_MS) shape.firstSub = this.sub;
      }
      if (shape.lastTime === undefined || call.t > shape.lastMs) {
        shape.lastMs = call.t;
        shape.lastTime = this.timeMark(time, call.t);
        if (shape.lastTime === SUB_MS) shape.lastSub = this.sub;
      }
    }
    this.extraCalls = addCapped(this.extraCalls, n - 1);
    shape.count += n;
    if (shape.samples.length === 0 && this.maxSamples > 0) {
      // (a literal of exactly the first call's lines: most shapes have that one call, and an
      // empty array grown by push would keep room for 17 numbers)
      shape.samples = call.file2 !== undefined && this.maxSamples > 1 ? [call.file, call.line, call.file2, call.line2!] : [call.file, call.line];
    } else if (shape.samples.length < this.maxSamples * 2) {
      shape.samples.push(call.file, call.line);
      if (call.file2 !== undefined && shape.samples.length < this.maxSamples * 2) shape.samples.push(call.file2, call.line2!);
    }
    shape.sourceBy = tallyMethod(shape.sourceBy, call.sourceMethod, n, shape.count);
    shape.destinationBy = tallyMethod(shape.destinationBy, call.destinationMethod, n, shape.count);
    if (call.sourceReason) (shape.unresolvedSource ??= {})[call.sourceReason] = (shape.unresolvedSource[call.sourceReason] ?? 0) + n;
    if (call.destinationReason) (shape.unresolvedDestination ??= {})[call.destinationReason] = (shape.unresolvedDestination[call.destinationReason] ?? 0) + n;
    if (call.file2 !== undefined) shape.joined += n;
    if (this.timeBucketMs && time !== undefined) {
      const bucket = String(Math.floor(call.t / this.timeBucketMs) * this.timeBucketMs);
      const byTime = (shape.callsByTime ??= {});
      byTime[bucket] = (byTime[bucket] ?? 0) + n;
    }
    return shape;
  }

  /** `next` takes the place of `full` in its bucket (`full` stays among the shapes). */
  private replace(full: ShapeAcc, next: ShapeAcc): void {
    const bucket = this.buckets.get(full.hash);
    if (bucket === full) this.buckets.set(full.hash, next);
    else if (Array.isArray(bucket) && bucket.includes(full)) bucket[bucket.indexOf(full)] = next;
    else this.insert(next, next.hash);
  }

  /**
   * A copy of a record that shares no string with the line it came from (see copyString), with
   * every string interned: shapes repeat the same names, addresses and paths, and keep one copy
   * each. Label maps (the inventory's, shared by every call of a workload) are copied once.
   */
  private detach(record: AccessRecord): AccessRecord {
    const out = new RecordObject();
    for (const key in record) {
      const value = (record as Record<string, unknown>)[key];
      // the time becomes the shape's first time in finish: a placeholder keeps its place, and no
      // per-call time enters the pool
      if (value !== undefined) setField(out, key, key === 'time' ? '' : copyTree(value, this.internText, key, this.copies));
    }
    // (finish sets the count of every shape's record: a field from the start, in the object)
    if (out.count === undefined) out.count = 0;
    return out as AccessRecord;
  }

  /** What a shape keeps of a call's time: ISO, SUB_MS (the digits then in `sub`) or a copy. */
  private timeMark(time: string, t: number): string {
    if (isoForm(time)) return ISO;
    const sub = this.subMillis(time, t);
    if (sub < 0) return copyString(time);
    this.sub = sub;
    return SUB_MS;
  }

  private sub = 0;

  /**
   * For `YYYY-MM-DDTHH:MM:SS.mmmD…Z` with 1 to 6 digits D after the milliseconds, whose first 23
   * characters `new Date(t).toISOString()` gives back: the digits as value · 8 + their count.
   * Else -1. The date and hour are checked against `t` once per hour of lines.
   */
  private subMillis(time: string, t: number): number {
    const n = time.length;
    if (n < 25 || n > 30 || time.charCodeAt(n - 1) !== 90 /* Z */ || time.charCodeAt(19) !== 46 /* . */) return -1;
    if (!time.startsWith(this.checkedHour) || Math.floor(t / 3_600_000) !== this.checkedHourMs) {
      const hourMs = Math.floor(t / 3_600_000);
      if (!Number.isFinite(hourMs) || new Date(hourMs * 3_600_000).toISOString().slice(0, 14) !== time.slice(0, 14)) return -1;
      // (a copy: a slice of the line's time would keep its chunk of input alive)
      this.checkedHour = copyString(time.slice(0, 14));
      this.checkedHourMs = hourMs;
    }
    // minutes, seconds and milliseconds as toISOString writes them, and t agreeing with them
    if (time.charCodeAt(16) !== 58 || time.charCodeAt(13) !== 58) return -1;
    const minutes = twoDigits(time, 14);
    const seconds = twoDigits(time, 17);
    let ms = 0;
    for (let i = 20; i < 23; i++) {
      const d = time.charCodeAt(i) - 48;
      if (d < 0 || d > 9) return -1;
      ms = ms * 10 + d;
    }
    if (minutes < 0 || minutes > 59 || seconds < 0 || seconds > 59 || t - this.checkedHourMs * 3_600_000 !== minutes * 60_000 + seconds * 1000 + ms) return -1;
    let value = 0;
    for (let i = 23; i < n - 1; i++) {
      const d = time.charCodeAt(i) - 48;
      if (d < 0 || d > 9) return -1;
      value = value * 10 + d;
    }
    return value * 8 + (n - 24);
  }

  /** The `YYYY-MM-DDTHH:` that subMillis checked last, and its hour since the epoch. */
  private checkedHour = '\u0000';
  private checkedHourMs = NaN;

  /** Copies of label maps and of lists of recorded headers, by the object they copy (see detach). */
  private readonly copies = new WeakMap<object, object>();
  private readonly internText = (value: string): string => this.intern(value);
  private readonly strings = new Map<string, string>();

  intern(value: string): string {
    // (short strings too: V8 copies them when it cuts them out of a line, so there is nothing to
    // detach, but methods, namespaces, addresses and response details repeat in nearly every
    // shape, and one heap string each is a tenth of a shape's memory)
    if (value.length === 0) return value;
    let kept = this.strings.get(value);
    if (kept === undefined) {
      kept = copyString(value);
      this.strings.set(kept, kept);
    }
    return kept;
  }


  /** Folds another table's shapes in (from a worker); `remap` turns its sample file indexes into ours. */
  merge(other: Iterable<ShapeAcc>, remap: (file: number, line: number) => [number, number] = (f, l) => [f, l]): void {
    for (const o of other) {
      const samples: number[] = [];
      for (let i = 0; i < o.samples.length; i += 2) samples.push(...remap(o.samples[i]!, o.samples[i + 1]!));
      const shape = this.find(o.record, o.hash);
      if (!shape || shape.count + o.count > MAX_COUNT) {
        const added: ShapeAcc = { ...o, samples: samples.slice(0, this.maxSamples * 2) };
        if (shape) {
          this.shapes.push(added);
          this.replace(shape, added);
        } else this.insert(added, o.hash);
        continue;
      }
      shape.sourceBy = mergeTallies(shape.sourceBy, shape.count, o.sourceBy, o.count);
      shape.destinationBy = mergeTallies(shape.destinationBy, shape.count, o.destinationBy, o.count);
      shape.count += o.count;
      if (o.firstTime !== undefined && (shape.firstTime === undefined || o.firstMs < shape.firstMs)) { shape.firstMs = o.firstMs; shape.firstTime = o.firstTime; shape.firstSub = o.firstSub; }
      if (o.lastTime !== undefined && (shape.lastTime === undefined || o.lastMs > shape.lastMs)) { shape.lastMs = o.lastMs; shape.lastTime = o.lastTime; shape.lastSub = o.lastSub; }
      for (let i = 0; i < samples.length && shape.samples.length < this.maxSamples * 2; i += 2) shape.samples.push(samples[i]!, samples[i + 1]!);
      if (o.unresolvedSource) addCounts(shape.unresolvedSource ??= {}, o.unresolvedSource);
      if (o.unresolvedDestination) addCounts(shape.unresolvedDestination ??= {}, o.unresolvedDestination);
      shape.joined += o.joined;
      shape.identityGap ??= o.identityGap;
      if (o.callsByTime) addCounts(shape.callsByTime ??= {}, o.callsByTime);
    }
  }

  /**
   * The shapes, most frequent first (sortShapes), with their records' `count` and `time` filled
   * in. The table's records become the shapes' records (no copy): the table is done after this.
   */
  finish(files: string[]): TrafficShape[] {
    const out: TrafficShape[] = new Array(this.shapes.length);
    const hashes = new Uint32Array(this.shapes.length);
    const tallies = new SharedTallies();
    for (let i = 0; i < this.shapes.length; i++) {
      const s = this.shapes[i]!;
      // (an array grown by push keeps room for 17 elements: most shapes have one sample)
      const samples: SampleLocation[] = new Array(s.samples.length >> 1);
      for (let k = 0; k < samples.length; k++) samples[k] = { file: files[s.samples[2 * k]!] ?? '?', line: s.samples[2 * k + 1]! };
      if (samples.length > 1) sortSamples(samples);
      const firstTime = shapeTime(s.firstTime, s.firstMs, s.firstSub);
      // (one string for both when they are the same time: most shapes have one call)
      const lastTime = s.lastTime === s.firstTime && s.lastMs === s.firstMs && s.lastSub === s.firstSub ? firstTime : shapeTime(s.lastTime, s.lastMs, s.lastSub);
      const record = s.record;
      record.count = s.count;
      if (firstTime !== undefined) record.time = firstTime;
      hashes[i] = s.hash;
      const sourceBy = tallies.of(s.sourceBy, s.count);
      const destinationBy = tallies.of(s.destinationBy, s.count);
      // (the times in the literal: added later, they would take an out-of-object property store
      // per shape; a shape has both or neither, as `count` and `merge` set them together)
      const shape: TrafficShape = firstTime === undefined
        ? { record, count: s.count, samples, sourceBy, destinationBy, joined: s.joined }
        : { record, count: s.count, samples, sourceBy, destinationBy, joined: s.joined, firstTime, lastTime: lastTime ?? firstTime };
      if (s.unresolvedSource) shape.unresolvedSource = s.unresolvedSource;
      if (s.unresolvedDestination) shape.unresolvedDestination = s.unresolvedDestination;
      if (s.identityGap) shape.identityGap = s.identityGap;
      if (s.callsByTime) shape.callsByTime = s.callsByTime;
      out[i] = shape;
    }
    this.shapes.length = 0;
    this.buckets.clear();
    const keyHeaders = this.keyHeaders;
    return withCallIds(sortShapes(out, hashes, (shape) => shapeKey(shape.record, keyHeaders)));
  }
}

/**
 * Gives each shape the ids of its call's values (`TrafficShape.ids`), which every mesh's fold
 * reads, in one id space per list, rows in list order. Not enumerable: the shape's data (JSON,
 * copies, comparisons) is unchanged.
 */
export function withCallIds(shapes: TrafficShape[]): TrafficShape[] {
  const rows = callIdRows(shapes.map((s) => s.record), new ValueIds());
  for (let i = 0; i < shapes.length; i++) Object.defineProperty(shapes[i]!, 'ids', { value: rows[i], writable: true, configurable: true });
  return shapes;
}

/**
 * The order of shapes wherever they come from (files, worker threads, the ClickHouse source):
 * most calls first; ties by `hashes` (the shapes' `shapeHash`, aligned with `shapes`), then by
 * `keyOf` (their `shapeKey`, built only for shapes whose count and hash tie). It depends only on
 * the shapes, not on the order of the input or on how workers cut it, and compares numbers in all
 * but rare cases (most shapes of a large input tie on a count of 1). Shapes keep no key string:
 * it would be a fifth of a shape's memory, read only here. Sorts in place and returns the array.
 */
export function sortShapes<T extends { count: number }>(shapes: T[], hashes: ArrayLike<number>, keyOf: (shape: T) => string): T[] {
  const n = shapes.length;
  if (n < 2) return shapes;
  // Shapes grouped by count (most first); within a count, by hash, in one native sort of numbers
  // (hash · 2^21 + position in the group: exact in a double while a group has under 2^21 shapes,
  // and the hash has 32 bits at most).
  const byCount = new Map<number, number[]>();
  for (let i = 0; i < n; i++) {
    const count = shapes[i]!.count;
    const group = byCount.get(count);
    if (group === undefined) byCount.set(count, [i]);
    else group.push(i);
  }
  const counts = [...byCount.keys()].sort((a, b) => b - a);
  const copy = shapes.slice();
  const hashOf = (i: number): number => hashes[i]! >>> 0;
  const byKey = (a: T, b: T): number => compareKeys(keyOf(a), keyOf(b));
  let at = 0;
  for (const count of counts) {
    const group = byCount.get(count)!;
    const m = group.length;
    if (m === 1 || m >= 1 << 21) {
      if (m > 1) group.sort((i, j) => hashOf(i) - hashOf(j) || byKey(copy[i]!, copy[j]!));
      for (const i of group) shapes[at++] = copy[i]!;
      continue;
    }
    const order = new Float64Array(m);
    for (let k = 0; k < m; k++) order[k] = hashOf(group[k]!) * 2097152 + k;
    order.sort();
    const start = at;
    for (let k = 0; k < m; k++) shapes[at++] = copy[group[order[k]! % 2097152]!]!;
    // equal hashes (rare): those runs by key
    for (let k = 1; k < m; k++) {
      if (Math.floor(order[k]! / 2097152) !== Math.floor(order[k - 1]! / 2097152)) continue;
      let end = k + 1;
      while (end < m && Math.floor(order[end]! / 2097152) === Math.floor(order[k - 1]! / 2097152)) end++;
      const run = shapes.slice(start + k - 1, start + end).sort(byKey);
      for (let r = 0; r < run.length; r++) shapes[start + k - 1 + r] = run[r]!;
      k = end - 1;
    }
  }
  return shapes;
}

/** Sample locations by file, then line. Insertion sort for the few a shape keeps: the builtin
 * sort allocates its work arrays for every call, once per shape. */
function sortSamples(samples: SampleLocation[]): void {
  const n = samples.length;
  if (n > 16) {
    samples.sort(compareSamples);
    return;
  }
  for (let i = 1; i < n; i++) {
    const item = samples[i]!;
    let j = i - 1;
    while (j >= 0 && compareSamples(samples[j]!, item) > 0) {
      samples[j + 1] = samples[j]!;
      j--;
    }
    samples[j + 1] = item;
  }
}

function compareSamples(a: SampleLocation, b: SampleLocation): number {
  return a.file < b.file ? -1 : a.file > b.file ? 1 : a.line - b.line;
}

function compareKeys(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/**
 * A copy of a record that shares no string with the line it came from. Strings cut out of a line
 * are V8 "sliced strings" that keep the whole chunk of text they were cut from alive: a shape that
 * kept them would pin a megabyte of input, and memory would grow with the input, not the shapes.
 */
/** Marks a shape time to be rebuilt from its milliseconds (see ShapeTable.add). */
const ISO = '\u0000iso';

/** Marks a shape time to be rebuilt from its milliseconds and the digits after them (ShapeTable.subMillis). */
const SUB_MS = '\u0000iso+';

/** A shape's first or last time as the line gave it (see ShapeTable.count). */
function shapeTime(time: string | undefined, ms: number, sub: number | undefined): string | undefined {
  if (time === ISO) return new Date(ms).toISOString();
  if (time === SUB_MS) return `${new Date(ms).toISOString().slice(0, 23)}${String(Math.floor(sub! / 8)).padStart(sub! % 8, '0')}Z`;
  return time;
}

function twoDigits(s: string, at: number): number {
  const a = s.charCodeAt(at) - 48;
  const b = s.charCodeAt(at + 1) - 48;
  return a < 0 || a > 9 || b < 0 || b > 9 ? -1 : a * 10 + b;
}

/** `YYYY-MM-DDTHH:MM:SS.mmmZ`, which `new Date(ms).toISOString()` gives back exactly. */
function isoForm(time: string): boolean {
  return time.length === 24 && time.charCodeAt(23) === 90 && time.charCodeAt(19) === 46 && time.charCodeAt(10) === 84;
}

/** A copy of record data (a record, a parsed line, labels) that shares no string with a line. */
export function detach<T>(value: T): T {
  return copyTree(value, copyString, undefined, undefined) as T;
}

/**
 * A deep copy of record data: each string through `text` (a copy, or the pool's), each object
 * made by the constructor of its place in a record (`PlainObjects`; `at` is the name of the field
 * that holds `value`), and, with `labelCopies`, each label map copied once. Property names need no
 * copy: V8 keeps them as internalized strings of their own.
 */
function copyTree(value: unknown, text: (value: string) => string, at: string | undefined, labelCopies: WeakMap<object, object> | undefined): unknown {
  if (typeof value === 'string') return text(value);
  if (value === null || typeof value !== 'object') return value;
  if (Array.isArray(value)) {
    // (a reader hands every record of a format the same list of recorded headers: one copy of it)
    const shared = labelCopies !== undefined && at === 'recordedHeaders';
    const done = shared ? labelCopies.get(value) : undefined;
    if (done !== undefined) return done;
    const out = value.map((v) => copyTree(v, text, undefined, labelCopies));
    if (shared) labelCopies.set(value, out);
    return out;
  }
  const labels = labelCopies !== undefined && at === 'labels';
  if (labels) {
    const done = labelCopies.get(value);
    if (done !== undefined) return done;
  }
  // (a Map of the places: a field of a record may be named anything, `__proto__` included)
  const Plain = at === undefined ? undefined : PlainObjects.get(at);
  const out: Record<string, unknown> = Plain === undefined ? {} : new Plain();
  for (const key in value as Record<string, unknown>) {
    const v = (value as Record<string, unknown>)[key];
    if (v !== undefined) setField(out, key, copyTree(v, text, key, labelCopies));
  }
  if (labels) labelCopies.set(value, out);
  return out;
}

/** `out[key] = value`, also for a field named `__proto__` (JSON.parse makes one an own field;
 * an assignment would set the prototype, or drop a string). */
function setField(out: Record<string, unknown>, key: string, value: unknown): void {
  if (key === '__proto__') Object.defineProperty(out, key, { value, enumerable: true, writable: true, configurable: true });
  else out[key] = value;
}

/**
 * The call totals of `stats` (calls, resolutions, reasons, observed) from the shapes. A total
 * past MAX_COUNT stays at MAX_COUNT, and a problem says which: the shapes' own counts stay exact.
 */
export function addShapeTotals(stats: IngestStats, shapes: readonly TrafficShape[]): void {
  let capped = false;
  const add = (a: number | undefined, b: number | undefined): number => {
    const sum = (a ?? 0) + (b ?? 0);
    if (sum <= MAX_COUNT) return sum;
    capped = true;
    return MAX_COUNT;
  };
  const addAll = <K extends string>(into: Partial<Record<K, number>>, from: Partial<Record<K, number>>): void => {
    for (const key of Object.keys(from) as K[]) into[key] = add(into[key], from[key]);
  };
  for (const shape of shapes) {
    stats.calls = add(stats.calls, shape.count);
    addAll<ResolutionMethod>(stats.sourceBy, shape.sourceBy);
    addAll<ResolutionMethod>(stats.destinationBy, shape.destinationBy);
    if (shape.unresolvedSource) addAll(stats.unresolvedSourceByReason, shape.unresolvedSource);
    if (shape.unresolvedDestination) addAll(stats.unresolvedDestinationByReason, shape.unresolvedDestination);
    const observed = shape.record.observed ?? 'unknown';
    stats.observed[observed] = add(stats.observed[observed], shape.count);
  }
  if (capped) {
    stats.problems.push(`the calls add up to more than ${MAX_COUNT} (2^53 - 1, the largest count kept exactly): the totals of calls (and of how they were resolved and observed) stop at ${MAX_COUNT}; each shape's count is exact`);
  }
}

export function addCounts<K extends string>(into: Partial<Record<K, number>>, from: Partial<Record<K, number>>): void {
  for (const key of Object.keys(from) as K[]) into[key] = (into[key] ?? 0) + (from[key] ?? 0);
}

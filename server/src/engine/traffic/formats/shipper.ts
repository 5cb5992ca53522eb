import type { HeldLineResult, LinePeek, LineReader, LineResult, ParsedLine, LogFormatId, ShipperMetadata } from '../readerTypes';
import { SKIP, checkedTime, normalizeTime } from './common';
import { FlatJsonScanner, SCAN_OK } from './jsonScan';
import { copyString } from '../../strings';

/**
 * Lines wrapped by a log shipper or by kubectl, and the reader wrapper that unwraps them.
 *
 * Recognized wrappings (docs/access-records.md, "Shippers"):
 * - Fluent Bit / Fluentd JSON: `{"log": "<line>", "kubernetes": {pod_name, namespace_name,
 *   container_name, labels}, "time"|"date": ...}`. Fluentd is told apart by its own metadata
 *   keys (`docker`, `kubernetes.master_url`, `namespace_id`, `container_image_id`); a bare
 *   `{"log": ...}` (Docker's json-file format, as both tail it) counts as Fluent Bit.
 * - Vector (kubernetes_logs source, JSON codec): `{"message": "<line>", "kubernetes":
 *   {pod_name, pod_namespace, container_name, pod_labels}, "source_type", "timestamp"}`.
 *   Fluent Bit's `cri` parser also names the line `message` (with `time`, `stream`, `logtag`):
 *   Fluent Bit when its `kubernetes` has Fluent Bit's keys.
 * - Loki (`logcli query -o jsonl`): `{"labels": {namespace, pod, container, ...}, "line":
 *   "<line>", "timestamp"}` (no `labels` with `--no-labels`); labels other than the stream's
 *   infrastructure labels become pod labels.
 * - Loki (`logcli query`'s default output): `<RFC 3339> {<label>="<value>", ...} <line>`, the
 *   labels as Prometheus prints them (padded with spaces), read as the jsonl labels are.
 * - `kubectl logs --prefix`: `[pod/<pod>/<container>] <line>`, optionally with
 *   `--timestamps` (`<RFC 3339> <line>`), and the kubelet's CRI log file lines
 *   `<RFC 3339> stdout|stderr P|F <line>` (P fragments are joined with the line of the same
 *   stream that ends them). Both count as `kubectl`: the CRI files are what kubectl logs reads.
 *
 * - OpenTelemetry log records (ingest/otlpDocument.ts): `{"otlp": {namespace, pod, container,
 *   labels}, "line": "<line>", "attributes": {...}, "timestamp"}`, the writer as the OTLP
 *   attributes name it; `attributes`, the record's access log fields, are merged into the line's
 *   record (LineReader.readMerged).
 *
 * A body that is itself a JSON object (a shipper that parsed the line) is read as that object's
 * JSON text. Fluent Bit's Merge_Log, which merges the parsed line into the top level next to
 * `kubernetes`, is read by the JSON readers themselves (they pick up `kubernetes`).
 */

const E = { log: 0, message: 1, line: 2, kubernetes: 3, labels: 4, source_type: 5, docker: 6, date: 7, time: 8, timestamp: 9, otlp: 10, attributes: 11 } as const;
const ENVELOPE_KEYS = new Map<string, number>(Object.entries(E));
const ENVELOPE_SLOTS = 12;

interface KubernetesCore {
  flavor: 'fluent-bit' | 'fluentd' | 'vector';
  pod?: string;
  namespace?: string;
  container?: string;
  labels?: Record<string, string>;
}

function stringMap(value: unknown): Record<string, string> | undefined {
  if (value === null || typeof value !== 'object' || Array.isArray(value)) return undefined;
  let out: Record<string, string> | undefined;
  for (const [k, v] of Object.entries(value as Record<string, unknown>)) {
    if (typeof v === 'string') (out ??= {})[k] = v;
  }
  return out;
}

function str(value: unknown): string | undefined {
  return typeof value === 'string' && value.length > 0 ? value : undefined;
}

function parseObject(raw: string): Record<string, unknown> | undefined {
  try {
    const value: unknown = JSON.parse(raw);
    return value !== null && typeof value === 'object' && !Array.isArray(value) ? (value as Record<string, unknown>) : undefined;
  } catch {
    return undefined;
  }
}

/**
 * Parsed metadata objects by their raw text: the lines of one pod repeat it, and a stream
 * interleaves a few pods. Bounded; cleared when full.
 */
class MetadataCache<T> {
  private lastRaw: string | undefined;
  private lastValue: T | undefined;
  private readonly byRaw = new Map<string, T | undefined>();
  constructor(private readonly parse: (raw: string) => T | undefined) {}
  get(raw: string): T | undefined {
    if (raw === this.lastRaw) return this.lastValue;
    let value = this.byRaw.get(raw);
    if (value === undefined && !this.byRaw.has(raw)) {
      if (this.byRaw.size >= 1024) this.byRaw.clear();
      value = this.parse(raw);
      // (a copy: the raw text is cut out of a line, and the cache outlives the read)
      this.byRaw.set(copyString(raw), value);
    }
    this.lastRaw = raw;
    this.lastValue = value;
    return value;
  }
}

function kubernetesCore(raw: string): KubernetesCore | undefined {
  const k = parseObject(raw);
  if (k === undefined) return undefined;
  const vector = 'pod_namespace' in k || 'pod_labels' in k;
  const fluentd = !vector && ('master_url' in k || 'namespace_id' in k || 'container_image_id' in k);
  const core: KubernetesCore = { flavor: vector ? 'vector' : fluentd ? 'fluentd' : 'fluent-bit' };
  const pod = str(k['pod_name']);
  if (pod !== undefined) core.pod = pod;
  const namespace = str(k['namespace_name']) ?? str(k['pod_namespace']);
  if (namespace !== undefined) core.namespace = namespace;
  const container = str(k['container_name']);
  if (container !== undefined) core.container = container;
  const labels = stringMap(k['labels'] ?? k['pod_labels']);
  if (labels !== undefined) core.labels = withDottedPrefixes(labels);
  return core;
}

/**
 * Label keys with the dots of their prefix back. Fluentd's kubernetes_metadata filter (`de_dot`,
 * on by default through 2.x, `de_dot_separator` `_`) and the dedot filter that replaced it in 3.x
 * write `app.kubernetes.io/name` as `app_kubernetes_io/name`. A key's prefix (before the `/`) is a
 * DNS subdomain, which has no `_`: each one there was a dot. The name after the `/` may hold `_`
 * of its own, and is kept as written; so is a key without a prefix.
 */
function withDottedPrefixes(labels: Record<string, string>): Record<string, string> {
  const dotted = (key: string): string => {
    const slash = key.indexOf('/');
    return slash > 0 && key.lastIndexOf('_', slash) >= 0 ? `${key.slice(0, slash).replaceAll('_', '.')}${key.slice(slash)}` : key;
  };
  const keys = Object.keys(labels);
  if (keys.every((key) => dotted(key) === key)) return labels;
  const out: Record<string, string> = {};
  for (const key of keys) {
    const restored = dotted(key);
    // (a key written with its dots wins over one that would become it)
    if (restored === key || !(restored in labels)) out[restored] = labels[key]!;
  }
  return out;
}

/** Loki stream labels that describe the log stream, not the pod. */
const LOKI_STREAM_LABELS = new Set([
  'namespace', 'namespace_name', 'k8s_namespace_name', 'pod', 'pod_name', 'k8s_pod_name', 'container', 'container_name',
  'k8s_container_name', 'job', 'stream', 'filename', 'node_name', 'instance', 'host', 'cluster', 'service_name',
  'detected_level', 'level', '__stream_shard__',
]);

function lokiCore(raw: string): Omit<KubernetesCore, 'flavor'> | undefined {
  const l = stringMap(parseObject(raw));
  if (l === undefined) return {};
  const core: Omit<KubernetesCore, 'flavor'> = {};
  const pod = str(l['pod']) ?? str(l['pod_name']) ?? str(l['k8s_pod_name']);
  if (pod !== undefined) core.pod = pod;
  const namespace = str(l['namespace']) ?? str(l['namespace_name']) ?? str(l['k8s_namespace_name']);
  if (namespace !== undefined) core.namespace = namespace;
  const container = str(l['container']) ?? str(l['container_name']) ?? str(l['k8s_container_name']);
  if (container !== undefined) core.container = container;
  let labels: Record<string, string> | undefined;
  for (const key of Object.keys(l)) {
    if (!LOKI_STREAM_LABELS.has(key)) (labels ??= {})[key] = l[key]!;
  }
  if (labels !== undefined) core.labels = labels;
  return core;
}

function metadata(shipper: ShipperMetadata['shipper'], core: Omit<KubernetesCore, 'flavor'> | undefined, time: string | undefined): ShipperMetadata {
  const meta: ShipperMetadata = { shipper };
  if (core !== undefined) {
    if (core.pod !== undefined) meta.pod = core.pod;
    if (core.namespace !== undefined) meta.namespace = core.namespace;
    if (core.container !== undefined) meta.container = core.container;
    if (core.labels !== undefined) meta.labels = core.labels;
  }
  if (time !== undefined) meta.time = time;
  return meta;
}

const kubernetesCache = new MetadataCache(kubernetesCore);

/** The writer of an OTLP record as otlpDocument.ts puts it in its envelope. */
function otlpCore(raw: string): Omit<KubernetesCore, 'flavor'> | undefined {
  const o = parseObject(raw);
  if (o === undefined) return undefined;
  const core: Omit<KubernetesCore, 'flavor'> = {};
  const pod = str(o['pod']);
  if (pod !== undefined) core.pod = pod;
  const namespace = str(o['namespace']);
  if (namespace !== undefined) core.namespace = namespace;
  const container = str(o['container']);
  if (container !== undefined) core.container = container;
  const labels = stringMap(o['labels']);
  if (labels !== undefined) core.labels = labels;
  return core;
}

/**
 * Shipper metadata from a `kubernetes` object merged into a JSON access log line (Fluent Bit
 * Merge_Log, Vector remaps). The labels object is shared between lines of one pod: read-only.
 */
export function metadataFromKubernetes(raw: string): ShipperMetadata | undefined {
  const core = kubernetesCache.get(raw);
  return core === undefined ? undefined : metadata(core.flavor, core, undefined);
}

/** A line taken out of its wrapping. */
export interface Unwrapped {
  inner: string;
  meta: ShipperMetadata;
  /** CRI only: P = a fragment continued by the next line. */
  partial?: boolean;
  /** CRI only: the stream the line was written to. */
  stream?: CriStream;
  /** OTLP only: access log fields given beside the line, merged into its record. */
  fields?: Record<string, unknown>;
}

type CriStream = 'stdout' | 'stderr';

export function trimNewline(s: string): string {
  let end = s.length;
  while (end > 0) {
    const c = s.charCodeAt(end - 1);
    if (c === 10 || c === 13) end--;
    else break;
  }
  return end === s.length ? s : s.slice(0, end);
}

/** An envelope whose log line is empty. */
export const EMPTY_ENVELOPE = 'empty';

export class EnvelopeParser {
  private readonly scanner = new FlatJsonScanner(ENVELOPE_KEYS, ENVELOPE_SLOTS, false);
  private readonly kubernetes = kubernetesCache;
  private readonly loki = new MetadataCache(lokiCore);
  private readonly otlp = new MetadataCache(otlpCore);

  /** The JSON shipper record's log line and metadata; undefined when the line is no such record. */
  parse(line: string): Unwrapped | typeof EMPTY_ENVELOPE | undefined {
    const s = this.scanner;
    if (s.scan(line) !== SCAN_OK) return undefined;
    const v = s.values;
    const seen = s.seen;
    let shipper: ShipperMetadata['shipper'];
    let body: string | undefined;
    let core: Omit<KubernetesCore, 'flavor'> | undefined;
    let time: string | undefined;
    let fields: Record<string, unknown> | undefined;
    if (seen[E.line] && seen[E.otlp]) {
      shipper = 'otlp';
      body = v[E.line];
      core = this.otlp.get(v[E.otlp]!);
      time = v[E.timestamp];
      const attributes = v[E.attributes];
      if (attributes !== undefined) fields = parseObject(attributes);
    } else if (seen[E.line] && (seen[E.labels] || seen[E.timestamp])) {
      // (logcli --no-labels leaves `labels` out)
      shipper = 'loki';
      body = v[E.line];
      const labels = v[E.labels];
      core = labels === undefined ? undefined : this.loki.get(labels);
      time = v[E.timestamp];
    } else if (seen[E.message] && (seen[E.source_type] || seen[E.kubernetes])) {
      body = v[E.message];
      const k = v[E.kubernetes];
      const kc = k === undefined ? undefined : this.kubernetes.get(k);
      core = kc;
      // Fluent Bit's `cri` parser names the line `message` too; its kubernetes keys tell it apart.
      shipper = seen[E.source_type] || kc === undefined ? 'vector' : kc.flavor;
      time = v[E.timestamp] ?? v[E.time];
    } else if (seen[E.log]) {
      body = v[E.log];
      const k = v[E.kubernetes];
      const kc = k === undefined ? undefined : this.kubernetes.get(k);
      core = kc;
      shipper = seen[E.docker] || kc?.flavor === 'fluentd' ? 'fluentd' : 'fluent-bit';
      time = v[E.time] ?? v[E.date] ?? v[E.timestamp];
    } else {
      return undefined;
    }
    let inner = body === undefined ? '' : trimNewline(body);
    if (inner.length === 0) return EMPTY_ENVELOPE;
    const unwrapped: Unwrapped = { inner, meta: metadata(shipper, core, normalizeTime(time)) };
    // The container runtime's whole log file line, CRI prefix and all (a tail input without the
    // cri parser, a Promtail or Alloy pipeline without its cri stage): the line follows the prefix.
    if (inner.charCodeAt(4) === 45 /* - */ && inner.charCodeAt(10) === 84 /* T */) {
      const ts = TIMESTAMP_PREFIX.exec(inner);
      const cri = ts === null ? null : CRI_STREAM.exec(inner.slice(ts[0].length));
      if (ts !== null && cri !== null) {
        inner = inner.slice(ts[0].length + cri[0].length);
        if (inner.length === 0) return EMPTY_ENVELOPE;
        unwrapped.inner = inner;
        const time = unwrapped.meta.time ?? checkedTime(ts[1]!);
        if (time !== undefined) unwrapped.meta.time = time;
        unwrapped.stream = cri[1] as CriStream;
        if (cri[2] === 'P') unwrapped.partial = true;
      }
    }
    if (fields !== undefined) unwrapped.fields = fields;
    return unwrapped;
  }
}

const TIMESTAMP_PREFIX = /^(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(?:\.\d+)?(?:Z|[+-]\d\d:\d\d)) /;
const CRI_STREAM = /^(stdout|stderr) ([PF]) /;
/** logcli's default output: the stream labels after the time, `{name="value", ...}` (Go-quoted values), then padding. */
const LOGCLI_LABELS = /^\{((?:[A-Za-z_][A-Za-z0-9_]*="(?:[^"\\]|\\.)*"(?:, )?)*)\} +/;
const LOGCLI_LABEL = /([A-Za-z_][A-Za-z0-9_]*)="((?:[^"\\]|\\.)*)"/g;

/** Labels printed by logcli, as the JSON object its jsonl output would hold. */
function logcliLabelsJson(inside: string): string {
  const out: Record<string, string> = {};
  for (const m of inside.matchAll(LOGCLI_LABEL)) {
    let value = m[2]!;
    if (value.includes('\\')) {
      try {
        value = JSON.parse(`"${value}"`) as string;
      } catch {
        // (a Go escape JSON does not have, e.g. \x: kept as printed)
      }
    }
    out[m[1]!] = value;
  }
  return JSON.stringify(out);
}

const logcliLabels = new MetadataCache((inside: string) => lokiCore(logcliLabelsJson(inside)));

/** `[pod/<pod>/<container>] `, `<RFC 3339> ` and CRI prefixes; undefined when the line has none. */
export function unwrapPrefix(line: string): Unwrapped | undefined {
  let rest = line;
  let meta: ShipperMetadata | undefined;
  if (line.startsWith('[pod/')) {
    const close = line.indexOf('] ');
    if (close < 0) return undefined;
    const name = line.slice(5, close);
    const slash = name.lastIndexOf('/');
    meta = { shipper: 'kubectl', pod: slash < 0 ? name : name.slice(0, slash) };
    if (slash >= 0) meta.container = name.slice(slash + 1);
    rest = line.slice(close + 2);
  }
  const c = rest.charCodeAt(0);
  if (c >= 48 && c <= 57) {
    const ts = TIMESTAMP_PREFIX.exec(rest);
    if (ts !== null) {
      meta ??= { shipper: 'kubectl' };
      const time = checkedTime(ts[1]!);
      if (time !== undefined) meta.time = time;
      rest = rest.slice(ts[0].length);
      const cri = CRI_STREAM.exec(rest);
      if (cri !== null) {
        return { inner: trimNewline(rest.slice(cri[0].length)), meta, partial: cri[2] === 'P', stream: cri[1] as CriStream };
      }
      const labels = meta.shipper === 'kubectl' && meta.pod === undefined && rest.charCodeAt(0) === 123 /* { */ ? LOGCLI_LABELS.exec(rest) : null;
      if (labels !== null) {
        return { inner: trimNewline(rest.slice(labels[0].length)), meta: metadata('loki', logcliLabels.get(labels[1]!), meta.time) };
      }
    }
  }
  return meta === undefined ? undefined : { inner: trimNewline(rest), meta };
}

/** Where the wrapper finds the reader for an unwrapped line. */
export interface InnerReaders {
  /** The format of one unwrapped line, or undefined. */
  classify(line: string): LogFormatId | undefined;
  /** A (bare) reader for the format, created once. */
  reader(format: LogFormatId): LineReader;
}

function firstNonSpace(line: string): number {
  for (let i = 0; i < line.length; i++) {
    const c = line.charCodeAt(i);
    if (c !== 32 && c !== 9) return c;
  }
  return -1;
}

/**
 * Wraps a format's reader so that shipper-wrapped lines are unwrapped automatically. A line is
 * read as the format first; a line the format cannot read is tried as a wrapped line. Once a
 * line was wrapped, the next is tried unwrapped first (a wrapped stream stays wrapped). The
 * unwrapped line is read by the reader that read the previous unwrapped line, and when that
 * fails, by the reader of the format it is detected as (a shipper stream mixes formats).
 */
export class ShipperAwareReader implements LineReader {
  readonly format: LogFormatId;
  private current: LineReader;
  private wrapped = false;
  /** CRI P fragments waiting for their F line, by stream: the kubelet interleaves both streams in one file. */
  private readonly fragments: Partial<Record<CriStream, { text: string; meta: ShipperMetadata }>> = {};
  private readonly envelopes = new EnvelopeParser();
  /** The readers that read an unwrapped line so far (the base reader first). */
  private readonly used: LineReader[];

  constructor(
    private readonly base: LineReader,
    private readonly inner: InnerReaders,
  ) {
    this.format = base.format;
    this.current = base;
    this.used = [base];
    // (only peeked lines are rebuilt from their keys, and peek answers for the base reader's lines only)
    const rebuild = base.readParts;
    if (rebuild !== undefined) {
      this.readParts = (key, time, requestId) => rebuild.call(base, key, time, requestId);
      this.hopParts = base.hopParts;
    }
  }

  readonly readParts?: (key: string | readonly string[], time: string | undefined, requestId: string | undefined) => ParsedLine;
  readonly hopParts?: readonly [method: number, host: number, path: number] | undefined;

  /** The base format's fast path, for a line that is not wrapped (see LineReader.peek). */
  peek(line: string): LinePeek | undefined {
    if (this.wrapped || this.base.peek === undefined) return undefined;
    const c = line.charCodeAt(0);
    if (c === 0xfeff || (c === 91 /* [ */ && line.startsWith('[pod/'))) return undefined;
    return this.base.peek(line);
  }

  readPeeked(): ParsedLine {
    // (peek answered only for a line the base reader reads as it is)
    return this.base.readPeeked!();
  }

  readAgain(line: string): LineResult {
    // (likewise: a peeked line is the base reader's)
    return this.base.readAgain !== undefined ? this.base.readAgain(line) : this.base.read(line);
  }

  read(text: string): LineResult {
    // A byte order mark on a file's first line.
    const line = text.charCodeAt(0) === 0xfeff ? text.slice(1) : text;
    // No access log format starts with kubectl's prefix, while Envoy's `[%START_TIME%]` would take it.
    if (line.charCodeAt(0) === 91 /* [ */ && line.startsWith('[pod/')) return this.readWrapped(line) ?? this.base.read(line);
    if (this.wrapped) {
      const unwrapped = this.readWrapped(line);
      if (unwrapped !== undefined && unwrapped.kind === 'record') return unwrapped;
      const direct = this.base.read(line);
      if (direct.kind === 'record') {
        this.wrapped = false;
        return direct;
      }
      return unwrapped ?? direct;
    }
    const direct = this.base.read(line);
    if (direct.kind === 'record' || direct === SKIP.blank) return direct;
    return this.readWrapped(line) ?? direct;
  }

  private readWrapped(line: string): LineResult | undefined {
    let unwrapped = unwrapPrefix(line);
    if (unwrapped === undefined && firstNonSpace(line) === 123 /* { */) {
      const envelope = this.envelopes.parse(line);
      if (envelope === EMPTY_ENVELOPE) {
        this.wrapped = true;
        return SKIP.emptyEnvelope;
      }
      unwrapped = envelope;
    }
    if (unwrapped === undefined) return undefined;
    this.wrapped = true;
    const stream = unwrapped.stream;
    if (stream === undefined) return this.readInner(unwrapped.inner, unwrapped.meta, unwrapped.fields);
    const fragment = this.fragments[stream];
    if (unwrapped.partial) {
      this.fragments[stream] = { text: (fragment?.text ?? '') + unwrapped.inner, meta: unwrapped.meta };
      return stream === 'stdout' ? SKIP.partialStdout : SKIP.partialStderr;
    }
    if (fragment === undefined) return this.readInner(unwrapped.inner, unwrapped.meta);
    delete this.fragments[stream];
    return this.readInner(fragment.text + unwrapped.inner, unwrapped.meta);
  }

  /**
   * The fragments no F line ended (a file cut while the runtime was writing a long line, or
   * rotated between its fragments): each stream's joined text, read when a reader reads it.
   */
  finish(): HeldLineResult[] {
    const results: HeldLineResult[] = [];
    for (const stream of ['stdout', 'stderr'] as const) {
      const fragment = this.fragments[stream];
      if (fragment === undefined) continue;
      delete this.fragments[stream];
      const result = this.readInner(fragment.text, fragment.meta);
      results.push({ held: stream, result: result.kind === 'record' ? result : SKIP.unendedPartial });
    }
    return results;
  }

  private readInner(text: string, meta: ShipperMetadata, fields?: Readonly<Record<string, unknown>>): LineResult {
    let result = this.current.read(text);
    if (result.kind === 'skip' && result !== SKIP.blank) {
      // Readers that read earlier lines of this stream first (a failed read is cheap), then detection.
      for (const reader of this.used) {
        if (reader === this.current) continue;
        const again = reader.read(text);
        if (again.kind === 'record') {
          this.current = reader;
          result = again;
          break;
        }
      }
      if (result.kind === 'skip') {
        const format = this.inner.classify(text);
        let known = false;
        for (const reader of this.used) if (reader.format === format) known = true;
        if (format !== undefined && !known) {
          const other = this.inner.reader(format);
          const second = other.read(text);
          if (second.kind === 'record') {
            this.current = other;
            this.used.push(other);
            result = second;
          }
        }
      }
      // A line nobody reads is skipped for the reason of the file's own format.
      if (result.kind === 'skip' && this.current !== this.base) result = this.base.read(text);
    }
    // (the reader that read the line is `current` now; it reads the line again with the fields)
    if (result.kind === 'record' && fields !== undefined && this.current.readMerged !== undefined) result = this.current.readMerged(text, fields);
    if (result.kind === 'record') result.shipper = meta;
    return result;
  }
}

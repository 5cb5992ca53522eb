import { isAccessLogField } from '../formats/envoyFields';
import { trimNewline } from '../formats/shipper';
import { MAX_DOCUMENT_CHARS, backslashesBefore, closingQuote, nanosToRfc3339, type DocumentLine, type DocumentScanner } from './documents';

/**
 * OpenTelemetry logs in OTLP/JSON (`ExportLogsServiceRequest`): what an OpenTelemetry Collector's
 * `file` exporter writes (one request per line), or a request saved pretty-printed; several in a
 * row. Access logs get there from Istio's `envoyOtelAls` provider (the record body is the access
 * log line, by default Istio's text format; `logFormat.labels` become record attributes) or from a
 * collector's filelog receiver tailing the proxies' container logs (the body is the container's
 * line; the k8sattributes processor adds `k8s.*` resource attributes). docs/access-records.md,
 * "OpenTelemetry (OTLP/JSON) documents".
 *
 * Each log record becomes one line of an `otlp` shipper envelope (formats/shipper.ts):
 * `{"otlp": {namespace, pod, container, labels}, "line": <body>, "timestamp": <time>}`. The
 * writer comes from the resource attributes (`k8s.namespace.name`, `k8s.pod.name`,
 * `k8s.container.name`, `k8s.pod.labels.<key>` / `k8s.pod.label.<key>`), else from record
 * attributes of the same names or `namespace`, `pod`, `container` (the names Istio's sample
 * telemetry labels use). A string body is the line; a map body (an Envoy JSON access log sent as
 * a key-value list) becomes its JSON object. The record's attributes that are access log fields
 * (Istio's `logFormat.labels`, e.g. `source_principal`) are merged into what the body gives, each
 * winning over the body's value of its field: they go into the envelope as `attributes`. Attributes
 * that hold an access log of their own (`start_time` and `response_code` among them: the JSON
 * labels docs/access-records.md gives for Istio) are read as its JSON object instead of the body,
 * which then holds the default text line, with less in it. The time is `timeUnixNano`, else
 * `observedTimeUnixNano` (0 means unset); 64-bit integers are decimal strings in OTLP/JSON, and
 * numbers are accepted too. The entries of one request all start on the request's first file line.
 */

export { MAX_DOCUMENT_CHARS };
/**
 * Objects and lists nested deeper than this: the document is skipped (an OTLP request nests about
 * 8 deep). It also bounds the recursion of `plainValue` over a map body.
 */
export const MAX_DEPTH = 256;

const PREFIX = /^\s*\{\s*"resourceLogs"\s*:/;

interface Writer {
  namespace?: string;
  pod?: string;
  container?: string;
  labels?: Record<string, string>;
}

/**
 * The streaming reader of OTLP/JSON documents: `push` text as it comes, `end` at the end of the
 * file; each log record (or skip) is handed to `emit`. Documents are found by their braces
 * (strings skipped), parsed whole, and dropped before the next one is read.
 */
export class OtlpDocumentScanner implements DocumentScanner {
  /** The closing bracket of each open object and array of the document being read, up to MAX_DEPTH. */
  private readonly closers: number[] = [];
  /** Brackets open beyond MAX_DEPTH (the document is then skipped). */
  private overDepth = 0;
  private tooDeep = false;
  private inString = false;
  private escaped = false;
  private parts: string[] = [];
  private length = 0;
  private tooBig = false;
  private line = 1;
  private documentLine = 1;
  private lineStart = true;
  /** The last line that had text outside any document (reported once per line). */
  private strayLine = 0;
  private head = '';
  private anyText = false;
  /** Documents read that are OTLP logs. */
  documents = 0;

  constructor(private readonly emit: (entry: DocumentLine) => void) {}

  get recognized(): boolean {
    return this.documents > 0 || PREFIX.test(this.head);
  }

  push(text: string): void {
    if (this.head.length < 256) this.head += text.slice(0, 256);
    const n = text.length;
    const closers = this.closers;
    let start = closers.length > 0 ? 0 : -1;
    let i = 0;
    // The next line break at or after i (n when none): found once per line, not once per string.
    let nl = -1;
    while (i < n) {
      if (this.inString) {
        if (this.escaped) {
          this.escaped = false;
          // (a line break after the backslash is a line break all the same)
          if (text.charCodeAt(i) !== 10) i++;
          else this.inString = false;
          continue;
        }
        const q = closingQuote(text, i);
        if (nl < i) {
          nl = text.indexOf('\n', i);
          if (nl < 0) nl = n;
        }
        if (nl < n && (q < 0 || nl < q)) {
          // A raw line break cannot be in a JSON string: the document is broken here (JSON.parse
          // says so, or the next request's line cuts it off); the line break is read as one.
          this.inString = false;
          i = nl;
          continue;
        }
        if (q < 0) {
          this.escaped = backslashesBefore(text, n, i) % 2 === 1;
          i = n;
          break;
        }
        this.inString = false;
        i = q + 1;
        continue;
      }
      const c = text.charCodeAt(i);
      if (c === 10) {
        this.line++;
        this.lineStart = true;
        i++;
        continue;
      }
      const atLineStart = this.lineStart;
      this.lineStart = false;
      if (closers.length === 0) {
        if (c === 123 /* { */) {
          closers.push(125);
          start = i;
          this.documentLine = this.line;
          this.anyText = true;
        } else if (c !== 32 && c !== 9 && c !== 13 && this.strayLine !== this.line) {
          this.strayLine = this.line;
          this.anyText = true;
          this.emit({ skip: 'text outside an OTLP/JSON document', at: this.line });
        }
      } else if (c === 34 /* " */) {
        this.inString = true;
      } else if (c === 123 && atLineStart) {
        // A `{` at the very start of a line inside a document: pretty-printed JSON indents inner
        // objects, so the document before was cut off (a truncated request line) and this is the next.
        this.drop(`OTLP/JSON document cut off: its JSON does not end before line ${this.line}`);
        closers.push(125);
        start = i;
        this.documentLine = this.line;
      } else if (c === 123 || c === 91 /* [ */) {
        if (closers.length < MAX_DEPTH) closers.push(c + 2);
        else {
          this.overDepth++;
          this.tooDeep = true;
          this.parts = [];
        }
      } else if (c === 125 /* } */ || c === 93 /* ] */) {
        // (a bracket that closes another one ends the document too: JSON.parse reports it)
        if (this.overDepth > 0) this.overDepth--;
        else if (closers.pop() !== c) closers.length = 0;
        if (closers.length === 0) {
          this.keep(text.slice(start, i + 1));
          this.complete();
          start = -1;
        }
      }
      i++;
    }
    if (closers.length > 0 && start >= 0) this.keep(text.slice(start));
  }

  end(): void {
    if (this.closers.length > 0) this.drop('OTLP/JSON document cut off: the file ends before its JSON does');
    else if (!this.anyText) this.emit({ skip: 'not an OTLP/JSON document: no JSON object in the file', at: 1 });
  }

  private keep(part: string): void {
    if (this.tooBig || this.tooDeep) return;
    this.length += part.length;
    if (this.length > MAX_DOCUMENT_CHARS) {
      this.tooBig = true;
      this.parts = [];
      return;
    }
    this.parts.push(part);
  }

  private drop(reason: string): void {
    this.emit({ skip: reason, at: this.documentLine });
    this.reset();
  }

  private reset(): void {
    this.parts = [];
    this.length = 0;
    this.tooBig = false;
    this.closers.length = 0;
    this.overDepth = 0;
    this.tooDeep = false;
    this.inString = false;
    this.escaped = false;
  }

  private complete(): void {
    const at = this.documentLine;
    if (this.tooBig || this.tooDeep) {
      this.emit({ skip: this.tooDeep ? `OTLP/JSON document nested deeper than ${MAX_DEPTH} levels: not read` : `OTLP/JSON document larger than ${MAX_DOCUMENT_CHARS / 1024 / 1024} MiB: not read`, at });
      this.reset();
      return;
    }
    const text = this.parts.length === 1 ? this.parts[0]! : this.parts.join('');
    this.reset();
    let document: unknown;
    try {
      document = JSON.parse(text);
    } catch (error) {
      this.emit({ skip: `malformed OTLP/JSON document (${(error as Error).message})`, at });
      return;
    }
    const resourceLogs = field(document, 'resourceLogs');
    if (!Array.isArray(resourceLogs)) {
      this.emit({ skip: 'not an OTLP logs document: it has no resourceLogs list', at });
      return;
    }
    this.documents++;
    const records: TimedRecord[] = [];
    for (const entry of resourceLogs) {
      const resource = writerOf(field(field(entry, 'resource'), 'attributes'), {});
      // (instrumentationLibraryLogs: the name before OTLP 0.19)
      const scopes = field(entry, 'scopeLogs') ?? field(entry, 'instrumentationLibraryLogs');
      for (const scope of listOf(scopes)) {
        for (const record of listOf(field(scope, 'logRecords'))) records.push(this.record(record, resource, at));
      }
    }
    for (const { entry } of inTimeOrder(records)) this.emit(entry);
  }

  private record(record: unknown, resource: Writer, at: number): TimedRecord {
    const body = field(record, 'body');
    const attributes = field(record, 'attributes');
    const ownLog = attributeLog(attributes);
    let line: string;
    const text = field(body, 'stringValue');
    if (ownLog !== undefined) {
      line = JSON.stringify(ownLog);
    } else if (typeof text === 'string') {
      line = trimNewline(text);
    } else if (field(body, 'kvlistValue') !== undefined) {
      line = JSON.stringify(plainValue(body));
    } else {
      return { entry: { skip: body === undefined || body === null ? 'OTLP log record without a body' : 'OTLP log record whose body is neither a string nor a map', at } };
    }
    const writer = writerOf(attributes, resource);
    const nanos = nanosDigits(field(record, 'timeUnixNano')) ?? nanosDigits(field(record, 'observedTimeUnixNano'));
    const time = nanos === undefined ? undefined : nanosToRfc3339(nanos);
    const envelope: { otlp: Writer; line: string; attributes?: Record<string, unknown>; timestamp?: string } = { otlp: writer, line };
    const fields = ownLog === undefined ? accessLogFields(attributes) : undefined;
    if (fields !== undefined) envelope.attributes = fields;
    if (time === undefined) return { entry: { line: JSON.stringify(envelope), at } };
    envelope.timestamp = time;
    return { entry: { line: JSON.stringify(envelope), at }, nanos: BigInt(nanos!) };
  }
}

/** A record of a request, with its time in nanoseconds when it has one. */
interface TimedRecord {
  entry: DocumentLine;
  nanos?: bigint;
}

/**
 * The records of one request in time order. An exporter groups a request's records by resource
 * (one pod after the other), so a request that spans some time interleaves badly with the other
 * files, and the two sides of a call, logged by two pods, would miss each other in the time-bounded
 * join window. A record without a time keeps its place after the record before it (stable sort).
 */
function inTimeOrder(records: TimedRecord[]): TimedRecord[] {
  let previous: bigint | undefined;
  let ordered = true;
  const keyed = records.map((record, index) => {
    const key = record.nanos ?? previous;
    if (key !== undefined && previous !== undefined && key < previous) ordered = false;
    if (key !== undefined) previous = key;
    return { record, index, key };
  });
  if (ordered) return records;
  return keyed
    .sort((a, b) => (a.key === undefined || b.key === undefined || a.key === b.key ? a.index - b.index : a.key < b.key ? -1 : 1))
    .map((k) => k.record);
}

function field(value: unknown, key: string): unknown {
  return value !== null && typeof value === 'object' && !Array.isArray(value) ? (value as Record<string, unknown>)[key] : undefined;
}

function listOf(value: unknown): unknown[] {
  return Array.isArray(value) ? value : [];
}

/** An OTLP time in nanoseconds (a decimal string, or a number) as its digits; undefined when 0, absent or not digits. */
function nanosDigits(value: unknown): string | undefined {
  // (a JSON number of nanoseconds is beyond 2^53: read as the nearest double, within a microsecond)
  const digits = typeof value === 'string' ? value : typeof value === 'number' && Number.isInteger(value) && value > 0 && value < 1e21 ? String(value) : undefined;
  if (digits === undefined || !/^\d{1,19}$/.test(digits) || /^0*$/.test(digits)) return undefined;
  return digits;
}

/** An OTLP AnyValue as the plain JSON value it stands for (keys in objects without a prototype). */
function plainValue(value: unknown): unknown {
  if (value === null || typeof value !== 'object') return null;
  const v = value as Record<string, unknown>;
  if ('stringValue' in v) return v['stringValue'];
  if ('boolValue' in v) return v['boolValue'];
  if ('intValue' in v) {
    const n = Number(v['intValue']);
    return Number.isSafeInteger(n) ? n : v['intValue'];
  }
  if ('doubleValue' in v) return v['doubleValue'];
  if ('bytesValue' in v) return v['bytesValue'];
  if ('arrayValue' in v) return listOf(field(v['arrayValue'], 'values')).map(plainValue);
  if ('kvlistValue' in v) {
    const out: Record<string, unknown> = Object.create(null) as Record<string, unknown>;
    for (const kv of listOf(field(v['kvlistValue'], 'values'))) {
      const key = field(kv, 'key');
      if (typeof key === 'string') out[key] = plainValue(field(kv, 'value'));
    }
    return out;
  }
  return null;
}

const POD_LABEL_PREFIXES = ['k8s.pod.labels.', 'k8s.pod.label.'];
const WRITER_KEYS = new Set(['k8s.namespace.name', 'namespace', 'k8s.pod.name', 'pod', 'k8s.container.name', 'container']);

/**
 * A record's attributes as an access log of their own (Istio `envoyOtelAls` with the JSON
 * `logFormat.labels` of docs/access-records.md: each label an attribute), when they hold one:
 * `start_time` and `response_code` among them. The writer's attributes are left out.
 */
function attributeLog(attributes: unknown): Record<string, unknown> | undefined {
  if (!Array.isArray(attributes) || attributes.length < 2) return undefined;
  let log: Record<string, unknown> | undefined;
  for (const kv of attributes) {
    const key = field(kv, 'key');
    if (typeof key !== 'string' || WRITER_KEYS.has(key) || POD_LABEL_PREFIXES.some((p) => key.startsWith(p))) continue;
    (log ??= Object.create(null) as Record<string, unknown>)[key] = plainValue(field(kv, 'value'));
  }
  return log !== undefined && 'start_time' in log && 'response_code' in log ? log : undefined;
}

/**
 * A record's attributes that are access log fields (Envoy's default JSON keys: `source_principal`,
 * `source_workload`, `response_code_details`, ...; formats/envoyFields.ts), to be merged into the
 * record its body gives (LineReader.readMerged); undefined when there is none.
 */
function accessLogFields(attributes: unknown): Record<string, unknown> | undefined {
  let fields: Record<string, unknown> | undefined;
  for (const kv of listOf(attributes)) {
    const key = field(kv, 'key');
    if (typeof key === 'string' && isAccessLogField(key)) (fields ??= Object.create(null) as Record<string, unknown>)[key] = plainValue(field(kv, 'value'));
  }
  return fields;
}

/** The writer that OTLP attributes name, over `base` (attributes that name it win). */
function writerOf(attributes: unknown, base: Writer): Writer {
  let writer: Writer | undefined;
  const set = <K extends 'namespace' | 'pod' | 'container'>(key: K, value: string): void => {
    writer ??= { ...base };
    writer[key] = value;
  };
  for (const kv of listOf(attributes)) {
    const key = field(kv, 'key');
    const value = field(field(kv, 'value'), 'stringValue');
    if (typeof key !== 'string' || typeof value !== 'string' || value === '') continue;
    if (key === 'k8s.namespace.name' || key === 'namespace') set('namespace', value);
    else if (key === 'k8s.pod.name' || key === 'pod') set('pod', value);
    else if (key === 'k8s.container.name' || key === 'container') set('container', value);
    else {
      const prefix = POD_LABEL_PREFIXES.find((p) => key.startsWith(p));
      if (prefix === undefined || key.length === prefix.length) continue;
      writer ??= { ...base };
      writer.labels = { ...writer.labels, [key.slice(prefix.length)]: value };
    }
  }
  return writer ?? base;
}

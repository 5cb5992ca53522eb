import { MAX_LINE_BYTES } from './lineSource';
import { MAX_DOCUMENT_CHARS, backslashesBefore, closingQuote, isNanos, nanosToRfc3339, type DocumentLine, type DocumentScanner } from './documents';

/**
 * Loki's HTTP API JSON saved to a file: a `/loki/api/v1/query_range` or `/query` response
 * (`{"status", "data": {"resultType", "result": [{"stream": {labels}, "values": [[ns, line(,
 * metadata)], ...]}], "stats"}}`) or a push body (`{"streams": [...]}` of the same stream
 * objects), pretty-printed or on one line, one document or several in a row (one push body per
 * line). docs/access-records.md, "Loki API documents"; the shapes are Loki's `docs/sources/reference/loki-http-api.md`.
 *
 * The document is read as a stream, one chunk at a time: besides the entry or stream labels being
 * read, only the entries waiting to be handed over in time order are kept (see below).
 * Each entry becomes the line `logcli query -o jsonl` prints for it (`{"labels", "line",
 * "timestamp"}`, the time as RFC 3339 with the nanoseconds), which the shipper wrapper of every
 * reader unwraps (formats/shipper.ts): the stream labels are used exactly as logcli's.
 * An entry's structured metadata (its third element: the push API's flat map, or a query's
 * `{"structuredMetadata": {...}, "parsed": {...}}` with `categorize-labels`) gives the pod,
 * namespace and container when the stream labels lack them; its other keys (trace ids) are not
 * labels of the pod and are left out.
 *
 * Entries are handed over in time order, not in the order of the file: a query response holds
 * one stream per pod (per label set), one after the other, each newest first by default (Loki's
 * `direction=backward`), while ingest joins the client and server lines of a call, written by two
 * pods, in a window of log time (ingest/folder.ts). So entries are held, sorted by their
 * nanosecond time (stably: equal times keep the file's order) and handed over at the end of the
 * file, or once those held reach MAX_DOCUMENT_CHARS of lines (then in time order within each
 * such part). Skips are handed over as they come.
 */


/** Keys naming the writer, as formats/shipper.ts reads them from Loki labels. */
const WRITER_KEYS = [
  'pod', 'pod_name', 'k8s_pod_name', 'namespace', 'namespace_name', 'k8s_namespace_name',
  'container', 'container_name', 'k8s_container_name',
];


const enum Role { Other, Root, Data, Results, Stream, Values, Entry, Labels, Status, ResultType, Error }
const enum Expect { Top, Value, ValueOrClose, KeyOrClose, Key, Colon, CommaOrClose }

interface StreamState {
  labels: Record<string, string> | undefined;
  labelsJson: string | undefined;
  seenLabels: boolean;
  metric: boolean;
  /** Entries read before the stream's labels (a push body may give `values` first). */
  pending: { raw: string | undefined; at: number }[] | undefined;
}

interface Frame {
  role: Role;
  array: boolean;
  key: string | undefined;
  stream: StreamState | undefined;
}

/**
 * An entry held until it is handed over in time order: its parts, the line built only when it is
 * read (a batch at a time), so that what is held is no more than the entry's text. Its time, `ns`
 * (digits), also as whole seconds and the nanoseconds after them, each exact as a number.
 */
class HeldLine implements DocumentLine {
  readonly seconds: number;
  readonly nanos: number;

  constructor(private readonly labels: string | undefined, private readonly token: string, private readonly ns: string, readonly at: number) {
    const split = ns.length - 9;
    this.seconds = split > 0 ? Number(ns.slice(0, split)) : 0;
    this.nanos = Number(split > 0 ? ns.slice(split) : ns);
  }

  get line(): string {
    return envelope(this.labels, this.token, nanosToRfc3339(this.ns)!);
  }
}

/** Earlier first; 0 for the same time (the sort keeps their order). */
function byTime(a: HeldLine, b: HeldLine): number {
  return a.seconds - b.seconds || a.nanos - b.nanos;
}

/** About the characters of an entry's line beside its labels and text (the keys and the time). */
const ENVELOPE_CHARS = 60;

/** `time`: entries handed over in time order (for ingest); `file`: as they are read (for detection). */
export type LokiEntryOrder = 'time' | 'file';

const ENTRY_SHAPE = 'Loki entry is not ["<unix epoch in nanoseconds>", "<log line>"] (with an optional metadata object)';

/** A JSON string token, quotes included, with nothing JSON refuses (raw control characters, unknown escapes). */
const JSON_STRING = /^"(?:[^"\\\u0000-\u001f]|\\["\\/bfnrt]|\\u[0-9a-fA-F]{4})*"$/;

function skipSpace(text: string, i: number): number {
  for (;;) {
    const c = text.charCodeAt(i);
    if (c !== 32 && c !== 10 && c !== 13 && c !== 9) return i;
    i++;
  }
}

/**
 * The common entry `["<time>", "<line>"]` (no metadata) read in place: the time's text and the
 * line's JSON string token, which goes into the jsonl line as it is; undefined for any other
 * entry (which JSON.parse then reads).
 */
function plainEntry(raw: string): { ns: string; token: string } | undefined {
  let i = skipSpace(raw, 0);
  if (raw.charCodeAt(i) !== 91 /* [ */) return undefined;
  i = skipSpace(raw, i + 1);
  if (raw.charCodeAt(i) !== 34) return undefined;
  const nsEnd = raw.indexOf('"', i + 1);
  if (nsEnd < 0) return undefined;
  const ns = raw.slice(i + 1, nsEnd);
  i = skipSpace(raw, nsEnd + 1);
  if (raw.charCodeAt(i) !== 44 /* , */) return undefined;
  i = skipSpace(raw, i + 1);
  if (raw.charCodeAt(i) !== 34) return undefined;
  const q = closingQuote(raw, i + 1);
  if (q < 0) return undefined;
  const end = skipSpace(raw, q + 1);
  if (raw.charCodeAt(end) !== 93 /* ] */ || skipSpace(raw, end + 1) !== raw.length) return undefined;
  const token = raw.slice(i, q + 1);
  return JSON_STRING.test(token) ? { ns, token } : undefined;
}

/** The line `logcli query -o jsonl` prints for an entry; `line` is a JSON string token. */
function envelope(labels: string | undefined, line: string, time: string): string {
  return labels === undefined ? `{"line":${line},"timestamp":"${time}"}` : `{"labels":${labels},"line":${line},"timestamp":"${time}"}`;
}

function stringRecord(value: unknown): Record<string, string> | undefined {
  if (value === null || typeof value !== 'object' || Array.isArray(value)) return undefined;
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(value as Record<string, unknown>)) if (typeof v === 'string') out[k] = v;
  return out;
}

/**
 * The streaming reader of Loki documents: `push` text as it comes, `end` at the end of the
 * file; each entry (or skip) is handed to `emit`. A light JSON grammar is checked on the way
 * (brackets, keys, colons, commas, strings); entries and labels are parsed in full.
 */
export class LokiDocumentScanner implements DocumentScanner {
  private readonly stack: Frame[] = [];
  private expect = Expect.Top;
  private inString = false;
  private escaped = false;
  private stringIsKey = false;
  private inLiteral = false;
  /** Text of the value being captured (an entry, labels, a status), and where it started in the chunk. */
  private capStart = -1;
  private capParts: string[] = [];
  private capLength = 0;
  private capTooLong = false;
  private capDepth = 0;
  private capRole = Role.Other;
  private capAt = 0;
  private keyStart = -1;
  private keyParts: string[] = [];
  private line = 1;
  private failed: string | undefined;
  /** Per document. */
  private status: string | undefined;
  private error: string | undefined;
  private resultType: string | undefined;
  private shaped = false;
  private documentLine = 1;
  private started = 0;
  /** Documents that are Loki's (a `data.result`/`data.resultType` or a `streams` array). */
  documents = 0;
  /** Lines held to be handed over in time order, their length in characters, and whether they are in it already. */
  private held: HeldLine[] = [];
  private heldChars = 0;
  private heldInOrder = true;

  /** `holdChars`: the most characters of lines held for time order before they are handed over. */
  constructor(private readonly emit: (entry: DocumentLine) => void, private readonly order: LokiEntryOrder = 'time', private readonly holdChars = MAX_DOCUMENT_CHARS) {}

  /** Whether what was read so far shows a Loki document (for detection). */
  get recognized(): boolean {
    return this.failed === undefined && (this.shaped || this.documents > 0);
  }

  push(text: string): void {
    if (this.failed !== undefined) return;
    const n = text.length;
    for (let i = 0; i < n; i++) {
      if (this.inString) {
        if (this.escaped) {
          this.escaped = false;
          continue;
        }
        const q = closingQuote(text, i);
        if (q < 0) {
          // the string goes on in the next chunk, maybe right after a backslash
          this.escaped = backslashesBefore(text, n, i) % 2 === 1;
          break;
        }
        // (a raw line break would be a syntax error; JSON.parse finds it in what is captured)
        this.inString = false;
        if (this.stringIsKey) this.endKey(text, q);
        else this.endValue(text, q + 1);
        i = q;
        continue;
      }
      const c = text.charCodeAt(i);
      if (c === 10) this.line++;
      if (this.inLiteral) {
        if ((c >= 48 && c <= 57) || (c >= 97 && c <= 122) || (c >= 65 && c <= 90) || c === 46 || c === 43 || c === 45) continue;
        this.inLiteral = false;
        this.endValue(text, i);
      }
      if (c === 32 || c === 10 || c === 13 || c === 9) continue;
      switch (this.expect) {
        case Expect.Top:
          if (c !== 123 /* { */) return this.fail(this.started === 0 ? 'the file does not start with a JSON object' : 'text after the JSON document');
          this.beginValue(i, c);
          break;
        case Expect.Value:
          this.beginValue(i, c);
          break;
        case Expect.ValueOrClose:
          if (c === 93 /* ] */) this.close(text, i, true);
          else this.beginValue(i, c);
          break;
        case Expect.KeyOrClose:
        case Expect.Key:
          if (c === 125 /* } */ && this.expect === Expect.KeyOrClose) this.close(text, i, false);
          else if (c === 34) this.beginKey(i);
          else return this.fail('expected a key in quotes');
          break;
        case Expect.Colon:
          if (c !== 58 /* : */) return this.fail('expected ":" after a key');
          this.expect = Expect.Value;
          break;
        case Expect.CommaOrClose: {
          const top = this.stack[this.stack.length - 1]!;
          if (c === 44 /* , */) this.expect = top.array ? Expect.Value : Expect.Key;
          else if (c === (top.array ? 93 : 125)) this.close(text, i, top.array);
          else return this.fail(`expected "," or "${top.array ? ']' : '}'}"`);
          break;
        }
      }
      if (this.failed !== undefined) return;
    }
    // carry what is being captured over to the next chunk
    if (this.capStart >= 0) {
      this.capture(text.slice(this.capStart));
      this.capStart = 0;
    }
    if (this.keyStart >= 0) {
      this.keyParts.push(text.slice(this.keyStart));
      this.keyStart = 0;
    }
  }

  /** The end of the file: a document left open, or nothing Loki's, is reported. */
  end(): void {
    if (this.failed !== undefined) return;
    if (this.inString || this.inLiteral || this.stack.length > 0) {
      this.fail('the document ends before its JSON does (a truncated file?)');
      return;
    }
    this.release();
    if (this.started === 0) {
      this.emit({ skip: 'not a Loki API document: no JSON object in the file', at: 1 });
    }
  }

  private fail(what: string): void {
    this.failed = what;
    // (the entries read before the error are read)
    this.release();
    this.emit({ skip: `Loki API document: JSON syntax error at line ${this.line}: ${what}; the rest of the file is not read`, at: this.line });
  }

  private beginKey(i: number): void {
    this.inString = true;
    this.stringIsKey = true;
    const top = this.stack[this.stack.length - 1]!;
    // keys matter only where the role of the value depends on them
    this.keyStart = top.role === Role.Root || top.role === Role.Data || top.role === Role.Stream ? i + 1 : -1;
    this.keyParts = [];
  }

  private endKey(text: string, i: number): void {
    if (this.keyStart >= 0) {
      this.keyParts.push(text.slice(this.keyStart, i));
      const raw = this.keyParts.join('');
      let key = raw;
      if (raw.includes('\\')) {
        try {
          key = JSON.parse(`"${raw}"`) as string;
        } catch {
          key = raw;
        }
      }
      this.stack[this.stack.length - 1]!.key = key;
    } else {
      this.stack[this.stack.length - 1]!.key = undefined;
    }
    this.keyStart = -1;
    this.keyParts = [];
    this.expect = Expect.Colon;
  }

  private roleOf(): Role {
    const parent = this.stack[this.stack.length - 1];
    if (parent === undefined) return Role.Root;
    switch (parent.role) {
      case Role.Root:
        switch (parent.key) {
          case 'data': return Role.Data;
          case 'streams': return Role.Results;
          case 'status': return Role.Status;
          case 'error': return Role.Error;
          default: return Role.Other;
        }
      case Role.Data:
        if (parent.key === 'resultType') return Role.ResultType;
        if (parent.key === 'result') {
          this.shaped = true;
          return this.resultType === undefined || this.resultType === 'streams' ? Role.Results : Role.Other;
        }
        return Role.Other;
      case Role.Results:
        return Role.Stream;
      case Role.Stream: {
        const stream = parent.stream!;
        if (parent.key === 'stream') return Role.Labels;
        if (parent.key === 'metric' || parent.key === 'value') stream.metric = true;
        return parent.key === 'values' && !stream.metric ? Role.Values : Role.Other;
      }
      case Role.Values:
        return Role.Entry;
      default:
        return Role.Other;
    }
  }

  private beginValue(i: number, c: number): void {
    const role = this.roleOf();
    if (role === Role.Root) this.startDocument();
    if (role === Role.Entry || role === Role.Labels || role === Role.Status || role === Role.ResultType || role === Role.Error) {
      this.capStart = i;
      this.capParts = [];
      this.capLength = 0;
      this.capTooLong = false;
      this.capDepth = this.stack.length;
      this.capRole = role;
      this.capAt = this.line;
    }
    if (c === 123 /* { */ || c === 91 /* [ */) {
      const array = c === 91;
      // a container of the wrong kind is read as any other value
      const expected = role === Role.Results || role === Role.Values || role === Role.Entry ? true : role === Role.Root || role === Role.Data || role === Role.Stream || role === Role.Labels ? false : array;
      const kept = array === expected ? role : role === Role.Entry || role === Role.Labels ? role : Role.Other;
      if (role === Role.Results && array) this.shaped = true;
      const frame: Frame = { role: kept, array, key: undefined, stream: undefined };
      if (kept === Role.Stream) frame.stream = { labels: undefined, labelsJson: undefined, seenLabels: false, metric: false, pending: undefined };
      this.stack.push(frame);
      this.expect = array ? Expect.ValueOrClose : Expect.KeyOrClose;
      return;
    }
    if (role === Role.Root) return this.fail('the top level is not a JSON object');
    if (c === 34) {
      this.inString = true;
      this.stringIsKey = false;
      return;
    }
    if ((c >= 48 && c <= 57) || c === 45 || c === 116 || c === 102 || c === 110) {
      this.inLiteral = true;
      return;
    }
    this.fail(`unexpected "${String.fromCharCode(c)}"`);
  }

  private close(text: string, i: number, array: boolean): void {
    const frame = this.stack.pop()!;
    if (frame.array !== array) return this.fail(`"${array ? ']' : '}'}" closes a${frame.array ? 'n array' : 'n object'}`);
    if (frame.role === Role.Stream) this.finishStream(frame.stream!);
    this.endValue(text, i + 1);
  }

  /** A value ended just before `end` (exclusive) in the chunk. */
  private endValue(text: string, end: number): void {
    if (this.capStart >= 0 && this.stack.length === this.capDepth) {
      this.capture(text.slice(this.capStart, end));
      this.capStart = -1;
      const raw = this.capTooLong ? undefined : this.capParts.join('');
      this.capParts = [];
      this.took(this.capRole, raw, this.capAt);
    }
    if (this.stack.length === 0) {
      this.finishDocument();
      this.expect = Expect.Top;
    } else {
      this.expect = Expect.CommaOrClose;
    }
  }

  private capture(piece: string): void {
    if (this.capTooLong) return;
    this.capLength += piece.length;
    if (this.capLength > MAX_LINE_BYTES) {
      this.capTooLong = true;
      this.capParts = [];
      return;
    }
    this.capParts.push(piece);
  }

  private took(role: Role, raw: string | undefined, at: number): void {
    const stream = this.stack[this.stack.length - 1]?.stream;
    switch (role) {
      case Role.Entry: {
        // the entry's stream: the Values frame's parent
        const owner = this.stack[this.stack.length - 2]?.stream;
        if (owner === undefined) return;
        if (!owner.seenLabels) {
          (owner.pending ??= []).push({ raw, at });
          return;
        }
        this.entry(owner, raw, at);
        return;
      }
      case Role.Labels: {
        if (stream === undefined) return;
        let value: unknown;
        try {
          value = raw === undefined ? undefined : JSON.parse(raw);
        } catch {
          value = undefined;
        }
        stream.labels = stringRecord(value);
        stream.labelsJson = stream.labels === undefined ? undefined : JSON.stringify(stream.labels);
        stream.seenLabels = true;
        this.flushPending(stream);
        return;
      }
      case Role.Status:
      case Role.ResultType:
      case Role.Error: {
        let value: unknown;
        try {
          value = raw === undefined ? undefined : JSON.parse(raw);
        } catch {
          value = undefined;
        }
        const text = typeof value === 'string' ? value : raw === undefined ? '(too long)' : raw;
        if (role === Role.Status) this.status = text;
        else if (role === Role.ResultType) {
          this.resultType = text;
          this.shaped = true;
        } else this.error = text;
        return;
      }
      default:
        return;
    }
  }

  private flushPending(stream: StreamState): void {
    const pending = stream.pending;
    stream.pending = undefined;
    if (pending !== undefined) for (const p of pending) this.entry(stream, p.raw, p.at);
  }

  private finishStream(stream: StreamState): void {
    stream.seenLabels = true;
    this.flushPending(stream);
  }

  private entry(stream: StreamState, raw: string | undefined, at: number): void {
    if (raw === undefined) return this.emit({ skip: 'line too long', at });
    const plain = plainEntry(raw);
    if (plain !== undefined && isNanos(plain.ns)) return this.take(stream.labelsJson, plain.token, plain.ns, at);
    let value: unknown;
    try {
      value = JSON.parse(raw);
    } catch {
      return this.emit({ skip: 'Loki entry is not valid JSON', at });
    }
    if (!Array.isArray(value) || value.length < 2 || value.length > 3 || typeof value[0] !== 'string' || typeof value[1] !== 'string') {
      return this.emit({ skip: ENTRY_SHAPE, at });
    }
    const third: unknown = value[2];
    if (third !== undefined && (third === null || typeof third !== 'object' || Array.isArray(third))) return this.emit({ skip: ENTRY_SHAPE, at });
    if (!isNanos(value[0])) return this.emit({ skip: 'Loki entry timestamp is not a Unix epoch in nanoseconds', at });
    const labels = this.labelsWith(stream, third as Record<string, unknown> | undefined);
    this.take(labels, JSON.stringify(value[1]), value[0], at);
  }

  /**
   * An entry (its labels as JSON, its line as a JSON string token, its time in nanoseconds as
   * digits): handed over now, or held to be in time order.
   */
  private take(labels: string | undefined, token: string, ns: string, at: number): void {
    if (this.order === 'file') return this.emit({ line: envelope(labels, token, nanosToRfc3339(ns)!), at });
    const entry = new HeldLine(labels, token, ns, at);
    const held = this.held;
    if (held.length > 0 && byTime(entry, held[held.length - 1]!) < 0) this.heldInOrder = false;
    held.push(entry);
    this.heldChars += (labels?.length ?? 0) + token.length + ENVELOPE_CHARS;
    if (this.heldChars > this.holdChars) this.release();
  }

  /** Hands the held lines over, in time order. */
  private release(): void {
    const held = this.held;
    if (held.length === 0) return;
    this.held = [];
    this.heldChars = 0;
    // (Array.prototype.sort is stable: equal times keep the order of the file)
    if (!this.heldInOrder) held.sort(byTime);
    this.heldInOrder = true;
    for (const h of held) this.emit(h);
  }

  /** The stream's labels as JSON, with the writer keys of the entry's structured metadata it lacks. */
  private labelsWith(stream: StreamState, third: Record<string, unknown> | undefined): string | undefined {
    if (third === undefined) return stream.labelsJson;
    const nested = third['structuredMetadata'];
    const metadata = stringRecord(nested !== undefined ? nested : third);
    if (metadata === undefined) return stream.labelsJson;
    let merged: Record<string, string> | undefined;
    for (const key of WRITER_KEYS) {
      const v = metadata[key];
      if (v === undefined || (stream.labels !== undefined && key in stream.labels)) continue;
      (merged ??= { ...stream.labels })[key] = v;
    }
    return merged === undefined ? stream.labelsJson : JSON.stringify(merged);
  }

  private startDocument(): void {
    this.status = undefined;
    this.error = undefined;
    this.resultType = undefined;
    this.shaped = false;
    this.documentLine = this.line;
    this.started++;
  }

  private finishDocument(): void {
    const at = this.documentLine;
    if (this.status !== undefined && this.status !== 'success') {
      this.emit({ skip: `Loki response with status "${this.status}"${this.error ? `: ${this.error}` : ''}`, at });
    } else if (this.resultType !== undefined && this.resultType !== 'streams') {
      this.emit({ skip: `Loki ${this.resultType} result (a metric query): it holds samples, not log lines`, at });
    } else if (!this.shaped) {
      this.emit({ skip: 'not a Loki API document: neither data.result (a query response) nor streams (a push body)', at });
    }
    if (this.shaped) this.documents++;
  }
}

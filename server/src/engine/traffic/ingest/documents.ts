import { StringDecoder } from 'node:string_decoder';
import { IgnoredTrailingBytes } from './gunzip';
import { openFileBytes, type LineBatch, type LineSourceOptions } from './lineSource';

/**
 * Files read as JSON documents that each hold many log lines, not as one line per file line:
 * a Loki API response or push body (`lokiDocument.ts`), and OpenTelemetry logs in OTLP/JSON as
 * a collector's file exporter writes them (`otlpDocument.ts`). A document's scanner turns the
 * file's text, chunk by chunk, into the lines of a shipper envelope (`formats/shipper.ts`), each
 * with the file line it starts on, or into skips with their reason.
 */

export const LOKI_API = 'loki-api';
export const OTLP_JSON = 'otlp-json';
export const DOCUMENT_FORMATS = [LOKI_API, OTLP_JSON] as const;
export type DocumentFormat = (typeof DOCUMENT_FORMATS)[number];

export function asDocumentFormat(value: unknown): DocumentFormat | undefined {
  return value === LOKI_API || value === OTLP_JSON ? value : undefined;
}

/** One entry of a document: the line to read, or why it is skipped, and the file line it starts on. */
export interface DocumentLine {
  line?: string;
  skip?: string;
  at: number;
}

export interface DocumentScanner {
  /** The next piece of the file's text. */
  push(text: string): void;
  /** The end of the file. */
  end(): void;
  /** Whether what was pushed so far shows a document of the scanner's format (for detection). */
  readonly recognized: boolean;
}

/**
 * What a scanner is made for: `read`, the lines of the whole file as ingest folds them (a Loki
 * document's entries in time order); `sniff`, detection, which wants the first entries as soon as
 * they are read.
 */
export type ScannerUse = 'read' | 'sniff';

export type ScannerFactory = (emit: (entry: DocumentLine) => void, use: ScannerUse) => DocumentScanner;

/** The number of backslashes right before `end`, down to `from`. */
export function backslashesBefore(text: string, end: number, from: number): number {
  let k = end - 1;
  while (k >= from && text.charCodeAt(k) === 92 /* \ */) k--;
  return end - 1 - k;
}

/** The index of the quote that ends a string whose text goes on at `from` (not after a backslash), or -1. */
export function closingQuote(text: string, from: number): number {
  let q = text.indexOf('"', from);
  while (q >= 0 && backslashesBefore(text, q, from) % 2 === 1) q = text.indexOf('"', q + 1);
  return q;
}

const NANOS = /^\d{1,19}$/;

/** Whether a text is nanoseconds since the epoch as `nanosToRfc3339` takes them. */
export function isNanos(ns: string): boolean {
  return NANOS.test(ns);
}
// (entries of a stream come in time order: the second repeats)
let lastSeconds = '';
let lastSecondsText = '';

/** Nanoseconds since the epoch, as a string of digits → RFC 3339 with all nine fraction digits. */
export function nanosToRfc3339(ns: string): string | undefined {
  if (!NANOS.test(ns)) return undefined;
  const padded = ns.padStart(10, '0');
  const seconds = padded.slice(0, -9);
  if (seconds !== lastSeconds) {
    lastSecondsText = new Date(Number(seconds) * 1000).toISOString().slice(0, 19);
    lastSeconds = seconds;
  }
  return `${lastSecondsText}.${padded.slice(-9)}Z`;
}

/**
 * The text of a file, decompressed, chunk by chunk; bytes after a gzip file's compressed data that
 * are not gzip are thrown (IgnoredTrailingBytes) after the last chunk.
 */
export async function* textChunks(path: string, options: LineSourceOptions): AsyncGenerator<{ text: string; bytes: number }> {
  const { raw, data: stream, leftOut } = openFileBytes(path, { ...(options.gzip ? { gzip: true } : {}), ...(options.chunkBytes ? { chunkBytes: options.chunkBytes } : {}) });
  const decoder = new StringDecoder('utf8');
  let reported = 0;
  let first = true;
  try {
    for await (const chunk of stream as AsyncIterable<Buffer>) {
      options.signal?.throwIfAborted();
      let text = decoder.write(chunk);
      if (first && text.length > 0) {
        first = false;
        if (text.charCodeAt(0) === 0xfeff) text = text.slice(1);
      }
      const bytes = raw.bytesRead - reported;
      reported = raw.bytesRead;
      yield { text, bytes };
    }
    const rest = decoder.end();
    yield { text: rest, bytes: raw.bytesRead - reported };
    const problem = leftOut();
    if (problem) throw problem;
  } finally {
    stream.destroy();
    raw.destroy();
  }
}

/**
 * A document file as batches of lines, one per entry, with the file line each entry starts on
 * (`at`) and the skip reasons of entries (and of documents) that give no line (`skips`).
 */
export async function* readDocumentFile(scanner: ScannerFactory, path: string, options: LineSourceOptions = {}): AsyncGenerator<LineBatch> {
  let out: DocumentLine[] = [];
  const scan = scanner((entry) => out.push(entry), 'read');
  /** The entries [from, to) as a batch; they are dropped from `entries` (a batch's lines are freed once it is read). */
  const batch = (entries: (DocumentLine | undefined)[], from: number, to: number, bytes: number): LineBatch => {
    const n = to - from;
    const lines: string[] = new Array<string>(n);
    const at: number[] = new Array<number>(n);
    let skips: (string | undefined)[] | undefined;
    for (let i = 0; i < n; i++) {
      const e = entries[from + i]!;
      entries[from + i] = undefined;
      lines[i] = e.line ?? '';
      at[i] = e.at;
      if (e.skip !== undefined) (skips ??= new Array<string | undefined>(n))[i] = e.skip;
    }
    return { lines, bytes, at, ...(skips ? { skips } : {}) };
  };
  // (a scanner may hand over many entries at once, a whole document's: batches of a usual size)
  function* batches(bytes: number): Generator<LineBatch> {
    const entries: (DocumentLine | undefined)[] = out;
    out = [];
    if (entries.length <= MAX_BATCH_LINES) {
      yield batch(entries, 0, entries.length, bytes);
      return;
    }
    for (let from = 0; from < entries.length; from += MAX_BATCH_LINES) yield batch(entries, from, Math.min(from + MAX_BATCH_LINES, entries.length), from === 0 ? bytes : 0);
  }
  let leftOut: IgnoredTrailingBytes | undefined;
  try {
    for await (const chunk of textChunks(path, options)) {
      scan.push(chunk.text);
      yield* batches(chunk.bytes);
    }
  } catch (error) {
    // (the whole text was read: its last document is ended as any other, then the bytes reported)
    if (!(error instanceof IgnoredTrailingBytes)) throw error;
    leftOut = error;
  }
  scan.end();
  if (out.length) yield* batches(0);
  if (leftOut) throw leftOut;
}

/** The most lines of a batch of a document's lines. */
const MAX_BATCH_LINES = 8192;

/** Above this, a document's text is not kept (an OTLP request): it is skipped whole, with that reason. */
export const MAX_DOCUMENT_CHARS = 64 * 1024 * 1024;

/**
 * How much of a file detection reads to tell a document; more while a recognized document has
 * given no line yet (a collector's request of thousands of records is one line of many MiB, and
 * gives its lines only once read whole), up to the largest document that is read.
 */
const SNIFF_CHARS = 256 * 1024;
const SNIFF_CHARS_FOR_A_LINE = MAX_DOCUMENT_CHARS + 1024 * 1024;
const SNIFF_LINES = 50;

/**
 * Which of `formats` a file is a document of, from its first 256 KiB (decompressed), and the
 * lines of its first entries (for detecting the format inside); undefined when it is none.
 */
export async function sniffDocumentFile(path: string, gzip: boolean, formats: readonly { format: DocumentFormat; scanner: ScannerFactory }[]): Promise<{ format: DocumentFormat; sample: string[] } | undefined> {
  const candidates = formats.map(({ format, scanner }) => {
    const sample: string[] = [];
    const scan = scanner((entry) => {
      if (entry.line !== undefined && sample.length < SNIFF_LINES) sample.push(entry.line);
    }, 'sniff');
    return { format, sample, scan };
  });
  let read = 0;
  const chunks = textChunks(path, { gzip, chunkBytes: 64 * 1024 });
  const enough = (): boolean => candidates.some((c) => c.sample.length >= SNIFF_LINES)
    || (read >= SNIFF_CHARS && !candidates.some((c) => c.scan.recognized && c.sample.length === 0 && read < SNIFF_CHARS_FOR_A_LINE));
  try {
    for await (const chunk of chunks) {
      // (a file that starts otherwise is not read further)
      const start = read === 0 ? chunk.text.trimStart() : '';
      if (start.length > 0 && start.charCodeAt(0) !== 123 /* { */) return undefined;
      for (const c of candidates) c.scan.push(chunk.text);
      read += chunk.text.length;
      if (enough()) break;
    }
  } catch (error) {
    // damage after some text (a truncated .gz): judged on that text; the full read reports it
    if (read === 0) throw error;
  } finally {
    await chunks.return(undefined);
  }
  const found = candidates.find((c) => c.scan.recognized);
  return found ? { format: found.format, sample: found.sample } : undefined;
}

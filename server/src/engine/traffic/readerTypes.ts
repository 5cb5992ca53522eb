import type { AccessRecord } from './accessRecord';

/**
 * The contract between the log-format readers (one module per format under traffic/formats/)
 * and the ingest pipeline (identity resolution, folding, accounting). A reader turns one line
 * into one result; it never throws.
 */

export type LogFormatId =
  | 'envoy-text'        // Istio/Envoy default TEXT format, or a user-supplied Envoy format string
  | 'envoy-json'        // Envoy/Istio JSON encoding (numbers or strings, "-" or null for empty)
  | 'linkerd-apache'    // Linkerd proxy access log, apache style
  | 'linkerd-json'      // Linkerd proxy access log, JSON
  | 'consul-envoy-json' // Consul's Envoy JSON access logs
  | 'ztunnel'           // Istio ambient ztunnel access events (L4)
  | 'access-record';    // our canonical JSON Lines

export const FORMAT_IDS: readonly LogFormatId[] = ['envoy-text', 'envoy-json', 'linkerd-apache', 'linkerd-json', 'consul-envoy-json', 'ztunnel', 'access-record'];

/** What the shipper (Fluent Bit, Fluentd, Vector, Loki, kubectl logs --prefix) said about the writer. */
export interface ShipperMetadata {
  /** `table`: the pod columns of a log store's table (traffic/sources/clickhouse). */
  shipper: 'fluent-bit' | 'fluentd' | 'vector' | 'loki' | 'kubectl' | 'otlp' | 'table';
  pod?: string;
  namespace?: string;
  container?: string;
  labels?: Record<string, string>;
  /** The shipper's own timestamp, when the line has none. */
  time?: string;
}

export interface ParsedLine {
  kind: 'record';
  record: AccessRecord;
  /** Which proxy leg wrote the line: the server side (inbound) is the one that carries RBAC denials. */
  side: 'inbound' | 'outbound' | 'unknown';
  /** x-request-id, for joining the client-side and server-side lines of one call. */
  requestId?: string;
  shipper?: ShipperMetadata;
  /** Why the caller identity is missing from the line itself, when it is. */
  identityGap?: string;
  /**
   * Written by an Istio ambient waypoint (server side of the call to the Service it fronts): the
   * pod that wrote it, which shipper metadata names, is the waypoint, not the destination.
   */
  waypoint?: true;
  /**
   * The caller addressed the pod itself, not a Service (a ztunnel event without `dst.service`):
   * ingest does not fill in the pod's Service from the inventory, because in ambient mode the
   * Service the caller named decides whether the call passes a waypoint.
   */
  addressedToPod?: true;
}

export interface SkippedLine {
  kind: 'skip';
  /** A short, stable reason, e.g. "not JSON", "no request fields", "blank line". Counted per reason. */
  reason: string;
  /**
   * The reader holds the line's text under this name (a CRI `P` fragment, by its stream) until a
   * later line ends it or {@link LineReader.finish} gives the held text's result.
   */
  held?: string;
}

export type LineResult = ParsedLine | SkippedLine;

export interface LineReader {
  format: LogFormatId;
  read(line: string): LineResult;
  /**
   * The fast path of ingestion (optional): what folding and joining need of a line, without
   * building its record. `key` stands for every field that `read` would turn into the record,
   * except the time and the request id (and a downstream address's port, which no record keeps):
   * two lines with the same key (from the same reader) give the same record but for those. The
   * ingest pipeline builds the record with `read` only for a key it has not seen.
   * Undefined when the line needs `read` (it would be skipped, carries shipper metadata, has
   * characters below U+0004 or escapes, or is a TCP line): never a different answer than `read`.
   */
  peek?(line: string): LinePeek | undefined;
  /**
   * What `read` gives for the line of the last `peek` that returned a LinePeek, built from what
   * that peek found (no second scan). Only right after that peek: ingestion calls it for a line
   * whose key is new. Readers with `peek` have it.
   */
  readPeeked?(): ParsedLine;
  /**
   * `read` for a line that `peek` answered, called later (ingest reads a waiting line only when
   * it needs the record): what `read` would have given at the time of the peek. Readers whose
   * `read` takes state from earlier lines (Linkerd: the proxy's policy events mark the next
   * access log line of their client) have it; for the others `read` is the same.
   */
  readAgain?(line: string): LineResult;
  /**
   * What `read` gives for a peeked line, rebuilt from its key (LinePeek.parts joined with U+0001,
   * or a copy of the parts array), its time and its request id (as its peek gave them), without
   * the line's text: a line waiting in the x-request-id join window keeps only those
   * (ingest/folder.ts). Optional.
   */
  readParts?(key: string | readonly string[], time: string | undefined, requestId: string | undefined): ParsedLine;
  /** With readParts: the indexes of the request's method, host and path among the key's parts. */
  readonly hopParts?: readonly [method: number, host: number, path: number];
  /**
   * `read`, with access log fields given beside the line merged in: an OTLP record's attributes
   * (ingest/otlpDocument.ts), named as Envoy's default JSON keys (`source_principal`, ...); a
   * field with a value wins over the line's. Readers of Envoy lines have it; for the others the
   * fields are not read. Optional.
   */
  readMerged?(line: string, fields: Readonly<Record<string, unknown>>): LineResult;
  /**
   * At the end of the input (a file, or a worker's byte range of it): the lines the reader still
   * holds, CRI `P` fragments that no `F` line ended. Each result is the joined text held under one
   * name (SkippedLine.held), read, or skipped with {@link UNENDED_PARTIAL_LINE}; it takes the place
   * in the counts of the last line skipped as held under that name. Optional; empties the reader.
   */
  finish?(): HeldLineResult[];
}

export interface HeldLineResult {
  held: string;
  result: LineResult;
}

/** The skip reason of a CRI `P` fragment, held until the line that ends it. */
export const PARTIAL_LINE = 'partial line (joined with the next)';
/** The skip reason of CRI `P` fragments that the input ends with, whose joined text no reader reads. */
export const UNENDED_PARTIAL_LINE = 'partial line at the end of the input (no F line ends it)';

/** What a reader's `peek` tells about a line (see LineReader.peek). */
export interface LinePeek {
  /**
   * The line's key, in parts: the first tells readers (and formats) apart, the others are the
   * values that `read` turns into the record. No part holds a character below U+0004 that the
   * line had (readers send such lines the full way), so joined with U+0001 they stay apart.
   * A scratch array of the reader: valid until its next `peek` or `read` (ingest interns it at
   * once, see ingest/lineKeys.ts), so no key string is built per line.
   */
  parts: readonly string[];
  /** hashKeyParts(parts). */
  hash: number;
  /** The record's time, as `read` would set it. */
  time: string | undefined;
  side: ParsedLine['side'];
  mesh: 'istio' | 'linkerd' | 'consul';
  requestId: string | undefined;
  /** The request's method, host and path (at least one is set): what tells the hops of one request id apart. */
  method: string | undefined;
  host: string | undefined;
  path: string | undefined;
}

export interface ReaderOptions {
  /** A user-supplied Envoy format string for envoy-text (operators mapped to fields by name). */
  envoyFormat?: string;
  /** The mesh to assume when the format does not say (Envoy formats are Istio by default). */
  mesh?: 'istio' | 'linkerd' | 'consul';
}

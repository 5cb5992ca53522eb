import type { ProjectConfig } from '../../config/projectConfig';
import type { Inventory } from '../../inventory/inventory';
import type { AccessRecord } from '../accessRecord';
import type { LineReader, LogFormatId } from '../readerTypes';
import type { DocumentFormat } from './documents';

/**
 * How the caller (or the destination) of a call was found, in the order tried:
 * - `line`: the line itself names it (peer URI SAN, peer metadata, Linkerd client.id, ...);
 * - `shipper`: the log shipper's pod/namespace metadata names the proxy that wrote the line;
 * - `join`: the client-side line of the same call (same x-request-id) was found;
 * - `ip`: the inventory's pod IPs (or Service cluster IPs, for destinations);
 * - `host`: (destinations only) the request's host or SNI names a Service of the inventory;
 * - `unresolved`: none of these worked; the shape says why.
 */
export type ResolutionMethod = 'line' | 'shipper' | 'join' | 'ip' | 'host' | 'unresolved';

export interface SampleLocation {
  file: string;
  /** 1-based line number in the (decompressed) file. */
  line: number;
}

/** Identical calls folded into one: the record (with `count`), when they happened, where to look.
 * Calls fold when their records have one `shapeKey` (identities, destination, port, protocol,
 * method, path, host, testable headers and JWT facts, outcome). */
export interface TrafficShape {
  /** One normalized record standing for `count` calls; `time` is the first call's time. */
  record: AccessRecord;
  count: number;
  firstTime?: string;
  lastTime?: string;
  /** file:line of the first few lines folded here. */
  samples: SampleLocation[];
  /** Calls per way the caller was resolved (`unresolved` included). Read only: shapes with one
   * method share one frozen object per method and count. */
  sourceBy: Partial<Record<ResolutionMethod, number>>;
  /** Calls per way the destination was resolved (read only, as `sourceBy`). */
  destinationBy: Partial<Record<ResolutionMethod, number>>;
  /** Why the caller could not be resolved, per reason, in calls. */
  unresolvedSource?: Record<string, number>;
  /** Why the destination could not be resolved, per reason, in calls. */
  unresolvedDestination?: Record<string, number>;
  /** Calls of this shape that merged a client-side and a server-side line (x-request-id). */
  joined: number;
  /** With `timeBucketMs`: calls per time bucket (key: the bucket's start, epoch ms), for calls
   * whose record has a time. */
  callsByTime?: Record<string, number>;
  /** What the reader said the line does not record about the caller (first one seen). */
  identityGap?: string;
  /** The ids of the record's values (`traffic/callIds.ts`), given by ingest; not enumerable. */
  ids?: Int32Array;
}

export interface FileStats {
  path: string;
  format?: LogFormatId;
  /** Set for a file read as JSON documents of many lines: `loki-api` (a Loki query response or push body), `otlp-json` (OpenTelemetry logs). */
  document?: DocumentFormat;
  gzip: boolean;
  /** Bytes read from disk (compressed bytes for gzip files). */
  bytes: number;
  lines: number;
  parsed: number;
  skipped: number;
  skippedByReason: Record<string, number>;
  /** Set when the file could not be read (whole or in part); the counts cover what was read. */
  error?: string;
}

/**
 * Every line is accounted for:
 * - `lines = parsed + skipped` (per file and in total);
 * - `parsed + gatewayLegs + extraCalls = calls + joinedPairs` (a joined pair is two lines, one
 *   call; a gateway's line also gives the call the gateway received; an access record with
 *   `count: n` stands for n calls);
 * - `calls = Σ shape.count = Σ sourceBy = Σ destinationBy`.
 */
export interface IngestStats {
  files: FileStats[];
  bytes: number;
  lines: number;
  parsed: number;
  skipped: number;
  skippedByReason: Record<string, number>;
  calls: number;
  shapes: number;
  joinedPairs: number;
  /** Calls beyond one that records with `count` > 1 stand for (canonical access records). */
  extraCalls: number;
  /** Of the joined pairs, TCP connections joined on their addresses. */
  tcpPairs: number;
  /** Calls to an Istio gateway, taken from the gateway's own (client-side) lines. */
  gatewayLegs: number;
  sourceBy: Partial<Record<ResolutionMethod, number>>;
  destinationBy: Partial<Record<ResolutionMethod, number>>;
  unresolvedSourceByReason: Record<string, number>;
  unresolvedDestinationByReason: Record<string, number>;
  observed: Record<string, number>;
  join: {
    /** Lines with an x-request-id that found no line of the other side within the window. */
    unmatched: number;
    /** Of those, server-side lines: their callers' proxies wrote no line that was read (no sidecar, ambient, or those logs not given). */
    unmatchedServer: number;
    /** Entries pushed out of the join window because it was full (size bound). */
    evictedBySize: number;
    /** Server-side lines that took the caller from an already joined call (retries). */
    reused: number;
  };
  durationMs: number;
  workers: number;
  /** Files that could not be read, or whose format was not recognized. */
  problems: string[];
}

export interface TrafficModel {
  shapes: TrafficShape[];
  stats: IngestStats;
}

export interface TimeWindow {
  since?: number;
  until?: number;
}

export interface IngestProgress {
  /** Bytes read so far, over all files (compressed bytes for gzip). */
  bytesRead: number;
  totalBytes: number;
  lines: number;
  filesDone: number;
  files: number;
}

export interface IngestOptions {
  inventory?: Inventory;
  config?: ProjectConfig;
  onProgress?: (progress: IngestProgress) => void;
  signal?: AbortSignal;
  /** Choose the reader of a file yourself (tests, embedding); undefined falls back to detection. */
  readerFor?: (file: string, sampleLines: string[]) => LineReader | undefined;
  /** How far apart (ms) the two sides of a call may be and still join; default 60 s. */
  joinWindowMs?: number;
  /** Most lines waiting for their other side at once; default 100,000. */
  maxPendingJoins?: number;
  /** Request headers that keep otherwise identical calls apart, e.g. the headers the policies test.
   * Default: every header the log records except per-request ones (x-request-id, trace ids, ...).
   * With a list, a shape's other headers are those of its first call. */
  keyHeaders?: string[];
  /** Sample locations kept per shape; default 3. */
  maxSamples?: number;
  /**
   * Worker threads for large inputs: default `readers.workers` of the configuration, else 1 (this
   * thread). Each worker reads a slice of time and meets most shapes again, so workers cost
   * memory and CPU in proportion to their number and gain little wall time: 1M Istio JSON lines,
   * 4 workers, took 2.5x the CPU and 1.9x the peak RSS of one thread, and after the workers the
   * merge alone took this thread about as long as 40% of a one-thread read (docs/performance.md).
   */
  workers?: number;
  /** Total uncompressed bytes from which workers are used; default 64 MiB. */
  parallelThreshold?: number;
  /** Keep only lines whose time is in [since, until) (epoch ms); the others are skipped with the
   * reason "outside the time window". A line without a time takes the time of the line before it
   * in its file; lines before the first timed line of a file are kept. */
  timeWindow?: TimeWindow;
  /** Count each shape's calls per time bucket of this many ms (TrafficShape.callsByTime). */
  timeBucketMs?: number;
  /** How to start a worker when the pipeline runs from a bundle (the CLI sets this). */
  workerEntry?: { file: string; argv: string[] };
  /** Lines read per file; the rest of a file is counted and skipped with a reason. Default:
   * `readers.maxLines` of the configuration, else no limit. */
  maxLinesPerFile?: number;
}

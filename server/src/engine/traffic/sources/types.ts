import type { IngestOptions, TrafficModel } from '../ingest/types';

/**
 * Where observed calls come from. Files are one source (read and folded here, by ingest/); a log
 * store is another (folded where the data lives, by one aggregating query). Both give the same
 * TrafficModel: shapes with counts, first and last times and sample references, and
 * IngestStats-compatible accounting, so the engine and the editor cannot tell them apart.
 */
export interface TrafficSource {
  readonly kind: 'files' | 'clickhouse';
  /** For messages: the paths, or `clickhouse://host:port/db.table`. */
  describe(): string;
  /** Reads and folds. Progress and cancellation through `options`; rejects with a
   * TrafficSourceError (clear message) when the source cannot be read, with an AbortError on abort. */
  read(options?: SourceReadOptions): Promise<TrafficModel>;
}

/** What every source understands (files also take the rest of IngestOptions). */
export type SourceReadOptions = Pick<IngestOptions, 'inventory' | 'config' | 'onProgress' | 'signal' | 'keyHeaders' | 'maxSamples'>;

/** A source that cannot be read at all: down, too slow, refusing, misconfigured. */
export class TrafficSourceError extends Error {
  constructor(message: string, readonly reason: 'unreachable' | 'timeout' | 'refused' | 'query' | 'config') {
    super(message);
    this.name = 'TrafficSourceError';
  }
}

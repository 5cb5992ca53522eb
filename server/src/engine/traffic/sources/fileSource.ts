import { ingestTraffic } from '../ingest';
import type { IngestOptions, TrafficModel } from '../ingest/types';
import type { SourceReadOptions, TrafficSource } from './types';

/** Access-log files and folders, read and folded by ingest/ (streaming, joins, workers). */
export class FileTrafficSource implements TrafficSource {
  readonly kind = 'files';

  /** `ingest`: options beyond SourceReadOptions (join window, workers, worker entry). */
  constructor(readonly paths: string[], private readonly ingest: Omit<IngestOptions, keyof SourceReadOptions> = {}) {}

  describe(): string {
    return this.paths.join(', ');
  }

  read(options: SourceReadOptions = {}): Promise<TrafficModel> {
    return ingestTraffic(this.paths, { ...this.ingest, ...options });
  }
}

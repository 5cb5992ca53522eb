/**
 * Traffic ingestion: access logs (any format the readers know, plain or gzip) plus the cluster
 * inventory, read into shapes of observed calls. See ingestTraffic.
 */
export { ingestTraffic, DEFAULT_JOIN_WINDOW_MS, DEFAULT_MAX_PENDING, DEFAULT_MAX_SAMPLES, DEFAULT_PARALLEL_THRESHOLD } from './ingest';
export type { FileStats, IngestOptions, IngestProgress, IngestStats, ResolutionMethod, SampleLocation, TrafficModel, TrafficShape } from './types';
export { collectTrafficFiles, globToRegExp } from './files';
export { shapeKey, VOLATILE_CLAIMS, VOLATILE_HEADERS } from './shapes';
export { parsePrincipal, principalFor } from './identity';
export { serviceFromSni } from './resolve';
export { readerSetting, readerSettingProblems, FORMAT_IDS } from './readers';
export { runIngestWorker } from './worker';

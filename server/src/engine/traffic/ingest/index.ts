/**
 * Traffic ingestion: access logs (any format the readers know, plain, gzip or shipper-wrapped)
 * plus the cluster inventory, read into shapes of observed calls.
 *
 *   const model = await ingestTraffic(['logs/'], { inventory, config, onProgress, signal });
 *   model.shapes  // TrafficShape[]: record (with count), first/last time, samples, how resolved
 *   model.stats   // IngestStats: per file and per reason; the counts add up (see IngestStats)
 *
 * Pipeline: files are streamed in 120 KiB chunks (gunzipped when named .gz or starting with
 * the gzip magic) and split into lines; each file's format is detected from its first lines
 * (or forced by `.meshpolicy.yaml` `readers`); the files' lines are merged by time; the client-
 * and server-side lines of one call are joined (x-request-id and hop; TCP on addresses) in a
 * time- and size-bounded window; who called whom is resolved (line identity, shipper metadata,
 * the joined client line, inventory pod IPs) and the destination completed from the inventory;
 * identical calls fold into shapes. Large uncompressed inputs are cut into time slices read by
 * worker threads when CPUs are idle (parallel.ts).
 */
export { ingestTraffic, DEFAULT_JOIN_WINDOW_MS, DEFAULT_MAX_PENDING, DEFAULT_MAX_SAMPLES, DEFAULT_PARALLEL_THRESHOLD } from './ingest';
export type { FileStats, IngestOptions, IngestProgress, IngestStats, ResolutionMethod, SampleLocation, TimeWindow, TrafficModel, TrafficShape } from './types';
export { collectTrafficFiles, compileGlob } from './files';
export { shapeKey, VOLATILE_CLAIMS, VOLATILE_HEADERS } from './shapes';
export { parsePrincipal, principalFor } from './identity';
export { serviceFromSni } from './resolve';
export { readerSetting, readerSettingProblems, FORMAT_IDS } from './readers';
export { runIngestWorker } from './worker';

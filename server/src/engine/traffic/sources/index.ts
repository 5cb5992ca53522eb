/**
 * Traffic sources: where observed calls come from. Files (FileTrafficSource, read by ingest/) and
 * a ClickHouse table (ClickHouseTrafficSource, folded on the server) give the same TrafficModel.
 */
export type { SourceReadOptions, TrafficSource } from './types';
export { TrafficSourceError } from './types';
export { FileTrafficSource } from './fileSource';
export { ClickHouseTrafficSource } from './clickhouse/source';
export { planQueries, quoteIdentifier, quoteString } from './clickhouse/query';

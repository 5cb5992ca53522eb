import { isMainThread } from 'node:worker_threads';
import { runIngestWorker } from '../engine/traffic/ingest';
import { runBulkWorker } from '../engine/inventory/bulkWorker';
import { INGEST_WORKER_FLAG, INVENTORY_WORKER_FLAG, main } from './server';

if (!isMainThread && process.argv.includes(INGEST_WORKER_FLAG)) void runIngestWorker();
else if (!isMainThread && process.argv.includes(INVENTORY_WORKER_FLAG)) runBulkWorker();
else main();

import { isMainThread } from 'node:worker_threads';
import { runIngestWorker } from '../engine/traffic/ingest';
import { INGEST_WORKER_FLAG, main } from './server';

if (!isMainThread && process.argv.includes(INGEST_WORKER_FLAG)) void runIngestWorker();
else main();

import { isMainThread, parentPort, workerData } from 'node:worker_threads';
import type { LinkerdIdentityNames } from './identity';
import type { Inventory } from '../../inventory/inventory';
import { InventoryIndex } from '../../inventory/inventoryIndex';
import type { LineReader, LogFormatId, ReaderOptions } from '../readerTypes';
import { Folder, type Item, type JoinStats } from './folder';
import { foldTasks, type ReadTask, type TaskStats } from './pipeline';
import { createReaderFor, FORMAT_NOT_RECOGNIZED, skippingReader } from './readers';
import { Resolver } from './resolve';
import type { ShapeAcc } from './shapes';
import type { TimeWindow } from './types';

/** What the main thread sends a worker: its slice of every file, and the slice's time bounds. */
export interface WorkerInput {
  meshPolicyIngest: true;
  tasks: (ReadTask & { format?: LogFormatId; options?: ReaderOptions; problem?: string })[];
  inventory: Inventory;
  trustDomain: string;
  linkerd: LinkerdIdentityNames;
  joinWindowMs: number;
  maxPending: number;
  maxSamples: number;
  keyHeaders?: string[];
  timeWindow?: TimeWindow;
  timeBucketMs?: number;
  /** Time bounds (epoch ms) of the slice; lines within the join window of a bound may have
   * their other side in the neighbouring slice. Infinite on the outer sides. */
  lowerBound: number;
  upperBound: number;
}

export type WorkerMessage =
  | { type: 'progress'; bytes: number; lines: number }
  | { type: 'done'; shapes: ShapeAcc[]; extraCalls: number; join: JoinStats; stats: TaskStats[]; edge: Item[] }
  | { type: 'error'; message: string };

let workerStarted = false;

/** Runs one slice of an ingest in a worker thread and posts the result to the parent. Idempotent:
 * a bundle may reach it both from this module's own start-up check and from its entry point. */
export async function runIngestWorker(): Promise<void> {
  if (workerStarted) return;
  workerStarted = true;
  const input = workerData as WorkerInput;
  const port = parentPort!;
  try {
    const resolver = new Resolver({ index: new InventoryIndex(input.inventory), trustDomain: input.trustDomain, linkerd: input.linkerd, defaultMesh: 'istio' });
    const window = input.joinWindowMs;
    const lower = input.lowerBound;
    const upper = input.upperBound;
    const folder = new Folder(resolver, {
      joinWindowMs: window, maxPending: input.maxPending, maxSamples: input.maxSamples,
      ...(input.keyHeaders ? { keyHeaders: input.keyHeaders } : {}),
      ...(input.timeBucketMs ? { timeBucketMs: input.timeBucketMs } : {}),
      isEdge: (t) => t < lower + window || t > upper - window,
    });
    let bytes = 0;
    let lines = 0;
    let last = Date.now();
    const tasks = input.tasks.map((task) => {
      let reader: LineReader | undefined;
      if (task.format && task.problem === undefined) {
        try {
          reader = createReaderFor(task.format, task.options ?? {});
        } catch {
          reader = undefined;
        }
      }
      return { task, reader: reader ?? skippingReader(task.problem ?? FORMAT_NOT_RECOGNIZED) };
    });
    const stats = await foldTasks(tasks, folder, {
      ...(input.timeWindow ? { timeWindow: input.timeWindow } : {}),
      onBatch: (b, l) => {
        bytes += b;
        lines += l;
        const now = Date.now();
        if (now - last >= 100) {
          port.postMessage({ type: 'progress', bytes, lines } satisfies WorkerMessage);
          bytes = 0;
          lines = 0;
          last = now;
        }
      },
    });
    if (bytes || lines) port.postMessage({ type: 'progress', bytes, lines } satisfies WorkerMessage);
    port.postMessage({ type: 'done', shapes: folder.table.shapes, extraCalls: folder.table.extraCalls, join: folder.join, stats, edge: folder.edge } satisfies WorkerMessage);
  } catch (error) {
    port.postMessage({ type: 'error', message: error instanceof Error ? error.stack ?? error.message : String(error) } satisfies WorkerMessage);
  }
}

if (!isMainThread && (workerData as Partial<WorkerInput> | undefined)?.meshPolicyIngest && require.main === module) void runIngestWorker();

import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { isMainThread, parentPort, Worker, workerData } from 'node:worker_threads';
import { textNamesPolicies } from '../source/policyMarks';
import { decodeText, DEFAULT_READ_LIMITS, unreadFile, type ReadLimits, type SourceDocument, type SourceFile, type SourceFormat } from '../source/sourceFile';
import { bulkDocuments, bulkInventoryValues } from './bulkObjects';
import { addDocumentsToInventory, emptyInventory, inventoryContributionKey, rememberContribution } from './inventory';

/**
 * An over-limit file's inventory objects read in a worker thread, so that the thread that asked
 * keeps answering while a big kubectl dump is parsed (js-yaml and JSON.parse take seconds and
 * cannot be interrupted). The worker reads the file itself, parses it, and posts the objects it
 * keeps in batches; each batch becomes documents on its own turn of the caller's event loop.
 */
interface BulkInput {
  meshPolicyBulk: true;
  path: string;
  format: SourceFormat;
  limits: ReadLimits;
}

type BulkMessage =
  /** The text is within the policy limit after all (a byte count over it, in fewer characters): read as usual. */
  | { type: 'small' }
  | { type: 'begin'; textLength: number; namesPolicies: boolean; contributionKey: string }
  | { type: 'objects'; values: Record<string, unknown>[] }
  | { type: 'done' };

/** Time the receiving thread spends on one batch (its copy and conversion): the batch size follows it. */
const BATCH_MS = 8;

let workerStarted = false;

export function runBulkWorker(): void {
  if (workerStarted) return;
  workerStarted = true;
  const { path, format, limits } = workerData as BulkInput;
  const port = parentPort!;
  const text = decodeText(readFileSync(path));
  if (text.length <= limits.maxFileBytes) {
    port.postMessage({ type: 'small' } satisfies BulkMessage);
    return;
  }
  const namesPolicies = textNamesPolicies(text);
  const values = text.length <= (limits.maxInventoryFileBytes ?? DEFAULT_READ_LIMITS.maxInventoryFileBytes!) ? bulkInventoryValues(text, format) ?? [] : [];
  // The receiver builds the same file; its inventory key is computed here, off its thread.
  const contributionKey = inventoryContributionKey(bulkFile(path, format, text.length, limits, namesPolicies, bulkDocuments(values, 0)));
  port.postMessage({ type: 'begin', textLength: text.length, namesPolicies, contributionKey } satisfies BulkMessage);
  // One batch per request, of the size asked for: messages queued at once would all be taken in one turn of the receiver's loop.
  let next = 0;
  port.on('message', (count: number) => {
    port.postMessage(next < values.length ? { type: 'objects', values: values.slice(next, (next += count)) } : { type: 'done' } satisfies BulkMessage);
  });
}

/** What `readSourceFromDisk` gives such a file: unparsed as policies, no text kept, the inventory's objects as documents. */
function bulkFile(path: string, format: SourceFormat, textLength: number, limits: ReadLimits, namesPolicies: boolean, documents: SourceDocument[]): SourceFile {
  return { ...unreadFile(path, format, textLength, limits, namesPolicies), documents };
}

/** Where a worker starts: this module when it is a file of its own (compiled), else the bundle's entry given. */
function entryFor(bundleEntry: { file: string; argv: string[] } | undefined): { file: string; argv: string[] } | undefined {
  if (existsSync(join(__dirname, 'bulkWorker.js'))) return { file: join(__dirname, 'bulkWorker.js'), argv: [] };
  return bundleEntry;
}

/**
 * The file at `path` (over `limits.maxFileBytes`) read in a worker; undefined when no worker can
 * start here or it failed, or the text is within the limit after all: the caller then reads the
 * file on its own thread, to the same result. The objects come in batches, each made documents
 * and added to the file's inventory contribution on its own turn of this thread's event loop.
 */
export function readBulkInWorker(path: string, format: SourceFormat, limits: ReadLimits, bundleEntry?: { file: string; argv: string[] }): Promise<SourceFile | undefined> {
  const entry = entryFor(bundleEntry);
  if (!entry) return Promise.resolve(undefined);
  return new Promise((resolve) => {
    let file: SourceFile | undefined;
    let key = '';
    const contribution = emptyInventory();
    let batch = 100;
    let settled = false;
    const finish = (result: SourceFile | undefined): void => {
      if (settled) return;
      settled = true;
      void worker.terminate();
      resolve(result);
    };
    const input: BulkInput = { meshPolicyBulk: true, path, format, limits };
    const worker = new Worker(entry.file, { workerData: input, argv: entry.argv, stdout: true, stderr: false });
    worker.stdout.resume();
    worker.on('message', (message: BulkMessage) => {
      if (message.type === 'small') return finish(undefined);
      if (message.type === 'begin') {
        file = bulkFile(path, format, message.textLength, limits, message.namesPolicies, []);
        key = message.contributionKey;
      } else if (message.type === 'objects' && file) {
        const started = performance.now();
        const documents = bulkDocuments(message.values, file.documents.length);
        file.documents.push(...documents);
        addDocumentsToInventory(contribution, file, documents);
        const perObject = (performance.now() - started) / message.values.length;
        batch = Math.max(10, Math.min(5_000, Math.round(BATCH_MS / Math.max(perObject, 1e-3))));
      } else if (message.type === 'done' && file) {
        rememberContribution(file, contribution, key);
        return finish(file);
      }
      // the next batch once this thread has had a turn for other work
      setImmediate(() => { if (!settled) worker.postMessage(batch); });
    });
    worker.on('error', () => finish(undefined));
    worker.on('exit', () => finish(undefined));
  });
}

if (!isMainThread && (workerData as Partial<BulkInput> | undefined)?.meshPolicyBulk && require.main === module) runBulkWorker();

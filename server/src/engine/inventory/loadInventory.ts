import type { ProjectConfig } from '../config/projectConfig';
import { readSource, readSourceFromDisk, withInventoryObjects, type BulkReader } from '../source/read';
import { describeFsError, statRegularFile } from '../fsErrors';
import { DEFAULT_READ_LIMITS, formatFromPath, type SourceFile } from '../source/sourceFile';
import { bulkInventoryDocuments } from './bulkObjects';
import { collectByGlobs } from '../traffic/ingest/files';
import { addToInventory, emptyInventory, type Inventory } from './inventory';

/** Files over the policy size limit are read for their Kubernetes objects alone (big clusters' `kubectl get -A` dumps). */
const BULK: BulkReader = { maxBytes: DEFAULT_READ_LIMITS.maxInventoryFileBytes!, documents: bulkInventoryDocuments };

const mib = (bytes: number): string => (bytes / (1024 * 1024)).toFixed(1);

export interface LoadedInventory {
  inventory: Inventory;
  /** Files read (YAML and JSON; HCL holds no Kubernetes objects). */
  files: string[];
  missing: string[];
  /** Files that could not be read or parsed, with the reason. */
  problems: string[];
}

/**
 * The inventory from Kubernetes manifests and `kubectl get -o yaml|json` dumps: the files and
 * folders given, or, with none, the configuration's `inventory` globs under its root. Files
 * without Kubernetes objects (policies, Helm values, JSON schemas) simply add nothing.
 */
export function loadInventory(paths: string[] | undefined, config: ProjectConfig, maxFiles = 20_000): LoadedInventory {
  const { files: candidates, missing, skipped } = paths && paths.length
    ? collectByGlobs(paths, ['**/*.yaml', '**/*.yml', '**/*.json'], undefined, maxFiles)
    : collectByGlobs([config.root], config.inventory, config.root, maxFiles);
  const inventory = emptyInventory();
  const files: string[] = [];
  const problems = skipped.map((s) => `${s.path}: skipped, ${s.reason}`);
  for (const path of candidates) {
    const format = formatFromPath(path);
    if (format !== 'yaml' && format !== 'json') continue;
    let file: SourceFile;
    try {
      const size = statRegularFile(path).size;
      if (size > BULK.maxBytes) { problems.push(`${path}: too large for the inventory (${mib(size)} MiB; files up to ${mib(BULK.maxBytes)} MiB are read)`); continue; }
      file = readSourceFromDisk(path, DEFAULT_READ_LIMITS, format, (text) => withInventoryObjects(readSource(path, text, DEFAULT_READ_LIMITS, format), BULK));
    } catch (error) {
      problems.push(`${path}: ${describeFsError(error)}`);
      continue;
    }
    addToInventory(inventory, file);
    files.push(path);
  }
  return { inventory, files, missing, problems };
}

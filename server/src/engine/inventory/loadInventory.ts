import { readFileSync, statSync } from 'node:fs';
import type { ProjectConfig } from '../config/projectConfig';
import { readSource } from '../source/read';
import { describeFsError } from '../fsErrors';
import { DEFAULT_READ_LIMITS, formatFromPath } from '../source/sourceFile';
import { collectByGlobs } from '../traffic/ingest/files';
import { addToInventory, emptyInventory, type Inventory } from './inventory';

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
  const { files: candidates, missing } = paths && paths.length
    ? collectByGlobs(paths, ['**/*.yaml', '**/*.yml', '**/*.json'], undefined, maxFiles)
    : collectByGlobs([config.root], config.inventory, config.root, maxFiles);
  const inventory = emptyInventory();
  const files: string[] = [];
  const problems: string[] = [];
  for (const path of candidates) {
    const format = formatFromPath(path);
    if (format !== 'yaml' && format !== 'json') continue;
    let text: string;
    try {
      if (statSync(path).size > DEFAULT_READ_LIMITS.maxFileBytes) { problems.push(`${path}: too large for the inventory`); continue; }
      text = readFileSync(path, 'utf8');
    } catch (error) {
      problems.push(`${path}: ${describeFsError(error)}`);
      continue;
    }
    addToInventory(inventory, readSource(path, text, DEFAULT_READ_LIMITS, format));
    files.push(path);
  }
  return { inventory, files, missing, problems };
}

import { readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { formatFromPath } from './source/sourceFile';

const SKIPPED_DIRECTORIES = new Set(['node_modules', '.git', 'out', 'dist', '.vscode-test', '.vscode-e2e']);

/** Every YAML, JSON and HCL file under the given paths, in a stable order. Paths that do not
 * exist are returned in `missing` so callers can say so. */
export function collectPolicyFiles(paths: string[], maxFiles = 100_000): { files: string[]; missing: string[] } {
  const files: string[] = [];
  const missing: string[] = [];
  const visit = (path: string, explicit: boolean): void => {
    if (files.length >= maxFiles) return;
    let stats;
    try {
      stats = statSync(path);
    } catch {
      if (explicit) missing.push(path);
      return;
    }
    if (stats.isDirectory()) {
      let names: string[];
      try {
        names = readdirSync(path).sort();
      } catch {
        if (explicit) missing.push(path);
        return;
      }
      for (const name of names) {
        if (SKIPPED_DIRECTORIES.has(name) || (name.startsWith('.') && name !== '.')) continue;
        visit(join(path, name), false);
      }
    } else if (explicit || formatFromPath(path)) {
      files.push(path);
    }
  };
  for (const path of paths) visit(path, true);
  return { files, missing };
}

import { readdirSync, statSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { formatFromPath } from './source/sourceFile';

const SKIPPED_DIRECTORIES = new Set(['node_modules', '.git', 'out', 'dist', '.vscode-test', '.vscode-e2e']);

/**
 * Walks the given paths in a stable order, skipping tooling and hidden folders. Files named
 * explicitly are always taken; files found in folders when `accept(path, base)` says so, `base`
 * being the path given that led to them. A file reached twice is listed once. Paths that do not
 * exist (or cannot be read) come back in `missing` so callers can say so.
 */
export function walkFiles(paths: string[], accept: (path: string, base: string) => boolean, maxFiles = 100_000): { files: string[]; missing: string[] } {
  const files: string[] = [];
  const seen = new Set<string>();
  const missing: string[] = [];
  const visit = (path: string, base: string, explicit: boolean): void => {
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
        if (SKIPPED_DIRECTORIES.has(name) || name.startsWith('.')) continue;
        visit(join(path, name), base, false);
      }
    } else if (explicit || accept(path, base)) {
      const key = resolve(path);
      if (seen.has(key)) return;
      seen.add(key);
      files.push(path);
    }
  };
  for (const path of paths) visit(path, path, true);
  return { files, missing };
}

/** Every YAML, JSON and HCL file under the given paths. */
export function collectPolicyFiles(paths: string[], maxFiles = 100_000): { files: string[]; missing: string[] } {
  return walkFiles(paths, (path) => formatFromPath(path) !== undefined, maxFiles);
}

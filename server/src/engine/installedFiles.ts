import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';

/**
 * The nearest folder at or above `start` that holds `marker` (a relative path): how the engine
 * finds the files it ships (schemas, rule pages) next to the running code, the repository when
 * run from `out/`, the extension folder when run from the bundle in `dist/`.
 */
export function folderAbove(start: string, marker: string): string | undefined {
  for (let dir = start; ; dir = dirname(dir)) {
    if (existsSync(join(dir, marker))) return dir;
    if (dirname(dir) === dir) return undefined;
  }
}

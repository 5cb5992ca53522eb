import * as nodeFs from 'node:fs';
import { join, relative, resolve } from 'node:path';
import { describeFsError, notRegularFile, type FileKindStats } from './fsErrors';
import { formatFromPath } from './source/sourceFile';

const SKIPPED_DIRECTORIES = new Set(['node_modules', '.git', 'out', 'dist', '.vscode-test', '.vscode-e2e']);

/** What the walk asks of the file system (tests give one that refuses some paths). */
export interface WalkFs {
  statSync(path: string): FileKindStats & { dev: number; ino: number };
  readdirSync(path: string): string[];
}

export interface WalkResult {
  files: string[];
  /** Paths given that do not exist. */
  missing: string[];
  /** Paths given, or found in folders, that could not be read, with why in words. */
  unreadable: { path: string; reason: string }[];
  /** Folders not walked again: a symbolic link back to a folder the walk is in. */
  loops: string[];
  /** Found in folders and never opened: named pipes, devices, sockets, with why in words. */
  skipped: { path: string; reason: string }[];
  /** Folders given in which the walk took no file (none the command reads): named, never read as "nothing to report". */
  empty: string[];
}

/**
 * Walks the given paths in a stable order, skipping tooling and hidden folders. Files named
 * explicitly are always taken; files found in folders when `accept(path, base)` says so, `base`
 * being the path given that led to them. Each real file is listed once and each real folder
 * walked once, whatever symbolic links lead to them again. In folders, anything but a regular
 * file is skipped; named explicitly, it is listed, for its reader to refuse (`statRegularFile`).
 */
export function walkFiles(paths: string[], accept: (path: string, base: string) => boolean, maxFiles = 100_000, fs: WalkFs = nodeFs): WalkResult {
  const result: WalkResult = { files: [], missing: [], unreadable: [], loops: [], skipped: [], empty: [] };
  let taken = 0;
  const seenFiles = new Set<string>();
  const walkedFolders = new Set<string>();
  const visit = (path: string, base: string, explicit: boolean, ancestors: string[]): void => {
    if (result.files.length >= maxFiles) return;
    let stats;
    try {
      stats = fs.statSync(path);
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code;
      // A dangling link in a folder is nobody's input.
      if (code === 'ENOENT' || code === 'ENOTDIR') {
        if (explicit) result.missing.push(path);
      } else if (code === 'ELOOP' && !explicit) result.skipped.push({ path, reason: SYMLINK_CYCLE });
      else result.unreadable.push({ path, reason: describeFsError(error) });
      return;
    }
    // What a path leads to, whatever links lead there: the device and inode its stat followed to
    // (no second call per path); the resolved path where a file system gives no inode.
    const key = stats.ino ? `${stats.dev}:${stats.ino}` : resolve(path);
    if (stats.isDirectory()) {
      if (walkedFolders.has(key)) {
        if (ancestors.includes(key)) result.loops.push(path);
        return;
      }
      walkedFolders.add(key);
      let names: string[];
      try {
        names = fs.readdirSync(path).sort();
      } catch (error) {
        result.unreadable.push({ path, reason: describeFsError(error) });
        return;
      }
      const inside = [...ancestors, key];
      for (const name of names) {
        if (SKIPPED_DIRECTORIES.has(name) || name.startsWith('.')) continue;
        visit(join(path, name), base, false, inside);
      }
    } else if (explicit || accept(path, base)) {
      taken++;
      if (seenFiles.has(key)) return;
      seenFiles.add(key);
      const notRegular = explicit ? undefined : notRegularFile(stats);
      if (notRegular) result.skipped.push({ path, reason: notRegular });
      else result.files.push(path);
    }
  };
  for (const path of paths) {
    const [takenBefore, foldersBefore, unreadableBefore] = [taken, walkedFolders.size, result.unreadable.length];
    visit(path, path, true, []);
    // (a folder walked before, under another path given, is not empty)
    if (walkedFolders.size > foldersBefore && taken === takenBefore && result.unreadable.length === unreadableBefore) result.empty.push(path);
  }
  return result;
}

/** Every YAML, JSON and HCL file under the given paths. */
export function collectPolicyFiles(paths: string[], maxFiles = 100_000, fs?: WalkFs): WalkResult {
  return walkFiles(paths, (path) => formatFromPath(path) !== undefined, maxFiles, fs);
}

export const LOOP_NOTE = 'a symbolic link back to a folder already being read (a loop)';
/** A link whose chain of links comes back to itself: it leads to no file at all. */
const SYMLINK_CYCLE = 'a symbolic link that leads back to itself (a loop), to no file';

/** The walk's notes for a terminal or a log: each loop or other path skipped, then each unreadable path. */
export function walkNotes(walk: Pick<WalkResult, 'loops' | 'skipped' | 'unreadable'>, cwd: string): { skipped: string[]; unreadable: string[] } {
  const shown = (path: string): string => `"${relative(cwd, path) || path}"`;
  return {
    skipped: [
      ...walk.loops.map((path) => `note: skipped ${shown(path)}: ${LOOP_NOTE}`),
      ...walk.skipped.map((s) => `note: skipped ${shown(s.path)}: ${s.reason}`),
    ],
    unreadable: walk.unreadable.map((u) => `cannot read ${shown(u.path)}: ${u.reason}`),
  };
}

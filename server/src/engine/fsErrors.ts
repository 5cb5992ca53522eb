import { statSync, type Stats } from 'node:fs';
import { stat } from 'node:fs/promises';

/** A file system error in words, for messages: "permission denied", not `EACCES`. */
export function describeFsError(error: unknown): string {
  const e = error as NodeJS.ErrnoException;
  switch (e?.code) {
    case 'ENOENT': return 'no such file or folder';
    case 'EACCES':
    case 'EPERM': return 'permission denied';
    case 'EISDIR': return 'is a folder';
    case 'ENOTDIR': return 'a part of the path is not a folder';
    case 'ELOOP': return 'too many symbolic links (a loop)';
    case 'ENOSPC': return 'no space left on the device';
    case 'EROFS': return 'the file system is read-only';
    case 'ERR_STRING_TOO_LONG': return 'too large to read';
    default: return e?.message ?? String(error);
  }
}

/** What `stat` says a path is: enough to tell a regular file from the rest. */
export type FileKindStats = Pick<Stats, 'isFile' | 'isDirectory' | 'isFIFO' | 'isCharacterDevice' | 'isBlockDevice' | 'isSocket'>;

/**
 * Why a path is not read as a file, in words; undefined for a regular file. A named pipe would
 * block the read until some writer comes (forever), a device such as /dev/zero never ends, and
 * either's size is 0, so no size limit applies to them.
 */
export function notRegularFile(stats: FileKindStats): string | undefined {
  if (stats.isFile()) return undefined;
  if (stats.isDirectory()) return 'is a folder';
  const kind = stats.isFIFO() ? 'a named pipe' : stats.isCharacterDevice() || stats.isBlockDevice() ? 'a device' : stats.isSocket() ? 'a socket' : 'not a file';
  return `is ${kind}, not a regular file`;
}

/** `stat` of a regular file, following symbolic links; throws for anything else, before it is opened. */
export function statRegularFile(path: string): Stats {
  return regular(statSync(path));
}

/** As `statRegularFile`, without blocking. */
export async function statRegularFileAsync(path: string): Promise<Stats> {
  return regular(await stat(path));
}

function regular(stats: Stats): Stats {
  const reason = notRegularFile(stats);
  if (reason) throw Object.assign(new Error(reason), { code: stats.isDirectory() ? 'EISDIR' : 'ENOTREGULAR' });
  return stats;
}

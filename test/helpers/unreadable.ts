import { execFileSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { REPO_ROOT } from './paths';

/** A named pipe at `path`; false where mkfifo is not available (the tests that need one skip). */
export function mkfifo(path: string): boolean {
  try {
    execFileSync('mkfifo', [path], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

/** Access logs no reader can read, in `dir`, each with what the CLI says of it: a gzip file cut in
 * half, and a device (never opened). */
export function unreadableTrafficFiles(dir: string): Array<[path: string, said: RegExp]> {
  const gzip = gzipSync(readFileSync(join(REPO_ROOT, 'examples', 'istio', 'traffic', 'cart.log')));
  writeFileSync(join(dir, 'truncated.log.gz'), gzip.subarray(0, gzip.length >> 1));
  return [
    [join(dir, 'truncated.log.gz'), /truncated\.log\.gz: gzip data is corrupt or truncated/],
    ['/dev/zero', /dev\/zero: is a device, not a regular file/],
  ];
}

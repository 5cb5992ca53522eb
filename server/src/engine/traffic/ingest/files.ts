import { RE2JS } from 're2js';
import { dirname, relative, resolve, sep } from 'node:path';
import { DEFAULT_TRAFFIC_GLOBS, type ProjectConfig } from '../../config/projectConfig';
import { walkFiles, type WalkResult } from '../../workspaceFiles';

/** Whether a `/`-separated relative path matches a glob. */
export interface GlobMatcher {
  test(path: string): boolean;
}

const globCache = new Map<string, GlobMatcher>();

/**
 * A glob (`*`, `**`, `?`, `{a,b}`) as a matcher over `/`-separated paths. The globs come from a
 * workspace's `.meshpolicy.yaml`, so they run on RE2 (linear time): a backtracking RegExp would
 * hang on a glob such as `*a*a*a*a*a*b`.
 */
export function compileGlob(glob: string): GlobMatcher {
  let re = globCache.get(glob);
  if (re) return re;
  let out = '';
  let braces = 0;
  for (let i = 0; i < glob.length; i++) {
    const c = glob[i]!;
    if (c === '*') {
      if (glob[i + 1] === '*') {
        const slash = glob[i + 2] === '/';
        out += slash ? '(?:.*/)?' : '.*';
        i += slash ? 2 : 1;
      } else out += '[^/]*';
    } else if (c === '?') out += '[^/]';
    else if (c === '{') { braces++; out += '(?:'; }
    else if (c === '}' && braces > 0) { braces--; out += ')'; }
    else if (c === ',' && braces > 0) out += '|';
    else out += c.replace(/[.+^$()|[\]\\]/g, '\\$&');
  }
  const pattern = RE2JS.compile(`^(?:${out})$`);
  re = { test: (path: string) => pattern.matches(path) };
  globCache.set(glob, re);
  return re;
}

/**
 * The traffic files under the given paths, in a stable order. Files named explicitly are always
 * taken; in folders, files matching the configuration's `traffic` globs (relative to the
 * configuration folder, or to the folder given, with or without that folder's own name) are. Paths that do not exist come back in `missing`.
 */
export function collectTrafficFiles(paths: string[], config?: ProjectConfig, maxFiles = 100_000): WalkResult {
  return collectByGlobs(paths, config?.traffic.length ? config.traffic : DEFAULT_TRAFFIC_GLOBS, config?.root, maxFiles);
}

/** Files under `paths` that match `globs` (relative to `root`, or to the folder given); files named explicitly are always taken. */
export function collectByGlobs(paths: string[], globList: readonly string[], root: string | undefined, maxFiles = 100_000): WalkResult {
  const globs = globList.map(compileGlob);
  const wanted = (path: string, base: string): boolean => {
    // (with the folder's own name too: `--traffic app/traffic` takes what `**/traffic/**/*.json` names)
    const candidates = [relative(base, path), relative(dirname(resolve(base)), resolve(path))];
    if (root) {
      const fromRoot = relative(root, resolve(path));
      if (!fromRoot.startsWith('..')) candidates.push(fromRoot);
    }
    return candidates.some((c) => {
      const slashed = c.split(sep).join('/');
      return globs.some((g) => g.test(slashed));
    });
  };
  return walkFiles(paths, wanted, maxFiles);
}

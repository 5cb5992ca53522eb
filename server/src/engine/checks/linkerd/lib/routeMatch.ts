import { RE2JS } from 're2js';
import { arr, isRec, str, type Rec } from './common';
import { spec, type LinkerdItem } from './model';

/** Whether a route would take a plain GET request such as a kubelet probe (no Host match: the
 * kubelet sends the pod IP as Host). Follows linkerd2-proxy's matching (§2.5): a rule without
 * matches takes everything; a match needs its method, its path (Exact, segment-aware
 * PathPrefix, or a RegularExpression on the whole path) and its query parameters. Header
 * matches are given the benefit of the doubt (probes can send custom headers). Regular
 * expressions run on RE2 (linear time), never on JavaScript's engine. */

const compiled = new Map<string, RE2JS | null>();

export function compileRegex(pattern: string): RE2JS | undefined {
  let regex = compiled.get(pattern);
  if (regex === undefined) {
    try {
      regex = RE2JS.compile(pattern);
    } catch {
      regex = null;
    }
    if (compiled.size > 1000) compiled.clear();
    compiled.set(pattern, regex);
  }
  return regex ?? undefined;
}

export function pathMatches(match: Rec, path: string): boolean {
  const type = str(match['type']) ?? 'PathPrefix';
  const value = str(match['value']) ?? '/';
  if (type === 'Exact') return path === value;
  if (type === 'RegularExpression') return compileRegex(value)?.matches(path) ?? false;
  const prefix = value.replace(/\/+$/, '');
  if (prefix === '') return true;
  const trimmed = path.replace(/\/+$/, '');
  return trimmed === prefix || trimmed.startsWith(`${prefix}/`);
}

function queryMatches(match: Rec, query: URLSearchParams): boolean {
  const name = str(match['name']) ?? '';
  const value = query.get(name);
  if (value === null) return false;
  const expected = str(match['value']) ?? '';
  if ((str(match['type']) ?? 'Exact') === 'RegularExpression') return compileRegex(expected)?.matches(value) ?? false;
  return value === expected;
}

/** The route takes a GET of `target` (a path with an optional query). */
export function routeTakesGet(route: LinkerdItem, target: string): boolean {
  const routeSpec = spec(route);
  if (arr(routeSpec['hostnames']).length > 0) return false;
  const [path = '/', queryText = ''] = target.split('?', 2);
  const query = new URLSearchParams(queryText);
  const rules = Array.isArray(routeSpec['rules']) ? routeSpec['rules'] : [{}];
  return rules.some((rule) => {
    if (!isRec(rule)) return false;
    const matches = rule['matches'];
    if (!Array.isArray(matches) || matches.length === 0) return true;
    return matches.some((m) => {
      if (!isRec(m)) return false;
      const method = str(m['method']);
      if (method !== undefined && method !== 'GET') return false;
      if (isRec(m['path']) && !pathMatches(m['path'], path)) return false;
      return arr(m['queryParams']).every((q) => isRec(q) && queryMatches(q, query));
    });
  });
}

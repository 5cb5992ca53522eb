import { AnchoredRegex } from '../../simulate/linkerd/regex';
import type { AccessRule, PathMatch, Requests } from '../model';

/**
 * Request forms ("atoms") of Linkerd route matches in the model's terms: one method, one path
 * test, exact header values (`*`: present with any value). Their intersections and containment
 * decide which route must carry whose authorizations, since the proxy authorizes a request by
 * its best-matching route alone (mesh-semantics §2.5).
 */

export interface Atom {
  method?: string;
  path?: PathMatch;
  /** Header name → exact value, or `*` for present with any value; sorted by name. */
  headers: [string, string][];
  key: string;
}

function atomKey(method: string | undefined, path: PathMatch | undefined, headers: [string, string][]): string {
  return JSON.stringify([method ?? null, path ? [path.kind, path.value] : null, headers]);
}

/** Every path an HTTP request can have starts with `/`: a prefix `/` is no path test at all. */
export function makeAtom(method: string | undefined, given: PathMatch | undefined, headers: [string, string][]): Atom {
  const path = given?.kind === 'prefix' && given.value === '/' ? undefined : given;
  const sorted = [...headers].sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0));
  return { ...(method ? { method } : {}), ...(path ? { path } : {}), headers: sorted, key: atomKey(method, path, sorted) };
}

/** Each method × path × header value combination of the rule's request forms. */
export function atomsOf(to: Requests[], rule: AccessRule): Atom[] {
  let headerSets: [string, string][][] = [[]];
  for (const h of rule.headers) {
    const values = h.values.length ? h.values : ['*'];
    headerSets = headerSets.flatMap((set) => values.map((v): [string, string][] => [...set, [h.name, v]]));
  }
  const out: Atom[] = [];
  for (const t of to) {
    for (const method of t.methods ?? [undefined]) {
      for (const path of t.paths ?? [undefined]) {
        for (const headers of headerSets) {
          const merged = mergeHeaders(headers);
          if (merged) out.push(makeAtom(method, path, merged));
        }
      }
    }
  }
  return out.filter((a, i) => out.findIndex((b) => b.key === a.key) === i);
}

/** The same header asked twice: both must hold. */
export function mergeHeaders(headers: [string, string][]): [string, string][] | null {
  const map = new Map<string, string>();
  for (const [k, v] of headers) {
    const had = map.get(k);
    if (had === undefined || had === '*') map.set(k, v);
    else if (v !== '*' && v !== had) return null;
  }
  return [...map];
}

export function intersect(a: Atom, b: Atom): Atom | null | 'inexpressible' {
  if (a.method && b.method && a.method !== b.method) return null;
  const headers = mergeHeaders([...a.headers, ...b.headers]);
  if (!headers) return null;
  let path: PathMatch | undefined;
  if (!a.path || !b.path) path = a.path ?? b.path;
  else {
    const p = intersectPaths(a.path, b.path);
    if (p === null || p === 'inexpressible') return p;
    path = p;
  }
  return makeAtom(a.method ?? b.method, path, headers);
}

function intersectPaths(a: PathMatch, b: PathMatch): PathMatch | null | 'inexpressible' {
  if (a.kind === b.kind && a.value === b.value) return a;
  if (a.kind === 'exact') return pathAdmits(b, a.value) ? a : null;
  if (b.kind === 'exact') return pathAdmits(a, b.value) ? b : null;
  if (a.kind === 'prefix' && b.kind === 'prefix') return a.value.startsWith(b.value) ? a : b.value.startsWith(a.value) ? b : null;
  return 'inexpressible';
}

export function pathAdmits(p: PathMatch, path: string): boolean {
  if (p.kind === 'exact') return p.value === path;
  if (p.kind === 'prefix') return path.startsWith(p.value);
  const re = AnchoredRegex.compile(p.value);
  return re instanceof AnchoredRegex ? re.matches(path) : false;
}

/** Every request `inner` matches, `outer` matches. */
export function contains(inner: Atom, outer: Atom): boolean {
  if (outer.method && inner.method !== outer.method) return false;
  for (const [k, v] of outer.headers) {
    const mine = inner.headers.find(([h]) => h === k);
    if (!mine || (v !== '*' && mine[1] !== v)) return false;
  }
  if (!outer.path) return true;
  if (!inner.path) return false;
  if (inner.path.kind === outer.path.kind && inner.path.value === outer.path.value) return true;
  if (inner.path.kind === 'exact') return pathAdmits(outer.path, inner.path.value);
  return inner.path.kind === 'prefix' && outer.path.kind === 'prefix' && inner.path.value.startsWith(outer.path.value);
}

export function describeAtom(atom: Atom): string {
  return atom.path ? `${atom.path.kind} ${atom.path.value}` : 'any path';
}


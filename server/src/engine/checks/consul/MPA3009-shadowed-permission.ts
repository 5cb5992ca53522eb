import type { Check } from '../check';
import { matchesEverything, modelOf, pathMatchesEverything, type HeaderModel, type HttpModel, type PermissionModel } from './model';
import { lineOf } from './util';

/**
 * Within one source, permissions are tried in order and the first one whose HTTP criteria match
 * decides ("the first permission to match in the list is terminal"; Consul realizes it by
 * AND-NOT-ing every earlier permission into each later one). A permission whose requests are all
 * matched by an earlier one therefore never decides anything. Typical: an `allow` with only
 * `PathPrefix = "/"` followed by more specific rules.
 *
 * What counts as "matched by an earlier one" (conservative, syntactic):
 * - path: no path, `PathPrefix "/"` or a match-everything regex (`.*`, `/.*`, `^.*$`, ...) covers
 *   every path; `PathPrefix p` covers `PathExact`/`PathPrefix` values that start with p (plain
 *   string prefix, as Consul compares it); `PathExact`/`PathRegex` cover only the same value;
 * - methods: none covers all; otherwise the later list must be a subset;
 * - headers: each header condition of the earlier permission appears, identical, in the later one;
 * - an earlier permission's JWT requirement does not matter: each later permission is AND-NOT-ed
 *   with the earlier ones' HTTP criteria only (rbac.go `removePermissionPrecedence` appends
 *   `perms[i].Perm`, built by `convertPermission` without the JWT, which `Flatten` adds to the
 *   permission's own rule), so a request the earlier criteria match whose token fails gets the
 *   default, never a later permission.
 *
 * Sources are not compared: Consul picks the most precise source (precedence), so an exact source
 * is never hidden by a wildcard, and two sources with the same identity are MPA3001.
 */
export const shadowedPermission: Check = {
  code: 'MPA3009',
  mesh: 'consul',
  title: 'Permission hidden by an earlier one',
  defaultSeverity: 'warning',
  upstream: 'Consul intentions: "the first permission to match in the list is terminal" (rbac.go removePermissionPrecedence)',
  kinds: ['ServiceIntentions', 'service-intentions'],
  run(context) {
    const model = modelOf(context.resource);
    const k = model.form === 'crd' ? 'permissions' : 'Permissions';
    for (const source of model.sources) {
      const permissions = source.permissions ?? [];
      for (let j = 1; j < permissions.length; j++) {
        const later = permissions[j]!;
        if (!later.http) continue;
        const earlier = permissions.slice(0, j).find((p) => covers(p, later));
        if (!earlier) continue;
        const line = lineOf(context, earlier.path);
        const all = matchesEverything(earlier.http!);
        const what = all ? 'matches every request' : 'matches every request this one matches';
        const effect = earlier.action === later.action || !later.action ? 'it is redundant' : `its "${later.action}" never applies`;
        const jwt = earlier.hasJwt ? ` (its JWT requirement does not change that: a request it matches whose token fails it gets the default, not ${k}[${later.index}])` : '';
        context.report({ path: later.path },
          `${k}[${later.index}] is never reached: ${k}[${earlier.index}]${line ? ` (line ${line})` : ''} ${what}, and the first matching permission decides${jwt}; ${effect}`);
      }
    }
  },
};

function covers(earlier: PermissionModel, later: PermissionModel): boolean {
  const a = earlier.http;
  const b = later.http!;
  if (!a) return false;
  // An HTTP block with no criterion is invalid (MPA0107/MPA3006), not a catch-all.
  if (a.pathExact === undefined && a.pathPrefix === undefined && a.pathRegex === undefined && !a.methods?.length && a.headers.length === 0) return false;
  if (b.pathExact === undefined && b.pathPrefix === undefined && b.pathRegex === undefined && !b.methods?.length && b.headers.length === 0) return false;
  return pathCovers(a, b) && methodsCover(a, b) && headersCover(a.headers, b.headers);
}

function pathCovers(a: HttpModel, b: HttpModel): boolean {
  if (pathMatchesEverything(a)) return true;
  if (a.pathPrefix !== undefined) {
    if (b.pathExact !== undefined) return b.pathExact.startsWith(a.pathPrefix);
    if (b.pathPrefix !== undefined) return b.pathPrefix.startsWith(a.pathPrefix);
    return false;
  }
  if (a.pathExact !== undefined) return b.pathExact === a.pathExact;
  if (a.pathRegex !== undefined) return b.pathRegex === a.pathRegex;
  return false;
}

function methodsCover(a: HttpModel, b: HttpModel): boolean {
  if (!a.methods?.length) return true;
  if (!b.methods?.length) return false;
  const allowed = new Set(a.methods.map((m) => m.value.toUpperCase()));
  return b.methods.every((m) => allowed.has(m.value.toUpperCase()));
}

function headersCover(a: HeaderModel[], b: HeaderModel[]): boolean {
  return a.every((h) => b.some((g) => sameHeader(h, g)));
}

function sameHeader(a: HeaderModel, b: HeaderModel): boolean {
  const norm = (h: HeaderModel) => JSON.stringify([h.name?.toLowerCase(), h.present === true, h.exact ?? '', h.prefix ?? '', h.suffix ?? '', h.contains ?? '', h.regex ?? '', h.ignoreCase === true, h.invert === true]);
  return norm(a) === norm(b);
}

import { parseIpPrefix, prefixCovers, type IpPrefix } from '../../net/ip';
import { isObj, list, nonEmpty, type Obj } from './util';

/*
 * Whether one Istio rule matches every request another matches (spec §1.4, §1.5): a sound
 * under-approximation, so "covers" is only ever said when it holds. A rule covers another when
 * each of its `from` and `to` entries' fields is present in every entry of the other with values
 * it covers, and each of its `when` conditions is implied by one of the other's.
 */

/** How a field's or `when` key's values match (spec §1.5.1). */
type ValueKind =
  /** exact, `abc*` prefix, `*abc` suffix, `*` presence; hosts case-insensitively. */
  | 'pattern' | 'host'
  /** only `*` (any non-empty value) is a wildcard; other values compared whole. Identities,
   * whose prefixes trust-domain aliasing does not rewrite while it rewrites exact values. */
  | 'presence'
  /** addresses and CIDRs, by containment. */
  | 'ip'
  /** compared whole (ports, service accounts, JWT principals, anything else). */
  | 'exact';

const FIELD_KINDS: Record<string, ValueKind> = {
  hosts: 'host', methods: 'pattern', paths: 'pattern',
  principals: 'presence', namespaces: 'presence', trustDomains: 'presence',
  ipBlocks: 'ip', remoteIpBlocks: 'ip',
};

function kindOfField(field: string): ValueKind {
  const positive = /^not[A-Z]/.test(field) ? field[3]!.toLowerCase() + field.slice(4) : field;
  return FIELD_KINDS[positive] ?? 'exact';
}

function kindOfWhenKey(key: string): ValueKind {
  if (key === 'source.ip' || key === 'remote.ip' || key === 'destination.ip') return 'ip';
  if (key === 'source.principal' || key === 'source.namespace' || key === 'source.trustDomain') return 'presence';
  if (/^request\.headers\[[^\]]+\]$/.test(key) || key === 'request.auth.audiences' || key === 'request.auth.presenter' || key === 'connection.sni' || /^request\.auth\.claims(\[[^\]]+\])+$/.test(key)) return 'pattern';
  return 'exact';
}

/** The `when` key as Istio compares it: header names are case-insensitive. */
function whenKeyOf(key: unknown): string | undefined {
  if (typeof key !== 'string') return undefined;
  const header = /^request\.headers\[([^\]]+)\]$/.exec(key);
  return header ? `request.headers[${header[1]!.toLowerCase()}]` : key;
}

type Pattern = { any: true } | { prefix: string } | { suffix: string } | { exact: string };

/** istiod's order (matcher/string.go): `*` first, then a leading `*`, then a trailing one. */
function pattern(value: string): Pattern {
  if (value === '*') return { any: true };
  if (value.startsWith('*')) return { suffix: value.slice(1) };
  if (value.endsWith('*')) return { prefix: value.slice(0, -1) };
  return { exact: value };
}

function patternCovers(wide: string, narrow: string): boolean {
  const w = pattern(wide);
  const n = pattern(narrow);
  if ('any' in w) return !('exact' in n) || n.exact !== '';
  if ('exact' in w) return 'exact' in n && n.exact === w.exact;
  if ('prefix' in w) return 'exact' in n ? n.exact.startsWith(w.prefix) : 'prefix' in n && n.prefix.startsWith(w.prefix);
  return 'exact' in n ? n.exact.endsWith(w.suffix) : 'suffix' in n && n.suffix.endsWith(w.suffix);
}

function prefixOf(value: string): IpPrefix | undefined {
  const parsed = parseIpPrefix(value, { length: 'go', bare: true });
  return 'error' in parsed ? undefined : parsed;
}

/** Whether every value `narrow` matches, `wide` matches too. */
function valueCovers(kind: ValueKind, wide: string, narrow: string): boolean {
  if (wide === narrow) return true;
  switch (kind) {
    case 'pattern':
      // A URI template (`{*}`, `{**}`) matches by segments: only presence is said to cover it.
      if (wide.includes('{') || narrow.includes('{')) return wide === '*' && narrow !== '';
      return patternCovers(wide, narrow);
    case 'host': return patternCovers(wide.toLowerCase(), narrow.toLowerCase());
    case 'presence': return wide === '*' && narrow !== '';
    case 'ip': {
      const w = prefixOf(wide);
      const n = prefixOf(narrow);
      return w !== undefined && n !== undefined && prefixCovers(w, n);
    }
    case 'exact': return false;
  }
}

function stringList(value: unknown): string[] | undefined {
  if (!Array.isArray(value) || !value.every((v) => typeof v === 'string')) return undefined;
  return value as string[];
}

/** Every request `narrow` matches on its fields, `wide` matches too: a positive list of `wide`
 * takes every value of `narrow`'s; a `not…` list of `narrow` excludes all `wide`'s excludes. */
function fieldsCover(wide: Obj, narrow: Obj, kindOf: (field: string) => ValueKind): boolean {
  for (const [field, raw] of Object.entries(wide)) {
    if (!nonEmpty(raw)) continue;
    const w = stringList(raw);
    const n = stringList(narrow[field]);
    if (!w || !n || n.length === 0) return false;
    const kind = kindOf(field);
    const negative = /^not[A-Z]/.test(field) || field === 'notValues';
    const ok = negative
      ? w.every((wv) => n.some((nv) => valueCovers(kind, nv, wv)))
      : n.every((nv) => w.some((wv) => valueCovers(kind, wv, nv)));
    if (!ok) return false;
  }
  return true;
}

function listCovers(wide: Obj, narrow: Obj, side: 'from' | 'to', inner: string): boolean {
  if (!nonEmpty(wide[side])) return true;
  if (!nonEmpty(narrow[side])) return false;
  const wides = list(wide[side]).map((e) => (isObj(e) ? e[inner] : undefined));
  return list(narrow[side]).every((e) => {
    const n = isObj(e) ? e[inner] : undefined;
    return isObj(n) && wides.some((w) => isObj(w) && fieldsCover(w, n, kindOfField));
  });
}

function whenCovers(wide: Obj, narrow: Obj): boolean {
  return list(wide['when']).every((c1) => {
    if (!isObj(c1)) return false;
    const key = whenKeyOf(c1['key']);
    if (key === undefined) return false;
    const kind = kindOfWhenKey(key);
    return list(narrow['when']).some((c2) => isObj(c2) && whenKeyOf(c2['key']) === key && fieldsCover(
      { values: c1['values'], notValues: c1['notValues'] },
      { values: c2['values'], notValues: c2['notValues'] },
      () => kind,
    ));
  });
}

/** Whether rule `wide` matches every request rule `narrow` matches. */
export function ruleCovers(wide: Obj, narrow: Obj): boolean {
  return listCovers(wide, narrow, 'from', 'source') && listCovers(wide, narrow, 'to', 'operation') && whenCovers(wide, narrow);
}

/** Whether a rule has no constraint at all (`{}`, or only empty lists): it matches every request. */
export function matchesEverything(rule: Obj): boolean {
  return Object.keys(rule).every((k) => !nonEmpty(rule[k]));
}

const ZTUNNEL_HTTP_FIELDS = new Set(['hosts', 'notHosts', 'methods', 'notMethods', 'paths', 'notPaths', 'requestPrincipals', 'notRequestPrincipals', 'remoteIpBlocks', 'notRemoteIpBlocks']);
const ZTUNNEL_L4_WHEN_KEYS = new Set(['source.ip', 'source.namespace', 'source.principal', 'destination.ip', 'destination.port']);

/** Whether ztunnel, L4 only, leaves out part of the rule (spec §1.7, ambient): there a DENY
 * rule matches less than it says (an omitted match never matches), so it may cover nothing. */
export function hasZtunnelHttpParts(rule: Obj): boolean {
  const fieldsIn = (side: 'from' | 'to', inner: string) => list(rule[side]).some((e) => {
    const entry = isObj(e) ? e[inner] : undefined;
    return isObj(entry) && Object.keys(entry).some((f) => ZTUNNEL_HTTP_FIELDS.has(f) && nonEmpty(entry[f]));
  });
  const whenIn = list(rule['when']).some((c) => isObj(c) && !ZTUNNEL_L4_WHEN_KEYS.has(String(c['key'])));
  return fieldsIn('from', 'source') || fieldsIn('to', 'operation') || whenIn;
}

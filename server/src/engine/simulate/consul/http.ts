import { re2 } from '../re2';
import type { HeaderRule, HttpRule } from './model';

/**
 * The HTTP side of a Consul L7 permission, compiled once into Envoy-equivalent matchers
 * (agent/xds/rbac.go `convertPermission` → Envoy RBAC `url_path` / `header` matchers), and the
 * request rewriting Envoy's HTTP connection manager does before any filter runs (spec §0.2,
 * §3.6). Regular expressions are RE2 (re2js), full match, compiled once and shared; a
 * JavaScript RegExp never sees a user pattern.
 *
 * Matching is three-valued: T (matches), F (does not), U (the record lacks the attribute, so
 * either is possible). The attribute is pushed on `RequestView.missing` when U comes back.
 */

export const F = 0;
export const T = 1;
export const U = 2;
export type Tri = 0 | 1 | 2;

export function and3(a: Tri, b: Tri): Tri {
  if (a === F || b === F) return F;
  return a === U || b === U ? U : T;
}

export function or3(a: Tri, b: Tri): Tri {
  if (a === T || b === T) return T;
  return a === U || b === U ? U : F;
}

export function not3(a: Tri): Tri {
  return a === U ? U : a === T ? F : T;
}

/** The values Consul accepts for `RequestNormalization`'s two actions. */
export const PATH_ESCAPED_SLASHES_ACTIONS = ['IMPLEMENTATION_SPECIFIC_DEFAULT', 'KEEP_UNCHANGED', 'REJECT_REQUEST', 'UNESCAPE_AND_REDIRECT', 'UNESCAPE_AND_FORWARD'] as const;
export const HEADERS_WITH_UNDERSCORES_ACTIONS = ['ALLOW', 'DROP_HEADER', 'REJECT_REQUEST'] as const;

/** The mesh config entry's `HTTP.Incoming.RequestNormalization` (Consul CE 1.20.1+). */
export interface RequestNormalization {
  /** Default false: `normalize_path` is on. True evaluates the raw path (as Consul before 1.20.1 did). */
  insecureDisablePathNormalization?: boolean;
  /** Default false. */
  mergeSlashes?: boolean;
  /** Default `IMPLEMENTATION_SPECIFIC_DEFAULT` (keep `%2F`/`%5C` as they are). */
  pathWithEscapedSlashesAction?: (typeof PATH_ESCAPED_SLASHES_ACTIONS)[number];
  /** Default `ALLOW`. */
  headersWithUnderscoresAction?: (typeof HEADERS_WITH_UNDERSCORES_ACTIONS)[number];
}

/** What the L7 matchers read from one observed request. */
export interface RequestView {
  method: string | undefined;
  /** `:path` after normalization, query string included. */
  fullPath: string | undefined;
  /** `:path` without query string and fragment, what `url_path` compares. */
  path: string | undefined;
  host: string | undefined;
  headers: Record<string, string> | undefined;
  /** The names of the headers the log records (`request.recordedHeaders`); undefined: all. */
  recorded: readonly string[] | undefined;
  /** Headers dropped because of `HeadersWithUnderscoresAction = DROP_HEADER`. */
  dropUnderscore: boolean;
  lower: Map<string, string> | undefined;
  missing: string[];
}

export interface PreparedPath {
  fullPath: string;
  path: string;
  /** A 400 the connection manager answers before RBAC, with why. */
  reject?: string;
  /** What normalization changed, for the trace. */
  note?: string;
}

const UNRESERVED = new Uint8Array(128);
for (let c = 0; c < 128; c++) {
  const ch = String.fromCharCode(c);
  UNRESERVED[c] = /[A-Za-z0-9\-._~]/.test(ch) ? 1 : 0;
}

/** Envoy's path rewriting in the order of conn_manager_utility.cc `maybeNormalizePath`:
 * escaped slashes → `normalize_path` (RFC 3986 dot segments, `\` → `/`, unreserved
 * percent-decoding) → `merge_slashes`. The query string is split off first and kept. */
export function preparePath(raw: string, options: RequestNormalization): PreparedPath {
  let cut = raw.length;
  const q = raw.indexOf('?');
  if (q >= 0) cut = q;
  const h = raw.indexOf('#');
  if (h >= 0 && h < cut) cut = h;
  let path = raw.slice(0, cut);
  const rest = raw.slice(cut);
  const original = path;
  const escaped = options.pathWithEscapedSlashesAction ?? 'IMPLEMENTATION_SPECIFIC_DEFAULT';
  if (path.includes('%') && /%(2f|5c)/i.test(path)) {
    if (escaped === 'REJECT_REQUEST') return { fullPath: raw, path, reject: 'the path has an escaped slash (%2F or %5C) and PathWithEscapedSlashesAction is REJECT_REQUEST' };
    if (escaped === 'UNESCAPE_AND_FORWARD' || escaped === 'UNESCAPE_AND_REDIRECT') path = path.replace(/%2f/gi, '/').replace(/%5c/gi, '\\');
  }
  if (!options.insecureDisablePathNormalization && (path.includes('%') || path.includes('\\') || path.includes('/.'))) {
    path = path.replace(/%([0-9A-Fa-f]{2})/g, (m, hex: string) => {
      const c = parseInt(hex, 16);
      return c < 128 && UNRESERVED[c] ? String.fromCharCode(c) : m;
    });
    path = path.replace(/\\/g, '/');
    if (path.startsWith('/')) path = removeDotSegments(path);
  }
  if (options.mergeSlashes && path.includes('//')) path = path.replace(/\/{2,}/g, '/');
  const fullPath = path + (rest.startsWith('?') ? rest.split('#')[0]! : '');
  const out: PreparedPath = { fullPath, path };
  if (path !== original) out.note = `the proxy rewrites the path ${JSON.stringify(original)} to ${JSON.stringify(path)} before RBAC${escaped === 'UNESCAPE_AND_REDIRECT' && /%(2f|5c)/i.test(original) ? ' (after a redirect to the unescaped path)' : ''}`;
  return out;
}

/** A path `preparePath` leaves as it is (no query, fragment, escapes, backslashes, dot segments
 * or, when merged, double slashes): the common case, checked without allocating. */
export function isPlainPath(raw: string, options: RequestNormalization): boolean {
  for (let i = 0; i < raw.length; i++) {
    const c = raw.charCodeAt(i);
    // ? # % \
    if (c === 63 || c === 35 || c === 37 || c === 92) return false;
    if (c === 47 && i + 1 < raw.length) {
      const next = raw.charCodeAt(i + 1);
      if (next === 46 || (next === 47 && options.mergeSlashes)) return false;
    }
  }
  return true;
}

/** RFC 3986 §5.2.4 for an absolute path. */
export function removeDotSegments(path: string): string {
  const input = path.split('/');
  const out: string[] = [];
  for (let i = 1; i < input.length; i++) {
    const seg = input[i]!;
    const last = i === input.length - 1;
    if (seg === '.') {
      if (last) out.push('');
      continue;
    }
    if (seg === '..') {
      out.pop();
      if (last) out.push('');
      continue;
    }
    out.push(seg);
  }
  return `/${out.join('/')}`;
}

/** One compiled criterion of an HTTP block; all of a block's criteria are AND-ed in this order
 * (path, headers in order, methods), as rbac.go builds them. */
export interface Criterion {
  /** e.g. `PathPrefix "/admin"`, `Header[0] x-team Exact "ops"`, `Methods GET|HEAD`: everything
   * `test` reads of its rule, so criteria with one label test alike (the fold keeps one). */
  label: string;
  /** The record attribute it reads, for `missing`. */
  attr: string;
  test(view: RequestView): Tri;
  /** Why Envoy would refuse the configuration (an invalid RE2 pattern). */
  error?: string;
  /** A criterion rbac.go leaves out (a header with no matcher): noted, always true. */
  skipped?: string;
}

export function compileHttp(http: HttpRule | undefined, labels: { header: string; methods: string; pathExact: string; pathPrefix: string; pathRegex: string }): Criterion[] {
  // rbac.go: a permission without HTTP is "any"; an empty HTTP block is an empty AND, also "any".
  if (!http) return [];
  const out: Criterion[] = [];
  if (http.pathExact !== undefined) {
    const v = http.pathExact;
    out.push({ label: `${labels.pathExact} ${JSON.stringify(v)}`, attr: 'request.path', test: (r) => (r.path === undefined ? miss(r, 'request.path') : r.path === v ? T : F) });
  } else if (http.pathPrefix !== undefined) {
    const v = http.pathPrefix;
    out.push({ label: `${labels.pathPrefix} ${JSON.stringify(v)}`, attr: 'request.path', test: (r) => (r.path === undefined ? miss(r, 'request.path') : r.path.startsWith(v) ? T : F) });
  } else if (http.pathRegex !== undefined) {
    const v = http.pathRegex;
    const re = re2(v);
    const c: Criterion = { label: `${labels.pathRegex} ${JSON.stringify(v)}`, attr: 'request.path', test: (r) => (r.path === undefined ? miss(r, 'request.path') : typeof re !== 'string' && re.matches(r.path) ? T : F) };
    if (typeof re === 'string') c.error = `${labels.pathRegex} ${JSON.stringify(v)} is not valid RE2 (${re})`;
    out.push(c);
  }
  for (const h of http.headers) out.push(headerCriterion(h, labels.header));
  if (http.methods && http.methods.length > 0) {
    const list = http.methods;
    const label = `${labels.methods} ${list.join('|')}`;
    if (list.every((m) => /^[A-Za-z]+$/.test(m))) {
      const set = new Set(list);
      out.push({ label, attr: 'request.method', test: (r) => (r.method === undefined ? miss(r, 'request.method') : set.has(r.method) ? T : F) });
    } else {
      // rbac.go joins the methods into one safe_regex on `:method`.
      const re = re2(list.join('|'));
      const c: Criterion = { label, attr: 'request.method', test: (r) => (r.method === undefined ? miss(r, 'request.method') : typeof re !== 'string' && re.matches(r.method) ? T : F) };
      if (typeof re === 'string') c.error = `${labels.methods} ${list.join('|')} is not valid RE2 (${re})`;
      out.push(c);
    }
  }
  return out;
}

function headerCriterion(h: HeaderRule, headerLabel: string): Criterion {
  const name = h.name.toLowerCase();
  const base = `${headerLabel}[${h.index}] ${h.name}`;
  const inv = h.invert === true;
  const ic = h.ignoreCase === true;
  const attr = name === ':method' ? 'request.method' : name === ':path' ? 'request.path' : name === 'host' || name === ':authority' ? 'request.host' : `request.headers.${name}`;
  // The order of rbac.go's switch: Exact, Regex, Prefix, Suffix, (Contains,) Present.
  let kind: string;
  let match: ((value: string) => boolean) | undefined;
  let error: string | undefined;
  if (h.exact !== undefined) {
    const v = ic ? h.exact.toLowerCase() : h.exact;
    kind = `Exact ${JSON.stringify(h.exact)}`;
    match = ic ? (s) => s.toLowerCase() === v : (s) => s === v;
  } else if (h.regex !== undefined) {
    const re = re2(h.regex);
    kind = `Regex ${JSON.stringify(h.regex)}`;
    if (typeof re === 'string') error = `${base} Regex ${JSON.stringify(h.regex)} is not valid RE2 (${re})`;
    match = (s) => typeof re !== 'string' && re.matches(s);
  } else if (h.prefix !== undefined) {
    const v = ic ? h.prefix.toLowerCase() : h.prefix;
    kind = `Prefix ${JSON.stringify(h.prefix)}`;
    match = ic ? (s) => s.toLowerCase().startsWith(v) : (s) => s.startsWith(v);
  } else if (h.suffix !== undefined) {
    const v = ic ? h.suffix.toLowerCase() : h.suffix;
    kind = `Suffix ${JSON.stringify(h.suffix)}`;
    match = ic ? (s) => s.toLowerCase().endsWith(v) : (s) => s.endsWith(v);
  } else if (h.contains !== undefined) {
    const v = ic ? h.contains.toLowerCase() : h.contains;
    kind = `Contains ${JSON.stringify(h.contains)}`;
    match = ic ? (s) => s.toLowerCase().includes(v) : (s) => s.includes(v);
  } else if (h.present === true) {
    kind = 'Present';
  } else {
    // rbac.go: `default: continue // skip this impossible situation`.
    return { label: base, attr, test: () => T, skipped: `${base} has no matcher; the proxy configuration leaves it out` };
  }
  const label = `${base} ${kind}${ic && h.present !== true && h.regex === undefined ? ' (IgnoreCase)' : ''}${inv ? ' (Invert)' : ''}`;
  const present = match === undefined;
  const c: Criterion = {
    label, attr,
    test: (r) => {
      const value = headerValue(r, name);
      if (value === undefined) {
        if (notRecorded(r, name)) return miss(r, attr);
        // An absent header fails every value matcher, even inverted; only Present reacts to absence.
        return present ? (inv ? T : F) : F;
      }
      const m = present ? true : match!(value);
      return m !== inv ? T : F;
    },
  };
  if (error) c.error = error;
  return c;
}

function notRecorded(r: RequestView, name: string): boolean {
  if (name === ':method') return r.method === undefined;
  if (name === ':path') return r.fullPath === undefined;
  if (name === 'host' || name === ':authority') return r.host === undefined && !hasHeader(r, 'host');
  // (a log records only some headers: any other may have been sent)
  return r.recorded !== undefined && !r.recorded.includes(name);
}

function hasHeader(r: RequestView, lowerName: string): boolean {
  return lowerMap(r).has(lowerName);
}

/** A request header by lower-case name; `host` and `:authority` read the authority (Envoy stores
 * an HTTP/1 Host header as `:authority`). */
export function headerValue(r: RequestView, lowerName: string): string | undefined {
  switch (lowerName) {
    case ':method': return r.method;
    case ':path': return r.fullPath;
    case 'host':
    case ':authority': return r.host ?? lowerMap(r).get('host');
    default: return lowerMap(r).get(lowerName);
  }
}

function lowerMap(r: RequestView): Map<string, string> {
  if (r.lower) return r.lower;
  const map = new Map<string, string>();
  if (r.headers) {
    for (const k of Object.keys(r.headers)) {
      const v = r.headers[k];
      if (typeof v !== 'string') continue;
      if (r.dropUnderscore && k.includes('_')) continue;
      const lk = k.toLowerCase();
      const prev = map.get(lk);
      map.set(lk, prev === undefined ? v : `${prev},${v}`);
    }
  }
  r.lower = map;
  return map;
}

function miss(r: RequestView, attr: string): Tri {
  if (!r.missing.includes(attr)) r.missing.push(attr);
  return U;
}

/** Evaluates a criteria list (AND, in order). `failed` gets the index of the first F, or of the
 * first U when none fails. */
export function evalCriteria(criteria: Criterion[], view: RequestView, at: { index: number }): Tri {
  let result: Tri = T;
  let firstU = -1;
  for (let i = 0; i < criteria.length; i++) {
    const r = criteria[i]!.test(view);
    if (r === F) {
      at.index = i;
      return F;
    }
    if (r === U) {
      if (firstU < 0) firstU = i;
      result = U;
    }
  }
  at.index = firstU;
  return result;
}

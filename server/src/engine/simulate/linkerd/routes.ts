import type { SourceRef, TraceStep } from '../types';
import type { Authz } from './authz';
import type { HeaderMatchDef, HostMatchDef, HttpMatchDef, RouteDef } from './model';

/**
 * Route matching as the proxy does it (linkerd/linkerd2-proxy:linkerd/http/route/src/lib.rs
 * `find`, http/match.rs, http/match/{path,host,header,query_param}.rs, grpc/match.rs).
 *
 * The best match is the greatest (host match, request match) summary; ties keep the first in
 * order (routes oldest first, then rules and matches as written). Summaries compare:
 * - host: none < suffix < exact, then length;
 * - HTTP: path-match length, an Exact path before any other type of the same length (Gateway
 *   API precedence; linkerd2-proxy's `exact_beats_prefix_of_equal_length` test), then method
 *   present, then the number of header matches, then the number of query matches
 *   (`RequestMatch::cmp`);
 * - gRPC: service name length, method name length, number of header matches.
 *
 * Attributes a record may lack (method, path, host, all headers) make a match "maybe": the
 * caller then decides under each possibility.
 */

export interface RuleC {
  index: number;
  matches: HttpMatchDef[];
  at?: SourceRef;
  redirect?: { status: number };
  step: TraceStep;
  label: string;
}

export interface RouteC {
  kind: 'HTTPRoute' | 'GRPCRoute' | 'default' | 'probe';
  def?: RouteDef;
  label: string;
  at?: SourceRef;
  hostnames: HostMatchDef[];
  rules: RuleC[];
  /** Route-level authorizations, then the server's (audit last). */
  authzs: Authz[];
  routeLevel: number;
  /** Decision texts cached per deciding authorization. */
  allowCache: Map<Authz, { reason: string; step: TraceStep }>;
  denyCache?: { reason: string; step: TraceStep; nothing?: TraceStep };
  denyCacheGrpc?: { reason: string; step: TraceStep; nothing?: TraceStep };
}

/** The request's attributes, read once per call. `undefined` = not recorded. */
export interface RequestView {
  method: string | undefined;
  /** The path without query (raw, as sent). */
  path: string | undefined;
  query: string | undefined;
  /** The authority as recorded; `requestHost` gives the host without port (undefined when not recorded). */
  authority: string | undefined;
  /** Set by `requestHost` on first use (few routes name hostnames). */
  host: string | undefined;
  hostRead: boolean;
  /** False when the record carries no request at all (then headers are not recorded either). */
  hasRequest: boolean;
  headers: Record<string, string> | undefined;
  /** The names of the headers the log records (`request.recordedHeaders`); undefined: all. */
  recorded: readonly string[] | undefined;
  queryPairs?: [string, string][] | undefined;
}

type RequestAttributes = { method?: string; path?: string; host?: string; headers?: Record<string, string>; recordedHeaders?: readonly string[] };

export function requestView(request: RequestAttributes | undefined): RequestView {
  return fillRequestView({} as RequestView, request);
}

/** Writes the request attributes onto `target` (the evaluator's per-call object). */
export function fillRequestView<T extends RequestView>(target: T, request: RequestAttributes | undefined): T {
  let path: string | undefined;
  let query: string | undefined;
  const raw = request?.path;
  if (raw !== undefined) {
    path = raw;
    const q = raw.indexOf('?');
    const hash = raw.indexOf('#');
    if (q >= 0 && (hash < 0 || q < hash)) {
      path = raw.slice(0, q);
      query = hash < 0 ? raw.slice(q + 1) : raw.slice(q + 1, hash);
    } else if (hash >= 0) {
      path = raw.slice(0, hash);
    }
  }
  target.method = request?.method;
  target.path = path;
  target.query = query;
  target.authority = request?.host;
  target.host = undefined;
  target.hostRead = false;
  target.hasRequest = request !== undefined;
  target.headers = request?.headers;
  target.recorded = request?.recordedHeaders;
  target.queryPairs = undefined;
  return target;
}

/** The request's host without port; undefined when not recorded. */
export function requestHost(req: RequestView): string | undefined {
  if (!req.hostRead) {
    req.hostRead = true;
    req.host = req.authority !== undefined ? hostOnly(req.authority) : undefined;
  }
  return req.host;
}

/**
 * Whether a match's header conditions can hold: false when one fails on a recorded header; true
 * otherwise, with what the record does not carry noted in `lastMissing` (a maybe).
 */
function headersMatch(conditions: readonly HeaderMatchDef[], req: RequestView): boolean {
  if (!req.hasRequest) {
    (lastMissing ??= []).push('request.headers');
    return true;
  }
  let unrecorded: string | undefined;
  for (const h of conditions) {
    const value = header(req, h.name);
    // (a log records only some headers: any other may have been sent)
    if (value === undefined && req.recorded !== undefined && !req.recorded.includes(h.name)) unrecorded ??= `request.headers[${h.name}]`;
    else if (!headerMatches(h, value)) return false;
  }
  if (unrecorded !== undefined) (lastMissing ??= []).push(unrecorded);
  return true;
}

/** A request header by lower-case name (header names are case-insensitive). */
function header(req: RequestView, name: string): string | undefined {
  const h = req.headers;
  if (!h) return undefined;
  const direct = h[name];
  if (direct !== undefined) return String(direct);
  for (const k in h) if (k.length === name.length && k.toLowerCase() === name) return String(h[k]);
  return undefined;
}

function hostOnly(authority: string): string {
  if (authority.startsWith('[')) {
    const end = authority.indexOf(']');
    return end > 0 ? authority.slice(1, end) : authority;
  }
  const colon = authority.lastIndexOf(':');
  if (colon >= 0 && authority.indexOf(':') === colon && /^[0-9]*$/.test(authority.slice(colon + 1))) return authority.slice(0, colon);
  return authority;
}

/** Lenient `application/x-www-form-urlencoded` decoding (`+` is a space, bad escapes kept). */
function formDecode(s: string): string {
  const plus = s.includes('+') ? s.replace(/\+/g, ' ') : s;
  if (!plus.includes('%')) return plus;
  try {
    return decodeURIComponent(plus);
  } catch {
    return plus.replace(/%([0-9a-fA-F]{2})/g, (m, h: string) => {
      const code = parseInt(h, 16);
      return code < 0x80 ? String.fromCharCode(code) : m;
    });
  }
}

function queryPairs(req: RequestView): [string, string][] {
  if (req.queryPairs) return req.queryPairs;
  const pairs: [string, string][] = [];
  if (req.query !== undefined && req.query !== '') {
    for (const part of req.query.split('&')) {
      if (part === '') continue;
      const eq = part.indexOf('=');
      pairs.push(eq < 0 ? [formDecode(part), ''] : [formDecode(part.slice(0, eq)), formDecode(part.slice(eq + 1))]);
    }
  }
  req.queryPairs = pairs;
  return pairs;
}

/*
 * Summaries are encoded as one number so that comparing them allocates nothing:
 *   key = (hostRank * 65536 + hostLength) * HOST_SCALE + requestPart
 *   HTTP requestPart = (((pathLength * 2 + exact) * 2 + method) * 128 + headers) * 128 + queryParams
 *   gRPC requestPart = (serviceLength * 4096 + methodLength) * 128 + headers
 * hostRank: 0 no hostnames, 1 suffix, 2 exact. Lengths are capped (32767 path, 4095 gRPC names),
 * so a request part stays below HOST_SCALE.
 */
const HOST_SCALE = 2 ** 31;
/** The request part of a rule without matches on HTTP: PathPrefix "/" (length 1). */
const DEFAULT_HTTP_PART = 65536;
const CAP = 65535;
const PATH_CAP = 32767;

/** The host part a hostname gives a request it matches: rank (exact 2, suffix 1) * 65536 + length. */
function hostRank(h: HostMatchDef): number {
  if (h.exact !== undefined) return 2 * 65536 + Math.min(h.exact.length, CAP);
  let length = 0;
  for (const label of h.suffix!) length += label.length + 1;
  return 65536 + Math.min(length, CAP);
}

/** Host match part (rank * 65536 + length), or -1. */
export function hostKey(h: HostMatchDef, host: string): number {
  if (h.exact !== undefined) {
    let hh = host;
    if (!h.exact.endsWith('.') && hh.endsWith('.')) hh = hh.slice(0, -1);
    return h.exact.toLowerCase() === hh.toLowerCase() ? hostRank(h) : -1;
  }
  const suffix = h.suffix!;
  let hh = host;
  if (suffix[0] !== '' && hh.endsWith('.')) hh = hh.slice(0, -1);
  for (const label of suffix) {
    if (hh.length < label.length || hh.slice(hh.length - label.length).toLowerCase() !== label.toLowerCase()) return -1;
    hh = hh.slice(0, hh.length - label.length);
    if (!hh.endsWith('.')) return -1;
    hh = hh.slice(0, -1);
  }
  return hostRank(h);
}

/** Set by matchHttp/matchGrpc when the result is a "maybe": the attributes it needed. */
let lastMissing: string[] | undefined;

/** The attributes the last `matchHttp`/`matchGrpc` found not recorded (undefined: none). */
export function lastMatchMissing(): readonly string[] | undefined {
  return lastMissing;
}

function headerMatches(h: { exact?: string; regex?: { matches(v: string): boolean } }, value: string | undefined): boolean {
  if (value === undefined) return false;
  return h.exact !== undefined ? value === h.exact : h.regex!.matches(value);
}

/** One HTTPRoute match against the request: its summary, or -1 when it certainly does not
 * match. When an attribute is not recorded, the summary is an upper bound and `lastMissing`
 * names the attributes. */
export function matchHttp(m: HttpMatchDef, req: RequestView): number {
  lastMissing = undefined;
  let method = 0;
  if (m.method !== undefined) {
    if (req.method === undefined) (lastMissing ??= []).push('request.method');
    else if (req.method !== m.method) return -1;
    method = 1;
  }
  let pathLen = 1;
  const p = m.path;
  const exact = p?.type === 'Exact' ? 1 : 0;
  if (p) {
    const path = req.path;
    if (path === undefined) {
      (lastMissing ??= []).push('request.path');
      pathLen = p.type === 'Exact' ? p.value.length : p.type === 'PathPrefix' ? (p.value === '/' ? 1 : p.trimmed.length) : PATH_CAP;
    } else if (p.type === 'Exact') {
      if (path !== p.value) return -1;
      pathLen = p.value.length;
    } else if (p.type === 'PathPrefix') {
      if (p.value !== '/') {
        const prefix = p.trimmed;
        let end = path.length;
        while (end > 0 && path.charCodeAt(end - 1) === 47) end--;
        if (end < prefix.length || !path.startsWith(prefix)) return -1;
        if (end !== prefix.length && path.charCodeAt(prefix.length) !== 47) return -1;
        pathLen = prefix.length;
      }
    } else {
      if (!p.regex!.matches(path)) return -1;
      pathLen = path.length;
    }
  }
  if (m.headers.length && !headersMatch(m.headers, req)) return -1;
  if (m.query.length) {
    if (req.path === undefined) {
      if (!lastMissing?.includes('request.path')) (lastMissing ??= []).push('request.path');
    } else {
      const pairs = queryPairs(req);
      for (const q of m.query) {
        let hit = false;
        for (const [k, v] of pairs) if (k === q.name && headerMatches(q, v)) { hit = true; break; }
        if (!hit) return -1;
      }
    }
  }
  return httpSummary(pathLen, exact, method, m);
}

/** The request part of an HTTP match's summary (`RequestMatch::cmp`): path-match length, Exact, method, headers, query parameters. */
function httpSummary(pathLen: number, exact: number, method: number, m: HttpMatchDef): number {
  return (((Math.min(pathLen, PATH_CAP) * 2 + exact) * 2 + method) * 128 + Math.min(m.headers.length, 127)) * 128 + Math.min(m.query.length, 127);
}

/** One GRPCRoute match (`MatchRoute::match_request`): POST, `/<service>/<method>`, headers. */
export function matchGrpc(m: HttpMatchDef, req: RequestView): number {
  lastMissing = undefined;
  if (req.method === undefined) (lastMissing ??= []).push('request.method');
  else if (req.method !== 'POST') return -1;
  const g = m.grpc ?? {};
  let service = 0;
  let method = 0;
  const path = req.path;
  if (path === undefined) {
    (lastMissing ??= []).push('request.path');
    service = g.service?.length ?? 0;
    method = g.method?.length ?? 0;
  } else {
    if (path.charCodeAt(0) !== 47) return -1;
    const second = path.indexOf('/', 1);
    if (second < 0) return -1;
    const third = path.indexOf('/', second + 1);
    const svc = path.slice(1, second);
    const meth = third < 0 ? path.slice(second + 1) : path.slice(second + 1, third);
    if (g.service !== undefined) {
      if (svc !== g.service) return -1;
      service = g.service.length;
    }
    if (g.method !== undefined) {
      if (meth !== g.method) return -1;
      method = g.method.length;
    }
  }
  if (m.headers.length && !headersMatch(m.headers, req)) return -1;
  return grpcSummary(service, method, m);
}

function grpcSummary(service: number, method: number, m: HttpMatchDef): number {
  return (Math.min(service, 4095) * 4096 + Math.min(method, 4095)) * 128 + Math.min(m.headers.length, 127);
}

/**
 * An ordering key for a match that agrees, for every request two matches both match, with the
 * summaries `selectRoute` compares for it. A path-match length is known from the match except
 * for a RegularExpression's (the request path's): for a request both match, an Exact path is as
 * long as the request path, a regular expression's match too, a prefix at most as long; so
 * Exact comes first, then RegularExpression, then prefixes longest first (Gateway API's
 * precedence), then method, headers, query parameters, as the summary orders them.
 */
function matchPrecedence(m: HttpMatchDef | undefined, grpc: boolean): number {
  if (grpc) return m ? grpcSummary(m.grpc?.service?.length ?? 0, m.grpc?.method?.length ?? 0, m) : 0;
  if (!m) return DEFAULT_HTTP_PART;
  const p = m.path;
  const pathLen = !p ? 1 : p.type === 'PathPrefix' ? (p.value === '/' ? 1 : p.trimmed.length) : PATH_CAP;
  return httpSummary(pathLen, p?.type === 'Exact' ? 1 : 0, m.method !== undefined ? 1 : 0, m);
}

/** A route's most specific match (a rule without matches matches every request) and its summary, host part included. */
export function routePrecedence(route: RouteC, grpc: boolean): { key: number; match: HttpMatchDef | undefined } {
  let host = 0;
  for (const h of route.hostnames) host = Math.max(host, hostRank(h));
  let best: { key: number; match: HttpMatchDef | undefined } = { key: -1, match: undefined };
  for (const rule of route.rules) {
    for (const m of rule.matches.length ? rule.matches : [undefined]) {
      const key = host * HOST_SCALE + matchPrecedence(m, grpc);
      if (key > best.key) best = { key, match: m };
    }
  }
  return best;
}

/** Routes in the order the proxy prefers their most specific matches, each with that match; ties keep the given order (oldest first, then name). */
export function routesByPrecedence(routes: readonly RouteC[], grpc: boolean): { route: RouteC; match: HttpMatchDef | undefined }[] {
  const ranked = routes.map((route) => ({ route, ...routePrecedence(route, grpc) }));
  return ranked.sort((a, b) => b.key - a.key).map(({ route, match }) => ({ route, match }));
}

export interface RouteCandidate {
  route: RouteC;
  rule: RuleC;
  match: HttpMatchDef | undefined;
}

export interface RouteSelection {
  /** The route that certainly matches best, when there is one. */
  best: RouteCandidate | undefined;
  /** Routes that might match (an attribute is not recorded) and could win. */
  maybes: RouteCandidate[];
  missing: string[];
}

const NO_MAYBES: RouteCandidate[] = [];
const NO_MISSING: string[] = [];
const SCRATCH_BEST: RouteCandidate = { route: undefined as unknown as RouteC, rule: undefined as unknown as RuleC, match: undefined };
const SCRATCH: RouteSelection = { best: undefined, maybes: NO_MAYBES, missing: NO_MISSING };

/** Finds the best route (`find`: the greatest summary, the first one on ties). The result is
 * only valid until the next call. */
export function selectRoute(routes: readonly RouteC[], req: RequestView, grpc: boolean): RouteSelection {
  let bestKey = -1;
  let bestPos = 0;
  let bestRoute: RouteC | undefined;
  let bestRule: RuleC | undefined;
  let bestMatch: HttpMatchDef | undefined;
  let maybes: { route: RouteC; rule: RuleC; match: HttpMatchDef | undefined; key: number; pos: number; missing: string[] }[] | undefined;
  let pos = 0;
  const defaultPart = grpc ? 0 : DEFAULT_HTTP_PART;
  for (const route of routes) {
    let host = 0;
    let hostMaybe = false;
    if (route.hostnames.length) {
      const requested = requestHost(req);
      if (requested === undefined) {
        hostMaybe = true;
        host = 2 * 65536 + CAP;
      } else {
        host = -1;
        for (const hm of route.hostnames) {
          const k = hostKey(hm, requested);
          if (k > host) host = k;
        }
        if (host < 0) continue;
      }
    }
    const hostPart = host * HOST_SCALE;
    for (const rule of route.rules) {
      if (rule.matches.length === 0) {
        pos++;
        const key = hostPart + defaultPart;
        if (hostMaybe) (maybes ??= []).push({ route, rule, match: undefined, key, pos, missing: ['request.host'] });
        else if (key > bestKey) {
          bestKey = key; bestPos = pos; bestRoute = route; bestRule = rule; bestMatch = undefined;
        }
        continue;
      }
      for (const m of rule.matches) {
        const r = grpc ? matchGrpc(m, req) : matchHttp(m, req);
        if (r < 0) continue;
        pos++;
        const key = hostPart + r;
        if (lastMissing || hostMaybe) {
          const missing = [...(lastMissing ?? []), ...(hostMaybe ? ['request.host'] : [])];
          (maybes ??= []).push({ route, rule, match: m, key, pos, missing });
        } else if (key > bestKey) {
          bestKey = key; bestPos = pos; bestRoute = route; bestRule = rule; bestMatch = m;
        }
      }
    }
  }
  if (!maybes) {
    // The common case: reuse one result object (the caller consumes it before the next call).
    if (bestRoute) {
      SCRATCH_BEST.route = bestRoute;
      SCRATCH_BEST.rule = bestRule!;
      SCRATCH_BEST.match = bestMatch;
      SCRATCH.best = SCRATCH_BEST;
    } else {
      SCRATCH.best = undefined;
    }
    return SCRATCH;
  }
  const best: RouteCandidate | undefined = bestRoute ? { route: bestRoute, rule: bestRule!, match: bestMatch } : undefined;
  const out: RouteSelection = { best, maybes: [], missing: [] };
  for (const m of maybes) {
    if (best && !(m.key > bestKey || (m.key === bestKey && m.pos < bestPos))) continue;
    out.maybes.push(m);
    for (const x of m.missing) if (!out.missing.includes(x)) out.missing.push(x);
  }
  return out;
}

/** Why a route did not match, for explain(): the first failing field of its closest match. */
export function routeMismatch(route: RouteC, req: RequestView, grpc: boolean): string {
  const requested = requestHost(req);
  if (route.hostnames.length && requested !== undefined && !route.hostnames.some((h) => hostKey(h, requested) >= 0)) return `host ${requested} is not one of ${route.hostnames.map((h) => h.text).join(', ')}`;
  const reasons: string[] = [];
  for (const rule of route.rules) {
    for (const m of rule.matches) {
      let why = '';
      if (grpc) {
        if (req.method !== undefined && req.method !== 'POST') why = `method ${req.method} is not POST`;
        else if (req.path !== undefined) {
          const parts = req.path.split('/');
          if (parts[0] !== '' || parts.length < 3) why = `path ${req.path} is not /<service>/<method>`;
          else if (m.grpc?.service !== undefined && parts[1] !== m.grpc.service) why = `service ${parts[1]} is not ${m.grpc.service}`;
          else if (m.grpc?.method !== undefined && parts[2] !== m.grpc.method) why = `method ${parts[2]} is not ${m.grpc.method}`;
        }
      } else if (m.method !== undefined && req.method !== undefined && req.method !== m.method) why = `method ${req.method} is not ${m.method}`;
      else if (m.path && req.path !== undefined) why = `path ${req.path} does not match ${m.path.type} ${m.path.value}`;
      if (!why && m.headers.length) why = `headers do not match (${m.headers.map((h) => h.text).join(', ')})`;
      if (!why && m.query.length) why = `query parameters do not match (${m.query.map((h) => h.text).join(', ')})`;
      reasons.push(`rules[${rule.index}].matches[${m.index}]: ${why || 'does not match'}`);
      if (reasons.length >= 3) break;
    }
    if (reasons.length >= 3) break;
  }
  return reasons.join('; ') || 'no rule matches';
}

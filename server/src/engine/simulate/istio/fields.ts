import { RE2JS } from 're2js';
import { re2 } from '../re2';
import { F, T, U, type Call, type Tri } from './call';
import { cidrContains, parseCidr, type Cidr } from './ip';
import { ENVOY_REFUSES, compileTemplate, isTemplate } from './path';

export { ENVOY_REFUSES };

/** A compiled list of string patterns: exact, `prefix*`, `*suffix`, `*` (presence). */
export class StrList {
  private readonly exact: Set<string> | null;
  private readonly single: string | undefined;
  private readonly prefixes: string[] = [];
  private readonly suffixes: string[] = [];
  private readonly presence: boolean;

  constructor(values: readonly string[], lower = false) {
    const exact: string[] = [];
    let presence = false;
    for (const raw of values) {
      const v = lower ? raw.toLowerCase() : raw;
      if (v === '*') presence = true;
      else if (v.startsWith('*')) this.suffixes.push(v.slice(1));
      else if (v.endsWith('*')) this.prefixes.push(v.slice(0, -1));
      else exact.push(v);
    }
    this.presence = presence;
    this.single = exact.length === 1 ? exact[0] : undefined;
    this.exact = exact.length > 1 ? new Set(exact) : null;
  }

  /** `emptyIsPresent`: a header sent with an empty value is present (Envoy present_match). */
  test(s: string, emptyIsPresent = false): boolean {
    if (this.presence && (emptyIsPresent || s.length > 0)) return true;
    if (this.single !== undefined ? s === this.single : this.exact !== null && this.exact.has(s)) return true;
    for (let i = 0; i < this.prefixes.length; i++) if (s.startsWith(this.prefixes[i]!)) return true;
    for (let i = 0; i < this.suffixes.length; i++) if (s.endsWith(this.suffixes[i]!)) return true;
    return false;
  }

  /** The values when the list is exact matches only (no prefix, suffix or presence), else null. */
  exactValues(): string[] | null {
    if (this.presence || this.prefixes.length || this.suffixes.length) return null;
    return this.single !== undefined ? [this.single] : this.exact ? [...this.exact] : [];
  }

  testAny(list: readonly string[]): boolean {
    for (let i = 0; i < list.length; i++) if (this.test(list[i]!)) return true;
    return false;
  }
}

export interface CompileContext {
  policyNamespace: string;
  /** The trust-domain bundle: mesh trust domain first, then aliases. */
  trustDomains: readonly string[];
}

/** What a field reads from the call. */
const enum Kind {
  /** principals, source.principal: StrList over the peer identity (without spiffe://). */
  Principal,
  /** namespaces, source.namespace: `/ns/<v>/` needles and regexes over the peer identity. */
  Namespace,
  /** serviceAccounts, trustDomains and their when keys: prefixes and regexes over the peer identity. */
  PeerPattern,
  /** namespaces at ztunnel: a string match on the namespace of the peer's SPIFFE identity. */
  PeerNamespace,
  /** serviceAccounts at ztunnel: the exact namespace and service account of the peer's SPIFFE identity. */
  PeerServiceAccount,
  SourceIp,
  RemoteIp,
  DestinationIp,
  Port,
  Host,
  Method,
  Path,
  Header,
  RequestPrincipal,
  Audiences,
  Presenter,
  Claim,
  Sni,
  /** experimental.envoy.filters.*: dynamic metadata, never in a record. */
  Metadata,
  /** A condition istiod leaves out of a DENY/AUDIT/CUSTOM rule (`omitted`): always holds. */
  Omitted,
}

/** What a field reads of a call (`Field.reads`): the peer identity covers principals, namespaces,
 * service accounts and trust domains; `jwt` every request-authentication attribute. */
export type FieldRead = 'peer' | 'source.ip' | 'remote.ip' | 'destination.ip' | 'port' | 'host' | 'method' | 'path' | 'header' | 'jwt' | 'sni' | 'nothing';

/** `sub` is undefined when the token has no `sub` claim: Envoy's metadata matchers then match nothing. */
type RequestPrincipalTest = (iss: string, sub: string | undefined) => boolean;

const NO_PEER = 'no peer identity (plaintext, or mTLS not available here)';
const quote = (s: string) => JSON.stringify(s);
const shownList = (values: readonly string[]) => `[${values.map(quote).join(', ')}]`;

/**
 * One constraint of a rule (a Source/Operation field or a `when` condition), compiled to a test.
 * Values are OR-ed; a `not…` field / `notValues` is NOT(OR); a call that lacks the attribute fails
 * a positive field and satisfies a negative one (spec §1.4); a call that does not record it gives
 * U and names the attribute in `c.missing`. One class with a switch keeps every field the same
 * shape and the calls monomorphic.
 */
export class Field {
  /** The field or key name, e.g. `principals`, `request.headers[x-env]`. */
  readonly name: string;
  readonly negative: boolean;
  /** HTTP-only at sidecars and gateways (spec §1.7). */
  readonly http: boolean;
  /** Enforced by ztunnel (L4); everything else is an HTTP attribute there. */
  l4: boolean;
  /** The policy's values as written, for the trace. */
  readonly shown: string;
  list: StrList | null = null;
  needles: string[] = [];
  /** Built from policy values: RE2 (linear time) for those, a RegExp only for our own path templates. */
  patterns: { test(value: string): boolean }[] = [];
  /** Trust domains: the peer identity starts with one of these (or `any`). */
  prefixes: string[] = [];
  any = false;
  cidrs: Cidr[] = [];
  ports: Set<number> | null = null;
  principals: RequestPrincipalTest[] = [];
  /** Header name (lower-case) or metadata key. */
  key = '';
  /** `request.experimental.inline.headers[...]`: the value is a comma-joined list and any element may match. */
  inline = false;
  claimPath: string[] = [];
  /** `namespace/serviceAccount` pairs (serviceAccounts at ztunnel). */
  accounts: Set<string> | null = null;
  /**
   * The same constraint as ztunnel reads it, when that differs: istiod gives ztunnel plain string
   * matches (exact, prefix, suffix, presence) where Envoy gets regular expressions.
   */
  ztunnel: Field | null = null;

  constructor(
    /** Where it is written, e.g. `from[0].source.principals`, `when[1] request.headers[x-env]`. */
    public path: string,
    name: string,
    negative: boolean,
    private readonly kind: Kind,
    flags: { http: boolean; l4: boolean },
    shown: string,
  ) {
    this.name = name;
    this.negative = negative;
    this.http = flags.http;
    this.l4 = flags.l4;
    this.shown = shown;
  }

  /**
   * For a positive `principals` field of exact values: the peer identities it can match. Any
   * other peer (including none) fails it, so callers may index rules by these values. null when
   * the field is anything else.
   */
  requiredPeers(): string[] | null {
    if (this.kind !== Kind.Principal || this.negative || this.patterns.length !== 0) return null;
    return this.list!.exactValues();
  }

  /** For a condition istiod cannot generate (`omitted`): why, else undefined. */
  skipped(): string | undefined {
    return this.kind === Kind.Omitted ? this.key : undefined;
  }

  /** Which attribute of a call the test reads (the fold, `fold.ts`, keeps only those). */
  reads(): FieldRead {
    switch (this.kind) {
      case Kind.Principal:
      case Kind.Namespace:
      case Kind.PeerPattern:
      case Kind.PeerNamespace:
      case Kind.PeerServiceAccount:
        return 'peer';
      case Kind.SourceIp: return 'source.ip';
      case Kind.RemoteIp: return 'remote.ip';
      case Kind.DestinationIp: return 'destination.ip';
      case Kind.Port: return 'port';
      case Kind.Host: return 'host';
      case Kind.Method: return 'method';
      case Kind.Path: return 'path';
      case Kind.Header: return 'header';
      case Kind.RequestPrincipal:
      case Kind.Audiences:
      case Kind.Presenter:
      case Kind.Claim:
        return 'jwt';
      case Kind.Sni: return 'sni';
      default: return 'nothing';
    }
  }

  /** A peer identity field's match of a peer identity (without `spiffe://`), as `test` does it (without `not`). */
  matchesPeer(peer: string): boolean {
    switch (this.kind) {
      case Kind.Principal: return this.list!.test(peer) || (this.patterns.length !== 0 && this.someRegexMatches(`spiffe://${peer}`));
      case Kind.Namespace: return this.namespaceMatch(peer);
      case Kind.PeerNamespace: { const id = spiffeParts(peer); return id !== null && this.list!.test(id[0]); }
      case Kind.PeerServiceAccount: { const id = spiffeParts(peer); return id !== null && this.accounts!.has(`${id[0]}/${id[1]}`); }
      default: return this.peerPatternMatch(peer);
    }
  }

  /** A port field's match of a port, as `test` does it (without `not`). */
  matchesPort(port: number): boolean {
    return this.ports!.has(port);
  }

  /** A path field's match of a normalized path, as `test` does it (without `not`). */
  matchesPath(path: string): boolean {
    return this.pathMatch(path);
  }

  /** A host, method or header field's match of the (lower-cased) host, the method or the header's value, as `test` does it (without `not`). */
  matchesText(value: string): boolean {
    return this.inline ? this.someElementMatches(value) : this.list!.test(value, true);
  }

  /** An address field's match of a parsed address, as `test` does it (without `not`). */
  matchesAddress(family: 4 | 6, address: Uint32Array): boolean {
    return this.cidrMatch(family, address);
  }

  test(c: Call): Tri {
    const negative = this.negative;
    let m: boolean;
    switch (this.kind) {
      case Kind.Principal:
      case Kind.Namespace:
      case Kind.PeerPattern:
      case Kind.PeerNamespace:
      case Kind.PeerServiceAccount: {
        if (c.peerMissing !== null) return unknown(c, c.peerMissing);
        const p = c.peer;
        if (p === null) return negative ? T : F;
        m = this.matchesPeer(p);
        break;
      }
      case Kind.SourceIp:
      case Kind.RemoteIp: {
        if (c.sourceIpMissing !== null) return unknown(c, c.sourceIpMissing);
        const remote = this.kind === Kind.RemoteIp;
        const family = remote ? c.remoteFamilyOf() : c.sourceFamily();
        if (family === 0) return unknown(c, remote ? 'source.remoteIp' : 'source.ip');
        m = this.cidrMatch(family, remote ? c.remoteIp : c.srcIp);
        break;
      }
      case Kind.DestinationIp: {
        const family = c.destinationFamily();
        if (family === 0) return unknown(c, 'destination.ip');
        m = this.cidrMatch(family, c.dstIp);
        break;
      }
      case Kind.Port: {
        const port = c.rec.destination?.port;
        if (port === undefined) return unknown(c, 'destination.port');
        m = this.ports!.has(port);
        break;
      }
      case Kind.Host: {
        const host = c.lowerHost();
        if (host === undefined) return unknown(c, 'request.host');
        m = this.list!.test(host, true);
        break;
      }
      case Kind.Method: {
        const method = c.method();
        if (method === undefined) return unknown(c, 'request.method');
        m = this.list!.test(method, true);
        break;
      }
      case Kind.Path: {
        const path = c.normalizedPath();
        if (path === undefined) return unknown(c, 'request.path');
        m = this.pathMatch(path);
        break;
      }
      case Kind.Header: {
        const value = c.header(this.key);
        if (value === undefined) return unknown(c, this.recordedAs());
        if (value === null) return negative ? T : F;
        m = this.matchesText(value);
        break;
      }
      case Kind.RequestPrincipal: {
        if (c.jwtState === 0) return negative ? T : F;
        if (c.jwtState === 2) return unknown(c, c.jwtMissing);
        const jwt = c.rec.request!.jwt!;
        if (jwt.issuer === undefined) return unknown(c, 'request.jwt.issuer');
        const sub = jwt.subject;
        m = false;
        for (let i = 0; i < this.principals.length; i++) if (this.principals[i]!(jwt.issuer, sub)) { m = true; break; }
        break;
      }
      case Kind.Audiences:
      case Kind.Presenter:
      case Kind.Claim: {
        if (c.jwtState === 0) return negative ? T : F;
        if (c.jwtState === 2) return unknown(c, c.jwtMissing);
        const values = this.jwtValues(c);
        if (values === undefined) return unknown(c, 'request.jwt.claims');
        if (values === null) return negative ? T : F;
        m = this.list!.testAny(values);
        break;
      }
      case Kind.Sni: {
        const sni = c.rec.sni;
        if (sni === undefined || sni === '') return negative ? T : F;
        m = this.list!.test(sni);
        break;
      }
      case Kind.Omitted:
        return T;
      default:
        return unknown(c, this.key);
    }
    return m !== negative ? T : F;
  }

  /** What the call has for the attribute, for the trace. */
  actual(c: Call): string {
    const rec = c.rec;
    switch (this.kind) {
      case Kind.Principal:
      case Kind.Namespace:
      case Kind.PeerPattern:
      case Kind.PeerNamespace:
      case Kind.PeerServiceAccount:
        return c.peerMissing !== null ? `not recorded (${c.peerMissing})` : c.peer === null ? NO_PEER : `peer identity ${quote(c.peer)}`;
      case Kind.SourceIp:
        return c.sourceIpMissing ?? (rec.source?.ip === undefined ? 'not recorded (source.ip)' : `source.ip ${rec.source.ip}`);
      case Kind.RemoteIp: {
        const ip = rec.source?.remoteIp ?? rec.source?.ip;
        return c.sourceIpMissing ?? (ip === undefined ? 'not recorded (source.remoteIp)' : `remote address ${ip}`);
      }
      case Kind.DestinationIp:
        return rec.destination?.ip === undefined ? 'not recorded (destination.ip)' : `destination.ip ${rec.destination.ip}`;
      case Kind.Port:
        return rec.destination?.port === undefined ? 'not recorded (destination.port)' : `port ${rec.destination.port}`;
      case Kind.Host:
        return rec.request?.host === undefined ? 'not recorded (request.host)' : `host ${quote(rec.request.host)}`;
      case Kind.Method: {
        const method = c.method();
        return method === undefined ? 'not recorded (request.method)' : `method ${method}`;
      }
      case Kind.Path: {
        const path = c.normalizedPath();
        return path === undefined ? 'not recorded (request.path)' : `path ${quote(path)}${path !== rec.request?.path ? ` (as sent: ${quote(rec.request!.path!)})` : ''}`;
      }
      case Kind.Header: {
        const value = c.header(this.key);
        return value === undefined ? `not recorded (${this.recordedAs()})` : value === null ? `no ${this.key} header` : `header ${this.key}: ${quote(value)}`;
      }
      case Kind.RequestPrincipal: {
        if (c.jwtState === 0) return 'no request identity (no validated token)';
        if (c.jwtState === 2) return `not recorded (${c.jwtMissing})`;
        const jwt = rec.request!.jwt!;
        return jwt.issuer === undefined ? 'not recorded (request.jwt.issuer)' : `request principal ${quote(`${jwt.issuer}/${jwt.subject ?? ''}`)}`;
      }
      case Kind.Audiences:
      case Kind.Presenter:
      case Kind.Claim: {
        if (c.jwtState === 0) return 'no request identity (no validated token)';
        if (c.jwtState === 2) return `not recorded (${c.jwtMissing})`;
        const values = this.jwtValues(c);
        const what = this.kind === Kind.Audiences ? 'audiences' : this.kind === Kind.Presenter ? 'presenter' : `claim ${this.claimPath.join('.')}`;
        return values === undefined ? 'not recorded (request.jwt.claims)' : values === null ? `the token has no ${what}` : `${what} ${shownList(values)}`;
      }
      case Kind.Sni:
        return rec.sni ? `SNI ${quote(rec.sni)}` : 'no SNI';
      case Kind.Omitted:
        return `${this.key}, and leaves it out of the rule`;
      default:
        return `not recorded (${this.key}: dynamic metadata is not in access records)`;
    }
  }

  /** Istio's inline-header regex (`^v$|^v,.*|.*,v,.*|.*,v$` around the value's pattern) is an element-wise match. */
  private someElementMatches(value: string): boolean {
    if (value.indexOf(',') < 0) return this.list!.test(value, true);
    const parts = value.split(',');
    for (let i = 0; i < parts.length; i++) if (this.list!.test(parts[i]!, true)) return true;
    return false;
  }

  private namespaceMatch(p: string): boolean {
    for (let i = 0; i < this.needles.length; i++) if (p.includes(this.needles[i]!)) return true;
    return this.patterns.length !== 0 && this.someRegexMatches(`spiffe://${p}`);
  }

  /** Envoy's `safe_regex` principal matchers, which read the whole URI SAN (with `spiffe://`). */
  private someRegexMatches(uri: string): boolean {
    for (let i = 0; i < this.patterns.length; i++) if (this.patterns[i]!.test(uri)) return true;
    return false;
  }

  private peerPatternMatch(p: string): boolean {
    if (this.any) return true;
    for (let i = 0; i < this.prefixes.length; i++) if (p.startsWith(this.prefixes[i]!)) return true;
    for (let i = 0; i < this.patterns.length; i++) if (this.patterns[i]!.test(p)) return true;
    return false;
  }

  private cidrMatch(family: 4 | 6, address: Uint32Array): boolean {
    for (let i = 0; i < this.cidrs.length; i++) if (cidrContains(this.cidrs[i]!, family, address)) return true;
    return false;
  }

  private pathMatch(path: string): boolean {
    if (this.list !== null && this.list.test(path)) return true;
    for (let i = 0; i < this.patterns.length; i++) if (this.patterns[i]!.test(path)) return true;
    return false;
  }

  /** Audiences, presenter or a claim as a list of strings; null = absent; undefined = not recorded. */
  /** The attribute a header test reads, as an unknown verdict names it. */
  private recordedAs(): string {
    return this.key === 'host' || this.key === ':authority' ? 'request.host' : `request.headers[${this.key}]`;
  }

  private jwtValues(c: Call): string[] | null | undefined {
    const jwt = c.rec.request!.jwt!;
    if (this.kind === Kind.Audiences) return jwt.audiences ?? (jwt.claims ? toStrings(jwt.claims['aud']) : null);
    if (this.kind === Kind.Presenter) {
      const azp = jwt.presenter ?? (typeof jwt.claims?.['azp'] === 'string' ? jwt.claims['azp'] as string : undefined);
      return azp === undefined ? null : [azp];
    }
    return c.claim(this.claimPath);
  }
}

function unknown(c: Call, attribute: string): Tri {
  c.missing.push(attribute);
  return U;
}

function toStrings(value: unknown): string[] | null {
  if (typeof value === 'string') return [value];
  if (Array.isArray(value)) return value.filter((v): v is string => typeof v === 'string');
  return null;
}

// --- identity -------------------------------------------------------------------------------

const IDENTITY = { http: false, l4: true };

/** istio trustdomain `stringMatch`: exact, `*`, or a prefix or suffix pattern on either side. */
function trustDomainMatches(td: string, member: string): boolean {
  if (td === member || member === '*') return true;
  return patternMatches(td, member) || patternMatches(member, td);
}

function patternMatches(s: string, pattern: string): boolean {
  if (pattern.endsWith('*') && s.startsWith(pattern.slice(0, -1))) return true;
  return pattern.startsWith('*') && s.endsWith(pattern.slice(1));
}

/**
 * Trust-domain aliasing of a principal value (spec §1.5.2, istio trustdomain bundle.go): a value
 * whose trust domain is `cluster.local` or matches a bundle member (patterns included, so
 * `cluster*` stands for the mesh's trust domain) is rewritten once per member, except that a
 * `*suffix` trust domain a member ends with stays as written.
 */
export function expandPrincipal(value: string, bundle: readonly string[]): string[] {
  const parts = value.split('/');
  if (parts.length !== 5 || parts[0] === '*') return [value];
  const td = parts[0]!;
  if (td !== 'cluster.local' && !bundle.some((member) => trustDomainMatches(td, member))) return [value];
  const out: string[] = [];
  for (const member of bundle) {
    const next = td.startsWith('*') && member.endsWith(td.slice(1)) ? value : `${member}/${parts.slice(1).join('/')}`;
    if (!out.includes(next)) out.push(next);
  }
  return out;
}

/**
 * principals and source.principal. Envoy compares `spiffe://` + value (matcher/string.go
 * `StringMatcherWithPrefix`): exact, prefix and `*` as string matches, but a leading `*` becomes the
 * regular expression `spiffe://.*<rest>` with the rest inserted as written (its `.` matches any
 * character, a trailing `*` repeats the character before it). ztunnel gets plain suffix matches of
 * the values as written, without the trust-domain rewriting.
 */
function principals(path: string, name: string, values: string[], negative: boolean, ctx: CompileContext): Field | string {
  const expanded = values.flatMap((v) => expandPrincipal(v, ctx.trustDomains));
  const same = expanded.length === values.length && expanded.every((v, i) => v === values[i]);
  const shown = same ? shownList(values) : `${shownList(values)} (trust domains → ${shownList(expanded)})`;
  const f = new Field(path, name, negative, Kind.Principal, IDENTITY, shown);
  const strings: string[] = [];
  for (const v of expanded) {
    // Without regex characters after the `*`, the regex is a plain suffix match.
    if (v.length < 2 || !v.startsWith('*') || !REGEX_META.test(v.slice(1))) { strings.push(v); continue; }
    const re = envoyRegex(`spiffe://.*${v.slice(1)}`, name, v);
    if (typeof re === 'string') return re;
    f.patterns.push(re);
  }
  f.list = new StrList(strings);
  // ztunnel gets the values as written, as plain string matches: istiod's ambient conversion
  // (serviceregistry/ambient/authorization.go `handleRule`) does not rewrite trust domains, which
  // only the Envoy generator does (model.go `MigrateTrustDomain`).
  if (f.patterns.length !== 0 || !same) {
    f.ztunnel = new Field(path, name, negative, Kind.Principal, IDENTITY, shownList(values));
    f.ztunnel.list = new StrList(values);
  }
  return f;
}

const REGEX_META = /[\\.+*?()|[\]{}^$]/;

/** A regular expression istiod builds from a policy value, matched as Envoy does (the whole value); an error when Envoy refuses it. */
function envoyRegex(pattern: string, name: string, value: string): { test(value: string): boolean } | string {
  const re = re2(pattern);
  if (typeof re === 'string') return `${ENVOY_REFUSES} the regular expression ${quote(pattern)} that istiod builds from the ${name} value ${quote(value)} (${re})`;
  return { test: (s: string) => re.testExact(s) };
}


/** A SPIFFE identity without `spiffe://` as ztunnel reads it (`<td>/ns/<ns>/sa/<sa>`): [namespace, service account], or null. */
function spiffeParts(peer: string): [string, string] | null {
  const parts = peer.split('/');
  return parts.length === 5 && parts[1] === 'ns' && parts[3] === 'sa' ? [parts[2]!, parts[4]!] : null;
}

/**
 * namespaces and source.namespace. Envoy: the regex `.*` + `/ns/<v>/` + `.*` over the URI SAN, with
 * each `*` of the value turned into `.*` and the rest inserted as written (generator.go
 * `srcNamespaceGenerator`). ztunnel: a plain string match on the identity's namespace.
 */
function namespaces(path: string, name: string, values: string[], negative: boolean): Field | string {
  const f = new Field(path, name, negative, Kind.Namespace, IDENTITY, shownList(values));
  for (const v of values) {
    if (PLAIN_NAME.test(v)) { f.needles.push(`/ns/${v}/`); continue; }
    const re = envoyRegex(`.*/ns/${v.replace(/\*/g, '.*')}/.*`, name, v);
    if (typeof re === 'string') return re;
    f.patterns.push(re);
  }
  f.ztunnel = new Field(path, name, negative, Kind.PeerNamespace, IDENTITY, shownList(values));
  f.ztunnel.list = new StrList(values);
  return f;
}

/** Text that means the same in a regular expression as written. */
const PLAIN_NAME = /^[A-Za-z0-9_-]+$/;

const escapeRegex = (s: string) => s.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&');

function serviceAccounts(path: string, name: string, values: string[], negative: boolean, ctx: CompileContext, l4: boolean): Field | string {
  const f = new Field(path, name, negative, Kind.PeerPattern, { http: false, l4 }, shownList(values));
  const accounts = new Set<string>();
  for (const v of values) {
    if (v === '' || v.includes('*') || v.split('/').length > 2 || v.startsWith('/') || v.endsWith('/')) return `bad ${name} value ${quote(v)}: expected 'serviceAccount' or 'namespace/serviceAccount' without wildcards`;
    const [ns, sa] = v.includes('/') ? v.split('/') as [string, string] : [ctx.policyNamespace, v];
    // istiod inserts both parts into the regex as written: the `.` of `my.sa` matches any character.
    const re = envoyRegex(`spiffe://.+/ns/${ns}/(.+/|)sa/${sa}(/.+)?`, name, v);
    if (typeof re === 'string') return re;
    f.patterns.push({ test: (peer: string) => re.test(`spiffe://${peer}`) });
    accounts.add(`${ns}/${sa}`);
  }
  // ztunnel compares the identity's namespace and service account exactly.
  f.ztunnel = new Field(path, name, negative, Kind.PeerServiceAccount, { http: false, l4 }, shownList(values));
  f.ztunnel.accounts = accounts;
  return f;
}

function trustDomains(path: string, name: string, values: string[], negative: boolean, ctx: CompileContext): Field | string {
  const f = new Field(path, name, negative, Kind.PeerPattern, { http: false, l4: false }, shownList(values));
  for (const v of values) {
    if (v === '') return `empty value not allowed, found in ${name}`;
    if (v.includes('/')) return `bad ${name} value ${quote(v)}: trust domain must not contain '/'`;
    const stars = v.split('*').length - 1;
    if (v === '*') { f.any = true; continue; }
    if (stars > 1) return `bad ${name} value ${quote(v)}: at most one wildcard is allowed`;
    if (stars === 1 && !v.startsWith('*') && !v.endsWith('*')) return `bad ${name} value ${quote(v)}: wildcard is only allowed at the start or end`;
    if (stars === 0) {
      for (const member of ctx.trustDomains.includes(v) ? ctx.trustDomains : [v]) f.prefixes.push(`${member}/`);
    } else {
      const [before, after] = v.split('*') as [string, string];
      f.patterns.push(RE2JS.compile(`^${escapeRegex(before)}[^/]*${escapeRegex(after)}/.*$`));
    }
  }
  return f;
}

// --- addresses and ports --------------------------------------------------------------------

function ipBlocks(path: string, name: string, values: string[], negative: boolean, kind: Kind.SourceIp | Kind.RemoteIp | Kind.DestinationIp, l4: boolean): Field | string {
  const f = new Field(path, name, negative, kind, { http: false, l4 }, shownList(values));
  for (const v of values) {
    const parsed = parseCidr(v);
    if (typeof parsed === 'string') return parsed;
    f.cidrs.push(parsed);
  }
  return f;
}

function ports(path: string, name: string, values: string[], negative: boolean): Field | string {
  const f = new Field(path, name, negative, Kind.Port, { http: false, l4: true }, shownList(values));
  f.ports = new Set();
  for (const v of values) {
    if (!/^[0-9]+$/.test(v) || Number(v) > 65535) return `bad port (${v}) in ${name}: ports are decimal numbers up to 65535`;
    f.ports.add(Number(v));
  }
  return f;
}

// --- operation ------------------------------------------------------------------------------

const HTTP = { http: true, l4: false };

function stringField(path: string, name: string, values: string[], negative: boolean, kind: Kind, flags: { http: boolean; l4: boolean }, lower = false): Field {
  const f = new Field(path, name, negative, kind, flags, shownList(values));
  f.list = new StrList(values, lower);
  return f;
}

function paths(path: string, name: string, values: string[], negative: boolean): Field | string {
  const f = new Field(path, name, negative, Kind.Path, HTTP, shownList(values));
  const plain: string[] = [];
  for (const v of values) {
    if (isTemplate(v)) {
      const compiled = compileTemplate(v);
      if (typeof compiled === 'string') return compiled;
      f.patterns.push(compiled);
    } else if (v.includes('{') || v.includes('}')) {
      return `invalid or unsupported path ${v}: contains '{' or '}' beyond a supported path template`;
    } else {
      plain.push(v);
    }
  }
  if (plain.length) f.list = new StrList(plain);
  return f;
}

// --- request authentication -----------------------------------------------------------------

/**
 * One `requestPrincipals` value split at the last `/` into issuer and subject tests (spec §1.5.3),
 * as istiod's generator reads it: a leading `*` makes the issuer a suffix (`*` alone: any) and
 * leaves the subject exact (so the subject of `*` + `/*` must be the literal `*`); a trailing `*` is
 * read only when the value does not start with one.
 */
function requestPrincipalTest(v: string): RequestPrincipalTest {
  const any = (s: string | undefined) => s !== undefined && s.length > 0;
  const exact = (want: string) => (s: string | undefined) => s === want;
  const suffix = (end: string) => (s: string | undefined) => s !== undefined && s.endsWith(end);
  const prefix = (start: string) => (s: string | undefined) => s !== undefined && s.startsWith(start);
  const slash = v.lastIndexOf('/');
  const iss = slash < 0 ? v : v.slice(0, slash);
  const sub = slash < 0 ? '' : v.slice(slash + 1);
  let issTest: (s: string) => boolean;
  let subTest: (s: string | undefined) => boolean;
  if (v === '*') [issTest, subTest] = [any, any];
  else if (v.startsWith('*')) {
    if (slash < 0) [issTest, subTest] = [any, suffix(v.slice(1))];
    else [issTest, subTest] = [iss === '*' ? any : suffix(iss.slice(1)), exact(sub)];
  } else if (v.endsWith('*')) {
    if (slash < 0) [issTest, subTest] = [prefix(v.slice(0, -1)), any];
    else [issTest, subTest] = [exact(iss), sub === '*' ? any : prefix(sub.slice(0, -1))];
  } else [issTest, subTest] = [exact(iss), exact(sub)];
  return (i, s) => issTest(i) && subTest(s);
}

function requestPrincipals(path: string, name: string, values: string[], negative: boolean): Field {
  const f = new Field(path, name, negative, Kind.RequestPrincipal, HTTP, shownList(values));
  f.principals = values.map(requestPrincipalTest);
  return f;
}

// --- when -----------------------------------------------------------------------------------

/** istiod's reading of `[name]` after a map key's attribute (model/util.go `extractNameInBrackets`): the name, or undefined. */
function bracketName(rest: string): string | undefined {
  return rest.length >= 2 && rest.startsWith('[') && rest.endsWith(']') ? rest.slice(1, -1) : undefined;
}

/**
 * istiod's reading of `[a][b]…` after `request.auth.claims` (model/util.go
 * `extractNameInNestedBrackets`): each `[…]` without an inner `[` is one name; when the rest is not
 * such a sequence, the whole of it is one bracketed name (`[a[b]]` is the claim `a[b]`). Undefined
 * when istiod cannot read it (it then fails to generate the condition).
 */
function claimNames(rest: string): string[] | undefined {
  const names: string[] = [];
  let begin = 0;
  while (begin < rest.length) {
    let end = -1;
    if (rest[begin] === '[') {
      for (let i = begin + 1; i < rest.length; i++) {
        if (rest[i] === '[') break;
        if (rest[i] === ']') { end = i; break; }
      }
    }
    if (end < 0) {
      const whole = bracketName(rest);
      return whole === undefined ? undefined : [whole];
    }
    names.push(rest.slice(begin + 1, end));
    begin = end + 1;
  }
  return names.length ? names : undefined;
}

/** How the reason begins when istiod accepts a policy but cannot generate one of its rules. */
export const ISTIOD_SKIPS = 'istiod cannot generate';

/**
 * A condition whose key istiod's webhook accepts (`validateMapKey` only asks for `name[x]`) but its
 * generator cannot read (`request.headersX[y]`: not `[…]` after the attribute). An ALLOW rule with
 * it is skipped; a DENY, AUDIT or CUSTOM rule is generated without it (model.go `checkError`), so
 * it always holds. HTTP-only like the attribute it names, and no L4 attribute for ztunnel.
 */
function omitted(path: string, key: string, values: string[], negative: boolean): Field {
  const f = new Field(path, key, negative, Kind.Omitted, HTTP, shownList(values));
  f.key = `${ISTIOD_SKIPS} the condition ${key} (${negative ? 'notValues' : 'values'}): it cannot read a name in brackets after the attribute`;
  return f;
}

/** Compiles one `when` condition. Returns an error for keys or values istiod rejects. */
export function compileWhen(index: number, key: string, values: string[], notValues: string[], ctx: CompileContext): Field[] | string {
  const path = `when[${index}] ${key}`;
  if (values.length === 0 && notValues.length === 0) return `at least one of values or notValues must be set for key ${key}`;
  if ([...values, ...notValues].some((v) => v === '')) return `invalid value for key ${key}: empty value not allowed`;
  let make: ((vals: string[], negative: boolean) => Field | string) | undefined;
  // istiod's webhook asks a map key only for `name[x]` (validateMapKey; the admission checks
  // report the rest); its generator then takes what is between the brackets after the attribute
  // as the header's name, brackets included (`request.headers[a][b]` names the header `a][b`,
  // which no request can carry: Call.header).
  if (key.startsWith('request.headers')) {
    const name = bracketName(key.slice('request.headers'.length));
    make = name === undefined ? (vals, negative) => omitted(path, key, vals, negative) : (vals, negative) => { const f = stringField(path, key, vals, negative, Kind.Header, HTTP); f.key = name.toLowerCase(); return f; };
  } else if (key.startsWith('request.experimental.inline.headers')) {
    const name = bracketName(key.slice('request.experimental.inline.headers'.length));
    make = name === undefined ? (vals, negative) => omitted(path, key, vals, negative) : (vals, negative) => { const f = stringField(path, key, vals, negative, Kind.Header, HTTP); f.key = name.toLowerCase(); f.inline = true; return f; };
  } else if (key === 'source.ip') make = (vals, negative) => ipBlocks(path, key, vals, negative, Kind.SourceIp, true);
  else if (key === 'remote.ip') make = (vals, negative) => ipBlocks(path, key, vals, negative, Kind.RemoteIp, false);
  else if (key === 'destination.ip') make = (vals, negative) => ipBlocks(path, key, vals, negative, Kind.DestinationIp, true);
  else if (key === 'destination.port') make = (vals, negative) => ports(path, key, vals, negative);
  else if (key === 'source.namespace') make = (vals, negative) => namespaces(path, key, vals, negative);
  else if (key === 'source.principal') make = (vals, negative) => principals(path, key, vals, negative, ctx);
  else if (key === 'source.serviceAccount') make = (vals, negative) => serviceAccounts(path, key, vals, negative, ctx, false);
  else if (key === 'source.trustDomain') make = (vals, negative) => trustDomains(path, key, vals, negative, ctx);
  else if (key === 'request.auth.principal') make = (vals, negative) => requestPrincipals(path, key, vals, negative);
  else if (key === 'request.auth.audiences') make = (vals, negative) => stringField(path, key, vals, negative, Kind.Audiences, HTTP);
  else if (key === 'request.auth.presenter') make = (vals, negative) => stringField(path, key, vals, negative, Kind.Presenter, HTTP);
  else if (key.startsWith('request.auth.claims')) {
    const claimPath = claimNames(key.slice('request.auth.claims'.length));
    make = claimPath === undefined ? (vals, negative) => omitted(path, key, vals, negative) : (vals, negative) => { const f = stringField(path, key, vals, negative, Kind.Claim, HTTP); f.claimPath = claimPath; return f; };
  } else if (key === 'connection.sni') make = (vals, negative) => stringField(path, key, vals, negative, Kind.Sni, { http: false, l4: false });
  else if (key.startsWith('experimental.envoy.filters.')) {
    // Read from the request's dynamic metadata, which no record carries: any `name[x]` key will do.
    make = (vals, negative) => { const f = new Field(path, key, negative, Kind.Metadata, { http: false, l4: false }, shownList(vals)); f.key = key; return f; };
  } else if (key === 'destination.namespace' || key.startsWith('destination.labels') || key === 'destination.name' || key === 'destination.user') {
    return `unsupported attribute ${key} (${key === 'destination.namespace' ? 'replaced by the policy namespace' : key.startsWith('destination.labels') ? 'replaced by the workload selector' : 'only supported in v1alpha1'})`;
  } else {
    return `unknown attribute ${key}`;
  }
  const out: Field[] = [];
  for (const [vals, negative] of [[values, false], [notValues, true]] as const) {
    if (vals.length === 0) continue;
    const f = make(vals, negative);
    if (typeof f === 'string') return f;
    if (negative) f.path = `${path} notValues`;
    out.push(f);
  }
  return out;
}

type Maker = (path: string, values: string[], negative: boolean) => Field | string;

/** Compiles one `source`. Returns an error for values istiod rejects. */
export function compileSource(prefix: string, source: Record<string, unknown>, ctx: CompileContext): Field[] | string {
  for (const key of ['principals', 'notPrincipals', 'requestPrincipals', 'notRequestPrincipals', 'namespaces', 'notNamespaces', 'ipBlocks', 'notIpBlocks', 'remoteIpBlocks', 'notRemoteIpBlocks']) {
    const values = strings(source[key], key);
    if (Array.isArray(values) && values.includes('')) return `empty value not allowed, found in ${key}`;
  }
  const hasSa = source['serviceAccounts'] !== undefined || source['notServiceAccounts'] !== undefined;
  if (hasSa && ['principals', 'notPrincipals', 'namespaces', 'notNamespaces'].some((k) => source[k] !== undefined)) return 'cannot set serviceAccounts with namespaces or principals';
  const steps: [string, Maker][] = [
    ['principals', (p, v, n) => principals(p, 'principals', v, n, ctx)],
    ['notPrincipals', (p, v, n) => principals(p, 'notPrincipals', v, n, ctx)],
    ['requestPrincipals', (p, v, n) => requestPrincipals(p, 'requestPrincipals', v, n)],
    ['notRequestPrincipals', (p, v, n) => requestPrincipals(p, 'notRequestPrincipals', v, n)],
    ['namespaces', (p, v, n) => namespaces(p, 'namespaces', v, n)],
    ['notNamespaces', (p, v, n) => namespaces(p, 'notNamespaces', v, n)],
    ['serviceAccounts', (p, v, n) => serviceAccounts(p, 'serviceAccounts', v, n, ctx, true)],
    ['notServiceAccounts', (p, v, n) => serviceAccounts(p, 'notServiceAccounts', v, n, ctx, true)],
    ['trustDomains', (p, v, n) => trustDomains(p, 'trustDomains', v, n, ctx)],
    ['notTrustDomains', (p, v, n) => trustDomains(p, 'notTrustDomains', v, n, ctx)],
    ['ipBlocks', (p, v, n) => ipBlocks(p, 'ipBlocks', v, n, Kind.SourceIp, true)],
    ['notIpBlocks', (p, v, n) => ipBlocks(p, 'notIpBlocks', v, n, Kind.SourceIp, true)],
    ['remoteIpBlocks', (p, v, n) => ipBlocks(p, 'remoteIpBlocks', v, n, Kind.RemoteIp, false)],
    ['notRemoteIpBlocks', (p, v, n) => ipBlocks(p, 'notRemoteIpBlocks', v, n, Kind.RemoteIp, false)],
  ];
  return build(prefix, source, steps);
}

/** Compiles one `operation`. */
export function compileOperation(prefix: string, operation: Record<string, unknown>): Field[] | string {
  for (const key of ['hosts', 'notHosts', 'ports', 'notPorts', 'methods', 'notMethods', 'paths', 'notPaths']) {
    const values = strings(operation[key], key);
    if (Array.isArray(values) && values.includes('')) return `empty value not allowed, found in ${key}`;
  }
  const steps: [string, Maker][] = [
    ['hosts', (p, v, n) => stringField(p, 'hosts', v, n, Kind.Host, HTTP, true)],
    ['notHosts', (p, v, n) => stringField(p, 'notHosts', v, n, Kind.Host, HTTP, true)],
    ['ports', (p, v, n) => ports(p, 'ports', v, n)],
    ['notPorts', (p, v, n) => ports(p, 'notPorts', v, n)],
    ['methods', (p, v, n) => stringField(p, 'methods', v, n, Kind.Method, HTTP)],
    ['notMethods', (p, v, n) => stringField(p, 'notMethods', v, n, Kind.Method, HTTP)],
    ['paths', (p, v, n) => paths(p, 'paths', v, n)],
    ['notPaths', (p, v, n) => paths(p, 'notPaths', v, n)],
  ];
  return build(prefix, operation, steps);
}

function build(prefix: string, object: Record<string, unknown>, steps: [string, Maker][]): Field[] | string {
  const out: Field[] = [];
  for (const [key, make] of steps) {
    const values = strings(object[key], key);
    if (typeof values === 'string') return values;
    if (!values || values.length === 0) continue;
    const f = make(`${prefix}.${key}`, values, key.startsWith('not'));
    if (typeof f === 'string') return f;
    out.push(f);
  }
  return out;
}

/** A list of strings as written (numbers, as in `ports: [8080]`, are read as their text). */
export function strings(value: unknown, key: string): string[] | string | undefined {
  if (value === undefined || value === null) return undefined;
  if (!Array.isArray(value)) return `${key} must be a list of strings`;
  const out: string[] = [];
  for (const v of value) {
    if (typeof v === 'string') out.push(v);
    else if (typeof v === 'number' || typeof v === 'boolean') out.push(String(v));
    else return `${key} must be a list of strings`;
  }
  return out;
}

import type { AccessRecord } from '../../traffic/accessRecord';
import { parseIpInto, type Family } from './ip';
import { normalizePathFast, rejectionReason, type PathNormalization } from './path';

/** Three-valued truth: false, true, unknown (the call does not record an attribute the test needs). */
export type Tri = 0 | 1 | 2;
export const F: Tri = 0;
export const T: Tri = 1;
export const U: Tri = 2;

/**
 * One call under evaluation. Derived facts (normalized path, lower-cased host, parsed addresses)
 * are computed on first use and kept for the rest of the decision; the object is reused from
 * one decision to the next, so a decision allocates nothing here.
 *
 * Attribute conventions (spec §4.0): a canonical record is complete, so a missing principal,
 * token, header or SNI is *absent*; attributes every call of the kind has (destination port,
 * addresses, method/path/authority of an HTTP request) are *not recorded* when missing, and a
 * test that needs one answers U and names it in `missing`.
 */
export class Call {
  rec: AccessRecord = {};
  /** Evaluating the call as HTTP (true) or as a TCP connection (false). */
  http = true;
  /** Names of not-recorded attributes that tests needed; truncated as results become definite. */
  readonly missing: string[] = [];
  normalization: PathNormalization = 'BASE';

  /** The peer identity without `spiffe://`, or null when the connection has none. */
  peer: string | null = null;
  /** Set when the identity available at this proxy is unknown; the attribute to blame. */
  peerMissing: string | null = null;
  /** The caller's address is not the recorded one (a waypoint hop): name to blame, or null. */
  sourceIpMissing: string | null = null;

  /** Request authentication: 0 no request identity, 1 a validated token, 2 unknown. */
  jwtState: 0 | 1 | 2 = 0;
  jwtMissing = 'request.jwt';
  spaceDelimited: ReadonlySet<string> | null = null;

  private pathState = 0;
  private path: string | undefined;
  private pathReject: string | undefined;
  private hostState = 0;
  private host: string | undefined;
  private srcState = 0;
  private remoteState = 0;
  private dstState = 0;
  readonly srcIp = new Uint32Array(4);
  readonly remoteIp = new Uint32Array(4);
  readonly dstIp = new Uint32Array(4);
  srcFamily: Family = 0;
  remoteFamily: Family = 0;
  dstFamily: Family = 0;

  reset(rec: AccessRecord, http: boolean): void {
    this.rec = rec;
    this.http = http;
    if (this.missing.length !== 0) this.missing.length = 0;
    this.peer = null;
    this.peerMissing = null;
    this.sourceIpMissing = null;
    this.jwtState = 0;
    this.spaceDelimited = null;
    this.pathState = 0;
    this.hostState = 0;
    this.srcState = 0;
    this.remoteState = 0;
    this.dstState = 0;
  }

  /** The path RBAC compares: query and fragment removed, normalized; undefined = not recorded. */
  normalizedPath(): string | undefined {
    if (this.pathState === 0) {
      this.pathState = 1;
      const raw = this.rec.request?.path;
      this.path = undefined;
      this.pathReject = undefined;
      if (raw !== undefined) {
        const result = normalizePathFast(raw, this.normalization);
        if (result !== null) this.path = result;
        else this.pathReject = rejectionReason;
      }
    }
    return this.path;
  }

  /** Why the proxy rejects the path before authorization (400), if it does. */
  pathRejection(): string | undefined {
    if (this.normalization === 'NONE') return undefined;
    const raw = this.rec.request?.path;
    if (raw === undefined || raw.indexOf('%00') < 0) return undefined;
    this.normalizedPath();
    return this.pathReject;
  }

  /** `:authority` lower-cased (hosts compare case-insensitively); undefined = not recorded. */
  lowerHost(): string | undefined {
    if (this.hostState === 0) {
      this.hostState = 1;
      const host = this.rec.request?.host;
      this.host = host === undefined ? undefined : host.toLowerCase();
    }
    return this.host;
  }

  method(): string | undefined {
    const method = this.rec.request?.method;
    if (method === undefined && this.rec.protocol === 'grpc') return 'POST';
    return method;
  }

  /** The direct peer address: 0 = not recorded (or unreadable). */
  sourceFamily(): Family {
    if (this.srcState === 0) {
      this.srcState = 1;
      const ip = this.sourceIpMissing === null ? this.rec.source?.ip : undefined;
      this.srcFamily = ip === undefined ? 0 : parseIpInto(ip, this.srcIp, true);
    }
    return this.srcFamily;
  }

  /** Envoy's computed remote address: `source.remoteIp`, else the direct peer. */
  remoteFamilyOf(): Family {
    if (this.remoteState === 0) {
      this.remoteState = 1;
      const ip = this.sourceIpMissing === null ? (this.rec.source?.remoteIp ?? this.rec.source?.ip) : undefined;
      this.remoteFamily = ip === undefined ? 0 : parseIpInto(ip, this.remoteIp, true);
    }
    return this.remoteFamily;
  }

  destinationFamily(): Family {
    if (this.dstState === 0) {
      this.dstState = 1;
      const ip = this.rec.destination?.ip;
      this.dstFamily = ip === undefined ? 0 : parseIpInto(ip, this.dstIp, true);
    }
    return this.dstFamily;
  }

  /** A request header by name, case-insensitively; `host`/`:authority` read the request's host,
   * `:method` and `:path` the method and path, `:scheme` only a recorded `:scheme` header.
   * Returns null when the header was not sent, undefined when not recorded. */
  header(lowerName: string): string | null | undefined {
    const request = this.rec.request;
    if (lowerName === 'host' || lowerName === ':authority') return request?.host;
    if (lowerName === ':method') return this.method();
    if (lowerName === ':path') return this.pathHeader();
    // Envoy sets :scheme on every request (HTTP/1.1: from an absolute URL or x-forwarded-proto,
    // else the downstream connection's TLS); no log field carries it, so it is never "not sent".
    if (lowerName === ':scheme') return request?.headers?.[':scheme'] ?? undefined;
    // A name no request can carry (a policy's `request.headers[a][b]` names the header `a][b`).
    if (!isHeaderName(lowerName)) return null;
    const headers = request?.headers;
    if (headers) {
      const direct = headers[lowerName];
      if (direct !== undefined) return direct;
      for (const key in headers) {
        if (key.length === lowerName.length && key.toLowerCase() === lowerName) return headers[key]!;
      }
    }
    // (a log records only some headers: any other may have been sent)
    const recorded = request?.recordedHeaders;
    return recorded === undefined || recorded.includes(lowerName) ? null : undefined;
  }

  /**
   * `:path` as header matchers read it: Envoy normalizes the path part of the header in place
   * (`PathUtil::canonicalPath`) and keeps the query; the fragment is stripped. A path the proxy
   * rejects (400) is returned as sent, since no matcher runs on it.
   */
  private pathHeader(): string | undefined {
    const raw = this.rec.request?.path;
    if (raw === undefined) return undefined;
    const path = this.normalizedPath();
    if (path === undefined) return raw;
    const hash = raw.indexOf('#');
    const end = hash < 0 ? raw.length : hash;
    const query = raw.indexOf('?');
    return query < 0 || query > end ? path : path + raw.slice(query, end);
  }

  /** Drops the names pushed after `mark` (a result became definite). */
  truncate(mark: number): void {
    if (this.missing.length !== mark) this.missing.length = mark;
  }

  /**
   * A JWT claim by path as a list of string values (Envoy matches list claims element-wise, and
   * space-delimited claims are split); null when the token lacks the claim. Non-string values
   * match nothing (empty list).
   */
  claim(path: readonly string[]): string[] | null {
    const jwt = this.rec.request?.jwt;
    if (!jwt) return null;
    const top = path[0]!;
    let value: unknown;
    const claims = jwt.claims;
    if (claims && Object.prototype.hasOwnProperty.call(claims, top)) value = claims[top];
    else if (top === 'iss' && jwt.issuer !== undefined) value = jwt.issuer;
    else if (top === 'sub' && jwt.subject !== undefined) value = jwt.subject;
    else if (top === 'aud' && jwt.audiences !== undefined) value = jwt.audiences;
    else if (top === 'azp' && jwt.presenter !== undefined) value = jwt.presenter;
    // A canonical record is complete: a token without `claims` carries none beyond those named.
    else return null;
    for (let i = 1; i < path.length; i++) {
      if (value === null || typeof value !== 'object' || Array.isArray(value)) return null;
      const next = value as Record<string, unknown>;
      if (!Object.prototype.hasOwnProperty.call(next, path[i]!)) return null;
      value = next[path[i]!];
    }
    if (typeof value === 'string') {
      if (path.length === 1 && this.spaceDelimited?.has(top) && value.includes(' ')) return value.split(' ').filter((s) => s !== '');
      return [value];
    }
    if (Array.isArray(value)) return value.filter((v): v is string => typeof v === 'string');
    if (value === undefined || value === null) return null;
    return [];
  }
}

const headerNames = new Map<string, boolean>();

/**
 * Whether a request can carry a header of this (lower-case) name: an RFC 9110 token, or `:` and a
 * token for a pseudo-header. HTTP/1 and HTTP/2 codecs refuse any other name before authorization.
 */
export function isHeaderName(lowerName: string): boolean {
  let valid = headerNames.get(lowerName);
  if (valid === undefined) {
    valid = /^:?[!#$%&'*+\-.^_`|~0-9a-z]+$/.test(lowerName);
    if (headerNames.size < 1024) headerNames.set(lowerName, valid);
  }
  return valid;
}

/** Whether a header name has whitespace (the proxy answers 400 before authorization). */
export function hasWhitespace(s: string): boolean {
  for (let i = 0; i < s.length; i++) {
    const ch = s.charCodeAt(i);
    if (ch === 32 || ch === 9 || ch === 10 || ch === 13) return true;
  }
  return false;
}

/** Whether a method has lower-case letters (the proxy answers 400 before authorization). */
export function hasLowerCase(s: string): boolean {
  for (let i = 0; i < s.length; i++) {
    const ch = s.charCodeAt(i);
    if (ch >= 97 && ch <= 122) return true;
  }
  return false;
}

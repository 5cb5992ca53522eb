import type { AccessRecord } from '../accessRecord';
import type { LinePeek, ParsedLine } from '../readerTypes';
import { addressIp, hashKeyParts, httpProtocol, isGrpcUserAgent, isKeyMarker, normalizeTime } from './common';
import { LINKERD_DENIAL_DETAIL } from './denial';
import { fillLinkerdParts } from './identity';

/**
 * What both Linkerd access log formats have, turned into a record. Linkerd logs inbound HTTP
 * only, so every line is the server side, written by the destination's proxy; the destination
 * workload is the pod that wrote the line (the shipper's metadata), and the port is not logged.
 *
 * Decision (docs/access-records.md, "Linkerd"):
 * - 403: `denied`, detail `linkerd_policy_403`. Policy rejections are 403s; an application's own
 *   403 reads the same, which the docs point out.
 * - gRPC (User-Agent `grpc-*`): `unknown` for any other status. A gRPC request refused by policy
 *   is answered `200` with grpc-status 7 (PERMISSION_DENIED) in the trailers, which the log does
 *   not show (the proxy's own `Request denied` event does: linkerdProxyEvents.ts marks the line).
 * - 404 and 429: `unknown`. The proxy answers 404 when no HTTPRoute matches (before
 *   authorization) and 429 when a rate limit applies; the application may answer the same.
 * - no status (the response never completed): `unknown`.
 * - anything else: `allowed`.
 */
export interface LinkerdFields {
  clientAddr: string | undefined;
  /** The client identity, or undefined for `-` (no mTLS identity). */
  clientId: string | undefined;
  timestamp: string | undefined;
  method: string | undefined;
  uri: string | undefined;
  version: string | undefined;
  status: number | undefined;
  host: string | undefined;
  userAgent: string | undefined;
  traceId: string | undefined;
  /** The request headers the format records (`request.recordedHeaders`): a constant of the format. */
  recordedHeaders: readonly string[];
}

/** What the JSON format records of the request headers; the apache format records none. */
export const LINKERD_JSON_HEADERS: readonly string[] = ['user-agent'];
export const LINKERD_APACHE_HEADERS: readonly string[] = [];

/** The origin form (`/path?query`) of an absolute URI, and its authority. */
function splitUri(uri: string): { path: string; authority?: string } {
  let rest: number;
  if (uri.startsWith('http://')) rest = 7;
  else if (uri.startsWith('https://')) rest = 8;
  else return { path: uri };
  let end = rest;
  while (end < uri.length) {
    const c = uri.charCodeAt(end);
    if (c === 47 /* / */ || c === 63 /* ? */ || c === 35 /* # */) break;
    end++;
  }
  const authority = uri.slice(rest, end);
  let path = uri.slice(end);
  if (path.length === 0 || path.charCodeAt(0) === 63) path = `/${path}`;
  return authority.length > 0 ? { path, authority } : { path };
}

/** Parts of a Linkerd line key (peekLinkerdRecord). */
export const LINKERD_KEY_PARTS = 9;

/**
 * The fast path of `buildLinkerdRecord` (LineReader.peek): every field but the time and the trace
 * id, with the client address cut to its IP (the record keeps no more of it). `parts` is the
 * reader's scratch array of LINKERD_KEY_PARTS entries.
 */
export function peekLinkerdRecord(f: LinkerdFields, prefix: string, parts: string[]): LinePeek | undefined {
  // (values with a key separator go the full way: see hashKeyParts)
  if (isKeyMarker(f.clientId) || isKeyMarker(f.method) || isKeyMarker(f.uri) || isKeyMarker(f.version) || isKeyMarker(f.host) || isKeyMarker(f.userAgent)) return undefined;
  parts[0] = prefix;
  parts[1] = f.clientAddr === undefined ? '\u0000' : addressIp(f.clientAddr) ?? '\u0002';
  parts[2] = f.clientId ?? '\u0000';
  parts[3] = f.method ?? '\u0000';
  parts[4] = f.uri ?? '\u0000';
  parts[5] = f.version ?? '\u0000';
  parts[6] = f.status === undefined ? '\u0000' : String(f.status);
  parts[7] = f.host ?? '\u0000';
  parts[8] = f.userAgent ?? '\u0000';
  const hash = hashKeyParts(parts);
  if (hash < 0) return undefined;
  return { parts, hash, time: normalizeTime(f.timestamp), side: 'inbound', mesh: 'linkerd', requestId: f.traceId, method: f.method, host: f.host, path: f.uri };
}

export function buildLinkerdRecord(f: LinkerdFields): ParsedLine {
  const record: AccessRecord = {};
  const time = normalizeTime(f.timestamp);
  if (time !== undefined) record.time = time;
  record.mesh = 'linkerd';
  const grpc = isGrpcUserAgent(f.userAgent);
  record.protocol = grpc ? 'grpc' : httpProtocol(f.version);

  const source: NonNullable<AccessRecord['source']> = {};
  if (f.clientId === undefined) source.principal = null;
  else {
    source.principal = f.clientId;
    fillLinkerdParts(source, f.clientId);
  }
  if (f.clientAddr !== undefined) {
    const ip = addressIp(f.clientAddr);
    if (ip !== undefined) source.ip = ip;
  }
  record.source = source;

  const request: NonNullable<AccessRecord['request']> = {};
  if (f.method !== undefined) request.method = f.method;
  let authority: string | undefined;
  if (f.uri !== undefined) {
    const split = splitUri(f.uri);
    request.path = split.path;
    authority = split.authority;
  }
  const host = f.host ?? authority;
  if (host !== undefined) request.host = host;
  if (f.userAgent !== undefined) request.headers = { 'user-agent': f.userAgent };
  request.recordedHeaders = f.recordedHeaders;
  record.request = request;

  const status = f.status;
  const response: NonNullable<AccessRecord['response']> = {};
  let observed: AccessRecord['observed'];
  if (status === undefined) observed = 'unknown';
  else {
    response.status = status;
    if (status === 403) {
      observed = 'denied';
      response.details = LINKERD_DENIAL_DETAIL;
    } else if (grpc || status === 404 || status === 429) observed = 'unknown';
    else observed = 'allowed';
    record.response = response;
  }
  record.observed = observed;
  record.count = 1;
  const parsed: ParsedLine = { kind: 'record', record, side: 'inbound' };
  if (f.traceId !== undefined) parsed.requestId = f.traceId;
  return parsed;
}

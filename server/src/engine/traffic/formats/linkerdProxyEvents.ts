import type { AccessRecord } from '../accessRecord';
import type { LineResult, ParsedLine } from '../readerTypes';
import { SKIP, addressIp, skipWith } from './common';
import { isRecord, parseJsonOrUndefined } from '../../plainValues';
import { fillLinkerdParts } from './identity';

/**
 * Linkerd's own proxy log lines, which `kubectl logs` of the `linkerd-proxy` container mixes with
 * its access log. Most are skipped ("Linkerd proxy log line"), but the inbound policy's events
 * are evidence of calls (linkerd2-proxy `linkerd/app/inbound/src/policy/tcp.rs` and `http.rs`):
 *
 * - `Connection denied` (TCP; fields `server.group`, `server.kind`, `server.name`, `tls`, `client`):
 *   a TCP connection the policy refused. Linkerd writes no access log for TCP, so this event is
 *   the only line of that call: it becomes a record (`observed: denied`).
 * - `Request allowed` without `route.*` fields (TCP; `client.tls`, `client.ip`, `authz.*`): a
 *   connection let through only by an audit-mode authorization, which enforcement would refuse.
 *   It becomes a record too (`observed: allowed`, detail `linkerd_audit_allowed`).
 * - `Request denied`, and `Request allowed` with `route.*` fields (HTTP): the request also has
 *   its access log line when access logging is on, which carries far more (method, path,
 *   status) and is what the call is read from. These are skipped with their own reason, so that
 *   no request is counted twice, but the reader remembers them (`PendingHttpEvents`) and marks
 *   the next access log line of the same client: after `Request denied`, a 403 is the policy's
 *   (not the application's), and a 200 is a gRPC request refused with grpc-status 7, which the
 *   access log shows as 200 (`observed: denied`, detail `linkerd_grpc_permission_denied`); both
 *   get the server the event names as `response.deniedBy` (`server:<name>`, `default:<policy>`);
 *   after an audit `Request allowed`, the request was let through only by audit (detail
 *   `linkerd_audit_allowed`, `observed: allowed`).
 * - The same HTTP events from the proxy's admin server (`daemon:admin{listen.addr=0.0.0.0:4191}`
 *   span: Prometheus scrapes, the proxy's own probes), which has no access log: a record of their
 *   own (`protocol: http`, the listen port, detail `linkerd_admin_request_denied` or
 *   `linkerd_audit_allowed`; no method or path), marking no other line.
 *
 * Two layouts: plain (`[  4021.118340s]  INFO ThreadId(02) <spans>: <target>: <message> k=v ...`,
 * Debug values such as `tls=Some(Established { .. })` hold spaces inside brackets) and JSON
 * (`LINKERD2_PROXY_LOG_FORMAT=json`: tracing-subscriber's `fields` with `message`, `target`, and
 * the span list `spans`). Neither carries a wall-clock time (the proxy logs its uptime): the
 * record takes a shipper's or `kubectl logs --timestamps` time when there is one (pipeline.ts). The destination is
 * the pod that wrote the line (the shipper's metadata); the port is the `server{port=N}` span's.
 */

/** Detail of a TCP connection refused by Linkerd's inbound policy (`Connection denied`). */
export const LINKERD_CONNECTION_DENIED = 'linkerd_connection_denied';
/** Detail of a connection or request allowed only by an audit-mode authorization (`Request allowed`). */
export const LINKERD_AUDIT_ALLOWED = 'linkerd_audit_allowed';
/** Detail of a gRPC request the policy refused (a `Request denied` event, then a 200 access log line). */
export const LINKERD_GRPC_DENIED = 'linkerd_grpc_permission_denied';
/** Detail of a request to the proxy's admin server (`/metrics`, `/live`, `/ready` on 4191) that the policy refused. */
export const LINKERD_ADMIN_DENIED = 'linkerd_admin_request_denied';

const HTTP_EVENT = skipWith('Linkerd HTTP policy event (Request denied or audit Request allowed): it marks the request\'s access log line, which is the call (config.linkerd.io/access-log)');
const POLICY_CHANGE = skipWith('Linkerd policy event: an open connection closed after a policy change (not a new call)');

/** The plain layout's start: the uptime in brackets and the level. */
const PLAIN_START = /^\[\s*\d+(?:\.\d+)?s\]\s+(?:TRACE|DEBUG|INFO|WARN|ERROR)\s/;
/** A Rust module path of two or more segments (tested on one token: no backtracking across the line). */
const MODULE_PATH = /^[A-Za-z_][A-Za-z0-9_]*(?:::[A-Za-z0-9_]+)+$/;

export interface LinkerdProxyEvent {
  message: string;
  target: string;
  fields: Record<string, string>;
  /** The port of the inbound `server` span, or of the admin server's `listen.addr`, when the line shows it. */
  port?: number;
  /** Written by the proxy's admin server (`admin{listen.addr=…}` span), which has no access log. */
  admin?: true;
}

/** Whether a line has the plain proxy log layout (uptime and level). */
export function isPlainProxyLine(line: string): boolean {
  return PLAIN_START.test(line);
}

/** The event of a plain proxy log line, or undefined when the line is not one. */
export function parsePlainProxyEvent(line: string): LinkerdProxyEvent | undefined {
  const start = PLAIN_START.exec(line);
  if (start === null) return undefined;
  let rest = line.slice(start[0].length).trimStart();
  if (rest.startsWith('ThreadId(')) rest = rest.slice(rest.indexOf(')') + 1).trimStart();
  const target = findTarget(rest);
  if (target === undefined) return undefined;
  const spans = rest.slice(0, target.start);
  const body = rest.slice(target.end + 2);
  const { message, fields } = splitMessage(body);
  const admin = adminSpan(spans);
  const port = admin ? admin.port : serverSpanPort(spans);
  return { message, target: rest.slice(target.start, target.end), fields, ...(port !== undefined ? { port } : {}), ...(admin ? { admin: true as const } : {}) };
}

/**
 * Where the event's target (`linkerd_app_inbound::policy::http`) is: the first token before a
 * `: ` that is a module path. One pass over the line: each `: ` looks back over the token before
 * it only, which ends at the previous space or bracket.
 */
function findTarget(rest: string): { start: number; end: number } | undefined {
  let from = 0;
  for (;;) {
    const end = rest.indexOf(': ', from);
    if (end < 0) return undefined;
    let start = end;
    while (start > 0 && isPathChar(rest.charCodeAt(start - 1))) start--;
    // (a span name before it, `inbound:linkerd_app::x: `, ends at a lone colon)
    for (let i = end - 1; i > start; i--) {
      if (rest.charCodeAt(i) === 58 && rest.charCodeAt(i - 1) !== 58 && rest.charCodeAt(i + 1) !== 58) {
        start = i + 1;
        break;
      }
    }
    if (MODULE_PATH.test(rest.slice(start, end))) return { start, end };
    from = end + 2;
  }
}

/** The bodies of a plain line's `<name>{…}` spans in its span context, each at the start or after `:`, a space or a tab (linear: each span is looked at once). */
function* spanBodies(spans: string, name: string): Generator<string> {
  const open = `${name}{`;
  let from = 0;
  for (;;) {
    const at = spans.indexOf(open, from);
    if (at < 0) return;
    const close = spans.indexOf('}', at);
    if (close < 0) return;
    const before = at === 0 ? 32 : spans.charCodeAt(at - 1);
    if (before === 58 /* : */ || before === 32 || before === 9) yield spans.slice(at + open.length, close);
    from = close + 1;
  }
}

/** The port of the `server{port=N}` span in a plain line's span context. */
function serverSpanPort(spans: string): number | undefined {
  for (const body of spanBodies(spans, 'server')) {
    const port = /(?:^|[\s,])port=(\d+)(?:$|[\s,])/.exec(body);
    if (port === null) continue;
    const n = Number(port[1]);
    return n > 0 && n < 65536 ? n : undefined;
  }
  return undefined;
}

/** The `admin{listen.addr=…}` span of a plain line (`daemon:admin{…}`), with the port it listens on; undefined without one. */
function adminSpan(spans: string): { port: number | undefined } | undefined {
  for (const body of spanBodies(spans, 'admin')) {
    const addr = /(?:^|[\s,])listen\.addr=(\S+?)(?:$|[\s,])/.exec(body);
    return { port: addr === null ? undefined : listenPort(addr[1]!) };
  }
  return undefined;
}

/** The port of an `ip:port` or `[ipv6]:port` listen address. */
function listenPort(address: string): number | undefined {
  const n = Number(/:(\d+)$/.exec(address)?.[1]);
  return Number.isInteger(n) && n > 0 && n < 65536 ? n : undefined;
}

function isPathChar(c: number): boolean {
  return c === 58 /* : */ || c === 95 /* _ */ || (c >= 48 && c <= 57) || (c >= 65 && c <= 90) || (c >= 97 && c <= 122);
}

/** The event of a JSON proxy log line (already parsed), or undefined when it is not one. */
export function jsonProxyEvent(value: unknown): LinkerdProxyEvent | undefined {
  if (!isRecord(value)) return undefined;
  const rawFields = value['fields'];
  if (!isRecord(rawFields) || typeof rawFields['message'] !== 'string') return undefined;
  const fields: Record<string, string> = {};
  for (const [key, v] of Object.entries(rawFields)) if (key !== 'message' && (typeof v === 'string' || typeof v === 'number' || typeof v === 'boolean')) fields[key] = String(v);
  const event: LinkerdProxyEvent = { message: rawFields['message'], target: typeof value['target'] === 'string' ? value['target'] : '', fields };
  const spans = value['spans'];
  if (Array.isArray(spans)) {
    for (const span of spans) {
      if (!isRecord(span)) continue;
      if (span['name'] === 'admin') {
        event.admin = true;
        const port = typeof span['listen.addr'] === 'string' ? listenPort(span['listen.addr']) : undefined;
        if (port !== undefined) event.port = port;
        continue;
      }
      if (span['name'] !== 'server') continue;
      const port = Number(span['port']);
      if (Number.isInteger(port) && port > 0 && port < 65536) event.port = port;
    }
  }
  return event;
}

/**
 * What a Linkerd proxy log line gives (a record, or a skip with its reason), or undefined when
 * the line is not a proxy log line at all.
 */
export function readLinkerdProxyLine(line: string, pending?: PendingHttpEvents): LineResult | undefined {
  const text = line.trim();
  if (text.charCodeAt(0) === 123 /* { */) {
    const value = parseJsonOrUndefined(text);
    if (!isRecord(value) || (value['fields'] === undefined && value['level'] === undefined)) return undefined;
    const event = jsonProxyEvent(value);
    return event === undefined ? SKIP.linkerdProxyLog : eventResult(event, pending, text);
  }
  if (!PLAIN_START.test(text)) return undefined;
  const event = parsePlainProxyEvent(text);
  return event === undefined ? SKIP.linkerdProxyLog : eventResult(event, pending, text);
}

/** A record for the events that are calls of their own; a skip for the others (HTTP events are remembered in `pending`). */
export function eventResult(event: LinkerdProxyEvent, pending?: PendingHttpEvents, line = ''): LineResult {
  const f = event.fields;
  const isHttp = f['route.name'] !== undefined || f['route.kind'] !== undefined || event.target.endsWith('::http');
  // The admin server's requests (Prometheus scrapes, the proxy's own probes) get no access log
  // line to mark: the event is the whole call, and must not mark the client's next request.
  if (event.admin && (event.message === 'Request denied' || event.message === 'Request allowed')) {
    return event.message === 'Request denied'
      ? callRecord(event, 'http', f['client.tls'], f['client.ip'], 'denied', LINKERD_ADMIN_DENIED)
      : callRecord(event, 'http', f['client.tls'], f['client.ip'], 'allowed', LINKERD_AUDIT_ALLOWED);
  }
  switch (event.message) {
    case 'Connection denied':
      return callRecord(event, 'tcp', f['tls'], f['client'], 'denied', LINKERD_CONNECTION_DENIED);
    case 'Request allowed':
      if (!isHttp) return callRecord(event, 'tcp', f['client.tls'], f['client.ip'], 'allowed', LINKERD_AUDIT_ALLOWED);
      pending?.remember(f['client.ip'], 'audit', line, undefined);
      return HTTP_EVENT;
    case 'Request denied':
      pending?.remember(f['client.ip'], 'denied', line, loggedServer(f));
      return HTTP_EVENT;
    case 'Connection terminated due to policy change':
      return POLICY_CHANGE;
    default:
      return SKIP.linkerdProxyLog;
  }
}

/**
 * The server the proxy names in a policy event, as `response.deniedBy` keeps it for Linkerd:
 * `<server.kind>:<server.name>`, e.g. `server:voting-grpc` (a Server resource) or
 * `default:all-authenticated` (a default policy).
 */
function loggedServer(fields: Record<string, string>): string | undefined {
  const kind = fields['server.kind'];
  const name = fields['server.name'];
  return kind && name ? `${kind}:${name}` : undefined;
}

function callRecord(event: LinkerdProxyEvent, protocol: 'tcp' | 'http', tls: string | undefined, client: string | undefined, observed: 'allowed' | 'denied', details: string): ParsedLine {
  const source: NonNullable<AccessRecord['source']> = {};
  const identity = tlsIdentity(tls);
  if (identity === undefined) source.principalUnknown = true;
  else if (identity === null) source.principal = null;
  else {
    source.principal = identity;
    fillLinkerdParts(source, identity);
  }
  const ip = client === undefined ? undefined : addressIp(client);
  if (ip !== undefined) source.ip = ip;
  const record: AccessRecord = { mesh: 'linkerd', protocol, source };
  if (event.port !== undefined) record.destination = { port: event.port };
  record.response = { details };
  const server = loggedServer(event.fields);
  if (observed === 'denied' && server !== undefined) record.response.deniedBy = server;
  record.observed = observed;
  record.count = 1;
  return { kind: 'record', record, side: 'inbound' };
}

/**
 * The client's mesh identity from the Debug form of the proxy's server TLS state: the identity
 * when TLS was terminated with a client certificate, null when the connection carried none
 * (plaintext `None(..)`, TLS without a client id, TLS passed through), undefined when the
 * value is absent or unreadable.
 */
export function tlsIdentity(tls: string | undefined): string | null | undefined {
  if (tls === undefined) return undefined;
  const text = tls.trim();
  if (text === 'None' || text.startsWith('None(') || text.startsWith('Some(Passthru')) return null;
  if (!text.startsWith('Some(Established')) return undefined;
  const at = text.indexOf('client_id:');
  if (at < 0) return undefined;
  let rest = text.slice(at + 'client_id:'.length).trimStart();
  if (rest.startsWith('None')) return null;
  if (!rest.startsWith('Some(')) return undefined;
  rest = rest.slice(5);
  // ClientId(..), Name(..) and quotes wrap the name, depending on the proxy's version
  for (;;) {
    const wrapper = /^(?:[A-Za-z]+\(|")/.exec(rest);
    if (wrapper === null) break;
    rest = rest.slice(wrapper[0].length);
  }
  const name = /^[A-Za-z0-9][A-Za-z0-9.-]*/.exec(rest);
  return name === null ? undefined : name[0];
}

/** A message and its `key=value` fields; a value ends at a space outside brackets and quotes. */
function splitMessage(body: string): { message: string; fields: Record<string, string> } {
  const fields: Record<string, string> = {};
  const firstField = /(?:^|\s)[A-Za-z_][A-Za-z0-9_.]*=/.exec(body);
  const messageEnd = firstField === null ? body.length : firstField.index;
  const message = body.slice(0, messageEnd).trim();
  let i = messageEnd;
  while (i < body.length) {
    while (i < body.length && body.charCodeAt(i) === 32) i++;
    const eq = body.indexOf('=', i);
    if (eq < 0) break;
    const key = body.slice(i, eq);
    let j = eq + 1;
    let depth = 0;
    let quoted = false;
    for (; j < body.length; j++) {
      const c = body[j]!;
      if (quoted) {
        if (c === '\\') j++;
        else if (c === '"') quoted = false;
      } else if (c === '"') quoted = true;
      else if (c === '(' || c === '{' || c === '[') depth++;
      else if (c === ')' || c === '}' || c === ']') depth = Math.max(0, depth - 1);
      else if (c === ' ' && depth === 0) break;
    }
    let value = body.slice(eq + 1, j);
    if (value.length >= 2 && value.startsWith('"') && value.endsWith('"')) value = value.slice(1, -1);
    if (/^[A-Za-z_][A-Za-z0-9_.]*$/.test(key)) fields[key] = value;
    i = j;
  }
  return { message, fields };
}


/** How many access log lines an HTTP event waits for its request's line. */
const EVENT_WINDOW_LINES = 10_000;
/** At most this many events wait at once (beyond, those of the longest-known clients go first). */
const MAX_PENDING_EVENTS = 10_000;

interface PendingEvent {
  outcome: 'denied' | 'audit';
  /** For a denial: the server the event names (`response.deniedBy`). */
  server: string | undefined;
  /** The access log line count when the event was read. */
  at: number;
}

/**
 * HTTP policy events waiting for the access log line of their request, per client IP, oldest
 * first. The proxy writes the event when it authorizes the request and the access log line when
 * the response completes, so the line comes after its event; lines of one client are taken in
 * order. An event is dropped when it is matched, when EVENT_WINDOW_LINES access log lines went by
 * without its request's line (access logging is off, or the line went elsewhere), or when too many
 * wait. One per Linkerd reader (a reader reads one file).
 */
export class PendingHttpEvents {
  private readonly byClient = new Map<string, PendingEvent[]>();
  private waiting = 0;
  private accessLines = 0;
  private lastLine = '';

  /** Whether any event waits (the readers' fast path asks first). */
  get size(): number {
    return this.waiting;
  }

  remember(clientIp: string | undefined, outcome: PendingEvent['outcome'], line: string, server: string | undefined): void {
    if (clientIp === undefined || clientIp === '') return;
    // (a line the shipper reader reads again with the file's own reader is not a second event)
    if (line !== '' && line === this.lastLine) return;
    this.lastLine = line;
    if (this.waiting >= MAX_PENDING_EVENTS) this.dropFirst();
    const ip = addressIp(clientIp) ?? clientIp;
    let list = this.byClient.get(ip);
    if (list === undefined) this.byClient.set(ip, (list = []));
    list.push({ outcome, server, at: this.accessLines });
    this.waiting++;
  }

  /** Counts an access log line that no event waits for (read by the fast path). */
  pass(): void {
    this.accessLines++;
    this.lastLine = '';
    if (this.accessLines % 1024 === 0) this.dropOlderThan(this.accessLines - EVENT_WINDOW_LINES);
  }

  /** Whether an event waits for a line from this client address (`ip:port` or an IP). */
  waitsFor(clientAddr: string | undefined): boolean {
    if (this.waiting === 0 || clientAddr === undefined) return false;
    const ip = addressIp(clientAddr);
    return ip !== undefined && this.byClient.has(ip);
  }

  /**
   * Counts an access log line and marks its record with the first waiting event of its client
   * that it can be the request of: a denial's line is a 403 (HTTP) or an HTTP/2 200 (gRPC, grpc-status 7);
   * an audit's line is anything but a 403.
   */
  mark(parsed: ParsedLine): void {
    this.pass();
    if (this.waiting === 0) return;
    const record = parsed.record;
    const ip = record.source?.ip;
    const list = ip === undefined ? undefined : this.byClient.get(ip);
    if (list === undefined) return;
    const status = record.response?.status;
    // (gRPC runs over HTTP/2 only: an HTTP/1 200 cannot be a refused gRPC request)
    const maybeGrpc = status === 200 && record.protocol !== 'http';
    const index = list.findIndex((e) => (e.outcome === 'denied' ? status === 403 || maybeGrpc : status !== 403));
    if (index < 0) return;
    const event = list[index]!;
    list.splice(index, 1);
    this.waiting--;
    if (list.length === 0) this.byClient.delete(ip!);
    const response = (record.response ??= {});
    if (event.outcome === 'audit') {
      response.details = LINKERD_AUDIT_ALLOWED;
      record.observed = 'allowed';
      return;
    }
    if (status === 200) {
      record.protocol = 'grpc';
      response.details = LINKERD_GRPC_DENIED;
      record.observed = 'denied';
    }
    if (event.server !== undefined) response.deniedBy = event.server;
  }

  /** Drops the events read before access log line `before`. */
  private dropOlderThan(before: number): void {
    for (const [ip, list] of this.byClient) {
      let old = 0;
      while (old < list.length && list[old]!.at < before) old++;
      if (old > 0) list.splice(0, old);
      if (list.length === 0) this.byClient.delete(ip);
      this.waiting -= old;
    }
  }

  /** Drops the first waiting event of the longest-known client. */
  private dropFirst(): void {
    for (const [ip, list] of this.byClient) {
      list.shift();
      if (list.length === 0) this.byClient.delete(ip);
      this.waiting--;
      return;
    }
  }
}

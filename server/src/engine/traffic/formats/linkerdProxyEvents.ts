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
 *   no request is counted twice.
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
/** Detail of a TCP connection allowed only by an audit-mode authorization (`Request allowed`). */
export const LINKERD_AUDIT_ALLOWED = 'linkerd_audit_allowed';

const HTTP_EVENT = skipWith('Linkerd HTTP policy event (Request denied or audit Request allowed): the request is read from its access log line (config.linkerd.io/access-log)');
const POLICY_CHANGE = skipWith('Linkerd policy event: an open connection closed after a policy change (not a new call)');

/** The plain layout's start: the uptime in brackets and the level. */
const PLAIN_START = /^\[\s*\d+(?:\.\d+)?s\]\s+(?:TRACE|DEBUG|INFO|WARN|ERROR)\s/;
/** `<target>: ` where the target is a Rust module path (two or more segments). */
const TARGET = /(?:^|[\s:])([A-Za-z_][A-Za-z0-9_]*(?:::[A-Za-z0-9_]+)+): /;
const SERVER_PORT_SPAN = /(?:^|[:\s])server\{[^}]*\bport=(\d+)/;

export interface LinkerdProxyEvent {
  message: string;
  target: string;
  fields: Record<string, string>;
  /** The port of the inbound `server` span, when the line shows it. */
  port?: number;
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
  const target = TARGET.exec(rest);
  if (target === null) return undefined;
  const spans = rest.slice(0, target.index);
  const body = rest.slice(target.index + target[0].length);
  const { message, fields } = splitMessage(body);
  const port = SERVER_PORT_SPAN.exec(spans);
  return { message, target: target[1]!, fields, ...(port ? { port: Number(port[1]) } : {}) };
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
      if (!isRecord(span) || span['name'] !== 'server') continue;
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
export function readLinkerdProxyLine(line: string): LineResult | undefined {
  const text = line.trim();
  if (text.charCodeAt(0) === 123 /* { */) {
    const value = parseJsonOrUndefined(text);
    if (!isRecord(value) || (value['fields'] === undefined && value['level'] === undefined)) return undefined;
    const event = jsonProxyEvent(value);
    return event === undefined ? SKIP.linkerdProxyLog : eventResult(event);
  }
  if (!PLAIN_START.test(text)) return undefined;
  const event = parsePlainProxyEvent(text);
  return event === undefined ? SKIP.linkerdProxyLog : eventResult(event);
}

/** A record for the events that are calls of their own; a skip for the others. */
export function eventResult(event: LinkerdProxyEvent): LineResult {
  const f = event.fields;
  const isHttp = f['route.name'] !== undefined || f['route.kind'] !== undefined || event.target.endsWith('::http');
  switch (event.message) {
    case 'Connection denied':
      return tcpRecord(event, f['tls'], f['client'], 'denied', LINKERD_CONNECTION_DENIED);
    case 'Request allowed':
      return isHttp ? HTTP_EVENT : tcpRecord(event, f['client.tls'], f['client.ip'], 'allowed', LINKERD_AUDIT_ALLOWED);
    case 'Request denied':
      return HTTP_EVENT;
    case 'Connection terminated due to policy change':
      return POLICY_CHANGE;
    default:
      return SKIP.linkerdProxyLog;
  }
}

function tcpRecord(event: LinkerdProxyEvent, tls: string | undefined, client: string | undefined, observed: 'allowed' | 'denied', details: string): ParsedLine {
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
  const record: AccessRecord = { mesh: 'linkerd', protocol: 'tcp', source };
  if (event.port !== undefined) record.destination = { port: event.port };
  record.response = { details };
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


import type { AccessRecord } from '../accessRecord';
import { workloadNameFromPod } from '../ingest/identity';
import type { LineReader, LineResult } from '../readerTypes';
import { addressIp, addressPort, normalizeTime, skipWith } from './common';
import { DENIED_BY_NO_ALLOW } from './denial';
import { fillIstioParts, istioPrincipal } from './identity';

/**
 * Istio ambient's ztunnel access events: one line per connection, `<time> <level> access
 * <message> key=value ...` (tab-separated; runs of spaces read the same), or the same fields as
 * one JSON object (`--log-format json`: `time`, `level`, `scope`, `message`, then the dotted keys).
 *
 * - `connection complete` (and `connection failed`, an early denial with addresses only) are
 *   calls; `connection opened` is logged again when the connection completes, and other scopes
 *   are not access events: both skipped.
 * - Only the inbound side (the destination's ztunnel, which enforces L4 policy) becomes a record;
 *   the outbound side repeats the same connection from the client's node and is skipped.
 * - `src.identity`/`dst.identity` are SPIFFE URIs, present only over mTLS: no `src.identity` on
 *   a completed connection is a plaintext caller; a failed one says nothing of the caller.
 * - `src.workload`/`dst.workload` name pods; the workload is the pod's controller by name.
 * - The destination port is `dst.hbone_addr`'s (the real target); `dst.addr` is the HBONE
 *   tunnel (port 15008), whose port is not the service's.
 * - `error` with `policy rejection` (or `policy change`: an open connection a policy update no
 *   longer allows) is a denial (its text kept in `response.details`, the policy it names in
 *   `response.deniedBy`); any other error says nothing of the policy (observed unknown).
 * Lines are tagged side `unknown`: the shipper's pod is ztunnel itself, never a party to the call.
 */
export class ZtunnelReader implements LineReader {
  readonly format = 'ztunnel' as const;

  read(line: string): LineResult {
    const event = parseEvent(line);
    if (typeof event === 'string') return skipWith(event);
    if (event.scope !== 'access') return skipWith('ztunnel log line, not an access event');
    const message = event.message;
    if (message === 'connection opened') return skipWith('ztunnel connection opened (logged again when it completes)');
    if (message !== 'connection complete' && message !== 'connection failed') return skipWith('ztunnel access event without a connection outcome');
    const f = event.fields;
    if (f['direction'] === 'outbound') return skipWith('ztunnel outbound side (the destination\'s inbound line records the connection)');
    // ztunnel writes the destination of every connection event; without one the line was cut short
    if (!f['dst.addr'] && !f['dst.hbone_addr'] && !f['dst.workload'] && !f['dst.service']) return skipWith('ztunnel access event without a destination (truncated?)');
    const record = recordOf(event.time, message, f);
    // No Service named: the client addressed the pod (ambient decides the waypoint by that).
    if (record.destination?.service === undefined) return { kind: 'record', record, side: 'unknown', addressedToPod: true };
    return { kind: 'record', record, side: 'unknown' };
  }
}

export function createZtunnelReader(): ZtunnelReader {
  return new ZtunnelReader();
}

interface ZtunnelEvent {
  time: string | undefined;
  scope: string | undefined;
  message: string | undefined;
  fields: Record<string, string>;
}

/** ztunnel's AuthorizationPolicy denials: at connection time (`connection closed due to policy
 * rejection: ...`), or of an open connection a policy update no longer allows (`... due to policy change`). */
const POLICY_DENIALS = ['policy rejection', 'policy change'];
/**
 * What a policy rejection names (ztunnel src/proxy.rs, AuthorizationRejectionError): a DENY policy
 * that matched (`explicitly denied by: <namespace>/<name>`, src/state.rs), or no ALLOW policy that
 * matched (`allow policies exist, but none allowed`).
 */
const EXPLICITLY_DENIED = /policy rejection: explicitly denied by: ([^/\s]*\/\S+)$/;
const NONE_ALLOWED = 'policy rejection: allow policies exist, but none allowed';
const HBONE_PORT = 15008;

function recordOf(time: string | undefined, message: string, f: Record<string, string>): AccessRecord {
  const record: AccessRecord = { mesh: 'istio', protocol: 'tcp' };
  const when = normalizeTime(time);
  if (when) record.time = when;
  const source: NonNullable<AccessRecord['source']> = {};
  const srcIdentity = f['src.identity'];
  if (srcIdentity) {
    source.principal = istioPrincipal(srcIdentity);
    fillIstioParts(source, source.principal);
  } else if (message === 'connection complete') {
    source.principal = null;
  } else {
    source.principalUnknown = true;
  }
  if (f['src.namespace']) source.namespace = f['src.namespace'];
  if (f['src.workload']) source.workload = workloadNameFromPod(f['src.workload']);
  const srcIp = f['src.addr'] ? addressIp(f['src.addr']) : undefined;
  if (srcIp) source.ip = srcIp;
  record.source = source;

  const destination: NonNullable<AccessRecord['destination']> = {};
  if (f['dst.namespace']) destination.namespace = f['dst.namespace'];
  if (f['dst.workload']) destination.workload = workloadNameFromPod(f['dst.workload']);
  if (f['dst.service']) destination.service = f['dst.service'];
  const dstIdentity = f['dst.identity'];
  if (dstIdentity) {
    const parts: { namespace?: string; serviceAccount?: string } = {};
    fillIstioParts(parts, istioPrincipal(dstIdentity));
    if (parts.serviceAccount) destination.serviceAccount = parts.serviceAccount;
    if (parts.namespace) destination.namespace ??= parts.namespace;
  }
  fillTarget(destination, f['dst.hbone_addr'], f['dst.addr']);
  record.destination = destination;

  const error = f['error'];
  if (error !== undefined) {
    record.response = { details: error };
    const deniedBy = error.endsWith(NONE_ALLOWED) ? DENIED_BY_NO_ALLOW : EXPLICITLY_DENIED.exec(error)?.[1];
    if (deniedBy !== undefined) record.response.deniedBy = deniedBy;
    record.observed = POLICY_DENIALS.some((marker) => error.includes(marker)) ? 'denied' : 'unknown';
  } else {
    record.observed = message === 'connection complete' ? 'allowed' : 'unknown';
  }
  return record;
}

/**
 * The destination's address and port. `dst.hbone_addr` is the real target: `ip:port`, or
 * `<service host>:<service port>` when the client tunneled to a service by name (through an
 * east-west gateway), whose port is the service's, not the pod's. `dst.addr` is then the pod,
 * at the tunnel's port.
 */
function fillTarget(destination: NonNullable<AccessRecord['destination']>, hbone: string | undefined, addr: string | undefined): void {
  const hboneHost = hbone === undefined ? undefined : hostOf(hbone);
  if (hbone !== undefined && hboneHost !== undefined && isIpLiteral(hboneHost)) {
    destination.ip = addressIp(hbone)!;
    const port = addressPort(hbone);
    if (port !== undefined) destination.port = port;
    return;
  }
  if (hboneHost !== undefined && hboneHost.length > 0) destination.service ??= hboneHost;
  const ip = addr ? addressIp(addr) : undefined;
  if (ip) destination.ip = ip;
  const port = addr ? addressPort(addr) : undefined;
  if (port !== undefined && port !== HBONE_PORT && hbone === undefined) destination.port = port;
}

/** The host of `host:port` or `[v6]:port`. */
function hostOf(address: string): string | undefined {
  if (address.startsWith('[')) {
    const close = address.indexOf(']');
    return close > 0 ? address.slice(0, close + 1) : undefined;
  }
  const colon = address.lastIndexOf(':');
  return colon < 0 ? address : address.slice(0, colon);
}

function isIpLiteral(host: string): boolean {
  return host.startsWith('[') || /^\d{1,3}(?:\.\d{1,3}){3}$/.test(host);
}

/** A ztunnel text or JSON log line, or why it is not one. */
function parseEvent(line: string): ZtunnelEvent | string {
  const text = line.trim();
  if (text.length === 0) return 'blank line';
  if (text.charCodeAt(0) === 123 /* { */) return parseJsonEvent(text);
  const head = /^(\S+)\s+(\S+)\s+(\S+)\s+/.exec(text);
  if (!head) return 'not a ztunnel log line';
  const time = head[1]!;
  const scope = head[3]!;
  let rest = text.slice(head[0].length);
  // the message runs to the first key=value (tab-separated in the raw log)
  const firstKey = rest.search(/(?:^|\s)[a-z_][a-z0-9_.]*=/);
  const message = (firstKey < 0 ? rest : rest.slice(0, firstKey)).trim();
  rest = firstKey < 0 ? '' : rest.slice(firstKey);
  const fields = parseFields(rest);
  if (typeof fields === 'string') return fields;
  return { time, scope, message, fields };
}

/** `key=value` pairs: values bare, or double-quoted with backslash escapes. */
function parseFields(text: string): Record<string, string> | string {
  const fields: Record<string, string> = {};
  let i = 0;
  const n = text.length;
  while (i < n) {
    while (i < n && (text[i] === ' ' || text[i] === '\t')) i++;
    if (i >= n) break;
    const eq = text.indexOf('=', i);
    if (eq < 0) return 'not a ztunnel key=value field';
    const key = text.slice(i, eq);
    if (!/^[a-z_][a-z0-9_.]*$/.test(key)) return 'not a ztunnel key=value field';
    i = eq + 1;
    if (text[i] === '"') {
      const quoted = readQuoted(text, i + 1);
      if (quoted === undefined) return 'unterminated quoted value';
      fields[key] = quoted.value;
      i = quoted.end;
    } else {
      let end = i;
      while (end < n && text[end] !== ' ' && text[end] !== '\t') end++;
      fields[key] = text.slice(i, end);
      i = end;
    }
  }
  return fields;
}

/** Escapes of Rust's `{:?}` for strings, which ztunnel's text format writes values with. */
const RUST_ESCAPES: Record<string, string> = { n: '\n', t: '\t', r: '\r', '0': '\0' };
const RUST_UNICODE_ESCAPE = /^u\{([0-9a-fA-F]{1,6})\}/;

/** The character of the escape after a backslash at `start`, and the escape's length. */
function unescapeAt(text: string, start: number): [string, number] {
  const unicode = RUST_UNICODE_ESCAPE.exec(text.slice(start, start + 9));
  if (unicode !== null) {
    const codePoint = Number.parseInt(unicode[1]!, 16);
    if (codePoint <= 0x10ffff) return [String.fromCodePoint(codePoint), unicode[0].length];
  }
  const c = text[start]!;
  return [RUST_ESCAPES[c] ?? c, 1];
}

/** The Debug-quoted string starting after its opening quote at `start`, and the index after its closing quote. */
function readQuoted(text: string, start: number): { value: string; end: number } | undefined {
  let value = '';
  let i = start;
  while (i < text.length) {
    const c = text[i]!;
    if (c === '"') return { value, end: i + 1 };
    if (c === '\\' && i + 1 < text.length) {
      const [char, length] = unescapeAt(text, i + 1);
      value += char;
      i += 1 + length;
    } else {
      value += c;
      i++;
    }
  }
  return undefined;
}

function parseJsonEvent(text: string): ZtunnelEvent | string {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    return 'not JSON';
  }
  if (value === null || typeof value !== 'object' || Array.isArray(value)) return 'not a JSON object';
  const obj = value as Record<string, unknown>;
  const fields: Record<string, string> = {};
  for (const [key, v] of Object.entries(obj)) if (typeof v === 'string' || typeof v === 'number') fields[key] = String(v);
  const str = (key: string): string | undefined => (typeof obj[key] === 'string' ? (obj[key] as string) : undefined);
  return { time: str('time') ?? str('timestamp'), scope: str('scope') ?? str('target'), message: str('message') ?? str('msg'), fields };
}

import type { LinePeek, LineReader, LineResult, ParsedLine } from '../readerTypes';
import { SKIP, isBlank, newKeyPrefix, parseStatus } from './common';
import { FlatJsonScanner, SCAN_NOT_OBJECT, SCAN_OK } from './jsonScan';
import { PendingHttpEvents, readLinkerdProxyLine } from './linkerdProxyEvents';
import { buildLinkerdRecord, LINKERD_JSON_HEADERS, LINKERD_KEY_PARTS, peekLinkerdRecord, type LinkerdFields } from './linkerdCommon';
import { metadataFromKubernetes } from './shipper';

/**
 * Linkerd's `json` access log (`config.linkerd.io/access-log: json`): one flat object per line,
 * keys `client.addr, client.id, host, method, processing_ns, request_bytes, response_bytes,
 * status, timestamp, total_ns, trace_id, uri, user_agent, version`. `status` is a number, the
 * rest strings; `""` is a missing header and `"-"` a client without identity. `trace_id` (the
 * first of x-b3-traceid, x-request-id, x-amzn-trace-id) becomes the request id.
 * Linkerd's own proxy log lines (`proxy-log-format: json`: `level`, `fields`, `target`; or
 * plain) are read by linkerdProxyEvents.ts: its TCP policy events are calls, the other lines are
 * skipped with their reasons.
 */
const K = {
  clientAddr: 0,
  clientId: 1,
  host: 2,
  method: 3,
  status: 4,
  timestamp: 5,
  traceId: 6,
  uri: 7,
  userAgent: 8,
  version: 9,
  kubernetes: 10,
  level: 11,
  fields: 12,
} as const;

const TABLE = new Map<string, number>([
  ['client.addr', K.clientAddr],
  ['client.id', K.clientId],
  ['host', K.host],
  ['method', K.method],
  ['status', K.status],
  ['timestamp', K.timestamp],
  ['trace_id', K.traceId],
  ['uri', K.uri],
  ['user_agent', K.userAgent],
  ['version', K.version],
  ['kubernetes', K.kubernetes],
  ['level', K.level],
  ['fields', K.fields],
]);

export class LinkerdJsonReader implements LineReader {
  readonly format = 'linkerd-json' as const;
  private readonly scanner = new FlatJsonScanner(TABLE, 13);
  private readonly keyPrefix = newKeyPrefix();
  private readonly keyParts = new Array<string>(LINKERD_KEY_PARTS).fill('');
  /** The fields of the last peeked line. */
  private peeked: LinkerdFields | undefined;
  /** The proxy's HTTP policy events waiting for their requests' lines. */
  private readonly pending = new PendingHttpEvents();

  peek(line: string): LinePeek | undefined {
    // escaped strings are decoded by the full read
    if (line.indexOf('\\') >= 0) return undefined;
    const s = this.scanner;
    if (s.scan(line) !== SCAN_OK || s.seen[K.kubernetes] === 1 || this.skipReason() !== undefined) return undefined;
    const fields = this.fields();
    if (this.pending.waitsFor(fields.clientAddr)) return undefined;
    this.peeked = fields;
    const peeked = peekLinkerdRecord(fields, this.keyPrefix, this.keyParts);
    // (a line the fast path declines is read, which counts it)
    if (peeked !== undefined) this.pending.pass();
    return peeked;
  }

  readAgain(line: string): LineResult {
    // (no event waited for the line's client when it was peeked: see peek)
    return this.scanner.scan(line) === SCAN_OK && this.skipReason() === undefined ? buildLinkerdRecord(this.fields()) : this.read(line);
  }

  readPeeked(): ParsedLine {
    // (a peeked line has no shipper metadata: peek sent it the full way)
    return buildLinkerdRecord(this.peeked!);
  }

  /** Why the scanned line is not an access log line, or undefined when it is one. */
  private skipReason(): LineResult | undefined {
    const seen = this.scanner.seen;
    if (!seen[K.clientAddr] && !seen[K.clientId]) {
      return seen[K.fields] || seen[K.level] ? SKIP.linkerdProxyLog : SKIP.noFields;
    }
    if (!seen[K.method] && !seen[K.uri] && !seen[K.status]) return SKIP.noFields;
    return undefined;
  }

  private fields(): LinkerdFields {
    const v = this.scanner.values;
    return {
      clientAddr: v[K.clientAddr],
      clientId: v[K.clientId],
      timestamp: v[K.timestamp],
      method: v[K.method],
      uri: v[K.uri],
      version: v[K.version],
      status: parseStatus(v[K.status]),
      host: v[K.host],
      userAgent: v[K.userAgent],
      traceId: v[K.traceId],
      recordedHeaders: LINKERD_JSON_HEADERS,
    };
  }

  read(line: string): LineResult {
    const s = this.scanner;
    const status = s.scan(line);
    if (status !== SCAN_OK) {
      if (isBlank(line)) return SKIP.blank;
      return readLinkerdProxyLine(line, this.pending) ?? (status === SCAN_NOT_OBJECT ? SKIP.notObject : SKIP.notJson);
    }
    const skip = this.skipReason();
    if (skip === SKIP.linkerdProxyLog) {
      const event = readLinkerdProxyLine(line, this.pending) ?? SKIP.linkerdProxyLog;
      return event.kind === 'record' ? this.withShipper(event) : event;
    }
    if (skip !== undefined) return skip;
    const parsed = buildLinkerdRecord(this.fields());
    this.pending.mark(parsed);
    return this.withShipper(parsed);
  }

  /** The line's own Kubernetes metadata (a shipper that merges it into the object), as its shipper's. */
  private withShipper(parsed: ParsedLine): ParsedLine {
    const raw = this.scanner.values[K.kubernetes];
    if (raw !== undefined) {
      const meta = metadataFromKubernetes(raw);
      if (meta !== undefined) parsed.shipper = meta;
    }
    return parsed;
  }
}

export function createLinkerdJsonReader(): LinkerdJsonReader {
  return new LinkerdJsonReader();
}

import type { LineReader, LogFormatId, ReaderOptions } from './readerTypes';
import { createAccessRecordReader } from './formats/accessRecordJsonl';
import { createConsulEnvoyJsonReader } from './formats/consulEnvoyJson';
import { createEnvoyJsonReader } from './formats/envoyJson';
import { createEnvoyTextReader } from './formats/envoyText';
import { createLinkerdApacheReader } from './formats/linkerdApache';
import { createLinkerdJsonReader } from './formats/linkerdJson';
import { createZtunnelReader } from './formats/ztunnel';
import { isPlainProxyLine } from './formats/linkerdProxyEvents';
import { isRecord, parseJsonOrUndefined } from '../plainValues';
import { EMPTY_ENVELOPE, EnvelopeParser, ShipperAwareReader, unwrapPrefix, type InnerReaders } from './formats/shipper';

/**
 * Which format a file is in, and the reader for it.
 *
 * Detection looks at up to 50 sample lines that fit a format (ingest/lineSource.ts `sampleLines`;
 * when the first 50 lines fit none, ingest samples further). Each is first taken out of a shipper or
 * kubectl wrapping, then classified on its own:
 * - a JSON object with `client.addr`/`client.id` → linkerd-json;
 * - a JSON object with two or more keys of Envoy's JSON format (`response_code`,
 *   `upstream_cluster`, `downstream_remote_address`, ...) → envoy-json, or consul-envoy-json
 *   when a cluster, SNI or authority has Consul's shape (`local_app`, `*.consul`);
 * - a JSON object whose keys are all access-record fields, with at least one of source,
 *   destination, request, response, observed, or any JSON object whose `source`, `destination`
 *   or `request` is an object (records with keys of their own) → access-record;
 * - a JSON object with `src.addr`/`dst.addr` and scope `access` → ztunnel;
 * - `<ip>:<port> <id> - [<time>] "` → linkerd-apache;
 * - `<RFC 3339 time> <level> access connection ...` → ztunnel;
 * - `[<RFC 3339 time>] ` at the start, or a quoted request line (`"GET /x HTTP/1.1"`,
 *   `"- - -"`) anywhere → envoy-text.
 * - a Linkerd proxy log line (`[  4021.118340s]  INFO ...`, or JSON with `fields` and a
 *   `linkerd...` target) → a Linkerd reader, only when no line above was found (see
 *   formats/linkerdProxyEvents.ts).
 * The format with the most lines wins (Consul wins over Envoy JSON as soon as one line shows
 * Consul: Consul lines without a Consul marker look like Istio's). The file name only breaks a
 * tie between Envoy JSON and Consul (`consul` in the name). No classified line: undefined.
 *
 * createReader's readers unwrap shipper lines automatically: every reader it returns is the
 * format's reader inside a ShipperAwareReader (formats/shipper.ts), so a file of Fluent Bit,
 * Fluentd, Vector or Loki records or of `kubectl logs --prefix` lines needs no setting. The
 * format modules' own create functions return bare readers. A file that is one JSON document of
 * Loki's HTTP API is recognized before its lines are sampled (ingest/lokiDocument.ts): its sample
 * is then its first entries, as logcli jsonl lines.
 */

const ENVOY_JSON_KEYS = new Set([
  'start_time', 'method', 'path', 'protocol', 'response_code', 'response_flags', 'response_code_details',
  'connection_termination_details', 'bytes_received', 'bytes_sent', 'duration', 'upstream_service_time',
  'x_forwarded_for', 'user_agent', 'request_id', 'authority', 'upstream_host', 'upstream_cluster',
  'upstream_local_address', 'downstream_local_address', 'downstream_remote_address', 'requested_server_name',
  'upstream_transport_failure_reason', 'route_name',
]);
const RECORD_KEYS = new Set(['time', 'mesh', 'protocol', 'source', 'destination', 'request', 'sni', 'response', 'observed', 'count']);
const RECORD_BODY_KEYS = ['source', 'destination', 'request', 'response', 'observed'];
const RECORD_NESTED_KEYS = ['source', 'destination', 'request'];

const LINKERD_APACHE = /^(?:\[[0-9a-fA-F:.]+\]|[0-9.]+):\d+ \S+ - \[[^\]]+\] "/;
const ENVOY_TEXT_START = /^\[\d{4}-\d\d-\d\dT[^\]]*\] /;
const ZTUNNEL_ACCESS = /^\d{4}-\d\d-\d\dT\S+\s+[a-z]+\s+access\s+connection /;
const REQUEST_LINE = /"(?:[A-Z]+ \S+ (?:HTTP\/[0-9.]+|-)|- - -)"/;

function isConsulValue(value: unknown): boolean {
  return typeof value === 'string' && (value === 'local_app' || value.endsWith('.consul'));
}

/** The format of one line that is not wrapped, or undefined. */
export function classifyLine(line: string): LogFormatId | undefined {
  const text = line.trim();
  if (text.length === 0) return undefined;
  if (text.charCodeAt(0) === 123 /* { */) {
    const value = parseJsonOrUndefined(text);
    if (!isRecord(value)) return undefined;
    const obj = value;
    const keys = Object.keys(obj);
    if ('client.addr' in obj || 'client.id' in obj) return 'linkerd-json';
    if (('src.addr' in obj || 'dst.addr' in obj) && (obj['scope'] === 'access' || obj['target'] === 'access')) return 'ztunnel';
    let envoy = 0;
    for (const key of keys) if (ENVOY_JSON_KEYS.has(key)) envoy++;
    if (envoy >= 2) {
      return isConsulValue(obj['upstream_cluster']) || isConsulValue(obj['requested_server_name']) || isConsulValue(obj['authority'])
        ? 'consul-envoy-json'
        : 'envoy-json';
    }
    if (keys.length > 0 && keys.every((k) => RECORD_KEYS.has(k)) && RECORD_BODY_KEYS.some((k) => k in obj)) return 'access-record';
    // Records annotated with keys of their own (an id, a test name): the nested parts say it.
    if (RECORD_NESTED_KEYS.some((k) => isRecord(obj[k]))) return 'access-record';
    return undefined;
  }
  if (LINKERD_APACHE.test(text)) return 'linkerd-apache';
  if (ZTUNNEL_ACCESS.test(text)) return 'ztunnel';
  if (ENVOY_TEXT_START.test(text) || REQUEST_LINE.test(text)) return 'envoy-text';
  return undefined;
}

/** The Linkerd reader for a Linkerd proxy log line's layout (plain or JSON), or undefined for another line. */
function linkerdProxyLineLayout(line: string): LogFormatId | undefined {
  const text = line.trim();
  if (isPlainProxyLine(text)) return 'linkerd-apache';
  if (text.charCodeAt(0) !== 123 /* { */) return undefined;
  const value = parseJsonOrUndefined(text);
  return isRecord(value) && isRecord(value['fields']) && typeof value['target'] === 'string' && value['target'].startsWith('linkerd') ? 'linkerd-json' : undefined;
}

const PRIORITY: LogFormatId[] = ['access-record', 'linkerd-json', 'ztunnel', 'consul-envoy-json', 'envoy-json', 'linkerd-apache', 'envoy-text'];
const SAMPLE_LINES = 50;

/** The format of a file from its first lines (see the module comment); undefined when none fits. */
export function detectFormat(sampleLines: string[], fileName: string): LogFormatId | undefined {
  const votes = new Map<LogFormatId, number>();
  const proxyVotes = new Map<LogFormatId, number>();
  const envelopes = new EnvelopeParser();
  let looked = 0;
  for (const raw of sampleLines) {
    // (lines that fit no format, such as a proxy's startup log before its first request, are not counted)
    if (looked >= SAMPLE_LINES) break;
    if (raw.trim().length === 0) continue;
    let line = raw;
    let format = classifyLine(line);
    if (format === undefined || format === 'envoy-text') {
      // A wrapped line; an Envoy text guess yields to a kubectl prefix.
      const prefixed = unwrapPrefix(line);
      if (prefixed !== undefined) line = prefixed.inner;
      else if (format === undefined && line.trimStart().startsWith('{')) {
        const envelope = envelopes.parse(line);
        if (envelope !== undefined && envelope !== EMPTY_ENVELOPE) line = envelope.inner;
      }
      if (line !== raw) format = classifyLine(line);
    }
    if (format !== undefined) {
      votes.set(format, (votes.get(format) ?? 0) + 1);
      looked++;
    } else {
      const proxy = linkerdProxyLineLayout(line);
      if (proxy !== undefined) {
        proxyVotes.set(proxy, (proxyVotes.get(proxy) ?? 0) + 1);
        looked++;
      }
    }
  }
  // Linkerd proxy log lines decide only when no access log line did (a container's log before
  // its first request, or one with access logging off): either Linkerd reader reads both layouts.
  if (votes.size === 0 && proxyVotes.size > 0) return (proxyVotes.get('linkerd-json') ?? 0) > (proxyVotes.get('linkerd-apache') ?? 0) ? 'linkerd-json' : 'linkerd-apache';
  const consul = votes.get('consul-envoy-json') ?? 0;
  const envoy = votes.get('envoy-json') ?? 0;
  if (envoy > 0 && (consul > 0 || /consul/i.test(baseName(fileName)))) {
    votes.set('consul-envoy-json', consul + envoy);
    votes.delete('envoy-json');
  }
  let best: LogFormatId | undefined;
  let bestVotes = 0;
  for (const format of PRIORITY) {
    const n = votes.get(format) ?? 0;
    if (n > bestVotes) {
      best = format;
      bestVotes = n;
    }
  }
  return best;
}

function baseName(path: string): string {
  const slash = Math.max(path.lastIndexOf('/'), path.lastIndexOf('\\'));
  return path.slice(slash + 1);
}

/** A bare reader for one format (no shipper unwrapping). Throws EnvoyFormatError for a bad format string. */
export function createBareReader(format: LogFormatId, options: ReaderOptions = {}): LineReader {
  switch (format) {
    case 'envoy-text':
      return createEnvoyTextReader(options.envoyFormat?.trim().startsWith('{') ? undefined : options.envoyFormat, options);
    case 'envoy-json':
      return createEnvoyJsonReader(options);
    case 'consul-envoy-json':
      return createConsulEnvoyJsonReader(options);
    case 'linkerd-apache':
      return createLinkerdApacheReader();
    case 'linkerd-json':
      return createLinkerdJsonReader();
    case 'ztunnel':
      return createZtunnelReader();
    case 'access-record':
      return createAccessRecordReader(options);
  }
}

/**
 * The reader for a format, with shipper unwrapping (see the module comment). Lines unwrapped
 * from a shipper record that the format cannot read are detected on their own and read by that
 * format's reader, created once with the same options. Throws EnvoyFormatError when
 * `options.envoyFormat` cannot be compiled (formats/envoyText.ts `checkEnvoyFormat` tells
 * beforehand); every reader's read() itself never throws.
 */
export function createReader(format: LogFormatId, options: ReaderOptions = {}): LineReader {
  const base = createBareReader(format, options);
  const cache = new Map<LogFormatId, LineReader>([[format, base]]);
  const inner: InnerReaders = {
    classify: classifyLine,
    reader(innerFormat) {
      let reader = cache.get(innerFormat);
      if (reader === undefined) {
        try {
          reader = createBareReader(innerFormat, options);
        } catch {
          // options.envoyFormat was meant for the outer format: read inner lines with the defaults.
          reader = createBareReader(innerFormat, { ...options, envoyFormat: undefined });
        }
        cache.set(innerFormat, reader);
      }
      return reader;
    },
  };
  return new ShipperAwareReader(base, inner);
}

import assert from 'node:assert/strict';
import { copyFileSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { gzipSync } from 'node:zlib';
import { defaultConfig } from '../../../server/src/engine/config/projectConfig';
import { emptyInventory } from '../../../server/src/engine/inventory/inventory';
import { ingestTraffic, readerSettingProblems } from '../../../server/src/engine/traffic/ingest';
import type { DocumentLine } from '../../../server/src/engine/traffic/ingest/documents';
import { sniffDocument } from '../../../server/src/engine/traffic/ingest/documentScanners';
import { MAX_DEPTH, MAX_DOCUMENT_CHARS, OtlpDocumentScanner } from '../../../server/src/engine/traffic/ingest/otlpDocument';
import { parseAllDocuments } from 'yaml';
import { LOG_CONFIGURATION } from '../../../server/src/engine/traffic/logConfiguration';
import { scratchDir } from '../../helpers/scratch';
import { assertAccounting, jsonlRecords, trafficCli } from '../../helpers/trafficModel';

/**
 * OpenTelemetry logs as OTLP/JSON (ingest/otlpDocument.ts). The shapes are those of the OTLP
 * protocol's JSON encoding (opentelemetry-proto, `ExportLogsServiceRequest`): `resourceLogs[]` of
 * `{resource: {attributes}, scopeLogs[]: {scope, logRecords[]}}` (before OTLP 0.19
 * `instrumentationLibraryLogs`), a record `{timeUnixNano, observedTimeUnixNano, body: AnyValue,
 * attributes: [{key, value: AnyValue}]}`, 64-bit integers as decimal strings, AnyValue one of
 * `stringValue`, `boolValue`, `intValue`, `doubleValue`, `arrayValue.values`, `kvlistValue.values`,
 * `bytesValue`. An OpenTelemetry Collector's file exporter writes one request per line. The writer
 * attributes are the Kubernetes semantic conventions (`k8s.namespace.name`, `k8s.pod.name`,
 * `k8s.container.name`, pod labels as `k8s.pod.labels.<key>` by the k8sattributes processor,
 * `k8s.pod.label.<key>` in newer conventions) and Istio's sample `logFormat.labels` (`pod`,
 * `namespace`). Each record stands for the envelope line
 * `{"otlp": {writer}, "line": <body>, "timestamp": <RFC 3339>}` (formats/shipper.ts).
 */

const ROOT = join(__dirname, '..', '..', ...(__dirname.includes(join('out', 'test')) ? ['..'] : []), '..');
const FIXTURES = join(ROOT, 'test', 'fixtures', 'traffic', 'formats');
const dir = scratchDir('mesh-policy-otlp-');

type Entry = { line?: unknown; skip?: string; at: number };

/** The envelopes (parsed back to objects) and skips a text gives, pushed in chunks of `chunk` characters. */
function scan(text: string, chunk = Infinity): Entry[] {
  const out: DocumentLine[] = [];
  const scanner = new OtlpDocumentScanner((e) => out.push(e));
  if (chunk === Infinity) scanner.push(text);
  else for (let i = 0; i < text.length; i += chunk) scanner.push(text.slice(i, i + chunk));
  scanner.end();
  return out.map((e) => (e.line !== undefined ? { line: JSON.parse(e.line) as unknown, at: e.at } : { skip: e.skip!, at: e.at }));
}

const s = (value: string): { stringValue: string } => ({ stringValue: value });
const attr = (key: string, value: string): { key: string; value: { stringValue: string } } => ({ key, value: s(value) });

const LINE_A = '[2025-03-14T09:26:53.412Z] "GET /status/200 HTTP/1.1" 200 - via_upstream - "-" 0 0 3 2 "-" "curl/8.5.0" "5f0c2a9e" "httpbin.foo:8000" "10.244.2.23:8080" inbound|8080|| 127.0.0.6:51022 10.244.2.23:8080 10.244.2.21:40318 outbound_.8000_._.httpbin.foo.svc.cluster.local default';
const LINE_B = 'text with "quotes", {braces} and [brackets] \\ and a line break\nsecond line';
// 2025-03-14T09:26:53.412551234Z
const NANOS_A = '1741944413412551234';

function request(resourceAttributes: unknown[], records: unknown[], scopeKey = 'scopeLogs'): unknown {
  return { resourceLogs: [{ resource: { attributes: resourceAttributes }, [scopeKey]: [{ scope: { name: 'envoy' }, logRecords: records }] }] };
}

const K8S = [attr('k8s.namespace.name', 'foo'), attr('k8s.pod.name', 'httpbin-5c8f7d6b9-fghij'), attr('k8s.container.name', 'istio-proxy'), attr('k8s.pod.labels.app', 'httpbin'), attr('k8s.pod.label.version', 'v1'), attr('k8s.node.name', 'kind-worker')];
const WRITER = { namespace: 'foo', pod: 'httpbin-5c8f7d6b9-fghij', container: 'istio-proxy', labels: { app: 'httpbin', version: 'v1' } };

interface Case {
  name: string;
  text: string;
  expect: Entry[];
}

const PRETTY = JSON.stringify(request(K8S, [{ timeUnixNano: NANOS_A, body: s(LINE_A) }]), null, 2);
const compact = JSON.stringify(request(K8S, [{ timeUnixNano: NANOS_A, body: s(LINE_A) }, { timeUnixNano: '0', observedTimeUnixNano: NANOS_A, body: s(`${LINE_B}\n`) }]));

const CASES: Case[] = [
  {
    name: 'one request per line (the file exporter): every record, the writer from the resource, the time from timeUnixNano, else observedTimeUnixNano',
    text: `${compact}\n${compact}\n`,
    expect: [1, 1, 2, 2].map((at, i) => ({ line: { otlp: WRITER, line: i % 2 === 0 ? LINE_A : LINE_B, timestamp: '2025-03-14T09:26:53.412551234Z' }, at })),
  },
  {
    name: 'a pretty-printed request, then a compact one: each record at its request\'s first line',
    text: `${PRETTY}\n${compact}`,
    expect: [
      { line: { otlp: WRITER, line: LINE_A, timestamp: '2025-03-14T09:26:53.412551234Z' }, at: 1 },
      { line: { otlp: WRITER, line: LINE_A, timestamp: '2025-03-14T09:26:53.412551234Z' }, at: PRETTY.split('\n').length + 1 },
      { line: { otlp: WRITER, line: LINE_B, timestamp: '2025-03-14T09:26:53.412551234Z' }, at: PRETTY.split('\n').length + 1 },
    ],
  },
  {
    name: "Istio's envoyOtelAls with the sample labels: pod and namespace as record attributes, Envoy's node facts as resource attributes",
    text: JSON.stringify(request([attr('log_name', 'otel_envoy_accesslog'), attr('node_name', 'sidecar~10.244.2.23~httpbin.foo~foo.svc.cluster.local')], [
      { timeUnixNano: NANOS_A, body: s(LINE_A), attributes: [attr('pod', 'httpbin-5c8f7d6b9-fghij'), attr('namespace', 'foo'), attr('cluster', 'Kubernetes'), attr('mesh', 'cluster.local')] },
    ])),
    expect: [{ line: { otlp: { pod: 'httpbin-5c8f7d6b9-fghij', namespace: 'foo' }, line: LINE_A, timestamp: '2025-03-14T09:26:53.412551234Z' }, at: 1 }],
  },
  {
    name: 'record attributes that are access log fields go with the line, to be merged into its record; the others do not',
    text: JSON.stringify(request(K8S, [
      { timeUnixNano: NANOS_A, body: s(LINE_A), attributes: [attr('source_principal', 'spiffe://cluster.local/ns/foo/sa/sleep'), { key: 'response_code', value: { intValue: '403' } }, attr('node_name', 'sidecar~x'), attr('trace_id', 'abc')] },
    ])),
    expect: [{ line: { otlp: WRITER, line: LINE_A, attributes: { source_principal: 'spiffe://cluster.local/ns/foo/sa/sleep', response_code: 403 }, timestamp: '2025-03-14T09:26:53.412551234Z' }, at: 1 }],
  },
  {
    name: 'a map body (an Envoy JSON access log as a key-value list) becomes its JSON object; numbers as numbers, a 64-bit int beyond 2^53 kept as its text',
    text: JSON.stringify(request([], [{ body: { kvlistValue: { values: [
      { key: 'method', value: s('GET') }, { key: 'response_code', value: { intValue: '403' } }, { key: 'duration', value: { doubleValue: 1.5 } },
      { key: 'ok', value: { boolValue: false } }, { key: 'big', value: { intValue: '9007199254740993' } }, { key: 'list', value: { arrayValue: { values: [s('a'), { intValue: 2 }] } } },
      { key: 'nested', value: { kvlistValue: { values: [{ key: 'k', value: s('v') }] } } }, { key: 'empty', value: {} },
    ] } } }])),
    expect: [{ line: { otlp: {}, line: JSON.stringify({ method: 'GET', response_code: 403, duration: 1.5, ok: false, big: '9007199254740993', list: ['a', 2], nested: { k: 'v' }, empty: null }) }, at: 1 }],
  },
  {
    name: 'the record attributes name the writer over the resource; instrumentationLibraryLogs (before OTLP 0.19) is read too',
    // (a time written as a JSON number: beyond 2^53, so read as the nearest double, which prints as 1741944413412551200)
    text: JSON.stringify(request(K8S, [{ timeUnixNano: 1741944413412551234, body: s(LINE_A), attributes: [attr('k8s.pod.name', 'other-pod')] }], 'instrumentationLibraryLogs')),
    expect: [{ line: { otlp: { ...WRITER, pod: 'other-pod' }, line: LINE_A, timestamp: '2025-03-14T09:26:53.412551200Z' }, at: 1 }],
  },
  {
    name: 'records without a body, or with a body that is no line, are skipped with the reason; the others are read',
    text: JSON.stringify(request([], [{ timeUnixNano: NANOS_A }, { body: { intValue: '7' } }, { body: s(LINE_A) }])),
    expect: [
      { skip: 'OTLP log record without a body', at: 1 },
      { skip: 'OTLP log record whose body is neither a string nor a map', at: 1 },
      { line: { otlp: {}, line: LINE_A }, at: 1 },
    ],
  },
  {
    name: 'a malformed request, a request cut off by the next one, stray text and a document of no logs: each skipped with its reason, the rest read',
    text: [
      '{"resourceLogs": [}',
      `${compact.slice(0, 120)}`,
      compact,
      'garbage between documents',
      '{"resourceSpans": []}',
      '',
    ].join('\n'),
    expect: [
      { skip: `malformed OTLP/JSON document (${jsonError('{"resourceLogs": [}')})`, at: 1 },
      { skip: 'OTLP/JSON document cut off: its JSON does not end before line 3', at: 2 },
      { line: { otlp: WRITER, line: LINE_A, timestamp: '2025-03-14T09:26:53.412551234Z' }, at: 3 },
      { line: { otlp: WRITER, line: LINE_B, timestamp: '2025-03-14T09:26:53.412551234Z' }, at: 3 },
      { skip: 'text outside an OTLP/JSON document', at: 4 },
      { skip: 'not an OTLP logs document: it has no resourceLogs list', at: 5 },
    ],
  },
  {
    name: 'a file that ends inside a request',
    text: `${compact}\n${compact.slice(0, -10)}`,
    expect: [
      { line: { otlp: WRITER, line: LINE_A, timestamp: '2025-03-14T09:26:53.412551234Z' }, at: 1 },
      { line: { otlp: WRITER, line: LINE_B, timestamp: '2025-03-14T09:26:53.412551234Z' }, at: 1 },
      { skip: 'OTLP/JSON document cut off: the file ends before its JSON does', at: 2 },
    ],
  },
  { name: 'an empty file', text: '\n  \n', expect: [{ skip: 'not an OTLP/JSON document: no JSON object in the file', at: 1 }] },
  {
    name: 'a request cut off right after a backslash in a string: the line break still ends it, and the next request is read',
    text: `${compact.slice(0, compact.indexOf('\\"') + 1)}\n${compact}\n`,
    expect: [
      { skip: 'OTLP/JSON document cut off: its JSON does not end before line 2', at: 1 },
      { line: { otlp: WRITER, line: LINE_A, timestamp: '2025-03-14T09:26:53.412551234Z' }, at: 2 },
      { line: { otlp: WRITER, line: LINE_B, timestamp: '2025-03-14T09:26:53.412551234Z' }, at: 2 },
    ],
  },
  {
    name: 'CRLF line ends between requests',
    text: `${compact}\r\n${compact}\r\n`,
    expect: [1, 1, 2, 2].map((at, i) => ({ line: { otlp: WRITER, line: i % 2 === 0 ? LINE_A : LINE_B, timestamp: '2025-03-14T09:26:53.412551234Z' }, at })),
  },
  {
    name: 'brackets nested deeper than the limit: the request is skipped (no memory per bracket), the next one read',
    text: `{"resourceLogs": ${'['.repeat(MAX_DEPTH + 10)}${']'.repeat(MAX_DEPTH + 10)}}\n${compact}`,
    expect: [
      { skip: `OTLP/JSON document nested deeper than ${MAX_DEPTH} levels: not read`, at: 1 },
      { line: { otlp: WRITER, line: LINE_A, timestamp: '2025-03-14T09:26:53.412551234Z' }, at: 2 },
      { line: { otlp: WRITER, line: LINE_B, timestamp: '2025-03-14T09:26:53.412551234Z' }, at: 2 },
    ],
  },
  {
    name: 'a map body nested past the limit: its request is skipped before it is parsed, the next one read',
    text: `${JSON.stringify(request([], [{ body: nestedMap(100) }, { body: s(LINE_A) }]))}\n${compact}`,
    expect: [
      { skip: `OTLP/JSON document nested deeper than ${MAX_DEPTH} levels: not read`, at: 1 },
      { line: { otlp: WRITER, line: LINE_A, timestamp: '2025-03-14T09:26:53.412551234Z' }, at: 2 },
      { line: { otlp: WRITER, line: LINE_B, timestamp: '2025-03-14T09:26:53.412551234Z' }, at: 2 },
    ],
  },
  {
    // (an exporter groups a request's records by resource: pod A's, then pod B's)
    name: 'the records of one request come out in time order across its resources; a record without a time stays after the one before it',
    text: JSON.stringify({ resourceLogs: [
      { resource: { attributes: [attr('k8s.pod.name', 'a')] }, scopeLogs: [{ logRecords: [
        { timeUnixNano: '1741944413000000001', body: s('a1') }, { body: s('a-untimed') }, { timeUnixNano: '1741944413000000004', body: s('a4') }] }] },
      { resource: { attributes: [attr('k8s.pod.name', 'b')] }, scopeLogs: [{ logRecords: [
        { timeUnixNano: '0', observedTimeUnixNano: '1741944413000000002', body: s('b2') }, { timeUnixNano: '1741944413000000003', body: s('b3') }, {}] }] },
    ] }),
    expect: [
      { line: { otlp: { pod: 'a' }, line: 'a1', timestamp: '2025-03-14T09:26:53.000000001Z' }, at: 1 },
      { line: { otlp: { pod: 'a' }, line: 'a-untimed' }, at: 1 },
      { line: { otlp: { pod: 'b' }, line: 'b2', timestamp: '2025-03-14T09:26:53.000000002Z' }, at: 1 },
      { line: { otlp: { pod: 'b' }, line: 'b3', timestamp: '2025-03-14T09:26:53.000000003Z' }, at: 1 },
      { skip: 'OTLP log record without a body', at: 1 },
      { line: { otlp: { pod: 'a' }, line: 'a4', timestamp: '2025-03-14T09:26:53.000000004Z' }, at: 1 },
    ],
  },
];

function nestedMap(depth: number): unknown {
  let value: unknown = s('leaf');
  for (let i = 0; i < depth; i++) value = { kvlistValue: { values: [{ key: 'k', value }] } };
  return value;
}

function jsonError(text: string): string {
  try {
    JSON.parse(text);
  } catch (error) {
    return (error as Error).message;
  }
  throw new Error('valid JSON');
}

describe('OTLP/JSON documents: the scanner', () => {
  for (const c of CASES) {
    it(c.name, () => {
      assert.deepEqual(scan(c.text), c.expect);
      // the same whatever the chunks: strings, escapes and braces cut anywhere
      for (const chunk of [1, 2, 3, 7, 64]) assert.deepEqual(scan(c.text, chunk), c.expect, `chunks of ${chunk}`);
    });
  }

  it('a request larger than the limit is skipped whole, and the next one read', () => {
    const big = JSON.stringify(request([], [{ body: s('x'.repeat(MAX_DOCUMENT_CHARS)) }]));
    assert.deepEqual(scan(`${big}\n${compact}`, 1 << 20).map((e) => e.skip ?? e.at), [`OTLP/JSON document larger than ${MAX_DOCUMENT_CHARS / 1024 / 1024} MiB: not read`, 2, 2]);
  });
});

function cli(args: string[]): ReturnType<typeof trafficCli> {
  return trafficCli(args, dir);
}

/** The Fluent Bit fixture's lines as the records a collector's filelog receiver + k8sattributes would export: one request per pod. */
function fluentBitAsOtlp(): string {
  const lines = readFileSync(join(FIXTURES, 'fluent-bit.jsonl'), 'utf8').split('\n').filter((l) => l.trim() !== '');
  const byPod = new Map<string, { kubernetes: Record<string, unknown>; records: unknown[] }>();
  for (const text of lines) {
    const line = JSON.parse(text) as { log: string; time: string; kubernetes: { pod_name: string; namespace_name: string; container_name: string; labels: Record<string, string> } };
    const k = line.kubernetes;
    let pod = byPod.get(k.pod_name);
    if (!pod) byPod.set(k.pod_name, (pod = { kubernetes: k, records: [] }));
    const nanos = `${BigInt(Date.parse(line.time)) * 1_000_000n + BigInt(line.time.slice(23, 29))}`;
    pod.records.push({ timeUnixNano: nanos, body: s(line.log) });
  }
  return [...byPod.values()].map(({ kubernetes: k, records: r }) => JSON.stringify(request([
    attr('k8s.namespace.name', k['namespace_name'] as string), attr('k8s.pod.name', k['pod_name'] as string), attr('k8s.container.name', k['container_name'] as string),
    ...Object.entries(k['labels'] as Record<string, string>).map(([key, value]) => attr(`k8s.pod.labels.${key}`, value)),
  ], r))).join('\n');
}

// A JSON access log of Istio's default keys, without the caller's identity, as a map body.
const JSON_LOG: Record<string, unknown> = {
  start_time: '2025-03-14T09:26:53.412Z', method: 'GET', path: '/status/200', protocol: 'HTTP/1.1', response_code: 200, response_flags: '-',
  response_code_details: 'via_upstream', request_id: '5f0c2a9e', authority: 'httpbin.foo:8000', upstream_cluster: 'inbound|8080||',
  upstream_host: '10.244.2.23:8080', downstream_local_address: '10.244.2.23:8080', downstream_remote_address: '10.244.2.21:40318',
};
const kvlist = (object: Record<string, unknown>) => ({ kvlistValue: { values: Object.entries(object).map(([key, value]) => ({ key, value: typeof value === 'number' ? { intValue: String(value) } : s(String(value)) })) } });

/** What a record gives of the caller and the outcome. */
interface Facts {
  principal: string | null | undefined;
  principalUnknown: boolean | undefined;
  status: number | undefined;
  observed: string | undefined;
  path: string | undefined;
}

// docs/access-records.md, "OpenTelemetry (OTLP/JSON) documents": Istio's envoyOtelAls sends the
// `logFormat.labels` as record attributes beside the text body; the spec's §7.2 says to read the
// body and merge the attributes. The fields are those of Istio's JSON keys and the identity labels
// docs/access-records.md recommends (source_principal = %DOWNSTREAM_PEER_URI_SAN%, whose
// spiffe:// is dropped for Istio's principal form); null, "" and "-" are Envoy's empty values.
const SLEEP = 'spiffe://cluster.local/ns/foo/sa/sleep';
const MERGES: { name: string; body: unknown; attributes: unknown[]; expect: Facts }[] = [
  {
    name: 'a text body alone: Istio\'s default text format does not log the caller\'s identity',
    body: s(LINE_A), attributes: [],
    expect: { principal: undefined, principalUnknown: true, status: 200, observed: 'allowed', path: '/status/200' },
  },
  {
    name: 'a text body and a lone source_principal attribute: the caller\'s principal',
    body: s(LINE_A), attributes: [attr('source_principal', SLEEP)],
    expect: { principal: 'cluster.local/ns/foo/sa/sleep', principalUnknown: undefined, status: 200, observed: 'allowed', path: '/status/200' },
  },
  {
    name: 'a text body and source_principal logged empty ("-"): a plaintext caller, not an unknown one',
    body: s(LINE_A), attributes: [attr('source_principal', '-')],
    expect: { principal: null, principalUnknown: undefined, status: 200, observed: 'allowed', path: '/status/200' },
  },
  {
    name: 'a text body and attributes of fields it has: each attribute wins over the body\'s value',
    body: s(LINE_A), attributes: [{ key: 'response_code', value: { intValue: '403' } }, attr('response_code_details', 'rbac_access_denied_matched_policy[none]'), attr('source_principal', SLEEP)],
    expect: { principal: 'cluster.local/ns/foo/sa/sleep', principalUnknown: undefined, status: 403, observed: 'denied', path: '/status/200' },
  },
  {
    name: 'a JSON body (a map) and source_principal and path attributes: merged, the attribute winning',
    body: kvlist(JSON_LOG), attributes: [attr('source_principal', SLEEP), attr('path', '/headers')],
    expect: { principal: 'cluster.local/ns/foo/sa/sleep', principalUnknown: undefined, status: 200, observed: 'allowed', path: '/headers' },
  },
  {
    name: 'a JSON body with the caller\'s identity and an attribute that logged it empty: the body\'s value stays',
    body: kvlist({ ...JSON_LOG, source_principal: SLEEP }), attributes: [attr('source_principal', '-')],
    expect: { principal: 'cluster.local/ns/foo/sa/sleep', principalUnknown: undefined, status: 200, observed: 'allowed', path: '/status/200' },
  },
  {
    name: 'attributes that are no access log field (Envoy\'s node facts, a trace id, the writer, unknown labels) are not read as fields',
    body: s(LINE_A),
    attributes: [attr('node_name', 'sidecar~10.244.2.23~httpbin.foo~foo.svc.cluster.local'), attr('cluster_name', 'httpbin.foo'), attr('log_name', 'otel_envoy_accesslog'),
      attr('trace_id', '4bf92f3577b34da6a3ce929d0e0e4736'), attr('pod', 'httpbin-5c8f7d6b9-fghij'), attr('principal', SLEEP), attr('Source_Principal', SLEEP), attr('peer', SLEEP)],
    expect: { principal: undefined, principalUnknown: true, status: 200, observed: 'allowed', path: '/status/200' },
  },
];

describe('OTLP/JSON documents: record attributes merged with the body', () => {
  for (const [i, c] of MERGES.entries()) {
    it(c.name, async () => {
      const path = join(dir, `merge-${i}.json`);
      writeFileSync(path, JSON.stringify(request(K8S, [{ timeUnixNano: NANOS_A, body: c.body, attributes: c.attributes }])));
      const model = await ingestTraffic([path], { inventory: emptyInventory(), config: defaultConfig(dir) });
      assertAccounting(model);
      assert.equal(model.stats.parsed, 1);
      const record = model.shapes[0]!.record;
      const facts: Facts = { principal: record.source?.principal, principalUnknown: record.source?.principalUnknown, status: record.response?.status, observed: record.observed, path: record.request?.path };
      assert.deepEqual(facts, c.expect);
      // the writer still comes from the resource
      assert.equal(record.destination?.namespace, 'foo');
    });
  }

  it('`mesh-policy traffic`: the lone source_principal attribute gives the caller in the records it prints', async () => {
    writeFileSync(join(dir, 'principal.json'), JSON.stringify(request(K8S, [{ timeUnixNano: NANOS_A, body: s(LINE_A), attributes: [attr('source_principal', SLEEP)] }])));
    const result = await cli(['principal.json', '--format', 'jsonl']);
    assert.equal(result.code, 0, result.stderr);
    assert.deepEqual(jsonlRecords(result.stdout).map((r) => r.source?.principal), ['cluster.local/ns/foo/sa/sleep']);
  });
});

describe('OTLP/JSON documents through ingest and `mesh-policy traffic`', () => {
  const otlp = fluentBitAsOtlp();
  writeFileSync(join(dir, 'fluent-bit.jsonl'), readFileSync(join(FIXTURES, 'fluent-bit.jsonl')));
  writeFileSync(join(dir, 'export.json'), otlp);
  writeFileSync(join(dir, 'export.json.gz'), gzipSync(otlp));
  writeFileSync(join(dir, 'pretty.json'), otlp.split('\n').map((l) => JSON.stringify(JSON.parse(l), null, 2)).join('\n'));

  it('the same lines exported by a collector give the calls Fluent Bit\'s wrapping gives (compact, gzip, pretty-printed)', async () => {
    const expected = await cli(['fluent-bit.jsonl', '--format', 'jsonl']);
    assert.equal(expected.code, 0, expected.stderr);
    assert.ok(jsonlRecords(expected.stdout).length > 0);
    for (const name of ['export.json', 'export.json.gz', 'pretty.json']) {
      const result = await cli([name, '--format', 'jsonl']);
      assert.equal(result.code, 0, result.stderr);
      assert.deepEqual(jsonlRecords(result.stdout), jsonlRecords(expected.stdout), name);
    }
  });

  it('detected without a setting, every record counted as a line, the writer from the attributes', async () => {
    for (const name of ['export.json', 'export.json.gz', 'pretty.json']) {
      const model = await ingestTraffic([join(dir, name)], { inventory: emptyInventory(), config: defaultConfig(dir) });
      assertAccounting(model);
      const file = model.stats.files[0]!;
      assert.equal(file.document, 'otlp-json', name);
      assert.equal(file.format, 'envoy-text', name);
      assert.equal(file.lines, 4, name);
      assert.ok(model.shapes.some((shape) => shape.destinationBy['shipper'] !== undefined), name);
    }
    assert.equal((await sniffDocument(join(dir, 'export.json'), false))?.format, 'otlp-json');
    for (const name of ['loki-api.json', 'loki.jsonl', 'istio-json.log', 'fluent-bit.jsonl', 'records.jsonl']) {
      assert.notEqual((await sniffDocument(join(FIXTURES, name), false))?.format, 'otlp-json', name);
    }
  });

  it('the fixture: Istio envoyOtelAls requests, the writer from the sample labels; `mesh-policy traffic` names the document', async () => {
    const text = await ingestTraffic([join(FIXTURES, 'istio-text.log')], { inventory: emptyInventory(), config: defaultConfig(dir) });
    const model = await ingestTraffic([join(FIXTURES, 'otlp.json')], { inventory: emptyInventory(), config: defaultConfig(dir) });
    assertAccounting(model);
    assert.deepEqual(model.stats.observed, text.stats.observed);
    assert.equal(model.stats.parsed, text.stats.parsed);
    assert.deepEqual(new Set(model.shapes.map((shape) => shape.record.destination?.workload)), new Set(['httpbin']));
    writeFileSync(join(dir, 'otlp.json'), readFileSync(join(FIXTURES, 'otlp.json')));
    const result = await cli(['otlp.json']);
    assert.equal(result.code, 0, result.stderr);
    assert.match(result.stdout, /otlp\.json \(otlp-json\)\s+envoy-text\s+9\s+7\s+2/);
  });

  it("Istio's recommended JSON labels sent through envoyOtelAls: the attributes are read as the access log, with the caller's identity; the text body is not", async () => {
    // docs/access-records.md: the labels of the Istio snippet become record attributes
    const istio = LOG_CONFIGURATION.find((snippet) => snippet.mesh === 'istio')!;
    const labels = Object.keys((parseAllDocuments(istio.text)[0]!.toJS() as { extensionProviders: { envoyFileAccessLog: { logFormat: { labels: Record<string, string> } } }[] }).extensionProviders[0]!.envoyFileAccessLog.logFormat.labels);
    const values: Record<string, unknown> = {
      start_time: '2025-03-14T09:26:53.412Z', method: 'POST', path: '/post', protocol: 'HTTP/1.1', response_code: 403, response_flags: '-',
      response_code_details: 'rbac_access_denied_matched_policy[none]', request_id: '0d5a77c1', authority: 'httpbin.foo:8000',
      upstream_cluster: 'inbound|8080||', downstream_local_address: '10.244.2.23:8080', downstream_remote_address: '10.244.2.21:40322',
      source_principal: 'spiffe://cluster.local/ns/foo/sa/sleep',
    };
    const attributes = labels.map((key) => ({ key, value: key === 'response_code' ? { intValue: '403' } : s(typeof values[key] === 'string' ? values[key] as string : '-') }));
    attributes.push(attr('pod', 'httpbin-5c8f7d6b9-fghij'), attr('namespace', 'foo'));
    writeFileSync(join(dir, 'labels.json'), JSON.stringify(request([], [{ timeUnixNano: NANOS_A, body: s(LINE_A), attributes }])));
    const result = await cli(['labels.json', '--format', 'jsonl']);
    assert.equal(result.code, 0, result.stderr);
    const [record] = jsonlRecords(result.stdout);
    assert.deepEqual(
      { principal: record!.source?.principal, method: record!.request?.method, path: record!.request?.path, observed: record!.observed, workload: record!.destination?.workload, namespace: record!.destination?.namespace },
      { principal: 'cluster.local/ns/foo/sa/sleep', method: 'POST', path: '/post', observed: 'denied', workload: 'httpbin', namespace: 'foo' },
    );
  });

  it('a first request of many MiB (one collector batch on one line) is detected and read whole, with a BOM', async () => {
    const records = Array.from({ length: 40_000 }, (_, i) => ({ timeUnixNano: NANOS_A, body: s(LINE_A.replace('5f0c2a9e', `r${i}`)) }));
    const big = JSON.stringify(request(K8S, records));
    assert.ok(big.length > 10 * 1024 * 1024, `${big.length} characters`);
    writeFileSync(join(dir, 'batch.json'), `\ufeff${big}\n`);
    const model = await ingestTraffic([join(dir, 'batch.json')], { inventory: emptyInventory(), config: defaultConfig(dir) });
    assertAccounting(model);
    const file = model.stats.files[0]!;
    assert.deepEqual({ document: file.document, format: file.format, lines: file.lines, parsed: file.parsed }, { document: 'otlp-json', format: 'envoy-text', lines: 40_000, parsed: 40_000 });
  });

  it('readers.format: otlp-json forces the reading; the setting names it among the formats', async () => {
    writeFileSync(join(dir, 'not-otlp.log'), readFileSync(join(FIXTURES, 'istio-text.log')));
    const config = { ...defaultConfig(dir), readers: { files: { 'not-otlp.log': { format: 'otlp-json' } } } };
    assert.deepEqual(readerSettingProblems(config), []);
    const model = await ingestTraffic([join(dir, 'not-otlp.log')], { inventory: emptyInventory(), config });
    assertAccounting(model);
    assert.equal(model.stats.files[0]!.document, 'otlp-json');
    assert.equal(model.stats.parsed, 0);
    // (the fixture's lines start with `[`; one has a `{` that opens no document JSON can read)
    assert.ok((model.stats.skippedByReason['text outside an OTLP/JSON document'] ?? 0) >= 8, JSON.stringify(model.stats.skippedByReason));
    assert.match(readerSettingProblems({ ...config, readers: { format: 'otlp' } })[0]!, /must be one of .*loki-api, otlp-json \(got "otlp"\)/);
  });

  it('a collector batch groups its records by pod: the two sides of a call, logged by two pods, still join (examples/consul, api.log exported)', async () => {
    // kubectl-prefix lines as a filelog receiver + k8sattributes export them: 100 records a request, grouped by pod inside each
    const examples = join(ROOT, 'examples', 'consul', 'traffic');
    const plain = join(dir, 'consul-plain');
    const exported = join(dir, 'consul-otlp');
    for (const folder of [plain, exported]) {
      mkdirSync(folder, { recursive: true });
      for (const name of ['counting.log', 'dashboard.log']) copyFileSync(join(examples, name), join(folder, name));
    }
    copyFileSync(join(examples, 'api.log'), join(plain, 'api.log'));
    const lines = readFileSync(join(examples, 'api.log'), 'utf8').split('\n').filter((l) => l.trim() !== '');
    const requests: string[] = [];
    for (let i = 0; i < lines.length; i += 100) {
      const byPod = new Map<string, unknown[]>();
      for (const text of lines.slice(i, i + 100)) {
        const [, pod, container, line] = /^\[pod\/([^/]+)\/([^\]]+)\] (.*)$/.exec(text)!;
        const startTime = /"start_time":"([^"]+)"/.exec(line!)?.[1];
        const key = `${pod}/${container}`;
        if (!byPod.has(key)) byPod.set(key, []);
        byPod.get(key)!.push({ ...(startTime ? { timeUnixNano: `${BigInt(Date.parse(startTime)) * 1_000_000n}` } : {}), body: s(line!) });
      }
      requests.push(JSON.stringify({ resourceLogs: [...byPod].map(([key, records]) => ({
        resource: { attributes: [attr('k8s.pod.name', key.split('/')[0]!), attr('k8s.container.name', key.split('/')[1]!)] },
        scopeLogs: [{ logRecords: records }],
      })) }));
    }
    writeFileSync(join(exported, 'api.json'), `${requests.join('\n')}\n`);
    const options = { inventory: emptyInventory(), config: defaultConfig(dir) };
    const expected = await ingestTraffic([join(plain, 'api.log'), join(plain, 'counting.log'), join(plain, 'dashboard.log')], options);
    const model = await ingestTraffic([join(exported, 'api.json'), join(exported, 'counting.log'), join(exported, 'dashboard.log')], options);
    assertAccounting(model);
    assert.equal(model.stats.files[0]!.document, 'otlp-json');
    assert.ok(expected.stats.joinedPairs > 1000, `the plain logs join (${expected.stats.joinedPairs} pairs)`);
    assert.equal(model.stats.joinedPairs, expected.stats.joinedPairs, 'pairs joined');
    assert.equal(model.stats.calls, expected.stats.calls, 'calls');
    assert.deepEqual(model.stats.observed, expected.stats.observed);
  });
});

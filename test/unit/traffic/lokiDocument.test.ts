import assert from 'node:assert/strict';
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { gzipSync } from 'node:zlib';
import { defaultConfig } from '../../../server/src/engine/config/projectConfig';
import { buildInventory, emptyInventory } from '../../../server/src/engine/inventory/inventory';
import { readSource } from '../../../server/src/engine/source/read';
import { createReader } from '../../../server/src/engine/traffic/detect';
import { ingestTraffic, readerSettingProblems, type TrafficModel } from '../../../server/src/engine/traffic/ingest';
import { collectTrafficFiles } from '../../../server/src/engine/traffic/ingest/files';
import { shapeKey } from '../../../server/src/engine/traffic/ingest/shapes';
import { LokiDocumentScanner, type LokiEntryOrder } from '../../../server/src/engine/traffic/ingest/lokiDocument';
import { nanosToRfc3339, type DocumentLine } from '../../../server/src/engine/traffic/ingest/documents';
import { sniffDocument } from '../../../server/src/engine/traffic/ingest/documentScanners';
import { scratchDir } from '../../helpers/scratch';
import { assertAccounting, jsonlRecords, trafficCli } from '../../helpers/trafficModel';

/**
 * Loki's HTTP API JSON read as a shipper wrapping (ingest/lokiDocument.ts).
 *
 * The document shapes are those of Loki's HTTP API reference (grafana/loki
 * docs/sources/reference/loki-http-api.md): a query or query_range response is `{"status":
 * "success", "data": {"resultType": "streams" | "matrix" | "vector", "result": [...], "stats"}}`,
 * a stream value `{"stream": {labels}, "values": [["<string: nanosecond unix epoch>", "<string:
 * log line>"], ...]}`, a metric value `{"metric": {labels}, "values" | "value": [<number: second
 * unix epoch>, "<string: value>"]}`; the push body is `{"streams": [<stream value>]}`, where an
 * entry may carry a third element, an object of string keys and values (structured metadata). A
 * query with `X-Loki-Response-Encoding-Flags: categorize-labels` gives the third element as
 * `{"structuredMetadata": {...}, "parsed": {...}}` and `data.encodingFlags`. Each entry stands
 * for the line `logcli query -o jsonl` prints for it (`{"labels", "line", "timestamp"}`), so the
 * expected lines below are written in that form.
 */

const ROOT = join(__dirname, '..', '..', ...(__dirname.includes(join('out', 'test')) ? ['..'] : []), '..');
const FIXTURES = join(ROOT, 'test', 'fixtures', 'traffic', 'formats');
const dir = scratchDir('mesh-policy-loki-');

/**
 * The lines (parsed back to objects) and skips a document gives, read in chunks of `chunk`
 * characters, in the order of the file or in time order (ingest's).
 */
function scan(text: string, chunk = Infinity, order: LokiEntryOrder = 'file', holdChars?: number): { line?: unknown; skip?: string; at: number }[] {
  const out: DocumentLine[] = [];
  const scanner = new LokiDocumentScanner((e) => out.push(e), order, holdChars);
  if (chunk === Infinity) scanner.push(text);
  else for (let i = 0; i < text.length; i += chunk) scanner.push(text.slice(i, i + chunk));
  scanner.end();
  return out.map((e) => (e.line !== undefined ? { line: JSON.parse(e.line) as unknown, at: e.at } : { skip: e.skip!, at: e.at }));
}

const ENTRY_SHAPE = 'Loki entry is not ["<unix epoch in nanoseconds>", "<log line>"] (with an optional metadata object)';

// The query_range example response of Loki's HTTP API reference, with a second stream.
const QUERY_RANGE = {
  status: 'success',
  data: {
    resultType: 'streams',
    result: [
      { stream: { filename: '/var/log/myproject.log', job: 'varlogs', level: 'info' }, values: [['1569266497240578000', 'foo'], ['1569266492548155000', 'bar']] },
      { stream: { namespace: 'shop', pod: 'cart-7c8d9e6f5-bbbbb', container: 'istio-proxy' }, values: [['1570818238000000000', 'fizzbuzz']] },
    ],
    stats: { summary: { bytesProcessedPerSecond: 0, execTime: 0.001, totalLinesProcessed: 3 } },
  },
};
const QUERY_RANGE_LINES = [
  { labels: { filename: '/var/log/myproject.log', job: 'varlogs', level: 'info' }, line: 'foo', timestamp: '2019-09-23T19:21:37.240578000Z' },
  { labels: { filename: '/var/log/myproject.log', job: 'varlogs', level: 'info' }, line: 'bar', timestamp: '2019-09-23T19:21:32.548155000Z' },
  { labels: { namespace: 'shop', pod: 'cart-7c8d9e6f5-bbbbb', container: 'istio-proxy' }, line: 'fizzbuzz', timestamp: '2019-10-11T18:23:58.000000000Z' },
];

interface Case {
  name: string;
  text: string;
  expect: { line?: unknown; skip?: string; at: number }[];
}

const pretty = JSON.stringify(QUERY_RANGE, null, 2);
/** The 1-based line of the n-th occurrence of `needle` in `text`. */
function lineOf(text: string, needle: string, n = 0): number {
  let at = -1;
  for (let i = 0; i <= n; i++) at = text.indexOf(needle, at + 1);
  assert.ok(at >= 0, needle);
  return text.slice(0, at).split('\n').length;
}

const CASES: Case[] = [
  {
    name: 'a query_range response, pretty-printed: each entry at the line its value starts on',
    text: pretty,
    expect: [
      { line: QUERY_RANGE_LINES[0], at: lineOf(pretty, '"1569266497240578000"') - 1 },
      { line: QUERY_RANGE_LINES[1], at: lineOf(pretty, '"1569266492548155000"') - 1 },
      { line: QUERY_RANGE_LINES[2], at: lineOf(pretty, '"1570818238000000000"') - 1 },
    ],
  },
  {
    name: 'the same response on one line: every entry at line 1',
    text: JSON.stringify(QUERY_RANGE),
    expect: QUERY_RANGE_LINES.map((line) => ({ line, at: 1 })),
  },
  {
    name: 'a push body (the reference\'s curl example), then one with structured metadata naming the pod: one body per line',
    text: [
      '{"streams": [{ "stream": { "foo": "bar2" }, "values": [ [ "1570818238000000000", "fizzbuzz" ] ] }]}',
      JSON.stringify({ streams: [{ stream: { namespace: 'shop', app: 'cart' }, values: [['1570818238000000001', 'x', { trace_id: '0242ac120002', k8s_pod_name: 'cart-7c8d9e6f5-bbbbb' }]] }] }),
    ].join('\n'),
    expect: [
      { line: { labels: { foo: 'bar2' }, line: 'fizzbuzz', timestamp: '2019-10-11T18:23:58.000000000Z' }, at: 1 },
      // the pod from the metadata, the trace id not (not a label of the pod)
      { line: { labels: { namespace: 'shop', app: 'cart', k8s_pod_name: 'cart-7c8d9e6f5-bbbbb' }, line: 'x', timestamp: '2019-10-11T18:23:58.000000001Z' }, at: 2 },
    ],
  },
  {
    name: 'a categorize-labels response: structuredMetadata and parsed in the third element; a stream label wins over metadata',
    text: JSON.stringify({
      status: 'success',
      data: {
        resultType: 'streams',
        encodingFlags: ['categorize-labels'],
        result: [{
          stream: { service_name: 'checkout', k8s_namespace_name: 'shop' },
          values: [
            ['1570818238000000000', 'a', { structuredMetadata: { k8s_pod_name: 'checkout-5d9f8b7c6-aaaaa', k8s_namespace_name: 'other', trace_id: 'abc' }, parsed: { level: 'info' } }],
            ['1570818239000000000', 'b', {}],
          ],
        }],
      },
    }),
    expect: [
      { line: { labels: { service_name: 'checkout', k8s_namespace_name: 'shop', k8s_pod_name: 'checkout-5d9f8b7c6-aaaaa' }, line: 'a', timestamp: '2019-10-11T18:23:58.000000000Z' }, at: 1 },
      { line: { labels: { service_name: 'checkout', k8s_namespace_name: 'shop' }, line: 'b', timestamp: '2019-10-11T18:23:59.000000000Z' }, at: 1 },
    ],
  },
  {
    name: 'values before stream (key order is free in a push body): the labels still apply',
    text: '{"streams":[{"values":[["1","x"]],"stream":{"pod":"p-1"}},{"values":[["2","y"]]}]}',
    expect: [
      { line: { labels: { pod: 'p-1' }, line: 'x', timestamp: '1970-01-01T00:00:00.000000001Z' }, at: 1 },
      { line: { line: 'y', timestamp: '1970-01-01T00:00:00.000000002Z' }, at: 1 },
    ],
  },
  {
    name: 'escapes in lines, labels and keys',
    text: '{"streams":[{"str\\u0065am":{"pod":"a\\"b"},"values":[["1","line with \\"quotes\\", \\\\ and \\n"]]}]}',
    expect: [{ line: { labels: { pod: 'a"b' }, line: 'line with "quotes", \\ and \n', timestamp: '1970-01-01T00:00:00.000000001Z' }, at: 1 }],
  },
  {
    name: 'strings JSON refuses (a raw tab, an unknown escape) skip their entry; every escape JSON has is kept',
    text: '{"streams":[{"stream":{},"values":[["1","a\tb"],["2","\\x41"],["3","caf\\u00e9 \\/ \\\\ \\b\\f\\r\\t"]]}]}',
    expect: [
      { skip: 'Loki entry is not valid JSON', at: 1 },
      { skip: 'Loki entry is not valid JSON', at: 1 },
      { line: { labels: {}, line: 'caf\u00e9 / \\ \b\f\r\t', timestamp: '1970-01-01T00:00:00.000000003Z' }, at: 1 },
    ],
  },
  {
    name: 'a matrix result (the reference\'s metric example): samples, not log lines',
    text: JSON.stringify({ status: 'success', data: { resultType: 'matrix', result: [{ metric: { level: 'info' }, values: [[1588889221, '137.95'], [1588889221, '467.115']] }] } }, null, 2),
    expect: [{ skip: 'Loki matrix result (a metric query): it holds samples, not log lines', at: 1 }],
  },
  {
    name: 'a vector result (an instant query)',
    text: JSON.stringify({ status: 'success', data: { resultType: 'vector', result: [{ metric: {}, value: [1588889221, '1267.1266666666666'] }] } }),
    expect: [{ skip: 'Loki vector result (a metric query): it holds samples, not log lines', at: 1 }],
  },
  {
    name: 'an error response',
    text: '{"status":"error","errorType":"bad_data","error":"parse error at line 1, col 5"}',
    expect: [{ skip: 'Loki response with status "error": parse error at line 1, col 5', at: 1 }],
  },
  {
    name: 'another endpoint\'s response (labels): not a Loki document of log lines',
    text: '{"status":"success","data":["foo","bar","baz"]}',
    expect: [{ skip: 'not a Loki API document: neither data.result (a query response) nor streams (a push body)', at: 1 }],
  },
  {
    name: 'entries of the wrong shape are skipped one by one, the others read',
    text: '{"streams":[{"stream":{},"values":[[1588889221,"x"],["1e9","x"],["1","x",5],["1"],"x",["1","ok"],["1","x",{},"y"]]}]}',
    expect: [
      { skip: ENTRY_SHAPE, at: 1 },
      { skip: 'Loki entry timestamp is not a Unix epoch in nanoseconds', at: 1 },
      { skip: ENTRY_SHAPE, at: 1 },
      { skip: ENTRY_SHAPE, at: 1 },
      { skip: ENTRY_SHAPE, at: 1 },
      { line: { labels: {}, line: 'ok', timestamp: '1970-01-01T00:00:00.000000001Z' }, at: 1 },
      { skip: ENTRY_SHAPE, at: 1 },
    ],
  },
  {
    name: 'a truncated document: the entries before the cut, then why the rest is not read',
    text: pretty.slice(0, pretty.indexOf('"1570818238000000000"') + 5),
    expect: [
      { line: QUERY_RANGE_LINES[0], at: lineOf(pretty, '"1569266497240578000"') - 1 },
      { line: QUERY_RANGE_LINES[1], at: lineOf(pretty, '"1569266492548155000"') - 1 },
      { skip: `Loki API document: JSON syntax error at line ${lineOf(pretty, '"1570818238000000000"')}: the document ends before its JSON does (a truncated file?); the rest of the file is not read`, at: lineOf(pretty, '"1570818238000000000"') },
    ],
  },
  {
    name: 'a syntax error',
    text: '{"streams":[{"stream":{},"values":[["1","a"]]}]\n,}',
    expect: [
      { line: { labels: {}, line: 'a', timestamp: '1970-01-01T00:00:00.000000001Z' }, at: 1 },
      { skip: 'Loki API document: JSON syntax error at line 2: expected a key in quotes; the rest of the file is not read', at: 2 },
    ],
  },
  {
    name: 'text that is not JSON',
    text: '[2025-03-14T09:26:53.412Z] "GET /status/200 HTTP/1.1" 200',
    expect: [{ skip: 'Loki API document: JSON syntax error at line 1: the file does not start with a JSON object; the rest of the file is not read', at: 1 }],
  },
  { name: 'an empty file', text: '\n', expect: [{ skip: 'not a Loki API document: no JSON object in the file', at: 1 }] },
];

describe('Loki API documents: entries, skips and locations', () => {
  for (const c of CASES) {
    it(c.name, () => {
      const whole = scan(c.text);
      assert.deepEqual(whole, c.expect);
      // chunk boundaries anywhere (inside strings, escapes, keys, literals) change nothing
      for (const chunk of [1, 2, 7, 64]) assert.deepEqual(scan(c.text, chunk), c.expect, `chunks of ${chunk}`);
      // in time order: the same lines, sorted by time (equal times in the file's order), and the same skips
      const timed = scan(c.text, 7, 'time');
      // (RFC 3339 in UTC with nine fraction digits: the text sorts as the time)
      const time = (e: { line?: unknown }) => (e.line as { timestamp: string }).timestamp;
      const lines = c.expect.filter((e) => e.line !== undefined);
      const sorted = lines.map((e, i) => ({ e, i })).sort((a, b) => (time(a.e) < time(b.e) ? -1 : time(a.e) > time(b.e) ? 1 : a.i - b.i)).map((x) => x.e);
      assert.deepEqual(timed.filter((e) => e.line !== undefined), sorted);
      assert.deepEqual(timed.filter((e) => e.skip !== undefined), c.expect.filter((e) => e.skip !== undefined));
    });
  }

  it('nanosecond timestamps: all nine fraction digits, short ones padded, non-digits refused', () => {
    assert.equal(nanosToRfc3339('1569266497240578000'), '2019-09-23T19:21:37.240578000Z');
    assert.equal(nanosToRfc3339('999'), '1970-01-01T00:00:00.000000999Z');
    assert.equal(nanosToRfc3339('1.5e18'), undefined);
    assert.equal(nanosToRfc3339(''), undefined);
  });
});

/** An entry's line as `logcli query -o jsonl` prints it, for entries at a few nanoseconds after the epoch. */
function at(ns: number, line: string, labels: Record<string, string>): { labels: Record<string, string>; line: string; timestamp: string } {
  return { labels, line, timestamp: `1970-01-01T00:00:00.${String(ns).padStart(9, '0')}Z` };
}
const P1 = { pod: 'p-1' };
const P2 = { pod: 'p-2' };
const stream = (labels: Record<string, string>, values: [number, string][]) => ({ stream: labels, values: values.map(([ns, line]) => [String(ns), line]) });
const query = (...result: object[]) => JSON.stringify({ status: 'success', data: { resultType: 'streams', result } });

// Ingest joins the two sides of a call, written by two pods, in a window of log time: a document's
// entries come to it in time order (stably), however the document groups and orders them.
const TIME_ORDER: { name: string; text: string; holdChars?: number; expect: { line: unknown; at: number }[] }[] = [
  {
    name: 'one stream per pod, each newest first (Loki\'s default direction): merged oldest first',
    text: query(stream(P1, [[5, 'c'], [1, 'a']]), stream(P2, [[6, 'd'], [3, 'b']])),
    expect: [at(1, 'a', P1), at(3, 'b', P2), at(5, 'c', P1), at(6, 'd', P2)].map((line) => ({ line, at: 1 })),
  },
  {
    name: 'equal times keep the order of the file',
    text: query(stream(P2, [[2, 'y'], [4, 'z']]), stream(P1, [[2, 'x']])),
    expect: [at(2, 'y', P2), at(2, 'x', P1), at(4, 'z', P2)].map((line) => ({ line, at: 1 })),
  },
  {
    name: 'documents in a row (one query per pod, one per line): merged across documents, each entry at its own line',
    text: [query(stream(P1, [[4, 'late']])), JSON.stringify({ streams: [stream(P2, [[2, 'early']])] })].join('\n'),
    expect: [{ line: at(2, 'early', P2), at: 2 }, { line: at(4, 'late', P1), at: 1 }],
  },
  {
    // (each entry counts about 76 characters, its labels, line and time: two of them pass 100)
    name: 'past the characters that may be held: what is held is handed over in time order, then the rest',
    text: query(stream(P1, [[3, 'c'], [1, 'a']]), stream(P2, [[2, 'b']])),
    holdChars: 100,
    expect: [at(1, 'a', P1), at(3, 'c', P1), at(2, 'b', P2)].map((line) => ({ line, at: 1 })),
  },
];

describe('Loki API documents: entries in time order', () => {
  for (const c of TIME_ORDER) {
    it(c.name, () => {
      for (const chunk of [Infinity, 5]) assert.deepEqual(scan(c.text, chunk, 'time', c.holdChars), c.expect, `chunks of ${chunk}`);
    });
  }

  it('the file\'s order for detection, which wants the first entries at once', () => {
    const text = TIME_ORDER[0]!.text;
    assert.deepEqual(scan(text, Infinity, 'file').map((e) => (e.line as { line: string }).line), ['c', 'a', 'd', 'b']);
  });
});

/** The logcli jsonl fixture (read by the Loki wrapper, formats.test.ts) as the API documents that hold its entries. */
function documentsOfFixture(): { entries: number; query: object; push: object } {
  const lines = readFileSync(join(FIXTURES, 'loki.jsonl'), 'utf8').split('\n').filter((l) => l.trim() !== '');
  const streams = new Map<string, { stream: Record<string, string>; values: unknown[][] }>();
  for (const text of lines) {
    const l = JSON.parse(text) as { labels: Record<string, string>; line: string; timestamp: string };
    const key = JSON.stringify(l.labels);
    const ms = Date.parse(l.timestamp);
    const fraction = /\.(\d+)Z$/.exec(l.timestamp)?.[1] ?? '';
    const ns = `${Math.floor(ms / 1000)}${fraction.padEnd(9, '0')}`;
    let s = streams.get(key);
    if (s === undefined) streams.set(key, (s = { stream: l.labels, values: [] }));
    s.values.push([ns, l.line]);
  }
  const result = [...streams.values()];
  return {
    entries: lines.length,
    query: { status: 'success', data: { resultType: 'streams', result, stats: { summary: { execTime: 0.002 } } } },
    push: { streams: result.map((s) => ({ stream: s.stream, values: s.values.map((v) => [...v, { trace_id: '0242ac120002' }]) })) },
  };
}

function cli(args: string[]): ReturnType<typeof trafficCli> {
  return trafficCli(args, dir);
}

describe('Loki API documents through ingest and `mesh-policy traffic`', () => {
  const { entries, query, push } = documentsOfFixture();
  const files: Record<string, string | Buffer> = {
    'query-pretty.json': JSON.stringify(query, null, 2),
    'query-compact.json': JSON.stringify(query),
    'query-pretty.json.gz': gzipSync(JSON.stringify(query, null, 2)),
    'push-metadata.json': JSON.stringify(push, null, 1),
  };
  for (const [name, content] of Object.entries(files)) writeFileSync(join(dir, name), content);
  writeFileSync(join(dir, 'loki.jsonl'), readFileSync(join(FIXTURES, 'loki.jsonl')));

  it('each file gives the calls the same entries give as logcli jsonl lines', async () => {
    const expected = await cli(['loki.jsonl', '--format', 'jsonl']);
    assert.equal(expected.code, 0, expected.stderr);
    assert.ok(jsonlRecords(expected.stdout).every((r) => r.time !== undefined));
    for (const name of Object.keys(files)) {
      const result = await cli([name, '--format', 'jsonl']);
      assert.equal(result.code, 0, result.stderr);
      assert.deepEqual(jsonlRecords(result.stdout), jsonlRecords(expected.stdout), name);
    }
  });

  it('detected without a setting (gzip too), every entry counted, samples at the entry\'s line, the writer from the labels', async () => {
    for (const name of Object.keys(files)) {
      const model = await ingestTraffic([join(dir, name)], { inventory: emptyInventory(), config: defaultConfig(dir) });
      assertAccounting(model);
      const file = model.stats.files[0]!;
      assert.equal(file.document, 'loki-api', name);
      assert.equal(file.format, 'consul-envoy-json', name);
      assert.equal(file.lines, entries, name);
      assert.equal(file.parsed, entries, name);
      const text = name.endsWith('.gz') ? JSON.stringify(query, null, 2) : String(files[name]);
      const starts = new Set<number>();
      for (const [i, line] of text.split('\n').entries()) if (/^\s*\[\s*$|\[\s*"\d+"/.test(line)) starts.add(i + 1);
      for (const shape of model.shapes) {
        for (const sample of shape.samples) assert.ok(name.includes('compact') ? sample.line === 1 : starts.has(sample.line), `${name}: sample at ${sample.line}`);
      }
      // the fixture's pod writes the inbound lines: the destination comes from its labels
      assert.ok(model.shapes.some((s) => s.destinationBy['shipper'] !== undefined), name);
    }
  });

  it('a gzipped document followed by bytes that are not gzip: every entry read, the bytes named', async () => {
    const path = join(dir, 'query-then-garbage.json.gz');
    writeFileSync(path, Buffer.concat([gzipSync(JSON.stringify(query, null, 2)), Buffer.from('garbage')]));
    const model = await ingestTraffic([path], { inventory: emptyInventory(), config: defaultConfig(dir) });
    assertAccounting(model);
    const file = model.stats.files[0]!;
    assert.deepEqual([file.document, file.lines, file.parsed], ['loki-api', entries, entries]);
    assert.deepEqual(model.stats.problems, [`${path}: 7 bytes after the end of the compressed data were ignored (not gzip)`]);
  });

  it('`mesh-policy traffic` names the file as a Loki API document, and a metric result\'s reason', async () => {
    writeFileSync(join(dir, 'matrix.json'), JSON.stringify({ status: 'success', data: { resultType: 'matrix', result: [{ metric: { level: 'info' }, values: [[1588889221, '137.95']] }] } }));
    const result = await cli(['query-pretty.json', 'matrix.json']);
    assert.equal(result.code, 0, result.stderr);
    assert.match(result.stdout, /query-pretty\.json \(loki-api\)\s+consul-envoy-json\s+4\s+4\s+0/);
    assert.match(result.stdout, /matrix\.json \(loki-api\)/);
    assert.match(result.stdout, /Loki matrix result \(a metric query\): it holds samples, not log lines/);
  });

  it('readers.format: loki-api forces the reading, and a file that is no Loki document says why', async () => {
    writeFileSync(join(dir, 'not-loki.log'), readFileSync(join(FIXTURES, 'istio-text.log')));
    const config = { ...defaultConfig(dir), readers: { files: { 'not-loki.log': { format: 'loki-api' } } } };
    assert.deepEqual(readerSettingProblems(config), []);
    const model = await ingestTraffic([join(dir, 'not-loki.log')], { inventory: emptyInventory(), config });
    assertAccounting(model);
    assert.equal(model.stats.files[0]!.document, 'loki-api');
    assert.deepEqual(model.stats.skippedByReason, { 'Loki API document: JSON syntax error at line 1: the file does not start with a JSON object; the rest of the file is not read': 1 });
    assert.deepEqual(readerSettingProblems({ ...config, readers: { format: 'loki' } }), [
      'readers.format must be one of envoy-text, envoy-json, linkerd-apache, linkerd-json, consul-envoy-json, ztunnel, access-record, loki-api, otlp-json (got "loki")',
    ]);
  });

  it('the fixture: a query_range response and a push body, one per line, read as twice the logcli jsonl fixture', async () => {
    const model = await ingestTraffic([join(FIXTURES, 'loki-api.json')], { inventory: emptyInventory(), config: defaultConfig(dir) });
    const jsonl = await ingestTraffic([join(FIXTURES, 'loki.jsonl')], { inventory: emptyInventory(), config: defaultConfig(dir) });
    assertAccounting(model);
    const file = model.stats.files[0]!;
    assert.deepEqual({ document: file.document, format: file.format, lines: file.lines, parsed: file.parsed }, { document: 'loki-api', format: 'consul-envoy-json', lines: 2 * entries, parsed: 2 * entries });
    assert.deepEqual(model.stats.observed, Object.fromEntries(Object.entries(jsonl.stats.observed).map(([k, v]) => [k, 2 * v])));
    assert.deepEqual(new Set(model.shapes.flatMap((s) => s.samples.map((x) => x.line))), new Set([1, 2]));
  });

  it('readers: the format of the lines forced for every file, loki-api for one', async () => {
    const config = { ...defaultConfig(dir), readers: { format: 'envoy-json', files: { 'query-compact.json': { format: 'loki-api' } } } };
    assert.deepEqual(readerSettingProblems(config), []);
    const model = await ingestTraffic([join(dir, 'query-compact.json')], { inventory: emptyInventory(), config });
    const file = model.stats.files[0]!;
    assert.deepEqual({ document: file.document, format: file.format, parsed: file.parsed }, { document: 'loki-api', format: 'envoy-json', parsed: entries });
  });

  it('detection: API documents yes, logcli jsonl and access log lines no', async () => {
    for (const name of Object.keys(files)) assert.equal((await sniffDocument(join(dir, name), name.endsWith('.gz')))?.format, 'loki-api', name);
    assert.equal((await sniffDocument(join(FIXTURES, 'loki-api.json'), false))?.sample.length, 2 * entries);
    for (const name of ['loki.jsonl', 'istio-json.log', 'istio-text.log', 'records.jsonl', 'consul.jsonl']) {
      assert.equal(await sniffDocument(join(FIXTURES, name), false), undefined, name);
    }
  });
});

describe('logcli query\'s line outputs', () => {
  const jsonl = readFileSync(join(FIXTURES, 'loki.jsonl'), 'utf8').split('\n').filter((l) => l.trim() !== '');
  const first = JSON.parse(jsonl[0]!) as { labels: Record<string, string>; line: string };

  it('--output=raw: the bare lines, read as the format', () => {
    const read = createReader('consul-envoy-json').read(first.line);
    assert.equal(read.kind, 'record');
  });

  it('--output=default: `<RFC 3339> {labels} <line>` reads as the jsonl line with the same labels', () => {
    // pkg/logcli/output/default.go: the time (RFC 3339, seconds), the labels as Prometheus prints
    // them (`{name="value", ...}`, Go-quoted) padded with spaces, then the line
    const labels = `{${Object.keys(first.labels).sort().map((k) => `${k}=${JSON.stringify(first.labels[k])}`).join(', ')}}`;
    const line = `2025-03-14T15:00:00+01:00 ${labels}    ${first.line}`;
    const viaDefault = createReader('consul-envoy-json').read(line);
    const viaJsonl = createReader('consul-envoy-json').read(jsonl[0]!);
    assert.equal(viaDefault.kind, 'record');
    assert.equal(viaJsonl.kind, 'record');
    if (viaDefault.kind !== 'record' || viaJsonl.kind !== 'record') return;
    assert.deepEqual(viaDefault.record, viaJsonl.record);
    assert.deepEqual(viaDefault.shipper, { ...viaJsonl.shipper, time: '2025-03-14T15:00:00+01:00' });
    // --no-labels: the time alone
    const bare = createReader('consul-envoy-json').read(`2025-03-14T15:00:00+01:00 ${first.line}`);
    assert.equal(bare.kind, 'record');
  });
});

/**
 * An example's traffic files as the entries Loki would hold: the log line out of its wrapping
 * (`kubectl logs --prefix`'s `[pod/<pod>/<container>] `, Fluent Bit's `{"log", "kubernetes"}`),
 * the writer as stream labels, at the line's own start time; grouped into one stream per pod.
 */
function parsed(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}

function lokiStreamsOf(files: string[]): { stream: Record<string, string>; values: [string, string][] }[] {
  const streams = new Map<string, { stream: Record<string, string>; values: [string, string][] }>();
  for (const file of files) {
    let last = 0;
    for (const text of readFileSync(file, 'utf8').split('\n')) {
      let labels: Record<string, string> | undefined;
      let line = text;
      const prefix = /^\[pod\/([^/\]]+)\/([^\]]+)\] (.*)$/.exec(text);
      if (prefix) {
        labels = { pod: prefix[1]!, container: prefix[2]! };
        line = prefix[3]!;
      } else if (text.startsWith('{"date"')) {
        const record = parsed(text) as { log?: string; kubernetes: { pod_name: string; namespace_name: string; container_name: string; labels: Record<string, string> } } | undefined;
        const k = record?.kubernetes;
        if (k !== undefined) {
          labels = { namespace: k.namespace_name, pod: k.pod_name, container: k.container_name, ...k.labels };
          line = (record!.log ?? '').replace(/\n$/, '');
        }
      }
      // (Loki keeps no empty line; a line in no wrapping stays in its file's stream)
      if (line.trim() === '') continue;
      labels ??= { filename: file };
      const start = /"start_time":"([^"]+)"/.exec(line)?.[1] ?? /^\[(\d{4}-[^\]]+Z)\]/.exec(line)?.[1];
      const ms = start === undefined ? last : Date.parse(start);
      last = ms;
      const key = JSON.stringify(labels);
      let s = streams.get(key);
      if (s === undefined) streams.set(key, (s = { stream: labels, values: [] }));
      s.values.push([`${ms}000000`, line]);
    }
  }
  return [...streams.values()];
}

describe('the example traffic as Loki documents: the calls of the plain files', () => {
  const examples = join(ROOT, 'examples');
  const inventoryOf = (mesh: string) => {
    const files = collectTrafficFiles([join(examples, mesh)], { ...defaultConfig(examples), traffic: ['**/*.yaml'] }).files;
    return buildInventory(files.map((f) => readSource(f, readFileSync(f, 'utf8'))));
  };
  const facts = (m: TrafficModel) => {
    const s = m.stats;
    return {
      parsed: s.parsed, calls: s.calls, joinedPairs: s.joinedPairs, tcpPairs: s.tcpPairs, gatewayLegs: s.gatewayLegs, observed: s.observed,
      sourceBy: s.sourceBy, destinationBy: s.destinationBy, unresolvedSource: s.unresolvedSourceByReason, unresolvedDestination: s.unresolvedDestinationByReason,
      unmatched: s.join.unmatched,
      shapes: Object.fromEntries(m.shapes.map((x) => [shapeKey(x.record), { count: x.count, joined: x.joined, sourceBy: x.sourceBy, destinationBy: x.destinationBy, first: x.firstTime, last: x.lastTime }])),
    };
  };

  for (const mesh of ['consul', 'istio']) {
    it(`${mesh}: a query response (each stream newest first), a push body, and one response per pod in a row`, async () => {
      const traffic = join(examples, mesh, 'traffic');
      const logs = readdirSync(traffic).filter((f) => f.endsWith('.log')).map((f) => join(traffic, f));
      const streams = lokiStreamsOf(logs);
      assert.ok(streams.length >= 3, `${streams.length} streams`);
      const newestFirst = streams.map((s) => ({ stream: s.stream, values: [...s.values].reverse() }));
      const documents: Record<string, string> = {
        [`${mesh}-query.json`]: JSON.stringify({ status: 'success', data: { resultType: 'streams', result: newestFirst, stats: {} } }, null, 2),
        [`${mesh}-push.json`]: JSON.stringify({ streams }),
        [`${mesh}-per-pod.json`]: streams.map((s) => JSON.stringify({ status: 'success', data: { resultType: 'streams', result: [s] } })).join('\n'),
      };
      const inventory = inventoryOf(mesh);
      const plain = await ingestTraffic([traffic], { inventory, config: defaultConfig(examples) });
      // the two sides of many calls are joined in the plain files
      assert.ok(plain.stats.joinedPairs > 300, `${plain.stats.joinedPairs} pairs`);
      for (const [name, text] of Object.entries(documents)) {
        writeFileSync(join(dir, name), text);
        const model = await ingestTraffic([join(dir, name)], { inventory, config: defaultConfig(examples) });
        assertAccounting(model);
        assert.equal(model.stats.files[0]!.document, 'loki-api', name);
        assert.equal(model.stats.lines, streams.reduce((n, s) => n + s.values.length, 0), `${name}: one line per entry`);
        assert.deepEqual(facts(model), facts(plain), name);
      }
      // what `mesh-policy traffic` says of them: the same calls, joins and callers
      const summary = (stdout: string) => stdout.slice(stdout.indexOf('\nCalls:'), stdout.indexOf('\nDestination resolved by:'));
      const expected = await trafficCli([traffic, '--inventory', join(examples, mesh)], dir);
      const read = await trafficCli([join(dir, `${mesh}-query.json`), '--inventory', join(examples, mesh)], dir);
      assert.equal(read.code, 0, read.stderr);
      assert.match(summary(expected.stdout), /Calls: [\d,]+ in/);
      assert.equal(summary(read.stdout), summary(expected.stdout));
    });
  }
});

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { AccessRecord } from '../../../server/src/engine/traffic/accessRecord';
import { createReader } from '../../../server/src/engine/traffic/detect';
import { GAP_NO_IDENTITY_FIELD } from '../../../server/src/engine/traffic/formats/envoyFields';
import type { LineResult, LogFormatId, ParsedLine, ReaderOptions } from '../../../server/src/engine/traffic/readerTypes';

/**
 * Line variants of the upstream formats, written by hand; each expected record follows the
 * format's definition (Envoy's command operators, docs/access-records.md's mapping), not what
 * a reader printed.
 */

type Case = { name: string; line: string; expect: LineResult };

function record(rec: AccessRecord, side: ParsedLine['side'], extra: Partial<Omit<ParsedLine, 'kind' | 'record' | 'side'>> = {}): ParsedLine {
  return { kind: 'record', record: rec, side, ...extra };
}

function runTable(format: LogFormatId, options: ReaderOptions, cases: Case[]): void {
  for (const c of cases) {
    it(c.name, () => {
      assert.deepEqual(createReader(format, options).read(c.line), c.expect);
      // the fast path (peek, then the record of the peeked line) tells the same story
      const reader = createReader(format, options);
      const peeked = reader.peek?.(c.line);
      if (peeked !== undefined && c.expect.kind === 'record') {
        assert.deepEqual(reader.readPeeked?.(), c.expect);
      }
    });
  }
}

// Envoy writes a gRPC status in the response headers for a trailers-only response (an error
// before any message) and in the trailers otherwise; `%GRPC_STATUS%` reads either. A format
// that logs both operators shows `-` for the one that was not sent.
const GRPC_TEXT_FORMAT = '[%START_TIME%] "%REQ(:METHOD)% %REQ(:PATH)% %PROTOCOL%" %RESPONSE_CODE% %RESPONSE_CODE_DETAILS% %RESP(GRPC-STATUS)% %TRAILER(GRPC-STATUS)% %DOWNSTREAM_REMOTE_ADDRESS%\n';

function grpcCall(time: string, protocol: AccessRecord['protocol']): AccessRecord {
  return {
    time,
    mesh: 'istio',
    protocol,
    source: { ip: '10.244.2.21' },
    request: { method: 'POST', path: '/pkg.Greeter/Hello', recordedHeaders: [], jwtUnknown: true },
    response: { status: 200, details: 'via_upstream' },
    observed: 'allowed',
    count: 1,
  };
}

describe('envoy-text: two operators of one field (RESP and TRAILER grpc-status)', () => {
  runTable('envoy-text', { envoyFormat: GRPC_TEXT_FORMAT }, [
    {
      name: 'the status in the headers, `-` in the trailers: gRPC',
      line: '[2025-03-14T09:26:53.412Z] "POST /pkg.Greeter/Hello HTTP/2" 200 via_upstream 7 - 10.244.2.21:40318',
      expect: record(grpcCall('2025-03-14T09:26:53.412Z', 'grpc'), 'unknown', { identityGap: GAP_NO_IDENTITY_FIELD }),
    },
    {
      name: 'the status in the trailers, `-` in the headers: gRPC',
      line: '[2025-03-14T09:26:54.412Z] "POST /pkg.Greeter/Hello HTTP/2" 200 via_upstream - 0 10.244.2.21:40318',
      expect: record(grpcCall('2025-03-14T09:26:54.412Z', 'grpc'), 'unknown', { identityGap: GAP_NO_IDENTITY_FIELD }),
    },
    {
      name: 'neither: plain HTTP/2',
      line: '[2025-03-14T09:26:55.412Z] "POST /pkg.Greeter/Hello HTTP/2" 200 via_upstream - - 10.244.2.21:40318',
      expect: record(grpcCall('2025-03-14T09:26:55.412Z', 'http2'), 'unknown', { identityGap: GAP_NO_IDENTITY_FIELD }),
    },
  ]);
});

const GRPC_JSON_FORMAT = '{"start_time":"%START_TIME%","method":"%REQ(:METHOD)%","path":"%REQ(:PATH)%","protocol":"%PROTOCOL%","code":"%RESPONSE_CODE%","details":"%RESPONSE_CODE_DETAILS%","grpc_headers":"%RESP(GRPC-STATUS)%","grpc_trailers":"%TRAILER(GRPC-STATUS)%","peer":"%DOWNSTREAM_REMOTE_ADDRESS%"}';

describe('envoy-json: two keys of one field (RESP and TRAILER grpc-status)', () => {
  runTable('envoy-json', { envoyFormat: GRPC_JSON_FORMAT }, [
    {
      name: 'the status in the headers, null in the trailers: gRPC',
      line: '{"start_time":"2025-03-14T09:26:53.412Z","method":"POST","path":"/pkg.Greeter/Hello","protocol":"HTTP/2","code":200,"details":"via_upstream","grpc_headers":"7","grpc_trailers":null,"peer":"10.244.2.21:40318"}',
      expect: record(grpcCall('2025-03-14T09:26:53.412Z', 'grpc'), 'unknown', { identityGap: GAP_NO_IDENTITY_FIELD }),
    },
    {
      name: 'the status in the headers, "-" in the trailers (values as strings): gRPC',
      line: '{"start_time":"2025-03-14T09:26:54.412Z","method":"POST","path":"/pkg.Greeter/Hello","protocol":"HTTP/2","code":"200","details":"via_upstream","grpc_headers":"7","grpc_trailers":"-","peer":"10.244.2.21:40318"}',
      expect: record(grpcCall('2025-03-14T09:26:54.412Z', 'grpc'), 'unknown', { identityGap: GAP_NO_IDENTITY_FIELD }),
    },
    {
      name: 'neither: plain HTTP/2',
      line: '{"start_time":"2025-03-14T09:26:55.412Z","method":"POST","path":"/pkg.Greeter/Hello","protocol":"HTTP/2","code":200,"details":"via_upstream","grpc_headers":null,"grpc_trailers":null,"peer":"10.244.2.21:40318"}',
      expect: record(grpcCall('2025-03-14T09:26:55.412Z', 'http2'), 'unknown', { identityGap: GAP_NO_IDENTITY_FIELD }),
    },
  ]);
});

// `%REQ(X?Y)%`: the value of header X, or of Y when X is absent (Envoy's access log docs,
// command operators). A value is then neither header's for sure, so the record keeps neither.
const ALTERNATIVE_FORMAT = '[%START_TIME%] "%REQ(:METHOD)% %REQ(X-ENVOY-ORIGINAL-PATH?:PATH)% %PROTOCOL%" %RESPONSE_CODE% "%REQ(X-USER?X-ALT-USER)%" "%REQ(USER-AGENT?X-CLIENT)%" "%REQ(:AUTHORITY?HOST)%" "%REQ(X-TENANT)%"';

function alternativeCall(time: string, path: string, tenant: string | undefined): AccessRecord {
  return {
    time,
    mesh: 'istio',
    protocol: 'http',
    request: {
      method: 'GET',
      path,
      host: 'httpbin.foo:8000',
      ...(tenant === undefined ? {} : { headers: { 'x-tenant': tenant } }),
      recordedHeaders: ['x-tenant'],
      jwtUnknown: true,
    },
    response: { status: 200 },
    observed: 'unknown',
    count: 1,
  };
}

describe('envoy-text: %REQ(X?Y)% with another header as Y', () => {
  runTable('envoy-text', { envoyFormat: ALTERNATIVE_FORMAT }, [
    {
      name: 'a value may be either header\'s: neither is recorded',
      line: '[2025-03-14T09:26:53.412Z] "GET /a?b=1 HTTP/1.1" 200 "alice" "curl/8.5.0" "httpbin.foo:8000" "acme"',
      expect: record(alternativeCall('2025-03-14T09:26:53.412Z', '/a?b=1', 'acme'), 'unknown', { identityGap: GAP_NO_IDENTITY_FIELD }),
    },
    {
      name: '`-`: the same (the record names no header it cannot tell)',
      line: '[2025-03-14T09:26:54.412Z] "GET /b HTTP/1.1" 200 "-" "-" "httpbin.foo:8000" "-"',
      expect: record(alternativeCall('2025-03-14T09:26:54.412Z', '/b', undefined), 'unknown', { identityGap: GAP_NO_IDENTITY_FIELD }),
    },
  ]);
});

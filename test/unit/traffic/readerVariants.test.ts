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

// `%REQ(X):N%`: Envoy cuts the value to N bytes (Envoy's access log docs, command operators;
// SubstitutionFormatUtils::truncate resizes the std::string). A value of N bytes of UTF-8 may be
// the head of a longer one: that field is not logged (a policy on it decides `unknown`); a
// shorter value is whole. A character split by the cut reads back as U+FFFD.
const LIMITED_TEXT_FORMAT = '%REQ(:METHOD)% "%REQ(:PATH):12%" %RESPONSE_CODE% "%REQ(:AUTHORITY):24%" "%REQ(X-TENANT):4%"';
const LIMITED_JSON_FORMAT = '{"method":"%REQ(:METHOD)%","path":"%REQ(:PATH):12%","code":"%RESPONSE_CODE%","host":"%REQ(:AUTHORITY):24%","tenant":"%REQ(X-TENANT):4%"}';

function limitedCall(request: NonNullable<AccessRecord['request']>): ParsedLine {
  return record({ mesh: 'istio', protocol: 'http', request: { method: 'GET', ...request, jwtUnknown: true }, response: { status: 200 }, observed: 'unknown', count: 1 }, 'unknown', {
    identityGap: GAP_NO_IDENTITY_FIELD,
  });
}

describe('envoy-text: values at their operator\'s :N length limit', () => {
  runTable('envoy-text', { envoyFormat: LIMITED_TEXT_FORMAT }, [
    {
      name: 'shorter than the limits: whole',
      line: 'GET "/a?b=1" 200 "httpbin.foo:8000" "acm"',
      expect: limitedCall({ path: '/a?b=1', host: 'httpbin.foo:8000', headers: { 'x-tenant': 'acm' }, recordedHeaders: ['x-tenant'] }),
    },
    {
      name: 'as long as the limits: maybe cut, not logged',
      line: 'GET "/status/200" 200 "httpbin.foo:8000" "acme"',
      expect: limitedCall({ path: '/status/200', host: 'httpbin.foo:8000', recordedHeaders: [] }),
    },
    {
      name: 'the path at its limit',
      line: 'GET "/admin/users" 200 "a.foo:80" "-"',
      expect: limitedCall({ host: 'a.foo:80', recordedHeaders: ['x-tenant'] }),
    },
    {
      name: 'non-ASCII values at their limits in bytes, fewer characters: maybe cut, not logged',
      line: 'GET "/cafés/menu" 200 "a.foo:80" "açm"',
      expect: limitedCall({ host: 'a.foo:80', recordedHeaders: [] }),
    },
    {
      name: 'a character split by the cut (U+FFFD): cut, not logged',
      line: 'GET "/ééééé\uFFFD" 200 "a.foo:80" "ñ\uFFFD"',
      expect: limitedCall({ host: 'a.foo:80', recordedHeaders: [] }),
    },
    {
      name: 'a non-ASCII value shorter than its limit in bytes: whole',
      line: 'GET "/a" 200 "a.foo:80" "ñu"',
      expect: limitedCall({ path: '/a', host: 'a.foo:80', headers: { 'x-tenant': 'ñu' }, recordedHeaders: ['x-tenant'] }),
    },
  ]);
});

describe('envoy-json: values at their key\'s :N length limit', () => {
  runTable('envoy-json', { envoyFormat: LIMITED_JSON_FORMAT }, [
    {
      name: 'shorter than the limits: whole',
      line: '{"method":"GET","path":"/a?b=1","code":200,"host":"httpbin.foo:8000","tenant":"acm"}',
      expect: limitedCall({ path: '/a?b=1', host: 'httpbin.foo:8000', headers: { 'x-tenant': 'acm' }, recordedHeaders: ['x-tenant'] }),
    },
    {
      name: 'the path and the header at their limits: maybe cut, not logged',
      line: '{"method":"GET","path":"/admin/users","code":200,"host":"a.foo:80","tenant":"acme"}',
      expect: limitedCall({ host: 'a.foo:80', recordedHeaders: [] }),
    },
    {
      name: 'non-ASCII values at their limits in bytes, fewer characters: maybe cut, not logged',
      line: '{"method":"GET","path":"/cafés/menu","code":200,"host":"a.foo:80","tenant":"a\\u00e7m"}',
      expect: limitedCall({ host: 'a.foo:80', recordedHeaders: [] }),
    },
  ]);
});

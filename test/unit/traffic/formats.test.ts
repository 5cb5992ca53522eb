import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import Ajv from 'ajv';
import addFormats from 'ajv-formats';
import type { AccessRecord } from '../../../server/src/engine/traffic/accessRecord';
import { classifyLine, createReader, detectFormat } from '../../../server/src/engine/traffic/detect';
import { MAX_CLAIMS_DEPTH, checkAccessRecord } from '../../../server/src/engine/traffic/formats/accessRecordJsonl';
import { hashKeyParts, normalizeTime } from '../../../server/src/engine/traffic/formats/common';
import { istioDeniedBy, parseDenyReason } from '../../../server/src/engine/traffic/formats/denial';
import { GAP_CLIENT_SIDE, GAP_NO_IDENTITY_FIELD, operatorTarget } from '../../../server/src/engine/traffic/formats/envoyFields';
import { EnvoyFormatError, checkEnvoyFormat, createEnvoyTextReader } from '../../../server/src/engine/traffic/formats/envoyText';
import { tlsIdentity } from '../../../server/src/engine/traffic/formats/linkerdProxyEvents';
import type { LineReader, LineResult, LogFormatId, ParsedLine, ReaderOptions, ShipperMetadata, SkippedLine } from '../../../server/src/engine/traffic/readerTypes';
import { FIXTURES, REPO_ROOT } from '../../helpers/paths';

/**
 * Table tests for the access log readers. Every line is written by hand from the format
 * definitions in the spec (made-up addresses and ids); every expected record follows the
 * mapping rules of docs/access-records.md, field by field.
 */

type Case = { name: string; line: string; expect: LineResult };

function record(rec: AccessRecord, side: ParsedLine['side'], extra: Partial<Omit<ParsedLine, 'kind' | 'record' | 'side'>> = {}): ParsedLine {
  return { kind: 'record', record: rec, side, ...extra };
}

function skip(reason: string): LineResult {
  return { kind: 'skip', reason };
}

/** A line that starts as an Envoy line (a bracketed time) but fits neither default format: it names the setting to use. */
const NOT_A_DEFAULT_ENVOY_FORMAT = skip("Envoy access log line of neither Istio's nor Envoy's default format (cut short, or written with a custom format: give it in readers.envoyFormat)");
/** The same with a format string given. */
const NOT_THE_GIVEN_ENVOY_FORMAT = skip('Envoy access log line that does not fit the given format string (cut short, or written with another format)');

function runTable(format: LogFormatId, cases: Case[], options?: ReaderOptions): void {
  for (const c of cases) {
    it(c.name, () => {
      const reader = createReader(format, options);
      const expect = asLogged(format, c.line, c.expect, options);
      assert.deepEqual(reader.read(c.line), expect);
      assertPeekAgrees(createReader(format, options), c.line, expect);
    });
  }
}

/** The operators of a format string (or of one JSON value of a format), without their `%`. */
function operatorsIn(format: string): string[] {
  return [...format.matchAll(/%([A-Z_]+(?:\([^)]*\))?(?::\d+)?)%/g)].map((m) => m[1]!);
}

/** The access log's own object in a JSON line: the line itself, or what a shipper wraps (`log`, `message`, `line`: text or an object). */
function accessLogObject(line: string): Record<string, unknown> {
  const outer = JSON.parse(line.slice(line.indexOf('{'))) as Record<string, unknown>;
  if ('method' in outer || 'response_code' in outer || 'start_time' in outer) return outer;
  for (const key of ['log', 'message', 'line']) {
    const inner = outer[key];
    if (typeof inner === 'string' && inner.includes('{')) return accessLogObject(inner);
    if (inner !== null && typeof inner === 'object') return inner as Record<string, unknown>;
  }
  return outer;
}

/** The key paths of an object (`a.b` for nested objects), leaves and objects alike. */
function keyPaths(value: Record<string, unknown>, prefix = '', out = new Set<string>()): Set<string> {
  for (const [key, child] of Object.entries(value)) {
    out.add(prefix + key);
    if (child !== null && typeof child === 'object' && !Array.isArray(child)) keyPaths(child as Record<string, unknown>, `${prefix}${key}.`, out);
  }
  return out;
}

/** A JSON format's operators by key path. */
function* stringLeaves(value: unknown, prefix = ''): Generator<[string, string]> {
  if (value === null || typeof value !== 'object') return;
  for (const [key, child] of Object.entries(value as Record<string, unknown>)) {
    if (typeof child === 'string') yield [prefix + key, child];
    else yield* stringLeaves(child, `${prefix}${key}.`);
  }
}

/** A table's cases with what the reader adds about what the log does not record (`asLogged`), for the tests that reuse their expected records. */
function logged(format: LogFormatId, cases: Case[]): Case[] {
  return cases.map((c) => ({ ...c, expect: asLogged(format, c.line, c.expect) }));
}

/** The request headers of Envoy's and Istio's default TEXT formats: `%REQ(X-FORWARDED-FOR)%` and `%REQ(USER-AGENT)%` (the request id and the authority are not headers of the record). */
const DEFAULT_TEXT_HEADERS = ['user-agent', 'x-forwarded-for'];
/** The default JSON keys of request headers (docs/access-records.md), in the order the record names them. */
const DEFAULT_JSON_HEADER_KEYS: [string, string][] = [['user_agent', 'user-agent'], ['x_forwarded_for', 'x-forwarded-for'], ['content_type', 'content-type']];
const SLOTTED_HEADERS = ['user-agent', 'x-forwarded-for', 'content-type'];

/** The headers `%REQ(h)%` operators of a format string name, the slotted ones first, as a record lists them (not the request id, the authority, nor pseudo-headers). */
function formatHeaders(operators: string[]): string[] {
  const names = operators.flatMap((op) => {
    const m = /^REQ\(([^)]*)\)/.exec(op);
    const alternatives = m ? m[1]!.toLowerCase().split('?') : [];
    // (`REQ(a?b)` with another header as b: the value may be either header's, so neither is recorded)
    const name = alternatives.length === 1 ? alternatives[0]! : '';
    return name && !alternatives.includes(':path') && !name.startsWith(':') && name !== 'x-request-id' ? [name] : [];
  });
  return [...SLOTTED_HEADERS.filter((h) => names.includes(h)), ...names.filter((h) => !SLOTTED_HEADERS.includes(h))];
}

/**
 * What a reader adds to every HTTP record about what its log does not record
 * (docs/access-records.md): `request.recordedHeaders`, the headers the line's format carries
 * (for JSON, those of its keys the line has), and for Envoy lines `request.jwtUnknown`, since no
 * Envoy log records the token, unless the line is a JWT 401 (whose record says what it can).
 */
function asLogged(format: LogFormatId, line: string, expect: LineResult, options?: ReaderOptions): LineResult {
  if (expect.kind !== 'record' || !expect.record.request) return expect;
  let recorded: string[];
  const custom = options?.envoyFormat;
  if (format === 'linkerd-apache') recorded = [];
  else if (format === 'linkerd-json') recorded = ['user-agent'];
  else if (format === 'envoy-text') recorded = custom === undefined ? DEFAULT_TEXT_HEADERS : formatHeaders(operatorsIn(custom));
  else if (format === 'envoy-json' || format === 'consul-envoy-json') {
    const keys = keyPaths(accessLogObject(line));
    recorded = custom === undefined
      ? DEFAULT_JSON_HEADER_KEYS.filter(([key]) => keys.has(key)).map(([, name]) => name)
      : formatHeaders([...stringLeaves(JSON.parse(custom))].filter(([path]) => keys.has(path)).flatMap(([, value]) => operatorsIn(value)));
  } else return expect;
  const request: NonNullable<AccessRecord['request']> = { ...expect.record.request, recordedHeaders: recorded };
  const jwt401 = expect.record.response?.details?.startsWith('jwt_authn_access_denied') === true;
  if (format !== 'linkerd-apache' && format !== 'linkerd-json' && !request.jwt && !jwt401) request.jwtUnknown = true;
  return { ...expect, record: { ...expect.record, request } };
}

/** Ingestion's fast path (LineReader.peek) never tells another story than `read`. */
function assertPeekAgrees(reader: LineReader, line: string, expected: LineResult): void {
  const peeked = reader.peek?.(line);
  if (peeked === undefined) return;
  assert.equal(expected.kind, 'record', 'a line with a key reads as a record');
  const e = expected as ParsedLine;
  assert.equal(e.shipper, undefined, 'lines with shipper metadata take the full way');
  assert.equal(peeked.time, e.record.time);
  assert.equal(peeked.side, e.side);
  assert.equal(peeked.mesh, e.record.mesh);
  assert.equal(peeked.requestId, e.requestId);
  // (Linkerd lines join nothing: their hop is not used)
  if (e.record.mesh !== 'linkerd') assert.deepEqual([peeked.method, peeked.host, peeked.path], [e.record.request?.method, e.record.request?.host, e.record.request?.path]);
  assert.equal(peeked.hash, hashKeyParts(peeked.parts));
  // the record of a new key is built from what the peek found
  assert.ok(reader.readPeeked, 'a reader with peek has readPeeked');
  const key = peeked.parts.join('\u0001');
  const partsCopy = peeked.parts.slice();
  const { time, requestId, method, host, path } = peeked;
  assert.deepEqual(reader.readPeeked(), expected);
  // a line waiting in the join window is rebuilt from its key, time and request id alone
  if (reader.readParts) {
    assert.deepEqual(reader.readParts(key, time, requestId), expected);
    // or from a copy of its parts (a line whose key was new, until the end of its batch)
    assert.deepEqual(reader.readParts(partsCopy, time, requestId), expected);
    const parts = key.split('\u0001');
    const [m, h, p] = reader.hopParts!.map((i) => (parts[i] === '' || parts[i] === '\u0000' ? undefined : parts[i]));
    assert.deepEqual([m, h, p], [method, host, path], 'hopParts point at the method, host and path');
  }
}

const SNI_HTTPBIN = 'outbound_.8000_._.httpbin.foo.svc.cluster.local';
const HTTPBIN_INBOUND = { service: 'httpbin.foo.svc.cluster.local', namespace: 'foo', ip: '10.244.2.23', port: 8080 };

// ---------------------------------------------------------------------------------------------
// Istio / Envoy TEXT
// ---------------------------------------------------------------------------------------------

const ISTIO_TEXT: Case[] = logged('envoy-text', [
  {
    name: 'allowed, server side (inbound cluster, mTLS SNI)',
    line: '[2025-03-14T09:26:53.412Z] "GET /status/200 HTTP/1.1" 200 - via_upstream - "-" 0 0 3 2 "-" "curl/8.5.0" "5f0c2a9e-1b7d-4c36-9a0e-2d41c7e0b3aa" "httpbin.foo:8000" "10.244.2.23:8080" inbound|8080|| 127.0.0.6:51022 10.244.2.23:8080 10.244.2.21:40318 outbound_.8000_._.httpbin.foo.svc.cluster.local default',
    expect: record(
      {
        time: '2025-03-14T09:26:53.412Z',
        mesh: 'istio',
        protocol: 'http',
        source: { ip: '10.244.2.21' },
        destination: HTTPBIN_INBOUND,
        request: { method: 'GET', path: '/status/200', host: 'httpbin.foo:8000', headers: { 'user-agent': 'curl/8.5.0' } },
        sni: SNI_HTTPBIN,
        response: { status: 200, details: 'via_upstream' },
        observed: 'allowed',
        count: 1,
      },
      'inbound',
      { requestId: '5f0c2a9e-1b7d-4c36-9a0e-2d41c7e0b3aa', identityGap: GAP_NO_IDENTITY_FIELD },
    ),
  },
  {
    name: 'RBAC denial, ALLOW-list mismatch ([none]): no cluster, no upstream host',
    line: '[2025-03-14T09:27:10.006Z] "POST /post HTTP/1.1" 403 - rbac_access_denied_matched_policy[none] - "-" 0 19 0 - "-" "curl/8.5.0" "0d5a77c1-8e43-4f0b-b1a2-6c2f4b90e7d1" "httpbin.foo:8000" "-" - - 10.244.2.23:8080 10.244.2.21:40322 outbound_.8000_._.httpbin.foo.svc.cluster.local -',
    expect: record(
      {
        time: '2025-03-14T09:27:10.006Z',
        mesh: 'istio',
        protocol: 'http',
        source: { ip: '10.244.2.21' },
        destination: HTTPBIN_INBOUND,
        request: { method: 'POST', path: '/post', host: 'httpbin.foo:8000', headers: { 'user-agent': 'curl/8.5.0' } },
        sni: SNI_HTTPBIN,
        response: { status: 403, details: 'rbac_access_denied_matched_policy[none]', deniedBy: 'none' },
        observed: 'denied',
        count: 1,
      },
      'inbound',
      { requestId: '0d5a77c1-8e43-4f0b-b1a2-6c2f4b90e7d1', identityGap: GAP_NO_IDENTITY_FIELD },
    ),
  },
  {
    name: 'RBAC denial by a named DENY policy',
    line: '[2025-03-14T09:27:31.870Z] "GET /get HTTP/1.1" 403 - rbac_access_denied_matched_policy[ns[foo]-policy[deny-method-get]-rule[0]] - "-" 0 19 0 - "-" "curl/8.5.0" "c41e93d2-77aa-4f2e-8d05-1b6e2f9a0c33" "httpbin.foo:8000" "-" - - 10.244.2.23:8080 10.244.2.21:40330 outbound_.8000_._.httpbin.foo.svc.cluster.local -',
    expect: record(
      {
        time: '2025-03-14T09:27:31.870Z',
        mesh: 'istio',
        protocol: 'http',
        source: { ip: '10.244.2.21' },
        destination: HTTPBIN_INBOUND,
        request: { method: 'GET', path: '/get', host: 'httpbin.foo:8000', headers: { 'user-agent': 'curl/8.5.0' } },
        sni: SNI_HTTPBIN,
        response: { status: 403, details: 'rbac_access_denied_matched_policy[ns[foo]-policy[deny-method-get]-rule[0]]', deniedBy: 'foo/deny-method-get' },
        observed: 'denied',
        count: 1,
      },
      'inbound',
      { requestId: 'c41e93d2-77aa-4f2e-8d05-1b6e2f9a0c33', identityGap: GAP_NO_IDENTITY_FIELD },
    ),
  },
  {
    name: 'RBAC denial of a TCP connection (termination details, status 0)',
    line: '[2025-03-14T09:28:02.115Z] "- - -" 0 - - rbac_access_denied_matched_policy[none] "-" 0 0 1 - "-" "-" "-" "-" "-" inbound|9002|| - 10.244.2.22:9002 10.244.2.21:51544 - -',
    expect: record(
      {
        time: '2025-03-14T09:28:02.115Z',
        mesh: 'istio',
        protocol: 'tcp',
        source: { ip: '10.244.2.21' },
        destination: { ip: '10.244.2.22', port: 9002 },
        response: { details: 'rbac_access_denied_matched_policy[none]', deniedBy: 'none' },
        observed: 'denied',
        count: 1,
      },
      'inbound',
      { identityGap: GAP_NO_IDENTITY_FIELD },
    ),
  },
  {
    name: 'TCP connection passed to the application (server side, no termination details)',
    line: '[2025-03-14T09:28:10.500Z] "- - -" 0 - - - "-" 120 44 35 - "-" "-" "-" "-" "10.244.2.22:9002" inbound|9002|| 127.0.0.6:46012 10.244.2.22:9002 10.244.2.21:51560 outbound_.9002_._.tcp-echo.foo.svc.cluster.local -',
    expect: record(
      {
        time: '2025-03-14T09:28:10.500Z',
        mesh: 'istio',
        protocol: 'tcp',
        source: { ip: '10.244.2.21' },
        destination: { service: 'tcp-echo.foo.svc.cluster.local', namespace: 'foo', ip: '10.244.2.22', port: 9002 },
        sni: 'outbound_.9002_._.tcp-echo.foo.svc.cluster.local',
        observed: 'allowed',
        count: 1,
      },
      'inbound',
      { identityGap: GAP_NO_IDENTITY_FIELD },
    ),
  },
  {
    name: 'ext_authz denial (UAEX flag, ext_authz_denied)',
    line: '[2025-03-14T09:30:12.004Z] "GET /admin HTTP/1.1" 403 UAEX ext_authz_denied - "-" 0 0 2 - "-" "curl/8.5.0" "7f3e2c1d-5a6b-4c7d-8e9f-0a1b2c3d4e5f" "httpbin.foo:8000" "-" - - 10.244.2.23:8080 10.244.2.21:40350 outbound_.8000_._.httpbin.foo.svc.cluster.local -',
    expect: record(
      {
        time: '2025-03-14T09:30:12.004Z',
        mesh: 'istio',
        protocol: 'http',
        source: { ip: '10.244.2.21' },
        destination: HTTPBIN_INBOUND,
        request: { method: 'GET', path: '/admin', host: 'httpbin.foo:8000', headers: { 'user-agent': 'curl/8.5.0' } },
        sni: SNI_HTTPBIN,
        response: { status: 403, flags: 'UAEX', details: 'ext_authz_denied' },
        observed: 'denied',
        count: 1,
      },
      'inbound',
      { requestId: '7f3e2c1d-5a6b-4c7d-8e9f-0a1b2c3d4e5f', identityGap: GAP_NO_IDENTITY_FIELD },
    ),
  },
  {
    name: 'JWT 401 with an invalid token: denied, request.jwt.valid false',
    line: '[2025-03-14T09:29:44.520Z] "GET /headers HTTP/1.1" 401 - jwt_authn_access_denied{Jwt_verification_fails} - "-" 0 79 0 - "-" "curl/8.5.0" "a2b5c7d9-0e1f-4a2b-9c3d-4e5f60718293" "httpbin.foo:8000" "-" - - 10.244.2.23:8080 10.244.2.21:40340 outbound_.8000_._.httpbin.foo.svc.cluster.local -',
    expect: record(
      {
        time: '2025-03-14T09:29:44.520Z',
        mesh: 'istio',
        protocol: 'http',
        source: { ip: '10.244.2.21' },
        destination: HTTPBIN_INBOUND,
        request: { method: 'GET', path: '/headers', host: 'httpbin.foo:8000', headers: { 'user-agent': 'curl/8.5.0' }, jwt: { valid: false } },
        sni: SNI_HTTPBIN,
        response: { status: 401, details: 'jwt_authn_access_denied{Jwt_verification_fails}' },
        observed: 'denied',
        count: 1,
      },
      'inbound',
      { requestId: 'a2b5c7d9-0e1f-4a2b-9c3d-4e5f60718293', identityGap: GAP_NO_IDENTITY_FIELD },
    ),
  },
  {
    name: "an application's own 403 (via_upstream) is allowed by the mesh",
    line: '[2025-03-14T09:30:40.317Z] "DELETE /anything/1 HTTP/1.1" 403 - via_upstream - "-" 0 9 4 3 "-" "curl/8.5.0" "b7c8d9e0-f1a2-4b3c-8d4e-5f6a7b8c9d0e" "httpbin.foo:8000" "10.244.2.23:8080" inbound|8080|| 127.0.0.6:51030 10.244.2.23:8080 10.244.2.21:40360 outbound_.8000_._.httpbin.foo.svc.cluster.local default',
    expect: record(
      {
        time: '2025-03-14T09:30:40.317Z',
        mesh: 'istio',
        protocol: 'http',
        source: { ip: '10.244.2.21' },
        destination: HTTPBIN_INBOUND,
        request: { method: 'DELETE', path: '/anything/1', host: 'httpbin.foo:8000', headers: { 'user-agent': 'curl/8.5.0' } },
        sni: SNI_HTTPBIN,
        response: { status: 403, details: 'via_upstream' },
        observed: 'allowed',
        count: 1,
      },
      'inbound',
      { requestId: 'b7c8d9e0-f1a2-4b3c-8d4e-5f6a7b8c9d0e', identityGap: GAP_NO_IDENTITY_FIELD },
    ),
  },
  {
    name: 'client side of a denied call: 403 via_upstream is not a marker (unknown), destination from the cluster and upstream host',
    line: '[2025-03-14T09:27:10.005Z] "POST /post HTTP/1.1" 403 - via_upstream - "-" 0 19 1 1 "-" "curl/8.5.0" "0d5a77c1-8e43-4f0b-b1a2-6c2f4b90e7d1" "httpbin.foo:8000" "10.244.2.23:8080" outbound|8000||httpbin.foo.svc.cluster.local 10.244.2.21:40322 10.96.44.17:8000 10.244.2.21:39770 - default',
    expect: record(
      {
        time: '2025-03-14T09:27:10.005Z',
        mesh: 'istio',
        protocol: 'http',
        source: { ip: '10.244.2.21' },
        destination: HTTPBIN_INBOUND,
        request: { method: 'POST', path: '/post', host: 'httpbin.foo:8000', headers: { 'user-agent': 'curl/8.5.0' } },
        response: { status: 403, details: 'via_upstream' },
        observed: 'unknown',
        count: 1,
      },
      'outbound',
      { requestId: '0d5a77c1-8e43-4f0b-b1a2-6c2f4b90e7d1', identityGap: GAP_CLIENT_SIDE },
    ),
  },
  {
    name: 'gRPC over HTTP/2 (grpc User-Agent), query kept in the path',
    line: '[2025-03-14T09:32:00.250Z] "POST /grpc.health.v1.Health/Check?probe=1 HTTP/2" 200 - via_upstream - "-" 5 7 1 1 "-" "grpc-go/1.62.0" "4d3c2b1a-0f9e-4d8c-b7a6-958473625140" "greeter.bar:9090" "10.244.3.7:9090" inbound|9090|| 127.0.0.6:42000 10.244.3.7:9090 10.244.1.5:51000 outbound_.9090_._.greeter.bar.svc.cluster.local default',
    expect: record(
      {
        time: '2025-03-14T09:32:00.250Z',
        mesh: 'istio',
        protocol: 'grpc',
        source: { ip: '10.244.1.5' },
        destination: { service: 'greeter.bar.svc.cluster.local', namespace: 'bar', ip: '10.244.3.7', port: 9090 },
        request: { method: 'POST', path: '/grpc.health.v1.Health/Check?probe=1', host: 'greeter.bar:9090', headers: { 'user-agent': 'grpc-go/1.62.0' } },
        sni: 'outbound_.9090_._.greeter.bar.svc.cluster.local',
        response: { status: 200, details: 'via_upstream' },
        observed: 'allowed',
        count: 1,
      },
      'inbound',
      { requestId: '4d3c2b1a-0f9e-4d8c-b7a6-958473625140', identityGap: GAP_NO_IDENTITY_FIELD },
    ),
  },
  {
    name: 'HTTP/2 through a gateway: outbound cluster, XFF kept as a header, quote inside the User-Agent',
    line: '[2025-03-14T09:33:00.000Z] "GET /productpage HTTP/2" 200 - via_upstream - "-" 0 5293 31 30 "203.0.113.7" "Mozilla/5.0 "beta" build" "6a1f3e2d-9b8c-4d7e-a6f5-0e1d2c3b4a59" "bookinfo.example.com" "10.244.1.10:9080" outbound|9080||productpage.default.svc.cluster.local 10.244.0.8:41220 10.244.0.8:8443 10.244.0.1:61000 bookinfo.example.com -',
    expect: record(
      {
        time: '2025-03-14T09:33:00.000Z',
        mesh: 'istio',
        protocol: 'http2',
        source: { ip: '10.244.0.1' },
        destination: { service: 'productpage.default.svc.cluster.local', namespace: 'default', ip: '10.244.1.10', port: 9080 },
        request: {
          method: 'GET',
          path: '/productpage',
          host: 'bookinfo.example.com',
          headers: { 'user-agent': 'Mozilla/5.0 "beta" build', 'x-forwarded-for': '203.0.113.7' },
        },
        sni: 'bookinfo.example.com',
        response: { status: 200, details: 'via_upstream' },
        observed: 'allowed',
        count: 1,
      },
      'outbound',
      { requestId: '6a1f3e2d-9b8c-4d7e-a6f5-0e1d2c3b4a59', identityGap: GAP_CLIENT_SIDE },
    ),
  },
  {
    name: 'no route (NR): not a policy decision',
    line: '[2025-03-14T09:34:00.000Z] "GET /nowhere HTTP/1.1" 404 NR route_not_found - "-" 0 0 0 - "-" "curl/8.5.0" "11111111-2222-4333-8444-555555555555" "unknown.foo:80" "-" - - 10.96.0.50:80 10.244.2.21:40400 - -',
    expect: record(
      {
        time: '2025-03-14T09:34:00.000Z',
        mesh: 'istio',
        protocol: 'http',
        source: { ip: '10.244.2.21' },
        destination: { ip: '10.96.0.50', port: 80 },
        request: { method: 'GET', path: '/nowhere', host: 'unknown.foo:80', headers: { 'user-agent': 'curl/8.5.0' } },
        response: { status: 404, flags: 'NR', details: 'route_not_found' },
        observed: 'unknown',
        count: 1,
      },
      'unknown',
      { requestId: '11111111-2222-4333-8444-555555555555', identityGap: GAP_NO_IDENTITY_FIELD },
    ),
  },
  {
    name: "plain Envoy's default format: no details, so the decision is unknown",
    line: '[2025-03-14T12:10:00.101Z] "GET /api/v1/items?limit=5 HTTP/1.1" 200 - 0 812 14 13 "203.0.113.7" "Mozilla/5.0" "6a1f3e2d-9b8c-4d7e-a6f5-0e1d2c3b4a59" "shop.example.com" "10.0.3.14:8080"',
    expect: record(
      {
        time: '2025-03-14T12:10:00.101Z',
        mesh: 'istio',
        protocol: 'http',
        request: {
          method: 'GET',
          path: '/api/v1/items?limit=5',
          host: 'shop.example.com',
          headers: { 'user-agent': 'Mozilla/5.0', 'x-forwarded-for': '203.0.113.7' },
        },
        response: { status: 200 },
        observed: 'unknown',
        count: 1,
      },
      'unknown',
      { requestId: '6a1f3e2d-9b8c-4d7e-a6f5-0e1d2c3b4a59', identityGap: GAP_NO_IDENTITY_FIELD },
    ),
  },
  {
    name: "plain Envoy's default format, TCP upstream failure",
    line: '[2025-03-14T12:10:05.002Z] "- - -" 0 UF 0 0 1001 - "-" "-" "-" "-" "10.0.3.20:5432"',
    expect: record(
      { time: '2025-03-14T12:10:05.002Z', mesh: 'istio', protocol: 'tcp', response: { flags: 'UF' }, observed: 'unknown', count: 1 },
      'unknown',
      { identityGap: GAP_NO_IDENTITY_FIELD },
    ),
  },
  { name: 'blank line', line: '   ', expect: skip('blank line') },
  { name: 'truncated line', line: '[2025-03-14T09:31:05.881Z] "GET /status/200 HTTP/1.1" 200 - via_up', expect: NOT_A_DEFAULT_ENVOY_FORMAT },
  { name: "Envoy's own log line", line: '2025-03-14T09:29:50.000000Z\tinfo\tEnvoy proxy is ready', expect: skip('not an Envoy access log line') },
  {
    name: 'an extra token in a field before the last',
    line: '[2025-03-14T09:26:53.412Z] "GET / HTTP/1.1" 200 - via_upstream - "-" 0 0 3 2 "-" "curl/8.5.0" "x" "a:1" "10.0.0.1:80" inbound|80|| extra 127.0.0.6:1 10.0.0.1:80 10.0.0.2:2 - default',
    expect: NOT_A_DEFAULT_ENVOY_FORMAT,
  },
]);

// Istio's default format ends with an unquoted %ROUTE_NAME% (telemetry_logging.go
// EnvoyTextLogFormat), and Envoy writes the route's name as it is: a VirtualService HTTP route's
// `name` is free text. The record does not keep the route name, so these read as the first case.
const ROUTE_NAMES: Case[] = ['default', 'checkout v2 (canary)', 'a  b', 'x -'].map((route) => ({
  name: `route name ${JSON.stringify(route)} at the end of the line`,
  line: ISTIO_TEXT[0]!.line.replace(/ default$/, ` ${route}`),
  expect: ISTIO_TEXT[0]!.expect,
}));

// A user format whose last operator the record keeps (the SNI): a space there is not a value.
const ROUTE_NAME_LAST_FORMAT = '[%START_TIME%] "%REQ(:METHOD)% %REQ(:PATH)% %PROTOCOL%" %RESPONSE_CODE% %DOWNSTREAM_REMOTE_ADDRESS% %REQUESTED_SERVER_NAME% %ROUTE_NAME%';
const SNI_LAST_FORMAT = '[%START_TIME%] "%REQ(:METHOD)% %REQ(:PATH)% %PROTOCOL%" %RESPONSE_CODE% %DOWNSTREAM_REMOTE_ADDRESS% %REQUESTED_SERVER_NAME%';
const LAST_OPERATOR_RECORD = record(
  { time: '2025-03-14T09:26:53.412Z', mesh: 'istio', protocol: 'http', source: { ip: '10.244.2.21' }, request: { method: 'GET', path: '/a' }, sni: SNI_HTTPBIN, destination: { service: 'httpbin.foo.svc.cluster.local', namespace: 'foo' }, response: { status: 200 }, observed: 'unknown', count: 1 },
  'inbound',
  { identityGap: GAP_NO_IDENTITY_FIELD },
);

// A user-supplied format with the peer identity, Istio peer metadata and a custom header.
const CUSTOM_FORMAT =
  '[%START_TIME%] "%REQ(:METHOD)% %REQ(X-ENVOY-ORIGINAL-PATH?:PATH)% %PROTOCOL%" %RESPONSE_CODE% %RESPONSE_FLAGS% ' +
  '%RESPONSE_CODE_DETAILS% %CONNECTION_TERMINATION_DETAILS% "%REQ(X-REQUEST-ID)%" "%REQ(:AUTHORITY)%" "%REQ(X-TENANT):32%" ' +
  '%UPSTREAM_CLUSTER_RAW% %DOWNSTREAM_LOCAL_ADDRESS% %DOWNSTREAM_REMOTE_ADDRESS% %DOWNSTREAM_PEER_URI_SAN% ' +
  '%FILTER_STATE(downstream_peer_obj:FIELD:workload)% %REQUESTED_SERVER_NAME%\n';

const CUSTOM_TEXT: Case[] = [
  {
    name: 'peer URI SAN → principal without spiffe://, namespace and service account; peer metadata → workload',
    line: '[2025-03-14T10:00:00.000Z] "GET /api/v1/orders?id=7 HTTP/2" 200 - via_upstream - "ab12cd34-0000-4000-8000-000000000001" "orders.shop:8080" "acme" inbound|8080|| 10.244.1.20:8080 10.244.1.30:51000 spiffe://cluster.local/ns/web/sa/frontend frontend-v1 outbound_.8080_._.orders.shop.svc.cluster.local',
    expect: record(
      {
        time: '2025-03-14T10:00:00.000Z',
        mesh: 'istio',
        protocol: 'http2',
        source: { principal: 'cluster.local/ns/web/sa/frontend', namespace: 'web', serviceAccount: 'frontend', workload: 'frontend-v1', ip: '10.244.1.30' },
        destination: { service: 'orders.shop.svc.cluster.local', namespace: 'shop', ip: '10.244.1.20', port: 8080 },
        request: { method: 'GET', path: '/api/v1/orders?id=7', host: 'orders.shop:8080', headers: { 'x-tenant': 'acme' } },
        sni: 'outbound_.8080_._.orders.shop.svc.cluster.local',
        response: { status: 200, details: 'via_upstream' },
        observed: 'allowed',
        count: 1,
      },
      'inbound',
      { requestId: 'ab12cd34-0000-4000-8000-000000000001' },
    ),
  },
  {
    name: 'an empty peer URI SAN is a plaintext caller: principal null',
    line: '[2025-03-14T10:00:01.000Z] "POST /api/v1/orders HTTP/1.1" 403 - rbac_access_denied_matched_policy[none] - "-" "orders.shop:8080" "-" - 10.244.1.20:8080 10.244.1.31:51002 - - -',
    expect: record(
      {
        time: '2025-03-14T10:00:01.000Z',
        mesh: 'istio',
        protocol: 'http',
        source: { principal: null, ip: '10.244.1.31' },
        destination: { ip: '10.244.1.20', port: 8080 },
        request: { method: 'POST', path: '/api/v1/orders', host: 'orders.shop:8080' },
        response: { status: 403, details: 'rbac_access_denied_matched_policy[none]', deniedBy: 'none' },
        observed: 'denied',
        count: 1,
      },
      'inbound',
    ),
  },
  { name: "a line of Istio's default format does not match the custom one", line: ISTIO_TEXT[0]!.line, expect: NOT_THE_GIVEN_ENVOY_FORMAT },
];

// Consul's custom TextFormat example from the spec: the principal keeps spiffe:// for Consul.
const CONSUL_TEXT_FORMAT = '[%START_TIME%] %DOWNSTREAM_PEER_URI_SAN% "%REQ(:METHOD)% %REQ(X-ENVOY-ORIGINAL-PATH?:PATH)% %PROTOCOL%" %RESPONSE_CODE% %RESPONSE_CODE_DETAILS%';

// %RESPONSE_FLAGS_LONG% and %UPSTREAM_REMOTE_ADDRESS% (Envoy's usage.rst): flags are kept in their short form.
const LONG_FLAGS_FORMAT = '[%START_TIME%] "%REQ(:METHOD)% %REQ(:PATH)% %PROTOCOL%" %RESPONSE_CODE% %RESPONSE_FLAGS_LONG% %RESPONSE_CODE_DETAILS% %UPSTREAM_CLUSTER_RAW% "%UPSTREAM_REMOTE_ADDRESS%"';

const LONG_FLAGS_TEXT: Case[] = [
  {
    name: 'UnauthorizedExternalService → UAEX: an ext_authz denial refused before a cluster was picked',
    line: '[2026-01-05T14:00:01.000Z] "GET /admin HTTP/1.1" 403 UnauthorizedExternalService ext_authz_denied - "-"',
    expect: record(
      { time: '2026-01-05T14:00:01.000Z', mesh: 'istio', protocol: 'http', request: { method: 'GET', path: '/admin' }, response: { status: 403, flags: 'UAEX', details: 'ext_authz_denied' }, observed: 'denied', count: 1 },
      'inbound',
      { identityGap: GAP_NO_IDENTITY_FIELD },
    ),
  },
  {
    name: 'a list of long flags → UF,URX; the upstream remote address is the destination of an outbound line',
    line: '[2026-01-05T14:00:07.000Z] "GET /x HTTP/1.1" 503 UpstreamConnectionFailure,UpstreamRetryLimitExceeded upstream_reset_before_response_started{connection_failure} outbound|8080||backend.foo.svc.cluster.local "10.244.7.9:8080"',
    expect: record(
      {
        time: '2026-01-05T14:00:07.000Z',
        mesh: 'istio',
        protocol: 'http',
        destination: { service: 'backend.foo.svc.cluster.local', namespace: 'foo', ip: '10.244.7.9', port: 8080 },
        request: { method: 'GET', path: '/x' },
        response: { status: 503, flags: 'UF,URX', details: 'upstream_reset_before_response_started{connection_failure}' },
        observed: 'unknown',
        count: 1,
      },
      'outbound',
      { identityGap: GAP_CLIENT_SIDE },
    ),
  },
  {
    name: 'NoRouteFound → NR, side unknown',
    line: '[2026-01-05T14:00:02.000Z] "GET /nope HTTP/1.1" 404 NoRouteFound route_not_found - "-"',
    expect: record(
      { time: '2026-01-05T14:00:02.000Z', mesh: 'istio', protocol: 'http', request: { method: 'GET', path: '/nope' }, response: { status: 404, flags: 'NR', details: 'route_not_found' }, observed: 'unknown', count: 1 },
      'unknown',
      { identityGap: GAP_NO_IDENTITY_FIELD },
    ),
  },
];

describe('envoy-text: Istio default format', () => runTable('envoy-text', ISTIO_TEXT));
describe('envoy-text: the last operator, %ROUTE_NAME%, takes the rest of the line', () => {
  runTable('envoy-text', ROUTE_NAMES);
  describe('in a user-supplied format too', () => runTable('envoy-text', [
    { name: 'a route name with spaces', line: `[2025-03-14T09:26:53.412Z] "GET /a HTTP/1.1" 200 10.244.2.21:40318 ${SNI_HTTPBIN} my route`, expect: LAST_OPERATOR_RECORD },
    { name: 'one token too many before it: the address shifted into the SNI is refused', line: `[2025-03-14T09:26:53.412Z] "GET /a HTTP/1.1" 200 extra 10.244.2.21:40318 ${SNI_HTTPBIN} my route`, expect: NOT_THE_GIVEN_ENVOY_FORMAT },
  ], { envoyFormat: ROUTE_NAME_LAST_FORMAT }));
  describe('but not a last operator the record keeps', () => runTable('envoy-text', [
    { name: 'the SNI alone', line: `[2025-03-14T09:26:53.412Z] "GET /a HTTP/1.1" 200 10.244.2.21:40318 ${SNI_HTTPBIN}`, expect: LAST_OPERATOR_RECORD },
    { name: 'an SNI with a space is another layout', line: `[2025-03-14T09:26:53.412Z] "GET /a HTTP/1.1" 200 10.244.2.21:40318 ${SNI_HTTPBIN} extra`, expect: NOT_THE_GIVEN_ENVOY_FORMAT },
  ], { envoyFormat: SNI_LAST_FORMAT }));
});
describe('envoy-text: a user-supplied format string', () => {
  runTable('envoy-text', CUSTOM_TEXT, { envoyFormat: CUSTOM_FORMAT });

  it('reads Consul principals in their spiffe:// form (mesh consul)', () => {
    const reader = createReader('envoy-text', { envoyFormat: CONSUL_TEXT_FORMAT, mesh: 'consul' });
    const line = '[2025-03-14T14:02:00.000Z] spiffe://7d4e1f2a-0b1c-4d2e-9f30-a1b2c3d4e5f6.consul/ns/default/dc/dc1/svc/web "GET /v2/widgets HTTP/1.1" 200 via_upstream';
    assert.deepEqual(
      reader.read(line),
      record(
        {
          time: '2025-03-14T14:02:00.000Z',
          mesh: 'consul',
          protocol: 'http',
          source: { principal: 'spiffe://7d4e1f2a-0b1c-4d2e-9f30-a1b2c3d4e5f6.consul/ns/default/dc/dc1/svc/web', namespace: 'default', service: 'web' },
          request: { method: 'GET', path: '/v2/widgets', recordedHeaders: [], jwtUnknown: true },
          response: { status: 200, details: 'via_upstream' },
          observed: 'allowed',
          count: 1,
        },
        'unknown',
      ),
    );
  });

  it('rejects format strings that cannot be split, with the reason', () => {
    assert.throws(() => createEnvoyTextReader('%REQ(:METHOD)%%REQ(:PATH)%'), EnvoyFormatError);
    assert.match(checkEnvoyFormat('%REQ(:METHOD)%%REQ(:PATH)%') ?? '', /follow each other/);
    assert.match(checkEnvoyFormat('[%START_TIME] %PROTOCOL%') ?? '', /unterminated command operator/);
    assert.match(checkEnvoyFormat('%BYTES_SENT% %DURATION%') ?? '', /no operator .* maps to an access record field/);
    assert.equal(checkEnvoyFormat(CUSTOM_FORMAT), undefined);
    assert.throws(() => createReader('envoy-text', { envoyFormat: 'plain text' }), EnvoyFormatError);
  });

  describe('long response flags', () => runTable('envoy-text', LONG_FLAGS_TEXT, { envoyFormat: LONG_FLAGS_FORMAT }));

  it('reads long response flags in a custom JSON format as short ones', () => {
    const reader = createReader('envoy-json', { envoyFormat: '{"m":"%REQ(:METHOD)%","code":"%RESPONSE_CODE%","flags":"%RESPONSE_FLAGS_LONG%"}' });
    assert.deepEqual(
      reader.read('{"m":"GET","code":503,"flags":"NoHealthyUpstream"}'),
      record({ mesh: 'istio', protocol: 'http', request: { method: 'GET', recordedHeaders: [], jwtUnknown: true }, response: { status: 503, flags: 'UH' }, observed: 'unknown', count: 1 }, 'unknown', {
        identityGap: GAP_NO_IDENTITY_FIELD,
      }),
    );
  });

  it('keeps literal %% and length-limited operators', () => {
    const reader = createReader('envoy-text', { envoyFormat: '100%% %REQ(:METHOD)% %REQ(:PATH):10% %RESPONSE_CODE%' });
    assert.deepEqual(
      reader.read('100% GET /a/b/c 200'),
      record({ mesh: 'istio', protocol: 'http', request: { method: 'GET', path: '/a/b/c', recordedHeaders: [], jwtUnknown: true }, response: { status: 200 }, observed: 'unknown', count: 1 }, 'unknown', {
        identityGap: GAP_NO_IDENTITY_FIELD,
      }),
    );
  });
});

// ---------------------------------------------------------------------------------------------
// Envoy JSON
// ---------------------------------------------------------------------------------------------

const ENVOY_JSON: Case[] = logged('envoy-json', [
  {
    name: 'server-side RBAC denial, numbers as numbers and nulls for empty',
    line: '{"authority":"httpbin.foo:8000","bytes_received":0,"bytes_sent":19,"connection_termination_details":null,"downstream_local_address":"10.244.2.23:8080","downstream_remote_address":"10.244.2.21:40330","duration":0,"method":"GET","path":"/get","protocol":"HTTP/1.1","request_id":"c41e93d2-77aa-4f2e-8d05-1b6e2f9a0c33","requested_server_name":"outbound_.8000_._.httpbin.foo.svc.cluster.local","response_code":403,"response_code_details":"rbac_access_denied_matched_policy[ns[foo]-policy[deny-method-get]-rule[0]]","response_flags":"-","route_name":null,"start_time":"2025-03-14T09:27:31.870Z","upstream_cluster":null,"upstream_host":null,"upstream_local_address":null,"upstream_service_time":null,"upstream_transport_failure_reason":null,"user_agent":"curl/8.5.0","x_forwarded_for":null}',
    expect: record(
      {
        time: '2025-03-14T09:27:31.870Z',
        mesh: 'istio',
        protocol: 'http',
        source: { ip: '10.244.2.21' },
        destination: HTTPBIN_INBOUND,
        request: { method: 'GET', path: '/get', host: 'httpbin.foo:8000', headers: { 'user-agent': 'curl/8.5.0' } },
        sni: SNI_HTTPBIN,
        response: { status: 403, details: 'rbac_access_denied_matched_policy[ns[foo]-policy[deny-method-get]-rule[0]]', deniedBy: 'foo/deny-method-get' },
        observed: 'denied',
        count: 1,
      },
      'inbound',
      { requestId: 'c41e93d2-77aa-4f2e-8d05-1b6e2f9a0c33', identityGap: GAP_NO_IDENTITY_FIELD },
    ),
  },
  {
    name: 'client side, allowed: destination service from the outbound cluster, address from the upstream host',
    line: '{"authority":"reviews:9080","bytes_received":0,"bytes_sent":358,"connection_termination_details":null,"downstream_local_address":"10.96.12.40:9080","downstream_remote_address":"10.244.1.11:53112","duration":7,"method":"GET","path":"/reviews/0","protocol":"HTTP/1.1","request_id":"9e1d0b8a-4c2f-4f3e-8a7b-6d5c4b3a2f10","requested_server_name":null,"response_code":200,"response_code_details":"via_upstream","response_flags":"-","route_name":"default","start_time":"2025-03-14T10:02:11.004Z","upstream_cluster":"outbound|9080||reviews.default.svc.cluster.local","upstream_host":"10.244.1.13:9080","upstream_local_address":"10.244.1.11:40990","upstream_service_time":"6","upstream_transport_failure_reason":null,"user_agent":"python-requests/2.31","x_forwarded_for":null}',
    expect: record(
      {
        time: '2025-03-14T10:02:11.004Z',
        mesh: 'istio',
        protocol: 'http',
        source: { ip: '10.244.1.11' },
        destination: { service: 'reviews.default.svc.cluster.local', namespace: 'default', ip: '10.244.1.13', port: 9080 },
        request: { method: 'GET', path: '/reviews/0', host: 'reviews:9080', headers: { 'user-agent': 'python-requests/2.31' } },
        response: { status: 200, details: 'via_upstream' },
        observed: 'allowed',
        count: 1,
      },
      'outbound',
      { requestId: '9e1d0b8a-4c2f-4f3e-8a7b-6d5c4b3a2f10', identityGap: GAP_CLIENT_SIDE },
    ),
  },
  {
    name: 'TCP denial in the older string-typed rendering ("0", "-")',
    line: '{"authority":"-","bytes_received":"0","bytes_sent":"0","connection_termination_details":"rbac_access_denied_matched_policy[ns[foo]-policy[tcp-policy]-rule[0]]","downstream_local_address":"10.244.2.22:9000","downstream_remote_address":"10.244.2.21:51600","duration":"0","method":"-","path":"-","protocol":"-","request_id":"-","requested_server_name":"-","response_code":"0","response_code_details":"-","response_flags":"-","route_name":"-","start_time":"2025-03-14T09:31:00.001Z","upstream_cluster":"inbound|9000||","upstream_host":"-","upstream_local_address":"-","upstream_service_time":"-","upstream_transport_failure_reason":"-","user_agent":"-","x_forwarded_for":"-"}',
    expect: record(
      {
        time: '2025-03-14T09:31:00.001Z',
        mesh: 'istio',
        protocol: 'tcp',
        source: { ip: '10.244.2.21' },
        destination: { ip: '10.244.2.22', port: 9000 },
        response: { details: 'rbac_access_denied_matched_policy[ns[foo]-policy[tcp-policy]-rule[0]]', deniedBy: 'foo/tcp-policy' },
        observed: 'denied',
        count: 1,
      },
      'inbound',
      { identityGap: GAP_NO_IDENTITY_FIELD },
    ),
  },
  {
    name: 'omitted empty keys (omitEmptyValues) and a source_principal label',
    line: '{"authority":"productpage:9080","downstream_local_address":"10.244.1.10:9080","downstream_remote_address":"10.244.1.12:51402","method":"GET","path":"/productpage?u=normal","protocol":"HTTP/1.1","request_id":"e2d1c0b9-a8f7-4e6d-9c5b-4a3f2e1d0c9b","requested_server_name":"outbound_.9080_._.productpage.default.svc.cluster.local","response_code":200,"response_code_details":"via_upstream","source_principal":"spiffe://cluster.local/ns/default/sa/curl","start_time":"2025-03-14T11:00:01.228Z","upstream_cluster":"inbound|9080||","upstream_host":"10.244.1.10:9080","user_agent":"curl/8.5.0"}',
    expect: record(
      {
        time: '2025-03-14T11:00:01.228Z',
        mesh: 'istio',
        protocol: 'http',
        source: { principal: 'cluster.local/ns/default/sa/curl', namespace: 'default', serviceAccount: 'curl', ip: '10.244.1.12' },
        destination: { service: 'productpage.default.svc.cluster.local', namespace: 'default', ip: '10.244.1.10', port: 9080 },
        request: { method: 'GET', path: '/productpage?u=normal', host: 'productpage:9080', headers: { 'user-agent': 'curl/8.5.0' } },
        sni: 'outbound_.9080_._.productpage.default.svc.cluster.local',
        response: { status: 200, details: 'via_upstream' },
        observed: 'allowed',
        count: 1,
      },
      'inbound',
      { requestId: 'e2d1c0b9-a8f7-4e6d-9c5b-4a3f2e1d0c9b' },
    ),
  },
  {
    name: 'ext_authz denial with the status as a string',
    line: '{"authority":"httpbin.foo:8000","downstream_local_address":"10.244.2.23:8080","downstream_remote_address":"10.244.2.21:40350","method":"GET","path":"/admin","protocol":"HTTP/1.1","request_id":"7f3e2c1d-5a6b-4c7d-8e9f-0a1b2c3d4e5f","requested_server_name":"outbound_.8000_._.httpbin.foo.svc.cluster.local","response_code":"403","response_code_details":"ext_authz_denied","response_flags":"UAEX","start_time":"2025-03-14T09:30:12.004Z","upstream_cluster":null,"upstream_host":null,"user_agent":"curl/8.5.0"}',
    expect: record(
      {
        time: '2025-03-14T09:30:12.004Z',
        mesh: 'istio',
        protocol: 'http',
        source: { ip: '10.244.2.21' },
        destination: HTTPBIN_INBOUND,
        request: { method: 'GET', path: '/admin', host: 'httpbin.foo:8000', headers: { 'user-agent': 'curl/8.5.0' } },
        sni: SNI_HTTPBIN,
        response: { status: 403, flags: 'UAEX', details: 'ext_authz_denied' },
        observed: 'denied',
        count: 1,
      },
      'inbound',
      { requestId: '7f3e2c1d-5a6b-4c7d-8e9f-0a1b2c3d4e5f', identityGap: GAP_NO_IDENTITY_FIELD },
    ),
  },
  {
    name: 'JWT missing: denied, and no request.jwt (no token was sent)',
    line: '{"authority":"httpbin.foo:8000","downstream_local_address":"10.244.2.23:8080","downstream_remote_address":"10.244.2.21:40341","method":"GET","path":"/headers","protocol":"HTTP/1.1","response_code":401,"response_code_details":"jwt_authn_access_denied{Jwt_is_missing}","response_flags":"-","start_time":"2025-03-14T09:29:45.000Z","upstream_cluster":null,"requested_server_name":"outbound_.8000_._.httpbin.foo.svc.cluster.local"}',
    expect: record(
      {
        time: '2025-03-14T09:29:45.000Z',
        mesh: 'istio',
        protocol: 'http',
        source: { ip: '10.244.2.21' },
        destination: HTTPBIN_INBOUND,
        request: { method: 'GET', path: '/headers', host: 'httpbin.foo:8000' },
        sni: SNI_HTTPBIN,
        response: { status: 401, details: 'jwt_authn_access_denied{Jwt_is_missing}' },
        observed: 'denied',
        count: 1,
      },
      'inbound',
      { identityGap: GAP_NO_IDENTITY_FIELD },
    ),
  },
  {
    name: 'gRPC denied by RBAC (HTTP 200 with grpc-status in trailers; the details carry the marker), escaped string',
    line: '{"authority":"greeter.bar:9090","downstream_local_address":"10.244.3.7:9090","downstream_remote_address":"10.244.1.5:51010","method":"POST","path":"/helloworld.Greeter/SayHello","protocol":"HTTP/2","request_id":"0a1b2c3d-4e5f-4061-8728-394a5b6c7d8e","requested_server_name":"outbound_.9090_._.greeter.bar.svc.cluster.local","response_code":200,"response_code_details":"rbac_access_denied_matched_policy[none]","response_flags":"-","start_time":"2025-03-14T09:35:00.000Z","upstream_cluster":null,"upstream_host":null,"user_agent":"grpc-java-netty/1.60.0 \\"canary\\""}',
    expect: record(
      {
        time: '2025-03-14T09:35:00.000Z',
        mesh: 'istio',
        protocol: 'grpc',
        source: { ip: '10.244.1.5' },
        destination: { service: 'greeter.bar.svc.cluster.local', namespace: 'bar', ip: '10.244.3.7', port: 9090 },
        request: { method: 'POST', path: '/helloworld.Greeter/SayHello', host: 'greeter.bar:9090', headers: { 'user-agent': 'grpc-java-netty/1.60.0 "canary"' } },
        sni: 'outbound_.9090_._.greeter.bar.svc.cluster.local',
        response: { status: 200, details: 'rbac_access_denied_matched_policy[none]', deniedBy: 'none' },
        observed: 'denied',
        count: 1,
      },
      'inbound',
      { requestId: '0a1b2c3d-4e5f-4061-8728-394a5b6c7d8e', identityGap: GAP_NO_IDENTITY_FIELD },
    ),
  },
  {
    name: 'ext_authz_error (the authorizer failed closed) is not a policy denial',
    line: '{"method":"GET","path":"/x","protocol":"HTTP/1.1","response_code":403,"response_code_details":"ext_authz_error","response_flags":"UAEX","downstream_local_address":"10.244.2.23:8080","upstream_cluster":null,"requested_server_name":"outbound_.8000_._.httpbin.foo.svc.cluster.local"}',
    expect: record(
      {
        mesh: 'istio',
        protocol: 'http',
        destination: HTTPBIN_INBOUND,
        request: { method: 'GET', path: '/x' },
        sni: SNI_HTTPBIN,
        response: { status: 403, flags: 'UAEX', details: 'ext_authz_error' },
        observed: 'unknown',
        count: 1,
      },
      'inbound',
      { identityGap: GAP_NO_IDENTITY_FIELD },
    ),
  },
  { name: 'blank line', line: '', expect: skip('blank line') },
  { name: 'truncated object', line: '{"authority":"httpbin.foo:8000","bytes_received":0,"bytes_sent":', expect: skip('not JSON') },
  { name: 'a text line', line: 'not json at all', expect: skip('not JSON') },
  { name: 'a JSON array', line: '[1, 2]', expect: skip('not a JSON object') },
  { name: 'an object with one Envoy-like key only', line: '{"method":"GET","level":"info"}', expect: skip('no access log fields') },
  { name: 'trailing garbage after the object', line: '{"method":"GET","path":"/"} x', expect: skip('not JSON') },
]);

describe('envoy-json', () => {
  runTable('envoy-json', ENVOY_JSON);

  it('maps the keys of a custom JSON format by operator', () => {
    const reader = createReader('envoy-json', {
      envoyFormat: JSON.stringify({ ts: '%START_TIME%', who: '%DOWNSTREAM_PEER_URI_SAN%', code: '%RESPONSE_CODE%', why: '%RESPONSE_CODE_DETAILS%', m: '%REQ(:METHOD)%', p: '%REQ(X-ENVOY-ORIGINAL-PATH?:PATH)%', tenant: '%REQ(X-TENANT)%', bytes: '%BYTES_SENT%' }),
    });
    assert.deepEqual(
      reader.read('{"ts":"2025-03-14T10:00:00Z","who":"spiffe://cluster.local/ns/web/sa/frontend","code":403,"why":"rbac_access_denied_matched_policy[none]","m":"GET","p":"/a?b=1","tenant":"acme","bytes":19}'),
      record(
        {
          time: '2025-03-14T10:00:00Z',
          mesh: 'istio',
          protocol: 'http',
          source: { principal: 'cluster.local/ns/web/sa/frontend', namespace: 'web', serviceAccount: 'frontend' },
          request: { method: 'GET', path: '/a?b=1', headers: { 'x-tenant': 'acme' }, recordedHeaders: ['x-tenant'], jwtUnknown: true },
          response: { status: 403, details: 'rbac_access_denied_matched_policy[none]', deniedBy: 'none' },
          observed: 'denied',
          count: 1,
        },
        'inbound',
      ),
    );
  });
});

// ---------------------------------------------------------------------------------------------
// Consul
// ---------------------------------------------------------------------------------------------

const CONSUL_SNI = 'api.default.dc1.internal.7d4e1f2a-0b1c-4d2e-9f30-a1b2c3d4e5f6.consul';

const CONSUL: Case[] = logged('consul-envoy-json', [
  {
    name: 'inbound HTTP denied under default deny ([none])',
    line: '{"authority":"api.virtual.consul","bytes_received":0,"bytes_sent":19,"connection_termination_details":null,"downstream_local_address":"10.5.0.21:20000","downstream_remote_address":"10.5.0.30:41234","duration":0,"method":"POST","path":"/v1/reconcile-data","protocol":"HTTP/1.1","request_id":"7c1e2d3f-4a5b-4c6d-8e7f-90a1b2c3d4e5","requested_server_name":"api.default.dc1.internal.7d4e1f2a-0b1c-4d2e-9f30-a1b2c3d4e5f6.consul","response_code":403,"response_code_details":"rbac_access_denied_matched_policy[none]","response_flags":"-","route_name":null,"start_time":"2025-03-14T14:00:00.010Z","upstream_cluster":null,"upstream_host":null,"upstream_local_address":null,"upstream_service_time":null,"upstream_transport_failure_reason":null,"user_agent":"curl/8.5.0","x_forwarded_for":null}',
    expect: record(
      {
        time: '2025-03-14T14:00:00.010Z',
        mesh: 'consul',
        protocol: 'http',
        source: { ip: '10.5.0.30' },
        destination: { service: 'api', namespace: 'default', ip: '10.5.0.21', port: 20000 },
        request: { method: 'POST', path: '/v1/reconcile-data', host: 'api.virtual.consul', headers: { 'user-agent': 'curl/8.5.0' } },
        sni: CONSUL_SNI,
        response: { status: 403, details: 'rbac_access_denied_matched_policy[none]' },
        observed: 'denied',
        count: 1,
      },
      'inbound',
      { requestId: '7c1e2d3f-4a5b-4c6d-8e7f-90a1b2c3d4e5', identityGap: GAP_NO_IDENTITY_FIELD },
    ),
  },
  {
    name: 'inbound allowed (local_app cluster)',
    line: '{"authority":"api.virtual.consul","bytes_received":27,"bytes_sent":2,"connection_termination_details":null,"downstream_local_address":"10.5.0.21:20000","downstream_remote_address":"10.5.0.31:41260","duration":3,"method":"POST","path":"/v1/reconcile-data","protocol":"HTTP/1.1","request_id":"5a6b7c8d-9e0f-4a1b-8c2d-3e4f5a6b7c8d","requested_server_name":"api.default.dc1.internal.7d4e1f2a-0b1c-4d2e-9f30-a1b2c3d4e5f6.consul","response_code":200,"response_code_details":"via_upstream","response_flags":"-","route_name":"default","start_time":"2025-03-14T14:00:05.101Z","upstream_cluster":"local_app","upstream_host":"127.0.0.1:8080","upstream_local_address":"127.0.0.1:55102","upstream_service_time":"2","upstream_transport_failure_reason":null,"user_agent":"Go-http-client/1.1","x_forwarded_for":null}',
    expect: record(
      {
        time: '2025-03-14T14:00:05.101Z',
        mesh: 'consul',
        protocol: 'http',
        source: { ip: '10.5.0.31' },
        destination: { service: 'api', namespace: 'default', ip: '10.5.0.21', port: 20000 },
        request: { method: 'POST', path: '/v1/reconcile-data', host: 'api.virtual.consul', headers: { 'user-agent': 'Go-http-client/1.1' } },
        sni: CONSUL_SNI,
        response: { status: 200, details: 'via_upstream' },
        observed: 'allowed',
        count: 1,
      },
      'inbound',
      { requestId: '5a6b7c8d-9e0f-4a1b-8c2d-3e4f5a6b7c8d', identityGap: GAP_NO_IDENTITY_FIELD },
    ),
  },
  {
    name: 'TCP denied by a deny intention under default allow (consul-intentions-layer4)',
    line: '{"authority":null,"bytes_received":0,"bytes_sent":0,"connection_termination_details":"rbac_access_denied_matched_policy[consul-intentions-layer4]","downstream_local_address":"10.5.0.40:20000","downstream_remote_address":"10.5.0.30:51111","duration":1,"method":null,"path":null,"protocol":null,"request_id":null,"requested_server_name":"db.default.dc1.internal.7d4e1f2a-0b1c-4d2e-9f30-a1b2c3d4e5f6.consul","response_code":0,"response_code_details":null,"response_flags":"-","route_name":null,"start_time":"2025-03-14T14:01:00.000Z","upstream_cluster":null,"upstream_host":null,"upstream_local_address":null,"upstream_service_time":null,"upstream_transport_failure_reason":null,"user_agent":null,"x_forwarded_for":null}',
    expect: record(
      {
        time: '2025-03-14T14:01:00.000Z',
        mesh: 'consul',
        protocol: 'tcp',
        source: { ip: '10.5.0.30' },
        destination: { service: 'db', namespace: 'default', ip: '10.5.0.40', port: 20000 },
        sni: 'db.default.dc1.internal.7d4e1f2a-0b1c-4d2e-9f30-a1b2c3d4e5f6.consul',
        response: { details: 'rbac_access_denied_matched_policy[consul-intentions-layer4]' },
        observed: 'denied',
        count: 1,
      },
      'inbound',
      { identityGap: GAP_NO_IDENTITY_FIELD },
    ),
  },
  {
    name: 'outbound through an upstream listener: destination from the cluster name',
    line: '{"authority":"api.virtual.consul","downstream_local_address":"127.0.0.1:9191","downstream_remote_address":"127.0.0.1:50122","method":"GET","path":"/v1/items","protocol":"HTTP/1.1","request_id":"1b2c3d4e-5f60-4718-92a3-b4c5d6e7f809","requested_server_name":null,"response_code":200,"response_code_details":"via_upstream","response_flags":"-","start_time":"2025-03-14T14:02:30.500Z","upstream_cluster":"api.default.dc1.internal.7d4e1f2a-0b1c-4d2e-9f30-a1b2c3d4e5f6.consul","upstream_host":"10.5.0.21:20000","user_agent":"Go-http-client/1.1"}',
    expect: record(
      {
        time: '2025-03-14T14:02:30.500Z',
        mesh: 'consul',
        protocol: 'http',
        source: { ip: '127.0.0.1' },
        destination: { service: 'api', namespace: 'default', ip: '10.5.0.21', port: 20000 },
        request: { method: 'GET', path: '/v1/items', host: 'api.virtual.consul', headers: { 'user-agent': 'Go-http-client/1.1' } },
        response: { status: 200, details: 'via_upstream' },
        observed: 'allowed',
        count: 1,
      },
      'outbound',
      { requestId: '1b2c3d4e-5f60-4718-92a3-b4c5d6e7f809', identityGap: GAP_CLIENT_SIDE },
    ),
  },
  {
    name: 'a source_principal label keeps the Consul SPIFFE form; a layer-7 deny intention',
    line: '{"authority":"api.virtual.consul","downstream_local_address":"10.5.0.21:20000","downstream_remote_address":"10.5.0.32:41300","method":"DELETE","path":"/v1/items/9","protocol":"HTTP/2","response_code":403,"response_code_details":"rbac_access_denied_matched_policy[consul-intentions-layer7-0]","source_principal":"spiffe://7d4e1f2a-0b1c-4d2e-9f30-a1b2c3d4e5f6.consul/ap/team-a/ns/billing/dc/dc1/svc/invoices","requested_server_name":"api.default.team-b.dc1.internal-v1.7d4e1f2a-0b1c-4d2e-9f30-a1b2c3d4e5f6.consul","start_time":"2025-03-14T14:03:00.000Z"}',
    expect: record(
      {
        time: '2025-03-14T14:03:00.000Z',
        mesh: 'consul',
        protocol: 'http2',
        source: {
          principal: 'spiffe://7d4e1f2a-0b1c-4d2e-9f30-a1b2c3d4e5f6.consul/ap/team-a/ns/billing/dc/dc1/svc/invoices',
          namespace: 'billing',
          service: 'invoices',
          ip: '10.5.0.32',
        },
        destination: { service: 'api', namespace: 'default', ip: '10.5.0.21', port: 20000 },
        request: { method: 'DELETE', path: '/v1/items/9', host: 'api.virtual.consul' },
        sni: 'api.default.team-b.dc1.internal-v1.7d4e1f2a-0b1c-4d2e-9f30-a1b2c3d4e5f6.consul',
        response: { status: 403, details: 'rbac_access_denied_matched_policy[consul-intentions-layer7-0]' },
        observed: 'denied',
        count: 1,
      },
      'inbound',
    ),
  },
  { name: 'not JSON', line: 'api sidecar started', expect: skip('not JSON') },
]);

describe('consul-envoy-json', () => {
  runTable('consul-envoy-json', CONSUL);

  it('envoy-json recognizes a Consul line by its cluster or SNI when no mesh is configured', () => {
    const result = createReader('envoy-json').read(CONSUL[1]!.line);
    assert.equal(result.kind, 'record');
    assert.equal((result as ParsedLine).record.mesh, 'consul');
    assert.deepEqual((result as ParsedLine).record.destination, { service: 'api', namespace: 'default', ip: '10.5.0.21', port: 20000 });
  });
});

// ---------------------------------------------------------------------------------------------
// Linkerd
// ---------------------------------------------------------------------------------------------

// Linkerd proxy policy events (linkerd2-proxy linkerd/app/inbound/src/policy/tcp.rs and http.rs:
// the message, its fields, and `?tls` / `%client` values as tracing writes them). Either Linkerd
// reader reads both the plain and the JSON layout, which `kubectl logs` mixes with access lines.
const LINKERD_HTTP_EVENT = "Linkerd HTTP policy event (Request denied or audit Request allowed): it marks the request's access log line, which is the call (config.linkerd.io/access-log)";
const BOOKS_ID = 'books.booksapp.serviceaccount.identity.linkerd.cluster.local';
const ESTABLISHED = `Some(Established { client_id: Some(ClientId(${BOOKS_ID})), negotiated_protocol: None })`;
const LINKERD_PROXY_EVENTS: Case[] = [
  {
    name: 'plain Connection denied (TCP): a denied call with the mTLS identity and the server span\'s port',
    line: `[  4100.000001s]  INFO ThreadId(03) inbound:server{port=5432}: linkerd_app_inbound::policy::tcp: Connection denied server.group=policy.linkerd.io server.kind=server server.name=db-tcp tls=${ESTABLISHED} client=10.42.3.11:40112`,
    expect: record(
      { mesh: 'linkerd', protocol: 'tcp', source: { principal: BOOKS_ID, serviceAccount: 'books', namespace: 'booksapp', ip: '10.42.3.11' }, destination: { port: 5432 }, response: { details: 'linkerd_connection_denied', deniedBy: 'server:db-tcp' }, observed: 'denied', count: 1 },
      'inbound',
    ),
  },
  {
    name: 'plain Connection denied from a plaintext client: no identity',
    line: '[  4100.5s]  INFO ThreadId(01) inbound:server{port=6379}:accept{client.addr=10.42.0.7:51000}: linkerd_app_inbound::policy::tcp: Connection denied server.group= server.kind=default server.name=all-authenticated tls=None(NoClientHello) client=10.42.0.7:51000',
    expect: record(
      { mesh: 'linkerd', protocol: 'tcp', source: { principal: null, ip: '10.42.0.7' }, destination: { port: 6379 }, response: { details: 'linkerd_connection_denied', deniedBy: 'default:all-authenticated' }, observed: 'denied', count: 1 },
      'inbound',
    ),
  },
  {
    name: 'JSON Connection denied: fields, target and the server span of the JSON layout',
    line: `{"timestamp":"[  4100.000001s]","level":"INFO","fields":{"message":"Connection denied","server.group":"policy.linkerd.io","server.kind":"server","server.name":"db-tcp","tls":"${ESTABLISHED}","client":"10.42.3.11:40112"},"target":"linkerd_app_inbound::policy::tcp","spans":[{"name":"inbound"},{"port":5432,"name":"server"}],"threadId":"ThreadId(3)"}`,
    expect: record(
      { mesh: 'linkerd', protocol: 'tcp', source: { principal: BOOKS_ID, serviceAccount: 'books', namespace: 'booksapp', ip: '10.42.3.11' }, destination: { port: 5432 }, response: { details: 'linkerd_connection_denied', deniedBy: 'server:db-tcp' }, observed: 'denied', count: 1 },
      'inbound',
    ),
  },
  {
    name: 'TCP Request allowed by an audit authorization: allowed, marked as audit',
    line: `[  4200.1s]  INFO ThreadId(02) inbound:server{port=5432}: linkerd_app_inbound::policy::tcp: Request allowed server.group=policy.linkerd.io server.kind=server server.name=db-tcp client.tls=${ESTABLISHED} client.ip=10.42.3.11 authz.group= authz.kind=default authz.name=audit`,
    expect: record(
      { mesh: 'linkerd', protocol: 'tcp', source: { principal: BOOKS_ID, serviceAccount: 'books', namespace: 'booksapp', ip: '10.42.3.11' }, destination: { port: 5432 }, response: { details: 'linkerd_audit_allowed' }, observed: 'allowed', count: 1 },
      'inbound',
    ),
  },
  {
    name: 'HTTP Request allowed by an audit authorization (route fields): its access log line counts it',
    line: `[  4200.2s]  INFO ThreadId(02) inbound:server{port=7001}: linkerd_app_inbound::policy::http: Request allowed server.group=policy.linkerd.io server.kind=server server.name=authors-server route.group= route.kind=default route.name=default client.tls=${ESTABLISHED} client.ip=10.42.3.11 authz.group= authz.kind=default authz.name=audit`,
    expect: skip(LINKERD_HTTP_EVENT),
  },
  // The admin server (linkerd2-proxy linkerd/app/admin) enforces policy but writes no access log
  // (the access-log layer is on the inbound HTTP server only): its events are calls of their own.
  // The line is the one linkerd/linkerd2#10691 shows for a Prometheus scrape under a deny default.
  {
    name: 'plain Request denied on the admin server (a scrape of :4191): a denied HTTP call on the listen port',
    line: '[ 72037.811391s]  INFO ThreadId(02) daemon:admin{listen.addr=0.0.0.0:4191}: linkerd_app_inbound::policy::http: Request denied server.group= server.kind=default server.name=deny route.group= route.kind=default route.name=default client.tls=None(NoClientHello) client.ip=10.203.1.120',
    expect: record(
      { mesh: 'linkerd', protocol: 'http', source: { principal: null, ip: '10.203.1.120' }, destination: { port: 4191 }, response: { details: 'linkerd_admin_request_denied', deniedBy: 'default:deny' }, observed: 'denied', count: 1 },
      'inbound',
    ),
  },
  {
    name: 'JSON Request denied on the admin server, with a rescue span after it and a meshed client',
    line: `{"timestamp":"[ 72037.811391s]","level":"INFO","fields":{"message":"Request denied","server.group":"","server.kind":"default","server.name":"all-authenticated","route.group":"","route.kind":"default","route.name":"default","client.tls":"${ESTABLISHED}","client.ip":"10.42.3.11"},"target":"linkerd_app_inbound::policy::http","spans":[{"name":"daemon"},{"listen.addr":"[::]:4191","name":"admin"}],"threadId":"ThreadId(2)"}`,
    expect: record(
      { mesh: 'linkerd', protocol: 'http', source: { principal: BOOKS_ID, serviceAccount: 'books', namespace: 'booksapp', ip: '10.42.3.11' }, destination: { port: 4191 }, response: { details: 'linkerd_admin_request_denied', deniedBy: 'default:all-authenticated' }, observed: 'denied', count: 1 },
      'inbound',
    ),
  },
  {
    name: 'audit Request allowed on the admin server: an allowed HTTP call, marked as audit',
    line: `[  4200.3s]  INFO ThreadId(02) daemon:admin{listen.addr=0.0.0.0:4191}:rescue{client.addr=10.42.3.11:40000}: linkerd_app_inbound::policy::http: Request allowed server.group= server.kind=default server.name=audit route.group= route.kind=default route.name=default client.tls=${ESTABLISHED} client.ip=10.42.3.11 authz.group= authz.kind=default authz.name=audit`,
    expect: record(
      { mesh: 'linkerd', protocol: 'http', source: { principal: BOOKS_ID, serviceAccount: 'books', namespace: 'booksapp', ip: '10.42.3.11' }, destination: { port: 4191 }, response: { details: 'linkerd_audit_allowed' }, observed: 'allowed', count: 1 },
      'inbound',
    ),
  },
  {
    name: 'a connection closed after a policy change is not a new call',
    line: '[  4300.0s]  INFO ThreadId(02) inbound:server{port=5432}: linkerd_app_inbound::policy::tcp: Connection terminated due to policy change server.group=policy.linkerd.io server.kind=server server.name=db-tcp tls=None(NoClientHello) client=10.42.0.7:51000',
    expect: skip('Linkerd policy event: an open connection closed after a policy change (not a new call)'),
  },
  {
    name: 'any other proxy line is skipped as a proxy log line',
    line: '[     0.002143s]  INFO ThreadId(01) linkerd2_proxy: Admin interface on 0.0.0.0:4191',
    expect: skip('Linkerd proxy log line, not an access log line'),
  },
];

const LINKERD_APACHE: Case[] = logged('linkerd-apache', [
  {
    name: 'allowed, meshed client (absolute URI → path and host)',
    line: '10.42.3.12:46010 webapp.booksapp.serviceaccount.identity.linkerd.cluster.local - [2025-03-14T13:00:01.118273645Z] "DELETE http://authors:7001/authors/17.json HTTP/2.0" 204',
    expect: record(
      {
        time: '2025-03-14T13:00:01.118273645Z',
        mesh: 'linkerd',
        protocol: 'http2',
        source: { principal: 'webapp.booksapp.serviceaccount.identity.linkerd.cluster.local', serviceAccount: 'webapp', namespace: 'booksapp', ip: '10.42.3.12' },
        request: { method: 'DELETE', path: '/authors/17.json', host: 'authors:7001' },
        response: { status: 204 },
        observed: 'allowed',
        count: 1,
      },
      'inbound',
    ),
  },
  {
    name: '403 is a policy denial',
    line: '10.42.3.11:38844 books.booksapp.serviceaccount.identity.linkerd.cluster.local - [2025-03-14T13:00:02.509918212Z] "DELETE http://authors:7001/authors/18.json HTTP/2.0" 403',
    expect: record(
      {
        time: '2025-03-14T13:00:02.509918212Z',
        mesh: 'linkerd',
        protocol: 'http2',
        source: { principal: 'books.booksapp.serviceaccount.identity.linkerd.cluster.local', serviceAccount: 'books', namespace: 'booksapp', ip: '10.42.3.11' },
        request: { method: 'DELETE', path: '/authors/18.json', host: 'authors:7001' },
        response: { status: 403, details: 'linkerd_policy_403' },
        observed: 'denied',
        count: 1,
      },
      'inbound',
    ),
  },
  {
    name: 'unmeshed client (kubelet probe): principal null, origin-form URI',
    line: '10.42.0.1:52210 - - [2025-03-14T13:00:03.000410977Z] "GET /ping HTTP/1.1" 200',
    expect: record(
      {
        time: '2025-03-14T13:00:03.000410977Z',
        mesh: 'linkerd',
        protocol: 'http',
        source: { principal: null, ip: '10.42.0.1' },
        request: { method: 'GET', path: '/ping' },
        response: { status: 200 },
        observed: 'allowed',
        count: 1,
      },
      'inbound',
    ),
  },
  {
    name: 'IPv6 client and a query string',
    line: '[fd00:10:42::7]:40022 webapp.booksapp.serviceaccount.identity.linkerd.cluster.local - [2025-03-14T13:00:04.250000001Z] "GET http://authors:7001/authors.json?page=2 HTTP/2.0" 200',
    expect: record(
      {
        time: '2025-03-14T13:00:04.250000001Z',
        mesh: 'linkerd',
        protocol: 'http2',
        source: { principal: 'webapp.booksapp.serviceaccount.identity.linkerd.cluster.local', serviceAccount: 'webapp', namespace: 'booksapp', ip: 'fd00:10:42::7' },
        request: { method: 'GET', path: '/authors.json?page=2', host: 'authors:7001' },
        response: { status: 200 },
        observed: 'allowed',
        count: 1,
      },
      'inbound',
    ),
  },
  {
    name: 'no status (the response never completed): unknown',
    line: '10.42.3.12:46020 webapp.booksapp.serviceaccount.identity.linkerd.cluster.local - [2025-03-14T13:00:05.000000000Z] "GET http://authors:7001/slow HTTP/2.0"',
    expect: record(
      {
        time: '2025-03-14T13:00:05.000000000Z',
        mesh: 'linkerd',
        protocol: 'http2',
        source: { principal: 'webapp.booksapp.serviceaccount.identity.linkerd.cluster.local', serviceAccount: 'webapp', namespace: 'booksapp', ip: '10.42.3.12' },
        request: { method: 'GET', path: '/slow', host: 'authors:7001' },
        observed: 'unknown',
        count: 1,
      },
      'inbound',
    ),
  },
  {
    name: "the proxy's HTTP Request denied event: the request's access log line counts it",
    line: '[  4021.118340s]  INFO ThreadId(02) inbound:server{port=7001}: linkerd_app_inbound::policy::http: Request denied server.group=policy.linkerd.io server.kind=server server.name=authors-server client.ip=10.42.3.11',
    expect: skip(LINKERD_HTTP_EVENT),
  },
  ...LINKERD_PROXY_EVENTS,
  { name: 'a status that is not a number', line: '10.42.0.1:52210 - - [2025-03-14T13:00:03Z] "GET /ping HTTP/1.1" OK', expect: skip('not a Linkerd access log line') },
  { name: 'garbage', line: 'hello world', expect: skip('not a Linkerd access log line') },
]);

const LINKERD_JSON: Case[] = logged('linkerd-json', [
  {
    name: '403 denial, User-Agent kept',
    line: '{"client.addr":"10.42.3.11:38844","client.id":"books.booksapp.serviceaccount.identity.linkerd.cluster.local","host":"authors:7001","method":"DELETE","processing_ns":"18322","request_bytes":"","response_bytes":"0","status":403,"timestamp":"2025-03-14T13:00:02.509918212Z","total_ns":"201447","trace_id":"","uri":"http://authors:7001/authors/18.json","user_agent":"Go-http-client/2.0","version":"HTTP/2.0"}',
    expect: record(
      {
        time: '2025-03-14T13:00:02.509918212Z',
        mesh: 'linkerd',
        protocol: 'http2',
        source: { principal: 'books.booksapp.serviceaccount.identity.linkerd.cluster.local', serviceAccount: 'books', namespace: 'booksapp', ip: '10.42.3.11' },
        request: { method: 'DELETE', path: '/authors/18.json', host: 'authors:7001', headers: { 'user-agent': 'Go-http-client/2.0' } },
        response: { status: 403, details: 'linkerd_policy_403' },
        observed: 'denied',
        count: 1,
      },
      'inbound',
    ),
  },
  {
    name: 'gRPC: a 200 may hide grpc-status 7 (PERMISSION_DENIED), so unknown',
    line: '{"client.addr":"10.42.2.5:41822","client.id":"-","host":"voting-svc.emojivoto:8080","method":"POST","processing_ns":"9011","request_bytes":"5","response_bytes":"0","status":200,"timestamp":"2025-03-14T13:01:40.020017731Z","total_ns":"150023","trace_id":"","uri":"http://voting-svc.emojivoto:8080/emojivoto.v1.VotingService/VoteDog","user_agent":"grpc-go/1.62.0","version":"HTTP/2.0"}',
    expect: record(
      {
        time: '2025-03-14T13:01:40.020017731Z',
        mesh: 'linkerd',
        protocol: 'grpc',
        source: { principal: null, ip: '10.42.2.5' },
        request: { method: 'POST', path: '/emojivoto.v1.VotingService/VoteDog', host: 'voting-svc.emojivoto:8080', headers: { 'user-agent': 'grpc-go/1.62.0' } },
        response: { status: 200 },
        observed: 'unknown',
        count: 1,
      },
      'inbound',
    ),
  },
  {
    name: '404 may be "no route" (before authorization): unknown; trace id becomes the request id',
    line: '{"client.addr":"10.42.3.12:46012","client.id":"webapp.booksapp.serviceaccount.identity.linkerd.cluster.local","host":"authors:7001","method":"PUT","processing_ns":"12001","request_bytes":"48","response_bytes":"0","status":404,"timestamp":"2025-03-14T13:02:10.777100001Z","total_ns":"98110","trace_id":"3f2a1b0c9d8e7f60","uri":"http://authors:7001/authors/19.json","user_agent":"Go-http-client/2.0","version":"HTTP/2.0"}',
    expect: record(
      {
        time: '2025-03-14T13:02:10.777100001Z',
        mesh: 'linkerd',
        protocol: 'http2',
        source: { principal: 'webapp.booksapp.serviceaccount.identity.linkerd.cluster.local', serviceAccount: 'webapp', namespace: 'booksapp', ip: '10.42.3.12' },
        request: { method: 'PUT', path: '/authors/19.json', host: 'authors:7001', headers: { 'user-agent': 'Go-http-client/2.0' } },
        response: { status: 404 },
        observed: 'unknown',
        count: 1,
      },
      'inbound',
      { requestId: '3f2a1b0c9d8e7f60' },
    ),
  },
  {
    name: 'status as a string, HTTP/1.1, origin-form URI, empty host falls back to nothing',
    line: '{"client.addr":"10.42.0.1:52300","client.id":"-","host":"","method":"GET","status":"200","timestamp":"2025-03-14T13:03:00.000000001Z","trace_id":"","uri":"/ready","user_agent":"kube-probe/1.31","version":"HTTP/1.1"}',
    expect: record(
      {
        time: '2025-03-14T13:03:00.000000001Z',
        mesh: 'linkerd',
        protocol: 'http',
        source: { principal: null, ip: '10.42.0.1' },
        request: { method: 'GET', path: '/ready', headers: { 'user-agent': 'kube-probe/1.31' } },
        response: { status: 200 },
        observed: 'allowed',
        count: 1,
      },
      'inbound',
    ),
  },
  {
    name: "the proxy's JSON HTTP Request denied event: the request's access log line counts it",
    line: '{"fields":{"message":"Request denied","server.name":"authors-server"},"level":"INFO","target":"linkerd_app_inbound::policy::http","timestamp":"[  4021.118340s]"}',
    expect: skip(LINKERD_HTTP_EVENT),
  },
  ...LINKERD_PROXY_EVENTS,
  { name: 'truncated', line: '{"client.addr":"10.42.3.11:38844","client.id":"books', expect: skip('not JSON') },
  { name: 'not Linkerd', line: '{"msg":"hello"}', expect: skip('no access log fields') },
]);

describe('line keys (the fast path of ingestion)', () => {
  const TEXT = '[2025-03-14T09:26:53.412Z] "GET /status/200 HTTP/1.1" 200 - via_upstream - "-" 0 0 3 2 "-" "curl/8.5.0" "5f0c2a9e-1b7d-4c36-9a0e-2d41c7e0b3aa" "httpbin.foo:8000" "10.244.2.23:8080" inbound|8080|| 127.0.0.6:51022 10.244.2.23:8080 10.244.2.21:40318 outbound_.8000_._.httpbin.foo.svc.cluster.local default';
  const JSON_LINE = { start_time: '2025-03-14T09:26:53.412Z', method: 'GET', path: '/status/200', protocol: 'HTTP/1.1', response_code: 200, response_code_details: 'via_upstream', request_id: 'a1', authority: 'httpbin.foo:8000', upstream_cluster: 'inbound|8080||', downstream_local_address: '10.244.2.23:8080', downstream_remote_address: '10.244.2.21:40318', requested_server_name: SNI_HTTPBIN, source_principal: 'spiffe://cluster.local/ns/foo/sa/sleep' };
  // keys compare within one reader (each reader's keys carry its own prefix)
  const readers = new Map<LogFormatId, LineReader>();
  const key = (format: LogFormatId, line: string) => {
    if (!readers.has(format)) readers.set(format, createReader(format));
    const peeked = readers.get(format)!.peek!(line);
    // the parts are the reader's scratch array: read at once (equal parts must give equal hashes)
    return peeked === undefined ? undefined : `${peeked.hash}\u0003${peeked.parts.join('\u0001')}`;
  };
  const json = (fields: Record<string, unknown>) => JSON.stringify({ ...JSON_LINE, ...fields });

  it('the same key for lines that differ in time, request id, byte counts and the caller port', () => {
    const other = TEXT.replace('09:26:53.412Z', '10:01:00.001Z').replace('5f0c2a9e-1b7d-4c36-9a0e-2d41c7e0b3aa', 'x').replace(' 0 0 3 2 ', ' 10 2000 31 29 ').replace(':40318', ':1');
    assert.equal(key('envoy-text', other), key('envoy-text', TEXT));
    assert.equal(key('envoy-json', json({ start_time: '2025-03-14T11:00:00.000Z', request_id: 'b2', downstream_remote_address: '10.244.2.21:5', bytes_sent: 99 })), key('envoy-json', json({})));
  });

  it('another key for a difference the record keeps', () => {
    const base = key('envoy-json', json({}))!;
    for (const fields of [{ path: '/status/201' }, { response_code: 403 }, { source_principal: null }, { source_principal: '-' }, { downstream_remote_address: '10.244.2.22:40318' }, { downstream_local_address: '10.244.2.23:8081' }, { user_agent: 'curl' }]) {
      assert.notEqual(key('envoy-json', json(fields)), base, JSON.stringify(fields));
    }
    // a key present with null and an absent key say different things (null principal: plaintext)
    const { source_principal: _dropped, ...without } = JSON_LINE;
    assert.notEqual(key('envoy-json', JSON.stringify(without)), key('envoy-json', json({ source_principal: null })));
    // a number and the same number as a string read the same
    assert.equal(key('envoy-json', json({ response_code: '200' })), base);
    assert.notEqual(key('envoy-text', TEXT.replace('GET /status/200', 'GET /status/201')), key('envoy-text', TEXT));
  });

  it('takes the full way for escapes, separator characters, TCP lines and shipper metadata', () => {
    assert.equal(createReader('envoy-json').peek!(json({ user_agent: 'a \\"quoted\\" agent' })), undefined);
    assert.equal(createReader('envoy-json').peek!(json({ path: '/a\u0001b' })), undefined);
    assert.equal(createReader('envoy-text').peek!(TEXT.replace('curl/8.5.0', 'curl\u0002')), undefined);
    assert.equal(createReader('envoy-json').peek!(json({ method: null, path: null, protocol: null, authority: null })), undefined);
    assert.equal(createReader('envoy-json').peek!(json({ kubernetes: { pod_name: 'httpbin-1', namespace_name: 'foo' } })), undefined);
    assert.equal(createReader('envoy-text').peek!('not a log line'), undefined);
  });

  it('takes the full way for a raw separator in a value of the key, and agrees with read when one is elsewhere', () => {
    // (raw characters: JSON.stringify would escape them, and an escape already takes the full way)
    const raw = (line: string, from: string, to: string) => { assert.ok(line.includes(from)); return line.replace(from, to); };
    const jsonLine = json({});
    assert.equal(createReader('envoy-json').peek!(raw(jsonLine, '"/status/200"', '"/a\u0001b"')), undefined, 'inside a longer value');
    assert.equal(createReader('envoy-json').peek!(raw(jsonLine, '"GET"', '"\u0000"')), undefined, 'a value that looks like an absent one');
    assert.equal(createReader('envoy-text').peek!(raw(TEXT, 'httpbin.foo:8000', '\u0002')), undefined, 'a value that looks like no IP');
    assert.equal(createReader('envoy-text').peek!(raw(TEXT, 'curl/8.5.0', 'curl/\u00038.5.0')), undefined);
    const linkerd = LINKERD_APACHE[0]!.line;
    assert.equal(createReader('linkerd-apache').peek!(raw(linkerd, '"DELETE ', '"\u0001 ')), undefined);
    // in the request id or the time (not in the key), the line keeps its key and reads the same
    for (const [format, line] of [
      ['envoy-text', raw(TEXT, '5f0c2a9e-1b7d', '5f0c2a9e-\u00011b7d')],
      ['envoy-json', raw(jsonLine, '"request_id":"a1"', '"request_id":"a\u00011"')],
    ] as const) {
      const peeked = createReader(format).peek!(line);
      assert.ok(peeked, format);
      assertPeekAgrees(createReader(format), line, createReader(format).read(line));
    }
    assert.equal(key('envoy-text', raw(TEXT, '5f0c2a9e-1b7d', '5f0c2a9e-\u00011b7d')), key('envoy-text', TEXT));
  });
});

describe('Linkerd HTTP policy events mark the next access log line of their client', () => {
  // The proxy logs `Request denied` / audit `Request allowed` when it authorizes a request, and the
  // access log line when the response completes (linkerd2-proxy policy/http.rs; the access-log
  // layer wraps the error rescue, so a refused gRPC request is logged as 200, grpc-status 7 being
  // in the trailers: docs/access-records.md).
  const denied = (ip: string) => `[  4021.1s]  INFO ThreadId(02) inbound:server{port=7001}:rescue{client.addr=${ip}:38844}: linkerd_app_inbound::policy::http: Request denied server.group=policy.linkerd.io server.kind=server server.name=authors-server route.group=policy.linkerd.io route.kind=HTTPRoute route.name=authors-modify client.tls=${ESTABLISHED} client.ip=${ip}`;
  const audit = (ip: string) => `[  4021.2s]  INFO ThreadId(02) inbound:server{port=7001}: linkerd_app_inbound::policy::http: Request allowed server.group=policy.linkerd.io server.kind=server server.name=authors-server route.group= route.kind=default route.name=default client.tls=${ESTABLISHED} client.ip=${ip} authz.group= authz.kind=default authz.name=audit`;
  const adminDenied = (ip: string) => `[  4021.3s]  INFO ThreadId(02) daemon:admin{listen.addr=0.0.0.0:4191}: linkerd_app_inbound::policy::http: Request denied server.group= server.kind=default server.name=deny route.group= route.kind=default route.name=default client.tls=None(NoClientHello) client.ip=${ip}`;
  const apache = (ip: string, status: number, path = '/authors/18.json') => `${ip}:46010 ${BOOKS_ID} - [2025-03-14T13:00:02.5Z] "DELETE http://authors:7001${path} HTTP/2.0" ${status}`;
  const json = (ip: string, status: number) => `{"client.addr":"${ip}:38844","client.id":"${BOOKS_ID}","host":"authors:7001","method":"POST","status":${status},"timestamp":"2025-03-14T13:00:02.5Z","trace_id":"","uri":"http://authors:7001/authors.v1.Authors/Delete","user_agent":"grpc-go/1.62.0","version":"HTTP/2.0"}`;
  type Seen = [observed: string | undefined, protocol: string | undefined, details: string | null];
  const seen = (r: LineResult): Seen | string => (r.kind === 'record' ? [r.record.observed, r.record.protocol, r.record.response?.details ?? null] : `skip`);
  const cases: { name: string; format: LogFormatId; lines: string[]; expect: (Seen | string)[] }[] = [
    { name: 'a denial then its 403: denied as before (the 403 is the policy\'s)', format: 'linkerd-apache', lines: [denied('10.1.0.5'), apache('10.1.0.5', 403)], expect: ['skip', ['denied', 'http2', 'linkerd_policy_403']] },
    { name: 'a denial then a 200: a gRPC request refused (grpc-status 7)', format: 'linkerd-apache', lines: [denied('10.1.0.5'), apache('10.1.0.5', 200)], expect: ['skip', ['denied', 'grpc', 'linkerd_grpc_permission_denied']] },
    { name: 'JSON: a denial then a gRPC 200 (unknown before): denied', format: 'linkerd-json', lines: [json('10.1.0.5', 200), denied('10.1.0.5'), json('10.1.0.5', 200), json('10.1.0.5', 200)], expect: [['unknown', 'grpc', null], 'skip', ['denied', 'grpc', 'linkerd_grpc_permission_denied'], ['unknown', 'grpc', null]] },
    { name: 'an audit Request allowed then its line: allowed only by audit', format: 'linkerd-json', lines: [audit('10.1.0.5'), json('10.1.0.5', 200)], expect: ['skip', ['allowed', 'grpc', 'linkerd_audit_allowed']] },
    { name: 'another client\'s line is not marked; the client\'s next line is', format: 'linkerd-apache', lines: [denied('10.1.0.5'), apache('10.1.0.6', 200), apache('10.1.0.5', 200)], expect: ['skip', ['allowed', 'http2', null], ['denied', 'grpc', 'linkerd_grpc_permission_denied']] },
    { name: 'a denial does not take a line that cannot be its request (404); the next 403 is', format: 'linkerd-apache', lines: [denied('10.1.0.5'), apache('10.1.0.5', 404), apache('10.1.0.5', 403)], expect: ['skip', ['unknown', 'http2', null], ['denied', 'http2', 'linkerd_policy_403']] },
    { name: 'an HTTP/1 200 is not a refused gRPC request (gRPC runs over HTTP/2): the HTTP/2 200 after it is', format: 'linkerd-apache', lines: [denied('10.1.0.5'), apache('10.1.0.5', 200).replace('HTTP/2.0', 'HTTP/1.1'), apache('10.1.0.5', 200)], expect: ['skip', ['allowed', 'http', null], ['denied', 'grpc', 'linkerd_grpc_permission_denied']] },
    { name: 'an admin-server denial (a scrape of :4191, no access log) is a call of its own and marks no later line of the client', format: 'linkerd-apache', lines: [adminDenied('10.1.0.5'), apache('10.1.0.5', 200), apache('10.1.0.5', 403)], expect: [['denied', 'http', 'linkerd_admin_request_denied'], ['allowed', 'http2', null], ['denied', 'http2', 'linkerd_policy_403']] },
    { name: 'two waiting events of one client take its next two lines in order', format: 'linkerd-apache', lines: [denied('10.1.0.5'), audit('10.1.0.5'), apache('10.1.0.5', 200), apache('10.1.0.5', 200)], expect: ['skip', 'skip', ['denied', 'grpc', 'linkerd_grpc_permission_denied'], ['allowed', 'http2', 'linkerd_audit_allowed']] },
  ];
  for (const c of cases) {
    it(c.name, () => {
      const reader = createReader(c.format);
      assert.deepEqual(c.lines.map((line) => seen(reader.read(line))), c.expect);
    });
  }

  it('a denial names the server the event names, as response.deniedBy', () => {
    const reader = createReader('linkerd-apache');
    reader.read(denied('10.1.0.5'));
    const grpc = reader.read(apache('10.1.0.5', 200));
    assert.equal(grpc.kind === 'record' ? grpc.record.response?.deniedBy : grpc.reason, 'server:authors-server');
    reader.read(denied('10.1.0.5'));
    const http = reader.read(apache('10.1.0.5', 403));
    assert.equal(http.kind === 'record' ? http.record.response?.deniedBy : http.reason, 'server:authors-server');
    const unmarked = reader.read(apache('10.1.0.5', 403));
    assert.equal(unmarked.kind === 'record' ? unmarked.record.response?.deniedBy : unmarked.reason, undefined, 'a 403 without an event names no server');
  });

  it('peek leaves a waiting client\'s line to read (which marks it), and keys the others', () => {
    const reader = createReader('linkerd-apache');
    assert.equal(reader.read(denied('10.1.0.5')).kind, 'skip');
    assert.ok(reader.peek!(apache('10.1.0.6', 200)), 'another client: the fast path');
    assert.equal(reader.peek!(apache('10.1.0.5', 200)), undefined, 'the waiting client: read in full');
    assert.deepEqual(seen(reader.read(apache('10.1.0.5', 200))), ['denied', 'grpc', 'linkerd_grpc_permission_denied']);
    // a line peeked earlier and read again later reads as at its peek, whatever waits now
    const line = apache('10.1.0.7', 200);
    assert.ok(reader.peek!(line));
    reader.read(denied('10.1.0.7'));
    assert.deepEqual(seen(reader.readAgain!(line)), ['allowed', 'http2', null]);
  });

  it('reads hostile proxy lines of a few MB in linear time (no regex backtracks across the line)', () => {
    // each shape took seconds at 40 KB with a backtracking pattern, hours at 4 MB
    const shapes = [
      (n: number) => `[  1.0s]  INFO ${'a::'.repeat(n / 3)}`,
      (n: number) => `[  1.0s]  INFO ${':server{ '.repeat(n / 9)}: x::y: Connection denied`,
      (n: number) => `[  1.0s]  INFO x::y: Request denied ${'a=('.repeat(n / 3)}`,
      (n: number) => `[  1.0s]  INFO x::y: Connection denied tls=Some(Established { client_id: Some(${'A('.repeat(n / 2)}`,
    ];
    for (const shape of shapes) {
      const line = shape(3_000_000);
      const started = performance.now();
      createReader('linkerd-apache').read(line);
      assert.ok(performance.now() - started < 3_000, `${line.slice(0, 40)}…: ${Math.round(performance.now() - started)} ms`);
    }
  });

  it('past 10,000 waiting events the first one goes, not the others', () => {
    const reader = createReader('linkerd-apache');
    const client = (i: number) => `10.2.${Math.floor(i / 250)}.${i % 250}`;
    for (let i = 0; i <= 10_000; i++) reader.read(denied(client(i)));
    assert.deepEqual(seen(reader.read(apache(client(0), 200))), ['allowed', 'http2', null], 'the first event was dropped');
    assert.deepEqual(seen(reader.read(apache(client(9_999), 200))), ['denied', 'grpc', 'linkerd_grpc_permission_denied'], 'the others still wait');
  });

  it('an event whose request never shows (access logging off) stops waiting after 10,000 access log lines', () => {
    const reader = createReader('linkerd-apache');
    reader.read(denied('10.1.0.5'));
    for (let i = 0; i < 12_000; i++) reader.read(apache('10.1.0.6', 200));
    assert.deepEqual(seen(reader.read(apache('10.1.0.5', 200))), ['allowed', 'http2', null]);
  });
});

describe('linkerd-apache', () => runTable('linkerd-apache', LINKERD_APACHE));
describe('linkerd-json', () => runTable('linkerd-json', LINKERD_JSON));

// ---------------------------------------------------------------------------------------------
// Istio ambient: ztunnel access events
// ---------------------------------------------------------------------------------------------

const ZT = (level: string, message: string, fields: string, time = '2025-03-14T11:00:01.228104Z'): string => `${time}\t${level}\taccess\t${message}\t${fields}`;
const ZT_SRC = 'src.addr=10.244.1.12:51402 src.workload="curl-6d8f9b7c5-k2x9z" src.namespace="default" src.identity="spiffe://cluster.local/ns/default/sa/curl"';
const ZT_DST = 'dst.addr=10.244.1.10:15008 dst.hbone_addr=10.244.1.10:9080 dst.service="productpage.default.svc.cluster.local" dst.workload="productpage-v1-7c9d8f6b5-q4w2e" dst.namespace="default" dst.identity="spiffe://cluster.local/ns/default/sa/bookinfo-productpage"';
const ZT_SOURCE = { principal: 'cluster.local/ns/default/sa/curl', namespace: 'default', serviceAccount: 'curl', workload: 'curl', ip: '10.244.1.12' };
const ZT_DESTINATION = { namespace: 'default', workload: 'productpage-v1', service: 'productpage.default.svc.cluster.local', serviceAccount: 'bookinfo-productpage', ip: '10.244.1.10', port: 9080 };
const ZTUNNEL: Case[] = [
  {
    name: 'inbound connection complete: allowed, the port from dst.hbone_addr',
    line: ZT('info', 'connection complete', `${ZT_SRC} ${ZT_DST} direction="inbound" bytes_sent=612 bytes_recv=94 duration="2ms"`),
    expect: record({ mesh: 'istio', protocol: 'tcp', time: '2025-03-14T11:00:01.228104Z', source: ZT_SOURCE, destination: ZT_DESTINATION, observed: 'allowed' }, 'unknown'),
  },
  {
    name: 'allow policies exist, but none allowed: denied, the error kept',
    line: ZT('error', 'connection complete', `${ZT_SRC} ${ZT_DST} direction="inbound" bytes_sent=0 bytes_recv=0 duration="0ms" error="connection closed due to policy rejection: allow policies exist, but none allowed"`),
    expect: record({ mesh: 'istio', protocol: 'tcp', time: '2025-03-14T11:00:01.228104Z', source: ZT_SOURCE, destination: ZT_DESTINATION, response: { details: 'connection closed due to policy rejection: allow policies exist, but none allowed', deniedBy: 'none' }, observed: 'denied' }, 'unknown'),
  },
  {
    name: 'connection failed (an early denial, addresses only; columns as spaces): the caller is not known, the tunnel port is not the service port',
    line: '2025-03-14T11:00:09.334611Z  error  access  connection failed  src.addr=10.244.2.41:60300 dst.addr=10.244.1.14:15008 direction="inbound" error="connection closed due to policy rejection: explicitly denied by: default/deny-curl"',
    expect: record({ mesh: 'istio', protocol: 'tcp', time: '2025-03-14T11:00:09.334611Z', source: { principalUnknown: true, ip: '10.244.2.41' }, destination: { ip: '10.244.1.14' }, response: { details: 'connection closed due to policy rejection: explicitly denied by: default/deny-curl', deniedBy: 'default/deny-curl' }, observed: 'denied' }, 'unknown', { addressedToPod: true }),
  },
  {
    name: 'no src.identity on a completed connection: a plaintext caller',
    line: ZT('info', 'connection complete', `src.addr=10.244.3.3:4000 ${ZT_DST} direction="inbound"`),
    expect: record({ mesh: 'istio', protocol: 'tcp', time: '2025-03-14T11:00:01.228104Z', source: { principal: null, ip: '10.244.3.3' }, destination: ZT_DESTINATION, observed: 'allowed' }, 'unknown'),
  },
  {
    name: 'an open connection a policy update no longer allows: denied',
    line: ZT('error', 'connection complete', `${ZT_SRC} ${ZT_DST} direction="inbound" error="connection closed due to policy change"`),
    expect: record({ mesh: 'istio', protocol: 'tcp', time: '2025-03-14T11:00:01.228104Z', source: ZT_SOURCE, destination: ZT_DESTINATION, response: { details: 'connection closed due to policy change' }, observed: 'denied' }, 'unknown'),
  },
  {
    name: 'an error that is not a policy rejection says nothing of the policy',
    line: ZT('error', 'connection complete', `${ZT_SRC} ${ZT_DST} direction="inbound" error="connection refused"`),
    expect: record({ mesh: 'istio', protocol: 'tcp', time: '2025-03-14T11:00:01.228104Z', source: ZT_SOURCE, destination: ZT_DESTINATION, response: { details: 'connection refused' }, observed: 'unknown' }, 'unknown'),
  },
  {
    name: 'JSON log format: the same fields as keys',
    line: JSON.stringify({ level: 'info', time: '2025-03-14T11:00:10.000Z', scope: 'access', message: 'connection complete', 'src.addr': '10.244.1.12:51402', 'src.identity': 'spiffe://cluster.local/ns/default/sa/curl', 'src.namespace': 'default', 'src.workload': 'curl-6d8f9b7c5-k2x9z', 'dst.addr': '10.244.1.10:15008', 'dst.hbone_addr': '10.244.1.10:9080', 'dst.workload': 'productpage-v1-7c9d8f6b5-q4w2e', 'dst.namespace': 'default', direction: 'inbound', bytes_sent: 1 }),
    expect: record({ mesh: 'istio', protocol: 'tcp', time: '2025-03-14T11:00:10.000Z', source: ZT_SOURCE, destination: { namespace: 'default', workload: 'productpage-v1', ip: '10.244.1.10', port: 9080 }, observed: 'allowed' }, 'unknown', { addressedToPod: true }),
  },
  { name: 'the outbound side repeats the connection', line: ZT('info', 'connection complete', `${ZT_SRC} ${ZT_DST} direction="outbound"`), expect: skip("ztunnel outbound side (the destination's inbound line records the connection)") },
  { name: 'a line cut short before its destination', line: ZT('info', 'connection complete', 'src.addr=10.244.2.40:4'), expect: skip('ztunnel access event without a destination (truncated?)') },
  { name: 'connection opened is logged again when it completes', line: ZT('debug', 'connection opened', `${ZT_SRC} direction="inbound"`), expect: skip('ztunnel connection opened (logged again when it completes)') },
  { name: 'another scope', line: '2025-03-14T11:00:09.400000Z\tinfo\tproxy\tlistener established', expect: skip('ztunnel log line, not an access event') },
  { name: 'an unterminated quoted value', line: ZT('info', 'connection complete', 'src.addr=10.244.1.12:51402 src.workload="curl'), expect: skip('unterminated quoted value') },
  {
    name: "values quoted by Rust's {:?}: \\n, \\t, \\\", \\\\ and \\u{..} escapes are decoded",
    line: ZT('error', 'connection complete', `${ZT_SRC} ${ZT_DST} direction="inbound" error="tls error: peer said \\"no\\"\\n\\tat C:\\\\x \\u{1b}[0m"`),
    expect: record({ mesh: 'istio', protocol: 'tcp', time: '2025-03-14T11:00:01.228104Z', source: ZT_SOURCE, destination: ZT_DESTINATION, response: { details: 'tls error: peer said "no"\n\tat C:\\x \u001b[0m' }, observed: 'unknown' }, 'unknown'),
  },
  {
    name: 'dst.hbone_addr naming a service (tunneled by host name): the pod from dst.addr, the service port is not the target port',
    line: ZT('info', 'connection complete', `${ZT_SRC} dst.addr=10.244.1.10:15008 dst.hbone_addr=productpage.default.svc.cluster.local:9080 dst.workload="productpage-v1-7c9d8f6b5-q4w2e" dst.namespace="default" direction="inbound"`),
    expect: record({ mesh: 'istio', protocol: 'tcp', time: '2025-03-14T11:00:01.228104Z', source: ZT_SOURCE, destination: { namespace: 'default', workload: 'productpage-v1', service: 'productpage.default.svc.cluster.local', ip: '10.244.1.10' }, observed: 'allowed' }, 'unknown'),
  },
  {
    name: 'IPv6 addresses: the port from the bracketed dst.hbone_addr',
    line: ZT('info', 'connection complete', 'src.addr=[fd00:10:244::5]:51402 dst.addr=[fd00:10:244::9]:15008 dst.hbone_addr=[fd00:10:244::9]:9080 direction="inbound"'),
    expect: record({ mesh: 'istio', protocol: 'tcp', time: '2025-03-14T11:00:01.228104Z', source: { principal: null, ip: 'fd00:10:244::5' }, destination: { ip: 'fd00:10:244::9', port: 9080 }, observed: 'allowed' }, 'unknown', { addressedToPod: true }),
  },
];

describe('ztunnel', () => runTable('ztunnel', ZTUNNEL));

// ---------------------------------------------------------------------------------------------
// Istio ambient: waypoint proxies (Envoy lines whose cluster is the waypoint's)
// ---------------------------------------------------------------------------------------------

// Istio pilot/pkg/networking/core/cluster_waypoint.go and listener_waypoint.go: the waypoint's
// internal listener `main_internal` picks a chain by the original destination; a Service VIP's
// chains route to `inbound-vip|<service port>|http|<host>` (or `tcp`; `http/<subset>` for a
// DestinationRule subset; model.BuildSubsetKey writes direction|port|subset|host), a pod
// addressed directly goes to `encap`. Both reach the pod through the `connect_originate`
// internal listener, so the upstream host reads `envoy://connect_originate/<pod ip>:<target port>`,
// and the downstream local address is the original destination (the VIP and the Service port).
const WP_HTTPBIN = { service: 'httpbin.default.svc.cluster.local', namespace: 'default' };
const WP_REQUEST = { method: 'GET', path: '/get', host: 'httpbin:8000', headers: { 'user-agent': 'curl/8.12.1' } };
const WP_TEXT = (code: string, details: string, id: string, upstreamHost: string, cluster: string, local: string, remote: string): string =>
  `[2025-04-01T07:36:47.565Z] "GET /get HTTP/1.1" ${code} - ${details} - "-" 0 369 7 7 "-" "curl/8.12.1" "${id}" "httpbin:8000" "${upstreamHost}" ${cluster} envoy://internal_client_address/ ${local} ${remote} - default`;
/** The record of a waypoint line written by WP_TEXT: server side, the waypoint's. */
const wpRecord = (id: string, destination: AccessRecord['destination'], response: AccessRecord['response'], observed: AccessRecord['observed'], request = WP_REQUEST, toPod = false): ParsedLine =>
  record(
    { time: '2025-04-01T07:36:47.565Z', mesh: 'istio', protocol: 'http', source: { ip: '10.244.1.16' }, destination, request, response, observed, count: 1 },
    'inbound',
    { requestId: id, identityGap: GAP_NO_IDENTITY_FIELD, waypoint: true, ...(toPod ? { addressedToPod: true as const } : {}) },
  );
const WP_ALLOWED = { status: 200, details: 'via_upstream' };
const WP_POD = { ip: '10.244.3.16', port: 8080 };
const WP_UPSTREAM = 'envoy://connect_originate/10.244.3.16:8080';
const WP_VIP_CLUSTER = 'inbound-vip|8000|http|httpbin.default.svc.cluster.local';
const WAYPOINT_TEXT: Case[] = [
  {
    name: 'a call to a Service VIP, allowed: server side; the Service from the cluster, the pod and its target port from the upstream host (not the VIP)',
    line: WP_TEXT('200', 'via_upstream', 'cd38105b-41ad-46de-9cae-d440d131d453', WP_UPSTREAM, WP_VIP_CLUSTER, '10.96.81.28:8000', '10.244.1.16:37736'),
    expect: wpRecord('cd38105b-41ad-46de-9cae-d440d131d453', { ...WP_HTTPBIN, ...WP_POD }, WP_ALLOWED, 'allowed'),
  },
  {
    name: 'denied by the waypoint\'s RBAC: no upstream host, so no pod and no port (the cluster\'s port is the Service port)',
    line: WP_TEXT('403', 'rbac_access_denied_matched_policy[none]', '1227bbf1-aa5a-4818-aaac-f9ea2d7fdc3c', '-', WP_VIP_CLUSTER, '10.96.81.28:8000', '10.244.1.16:59462').replace(' 0 369 7 7 ', ' 0 19 0 - '),
    expect: wpRecord('1227bbf1-aa5a-4818-aaac-f9ea2d7fdc3c', WP_HTTPBIN, { status: 403, details: 'rbac_access_denied_matched_policy[none]', deniedBy: 'none' }, 'denied'),
  },
  {
    name: '%UPSTREAM_CLUSTER% with its empty alt stat name, and a DestinationRule subset',
    line: WP_TEXT('200', 'via_upstream', '3a029828-3b3c-4acf-a9c6-6c9ed188e3f8', WP_UPSTREAM, 'inbound-vip|8000|http/v1|httpbin.default.svc.cluster.local;', '10.96.81.28:8000', '10.244.1.16:37736'),
    expect: wpRecord('3a029828-3b3c-4acf-a9c6-6c9ed188e3f8', { ...WP_HTTPBIN, ...WP_POD }, WP_ALLOWED, 'allowed'),
  },
  {
    name: 'a pod addressed directly (cluster encap): the pod is the original destination, the downstream local address',
    line: WP_TEXT('200', 'via_upstream', '09ac6614-fbf1-4ed9-bd02-c71eb3cd01d8', WP_UPSTREAM, 'encap', '10.244.3.16:8080', '10.244.1.16:37750').replace('"httpbin:8000"', '"10.244.3.16:8080"'),
    expect: wpRecord('09ac6614-fbf1-4ed9-bd02-c71eb3cd01d8', WP_POD, WP_ALLOWED, 'allowed', { ...WP_REQUEST, host: '10.244.3.16:8080' }, true),
  },
  {
    name: 'the HBONE tunnel\'s own hop (main_internal) is not a call to a destination: side unknown, as before',
    line: WP_TEXT('200', 'via_upstream', 'f6af746d-3c6e-4cc4-8c37-ee26742b8ba9', 'envoy://main_internal/', 'main_internal', '10.244.2.50:15008', '10.244.1.16:37760').replace('"GET /get HTTP/1.1"', '"CONNECT - HTTP/2"'),
    expect: record(
      { time: '2025-04-01T07:36:47.565Z', mesh: 'istio', protocol: 'http2', source: { ip: '10.244.1.16' }, destination: { ip: '10.244.2.50', port: 15008 }, request: { method: 'CONNECT', host: 'httpbin:8000', headers: { 'user-agent': 'curl/8.12.1' } }, response: WP_ALLOWED, observed: 'allowed', count: 1 },
      'unknown',
      { requestId: 'f6af746d-3c6e-4cc4-8c37-ee26742b8ba9', identityGap: GAP_NO_IDENTITY_FIELD },
    ),
  },
];

const WAYPOINT_JSON: Case[] = [
  {
    name: 'Istio default JSON from a waypoint, a TCP Service port (inbound-vip|…|tcp|…), allowed',
    line: '{"authority":null,"bytes_received":120,"bytes_sent":480,"connection_termination_details":null,"downstream_local_address":"10.96.40.7:5432","downstream_remote_address":"10.244.1.16:41000","duration":30,"method":null,"path":null,"protocol":null,"request_id":null,"requested_server_name":null,"response_code":0,"response_code_details":null,"response_flags":"-","route_name":null,"start_time":"2025-04-01T07:40:00.000Z","upstream_cluster":"inbound-vip|5432|tcp|db.data.svc.cluster.local","upstream_host":"envoy://connect_originate/10.244.2.9:5432","upstream_local_address":"envoy://internal_client_address/","upstream_service_time":null,"upstream_transport_failure_reason":null,"user_agent":null,"x_forwarded_for":null}',
    expect: record(
      { time: '2025-04-01T07:40:00.000Z', mesh: 'istio', protocol: 'tcp', source: { ip: '10.244.1.16' }, destination: { service: 'db.data.svc.cluster.local', namespace: 'data', ip: '10.244.2.9', port: 5432 }, observed: 'allowed', count: 1 },
      'inbound',
      { identityGap: GAP_NO_IDENTITY_FIELD, waypoint: true },
    ),
  },
  {
    name: 'Istio default JSON from a waypoint, denied by a named policy',
    line: '{"authority":"httpbin:8000","bytes_received":0,"bytes_sent":19,"connection_termination_details":null,"downstream_local_address":"10.96.81.28:8000","downstream_remote_address":"10.244.1.16:37740","duration":0,"method":"DELETE","path":"/anything","protocol":"HTTP/1.1","request_id":"5b0f1f8e-0c2a-4d3b-9e4f-1a2b3c4d5e6f","requested_server_name":null,"response_code":403,"response_code_details":"rbac_access_denied_matched_policy[ns[default]-policy[deny-delete]-rule[0]]","response_flags":"-","route_name":"default","start_time":"2025-04-01T07:41:00.000Z","upstream_cluster":"inbound-vip|8000|http|httpbin.default.svc.cluster.local","upstream_host":null,"upstream_local_address":null,"upstream_service_time":null,"upstream_transport_failure_reason":null,"user_agent":"curl/8.12.1","x_forwarded_for":null}',
    expect: record(
      { time: '2025-04-01T07:41:00.000Z', mesh: 'istio', protocol: 'http', source: { ip: '10.244.1.16' }, destination: WP_HTTPBIN, request: { method: 'DELETE', path: '/anything', host: 'httpbin:8000', headers: { 'user-agent': 'curl/8.12.1' } }, response: { status: 403, details: 'rbac_access_denied_matched_policy[ns[default]-policy[deny-delete]-rule[0]]', deniedBy: 'default/deny-delete' }, observed: 'denied', count: 1 },
      'inbound',
      { requestId: '5b0f1f8e-0c2a-4d3b-9e4f-1a2b3c4d5e6f', identityGap: GAP_NO_IDENTITY_FIELD, waypoint: true },
    ),
  },
];

describe('envoy-text: Istio ambient waypoint lines', () => runTable('envoy-text', WAYPOINT_TEXT));
describe('envoy-json: Istio ambient waypoint lines', () => runTable('envoy-json', WAYPOINT_JSON));

// ---------------------------------------------------------------------------------------------
// Istio dry-run results (response.dryRun)
// ---------------------------------------------------------------------------------------------
// istiod puts dry-run ALLOW and DENY policies into the shadow rules of the RBAC filter of their
// action, with the shadow rules stat prefix istio_dry_run_allow_ / istio_dry_run_deny_ (istio
// pilot/pkg/security/authz/model/model.go RBACShadowRules*StatPrefix, builder/builder.go
// shadowRuleStatPrefix). Envoy's RBAC filters write <prefix>shadow_engine_result ("allowed" or
// "denied", common/rbac/utility.h DynamicMetadataKeys) and <prefix>shadow_effective_policy_id
// (only when a shadow policy matched) under envoy.filters.http.rbac, or envoy.filters.network.rbac
// for the network filter (http/rbac/rbac_filter.h shadowEngineResultField,
// network/rbac/rbac_filter.cc setDynamicMetadata). The ids are istiod's
// ns[<ns>]-policy[<name>]-rule[<i>] (builder.go policyName): the field keeps <ns>/<name>.

const DRY = (filter: 'http' | 'network', engine: 'allow' | 'deny', key: 'shadow_engine_result' | 'shadow_effective_policy_id'): string =>
  `DYNAMIC_METADATA(envoy.filters.${filter}.rbac:istio_dry_run_${engine}_${key})`;

// Both filters' operators in one format, as one meshConfig.accessLogFormat serves HTTP and TCP listeners; some with a length limit.
const DRY_RUN_TEXT_FORMAT =
  '[%START_TIME%] "%REQ(:METHOD)% %REQ(:PATH)% %PROTOCOL%" %RESPONSE_CODE% %RESPONSE_CODE_DETAILS% %CONNECTION_TERMINATION_DETAILS% "%UPSTREAM_HOST%" ' +
  '%UPSTREAM_CLUSTER_RAW% %DOWNSTREAM_LOCAL_ADDRESS% %DOWNSTREAM_REMOTE_ADDRESS% %DOWNSTREAM_PEER_URI_SAN% ' +
  `allow=%${DRY('http', 'allow', 'shadow_engine_result')}%,%${DRY('http', 'allow', 'shadow_effective_policy_id')}% ` +
  `deny=%${DRY('http', 'deny', 'shadow_engine_result')}:16%,%${DRY('http', 'deny', 'shadow_effective_policy_id')}% ` +
  `tcp_allow=%${DRY('network', 'allow', 'shadow_engine_result')}%,%${DRY('network', 'allow', 'shadow_effective_policy_id')}% ` +
  `tcp_deny=%${DRY('network', 'deny', 'shadow_engine_result')}%,%${DRY('network', 'deny', 'shadow_effective_policy_id')}:64%\n`;

/** A server-side line of sleep → httpbin in DRY_RUN_TEXT_FORMAT; each dry-run pair is `result,policy id`. */
const dryRunLine = (dry: { allow?: string; deny?: string; tcpAllow?: string; tcpDeny?: string }, head = '"GET /get HTTP/1.1" 200 via_upstream - "10.244.2.23:8080" inbound|8080|| 10.244.2.23:8080'): string =>
  `[2025-03-14T10:00:00.000Z] ${head} 10.244.2.21:40318 spiffe://cluster.local/ns/foo/sa/sleep allow=${dry.allow ?? '-,-'} deny=${dry.deny ?? '-,-'} tcp_allow=${dry.tcpAllow ?? '-,-'} tcp_deny=${dry.tcpDeny ?? '-,-'}`;

const SLEEP = { principal: 'cluster.local/ns/foo/sa/sleep', namespace: 'foo', serviceAccount: 'sleep', ip: '10.244.2.21' };

/** The record of dryRunLine's allowed GET, with the response's dryRun (or none). */
const dryRunRecord = (dryRun?: NonNullable<AccessRecord['response']>['dryRun']): ParsedLine =>
  record(
    {
      time: '2025-03-14T10:00:00.000Z', mesh: 'istio', protocol: 'http', source: SLEEP, destination: { ip: '10.244.2.23', port: 8080 },
      request: { method: 'GET', path: '/get' }, response: { status: 200, details: 'via_upstream', ...(dryRun ? { dryRun } : {}) }, observed: 'allowed', count: 1,
    },
    'inbound',
  );

const DRY_RUN_TEXT: Case[] = [
  {
    name: 'a dry-run DENY policy matched: the DENY engine denied, naming it; no dry-run ALLOW policy (nothing logged): no allow entry',
    line: dryRunLine({ deny: 'denied,ns[foo]-policy[deny-get-dry-run]-rule[0]' }),
    expect: dryRunRecord({ deny: { result: 'denied', policy: 'foo/deny-get-dry-run' } }),
  },
  {
    name: 'dry-run ALLOW policies, none matched: the ALLOW engine denied without an id; no DENY policy matched: allowed without an id',
    line: dryRunLine({ allow: 'denied,-', deny: 'allowed,-' }),
    expect: dryRunRecord({ allow: { result: 'denied' }, deny: { result: 'allowed' } }),
  },
  {
    name: 'a dry-run ALLOW policy matched: allowed, naming it (the rule index dropped)',
    line: dryRunLine({ allow: 'allowed,ns[foo]-policy[allow-sleep]-rule[2]' }),
    expect: dryRunRecord({ allow: { result: 'allowed', policy: 'foo/allow-sleep' } }),
  },
  { name: 'every dry-run value `-`: no dryRun', line: dryRunLine({}), expect: dryRunRecord() },
  { name: 'empty dry-run values: no dryRun', line: dryRunLine({ allow: ',', deny: ',', tcpAllow: ',', tcpDeny: ',' }), expect: dryRunRecord() },
  {
    name: 'a result that is neither allowed nor denied leaves its engine out; the line is still read',
    line: dryRunLine({ allow: 'maybe,ns[foo]-policy[allow-sleep]-rule[0]', deny: 'denied,ns[foo]-policy[deny-get-dry-run]-rule[0]' }),
    expect: dryRunRecord({ deny: { result: 'denied', policy: 'foo/deny-get-dry-run' } }),
  },
  {
    name: 'an effective policy id not of istiod\'s form names no policy; the result stays',
    line: dryRunLine({ deny: 'denied,deny-get-dry-run' }),
    expect: dryRunRecord({ deny: { result: 'denied' } }),
  },
  {
    name: 'a denial by an enforced policy with a dry-run DENY policy matching too: both are kept, apart',
    line: dryRunLine({ deny: 'denied,ns[foo]-policy[deny-all-dry-run]-rule[0]' }, '"GET /get HTTP/1.1" 403 rbac_access_denied_matched_policy[none] - "-" - 10.244.2.23:8080'),
    expect: record(
      {
        time: '2025-03-14T10:00:00.000Z', mesh: 'istio', protocol: 'http', source: SLEEP, destination: { ip: '10.244.2.23', port: 8080 }, request: { method: 'GET', path: '/get' },
        response: { status: 403, details: 'rbac_access_denied_matched_policy[none]', deniedBy: 'none', dryRun: { deny: { result: 'denied', policy: 'foo/deny-all-dry-run' } } },
        observed: 'denied', count: 1,
      },
      'inbound',
    ),
  },
  {
    name: 'TCP: the network filter\'s twins (envoy.filters.network.rbac); a response of the dry-run result alone',
    line: dryRunLine({ tcpDeny: 'denied,ns[foo]-policy[deny-tcp-dry-run]-rule[0]', tcpAllow: 'denied,-' }, '"- - -" 0 - - "10.244.2.22:9000" inbound|9000|| 10.244.2.22:9000'),
    expect: record(
      {
        time: '2025-03-14T10:00:00.000Z', mesh: 'istio', protocol: 'tcp', source: SLEEP, destination: { ip: '10.244.2.22', port: 9000 },
        response: { dryRun: { allow: { result: 'denied' }, deny: { result: 'denied', policy: 'foo/deny-tcp-dry-run' } } },
        observed: 'allowed', count: 1,
      },
      'inbound',
    ),
  },
];

const DRY_RUN_JSON_FORMAT = JSON.stringify({
  start_time: '%START_TIME%', method: '%REQ(:METHOD)%', path: '%REQ(:PATH)%', protocol: '%PROTOCOL%', code: '%RESPONSE_CODE%', details: '%RESPONSE_CODE_DETAILS%',
  cluster: '%UPSTREAM_CLUSTER_RAW%', local: '%DOWNSTREAM_LOCAL_ADDRESS%', remote: '%DOWNSTREAM_REMOTE_ADDRESS%',
  dry_allow: `%${DRY('http', 'allow', 'shadow_engine_result')}%`, dry_allow_id: `%${DRY('http', 'allow', 'shadow_effective_policy_id')}%`,
  dry_deny: `%${DRY('http', 'deny', 'shadow_engine_result')}:10%`, dry_deny_id: `%${DRY('http', 'deny', 'shadow_effective_policy_id')}%`,
});

const dryRunJson = (dry: Record<string, string | null>): string =>
  JSON.stringify({ start_time: '2025-03-14T10:00:00.000Z', method: 'GET', path: '/get', protocol: 'HTTP/1.1', code: 200, details: 'via_upstream', cluster: 'inbound|8080||', local: '10.244.2.23:8080', remote: '10.244.2.21:40318', ...dry });

const dryRunJsonRecord = (dryRun?: NonNullable<AccessRecord['response']>['dryRun']): ParsedLine =>
  record(
    {
      time: '2025-03-14T10:00:00.000Z', mesh: 'istio', protocol: 'http', source: { ip: '10.244.2.21' }, destination: { ip: '10.244.2.23', port: 8080 },
      request: { method: 'GET', path: '/get' }, response: { status: 200, details: 'via_upstream', ...(dryRun ? { dryRun } : {}) }, observed: 'allowed', count: 1,
    },
    'inbound',
    { identityGap: GAP_NO_IDENTITY_FIELD },
  );

const DRY_RUN_JSON: Case[] = [
  {
    name: 'both engines with their policies',
    line: dryRunJson({ dry_allow: 'allowed', dry_allow_id: 'ns[foo]-policy[allow-sleep]-rule[0]', dry_deny: 'denied', dry_deny_id: 'ns[bar]-policy[deny-get-dry-run]-rule[1]' }),
    expect: dryRunJsonRecord({ allow: { result: 'allowed', policy: 'foo/allow-sleep' }, deny: { result: 'denied', policy: 'bar/deny-get-dry-run' } }),
  },
  {
    name: 'null, "-" and "" are no value: no entry for an engine without a result, no policy without an id',
    line: dryRunJson({ dry_allow: null, dry_allow_id: null, dry_deny: 'allowed', dry_deny_id: '-' }),
    expect: dryRunJsonRecord({ deny: { result: 'allowed' } }),
  },
  { name: 'all empty: no dryRun', line: dryRunJson({ dry_allow: '', dry_allow_id: '', dry_deny: null, dry_deny_id: '-' }), expect: dryRunJsonRecord() },
  {
    name: 'a garbage result and an id of another form',
    line: dryRunJson({ dry_allow: 'ALLOWED', dry_allow_id: 'ns[foo]-policy[allow-sleep]-rule[0]', dry_deny: 'denied', dry_deny_id: 'ns[foo]-policy[cut-by-a-len' }),
    expect: dryRunJsonRecord({ deny: { result: 'denied' } }),
  },
];

/** An Envoy JSON case with more keys in its line and the dry-run results its record then has. */
function withDryRunKeys(c: Case, keys: Record<string, string | null>, dryRun: NonNullable<AccessRecord['response']>['dryRun'] | undefined, name: string): Case {
  const expect = structuredClone(c.expect) as ParsedLine;
  if (dryRun) expect.record.response = { ...expect.record.response, dryRun };
  return { name, line: `${c.line.slice(0, -1)},${JSON.stringify(keys).slice(1)}`, expect };
}

describe('Istio dry-run results (response.dryRun)', () => {
  describe('a TEXT format with the DYNAMIC_METADATA operators', () => runTable('envoy-text', DRY_RUN_TEXT, { envoyFormat: DRY_RUN_TEXT_FORMAT }));
  describe('a JSON format with the DYNAMIC_METADATA operators', () => runTable('envoy-json', DRY_RUN_JSON, { envoyFormat: DRY_RUN_JSON_FORMAT }));
  describe('JSON keys named as the metadata keys, without configuration', () =>
    runTable('envoy-json', [
      withDryRunKeys(ENVOY_JSON[0]!, { istio_dry_run_allow_shadow_engine_result: null, istio_dry_run_allow_shadow_effective_policy_id: null, istio_dry_run_deny_shadow_engine_result: 'denied', istio_dry_run_deny_shadow_effective_policy_id: 'ns[foo]-policy[deny-get-dry-run]-rule[0]' },
        { deny: { result: 'denied', policy: 'foo/deny-get-dry-run' } }, 'HTTP: Istio\'s default keys and the HTTP filter\'s metadata keys'),
      withDryRunKeys(ENVOY_JSON[2]!, { tcp_istio_dry_run_allow_shadow_engine_result: 'allowed', tcp_istio_dry_run_allow_shadow_effective_policy_id: 'ns[foo]-policy[allow-tcp]-rule[0]', tcp_istio_dry_run_deny_shadow_engine_result: '-', tcp_istio_dry_run_deny_shadow_effective_policy_id: '-' },
        { allow: { result: 'allowed', policy: 'foo/allow-tcp' } }, 'TCP: the network filter\'s, with tcp_ before them (docs/access-records.md, "Making logs complete")'),
    ]));
  describe('Consul lines carry no Istio dry-run results', () =>
    runTable('consul-envoy-json', [withDryRunKeys(CONSUL[0]!, { istio_dry_run_deny_shadow_engine_result: 'denied', istio_dry_run_deny_shadow_effective_policy_id: 'ns[default]-policy[x]-rule[0]' }, undefined, 'the keys are not read as dry-run results')]));

  it('reads the example line of docs/access-records.md as the record shown there', () => {
    const doc = readFileSync(join(REPO_ROOT, 'docs', 'access-records.md'), 'utf8');
    const [, line, shown] = /```\n(\{.*\})\n```\n\n```json\n(.*)\n```/.exec(doc.slice(doc.indexOf('#### Istio dry-run results')))!;
    const parsed = createReader('envoy-json').read(line!) as ParsedLine;
    assert.deepEqual(parsed.record, JSON.parse(shown!));
    assert.deepEqual(parsed.record.response?.dryRun, { allow: { result: 'denied' }, deny: { result: 'denied', policy: 'foo/deny-delete' } });
  });

  it('maps each operator, with or without a length limit, and nothing else of the RBAC filters\' metadata', () => {
    const slots = new Set<number>();
    for (const filter of ['http', 'network'] as const) {
      for (const engine of ['allow', 'deny'] as const) {
        for (const key of ['shadow_engine_result', 'shadow_effective_policy_id'] as const) {
          const target = operatorTarget(DRY(filter, engine, key));
          assert.ok(target && 'slot' in target, DRY(filter, engine, key));
          assert.deepEqual(operatorTarget(`${DRY(filter, engine, key)}:12`), target);
          // the metadata formatter extension's form (Envoy extensions/formatter/metadata/v3: METADATA(TYPE:NAMESPACE:KEY))
          assert.deepEqual(operatorTarget(DRY(filter, engine, key).replace('DYNAMIC_METADATA(', 'METADATA(DYNAMIC:')), target);
          slots.add(target.slot);
        }
      }
    }
    assert.equal(slots.size, 8, 'one slot each: a format may log the HTTP and the network operators side by side');
    for (const other of ['DYNAMIC_METADATA(envoy.filters.http.rbac:shadow_engine_result)', 'DYNAMIC_METADATA(envoy.filters.http.rbac)', 'DYNAMIC_METADATA(envoy.filters.http.rbac:istio_ext_authz_shadow_engine_result)', 'DYNAMIC_METADATA(istio.authorization.allow:istio_dry_run_allow_shadow_engine_result)', 'METADATA(ROUTE:envoy.filters.http.rbac:istio_dry_run_allow_shadow_engine_result)']) {
      assert.equal(operatorTarget(other), undefined, other);
    }
  });
});

// ---------------------------------------------------------------------------------------------
// Canonical access records
// ---------------------------------------------------------------------------------------------

const FULL_RECORD: AccessRecord = {
  time: '2025-03-14T09:27:31Z',
  mesh: 'istio',
  protocol: 'http',
  source: { principal: 'cluster.local/ns/foo/sa/sleep', namespace: 'foo', serviceAccount: 'sleep', workload: 'sleep', ip: '10.244.2.21' },
  destination: { namespace: 'foo', workload: 'httpbin', service: 'httpbin', serviceAccount: 'httpbin', labels: { app: 'httpbin' }, ip: '10.244.2.23', port: 8080 },
  request: { method: 'GET', path: '/get?x=1', host: 'httpbin.foo:8000', headers: { 'x-request-id': 'c41e93d2-77aa-4f2e-8d05-1b6e2f9a0c33' } },
  response: { status: 403, details: 'rbac_access_denied_matched_policy[ns[foo]-policy[deny-method-get]-rule[0]]', deniedBy: 'foo/deny-method-get' },
  observed: 'denied',
  count: 3,
};

/** Responses with dry-run results, and the problem of each invalid one (undefined: valid). */
const DRY_RUN_RECORDS: [string, unknown, string | undefined][] = [
  ['both engines, with and without a policy', { status: 200, dryRun: { allow: { result: 'denied' }, deny: { result: 'denied', policy: 'foo/deny-get-dry-run' } } }, undefined],
  ['one engine', { dryRun: { allow: { result: 'allowed', policy: 'foo/allow-sleep' } } }, undefined],
  ['a result outside the enum', { dryRun: { allow: { result: 'blocked' } } }, 'response.dryRun.allow.result must be one of allowed, denied, not string "blocked"'],
  ['an engine without a result', { dryRun: { deny: { policy: 'foo/deny-get-dry-run' } } }, 'response.dryRun.deny.result is missing'],
  ['a policy that is not a string', { dryRun: { allow: { result: 'allowed', policy: 7 } } }, 'response.dryRun.allow.policy must be a string, not number 7'],
  ['an engine Istio has no dry run for', { dryRun: { audit: { result: 'denied' } } }, 'response.dryRun has an unknown field "audit"'],
  ['a misspelt engine field', { dryRun: { deny: { result: 'denied', policyId: 'x' } } }, 'response.dryRun.deny has an unknown field "policyId"'],
  ['not an object', { dryRun: 'denied' }, 'response.dryRun must be an object, not string "denied"'],
];

/**
 * Times of records: RFC 3339 section 5.6 (month 01-12, a day of that month, hour 00-23, minute
 * 00-59, an offset of hours 00-23 and minutes 00-59) and 5.7 (second 60 only as a leap second, at
 * the end of a UTC month), with the time the record keeps: a leap second becomes the next
 * month's first second, as Date.UTC counts it. Undefined: the record is refused.
 * `schemaLooser`: ajv-formats' date-time takes a leap second at the end of any UTC day.
 */
const RECORD_TIMES: { time: string; kept: string | undefined; schemaLooser?: true }[] = [
  { time: '2025-03-14T09:26:53.412Z', kept: '2025-03-14T09:26:53.412Z' },
  { time: '2024-02-29T09:00:00Z', kept: '2024-02-29T09:00:00Z' },
  { time: '2000-02-29T09:00:00+01:00', kept: '2000-02-29T09:00:00+01:00' },
  { time: '2025-03-14T09:00:00-23:59', kept: '2025-03-14T09:00:00-23:59' },
  { time: '2016-12-31T23:59:60.5Z', kept: '2017-01-01T00:00:00.500Z' },
  { time: '2015-07-01T01:59:60+02:00', kept: '2015-07-01T00:00:00.000Z' },
  { time: '2025-02-30T09:00:00Z', kept: undefined },
  { time: '2025-02-29T09:00:00Z', kept: undefined },
  { time: '2100-02-29T09:00:00Z', kept: undefined },
  { time: '2025-04-31T09:00:00Z', kept: undefined },
  { time: '2025-00-14T09:00:00Z', kept: undefined },
  { time: '2025-13-14T09:00:00Z', kept: undefined },
  { time: '2025-03-00T09:00:00Z', kept: undefined },
  { time: '2025-03-14T24:00:00Z', kept: undefined },
  { time: '2025-03-14T25:00:00Z', kept: undefined },
  { time: '2025-03-14T09:60:00Z', kept: undefined },
  { time: '2025-03-14T09:99:99Z', kept: undefined },
  { time: '2025-03-14T09:00:60Z', kept: undefined },
  { time: '2015-06-29T23:59:60Z', kept: undefined, schemaLooser: true },
  { time: '2025-03-14T09:00:00+25:00', kept: undefined },
  { time: '2025-03-14T09:00:00+05:60', kept: undefined },
  { time: '2025-03-14 09:00:00', kept: undefined },
];

/** Claims nesting objects and arrays `depth` deep (at least 2), the claims object counted: `{"a": [[…]]}`. */
function claimsOfDepth(depth: number): Record<string, unknown> {
  let value: unknown[] = [];
  for (let level = depth; level > 2; level--) value = [value];
  return { a: value };
}

const RECORDS: Case[] = [
  { name: 'a full record passes through; the request id comes from the header', line: JSON.stringify(FULL_RECORD), expect: record(FULL_RECORD, 'unknown', { requestId: 'c41e93d2-77aa-4f2e-8d05-1b6e2f9a0c33' }) },
  {
    name: 'defaults: count 1, observed unknown; a null principal is plaintext',
    line: '{"mesh":"linkerd","source":{"principal":null,"ip":"10.42.0.1"},"destination":{"workload":"authors","namespace":"booksapp","port":7001},"request":{"method":"GET","path":"/ping"}}',
    expect: record(
      { mesh: 'linkerd', source: { principal: null, ip: '10.42.0.1' }, destination: { workload: 'authors', namespace: 'booksapp', port: 7001 }, request: { method: 'GET', path: '/ping' }, count: 1, observed: 'unknown' },
      'unknown',
    ),
  },
  {
    name: 'JWT facts and claims',
    line: '{"mesh":"consul","protocol":"grpc","source":{"principal":"spiffe://td.consul/ns/default/dc/dc1/svc/web","service":"web"},"destination":{"service":"api"},"request":{"method":"POST","path":"/api.v1.Items/List","jwt":{"valid":true,"issuer":"https://issuer.example","subject":"alice","audiences":["api"],"presenter":"web","claims":{"groups":["admin"]}}},"observed":"allowed"}',
    expect: record(
      {
        mesh: 'consul',
        protocol: 'grpc',
        source: { principal: 'spiffe://td.consul/ns/default/dc/dc1/svc/web', service: 'web' },
        destination: { service: 'api' },
        request: { method: 'POST', path: '/api.v1.Items/List', jwt: { valid: true, issuer: 'https://issuer.example', subject: 'alice', audiences: ['api'], presenter: 'web', claims: { groups: ['admin'] } } },
        observed: 'allowed',
        count: 1,
      },
      'unknown',
    ),
  },
  { name: 'a misspelt field', line: '{"source":{"principle":"cluster.local/ns/foo/sa/sleep"}}', expect: skip('access record: source has an unknown field "principle"') },
  {
    name: 'top-level keys of the writer\'s own are dropped (a test table\'s id and expectation)',
    line: '{"id":"case-7","expect":"deny","mesh":"istio","destination":{"namespace":"foo","port":8080}}',
    expect: record({ mesh: 'istio', destination: { namespace: 'foo', port: 8080 }, count: 1, observed: 'unknown' }, 'unknown'),
  },
  { name: 'keys named like Object members', line: '{"constructor":"x","__proto__":{},"toString":1,"observed":"allowed"}', expect: record({ observed: 'allowed', count: 1 }, 'unknown') },
  { name: 'a nested key named like an Object member', line: '{"source":{"constructor":"x"}}', expect: skip('access record: source has an unknown field "constructor"') },
  { name: 'count 0', line: '{"observed":"allowed","count":0}', expect: skip('access record: count must be an integer from 1 to 9007199254740991, not number 0') },
  { name: 'a port out of range', line: '{"destination":{"port":70000}}', expect: skip('access record: destination.port must be an integer from 1 to 65535, not number 70000') },
  { name: 'a time that is not RFC 3339', line: '{"time":"14/03/2025","observed":"allowed"}', expect: skip('access record: time must be an RFC 3339 date-time, not string "14/03/2025"') },
  { name: 'an IP that is not an IP', line: '{"source":{"ip":"sleep-pod"}}', expect: skip('access record: source.ip must be an IPv4 or IPv6 address, not "sleep-pod"') },
  { name: 'a header that is not a string', line: '{"request":{"headers":{"x-n":1}}}', expect: skip('access record: request.headers.x-n must be a string, not number 1') },
  { name: 'observed outside the enum', line: '{"observed":"blocked"}', expect: skip('access record: observed must be one of allowed, denied, unknown, not string "blocked"') },
  { name: 'null where only principal may be null', line: '{"destination":{"service":null}}', expect: skip('access record: destination.service must be a string, not null') },
  { name: 'not JSON', line: 'time=now', expect: skip('not JSON') },
  { name: 'an array', line: '[]', expect: skip('not a JSON object') },
  ...RECORD_TIMES.map(({ time, kept }): Case => ({
    name: `time ${time}`,
    line: JSON.stringify({ time, observed: 'allowed' }),
    expect: kept === undefined ? skip(`access record: time must be an RFC 3339 date-time, not string ${JSON.stringify(time)}`) : record({ time: kept, observed: 'allowed', count: 1 }, 'unknown'),
  })),
  // (written out: JSON.stringify itself runs out of stack on the deepest)
  ...[MAX_CLAIMS_DEPTH, MAX_CLAIMS_DEPTH + 1, 5000].map((depth): Case => ({
    name: `claims nested ${depth} deep`,
    line: `{"mesh":"istio","request":{"jwt":{"claims":{"a":${'['.repeat(depth - 1)}${']'.repeat(depth - 1)}}}}}`,
    expect: depth <= MAX_CLAIMS_DEPTH
      ? record({ mesh: 'istio', request: { jwt: { claims: claimsOfDepth(depth) } }, count: 1, observed: 'unknown' }, 'unknown')
      : skip(`access record: request.jwt.claims nests objects and arrays more than ${MAX_CLAIMS_DEPTH} deep`),
  })),
  ...DRY_RUN_RECORDS.map(([name, response, problem]): Case => {
    const rec = { mesh: 'istio', protocol: 'http', request: { method: 'GET', path: '/get' }, response, observed: 'allowed' } as AccessRecord;
    return { name: `dryRun: ${name}`, line: JSON.stringify(rec), expect: problem === undefined ? record({ ...rec, count: 1 }, 'unknown') : skip(`access record: ${problem}`) };
  }),
];

describe('access-record (canonical JSON Lines)', () => {
  runTable('access-record', RECORDS);

  it('fills the mesh from the reader options when the record has none', () => {
    const result = createReader('access-record', { mesh: 'istio' }).read('{"observed":"allowed"}');
    assert.deepEqual(result, record({ observed: 'allowed', count: 1, mesh: 'istio' }, 'unknown'));
  });

  it('agrees with the JSON schema file on the examples', () => {
    const schema = JSON.parse(readFileSync(join(REPO_ROOT, 'schemas', 'access-record.schema.json'), 'utf8')) as { examples: unknown[]; $id: string };
    assert.equal(schema.$id, 'https://mesh-policy.invalid/schemas/access-record.schema.json');
    assert.ok(schema.examples.length > 0);
    for (const example of schema.examples) assert.equal(checkAccessRecord(example), undefined);
  });

  it('agrees with the JSON schema file on times', () => {
    const schema = JSON.parse(readFileSync(join(REPO_ROOT, 'schemas', 'access-record.schema.json'), 'utf8')) as object;
    const ajv = new Ajv({ strict: true });
    addFormats(ajv);
    const validate = ajv.compile(schema);
    for (const { time, kept, schemaLooser } of RECORD_TIMES) {
      assert.equal(validate({ time }), kept !== undefined || schemaLooser === true, `${time}: ${JSON.stringify(validate.errors)}`);
      assert.equal(checkAccessRecord({ time }) === undefined, kept !== undefined, time);
    }
  });

  it('agrees with the JSON schema file on dry-run results', () => {
    const schema = JSON.parse(readFileSync(join(REPO_ROOT, 'schemas', 'access-record.schema.json'), 'utf8')) as object;
    const ajv = new Ajv({ strict: true });
    addFormats(ajv);
    const validate = ajv.compile(schema);
    for (const [name, response, problem] of DRY_RUN_RECORDS) {
      const rec = { mesh: 'istio', response };
      assert.equal(validate(rec), problem === undefined, `${name}: ${JSON.stringify(validate.errors)}`);
      assert.equal(checkAccessRecord(rec) === undefined, problem === undefined, name);
    }
  });
});

// ---------------------------------------------------------------------------------------------
// Shippers
// ---------------------------------------------------------------------------------------------

const FLUENT_BIT_K8S = {
  pod_name: 'httpbin-5c8f7d6b9-fghij',
  namespace_name: 'foo',
  pod_id: '0f1e2d3c-4b5a-4697-8877-665544332211',
  labels: { app: 'httpbin', version: 'v1' },
  host: 'kind-worker',
  container_name: 'istio-proxy',
  docker_id: '3b4c5d6e7f80',
  container_hash: 'docker.io/istio/proxyv2@sha256:0123',
  container_image: 'docker.io/istio/proxyv2:1.24.2',
};

function withShipper(expected: LineResult, shipper: ShipperMetadata): LineResult {
  assert.equal(expected.kind, 'record');
  return { ...(expected as ParsedLine), shipper };
}

describe('shipper-wrapped lines', () => {
  const istioDenied = ISTIO_TEXT[2]!;
  const linkerdDenied = LINKERD_APACHE[1]!;
  const heldFragment = (stream: string): LineResult => ({ kind: 'skip', reason: 'partial line (joined with the next)', held: stream });

  const fluentBitMeta: ShipperMetadata = {
    shipper: 'fluent-bit',
    pod: 'httpbin-5c8f7d6b9-fghij',
    namespace: 'foo',
    container: 'istio-proxy',
    labels: { app: 'httpbin', version: 'v1' },
    time: '2025-03-14T09:27:31.870551234Z',
  };

  it('Fluent Bit: log + kubernetes metadata, time from the record', () => {
    const line = JSON.stringify({ date: 1741944451.87, log: `${istioDenied.line}\n`, stream: 'stdout', time: '2025-03-14T09:27:31.870551234Z', kubernetes: FLUENT_BIT_K8S });
    assert.deepEqual(createReader('envoy-text').read(line), withShipper(istioDenied.expect, fluentBitMeta));
  });

  it("Fluent Bit's cri parser: the line in `message`, next to Fluent Bit's kubernetes metadata", () => {
    const line = JSON.stringify({ time: '2025-03-14T09:27:31.870551234Z', stream: 'stdout', logtag: 'F', message: istioDenied.line, kubernetes: FLUENT_BIT_K8S });
    assert.deepEqual(createReader('envoy-text').read(line), withShipper(istioDenied.expect, fluentBitMeta));
  });

  it('Fluent Bit: epoch `date` when there is no `time`', () => {
    const line = JSON.stringify({ date: 1741944451.87, log: istioDenied.line, kubernetes: { pod_name: 'p', namespace_name: 'foo', container_name: 'istio-proxy' } });
    const result = createReader('envoy-text').read(line) as ParsedLine;
    assert.deepEqual(result.shipper, { shipper: 'fluent-bit', pod: 'p', namespace: 'foo', container: 'istio-proxy', time: '2025-03-14T09:27:31.870Z' });
  });

  it('Fluentd: told apart by its own metadata keys; the inner format is detected (Linkerd under an Envoy reader)', () => {
    const line = JSON.stringify({
      log: `${linkerdDenied.line}\n`,
      stream: 'stderr',
      docker: { container_id: 'c0ffee123456' },
      kubernetes: { container_name: 'linkerd-proxy', namespace_name: 'booksapp', pod_name: 'authors-74f5c8d7b-x2x9q', labels: { app: 'authors' }, master_url: 'https://10.96.0.1:443/api' },
    });
    assert.deepEqual(
      createReader('envoy-json').read(line),
      withShipper(linkerdDenied.expect, { shipper: 'fluentd', pod: 'authors-74f5c8d7b-x2x9q', namespace: 'booksapp', container: 'linkerd-proxy', labels: { app: 'authors' } }),
    );
  });

  it("Fluentd: label keys de-dotted by the kubernetes_metadata filter's default de_dot get the dots of their prefix back", () => {
    // de_dot (default true, de_dot_separator "_") replaces every dot of a key: a key's prefix is a
    // DNS subdomain (no "_"), so each "_" before the "/" was a dot; after it, or without a prefix, it may not have been
    const labels = { app: 'reviews', 'app_kubernetes_io/name': 'reviews', 'security_istio_io/tlsMode': 'istio', 'service_istio_io/canonical-name': 'reviews', 'example_com/part_of': 'shop', pod_template_hash: '6f9d5c7b8' };
    const line = JSON.stringify({
      log: `${linkerdDenied.line}\n`,
      docker: { container_id: 'c0ffee123456' },
      kubernetes: { container_name: 'linkerd-proxy', namespace_name: 'booksapp', pod_name: 'authors-74f5c8d7b-x2x9q', namespace_id: 'e5d1a0c2', labels },
    });
    assert.deepEqual((createReader('envoy-json').read(line) as ParsedLine).shipper?.labels, {
      app: 'reviews', 'app.kubernetes.io/name': 'reviews', 'security.istio.io/tlsMode': 'istio', 'service.istio.io/canonical-name': 'reviews', 'example.com/part_of': 'shop', pod_template_hash: '6f9d5c7b8',
    });
  });

  it('Vector: message + kubernetes (pod_namespace, pod_labels), an escaped JSON line inside', () => {
    const inner = ENVOY_JSON[1]!;
    const line = JSON.stringify({
      file: '/var/log/pods/default_productpage-v1-7c9d8f6b5-q4w2e_aa11bb22/istio-proxy/0.log',
      kubernetes: { container_name: 'istio-proxy', pod_labels: { app: 'productpage', version: 'v1' }, pod_name: 'productpage-v1-7c9d8f6b5-q4w2e', pod_namespace: 'default', pod_node_name: 'kind-worker' },
      message: inner.line,
      source_type: 'kubernetes_logs',
      stream: 'stdout',
      timestamp: '2025-03-14T10:02:11.004512Z',
    });
    assert.deepEqual(
      createReader('envoy-json').read(line),
      withShipper(inner.expect, {
        shipper: 'vector',
        pod: 'productpage-v1-7c9d8f6b5-q4w2e',
        namespace: 'default',
        container: 'istio-proxy',
        labels: { app: 'productpage', version: 'v1' },
        time: '2025-03-14T10:02:11.004512Z',
      }),
    );
  });

  it('Loki (logcli jsonl): stream labels other than the infrastructure ones become pod labels', () => {
    const inner = CONSUL[0]!;
    const line = JSON.stringify({
      labels: { app: 'api', container: 'consul-dataplane', job: 'default/api', namespace: 'default', pod: 'api-6b7c9d8f5-abcde', stream: 'stdout', node_name: 'node-2' },
      line: inner.line,
      timestamp: '2025-03-14T14:00:00.010224Z',
    });
    assert.deepEqual(
      createReader('consul-envoy-json').read(line),
      withShipper(inner.expect, { shipper: 'loki', pod: 'api-6b7c9d8f5-abcde', namespace: 'default', container: 'consul-dataplane', labels: { app: 'api' }, time: '2025-03-14T14:00:00.010224Z' }),
    );
  });

  it('Loki (logcli jsonl --no-labels): line and timestamp only, the time in a local zone', () => {
    const line = JSON.stringify({ line: linkerdDenied.line, timestamp: '2025-03-14T14:00:02.510002100+01:00' });
    assert.deepEqual(createReader('linkerd-apache').read(line), withShipper(linkerdDenied.expect, { shipper: 'loki', time: '2025-03-14T14:00:02.510002100+01:00' }));
  });

  it('kubectl logs --prefix, with and without --timestamps', () => {
    const reader = createReader('envoy-text');
    assert.deepEqual(
      reader.read(`[pod/httpbin-5c8f7d6b9-fghij/istio-proxy] ${istioDenied.line}`),
      withShipper(istioDenied.expect, { shipper: 'kubectl', pod: 'httpbin-5c8f7d6b9-fghij', container: 'istio-proxy' }),
    );
    assert.deepEqual(
      reader.read(`[pod/authors-74f5c8d7b-x2x9q/linkerd-proxy] 2025-03-14T13:00:02.510002100Z ${linkerdDenied.line}`),
      withShipper(linkerdDenied.expect, { shipper: 'kubectl', pod: 'authors-74f5c8d7b-x2x9q', container: 'linkerd-proxy', time: '2025-03-14T13:00:02.510002100Z' }),
    );
    assert.deepEqual(reader.read('[pod/httpbin-5c8f7d6b9-fghij/istio-proxy] 2025-03-14T09:29:50.000000Z\tinfo\tEnvoy proxy is ready'), skip('not an Envoy access log line'));
  });

  it('a prefix time that names no moment (kubectl --timestamps, CRI, CRI inside a shipper record): the prefix is taken off, the line read, no shipper time', () => {
    const reader = createReader('envoy-text');
    assert.deepEqual(
      reader.read(`[pod/authors-74f5c8d7b-x2x9q/linkerd-proxy] 2025-02-30T13:00:02.510002100Z ${linkerdDenied.line}`),
      withShipper(linkerdDenied.expect, { shipper: 'kubectl', pod: 'authors-74f5c8d7b-x2x9q', container: 'linkerd-proxy' }),
    );
    assert.deepEqual(reader.read(`2025-03-14T25:27:31.870551234Z stdout F ${istioDenied.line}`), withShipper(istioDenied.expect, { shipper: 'kubectl' }));
    assert.deepEqual(
      reader.read(JSON.stringify({ log: `2025-03-14T09:27:31.870551234+25:00 stdout F ${istioDenied.line}` })),
      withShipper(istioDenied.expect, { shipper: 'fluent-bit' }),
    );
  });

  it('CRI log lines: a P fragment is joined with the F line that ends it', () => {
    const reader = createReader('envoy-text');
    const half = Math.floor(istioDenied.line.length / 2);
    assert.deepEqual(reader.read(`2025-03-14T09:27:31.870551234Z stdout P ${istioDenied.line.slice(0, half)}`), heldFragment('stdout'));
    assert.deepEqual(
      reader.read(`2025-03-14T09:27:31.870551234Z stdout F ${istioDenied.line.slice(half)}`),
      withShipper(istioDenied.expect, { shipper: 'kubectl', time: '2025-03-14T09:27:31.870551234Z' }),
    );
  });

  it('CRI log lines: fragments are joined per stream (stdout and stderr interleave in one file)', () => {
    const reader = createReader('linkerd-apache');
    const half = Math.floor(linkerdDenied.line.length / 2);
    assert.deepEqual(reader.read(`2025-03-14T13:00:02.510002100Z stderr P ${linkerdDenied.line.slice(0, half)}`), heldFragment('stderr'));
    assert.deepEqual(
      reader.read(`2025-03-14T09:27:31.870551234Z stdout F ${istioDenied.line}`),
      withShipper(istioDenied.expect, { shipper: 'kubectl', time: '2025-03-14T09:27:31.870551234Z' }),
    );
    assert.deepEqual(
      reader.read(`2025-03-14T13:00:02.510002200Z stderr F ${linkerdDenied.line.slice(half)}`),
      withShipper(linkerdDenied.expect, { shipper: 'kubectl', time: '2025-03-14T13:00:02.510002200Z' }),
    );
  });

  it('CRI log lines: fragments the input ends with, no F line after them, are read joined at the end, or skipped as unended', () => {
    const reader = createReader('envoy-text');
    const half = Math.floor(istioDenied.line.length / 2);
    assert.deepEqual(reader.read(`2025-03-14T09:27:31.870551234Z stdout P ${istioDenied.line.slice(0, half)}`), heldFragment('stdout'));
    assert.deepEqual(reader.read(`2025-03-14T09:27:31.870551299Z stdout P ${istioDenied.line.slice(half)}`), heldFragment('stdout'));
    assert.deepEqual(reader.read(`2025-03-14T13:00:02.510002100Z stderr P ${linkerdDenied.line.slice(0, 20)}`), heldFragment('stderr'));
    assert.deepEqual(reader.finish!(), [
      { held: 'stdout', result: withShipper(istioDenied.expect, { shipper: 'kubectl', time: '2025-03-14T09:27:31.870551299Z' }) },
      { held: 'stderr', result: skip('partial line at the end of the input (no F line ends it)') },
    ]);
    assert.deepEqual(reader.finish!(), [], 'finishing empties the reader');
  });

  it('a JSON shipper record whose line still has its CRI prefix: P fragments are joined with the F line, per stream', () => {
    const reader = createReader('envoy-text');
    const half = Math.floor(istioDenied.line.length / 2);
    const k8s = { pod_name: 'httpbin-5c8f7d6b9-fghij', namespace_name: 'foo', container_name: 'istio-proxy', docker_id: '3b4c5d6e7f80' };
    assert.deepEqual(reader.read(JSON.stringify({ log: `2025-03-14T09:27:31.870551234Z stdout P ${istioDenied.line.slice(0, half)}`, kubernetes: k8s })), heldFragment('stdout'));
    assert.deepEqual(
      reader.read(JSON.stringify({ log: `2025-03-14T09:27:31.870551299Z stdout F ${istioDenied.line.slice(half)}\n`, kubernetes: k8s })),
      withShipper(istioDenied.expect, { shipper: 'fluent-bit', pod: 'httpbin-5c8f7d6b9-fghij', namespace: 'foo', container: 'istio-proxy', time: '2025-03-14T09:27:31.870551299Z' }),
    );
    // the shipper's own time wins over the runtime's; an F line with nothing after the prefix is an empty record
    assert.deepEqual(
      reader.read(JSON.stringify({ log: `2025-03-14T09:27:31.870551234Z stdout F ${istioDenied.line}`, time: '2025-03-14T09:27:31.9Z', kubernetes: k8s })),
      withShipper(istioDenied.expect, { shipper: 'fluent-bit', pod: 'httpbin-5c8f7d6b9-fghij', namespace: 'foo', container: 'istio-proxy', time: '2025-03-14T09:27:31.9Z' }),
    );
    assert.deepEqual(reader.read(JSON.stringify({ log: '2025-03-14T09:27:31.870551234Z stdout F ', kubernetes: k8s })), skip('shipper record without a log line'));
    assert.equal(detectFormat([JSON.stringify({ line: `2025-03-14T09:27:31.870551234Z stdout F ${istioDenied.line}`, labels: { pod: 'p' }, timestamp: '2025-03-14T09:27:31.870551234Z' })], 'loki.json'), 'envoy-text');
  });

  it('Fluent Bit Merge_Log: the parsed line at the top level next to kubernetes', () => {
    const inner = JSON.parse(ENVOY_JSON[0]!.line) as Record<string, unknown>;
    const line = JSON.stringify({ ...inner, kubernetes: FLUENT_BIT_K8S });
    assert.deepEqual(
      createReader('envoy-json').read(line),
      withShipper(ENVOY_JSON[0]!.expect, { shipper: 'fluent-bit', pod: 'httpbin-5c8f7d6b9-fghij', namespace: 'foo', container: 'istio-proxy', labels: { app: 'httpbin', version: 'v1' } }),
    );
  });

  it('a shipper record with an empty log line, and one whose line is no access log', () => {
    const reader = createReader('envoy-text');
    assert.deepEqual(reader.read(JSON.stringify({ log: '', kubernetes: FLUENT_BIT_K8S })), skip('shipper record without a log line'));
    assert.deepEqual(reader.read(JSON.stringify({ log: 'starting envoy\n', kubernetes: FLUENT_BIT_K8S })), skip('not an Envoy access log line'));
  });

  it('a plain line after wrapped ones is read directly again', () => {
    const reader = createReader('envoy-text');
    assert.equal(reader.read(`[pod/httpbin-5c8f7d6b9-fghij/istio-proxy] ${istioDenied.line}`).kind, 'record');
    assert.deepEqual(reader.read(istioDenied.line), istioDenied.expect);
  });
});

// ---------------------------------------------------------------------------------------------
// Detection
// ---------------------------------------------------------------------------------------------

describe('format detection', () => {
  const cases: Array<{ name: string; lines: string[]; file?: string; expect: LogFormatId | undefined }> = [
    { name: 'Istio text', lines: ISTIO_TEXT.slice(0, 4).map((c) => c.line), expect: 'envoy-text' },
    { name: 'plain Envoy text', lines: [ISTIO_TEXT[12]!.line, ISTIO_TEXT[13]!.line], expect: 'envoy-text' },
    { name: 'Envoy JSON', lines: ENVOY_JSON.slice(0, 3).map((c) => c.line), expect: 'envoy-json' },
    { name: 'Consul JSON (one Consul marker is enough)', lines: [CONSUL[3]!.line, ENVOY_JSON[2]!.line.replace('inbound|9000||', '-')], expect: 'consul-envoy-json' },
    { name: 'Envoy JSON in a file named after Consul', lines: [ENVOY_JSON[0]!.line], file: 'logs/consul-api.jsonl', expect: 'consul-envoy-json' },
    { name: 'Linkerd apache', lines: LINKERD_APACHE.slice(0, 3).map((c) => c.line), expect: 'linkerd-apache' },
    { name: 'Linkerd JSON', lines: LINKERD_JSON.slice(0, 3).map((c) => c.line), expect: 'linkerd-json' },
    { name: 'access records', lines: [RECORDS[0]!.line, RECORDS[1]!.line], expect: 'access-record' },
    { name: 'ztunnel text', lines: ZTUNNEL.slice(0, 4).map((c) => c.line), expect: 'ztunnel' },
    { name: 'ztunnel JSON', lines: [ZTUNNEL[5]!.line], expect: 'ztunnel' },
    { name: 'CRI lines around ztunnel text', lines: [`2025-03-14T11:00:01.228104000Z stdout F ${ZTUNNEL[0]!.line}`], expect: 'ztunnel' },
    { name: 'blank lines first, then Istio text', lines: ['', '  ', ISTIO_TEXT[0]!.line], expect: 'envoy-text' },
    { name: 'majority wins over a stray line', lines: [LINKERD_APACHE[0]!.line, ISTIO_TEXT[0]!.line, LINKERD_APACHE[1]!.line], expect: 'linkerd-apache' },
    { name: 'kubectl --prefix around Linkerd', lines: [`[pod/a/linkerd-proxy] ${LINKERD_APACHE[0]!.line}`], expect: 'linkerd-apache' },
    { name: 'Linkerd proxy lines only (access logging off): a Linkerd reader', lines: LINKERD_PROXY_EVENTS.filter((c) => c.line.startsWith('[')).map((c) => c.line), expect: 'linkerd-apache' },
    { name: 'Linkerd JSON proxy lines only', lines: LINKERD_PROXY_EVENTS.filter((c) => c.line.startsWith('{')).map((c) => c.line), expect: 'linkerd-json' },
    { name: 'proxy lines do not outvote a JSON access line', lines: [...LINKERD_PROXY_EVENTS.filter((c) => c.line.startsWith('[')).map((c) => c.line), LINKERD_JSON[0]!.line], expect: 'linkerd-json' },
    { name: 'kubectl --prefix around Linkerd proxy lines', lines: [`[pod/db-0/linkerd-proxy] ${LINKERD_PROXY_EVENTS[0]!.line}`], expect: 'linkerd-apache' },
    { name: 'Fluent Bit around Linkerd JSON', lines: [JSON.stringify({ log: LINKERD_JSON[0]!.line, kubernetes: FLUENT_BIT_K8S })], expect: 'linkerd-json' },
    { name: 'Loki around Envoy JSON', lines: [JSON.stringify({ labels: { app: 'x' }, line: ENVOY_JSON[1]!.line, timestamp: '2025-03-14T10:02:11Z' })], expect: 'envoy-json' },
    { name: 'CRI lines around Envoy text', lines: [`2025-03-14T09:26:53.412551234Z stdout F ${ISTIO_TEXT[0]!.line}`], expect: 'envoy-text' },
    { name: 'nothing recognizable', lines: ['hello', '{"msg":"x"}', ''], expect: undefined },
    { name: 'no lines', lines: [], expect: undefined },
  ];
  for (const c of cases) {
    it(c.name, () => assert.equal(detectFormat(c.lines, c.file ?? 'access.log'), c.expect));
  }

  it('classifies single lines', () => {
    assert.equal(classifyLine(ISTIO_TEXT[0]!.line), 'envoy-text');
    assert.equal(classifyLine('{"id":7,"destination":{"namespace":"foo"}}'), 'access-record', 'a record with a key of its own');
    assert.equal(classifyLine('{"id":7,"source":"10.0.0.1"}'), undefined, 'a flat object is not a record');
    assert.equal(classifyLine(CONSUL[0]!.line), 'consul-envoy-json');
    assert.equal(classifyLine('[  4021.118340s]  INFO ThreadId(02) x'), undefined);
  });

  // Each fixture file: its detected format, and how its lines come out (records by decision, skips by reason).
  const FILES: Record<string, { format: LogFormatId; results: Record<string, number> }> = {
    'istio-text.log': { format: 'envoy-text', results: { 'allowed': 2, 'denied': 5, 'skip: blank line': 1, 'skip: not an Envoy access log line': 1, [`skip: ${(NOT_A_DEFAULT_ENVOY_FORMAT as SkippedLine).reason}`]: 1 } },
    'istio-json.log': { format: 'envoy-json', results: { 'allowed': 2, 'denied': 3, 'skip: not JSON': 2 } },
    'consul.jsonl': { format: 'consul-envoy-json', results: { 'allowed': 2, 'denied': 2 } },
    'linkerd-apache.log': { format: 'linkerd-apache', results: { 'allowed': 3, 'denied': 1, [`skip: ${LINKERD_HTTP_EVENT}`]: 1 } },
    'linkerd-json.log': { format: 'linkerd-json', results: { 'denied': 1, 'unknown': 2, [`skip: ${LINKERD_HTTP_EVENT}`]: 1 } },
    'records.jsonl': { format: 'access-record', results: { 'allowed': 1, 'denied': 1, 'unknown': 1, 'skip: access record: source has an unknown field "principle"': 1 } },
    'fluent-bit.jsonl': { format: 'envoy-text', results: { 'allowed fluent-bit': 1, 'denied fluent-bit': 1, 'unknown fluent-bit': 1, 'skip: shipper record without a log line': 1 } },
    'fluentd.jsonl': { format: 'linkerd-apache', results: { 'allowed fluentd': 3, 'denied fluentd': 1, [`skip: ${LINKERD_HTTP_EVENT}`]: 1 } },
    'vector.jsonl': { format: 'envoy-json', results: { 'allowed vector': 1, 'skip: not JSON': 1 } },
    'loki.jsonl': { format: 'consul-envoy-json', results: { 'allowed loki': 2, 'denied loki': 2 } },
    'kubectl-prefix.log': { format: 'envoy-text', results: { 'allowed kubectl': 1, 'denied kubectl': 2, 'skip: not an Envoy access log line': 1 } },
    'cri.log': { format: 'envoy-text', results: { 'allowed kubectl': 1, 'denied kubectl': 2, 'skip: partial line (joined with the next)': 1 } },
  };
  for (const [file, want] of Object.entries(FILES)) {
    it(`fixture ${file}`, () => {
      const lines = readFileSync(join(FIXTURES, 'traffic', 'formats', file), 'utf8').split('\n');
      if (lines[lines.length - 1] === '') lines.pop();
      const format = detectFormat(lines, file);
      assert.equal(format, want.format);
      const reader = createReader(format!);
      const results: Record<string, number> = {};
      for (const line of lines) {
        const r = reader.read(line);
        const key = r.kind === 'record' ? `${r.record.observed}${r.shipper ? ` ${r.shipper.shipper}` : ''}` : `skip: ${r.reason}`;
        results[key] = (results[key] ?? 0) + 1;
      }
      assert.deepEqual(results, want.results);
    });
  }
});

describe('line keys of the fixture logs', () => {
  // every line with a key reads back from it as `read` gives it (readParts rebuilds a line that
  // waits in the join window from its key)
  for (const name of ['istio-text.log', 'istio-json.log', 'consul.jsonl', 'linkerd-apache.log', 'linkerd-json.log']) {
    it(name, () => {
      const lines = readFileSync(join(FIXTURES, 'traffic', 'formats', name), 'utf8').split('\n').filter((l) => l.trim() !== '');
      const format = detectFormat(lines, name)!;
      let keyed = 0;
      for (const line of lines) {
        if (createReader(format).peek?.(line) === undefined) continue;
        keyed++;
        assertPeekAgrees(createReader(format), line, createReader(format).read(line));
      }
      assert.ok(keyed >= 2, `${keyed} of ${lines.length} lines have a key`);
    });
  }
});

// ---------------------------------------------------------------------------------------------
// Helpers with rules of their own
// ---------------------------------------------------------------------------------------------

describe('reader helpers', () => {
  it("reads the client identity from the Linkerd proxy's server TLS state", () => {
    const cases: [string | undefined, string | null | undefined][] = [
      [ESTABLISHED, BOOKS_ID],
      // newer proxies wrap the name once more; the name may come quoted
      ['Some(Established { client_id: Some(ClientId(Name("web.emojivoto.serviceaccount.identity.linkerd.cluster.local"))), negotiated_protocol: Some("h2") })', 'web.emojivoto.serviceaccount.identity.linkerd.cluster.local'],
      ['Some(Established { client_id: None, negotiated_protocol: None })', null],
      ['None(NoClientHello)', null],
      ['None(PortSkipped)', null],
      ['Some(Passthru { sni: ServerName(Name("db.example.com")) })', null],
      ['garbled', undefined],
      [undefined, undefined],
    ];
    for (const [tls, want] of cases) assert.equal(tlsIdentity(tls), want, String(tls));
  });

  it('reads denial details', () => {
    assert.deepEqual(parseDenyReason('rbac_access_denied_matched_policy[none]'), { kind: 'rbac', policy: 'none' });
    assert.deepEqual(parseDenyReason('rbac_access_denied_matched_policy[ns[foo]-policy[deny-method-get]-rule[0]]'), {
      kind: 'rbac',
      policy: 'ns[foo]-policy[deny-method-get]-rule[0]',
      namespace: 'foo',
      name: 'deny-method-get',
      rule: 0,
    });
    // a CUSTOM policy istiod enforces as DENY (builder.go getBadCustomDenyRules), with and without the provider
    assert.equal(istioDeniedBy('rbac_access_denied_matched_policy[istio-ext-authz-fraud-check-ns[shop]-policy[frontend-fraud-check]-rule[0]-deny-due-to-bad-CUSTOM-action]'), 'shop/frontend-fraud-check');
    assert.equal(istioDeniedBy('rbac_access_denied_matched_policy[istio-ext-authz-ns[shop]-policy[frontend-fraud-check]-rule[1]-deny-due-to-bad-CUSTOM-action]'), 'shop/frontend-fraud-check');
    assert.equal(istioDeniedBy('rbac_access_denied_matched_policy[ns[shop]-policy[x]-rule[0]-something-else]'), undefined);
    assert.deepEqual(parseDenyReason('rbac_access_denied_matched_policy[consul-intentions-layer4]'), { kind: 'rbac', policy: 'consul-intentions-layer4' });
    // Envoy's older marker names no policy: neither a DENY policy nor "no ALLOW policy matched"
    assert.deepEqual(parseDenyReason('rbac_access_denied'), { kind: 'rbac' });
    assert.equal(istioDeniedBy('rbac_access_denied'), undefined);
    assert.deepEqual(parseDenyReason('ext_authz_denied'), { kind: 'ext_authz' });
    assert.deepEqual(parseDenyReason('jwt_authn_access_denied{Jwt_is_missing}'), { kind: 'jwt', reason: 'Jwt_is_missing' });
    assert.deepEqual(parseDenyReason('linkerd_policy_403'), { kind: 'linkerd', status: 403 });
    assert.equal(parseDenyReason('via_upstream'), undefined);
  });

  it('normalizes times to RFC 3339', () => {
    assert.equal(normalizeTime('2025-03-14T09:26:53.412Z'), '2025-03-14T09:26:53.412Z');
    assert.equal(normalizeTime('2025-03-14T09:26:53.412+01:00'), '2025-03-14T09:26:53.412+01:00');
    assert.equal(normalizeTime('2025-03-14 09:26:53'), '2025-03-14T09:26:53Z');
    assert.equal(normalizeTime('1741944413'), '2025-03-14T09:26:53.000Z');
    assert.equal(normalizeTime('1741944413412'), '2025-03-14T09:26:53.412Z');
    assert.equal(normalizeTime('1741944413.412'), '2025-03-14T09:26:53.412Z');
    assert.equal(normalizeTime('1741944413.412345'), '2025-03-14T09:26:53.412345Z', '%s.%6f: the digits kept');
    assert.equal(normalizeTime('1741944413.412345678'), '2025-03-14T09:26:53.412345678Z', '%s.%9f');
    assert.equal(normalizeTime('yesterday'), undefined);
    // strftime's %z has no colon; RFC 3339 (docs/access-records.md) wants ±hh:mm
    assert.equal(normalizeTime('2026-01-05T12:00:00+0200'), '2026-01-05T12:00:00+02:00');
    assert.equal(normalizeTime('2026-01-05T12:00:00.250-0530'), '2026-01-05T12:00:00.250-05:30');
    // %d/%b/%Y:%H:%M:%S %z, the common log time
    assert.equal(normalizeTime('05/Jan/2026:12:00:00 +0200'), '2026-01-05T12:00:00+02:00');
    assert.equal(normalizeTime('31/Dec/2025:23:59:59 -0000'), '2025-12-31T23:59:59-00:00');
    assert.equal(normalizeTime('05/Foo/2026:12:00:00 +0200'), undefined);
    // strftime's %Z names the zone: only UTC and GMT say the offset
    assert.equal(normalizeTime('2026-01-05T12:00:00 UTC'), '2026-01-05T12:00:00Z');
    assert.equal(normalizeTime('2026-01-05 12:00:00.250 GMT'), '2026-01-05T12:00:00.250Z');
    assert.equal(normalizeTime('2026-01-05T12:00:00UTC'), '2026-01-05T12:00:00Z');
    assert.equal(normalizeTime('2026-01-05T12:00:00 CET'), undefined);
  });

  it('gives no time for a date and time that name no moment, in every form it reads; a leap second as its instant', () => {
    const cases: [string, string | undefined][] = [
      ['2025-02-30T09:26:53.412Z', undefined],
      ['2025-03-14T25:00:00.000+01:00', undefined],
      ['2025-03-14T09:26:53.4x2Z', undefined],
      ['2025-02-30 09:26:53', undefined],
      ['2025-03-14T09:26:53+2500', undefined],
      ['2025-03-14T09:26:53.250-0560', undefined],
      ['30/Feb/2025:12:00:00 +0200', undefined],
      ['14/Mar/2025:24:00:00 +0200', undefined],
      ['2025-02-30T12:00:00 UTC', undefined],
      ['2025-03-14T09:00:60Z', undefined],
      ['2024-02-29 12:00:00', '2024-02-29T12:00:00Z'],
      ['2016-12-31 23:59:60', '2017-01-01T00:00:00.000Z'],
      ['30/Jun/2015:23:59:60 +0000', '2015-07-01T00:00:00.000Z'],
    ];
    for (const [time, kept] of cases) assert.equal(normalizeTime(time), kept, time);
  });

  it('reads a START_TIME by its format: strftime, absl %E forms and Envoy\'s %s, %f and %1f..%9f, the fraction\'s digits kept', () => {
    const call = (time: string | undefined): LineResult => record({
      ...(time !== undefined ? { time } : {}), mesh: 'istio', protocol: 'http', request: { method: 'GET', recordedHeaders: [], jwtUnknown: true }, response: { status: 200 }, observed: 'unknown', count: 1,
    }, 'unknown', { identityGap: GAP_NO_IDENTITY_FIELD });
    const cases: [format: string, value: string, time: string | undefined][] = [
      // Envoy's own example (access log docs, START_TIME): a date with its zone, then epoch seconds
      ['%Y/%m/%dT%H:%M:%S%z %s', '2026/01/05T12:00:00+0000 1767614400', '2026-01-05T12:00:00+00:00'],
      ['%s.%3f', '1741944413.412', '2025-03-14T09:26:53.412Z'],
      ['%s.%6f', '1741944413.412345', '2025-03-14T09:26:53.412345Z'],
      ['%s.%9f', '1741944413.412345678', '2025-03-14T09:26:53.412345678Z'],
      ['%s%3f', '1741944413412', '2025-03-14T09:26:53.412Z'],
      ['%Y-%m-%dT%H:%M:%S.%f', '2025-03-14T09:26:53.412345678', '2025-03-14T09:26:53.412345678Z'],
      ['%Y-%m-%dT%H:%M:%S.%9f%z', '2025-03-14T09:26:53.412345678+0100', '2025-03-14T09:26:53.412345678+01:00'],
      // %e pads the day with a space: the value holds one more space before the 10th
      ['%Y-%m-%e %H:%M:%S', '2025-03- 4 09:26:53', '2025-03-04T09:26:53Z'],
      ['%Y-%m-%e %H:%M:%S', '2025-03-14 09:26:53', '2025-03-14T09:26:53Z'],
      ['%FT%T.%E3fZ', '2025-03-14T09:26:53.412Z', '2025-03-14T09:26:53.412Z'],
      ['%Y-%m-%dT%H:%M:%E6S%Ez', '2025-03-14T09:26:53.412345+02:00', '2025-03-14T09:26:53.412345+02:00'],
      ['%Y-%m-%dT%H:%M:%E*S%Ez', '2025-03-14T09:26:53.5-05:30', '2025-03-14T09:26:53.5-05:30'],
      ['%d/%b/%Y:%H:%M:%S %z', '14/Mar/2025:09:26:53 +0000', '2025-03-14T09:26:53+00:00'],
      ['%a %e %b %Y %H:%M:%S %Z', 'Tue  4 Mar 2025 09:26:53 UTC', '2025-03-04T09:26:53Z'],
      ['%Y-%m-%d %H:%M:%S %Z', '2025-03-14 09:26:53 CET', undefined],
      ['%Y-%m-%e %H:%M:%S', '2025-02-30 09:26:53', undefined],
    ];
    for (const [format, value, time] of cases) {
      const reader = createReader('envoy-text', { envoyFormat: `%START_TIME(${format})% %REQ(:METHOD)% %RESPONSE_CODE%` });
      assert.deepEqual(reader.read(`${value} GET 200`), call(time), `${format}: ${value}`);
    }
  });

  it('reads START_TIME with a strftime argument in custom formats, text and JSON, as RFC 3339 times', () => {
    const cases: [string, LogFormatId, string, string, string][] = [
      ['text %z', 'envoy-text', '[%START_TIME(%Y-%m-%dT%H:%M:%S%z)%] "%REQ(:METHOD)% %REQ(:PATH)%" %RESPONSE_CODE%', '[2026-01-05T12:00:00+0200] "GET /a" 200', '2026-01-05T12:00:00+02:00'],
      ['text common log time', 'envoy-text', '[%START_TIME(%d/%b/%Y:%H:%M:%S %z)%] "%REQ(:METHOD)% %REQ(:PATH)%" %RESPONSE_CODE%', '[05/Jan/2026:12:00:00 +0200] "GET /a" 200', '2026-01-05T12:00:00+02:00'],
      ['text %Z', 'envoy-text', '[%START_TIME(%Y-%m-%d %H:%M:%S %Z)%] "%REQ(:METHOD)% %REQ(:PATH)%" %RESPONSE_CODE%', '[2026-01-05 12:00:00 UTC] "GET /a" 200', '2026-01-05T12:00:00Z'],
      ['text %s.%3f', 'envoy-text', '%START_TIME(%s.%3f)% "%REQ(:METHOD)% %REQ(:PATH)%" %RESPONSE_CODE%', '1767607200.250 "GET /a" 200', '2026-01-05T10:00:00.250Z'],
      ['text, not enclosed, with spaces', 'envoy-text', '%START_TIME(%Y-%m-%d %H:%M:%S.%3f)% "%REQ(:METHOD)% %REQ(:PATH)%" %RESPONSE_CODE%', '2026-01-05 12:00:00.123 "GET /a" 200', '2026-01-05T12:00:00.123Z'],
      ['text, not enclosed, space before the next literal', 'envoy-text', '%START_TIME(%d/%b/%Y:%H:%M:%S %z)% %REQ(:METHOD)% %REQ(:PATH)% %RESPONSE_CODE%', '05/Jan/2026:12:00:00 +0200 GET /a 200', '2026-01-05T12:00:00+02:00'],
      ['JSON bare', 'envoy-json', '{"ts":"%START_TIME%","m":"%REQ(:METHOD)%","p":"%REQ(:PATH)%","code":"%RESPONSE_CODE%"}', '{"ts":"2026-01-05T10:00:00.250Z","m":"GET","p":"/a","code":200}', '2026-01-05T10:00:00.250Z'],
      ['JSON %s', 'envoy-json', '{"ts":"%START_TIME(%s)%","m":"%REQ(:METHOD)%","p":"%REQ(:PATH)%","code":"%RESPONSE_CODE%"}', '{"ts":"1767607200","m":"GET","p":"/a","code":200}', '2026-01-05T10:00:00.000Z'],
      ['JSON %s.%3f', 'envoy-json', '{"ts":"%START_TIME(%s.%3f)%","m":"%REQ(:METHOD)%","p":"%REQ(:PATH)%","code":"%RESPONSE_CODE%"}', '{"ts":"1767607200.250","m":"GET","p":"/a","code":200}', '2026-01-05T10:00:00.250Z'],
      ['JSON %z', 'envoy-json', '{"ts":"%START_TIME(%Y-%m-%dT%H:%M:%S%z)%","m":"%REQ(:METHOD)%","p":"%REQ(:PATH)%","code":"%RESPONSE_CODE%"}', '{"ts":"2026-01-05T12:00:00+0200","m":"GET","p":"/a","code":200}', '2026-01-05T12:00:00+02:00'],
      // a JSON value is read by its key's format too: %e pads the day with a space, %d.%m.%Y puts the day first
      ['JSON %e', 'envoy-json', '{"start_time":"%START_TIME(%e %b %Y %H:%M:%S)%","m":"%REQ(:METHOD)%","p":"%REQ(:PATH)%","code":"%RESPONSE_CODE%"}', '{"start_time":" 5 Jan 2026 12:00:00","m":"GET","p":"/a","code":200}', '2026-01-05T12:00:00Z'],
      ['JSON %e, two-digit day', 'envoy-json', '{"start_time":"%START_TIME(%e %b %Y %H:%M:%S)%","m":"%REQ(:METHOD)%","p":"%REQ(:PATH)%","code":"%RESPONSE_CODE%"}', '{"start_time":"15 Jan 2026 12:00:00","m":"GET","p":"/a","code":200}', '2026-01-15T12:00:00Z'],
      ['JSON %d.%m.%Y', 'envoy-json', '{"ts":"%START_TIME(%d.%m.%Y %H:%M:%S)%","m":"%REQ(:METHOD)%","p":"%REQ(:PATH)%","code":"%RESPONSE_CODE%"}', '{"ts":"05.01.2026 12:00:00","m":"GET","p":"/a","code":200}', '2026-01-05T12:00:00Z'],
      ['JSON %a %e %b %Y %Z', 'envoy-json', '{"ts":"%START_TIME(%a %e %b %Y %H:%M:%S %Z)%","m":"%REQ(:METHOD)%","p":"%REQ(:PATH)%","code":"%RESPONSE_CODE%"}', '{"ts":"Mon  5 Jan 2026 12:00:00 UTC","m":"GET","p":"/a","code":200}', '2026-01-05T12:00:00Z'],
      ['JSON nested object %e', 'envoy-json', '{"when":{"start":"%START_TIME(%e %b %Y %H:%M:%S)%"},"m":"%REQ(:METHOD)%","p":"%REQ(:PATH)%","code":"%RESPONSE_CODE%"}', '{"when":{"start":" 5 Jan 2026 12:00:00"},"m":"GET","p":"/a","code":200}', '2026-01-05T12:00:00Z'],
      ['JSON text and operators %e', 'envoy-json', '{"at":"on %START_TIME(%e %b %Y %H:%M:%S)% UTC","m":"%REQ(:METHOD)%","p":"%REQ(:PATH)%","code":"%RESPONSE_CODE%"}', '{"at":"on  5 Jan 2026 12:00:00 UTC","m":"GET","p":"/a","code":200}', '2026-01-05T12:00:00Z'],
      ['Consul JSON %e', 'consul-envoy-json', '{"start_time":"%START_TIME(%e %b %Y %H:%M:%S)%","m":"%REQ(:METHOD)%","p":"%REQ(:PATH)%","code":"%RESPONSE_CODE%"}', '{"start_time":" 5 Jan 2026 12:00:00","m":"GET","p":"/a","code":200}', '2026-01-05T12:00:00Z'],
    ];
    for (const [name, format, envoyFormat, line, time] of cases) {
      const result = createReader(format, { envoyFormat }).read(line);
      assert.equal(result.kind, 'record', name);
      const printed = (result as ParsedLine).record;
      assert.equal(printed.time, time, name);
      // what `traffic --format jsonl` prints reads back as an access record
      assert.equal(checkAccessRecord(JSON.parse(JSON.stringify(printed))), undefined, name);
    }
  });
});

// ---------------------------------------------------------------------------------------------
// Lines written by hand from the upstream format definitions (Envoy's command operators, Istio's
// and Envoy's default formats, linkerd2-proxy's access log span and writers, ztunnel's access
// events, Consul's default JSON), each with the record the definition implies:
// test/fixtures/traffic/upstream-lines.jsonl, one case a line.
// ---------------------------------------------------------------------------------------------

type FixtureCase = Case & { format: LogFormatId; options?: ReaderOptions };

describe('a time that names no moment leaves the line read without a time, as a time of no known shape does', () => {
  const lines: [LogFormatId, Case][] = [
    ['envoy-text', ISTIO_TEXT[0]!],
    ['envoy-json', ENVOY_JSON[0]!],
    ['consul-envoy-json', CONSUL[0]!],
    ['linkerd-apache', LINKERD_APACHE[0]!],
    ['linkerd-json', LINKERD_JSON[0]!],
    ['ztunnel', ZTUNNEL[0]!],
  ];
  const spoilers: [string, (time: string) => string][] = [
    ['30 February', (t) => `${t.slice(0, 5)}02-30${t.slice(10)}`],
    ['hour 25', (t) => `${t.slice(0, 11)}25${t.slice(13)}`],
    ['minute and second 99', (t) => `${t.slice(0, 14)}99:99${t.slice(19)}`],
    ['offset +25:00', (t) => t.replace(/(?:Z|[+-]\d\d:\d\d)$/, '+25:00')],
  ];
  for (const [format, c] of lines) {
    for (const [what, spoil] of spoilers) {
      it(`${format}: ${what}`, () => {
        const expected = c.expect as ParsedLine;
        const time = expected.record.time!;
        assert.ok(c.line.includes(time), `${c.name}: the line writes the time as the record has it`);
        const { time: _time, ...untimed } = expected.record;
        const line = c.line.replace(time, spoil(time));
        const result = createReader(format).read(line);
        assert.deepEqual(result, { ...expected, record: untimed });
        assertPeekAgrees(createReader(format), line, result);
      });
    }
  }
});

describe('upstream-defined lines (fixture)', () => {
  const cases = readFileSync(join(FIXTURES, 'traffic', 'upstream-lines.jsonl'), 'utf8')
    .split('\n')
    .filter((l) => l.trim() !== '')
    .map((l) => JSON.parse(l) as FixtureCase);
  for (const c of cases) {
    it(`${c.format}: ${c.name}`, () => {
      const expect = asLogged(c.format, c.line, c.expect, c.options);
      assert.deepEqual(createReader(c.format, c.options).read(c.line), expect);
      assertPeekAgrees(createReader(c.format, c.options), c.line, expect);
      // a file of this one line is read in its format with no setting (a custom format needs one)
      if (c.options === undefined && c.expect.kind === 'record') assert.equal(detectFormat([c.line], 'access.log'), c.format);
    });
  }
});

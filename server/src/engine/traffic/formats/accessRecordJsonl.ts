import { isIP } from 'node:net';
import type { AccessRecord } from '../accessRecord';
import type { LineReader, LineResult, ParsedLine, ReaderOptions } from '../readerTypes';
import type { Mesh } from '../../meshes';
import { SKIP, checkedTime, isBlank, skipWith } from './common';

/**
 * Our canonical format (docs/access-records.md, schemas/access-record.schema.json): JSON Lines,
 * one AccessRecord per line. The shape is checked here by hand, with the same rules as the
 * schema (closed objects except the maps; only `source.principal` may be null), so that a typo
 * such as `principle` is reported instead of silently meaning "plaintext". A line that breaks a
 * rule is skipped with the rule as its reason: `access record: <path> <problem>`. Unknown keys
 * at the top level (an id or a test name a tool added) are dropped, not errors: a record is
 * then still decided, and its line still answered in `simulate --format jsonl`.
 *
 * Defaults: `count` 1 and `observed` "unknown" when absent; `mesh` from the reader options
 * when absent. `request.headers["x-request-id"]` becomes the request id. The record names no
 * proxy leg, so the side is `unknown`.
 */

const MESHES = new Set(['istio', 'linkerd', 'consul']);
const PROTOCOLS = new Set(['http', 'http2', 'grpc', 'tcp']);
const OBSERVED = new Set(['allowed', 'denied', 'unknown']);
const RFC3339 = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(?:\.\d+)?(?:[Zz]|[+-]\d\d:\d\d)$/;

type Problem = string | undefined;

function isObject(value: unknown): value is Record<string, unknown> {
  return value !== null && typeof value === 'object' && !Array.isArray(value);
}

function describe(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'an array';
  return typeof value === 'object' ? 'an object' : `${typeof value} ${JSON.stringify(value)}`.slice(0, 60);
}

function checkString(value: unknown, path: string): Problem {
  return typeof value === 'string' ? undefined : `${path} must be a string, not ${describe(value)}`;
}

function checkStringMap(value: unknown, path: string): Problem {
  if (!isObject(value)) return `${path} must be an object of strings, not ${describe(value)}`;
  for (const key in value) {
    if (typeof value[key] !== 'string') return `${path}.${key} must be a string, not ${describe(value[key])}`;
  }
  return undefined;
}

function checkIp(value: unknown, path: string): Problem {
  if (typeof value !== 'string') return `${path} must be a string, not ${describe(value)}`;
  return isIP(value) === 0 ? `${path} must be an IPv4 or IPv6 address, not ${JSON.stringify(value).slice(0, 60)}` : undefined;
}

function checkInteger(value: unknown, path: string, min: number, max: number): Problem {
  return typeof value === 'number' && Number.isInteger(value) && value >= min && value <= max
    ? undefined
    : `${path} must be an integer from ${min} to ${max}, not ${describe(value)}`;
}

function checkEnum(value: unknown, path: string, allowed: Set<string>): Problem {
  return typeof value === 'string' && allowed.has(value) ? undefined : `${path} must be one of ${[...allowed].join(', ')}, not ${describe(value)}`;
}

/**
 * How deep `request.jwt.claims` may nest objects and arrays, itself the first: far more than a
 * token holds (Keycloak's `resource_access.<client>.roles` is 3 deep), and few enough that the
 * walks over a record that recurse (shape keys, copies, JSON.stringify) stay far from the stack's
 * end. Only the claims can nest: every other field has a fixed depth.
 */
export const MAX_CLAIMS_DEPTH = 64;

/** Whether `claims` nests deeper than MAX_CLAIMS_DEPTH; a walk without recursion, as the value may nest as deep as a line is long. */
function nestsTooDeep(claims: Record<string, unknown>): boolean {
  const open: unknown[] = [claims];
  const depths: number[] = [1];
  while (open.length > 0) {
    const value = open.pop() as object;
    const depth = depths.pop()!;
    if (depth > MAX_CLAIMS_DEPTH) return true;
    for (const child of Array.isArray(value) ? value : Object.values(value)) {
      if (child !== null && typeof child === 'object') {
        open.push(child);
        depths.push(depth + 1);
      }
    }
  }
  return false;
}

type FieldCheck = (value: unknown, path: string) => Problem;
/** A field's check and its full path, built once (paths appear only in problems). */
type Fields = Record<string, readonly [FieldCheck, string]>;

function fields(prefix: string, checks: Record<string, FieldCheck>): Fields {
  // No prototype: a key such as "constructor" in a line must not find Object's.
  const out: Fields = Object.create(null) as Fields;
  for (const [key, check] of Object.entries(checks)) out[key] = [check, prefix === '' ? key : `${prefix}.${key}`];
  return out;
}

function checkObject(value: unknown, path: string, known: Fields): Problem {
  if (!isObject(value)) return `${path} must be an object, not ${describe(value)}`;
  for (const key in value) {
    const field = known[key];
    if (field === undefined) {
      // Top-level keys of the writer's own (an id, a test name) are dropped by read().
      if (path === '') continue;
      return `${path} has an unknown field "${key}"`;
    }
    const problem = field[0](value[key], field[1]);
    if (problem !== undefined) return problem;
  }
  return undefined;
}

const SOURCE_FIELDS = fields('source', {
  principal: (v, p) => (v === null ? undefined : checkString(v, p)),
  namespace: checkString,
  serviceAccount: checkString,
  workload: checkString,
  service: checkString,
  ip: checkIp,
  remoteIp: checkIp,
  labels: checkStringMap,
  principalUnknown: (v, p) => (typeof v === 'boolean' ? undefined : `${p} must be true or false, not ${describe(v)}`),
  principalInferred: (v, p) => (typeof v === 'boolean' ? undefined : `${p} must be true or false, not ${describe(v)}`),
  notLoopback: (v, p) => (typeof v === 'boolean' ? undefined : `${p} must be true or false, not ${describe(v)}`),
});

const DESTINATION_FIELDS = fields('destination', {
  namespace: checkString,
  workload: checkString,
  service: checkString,
  serviceAccount: checkString,
  labels: checkStringMap,
  ip: checkIp,
  port: (v, p) => checkInteger(v, p, 1, 65535),
});

const JWT_FIELDS = fields('request.jwt', {
  valid: (v, p) => (typeof v === 'boolean' ? undefined : `${p} must be true or false, not ${describe(v)}`),
  issuer: checkString,
  subject: checkString,
  audiences: (v, p) => (Array.isArray(v) && v.every(isString) ? undefined : `${p} must be an array of strings, not ${describe(v)}`),
  presenter: checkString,
  claims: (v, p) => (!isObject(v) ? `${p} must be an object, not ${describe(v)}` : nestsTooDeep(v) ? `${p} nests objects and arrays more than ${MAX_CLAIMS_DEPTH} deep` : undefined),
});

const REQUEST_FIELDS = fields('request', {
  method: checkString,
  path: checkString,
  host: checkString,
  headers: checkStringMap,
  recordedHeaders: (v, p) => (Array.isArray(v) && v.every(isString) ? undefined : `${p} must be an array of strings, not ${describe(v)}`),
  jwtUnknown: (v, p) => (typeof v === 'boolean' ? undefined : `${p} must be true or false, not ${describe(v)}`),
  jwt: (v, p) => checkObject(v, p, JWT_FIELDS),
});

const DRY_RUN_RESULTS = new Set(['allowed', 'denied']);

/** `response.dryRun.allow` / `.deny`: a `result`, and the `policy` when one matched. */
function dryRunEngineFields(engine: string): Fields {
  return fields(`response.dryRun.${engine}`, {
    result: (v, p) => checkEnum(v, p, DRY_RUN_RESULTS),
    policy: checkString,
  });
}

function checkDryRunEngine(known: Fields): FieldCheck {
  return (v, p) => checkObject(v, p, known) ?? ((v as Record<string, unknown>)['result'] === undefined ? `${p}.result is missing` : undefined);
}

const DRY_RUN_FIELDS = fields('response.dryRun', {
  allow: checkDryRunEngine(dryRunEngineFields('allow')),
  deny: checkDryRunEngine(dryRunEngineFields('deny')),
});

const RESPONSE_FIELDS = fields('response', {
  status: (v, p) => checkInteger(v, p, 0, 999),
  flags: checkString,
  details: checkString,
  deniedBy: checkString,
  dryRun: (v, p) => checkObject(v, p, DRY_RUN_FIELDS),
});

const RECORD_FIELDS = fields('', {
  time: (v, p) => (typeof v === 'string' && RFC3339.test(v) && checkedTime(v) !== undefined ? undefined : `${p} must be an RFC 3339 date-time, not ${describe(v)}`),
  mesh: (v, p) => checkEnum(v, p, MESHES),
  protocol: (v, p) => checkEnum(v, p, PROTOCOLS),
  source: (v, p) => checkObject(v, p, SOURCE_FIELDS),
  destination: (v, p) => checkObject(v, p, DESTINATION_FIELDS),
  request: (v, p) => checkObject(v, p, REQUEST_FIELDS),
  sni: checkString,
  response: (v, p) => checkObject(v, p, RESPONSE_FIELDS),
  observed: (v, p) => checkEnum(v, p, OBSERVED),
  count: (v, p) => checkInteger(v, p, 1, Number.MAX_SAFE_INTEGER),
});

function isString(value: unknown): boolean {
  return typeof value === 'string';
}

/** The first rule the value breaks, as "<path> <problem>", or undefined for a valid record. */
export function checkAccessRecord(value: unknown): string | undefined {
  if (!isObject(value)) return `the line must be a JSON object, not ${describe(value)}`;
  return checkObject(value, '', RECORD_FIELDS);
}

/** A top-level key an access record does not have (a line of a file drops it; a call written by hand names it as a typo). */
export function unknownRecordField(value: Record<string, unknown>): string | undefined {
  return Object.keys(value).find((key) => RECORD_FIELDS[key] === undefined);
}

export class AccessRecordReader implements LineReader {
  readonly format = 'access-record' as const;

  constructor(private readonly mesh: Mesh | undefined) {}

  read(line: string): LineResult {
    let value: unknown;
    try {
      value = JSON.parse(line);
    } catch {
      return isBlank(line) ? SKIP.blank : SKIP.notJson;
    }
    if (!isObject(value)) return SKIP.notObject;
    const problem = checkAccessRecord(value);
    if (problem !== undefined) return skipWith(`access record: ${problem}`);
    for (const key in value) if (RECORD_FIELDS[key] === undefined) delete value[key];
    const record = value as AccessRecord;
    if (record.count === undefined) record.count = 1;
    if (record.observed === undefined) record.observed = 'unknown';
    if (record.mesh === undefined && this.mesh !== undefined) record.mesh = this.mesh;
    // a leap second, as the instant it stands for (checkedTime)
    if (record.time !== undefined && record.time.charCodeAt(17) === 54 /* 6 */) record.time = checkedTime(record.time)!;
    const parsed: ParsedLine = { kind: 'record', record, side: 'unknown' };
    const requestId = record.request?.headers?.['x-request-id'];
    if (requestId !== undefined) parsed.requestId = requestId;
    return parsed;
  }
}

export function createAccessRecordReader(options: ReaderOptions = {}): AccessRecordReader {
  return new AccessRecordReader(options.mesh);
}

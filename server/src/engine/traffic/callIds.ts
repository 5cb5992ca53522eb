import type { AccessRecord } from './accessRecord';

/**
 * Small integer ids for the values of a call's attributes, one row of ids per call. Equal ids
 * in one id space mean equal values, so a consumer that derives something from a value (which of
 * a destination's policy tests match a path) can remember it by id in integer-keyed maps, and
 * read a call as a few numbers instead of its record's objects and strings. Ingest gives every
 * shape its row once per traffic load (`ShapeTable.finish`), so every simulation of that load
 * (the first, each edit's re-simulation, the git baseline) reads rows: the folds of all three
 * meshes do.
 *
 * Composite attributes (the destination, the header set, the token) have one id for the whole
 * value: a change in any part gives another id. Ids of different kinds of value may be equal
 * (an id says which path, or which principal); consumers keep them apart by kind.
 */
export const CALL_ID = {
  /** The id space the row's ids belong to (`ValueIds.space`). */
  space: 0,
  /** Namespace, workload, Service and labels of the destination. */
  destination: 1,
  protocol: 2,
  /** `source.principal`, null and '' kept apart from absent. */
  principal: 3,
  /** 1 when `source.principalUnknown` is true, 2 when `source.principalInferred` is, else 0 (not an id). */
  principalUnknown: 4,
  method: 5,
  port: 6,
  path: 7,
  host: 8,
  /** Every request header, names and values, in the record's order, and the names the log records (`request.recordedHeaders`). */
  headers: 9,
  sourceIp: 10,
  remoteIp: 11,
  destinationIp: 12,
  sni: 13,
  /** The token's facts as JSON, or that the log does not record it (`request.jwtUnknown`). */
  jwt: 14,
} as const;

export const CALL_ID_WIDTH = 15;

/** The value of the token column for a record whose log does not record the token (`request.jwtUnknown`). */
const JWT_NOT_RECORDED = 'not recorded';
/** The source address of a record whose `ip` is absent and `notLoopback` set (no address is written so). */
const NOT_LOOPBACK = 'not loopback';

/** Ids every space gives alike: absent, null and the empty string. */
export const UNDEFINED_ID = 0;
export const NULL_ID = 1;
export const EMPTY_ID = 2;

let spaces = 0;

type Trie = Map<unknown, unknown>;

/** Ends a sequence of values in a trie (no value is this object). */
const END = {};

/**
 * One id space: a value gets an id the first time it is seen, per kind of value (the addresses
 * of source, remote and destination are one kind, as the remote address may stand for the
 * source's). `sign` -1 counts down from -3, so that a space of ingest (up from 3) and one of a
 * consumer (for rows ingest did not give) never share an id for different values.
 */
export class ValueIds {
  readonly space = ++spaces;
  private next = 3;
  private readonly protocols = new Map<unknown, number>();
  private readonly principals = new Map<unknown, number>();
  private readonly methods = new Map<unknown, number>();
  private readonly ports = new Map<unknown, number>();
  private readonly paths = new Map<unknown, number>();
  private readonly hosts = new Map<unknown, number>();
  private readonly addresses = new Map<unknown, number>();
  private readonly snis = new Map<unknown, number>();
  private readonly tokens = new Map<unknown, number>();
  /** Destinations by labels map (ingest shares one per workload), namespace, workload, Service. */
  private readonly destinations: Trie = new Map();
  /** Header sets by name, value, name, value… */
  private readonly headerSets: Trie = new Map();

  constructor(private readonly sign: 1 | -1 = 1) {}

  private id(ids: Map<unknown, number>, value: unknown): number {
    if (value === undefined) return UNDEFINED_ID;
    if (value === null) return NULL_ID;
    if (value === '') return EMPTY_ID;
    let id = ids.get(value);
    if (id === undefined) ids.set(value, (id = this.sign * this.next++));
    return id;
  }

  /** The row of `record` into `out` (at `at`), which it returns. */
  rowInto(record: AccessRecord, out: Int32Array, at = 0): Int32Array {
    const source = record.source;
    const destination = record.destination;
    const request = record.request;
    out[at + CALL_ID.space] = this.space;
    out[at + CALL_ID.destination] = destination === undefined ? UNDEFINED_ID : this.destinationId(destination);
    out[at + CALL_ID.protocol] = this.id(this.protocols, record.protocol);
    out[at + CALL_ID.principal] = this.id(this.principals, source?.principal);
    out[at + CALL_ID.principalUnknown] = source?.principalUnknown === true ? 1 : source?.principalInferred === true ? 2 : 0;
    out[at + CALL_ID.method] = this.id(this.methods, request?.method);
    out[at + CALL_ID.port] = this.id(this.ports, destination?.port);
    out[at + CALL_ID.path] = this.id(this.paths, request?.path);
    out[at + CALL_ID.host] = this.id(this.hosts, request?.host);
    const headers = request?.headers;
    const recorded = request?.recordedHeaders;
    out[at + CALL_ID.headers] = headers === undefined && recorded === undefined ? UNDEFINED_ID : this.headersId(headers, recorded);
    // (an address not recorded but known not to be loopback is a value of its own)
    out[at + CALL_ID.sourceIp] = this.id(this.addresses, source?.ip ?? (source?.notLoopback === true ? NOT_LOOPBACK : undefined));
    out[at + CALL_ID.remoteIp] = this.id(this.addresses, source?.remoteIp);
    out[at + CALL_ID.destinationIp] = this.id(this.addresses, destination?.ip);
    out[at + CALL_ID.sni] = this.id(this.snis, record.sni);
    const jwt = request?.jwt;
    // (a token's facts are JSON, an object: no other text of the space)
    out[at + CALL_ID.jwt] = jwt !== undefined ? this.id(this.tokens, JSON.stringify(jwt)) : request?.jwtUnknown === true ? this.id(this.tokens, JWT_NOT_RECORDED) : UNDEFINED_ID;
    return out;
  }

  /** Equal ids for the same labels map (not merely equal labels: those may get two ids). */
  private destinationId(destination: NonNullable<AccessRecord['destination']>): number {
    let node = step(this.destinations, destination.labels);
    node = step(node, destination.namespace);
    node = step(node, destination.workload);
    return this.end(step(node, destination.service));
  }

  /** Equal ids for the same headers and the same recorded names. */
  private headersId(headers: Record<string, string> | undefined, recorded: readonly string[] | undefined): number {
    let node = step(this.headerSets, recorded === undefined ? null : recorded.join('\u0000'));
    if (headers) for (const name in headers) node = step(step(node, name), headers[name]);
    return this.end(node);
  }

  private end(node: Trie): number {
    let id = node.get(END) as number | undefined;
    if (id === undefined) node.set(END, (id = this.sign * this.next++));
    return id;
  }
}

function step(node: Trie, value: unknown): Trie {
  let next = node.get(value) as Trie | undefined;
  if (next === undefined) node.set(value, (next = new Map()));
  return next;
}

/** One row per record, as views into one buffer (rows of consecutive records lie together). */
export function callIdRows(records: readonly AccessRecord[], ids: ValueIds): Int32Array[] {
  const buffer = new Int32Array(records.length * CALL_ID_WIDTH);
  const rows: Int32Array[] = new Array(records.length);
  for (let i = 0; i < records.length; i++) {
    ids.rowInto(records[i]!, buffer, i * CALL_ID_WIDTH);
    rows[i] = buffer.subarray(i * CALL_ID_WIDTH, (i + 1) * CALL_ID_WIDTH);
  }
  return rows;
}

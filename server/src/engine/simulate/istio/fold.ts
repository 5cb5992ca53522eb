import type { AccessRecord } from '../../traffic/accessRecord';
import { CALL_ID, EMPTY_ID, NULL_ID, UNDEFINED_ID } from '../../traffic/callIds';
import { CallRows, FoldKey } from '../fold';
import type { CallFold, FoldSlot } from '../types';
import { Call, hasLowerCase, hasWhitespace } from './call';
import type { IstioCompiledPolicies } from './evaluate';
import type { Field } from './fields';
import { parseIpInto } from './ip';
import type { PathNormalization } from './path';
import { withoutSpiffe } from '../../istio/match';

/** Above this many tests of one attribute, the fold keeps the attribute's value instead of which tests match. */
const MAX_BITS = 8;

/**
 * What the policies at one destination can read of a call (`destinationReads`), and the calls
 * to it folded by that. A test of a peer identity, method, port, path, host, header or address
 * reads it only through whether it matches, so for each such attribute the fold keeps which of
 * the destination's tests match the call's value (e.g. `/items/1042` and `/items/7` alike when
 * every test says the same of both); an attribute no test reads is not kept at all (the caller's
 * address where no policy tests `source.ip`).
 */
interface View {
  root: Map<unknown, unknown>;
  /** Tests of the peer identity, or null when there are too many (the principal is kept); likewise below. */
  peer: Tests | null;
  /** Method tests, `:method` header conditions included. */
  methods: Tests | null;
  ports: Tests | null;
  /** mTLS modes set per port: the port is kept. */
  rawPort: boolean;
  paths: Tests | null;
  /** A `:path` header condition reads the path as sent: it is kept. */
  rawPath: boolean;
  hosts: Tests | null;
  /** A `host`/`:authority` header condition reads the host as sent: it is kept. */
  rawHost: boolean;
  headers: { name: string; tests: Tests | null }[];
  sourceIps: Tests | null;
  remoteIps: Tests | null;
  destinationIps: Tests | null;
  sni: boolean;
  /** A RequestAuthentication may apply: the token (if any) is kept whole. */
  jwt: boolean;
  /** Whether a peer is the destination's waypoint (whose own calls skip it), or null without a named waypoint. */
  fromWaypoint: ((principal: string) => boolean) | null;
  /** Per principal id: 1 when it is the waypoint. */
  waypointPeers: Map<number, number>;
}

/** The tests of one attribute at a destination, and which of them match each value seen, by value id. */
class Tests {
  /** Parts are 0 and 1 for the attribute's states (absent, not recorded, rejected), then 2 + which tests match. */
  readonly range: number;
  readonly memo = new Map<number, number>();
  constructor(readonly fields: Field[]) {
    this.range = 2 + (1 << fields.length);
  }
}

interface ViewEntry {
  labels: Record<string, string> | undefined;
  view: View;
}

type ByName<V> = Map<string | undefined, V>;

/**
 * Istio's fold (`CompiledPolicies.fold`): one list of calls' slots, by destination view and then
 * by what that view's policies can read. Two calls in one slot are decided alike by `decide`:
 * beyond the destination (namespace, workload, Service, labels: the view), a decision reads the
 * protocol, whether a header name has whitespace (400), whether the method has lower case (400,
 * quoted: such calls are decided on their own), whether the caller has an identity, and
 * otherwise only what the tests say, which the key holds.
 *
 * A call is read as its row of value ids (`traffic/callIds.ts`: given by ingest, else made here
 * in the fold's own id space), so a shape costs a few integer-keyed lookups: its view by
 * destination id, and per attribute the part remembered for the value id at that view. The
 * record is read only the first time a view meets a value.
 */
export class IstioFold implements CallFold {
  private readonly views: ByName<ByName<ByName<ViewEntry[]>>> = new Map();
  private readonly byDestination = new Map<number, View>();
  private readonly key = new FoldKey();
  private readonly call = new Call();
  /** The record `call` was last reset to (parts are computed only on first sight). */
  private callOf: AccessRecord | undefined = undefined;
  private readonly rows = new CallRows();
  /** Per protocol id: its class (absent, TCP, gRPC, other). */
  private readonly protocols = new Map<number, number>();
  /** Per method id: whether it has lower case. */
  private readonly lowerMethods = new Map<number, boolean>();
  /** Per header-set id: whether a header name has whitespace. */
  private readonly spacedHeaders = new Map<number, number>();

  constructor(private readonly policies: IstioCompiledPolicies, normalization: PathNormalization) {
    this.call.normalization = normalization;
  }

  slot(rec: AccessRecord, given?: Int32Array): FoldSlot | undefined {
    const row = this.rows.of(rec, given);
    this.callOf = undefined;
    const methodId = row[CALL_ID.method]!;
    if (methodId !== UNDEFINED_ID && this.lowerMethod(methodId, rec)) return undefined;
    const destinationId = row[CALL_ID.destination]!;
    let view = this.byDestination.get(destinationId);
    if (view === undefined) this.byDestination.set(destinationId, (view = this.viewOf(rec)));
    const protocolId = row[CALL_ID.protocol]!;
    let protocol = this.protocols.get(protocolId);
    if (protocol === undefined) {
      const p = rec.protocol;
      this.protocols.set(protocolId, (protocol = p === undefined ? 0 : p === 'tcp' ? 1 : p === 'grpc' ? 2 : 3));
    }
    // A missing method is POST for gRPC (Call.method): the part is remembered apart.
    const methodKey = methodId === UNDEFINED_ID && protocol === 2 ? GRPC_METHOD : methodId;
    const principalId = row[CALL_ID.principal]!;
    const headersId = row[CALL_ID.headers]!;
    const sourceIpId = row[CALL_ID.sourceIp]!;
    const remoteIpId = row[CALL_ID.remoteIp]!;
    // `remoteIp ?? ip`: absent or null falls back to the direct peer's address.
    const remoteKey = remoteIpId === UNDEFINED_ID || remoteIpId === NULL_ID ? sourceIpId : remoteIpId;
    const k = this.key;
    k.start(view.root);
    // Values kept whole (rare): first, as Map levels, by id.
    if (view.peer === null) k.value(principalId);
    if (view.methods === null) k.value(methodKey);
    if (view.rawPort || view.ports === null) k.value(row[CALL_ID.port]);
    if (view.rawPath || view.paths === null) k.value(row[CALL_ID.path]);
    if (view.rawHost || view.hosts === null) k.value(row[CALL_ID.host]);
    for (const header of view.headers) if (header.tests === null) { k.value(headersId); break; }
    if (view.sourceIps === null || view.remoteIps === null) { k.value(sourceIpId); k.value(remoteIpId); }
    if (view.destinationIps === null) k.value(row[CALL_ID.destinationIp]);
    if (view.sni) k.value(row[CALL_ID.sni]);
    if (view.jwt) k.value(row[CALL_ID.jwt]);
    // The rest: few values each, packed into one number.
    k.small(protocol, 4);
    let spaced = this.spacedHeaders.get(headersId);
    if (spaced === undefined) {
      spaced = 0;
      const headers = rec.request?.headers;
      if (headers) for (const name in headers) if (hasWhitespace(name)) { spaced = 1; break; }
      this.spacedHeaders.set(headersId, spaced);
    }
    k.small(spaced, 2);
    const peerless = principalId === UNDEFINED_ID || principalId === NULL_ID || principalId === EMPTY_ID;
    const provenance = row[CALL_ID.principalUnknown]!;
    const unknownPeer = provenance === 1 ? 1 : 0;
    if (view.peer === null) k.small(peerless ? unknownPeer : 0, 2);
    else k.small(peerless ? unknownPeer : this.peerPart(view.peer, principalId, rec), view.peer.range);
    // (an inferred principal is not presented where mTLS is DISABLE, evaluate.ts's PeerAuthentication step)
    k.small(provenance === 2 ? 1 : 0, 2);
    if (view.fromWaypoint !== null) k.small(peerless ? 0 : this.waypointPart(view, principalId, rec), 2);
    if (view.methods !== null) k.small(methodKey === UNDEFINED_ID ? 0 : this.textPart(view.methods, methodKey, rec, METHOD), view.methods.range);
    const ports = view.ports;
    if (ports !== null && !view.rawPort) {
      const portId = row[CALL_ID.port]!;
      k.small(portId === UNDEFINED_ID ? 0 : this.portPart(ports, portId, rec), ports.range);
    }
    const paths = view.paths;
    if (paths !== null && !view.rawPath) {
      const pathId = row[CALL_ID.path]!;
      k.small(pathId === UNDEFINED_ID ? 0 : this.pathPart(paths, pathId, rec), paths.range);
    }
    const hosts = view.hosts;
    if (hosts !== null && !view.rawHost) {
      const hostId = row[CALL_ID.host]!;
      k.small(hostId === UNDEFINED_ID ? 0 : this.textPart(hosts, hostId, rec, HOST), hosts.range);
    }
    for (const header of view.headers) {
      const tests = header.tests;
      if (tests === null) continue;
      k.small(this.headerPart(tests, header.name, headersId, rec), tests.range);
    }
    const sourceIps = view.sourceIps;
    if (sourceIps !== null && sourceIps.fields.length) k.small(this.addressPart(sourceIps, sourceIpId, rec, SOURCE), sourceIps.range);
    const remoteIps = view.remoteIps;
    if (remoteIps !== null && remoteIps.fields.length) k.small(this.addressPart(remoteIps, remoteKey, rec, REMOTE), remoteIps.range);
    const destinationIps = view.destinationIps;
    if (destinationIps !== null && destinationIps.fields.length) k.small(this.addressPart(destinationIps, row[CALL_ID.destinationIp]!, rec, DESTINATION), destinationIps.range);
    return k.slot();
  }

  /** The call under `rec`, reset once per slot and only when a part is computed. */
  private callFor(rec: AccessRecord): Call {
    if (this.callOf !== rec) {
      this.call.reset(rec, true);
      this.callOf = rec;
    }
    return this.call;
  }

  private lowerMethod(methodId: number, rec: AccessRecord): boolean {
    let lower = this.lowerMethods.get(methodId);
    if (lower === undefined) {
      const method = rec.request?.method;
      this.lowerMethods.set(methodId, (lower = typeof method === 'string' && hasLowerCase(method)));
    }
    return lower;
  }

  /** 1 when the peer is the destination's waypoint itself, else 0. */
  private waypointPart(view: View, id: number, rec: AccessRecord): number {
    let part = view.waypointPeers.get(id);
    if (part === undefined) view.waypointPeers.set(id, (part = view.fromWaypoint!(rec.source!.principal!) ? 1 : 0));
    return part;
  }

  /** 2 + which tests match the peer identity (`spiffe://` removed, as `decide` does). */
  private peerPart(tests: Tests, id: number, rec: AccessRecord): number {
    let part = tests.memo.get(id);
    if (part !== undefined) return part;
    const principal = rec.source!.principal!;
    const peer = withoutSpiffe(principal);
    part = 2;
    for (let i = 0; i < tests.fields.length; i++) if (tests.fields[i]!.matchesPeer(peer)) part += 1 << i;
    tests.memo.set(id, part);
    return part;
  }

  /** 2 + which tests match the method or the host (lower-cased). */
  private textPart(tests: Tests, id: number, rec: AccessRecord, what: typeof METHOD | typeof HOST): number {
    let part = tests.memo.get(id);
    if (part !== undefined) return part;
    const text = what === METHOD ? this.callFor(rec).method()! : rec.request!.host!.toLowerCase();
    part = 2;
    for (let i = 0; i < tests.fields.length; i++) if (tests.fields[i]!.matchesText(text)) part += 1 << i;
    tests.memo.set(id, part);
    return part;
  }

  /** 0 when the header is absent, 1 when the log does not record it, else 2 + which tests match its value; by header-set id. */
  private headerPart(tests: Tests, name: string, headersId: number, rec: AccessRecord): number {
    let part = tests.memo.get(headersId);
    if (part !== undefined) return part;
    const value = this.callFor(rec).header(name);
    part = value === null ? 0 : value === undefined ? 1 : 2;
    if (part === 2) for (let i = 0; i < tests.fields.length; i++) if (tests.fields[i]!.matchesText(value!)) part += 1 << i;
    tests.memo.set(headersId, part);
    return part;
  }

  private portPart(tests: Tests, id: number, rec: AccessRecord): number {
    let part = tests.memo.get(id);
    if (part !== undefined) return part;
    const port = rec.destination!.port!;
    part = 2;
    for (let i = 0; i < tests.fields.length; i++) if (tests.fields[i]!.matchesPort(port)) part += 1 << i;
    tests.memo.set(id, part);
    return part;
  }

  /** 1 when the proxy rejects the path before authorization (%00), else 2 + which tests match the normalized path. */
  private pathPart(tests: Tests, id: number, rec: AccessRecord): number {
    let part = tests.memo.get(id);
    if (part !== undefined) return part;
    const path = this.callFor(rec).normalizedPath();
    part = path === undefined ? 1 : 2;
    if (path !== undefined) for (let i = 0; i < tests.fields.length; i++) if (tests.fields[i]!.matchesPath(path)) part += 1 << i;
    tests.memo.set(id, part);
    return part;
  }

  /** 0 when not recorded, 1 when unreadable, else 2 + which tests contain the address. */
  private addressPart(tests: Tests, id: number, rec: AccessRecord, which: number): number {
    if (id === UNDEFINED_ID) return 0;
    let part = tests.memo.get(id);
    if (part !== undefined) return part;
    const source = rec.source;
    const ip = which === SOURCE ? source?.ip : which === REMOTE ? source?.remoteIp ?? source?.ip : rec.destination?.ip;
    const family = ip === undefined ? 0 : parseIpInto(ip, ADDRESS, true);
    part = ip === undefined ? 0 : family === 0 ? 1 : 2;
    if (family !== 0) for (let i = 0; i < tests.fields.length; i++) if (tests.fields[i]!.matchesAddress(family, ADDRESS)) part += 1 << i;
    tests.memo.set(id, part);
    return part;
  }

/** The view of `rec`'s destination: found by namespace, workload, Service and equal labels. */
  private viewOf(rec: AccessRecord): View {
    const dst = rec.destination;
    const ns = dst?.namespace;
    const workload = dst?.workload;
    const service = dst?.service;
    const labels = dst?.labels;
    let byWorkload = this.views.get(ns);
    if (!byWorkload) this.views.set(ns, (byWorkload = new Map()));
    let byService = byWorkload.get(workload);
    if (!byService) byWorkload.set(workload, (byService = new Map()));
    let entries = byService.get(service);
    if (!entries) byService.set(service, (entries = []));
    for (let i = 0; i < entries.length; i++) {
      const entry = entries[i]!;
      if (sameLabels(entry.labels, labels)) return entry.view;
    }
    const view = this.buildView(rec);
    entries.push({ labels, view });
    return view;
  }

  private buildView(rec: AccessRecord): View {
    const { fields, requestAuthentication, portLevelMtls, fromWaypoint } = this.policies.destinationReads(rec);
    const of = (read: ReturnType<Field['reads']>): Field[] => fields.filter((f) => f.reads() === read);
    const capped = (list: Field[]): Tests | null => (list.length > MAX_BITS ? null : new Tests(list));
    const headerFields = of('header');
    const names = [...new Set(headerFields.map((f) => f.key))];
    return {
      root: new Map(),
      peer: capped(of('peer')),
      // A `:method` condition reads the method as a method test does.
      methods: capped([...of('method'), ...headerFields.filter((f) => f.key === ':method')]),
      ports: capped(of('port')),
      rawPort: portLevelMtls,
      paths: capped(of('path')),
      rawPath: names.includes(':path'),
      hosts: capped(of('host')),
      rawHost: names.includes('host') || names.includes(':authority'),
      headers: names.filter((n) => n !== ':path' && n !== 'host' && n !== ':authority' && n !== ':method').map((name) => ({ name, tests: capped(headerFields.filter((f) => f.key === name)) })),
      sourceIps: capped(of('source.ip')),
      remoteIps: capped(of('remote.ip')),
      destinationIps: capped(of('destination.ip')),
      sni: fields.some((f) => f.reads() === 'sni'),
      jwt: requestAuthentication,
      fromWaypoint,
      waypointPeers: new Map(),
    };
  }
}

/** A gRPC call's method when none is recorded (POST): remembered apart from the absent method's id. */
const GRPC_METHOD = -1 - 2 ** 31;
const METHOD = 0;
const HOST = 1;
const SOURCE = 0;
const REMOTE = 1;
const DESTINATION = 2;

const ADDRESS = new Uint32Array(4);

function sameLabels(a: Record<string, string> | undefined, b: Record<string, string> | undefined): boolean {
  if (a === b) return true;
  if (a === undefined || b === undefined) return false;
  let count = 0;
  for (const key in a) {
    if (b[key] !== a[key] || !Object.prototype.hasOwnProperty.call(b, key)) return false;
    count++;
  }
  for (const key in b) if (Object.prototype.hasOwnProperty.call(b, key)) count--;
  return count === 0;
}

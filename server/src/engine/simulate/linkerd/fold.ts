import type { AccessRecord } from '../../traffic/accessRecord';
import { CALL_ID, UNDEFINED_ID } from '../../traffic/callIds';
import { CallRows, FoldKey } from '../fold';
import type { CallFold, FoldSlot } from '../types';
import type { Authz } from './authz';
import { callPrincipal, callProto, protocolWorlds, type CallView, type Inbound, type LinkerdPolicies } from './evaluate';
import { networkClass, NO_CLASS, readsClientIp } from './memo';
import type { PodView } from './pod';
import { fillRequestView, selectRoute, type RequestView, type RouteC, type RuleC } from './routes';

/**
 * Linkerd's fold (`CompiledPolicies.fold`): the calls of one list by what `decide` reads of them.
 *
 * Past the destination pod and port, `decide` (non-verbose) follows one inbound server; as a
 * connection it reads only the client identity and, where the authorizations read it, which of
 * their networks hold the client IP; as HTTP it reads the request only to select a route rule,
 * then the identity and network class against that route's authorizations (`memo.ts`). So the
 * slots are: per inbound server (pods with the same policy-relevant projection share it), per
 * route rule selected (a rule's selection is remembered by the ids of the request attributes the
 * server's routes read: method, path with query, host, headers), per identity, and per network
 * class only for identities whose evaluation reads the IP. Everything else (no known pod, an
 * uninjected pod, a port without a recorded value, several candidate Servers or protocols, a
 * route that only might match) is keyed by every attribute `decide` may read, so it stays exact.
 *
 * A call is read as its row of value ids (`CallRows`); the record only on first sight of a value.
 */
export class LinkerdFold implements CallFold {
  private readonly rows = new CallRows();
  /** By destination id, then destination IP id (what finds the pod). */
  private readonly destinations = new Map<number, Map<number, PodEntry>>();
  /** One per compiled pod view: destinations that find the same pod share it. */
  private readonly pods = new Map<PodView, PodEntry>();
  private readonly inbound = new Map<Inbound, InboundNode>();
  /** Per protocol id: TCP, gRPC, HTTP or neither (`callProto` of the recorded protocol alone). */
  private readonly protocols = new Map<number, Proto>();
  private readonly noPod: PodEntry = { pod: undefined, only: { decision: undefined }, ports: new Map(), general: new Map() };
  private readonly key = new FoldKey();
  private readonly request = fillRequestView({} as RequestView, undefined);

  constructor(private readonly policies: LinkerdPolicies) {}

  slot(rec: AccessRecord, given?: Int32Array): FoldSlot | undefined {
    const row = this.rows.of(rec, given);
    const destinationId = row[CALL_ID.destination]!;
    let byIp = this.destinations.get(destinationId);
    if (byIp === undefined) this.destinations.set(destinationId, (byIp = new Map()));
    const destinationIpId = row[CALL_ID.destinationIp]!;
    let entry = byIp.get(destinationIpId);
    if (entry === undefined) byIp.set(destinationIpId, (entry = this.podEntry(rec)));
    if (entry.only !== undefined) return entry.only;
    const portId = row[CALL_ID.port]!;
    let node = entry.ports.get(portId);
    if (node === undefined) entry.ports.set(portId, (node = this.inboundNode(entry.pod!, rec)));
    if (node !== null) {
      const methodOrPath = row[CALL_ID.method] !== UNDEFINED_ID || row[CALL_ID.path] !== UNDEFINED_ID;
      const proto = this.proto(row[CALL_ID.protocol]!, rec, methodOrPath);
      const worlds = protocolWorlds(node.ib.protocol, proto);
      if (worlds.length === 1) {
        if (worlds[0] === 'conn') return this.authorized((node.conn ??= newRuleNode(node.ib.authzs)), row, rec);
        const selected = this.selected(node, row, rec);
        if (selected !== MAYBE) {
          const grpcCall = proto === 'grpc' || node.grpcRoutes;
          if (selected === NOT_FOUND) return grpcCall ? node.notFoundGrpc : node.notFound;
          return this.authorized(grpcCall ? (selected.grpc ??= newRuleNode(selected.authzs)) : (selected.http ??= newRuleNode(selected.authzs)), row, rec);
        }
      }
    }
    return this.general(entry, row, rec);
  }

  private podEntry(rec: AccessRecord): PodEntry {
    const pod = this.policies.podFor(rec);
    if (pod === undefined) return this.noPod;
    let entry = this.pods.get(pod);
    if (entry === undefined) {
      entry = { pod, only: pod.injectDisabled ? { decision: undefined } : undefined, ports: new Map(), general: new Map() };
      this.pods.set(pod, entry);
    }
    return entry;
  }

  /** The one inbound server of the call's port, or null when `decide` weighs several possibilities (or none: a skipped port). */
  private inboundNode(pod: PodView, rec: AccessRecord): InboundNode | null {
    const port = rec.destination?.port;
    if (port === undefined || pod.skipPorts.has(port)) return null;
    const worlds = this.policies.portWorlds(pod, port).worlds;
    if (worlds.length !== 1) return null;
    const ib = worlds[0]!;
    let node = this.inbound.get(ib);
    if (node === undefined) this.inbound.set(ib, (node = newInboundNode(ib)));
    return node;
  }

  private proto(protocolId: number, rec: AccessRecord, methodOrPath: boolean): CallView['proto'] {
    let recorded = this.protocols.get(protocolId);
    if (recorded === undefined) this.protocols.set(protocolId, (recorded = callProto(rec.protocol, false) ?? NEITHER));
    return recorded === NEITHER ? (methodOrPath ? 'http' : undefined) : recorded;
  }

  /** The route rule the request selects on the inbound server, by the ids of what its routes read. */
  private selected(node: InboundNode, row: Int32Array, rec: AccessRecord): Selected {
    let level = node.selections;
    if (node.reads & READS_METHOD) level = child(level, row[CALL_ID.method]!);
    if (node.reads & READS_PATH) level = child(level, row[CALL_ID.path]!);
    if (node.reads & READS_HOST) level = child(level, row[CALL_ID.host]!);
    let last = 0;
    if (node.reads & READS_HEADERS) {
      level = child(level, row[CALL_ID.headers]!);
      last = rec.request === undefined ? 0 : 1;
    }
    let selected = level.get(last) as Selected | undefined;
    if (selected === undefined) level.set(last, (selected = this.select(node, rec)));
    return selected;
  }

  private select(node: InboundNode, rec: AccessRecord): Selected {
    const selection = selectRoute(node.routes, fillRequestView(this.request, rec.request), node.grpcRoutes);
    if (selection.maybes.length) return MAYBE;
    const best = selection.best;
    if (best === undefined) return NOT_FOUND;
    let rule = node.rules.get(best.rule);
    if (rule === undefined) node.rules.set(best.rule, (rule = { authzs: best.route.authzs, http: undefined, grpc: undefined }));
    return rule;
  }

  /** The slot by identity, and by network class when that identity's evaluation reads the client IP. */
  private authorized(node: RuleNode, row: Int32Array, rec: AccessRecord): FoldSlot {
    const principalId = row[CALL_ID.principal]!;
    let byPrincipal = node.byPrincipal.get(principalId);
    if (byPrincipal === undefined) {
      byPrincipal = { readsIp: readsClientIp(node.authzs, callPrincipal(rec)), slot: { decision: undefined }, byClass: undefined };
      node.byPrincipal.set(principalId, byPrincipal);
    }
    if (!byPrincipal.readsIp) return byPrincipal.slot;
    const ipId = row[CALL_ID.sourceIp]!;
    let cls = node.classes.get(ipId);
    if (cls === undefined) {
      cls = networkClass(node.authzs, { ipText: rec.source?.ip, ip: undefined, ipParsed: false });
      // Too many networks to count: the address itself, apart from every class (below 2^30).
      if (cls === NO_CLASS) cls = 2 ** 32 + ipId;
      node.classes.set(ipId, cls);
    }
    const byClass = (byPrincipal.byClass ??= new Map());
    let slot = byClass.get(cls);
    if (slot === undefined) byClass.set(cls, (slot = { decision: undefined }));
    return slot;
  }

  /** Every attribute `decide` may read past the pod: port, protocol, identity, client IP and the request. */
  private general(entry: PodEntry, row: Int32Array, rec: AccessRecord): FoldSlot {
    const k = this.key;
    k.start(entry.general);
    k.value(row[CALL_ID.port]);
    k.value(row[CALL_ID.protocol]);
    k.value(row[CALL_ID.principal]);
    k.value(row[CALL_ID.sourceIp]);
    k.value(row[CALL_ID.method]);
    k.value(row[CALL_ID.path]);
    k.value(row[CALL_ID.host]);
    k.value(row[CALL_ID.headers]);
    k.small(rec.request === undefined ? 0 : 1, 2);
    return k.slot();
  }
}

interface PodEntry {
  pod: PodView | undefined;
  /** The one slot of every call to it, when `decide` reads nothing more (no pod known, no proxy). */
  only: FoldSlot | undefined;
  /** By port id: the port's one inbound server, or null when the call is keyed by everything. */
  ports: Map<number, InboundNode | null>;
  general: Map<unknown, unknown>;
}

interface InboundNode {
  ib: Inbound;
  /** The server's routes are gRPC routes (a Server with proxyProtocol gRPC). */
  grpcRoutes: boolean;
  routes: RouteC[];
  /** Which request attributes the routes read (`READS_*` bits). */
  reads: number;
  /** Nested by the ids of the attributes read, then whether a request is recorded. */
  selections: Map<number, unknown>;
  rules: Map<RuleC, RuleSelected>;
  conn: RuleNode | undefined;
  notFound: FoldSlot;
  notFoundGrpc: FoldSlot;
}

interface RuleSelected {
  authzs: readonly Authz[];
  /** The slots of HTTP calls and of gRPC calls (their answers differ). */
  http: RuleNode | undefined;
  grpc: RuleNode | undefined;
}

type Selected = RuleSelected | typeof MAYBE | typeof NOT_FOUND;

interface RuleNode {
  authzs: readonly Authz[];
  byPrincipal: Map<number, { readsIp: boolean; slot: FoldSlot; byClass: Map<number, FoldSlot> | undefined }>;
  /** Network class per client IP id. */
  classes: Map<number, number>;
}

/** A route only might match (an attribute is not recorded): keyed by everything. */
const MAYBE = 0;
/** No route matches: the server's 404 (or gRPC NOT_FOUND). */
const NOT_FOUND = 1;
const NEITHER = 'neither';
type Proto = NonNullable<CallView['proto']> | typeof NEITHER;

const READS_METHOD = 1;
const READS_PATH = 2;
const READS_HOST = 4;
const READS_HEADERS = 8;

function newInboundNode(ib: Inbound): InboundNode {
  const grpcRoutes = ib.protocol === 'grpc';
  const routes = grpcRoutes ? ib.grpc : ib.http;
  return {
    ib, grpcRoutes, routes, reads: routeReads(routes, grpcRoutes), selections: new Map(), rules: new Map(),
    conn: undefined, notFound: { decision: undefined }, notFoundGrpc: { decision: undefined },
  };
}

function newRuleNode(authzs: readonly Authz[]): RuleNode {
  return { authzs, byPrincipal: new Map(), classes: new Map() };
}

/** What `selectRoute` reads of a request for these routes (`routes.ts`: `matchHttp`, `matchGrpc`, hostnames). */
function routeReads(routes: readonly RouteC[], grpc: boolean): number {
  let reads = 0;
  for (const route of routes) {
    if (route.hostnames.length) reads |= READS_HOST;
    for (const rule of route.rules) {
      for (const m of rule.matches) {
        if (grpc) reads |= READS_METHOD | READS_PATH;
        else {
          if (m.method !== undefined) reads |= READS_METHOD;
          if (m.path !== undefined || m.query.length) reads |= READS_PATH;
        }
        if (m.headers.length) reads |= READS_HEADERS;
      }
    }
  }
  return reads;
}

function child(node: Map<number, unknown>, key: number): Map<number, unknown> {
  let next = node.get(key) as Map<number, unknown> | undefined;
  if (next === undefined) node.set(key, (next = new Map()));
  return next;
}

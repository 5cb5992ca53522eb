import type { AccessRecord } from '../../traffic/accessRecord';
import { CALL_ID, UNDEFINED_ID } from '../../traffic/callIds';
import { CallRows, childMap, FoldKey } from '../fold';
import type { CallFold, FoldSlot } from '../types';
import { checkAuthn, type Authz } from './authz';
import { callPrincipal, callProto, protocolWorlds, type CallView, type Inbound, type LinkerdPolicies } from './evaluate';
import { networkClass, NO_CLASS, readsClientIp } from './memo';
import type { HttpMatchDef } from './model';
import type { PodView } from './pod';
import { fillRequestView, hostKey, lastMatchMissing, matchGrpc, matchHttp, requestHost, selectRoute, type RequestView, type RouteC, type RuleC } from './routes';

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
  /** Per authorization list: how it classes identities and client IPs. */
  private readonly lists = new Map<readonly Authz[], AuthzClasses>();
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
        if (worlds[0] === 'conn') return this.authorized((node.conn ??= this.ruleNode(node.ib.authzs)), row, rec);
        const selected = this.selected(node, row, rec);
        if (selected !== MAYBE) {
          const grpcCall = proto === 'grpc' || node.grpcRoutes;
          if (selected === NOT_FOUND) return grpcCall ? node.notFoundGrpc : node.notFound;
          return this.authorized(grpcCall ? (selected.grpc ??= this.ruleNode(selected.authzs)) : (selected.http ??= this.ruleNode(selected.authzs)), row, rec);
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
    if (recorded === undefined) this.protocols.set(protocolId, (recorded = callProto(rec.protocol, undefined) ?? NEITHER));
    return recorded === NEITHER ? (methodOrPath ? 'http' : undefined) : recorded;
  }

  /** The route rule the request selects on the inbound server, by the classes of the values its routes read. */
  private selected(node: InboundNode, row: Int32Array, rec: AccessRecord): Selected {
    let level = node.selections;
    let request: RequestView | undefined;
    const { method, path, host, headers } = node;
    if (method !== undefined) {
      const id = row[CALL_ID.method]!;
      let cls = method.byId.get(id);
      if (cls === undefined) cls = method.learn(id, (request ??= fillRequestView(this.request, rec.request)));
      level = childMap(level, cls);
    }
    if (path !== undefined) {
      const id = row[CALL_ID.path]!;
      let cls = path.byId.get(id);
      if (cls === undefined) cls = path.learn(id, (request ??= fillRequestView(this.request, rec.request)));
      level = childMap(level, cls);
    }
    if (host !== undefined) {
      const id = row[CALL_ID.host]!;
      let cls = host.byId.get(id);
      if (cls === undefined) cls = host.learn(id, (request ??= fillRequestView(this.request, rec.request)));
      level = childMap(level, cls);
    }
    let last = 0;
    if (headers !== undefined) {
      // Absent headers of a recorded request and no request at all differ (`hasRequest`).
      let id = row[CALL_ID.headers]!;
      if (id === UNDEFINED_ID && rec.request === undefined) id = NO_REQUEST;
      let cls = headers.byId.get(id);
      if (cls === undefined) cls = headers.learn(id, (request ??= fillRequestView(this.request, rec.request)));
      last = cls;
    }
    let selected = level.get(last) as Selected | undefined;
    if (selected === undefined) level.set(last, (selected = this.select(node, request ?? fillRequestView(this.request, rec.request))));
    return selected;
  }

  private select(node: InboundNode, request: RequestView): Selected {
    const selection = selectRoute(node.routes, request, node.grpcRoutes);
    if (selection.maybes.length) return MAYBE;
    const best = selection.best;
    if (best === undefined) return NOT_FOUND;
    let rule = node.rules.get(best.rule);
    if (rule === undefined) node.rules.set(best.rule, (rule = { authzs: best.route.authzs, http: undefined, grpc: undefined }));
    return rule;
  }

  /** The slots of one decision point over an authorization list (the list's classes are shared by every point that tries it). */
  private ruleNode(authzs: readonly Authz[]): RuleNode {
    let list = this.lists.get(authzs);
    if (list === undefined) this.lists.set(authzs, (list = new AuthzClasses(authzs)));
    return { list, byIdentity: new Map() };
  }

  /** The slot by the identity's class, and by network class when that class's evaluation reads the client IP. */
  private authorized(node: RuleNode, row: Int32Array, rec: AccessRecord): FoldSlot {
    const list = node.list;
    const principalId = row[CALL_ID.principal]!;
    let identity = list.identities.get(principalId);
    if (identity === undefined) identity = list.learnIdentity(principalId, callPrincipal(rec));
    let slots = node.byIdentity.get(identity.cls);
    if (slots === undefined) node.byIdentity.set(identity.cls, (slots = { slot: { decision: undefined }, byNetwork: undefined }));
    if (!identity.readsIp) return slots.slot;
    const ipId = row[CALL_ID.sourceIp]!;
    let cls = list.networks.get(ipId);
    if (cls === undefined) {
      cls = networkClass(list.authzs, { ipText: rec.source?.ip, ip: undefined, ipParsed: false, notLoopback: rec.source?.notLoopback === true });
      // Too many networks to count: the address itself, apart from every class (below 2^30).
      if (cls === NO_CLASS) cls = 2 ** 32 + ipId;
      list.networks.set(ipId, cls);
    }
    const byNetwork = (slots.byNetwork ??= new Map());
    let slot = byNetwork.get(cls);
    if (slot === undefined) byNetwork.set(cls, (slot = { decision: undefined }));
    return slot;
  }

  /** Every attribute `decide` may read past the pod: port, protocol, identity, client IP and the request. */
  private general(entry: PodEntry, row: Int32Array, rec: AccessRecord): FoldSlot {
    const k = this.key;
    k.start(entry.general);
    k.ids(row, GENERAL);
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
  /** The request attributes the routes read (undefined: not read), by the class of each value. */
  method: ValueClasses | undefined;
  path: ValueClasses | undefined;
  host: ValueClasses | undefined;
  headers: ValueClasses | undefined;
  /** Nested by the classes of the attributes read. */
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

/** A decision point (an inbound server's connection, or a route rule for HTTP or gRPC calls): its slots by identity class, then network class. */
interface RuleNode {
  list: AuthzClasses;
  byIdentity: Map<number, { slot: FoldSlot; byNetwork: Map<number, FoldSlot> | undefined }>;
}

/**
 * An authorization list as `decide` tries it (`authz.ts` `checkAuthz`, in order): what it makes
 * of a client is the identity's result against each authorization (`checkAuthn`), whether the
 * client has an identity at all (the localhost authorization tells a meshed client without a
 * recorded IP from a plaintext one), and, where a network does not cover every address, which
 * networks hold the client IP. Identities with the same results are one class: their calls get
 * equal decisions at every point that tries the list.
 */
class AuthzClasses {
  readonly identities = new Map<number, { cls: number; readsIp: boolean }>();
  /** Network class per client IP id. */
  readonly networks = new Map<number, number>();
  private readonly classes = new Map<string, number>();

  constructor(readonly authzs: readonly Authz[]) {}

  learnIdentity(principalId: number, principal: string | undefined): { cls: number; readsIp: boolean } {
    let text = principal === undefined ? 'plaintext' : 'identity';
    for (const a of this.authzs) text += `,${checkAuthn(a, principal)}`;
    let cls = this.classes.get(text);
    if (cls === undefined) this.classes.set(text, (cls = this.classes.size));
    const identity = { cls, readsIp: readsClientIp(this.authzs, principal) };
    this.identities.set(principalId, identity);
    return identity;
  }
}

/** Every attribute `decide` may read past the pod, as row columns. */
const GENERAL = [CALL_ID.port, CALL_ID.protocol, CALL_ID.principal, CALL_ID.sourceIp, CALL_ID.method, CALL_ID.path, CALL_ID.host, CALL_ID.headers];

/** A route only might match (an attribute is not recorded): keyed by everything. */
const MAYBE = 0;
/** No route matches: the server's 404 (or gRPC NOT_FOUND). */
const NOT_FOUND = 1;
const NEITHER = 'neither';
type Proto = NonNullable<CallView['proto']> | typeof NEITHER;

/** The key of a call without a request, apart from every header-set id (ids are 32-bit integers). */
const NO_REQUEST = 2 ** 32;

/**
 * One request attribute as an inbound server's routes read it: values that every test of it
 * (each route match restricted to that attribute: its result and what it found not recorded)
 * treats alike are one class, so that the route selected is found by a few class numbers.
 * `matchHttp` and `matchGrpc` combine the attributes' parts independently (a part fails the
 * match, or adds what it found missing and its fixed share of the summary), so the classes of
 * the attributes read determine the selection.
 */
class ValueClasses {
  /** By value id (the row's). */
  readonly byId = new Map<number, number>();
  private readonly classes = new Map<string, number>();

  constructor(private readonly describe: (request: RequestView) => string) {}

  learn(id: number, request: RequestView): number {
    const text = this.describe(request);
    let cls = this.classes.get(text);
    if (cls === undefined) this.classes.set(text, (cls = this.classes.size));
    this.byId.set(id, cls);
    return cls;
  }
}

function newInboundNode(ib: Inbound): InboundNode {
  const grpcRoutes = ib.protocol === 'grpc';
  const routes = grpcRoutes ? ib.grpc : ib.http;
  const matches = routes.flatMap((route) => route.rules.flatMap((rule) => rule.matches));
  const only = (keep: (m: HttpMatchDef) => boolean, part: (m: HttpMatchDef) => HttpMatchDef): HttpMatchDef[] => matches.filter(keep).map(part);
  const results = (tests: HttpMatchDef[], match: (m: HttpMatchDef, request: RequestView) => number) => (request: RequestView): string =>
    tests.map((m) => `${match(m, request)}${lastMatchMissing() ? '?' : ''}`).join();
  const noMethod = { method: undefined };
  const noPath = { path: undefined, query: [] };
  const noHeaders = { headers: [] };
  let method: ValueClasses | undefined;
  let path: ValueClasses | undefined;
  if (grpcRoutes) {
    // A GRPCRoute match reads the method (POST) and the path together: the path part is its
    // result for a POST, the method part whether it is POST.
    if (matches.length) {
      method = new ValueClasses((request) => (request.method === undefined ? 'none' : request.method === 'POST' ? 'POST' : 'other'));
      const tests = only(() => true, (m) => ({ ...m, ...noHeaders }));
      const post = fillRequestView({} as RequestView, undefined);
      path = new ValueClasses((request) => {
        post.method = 'POST';
        post.path = request.path;
        return results(tests, matchGrpc)(post);
      });
    }
  } else {
    const methods = only((m) => m.method !== undefined, (m) => ({ ...m, ...noPath, ...noHeaders }));
    const paths = only((m) => m.path !== undefined || m.query.length > 0, (m) => ({ ...m, ...noMethod, ...noHeaders }));
    if (methods.length) method = new ValueClasses(results(methods, matchHttp));
    if (paths.length) path = new ValueClasses(results(paths, matchHttp));
  }
  // Header matches are read alike by both (`matchHttp` on the headers alone).
  const headerTests = only((m) => m.headers.length > 0, (m) => ({ ...m, ...noMethod, ...noPath }));
  const named = routes.filter((route) => route.hostnames.length > 0);
  return {
    ib, grpcRoutes, routes, method, path,
    host: named.length ? new ValueClasses(hostsRead(named)) : undefined,
    headers: headerTests.length ? new ValueClasses(results(headerTests, matchHttp)) : undefined,
    selections: new Map(), rules: new Map(), conn: undefined, notFound: { decision: undefined }, notFoundGrpc: { decision: undefined },
  };
}

/** What the routes that name hostnames make of the request's host: per route, the best host match part. */
function hostsRead(routes: readonly RouteC[]): (request: RequestView) => string {
  return (request) => {
    const host = requestHost(request);
    if (host === undefined) return 'none';
    return routes.map((route) => Math.max(-1, ...route.hostnames.map((h) => hostKey(h, host)))).join();
  };
}

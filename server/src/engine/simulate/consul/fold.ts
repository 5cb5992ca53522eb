import type { AccessRecord } from '../../traffic/accessRecord';
import { CALL_ID, NULL_ID, UNDEFINED_ID } from '../../traffic/callIds';
import { CallRows, FoldKey } from '../fold';
import type { CallFold, FoldSlot } from '../types';
import { normalizePath, underscoreRejection, type ConsulFoldPlan, type ConsulPolicies, type ConsulRequestReads, type NormalizedPath } from './compile';
import type { Criterion, RequestView } from './http';

/**
 * Consul's fold (`CompiledPolicies.fold`): the calls of one list by what `decide` reads of them.
 *
 * Past the destination (its namespace and Service), `decide` reads the caller (the principal, or
 * without one the source service and, with Enterprise namespaces, its namespace; trace texts
 * name it, so it is kept whole) and the protocol class (TCP, gRPC, other HTTP, or neither said).
 * Those give the plan (`ConsulPolicies.foldPlan`): nothing more (a plaintext caller, TCP, a
 * destination whose configuration Envoy rejects, HTTP where nothing reads the request), the
 * request of the one scenario of an HTTP call, or, when the record or configuration leave
 * alternatives open, every attribute `decide` may read, kept whole.
 *
 * Of a request, `decide` reads the method, path, authority and headers only through the L7
 * permission criteria of the destination's intentions (each true, false or not answerable), and
 * the path and headers also through the proxy's normalization (a rewrite note in the trace, a
 * 400). So per attribute the fold keeps a class: values whose every criterion result (and note,
 * and 400) are the same are one class, remembered by value id. A token is kept whole where an
 * intention has a JWT requirement.
 *
 * A call is read as its row of value ids (`CallRows`); the record on first sight of a value, and
 * for the source service and namespace of calls without a principal (not in the row).
 */
export class ConsulFold implements CallFold {
  private readonly rows = new CallRows();
  private readonly key = new FoldKey();
  /** By destination id. */
  private readonly destinations = new Map<number, Destination>();
  /** Per protocol id: its class, or UNSAID (then the method and path decide HTTP or EITHER). */
  private readonly protocols = new Map<number, number>();
  private readonly requests = new Map<ConsulRequestReads, RequestClasses>();
  /** Class parts past the packed range, read as whole values after the packed ones. */
  private readonly overflow: number[] = [];
  /** Enterprise namespaces: a caller without a principal is its source service in its namespace. */
  private readonly enterprise: boolean;

  constructor(private readonly policies: ConsulPolicies) {
    this.enterprise = policies.usesNamespaces;
  }

  slot(rec: AccessRecord, given?: Int32Array): FoldSlot | undefined {
    const row = this.rows.of(rec, given);
    const destinationId = row[CALL_ID.destination]!;
    let destination = this.destinations.get(destinationId);
    if (destination === undefined) this.destinations.set(destinationId, (destination = { byPrincipal: new Map(), byService: new Map() }));
    const caller = this.callerOf(destination, row, rec);
    const protocolId = row[CALL_ID.protocol]!;
    let protocol = this.protocols.get(protocolId);
    if (protocol === undefined) this.protocols.set(protocolId, (protocol = protocolClass(rec.protocol)));
    if (protocol === UNSAID) protocol = row[CALL_ID.method] !== UNDEFINED_ID || row[CALL_ID.path] !== UNDEFINED_ID ? HTTP : EITHER;
    let point = caller[protocol];
    if (point === undefined) caller[protocol] = point = this.pointOf(this.policies.foldPlan(rec));
    if (point.slot !== undefined) return point.slot;
    const classes = point.classes;
    if (classes === undefined) return this.everything(point.root, row);
    return this.request(point.root, classes, row, rec, protocol === GRPC);
  }

  /** The caller's protocol points, by what `callerOf` in `compile.ts` reads. */
  private callerOf(destination: Destination, row: Int32Array, rec: AccessRecord): Caller {
    const principalId = row[CALL_ID.principal]!;
    if (principalId !== UNDEFINED_ID) {
      let caller = destination.byPrincipal.get(principalId);
      if (caller === undefined) destination.byPrincipal.set(principalId, (caller = newCaller()));
      return caller;
    }
    const source = rec.source;
    const service = source?.service;
    let byNamespace = destination.byService.get(service);
    if (byNamespace === undefined) destination.byService.set(service, (byNamespace = new Map()));
    const namespace = this.enterprise && service ? source!.namespace : undefined;
    let caller = byNamespace.get(namespace);
    if (caller === undefined) byNamespace.set(namespace, (caller = newCaller()));
    return caller;
  }

  private pointOf(plan: ConsulFoldPlan): Point {
    if (plan.reads === 'nothing') return { slot: { decision: undefined }, root: new Map(), classes: undefined };
    if (plan.reads === 'everything') return { slot: undefined, root: new Map(), classes: undefined };
    let classes = this.requests.get(plan.request);
    if (classes === undefined) this.requests.set(plan.request, (classes = new RequestClasses(plan.request)));
    return { slot: undefined, root: new Map(), classes };
  }

  /** Every attribute `decide` may read past the destination and caller, whole. */
  private everything(root: Map<unknown, unknown>, row: Int32Array): FoldSlot {
    const k = this.key;
    k.start(root);
    k.ids(row, EVERYTHING);
    return k.slot();
  }

  /** The request by the class of each attribute the destination's criteria and normalization read. */
  private request(root: Map<unknown, unknown>, classes: RequestClasses, row: Int32Array, rec: AccessRecord, grpc: boolean): FoldSlot {
    const k = this.key;
    const overflow = this.overflow;
    overflow.length = 0;
    k.start(root);
    const methods = classes.methods;
    if (methods !== undefined) {
      const id = row[CALL_ID.method]!;
      // A gRPC call without a method is POST (`prepare`): remembered apart from the absent method.
      const key = grpc && (id === UNDEFINED_ID || id === NULL_ID) ? GRPC_METHOD : id;
      let cls = methods.byId.get(key);
      if (cls === undefined) cls = methods.learn(key, classes.methodText(rec));
      this.part(cls);
    }
    const pathId = row[CALL_ID.path]!;
    let pathClass = classes.paths.byId.get(pathId);
    if (pathClass === undefined) pathClass = classes.paths.learn(pathId, classes.pathText(rec));
    this.part(pathClass);
    const headers = classes.headers;
    const headersId = row[CALL_ID.headers]!;
    if (headers !== undefined) {
      let cls = headers.byId.get(headersId);
      if (cls === undefined) cls = headers.learn(headersId, classes.headersText(rec));
      this.part(cls);
    }
    const hosts = classes.hosts;
    if (hosts !== undefined) {
      // The authority is the host, else a Host header: read by host and header-set ids together.
      const hostId = row[CALL_ID.host]!;
      let byHeaders = classes.hostsByHeaders.get(hostId);
      if (byHeaders === undefined) classes.hostsByHeaders.set(hostId, (byHeaders = new Map()));
      let cls = byHeaders.get(headersId);
      if (cls === undefined) byHeaders.set(headersId, (cls = hosts.learn(undefined, classes.hostText(rec))));
      this.part(cls);
    }
    for (let i = 0; i < overflow.length; i++) k.value(overflow[i]);
    if (classes.reads.jwt) k.value(row[CALL_ID.jwt]);
    return k.slot();
  }

  /** A class as a packed part; one past the packed range is marked there and kept whole after. */
  private part(cls: number): void {
    if (cls < PACKED_CLASSES - 1) this.key.small(cls, PACKED_CLASSES);
    else {
      this.key.small(PACKED_CLASSES - 1, PACKED_CLASSES);
      this.overflow.push(cls);
    }
  }
}

/** What `decide` may read of a call past its destination and caller (`ConsulPolicies.run`). */
const EVERYTHING = [CALL_ID.protocol, CALL_ID.method, CALL_ID.path, CALL_ID.host, CALL_ID.headers, CALL_ID.jwt];

const TCP = 0;
const GRPC = 1;
const HTTP = 2;
/** No protocol, method or path recorded: the TCP and HTTP listeners are alternatives. */
const EITHER = 3;
const UNSAID = -1;

/** Classes below this are packed into the fold key (three per number: 1024³ = 2^30). */
const PACKED_CLASSES = 1024;

/** A gRPC call's method when none is recorded (POST), apart from every method id. */
const GRPC_METHOD = -1 - 2 ** 31;

/** The protocol as `protocolsOf` and `prepare` read it (anything else said is HTTP). */
function protocolClass(protocol: AccessRecord['protocol']): number {
  return protocol === 'tcp' ? TCP : protocol === 'grpc' ? GRPC : protocol ? HTTP : UNSAID;
}

interface Destination {
  byPrincipal: Map<number, Caller>;
  /** Calls without a principal: by source service, then its namespace (Enterprise only). */
  byService: Map<string | undefined, Map<string | undefined, Caller>>;
}

/** Per protocol class: the caller's point at the destination. */
type Caller = (Point | undefined)[];

function newCaller(): Caller {
  return [undefined, undefined, undefined, undefined];
}

interface Point {
  /** The one slot when the plan reads nothing more. */
  slot: FoldSlot | undefined;
  root: Map<unknown, unknown>;
  /** The request's classes when the plan reads the request; else every attribute is kept whole. */
  classes: RequestClasses | undefined;
}

/** Values of one attribute by the class of what the criteria (and normalization) make of them. */
class AttributeClasses {
  readonly byId = new Map<number, number>();
  private readonly classes = new Map<string, number>();

  learn(id: number | undefined, text: string): number {
    let cls = this.classes.get(text);
    if (cls === undefined) this.classes.set(text, (cls = this.classes.size));
    if (id !== undefined) this.byId.set(id, cls);
    return cls;
  }
}

/** The classes of the request attributes at the destinations sharing one `ConsulRequestReads`. */
class RequestClasses {
  readonly methods: AttributeClasses | undefined;
  readonly paths = new AttributeClasses();
  /** Undefined when nothing reads the headers but the authority. */
  readonly headers: AttributeClasses | undefined;
  readonly hosts: AttributeClasses | undefined;
  /** Host class by host id, then header-set id. */
  readonly hostsByHeaders = new Map<number, Map<number, number>>();
  private readonly view: RequestView = { method: undefined, fullPath: undefined, path: undefined, host: undefined, headers: undefined, recorded: undefined, dropUnderscore: false, lower: undefined, missing: [] };
  private readonly normalized: NormalizedPath = { fullPath: undefined, path: undefined, reject: undefined, note: undefined };
  private readonly dropUnderscore: boolean;

  constructor(readonly reads: ConsulRequestReads) {
    const settings = reads.normalization.settings;
    this.dropUnderscore = settings.headersWithUnderscoresAction === 'DROP_HEADER';
    this.methods = reads.methods.length ? new AttributeClasses() : undefined;
    this.headers = reads.headers.length || settings.headersWithUnderscoresAction === 'REJECT_REQUEST' ? new AttributeClasses() : undefined;
    this.hosts = reads.hosts.length ? new AttributeClasses() : undefined;
  }

  methodText(rec: AccessRecord): string {
    const view = this.clearedView();
    view.method = rec.request?.method ?? (rec.protocol === 'grpc' ? 'POST' : undefined);
    return results(this.reads.methods, view);
  }

  /** The criteria results on the normalized path, and the note or 400 of its normalization. */
  pathText(rec: AccessRecord): string {
    const view = this.clearedView();
    const normalized = normalizePath(rec.request?.path, this.reads.normalization, this.normalized);
    view.fullPath = normalized.fullPath;
    view.path = normalized.path;
    return `${results(this.reads.paths, view)}\u0000${normalized.reject ?? ''}\u0000${normalized.note ?? ''}`;
  }

  /** The criteria results on the headers, and whether a header name gets the request a 400. */
  headersText(rec: AccessRecord): string {
    const view = this.clearedView();
    const headers = rec.request?.headers;
    view.headers = headers;
    view.recorded = rec.request?.recordedHeaders;
    return `${results(this.reads.headers, view)}\u0000${underscoreRejection(headers, this.reads.normalization) ?? ''}`;
  }

  hostText(rec: AccessRecord): string {
    const view = this.clearedView();
    view.host = rec.request?.host;
    view.headers = rec.request?.headers;
    return results(this.reads.hosts, view);
  }

  private clearedView(): RequestView {
    const view = this.view;
    view.method = undefined;
    view.fullPath = undefined;
    view.path = undefined;
    view.host = undefined;
    view.headers = undefined;
    view.recorded = undefined;
    view.dropUnderscore = this.dropUnderscore;
    view.lower = undefined;
    view.missing.length = 0;
    return view;
  }
}

/** Each criterion's result on `view` (F, T or U: a digit each). */
function results(criteria: readonly Criterion[], view: RequestView): string {
  let text = '';
  for (let i = 0; i < criteria.length; i++) text += criteria[i]!.test(view);
  return text;
}

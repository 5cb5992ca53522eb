import type { AccessRecord } from '../../traffic/accessRecord';
import { CALL_ID, UNDEFINED_ID } from '../../traffic/callIds';
import { CallRows, FoldKey } from '../fold';
import type { CallFold, FoldSlot } from '../types';
import type { ConsulFoldPoint, ConsulPolicies, CSource } from './compile';

/**
 * Consul's fold (`CompiledPolicies.fold`): the calls of one list by what `decide` reads of them.
 *
 * A call's caller (principal, or the source service and namespace when no principal is
 * recorded), destination and protocol give, without its request, the point `decide` shares its
 * decision by (`ConsulPolicies.foldPoint`): the intention that alone matches the caller, or the
 * destination's entry for a caller no intention matches, and the listener. Where the request is
 * read (L7 intentions, request normalization that may reject), what it comes to is remembered
 * per L7 intention by the ids of the request's method, path, host and headers (and protocol, for
 * gRPC's implied POST): the permission outcome, or that the call is decided on its own (a path
 * note, a 400, an attribute a permission needs and the record lacks). Calls without a point, or
 * decided on their own, are keyed by every attribute `decide` may read.
 *
 * A call is read as its row of value ids (`CallRows`); the record only on first sight of a value,
 * and for the source service and namespace of calls without a principal.
 */
export class ConsulFold implements CallFold {
  private readonly rows = new CallRows();
  private readonly key = new FoldKey();
  private readonly points = new Map<unknown, unknown>();
  /** Per L7 intention (null: none), request outcomes by the request's ids. */
  private readonly outcomes = new Map<CSource | null, Map<unknown, unknown>>();
  /** Per point owner: slots by outcome and listener. */
  private readonly slots = new Map<object, Map<number, FoldSlot>>();

  constructor(private readonly policies: ConsulPolicies) {}

  slot(rec: AccessRecord, given?: Int32Array): FoldSlot | undefined {
    const row = this.rows.of(rec, given);
    const k = this.key;
    k.start(this.points);
    k.value(row[CALL_ID.destination]);
    const principalId = row[CALL_ID.principal]!;
    k.value(principalId);
    if (principalId === UNDEFINED_ID) {
      // Without a principal the caller is the recorded source service (`callerOf`).
      k.value(rec.source?.service);
      k.value(rec.source?.namespace);
    }
    k.value(row[CALL_ID.protocol]);
    k.small(row[CALL_ID.method] !== UNDEFINED_ID || row[CALL_ID.path] !== UNDEFINED_ID ? 1 : 0, 2);
    const node = k.leaf(() => newPointNode(this.policies.foldPoint(rec)));
    const point = node.point;
    if (point === undefined) return this.general(node, row);
    let outcome = 0;
    if (point.prepares) {
      const l7 = point.l7;
      let root = this.outcomes.get(l7 ?? null);
      if (root === undefined) this.outcomes.set(l7 ?? null, (root = new Map()));
      k.start(root);
      k.ids(row, REQUEST);
      outcome = k.leaf(() => ({ outcome: this.policies.requestOutcome(rec, l7) })).outcome;
      if (outcome < 0) return this.general(node, row);
    }
    let byOutcome = this.slots.get(point.owner);
    if (byOutcome === undefined) this.slots.set(point.owner, (byOutcome = new Map()));
    const at = outcome * 2 + (point.http ? 1 : 0);
    let slot = byOutcome.get(at);
    if (slot === undefined) byOutcome.set(at, (slot = { decision: undefined }));
    return slot;
  }

  /** Past the point's key (destination, caller, protocol): every request attribute `decide` may read. */
  private general(node: PointNode, row: Int32Array): FoldSlot {
    const k = this.key;
    k.start(node.general);
    k.ids(row, GENERAL);
    return k.slot();
  }
}

/** What a request's permission outcome and normalization read (the protocol: gRPC's implied POST). */
const REQUEST = [CALL_ID.protocol, CALL_ID.method, CALL_ID.path, CALL_ID.host, CALL_ID.headers];
const GENERAL = [CALL_ID.method, CALL_ID.path, CALL_ID.host, CALL_ID.headers, CALL_ID.jwt];

interface PointNode {
  point: ConsulFoldPoint | undefined;
  general: Map<unknown, unknown>;
}

function newPointNode(point: ConsulFoldPoint | undefined): PointNode {
  return { point, general: new Map() };
}

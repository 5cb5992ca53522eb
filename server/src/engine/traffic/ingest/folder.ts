import type { LinePeek, LineReader, ParsedLine } from '../readerTypes';
import { keyPartIs, LineKeys, memoKey, type KnownCall, type LineKey } from './lineKeys';
import type { ClientIdentity, Resolver } from './resolve';
import { mix } from '../hash';
import { copyString } from '../../strings';
import { detach, ShapeTable, type FoldedCall } from './shapes';

/**
 * One line on its way to a shape. `file` indexes the pipeline's file (or range) list. A line is
 * either read (`p`), or only peeked at (`q` and its interned key `k`, with its reader to read it
 * when its key is new: from the key with LineReader.readParts, else from the line's `text`; see
 * LineReader.peek). `q.parts` is stale: use `k`. A peeked line that waits in the join window
 * keeps no string of its line (`hop` set; see `compact`).
 */
export interface Item {
  p: ParsedLine | undefined;
  q?: LinePeek | undefined;
  k?: LineKey | undefined;
  text?: string | undefined;
  reader?: LineReader | undefined;
  /** Epoch ms of the record's time (NaN when it has none). */
  t: number;
  file: number;
  line: number;
  /** The gateway leg of this line was already counted (a line handed back by a worker). */
  legDone?: boolean;
  /** Set when the line waits compacted: the hash of its hop, whose method, host and path are then read from `k`. */
  hop?: number | undefined;
  /** A peeked line whose key was seen for the first time: a copy of its key's parts (slices of
   * the line), instead of `k`, until it is folded or compacted (Folder.compactLoose). */
  parts?: string[] | undefined;
}

/**
 * An item with every field present, in one order: the folder reads items of every kind (read,
 * peeked, waiting) at the same places, which then see one object shape, and setting a field
 * later (`hop`, `legDone`) changes no shape.
 */
export function newItem(p: ParsedLine | undefined, q: LinePeek | undefined, k: LineKey | undefined, parts: string[] | undefined, text: string | undefined, reader: LineReader | undefined, t: number, file: number, line: number): Item {
  return { p, q, k, parts, text, reader, t, file, line, legDone: undefined, hop: undefined };
}

export interface FolderOptions {
  joinWindowMs: number;
  maxPending: number;
  maxSamples: number;
  /** Request headers that keep calls apart (default: all but per-request ones). */
  keyHeaders?: string[];
  /** Count calls per time bucket of this many ms (IngestOptions.timeBucketMs). */
  timeBucketMs?: number;
  /** Worker mode: an unmatched line near the edge of this worker's slice of time is handed back
   * (its other side may be in the next slice) instead of being resolved alone. */
  isEdge?: (t: number) => boolean;
}

export interface JoinStats {
  joinedPairs: number;
  /** Of those, TCP connections joined on their addresses (TCP lines carry no x-request-id). */
  tcpPairs: number;
  /** Calls added for the server-side leg of a gateway's line (not lines of their own). */
  gatewayLegs: number;
  unmatched: number;
  /** Of `unmatched`, the server-side lines (their callers' proxies wrote no line that was read). */
  unmatchedServer: number;
  evictedBySize: number;
  reused: number;
}

export const JOIN_COUNTS: readonly (keyof JoinStats)[] = ['joinedPairs', 'tcpPairs', 'gatewayLegs', 'unmatched', 'unmatchedServer', 'evictedBySize', 'reused'];

interface Pending {
  item: Item;
  t: number;
  side: 'inbound' | 'outbound';
  /** The pair was joined; the caller it gave stays for server-side retries with the same id. */
  done: boolean;
  caller?: ClientIdentity | undefined;
  /** The key of the joined client-side line, when it was peeked (LineReader.peek). */
  clientKey?: LineKey | undefined;
  /** Hash of the hop (method, host, path), kept when the line is let go. */
  hop?: number;
  tcp: boolean;
  /** The other hops of the same request (one x-request-id is shared by every hop). */
  next: Pending | undefined;
}

/** Two sides of one TCP connection are logged within this much of each other. */
const TCP_JOIN_WINDOW_MS = 5000;

/**
 * What joins the client-side and server-side lines of one call (Linkerd logs only the server
 * side; lines of an unknown side join nothing):
 * - HTTP: the x-request-id, and the same method, host and path (one id is shared by every hop
 *   of a request: the hop is what tells them apart; see sameHop);
 * - TCP (no request id): the client's IP and the server's IP and port, which both proxies log
 *   (the client side as the app's own address and the upstream host, the server side as the
 *   downstream remote and local addresses). Concurrent connections between the same two pods
 *   may pair up crosswise; they are identical calls, so nothing is lost.
 */
function joinKey(p: ParsedLine): string | undefined {
  // (a request id is matched with sameHop; TCP keys start with NUL so they never meet one)
  const r = p.record;
  if (p.requestId !== undefined && p.requestId !== '') return p.requestId;
  if (r.protocol === 'tcp') {
    const src = r.source?.ip;
    const d = r.destination;
    if (src && d?.ip && d.port !== undefined) return `\u0000tcp\u0001${src}\u0001${d.ip}\u0001${d.port}`;
  }
  return undefined;
}

/**
 * Takes parsed lines in (roughly) time order, joins the client-side and server-side lines of one
 * call on x-request-id within a time/size-bounded window, resolves who called whom and folds the
 * calls into shapes. Memory: the shapes plus at most `maxPending` waiting lines.
 */
const EMPTY_ITEM: Item = newItem({ kind: 'record', record: {}, side: 'outbound' }, undefined, undefined, undefined, undefined, undefined, NaN, -1, 0);

/** The method, host and path of an item's request (undefined: the line has no request). */
function hopOf(item: Item): { method?: string | undefined; host?: string | undefined; path?: string | undefined } | undefined {
  return item.q ?? item.p!.record.request;
}

function hopHash(item: Item): number {
  if (item.hop !== undefined) return item.hop;
  const q = hopOf(item);
  return q ? mix(mix(mix(0x811c9dc5, q.method), q.host), q.path) : 0;
}

/** Whether two lines with one x-request-id are the two sides of the same hop. `a` may wait compacted; `b` is a line that just came. */
function sameHop(a: Item, b: Item): boolean {
  const y = hopOf(b);
  if (a.hop !== undefined) {
    // (a compacted line is a peeked one: it has a hop, read from its key)
    if (!y) return false;
    const key = a.k!.text;
    const at = a.reader!.hopParts!;
    return keyPartIs(key, at[0], y.method) && keyPartIs(key, at[1], y.host) && keyPartIs(key, at[2], y.path);
  }
  const x = hopOf(a);
  if (!x || !y) return x === y;
  return x.method === y.method && x.host === y.host && x.path === y.path;
}

/** The record of a peeked line: read in full now. A peeked line always reads as a record; the
 * empty record stands in if a reader ever broke that promise, so the line is still counted. */
function materialize(item: Item): ParsedLine {
  if (item.p === undefined) {
    const reader = item.reader!;
    const k = item.k;
    const q = item.q!;
    const result = reader.readParts === undefined ? (reader.readAgain !== undefined ? reader.readAgain(item.text!) : reader.read(item.text!))
      : k !== undefined ? reader.readParts(k.text, q.time, q.requestId)
      : item.parts !== undefined ? reader.readParts(item.parts, q.time, q.requestId) : reader.read(item.text!);
    item.p = result.kind === 'record' ? result : { kind: 'record', record: {}, side: q.side };
    item.q = undefined;
    item.text = undefined;
    item.reader = undefined;
    item.hop = undefined;
    item.parts = undefined;
  }
  return item.p;
}

/**
 * Lets a line wait in the join window without any string of its line, which would keep its whole
 * chunk of input alive (and copied by scavenges) for as long as the window. A peeked line keeps
 * its key object, a copy of its time, the request id of the window's map and the hash of its hop;
 * its record is rebuilt from the key if it is ever needed (LineReader.readParts).
 */
function compact(item: Item, requestId: string): void {
  const q = item.q;
  if (item.p !== undefined) {
    // a line read in full (no key): a copy of its record, so that it keeps no chunk alive either
    // (one such line in a chunk would keep the whole chunk)
    item.p = detach(item.p);
    return;
  }
  if (q === undefined || item.k === undefined || item.reader?.readParts === undefined) return;
  item.hop = hopHash(item);
  q.requestId = requestId;
  if (q.time !== undefined) q.time = copyString(q.time);
  q.method = undefined;
  q.host = undefined;
  q.path = undefined;
  item.text = undefined;
}

export class Folder {
  readonly table: ShapeTable;
  readonly join: JoinStats = { joinedPairs: 0, tcpPairs: 0, gatewayLegs: 0, unmatched: 0, unmatchedServer: 0, evictedBySize: 0, reused: 0 };
  /** Unmatched lines near a slice edge (worker mode only). */
  readonly edge: Item[] = [];
  private readonly pending = new Map<string, Pending>();
  private pendingCount = 0;
  private readonly scratch: FoldedCall = { record: {}, t: 0, file: 0, line: 0, sourceMethod: 'unresolved', destinationMethod: 'unresolved' };
  private now = NaN;
  private sinceEviction = 0;
  /** The line keys of peeked lines, each with the shape and resolution the full way gave its calls. */
  readonly lineKeys = new LineKeys();
  /** Lines that wait with a copy of their key's parts (Item.parts), to compact at the end of their batch. */
  private readonly loose: Item[] = [];

  constructor(private readonly resolver: Resolver, private readonly options: FolderOptions) {
    this.table = new ShapeTable(options.maxSamples, options.keyHeaders ? new Set(options.keyHeaders.map((h) => h.toLowerCase())) : undefined, options.timeBucketMs);
  }

  add(item: Item): void {
    const p = item.p;
    const q = item.q;
    let t = item.t;
    if (Number.isNaN(t)) t = item.t = Number.isNaN(this.now) ? 0 : this.now;
    else if (!(t <= this.now)) this.now = t;
    const side = q ? q.side : p!.side;
    if (p && q === undefined && side === 'outbound' && item.legDone !== true) {
      // (a peeked line has no shipper metadata: no gateway wrote it, as far as we can tell)
      const leg = this.resolver.gatewayLeg(p);
      if (leg) {
        this.join.gatewayLegs++;
        this.emit(newItem(leg, undefined, undefined, undefined, undefined, undefined, t, item.file, item.line));
      }
    }
    const key = q ? peekJoinKey(q) : side === 'unknown' || p!.record.mesh === 'linkerd' ? undefined : joinKey(p!);
    if (key === undefined) {
      this.emit(item);
      return;
    }
    const tcp = key.charCodeAt(0) === 0;
    const head = this.pending.get(key);
    let pending = head;
    let hop: number | undefined;
    while (pending !== undefined && !(tcp || (pending.done ? pending.hop === (hop ??= hopHash(item)) : sameHop(pending.item, item)))) pending = pending.next;
    if (pending) {
      const close = Math.abs(pending.t - t) <= (tcp ? Math.min(TCP_JOIN_WINDOW_MS, this.options.joinWindowMs) : this.options.joinWindowMs);
      if (!pending.done && pending.side !== side && close) {
        const [server, client] = side === 'inbound' ? [item, pending.item] : [pending.item, item];
        const clientKey = memoKey(client.k);
        const caller = this.emit(server, client);
        this.join.joinedPairs++;
        if (tcp) {
          this.join.tcpPairs++;
          this.remove(key, pending);
        } else {
          // an HTTP request may reach the server again (retries) with the same id; a TCP connection does not
          // keep only the (small) caller: the line itself would keep its chunk of input alive
          pending.hop = hopHash(client);
          pending.item = EMPTY_ITEM;
          pending.caller = caller;
          pending.clientKey = clientKey;
          pending.side = 'outbound';
          pending.done = true;
        }
        this.maybeEvict();
        return;
      }
      if (pending.done && side === 'inbound' && close) {
        // a retry reaching the server again: same caller, a call of its own
        this.join.reused++;
        this.emit(item, undefined, pending.caller ?? null, pending.clientKey);
        return;
      }
      this.remove(key, pending);
      if (!pending.done) this.alone(pending.item, false);
    }
    // (every field present from the start: one object shape, also once the pair is joined)
    const entry: Pending = { item, t, side: side as Pending['side'], done: false, caller: undefined, clientKey: undefined, hop: undefined, tcp, next: undefined };
    const current = this.pending.get(key);
    // a key cut out of a line would keep the line's chunk of input alive
    const kept = copyString(key);
    if (current) {
      entry.next = current.next;
      current.next = entry;
    } else this.pending.set(kept, entry);
    if (item.parts !== undefined) {
      // (compacted at the end of the batch, if it still waits then: most lines wait for the next line only)
      item.q!.requestId = kept;
      this.loose.push(item);
    } else compact(item, kept);
    this.pendingCount++;
    this.maybeEvict();
  }

  /**
   * The end of a batch of lines: the lines that still wait with their key's parts (slices of the
   * batch's text) get their key as one string of their own (a detached key), so that no line in
   * the window keeps its chunk of input alive (see `compact`).
   */
  compactLoose(): void {
    const loose = this.loose;
    for (let i = 0; i < loose.length; i++) {
      const item = loose[i]!;
      // (undefined: folded since)
      if (item.parts === undefined) continue;
      const q = item.q!;
      item.k = this.lineKeys.detached(item.parts, q.hash);
      item.parts = undefined;
      compact(item, q.requestId!);
    }
    loose.length = 0;
  }

  /** End of input: every line still waiting is resolved alone (or handed back, in worker mode). */
  flush(): void {
    this.loose.length = 0;
    for (const head of this.pending.values()) {
      for (let e: Pending | undefined = head; e; e = e.next) if (!e.done) this.alone(e.item, false);
    }
    this.pending.clear();
    this.pendingCount = 0;
  }

  private remove(key: string, entry: Pending): void {
    const head = this.pending.get(key);
    if (head === entry) {
      if (entry.next) this.pending.set(key, entry.next);
      else this.pending.delete(key);
    } else {
      for (let e = head; e; e = e.next) {
        if (e.next === entry) { e.next = entry.next; break; }
      }
    }
    this.pendingCount--;
  }

  private maybeEvict(): void {
    const over = this.pendingCount > this.options.maxPending;
    if (!over && ++this.sinceEviction < 64) return;
    this.sinceEviction = 0;
    const horizon = this.now - this.options.joinWindowMs;
    for (const [key, head] of this.pending) {
      const bySize = this.pendingCount > this.options.maxPending;
      if (!bySize && !(head.t < horizon)) break;
      let keep: Pending | undefined;
      let last: Pending | undefined;
      for (let e: Pending | undefined = head; e; ) {
        const next: Pending | undefined = e.next;
        if (bySize || e.t < horizon) {
          this.pendingCount--;
          if (!e.done) this.alone(e.item, bySize);
        } else {
          e.next = undefined;
          if (last) last.next = e;
          else keep = e;
          last = e;
        }
        e = next;
      }
      if (keep) this.pending.set(key, keep);
      else this.pending.delete(key);
    }
  }

  private alone(item: Item, bySize: boolean): void {
    if (bySize) this.join.evictedBySize++;
    if (this.options.isEdge?.(item.t)) {
      item.legDone = true;
      // handed to the parent thread: as a plain record, not a reader nor a key of this thread's
      materialize(item);
      item.q = undefined;
      item.k = undefined;
      this.edge.push(item);
      return;
    }
    this.join.unmatched++;
    if ((item.p?.side ?? item.q?.side) === 'inbound') this.join.unmatchedServer++;
    this.emit(item);
  }

  /**
   * Folds one call: `base` alone, or the server side joined with its `client` side, or (with
   * `caller`) a server-side retry of a call joined before. `caller` is null when the client side
   * did not know it; `clientKey` is the key of that client side when it was peeked. Peeked lines
   * whose key (or pair of keys) was folded before count on the same shape without a record;
   * the others are read in full and resolved. Returns the caller the client side gives.
   */
  private emit(base: Item, client?: Item, caller?: ClientIdentity | null, clientKey?: LineKey): ClientIdentity | undefined {
    const call = this.scratch;
    call.t = base.t;
    call.file = base.file;
    call.line = base.line;
    call.file2 = client?.file;
    call.line2 = client?.line;
    // the memo entry of this call's key(s): undefined when some line of it was not peeked
    const entry = memoKey(base.k);
    let role = 0; // 1 alone, 2 alone with a request id, 3 joined (by client key), 4 retry (by clientKey)
    let other: LineKey | undefined;
    if (entry !== undefined && (client === undefined ? caller === undefined || clientKey !== undefined : memoKey(client.k) !== undefined)) {
      // (alone, a request id changes only the reason given for an unknown caller)
      role = client !== undefined ? 3 : caller !== undefined ? 4 : base.q!.requestId ? 2 : 1;
      other = role === 3 ? memoKey(client!.k) : role === 4 ? clientKey : undefined;
      const known = role === 1 ? entry.alone : role === 2 ? entry.aloneWithId
        : role === 3 ? (entry.pairKey === other ? entry.pair : entry.pairs?.get(other!)) : entry.retries?.get(other!);
      if (known !== undefined) {
        call.sourceMethod = known.sourceMethod;
        call.sourceReason = known.sourceReason;
        call.destinationMethod = known.destinationMethod;
        call.destinationReason = known.destinationReason;
        known.shape = this.table.count(known.shape, call, base.q!.time, 1);
        return known.caller;
      }
    }
    const p = materialize(base);
    const c = client === undefined ? undefined : materialize(client);
    const identity = c !== undefined ? this.resolver.clientIdentity(c) : undefined;
    // one scratch object for every call: the table copies what it keeps
    this.resolver.resolve(p, c, c !== undefined ? identity ?? null : caller, call);
    call.record = p.record;
    call.identityGap = p.identityGap;
    const shape = this.table.add(call);
    call.record = EMPTY_ITEM.p!.record;
    if (role !== 0) {
      const known: KnownCall = {
        shape, caller: identity,
        sourceMethod: call.sourceMethod, sourceReason: call.sourceReason, destinationMethod: call.destinationMethod, destinationReason: call.destinationReason,
      };
      const key = entry!;
      if (role === 1) key.alone = known;
      else if (role === 2) key.aloneWithId = known;
      else if (role === 3) {
        if (key.pairKey === undefined) {
          key.pairKey = other;
          key.pair = known;
        } else (key.pairs ??= new Map()).set(other!, known);
      }
      else (key.retries ??= new Map()).set(other!, known);
    }
    return identity;
  }
}

/** The key a peeked line waits under in the join window for its other side, or none: a side
 * that is unknown, a Linkerd line (Linkerd logs the server side only: its trace ids have no other
 * side to wait for), or no request id. The pipeline asks it too, to know which lines will wait. */
export function peekJoinKey(q: LinePeek): string | undefined {
  return q.side === 'unknown' || q.mesh === 'linkerd' ? undefined : q.requestId || undefined;
}

import type { AccessRecord } from '../traffic/accessRecord';
import { CALL_ID, CALL_ID_WIDTH, ValueIds } from '../traffic/callIds';
import type { FoldSlot } from './types';

/** Packed parts stay small integers (V8 Smis: no allocation, a cheap hash). */
const MAX_PACKED = 1 << 30;

type Node = Map<unknown, unknown>;

/**
 * A fold key walked part by part over nested Maps, so that no key string is built per call:
 * parts with many values (a principal, a method) are one Map level each, keyed by the value
 * itself (an interned string is hashed once); parts with few values (a protocol class, which
 * of a destination's path tests match) are packed into one number first. Which parts a key has,
 * in which order and with which ranges, must depend on the root alone (one root per destination
 * view), so that every key under a root has the same levels.
 */
export class FoldKey {
  private node: Node = new Map();
  private packed = 0;
  private scale = 1;

  start(root: Node): void {
    this.node = root;
    this.packed = 0;
    this.scale = 1;
  }

  /** A part with few values: an integer in [0, range). */
  small(value: number, range: number): void {
    if (this.scale * range > MAX_PACKED) this.flush();
    this.packed += value * this.scale;
    this.scale *= range;
  }

  /** A part compared as a Map key compares (strings, numbers, undefined and null apart). */
  value(value: unknown): void {
    this.flush();
    this.node = childMap(this.node, value);
  }

  /** The ids of a row's `columns` (`CALL_ID`), each a part compared whole. */
  ids(row: Int32Array, columns: readonly number[]): void {
    for (let i = 0; i < columns.length; i++) this.value(row[columns[i]!]);
  }

  /** The slot at the end of the key (created empty on first use). */
  slot(): FoldSlot {
    const node = this.node;
    let slot = node.get(this.packed) as FoldSlot | undefined;
    if (slot === undefined) node.set(this.packed, (slot = { decision: undefined }));
    return slot;
  }

  private flush(): void {
    if (this.scale === 1) return;
    this.node = childMap(this.node, this.packed);
    this.packed = 0;
    this.scale = 1;
  }
}

/** The map under `key` in a tree of maps, made empty on first use. */
export function childMap<K>(node: Map<K, unknown>, key: K): Map<K, unknown> {
  let next = node.get(key) as Map<K, unknown> | undefined;
  if (next === undefined) node.set(key, (next = new Map()));
  return next;
}

/**
 * The rows of value ids a fold reads (`traffic/callIds.ts`): the row ingest gave a shape, else one
 * made in the fold's own id space (negative ids), so shapes with and without rows mix in one list.
 * Rows of another id space than the first one given are made again too.
 */
export class CallRows {
  private readonly own = new ValueIds(-1);
  private readonly ownRow = new Int32Array(CALL_ID_WIDTH);
  private space = 0;

  /** The row to read for `rec` (the own row is overwritten by the next call). */
  of(rec: AccessRecord, given: Int32Array | undefined): Int32Array {
    if (given !== undefined) {
      const space = given[CALL_ID.space]!;
      if (this.space === 0 && space > 0) this.space = space;
      if (space === this.space) return given;
    }
    return this.own.rowInto(rec, this.ownRow);
  }
}

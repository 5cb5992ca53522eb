import type { LinePeek } from '../readerTypes';
import type { ClientIdentity, Resolution } from './resolve';
import type { ShapeAcc } from './shapes';

/** What folding a peeked line (or pair) needs once its key is known: its shape and how it was resolved. */
export interface KnownCall extends Resolution {
  shape: ShapeAcc;
  /** The caller the client side gave (for a retry of the same request), when it was a pair. */
  caller: ClientIdentity | undefined;
}

/**
 * One distinct line key (LinePeek.parts), interned: every peeked line of that key shares this
 * object, and it is also the memo of what folding its lines gave. The call of the line alone,
 * alone with a request id, joined with a client-side line (by that line's key object), or as a
 * retry of a request joined before (by the key object of that request's client line).
 */
export interface LineKey {
  hash: number;
  /** In the table, so its memo serves later lines; a detached key (LineKeys.detached) is not. */
  kept: boolean;
  /** The parts joined with U+0001: one flat string, a copy (no slice of a line). */
  text: string;
  /** The next key with the same hash. */
  next: LineKey | undefined;
  alone: KnownCall | undefined;
  aloneWithId: KnownCall | undefined;
  /** The first client key joined with this one, and its call (most keys only ever have one). */
  pairKey: LineKey | undefined;
  pair: KnownCall | undefined;
  /** Further client keys. */
  pairs: Map<LineKey, KnownCall> | undefined;
  retries: Map<LineKey, KnownCall> | undefined;
}

/** Keys remembered at most; then the table starts again (keys still held by lines stay valid). */
const MAX_KEYS = 200_000;
/** Slots of the table of hashes seen once (a power of two); cleared when half full. */
const SEEN_SLOTS = 1 << 20;

/**
 * The line keys of one folder, by hash. A line of a key seen before costs its hash (computed by
 * the reader as it fills the parts), one lookup of a small integer and a comparison of the parts
 * in place (`startsWith` at each part's offset): no key string is built or hashed per line.
 *
 * A key is kept from the second line with its hash on. Logs where most lines are one of a kind
 * (a path with an id, say) would otherwise fill the table, and the old generation of the heap,
 * with keys that never meet a line again; a line of a key not kept goes the full way, as the
 * first line of every key does anyway. The first sightings are one integer each in a flat table.
 */
export class LineKeys {
  private readonly byHash = new Map<number, LineKey>();
  private size = 0;
  /** Hashes seen (hash + 1; 0 is an empty slot), open addressing. */
  private readonly seen = new Int32Array(SEEN_SLOTS);
  private seenCount = 0;
  /** Whether the last `intern` found no key that was kept (the line's record is read in full). */
  fresh = false;

  /** The line's key, or undefined for the first line of its hash (see the class comment). */
  intern(peek: LinePeek): LineKey | undefined {
    const parts = peek.parts;
    const hash = peek.hash;
    const first = this.byHash.get(hash);
    for (let k = first; k !== undefined; k = k.next) {
      if (sameParts(k.text, parts)) {
        this.fresh = false;
        return k;
      }
    }
    this.fresh = true;
    if (!this.seenBefore(hash)) return undefined;
    if (this.size >= MAX_KEYS) {
      this.byHash.clear();
      this.size = 0;
      return this.intern(peek);
    }
    // (join copies the characters: the key keeps no slice of the line, and is flat)
    const key: LineKey = {
      hash, kept: true, text: parts.join('\u0001'), next: first,
      alone: undefined, aloneWithId: undefined, pairKey: undefined, pair: undefined, pairs: undefined, retries: undefined,
    };
    this.byHash.set(hash, key);
    this.size++;
    return key;
  }

  /**
   * The line's key as a key object that is not kept in the table (nor remembered by its hash):
   * for a line whose key is new but that waits in the join window, so that it waits without its
   * text and its record is rebuilt from the key (LineReader.readParts). Its memo is not used.
   */
  detached(parts: readonly string[], hash: number): LineKey {
    return {
      hash, kept: false, text: parts.join('\u0001'), next: undefined,
      alone: undefined, aloneWithId: undefined, pairKey: undefined, pair: undefined, pairs: undefined, retries: undefined,
    };
  }

  /** Whether the hash was seen before; remembers it. */
  private seenBefore(hash: number): boolean {
    const seen = this.seen;
    const mark = hash + 1;
    let slot = hash & (SEEN_SLOTS - 1);
    for (let v = seen[slot]!; v !== 0; v = seen[slot]!) {
      if (v === mark) return true;
      slot = (slot + 1) & (SEEN_SLOTS - 1);
    }
    if (this.seenCount >= SEEN_SLOTS >> 1) {
      seen.fill(0);
      this.seenCount = 0;
      slot = hash & (SEEN_SLOTS - 1);
    }
    seen[slot] = mark;
    this.seenCount++;
    return false;
  }
}

/** The key, when its memo can be used: kept in the table (not a detached key). */
export function memoKey(key: LineKey | undefined): LineKey | undefined {
  return key !== undefined && key.kept ? key : undefined;
}

/** Whether the part at `index` of a key's text is `value` (undefined: a part that is '' or U+0000, as a key holds an absent or empty value). */
export function keyPartIs(text: string, index: number, value: string | undefined): boolean {
  let at = 0;
  for (let i = 0; i < index; i++) {
    at = text.indexOf('\u0001', at) + 1;
    if (at === 0) return false;
  }
  const end = text.indexOf('\u0001', at);
  const stop = end < 0 ? text.length : end;
  if (value === undefined) return stop === at || (stop === at + 1 && text.charCodeAt(at) === 0);
  return stop - at === value.length && text.startsWith(value, at);
}

/** Whether `text` is `parts` joined with U+0001 (no part holds that character: LinePeek.parts). */
function sameParts(text: string, parts: readonly string[]): boolean {
  let at = 0;
  const last = parts.length - 1;
  for (let i = 0; i <= last; i++) {
    const part = parts[i]!;
    if (!text.startsWith(part, at)) return false;
    at += part.length;
    if (i < last) {
      if (text.charCodeAt(at) !== 1) return false;
      at++;
    }
  }
  return at === text.length;
}

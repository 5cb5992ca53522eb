import type { Position } from '../findings';

/** A position as one number that sorts like the position (line first, then character). */
export function positionKey(position: Position): number {
  return position.line * CHARACTERS + Math.min(position.character, CHARACTERS - 1);
}

const CHARACTERS = 2 ** 24;

/**
 * Outcome indexes filed under positions of one file (where their deciding policy or rule starts),
 * updated one outcome at a time. Keys are positions, not offsets: an edit elsewhere in the file
 * moves offsets, while a ref whose resource kept its line and column keeps its position (a
 * resource that moved is a changed resource, and its calls are decided again).
 */
export class PositionIndex {
  private readonly at = new Map<number, Set<number>>();
  private sortedKeys: number[] | undefined;

  get size(): number {
    return this.at.size;
  }

  add(key: number, index: number): void {
    let set = this.at.get(key);
    if (!set) {
      this.at.set(key, (set = new Set()));
      this.sortedKeys = undefined;
    }
    set.add(index);
  }

  remove(key: number, index: number): void {
    const set = this.at.get(key);
    if (!set?.delete(index) || set.size) return;
    this.at.delete(key);
    this.sortedKeys = undefined;
  }

  /** The keys from `from` to `to` (both included), in order. */
  keysIn(from: number, to: number): number[] {
    const keys = this.keys();
    const out: number[] = [];
    for (let i = lowerBound(keys, from); i < keys.length && keys[i]! <= to; i++) out.push(keys[i]!);
    return out;
  }

  /** Whether any outcome is filed from `from` to `to`. */
  any(from: number, to: number): boolean {
    const keys = this.keys();
    const i = lowerBound(keys, from);
    return i < keys.length && keys[i]! <= to;
  }

  /** The outcome indexes filed from `from` to `to`, each once, in ascending order. */
  indexesIn(from: number, to: number): number[] {
    const keys = this.keysIn(from, to);
    if (keys.length === 1) return [...this.at.get(keys[0]!)!].sort(ascending);
    const seen = new Set<number>();
    for (const key of keys) for (const index of this.at.get(key)!) seen.add(index);
    return [...seen].sort(ascending);
  }

  indexesAt(key: number): number[] {
    const set = this.at.get(key);
    return set ? [...set].sort(ascending) : [];
  }

  keys(): number[] {
    this.sortedKeys ??= [...this.at.keys()].sort(ascending);
    return this.sortedKeys;
  }

  /**
   * Files what was at each key at `to(key)` instead (lines moved by an edit). A moved key may meet
   * one that has not moved yet (the edited resource's, taken out afterwards): their outcomes are
   * filed together.
   */
  rekey(to: (key: number) => number): void {
    const entries = [...this.at];
    this.at.clear();
    for (const [key, set] of entries) {
      const now = to(key);
      const there = this.at.get(now);
      if (there) for (const index of set) there.add(index);
      else this.at.set(now, set);
    }
    this.sortedKeys = undefined;
  }
}

/**
 * Position keys of one file after an edit that moved some of its resources: lines `from` to `to`
 * (before the edit) are now `lines` further down. The spans never overlap; a key is found by
 * binary search, since a keystroke above a thousand resources moves each of them.
 */
export class MovedKeys {
  private readonly moves: readonly { from: number; to: number; lines: number }[];

  constructor(moves: readonly { from: number; to: number; lines: number }[]) {
    this.moves = [...moves].sort((a, b) => a.from - b.from);
  }

  /** The key after the edit, or the key itself when no move covers its line. */
  readonly to = (key: number): number => {
    const line = Math.floor(key / CHARACTERS);
    const moves = this.moves;
    let low = 0;
    let high = moves.length;
    while (low < high) {
      const mid = (low + high) >> 1;
      if (moves[mid]!.to < line) low = mid + 1;
      else high = mid;
    }
    const move = moves[low];
    return move !== undefined && move.from <= line ? keyMovedBy(key, move.lines) : key;
  };
}

/** How many lines further down position key `to` lies than `from`, for keys of the same character. */
export function keyLinesBetween(from: number, to: number): number {
  return Math.round((to - from) / CHARACTERS);
}

/** The position key of the same character `lines` lines further down. */
export function keyMovedBy(key: number, lines: number): number {
  return key + lines * CHARACTERS;
}

function ascending(a: number, b: number): number {
  return a - b;
}

/** The first place in `sorted` whose value is at least `value`. */
export function lowerBound(sorted: readonly number[], value: number): number {
  let low = 0;
  let high = sorted.length;
  while (low < high) {
    const mid = (low + high) >> 1;
    if (sorted[mid]! < value) low = mid + 1;
    else high = mid;
  }
  return low;
}

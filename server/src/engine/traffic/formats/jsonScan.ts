/**
 * A field-extracting scanner for one-object-per-line JSON. It walks the object once, finds each
 * key's slot with a hash of (length, first char, last char) verified by one native `indexOf`,
 * and slices out only the values of the keys it was asked for; other values are skipped with
 * `indexOf` over their quotes. Strings with escapes go through JSON.parse; nested objects and
 * arrays are kept as raw text for the slots that want them, else skipped.
 *
 * Measured on Node 20 against JSON.parse of the same ~850-byte Envoy lines, the scan costs
 * about 0.9x JSON.parse of the whole object; verifying keys with a charCodeAt loop instead
 * costs 1.3x, and so does JSON.parse followed by a key → slot table (docs/access-records.md,
 * "Performance").
 *
 * The scanner is reused across lines (its arrays are reset, not reallocated) and never throws.
 * It checks the grammar as far as it walks: structure, quotes, literals, number characters,
 * and nothing but whitespace after the closing brace. It does not check that a nested value's
 * brackets pair up by kind, nor number syntax beyond its characters.
 */

export const SCAN_OK = 0;
export const SCAN_NOT_JSON = 1;
export const SCAN_NOT_OBJECT = 2;

const BUCKETS = 1024;
const MAX_INDEXOF_MISSES = 4;

interface KeyEntry {
  key: string;
  slot: number;
}

function keyHash(length: number, first: number, last: number): number {
  return (length * 961 + first * 31 + last) & (BUCKETS - 1);
}

export class FlatJsonScanner {
  /** Per slot: the decoded string, a number's or boolean's text, an object's raw text, or undefined. */
  readonly values: (string | undefined)[];
  /** Per slot: 1 when the key occurred (even with null, "" or "-"). */
  readonly seen: Uint8Array;
  /** How many distinct table keys occurred in the last line. */
  matched = 0;
  private readonly buckets: (KeyEntry[] | undefined)[];
  private readonly table: ReadonlyMap<string, number>;
  /** Index of the next backslash at or after the scan position (line length when none). */
  private backslash = 0;
  /** Set by the slow string walk: the string had an escape. */
  private escaped = false;

  /**
   * @param table key → slot
   * @param slots number of slots
   * @param blankToUndefined treat "" and "-" like null (Envoy's empty values)
   */
  constructor(
    table: ReadonlyMap<string, number>,
    slots: number,
    private readonly blankToUndefined = true,
  ) {
    this.table = table;
    this.values = new Array<string | undefined>(slots).fill(undefined);
    this.seen = new Uint8Array(slots);
    this.buckets = new Array<KeyEntry[] | undefined>(BUCKETS).fill(undefined);
    for (const [key, slot] of table) {
      if (key.length === 0) continue;
      const h = keyHash(key.length, key.charCodeAt(0), key.charCodeAt(key.length - 1));
      (this.buckets[h] ??= []).push({ key, slot });
    }
  }

  scan(line: string): number {
    const values = this.values;
    const seen = this.seen;
    const buckets = this.buckets;
    const blank = this.blankToUndefined;
    for (let k = 0; k < values.length; k++) {
      values[k] = undefined;
      seen[k] = 0;
    }
    let matched = 0;
    let misses = 0;
    const n = line.length;
    const bs = line.indexOf('\\');
    this.backslash = bs < 0 ? n : bs;
    let i = 0;
    let c = line.charCodeAt(0);
    while (c === 32 || c === 9) c = line.charCodeAt(++i);
    if (c !== 123 /* { */) {
      this.matched = 0;
      // `[` also starts Envoy's text lines: only a line that also ends with `]` is worth a parse.
      return c === 91 && lastNonSpace(line) === 93 && isJson(line) ? SCAN_NOT_OBJECT : SCAN_NOT_JSON;
    }
    c = line.charCodeAt(++i);
    while (c === 32 || c === 9) c = line.charCodeAt(++i);
    if (c === 125 /* } */) {
      this.matched = 0;
      return this.trailing(line, i + 1);
    }
    for (;;) {
      // Key.
      if (c !== 34 /* " */) return this.fail();
      let keyEnd = line.indexOf('"', i + 1);
      let slot = -1;
      if (keyEnd < 0) return this.fail();
      if (this.backslash < keyEnd) {
        keyEnd = this.stringEnd(line, i);
        if (keyEnd < 0) return this.fail();
        if (this.escaped) {
          const key = decode(line, i, keyEnd);
          if (key === undefined) return this.fail();
          slot = this.table.get(key) ?? -1;
        }
      }
      if (!this.escaped) {
        const len = keyEnd - i - 1;
        if (len > 0) {
          const bucket = buckets[(len * 961 + line.charCodeAt(i + 1) * 31 + line.charCodeAt(keyEnd - 1)) & (BUCKETS - 1)];
          if (bucket !== undefined) {
            for (let e = 0; e < bucket.length; e++) {
              const entry = bucket[e]!;
              if (entry.key.length !== len) continue;
              // indexOf is the fastest native comparison here, but a mismatch searches on to the end
              // of the line: after a few mismatches in one line, compare slices (linear time).
              if (misses < MAX_INDEXOF_MISSES) {
                if (line.indexOf(entry.key, i + 1) === i + 1) {
                  slot = entry.slot;
                  break;
                }
                misses++;
              } else if (line.slice(i + 1, keyEnd) === entry.key) {
                slot = entry.slot;
                break;
              }
            }
          }
        }
      }
      this.escaped = false;
      i = keyEnd + 1;
      c = line.charCodeAt(i);
      while (c === 32 || c === 9) c = line.charCodeAt(++i);
      if (c !== 58 /* : */) return this.fail();
      c = line.charCodeAt(++i);
      while (c === 32 || c === 9) c = line.charCodeAt(++i);
      // Value.
      if (c === 34 /* " */) {
        let end = line.indexOf('"', i + 1);
        if (end < 0) return this.fail();
        let value: string | undefined;
        if (this.backslash < end) {
          end = this.stringEnd(line, i);
          if (end < 0) return this.fail();
          if (slot >= 0) {
            value = this.escaped ? decode(line, i, end) : line.slice(i + 1, end);
            if (value === undefined) return this.fail();
            if (blank && (value.length === 0 || value === '-')) value = undefined;
          }
          this.escaped = false;
        } else if (slot >= 0) {
          const len = end - i - 1;
          value = blank && (len === 0 || (len === 1 && line.charCodeAt(i + 1) === 45)) /* - */ ? undefined : line.slice(i + 1, end);
        }
        if (slot >= 0) {
          if (seen[slot] === 0) {
            seen[slot] = 1;
            matched++;
          }
          // (two keys of a format may fill one field, RESP(grpc-status) and TRAILER(grpc-status):
          // an empty value leaves what the other gave)
          if (value !== undefined) values[slot] = value;
        }
        i = end + 1;
      } else if (c === 110 /* n */) {
        if (line.charCodeAt(i + 1) !== 117 || line.charCodeAt(i + 2) !== 108 || line.charCodeAt(i + 3) !== 108) return this.fail();
        if (slot >= 0) {
          if (seen[slot] === 0) {
            seen[slot] = 1;
            matched++;
          }
        }
        i += 4;
      } else if ((c >= 48 && c <= 57) || c === 45 /* - */) {
        const start = i;
        do c = line.charCodeAt(++i);
        while ((c >= 48 && c <= 57) || c === 46 || c === 101 || c === 69 || c === 43 || c === 45);
        if (slot >= 0) {
          if (seen[slot] === 0) {
            seen[slot] = 1;
            matched++;
          }
          values[slot] = line.slice(start, i);
        }
      } else if (c === 123 || c === 91) {
        const end = this.nestedEnd(line, i);
        if (end < 0) return this.fail();
        if (slot >= 0) {
          if (seen[slot] === 0) {
            seen[slot] = 1;
            matched++;
          }
          values[slot] = line.slice(i, end);
        }
        i = end;
      } else if (c === 116 /* t */ || c === 102 /* f */) {
        const word = c === 116 ? 'true' : 'false';
        if (!line.startsWith(word, i)) return this.fail();
        if (slot >= 0) {
          if (seen[slot] === 0) {
            seen[slot] = 1;
            matched++;
          }
          values[slot] = word;
        }
        i += word.length;
      } else {
        return this.fail();
      }
      // Separator.
      c = line.charCodeAt(i);
      while (c === 32 || c === 9 || c === 10 || c === 13) c = line.charCodeAt(++i);
      if (c === 44 /* , */) {
        c = line.charCodeAt(++i);
        while (c === 32 || c === 9 || c === 10 || c === 13) c = line.charCodeAt(++i);
        continue;
      }
      this.matched = matched;
      if (c === 125 /* } */) return this.trailing(line, i + 1);
      return SCAN_NOT_JSON;
    }
  }

  private fail(): number {
    this.matched = 0;
    this.escaped = false;
    return SCAN_NOT_JSON;
  }

  private trailing(line: string, from: number): number {
    for (let k = from; k < line.length; k++) {
      const c = line.charCodeAt(k);
      if (c !== 32 && c !== 9 && c !== 10 && c !== 13) return SCAN_NOT_JSON;
    }
    return SCAN_OK;
  }

  /**
   * Closing quote of the string opening at `open`, when a backslash may come before it: each
   * quote found is the end unless an odd run of backslashes precedes it. Sets `escaped`.
   * -1 when unterminated.
   */
  private stringEnd(line: string, open: number): number {
    let from = open + 1;
    let close: number;
    for (;;) {
      close = line.indexOf('"', from);
      if (close < 0) return -1;
      let b = close - 1;
      while (b > open && line.charCodeAt(b) === 92 /* \ */) b--;
      if (((close - 1 - b) & 1) === 0) break;
      from = close + 1;
    }
    const first = line.indexOf('\\', open + 1);
    this.escaped = first >= 0 && first < close;
    const next = first < 0 ? -1 : first > close ? first : line.indexOf('\\', close + 1);
    this.backslash = next < 0 ? line.length : next;
    return close;
  }

  /** Index just after the object or array that opens at `open`, or -1. */
  private nestedEnd(line: string, open: number): number {
    const n = line.length;
    let depth = 0;
    let k = open;
    while (k < n) {
      const c = line.charCodeAt(k);
      if (c === 34) {
        let close = line.indexOf('"', k + 1);
        if (close < 0) return -1;
        if (this.backslash < close) {
          close = this.stringEnd(line, k);
          if (close < 0) return -1;
          this.escaped = false;
        }
        k = close + 1;
        continue;
      }
      if (c === 123 || c === 91) depth++;
      else if (c === 125 || c === 93) {
        depth--;
        if (depth === 0) return k + 1;
      }
      k++;
    }
    return -1;
  }
}

function decode(line: string, open: number, close: number): string | undefined {
  try {
    return JSON.parse(line.slice(open, close + 1)) as string;
  } catch {
    return undefined;
  }
}

function lastNonSpace(line: string): number {
  for (let i = line.length - 1; i >= 0; i--) {
    const c = line.charCodeAt(i);
    if (c !== 32 && c !== 9 && c !== 10 && c !== 13) return c;
  }
  return -1;
}

function isJson(line: string): boolean {
  try {
    JSON.parse(line);
    return true;
  } catch {
    return false;
  }
}

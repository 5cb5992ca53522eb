import { RE2JS } from 're2js';

/**
 * A user-written regular expression, matched the way the Linkerd proxy matches route paths,
 * header values and query values (linkerd/linkerd2-proxy:linkerd/http/route/src/http/match/path.rs):
 * `re.find(value)` (leftmost-first, Rust `regex`) and the match must span the whole value.
 * Compiled with RE2JS (linear time); never a JavaScript RegExp.
 *
 * `find` is the expensive call, so a full-match test runs first (if the whole value cannot match,
 * the leftmost-first match cannot span it either), and results are cached per value.
 */
export class AnchoredRegex {
  private readonly re: RE2JS;
  private readonly cache = new Map<string, boolean>();

  private constructor(readonly source: string, re: RE2JS) {
    this.re = re;
  }

  /** An error when RE2 cannot compile the pattern, or Rust's `regex` crate, which Linkerd's policy
   * controller compiles it with, refuses it where RE2 does not (`rustOnlySyntaxError`). */
  static compile(source: string): AnchoredRegex | { error: string } {
    const rustError = rustOnlySyntaxError(source);
    if (rustError) return { error: rustError };
    try {
      return new AnchoredRegex(source, RE2JS.compile(source));
    } catch (error) {
      return { error: error instanceof Error ? error.message : String(error) };
    }
  }

  matches(value: string): boolean {
    let hit = this.cache.get(value);
    if (hit !== undefined) return hit;
    hit = false;
    if (this.re.testExact(value)) {
      const m = this.re.matcher(value);
      hit = m.find() && m.start() === 0 && m.end() === value.length;
    }
    if (this.cache.size > 10_000) this.cache.clear();
    this.cache.set(value, hit);
    return hit;
  }
}

/** A `{` that RE2 (Go) reads as a literal brace when it does not form a counted repetition. */
const COUNTED_REPETITION = /^\{(?:[0-9]+(?:,[0-9]*)?|,[0-9]+)\}/;

/**
 * Where Rust's `regex` crate refuses a pattern that RE2 accepts: an unescaped `{` outside a
 * character class always starts a counted repetition there (rust-lang/regex#356, #545), so
 * `/users/{id}` or `a{` fail to compile, while RE2 matches the brace literally. Escapes (with
 * the braces of `\x{..}`, `\p{..}`, `\P{..}`, `\b{start}`) and character classes (nested, as Rust reads
 * them) are skipped; `{,n}` is left alone.
 */
export function rustOnlySyntaxError(source: string): string | undefined {
  let classDepth = 0;
  for (let i = 0; i < source.length; i++) {
    const c = source[i];
    if (c === '\\') {
      const next = source[i + 1];
      i++;
      if ((next === 'x' || next === 'p' || next === 'P' || next === 'b') && source[i + 1] === '{') {
        const close = source.indexOf('}', i + 1);
        i = close < 0 ? source.length : close;
      }
      continue;
    }
    if (classDepth > 0) {
      if (c === '[' && source.startsWith('[:', i)) {
        const close = source.indexOf(':]', i + 2);
        if (close >= 0) { i = close + 1; continue; }
      }
      if (c === '[') classDepth++;
      else if (c === ']') classDepth--;
      continue;
    }
    if (c === '[') {
      classDepth = 1;
      // A `]` right after `[` or `[^` is a literal member, not the end of the class.
      if (source[i + 1] === '^') i++;
      if (source[i + 1] === ']') i++;
      continue;
    }
    if (c === '{' && !COUNTED_REPETITION.test(source.slice(i))) {
      return `"{" at offset ${i} starts a counted repetition in Rust's regex syntax ({2}, {2,}, {2,5}), which Linkerd compiles patterns with; write \\{ for a literal brace`;
    }
  }
  return undefined;
}

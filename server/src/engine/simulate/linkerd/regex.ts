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

  /** Undefined when RE2 cannot compile the pattern (the proxy's `regex` crate would reject it too). */
  static compile(source: string): AnchoredRegex | { error: string } {
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

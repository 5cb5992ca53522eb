import { RE2JS } from 're2js';

/**
 * Regular expressions that Envoy compiles (`safe_regex`, Google RE2), shared by the meshes that
 * compile into Envoy RBAC (Istio, Consul). Envoy matches a `safe_regex` against the whole value
 * (`RE2JS.testExact`).
 */

const regexCache = new Map<string, RE2JS | string>();

/** Envoy refuses a safe_regex whose RE2 program is larger than the runtime key
 * `re2.max_program_size.error_level`, 100 by default. The count here is re2js's, which can differ
 * a little from Envoy's RE2, so only a program far over it is called rejected. Such a program
 * (`(.?){1000}`: 4,002 instructions) also takes about a second per match on a long path. */
const ENVOY_PROGRAM_SIZE_LIMIT = 100;
const SURELY_OVER_ENVOY_LIMIT = 10 * ENVOY_PROGRAM_SIZE_LIMIT;

/** Compiles an RE2 pattern once; returns the error text when RE2, or Envoy's program size limit, rejects it. */
export function re2(pattern: string): RE2JS | string {
  let compiled = regexCache.get(pattern);
  if (compiled === undefined) {
    try {
      compiled = RE2JS.compile(pattern);
      const size = compiled.programSize();
      if (size > SURELY_OVER_ENVOY_LIMIT) compiled = `its RE2 program has ${size.toLocaleString('en-US')} instructions, far over Envoy's limit of ${ENVOY_PROGRAM_SIZE_LIMIT} (runtime key re2.max_program_size.error_level)`;
    } catch (e) {
      compiled = (e instanceof Error ? e.message : String(e)).replace(/^error parsing regexp:\s*/, '');
    }
    if (regexCache.size > 10_000) regexCache.clear();
    regexCache.set(pattern, compiled);
  }
  return compiled;
}


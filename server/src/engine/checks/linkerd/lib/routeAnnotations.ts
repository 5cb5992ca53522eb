/**
 * The retry, timeout and failure-accrual annotations that Linkerd's admission webhook parses on
 * a route with a Service or EgressNetwork parent (an outbound route), and denies the route when
 * one does not parse (linkerd/linkerd2:policy-controller/runtime/src/admission.rs, which calls
 * `parse_http_retry` or `parse_grpc_retry`, `parse_accrual_config` and `parse_timeouts` of
 * policy-controller/k8s/index/src/outbound/index.rs and outbound/index/{http,grpc}.rs).
 *
 * Where releases differ, a value is reported only when every release rejects it: the failure
 * accrual mode `unified` of newer releases is accepted, and so are surrounding spaces where a
 * newer release trims them.
 */

export interface AnnotationProblem {
  key: string;
  message: string;
}

const MAX_U64 = (1n << 64n) - 1n;
const MILLIS_PER_UNIT: Record<string, bigint> = { ms: 1n, s: 1_000n, m: 60_000n, h: 3_600_000n, d: 86_400_000n };

/** Rust's `str::parse` for an unsigned integer: an optional `+`, then ASCII digits only. */
function parseUnsigned(text: string, max: bigint): bigint | undefined {
  if (!/^\+?[0-9]+$/.test(text)) return undefined;
  const value = BigInt(text.replace(/^\+/, ''));
  return value <= max ? value : undefined;
}

/** Rust's `str::parse::<f32>`: decimal or exponent notation, `inf`, `infinity` or `nan`. */
function parseFloatLikeRust(text: string): number | undefined {
  if (/^[+-]?(inf|infinity)$/i.test(text)) return text.startsWith('-') ? -Infinity : Infinity;
  if (/^[+-]?nan$/i.test(text)) return NaN;
  if (!/^[+-]?([0-9]+\.?[0-9]*|\.[0-9]+)([eE][+-]?[0-9]+)?$/.test(text)) return undefined;
  return Number(text);
}

/** Linkerd's annotation durations: a whole number and one unit of ms, s, m, h or d (`0` alone is
 * allowed). Returns milliseconds, or an error in Linkerd's words. */
export function parseLinkerdDuration(raw: string): { ms: bigint } | { error: string } {
  const text = raw.trim();
  let lastDigit = -1;
  for (let i = text.length - 1; i >= 0; i--) {
    if (text[i]! >= '0' && text[i]! <= '9') {
      lastDigit = i;
      break;
    }
  }
  if (lastDigit < 0) return { error: `${text} does not contain a timeout duration value` };
  const magnitude = parseUnsigned(text.slice(0, lastDigit + 1), MAX_U64);
  const unit = text.slice(lastDigit + 1);
  if (magnitude === undefined) return { error: text.includes('.') ? 'fractional values are not supported' : `${JSON.stringify(text.slice(0, lastDigit + 1))} is not a whole number` };
  if (unit === '' && magnitude === 0n) return { ms: 0n };
  if (unit === '') return { error: 'missing duration unit' };
  const perUnit = MILLIS_PER_UNIT[unit];
  if (perUnit === undefined) return { error: `invalid duration unit ${unit}` };
  const ms = magnitude * perUnit;
  if (ms > MAX_U64) return { error: `Timeout value ${text} overflows when converted to 'ms'` };
  return { ms };
}

const HTTP_RETRY_NAMES = ['5xx', 'gateway-error'];
const GRPC_RETRY_NAMES = ['cancelled', 'deadline-exceeded', 'internal', 'resource-exhausted', 'unavailable'];

function statusCode(text: string): number | undefined {
  const code = parseUnsigned(text, 0xffff_ffffn);
  return code !== undefined && code >= 100n && code < 600n ? Number(code) : undefined;
}

function validHttpRetryCondition(condition: string): boolean {
  if (HTTP_RETRY_NAMES.includes(condition.toLowerCase())) return true;
  if (statusCode(condition) !== undefined) return true;
  const dash = condition.indexOf('-');
  if (dash < 0) return false;
  const from = statusCode(condition.slice(0, dash));
  const to = statusCode(condition.slice(dash + 1));
  return from !== undefined && to !== undefined && from <= to;
}

/** The problems of one route's annotations. `grpc` selects the GRPCRoute parser, which reads
 * `retry.linkerd.io/grpc` instead of `retry.linkerd.io/http`. */
export function routeAnnotationProblems(annotations: Record<string, string>, grpc: boolean): AnnotationProblem[] {
  const problems: AnnotationProblem[] = [];
  const get = (key: string): string | undefined => annotations[key];
  const duration = (key: string): bigint | undefined => {
    const value = get(key);
    if (value === undefined) return undefined;
    const parsed = parseLinkerdDuration(value);
    if ('error' in parsed) {
      problems.push({ key, message: `${key} ${JSON.stringify(value)} is not a duration (${parsed.error}): write a whole number and one of the units ms, s, m, h or d, such as 500ms or 10s` });
      return undefined;
    }
    return parsed.ms;
  };

  const limit = get('retry.linkerd.io/limit');
  if (limit !== undefined && parseUnsigned(limit.trim(), 0xffffn) === undefined) {
    problems.push({ key: 'retry.linkerd.io/limit', message: `retry.linkerd.io/limit ${JSON.stringify(limit)} is not a whole number from 0 to 65535` });
  }
  duration('retry.linkerd.io/timeout');
  const conditionsKey = grpc ? 'retry.linkerd.io/grpc' : 'retry.linkerd.io/http';
  const conditions = get(conditionsKey);
  if (conditions !== undefined) {
    const bad = conditions.split(',').filter((c) => (grpc ? !GRPC_RETRY_NAMES.includes(c.toLowerCase()) : !validHttpRetryCondition(c)));
    if (bad.length) {
      const expected = grpc
        ? `a comma-separated list of ${GRPC_RETRY_NAMES.join(', ')}`
        : 'a comma-separated list of 5xx, gateway-error, status codes (100-599) and ranges such as 500-504';
      problems.push({ key: conditionsKey, message: `${conditionsKey} has the invalid retry condition ${bad.map((c) => JSON.stringify(c)).join(', ')}; expected ${expected}, without spaces` });
    }
  }

  for (const kind of ['request', 'response', 'idle']) duration(`timeout.linkerd.io/${kind}`);

  const mode = get('balancer.linkerd.io/failure-accrual');
  if (mode !== undefined) {
    if (mode !== 'consecutive' && mode !== 'unified') {
      problems.push({ key: 'balancer.linkerd.io/failure-accrual', message: `unsupported failure accrual mode ${JSON.stringify(mode)}; the mode is consecutive` });
    } else {
      accrualProblems(annotations, duration, problems);
    }
  }
  return problems;
}

const ACCRUAL = 'balancer.linkerd.io/failure-accrual-consecutive-';

function accrualProblems(annotations: Record<string, string>, duration: (key: string) => bigint | undefined, problems: AnnotationProblem[]): void {
  const maxFailures = annotations[`${ACCRUAL}max-failures`];
  if (maxFailures !== undefined && parseUnsigned(maxFailures.trim(), 0xffff_ffffn) === undefined) {
    problems.push({ key: `${ACCRUAL}max-failures`, message: `${ACCRUAL}max-failures ${JSON.stringify(maxFailures)} is not a whole number` });
  }
  const maxSet = annotations[`${ACCRUAL}max-penalty`] !== undefined;
  const minSet = annotations[`${ACCRUAL}min-penalty`] !== undefined;
  const maxPenalty = maxSet ? duration(`${ACCRUAL}max-penalty`) : 60_000n;
  const minPenalty = minSet ? duration(`${ACCRUAL}min-penalty`) : 1_000n;
  if (maxPenalty !== undefined && minPenalty !== undefined) {
    if (minPenalty > maxPenalty) {
      const shown = (which: 'min' | 'max', set: boolean, fallback: string) => (set ? JSON.stringify(annotations[`${ACCRUAL}${which}-penalty`]) : `${fallback} (the default)`);
      problems.push({ key: `${ACCRUAL}${minSet ? 'min' : 'max'}-penalty`, message: `the failure-accrual min-penalty ${shown('min', minSet, '1s')} is longer than the max-penalty ${shown('max', maxSet, '60s')}` });
    } else if (maxPenalty === 0n) {
      problems.push({ key: `${ACCRUAL}max-penalty`, message: `${ACCRUAL}max-penalty cannot be zero` });
    }
  }
  const jitterText = annotations[`${ACCRUAL}jitter-ratio`];
  if (jitterText !== undefined) {
    const jitter = parseFloatLikeRust(jitterText.trim());
    if (jitter === undefined || Number.isNaN(jitter) || jitter < 0 || jitter > 100) {
      problems.push({ key: `${ACCRUAL}jitter-ratio`, message: `${ACCRUAL}jitter-ratio ${JSON.stringify(jitterText)} must be a number from 0 to 100` });
    }
  }
}

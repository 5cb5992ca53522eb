/**
 * Go-style durations (time.ParseDuration) as Linkerd's HTTPRoute `timeouts` and Istio's
 * protobuf durations take them (`10s`, `1m30s`, `2500ms`, `-1s`, `0`). Returns
 * nanoseconds as a bigint (exact, no floating point), or undefined when the text is not a duration.
 */
const UNITS: Record<string, bigint> = {
  ns: 1n,
  us: 1_000n,
  'µs': 1_000n,
  'μs': 1_000n,
  ms: 1_000_000n,
  s: 1_000_000_000n,
  m: 60_000_000_000n,
  h: 3_600_000_000_000n,
};

export function parseDuration(text: string): bigint | undefined {
  let rest = text;
  let sign = 1n;
  if (rest.startsWith('-') || rest.startsWith('+')) {
    if (rest.startsWith('-')) sign = -1n;
    rest = rest.slice(1);
  }
  if (rest === '0') return 0n;
  if (rest === '') return undefined;
  let total = 0n;
  const part = /^([0-9]*)(?:\.([0-9]*))?(ns|us|µs|μs|ms|s|m|h)/;
  while (rest.length) {
    const match = part.exec(rest);
    if (!match) return undefined;
    const whole = match[1] ?? '';
    const fraction = match[2] ?? '';
    if (whole === '' && fraction === '') return undefined;
    const unit = UNITS[match[3]!]!;
    total += BigInt(whole || '0') * unit;
    if (fraction) total += (BigInt(fraction) * unit) / 10n ** BigInt(fraction.length);
    rest = rest.slice(match[0].length);
  }
  return sign * total;
}

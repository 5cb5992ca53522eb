import { parseIp, parseIpPrefix } from '../../net/ip';

/**
 * What istiod's validation says of `ipBlocks`, `remoteIpBlocks` and the IP `when` keys: Go's
 * `net/netip` (`ParseAddr`, `ParsePrefix`), on the engine's one parser (`net/ip.ts`). An IPv6
 * zone is accepted on an address but not in a prefix.
 */

export type ParseResult = { ok: true; bits: 32 | 128; zone: string } | { ok: false; error: string };

/** Go `netip.ParseAddr`. */
export function parseAddr(s: string): ParseResult {
  const parsed = parseIp(s, true);
  return 'error' in parsed ? { ok: false, error: parsed.error } : { ok: true, bits: parsed.family === 4 ? 32 : 128, zone: parsed.zone };
}

/** Go `netip.ParsePrefix`. */
export function parsePrefix(s: string): ParseResult {
  const parsed = parseIpPrefix(s, { length: 'go', bare: false });
  return 'error' in parsed ? { ok: false, error: parsed.error } : { ok: true, bits: parsed.family === 4 ? 32 : 128, zone: '' };
}

/** istiod's `ValidateIPs` rule for one value: a CIDR when it contains `/`, else an address.
 * Returns the webhook's message, or undefined when the value is accepted. */
export function ipBlockError(value: string): string | undefined {
  if (value.includes('/')) {
    const result = parsePrefix(value);
    return result.ok ? undefined : `bad CIDR range (${value}): ${result.error}`;
  }
  const result = parseAddr(value);
  return result.ok ? undefined : `bad IP address (${value}): ${result.error}`;
}

import { parseIpInto, parseIpPrefix, prefixContains, type IpFamily, type IpPrefix } from '../../net/ip';

/**
 * Istio's view of addresses and CIDR prefixes, on the engine's one parser (`net/ip.ts`: Go
 * netip, what istiod validates with). A call's addresses are parsed into a reused buffer;
 * host bits after the prefix length are allowed and ignored (Envoy masks them); an IPv4 prefix
 * never matches an IPv6 address (Envoy's `CidrRange::isInRange`).
 */

/** Address family: 4, 6, or 0 when the text is not an address. */
export type Family = 0 | IpFamily;

export { parseIpInto };

/** A parsed prefix: family, the masked address words, and the prefix length. */
export type Cidr = IpPrefix;

/**
 * Parses a policy value as istiod does: with a `/` it must be a prefix (`netip.ParsePrefix`, which
 * refuses a zone), else a single address (`netip.ParseAddr`, which accepts one). An address becomes
 * `/32` or `/128` through `netip.PrefixFrom`, which drops the zone (istio/istio
 * pilot/pkg/networking/util `AddrStrToPrefix`): `fe80::1%eth0` matches `fe80::1` on any interface.
 * Returns an error message for a bad value.
 */
export function parseCidr(text: string): Cidr | string {
  const parsed = parseIpPrefix(text, { length: 'go', bare: true, zones: true });
  if ('error' in parsed) return text.includes('/') ? `bad CIDR range (${text})` : `bad IP address (${text})`;
  return parsed;
}

/** Whether a parsed address (family + words) lies in the prefix. */
export const cidrContains: (cidr: Cidr, family: Family, address: Uint32Array) => boolean = prefixContains;

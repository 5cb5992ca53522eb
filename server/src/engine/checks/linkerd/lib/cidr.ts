import { parseIpPrefix, prefixCovers, type IpPrefix } from '../../../net/ip';

/**
 * CIDR blocks as Linkerd's `Cidr` reads them (linkerd/linkerd2:policy-controller/k8s/api/src/
 * policy/network.rs): a network (`10.0.0.0/8`, `fd00::/8`; host bits may be set, the network is
 * what counts) or a bare address (`192.0.2.7`, that one address), on the engine's one parser
 * (`net/ip.ts`: Rust's address grammar is Go's without zones; the length is 1-3 digits).
 */
export type Cidr = IpPrefix;

/** A CIDR block or a bare address; undefined when Linkerd could not parse it either. */
export function parseCidr(text: string): Cidr | undefined {
  const parsed = parseIpPrefix(text, { length: 'rust', bare: true });
  return 'error' in parsed ? undefined : parsed;
}

/** `outer` contains every address of `inner` (ipnet `contains`: same family, network at least
 * as large, same network bits). */
export const cidrContains: (outer: Cidr, inner: Cidr) => boolean = prefixCovers;

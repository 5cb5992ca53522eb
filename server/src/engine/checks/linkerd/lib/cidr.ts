/**
 * IPv4 and IPv6 addresses and CIDR blocks, as Linkerd's `Cidr` reads them
 * (linkerd/linkerd2:policy-controller/k8s/api/src/policy/network.rs): either a network
 * (`10.0.0.0/8`, `fd00::/8`; host bits may be set, the network is what counts) or a bare
 * address (`192.0.2.7`, meaning that one address). Parsed without any regular expression
 * engine and without floating point: addresses are bigints.
 */

export interface Cidr {
  family: 4 | 6;
  /** The address as written (host bits included). */
  address: bigint;
  /** Prefix length; a bare address has the full length (32 or 128). */
  prefix: number;
  /** True when written without `/len`. */
  bare: boolean;
}

const BITS = { 4: 32, 6: 128 } as const;

/** Rust's `Ipv4Addr` grammar: four decimal octets, 0-255, no leading zeros. */
export function parseIPv4(text: string): bigint | undefined {
  const parts = text.split('.');
  if (parts.length !== 4) return undefined;
  let value = 0n;
  for (const part of parts) {
    if (!/^[0-9]{1,3}$/.test(part) || (part.length > 1 && part.startsWith('0'))) return undefined;
    const n = Number(part);
    if (n > 255) return undefined;
    value = (value << 8n) | BigInt(n);
  }
  return value;
}

/** RFC 4291 text form: up to eight groups of 1-4 hex digits, one `::`, an optional dotted
 * IPv4 tail. No zone index (Rust's `Ipv6Addr` takes none). */
export function parseIPv6(text: string): bigint | undefined {
  if (text.length === 0 || text.includes('%')) return undefined;
  const doubleColon = text.indexOf('::');
  if (doubleColon !== text.lastIndexOf('::')) return undefined;
  const parseGroups = (part: string): number[] | undefined => {
    if (part === '') return [];
    const out: number[] = [];
    const pieces = part.split(':');
    for (let i = 0; i < pieces.length; i++) {
      const piece = pieces[i]!;
      if (i === pieces.length - 1 && piece.includes('.')) {
        const v4 = parseIPv4(piece);
        if (v4 === undefined) return undefined;
        out.push(Number(v4 >> 16n), Number(v4 & 0xffffn));
      } else {
        if (!/^[0-9a-fA-F]{1,4}$/.test(piece)) return undefined;
        out.push(parseInt(piece, 16));
      }
    }
    return out;
  };
  let groups: number[];
  if (doubleColon >= 0) {
    const head = parseGroups(text.slice(0, doubleColon));
    const tail = parseGroups(text.slice(doubleColon + 2));
    if (!head || !tail) return undefined;
    // An embedded IPv4 address may only end the address.
    if (text.slice(0, doubleColon).includes('.')) return undefined;
    if (head.length + tail.length > 7) return undefined;
    groups = [...head, ...new Array<number>(8 - head.length - tail.length).fill(0), ...tail];
  } else {
    const all = parseGroups(text);
    if (!all || all.length !== 8) return undefined;
    groups = all;
  }
  return groups.reduce((acc, g) => (acc << 16n) | BigInt(g), 0n);
}

function parseAddress(text: string): { family: 4 | 6; address: bigint } | undefined {
  if (text.includes(':')) {
    const address = parseIPv6(text);
    return address === undefined ? undefined : { family: 6, address };
  }
  const address = parseIPv4(text);
  return address === undefined ? undefined : { family: 4, address };
}

/** A CIDR block or a bare address; undefined when Linkerd could not parse it either. */
export function parseCidr(text: string): Cidr | undefined {
  const slash = text.indexOf('/');
  if (slash < 0) {
    const parsed = parseAddress(text);
    return parsed ? { ...parsed, prefix: BITS[parsed.family], bare: true } : undefined;
  }
  const parsed = parseAddress(text.slice(0, slash));
  const lengthText = text.slice(slash + 1);
  if (!parsed || !/^[0-9]{1,3}$/.test(lengthText)) return undefined;
  const prefix = Number(lengthText);
  if (prefix > BITS[parsed.family]) return undefined;
  return { ...parsed, prefix, bare: false };
}

function network(cidr: Cidr, prefix: number): bigint {
  const shift = BigInt(BITS[cidr.family] - prefix);
  return cidr.address >> shift;
}

/** `outer` contains every address of `inner` (ipnet `contains`: same family, network at least
 * as large, same network bits). */
export function cidrContains(outer: Cidr, inner: Cidr): boolean {
  if (outer.family !== inner.family) return false;
  if (outer.prefix > inner.prefix) return false;
  return network(outer, outer.prefix) === network(inner, outer.prefix);
}

export function cidrContainsAddress(outer: Cidr, family: 4 | 6, address: bigint): boolean {
  return cidrContains(outer, { family, address, prefix: BITS[family], bare: true });
}

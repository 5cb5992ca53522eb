/**
 * Client addresses and networks, as the Linkerd proxy compares them
 * (linkerd/linkerd2-proxy:linkerd/proxy/server-policy/src/authz/network.rs: `net.contains(ip) &&
 * !except.any(contains)`), and as the policy controller parses them
 * (linkerd/linkerd2:policy-controller/k8s/api/src/policy/network.rs `Cidr`: a prefix, or a bare
 * address meaning that one address; host bits may be set, only the network bits count).
 *
 * IPv4 addresses are unsigned 32-bit numbers, IPv6 addresses bigints. No regular expression is
 * used; parsing follows Rust's `Ipv4Addr`/`Ipv6Addr` grammars (no leading zeros in IPv4 octets, no
 * zone index).
 */

/** An IPv4 address is a number (unsigned 32 bits), an IPv6 address a bigint. */
export type Ip = number | bigint;

export interface Net {
  v6: boolean;
  prefix: number;
  /** Network bits of the address (host bits cleared). */
  base4: number;
  mask4: number;
  base6: bigint;
  mask6: bigint;
  text: string;
}

export interface NetMatch {
  net: Net;
  except: Net[];
}

function parseIPv4(text: string): number | undefined {
  let value = 0;
  let octets = 0;
  let digits = 0;
  let current = 0;
  let leadingZero = false;
  for (let i = 0; i <= text.length; i++) {
    const c = i < text.length ? text.charCodeAt(i) : 46;
    if (c === 46 /* . */) {
      if (digits === 0 || current > 255) return undefined;
      value = value * 256 + current;
      octets++;
      digits = 0;
      current = 0;
      leadingZero = false;
      if (octets > 4) return undefined;
    } else if (c >= 48 && c <= 57) {
      if (leadingZero) return undefined;
      if (digits === 0 && c === 48) leadingZero = true;
      current = current * 10 + (c - 48);
      if (++digits > 3) return undefined;
    } else {
      return undefined;
    }
  }
  return octets === 4 ? value : undefined;
}

function hexGroup(piece: string): number | undefined {
  if (piece.length < 1 || piece.length > 4) return undefined;
  let v = 0;
  for (let i = 0; i < piece.length; i++) {
    const c = piece.charCodeAt(i);
    let d: number;
    if (c >= 48 && c <= 57) d = c - 48;
    else if (c >= 97 && c <= 102) d = c - 87;
    else if (c >= 65 && c <= 70) d = c - 55;
    else return undefined;
    v = v * 16 + d;
  }
  return v;
}

function parseIPv6(text: string): bigint | undefined {
  if (text.length === 0 || text.includes('%')) return undefined;
  const dc = text.indexOf('::');
  if (dc !== text.lastIndexOf('::')) return undefined;
  const groups = (part: string, allowV4Tail: boolean): number[] | undefined => {
    if (part === '') return [];
    const out: number[] = [];
    const pieces = part.split(':');
    for (let i = 0; i < pieces.length; i++) {
      const piece = pieces[i]!;
      if (allowV4Tail && i === pieces.length - 1 && piece.includes('.')) {
        const v4 = parseIPv4(piece);
        if (v4 === undefined) return undefined;
        out.push(Math.floor(v4 / 65536), v4 % 65536);
      } else {
        const g = hexGroup(piece);
        if (g === undefined) return undefined;
        out.push(g);
      }
    }
    return out;
  };
  let all: number[];
  if (dc >= 0) {
    const head = groups(text.slice(0, dc), false);
    const tail = groups(text.slice(dc + 2), true);
    if (!head || !tail || head.length + tail.length > 7) return undefined;
    all = [...head, ...new Array<number>(8 - head.length - tail.length).fill(0), ...tail];
  } else {
    const g = groups(text, true);
    if (!g || g.length !== 8) return undefined;
    all = g;
  }
  let v = 0n;
  for (const g of all) v = (v << 16n) | BigInt(g);
  return v;
}

export function parseIp(text: string): Ip | undefined {
  return text.includes(':') ? parseIPv6(text) : parseIPv4(text);
}

const V6_ALL = (1n << 128n) - 1n;

/** A CIDR block or a bare address; undefined when the policy controller could not parse it either. */
export function parseNet(text: string): Net | undefined {
  const slash = text.indexOf('/');
  const addressText = slash < 0 ? text : text.slice(0, slash);
  const ip = parseIp(addressText);
  if (ip === undefined) return undefined;
  const v6 = typeof ip === 'bigint';
  const bits = v6 ? 128 : 32;
  let prefix = bits;
  if (slash >= 0) {
    const lengthText = text.slice(slash + 1);
    if (!/^[0-9]{1,3}$/.test(lengthText)) return undefined;
    prefix = Number(lengthText);
    if (prefix > bits) return undefined;
  }
  if (v6) {
    const mask6 = prefix === 0 ? 0n : (V6_ALL << BigInt(128 - prefix)) & V6_ALL;
    return { v6: true, prefix, base4: 0, mask4: 0, base6: ip & mask6, mask6, text };
  }
  const mask4 = prefix === 0 ? 0 : (0xffffffff << (32 - prefix)) >>> 0;
  return { v6: false, prefix, base4: (ip & mask4) >>> 0, mask4, base6: 0n, mask6: 0n, text };
}

export function netContains(net: Net, ip: Ip): boolean {
  if (typeof ip === 'number') return !net.v6 && ((ip & net.mask4) >>> 0) === net.base4;
  return net.v6 && (ip & net.mask6) === net.base6;
}

/** `outer` contains every address of `inner`. */
export function netCovers(outer: Net, inner: Net): boolean {
  if (outer.v6 !== inner.v6 || outer.prefix > inner.prefix) return false;
  return outer.v6 ? (inner.base6 & outer.mask6) === outer.base6 : ((inner.base4 & outer.mask4) >>> 0) === outer.base4;
}

export function matchesNetworks(networks: readonly NetMatch[], ip: Ip): boolean {
  for (const m of networks) {
    if (!netContains(m.net, ip)) continue;
    let excluded = false;
    for (const e of m.except) if (netContains(e, ip)) { excluded = true; break; }
    if (!excluded) return true;
  }
  return false;
}

/** True when the networks admit every address of both families (so the client IP is irrelevant). */
export function coversEverything(networks: readonly NetMatch[]): boolean {
  let v4 = false;
  let v6 = false;
  for (const m of networks) {
    if (m.net.prefix !== 0 || m.except.length > 0) continue;
    if (m.net.v6) v6 = true;
    else v4 = true;
  }
  return v4 && v6;
}

export const ALL_NETWORKS: readonly NetMatch[] = [
  { net: parseNet('0.0.0.0/0')!, except: [] },
  { net: parseNet('::/0')!, except: [] },
];

export const LOCALHOST_NETWORKS: readonly NetMatch[] = [
  { net: parseNet('127.0.0.1')!, except: [] },
  { net: parseNet('::1')!, except: [] },
];

/** Parsed IPv6 client addresses, shared across calls (bounded); IPv4 parsing allocates nothing. */
const ip6Cache = new Map<string, bigint | null>();

export function cachedIp(text: string): Ip | undefined {
  if (!text.includes(':')) return parseIPv4(text);
  let ip = ip6Cache.get(text);
  if (ip === undefined) {
    ip = parseIPv6(text) ?? null;
    if (ip6Cache.size > 50_000) ip6Cache.clear();
    ip6Cache.set(text, ip);
  }
  return ip ?? undefined;
}

export function describeNetworks(networks: readonly NetMatch[]): string {
  if (coversEverything(networks) && networks.length === 2) return 'all networks';
  return networks.map((m) => (m.except.length ? `${m.net.text} except ${m.except.map((e) => e.text).join(', ')}` : m.net.text)).join(', ');
}

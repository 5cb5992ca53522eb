import { parseIpPrefix, prefixContains, prefixCovers, scanIp, type IpFamily, type IpPrefix } from '../../net/ip';

/**
 * Client addresses and networks, as the Linkerd proxy compares them
 * (linkerd/linkerd2-proxy:linkerd/proxy/server-policy/src/authz/network.rs: `net.contains(ip) &&
 * !except.any(contains)`), and as the policy controller parses them
 * (linkerd/linkerd2:policy-controller/k8s/api/src/policy/network.rs `Cidr`: a prefix, or a bare
 * address meaning that one address; host bits may be set, only the network bits count), on the
 * engine's one parser (`net/ip.ts`: Rust's address grammar is Go's without zones; a prefix
 * length is one to three digits).
 */

/** A client address: family and four 32-bit words (IPv4 in the first). */
export interface Ip {
  family: IpFamily;
  words: Uint32Array;
}

export type Net = IpPrefix;

export interface NetMatch {
  net: Net;
  except: Net[];
}

/** A CIDR block or a bare address; undefined when the policy controller could not parse it either. */
export function parseNet(text: string): Net | undefined {
  const parsed = parseIpPrefix(text, { length: 'rust', bare: true });
  return 'error' in parsed ? undefined : parsed;
}

export function netContains(net: Net, ip: Ip): boolean {
  return prefixContains(net, ip.family, ip.words);
}

/** `outer` contains every address of `inner`. */
export const netCovers: (outer: Net, inner: Net) => boolean = prefixCovers;

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
    if (m.net.bits !== 0 || m.except.length > 0) continue;
    if (m.net.family === 6) v6 = true;
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

/** Parsed client addresses, shared across calls (bounded): a repeated address is parsed once. */
const ipCache = new Map<string, Ip | null>();

export function cachedIp(text: string): Ip | undefined {
  let ip = ipCache.get(text);
  if (ip === undefined) {
    const words = new Uint32Array(4);
    const family = scanIp(text, 0, text.length, words, false);
    ip = family === 4 || family === 6 ? { family, words } : null;
    if (ipCache.size > 50_000) ipCache.clear();
    ipCache.set(text, ip);
  }
  return ip ?? undefined;
}

export function describeNetworks(networks: readonly NetMatch[]): string {
  if (coversEverything(networks) && networks.length === 2) return 'all networks';
  return networks.map((m) => (m.except.length ? `${m.net.text} except ${m.except.map((e) => e.text).join(', ')}` : m.net.text)).join(', ');
}

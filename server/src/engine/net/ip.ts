/**
 * The one IPv4/IPv6 address and prefix parser of the engine (Istio ipBlocks and IP conditions,
 * Linkerd networks and cluster networks, call addresses, lint checks).
 *
 * The grammar is Go's `net/netip` (`ParseAddr`, `ParsePrefix`), which is what istiod validates
 * with; Linkerd's policy controller (Rust `Ipv4Addr`/`Ipv6Addr`, `ipnet`) accepts the same
 * addresses except IPv6 zones. So: dotted-quad IPv4 with exactly four decimal fields and no
 * leading zeros; RFC 4291 IPv6 text with one `::` and an optional dotted IPv4 tail (the
 * IPv4-mapped `::ffff:192.0.2.1` is an IPv6 address, as in Go, Rust and Envoy); a zone (`%eth0`)
 * only where the caller allows it, never in a prefix. A failure carries Go's reason.
 *
 * Addresses are four 32-bit words (IPv4 in the first), written into a caller's buffer so that a
 * call's addresses are parsed without allocation; nothing here uses a regular expression on the
 * address itself.
 */

export type IpFamily = 4 | 6;

/** Returned with the family (`6 | ZONED`) when an IPv6 address carried a non-empty zone. */
const ZONED = 16;

/** Why a text is not an address or prefix: Go netip's words (istiod prints them). */
const REASONS = [
  '',
  'IPv4 field has octet with leading zero',
  'IPv4 field has value >255',
  'IPv4 field must have at least one digit',
  'IPv4 address too long',
  'unexpected character',
  'IPv4 address too short',
  'zone must be a non-empty string',
  'each colon-separated field must have at most 4 hex digits',
  'each colon-separated field must have at least one digit',
  'embedded IPv4 address must replace the final 2 fields of the address',
  'too many hex fields to fit an embedded IPv4 at the end of the address',
  'unexpected character, want colon',
  'colon must be followed by more characters',
  'multiple :: in address',
  'trailing garbage after address',
  'address string too short',
  'the :: must expand to at least one field of zeros',
  'missing IPv6 address',
  'unable to parse IP',
  'IPv6 zones are not accepted here',
] as const;

const V4_LEADING_ZERO = -1;
const V4_OVER_255 = -2;
const V4_EMPTY_FIELD = -3;
const V4_TOO_LONG = -4;
const UNEXPECTED = -5;
const V4_TOO_SHORT = -6;
const ZONE_EMPTY = -7;
const V6_FIELD_TOO_LONG = -8;
const V6_FIELD_EMPTY = -9;
const V4_EMBED_POSITION = -10;
const V4_EMBED_ROOM = -11;
const WANT_COLON = -12;
const COLON_AT_END = -13;
const MULTIPLE_ELLIPSIS = -14;
const TRAILING = -15;
const V6_TOO_SHORT = -16;
const ELLIPSIS_EMPTY = -17;
const MISSING_V6 = -18;
const UNPARSEABLE = -19;
const ZONE_REFUSED = -20;

/** The reason for a negative result of `scanIp`. */
function ipReason(code: number): string {
  return REASONS[-code] ?? 'unable to parse IP';
}

/**
 * Go `netip.ParseAddr` over `text[start, end)`: the address goes into `out`. Returns 4, 6 (or
 * `6 | ZONED` when `zones` and the address has a zone), or a negative code (`ipReason`).
 */
export function scanIp(text: string, start: number, end: number, out: Uint32Array, zones: boolean): number {
  for (let i = start; i < end; i++) {
    const c = text.charCodeAt(i);
    if (c === 46 /* . */) {
      const v4 = scanV4(text, start, end);
      if (v4 < 0) return v4;
      out[0] = v4;
      out[1] = 0; out[2] = 0; out[3] = 0;
      return 4;
    }
    if (c === 58 /* : */) {
      const family = scanV6(text, start, end, out);
      return family === (6 | ZONED) && !zones ? ZONE_REFUSED : family;
    }
    if (c === 37 /* % */) return MISSING_V6;
  }
  return UNPARSEABLE;
}

/** Go's IPv4 fields. Returns the address (an unsigned 32-bit number) or a negative code. */
function scanV4(text: string, start: number, end: number): number {
  let value = 0;
  let octet = 0;
  let digits = 0;
  let position = 0;
  for (let i = start; i < end; i++) {
    const c = text.charCodeAt(i);
    if (c >= 48 && c <= 57) {
      if (digits === 1 && octet === 0) return V4_LEADING_ZERO;
      octet = octet * 10 + (c - 48);
      digits++;
      if (octet > 255) return V4_OVER_255;
    } else if (c === 46) {
      if (i === start || i === end - 1 || text.charCodeAt(i - 1) === 46) return V4_EMPTY_FIELD;
      if (position === 3) return V4_TOO_LONG;
      position++;
      value = value * 256 + octet;
      octet = 0;
      digits = 0;
    } else {
      return UNEXPECTED;
    }
  }
  if (position < 3) return V4_TOO_SHORT;
  return value * 256 + octet;
}

function hexValue(c: number): number {
  if (c >= 48 && c <= 57) return c - 48;
  if (c >= 97 && c <= 102) return c - 87;
  if (c >= 65 && c <= 70) return c - 55;
  return -1;
}

const groups = new Uint16Array(8);

/** Go's IPv6 text (`parseIPv6`), fields counted in bytes as Go counts them. */
function scanV6(text: string, start: number, end: number, out: Uint32Array): number {
  let stop = end;
  let zoned = false;
  for (let k = start; k < end; k++) {
    if (text.charCodeAt(k) !== 37) continue;
    if (k === end - 1) return ZONE_EMPTY;
    stop = k;
    zoned = true;
    break;
  }
  groups.fill(0);
  let p = start;
  let ellipsis = -1;
  let i = 0;
  if (stop - p >= 2 && text.charCodeAt(p) === 58 && text.charCodeAt(p + 1) === 58) {
    ellipsis = 0;
    p += 2;
    if (p === stop) return finish(out, zoned);
  }
  while (i < 16) {
    let off = 0;
    let acc = 0;
    for (; p + off < stop; off++) {
      const h = hexValue(text.charCodeAt(p + off));
      if (h < 0) break;
      acc = acc * 16 + h;
      if (off > 3) return V6_FIELD_TOO_LONG;
    }
    if (off === 0) return V6_FIELD_EMPTY;
    if (p + off < stop && text.charCodeAt(p + off) === 46) {
      if (ellipsis < 0 && i !== 12) return V4_EMBED_POSITION;
      if (i + 4 > 16) return V4_EMBED_ROOM;
      const v4 = scanV4(text, p, stop);
      if (v4 < 0) return v4;
      groups[i >> 1] = Math.floor(v4 / 65536);
      groups[(i >> 1) + 1] = v4 % 65536;
      p = stop;
      i += 4;
      break;
    }
    groups[i >> 1] = acc;
    i += 2;
    p += off;
    if (p === stop) break;
    if (text.charCodeAt(p) !== 58) return WANT_COLON;
    if (p + 1 === stop) return COLON_AT_END;
    p++;
    if (text.charCodeAt(p) === 58) {
      if (ellipsis >= 0) return MULTIPLE_ELLIPSIS;
      ellipsis = i;
      p++;
      if (p === stop) break;
    }
  }
  if (p !== stop) return TRAILING;
  if (i < 16) {
    if (ellipsis < 0) return V6_TOO_SHORT;
    const shift = (16 - i) >> 1;
    for (let g = (i >> 1) - 1; g >= ellipsis >> 1; g--) groups[g + shift] = groups[g]!;
    for (let g = (ellipsis >> 1) + shift - 1; g >= ellipsis >> 1; g--) groups[g] = 0;
  } else if (ellipsis >= 0) {
    return ELLIPSIS_EMPTY;
  }
  return finish(out, zoned);
}

function finish(out: Uint32Array, zoned: boolean): number {
  for (let k = 0; k < 4; k++) out[k] = ((groups[2 * k]! << 16) | groups[2 * k + 1]!) >>> 0;
  return zoned ? 6 | ZONED : 6;
}

/**
 * A call's address (`ip`, or with `allowPort` also `ip:port` / `[v6]:port`, a zone ignored) into
 * `out`. Returns the family, or 0 when the text is not an address. Allocates nothing.
 */
export function parseIpInto(text: string, out: Uint32Array, allowPort = false): 0 | IpFamily {
  let start = 0;
  let end = text.length;
  if (allowPort) {
    if (text.charCodeAt(0) === 91 /* [ */) {
      const close = text.indexOf(']');
      if (close < 0) return 0;
      start = 1;
      end = close;
    } else {
      const colon = text.indexOf(':');
      if (colon >= 0 && text.indexOf(':', colon + 1) < 0) end = colon; // a.b.c.d:port
    }
    const percent = text.indexOf('%', start);
    if (percent >= 0 && percent < end) end = percent;
  }
  const family = scanIp(text, start, end, out, false);
  return family === 4 || family === 6 ? family : 0;
}

/** An address or prefix, or why it is not one. */
export type IpParse<T> = T | { error: string };

export interface IpAddress {
  family: IpFamily;
  words: Uint32Array;
  /** The zone (`eth0` of `fe80::1%eth0`), empty when there is none. */
  zone: string;
}

/** Go `netip.ParseAddr`; `zones`: whether an IPv6 zone is accepted. */
export function parseIp(text: string, zones = false): IpParse<IpAddress> {
  const words = new Uint32Array(4);
  const result = scanIp(text, 0, text.length, words, zones);
  if (result < 0) return { error: ipReason(result) };
  return { family: (result & 6) as IpFamily, words, zone: result & ZONED ? text.slice(text.indexOf('%') + 1) : '' };
}

export interface IpPrefix {
  family: IpFamily;
  /** The network: the address with the host bits cleared. */
  words: Uint32Array;
  /** The address as written, host bits included. */
  address: Uint32Array;
  /** The prefix length; a bare address has the whole length (32 or 128). */
  bits: number;
  /** Written without `/length`. */
  bare: boolean;
  text: string;
}

/**
 * How a prefix length is written: `go` as `netip.ParsePrefix` reads it (decimal, no sign, no
 * leading zeros), `rust` as Linkerd's controller does (one to three decimal digits).
 */
export type PrefixLengthGrammar = 'go' | 'rust';

/**
 * A prefix (`10.0.0.0/8`, `fd00::/8`; host bits may be set and are ignored) or, when `bare` is
 * allowed, a single address meaning that one address. Zones are never part of a prefix; on a
 * bare address only when `zones`. The reason of a failure is Go's, as `netip.ParsePrefix` gives it.
 */
export function parseIpPrefix(text: string, options: { length: PrefixLengthGrammar; bare: boolean; zones?: boolean }): IpParse<IpPrefix> {
  const slash = text.lastIndexOf('/');
  const address = new Uint32Array(4);
  if (slash < 0) {
    if (!options.bare) return { error: "no '/'" };
    const result = scanIp(text, 0, text.length, address, options.zones ?? false);
    if (result < 0) return { error: ipReason(result) };
    const family = (result & 6) as IpFamily;
    const bits = family === 4 ? 32 : 128;
    return { family, words: address.slice(), address, bits, bare: true, text };
  }
  const result = scanIp(text, 0, slash, address, true);
  if (result < 0) return { error: ipReason(result) };
  if (result & ZONED) return { error: 'IPv6 zones cannot be present in a prefix' };
  const family = result as IpFamily;
  const lengthText = text.slice(slash + 1);
  if (!validLength(lengthText, options.length)) return { error: `bad bits after slash: ${JSON.stringify(lengthText)}` };
  const bits = Number(lengthText);
  if (bits > (family === 4 ? 32 : 128)) return { error: 'prefix length out of range' };
  return { family, words: masked(address, bits), address, bits, bare: false, text };
}

function validLength(text: string, grammar: PrefixLengthGrammar): boolean {
  if (text.length === 0) return false;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c < 48 || c > 57) return false;
  }
  return grammar === 'go' ? text.length === 1 || text.charCodeAt(0) !== 48 : text.length <= 3;
}

function masked(address: Uint32Array, bits: number): Uint32Array {
  const words = new Uint32Array(4);
  for (let k = 0; k < 4; k++) {
    const keep = Math.max(0, Math.min(32, bits - 32 * k));
    words[k] = keep === 0 ? 0 : keep === 32 ? address[k]! : (address[k]! & (0xffffffff << (32 - keep))) >>> 0;
  }
  return words;
}

/** Whether an address (family and words) lies in the prefix. Families never mix (Envoy's
 * `CidrRange::isInRange`, Rust's `IpNet::contains`): an IPv4 prefix holds no IPv6 address. */
export function prefixContains(prefix: IpPrefix, family: number, address: Uint32Array): boolean {
  if (family !== prefix.family) return false;
  let bits = prefix.bits;
  for (let k = 0; bits > 0; k++, bits -= 32) {
    const word = bits >= 32 ? address[k]! : (address[k]! & (0xffffffff << (32 - bits))) >>> 0;
    if (word !== prefix.words[k]) return false;
  }
  return true;
}

/** Whether `outer` holds every address of `inner`. */
export function prefixCovers(outer: IpPrefix, inner: IpPrefix): boolean {
  return outer.bits <= inner.bits && prefixContains(outer, inner.family, inner.words);
}


/**
 * IPv4/IPv6 addresses and CIDR prefixes, parsed without regular expressions or allocation so a
 * call's addresses can be parsed once per decision into a reused buffer.
 *
 * Policy values follow Go's `netip.ParseAddr` / `netip.ParsePrefix` (what istiod validates with):
 * dotted-quad IPv4 without leading zeros, RFC 4291 IPv6 text (with `::` and an embedded IPv4
 * tail), no zones in prefixes. Host bits after the prefix length are allowed and ignored (Envoy
 * masks them). Matching is per family: an IPv4 prefix never matches an IPv6 address, as in
 * Envoy's `CidrRange::isInRange`.
 */

/** Address family: 4, 6, or 0 when the text is not an address. */
export type Family = 0 | 4 | 6;

/**
 * Parses `text` (optionally `ip:port` / `[v6]:port` when `allowPort`) into `out` (four 32-bit
 * words; IPv4 uses `out[0]`). Returns the family, or 0 when the text is not an address.
 */
export function parseIpInto(text: string, out: Uint32Array, allowPort = false): Family {
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
  }
  // A zone (fe80::1%eth0) in a call's address: ignore the zone.
  const percent = text.indexOf('%', start);
  if (percent >= 0 && percent < end) {
    if (!allowPort) return 0;
    end = percent;
  }
  let colon = false;
  for (let i = start; i < end; i++) if (text.charCodeAt(i) === 58) { colon = true; break; }
  if (!colon) {
    const v4 = parseV4(text, start, end);
    if (v4 < 0) return 0;
    out[0] = v4;
    out[1] = 0; out[2] = 0; out[3] = 0;
    return 4;
  }
  return parseV6(text, start, end, out) ? 6 : 0;
}

/** Dotted quad, Go-strict (no leading zeros, exactly four parts). Returns -1 on error. */
function parseV4(text: string, start: number, end: number): number {
  let value = 0;
  let parts = 0;
  let i = start;
  while (parts < 4) {
    if (i >= end) return -1;
    let octet = 0;
    let digits = 0;
    const first = i;
    while (i < end) {
      const c = text.charCodeAt(i);
      if (c < 48 || c > 57) break;
      octet = octet * 10 + (c - 48);
      digits++;
      i++;
      if (digits > 3) return -1;
    }
    if (digits === 0 || octet > 255) return -1;
    if (digits > 1 && text.charCodeAt(first) === 48) return -1; // leading zero
    value = value * 256 + octet;
    parts++;
    if (parts < 4) {
      if (i >= end || text.charCodeAt(i) !== 46) return -1;
      i++;
    }
  }
  if (i !== end) return -1;
  return value >>> 0;
}

function hexValue(c: number): number {
  if (c >= 48 && c <= 57) return c - 48;
  if (c >= 97 && c <= 102) return c - 87;
  if (c >= 65 && c <= 70) return c - 55;
  return -1;
}

const groups = new Uint16Array(8);
const scratch = new Uint16Array(8);

function parseV6(text: string, start: number, end: number, out: Uint32Array): boolean {
  let count = 0;
  let gap = -1;
  let i = start;
  if (i < end && text.charCodeAt(i) === 58) {
    if (i + 1 >= end || text.charCodeAt(i + 1) !== 58) return false;
    gap = 0;
    i += 2;
    if (i === end) {
      out[0] = 0; out[1] = 0; out[2] = 0; out[3] = 0;
      return true;
    }
  }
  while (i < end) {
    if (count >= 8) return false;
    // An embedded IPv4 tail (::ffff:1.2.3.4)?
    let j = i;
    let dot = false;
    while (j < end) {
      const c = text.charCodeAt(j);
      if (c === 46) { dot = true; break; }
      if (c === 58) break;
      j++;
    }
    if (dot) {
      if (count > 6) return false;
      const v4 = parseV4(text, i, end);
      if (v4 < 0) return false;
      groups[count++] = v4 >>> 16;
      groups[count++] = v4 & 0xffff;
      i = end;
      break;
    }
    let value = 0;
    let digits = 0;
    while (i < end) {
      const h = hexValue(text.charCodeAt(i));
      if (h < 0) break;
      value = value * 16 + h;
      digits++;
      i++;
      if (digits > 4) return false;
    }
    if (digits === 0) return false;
    groups[count++] = value;
    if (i === end) break;
    if (text.charCodeAt(i) !== 58) return false;
    i++;
    if (i < end && text.charCodeAt(i) === 58) {
      if (gap >= 0) return false;
      gap = count;
      i++;
      if (i === end) break;
    } else if (i === end) {
      return false; // trailing single colon
    }
  }
  if (gap < 0 && count !== 8) return false;
  if (gap >= 0 && count > 7) return false;
  const words = scratch;
  words.fill(0);
  if (gap < 0) {
    for (let k = 0; k < 8; k++) words[k] = groups[k]!;
  } else {
    const tail = count - gap;
    for (let k = 0; k < gap; k++) words[k] = groups[k]!;
    for (let k = 0; k < tail; k++) words[8 - tail + k] = groups[gap + k]!;
  }
  for (let k = 0; k < 4; k++) out[k] = ((words[2 * k]! << 16) | words[2 * k + 1]!) >>> 0;
  return true;
}

/** A parsed prefix: family, the masked address words, and the prefix length. */
export interface Cidr {
  family: 4 | 6;
  words: Uint32Array;
  bits: number;
  text: string;
}

/**
 * Parses a policy value as istiod does: with a `/` it must be a prefix (`netip.ParsePrefix`),
 * else a single address (`/32` or `/128`). Returns an error message for a bad value.
 */
export function parseCidr(text: string): Cidr | string {
  const slash = text.indexOf('/');
  const words = new Uint32Array(4);
  if (slash < 0) {
    const family = parseIpInto(text, words);
    if (family === 0) return `bad IP address (${text})`;
    return { family, words, bits: family === 4 ? 32 : 128, text };
  }
  const family = parseIpInto(text.slice(0, slash), words);
  const lengthText = text.slice(slash + 1);
  if (family === 0 || !/^(0|[1-9][0-9]{0,2})$/.test(lengthText)) return `bad CIDR range (${text})`;
  const bits = Number(lengthText);
  if (bits > (family === 4 ? 32 : 128)) return `bad CIDR range (${text})`;
  mask(words, family, bits);
  return { family, words, bits, text };
}

function mask(words: Uint32Array, family: 4 | 6, bits: number): void {
  const count = family === 4 ? 1 : 4;
  for (let k = 0; k < count; k++) {
    const keep = Math.max(0, Math.min(32, bits - 32 * k));
    words[k] = keep === 0 ? 0 : keep === 32 ? words[k]! : (words[k]! & (0xffffffff << (32 - keep))) >>> 0;
  }
}

/** Whether a parsed address (family + words) lies in the prefix. */
export function cidrContains(cidr: Cidr, family: Family, address: Uint32Array): boolean {
  if (family !== cidr.family) return false;
  let bits = cidr.bits;
  for (let k = 0; bits > 0; k++, bits -= 32) {
    const keep = bits >= 32 ? 32 : bits;
    const word = keep === 32 ? address[k]! : (address[k]! & (0xffffffff << (32 - keep))) >>> 0;
    if (word !== cidr.words[k]) return false;
  }
  return true;
}

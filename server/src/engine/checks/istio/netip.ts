/**
 * IP address and prefix parsing with the semantics of Go's `net/netip` (`ParseAddr`,
 * `ParsePrefix`), which istiod uses to validate `ipBlocks`, `remoteIpBlocks` and the IP `when`
 * keys. Differences from looser parsers matter here: no leading zeros in IPv4 octets, exactly
 * four IPv4 fields, IPv6 zones allowed on an address but not in a prefix, prefix bits written
 * without sign or leading zeros, and host bits after the prefix length are accepted.
 */

export type ParseResult = { ok: true; bits: 32 | 128; zone: string } | { ok: false; error: string };

function fail(error: string): ParseResult {
  return { ok: false, error };
}

/** Parses the IPv4 fields of `s` (the whole string or the tail of an IPv6 address). */
function parseIPv4Fields(s: string): string | undefined {
  let value = 0;
  let position = 0;
  let digits = 0;
  for (let i = 0; i < s.length; i++) {
    const c = s[i]!;
    if (c >= '0' && c <= '9') {
      if (digits === 1 && value === 0) return 'IPv4 field has octet with leading zero';
      value = value * 10 + (c.charCodeAt(0) - 48);
      digits++;
      if (value > 255) return 'IPv4 field has value >255';
    } else if (c === '.') {
      if (i === 0 || i === s.length - 1 || s[i - 1] === '.') return 'IPv4 field must have at least one digit';
      if (position === 3) return 'IPv4 address too long';
      position++;
      value = 0;
      digits = 0;
    } else {
      return 'unexpected character';
    }
  }
  if (position < 3) return 'IPv4 address too short';
  return undefined;
}

function hexValue(c: string): number {
  const code = c.charCodeAt(0);
  if (code >= 48 && code <= 57) return code - 48;
  if (code >= 97 && code <= 102) return code - 87;
  if (code >= 65 && code <= 70) return code - 55;
  return -1;
}

function parseIPv6(input: string): ParseResult {
  let s = input;
  let zone = '';
  const percent = s.indexOf('%');
  if (percent !== -1) {
    zone = s.slice(percent + 1);
    s = s.slice(0, percent);
    if (zone === '') return fail('zone must be a non-empty string');
  }
  let ellipsis = -1;
  if (s.length >= 2 && s[0] === ':' && s[1] === ':') {
    ellipsis = 0;
    s = s.slice(2);
    if (s.length === 0) return { ok: true, bits: 128, zone };
  }
  let i = 0;
  while (i < 16) {
    let off = 0;
    let acc = 0;
    for (; off < s.length; off++) {
      const h = hexValue(s[off]!);
      if (h < 0) break;
      acc = acc * 16 + h;
      if (off > 3) return fail('each colon-separated field must have at most 4 hex digits');
      if (acc > 0xffff) return fail('IPv6 field has value >=2^16');
    }
    if (off === 0) return fail('each colon-separated field must have at least one digit');
    if (off < s.length && s[off] === '.') {
      if (ellipsis < 0 && i !== 12) return fail('embedded IPv4 address must replace the final 2 fields of the address');
      if (i + 4 > 16) return fail('too many hex fields to fit an embedded IPv4 at the end of the address');
      const error = parseIPv4Fields(s);
      if (error) return fail(error);
      s = '';
      i += 4;
      break;
    }
    i += 2;
    s = s.slice(off);
    if (s.length === 0) break;
    if (s[0] !== ':') return fail('unexpected character, want colon');
    if (s.length === 1) return fail('colon must be followed by more characters');
    s = s.slice(1);
    if (s[0] === ':') {
      if (ellipsis >= 0) return fail('multiple :: in address');
      ellipsis = i;
      s = s.slice(1);
      if (s.length === 0) break;
    }
  }
  if (s.length !== 0) return fail('trailing garbage after address');
  if (i < 16) {
    if (ellipsis < 0) return fail('address string too short');
  } else if (ellipsis >= 0) {
    return fail('the :: must expand to at least one field of zeros');
  }
  return { ok: true, bits: 128, zone };
}

/** Go `netip.ParseAddr`. */
export function parseAddr(s: string): ParseResult {
  for (const c of s) {
    if (c === '.') {
      const error = parseIPv4Fields(s);
      return error ? fail(error) : { ok: true, bits: 32, zone: '' };
    }
    if (c === ':') return parseIPv6(s);
    if (c === '%') return fail('missing IPv6 address');
  }
  return fail('unable to parse IP');
}

/** Go `netip.ParsePrefix`. */
export function parsePrefix(s: string): ParseResult {
  const slash = s.lastIndexOf('/');
  if (slash < 0) return fail("no '/'");
  const address = parseAddr(s.slice(0, slash));
  if (!address.ok) return address;
  if (address.bits === 128 && address.zone !== '') return fail('IPv6 zones cannot be present in a prefix');
  const bits = s.slice(slash + 1);
  if (!/^(0|[1-9][0-9]*)$/.test(bits)) return fail(`bad bits after slash: ${JSON.stringify(bits)}`);
  if (Number(bits) > address.bits) return fail('prefix length out of range');
  return address;
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

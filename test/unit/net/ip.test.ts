import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { parseIp, parseIpInto, parseIpPrefix, prefixContains, prefixCovers, type IpPrefix } from '../../../server/src/engine/net/ip';

// The engine's one IP parser (net/ip.ts). Expected values: RFC 4291 §2.2 (text forms, `::`,
// embedded IPv4), RFC 5952 examples, Go's net/netip tests and error strings (netip.go
// parseIPv4/parseIPv6/ParsePrefix), Rust's Ipv4Addr/Ipv6Addr grammar (no zones) for Linkerd.

const hex = (words: Uint32Array) => [...words].map((w) => w.toString(16).padStart(8, '0')).join(' ');

describe('net/ip: addresses (Go netip.ParseAddr)', () => {
  // [text, family, the four words in hex]
  const valid: [string, 4 | 6, string][] = [
    ['0.0.0.0', 4, '00000000 00000000 00000000 00000000'],
    ['192.0.2.1', 4, 'c0000201 00000000 00000000 00000000'],
    ['255.255.255.255', 4, 'ffffffff 00000000 00000000 00000000'],
    ['2001:DB8:0:0:8:800:200C:417A', 6, '20010db8 00000000 00080800 200c417a'], // RFC 4291 §2.2 (1)
    ['2001:DB8::8:800:200C:417A', 6, '20010db8 00000000 00080800 200c417a'], // the same, compressed (2)
    ['FF01::101', 6, 'ff010000 00000000 00000000 00000101'],
    ['::1', 6, '00000000 00000000 00000000 00000001'],
    ['::', 6, '00000000 00000000 00000000 00000000'],
    ['1::', 6, '00010000 00000000 00000000 00000000'],
    ['::13.1.68.3', 6, '00000000 00000000 00000000 0d014403'], // RFC 4291 §2.2 (3), IPv4-compatible
    ['::FFFF:129.144.52.38', 6, '00000000 00000000 0000ffff 81903426'], // IPv4-mapped
    ['0:0:0:0:0:FFFF:129.144.52.38', 6, '00000000 00000000 0000ffff 81903426'],
    ['2001:db8::1:0:0:1', 6, '20010db8 00000000 00010000 00000001'], // RFC 5952 §4.2.3
    ['1:2:3:4:5:6:7:8', 6, '00010002 00030004 00050006 00070008'],
    ['1:2:3:4:5:6:1.2.3.4', 6, '00010002 00030004 00050006 01020304'],
    ['1::2:1.2.3.4', 6, '00010000 00000000 00000002 01020304'],
  ];
  for (const [text, family, words] of valid) {
    it(`${text} → IPv${family} ${words}`, () => {
      const parsed = parseIp(text);
      assert.ok(!('error' in parsed), JSON.stringify(parsed));
      assert.equal(parsed.family, family);
      assert.equal(hex(parsed.words), words);
      const out = new Uint32Array(4);
      assert.equal(parseIpInto(text, out), family);
      assert.equal(hex(out), words);
    });
  }

  // [text, Go's reason]
  const invalid: [string, string][] = [
    ['', 'unable to parse IP'],
    ['example.com', 'unexpected character'],
    ['abc', 'unable to parse IP'],
    ['010.0.0.1', 'IPv4 field has octet with leading zero'],
    ['1.2.3.256', 'IPv4 field has value >255'],
    ['1..2.3', 'IPv4 field must have at least one digit'],
    ['.1.2.3', 'IPv4 field must have at least one digit'],
    ['1.2.3.', 'IPv4 field must have at least one digit'],
    ['1.2.3.4.5', 'IPv4 address too long'],
    ['1.2.3', 'IPv4 address too short'],
    ['1.2.3.4%eth0', 'unexpected character'],
    ['%eth0', 'missing IPv6 address'],
    ['fe80::1%', 'zone must be a non-empty string'],
    ['12345::', 'each colon-separated field must have at most 4 hex digits'],
    [':1::2', 'each colon-separated field must have at least one digit'],
    ['1:2:3:4:5:1.2.3.4', 'embedded IPv4 address must replace the final 2 fields of the address'],
    ['1:2:3:4:5:6:7::1.2.3.4', 'too many hex fields to fit an embedded IPv4 at the end of the address'],
    ['1:2:3:4:5:6:7:8:9', 'trailing garbage after address'],
    ['1:2:3:4:5:6:7:g', 'each colon-separated field must have at least one digit'],
    ['1:2:3:4:5:6:7x8', 'unexpected character, want colon'],
    ['1::2:', 'colon must be followed by more characters'],
    ['1::2::3', 'multiple :: in address'],
    ['1:2:3:4:5:6:7', 'address string too short'],
    ['1:2:3:4::5:6:7:8', 'the :: must expand to at least one field of zeros'],
    ['1.2.3.4::', 'unexpected character'],
    ['::1.2.3.4:5', 'unexpected character'],
  ];
  for (const [text, reason] of invalid) {
    it(`${JSON.stringify(text)}: ${reason}`, () => {
      assert.deepEqual(parseIp(text), { error: reason });
      assert.equal(parseIpInto(text, new Uint32Array(4)), 0);
    });
  }

  it('zones: accepted only where the caller allows them (Go addresses), never by default (Rust, Istio values)', () => {
    const zoned = parseIp('fe80::1%eth0', true);
    assert.ok(!('error' in zoned));
    assert.equal(zoned.zone, 'eth0');
    assert.equal(hex(zoned.words), 'fe800000 00000000 00000000 00000001');
    assert.deepEqual(parseIp('fe80::1%eth0'), { error: 'IPv6 zones are not accepted here' });
  });

  it('a call\'s address with a port, in brackets, or with a zone', () => {
    const out = new Uint32Array(4);
    for (const [text, family, words] of [['10.1.2.3:8080', 4, '0a010203 00000000 00000000 00000000'], ['[2001:db8::1]:443', 6, '20010db8 00000000 00000000 00000001'], ['[fe80::1%eth0]:80', 6, 'fe800000 00000000 00000000 00000001'], ['2001:db8::1', 6, '20010db8 00000000 00000000 00000001']] as const) {
      assert.equal(parseIpInto(text, out, true), family, text);
      assert.equal(hex(out), words, text);
    }
    assert.equal(parseIpInto('[2001:db8::1:443', out, true), 0);
    assert.equal(parseIpInto('10.1.2.3:8080', out), 0, 'no port without allowPort');
  });

  it('an IPv4-mapped address stays IPv6, alone or as a call\'s address with a port (RFC 4291 §2.5.5.2)', () => {
    const mapped = parseIp('::ffff:192.0.2.1');
    assert.ok(!('error' in mapped));
    assert.deepEqual([mapped.family, hex(mapped.words)], [6, '00000000 00000000 0000ffff c0000201']);
    const out = new Uint32Array(4);
    assert.equal(parseIpInto('[::ffff:192.0.2.1]:8080', out, true), 6);
    assert.equal(hex(out), '00000000 00000000 0000ffff c0000201');
  });
});

describe('net/ip: prefixes (Go netip.ParsePrefix; Linkerd Cidr)', () => {
  const go = (text: string) => parseIpPrefix(text, { length: 'go', bare: false });
  const linkerd = (text: string) => parseIpPrefix(text, { length: 'rust', bare: true });
  const ok = (p: ReturnType<typeof go>): IpPrefix => {
    assert.ok(!('error' in p), JSON.stringify(p));
    return p;
  };

  // [text, family, bits, masked network in hex]
  const valid: [string, 4 | 6, number, string][] = [
    ['10.0.0.0/8', 4, 8, '0a000000 00000000 00000000 00000000'],
    ['10.1.2.3/8', 4, 8, '0a000000 00000000 00000000 00000000'], // host bits ignored
    ['0.0.0.0/0', 4, 0, '00000000 00000000 00000000 00000000'],
    ['192.168.1.255/23', 4, 23, 'c0a80000 00000000 00000000 00000000'],
    ['2001:db8:abcd:12::1/48', 6, 48, '20010db8 abcd0000 00000000 00000000'],
    ['::ffff:10.0.0.0/104', 6, 104, '00000000 00000000 0000ffff 0a000000'],
    ['::/0', 6, 0, '00000000 00000000 00000000 00000000'],
    ['fd00::1/127', 6, 127, 'fd000000 00000000 00000000 00000000'],
  ];
  for (const [text, family, bits, words] of valid) {
    it(`${text} → IPv${family}/${bits} ${words}`, () => {
      for (const p of [ok(go(text)), ok(linkerd(text))]) {
        assert.equal(p.family, family);
        assert.equal(p.bits, bits);
        assert.equal(hex(p.words), words);
        assert.equal(p.bare, false);
      }
    });
  }

  const invalid: [string, string][] = [
    ['10.0.0.0', "no '/'"],
    ['10.0.0.0/33', 'prefix length out of range'],
    ['::/129', 'prefix length out of range'],
    ['10.0.0.0/08', 'bad bits after slash: "08"'],
    ['10.0.0.0/+8', 'bad bits after slash: "+8"'],
    ['10.0.0.0/-1', 'bad bits after slash: "-1"'],
    ['10.0.0.0/', 'bad bits after slash: ""'],
    ['fe80::%eth0/64', 'IPv6 zones cannot be present in a prefix'],
    ['10.0.0/8', 'IPv4 address too short'],
    ['1.2.3.4/8/8', 'unexpected character'],
  ];
  for (const [text, reason] of invalid) it(`${text}: ${reason}`, () => assert.deepEqual(go(text), { error: reason }));

  it('length grammars: Go takes no leading zeros, Linkerd one to three digits', () => {
    assert.equal(ok(linkerd('10.0.0.0/08')).bits, 8);
    assert.ok('error' in linkerd('10.0.0.0/0008'));
    assert.ok('error' in linkerd('10.0.0.0/+8'));
    assert.equal(ok(go('2001:db8::/128')).bits, 128);
  });

  it('a bare address is that one address, where allowed', () => {
    const p = ok(linkerd('192.0.2.7'));
    assert.deepEqual([p.family, p.bits, p.bare], [4, 32, true]);
    const v6 = ok(linkerd('2001:db8::7'));
    assert.deepEqual([v6.family, v6.bits, v6.bare], [6, 128, true]);
    assert.ok('error' in linkerd('fe80::1%eth0'), 'no zone (Rust)');
  });

  // [prefix, address, contained]
  const containment: [string, string, boolean][] = [
    ['10.0.0.0/8', '10.255.255.255', true],
    ['10.0.0.0/8', '11.0.0.0', false],
    ['192.168.0.0/23', '192.168.1.255', true],
    ['192.168.0.0/23', '192.168.2.0', false],
    ['0.0.0.0/0', '8.8.8.8', true],
    ['0.0.0.0/0', '::1', false], // families never mix
    ['0.0.0.0/0', '::ffff:8.8.8.8', false], // an IPv4-mapped address is IPv6
    ['::ffff:0.0.0.0/96', '::ffff:8.8.8.8', true],
    ['::/0', '::ffff:8.8.8.8', true],
    ['2001:db8:abcd::/48', '2001:db8:abcd:1::5', true],
    ['2001:db8:abcd::/48', '2001:db8:abce::5', false],
    ['fd00::/8', 'fdff:ffff::1', true],
    ['fd00::/8', 'fe00::1', false],
    ['192.0.2.7', '192.0.2.7', true],
    ['192.0.2.7', '192.0.2.8', false],
  ];
  for (const [prefix, address, inside] of containment) {
    it(`${address} ${inside ? 'in' : 'not in'} ${prefix}`, () => {
      const p = ok(linkerd(prefix));
      const a = parseIp(address);
      assert.ok(!('error' in a));
      assert.equal(prefixContains(p, a.family, a.words), inside);
    });
  }

  // [outer, inner, outer covers inner]
  const covers: [string, string, boolean][] = [
    ['10.0.0.0/8', '10.96.0.0/12', true],
    ['10.96.0.0/12', '10.0.0.0/8', false],
    ['10.0.0.0/8', '10.0.0.0/8', true],
    ['10.0.0.0/8', '11.0.0.0/8', false],
    ['::/0', '0.0.0.0/0', false],
    ['192.0.2.7', '192.0.2.7/32', true],
    ['fd00::/8', 'fd12:3456::/32', true],
  ];
  for (const [outer, inner, expected] of covers) {
    it(`${outer} ${expected ? 'covers' : 'does not cover'} ${inner}`, () => assert.equal(prefixCovers(ok(linkerd(outer)), ok(linkerd(inner))), expected));
  }
});

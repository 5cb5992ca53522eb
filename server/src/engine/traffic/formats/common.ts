import { PARTIAL_LINE, UNENDED_PARTIAL_LINE, type SkippedLine } from '../readerTypes';
import { mixLongTail } from '../hash';

/**
 * Helpers shared by the log-format readers: the stable skip results, address and time parsing.
 * Everything here runs once per line, so nothing allocates more than the values it returns.
 */

function skipped(reason: string): SkippedLine {
  return Object.freeze({ kind: 'skip', reason }) as SkippedLine;
}

/** Skip results are shared, frozen objects: compare `reason`, never mutate them. */
export const SKIP = {
  blank: skipped('blank line'),
  notJson: skipped('not JSON'),
  notObject: skipped('not a JSON object'),
  noFields: skipped('no access log fields'),
  notEnvoyText: skipped('not an Envoy access log line'),
  notLinkerd: skipped('not a Linkerd access log line'),
  linkerdProxyLog: skipped('Linkerd proxy log line, not an access log line'),
  partialStdout: Object.freeze({ kind: 'skip', reason: PARTIAL_LINE, held: 'stdout' }) as SkippedLine,
  partialStderr: Object.freeze({ kind: 'skip', reason: PARTIAL_LINE, held: 'stderr' }) as SkippedLine,
  unendedPartial: skipped(UNENDED_PARTIAL_LINE),
  emptyEnvelope: skipped('shipper record without a log line'),
} as const;

export function skipWith(reason: string): SkippedLine {
  return { kind: 'skip', reason };
}

/**
 * Whether a value an Envoy operator's `:N` limit applies to may have been cut: Envoy cuts the
 * value's bytes (UTF-8) to N, so a value of N bytes or more is not known to be whole. A character
 * the cut split reads back as U+FFFD, three bytes: such a value counts as reaching its limit.
 */
export function reachesByteLimit(value: string, limit: number): boolean {
  if (value.length >= limit) return true;
  let bytes = 0;
  for (let i = 0; i < value.length; i++) {
    const c = value.charCodeAt(i);
    if (c < 0x80) bytes += 1;
    else if (c < 0x800) bytes += 2;
    else if (c >= 0xd800 && c < 0xdc00 && i + 1 < value.length && (value.charCodeAt(i + 1) & 0xfc00) === 0xdc00) {
      bytes += 4;
      i++;
    } else bytes += 3;
    if (bytes >= limit) return true;
  }
  return false;
}

/**
 * Whether a value from a line is one character below U+0004. Line keys use those characters as
 * separators and as a reader's own one-character parts (an absent value, no IP), so a reader
 * sends a line with such a value the full way; longer values with one are caught by
 * hashKeyParts.
 */
export function isKeyMarker(value: string | undefined): boolean {
  return value !== undefined && value.length === 1 && value.charCodeAt(0) < 4;
}

/**
 * The hash of a line key's parts (LineKey.hash): `mix` over the parts, as a small integer (30
 * bits, so a Map keyed by it does not box its keys). -1 when a part of two characters or more
 * holds a character below U+0004 (a key separator): the line then goes the full way. Checking the
 * parts as they are hashed costs less than a scan of the whole line, and the other fields of the
 * line never enter its key.
 */
export function hashKeyParts(parts: readonly string[]): number {
  let x = 0x811c9dc5;
  for (let p = 0; p < parts.length; p++) {
    const part = parts[p]!;
    const n = part.length;
    x = Math.imul(x ^ n, 16777619);
    if (n === 1) x = Math.imul(x ^ part.charCodeAt(0), 16777619);
    else if (n <= 128) {
      for (let i = 0; i < n; i++) {
        const c = part.charCodeAt(i);
        if (c < 4) return -1;
        x = Math.imul(x ^ c, 16777619);
      }
    } else {
      // (as `mix` does for a long value: its length, both ends and a middle sample)
      for (let i = 0; i < n; i++) if (part.charCodeAt(i) < 4) return -1;
      x = mixLongTail(x, part);
    }
  }
  return x & 0x3fffffff;
}

let readerKeys = 0;

/** A prefix that tells one reader's (or format's) line keys from every other's. */
export function newKeyPrefix(): string {
  return `r${++readerKeys}`;
}

/** True when the line holds nothing but whitespace. */
export function isBlank(line: string): boolean {
  for (let i = 0; i < line.length; i++) {
    const c = line.charCodeAt(i);
    if (c !== 32 && c !== 9 && c !== 10 && c !== 13) return false;
  }
  return true;
}

/** `-`, the empty string and absent all mean "no value" in Envoy and Linkerd logs. */
export function present(value: string | undefined): string | undefined {
  return value === undefined || value === '' || value === '-' ? undefined : value;
}

/**
 * The IP of `ip:port`, `[v6]:port`, a bare IP, or `tcp://ip:port` (older Envoy TCP proxies).
 * Envoy's internal addresses (`envoy://...`) and pipe paths have no IP.
 */
export function addressIp(address: string): string | undefined {
  const c = address.charCodeAt(0);
  if (c >= 48 && c <= 57) {
    // IPv4 with or without a port (the common case), or a bare IPv6 address.
    const colon = address.indexOf(':');
    if (colon < 0) return address;
    return address.indexOf(':', colon + 1) < 0 ? address.slice(0, colon) : address;
  }
  if (c === 91 /* [ */) {
    const close = address.indexOf(']');
    return close > 1 ? address.slice(1, close) : undefined;
  }
  const scheme = address.indexOf('://');
  if (scheme >= 0) {
    if (!address.startsWith('tcp') && !address.startsWith('udp')) return undefined;
    return addressIp(address.slice(scheme + 3));
  }
  if (c === 47 /* / */ || address.length === 0) return undefined;
  // A bare IPv6 address starting with a letter (fd00::1).
  return address.indexOf(':') >= 0 ? address : undefined;
}

/** The port of `ip:port` or `[v6]:port`; undefined for a bare IP or a port that is not 1-65535. */
export function addressPort(address: string): number | undefined {
  const colon = address.lastIndexOf(':');
  if (colon < 0) return undefined;
  const c = address.charCodeAt(0);
  if (c >= 48 && c <= 57) {
    if (address.indexOf(':') !== colon) return undefined; // bare IPv6
  } else if (c === 91 /* [ */) {
    if (address.charCodeAt(colon - 1) !== 93 /* ] */) return undefined;
  } else if (address.indexOf('://') < 0) {
    return undefined;
  }
  return parsePort(address, colon + 1, address.length);
}

/** Digits in s[start, end) as a port number (1-65535), else undefined. */
export function parsePort(s: string, start: number, end: number): number | undefined {
  if (end <= start || end - start > 5) return undefined;
  let n = 0;
  for (let i = start; i < end; i++) {
    const d = s.charCodeAt(i) - 48;
    if (d < 0 || d > 9) return undefined;
    n = n * 10 + d;
  }
  return n > 0 && n <= 65535 ? n : undefined;
}

/** A non-negative decimal integer (a status code), else undefined. Accepts "403" and "403.0". */
export function parseStatus(s: string | undefined): number | undefined {
  if (s === undefined || s.length === 0 || s.length > 6) return undefined;
  let n = 0;
  for (let i = 0; i < s.length; i++) {
    const d = s.charCodeAt(i) - 48;
    if (d < 0 || d > 9) {
      if (s.charCodeAt(i) === 46 /* . */ && ZERO_FRACTION.test(s.slice(i))) break;
      return undefined;
    }
    n = n * 10 + d;
  }
  return n;
}

function digits(s: string, from: number, to: number): boolean {
  for (let i = from; i < to; i++) {
    const d = s.charCodeAt(i) - 48;
    if (d < 0 || d > 9) return false;
  }
  return true;
}

/** The two digits at `at` as a number; 99 (out of every field's range) when they are not digits. */
function field(s: string, at: number): number {
  const a = s.charCodeAt(at) - 48;
  const b = s.charCodeAt(at + 1) - 48;
  return a < 0 || a > 9 || b < 0 || b > 9 ? 99 : a * 10 + b;
}

const MONTH_DAYS = [31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31];

function daysInMonth(year: number, month: number): number {
  if (month !== 2) return MONTH_DAYS[month - 1]!;
  return year % 4 === 0 && (year % 100 !== 0 || year % 400 === 0) ? 29 : 28;
}

/** Whether text starting `YYYY-MM-DD` names a day of the calendar: Date.parse takes a 30 February as 2 March. */
export function isCalendarDate(text: string): boolean {
  if (!digits(text, 0, 4) || text.charCodeAt(4) !== 45 || text.charCodeAt(7) !== 45) return false;
  const month = field(text, 5);
  const day = field(text, 8);
  return month >= 1 && month <= 12 && day >= 1 && day <= daysInMonth(field(text, 0) * 100 + field(text, 2), month);
}

/**
 * `YYYY-MM-DDTHH:MM:SS[.frac](Z|z|±HH:MM)`, given its separators, as the time to keep: itself when
 * its fields name a moment (RFC 3339 section 5.6: month 01-12, a day of that month, hour 00-23,
 * minute 00-59, second 00-59, offset hours 00-23 and minutes 00-59), else undefined: Date.parse
 * would roll a 30 February into March, and a sum of the fields a minute 99 into the next hour.
 * A leap second, second 60 in the last minute of a UTC month (section 5.7), which Date.parse
 * refuses, becomes the next month's first second in UTC: the instant POSIX time and Date.UTC give
 * it (`2016-12-31T23:59:60.5Z` is `2017-01-01T00:00:00.500Z`); a second 60 elsewhere is no moment.
 */
export function checkedTime(t: string): string | undefined {
  const n = t.length;
  if (!isCalendarDate(t)) return undefined;
  const second = field(t, 17);
  if (field(t, 11) > 23 || field(t, 14) > 59 || second > 60) return undefined;
  const z = t.charCodeAt(n - 1);
  const zoneAt = z === 90 /* Z */ || z === 122 /* z */ ? n - 1 : n - 6;
  if (zoneAt === n - 6 && (field(t, n - 5) > 23 || field(t, n - 2) > 59)) return undefined;
  if (zoneAt > 19 && (t.charCodeAt(19) !== 46 /* . */ || zoneAt === 20 || !digits(t, 20, zoneAt))) return undefined;
  if (second < 60) return t;
  const ms = Date.parse(`${t.slice(0, 17)}59${t.slice(19)}`);
  const iso = Number.isNaN(ms) ? '' : new Date(ms + 1000).toISOString();
  // (past 9999-12-31T23:59:60Z Date writes a six-digit year, which RFC 3339 has not)
  return iso.length === 24 && iso.startsWith('01T00:00:00', 8) ? iso : undefined;
}

/** Separators where RFC 3339 has them, `YYYY-MM-DDTHH:MM:SS…` ending in `Z` or `±HH:MM`, checked without a regular expression (it runs per line). */
function rfc3339Separators(s: string): boolean {
  const n = s.length;
  if (n < 20 || s.charCodeAt(4) !== 45 || s.charCodeAt(7) !== 45 || s.charCodeAt(10) !== 84 || s.charCodeAt(13) !== 58 || s.charCodeAt(16) !== 58) return false;
  if (s.charCodeAt(n - 1) === 90 /* Z */) return true;
  const sign = s.charCodeAt(n - 6);
  return n >= 25 && (sign === 43 || sign === 45) && s.charCodeAt(n - 3) === 58;
}

const RFC3339_SHAPE = /^\d{4}-\d\d-\d\d[T ]\d\d:\d\d:\d\d(?:\.\d+)?(?:[Zz]|[+-]\d\d:?\d\d)?$/;
const EPOCH = /^\d{9,19}(?:\.\d+)?$/;
const HAS_ZONE = /(?:[Zz]|[+-]\d\d:?\d\d)$/;
const ZERO_FRACTION = /^\.0*$/;
const COLONLESS_ZONE = /([+-]\d\d)(\d\d)$/;
// strftime's `%d/%b/%Y:%H:%M:%S %z` (Apache's and nginx's common log time)
const CLF_TIME = /^(\d\d)\/([A-Z][a-z]{2})\/(\d{4}):(\d\d:\d\d:\d\d(?:\.\d+)?) ([+-]\d\d):?(\d\d)$/;
const UTC_NAME = /^(\d{4}-\d\d-\d\d[T ]\d\d:\d\d:\d\d(?:\.\d+)?) ?(?:UTC|GMT)$/;
const MONTHS: Readonly<Record<string, string>> = { Jan: '01', Feb: '02', Mar: '03', Apr: '04', May: '05', Jun: '06', Jul: '07', Aug: '08', Sep: '09', Oct: '10', Nov: '11', Dec: '12' };

/**
 * A timestamp as RFC 3339. Envoy's and Linkerd's defaults already are, and pass unchanged (checked
 * in place); a space separator becomes `T`, a missing zone means UTC and strftime's
 * `%z` zone (`+0200`) gets its colon, a `%Z` zone of UTC or GMT becomes `Z`;
 * `%d/%b/%Y:%H:%M:%S %z` keeps its zone; epoch seconds,
 * milliseconds, microseconds or nanoseconds (a custom `%START_TIME(%s)%`, Fluent Bit's `date`)
 * become an ISO string. A date and time that name no moment (`checkedTime`: a 30 February, an
 * hour 25, an offset +25:00) give undefined, as does anything else: the record then has no time.
 */
export function normalizeTime(s: string | undefined): string | undefined {
  if (s === undefined) return undefined;
  if (rfc3339Separators(s)) return checkedTime(s);
  if (RFC3339_SHAPE.test(s)) {
    let t = s.charCodeAt(10) === 32 ? `${s.slice(0, 10)}T${s.slice(11)}` : s;
    if (!HAS_ZONE.test(t)) t += 'Z';
    else t = t.replace(COLONLESS_ZONE, '$1:$2');
    return checkedTime(t);
  }
  const named = UTC_NAME.exec(s);
  // strftime's `%Z` names the zone: UTC and GMT are exact; an abbreviation like CET or EST is
  // ambiguous (and says nothing of summer time), so such a time stays unknown
  if (named) return normalizeTime(`${named[1]}Z`);
  const clf = CLF_TIME.exec(s);
  if (clf) {
    const month = MONTHS[clf[2]!];
    return month === undefined ? undefined : checkedTime(`${clf[3]}-${month}-${clf[1]}T${clf[4]}${clf[5]}:${clf[6]}`);
  }
  if (EPOCH.test(s)) {
    const dot = s.indexOf('.');
    const whole = dot < 0 ? s : s.slice(0, dot);
    // seconds with a fraction (`%s.%6f`): the fraction's digits kept (milliseconds at least, as
    // the other epoch forms give), as an RFC 3339 time keeps them
    if (dot >= 0 && whole.length <= 11 && s.length - dot - 1 <= 9) {
      const iso = new Date(Number(whole) * 1000).toISOString();
      return iso.length === 24 ? `${iso.slice(0, 19)}${s.slice(dot).padEnd(4, '0')}Z` : undefined;
    }
    let ms: number;
    if (whole.length <= 11) ms = Number(s) * 1000;
    else if (whole.length <= 14) ms = Number(s);
    else if (whole.length <= 17) ms = Number(whole) / 1000;
    else ms = Number(whole) / 1e6;
    const date = new Date(Math.round(ms));
    return Number.isNaN(date.getTime()) ? undefined : date.toISOString();
  }
  return undefined;
}

/** The HTTP protocol name of a request line or `version` field. */
export function httpProtocol(version: string | undefined): 'http' | 'http2' {
  return version !== undefined && (version === 'HTTP/2' || version === 'HTTP/2.0') ? 'http2' : 'http';
}

/** gRPC clients name themselves `grpc-<language>/<version>` in User-Agent. */
export function isGrpcUserAgent(ua: string | undefined): boolean {
  return ua !== undefined && ua.startsWith('grpc-');
}

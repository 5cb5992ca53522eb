import { checkedTime } from './common';

/**
 * `%START_TIME(<format>)%` (and the other time operators' format argument): where the value ends
 * in a line, and the time it names, read by its format. Envoy writes the time in UTC with its own
 * specifiers (`%s` epoch seconds, `%f` nine digits of the second's fraction, `%1f`..`%9f` that
 * many) and hands the rest to absl::FormatTime, which adds `%E#S`/`%E*S` (seconds with # or all
 * fraction digits), `%E#f`/`%E*f`, `%Ez`/`%E*z` (offset with a colon), `%E4Y` to strftime's.
 * A format with a specifier not listed here is not compiled (the value is then read as any time).
 */
export interface StartTimeFormat {
  /** Sticky: matches the value at `lastIndex`. */
  readonly pattern: RegExp;
  /** The value as RFC 3339 (the fraction's digits kept), or undefined when it names no moment. */
  read(value: string): string | undefined;
}

type Field = 'year' | 'month' | 'monthName' | 'day' | 'hour' | 'hour12' | 'ampm' | 'minute' | 'second' | 'fraction' | 'epoch' | 'zone' | 'zoneName';

const MONTH_NAMES = ['jan', 'feb', 'mar', 'apr', 'may', 'jun', 'jul', 'aug', 'sep', 'oct', 'nov', 'dec'];
const DAY_NAME = '(?:Mon|Tue|Wed|Thu|Fri|Sat|Sun)[a-z]*';

/** Each specifier: its pattern, and the field it sets (the group's name). */
function specifier(spec: string): { source: string; field?: Field } | string | undefined {
  switch (spec) {
    case 'Y': case 'E4Y': return { source: '(\\d{4})', field: 'year' };
    case 'm': return { source: '(\\d\\d)', field: 'month' };
    case 'd': return { source: '(\\d\\d)', field: 'day' };
    case 'e': return { source: '( \\d|\\d\\d)', field: 'day' };
    case 'b': case 'h': case 'B': return { source: '([A-Za-z]{3,9})', field: 'monthName' };
    case 'a': case 'A': return { source: DAY_NAME };
    case 'H': return { source: '(\\d\\d)', field: 'hour' };
    case 'k': return { source: '( \\d|\\d\\d)', field: 'hour' };
    case 'I': return { source: '(\\d\\d)', field: 'hour12' };
    case 'l': return { source: '( \\d|\\d\\d)', field: 'hour12' };
    case 'p': return { source: '(AM|PM|am|pm)', field: 'ampm' };
    case 'M': return { source: '(\\d\\d)', field: 'minute' };
    case 'S': return { source: '(\\d\\d)', field: 'second' };
    case 's': return { source: '(\\d+)', field: 'epoch' };
    case 'f': return { source: '(\\d{9})', field: 'fraction' };
    case 'E*f': return { source: '(\\d*)', field: 'fraction' };
    case 'z': return { source: '([+-]\\d\\d:?\\d\\d)', field: 'zone' };
    case 'Ez': case 'E*z': return { source: '([+-]\\d\\d:\\d\\d(?::\\d\\d)?)', field: 'zone' };
    case 'Z': return { source: '([A-Z]{3,5})', field: 'zoneName' };
    case 'F': return '%Y-%m-%d';
    case 'T': return '%H:%M:%S';
    case 'R': return '%H:%M';
    case 'n': case 't': return { source: '\\s' };
    case '%': return { source: '%' };
    case 'E*S': return '%S%E*F';
    case 'E*F': return { source: '(?:\\.(\\d+))?', field: 'fraction' };
    default: {
      const digits = /^([1-9])f$/.exec(spec) ?? /^E(\d)f$/.exec(spec);
      if (digits !== null) return { source: `(\\d{${digits[1]}})`, field: 'fraction' };
      const seconds = /^E(\d)S$/.exec(spec);
      if (seconds !== null) return seconds[1] === '0' ? '%S' : `%S.%E${seconds[1]}f`;
      return undefined;
    }
  }
}

const SPECIFIER = /^%(E\*[SfzF]|E4Y|E\d[Sf]|Ez|[1-9]f|[A-Za-z%])/;

/** The format compiled, or undefined when it holds a specifier we do not read, or no date and no epoch. */
export function compileStartTime(format: string): StartTimeFormat | undefined {
  const fields: Field[] = [];
  let source = '';
  const pending = [format];
  while (pending.length > 0) {
    let text = pending.pop()!;
    while (text.length > 0) {
      if (text[0] !== '%') {
        source += text[0]!.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&');
        text = text.slice(1);
        continue;
      }
      const m = SPECIFIER.exec(text);
      const spec = m === null ? undefined : specifier(m[1]!);
      if (m === null || spec === undefined) return undefined;
      text = text.slice(m[0].length);
      if (typeof spec === 'string') {
        // (expanded in place: the rest of this text after it)
        pending.push(text);
        text = spec;
        continue;
      }
      source += spec.source;
      if (spec.field !== undefined) fields.push(spec.field);
    }
  }
  const dated = fields.includes('year') && (fields.includes('month') || fields.includes('monthName')) && fields.includes('day');
  if (!dated && !fields.includes('epoch')) return undefined;
  const pattern = new RegExp(source, 'y');
  const whole = new RegExp(`^${source}$`);
  return {
    pattern,
    read(value: string): string | undefined {
      const m = whole.exec(value);
      return m === null ? undefined : timeOf(fields, m, dated);
    },
  };
}

function timeOf(fields: readonly Field[], m: RegExpExecArray, dated: boolean): string | undefined {
  const got: Partial<Record<Field, string>> = {};
  fields.forEach((field, i) => {
    const value = m[i + 1];
    if (value !== undefined) got[field] ??= value;
  });
  const fraction = got.fraction !== undefined && got.fraction.length > 0 ? `.${got.fraction}` : '';
  if (!dated) {
    const seconds = Number(got.epoch);
    const iso = Number.isSafeInteger(seconds) ? new Date(seconds * 1000).toISOString() : '';
    // (milliseconds at least, as epoch times read by shape give: formats/common.ts normalizeTime)
    return iso.length === 24 ? `${iso.slice(0, 19)}${(fraction || '.').padEnd(4, '0')}Z` : undefined;
  }
  let month = got.month;
  if (month === undefined) {
    const index = MONTH_NAMES.indexOf(got.monthName!.slice(0, 3).toLowerCase());
    if (index < 0) return undefined;
    month = String(index + 1).padStart(2, '0');
  }
  let hour = Number((got.hour ?? got.hour12 ?? '0').trim());
  if (got.hour === undefined && got.hour12 !== undefined) {
    if (hour < 1 || hour > 12 || got.ampm === undefined) return undefined;
    hour = (hour % 12) + (got.ampm.toLowerCase() === 'pm' ? 12 : 0);
  }
  let zone = 'Z';
  if (got.zone !== undefined) {
    const z = got.zone.replace(':', '');
    // (absl's %E*z may add seconds to the offset; RFC 3339 has none: only :00 is read)
    if (z.length > 5 && !z.endsWith(':00')) return undefined;
    zone = `${z.slice(0, 3)}:${z.slice(3, 5)}`;
  } else if (got.zoneName !== undefined && got.zoneName !== 'UTC' && got.zoneName !== 'GMT') {
    return undefined; // (an abbreviation such as CET is ambiguous)
  }
  const two = (n: string | number): string => String(n).trim().padStart(2, '0');
  return checkedTime(`${got.year}-${month}-${two(got.day!)}T${two(hour)}:${two(got.minute ?? 0)}:${two(got.second ?? 0)}${fraction}${zone}`);
}

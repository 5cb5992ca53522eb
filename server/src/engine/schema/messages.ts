/** Small helpers for writing findings in words people use. */

export function describeValue(value: unknown): string {
  if (value === null || value === undefined) return 'nothing';
  if (typeof value === 'string') return JSON.stringify(truncate(value, 60));
  if (typeof value === 'number' || typeof value === 'boolean') return String(value);
  if (Array.isArray(value)) return 'a list';
  return 'an object';
}

export function describeType(type: string): string {
  switch (type) {
    case 'string': return 'a string';
    case 'integer': return 'an integer';
    case 'number': return 'a number';
    case 'boolean': return 'true or false';
    case 'array': return 'a list';
    case 'object': return 'an object';
    case 'null': return 'null';
    default: return type;
  }
}

export function typeOfValue(value: unknown): string {
  if (value === null || value === undefined) return 'nothing';
  if (Array.isArray(value)) return 'a list';
  if (typeof value === 'object') return 'an object';
  if (typeof value === 'string') return `the string ${JSON.stringify(truncate(value, 40))}`;
  if (typeof value === 'number') return Number.isInteger(value) ? `the number ${value}` : `the number ${value}`;
  return String(value);
}

export function listWords(values: string[], conjunction = 'or'): string {
  if (values.length <= 1) return values.join('');
  return `${values.slice(0, -1).join(', ')} ${conjunction} ${values[values.length - 1]}`;
}

export function truncate(text: string, max: number): string {
  return text.length > max ? `${text.slice(0, max - 1)}…` : text;
}

export function plural(count: number, word: string): string {
  return `${count} ${word}${count === 1 ? '' : 's'}`;
}

/** Edit distance, capped: stops counting once it passes `max`. */
export function editDistance(a: string, b: string, max = 8): number {
  if (Math.abs(a.length - b.length) > max) return max + 1;
  let previous = Array.from({ length: b.length + 1 }, (_, i) => i);
  for (let i = 1; i <= a.length; i++) {
    const current = [i];
    let rowMin = i;
    for (let j = 1; j <= b.length; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      const value = Math.min(previous[j]! + 1, current[j - 1]! + 1, previous[j - 1]! + cost);
      current.push(value);
      rowMin = Math.min(rowMin, value);
    }
    if (rowMin > max) return max + 1;
    previous = current;
  }
  return previous[b.length]!;
}

/** The candidate a user most likely meant: same letters in another case, a missing or extra
 * plural "s", or a small typo. */
export function closestMatch(input: string, candidates: string[]): string | undefined {
  return closestMatches(input, candidates)[0];
}

/** The candidates nearest to `input` (a spelling of the same word, or the fewest edits away); more than one when it is a guess among equals. */
export function closestMatches(input: string, candidates: string[]): string[] {
  const lower = input.toLowerCase();
  const folded = (s: string) => s.toLowerCase().replace(/[_-]/g, '');
  const exactCase = candidates.find((c) => c.toLowerCase() === lower || folded(c) === folded(input));
  if (exactCase) return [exactCase];
  const pluralMatch = candidates.find((c) => c.toLowerCase() === `${lower}s` || `${c.toLowerCase()}s` === lower);
  if (pluralMatch) return [pluralMatch];
  const limit = Math.max(1, Math.min(3, Math.floor(input.length / 3)));
  let best: string[] = [];
  let bestDistance = limit + 1;
  for (const candidate of candidates) {
    const distance = editDistance(lower, candidate.toLowerCase(), limit);
    if (distance < bestDistance) {
      best = [candidate];
      bestDistance = distance;
    } else if (distance === bestDistance && distance <= limit) best.push(candidate);
  }
  return best;
}

const DNS_SUBDOMAIN = '[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*';
const PATTERN_WORDS: Record<string, string> = {
  '^(?:/|$)': 'must start with "/"',
  '^/': 'must start with "/"',
  '^[^*]*$': 'must not contain the wildcard "*"',
  '^(?:\\*|[^*]*)$': 'must be exactly "*" or hold no "*"; partial wildcards are not supported',
  '^(?:\\*|[^*]+)$': 'must be exactly "*" or hold no "*"; partial wildcards are not supported',
  [`^$|^${DNS_SUBDOMAIN}$`]: 'must be empty or a lower-case DNS subdomain (letters, digits, "-" and ".")',
  [`^${DNS_SUBDOMAIN}$`]: 'must be a lower-case DNS subdomain (letters, digits, "-" and ".")',
  [`^(\\*\\.)?${DNS_SUBDOMAIN}$`]: 'must be a lower-case host name, optionally starting with "*."',
  '^[a-z0-9]([-a-z0-9]*[a-z0-9])?$': 'must be a lower-case DNS label (letters, digits and "-")',
  '^[a-zA-Z]([-a-zA-Z0-9]*[a-zA-Z0-9])?$': 'must start with a letter and hold only letters, digits and "-"',
  "^[A-Za-z0-9!#$%&'*+\\-.^_\\x60|~]+$": 'must be a valid HTTP header name',
  '^[-_A-Za-z0-9]+$': 'must be a valid HTTP header name (letters, digits, "-" and "_")',
  '^([0-9]{1,5}(h|m|s|ms)){1,4}$': 'must be a duration such as 500ms, 10s or 1h30m',
  '^[-+]?(0|(([0-9]+(\\.[0-9]*)?|\\.[0-9]+)(ns|us|µs|μs|ms|s|m|h))+)$': 'must be a duration such as 500ms, 10s or 1h30m',
};

/** Plain words for the patterns our schemas use most; undefined for the rest. */
export function explainPattern(pattern: string): string | undefined {
  if (PATTERN_WORDS[pattern]) return PATTERN_WORDS[pattern];
  if (/^\^\(\?:\[Gg\]\[Ee\]\[Tt\]/.test(pattern)) return 'must be an HTTP method: GET, HEAD, POST, PUT, PATCH, DELETE, CONNECT, OPTIONS or TRACE';
  return undefined;
}

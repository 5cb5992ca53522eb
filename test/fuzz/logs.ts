import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { EXAMPLES, FIXTURES } from '../helpers/paths';
import { controlChar, HOSTILE_REGEXES, randomBytes, randomUnits, regexVictim } from './hostile';
import type { Prng } from './prng';

/** Real log lines, grouped by the file they came from (the fixtures of every format and the examples' logs). */
export interface LogSeed {
  file: string;
  lines: string[];
}

let seeds: LogSeed[] | undefined;

export function logSeeds(): LogSeed[] {
  if (seeds) return seeds;
  const files: string[] = [];
  const formats = join(FIXTURES, 'traffic', 'formats');
  for (const name of readdirSync(formats)) files.push(join(formats, name));
  for (const mesh of ['istio', 'linkerd', 'consul']) {
    const dir = join(EXAMPLES, mesh, 'traffic');
    for (const name of readdirSync(dir)) files.push(join(dir, name));
  }
  seeds = files.sort().map((file) => ({ file, lines: readFileSync(file, 'utf8').split('\n').filter((l) => l.trim() !== '') }));
  return seeds;
}

const JWT = 'eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJmdXp6In0.c2lnbmF0dXJl';
const SECRET_HEADERS = ['authorization: Bearer s3cr3t-fuzz-token', 'cookie: session=fuzz-cookie-value', 'x-api-key: fuzz-api-key'];

function swapFields(rng: Prng, line: string, separator: string): string {
  const parts = line.split(separator);
  if (parts.length < 2) return line;
  const i = rng.int(parts.length);
  const j = rng.int(parts.length);
  [parts[i], parts[j]] = [parts[j]!, parts[i]!];
  return parts.join(separator);
}

function mutateJsonLine(rng: Prng, line: string): string {
  let value: unknown;
  try {
    value = JSON.parse(line);
  } catch {
    return line;
  }
  if (!value || typeof value !== 'object' || Array.isArray(value)) return line;
  const object = value as Record<string, unknown>;
  const keys = Object.keys(object);
  if (keys.length === 0) return line;
  const key = rng.pick(keys);
  switch (rng.int(9)) {
    case 0: delete object[key]; break;
    case 1: object[key] = rng.pick([null, 0, -1, 1e309 > 0 ? 1e308 : 0, true, [], {}, [object[key]], '-', '', randomUnits(rng, 12)]); break;
    case 2: object[key] = { nested: object[key], deeper: { a: [1, { b: object[key] }] } }; break;
    case 3: object[rng.pick(keys)] = object[key]; break;
    case 4: object[key] = typeof object[key] === 'string' ? `${object[key] as string}${controlChar(rng)}` : String(object[key]); break;
    case 5: object[key] = regexVictim(rng); break;
    case 6: object[rng.pick(['path', 'uri', 'authority', 'method', 'request', 'source', 'log', 'message', 'line'])] = rng.pick([regexVictim(rng), `/x?access_token=${JWT}`, { headers: { authorization: `Bearer ${JWT}` } }, 42]); break;
    case 7: { let text: string; try { text = JSON.stringify(object); } catch { return line; } const depth = rng.pick([50, 2000, 200_000]); return `${text.slice(0, -1)},"deep":${'['.repeat(depth)}${']'.repeat(depth)}}`; }
    default: object['__proto__'] = { polluted: true }; object['constructor'] = 'x'; break;
  }
  try {
    return JSON.stringify(object);
  } catch {
    return line; // nested too deep to print again
  }
}

/** One change of a log line: truncation, swapped fields, hostile values, huge or binary content. */
export function mutateLine(rng: Prng, line: string): string {
  const at = rng.int(line.length + 1);
  switch (rng.int(16)) {
    case 0: return line.slice(0, at);
    case 1: return swapFields(rng, line, ' ');
    case 2: return swapFields(rng, line, '"');
    case 3: return line.slice(0, at) + controlChar(rng) + line.slice(at);
    case 4: return line.slice(0, at) + randomUnits(rng, rng.between(1, 50)) + line.slice(at);
    case 5: return line + line.slice(0, at).repeat(Math.min(rng.pick([2, 100, 3000]), Math.floor(5_000_000 / (at + 1))));
    case 6: return line.replace(/\d+/g, () => rng.pick(['-1', '0', '99999999999999999999', 'NaN', '1e999', '']));
    case 7: return line.replace(/\d{4}-\d\d-\d\dT[\d:.]+Z?/, rng.pick(['9999-99-99T99:99:99Z', '', '-', '1970-01-01T00:00:00Z', '2025-02-30T25:61:61.999999999999Z']));
    case 8: case 9: return mutateJsonLine(rng, line);
    case 10: return line.replace(/"(GET|POST|DELETE|PUT) (\S+)/, (_m, method: string) => `"${method} ${rng.pick([regexVictim(rng), `/a?access_token=${JWT}&b=1`, '/%zz%00', '*', ''])}`);
    case 11: return `${line.slice(0, at)}"${rng.pick(SECRET_HEADERS)}"${line.slice(at)}`;
    case 12: return rng.pick(HOSTILE_REGEXES) + line.slice(at);
    case 13: return line.slice(at) + line.slice(0, at);
    case 14: return line.replace(/\s+/g, rng.pick(['\t', '  ', '', '\u00a0']));
    default: return line.toUpperCase();
  }
}

export interface LogFile {
  name: string;
  content: Buffer;
  /** Whether the content is a gzip stream that decompresses whole (then lines can be counted). */
  kind: 'plain' | 'gzip' | 'corrupt-gzip' | 'binary';
  /** The text the reader should see (plain, and valid gzip). */
  text?: string;
}

/** Lines from one seed file, mutated; with the line ends of some other system. */
export function fuzzLines(rng: Prng): { seed: LogSeed; lines: string[] } {
  const seed = rng.pick(logSeeds());
  const lines: string[] = [];
  for (let n = rng.between(1, 12); n > 0; n--) {
    if (lines.reduce((sum, l) => sum + l.length, 0) > 6_000_000) break;
    let line = rng.pick(seed.lines);
    if (rng.chance(0.05)) line = rng.pick(rng.pick(logSeeds()).lines);
    for (let m = rng.int(3); m > 0 || (lines.length === 0 && m === 0 && rng.chance(0.8)); m--) {
      line = mutateLine(rng, line);
      if (m === 0) break;
    }
    lines.push(line);
  }
  return { seed, lines };
}

/** A log file made of fuzzed lines: plain, gzip, gzip cut short or garbled, or binary. */
export function fuzzLogFile(rng: Prng, index: number): LogFile {
  const { lines } = fuzzLines(rng);
  const eol = rng.weighted<string>([[8, '\n'], [2, '\r\n'], [1, '\r']]);
  let text = lines.join(eol) + (rng.chance(0.7) ? eol : '');
  if (rng.chance(0.05)) text = '';
  if (rng.chance(0.05)) text = `\ufeff${text}`;
  const kind = rng.weighted<LogFile['kind']>([[12, 'plain'], [3, 'gzip'], [2, 'corrupt-gzip'], [1, 'binary']]);
  const ext = rng.pick(['.log', '.jsonl', '.log']);
  if (kind === 'plain') return { name: `f${index}${ext}`, content: Buffer.from(text, 'utf8'), kind, text };
  if (kind === 'binary') return { name: `f${index}${ext}`, content: Buffer.concat([randomBytes(rng, rng.between(1, 4000)), Buffer.from(text)]), kind };
  const gz = gzipSync(Buffer.from(text, 'utf8'));
  if (kind === 'gzip') return { name: `f${index}${ext}${rng.chance(0.5) ? '.gz' : ''}`, content: gz, kind, text };
  const damaged = Buffer.from(gz);
  if (rng.chance(0.5)) return { name: `f${index}${ext}.gz`, content: damaged.subarray(0, rng.int(damaged.length)), kind };
  for (let i = rng.between(1, 5); i > 0; i--) damaged[rng.int(damaged.length)] = rng.int(256);
  return { name: `f${index}${ext}.gz`, content: Buffer.concat([damaged, rng.chance(0.3) ? randomBytes(rng, 100) : Buffer.alloc(0)]), kind };
}

/** Lines the reader will see in `text`, counted independently of the engine: "\n" ends a line, a
 * trailing "\r" belongs to the line end, a last line without "\n" still counts. */
export function expectedLineCount(text: string): number {
  if (text.length === 0) return 0;
  const parts = text.split('\n');
  return text.endsWith('\n') ? parts.length - 1 : parts.length;
}

export { JWT };

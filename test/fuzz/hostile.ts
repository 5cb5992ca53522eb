import type { Prng } from './prng';

/** Pieces of text that have broken parsers before: control characters, lone surrogates, YAML syntax. */
export const CONTROL = ['\u0000', '\u0007', '\u0008', '\u001b[31m', '\u007f', '\u0085', '\u2028', '\u2029', '\ufeff', '\ud800', '\udfff', '\ud83d', '\uffff', '\r', '\t', '\v', '\f', '\r\n', '\n\r'];

/** Regexes that take exponential time on a backtracking engine, and ones RE2 rejects. */
export const HOSTILE_REGEXES = [
  '(a+)+$', '(a|aa)+$', '(a|a?)+b', '(.*a){25}', '^(([a-z])+.)+[A-Z]([a-z])+$', '(x+x+)+y', '(\\w+\\s?)+$',
  '[', '(', '(?<n>a)\\k<n>', '\\', 'a{1000}{1000}', '(?=a)b', '(a*)*b', 'a**', '\\p{Foo}', '(?i', '[z-a]', '',
];

/** Strings that make hostile subjects for the regexes above. */
export function regexVictim(rng: Prng): string {
  const n = rng.between(20, 5000);
  return `/${rng.pick(['a', 'x', 'ab', 'aa'])!.repeat(n)}${rng.pick(['!', 'b', '', '\u0000', '/'])}`;
}

export const YAML_SYNTAX = [
  '&a', '*a', '*nope', '!!binary', '!<tag:x>', '!!python/object', '? ', '<<: *a', '%YAML 1.1\n', '---\n', '\n...\n', '|', '>-', "'", '"', '#', '{', '}', '[', ']',
  ': ', '- ', ',', '@', '`', '%', '!', '\\', '\t', '  ', 'key: value', '{a: 1, a: 2}', '[*a, *a]', '&anchor {x: 1}',
];

export const SCALARS = [
  '1e999', '-0', '0x1F', '0o17', '9007199254740993', '-9223372036854775809', 'NaN', '.inf', '-.inf', '~', 'null', 'true', 'yes', 'on', 'off', 'no',
  '""', "''", '" "', '2025-13-45', '12:30:00', '0.', '.5', '+1', '1_000', '"\\u0000"', '"\\uD800"', '!!int "x"', '*', '**', '/', '/*', '*/', '[]', '{}',
];

export const HCL_SYNTAX = ['{', '}', '[', ']', '=', '"', '${var.x}', '<<EOF\n', '\nEOF\n', '/*', '*/', '//', '#', ',', '.', 'true', '-', '\\"', '%{', 'Sources {', 'HTTP {'];

export function controlChar(rng: Prng): string {
  return rng.pick(CONTROL);
}

/** A string of `n` random code units, any value (lone surrogates included). */
export function randomUnits(rng: Prng, n: number): string {
  let out = '';
  for (let i = 0; i < n; i++) out += String.fromCharCode(rng.chance(0.7) ? rng.between(32, 126) : rng.int(0x10000));
  return out;
}

/** Random bytes: what a binary or corrupt file holds. */
export function randomBytes(rng: Prng, n: number): Buffer {
  const buffer = Buffer.alloc(n);
  for (let i = 0; i < n; i++) buffer[i] = rng.int(256);
  return buffer;
}

export function hugeString(rng: Prng): string {
  return rng.pick(['a', 'xy', 'é', '\u0000', ' ', '😀', '\\'])!.repeat(rng.pick([4096, 65_537, 200_000, 1_100_000]));
}

/** A YAML billion-laughs document: `levels` anchors, each a list of `width` aliases of the previous one. */
export function aliasBomb(levels: number, width: number): string {
  const lines = ['a0: &a0 ["lol"]'];
  for (let i = 1; i < levels; i++) lines.push(`a${i}: &a${i} [${Array.from({ length: width }, () => `*a${i - 1}`).join(', ')}]`);
  return `${lines.join('\n')}\n`;
}

/** A value nested `depth` times, in flow (`[[[...]]]`, `{a: {a: ...}}`) or block style. */
export function deepNesting(rng: Prng, depth: number): string {
  switch (rng.int(3)) {
    case 0: return `${'['.repeat(depth)}1${']'.repeat(depth)}`;
    case 1: return `${'{a: '.repeat(depth)}1${'}'.repeat(depth)}`;
    default: return Array.from({ length: depth }, (_, i) => `${'  '.repeat(i)}k${i}:`).join('\n') + ` x\n`;
  }
}

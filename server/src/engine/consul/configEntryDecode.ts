/**
 * How `consul config write` (hashicorp/consul `command/config/write` `newDecodeConfigEntry`) and
 * the HTTP API (`agent/structs` `DecodeConfigEntry`) turn a `service-intentions` config entry into
 * Consul's structs: mapstructure with `WeaklyTypedInput`, the `HookWeakDecodeFromSlice` hook and
 * an error for every key the structs lack. Recognition has already mapped key case and the
 * snake_case aliases to the canonical names; keys are still compared case-insensitively here, as
 * mapstructure does.
 *
 * The result is the value as Consul stores it (single values lifted into lists, a one-item list
 * unpacked where one value is wanted, scalars converted), or why Consul refuses the entry: the
 * decode errors, else the unused keys (Consul reports the first kind alone when there are some).
 */

type GoType =
  | 'string'
  | 'bool'
  | 'int'
  | 'time'
  | { readonly list: GoType }
  | { readonly stringMap: true }
  | { readonly struct: Readonly<Record<string, GoType>> };

const STRING_MAP: GoType = { stringMap: true };
const JWT_REQUIREMENT: GoType = {
  struct: {
    Providers: { list: { struct: { Name: 'string', VerifyClaims: { list: { struct: { Path: { list: 'string' }, Value: 'string' } } } } } },
  },
};
const HEADER: GoType = {
  struct: {
    Name: 'string', Present: 'bool', Exact: 'string', Prefix: 'string', Suffix: 'string', Contains: 'string',
    Regex: 'string', IgnoreCase: 'bool', Invert: 'bool',
  },
};
const PERMISSION: GoType = {
  struct: {
    Action: 'string',
    HTTP: { struct: { PathExact: 'string', PathPrefix: 'string', PathRegex: 'string', Header: { list: HEADER }, Methods: { list: 'string' } } },
    JWT: JWT_REQUIREMENT,
  },
};
const SOURCE: GoType = {
  struct: {
    Name: 'string', Peer: 'string', Namespace: 'string', Partition: 'string', SamenessGroup: 'string', Action: 'string',
    Permissions: { list: PERMISSION }, Precedence: 'int', Type: 'string', Description: 'string', LegacyID: 'string',
    LegacyMeta: STRING_MAP, LegacyCreateTime: 'time', LegacyUpdateTime: 'time',
  },
};
/** api.ServiceIntentionsConfigEntry. `Kind` picks the type and is not a field of it. */
const ENTRY: Readonly<Record<string, GoType>> = {
  Name: 'string', Namespace: 'string', Partition: 'string', Meta: STRING_MAP, JWT: JWT_REQUIREMENT,
  Sources: { list: SOURCE }, CreateIndex: 'int', ModifyIndex: 'int',
};

export interface DecodedEntry {
  /** The entry as decoded (what the simulator reads); partial when `refusals` is not empty. */
  value: Record<string, unknown>;
  /** Why `consul config write` refuses the entry (empty: it decodes). */
  refusals: string[];
}

const decoded = new WeakMap<object, DecodedEntry>();

/**
 * The entry as Consul decodes it, once per value object (the lint and the simulator both ask for a
 * resource's shared `resourceValue`, which is never changed).
 */
export function decodeConfigEntry(raw: Record<string, unknown>): DecodedEntry {
  let entry = decoded.get(raw);
  if (!entry) decoded.set(raw, (entry = decodeOnce(raw)));
  return entry;
}

function decodeOnce(raw: Record<string, unknown>): DecodedEntry {
  const decoder = new Decoder();
  const value: Record<string, unknown> = {};
  for (const [key, item] of Object.entries(raw)) {
    if (key.toLowerCase() === 'kind') {
      value[key] = item;
      continue;
    }
    const field = fieldOf(ENTRY, key);
    if (field === undefined) decoder.unused.push(key);
    else setDecoded(value, field, decoder.decode(field, ENTRY[field]!, raw[key]));
  }
  const refusals = decoder.errors.length > 0 ? decoder.errors : decoder.unused.map((key) => `invalid config key "${key}"`);
  return { value, refusals };
}

class Decoder {
  readonly errors: string[] = [];
  readonly unused: string[] = [];

  decode(name: string, type: GoType, input: unknown): unknown {
    if (input === null || input === undefined) return undefined;
    if (typeof type === 'object' && 'list' in type) return this.list(name, type.list, input);
    // HookWeakDecodeFromSlice: one item of a list where one value is wanted is that value.
    if (Array.isArray(input) && input.length === 1) return this.decode(name, type, input[0]);
    if (type === 'string') return this.string(name, input);
    if (type === 'bool') return this.bool(name, input);
    if (type === 'int') return this.int(name, input);
    if (type === 'time') return this.time(name, input);
    if ('stringMap' in type) return this.stringMap(name, input);
    return this.struct(name, type.struct, input);
  }

  private list(name: string, element: GoType, input: unknown): unknown[] {
    // WeaklyTypedInput lifts a single value into a list; an empty map is an empty list.
    const items = Array.isArray(input) ? input : isMap(input) && Object.keys(input).length === 0 ? [] : [input];
    return items.map((item, index) => this.decode(`${name}[${index}]`, element, item));
  }

  private string(name: string, input: unknown): string | undefined {
    if (typeof input === 'string') return input;
    if (typeof input === 'boolean') return input ? '1' : '0';
    if (typeof input === 'number') return goFloatText(input);
    return this.fail(name, 'a string', input);
  }

  private bool(name: string, input: unknown): boolean | undefined {
    if (typeof input === 'boolean') return input;
    if (typeof input === 'number') return input !== 0;
    if (typeof input === 'string') {
      if (input === '') return false;
      if (GO_TRUE.has(input)) return true;
      if (GO_FALSE.has(input)) return false;
      this.errors.push(`cannot parse '${name}' as bool: ${JSON.stringify(input)}`);
      return undefined;
    }
    return this.fail(name, 'a bool', input);
  }

  /** Only whether it decodes: the simulator reads no int field (`Precedence` is computed). */
  private int(name: string, input: unknown): number | undefined {
    if (typeof input === 'number') return Math.trunc(input);
    if (typeof input === 'boolean') return input ? 1 : 0;
    if (typeof input === 'string') {
      if (input === '') return 0;
      // strconv.ParseInt(s, 0, 64) accepts a sign, then decimal, 0x/0o/0b or a leading 0 for octal,
      // `_` between digits. No int field decides a call, so whether it parses is what matters.
      if (/^[+-]?(0[xX](_?[0-9a-fA-F])+|0[bB](_?[01])+|0[oO](_?[0-7])+|0(_?[0-7])*|[1-9](_?[0-9])*)$/.test(input)) return 0;
      this.errors.push(`cannot parse '${name}' as int: ${JSON.stringify(input)}`);
      return undefined;
    }
    return this.fail(name, 'an int', input);
  }

  private time(name: string, input: unknown): string | undefined {
    if (typeof input === 'string' && RFC3339.test(input)) return input;
    if (typeof input === 'string') {
      this.errors.push(`'${name}' is not an RFC 3339 time: ${JSON.stringify(input)}`);
      return undefined;
    }
    return this.fail(name, 'a time', input);
  }

  private stringMap(name: string, input: unknown): Record<string, string> | undefined {
    // A list of maps is merged into one (mapstructure's decodeMapFromSlice, weakly typed).
    const parts = Array.isArray(input) && input.every(isMap) ? input : [input];
    const out: Record<string, string> = {};
    for (const part of parts) {
      if (!isMap(part)) return this.fail(name, 'a map', input);
      for (const [key, item] of Object.entries(part)) {
        const text = this.decode(`${name}[${key}]`, 'string', item);
        if (typeof text === 'string') out[key] = text;
      }
    }
    return out;
  }

  private struct(name: string, fields: Readonly<Record<string, GoType>>, input: unknown): Record<string, unknown> | undefined {
    if (!isMap(input)) return this.fail(name, 'a map', input);
    const out: Record<string, unknown> = {};
    for (const key of Object.keys(input)) {
      const field = fieldOf(fields, key);
      if (field === undefined) this.unused.push(`${name}.${key}`);
      else setDecoded(out, field, this.decode(`${name}.${field}`, fields[field]!, input[key]));
    }
    return out;
  }

  private fail(name: string, wanted: string, input: unknown): undefined {
    this.errors.push(`'${name}' expected ${wanted}, got ${goKind(input)}`);
    return undefined;
  }
}

const GO_TRUE = new Set(['1', 't', 'T', 'TRUE', 'true', 'True']);
const GO_FALSE = new Set(['0', 'f', 'F', 'FALSE', 'false', 'False']);
const RFC3339 = /^\d{4}-\d{2}-\d{2}[Tt]\d{2}:\d{2}:\d{2}(\.\d+)?([Zz]|[+-]\d{2}:\d{2})$/;

function isMap(value: unknown): value is Record<string, unknown> {
  return value !== null && typeof value === 'object' && !Array.isArray(value);
}

/** The struct field a key names: the same name, else the first that differs only in case. */
function fieldOf(fields: Readonly<Record<string, GoType>>, key: string): string | undefined {
  if (Object.hasOwn(fields, key)) return key;
  const lower = key.toLowerCase();
  return Object.keys(fields).find((field) => field.toLowerCase() === lower);
}

function setDecoded(out: Record<string, unknown>, field: string, value: unknown): void {
  if (value !== undefined) out[field] = value;
}

/** strconv.FormatFloat(f, 'f', -1, 64): the shortest digits, never an exponent. */
function goFloatText(value: number): string {
  if (!Number.isFinite(value)) return value > 0 ? '+Inf' : value < 0 ? '-Inf' : 'NaN';
  const text = String(value);
  if (!/e/i.test(text)) return text;
  return Number.isInteger(value) ? BigInt(value).toString() : value.toFixed(20).replace(/0+$/, '').replace(/\.$/, '');
}

function goKind(value: unknown): string {
  if (Array.isArray(value)) return 'a list';
  if (isMap(value)) return 'a map';
  return `the ${typeof value} ${JSON.stringify(value)}`;
}

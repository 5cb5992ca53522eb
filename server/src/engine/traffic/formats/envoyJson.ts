import type { LinePeek, LineReader, LineResult, LogFormatId, ParsedLine, ReaderOptions, SkippedLine } from '../readerTypes';
import type { Mesh } from '../../meshes';
import { SKIP, isBlank, newKeyPrefix, reachesByteLimit, skipWith } from './common';
import { DEFAULT_JSON_KEYS, ENVOY_HOP_PARTS, F, SLOT_COUNT, buildEnvoyRecord, envoyRecordFromKey, mergeFields, operatorTarget, peekEnvoyRecord, slotText } from './envoyFields';
import { compileStartTime } from './envoyStartTime';
import { CUT_VALUE, CompiledEnvoyFormat, EnvoyFormatError, operatorEnd } from './envoyText';
import { FlatJsonScanner, SCAN_NOT_OBJECT, SCAN_OK } from './jsonScan';
import { metadataFromKubernetes } from './shipper';

/**
 * Envoy's JSON access logs (Istio `accessLogEncoding: JSON`, Telemetry `logFormat.labels`,
 * plain Envoy `json_format`). Values may be JSON numbers or strings (older builds render
 * everything as strings), and `"-"`, `""`, null or an omitted key all mean empty. Keys are read
 * by name in any order with a field-extracting scanner (formats/jsonScan.ts); only the mapped
 * keys are decoded.
 *
 * Without a custom format the reader knows Istio's/Consul's default keys plus the identity
 * labels the docs recommend (DEFAULT_JSON_KEYS). A custom JSON format (the object of
 * key → format string a user configured) maps each key whose value is a single operator; Envoy's
 * `json_format` also takes nested objects (`{"request": {"method": "%REQ(:METHOD)%"}}`) and
 * strings that mix text and operators (`"peer=%DOWNSTREAM_REMOTE_ADDRESS%"`,
 * `"%REQ(:METHOD)% %REQ(:PATH)%"`): such a key's value is kept whole by the scanner and read after
 * it, the object with JSON.parse, the string as an Envoy text format of its own. A key whose value
 * is `%START_TIME(<format>)%` is read the same way, its time by its format (formats/envoyStartTime.ts).
 */

export const NO_JSON_FORMAT_PROBLEM = 'a JSON Envoy format must be an object of key → "%OPERATOR%" strings';

/** How a composite key's value is read into slots: a nested object's keys, or a string's own text format. */
type Composite = { key: string; slot: number; read: CompositeReader; misfit: SkippedLine };
/**
 * Reads a composite value (a parsed nested object, or a string of text and operators) into
 * slots; false when the value does not have the shape its format gives it. `object`: the reader
 * of a nested object, whose raw value the scanner keeps as JSON text (parsed once per line).
 */
type CompositeReader = { object: boolean; read: (value: unknown, values: (string | undefined)[], seen: Uint8Array) => boolean };

/** `limited`: pairs (slot, N) of the keys whose operator has a `:N` length limit (see CompiledEnvoyFormat.limited). */
export type CompiledJsonFormat = { table: Map<string, number>; headerNames: string[]; composites: Composite[]; limited: number[] };

/** The key table of a custom JSON format (`{"src": "%DOWNSTREAM_PEER_URI_SAN%", ...}`). */
export function compileJsonFormat(format: string): CompiledJsonFormat {
  let spec: unknown;
  try {
    spec = JSON.parse(format);
  } catch {
    throw new EnvoyFormatError(NO_JSON_FORMAT_PROBLEM);
  }
  if (!isPlainObject(spec)) throw new EnvoyFormatError(NO_JSON_FORMAT_PROBLEM);
  const table = new Map<string, number>();
  const headerNames: string[] = [];
  const headerSlot = (header: string): number => {
    const known = headerNames.indexOf(header);
    if (known >= 0) return SLOT_COUNT + known;
    headerNames.push(header);
    return SLOT_COUNT + headerNames.length - 1;
  };
  const composites: { key: string; read: CompositeReader }[] = [];
  const limited: number[] = [];
  for (const [key, value] of Object.entries(spec)) {
    const time = typeof value === 'string' ? startTimeReader(value) : undefined;
    if (time !== undefined) {
      composites.push({ key, read: time });
      continue;
    }
    const single = typeof value === 'string' ? singleOperatorSlot(value, headerSlot) : undefined;
    if (single !== undefined) {
      table.set(key, single);
      const limit = LIMIT_AT_END.exec((value as string).trim());
      if (limit !== null && single !== F.REQUEST_ID) limited.push(single, Number(limit[1]));
      continue;
    }
    const read = compositeReader(value, headerSlot);
    if (read !== undefined) composites.push({ key, read });
  }
  // (composite keys' raw values go to slots after the header slots, which are all known now)
  const firstRaw = SLOT_COUNT + headerNames.length;
  const placed = composites.map((c, i) => {
    table.set(c.key, firstRaw + i);
    return { key: c.key, slot: firstRaw + i, read: c.read, misfit: skipWith(`the value of "${c.key}" does not have the shape the Envoy JSON format gives it`) };
  });
  if (table.size === 0) throw new EnvoyFormatError('no key of the JSON Envoy format maps to an access record field');
  table.set('kubernetes', F.KUBERNETES);
  return { table, headerNames, composites: placed, limited };
}

/** A single operator's `:N` length limit, `%REQ(:PATH):64%`. */
const LIMIT_AT_END = /\)?:(\d+)%$/;

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return value !== null && typeof value === 'object' && !Array.isArray(value);
}

/** The slot of a value that is one operator (`"%REQ(:METHOD)%"`), or undefined. */
function singleOperatorSlot(value: string, headerSlot: (header: string) => number): number | undefined {
  const operator = value.trim();
  if (!operator.startsWith('%') || operatorEnd(operator, 1) !== operator.length - 1) return undefined;
  const target = operatorTarget(operator.slice(1, -1));
  if (target === undefined) return undefined;
  return 'slot' in target ? target.slot : headerSlot(target.header);
}

/**
 * The reader of a value that is one `%START_TIME(<format>)%` whose format we read: its time by that
 * format (a `%e` day, `%d.%m.%Y`, which no shape tells apart); a value that does not fit it is kept
 * for normalizeTime to read by shape, as the text reader does. Undefined for any other value.
 */
function startTimeReader(value: string): CompositeReader | undefined {
  const operator = value.trim();
  const prefix = '%START_TIME(';
  if (!operator.startsWith(prefix) || !operator.endsWith(')%') || operatorEnd(operator, 1) !== operator.length - 1) return undefined;
  const format = compileStartTime(operator.slice(prefix.length, -2));
  if (format === undefined) return undefined;
  const read = (value: unknown, values: (string | undefined)[], seen: Uint8Array): boolean => {
    const text = slotText(value);
    seen[F.START_TIME] = 1;
    if (text !== undefined) values[F.START_TIME] = format.read(text) ?? text;
    return true;
  };
  return { object: false, read };
}

/** How to read a nested object or a string of text and operators into slots; undefined when it maps nothing. */
function compositeReader(value: unknown, headerSlot: (header: string) => number): CompositeReader | undefined {
  if (typeof value === 'string') {
    let text: CompiledEnvoyFormat;
    try {
      text = new CompiledEnvoyFormat(value);
    } catch {
      return undefined; // no mapped operator, or one Envoy's own text could not tell apart
    }
    // (every header slot is taken now, at compile time: the composites' raw slots come after them)
    const targets = Array.from({ length: text.slotCount }, (_, slot) => (slot < SLOT_COUNT ? slot : headerSlot(text.headerNames[slot - SLOT_COUNT]!)));
    const scratch = new Array<string | undefined>(text.valueCount).fill(undefined);
    const read = (value: unknown, values: (string | undefined)[], seen: Uint8Array): boolean => {
      if (typeof value !== 'string') return false;
      scratch.fill(undefined);
      if (!text.match(value, scratch)) return false;
      for (let slot = 0; slot < targets.length; slot++) {
        if (text.seen[slot] !== 1) continue;
        const target = targets[slot]!;
        const value = scratch[slot];
        // (a value its `:N` limit may have cut is not logged; another key may fill the same field:
        // an empty value leaves what that one gave)
        if (value === CUT_VALUE) continue;
        if (value !== undefined) values[target] = value;
        seen[target] = 1;
      }
      return true;
    };
    return { object: false, read };
  }
  if (!isPlainObject(value)) return undefined;
  const fields: { key: string; slot: number | undefined; nested: CompositeReader | undefined }[] = [];
  for (const [key, inner] of Object.entries(value)) {
    const time = typeof inner === 'string' ? startTimeReader(inner) : undefined;
    const slot = typeof inner === 'string' && time === undefined ? singleOperatorSlot(inner, headerSlot) : undefined;
    const nested = time ?? (slot === undefined ? compositeReader(inner, headerSlot) : undefined);
    if (slot !== undefined || nested !== undefined) fields.push({ key, slot, nested });
  }
  if (fields.length === 0) return undefined;
  const read = (object: unknown, values: (string | undefined)[], seen: Uint8Array): boolean => {
    if (!isPlainObject(object)) return false;
    for (const field of fields) {
      if (!(field.key in object)) continue;
      const inner = object[field.key];
      if (field.nested !== undefined) {
        // (null, "" or "-": an empty value, as omit_empty_values or an older Envoy writes it)
        if (inner === null || inner === '' || inner === '-') continue;
        if (!field.nested.read(inner, values, seen)) return false;
        continue;
      }
      const slot = field.slot!;
      seen[slot] = 1;
      const text = slotText(inner);
      if (text !== undefined) values[slot] = text;
    }
    return true;
  };
  return { object: true, read };
}

/** A nested object's raw JSON text, parsed (undefined when it is not JSON). */
function parsedObject(raw: string): unknown {
  try {
    return JSON.parse(raw);
  } catch {
    return undefined;
  }
}

/** A nested value as the flat scanner gives a top-level one: text, with null, "" and "-" empty. */
const DEFAULT_TABLE = new Map<string, number>(DEFAULT_JSON_KEYS);

export class EnvoyJsonReader implements LineReader {
  private readonly scanner: FlatJsonScanner;
  private readonly headerNames: string[] | undefined;
  /** Lines must have this many mapped keys to count as Envoy lines (one for custom formats). */
  private readonly minimumKeys: number;
  private readonly keyPrefix = newKeyPrefix();
  private readonly keyParts: string[];
  /** Scratch slot values and presence for readParts. */
  private readonly partValues: (string | undefined)[];
  private readonly partSeen: Uint8Array;
  /** A custom format's nested objects and strings of text and operators, read after the scan. */
  private readonly composites: Composite[] = [];
  /** Pairs (slot, N) of a custom format's keys with a `:N` length limit. */
  private readonly limited: number[] = [];
  /** The format has a request key (method, path, protocol or authority): see `omittedRequest`. */
  private readonly requestKeys: boolean;
  readonly hopParts = ENVOY_HOP_PARTS;

  constructor(
    readonly format: LogFormatId,
    private readonly mesh: Mesh | undefined,
    jsonFormat?: string,
  ) {
    if (jsonFormat !== undefined) {
      const compiled = compileJsonFormat(jsonFormat);
      this.scanner = new FlatJsonScanner(compiled.table, SLOT_COUNT + compiled.headerNames.length + compiled.composites.length);
      this.composites = compiled.composites;
      this.limited = compiled.limited;
      this.headerNames = compiled.headerNames.length > 0 ? compiled.headerNames : undefined;
      this.minimumKeys = 1;
      let requestKeys = false;
      for (const slot of compiled.table.values()) if (slot === F.METHOD || slot === F.PATH || slot === F.PROTOCOL || slot === F.AUTHORITY) requestKeys = true;
      this.requestKeys = requestKeys;
    } else {
      this.requestKeys = true;
      this.scanner = new FlatJsonScanner(DEFAULT_TABLE, SLOT_COUNT);
      this.headerNames = undefined;
      // One shared key (Linkerd's `method`, say) does not make a line Envoy's.
      this.minimumKeys = 2;
    }
    // (a composite key's raw value is no part of the record: the key covers the slots it fills)
    this.keyParts = new Array<string>(this.scanner.values.length - this.composites.length).fill('');
    this.partValues = new Array<string | undefined>(this.keyParts.length).fill(undefined);
    this.partSeen = new Uint8Array(this.keyParts.length);
  }

  readParts(key: string | readonly string[], time: string | undefined, requestId: string | undefined): ParsedLine {
    return envoyRecordFromKey(key, time, requestId, this.mesh, this.headerNames, this.partValues, this.partSeen);
  }

  peek(line: string): LinePeek | undefined {
    // escaped strings are decoded by the full read
    if (line.indexOf('\\') >= 0) return undefined;
    const scanner = this.scanner;
    if (scanner.scan(line) !== SCAN_OK || scanner.seen[F.KUBERNETES] === 1 || scanner.matched < this.minimumKeys) return undefined;
    if (this.composites.length > 0 && this.readComposites() !== undefined) return undefined;
    if (this.limited.length > 0) this.dropCut();
    this.omittedRequest();
    return peekEnvoyRecord(scanner.values, scanner.seen, this.mesh, this.keyParts, this.keyPrefix);
  }

  readPeeked(): ParsedLine {
    // (a peeked line has no shipper metadata: peek sent it the full way)
    return buildEnvoyRecord(this.scanner.values, this.scanner.seen, this.mesh, this.headerNames);
  }

  /**
   * Fills the slots of the composite keys from their raw values (then cleared: they are no record
   * field); the skip of the first value without its format's shape, if any.
   */
  private readComposites(): SkippedLine | undefined {
    const { values, seen } = this.scanner;
    let misfit: SkippedLine | undefined;
    for (const composite of this.composites) {
      const raw = values[composite.slot];
      if (raw !== undefined && !composite.read.read(composite.read.object ? parsedObject(raw) : raw, values, seen)) misfit ??= composite.misfit;
      values[composite.slot] = undefined;
      seen[composite.slot] = 0;
    }
    return misfit;
  }

  /** Envoy cuts a value longer than its key's `:N` limit to N bytes: one of N is not known to be whole, and is left unlogged. */
  private dropCut(): void {
    const { values, seen } = this.scanner;
    const limited = this.limited;
    for (let i = 0; i < limited.length; i += 2) {
      const slot = limited[i]!;
      const value = values[slot];
      if (value !== undefined && reachesByteLimit(value, limited[i + 1]!)) {
        values[slot] = undefined;
        seen[slot] = 0;
      }
    }
  }

  /**
   * A JSON format leaves out the keys of empty values with omit_empty_values (Istio's
   * `omitEmptyValues`): a TCP connection's line then has no request key at all. A status of 0
   * with none of the format's request keys is such a line (an HTTP request always has a method),
   * marked as if its empty protocol had been written, which makes it TCP.
   */
  private omittedRequest(): void {
    if (!this.requestKeys) return;
    const { values, seen } = this.scanner;
    if (seen[F.METHOD] === 0 && seen[F.PATH] === 0 && seen[F.PROTOCOL] === 0 && seen[F.AUTHORITY] === 0 && values[F.RESPONSE_CODE] === '0') seen[F.PROTOCOL] = 1;
  }

  read(line: string): LineResult {
    return this.readLine(line, undefined);
  }

  readMerged(line: string, fields: Readonly<Record<string, unknown>>): LineResult {
    return this.readLine(line, fields);
  }

  private readLine(line: string, fields: Readonly<Record<string, unknown>> | undefined): LineResult {
    const scanner = this.scanner;
    const status = scanner.scan(line);
    if (status !== SCAN_OK) {
      if (isBlank(line)) return SKIP.blank;
      return status === SCAN_NOT_OBJECT ? SKIP.notObject : SKIP.notJson;
    }
    const seen = scanner.seen;
    const kubernetes = seen[F.KUBERNETES] === 1;
    if (scanner.matched - (kubernetes ? 1 : 0) < this.minimumKeys) return SKIP.noFields;
    if (this.composites.length > 0) {
      const misfit = this.readComposites();
      if (misfit !== undefined) return misfit;
    }
    if (this.limited.length > 0) this.dropCut();
    if (fields !== undefined) mergeFields(scanner.values, seen, fields);
    this.omittedRequest();
    const parsed = buildEnvoyRecord(scanner.values, seen, this.mesh, this.headerNames);
    if (kubernetes) {
      const raw = scanner.values[F.KUBERNETES];
      const meta = raw === undefined ? undefined : metadataFromKubernetes(raw);
      if (meta !== undefined) parsed.shipper = meta;
    }
    return parsed;
  }
}

/**
 * A reader for Envoy JSON lines. `options.envoyFormat`, when it is a JSON object (a custom JSON
 * format), replaces the default key table; a text format string there is ignored (it is for
 * envoy-text). `options.mesh` fixes the mesh; without it a line is Consul's when its cluster
 * or SNI has Consul's shape (`local_app`, `*.consul`), else Istio's.
 */
export function createEnvoyJsonReader(options: ReaderOptions = {}): EnvoyJsonReader {
  const custom = options.envoyFormat?.trim().startsWith('{') ? options.envoyFormat : undefined;
  return new EnvoyJsonReader('envoy-json', options.mesh, custom);
}

import type { LinePeek, LineReader, LineResult, ParsedLine, ReaderOptions, SkippedLine } from '../readerTypes';
import type { Mesh } from '../../meshes';
import { SKIP, isBlank, newKeyPrefix, normalizeTime, reachesByteLimit, skipWith } from './common';
import { compileStartTime, type StartTimeFormat } from './envoyStartTime';
import { ENVOY_HOP_PARTS, F, SLOT_COUNT, buildEnvoyRecord, envoyRecordFromKey, mergeFields, operatorTarget, peekEnvoyRecord } from './envoyFields';

/**
 * Envoy TEXT access logs: Istio's default format, plain Envoy's default format, and any
 * user-supplied Envoy format string (`meshConfig.accessLogFormat`, Telemetry
 * `logFormat.text`, Consul `TextFormat`), compiled once into a list of literals and operators.
 *
 * Reading a line walks the compiled list left to right: each operator's value runs up to the
 * next literal (found with `indexOf`), so a line costs one pass whatever the format. Operators
 * that the format does not enclose in quotes or brackets must not contain a space (Envoy
 * replaces spaces in details with `_`), which keeps a line of another format from matching by
 * accident; a `%START_TIME(...)%` holds exactly the spaces of its strftime format, and a last
 * operator that ends the format and maps to no record field takes the rest of the line. A quoted
 * value ends at the first occurrence of the literal that follows it. Envoy does not escape quotes,
 * so a User-Agent may itself hold that literal (`curl "a" "b"` holds `" "`): when the line does not
 * fit that way, the reader tries the later occurrences of the literals after free-text values
 * (request headers other than those Envoy validates or sets). A value that is an address, host
 * name, id, code or flag never starts with a `"`: one that does is the quoted value before it,
 * moved along, and the line is read another way.
 */

/** Istio's default TEXT format (`EnvoyTextLogFormat`, istio/istio pilot/pkg/model/telemetry_logging.go). */
export const ISTIO_TEXT_FORMAT =
  '[%START_TIME%] "%REQ(:METHOD)% %REQ(X-ENVOY-ORIGINAL-PATH?:PATH)% %PROTOCOL%" %RESPONSE_CODE% %RESPONSE_FLAGS% ' +
  '%RESPONSE_CODE_DETAILS% %CONNECTION_TERMINATION_DETAILS% "%UPSTREAM_TRANSPORT_FAILURE_REASON%" %BYTES_RECEIVED% ' +
  '%BYTES_SENT% %DURATION% %RESP(X-ENVOY-UPSTREAM-SERVICE-TIME)% "%REQ(X-FORWARDED-FOR)%" "%REQ(USER-AGENT)%" ' +
  '"%REQ(X-REQUEST-ID)%" "%REQ(:AUTHORITY)%" "%UPSTREAM_HOST%" %UPSTREAM_CLUSTER_RAW% %UPSTREAM_LOCAL_ADDRESS% ' +
  '%DOWNSTREAM_LOCAL_ADDRESS% %DOWNSTREAM_REMOTE_ADDRESS% %REQUESTED_SERVER_NAME% %ROUTE_NAME%\n';

/** Envoy's own default format (no Istio). */
export const ENVOY_DEFAULT_FORMAT =
  '[%START_TIME%] "%REQ(:METHOD)% %REQ(X-ENVOY-ORIGINAL-PATH?:PATH)% %PROTOCOL%" %RESPONSE_CODE% %RESPONSE_FLAGS% ' +
  '%BYTES_RECEIVED% %BYTES_SENT% %DURATION% %RESP(X-ENVOY-UPSTREAM-SERVICE-TIME)% "%REQ(X-FORWARDED-FOR)%" ' +
  '"%REQ(USER-AGENT)%" "%REQ(X-REQUEST-ID)%" "%REQ(:AUTHORITY)%" "%UPSTREAM_HOST%"\n';

/** A format string that cannot be compiled. */
export class EnvoyFormatError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'EnvoyFormatError';
  }
}

/** A compiled format: literals[i] precedes operator i; literals[ops] follows the last one. */
export class CompiledEnvoyFormat {
  readonly literals: string[] = [];
  /** Per operator: slot index, or -1 when the value is not used. */
  readonly slots: number[] = [];
  /** Per operator: the spaces its value always holds (a `%START_TIME(...)%` whose strftime format has some). */
  readonly spaces: number[] = [];
  /** Per `%START_TIME(<format>)%` operator: its format compiled, which finds the value's end (a `%e` day may hold a space) and reads its time. */
  private readonly startTimes: (StartTimeFormat | undefined)[] = [];
  /**
   * Triples (slot, field slot, N) of the mapped operators with a `:N` length limit (but the
   * request id, which only pairs lines). Envoy cuts a longer value to N bytes, so a value of
   * N bytes is not known to be the whole: `match` writes CUT_VALUE for it, and `dropCut`
   * leaves the field unlogged.
   */
  readonly limited: number[] = [];
  /** Pairs (own slot, field slot) of the operators that fill a field an earlier operator fills too. */
  private readonly shared: number[] = [];
  /** Slots a line's values take: the format's, then the own slots of `shared`. */
  readonly valueCount: number;
  /** No `limited` and no `shared` operator: a matched line needs no `finish`. */
  private readonly plain: boolean;
  /** Names of the request headers kept beyond the fixed slots, in slot order. */
  readonly headerNames: string[] = [];
  /** 1 per slot the format fills. */
  readonly seen: Uint8Array;
  /** The operator whose value must be a host name (the SNI), when the last one takes the rest of the line; else -1. */
  private readonly hostNameOperator: number = -1;
  /** Per operator: enclosed, and its value may hold the literal after it (see `matchAnyWay`): free text, or details with brackets in a `[...]`. */
  private readonly freeText: boolean[] = [];
  /**
   * Per operator, what its value may not be: NO_SPACE (an unquoted value, unless it takes the rest of the line); NO_COLON (`hostNameOperator`);
   * NO_LEADING_QUOTE, an unquoted value that never starts with a `"` (an address, host name, code
   * or flag: one that does is a quoted value moved along by a `" "` inside a free-text value
   * before it); MAX_LENGTH, longer than its `:N` limit (`maxLength`).
   */
  private readonly guards: number[] = [];
  /** Some quoted free-text value may hold the literal after it. */
  private readonly mayBacktrack: boolean;
  /** Per operator: the longest value Envoy writes for it (`%REQ(X-TENANT):32%`: 32), or -1. */
  private readonly maxLength: number[] = [];

  constructor(readonly source: string) {
    let text = source;
    // Istio appends a newline to custom formats; settings files often hold a literal "\n".
    for (;;) {
      if (text.endsWith('\n') || text.endsWith('\r')) text = text.slice(0, -1);
      else if (text.endsWith('\\n')) text = text.slice(0, -2);
      else break;
    }
    if (text.length === 0) throw new EnvoyFormatError('the Envoy format string is empty');
    const slots = new Map<string, number>();
    const ops: string[] = [];
    let literal = '';
    let i = 0;
    while (i < text.length) {
      const c = text[i]!;
      if (c !== '%') {
        literal += c;
        i++;
        continue;
      }
      if (text[i + 1] === '%') {
        literal += '%';
        i += 2;
        continue;
      }
      const end = operatorEnd(text, i + 1);
      if (end < 0) throw new EnvoyFormatError(`unterminated command operator at column ${i + 1} of the Envoy format string`);
      const op = text.slice(i + 1, end);
      if (ops.length > 0 && literal.length === 0) {
        throw new EnvoyFormatError(`%${ops[ops.length - 1]}% and %${op}% follow each other with no text between them, so a line cannot be split`);
      }
      this.literals.push(literal);
      literal = '';
      ops.push(op);
      this.spaces.push(op.startsWith('START_TIME(') ? countSpaces(op) : 0);
      this.startTimes.push(op.startsWith('START_TIME(') && op.endsWith(')') ? compileStartTime(op.slice('START_TIME('.length, -1)) : undefined);
      const target = operatorTarget(op);
      if (target === undefined) this.slots.push(-1);
      else if ('slot' in target) this.slots.push(target.slot);
      else {
        let slot = slots.get(target.header);
        if (slot === undefined) {
          slot = SLOT_COUNT + this.headerNames.length;
          this.headerNames.push(target.header);
          slots.set(target.header, slot);
        }
        this.slots.push(slot);
      }
      i = end + 1;
    }
    this.literals.push(literal);
    if (ops.length === 0) throw new EnvoyFormatError('the Envoy format string has no command operators');
    if (!this.slots.some((s) => s >= 0)) throw new EnvoyFormatError('no operator of the Envoy format string maps to an access record field');
    this.seen = new Uint8Array(SLOT_COUNT + this.headerNames.length);
    // An operator whose field an earlier one fills too (`%RESP(GRPC-STATUS)%` and
    // `%TRAILER(GRPC-STATUS)%`: a status sent in the headers or in the trailers) is read into a
    // slot of its own, past the format's, and fills the field only where the earlier ones left it
    // empty: a `-` after a value does not erase it.
    const fieldSlots = this.slots.slice();
    let extra = this.slotCount;
    for (let k = 0; k < fieldSlots.length; k++) {
      const slot = fieldSlots[k]!;
      if (slot < 0 || fieldSlots.indexOf(slot) === k) continue;
      this.slots[k] = extra;
      this.shared.push(extra++, slot);
    }
    this.valueCount = extra;
    for (let k = 0; k < ops.length; k++) {
      const before = this.literals[k]!;
      const after = this.literals[k + 1]!;
      const quoted = (before.endsWith('"') && after.startsWith('"')) || (before.endsWith('[') && after.startsWith(']')) || (before.endsWith("'") && after.startsWith("'"));
      const slot = fieldSlots[k]!;
      // A last operator with nothing after it ends where the line ends, so its value may hold
      // spaces (Istio's `%ROUTE_NAME%`: a VirtualService route name is free text). Only when the
      // record does not keep it: a kept value with a space there more likely means a line of
      // another layout, which must not be read into a field.
      const restOfLine = k === ops.length - 1 && after.length === 0 && slot < 0;
      // One token too many among the unquoted values before it would shift each of them into the
      // next one's place, and the caller's address would become the SNI: a host name has no `:`
      // (RFC 6066 §3: no address literals).
      if (restOfLine) this.hostNameOperator = fieldSlots.indexOf(F.REQUESTED_SERVER_NAME);
      if (slot >= 0) this.seen[slot] = 1;
      const free = slot < 0 || slot >= SLOT_COUNT || FREE_TEXT_SLOTS.has(slot);
      this.freeText.push(quoted && after.length > 0 && (free || BRACKETED_SLOTS.has(slot)));
      const limit = LENGTH_LIMIT.exec(ops[k]!);
      this.maxLength.push(limit === null ? -1 : Number(limit[1]));
      if (limit !== null && slot >= 0 && slot !== F.REQUEST_ID) this.limited.push(this.slots[k]!, slot, Number(limit[1]));
      this.guards.push((!quoted && !restOfLine ? NO_SPACE : 0) | (!quoted && !free ? NO_LEADING_QUOTE : 0) | (limit === null ? 0 : MAX_LENGTH));
    }
    if (this.hostNameOperator >= 0) this.guards[this.hostNameOperator]! |= NO_COLON;
    this.mayBacktrack = this.freeText.includes(true);
    this.plain = this.limited.length === 0 && this.shared.length === 0;
  }

  get slotCount(): number {
    return SLOT_COUNT + this.headerNames.length;
  }

  /**
   * The line starts as this format's lines do, up to a `%START_TIME%` first operator whose value
   * reads as a time: an Envoy line of another format, or one cut short, rather than another log's.
   */
  startsLike(line: string): boolean {
    if (this.slots[0] !== F.START_TIME) return false;
    const first = this.literals[0]!;
    const lit = this.literals[1]!;
    if (!line.startsWith(first) || lit.length === 0) return false;
    const from = this.afterOwnSpaces(line, 0, first.length);
    const end = from < 0 ? -1 : line.indexOf(lit, from);
    return end > first.length && normalizeTime(line.slice(first.length, end)) !== undefined;
  }

  /** Fills `out` (cleared by the caller) from the line; false when the line does not have this shape. */
  match(line: string, out: (string | undefined)[]): boolean {
    let n = line.length;
    if (n > 0 && line.charCodeAt(n - 1) === 13) n--;
    const first = this.literals[0]!;
    if (first.length > 0 && !line.startsWith(first)) return false;
    if (this.matchFirst(line, n, first.length, out)) return (this.plain || this.finish(out));
    if (!this.mayBacktrack) return false;
    out.fill(undefined);
    return this.matchAnyWay(line, n, 0, first.length, out, { steps: BACKTRACK_STEPS }) && ((this.plain || this.finish(out)));
  }

  private finish(out: (string | undefined)[]): true {
    const limited = this.limited;
    for (let i = 0; i < limited.length; i += 3) {
      const value = out[limited[i]!];
      if (value !== undefined && reachesByteLimit(value, limited[i + 2]!)) out[limited[i]!] = CUT_VALUE;
    }
    return this.shared.length === 0 || this.fillShared(out);
  }

  /**
   * The presence flags of the line just matched into `values`: the format's own, or, when a
   * value may have been cut (CUT_VALUE), a copy in `scratch` without that field, whose value is
   * then cleared.
   */
  dropCut(values: (string | undefined)[], scratch: Uint8Array): Uint8Array {
    const limited = this.limited;
    let seen = this.seen;
    for (let i = 0; i < limited.length; i += 3) {
      const field = limited[i + 1]!;
      if (values[field] !== CUT_VALUE) continue;
      if (seen === this.seen) {
        scratch.fill(0);
        scratch.set(this.seen);
        seen = scratch;
      }
      values[field] = undefined;
      seen[field] = 0;
    }
    return seen;
  }

  private fillShared(out: (string | undefined)[]): true {
    const shared = this.shared;
    for (let i = 0; i < shared.length; i += 2) {
      const own = shared[i]!;
      const field = shared[i + 1]!;
      if (out[field] === undefined) out[field] = out[own];
      out[own] = undefined;
    }
    return true;
  }

  /** Each value ends at the first occurrence of the literal after it: how Envoy's lines are read. */
  private matchFirst(line: string, n: number, start: number, out: (string | undefined)[]): boolean {
    const literals = this.literals;
    let pos = start;
    const last = this.slots.length - 1;
    for (let k = 0; k <= last; k++) {
      const lit = literals[k + 1]!;
      const from = this.spaces[k] === 0 && this.startTimes[k] === undefined ? pos : this.afterOwnSpaces(line, k, pos);
      if (from < 0) return false;
      let end: number;
      if (lit.length === 0) {
        end = n; // the last operator runs to the end of the line
      } else {
        end = line.indexOf(lit, from);
        if (end < 0 || end + lit.length > n) return false;
      }
      if (!this.fits(line, k, pos, from, end)) return false;
      this.store(line, k, pos, end, out);
      pos = end + lit.length;
    }
    return onlyWhitespaceFrom(line, pos, n);
  }

  /**
   * Operator k and those after it from `pos` on, a free-text value ending at any occurrence of
   * its literal (the first that lets the rest fit), every other value as `matchFirst` ends it.
   * At most `budget.steps` values are tried, so a line with many quotes costs a bounded time.
   */
  private matchAnyWay(line: string, n: number, k: number, pos: number, out: (string | undefined)[], budget: { steps: number }): boolean {
    if (k === this.slots.length) return onlyWhitespaceFrom(line, pos, n);
    const lit = this.literals[k + 1]!;
    const from = this.afterOwnSpaces(line, k, pos);
    if (from < 0) return false;
    for (let end = lit.length === 0 ? n : line.indexOf(lit, from); end >= 0 && end + lit.length <= n; end = line.indexOf(lit, end + 1)) {
      if (--budget.steps < 0 || !this.fits(line, k, pos, from, end)) return false;
      this.store(line, k, pos, end, out);
      if (this.matchAnyWay(line, n, k + 1, end + lit.length, out, budget)) return true;
      if (!this.freeText[k]) break;
    }
    const slot = this.slots[k]!;
    if (slot >= 0) out[slot] = undefined;
    return false;
  }

  /** Where operator k's value starts to be searched for its end: past the spaces it always holds (the next literal may start with one); -1 when the line has too few. */
  private afterOwnSpaces(line: string, k: number, pos: number): number {
    const time = this.startTimes[k];
    if (time !== undefined) {
      time.pattern.lastIndex = pos;
      if (time.pattern.test(line)) return time.pattern.lastIndex;
    }
    let from = pos;
    for (let s = this.spaces[k]!; s > 0; s--) {
      const space = line.indexOf(' ', from);
      if (space < 0) return -1;
      from = space + 1;
    }
    return from;
  }

  /** Operator k may have the value line[pos, end). */
  private fits(line: string, k: number, pos: number, from: number, end: number): boolean {
    const guards = this.guards[k]!;
    if (guards === 0) return true;
    if ((guards & NO_SPACE) !== 0) {
      const space = line.indexOf(' ', from);
      if (space >= 0 && space < end) return false;
    }
    if ((guards & NO_COLON) !== 0) {
      const colon = line.indexOf(':', pos);
      if (colon >= 0 && colon < end) return false;
    }
    if ((guards & NO_LEADING_QUOTE) !== 0 && end > pos && line.charCodeAt(pos) === 34 /* " */) return false;
    return (guards & MAX_LENGTH) === 0 || end - pos <= this.maxLength[k]!;
  }

  private store(line: string, k: number, pos: number, end: number, out: (string | undefined)[]): void {
    const slot = this.slots[k]!;
    if (slot < 0) return;
    const len = end - pos;
    const value = len === 0 || (len === 1 && line.charCodeAt(pos) === 45) /* - */ ? undefined : line.slice(pos, end);
    const time = this.startTimes[k];
    out[slot] = value === undefined || time === undefined ? value : time.read(value) ?? value;
  }
}

/** The value of a field whose `:N` limit may have cut it (never a line's text: it holds a NUL). */
export const CUT_VALUE = '\u0000cut';

/** Nothing may follow the last literal but trailing whitespace. */
function onlyWhitespaceFrom(line: string, pos: number, n: number): boolean {
  for (let k = pos; k < n; k++) {
    const c = line.charCodeAt(k);
    if (c !== 32 && c !== 9) return false;
  }
  return true;
}

/**
 * Values a client writes freely, which may hold any `"`: request headers (besides the authority,
 * which Envoy validates, and the request id, which it sets at the edge) and the path. The other
 * values Envoy writes itself: addresses, codes, flags, details with spaces made `_`.
 */
const FREE_TEXT_SLOTS: ReadonlySet<number> = new Set([F.PATH, F.USER_AGENT, F.X_FORWARDED_FOR, F.CONTENT_TYPE]);

/**
 * Values that hold brackets: RBAC details name the policy in `[...]` (`rbac_access_denied_matched_policy[ns[foo]-policy[p]-rule[0]]`,
 * the dry-run policy ids likewise), so a `[%RESPONSE_CODE_DETAILS%]` holds `]` before its own.
 */
const BRACKETED_SLOTS: ReadonlySet<number> = new Set([
  F.RESPONSE_CODE_DETAILS,
  F.CONNECTION_TERMINATION_DETAILS,
  F.DRY_RUN_ALLOW_POLICY,
  F.DRY_RUN_DENY_POLICY,
  F.TCP_DRY_RUN_ALLOW_POLICY,
  F.TCP_DRY_RUN_DENY_POLICY,
]);

/** Values tried per line beyond the first reading: a few free-text values with a few quotes each. */
const BACKTRACK_STEPS = 256;

const OPERATOR_NAME_CHAR = /[A-Z0-9_]/;
const NO_SPACE = 1;
const NO_COLON = 2;
const NO_LEADING_QUOTE = 4;
const MAX_LENGTH = 8;
/** An operator's `:N` length limit: Envoy cuts its value to N bytes (UTF-8). */
const LENGTH_LIMIT = /:(\d+)$/;

function countSpaces(text: string): number {
  let n = 0;
  for (let i = text.indexOf(' '); i >= 0; i = text.indexOf(' ', i + 1)) n++;
  return n;
}

/** Index of the `%` that closes the operator starting at `start` (after its `%`), or -1; `%START_TIME(%s)%`'s inner `%`s included. */
export function operatorEnd(text: string, start: number): number {
  let i = start;
  while (i < text.length && OPERATOR_NAME_CHAR.test(text[i]!)) i++;
  if (i === start) return -1;
  if (text[i] === '(') {
    let depth = 0;
    for (; i < text.length; i++) {
      if (text[i] === '(') depth++;
      else if (text[i] === ')' && --depth === 0) break;
    }
    if (i >= text.length) return -1;
    i++;
  }
  if (text[i] === ':') {
    i++;
    const digits = i;
    while (i < text.length && text[i]! >= '0' && text[i]! <= '9') i++;
    if (i === digits) return -1;
  }
  return text[i] === '%' ? i : -1;
}

let defaultFormats: CompiledEnvoyFormat[] | undefined;

/** Lines that start as Envoy's (a bracketed time) but fit neither default format. */
const SKIP_NOT_DEFAULT_FORMAT = Object.freeze(skipWith("Envoy access log line of neither Istio's nor Envoy's default format (cut short, or written with a custom format: give it in readers.envoyFormat)"));
/** Lines that start as the given format's but do not fit it. */
const SKIP_NOT_GIVEN_FORMAT = Object.freeze(skipWith('Envoy access log line that does not fit the given format string (cut short, or written with another format)'));

/** Istio's default, then plain Envoy's default. */
export function defaultEnvoyTextFormats(): CompiledEnvoyFormat[] {
  return (defaultFormats ??= [new CompiledEnvoyFormat(ISTIO_TEXT_FORMAT), new CompiledEnvoyFormat(ENVOY_DEFAULT_FORMAT)]);
}

/** Checks a user-supplied format string; returns the problem, or undefined when it compiles. */
export function checkEnvoyFormat(format: string): string | undefined {
  try {
    new CompiledEnvoyFormat(format);
    return undefined;
  } catch (error) {
    return (error as Error).message;
  }
}

export class EnvoyTextReader implements LineReader {
  readonly format = 'envoy-text' as const;
  private readonly values: (string | undefined)[];
  /** Index of the format that matched last; tried first. */
  private last = 0;
  /** Index of the format of the last peeked line. */
  private peeked = 0;
  /** Per format: the prefix of its line keys (peek). */
  private readonly keyPrefixes: string[];
  private readonly keyParts: string[][];
  /** Scratch slot values and presence for readParts. */
  private readonly partValues: (string | undefined)[];
  private readonly partSeen: Uint8Array;
  /** Scratch presence flags for readMerged. */
  private readonly mergedSeen: Uint8Array;
  /** Scratch presence flags of a line with a value its format's `:N` limit may have cut. */
  private readonly cutSeen: Uint8Array;
  /** The presence flags of the line last matched. */
  private lineSeen: Uint8Array;
  /** The skip of a line that starts as an Envoy line of these formats but does not fit them. */
  private readonly otherFormat: SkippedLine;
  readonly hopParts = ENVOY_HOP_PARTS;

  constructor(
    private readonly formats: CompiledEnvoyFormat[],
    private readonly mesh: Mesh | undefined,
  ) {
    this.otherFormat = formats === defaultFormats ? SKIP_NOT_DEFAULT_FORMAT : SKIP_NOT_GIVEN_FORMAT;
    this.values = new Array<string | undefined>(Math.max(...formats.map((f) => f.valueCount))).fill(undefined);
    this.keyPrefixes = formats.map(() => newKeyPrefix());
    this.keyParts = formats.map((f) => new Array<string>(f.slotCount).fill(''));
    this.partValues = new Array<string | undefined>(this.values.length).fill(undefined);
    this.partSeen = new Uint8Array(this.values.length);
    this.mergedSeen = new Uint8Array(Math.max(this.values.length, SLOT_COUNT));
    this.cutSeen = new Uint8Array(this.values.length);
    this.lineSeen = formats[0]!.seen;
  }

  readParts(key: string | readonly string[], time: string | undefined, requestId: string | undefined): ParsedLine {
    // the key starts with the prefix of its format
    let index = 0;
    const isFormat = typeof key === 'string'
      ? (prefix: string) => key.startsWith(prefix) && key.charCodeAt(prefix.length) === 1
      : (prefix: string) => key[0] === prefix;
    while (index < this.formats.length - 1 && !isFormat(this.keyPrefixes[index]!)) index++;
    const headerNames = this.formats[index]!.headerNames;
    return envoyRecordFromKey(key, time, requestId, this.mesh, headerNames.length > 0 ? headerNames : undefined, this.partValues, this.partSeen);
  }

  peek(line: string): LinePeek | undefined {
    const index = this.matching(line);
    if (index < 0) return undefined;
    this.peeked = index;
    return peekEnvoyRecord(this.values, this.lineSeen, this.mesh, this.keyParts[index]!, this.keyPrefixes[index]!);
  }

  /** Index of the format the line matches (its values then in `values`), or -1. */
  private matching(line: string): number {
    const formats = this.formats;
    for (let attempt = 0; attempt < formats.length; attempt++) {
      const index = (this.last + attempt) % formats.length;
      this.values.fill(undefined);
      const format = formats[index]!;
      if (format.match(line, this.values)) {
        this.last = index;
        this.lineSeen = format.limited.length === 0 ? format.seen : format.dropCut(this.values, this.cutSeen);
        return index;
      }
    }
    return -1;
  }

  readPeeked(): ParsedLine {
    return this.build(this.peeked);
  }

  private build(index: number): ParsedLine {
    const format = this.formats[index]!;
    return buildEnvoyRecord(this.values, this.lineSeen, this.mesh, format.headerNames.length > 0 ? format.headerNames : undefined);
  }

  read(line: string): LineResult {
    const index = this.matching(line);
    if (index >= 0) return this.build(index);
    if (isBlank(line)) return SKIP.blank;
    return this.formats.some((f) => f.startsLike(line)) ? this.otherFormat : SKIP.notEnvoyText;
  }

  readMerged(line: string, fields: Readonly<Record<string, unknown>>): LineResult {
    const index = this.matching(line);
    if (index < 0) return this.read(line);
    const format = this.formats[index]!;
    // (the format's own presence flags are shared by its lines: the merge writes a copy)
    const seen = this.mergedSeen;
    seen.fill(0);
    seen.set(this.lineSeen);
    mergeFields(this.values, seen, fields);
    return buildEnvoyRecord(this.values, seen, this.mesh, format.headerNames.length > 0 ? format.headerNames : undefined);
  }
}

/**
 * A reader for one user-supplied Envoy format string, or, without one, for Istio's and plain
 * Envoy's default formats (each line is tried against the format that matched last first).
 * Throws EnvoyFormatError when the format string cannot be compiled.
 */
export function createEnvoyTextReader(formatString?: string, options: ReaderOptions = {}): EnvoyTextReader {
  const formats = formatString === undefined || formatString.trim() === '' ? defaultEnvoyTextFormats() : [new CompiledEnvoyFormat(formatString)];
  return new EnvoyTextReader(formats, options.mesh);
}


import { LineIndex } from './lineIndex';
import { DEFAULT_READ_LIMITS, LimitExceeded, tooLargeFile, type ReadLimits, type SourceFile, type SyntaxProblem } from './sourceFile';
import type { ArrayNode, ObjectEntry, ObjectNode, SourceNode, Span } from './tree';

/**
 * A reader for HCL 1, the syntax Consul decodes config entries from (`consul config write`):
 * `key = value` attributes, `key { ... }` blocks (repeated blocks form a list), lists, objects,
 * strings with escapes, heredocs, numbers, booleans and the three comment styles. It keeps
 * offsets for every key and value, which no HCL package on npm does.
 */
export function readHcl(path: string, text: string, limits: ReadLimits = DEFAULT_READ_LIMITS): SourceFile {
  const tooLarge = tooLargeFile(path, 'hcl', text, limits);
  if (tooLarge) return tooLarge;
  const lines = new LineIndex(text);
  const problems: SyntaxProblem[] = [];
  const parser = new HclParser(text, limits);
  const root: ObjectNode = { type: 'object', span: { start: 0, end: text.length }, entries: [], flow: false };
  try {
    parser.parseBody(root, 'eof');
  } catch (error) {
    if (error instanceof HclSyntaxError) problems.push({ span: error.span, severity: 'error', message: `HCL: ${error.message}` });
    else if (error instanceof LimitExceeded) problems.push({ span: error.span, severity: 'error', limit: true, message: error.message });
    else throw error;
  }
  groupRepeatedBlocks(root);
  problems.unshift(...parser.problems);
  return { path, format: 'hcl', text, lines, problems: [], documents: [{ index: 0, span: root.span, root, problems }] };
}

class HclSyntaxError extends Error {
  constructor(message: string, readonly span: Span) {
    super(message);
  }
}

type TokenKind = 'ident' | 'string' | 'number' | 'punct' | 'eof';
interface Token {
  kind: TokenKind;
  text: string;
  value: string | number;
  span: Span;
  quoted?: boolean;
}

class HclParser {
  private pos = 0;
  private lookahead: Token | undefined;
  private depth = 0;
  private nodes = 0;
  /** Problems that do not stop the parse. */
  readonly problems: SyntaxProblem[] = [];
  /** The attribute keys (not blocks: those repeat into lists) set so far in each body, by the field they name. */
  private readonly attributes = new WeakMap<ObjectNode, Map<string, string>>();

  constructor(private readonly text: string, private readonly limits: ReadLimits) {}

  parseBody(target: ObjectNode, end: '}' | 'eof'): void {
    for (;;) {
      const token = this.peek();
      if (end === 'eof' && token.kind === 'eof') return;
      if (end === '}' && token.kind === 'punct' && token.text === '}') return;
      if (token.kind === 'punct' && token.text === ',') {
        this.next();
        continue;
      }
      if (token.kind !== 'ident' && token.kind !== 'string') throw this.unexpected(token, 'a key');
      this.parseItem(target);
    }
  }

  private parseItem(target: ObjectNode): void {
    const keys: Token[] = [this.next()];
    while (this.peek().kind === 'ident' || this.peek().kind === 'string') keys.push(this.next());
    const token = this.peek();
    if (token.kind === 'punct' && token.text === '=') {
      if (keys.length > 1) throw new HclSyntaxError(`expected "{" after block labels, found "="`, token.span);
      this.next();
      const value = this.parseValue();
      const key = String(keys[0]!.value);
      let seen = this.attributes.get(target);
      if (!seen) this.attributes.set(target, (seen = new Map()));
      // HCL keeps the last value, silently; YAML's duplicate keys are errors, and so are these.
      // Consul decodes config entry keys in any case and with or without underscores
      // (`Name`/`name`, `PathPrefix`/`path_prefix`): those name one field too.
      const field = key.toLowerCase().replace(/_/g, '');
      const earlier = seen.get(field);
      if (earlier !== undefined) {
        const again = earlier === key ? `attribute "${key}" is set twice in this block` : `attribute "${key}" sets "${earlier}" again in this block (Consul reads keys in any case, with or without underscores)`;
        this.problems.push({ span: keys[0]!.span, severity: 'error', message: `HCL: ${again}; keys must be unique` });
      } else seen.set(field, key);
      target.entries.push({ key, keySpan: keys[0]!.span, value });
      return;
    }
    if (token.kind === 'punct' && token.text === '{') {
      const block = this.parseObject(true);
      // `a "b" { ... }` is `a { b { ... } }`.
      let value: ObjectNode = block;
      for (let i = keys.length - 1; i >= 1; i--) {
        value = { type: 'object', span: { start: keys[i]!.span.start, end: block.span.end }, entries: [{ key: String(keys[i]!.value), keySpan: keys[i]!.span, value }], flow: false, block: true };
      }
      target.entries.push({ key: String(keys[0]!.value), keySpan: keys[0]!.span, value });
      return;
    }
    throw this.unexpected(token, '"=" or "{"');
  }

  private parseValue(): SourceNode {
    const token = this.peek();
    this.count(token.span);
    if (token.kind === 'string') {
      this.next();
      return { type: 'scalar', span: token.span, value: token.value, style: 'double' };
    }
    if (token.kind === 'number') {
      this.next();
      return { type: 'scalar', span: token.span, value: token.value, style: 'plain' };
    }
    if (token.kind === 'ident') {
      this.next();
      if (token.text === 'true' || token.text === 'false') return { type: 'scalar', span: token.span, value: token.text === 'true', style: 'plain' };
      throw new HclSyntaxError(`unexpected identifier "${token.text}"; strings must be quoted`, token.span);
    }
    if (token.kind === 'punct' && token.text === '[') return this.parseList();
    if (token.kind === 'punct' && token.text === '{') return this.parseObject(false);
    throw this.unexpected(token, 'a value');
  }

  private parseList(): ArrayNode {
    const open = this.next();
    this.enter(open.span);
    const items: SourceNode[] = [];
    for (;;) {
      const token = this.peek();
      if (token.kind === 'punct' && token.text === ']') break;
      items.push(this.parseValue());
      const separator = this.peek();
      if (separator.kind === 'punct' && separator.text === ',') {
        this.next();
        continue;
      }
      if (separator.kind === 'punct' && separator.text === ']') break;
      throw this.unexpected(separator, '"," or "]"');
    }
    const close = this.next();
    this.depth--;
    return { type: 'array', span: { start: open.span.start, end: close.span.end }, items, flow: true };
  }

  private parseObject(block: boolean): ObjectNode {
    const open = this.next();
    this.enter(open.span);
    const node: ObjectNode = { type: 'object', span: { start: open.span.start, end: open.span.end }, entries: [], flow: !block, block };
    this.parseBody(node, '}');
    const close = this.next();
    this.depth--;
    node.span.end = close.span.end;
    groupRepeatedBlocks(node);
    return node;
  }

  private enter(span: Span): void {
    if (++this.depth > this.limits.maxDepth) throw new LimitExceeded(`document is nested more than ${this.limits.maxDepth} levels deep; it was not checked (limit set by maxDepth)`, span);
  }

  private count(span: Span): void {
    if (++this.nodes > this.limits.maxNodes) throw new LimitExceeded(`document has more than ${this.limits.maxNodes} nodes; it was not checked (limit set by maxNodes)`, span);
  }

  private unexpected(token: Token, expected: string): HclSyntaxError {
    const found = token.kind === 'eof' ? 'the end of the file' : `"${token.text}"`;
    return new HclSyntaxError(`expected ${expected}, found ${found}`, token.span);
  }

  private peek(): Token {
    this.lookahead ??= this.scan();
    return this.lookahead;
  }

  private next(): Token {
    const token = this.peek();
    this.lookahead = undefined;
    return token;
  }

  private scan(): Token {
    const text = this.text;
    this.skipTrivia();
    const start = this.pos;
    if (start >= text.length) return { kind: 'eof', text: '', value: '', span: { start, end: start } };
    const ch = text[start]!;
    if ('={}[],'.includes(ch)) {
      this.pos++;
      return { kind: 'punct', text: ch, value: ch, span: { start, end: this.pos } };
    }
    if (ch === '"') return this.scanString();
    if (ch === '<' && text.startsWith('<<', start)) return this.scanHeredoc();
    const number = /^-?(0x[0-9a-fA-F]+|\d+(\.\d+)?([eE][+-]?\d+)?)/.exec(text.slice(start, start + 64));
    if (number && (ch === '-' || /\d/.test(ch))) {
      this.pos += number[0].length;
      const raw = number[0];
      return { kind: 'number', text: raw, value: raw.includes('0x') ? parseInt(raw, 16) : Number(raw), span: { start, end: this.pos } };
    }
    const ident = /^[A-Za-z_][A-Za-z0-9_\-.:]*/.exec(text.slice(start, start + 256));
    if (ident) {
      this.pos += ident[0].length;
      return { kind: 'ident', text: ident[0], value: ident[0], span: { start, end: this.pos } };
    }
    // JSON-quoted, so that a NUL or a control character of a binary file is visible
    throw new HclSyntaxError(`unexpected character ${JSON.stringify(ch)}`, { start, end: start + 1 });
  }

  private skipTrivia(): void {
    const text = this.text;
    while (this.pos < text.length) {
      const ch = text[this.pos]!;
      if (ch === ' ' || ch === '\t' || ch === '\r' || ch === '\n' || ch === '\uFEFF') {
        this.pos++;
      } else if (ch === '#' || (ch === '/' && text[this.pos + 1] === '/')) {
        while (this.pos < text.length && text[this.pos] !== '\n') this.pos++;
      } else if (ch === '/' && text[this.pos + 1] === '*') {
        const end = text.indexOf('*/', this.pos + 2);
        if (end < 0) throw new HclSyntaxError('unterminated comment', { start: this.pos, end: this.pos + 2 });
        this.pos = end + 2;
      } else {
        return;
      }
    }
  }

  private scanString(): Token {
    const text = this.text;
    const start = this.pos++;
    let value = '';
    let interpolation = 0;
    while (this.pos < text.length) {
      const ch = text[this.pos]!;
      if (ch === '\n') break;
      if (ch === '"' && interpolation === 0) {
        this.pos++;
        return { kind: 'string', text: text.slice(start, this.pos), value, span: { start, end: this.pos }, quoted: true };
      }
      if (ch === '\\') {
        const escape = text[this.pos + 1];
        if (escape !== undefined && escape in SIMPLE_ESCAPES) {
          value += SIMPLE_ESCAPES[escape];
          this.pos += 2;
          continue;
        }
        const coded = codedEscape(text, this.pos);
        if (coded) {
          value += coded.text;
          this.pos += coded.length;
          continue;
        }
        throw new HclSyntaxError(`invalid escape "\\${escape ?? ''}" in string`, { start: this.pos, end: this.pos + 2 });
      }
      if (ch === '$' && text[this.pos + 1] === '{') interpolation++;
      else if (ch === '}' && interpolation > 0) interpolation--;
      value += ch;
      this.pos++;
    }
    throw new HclSyntaxError('unterminated string', { start, end: this.pos });
  }

  private scanHeredoc(): Token {
    const text = this.text;
    const start = this.pos;
    const header = /^<<(-?)([A-Za-z_][A-Za-z0-9_]*)\r?\n/.exec(text.slice(start, start + 256));
    if (!header) throw new HclSyntaxError('invalid heredoc: expected <<MARKER followed by a new line', { start, end: start + 2 });
    const indented = header[1] === '-';
    const marker = header[2]!;
    let lineStart = start + header[0].length;
    const bodyLines: string[] = [];
    while (lineStart <= text.length) {
      let lineEnd = text.indexOf('\n', lineStart);
      if (lineEnd < 0) lineEnd = text.length;
      const line = text.slice(lineStart, lineEnd).replace(/\r$/, '');
      if ((indented ? line.trim() : line) === marker) {
        this.pos = lineStart + line.length;
        const value = indented ? dedent(bodyLines) : bodyLines.map((l) => `${l}\n`).join('');
        return { kind: 'string', text: text.slice(start, this.pos), value, span: { start, end: this.pos } };
      }
      bodyLines.push(line);
      if (lineEnd >= text.length) break;
      lineStart = lineEnd + 1;
    }
    throw new HclSyntaxError(`heredoc is not closed by a line "${marker}"`, { start, end: start + header[0].length - 1 });
  }
}

function dedent(lines: string[]): string {
  const indents = lines.filter((l) => l.trim()).map((l) => /^[ \t]*/.exec(l)![0].length);
  const cut = indents.length ? Math.min(...indents) : 0;
  return lines.map((l) => `${l.slice(cut)}\n`).join('');
}

/** HCL 1 decodes a key given twice as blocks into a list of the blocks. */
function groupRepeatedBlocks(node: ObjectNode): void {
  const seen = new Map<string, ObjectEntry>();
  const entries: ObjectEntry[] = [];
  for (const entry of node.entries) {
    const previous = seen.get(entry.key);
    const isBlock = entry.value.type === 'object' && entry.value.block;
    if (previous && isBlock && (previous.value.type === 'array' ? previous.value.items.every((i) => i.type === 'object' && i.block) : previous.value.type === 'object' && previous.value.block)) {
      const list: ArrayNode = previous.value.type === 'array'
        ? previous.value
        : { type: 'array', span: { ...previous.value.span }, items: [previous.value], flow: false };
      list.items.push(entry.value);
      list.span.end = entry.value.span.end;
      previous.value = list;
      continue;
    }
    seen.set(entry.key, entry);
    entries.push(entry);
  }
  node.entries = entries;
}

/** Whether `offset` is in a `#` or `//` comment (outside a string on its line): nothing there is completed or hovered. */
export function inHclComment(text: string, offset: number): boolean {
  let quoted = false;
  for (let i = text.lastIndexOf('\n', offset - 1) + 1; i < offset; i++) {
    const c = text[i];
    if (quoted) {
      if (c === '\\') i++;
      else if (c === '"') quoted = false;
    } else if (c === '"') quoted = true;
    else if (c === '#' || (c === '/' && text[i + 1] === '/')) return true;
  }
  return false;
}

/** HCL 1's one-character escapes (hashicorp/hcl `hcl/scanner` `scanEscape`, decoded by `hcl/strconv` `unquoteChar`). */
const SIMPLE_ESCAPES: Record<string, string> = { a: '\x07', b: '\b', f: '\f', n: '\n', r: '\r', t: '\t', v: '\v', '"': '"', '\\': '\\' };

const CODED_ESCAPES: { pattern: RegExp; radix: number; byte: boolean }[] = [
  { pattern: /^\\x([0-9a-fA-F]{2})/, radix: 16, byte: true },
  { pattern: /^\\([0-7]{3})/, radix: 8, byte: true },
  { pattern: /^\\u([0-9a-fA-F]{4})/, radix: 16, byte: false },
  { pattern: /^\\U([0-9a-fA-F]{8})/, radix: 16, byte: false },
];

/**
 * A `\xNN`, `\NNN` (octal), `\uNNNN` or `\UNNNNNNNN` escape at `at`: the text it stands for and its
 * length, or nothing when it is not one (or, as HCL 1 refuses it, past U+10FFFF or an octal byte
 * over 255). A byte of 0x80 or more alone, or a surrogate, is no UTF-8 text: it reaches Consul as
 * U+FFFD, as Go writes it into JSON.
 */
function codedEscape(text: string, at: number): { text: string; length: number } | undefined {
  const head = text.slice(at, at + 10);
  for (const { pattern, radix, byte } of CODED_ESCAPES) {
    const match = pattern.exec(head);
    if (!match) continue;
    const code = parseInt(match[1]!, radix);
    if (code > (byte ? 0xff : 0x10ffff)) return undefined;
    const unencodable = (byte && code >= 0x80) || (code >= 0xd800 && code <= 0xdfff);
    return { text: unencodable ? '\ufffd' : String.fromCodePoint(code), length: match[0].length };
  }
  return undefined;
}

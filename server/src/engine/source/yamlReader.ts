import { isAlias, isMap, isPair, isScalar, isSeq, parseAllDocuments, visit, type Alias, type Document, type Node as YamlNode, type Pair, Scalar } from 'yaml';
import { LineIndex, lineBreaksIn } from './lineIndex';
import { DEFAULT_READ_LIMITS, LimitExceeded, tooLargeFile, type ReadLimits, type SourceDocument, type SourceFile, type SyntaxProblem } from './sourceFile';
import type { ObjectEntry, ObjectNode, SourceNode, Span } from './tree';

type ParsedChunk = { document: SourceDocument; fileProblems: SyntaxProblem[] }[];

interface CacheEntry {
  parsed: ParsedChunk;
  /** `lineBreaksIn` the chunk's text. */
  lineBreaks?: number[];
  /** The documents as last placed in a file: reused while the chunk stays at that offset and
   * index, so that what is derived from them (recognition, lint results) can be kept too. */
  placed?: { offset: number; firstIndex: number; documents: SourceDocument[] };
}

/** Where a document read through the cache came from: its chunk's parse (the same object for
 * the same text) and the chunk's offset in the file. */
export interface DocumentOrigin {
  parsed: SourceDocument;
  offset: number;
}

const origins = new WeakMap<SourceDocument, DocumentOrigin>();

/** The cached parse a document was placed from, when it was read through a `YamlDocumentCache`:
 * two documents with the same origin `parsed` have the same text. */
export function documentOrigin(document: SourceDocument): DocumentOrigin | undefined {
  return origins.get(document);
}

/**
 * Parsed documents by their exact text. YAML forbids `---` at the start of a line inside any
 * scalar, so a file splits into documents at those lines before parsing; an edit then re-parses
 * only the document it touched, and a file already read by the workspace scan costs nothing to
 * open. Spans are stored relative to the document and shifted on the way out.
 */
export class YamlDocumentCache {
  private readonly entries = new Map<string, CacheEntry & { used: number }>();
  private size = 0;
  private clock = 0;
  /** The last split of each file read lately, most recent last: the next text of the file is
   * split from it (`splitAfterEdit`). */
  private readonly splits = new Map<string, { text: string; chunks: Chunk[] }>();

  constructor(private readonly maxChars = 64 * 1024 * 1024) {}

  /** The file's text in documents: from its last split when there is one. */
  split(path: string, text: string): Chunk[] {
    const last = this.splits.get(path);
    const chunks = last ? splitAfterEdit(last, text) : splitDocuments(text);
    this.splits.delete(path);
    this.splits.set(path, { text, chunks });
    if (this.splits.size > KEPT_SPLITS) this.splits.delete(this.splits.keys().next().value!);
    return chunks;
  }

  // Least recently used goes first, by a use stamp: an edit looks up every chunk of its file,
  // and moving each hit to the end of the map cost two more hash operations per chunk.
  get(text: string): CacheEntry | undefined {
    const hit = this.entries.get(text);
    if (hit) hit.used = ++this.clock;
    return hit;
  }

  set(text: string, value: CacheEntry): void {
    if (text.length > this.maxChars / 16) return;
    this.entries.set(text, Object.assign(value, { used: ++this.clock }));
    this.size += text.length;
    if (this.size <= this.maxChars) return;
    const byAge = [...this.entries].sort((a, b) => a[1].used - b[1].used);
    for (const [key] of byAge) {
      if (this.size <= this.maxChars * 0.75) break;
      this.entries.delete(key);
      this.size -= key.length;
    }
  }
}

export function readYaml(path: string, text: string, limits: ReadLimits = DEFAULT_READ_LIMITS, cache?: YamlDocumentCache): SourceFile {
  const tooLarge = tooLargeFile(path, 'yaml', text, limits);
  if (tooLarge) return tooLarge;
  const chunks = cache ? cache.split(path, text) : splitDocuments(text);
  for (const chunk of chunks) {
    let entry = cache?.get(chunk.text);
    if (!entry) {
      entry = { parsed: parseChunk(chunk.text, limits) };
      cache?.set(chunk.text, entry);
    }
    chunk.entry = entry;
  }
  const lines = cache ? new LineIndex(text, joinLineStarts(chunks)) : new LineIndex(text);
  const problems: SyntaxProblem[] = [];
  const documents: SourceDocument[] = [];
  for (const chunk of chunks) {
    const entry = chunk.entry!;
    const placed = entry.placed;
    if (cache && placed && placed.offset === chunk.offset && placed.firstIndex === documents.length && documents.length + placed.documents.length <= limits.maxDocuments) {
      for (const { fileProblems } of entry.parsed) for (const p of fileProblems) problems.push(shiftProblem(p, chunk.offset));
      for (const document of placed.documents) documents.push(document);
      continue;
    }
    const firstIndex = documents.length;
    for (const { document, fileProblems } of entry.parsed) {
      for (const p of fileProblems) problems.push(shiftProblem(p, chunk.offset));
      if (documents.length >= limits.maxDocuments) {
        const start = document.span.start + chunk.offset;
        problems.push({
          span: { start, end: lines.lineEnd(lines.position(start).line) }, severity: 'error', limit: true,
          message: `file has more than ${limits.maxDocuments} documents; the rest was not checked (limit set by maxDocuments)`,
        });
        return { path, format: 'yaml', text, lines, documents, problems };
      }
      const shifted = shiftDocument(document, chunk.offset, documents.length);
      if (cache) origins.set(shifted, { parsed: document, offset: chunk.offset });
      documents.push(shifted);
    }
    if (cache) entry.placed = { offset: chunk.offset, firstIndex, documents: documents.slice(firstIndex) };
  }
  return { path, format: 'yaml', text, lines, documents, problems };
}

/** The file's line starts from each chunk's (kept with its parse), without scanning the text. */
function joinLineStarts(chunks: Chunk[]): number[] {
  let count = 1;
  for (const chunk of chunks) count += (chunk.entry!.lineBreaks ??= lineBreaksIn(chunk.text)).length;
  // Sized once: grown by push, the array of a large file was copied several times per edit.
  const starts = new Array<number>(count);
  starts[0] = 0;
  let at = 1;
  for (const { offset, entry } of chunks) for (const start of entry!.lineBreaks!) starts[at++] = start + offset;
  return starts;
}

/** A document's text in its file, and its cached parse once looked up. */
export interface Chunk {
  text: string;
  offset: number;
  entry?: CacheEntry;
}

/** Files whose last split is kept (those being edited, in practice). */
const KEPT_SPLITS = 64;

/** A line `---` (alone, or followed by a space or a line break) starts a document. */
const MARKER = /^---(?=[ \t\r\n]|$)/gm;
const MARKER_HERE = /^---(?=[ \t\r\n]|$)/my;

/** Splits at `---` lines; a file with directives (`%YAML`) is parsed whole, as they bind to the
 * document that follows. */
export function splitDocuments(text: string): Chunk[] {
  if (/^%/m.test(text)) return [{ text, offset: 0 }];
  const chunks = splitBetween(text, 0, text.length);
  return chunks.length ? chunks : [{ text: '', offset: 0 }];
}

/** The chunks of `text` from `from` (a document start, or 0) to `to` (a document start, or the end). */
function splitBetween(text: string, from: number, to: number): Chunk[] {
  const chunks: Chunk[] = [];
  let start = from;
  MARKER.lastIndex = from;
  for (let m = MARKER.exec(text); m && m.index < to; m = MARKER.exec(text)) {
    if (m.index > start) chunks.push({ text: text.slice(start, m.index), offset: start });
    start = m.index;
  }
  if (to > start) chunks.push({ text: text.slice(start, to), offset: start });
  return chunks;
}

/** Whether `text` holds the chunk's text at `offset` (a slice compared whole: V8 compares flat
 * strings as memory, far faster than `startsWith` does). */
function sameTextAt(text: string, chunk: Chunk, offset: number): boolean {
  return offset >= 0 && text.slice(offset, offset + chunk.text.length) === chunk.text;
}

function markerAt(text: string, offset: number): boolean {
  MARKER_HERE.lastIndex = offset;
  return MARKER_HERE.test(text);
}

/**
 * `splitDocuments(text)` for a new text of a file whose last split is known: the documents before
 * and after the edited part are taken over (compared in place, without hashing or slicing them),
 * and only the part between them is split again. An edit costs a comparison of the file with
 * its last text, not a search through it.
 */
export function splitAfterEdit(last: { text: string; chunks: Chunk[] }, text: string): Chunk[] {
  const old = last.chunks;
  // One chunk: the file has directives (or a single document): nothing to take over.
  if (old.length < 2) return splitDocuments(text);
  // Documents the same at the same place from the start. The last of them may run on into the
  // edit, and whether a document ends depends on the text after it: it is split again.
  let same = 0;
  while (same < old.length && sameTextAt(text, old[same]!, old[same]!.offset)) same++;
  let head = Math.max(0, same - 1);
  if (head < old.length && head > 0 && !markerAt(text, old[head]!.offset)) head = 0;
  const from = head < old.length ? old[head]!.offset : text.length;
  // Documents the same at the same place from the end, moved by the edit's length.
  const delta = text.length - last.text.length;
  let tail = old.length;
  while (tail > head + 1 && old[tail - 1]!.offset + delta >= from && sameTextAt(text, old[tail - 1]!, old[tail - 1]!.offset + delta)) tail--;
  // The first of them starts a document only if a line `---` still starts there.
  if (tail < old.length && !markerAt(text, old[tail]!.offset + delta)) tail++;
  const to = tail < old.length ? old[tail]!.offset + delta : text.length;
  // The text taken over had no directive (a file with one is a single chunk); one written in
  // the edited part makes the file a single chunk again.
  if (/^%/m.test(text.slice(from, to))) return splitDocuments(text);
  const chunks = old.slice(0, head);
  for (const chunk of splitBetween(text, from, to)) chunks.push(chunk);
  for (let i = tail; i < old.length; i++) chunks.push({ text: old[i]!.text, offset: old[i]!.offset + delta });
  return chunks.length ? chunks : [{ text: '', offset: 0 }];
}

function parseChunk(text: string, limits: ReadLimits): ParsedChunk {
  let parsed: Document.Parsed[];
  try {
    const stream = parseAllDocuments(loneCarriageReturnsAsLineFeeds(text), { prettyErrors: false, uniqueKeys: sameKeyUnlessMerge, strict: true });
    parsed = Array.isArray(stream) ? stream : [];
  } catch (error) {
    // The parser recurses on nesting; a pathological file can exhaust the stack.
    const problem: SyntaxProblem = { span: { start: 0, end: 0 }, severity: 'error', limit: true, message: `YAML could not be read: ${describe(error)}` };
    return [{ document: { index: 0, span: { start: 0, end: text.length }, root: undefined, problems: [problem] }, fileProblems: [] }];
  }
  return parsed.map((doc, index) => ({ document: convertDocument(doc, index, limits), fileProblems: [] }));
}

/** YAML 1.2 (§5.4) and Kubernetes' parser take a `\r` alone as a line break, as `LineIndex` does;
 * the `yaml` package reads it as text (eemeli/yaml#595, declined). One character for one keeps
 * every offset. */
function loneCarriageReturnsAsLineFeeds(text: string): string {
  return text.includes('\r') ? text.replace(/\r(?!\n)/g, '\n') : text;
}

function shiftProblem(problem: SyntaxProblem, by: number): SyntaxProblem {
  return by === 0 ? problem : { ...problem, span: shiftSpan(problem.span, by) };
}

function shiftSpan(span: Span, by: number): Span {
  return { start: span.start + by, end: span.end + by };
}

function shiftDocument(document: SourceDocument, by: number, index: number): SourceDocument {
  return {
    index,
    span: shiftSpan(document.span, by),
    root: document.root && by !== 0 ? shiftNode(document.root, by) : document.root,
    problems: document.problems.map((p) => shiftProblem(p, by)),
  };
}

// Every document after an edited one is shifted on each edit, and most of them are read no
// deeper than their recognition and cache keys (their lint and compiled forms are kept by text
// and line). So a container's children are shifted when first read, and then kept: the copy
// costs what is read, not the size of the file. The lazy properties are own enumerable
// accessors, so spreads, JSON and deep equality see plain values.
function shiftNode(node: SourceNode, by: number): SourceNode {
  const span = shiftSpan(node.span, by);
  switch (node.type) {
    case 'scalar': return { type: 'scalar', span, value: node.value, style: node.style };
    case 'array': {
      let items: SourceNode[] | undefined;
      return {
        type: 'array', span,
        get items() { return (items ??= node.items.map((item) => shiftNode(item, by))); },
        flow: node.flow,
      };
    }
    case 'object': {
      let entries: ObjectEntry[] | undefined;
      const shifted: ObjectNode = {
        type: 'object', span,
        get entries() { return (entries ??= node.entries.map((e) => ({ key: e.key, keySpan: shiftSpan(e.keySpan, by), value: shiftNode(e.value, by) }))); },
        flow: node.flow,
      };
      if (node.block !== undefined) shifted.block = node.block;
      return shifted;
    }
  }
}

function convertDocument(doc: Document.Parsed, index: number, limits: ReadLimits): SourceDocument {
  const span = { start: doc.range[0], end: doc.range[1] };
  const docProblems: SyntaxProblem[] = [];
  let exhausted: SyntaxProblem | undefined;
  const openers = unclosedOpeners(doc);
  for (const error of doc.errors) {
    const problem: SyntaxProblem = { span: { start: openers(error) ?? error.pos[0], end: error.pos[1] }, severity: 'error', message: cleanMessage(error.message) };
    // The parser reports running out of stack (or aliases) as an error of the document, in
    // JavaScript's words.
    if (error.code === 'RESOURCE_EXHAUSTION') exhausted ??= { ...problem, limit: true, message: exhaustionMessage(error.message) };
    else docProblems.push(problem);
  }
  for (const warning of doc.warnings) docProblems.push({ span: { start: warning.pos[0], end: warning.pos[1] }, severity: 'warning', message: cleanMessage(warning.message) });
  let root: SourceNode | undefined;
  try {
    const budget: ConvertBudget = { nodes: 0, problems: docProblems };
    root = doc.contents ? convertNode(doc.contents, doc, 0, budget, limits) : undefined;
  } catch (error) {
    if (!(error instanceof LimitExceeded)) throw error;
    docProblems.push({ span: error.span, severity: 'error', limit: true, message: error.message });
    root = undefined;
  }
  // One limit per document says it was not checked; the depth limit names the setting.
  if (exhausted && !docProblems.some((p) => p.limit)) docProblems.push(exhausted);
  return { index, span, root, problems: docProblems };
}

/** The nodes made so far (aliases expanded) and where a conversion reports what Kubernetes' YAML
 * decoder refuses although the YAML parses (an alias of no anchor, a merge of no map). */
interface ConvertBudget {
  nodes: number;
  problems: SyntaxProblem[];
}

function convertNode(node: YamlNode, doc: Document.Parsed, depth: number, budget: ConvertBudget, limits: ReadLimits, aliasSpan?: Span): SourceNode {
  const span = aliasSpan ?? spanOf(node);
  if (++budget.nodes > limits.maxNodes) {
    throw new LimitExceeded(`document expands to more than ${limits.maxNodes} nodes (aliases included); it was not checked (limit set by maxNodes)`, span);
  }
  if (depth > limits.maxDepth) {
    throw new LimitExceeded(`document is nested more than ${limits.maxDepth} levels deep; it was not checked (limit set by maxDepth)`, span);
  }
  if (isAlias(node)) {
    const target = resolveAlias(node, doc);
    if (!target) {
      // Anchors belong to their document: an alias of one defined in another document, later,
      // or nowhere makes `kubectl apply` fail, so the document must not read as if it were null.
      budget.problems.push({ span, severity: 'error', message: `alias *${node.source} refers to no anchor before it in this document (anchors do not carry over between documents)` });
      return { type: 'scalar', span, value: null, style: 'plain' };
    }
    return convertNode(target, doc, depth + 1, budget, limits, span);
  }
  if (isMap(node)) {
    const entries: ObjectEntry[] = [];
    const merged = new MergedEntries(entries);
    for (const pair of node.items) {
      if (!isPair(pair)) continue;
      const entry = pairEntry(pair, span, doc, depth, budget, limits);
      const keyNode = pair.key as YamlNode | null;
      if (keyNode && isMergeKey(keyNode)) mergeInto(merged, entry.value, budget);
      else if (merged.active) merged.set(entry);
      else entries.push(entry);
    }
    return { type: 'object', span, entries, flow: Boolean(node.flow) };
  }
  if (isSeq(node)) {
    const items = node.items.map((item): SourceNode => {
      if (!item) return { type: 'scalar', span, value: null, style: 'plain' };
      // `!!omap` and `!!pairs` lists hold pairs; go-yaml v2 reads each as the one-key map it is written as
      if (isPair(item)) {
        const entry = pairEntry(item, span, doc, depth + 1, budget, limits);
        return { type: 'object', span: { start: entry.keySpan.start, end: entry.value.span.end }, entries: [entry], flow: Boolean(node.flow) };
      }
      return convertNode(item as YamlNode, doc, depth + 1, budget, limits);
    });
    return { type: 'array', span, items, flow: Boolean(node.flow) };
  }
  if (isScalar(node)) return { type: 'scalar', span, value: scalarValue(node), style: scalarStyle(node) };
  return { type: 'scalar', span, value: null, style: 'plain' };
}

function pairEntry(pair: Pair, span: Span, doc: Document.Parsed, depth: number, budget: ConvertBudget, limits: ReadLimits): ObjectEntry {
  const keyNode = pair.key as YamlNode | null;
  const keySpan = keyNode ? spanOf(keyNode) : { start: span.start, end: span.start };
  const key = keyNode && isScalar(keyNode) ? String(keyNode.value) : keyNode ? String(keyNode) : '';
  const valueNode = pair.value as YamlNode | null;
  const value: SourceNode = valueNode
    ? convertNode(valueNode, doc, depth + 1, budget, limits)
    : { type: 'scalar', span: { start: keySpan.end + 1, end: keySpan.end + 1 }, value: null, style: 'plain' };
  return { key, keySpan, value };
}

/**
 * A `<<` merge key, as Kubernetes reads YAML (sigs.k8s.io/yaml decodes with go-yaml v2): a plain
 * `<<` key, or one tagged `!!merge`. A quoted `"<<"` is an ordinary key.
 */
function isMergeKey(node: YamlNode): boolean {
  if (!isScalar(node)) return false;
  if (node.tag === 'tag:yaml.org,2002:merge') return true;
  return node.value === '<<' && node.type === 'PLAIN' && !node.tag;
}

/** Duplicate keys are errors, but a map may hold several merge keys (go-yaml v2 skips them in its
 * strict duplicate check too). */
function sameKeyUnlessMerge(a: YamlNode, b: YamlNode): boolean {
  if (isMergeKey(a) && isMergeKey(b)) return false;
  return a === b || (isScalar(a) && isScalar(b) && a.value === b.value);
}

/** A map's entries once a merge key was met: each key kept once, a later setting replacing an
 * earlier one in its place (go-yaml v2 sets map keys in order, merged ones too). */
class MergedEntries {
  private positions: Map<string, number> | undefined;

  constructor(private readonly entries: ObjectEntry[]) {}

  get active(): boolean {
    return this.positions !== undefined;
  }

  begin(): void {
    this.positions ??= new Map(this.entries.map((entry, i) => [entry.key, i]));
  }

  set(entry: ObjectEntry): void {
    this.begin();
    const at = this.positions!.get(entry.key);
    if (at === undefined) {
      this.positions!.set(entry.key, this.entries.length);
      this.entries.push(entry);
    } else {
      this.entries[at] = entry;
    }
  }
}

/**
 * Applies a merge key's value: a map's entries, or each map of a list, the later ones first so
 * that an earlier map wins (go-yaml v2 `decoder.merge`). Anything else is refused by the decoder.
 */
function mergeInto(merged: MergedEntries, value: SourceNode, budget: ConvertBudget): void {
  const maps = value.type === 'object' ? [value] : value.type === 'array' ? [...value.items].reverse() : [value];
  const refused = maps.find((m) => m.type !== 'object');
  // an alias of no anchor was reported where it was met
  const reported = (span: Span) => budget.problems.some((p) => p.span.start === span.start && p.span.end === span.end);
  if (refused) {
    if (!reported(refused.span)) budget.problems.push({ span: refused.span, severity: 'error', message: 'a merge key (<<) needs a map or a list of maps as its value' });
    return;
  }
  merged.begin();
  for (const map of maps) if (map.type === 'object') for (const entry of map.entries) merged.set(entry);
}

const anchorIndex = new WeakMap<Document.Parsed, Map<string, YamlNode[]>>();

/**
 * The node an alias stands for: the last node before it with that anchor, as `Alias.resolve`
 * finds it, but from an index built once per document. `resolve` walks the whole document for
 * every alias, which makes an alias bomb quadratic long before the node budget stops it.
 */
function resolveAlias(alias: Alias, doc: Document.Parsed): YamlNode | undefined {
  let index = anchorIndex.get(doc);
  if (!index) {
    const built = new Map<string, YamlNode[]>();
    visit(doc, {
      Node: (_key, node) => {
        if (!isAlias(node) && node.anchor) {
          const list = built.get(node.anchor);
          if (list) list.push(node);
          else built.set(node.anchor, [node]);
        }
      },
    });
    anchorIndex.set(doc, (index = built));
  }
  const at = alias.range?.[0] ?? Infinity;
  let found: YamlNode | undefined;
  for (const node of index.get(alias.source) ?? []) if ((node.range?.[0] ?? 0) < at) found = node;
  return found;
}

function scalarValue(node: Scalar): string | number | boolean | null {
  const value = node.value;
  if (value === null || typeof value === 'string' || typeof value === 'boolean') return value;
  if (typeof value === 'number') return value;
  if (typeof value === 'bigint') return Number(value);
  // go-yaml v2 decodes `!!binary` base64 into the string of its bytes
  if (value instanceof Uint8Array) return Buffer.from(value.buffer, value.byteOffset, value.byteLength).toString('utf8');
  return String(value);
}

function scalarStyle(node: Scalar): 'plain' | 'double' | 'single' | 'block' {
  switch (node.type) {
    case Scalar.QUOTE_DOUBLE: return 'double';
    case Scalar.QUOTE_SINGLE: return 'single';
    case Scalar.BLOCK_FOLDED:
    case Scalar.BLOCK_LITERAL: return 'block';
    default: return 'plain';
  }
}

function spanOf(node: YamlNode): Span {
  const range = node.range;
  return range ? { start: range[0], end: range[1] } : { start: 0, end: 0 };
}

function cleanMessage(message: string): string {
  // The parser appends " at line L, column C"; the range already says where.
  return message.replace(/ at line \d+, column \d+:?[\s\S]*$/, '').trim();
}

/**
 * The parser reports an unclosed quote or flow collection where it gave up (the end of the
 * file, or the next line less indented); the node it read has its opening quote or bracket.
 * The finding starts there. Each node answers one error: nested `[[` unclosed give two.
 */
function unclosedOpeners(doc: Document.Parsed): (error: Document.Parsed['errors'][number]) => number | undefined {
  const unclosed = doc.errors.some((e) => e.code === 'MISSING_CHAR' || e.code === 'BAD_INDENT');
  if (!unclosed) return () => undefined;
  const candidates: { kind: 'quote' | 'sequence' | 'map'; start: number; end: number }[] = [];
  visit(doc, {
    Scalar(_, node) {
      if ((node.type === 'QUOTE_DOUBLE' || node.type === 'QUOTE_SINGLE') && node.range) candidates.push({ kind: 'quote', start: node.range[0], end: node.range[1] });
    },
    Seq(_, node) {
      if (node.flow && node.range) candidates.push({ kind: 'sequence', start: node.range[0], end: node.range[1] });
    },
    Map(_, node) {
      if (node.flow && node.range) candidates.push({ kind: 'map', start: node.range[0], end: node.range[1] });
    },
  });
  // Innermost first: the last opened is the first the parser gives up on.
  candidates.sort((a, b) => b.start - a.start);
  const used = new Set<number>();
  return (error) => {
    const kind = error.code === 'MISSING_CHAR' && /quote/.test(error.message) ? 'quote'
      : error.code === 'BAD_INDENT' && /^Flow sequence/.test(error.message) ? 'sequence'
        : error.code === 'BAD_INDENT' && /^Flow map/.test(error.message) ? 'map' : undefined;
    if (!kind) return undefined;
    const found = candidates.findIndex((c, i) => !used.has(i) && c.kind === kind && c.end === error.pos[0]);
    if (found < 0) return undefined;
    used.add(found);
    return candidates[found]!.start;
  };
}

function exhaustionMessage(parserMessage: string): string {
  if (/call stack/i.test(parserMessage)) return 'document is nested too deeply to be read; it was not checked';
  return `document could not be read (${cleanMessage(parserMessage)}); it was not checked`;
}

function describe(error: unknown): string {
  if (error instanceof RangeError) return 'it is nested too deeply';
  return error instanceof Error ? error.message : String(error);
}

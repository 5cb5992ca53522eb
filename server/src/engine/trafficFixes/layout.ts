import { addField, renderScalar, spanEdit } from '../edits';
import type { TextEdit } from '../findings';
import type { SourceFile, SourceFormat } from '../source/sourceFile';
import type { ArrayNode, ObjectNode, SourceNode } from '../source/tree';

/**
 * Insertions of structured values (list items, fields holding maps or lists, whole documents)
 * written in the style of the surrounding text: block or flow YAML, JSON, HCL. Every edit is
 * a pure insertion or the replacement of one node, so the rest of the file keeps its bytes.
 */

const isScalar = (value: unknown): boolean => value === null || typeof value !== 'object';

/** Block YAML for a map or list; lines after the first are indented by `indent` spaces. */
export function yamlBlock(value: unknown, indent: number): string {
  const pad = ' '.repeat(indent);
  if (Array.isArray(value)) {
    if (value.length === 0) return '[]';
    return value.map((item) => `- ${isScalar(item) ? renderScalar('yaml', item) : yamlBlock(item, indent + 2)}`).join(`\n${pad}`);
  }
  if (value && typeof value === 'object') {
    const entries = Object.entries(value);
    if (entries.length === 0) return '{}';
    return entries.map(([key, v]) => {
      if (isScalar(v)) return `${renderScalar('yaml', key)}: ${renderScalar('yaml', v)}`;
      const empty = Array.isArray(v) ? v.length === 0 : Object.keys(v as object).length === 0;
      return empty ? `${renderScalar('yaml', key)}: ${Array.isArray(v) ? '[]' : '{}'}` : `${renderScalar('yaml', key)}:\n${pad}  ${yamlBlock(v, indent + 2)}`;
    }).join(`\n${pad}`);
  }
  return renderScalar('yaml', value);
}

/** Flow YAML on one line: `{a: 1, b: [x, y]}`. */
export function yamlFlow(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(yamlFlow).join(', ')}]`;
  if (value && typeof value === 'object') return `{${Object.entries(value).map(([k, v]) => `${renderScalar('yaml', k)}: ${yamlFlow(v)}`).join(', ')}}`;
  return renderScalar('yaml', value);
}

/** Pretty JSON whose lines after the first are indented by `indent` spaces. */
export function jsonBlock(value: unknown, indent: number, unit = 2): string {
  return JSON.stringify(value, null, unit).replace(/\n/g, `\n${' '.repeat(indent)}`);
}

/** HCL 1 as `consul config write` reads it: objects across lines, lists of scalars inline. */
export function hclBlock(value: unknown, indent: number, unit = 2): string {
  const pad = ' '.repeat(indent);
  const inner = ' '.repeat(indent + unit);
  if (Array.isArray(value)) {
    if (value.every(isScalar)) return `[${value.map((v) => JSON.stringify(v)).join(', ')}]`;
    return `[\n${value.map((v) => `${inner}${hclBlock(v, indent + unit, unit)},`).join('\n')}\n${pad}]`;
  }
  if (value && typeof value === 'object') {
    const entries = Object.entries(value);
    if (entries.length === 0) return '{}';
    // Nested maps as blocks (`HTTP { ... }`), as Consul's docs write them.
    return `{\n${entries.map(([k, v]) => `${inner}${k}${v && typeof v === 'object' && !Array.isArray(v) ? '' : ' ='} ${hclBlock(v, indent + unit, unit)}`).join('\n')}\n${pad}}`;
  }
  return JSON.stringify(value);
}

/** A value rendered to sit at `column` in a file of this format and style. */
export function renderNested(format: SourceFormat, value: unknown, column: number, flow: boolean, multiline: boolean): string {
  if (isScalar(value)) return renderScalar(format, value);
  if (format === 'json') return multiline ? jsonBlock(value, column) : JSON.stringify(value).replace(/,/g, ', ').replace(/":/g, '": ');
  if (format === 'hcl') return hclBlock(value, column);
  return flow ? yamlFlow(value) : yamlBlock(value, column);
}

export function column(file: SourceFile, offset: number): number {
  return file.lines.position(offset).character;
}

/** The leading whitespace of the line holding `offset`. */
export function lineIndent(file: SourceFile, offset: number): string {
  const line = file.lines.position(offset).line;
  return /^[ \t]*/.exec(file.lines.lineText(line))![0];
}

/** Where the `- ` of a block list item starts. */
function dashOf(file: SourceFile, item: SourceNode): number {
  let i = item.span.start - 1;
  while (i >= 0 && file.text[i] !== '-' && file.text[i] !== '\n') i--;
  return i >= 0 && file.text[i] === '-' ? i : item.span.start;
}

/** The end of the last line that a node occupies. */
function endOfLastLine(file: SourceFile, node: SourceNode, notBefore = node.span.start): number {
  return file.lines.lineEnd(file.lines.position(Math.max(node.span.end - 1, node.span.start, notBefore)).line);
}

function isBlockYamlList(file: SourceFile, array: ArrayNode): boolean {
  return file.format === 'yaml' && !array.flow;
}

function listIsMultiline(file: SourceFile, array: ArrayNode): boolean {
  const first = array.items[0];
  if (!first) return false;
  return file.lines.position(first.span.start).line !== file.lines.position(array.span.start).line;
}

/** Inserts `values` into a list at `index` (default: the end), in the list's style. */
export function insertItems(file: SourceFile, array: ArrayNode, values: unknown[], index = array.items.length): TextEdit {
  const { format } = file;
  // A scalar is quoted as its neighbours are.
  const neighbour = array.items[Math.min(index, array.items.length - 1)];
  const style = neighbour?.type === 'scalar' && neighbour.style !== 'block' ? neighbour.style : 'plain';
  const renderAt = (f: SourceFormat, v: unknown, c: number, flow: boolean, multiline: boolean) => (isScalar(v) ? renderScalar(f, v, style) : renderNested(f, v, c, flow, multiline));
  if (array.items.length === 0) {
    const rendered = values.map((v) => renderAt(format, v, column(file, array.span.start), true, false)).join(', ');
    return spanEdit(file, array.span, `[${rendered}]`);
  }
  if (isBlockYamlList(file, array)) {
    const anchor = array.items[Math.min(index, array.items.length - 1)]!;
    const dash = dashOf(file, anchor);
    const dashColumn = column(file, dash);
    const pad = ' '.repeat(dashColumn);
    const items = values.map((v) => `- ${renderAt(format, v, dashColumn + 2, false, true)}`);
    if (index >= array.items.length) {
      const at = endOfLastLine(file, anchor);
      return spanEdit(file, { start: at, end: at }, items.map((i) => `\n${pad}${i}`).join(''));
    }
    return spanEdit(file, { start: dash, end: dash }, items.map((i) => `${i}\n${pad}`).join(''));
  }
  const multiline = listIsMultiline(file, array);
  const anchor = array.items[Math.min(index, array.items.length - 1)]!;
  const itemColumn = column(file, anchor.span.start);
  const separator = multiline ? `,\n${' '.repeat(itemColumn)}` : ', ';
  const rendered = values.map((v) => renderAt(format, v, itemColumn, true, multiline));
  if (index >= array.items.length) return spanEdit(file, { start: anchor.span.end, end: anchor.span.end }, rendered.map((r) => `${separator}${r}`).join(''));
  return spanEdit(file, { start: anchor.span.start, end: anchor.span.start }, rendered.map((r) => `${r}${separator}`).join(''));
}

/** Replaces one item of a list by several values, keeping the item's quoting. */
export function replaceItem(file: SourceFile, array: ArrayNode, index: number, values: unknown[]): TextEdit {
  const item = array.items[index]!;
  const style = item.type === 'scalar' && item.style !== 'block' ? item.style : 'plain';
  const rendered = values.map((v) => (typeof v === 'string' ? renderScalar(file.format, v, style) : renderNested(file.format, v, column(file, item.span.start), array.flow, true)));
  if (isBlockYamlList(file, array)) {
    const pad = ' '.repeat(column(file, dashOf(file, item)));
    return spanEdit(file, item.span, rendered.join(`\n${pad}- `));
  }
  const separator = listIsMultiline(file, array) ? `,\n${' '.repeat(column(file, item.span.start))}` : ', ';
  return spanEdit(file, item.span, rendered.join(separator));
}

/** Removes one item of a list: its whole line(s) in block YAML, the item and a comma in flow. */
export function removeItem(file: SourceFile, array: ArrayNode, index: number): TextEdit {
  const item = array.items[index]!;
  if (isBlockYamlList(file, array)) {
    const start = file.lines.lineStart(file.lines.position(dashOf(file, item)).line);
    const endLine = file.lines.position(Math.max(item.span.end - 1, item.span.start)).line;
    const end = file.lines.lineStart(endLine + 1);
    return spanEdit(file, { start, end: end > start ? end : file.text.length }, '');
  }
  const next = array.items[index + 1];
  if (next) return spanEdit(file, { start: item.span.start, end: next.span.start }, '');
  const previous = array.items[index - 1];
  if (previous) return spanEdit(file, { start: previous.span.end, end: item.span.end }, '');
  return spanEdit(file, item.span, '');
}

/** Adds `key: value` to an object; maps and lists are written in the object's own style. */
export function insertField(file: SourceFile, object: ObjectNode, key: string, value: unknown): TextEdit {
  const last = object.entries[object.entries.length - 1];
  if (isScalar(value) || !last) return addField(file, object, key, value);
  const keyColumn = column(file, last.keySpan.start);
  if (file.format === 'yaml' && !object.flow) {
    const at = endOfLastLine(file, last.value, last.keySpan.start);
    const pad = ' '.repeat(keyColumn);
    return spanEdit(file, { start: at, end: at }, `\n${pad}${yamlBlock({ [key]: value }, keyColumn)}`);
  }
  if (file.format === 'hcl' && !object.flow) {
    const at = endOfLastLine(file, last.value);
    return spanEdit(file, { start: at, end: at }, `\n${' '.repeat(keyColumn)}${key} = ${hclBlock(value, keyColumn)}`);
  }
  const multiline = file.lines.position(last.keySpan.start).line !== file.lines.position(object.span.start).line;
  const renderedKey = file.format === 'json' ? JSON.stringify(key) : file.format === 'hcl' ? key : renderScalar('yaml', key);
  const pair = file.format === 'hcl' ? `${renderedKey} = ${hclBlock(value, keyColumn)}` : `${renderedKey}: ${renderNested(file.format, value, keyColumn, true, multiline)}`;
  const separator = multiline ? `,\n${' '.repeat(keyColumn)}` : ', ';
  return spanEdit(file, { start: last.value.span.end, end: last.value.span.end }, `${separator}${pair}`);
}

/** Appends YAML documents to the end of a YAML file. */
export function appendDocuments(file: SourceFile, documents: unknown[], comment?: string): TextEdit {
  const end = file.text.length;
  const newline = file.text.length === 0 || file.text.endsWith('\n') ? '' : '\n';
  const header = comment ? `# ${comment}\n` : '';
  const text = documents.map((d) => `---\n${header}${yamlBlock(d, 0)}\n`).join('');
  return spanEdit(file, { start: end, end }, `${newline}${text}`);
}

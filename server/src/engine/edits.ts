import type { TextEdit } from './findings';
import type { SourceFile, SourceFormat } from './source/sourceFile';
import type { ObjectNode, ScalarNode, SourceNode, Span } from './source/tree';

/** Text edits that change one thing and leave every other byte (comments, spacing) alone. */

export function renderScalar(format: SourceFormat, value: unknown, style: ScalarNode['style'] = 'plain'): string {
  if (typeof value !== 'string') return value === undefined ? 'null' : JSON.stringify(value);
  if (format !== 'yaml' || style === 'double') return JSON.stringify(value);
  if (style === 'single') return `'${value.replace(/'/g, "''")}'`;
  return isPlainSafe(value) ? value : JSON.stringify(value);
}

function isPlainSafe(value: string): boolean {
  if (value === '' || /^[\s]|[\s]$/.test(value)) return false;
  if (/^(true|false|null|yes|no|on|off|~|[-+]?[0-9][0-9_.eExXoO+-]*)$/i.test(value)) return false;
  return /^[A-Za-z0-9_./*][A-Za-z0-9_./*@%+=-]*$/.test(value) && !/[:#]/.test(value);
}

export function renderValue(format: SourceFormat, value: unknown): string {
  if (Array.isArray(value)) return `[${value.map((v) => renderValue(format, v)).join(', ')}]`;
  if (value && typeof value === 'object') {
    const parts = Object.entries(value).map(([k, v]) => format === 'hcl' ? `${k} = ${renderValue(format, v)}` : `${format === 'json' ? JSON.stringify(k) : k}: ${renderValue(format, v)}`);
    return `{${parts.join(', ')}}`;
  }
  return renderScalar(format, value);
}

export function spanEdit(file: SourceFile, span: Span, newText: string): TextEdit {
  return { range: file.lines.range(span), newText };
}

export function replaceScalar(file: SourceFile, node: SourceNode, value: unknown): TextEdit {
  const style = node.type === 'scalar' && node.style !== 'block' ? node.style : 'plain';
  return spanEdit(file, node.span, renderScalar(file.format, value, style));
}

export function renameKey(file: SourceFile, keySpan: Span, newKey: string): TextEdit {
  const original = file.text.slice(keySpan.start, keySpan.end);
  const quote = original.startsWith('"') ? '"' : original.startsWith("'") ? "'" : '';
  return spanEdit(file, keySpan, `${quote}${newKey}${quote}`);
}

export function wrapInList(file: SourceFile, node: SourceNode): TextEdit {
  const original = file.text.slice(node.span.start, node.span.end);
  // Inside `[...]` a YAML plain scalar may not hold flow indicators or line breaks, and a block
  // scalar cannot stand at all: those are written double-quoted instead.
  const unsafeInFlow = file.format === 'yaml' && node.type === 'scalar' && typeof node.value === 'string' &&
    (node.style === 'block' || (node.style === 'plain' && /[[\]{},#\r\n]/.test(original)));
  return spanEdit(file, node.span, `[${unsafeInFlow ? JSON.stringify(node.value) : original}]`);
}

/** Adds `key: value` to an object, in the object's own style and indentation. */
export function addField(file: SourceFile, object: ObjectNode, key: string, value: unknown): TextEdit {
  const { format, text, lines } = file;
  const renderedKey = format === 'json' ? JSON.stringify(key) : key;
  const pair = format === 'hcl' ? `${renderedKey} = ${renderValue(format, value)}` : `${renderedKey}: ${renderValue(format, value)}`;
  // `key:` written with no value (null) reads as missing: give it the value rather than a second `key`.
  const present = object.entries.find((e) => e.key === key);
  if (present && present.value.type === 'scalar' && present.value.value === null) {
    const colon = text.indexOf(format === 'hcl' ? '=' : ':', present.keySpan.end);
    const end = Math.max(present.value.span.end, colon < 0 ? present.keySpan.end : colon + 1);
    return spanEdit(file, { start: present.keySpan.end, end }, `${format === 'hcl' ? ' = ' : ': '}${renderValue(format, value)}`);
  }
  const last = object.entries[object.entries.length - 1];
  if (!last) {
    if (object.flow || format === 'json') return spanEdit(file, object.span, format === 'hcl' ? `{ ${pair} }` : `{${pair}}`);
    if (format === 'hcl' && text[object.span.start] === '{') {
      // An empty block: the field goes inside the braces, indented one step from the block's line.
      const lineIndent = /^[ \t]*/.exec(lines.lineText(lines.position(object.span.start).line))![0];
      return spanEdit(file, { start: object.span.start + 1, end: object.span.start + 1 }, `\n${lineIndent}  ${pair}`);
    }
    const start = lines.position(object.span.start);
    return spanEdit(file, { start: object.span.start, end: object.span.start }, `\n${' '.repeat(start.character + 2)}${pair}\n${' '.repeat(start.character)}`);
  }
  if (format === 'json' || (object.flow && format === 'yaml')) {
    const firstKey = lines.position(object.entries[0]!.keySpan.start);
    const lastKey = lines.position(last.keySpan.start);
    const multiline = firstKey.line !== lines.position(object.span.start).line || lastKey.line !== firstKey.line;
    const separator = multiline ? `,\n${' '.repeat(lastKey.character)}` : ', ';
    return spanEdit(file, { start: last.value.span.end, end: last.value.span.end }, `${separator}${pair}`);
  }
  const keyColumn = lines.position(last.keySpan.start).character;
  const endLine = lines.position(Math.max(last.value.span.end - 1, last.keySpan.end)).line;
  const close = object.span.end - 1;
  if (format === 'hcl' && text[object.span.start] === '{' && text[close] === '}' && lines.position(close).line === endLine) {
    // The block closes on the line of its last entry (`Sources { Action = "allow" }`): the end of
    // that line is outside the block, so the field goes before the brace, and the block is laid
    // out over lines (HCL puts one attribute per line).
    const blockLine = lines.position(object.span.start).line;
    const lineIndent = /^[ \t]*/.exec(lines.lineText(blockLine))![0];
    if (lines.position(object.entries[0]!.keySpan.start).line === blockLine) {
      return spanEdit(file, object.span, `{\n${lineIndent}  ${text.slice(object.span.start + 1, close).trim()}\n${lineIndent}  ${pair}\n${lineIndent}}`);
    }
    const entryIndent = /^[ \t]*/.exec(lines.lineText(lines.position(last.keySpan.start).line))![0];
    return spanEdit(file, { start: last.value.span.end, end: close }, `\n${entryIndent}${pair}\n${lineIndent}`);
  }
  const insertAt = lines.lineEnd(endLine);
  const indentText = text.slice(lines.lineStart(lines.position(last.keySpan.start).line), last.keySpan.start);
  const indent = /^[ \t]*$/.test(indentText) ? indentText : ' '.repeat(keyColumn);
  return spanEdit(file, { start: insertAt, end: insertAt }, `\n${indent}${pair}`);
}

import { parseTree, printParseErrorCode, type Node as JsonNode, type ParseError } from 'jsonc-parser';
import { LineIndex } from './lineIndex';
import { DEFAULT_READ_LIMITS, LimitExceeded, tooLargeFile, type ReadLimits, type SourceFile, type SyntaxProblem } from './sourceFile';
import type { ObjectEntry, SourceNode } from './tree';

const MESSAGES: Record<string, string> = {
  InvalidSymbol: 'unexpected character',
  InvalidNumberFormat: 'invalid number',
  PropertyNameExpected: 'expected a property name in double quotes',
  ValueExpected: 'expected a value',
  ColonExpected: 'expected ":"',
  CommaExpected: 'expected ","',
  CloseBraceExpected: 'expected "}"',
  CloseBracketExpected: 'expected "]"',
  EndOfFileExpected: 'expected the end of the file',
  InvalidCommentToken: 'comments are not allowed in JSON',
  UnexpectedEndOfComment: 'unterminated comment',
  UnexpectedEndOfString: 'unterminated string',
  UnexpectedEndOfNumber: 'unterminated number',
  InvalidUnicode: 'invalid unicode escape',
  InvalidEscapeCharacter: 'invalid escape character',
  InvalidCharacter: 'invalid character in string',
};

export function readJson(path: string, text: string, limits: ReadLimits = DEFAULT_READ_LIMITS): SourceFile {
  const tooLarge = tooLargeFile(path, 'json', text, limits);
  if (tooLarge) return tooLarge;
  const lines = new LineIndex(text);
  // jsonc-parser recurses once per level: past the depth limit it is not called at all, so a
  // deeply nested file cannot overflow the stack.
  const tooDeep = nestingPast(text, limits.maxDepth + 1);
  if (tooDeep !== undefined) {
    const problem: SyntaxProblem = { span: { start: tooDeep, end: tooDeep + 1 }, severity: 'error', limit: true, message: `document is nested more than ${limits.maxDepth} levels deep; it was not checked (limit set by maxDepth)` };
    return { path, format: 'json', text, lines, problems: [], documents: [{ index: 0, span: { start: 0, end: text.length }, root: undefined, problems: [problem] }] };
  }
  const errors: ParseError[] = [];
  // A byte order mark (Windows editors write one) is read as the space it stands for, which
  // keeps every offset; Consul's decoder and kubectl skip it too.
  const tree = parseTree(text.charCodeAt(0) === 0xfeff ? ` ${text.slice(1)}` : text, errors, { disallowComments: true, allowTrailingComma: false, allowEmptyContent: true });
  const problems: SyntaxProblem[] = errors.map((error) => ({
    span: { start: error.offset, end: error.offset + Math.max(error.length, 1) },
    severity: 'error',
    message: `JSON: ${MESSAGES[printParseErrorCode(error.error)] ?? printParseErrorCode(error.error)}`,
  }));
  let root: SourceNode | undefined;
  try {
    root = tree ? convert(tree, 0, { nodes: 0 }, limits) : undefined;
  } catch (error) {
    if (!(error instanceof LimitExceeded)) throw error;
    problems.push({ span: error.span, severity: 'error', limit: true, message: error.message });
  }
  return {
    path, format: 'json', text, lines, problems: [],
    documents: [{ index: 0, span: { start: 0, end: text.length }, root, problems }],
  };
}

/** The offset of the first bracket nested deeper than `depth` (outside strings), if any. */
function nestingPast(text: string, depth: number): number | undefined {
  let level = 0;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c === 34 /* " */) {
      for (i++; i < text.length; i++) {
        const d = text.charCodeAt(i);
        if (d === 92 /* \ */) i++;
        else if (d === 34 || d === 10) break;
      }
    } else if (c === 123 || c === 91) {
      if (++level > depth) return i;
    } else if (c === 125 || c === 93) {
      if (level > 0) level--;
    }
  }
  return undefined;
}

function convert(node: JsonNode, depth: number, budget: { nodes: number }, limits: ReadLimits): SourceNode {
  const span = { start: node.offset, end: node.offset + node.length };
  if (++budget.nodes > limits.maxNodes) throw new LimitExceeded(`document has more than ${limits.maxNodes} nodes; it was not checked (limit set by maxNodes)`, span);
  if (depth > limits.maxDepth) throw new LimitExceeded(`document is nested more than ${limits.maxDepth} levels deep; it was not checked (limit set by maxDepth)`, span);
  switch (node.type) {
    case 'object': {
      const entries: ObjectEntry[] = [];
      for (const property of node.children ?? []) {
        const [keyNode, valueNode] = property.children ?? [];
        if (!keyNode) continue;
        const keySpan = { start: keyNode.offset, end: keyNode.offset + keyNode.length };
        const value: SourceNode = valueNode
          ? convert(valueNode, depth + 1, budget, limits)
          : { type: 'scalar', span: { start: keySpan.end, end: keySpan.end }, value: null, style: 'plain' };
        entries.push({ key: String(keyNode.value), keySpan, value });
      }
      return { type: 'object', span, entries, flow: true };
    }
    case 'array':
      return { type: 'array', span, items: (node.children ?? []).map((child) => convert(child, depth + 1, budget, limits)), flow: true };
    case 'string':
      return { type: 'scalar', span, value: node.value as string, style: 'double' };
    case 'number':
    case 'boolean':
      return { type: 'scalar', span, value: node.value as number | boolean, style: 'plain' };
    default:
      return { type: 'scalar', span, value: null, style: 'plain' };
  }
}

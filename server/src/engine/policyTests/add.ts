import type { TextEdit } from '../findings';
import type { Decision } from '../simulate/types';
import type { SourceFile } from '../source/sourceFile';
import type { ObjectNode } from '../source/tree';
import { str } from '../audit/generate/yaml';
import { POLICY_TEST_KIND, qualifiedName } from './index';

/**
 * A call pinned as a policy test (*Mesh Policy: Add Policy Test for Call...*): the test that
 * expects what the policies decide now, by the policy and rule that decide it, and the edit that
 * adds it to a test file. The test goes after the last test of the file's last MeshPolicyTest
 * document when its `tests:` is a block list; otherwise (no such document, a flow list `[]`, an
 * empty file) a new document is appended, which is always valid YAML. Nothing else is touched.
 */
export interface PinnedTest {
  call: string;
  expect: Decision['verdict'];
  /** `namespace/name` of the deciding policy, when one decided. */
  policy?: string;
  /** Its rule, as the walkthrough names it. */
  rule?: string;
}

export function pinnedTest(callText: string, decision: Decision): PinnedTest {
  const label = decision.policy?.label;
  return {
    call: callText.trim(), expect: decision.verdict,
    ...(label ? { policy: qualifiedName(label) } : {}),
    ...(label && decision.rule ? { rule: decision.rule.label } : {}),
  };
}

/** The edit that adds `test` to `file` (undefined: a new file), and the 0-based line its `call:` lands on. */
export function addTestEdit(file: SourceFile | undefined, test: PinnedTest): { edit: TextEdit; line: number } {
  const entry = (indent: string) => [
    `${indent}- call: ${str(test.call)}`,
    `${indent}  expect: ${test.expect}`,
    ...(test.policy ? [`${indent}  policy: ${str(test.policy)}`] : []),
    ...(test.rule ? [`${indent}  rule: ${str(test.rule)}`] : []),
  ];
  const newDocument = (separator: boolean) => [...(separator ? ['---'] : []), `kind: ${POLICY_TEST_KIND}`, 'tests:', ...entry('  ')];
  if (!file || file.text.trim() === '') {
    return { edit: { range: { start: { line: 0, character: 0 }, end: file ? file.lines.range({ start: 0, end: file.text.length }).end : { line: 0, character: 0 } }, newText: `${newDocument(false).join('\n')}\n` }, line: 2 };
  }
  const eol = file.text.includes('\r\n') ? '\r\n' : '\n';
  const documents = file.documents.filter((d) => d.root?.type === 'object' && d.root.entries.some((e) => e.key === 'kind' && e.value.type === 'scalar' && e.value.value === POLICY_TEST_KIND));
  const tests = (documents[documents.length - 1]?.root as ObjectNode | undefined)?.entries.find((e) => e.key === 'tests')?.value;
  const last = tests?.type === 'array' && file.text[tests.span.start] !== '[' ? tests.items[tests.items.length - 1] : undefined;
  if (tests && last) {
    // after the line the last test ends on, at the indent of its dash
    const lastEnd = file.lines.position(last.span.end);
    // (a span may end at the start of the next line)
    const lastLine = lastEnd.character === 0 && lastEnd.line > file.lines.position(last.span.start).line ? lastEnd.line - 1 : lastEnd.line;
    const firstItem = tests.type === 'array' ? tests.items[0]! : last;
    const itemStart = file.lines.position(firstItem.span.start);
    const lineText = file.text.slice(file.lines.offset({ line: itemStart.line, character: 0 }), file.lines.offset(itemStart));
    const dash = lineText.lastIndexOf('-');
    const indent = ' '.repeat(dash >= 0 ? dash : Math.max(0, itemStart.character - 2));
    const endOfLast = file.lines.offset({ line: lastLine + 1, character: 0 });
    const atEnd = endOfLast >= file.text.length || file.lines.position(endOfLast).line === lastLine;
    const at = atEnd ? file.lines.position(file.text.length) : { line: lastLine + 1, character: 0 };
    const lead = atEnd && !file.text.endsWith('\n') ? eol : '';
    return { edit: { range: { start: at, end: at }, newText: `${lead}${entry(indent).join(eol)}${eol}` }, line: at.line + (lead ? 1 : 0) };
  }
  const end = file.lines.position(file.text.length);
  const lead = file.text.endsWith('\n') ? '' : eol;
  return { edit: { range: { start: end, end }, newText: `${lead}${newDocument(true).join(eol)}${eol}` }, line: end.line + (lead ? 1 : 0) + 3 };
}

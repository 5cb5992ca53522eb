import type { Connection } from 'vscode-languageserver';
import type { Range } from '../engine/findings';
import { decidedByText, type PolicyTestResult } from '../engine/policyTests';
import type { PolicyTestCoverage } from '../engine/policyTests/coverage';
import { addTestEdit, pinnedTest } from '../engine/policyTests/add';
import type { Decision } from '../engine/simulate/types';
import type { LivePolicyTests } from '../engine/policyTests/live';
import type { SourceFile } from '../engine/source/sourceFile';
import { writtenCallMarkdown } from '../engine/insight/render';
import type { AccessRecord } from '../engine/traffic/accessRecord';
import { answer } from './cancellation';
import { uriOf } from './convert';

/** The requests behind the client's Test Explorer (docs/policy-tests.md). */
export const PolicyTestRequests = {
  /** → `PolicyTestAnswer`: every test file's tests, decided now with the workspace as edited. */
  list: 'meshPolicy/policyTests',
  /** (notification) the tests, or their outcomes, changed: list them again. */
  changed: 'meshPolicy/policyTestsChanged',
  /** `{call, uri}` → `AddedTest`: the edit that pins the call, as the policies decide it now, as a test in the file at `uri` (made when missing). */
  add: 'meshPolicy/addPolicyTest',
} as const;

/** The edit that adds a test (the client applies it, creating the file first when `create`), or why it cannot. */
export type AddedTest = { uri: string; create: boolean; range: Range; newText: string; line: number; expect: string } | { problem: string };

/** `decide`: the written call decided with the workspace as edited, or why it cannot be (an untrusted workspace, a call that does not read). */
export function registerAddPolicyTest(connection: Connection, decide: (call: string) => Decision | string, fileAt: (uri: string) => SourceFile | undefined): void {
  connection.onRequest(PolicyTestRequests.add, (params: { call?: unknown; uri?: unknown } | null, token) => answer(token, (): AddedTest => {
    if (typeof params?.call !== 'string' || typeof params.uri !== 'string') return { problem: 'a call and a test file are needed' };
    const decision = decide(params.call);
    if (typeof decision === 'string') return { problem: decision };
    const test = pinnedTest(params.call, decision);
    const file = fileAt(params.uri);
    const { edit, line } = addTestEdit(file, test);
    return { uri: params.uri, create: !file, range: edit.range, newText: edit.newText, line, expect: test.expect };
  }));
}

export interface PolicyTestAnswer {
  files: {
    uri: string;
    tests: {
      name: string;
      /** The whole test, and its `expect:` value. */
      range: Range;
      expectRange: Range;
      passed: boolean;
      /** The failures, then what the walkthrough says of the policy expected, then what decided. */
      messages: string[];
      verdict: string;
      call: string;
    }[];
  }[];
  /** Per policy file, each policy and rule the tests can reach, and how many tests it decides (`test --coverage`). */
  coverage: { uri: string; places: { kind: 'policy' | 'rule'; label: string; range: Range; tests: number }[] }[];
}

/** `redact`: what leaves the server about calls, as for every other answer (`redaction.ts`). */
export function registerPolicyTestRequests(connection: Connection, run: () => readonly { file: SourceFile; results: readonly PolicyTestResult[] }[], coverage: () => PolicyTestCoverage | undefined, redact: (answer: PolicyTestAnswer) => PolicyTestAnswer): void {
  connection.onRequest(PolicyTestRequests.list, (_params: unknown, token) => answer(token, (): PolicyTestAnswer => {
    const files = run().map(({ file, results }) => ({
      uri: uriOf(file.path),
      tests: results.map(({ test, decision, failures, notes }) => ({
        name: test.name, range: file.lines.range(test.span), expectRange: file.lines.range(test.expectSpan), passed: failures.length === 0,
        messages: failures.length ? [...failures, ...notes.map((n) => n.message), decidedByText(decision)] : [],
        verdict: decision.verdict, call: test.callText,
      })),
    }));
    // (after the run: the coverage of the tests just decided)
    return redact({ files, coverage: coverageByFile(coverage()) });
  }));
}

function coverageByFile(coverage: PolicyTestCoverage | undefined): PolicyTestAnswer['coverage'] {
  const byFile = new Map<string, PolicyTestAnswer['coverage'][number]['places']>();
  for (const { file, kind, label, range, tests } of coverage?.places ?? []) byFile.set(file, [...(byFile.get(file) ?? []), { kind, label, range, tests }]);
  return [...byFile].map(([file, places]) => ({ uri: uriOf(file), places }));
}

/** What the Test Explorer shows of the tests: their files, places, names and outcomes. */
export function policyTestDigest(tests: LivePolicyTests): string {
  return tests.allResults().map(({ file, results }) => `${file.path}\u0000${results.map((r) => `${r.test.span.start}:${r.test.name}:${r.failures.length ? 'fail' : 'pass'}`).join('\u0001')}`).join('\u0002');
}

/** The hover over a test: whether it passes and the walkthrough of its call (as *Explain Call…* shows it). */
export function policyTestHover(results: readonly PolicyTestResult[], offset: number): { record: AccessRecord; markdown: string } | undefined {
  const found = results.find((r) => offset >= r.test.span.start && offset <= r.test.span.end);
  if (!found) return undefined;
  const { test, record, decision, failures, notes } = found;
  const head = failures.length
    ? [`**✗ Policy test fails:** ${test.name}`, '', ...failures.map((f) => `- ${f}`), ...notes.map((n) => `- ${n.message}`)]
    : [`**✓ Policy test passes:** ${test.name} (expects ${test.expect})`];
  return { record, markdown: [...head, '', writtenCallMarkdown(record, decision)].join('\n') };
}

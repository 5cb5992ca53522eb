import type { ProjectConfig } from '../config/projectConfig';
import type { Simulation } from '../simulate';
import type { Decision, SourceRef, Verdict } from '../simulate/types';
import type { SourceDocument, SourceFile } from '../source/sourceFile';
import { replaceScalar } from '../edits';
import type { TextEdit } from '../findings';
import { toValue, type ObjectNode, type SourceNode, type Span } from '../source/tree';
import type { AccessRecord } from '../traffic/accessRecord';
import { decideWrittenCall, parseWrittenCall, writtenCallFromValue, type WrittenCall } from '../traffic/writtenCall';

/**
 * Policy tests (`docs/policy-tests.md`): calls written by hand with the verdict the policies must
 * give them, kept next to the policies and run by `mesh-policy test` in CI and by the editor on
 * every edit. A test file is YAML or JSON whose documents say `kind: MeshPolicyTest`:
 *
 *     kind: MeshPolicyTest
 *     tests:
 *       - name: the frontend reads carts
 *         call: shop/frontend -> shop/cart:8080 GET /v1/carts/1
 *         expect: allow
 *         policy: shop/cart-from-frontend      # optional: which policy decides
 *         rule: rules[0]                       # optional: and which rule
 *
 * `call` is the short form of `explain --call`, or an access record (a mapping).
 */
export const POLICY_TEST_KIND = 'MeshPolicyTest';

/** The verdicts a test may expect, each with what it means. */
export const VERDICT_MEANINGS: Readonly<Record<Verdict, string>> = {
  allow: 'the policies let the call through',
  deny: 'the policies refuse it (Istio 403, Linkerd 403 or PERMISSION_DENIED, Consul RBAC)',
  external: 'an Istio CUSTOM provider decides it',
  unknown: 'the call lacks an attribute the policies test',
};
const VERDICTS = Object.keys(VERDICT_MEANINGS) as Verdict[];
const CASE_KEYS = new Set(['name', 'call', 'expect', 'policy', 'rule']);

export interface PolicyTestCase {
  file: string;
  /** Its name, or its call as written. */
  name: string;
  call: WrittenCall;
  /** The call as written: the short form, or the access record as JSON. */
  callText: string;
  expect: Verdict;
  /** The deciding policy: `Kind namespace/name`, `namespace/name` or `name`. */
  policy?: string;
  /** The deciding rule's label (`rules[0]`, `sources[1] web`, ...). */
  rule?: string;
  /** The whole test, and its `expect` value (where a failure is shown). */
  span: Span;
  expectSpan: Span;
  /** The values an update to what the policies decide rewrites. */
  nodes: { call: SourceNode; expect: SourceNode; policy?: SourceNode; rule?: SourceNode };
}

export interface PolicyTestProblem {
  file: string;
  message: string;
  span: Span;
}

export interface PolicyTestFile {
  cases: PolicyTestCase[];
  problems: PolicyTestProblem[];
}

/** The tests of a file, or undefined when no document of it is a test document. */
export function readPolicyTests(file: SourceFile): PolicyTestFile | undefined {
  const documents = file.documents.filter((d) => d.root?.type === 'object' ? isTestDocument(d.root) : unreadTestDocument(file, d));
  if (!documents.length) return undefined;
  const result: PolicyTestFile = { cases: [], problems: [] };
  const problem = (message: string, span: Span) => result.problems.push({ file: file.path, message, span });
  for (const document of documents) {
    // (a document the parser could not read whole is not run: its tests would be half read)
    const syntax = document.problems.filter((p) => p.severity === 'error');
    for (const p of syntax) problem(`the test document does not parse: ${p.message}`, p.span);
    if (syntax.length || document.root?.type !== 'object') continue;
    const root = document.root;
    for (const entry of root.entries) {
      if (entry.key !== 'kind' && entry.key !== 'tests') problem(`unknown key "${entry.key}": a test document has kind and tests`, entry.keySpan);
    }
    const tests = root.entries.find((e) => e.key === 'tests');
    if (!tests) {
      problem('a MeshPolicyTest document needs tests: a list of calls, each with the verdict it must get', root.span);
      continue;
    }
    if (tests.value.type !== 'array') {
      problem('tests must be a list', tests.value.span);
      continue;
    }
    for (const item of tests.value.items) {
      const read = readCase(file, item);
      if ('message' in read) problem(read.message, read.span);
      else result.cases.push(read);
    }
  }
  return result;
}

/** A document past a reader limit (nesting, size) has no tree, but its text may still say it is a test document. */
function unreadTestDocument(file: SourceFile, document: SourceDocument): boolean {
  if (document.root || !document.problems.some((p) => p.limit)) return false;
  return new RegExp(`^kind:[ \\t]*["']?${POLICY_TEST_KIND}["']?[ \\t]*(#.*)?$`, 'm').test(file.text.slice(document.span.start, document.span.end));
}

function isTestDocument(root: ObjectNode): boolean {
  const kind = root.entries.find((e) => e.key === 'kind')?.value;
  return kind?.type === 'scalar' && kind.value === POLICY_TEST_KIND;
}

function readCase(file: SourceFile, node: SourceNode): PolicyTestCase | { message: string; span: Span } {
  if (node.type !== 'object') return { message: 'a test must be a mapping with call and expect', span: node.span };
  const field = (key: string) => node.entries.find((e) => e.key === key);
  for (const entry of node.entries) {
    if (!CASE_KEYS.has(entry.key)) return { message: `unknown key "${entry.key}" in a test: name, call, expect, policy, rule`, span: entry.keySpan };
  }
  const text = (key: string): string | undefined | { message: string; span: Span } => {
    const entry = field(key);
    if (!entry) return undefined;
    const value = entry.value;
    return value.type === 'scalar' && typeof value.value === 'string' && value.value !== '' ? value.value : { message: `${key} must be a non-empty string`, span: value.span };
  };
  const name = text('name');
  const policy = text('policy');
  const rule = text('rule');
  for (const value of [name, policy, rule]) if (typeof value === 'object') return value;
  const call = field('call');
  if (!call) return { message: 'a test needs call: the short form (shop/frontend -> shop/cart:8080 GET /items) or an access record', span: node.span };
  const written = call.value.type === 'scalar' && typeof call.value.value === 'string' ? parseWrittenCall(call.value.value) : writtenCallFromValue(toValue(call.value));
  if ('problem' in written) return { message: `the call ${written.problem}`, span: call.value.span };
  const expect = field('expect');
  if (!expect) return { message: `a test needs expect: ${VERDICTS.join(', ')}`, span: node.span };
  const verdict = expect.value.type === 'scalar' ? String(expect.value.value) : '';
  if (!(VERDICTS as readonly string[]).includes(verdict)) return { message: `expect must be one of ${VERDICTS.join(', ')}`, span: expect.value.span };
  const callText = call.value.type === 'scalar' ? String(call.value.value) : JSON.stringify(toValue(call.value));
  return {
    file: file.path, name: (name as string | undefined) ?? callText, call: written.call, callText, expect: verdict as Verdict,
    ...(policy !== undefined ? { policy: policy as string } : {}), ...(rule !== undefined ? { rule: rule as string } : {}),
    span: node.span, expectSpan: expect.value.span,
    nodes: { call: call.value, expect: expect.value, ...(field('policy') ? { policy: field('policy')!.value } : {}), ...(field('rule') ? { rule: field('rule')!.value } : {}) },
  };
}

export interface PolicyTestResult {
  test: PolicyTestCase;
  record: AccessRecord;
  decision: Decision;
  /** Why the test failed, one line each; empty when it passed. */
  failures: string[];
  /** For a failure: what the walkthrough says about the policy the test expected to decide, and where it is. */
  notes: { message: string; at?: SourceRef }[];
}

/** A call as written, decided: what `runPolicyTests` may keep between runs, by the call's text. */
export type DecidedCalls = Map<string, { record: AccessRecord; decision: Decision }>;

/**
 * Decides each test's call with the workspace's simulation, as `explain` does. `decided`: calls
 * decided before with the same simulation, by their text, which the caller keeps only while they
 * would decide the same (`LivePolicyTests`); calls decided now are added to it.
 */
export function runPolicyTests(cases: readonly PolicyTestCase[], simulation: Pick<Simulation, 'meshOf' | 'decide' | 'identityNamespace'>, config: Pick<ProjectConfig, 'istio' | 'linkerd' | 'consul'>, decided?: DecidedCalls): PolicyTestResult[] {
  return cases.map((test) => {
    let call = decided?.get(test.callText);
    if (!call) {
      call = decideWrittenCall(simulation, test.call, config);
      decided?.set(test.callText, call);
    }
    return { test, record: call.record, decision: call.decision, ...verdictOf(test, call.decision) };
  });
}

function verdictOf(test: PolicyTestCase, decision: Decision): Pick<PolicyTestResult, 'failures' | 'notes'> {
  const failures: string[] = [];
  const notes: PolicyTestResult['notes'] = [];
  if (decision.verdict !== test.expect) failures.push(`expected ${test.expect}, got ${decision.verdict}: ${decision.reason}`);
  if (test.policy !== undefined && !namesPolicy(test.policy, decision.policy?.label)) {
    const wanted = test.policy;
    failures.push(`expected ${wanted} to decide, but ${decision.policy ? `${decision.policy.label} did` : 'no policy did (a default decided)'}`);
    // the last step of the walkthrough about the policy expected says why it did not decide
    const step = [...decision.trace].reverse().find((s) => namesPolicy(wanted, s.at?.label) || s.text.includes(` ${wanted}`) || s.text.includes(`/${wanted}`));
    if (step) notes.push({ message: step.text, ...(step.at ? { at: step.at } : {}) });
  }
  if (test.rule !== undefined && !namesRule(test.rule, decision.rule?.label)) {
    failures.push(`expected rule ${test.rule} to decide, but ${decision.rule ? `${decision.rule.label} did` : 'no rule did'}`);
  }
  return { failures, notes: failures.length ? notes : [] };
}

/**
 * The edits that make a failing test expect what the policies decide now (a snapshot updated on
 * purpose, after a policy change that was meant): `expect`, and `policy:` and `rule:` where the
 * test names them, each written in the form the test wrote it. Undefined when the test passes, or
 * when it names a policy or rule and none decided (a default cannot be named there).
 */
export function expectationEdits(file: SourceFile, result: PolicyTestResult): { title: string; edits: TextEdit[] } | undefined {
  if (!result.failures.length) return undefined;
  const { test, decision } = result;
  const edits: TextEdit[] = [];
  const changed: string[] = [];
  if (decision.verdict !== test.expect) {
    edits.push(replaceScalar(file, test.nodes.expect, decision.verdict));
    changed.push(`expect ${decision.verdict}`);
  }
  if (test.policy !== undefined && test.nodes.policy && !namesPolicy(test.policy, decision.policy?.label)) {
    if (!decision.policy) return undefined;
    const label = decision.policy.label;
    const qualified = qualifiedName(label);
    const written = test.policy.includes(' ') ? label : test.policy.includes('/') ? qualified : qualified.slice(qualified.lastIndexOf('/') + 1);
    edits.push(replaceScalar(file, test.nodes.policy, written));
    changed.push(`policy ${written}`);
  }
  if (test.rule !== undefined && test.nodes.rule && !namesRule(test.rule, decision.rule?.label)) {
    if (!decision.rule) return undefined;
    edits.push(replaceScalar(file, test.nodes.rule, decision.rule.label));
    changed.push(`rule ${decision.rule.label}`);
  }
  return edits.length ? { title: `Update the test to what the policies decide now: ${changed.join(', ')}`, edits } : undefined;
}

/** What decided a test's call, in words: `decided by AuthorizationPolicy shop/cart rules[0]`. */
export function decidedByText(decision: Decision): string {
  const { policy, rule } = decision;
  return policy ? `decided by ${policy.label}${rule ? ` ${rule.label}` : ''}` : 'decided by the default';
}

/** `Kind namespace/name`, `namespace/name` or `name` against a label such as `AuthorizationPolicy shop/cart`. */
export function namesPolicy(wanted: string, label: string | undefined): boolean {
  if (!label) return false;
  if (label === wanted) return true;
  const name = qualifiedName(label);
  return name === wanted || name.slice(name.lastIndexOf('/') + 1) === wanted;
}

/** `namespace/name` of a policy label such as `AuthorizationPolicy shop/cart`. */
export function qualifiedName(label: string): string {
  return label.slice(label.lastIndexOf(' ') + 1);
}

/** A rule as a test names it against the walkthrough's label: the whole label, or its end
 * (a Consul rule's label leads with its entry's: `ServiceIntentions ns/api sources[0] web`). */
function namesRule(wanted: string, label: string | undefined): boolean {
  return label !== undefined && (label === wanted || label.endsWith(` ${wanted}`));
}

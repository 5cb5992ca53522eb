import { applyRuleSettings } from '../checks/suppress';
import { Codes } from '../codes';
import type { RuleSetting } from '../config/projectConfig';
import type { Finding } from '../findings';
import { Simulation } from '../simulate';
import type { SourceFile } from '../source/sourceFile';
import type { WorkspaceModel } from '../workspace';
import type { Decision } from '../simulate/types';
import { policyTestCoverage, type PolicyTestCoverage } from './coverage';
import { decidedByText, expectationEdits, readPolicyTests, runPolicyTests, type DecidedCalls, type PolicyTestFile, type PolicyTestResult } from './index';

/** Said with each failure when no policy was read at all, as when `lint` is given the tests folder alone. */
export const NO_POLICY_READ = 'no Istio, Linkerd or Consul policy was read with the tests: lint the folder that holds the policies too, or run mesh-policy test --policies <folder>';

const testsOf = new WeakMap<SourceFile, PolicyTestFile | null>();

function cachedTests(file: SourceFile): PolicyTestFile | undefined {
  let tests = testsOf.get(file);
  if (tests === undefined) testsOf.set(file, (tests = readPolicyTests(file) ?? null));
  return tests ?? undefined;
}

/**
 * The editor's policy tests: after each change to the workspace, every test file's tests decided
 * again with a simulation brought up to date by difference (`Simulation.update`), as findings on
 * the test files: MPA0005 on the `expect:` of a failing test, MPA0006 where a test cannot run.
 * Nothing is compiled while the workspace has no test file. `mesh-policy lint` reports the same.
 */
export class LivePolicyTests {
  private simulation: Simulation | undefined;
  private seen = new Map<string, SourceFile>();
  /** The calls decided with the simulation as it is, kept across runs while an update cannot change them. */
  private decided: DecidedCalls = new Map();
  private lastResults = new Map<string, { file: SourceFile; results: PolicyTestResult[] }>();

  /** Every test file's results as last decided by `findings`, in workspace order. */
  allResults(): { file: SourceFile; results: readonly PolicyTestResult[] }[] {
    return [...this.lastResults.values()];
  }

  /** Which policies and rules the last run's tests reach (`coverage.ts`); undefined before a run or without test files. */
  coverage(workspace: Pick<WorkspaceModel, 'resources'>): PolicyTestCoverage | undefined {
    if (!this.simulation || !this.lastResults.size) return undefined;
    return policyTestCoverage([...this.lastResults.values()].flatMap((r) => r.results), workspace, this.simulation);
  }

  /** The results of a test file as last decided by `findings`: none before, or for another text
   * (their places would be off; the next run, after the edit, decides them). */
  results(file: SourceFile): readonly PolicyTestResult[] {
    const last = this.lastResults.get(file.path);
    return last && (last.file === file || last.file.text === file.text) ? last.results : [];
  }

  /** Findings per test file path, with the configured severities and inline suppressions; every
   * test file of the workspace has an entry, empty when its tests pass. */
  findings(workspace: WorkspaceModel, rules: Record<string, RuleSetting>): Map<string, Finding[]> {
    const found = new Map<string, Finding[]>();
    this.lastResults = new Map();
    const files = workspace.sourceFiles.flatMap((file) => {
      const tests = cachedTests(file);
      return tests ? [{ file, tests }] : [];
    });
    if (!files.length) {
      this.simulation = undefined;
      this.decided.clear();
      return found;
    }
    const simulation = this.upToDate(workspace);
    const asked = new Set(files.flatMap(({ tests }) => tests.cases.map((c) => c.callText)));
    for (const text of this.decided.keys()) if (!asked.has(text)) this.decided.delete(text);
    // (a tests folder linted alone: every test fails, and the reason is not in any one test)
    const alone = workspace.resources.length === 0 ? ` (${NO_POLICY_READ})` : '';
    for (const { file, tests } of files) {
      const list: Finding[] = tests.problems.map((problem) => ({ file: file.path, range: file.lines.range(problem.span), severity: 'error', code: Codes.policyTestProblem, message: problem.message }));
      const results = runPolicyTests(tests.cases, simulation, workspace.config, this.decided);
      this.lastResults.set(file.path, { file, results });
      for (const result of results) {
        if (!result.failures.length) continue;
        const { policy, rule } = result.decision;
        const related = [
          ...(policy ? [{ file: (rule ?? policy).file, range: (rule ?? policy).range, message: decidedByText(result.decision) }] : []),
          ...result.notes.flatMap((note) => (note.at ? [{ file: note.at.file, range: note.at.range, message: note.message }] : [])),
        ];
        // (never preferred: whether the test or the policy is wrong is the author's call)
        const update = expectationEdits(file, result);
        list.push({
          file: file.path, range: file.lines.range(result.test.expectSpan), severity: 'error', code: Codes.policyTestFails,
          message: `Policy test "${result.test.name}" fails: ${result.failures.join('; ')}${alone}`,
          ...(related.length ? { related } : {}),
          ...(update ? { fixes: [update] } : {}),
        });
      }
      found.set(file.path, applyRuleSettings(list, file, rules));
    }
    return found;
  }

  private upToDate(workspace: WorkspaceModel): Simulation {
    const current = new Map(workspace.sourceFiles.map((file) => [file.path, file]));
    if (!this.simulation) {
      this.simulation = new Simulation(workspace);
      this.decided.clear();
    } else {
      const changed = [...current].filter(([path, file]) => this.seen.get(path) !== file).map(([path]) => path);
      for (const path of this.seen.keys()) if (!current.has(path)) changed.push(path);
      if (changed.length) {
        const update = this.simulation.update(workspace, changed);
        // A call is decided again when the change may reach it, or when a policy its decision
        // names moved (its places would be off)
        const moved = new Set(update.moved.map((m) => m.file));
        for (const [text, { record, decision }] of this.decided) {
          if (update.affects(record) || (moved.size && namesFileIn(decision, moved))) this.decided.delete(text);
        }
      }
    }
    this.seen = current;
    return this.simulation;
  }
}

/** Whether a decision names a place in one of `files` (its policy, rule or a step of its walkthrough). */
function namesFileIn(decision: Decision, files: ReadonlySet<string>): boolean {
  const refs = [decision.policy, decision.rule, decision.passed?.policy, decision.passed?.rule, ...decision.trace.map((step) => step.at), ...(decision.shadow ?? []).flatMap((s) => [s.policy, s.rule]), ...(decision.auditedBy ?? []).flatMap((a) => [a.policy, a.rule])];
  return refs.some((ref) => ref !== undefined && files.has(ref.file));
}

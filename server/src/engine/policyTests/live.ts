import { applyRuleSettings } from '../checks/suppress';
import { Codes } from '../codes';
import type { RuleSetting } from '../config/projectConfig';
import type { Finding } from '../findings';
import { Simulation } from '../simulate';
import type { SourceFile } from '../source/sourceFile';
import type { WorkspaceModel } from '../workspace';
import { readPolicyTests, runPolicyTests, type PolicyTestFile, type PolicyTestResult } from './index';

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
  private lastResults = new Map<string, { file: SourceFile; results: PolicyTestResult[] }>();

  /** Every test file's results as last decided by `findings`, in workspace order. */
  allResults(): { file: SourceFile; results: readonly PolicyTestResult[] }[] {
    return [...this.lastResults.values()];
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
      return found;
    }
    const simulation = this.upToDate(workspace);
    for (const { file, tests } of files) {
      const list: Finding[] = tests.problems.map((problem) => ({ file: file.path, range: file.lines.range(problem.span), severity: 'error', code: Codes.policyTestProblem, message: problem.message }));
      const results = runPolicyTests(tests.cases, simulation, workspace.config);
      this.lastResults.set(file.path, { file, results });
      for (const result of results) {
        if (!result.failures.length) continue;
        const { policy, rule } = result.decision;
        const related = [
          ...(policy ? [{ file: (rule ?? policy).file, range: (rule ?? policy).range, message: `decided by ${policy.label}${rule ? ` ${rule.label}` : ''}` }] : []),
          ...result.notes.flatMap((note) => (note.at ? [{ file: note.at.file, range: note.at.range, message: note.message }] : [])),
        ];
        list.push({
          file: file.path, range: file.lines.range(result.test.expectSpan), severity: 'error', code: Codes.policyTestFails,
          message: `Policy test "${result.test.name}" fails: ${result.failures.join('; ')}`,
          ...(related.length ? { related } : {}),
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
    } else {
      const changed = [...current].filter(([path, file]) => this.seen.get(path) !== file).map(([path]) => path);
      for (const path of this.seen.keys()) if (!current.has(path)) changed.push(path);
      if (changed.length) this.simulation.update(workspace, changed);
    }
    this.seen = current;
    return this.simulation;
  }
}

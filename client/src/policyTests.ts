import * as vscode from 'vscode';

/** What the server answers to `meshPolicy/policyTests` (server/src/lsp/policyTests.ts). */
interface PolicyTestAnswer {
  files: {
    uri: string;
    tests: { name: string; range: RangeJson; expectRange: RangeJson; passed: boolean; messages: string[]; verdict: string; call: string }[];
  }[];
  coverage?: { uri: string; places: { kind: 'policy' | 'rule'; label: string; range: RangeJson; tests: number }[] }[];
}

interface RangeJson {
  start: { line: number; character: number };
  end: { line: number; character: number };
}

/** Every folder's server's answer (each folder has its own server and tests). */
type RequestAll = <T>(method: string, params?: unknown, token?: vscode.CancellationToken) => Promise<T[]>;

const toRange = (r: RangeJson) => new vscode.Range(r.start.line, r.start.character, r.end.line, r.end.character);

/**
 * Policy tests (docs/policy-tests.md) in VS Code's Test Explorer: a test item per test of each
 * test file, listed again when the server says they changed; running them asks the server, which
 * decides them with the workspace as edited. No policy logic here.
 */
export function registerPolicyTests(context: vscode.ExtensionContext, requestAll: RequestAll): { refresh(): Promise<void> } {
  const controller = vscode.tests.createTestController('meshPolicy.policyTests', 'Mesh Policy tests');
  context.subscriptions.push(controller);
  const outcomes = new Map<string, PolicyTestAnswer['files'][number]['tests'][number]>();

  const ask = async (token?: vscode.CancellationToken): Promise<PolicyTestAnswer | undefined> => {
    const answers = await requestAll<PolicyTestAnswer>('meshPolicy/policyTests', {}, token).catch(() => []);
    if (!answers.length) return undefined;
    return { files: answers.flatMap((a) => a.files), coverage: answers.flatMap((a) => a.coverage ?? []) };
  };

  const list = async (token?: vscode.CancellationToken): Promise<void> => {
    const answer = await ask(token);
    if (!answer) return;
    outcomes.clear();
    const files: vscode.TestItem[] = [];
    for (const file of answer.files) {
      const uri = vscode.Uri.parse(file.uri);
      const fileItem = controller.createTestItem(file.uri, vscode.workspace.asRelativePath(uri), uri);
      fileItem.children.replace(file.tests.map((test, i) => {
        const id = `${file.uri}#${i}`;
        const item = controller.createTestItem(id, test.name, uri);
        item.range = toRange(test.range);
        item.description = test.call;
        outcomes.set(id, test);
        return item;
      }));
      files.push(fileItem);
    }
    controller.items.replace(files);
  };

  controller.refreshHandler = (token) => list(token);
  const runTests = async (run: vscode.TestRunRequest, token: vscode.CancellationToken): Promise<vscode.TestRun> => {
    await list(token);
    const testRun = controller.createTestRun(run);
    const chosen: vscode.TestItem[] = [];
    const add = (item: vscode.TestItem) => (item.children.size ? item.children.forEach(add) : chosen.push(item));
    if (run.include) run.include.forEach(add);
    else controller.items.forEach(add);
    const excluded = new Set((run.exclude ?? []).map((item) => item.id));
    for (const item of chosen) {
      if (excluded.has(item.id) || excluded.has(item.parent?.id ?? '')) continue;
      const outcome = outcomes.get(item.id);
      if (!outcome) {
        testRun.skipped(item);
        continue;
      }
      if (outcome.passed) {
        testRun.passed(item);
      } else {
        const message = new vscode.TestMessage(outcome.messages.join('\n'));
        if (item.uri) message.location = new vscode.Location(item.uri, toRange(outcome.expectRange));
        testRun.failed(item, message);
      }
    }
    return testRun;
  };
  controller.createRunProfile('Run', vscode.TestRunProfileKind.Run, async (run, token) => (await runTests(run, token)).end(), true);

  // Coverage (`mesh-policy test --coverage`): each policy and rule a "statement", executed as many
  // times as it decides a test.
  const detailed = new WeakMap<vscode.FileCoverage, vscode.StatementCoverage[]>();
  const coverageProfile = controller.createRunProfile('Run with Coverage', vscode.TestRunProfileKind.Coverage, async (run, token) => {
    const testRun = await runTests(run, token);
    const answer = await ask(token);
    for (const file of answer?.coverage ?? []) {
      const statements = file.places.map((p) => new vscode.StatementCoverage(p.tests, toRange(p.range)));
      const coverage = new vscode.FileCoverage(vscode.Uri.parse(file.uri), new vscode.TestCoverageCount(file.places.filter((p) => p.tests > 0).length, file.places.length));
      detailed.set(coverage, statements);
      testRun.addCoverage(coverage);
    }
    testRun.end();
  }, true);
  coverageProfile.loadDetailedCoverage = async (_run, coverage) => detailed.get(coverage) ?? [];
  return { refresh: () => list() };
}

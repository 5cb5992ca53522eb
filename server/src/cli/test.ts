import { resolve } from 'node:path';
import { applyEditsKeepingLineEnds } from '../engine/fixAll';
import { policyTestCoverage, type CoverageItem, type PolicyTestCoverage } from '../engine/policyTests/coverage';
import type { TextEdit } from '../engine/findings';
import { decidedByText, expectationEdits, readPolicyTests, runPolicyTests, type PolicyTestProblem, type PolicyTestResult } from '../engine/policyTests';
import type { SourceFile } from '../engine/source/sourceFile';
import { redactorFor } from '../engine/traffic/redact';
import { collectPolicyFiles } from '../engine/workspaceFiles';
import { ArgCursor } from './args';
import { commandFailure, HelpRequested, reportMissing, UsageError } from './errors';
import { writeFixed, type CliIo } from './main';
import { loadWorkspace, where } from './simulate';
import { displayPath } from './traffic';

export const TEST_USAGE = `Usage: mesh-policy test <test files or folders...> [--policies <paths>] [options]

test decides the calls written in policy test files (kind: MeshPolicyTest) with the policies, as
each mesh would, and checks each verdict (and, when a test names them, the deciding policy and
rule) against what the test expects (docs/policy-tests.md). No traffic and no cluster needed.

Options:
  --policies <paths>           Policy files or folders (default: the current folder).
  --inventory <paths>          Kubernetes manifests or kubectl dumps (default: the policy paths).
  --config <file>              .meshpolicy.yaml (default: the nearest one above the current folder).
  --format text|json|junit     One line per test and the failures' reasons (default), the results
                               as JSON, or a JUnit XML report for CI test dashboards.
  --coverage                   Also say which policies and rules decide at least one test, and
                               list those that decide none (text and json only).
  --update                     Rewrite each failing test to expect what the policies decide now
                               (its expect, and its policy and rule where it names them), keeping
                               the file's comments and layout: after a policy change that was meant.

Exit codes: 0 every test passed (or was updated), 1 a test failed, 2 usage error, unreadable input, a test file
with a problem (a call that cannot be read, a verdict that is not allow, deny, external or unknown).`;

interface TestArgs {
  tests: string[];
  policies: string[];
  inventory: string[];
  config?: string;
  format: 'text' | 'json' | 'junit';
  update: boolean;
  coverage: boolean;
}

function parse(args: string[]): TestArgs {
  const parsed: TestArgs = { tests: [], policies: [], inventory: [], format: 'text', update: false, coverage: false };
  for (const cli = new ArgCursor(args); cli.next();) {
    switch (cli.flag) {
      case '--help': case '-h': throw new HelpRequested();
      case '--policies': parsed.policies.push(...cli.list()); break;
      case '--inventory': parsed.inventory.push(...cli.list()); break;
      case '--config': parsed.config = cli.value(); break;
      case '--update': parsed.update = cli.switchOn(); break;
      case '--coverage': parsed.coverage = cli.switchOn(); break;
      case '--format': {
        const v = cli.value();
        if (v !== 'text' && v !== 'json' && v !== 'junit') throw new UsageError(`--format must be text, json or junit (got "${v}")`);
        parsed.format = v;
        break;
      }
      default:
        if (cli.isOption) throw cli.unexpected();
        parsed.tests.push(cli.arg);
    }
  }
  if (!parsed.tests.length) throw new UsageError('test needs test files or folders (files with kind: MeshPolicyTest)');
  if (!parsed.policies.length) parsed.policies.push('.');
  if (parsed.update && parsed.format !== 'text') throw new UsageError('--update reports in text only: leave out --format');
  if (parsed.coverage && parsed.update) throw new UsageError('--coverage is not reported with --update: run the tests again after the update');
  if (parsed.coverage && parsed.format === 'junit') throw new UsageError('--coverage is reported in text and json: JUnit XML has no place for it');
  return parsed;
}

export function runTestCli(args: string[], io: CliIo): number {
  try {
    const parsed = parse(args);
    const testPaths = parsed.tests.map((p) => resolve(io.cwd, p));
    if (reportMissing(testPaths, io)) return 2;
    const loaded = loadWorkspace(parsed, io, { quietWithoutPolicies: true });
    if (typeof loaded === 'number') return loaded;
    // (tests of what the meshes do with no policy are legitimate: said, not refused)
    if (loaded.workspace.resources.length === 0) io.stderr(`mesh-policy: no Istio, Linkerd or Consul policy found in --policies ${parsed.policies.join(' ')}: the tests are decided as the meshes decide without any`);
    const rel = (p: string) => displayPath(io.cwd, p);
    const files: SourceFile[] = [];
    const problems: PolicyTestProblem[] = [];
    const walk = collectPolicyFiles(testPaths);
    for (const path of walk.files) {
      const file = loaded.engine.readFile(path);
      const tests = readPolicyTests(file);
      if (!tests) continue;
      files.push(file);
      problems.push(...tests.problems);
    }
    const named = testPaths.filter((p) => walk.files.includes(p));
    for (const path of named) if (!files.some((f) => f.path === path)) problems.push({ file: path, message: 'is not a policy test file: no document says kind: MeshPolicyTest', span: { start: 0, end: 0 } });
    const fileOf = (path: string) => files.find((f) => f.path === path);
    for (const p of problems) {
      const at = fileOf(p.file)?.lines.position(p.span.start);
      io.stderr(`mesh-policy: ${rel(p.file)}${at ? `:${at.line + 1}:${at.character + 1}` : ''}: ${p.message}`);
    }
    if (problems.length) {
      // (a CI test reporter given an empty file says nothing useful: the problems are its errors)
      if (parsed.format === 'junit') io.stdout(junitProblems(problems, rel, (problem) => (fileOf(problem.file)?.lines.position(problem.span.start).line ?? 0) + 1));
      return 2;
    }
    const cases = files.flatMap((f) => readPolicyTests(f)!.cases);
    if (!cases.length) {
      io.stderr('mesh-policy: no policy test found (files with kind: MeshPolicyTest and a list of tests)');
      return 2;
    }
    const redactor = redactorFor(loaded.workspace.config);
    const results = runPolicyTests(cases, loaded.simulation, loaded.workspace.config).map((r) => {
      const secrets = redactor.secretsOf(r.record);
      return { ...r, decision: redactor.deep(r.decision, secrets), failures: redactor.deep(r.failures, secrets), notes: redactor.deep(r.notes, secrets) };
    });
    const lineOf = (r: PolicyTestResult) => (fileOf(r.test.file)?.lines.position(r.test.span.start).line ?? 0) + 1;
    if (parsed.update) return updateTests(results, fileOf, rel, lineOf, io);
    const coverage = parsed.coverage ? policyTestCoverage(results, loaded.workspace, loaded.simulation) : undefined;
    switch (parsed.format) {
      case 'json': io.stdout(JSON.stringify({ ...(jsonResults(results, rel, lineOf) as object), ...(coverage ? { coverage: relativeCoverage(coverage, rel) } : {}) }, null, 2)); break;
      case 'junit': io.stdout(junitReport(results, rel, lineOf)); break;
      default: io.stdout(textReport(results, rel, lineOf) + (coverage ? `\n${coverageText(coverage, rel)}` : ''));
    }
    return results.some((r) => r.failures.length) ? 1 : 0;
  } catch (error) {
    return commandFailure(error, io, TEST_USAGE);
  }
}

/**
 * `--update`: each failing test rewritten to expect what the policies decide now, every file
 * written whole (its encoding, line ends and mode kept) or not at all. A test that names a
 * policy or rule where a default decided cannot say so, and stays failing.
 */
function updateTests(results: readonly PolicyTestResult[], fileOf: (path: string) => SourceFile | undefined, rel: (p: string) => string, lineOf: (r: PolicyTestResult) => number, io: CliIo): number {
  const out: string[] = [];
  const byFile = new Map<SourceFile, TextEdit[]>();
  let updated = 0;
  let failed = 0;
  for (const r of results) {
    const file = fileOf(r.test.file)!;
    const update = expectationEdits(file, r);
    const place = `${rel(r.test.file)}:${lineOf(r)}  ${r.test.name}`;
    if (!r.failures.length) { out.push(`PASS     ${place}`); continue; }
    if (!update) {
      failed++;
      out.push(`FAIL     ${place}`, ...r.failures.map((f) => `        ${f}`), `        ${decidedBy(r, rel)}: a test cannot name the default, so it is left as it is`);
      continue;
    }
    updated++;
    byFile.set(file, [...(byFile.get(file) ?? []), ...update.edits]);
    out.push(`UPDATED  ${place}`, `        ${update.title.replace(/^Update the test to what the policies decide now: /, 'now: ')}`);
  }
  for (const [file, edits] of byFile) {
    const problem = writeFixed(file.path, file.text, applyEditsKeepingLineEnds(file, edits));
    if (problem) {
      io.stderr(`mesh-policy: cannot update ${rel(file.path)}: ${problem}`);
      return 2;
    }
  }
  out.push('', `${results.length} ${results.length === 1 ? 'test' : 'tests'}: ${results.length - updated - failed} passed, ${updated} updated, ${failed} failed`);
  io.stdout(out.join('\n'));
  return failed ? 1 : 0;
}

function coverageText(coverage: PolicyTestCoverage, rel: (p: string) => string): string {
  const share = (t: PolicyTestCoverage['policies']) => `${t.covered} of ${t.total}${t.total ? ` (${Math.round((100 * t.covered) / t.total)}%)` : ''}`;
  const out = [`Coverage: ${share(coverage.policies)} policies and ${share(coverage.rules)} rules decide at least one test`];
  const list = (title: string, items: readonly CoverageItem[]) => {
    if (!items.length) return;
    out.push(`  ${title}:`);
    for (const item of items) out.push(`    ${item.label} (${rel(item.file)}:${item.line})`);
  };
  list('policies no test reaches', coverage.policies.uncovered);
  list('rules that decide no test', coverage.rules.uncovered);
  return out.join('\n');
}

function relativeCoverage(coverage: PolicyTestCoverage, rel: (p: string) => string): PolicyTestCoverage {
  const items = (list: readonly CoverageItem[]) => list.map((i) => ({ ...i, file: rel(i.file) }));
  return { policies: { ...coverage.policies, uncovered: items(coverage.policies.uncovered) }, rules: { ...coverage.rules, uncovered: items(coverage.rules.uncovered) }, places: coverage.places.map((place) => ({ ...place, file: rel(place.file) })) };
}

function decidedBy(r: PolicyTestResult, rel: (p: string) => string): string {
  const { policy, rule } = r.decision;
  return policy ? `${decidedByText(r.decision)} (${where(rule ?? policy, rel)})` : decidedByText(r.decision);
}

function textReport(results: readonly PolicyTestResult[], rel: (p: string) => string, lineOf: (r: PolicyTestResult) => number): string {
  const out: string[] = [];
  for (const r of results) {
    out.push(`${r.failures.length ? 'FAIL' : 'PASS'}  ${rel(r.test.file)}:${lineOf(r)}  ${r.test.name}`);
    for (const failure of r.failures) out.push(`        ${failure}`);
    for (const note of r.notes) out.push(`        ${note.message}${note.at ? ` (${where(note.at, rel)})` : ''}`);
    if (r.failures.length) out.push(`        ${decidedBy(r, rel)}`);
  }
  const failed = results.filter((r) => r.failures.length).length;
  out.push('', `${results.length} ${results.length === 1 ? 'test' : 'tests'}: ${results.length - failed} passed, ${failed} failed`);
  return out.join('\n');
}

function jsonResults(results: readonly PolicyTestResult[], rel: (p: string) => string, lineOf: (r: PolicyTestResult) => number): unknown {
  return {
    passed: results.filter((r) => !r.failures.length).length,
    failed: results.filter((r) => r.failures.length).length,
    tests: results.map((r) => ({
      name: r.test.name, file: rel(r.test.file), line: lineOf(r), passed: r.failures.length === 0, failures: r.failures,
      ...(r.notes.length ? { notes: r.notes.map((n) => ({ message: n.message, ...(n.at ? { at: where(n.at, rel) } : {}) })) } : {}),
      expect: r.test.expect, ...(r.test.policy ? { expectPolicy: r.test.policy } : {}), ...(r.test.rule ? { expectRule: r.test.rule } : {}),
      verdict: r.decision.verdict, mesh: r.decision.mesh, reason: r.decision.reason,
      ...(r.decision.policy ? { policy: r.decision.policy.label, policyAt: where(r.decision.policy, rel) } : {}),
      ...(r.decision.rule ? { rule: r.decision.rule.label, ruleAt: where(r.decision.rule, rel) } : {}),
      ...(r.decision.missing?.length ? { missing: r.decision.missing } : {}),
    })),
  };
}

/** JUnit XML as CI dashboards read it (Jenkins, GitLab, GitHub test reporters): a suite per test file. */
function junitReport(results: readonly PolicyTestResult[], rel: (p: string) => string, lineOf: (r: PolicyTestResult) => number): string {
  const byFile = new Map<string, PolicyTestResult[]>();
  for (const r of results) byFile.set(r.test.file, [...(byFile.get(r.test.file) ?? []), r]);
  const failed = results.filter((r) => r.failures.length).length;
  const out = ['<?xml version="1.0" encoding="UTF-8"?>', `<testsuites name="mesh-policy test" tests="${results.length}" failures="${failed}" errors="0">`];
  for (const [file, list] of byFile) {
    out.push(`  <testsuite name="${xmlAttribute(rel(file))}" tests="${list.length}" failures="${list.filter((r) => r.failures.length).length}" errors="0" skipped="0">`);
    for (const r of list) {
      const attributes = `name="${xmlAttribute(r.test.name)}" classname="${xmlAttribute(rel(file))}" file="${xmlAttribute(rel(file))}" line="${lineOf(r)}"`;
      if (!r.failures.length) {
        out.push(`    <testcase ${attributes}/>`);
        continue;
      }
      const details = [...r.failures, ...r.notes.map((n) => n.message), decidedBy(r, rel)];
      out.push(`    <testcase ${attributes}>`, `      <failure message="${xmlAttribute(r.failures[0]!)}" type="${xmlAttribute(`expected ${r.test.expect}`)}">${xml(details.join('\n'))}</failure>`, '    </testcase>');
    }
    out.push('  </testsuite>');
  }
  out.push('</testsuites>');
  return out.join('\n');
}

/** JUnit XML for test files that cannot run: each problem an errored test case of its file's suite. */
function junitProblems(problems: readonly PolicyTestProblem[], rel: (p: string) => string, lineOf: (p: PolicyTestProblem) => number): string {
  const byFile = new Map<string, PolicyTestProblem[]>();
  for (const p of problems) byFile.set(p.file, [...(byFile.get(p.file) ?? []), p]);
  const out = ['<?xml version="1.0" encoding="UTF-8"?>', `<testsuites name="mesh-policy test" tests="${problems.length}" failures="0" errors="${problems.length}">`];
  for (const [file, list] of byFile) {
    out.push(`  <testsuite name="${xmlAttribute(rel(file))}" tests="${list.length}" failures="0" errors="${list.length}" skipped="0">`);
    for (const p of list) {
      const line = lineOf(p);
      out.push(`    <testcase name="${xmlAttribute(`${rel(file)}:${line}`)}" classname="${xmlAttribute(rel(file))}" file="${xmlAttribute(rel(file))}" line="${line}">`,
        `      <error message="${xmlAttribute(p.message)}" type="the test file cannot run">${xml(p.message)}</error>`, '    </testcase>');
    }
    out.push('  </testsuite>');
  }
  out.push('</testsuites>');
  return out.join('\n');
}

/**
 * An attribute value: a parser normalizes a literal tab, CR or LF there to a space (XML 1.0,
 * section 3.3.3), so they are written as character references to reach the reader as written.
 */
function xmlAttribute(text: string): string {
  return xml(text).replace(/\t/g, '&#9;').replace(/\n/g, '&#10;').replace(/\r/g, '&#13;');
}

function xml(text: string): string {
  // (characters XML 1.0 does not allow at all are dropped: a report must parse)
  return text.replace(/[^\t\n\r\u0020-\uD7FF\uE000-\uFFFD\u{10000}-\u{10FFFF}]/gu, '').replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
}

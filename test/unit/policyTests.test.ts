import assert from 'node:assert/strict';
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import Ajv from 'ajv';
import addFormats from 'ajv-formats';
import { parse as parseYaml } from 'yaml';
import { runTestCli } from '../../server/src/cli/test';
import { expectationEdits, readPolicyTests, runPolicyTests } from '../../server/src/engine/policyTests';
import { applyEdits } from '../../server/src/engine/fixAll';
import { policyTestCoverage } from '../../server/src/engine/policyTests/coverage';
import { addTestEdit, pinnedTest } from '../../server/src/engine/policyTests/add';
import { decideWrittenCall, parseWrittenCall } from '../../server/src/engine/traffic/writtenCall';
import { completeTestAt } from '../../server/src/engine/policyTests/complete';
import { LivePolicyTests, NO_POLICY_READ } from '../../server/src/engine/policyTests/live';
import { runCli } from '../../server/src/cli/main';
import { Engine } from '../../server/src/engine/engine';
import { Simulation } from '../../server/src/engine/simulate';
import { CART_READERS_FROM_WEB, SHOP_CART_MANIFESTS } from '../helpers/cartReaders';
import { REPO_ROOT } from '../helpers/paths';
import { workspaceOf } from './authz/workspace';

// Policy tests (docs/policy-tests.md). The verdicts expected here follow Istio's evaluation
// (/work/shared/spec/mesh-semantics.md §1.3: CUSTOM, then DENY, then ALLOW; with an ALLOW policy
// on the workload, a call no ALLOW rule matches is denied; with none, it is allowed).

const MANIFESTS = SHOP_CART_MANIFESTS;
const POLICY = CART_READERS_FROM_WEB;

const testFile = (tests: string) => `kind: MeshPolicyTest\ntests:\n${tests}`;

function run(tests: string) {
  const workspace = workspaceOf({ 'm.yaml': MANIFESTS, 'p.yaml': POLICY, 't.yaml': testFile(tests) });
  const file = workspace.sourceFile('/ws/t.yaml')!;
  const read = readPolicyTests(file)!;
  const position = (offset: number) => { const p = file.lines.position(offset); return `${p.line + 1}:${p.character + 1}`; };
  return {
    problems: read.problems.map((p) => `${position(p.span.start)} ${p.message}`),
    results: runPolicyTests(read.cases, new Simulation(workspace), workspace.config).map((r) => ({ name: r.test.name, failures: r.failures })),
  };
}

interface Case {
  name: string;
  tests: string;
  /** Per test: its failures, none when it passes. */
  failures: string[][];
}

const CASES: Case[] = [
  { name: 'a rule allows the call', tests: '- {call: "shop/web -> shop/cart:8080 GET /items", expect: allow}\n', failures: [[]] },
  { name: 'no ALLOW rule matches: denied', tests: '- {call: "shop/web -> shop/cart:8080 POST /items", expect: deny}\n', failures: [[]] },
  {
    name: 'a wrong verdict fails with the reason',
    tests: '- {call: "shop/other -> shop/cart:8080 GET /items", expect: allow}\n',
    failures: [['expected allow, got deny: denied: no ALLOW policy matches the call (ALLOW policy shop/cart-readers applies to the workload, so anything it does not allow is denied)']],
  },
  {
    name: 'the deciding policy, named three ways, and the rule',
    tests: [
      '- {call: "shop/web -> shop/cart:8080 GET /", expect: allow, policy: AuthorizationPolicy shop/cart-readers, rule: "rules[0]"}',
      '- {call: "shop/web -> shop/cart:8080 GET /", expect: allow, policy: shop/cart-readers}',
      '- {call: "shop/web -> shop/cart:8080 GET /", expect: allow, policy: cart-readers}',
      '- {call: "shop/web -> shop/cart:8080 GET /", expect: allow, policy: other, rule: "rules[1]"}',
      '',
    ].join('\n'),
    failures: [[], [], [], ['expected other to decide, but AuthorizationPolicy shop/cart-readers did', 'expected rule rules[1] to decide, but rules[0] did']],
  },
  {
    name: 'a call as an access record',
    tests: '- call: {source: {principal: cluster.local/ns/shop/sa/web}, destination: {namespace: shop, workload: cart, port: 8080}, protocol: http, request: {method: GET, path: /}}\n  expect: allow\n',
    failures: [[]],
  },
  {
    name: 'a call without a principal is plaintext (the access record\'s rule), and no principal matches it',
    tests: '- call: {destination: {namespace: shop, workload: cart, port: 8080}, protocol: http, request: {method: GET, path: /}}\n  expect: deny\n',
    failures: [[]],
  },
];

describe('policy tests: verdicts, policies and rules', () => {
  for (const c of CASES) {
    it(c.name, () => {
      const { problems, results } = run(c.tests);
      assert.deepEqual(problems, []);
      assert.deepEqual(results.map((r) => r.failures), c.failures);
    });
  }
});

describe('policy test files that cannot run', () => {
  const PROBLEMS: [string, string, string][] = [
    ['a call that cannot be read', '- {call: "shop/web => shop/cart", expect: allow}\n', '3:10 the call cannot be read: no "->" between the caller and the destination (the short form: [<mesh>:] <ns>/<caller> -> <ns>/<workload>[:<port>] [METHOD] [/path])'],
    ['a verdict that is none', '- {call: "shop/web -> shop/cart", expect: allowed}\n', '3:43 expect must be one of allow, deny, external, unknown'],
    ['no expect', '- {call: "shop/web -> shop/cart"}\n', '3:3 a test needs expect: allow, deny, external, unknown'],
    ['a misspelt key', '- {call: "shop/web -> shop/cart", expect: allow, polcy: x}\n', '3:50 unknown key "polcy" in a test: name, call, expect, policy, rule'],
    ['an access record with a wrong value', '- {call: {destination: {port: "x"}}, expect: allow}\n', '3:10 the call is not an access record (docs/access-records.md): destination.port must be an integer from 1 to 65535, not string "x"'],
  ];
  for (const [name, tests, problem] of PROBLEMS) {
    it(name, () => {
      const { problems, results } = run(tests);
      assert.deepEqual(problems, [problem]);
      assert.deepEqual(results, []);
    });
  }

  it('a test document that does not parse is not run', () => {
    const { problems, results } = run('- {call: istio: shop/web -> shop/cart, expect: allow}\n');
    assert.equal(problems.length > 0 && problems.every((p) => p.includes(' the test document does not parse: ')), true, problems.join('\n'));
    assert.deepEqual(results, []);
  });

  it('a test document nested past the reader\'s depth limit is a test file with that problem, not an ignored file', () => {
    const { problems, results } = run(`- {call: ${'['.repeat(100)}${']'.repeat(100)}, expect: allow}\n`);
    assert.equal(problems.length, 1);
    assert.match(problems[0] ?? '', / the test document does not parse: document is nested more than 64 levels deep/);
    assert.deepEqual(results, []);
  });

  it('a file without a MeshPolicyTest document is not a test file', () => {
    const workspace = workspaceOf({ 'x.yaml': 'tests: []\n' });
    assert.equal(readPolicyTests(workspace.sourceFile('/ws/x.yaml')!), undefined);
  });
});

describe('mesh-policy test', () => {
  const cli = (args: string[]) => {
    let stdout = '';
    let stderr = '';
    const code = runTestCli(args, { stdout: (t) => { stdout += `${t}\n`; }, stderr: (t) => { stderr += `${t}\n`; }, cwd: REPO_ROOT });
    return { code, stdout, stderr };
  };

  it('examples/istio: four pass, and the test of mistake 2 fails with why (exit 1)', () => {
    const { code, stdout } = cli(['examples/istio/tests', '--policies', 'examples/istio']);
    assert.equal(code, 1);
    assert.deepEqual(stdout.split('\n').filter((l) => /^(PASS|FAIL)/.test(l)), [
      'PASS  examples/istio/tests/shop-access.yaml:6  the frontend creates charges',
      'PASS  examples/istio/tests/shop-access.yaml:12  the frontend may not refund',
      'PASS  examples/istio/tests/shop-access.yaml:16  the back office refunds',
      'PASS  examples/istio/tests/shop-access.yaml:21  nobody reaches the frontend\'s internal pages',
      'FAIL  examples/istio/tests/shop-access.yaml:28  the frontend reads carts',
    ]);
    assert.match(stdout, /\n {8}expected cart-from-frontend to decide, but AuthorizationPolicy shop\/allow-nothing did\n {8}AuthorizationPolicy shop\/cart-from-frontend is not in effect: Istio refuses to store it .* \(examples\/istio\/security\/authorization-policies.yaml:39\)\n/);
    assert.match(stdout, /\n5 tests: 4 passed, 1 failed\n$/);
  });

  it('tests decided without any policy (their folder alone): said by test on stderr and by lint in each failure', () => {
    const { code, stderr } = cli(['examples/istio/tests', '--policies', 'examples/istio/tests']);
    assert.equal(code, 1);
    assert.match(stderr, /^mesh-policy: no Istio, Linkerd or Consul policy found in --policies examples\/istio\/tests: the tests are decided as the meshes decide without any$/m);
    let out = '';
    const linted = runCli(['lint', 'examples/istio/tests'], { stdout: (t) => { out += `${t}\n`; }, stderr: () => {}, cwd: REPO_ROOT });
    assert.equal(linted, 1);
    const failures = out.split('\n').filter((l) => l.includes('MPA0005'));
    assert.equal(failures.length, 5);
    for (const line of failures) assert.ok(line.endsWith(`(${NO_POLICY_READ})`), line);
    // with the policies, no such words
    out = '';
    runCli(['lint', 'examples/istio'], { stdout: (t) => { out += `${t}\n`; }, stderr: () => {}, cwd: REPO_ROOT });
    assert.ok(out.includes('MPA0005') && !out.includes(NO_POLICY_READ));
  });

  it('--coverage: what the tests of examples/istio reach, in text and JSON', () => {
    const { stdout } = cli(['examples/istio/tests', '--policies', 'examples/istio', '--coverage']);
    // cart-from-frontend is refused by istiod (not in effect); the gateway's and the CUSTOM policy no test calls
    assert.match(stdout, /\nCoverage: 3 of 5 \(60%\) policies and 3 of 7 \(43%\) rules decide at least one test\n {2}policies no test reaches:\n {4}AuthorizationPolicy shop\/frontend-fraud-check \(examples\/istio\/security\/authz-ext-authz\.yaml:8\)\n/);
    const json = JSON.parse(cli(['examples/istio/tests', '--policies', 'examples/istio', '--coverage', '--format', 'json']).stdout) as { coverage: { policies: { covered: number; total: number; uncovered: { file: string }[] } } };
    assert.deepEqual([json.coverage.policies.covered, json.coverage.policies.total, json.coverage.policies.uncovered[0]?.file], [3, 5, 'examples/istio/security/authz-ext-authz.yaml']);
  });

  it('JSON and JUnit', () => {
    const json = JSON.parse(cli(['examples/istio/tests', '--policies', 'examples/istio', '--format', 'json']).stdout) as { passed: number; failed: number; tests: { name: string; verdict: string; policy?: string; passed: boolean }[] };
    assert.equal(json.passed, 4);
    assert.equal(json.failed, 1);
    assert.deepEqual(json.tests[0], { ...json.tests[0], name: 'the frontend creates charges', verdict: 'allow', policy: 'AuthorizationPolicy shop/payments-callers', passed: true });
    const junit = cli(['examples/istio/tests', '--policies', 'examples/istio', '--format', 'junit']).stdout;
    assert.match(junit, /^<\?xml version="1.0" encoding="UTF-8"\?>\n<testsuites name="mesh-policy test" tests="5" failures="1" errors="0">/);
    assert.equal((junit.match(/<testcase /g) ?? []).length, 5);
    assert.match(junit, /<testcase name="nobody reaches the frontend&#39;s internal pages"|<testcase name="nobody reaches the frontend's internal pages"/);
    assert.match(junit, /<failure message="expected allow, got deny: [^"]*" type="expected allow">/);
  });

  it('JUnit: a test name keeps its markup characters, line breaks and tabs through an XML parser', () => {
    const dir = mkdtempSync(join(tmpdir(), 'mesh-policy-test-'));
    try {
      writeFileSync(join(dir, 't.yaml'), 'kind: MeshPolicyTest\ntests:\n  - name: "a <b> & \\"c\\"\\nd\\te\\x01"\n    call: "istio: shop/frontend -> shop/payments:9090 POST /v1/refunds"\n    expect: deny\n');
      const { code, stdout } = cli([join(dir, 't.yaml'), '--policies', 'examples/istio', '--format', 'junit']);
      assert.equal(code, 0);
      // XML 1.0: `<`, `&` and the delimiting quote escaped; a literal LF or tab in an attribute value
      // reads as a space (3.3.3), so as character references; U+0001 is no XML 1.0 character at all.
      assert.match(stdout, /<testcase name="a &lt;b&gt; &amp; &quot;c&quot;&#10;d&#9;e" classname=/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('JUnit for a test file that cannot run: its problems as errored test cases (exit 2), not an empty report', () => {
    const dir = mkdtempSync(join(tmpdir(), 'mesh-policy-test-'));
    try {
      writeFileSync(join(dir, 't.yaml'), 'kind: MeshPolicyTest\ntests:\n  - {call: "istio: shop/frontend -> shop/payments:9090 POST /v1/refunds", expect: maybe}\n');
      const { code, stdout } = cli([join(dir, 't.yaml'), '--policies', 'examples/istio', '--format', 'junit']);
      assert.equal(code, 2);
      assert.match(stdout, /^<\?xml version="1.0" encoding="UTF-8"\?>\n<testsuites name="mesh-policy test" tests="1" failures="0" errors="1">\n {2}<testsuite name="[^"]*t\.yaml" tests="1" failures="0" errors="1" skipped="0">\n {4}<testcase name="[^"]*t\.yaml:3" [^>]*line="3">\n {6}<error message="expect must be one of allow, deny, external, unknown" type="the test file cannot run">/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('--coverage with a format that cannot carry it, or with --update, is a usage error, not ignored', () => {
    for (const extra of [['--format', 'junit'], ['--update']]) {
      const { code, stdout, stderr } = cli(['examples/istio/tests', '--policies', 'examples/istio', '--coverage', ...extra]);
      assert.equal(code, 2, extra.join(' '));
      assert.equal(stdout, '');
      assert.match(stderr, /^mesh-policy: --coverage is /);
    }
  });

  it('a Consul rule named as the walkthrough ends it (sources[0] dashboard), on examples/consul', () => {
    const dir = mkdtempSync(join(tmpdir(), 'mesh-policy-test-'));
    try {
      writeFileSync(join(dir, 'consul.yaml'), 'kind: MeshPolicyTest\ntests:\n  - {call: "consul: default/dashboard -> default/api GET /", expect: allow, policy: counting-demo/api, rule: "sources[0] dashboard"}\n  - {call: "consul: default/dashboard -> default/api GET /", expect: allow, rule: "sources[1] web"}\n');
      const { code, stdout } = cli([join(dir, 'consul.yaml'), '--policies', 'examples/consul']);
      assert.equal(code, 1);
      assert.match(stdout, /PASS .*consul\.yaml:3 /);
      assert.match(stdout, /FAIL .*consul\.yaml:4 [^\n]*\n {8}expected rule sources\[1\] web to decide, but ServiceIntentions counting-demo\/api sources\[0\] dashboard did\n/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('exit 2 for a file that is not a test file, or a test that cannot run', () => {
    const dir = mkdtempSync(join(tmpdir(), 'mesh-policy-test-'));
    try {
      writeFileSync(join(dir, 'plain.yaml'), 'tests: []\n');
      writeFileSync(join(dir, 'bad.yaml'), 'kind: MeshPolicyTest\ntests:\n  - {call: "x", expect: allow}\n');
      const plain = cli([join(dir, 'plain.yaml'), '--policies', 'examples/istio']);
      assert.equal(plain.code, 2);
      assert.match(plain.stderr, /plain\.yaml: is not a policy test file: no document says kind: MeshPolicyTest/);
      const bad = cli([join(dir, 'bad.yaml'), '--policies', 'examples/istio']);
      assert.equal(bad.code, 2);
      assert.match(bad.stderr, /bad\.yaml:3:12: the call cannot be read: no "->"/);
      assert.equal(cli([]).code, 2);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('updating a failing test to what the policies decide now', () => {
  // cart-readers allows GET from shop/web (§1.3: other calls to cart are then denied, by no rule)
  const update = (tests: string) => {
    const workspace = workspaceOf({ 'm.yaml': MANIFESTS, 'p.yaml': POLICY, 't.yaml': testFile(tests) });
    const file = workspace.sourceFile('/ws/t.yaml')!;
    const [result] = runPolicyTests(readPolicyTests(file)!.cases, new Simulation(workspace), workspace.config);
    const found = expectationEdits(file, result!);
    return found && { title: found.title, text: applyEdits(file, found.edits).split('\n').slice(2).join('\n') };
  };
  const call = 'call: "shop/web -> shop/cart:8080 GET /items"';

  it('the verdict, in place', () => {
    assert.deepEqual(update(`  - ${call}\n    expect: deny  # was deny before the release\n`), { title: 'Update the test to what the policies decide now: expect allow', text: `  - ${call}\n    expect: allow  # was deny before the release\n` });
  });

  it('the policy in the form the test wrote it, and the rule', () => {
    for (const [written, now] of [['other', 'cart-readers'], ['shop/other', 'shop/cart-readers'], ['AuthorizationPolicy shop/other', 'AuthorizationPolicy shop/cart-readers']]) {
      assert.equal(update(`  - {${call}, expect: allow, policy: "${written}", rule: "rules[1]"}\n`)?.text, `  - {${call}, expect: allow, policy: "${now}", rule: "rules[0]"}\n`);
    }
  });

  it('nothing for a passing test, nor for one that names a policy where no rule or policy decided', () => {
    assert.equal(update(`  - {${call}, expect: allow}\n`), undefined);
    // POST is denied by the ALLOW policy's absence of a match: a policy decided, no rule did
    assert.equal(update('  - {call: "shop/web -> shop/cart:8080 POST /items", expect: allow, rule: "rules[0]"}\n'), undefined);
  });
});

describe('coverage: the policies and rules that decide at least one test', () => {
  // §1.3: a DENY match decides before ALLOW; an ALLOW rule that matches decides allow; with an
  // ALLOW policy on the workload, a call none matches is denied by the policy, by no rule.
  // Dry-run and AUDIT policies never decide; a policy istiod refuses (DENY without rules) is not in effect.
  const policy = (name: string, spec: string, annotations = '') => `apiVersion: security.istio.io/v1\nkind: AuthorizationPolicy\nmetadata: {name: ${name}, namespace: shop${annotations}}\nspec:\n  selector: {matchLabels: {app: cart}}\n${spec}`;
  const POLICIES = [
    policy('cart-access', '  rules:\n  - from: [{source: {principals: ["cluster.local/ns/shop/sa/web"]}}]\n    to: [{operation: {methods: [GET]}}]\n  - from: [{source: {principals: ["cluster.local/ns/shop/sa/admin"]}}]\n'),
    policy('no-delete', '  action: DENY\n  rules:\n  - to: [{operation: {methods: [DELETE]}}]\n'),
    policy('try-deny-all', '  action: DENY\n  rules:\n  - {}\n', ', annotations: {istio.io/dry-run: "true"}'),
    policy('audit-posts', '  action: AUDIT\n  rules:\n  - to: [{operation: {methods: [POST]}}]\n'),
    policy('refused', '  action: DENY\n'),
  ].join('---\n');
  const coverageOf = (tests: string) => {
    const workspace = workspaceOf({ 'm.yaml': MANIFESTS, 'p.yaml': POLICIES, 't.yaml': testFile(tests) });
    const simulation = new Simulation(workspace);
    const results = runPolicyTests(readPolicyTests(workspace.sourceFile('/ws/t.yaml')!)!.cases, simulation, workspace.config);
    const c = policyTestCoverage(results, workspace, simulation);
    return { policies: `${c.policies.covered}/${c.policies.total}`, rules: `${c.rules.covered}/${c.rules.total}`, uncovered: [...c.policies.uncovered, ...c.rules.uncovered].map((i) => `${i.label} :${i.line}`) };
  };

  it('counts only what can decide, and lists what no test reaches', () => {
    assert.deepEqual(coverageOf('  - {call: "shop/web -> shop/cart:8080 GET /", expect: allow}\n'), {
      policies: '1/2', rules: '1/3',
      uncovered: ['AuthorizationPolicy shop/no-delete :13', 'AuthorizationPolicy shop/cart-access rules[1] :9', 'AuthorizationPolicy shop/no-delete rules[0] :18'],
    });
  });

  it('a call denied by no rule covers the policy, not a rule; a DENY match covers both', () => {
    assert.deepEqual(coverageOf('  - {call: "shop/web -> shop/cart:8080 POST /", expect: deny}\n  - {call: "shop/admin -> shop/cart:8080 DELETE /", expect: deny}\n'), {
      policies: '2/2', rules: '1/3',
      uncovered: ['AuthorizationPolicy shop/cart-access rules[0] :7', 'AuthorizationPolicy shop/cart-access rules[1] :9'],
    });
  });
});

describe('pinning a call as a test (Add Policy Test for Call...)', () => {
  // cart-readers allows GET from shop/web by rules[0] (§1.3); the test expects what decides now
  const added = (existing: string | undefined, call = 'shop/web -> shop/cart:8080 GET /items') => {
    const workspace = workspaceOf({ 'm.yaml': MANIFESTS, 'p.yaml': POLICY, ...(existing !== undefined ? { 't.yaml': existing } : {}) });
    const written = parseWrittenCall(call);
    assert.ok(!('problem' in written));
    const decision = decideWrittenCall(new Simulation(workspace), written.call, workspace.config).decision;
    const file = existing !== undefined ? workspace.sourceFile('/ws/t.yaml') : undefined;
    const { edit, line } = addTestEdit(file, pinnedTest(call, decision));
    const text = file ? applyEdits(file, [edit]) : edit.newText;
    const after = workspaceOf({ 'm.yaml': MANIFESTS, 'p.yaml': POLICY, 't.yaml': text });
    const read = readPolicyTests(after.sourceFile('/ws/t.yaml')!)!;
    const results = runPolicyTests(read.cases, new Simulation(after), after.config);
    return { text, callLine: text.split(/\r?\n/)[line], problems: read.problems.length, passing: results.filter((r) => !r.failures.length).length, tests: results.length };
  };
  const PINNED = ['  - call: "shop/web -> shop/cart:8080 GET /items"', '    expect: allow', '    policy: shop/cart-readers', '    rule: "rules[0]"'].join('\n');

  it('a new file: one document with the test', () => {
    const result = added(undefined);
    assert.equal(result.text, `kind: MeshPolicyTest\ntests:\n${PINNED}\n`);
    assert.deepEqual([result.tests, result.passing, result.problems], [1, 1, 0]);
    assert.equal(result.callLine, '  - call: "shop/web -> shop/cart:8080 GET /items"');
  });

  it('after the last test of a block list, at its indent, comments and the rest kept', () => {
    const existing = '# access tests\nkind: MeshPolicyTest\ntests:\n    - name: old\n      call: "shop/web -> shop/cart:8080 PUT /x"  # writes\n      expect: deny\n# end\n';
    const result = added(existing);
    assert.equal(result.text, existing.replace('# end\n', `${PINNED.replace(/^ {2}/gm, '    ')}\n# end\n`));
    assert.deepEqual([result.tests, result.passing, result.problems], [2, 2, 0]);
    assert.equal(result.callLine, '    - call: "shop/web -> shop/cart:8080 GET /items"');
  });

  it('flow items, no newline at the end, CRLF', () => {
    const flow = added('kind: MeshPolicyTest\ntests:\n  - {call: "shop/web -> shop/cart:8080 PUT /x", expect: deny}');
    assert.equal(flow.text, `kind: MeshPolicyTest\ntests:\n  - {call: "shop/web -> shop/cart:8080 PUT /x", expect: deny}\n${PINNED}\n`);
    const crlf = added('kind: MeshPolicyTest\r\ntests:\r\n  - {call: "shop/web -> shop/cart:8080 PUT /x", expect: deny}\r\n');
    assert.equal(crlf.text, `kind: MeshPolicyTest\r\ntests:\r\n  - {call: "shop/web -> shop/cart:8080 PUT /x", expect: deny}\r\n${PINNED.replace(/\n/g, '\r\n')}\r\n`);
    assert.deepEqual([crlf.tests, crlf.passing], [2, 2]);
  });

  it('a flow list or a file of other documents gets a new document', () => {
    const flowList = added('kind: MeshPolicyTest\ntests: []\n');
    assert.equal(flowList.text, `kind: MeshPolicyTest\ntests: []\n---\nkind: MeshPolicyTest\ntests:\n${PINNED}\n`);
    assert.deepEqual([flowList.tests, flowList.passing, flowList.problems], [1, 1, 0]);
    assert.equal(flowList.callLine, '  - call: "shop/web -> shop/cart:8080 GET /items"');
  });

  it('a call denied by no rule names the policy only', () => {
    const denied = added(undefined, 'shop/web -> shop/cart:8080 POST /items');
    assert.match(denied.text, /expect: deny\n {4}policy: shop\/cart-readers\n$/);
  });
});

describe('mesh-policy test --update', () => {
  it('rewrites the failing test of examples/istio in a copy, comments kept; then every test passes', () => {
    const dir = mkdtempSync(join(tmpdir(), 'mesh-policy-update-'));
    try {
      cpSync(join(REPO_ROOT, 'examples', 'istio'), dir, { recursive: true });
      const io = () => { let out = ''; return { io: { stdout: (t: string) => { out += `${t}\n`; }, stderr: (t: string) => { out += `${t}\n`; }, cwd: dir }, out: () => out }; };
      const first = io();
      assert.equal(runTestCli(['tests', '--policies', '.', '--update'], first.io), 0);
      assert.match(first.out(), /^UPDATED {2}tests\/shop-access\.yaml:28 {2}the frontend reads carts\n {8}now: expect deny, policy allow-nothing$/m);
      assert.match(first.out(), /\n5 tests: 4 passed, 1 updated, 0 failed\n$/);
      const text = readFileSync(join(dir, 'tests', 'shop-access.yaml'), 'utf8');
      assert.match(text, /# the API server drops the field, and istiod refuses the policy that is left\.\n {2}- name: the frontend reads carts\n.*\n {4}expect: deny\n {4}policy: allow-nothing\n$/);
      const again = io();
      assert.equal(runTestCli(['tests', '--policies', '.'], again.io), 0);
      assert.equal(runTestCli(['tests', '--update', '--format', 'json'], io().io), 2);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('completion in a policy test file', () => {
  const complete = (text: string) => {
    const offset = text.indexOf('‸');
    const workspace = workspaceOf({ 'm.yaml': MANIFESTS, 'p.yaml': POLICY, 't.yaml': text.replace('‸', '') });
    return completeTestAt(workspace.sourceFile('/ws/t.yaml')!, offset, workspace)?.map((s) => `${s.kind} ${s.insertText}`);
  };

  it('the verdicts after expect:, replacing what is typed', () => {
    assert.deepEqual(complete('kind: MeshPolicyTest\ntests:\n  - call: "shop/web -> shop/cart"\n    expect: al‸\n'), ['value allow', 'value deny', 'value external', 'value unknown']);
  });

  it('the workspace\'s policies after policy:', () => {
    assert.deepEqual(complete('kind: MeshPolicyTest\ntests:\n  - call: "shop/web -> shop/cart"\n    policy: ‸\n'), ['value shop/cart-readers']);
  });

  it('the rules of the test\'s policy after rule:, whether policy: comes before or after it', () => {
    const twoRules = POLICY.replace('    to: [{operation: {methods: [GET]}}]\n', '    to: [{operation: {methods: [GET]}}]\n  - to: [{operation: {paths: ["/health"]}}]\n');
    const completeWith = (text: string) => {
      const offset = text.indexOf('‸');
      const workspace = workspaceOf({ 'm.yaml': MANIFESTS, 'p.yaml': twoRules, 't.yaml': text.replace('‸', '') });
      return completeTestAt(workspace.sourceFile('/ws/t.yaml')!, offset, workspace)?.map((s) => `${s.insertText} (${s.detail})`);
    };
    const rules = ['rules[0] (AuthorizationPolicy shop/cart-readers)', 'rules[1] (AuthorizationPolicy shop/cart-readers)'];
    assert.deepEqual(completeWith('kind: MeshPolicyTest\ntests:\n  - call: "shop/web -> shop/cart"\n    policy: shop/cart-readers\n    rule: ‸\n'), rules);
    assert.deepEqual(completeWith('kind: MeshPolicyTest\ntests:\n  - call: "shop/web -> shop/cart"\n    rule: r‸\n    policy: cart-readers\n  - call: "shop/a -> shop/b"\n'), rules);
    // the policy: of another test is not this test's
    assert.deepEqual(completeWith('kind: MeshPolicyTest\ntests:\n  - call: "shop/web -> shop/cart"\n    policy: cart-readers\n  - call: "shop/a -> shop/b"\n    rule: ‸\n'), []);
  });

  it('the keys of a test where a key starts, also while the YAML does not parse', () => {
    assert.deepEqual(complete('kind: MeshPolicyTest\ntests:\n  - call: "shop/web -> shop/cart\n    ex‸\n'), ['field name: ', 'field call: ', 'field expect: ', 'field policy: ', 'field rule: ']);
  });

  it('nothing in a file that is not a test file', () => {
    assert.equal(complete('tests:\n  - expect: ‸\n'), undefined);
  });
});

describe('policy tests in the editor, decided again by difference', () => {
  // LivePolicyTests keeps each call's decision while an edit cannot reach it (SimulationUpdate.affects)
  // and no policy its decision names moved: after every edit its findings must equal a fresh run's.
  const files = { 'm.yaml': MANIFESTS, 'p.yaml': POLICY, 'other.yaml': POLICY.replace('cart-readers', 'cart-writers').replace('[GET]', '[PUT]'), 't.yaml': testFile([
    '- {call: "shop/web -> shop/cart:8080 GET /items", expect: allow, policy: cart-readers, rule: "rules[0]"}',
    '- {call: "shop/web -> shop/cart:8080 PUT /items", expect: allow, policy: cart-writers}',
    '- {call: "shop/web -> shop/cart:8080 POST /items", expect: deny}',
    '',
  ].join('\n')) };
  const EDITS: [string, keyof typeof files, (text: string) => string][] = [
    ['a rule stops allowing GET', 'p.yaml', (t) => t.replace('[GET]', '[HEAD]')],
    ['it allows GET again', 'p.yaml', (t) => t],
    ['lines added above the policy: its places move', 'p.yaml', (t) => `# a comment\n# another\n${t}`],
    ['the other policy allows POST too', 'other.yaml', (t) => t.replace('[PUT]', '[PUT, POST]')],
    ['the test file changes an expectation', 't.yaml', (t) => t.replace('expect: deny', 'expect: allow')],
    ['the workload loses its label', 'm.yaml', (t) => t.replace('labels: {app: cart}', 'labels: {app: kart}')],
  ];
  it('equals a fresh run after each edit', () => {
    const workspace = workspaceOf(files);
    const live = new LivePolicyTests();
    const shown = (found: Map<string, { range: { start: { line: number } }; message: string; related?: { range: { start: { line: number } } }[] }[]>) =>
      [...found].map(([path, list]) => `${path}: ${list.map((f) => `${f.range.start.line + 1} ${f.message} @${(f.related ?? []).map((r) => r.range.start.line + 1).join(',')}`).join(' | ')}`);
    live.findings(workspace, {});
    const engine = new Engine();
    for (const [what, path, edit] of EDITS) {
      workspace.update(engine.prepare(engine.read(`/ws/${path}`, edit(files[path]))));
      assert.deepEqual(shown(live.findings(workspace, {})), shown(new LivePolicyTests().findings(workspace, {})), what);
    }
  });
});

describe('schemas/policy-test.schema.json agrees with the reader', () => {
  const ajv = new Ajv({ strict: true, allErrors: true, allowUnionTypes: true });
  addFormats(ajv);
  ajv.addSchema(JSON.parse(readFileSync(join(REPO_ROOT, 'schemas', 'access-record.schema.json'), 'utf8')) as object);
  const validate = ajv.compile(JSON.parse(readFileSync(join(REPO_ROOT, 'schemas', 'policy-test.schema.json'), 'utf8')) as object);
  const cases: [name: string, text: string, valid: boolean][] = [
    ['the example file', readFileSync(join(REPO_ROOT, 'examples', 'istio', 'tests', 'shop-access.yaml'), 'utf8'), true],
    ['a call as an access record', testFile('  - {call: {source: {principal: null}, destination: {namespace: shop, workload: cart, port: 8080}, protocol: tcp}, expect: deny}\n'), true],
    ['every key', testFile('  - {name: n, call: "shop/web -> shop/cart", expect: external, policy: p, rule: "rules[0]"}\n'), true],
    ['no expect', testFile('  - {call: "shop/web -> shop/cart"}\n'), false],
    ['a verdict that is none', testFile('  - {call: "shop/web -> shop/cart", expect: allowed}\n'), false],
    ['an unknown key in a test', testFile('  - {call: "shop/web -> shop/cart", expect: allow, verdict: allow}\n'), false],
    ['an unknown key in the document', 'kind: MeshPolicyTest\ntests: []\nmore: 1\n', false],
    ['an empty name', testFile('  - {name: "", call: "shop/web -> shop/cart", expect: allow}\n'), false],
    ['a record field of the wrong type', testFile('  - {call: {destination: {port: http}}, expect: allow}\n'), false],
    ['a misspelt record field', testFile('  - {call: {destinaton: {port: 80}}, expect: allow}\n'), false],
    ['tests not a list', 'kind: MeshPolicyTest\ntests: {a: 1}\n', false],
  ];
  for (const [name, text, valid] of cases) {
    it(`${name}: ${valid ? 'valid' : 'invalid'}, for the schema and for the reader`, () => {
      assert.equal(validate(parseYaml(text)), valid, JSON.stringify(validate.errors));
      const workspace = workspaceOf({ 't.yaml': text });
      const read = readPolicyTests(workspace.sourceFile('/ws/t.yaml')!)!;
      assert.equal(read.problems.length === 0, valid, JSON.stringify(read.problems.map((p) => p.message)));
    });
  }
});


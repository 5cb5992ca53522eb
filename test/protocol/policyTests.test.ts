import assert from 'node:assert/strict';
import { cpSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { after, before, describe, it } from 'node:test';
import type { CodeLens, CompletionItem, DocumentSymbol, Hover, MarkupContent } from 'vscode-languageserver-protocol';
import { LspTestClient, waitForLast } from '../helpers/lspClient';
import { REPO_ROOT } from '../helpers/paths';

/**
 * Policy tests in the editor over a real LSP connection, on a copy of examples/istio
 * (docs/policy-tests.md): its tests/shop-access.yaml expects the frontend to read carts, which
 * fails while cart-from-frontend misspells `principals` (the API server drops the field and istiod
 * refuses the policy left, examples/README.md mistake 2). Fixing the policy in the editor makes
 * the test pass, without saving; breaking the call makes the test unrunnable (MPA0006).
 */
describe('policy tests in the editor (LSP)', () => {
  let workspace: string;
  let client: LspTestClient;
  const uriOf = (path: string) => pathToFileURL(join(workspace, path)).href;

  before(async () => {
    workspace = mkdtempSync(join(tmpdir(), 'mesh-policy-tests-'));
    cpSync(join(REPO_ROOT, 'examples', 'istio'), workspace, { recursive: true });
    client = new LspTestClient();
    const statuses: { state: string }[] = [];
    client.connection.onNotification('meshPolicy/trafficStatus', (s: { state: string }) => { statuses.push(s); });
    client.connection.onRequest('workspace/codeLens/refresh', () => null);
    const uri = pathToFileURL(workspace).href;
    await client.initialize(uri, [{ uri, name: 'istio' }], { trusted: true });
    await waitForLast(statuses, (s) => s.state === 'ready' || s.state === 'empty', 60_000);
  });

  after(async () => {
    await client?.shutdown();
    rmSync(workspace, { recursive: true, force: true });
  });

  it('shows the failing test on its expect, with the policy that decided', async () => {
    const diagnostics = await client.diagnosticsFor(uriOf('tests/shop-access.yaml'), { ready: (d) => d.length > 0, timeoutMs: 30_000 });
    assert.deepEqual(diagnostics.map((d) => `${d.code} ${d.range.start.line + 1}:${d.range.start.character + 1}`), ['MPA0005 30:13']);
    assert.match(String(diagnostics[0]!.message), /^Policy test "the frontend reads carts" fails: expected allow, got deny: .*; expected cart-from-frontend to decide, but AuthorizationPolicy shop\/allow-nothing did/);
    assert.equal(diagnostics[0]!.severity, 1);
    assert.match(diagnostics[0]!.relatedInformation?.[0]?.message ?? '', /decided by AuthorizationPolicy shop\/allow-nothing/);
    // and, at the policy the test names, why it did not decide
    const why = diagnostics[0]!.relatedInformation?.[1];
    assert.match(why?.message ?? '', /^AuthorizationPolicy shop\/cart-from-frontend is not in effect: Istio refuses to store it/);
    assert.equal(why?.location.range.start.line, 38); // (0-based: the name, line 39)
  });

  it('answers the Test Explorer with the coverage of each policy file: every policy and rule, and how many tests it decides', async () => {
    const listed = await client.request<{ coverage: { uri: string; places: { kind: string; label: string; range: { start: { line: number } }; tests: number }[] }[] }>('meshPolicy/policyTests', {});
    const policies = listed.coverage.find((c) => c.uri === uriOf('security/authorization-policies.yaml'));
    const shown = policies?.places.map((p) => `${p.kind} ${p.label} :${p.range.start.line + 1} ${p.tests}`);
    // the five tests: payments-callers rules[0] (charges) and rules[1] (refunds), allow-nothing (the
    // refund the frontend may not make, and the carts), frontend-deny-internal rules[0]
    assert.ok(shown?.includes('rule AuthorizationPolicy shop/payments-callers rules[0] :69 1'), JSON.stringify(shown));
    assert.ok(shown?.includes('policy AuthorizationPolicy shop/allow-nothing :10 2'), JSON.stringify(shown));
    assert.ok(shown?.includes('rule AuthorizationPolicy shop/payments-callers rules[2] :85 0'), JSON.stringify(shown));
    assert.ok(!shown?.some((p) => p.includes('cart-from-frontend')), 'not in effect: not counted');
  });

  it('pins a call as a test (meshPolicy/addPolicyTest): the edit after the last test, a new file, a call that does not read', async () => {
    const uri = uriOf('tests/shop-access.yaml');
    const text = readFileSync(join(workspace, 'tests/shop-access.yaml'), 'utf8');
    const added = await client.request<{ uri: string; create: boolean; range: { start: { line: number; character: number } }; newText: string; line: number; expect: string }>('meshPolicy/addPolicyTest', { call: 'istio: shop/frontend -> shop/payments:9090 GET /v1/charges', uri });
    // payments-callers allows the frontend POST only (rules[0]): a GET matches no ALLOW rule, and the
    // walkthrough names the namespace's allow-nothing as what denied it, by no rule
    assert.deepEqual({ ...added, range: added.range.start }, {
      uri, create: false, range: { line: text.split('\n').length - 1, character: 0 }, line: text.split('\n').length - 1, expect: 'deny',
      newText: '  - call: "istio: shop/frontend -> shop/payments:9090 GET /v1/charges"\n    expect: deny\n    policy: shop/allow-nothing\n',
    });
    const fresh = uriOf('tests/new-tests.yaml');
    const created = await client.request<{ create: boolean; newText: string }>('meshPolicy/addPolicyTest', { call: 'istio: shop/frontend -> shop/payments:9090 POST /v1/charges', uri: fresh });
    assert.deepEqual(created, { ...created, create: true, newText: 'kind: MeshPolicyTest\ntests:\n  - call: "istio: shop/frontend -> shop/payments:9090 POST /v1/charges"\n    expect: allow\n    policy: shop/payments-callers\n    rule: "rules[0]"\n' });
    assert.deepEqual(await client.request('meshPolicy/addPolicyTest', { call: 'nothing', uri }), { problem: 'the call cannot be read: no "->" between the caller and the destination (the short form: [<mesh>:] <ns>/<caller> -> <ns>/<workload>[:<port>] [METHOD] [/path])' });
  });

  it('offers to update the failing test to what the policies decide now, never as the preferred fix', async () => {
    const uri = uriOf('tests/shop-access.yaml');
    await client.open(uri, readFileSync(join(workspace, 'tests/shop-access.yaml'), 'utf8'));
    const diagnostics = await client.diagnosticsFor(uri, { ready: (d) => d.length > 0, timeoutMs: 30_000 });
    const actions = await client.request<{ title: string; isPreferred?: boolean; edit?: { changes: Record<string, { range: { start: { line: number } }; newText: string }[]> } }[]>('textDocument/codeAction', {
      textDocument: { uri }, range: diagnostics[0]!.range, context: { diagnostics, only: ['quickfix'] },
    });
    const update = actions.find((a) => a.title.startsWith('Update the test'));
    assert.equal(update?.title, 'Update the test to what the policies decide now: expect deny, policy allow-nothing');
    assert.ok(!update?.isPreferred);
    // (the test names its policy by name alone, so the update does too)
    assert.deepEqual(update?.edit?.changes[uri]?.map((e) => `${e.range.start.line + 1} ${e.newText}`), ['30 deny', '31 allow-nothing']);
  });

  it('passes once the policy is fixed in the editor, and fails again when it is broken again', async () => {
    const policies = uriOf('security/authorization-policies.yaml');
    const text = readFileSync(join(workspace, 'security/authorization-policies.yaml'), 'utf8');
    await client.open(policies, text);
    await client.change(policies, text.replace('            principal:\n', '            principals:\n'), 2);
    await client.diagnosticsFor(uriOf('tests/shop-access.yaml'), { ready: (d) => d.length === 0, timeoutMs: 30_000 });
    await client.change(policies, text, 3);
    const again = await client.diagnosticsFor(uriOf('tests/shop-access.yaml'), { ready: (d) => d.length === 1, timeoutMs: 30_000 });
    assert.equal(again[0]!.code, 'MPA0005');
  });

  it('puts a lens above each test: passes or fails, and what decided; it runs the walkthrough of the call', async () => {
    const tests = uriOf('tests/shop-access.yaml');
    await client.open(tests, readFileSync(join(workspace, 'tests/shop-access.yaml'), 'utf8'));
    const lenses = await client.request<CodeLens[]>('textDocument/codeLens', { textDocument: { uri: tests } });
    assert.deepEqual(lenses.map((l) => `${l.range.start.line + 1} ${l.command?.title}`), [
      '6 ✓ passes: allow by shop/payments-callers rules[0]',
      '12 ✓ passes: deny by shop/allow-nothing',
      '16 ✓ passes: allow by shop/payments-callers rules[1]',
      '21 ✓ passes: deny by shop/frontend-deny-internal rules[0]',
      '28 ✗ fails: deny by shop/allow-nothing, expected allow',
    ]);
    assert.equal(lenses[0]!.command?.command, 'meshPolicy.explainWrittenCall');
    const call = lenses[0]!.command!.arguments![0] as string;
    assert.equal(call, 'istio: shop/frontend -> shop/payments:9090 POST /v1/charges');
    const walkthrough = await client.request<string>('meshPolicy/explain', { call });
    assert.match(walkthrough, /allowed by ALLOW policy shop\/payments-callers rules\[0\]/);
  });

  it('hovers a test with its outcome and walkthrough, completes expect:, and outlines the tests by name', async () => {
    const tests = uriOf('tests/shop-access.yaml');
    const hover = await client.request<Hover>('textDocument/hover', { textDocument: { uri: tests }, position: { line: 28, character: 6 } });
    const text = (hover.contents as MarkupContent).value;
    assert.match(text, /^\*\*✗ Policy test fails:\*\* the frontend reads carts\n\n- expected allow, got deny: /);
    assert.match(text, /- AuthorizationPolicy shop\/cart-from-frontend is not in effect: Istio refuses to store it/);
    assert.match(text, /security\/authorization-policies\.yaml/, 'places relative to the workspace folder');
    const passing = await client.request<Hover>('textDocument/hover', { textDocument: { uri: tests }, position: { line: 6, character: 6 } });
    assert.match((passing.contents as MarkupContent).value, /^\*\*✓ Policy test passes:\*\* the frontend creates charges \(expects allow\)/);
    const completions = await client.request<CompletionItem[]>('textDocument/completion', { textDocument: { uri: tests }, position: { line: 7, character: 14 } });
    assert.deepEqual(completions.map((c) => c.label), ['allow', 'deny', 'external', 'unknown']);
    const symbols = await client.request<DocumentSymbol[]>('textDocument/documentSymbol', { textDocument: { uri: tests } });
    assert.deepEqual(symbols.map((s) => `${s.name} (${s.detail})`), [
      'the frontend creates charges (expect allow)', 'the frontend may not refund (expect deny)', 'the back office refunds (expect allow)',
      'nobody reaches the frontend\'s internal pages (expect deny)', 'the frontend reads carts (expect allow)',
    ]);
  });

  it('names a test that cannot run, at its call', async () => {
    const tests = uriOf('tests/shop-access.yaml');
    const text = readFileSync(join(workspace, 'tests/shop-access.yaml'), 'utf8');
    await client.change(tests, text.replace('shop/frontend -> shop/payments:9090 POST /v1/charges', 'shop/frontend => shop/payments'), 2);
    const diagnostics = await client.diagnosticsFor(tests, { ready: (d) => d.some((x) => x.code === 'MPA0006'), timeoutMs: 30_000 });
    const problem = diagnostics.find((d) => d.code === 'MPA0006')!;
    assert.equal(problem.range.start.line + 1, 7);
    assert.match(String(problem.message), /the call cannot be read: no "->" between the caller and the destination/);
  });
});

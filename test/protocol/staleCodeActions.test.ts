import assert from 'node:assert/strict';
import { cpSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { after, before, describe, it } from 'node:test';
import type { CodeAction, Diagnostic, Range, TextEdit } from 'vscode-languageserver-protocol';
import { LspTestClient, waitForLast } from '../helpers/lspClient';
import { REPO_ROOT } from '../helpers/paths';

/**
 * Code actions asked for after an edit, before the diagnostics of the new text arrive: the editor
 * sends its diagnostics with the ranges it moved along with the edit (LSP 3.17 CodeActionContext:
 * "diagnostics ... the client currently shows"). A quick fix must edit the text as it is now
 * (docs/quick-fixes.md), never the places the diagnostic's fix named in the older text.
 */
describe('quick fixes asked for between an edit and its diagnostics (LSP)', () => {
  let client: LspTestClient;
  let workspace: string;
  let uri: string;
  let text: string;

  before(async () => {
    workspace = mkdtempSync(join(tmpdir(), 'mesh-policy-stale-actions-'));
    cpSync(join(REPO_ROOT, 'examples', 'istio'), workspace, { recursive: true });
    const path = join(workspace, 'security', 'authorization-policies.yaml');
    uri = pathToFileURL(path).href;
    text = readFileSync(path, 'utf8');
    client = new LspTestClient();
    client.connection.onRequest('workspace/codeLens/refresh', () => null);
    await client.initialize(pathToFileURL(workspace).href, [{ uri: pathToFileURL(workspace).href, name: 'istio' }]);
  });

  after(async () => {
    await client.shutdown();
    rmSync(workspace, { recursive: true, force: true });
  });

  it('edits the value where it is now, after a line was added above it', async () => {
    await client.open(uri, text, 'yaml', 1);
    const published = await client.diagnosticsFor(uri, { version: 1, ready: (d) => d.some((x) => x.code === 'MPA0104') });
    const action = published.find((x) => x.code === 'MPA0104')!;
    await client.connection.sendNotification('textDocument/didChange', { textDocument: { uri, version: 2 }, contentChanges: [{ range: { start: { line: 0, character: 0 }, end: { line: 0, character: 0 } }, text: '# reviewed\n' }] });
    const down = (r: Range): Range => ({ start: { line: r.start.line + 1, character: r.start.character }, end: { line: r.end.line + 1, character: r.end.character } });
    const shown: Diagnostic = { ...action, range: down(action.range) };
    const actions = await client.request<CodeAction[]>('textDocument/codeAction', { textDocument: { uri }, range: shown.range, context: { diagnostics: [shown] } });
    const fix = actions.find((a) => a.title === 'Change to "ALLOW"');
    assert.ok(fix, actions.map((a) => a.title).join(', '));
    assert.deepEqual(fix.edit!.changes![uri], [{ range: shown.range, newText: 'ALLOW' }]);
    const line = `# reviewed\n${text}`.split('\n')[shown.range.start.line]!;
    assert.equal(line.slice(shown.range.start.character, shown.range.end.character), 'allow');
  });

  it('offers no fix for a diagnostic that no longer stands in the text', async () => {
    const stale: Diagnostic = { range: { start: { line: 0, character: 0 }, end: { line: 0, character: 4 } }, severity: 1, code: 'MPA0104', source: 'mesh-policy', message: 'action must be one of ALLOW, DENY, AUDIT, CUSTOM (got "allow")', data: { fixes: [{ title: 'Change to "ALLOW"', edits: [{ range: { start: { line: 0, character: 0 }, end: { line: 0, character: 4 } }, newText: 'ALLOW' }], preferred: true }] } };
    const actions = await client.request<CodeAction[]>('textDocument/codeAction', { textDocument: { uri }, range: stale.range, context: { diagnostics: [stale], only: ['quickfix'] } });
    assert.deepEqual(actions.filter((a) => a.title === 'Change to "ALLOW"'), []);
  });
});

/**
 * A failing policy test's diagnostic (MPA0005) keeps its range when a line below it changes, and
 * its message until the tests run again: its fix ("Update the test ...") was built for the text the
 * tests last ran on, and must not be offered for the edited text, where its edits would land on
 * columns that hold other characters now.
 */
describe('a policy test\'s quick fix asked for after an edit that left the diagnostic where it was (LSP)', () => {
  let client: LspTestClient;
  let workspace: string;

  before(async () => {
    workspace = mkdtempSync(join(tmpdir(), 'mesh-policy-stale-test-actions-'));
    cpSync(join(REPO_ROOT, 'examples', 'istio'), workspace, { recursive: true });
    client = new LspTestClient();
    const statuses: { state: string }[] = [];
    client.connection.onNotification('meshPolicy/trafficStatus', (s: { state: string }) => { statuses.push(s); });
    client.connection.onRequest('workspace/codeLens/refresh', () => null);
    const root = pathToFileURL(workspace).href;
    await client.initialize(root, [{ uri: root, name: 'istio' }], { trusted: true });
    await waitForLast(statuses, (s) => s.state === 'ready' || s.state === 'empty', 60_000);
  });

  after(async () => {
    await client?.shutdown();
    rmSync(workspace, { recursive: true, force: true });
  });

  it('offers the update only for the text the tests ran on', async () => {
    const path = join(workspace, 'tests', 'shop-access.yaml');
    const uri = pathToFileURL(path).href;
    const text = readFileSync(path, 'utf8');
    await client.open(uri, text);
    const published = await client.diagnosticsFor(uri, { ready: (d) => d.some((x) => x.code === 'MPA0005'), timeoutMs: 30_000 });
    const failing = published.find((d) => d.code === 'MPA0005')!;
    const edited = text.replace('    policy: cart-from-frontend\n', '    policy: shop/cart-from-frontend\n');
    assert.notEqual(edited, text);
    const ask = (diagnostic: Diagnostic) => client.request<CodeAction[]>('textDocument/codeAction', { textDocument: { uri }, range: diagnostic.range, context: { diagnostics: [diagnostic], only: ['quickfix'] } });
    const update = (actions: CodeAction[]) => actions.find((a) => a.title.startsWith('Update the test'));
    // asked with the edit, before the tests run again on it
    const [, early] = await Promise.all([client.change(uri, edited, 2), ask(failing)]);
    assert.equal(update(early), undefined, JSON.stringify(update(early)?.edit));
    // once they have, the fix edits the text as it is
    let later: CodeAction | undefined;
    for (let tries = 0; tries < 100 && !later; tries++) {
      const republished = await client.diagnosticsFor(uri, { version: 2, ready: (d) => d.some((x) => x.code === 'MPA0005') });
      later = update(await ask(republished.find((d) => d.code === 'MPA0005')!));
      if (!later) await new Promise((done) => setTimeout(done, 100));
    }
    assert.ok(later, 'the update is offered again once the tests ran on the edited text');
    const lines = applyEdits(edited, later.edit!.changes![uri]!).split('\n');
    assert.match(lines[failing.range.start.line + 1]!, /^    policy: (shop\/)?allow-nothing$/);
  });
});

/** The text with the edits applied (LSP: ranges of the text before any of them). */
function applyEdits(text: string, edits: readonly TextEdit[]): string {
  const lines = text.split('\n');
  const offset = (p: { line: number; character: number }) => lines.slice(0, p.line).reduce((n, l) => n + l.length + 1, 0) + p.character;
  return [...edits].sort((a, b) => offset(b.range.start) - offset(a.range.start)).reduce((t, e) => t.slice(0, offset(e.range.start)) + e.newText + t.slice(offset(e.range.end)), text);
}

import assert from 'node:assert/strict';
import { cpSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { after, before, describe, it } from 'node:test';
import type { CodeAction, Diagnostic, Range } from 'vscode-languageserver-protocol';
import { LspTestClient } from '../helpers/lspClient';
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

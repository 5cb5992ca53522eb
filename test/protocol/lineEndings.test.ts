import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { after, before, describe, it } from 'node:test';
import type { CodeAction, CompletionItem, CompletionList, TextEdit } from 'vscode-languageserver-protocol';
import { LspTestClient } from '../helpers/lspClient';
import { inLineEndingsOf } from '../../server/src/lsp/convert';

/**
 * The text a quick fix or a completion inserts comes in the line endings of the document it goes
 * into: the LSP applies a TextEdit's newText as given (3.17, TextEdit), and a CRLF file should not
 * get LF lines among its own.
 */
const CRLF_POLICY = 'apiVersion: policy.linkerd.io/v1alpha1\r\nkind: AuthorizationPolicy\r\nmetadata:\r\n  name: web\r\n  namespace: emojivoto\r\nspec:\r\n  targetRef:\r\n    group: policy.linkerd.io\r\n    kind: Server\r\n    name: web-http\r\n';

/** Whether every line break of `text` is CRLF. */
const onlyCrlf = (text: string) => !/(^|[^\r])\n/.test(text);

describe('inserted text in the document\'s line endings', () => {
  const cases: Array<[string, string | undefined, string, string]> = [
    ['CRLF document: LF becomes CRLF', 'a: 1\r\nb: 2\r\n', 'x:\n  - y\n', 'x:\r\n  - y\r\n'],
    ['CRLF document: CRLF stays CRLF', 'a: 1\r\n', 'x:\r\n  y\n', 'x:\r\n  y\r\n'],
    ['LF document: unchanged', 'a: 1\nb: 2\n', 'x:\n  - y\n', 'x:\n  - y\n'],
    ['one-line document: unchanged', 'a: 1', 'x:\n', 'x:\n'],
    ['unknown document: unchanged', undefined, 'x:\n', 'x:\n'],
    ['no line break to insert', 'a: 1\r\n', 'ALLOW', 'ALLOW'],
  ];
  for (const [name, document, newText, expected] of cases) it(name, () => assert.equal(inLineEndingsOf(document, newText), expected));
});

describe('quick fixes and completions in a CRLF document (LSP)', () => {
  let client: LspTestClient;
  let workspace: string;

  before(async () => {
    workspace = mkdtempSync(join(tmpdir(), 'mesh-policy-crlf-'));
    client = new LspTestClient();
    client.connection.onRequest('workspace/codeLens/refresh', () => null);
    await client.initialize(pathToFileURL(workspace).href, [{ uri: pathToFileURL(workspace).href, name: 'crlf' }]);
  });

  after(async () => {
    await client.shutdown();
    rmSync(workspace, { recursive: true, force: true });
  });

  it('a quick fix that adds lines writes them with CRLF', async () => {
    const uri = pathToFileURL(join(workspace, 'ap.yaml')).href;
    await client.open(uri, CRLF_POLICY, 'yaml', 1);
    const diagnostics = await client.diagnosticsFor(uri, { version: 1, ready: (d) => d.some((x) => x.code === 'MPA0102') });
    const missing = diagnostics.find((x) => x.code === 'MPA0102')!;
    const actions = await client.request<CodeAction[]>('textDocument/codeAction', { textDocument: { uri }, range: missing.range, context: { diagnostics: [missing] } });
    const inserted = actions.flatMap((a) => Object.values(a.edit?.changes ?? {}).flat()).filter((e: TextEdit) => e.newText.includes('\n'));
    assert.ok(inserted.length > 0, `a fix that adds lines: ${actions.map((a) => a.title).join(', ')}`);
    for (const edit of inserted) assert.ok(onlyCrlf(edit.newText), JSON.stringify(edit.newText));
  });

  it('a completion that inserts lines (a new policy\'s template) writes them with CRLF', async () => {
    const uri = pathToFileURL(join(workspace, 'new.yaml')).href;
    await client.open(uri, '# policies of the shop\r\n\r\n', 'yaml', 1);
    const answer = await client.request<CompletionItem[] | CompletionList>('textDocument/completion', { textDocument: { uri }, position: { line: 1, character: 0 } });
    const items = Array.isArray(answer) ? answer : answer.items;
    const multiline = items.map((i) => (i.textEdit && 'newText' in i.textEdit ? i.textEdit.newText : i.insertText ?? '')).filter((t) => t.includes('\n'));
    assert.ok(multiline.length > 0, items.map((i) => i.label).join(', '));
    for (const text of multiline) assert.ok(onlyCrlf(text), JSON.stringify(text));
  });
});

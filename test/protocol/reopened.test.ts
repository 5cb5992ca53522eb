import assert from 'node:assert/strict';
import { cpSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { after, before, describe, it } from 'node:test';
import type { Diagnostic, SymbolInformation } from 'vscode-languageserver-protocol';
import { LspTestClient, waitForLast } from '../helpers/lspClient';
import { REPO_ROOT } from '../helpers/paths';

/**
 * A document closed and opened again at once with text that differs from the file on disk (VS Code
 * does this when the language mode of an edited, unsaved file changes). From didOpen on, the
 * document's content is the client's (LSP 3.17, textDocument/didOpen: "the server must not try to
 * read the document's content using the document's Uri"): the read from disk that the close
 * started must not take its place once it finishes.
 */
describe('a document reopened with unsaved text (LSP)', () => {
  let client: LspTestClient;
  let workspace: string;
  let policyPath: string;
  let policyUri: string;
  const statuses: { state: string; policies?: number }[] = [];
  const allowNothingAt = (d: Diagnostic[]) => d.find((x) => x.code === 'MPA4001' && /allow-no(thing|ne)/.test(String(x.message)))?.range.start.line;
  /** Resolves once no diagnostics were published for `quietMs`. */
  const settled = async (quietMs = 1500) => {
    for (let count = -1; count !== client.published.length;) {
      count = client.published.length;
      await new Promise((resolve) => setTimeout(resolve, quietMs));
    }
  };

  before(async () => {
    workspace = mkdtempSync(join(tmpdir(), 'mesh-policy-reopened-'));
    cpSync(join(REPO_ROOT, 'examples', 'istio'), workspace, { recursive: true });
    policyPath = join(workspace, 'security', 'authorization-policies.yaml');
    policyUri = pathToFileURL(policyPath).href;
    client = new LspTestClient();
    client.connection.onNotification('meshPolicy/trafficStatus', (s: { state: string; policies?: number }) => { statuses.push(s); });
    client.connection.onRequest('workspace/codeLens/refresh', () => null);
    await client.initialize(pathToFileURL(workspace).href, [{ uri: pathToFileURL(workspace).href, name: 'istio' }]);
    await waitForLast(statuses, (s) => s.state === 'ready' && (s.policies ?? 0) > 0, 60_000);
  });

  after(async () => {
    await client.shutdown();
    rmSync(workspace, { recursive: true, force: true });
  });

  it('keeps the reopened text in the workspace, not the file on disk read after the close', async () => {
    const text = readFileSync(policyPath, 'utf8');
    await client.open(policyUri, text, 'yaml', 1);
    assert.equal(allowNothingAt(await client.diagnosticsFor(policyUri, { version: 1, ready: (d) => allowNothingAt(d) !== undefined, timeoutMs: 30_000 })), 9);
    const edited = `# reviewed\n# twice\n${text.replace('name: allow-nothing', 'name: allow-none')}`;
    await client.change(policyUri, edited, 2);
    await client.diagnosticsFor(policyUri, { version: 2, ready: (d) => allowNothingAt(d) === 11, timeoutMs: 30_000 });
    await settled();
    await client.connection.sendNotification('textDocument/didClose', { textDocument: { uri: policyUri } });
    await client.open(policyUri, edited, 'yaml', 3);
    await client.diagnosticsFor(policyUri, { version: 3 });
    await settled();
    const last = client.published.filter((p) => p.uri === policyUri).at(-1)!;
    assert.equal(last.version, 3);
    // the denial of the policy as the editor has it: renamed, two lines down
    const denial = last.diagnostics.find((x) => x.code === 'MPA4001');
    assert.ok(denial, JSON.stringify(last.diagnostics.map((d) => d.message)));
    assert.match(String(denial.message), /allow-none/);
    assert.equal(denial.range.start.line, 11);
    const symbols = await client.request<SymbolInformation[]>('workspace/symbol', { query: 'allow-no' });
    assert.deepEqual(symbols.filter((s) => s.location.uri === policyUri).map((s) => [s.name, s.location.range.start.line]), [['AuthorizationPolicy shop/allow-none', 11]]);
  });

  it('publishes no traffic finding of the file on disk under the version of a document opened with other text', async () => {
    const path = join(workspace, 'security', 'authz-payments-refunds.yaml');
    const uri = pathToFileURL(path).href;
    const text = readFileSync(path, 'utf8');
    await settled();
    const onDisk = client.published.filter((p) => p.uri === uri).at(-1)?.diagnostics.filter((d) => String(d.code).startsWith('MPA4')) ?? [];
    assert.ok(onDisk.length > 0, 'the file on disk has traffic findings');
    const from = client.published.length;
    // an unsaved buffer restored by the editor: two lines more above everything
    await client.open(uri, `# draft\n# not saved\n${text}`, 'yaml', 1);
    await client.diagnosticsFor(uri, { version: 1 });
    await settled();
    const publishes = client.published.slice(from).filter((p) => p.uri === uri && p.version === 1);
    assert.ok(publishes.length > 0);
    const expected = onDisk.map((d) => `${d.code} ${d.range.start.line + 2}:${d.range.start.character}`).sort();
    for (const p of publishes) assert.deepEqual(p.diagnostics.filter((d) => String(d.code).startsWith('MPA4')).map((d) => `${d.code} ${d.range.start.line}:${d.range.start.character}`).sort(), expected);
  });
});

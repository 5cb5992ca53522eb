import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { after, before, describe, it } from 'node:test';
import { DiagnosticSeverity } from 'vscode-languageserver-protocol';
import { LspTestClient } from '../helpers/lspClient';

/**
 * In a multi-root window the VS Code client starts one server per folder (client/src/servers.ts),
 * each initialized with its folder alone. Each server reads its own folder's `.meshpolicy.yaml`,
 * asks for the settings of its folder (`workspace/configuration` with the folder as scopeUri), and
 * publishes nothing about the other folder's files.
 */
const POLICY = 'apiVersion: security.istio.io/v1\nkind: AuthorizationPolicy\nmetadata:\n  name: viewer\n  namespace: shop\nspec:\n  action: allow\n';

describe('one server per workspace folder (LSP)', () => {
  let root: string;
  const folders: Record<'a' | 'b', { path: string; uri: string; client: LspTestClient; scopes: (string | undefined)[] }> = {} as never;

  before(async () => {
    root = mkdtempSync(join(tmpdir(), 'mesh-policy-folders-'));
    for (const name of ['a', 'b'] as const) {
      const path = join(root, name);
      mkdirSync(path);
      writeFileSync(join(path, 'policy.yaml'), POLICY);
      folders[name] = { path, uri: pathToFileURL(path).href, client: new LspTestClient(), scopes: [] };
    }
    // Folder b's own configuration: the CLI's and its server's, not folder a's.
    writeFileSync(join(folders.b.path, '.meshpolicy.yaml'), 'rules: {MPA0104: info}\n');
    for (const name of ['a', 'b'] as const) {
      const folder = folders[name];
      // The settings VS Code gives for a scope: folder a sets MPA0104 to hint in its folder settings.
      folder.client.connection.onRequest('workspace/configuration', (params: { items: { scopeUri?: string; section?: string }[] }) => params.items.map((item) => {
        folder.scopes.push(item.scopeUri);
        return item.scopeUri === folders.a.uri ? { rules: { MPA0104: 'hint' } } : {};
      }));
      await folder.client.initialize(folder.uri, [{ uri: folder.uri, name }]);
    }
  });

  after(async () => {
    await Promise.all(Object.values(folders).map((f) => f.client.shutdown()));
    rmSync(root, { recursive: true, force: true });
  });

  it('each server applies its folder\'s settings and .meshpolicy.yaml', async () => {
    const severityIn = async (name: 'a' | 'b') => {
      const diagnostics = await folders[name].client.diagnosticsFor(pathToFileURL(join(folders[name].path, 'policy.yaml')).href, { ready: (d) => d.some((x) => x.code === 'MPA0104') });
      return diagnostics.find((d) => d.code === 'MPA0104')?.severity;
    };
    assert.equal(await severityIn('a'), DiagnosticSeverity.Hint, 'folder a: its folder setting');
    assert.equal(await severityIn('b'), DiagnosticSeverity.Information, 'folder b: its .meshpolicy.yaml');
    assert.deepEqual([...new Set(folders.a.scopes)], [folders.a.uri]);
    assert.deepEqual([...new Set(folders.b.scopes)], [folders.b.uri]);
  });

  it('publishes nothing about the other folder\'s files', async () => {
    for (const [own, other] of [['a', 'b'], ['b', 'a']] as const) {
      const published = folders[own].client.published.map((p) => p.uri);
      assert.ok(published.some((uri) => uri.startsWith(`${folders[own].uri}/`)), `${own} checked its own files`);
      assert.deepEqual(published.filter((uri) => uri.startsWith(`${folders[other].uri}/`)), [], `${own} published about ${other}`);
    }
  });
});

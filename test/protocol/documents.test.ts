import assert from 'node:assert/strict';
import { cpSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { after, before, describe, it } from 'node:test';
import type { Diagnostic } from 'vscode-languageserver-protocol';
import { LspTestClient, waitForLast } from '../helpers/lspClient';
import { REPO_ROOT } from '../helpers/paths';
import { scratchDir } from '../helpers/scratch';

/**
 * Which open documents join the workspace (checks across files, the simulation) on a copy of
 * examples/istio with its access logs: files under the folder that parse cleanly. Untitled
 * buffers, git: diff views and files elsewhere are linted alone; closing them leaves nothing.
 */
describe('documents that do not join the simulation (LSP)', () => {
  let client: LspTestClient;
  const statuses: { state: string; policies: number }[] = [];
  const workspace = scratchDir('mesh-policy-documents-');
  const elsewhere = scratchDir('mesh-policy-elsewhere-');
  const policyPath = join(workspace, 'security', 'authorization-policies.yaml');
  const policyUri = pathToFileURL(policyPath).href;
  let text: string;
  /** The policy file with every ALLOW policy admitted: in the workspace, allow-nothing would deny only a few hundred calls. */
  let allowed: string;

  const allowNothing = (diagnostics: Diagnostic[]) => diagnostics.find((d) => d.code === 'MPA4001' && String(d.message).includes('allow-nothing'))?.message;
  const lastPublished = (uri: string) => client.published.filter((p) => p.uri === uri).at(-1)?.diagnostics;
  /** Lets the server lint, simulate and publish what it was sent. */
  const settle = () => new Promise((resolve) => setTimeout(resolve, 800));

  before(async () => {
    cpSync(join(REPO_ROOT, 'examples', 'istio'), workspace, { recursive: true });
    text = readFileSync(policyPath, 'utf8');
    allowed = text.replaceAll('action: allow', 'action: ALLOW').replace(/\bprincipal:/g, 'principals:');
    client = new LspTestClient();
    client.connection.onNotification('meshPolicy/trafficStatus', (s: { state: string; policies: number }) => { statuses.push(s); });
    await client.initialize(pathToFileURL(workspace).href, [{ uri: pathToFileURL(workspace).href, name: 'istio' }]);
    await waitForLast(statuses, (s) => s.state === 'ready' && s.policies > 0);
    await client.open(policyUri, text);
    await client.diagnosticsFor(policyUri, { ready: (d) => allowNothing(d) !== undefined });
  });

  after(async () => {
    await client.shutdown();
  });

  /** In the workspace, allow-nothing denies the observed calls of the two ALLOW policies Istio refuses to store: 1,004 to
   * the frontend (`frontend-from-gateway`, lower-case action) and 501 to the cart (`cart-from-frontend`, whose only
   * source field is misspelt, so that its stored `source` is empty). */
  const deniesAsBefore = () => assert.match(String(allowNothing(lastPublished(policyUri)!)), /would deny 1,505 observed calls/);

  it('lints an untitled buffer alone: its own diagnostics, no traffic findings, no made-up file URI, nothing left after closing', async () => {
    const untitled = 'untitled:Untitled-1';
    await client.open(untitled, allowed.replace('action: ALLOW', 'action: allowed'));
    const own = await client.diagnosticsFor(untitled);
    assert.ok(own.some((d) => d.code === 'MPA0104'), JSON.stringify(own.map((d) => d.message)));
    assert.ok(!own.some((d) => String(d.code).startsWith('MPA4')), 'no traffic finding on a buffer outside the workspace');
    await settle();
    deniesAsBefore();
    assert.deepEqual(client.published.filter((p) => p.uri.includes('Untitled') && p.uri !== untitled).map((p) => p.uri), []);
    await client.connection.sendNotification('textDocument/didClose', { textDocument: { uri: untitled } });
    await settle();
    assert.deepEqual(lastPublished(untitled), []);
    deniesAsBefore();
  });

  it('publishes nothing for a git: diff view of a policy file, which does not change the simulation', async () => {
    const git = `git:${policyPath}?${encodeURIComponent(JSON.stringify({ path: policyPath, ref: 'HEAD' }))}`;
    const from = client.published.length;
    await client.open(git, allowed.replace('action: ALLOW', 'action: allowed'));
    await settle();
    assert.deepEqual(client.published.slice(from).map((p) => p.uri).filter((uri) => uri !== policyUri), []);
    deniesAsBefore();
    await client.connection.sendNotification('textDocument/didClose', { textDocument: { uri: git } });
    await settle();
    assert.deepEqual(client.published.slice(from).map((p) => p.uri).filter((uri) => uri !== policyUri), []);
    deniesAsBefore();
  });

  it('lints a file outside the workspace folders alone, and clears it when closed', async () => {
    const outsidePath = join(elsewhere, 'policies.yaml');
    writeFileSync(outsidePath, allowed);
    const outside = pathToFileURL(outsidePath).href;
    await client.open(outside, allowed.replace('action: ALLOW', 'action: allowed'));
    const own = await client.diagnosticsFor(outside);
    assert.ok(own.some((d) => d.code === 'MPA0104'));
    await settle();
    assert.ok(!lastPublished(outside)!.some((d) => String(d.code).startsWith('MPA4')));
    deniesAsBefore();
    await client.connection.sendNotification('textDocument/didClose', { textDocument: { uri: outside } });
    await settle();
    assert.deepEqual(lastPublished(outside), []);
    deniesAsBefore();
  });

  it('does not simulate a document with a syntax error, nor let it change other files\' findings', async () => {
    const halfPath = join(workspace, 'security', 'half.yaml');
    const half = pathToFileURL(halfPath).href;
    const halfText = [
      'apiVersion: security.istio.io/v1', 'kind: AuthorizationPolicy', 'metadata:', '  name: half', '  namespace: shop', 'spec:',
      '  action: ALLOW', '  rules:', '  - to:', '    - operation:', '        methods: ["GET", "POS', '',
    ].join('\n');
    await client.open(half, halfText);
    const own = await client.diagnosticsFor(half, { ready: (d) => d.some((x) => x.code === 'MPA0001') });
    await settle();
    assert.deepEqual(lastPublished(half)!.map((d) => d.code), own.map((d) => d.code).filter((code) => !String(code).startsWith('MPA4')));
    assert.ok(!lastPublished(half)!.some((d) => String(d.code).startsWith('MPA4')), JSON.stringify(lastPublished(half)!.map((d) => d.message)));
    deniesAsBefore();
    // Once it parses, it is simulated.
    await client.change(half, halfText.replace('"POS', '"POST"]'), 2);
    await client.diagnosticsFor(policyUri, { ready: (d) => !/would deny 1,505 /.test(String(allowNothing(d))) });
    await client.connection.sendNotification('textDocument/didClose', { textDocument: { uri: half } });
    await client.diagnosticsFor(policyUri, { ready: (d) => /would deny 1,505 /.test(String(allowNothing(d))) });
  });

  it('drops every file of a deleted folder: its diagnostics and its policies', async () => {
    const folder = join(workspace, 'security', 'extra');
    mkdirSync(folder);
    const extraPath = join(folder, 'get.yaml');
    const extra = pathToFileURL(extraPath).href;
    writeFileSync(extraPath, [
      'apiVersion: security.istio.io/v1', 'kind: AuthorizationPolicy', 'metadata:', '  name: extra', '  namespace: shop', 'spec:',
      '  action: ALLOW', '  rules:', '  - to:', '    - operation:', '        methods: ["GET"]', '',
    ].join('\n'));
    await client.connection.sendNotification('workspace/didChangeWatchedFiles', { changes: [{ uri: extra, type: 1 }] });
    await client.diagnosticsFor(extra, { ready: (d) => d.some((x) => x.code === 'MPA4002') });
    await client.diagnosticsFor(policyUri, { ready: (d) => !/would deny 1,505 /.test(String(allowNothing(d))) });
    rmSync(folder, { recursive: true });
    await client.connection.sendNotification('workspace/didChangeWatchedFiles', { changes: [{ uri: pathToFileURL(folder).href, type: 3 }] });
    await client.diagnosticsFor(extra, { ready: (d) => d.length === 0 });
    await client.diagnosticsFor(policyUri, { ready: (d) => /would deny 1,505 /.test(String(allowNothing(d))) });
  });
});

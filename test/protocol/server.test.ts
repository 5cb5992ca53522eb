import assert from 'node:assert/strict';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { after, before, describe, it } from 'node:test';
import type { CodeAction, CompletionItem, Hover, InitializeResult, MarkupContent } from 'vscode-languageserver-protocol';
import { LspTestClient } from '../helpers/lspClient';
import { applyEdits } from '../helpers/edits';
import { scratchDir } from '../helpers/scratch';

const POLICY = [
  'apiVersion: security.istio.io/v1',
  'kind: AuthorizationPolicy',
  'metadata:',
  '  name: payments',
  '  namespace: shop',
  'spec:',
  '  action: allow',
  '  rules:',
  '  - from:',
  '    - source:',
  '        principal: ["cluster.local/ns/shop/sa/frontend"]',
  '',
].join('\n');

describe('language server over stdio', () => {
  let client: LspTestClient;
  const workspace = scratchDir('mesh-policy-lsp-');
  const uri = pathToFileURL(join(workspace, 'policy.yaml')).href;

  before(async () => {
    // A policy on disk that is never opened: the workspace scan must still report it.
    writeFileSync(join(workspace, 'on-disk.yaml'), POLICY.replace('action: allow', 'action: deny'));
    writeFileSync(join(workspace, 'values.yaml'), 'image: {tag: latest\n');
    // A configuration in a subfolder, which the workspace (read from its root) does not use.
    mkdirSync(join(workspace, 'team-a'));
    writeFileSync(join(workspace, 'team-a', '.meshpolicy.yaml'), 'istio:\n  rootNamespace: team-a-root\n');
    client = new LspTestClient();
    const result = await client.initialize(pathToFileURL(workspace).href, [{ uri: pathToFileURL(workspace).href, name: 'ws' }]) as InitializeResult;
    assert.equal(result.serverInfo?.name, 'mesh-policy-server');
    assert.ok(result.capabilities.hoverProvider);
    await client.open(uri, POLICY);
  });

  after(async () => {
    await client.shutdown();
  });

  it('publishes diagnostics with exact ranges, codes and source', async () => {
    const diagnostics = await client.diagnosticsFor(uri, { version: 1 });
    const byCode = Object.fromEntries(diagnostics.map((d) => [d.code, d]));
    assert.equal(byCode['MPA0104']?.message, 'action must be one of ALLOW, DENY, AUDIT, CUSTOM (got "allow")');
    assert.deepEqual(byCode['MPA0104']?.range, { start: { line: 6, character: 10 }, end: { line: 6, character: 15 } });
    assert.equal(byCode['MPA0104']?.source, 'mesh-policy');
    assert.equal(byCode['MPA0104']?.severity, 1);
    assert.equal(byCode['MPA0101']?.message, 'unknown field "principal" in source; did you mean "principals"?');
    assert.deepEqual(byCode['MPA0101']?.range, { start: { line: 10, character: 8 }, end: { line: 10, character: 17 } });
  });

  it('links each diagnostic\'s code to its rule page, a file that is there to open', async () => {
    const diagnostics = await client.diagnosticsFor(uri, { version: 1 });
    assert.ok(diagnostics.length >= 2);
    for (const diagnostic of diagnostics) {
      const href = diagnostic.codeDescription?.href;
      assert.ok(href && href.startsWith('file://'), `${diagnostic.code}: ${href}`);
      const page = fileURLToPath(href);
      assert.ok(page.endsWith(join('docs', 'rules', `${diagnostic.code}.md`)), page);
      assert.ok(existsSync(page), page);
      assert.match(readFileSync(page, 'utf8'), new RegExp(`^# ${diagnostic.code}: `));
    }
  });

  it('underlines the problems of .meshpolicy.yaml as it is typed (MPA0004 at the key)', async () => {
    const configUri = pathToFileURL(join(workspace, '.meshpolicy.yaml')).href;
    await client.open(configUri, 'istio:\n  rootNamspace: mesh-root\n');
    const diagnostics = await client.diagnosticsFor(configUri, { version: 1 });
    assert.deepEqual(diagnostics.map((d) => [d.code, d.message, d.range.start.line, d.range.start.character, d.severity]), [['MPA0004', 'unknown key "istio.rootNamspace"', 1, 2, 2]]);
    await client.change(configUri, 'istio:\n  rootNamespace: mesh-root\n', 2);
    assert.deepEqual(await client.diagnosticsFor(configUri, { version: 2 }), []);
  });

  it('says that a .meshpolicy.yaml in a subfolder is not used, when it is opened', async () => {
    const teamConfig = pathToFileURL(join(workspace, 'team-a', '.meshpolicy.yaml')).href;
    await client.open(teamConfig, 'istio:\n  rootNamespace: team-a-root\n');
    const diagnostics = await client.diagnosticsFor(teamConfig, { version: 1 });
    assert.deepEqual(diagnostics.map((d) => [d.code, d.severity, d.range.start.line, String(d.message).split('.')[0]]), [['MPA0004', 2, 0, 'this configuration is not used: no configuration file is in use (the defaults apply)']]);
  });

  it('reports policy files in the workspace that are not open, and nothing for other YAML', async () => {
    const diagnostics = await client.diagnosticsFor(pathToFileURL(join(workspace, 'on-disk.yaml')).href);
    assert.ok(diagnostics.some((d) => typeof d.message === 'string' && d.message.endsWith('(got "deny")')));
    await client.open(pathToFileURL(join(workspace, 'values.yaml')).href, 'image: {tag: latest\n');
    assert.deepEqual(await client.diagnosticsFor(pathToFileURL(join(workspace, 'values.yaml')).href), []);
  });

  it('answers hovers from the schema', async () => {
    const hover = await client.request<Hover>('textDocument/hover', { textDocument: { uri }, position: { line: 6, character: 4 } });
    const value = (hover.contents as MarkupContent).value;
    assert.match(value, /\*\*action\*\*/);
    assert.match(value, /`ALLOW`, `DENY`, `AUDIT`, `CUSTOM`/);
    assert.deepEqual(hover.range, { start: { line: 6, character: 2 }, end: { line: 6, character: 8 } });
  });

  it('completes enum values and keys', async () => {
    const values = await client.request<CompletionItem[]>('textDocument/completion', { textDocument: { uri }, position: { line: 6, character: 12 } });
    assert.deepEqual(values.map((v) => v.label).sort(), ['ALLOW', 'AUDIT', 'CUSTOM', 'DENY']);
    const keysText = POLICY.replace('  action: allow\n', '  action: allow\n  \n');
    await client.change(uri, keysText, 2);
    await client.diagnosticsFor(uri, { version: 2 });
    const keys = await client.request<CompletionItem[]>('textDocument/completion', { textDocument: { uri }, position: { line: 7, character: 2 } });
    const labels = keys.map((k) => k.label);
    for (const expected of ['selector', 'targetRefs', 'provider']) assert.ok(labels.includes(expected), `missing ${expected} in ${labels.join(',')}`);
    assert.ok(!labels.includes('action') && !labels.includes('rules'), 'offers keys already present');
    await client.change(uri, POLICY, 3);
    await client.diagnosticsFor(uri, { version: 3 });
  });

  it('offers quick fixes that clear the diagnostic', async () => {
    const diagnostics = await client.diagnosticsFor(uri, { version: 3 });
    const actions = await client.request<CodeAction[]>('textDocument/codeAction', {
      textDocument: { uri }, range: diagnostics[0]!.range, context: { diagnostics },
    });
    const enumFix = actions.find((a) => a.title === 'Change to "ALLOW"');
    const renameFix = actions.find((a) => a.title === 'Rename "principal" to "principals"');
    assert.ok(enumFix?.isPreferred && renameFix, `got ${actions.map((a) => a.title).join(' | ')}`);
    const fixed = applyEdits(POLICY, [...enumFix.edit!.changes![uri]!, ...renameFix.edit!.changes![uri]!]);
    await client.change(uri, fixed, 4);
    assert.deepEqual(await client.diagnosticsFor(uri, { version: 4 }), []);
  });

  it('serves the access log configuration snippets for the client command', async () => {
    const snippets = await client.request<{ mesh: string; language: string; text: string }[]>('meshPolicy/accessLogConfiguration', null);
    assert.deepEqual([...new Set(snippets.map((s) => s.mesh))].sort(), ['consul', 'istio', 'linkerd']);
    assert.ok(snippets.find((s) => s.mesh === 'istio')?.text.includes('%DOWNSTREAM_PEER_URI_SAN%'));
    assert.ok(snippets.find((s) => s.mesh === 'istio')?.text.includes('%DYNAMIC_METADATA(envoy.filters.http.rbac:istio_dry_run_deny_shadow_engine_result)%'), 'the dry-run policies\' results');
  });

  it('while the user types fast, publishes the last version, labels each publish with the text it describes, and never goes back to an older version', async () => {
    const typingUri = pathToFileURL(join(workspace, 'typing.yaml')).href;
    // Many documents, so that linting takes a while and changes arrive while the server is busy.
    const others = Array.from({ length: 150 }, (_, i) => POLICY.replace('name: payments', `name: other-${i}`).replace('action: allow', 'action: ALLOW'));
    const text = (version: number) => [POLICY.replace('action: allow', `action: allow${version}`), ...others].join('---\n');
    const from = client.published.length;
    await client.open(typingUri, text(1));
    for (let version = 2; version <= 30; version++) await client.change(typingUri, text(version), version);
    const last = await client.diagnosticsFor(typingUri, { version: 30 });
    assert.ok(last.some((d) => String(d.message).endsWith('(got "allow30")')), JSON.stringify(last.map((d) => d.message)));
    await new Promise((resolve) => setTimeout(resolve, 500));
    const publishes = client.published.slice(from).filter((p) => p.uri === typingUri);
    assert.equal(publishes.at(-1)?.version, 30, 'nothing after the last version');
    for (const [i, p] of publishes.entries()) {
      if (i > 0) assert.ok(p.version! >= publishes[i - 1]!.version!, `version ${p.version} published after ${publishes[i - 1]!.version}`);
      const got = p.diagnostics.filter((d) => d.code === 'MPA0104').map((d) => String(d.message).match(/\(got "allow(\d+)"\)/)?.[1]);
      assert.deepEqual(got, [String(p.version)], `the publish of version ${p.version} describes its text`);
    }
    // Changes that arrived while the server was busy were not linted one by one.
    assert.ok(new Set(publishes.map((p) => p.version)).size < 30, `versions published: ${publishes.map((p) => p.version).join(' ')}`);
  });

  it('survives hostile input and keeps answering', async () => {
    const bombUri = pathToFileURL(join(workspace, 'bomb.yaml')).href;
    const lines = ['apiVersion: security.istio.io/v1', 'kind: AuthorizationPolicy', 'metadata: {name: b}', 'x0: &a0 [x, x, x, x, x, x, x, x, x, x]'];
    for (let i = 1; i < 14; i++) lines.push(`x${i}: &a${i} [${Array(10).fill(`*a${i - 1}`).join(', ')}]`);
    await client.open(bombUri, lines.join('\n'));
    const bomb = await client.diagnosticsFor(bombUri);
    assert.equal(bomb[0]?.code, 'MPA0002');
    const brokenUri = pathToFileURL(join(workspace, 'broken.yaml')).href;
    await client.open(brokenUri, `${POLICY}\n---\napiVersion: security.istio.io/v1\nkind: AuthorizationPolicy\nspec: {rules: [\n`);
    const broken = await client.diagnosticsFor(brokenUri);
    assert.ok(broken.some((d) => d.code === 'MPA0001'));
    assert.ok(broken.some((d) => d.code === 'MPA0104'), 'the healthy document lost its findings');
    const hover = await client.request<Hover | null>('textDocument/hover', { textDocument: { uri: brokenUri }, position: { line: 200, character: 0 } });
    assert.equal(hover, null);
    assert.equal(client.exited, false);
  });
});

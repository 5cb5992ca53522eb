import assert from 'node:assert/strict';
import { cpSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { after, before, describe, it } from 'node:test';
import { CompletionItemKind, InsertTextFormat, type CompletionItem, type Diagnostic, type TextEdit } from 'vscode-languageserver-protocol';
import { snippetDefaults } from '../../server/src/engine/newPolicy/snippet';
import { LspTestClient, waitForLast } from '../helpers/lspClient';
import { REPO_ROOT } from '../helpers/paths';
import { scratchDir } from '../helpers/scratch';

/** A new file in a copy of examples/istio: the templates of a new policy, over the real server. */
describe('a new policy from a template (LSP)', () => {
  let client: LspTestClient;
  const statuses: { state: string }[] = [];
  const workspace = scratchDir('mesh-policy-new-');

  before(async () => {
    cpSync(join(REPO_ROOT, 'examples', 'istio'), workspace, { recursive: true });
    client = new LspTestClient();
    client.connection.onNotification('meshPolicy/trafficStatus', (s: { state: string }) => { statuses.push(s); });
    await client.initialize(pathToFileURL(workspace).href, [{ uri: pathToFileURL(workspace).href, name: 'istio' }], undefined, { completion: { completionItem: { snippetSupport: true } } });
    await waitForLast(statuses, (s) => s.state === 'ready');
  });
  after(async () => {
    await client.shutdown();
  });

  const complete = (uri: string, line: number, character: number) => client.request<CompletionItem[]>('textDocument/completion', { textDocument: { uri }, position: { line, character } });

  it('offers the templates in an empty file, as snippets with the workspace\'s workloads to choose from; the one picked lints clean', async () => {
    const uri = pathToFileURL(join(workspace, 'security', 'new-policy.yaml')).href;
    await client.open(uri, '');
    const items = await complete(uri, 0, 0);
    const labels = items.map((i) => i.label);
    assert.ok(labels.includes('Istio AuthorizationPolicy: allow one caller to a workload'), labels.join('\n'));
    assert.ok(labels.some((l) => l.startsWith('Linkerd ')) && labels.some((l) => l.startsWith('Consul ')));
    const allow = items.find((i) => i.label === 'Istio AuthorizationPolicy: allow one caller to a workload')!;
    assert.equal(allow.kind, CompletionItemKind.Snippet);
    assert.equal(allow.insertTextFormat, InsertTextFormat.Snippet);
    assert.match(String((allow.documentation as { value: string }).value), /ALLOW policy/);
    const snippet = (allow.textEdit as TextEdit).newText;
    assert.match(snippet, /name: \$\{2\|cart,frontend,payments\|\}-allow/);
    // What the editor inserts when the user tabs through: the example's busiest workload, and no problem.
    const text = snippetDefaults(snippet);
    await client.change(uri, text, 2);
    const diagnostics = await client.diagnosticsFor(uri, { version: 2 });
    assert.deepEqual(diagnostics.filter((d: Diagnostic) => d.severity === 1 || d.severity === 2).map((d) => d.message), []);
    assert.match(text, /app: cart\n/);
  });

  it('meshPolicy/policyTemplates: every template, as a snippet filled in from the workspace', async () => {
    const templates = await client.request<{ id: string; mesh: string; language: string; label: string; snippet: string }[]>('meshPolicy/policyTemplates', {});
    assert.deepEqual(templates.map((t) => `${t.mesh} ${t.language}`).filter((v, i, all) => all.indexOf(v) === i), ['istio yaml', 'linkerd yaml', 'consul yaml', 'consul hcl']);
    const strict = templates.find((t) => t.id === 'istio-strict-mtls')!;
    // shop has its PeerAuthentication already; the root namespace is offered for the whole mesh.
    assert.match(strict.snippet, /namespace: \$\{1\|shop,istio-system\|\}/);
  });

  it('completes apiVersion and kind in a document being started', async () => {
    const uri = pathToFileURL(join(workspace, 'security', 'started.yaml')).href;
    await client.open(uri, 'kind: PeerAuthentication\napiVersion: \n');
    const versions = await complete(uri, 1, 12);
    assert.deepEqual(versions.map((i) => i.label), ['security.istio.io/v1', 'security.istio.io/v1beta1']);
    assert.equal(versions[0]!.insertTextFormat, InsertTextFormat.PlainText);
    await client.change(uri, 'apiVersion: policy.linkerd.io/v1alpha1\nkind: Mesh\n', 2);
    const kinds = await complete(uri, 1, 10);
    assert.deepEqual((kinds[0]!.textEdit as TextEdit).range, { start: { line: 1, character: 6 }, end: { line: 1, character: 10 } });
    assert.ok(kinds.some((i) => i.label === 'MeshTLSAuthentication'));
  });
});

describe('a new policy from a template, for a client without snippets (LSP)', () => {
  it('sends a template as the plain text of its defaults', async () => {
    const workspace = scratchDir('mesh-policy-new-plain-');
    const client = new LspTestClient();
    try {
      await client.initialize(pathToFileURL(workspace).href, [{ uri: pathToFileURL(workspace).href, name: 'plain' }]);
      const uri = pathToFileURL(join(workspace, 'policy.yaml')).href;
      await client.open(uri, '');
      const items = await client.request<CompletionItem[]>('textDocument/completion', { textDocument: { uri }, position: { line: 0, character: 0 } });
      const nothing = items.find((i) => i.label === 'Istio AuthorizationPolicy: deny every call in a namespace (allow nothing)')!;
      assert.equal(nothing.insertTextFormat, InsertTextFormat.PlainText);
      assert.equal((nothing.textEdit as TextEdit).newText, 'apiVersion: security.istio.io/v1\nkind: AuthorizationPolicy\nmetadata:\n  name: allow-nothing\n  namespace: default\nspec: {}\n');
    } finally {
      await client.shutdown();
    }
  });
});

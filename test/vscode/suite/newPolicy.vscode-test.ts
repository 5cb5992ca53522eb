// Runs inside the VS Code extension host with examples/istio copied to shop/ (see ../runTest.ts):
// a new policy from a template (docs/new-policy.md). VS Code itself parses our snippet, with its
// choices from the workspace, and inserts it; the server then finds nothing wrong with it.
// (an untitled document: it is outside the workspace, so the other suites' figures stay as they are)
import assert from 'node:assert/strict';
import * as vscode from 'vscode';
import { until } from './workspace';

suite('Mesh Policy Auditor: a new policy from a template in VS Code', () => {
  test('an empty YAML document offers the templates; the one picked is inserted with the workspace\'s names and lints clean', async () => {
    const document = await vscode.workspace.openTextDocument({ language: 'yaml', content: '' });
    const editor = await vscode.window.showTextDocument(document);
    try {
      const label = 'Istio AuthorizationPolicy: allow one caller to a workload';
      // (the choices come once the server's first scan has read the manifests)
      const item = await until('the template with the example\'s workloads', async () => {
        const list = await vscode.commands.executeCommand<vscode.CompletionList>('vscode.executeCompletionItemProvider', document.uri, new vscode.Position(0, 0));
        const found = list.items.find((i) => (typeof i.label === 'string' ? i.label : i.label.label) === label);
        return found && found.insertText instanceof vscode.SnippetString && found.insertText.value.includes('|cart,frontend,payments|') ? found : undefined;
      });
      assert.equal(item.kind, vscode.CompletionItemKind.Snippet);
      assert.ok(await editor.insertSnippet(item.insertText as vscode.SnippetString, new vscode.Position(0, 0)));
      const text = document.getText();
      assert.match(text, /^apiVersion: security\.istio\.io\/v1\nkind: AuthorizationPolicy\nmetadata:\n  name: cart-allow\n  namespace: shop\n/);
      assert.match(text, /app: cart\n/);
      // (the caller: a workload other than the one called, docs/new-policy.md)
      assert.match(text, /- cluster\.local\/ns\/shop\/sa\/frontend\n/);
      assert.match(text, /methods: \["GET"\]\n\s+paths: \["\/api\/\*"\]\n/);
      // The server has linted the inserted policy: its outline lists it, and no error or warning of ours is on it.
      await until('the policy in the outline', async () => {
        const symbols = await vscode.commands.executeCommand<vscode.DocumentSymbol[]>('vscode.executeDocumentSymbolProvider', document.uri);
        return symbols?.some((s) => s.name.includes('cart-allow')) ? true : undefined;
      });
      const ours = vscode.languages.getDiagnostics(document.uri).filter((d) => d.source === 'mesh-policy' && d.severity <= vscode.DiagnosticSeverity.Warning);
      assert.deepEqual(ours.map((d) => d.message), []);
      // (and the document's diagnostics do reach VS Code: a mistake in it is reported)
      const action = document.getText().indexOf('action: ALLOW') + 'action: '.length;
      await editor.edit((edit) => edit.replace(new vscode.Range(document.positionAt(action), document.positionAt(action + 5)), 'allow'));
      await until('the error on the lower-case action', () => vscode.languages.getDiagnostics(document.uri).find((d) => d.source === 'mesh-policy' && String(typeof d.code === 'object' ? d.code.value : d.code) === 'MPA0104'));
    } finally {
      await vscode.commands.executeCommand('workbench.action.revertAndCloseActiveEditor');
    }
  });

  test('New Policy from Template... opens the template picked in a new document, ready to Tab through', async () => {
    assert.ok((await vscode.commands.getCommands(true)).includes('meshPolicy.newPolicy'));
    await vscode.commands.executeCommand('meshPolicy.newPolicy', 'linkerd-allow-identities');
    const editor = await until('the new document', () => {
      const active = vscode.window.activeTextEditor;
      return active?.document.isUntitled && active.document.getText().includes('kind: MeshTLSAuthentication') ? active : undefined;
    });
    try {
      assert.equal(editor.document.languageId, 'yaml');
      assert.match(editor.document.getText(), /^apiVersion: policy\.linkerd\.io\/v1alpha1\nkind: AuthorizationPolicy\n/);
      // The example workspace is Istio's: no Linkerd Server to pick, the placeholder names one.
      assert.match(editor.document.getText(), /kind: Server\n {4}name: cart-http\n/);
    } finally {
      await vscode.commands.executeCommand('workbench.action.revertAndCloseActiveEditor');
    }
  });
});

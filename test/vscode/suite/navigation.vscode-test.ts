// Runs inside the VS Code extension host with examples/istio copied to shop/ (see ../runTest.ts):
// go to definition, find references and the outline, through VS Code's own provider commands
// (docs/navigation.md).
import assert from 'node:assert/strict';
import * as vscode from 'vscode';
import { until, workspaceRoot } from './workspace';

/** `folder/file:line` (1-based) of a location or link, relative to shop/. */
function where(found: vscode.Location | vscode.LocationLink): string {
  const uri = 'targetUri' in found ? found.targetUri : found.uri;
  const range = 'targetUri' in found ? found.targetSelectionRange ?? found.targetRange : found.range;
  return `${uri.path.slice(uri.path.indexOf('/shop/') + 6)}:${range.start.line + 1}`;
}

suite('Mesh Policy Auditor: navigation in VS Code', () => {
  const policies = () => vscode.Uri.joinPath(workspaceRoot(), 'shop', 'security', 'authorization-policies.yaml');

  test('a principal leads to its ServiceAccount, a selector to the workloads it picks', async () => {
    const document = await vscode.workspace.openTextDocument(policies());
    await vscode.window.showTextDocument(document);
    const principal = document.positionAt(document.getText().indexOf('principals: ["cluster.local/ns/shop/sa/frontend"]') + 30);
    // (answers once the server's first scan has read the manifests)
    const definitions = await until('the principal\'s definition', async () => {
      const found = await vscode.commands.executeCommand<(vscode.Location | vscode.LocationLink)[]>('vscode.executeDefinitionProvider', document.uri, principal);
      return found?.length ? found : undefined;
    });
    assert.deepEqual(definitions.map(where), ['app/frontend.yaml:6']);
    const selector = document.positionAt(document.getText().indexOf('app: payments') + 6);
    const workloads = await vscode.commands.executeCommand<(vscode.Location | vscode.LocationLink)[]>('vscode.executeDefinitionProvider', document.uri, selector);
    assert.deepEqual(workloads.map(where).map((w) => w.split(':')[0]), ['app/payments.yaml']);
  });

  test('the ServiceAccount\'s references are the principals that name it', async () => {
    const manifest = await vscode.workspace.openTextDocument(vscode.Uri.joinPath(workspaceRoot(), 'shop', 'app', 'frontend.yaml'));
    const name = manifest.positionAt(manifest.getText().indexOf('name: frontend') + 7);
    const references = await vscode.commands.executeCommand<vscode.Location[]>('vscode.executeReferenceProvider', manifest.uri, name);
    // (VS Code's command asks with the declaration.) The misspelt `principal:` of cart-from-frontend
    // is dropped by the API server: it names no one.
    assert.deepEqual(references.map(where), ['app/frontend.yaml:6', 'security/authorization-policies.yaml:71']);
  });

  test('the outline lists the policies with their rules', async () => {
    const symbols = await vscode.commands.executeCommand<vscode.DocumentSymbol[]>('vscode.executeDocumentSymbolProvider', policies());
    const ours = symbols.filter((s) => s.name.startsWith('AuthorizationPolicy '));
    assert.ok(ours.some((s) => s.name === 'AuthorizationPolicy shop/payments-callers' && s.children.some((c) => c.name === 'rules[0]')), JSON.stringify(symbols.map((s) => s.name)));
  });

  test('F2 on a policy\'s name renames it; on a principal it renames the ServiceAccount everywhere', async () => {
    const document = await vscode.workspace.openTextDocument(policies());
    const name = document.positionAt(document.getText().indexOf('name: payments-callers') + 8);
    const edit = await vscode.commands.executeCommand<vscode.WorkspaceEdit>('vscode.executeDocumentRenameProvider', document.uri, name, 'payments-clients');
    const entries = edit.entries().flatMap(([uri, edits]) => edits.map((e) => `${where(new vscode.Location(uri, e.range))} ${e.newText}`));
    assert.deepEqual(entries, ['security/authorization-policies.yaml:61 payments-clients']);
    const principal = document.positionAt(document.getText().indexOf('principals: ["cluster.local/ns/shop/sa/frontend"]') + 30);
    const account = await vscode.commands.executeCommand<vscode.WorkspaceEdit>('vscode.executeDocumentRenameProvider', document.uri, principal, 'web');
    const renamed = account.entries().flatMap(([uri, edits]) => edits.map((e) => `${where(new vscode.Location(uri, e.range))} ${e.newText}`)).sort();
    // its manifest, the Deployment that runs as it, the principal, and the policy tests' calls it makes
    assert.deepEqual(renamed, [
      'app/frontend.yaml:28 web', 'app/frontend.yaml:6 web', 'security/authorization-policies.yaml:71 "cluster.local/ns/shop/sa/web"',
      'tests/shop-access.yaml:13 "istio: shop/web -> shop/payments:9090 POST /v1/refunds"', 'tests/shop-access.yaml:29 "istio: shop/web -> shop/cart:7070 GET /v1/carts/42"', 'tests/shop-access.yaml:7 "istio: shop/web -> shop/payments:9090 POST /v1/charges"',
    ]);
  });
});

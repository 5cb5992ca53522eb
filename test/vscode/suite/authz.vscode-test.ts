// Runs inside the VS Code extension host with examples/istio copied to shop/ (see ../runTest.ts):
// the policies that apply to a workload (docs/authz.md) reach the user as a code lens on its
// manifest, whose command opens the listing as a read-only markdown view.
import assert from 'node:assert/strict';
import * as vscode from 'vscode';
import { until, workspaceRoot } from './workspace';

suite('Mesh Policy Auditor: policies that apply to a workload in VS Code', () => {
  test('the command is registered', async () => {
    assert.ok((await vscode.commands.getCommands(true)).includes('meshPolicy.showPoliciesForWorkload'));
  });

  test('a workload manifest has a lens whose command opens the listing', async () => {
    const uri = vscode.Uri.joinPath(workspaceRoot(), 'shop', 'app', 'payments.yaml');
    // (an earlier view may have replaced the manifest's editor and VS Code closed it: open and show it on every try)
    // shop/payments: the namespace-wide allow-nothing and the payments-callers selector (docs/authz.md, Istio).
    const expected = 'Istio: 2 policies apply (ALLOW allow-nothing, ALLOW payments-callers)';
    let titles: string[] = [];
    // (the lens comes once the server's first scan has read the policies)
    const lens = await until('the workload lens', async () => {
      await vscode.window.showTextDocument(await vscode.workspace.openTextDocument(uri));
      const lenses = await vscode.commands.executeCommand<vscode.CodeLens[]>('vscode.executeCodeLensProvider', uri);
      titles = lenses.map((l) => l.command?.title ?? '');
      return lenses.find((l) => l.command?.command === 'meshPolicy.showPoliciesForWorkload' && l.command.title === expected);
    }).catch(() => assert.fail(`no lens "${expected}" among ${JSON.stringify(titles)}`));
    assert.equal(lens.command!.title, expected);
    assert.deepEqual(lens.command!.arguments, ['shop/payments']);
    await vscode.commands.executeCommand(lens.command!.command, ...(lens.command!.arguments ?? []));
    const view = await until('the listing view', async () => vscode.workspace.textDocuments.find((d) => d.uri.scheme === 'mesh-policy' && d.getText().startsWith('# Policies that apply to shop/payments')));
    assert.equal(view.languageId, 'markdown');
    assert.match(view.getText(), /AuthorizationPolicy shop\/payments-callers \| selector app=payments/);
  });

  test('a workload manifest has an access lens: per port, who may call it', async () => {
    const uri = vscode.Uri.joinPath(workspaceRoot(), 'shop', 'app', 'payments.yaml');
    // docs/access-map.md: 9090 admits the frontend for some requests only; 9102 every caller
    const expected = 'Access (Istio, 4 callers): :9090 1 depending · 3 denied; :9102 4 allowed';
    const lens = await until('the access lens', async () => {
      await vscode.window.showTextDocument(await vscode.workspace.openTextDocument(uri));
      const lenses = await vscode.commands.executeCommand<vscode.CodeLens[]>('vscode.executeCodeLensProvider', uri);
      return lenses.find((l) => l.command?.command === 'meshPolicy.showAccessMap');
    });
    assert.equal(lens.command!.title, expected);
    assert.deepEqual(lens.command!.arguments, [{ to: 'shop/payments' }]);
  });

  test('Show Access Map opens the map of the workspace: who may call whom by the policies alone (docs/access-map.md)', async () => {
    assert.ok((await vscode.commands.getCommands(true)).includes('meshPolicy.showAccessMap'));
    await vscode.commands.executeCommand('meshPolicy.showAccessMap', { to: 'shop/payments' });
    const view = await until('the access map view', async () => vscode.workspace.textDocuments.find((d) => d.uri.scheme === 'mesh-policy' && d.getText().startsWith('# Access map')));
    assert.equal(view.languageId, 'markdown');
    // examples/istio: payments-callers admits the frontend on 9090 for POST /v1/charges only (Istio: rules with paths and methods)
    // (with the example's logs loaded, each caller also says its calls)
    assert.match(view.getText(), /`shop\/payments:9090 [^|]*\| — \| `shop\/frontend`( \([\d,]+ calls\))? — depends on request\.method, request\.path/);
  });
});

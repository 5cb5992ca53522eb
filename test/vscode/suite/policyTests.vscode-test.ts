// Runs inside the VS Code extension host with examples/istio copied to shop/ (see ../runTest.ts):
// policy tests (docs/policy-tests.md) reach the user as diagnostics on the test file, open or not.
import assert from 'node:assert/strict';
import * as vscode from 'vscode';
import { until, workspaceRoot } from './workspace';

suite('Mesh Policy Auditor: policy tests in VS Code', () => {
  test('the test that mistake 2 breaks is an error on its expect, the others pass', async () => {
    const uri = vscode.Uri.joinPath(workspaceRoot(), 'shop', 'tests', 'shop-access.yaml');
    const failing = await until('the MPA0005 diagnostic', () => {
      const found = vscode.languages.getDiagnostics(uri).filter((d) => String(typeof d.code === 'object' ? d.code.value : d.code) === 'MPA0005');
      return found.length ? found : undefined;
    });
    assert.equal(failing.length, 1);
    assert.equal(failing[0]!.range.start.line + 1, 30);
    assert.equal(failing[0]!.severity, vscode.DiagnosticSeverity.Error);
    assert.match(failing[0]!.message, /^Policy test "the frontend reads carts" fails: expected allow, got deny/);
  });

  test('a lens above each test says whether it passes; clicking it opens the walkthrough of its call', async () => {
    const uri = vscode.Uri.joinPath(workspaceRoot(), 'shop', 'tests', 'shop-access.yaml');
    await vscode.window.showTextDocument(await vscode.workspace.openTextDocument(uri));
    let titles: string[] = [];
    const lenses = await until('the test lenses', async () => {
      const found = await vscode.commands.executeCommand<vscode.CodeLens[]>('vscode.executeCodeLensProvider', uri);
      titles = found.map((l) => l.command?.title ?? '');
      return found.length === 5 ? found : undefined;
    }).catch(() => assert.fail(`lenses: ${JSON.stringify(titles)}`));
    assert.equal(lenses[0]!.command!.title, '✓ passes: allow by shop/payments-callers rules[0]');
    assert.equal(lenses[4]!.command!.title, '✗ fails: deny by shop/allow-nothing, expected allow');
    await vscode.commands.executeCommand(lenses[0]!.command!.command, ...(lenses[0]!.command!.arguments ?? []));
    const view = await until('the walkthrough', async () => vscode.workspace.textDocuments.find((d) => d.languageId === 'markdown' && /payments-callers rules\[0\]/.test(d.getText())));
    assert.match(view.getText(), /allowed by ALLOW policy shop\/payments-callers rules\[0\]/);
  });

  test('Generate Policy Tests from Traffic opens the observed calls as a test file', async () => {
    await vscode.commands.executeCommand('meshPolicy.generatePolicyTests', { expect: 'policies' });
    const generated = await until('the generated tests', async () => vscode.workspace.textDocuments.find((d) => d.isUntitled && /^kind: MeshPolicyTest$/m.test(d.getText())));
    assert.equal(generated.languageId, 'yaml');
    assert.match(generated.getText(), /- call: "shop\/frontend -> shop\/payments:9090 POST \/v1\/charges"\n {4}expect: allow\n/);
  });

  test('Export Access Inventory (CSV) writes one row per distinct access', async () => {
    const target = vscode.Uri.joinPath(workspaceRoot(), 'access-inventory.csv');
    await vscode.commands.executeCommand('meshPolicy.exportAccessCsv', target);
    const text = Buffer.from(await vscode.workspace.fs.readFile(target)).toString('utf8');
    assert.match(text, /^mesh,caller,caller_principal,caller_address,destination,port,/);
    assert.match(text, /\r\nistio,shop\/frontend,cluster\.local\/ns\/shop\/sa\/frontend,[^,]*,shop\/payments,9090,http,POST,\/v1\/charges,/);
  });

  test('Add Policy Test for Call pins the call, as decided now, after the file\'s last test', async () => {
    const uri = vscode.Uri.joinPath(workspaceRoot(), 'shop', 'tests', 'shop-access.yaml');
    await vscode.commands.executeCommand('meshPolicy.addPolicyTest', { call: 'istio: shop/frontend -> shop/payments:9090 POST /v1/charges', uri: uri.toString() });
    const document = await vscode.workspace.openTextDocument(uri);
    assert.match(document.getText(), /\n {2}- call: "istio: shop\/frontend -> shop\/payments:9090 POST \/v1\/charges"\n {4}expect: allow\n {4}policy: shop\/payments-callers\n {4}rule: "rules\[0\]"\n$/);
    // (left unsaved: the other tests read the file as on disk)
    await vscode.commands.executeCommand('workbench.action.files.revert');
  });
});

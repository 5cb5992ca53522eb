// Runs inside the VS Code extension host (see ../runTest.ts): the extension activates on a policy
// file, publishes the diagnostic, and answers hover and code-action requests through the vscode API.
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import * as vscode from 'vscode';
import { workspaceRoot } from './workspace';

const EXTENSION_ID = 'mesh-policy.mesh-policy-auditor';
const SOURCE = 'mesh-policy';


function ours(uri: vscode.Uri): vscode.Diagnostic[] {
  return vscode.languages.getDiagnostics(uri).filter((d) => d.source === SOURCE);
}

/** Resolves once `predicate` holds for the diagnostics of `uri` (checked on every change). */
function waitForDiagnostics(uri: vscode.Uri, predicate: (d: vscode.Diagnostic[]) => boolean, timeoutMs = 60_000): Promise<vscode.Diagnostic[]> {
  return new Promise((resolve, reject) => {
    const check = () => {
      const current = ours(uri);
      if (!predicate(current)) return false;
      cleanup();
      resolve(current);
      return true;
    };
    const sub = vscode.languages.onDidChangeDiagnostics((e) => {
      if (e.uris.some((u) => u.toString() === uri.toString())) check();
    });
    const timer = setTimeout(() => {
      cleanup();
      reject(new Error(`timed out after ${timeoutMs} ms waiting for diagnostics on ${uri.fsPath}; have: ${JSON.stringify(ours(uri).map((d) => d.message))}`));
    }, timeoutMs);
    const cleanup = () => { sub.dispose(); clearTimeout(timer); };
    check();
  });
}

function codeOf(d: vscode.Diagnostic): string {
  return typeof d.code === 'object' ? String(d.code.value) : String(d.code);
}

function hoverText(hovers: vscode.Hover[]): string {
  return hovers.flatMap((h) => h.contents).map((c) => (typeof c === 'string' ? c : c.value)).join('\n');
}

suite('Mesh Policy Auditor in VS Code', () => {
  let uri: vscode.Uri;
  let doc: vscode.TextDocument;
  let diagnostic: vscode.Diagnostic;

  suiteSetup(async () => {
    uri = vscode.Uri.joinPath(workspaceRoot(), 'security', 'authz-frontend.yaml');
    doc = await vscode.workspace.openTextDocument(uri);
    await vscode.window.showTextDocument(doc);
    const found = await waitForDiagnostics(uri, (d) => d.some((x) => codeOf(x) === 'MPA0104'));
    diagnostic = found.find((x) => codeOf(x) === 'MPA0104')!;
  });

  test('the extension is active and registers its commands', async () => {
    const ext = vscode.extensions.getExtension(EXTENSION_ID);
    assert.ok(ext, `${EXTENSION_ID} is loaded`);
    assert.equal(ext.isActive, true);
    const commands = await vscode.commands.getCommands(true);
    assert.ok(commands.includes('meshPolicy.restartServer'), 'meshPolicy.restartServer');
    assert.ok(commands.includes('meshPolicy.showOutput'), 'meshPolicy.showOutput');
    assert.ok(commands.includes('meshPolicy.insertAccessLogConfiguration'), 'meshPolicy.insertAccessLogConfiguration');
  });

  test('the lower-case action is an error from mesh-policy', () => {
    assert.equal(path.basename(doc.fileName), 'authz-frontend.yaml');
    assert.equal(diagnostic.severity, vscode.DiagnosticSeverity.Error);
    assert.equal(diagnostic.message, 'action must be one of ALLOW, DENY, AUDIT, CUSTOM (got "allow")');
    assert.equal(doc.getText(diagnostic.range), 'allow');
    assert.equal(doc.lineAt(diagnostic.range.start.line).text.trim(), 'action: allow');
  });

  test('hover shows the schema documentation of the field', async () => {
    const hovers = await vscode.commands.executeCommand<vscode.Hover[]>('vscode.executeHoverProvider', uri, diagnostic.range.start.translate(0, 1));
    const text = hoverText(hovers);
    assert.match(text, /\*\*action\*\*/, text);
    assert.match(text, /What a match means: ALLOW lets the request through/, text);
    assert.match(text, /`ALLOW`, `DENY`, `AUDIT`, `CUSTOM`/, text);
  });

  test('the quick fix changes the action to ALLOW and clears the error', async () => {
    const actions = await vscode.commands.executeCommand<(vscode.CodeAction | vscode.Command)[]>(
      'vscode.executeCodeActionProvider', uri, diagnostic.range, vscode.CodeActionKind.QuickFix.value);
    const titles = actions.map((a) => a.title);
    const fix = actions.find((a): a is vscode.CodeAction => a.title === 'Change to "ALLOW"' && 'edit' in a);
    assert.ok(fix, `quick fix 'Change to "ALLOW"' among ${JSON.stringify(titles)}`);
    assert.ok(fix.kind && vscode.CodeActionKind.QuickFix.contains(fix.kind), 'it is a quick fix');
    assert.equal(fix.isPreferred, true);
    assert.ok(fix.edit, 'it carries a workspace edit');
    assert.equal(await vscode.workspace.applyEdit(fix.edit), true);
    assert.equal(doc.lineAt(diagnostic.range.start.line).text.trim(), 'action: ALLOW');
    await waitForDiagnostics(uri, (d) => !d.some((x) => codeOf(x) === 'MPA0104'));
  });

  test('meshPolicy.restartServer restarts the server, which answers again', async () => {
    await vscode.commands.executeCommand('meshPolicy.restartServer');
    const edit = new vscode.WorkspaceEdit();
    const line = doc.lineAt(diagnostic.range.start.line);
    const start = line.text.indexOf('ALLOW');
    edit.replace(uri, new vscode.Range(line.lineNumber, start, line.lineNumber, start + 'ALLOW'.length), 'allow');
    assert.equal(await vscode.workspace.applyEdit(edit), true);
    await waitForDiagnostics(uri, (d) => d.some((x) => codeOf(x) === 'MPA0104'));
    await vscode.commands.executeCommand('workbench.action.files.revert');
  });

  test('an .hcl file opens as the language hcl and gets the diagnostics of mesh-policy', async () => {
    // Outside the workspace (linted alone): the traffic tests count the workspace's policies.
    const folder = fs.mkdtempSync(path.join(os.tmpdir(), 'mesh-policy-hcl-'));
    const file = path.join(folder, 'intentions.hcl');
    fs.writeFileSync(file, 'Kind = "service-intentions"\nName = "api"\nSources = [\n  {\n    Name   = "web"\n    Action = "permit"\n  },\n]\n');
    const hclUri = vscode.Uri.file(file);
    const hcl = await vscode.workspace.openTextDocument(hclUri);
    await vscode.window.showTextDocument(hcl);
    assert.equal(hcl.languageId, 'hcl');
    assert.ok((await vscode.languages.getLanguages()).includes('hcl'));
    const found = await waitForDiagnostics(hclUri, (d) => d.some((x) => codeOf(x) === 'MPA0104'));
    const action = found.find((x) => codeOf(x) === 'MPA0104')!;
    // Consul's intention actions are allow and deny, in lower case.
    assert.equal(action.message, 'Action must be one of allow, deny (got "permit")');
    assert.equal(action.range.start.line, 5);
    assert.match(hcl.getText(action.range), /permit/);
    await vscode.commands.executeCommand('workbench.action.closeActiveEditor');
  });
});

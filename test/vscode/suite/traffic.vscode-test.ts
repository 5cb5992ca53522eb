// Runs inside the VS Code extension host with examples/istio copied to shop/ (see ../runTest.ts):
// the simulation over its access logs reaches the user as code lenses, hovers, code actions and
// commands, through the vscode API.
import assert from 'node:assert/strict';
import * as vscode from 'vscode';
import { until, workspaceRoot } from './workspace';


suite('Mesh Policy Auditor: observed traffic in VS Code', () => {
  let uri: vscode.Uri;
  let doc: vscode.TextDocument;
  let namePosition: vscode.Position;

  suiteSetup(async () => {
    uri = vscode.Uri.joinPath(workspaceRoot(), 'shop', 'security', 'authorization-policies.yaml');
    doc = await vscode.workspace.openTextDocument(uri);
    await vscode.window.showTextDocument(doc);
    const line = doc.getText().split('\n').findIndex((l) => l.includes('name: allow-nothing'));
    namePosition = new vscode.Position(line, doc.lineAt(line).text.indexOf('allow-nothing') + 2);
  });

  test('the traffic commands are registered', async () => {
    const commands = await vscode.commands.getCommands(true);
    for (const id of ['meshPolicy.explainCall', 'meshPolicy.showTrafficForPolicy', 'meshPolicy.reloadTraffic', 'meshPolicy.showReport', 'meshPolicy.showTrafficMap']) assert.ok(commands.includes(id), id);
  });

  test('code lenses count the observed calls each policy decides', async () => {
    const lenses = await until('code lenses with counts', async () => {
      const found = await vscode.commands.executeCommand<vscode.CodeLens[]>('vscode.executeCodeLensProvider', uri);
      return found.some((l) => l.command?.title.includes('1,653 denied')) ? found : undefined;
    });
    const titles = lenses.map((l) => l.command?.title ?? '');
    assert.ok(titles.includes('0 allowed · 1,653 denied · 1,505 changed'), JSON.stringify(titles));
    assert.ok(titles.includes('778 allowed · 0 denied · 0 changed'), JSON.stringify(titles));
  });

  test('the would-deny diagnostic links to log lines', async () => {
    const diagnostic = await until('MPA4001', async () => vscode.languages.getDiagnostics(uri).find((d) => String(typeof d.code === 'object' ? d.code.value : d.code) === 'MPA4001' && d.message.includes('allow-nothing')));
    assert.ok(diagnostic.relatedInformation?.length, 'related information');
    assert.match(diagnostic.relatedInformation![0]!.location.uri.path, /\/shop\/traffic\//);
  });

  test('a hover over a policy shows the calls it decides', async () => {
    const hovers = await vscode.commands.executeCommand<vscode.Hover[]>('vscode.executeHoverProvider', uri, namePosition);
    const text = hovers.flatMap((h) => h.contents).map((c) => (typeof c === 'string' ? c : c.value)).join('\n');
    assert.match(text, /\*\*Observed traffic\*\* · AuthorizationPolicy shop\/allow-nothing/);
    assert.match(text, /0 allowed · 1,653 denied · 1,505 changed/);
  });

  test('code actions from the traffic are offered at the policy', async () => {
    const actions = await vscode.commands.executeCommand<(vscode.CodeAction | vscode.Command)[]>('vscode.executeCodeActionProvider', uri, new vscode.Range(namePosition, namePosition));
    const titles = actions.map((a) => a.title);
    assert.ok(titles.some((t) => /dry-run/i.test(t)), JSON.stringify(titles));
  });

  test('Show Traffic for Policy opens the calls as a read-only markdown view, rendered, titled by the policy', async () => {
    await vscode.window.showTextDocument(doc);
    vscode.window.activeTextEditor!.selection = new vscode.Selection(namePosition, namePosition);
    await vscode.commands.executeCommand('meshPolicy.showTrafficForPolicy');
    const view = await until('the calls view', async () => vscode.workspace.textDocuments.find((d) => d.uri.scheme === 'mesh-policy' && d.getText().startsWith('# Observed calls decided by AuthorizationPolicy shop/allow-nothing')));
    assert.equal(view.languageId, 'markdown');
    // A table-heavy listing: the markdown preview (a webview tab), not the markdown source in a text editor.
    const tabs = () => vscode.window.tabGroups.all.flatMap((group) => group.tabs);
    const preview = await until('the rendered calls view', async () => tabs().find((tab) => tab.input instanceof vscode.TabInputWebview && tab.label.includes('calls-AuthorizationPolicy-shop-allow-nothing')));
    assert.match((preview.input as vscode.TabInputWebview).viewType, /markdown\.preview/);
    assert.ok(!tabs().some((tab) => tab.input instanceof vscode.TabInputText && tab.input.uri.scheme === 'mesh-policy'), 'no text editor of the source');
  });

  test('the source action translates the policy file to Linkerd into a new editor beside it', async () => {
    // The policy's document must be open: once VS Code has closed it, the server no longer has it
    // (didClose) and offers nothing until it is open again.
    await vscode.window.showTextDocument(await vscode.workspace.openTextDocument(uri));
    let titles: string[] = [];
    const toLinkerd = await until('the translate source actions', async () => {
      const actions = await vscode.commands.executeCommand<vscode.CodeAction[]>('vscode.executeCodeActionProvider', uri, new vscode.Range(namePosition, namePosition), 'source.meshPolicy.translate');
      titles = actions.map((a) => a.title);
      return actions.find((a) => a.title === "Translate this file's Istio policies to Linkerd" && a.command);
    }, 30_000).catch(() => assert.fail(`no translation to Linkerd among ${JSON.stringify(titles)}`));
    assert.ok(toLinkerd.command);
    await vscode.commands.executeCommand(toLinkerd.command.command, ...(toLinkerd.command.arguments ?? []));
    const translated = await until('the translation', async () => vscode.workspace.textDocuments.find((d) => d.isUntitled && d.getText().startsWith('# Linkerd policies translated by mesh-policy translate')));
    assert.equal(translated.languageId, 'yaml');
    assert.match(translated.getText(), /^kind: Server$/m);
  });

  test('the traffic map\'s "Allow these calls" (meshPolicy.fixEdge) applies a verified fix to the policy', async () => {
    // What the map's button posts for the gateway's calls to frontend, which shop/allow-nothing
    // newly denies; `fix: 0` takes the first fix instead of the quick pick a user would see.
    const edge = { source: 'shop/shop-gateway-istio', destination: 'shop/frontend', action: 'allow', fix: 0 };
    const applied = await until('a fix for the edge', async () => vscode.commands.executeCommand<{ title: string; uris: string[] } | undefined>('meshPolicy.fixEdge', edge), 60_000);
    assert.match(applied.title, /^Allow cluster\.local\/ns\/shop\/sa\/shop-gateway-istio → frontend GET \//);
    assert.equal(applied.uris.length, 1);
    const edited = await vscode.workspace.openTextDocument(vscode.Uri.parse(applied.uris[0]!));
    assert.ok(edited.uri.path.includes('/shop/'), edited.uri.path);
    assert.ok(edited.isDirty, 'the edit is applied in the editor, not saved behind the user');
    // allow-nothing is frontend's only ALLOW policy and has no rule to widen: the fix is a new ALLOW
    // policy (docs/quick-fixes.md), named in its title
    const named = /new ALLOW policy shop\/([a-z0-9-]+)/.exec(applied.title);
    assert.ok(named, applied.title);
    const nameLine = edited.getText().split('\n').findIndex((t) => t === `  name: ${named[1]}`);
    assert.ok(nameLine > 0, edited.getText());
    // the new simulation allows the call: the new policy's lens counts allowed calls
    const lens = await until('the new policy\'s code lens', async () => {
      await vscode.window.showTextDocument(edited, { preview: false });
      const found = await vscode.commands.executeCommand<vscode.CodeLens[]>('vscode.executeCodeLensProvider', edited.uri);
      return found.find((l) => l.range.start.line >= nameLine - 5 && l.range.start.line <= nameLine + 1 && /^[1-9][\d,]* allowed/.test(l.command?.title ?? ''));
    });
    assert.match(lens.command!.title, / 0 denied/);
    await vscode.commands.executeCommand('workbench.action.files.revert');
  });
});

import * as vscode from 'vscode';
import { LanguageClient, TransportKind, type LanguageClientOptions, type ServerOptions } from 'vscode-languageclient/node';

/** The VS Code side: start the language server, register commands, show status. No policy
 * logic lives here; everything else is in server/. */

let client: LanguageClient | undefined;

export async function activate(context: vscode.ExtensionContext): Promise<void> {
  const output = vscode.window.createOutputChannel('Mesh Policy Auditor', { log: true });
  const status = vscode.window.createStatusBarItem('meshPolicy.status', vscode.StatusBarAlignment.Left, 10);
  status.name = 'Mesh Policy Auditor';
  status.text = '$(shield) Mesh Policy';
  status.tooltip = 'Mesh Policy Auditor: starting';
  status.command = 'meshPolicy.showOutput';
  status.show();
  context.subscriptions.push(output, status);

  const serverModule = context.asAbsolutePath('dist/server.js');
  const serverOptions: ServerOptions = {
    run: { module: serverModule, transport: TransportKind.ipc },
    debug: { module: serverModule, transport: TransportKind.ipc, options: { execArgv: ['--nolazy', '--inspect=6011'] } },
  };
  const clientOptions: LanguageClientOptions = {
    documentSelector: [
      { scheme: 'file', language: 'yaml' },
      { scheme: 'untitled', language: 'yaml' },
      { scheme: 'file', language: 'json' },
      { scheme: 'file', pattern: '**/*.hcl' },
    ],
    synchronize: { fileEvents: vscode.workspace.createFileSystemWatcher('**/*.{yaml,yml,json,hcl}') },
    outputChannel: output,
    initializationOptions: { settings: vscode.workspace.getConfiguration('meshPolicy') },
  };
  client = new LanguageClient('meshPolicy', 'Mesh Policy Auditor', serverOptions, clientOptions);

  context.subscriptions.push(
    vscode.commands.registerCommand('meshPolicy.showOutput', () => output.show(true)),
    vscode.commands.registerCommand('meshPolicy.insertAccessLogConfiguration', async () => {
      if (!client) return;
      const snippets = await client.sendRequest<{ mesh: string; title: string; language: string; text: string }[]>('meshPolicy/accessLogConfiguration');
      const picked = await vscode.window.showQuickPick(snippets.map((s) => ({ label: s.title, description: s.mesh, snippet: s })), {
        placeHolder: 'Which mesh? The configuration makes access logs carry the caller identity the simulator needs.',
      });
      if (!picked) return;
      const document = await vscode.workspace.openTextDocument({ language: picked.snippet.language, content: picked.snippet.text });
      await vscode.window.showTextDocument(document);
    }),
    vscode.commands.registerCommand('meshPolicy.restartServer', async () => {
      status.tooltip = 'Mesh Policy Auditor: restarting';
      await client?.restart();
      status.tooltip = 'Mesh Policy Auditor: running';
    }),
  );

  try {
    await client.start();
    status.tooltip = 'Mesh Policy Auditor: running — click for the log';
  } catch (error) {
    status.text = '$(error) Mesh Policy';
    status.tooltip = `Mesh Policy Auditor could not start: ${error instanceof Error ? error.message : String(error)}`;
    output.appendLine(status.tooltip);
  }
}

export async function deactivate(): Promise<void> {
  await client?.stop();
  client = undefined;
}

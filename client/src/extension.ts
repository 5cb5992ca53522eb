import * as vscode from 'vscode';
import {
  CloseAction, ErrorAction, LanguageClient, State, TransportKind,
  type ErrorHandler, type LanguageClientOptions, type ServerOptions,
} from 'vscode-languageclient/node';
// Types only (erased from the bundle): the status the server sends.
import type { TrafficStatus } from '../../server/src/lsp/traffic';
import serverNodeFlags from '../../server/node-flags.json';
import { AuditViews } from './auditViews';
import { YAML_CONTRIBUTOR, yamlSchemaContributor, type YamlExtensionSetting } from './yamlContributor';
import { registerFixEdge } from './edgeFixes';
import { registerPolicyTests } from './policyTests';
import { documentSelector, FolderServers, type FolderServer, type ServerPlacement } from './servers';

/** The VS Code side: start the language server, register commands, show status. No policy
 * logic lives here; everything else is in server/. */

let servers: FolderServers | undefined;

type Request = <T>(method: string, params?: unknown, token?: vscode.CancellationToken) => Promise<T | undefined>;

/** A command's conversation with one folder's server. */
interface Talk {
  server: FolderServer;
  request: Request;
}

/** Commands the server's hovers may link to (hover markdown is trusted for these only). */
const HOVER_COMMANDS = ['meshPolicy.explainCall', 'meshPolicy.showTrafficForPolicy'];


const n = (value: number): string => value.toLocaleString('en-US');

function statusText(s: TrafficStatus): { text: string; tooltip: string | vscode.MarkdownString } {
  switch (s.state) {
    case 'loading': return { text: '$(sync~spin) Mesh Policy: reading traffic', tooltip: 'Mesh Policy Auditor: reading the access logs' };
    case 'off': return { text: '$(shield) Mesh Policy', tooltip: `Mesh Policy Auditor: lint only${s.message ? ` (${s.message})` : ''}` };
    // The server says why (no .meshpolicy.yaml, globs that match nothing, a cancelled read) and what to do.
    case 'empty': return { text: '$(shield) Mesh Policy: no traffic', tooltip: new vscode.MarkdownString(`Mesh Policy Auditor: ${s.advice || 'no access logs found in the workspace.'}`) };
    case 'failed': return { text: '$(warning) Mesh Policy: traffic', tooltip: `Mesh Policy Auditor: could not read the access logs: ${s.message ?? ''}` };
    default: {
      const changed = s.newlyDenied + s.newlyAllowed;
      return {
        text: `$(shield) ${n(s.calls)} calls · ${n(s.policies)} policies · ${n(changed)} changed`,
        tooltip: `Mesh Policy Auditor: ${n(s.calls)} observed calls (${n(s.shapes)} shapes) from ${n(s.lines)} log lines in ${n(s.files)} files, ${n(s.skipped)} skipped\n${n(s.newlyDenied)} newly denied, ${n(s.newlyAllowed)} newly allowed, ${n(s.unknown)} undecided — click for the log`,
      };
    }
  }
}

/** A tooltip as a notification shows it: the text of a markdown one, its code spans and bold marks unwrapped. */
function plainText(tooltip: string | vscode.MarkdownString): string {
  if (typeof tooltip === 'string') return tooltip;
  return tooltip.value.replace(/`([^`]*)`|\*\*([^*]+)\*\*/g, (_whole, code: string | undefined, bold: string | undefined) => code ?? bold ?? '');
}

/** Read-only markdown views (calls of a policy, a call's walkthrough), shown rendered: closing them asks nothing. */
const VIEW_SCHEME = 'mesh-policy';
const viewContents = new Map<string, string>();
let viewCount = 0;
const MAX_KEPT_VIEWS = 30;

async function showMarkdown(content: string, name: string): Promise<void> {
  const uri = vscode.Uri.from({ scheme: VIEW_SCHEME, path: `/${++viewCount}/${name.replace(/[^\w.-]+/g, '-').slice(0, 60)}.md` });
  viewContents.set(uri.toString(), content);
  // Kept after VS Code closes the text document: the rendered preview reads it again when it is restored.
  for (const key of [...viewContents.keys()].slice(0, -MAX_KEPT_VIEWS)) viewContents.delete(key);
  const document = await vscode.workspace.openTextDocument(uri);
  await vscode.languages.setTextDocumentLanguage(document, 'markdown');
  // Rendered: the listings are mostly tables, unreadable as markdown source in a side column.
  try {
    await vscode.commands.executeCommand('markdown.showPreviewToSide', uri);
  } catch {
    await vscode.window.showTextDocument(document, { viewColumn: vscode.ViewColumn.Two, preview: true }); // the built-in markdown extension is disabled
  }
}

export async function activate(context: vscode.ExtensionContext): Promise<void> {
  const output = vscode.window.createOutputChannel('Mesh Policy Auditor', { log: true });
  const status = vscode.window.createStatusBarItem('meshPolicy.status', vscode.StatusBarAlignment.Left, 10);
  status.name = 'Mesh Policy Auditor';
  status.text = '$(shield) Mesh Policy';
  status.tooltip = 'Mesh Policy Auditor: starting';
  status.command = 'meshPolicy.showOutput';
  status.show();
  context.subscriptions.push(output, status, vscode.workspace.registerTextDocumentContentProvider(VIEW_SCHEME, {
    provideTextDocumentContent: (uri) => viewContents.get(uri.toString()) ?? '',
  }));

  const serverModule = context.asAbsolutePath('dist/server.js');
  const serverOptions: ServerOptions = {
    // The server's V8 flags (server/node-flags.json) keep the collector of its large heap out of the edits; ARCHITECTURE.md says why.
    run: { module: serverModule, transport: TransportKind.ipc, options: { execArgv: [...serverNodeFlags] } },
    debug: { module: serverModule, transport: TransportKind.ipc, options: { execArgv: [...serverNodeFlags, '--nolazy', '--inspect=6011'] } },
  };
  // In a multi-root window each folder's server logs to its own channel, named after the folder.
  const folderOutputs = new Map<string, vscode.LogOutputChannel>();
  const outputOf = (placement: ServerPlacement): vscode.LogOutputChannel => {
    if (placement.everyFile || !placement.folder) return output;
    const name = `Mesh Policy Auditor (${placement.folder.name})`;
    let channel = folderOutputs.get(name);
    if (!channel) {
      channel = vscode.window.createOutputChannel(name, { log: true });
      folderOutputs.set(name, channel);
      context.subscriptions.push(channel);
    }
    return channel;
  };
  const restartsOf = new Map<string, number[]>();
  const startServer = (placement: ServerPlacement): LanguageClient => {
    const channel = outputOf(placement);
    const key = placement.folder?.uri.toString() ?? '';
    const named = placement.everyFile || !placement.folder ? 'Mesh Policy Auditor' : `Mesh Policy Auditor (${placement.folder.name})`;
    // Restart a server that died and say so; give up (with a message) after 5 deaths in 3 minutes.
    const errorHandler: ErrorHandler = {
      error: () => ({ action: ErrorAction.Continue }),
      closed: () => {
        const now = Date.now();
        const restarts = [...(restartsOf.get(key) ?? []).filter((t) => now - t < 180_000), now];
        restartsOf.set(key, restarts);
        if (restarts.length > 5) {
          const message = `${named}: the language server stopped 5 times in 3 minutes and was not restarted. See the output channel; run "Mesh Policy: Restart Language Server" to try again.`;
          channel.error(message);
          return { action: CloseAction.DoNotRestart, message };
        }
        channel.warn('the language server stopped unexpectedly; restarting it and reading the traffic again');
        void vscode.window.showWarningMessage(`${named}: the language server stopped unexpectedly. It was restarted and is reading the traffic again.`);
        return { action: CloseAction.Restart, handled: true };
      },
    };
    const watched = '**/*.{yaml,yml,json,hcl,log,jsonl,gz}';
    const clientOptions: LanguageClientOptions = {
      documentSelector: documentSelector(placement),
      // (the server reads its folder only: initialize names it alone, and its settings are the folder's)
      ...(placement.folder ? { workspaceFolder: placement.folder } : {}),
      synchronize: { fileEvents: vscode.workspace.createFileSystemWatcher(placement.folder ? new vscode.RelativePattern(placement.folder, watched) : watched) },
      outputChannel: channel,
      errorHandler,
      initializationOptions: { settings: vscode.workspace.getConfiguration('meshPolicy', placement.folder?.uri), trusted: vscode.workspace.isTrusted },
      middleware: {
        provideHover: async (document, position, token, next) => {
          const hover = await next(document, position, token);
          for (const content of hover?.contents ?? []) {
            if (content instanceof vscode.MarkdownString) content.isTrusted = { enabledCommands: HOVER_COMMANDS };
          }
          return hover;
        },
      },
    };
    return new LanguageClient('meshPolicy', named, serverOptions, clientOptions);
  };

  const send = async <T>(server: FolderServer, method: string, params?: unknown, token?: vscode.CancellationToken): Promise<T | undefined> => {
    if (server.client.state !== State.Running) {
      void vscode.window.showWarningMessage(`${serverName(server)}: the language server is not running.`);
      return undefined;
    }
    return token ? server.client.sendRequest<T>(method, params, token) : server.client.sendRequest<T>(method, params);
  };
  /**
   * The server a command talks to: the one of `hint` (a file, or a folder's key) when given, else
   * the active editor's, else the folder the user picks in a multi-root window.
   */
  const talkTo = async (hint?: vscode.Uri | string): Promise<Talk | undefined> => {
    const hinted = typeof hint === 'string' ? folderServers.byFolderKey(hint) : hint ? folderServers.forUri(hint) : undefined;
    const server = hinted ?? await folderServers.choose();
    if (!server) return undefined;
    return { server, request: (method, params, token) => send(server, method, params, token) };
  };
  /** Every running server's answer (the Test Explorer lists the tests of every folder). */
  const requestAll = async <T>(method: string, params?: unknown, token?: vscode.CancellationToken): Promise<T[]> => {
    const answers = await Promise.all(folderServers.running().map((s) => send<T>(s, method, params, token).catch(() => undefined)));
    return answers.filter((a): a is Awaited<T> => a !== undefined && a !== null) as T[];
  };

  /** A call typed by hand, checked by the server as it is typed; the last one is offered again. */
  const askForCall = async (talk: Talk, title: string, prompt: string): Promise<string | undefined> => {
    const lastCall = 'meshPolicy.lastWrittenCall';
    const text = await vscode.window.showInputBox({
      title, prompt,
      placeHolder: 'shop/frontend -> shop/cart:8080 GET /items',
      value: context.workspaceState.get<string>(lastCall, ''),
      ignoreFocusOut: true,
      // (straight to the client: a stopped server is said once, when the call is sent, not at every key)
      validateInput: async (value) => {
        const client = talk.server.client;
        if (!value.trim() || client.state !== State.Running) return undefined;
        return (await client.sendRequest<string | null>('meshPolicy/checkCall', { text: value }).catch(() => null)) ?? undefined;
      },
    });
    if (!text?.trim()) return undefined;
    await context.workspaceState.update(lastCall, text);
    return text;
  };

  const explainWrittenCall = async (talk: Talk): Promise<void> => {
    const text = await askForCall(talk, 'Mesh Policy: would this call be allowed?', '[mesh:] namespace/caller -> namespace/workload[:port] [METHOD] [/path] (caller: a service account, a Consul service, a principal, or - for plaintext), or an access record in JSON');
    if (!text) return;
    try {
      const markdown = await talk.request<string>('meshPolicy/explain', { call: text });
      if (markdown) await showMarkdown(markdown, 'explain-written-call');
    } catch (error) {
      void vscode.window.showErrorMessage(`Mesh Policy Auditor: ${error instanceof Error ? error.message : String(error)}`);
    }
  };

  /**
   * *Add Policy Test for Call...*: the call (typed, or given), pinned in a test file the user picks
   * (or a new `tests/policy-tests.yaml`) with the verdict, policy and rule that decide it now.
   */
  const addPolicyTest = async (given?: { call?: string; uri?: string }): Promise<void> => {
    const talk = await talkTo(given?.uri ? vscode.Uri.parse(given.uri) : undefined);
    if (!talk) return;
    const call = given?.call ?? await askForCall(talk, 'Mesh Policy: pin a call as a policy test', '[mesh:] namespace/caller -> namespace/workload[:port] [METHOD] [/path], or an access record in JSON: the test expects what the policies decide now');
    if (!call?.trim()) return;
    let uri = given?.uri;
    if (!uri) {
      const listed = await talk.request<{ files: { uri: string }[] }>('meshPolicy/policyTests', {});
      const folder = talk.server.folder?.uri;
      const fresh = folder ? vscode.Uri.joinPath(folder, 'tests', 'policy-tests.yaml').toString() : undefined;
      const choices = [
        ...(listed?.files ?? []).map((f) => ({ label: vscode.workspace.asRelativePath(vscode.Uri.parse(f.uri)), uri: f.uri })),
        ...(fresh && !(listed?.files ?? []).some((f) => f.uri === fresh) ? [{ label: vscode.workspace.asRelativePath(vscode.Uri.parse(fresh)), description: 'a new test file', uri: fresh }] : []),
      ];
      const picked = choices.length === 1 ? choices[0] : await vscode.window.showQuickPick(choices, { placeHolder: 'Add the test to which file?' });
      if (!picked) return;
      uri = picked.uri;
    }
    const added = await talk.request<{ uri: string; create: boolean; range: { start: { line: number; character: number }; end: { line: number; character: number } }; newText: string; line: number; expect: string } | { problem: string }>('meshPolicy/addPolicyTest', { call, uri });
    if (!added) return;
    if ('problem' in added) return void vscode.window.showErrorMessage(`Mesh Policy Auditor: ${added.problem}`);
    const target = vscode.Uri.parse(added.uri);
    const applied = new vscode.WorkspaceEdit();
    if (added.create) applied.createFile(target, { ignoreIfExists: true });
    applied.replace(target, new vscode.Range(added.range.start.line, added.range.start.character, added.range.end.line, added.range.end.character), added.newText);
    if (!await vscode.workspace.applyEdit(applied)) return void vscode.window.showErrorMessage('Mesh Policy Auditor: the test could not be added (the file changed meanwhile?).');
    const editor = await vscode.window.showTextDocument(target);
    editor.revealRange(new vscode.Range(added.line, 0, added.line, 0));
    editor.selection = new vscode.Selection(added.line, 0, added.line, 0);
    void vscode.window.showInformationMessage(`Mesh Policy Auditor: the test expects ${added.expect}, as the policies decide now; save the file to keep it.`);
  };

  const auditViews = new AuditViews(async (view, nonce, key) => {
    const server = folderServers.byFolderKey(key); // (none once its folder left the window)
    return server ? send<string | null>(server, 'meshPolicy/auditHtml', { view, nonce }) : undefined;
  });
  const showAuditView = async (view: 'report' | 'map'): Promise<void> => {
    const talk = await talkTo();
    if (talk) await auditViews.show(view, { key: talk.server.key, label: folderServers.multiRoot ? talk.server.folder?.name : undefined });
  };
  context.subscriptions.push(
    auditViews,
    vscode.commands.registerCommand('meshPolicy.showReport', () => showAuditView('report')),
    vscode.commands.registerCommand('meshPolicy.showTrafficMap', () => showAuditView('map')),
    // `target`: where to write without asking (a test, a keybinding's argument)
    vscode.commands.registerCommand('meshPolicy.exportAccessCsv', async (target?: vscode.Uri) => {
      const talk = await talkTo();
      const inventory = await talk?.request<{ csv: string; rows: number } | null>('meshPolicy/accessCsv');
      if (!talk || inventory === undefined) return;
      if (!inventory) return void vscode.window.showInformationMessage('Mesh Policy Auditor: no observed traffic is loaded to export.');
      const folder = talk.server.folder?.uri;
      const uri = target ?? await vscode.window.showSaveDialog({
        ...(folder ? { defaultUri: vscode.Uri.joinPath(folder, 'access-inventory.csv') } : {}),
        filters: { CSV: ['csv'] }, title: 'Export the access inventory (one row per distinct access)',
      });
      if (!uri) return;
      await vscode.workspace.fs.writeFile(uri, Buffer.from(inventory.csv, 'utf8'));
      void vscode.window.showInformationMessage(`Mesh Policy Auditor: wrote ${inventory.rows.toLocaleString('en-US')} accesses to ${vscode.workspace.asRelativePath(uri)}.`);
    }),
    registerFixEdge(talkTo, auditViews),
    vscode.commands.registerCommand('meshPolicy.showOutput', () => {
      const shown = folderServers.active();
      (shown && !folderServers.multiRoot ? output : shown?.client.outputChannel ?? output).show(true);
    }),
    vscode.commands.registerCommand('meshPolicy.newPolicy', async (id?: string) => {
      const templates = await (await talkTo())?.request<{ id: string; mesh: string; language: string; label: string; description: string; snippet: string }[]>('meshPolicy/policyTemplates');
      if (!templates) return;
      const template = id ? templates.find((t) => t.id === id) : (await vscode.window.showQuickPick(templates.map((t) => ({ label: t.label, detail: t.description, template: t })), {
        placeHolder: 'Which policy? Its fields offer the workspace\'s namespaces, workloads and service accounts (Tab moves to the next).', matchOnDetail: true,
      }))?.template;
      if (!template) return;
      const document = await vscode.workspace.openTextDocument({ language: template.language, content: '' });
      const editor = await vscode.window.showTextDocument(document);
      await editor.insertSnippet(new vscode.SnippetString(template.snippet));
    }),
    vscode.commands.registerCommand('meshPolicy.insertAccessLogConfiguration', async () => {
      const snippets = await (await talkTo())?.request<{ mesh: string; title: string; language: string; text: string }[]>('meshPolicy/accessLogConfiguration');
      if (!snippets) return;
      const picked = await vscode.window.showQuickPick(snippets.map((s) => ({ label: s.title, description: s.mesh, snippet: s })), {
        placeHolder: 'Which mesh? The configuration makes access logs carry the caller identity the simulator needs.',
      });
      if (!picked) return;
      const document = await vscode.workspace.openTextDocument({ language: picked.snippet.language, content: picked.snippet.text });
      await vscode.window.showTextDocument(document);
    }),
    vscode.commands.registerCommand('meshPolicy.showTrafficForPolicy', async (at?: { file: string; offset: number }) => {
      let params: unknown = at;
      if (!params) {
        const editor = vscode.window.activeTextEditor;
        if (!editor) return void vscode.window.showInformationMessage('Mesh Policy Auditor: open a policy file and put the cursor in a policy or rule.');
        params = { uri: editor.document.uri.toString(), position: editor.selection.active };
      }
      const markdown = await (await talkTo(at ? vscode.Uri.file(at.file) : vscode.window.activeTextEditor?.document.uri))?.request<string | null>('meshPolicy/callsFor', params);
      // Tab title: what the listing is of ("calls-AuthorizationPolicy-shop-allow-nothing"), not just "calls".
      const decidedBy = markdown && /^# Observed calls decided by (.+)$/m.exec(markdown)?.[1];
      if (markdown) await showMarkdown(markdown, decidedBy ? `calls ${decidedBy}` : 'calls');
    }),
    vscode.commands.registerCommand('meshPolicy.showPoliciesForWorkload', async (target?: string) => {
      const talk = await talkTo();
      if (!talk) return;
      if (!target) {
        const workloads = await talk.request<{ target: string; kind: string; file: string }[]>('meshPolicy/workloads');
        if (!workloads) return;
        if (!workloads.length) return void vscode.window.showInformationMessage('Mesh Policy Auditor: the workspace has no workload manifests (Deployment, StatefulSet, Pod ...) in a trusted workspace.');
        const picked = await vscode.window.showQuickPick(workloads.map((w) => ({ label: w.target, description: w.kind, detail: w.file })), { placeHolder: 'Which workload? Lists the policies that apply to it, in evaluation order.', matchOnDescription: true });
        if (!picked) return;
        target = picked.label;
      }
      const markdown = await talk.request<string>('meshPolicy/policiesForWorkload', { target });
      if (markdown) await showMarkdown(markdown, `policies-${target}`);
    }),
    vscode.commands.registerCommand('meshPolicy.showAccessMap', async (filter?: { from?: string; to?: string; request?: string }) => {
      const talk = await talkTo();
      if (!talk) return;
      if (!filter) {
        const asked = await vscode.window.showInputBox({
          title: 'Access map: who may call whom by the policies alone',
          prompt: 'Leave empty for any request (a verdict that turns on it says what it depends on), or give one to decide: [METHOD] [/path]',
          placeHolder: 'e.g. DELETE /admin',
          // (the server reads the request, as it will for the map)
          validateInput: async (value) => {
            const client = talk.server.client;
            if (!value.trim() || client.state !== State.Running) return undefined;
            return (await client.sendRequest<string | null>('meshPolicy/checkAccessRequest', { text: value }).catch(() => null)) ?? undefined;
          },
        });
        if (asked === undefined) return;
        filter = asked.trim() ? { request: asked.trim() } : {};
      }
      const markdown = await talk.request<string>('meshPolicy/accessMap', filter);
      if (markdown) await showMarkdown(markdown, 'access-map');
    }),
    vscode.commands.registerCommand('meshPolicy.explainCall', async (key?: string) => {
      const talk = await talkTo();
      if (!talk) return;
      if (!key) {
        const calls = await talk.request<{ key: string; label: string; detail: string }[]>('meshPolicy/calls');
        if (!calls) return;
        const enterCall = { label: '$(edit) Enter a call…', detail: 'Would this call be allowed? Write one: namespace/caller -> namespace/workload:port GET /path, or an access record in JSON', key: undefined, alwaysShow: true };
        const picked = await vscode.window.showQuickPick([enterCall, ...calls.map((c) => ({ label: c.label, detail: c.detail, key: c.key }))], {
          placeHolder: calls.length ? 'Which call? Enter one, or pick an observed call (busiest first)' : 'No observed traffic is loaded: enter a call to decide with the workspace\'s policies',
          matchOnDetail: true,
        });
        if (!picked) return;
        if (picked.key === undefined) return explainWrittenCall(talk);
        key = picked.key;
      }
      const markdown = await talk.request<string>('meshPolicy/explain', { key });
      if (markdown) await showMarkdown(markdown, `explain-${key}`);
    }),
    // A policy test's lens: the walkthrough of its call (docs/policy-tests.md)
    vscode.commands.registerCommand('meshPolicy.explainWrittenCall', async (call?: unknown) => {
      const talk = await talkTo();
      if (!talk) return;
      if (typeof call !== 'string' || !call.trim()) return explainWrittenCall(talk);
      const markdown = await talk.request<string>('meshPolicy/explain', { call });
      if (markdown) await showMarkdown(markdown, 'explain-written-call');
    }),
    vscode.commands.registerCommand('meshPolicy.addPolicyTest', (given?: { call?: string; uri?: string }) => addPolicyTest(given)),
    vscode.commands.registerCommand('meshPolicy.generatePolicies', async (target?: { mesh: string; namespace?: string; workload?: string }) => {
      const talk = await talkTo();
      if (!talk) return;
      if (!target) {
        const mesh = await vscode.window.showQuickPick(['istio', 'linkerd', 'consul'], { placeHolder: 'Generate least-privilege policies for which mesh, from the observed allowed calls?' });
        if (!mesh) return;
        target = { mesh };
      }
      // Cancel in the notification sends $/cancelRequest: the server stops generating.
      const generated = await vscode.window.withProgress({ location: vscode.ProgressLocation.Notification, title: 'Mesh Policy: generating policies', cancellable: true }, (_progress, token) =>
        talk.request<{ yaml: string; resources: number; wouldDeny: number; wouldAllow: number } | null>('meshPolicy/generate', target, token)
          .catch((error: unknown) => { if (token.isCancellationRequested) return undefined; throw error; }));
      if (generated === undefined) return;
      if (!generated) return void vscode.window.showInformationMessage('Mesh Policy Auditor: no observed calls to generate policies from.');
      const document = await vscode.workspace.openTextDocument({ language: 'yaml', content: generated.yaml });
      await vscode.window.showTextDocument(document, { viewColumn: vscode.ViewColumn.Two });
      if (generated.wouldDeny > 0) {
        void vscode.window.showWarningMessage(`Mesh Policy Auditor: these policies would deny ${generated.wouldDeny.toLocaleString('en-US')} calls the logs show allowed; the comment at the top says which and why.`);
      }
    }),
    vscode.commands.registerCommand('meshPolicy.generatePolicyTests', async (target?: { expect?: 'observed' | 'policies' }) => {
      const talk = await talkTo();
      if (!talk) return;
      let expect = target?.expect;
      if (!expect) {
        const picked = await vscode.window.showQuickPick([
          { label: 'What the mesh did', description: 'allow for calls observed allowed, deny for calls observed denied', expect: 'observed' as const },
          { label: 'What the policies decide now', description: 'a snapshot: every test passes until a policy changes', expect: 'policies' as const },
        ], { placeHolder: 'Policy tests from the observed calls: what should each test expect?' });
        if (!picked) return;
        expect = picked.expect;
      }
      const generated = await talk.request<{ yaml: string; tests: number; failing: number } | null>('meshPolicy/generateTests', { expect });
      if (!generated) return void vscode.window.showInformationMessage('Mesh Policy Auditor: no observed traffic is loaded to write policy tests from.');
      const document = await vscode.workspace.openTextDocument({ language: 'yaml', content: generated.yaml });
      await vscode.window.showTextDocument(document, { viewColumn: vscode.ViewColumn.Two });
      if (generated.tests === 0) {
        void vscode.window.showWarningMessage('Mesh Policy Auditor: no observed call could be written as a test; the comment at the top says why.');
      } else if (generated.failing > 0) {
        void vscode.window.showWarningMessage(`Mesh Policy Auditor: ${generated.failing.toLocaleString('en-US')} of the ${generated.tests.toLocaleString('en-US')} tests fail with the policies now: the policies decide those calls otherwise than the mesh did. Save the file in the workspace to run them.`);
      }
    }),
    vscode.commands.registerCommand('meshPolicy.translatePolicies', async (target?: { to?: string; uri?: string }) => {
      let to = target?.to;
      // From the palette: the active editor's file, else every policy of the workspace (folder).
      const active = vscode.window.activeTextEditor?.document;
      const uri = target?.uri ?? (active && active.uri.scheme === 'file' && /\.(ya?ml|json|hcl)$/i.test(active.fileName) ? active.uri.toString() : undefined);
      const talk = await talkTo(uri ? vscode.Uri.parse(uri) : undefined);
      if (!talk) return;
      if (!to) {
        to = await vscode.window.showQuickPick(['istio', 'linkerd', 'consul'], { placeHolder: `Translate ${uri ? 'this file\'s' : 'the workspace\'s'} policies to which mesh?` });
        if (!to) return;
      }
      const translated = await vscode.window.withProgress({ location: vscode.ProgressLocation.Notification, title: `Mesh Policy: translating policies to ${to}`, cancellable: true }, (_progress, token) =>
        talk.request<{ yaml: string; resources: number; notes: number; differing: number } | null>('meshPolicy/translate', { to, ...(uri ? { uri } : {}) }, token)
          .catch((error: unknown) => { if (token.isCancellationRequested) return undefined; throw error; }));
      if (translated === undefined) return;
      if (!translated) return void vscode.window.showInformationMessage(`Mesh Policy Auditor: no policies of another mesh than ${to} to translate.`);
      const document = await vscode.workspace.openTextDocument({ language: 'yaml', content: translated.yaml });
      await vscode.window.showTextDocument(document, { viewColumn: vscode.ViewColumn.Two });
      if (translated.resources === 0) {
        void vscode.window.showWarningMessage(`Mesh Policy Auditor: nothing was written: no policy ${uri ? 'of this file ' : ''}could be carried; the comment at the top says why for each.`);
      } else if (translated.differing > 0) {
        void vscode.window.showWarningMessage(`Mesh Policy Auditor: the translation decides ${translated.differing.toLocaleString('en-US')} calls differently from the original; the comment at the top says which and why.`);
      } else if (translated.notes > 0) {
        void vscode.window.showInformationMessage(`Mesh Policy Auditor: ${translated.notes} places could not be carried exactly; the comment at the top lists them.`);
      }
    }),
    vscode.commands.registerCommand('meshPolicy.reloadTraffic', async () => {
      const talk = await talkTo();
      const result = await talk?.request<TrafficStatus>('meshPolicy/reloadTraffic');
      if (talk && result) void vscode.window.showInformationMessage(`${serverName(talk.server)}: ${plainText(statusText(result).tooltip).replace(/^Mesh Policy Auditor: /, '').split('\n')[0]}`);
    }),
    vscode.commands.registerCommand('meshPolicy.restartServer', async () => {
      restartsOf.clear();
      status.tooltip = 'Mesh Policy Auditor: restarting';
      await folderServers.restartAll();
    }),
    vscode.workspace.onDidGrantWorkspaceTrust(() => void folderServers.restartAll()),
    // Each folder has its own server: a folder added or removed starts or stops its server.
    vscode.workspace.onDidChangeWorkspaceFolders(() => {
      output.info('the workspace folders changed; starting or stopping their language servers');
      void folderServers.sync();
    }),
    vscode.window.onDidChangeActiveTextEditor(() => showStatus()),
  );

  const policyTests = registerPolicyTests(context, requestAll);

  /** The status bar: the traffic of the active editor's folder (the first folder's when none is active). */
  const showStatus = (): void => {
    const shown = folderServers.active() ?? folderServers.all()[0];
    if (!shown) return;
    const folderName = folderServers.multiRoot ? shown.folder?.name : undefined;
    if (shown.problem) {
      status.text = '$(error) Mesh Policy';
      status.tooltip = `${serverName(shown)} could not start: ${shown.problem}`;
      return;
    }
    if (!shown.status) {
      status.text = folderName ? `$(shield) Mesh Policy: ${folderName}` : '$(shield) Mesh Policy';
      status.tooltip = shown.client.state === State.Running ? `${serverName(shown)}: running — click for the log` : `${serverName(shown)}: starting`;
      return;
    }
    const text = statusText(shown.status);
    status.text = folderName ? text.text.replace(/^(\$\([\w~-]+\) )/, `$1${folderName}: `) : text.text;
    status.tooltip = folderName ? folderTooltip(text.tooltip, folderName) : text.tooltip;
  };

  const onStarted = async (server: FolderServer): Promise<void> => {
    const { client } = server;
    client.onNotification('meshPolicy/simulated', () => auditViews.refreshSoon(server.key));
    client.onNotification('meshPolicy/policyTestsChanged', () => void policyTests.refresh());
    client.onNotification('meshPolicy/trafficStatus', (s: TrafficStatus) => {
      server.status = s;
      showStatus();
    });
    try {
      await client.start();
    } catch (error) {
      server.problem = error instanceof Error ? error.message : String(error);
      outputOf({ folder: server.folder, everyFile: !folderServers.multiRoot, untitled: false }).appendLine(`${serverName(server)} could not start: ${server.problem}`);
    }
    showStatus();
  };
  const folderServers = new FolderServers(startServer, onStarted);
  servers = folderServers;
  context.subscriptions.push(folderServers.onDidChange(() => showStatus()));
  await folderServers.sync();
  await contributeToYamlExtension(output);
}

/** "Mesh Policy Auditor", or in a multi-root window "Mesh Policy Auditor (folder)". */
function serverName(server: FolderServer): string {
  return servers?.multiRoot && server.folder ? `Mesh Policy Auditor (${server.folder.name})` : 'Mesh Policy Auditor';
}

function folderTooltip(tooltip: string | vscode.MarkdownString, folderName: string): string | vscode.MarkdownString {
  const named = (text: string) => text.replace(/^Mesh Policy Auditor: /, `Mesh Policy Auditor (${folderName}): `);
  return typeof tooltip === 'string' ? named(tooltip) : new vscode.MarkdownString(named(tooltip.value));
}

/** The Red Hat YAML extension's API for schemas from other extensions (vscode-yaml src/schema-extension-api.ts). */
interface YamlExtensionApi {
  registerContributor(schema: string, requestSchema: (resource: string) => string | undefined, requestSchemaContent: (uri: string) => Promise<string>, label?: string): boolean;
}

/**
 * With the Red Hat YAML extension installed, mesh policy files get their schema from us
 * (`meshPolicy.yamlExtension`): no SchemaStore glob or Kubernetes schema of its own lands on them.
 */
async function contributeToYamlExtension(output: vscode.LogOutputChannel): Promise<void> {
  const yaml = vscode.extensions.getExtension<YamlExtensionApi>('redhat.vscode-yaml');
  if (!yaml) return;
  try {
    const api = await yaml.activate();
    const contributor = yamlSchemaContributor(
      () => vscode.workspace.getConfiguration('meshPolicy').get<YamlExtensionSetting>('yamlExtension', 'quiet'),
      (resource) => vscode.workspace.textDocuments.find((d) => d.uri.toString() === vscode.Uri.parse(resource).toString())?.getText(),
      async (uri) => {
        // (the schemas are the same in every folder's server)
        const server = servers?.running()[0];
        return server ? server.client.sendRequest<string | null>('meshPolicy/yamlSchemaContent', { uri }) : null;
      },
    );
    api.registerContributor(YAML_CONTRIBUTOR, (resource) => contributor.requestSchema(resource), (uri) => contributor.requestSchemaContent(uri), 'Mesh Policy Auditor');
  } catch (error) {
    output.warn(`the Red Hat YAML extension did not take our schemas: ${error instanceof Error ? error.message : String(error)}`);
  }
}

export async function deactivate(): Promise<void> {
  await servers?.dispose();
  servers = undefined;
}

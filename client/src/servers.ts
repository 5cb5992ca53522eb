import * as vscode from 'vscode';
import { State, type DocumentSelector, type LanguageClient } from 'vscode-languageclient/node';
// Types only (erased from the bundle): the status the server sends.
import type { TrafficStatus } from '../../server/src/lsp/traffic';
import { isUnder, outermostFolders } from './folders';

/**
 * One language server per workspace folder, as in Microsoft's lsp-multi-server-sample: each
 * folder is its own project, with its own `.meshpolicy.yaml`, inventory and access logs, and the
 * policies of one folder never decide the calls of another. A window with no folder or one
 * folder has one server, which also takes untitled documents and files opened from outside; in a
 * multi-root window each server takes the files under its folder, and the first folder's also
 * takes untitled documents. A folder inside another folder of the window is part of the outer
 * folder's project: it gets no server of its own.
 */
export interface FolderServer {
  /** The folder's URI, or '' for a window without folders. */
  readonly key: string;
  readonly folder: vscode.WorkspaceFolder | undefined;
  readonly client: LanguageClient;
  /** The last traffic status it sent. */
  status: TrafficStatus | undefined;
  /** Why it could not start. */
  problem?: string;
}

/** How a folder's server selects its documents. */
export interface ServerPlacement {
  folder: vscode.WorkspaceFolder | undefined;
  /** False: its documents are those under its folder only (a multi-root window). */
  everyFile: boolean;
  /** It also takes untitled documents. */
  untitled: boolean;
}

export type StartServer = (placement: ServerPlacement) => LanguageClient;

const keyOf = (folder: vscode.WorkspaceFolder | undefined): string => folder?.uri.toString() ?? '';

export class FolderServers implements vscode.Disposable {
  private readonly byKey = new Map<string, FolderServer>();
  private readonly changed = new vscode.EventEmitter<void>();
  /** Fired when servers were started or stopped. */
  readonly onDidChange = this.changed.event;
  private everyFileMode = true;
  private firstKey = '';

  constructor(private readonly start: StartServer, private readonly onStarted: (server: FolderServer) => Promise<void>) {}

  all(): FolderServer[] {
    return [...this.byKey.values()];
  }

  get multiRoot(): boolean {
    return !this.everyFileMode;
  }

  running(): FolderServer[] {
    return this.all().filter((s) => s.client.state === State.Running);
  }

  /** The server whose documents include `uri` (a file under its folder, or untitled ones). */
  forUri(uri: vscode.Uri): FolderServer | undefined {
    if (this.everyFileMode) return this.all()[0];
    if (uri.scheme === 'untitled') return this.byKey.get(this.firstKey);
    return this.all().find((s) => s.folder && isUnder(uri, s.folder));
  }

  byFolderKey(key: string): FolderServer | undefined {
    return this.byKey.get(key);
  }

  /** The server of the active editor's document; with one server, that one. */
  active(): FolderServer | undefined {
    if (this.byKey.size === 1) return this.all()[0];
    const document = vscode.window.activeTextEditor?.document;
    return document ? this.forUri(document.uri) : undefined;
  }

  /** The server a command talks to: the active editor's, else the folder the user picks. */
  async choose(placeHolder = 'Which workspace folder? Each has its own policies, configuration and traffic.'): Promise<FolderServer | undefined> {
    const active = this.active();
    if (active) return active;
    const folder = await vscode.window.showWorkspaceFolderPick({ placeHolder, ignoreFocusOut: true });
    return folder ? this.forUri(folder.uri) : undefined;
  }

  /** Starts and stops servers to match the window's folders. */
  async sync(): Promise<void> {
    const folders = outermostFolders(vscode.workspace.workspaceFolders ?? []);
    const everyFile = folders.length <= 1;
    const first = keyOf(folders[0]);
    // A server's documents are fixed when it starts: one that must take others is started again.
    const restartAll = everyFile !== this.everyFileMode || first !== this.firstKey;
    this.everyFileMode = everyFile;
    this.firstKey = first;
    const wanted = new Map<string, vscode.WorkspaceFolder | undefined>(folders.length ? folders.map((f) => [keyOf(f), f]) : [['', undefined]]);
    const stopping: Promise<void>[] = [];
    for (const [key, server] of this.byKey) {
      if (restartAll || !wanted.has(key)) {
        this.byKey.delete(key);
        stopping.push(server.client.stop().catch(() => undefined));
      }
    }
    await Promise.all(stopping);
    const starting: Promise<void>[] = [];
    for (const [key, folder] of wanted) {
      if (this.byKey.has(key)) continue;
      const server: FolderServer = { key, folder, client: this.start({ folder, everyFile, untitled: key === first }), status: undefined };
      this.byKey.set(key, server);
      starting.push(this.onStarted(server));
    }
    this.changed.fire();
    await Promise.all(starting);
  }

  async restartAll(): Promise<void> {
    await Promise.all(this.all().map((s) => s.client.restart()));
  }

  async dispose(): Promise<void> {
    const servers = this.all();
    this.byKey.clear();
    this.changed.dispose();
    await Promise.all(servers.map((s) => s.client.stop().catch(() => undefined)));
  }
}

/** The documents of one folder's server (see `FolderServers`). */
export function documentSelector(placement: ServerPlacement): DocumentSelector {
  const untitled = placement.untitled ? [{ scheme: 'untitled', language: 'yaml' }, { scheme: 'untitled', language: 'hcl' }] : [];
  if (placement.everyFile || !placement.folder) {
    return [
      { scheme: 'file', language: 'yaml' },
      { scheme: 'file', language: 'json' },
      // .hcl files by our language id (package.json), and by name where another extension gave them its own id.
      { scheme: 'file', language: 'hcl' },
      { scheme: 'file', pattern: '**/*.hcl' },
      ...untitled,
    ];
  }
  // (the protocol's relative pattern, which the client turns into VS Code's)
  const under = (pattern: string) => ({ baseUri: placement.folder!.uri.toString(), pattern });
  return [
    { scheme: 'file', language: 'yaml', pattern: under('**/*') },
    { scheme: 'file', language: 'json', pattern: under('**/*') },
    { scheme: 'file', language: 'hcl', pattern: under('**/*') },
    { scheme: 'file', pattern: under('**/*.hcl') },
    ...untitled,
  ];
}

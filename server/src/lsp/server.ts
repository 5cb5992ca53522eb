import { readFile } from 'node:fs/promises';
import { isAbsolute, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import {
  CodeActionKind, createConnection, DidChangeConfigurationNotification, ProposedFeatures, TextDocuments,
  TextDocumentSyncKind, type Connection, type InitializeParams, type InitializeResult,
} from 'vscode-languageserver/node';
import { TextDocument } from 'vscode-languageserver-textdocument';
import { Engine, type LintResult } from '../engine/engine';
import { formatFromPath } from '../engine/source/sourceFile';
import { collectPolicyFiles } from '../engine/workspaceFiles';
import { CONFIG_FILE_NAME, findConfig, loadConfig } from '../engine/config/projectConfig';
import { WorkspaceModel, type PreparedFile } from '../engine/workspace';
import { VERSION } from '../version';
import { LOG_CONFIGURATION } from '../engine/traffic/logConfiguration';

export const ACCESS_LOG_CONFIGURATION_REQUEST = 'meshPolicy/accessLogConfiguration';
import { codeActions, FIX_ALL_KIND } from './codeActions';
import { completion } from './completion';
import { hover } from './hover';
import { DEFAULT_SETTINGS, mergeSettings, readLimits, type ServerSettings } from './settings';
import { publish } from './validation';

const DEBOUNCE_MS = 60;
const CROSS_FILE_DELAY_MS = 250;

/** Wires the engine to an LSP connection. Every feature is a thin adapter in its own module. */
export function startServer(connection: Connection): void {
  const documents = new TextDocuments(TextDocument);
  const engine = new Engine();
  const workspace = new WorkspaceModel();
  /** Bumped whenever the workspace changes, so results computed against an older one are redone. */
  let generation = 0;
  const openResults = new Map<string, { version: number; generation: number; result: LintResult }>();
  const openPrepared = new Map<string, { version: number; prepared: PreparedFile }>();
  const diskUris = new Set<string>();
  const timers = new Map<string, NodeJS.Timeout>();
  let settings: ServerSettings = DEFAULT_SETTINGS;
  let workspaceFolders: string[] = [];
  let canPullConfiguration = false;

  const pathOf = (uri: string): string => (uri.startsWith('file:') ? fileURLToPath(uri) : uri);

  function prepareDocument(document: TextDocument): PreparedFile {
    const cached = openPrepared.get(document.uri);
    if (cached && cached.version === document.version) return cached.prepared;
    const file = engine.read(pathOf(document.uri), document.getText(), formatFromPath(document.uri) ?? languageFormat(document.languageId));
    const prepared = engine.prepare(file);
    openPrepared.set(document.uri, { version: document.version, prepared });
    workspace.update(prepared);
    generation++;
    return prepared;
  }

  function lintDocument(document: TextDocument): LintResult {
    const prepared = prepareDocument(document);
    const cached = openResults.get(document.uri);
    if (cached && cached.version === document.version && cached.generation === generation) return cached.result;
    const result = engine.lint(prepared, workspace);
    openResults.set(document.uri, { version: document.version, generation, result });
    return result;
  }

  function validateNow(document: TextDocument): void {
    try {
      publish(connection, document.uri, lintDocument(document), document.version);
    } catch (error) {
      connection.console.error(`mesh-policy: could not check ${document.uri}: ${describe(error)}`);
    }
  }

  function schedule(document: TextDocument, delay = DEBOUNCE_MS): void {
    clearTimeout(timers.get(document.uri));
    timers.set(document.uri, setTimeout(() => {
      timers.delete(document.uri);
      const current = documents.get(document.uri);
      if (!current) return;
      const before = generation;
      validateNow(current);
      // Checks across files (a selector matching no workload, duplicate intentions) may read
      // what just changed: refresh the other open files a little later.
      if (generation !== before) for (const other of documents.all()) if (other.uri !== current.uri) schedule(other, CROSS_FILE_DELAY_MS);
    }, delay));
  }

  async function readDisk(path: string): Promise<PreparedFile | undefined> {
    try {
      return engine.prepare(engine.read(path, await readFile(path, 'utf8')));
    } catch {
      return undefined;
    }
  }

  function publishDisk(prepared: PreparedFile): void {
    const uri = pathToFileURL(prepared.file.path).href;
    if (documents.get(uri)) return;
    const result = engine.lint(prepared, workspace);
    if (result.findings.length || diskUris.has(uri)) publish(connection, uri, result);
    if (result.findings.length) diskUris.add(uri);
    else diskUris.delete(uri);
  }

  async function lintFromDisk(path: string): Promise<void> {
    const uri = pathToFileURL(path).href;
    if (documents.get(uri)) return;
    const prepared = await readDisk(path);
    if (!prepared) {
      workspace.remove(path);
      generation++;
      if (diskUris.delete(uri)) publish(connection, uri, undefined);
      return;
    }
    workspace.update(prepared);
    generation++;
    publishDisk(prepared);
  }

  /** Reads every file first, so that checks across files see the whole workspace, then lints. */
  async function validateWorkspace(): Promise<void> {
    if (!settings.validateWorkspace) return;
    const { files } = collectPolicyFiles(workspaceFolders, 20_000);
    const prepared: PreparedFile[] = [];
    for (const path of files) {
      if (documents.get(pathToFileURL(path).href)) continue;
      const file = await readDisk(path);
      if (file) {
        workspace.update(file);
        prepared.push(file);
      }
      // Let requests from the editor in between files.
      await new Promise((resolve) => setImmediate(resolve));
    }
    generation++;
    for (const file of prepared) {
      try {
        publishDisk(file);
      } catch (error) {
        connection.console.error(`mesh-policy: could not check ${file.file.path}: ${describe(error)}`);
      }
      await new Promise((resolve) => setImmediate(resolve));
    }
    documents.all().forEach((d) => schedule(d, 0));
  }

  function loadProjectConfig(): void {
    const root = workspaceFolders[0] ?? process.cwd();
    const configured = settings.configFile ? (isAbsolute(settings.configFile) ? settings.configFile : join(root, settings.configFile)) : undefined;
    workspace.config = configured ? loadConfig(configured) : findConfig(root);
    for (const problem of workspace.config.problems) connection.console.warn(`mesh-policy: ${problem}`);
    generation++;
  }

  function applySettings(next: ServerSettings): void {
    settings = next;
    engine.options = { ...engine.options, limits: readLimits(settings), rules: settings.rules };
    openResults.clear();
    openPrepared.clear();
  }

  async function refreshSettings(): Promise<void> {
    if (!canPullConfiguration) return;
    try {
      applySettings(mergeSettings(await connection.workspace.getConfiguration('meshPolicy')));
    } catch {
      applySettings(DEFAULT_SETTINGS);
    }
  }

  connection.onInitialize((params: InitializeParams): InitializeResult => {
    canPullConfiguration = Boolean(params.capabilities.workspace?.configuration);
    applySettings(mergeSettings((params.initializationOptions as { settings?: unknown } | undefined)?.settings));
    workspaceFolders = (params.workspaceFolders ?? []).map((f) => pathOf(f.uri));
    if (workspaceFolders.length === 0 && params.rootUri) workspaceFolders = [pathOf(params.rootUri)];
    loadProjectConfig();
    return {
      capabilities: {
        textDocumentSync: { openClose: true, change: TextDocumentSyncKind.Incremental },
        hoverProvider: true,
        completionProvider: { triggerCharacters: [':', ' ', '-'], resolveProvider: false },
        codeActionProvider: { codeActionKinds: [CodeActionKind.QuickFix, FIX_ALL_KIND] },
      },
      serverInfo: { name: 'mesh-policy-server', version: VERSION },
    };
  });

  connection.onInitialized(async () => {
    engine.warmUp();
    if (canPullConfiguration) {
      void connection.client.register(DidChangeConfigurationNotification.type, { section: 'meshPolicy' }).catch(() => undefined);
      await refreshSettings();
      loadProjectConfig();
    }
    void validateWorkspace().catch((error) => connection.console.error(`mesh-policy: workspace scan failed: ${describe(error)}`));
  });

  connection.onDidChangeConfiguration(async (change) => {
    if (canPullConfiguration) await refreshSettings();
    else applySettings(mergeSettings((change.settings as { meshPolicy?: unknown } | undefined)?.meshPolicy));
    loadProjectConfig();
    await validateWorkspace();
  });

  connection.onDidChangeWatchedFiles(async ({ changes }) => {
    if (changes.some((c) => c.uri.endsWith(`/${CONFIG_FILE_NAME}`) || (workspace.config.file && pathOf(c.uri) === workspace.config.file))) {
      loadProjectConfig();
      openResults.clear();
      await validateWorkspace();
      return;
    }
    for (const change of changes) {
      if (!change.uri.startsWith('file:') || !formatFromPath(change.uri) || documents.get(change.uri)) continue;
      await lintFromDisk(pathOf(change.uri));
    }
  });

  documents.onDidOpen((event) => validateNow(event.document));
  documents.onDidChangeContent((event) => schedule(event.document));
  documents.onDidClose((event) => {
    openResults.delete(event.document.uri);
    openPrepared.delete(event.document.uri);
    workspace.remove(pathOf(event.document.uri));
    generation++;
    clearTimeout(timers.get(event.document.uri));
    publish(connection, event.document.uri, undefined);
    if (event.document.uri.startsWith('file:') && settings.validateWorkspace) void lintFromDisk(pathOf(event.document.uri));
  });

  const withResult = <T>(uri: string, fallback: T, run: (result: LintResult) => T): T => {
    const document = documents.get(uri);
    if (!document) return fallback;
    try {
      return run(lintDocument(document));
    } catch (error) {
      connection.console.error(`mesh-policy: request failed for ${uri}: ${describe(error)}`);
      return fallback;
    }
  };

  // Custom request for the client's "Insert access log configuration" command: the snippets are
  // engine data, so the client stays free of mesh knowledge.
  connection.onRequest(ACCESS_LOG_CONFIGURATION_REQUEST, () => LOG_CONFIGURATION);

  connection.onHover((params) => withResult(params.textDocument.uri, null, (result) => hover(engine, result, params.position)));
  connection.onCompletion((params) => withResult(params.textDocument.uri, [], (result) => completion(engine, result, params.position)));
  connection.onCodeAction((params) => withResult(params.textDocument.uri, [], (result) => codeActions(params, result)));

  documents.listen(connection);
  connection.listen();
}

function languageFormat(languageId: string): 'yaml' | 'json' | 'hcl' | undefined {
  if (languageId === 'json' || languageId === 'jsonc') return 'json';
  if (languageId === 'hcl' || languageId === 'terraform') return 'hcl';
  if (languageId === 'yaml') return 'yaml';
  return undefined;
}

function describe(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

/** Entry point of the bundle and of `mesh-policy-server --stdio`. */
export function main(): void {
  const connection = createConnection(ProposedFeatures.all);
  process.on('uncaughtException', (error) => connection.console.error(`mesh-policy: unexpected error: ${describe(error)}`));
  process.on('unhandledRejection', (error) => connection.console.error(`mesh-policy: unexpected rejection: ${describe(error)}`));
  startServer(connection);
}

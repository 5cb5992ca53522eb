import { readFile } from 'node:fs/promises';
import { fileURLToPath, pathToFileURL } from 'node:url';
import {
  CodeActionKind, createConnection, DidChangeConfigurationNotification, ProposedFeatures, TextDocuments,
  TextDocumentSyncKind, type Connection, type InitializeParams, type InitializeResult,
} from 'vscode-languageserver/node';
import { TextDocument } from 'vscode-languageserver-textdocument';
import { Engine, type LintResult } from '../engine/engine';
import { formatFromPath } from '../engine/source/sourceFile';
import { collectPolicyFiles } from '../engine/workspaceFiles';
import { VERSION } from '../version';
import { codeActions, FIX_ALL_KIND } from './codeActions';
import { completion } from './completion';
import { hover } from './hover';
import { DEFAULT_SETTINGS, mergeSettings, readLimits, type ServerSettings } from './settings';
import { publish } from './validation';

const DEBOUNCE_MS = 60;

/** Wires the engine to an LSP connection. Every feature is a thin adapter in its own module. */
export function startServer(connection: Connection): void {
  const documents = new TextDocuments(TextDocument);
  const engine = new Engine();
  const openResults = new Map<string, { version: number; result: LintResult }>();
  const diskUris = new Set<string>();
  const timers = new Map<string, NodeJS.Timeout>();
  let settings: ServerSettings = DEFAULT_SETTINGS;
  let workspaceFolders: string[] = [];
  let canPullConfiguration = false;

  const pathOf = (uri: string): string => (uri.startsWith('file:') ? fileURLToPath(uri) : uri);

  function lintDocument(document: TextDocument): LintResult {
    const cached = openResults.get(document.uri);
    if (cached && cached.version === document.version) return cached.result;
    const result = engine.lintText(pathOf(document.uri), document.getText(), formatFromPath(document.uri) ?? languageFormat(document.languageId));
    openResults.set(document.uri, { version: document.version, result });
    return result;
  }

  function validateNow(document: TextDocument): void {
    try {
      publish(connection, document.uri, lintDocument(document), document.version);
    } catch (error) {
      connection.console.error(`mesh-policy: could not check ${document.uri}: ${describe(error)}`);
    }
  }

  function schedule(document: TextDocument): void {
    clearTimeout(timers.get(document.uri));
    timers.set(document.uri, setTimeout(() => {
      timers.delete(document.uri);
      const current = documents.get(document.uri);
      if (current) validateNow(current);
    }, DEBOUNCE_MS));
  }

  async function lintFromDisk(path: string): Promise<void> {
    const uri = pathToFileURL(path).href;
    if (documents.get(uri)) return;
    try {
      const result = engine.lintText(path, await readFile(path, 'utf8'));
      if (result.findings.length || diskUris.has(uri)) publish(connection, uri, result);
      if (result.findings.length) diskUris.add(uri);
      else diskUris.delete(uri);
    } catch {
      if (diskUris.delete(uri)) publish(connection, uri, undefined);
    }
  }

  async function validateWorkspace(): Promise<void> {
    if (!settings.validateWorkspace) return;
    const { files } = collectPolicyFiles(workspaceFolders, 20_000);
    for (const path of files) {
      await lintFromDisk(path);
      // Let requests from the editor in between files.
      await new Promise((resolve) => setImmediate(resolve));
    }
  }

  async function refreshSettings(): Promise<void> {
    if (!canPullConfiguration) return;
    try {
      settings = mergeSettings(await connection.workspace.getConfiguration('meshPolicy'));
    } catch {
      settings = DEFAULT_SETTINGS;
    }
    engine.options = { ...engine.options, limits: readLimits(settings) };
    openResults.clear();
  }

  connection.onInitialize((params: InitializeParams): InitializeResult => {
    canPullConfiguration = Boolean(params.capabilities.workspace?.configuration);
    settings = mergeSettings((params.initializationOptions as { settings?: unknown } | undefined)?.settings);
    engine.options = { ...engine.options, limits: readLimits(settings) };
    workspaceFolders = (params.workspaceFolders ?? []).map((f) => pathOf(f.uri));
    if (workspaceFolders.length === 0 && params.rootUri) workspaceFolders = [pathOf(params.rootUri)];
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
    }
    void validateWorkspace().catch((error) => connection.console.error(`mesh-policy: workspace scan failed: ${describe(error)}`));
  });

  connection.onDidChangeConfiguration(async (change) => {
    if (canPullConfiguration) await refreshSettings();
    else settings = mergeSettings((change.settings as { meshPolicy?: unknown } | undefined)?.meshPolicy);
    engine.options = { ...engine.options, limits: readLimits(settings) };
    openResults.clear();
    documents.all().forEach(schedule);
  });

  connection.onDidChangeWatchedFiles(async ({ changes }) => {
    for (const change of changes) {
      if (!change.uri.startsWith('file:') || !formatFromPath(change.uri) || documents.get(change.uri)) continue;
      await lintFromDisk(pathOf(change.uri));
    }
  });

  documents.onDidOpen((event) => validateNow(event.document));
  documents.onDidChangeContent((event) => schedule(event.document));
  documents.onDidClose((event) => {
    openResults.delete(event.document.uri);
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

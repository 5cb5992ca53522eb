import { isAbsolute, join, sep } from 'node:path';
import { existsSync } from 'node:fs';
import { fileURLToPath, pathToFileURL } from 'node:url';
import {
  CodeActionKind, createConnection, DidChangeConfigurationNotification, FileChangeType, ProposedFeatures, TextDocuments,
  TextDocumentSyncKind, type Connection, type InitializeParams, type InitializeResult, type WorkspaceEdit,
} from 'vscode-languageserver/node';
import { TextDocument } from 'vscode-languageserver-textdocument';
import { consoleToClient, stdioTransport } from './transport';
import { Engine, type LintResult } from '../engine/engine';
import { formatFromPath, type SourceFormat } from '../engine/source/sourceFile';
import { collectPolicyFiles, walkNotes } from '../engine/workspaceFiles';
import { CONFIG_FILE_NAME, findConfig, loadConfig } from '../engine/config/projectConfig';
import { WorkspaceModel, type PreparedFile } from '../engine/workspace';
import { meshConfigNotes } from '../engine/istio/meshConfig';
import { VERSION } from '../version';
import { LOG_CONFIGURATION } from '../engine/traffic/logConfiguration';
import type { Finding } from '../engine/findings';
import { buildAuditModel, generateChecked, renderReportHtml, renderTrafficMapHtml } from '../engine/audit';
import { DEFAULT_MAX_TESTS, policyTestsFromTraffic } from '../engine/policyTests/fromTraffic';
import { redactorFor } from '../engine/traffic/redact';
import { renderAccessCsv } from '../engine/audit/render/csv';
import { translatePolicies } from '../engine/translate';
import { edgeFixes } from '../engine/trafficFixes';
import { actionInLineEndings, uriOf } from './convert';
import { compileGlob } from '../engine/traffic/ingest';
import { yamlSchemaContent } from '../engine/schema/yamlExtension';
import { codeActions, FIX_ALL_KIND, fixAllActions, trafficCodeActions, TRANSLATE_KIND, translateActions } from './codeActions';
import { codeLenses, policyTestLenses } from './codeLens';
import { completion, policyTemplateItems } from './completion';
import { hover } from './hover';
import { DEFAULT_SETTINGS, mergeSettings, readLimits, type ServerSettings } from './settings';
import { TrafficService } from './traffic';
import type { TrafficInsight } from '../engine/insight/trafficInsight';
import { registerTrafficRequests } from './trafficRequests';
import { appliesToText, registerAuthzRequests, workloadLenses } from './authz';
import { relativePlaces } from './places';
import { workspaceAuthz, type WorkspaceAuthz } from '../engine/authz';
import { publish, publishesWritten } from './validation';
import { EditQueue } from './editQueue';
import { IdleCollector } from './idleCollector';
import { EditRehearsal } from './editRehearsal';
import { rehearsalText } from '../engine/rehearsal';
import { EditorRedaction } from './redaction';
import { refuseAfterShutdown, shutdownGate } from './shutdown';
import { answer, cancelQueued } from './cancellation';
import { Pace } from '../engine/pace';
import type { AccessRecord } from '../engine/traffic/accessRecord';
import { decideWrittenCall, parseWrittenCall } from '../engine/traffic/writtenCall';
import { Simulation } from '../engine/simulate';
import { accessAgainstTraffic, accessMapPaced, REPORT_MAX_ACCESS_CELLS } from '../engine/access';
import { workspaceAccess } from '../engine/access/workspaceAccess';
import { writtenCallMarkdown } from '../engine/insight/render';
import { workspaceNavigation } from '../engine/navigate';
import { LivePolicyTests } from '../engine/policyTests/live';
import { policyTestDigest, policyTestHover, PolicyTestRequests, registerAddPolicyTest, registerPolicyTestRequests } from './policyTests';
import { definitionAnswer, documentSymbolsAnswer, prepareRenameAnswer, referencesAnswer, renameAnswer, workspaceSymbolsAnswer } from './navigation';

export const ACCESS_LOG_CONFIGURATION_REQUEST = 'meshPolicy/accessLogConfiguration';
/** → `PolicyTemplateItem[]`: the templates of a new policy, as snippets filled in from the workspace (docs/new-policy.md). */
export const POLICY_TEMPLATES_REQUEST = 'meshPolicy/policyTemplates';
/** The content of a schema URI the client contributed to the Red Hat YAML extension (`schema/yamlExtension.ts`), or null. */
export const YAML_SCHEMA_CONTENT_REQUEST = 'meshPolicy/yamlSchemaContent';
/** Sent after each new simulation, so that open reports and maps refresh. */
export const SIMULATED_NOTIFICATION = 'meshPolicy/simulated';

const CROSS_FILE_DELAY_MS = 250;
const TRAFFIC_RELOAD_DELAY_MS = 500;

export interface ServerOptions {
  /** How ingest workers start when the server runs from its bundle. */
  workerEntry?: { file: string; argv: string[] };
  /** How the workers that parse big inventory files start when the server runs from its bundle. */
  inventoryWorkerEntry?: { file: string; argv: string[] };
}

/** Wires the engine to an LSP connection. Every feature is a thin adapter in its own module. */
export function startServer(connection: Connection, options: ServerOptions = {}): void {
  const documents = new TextDocuments(TextDocument);
  const engine = new Engine();
  engine.workerEntry = options.inventoryWorkerEntry;
  const workspace = new WorkspaceModel();
  /** Bumped whenever the workspace changes, so results computed against an older one are redone. */
  let generation = 0;
  const openResults = new Map<string, { version: number; generation: number; result: LintResult }>();
  const openPrepared = new Map<string, { version: number; prepared: PreparedFile }>();
  const diskUris = new Set<string>();
  /** Open documents to validate again a little later (checks across files may read what changed elsewhere). */
  const crossFileTimers = new Map<string, NodeJS.Timeout>();
  let settings: ServerSettings = DEFAULT_SETTINGS;
  let workspaceFolders: string[] = [];
  /** The first workspace folder's URI as the client sent it: the scope of the settings pulled (a folder's own settings apply to its server). */
  let settingsScope: string | undefined;
  let canPullConfiguration = false;
  let canRefreshLenses = false;
  let definitionLinks = false;
  let snippets = false;
  let trusted = true;
  /** What was last published per URI: lint findings and findings from the traffic simulation. */
  const lintFindings = new Map<string, Finding[]>();
  /** The version of each open document its lint findings were computed for: every publish says that version. */
  const lintVersions = new Map<string, number>();
  /**
   * Open documents linted again whose lint findings came out as published: publishing them
   * again would only repeat what the editor shows under a new version, so they go out with the
   * re-simulation that follows (any publish of the file takes them off). So do those of an edit
   * that moved the file's traffic findings.
   */
  const awaitingSimulation = new Set<string>();
  /** The line count of each open document when it was last linted. */
  const lintLineCounts = new Map<string, number>();
  let trafficFindings = new Map<string, Finding[]>();
  /** The policy tests' findings (MPA0005, MPA0006) per test file, decided again after every change (`engine/policyTests`). */
  let policyTests = new LivePolicyTests();
  let testFindings = new Map<string, Finding[]>();
  /**
   * Each file's text when its traffic and test findings were last decided: their fixes edit that
   * text, so a code action asked for after an edit that has not been simulated yet leaves them out,
   * even where the diagnostic kept its range.
   */
  const decidedTexts = new Map<string, string | undefined>();
  let lastTestDigest = '';
  let trafficReloadTimer: NodeJS.Timeout | undefined;
  let lastInsight: TrafficInsight | undefined;
  const redaction = new EditorRedaction();
  redaction.guardLog(connection);
  let redactedFor: unknown;
  /** Until the first scan has read the workspace's policies, "which policies apply" would say none: not asked. */
  let workspaceScanned = false;
  const traffic = new TrafficService(connection, workspace, () => workspaceFolders, () => {
    refreshTraffic();
    idle.loaded();
    rehearsal.schedule();
  }, options.workerEntry);

  function send(uri: string): void {
    publish(connection, uri, [...(lintFindings.get(uri) ?? []), ...(trafficFindings.get(uri) ?? []), ...(testFindings.get(uri) ?? [])], lintVersions.get(uri));
  }

  function currentInsight() {
    try {
      return traffic.insight(generation, settings.rules);
    } catch (error) {
      connection.console.error(`mesh-policy: simulation failed: ${describe(error)}`);
      return undefined;
    }
  }

  /**
   * Re-simulates if the policies or the traffic changed, and republishes the files whose traffic
   * findings changed. An insight built by difference names the files whose findings may have
   * changed; only those are computed again and compared. `alsoSend`: files to publish in any
   * case (their lint findings are new).
   */
  function refreshTraffic(alsoSend: readonly string[] = []): void {
    let simulated = false;
    try {
      simulated = simulateAndCompare(alsoSend);
      runPolicyTests(alsoSend);
      decidedTexts.clear();
      for (const uri of new Set([...trafficFindings.keys(), ...testFindings.keys()])) decidedTexts.set(uri, workspace.sourceFile(pathOf(uri))?.text);
    } finally {
      for (const uri of alsoSend) send(uri);
    }
    // After the diagnostics: the client asks for lenses when told, and they are not what an edit waits for.
    if (canRefreshLenses) void connection.sendRequest('workspace/codeLens/refresh').catch(() => undefined);
    if (simulated) void connection.sendNotification(SIMULATED_NOTIFICATION, {});
  }

  /** Re-simulates and publishes what changed; true when the insight is new. */
  function simulateAndCompare(alsoSend: readonly string[]): boolean {
    if (traffic.shapes !== redactedFor) {
      redactedFor = traffic.shapes;
      redaction.observe(traffic.shapes.map((shape): AccessRecord => shape.record));
    }
    const insight = currentInsight();
    if (insight !== lastInsight) {
      const previous = trafficFindings;
      // Findings of files outside dirtyFiles are as published only when built from the insight last published.
      const incremental = insight?.dirtyFiles !== undefined && lastInsight !== undefined && insight.basis === lastInsight;
      const next = incremental ? new Map(previous) : new Map<string, Finding[]>();
      const paths = !insight ? [] : incremental ? [...insight.dirtyFiles!] : insight.files;
      const uris = new Set(incremental ? [] : previous.keys());
      for (const path of paths) {
        const uri = pathToFileURL(path).href;
        uris.add(uri);
        const findings = insight!.findings(path).map((finding) => redaction.finding(finding));
        if (findings.length) next.set(uri, findings);
        else next.delete(uri);
      }
      trafficFindings = next;
      for (const uri of uris) if (!alsoSend.includes(uri) && !sameFindings(previous.get(uri), next.get(uri))) send(uri);
    }
    const simulated = insight !== undefined && insight !== lastInsight;
    lastInsight = insight;
    return simulated;
  }

  /** Decides the policy tests again and publishes the test files whose findings changed. */
  function runPolicyTests(alsoSend: readonly string[]): void {
    const previous = testFindings;
    const next = new Map<string, Finding[]>();
    if (trusted) {
      try {
        for (const [path, findings] of policyTests.findings(workspace, { ...workspace.config.rules, ...settings.rules })) if (findings.length) next.set(pathToFileURL(path).href, findings.map((finding) => redaction.finding(finding)));
      } catch (error) {
        connection.console.error(`mesh-policy: policy tests failed to run: ${describe(error)}`);
        policyTests = new LivePolicyTests();
      }
    }
    testFindings = next;
    for (const uri of new Set([...previous.keys(), ...next.keys()])) if (!alsoSend.includes(uri) && !sameFindings(previous.get(uri), next.get(uri))) send(uri);
    // The client's Test Explorer lists the tests again when they, or their outcomes, changed
    const digest = trusted ? policyTestDigest(policyTests) : '';
    if (digest !== lastTestDigest) {
      lastTestDigest = digest;
      void connection.sendNotification(PolicyTestRequests.changed, {});
    }
  }

  function isTrafficFile(path: string): boolean {
    const root = workspace.config.root;
    const relativePath = path.startsWith(root) ? path.slice(root.length).replace(/^[\\/]+/, '').split('\\').join('/') : undefined;
    return relativePath !== undefined && workspace.config.traffic.some((glob) => compileGlob(glob).test(relativePath));
  }

  function scheduleTrafficReload(): void {
    clearTimeout(trafficReloadTimer);
    trafficReloadTimer = setTimeout(() => void traffic.load(), TRAFFIC_RELOAD_DELAY_MS);
  }

  const pathOf = (uri: string): string => (uri.startsWith('file:') ? fileURLToPath(uri) : uri);

  /**
   * Whether a document or file is part of the workspace model, and so of checks across files and
   * of the simulation: a file under a workspace folder (any file when no folder is open). An
   * untitled buffer, a git: diff view's side, a notebook cell or a file elsewhere is linted alone.
   */
  function inWorkspace(uri: string): boolean {
    if (!uri.startsWith('file:')) return false;
    const path = fileURLToPath(uri);
    return !workspaceFolders.length || workspaceFolders.some((folder) => path === folder || path.startsWith(folder.endsWith(sep) ? folder : folder + sep));
  }

  function prepareDocument(document: TextDocument): PreparedFile {
    const cached = openPrepared.get(document.uri);
    if (cached && cached.version === document.version) return cached.prepared;
    const format = formatFromPath(document.uri) ?? languageFormat(document.languageId);
    const path = pathOf(document.uri);
    const prepared = inWorkspace(document.uri) ? takeIn(path, document.getText(), format) : engine.prepare(engine.read(path, document.getText(), format));
    openPrepared.set(document.uri, { version: document.version, prepared });
    return prepared;
  }

  /** Reads `text` as the file at `path` into the workspace, and tells the traffic and the caches. */
  function takeIn(path: string, text: string, format: SourceFormat | undefined): PreparedFile {
    const prepared = engine.prepare(engine.read(path, text, format));
    workspace.update(prepared);
    traffic.noteChanged(prepared.file.path);
    generation++;
    return prepared;
  }

  function lintDocument(document: TextDocument): LintResult {
    const prepared = prepareDocument(document);
    const cached = openResults.get(document.uri);
    if (cached && cached.version === document.version && cached.generation === generation) return cached.result;
    const result = engine.lint(prepared, inWorkspace(document.uri) ? workspace : aloneIn(prepared));
    openResults.set(document.uri, { version: document.version, generation, result });
    return result;
  }

  /** A workspace of the one file, under the project's configuration (its rule severities apply). */
  function aloneIn(prepared: PreparedFile): WorkspaceModel {
    const alone = new WorkspaceModel(workspace.config);
    alone.update(prepared);
    return alone;
  }

  /**
   * Lints the documents and publishes their findings (with their traffic findings as last
   * published); the edit queue re-simulates on a later turn, after the lint result is on its
   * way. A file whose lint findings did not change waits for the re-simulation instead
   * (`awaitingSimulation`): then one publish carries both.
   */
  function validateDocuments(uris: readonly string[]): void {
    const linted: string[] = [];
    const lintChanged: string[] = [];
    let changedWorkspace = false;
    /** The workspace generation each document was linted against. */
    const lintedAt = new Map<string, number>();
    for (const uri of uris) {
      const document = documents.get(uri);
      if (!document || !hasDiagnostics(uri)) continue;
      try {
        const before = generation;
        const linesBefore = lintLineCounts.get(uri);
        // A document just opened has the traffic findings of the file as the workspace had it (on disk).
        const simulatedText = linesBefore === undefined && trafficFindings.get(uri)?.length ? workspace.sourceFile(pathOf(uri))?.text : undefined;
        const findings = lintDocument(document).findings;
        // An edit that adds or removes lines moves the traffic findings below it, and a document opened
        // with text other than the file's may have them anywhere: published now, the lint findings would
        // go out with those at their old places. They wait for the simulation.
        const movesTrafficFindings = !!trafficFindings.get(uri)?.length && (linesBefore !== undefined ? linesBefore !== document.lineCount : simulatedText !== undefined && simulatedText !== document.getText());
        if (!movesTrafficFindings && (!lintFindings.has(uri) || !sameFindings(lintFindings.get(uri), findings))) lintChanged.push(uri);
        lintFindings.set(uri, findings);
        lintVersions.set(uri, document.version);
        lintLineCounts.set(uri, document.lineCount);
        linted.push(uri);
        lintedAt.set(uri, generation);
        changedWorkspace ||= generation !== before;
      } catch (error) {
        connection.console.error(`mesh-policy: could not check ${uri}: ${describe(error)}`);
      }
    }
    // Checks across files (a selector matching no workload, duplicate intentions) may read
    // what just changed: refresh the other open files a little later.
    // So may a document of this batch linted before a later one changed the workspace (a CRD opened
    // with a policy).
    if (changedWorkspace) for (const other of documents.all()) if (!uris.includes(other.uri) || (lintedAt.get(other.uri) ?? generation) !== generation) validateLater(other.uri);
    for (const uri of linted) {
      if (lintChanged.includes(uri)) send(uri);
      else awaitingSimulation.add(uri);
    }
  }

  /** Re-simulates after an edit, and publishes the files awaiting it in any case. */
  function simulateAfterEdit(): void {
    try {
      refreshTraffic([...awaitingSimulation]);
    } catch (error) {
      connection.console.error(`mesh-policy: could not simulate after an edit: ${describe(error)}`);
    }
  }

  /**
   * One rehearsal of the edit path (`EditRehearsal`) on the first open document with a named
   * resource: its changed copy is validated and simulated without publishing anything, then its
   * own text again, as after an edit (whose findings, the same as published, are not sent again).
   */
  function rehearseOnce(): boolean {
    const reach = traffic.reachEstimator();
    for (const document of documents.all()) {
      const open = openPrepared.get(document.uri);
      if (!open || open.version !== document.version || !inWorkspace(document.uri)) continue;
      const text = rehearsalText(open.prepared, reach);
      if (text === undefined) continue;
      const { uri } = document;
      const path = pathOf(uri);
      try {
        try {
          const rehearsed = takeIn(path, text, open.prepared.file.format);
          engine.lint(rehearsed, workspace);
          traffic.insight(generation, settings.rules, true)?.findings(path);
        } finally {
          openPrepared.delete(uri);
          const findings = lintDocument(document).findings;
          if (!sameFindings(lintFindings.get(uri), findings)) {
            lintFindings.set(uri, findings);
            send(uri);
          }
          simulateAndCompare([]);
        }
      } catch (error) {
        connection.console.error(`mesh-policy: the edit rehearsal on ${uri} failed: ${describe(error)}`);
        // Whatever state it left, the document is validated again as after a change.
        openPrepared.delete(uri);
        edits.changed(uri);
        return false;
      }
      return true;
    }
    return false;
  }

  const idle = new IdleCollector(() => edits.busy);
  const rehearsal = new EditRehearsal({
    busy: () => edits.busy || traffic.loading,
    traffic: () => (traffic.shapes.length ? traffic.shapes : undefined),
    rehearseOnce,
    log: (message) => connection.console.log(message),
  });
  const edits: EditQueue = new EditQueue(validateDocuments, simulateAfterEdit, () => idle.answered(publishesWritten()));

  function validateLater(uri: string): void {
    clearTimeout(crossFileTimers.get(uri));
    crossFileTimers.set(uri, setTimeout(() => {
      crossFileTimers.delete(uri);
      edits.changed(uri);
    }, CROSS_FILE_DELAY_MS));
  }

  async function readDisk(path: string): Promise<PreparedFile | undefined> {
    try {
      return engine.prepare(await engine.readFileAsync(path));
    } catch {
      return undefined;
    }
  }

  function publishDisk(prepared: PreparedFile): void {
    const uri = pathToFileURL(prepared.file.path).href;
    if (documents.get(uri)) return;
    const result = engine.lint(prepared, workspace);
    lintFindings.set(uri, result.findings);
    if (result.findings.length || diskUris.has(uri) || trafficFindings.has(uri)) send(uri);
    if (result.findings.length) diskUris.add(uri);
    else diskUris.delete(uri);
  }

  async function lintFromDisk(path: string): Promise<void> {
    const uri = pathToFileURL(path).href;
    if (documents.get(uri) || !inWorkspace(uri)) return;
    const prepared = await readDisk(path);
    // Opened while it was read (a close and an open at once): the editor's text is the file's now.
    if (documents.get(uri)) return;
    if (!prepared) {
      forget(path);
      refreshTraffic();
      return;
    }
    workspace.update(prepared);
    traffic.noteChanged(path);
    generation++;
    publishDisk(prepared);
    refreshTraffic();
  }

  /** Drops a file that is gone from disk (and not open) from the workspace and clears its diagnostics. */
  function forget(path: string): void {
    const uri = pathToFileURL(path).href;
    workspace.remove(path);
    traffic.noteChanged(path);
    generation++;
    lintFindings.delete(uri);
    if (diskUris.delete(uri)) send(uri);
  }

  /** Reads every file first, so that checks across files see the whole workspace, then lints. */
  async function validateWorkspace(): Promise<void> {
    if (!settings.validateWorkspace) return;
    const walk = collectPolicyFiles(workspaceFolders, 20_000);
    const { files } = walk;
    const notes = walkNotes(walk, workspaceFolders[0] ?? '/');
    for (const note of [...notes.skipped, ...notes.unreadable]) connection.console.warn(`mesh-policy: ${note}`);
    const prepared: PreparedFile[] = [];
    // Cancellable: the files read so far are checked, the rest only once opened.
    const progress = files.length ? await connection.window.createWorkDoneProgress().catch(() => undefined) : undefined;
    let cancelled = false;
    progress?.begin('Mesh Policy: checking the workspace', 0, `${files.length} files`, true);
    progress?.token.onCancellationRequested(() => { cancelled = true; });
    let lastReport = Date.now();
    for (const [index, path] of files.entries()) {
      if (cancelled) {
        connection.console.info(`mesh-policy: checking the workspace was cancelled after ${index} of ${files.length} files; open files are still checked`);
        break;
      }
      if (Date.now() - lastReport > 200) {
        lastReport = Date.now();
        progress?.report(Math.floor((100 * index) / files.length), `${index} of ${files.length} files`);
      }
      if (documents.get(pathToFileURL(path).href)) continue;
      const file = await readDisk(path);
      if (file && !documents.get(pathToFileURL(path).href)) {
        workspace.update(file);
        traffic.noteChanged(path);
        prepared.push(file);
      }
      // Let requests from the editor in between files.
      await new Promise((resolve) => setImmediate(resolve));
    }
    progress?.done();
    generation++;
    for (const note of meshConfigNotes(workspace.config.istio, true)) connection.console.info(`mesh-policy: ${note}`);
    for (const file of prepared) {
      try {
        publishDisk(file);
      } catch (error) {
        connection.console.error(`mesh-policy: could not check ${file.file.path}: ${describe(error)}`);
      }
      await new Promise((resolve) => setImmediate(resolve));
    }
    documents.all().forEach((d) => edits.changed(d.uri));
  }

  /** The first scan, then the traffic (its callers are resolved against the inventory the scan read). */
  async function scanThenLoadTraffic(): Promise<void> {
    await validateWorkspace().catch((error) => connection.console.error(`mesh-policy: workspace scan failed: ${describe(error)}`));
    if (!workspaceScanned) {
      workspaceScanned = true;
      // the workloads' lenses, held back during the scan, can now say which policies apply
      if (canRefreshLenses) void connection.sendRequest('workspace/codeLens/refresh').catch(() => undefined);
    }
    traffic.enabled = trusted && settings.traffic.enabled;
    traffic.disabledBecause = trusted ? 'meshPolicy.traffic.enabled is off' : 'the workspace is not trusted';
    traffic.baselineRef = settings.traffic.baseline;
    await traffic.load();
  }

  function loadProjectConfig(): void {
    const root = workspaceFolders[0] ?? process.cwd();
    const configured = settings.configFile ? (isAbsolute(settings.configFile) ? settings.configFile : join(root, settings.configFile)) : undefined;
    workspace.config = configured ? loadConfig(configured) : findConfig(root);
    // (a simulation kept across a configuration change would decide with the old settings)
    policyTests = new LivePolicyTests();
    for (const problem of workspace.config.problems) connection.console.warn(`mesh-policy: ${problem.message}`);
    redaction.configure(workspace.config);
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
      applySettings(mergeSettings(await connection.workspace.getConfiguration({ ...(settingsScope ? { scopeUri: settingsScope } : {}), section: 'meshPolicy' })));
    } catch {
      applySettings(DEFAULT_SETTINGS);
    }
  }

  connection.onInitialize((params: InitializeParams): InitializeResult => {
    canPullConfiguration = Boolean(params.capabilities.workspace?.configuration);
    canRefreshLenses = Boolean(params.capabilities.workspace?.codeLens?.refreshSupport);
    definitionLinks = Boolean(params.capabilities.textDocument?.definition?.linkSupport);
    snippets = Boolean(params.capabilities.textDocument?.completion?.completionItem?.snippetSupport);
    const initOptions = params.initializationOptions as { settings?: unknown; trusted?: unknown } | undefined;
    trusted = initOptions?.trusted !== false;
    applySettings(mergeSettings(initOptions?.settings));
    workspaceFolders = (params.workspaceFolders ?? []).map((f) => pathOf(f.uri));
    settingsScope = params.workspaceFolders?.[0]?.uri ?? params.rootUri ?? undefined;
    if (workspaceFolders.length === 0 && params.rootUri) workspaceFolders = [pathOf(params.rootUri)];
    loadProjectConfig();
    return {
      capabilities: {
        textDocumentSync: { openClose: true, change: TextDocumentSyncKind.Incremental },
        hoverProvider: true,
        completionProvider: { triggerCharacters: [':', ' ', '-'], resolveProvider: false },
        codeActionProvider: { codeActionKinds: [CodeActionKind.QuickFix, FIX_ALL_KIND, TRANSLATE_KIND] },
        codeLensProvider: { resolveProvider: false },
        definitionProvider: true,
        referencesProvider: true,
        documentSymbolProvider: { label: 'Mesh policies' },
        workspaceSymbolProvider: true,
        renameProvider: { prepareProvider: true },
      },
      serverInfo: { name: 'mesh-policy-server', version: VERSION },
    };
  });

  connection.onInitialized(async () => {
    connection.console.log(`mesh-policy-server ${VERSION} on Node ${process.version}, process ${process.pid}, flags: ${process.execArgv.join(' ') || 'none'}`);
    engine.warmUp();
    if (canPullConfiguration) {
      void connection.client.register(DidChangeConfigurationNotification.type, { section: 'meshPolicy' }).catch(() => undefined);
      await refreshSettings();
      loadProjectConfig();
    }
    void scanThenLoadTraffic();
  });

  connection.onDidChangeConfiguration(async (change) => {
    if (canPullConfiguration) await refreshSettings();
    else applySettings(mergeSettings((change.settings as { meshPolicy?: unknown } | undefined)?.meshPolicy));
    loadProjectConfig();
    await scanThenLoadTraffic();
  });

  connection.onDidChangeWatchedFiles(async ({ changes }) => {
    if (changes.some((c) => c.uri.endsWith(`/${CONFIG_FILE_NAME}`) || (workspace.config.file && pathOf(c.uri) === workspace.config.file))) {
      loadProjectConfig();
      openResults.clear();
      await scanThenLoadTraffic();
      return;
    }
    for (const change of changes) {
      if (!change.uri.startsWith('file:')) continue;
      if (change.type === FileChangeType.Deleted && !formatFromPath(change.uri)) {
        // A deleted folder: the client names the folder only, not the files that were in it.
        const folder = pathOf(change.uri).replace(/[\\/]*$/, sep);
        const gone = workspace.sourceFiles.map((file) => file.path).filter((path) => path.startsWith(folder) && !documents.get(pathToFileURL(path).href));
        for (const path of gone) forget(path);
        if (gone.length) refreshTraffic();
      }
      if (isTrafficFile(pathOf(change.uri)) && !workspace.config.clickhouse) scheduleTrafficReload();
      if (!formatFromPath(change.uri) || documents.get(change.uri)) continue;
      await lintFromDisk(pathOf(change.uri));
    }
  });

  // (TextDocuments reports an opened document as changed too.)
  documents.onDidChangeContent((event) => edits.changed(event.document.uri));
  documents.onDidOpen(() => rehearsal.schedule());
  documents.onDidClose(({ document: { uri } }) => {
    openResults.delete(uri);
    openPrepared.delete(uri);
    clearTimeout(crossFileTimers.get(uri));
    edits.forget(uri);
    lintFindings.delete(uri);
    lintVersions.delete(uri);
    lintLineCounts.delete(uri);
    if (hasDiagnostics(uri)) send(uri);
    if (!inWorkspace(uri)) return;
    workspace.remove(pathOf(uri));
    traffic.noteChanged(pathOf(uri));
    generation++;
    if (settings.validateWorkspace) void lintFromDisk(pathOf(uri));
    else refreshTraffic();
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
  connection.onRequest(POLICY_TEMPLATES_REQUEST, () => policyTemplateItems(workspace));
  connection.onRequest(YAML_SCHEMA_CONTENT_REQUEST, (params: { uri?: unknown }) => (typeof params?.uri === 'string' ? yamlSchemaContent(engine.registry.catalog, params.uri) ?? null : null));
  refuseAfterShutdown(connection);

  /** A path as the user reads it: relative to the workspace folder. */
  const displayPath = (p: string): string => {
    const root = workspaceFolders[0];
    return root && p.startsWith(root + sep) ? p.slice(root.length + 1) : p;
  };

  /** Which policies apply to the workspace's workloads (`engine/authz`), for the files of the workspace, in a trusted one. */
  const authzFor = (uri: string): WorkspaceAuthz | undefined => (trusted && inWorkspace(uri) ? workspaceAuthz(workspace) : undefined);

  // Every request answers RequestCancelled once cancelled (`answer`); none runs when cancelled before it starts.
  connection.onHover((params, token) => answer(token, async (signal) => {
    const { uri } = params.textDocument;
    // The workloads a policy's attachment reaches are listed first, in slices (an edit or a
    // cancel that arrives meanwhile comes first); the hover is then built on the text as it is.
    let listedOn: string | undefined;
    const appliesTo = await withResult(uri, undefined, (result) => {
      // (after the lint, which takes the document's text into the workspace)
      const authz = workspaceScanned ? authzFor(uri) : undefined;
      if (!authz || params.position.line >= result.file.lines.lineCount) return undefined;
      listedOn = result.file.text;
      return appliesToText(result, authz, result.file.lines.offset(params.position), signal);
    })?.catch((error: unknown) => {
      if (!signal.aborted) connection.console.error(`mesh-policy: "Applies to" failed for ${uri}: ${describe(error)}`);
      return undefined;
    });
    signal.throwIfAborted();
    // (an edit that came in meanwhile may have moved what is under the cursor: the listing is then left out)
    return withResult(uri, null, (result) => {
      const listing = appliesTo === undefined || result.file.text !== listedOn ? undefined : appliesTo;
      // over a policy test: whether it passes, and the walkthrough of its call
      const tested = trusted && params.position.line < result.file.lines.lineCount ? policyTestHover(policyTests.results(result.file), result.file.lines.offset(params.position)) : undefined;
      const testText = tested && relativePlaces(redaction.aboutCall(tested.markdown, tested.record), workspaceFolders);
      // over a reference: what it names, and where
      const refers = params.position.line < result.file.lines.lineCount ? navigationFor(uri).referenceText(result.file, result.file.lines.offset(params.position), (p) => `${displayPath(p.file)}:${p.range.start.line + 1}`) : undefined;
      const more = [listing ?? testText, refers].filter((part): part is string => part !== undefined).join('\n\n');
      return hover(engine, result, params.position, currentInsight(), () => token.isCancellationRequested, (text) => redaction.text(text), more || undefined);
    });
  }));
  connection.onCodeLens((params, token) => answer(token, async (signal) => {
    const { uri } = params.textDocument;
    const [lenses, workloads] = withResult(uri, [[], undefined], (result) => {
      // (after the lint, which takes the document's text into the workspace)
      const authz = workspaceScanned ? authzFor(uri) : undefined;
      const tests = trusted ? policyTestLenses(result, policyTests.results(result.file)) : [];
      return [redaction.deep([...tests, ...codeLenses(result, currentInsight())]), authz && workloadLenses(result, authz, signal, workspaceAccess(workspace))];
    });
    // (the workloads' lenses give the event loop turns: an edit that comes in meanwhile is linted first)
    const more = await workloads?.catch((error: unknown) => {
      if (!signal.aborted) connection.console.error(`mesh-policy: workload lenses failed for ${uri}: ${describe(error)}`);
      return [];
    });
    return more ? [...lenses, ...more] : lenses;
  }));
  registerPolicyTestRequests(connection, () => {
    if (!trusted) return [];
    // edits typed and not yet linted are taken in first: the tests are decided with the text as shown
    for (const document of documents.all()) if (inWorkspace(document.uri)) prepareDocument(document);
    runPolicyTests([]);
    return policyTests.allResults();
  }, () => (trusted ? policyTests.coverage(workspace) : undefined), (listed) => redaction.deep(listed));
  registerAddPolicyTest(connection, (text) => {
    if (!trusted) return 'this workspace is not trusted: calls are decided only in a trusted workspace';
    const written = parseWrittenCall(text);
    if ('problem' in written) return `the call ${written.problem}`;
    for (const document of documents.all()) if (inWorkspace(document.uri)) prepareDocument(document);
    return decideWrittenCall(new Simulation(workspace), written.call, workspace.config).decision;
  }, (uri) => {
    // the text as the editor has it, else as on disk; undefined when there is no such file yet
    const path = uri.startsWith('file:') ? fileURLToPath(uri) : uri;
    const open = documents.get(uri);
    if (open) return engine.read(path, open.getText());
    return existsSync(path) ? engine.readFile(path) : undefined;
  });
  registerAuthzRequests(connection, {
    authz: () => (trusted ? workspaceAuthz(workspace) : 'This workspace is not trusted: Mesh Policy Auditor only lints policy files there. Trust the workspace to list the policies that apply to its workloads.'),
    displayPath,
    accessMap: async (filter, pace) => {
      if (!trusted) return 'This workspace is not trusted: Mesh Policy Auditor only lints policy files there. Trust the workspace to map who may call whom.';
      // edits typed and not yet linted are taken in first: the map is of the text as shown
      for (const document of documents.all()) if (inWorkspace(document.uri)) prepareDocument(document);
      const simulation = new Simulation(workspace);
      // with traffic loaded, who may is set against who did (docs/access-map.md, --traffic)
      const shapes = currentInsight()?.result.outcomes.map((o) => o.shape);
      if (!shapes?.length) return accessMapPaced(workspace, simulation, filter, pace);
      return redaction.deep(await accessAgainstTraffic(workspace, simulation, shapes, filter, pace));
    },
  });
  registerTrafficRequests(connection, {
    redact: (response) => redaction.deep(response),
    relativePlaces: (markdown) => relativePlaces(markdown, workspaceFolders),
    insight: () => currentInsight(),
    explainWritten: (call) => {
      if (!trusted) return 'This workspace is not trusted: Mesh Policy Auditor only lints policy files there. Trust the workspace to decide calls with its policies.';
      // edits typed and not yet linted are taken in first: the call is decided with the text as shown
      for (const document of documents.all()) if (inWorkspace(document.uri)) prepareDocument(document);
      const { record, decision } = decideWrittenCall(new Simulation(workspace), call, workspace.config);
      return redaction.aboutCall(writtenCallMarkdown(record, decision), record);
    },
    status: () => traffic.status,
    reload: async (signal) => {
      signal.addEventListener('abort', () => traffic.cancel(), { once: true });
      await traffic.load();
      return traffic.status;
    },
    generate: async (mesh, destination, signal) => {
      const shapes = traffic.shapes.filter((shape) => {
        const d = shape.record.destination;
        return (!destination.namespace || d?.namespace === destination.namespace) && (!destination.workload || d?.workload === destination.workload);
      });
      if (!shapes.length) return null;
      // decided again with the generated policies alone (in a copy of the workspace), as the CLI does
      const { generated, check } = await generateChecked(mesh, shapes, workspace.withoutPolicies(), {
        inventory: workspace.inventory, config: workspace.config, path: join(workspaceFolders[0] ?? process.cwd(), `generated-${mesh}.yaml`), signal,
        // the mTLS modes say whether a plaintext caller could have come in (Istio)
        peerAuthentications: workspace.resources.filter((r) => r.resource.mesh === 'istio' && r.resource.kind === 'PeerAuthentication'),
      });
      return { yaml: generated.yaml, resources: generated.resources, wouldDeny: check.denied, wouldAllow: check.allowed };
    },
    accessCsv: () => {
      const insight = currentInsight();
      if (!insight) return null;
      const { text, rows } = renderAccessCsv(insight.result.outcomes, { redactor: redactorFor(workspace.config), displayPath });
      return { csv: text, rows };
    },
    generateTests: (expect) => {
      const insight = currentInsight();
      if (!insight) return null;
      const generated = policyTestsFromTraffic(insight.result.outcomes, new Simulation(workspace), workspace.config, {
        expect, maxTests: DEFAULT_MAX_TESTS, redactor: redactorFor(workspace.config), displayPath,
      });
      return { yaml: generated.yaml, tests: generated.tests, failing: generated.failing };
    },
    auditHtml: async (view, nonce, signal) => {
      // a turn before the model and one before rendering it: a cancel that came in meanwhile stops
      // the request there (the model reads the insight and the workspace in the same turn)
      const pace = new Pace(signal);
      await pace.turn();
      // The report's access map is built in slices first; if an edit came in meanwhile, it is
      // built again in the turn that reads the insight and the workspace for the model.
      const accessOf = (insight: TrafficInsight, paced?: Pace) => accessAgainstTraffic(workspace, new Simulation(workspace), insight.result.outcomes.map((o) => o.shape), { maxCells: REPORT_MAX_ACCESS_CELLS }, paced);
      const started = generation;
      const first = view === 'report' ? currentInsight() : undefined;
      let access = first ? await accessOf(first, pace) : undefined;
      const insight = currentInsight();
      const stats = traffic.stats;
      if (!insight || !stats) return null;
      if (access && generation !== started) access = await accessOf(insight);
      const root = workspaceFolders[0];
      // The map's rule links must name files VS Code can open: absolute paths there.
      const relativePaths = view === 'report' && root ? { displayPath: (p: string) => (p.startsWith(root) ? p.slice(root.length + 1) : p) } : {};
      const model = buildAuditModel({ stats, result: insight.result, workspace, authentication: insight.authenticationSummaries(), refused: insight.notInEffect(), ...(access ? { access } : {}) }, { generatedAt: new Date().toISOString(), redactHeaders: workspace.config.redact.headers, ...relativePaths });
      await pace.turn();
      const options = { ...(nonce ? { nonce } : {}), title: view === 'map' ? 'Mesh Policy: traffic map' : 'Mesh Policy: access report', edgeActions: view === 'map' };
      return view === 'map' ? renderTrafficMapHtml(model, options) : renderReportHtml(model, options);
    },
    edgeFixes: (edge, action) => {
      const insight = currentInsight();
      if (!insight) return null;
      // Edits typed and not yet linted are taken in first, so that the fixes' positions are the
      // text's; each edited open file's version goes along, for the client to refuse a stale edit.
      for (const document of documents.all()) if (inWorkspace(document.uri)) prepareDocument(document);
      const found = edgeFixes({ workspace, outcomes: insight.result.outcomes, engine, edge, action });
      // Only the words are redacted: an edit must reach the file exactly as built (as code actions' edits do).
      return {
        calls: found.calls,
        notOffered: found.notOffered.map((reason) => redaction.text(reason)),
        fixes: found.fixes.map((fix) => {
          const uri = uriOf(fix.file);
          const version = documents.get(uri)?.version;
          return { title: redaction.text(fix.title), kind: fix.kind, edit: { changes: { [uri]: fix.edits } }, ...(version !== undefined ? { versions: { [uri]: version } } : {}) };
        }),
      };
    },
    translate: async (to, uri, signal) => {
      const path = uri === undefined ? undefined : pathOf(uri);
      const sources = workspace.resources.filter((r) => r.resource.mesh !== to && (path === undefined || r.file.path === path));
      if (!sources.length) return null;
      const root = workspaceFolders[0] ?? process.cwd();
      const translations = await translatePolicies(sources, to, { inventory: workspace.inventory, config: workspace.config }, {
        path: join(root, `translated-${to}.yaml`), signal, ...(traffic.shapes.length ? { observed: traffic.shapes } : {}),
        // one file's policies: what they target in the workspace's other files is read with them
        ...(path !== undefined ? { workspace: workspace.resources } : {}),
        displayPath: (p) => (p.startsWith(root + sep) ? p.slice(root.length + 1) : p),
      });
      return {
        yaml: translations.map((t) => t.yaml).join('---\n'),
        resources: translations.reduce((n, t) => n + t.written.resources, 0),
        notes: translations.reduce((n, t) => n + t.notes.length, 0),
        differing: translations.reduce((n, t) => n + t.check.probes.differing + (t.check.observed?.differing ?? 0), 0),
      };
    },
    prepare: (uri) => {
      const document = documents.get(uri);
      if (document) lintDocument(document);
    },
  });
  /** Navigation over the workspace's state; selectors lead to workloads only in a trusted workspace, as the listings do. */
  const navigationFor = (uri: string) => workspaceNavigation(workspace, workspaceScanned ? authzFor(uri) : undefined);
  connection.onDefinition((params, token) => answer(token, (signal) => withResult(params.textDocument.uri, Promise.resolve(null), (result) => definitionAnswer(navigationFor(params.textDocument.uri), result, params.position, definitionLinks, signal))));
  connection.onReferences((params, token) => answer(token, (signal) => withResult(params.textDocument.uri, Promise.resolve([]), (result) => referencesAnswer(navigationFor(params.textDocument.uri), result, params.position, params.context.includeDeclaration, signal))));
  connection.onDocumentSymbol((params, token) => answer(token, () => withResult(params.textDocument.uri, [], (result) => documentSymbolsAnswer(navigationFor(params.textDocument.uri), result))));
  connection.onPrepareRename((params, token) => answer(token, (signal) => withResult(params.textDocument.uri, Promise.resolve(null), (result) => prepareRenameAnswer(navigationFor(params.textDocument.uri), result, params.position, signal))));
  connection.onRenameRequest((params, token) => answer(token, (signal) => withResult(params.textDocument.uri, Promise.resolve<WorkspaceEdit | null>(null), (result) => renameAnswer(navigationFor(params.textDocument.uri), result, params.position, params.newName, signal))));
  connection.onWorkspaceSymbol((params, token) => answer(token, () => workspaceSymbolsAnswer(workspaceNavigation(workspace), params.query)));
  connection.onCompletion((params, token) => answer(token, () => withResult(params.textDocument.uri, [], (result) => completion(engine, result, params.position, { observed: traffic.observedValues(), workspace, snippets }))));
  connection.onCodeAction((params, token) => answer(token, () => withResult(params.textDocument.uri, [], (result) => [
    // the findings of the document's current text, and its traffic and test findings as last
    // published while they were decided for this text
    ...codeActions(params, [...result.findings, ...(decidedTexts.get(params.textDocument.uri) === result.file.text ? [...(trafficFindings.get(params.textDocument.uri) ?? []), ...(testFindings.get(params.textDocument.uri) ?? [])] : [])]),
    ...(token.isCancellationRequested ? [] : trafficCodeActions(params, currentInsight(), workspace, engine).map((action) => ({ ...action, title: redaction.text(action.title) }))),
    ...fixAllActions(params, result),
    ...translateActions(params, result),
  ].map((action) => actionInLineEndings(action, (uri) => documents.get(uri)?.getText() ?? workspace.sourceFile(pathOf(uri))?.text)))));

  documents.listen(connection);
  connection.listen();
}

/**
 * Diagnostics go to files and untitled buffers only: a git: diff view or any other virtual
 * document shows a text that is not the one being edited, where squiggles are noise.
 */
function hasDiagnostics(uri: string): boolean {
  return uri.startsWith('file:') || uri.startsWith('untitled:');
}

function languageFormat(languageId: string): 'yaml' | 'json' | 'hcl' | undefined {
  if (languageId === 'json' || languageId === 'jsonc') return 'json';
  if (languageId === 'hcl' || languageId === 'terraform') return 'hcl';
  if (languageId === 'yaml') return 'yaml';
  return undefined;
}

/** Findings lists are rebuilt only for files that changed, and mostly of the same finding objects: those are compared by identity. */
function sameFindings(a: Finding[] | undefined, b: Finding[] | undefined): boolean {
  if (a === b) return true;
  const x = a ?? [];
  const y = b ?? [];
  return x.length === y.length && x.every((finding, i) => finding === y[i] || JSON.stringify(finding) === JSON.stringify(y[i]));
}

function describe(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

/** Entry point of the bundle and of `mesh-policy-server --stdio`. */
export function main(): void {
  const stdio = process.argv.includes('--stdio');
  const options = { ...shutdownGate(), ...cancelQueued() };
  const connection = stdio ? createConnection(ProposedFeatures.all, ...stdioTransport(), options) : createConnection(ProposedFeatures.all, options);
  if (stdio) consoleToClient(connection);
  process.on('uncaughtException', (error) => connection.console.error(`mesh-policy: unexpected error: ${describe(error)}`));
  process.on('unhandledRejection', (error) => connection.console.error(`mesh-policy: unexpected rejection: ${describe(error)}`));
  startServer(connection, { workerEntry: { file: __filename, argv: [INGEST_WORKER_FLAG] }, inventoryWorkerEntry: { file: __filename, argv: [INVENTORY_WORKER_FLAG] } });
}

/** Workers of the traffic ingest re-enter the server bundle with this flag. */
export const INGEST_WORKER_FLAG = '--ingest-worker';
/** Workers that parse a big inventory file (`engine/inventory/bulkWorker.ts`) re-enter it with this one. */
export const INVENTORY_WORKER_FLAG = '--inventory-worker';

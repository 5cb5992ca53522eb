import { dirname } from 'node:path';
import { configFindings, isConfigFile, unusedConfigFindings } from './config/configFindings';
import type { WorkspaceView } from './checks/check';
import { deferringFindings, runChecksTracked, stillValid, type TrackedCheck } from './checks/runChecks';
import { applyRuleSettings } from './checks/suppress';
import { Codes } from './codes';
import { defaultConfig, type RuleSetting } from './config/projectConfig';
import { WorkspaceModel, type PreparedFile } from './workspace';
import { compareFindings, rangeMovedBy, type Finding } from './findings';
import { meshModule, recognize } from './recognize';
import type { Resource } from './resource';
import { apiVersionOf, type SchemaCatalog } from './schema/catalog';
import { schemaFindings } from './schema/schemaFindings';
import { SchemaRegistry, sharedRegistry } from './schema/registry';
import { readBulkInWorker } from './inventory/bulkWorker';
import { readSource, readSourceFromDisk, readSourceFromDiskAsync, withInventoryObjects, type BulkReader } from './source/read';
import { bulkInventoryDocuments } from './inventory/bulkObjects';
import { textNamesPolicies } from './source/policyMarks';
import { DEFAULT_READ_LIMITS, parsedCleanly, type ReadLimits, type SourceDocument, type SourceFile, type SourceFormat, type SyntaxProblem } from './source/sourceFile';
import { getEntry } from './source/tree';
import { replaceScalar } from './edits';
import { documentOrigin, YamlDocumentCache } from './source/yamlReader';
import { resourceValue } from './resourceValue';

export interface EngineOptions {
  limits: ReadLimits;
  /** Findings shown per document before the rest is summarized in one line. */
  maxFindingsPerDocument: number;
  /** Severity or off per code, from the editor settings; wins over `.meshpolicy.yaml`. */
  rules: Record<string, RuleSetting>;
}

export const DEFAULT_ENGINE_OPTIONS: EngineOptions = { limits: DEFAULT_READ_LIMITS, maxFindingsPerDocument: 200, rules: {} };

interface DocumentLint {
  path: string;
  line: number;
  index: number;
  resources: { schema: Finding[]; value: Record<string, unknown>; checks: TrackedCheck[]; /** Which of `checks` read the workspace. */ dependent: number[] }[];
  /** Every finding of the document, in order: per resource its schema findings, then its checks'. */
  findings: Finding[];
}

export interface LintResult {
  file: SourceFile;
  resources: Resource[];
  findings: Finding[];
}

/**
 * The entry point shared by the language server and the CLI: read a file, recognize its mesh
 * resources, validate them. It knows nothing about LSP or terminals.
 */
export class Engine {
  readonly registry: SchemaRegistry;
  options: EngineOptions;
  private yamlCache = new YamlDocumentCache();
  private yamlCacheLimits: ReadLimits | undefined;
  /** Lint results per parsed document (see `lintDocument`); they go when the parse does. */
  private readonly documentLints = new WeakMap<SourceDocument, DocumentLint>();

  constructor(catalog?: SchemaCatalog, options: Partial<EngineOptions> = {}) {
    this.registry = catalog ? new SchemaRegistry(catalog) : sharedRegistry();
    this.options = { ...DEFAULT_ENGINE_OPTIONS, ...options };
  }

  read(path: string, text: string, format?: SourceFormat): SourceFile {
    if (this.yamlCacheLimits !== this.options.limits) {
      // Limits decide what a parse keeps (depth, nodes): parses under other limits do not count.
      this.yamlCache = new YamlDocumentCache();
      this.yamlCacheLimits = this.options.limits;
    }
    return withInventoryObjects(readSource(path, text, this.options.limits, format, this.yamlCache), this.bulkInventory());
  }

  /**
   * Reads a file from disk. One over the size limit is not parsed as policies and is reported as
   * too large when it names them; up to `maxInventoryFileBytes` its Kubernetes objects still
   * reach the inventory (`inventory/bulkObjects.ts`), beyond that it is only scanned in chunks.
   */
  readFile(path: string, format?: SourceFormat): SourceFile {
    return readSourceFromDisk(path, this.options.limits, format, (text) => this.read(path, text, format));
  }

  private bulkInventory(): BulkReader {
    return { maxBytes: this.options.limits.maxInventoryFileBytes ?? DEFAULT_READ_LIMITS.maxInventoryFileBytes!, documents: bulkInventoryDocuments };
  }

  /** How worker threads start when the engine runs from a bundle (`inventory/bulkWorker.ts`). */
  workerEntry: { file: string; argv: string[] } | undefined;

  /** `readFile` without blocking the event loop while a big inventory file is parsed: that happens in a worker thread. */
  readFileAsync(path: string, format?: SourceFormat): Promise<SourceFile> {
    const limits = this.options.limits;
    return readSourceFromDiskAsync(path, limits, format, (text) => this.read(path, text, format), (p, f) => readBulkInWorker(p, f, limits, this.workerEntry));
  }

  prepare(file: SourceFile): PreparedFile {
    return { file, recognition: recognize(file, this.registry) };
  }

  /**
   * The syntax errors and limits (MPA0001, MPA0002) of a file that are ours to report: all of a
   * file that holds or names mesh policies, else those of documents with a mesh resource.
   */
  syntaxFindings(prepared: PreparedFile): Finding[] {
    const { file } = prepared;
    const { resources, unserved } = prepared.recognition;
    const findings: Finding[] = [];
    // (a .meshpolicy.yaml is ours too: with a syntax error, none of it is used)
    const owned = (file.problems.length > 0 || file.documents.some((d) => d.problems.length > 0)) && (isOurs(file, resources.length + unserved.length) || isConfigFile(file.path));
    if (owned) for (const problem of file.problems) findings.push(syntaxFinding(file, problem));
    const documentsWithResources = new Set([...resources, ...unserved].map((r) => r.documentIndex));
    for (const document of file.documents) {
      if (!owned && !documentsWithResources.has(document.index)) continue;
      for (const problem of document.problems) findings.push({ ...syntaxFinding(file, problem), documentIndex: document.index });
    }
    return findings;
  }

  /** Lints one file. Checks across files see `workspace`; without one, the file is its own workspace. */
  lint(input: SourceFile | PreparedFile, workspace?: WorkspaceView): LintResult {
    const prepared = 'recognition' in input ? input : this.prepare(input);
    const { file } = prepared;
    const { resources, unserved } = prepared.recognition;
    const alone = !workspace;
    if (!workspace) {
      const single = new WorkspaceModel(defaultConfig(dirname(file.path)));
      single.update(prepared);
      workspace = single;
    }
    const findings = this.syntaxFindings(prepared);
    if (isConfigFile(file.path)) findings.push(...configFindings(file), ...(alone ? [] : unusedConfigFindings(file, workspace.config)));
    for (const item of unserved) {
      const entry = getEntry(item.node, 'apiVersion')!;
      const preferred = this.registry.catalog.entries.find((e) => e.kind === item.kind && item.servedVersions[0] === e.version && item.apiVersion.startsWith(`${e.group}/`));
      const target = preferred ? apiVersionOf(preferred) : undefined;
      findings.push({
        file: file.path, documentIndex: item.documentIndex, severity: 'error', code: Codes.unknownVersion,
        range: file.lines.range(entry.value.span),
        message: `${item.kind} is not served as ${item.apiVersion}; use one of ${item.servedVersions.map((v) => `${item.apiVersion.split('/')[0]}/${v}`).join(', ')}`,
        ...(target ? { fixes: [{ title: `Change to ${target}`, edits: [replaceScalar(file, entry.value, target)], preferred: true }] } : {}),
      });
    }
    const resourcesByDocument = new Map<number, Resource[]>();
    for (const resource of resources) {
      // A document the parser could not read whole would only produce follow-on noise.
      if (!parsedCleanly(file.documents[resource.documentIndex])) continue;
      const list = resourcesByDocument.get(resource.documentIndex);
      if (list) list.push(resource);
      else resourcesByDocument.set(resource.documentIndex, [resource]);
    }
    for (const [index, inDocument] of resourcesByDocument) this.lintDocument(file, file.documents[index], inDocument, workspace, findings);
    const configured = applyRuleSettings(findings, file, { ...workspace.config.rules, ...this.options.rules });
    return { file, resources, findings: this.capPerDocument(configured).sort(compareFindings) };
  }

  /**
   * Schema and check findings of one document's resources. What depends only on the document's
   * text is kept per text (its cached parse) and start line, as line/character ranges do not
   * change while neither does. A check that read the inventory or the configuration is kept
   * while the workspace hands out the same objects (it keeps its inventory while no file changes
   * what it adds to it); one that read the resources or files runs again every time.
   */
  private lintDocument(file: SourceFile, document: SourceDocument | undefined, resources: Resource[], workspace: WorkspaceView, findings: Finding[]): void {
    const origin = document && documentOrigin(document);
    const start = origin && file.lines.position(origin.offset);
    // A chunk that starts mid-line (after a separator LineIndex does not count) keeps nothing.
    const key = origin && start!.character === 0 ? origin.parsed : undefined;
    const cached = key && this.documentLints.get(key);
    if (cached && cached.path === file.path && cached.line === start!.line && cached.index === document!.index && cached.resources.length === resources.length) {
      // Only the checks that read the workspace can answer otherwise; the others are not looked at.
      let rerun = false;
      resources.forEach((resource, i) => {
        const kept = cached.resources[i]!;
        for (const c of kept.dependent) {
          if (stillValid(kept.checks[c]!, workspace)) continue;
          kept.checks[c] = runChecksTracked(file, resource, workspace, kept.value, [kept.checks[c]!.check])[0]!;
          rerun = true;
        }
      });
      if (rerun) settleDocumentLint(cached);
      findings.push(...cached.findings);
      return;
    }
    if (cached && cached.path === file.path && cached.resources.length === resources.length) {
      // The same text moved to another line (lines added or removed above it): its schema
      // findings are kept, moved to their new lines, and so is every check that found nothing and
      // whose reads of the workspace are unchanged. A check that found something runs again: its
      // messages may cite lines ("already listed at line 12").
      const lines = start!.line - cached.line;
      const end = file.lines.position(document!.span.end).line;
      const move = (finding: Finding): Finding => movedFinding(finding, file.path, cached.line, end - lines, lines, document!.index);
      const moved: DocumentLint = { path: file.path, line: start!.line, index: document!.index, findings: [], resources: [] };
      resources.forEach((resource, i) => {
        const kept = cached.resources[i]!;
        const checks = kept.checks.map((tracked) => (tracked.findings.length === 0 && stillValid(tracked, workspace) ? tracked : runChecksTracked(file, resource, workspace, kept.value, [tracked.check])[0]!));
        moved.resources.push({ schema: kept.schema.map(move), value: kept.value, checks, dependent: [] });
      });
      settleDocumentLint(moved);
      findings.push(...moved.findings);
      this.documentLints.set(key!, moved);
      return;
    }
    const computed: DocumentLint = { path: file.path, line: start?.line ?? -1, index: document?.index ?? -1, resources: [], findings: [] };
    for (const resource of resources) {
      const value = resourceValue(resource);
      const found = schemaFindings(file, resource, this.registry, value);
      const schema = meshModule(resource.mesh)?.weighSchemaFindings?.(resource, value, found) ?? found;
      const checks = runChecksTracked(file, resource, workspace, value);
      computed.resources.push({ schema, value, checks, dependent: [] });
    }
    settleDocumentLint(computed);
    findings.push(...computed.findings);
    if (key) this.documentLints.set(key, computed);
  }

  /** Compiles every schema now rather than on first use, so the first edit is not the slow one. */
  warmUp(): void {
    for (const entry of this.registry.catalog.entries) this.registry.validate(entry, {});
  }

  lintText(path: string, text: string, format?: SourceFormat): LintResult {
    return this.lint(this.read(path, text, format));
  }

  private capPerDocument(findings: Finding[]): Finding[] {
    const max = this.options.maxFindingsPerDocument;
    const counts = new Map<number, number>();
    const kept: Finding[] = [];
    const overflow = new Map<number, Finding>();
    for (const finding of findings) {
      const doc = finding.documentIndex ?? -1;
      const count = (counts.get(doc) ?? 0) + 1;
      counts.set(doc, count);
      if (count <= max) kept.push(finding);
      else if (!overflow.has(doc)) overflow.set(doc, finding);
    }
    for (const [doc, first] of overflow) {
      kept.push({ ...first, severity: 'info', code: Codes.tooLarge, fixes: [], message: `${counts.get(doc)! - max} more problems in this document are not shown (limit set by maxFindingsPerDocument)` });
    }
    return kept;
  }
}

/**
 * A finding of a document's text that moved by `lines` from lines `from`..`to` of `path` (before
 * the move), as a new object: its range, its fixes' edits and its related places there move, and
 * it names the document's index now.
 */
function movedFinding(finding: Finding, path: string, from: number, to: number, lines: number, documentIndex: number): Finding {
  const moveRange = (range: Finding['range']): Finding['range'] => (range.start.line >= from && range.end.line <= to ? rangeMovedBy(range, lines) : range);
  return {
    ...finding,
    range: moveRange(finding.range),
    ...(finding.documentIndex !== undefined ? { documentIndex } : {}),
    ...(finding.fixes ? { fixes: finding.fixes.map((fix) => ({ ...fix, edits: fix.edits.map((edit) => ({ ...edit, range: moveRange(edit.range) })) })) } : {}),
    ...(finding.related ? { related: finding.related.map((place) => (place.file === path ? { ...place, range: moveRange(place.range) } : place)) } : {}),
  };
}

/** Lists a kept document's findings and, per resource, which checks must be asked again next time. */
function settleDocumentLint(lint: DocumentLint): void {
  lint.findings = [];
  for (const kept of lint.resources) {
    const deferring: Finding[] = [];
    lint.findings.push(...kept.schema);
    kept.dependent = [];
    kept.checks.forEach((tracked, c) => {
      for (const finding of tracked.findings) (deferringFindings.has(finding) ? deferring : lint.findings).push(finding);
      if (tracked.readsWorkspace) kept.dependent.push(c);
    });
    if (deferring.length === 0) continue;
    const marked = new Set(lint.findings.filter((finding) => finding.severity === 'error').map((finding) => `${finding.range.start.line}:${finding.range.start.character}`));
    lint.findings.push(...deferring.filter((finding) => !marked.has(`${finding.range.start.line}:${finding.range.start.character}`)));
  }
}

/**
 * Syntax errors and limits are ours to report in files that hold mesh policies, or whose text
 * says it means to (a broken policy is not recognized; `source/policyMarks.ts`). Any other YAML
 * or JSON is some other tool's business.
 */
function isOurs(file: SourceFile, recognized: number): boolean {
  if (recognized > 0) return true;
  return file.namesPolicies ?? textNamesPolicies(file.text);
}

function syntaxFinding(file: SourceFile, problem: SyntaxProblem): Finding {
  return {
    file: file.path,
    range: file.lines.range(problem.span),
    severity: problem.severity,
    code: problem.limit ? Codes.tooLarge : Codes.syntax,
    message: problem.message,
  };
}

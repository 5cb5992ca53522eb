import { isAbsolute, relative, resolve, sep } from 'node:path';
import { pathToFileURL } from 'node:url';
import { CODE_INFO } from '../engine/codes';
import { ALL_RULES } from '../engine/rules';
import { rulePageMarkdown } from '../engine/ruleDocs';
import type { Finding, Range, Severity } from '../engine/findings';

export type OutputFormat = 'text' | 'json' | 'sarif' | 'github';

export function formatText(findings: Finding[], cwd: string): string {
  return findings.map((f) => `${relative(cwd, f.file) || f.file}:${f.range.start.line + 1}:${f.range.start.character + 1} ${f.severity} ${f.code} ${f.message}`).join('\n');
}

export function formatJson(findings: Finding[], cwd: string): string {
  return JSON.stringify(findings.map((f) => ({
    file: relative(cwd, f.file) || f.file, range: f.range, severity: f.severity, code: f.code, message: f.message,
    ...(f.related?.length ? { related: f.related.map((r) => ({ file: relative(cwd, r.file) || r.file, range: r.range, message: r.message })) } : {}),
  })), null, 2);
}

const SARIF_LEVEL: Record<Severity, string> = { error: 'error', warning: 'warning', info: 'note', hint: 'note' };

/** A SARIF reporting descriptor: one kind of result, with its help. */
export interface SarifRule {
  id: string;
  name: string;
  shortDescription: { text: string };
  fullDescription: { text: string };
  help: { text: string; markdown?: string };
}

/** A SARIF 2.1.0 log of one run of mesh-policy: the rules its results name, and the results. */
export function sarifLog(version: string, rules: readonly SarifRule[], results: readonly unknown[]): string {
  return JSON.stringify({
    $schema: 'https://json.schemastore.org/sarif-2.1.0.json',
    version: '2.1.0',
    runs: [{
      tool: { driver: { name: 'mesh-policy', semanticVersion: version, version, rules } },
      columnKind: 'utf16CodeUnits',
      results,
    }],
  }, null, 2);
}

export function formatSarif(findings: Finding[], cwd: string, version: string): string {
  const ruleIds = [...new Set(findings.map((f) => f.code))].sort();
  const rules = ruleIds.map((id): SarifRule => {
    const title = ALL_RULES.find((r) => r.code === id)?.title;
    const description = CODE_INFO.find((c) => c.code === id)?.description ?? title ?? id;
    return {
      id,
      name: title ? title.replace(/[^A-Za-z0-9]+(.)?/g, (_m, c: string | undefined) => (c ? c.toUpperCase() : '')) : id,
      shortDescription: { text: title ?? id },
      fullDescription: { text: description },
      // (no helpUri: the project has no public home yet; the rule's page is docs/rules/<code>.md,
      // carried whole where it is installed: code scanning shows help.markdown with the alert)
      help: help(id, description),
    };
  });
  return sarifLog(version, rules, findings.map((f) => ({
    ruleId: f.code,
    ruleIndex: ruleIds.indexOf(f.code),
    level: SARIF_LEVEL[f.severity],
    message: { text: f.message },
    locations: [{ physicalLocation: physicalLocation(f.file, f.range, cwd) }],
    // (a traffic finding's busiest calls: the log lines they were read from)
    ...(f.related?.length ? { relatedLocations: f.related.map((r, id) => ({ id, physicalLocation: physicalLocation(r.file, r.range, cwd), message: { text: r.message } })) } : {}),
  })));
}

function help(id: string, description: string): { text: string; markdown?: string } {
  const page = rulePageMarkdown(id);
  return page ? { text: page, markdown: page } : { text: `${description} See docs/rules/${id}.md.` };
}

export function physicalLocation(file: string, range: Range, cwd: string): unknown {
  const path = relative(cwd, file);
  // A uri with a uriBaseId is resolved against that base (SARIF 2.1.0, 3.4.4): a file outside the
  // working folder, or on another drive, has no such uri, so it gets its absolute file URI alone.
  const outside = path === '' || /^\.\.(?:[\\/]|$)/.test(path) || isAbsolute(path);
  return {
    artifactLocation: outside ? { uri: pathToFileURL(file).href } : { uri: toUri(path), uriBaseId: '%SRCROOT%' },
    region: { startLine: range.start.line + 1, startColumn: range.start.character + 1, endLine: range.end.line + 1, endColumn: range.end.character + 1 },
  };
}

/** A relative path as a SARIF artifact URI: each segment percent-encoded (a space, `#`, `%`). */
export function toUri(path: string): string {
  return path.split(/[\\/]/).map(encodeURIComponent).join('/');
}

const GITHUB_COMMAND: Record<Severity, string> = { error: 'error', warning: 'warning', info: 'notice', hint: 'notice' };

/**
 * The folder a GitHub annotation's `file` is relative to: the checkout (`GITHUB_WORKSPACE`, set on
 * every Actions runner), since GitHub places an annotation only at a path in the repository; outside
 * Actions, the working folder.
 */
export function githubRoot(cwd: string, env: NodeJS.ProcessEnv = process.env): string {
  const workspace = env['GITHUB_WORKSPACE'];
  return workspace ? resolve(cwd, workspace) : cwd;
}

/**
 * The location properties of a GitHub annotation: the file relative to `root` with `/`, and the
 * lines; the columns only on one line, as GitHub takes `col`/`endColumn` only when `line` and
 * `endLine` are the same (actions/toolkit, packages/core `AnnotationProperties`).
 */
export function githubLocation(file: string, range: Range, root: string, columns = true): Array<[string, string | number]> {
  const lines: Array<[string, string | number]> = [['file', (relative(root, file) || file).split(sep).join('/')], ['line', range.start.line + 1], ['endLine', range.end.line + 1]];
  if (!columns || range.start.line !== range.end.line) return lines;
  return [lines[0]!, lines[1]!, ['col', range.start.character + 1], lines[2]!, ['endColumn', range.end.character + 1]];
}

/**
 * One GitHub Actions workflow command per finding (`::error file=…,line=…::message`), which the
 * runner turns into an annotation on the file and line; positions are 1-based, files relative to
 * `root` (`githubRoot`).
 */
export function formatGithub(findings: Finding[], root: string): string {
  return findings.map((f) => {
    const title = ALL_RULES.find((r) => r.code === f.code)?.title;
    const properties: [string, string | number][] = [...githubLocation(f.file, f.range, root), ['title', title ? `${f.code} ${title}` : f.code]];
    return githubCommand(GITHUB_COMMAND[f.severity], properties, f.message);
  }).join('\n');
}

/** One GitHub Actions workflow command (`::warning file=…,line=…::message`), its properties and message escaped. */
export function githubCommand(level: string, properties: ReadonlyArray<readonly [string, string | number]>, message: string): string {
  return `::${level} ${properties.map(([k, v]) => `${k}=${escapeGithubProperty(String(v))}`).join(',')}::${escapeGithubData(message)}`;
}

/** A workflow command's message: `%`, CR and LF would end or garble the command. */
export function escapeGithubData(text: string): string {
  return text.replace(/%/g, '%25').replace(/\r/g, '%0D').replace(/\n/g, '%0A');
}

/** A workflow command's property value: as a message, and `:` and `,`, which separate properties. */
export function escapeGithubProperty(text: string): string {
  return escapeGithubData(text).replace(/:/g, '%3A').replace(/,/g, '%2C');
}

/**
 * JSON output of a result: every `file` that is an absolute path made relative to the working
 * folder, as the text output and the other commands' JSON name files, so that the same run gives
 * the same JSON on every checkout.
 */
export function jsonWithRelativeFiles(value: unknown, rel: (path: string) => string): string {
  return JSON.stringify(value, (key, item: unknown) => (key === 'file' && typeof item === 'string' && isAbsolute(item) ? rel(item) : item), 2);
}

import { pathToFileURL } from 'node:url';
import { isAbsolute } from 'node:path';
import { DiagnosticSeverity, type Diagnostic } from 'vscode-languageserver';
import type { Finding, Fix, Severity } from '../engine/findings';
import { rulePagePath } from '../engine/ruleDocs';

export const DIAGNOSTIC_SOURCE = 'mesh-policy';

const SEVERITY: Record<Severity, DiagnosticSeverity> = {
  error: DiagnosticSeverity.Error,
  warning: DiagnosticSeverity.Warning,
  info: DiagnosticSeverity.Information,
  hint: DiagnosticSeverity.Hint,
};

export interface DiagnosticData {
  fixes: Fix[];
  command?: Finding['command'];
}

export function toDiagnostic(finding: Finding): Diagnostic {
  return {
    range: finding.range,
    severity: SEVERITY[finding.severity],
    code: finding.code,
    ...codeDescription(finding.code),
    source: DIAGNOSTIC_SOURCE,
    message: finding.message,
    ...(finding.fixes?.length || finding.command ? { data: { fixes: finding.fixes ?? [], ...(finding.command ? { command: finding.command } : {}) } satisfies DiagnosticData } : {}),
    ...(finding.related?.length ? { relatedInformation: finding.related.map((r) => ({ location: { uri: uriOf(r.file), range: r.range }, message: r.message })) } : {}),
  };
}

const codeDescriptions = new Map<string, Pick<Diagnostic, 'codeDescription'>>();

/** The link from a diagnostic's code to its rule page, when the page is installed (shared by every diagnostic of the code). */
function codeDescription(code: string): Pick<Diagnostic, 'codeDescription'> {
  let description = codeDescriptions.get(code);
  if (description === undefined) {
    const page = rulePagePath(code);
    codeDescriptions.set(code, (description = page ? { codeDescription: { href: pathToFileURL(page).href } } : {}));
  }
  return description;
}

/**
 * Text to insert in a document, in the document's line endings: the engine writes `\n`, and an
 * editor inserts what it is given (VS Code converts it; the LSP leaves it to the server), so a
 * CRLF file would get LF lines among its CRLF ones.
 */
export function inLineEndingsOf(documentText: string | undefined, newText: string): string {
  if (documentText === undefined || !newText.includes('\n')) return newText;
  const lf = documentText.indexOf('\n');
  return lf > 0 && documentText[lf - 1] === '\r' ? newText.replace(/\r?\n/g, '\r\n') : newText;
}

/** A code action's edits, each in the line endings of the document it changes (`textOf`: a document's text by URI, when known). */
export function actionInLineEndings<T extends { edit?: { changes?: { [uri: string]: { newText: string }[] } } }>(action: T, textOf: (uri: string) => string | undefined): T {
  const changes = action.edit?.changes;
  if (!changes) return action;
  const converted: { [uri: string]: { newText: string }[] } = {};
  for (const [uri, edits] of Object.entries(changes)) {
    const text = textOf(uri);
    converted[uri] = edits.map((e) => ({ ...e, newText: inLineEndingsOf(text, e.newText) }));
  }
  return { ...action, edit: { ...action.edit, changes: converted } };
}

export function uriOf(path: string): string {
  return isAbsolute(path) ? pathToFileURL(path).href : path;
}

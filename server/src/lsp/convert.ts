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

export function uriOf(path: string): string {
  return isAbsolute(path) ? pathToFileURL(path).href : path;
}

import type { Connection, Diagnostic } from 'vscode-languageserver';
import type { Finding } from '../engine/findings';
import { toDiagnostic } from './convert';

/** Diagnostics by finding: a file's findings mostly stay the same objects from one publish to the next. */
const converted = new WeakMap<Finding, Diagnostic>();

function diagnosticOf(finding: Finding): Diagnostic {
  let diagnostic = converted.get(finding);
  if (!diagnostic) converted.set(finding, (diagnostic = toDiagnostic(finding)));
  return diagnostic;
}

/** Publishes findings as diagnostics, one call per file (none clears the file). */
export function publish(connection: Connection, uri: string, findings: readonly Finding[] | undefined, version?: number): void {
  void connection.sendDiagnostics({ uri, diagnostics: (findings ?? []).map(diagnosticOf), ...(version !== undefined ? { version } : {}) });
}

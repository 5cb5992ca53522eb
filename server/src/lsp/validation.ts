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

/** The last publish, settled once written (the connection writes one message at a time, in order). */
let lastPublish: Promise<unknown> = Promise.resolve();

/** Publishes findings as diagnostics, one call per file (none clears the file). */
export function publish(connection: Connection, uri: string, findings: readonly Finding[] | undefined, version?: number): void {
  lastPublish = connection.sendDiagnostics({ uri, diagnostics: (findings ?? []).map(diagnosticOf), ...(version !== undefined ? { version } : {}) }).catch(() => undefined);
}

/** Settles when every publish so far has been written. */
export function publishesWritten(): Promise<unknown> {
  return lastPublish;
}

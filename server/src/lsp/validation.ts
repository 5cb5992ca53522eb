import type { Connection } from 'vscode-languageserver';
import type { Finding } from '../engine/findings';
import { toDiagnostic } from './convert';

/** Publishes findings as diagnostics, one call per file (none clears the file). */
export function publish(connection: Connection, uri: string, findings: readonly Finding[] | undefined, version?: number): void {
  void connection.sendDiagnostics({ uri, diagnostics: (findings ?? []).map(toDiagnostic), ...(version !== undefined ? { version } : {}) });
}

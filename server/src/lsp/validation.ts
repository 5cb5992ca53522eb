import type { Connection } from 'vscode-languageserver';
import type { LintResult } from '../engine/engine';
import { toDiagnostic } from './convert';

/** Publishes findings as diagnostics, one call per file. */
export function publish(connection: Connection, uri: string, result: LintResult | undefined, version?: number): void {
  void connection.sendDiagnostics({ uri, diagnostics: result ? result.findings.map(toDiagnostic) : [], ...(version !== undefined ? { version } : {}) });
}

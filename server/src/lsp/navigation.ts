import { LSPErrorCodes, ResponseError, SymbolKind, type DocumentSymbol, type Location, type LocationLink, type Position, type PrepareRenameResult, type SymbolInformation, type WorkspaceEdit } from 'vscode-languageserver';
import type { LintResult } from '../engine/engine';
import { Pace } from '../engine/pace';
import type { OutlineSymbol, Place, WorkspaceNavigation } from '../engine/navigate';
import { uriOf } from './convert';

/**
 * Go to definition, find references, the outline and workspace symbols: thin adapters over
 * `engine/navigate` (docs/navigation.md). Positions are the engine's (0-based, UTF-16), as LSP's.
 */

/** Where what is under the cursor is defined: links that underline the whole reference, or plain locations. */
export async function definitionAnswer(navigation: WorkspaceNavigation, result: LintResult, position: Position, links: boolean, signal: AbortSignal): Promise<LocationLink[] | Location[] | null> {
  if (position.line >= result.file.lines.lineCount) return null;
  const offset = result.file.lines.offset(position);
  const definitions = await navigation.definitions(result.file, offset, new Pace(signal));
  if (!definitions?.length) return null;
  if (!links) return definitions.map(location);
  const origin = navigation.referenceSpan(result.file, offset);
  const originSelectionRange = origin && result.file.lines.range(origin);
  return definitions.map((d) => ({ ...(originSelectionRange ? { originSelectionRange } : {}), targetUri: uriOf(d.file), targetRange: d.range, targetSelectionRange: d.range }));
}

export async function referencesAnswer(navigation: WorkspaceNavigation, result: LintResult, position: Position, includeDeclaration: boolean, signal: AbortSignal): Promise<Location[]> {
  if (position.line >= result.file.lines.lineCount) return [];
  return (await navigation.references(result.file, result.file.lines.offset(position), includeDeclaration, new Pace(signal))).map(location);
}

export function documentSymbolsAnswer(navigation: WorkspaceNavigation, result: LintResult): DocumentSymbol[] {
  return navigation.outline(result.file, result.resources).map(documentSymbol);
}

export function workspaceSymbolsAnswer(navigation: WorkspaceNavigation, query: string): SymbolInformation[] {
  return navigation.symbols(query).map((s) => ({ name: s.name, kind: SymbolKind.Class, location: location(s.place), containerName: s.mesh }));
}

function documentSymbol(symbol: OutlineSymbol): DocumentSymbol {
  return {
    name: symbol.name, detail: symbol.detail, kind: symbol.kind === 'resource' ? SymbolKind.Class : symbol.kind === 'test' ? SymbolKind.Function : SymbolKind.Method,
    range: symbol.range, selectionRange: symbol.selectionRange, children: symbol.children.map(documentSymbol),
  };
}

function location(place: Place): Location {
  return { uri: uriOf(place.file), range: place.range };
}

/** What F2 would rename, with its current name; an error that says why when it cannot. */
export async function prepareRenameAnswer(navigation: WorkspaceNavigation, result: LintResult, position: Position, signal: AbortSignal): Promise<PrepareRenameResult | null> {
  if (position.line >= result.file.lines.lineCount) return null;
  const target = await navigation.renameTarget(result.file, result.file.lines.offset(position), new Pace(signal));
  if (!target) return null;
  if ('refused' in target) throw new ResponseError(LSPErrorCodes.RequestFailed, `Cannot rename: ${target.refused}`);
  return { range: target.range, placeholder: target.name };
}

export async function renameAnswer(navigation: WorkspaceNavigation, result: LintResult, position: Position, newName: string, signal: AbortSignal): Promise<WorkspaceEdit> {
  const edits = await navigation.rename(result.file, result.file.lines.offset(position), newName, new Pace(signal));
  if ('refused' in edits) throw new ResponseError(LSPErrorCodes.RequestFailed, `Cannot rename: ${edits.refused}`);
  return { changes: Object.fromEntries(edits.map((e) => [uriOf(e.file), e.edits])) };
}

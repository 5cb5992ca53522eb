import { existsSync } from 'node:fs';
import { relative, resolve } from 'node:path';
import type { CliIo } from './main';
import { closestMatches } from '../engine/schema/messages';

/** A command line the command cannot run: the message, then the usage, exit code 2. */
export class UsageError extends Error {
  /** An option the command does not take, or a command that does not exist, as written. */
  unknown?: { option: string } | { command: string; commands: readonly string[] };
}

/** `--help`: the usage on standard output, exit code 0. */
export class HelpRequested extends Error {}

/** The exit code and output of a command that stopped with `error`, for every subcommand. */
export function commandFailure(error: unknown, io: CliIo, usage: string): number {
  if (error instanceof HelpRequested) {
    io.stdout(usage);
    return 0;
  }
  if (error instanceof UsageError) {
    io.stderr(`mesh-policy: ${error.message}${suggestion(error, usage)}\n\n${usage}`);
    return 2;
  }
  io.stderr(`mesh-policy: internal error: ${error instanceof Error ? error.message : String(error)}`);
  return 2;
}

/**
 * Names the paths that do not exist (relative to the working folder), as `what` ("inventory",
 * "config", or nothing for files and folders); true when any is missing: the command then exits 2.
 */
export function reportMissing(paths: readonly string[], io: CliIo, what?: 'inventory' | 'config'): boolean {
  const missing = paths.filter((p) => !existsSync(resolve(io.cwd, p)));
  if (!missing.length) return false;
  const names = missing.map((m) => `"${relative(io.cwd, resolve(io.cwd, m)) || m}"`).join(', ');
  io.stderr(`mesh-policy: cannot read ${what ? `${what} ` : ''}${names}: no such ${what === 'config' ? 'file' : 'file or folder'}`);
  return true;
}

/**
 * Names each folder given in which no YAML, JSON or HCL file was found (`WalkResult.empty`), as
 * ESLint names a pattern that matches no file; true when any: the command then exits 2, instead of
 * reporting nothing found as if the folder had been checked.
 */
export function reportEmptyFolders(folders: readonly string[], io: CliIo, what?: 'inventory'): boolean {
  for (const folder of folders) io.stderr(`mesh-policy: ${what ? `${what} ` : ''}"${relative(io.cwd, resolve(io.cwd, folder)) || '.'}": no YAML, JSON or HCL file in this folder`);
  return folders.length > 0;
}

/** For a misspelt option or command: the nearest the usage names, as `; did you mean "--format"?`. */
function suggestion(error: UsageError, usage: string): string {
  const unknown = error.unknown;
  if (!unknown) return '';
  const [input, candidates] = 'option' in unknown ? [unknown.option, [...new Set(usage.match(/--[a-z][a-z-]*[a-z]/g) ?? [])]] : [unknown.command, [...unknown.commands]];
  const near = closestMatches(input, candidates.filter((c) => c !== input)).slice(0, 3);
  return near.length ? `; did you mean ${near.map((n) => `"${n}"`).join(' or ')}?` : '';
}

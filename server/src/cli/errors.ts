import type { CliIo } from './main';

/** A command line the command cannot run: the message, then the usage, exit code 2. */
export class UsageError extends Error {}

/** `--help`: the usage on standard output, exit code 0. */
export class HelpRequested extends Error {}

/** The exit code and output of a command that stopped with `error`, for every subcommand. */
export function commandFailure(error: unknown, io: CliIo, usage: string): number {
  if (error instanceof HelpRequested) {
    io.stdout(usage);
    return 0;
  }
  if (error instanceof UsageError) {
    io.stderr(`mesh-policy: ${error.message}\n\n${usage}`);
    return 2;
  }
  io.stderr(`mesh-policy: internal error: ${error instanceof Error ? error.message : String(error)}`);
  return 2;
}

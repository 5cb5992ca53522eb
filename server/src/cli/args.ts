import { UsageError } from './errors';

/**
 * Walks a command line one option at a time, for every subcommand: `--flag value`,
 * `--flag=value`, and path lists. A path list takes the value and then every following argument
 * up to the next option, so `--traffic a.jsonl b.jsonl` (a shell glob) works as well as
 * repeating the option or separating paths with commas. After `--`, every argument is plain (a
 * path named `-x.yaml`), as POSIX utilities read the end of options.
 */
export class ArgCursor {
  /** The option as written, without an inline `=value`; or the plain argument (empty after `--`). */
  flag = '';
  /** The whole argument, as written. */
  arg = '';
  private index = -1;
  private inline: string | undefined;
  private optionsEnded = false;

  constructor(private readonly args: readonly string[]) {}

  /** Moves to the next argument; false when there is none. */
  next(): boolean {
    if (++this.index >= this.args.length) return false;
    this.arg = this.args[this.index]!;
    if (this.arg === '--' && !this.optionsEnded) {
      this.optionsEnded = true;
      return this.next();
    }
    if (this.optionsEnded) {
      // (no flag: `-- --format` is a file named "--format", never the option)
      this.flag = '';
      this.inline = undefined;
      return true;
    }
    const eq = this.arg.startsWith('--') ? this.arg.indexOf('=') : -1;
    this.flag = eq >= 0 ? this.arg.slice(0, eq) : this.arg;
    this.inline = eq >= 0 ? this.arg.slice(eq + 1) : undefined;
    return true;
  }

  /** True when the current argument is an option rather than a path. */
  get isOption(): boolean {
    return this.flag.startsWith('-');
  }

  /**
   * The option's value: after `=`, or the next argument unless that is another option (so that
   * `--policies --traffic x` says what is missing instead of reading "--traffic" as a path).
   */
  value(): string {
    const next = this.args[this.index + 1];
    if (this.inline === undefined && (next === undefined || next.startsWith('--'))) throw new UsageError(`${this.flag} needs a value`);
    if (this.inline !== undefined) return this.inline;
    this.index++;
    return next!;
  }

  /** An option that takes no value: true, or an error for `--quiet=no`, which would read as on. */
  switchOn(): true {
    if (this.inline !== undefined) throw new UsageError(`${this.flag} takes no value (got "${this.arg}")`);
    return true;
  }

  /** The option's paths: its value and the plain arguments after it, each split on commas. */
  list(): string[] {
    const paths = this.value().split(',');
    if (this.inline === undefined) {
      while (this.index + 1 < this.args.length && !this.args[this.index + 1]!.startsWith('-')) paths.push(...this.args[++this.index]!.split(','));
    }
    return paths.filter((p) => p.length > 0);
  }

  /** For an option of one command only, parsed with another's (which would ignore it): an error. */
  only(command: string, which: string): void {
    if (command !== which) throw new UsageError(`${this.flag} is an option of ${which}`);
  }

  /** The error for an argument the command does not take. */
  unexpected(): UsageError {
    if (!this.isOption) return new UsageError(`unexpected argument "${this.arg}"`);
    const error = new UsageError(`unknown option "${this.flag}"`);
    error.unknown = { option: this.flag };
    return error;
  }
}

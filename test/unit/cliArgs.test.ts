import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ArgCursor } from '../../server/src/cli/args';
import { UsageError } from '../../server/src/cli/errors';

/** Reads a command line the way the subcommands do: path lists for --traffic, one value for --format. */
function walk(args: string[]): Array<[string, string | string[]]> {
  const seen: Array<[string, string | string[]]> = [];
  for (const cli = new ArgCursor(args); cli.next();) {
    if (cli.flag === '--traffic') seen.push([cli.flag, cli.list()]);
    else if (cli.flag === '--format') seen.push([cli.flag, cli.value()]);
    else if (cli.flag === '--quiet') seen.push([cli.flag, String(cli.switchOn())]);
    else if (cli.isOption) throw cli.unexpected();
    else seen.push(['path', cli.arg]);
  }
  return seen;
}

const cases: Array<{ name: string; args: string[]; expected: Array<[string, string | string[]]> | RegExp }> = [
  { name: 'value after the option', args: ['--format', 'json'], expected: [['--format', 'json']] },
  { name: 'inline value', args: ['--format=json'], expected: [['--format', 'json']] },
  { name: 'inline value with =', args: ['--format=a=b'], expected: [['--format', 'a=b']] },
  { name: 'path list up to the next option', args: ['--traffic', 'a.log', 'b.log', '--format', 'text'], expected: [['--traffic', ['a.log', 'b.log']], ['--format', 'text']] },
  { name: 'path list with commas', args: ['--traffic', 'a.log,b.log', 'c.log'], expected: [['--traffic', ['a.log', 'b.log', 'c.log']]] },
  { name: 'inline path list stops at its own value', args: ['--traffic=a.log', 'b.log'], expected: [['--traffic', ['a.log']], ['path', 'b.log']] },
  { name: 'empty list items dropped', args: ['--traffic', 'a.log,,'], expected: [['--traffic', ['a.log']]] },
  { name: 'plain arguments', args: ['x.yaml', '--quiet', 'y.yaml'], expected: [['path', 'x.yaml'], ['--quiet', 'true'], ['path', 'y.yaml']] },
  { name: 'missing value', args: ['--format'], expected: /--format needs a value/ },
  // the next option is not the value: "--traffic" must not become a path, nor "--quiet" a format
  { name: 'missing value before the next option', args: ['--traffic', '--format', 'text'], expected: /--traffic needs a value/ },
  { name: 'missing value before a switch', args: ['--format', '--quiet'], expected: /--format needs a value/ },
  { name: 'inline value may start with --', args: ['--format=--x'], expected: [['--format', '--x']] },
  { name: 'a value starting with one dash is a value', args: ['--format', '-1'], expected: [['--format', '-1']] },
  { name: 'a switch given a value', args: ['--quiet=no'], expected: /--quiet takes no value \(got "--quiet=no"\)/ },
  { name: 'unknown option', args: ['--nope'], expected: /unknown option "--nope"/ },
  { name: 'unknown inline option names the option only', args: ['--nope=1'], expected: /unknown option "--nope"$/ },
  // POSIX Utility Syntax Guideline 10: "--" ends the options; what follows is an operand even when it begins with "-"
  { name: 'after --, arguments are paths', args: ['--quiet', '--', '-weird.yaml', '--format', 'x=1'], expected: [['--quiet', 'true'], ['path', '-weird.yaml'], ['path', '--format'], ['path', 'x=1']] },
  { name: 'a second -- is a path', args: ['--', '--'], expected: [['path', '--']] },
  { name: 'a path list stops at --', args: ['--traffic', 'a.log', '--', '-b.log'], expected: [['--traffic', ['a.log']], ['path', '-b.log']] },
  { name: 'an option needing a value is not given --', args: ['--format', '--', 'json'], expected: /--format needs a value/ },
];

for (const c of cases) {
  test(`command line: ${c.name}`, () => {
    if (c.expected instanceof RegExp) {
      assert.throws(() => walk(c.args), (e: unknown) => e instanceof UsageError && (c.expected as RegExp).test(e.message));
    } else {
      assert.deepEqual(walk(c.args), c.expected);
    }
  });
}

import { readFileSync, realpathSync, statSync } from 'node:fs';
import { relative, resolve } from 'node:path';
import { findConfig, loadConfig, ruleSettingProblem, type RuleSetting } from '../engine/config/projectConfig';
import { WorkspaceModel, type PreparedFile } from '../engine/workspace';
import { Engine } from '../engine/engine';
import { describeFsError } from '../engine/fsErrors';
import type { Finding } from '../engine/findings';
import { compareFindings } from '../engine/findings';
import { decodeText, DEFAULT_READ_LIMITS, type ReadLimits, type SourceFile } from '../engine/source/sourceFile';
import { applyEditsKeepingLineEnds, preferredFixes } from '../engine/fixAll';
import { collectPolicyFiles, walkNotes } from '../engine/workspaceFiles';
import { formatGithub, formatJson, githubRoot, formatSarif, formatText, type OutputFormat } from './output';
import { VERSION } from '../version';
import { Codes } from '../engine/codes';
import { commandFailure, HelpRequested, reportEmptyFolders, reportMissing, UsageError } from './errors';
import { ArgCursor } from './args';
import { finishProcess, interruptSignal, runTrafficMain } from './traffic';
import { runExplainCli, runSimulateCli } from './simulate';
import { runGenerateCli, runReportCli, writeFileAtomic } from './audit';
import { runTranslateCli } from './translate';
import { runAccessCli } from './access';
import { runAuthzCli } from './authz';
import { runTestCli } from './test';
import { LivePolicyTests } from '../engine/policyTests/live';

const USAGE = `Usage: mesh-policy <command> [options]

Commands:
  lint <files or folders...>   Check Istio, Linkerd and Consul policies: against their schemas, and
                               for what a schema cannot see (a rule that can never match, a
                               reference to nothing, ...; every rule: docs/rules/README.md).
  traffic <files or folders...> Read access logs and the inventory into observed calls
                               (mesh-policy traffic --help for its options).
  simulate --policies <paths> --traffic <paths>
                               Decide every observed call with the policies, as each mesh would,
                               and compare with what was observed (mesh-policy simulate --help).
  explain --policies <paths> --call '<access record JSON or short form>'
                               Walk through the decision for one call.
  test <test files...> [--policies <paths>]
                               Check the verdicts that policy test files expect for the calls
                               they write (mesh-policy test --help; docs/policy-tests.md).
  report --traffic <paths> [--policies <paths>] [--format html|md|json|csv]
                               The audit of the observed traffic (mesh-policy report --help).
  generate --mesh istio|linkerd|consul --traffic <paths>
                               Least-privilege policies from the observed allowed calls.
  authz <namespace>/<workload> --policies <paths>
                               The policies that apply to one workload (a Consul service), in the
                               order its mesh evaluates them (mesh-policy authz --help).
  access --policies <paths>    Who may call whom by the policies alone, before any traffic, and
                               what a change opened since a git ref (mesh-policy access --help).
  translate --to istio|linkerd|consul <policy files or folders...>
                               Another mesh's policies for the same access, checked by
                               simulating both (mesh-policy translate --help).
  --version                    The version of mesh-policy.

Options for lint:
  --format text|json|sarif|github
                               Output format (default: text); github: one GitHub Actions
                               annotation (::error/::warning/::notice) per finding, its file
                               relative to $GITHUB_WORKSPACE (else the current folder).
  --max-file-size <MiB>        Skip files larger than this, with a finding (default: ${DEFAULT_READ_LIMITS.maxFileBytes / 1024 / 1024}).
  --max-documents <N>          Documents read per file (default: ${DEFAULT_READ_LIMITS.maxDocuments}).
  --max-depth <N>              Deepest nesting read in a document (default: ${DEFAULT_READ_LIMITS.maxDepth}).
  --max-nodes <N>              Nodes a YAML document may expand to, aliases included (default: ${DEFAULT_READ_LIMITS.maxNodes}).
  --config <file>              .meshpolicy.yaml to use (default: the nearest one above the current folder).
  --inventory <paths>          More Kubernetes manifests, kubectl dumps or CRDs for the checks that read
                               the cluster (default: none beyond the linted files); not linted themselves.
  --quiet                      Report errors only.
  --max-warnings <N>           Exit 1 also when more than N warnings are found (0: any warning).
  --rule <CODE>=<severity>     Report rule CODE as error, warning, info or hint, or not at all (off),
                               over .meshpolicy.yaml's rules: setting; repeat for more rules.
  --fix                        Apply each finding's preferred fix to the files (the editor's "fix all":
                               comments, layout and line ends kept), then report what is left.
  --fix-dry-run                The same, without writing: say what would be fixed.

  --                           End of options: the arguments after it are files (-odd-name.yaml).

Exit codes: 0 no errors, 1 errors found (or more warnings than --max-warnings), 2 usage error or
unreadable input (a path that does not exist, or a folder with no YAML, JSON or HCL file),
130 interrupted (Ctrl-C).`;


/** The commands `main` runs, for the suggestion after a misspelt one. */
const COMMANDS = ['lint', 'traffic', 'simulate', 'explain', 'test', 'report', 'generate', 'authz', 'access', 'translate', 'help'] as const;

export interface CliIo {
  stdout: (text: string) => void;
  stderr: (text: string) => void;
  cwd: string;
}

export function runCli(argv: string[], io: CliIo): number {
  try {
    const [command, ...rest] = argv;
    if (!command) throw new UsageError('a command is needed');
    if (command === '--help' || command === '-h' || command === 'help') {
      io.stdout(USAGE);
      return 0;
    }
    if (command === '--version' || command === '-v') {
      io.stdout(VERSION);
      return 0;
    }
    if (command !== 'lint') {
      const error = new UsageError(`unknown command "${command}"`);
      error.unknown = { command, commands: COMMANDS };
      throw error;
    }
    return lint(rest, io);
  } catch (error) {
    return commandFailure(error, io, USAGE);
  }
}

function lint(args: string[], io: CliIo): number {
  let format: OutputFormat = 'text';
  let quiet = false;
  let maxWarnings: number | undefined;
  const rules: Record<string, RuleSetting> = {};
  let fix: 'write' | 'dry-run' | undefined;
  let configFile: string | undefined;
  const limits: ReadLimits = { ...DEFAULT_READ_LIMITS };
  const paths: string[] = [];
  const inventoryPaths: string[] = [];
  for (const cli = new ArgCursor(args); cli.next();) {
    const flag = cli.flag;
    const value = (): string => cli.value();
    switch (flag) {
      case '--inventory': inventoryPaths.push(...cli.list()); break;
      case '--format': {
        const v = value();
        if (v !== 'text' && v !== 'json' && v !== 'sarif' && v !== 'github') throw new UsageError(`--format must be text, json, sarif or github (got "${v}")`);
        format = v;
        break;
      }
      case '--max-file-size': limits.maxFileBytes = positive(flag, value()) * 1024 * 1024; break;
      case '--max-documents': limits.maxDocuments = positive(flag, value(), true); break;
      case '--max-depth': limits.maxDepth = positive(flag, value(), true); break;
      case '--max-nodes': limits.maxNodes = positive(flag, value(), true); break;
      case '--quiet': quiet = cli.switchOn(); break;
      case '--max-warnings': maxWarnings = count(flag, value()); break;
      case '--rule': {
        const [code, setting] = ruleOverride(value());
        rules[code] = setting;
        break;
      }
      case '--fix': fix = cli.switchOn() ? 'write' : fix; break;
      case '--fix-dry-run': fix = cli.switchOn() ? 'dry-run' : fix; break;
      case '--config': configFile = value(); break;
      case '--help': case '-h': throw new HelpRequested();
      default:
        if (cli.isOption) throw cli.unexpected();
        paths.push(cli.arg);
    }
  }
  if (paths.length === 0) throw new UsageError('lint needs at least one file or folder');
  const walk = collectPolicyFiles(paths.map((p) => resolve(io.cwd, p)));
  const { files, missing } = walk;
  const inventoryWalk = collectPolicyFiles(inventoryPaths.map((p) => resolve(io.cwd, p)));
  if (reportMissing([...missing, ...inventoryWalk.missing], io) || (configFile && reportMissing([configFile], io, 'config'))) return 2;
  if (reportEmptyFolders(walk.empty, io) || reportEmptyFolders(inventoryWalk.empty, io, 'inventory')) return 2;
  const config = configFile ? loadConfig(resolve(io.cwd, configFile)) : findConfig(io.cwd);
  // A configuration file among the linted ones reports its problems as MPA0004 findings instead.
  const linted = new Set(files);
  const asFindings = config.file !== undefined && linted.has(config.file) && !config.unusable && (rules[Codes.config] ?? config.rules[Codes.config]) !== 'off';
  if (!asFindings) for (const problem of config.problems) io.stderr(`mesh-policy: ${problem.message}`);
  if (config.unusable) return 2;
  const engine = new Engine(undefined, { limits, rules });
  const workspace = new WorkspaceModel(config);
  const prepared: PreparedFile[] = [];
  const notes = walkNotes(walk, io.cwd);
  for (const note of [...notes.skipped, ...notes.unreadable]) io.stderr(`mesh-policy: ${note}`);
  const inventoryNotes = walkNotes(inventoryWalk, io.cwd);
  for (const note of [...inventoryNotes.skipped, ...inventoryNotes.unreadable]) io.stderr(`mesh-policy: ${note}`);
  let unreadable = walk.unreadable.length + inventoryWalk.unreadable.length;
  for (const path of files) {
    let file: SourceFile;
    try {
      file = engine.readFile(path);
    } catch (error) {
      io.stderr(`mesh-policy: cannot read "${relative(io.cwd, path) || path}": ${describeFsError(error)}`);
      unreadable++;
      continue;
    }
    const ready = engine.prepare(file);
    workspace.update(ready);
    prepared.push(ready);
  }
  // A file only under --inventory gives the checks its Kubernetes objects, not its policies or findings.
  for (const path of inventoryWalk.files) {
    if (linted.has(path)) continue;
    try {
      workspace.update({ file: engine.readFile(path), recognition: { resources: [], unserved: [] } });
    } catch (error) {
      io.stderr(`mesh-policy: cannot read "${relative(io.cwd, path) || path}": ${describeFsError(error)}`);
      unreadable++;
    }
  }
  let fixed = 0;
  if (fix) {
    const changes = fixAll(engine, workspace, prepared);
    for (const change of changes) {
      const shown = relative(io.cwd, change.path) || change.path;
      const what = `${change.fixed.length} problem${change.fixed.length === 1 ? '' : 's'} in ${shown} (${[...new Set(change.fixed.map((f) => f.code))].join(', ')})`;
      if (fix === 'dry-run') {
        io.stderr(`mesh-policy: would fix ${what}`);
      } else {
        const problem = writeFixed(change.path, change.original.text, change.text);
        if (problem) {
          io.stderr(`mesh-policy: cannot write the fixes of "${shown}": ${problem}`);
          unreadable++;
          continue;
        }
        io.stderr(`mesh-policy: fixed ${what}`);
      }
      fixed += change.fixed.length;
    }
  }
  const findings: Finding[] = [];
  let resources = 0;
  for (const file of prepared) {
    const result = engine.lint(file, workspace);
    resources += result.resources.length;
    findings.push(...result.findings);
  }
  // The policy tests among the linted files, as the editor shows them (docs/policy-tests.md)
  for (const [path, tested] of new LivePolicyTests().findings(workspace, { ...config.rules, ...rules })) if (linted.has(path)) findings.push(...tested);
  const shown = (quiet ? findings.filter((f) => f.severity === 'error') : findings).sort(compareFindings);
  const output = format === 'json' ? formatJson(shown, io.cwd) : format === 'sarif' ? formatSarif(shown, io.cwd, VERSION) : format === 'github' ? formatGithub(shown, githubRoot(io.cwd)) : formatText(shown, io.cwd);
  if (output) io.stdout(output);
  const errors = findings.filter((f) => f.severity === 'error').length;
  // (counted whether shown or not: --quiet changes what is printed, not what fails the run)
  const warnings = findings.filter((f) => f.severity === 'warning').length;
  if (format === 'text') {
    const fixes = fix ? ` (${fixed} problem${fixed === 1 ? '' : 's'} ${fix === 'write' ? 'fixed' : 'would be fixed'})` : '';
    io.stderr(`${errors} error${errors === 1 ? '' : 's'}, ${warnings} warning${warnings === 1 ? '' : 's'} in ${resources} polic${resources === 1 ? 'y' : 'ies'} from ${files.length} file${files.length === 1 ? '' : 's'}${fixes}`);
  }
  const tooManyWarnings = maxWarnings !== undefined && warnings > maxWarnings;
  if (tooManyWarnings) io.stderr(`mesh-policy: ${warnings} warning${warnings === 1 ? '' : 's'}, more than --max-warnings ${maxWarnings} allows`);
  if (unreadable) return 2;
  return errors > 0 || tooManyWarnings ? 1 : 0;
}

/** A fix pass finds the findings a fix uncovered, or one skipped for overlapping another; it stops well before a fix that never settles would matter. */
const MAX_FIX_PASSES = 10;

interface FixedFile {
  path: string;
  original: SourceFile;
  text: string;
  fixed: Finding[];
}

/**
 * Lints and applies each file's preferred fixes (`preferredFixes`), pass after pass until none is
 * left, updating `prepared` and the workspace to the fixed texts (checks across files see them).
 */
function fixAll(engine: Engine, workspace: WorkspaceModel, prepared: PreparedFile[]): FixedFile[] {
  const changed = new Map<string, FixedFile>();
  for (let pass = 0; pass < MAX_FIX_PASSES; pass++) {
    let any = false;
    prepared.forEach((ready, i) => {
      const { edits, fixed } = preferredFixes(engine.lint(ready, workspace).findings);
      if (edits.length === 0) return;
      const text = applyEditsKeepingLineEnds(ready.file, edits);
      if (text === ready.file.text) return;
      const entry = changed.get(ready.file.path) ?? { path: ready.file.path, original: ready.file, text, fixed: [] };
      entry.text = text;
      entry.fixed.push(...fixed);
      changed.set(entry.path, entry);
      prepared[i] = engine.prepare(engine.read(ready.file.path, text, ready.file.format));
      workspace.update(prepared[i]!);
      any = true;
    });
    if (!any) break;
  }
  return [...changed.values()];
}

/**
 * Writes a fixed text over the file, in the file's encoding (UTF-16 stays UTF-16) and mode,
 * atomically; refuses when the file changed on disk since it was read. A problem is returned as words.
 */
export function writeFixed(path: string, readText: string, text: string): string | undefined {
  try {
    const bytes = readFileSync(path);
    if (decodeText(bytes) !== readText) return 'it changed on disk while it was being linted';
    // A file that is not UTF-8 or UTF-16 (Latin-1, say) was read with replacement characters:
    // writing it back would lose its bytes.
    if (!encodeLike(bytes, readText).equals(bytes)) return 'it is not UTF-8 or UTF-16 text, so it is left as it is';
    const encoded = encodeLike(bytes, text);
    // through a symbolic link to the file it names: the rename would otherwise replace the link
    const target = realpathSync(path);
    writeFileAtomic(target, encoded, statSync(target).mode & 0o7777);
    return undefined;
  } catch (error) {
    return describeFsError(error);
  }
}

/** `text` in the encoding `bytes` are in (`decodeText`): UTF-16 with its byte-order mark, else UTF-8. */
function encodeLike(bytes: Buffer, text: string): Buffer {
  const bigEndian = bytes[0] === 0xfe && bytes[1] === 0xff;
  if (!bigEndian && !(bytes[0] === 0xff && bytes[1] === 0xfe)) return Buffer.from(text, 'utf8');
  const body = Buffer.from(text, 'utf16le');
  return Buffer.concat([Buffer.from(bigEndian ? [0xfe, 0xff] : [0xff, 0xfe]), bigEndian ? body.swap16() : body]);
}

/** `--rule CODE=SEVERITY`, the code and setting checked as `.meshpolicy.yaml`'s `rules:` are. */
function ruleOverride(raw: string): [string, RuleSetting] {
  const eq = raw.indexOf('=');
  if (eq <= 0) throw new UsageError(`--rule needs CODE=SEVERITY, e.g. --rule MPA1001=off (got "${raw}")`);
  const code = raw.slice(0, eq);
  const setting = raw.slice(eq + 1);
  const problem = ruleSettingProblem(code, setting);
  if (problem) throw new UsageError(`--rule ${raw}: ${code} ${problem}`);
  return [code, setting as RuleSetting];
}

/** A whole number, zero included. */
function count(flag: string, raw: string): number {
  const n = Number(raw);
  if (raw.trim() === '' || !Number.isInteger(n) || n < 0) throw new UsageError(`${flag} must be a whole number, 0 or more (got "${raw}")`);
  return n;
}

/** A positive number (MiB may be fractional), or a positive whole number (a count). */
function positive(flag: string, raw: string, whole = false): number {
  const n = Number(raw);
  if (!Number.isFinite(n) || n <= 0 || (whole && !Number.isInteger(n))) throw new UsageError(`${flag} must be a positive ${whole ? 'whole ' : ''}number (got "${raw}")`);
  return n;
}

export function main(): void {
  // `mesh-policy ... | head` closes the pipe early: stop quietly, as Unix tools do.
  process.stdout.on('error', (error: NodeJS.ErrnoException) => {
    if (error.code === 'EPIPE') process.exit(process.exitCode ?? 0);
    throw error;
  });
  if (process.argv[2] === 'traffic') return runTrafficMain(process.argv.slice(3));
  const io: CliIo = {
    stdout: (t) => process.stdout.write(`${t}\n`),
    stderr: (t) => process.stderr.write(`${t}\n`),
    cwd: process.cwd(),
  };
  if (process.argv[2] === 'simulate') {
    const entry = process.argv[1];
    void runSimulateCli(process.argv.slice(3), io, entry ? { file: entry, argv: ['traffic', '--ingest-worker'] } : undefined, { signal: interruptSignal(), stderrIsTty: Boolean(process.stderr.isTTY) }).then(finishProcess);
    return;
  }
  if (process.argv[2] === 'report' || process.argv[2] === 'generate' || process.argv[2] === 'translate') {
    const entry = process.argv[1];
    const run = process.argv[2] === 'report' ? runReportCli : process.argv[2] === 'generate' ? runGenerateCli : runTranslateCli;
    void run(process.argv.slice(3), io, entry ? { file: entry, argv: ['traffic', '--ingest-worker'] } : undefined, { signal: interruptSignal() }).then(finishProcess);
    return;
  }
  if (process.argv[2] === 'access') {
    void runAccessCli(process.argv.slice(3), io).then(finishProcess);
    return;
  }
  if (process.argv[2] === 'authz') {
    process.exitCode = runAuthzCli(process.argv.slice(3), io);
    return;
  }
  if (process.argv[2] === 'test') {
    process.exitCode = runTestCli(process.argv.slice(3), io);
    return;
  }
  if (process.argv[2] === 'explain') {
    process.exitCode = runExplainCli(process.argv.slice(3), io);
    return;
  }
  process.exitCode = runCli(process.argv.slice(2), {
    stdout: (t) => process.stdout.write(`${t}\n`),
    stderr: (t) => process.stderr.write(`${t}\n`),
    cwd: process.cwd(),
  });
}

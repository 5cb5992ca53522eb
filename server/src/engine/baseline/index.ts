import { execFile } from 'node:child_process';
import { realpathSync, statSync } from 'node:fs';
import { dirname, isAbsolute, join, relative, sep } from 'node:path';
import type { WorkspaceView } from '../checks/check';
import type { Engine } from '../engine';
import type { Range } from '../findings';
import { Simulation, type ShapeOutcome } from '../simulate';
import type { Decision, SourceRef } from '../simulate/types';
import { formatFromPath } from '../source/sourceFile';
import { WorkspaceModel } from '../workspace';
import { BaselineTracker } from './tracker';

export { BaselineTracker, countImpact, emptyImpact } from './tracker';

/**
 * Impact against git: the same observed calls decided with the policies as they were at a git
 * ref (HEAD by default), compared call by call with the policies as they are now. Git runs as
 * `git` via execFile (no shell), read-only: rev-parse, ls-tree, show.
 */

export class BaselineError extends Error {}

export interface BaselineFiles {
  ref: string;
  /** The commit the ref named. */
  commit: string;
  /** The repository's top folder. */
  root: string;
  /** Path in the working tree → text at the ref, for every policy-like file under the paths. */
  texts: Map<string, string>;
  /** Files under the paths that exist now but not at the ref, and the other way round. */
  added: string[];
  deleted: string[];
}

const GIT_TIMEOUT_MS = 30_000;

function git(args: string[], cwd: string): Promise<string> {
  return new Promise((resolvePromise, reject) => {
    execFile('git', args, { cwd, encoding: 'utf8', maxBuffer: 256 * 1024 * 1024, timeout: GIT_TIMEOUT_MS, env: { ...process.env, GIT_OPTIONAL_LOCKS: '0', LC_ALL: 'C' } }, (error, stdout, stderr) => {
      if (error) reject(Object.assign(error, { stderr: String(stderr ?? '') }));
      else resolvePromise(stdout);
    });
  });
}

function real(path: string): string {
  try {
    return realpathSync(path);
  } catch {
    return path;
  }
}

/**
 * Reads the policy files under `paths` (files or folders, absolute) as they were at `ref`.
 * `current` lists the files under the paths now, to report files added since the ref.
 */
export async function readFilesAtRef(paths: string[], ref: string, current: string[]): Promise<BaselineFiles> {
  if (paths.length === 0) throw new BaselineError('no policy paths to compare');
  if (ref.startsWith('-')) throw new BaselineError(`"${ref}" is not a git ref`);
  const first = real(paths[0]!);
  let cwd = first;
  try {
    if (!statSync(first).isDirectory()) cwd = dirname(first);
  } catch {
    cwd = dirname(first);
  }
  let root: string;
  try {
    root = real((await git(['rev-parse', '--show-toplevel'], cwd)).trim());
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    throw new BaselineError(code === 'ENOENT' ? 'git is not installed (or not on PATH); --baseline needs it' : `${cwd} is not inside a git repository, so there is no ${ref} to compare with`);
  }
  let commit: string;
  try {
    commit = (await git(['rev-parse', '--verify', '--quiet', '--end-of-options', `${ref}^{commit}`], root)).trim();
  } catch {
    commit = '';
  }
  if (!commit) throw new BaselineError(`unknown git ref "${ref}" in ${root}${ref === 'HEAD' ? ' (the repository has no commit yet)' : ''}`);
  const inside = paths.map((p) => relative(root, real(p)));
  const outside = inside.filter((r) => r.startsWith('..') || isAbsolute(r));
  if (outside.length) throw new BaselineError(`${outside.length} of the policy paths are outside the git repository ${root}`);
  const pathspecs = inside.map((r) => (r === '' ? '.' : r.split(sep).join('/')));
  const listing = await git(['ls-tree', '-r', '-z', '--name-only', '--full-tree', commit, '--', ...pathspecs], root);
  const atRef = listing.split('\0').filter((p) => p.length > 0 && formatFromPath(p) !== undefined && !p.split('/').some((s) => s.startsWith('.') || s === 'node_modules'));
  const texts = new Map<string, string>();
  for (const path of atRef) texts.set(join(root, ...path.split('/')), await git(['show', `${commit}:${path}`], root));
  const now = new Set(current.map((p) => join(root, relative(root, real(p)))));
  return {
    ref, commit, root, texts,
    added: [...now].filter((p) => !texts.has(p)).sort(),
    deleted: [...texts.keys()].filter((p) => !now.has(p)).sort(),
  };
}

/**
 * A workspace of the files at the ref, read with the same engine and configuration. With `now`
 * (the workspace as it is), the files the ref does not have (added since, or read from outside
 * the compared paths, as `--inventory`) give their workloads and no policy: the comparison is of
 * policies, so a Deployment added since the ref is known on both sides.
 */
export function baselineWorkspace(engine: Engine, files: BaselineFiles, config: WorkspaceView['config'], now?: Pick<WorkspaceView, 'sourceFiles'>): WorkspaceModel {
  const workspace = new WorkspaceModel(config);
  for (const [path, text] of files.texts) workspace.update(engine.prepare(engine.read(path, text)));
  for (const file of now?.sourceFiles ?? []) {
    if (!files.texts.has(file.path)) workspace.update({ file, recognition: { resources: [], unserved: [] } });
  }
  return workspace;
}

export interface ImpactTally {
  /** Calls the baseline allowed and the policies now deny. */
  becomeDenied: number;
  /** Calls the baseline denied and the policies now allow. */
  becomeAllowed: number;
  /** Calls whose verdict changed in another way (to or from unknown/external). */
  otherwise: number;
}

export interface PolicyImpact extends ImpactTally {
  ref: SourceRef;
  rules: Map<string, ImpactTally & { ref: SourceRef }>;
}

export interface CallImpact {
  outcome: ShapeOutcome;
  baseline: Decision;
}

export interface BaselineComparison extends ImpactTally {
  ref: string;
  commit: string;
  /** Every call whose verdict differs from the baseline's, largest first. */
  changed: CallImpact[];
  /** Per policy (and rule) that decides the call now, or decided it at the ref when no policy decides now. */
  policies: PolicyImpact[];
  /** Per policy (and rule) that decided the call at the ref; ranges are in the text at the ref, labels are stable. */
  baselinePolicies: PolicyImpact[];
  added: string[];
  deleted: string[];
}

/** Compares the outcomes of the current policies with the baseline's decisions of the same calls. */
export function compareWithBaseline(outcomes: readonly ShapeOutcome[], baseline: Pick<Simulation, 'decide'>, files: Pick<BaselineFiles, 'ref' | 'commit' | 'added' | 'deleted'>): BaselineComparison {
  return new BaselineTracker(baseline, files).compareAll(outcomes);
}

const n = (value: number): string => value.toLocaleString('en-US');
const calls = (value: number, what: string): string => `${n(value)} ${what} call${value === 1 ? '' : 's'}`;

/** "compared with HEAD, 37 allowed calls become denied and 2 denied calls become allowed". */
export function impactSentence(ref: string, tally: ImpactTally): string {
  const parts = [`${calls(tally.becomeDenied, 'allowed')} become${tally.becomeDenied === 1 ? 's' : ''} denied`, `${calls(tally.becomeAllowed, 'denied')} become${tally.becomeAllowed === 1 ? 's' : ''} allowed`];
  const other = tally.otherwise ? `; ${calls(tally.otherwise, 'other')} change${tally.otherwise === 1 ? 's' : ''} verdict (to or from unknown)` : '';
  return `compared with ${ref}, ${parts.join(' and ')}${other}`;
}

/** Short text for a code lens above a policy or rule: "vs HEAD: 3 → denied · 1 → allowed". */
export function impactLens(ref: string, tally: ImpactTally): string | undefined {
  if (!tally.becomeDenied && !tally.becomeAllowed && !tally.otherwise) return undefined;
  const parts: string[] = [];
  if (tally.becomeDenied) parts.push(`${n(tally.becomeDenied)} → denied`);
  if (tally.becomeAllowed) parts.push(`${n(tally.becomeAllowed)} → allowed`);
  if (tally.otherwise) parts.push(`${n(tally.otherwise)} → other`);
  return `vs ${ref}: ${parts.join(' · ')}`;
}

/** The impact of the policy or rule at a range (of the current text), for lenses and diagnostics. */
export function impactAt(comparison: BaselineComparison, file: string, range: Range): ImpactTally | undefined {
  let byLine = impactsByLine.get(comparison);
  if (!byLine) {
    // The first policy (in the comparison's order) with a rule, else itself, on the line wins.
    byLine = new Map();
    for (const policy of comparison.policies) {
      let lines = byLine.get(policy.ref.file);
      if (!lines) byLine.set(policy.ref.file, (lines = new Map()));
      const own = new Map<number, ImpactTally>();
      for (const rule of policy.rules.values()) if (!own.has(rule.ref.range.start.line)) own.set(rule.ref.range.start.line, rule);
      if (!own.has(policy.ref.range.start.line)) own.set(policy.ref.range.start.line, policy);
      for (const [line, tally] of own) if (!lines.has(line)) lines.set(line, tally);
    }
    impactsByLine.set(comparison, byLine);
  }
  return byLine.get(file)?.get(range.start.line);
}

/** Lenses ask for every policy and rule of a file: index each comparison by file and line once. */
const impactsByLine = new WeakMap<BaselineComparison, Map<string, Map<number, ImpactTally>>>();

/**
 * The impact on the calls that a policy (and optionally one of its rules) decided at the ref,
 * found by the SourceRef labels (e.g. "AuthorizationPolicy shop/payments-callers", "rules[0]"),
 * which stay the same when lines move: "this rule used to allow 58 calls that are now denied".
 */
export function impactOfBaselinePolicy(comparison: BaselineComparison, file: string, policyLabel: string, ruleLabel?: string): ImpactTally | undefined {
  const policy = comparison.baselinePolicies.find((p) => p.ref.file === file && p.ref.label === policyLabel);
  return ruleLabel === undefined ? policy : policy?.rules.get(ruleLabel);
}

/** Reads the ref, builds the baseline and compares in one call. */
export async function compareWithGit(input: { engine: Engine; workspace: WorkspaceView; paths: string[]; currentFiles: string[]; ref: string; outcomes: readonly ShapeOutcome[] }): Promise<BaselineComparison> {
  const files = await readFilesAtRef(input.paths, input.ref, input.currentFiles);
  const baseline = new Simulation(baselineWorkspace(input.engine, files, input.workspace.config, input.workspace));
  return compareWithBaseline(input.outcomes, baseline, files);
}

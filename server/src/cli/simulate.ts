import { relative, resolve } from 'node:path';
import { BaselineError, compareWithGit, impactLens, impactSentence, type BaselineComparison, type CallImpact } from '../engine/baseline';
import { findConfig, loadConfig } from '../engine/config/projectConfig';
import { Engine } from '../engine/engine';
import { meshConfigNotes } from '../engine/istio/meshConfig';
import { describeFsError } from '../engine/fsErrors';
import { authenticationSummaries, isAuthenticationLabel, refusedText, type AuthenticationSummary } from '../engine/insight/authnLens';
import { auditTallies, observedDifference, Simulation, simulateShapes, type RefusedResource, type ShapeOutcome, type SimulationResult, type Tally } from '../engine/simulate';
import { absentDeniers, type AbsentDenier } from '../engine/simulate/absentDeniers';
import type { Decision, SourceRef } from '../engine/simulate/types';
import { compareFindings, type Finding } from '../engine/findings';
import { ingestTraffic, type IngestOptions, type TrafficModel } from '../engine/traffic/ingest';
import { FileTrafficSource } from '../engine/traffic/sources';
import { decideWrittenCall, parseWrittenCall, SHORT_CALL_FORM } from '../engine/traffic/writtenCall';
import { redactorFor, type Redactor } from '../engine/traffic/redact';
import { clickhouseSource, displayPath, EXIT_INTERRUPTED, isAbort, progressPrinter, readProblems, readSource, sourceOption, trafficUnread } from './traffic';
import { collectPolicyFiles, walkNotes } from '../engine/workspaceFiles';
import { WorkspaceModel } from '../engine/workspace';
import { displayedCalls, rowCall, type DisplayedCall } from '../engine/insight/render';
import { headersTestedBy } from '../engine/simulate/testedHeaders';
import { dryRunDifference, dryRunSummary, dryRunTallies } from '../engine/simulate/dryRun';
import { VERSION } from '../version';
import { commandFailure, HelpRequested, reportEmptyFolders, reportMissing, UsageError } from './errors';
import { ArgCursor } from './args';
import { formatSarif, jsonWithRelativeFiles } from './output';
import { TrafficInsight } from '../engine/insight/trafficInsight';
import type { CliIo } from './main';

export const SIMULATE_USAGE = `Usage: mesh-policy simulate --policies <paths> --traffic <paths> [options]
       mesh-policy explain  --policies <paths> --call '<call>' [options]

simulate decides every observed call (access logs, see mesh-policy traffic) with the policies,
as each mesh would, and compares the verdict with what the logs observed.
explain prints the walkthrough for one call.

Options:
  --policies <paths>           Policy files or folders (several after the option, repeated, or
                               separated with commas).
  --traffic <paths>            Access logs (simulate only), given the same ways.
  --source files|clickhouse    simulate: read the calls from files (--traffic, default) or from the
                               ClickHouse table of the configuration's clickhouse: block (docs/scale.md).
  --inventory <paths>          Kubernetes manifests or kubectl dumps (default: the policy paths).
                               Policies found only there are not applied: --policies decide.
  --config <file>              .meshpolicy.yaml (default: the nearest one above the current folder).
  --format text|json|jsonl|sarif
                               simulate: text (default) summary per policy and rule; json the whole
                               result; jsonl one line per input record, in input order; sarif the
                               editor's traffic findings (MPA4xxx: calls newly denied or allowed,
                               changes since --baseline, ...), on the deciding rule or policy.
                               explain: text (default) or json.
  --call <call>                explain: the call, as an access record in JSON (docs/access-records.md)
                               or in the short form
                                 ${SHORT_CALL_FORM}
                               e.g. 'shop/frontend -> shop/cart:8080 GET /items'; the caller is a
                               service account (Consul: a service, alone after consul: for
                               default/<service>), a principal, or - (plaintext).
  --baseline <git ref>         simulate: also decide the calls with the policies as they were at the
                               ref (e.g. HEAD, main, a commit) and report the calls whose verdict
                               changes: "compared with HEAD, N allowed calls become denied ...".
  --fail-on-newly-denied <N>   simulate: exit 1 only when more than N calls become denied (compared
                               with the baseline when given, else with what was observed); default 0.
  --fail-on-newly-allowed <N>  simulate: also exit 1 when more than N calls become allowed (compared
                               the same way): a gate on opening access. Default: no gate.
  --max-lines <N>              simulate: lines read per log file (the rest is counted as skipped).
  --progress                   simulate: show progress on stderr (default: when stderr is a terminal).

Exit codes: 0 within the thresholds, 1 more calls become denied than --fail-on-newly-denied lets
through (or allowed, than --fail-on-newly-allowed), 2 usage error or unreadable input (including
a --baseline that is not a git ref of the repository holding the policies), 130 interrupted
(Ctrl-C).`;


interface Parsed {
  policies: string[];
  traffic: string[];
  inventory: string[];
  format: string;
  config?: string;
  call?: string;
  baseline?: string;
  failOnNewlyDenied: number;
  /** Fail on calls that become allowed only when asked: opening access is often the point of a change. */
  failOnNewlyAllowed?: number;
  source: 'files' | 'clickhouse';
  maxLines?: number;
  progress?: boolean;
}

function parse(args: string[], command: 'simulate' | 'explain'): Parsed {
  const parsed: Parsed = { policies: [], traffic: [], inventory: [], format: 'text', failOnNewlyDenied: 0, source: 'files' };
  for (const cli = new ArgCursor(args); cli.next();) {
    const flag = cli.flag;
    const value = (): string => cli.value();
    const list = (): string[] => cli.list();
    const only = (which: 'simulate' | 'explain') => cli.only(command, which);
    switch (flag) {
      case '--help': case '-h': throw new HelpRequested();
      case '--policies': parsed.policies.push(...list()); break;
      case '--traffic': only('simulate'); parsed.traffic.push(...list()); break;
      case '--inventory': parsed.inventory.push(...list()); break;
      case '--config': parsed.config = value(); break;
      case '--format': parsed.format = value(); break;
      case '--call': only('explain'); parsed.call = value(); break;
      case '--baseline': only('simulate'); parsed.baseline = value(); break;
      case '--fail-on-newly-denied': only('simulate'); parsed.failOnNewlyDenied = callCount(flag, value()); break;
      case '--fail-on-newly-allowed': only('simulate'); parsed.failOnNewlyAllowed = callCount(flag, value()); break;
      case '--source': only('simulate'); parsed.source = sourceOption(value(), UsageError); break;
      case '--max-lines': {
        only('simulate');
        const raw = value();
        if (!/^\d+$/.test(raw) || Number(raw) < 1) throw new UsageError(`--max-lines must be a whole number from 1 (got "${raw}")`);
        parsed.maxLines = Number(raw);
        break;
      }
      case '--progress': only('simulate'); parsed.progress = cli.switchOn(); break;
      default:
        throw cli.unexpected();
    }
  }
  const formats = command === 'simulate' ? ['text', 'json', 'jsonl', 'sarif'] : ['text', 'json'];
  if (!formats.includes(parsed.format)) throw new UsageError(`--format must be ${formats.slice(0, -1).join(', ')} or ${formats.at(-1)!} (got "${parsed.format}")`);
  if (parsed.policies.length === 0) throw new UsageError(`${command} needs --policies`);
  if (command === 'simulate' && parsed.source === 'files' && parsed.traffic.length === 0) throw new UsageError('simulate needs --traffic (or --source clickhouse)');
  if (parsed.source === 'clickhouse' && parsed.traffic.length) throw new UsageError('--source clickhouse reads the configured table: give no --traffic');
  if (command === 'explain' && !parsed.call) throw new UsageError("explain needs --call '<call>' (an access record in JSON, or the short form)");
  return parsed;
}

/** A threshold of calls: a whole number. */
function callCount(flag: string, raw: string): number {
  if (!/^\d+$/.test(raw)) throw new UsageError(`${flag} must be a whole number of calls (got "${raw}")`);
  return Number(raw);
}

/** What the commands that decide observed calls (simulate, explain, report, generate) load. */
export type LoadRequest = Pick<Parsed, 'policies' | 'inventory' | 'config'>;

/** Reads the policies and the inventory into one workspace and compiles the simulators. */
export function loadWorkspace(parsed: LoadRequest, io: CliIo, options: { quietWithoutPolicies?: boolean; policiesByDefault?: boolean } = {}): { workspace: WorkspaceModel; simulation: Simulation; engine: Engine } | number {
  const all = [...parsed.policies, ...parsed.inventory].map((p) => resolve(io.cwd, p));
  if (reportMissing(all, io) || (parsed.config && reportMissing([parsed.config], io, 'config'))) return 2;
  const config = parsed.config ? loadConfig(resolve(io.cwd, parsed.config)) : findConfig(io.cwd);
  for (const problem of config.problems) io.stderr(`mesh-policy: ${problem.message}`);
  if (config.unusable) return 2;
  const engine = new Engine();
  const workspace = new WorkspaceModel(config);
  const walk = collectPolicyFiles(all);
  const notes = walkNotes(walk, io.cwd);
  for (const note of [...notes.skipped, ...notes.unreadable]) io.stderr(`mesh-policy: ${note}`);
  if (walk.unreadable.length) return 2;
  // (the current folder, when no --policies named one, may well hold no policy)
  if (reportEmptyFolders(options.policiesByDefault ? walk.empty.filter((p) => !parsed.policies.some((given) => resolve(io.cwd, given) === p)) : walk.empty, io)) return 2;
  // A file found only under --inventory gives its manifests, never its policies: only --policies
  // decide. (No --inventory: every file walked is under --policies.)
  const policyFiles = parsed.inventory.length ? new Set(collectPolicyFiles(parsed.policies.map((p) => resolve(io.cwd, p))).files) : undefined;
  for (const path of walk.files) {
    try {
      const prepared = engine.prepare(engine.readFile(path));
      const isPolicyFile = !policyFiles || policyFiles.has(path);
      workspace.update(isPolicyFile ? prepared : { file: prepared.file, recognition: { resources: [], unserved: [] } });
      if (isPolicyFile) noteUnparsed(engine.syntaxFindings(prepared), io);
    } catch (error) {
      io.stderr(`mesh-policy: cannot read "${relative(io.cwd, path) || path}": ${describeFsError(error)}`);
      return 2;
    }
  }
  if (workspace.resources.length === 0 && !options.quietWithoutPolicies) io.stderr('mesh-policy: no Istio, Linkerd or Consul policy found in --policies');
  for (const note of meshConfigNotes(workspace.config.istio, false)) io.stderr(`mesh-policy: ${note}`);
  return { workspace, simulation: new Simulation(workspace), engine };
}

/**
 * A policy in a document that does not parse (or in a file over a limit) is not simulated
 * (`parsedCleanly`): one line per such file says so, instead of deciding without it unannounced.
 */
function noteUnparsed(syntax: readonly Finding[], io: CliIo): void {
  const errors = syntax.filter((f) => f.severity === 'error').sort(compareFindings);
  const first = errors[0];
  if (!first) return;
  const more = errors.length > 1 ? ` (and ${errors.length - 1} more)` : '';
  io.stderr(`mesh-policy: ${displayPath(io.cwd, first.file)}:${first.range.start.line + 1}:${first.range.start.character + 1}: ${first.message}${more}; the policies of a document that does not parse are not simulated (mesh-policy lint lists every problem)`);
}

export async function runSimulateCli(args: string[], io: CliIo, workerEntry?: { file: string; argv: string[] }, run: { signal?: AbortSignal; stderrIsTty?: boolean } = {}): Promise<number> {
  try {
    const parsed = parse(args, 'simulate');
    const loaded = loadWorkspace(parsed, io);
    if (typeof loaded === 'number') return loaded;
    const trafficPaths = parsed.traffic.map((p) => resolve(io.cwd, p));
    if (reportMissing(trafficPaths, io)) return 2;
    const source = parsed.source === 'clickhouse' ? clickhouseSource(loaded.workspace.config) : new FileTrafficSource(trafficPaths, {
      ...(parsed.format === 'jsonl' ? { workers: 1 } : {}),
      ...(workerEntry ? { workerEntry } : {}),
    });
    if (typeof source === 'string') {
      io.stderr(`mesh-policy: ${source}`);
      return 2;
    }
    const shown = parsed.progress || run.stderrIsTty ? progressPrinter((t) => process.stderr.write(t)) : undefined;
    const model = await readSource(source, {
      ...(parsed.maxLines !== undefined ? { maxLinesPerFile: parsed.maxLines } : {}),
      ...(run.signal ? { signal: run.signal } : {}),
      ...(shown ? { onProgress: shown.onProgress } : {}),
      inventory: loaded.workspace.inventory, config: loaded.workspace.config,
      // Only headers some policy tests can change a decision: fold the rest away.
      keyHeaders: headersTestedBy(loaded.workspace),
      // jsonl answers per input line, so every line's place is kept.
      ...(parsed.format === 'jsonl' ? { maxSamples: Number.MAX_SAFE_INTEGER } : {}),
    }, io).finally(() => shown?.done());
    if (model === undefined) return 2;
    for (const problem of readProblems(model, trafficPaths, loaded.workspace.config, io.cwd)) io.stderr(`mesh-policy: ${problem}`);
    const decided = simulateShapes(loaded.simulation, model.shapes);
    const rel = (p: string) => displayPath(io.cwd, p);
    let comparison: BaselineComparison | undefined;
    if (parsed.baseline) {
      const paths = [...parsed.policies, ...parsed.inventory].map((p) => resolve(io.cwd, p));
      try {
        comparison = await compareWithGit({ engine: loaded.engine, workspace: loaded.workspace, paths, currentFiles: collectPolicyFiles(paths).files, ref: parsed.baseline, outcomes: decided.outcomes });
      } catch (error) {
        if (!(error instanceof BaselineError)) throw error;
        io.stderr(`mesh-policy: --baseline: ${error.message}`);
        return 2;
      }
    }
    // Secrets in the logs never reach the output (decisions above used the real values). Text and
    // SARIF print a few of the calls: only those are redacted, not a copy of every decision.
    const redactor = redactorFor(loaded.workspace.config);
    const printable = (o: ShapeOutcome): ShapeOutcome => redactedOutcome(o, redactor);
    const printableImpact = ({ outcome, baseline }: CallImpact): CallImpact => ({ outcome: printable(outcome), baseline: redactor.deep(baseline, redactor.secretsOf(outcome.shape.record)) });
    switch (parsed.format) {
      case 'json': io.stdout(JSON.stringify({ ...(jsonResult(redacted(decided, redactor), model, rel, authenticationSummaries(loaded.simulation.compiledFor('istio'), decided.outcomes), loaded.simulation.notInEffect(), absentDeniers(decided.outcomes, loaded.workspace.resources)) as object), ...(comparison ? { baseline: baselineJson(comparison, rel, printableImpact) } : {}) }, null, 2)); break;
      case 'jsonl': for (const line of jsonlLines(decided, rel, model.stats.files.map((f) => f.path), redactor)) io.stdout(line); break;
      case 'sarif': io.stdout(trafficSarif(loaded, decided, comparison, io.cwd, redactor)); break;
      default: io.stdout(textSummary(decided, model, rel, printable, authenticationSummaries(loaded.simulation.compiledFor('istio'), decided.outcomes), loaded.simulation.notInEffect(), absentDeniers(decided.outcomes, loaded.workspace.resources)) + (comparison ? `\n\n${baselineText(comparison, rel, printableImpact)}` : ''));
    }
    if (trafficUnread(model)) return 2;
    const newlyDenied = comparison ? comparison.becomeDenied : decided.totals.newlyDenied;
    const newlyAllowed = comparison ? comparison.becomeAllowed : decided.totals.newlyAllowed;
    const failed = newlyDenied > parsed.failOnNewlyDenied || (parsed.failOnNewlyAllowed !== undefined && newlyAllowed > parsed.failOnNewlyAllowed);
    return failed ? 1 : 0;
  } catch (error) {
    if (isAbort(error, run.signal)) {
      io.stderr('\nmesh-policy: interrupted; nothing was printed');
      return EXIT_INTERRUPTED;
    }
    return commandFailure(error, io, SIMULATE_USAGE);
  }
}

/**
 * Reads the access logs with the workspace's inventory and configuration, folding away the
 * request headers no policy tests (they cannot change a decision); 2 when a path is missing.
 */
export async function readTraffic(paths: string[], workspace: WorkspaceModel, io: CliIo, options: IngestOptions = {}): Promise<TrafficModel | number> {
  const trafficPaths = paths.map((p) => resolve(io.cwd, p));
  if (reportMissing(trafficPaths, io)) return 2;
  const model = await ingestTraffic(trafficPaths, { inventory: workspace.inventory, config: workspace.config, keyHeaders: headersTestedBy(workspace), ...options });
  for (const problem of readProblems(model, trafficPaths, workspace.config, io.cwd)) io.stderr(`mesh-policy: ${problem}`);
  return model;
}

export function runExplainCli(args: string[], io: CliIo): number {
  try {
    const parsed = parse(args, 'explain');
    const written = parseWrittenCall(parsed.call!);
    if ('problem' in written) throw new UsageError(`--call ${written.problem}`);
    const loaded = loadWorkspace(parsed, io);
    if (typeof loaded === 'number') return loaded;
    const redactor = redactorFor(loaded.workspace.config);
    const { record: call, decision: decided } = decideWrittenCall(loaded.simulation, written.call, loaded.workspace.config);
    const decision = redactor.deep(decided, redactor.secretsOf(call));
    const rel = (p: string) => displayPath(io.cwd, p);
    const difference = observedDifference(decision, call);
    const dryRun = dryRunDifference(decision, call);
    const json = { ...decision, ...(difference ? { observedDifference: difference } : {}), ...(dryRun ? { observedDryRunDifference: dryRun } : {}) };
    io.stdout(parsed.format === 'json' ? jsonWithRelativeFiles(json, rel) : explainText(decision, rel, difference, dryRun));
    return 0;
  } catch (error) {
    return commandFailure(error, io, SIMULATE_USAGE);
  }
}

/** The result as it may be printed: records without their secrets, and decisions (reasons,
 * traces) without the secret values of the call they are about. */
function redacted(result: SimulationResult, redactor: Redactor): SimulationResult {
  return { ...result, outcomes: result.outcomes.map((o) => redactedOutcome(o, redactor)) };
}

function redactedOutcome(o: ShapeOutcome, redactor: Redactor): ShapeOutcome {
  return { ...o, shape: { ...o.shape, record: redactor.record(o.shape.record) }, decision: redactor.deep(o.decision, redactor.secretsOf(o.shape.record)) };
}



const n = (value: number): string => value.toLocaleString('en-US');

/** `file:line` of a place, the file as `rel` writes it ('' for none). */
export function where(ref: SourceRef | undefined, rel: (p: string) => string): string {
  return ref ? `${rel(ref.file)}:${ref.range.start.line + 1}` : '';
}

export function explainText(decision: Decision, rel: (p: string) => string, difference?: string, dryRunDifference?: string): string {
  const meshUnknown = decision.missing?.includes('mesh') === true;
  const out = [`${decision.verdict.toUpperCase()}${meshUnknown ? '' : ` (${decision.mesh})`}: ${decision.reason}`];
  if (meshUnknown) out.push('say which mesh: start the short form with istio:, linkerd: or consul:, or give "mesh" in the access record');
  if (difference) out.push(`the log disagrees: ${difference}`);
  if (dryRunDifference) out.push(`the log's dry-run results disagree: ${dryRunDifference}`);
  if (decision.status) out.push(`status ${decision.status}`);
  if (decision.audited) out.push('audited: an AUDIT rule or audit policy matched');
  if (decision.missing?.length) out.push(`missing from the call: ${decision.missing.join(', ')}`);
  out.push('', 'Walkthrough:');
  decision.trace.forEach((step, i) => out.push(`  ${String(i + 1).padStart(2)}. [${step.outcome}] ${step.text}${step.at ? `  (${where(step.at, rel)} ${step.at.label})` : ''}`));
  for (const shadow of decision.shadow ?? []) out.push(`  ${shadow.reason}  (${where(shadow.rule ?? shadow.policy, rel)})`);
  return out.join('\n');
}

function tallyText(t: Tally): string {
  const parts = [`${n(t.allow)} allowed`, `${n(t.deny)} denied`];
  if (t.external) parts.push(`${n(t.external)} external`);
  if (t.unknown) parts.push(`${n(t.unknown)} unknown`);
  const changed = t.newlyDenied + t.newlyAllowed;
  if (changed) parts.push(`${n(changed)} changed (${n(t.newlyDenied)} newly denied, ${n(t.newlyAllowed)} newly allowed)`);
  return parts.join(' · ');
}



/**
 * `shown`: the outcome as it may be printed (redacted), asked only for the outcomes printed.
 * `authentication`: what the Istio PeerAuthentications and RequestAuthentications did
 * (`authenticationSummaries`), listed apart from the policies that allow and deny.
 * `refused`: the resources the meshes refuse to store.
 */
export function textSummary(result: SimulationResult, model: TrafficModel, rel: (p: string) => string, shown: (o: ShapeOutcome) => ShapeOutcome = (o) => o, authentication: readonly AuthenticationSummary[] = [], refused: readonly Pick<RefusedResource, 'ref' | 'reason'>[] = [], absent: readonly AbsentDenier[] = []): string {
  const t = result.totals;
  /** `  N×  call  — text  [sample]`, the call and text as it may be printed (redacted). */
  const callRow = ({ outcome, calls, queries }: DisplayedCall, text: (o: ShapeOutcome) => string): string => {
    const o = shown(outcome);
    const sample = o.shape.samples[0];
    return `  ${n(calls).padStart(6)}×  ${rowCall({ outcome: o, calls, queries })}  — ${text(o)}${sample ? `  [${rel(sample.file)}:${sample.line}]` : ''}`;
  };
  const out = [
    `Simulated ${n(t.calls)} calls (${n(result.outcomes.length)} shapes from ${n(model.stats.lines)} log lines, ${n(model.stats.skipped)} skipped).`,
    `Verdicts: ${tallyText(t)}; ${n(t.unchanged)} as observed.`,
    '',
    'Per policy and rule:',
  ];
  for (const policy of result.policies) {
    if (isAuthenticationLabel(policy.ref.label)) continue;
    out.push(`  ${where(policy.ref, rel)} ${policy.ref.label}: ${tallyText(policy)}`);
    for (const rule of policy.rules.values()) out.push(`      ${rule.ref.label}: ${tallyText(rule)}`);
  }
  const undecided = result.outcomes.filter((o) => !o.decision.policy);
  if (undecided.length) out.push(`  (no policy; mesh default): ${tallyText(undecided.reduce((acc, o) => { acc.calls += o.shape.count; acc[o.decision.verdict] += o.shape.count; if (o.change === 'newly-denied') acc.newlyDenied += o.shape.count; if (o.change === 'newly-allowed') acc.newlyAllowed += o.shape.count; return acc; }, { calls: 0, allow: 0, deny: 0, external: 0, unknown: 0, newlyDenied: 0, newlyAllowed: 0 } as Tally))}`);
  if (refused.length) {
    out.push('', 'Not in effect (the mesh refuses to store them, so they decide nothing):');
    for (const { ref, reason } of refused) out.push(`  ${where(ref, rel)} ${ref.label}: ${reason}`);
  }
  out.push(...authenticationText(result, authentication, rel));
  const audits = auditTallies(result.outcomes);
  if (audits.length) {
    out.push('', 'AUDIT policies (they mark calls for audit logging and decide nothing):');
    for (const audit of audits) {
      out.push(`  ${where(audit.ref, rel)} ${audit.ref.label}: marks ${tallyText(audit)}`);
      for (const rule of audit.rules.values()) out.push(`      ${rule.ref.label}: marks ${tallyText(rule)}`);
    }
  }
  const dryRun = dryRunTallies(result.outcomes);
  if (dryRun.length) {
    out.push('', 'Dry-run policies (not enforced), what they would do:');
    for (const policy of dryRun) {
      out.push(`  ${where(policy.ref, rel)} ${policy.ref.label} (${policy.engine.toUpperCase()}): ${dryRunSummary(policy, policy.engine).replace(/^dry run \(not enforced\): /, '')}`);
      for (const rule of policy.rules.values()) out.push(`      ${rule.ref.label}: matches ${n(rule.matched)}`);
    }
    const otherwise = displayedCalls(result.outcomes.filter((o) => dryRunDifference(o.decision, o.shape.record) !== undefined), (o) => dryRunDifference(o.decision, o.shape.record)!);
    if (otherwise.length) {
      out.push('', 'Dry-run results the logs report otherwise (top 20 by calls; was the policy changed since?):');
      for (const row of otherwise.slice(0, 20)) out.push(callRow(row, (o) => dryRunDifference(o.decision, o.shape.record)!));
    }
  }
  // (rows merge calls that print alike: two pods of a workload, paths differing in their query string)
  const changed = displayedCalls(result.outcomes.filter((o) => o.change === 'newly-denied' || o.change === 'newly-allowed'), (o) => `${o.change} ${o.decision.reason}`);
  if (changed.length) {
    out.push('', 'Changes against what was observed (top 20 by calls):');
    for (const row of changed.slice(0, 20)) out.push(`  ${row.outcome.change === 'newly-denied' ? 'newly denied ' : 'newly allowed'}${callRow(row, (o) => o.decision.reason)}`);
  }
  const differing = displayedCalls(result.outcomes.filter((o) => observedDifference(o.decision, o.shape.record) !== undefined), (o) => observedDifference(o.decision, o.shape.record)!);
  if (differing.length) {
    out.push('', 'Calls the logs attribute otherwise (a denier, or audit mode; top 20 by calls):');
    for (const row of differing.slice(0, 20)) out.push(callRow(row, (o) => observedDifference(o.decision, o.shape.record)!));
  }
  if (absent.length) {
    out.push('', 'Denials the logs attribute to resources the workspace does not have (the cluster had them; top 20 by calls):');
    for (const denier of absent.slice(0, 20)) {
      const sample = denier.busiest.shape.samples[0];
      out.push(`  ${n(denier.calls).padStart(6)}×  ${denier.kind} ${denier.namespace}/${denier.name} (${denier.mesh})${sample ? `  [${rel(sample.file)}:${sample.line}]` : ''}`);
    }
  }
  const unknown = result.outcomes.filter((o) => o.decision.verdict === 'unknown');
  if (unknown.length) {
    const byMissing = new Map<string, number>();
    for (const u of unknown) {
      const o = shown(u);
      for (const m of o.decision.missing?.length ? o.decision.missing : ['(see trace)']) byMissing.set(m, (byMissing.get(m) ?? 0) + o.shape.count);
    }
    out.push('', 'Undecidable calls, by missing attribute:');
    for (const [attribute, calls] of [...byMissing].sort((a, b) => b[1] - a[1])) out.push(`  ${n(calls).padStart(8)}  ${attribute}`);
  }
  return out.join('\n');
}

/** The `authentication` key of the JSON: what `authenticationText` prints, as values. */
function authenticationJson(result: SimulationResult, authentication: readonly AuthenticationSummary[], rel: (p: string) => string): unknown[] {
  // (without the summaries, those that refused calls, from the tallies, as the text does)
  if (!authentication.length) {
    return result.policies.filter((p) => isAuthenticationLabel(p.ref.label)).map((p) => ({ kind: p.ref.label.split(' ')[0], ref: { ...p.ref, file: rel(p.ref.file) }, label: p.ref.label, refused: p.deny }));
  }
  return authentication.map((a) => ({ kind: a.kind, ref: { ...a.ref, file: rel(a.ref.file) }, label: a.label, governs: a.governs, refused: a.refused, text: a.text }));
}

/** The authentication section: each PeerAuthentication and RequestAuthentication with the calls it refused and governed (they allow none). */
function authenticationText(result: SimulationResult, authentication: readonly AuthenticationSummary[], rel: (p: string) => string): string[] {
  // (without the summaries, those that refused calls, from the tallies)
  const rows = authentication.length
    ? authentication.map((a) => `  ${where(a.ref, rel)} ${a.label}: ${refusedText(a)} · governs ${n(a.governs)} · ${a.text}`)
    : result.policies.filter((p) => isAuthenticationLabel(p.ref.label)).map((p) => `  ${where(p.ref, rel)} ${p.ref.label}: refused ${n(p.deny)}`);
  if (!rows.length) return [];
  return ['', 'Authentication (PeerAuthentications and RequestAuthentications allow nothing; a STRICT mode refuses plaintext calls, the connection failing, a RequestAuthentication invalid tokens with 401):', ...rows];
}

/**
 * The JSON of `simulate`: `policies` the policies that decide calls (with their rules), as the
 * text's *Per policy and rule*; `authentication` what each Istio PeerAuthentication and
 * RequestAuthentication did (they allow nothing), as the text's *Authentication* section;
 * `notInEffect` the resources the meshes refuse to store, which decide nothing, as the text's
 * *Not in effect*.
 */
function jsonResult(result: SimulationResult, model: TrafficModel, rel: (p: string) => string, authentication: readonly AuthenticationSummary[], refused: readonly RefusedResource[], absent: readonly AbsentDenier[]): unknown {
  return {
    totals: result.totals,
    stats: { lines: model.stats.lines, parsed: model.stats.parsed, skipped: model.stats.skipped, skippedByReason: model.stats.skippedByReason, calls: model.stats.calls, shapes: model.stats.shapes },
    policies: result.policies.filter((p) => !isAuthenticationLabel(p.ref.label)).map((p) => ({ ...p, ref: { ...p.ref, file: rel(p.ref.file) }, rules: [...p.rules.values()].map((r) => ({ ...r, ref: { ...r.ref, file: rel(r.ref.file) } })) })),
    authentication: authenticationJson(result, authentication, rel),
    notInEffect: refused.map(({ mesh, ref, reason }) => ({ mesh, ref: { ...ref, file: rel(ref.file) }, reason })),
    absentDeniers: absent.map((d) => ({ mesh: d.mesh, kind: d.kind, namespace: d.namespace, name: d.name, calls: d.calls, samples: d.busiest.shape.samples.map((s) => ({ file: rel(s.file), line: s.line })) })),
    dryRun: dryRunTallies(result.outcomes).map((p) => ({ ...p, ref: { ...p.ref, file: rel(p.ref.file) }, rules: [...p.rules.values()].map((r) => ({ ...r, ref: { ...r.ref, file: rel(r.ref.file) } })) })),
    calls: result.outcomes.map((o) => ({ record: o.shape.record, count: o.shape.count, samples: o.shape.samples.map((s) => ({ file: rel(s.file), line: s.line })), decision: o.decision.verdict, change: o.change, mesh: o.decision.mesh, reason: o.decision.reason, policy: o.decision.policy?.label, rule: o.decision.rule?.label, missing: o.decision.missing, observedDifference: observedDifference(o.decision, o.shape.record), ...shadowField(o, rel), trace: o.decision.trace.map((s) => s.text) })),
  };
}

/** One line per record, files in the order they were read (as given on the command line). The
 * texts a line prints are redacted as it is written, not through a copy of every decision. */
function* jsonlLines(result: SimulationResult, rel: (p: string) => string, fileOrder: readonly string[], redactor: Redactor): Generator<string> {
  const rank = new Map(fileOrder.map((f, i) => [f, i]));
  const rows: { file: string; rank: number; line: number; index: number }[] = [];
  result.outcomes.forEach((o, index) => { for (const s of o.shape.samples) rows.push({ file: s.file, rank: rank.get(s.file) ?? fileOrder.length, line: s.line, index }); });
  rows.sort((a, b) => a.rank - b.rank || (a.file < b.file ? -1 : a.file > b.file ? 1 : a.line - b.line));
  for (const row of rows) {
    const o = result.outcomes[row.index]!;
    const secrets = redactor.secretsOf(o.shape.record);
    yield JSON.stringify(redactor.deep({
      file: rel(row.file), record: row.line, decision: o.decision.verdict, mesh: o.decision.mesh,
      policy: o.decision.policy?.label ?? null, rule: o.decision.rule?.label ?? null,
      observed: o.shape.record.observed ?? 'unknown', change: o.change, reason: o.decision.reason,
      ...(o.decision.missing?.length ? { missing: o.decision.missing } : {}),
      ...observedField(o),
      ...shadowField(o, rel),
      trace: o.decision.trace.map((s) => s.text),
    }, secrets));
  }
}

/** The dry-run engines' verdicts of a decision, as printed: `{engine, verdict, policy, rule, reason}` each. */
function shadowField(o: ShapeOutcome, rel: (p: string) => string): { dryRun?: unknown[]; observedDryRunDifference?: string } {
  const { decision } = o;
  if (!decision.shadow?.length) return {};
  const difference = dryRunDifference(decision, o.shape.record);
  return {
    dryRun: decision.shadow.map((s) => ({ engine: s.engine, verdict: s.verdict, policy: s.policy.label, file: rel(s.policy.file), rule: s.rule?.label ?? null, reason: s.reason })),
    ...(difference === undefined ? {} : { observedDryRunDifference: difference }),
  };
}

function observedField(o: ShapeOutcome): { observedDifference?: string } {
  const difference = observedDifference(o.decision, o.shape.record);
  return difference === undefined ? {} : { observedDifference: difference };
}

function baselineText(c: BaselineComparison, rel: (p: string) => string, shown: (c: CallImpact) => CallImpact): string {
  const out = [`Baseline ${c.ref} (${c.commit.slice(0, 12)}): ${impactSentence(c.ref, c)}.`];
  if (c.added.length) out.push(`  files added since ${c.ref}: ${c.added.map(rel).join(', ')}`);
  if (c.deleted.length) out.push(`  files deleted since ${c.ref}: ${c.deleted.map(rel).join(', ')}`);
  if (c.policies.length) out.push('', `Per policy and rule (calls whose verdict differs from ${c.ref}):`);
  for (const policy of c.policies) {
    out.push(`  ${where(policy.ref, rel)} ${policy.ref.label}: ${impactLens(c.ref, policy) ?? ''}`);
    for (const rule of policy.rules.values()) out.push(`      ${rule.ref.label}: ${impactLens(c.ref, rule) ?? ''}`);
  }
  if (c.baselinePolicies.length) out.push('', `The same calls by the policy and rule that decided them at ${c.ref}:`);
  for (const policy of c.baselinePolicies) {
    out.push(`  ${rel(policy.ref.file)} ${policy.ref.label}: ${impactLens(c.ref, policy) ?? ''}`);
    for (const rule of policy.rules.values()) out.push(`      ${rule.ref.label}: ${impactLens(c.ref, rule) ?? ''}`);
  }
  if (c.changed.length) {
    out.push('', `Calls whose verdict differs from ${c.ref} (top 20 by calls):`);
    // (rows merge calls that print alike, as the summary's lists do)
    const impacts = new Map(c.changed.map((impact) => [impact.outcome, impact]));
    const rows = displayedCalls(c.changed.map((impact) => impact.outcome), (o) => `${impacts.get(o)!.baseline.verdict}\u0000${o.decision.verdict}\u0000${o.decision.reason}`);
    for (const { outcome: busiest, calls, queries } of rows.slice(0, 20)) {
      const { outcome, baseline } = shown(impacts.get(busiest)!);
      const sample = outcome.shape.samples[0];
      out.push(`  ${baseline.verdict} → ${outcome.decision.verdict}  ${n(calls).padStart(6)}×  ${rowCall({ outcome, calls, queries })}  — ${outcome.decision.reason}${sample ? `  [${rel(sample.file)}:${sample.line}]` : ''}`);
    }
  }
  return out.join('\n');
}

function baselineJson(c: BaselineComparison, rel: (p: string) => string, shown: (c: CallImpact) => CallImpact): unknown {
  const ref = (r: SourceRef) => ({ ...r, file: rel(r.file) });
  return {
    ref: c.ref, commit: c.commit, summary: impactSentence(c.ref, c),
    becomeDenied: c.becomeDenied, becomeAllowed: c.becomeAllowed, otherwise: c.otherwise,
    added: c.added.map(rel), deleted: c.deleted.map(rel),
    policies: c.policies.map((p) => ({ ref: ref(p.ref), becomeDenied: p.becomeDenied, becomeAllowed: p.becomeAllowed, otherwise: p.otherwise, rules: [...p.rules.values()].map((r) => ({ ref: ref(r.ref), becomeDenied: r.becomeDenied, becomeAllowed: r.becomeAllowed, otherwise: r.otherwise })) })),
    calls: c.changed.map(shown).map(({ outcome, baseline }) => ({ record: outcome.shape.record, count: outcome.shape.count, samples: outcome.shape.samples.map((s) => ({ file: rel(s.file), line: s.line })), before: baseline.verdict, after: outcome.decision.verdict, reason: outcome.decision.reason, baselineReason: baseline.reason, policy: outcome.decision.policy?.label, rule: outcome.decision.rule?.label })),
  };
}

/**
 * SARIF of the simulation: the findings the editor shows for the same traffic (MPA4xxx, from
 * `TrafficInsight`: one per deciding rule or policy, with the configured severities and the
 * busiest calls' log lines as related locations), on every policy file of the workspace.
 */
function trafficSarif(loaded: { workspace: WorkspaceModel; simulation: Simulation }, result: SimulationResult, comparison: BaselineComparison | undefined, cwd: string, redactor: Redactor): string {
  const insight = new TrafficInsight(loaded.workspace, loaded.simulation, result, loaded.workspace.config.rules, comparison);
  // The messages quote calls and decision reasons: the logs' secret values are masked, as in the editor.
  const secrets = redactor.secretValues(result.outcomes.map((o) => o.shape.record));
  const findings = loaded.workspace.sourceFiles.flatMap((file) => insight.findings(file.path)).sort(compareFindings).map((f) => redactor.finding(f, secrets));
  return formatSarif(findings, cwd, VERSION);
}

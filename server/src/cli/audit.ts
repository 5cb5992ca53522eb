import { accessAgainstTraffic, REPORT_MAX_ACCESS_CELLS } from '../engine/access';
import { closeSync, fchmodSync, fsyncSync, openSync, renameSync, unlinkSync, writeSync } from 'node:fs';
import { basename, dirname, isAbsolute, join, relative, resolve } from 'node:path';
import { authenticationSummaries } from '../engine/insight/authnLens';
import { AUDIT_TIME_BUCKET_MS, buildAuditModel, generateChecked, PLAINTEXT_CALLERS, renderReportHtml, renderReportMarkdown, selfCheckLines, type GenerateOptions, type PlaintextCallers } from '../engine/audit';
import { MESHES, type Mesh } from '../engine/meshes';
import { Engine } from '../engine/engine';
import type { Resource } from '../engine/resource';
import type { PreparedFile } from '../engine/workspace';
import { parsedCleanly } from '../engine/source/sourceFile';
import { collectPolicyFiles } from '../engine/workspaceFiles';
import { describeFsError } from '../engine/fsErrors';
import { simulateShapes } from '../engine/simulate';
import { DEFAULT_MAX_TESTS, EXPECT_FROM, policyTestsFromTraffic, type ExpectFrom } from '../engine/policyTests/fromTraffic';
import { redactorFor } from '../engine/traffic/redact';
import { renderAccessCsv } from '../engine/audit/render/csv';
import type { TimeWindow } from '../engine/traffic/ingest';
import { commandFailure, HelpRequested, UsageError } from './errors';
import { ArgCursor } from './args';
import type { CliIo } from './main';
import { loadWorkspace, readTraffic } from './simulate';
import { EXIT_INTERRUPTED, isAbort, trafficUnread } from './traffic';
import { isCalendarDate } from '../engine/traffic/formats/common';

export const AUDIT_USAGE = `Usage: mesh-policy report   --traffic <paths> [--policies <paths>] [options]
       mesh-policy generate --mesh istio|linkerd|consul --traffic <paths> [--inventory <paths>] [options]
       mesh-policy generate --tests --traffic <paths> [--policies <paths>] [--expect observed|policies] [options]

report decides every observed call with the policies and writes the audit: traffic matrix,
trends, violations, top services and callers, workloads with no policy, unused rules, risky
patterns (docs/audit.md). generate writes least-privilege policies that allow exactly the
observed allowed calls of identified callers, with comments stating the evidence.
generate --tests writes policy tests (docs/policy-tests.md): the observed calls, one per caller,
destination, port, method and path, each expecting what the mesh did with it.

Options:
  --policies <paths>           Policy files or folders (report, generate --tests; default: the current folder).
  --traffic <paths>            Access logs (files or folders).
  --inventory <paths>          Kubernetes manifests or kubectl dumps (default: the policy paths).
  --config <file>              .meshpolicy.yaml (default: the nearest one above the current folder).
  --format html|md|json|csv    report: the HTML file (default), Markdown for a PR comment, the model, or
                               one CSV row per distinct access (caller, destination, port, method,
                               path), none left out, for a spreadsheet or a SIEM.
  --since <ISO time>           report: only log lines at or after this time.
  --until <ISO time>           report: only log lines before this time.
  --mesh istio|linkerd|consul  generate: the mesh to write policies for.
  --include-unknown            generate: also count calls whose outcome the log does not record.
  --plaintext-callers ip|any|none
                               generate (Istio): allow observed plaintext callers to ports whose mTLS
                               mode is PERMISSIVE or DISABLE by their addresses (ip, the default), by
                               port and request alone, admitting any plaintext client there (any),
                               or not at all (none).
  --tests                      generate: policy tests from the observed calls instead of policies
                               (--mesh then only picks the calls of one mesh).
  --expect observed|policies   generate --tests: expect what the logs observed (default), or what
                               the policies decide now (a snapshot).
  --max-tests <N>              generate --tests: at most N tests (default 200); the busiest call
                               of each caller and destination first.
  --output <file>              Write there (atomically) instead of standard output.

Exit codes: report: 0, or 1 when observed-allowed calls would be denied by the policies;
generate: 0, or 1 when no policy could be generated or when the generated policies would deny
calls the logs show allowed (a self-check simulates them; stderr says which and why);
generate --tests: 0, or 1 when no test could be written or when tests fail with the policies now;
2 usage error or unreadable input.`;


interface AuditArgs {
  policies: string[];
  traffic: string[];
  inventory: string[];
  config?: string;
  format: 'html' | 'md' | 'json' | 'csv';
  since?: string;
  until?: string;
  mesh?: Mesh;
  includeUnknown: boolean;
  plaintextCallers: PlaintextCallers;
  output?: string;
  /** generate: write policy tests, not policies. */
  tests: boolean;
  expect?: ExpectFrom;
  maxTests?: number;
}

function parse(args: string[], command: 'report' | 'generate'): AuditArgs {
  const parsed: AuditArgs = { policies: [], traffic: [], inventory: [], format: 'html', includeUnknown: false, plaintextCallers: 'ip', tests: false };
  for (const cli = new ArgCursor(args); cli.next();) {
    const flag = cli.flag;
    const value = (): string => cli.value();
    const list = (): string[] => cli.list();
    const only = (which: 'report' | 'generate') => cli.only(command, which);
    switch (flag) {
      case '--help': case '-h': throw new HelpRequested();
      case '--policies': parsed.policies.push(...list()); break;
      case '--tests': only('generate'); parsed.tests = cli.switchOn(); break;
      case '--expect': {
        only('generate');
        const v = value();
        if (!(EXPECT_FROM as readonly string[]).includes(v)) throw new UsageError(`--expect must be observed or policies (got "${v}")`);
        parsed.expect = v as ExpectFrom;
        break;
      }
      case '--max-tests': {
        only('generate');
        const v = value();
        if (!/^[1-9]\d{0,6}$/.test(v)) throw new UsageError(`--max-tests must be a whole number from 1 (got "${v}")`);
        parsed.maxTests = Number(v);
        break;
      }
      case '--traffic': parsed.traffic.push(...list()); break;
      case '--inventory': parsed.inventory.push(...list()); break;
      case '--config': parsed.config = value(); break;
      case '--output': parsed.output = value(); break;
      case '--format': {
        only('report');
        const v = value();
        if (v !== 'html' && v !== 'md' && v !== 'json' && v !== 'csv') throw new UsageError(`--format must be html, md, json or csv (got "${v}")`);
        parsed.format = v;
        break;
      }
      case '--since': only('report'); parsed.since = isoTime(flag, value()); break;
      case '--until': only('report'); parsed.until = isoTime(flag, value()); break;
      case '--mesh': {
        only('generate');
        const v = value();
        if (!(MESHES as readonly string[]).includes(v)) throw new UsageError(`--mesh must be istio, linkerd or consul (got "${v}")`);
        parsed.mesh = v as Mesh;
        break;
      }
      case '--include-unknown': only('generate'); parsed.includeUnknown = cli.switchOn(); break;
      case '--plaintext-callers': {
        only('generate');
        const v = value();
        if (!(PLAINTEXT_CALLERS as readonly string[]).includes(v)) throw new UsageError(`--plaintext-callers must be ip, any or none (got "${v}")`);
        parsed.plaintextCallers = v as PlaintextCallers;
        break;
      }
      default:
        throw cli.unexpected();
    }
  }
  if (parsed.traffic.length === 0) throw new UsageError(`${command} needs --traffic`);
  if (command === 'generate' && !parsed.mesh && !parsed.tests) throw new UsageError('generate needs --mesh istio|linkerd|consul (or --tests)');
  if (!parsed.tests) {
    if (parsed.policies.length && command === 'generate') throw new UsageError('--policies is an option of report and of generate --tests');
    if (parsed.expect) throw new UsageError('--expect is an option of generate --tests');
    if (parsed.maxTests !== undefined) throw new UsageError('--max-tests is an option of generate --tests');
  } else {
    if (parsed.includeUnknown) throw new UsageError('--include-unknown is an option of generate without --tests: tests are written only for calls whose outcome the log says');
    if (args.some((a) => a === '--plaintext-callers' || a.startsWith('--plaintext-callers='))) throw new UsageError('--plaintext-callers is an option of generate without --tests');
  }
  if (parsed.since && parsed.until && Date.parse(parsed.since) >= Date.parse(parsed.until)) throw new UsageError('--since must be before --until');
  return parsed;
}

function isoTime(flag: string, raw: string): string {
  // a date, or a date and time with an explicit zone (a time without one would depend on the machine)
  if (!/^\d{4}-\d{2}-\d{2}(T\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:?\d{2}))?$/.test(raw) || !isCalendarDate(raw) || Number.isNaN(Date.parse(raw))) {
    throw new UsageError(`${flag} must be an ISO 8601 date or date-time with a zone, e.g. 2025-03-14 or 2025-03-14T09:00:00Z (got "${raw}")`);
  }
  return new Date(Date.parse(raw)).toISOString();
}

/**
 * Writes the whole text to a temporary file beside the target, then renames it over the target:
 * readers never see a partial file, and a failure leaves no file behind.
 */
export function writeFileAtomic(path: string, data: string | Buffer, keepMode?: number): void {
  const temp = join(dirname(path), `.${basename(path)}.${process.pid}.${Date.now()}.tmp`);
  let fd: number | undefined;
  try {
    fd = openSync(temp, 'wx', 0o644);
    // (the mode of a file written over: exactly the old one, whatever the umask)
    if (keepMode !== undefined) fchmodSync(fd, keepMode);
    writeSync(fd, typeof data === 'string' ? Buffer.from(data, 'utf8') : data);
    fsyncSync(fd);
    closeSync(fd);
    fd = undefined;
    renameSync(temp, path);
  } catch (error) {
    if (fd !== undefined) closeSync(fd);
    try { unlinkSync(temp); } catch { /* not created */ }
    throw error;
  }
}

/** The text on standard output, or written to `output` (atomically); 2 when it cannot be written. */
export function emit(text: string, output: string | undefined, io: CliIo): number {
  if (!output) {
    io.stdout(text.endsWith('\n') ? text.slice(0, -1) : text);
    return 0;
  }
  const target = resolve(io.cwd, output);
  try {
    writeFileAtomic(target, text);
  } catch (error) {
    io.stderr(`mesh-policy: cannot write "${output}": ${describeFsError(error)}`);
    return 2;
  }
  // relative inside the working folder, as given; a place outside it reads better whole than as ../../
  const shown = relative(io.cwd, target);
  io.stderr(`mesh-policy: wrote ${shown === '' || shown.startsWith('..') || isAbsolute(shown) ? target : shown} (${Math.ceil(Buffer.byteLength(text) / 1024)} KiB)`);
  return 0;
}

/** What a run was given by the process: Ctrl-C aborts `signal` (nothing is written then). */
export interface AuditRun {
  signal?: AbortSignal;
}

export async function runReportCli(args: string[], io: CliIo, workerEntry?: { file: string; argv: string[] }, run: AuditRun = {}): Promise<number> {
  try {
    const parsed = parse(args, 'report');
    const loaded = loadWorkspace({ policies: parsed.policies.length ? parsed.policies : ['.'], inventory: parsed.inventory, ...(parsed.config ? { config: parsed.config } : {}) }, io, { policiesByDefault: !parsed.policies.length });
    if (typeof loaded === 'number') return loaded;
    const window: TimeWindow = {
      ...(parsed.since ? { since: Date.parse(parsed.since) } : {}),
      ...(parsed.until ? { until: Date.parse(parsed.until) } : {}),
    };
    const traffic = await readTraffic(parsed.traffic, loaded.workspace, io, {
      timeBucketMs: AUDIT_TIME_BUCKET_MS,
      ...(parsed.since || parsed.until ? { timeWindow: window } : {}),
      ...(workerEntry ? { workerEntry } : {}),
      ...(run.signal ? { signal: run.signal } : {}),
    });
    if (typeof traffic === 'number') return traffic;
    const result = simulateShapes(loaded.simulation, traffic.shapes);
    if (parsed.format === 'csv') {
      const csv = renderAccessCsv(result.outcomes, { redactor: redactorFor(loaded.workspace.config), displayPath: (p) => relative(io.cwd, p) || p });
      if (run.signal?.aborted) return interrupted(io);
      const written = emit(csv.text, parsed.output, io);
      if (written !== 0) return written;
      if (trafficUnread(traffic)) return 2;
      return result.totals.newlyDenied > 0 ? 1 : 0;
    }
    const access = await accessAgainstTraffic(loaded.workspace, loaded.simulation, traffic.shapes, { maxCells: REPORT_MAX_ACCESS_CELLS });
    const model = buildAuditModel({ stats: traffic.stats, result, workspace: loaded.workspace, authentication: authenticationSummaries(loaded.simulation.compiledFor('istio'), result.outcomes), refused: loaded.simulation.notInEffect(), access }, {
      displayPath: (p) => relative(io.cwd, p) || p,
      window: { ...(parsed.since ? { since: parsed.since } : {}), ...(parsed.until ? { until: parsed.until } : {}) },
    });
    const text = parsed.format === 'json' ? `${JSON.stringify(model, null, 2)}\n` : parsed.format === 'md' ? renderReportMarkdown(model) : renderReportHtml(model);
    if (run.signal?.aborted) return interrupted(io);
    const written = emit(text, parsed.output, io);
    if (written !== 0) return written;
    if (trafficUnread(traffic)) return 2;
    return result.totals.newlyDenied > 0 ? 1 : 0;
  } catch (error) {
    return isAbort(error, run.signal) ? interrupted(io) : commandFailure(error, io, AUDIT_USAGE);
  }
}

export function interrupted(io: CliIo): number {
  io.stderr('\nmesh-policy: interrupted; nothing was written');
  return EXIT_INTERRUPTED;
}

/**
 * The PeerAuthentications in the --inventory files: the mTLS modes that say whether a plaintext
 * caller could have come in (their AuthorizationPolicies still play no part, nor do these in the
 * self-check). The files were read once already: one that cannot be read now is left out.
 */
function peerAuthenticationsIn(paths: string[], io: CliIo): NonNullable<GenerateOptions['peerAuthentications']> {
  const engine = new Engine();
  const found: { file: PreparedFile['file']; resource: Resource }[] = [];
  for (const path of collectPolicyFiles(paths.map((p) => resolve(io.cwd, p))).files) {
    let prepared: PreparedFile;
    try { prepared = engine.prepare(engine.readFile(path)); } catch { continue; }
    for (const resource of prepared.recognition.resources) if (resource.mesh === 'istio' && resource.kind === 'PeerAuthentication' && parsedCleanly(prepared.file.documents[resource.documentIndex])) found.push({ file: prepared.file, resource });
  }
  return found;
}

export async function runGenerateCli(args: string[], io: CliIo, workerEntry?: { file: string; argv: string[] }, run: AuditRun = {}): Promise<number> {
  try {
    const parsed = parse(args, 'generate');
    if (parsed.tests) return await generateTestsCli(parsed, io, workerEntry, run);
    // only the inventory (and the configuration) are read: existing policies play no part
    const loaded = loadWorkspace({ policies: [], inventory: parsed.inventory, ...(parsed.config ? { config: parsed.config } : {}) }, io, { quietWithoutPolicies: true });
    if (typeof loaded === 'number') return loaded;
    const traffic = await readTraffic(parsed.traffic, loaded.workspace, io, { ...(workerEntry ? { workerEntry } : {}), ...(run.signal ? { signal: run.signal } : {}) });
    if (typeof traffic === 'number') return traffic;
    const peerAuthentications = parsed.mesh === 'istio' ? peerAuthenticationsIn(parsed.inventory, io) : [];
    const options = { inventory: loaded.workspace.inventory, config: loaded.workspace.config, includeUnknownOutcome: parsed.includeUnknown, plaintextCallers: parsed.plaintextCallers, peerAuthentications };
    const { generated, check } = await generateChecked(parsed.mesh!, traffic.shapes, loaded.workspace, { ...options, path: resolve(io.cwd, parsed.output ?? 'generated.yaml') });
    const s = generated.summary;
    if (run.signal?.aborted) return interrupted(io);
    const written = emit(generated.yaml, parsed.output, io);
    if (written !== 0) return written;
    const skipped = s.skipped.reduce((sum, x) => sum + x.calls, 0);
    io.stderr(`mesh-policy: ${generated.resources} resources for ${s.destinations.length} destinations from ${s.counted} allowed calls; ${skipped} calls skipped${s.conflicts.length ? `; ${s.conflicts.length} conflicts` : ''} (see the comments at the top)`);
    // with --output the comments are in the file: say why nothing came out here too
    if (generated.resources === 0) for (const x of s.skipped.slice(0, 5)) io.stderr(`  ${x.calls} calls: ${x.reason}`);
    for (const line of selfCheckLines(check)) io.stderr(`mesh-policy: ${line}`);
    if (trafficUnread(traffic)) return 2;
    return generated.resources > 0 && check.denied === 0 ? 0 : 1;
  } catch (error) {
    return isAbort(error, run.signal) ? interrupted(io) : commandFailure(error, io, AUDIT_USAGE);
  }
}


/** `generate --tests`: policy tests from the observed calls, decided with the policies of the paths. */
async function generateTestsCli(parsed: AuditArgs, io: CliIo, workerEntry: { file: string; argv: string[] } | undefined, run: AuditRun): Promise<number> {
  const loaded = loadWorkspace({ policies: parsed.policies.length ? parsed.policies : ['.'], inventory: parsed.inventory, ...(parsed.config ? { config: parsed.config } : {}) }, io, { policiesByDefault: !parsed.policies.length });
  if (typeof loaded === 'number') return loaded;
  const traffic = await readTraffic(parsed.traffic, loaded.workspace, io, { ...(workerEntry ? { workerEntry } : {}), ...(run.signal ? { signal: run.signal } : {}) });
  if (typeof traffic === 'number') return traffic;
  const result = simulateShapes(loaded.simulation, traffic.shapes);
  const generated = policyTestsFromTraffic(result.outcomes, loaded.simulation, loaded.workspace.config, {
    expect: parsed.expect ?? 'observed', maxTests: parsed.maxTests ?? DEFAULT_MAX_TESTS, redactor: redactorFor(loaded.workspace.config),
    displayPath: (p) => relative(io.cwd, p) || p, ...(parsed.mesh ? { mesh: parsed.mesh } : {}),
  });
  if (run.signal?.aborted) return interrupted(io);
  const written = emit(generated.yaml, parsed.output, io);
  if (written !== 0) return written;
  const n = (x: number) => x.toLocaleString('en-US');
  const skipped = generated.skipped.reduce((sum, s) => sum + s.calls, 0);
  io.stderr(`mesh-policy: ${n(generated.tests)} tests from ${n(generated.candidates)} distinct calls (${n(generated.calls)} calls); ${n(skipped)} calls not written${generated.failing ? `; ${n(generated.failing)} ${generated.failing === 1 ? 'test fails' : 'tests fail'} with the policies now` : ''} (see the comments at the top)`);
  if (generated.tests === 0) for (const s of generated.skipped.slice(0, 5)) io.stderr(`  ${n(s.calls)} calls: ${s.reason}`);
  if (trafficUnread(traffic)) return 2;
  return generated.tests > 0 && generated.failing === 0 ? 0 : 1;
}

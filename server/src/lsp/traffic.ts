import { relative, sep } from 'node:path';
import type { Connection } from 'vscode-languageserver';
import { TrafficInsight } from '../engine/insight/trafficInsight';
import { Simulation } from '../engine/simulate';
import { headersTestedBy } from '../engine/simulate/testedHeaders';
import { ingestTraffic, type IngestProgress, type TrafficModel } from '../engine/traffic/ingest';
import { ClickHouseTrafficSource } from '../engine/traffic/sources';
import type { WorkspaceModel } from '../engine/workspace';
import { CONFIG_FILE_NAME, DEFAULT_TRAFFIC_GLOBS, type ProjectConfig, type RuleSetting } from '../engine/config/projectConfig';
import { BaselineError, baselineWorkspace, readFilesAtRef } from '../engine/baseline';
import { LiveInsight, type LiveBaseline } from '../engine/insight/live';
import type { Resource } from '../engine/resource';
import { sameText } from '../engine/resourceValue';
import { Engine } from '../engine/engine';
import { AUDIT_TIME_BUCKET_MS } from '../engine/audit';
import { trafficCompletionValues, type ObservedValues } from '../engine/observedValues';

export const TRAFFIC_STATUS_NOTIFICATION = 'meshPolicy/trafficStatus';

/** What the status bar shows; sent whenever loading starts or ends, and after each re-simulation. */
export interface TrafficStatus {
  state: 'off' | 'loading' | 'ready' | 'empty' | 'failed';
  files: number;
  lines: number;
  skipped: number;
  calls: number;
  shapes: number;
  policies: number;
  newlyDenied: number;
  newlyAllowed: number;
  unknown: number;
  message?: string;
  /** With no traffic loaded: why, and what would load some (markdown). */
  advice?: string;
}

const code = (text: string): string => `\`${text}\``;

/**
 * Why no access log was found, in the terms of where the traffic globs came from, and what to do:
 * with no `.meshpolicy.yaml` the defaults apply and the fix is to create one with `traffic:`.
 * `roots` are the workspace folders the globs were matched in (the first holds a new file).
 */
export function emptyTrafficAdvice(config: ProjectConfig, roots: readonly string[]): string {
  const globs = config.traffic.length ? config.traffic : DEFAULT_TRAFFIC_GLOBS;
  const listed = globs.map(code).join(', ');
  const defaults = globs.length === DEFAULT_TRAFFIC_GLOBS.length && globs.every((glob, i) => glob === DEFAULT_TRAFFIC_GLOBS[i]);
  const where = roots.length > 1 ? 'the workspace folders' : 'the workspace';
  if (!config.file) {
    return `No access logs found: no file in ${where} matches the default traffic globs (${listed}), and there is no ${code(CONFIG_FILE_NAME)} to name others. `
      + `Put the access logs in ${where}, or create ${code(CONFIG_FILE_NAME)} at the root of ${roots.length > 1 ? 'the first folder' : 'the workspace'} with a ${code('traffic:')} list of globs that match them `
      + `(or name a configuration elsewhere with the setting ${code('meshPolicy.configFile')}).`;
  }
  const root = roots.find((folder) => config.file!.startsWith(folder + sep));
  const file = code(root ? relative(root, config.file) : config.file);
  if (config.unusable) {
    return `No access logs found: ${file} could not be read (see the output channel), so the default traffic globs (${listed}) applied, and no file in ${where} matches them. Fix ${file} or the setting ${code('meshPolicy.configFile')} that names it.`;
  }
  if (defaults) {
    return `No access logs found: ${file} has no ${code('traffic:')} list, so the default globs (${listed}) applied, and no file in ${where} matches them. Add a ${code('traffic:')} list of globs that match the access logs to ${file}.`;
  }
  return `No access logs found: no file in ${where} matches the ${code('traffic:')} globs of ${file} (${listed}). Change them to match the access logs (relative to ${where} or to the folder of ${file}).`;
}

/**
 * A resource can test a header only if "header" is in its text (a key `headers`/`header`, or
 * `request.headers[...]`), unless an escape (YAML, JSON or HCL: a backslash) spells it: others
 * are skipped without keying them by their text.
 */
export function mayNameHeaders(text: string): boolean {
  return /header|\\/i.test(text);
}
const NO_HEADERS: string[] = [];

const describe = (error: unknown): string => (error instanceof Error ? error.message : String(error));
const n = (value: number): string => value.toLocaleString('en-US');

/**
 * The observed traffic of the workspace, as the server sees it: loaded from the configuration's
 * `traffic` globs inside the workspace folders, in the background, with progress and cancellation;
 * and the simulation of the current policies over it, redone when the policies change.
 */
export class TrafficService {
  private model: TrafficModel | undefined;
  private loadingRun: AbortController | undefined;
  private loadedWithHeaders = '';
  private insightCache: { generation: number; modelVersion: number; insight: TrafficInsight } | undefined;
  private readonly headersOf = new WeakMap<Resource, string[]>();
  /** The same by resource text, for the resources walked last time. */
  private headersByText = new Map<string, string[]>();
  /** The simulation of the loaded traffic, kept up to date by difference while the policies are edited. */
  private live: { modelVersion: number; baseline: LiveBaseline | undefined; insight: LiveInsight } | undefined;
  /** Files read into the workspace since the last simulation (edited, opened, changed on disk, removed). */
  private readonly changedFiles = new Set<string>();
  private modelVersion = 0;
  enabled = true;
  /** Why the traffic is not read when `enabled` is false, as the status says it. */
  disabledBecause = '';
  /** Git ref to compare with; empty for none. */
  baselineRef = '';
  private baseline: LiveBaseline | undefined;
  private observed: ObservedValues | undefined;
  status: TrafficStatus = { state: 'off', files: 0, lines: 0, skipped: 0, calls: 0, shapes: 0, policies: 0, newlyDenied: 0, newlyAllowed: 0, unknown: 0 };

  constructor(
    private readonly connection: Connection,
    private readonly workspace: WorkspaceModel,
    private readonly roots: () => string[],
    private readonly onChange: () => void,
    private readonly workerEntry?: { file: string; argv: string[] },
  ) {}

  get loading(): boolean {
    return this.loadingRun !== undefined;
  }

  /** (Re)reads the access logs. A load already running is cancelled first. */
  async load(): Promise<void> {
    this.loadingRun?.abort();
    if (!this.enabled) {
      this.model = undefined;
      this.modelVersion++;
      this.setStatus({ ...this.status, state: 'off', message: this.disabledBecause || 'traffic is not read in this workspace', advice: '' });
      this.onChange();
      return;
    }
    const run = new AbortController();
    this.loadingRun = run;
    const keyHeaders = this.testedHeaders();
    this.setStatus({ ...this.status, state: 'loading', advice: '' });
    // The one connection the server ever makes: to the ClickHouse server the user configured
    // (`clickhouse:` in .meshpolicy.yaml; never in an untrusted workspace, where this is disabled).
    const clickhouse = this.workspace.config.clickhouse ? new ClickHouseTrafficSource(this.workspace.config.clickhouse) : undefined;
    const progress = await this.connection.window.createWorkDoneProgress().catch(() => undefined);
    progress?.begin(clickhouse ? `Mesh Policy: folding access logs in ${clickhouse.describe()}` : 'Mesh Policy: reading access logs', 0, undefined, true);
    progress?.token.onCancellationRequested(() => run.abort());
    let lastReport = 0;
    try {
      const options = {
        inventory: this.workspace.inventory,
        config: this.workspace.config,
        keyHeaders,
        signal: run.signal,
        onProgress: (p: IngestProgress) => {
          const now = Date.now();
          if (now - lastReport < 200) return;
          lastReport = now;
          const percent = p.totalBytes ? Math.floor((100 * p.bytesRead) / p.totalBytes) : undefined;
          progress?.report(percent ?? 0, clickhouse ? `${n(p.lines)} log lines folded` : `${n(p.lines)} lines, file ${Math.min(p.filesDone + 1, p.files)} of ${p.files}`);
        },
      };
      if (clickhouse) this.connection.console.info(`mesh-policy: reading the traffic from ${clickhouse.describe()} (clickhouse: in .meshpolicy.yaml); log files in the workspace are not read`);
      const model = clickhouse ? await clickhouse.read(options) : await ingestTraffic(this.roots(), {
        ...options,
        // Calls per hour for the report's trends (the audit model reads them from the stats).
        timeBucketMs: AUDIT_TIME_BUCKET_MS,
        ...(this.workerEntry ? { workerEntry: this.workerEntry } : {}),
      });
      if (run.signal.aborted) return;
      this.model = model;
      this.modelVersion++;
      this.observed = undefined;
      await this.loadBaseline();
      this.loadedWithHeaders = keyHeaders.join('\n');
      const s = model.stats;
      this.connection.console.info(`mesh-policy: read ${n(s.lines)} log lines from ${n(s.files.length)} files in ${Math.round(s.durationMs)} ms: ${n(s.parsed)} parsed, ${n(s.skipped)} skipped; ${n(s.calls)} calls in ${n(s.shapes)} shapes`);
      for (const [reason, count] of Object.entries(s.skippedByReason)) this.connection.console.info(`mesh-policy:   skipped ${n(count)}: ${reason}`);
      for (const [reason, count] of Object.entries(s.unresolvedSourceByReason)) this.connection.console.info(`mesh-policy:   caller unresolved for ${n(count)} calls: ${reason}`);
      for (const problem of s.problems) this.connection.console.warn(`mesh-policy: ${problem}`);
      const empty = !model.stats.files.length;
      this.setStatus({ ...this.status, state: empty ? 'empty' : 'ready', files: s.files.length, lines: s.lines, skipped: s.skipped, calls: s.calls, shapes: s.shapes, message: '', advice: empty ? emptyTrafficAdvice(this.workspace.config, this.roots()) : '' });
    } catch (error) {
      if (run.signal.aborted) {
        this.connection.console.info('mesh-policy: reading access logs was cancelled');
        if (this.loadingRun === run) this.setStatus({ ...this.status, state: this.model ? 'ready' : 'empty', message: 'cancelled', advice: this.model ? '' : 'Reading the access logs was cancelled: run **Mesh Policy: Reload Traffic** to read them.' });
        return;
      }
      this.connection.console.error(`mesh-policy: could not read the access logs: ${describe(error)}`);
      this.setStatus({ ...this.status, state: 'failed', message: describe(error), advice: '' });
    } finally {
      progress?.done();
      if (this.loadingRun === run) this.loadingRun = undefined;
    }
    this.onChange();
  }

  /** The policies at the baseline ref, simulated once per traffic load (they do not change with edits). */
  private async loadBaseline(): Promise<void> {
    this.baseline = undefined;
    if (!this.baselineRef) return;
    try {
      const current = [...new Set(this.workspace.resources.map((r) => r.file.path))];
      const files = await readFilesAtRef(this.roots(), this.baselineRef, current);
      const workspace = baselineWorkspace(new Engine(), files, this.workspace.config, this.workspace);
      // The baseline never changes between edits: the tracker keeps each call's decision.
      this.baseline = { files, decider: new Simulation(workspace) };
      this.connection.console.info(`mesh-policy: comparing with the policies at ${this.baselineRef} (${files.commit.slice(0, 12)}, ${files.texts.size} files)`);
    } catch (error) {
      this.connection.console.info(`mesh-policy: no comparison with ${this.baselineRef}: ${error instanceof BaselineError ? error.message : describe(error)}`);
    }
  }

  /** Values seen in the traffic and the inventory, for completion. */
  observedValues(): ObservedValues | undefined {
    if (!this.model) return undefined;
    this.observed ??= trafficCompletionValues(this.model.shapes, this.workspace.inventory, { istioTrustDomain: this.workspace.config.istio.trustDomain, linkerdIdentitySuffix: `${this.workspace.config.linkerd.controlPlaneNamespace}.${this.workspace.config.linkerd.trustDomain}` });
    return this.observed;
  }

  /** The observed call shapes of the last read, for policy generation. */
  get shapes(): TrafficModel['shapes'] {
    return this.model?.shapes ?? [];
  }

  /** What the last read of the logs counted, for reports. */
  get stats(): TrafficModel['stats'] | undefined {
    return this.model?.stats;
  }

  /** The server calls this for every file it puts into or takes out of the workspace. */
  noteChanged(path: string): void {
    this.changedFiles.add(path);
  }

  cancel(): void {
    this.loadingRun?.abort();
  }

  /**
   * The simulation of the current policies over the loaded traffic; recomputed when either
   * changed. After an edit, each step works by difference from the last run: the re-simulation
   * re-decides only the calls the edit can reach, the baseline comparison and the insight's
   * indexes take in only the outcomes decided again, and the insight names the files whose
   * findings may have changed (`dirtyFiles`). `rehearsal`: the insight of a text the user did
   * not write (`EditRehearsal`), so it changes neither the status nor what is read.
   */
  insight(generation: number, rules: Record<string, RuleSetting>, rehearsal = false): TrafficInsight | undefined {
    if (!this.model || this.model.shapes.length === 0) return undefined;
    const cached = this.insightCache;
    if (cached && cached.generation === generation && cached.modelVersion === this.modelVersion) return cached.insight;
    // The baseline is read after the traffic: a simulation started without it starts over once it is there.
    if (!this.live || this.live.modelVersion !== this.modelVersion || this.live.baseline !== this.baseline) {
      this.live = { modelVersion: this.modelVersion, baseline: this.baseline, insight: new LiveInsight(this.workspace, this.model.shapes, this.baseline) };
      this.changedFiles.clear();
    }
    const insight = this.live.insight.next([...this.changedFiles], rules);
    this.changedFiles.clear();
    const result = insight.result;
    this.insightCache = { generation, modelVersion: this.modelVersion, insight };
    if (rehearsal) return insight;
    this.setStatus({
      ...this.status,
      policies: this.workspace.resources.length,
      newlyDenied: result.totals.newlyDenied,
      newlyAllowed: result.totals.newlyAllowed,
      unknown: result.totals.unknown,
    });
    // A policy now tests a header the loaded shapes folded away: read the logs again.
    const loaded = new Set(this.loadedWithHeaders.split('\n'));
    if (!this.loading && this.testedHeaders().some((h) => !loaded.has(h))) void this.load();
    return insight;
  }

  /** For the edit rehearsal: how many loaded calls a change to a resource would decide again; undefined before the first simulation of the load. */
  reachEstimator(): ((resource: Resource) => number) | undefined {
    return this.live?.modelVersion === this.modelVersion ? this.live.insight.reachEstimator() : undefined;
  }

  /** Headers the policies test, each resource text walked once: a resource placed again after an
   * edit above it is found by its parse's resource (`sameText`), a new parse of a known text by
   * the text. */
  private testedHeaders(): string[] {
    const names = new Set<string>();
    const byText = new Map<string, string[]>();
    for (const entry of this.workspace.resources) {
      const sameTextResource = sameText(entry.resource);
      let tested = this.headersOf.get(sameTextResource);
      if (!tested) {
        const { span } = entry.resource.node;
        const source = entry.file.text.slice(span.start, span.end);
        if (!mayNameHeaders(source)) tested = NO_HEADERS;
        else {
          const text = `${entry.resource.mesh}\u0000${source}`;
          tested = this.headersByText.get(text) ?? headersTestedBy({ resources: [entry] });
          byText.set(text, tested);
        }
        this.headersOf.set(sameTextResource, tested);
      }
      for (const name of tested) names.add(name);
    }
    if (byText.size) this.headersByText = byText;
    return [...names].sort();
  }

  private setStatus(next: TrafficStatus): void {
    const changed = JSON.stringify(next) !== JSON.stringify(this.status);
    this.status = next;
    if (changed) void this.connection.sendNotification(TRAFFIC_STATUS_NOTIFICATION, next);
  }
}

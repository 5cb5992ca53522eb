import { absentDeniers } from '../simulate/absentDeniers';
import { accessUsage } from '../access/observed';
import type { AccessMap } from '../access/types';
import type { WorkspaceView } from '../checks/check';
import type { Range } from '../findings';
import type { Mesh } from '../meshes';
import type { RefusedResource, ShapeOutcome, SimulationResult } from '../simulate';
import type { SourceRef, Verdict } from '../simulate/types';
import type { AccessRecord } from '../traffic/accessRecord';
import type { IngestStats } from '../traffic/ingest/types';
import { AUDIT_MESHES, type RiskKind, type RuleCandidate } from './meshes';
import { Redactor, redactPathCredentials } from '../traffic/redact';
import { mergeRows } from '../mergeRows';
import { dryRunTallies } from '../simulate/dryRun';
import { isAuthenticationLabel, type AuthenticationSummary } from '../insight/authnLens';

/**
 * The audit model: what the report, the Markdown summary, the JSON output and the traffic map
 * show, computed once from the ingest result and the simulation. Every list is capped (top N by
 * calls, with how many were left out), so the model's size does not grow with the traffic.
 */

export const AUDIT_MODEL_VERSION = 1;
/** Ingest with `timeBucketMs: AUDIT_TIME_BUCKET_MS` so that trends are exact (per hour). */
export const AUDIT_TIME_BUCKET_MS = 3_600_000;
const DAY_MS = 86_400_000;
/** Over this many hours between the first and the last call, trends are shown per day. */
const HOURLY_SPAN_LIMIT_HOURS = 72;
/** Trend points kept (the most recent ones), whatever the span. */
const MAX_TREND_POINTS = 400;

export interface AuditOptions {
  /** Rows per table (top N by calls); default 20. */
  top?: number;
  /** Edges of the traffic map (the busiest); default 150. */
  maxEdges?: number;
  /** How file paths are shown (e.g. relative to the workspace); default as given. */
  displayPath?: (path: string) => string;
  /** The time window the traffic was read with (shown in the header). */
  window?: { since?: string; until?: string };
  /** More header names whose values are redacted (besides the credential headers). */
  redactHeaders?: string[];
  /** Shown in the header; omit for output that does not change between runs. */
  generatedAt?: string;
}

export interface AuditInput {
  stats: IngestStats;
  result: SimulationResult;
  /** The policies (for unused rules and risky patterns). */
  workspace: WorkspaceView;
  /** What the Istio PeerAuthentications and RequestAuthentications did to the calls (`AuthenticationIndex.summaries`, `authenticationSummaries`). */
  authentication?: readonly AuthenticationSummary[];
  /** The resources the meshes refuse to store (`Simulation.notInEffect`): listed apart, their rules never among the unused ones. */
  refused?: readonly RefusedResource[];
  /** The access map set against the same calls (`accessAgainstTraffic`): the access granted and never used. */
  access?: AccessMap;
}

/** A resource its mesh refuses to store: it decides nothing, whatever its rules say. */
export interface NotInEffectRow extends AuditRef {
  mesh: Mesh;
  reason: string;
}

/** An Istio AuthorizationPolicy or Linkerd Server the logs name as what denied calls, which the workspace does not have (`simulate/absentDeniers.ts`). */
export interface AbsentDenierRow {
  mesh: Mesh;
  kind: string;
  namespace: string;
  name: string;
  calls: number;
  /** A log line of the busiest such call. */
  sample?: { file: string; line: number };
}

/** A place in a policy file, 1-based line for people and links. */
export interface AuditRef {
  file: string;
  line: number;
  label: string;
}

export interface DecisionCounts {
  allow: number;
  deny: number;
  external: number;
  unknown: number;
}

export interface ObservedCounts {
  allowed: number;
  denied: number;
  unknown: number;
}

export interface FlowCounts {
  calls: number;
  observed: ObservedCounts;
  decision: DecisionCounts;
  newlyDenied: number;
  newlyAllowed: number;
}

export interface CallRow {
  source: string;
  destination: string;
  port?: number;
  /** "GET /v1/carts/{id}" style: method and path (query values of credential-like names redacted), or the protocol. */
  request: string;
  calls: number;
  observed: 'allowed' | 'denied' | 'unknown';
  decision: Verdict;
  change: ShapeOutcome['change'];
  reason: string;
  rule?: AuditRef;
  /** Where to see one of the lines, "file:line". */
  sample?: string;
  /** Request headers of the call, credentials redacted (only those the folding kept). */
  headers?: Record<string, string>;
  status?: number;
}

export type EdgeState = 'allowed' | 'denied' | 'newly-denied' | 'newly-allowed' | 'unknown' | 'mixed';

export interface MapEdge extends FlowCounts {
  source: string;
  destination: string;
  state: EdgeState;
  calls: number;
  /** The busiest call kinds on the edge. */
  rows: CallRow[];
  moreRows: number;
  /** The rules that decided the edge's calls, busiest first. */
  rules: (AuditRef & { calls: number })[];
}

/** A service or caller of the traffic map, counted over the edges drawn. */
export interface MapNode {
  name: string;
  /** Calls it receives and calls it makes; a call to itself is one of each. */
  callsIn: number;
  callsOut: number;
  /** Calls it takes part in, each once (a call to itself is not counted twice). */
  calls: number;
  role: 'caller' | 'service' | 'both';
}

export interface Ranked {
  name: string;
  calls: number;
  /** Distinct peers: callers of a service, destinations of a caller. */
  peers: number;
  observedDenied: number;
  deniedNow: number;
  newlyDenied: number;
}

export interface UncoveredWorkload {
  destination: string;
  mesh: Mesh;
  calls: number;
  callers: number;
  allowedNow: number;
  deniedNow: number;
  reason: string;
}

export interface UnusedRule extends AuditRef {
  mesh: Mesh;
}

/** Access the policies grant (a caller allowed on a destination port whatever the request) that no observed call used. */
export interface UnusedAccessRow {
  mesh: Mesh;
  caller: string;
  destination: string;
  /** What allows it: the deciding policy and rule, or the mesh's default. */
  why: string;
  at?: AuditRef;
}

/**
 * A PeerAuthentication or RequestAuthentication: it allows nothing and decides by no rule, so it
 * is never an unused rule; it refuses calls (plaintext under STRICT: the connection fails; an
 * invalid token: 401) and governs the rest.
 */
export interface AuthenticationRow extends AuditRef {
  kind: AuthenticationSummary['kind'];
  governs: number;
  refused: number;
  /** What it did, in words (the editor lens's text). */
  text: string;
}

export interface DryRunRow extends AuditRef {
  engine: 'allow' | 'deny';
  /** Calls it applied to, matched, would deny if enforced (of those now allowed), and whose logged dry-run result differs. */
  calls: number;
  matched: number;
  wouldDeny: number;
  wouldNewlyDeny: number;
  loggedOtherwise: number;
}

/** A rule that decides calls only in some of the alternatives of `unknown` verdicts (e.g. under one of two differing definitions of Consul intentions). */
export interface AmbiguousRule extends UnusedRule {
  /** The calls whose verdict it decides in at least one alternative. */
  calls: number;
}

export interface Risk {
  kind: RiskKind;
  mesh: Mesh;
  message: string;
  /** Where in the policies, for risks read from them. */
  at?: AuditRef;
  /** Calls involved, for risks seen in the traffic. */
  calls?: number;
}

export interface TrendPoint {
  /** Start of the bucket, ISO 8601. */
  start: string;
  calls: number;
  observedDenied: number;
  /** Calls the current policies deny. */
  deniedNow: number;
  newlyDenied: number;
}

export interface Capped<T> {
  rows: T[];
  /** Rows left out of `rows`. */
  more: number;
  /** Calls of all rows, shown or not. */
  calls: number;
}

export interface AuditModel {
  version: number;
  generatedAt?: string;
  window: { since?: string; until?: string; firstCall?: string; lastCall?: string };
  meshes: Mesh[];
  totals: FlowCounts & { lines: number; parsed: number; skipped: number; skippedByReason: Record<string, number>; shapes: number; unchanged: number };
  matrix: {
    sources: string[];
    destinations: string[];
    /** cells[i][j]: sources[i] → destinations[j]; null when no call. */
    cells: (FlowCounts | null)[][];
    /** Callers and services left out (the least busy), and their calls. */
    moreSources: number;
    moreDestinations: number;
    callsNotShown: number;
  };
  trends: { bucket: 'hour' | 'day'; points: TrendPoint[]; untimedCalls: number; /** False when the ingest did not count calls per hour (trends then use each shape's first time). */ exact: boolean; pointsDropped: number };
  violations: { observedDenied: Capped<CallRow>; newlyDenied: Capped<CallRow>; newlyAllowed: Capped<CallRow> };
  topServices: Capped<Ranked>;
  topCallers: Capped<Ranked>;
  uncovered: Capped<UncoveredWorkload>;
  unusedRules: { rows: UnusedRule[]; more: number; total: number; of: number };
  /** With the access map: the allowed cells no call used, of `allowed` allowed cells (absent: no map, or too large to build). */
  unusedAccess?: { rows: UnusedAccessRow[]; more: number; total: number; allowed: number };
  /** Resources the meshes refuse to store (their rules are not unused: they are not there at all). */
  notInEffect: NotInEffectRow[];
  /** Deniers the logs name that the workspace does not have (the cluster has a policy the repository lacks), busiest first. */
  absentDeniers: Capped<AbsentDenierRow>;
  /** Rules that would be unused but decide calls in an alternative of an `unknown` verdict: not dead, and not listed as unused. */
  ambiguousRules: { rows: AmbiguousRule[]; more: number; total: number };
  risks: { rows: Risk[]; more: number; byKind: Record<RiskKind, number> };
  /** PeerAuthentications and RequestAuthentications, in the order compiled: what each refused and governed (not rules: never among `unusedRules`). */
  authentication: AuthenticationRow[];
  /** Dry-run policies (Istio `istio.io/dry-run`): what each would do with the observed calls (they decide none). */
  dryRun: DryRunRow[];
  map: { nodes: MapNode[]; edges: MapEdge[]; moreEdges: number; callsNotShown: number };
}

function unusedAccessOf(map: AccessMap, limit: number, ref: (r: SourceRef | undefined) => AuditRef | undefined): NonNullable<AuditModel['unusedAccess']> {
  const rows: UnusedAccessRow[] = [];
  let allowed = 0;
  for (const mesh of map.meshes) {
    const usage = accessUsage(mesh);
    if (!usage) continue;
    allowed += usage.allowed;
    for (const { destination, cell } of usage.unused) {
      const at = ref(cell.rule ?? cell.policy);
      rows.push({ mesh: mesh.mesh, caller: cell.caller, destination: destination.key, why: cell.reason, ...(at ? { at } : {}) });
    }
  }
  return { rows: rows.slice(0, limit), more: Math.max(0, rows.length - limit), total: rows.length, allowed };
}

const UNIDENTIFIED_CALLER = '(unidentified callers)';
const PLAINTEXT_CALLER = '(plaintext callers)';
const UNIDENTIFIED_DESTINATION = '(unidentified destination)';

/** The name a caller is shown by: namespace/workload, namespace/service account, the service, or its principal. */
export function callerName(record: AccessRecord): string {
  const s = record.source;
  if (!s) return UNIDENTIFIED_CALLER;
  if (s.workload) return s.namespace ? `${s.namespace}/${s.workload}` : s.workload;
  if (s.serviceAccount) return s.namespace ? `${s.namespace}/${s.serviceAccount}` : s.serviceAccount;
  if (s.service) return s.namespace ? `${s.namespace}/${s.service}` : s.service;
  if (s.principal) return s.principal;
  return s.principal === null ? PLAINTEXT_CALLER : UNIDENTIFIED_CALLER;
}

export function destinationName(record: AccessRecord): string {
  const d = record.destination;
  if (!d) return UNIDENTIFIED_DESTINATION;
  if (d.workload) return d.namespace ? `${d.namespace}/${d.workload}` : d.workload;
  if (d.service) {
    const short = d.service.replace(/\.svc(\.[a-z0-9.-]+)?$/, '').split('.')[0]!;
    return d.namespace ? `${d.namespace}/${short}` : short;
  }
  return UNIDENTIFIED_DESTINATION;
}

function emptyFlow(): FlowCounts {
  return { calls: 0, observed: { allowed: 0, denied: 0, unknown: 0 }, decision: { allow: 0, deny: 0, external: 0, unknown: 0 }, newlyDenied: 0, newlyAllowed: 0 };
}

function addFlow(flow: FlowCounts, o: ShapeOutcome): void {
  const n = o.shape.count;
  flow.calls += n;
  flow.observed[o.shape.record.observed ?? 'unknown'] += n;
  flow.decision[o.decision.verdict] += n;
  if (o.change === 'newly-denied') flow.newlyDenied += n;
  if (o.change === 'newly-allowed') flow.newlyAllowed += n;
}

function byCalls<T extends { calls: number }>(a: T, b: T): number {
  return b.calls - a.calls;
}

function cap<T extends { calls: number }>(rows: T[], top: number): Capped<T> {
  const sorted = rows.slice().sort(byCalls);
  return { rows: sorted.slice(0, top), more: Math.max(0, sorted.length - top), calls: sorted.reduce((sum, r) => sum + r.calls, 0) };
}

export function buildAuditModel(input: AuditInput, options: AuditOptions = {}): AuditModel {
  const top = options.top ?? 20;
  const maxEdges = options.maxEdges ?? 150;
  const show = options.displayPath ?? ((p: string) => p);
  const { result, stats } = input;
  const ref = (r: SourceRef | undefined): AuditRef | undefined => (r ? { file: show(r.file), line: r.range.start.line + 1, label: r.label } : undefined);
  const decidingRef = (o: ShapeOutcome): AuditRef | undefined => {
    const policy = o.decision.policy;
    const rule = o.decision.rule;
    if (!policy) return undefined;
    // (authentication refuses before any rule is read: named as what it is, not as a deciding rule)
    if (isAuthenticationLabel(policy.label)) return { ...ref(policy)!, label: `${policy.label} (refused${o.decision.status === 401 ? ': invalid token, 401' : o.decision.deniedBy?.kind === 'peer-authentication' ? ': plaintext under STRICT' : ''})` };
    return rule ? { file: show(rule.file), line: rule.range.start.line + 1, label: `${policy.label} ${rule.label.startsWith(policy.label) ? rule.label.slice(policy.label.length).trim() : rule.label}` } : ref(policy);
  };
  const redactor = new Redactor(options.redactHeaders ?? []);
  const row = (o: ShapeOutcome): CallRow => {
    const r = o.shape.record;
    const q = r.request;
    const request = q?.method || q?.path ? `${q.method ?? ''} ${q.path !== undefined ? redactPathCredentials(q.path) : ''}`.trim() : (r.protocol ?? 'tcp').toUpperCase();
    const sample = o.shape.samples[0];
    const rule = decidingRef(o);
    const headers = redactor.maskHeaders(q?.headers);
    return {
      source: callerName(r), destination: destinationName(r), ...(r.destination?.port !== undefined ? { port: r.destination.port } : {}),
      request, calls: o.shape.count, observed: r.observed ?? 'unknown', decision: o.decision.verdict, change: o.change, reason: o.decision.reason,
      ...(rule ? { rule } : {}),
      ...(sample ? { sample: `${show(sample.file)}:${sample.line}` } : {}),
      ...(headers && Object.keys(headers).length ? { headers } : {}),
      ...(r.response?.status !== undefined ? { status: r.response.status } : {}),
    };
  };

  // totals, pairs, services, callers
  const totals = { ...emptyFlow(), lines: stats.lines, parsed: stats.parsed, skipped: stats.skipped, skippedByReason: stats.skippedByReason, shapes: result.outcomes.length, unchanged: result.totals.unchanged };
  const pairs = new Map<string, { source: string; destination: string; flow: FlowCounts; outcomes: ShapeOutcome[] }>();
  const services = new Map<string, { flow: FlowCounts; peers: Set<string> }>();
  const callers = new Map<string, { flow: FlowCounts; peers: Set<string> }>();
  const uncovered = new Map<string, UncoveredWorkload & { callerSet: Set<string> }>();
  const usedRefs = new Map<string, Range['start'][]>();
  const ambiguousRefs = new Map<string, { at: Range['start']; calls: number; outcome: number }[]>();
  let outcomeIndex = 0;
  const meshes = new Set<Mesh>();
  let firstMs = Infinity;
  let lastMs = -Infinity;
  for (const o of result.outcomes) {
    addFlow(totals, o);
    const r = o.shape.record;
    if (r.mesh) meshes.add(r.mesh);
    const source = callerName(r);
    const destination = destinationName(r);
    const key = `${source}\u0000${destination}`;
    let pair = pairs.get(key);
    if (!pair) pairs.set(key, (pair = { source, destination, flow: emptyFlow(), outcomes: [] }));
    addFlow(pair.flow, o);
    pair.outcomes.push(o);
    let service = services.get(destination);
    if (!service) services.set(destination, (service = { flow: emptyFlow(), peers: new Set() }));
    addFlow(service.flow, o);
    service.peers.add(source);
    let caller = callers.get(source);
    if (!caller) callers.set(source, (caller = { flow: emptyFlow(), peers: new Set() }));
    addFlow(caller.flow, o);
    caller.peers.add(destination);
    const d = o.decision;
    if (!d.policy && (d.verdict === 'allow' || d.verdict === 'deny')) {
      let u = uncovered.get(destination);
      if (!u) uncovered.set(destination, (u = { destination, mesh: d.mesh, calls: 0, callers: 0, allowedNow: 0, deniedNow: 0, reason: d.reason, callerSet: new Set() }));
      u.calls += o.shape.count;
      u.callerSet.add(source);
      if (d.verdict === 'allow') u.allowedNow += o.shape.count;
      else u.deniedNow += o.shape.count;
    }
    const use = (used: SourceRef | undefined): void => {
      if (!used) return;
      let list = usedRefs.get(used.file);
      if (!list) usedRefs.set(used.file, (list = []));
      list.push(used.range.start);
    };
    use(d.policy);
    use(d.rule);
    use(d.passed?.policy);
    use(d.passed?.rule);
    // Dry-run and AUDIT rules decide nothing; one that matched calls is in use all the same.
    for (const shadow of d.shadow ?? []) for (const m of shadow.policies) if (m.matches === true) use(m.rule);
    for (const mark of d.auditedBy ?? []) use(mark.rule);
    outcomeIndex++;
    for (const alternative of d.alternatives ?? []) {
      // Every alternative of a definite verdict decides the call the same way: its rule is used.
      if (d.verdict !== 'unknown') {
        use(alternative.policy);
        use(alternative.rule);
        continue;
      }
      for (const used of [alternative.policy, alternative.rule]) {
        if (!used) continue;
        let list = ambiguousRefs.get(used.file);
        if (!list) ambiguousRefs.set(used.file, (list = []));
        list.push({ at: used.range.start, calls: o.shape.count, outcome: outcomeIndex });
      }
    }
    const first = o.shape.firstTime ? Date.parse(o.shape.firstTime) : NaN;
    const last = o.shape.lastTime ? Date.parse(o.shape.lastTime) : NaN;
    if (first < firstMs) firstMs = first;
    if (last > lastMs) lastMs = last;
  }

  // matrix: the busiest callers and services
  const matrixSide = Math.min(top, 20);
  const sourceNames = [...callers].sort((a, b) => b[1].flow.calls - a[1].flow.calls).map(([name]) => name);
  const destinationNames = [...services].sort((a, b) => b[1].flow.calls - a[1].flow.calls).map(([name]) => name);
  const shownSources = sourceNames.slice(0, matrixSide);
  const shownDestinations = destinationNames.slice(0, matrixSide);
  const cells = shownSources.map((s) => shownDestinations.map((d) => pairs.get(`${s}\u0000${d}`)?.flow ?? null));
  const shownCalls = cells.flat().reduce((sum, c) => sum + (c?.calls ?? 0), 0);

  // trends
  const trends = buildTrends(result, firstMs, lastMs);

  // violations
  const observedDenied = result.outcomes.filter((o) => o.shape.record.observed === 'denied');
  const newlyDenied = result.outcomes.filter((o) => o.change === 'newly-denied');
  const newlyAllowed = result.outcomes.filter((o) => o.change === 'newly-allowed');
  const capRows = (list: ShapeOutcome[]): Capped<CallRow> => cap(mergeCallRows(list.map(row)), top);

  const ranked = (entries: Map<string, { flow: FlowCounts; peers: Set<string> }>): Ranked[] => [...entries].map(([name, e]) => ({
    name, calls: e.flow.calls, peers: e.peers.size, observedDenied: e.flow.observed.denied, deniedNow: e.flow.decision.deny, newlyDenied: e.flow.newlyDenied,
  }));

  // unused rules
  const candidates: RuleCandidate[] = [];
  const risks: Risk[] = [];
  const refused = input.refused ?? [];
  for (const { file, resource } of input.workspace.resources) {
    const module = AUDIT_MESHES[resource.mesh];
    // (a resource the mesh refuses to store has no rules in the cluster: listed under `notInEffect` instead)
    const { start, end } = resource.node.span;
    const notStored = refused.some(({ ref }) => {
      if (ref.file !== file.path) return false;
      const at = file.lines.offset(ref.range.start);
      return at >= start && at <= end;
    });
    // (authentication resources allow nothing: they are listed under `authentication`, never as rules)
    if (!notStored) candidates.push(...module.rules(file, resource).filter((c) => !isAuthenticationLabel(c.label)));
    for (const risk of module.risks(file, resource)) risks.push({ kind: risk.kind, mesh: risk.mesh, message: `${risk.label}: ${risk.message}`, at: { file: show(risk.file), line: risk.range.start.line + 1, label: risk.label } });
  }
  const inside = (p: Range['start'], r: Range): boolean => (p.line > r.start.line || (p.line === r.start.line && p.character >= r.start.character)) && (p.line < r.end.line || (p.line === r.end.line && p.character <= r.end.character));
  const byPlace = (a: UnusedRule, b: UnusedRule): number => (a.file < b.file ? -1 : a.file > b.file ? 1 : a.line - b.line);
  const unused: UnusedRule[] = [];
  const ambiguous: AmbiguousRule[] = [];
  for (const c of candidates) {
    if ((usedRefs.get(c.file) ?? []).some((p) => inside(p, c.range))) continue;
    const rule = { file: show(c.file), line: c.range.start.line + 1, label: c.label, mesh: c.mesh };
    const outcomes = new Map<number, number>();
    for (const hit of ambiguousRefs.get(c.file) ?? []) if (inside(hit.at, c.range)) outcomes.set(hit.outcome, hit.calls);
    if (outcomes.size === 0) unused.push(rule);
    else ambiguous.push({ ...rule, calls: [...outcomes.values()].reduce((sum, n) => sum + n, 0) });
  }
  unused.sort(byPlace);
  ambiguous.sort(byPlace);

  risks.push(...plaintextRisks(result));
  const riskOrder: Record<RiskKind, number> = { 'allow-all': 0, plaintext: 1, wildcard: 2 };
  risks.sort((a, b) => riskOrder[a.kind] - riskOrder[b.kind] || (b.calls ?? 0) - (a.calls ?? 0));
  const byKind: Record<RiskKind, number> = { 'allow-all': 0, wildcard: 0, plaintext: 0 };
  for (const r of risks) byKind[r.kind]++;

  // traffic map
  const edgesSorted = [...pairs.values()].sort((a, b) => b.flow.calls - a.flow.calls);
  const edges: MapEdge[] = edgesSorted.slice(0, maxEdges).map((pair) => {
    const outcomes = pair.outcomes.slice().sort((a, b) => b.shape.count - a.shape.count);
    const rules = new Map<string, AuditRef & { calls: number }>();
    for (const o of outcomes) {
      const r = decidingRef(o);
      if (!r) continue;
      const k = `${r.file}\u0000${r.line}\u0000${r.label}`;
      const entry = rules.get(k);
      if (entry) entry.calls += o.shape.count;
      else rules.set(k, { ...r, calls: o.shape.count });
    }
    const rows = mergeCallRows(outcomes.map(row)).sort(byCalls);
    return { source: pair.source, destination: pair.destination, ...pair.flow, state: edgeState(pair.flow), rows: rows.slice(0, 12), moreRows: Math.max(0, rows.length - 12), rules: [...rules.values()].sort(byCalls).slice(0, 8) };
  });
  const nodes = mapNodes(edges);

  return {
    version: AUDIT_MODEL_VERSION,
    ...(options.generatedAt ? { generatedAt: options.generatedAt } : {}),
    window: {
      ...(options.window?.since ? { since: options.window.since } : {}),
      ...(options.window?.until ? { until: options.window.until } : {}),
      ...(Number.isFinite(firstMs) ? { firstCall: new Date(firstMs).toISOString() } : {}),
      ...(Number.isFinite(lastMs) ? { lastCall: new Date(lastMs).toISOString() } : {}),
    },
    meshes: [...meshes].sort(),
    totals,
    matrix: { sources: shownSources, destinations: shownDestinations, cells, moreSources: sourceNames.length - shownSources.length, moreDestinations: destinationNames.length - shownDestinations.length, callsNotShown: totals.calls - shownCalls },
    trends,
    violations: { observedDenied: capRows(observedDenied), newlyDenied: capRows(newlyDenied), newlyAllowed: capRows(newlyAllowed) },
    topServices: cap(ranked(services), top),
    topCallers: cap(ranked(callers), top),
    uncovered: cap([...uncovered.values()].map(({ callerSet, ...u }) => ({ ...u, callers: callerSet.size })), top),
    notInEffect: refused.map(({ mesh, ref, reason }) => ({ mesh, reason, file: show(ref.file), line: ref.range.start.line + 1, label: ref.label })),
    absentDeniers: cap(absentDeniers(result.outcomes, input.workspace.resources).map((d) => {
      const sample = d.busiest.shape.samples[0];
      return { mesh: d.mesh, kind: d.kind, namespace: d.namespace, name: d.name, calls: d.calls, ...(sample ? { sample: { file: show(sample.file), line: sample.line } } : {}) };
    }), top),
    unusedRules: { rows: unused.slice(0, top * 2), more: Math.max(0, unused.length - top * 2), total: unused.length, of: candidates.length },
    ...(input.access && !input.access.tooLarge ? { unusedAccess: unusedAccessOf(input.access, top * 2, ref) } : {}),
    ambiguousRules: { rows: ambiguous.slice(0, top * 2), more: Math.max(0, ambiguous.length - top * 2), total: ambiguous.length },
    risks: { rows: risks.slice(0, top * 2), more: Math.max(0, risks.length - top * 2), byKind },
    authentication: (input.authentication ?? []).map((a) => ({ file: show(a.ref.file), line: a.ref.range.start.line + 1, label: a.label, kind: a.kind, governs: a.governs, refused: a.refused, text: a.text })),
    dryRun: dryRunTallies(result.outcomes).map((t) => ({
      file: show(t.ref.file), line: t.ref.range.start.line + 1, label: t.ref.label, engine: t.engine,
      calls: t.calls, matched: t.matched, wouldDeny: t.wouldDeny, wouldNewlyDeny: t.wouldNewlyDeny, loggedOtherwise: t.loggedOtherwise,
    })),
    map: {
      nodes,
      edges, moreEdges: Math.max(0, edgesSorted.length - edges.length), callsNotShown: edgesSorted.slice(maxEdges).reduce((sum, p) => sum + p.flow.calls, 0),
    },
  };
}

/** The nodes of the edges drawn, busiest first: what each receives and makes, never one call twice. */
export function mapNodes(edges: readonly Pick<MapEdge, 'source' | 'destination' | 'calls'>[]): MapNode[] {
  const nodes = new Map<string, MapNode>();
  const node = (name: string): MapNode => {
    let n = nodes.get(name);
    if (!n) nodes.set(name, (n = { name, callsIn: 0, callsOut: 0, calls: 0, role: 'service' }));
    return n;
  };
  for (const e of edges) {
    const source = node(e.source);
    const destination = node(e.destination);
    source.callsOut += e.calls;
    destination.callsIn += e.calls;
    source.calls += e.calls;
    if (destination !== source) destination.calls += e.calls;
  }
  for (const n of nodes.values()) n.role = n.callsOut > 0 && n.callsIn > 0 ? 'both' : n.callsOut > 0 ? 'caller' : 'service';
  return [...nodes.values()].sort((a, b) => b.calls - a.calls || (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
}

/**
 * Rows that read the same (caller, destination, port, request, verdicts, rule) become one: shapes
 * also differ by pod IPs and headers, which the tables do not show.
 */
function mergeCallRows(rows: CallRow[]): CallRow[] {
  return mergeRows(
    rows.map((r) => ({ ...r })),
    (r) => [r.source, r.destination, r.port ?? '', r.request, r.observed, r.decision, r.change, r.rule?.file ?? '', r.rule?.line ?? '', r.rule?.label ?? '', r.status ?? ''].join('\u0000'),
    (seen, r) => { seen.calls += r.calls; },
  );
}

function edgeState(flow: FlowCounts): EdgeState {
  if (flow.newlyDenied > 0) return 'newly-denied';
  if (flow.newlyAllowed > 0) return 'newly-allowed';
  const d = flow.decision;
  if (d.allow === flow.calls) return 'allowed';
  if (d.deny === flow.calls) return 'denied';
  if (d.unknown + d.external === flow.calls) return 'unknown';
  return 'mixed';
}

function buildTrends(result: SimulationResult, firstMs: number, lastMs: number): AuditModel['trends'] {
  const exact = result.outcomes.every((o) => o.shape.callsByTime !== undefined || o.shape.firstTime === undefined);
  const spanHours = Number.isFinite(firstMs) && Number.isFinite(lastMs) ? (lastMs - firstMs) / AUDIT_TIME_BUCKET_MS : 0;
  const bucket: 'hour' | 'day' = spanHours > HOURLY_SPAN_LIMIT_HOURS ? 'day' : 'hour';
  const size = bucket === 'day' ? DAY_MS : AUDIT_TIME_BUCKET_MS;
  const points = new Map<number, TrendPoint>();
  let untimedCalls = 0;
  const point = (ms: number): TrendPoint => {
    const start = Math.floor(ms / size) * size;
    let p = points.get(start);
    if (!p) points.set(start, (p = { start: new Date(start).toISOString(), calls: 0, observedDenied: 0, deniedNow: 0, newlyDenied: 0 }));
    return p;
  };
  for (const o of result.outcomes) {
    const add = (ms: number, n: number): void => {
      const p = point(ms);
      p.calls += n;
      if (o.shape.record.observed === 'denied') p.observedDenied += n;
      if (o.decision.verdict === 'deny') p.deniedNow += n;
      if (o.change === 'newly-denied') p.newlyDenied += n;
    };
    let timed = 0;
    if (o.shape.callsByTime) {
      for (const [start, n] of Object.entries(o.shape.callsByTime)) { add(Number(start), n); timed += n; }
    } else if (o.shape.firstTime && !Number.isNaN(Date.parse(o.shape.firstTime))) {
      add(Date.parse(o.shape.firstTime), o.shape.count);
      timed = o.shape.count;
    }
    untimedCalls += o.shape.count - timed;
  }
  // every bucket between the first and the last, so gaps show as zero
  const starts = [...points.keys()].sort((a, b) => a - b);
  if (starts.length > 1) {
    const last = starts[starts.length - 1]!;
    for (let t = Math.max(starts[0]!, last - size * (MAX_TREND_POINTS - 1)); t < last; t += size) point(t);
  }
  const all = [...points.entries()].sort((a, b) => a[0] - b[0]).map(([, p]) => p);
  const kept = all.slice(-MAX_TREND_POINTS);
  return { bucket, points: kept, untimedCalls, exact, pointsDropped: all.length - kept.length };
}

/**
 * Plaintext callers where mTLS was expected: calls without a peer identity (principal null:
 * the proxy saw no client certificate) that were allowed (observed or by the current policies)
 * on a destination port that also receives mTLS calls. Probe traffic the mesh authorizes by
 * design (Linkerd's probe authorization) is left out.
 */
function plaintextRisks(result: SimulationResult): Risk[] {
  const mtlsPorts = new Set<string>();
  const portKey = (r: AccessRecord) => `${destinationName(r)}:${r.destination?.port ?? ''}`;
  for (const o of result.outcomes) if (o.shape.record.source?.principal) mtlsPorts.add(portKey(o.shape.record));
  const found = new Map<string, { mesh: Mesh; calls: number; ips: Set<string>; allowedNow: number; observedAllowed: number }>();
  for (const o of result.outcomes) {
    const r = o.shape.record;
    if (r.source?.principal !== null || !r.source) continue;
    if (!mtlsPorts.has(portKey(r))) continue;
    if (isMeshProbe(o)) continue;
    const allowed = r.observed === 'allowed' || o.decision.verdict === 'allow';
    if (!allowed) continue;
    const k = portKey(r);
    let f = found.get(k);
    if (!f) found.set(k, (f = { mesh: o.decision.mesh, calls: 0, ips: new Set(), allowedNow: 0, observedAllowed: 0 }));
    f.calls += o.shape.count;
    if (r.source.ip && f.ips.size < 5) f.ips.add(r.source.ip);
    if (o.decision.verdict === 'allow') f.allowedNow += o.shape.count;
    if (r.observed === 'allowed') f.observedAllowed += o.shape.count;
  }
  return [...found].map(([k, f]) => ({
    kind: 'plaintext' as const, mesh: f.mesh, calls: f.calls,
    message: `${k}: ${f.calls} plaintext call${f.calls === 1 ? '' : 's'} (no client certificate) on a port that otherwise receives mTLS calls; ${f.observedAllowed} observed allowed, ${f.allowedNow} allowed by the current policies (from ${[...f.ips].join(', ') || 'unknown addresses'})`,
  }));
}

/** Linkerd authorizes the kubelet's plaintext probes itself (the default probe route). */
function isMeshProbe(o: ShapeOutcome): boolean {
  return o.decision.mesh === 'linkerd' && !o.decision.policy && o.decision.rule === undefined && /probe/i.test(o.decision.reason);
}

import type { WorkspaceView } from '../checks/check';
import { Engine } from '../engine';
import type { Range } from '../findings';
import type { Mesh } from '../meshes';
import type { ShapeOutcome } from '../simulate';
import type { SourceRef } from '../simulate/types';
import { callerName, destinationName } from '../audit/model';
import { escapeRegex } from '../audit/generate/yaml';
import { asRecord, overlaps, refExtent, resourceAtRange, valueAt, type FixContext, type Located, type MeshTrafficFixes, type TrafficFix, type TrafficFixResult } from './common';
import { consulTrafficFixes } from './consul';
import { istioTrafficFixes } from './istio';
import { createMeshTlsAuthentication as createLinkerdAuthentication, linkerdTrafficFixes } from './linkerd';

export type { FixContext, MeshTrafficFixes, TrafficFix, TrafficFixKind, TrafficFixResult } from './common';
export { OverlayWorkspace, workspaceWithFix } from './verify';
export { addIntentionSource } from './consul';

/** Quick fixes built from observed traffic: allow, deny, narrow, dry-run/audit (docs/quick-fixes.md). */

export const TRAFFIC_FIXES: Record<Mesh, MeshTrafficFixes> = { istio: istioTrafficFixes, linkerd: linkerdTrafficFixes, consul: consulTrafficFixes };

export interface TrafficFixesInput {
  workspace: WorkspaceView;
  /** The policy file the cursor is in, and the range of the cursor or selection. */
  file: string;
  range: Range;
  /** Every simulated call (simulateShapes(...).outcomes). */
  outcomes: readonly ShapeOutcome[];
  /** The engine that read the workspace (its schemas recognize the edited text); one is made when absent. */
  engine?: Engine;
  /** Calls to offer allow/deny fixes for, largest first; default 3. */
  maxCalls?: number;
}

let sharedEngine: Engine | undefined;

/** The context of one list of fixes: the resources its fixes add are recorded in `offered` as the list is built. */
export function fixContext(input: { workspace: WorkspaceView; outcomes: readonly ShapeOutcome[]; engine?: Engine }): FixContext {
  return { engine: input.engine ?? (sharedEngine ??= new Engine()), workspace: input.workspace, outcomes: input.outcomes, offered: [] };
}

/**
 * Outcomes decided at the range (the deciding policy or rule overlaps it), then the denied calls
 * that the policy at the range narrowly misses: it reaches their destination but did not admit
 * them (Istio: same namespace and selector; Linkerd: the Server the policy targets; Consul: the
 * entry's destination). Largest first within each group.
 */
export function outcomesAt(outcomes: readonly ShapeOutcome[], file: string, range: Range, workspace?: WorkspaceView): ShapeOutcome[] {
  const extents = new Map<string, Range>();
  const extent = (ref: SourceRef): Range => {
    if (!workspace) return ref.range;
    const key = `${ref.file}:${ref.range.start.line}:${ref.range.start.character}`;
    let found = extents.get(key);
    if (!found) extents.set(key, (found = refExtent(workspace, ref)));
    return found;
  };
  const at = (ref: SourceRef | undefined) => ref !== undefined && ref.file === file && overlaps(extent(ref), range);
  const byCount = (a: ShapeOutcome, b: ShapeOutcome) => b.shape.count - a.shape.count;
  // A rule under the cursor: its calls; otherwise the calls of the policy under the cursor.
  const byRule = outcomes.filter((o) => at(o.decision.rule));
  const decided = (byRule.length ? byRule : outcomes.filter((o) => at(o.decision.policy))).sort(byCount);
  const located = workspace && resourceAtRange(workspace, file, range);
  if (!located) return decided;
  const chosen = new Set(decided);
  const missed = outcomes.filter((o) => !chosen.has(o) && o.decision.verdict === 'deny' && o.decision.mesh === located.resource.mesh && reaches(located, o)).sort(byCount);
  return [...decided, ...missed];
}

function reaches(located: Located, outcome: ShapeOutcome): boolean {
  const { resource } = located;
  const record = outcome.shape.record;
  const spec = asRecord(valueAt(resource, ['spec']));
  switch (resource.mesh) {
    case 'istio': {
      if (resource.kind !== 'AuthorizationPolicy' || resource.namespace !== record.destination?.namespace || spec['targetRef'] || spec['targetRefs']) return false;
      const labels = record.destination?.labels ?? {};
      return Object.entries(asRecord(asRecord(spec['selector'])['matchLabels'])).every(([k, v]) => labels[k] === v);
    }
    case 'linkerd': {
      const server = resource.kind === 'Server' ? resource.name : resource.kind === 'AuthorizationPolicy' && asRecord(spec['targetRef'])['kind'] === 'Server' ? asRecord(spec['targetRef'])['name'] : undefined;
      return server !== undefined && outcome.decision.policy?.label === `Server ${resource.namespace ?? 'default'}/${String(server)}`;
    }
    case 'consul': {
      const destination = resource.kind === 'ServiceIntentions' ? asRecord(spec['destination'])['name'] : valueAt(resource, ['Name']);
      return destination !== undefined && destination === (record.destination?.service ?? record.destination?.workload);
    }
  }
}

/** Inserted text uses the line ends of the file it goes into (the modules write `\n`). */
function withFileLineEnds(context: FixContext, result: TrafficFixResult): TrafficFixResult {
  return {
    ...result,
    fixes: result.fixes.map((fix) => {
      const text = context.workspace.sourceFile(fix.file)?.text ?? '';
      if (!text.includes('\r\n')) return fix;
      return { ...fix, edits: fix.edits.map((e) => ({ ...e, newText: e.newText.replace(/\r?\n/g, '\r\n') })) };
    }),
  };
}

/** Allow a denied call with the module of its mesh. */
export function allowCall(context: FixContext, outcome: ShapeOutcome): TrafficFixResult {
  return withFileLineEnds(context, TRAFFIC_FIXES[outcome.decision.mesh].allowCall(context, outcome));
}

/** Deny an allowed call (Linkerd: explains why it cannot, and offers narrowing). */
export function denyCall(context: FixContext, outcome: ShapeOutcome): TrafficFixResult {
  return withFileLineEnds(context, TRAFFIC_FIXES[outcome.decision.mesh].denyCall(context, outcome));
}

export function narrowWildcard(context: FixContext, file: string, range: Range): TrafficFixResult {
  const located = resourceAtRange(context.workspace, file, range);
  return located ? withFileLineEnds(context, TRAFFIC_FIXES[located.resource.mesh].narrowWildcard(context, located.file, range)) : { fixes: [], notOffered: [] };
}

/** Istio dry-run or Linkerd audit for the policy at the range. */
export function shadowPolicy(context: FixContext, file: string, range: Range): TrafficFixResult {
  const located = resourceAtRange(context.workspace, file, range);
  return located ? withFileLineEnds(context, TRAFFIC_FIXES[located.resource.mesh].shadowPolicy(context, located.file, range)) : { fixes: [], notOffered: [] };
}

/** A MeshTLSAuthentication for the identities observed at a Linkerd AuthorizationPolicy's target. */
export function createMeshTlsAuthentication(context: FixContext, file: string, range: Range): TrafficFixResult {
  const located = resourceAtRange(context.workspace, file, range);
  return located?.resource.mesh === 'linkerd' ? withFileLineEnds(context, createLinkerdAuthentication(context, located.file, range)) : { fixes: [], notOffered: [] };
}

/**
 * Every traffic fix that applies at a range of a policy file: for the calls decided there,
 * allow the denied ones and deny the allowed ones; narrow a wildcard under the cursor;
 * dry-run/audit the policy; create a MeshTLSAuthentication for a Linkerd AuthorizationPolicy.
 * Each fix was checked by applying it and deciding the calls again (dry-run and audit only when
 * the policy decided some call).
 */
export function trafficFixesAt(input: TrafficFixesInput): TrafficFix[] {
  const context = fixContext(input);
  const located = resourceAtRange(input.workspace, input.file, input.range);
  if (!located) return [];
  const { fixes, add } = fixCollector(context);
  add(() => narrowWildcard(context, input.file, input.range));
  for (const outcome of outcomesAt(input.outcomes, input.file, input.range, input.workspace).slice(0, input.maxCalls ?? 3)) {
    if (outcome.decision.verdict === 'deny') add(() => allowCall(context, outcome));
    else if (outcome.decision.verdict === 'allow') add(() => denyCall(context, outcome));
  }
  add(() => shadowPolicy(context, input.file, input.range));
  if (located.resource.mesh === 'linkerd') add(() => createMeshTlsAuthentication(context, input.file, input.range));
  return fixes;
}

/**
 * Fixes from several builders, each offered once: a fix whose edits are those of a fix already
 * taken, but for the number after the name of a resource it adds, is the same fix. The resources each fix adds
 * go to `context.offered`, so that the next builders name theirs otherwise. A builder that throws
 * offers none, the others still do.
 */
function fixCollector(context: FixContext): TrafficFixResult & { add(build: () => TrafficFixResult): void } {
  const fixes: TrafficFix[] = [];
  const notOffered: string[] = [];
  const seen = new Set<string>();
  const add = (build: () => TrafficFixResult): void => {
    let result: TrafficFixResult;
    try {
      result = build();
    } catch (error) {
      notOffered.push(`no fix could be built: ${error instanceof Error ? error.message : String(error)}`);
      return;
    }
    for (const fix of result.fixes) {
      const key = sameFixKey(fix);
      if (seen.has(key)) continue;
      seen.add(key);
      fixes.push(fix);
      context.offered?.push(...(fix.creates ?? []));
    }
    for (const reason of result.notOffered) if (!notOffered.includes(reason)) notOffered.push(reason);
  };
  return { fixes, notOffered, add };
}

/** The file and edits of a fix, each name of a resource it adds written without the number `newResource` put after it. */
function sameFixKey(fix: TrafficFix): string {
  let edits = fix.edits;
  for (const { name, unnumbered } of fix.creates ?? []) {
    if (unnumbered === undefined || unnumbered === name) continue;
    const written = new RegExp(`(?<![\\w.-])${escapeRegex(name)}(?![\\w.-])`, 'g');
    edits = edits.map((e) => ({ ...e, newText: e.newText.replace(written, unnumbered) }));
  }
  return JSON.stringify([fix.file, edits]);
}

/** An edge of the traffic map: a caller and a destination as the map names them (`callerName`, `destinationName`). */
export interface EdgeRef {
  source: string;
  destination: string;
}

export type EdgeAction = 'allow' | 'deny';

/** The calls of an edge, busiest first. */
export function edgeOutcomes(outcomes: readonly ShapeOutcome[], edge: EdgeRef): ShapeOutcome[] {
  return outcomes
    .filter((o) => callerName(o.shape.record) === edge.source && destinationName(o.shape.record) === edge.destination)
    .sort((a, b) => b.shape.count - a.shape.count);
}

/**
 * The traffic map's "Allow these calls" / "Deny these calls": the allow fixes of the edge's busiest
 * denied calls, or the deny fixes of its busiest allowed calls (`maxCalls` of them, default 3), as
 * `trafficFixesAt` builds them for those calls at their deciding policy, verified the same way.
 * `calls` counts the edge's calls the action is about.
 */
export function edgeFixes(input: Omit<TrafficFixesInput, 'file' | 'range'> & { edge: EdgeRef; action: EdgeAction }): TrafficFixResult & { calls: number } {
  const context = fixContext(input);
  const verdict = input.action === 'allow' ? 'deny' : 'allow';
  const candidates = edgeOutcomes(input.outcomes, input.edge).filter((o) => o.decision.verdict === verdict);
  const { fixes, notOffered, add } = fixCollector(context);
  for (const outcome of candidates.slice(0, input.maxCalls ?? 3)) add(() => (input.action === 'allow' ? allowCall(context, outcome) : denyCall(context, outcome)));
  return { fixes, notOffered, calls: candidates.reduce((sum, o) => sum + o.shape.count, 0) };
}

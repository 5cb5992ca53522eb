import type { WorkspaceView } from '../checks/check';
import { Engine } from '../engine';
import type { Range } from '../findings';
import type { Mesh } from '../meshes';
import type { ShapeOutcome } from '../simulate';
import { contains, overlaps, resourceAtRange, type FixContext, type MeshTrafficFixes, type TrafficFix, type TrafficFixResult } from './common';
import { consulTrafficFixes } from './consul';
import { istioTrafficFixes } from './istio';
import { linkerdTrafficFixes } from './linkerd';

export type { FixContext, MeshTrafficFixes, TrafficFix, TrafficFixKind, TrafficFixResult } from './common';
export { applyEdits, OverlayWorkspace, workspaceWithFix } from './verify';
export { createMeshTlsAuthentication } from './linkerd';
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

export function fixContext(input: { workspace: WorkspaceView; outcomes: readonly ShapeOutcome[]; engine?: Engine }): FixContext {
  return { engine: input.engine ?? (sharedEngine ??= new Engine()), workspace: input.workspace, outcomes: input.outcomes };
}

/**
 * Outcomes decided at the range (the deciding policy or rule overlaps it), or that narrowly
 * missed it (a trace step about the range did not match), largest first.
 */
export function outcomesAt(outcomes: readonly ShapeOutcome[], file: string, range: Range): ShapeOutcome[] {
  const at = (ref: { file: string; range: Range } | undefined) => ref !== undefined && ref.file === file && (overlaps(ref.range, range) || contains(ref.range, range));
  const decided = outcomes.filter((o) => at(o.decision.rule) || (!o.decision.rule && at(o.decision.policy)));
  const missed = outcomes.filter((o) => !decided.includes(o) && o.decision.verdict !== 'allow' && o.decision.trace.some((s) => s.outcome === 'not-matched' && at(s.at)));
  return [...decided, ...missed].sort((a, b) => b.shape.count - a.shape.count);
}

/** Allow a denied call (or deny an allowed one) with the module of its mesh. */
export function allowCall(context: FixContext, outcome: ShapeOutcome): TrafficFixResult {
  return TRAFFIC_FIXES[outcome.decision.mesh].allowCall(context, outcome);
}

export function denyCall(context: FixContext, outcome: ShapeOutcome): TrafficFixResult {
  return TRAFFIC_FIXES[outcome.decision.mesh].denyCall(context, outcome);
}

export function narrowWildcard(context: FixContext, file: string, range: Range): TrafficFixResult {
  const located = resourceAtRange(context.workspace, file, range);
  return located ? TRAFFIC_FIXES[located.resource.mesh].narrowWildcard(context, located.file, range) : { fixes: [], notOffered: [] };
}

/** Istio dry-run or Linkerd audit for the policy at the range. */
export function shadowPolicy(context: FixContext, file: string, range: Range): TrafficFixResult {
  const located = resourceAtRange(context.workspace, file, range);
  return located ? TRAFFIC_FIXES[located.resource.mesh].shadowPolicy(context, located.file, range) : { fixes: [], notOffered: [] };
}

/**
 * Every traffic fix that applies at a range of a policy file: for the calls decided there,
 * allow the denied ones and deny the allowed ones; narrow a wildcard under the cursor;
 * dry-run/audit the policy; create a MeshTLSAuthentication for a Linkerd AuthorizationPolicy.
 * Each fix was checked by applying it and deciding the call again.
 */
export function trafficFixesAt(input: TrafficFixesInput): TrafficFix[] {
  const context = fixContext(input);
  const located = resourceAtRange(input.workspace, input.file, input.range);
  if (!located) return [];
  const fixes: TrafficFix[] = [];
  const seen = new Set<string>();
  const add = (result: TrafficFixResult) => {
    for (const fix of result.fixes) {
      const key = JSON.stringify([fix.file, fix.edits]);
      if (!seen.has(key)) {
        seen.add(key);
        fixes.push(fix);
      }
    }
  };
  add(narrowWildcard(context, input.file, input.range));
  for (const outcome of outcomesAt(input.outcomes, input.file, input.range).slice(0, input.maxCalls ?? 3)) {
    if (outcome.decision.verdict === 'deny') add(allowCall(context, outcome));
    else if (outcome.decision.verdict === 'allow') add(denyCall(context, outcome));
  }
  add(shadowPolicy(context, input.file, input.range));
  if (located.resource.mesh === 'linkerd') add(linkerdTrafficFixes.createAuthentication(context, located.file, input.range));
  return fixes;
}

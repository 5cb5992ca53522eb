import type { WorkspaceView } from '../checks/check';
import type { Mesh } from '../meshes';
import type { AccessRecord } from '../traffic/accessRecord';
import type { TrafficShape } from '../traffic/ingest/types';
import { consulSimulator } from './consul';
import { istioSimulator } from './istio';
import { linkerdSimulator } from './linkerd';
import { classify, type Change, type CompiledPolicies, type Decision, type MeshSimulator, type SourceRef, type Verdict } from './types';

export const SIMULATORS: Record<Mesh, MeshSimulator> = { istio: istioSimulator, linkerd: linkerdSimulator, consul: consulSimulator };

/** Policies compiled once per mesh present in the workspace. */
export class Simulation {
  private readonly compiled = new Map<Mesh, CompiledPolicies>();
  readonly meshes: Mesh[];

  constructor(workspace: WorkspaceView, options: { customProviderVerdicts?: Record<string, 'allow' | 'deny'> } = {}) {
    const present = new Set(workspace.resources.map((r) => r.resource.mesh));
    this.meshes = (Object.keys(SIMULATORS) as Mesh[]).filter((m) => present.has(m));
    for (const mesh of this.meshes) {
      this.compiled.set(mesh, SIMULATORS[mesh].compile({
        resources: workspace.resources.filter((r) => r.resource.mesh === mesh),
        inventory: workspace.inventory,
        config: workspace.config,
        ...(options.customProviderVerdicts ? { customProviderVerdicts: options.customProviderVerdicts } : {}),
      }));
    }
  }

  /** The mesh a record belongs to: its own `mesh`, or the only mesh with policies. */
  meshOf(record: AccessRecord): Mesh | undefined {
    if (record.mesh) return record.mesh;
    return this.meshes.length === 1 ? this.meshes[0] : undefined;
  }

  decide(record: AccessRecord, full = false): Decision {
    const mesh = this.meshOf(record);
    const compiled = mesh ? this.compiled.get(mesh) : undefined;
    if (!mesh || !compiled) {
      const why = !mesh ? 'the record does not say which mesh carried it, and the workspace has policies of several meshes (or none)' : `the workspace has no ${mesh} policies`;
      return { verdict: 'unknown', mesh: mesh ?? 'istio', reason: why, trace: [{ text: why, outcome: 'unknown' }], missing: mesh ? [] : ['mesh'] };
    }
    const explaining = compiled as CompiledPolicies & { explain?: (call: AccessRecord) => Decision };
    return full && explaining.explain ? explaining.explain(record) : compiled.decide(record);
  }
}

export interface ShapeOutcome {
  shape: TrafficShape;
  decision: Decision;
  change: Change;
}

export interface Tally {
  calls: number;
  allow: number;
  deny: number;
  external: number;
  unknown: number;
  newlyDenied: number;
  newlyAllowed: number;
}

export interface PolicyTally extends Tally {
  ref: SourceRef;
  rules: Map<string, Tally & { ref: SourceRef }>;
}

export interface SimulationResult {
  outcomes: ShapeOutcome[];
  totals: Tally & { unchanged: number };
  /** Per deciding policy (and rule), keyed by file + label. */
  policies: PolicyTally[];
}

export function emptyTally(): Tally {
  return { calls: 0, allow: 0, deny: 0, external: 0, unknown: 0, newlyDenied: 0, newlyAllowed: 0 };
}

function count(tally: Tally, verdict: Verdict, change: Change, calls: number): void {
  tally.calls += calls;
  tally[verdict] += calls;
  if (change === 'newly-denied') tally.newlyDenied += calls;
  if (change === 'newly-allowed') tally.newlyAllowed += calls;
}

/** Decides every shape and tallies the calls per policy and rule that decided them. */
export function simulateShapes(simulation: Simulation, shapes: readonly TrafficShape[]): SimulationResult {
  const outcomes: ShapeOutcome[] = [];
  const totals = { ...emptyTally(), unchanged: 0 };
  const policies = new Map<string, PolicyTally>();
  for (const shape of shapes) {
    const decision = simulation.decide(shape.record);
    const change = classify(decision, shape.record.observed);
    outcomes.push({ shape, decision, change });
    count(totals, decision.verdict, change, shape.count);
    if (change === 'unchanged') totals.unchanged += shape.count;
    if (!decision.policy) continue;
    const key = `${decision.policy.file}\u0000${decision.policy.label}`;
    let policy = policies.get(key);
    if (!policy) policies.set(key, (policy = { ...emptyTally(), ref: decision.policy, rules: new Map() }));
    count(policy, decision.verdict, change, shape.count);
    if (decision.rule) {
      let rule = policy.rules.get(decision.rule.label);
      if (!rule) policy.rules.set(decision.rule.label, (rule = { ...emptyTally(), ref: decision.rule }));
      count(rule, decision.verdict, change, shape.count);
    }
  }
  return { outcomes, totals, policies: [...policies.values()].sort((a, b) => (a.ref.file < b.ref.file ? -1 : a.ref.file > b.ref.file ? 1 : a.ref.range.start.line - b.ref.range.start.line)) };
}

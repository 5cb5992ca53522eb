import { Engine } from '../../engine';
import type { Mesh } from '../../meshes';
import { Simulation } from '../../simulate';
import type { AccessRecord } from '../../traffic/accessRecord';
import type { TrafficShape } from '../../traffic/ingest/types';
import type { WorkspaceModel } from '../../workspace';
import { hasCallerEvidence, observedOutcome, plural, withoutIdentity, type GenerateOptions } from './evidence';
import type { GeneratedPolicies } from './types';

/** Observed allowed calls the generated policies would deny, per destination, with why. */
export interface SelfCheck {
  denied: number;
  destinations: { destination: string; calls: number; reasons: { reason: string; calls: number }[] }[];
}

function destinationOf(mesh: Mesh, r: AccessRecord): string {
  const d = r.destination;
  if (mesh === 'consul') return d?.service ?? d?.workload ?? '?';
  const name = `${d?.namespace ?? '?'}/${d?.workload ?? d?.service ?? '?'}`;
  return mesh === 'linkerd' && d?.port !== undefined ? `${name}:${d.port}` : name;
}

/**
 * Decides the observed calls again with the generated policies alone (read back through the
 * normal readers into `workspace`, which gives the inventory and configuration and is changed),
 * and counts the observed allowed calls they would deny: mostly calls of callers the policies
 * cannot name (skipped as evidence), which the mesh's default allowed until now.
 */
export function checkGenerated(generated: GeneratedPolicies, shapes: readonly TrafficShape[], workspace: WorkspaceModel, options: GenerateOptions & { path: string }): SelfCheck {
  const engine = new Engine();
  workspace.update(engine.prepare(engine.read(options.path, generated.yaml)));
  const simulation = new Simulation(workspace);
  const mesh = generated.mesh;
  const byDestination = new Map<string, Map<string, number>>();
  let denied = 0;
  for (const shape of shapes) {
    const r = shape.record;
    if ((r.mesh && r.mesh !== mesh) || observedOutcome(r, options) !== 'allowed') continue;
    const decision = simulation.decide(r);
    if (decision.verdict !== 'deny') continue;
    const reasons = hasCallerEvidence(mesh, r)
      ? [[`not matched by the generated rules: ${decision.reason}`, shape.count] as [string, number]]
      : withoutIdentity(shape, options.inventory?.present === true);
    const name = destinationOf(mesh, r);
    const tally = byDestination.get(name) ?? new Map<string, number>();
    byDestination.set(name, tally);
    for (const [reason, calls] of reasons) tally.set(reason, (tally.get(reason) ?? 0) + calls);
    denied += shape.count;
  }
  const destinations = [...byDestination].map(([destination, tally]) => ({
    destination,
    calls: [...tally.values()].reduce((sum, n) => sum + n, 0),
    reasons: [...tally].map(([reason, calls]) => ({ reason, calls })).sort((a, b) => b.calls - a.calls),
  })).sort((a, b) => b.calls - a.calls || (a.destination < b.destination ? -1 : 1));
  return { denied, destinations };
}

/** The check's lines: one per destination and reason. */
export function selfCheckLines(check: SelfCheck): string[] {
  if (check.denied === 0) return [];
  const lines = [`Self-check: these policies would deny ${plural(check.denied, 'call')} the logs show allowed (their callers have no identity a policy can name, or as said):`];
  for (const d of check.destinations) {
    lines.push(`  ${d.destination}: ${plural(d.calls, 'observed allowed call')} would be denied`);
    for (const r of d.reasons) lines.push(`    ${plural(r.calls, 'call')}: ${r.reason}`);
  }
  return lines;
}

/** The generated YAML with the check's lines at the end of its header comment. */
export function withSelfCheck(generated: GeneratedPolicies, check: SelfCheck): GeneratedPolicies {
  const lines = selfCheckLines(check);
  if (!lines.length) return generated;
  const comment = lines.map((l) => `# ${l}`.trimEnd()).join('\n');
  const at = generated.yaml.search(/^---$/m);
  const yaml = at < 0 ? `${generated.yaml}${comment}\n` : `${generated.yaml.slice(0, at)}${comment}\n${generated.yaml.slice(at)}`;
  return { ...generated, yaml };
}

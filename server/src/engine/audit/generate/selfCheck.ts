import { Engine } from '../../engine';
import { Pace } from '../../pace';
import type { Mesh } from '../../meshes';
import { Simulation } from '../../simulate';
import type { AccessRecord } from '../../traffic/accessRecord';
import type { TrafficShape } from '../../traffic/ingest/types';
import type { WorkspaceModel } from '../../workspace';
import { deniedByTokenCheck, hasCallerEvidence, observedOutcome, plural, withoutIdentity, type GenerateOptions } from './evidence';
import type { GeneratedPolicies } from './types';

/** Shapes decided between two looks at the clock (`Pace`). */
const SHAPES_PER_TURN = 256;

/** Calls per destination, with why. */
export type CheckedDestinations = { destination: string; calls: number; reasons: { reason: string; calls: number }[] }[];

/** What the generated policies decide differently from the logs. */
export interface SelfCheck {
  /** Observed allowed calls the generated policies would deny. */
  denied: number;
  destinations: CheckedDestinations;
  /** Observed denied calls the generated policies would allow: conflicts and destinations left to the mesh default, as the header says. */
  allowed: number;
  allowedDestinations: CheckedDestinations;
}

/** Tallies calls per destination and reason. */
class DestinationTally {
  private readonly byDestination = new Map<string, Map<string, number>>();
  total = 0;

  add(destination: string, reasons: readonly (readonly [string, number])[]): void {
    const tally = this.byDestination.get(destination) ?? new Map<string, number>();
    this.byDestination.set(destination, tally);
    for (const [reason, calls] of reasons) {
      tally.set(reason, (tally.get(reason) ?? 0) + calls);
      this.total += calls;
    }
  }

  list(): CheckedDestinations {
    return [...this.byDestination].map(([destination, tally]) => ({
      destination,
      calls: [...tally.values()].reduce((sum, n) => sum + n, 0),
      reasons: [...tally].map(([reason, calls]) => ({ reason, calls })).sort((a, b) => b.calls - a.calls),
    })).sort((a, b) => b.calls - a.calls || (a.destination < b.destination ? -1 : 1));
  }
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
export async function checkGenerated(generated: GeneratedPolicies, shapes: readonly TrafficShape[], workspace: WorkspaceModel, options: GenerateOptions & { path: string; signal?: AbortSignal }): Promise<SelfCheck> {
  const pace = new Pace(options.signal);
  const engine = new Engine();
  workspace.update(engine.prepare(engine.read(options.path, generated.yaml)));
  await pace.turn();
  const simulation = new Simulation(workspace);
  const mesh = generated.mesh;
  const wronglyDenied = new DestinationTally();
  const wronglyAllowed = new DestinationTally();
  for (const [i, shape] of shapes.entries()) {
    if (i % SHAPES_PER_TURN === 0) await pace.turn();
    const r = shape.record;
    if (r.mesh && r.mesh !== mesh) continue;
    const observed = observedOutcome(r, options);
    if (!observed || deniedByTokenCheck(r)) continue;
    const decision = simulation.decide(r);
    if (observed === 'allowed' && decision.verdict === 'deny') {
      wronglyDenied.add(destinationOf(mesh, r), hasCallerEvidence(mesh, r)
        ? [[`not matched by the generated rules: ${decision.reason}`, shape.count]]
        : withoutIdentity(shape, options.inventory?.present === true));
    } else if (observed === 'denied' && decision.verdict === 'allow') {
      wronglyAllowed.add(destinationOf(mesh, r), [[decision.reason, shape.count]]);
    }
  }
  return { denied: wronglyDenied.total, destinations: wronglyDenied.list(), allowed: wronglyAllowed.total, allowedDestinations: wronglyAllowed.list() };
}

/** The check's lines: one per destination and reason. */
export function selfCheckLines(check: SelfCheck): string[] {
  const lines: string[] = [];
  const list = (destinations: CheckedDestinations, what: string, outcome: string): void => {
    for (const d of destinations) {
      lines.push(`  ${d.destination}: ${plural(d.calls, what)} ${outcome}`);
      for (const r of d.reasons) lines.push(`    ${plural(r.calls, 'call')}: ${r.reason}`);
    }
  };
  if (check.denied > 0) {
    lines.push(`Self-check: these policies would deny ${plural(check.denied, 'call')} the logs show allowed (their callers have no identity a policy can name, or as said):`);
    list(check.destinations, 'observed allowed call', 'would be denied');
  }
  if (check.allowed > 0) {
    lines.push(`Self-check: these policies would allow ${plural(check.allowed, 'call')} the logs show denied (conflicts, and destinations left to the mesh default, as listed above):`);
    list(check.allowedDestinations, 'observed denied call', 'would be allowed');
  }
  return lines;
}

/** The generated YAML with the check's lines at the end of its header comment. */
export function withSelfCheck(generated: GeneratedPolicies, check: SelfCheck): GeneratedPolicies {
  return withHeaderLines(generated, selfCheckLines(check));
}

/** `lines` added at the end of the header comment (before the first document). */
export function withHeaderLines(generated: GeneratedPolicies, lines: readonly string[]): GeneratedPolicies {
  if (!lines.length) return generated;
  const comment = lines.map((l) => `# ${l}`.trimEnd()).join('\n');
  const at = generated.yaml.search(/^---$/m);
  const yaml = at < 0 ? `${generated.yaml}${comment}\n` : `${generated.yaml.slice(0, at)}${comment}\n${generated.yaml.slice(at)}`;
  return { ...generated, yaml };
}

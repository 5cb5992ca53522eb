import type { Resource } from '../resource';
import { observedDenier } from './istio/observed';
import type { ShapeOutcome } from './index';

/** A policy or Server the logs name as what denied calls, which the workspace does not have. */
export interface AbsentDenier {
  mesh: 'istio' | 'linkerd';
  kind: 'AuthorizationPolicy' | 'Server';
  namespace: string;
  name: string;
  /** Denied calls whose log names it. */
  calls: number;
  /** The busiest of those calls (its samples give a log line). */
  busiest: ShapeOutcome;
}

/**
 * The deniers the logs name that no resource of the workspace is: an Istio AuthorizationPolicy a
 * proxy's RBAC details or ztunnel name (`response.deniedBy` `<namespace>/<name>`), or a Linkerd
 * Server a policy event names (`server:<name>`, in the destination's namespace). The cluster had
 * them when the logs were written: the workspace lacks a policy the mesh enforces (or had), so
 * what it simulates for those calls may not be what the mesh does. Busiest first.
 */
export function absentDeniers(outcomes: readonly ShapeOutcome[], resources: readonly { resource: Resource }[] | PresentDeniers): AbsentDenier[] {
  const present = resources instanceof PresentDeniers ? resources : new PresentDeniers(resources);
  const found = new Map<string, AbsentDenier>();
  for (const outcome of outcomes) {
    const record = outcome.shape.record;
    const named = record.observed === 'denied' ? record.response?.deniedBy : undefined;
    if (named === undefined) continue;
    const denier = deniedByResource(record.mesh ?? outcome.decision.mesh, named, record.destination?.namespace);
    if (denier === undefined) continue;
    const key = denierKey(denier);
    if (present.has(key)) continue;
    const entry = found.get(key);
    if (entry === undefined) found.set(key, { ...denier, calls: outcome.shape.count, busiest: outcome });
    else {
      entry.calls += outcome.shape.count;
      if (outcome.shape.count > entry.busiest.shape.count) entry.busiest = outcome;
    }
  }
  return [...found.values()].sort((a, b) => b.calls - a.calls || a.namespace.localeCompare(b.namespace) || a.name.localeCompare(b.name));
}

/** The Istio AuthorizationPolicies and Linkerd Servers of the workspace, by mesh, namespace and name: what a denier the logs name may be. */
export class PresentDeniers {
  private readonly keys = new Set<string>();
  /** The same names in one string, to tell whether the workspace's deniers changed. */
  readonly signature: string;

  constructor(resources: readonly { resource: Resource }[]) {
    for (const { resource } of resources) {
      if (resource.name === undefined) continue;
      if ((resource.mesh === 'istio' && resource.kind === 'AuthorizationPolicy') || (resource.mesh === 'linkerd' && resource.kind === 'Server')) {
        this.keys.add(denierKey({ mesh: resource.mesh, namespace: resource.namespace ?? 'default', name: resource.name }));
      }
    }
    this.signature = [...this.keys].sort().join('\u0001');
  }

  has(key: string): boolean {
    return this.keys.has(key);
  }
}

function denierKey(denier: { mesh: string; namespace: string; name: string }): string {
  return `${denier.mesh}\u0000${denier.namespace}\u0000${denier.name}`;
}

/** One sentence naming absent deniers, for a message about the calls they denied. */
export function absentDeniersSentence(absent: readonly AbsentDenier[]): string {
  const names = absent.map((d) => `${d.kind} ${d.namespace}/${d.name}`);
  const listed = names.length <= 3 ? names.join(', ') : `${names.slice(0, 3).join(', ')} and ${names.length - 3} more`;
  const calls = absent.reduce((n, d) => n + d.calls, 0);
  const counted = `${calls.toLocaleString('en-US')} of these calls`;
  return absent.length === 1
    ? `The logs say ${listed} denied ${counted}; the workspace has no such resource, so the cluster enforces a policy this workspace lacks.`
    : `The logs say ${listed} denied ${counted}; the workspace has none of them, so the cluster enforces policies this workspace lacks.`;
}

function deniedByResource(mesh: string, named: string, destinationNamespace: string | undefined): Pick<AbsentDenier, 'mesh' | 'kind' | 'namespace' | 'name'> | undefined {
  if (mesh === 'istio') {
    const denier = observedDenier(named);
    return denier.kind === 'policy' && denier.namespace !== undefined && denier.name !== undefined ? { mesh, kind: 'AuthorizationPolicy', namespace: denier.namespace, name: denier.name } : undefined;
  }
  if (mesh === 'linkerd' && named.startsWith('server:') && destinationNamespace !== undefined) {
    return { mesh, kind: 'Server', namespace: destinationNamespace, name: named.slice('server:'.length) };
  }
  return undefined;
}

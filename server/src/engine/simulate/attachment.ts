import type { Mesh } from '../meshes';
import type { Resource } from '../resource';
import type { AccessRecord } from '../traffic/accessRecord';
import { resourceValue } from '../resourceValue';

/**
 * Which observed calls a policy resource can decide: the destinations it attaches to (spec §1.2
 * Istio attachment, §2 Linkerd Servers and their routes and authorizations, §3 Consul intentions
 * by destination name). Used to re-decide only the calls a policy edit can change. A scope
 * errs on the side of "maybe": a call whose record lacks the attribute a scope tests is in it.
 */
export type AttachmentScope =
  /** Every call of the mesh (root-namespace policies, mesh-wide config entries, unknown forms). */
  | { kind: 'all' }
  /** Calls to workloads of a namespace, optionally only those whose labels match a selector. */
  | { kind: 'namespace'; namespace: string; selector?: [string, string][] }
  /** Calls to a Consul service by name. */
  | { kind: 'service'; name: string };

const ALL: AttachmentScope = { kind: 'all' };

/** Where a resource attaches. `linkerdPolicies` are the Linkerd AuthorizationPolicies of the
 * workspace (before and after a change), to follow references to authentications. */
export function attachmentOf(resource: Resource, rootNamespace: string, linkerdPolicies: readonly Resource[] = []): AttachmentScope[] {
  const value = resourceValue(resource);
  switch (resource.mesh) {
    case 'istio': return istioScope(resource, value, rootNamespace);
    case 'linkerd': return linkerdScope(resource, value, linkerdPolicies);
    case 'consul': return consulScope(resource, value);
  }
}

function istioScope(resource: Resource, value: Record<string, unknown>, rootNamespace: string): AttachmentScope[] {
  const metadata = record(value['metadata']);
  const namespace = typeof metadata['namespace'] === 'string' && metadata['namespace'] !== '' ? metadata['namespace'] : resource.namespace ?? 'default';
  if (namespace === rootNamespace) return [ALL];
  const spec = record(value['spec']);
  const refs = [...list(spec['targetRefs']), ...(spec['targetRef'] !== undefined ? [spec['targetRef']] : [])].map(record);
  // A waypoint can serve Services of other namespaces (istio.io/use-waypoint-namespace).
  if (refs.some((r) => r['kind'] === 'Gateway' || r['kind'] === 'GatewayClass')) return [ALL];
  if (refs.length) return [{ kind: 'namespace', namespace }];
  const matchLabels = record(record(spec['selector'])['matchLabels']);
  const selector = Object.entries(matchLabels).map(([k, v]) => [k, String(v)] as [string, string]);
  return [selector.length ? { kind: 'namespace', namespace, selector } : { kind: 'namespace', namespace }];
}

function linkerdScope(resource: Resource, value: Record<string, unknown>, policies: readonly Resource[]): AttachmentScope[] {
  const namespace = resource.namespace ?? 'default';
  const namespaces = new Set([namespace]);
  const spec = record(value['spec']);
  const refs = [...list(spec['parentRefs']), spec['targetRef'], ...list(spec['requiredAuthenticationRefs'])].map(record);
  for (const ref of refs) {
    if (typeof ref['namespace'] === 'string') namespaces.add(ref['namespace']);
    if (ref['kind'] === 'Namespace' && typeof ref['name'] === 'string') namespaces.add(ref['name']);
  }
  if (resource.kind === 'MeshTLSAuthentication' || resource.kind === 'NetworkAuthentication') {
    // Shared by the AuthorizationPolicies that name it, in any namespace.
    for (const policy of policies) {
      const policyNamespace = policy.namespace ?? 'default';
      const authns = list(record(resourceValue(policy)['spec'])['requiredAuthenticationRefs']).map(record);
      if (authns.some((r) => r['kind'] === resource.kind && r['name'] === resource.name && (typeof r['namespace'] === 'string' ? r['namespace'] : policyNamespace) === namespace)) namespaces.add(policyNamespace);
    }
  }
  return [...namespaces].map((ns) => ({ kind: 'namespace', namespace: ns }));
}

function consulScope(resource: Resource, value: Record<string, unknown>): AttachmentScope[] {
  if (resource.kind === 'ServiceIntentions') {
    const name = record(record(value['spec'])['destination'])['name'];
    return typeof name === 'string' && name !== '' && !name.includes('*') ? [{ kind: 'service', name }] : [ALL];
  }
  if (resource.kind === 'service-intentions') {
    const name = value['Name'] ?? value['name'];
    return typeof name === 'string' && name !== '' && !name.includes('*') ? [{ kind: 'service', name }] : [ALL];
  }
  // Defaults and mesh-wide entries: everything the mesh decides.
  return [ALL];
}

/** Whether a call may be decided differently because of a resource with these scopes. */
export function inScope(scope: AttachmentScope, record: AccessRecord): boolean {
  const destination = record.destination;
  switch (scope.kind) {
    case 'all': return true;
    case 'service': {
      const service = destination?.service;
      return service === undefined || service === scope.name;
    }
    case 'namespace': {
      const namespace = destination?.namespace;
      if (namespace === undefined) return true;
      if (namespace !== scope.namespace) return false;
      const labels = destination?.labels;
      // Without labels in the record, the inventory's may apply.
      if (!scope.selector || !labels) return true;
      return scope.selector.every(([k, v]) => labels[k] === v);
    }
  }
}

export function meshesOf(resources: readonly Resource[]): Set<Mesh> {
  return new Set(resources.map((r) => r.mesh));
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function record(value: unknown): Record<string, unknown> {
  return isRecord(value) ? value : {};
}

function list(value: unknown): unknown[] {
  return Array.isArray(value) ? value : [];
}

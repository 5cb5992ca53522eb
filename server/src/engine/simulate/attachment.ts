import type { Mesh } from '../meshes';
import type { Resource } from '../resource';
import type { AccessRecord } from '../traffic/accessRecord';
import { resourceValue } from '../resourceValue';
import { isRecord } from '../plainValues';
import { F, T, U, type Tri } from './istio/call';

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

/** Where a resource attaches. `linkerdResources` are the Linkerd resources of the workspace
 * (before and after a change), to follow references: routes and policies to their Servers,
 * authentications to the policies that require them. */
export function attachmentOf(resource: Resource, rootNamespace: string, linkerdResources: readonly Resource[] = []): AttachmentScope[] {
  const value = resourceValue(resource);
  switch (resource.mesh) {
    case 'istio': return istioScope(resource, value, rootNamespace);
    case 'linkerd': return linkerdScope(resource, value, linkerdResources);
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

/** What Istio's attachment reads of an AuthorizationPolicy, PeerAuthentication or
 * RequestAuthentication (`simulate/istio/compile.ts` `Attachable`). */
export interface IstioAttachment {
  namespace: string;
  /** matchLabels pairs; null = no selector; [] = empty matchLabels (selects every workload). */
  selector: ReadonlyArray<readonly [string, string]> | null;
  targetRefs: ReadonlyArray<{ group: string; kind: string; name: string; namespace?: string }> | null;
}

export { gatewayNameOf } from '../istio/ambient';

/**
 * Whether an Istio resource of the workload's namespace or of the root namespace attaches to a
 * workload's sidecar or, with `gatewayName`, to that Gateway API gateway (spec §1.2 items 1–2,
 * `ShouldAttachPolicy`): with targetRefs only at a gateway one of them names, else by its
 * selector. U when the selector matters and the labels are not known. Waypoints are the Istio
 * simulator's business (they need the ServiceEntries' hosts).
 */
export function istioAttachesToWorkload(p: IstioAttachment, ns: string | undefined, labels: Record<string, string> | undefined, gatewayName: string | undefined): Tri {
  if (p.targetRefs) {
    if (gatewayName === undefined) return F;
    for (const ref of p.targetRefs) {
      if (ref.group === 'gateway.networking.k8s.io' && ref.kind === 'Gateway' && ref.name === gatewayName && p.namespace === ns && (ref.namespace === undefined || ref.namespace === ns)) return T;
    }
    return F;
  }
  return selectorAttach(p.selector, labels);
}

/** A selector's verdict on a workload's labels: no selector or empty matchLabels selects every workload. */
export function selectorAttach(selector: IstioAttachment['selector'], labels: Record<string, string> | undefined): Tri {
  if (selector === null || selector.length === 0) return T;
  if (labels === undefined) return U;
  for (let i = 0; i < selector.length; i++) {
    const pair = selector[i]!;
    if (labels[pair[0]] !== pair[1]) return F;
  }
  return T;
}

/**
 * Linkerd (spec §2): a Server decides calls to the pods it selects; a route, a policy or a
 * ServerAuthorization only through the Servers it names (in its own namespace), so its scope is
 * theirs. Whatever cannot be followed exactly (a Server selecting by expressions, a name no Server
 * has, a reference to another namespace) widens to the whole namespace.
 */
function linkerdScope(resource: Resource, value: Record<string, unknown>, resources: readonly Resource[]): AttachmentScope[] {
  const namespace = resource.namespace ?? 'default';
  const spec = record(value['spec']);
  switch (resource.kind) {
    case 'Server': return [serverScope(namespace, spec)];
    case 'HTTPRoute':
    case 'GRPCRoute': return routeScopes(namespace, spec, resources);
    case 'AuthorizationPolicy': {
      const target = record(spec['targetRef']);
      const name = target['name'];
      if (typeof name !== 'string' || (typeof target['namespace'] === 'string' && target['namespace'] !== namespace)) break;
      if (target['kind'] === 'Server') return serversNamed(namespace, name, resources);
      if (target['kind'] === 'HTTPRoute' || target['kind'] === 'GRPCRoute') {
        const routes = resources.filter((r) => r.kind === target['kind'] && r.name === name && (r.namespace ?? 'default') === namespace);
        if (routes.length) return routes.flatMap((route) => routeScopes(namespace, record(resourceValue(route)['spec']), resources));
      }
      break;
    }
    case 'ServerAuthorization': {
      const server = record(spec['server']);
      if (typeof server['name'] === 'string' && server['selector'] === undefined) return serversNamed(namespace, server['name'], resources);
      break;
    }
    case 'MeshTLSAuthentication':
    case 'NetworkAuthentication': {
      // Shared by the AuthorizationPolicies that name it, in any namespace: their scopes.
      const out: AttachmentScope[] = [];
      for (const policy of resources) {
        if (policy.kind !== 'AuthorizationPolicy') continue;
        const policyNamespace = policy.namespace ?? 'default';
        const authns = list(record(resourceValue(policy)['spec'])['requiredAuthenticationRefs']).map(record);
        if (authns.some((r) => r['kind'] === resource.kind && r['name'] === resource.name && (typeof r['namespace'] === 'string' ? r['namespace'] : policyNamespace) === namespace)) out.push(...attachmentOf(policy, '', resources));
      }
      return out;
    }
  }
  const namespaces = new Set([namespace]);
  const refs = [...list(spec['parentRefs']), spec['targetRef'], ...list(spec['requiredAuthenticationRefs'])].map(record);
  for (const ref of refs) {
    if (typeof ref['namespace'] === 'string') namespaces.add(ref['namespace']);
    if (ref['kind'] === 'Namespace' && typeof ref['name'] === 'string') namespaces.add(ref['name']);
  }
  return [...namespaces].map((ns) => ({ kind: 'namespace', namespace: ns }));
}

/** The pods a Server selects: by its `matchLabels`, or the namespace when it selects by expressions (or every pod). */
function serverScope(namespace: string, spec: Record<string, unknown>): AttachmentScope {
  const selector = record(spec['podSelector']);
  const labels = Object.entries(record(selector['matchLabels'])).map(([k, v]) => [k, String(v)] as [string, string]);
  if (selector['matchExpressions'] !== undefined || labels.length === 0) return { kind: 'namespace', namespace };
  return { kind: 'namespace', namespace, selector: labels };
}

/** Every Server of that name in the namespace (several files may define it; before and after an edit). */
function serversNamed(namespace: string, name: string, resources: readonly Resource[]): AttachmentScope[] {
  const servers = resources.filter((r) => r.kind === 'Server' && r.name === name && (r.namespace ?? 'default') === namespace);
  if (!servers.length) return [{ kind: 'namespace', namespace }];
  return servers.map((server) => serverScope(namespace, record(resourceValue(server)['spec'])));
}

/** A route decides only at the Servers its parentRefs name; any other parent widens to its namespace. */
function routeScopes(namespace: string, spec: Record<string, unknown>, resources: readonly Resource[]): AttachmentScope[] {
  const parents = list(spec['parentRefs']).map(record);
  if (!parents.length) return [{ kind: 'namespace', namespace }];
  return parents.flatMap((ref): AttachmentScope[] => {
    const parentNamespace = typeof ref['namespace'] === 'string' ? ref['namespace'] : namespace;
    if (ref['kind'] !== 'Server' || typeof ref['name'] !== 'string' || parentNamespace !== namespace) return [{ kind: 'namespace', namespace }, { kind: 'namespace', namespace: parentNamespace }];
    return serversNamed(namespace, ref['name'], resources);
  });
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
/** Whether a call is in any of the scopes. */
export function inAnyScope(scopes: readonly AttachmentScope[], record: AccessRecord): boolean {
  for (const scope of scopes) if (inScope(scope, record)) return true;
  return false;
}

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


function record(value: unknown): Record<string, unknown> {
  return isRecord(value) ? value : {};
}

function list(value: unknown): unknown[] {
  return Array.isArray(value) ? value : [];
}

import type { Inventory, WorkloadInfo } from '../../../inventory/inventory';
import type { Resource } from '../../../resource';
import type { SourceFile } from '../../../source/sourceFile';
import type { WorkspaceFact, WorkspaceView } from '../../check';
import { readFact, textId } from '../../facts';
import { GATEWAY_GROUP, POLICY_GROUP, arr, isRec, namespaceOf, rec, str, targetsKind, type Rec } from './common';
import { selectorMatches } from './selectors';
import { resourceValue } from '../../../resourceValue';

/** The Linkerd resources of a workspace, indexed once per workspace state (the `resources`
 * array is rebuilt whenever the workspace changes, so it keys the cache). */

export interface LinkerdItem {
  file: SourceFile;
  resource: Resource;
  value: Rec;
  kind: string;
  group: string;
  name: string;
  namespace: string;
}

export interface LinkerdModel {
  /** Every item (a check that reads them all is run again after any Linkerd edit). */
  items: LinkerdItem[];
  /** Items of a namespace, in workspace order. */
  inNamespace(namespace: string): LinkerdItem[];
  /** Items of one kind (and group) in a namespace, one per name (the first one seen: the same
   * object written in several files, or in several versions, counts once). */
  named(namespace: string, kind: string, group?: string): LinkerdItem[];
  /** The first item of that kind (and group) and name in a namespace. */
  find(namespace: string, kind: string, name: string, group?: string): LinkerdItem | undefined;
  /** The names of `named(namespace, kind, group)`. */
  names(namespace: string, kind: string, group?: string): string[];
  /** The item for a resource. */
  itemOf(resource: Resource): LinkerdItem | undefined;
  /** The model itself, untracked: what caches of derived indexes key on. */
  readonly untracked: LinkerdModel;
}

/**
 * The model of the workspace. For a check whose reads are tracked (`runChecksTracked`), a view of
 * it that records each namespace the check reads as a fact (`namespaceItems`), so that its
 * findings are kept while the Linkerd resources of those namespaces stay as they were, instead of
 * running it again after every edit. Linkerd references are namespace-local, so a check on one
 * resource reads its own namespace, and another only where a reference names it.
 */
export function linkerdModel(workspace: WorkspaceView): LinkerdModel {
  if (!workspace.fact) return modelOf(workspace.resources);
  const model = readFact(workspace, MODEL);
  const recorded = new Set<string>();
  const read = (namespace: string): void => {
    if (recorded.has(namespace)) return;
    recorded.add(namespace);
    readFact(workspace, namespaceItems(namespace));
  };
  return {
    get items() {
      readFact(workspace, ALL_ITEMS);
      return model.items;
    },
    inNamespace: (namespace) => (read(namespace), model.inNamespace(namespace)),
    named: (namespace, kind, group) => (read(namespace), model.named(namespace, kind, group)),
    find: (namespace, kind, name, group) => (read(namespace), model.find(namespace, kind, name, group)),
    names: (namespace, kind, group) => (read(namespace), model.names(namespace, kind, group)),
    itemOf: (resource) => {
      const item = model.itemOf(resource);
      if (item) read(item.namespace);
      return item;
    },
    untracked: model,
  };
}

/** The model as an index of the workspace, not a fact: its users record the namespaces they read. */
const MODEL: WorkspaceFact<LinkerdModel> = { index: true, compute: (workspace) => modelOf(workspace.resources), key: () => '' };

/** The items by file and text: a number per file path and one per admitted value (`textId`,
 * the same for the same text, which names the kind, group, name and namespace too). */
function itemsKey(items: readonly LinkerdItem[]): string {
  let key = '';
  for (const item of items) key += `${pathId(item.file.path)}.${textId(item.value)},`;
  return key;
}

const pathIds = new Map<string, number>();

function pathId(path: string): number {
  let id = pathIds.get(path);
  if (id === undefined) pathIds.set(path, (id = pathIds.size));
  return id;
}

/** The Linkerd resources of a namespace, in workspace order, by file and text (not by place:
 * no Linkerd check reports where another resource is written). */
const namespaceFacts = new Map<string, WorkspaceFact<string>>();

function namespaceItems(namespace: string): WorkspaceFact<string> {
  let fact = namespaceFacts.get(namespace);
  if (!fact) {
    fact = { compute: (workspace) => itemsKey(modelOf(workspace.resources).inNamespace(namespace)), key: (value) => value };
    namespaceFacts.set(namespace, fact);
  }
  return fact;
}

const ALL_ITEMS: WorkspaceFact<string> = { compute: (workspace) => itemsKey(modelOf(workspace.resources).items), key: (value) => value };

const cache = new WeakMap<object, LinkerdModel>();

function modelOf(resources: WorkspaceView['resources']): LinkerdModel {
  const key = resources;
  const cached = cache.get(key);
  if (cached) return cached;
  const items: LinkerdItem[] = [];
  const byResource = new Map<Resource, LinkerdItem>();
  for (const { file, resource } of resources) {
    if (resource.mesh !== 'linkerd') continue;
    const value = resourceValue(resource);
    const item: LinkerdItem = {
      file, resource, value: isRec(value) ? value : {}, kind: resource.kind, group: resource.entry.group ?? '',
      name: resource.name ?? '', namespace: namespaceOf(resource),
    };
    items.push(item);
    byResource.set(resource, item);
  }
  const byNamespace = new Map<string, LinkerdItem[]>();
  for (const item of items) {
    const list = byNamespace.get(item.namespace) ?? [];
    list.push(item);
    byNamespace.set(item.namespace, list);
  }
  const namedCache = new Map<string, LinkerdItem[]>();
  const byNameCache = new Map<string, Map<string, LinkerdItem>>();
  const namesCache = new Map<string, string[]>();
  const model: LinkerdModel = {
    items,
    inNamespace: (namespace) => byNamespace.get(namespace) ?? [],
    find(namespace, kind, name, group) {
      const k = `${namespace}\u0000${kind}\u0000${group ?? ''}`;
      let map = byNameCache.get(k);
      if (!map) {
        map = new Map(model.named(namespace, kind, group).map((i) => [i.name, i]));
        byNameCache.set(k, map);
      }
      return map.get(name);
    },
    names(namespace, kind, group) {
      const k = `${namespace}\u0000${kind}\u0000${group ?? ''}`;
      let list = namesCache.get(k);
      if (!list) {
        list = model.named(namespace, kind, group).map((i) => i.name);
        namesCache.set(k, list);
      }
      return list;
    },
    named(namespace, kind, group) {
      const k = `${namespace}\u0000${kind}\u0000${group ?? ''}`;
      let list = namedCache.get(k);
      if (!list) {
        const seen = new Set<string>();
        list = [];
        for (const item of byNamespace.get(namespace) ?? []) {
          if (item.kind !== kind || (group !== undefined && item.group !== group) || !item.name || seen.has(item.name)) continue;
          seen.add(item.name);
          list.push(item);
        }
        namedCache.set(k, list);
      }
      return list;
    },
    itemOf: (resource) => byResource.get(resource),
    get untracked() {
      return model;
    },
  };
  cache.set(key, model);
  return model;
}

export function spec(item: { value: Rec }): Rec {
  return rec(item.value['spec']);
}

/** A route kind Linkerd uses inbound: policy.linkerd.io or Gateway API HTTPRoute, Gateway API GRPCRoute. */
export function isRoute(item: LinkerdItem): boolean {
  return item.kind === 'HTTPRoute' || item.kind === 'GRPCRoute';
}

export type ParentProblem = 'namespace' | 'port' | 'sectionName';

export interface ServerParent {
  index: number;
  ref: Rec;
  name: string;
  /** Set when the policy controller rejects this parent ref (and so drops the whole route). */
  problem?: ParentProblem;
}

/** The parentRefs of a route that name a Linkerd Server, as `from_http_parent_ref` reads them.
 * The group of a policy.linkerd.io route's parentRef defaults to policy.linkerd.io, a Gateway
 * API route's to gateway.networking.k8s.io; the kind always defaults to Gateway. */
const parentsCache = new WeakMap<LinkerdItem, ServerParent[]>();

export function serverParents(item: LinkerdItem): ServerParent[] {
  const cached = parentsCache.get(item);
  if (cached) return cached;
  const out: ServerParent[] = [];
  const defaultGroup = item.group === GATEWAY_GROUP ? GATEWAY_GROUP : POLICY_GROUP;
  arr(spec(item)['parentRefs']).forEach((raw, index) => {
    if (!isRec(raw)) return;
    const ref = { ...raw, group: raw['group'] ?? defaultGroup, kind: raw['kind'] ?? 'Gateway' };
    const name = str(raw['name']);
    if (!targetsKind(ref, POLICY_GROUP, 'Server') || !name) return;
    let problem: ParentProblem | undefined;
    const namespace = str(raw['namespace']);
    if (namespace !== undefined && namespace !== item.namespace) problem = 'namespace';
    else if (raw['port'] !== undefined) problem = 'port';
    else if (raw['sectionName'] !== undefined) problem = 'sectionName';
    out.push({ index, ref: raw, name, ...(problem ? { problem } : {}) });
  });
  parentsCache.set(item, out);
  return out;
}

/** The routes attached to a Server: every route of the namespace whose Server parent refs are
 * all acceptable and one of which names the Server (names compared exactly). */
const routeIndexCache = new WeakMap<LinkerdModel, Map<string, Map<string, LinkerdItem[]>>>();

export function routesOf(model: LinkerdModel, server: LinkerdItem, kinds: string[] = ['HTTPRoute']): LinkerdItem[] {
  const index = namespaceIndex(routeIndexCache, model, server.namespace, (items) => {
    // Server name -> routes (one per group/kind/name), in workspace order.
    const byServer = new Map<string, LinkerdItem[]>();
    const seen = new Set<string>();
    for (const item of items) {
      if (!isRoute(item)) continue;
      const id = `${item.group}/${item.kind}/${item.name}`;
      if (seen.has(id)) continue;
      seen.add(id);
      const parents = serverParents(item);
      if (parents.some((p) => p.problem)) continue;
      for (const name of new Set(parents.map((p) => p.name))) {
        const list = byServer.get(name) ?? [];
        list.push(item);
        byServer.set(name, list);
      }
    }
    return byServer;
  });
  return (index.get(server.name) ?? []).filter((r) => kinds.includes(r.kind));
}

/**
 * An index of one namespace's items, built when first asked for in a model: after an edit the
 * checks that run again read the namespaces the edit touched, not every namespace. Reading it
 * records the namespace (`inNamespace` of a tracking view).
 */
function namespaceIndex<T>(cache: WeakMap<LinkerdModel, Map<string, T>>, model: LinkerdModel, namespace: string, build: (items: LinkerdItem[]) => T): T {
  const items = model.inNamespace(namespace);
  let byNamespace = cache.get(model.untracked);
  if (!byNamespace) cache.set(model.untracked, (byNamespace = new Map()));
  let index = byNamespace.get(namespace);
  if (index === undefined) byNamespace.set(namespace, (index = build(items)));
  return index;
}

/** The policy's target, as the index reads it. */
export type PolicyTarget =
  | { type: 'server'; name: string }
  | { type: 'namespace'; name: string }
  | { type: 'route'; group: string; kind: 'HTTPRoute' | 'GRPCRoute'; name: string }
  | { type: 'unsupported' };

export function policyTarget(item: { value: Rec }): PolicyTarget | undefined {
  const ref = spec(item)['targetRef'];
  if (!isRec(ref)) return undefined;
  const name = str(ref['name']) ?? '';
  if (targetsKind(ref, POLICY_GROUP, 'Server')) return { type: 'server', name };
  if (targetsKind(ref, 'core', 'Namespace')) return { type: 'namespace', name };
  if (targetsKind(ref, POLICY_GROUP, 'HTTPRoute')) return { type: 'route', group: POLICY_GROUP, kind: 'HTTPRoute', name };
  if (targetsKind(ref, GATEWAY_GROUP, 'HTTPRoute')) return { type: 'route', group: GATEWAY_GROUP, kind: 'HTTPRoute', name };
  if (targetsKind(ref, GATEWAY_GROUP, 'GRPCRoute')) return { type: 'route', group: GATEWAY_GROUP, kind: 'GRPCRoute', name };
  return { type: 'unsupported' };
}

export type AuthnRefKind = 'meshtls' | 'network' | 'serviceaccount' | 'other';

export function authnRefKind(ref: Rec): AuthnRefKind {
  if (targetsKind(ref, POLICY_GROUP, 'MeshTLSAuthentication')) return 'meshtls';
  if (targetsKind(ref, POLICY_GROUP, 'NetworkAuthentication')) return 'network';
  if (targetsKind(ref, 'core', 'ServiceAccount')) return 'serviceaccount';
  return 'other';
}

/** Whether an AuthorizationPolicy can admit a client without mesh identity (a kubelet probe):
 * it references no MeshTLSAuthentication and no ServiceAccount. Networks are not judged (the
 * node addresses probes come from are not known here). */
export function policyAdmitsUnauthenticated(item: { value: Rec }): boolean {
  const refs = spec(item)['requiredAuthenticationRefs'];
  if (!Array.isArray(refs)) return false;
  return refs.every((r) => !isRec(r) || (authnRefKind(r) !== 'meshtls' && authnRefKind(r) !== 'serviceaccount'));
}

const UNAUTHENTICATED_DEFAULTS = new Set(['all-unauthenticated', 'cluster-unauthenticated', 'audit']);

/** What authorizes traffic to a Server for every route (§2.3 step 4): ServerAuthorizations that
 * select it, AuthorizationPolicies that target it or the namespace, its accessPolicy. */
export interface ServerAuthorizations {
  policies: LinkerdItem[];
  serverAuthorizations: LinkerdItem[];
  accessPolicy: string;
  /** Some server-level authorization admits clients without mesh identity. */
  admitsUnauthenticated: boolean;
  /** No authorization at all (apart from what routes add). */
  none: boolean;
}

const authorizationsCache = new WeakMap<LinkerdItem, ServerAuthorizations>();

export function serverAuthorizations(model: LinkerdModel, server: LinkerdItem): ServerAuthorizations {
  model.inNamespace(server.namespace);
  const cached = authorizationsCache.get(server);
  if (cached) return cached;
  const policies: LinkerdItem[] = [];
  const serverAuthorizations: LinkerdItem[] = [];
  const labels = rec(rec(server.value['metadata'])['labels']) as Record<string, string>;
  policies.push(...policiesTargeting(model, server.namespace, `server/${server.namespace}/${server.name}`), ...policiesTargeting(model, server.namespace, `namespace/${server.namespace}/${server.namespace}`));
  for (const item of model.named(server.namespace, 'ServerAuthorization')) {
    const ref = rec(spec(item)['server']);
    const name = str(ref['name']);
    if ((name !== undefined && name === server.name) || (isRec(ref['selector']) && selectorMatches(ref['selector'], labels))) serverAuthorizations.push(item);
  }
  const accessPolicy = str(spec(server)['accessPolicy']) ?? 'deny';
  const admitsUnauthenticated = UNAUTHENTICATED_DEFAULTS.has(accessPolicy) || policies.some(policyAdmitsUnauthenticated) ||
    serverAuthorizations.some((s) => rec(spec(s)['client'])['unauthenticated'] === true);
  const result = { policies, serverAuthorizations, accessPolicy, admitsUnauthenticated, none: policies.length === 0 && serverAuthorizations.length === 0 && (accessPolicy === 'deny' || !ALL_DEFAULTS.has(accessPolicy)) };
  authorizationsCache.set(server, result);
  return result;
}

export const ALL_DEFAULTS = new Set(['all-unauthenticated', 'all-authenticated', 'cluster-unauthenticated', 'cluster-authenticated', 'deny', 'audit']);

const policyIndexCache = new WeakMap<LinkerdModel, Map<string, Map<string, LinkerdItem[]>>>();

/** A namespace's AuthorizationPolicies by what they target: `server/<ns>/<name>`,
 * `namespace/<ns>/<name>`, `route/<ns>/<group>/<kind>/<name>` (route kind and name in lower
 * case, as compared). Policies target within their own namespace. */
function policiesTargeting(model: LinkerdModel, namespace: string, key: string): LinkerdItem[] {
  const index = namespaceIndex(policyIndexCache, model, namespace, (items) => {
    const byTarget = new Map<string, LinkerdItem[]>();
    const seen = new Set<string>();
    for (const item of items) {
      if (item.kind !== 'AuthorizationPolicy' || !item.name) continue;
      if (seen.has(item.name)) continue;
      seen.add(item.name);
      const target = policyTarget(item);
      let k: string | undefined;
      if (target?.type === 'server') k = `server/${item.namespace}/${target.name}`;
      else if (target?.type === 'namespace') k = `namespace/${item.namespace}/${target.name}`;
      else if (target?.type === 'route') k = `route/${item.namespace}/${target.group}/${target.kind.toLowerCase()}/${target.name.toLowerCase()}`;
      if (!k) continue;
      const list = byTarget.get(k) ?? [];
      list.push(item);
      byTarget.set(k, list);
    }
    return byTarget;
  });
  return index.get(key) ?? [];
}

/** AuthorizationPolicies that target a route (group, kind and name compared case-insensitively). */
export function routePolicies(model: LinkerdModel, route: LinkerdItem): LinkerdItem[] {
  return policiesTargeting(model, route.namespace, `route/${route.namespace}/${route.group}/${route.kind.toLowerCase()}/${route.name.toLowerCase()}`);
}

const workloadsCache = new WeakMap<Inventory, Map<string, WorkloadInfo[]>>();

/** The inventory's workloads of a namespace. */
export function workloadsIn(inventory: Inventory, namespace: string): WorkloadInfo[] {
  let byNamespace = workloadsCache.get(inventory);
  if (!byNamespace) {
    byNamespace = new Map();
    for (const w of inventory.workloads) {
      const list = byNamespace.get(w.namespace) ?? [];
      list.push(w);
      byNamespace.set(w.namespace, list);
    }
    workloadsCache.set(inventory, byNamespace);
  }
  return byNamespace.get(namespace) ?? [];
}

const labelIndexCache = new WeakMap<Inventory, Map<string, Map<string, WorkloadInfo[]>>>();
const selectedCache = new WeakMap<LinkerdItem, { inventory: Inventory; workloads: WorkloadInfo[] }>();

/** The inventory workloads of the Server's namespace that its podSelector selects (through an
 * index on label pairs, so that many Servers over many workloads stay fast). */
export function selectedWorkloads(inventory: Inventory, server: LinkerdItem): WorkloadInfo[] {
  const cached = selectedCache.get(server);
  if (cached && cached.inventory === inventory) return cached.workloads;
  const selector = spec(server)['podSelector'];
  let workloads: WorkloadInfo[] = [];
  if (isRec(selector)) {
    let index = labelIndexCache.get(inventory);
    if (!index) {
      index = new Map();
      labelIndexCache.set(inventory, index);
    }
    let byLabel = index.get(server.namespace);
    if (!byLabel) {
      byLabel = new Map();
      for (const w of workloadsIn(inventory, server.namespace)) {
        for (const [k, v] of Object.entries(w.labels)) {
          const key = `${k}=${v}`;
          const list = byLabel.get(key) ?? [];
          list.push(w);
          byLabel.set(key, list);
        }
      }
      index.set(server.namespace, byLabel);
    }
    const labels = isRec(selector['matchLabels']) ? Object.entries(selector['matchLabels']) : [];
    let candidates = workloadsIn(inventory, server.namespace);
    for (const [k, v] of labels) {
      const list = byLabel.get(`${k}=${String(v)}`) ?? [];
      if (list.length < candidates.length) candidates = list;
    }
    workloads = candidates.filter((w) => selectorMatches(selector, w.labels));
  }
  selectedCache.set(server, { inventory, workloads });
  return workloads;
}

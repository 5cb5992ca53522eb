import { matchSelector, readResources, type PolicyDef, type ResourceIndex, type RouteDef, type ServerAuthorizationDef, type ServerDef } from '../../simulate/linkerd/model';
import type { MeshResources } from '../model';

type Item = MeshResources[number];

/** One resource of the workspace with what the simulator's reader makes of it. */
interface Read {
  item: Item;
  index: ResourceIndex;
}

/**
 * The Linkerd resources of `workspace` that the `selected` ones need to be read as the simulator
 * reads them: the Servers and routes their AuthorizationPolicies and ServerAuthorizations target
 * (a route's parent Servers too), the routes attached to those Servers (they decide which
 * requests the Server-level authorizations see), and the MeshTLS and Network authentications
 * the policies require. Other files' authorizations are not among them: what is translated is
 * what the selected files grant.
 */
export function linkerdReferences(selected: MeshResources, workspace: MeshResources): MeshResources {
  const chosen = new Set(selected.map((s) => s.resource));
  // (references are found by names; which install's identities the authentications name does not matter)
  const anyInstall = { controlPlaneNamespace: 'linkerd', trustDomain: 'cluster.local' };
  const reads = (list: MeshResources): Read[] => list.filter((i) => i.resource.mesh === 'linkerd').map((item) => ({ item, index: readResources([item], anyInstall) }));
  const own = reads(selected);
  const others = reads(workspace.filter((i) => !chosen.has(i.resource)));

  const servers = new Set<string>();
  const namespaces = new Set<string>();
  const serverSelectors: ServerAuthorizationDef[] = [];
  const routes = new Set<string>();
  const authentications = new Set<string>();
  const wantPolicy = (p: PolicyDef): void => {
    if (p.rejected) return;
    const t = p.target;
    if (t?.type === 'server') servers.add(`${p.namespace}/${t.name}`);
    else if (t?.type === 'namespace') namespaces.add(p.namespace);
    else if (t?.type === 'route') routes.add(routeKey(p.namespace, t.group, t.kind, t.name));
    for (const ref of p.authns) if (ref.kind !== 'serviceaccount') authentications.add(`${ref.kind}/${ref.namespace ?? p.namespace}/${ref.name}`);
  };
  const wantParents = (r: RouteDef): void => {
    for (const parent of r.parents) servers.add(`${r.namespace}/${parent}`);
  };
  for (const { index } of own) {
    for (const list of index.policies.values()) list.forEach(wantPolicy);
    for (const list of index.serverAuthorizations.values()) {
      for (const sa of list) {
        if ('name' in sa.server) servers.add(`${sa.namespace}/${sa.server.name}`);
        else serverSelectors.push(sa);
      }
    }
    for (const list of index.routes.values()) list.forEach(wantParents);
  }

  const taken = new Set<Read>();
  const routesOf = (r: Read): RouteDef[] => [...r.index.routes.values()].flat();
  // the targeted routes first: their parents are Servers to read as well
  for (const r of others) {
    const targeted = routesOf(r).filter((route) => routes.has(routeKey(route.namespace, route.group, route.kind, route.name)));
    if (targeted.length) {
      taken.add(r);
      targeted.forEach(wantParents);
    }
  }
  const isWanted = (s: ServerDef): boolean => servers.has(`${s.namespace}/${s.name}`) || namespaces.has(s.namespace)
    || serverSelectors.some((sa) => sa.namespace === s.namespace && 'selector' in sa.server && matchSelector(sa.server.selector, s.labels) === 1);
  const serverNames = new Set<string>();
  for (const r of others) {
    for (const s of [...r.index.servers.values()].flat()) {
      if (!isWanted(s)) continue;
      taken.add(r);
      serverNames.add(`${s.namespace}/${s.name}`);
    }
  }
  for (const { index } of own) for (const s of [...index.servers.values()].flat()) serverNames.add(`${s.namespace}/${s.name}`);
  for (const r of others) {
    if (routesOf(r).some((route) => route.parents.some((parent) => serverNames.has(`${route.namespace}/${parent}`)))) taken.add(r);
    for (const key of r.index.meshTLS.keys()) if (authentications.has(`meshtls/${key}`)) taken.add(r);
    for (const key of r.index.networks.keys()) if (authentications.has(`network/${key}`)) taken.add(r);
  }
  return others.filter((r) => taken.has(r)).map((r) => r.item);
}

function routeKey(namespace: string, group: string, kind: string, name: string): string {
  return `${namespace}\u0000${group.toLowerCase()}\u0000${kind.toLowerCase()}\u0000${name.toLowerCase()}`;
}

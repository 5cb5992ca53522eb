import type { WorkspaceView } from '../checks/check';
import { InventoryIndex } from '../inventory/inventoryIndex';
import { consulServiceName } from '../traffic/ingest/identity';
import type { Resource } from '../resource';
import { getEntry, getScalarString, type NodePath } from '../source/tree';
import { closestMatches, plural } from '../schema/messages';
import { policySetOf } from '../simulate';
import { ConsulPolicies, type DestinationIntentions } from '../simulate/consul';
import { EVERY_WORKLOAD, type AuthzListing, type AuthzRow, type AuthzSection, type AuthzTarget, type AuthzUnknown, type MeshAuthz } from './types';

/**
 * Consul (spec §3.3-§3.5): the intention sources for the service, from its own entry and the
 * wildcard entries (`ns/*`, `*\/*`), in the precedence order the simulator sorts them (exact
 * destination before wildcard, exact source before wildcard; ties by name). The first source
 * that matches the caller decides: its L4 action, or for an L7 source its first matching
 * permission; a caller no source matches, or an L7 request no permission matches, gets the
 * default intention policy.
 */
export function consulAuthz(workspace: WorkspaceView): MeshAuthz {
  const compiled = new ConsulPolicies(policySetOf(workspace, 'consul'));
  return {
    mesh: 'consul',
    list(target: AuthzTarget): AuthzListing | AuthzUnknown {
      const namespaces = compiled.usesNamespaces;
      const named = namedServices(compiled, namespaces);
      const known = new Set([...named, ...inventoryServices(workspace, namespaces)]);
      const asked = namespaces && target.namespace !== undefined ? `${target.namespace}/${target.name}` : target.name;
      if (!known.has(asked)) return { mesh: 'consul', unknown: asked, near: closestMatches(asked, [...known].sort()) };
      const notes: string[] = [];
      if (!namespaces && target.namespace !== undefined) notes.push(`Consul namespaces are not in use (no intention names one): "${target.namespace}" is read as a Kubernetes namespace and the service is default/${target.name}`);
      if (target.port !== undefined) notes.push('intentions apply to a service, not to a port');
      for (const entry of compiled.ignoredEntries) {
        if (entry.name === target.name || entry.name === '*' || entry.name === '') notes.push(`${entry.label} is not applied, Consul refuses to store it: ${entry.problems.join('; ')}`);
      }
      const lists = compiled.intentionsFor({ name: target.name, ...(target.namespace !== undefined ? { namespace: target.namespace } : {}) });
      const sections = lists.map((list) => section(list, compiled.defaultIntention.text));
      const injected = workspace.inventory.workloads.some((w) => w.name === target.name && w.annotations['consul.hashicorp.com/connect-inject'] === 'true');
      return { mesh: 'consul', target: asked, sections, notes, enrolled: named.has(asked) || injected };
    },
    mayApply(resource: Resource): (workload: { name: string }) => boolean {
      // spec §3.3: an entry decides for its destination service, a wildcard one for every
      // service; the editor lists a workload as the service of its name.
      const destination = resource.kind === 'ServiceIntentions' ? getScalarString(getEntry(getEntry(resource.node, 'spec')?.value, 'destination')?.value, 'name') : getScalarString(resource.node, 'Name');
      if (destination === undefined || destination === '*') return EVERY_WORKLOAD;
      return (workload) => workload.name === destination;
    },
    headline(listing: AuthzListing): string {
      // One table per definition the workspace may apply (a CRD and a config entry of the same
      // service): each is a whole answer, so the count is per table, not over all of them.
      const counts = listing.sections.map((s) => s.rows.length);
      const least = Math.min(...counts);
      const most = Math.max(0, ...counts);
      // spec §3.4: a caller no intention source matches gets the default intention policy.
      if (!most) return `Consul: no intention applies: default intention policy (${compiled.defaultIntention.action})`;
      const definitions = counts.length > 1 ? ` (${counts.length} definitions)` : '';
      return `Consul: ${least === most ? plural(most, 'intention source') : `${least}–${most} intention sources`}${definitions}`;
    },
  };
}

/** Where a Consul resource says what it attaches to (the editor's hover adds the workloads it reaches there). */
export function consulAttachesAt(kind: string, path: NodePath): boolean {
  return (kind === 'ServiceIntentions' ? path[0] === 'spec' && path[1] === 'destination' : path[0] === 'Name');
}

function section(list: DestinationIntentions, defaultText: string): AuthzSection {
  const rows = list.sources.map(({ source: s, l7, action }): AuthzRow => {
    const entry = s.entry;
    const destination = entry.name === '*' ? entry.namespace === '*' ? 'every destination (*/*)' : `every destination in namespace ${entry.namespace} (${entry.namespace}/*)` : `destination ${entry.name} (exact)`;
    const notes: string[] = [];
    if (!l7 && s.rawAction !== undefined && s.rawAction !== 'allow' && s.rawAction !== 'deny') notes.push(`Action ${JSON.stringify(s.rawAction)} reads as deny`);
    if (entry.jwt || s.permissions?.some((p) => p.jwt)) notes.push('JWT required');
    return {
      role: l7 ? 'L7' : action,
      resource: `${entry.label} ${s.label}`,
      attachment: `${destination}, source ${s.describe}`,
      detail: `precedence ${s.precedence}${l7 ? `, ${plural(s.permissions!.length, 'permission')}` : ''}`,
      notes,
      at: s.ref,
    };
  });
  const summary = [`a caller no source matches, or an L7 request no permission matches: ${defaultText}`];
  if (list.rejected) summary.unshift(list.rejected);
  const title = `intentions for ${list.label}${list.alternative ? ` (${list.alternative})` : ''}, first matching source decides`;
  return { title, rows, summary, notes: [] };
}

/**
 * The services Consul's mesh holds by the workspace: those intentions name (not wildcards) and
 * the inventory's workloads with `consul.hashicorp.com/connect-inject: "true"`, each once, as
 * `namespace/name` when Enterprise namespaces are in use, else by name (in namespace `default`).
 */
export function consulMeshServices(workspace: WorkspaceView, compiled: ConsulPolicies): Array<{ key: string; namespace: string; name: string }> {
  const namespaces = compiled.usesNamespaces;
  const out = new Map<string, { key: string; namespace: string; name: string }>();
  const add = (namespace: string, name: string): void => {
    if (name === '*' || name === '') return;
    const ns = namespaces ? namespace : 'default';
    const key = namespaces ? `${ns}/${name}` : name;
    if (!out.has(key)) out.set(key, { key, namespace: ns, name });
  };
  for (const entry of compiled.entries) {
    add(entry.namespace, entry.name);
    for (const s of entry.sources) add(s.namespace, s.name);
  }
  const index = InventoryIndex.of(workspace.inventory);
  for (const w of workspace.inventory.workloads) if (!w.owner && w.annotations['consul.hashicorp.com/connect-inject'] === 'true') add(w.namespace, consulServiceName(index, w));
  return [...out.values()].sort((a, b) => a.key.localeCompare(b.key));
}

/** The services intentions name, as destinations or sources. */
function namedServices(compiled: ConsulPolicies, namespaces: boolean): Set<string> {
  const out = new Set<string>();
  const add = (namespace: string, name: string) => { if (name !== '*' && name !== '') out.add(namespaces ? `${namespace}/${name}` : name); };
  for (const entry of compiled.entries) {
    add(entry.namespace, entry.name);
    for (const s of entry.sources) add(s.namespace, s.name);
  }
  return out;
}

/** Without Enterprise namespaces, a Kubernetes workload or Service is a Consul service of its name. */
function inventoryServices(workspace: WorkspaceView, namespaces: boolean): string[] {
  if (namespaces) return [];
  return [...workspace.inventory.workloads.filter((w) => w.kind !== 'Pod' && !w.owner).map((w) => w.name), ...workspace.inventory.services.map((s) => s.name)];
}

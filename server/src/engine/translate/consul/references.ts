import { readEntries } from '../../simulate/consul/model';
import type { MeshResources } from '../model';
import { covers } from './read';

/**
 * The intentions entries of `workspace` whose wildcard destination covers an entry of `selected`:
 * Consul merges their sources into the decision of every destination they cover (mesh-semantics
 * §3.3, §3.5), so the selected entries are read with them. What those entries decide for the
 * destinations they alone govern is theirs to translate.
 */
export function consulReferences(selected: MeshResources, workspace: MeshResources): MeshResources {
  const chosen = new Set(selected.map((s) => s.resource));
  const own = readEntries(selected.filter((r) => r.resource.mesh === 'consul'), 'default');
  const others = readEntries(workspace.filter((r) => r.resource.mesh === 'consul' && !chosen.has(r.resource)), 'default');
  return others.filter((w) => own.some((e) => covers(w, e))).map((w) => ({ file: w.file, resource: w.resource }));
}

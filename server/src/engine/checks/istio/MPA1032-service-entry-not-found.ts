import { replaceScalar } from '../../edits';
import type { Fix } from '../../findings';
import type { NodePath } from '../../source/tree';
import type { Check, CheckContext } from '../check';
import { AP, RA, closest, namespaceOf, specOf, targetRefsOf } from './util';
import { inventoryIndex } from './workspaceIndex';

/**
 * A `targetRef(s)` entry naming a ServiceEntry of the policy's namespace that the workspace does
 * not define. The simulator cannot tell which hosts such a policy covers (it decides the calls
 * the policy may reach as `unknown`, naming the entry); in a cluster without the entry the policy
 * applies nowhere. Quiet for a namespace the inventory does not mention at all (no object there,
 * ServiceEntries included: its objects are simply not in the workspace), as MPA1016 is.
 */
export const serviceEntryNotFoundCheck: Check = {
  code: 'MPA1032',
  mesh: 'istio',
  title: 'ServiceEntry not found',
  defaultSeverity: 'warning',
  upstream: 'none (istiod accepts a reference to a ServiceEntry that does not exist; the policy then applies nowhere)',
  kinds: [AP, RA],
  // (not needsInventory: ServiceEntries alone do not make an inventory present)
  run(ctx) {
    const entryRefs = targetRefsOf(specOf(ctx)).filter(({ ref }) => ref['group'] === 'networking.istio.io' && ref['kind'] === 'ServiceEntry' && typeof ref['name'] === 'string');
    if (entryRefs.length === 0) return;
    const ns = namespaceOf(ctx.resource);
    const inventory = ctx.workspace.inventory;
    const entries = (inventory.serviceEntries ?? []).filter((e) => e.namespace === ns).map((e) => e.name);
    if (entries.length === 0 && !inventoryIndex(inventory).namespaces.has(ns)) return;
    for (const { ref, path } of entryRefs) check(ctx, ref['name'] as string, [...path, 'name'], ns, entries);
  },
};

function check(ctx: CheckContext, name: string, path: NodePath, ns: string, entries: string[]): void {
  if (entries.includes(name)) return;
  const near = closest(name, entries);
  const fixes: Fix[] = [];
  const node = ctx.locate(path).node;
  if (near && node) fixes.push({ title: `Change to ${near}`, edits: [replaceScalar(ctx.file, node, near)], preferred: true });
  const known = entries.length ? `its ServiceEntries in ${ns}: ${entries.join(', ')}` : `it defines no ServiceEntry in ${ns}`;
  ctx.report(
    { path },
    `ServiceEntry ${ns}/${name} is not in the workspace (${known}): the hosts this policy covers are unknown, so the calls it may reach are simulated as unknown; in a cluster without the entry the policy applies nowhere${near ? `; did you mean ${near}?` : ''}`,
    { fixes },
  );
}

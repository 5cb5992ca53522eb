import { replaceScalar } from '../../edits';
import type { Fix } from '../../findings';
import type { NodePath } from '../../source/tree';
import type { Check, CheckContext } from '../check';
import { AP, closest, principalValuesOf } from './util';
import { inventoryIndex } from './workspaceIndex';

const PRINCIPAL = /^([^/]+)\/ns\/([^/]+)\/sa\/([^/]+)$/;

function check(ctx: CheckContext, path: NodePath, value: string): void {
  if (value.includes('*')) return;
  const match = PRINCIPAL.exec(value.replace(/^spiffe:\/\//, ''));
  if (!match) return;
  const [, trustDomain, ns, sa] = match as unknown as [string, string, string, string];
  const { config, inventory } = ctx.workspace;
  // Other trust domains belong to other meshes or clusters, which the workspace does not describe.
  if (trustDomain !== config.istio.trustDomain && trustDomain !== 'cluster.local') return;
  const known = inventoryIndex(inventory).serviceAccounts.get(ns);
  // Only namespaces whose workloads or service accounts the workspace describes.
  if (!known || known.size === 0) return;
  // Every namespace has "default"; Istio deploys Gateway API gateways as <gateway>-<class> ("-istio").
  if (known.has(sa) || sa === 'default' || sa.endsWith('-istio')) return;
  const near = closest(sa, known, sa.length > 6 ? 2 : 1);
  const node = ctx.locate(path).node;
  const fixed = near ? value.slice(0, value.length - sa.length) + near : undefined;
  const fixes: Fix[] = fixed && node ? [{ title: `Change to ${fixed}`, edits: [replaceScalar(ctx.file, node, fixed)], preferred: true }] : [];
  ctx.report({ path }, `service account ${sa} not found in namespace ${ns}: no ServiceAccount or workload in the workspace uses it, so principal ${JSON.stringify(value)} matches no caller${near ? `; did you mean ${near}?` : ''}`, { fixes });
}

/** Kiali KIA0106: the service account of a principal must exist. Needs the inventory; only
 * namespaces the inventory describes and the mesh's own trust domain are checked. */
export const principalServiceAccountCheck: Check = {
  code: 'MPA1019',
  mesh: 'istio',
  title: 'Principal names an unknown service account',
  defaultSeverity: 'warning',
  upstream: 'Kiali KIA0106 "Service Account not found for this principal"',
  kinds: [AP],
  needsInventory: true,
  run(ctx) {
    for (const { path, value } of principalValuesOf(ctx)) check(ctx, path, value);
  },
};

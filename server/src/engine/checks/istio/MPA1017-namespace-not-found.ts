import { replaceScalar } from '../../edits';
import type { Fix } from '../../findings';
import type { Check, WorkspaceFact } from '../check';
import { readFact } from '../facts';
import { AP, closest, rulesOf, sourcesOf, specOf, strings } from './util';
import { inventoryIndex, policyNamespaces } from './workspaceIndex';

const ALWAYS_PRESENT = ['default', 'kube-system', 'kube-public', 'kube-node-lease'];

/** Every namespace the workspace knows: the inventory's, those of its resources, the root
 * namespace and the ones every cluster has. */
const KNOWN_NAMESPACES: WorkspaceFact<Set<string>> = {
  compute: (workspace) => new Set([...inventoryIndex(workspace.inventory).namespaces, ...policyNamespaces(workspace.resources), workspace.config.istio.rootNamespace, ...ALWAYS_PRESENT]),
  key: (set) => [...set].join('\n'),
};

/** istioctl's namespaceMatch: `*`, one leading or trailing `*`, else a case-insensitive match. */
export function namespaceMatch(ns: string, pattern: string): boolean {
  if (pattern === '*') return true;
  if (pattern.startsWith('*')) return ns.endsWith(pattern.slice(1));
  if (pattern.endsWith('*')) return ns.startsWith(pattern.slice(0, -1));
  return ns.toLowerCase() === pattern.toLowerCase();
}

/**
 * istioctl analyze IST0101 for `namespaces` / `notNamespaces`. A workspace usually holds only
 * part of the cluster, so an unknown name is reported when the workspace lists the cluster's
 * namespaces (it has the kube-system Namespace, as `kubectl get namespaces -o yaml` does), or
 * when the name is a near miss of a known namespace. Unlike istioctl, a name that differs from
 * a namespace only in letter case is reported: Kubernetes namespaces are lower case, and the
 * runtime match is case-sensitive.
 */
export const namespaceNotFoundCheck: Check = {
  code: 'MPA1017',
  mesh: 'istio',
  title: 'Namespace not found',
  defaultSeverity: 'warning',
  upstream: 'istioctl analyze IST0101 ReferencedResourceNotFound: "Referenced namespace not found: NAME"',
  kinds: [AP],
  needsInventory: true,
  run(ctx) {
    const { inventory } = ctx.workspace;
    const known = readFact(ctx.workspace, KNOWN_NAMESPACES);
    const authoritative = inventory.namespaces.has('kube-system');
    for (const rule of rulesOf(specOf(ctx))) {
      for (const source of sourcesOf(rule)) {
        for (const field of ['namespaces', 'notNamespaces']) {
          for (const { value, index } of strings(source.source[field])) {
            if (value === '') continue;
            const path = [...source.path, field, index];
            const exact = known.has(value) || (value.includes('*') && [...known].some((ns) => namespaceMatch(ns, value)));
            if (exact) continue;
            const caseOnly = [...known].find((ns) => ns.toLowerCase() === value.toLowerCase());
            const near = caseOnly ?? (value.includes('*') ? undefined : closest(value, known, value.length > 6 ? 2 : 1));
            const node = ctx.locate(path).node;
            const fixes: Fix[] = near && node ? [{ title: `Change to ${near}`, edits: [replaceScalar(ctx.file, node, near)], preferred: true }] : [];
            if (caseOnly) {
              ctx.report({ path }, `namespace ${JSON.stringify(value)} differs from namespace ${caseOnly} in letter case: namespaces are lower case and the match is case-sensitive, so this value never matches`, { fixes });
            } else if (near) {
              ctx.report({ path }, `Referenced namespace not found: ${JSON.stringify(value)} (IST0101); did you mean ${near}?`, { fixes });
            } else if (authoritative) {
              ctx.report({ path }, `Referenced namespace not found: ${JSON.stringify(value)} (IST0101): no namespace of the cluster matches it`);
            }
          }
        }
      }
    }
  },
};

import type { Fix } from '../../findings';
import type { ObjectNode } from '../../source/tree';
import type { Check } from '../check';
import { removeEntry } from './edits';
import { AP, PA, RA, isObj, specOf } from './util';

/** istiod's validateWorkloadSelector warning (§1.9.2 WN1, §1.9.4). */
export const emptySelectorCheck: Check = {
  code: 'MPA1014',
  mesh: 'istio',
  title: 'Workload selector without labels',
  defaultSeverity: 'warning',
  upstream: 'istiod webhook warning: "workload selector specified without labels"',
  kinds: [AP, PA, RA],
  run(ctx) {
    const spec = specOf(ctx);
    const selector = spec?.['selector'];
    if (!isObj(selector)) return;
    const labels = selector['matchLabels'];
    if (isObj(labels) && Object.keys(labels).length > 0) return;
    const specNode = ctx.locate(['spec']).node;
    const edit = specNode?.type === 'object' ? removeEntry(ctx.file, specNode as ObjectNode, 'selector') : undefined;
    const fixes: Fix[] = edit ? [{ title: 'Remove the empty selector', edits: [edit], preferred: true }] : [];
    const scope = ctx.resource.kind === PA
      ? 'it counts as no selector, so this is a namespace-wide (or mesh-wide) PeerAuthentication'
      : 'it selects every workload of the namespace (of the mesh, in the root namespace), exactly as leaving the selector out';
    ctx.report({ path: ['spec', 'selector'], part: 'key' }, `workload selector specified without labels: ${scope}; remove it, or add matchLabels`, { fixes });
  },
};

import { renderScalar, spanEdit } from '../../edits';
import type { Fix } from '../../findings';
import { matchesLabels } from '../../inventory/inventory';
import { getEntry } from '../../source/tree';
import type { Check } from '../check';
import { AP, RA, hasTargetRefs, matchLabelsOf, namespaceOf, specOf } from './util';
import { inventoryIndex } from './workspaceIndex';

const GATEWAY_NAME = 'gateway.networking.k8s.io/gateway-name';

/**
 * istioctl analyze IST0166 (k8sgateway/selector.go): a `selector` that picks the pods of a
 * Kubernetes Gateway API gateway. Waypoints ignore selector policies, and gateways only honour
 * them while ENABLE_SELECTOR_BASED_K8S_GATEWAY_POLICY is on; targetRefs is the supported way.
 * Conservative: reported when the selector names the gateway label itself, or (with an
 * inventory) when it matches a pod that carries it.
 */
export const gatewaySelectorCheck: Check = {
  code: 'MPA1026',
  mesh: 'istio',
  title: 'Selector on a Gateway API gateway',
  defaultSeverity: 'warning',
  upstream: 'istioctl analyze IST0166 IneffectiveSelector: "Ineffective selector on Kubernetes Gateway NAME. Use the TargetRef field instead."',
  kinds: [AP, RA],
  run(ctx) {
    const spec = specOf(ctx);
    const selector = matchLabelsOf(spec);
    if (!selector || Object.keys(selector).length === 0 || hasTargetRefs(spec)) return;
    let gateway: string | undefined = selector[GATEWAY_NAME];
    let sameNamespace = true;
    const { inventory, config } = ctx.workspace;
    const ns = namespaceOf(ctx.resource);
    if (gateway === undefined && inventory.present) {
      const candidates = ns === config.istio.rootNamespace ? inventory.workloads : inventoryIndex(inventory).workloadsByNamespace.get(ns) ?? [];
      const pod = candidates.find((w) => w.labels[GATEWAY_NAME] !== undefined && matchesLabels(selector, w.labels));
      gateway = pod?.labels[GATEWAY_NAME];
      sameNamespace = pod?.namespace === ns;
    }
    if (gateway === undefined) return;
    const entry = getEntry(ctx.locate(['spec']).node, 'selector');
    const fixes: Fix[] = [];
    if (entry && sameNamespace && ctx.file.format !== 'hcl') {
      let end = entry.value.span.end;
      while (end > entry.keySpan.end && /\s/.test(ctx.file.text[end - 1]!)) end--;
      const name = renderScalar(ctx.file.format, gateway);
      const text = ctx.file.format === 'json'
        ? `"targetRefs": [{"group": "gateway.networking.k8s.io", "kind": "Gateway", "name": ${JSON.stringify(gateway)}}]`
        : `targetRefs: [{group: gateway.networking.k8s.io, kind: Gateway, name: ${name}}]`;
      fixes.push({ title: `Replace the selector with targetRefs to Gateway ${gateway}`, edits: [spanEdit(ctx.file, { start: entry.keySpan.start, end }, text)] });
    }
    ctx.report({ path: ['spec', 'selector'], part: 'key' },
      `Ineffective selector on Kubernetes Gateway ${gateway} (IST0166): waypoints ignore selector-based policies and gateways honour them only while ENABLE_SELECTOR_BASED_K8S_GATEWAY_POLICY is on; use targetRefs: [{group: gateway.networking.k8s.io, kind: Gateway, name: ${gateway}}] instead`, { fixes });
  },
};

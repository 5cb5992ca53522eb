import type { NodePath } from '../../source/tree';
import type { Check } from '../check';
import { isAmbient, waypointPrincipal } from '../../istio/ambient';
import { ambientScope, serviceWaypointOf, type WaypointRef } from './ambient';
import { actionOf, AP, conditionsOf, hasTargetRefs, rulesOf, sourcesOf, specOf, strings, whenKey, type RuleItem } from './util';
import { stringMatch as istioMatch, withoutSpiffe } from '../../istio/match';

/**
 * Where the rule constrains the caller's identity (principals, namespaces, or their conditions)
 * in a way the waypoint's identity cannot satisfy: the path of the first such field, or
 * undefined when some source (and the conditions) can match the waypoint, or the rule does not
 * look at identities this way (no `from`, `serviceAccounts`, negative forms).
 */
function clientOnlyIdentity(rule: RuleItem, principal: string, namespace: string): NodePath | undefined {
  const sources = sourcesOf(rule);
  let first: NodePath | undefined;
  let anySourceAdmits = sources.length === 0;
  for (const source of sources) {
    const s = source.source;
    if (s['serviceAccounts'] !== undefined || s['notServiceAccounts'] !== undefined) return undefined;
    const principals = strings(s['principals']).map((p) => withoutSpiffe(p.value));
    const namespaces = strings(s['namespaces']).map((n) => n.value);
    const admits = (principals.length === 0 || principals.some((p) => istioMatch(p, principal))) && (namespaces.length === 0 || namespaces.some((n) => istioMatch(n, namespace)));
    if (admits) anySourceAdmits = true;
    else first ??= [...source.path, principals.length !== 0 && !principals.some((p) => istioMatch(p, principal)) ? 'principals' : 'namespaces'];
  }
  for (const condition of conditionsOf(rule)) {
    const key = whenKey(condition.condition);
    if (key !== 'source.principal' && key !== 'source.namespace') continue;
    const values = strings(condition.condition['values']).map((v) => (key === 'source.principal' ? withoutSpiffe(v.value) : v.value));
    if (values.length !== 0 && !values.some((v) => istioMatch(v, key === 'source.principal' ? principal : namespace))) return [...condition.path, 'key'];
  }
  return anySourceAdmits ? undefined : first;
}

/**
 * In ambient mode, a call through a waypoint reaches the pod as a connection from the waypoint:
 * the destination's ztunnel, which enforces the policies without targetRefs, sees the waypoint's
 * identity, not the client's (Istio's ambient L4 policy docs: selector or namespace policy behind
 * a waypoint, source identity: the waypoint). A rule of such a policy that names client identities
 * the waypoint's does not satisfy matches only calls that skip the waypoint.
 */
export const clientIdentityBehindWaypointCheck: Check = {
  code: 'MPA1033',
  mesh: 'istio',
  title: 'Client identity checked by ztunnel behind a waypoint',
  defaultSeverity: 'warning',
  upstream: 'Istio docs, ambient "Layer 4 authorization policy": behind a waypoint, selector and namespace policies see the waypoint as the source',
  kinds: [AP],
  needsInventory: true,
  run(ctx) {
    const spec = specOf(ctx);
    if (hasTargetRefs(spec)) return;
    const action = actionOf(spec);
    if (action !== 'ALLOW' && action !== 'DENY') return;
    const { workloads, namespaceLabels } = ambientScope(ctx, spec);
    const behind = new Map<string, { waypoint: WaypointRef; workloads: string[] }>();
    for (const w of workloads) {
      // a pod its controller stands for is named by the controller
      if (w.kind === 'Pod' && w.owner) continue;
      const waypoint = isAmbient(w.labels, namespaceLabels) ? serviceWaypointOf(ctx, w, namespaceLabels) : undefined;
      if (!waypoint) continue;
      const key = `${waypoint.ns}/${waypoint.name}`;
      const entry = behind.get(key) ?? { waypoint, workloads: [] };
      entry.workloads.push(w.name);
      behind.set(key, entry);
    }
    const trustDomain = ctx.workspace.config.istio.trustDomain;
    for (const rule of rulesOf(spec)) {
      for (const [key, { waypoint, workloads: names }] of behind) {
        const identity = waypointPrincipal(trustDomain, waypoint);
        const at = clientOnlyIdentity(rule, identity, waypoint.ns);
        if (!at) continue;
        const effect = action === 'ALLOW'
          ? `so this rule allows only the calls that skip the waypoint (addressed to a pod): the callers it names are denied when they come through it. Attach the rule to the Service with targetRefs, so that the waypoint checks the caller, and let ztunnel admit ${identity}`
          : 'so this DENY rule does not stop the callers it names when they come through the waypoint, only calls that skip it. Attach it to the Service (or the waypoint) with targetRefs as well, so that the waypoint checks the caller';
        const sorted = [...new Set(names)].sort();
        ctx.report({ path: at, part: 'key' }, `rules[${rule.index}] checks the caller's identity, but ${sorted.join(', ')} ${sorted.length === 1 ? 'is' : 'are'} behind the waypoint ${key}: calls through it reach ztunnel with the waypoint's identity ${identity}, ${effect}`);
        break;
      }
    }
  },
};

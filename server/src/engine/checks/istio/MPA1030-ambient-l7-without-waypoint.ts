import type { NodePath } from '../../source/tree';
import type { Check } from '../check';
import { ambientScope, serviceWaypointOf } from './ambient';
import { actionOf, AP, conditionsOf, hasTargetRefs, operationsOf, rulesOf, sourcesOf, specOf, whenKey } from './util';
import { chooseWaypoint } from '../../istio/ambient';

/** What ztunnel treats as HTTP (mesh-semantics §1.7, ambient): it cannot enforce these. */
const ZTUNNEL_HTTP_OPERATION_FIELDS = ['hosts', 'notHosts', 'methods', 'notMethods', 'paths', 'notPaths'];
const ZTUNNEL_HTTP_SOURCE_FIELDS = ['requestPrincipals', 'notRequestPrincipals', 'remoteIpBlocks', 'notRemoteIpBlocks'];
const ZTUNNEL_L4_WHEN_KEYS = new Set(['source.ip', 'source.namespace', 'source.principal', 'destination.ip', 'destination.port']);

/**
 * In ambient mode a policy without targetRefs is enforced by ztunnel, which sees only L4. An ALLOW
 * rule with an HTTP attribute is dropped (it allows nothing); a DENY rule loses its HTTP
 * attributes and, when nothing else constrains it, never matches. L7 rules need a waypoint and a
 * policy attached to it with targetRefs.
 */
export const ambientL7WithoutWaypointCheck: Check = {
  code: 'MPA1030',
  mesh: 'istio',
  title: 'L7 rule enforced by ztunnel (ambient, no waypoint policy)',
  defaultSeverity: 'warning',
  upstream: 'istiod status message for ztunnel policies with HTTP attributes (pilot/pkg/serviceregistry/ambient/authorization.go)',
  kinds: [AP],
  needsInventory: true,
  run(ctx) {
    const spec = specOf(ctx);
    if (hasTargetRefs(spec)) return;
    const action = actionOf(spec) ?? 'ALLOW';
    if (action !== 'ALLOW' && action !== 'DENY') return;
    const { ns, ambient, namespaceLabels, workloads, ztunnelWorkloads } = ambientScope(ctx, spec);
    if (!ambient) return;
    // (a gateway or a pod with a sidecar is an Envoy proxy: it enforces the L7 rules itself)
    const envoyWorkloads = workloads.filter((w) => !ztunnelWorkloads.includes(w));
    const forWhom = envoyWorkloads.length ? ` for ${ztunnelWorkloads.map((w) => `${w.namespace}/${w.name}`).join(', ')} (${envoyWorkloads.map((w) => `${w.namespace}/${w.name}`).join(', ')}, with an Envoy proxy of its own, enforce${envoyWorkloads.length === 1 ? 's' : ''} them)` : '';
    // the waypoint the selected workloads' Services (or the namespace) already use, if any
    const serviceWaypoint = ztunnelWorkloads.map((w) => serviceWaypointOf(ctx, w, namespaceLabels)).find((w) => w !== undefined);
    const namespaceChoice = chooseWaypoint(ctx.workspace.inventory, ns, undefined, namespaceLabels, true);
    const used = serviceWaypoint ?? (namespaceChoice.kind === 'named' ? namespaceChoice : undefined);
    const waypoint = used?.name;
    const named = used && used.ns !== ns ? `${used.ns}/${used.name}` : waypoint;
    const waypointOwner = serviceWaypoint ? `the selected workloads' Services use waypoint ${named}` : `namespace ${ns} uses waypoint ${named}`;
    for (const rule of rulesOf(spec)) {
      const http: { field: string; path: NodePath }[] = [];
      let hasL4 = false;
      for (const source of sourcesOf(rule)) {
        for (const field of Object.keys(source.source)) {
          if (ZTUNNEL_HTTP_SOURCE_FIELDS.includes(field)) http.push({ field, path: [...source.path, field] });
          else hasL4 = true;
        }
      }
      for (const operation of operationsOf(rule)) {
        for (const field of Object.keys(operation.operation)) {
          if (ZTUNNEL_HTTP_OPERATION_FIELDS.includes(field)) http.push({ field, path: [...operation.path, field] });
          else hasL4 = true;
        }
      }
      for (const condition of conditionsOf(rule)) {
        const key = whenKey(condition.condition);
        if (key === undefined) continue;
        if (ZTUNNEL_L4_WHEN_KEYS.has(key)) hasL4 = true;
        else http.push({ field: `when ${key}`, path: [...condition.path, 'key'] });
      }
      if (http.length === 0) continue;
      const names = [...new Set(http.map((h) => h.field))].join(', ');
      const remedy = waypoint
        ? `${waypointOwner}: attach this policy to it with targetRefs (kind Gateway, name ${waypoint}) so the waypoint enforces the L7 rules`
        : `deploy a waypoint (istioctl waypoint apply -n ${ns} --enroll-namespace) and attach the policy to it with targetRefs`;
      const effect = action === 'ALLOW'
        ? 'ztunnel drops this ALLOW rule, so it allows nothing'
        : hasL4 ? 'ztunnel drops those attributes and enforces the rule on its L4 fields alone, which denies more than written' : 'ztunnel drops those attributes, and a DENY rule left with no constraint never matches: it has no effect';
      ctx.report({ path: http[0]!.path, part: 'key' }, `rules[${rule.index}] uses ${names}, which ztunnel cannot see: in ambient mode a policy without targetRefs is enforced by ztunnel (L4 only)${forWhom}; ${effect}. To enforce L7 rules, ${remedy}`);
    }
  },
};

import type { AccessRecord } from '../../traffic/accessRecord';
import type { Decision, Denier } from '../types';

/**
 * What Consul's proxies log for an RBAC denial names the kind of filter Consul built, and so the
 * default intention policy in force (hashicorp/consul agent/xds/rbac.go): under a default of deny
 * the filter is an allow-list, whose denials log `rbac_access_denied_matched_policy[none]`; under
 * allow it is a deny-list of `consul-intentions-layer4` (the L4 deny sources) and
 * `consul-intentions-layer7-<i>` (one per L7 source, `<i>` its position among the retained
 * sources: `ConsulPolicies.layer7Indexes`), which a denial names.
 */
const CONSUL_RBAC_DENIAL = /^rbac_access_denied_matched_policy\[(none|consul-intentions-layer(?:4|7-\d+))\]$/;

/** The deny-list policy every L4 deny source joins. */
export const LAYER4_POLICY = 'consul-intentions-layer4';
export const LAYER4_DENIAL: Denier = { kind: 'policy', policyId: LAYER4_POLICY };

/** The denier a Consul proxy would log for a call the simulation denies by RBAC, when the
 * simulator has not named the deny-list policy itself (`policyId` `consul-intentions`: one of them). */
export function consulDenier(defaultAction: 'allow' | 'deny'): Denier {
  return defaultAction === 'deny' ? ALLOW_LIST_DENIAL : DENY_LIST_DENIAL;
}
const ALLOW_LIST_DENIAL: Denier = { kind: 'no-allow' };
const DENY_LIST_DENIAL: Denier = { kind: 'policy', policyId: 'consul-intentions' };

/**
 * When a Consul log's RBAC denial shows a filter of the other kind than the one the workspace's
 * default intention policy builds (or the simulation allows the call), or names another policy of
 * the deny-list than the one the simulated denial comes from: one sentence that says both.
 * Undefined when they agree, when the log names no RBAC policy, or when the simulation cannot
 * decide.
 */
export function consulObservedDifference(decision: Decision, record: AccessRecord): string | undefined {
  if (record.observed !== 'denied') return undefined;
  const logged = CONSUL_RBAC_DENIAL.exec(record.response?.details ?? '')?.[1];
  if (logged === undefined || (decision.verdict !== 'allow' && decision.verdict !== 'deny')) return undefined;
  const allowList = logged === 'none';
  const simulated = decision.verdict === 'deny' ? decision.deniedBy : undefined;
  if (simulated !== undefined && (simulated.kind === 'no-allow') === allowList) {
    const named = simulated.policyId;
    if (allowList || named === undefined || !named.startsWith('consul-intentions-layer') || named === logged) return undefined;
    return `observed: denied by ${logged} of the proxy's RBAC deny-list; simulated: ${decision.reason}, which Consul puts in ${named}${logged === LAYER4_POLICY || named === LAYER4_POLICY ? '' : ' (the index counts the destination\'s retained sources in precedence order, so the cluster\'s intentions for it differ from the workspace\'s)'}`;
  }
  const said = allowList
    ? 'denied by the proxy\'s RBAC allow-list ([none]: no allow intention matched), which Consul builds when the default intention policy is deny'
    : `denied by a deny intention of the proxy's RBAC deny-list (${logged}), which Consul builds when the default intention policy is allow`;
  return `observed: ${said}; simulated: ${decision.reason}`;
}

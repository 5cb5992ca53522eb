import type { AccessRecord } from '../../traffic/accessRecord';
import { DENIED_BY_NO_ALLOW, istioDeniedBy } from '../../traffic/formats/denial';
import type { Decision, Denier } from '../types';

/**
 * PeerAuthentications istiod converts to DENY policies for ztunnel, which ztunnel names when it
 * rejects a plaintext connection: a mesh- or namespace-wide STRICT mode as one static policy in
 * the root namespace, a workload's as `converted_peer_authentication_<name>` in its namespace
 * (istiod's ambient controller: staticStrictPolicyName, convertedPeerAuthenticationPrefix).
 */
const STATIC_STRICT = 'istio_converted_static_strict';
const CONVERTED_PEER_AUTHENTICATION = 'converted_peer_authentication_';

/** What an Istio log names as the denier (`response.deniedBy`). */
export function observedDenier(deniedBy: string): Denier {
  if (deniedBy === DENIED_BY_NO_ALLOW) return { kind: 'no-allow' };
  const slash = deniedBy.indexOf('/');
  if (slash < 0) return { kind: 'policy', name: deniedBy };
  const namespace = deniedBy.slice(0, slash);
  const name = deniedBy.slice(slash + 1);
  if (name === STATIC_STRICT) return { kind: 'peer-authentication' };
  if (name.startsWith(CONVERTED_PEER_AUTHENTICATION)) return { kind: 'peer-authentication', namespace, name: name.slice(CONVERTED_PEER_AUTHENTICATION.length) };
  return { kind: 'policy', namespace, name };
}

function sameDenier(observed: Denier, simulated: Denier | undefined): boolean {
  if (simulated === undefined || observed.kind !== simulated.kind) return false;
  // (a mesh-wide STRICT mode is named without the PeerAuthentication's own name)
  if (observed.name === undefined) return true;
  return observed.namespace === simulated.namespace && observed.name === simulated.name;
}

function describeDenier(d: Denier, logged: string): string {
  switch (d.kind) {
    case 'no-allow': return 'denied: ALLOW policies apply and none allowed the call';
    case 'peer-authentication': return `denied by ${logged}, a PeerAuthentication requiring mutual TLS (converted to a DENY policy for ztunnel)`;
    default: return `denied by ${logged}`;
  }
}

/**
 * When the log names the policy that denied the call and the simulation decides otherwise
 * (allows, or denies by another policy or for another reason): one sentence that says both,
 * "observed: denied by ns/p; simulated: ...". Undefined when they agree, when the log names no
 * denier, or when the simulation cannot decide.
 */
export function istioObservedDifference(decision: Decision, record: AccessRecord): string | undefined {
  if (record.observed !== 'denied') return undefined;
  // (an access record written by hand or by another tool may carry the RBAC details alone)
  const logged = record.response?.deniedBy ?? istioDeniedBy(record.response?.details);
  if (logged === undefined) return undefined;
  if (decision.verdict !== 'allow' && decision.verdict !== 'deny') return undefined;
  const observed = observedDenier(logged);
  if (decision.verdict === 'deny' && sameDenier(observed, decision.deniedBy)) return undefined;
  return `observed: ${describeDenier(observed, logged)}; simulated: ${decision.reason}`;
}

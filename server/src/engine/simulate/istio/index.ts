import type { AccessRecord } from '../../traffic/accessRecord';
import type { CompiledPolicies, Decision, MeshSimulator, PolicySet } from '../types';
import { IstioCompiledPolicies } from './evaluate';
export type { AttachedPolicy, AttachedRequestAuthentication, CallAuthentication, CallPeerAuthentication, CallTokenCheck, EnforcementPoint, PeerLevel, LayerKind, PeerAuthenticationAt, PeerModeAnswer } from './evaluate';
import { istioObservedDifference } from './observed';

/** Compiled Istio policies: `decide` (short trace) plus `explain` (the full walkthrough). */
export interface IstioCompiled extends CompiledPolicies {
  /** The same decision as `decide(call)`, with the full walkthrough in `trace`. */
  explain(call: AccessRecord): Decision;
}

/**
 * The Istio simulator: decides each observed call as Istio's proxies would (sidecar, gateway,
 * waypoint, ztunnel), following ../shared/spec/mesh-semantics.md §1 and §4.
 */
export interface IstioSimulator extends MeshSimulator {
  compile(policies: PolicySet): IstioCompiled;
}

export const istioSimulator: IstioSimulator = {
  mesh: 'istio',
  compile(policies: PolicySet): IstioCompiled {
    return new IstioCompiledPolicies(policies);
  },
  observedDifference: istioObservedDifference,
};

export { IstioCompiledPolicies };

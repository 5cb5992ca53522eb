import type { AccessRecord } from '../../traffic/accessRecord';
import type { CompiledPolicies, Decision, MeshSimulator, PolicySet } from '../types';
import { LinkerdPolicies, type LinkerdClusterOptions } from './evaluate';
import { LinkerdFold } from './fold';
import { linkerdObservedDifference } from './observed';
import { probeDigest } from './pod';

/**
 * The Linkerd simulator: decides each observed call the way the destination's proxy and the
 * policy controller would (spec §2: Server selection per pod and port, default inbound policy,
 * ServerAuthorization / AuthorizationPolicy / MeshTLSAuthentication / NetworkAuthentication,
 * HTTPRoute and GRPCRoute matching with 404 when no route matches, audit).
 *
 * - `decide(call)` is the fast path: a short walkthrough built from steps prepared at compile
 *   time (Server or default policy, route, each authorization tried, verdict).
 * - `explain(call)` gives the full walkthrough: how the destination pod was found, every Server
 *   considered and why it was skipped, every route that did not match and why, the call's
 *   identity and IP against each authorization. Same verdict as `decide`.
 *
 * See README.md next to this file for the mapping to the spec and the deviations.
 */

export interface LinkerdCompiled extends CompiledPolicies {
  decide(call: AccessRecord): Decision;
  /** The full walkthrough for one call (slower; for `mesh-policy explain` and hovers). */
  explain(call: AccessRecord): Decision;
  /** Problems with the cluster settings (unparseable networks). */
  problems: readonly string[];
}

export interface LinkerdSimulator extends MeshSimulator {
  compile(policies: PolicySet): LinkerdCompiled;
}

export function createLinkerdSimulator(options: LinkerdClusterOptions = {}): LinkerdSimulator {
  return {
    mesh: 'linkerd',
    fileInputs: probeDigest,
    observedDifference: linkerdObservedDifference,
    compile(policies: PolicySet): LinkerdCompiled {
      const compiled = new LinkerdPolicies(policies, options);
      return {
        decide: (call) => compiled.decide(call, false),
        explain: (call) => compiled.decide(call, true),
        fold: () => new LinkerdFold(compiled),
        notInEffect: () => compiled.notInEffect(),
        problems: compiled.problems,
      };
    },
  };
}

export const linkerdSimulator: LinkerdSimulator = createLinkerdSimulator();

export type { LinkerdClusterOptions } from './evaluate';

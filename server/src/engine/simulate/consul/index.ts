import { jwtProviderDigest } from '../../consul/jwtProviders';
import { meshEntryDigest } from '../../consul/meshEntries';
import { agentConfigDigest } from '../../consul/agentConfig';
import type { SourceFile } from '../../source/sourceFile';
import type { MeshSimulator, PolicySet } from '../types';
import { ConsulPolicies } from './compile';
import { consulObservedDifference } from './observed';
import type { ConsulSimulatorOptions } from './options';

export { ConsulPolicies, type DestinationIntentions } from './compile';
export type { ConsulSimulatorOptions } from './options';
export type { RequestNormalization } from './http';

/**
 * The Consul simulator (spec §3): decides each observed call as the Envoy RBAC filter that Consul
 * builds from service intentions would. See ./README.md for the spec mapping, the options and
 * the deviations.
 *
 * `compile()` returns a `ConsulPolicies`, which besides `decide(call)` offers `explain(call)` (the
 * same verdict with the full walkthrough) and `intentionCheck(src, dst)` (`consul intention check`).
 */
export interface ConsulSimulator extends MeshSimulator {
  compile(policies: PolicySet): ConsulPolicies;
  fileInputs(file: SourceFile): string;
}

export function createConsulSimulator(options: ConsulSimulatorOptions = {}): ConsulSimulator {
  return {
    mesh: 'consul',
    observedDifference: consulObservedDifference,
    compile(policies: PolicySet): ConsulPolicies {
      return new ConsulPolicies(policies, options);
    },
    fileInputs: (file) => [jwtProviderDigest(file), meshEntryDigest(file), agentConfigDigest(file)].filter((d) => d !== '').join('\n'),
  };
}

export const consulSimulator: ConsulSimulator = createConsulSimulator();

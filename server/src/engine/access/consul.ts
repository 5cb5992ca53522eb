import { consulMeshServices } from '../authz/consul';
import type { WorkspaceView } from '../checks/check';
import { destinationProtocols, isHttpLike } from '../checks/consul/workspaceIndex';
import { policySetOf, type Simulation } from '../simulate';
import { ConsulPolicies } from '../simulate/consul';
import { CellCalls } from './call';
import type { AccessCaller, AccessDestination, MeshAccessSpace } from './types';

/**
 * Consul: intentions apply to services, not ports, and every caller in the mesh has an identity.
 * Callers and destinations are the services the intentions name and the connect-injected
 * workloads; a destination's protocol is what its service-defaults (or the global
 * proxy-defaults) set, and with none the simulator decides both ways.
 */
export function consulAccessSpace(workspace: WorkspaceView, simulation: Pick<Simulation, 'identityNamespace' | 'compiledFor'>): MeshAccessSpace {
  // (the simulation's compiled intentions when it has them: they are not compiled again)
  const compiled = simulation.compiledFor('consul');
  const policies = compiled instanceof ConsulPolicies ? compiled : new ConsulPolicies(policySetOf(workspace, 'consul'));
  const services = consulMeshServices(workspace, policies);
  // (without Enterprise namespaces every service is in `default`, and named alone)
  const keyOf = (identity: { namespace: string; name: string }) => (policies.usesNamespaces ? `${identity.namespace}/${identity.name}` : identity.name);
  const calls = new CellCalls('consul', workspace.config, simulation);
  return {
    mesh: 'consul',
    callers: () => services.map((s): AccessCaller => ({ key: s.key, identity: { namespace: s.namespace, name: s.name }, workloads: [] })),
    caller: (identity) => ({ key: keyOf(identity), identity: { namespace: identity.namespace, name: identity.name }, workloads: [] }),
    destinations: () => services.map((s): AccessDestination => {
      const protocols = new Set(destinationProtocols(workspace, s).declarations.map((d) => (isHttpLike(d.protocol) ? 'http' : 'tcp')));
      const [only] = protocols;
      return { key: s.key, namespace: s.namespace, name: s.name, ...(protocols.size === 1 && only ? { protocol: only } : {}) };
    }),
    call: (caller, destination, request) => calls.record(caller, destination, request),
  };
}

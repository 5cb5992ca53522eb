import type { WorkspaceView } from '../checks/check';
import type { WorkloadInfo } from '../inventory/inventory';
import { policySetOf, type Simulation } from '../simulate';
import { LinkerdPolicies } from '../simulate/linkerd/evaluate';
import { CellCalls, identityCaller, identityCallers } from './call';
import type { AccessDestination, MeshAccessSpace } from './types';

/**
 * Linkerd: callers are the service accounts of the meshed workloads, and a caller without
 * identity (an unmeshed client); destinations are the ports the proxy would see calls on, as the
 * simulator finds them (declared container ports and the ports Servers select). The protocol is
 * left to the simulator, which reads the Server's `proxyProtocol` and decides both ways where
 * the proxy detects it.
 */
export function linkerdAccessSpace(workspace: WorkspaceView, simulation: Pick<Simulation, 'identityNamespace'>, enrolled: readonly WorkloadInfo[]): MeshAccessSpace {
  const compiled = new LinkerdPolicies(policySetOf(workspace, 'linkerd'));
  const calls = new CellCalls('linkerd', workspace.config, simulation);
  return {
    mesh: 'linkerd',
    callers: () => identityCallers(enrolled.map((w) => ({ namespace: w.namespace, name: w.name, identity: w.serviceAccount || 'default' })), true),
    caller: identityCaller,
    destinations: () => enrolled.flatMap((w): AccessDestination[] => {
      const base = { namespace: w.namespace, name: w.name };
      const ports = compiled.inboundPorts({ namespace: w.namespace, workload: w.name })?.ports.map((p) => p.port) ?? [];
      if (!ports.length) return [{ key: `${w.namespace}/${w.name}`, ...base }];
      return ports.sort((a, b) => a - b).map((port) => {
        const name = w.ports.find((p) => p.containerPort === port)?.name;
        return { key: `${w.namespace}/${w.name}:${port}`, ...base, port, ...(name ? { portName: name } : {}) };
      });
    }),
    call: (caller, destination, request) => calls.record(caller, destination, request),
  };
}

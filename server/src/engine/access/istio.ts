import type { WorkspaceView } from '../checks/check';
import type { WorkloadInfo } from '../inventory/inventory';
import { InventoryIndex } from '../inventory/inventoryIndex';
import type { Simulation } from '../simulate';
import { servicePorts } from '../translate/istio/ports';
import { CellCalls, identityCaller, identityCallers } from './call';
import type { AccessDestination, MeshAccessSpace } from './types';

/**
 * Istio: callers are the service accounts of the workloads in the mesh (sidecar or ambient),
 * and a caller without identity; destinations are each workload's ports, with the protocol the
 * Services forwarding to them declare (protocol selection by `appProtocol` or port name); a port
 * no Service declares is sniffed, so the simulator decides it as HTTP and as TCP.
 */
export function istioAccessSpace(workspace: WorkspaceView, simulation: Pick<Simulation, 'identityNamespace'>, enrolled: readonly WorkloadInfo[]): MeshAccessSpace {
  const index = InventoryIndex.of(workspace.inventory);
  const calls = new CellCalls('istio', workspace.config, simulation);
  return {
    mesh: 'istio',
    callers: () => identityCallers(enrolled.map((w) => ({ namespace: w.namespace, name: w.name, identity: w.serviceAccount || 'default' })), true),
    caller: identityCaller,
    destinations: () => enrolled.flatMap((w) => workloadPorts(index, w)),
    call: (caller, destination, request) => calls.record(caller, destination, request),
  };
}

function workloadPorts(index: InventoryIndex, w: WorkloadInfo): AccessDestination[] {
  // the ports Services forward to, with what they declare, then the other container ports
  const ports = servicePorts(index, w);
  for (const p of w.ports) {
    if (p.protocol.toUpperCase() === 'UDP') continue;
    const found = ports.get(p.containerPort);
    if (!found) ports.set(p.containerPort, { protocols: new Set(), ...(p.name ? { name: p.name } : {}) });
    else if (p.name) found.name = p.name;
  }
  const base = { namespace: w.namespace, name: w.name };
  if (!ports.size) {
    const [service] = index.servicesFor(w);
    return [{ key: `${w.namespace}/${w.name}`, ...base, ...(service ? { service: service.name } : {}) }];
  }
  return [...ports].sort(([a], [b]) => a - b).map(([port, { name, service, protocols }]) => {
    const [only] = protocols;
    const protocol = protocols.size === 1 && only !== 'unknown' ? only : undefined;
    return {
      key: `${w.namespace}/${w.name}:${port}`, ...base, port, ...(name ? { portName: name } : {}), ...(service ? { service } : {}),
      ...(protocol ? { protocol } : { protocolNote: 'protocol detected' }),
    };
  });
}

import type { WorkspaceView } from '../checks/check';
import type { WorkloadInfo } from '../inventory/inventory';
import { InventoryIndex } from '../inventory/inventoryIndex';
import type { Simulation } from '../simulate';
import { declaredPortProtocol, type PortProtocol } from '../translate/istio/ports';
import { CellCalls, identityCallers } from './call';
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
    destinations: () => enrolled.flatMap((w) => workloadPorts(index, w)),
    call: (caller, destination, request) => calls.record(caller, destination, request),
  };
}

function workloadPorts(index: InventoryIndex, w: WorkloadInfo): AccessDestination[] {
  const ports = new Map<number, { name?: string; service?: string; protocols: Set<PortProtocol> }>();
  const entry = (port: number) => {
    let found = ports.get(port);
    if (!found) ports.set(port, (found = { protocols: new Set() }));
    return found;
  };
  for (const p of w.ports) {
    if (p.protocol.toUpperCase() === 'UDP') continue;
    const found = entry(p.containerPort);
    if (p.name) found.name ??= p.name;
  }
  for (const service of index.servicesFor(w)) {
    for (const sp of service.ports) {
      if (sp.protocol.toUpperCase() === 'UDP') continue;
      for (const resolved of index.targetPort(service, sp.port)) {
        const found = entry(resolved.containerPort);
        found.protocols.add(declaredPortProtocol(sp));
        if (sp.name) found.name ??= sp.name;
        found.service ??= service.name;
      }
    }
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

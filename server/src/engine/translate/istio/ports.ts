import { InventoryIndex } from '../../inventory/inventoryIndex';
import { isAmbient } from '../../istio/ambient';
import type { ServicePort, WorkloadInfo } from '../../inventory/inventory';
import type { TranslationContext, Workloads } from '../model';

/**
 * Whether Istio's sidecar handles the ports of some workloads as HTTP or as TCP, by what the
 * inventory's Services declare (protocol selection: the port's `appProtocol`, else its name
 * `<protocol>[-<suffix>]`). `http`, `http2`, `grpc`, `grpc-web` are HTTP; `https` and `tls`
 * (the sidecar does not decrypt them), `tcp`, `mongo`, `mysql`, `redis` are TCP; anything else is
 * sniffed, so unknown here.
 */
export type PortProtocol = 'http' | 'tcp' | 'unknown';

const HTTP = new Set(['http', 'http2', 'grpc', 'grpc-web', 'h2c', 'kubernetes.io/h2c']);
const TCP = new Set(['tcp', 'tls', 'https', 'mongo', 'mysql', 'redis']);

/** The protocol a Service port declares by its `appProtocol` or name (`unknown`: left to sniffing). */
function declaredPortProtocol(port: ServicePort): PortProtocol {
  const name = port.appProtocol?.toLowerCase() ?? port.name?.toLowerCase().split('-')[0] ?? '';
  const full = port.appProtocol?.toLowerCase() ?? port.name?.toLowerCase() ?? '';
  if (HTTP.has(name) || full.startsWith('grpc-web')) return 'http';
  if (TCP.has(name)) return 'tcp';
  return 'unknown';
}

/**
 * The protocol of the target's ports (only `ports` when given): `tcp` when one of them is
 * declared TCP, `http` when every one is declared HTTP, else `unknown` (no workload or Service
 * in the inventory, or a port left to sniffing).
 */
export function targetProtocol(context: TranslationContext, target: Workloads, ports: readonly number[] | undefined): PortProtocol {
  const inventory = context.inventory;
  const index = InventoryIndex.of(inventory);
  const byPort = new Map<number, Set<PortProtocol>>();
  for (const w of workloadsOf(context, target)) {
    for (const [port, declared] of servicePorts(index, w)) {
      const set = byPort.get(port) ?? new Set();
      for (const protocol of declared.protocols) set.add(protocol);
      byPort.set(port, set);
    }
  }
  const relevant = ports ?? [...byPort.keys()];
  if (relevant.length === 0) return 'unknown';
  let all = true;
  for (const port of relevant) {
    const protocols = byPort.get(port);
    if (protocols?.has('tcp')) return 'tcp';
    if (!protocols || protocols.size !== 1 || !protocols.has('http')) all = false;
  }
  return all ? 'http' : 'unknown';
}

/** A container port that Services forward to: the protocols they declare for it, the first Service port's name, and that Service. */
export interface ServiceForwardedPort {
  protocols: Set<PortProtocol>;
  name?: string;
  service?: string;
}

/** The workload's container ports that the inventory's Services forward TCP ports to (UDP left out), by container port. */
export function servicePorts(index: InventoryIndex, w: WorkloadInfo): Map<number, ServiceForwardedPort> {
  const ports = new Map<number, ServiceForwardedPort>();
  for (const service of index.servicesFor(w)) {
    for (const port of service.ports) {
      if (port.protocol.toUpperCase() === 'UDP') continue;
      for (const resolved of index.targetPort(service, port.port)) {
        let found = ports.get(resolved.containerPort);
        if (!found) ports.set(resolved.containerPort, (found = { protocols: new Set(), service: service.name, ...(port.name ? { name: port.name } : {}) }));
        found.protocols.add(declaredPortProtocol(port));
        if (port.name) found.name ??= port.name;
      }
    }
  }
  return ports;
}

/** Whether the inventory puts some of the target's workloads in ambient mode (ztunnel enforces their policies at L4). */
export function ambientTarget(context: TranslationContext, target: Workloads): boolean {
  const namespaces = context.inventory.namespaces;
  return workloadsOf(context, target).some((w) => isAmbient(w.labels, namespaces.get(w.namespace)?.labels));
}

function workloadsOf(context: TranslationContext, target: Workloads): WorkloadInfo[] {
  const selects = (labels: Record<string, string>) => Object.entries(target.labels ?? {}).every(([k, v]) => labels[k] === v);
  return context.inventory.workloads.filter((w) => (target.namespace === '*' || w.namespace === target.namespace) && selects(w.labels));
}

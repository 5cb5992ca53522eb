import type { ContainerPort, WorkloadInfo } from '../../../inventory/inventory';
import { fileProbes, workloadKey, type FileProbes, type HttpProbe } from '../../../inventory/probes';
import type { WorkspaceFact, WorkspaceView } from '../../check';
import { readFact } from '../../facts';
import { workspaceFile } from './common';

/** The named TCP ports the Linkerd proxy container adds at injection: a Server may select them
 * although the workload's manifest does not declare them. */
export const PROXY_PORTS: Record<string, number> = { 'linkerd-admin': 4191, 'linkerd-proxy': 4143 };

/** The proxy's own probes, added at injection on its admin port. */
export const PROXY_PROBE_PATHS = ['/live', '/ready'];
export const PROXY_ADMIN_PORT = 4191;

/**
 * The workload's httpGet probes (`inventory/probes.ts`), read through a workspace fact per
 * manifest file: the inventory does not keep probes, so a check that reads them is asked again
 * when its file's probes change (an edit that leaves the inventory as it was), not on every edit.
 */
export function workloadProbes(workspace: WorkspaceView, workload: WorkloadInfo): HttpProbe[] {
  return readFact(workspace, probeFact(workload.file)).byWorkload.get(workloadKey(workload.kind, workload.span)) ?? [];
}

function probeFact(path: string): WorkspaceFact<FileProbes> {
  let fact = probeFacts.get(path);
  if (!fact) probeFacts.set(path, (fact = { compute: (ws) => probesOf(ws, path), key: (probes) => probes.key }));
  return fact;
}

const probeFacts = new Map<string, WorkspaceFact<FileProbes>>();
const NO_PROBES: FileProbes = { byWorkload: new Map(), key: '' };

function probesOf(workspace: WorkspaceView, path: string): FileProbes {
  const file = workspace.sourceFile(path) ?? workspaceFile(workspace, path);
  return file ? fileProbes(file) : NO_PROBES;
}

/** The workload's container ports and those of its init containers (native sidecars), which the
 * policy controller counts among a pod's named ports (workload.rs `pod_tcp_ports_by_name`) and the
 * inventory does not keep: read like its probes, through a fact per manifest file. */
export function workloadPorts(workspace: WorkspaceView, workload: WorkloadInfo): ContainerPort[] {
  const init = readFact(workspace, probeFact(workload.file)).initPorts?.get(workloadKey(workload.kind, workload.span));
  return init ? [...workload.ports, ...init] : workload.ports;
}

/** The port numbers a Server's `port` selects on a workload with these container ports: a number
 * selects itself, a name every TCP port of that name (plus the proxy's own named ports). */
export function selectedPorts(ports: readonly ContainerPort[], port: unknown): number[] {
  if (typeof port === 'number') return [port];
  if (typeof port !== 'string') return [];
  const numbers = ports.filter((p) => p.name === port && p.protocol.toUpperCase() === 'TCP').map((p) => p.containerPort);
  if (PROXY_PORTS[port] !== undefined) numbers.push(PROXY_PORTS[port]);
  return [...new Set(numbers)];
}

/** Whether the workload is declared with a Linkerd proxy disabled. */
export function injectionDisabled(workload: WorkloadInfo): boolean {
  return workload.annotations['linkerd.io/inject'] === 'disabled';
}

export function describeWorkload(workload: WorkloadInfo): string {
  return `${workload.kind} ${workload.name}`;
}

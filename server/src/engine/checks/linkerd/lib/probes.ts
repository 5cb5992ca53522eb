import type { WorkloadInfo } from '../../../inventory/inventory';
import { toValue, type ObjectNode } from '../../../source/tree';
import type { WorkspaceFact, WorkspaceView } from '../../check';
import { readFact } from '../../facts';
import type { SourceFile } from '../../../source/sourceFile';
import { arr, isRec, objectAtSpan, str, workspaceFile, type Rec } from './common';

/** HTTP probes of a workload, the way the policy controller collects them
 * (linkerd/linkerd2:policy-controller/k8s/index/src/inbound/workload.rs `pod_http_probes`):
 * liveness, readiness and startup probes with `httpGet`, of containers and init containers, the
 * port resolved by number or by a TCP port name of the same container, the path without its
 * query. The inventory does not record probes, so they are read from the workload's own
 * source, which the workspace holds. */

export interface HttpProbe {
  container: string;
  type: 'liveness' | 'readiness' | 'startup';
  port: number;
  /** The path as the kubelet sends it (query included). */
  path: string;
}

/** The named TCP ports the Linkerd proxy container adds at injection: a Server may select them
 * although the workload's manifest does not declare them. */
export const PROXY_PORTS: Record<string, number> = { 'linkerd-admin': 4191, 'linkerd-proxy': 4143 };

/** The proxy's own probes, added at injection on its admin port. */
export const PROXY_PROBE_PATHS = ['/live', '/ready'];
export const PROXY_ADMIN_PORT = 4191;

function podSpecOf(kind: string, node: ObjectNode): Rec | undefined {
  const value = toValue(node);
  if (!isRec(value)) return undefined;
  const specValue = value['spec'];
  if (!isRec(specValue)) return undefined;
  if (kind === 'Pod') return specValue;
  if (kind === 'CronJob') {
    const job = specValue['jobTemplate'];
    const template = isRec(job) && isRec(job['spec']) ? job['spec']['template'] : undefined;
    return isRec(template) && isRec(template['spec']) ? template['spec'] : undefined;
  }
  const template = specValue['template'];
  return isRec(template) && isRec(template['spec']) ? template['spec'] : undefined;
}

/**
 * The workload's probes, read as a workspace fact: the inventory does not keep them, so a check
 * that reads them is asked again when they change (an edit of the manifest that leaves the
 * inventory as it was), not on every edit.
 */
export function workloadProbes(workspace: WorkspaceView, workload: WorkloadInfo): HttpProbe[] {
  let fact = probeFacts.get(workload);
  if (!fact) probeFacts.set(workload, (fact = { compute: (ws) => readProbes(ws, workload), key: (probes) => JSON.stringify(probes) }));
  return readFact(workspace, fact);
}

const probeFacts = new WeakMap<WorkloadInfo, WorkspaceFact<HttpProbe[]>>();
/** Per file read (a file is not changed once read) and workload span, its probes. */
const probesByFile = new WeakMap<SourceFile, Map<string, HttpProbe[]>>();

function readProbes(workspace: WorkspaceView, workload: WorkloadInfo): HttpProbe[] {
  const file = workspace.sourceFile(workload.file) ?? workspaceFile(workspace, workload.file);
  if (!file) return [];
  let bySpan = probesByFile.get(file);
  if (!bySpan) probesByFile.set(file, (bySpan = new Map()));
  const spanKey = `${workload.kind}\u0000${workload.span.start}:${workload.span.end}`;
  let probes = bySpan.get(spanKey);
  if (probes) return probes;
  probes = [];
  const node = objectAtSpan(file, workload.span);
  const podSpec = node ? podSpecOf(workload.kind, node) : undefined;
  if (podSpec) {
    for (const container of [...arr(podSpec['containers']), ...arr(podSpec['initContainers'])]) {
      if (!isRec(container)) continue;
      const named = new Map<string, number>();
      for (const port of arr(container['ports'])) {
        if (!isRec(port) || typeof port['name'] !== 'string') continue;
        const protocol = str(port['protocol']) ?? 'TCP';
        if (protocol.toUpperCase() === 'TCP') named.set(port['name'].toLowerCase(), Number(port['containerPort']));
      }
      for (const type of ['liveness', 'readiness', 'startup'] as const) {
        const probe = container[`${type}Probe`];
        const httpGet = isRec(probe) ? probe['httpGet'] : undefined;
        if (!isRec(httpGet)) continue;
        const rawPort = httpGet['port'];
        const port = typeof rawPort === 'number' ? rawPort : typeof rawPort === 'string' ? named.get(rawPort.toLowerCase()) : undefined;
        if (port === undefined || !Number.isInteger(port) || port < 1 || port > 65535) continue;
        probes.push({ container: str(container['name']) ?? '', type, port, path: str(httpGet['path']) ?? '/' });
      }
    }
  }
  bySpan.set(spanKey, probes);
  return probes;
}

/** The port numbers a Server's `port` selects on a workload: a number selects itself, a name
 * every TCP container port of that name (plus the proxy's own named ports). */
export function selectedPorts(workload: WorkloadInfo, port: unknown): number[] {
  if (typeof port === 'number') return [port];
  if (typeof port !== 'string') return [];
  const numbers = workload.ports.filter((p) => p.name === port && p.protocol.toUpperCase() === 'TCP').map((p) => p.containerPort);
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

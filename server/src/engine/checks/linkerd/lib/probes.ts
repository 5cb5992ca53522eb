import { WORKLOAD_KINDS, type WorkloadInfo } from '../../../inventory/inventory';
import { getScalarString, toValue, type ObjectNode } from '../../../source/tree';
import type { WorkspaceFact, WorkspaceView } from '../../check';
import { readFact } from '../../facts';
import type { SourceFile } from '../../../source/sourceFile';
import { topLevelObjects } from '../../../source/topLevelObjects';
import { arr, isRec, str, workspaceFile, type Rec } from './common';

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
 * The workload's probes, read through a workspace fact per file: the inventory does not keep
 * probes, so a check that reads them is asked again when its file's probes change (an edit of a
 * manifest that leaves the inventory as it was), not on every edit.
 */
export function workloadProbes(workspace: WorkspaceView, workload: WorkloadInfo): HttpProbe[] {
  let fact = probeFacts.get(workload.file);
  if (!fact) probeFacts.set(workload.file, (fact = { compute: (ws) => fileProbes(ws, workload.file), key: (probes) => probes.key }));
  return readFact(workspace, fact).byObject.get(objectKey(workload.kind, workload.span)) ?? [];
}

/** The probes of a file's workload objects, by kind and span, and all of them as text. */
interface FileProbes {
  byObject: Map<string, HttpProbe[]>;
  key: string;
}

const probeFacts = new Map<string, WorkspaceFact<FileProbes>>();
/** Per file read (a file is not changed once read). */
const probesOfFile = new WeakMap<SourceFile, FileProbes>();
const NO_PROBES: FileProbes = { byObject: new Map(), key: '' };

function objectKey(kind: string, span: { start: number; end: number }): string {
  return `${kind}\u0000${span.start}:${span.end}`;
}

function fileProbes(workspace: WorkspaceView, path: string): FileProbes {
  const file = workspace.sourceFile(path) ?? workspaceFile(workspace, path);
  if (!file) return NO_PROBES;
  let probes = probesOfFile.get(file);
  if (!probes) {
    const byObject = new Map<string, HttpProbe[]>();
    for (const node of topLevelObjects(file)) {
      const kind = getScalarString(node, 'kind');
      if (kind !== undefined && WORKLOAD_KINDS.has(kind)) byObject.set(objectKey(kind, node.span), readProbes(kind, node));
    }
    probesOfFile.set(file, (probes = { byObject, key: JSON.stringify([...byObject]) }));
  }
  return probes;
}


function readProbes(kind: string, node: ObjectNode): HttpProbe[] {
  const probes: HttpProbe[] = [];
  const podSpec = podSpecOf(kind, node);
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

import type { SourceDocument, SourceFile } from '../source/sourceFile';
import { documentObjects } from '../source/topLevelObjects';
import { admittedValue, getScalarString, type ObjectNode } from '../source/tree';
import { documentOrigin } from '../source/yamlReader';
import { containerPort, portNumber, WORKLOAD_KINDS, type ContainerPort } from './inventory';

/**
 * HTTP probes of workloads, the way the Linkerd policy controller collects them
 * (linkerd/linkerd2:policy-controller/k8s/index/src/inbound/workload.rs `pod_http_probes`):
 * liveness, readiness and startup probes with `httpGet`, of containers and init containers, the
 * port given by number or by a TCP port name of the same container (case-insensitive). The
 * inventory does not keep probes, so they are read from the manifests, once per file version.
 * Read by the Linkerd simulator (the probe routes) and by MPA2013.
 */
export interface HttpProbe {
  container: string;
  type: 'liveness' | 'readiness' | 'startup';
  port: number;
  /** The path as the kubelet sends it (query included). */
  path: string;
}

/** A file's workload objects with a pod spec that can be read, by `workloadKey`, with their
 * probes; and all of them as text, which differs when any probe (or its object's place) does. */
export interface FileProbes {
  byWorkload: Map<string, HttpProbe[]>;
  /** The ports of init containers (native sidecars), which the inventory does not keep, by
   * `workloadKey`; only workloads that have some. */
  initPorts?: Map<string, ContainerPort[]>;
  key: string;
}

/** Where a workload object is: its kind and span in the file (as the inventory declares it). */
export function workloadKey(kind: string, span: { start: number; end: number }): string {
  return `${kind}\u0000${span.start}:${span.end}`;
}

const byFile = new WeakMap<SourceFile, FileProbes>();
/** Per parsed document (the YAML cache's, shared by every placement of the same text): its
 * workloads' kinds, spans from the document's start, and probes. */
const byParse = new WeakMap<SourceDocument, { kind: string; start: number; end: number; probes: HttpProbe[]; initPorts: ContainerPort[] }[]>();

/** The probes of every workload object in the file. A document placed from the YAML cache is read
 * in its cached parse, once, so a file with many documents costs one lookup each per version. */
export function fileProbes(file: SourceFile): FileProbes {
  let found = byFile.get(file);
  if (found) return found;
  const byWorkload = new Map<string, HttpProbe[]>();
  const initPorts = new Map<string, ContainerPort[]>();
  for (const document of file.documents) {
    const origin = documentOrigin(document);
    const parsed = origin?.parsed ?? document;
    let workloads = byParse.get(parsed);
    if (!workloads) {
      workloads = [];
      for (const node of documentObjects(parsed)) {
        const kind = getScalarString(node, 'kind');
        const podSpec = kind !== undefined && WORKLOAD_KINDS.has(kind) ? readPodSpec(kind, node) : undefined;
        if (podSpec) workloads.push({ kind: kind!, start: node.span.start, end: node.span.end, probes: readProbes(podSpec), initPorts: readInitPorts(podSpec) });
      }
      if (origin) byParse.set(parsed, workloads);
    }
    const offset = origin?.offset ?? 0;
    for (const w of workloads) {
      const key = workloadKey(w.kind, { start: w.start + offset, end: w.end + offset });
      byWorkload.set(key, w.probes);
      if (w.initPorts.length) initPorts.set(key, w.initPorts);
    }
  }
  found = { byWorkload, initPorts, key: byWorkload.size ? JSON.stringify([...byWorkload, ...initPorts]) : '' };
  byFile.set(file, found);
  return found;
}

type Rec = Record<string, unknown>;
const isRec = (v: unknown): v is Rec => typeof v === 'object' && v !== null && !Array.isArray(v);
const arr = (v: unknown): unknown[] => (Array.isArray(v) ? v : []);
const str = (v: unknown): string | undefined => (typeof v === 'string' ? v : undefined);

function podSpecOf(kind: string, value: Rec): Rec | undefined {
  const spec = value['spec'];
  if (!isRec(spec)) return undefined;
  if (kind === 'Pod') return spec;
  if (kind === 'CronJob') {
    const job = spec['jobTemplate'];
    const template = isRec(job) && isRec(job['spec']) ? job['spec']['template'] : undefined;
    return isRec(template) && isRec(template['spec']) ? template['spec'] : undefined;
  }
  const template = spec['template'];
  return isRec(template) && isRec(template['spec']) ? template['spec'] : undefined;
}

/** Undefined when the pod spec cannot be read. */
function readPodSpec(kind: string, node: ObjectNode): Rec | undefined {
  const value = admittedValue(node);
  return isRec(value) ? podSpecOf(kind, value) : undefined;
}

function readInitPorts(podSpec: Rec): ContainerPort[] {
  const ports: ContainerPort[] = [];
  for (const container of arr(podSpec['initContainers'])) {
    if (!isRec(container)) continue;
    for (const p of arr(container['ports'])) {
      const found = isRec(p) ? containerPort(p) : undefined;
      if (found) ports.push(found);
    }
  }
  return ports;
}

function readProbes(podSpec: Rec): HttpProbe[] {
  const probes: HttpProbe[] = [];
  for (const container of [...arr(podSpec['containers']), ...arr(podSpec['initContainers'])]) {
    if (!isRec(container)) continue;
    for (const type of ['liveness', 'readiness', 'startup'] as const) {
      const probe = container[`${type}Probe`];
      const httpGet = isRec(probe) ? probe['httpGet'] : undefined;
      if (!isRec(httpGet)) continue;
      const rawPort = httpGet['port'];
      let port: number | undefined;
      if (typeof rawPort === 'number') port = rawPort;
      else if (typeof rawPort === 'string') {
        for (const p of arr(container['ports'])) {
          if (!isRec(p) || typeof p['name'] !== 'string') continue;
          const protocol = str(p['protocol']) ?? 'TCP';
          if (protocol.toUpperCase() === 'TCP' && p['name'].toLowerCase() === rawPort.toLowerCase()) { port = Number(p['containerPort']); break; }
        }
      }
      const valid = portNumber(port);
      if (valid === undefined) continue;
      probes.push({ container: str(container['name']) ?? '', type, port: valid, path: str(httpGet['path']) ?? '/' });
    }
  }
  return probes;
}

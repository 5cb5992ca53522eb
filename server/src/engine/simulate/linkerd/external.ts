import { portNumber, type Declared } from '../../inventory/inventory';
import type { SourceFile } from '../../source/sourceFile';
import { documentObjects } from '../../source/topLevelObjects';
import { admittedValue, getScalarString } from '../../source/tree';
import { documentOrigin } from '../../source/yamlReader';

/**
 * ExternalWorkloads (`workload.linkerd.io`): workloads outside Kubernetes that run a Linkerd
 * proxy. The policy controller indexes them like pods (linkerd/linkerd2:policy-controller/k8s/
 * index/src/inbound/index.rs, workload.rs `external_tcp_ports_by_name`): their labels for a
 * Server's `externalWorkloadSelector`, their named TCP ports, their own annotations. The
 * inventory does not keep them, so they are read from the workspace's files.
 */
export interface ExternalWorkloadInfo extends Declared {
  namespace: string;
  name: string;
  labels: Record<string, string>;
  annotations: Record<string, string>;
  /** TCP ports: by name (those with a name) and all numbers. */
  namedPorts: Map<string, number[]>;
  ports: number[];
  ips: string[];
}

export interface ExternalWorkloadIndex {
  byName: Map<string, ExternalWorkloadInfo>;
  byIp: Map<string, ExternalWorkloadInfo>;
  files: Set<string>;
  /** Everything the views read from them: equal keys, equal views. */
  key: string;
}

const byFile = new WeakMap<SourceFile, ExternalWorkloadInfo[]>();

export function indexExternalWorkloads(files: Iterable<SourceFile>): ExternalWorkloadIndex {
  const index: ExternalWorkloadIndex = { byName: new Map(), byIp: new Map(), files: new Set(), key: '' };
  const all: ExternalWorkloadInfo[] = [];
  for (const file of files) {
    for (const w of fileExternalWorkloads(file)) {
      const name = externalKey(w.namespace, w.name);
      if (index.byName.has(name)) continue;
      index.byName.set(name, w);
      for (const ip of w.ips) if (!index.byIp.has(ip)) index.byIp.set(ip, w);
      index.files.add(w.file);
      all.push(w);
    }
  }
  index.key = all.length ? JSON.stringify(all.map((w) => [w.file, w.span, w.namespace, w.name, w.labels, w.annotations, [...w.namedPorts], w.ports, w.ips])) : '';
  return index;
}

export function externalKey(namespace: string, name: string): string {
  return `${namespace}\u0000${name}`;
}

function fileExternalWorkloads(file: SourceFile): ExternalWorkloadInfo[] {
  let found = byFile.get(file);
  if (found) return found;
  found = [];
  // Most files hold none: skip them without walking their documents.
  if (file.text.includes('ExternalWorkload')) {
    for (const document of file.documents) {
      const origin = documentOrigin(document);
      const offset = origin?.offset ?? 0;
      for (const node of documentObjects(origin?.parsed ?? document)) {
        if (getScalarString(node, 'kind') !== 'ExternalWorkload') continue;
        const value = admittedValue(node);
        if (!isRec(value) || !String(value['apiVersion'] ?? '').startsWith('workload.linkerd.io/')) continue;
        const w = readExternalWorkload(value, file.path, { start: node.span.start + offset, end: node.span.end + offset });
        if (w) found.push(w);
      }
    }
  }
  byFile.set(file, found);
  return found;
}

function readExternalWorkload(value: Rec, file: string, span: Declared['span']): ExternalWorkloadInfo | undefined {
  const metadata = isRec(value['metadata']) ? value['metadata'] : {};
  const spec = isRec(value['spec']) ? value['spec'] : {};
  const name = str(metadata['name']);
  if (!name) return undefined;
  const namedPorts = new Map<string, number[]>();
  const ports: number[] = [];
  for (const raw of arr(spec['ports'])) {
    if (!isRec(raw)) continue;
    const port = portNumber(raw['port']);
    const protocol = str(raw['protocol']) ?? 'TCP';
    if (port === undefined || protocol.toUpperCase() !== 'TCP') continue;
    ports.push(port);
    const portName = str(raw['name']);
    if (portName) namedPorts.set(portName, [...(namedPorts.get(portName) ?? []), port]);
  }
  const ips = arr(spec['workloadIPs']).map((ip) => (isRec(ip) ? str(ip['ip']) : undefined)).filter((ip): ip is string => ip !== undefined);
  return {
    file, span, name, namespace: str(metadata['namespace']) ?? 'default',
    labels: stringMap(metadata['labels']), annotations: stringMap(metadata['annotations']),
    namedPorts, ports, ips,
  };
}

type Rec = Record<string, unknown>;
const isRec = (v: unknown): v is Rec => typeof v === 'object' && v !== null && !Array.isArray(v);
const arr = (v: unknown): unknown[] => (Array.isArray(v) ? v : []);
const str = (v: unknown): string | undefined => (typeof v === 'string' ? v : undefined);

function stringMap(v: unknown): Record<string, string> {
  const out: Record<string, string> = {};
  if (isRec(v)) for (const [k, x] of Object.entries(v)) if (typeof x === 'string') out[k] = x;
  return out;
}

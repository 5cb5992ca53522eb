import { renderScalar } from './edits';
import type { Inventory } from './inventory/inventory';
import type { Mesh } from './meshes';
import type { SourceFormat } from './source/sourceFile';
import type { NodePath } from './source/tree';
import type { TrafficShape } from './traffic/ingest/types';

/**
 * Values seen in the traffic and the inventory, for completion ("completion from reality"):
 * who called (in each mesh's identity form), what was called, and the labels that select it.
 */

export interface ObservedValue {
  value: string;
  /** Calls that carried the value (0 for values known only from the inventory). */
  calls: number;
  /** Selector labels: the namespaces of the workloads that carry it. */
  namespaces?: string[];
}

export interface ObservedValues {
  /** Istio principals, `<trust domain>/ns/<ns>/sa/<sa>`. */
  istioPrincipals: ObservedValue[];
  /** Linkerd identities, `<sa>.<ns>.serviceaccount.identity.<control plane ns>.<trust domain>`. */
  linkerdIdentities: ObservedValue[];
  /** Consul service names (callers and destinations). */
  consulServices: ObservedValue[];
  namespaces: ObservedValue[];
  serviceAccounts: ObservedValue[];
  /** Request paths without the query string. */
  paths: ObservedValue[];
  /** Every segment prefix of the paths, ending in `/` (`/v1/carts/`). */
  pathPrefixes: ObservedValue[];
  methods: ObservedValue[];
  /** Destination ports, as strings. */
  ports: ObservedValue[];
  hosts: ObservedValue[];
  /** `key=value` of workload labels (inventory and destinations). */
  selectorLabels: ObservedValue[];
}

export interface ObservedOptions {
  /** Istio trust domain for principals built from inventory service accounts; default cluster.local. */
  istioTrustDomain?: string;
  /** Linkerd identity suffix after `<sa>.<ns>.serviceaccount.identity.`; default linkerd.cluster.local. */
  linkerdIdentitySuffix?: string;
  /** Most values kept per kind; default 200. */
  maxPerKind?: number;
}

class Counter {
  private readonly counts = new Map<string, number>();
  private readonly namespaces = new Map<string, Set<string>>();
  add(value: string | number | undefined | null, calls: number, namespace?: string): void {
    if (value === undefined || value === null || value === '') return;
    const key = String(value);
    this.counts.set(key, (this.counts.get(key) ?? 0) + calls);
    if (namespace) {
      const set = this.namespaces.get(key) ?? new Set();
      this.namespaces.set(key, set.add(namespace));
    }
  }
  values(max: number): ObservedValue[] {
    return [...this.counts].map(([value, calls]): ObservedValue => {
      const namespaces = this.namespaces.get(value);
      return namespaces ? { value, calls, namespaces: [...namespaces] } : { value, calls };
    }).sort((a, b) => b.calls - a.calls || (a.value < b.value ? -1 : a.value > b.value ? 1 : 0)).slice(0, max);
  }
}

/** Labels that every pod of a controller carries and nobody selects on. */
const GENERATED_LABELS = new Set(['pod-template-hash', 'controller-revision-hash', 'statefulset.kubernetes.io/pod-name', 'security.istio.io/tlsMode']);

export function trafficCompletionValues(shapes: readonly TrafficShape[], inventory: Inventory, options: ObservedOptions = {}): ObservedValues {
  const trustDomain = options.istioTrustDomain ?? 'cluster.local';
  const linkerdSuffix = options.linkerdIdentitySuffix ?? 'linkerd.cluster.local';
  const max = options.maxPerKind ?? 200;
  const c = {
    istio: new Counter(), linkerd: new Counter(), consul: new Counter(), namespaces: new Counter(), serviceAccounts: new Counter(),
    paths: new Counter(), prefixes: new Counter(), methods: new Counter(), ports: new Counter(), hosts: new Counter(), labels: new Counter(),
  };
  for (const shape of shapes) {
    const { record, count } = shape;
    const source = record.source ?? {};
    const principal = source.principal ?? undefined;
    const consul = record.mesh === 'consul' || /\/svc\/[^/]+$/.test(principal ?? '');
    if (consul) {
      c.consul.add(source.service ?? /\/svc\/([^/]+)$/.exec(principal ?? '')?.[1], count);
      c.consul.add(record.destination?.service, count);
    } else if (principal) {
      if (record.mesh === 'linkerd' || /\.serviceaccount\.identity\./.test(principal)) c.linkerd.add(principal, count);
      else c.istio.add(principal.replace(/^spiffe:\/\//, ''), count);
    }
    c.namespaces.add(source.namespace, count);
    c.namespaces.add(record.destination?.namespace, count);
    c.serviceAccounts.add(source.serviceAccount, count);
    const path = record.request?.path?.split('?')[0];
    if (path) {
      c.paths.add(path, count);
      const segments = path.split('/');
      for (let i = 2; i < segments.length; i++) c.prefixes.add(`${segments.slice(0, i).join('/')}/`, count);
    }
    c.methods.add(record.request?.method, count);
    c.ports.add(record.destination?.port, count);
    c.hosts.add(record.request?.host, count);
    for (const [k, v] of Object.entries(record.destination?.labels ?? {})) if (!GENERATED_LABELS.has(k)) c.labels.add(`${k}=${v}`, count, record.destination?.namespace);
  }
  for (const account of inventory.serviceAccounts) {
    c.serviceAccounts.add(account.name, 0);
    c.namespaces.add(account.namespace, 0);
    c.istio.add(`${trustDomain}/ns/${account.namespace}/sa/${account.name}`, 0);
    c.linkerd.add(`${account.name}.${account.namespace}.serviceaccount.identity.${linkerdSuffix}`, 0);
  }
  for (const name of inventory.namespaces.keys()) c.namespaces.add(name, 0);
  for (const workload of inventory.workloads) {
    c.namespaces.add(workload.namespace, 0);
    for (const [k, v] of Object.entries(workload.labels)) if (!GENERATED_LABELS.has(k)) c.labels.add(`${k}=${v}`, 0, workload.namespace);
    for (const port of workload.ports) c.ports.add(port.containerPort, 0);
  }
  for (const service of inventory.services) c.hosts.add(`${service.name}.${service.namespace}.svc.cluster.local`, 0);
  return {
    istioPrincipals: c.istio.values(max), linkerdIdentities: c.linkerd.values(max), consulServices: c.consul.values(max),
    namespaces: c.namespaces.values(max), serviceAccounts: c.serviceAccounts.values(max), paths: c.paths.values(max),
    pathPrefixes: c.prefixes.values(max), methods: c.methods.values(max), ports: c.ports.values(max), hosts: c.hosts.values(max),
    selectorLabels: c.labels.values(max),
  };
}

/** Values that fit the field at `path` (the resource's path to the value or list item), per mesh; selector labels of `namespace`'s workloads first. */
export function observedFor(mesh: Mesh, path: NodePath, observed: ObservedValues, namespace?: string): ObservedValue[] {
  const keys = path.filter((s): s is string => typeof s === 'string');
  const key = keys[keys.length - 1] ?? '';
  const parent = keys[keys.length - 2] ?? '';
  const lower = key.toLowerCase().replace(/_/g, '');
  if (parent === 'matchLabels' || parent === 'labels') {
    const labels = observed.selectorLabels.filter((l) => l.value.startsWith(`${key}=`));
    const here = (l: ObservedValue) => namespace !== undefined && l.namespaces?.includes(namespace) === true;
    return [...labels.filter(here), ...labels.filter((l) => !here(l))].map((l) => ({ value: l.value.slice(key.length + 1), calls: l.calls }));
  }
  switch (mesh) {
    case 'istio':
      switch (key.replace(/^not([A-Z])/, (_, c: string) => c.toLowerCase())) {
        case 'principals': return observed.istioPrincipals;
        case 'namespaces': return observed.namespaces;
        case 'paths': return [...observed.paths, ...observed.pathPrefixes.map((p) => ({ value: `${p.value}*`, calls: p.calls }))];
        case 'methods': return observed.methods;
        case 'ports': return observed.ports;
        case 'hosts': return observed.hosts;
        default: return [];
      }
    case 'linkerd':
      if (key === 'identities') return observed.linkerdIdentities;
      if (key === 'method') return observed.methods;
      if (key === 'value' && parent === 'path') return [...observed.paths, ...observed.pathPrefixes.map((p) => ({ value: p.value.replace(/\/$/, ''), calls: p.calls }))];
      if (key === 'port') return observed.ports;
      if (key === 'namespace') return observed.namespaces;
      if (key === 'name' && parent === 'serviceAccounts') return observed.serviceAccounts;
      return [];
    case 'consul':
      if (lower === 'name' || lower === 'peer') return lower === 'name' ? observed.consulServices : [];
      if (lower === 'pathexact') return observed.paths;
      if (lower === 'pathprefix') return observed.pathPrefixes;
      if (lower === 'methods') return observed.methods;
      if (lower === 'namespace') return observed.namespaces;
      return [];
  }
}

/** The text to insert for an observed value in a file of this format. */
export function observedInsertText(format: SourceFormat, value: string): string {
  return format === 'yaml' ? renderScalar('yaml', value) : JSON.stringify(value);
}

export function observedDetail(value: ObservedValue): string {
  return value.calls > 0 ? `observed in ${value.calls.toLocaleString('en-US')} call${value.calls === 1 ? '' : 's'}` : 'from the inventory';
}

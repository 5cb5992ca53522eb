import type { WorkspaceView } from '../checks/check';
import type { InstalledCrd } from '../crds/installed';
import type { Inventory, ServiceInfo, WorkloadInfo } from '../inventory/inventory';
import { isRecord } from '../plainValues';
import type { Resource } from '../resource';
import { resourceValue } from '../resourceValue';

/** A workload a new policy can be about: its app label's value, service account and Service. */
export interface TemplateWorkload {
  namespace: string;
  app: string;
  serviceAccount: string;
  /** A Service of its namespace that selects it. */
  service?: ServiceInfo;
  workload: WorkloadInfo;
}

/**
 * What the workspace knows that a new policy is written about: the choices its tab stops offer.
 * Each list has first the value that goes with the first workload (`workloads[0]`), so that the
 * defaults a user gets by pressing Tab only name things that exist together.
 */
export interface TemplateFacts {
  /** One per app and namespace, the busiest app first. */
  workloads: TemplateWorkload[];
  /** Namespaces with workloads first, the most workloads first. */
  namespaces: string[];
  /** The label key the workspace's workloads are named by (`app`, or `app.kubernetes.io/name`). */
  appLabel: string;
  /** Its values, the most common first. */
  apps: string[];
  /** A caller for allow rules: another workload than the first, its namespace and service account first. */
  callerNamespaces: string[];
  callerServiceAccounts: string[];
  /** Named container ports, the most common first. */
  portNames: string[];
  /** Container port numbers, those named for HTTP (`http`, `http-...`, `grpc`) first, the most common first. */
  ports: string[];
  /** Linkerd Servers already written in the workspace. */
  linkerdServers: string[];
  /** Named ports of workloads that no Linkerd Server selects yet, busiest app first. */
  portsWithoutServer: Array<{ namespace: string; app: string; port: string }>;
  /** Namespaces that have no namespace-wide Istio PeerAuthentication yet. */
  namespacesWithoutPeerAuthentication: string[];
  /** Names a Consul service goes by: the Kubernetes Services, then the workloads' app names. */
  consulServices: string[];
  istioTrustDomain: string;
  istioRootNamespace: string;
  /** The cluster's CRDs in the workspace: templates are written in a version they serve. */
  crds: readonly InstalledCrd[];
  inventory: Inventory | undefined;
}

const SYSTEM_NAMESPACE = /^(kube-.*|istio-system|linkerd.*|consul)$/;

export function templateFacts(workspace: WorkspaceView | undefined): TemplateFacts {
  const config = workspace?.config;
  const inventory = workspace?.inventory;
  const allWorkloads = (inventory?.workloads ?? []).filter((w) => !SYSTEM_NAMESPACE.test(w.namespace));
  const appLabel = allWorkloads.filter((w) => w.labels['app.kubernetes.io/name'] !== undefined).length > allWorkloads.filter((w) => w.labels['app'] !== undefined).length ? 'app.kubernetes.io/name' : 'app';
  const apps = byCount(counts(allWorkloads.flatMap((w) => w.labels[appLabel] ?? [])));
  const appRank = new Map(apps.map((app, index) => [app, index]));
  const workloads = templateWorkloads(allWorkloads, inventory?.services ?? [], appLabel, appRank);
  const first = workloads[0];
  const caller = workloads.find((w) => first && w.serviceAccount !== first.serviceAccount);
  const namespaces = [...new Set([...(first ? [first.namespace] : []), ...byCount(counts(allWorkloads.map((w) => w.namespace))), ...(inventory?.namespaces.keys() ?? [])])].filter((ns) => !SYSTEM_NAMESPACE.test(ns));
  const serviceAccounts = byCount(counts([...allWorkloads.map((w) => w.serviceAccount), ...(inventory?.serviceAccounts ?? []).map((sa) => sa.name)].filter((sa) => sa !== 'default')));
  const resources = (workspace?.resources ?? []).map(({ resource }) => resource);
  const servers = resources.filter((r) => r.mesh === 'linkerd' && r.kind === 'Server');
  const peerAuthenticated = new Set(resources.filter((r) => r.mesh === 'istio' && r.kind === 'PeerAuthentication' && r.namespace && !isRecord(specOf(r)['selector'])).map((r) => r.namespace!));
  return {
    workloads,
    namespaces,
    appLabel,
    apps: [...new Set([...(first ? [first.app] : []), ...apps])],
    callerNamespaces: [...new Set([...(caller ? [caller.namespace] : []), ...namespaces])],
    callerServiceAccounts: [...new Set([...(caller ? [caller.serviceAccount] : []), ...serviceAccounts])],
    portNames: byCount(counts(allWorkloads.flatMap((w) => w.ports.flatMap((p) => p.name ?? [])))),
    ports: [...new Set([true, false].flatMap((http) => byCount(counts(allWorkloads.flatMap((w) => w.ports.filter((p) => /^(http|grpc)/.test(p.name ?? '') === http).map((p) => String(p.containerPort)))))))],
    linkerdServers: [...new Set(servers.flatMap((r) => r.name ?? []))],
    portsWithoutServer: portsWithoutServer(allWorkloads.filter((w) => w.labels[appLabel] !== undefined).sort((a, b) => appRank.get(a.labels[appLabel]!)! - appRank.get(b.labels[appLabel]!)!), appLabel, servers),
    namespacesWithoutPeerAuthentication: namespaces.filter((ns) => !peerAuthenticated.has(ns)),
    consulServices: [...new Set([...(first?.service ? [first.service.name] : []), ...(inventory?.services ?? []).filter((s) => !SYSTEM_NAMESPACE.test(s.namespace)).map((s) => s.name), ...apps])],
    istioTrustDomain: config?.istio.trustDomain ?? 'cluster.local',
    istioRootNamespace: config?.istio.rootNamespace ?? 'istio-system',
    crds: inventory?.crds ?? [],
    inventory,
  };
}

function templateWorkloads(workloads: readonly WorkloadInfo[], services: readonly ServiceInfo[], appLabel: string, appRank: Map<string, number>): TemplateWorkload[] {
  const seen = new Set<string>();
  const out: TemplateWorkload[] = [];
  for (const workload of [...workloads].filter((w) => w.labels[appLabel] !== undefined).sort((a, b) => appRank.get(a.labels[appLabel]!)! - appRank.get(b.labels[appLabel]!)!)) {
    const app = workload.labels[appLabel]!;
    if (seen.has(`${workload.namespace}/${app}`)) continue;
    seen.add(`${workload.namespace}/${app}`);
    const service = services.find((s) => s.namespace === workload.namespace && s.selector && Object.keys(s.selector).length > 0 && Object.entries(s.selector).every(([k, v]) => workload.labels[k] === v));
    out.push({ namespace: workload.namespace, app, serviceAccount: workload.serviceAccount, workload, ...(service ? { service } : {}) });
  }
  return out;
}

/** The named ports that no Server of the workspace selects (a second Server on a port is ignored there). */
function portsWithoutServer(workloads: readonly WorkloadInfo[], appLabel: string, servers: readonly Resource[]): TemplateFacts['portsWithoutServer'] {
  const selections = servers.map((r) => {
    const spec = specOf(r);
    const podSelector = isRecord(spec['podSelector']) ? spec['podSelector'] : {};
    const matchLabels = isRecord(podSelector['matchLabels']) ? podSelector['matchLabels'] : {};
    // (matchExpressions are taken to select every pod: a default that may collide is worse than one passed over)
    return { namespace: r.namespace, matchLabels, port: spec['port'], everyPod: Object.keys(podSelector).some((k) => k !== 'matchLabels') };
  });
  return workloads.flatMap((workload) => workload.ports
    .filter((p) => p.name && !selections.some((s) => (s.namespace === undefined || s.namespace === workload.namespace) && (s.everyPod || Object.entries(s.matchLabels).every(([k, v]) => workload.labels[k] === v)) && (s.port === p.name || s.port === p.containerPort)))
    .map((p) => ({ namespace: workload.namespace, app: workload.labels[appLabel]!, port: p.name! })));
}

function specOf(resource: Resource): Record<string, unknown> {
  const spec = resourceValue(resource)['spec'];
  return isRecord(spec) ? spec : {};
}

function counts(values: readonly string[]): Map<string, number> {
  const out = new Map<string, number>();
  for (const value of values) out.set(value, (out.get(value) ?? 0) + 1);
  return out;
}

/** Most first; ties in name order, so the same workspace offers the same list. */
function byCount(tally: Map<string, number>): string[] {
  return [...tally].sort((a, b) => b[1] - a[1] || a[0].localeCompare(b[0])).map(([value]) => value);
}

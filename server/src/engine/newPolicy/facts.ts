import type { WorkspaceView } from '../checks/check';
import type { InstalledCrd } from '../crds/installed';
import { isRecord } from '../plainValues';
import { resourceValue } from '../resourceValue';

/** What the workspace knows that a new policy is written about: the choices its tab stops offer. */
export interface TemplateFacts {
  /** Namespaces with workloads first, the most workloads first. */
  namespaces: string[];
  /** The label key the workspace's workloads are named by (`app`, or `app.kubernetes.io/name`). */
  appLabel: string;
  /** Its values, the most common first. */
  apps: string[];
  serviceAccounts: string[];
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
}

const SYSTEM_NAMESPACE = /^(kube-.*|istio-system|linkerd.*|consul)$/;

export function templateFacts(workspace: WorkspaceView | undefined): TemplateFacts {
  const config = workspace?.config;
  const inventory = workspace?.inventory;
  const workloads = inventory?.workloads ?? [];
  const workloadsPerNamespace = counts(workloads.map((w) => w.namespace));
  const namespaces = new Set([...byCount(workloadsPerNamespace), ...(inventory?.namespaces.keys() ?? [])]);
  const appLabel = workloads.filter((w) => w.labels['app.kubernetes.io/name'] !== undefined).length > workloads.filter((w) => w.labels['app'] !== undefined).length ? 'app.kubernetes.io/name' : 'app';
  const apps = byCount(counts(workloads.flatMap((w) => w.labels[appLabel] ?? [])));
  const resources = (workspace?.resources ?? []).map(({ resource }) => resource);
  const servers = resources.filter((r) => r.mesh === 'linkerd' && r.kind === 'Server');
  const selections = servers.map((r) => {
    const spec = resourceValue(r)['spec'];
    const podSelector = isRecord(spec) && isRecord(spec['podSelector']) ? spec['podSelector'] : {};
    const matchLabels = isRecord(podSelector['matchLabels']) ? podSelector['matchLabels'] : {};
    return { namespace: r.namespace, matchLabels, port: isRecord(spec) ? spec['port'] : undefined, other: Object.keys(podSelector).some((k) => k !== 'matchLabels') };
  });
  const appRank = new Map(apps.map((app, index) => [app, index]));
  const portsWithoutServer = workloads
    .filter((w) => w.labels[appLabel] !== undefined && !SYSTEM_NAMESPACE.test(w.namespace))
    .sort((a, b) => appRank.get(a.labels[appLabel]!)! - appRank.get(b.labels[appLabel]!)!)
    .flatMap((w) => w.ports.filter((p) => p.name && !selections.some((s) => (s.namespace === undefined || s.namespace === w.namespace) && (s.other || Object.entries(s.matchLabels).every(([k, v]) => w.labels[k] === v)) && (s.port === p.name || s.port === p.containerPort)))
      .map((p) => ({ namespace: w.namespace, app: w.labels[appLabel]!, port: p.name! })));
  const peerAuthenticated = new Set(resources.filter((r) => r.mesh === 'istio' && r.kind === 'PeerAuthentication' && r.namespace && !isRecord((resourceValue(r)['spec'] as Record<string, unknown> | undefined)?.['selector'])).map((r) => r.namespace!));
  return {
    namespaces: [...namespaces].filter((ns) => !SYSTEM_NAMESPACE.test(ns)),
    portsWithoutServer,
    namespacesWithoutPeerAuthentication: [...namespaces].filter((ns) => !SYSTEM_NAMESPACE.test(ns) && !peerAuthenticated.has(ns)),
    appLabel,
    apps,
    serviceAccounts: byCount(counts([...workloads.map((w) => w.serviceAccount), ...(inventory?.serviceAccounts ?? []).map((sa) => sa.name)].filter((sa) => sa !== 'default'))),
    portNames: byCount(counts(workloads.flatMap((w) => w.ports.flatMap((p) => p.name ?? [])))),
    ports: [...new Set([true, false].flatMap((http) => byCount(counts(workloads.flatMap((w) => w.ports.filter((p) => /^(http|grpc)/.test(p.name ?? '') === http).map((p) => String(p.containerPort)))))))],
    linkerdServers: [...new Set(servers.flatMap((r) => r.name ?? []))],
    consulServices: [...new Set([...(inventory?.services ?? []).filter((s) => !SYSTEM_NAMESPACE.test(s.namespace)).map((s) => s.name), ...apps])],
    istioTrustDomain: config?.istio.trustDomain ?? 'cluster.local',
    istioRootNamespace: config?.istio.rootNamespace ?? 'istio-system',
    crds: inventory?.crds ?? [],
  };
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

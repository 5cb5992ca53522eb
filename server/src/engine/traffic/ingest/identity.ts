import type { Mesh } from '../../meshes';
import type { InventoryIndex } from '../../inventory/inventoryIndex';
import type { WorkloadInfo } from '../../inventory/inventory';

/** What a principal says about the caller. */
export interface PrincipalParts {
  mesh: Mesh;
  trustDomain: string;
  namespace: string;
  serviceAccount?: string;
  /** Consul: the service name in the SPIFFE ID. */
  service?: string;
  datacenter?: string;
  partition?: string;
}

const ISTIO = /^(?:spiffe:\/\/)?([^/]+)\/ns\/([^/]+)\/sa\/([^/]+)$/;
const CONSUL = /^spiffe:\/\/([^/]+)(?:\/ap\/([^/]+))?\/ns\/([^/]+)\/dc\/([^/]+)\/svc\/([^/]+)$/;
const LINKERD = /^([^.]+)\.([^.]+)\.serviceaccount\.identity\.([^.]+)\.(.+)$/;

/** Reads an Istio, Linkerd or Consul principal; undefined for anything else. */
export function parsePrincipal(principal: string): PrincipalParts | undefined {
  let m = CONSUL.exec(principal);
  if (m) return { mesh: 'consul', trustDomain: m[1]!, namespace: m[3]!, datacenter: m[4]!, service: m[5]!, ...(m[2] ? { partition: m[2] } : {}) };
  m = ISTIO.exec(principal);
  if (m) return { mesh: 'istio', trustDomain: m[1]!, namespace: m[2]!, serviceAccount: m[3]! };
  m = LINKERD.exec(principal);
  if (m) return { mesh: 'linkerd', trustDomain: m[4]!, namespace: m[2]!, serviceAccount: m[1]! };
  return undefined;
}

/** Linkerd's identity names: `<sa>.<ns>.serviceaccount.identity.<controlPlaneNamespace>.<trustDomain>`. */
export interface LinkerdIdentityNames {
  trustDomain: string;
  controlPlaneNamespace: string;
}

const LINKERD_DEFAULT_NAMES: LinkerdIdentityNames = { trustDomain: 'cluster.local', controlPlaneNamespace: 'linkerd' };

/** The Linkerd identity of a service account. */
export function linkerdServiceAccountIdentity(names: LinkerdIdentityNames, namespace: string, serviceAccount: string): string {
  return `${serviceAccount}.${namespace}.serviceaccount.identity.${names.controlPlaneNamespace}.${names.trustDomain}`;
}

/** The principal a meshed workload presents, in the mesh's own form (Istio's trust domain,
 * Linkerd's identity names); undefined for Consul, whose SPIFFE IDs carry a trust domain and
 * datacenter that the inventory does not know. */
export function principalFor(mesh: Mesh, namespace: string, serviceAccount: string, trustDomain: string, linkerd: LinkerdIdentityNames = LINKERD_DEFAULT_NAMES): string | undefined {
  switch (mesh) {
    case 'istio': return `${trustDomain}/ns/${namespace}/sa/${serviceAccount}`;
    case 'linkerd': return linkerdServiceAccountIdentity(linkerd, namespace, serviceAccount);
    default: return undefined;
  }
}

/** A Consul service's SPIFFE ID for a call written or generated here: the configured trust
 * domain, else a placeholder, and datacenter `dc1`, which the Consul simulator takes as local. */
export function consulPrincipalFor(namespace: string, service: string, trustDomain: string | undefined): string {
  return `spiffe://${trustDomain ?? 'consul'}/ns/${namespace}/dc/dc1/svc/${service}`;
}

/** Whether the inventory says the workload's pods run the mesh proxy: true, false, or undefined
 * when it does not say (no Namespace object, no injection label or annotation). */
export function isMeshed(index: InventoryIndex, w: { namespace: string; labels: Record<string, string>; annotations?: Record<string, string>; istioProxy?: boolean }, mesh: Mesh): boolean | undefined {
  const nsLabels = index.namespaceLabels(w.namespace);
  const nsAnnotations = index.namespaceAnnotations(w.namespace);
  const annotations = w.annotations ?? {};
  switch (mesh) {
    case 'istio': {
      // The classic gateways run the proxy as their own container and opt out of injection.
      if (w.istioProxy) return true;
      const pod = w.labels['sidecar.istio.io/inject'] ?? annotations['sidecar.istio.io/inject'];
      if (pod === 'false') return false;
      if (pod === 'true') return true;
      if (w.labels['gateway.networking.k8s.io/gateway-name'] || w.labels['istio.io/gateway-name']) return true;
      if (nsLabels['istio-injection'] === 'enabled' || nsLabels['istio.io/rev']) return true;
      if (nsLabels['istio-injection'] === 'disabled') return false;
      if (nsLabels['istio.io/dataplane-mode'] === 'ambient') return true;
      return undefined;
    }
    case 'linkerd': {
      const pod = annotations['linkerd.io/inject'];
      if (pod === 'disabled') return false;
      if (pod === 'enabled' || pod === 'ingress') return true;
      if (nsAnnotations['linkerd.io/inject'] === 'enabled') return true;
      if (nsAnnotations['linkerd.io/inject'] === 'disabled') return false;
      return undefined;
    }
    default: {
      const pod = annotations['consul.hashicorp.com/connect-inject'];
      if (pod === 'true') return true;
      if (pod === 'false') return false;
      return undefined;
    }
  }
}

/** The Consul service name of a workload: the connect-service annotation, else the one Service that
 * selects it, else its service account (consul-k8s requires them to match). */
export function consulServiceName(index: InventoryIndex, w: WorkloadInfo): string {
  const annotated = w.annotations['consul.hashicorp.com/connect-service'];
  if (annotated) return annotated.split(',')[0]!.trim();
  const services = index.servicesFor(w);
  if (services.length === 1) return services[0]!.name;
  return w.serviceAccount;
}

/** The part of a pod name that names its workload, for pods the inventory does not know:
 * `cart-5b7d9c6f4-x2k9p` → `cart`, `db-0` → `db`, `node-agent-7xk2p` → `node-agent`. */
export function workloadNameFromPod(pod: string): string {
  let m = /^(.+)-[a-z0-9]{6,10}-[a-z0-9]{5}$/.exec(pod);
  if (m && /\d/.test(pod.slice(m[1]!.length))) return m[1]!;
  m = /^(.+)-\d+$/.exec(pod);
  if (m) return m[1]!;
  m = /^(.+)-[a-z0-9]{5}$/.exec(pod);
  if (m && /\d/.test(pod.slice(m[1]!.length))) return m[1]!;
  return pod;
}

import type { Inventory } from '../inventory/inventory';
import { InventoryIndex } from '../inventory/inventoryIndex';
import { consulPrincipalFor, parsePrincipal, principalFor } from '../traffic/ingest/identity';
import { serviceAccountIdentity } from '../simulate/linkerd/model';
import type { Identity, TranslationContext } from './model';

/**
 * Each mesh's form of a caller identity, and the mapping between Kubernetes service accounts
 * (Istio and Linkerd identities) and Consul service names. consul-k8s issues a pod the identity
 * of the Consul service it registers, and with ACLs on it requires the pod's service account to
 * have the service's name; the inventory says which Service selects which workloads, and
 * where it says nothing the service account's name is taken as the service's.
 */

/** The Linkerd install whose identities are written and read: `.meshpolicy.yaml`'s `linkerd.trustDomain`
 * and `linkerd.controlPlaneNamespace`, else the workspace's `linkerd-config`, else `cluster.local` and `linkerd`. */
export function linkerdCluster(context: TranslationContext): { controlPlaneNamespace: string; trustDomain: string } {
  const { controlPlaneNamespace, trustDomain } = context.config.linkerd;
  return { controlPlaneNamespace, trustDomain };
}

/** `.serviceaccount.identity.<control plane namespace>.<trust domain>`: how every identity of the install ends. */
export function linkerdIdentitySuffix(cluster: { controlPlaneNamespace: string; trustDomain: string }): string {
  return `.serviceaccount.identity.${cluster.controlPlaneNamespace}.${cluster.trustDomain}`;
}

/** Istio's principal for a service account: `<trust domain>/ns/<ns>/sa/<sa>`. */
export function istioPrincipal(context: TranslationContext, identity: Identity): string {
  return principalFor('istio', identity.namespace, identity.serviceAccount, context.config.istio.trustDomain)!;
}

/** Linkerd's DNS-like identity of a service account. */
export function linkerdIdentity(context: TranslationContext, identity: Identity): string {
  return serviceAccountIdentity(linkerdCluster(context), identity.namespace, identity.serviceAccount);
}

/** The identity in Istio's principal form (`spiffe://` optional), when it is one of the mesh's
 * trust domain or its aliases (a foreign one is no service account of this cluster). */
export function parseIstioPrincipal(context: TranslationContext, principal: string): Identity | undefined {
  const parts = parsePrincipal(principal);
  if (parts?.mesh !== 'istio' || ![context.config.istio.trustDomain, ...context.config.istio.trustDomainAliases].includes(parts.trustDomain)) return undefined;
  return { namespace: parts.namespace, serviceAccount: parts.serviceAccount! };
}

/** The identity in Linkerd's form (`<sa>.<ns>.serviceaccount.identity.linkerd.cluster.local`), when it is one of the install's. */
export function parseLinkerdIdentity(context: TranslationContext, identity: string): Identity | undefined {
  const parts = parsePrincipal(identity);
  const cluster = linkerdCluster(context);
  if (parts?.mesh !== 'linkerd' || parts.trustDomain !== cluster.trustDomain || !identity.endsWith(linkerdIdentitySuffix(cluster))) return undefined;
  return { namespace: parts.namespace, serviceAccount: parts.serviceAccount! };
}

/** The Consul service and namespace in a Consul SPIFFE ID (`spiffe://<td>[/ap/<p>]/ns/<ns>/dc/<dc>/svc/<name>`). */
export function parseConsulPrincipal(principal: string): { namespace: string; service: string } | undefined {
  const parts = parsePrincipal(principal);
  return parts?.mesh === 'consul' ? { namespace: parts.namespace, service: parts.service! } : undefined;
}

/** Consul's SPIFFE ID for a service (the trust domain and datacenter a configuration gives, else placeholders the simulator accepts as local). */
export function consulPrincipal(context: TranslationContext, namespace: string, service: string): string {
  return consulPrincipalFor(namespace, service, context.config.consul.trustDomain);
}

/** The Consul services a service account's pods register as: the Services selecting its workloads, else the account's own name. */
export function consulServicesOf(context: TranslationContext, identity: Identity): { services: string[]; assumed: boolean } {
  if (identity.serviceAccount === '*') return { services: ['*'], assumed: false };
  // asked once per probe call by the check: remembered per inventory
  let known = servicesOfIdentity.get(context.inventory);
  if (!known) servicesOfIdentity.set(context.inventory, (known = new Map()));
  const key = `${identity.namespace}/${identity.serviceAccount}`;
  let found = known.get(key);
  if (!found) known.set(key, (found = lookUpConsulServices(context, identity)));
  return found;
}

const servicesOfIdentity = new WeakMap<Inventory, Map<string, { services: string[]; assumed: boolean }>>();

function lookUpConsulServices(context: TranslationContext, identity: Identity): { services: string[]; assumed: boolean } {
  const index = InventoryIndex.of(context.inventory);
  const names = new Set<string>();
  const namespaces = identity.namespace === '*' ? [...new Set(context.inventory.workloads.map((w) => w.namespace))] : [identity.namespace];
  for (const ns of namespaces) for (const w of index.workloadsForServiceAccount(ns, identity.serviceAccount)) for (const s of index.servicesFor(w)) names.add(s.name);
  return names.size ? { services: [...names].sort(), assumed: false } : { services: [identity.serviceAccount], assumed: true };
}

/** The service accounts a Consul service's pods run as: those of the workloads its Service selects, else the service's own name. */
export function serviceAccountsOfConsulService(context: TranslationContext, namespace: string, service: string): { serviceAccounts: string[]; assumed: boolean } {
  if (service === '*') return { serviceAccounts: ['*'], assumed: false };
  const index = InventoryIndex.of(context.inventory);
  const accounts = new Set<string>();
  for (const s of index.services(service, namespace === '*' ? undefined : namespace)) for (const w of index.workloadsFor(s)) accounts.add(w.serviceAccount);
  return accounts.size ? { serviceAccounts: [...accounts].sort(), assumed: false } : { serviceAccounts: [service], assumed: true };
}

/** The identities a Consul service's pods run as, in whichever Kubernetes namespace the inventory
 * has the Service (Consul CE's namespace `default` says nothing of it); `namespace` first when
 * given. Else the service's own name in `namespace` (or `default`). */
export function identitiesOfConsulService(context: TranslationContext, service: string, namespace?: string): { identities: Identity[]; assumed: boolean } {
  const index = InventoryIndex.of(context.inventory);
  const found: Identity[] = [];
  const seen = new Set<string>();
  const services = index.services(service);
  const ordered = namespace === undefined ? services : [...services.filter((s) => s.namespace === namespace), ...services.filter((s) => s.namespace !== namespace)];
  for (const s of ordered) {
    for (const w of index.workloadsFor(s)) {
      const key = `${s.namespace}/${w.serviceAccount}`;
      if (seen.has(key)) continue;
      seen.add(key);
      found.push({ namespace: s.namespace, serviceAccount: w.serviceAccount });
    }
  }
  return found.length ? { identities: found, assumed: false } : { identities: [{ namespace: namespace ?? 'default', serviceAccount: service }], assumed: true };
}

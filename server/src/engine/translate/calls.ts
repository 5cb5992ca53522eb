import type { WorkloadInfo } from '../inventory/inventory';
import { InventoryIndex } from '../inventory/inventoryIndex';
import type { Mesh } from '../meshes';
import type { AccessRecord } from '../traffic/accessRecord';
import { consulPrincipal, consulServicesOf, istioPrincipal, linkerdIdentity, parseConsulPrincipal, parseIstioPrincipal, parseLinkerdIdentity, identitiesOfConsulService } from './identities';
import type { Identity, TranslationContext } from './model';

/**
 * One call in mesh-neutral terms, so that the same call can be decided by two meshes'
 * simulators: the source mesh's under the original policies and the target mesh's under the
 * translation (`check.ts`).
 */
export interface NeutralCall {
  /** The caller's identity; null: plaintext (no identity). */
  caller: Identity | null;
  callerIp?: string;
  destination: {
    namespace: string;
    workload?: string;
    /** The Kubernetes Service (Consul: the service name) the call was addressed to. */
    service?: string;
    serviceAccount?: string;
    labels: Record<string, string>;
    port: number;
  };
  /** Undefined: a TCP connection. */
  request?: { method: string; path: string; headers?: Record<string, string> };
}

/** The call as `mesh`'s access record (its identity form; Consul names the caller's service). */
export function recordFor(mesh: Mesh, call: NeutralCall, context: TranslationContext): AccessRecord {
  const source: NonNullable<AccessRecord['source']> = {};
  if (call.callerIp !== undefined) source.ip = call.callerIp;
  const caller = call.caller;
  if (caller === null) source.principal = null;
  else {
    source.namespace = caller.namespace;
    source.serviceAccount = caller.serviceAccount;
    if (mesh === 'istio') source.principal = istioPrincipal(context, caller);
    else if (mesh === 'linkerd') source.principal = linkerdIdentity(context, caller);
    else {
      const service = consulServicesOf(context, caller).services[0]!;
      source.service = service;
      source.principal = consulPrincipal(context, 'default', service);
    }
  }
  const d = call.destination;
  const destination: NonNullable<AccessRecord['destination']> = { namespace: d.namespace, labels: d.labels, port: d.port };
  if (d.workload !== undefined) destination.workload = d.workload;
  if (d.service !== undefined) destination.service = d.service;
  if (d.serviceAccount !== undefined) destination.serviceAccount = d.serviceAccount;
  const record: AccessRecord = { mesh, protocol: call.request ? 'http' : 'tcp', source, destination };
  if (call.request) record.request = { method: call.request.method, path: call.request.path, ...(call.request.headers ? { headers: call.request.headers } : {}) };
  return record;
}

/** Why an observed record cannot be decided by another mesh: the caller or destination it lacks. */
export type NeutralOrWhy = NeutralCall | { why: string };

/** An observed record of `mesh` in neutral terms, or why it cannot be. */
export function neutralOf(mesh: Mesh, record: AccessRecord, context: TranslationContext): NeutralOrWhy {
  const d = record.destination;
  if (!d?.namespace || d.port === undefined) return { why: 'the destination namespace or port is not recorded' };
  let caller: Identity | null;
  const principal = record.source?.principal;
  if (principal === null) caller = null;
  else if (principal === undefined) {
    if (mesh === 'consul' && record.source?.service) caller = identitiesOfConsulService(context, record.source.service, record.source.namespace).identities[0]!;
    else return { why: 'the caller identity is not recorded' };
  } else if (mesh === 'istio') caller = parseIstioPrincipal(context, principal) ?? null;
  else if (mesh === 'linkerd') caller = parseLinkerdIdentity(context, principal) ?? null;
  else {
    const consul = parseConsulPrincipal(principal);
    caller = consul ? identitiesOfConsulService(context, consul.service, record.source?.namespace).identities[0]! : null;
  }
  if (principal && caller === null) return { why: `the caller identity ${principal} names no service account of this cluster's trust domain` };
  const r = record.request;
  const protocol = record.protocol;
  const http = protocol === 'http' || protocol === 'http2' || protocol === 'grpc' || (protocol === undefined && r?.method !== undefined);
  if (http && (r?.method === undefined || r.path === undefined)) return { why: 'the request method or path is not recorded' };
  return {
    caller,
    ...(record.source?.ip !== undefined ? { callerIp: record.source.ip } : {}),
    destination: { ...destinationOf(mesh, d, context), port: d.port },
    ...(http ? { request: { method: r!.method!, path: r!.path!, ...(r!.headers ? { headers: r!.headers } : {}) } } : {}),
  };
}

/**
 * The destination in Kubernetes terms, from the inventory where the record says less: a Consul
 * record names the service and Consul's namespace (`default` in Consul CE), not the Kubernetes
 * namespace, workload and labels the other meshes' policies select by.
 */
function destinationOf(mesh: Mesh, d: NonNullable<AccessRecord['destination']>, context: TranslationContext): Omit<NeutralCall['destination'], 'port'> {
  const index = InventoryIndex.of(context.inventory);
  let workload: WorkloadInfo | undefined;
  let service = d.service;
  if (mesh === 'consul' && d.service !== undefined) {
    const services = index.services(d.service);
    const chosen = services.find((s) => s.namespace === d.namespace) ?? services[0];
    if (chosen) workload = index.workloadsFor(chosen)[0];
  }
  if (!workload && d.workload !== undefined && d.namespace !== undefined) workload = index.workload(d.namespace, d.workload);
  // Istio records name the Service by its host (`cart.shop.svc.cluster.local`); Consul by its name
  if (service !== undefined && service.includes('.')) service = index.serviceByHost(service, d.namespace)?.name ?? service.split('.')[0];
  if (workload) service ??= index.servicesFor(workload)[0]?.name;
  const namespace = workload?.namespace ?? d.namespace!;
  const serviceAccount = d.serviceAccount ?? workload?.serviceAccount;
  return {
    namespace,
    ...(workload ? { workload: workload.name } : d.workload !== undefined ? { workload: d.workload } : {}),
    ...(service !== undefined ? { service } : {}),
    ...(serviceAccount !== undefined ? { serviceAccount } : {}),
    // without the inventory, a Consul service is taken to run pods labelled app=<service>, as the Consul reader takes it
    labels: d.labels && Object.keys(d.labels).length ? d.labels : workload?.labels ?? (mesh === 'consul' && service !== undefined ? { app: service } : {}),
  };
}


import type { Inventory } from '../inventory/inventory';
import { withoutSpiffe } from './match';

/** What `istio.io/use-waypoint` says for a call (Istio ambient). */
export type WaypointChoice =
  /** A waypoint takes the call; `own`: named by the Service (or pod), not the namespace. */
  | { kind: 'named'; name: string; ns: string; own: boolean }
  /** Opted out (`none`), or the waypoint named does not take this kind of traffic. */
  | { kind: 'none' }
  /** No label at any level. */
  | { kind: 'unset' };

/**
 * Which waypoint a call passes, as Istio's ambient docs ("Configure waypoint proxies") describe
 * it: `istio.io/use-waypoint` (and `istio.io/use-waypoint-namespace`) on the Service for a call to
 * the Service, on the pod for a call addressed to the pod, else on the namespace; the nearer label
 * wins and `none` opts out. The waypoint's Gateway label `istio.io/waypoint-for` (`service` when
 * unset or the Gateway is not in the inventory, `workload`, `all`, `none`) says which of the two
 * kinds of call it takes. `own` holds the Service's labels (or the pod's), `nsLabels` the namespace's.
 */
export function chooseWaypoint(inventory: Inventory, ns: string, own: Record<string, string> | undefined, nsLabels: Record<string, string> | undefined, toService: boolean): WaypointChoice {
  const ownName = own?.['istio.io/use-waypoint'];
  const labels = ownName !== undefined ? own : nsLabels;
  const name = labels?.['istio.io/use-waypoint'];
  if (name === undefined) return { kind: 'unset' };
  if (name === 'none') return { kind: 'none' };
  const wpNs = labels?.['istio.io/use-waypoint-namespace'] ?? ns;
  const takes = inventory.gateways?.find((g) => g.namespace === wpNs && g.name === name)?.waypointFor ?? 'service';
  if (takes !== 'all' && takes !== (toService ? 'service' : 'workload')) return { kind: 'none' };
  return { kind: 'named', name, ns: wpNs, own: ownName !== undefined };
}

/** A waypoint's identity: istiod runs it as its Gateway's name. */
export function waypointPrincipal(trustDomain: string, waypoint: { ns: string; name: string }): string {
  return `${trustDomain}/ns/${waypoint.ns}/sa/${waypoint.name}`;
}

/** Whether a peer (with or without `spiffe://`) is the waypoint, in any of the mesh's trust domains. */
export function isWaypointPeer(principal: string | null | undefined, waypoint: { ns: string; name: string }, trustDomains: readonly string[]): boolean {
  if (typeof principal !== 'string') return false;
  const peer = withoutSpiffe(principal);
  const suffix = `/ns/${waypoint.ns}/sa/${waypoint.name}`;
  return peer.endsWith(suffix) && trustDomains.includes(peer.slice(0, -suffix.length));
}

/** The Gateway API gateway a pod is deployed for, by the labels Istio gives its pods. */
export function gatewayNameOf(labels: Record<string, string> | undefined): string | undefined {
  return labels?.['gateway.networking.k8s.io/gateway-name'] ?? labels?.['istio.io/gateway-name'];
}

/** The classic ingress or egress gateway (the `istio` label the gateway charts give their pods). */
export function isClassicGateway(labels: Record<string, string> | undefined): boolean {
  return labels?.['istio'] === 'ingressgateway' || labels?.['istio'] === 'egressgateway';
}

/** Whether a sidecar is injected: the pod's `sidecar.istio.io/inject` (label or annotation), else its namespace's `istio-injection: enabled` or `istio.io/rev`. */
export function sidecarInjected(labels: Record<string, string> | undefined, annotations: Record<string, string> | undefined, nsLabels: Record<string, string> | undefined): boolean {
  const inject = labels?.['sidecar.istio.io/inject'] ?? annotations?.['sidecar.istio.io/inject'];
  return inject === 'true' || (inject !== 'false' && (nsLabels?.['istio-injection'] === 'enabled' || nsLabels?.['istio.io/rev'] !== undefined));
}

/**
 * Whether ztunnel, L4 only, enforces a workload's inbound policies: an ambient pod that is not a
 * gateway (Gateway API, or the classic ingress/egress gateway) and has no sidecar. Gateways and
 * sidecars are Envoy proxies and enforce L7 rules in any namespace.
 */
export function enforcedByZtunnel(labels: Record<string, string> | undefined, annotations: Record<string, string> | undefined, nsLabels: Record<string, string> | undefined): boolean {
  return gatewayNameOf(labels) === undefined && !isClassicGateway(labels) && !sidecarInjected(labels, annotations, nsLabels) && isAmbient(labels, nsLabels);
}

/** Whether ztunnel carries a workload's traffic: its own `istio.io/dataplane-mode`, else its namespace's, unless it opts out (`none`). */
export function isAmbient(labels: Record<string, string> | undefined, nsLabels: Record<string, string> | undefined): boolean {
  const own = labels?.['istio.io/dataplane-mode'];
  return own === 'ambient' || (own !== 'none' && nsLabels?.['istio.io/dataplane-mode'] === 'ambient');
}

/** Whether a Gateway is a waypoint (class istio-waypoint): istiod runs it under a service account of the Gateway's name. */
export function isWaypointGateway(gateway: { className: string }): boolean {
  return gateway.className === 'istio-waypoint';
}

/** The inventory's waypoints, as `namespace/name` (which is also their identity's namespace and service account). */
export function inventoryWaypoints(inventory: Pick<Inventory, 'gateways'>): Set<string> {
  return new Set((inventory.gateways ?? []).filter(isWaypointGateway).map((g) => `${g.namespace}/${g.name}`));
}

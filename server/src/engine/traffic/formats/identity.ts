/**
 * Peer identities as each mesh writes them, and the namespace / service account / service that
 * can be read out of them. Only the form each mesh's policies match is produced:
 *
 * - Istio: `cluster.local/ns/N/sa/S` (the `spiffe://` prefix of the certificate's URI SAN is
 *   dropped, which is how AuthorizationPolicy `principals` are written; both forms are valid in
 *   an access record).
 * - Consul: the full `spiffe://<trust-domain>/ns/N/dc/DC/svc/S` (optionally `/ap/P` before
 *   `/ns`), as Consul writes it; namespace and service are read from it. Consul has no
 *   service accounts.
 * - Linkerd: `S.N.serviceaccount.identity.linkerd.<trust-domain>`, unchanged.
 */

import { withoutSpiffe } from '../../istio/match';

export interface PeerParts {
  namespace?: string;
  serviceAccount?: string;
  service?: string;
}

/** The first of a comma-separated list of URI SANs (Envoy joins several with `,`). */
export function firstSan(san: string): string {
  const comma = san.indexOf(',');
  return comma < 0 ? san : san.slice(0, comma);
}

/** Istio principal form of a URI SAN: `spiffe://` removed. */
export function istioPrincipal(san: string): string {
  return withoutSpiffe(firstSan(san));
}

/** Consul principal form: the URI SAN as written. */
export function consulPrincipal(san: string): string {
  return firstSan(san);
}

/** Fills namespace and serviceAccount from `[spiffe://]TD/ns/N/sa/S`. */
export function fillIstioParts(target: PeerParts, principal: string): void {
  const ns = principal.indexOf('/ns/');
  if (ns < 0) return;
  const sa = principal.indexOf('/sa/', ns + 4);
  if (sa < 0) return;
  const namespace = principal.slice(ns + 4, sa);
  const account = principal.slice(sa + 4);
  if (namespace.length === 0 || namespace.includes('/') || account.length === 0 || account.includes('/')) return;
  target.namespace = namespace;
  target.serviceAccount = account;
}

/** Fills namespace and service from `spiffe://TD[/ap/P]/ns/N/dc/DC/svc/S`. */
export function fillConsulParts(target: PeerParts, principal: string): void {
  const ns = principal.indexOf('/ns/');
  const svc = principal.lastIndexOf('/svc/');
  if (ns < 0 || svc < ns) return;
  const nsEnd = principal.indexOf('/', ns + 4);
  const namespace = principal.slice(ns + 4, nsEnd < 0 ? principal.length : nsEnd);
  const service = principal.slice(svc + 5);
  if (namespace.length > 0) target.namespace = namespace;
  if (service.length > 0 && !service.includes('/')) target.service = service;
}

/** Fills serviceAccount and namespace from `S.N.serviceaccount.identity.linkerd.TD`. */
export function fillLinkerdParts(target: PeerParts, identity: string): void {
  const first = identity.indexOf('.');
  if (first <= 0) return;
  const second = identity.indexOf('.', first + 1);
  if (second <= first + 1 || !identity.startsWith('.serviceaccount.', second)) return;
  target.serviceAccount = identity.slice(0, first);
  target.namespace = identity.slice(first + 1, second);
}

/**
 * Service and namespace from an Istio service host name (`name.ns.svc.cluster.local`), as found
 * in `outbound|port|subset|host` clusters and `outbound_.port_.subset_.host` SNIs. Hosts that
 * are not Kubernetes services (ServiceEntry hosts) give only the service.
 */
export function fillIstioServiceHost(target: { service?: string; namespace?: string }, host: string): void {
  if (host.length === 0) return;
  target.service = host;
  const dot = host.indexOf('.');
  if (dot <= 0) return;
  const dot2 = host.indexOf('.', dot + 1);
  if (dot2 > dot + 1 && host.startsWith('.svc.', dot2)) target.namespace = host.slice(dot + 1, dot2);
}

/**
 * Service and namespace from a Consul mesh name: the SNI `<svc>.<ns>.<dc>.internal.<td>`, with
 * an optional leading subset, `internal-v1` with a partition label for non-default partitions,
 * or `<svc>.<ns>.<ap>.<peer>.external.<td>` for peered services. The same names are the
 * upstream cluster names of outbound listeners.
 */
export function fillConsulServiceName(target: { service?: string; namespace?: string }, name: string): boolean {
  // Label boundaries, up to the `internal` / `internal-v1` / `external` label.
  const dots: number[] = [];
  let at = -1;
  let before = 0;
  let start = 0;
  while (start < name.length) {
    const dot = name.indexOf('.', start);
    const end = dot < 0 ? name.length : dot;
    const len = end - start;
    if (len === 8 && name.startsWith('internal', start)) { at = dots.length; before = 3; break; }
    if ((len === 11 && name.startsWith('internal-v1', start)) || (len === 8 && name.startsWith('external', start))) { at = dots.length; before = 4; break; }
    dots.push(start);
    if (dot < 0) break;
    start = dot + 1;
  }
  if (at < 0 || at < before) return false;
  const first = at === before + 1 ? 1 : at === before ? 0 : -1; // a leading subset label
  if (first < 0) return false;
  target.service = name.slice(dots[first]!, dots[first + 1]! - 1);
  target.namespace = name.slice(dots[first + 1]!, dots[first + 2]! - 1);
  return true;
}

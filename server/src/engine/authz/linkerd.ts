import type { WorkspaceView } from '../checks/check';
import type { Resource } from '../resource';
import type { NodePath } from '../source/tree';
import { InventoryIndex } from '../inventory/inventoryIndex';
import { plural } from '../schema/messages';
import { policySetOf } from '../simulate';
import type { Authz } from '../simulate/linkerd/authz';
import { LinkerdPolicies, type Inbound, type PortWorlds } from '../simulate/linkerd/evaluate';
import { matchSelector, PROTOCOL_TEXT, type HttpMatchDef, type ServerDef } from '../simulate/linkerd/model';
import { ANNOTATION, type PodView } from '../simulate/linkerd/pod';
import { routesByPrecedence, type RouteC } from '../simulate/linkerd/routes';
import type { AuthzListing, AuthzRow, AuthzSection, AuthzTarget, AuthzUnknown, MeshAuthz } from './types';
import { shortName } from './render';
import { findWorkload } from './workloads';

/**
 * Linkerd (spec §2.3-§2.6): per port of the workload, as the policy controller computes its
 * inbound server: the Server that selects the port (the oldest of those that do; the others lose
 * to it) or the default policy, then the routes a request must match (HTTPRoute, or GRPCRoute on
 * a gRPC Server; none on opaque and TLS ports), most specific match first as the proxy prefers
 * them (`routesByPrecedence`; ties oldest first, then name), then the authorizations (route-level first, then
 * the Server's: ServerAuthorizations, AuthorizationPolicies on the Server or the Namespace, its
 * accessPolicy; audit last), which the simulator's own lists give in that order.
 */
export function linkerdAuthz(workspace: WorkspaceView): MeshAuthz {
  const compiled = new LinkerdPolicies(policySetOf(workspace, 'linkerd'));
  const index = InventoryIndex.of(workspace.inventory);
  return {
    mesh: 'linkerd',
    list(target: AuthzTarget): AuthzListing | AuthzUnknown {
      const workload = findWorkload(index, target.namespace, target.name);
      if ('near' in workload) return { mesh: 'linkerd', unknown: `${target.namespace ?? '(no namespace)'}/${target.name}`, near: workload.near };
      const found = compiled.inboundPorts({ namespace: workload.namespace, workload: workload.name }, target.port);
      const name = `${workload.namespace}/${workload.name}`;
      if (!found) return { mesh: 'linkerd', unknown: name, near: [] };
      const { pod, ports } = found;
      const notes: string[] = [];
      if (pod.injectDisabled) notes.push(`the pod has no Linkerd proxy (${ANNOTATION.inject}: disabled): no policy applies to it`);
      if (!ports.length) notes.push('the inventory declares no port of the workload and no Server selects one: give --port');
      const marks = [workload.annotations, index.namespaceAnnotations(workload.namespace)];
      const enrolled = workload.annotations['linkerd.io/proxy-version'] !== undefined || (!pod.injectDisabled && marks.some((a) => a[ANNOTATION.inject] === 'enabled' || a[ANNOTATION.inject] === 'ingress'));
      return { mesh: 'linkerd', target: name, sections: ports.map((pw) => section(pw, pod, compiled)), notes, enrolled };
    },
    mayApply(resource: Resource): (workload: { namespace: string }) => boolean {
      // spec §2.3-§2.5: Servers select pods of their namespace; authorizations, policies and
      // routes name Servers (and a Namespace) of their own namespace.
      const namespace = resource.namespace ?? 'default';
      return (workload) => workload.namespace === namespace;
    },
    headline(listing: AuthzListing): string {
      if (!listing.sections.length) return 'Linkerd: no port of the workload is known';
      return `Linkerd: ${listing.sections.map(portHeadline).join('; ')}`;
    },
  };
}

/** Where a Linkerd resource says what it attaches to (the editor's hover adds the workloads it reaches there). */
export function linkerdAttachesAt(kind: string, path: NodePath): boolean {
  return path[0] === 'spec' && (
    (kind === 'Server' && (path[1] === 'podSelector' || path[1] === 'externalWorkloadSelector'))
    || (kind === 'ServerAuthorization' && path[1] === 'server')
    || (kind === 'AuthorizationPolicy' && path[1] === 'targetRef')
    || ((kind === 'HTTPRoute' || kind === 'GRPCRoute') && path[1] === 'parentRefs'));
}

const NOT_AUTHORIZATIONS = new Set(['Server', 'loses', 'HTTPRoute', 'GRPCRoute']);

/** `port 8080 Server web-http, 2 authorizations`, or the default policy a port without a Server gets. */
function portHeadline(section: AuthzSection): string {
  const port = section.title.slice(0, section.title.indexOf(':'));
  const server = section.rows.find((r) => r.role === 'Server');
  // (no Server: the first closing line is `defaults()`'s, led by the default policy's label)
  if (!server) return `${port} ${section.summary[0]?.split(':')[0]?.replace(/^the /, '') ?? 'default policy'}`;
  const authorizations = section.rows.filter((r) => !NOT_AUTHORIZATIONS.has(r.role)).length;
  return `${port} Server ${shortName(server.resource)}, ${plural(authorizations, 'authorization')}`;
}

function section(pw: PortWorlds, pod: PodView, compiled: LinkerdPolicies): AuthzSection {
  const rows: AuthzRow[] = [];
  const notes: string[] = [];
  const summary: string[] = [];
  const servers = pw.worlds.filter((w) => w.server);
  const chosen = pw.worlds[0]!;
  for (const ib of servers) {
    const s = ib.server!;
    const maybe = pw.worlds.length > 1 ? [`may select the port: ${pw.missing.join(', ') || 'the pod is not fully known'}`] : [];
    rows.push({ role: 'Server', resource: s.at.label, attachment: `podSelector ${selectorText(s)}, port ${s.port}`, detail: `proxyProtocol ${PROTOCOL_TEXT[s.protocol]}`, notes: maybe, at: s.at });
  }
  for (const skipped of pw.skipped) {
    const s = skipped.server;
    const selector = pod.external ? s.externalSelector : s.podSelector;
    if (skipped.why === 'rejected' && selector && matchSelector(selector, pod.labels) !== 0) notes.push(`${s.at.label} would select the pod but is rejected at admission: ${s.rejected}`);
    if (skipped.why !== 'older') continue;
    rows.push({ role: 'loses', resource: s.at.label, attachment: `podSelector ${selectorText(s)}, port ${s.port}`, detail: `proxyProtocol ${PROTOCOL_TEXT[s.protocol]}`, notes: [`${skipped.older!.at.label} is older and wins the port`], at: s.at });
  }
  for (const ib of pw.worlds) {
    const grpc = ib.protocol === 'grpc';
    for (const { route, match: best } of routesByPrecedence(routesOf(ib), grpc)) {
      if (!route.def || !route.at) continue;
      const routeLevel = route.authzs.slice(0, route.routeLevel);
      const detail = `${plural(route.rules.length, 'rule')}, most specific: ${matchText(best)}${route.hostnames.length ? ` (hostnames ${route.hostnames.map((h) => h.text).join(', ')})` : ''}`;
      rows.push({ role: route.kind, resource: route.label, attachment: `parentRefs ${ib.label}`, detail, notes: [], at: route.at });
      for (const a of routeLevel) rows.push(authzRow(a, compiled, route.label));
    }
    for (const a of ib.authzs) if (a.at && a.kind !== 'localhost') rows.push(authzRow(a, compiled, ib.label));
    notes.push(...ib.notes.map((n) => n.text));
  }
  if (pod.skipPorts.has(pw.port)) notes.push(`port ${pw.port} is in ${ANNOTATION.skipInbound}: its calls bypass the proxy and no policy applies`);
  for (const ib of pw.worlds) summary.push(...defaults(ib));
  return { title: `port ${pw.port}: ${chosen.step.text}`, rows, summary: [...new Set(summary)], notes: [...new Set(notes)] };
}

/** The routes a request on this inbound server must match (spec §2.5): GRPCRoutes on a gRPC Server, none on opaque and TLS ports. */
function routesOf(ib: Inbound): RouteC[] {
  if (ib.protocol === 'opaque' || ib.protocol === 'tls') return [];
  return ib.protocol === 'grpc' ? ib.grpc : ib.http;
}

/** A route match as the precedence reads it: `GET Exact /health`, `PathPrefix /api header x-env: prod`. */
function matchText(m: HttpMatchDef | undefined): string {
  if (!m) return 'every request';
  const parts: string[] = [];
  if (m.grpc) parts.push(`gRPC ${m.grpc.service ?? '*'}/${m.grpc.method ?? '*'}`);
  if (m.method !== undefined) parts.push(m.method);
  if (m.path) parts.push(`${m.path.type} ${m.path.value}`);
  parts.push(...m.headers.map((h) => h.text), ...m.query.map((q) => q.text));
  return parts.length ? parts.join(' ') : 'every request';
}

function selectorText(s: ServerDef): string {
  return (s.podSelector ?? s.externalSelector)?.text ?? '(none)';
}

function authzRow(a: Authz, compiled: LinkerdPolicies, owner: string): AuthzRow {
  const def = compiled.definitionOf(a);
  let attachment: string;
  if (a.kind === 'default') attachment = `accessPolicy of ${owner}`;
  else if (def && 'target' in def) attachment = def.target?.type === 'namespace' ? `targetRef Namespace ${def.namespace}` : def.target?.type === 'route' ? `targetRef ${def.target.kind} ${def.target.name}` : `targetRef Server ${def.target?.type === 'server' ? def.target.name : '?'}`;
  else if (def && 'server' in def) attachment = 'name' in def.server ? `server.name ${def.server.name}` : `server.selector ${def.server.selector.text}`;
  else attachment = owner;
  return { role: a.kind === 'default' ? 'accessPolicy' : a.kind, resource: a.label, attachment, detail: `admits ${a.requires}`, notes: a.audit ? ['audit: admits and flags the call'] : [], at: a.at! };
}

/** What a call meets when nothing else decides (spec §2.3 defaults, §2.6). */
function defaults(ib: Inbound): string[] {
  const out: string[] = [];
  const admitting = ib.authzs.filter((a) => a.kind !== 'localhost');
  // Linkerd's own route for the kubelet's probes, there while no route is attached (spec §2.5).
  const probe = routesOf(ib).find((r) => r.kind === 'probe');
  const but = probe ? 'but localhost and the probe route' : 'but localhost';
  const denied = probe ? 'every other call is denied' : 'every call is denied';
  if (!ib.server) out.push(`${ib.label}: ${admitting.length ? admitting.map((a) => `admits ${a.requires}`).join('; ') : `nothing is authorized (${but}): ${denied}`}`);
  else if (!admitting.length && !routesOf(ib).some((r) => r.def && r.routeLevel > 0)) out.push(`nothing authorizes calls to this Server (${but}): ${denied}`);
  else out.push('a call is allowed only when an authorization admits it');
  if (probe) out.push(probeLine(probe, ib));
  const routes = routesOf(ib).filter((r) => r.def);
  const grpc = ib.protocol === 'grpc';
  // The routes are listed by their most specific match (routesByPrecedence), ties in the order the
  // policy controller sends them (routeOrder); which one a request takes depends on the request
  // (routes.ts selectRoute): a route listed later wins a request its more specific match meets.
  if (routes.length > 1) out.push(`a request takes the route whose match is most specific (${grpc ? 'hostname, then service, method, headers' : 'hostname, then path length with Exact first, method, headers, query parameters'}); on a tie, the one listed first (the older, then the first by name); routes are listed by their most specific match`);
  if (routes.length) out.push(`a request no ${grpc ? 'GRPCRoute' : 'HTTPRoute'} matches is refused (${grpc ? 'gRPC NOT_FOUND' : 'HTTP 404'})`);
  return out;
}

/** `the probe route (no HTTPRoute attached): GET /live, /ready, the pod's HTTP probes on this port, admits any client ... from any network`. */
function probeLine(probe: RouteC, ib: Inbound): string {
  const paths = probe.rules.flatMap((r) => r.matches).map((m) => m.text).join(', ');
  const authz = probe.authzs[0];
  const from = !authz ? '' : authz.allNetworks ? ' from any network' : ` from ${authz.networks.length === 1 ? 'one network' : `${authz.networks.length} networks`} (probeNetworks)`;
  return `the probe route (no ${ib.protocol === 'grpc' ? 'GRPCRoute' : 'HTTPRoute'} attached): ${paths}, the pod's HTTP probes on this port${authz ? `, admits ${authz.requires}${from}` : ''}`;
}

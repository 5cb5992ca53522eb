import type { Check, CheckContext } from '../check';
import type { Fix } from '../../findings';
import { appendDocuments } from '../../trafficFixes/layout';
import { availableName } from '../../audit/generate/yaml';
import { isRec, listText, quote, someText, str } from './lib/common';
import { linkerdModel, policyAdmitsUnauthenticated, routePolicies, routesOf, selectedWorkloads, serverAuthorizations, spec, type LinkerdItem, type LinkerdModel } from './lib/model';
import { PROXY_ADMIN_PORT, PROXY_PROBE_PATHS, describeWorkload, injectionDisabled, selectedPorts, workloadPorts, workloadProbes } from './lib/probes';
import { routeTakesGet } from './lib/routeMatch';

/**
 * Kubelet probes or metrics scrapes that a deny breaks. What Linkerd authorizes by default
 * (§2.3, §2.5; linkerd/linkerd2:policy-controller/k8s/index/src/inbound/index.rs `http_routes`,
 * `default_inbound_http_routes`):
 *
 * - since stable-2.12 (edge-22.8.1, linkerd/linkerd2#9008) a port with no Server, or with a Server
 *   that has no HTTPRoute attached, gets a `probe` route: GET on each httpGet probe path of the
 *   pod, authorized without identity from `probeNetworks` (default everywhere). So a default
 *   `deny` (cluster, namespace or pod annotation) or a Server's `accessPolicy: deny` alone does
 *   not break HTTP probes;
 * - as soon as one HTTPRoute is attached to the Server, that probe route is gone: probe paths no
 *   route takes get 404, and a route that takes them needs an authorization without identity;
 * - opaque and TLS Servers have no routes at all, so an HTTP probe needs a Server-level
 *   authorization without identity;
 * - stable-2.11 authorized no probe automatically (the kubelet authorization was removed in
 *   edge-21.9.2): there, any deny breaks probes. This check assumes 2.12 or later.
 *
 * Reported here (warning): a Server with attached routes that leave the proxy's own probes
 * (`/live`, `/ready` on the admin port 4191) or the workload's httpGet probes (from the
 * inventory) unrouted or unauthorized; an opaque/TLS Server over an HTTP probe port without an
 * unauthenticated authorization; a Server on the proxy admin port that leaves Prometheus's
 * `/metrics` scrape unrouted, or authorizes no client at all.
 */

interface Failure {
  what: string;
  /** The probe's path without its query (a route's Exact match takes any query). */
  path: string;
  kind: 'unrouted' | 'unauthorized' | 'refused';
  routes: string[];
}

type Outcome = { ok: true } | { ok: false; kind: 'unrouted' } | { ok: false; kind: 'unauthorized'; routes: string[] };

/** What happens to an unauthenticated GET of `path` on a Server with attached routes. */
function probeOutcome(model: LinkerdModel, routes: LinkerdItem[], admitsUnauthenticated: boolean, path: string): Outcome {
  const taking = routes.filter((r) => routeTakesGet(r, path));
  if (taking.length === 0) return { ok: false, kind: 'unrouted' };
  if (admitsUnauthenticated || taking.some((r) => routePolicies(model, r).some(policyAdmitsUnauthenticated))) return { ok: true };
  return { ok: false, kind: 'unauthorized', routes: taking.map((r) => r.name) };
}

function isAdminPort(port: unknown): boolean {
  return port === PROXY_ADMIN_PORT || port === 'linkerd-admin';
}

function names(items: LinkerdItem[]): string {
  return someText(items.map((r) => quote(r.name)));
}

export const probesOrScrapesDenied: Check = {
  code: 'MPA2013',
  mesh: 'linkerd',
  title: 'Deny breaks kubelet probes or metrics scrapes',
  defaultSeverity: 'warning',
  upstream: 'none (kubelet probes fail with 404/403 or a refused connection; see linkerd/linkerd2#10691, #10877)',
  kinds: ['Server'],
  run(context) {
    const model = linkerdModel(context.workspace);
    const server = model.itemOf(context.resource);
    if (!server || !server.name) return;
    const s = spec(server);
    const port = s['port'];
    const protocol = str(s['proxyProtocol']) ?? 'unknown';
    const authz = serverAuthorizations(model, server);
    const routes = protocol === 'gRPC' || protocol === 'opaque' || protocol === 'TLS' ? [] : routesOf(model, server);
    const where = { path: ['spec', 'port'] };

    if (isAdminPort(port) && protocol !== 'gRPC' && protocol !== 'opaque' && protocol !== 'TLS') {
      if (routes.length) {
        const outcomes = PROXY_PROBE_PATHS.map((p) => ({ path: p, outcome: probeOutcome(model, routes, authz.admitsUnauthenticated, p) }));
        const unrouted = outcomes.filter((o) => !o.outcome.ok && o.outcome.kind === 'unrouted').map((o) => o.path);
        const unauthorized = outcomes.filter((o) => !o.outcome.ok && o.outcome.kind === 'unauthorized').map((o) => o.path);
        const intro = `HTTPRoutes are attached to this Server (${names(routes)}), so Linkerd no longer adds its default probe route`;
        if (unrouted.length) {
          context.report(where, `${intro}, and no route takes GET ${listText(unrouted)} on the proxy's admin port (${PROXY_ADMIN_PORT}): the proxy's own ${plural(unrouted)} get 404, so the pods never become ready (route those paths and authorize them without identity, from the node network)`,
            probeRouteFix(context, model, server, routes, unrouted));
        } else if (unauthorized.length) {
          context.report(where, `${intro}; GET ${listText(unauthorized)} on the proxy's admin port (${PROXY_ADMIN_PORT}) reach a route, but nothing there authorizes clients without mesh identity, as the kubelet is: the proxy's own ${plural(unauthorized)} get 403, so the pods never become ready`);
        }
        if (!routes.some((r) => routeTakesGet(r, '/metrics'))) {
          context.report(where, `no HTTPRoute attached to this Server (${names(routes)}) takes GET /metrics on the proxy's admin port (${PROXY_ADMIN_PORT}): Prometheus scrapes of the proxy's metrics get 404`);
        }
      } else if (authz.none) {
        context.report(where, `this Server covers the proxy's admin port (${PROXY_ADMIN_PORT}) and authorizes no client (accessPolicy ${authz.accessPolicy}, and no AuthorizationPolicy or ServerAuthorization applies to it): Prometheus scrapes of /metrics are denied (kubelet probes still pass through Linkerd's default probe route)`);
      }
      return;
    }

    const inventory = context.workspace.inventory;
    const selector = s['podSelector'];
    if (!inventory.present || !isRec(selector)) return;
    const connectionLevel = protocol === 'opaque' || protocol === 'TLS';
    if (!connectionLevel && routes.length === 0) return;
    if (connectionLevel && authz.admitsUnauthenticated) return;
    const failures: Failure[] = [];
    for (const workload of selectedWorkloads(inventory, server)) {
      if (injectionDisabled(workload)) continue;
      const ports = selectedPorts(workloadPorts(context.workspace, workload), port);
      for (const probe of workloadProbes(context.workspace, workload)) {
        if (!ports.includes(probe.port)) continue;
        const what = `GET ${probe.path} (${probe.type} probe of ${describeWorkload(workload)}, port ${probe.port})`;
        const path = probe.path.split('?')[0]!;
        if (connectionLevel) {
          failures.push({ what, path, kind: 'refused', routes: [] });
          continue;
        }
        const outcome = probeOutcome(model, routes, authz.admitsUnauthenticated, probe.path);
        if (!outcome.ok) failures.push({ what, path, kind: outcome.kind, routes: outcome.kind === 'unauthorized' ? outcome.routes : [] });
      }
    }
    const unique = (list: Failure[]) => [...new Set(list.map((f) => f.what))];
    const refused = unique(failures.filter((f) => f.kind === 'refused'));
    if (refused.length) {
      context.report(where, `this Server makes the port ${protocol === 'TLS' ? 'TLS' : 'opaque'}, so Linkerd's default probe route does not apply, and nothing on it authorizes clients without mesh identity, as the kubelet is: ${listText(refused)} ${refused.length === 1 ? 'is' : 'are'} refused (add an AuthorizationPolicy for this Server with a NetworkAuthentication for the node network)`);
    }
    const intro = `HTTPRoutes are attached to this Server (${names(routes)}), so Linkerd no longer authorizes probes by default`;
    const unroutedFailures = failures.filter((f) => f.kind === 'unrouted');
    const unrouted = unique(unroutedFailures);
    if (unrouted.length) {
      context.report(where, `${intro}, and no route takes the kubelet's ${listText(unrouted)}: ${unrouted.length === 1 ? 'the probe gets' : 'the probes get'} 404 (add a route for the probe ${unrouted.length === 1 ? 'path' : 'paths'} and authorize it without identity, from the node network)`,
        probeRouteFix(context, model, server, routes, [...new Set(unroutedFailures.map((f) => f.path))]));
    }
    const unauthorized = failures.filter((f) => f.kind === 'unauthorized');
    if (unauthorized.length) {
      const via = [...new Set(unauthorized.flatMap((f) => f.routes))].map(quote);
      const list = unique(unauthorized);
      context.report(where, `${intro}; the kubelet's ${listText(list)} ${list.length === 1 ? 'reaches' : 'reach'} ${listText(via)}, but nothing there authorizes clients without mesh identity, as the kubelet is: ${list.length === 1 ? 'the probe gets' : 'the probes get'} 403`);
    }
  },
};

function plural(paths: string[]): string {
  return paths.length === 1 ? (paths[0] === '/live' ? 'liveness probe' : 'readiness probe') : 'liveness and readiness probes';
}

/**
 * The route Linkerd would have added itself had no HTTPRoute been attached: GET on the probe
 * paths (Exact, so any query), authorized without identity from everywhere (Linkerd's default
 * `probeNetworks`), as three new documents at the end of the Server's file. Offered, not
 * preferred: it admits clients without identity to those paths, and the networks are best
 * narrowed to the nodes'.
 */
function probeRouteFix(context: CheckContext, model: LinkerdModel, server: LinkerdItem, routes: LinkerdItem[], paths: string[]): { fixes: Fix[] } | undefined {
  if (context.file.format !== 'yaml' || !paths.length) return undefined;
  const namespace = server.namespace;
  const free = (kind: string, wanted: string) => availableName(wanted, new Set(model.named(namespace, kind).map((item) => item.name)));
  const routeName = free('HTTPRoute', `${server.name}-probes`);
  const authnName = free('NetworkAuthentication', `${server.name}-probes`);
  const policyName = free('AuthorizationPolicy', `${server.name}-probes`);
  const meta = (name: string) => ({ name, namespace });
  const apiVersion = str(routes[0]?.value['apiVersion']) ?? 'policy.linkerd.io/v1beta3';
  const routeGroup = apiVersion.split('/')[0]!;
  const documents = [
    {
      apiVersion, kind: 'HTTPRoute', metadata: meta(routeName),
      spec: {
        parentRefs: [{ group: 'policy.linkerd.io', kind: 'Server', name: server.name }],
        rules: [{ matches: paths.map((path) => ({ path: { type: 'Exact', value: path }, method: 'GET' })) }],
      },
    },
    { apiVersion: 'policy.linkerd.io/v1alpha1', kind: 'NetworkAuthentication', metadata: meta(authnName), spec: { networks: [{ cidr: '0.0.0.0/0' }, { cidr: '::/0' }] } },
    {
      apiVersion: 'policy.linkerd.io/v1alpha1', kind: 'AuthorizationPolicy', metadata: meta(policyName),
      spec: {
        targetRef: { group: routeGroup, kind: 'HTTPRoute', name: routeName },
        requiredAuthenticationRefs: [{ group: 'policy.linkerd.io', kind: 'NetworkAuthentication', name: authnName }],
      },
    },
  ];
  const edit = appendDocuments(context.file, documents, 'kubelet probes: GET on the probe paths without identity, as Linkerd authorizes them when no route is attached (narrow the networks to your nodes\' where you can)');
  return { fixes: [{ title: `Add HTTPRoute ${routeName} for the probe ${paths.length === 1 ? 'path' : 'paths'} ${listText(paths)}, authorized without identity`, edits: [edit] }] };
}

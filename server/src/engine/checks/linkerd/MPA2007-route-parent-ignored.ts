import type { Check } from '../check';
import { addFieldFix, arr, isRec, POLICY_GROUP, quote, removeFieldFix, str } from './lib/common';
import { linkerdModel, serverParents, type LinkerdItem } from './lib/model';

/** A route whose Server parentRef the policy controller refuses: another namespace, a port or a
 * sectionName (linkerd/linkerd2:policy-controller/k8s/index/src/inbound/routes.rs
 * `from_http_parent_ref`). The API accepts the route; Linkerd drops the whole route ("Ignoring
 * HTTPRoute"), so none of its rules apply and the Server keeps its default routes. Also a
 * parentRef that names a Server of the namespace but leaves `kind` out: the kind then defaults
 * to Gateway and the route is not attached to the Server at all. And a route whose kind the
 * Server's `proxyProtocol` does not serve: the controller sends a `gRPC` Server's port only its
 * GRPCRoutes, an `unknown`, `HTTP/1` or `HTTP/2` one only its HTTPRoutes, an `opaque` or `TLS`
 * one no routes (linkerd/linkerd2:policy-controller/grpc/src/inbound.rs `to_server`). */

const MESSAGES = {
  namespace: 'route resource may not reference a parent Server in an other namespace',
  port: 'route resource may not reference a parent by port',
  sectionName: 'route resource may not reference a parent by section name',
} as const;

/** The route kind the policy controller sends a Server's port, by `proxyProtocol` (`to_server`). */
const ROUTE_KIND_SERVED: Record<string, string | undefined> = { 'unknown': 'HTTPRoute', 'HTTP/1': 'HTTPRoute', 'HTTP/2': 'HTTPRoute', 'gRPC': 'GRPCRoute', 'opaque': undefined, 'TLS': undefined };

/** The Server's `proxyProtocol` (`unknown` when left out); undefined for a value the CRD refuses. */
function proxyProtocolOf(server: LinkerdItem): string | undefined {
  const spec = server.value['spec'];
  const protocol = isRec(spec) ? spec['proxyProtocol'] : undefined;
  if (protocol === undefined) return 'unknown';
  return typeof protocol === 'string' && Object.hasOwn(ROUTE_KIND_SERVED, protocol) ? protocol : undefined;
}

export const routeParentIgnored: Check = {
  code: 'MPA2007',
  mesh: 'linkerd',
  title: 'Route ignored because of its Server parentRef',
  defaultSeverity: 'warning',
  upstream: 'Linkerd policy controller: "Ignoring HTTPRoute" (route resource may not reference a parent Server in an other namespace / by port / by section name)',
  kinds: ['HTTPRoute', 'GRPCRoute'],
  run(context) {
    const model = linkerdModel(context.workspace);
    const item = model.itemOf(context.resource);
    if (!item) return;
    const kind = context.resource.kind;
    for (const parent of serverParents(item)) {
      if (!parent.problem) continue;
      const path = ['spec', 'parentRefs', parent.index];
      const upstream = MESSAGES[parent.problem];
      if (parent.problem === 'namespace') {
        context.report({ path: [...path, 'namespace'] }, `a ${kind} can only attach to a Server in its own namespace (${item.namespace}), not ${quote(String(parent.ref['namespace']))}: Linkerd ignores the whole route ("${upstream}")`);
      } else {
        const field = parent.problem;
        context.report({ path: [...path, field], part: 'key' }, `a Server parentRef takes no ${field} (a Server already is one port): Linkerd ignores the whole route ("${upstream}"), so none of its rules apply`, {
          fixes: removeFieldFix(context, path, field, `Remove ${field}`),
        });
      }
    }
    if (!serverParents(item).some((p) => p.problem)) {
      for (const parent of serverParents(item)) {
        const server = model.find(item.namespace, 'Server', parent.name, POLICY_GROUP);
        if (!server) continue;
        const protocol = proxyProtocolOf(server);
        if (protocol === undefined) continue;
        const served = ROUTE_KIND_SERVED[protocol];
        if (served === kind) continue;
        const consequence = served ? `Linkerd sends that port only its ${served}s` : 'Linkerd sends that port no routes';
        context.report({ path: ['spec', 'parentRefs', parent.index, 'name'] }, `Server ${quote(parent.name)} has proxyProtocol ${protocol}: ${consequence}, so this ${kind} is not used there and none of its rules apply`);
      }
    }
    // `kind` left out: it defaults to Gateway. Only when a Server of that name exists, so that
    // routes meant for a real Gateway are left alone.
    if (context.resource.entry.group !== POLICY_GROUP) return;
    const spec = context.value['spec'];
    arr(isRec(spec) ? spec['parentRefs'] : undefined).forEach((raw, index) => {
      if (!isRec(raw) || raw['kind'] !== undefined) return;
      const name = str(raw['name']);
      if (!name || !model.find(item.namespace, 'Server', name)) return;
      context.report({ path: ['spec', 'parentRefs', index, 'name'] }, `this parentRef has no kind, so it means a Gateway named ${quote(name)}, not the Server ${quote(name)}: the route is not attached to the Server (write kind: Server)`, {
        fixes: addFieldFix(context, ['spec', 'parentRefs', index], 'kind', 'Server', 'Add kind: Server'),
      });
    });
  },
};

import type { Check } from '../check';
import { addFieldFix, arr, isRec, POLICY_GROUP, quote, removeFieldFix, str } from './lib/common';
import { linkerdModel, serverParents } from './lib/model';

/** A route whose Server parentRef the policy controller refuses: another namespace, a port or a
 * sectionName (linkerd/linkerd2:policy-controller/k8s/index/src/inbound/routes.rs
 * `from_http_parent_ref`). The API accepts the route; Linkerd drops the whole route ("Ignoring
 * HTTPRoute"), so none of its rules apply and the Server keeps its default routes. Also a
 * parentRef that names a Server of the namespace but leaves `kind` out: the kind then defaults
 * to Gateway and the route is not attached to the Server at all. */

const MESSAGES = {
  namespace: 'route resource may not reference a parent Server in an other namespace',
  port: 'route resource may not reference a parent by port',
  sectionName: 'route resource may not reference a parent by section name',
} as const;

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

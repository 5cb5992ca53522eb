import type { Check, CheckContext } from '../check';
import { GATEWAY_GROUP, POLICY_GROUP, closest, isRec, quote, rec, replaceFix, someText, str } from './lib/common';
import { linkerdModel, policyTarget, serverParents, spec, type LinkerdItem, type LinkerdModel } from './lib/model';
import { selectorMatches } from './lib/selectors';

/** A policy or route whose Server or route does not exist in the workspace. Nothing rejects
 * it: an AuthorizationPolicy or ServerAuthorization that reaches no Server authorizes nothing,
 * a route whose parent Server is missing is not accepted ("NoMatchingParent"). Reported only
 * when the workspace has at least one object of the missing kind in that namespace (so that
 * Servers kept in another repository do not make every policy suspect). */

function names(items: LinkerdItem[]): string {
  return someText(items.map((i) => quote(i.name)));
}

function reportMissingServer(context: CheckContext, model: LinkerdModel, namespace: string, name: string, path: (string | number)[], consequence: string): void {
  const servers = model.named(namespace, 'Server');
  if (servers.length === 0 || model.find(namespace, 'Server', name)) return;
  const near = closest(name, servers.map((s) => s.name));
  context.report({ path }, `Server ${quote(name)} does not exist in namespace ${namespace} (it has ${names(servers)}): ${consequence}`,
    near ? { fixes: replaceFix(context, path, near, `Change to ${quote(near)}`) } : undefined);
}

function checkPolicy(context: CheckContext, model: LinkerdModel, self: LinkerdItem): void {
  const target = policyTarget(self);
  const path = ['spec', 'targetRef', 'name'];
  if (target?.type === 'server') {
    reportMissingServer(context, model, self.namespace, target.name, path, 'this AuthorizationPolicy authorizes nothing until it does');
  } else if (target?.type === 'route') {
    const routeLists = [model.named(self.namespace, 'HTTPRoute', POLICY_GROUP), model.named(self.namespace, 'HTTPRoute', GATEWAY_GROUP), model.named(self.namespace, 'GRPCRoute', GATEWAY_GROUP)];
    if (routeLists.every((l) => l.length === 0)) return;
    const wanted = target.name.toLowerCase();
    const sameKind = model.named(self.namespace, target.kind, target.group);
    if (sameKind.some((r) => r.name.toLowerCase() === wanted)) return;
    const attached = target.group === GATEWAY_GROUP ? ' attached to a Linkerd Server' : '';
    const otherGroup = routeLists.flat().find((r) => r.kind === target.kind && r.group !== target.group && r.name.toLowerCase() === wanted);
    if (otherGroup) {
      context.report({ path: ['spec', 'targetRef', 'group'] }, `no ${target.kind} of group ${target.group} named ${quote(target.name)} is in namespace ${self.namespace}${attached}, but there is one of group ${otherGroup.group}: a policy targets its route by group, kind and name, so this one authorizes nothing`, {
        fixes: replaceFix(context, ['spec', 'targetRef', 'group'], otherGroup.group, `Change group to ${otherGroup.group}`),
      });
      return;
    }
    const candidates = [...new Set(sameKind.map((r) => r.name))];
    const near = closest(target.name, candidates);
    const known = candidates.length ? ` (it has ${someText(candidates.map(quote))})` : '';
    context.report({ path }, `no ${target.kind} of group ${target.group} named ${quote(target.name)} is in namespace ${self.namespace}${attached}${known}: this AuthorizationPolicy authorizes nothing until it exists`,
      near ? { fixes: replaceFix(context, path, near, `Change to ${quote(near)}`) } : undefined);
  }
}

function checkServerAuthorization(context: CheckContext, model: LinkerdModel, self: LinkerdItem): void {
  const server = rec(spec(self)['server']);
  const name = str(server['name']);
  if (name !== undefined) {
    reportMissingServer(context, model, self.namespace, name, ['spec', 'server', 'name'], 'this ServerAuthorization authorizes nothing until it does');
    return;
  }
  const selector = server['selector'];
  if (!isRec(selector)) return;
  const servers = model.named(self.namespace, 'Server');
  if (servers.length === 0) return;
  const matched = servers.some((s) => selectorMatches(selector, rec(rec(s.value['metadata'])['labels']) as Record<string, string>));
  if (!matched) {
    context.report({ path: ['spec', 'server', 'selector'], part: 'key' }, `server.selector matches the labels of no Server in namespace ${self.namespace} (it has ${names(servers)}; the selector is compared with the Servers' own metadata.labels, not with pod labels): this ServerAuthorization authorizes nothing`);
  }
}

function checkRoute(context: CheckContext, model: LinkerdModel, self: LinkerdItem): void {
  const parents = serverParents(self);
  if (parents.some((p) => p.problem)) return; // MPA2007: the route is ignored anyway.
  for (const parent of parents) {
    reportMissingServer(context, model, self.namespace, parent.name, ['spec', 'parentRefs', parent.index, 'name'], `Linkerd does not accept the route for it ("NoMatchingParent"), so its rules and the policies that target it have no effect`);
  }
}

export const targetNotFound: Check = {
  code: 'MPA2010',
  mesh: 'linkerd',
  title: 'Target Server or route does not exist',
  defaultSeverity: 'warning',
  upstream: 'Linkerd policy controller: route status "NoMatchingParent"; policies whose target does not exist are indexed but apply to nothing',
  kinds: ['AuthorizationPolicy', 'ServerAuthorization', 'HTTPRoute', 'GRPCRoute'],
  run(context) {
    const model = linkerdModel(context.workspace);
    const self = model.itemOf(context.resource);
    if (!self) return;
    if (self.kind === 'AuthorizationPolicy') checkPolicy(context, model, self);
    else if (self.kind === 'ServerAuthorization') checkServerAuthorization(context, model, self);
    else if (self.group === POLICY_GROUP || self.group === GATEWAY_GROUP) checkRoute(context, model, self);
  },
};

import { replaceScalar } from '../edits';
import type { Range, TextEdit } from '../findings';
import type { ShapeOutcome } from '../simulate';
import type { SourceFile } from '../source/sourceFile';
import { nodeAt as treeNodeAt } from '../source/tree';
import {
  asList, asRecord, describeCall, empty, newResource, nodeAt, notOffered, resourceAtRange, resourceAtRef, resourcesOf, unique, valueAt, verified,
  type FixContext, type Located, type MeshTrafficFixes, type TrafficFix, type TrafficFixResult,
} from './common';
import { appendDocuments, insertField, insertItems, removeItem, replaceItem } from './layout';

/**
 * Linkerd fixes (mesh-semantics §2). Linkerd authorizes and never denies: whatever no
 * authorization admits is refused, so "deny" means taking an identity out of what admits it.
 */

const POLICY_API = 'policy.linkerd.io/v1alpha1';

interface Ref {
  group?: string;
  kind?: string;
  name?: string;
  namespace?: string;
}

function label(located: Located): string {
  return `${located.resource.namespace ?? 'default'}/${located.resource.name ?? '?'}`;
}

function refsOf(policy: Located): Ref[] {
  return asList(valueAt(policy.resource, ['spec', 'requiredAuthenticationRefs'])).map((r) => asRecord(r) as Ref);
}

function targetOf(policy: Located): Ref {
  return asRecord(valueAt(policy.resource, ['spec', 'targetRef'])) as Ref;
}

/** AuthorizationPolicies that reach a Server or one of its routes. */
function policiesFor(context: FixContext, namespace: string | undefined, targets: { kind: string; name: string }[]): Located[] {
  return resourcesOf(context.workspace, 'linkerd', 'AuthorizationPolicy').filter((p) => {
    if (p.resource.namespace !== namespace) return false;
    const target = targetOf(p);
    return target.kind === 'Namespace' || targets.some((t) => t.kind === target.kind && t.name.toLowerCase() === String(target.name ?? '').toLowerCase());
  });
}

function authenticationFor(context: FixContext, policy: Located, ref: Ref): Located | undefined {
  const namespace = ref.namespace ?? policy.resource.namespace;
  return resourcesOf(context.workspace, 'linkerd', 'MeshTLSAuthentication').find((a) => a.resource.name === ref.name && a.resource.namespace === namespace);
}

function identityMatches(pattern: unknown, identity: string): boolean {
  const p = String(pattern);
  if (p === '*') return true;
  if (p.startsWith('*.')) return identity.endsWith(p.slice(1));
  return p === identity;
}

/** The Server and the route that decided a call, from the decision's refs. */
function serverAndRoute(context: FixContext, outcome: ShapeOutcome): { server?: Located; route?: Located } {
  const fromPolicy = resourceAtRef(context.workspace, outcome.decision.policy);
  const fromRule = resourceAtRef(context.workspace, outcome.decision.rule);
  const server = fromPolicy?.resource.kind === 'Server' ? fromPolicy
    : fromPolicy?.resource.kind === 'AuthorizationPolicy' && targetOf(fromPolicy).kind === 'Server' ? resourcesOf(context.workspace, 'linkerd', 'Server').find((s) => s.resource.name === targetOf(fromPolicy).name && s.resource.namespace === fromPolicy.resource.namespace) : undefined;
  const route = fromRule && /Route$/.test(fromRule.resource.kind) ? fromRule : undefined;
  return { ...(server ? { server } : {}), ...(route ? { route } : {}) };
}

function routeGroup(route: Located): string {
  return (route.resource.apiVersion ?? POLICY_API).split('/')[0]!;
}

function addIdentity(authn: Located, principal: string, outcome: ShapeOutcome): TextEdit | undefined {
  const identities = nodeAt(authn.resource, ['spec', 'identities']);
  if (identities?.type === 'array') return insertItems(authn.file, identities, [principal]);
  const { serviceAccount, namespace } = outcome.shape.record.source ?? {};
  const identityRefs = nodeAt(authn.resource, ['spec', 'identityRefs']);
  if (identityRefs?.type === 'array' && serviceAccount && namespace) return insertItems(authn.file, identityRefs, [{ kind: 'ServiceAccount', name: serviceAccount, namespace }]);
  const spec = nodeAt(authn.resource, ['spec']);
  return spec?.type === 'object' ? insertField(authn.file, spec, 'identities', [principal]) : undefined;
}

function allowCall(context: FixContext, outcome: ShapeOutcome): TrafficFixResult {
  const { record } = outcome.shape;
  const principal = record.source?.principal;
  if (!principal) return notOffered('the caller has no mesh identity; allowing it needs a NetworkAuthentication for its address');
  if (outcome.decision.status === 404) return notOffered('no route of the Server matches the request (HTTP 404): add a route, not an authorization');
  const { server, route } = serverAndRoute(context, outcome);
  if (!server) return notOffered('the call was decided by the default inbound policy (no Server selects the port); add a Server first');
  const call = describeCall(record);
  const allowed = (d: { verdict: string }) => d.verdict === 'allow';
  const targets = [{ kind: 'Server', name: server.resource.name ?? '' }, ...(route ? [{ kind: route.resource.kind, name: route.resource.name ?? '' }] : [])];
  const policies = policiesFor(context, server.resource.namespace, targets);
  const result: TrafficFixResult = { fixes: [], notOffered: [] };
  for (const policy of policies) {
    for (const ref of refsOf(policy)) {
      if (ref.kind !== 'MeshTLSAuthentication') continue;
      const authn = authenticationFor(context, policy, ref);
      const edit = authn && addIdentity(authn, principal, outcome);
      if (!authn || !edit) continue;
      const fix: TrafficFix = { kind: 'allow', file: authn.file.path, title: `Allow ${call}: add the identity to MeshTLSAuthentication ${label(authn)} (used by ${label(policy)})`, edits: [edit], preferred: true };
      const ok = verified(context, authn.file, fix, [record], allowed);
      if (ok) {
        result.fixes.push(ok);
        return result;
      }
    }
  }
  const target = route ?? server;
  const home = policies.find((p) => p.file.format === 'yaml') ?? (target.file.format === 'yaml' ? target : undefined);
  if (!home) return notOffered('no YAML file to add an AuthorizationPolicy to');
  const namespace = server.resource.namespace;
  const wanted = `${target.resource.name}-${record.source?.serviceAccount ?? 'observed'}`;
  const newAuthentication = newResource(context, { mesh: 'linkerd', kind: 'MeshTLSAuthentication', namespace }, wanted);
  const newPolicy = newResource(context, { mesh: 'linkerd', kind: 'AuthorizationPolicy', namespace }, wanted);
  const authnName = newAuthentication.name;
  const policyName = newPolicy.name;
  const documents = [
    meshTlsAuthentication(authnName, namespace, [principal]),
    {
      apiVersion: POLICY_API, kind: 'AuthorizationPolicy', metadata: { name: policyName, ...(namespace ? { namespace } : {}) },
      spec: {
        targetRef: { group: target === server ? 'policy.linkerd.io' : routeGroup(target), kind: target.resource.kind, name: target.resource.name },
        requiredAuthenticationRefs: [{ group: 'policy.linkerd.io', kind: 'MeshTLSAuthentication', name: authnName }],
      },
    },
  ];
  const fix: TrafficFix = { kind: 'allow', file: home.file.path, title: `Allow ${call}: new AuthorizationPolicy ${policyName} on ${target.resource.kind} ${target.resource.name} with MeshTLSAuthentication ${authnName}`, edits: [appendDocuments(home.file, documents)], preferred: true, creates: [newAuthentication, newPolicy] };
  const ok = verified(context, home.file, fix, [record], allowed);
  return ok ? { fixes: [ok], notOffered: [] } : notOffered(`a new AuthorizationPolicy on ${target.resource.kind} ${target.resource.name} would not admit the call (${outcome.decision.reason})`);
}

function meshTlsAuthentication(name: string, namespace: string | undefined, identities: string[]): Record<string, unknown> {
  return { apiVersion: POLICY_API, kind: 'MeshTLSAuthentication', metadata: { name, ...(namespace ? { namespace } : {}) }, spec: { identities } };
}

/** Authentications of the policy that allowed the call, with the list entry that admits the caller. */
function denyCall(context: FixContext, outcome: ShapeOutcome): TrafficFixResult {
  const { record } = outcome.shape;
  const why = 'Linkerd has no deny rule: a call is refused when no authorization admits it, so this call can only be denied by narrowing what admits it';
  const policy = resourceAtRef(context.workspace, outcome.decision.policy);
  const principal = record.source?.principal;
  if (!policy || policy.resource.kind !== 'AuthorizationPolicy' || !principal) return notOffered(`${why}; the call is admitted by ${outcome.decision.policy?.label ?? 'a default policy'}, which names no identity to remove`);
  const denied = (d: { verdict: string }) => d.verdict === 'deny';
  const call = describeCall(record);
  const result: TrafficFixResult = { fixes: [], notOffered: [why] };
  for (const ref of refsOf(policy)) {
    if (ref.kind !== 'MeshTLSAuthentication') continue;
    const authn = authenticationFor(context, policy, ref);
    const identities = authn && nodeAt(authn.resource, ['spec', 'identities']);
    if (!authn || identities?.type !== 'array') continue;
    const values = asList(valueAt(authn.resource, ['spec', 'identities']));
    const index = values.findIndex((v) => identityMatches(v, principal));
    if (index < 0) continue;
    let edit: TextEdit;
    if (values[index] === principal) {
      if (values.length === 1) continue;
      edit = removeItem(authn.file, identities, index);
    } else {
      const others = observedIdentities(context, authn).filter((id) => id !== principal && identityMatches(values[index], id));
      if (others.length === 0) continue;
      edit = replaceItem(authn.file, identities, index, others);
    }
    const fix: TrafficFix = { kind: 'deny', file: authn.file.path, title: `Deny ${call}: stop MeshTLSAuthentication ${label(authn)} admitting ${principal}`, edits: [edit] };
    const ok = verified(context, authn.file, fix, [record], denied);
    if (ok) result.fixes.push(ok);
  }
  return result;
}

/** Identities of calls admitted by policies that use this MeshTLSAuthentication. */
function observedIdentities(context: FixContext, authn: Located): string[] {
  const users = resourcesOf(context.workspace, 'linkerd', 'AuthorizationPolicy').filter((p) => refsOf(p).some((r) => r.kind === 'MeshTLSAuthentication' && authenticationFor(context, p, r)?.resource === authn.resource));
  const labels = new Set(users.map((p) => `AuthorizationPolicy ${label(p)}`));
  return unique(context.outcomes.filter((o) => o.decision.verdict === 'allow' && o.decision.policy && labels.has(o.decision.policy.label)).map((o) => o.shape.record.source?.principal).filter((p): p is string => !!p)).sort();
}

function narrowWildcard(context: FixContext, file: SourceFile, range: Range): TrafficFixResult {
  const located = resourceAtRange(context.workspace, file.path, range);
  if (!located || located.resource.kind !== 'MeshTLSAuthentication') return empty();
  const { path } = treeNodeAt(located.resource.node, file.lines.offset(range.start));
  if (path[0] !== 'spec' || path[1] !== 'identities' || typeof path[2] !== 'number') return empty();
  const list = nodeAt(located.resource, ['spec', 'identities']);
  const item = list?.type === 'array' ? list.items[path[2]] : undefined;
  if (list?.type !== 'array' || item?.type !== 'scalar' || typeof item.value !== 'string' || !item.value.startsWith('*')) return empty();
  const pattern = item.value;
  const identities = observedIdentities(context, located).filter((id) => identityMatches(pattern, id));
  if (identities.length === 0) return notOffered(`no observed call was admitted through "${pattern}"`);
  const fix: TrafficFix = { kind: 'narrow', file: file.path, title: `Narrow "${pattern}" to the ${identities.length} observed identit${identities.length === 1 ? 'y' : 'ies'}`, edits: [replaceItem(file, list, path[2], identities)] };
  const admitted = context.outcomes.filter((o) => o.decision.verdict === 'allow' && o.shape.record.source?.principal && identities.includes(o.shape.record.source.principal));
  const ok = verified(context, file, fix, admitted.map((o) => o.shape.record), (d) => d.verdict === 'allow');
  return ok ? { fixes: [ok], notOffered: [] } : notOffered(`narrowing "${pattern}" would deny observed calls`);
}

/** Audit mode: the Server's `accessPolicy: audit` (policy.linkerd.io/v1beta3) admits what nothing else does, flagged. */
function shadowPolicy(context: FixContext, file: SourceFile, range: Range): TrafficFixResult {
  const located = resourceAtRange(context.workspace, file.path, range);
  if (!located) return empty();
  let server: Located | undefined;
  if (located.resource.kind === 'Server') server = located;
  else if (located.resource.kind === 'AuthorizationPolicy' && targetOf(located).kind === 'Server') {
    server = resourcesOf(context.workspace, 'linkerd', 'Server').find((s) => s.resource.name === targetOf(located).name && s.resource.namespace === located.resource.namespace);
  }
  if (!server) return empty();
  if (!/\/v1beta3$/.test(server.resource.apiVersion ?? '')) return notOffered(`accessPolicy needs Server policy.linkerd.io/v1beta3 (Linkerd 2.16+); ${label(server)} is ${server.resource.apiVersion ?? 'unversioned'}`);
  const current = nodeAt(server.resource, ['spec', 'accessPolicy']);
  if (current?.type === 'scalar' && current.value === 'audit') return empty();
  const spec = nodeAt(server.resource, ['spec']);
  const edit = current ? replaceScalar(server.file, current, 'audit') : spec?.type === 'object' ? insertField(server.file, spec, 'accessPolicy', 'audit') : undefined;
  if (!edit) return empty();
  const fix: TrafficFix = { kind: 'audit', file: server.file.path, title: `Audit Server ${label(server)}: admit what its authorizations refuse, and flag it (accessPolicy: audit)`, edits: [edit] };
  const refused = context.outcomes.filter((o) => o.decision.verdict === 'deny' && o.decision.status !== 404 && o.decision.policy?.label === `Server ${label(server!)}`);
  if (refused.length === 0) return { fixes: [fix], notOffered: [] };
  const ok = verified(context, server.file, fix, refused.slice(0, 20).map((o) => o.shape.record), (d) => d.verdict === 'allow' && d.audited === true);
  return ok ? { fixes: [ok], notOffered: [] } : notOffered('the simulator does not admit the refused calls as audited after the edit');
}

/**
 * A MeshTLSAuthentication for the identities observed calling the policy's target, appended to
 * the policy's file and referenced by it. Offered for policies that name no identity yet.
 */
export function createMeshTlsAuthentication(context: FixContext, file: SourceFile, range: Range): TrafficFixResult {
  const policy = resourceAtRange(context.workspace, file.path, range);
  if (!policy || policy.resource.kind !== 'AuthorizationPolicy') return empty();
  if (refsOf(policy).some((r) => r.kind === 'MeshTLSAuthentication' || r.kind === 'ServiceAccount')) return empty();
  if (file.format !== 'yaml') return notOffered('a new document can only be appended to a YAML file');
  const target = targetOf(policy);
  const policyLabel = `AuthorizationPolicy ${label(policy)}`;
  const targetLabel = `${target.kind} ${policy.resource.namespace ?? 'default'}/${target.name}`;
  const calls = context.outcomes.filter((o) => o.shape.record.source?.principal && (o.decision.policy?.label === policyLabel || (o.decision.verdict === 'deny' && o.decision.status !== 404 && (o.decision.policy?.label === targetLabel || o.decision.rule?.label.startsWith(targetLabel)))));
  const identities = unique(calls.map((o) => o.shape.record.source!.principal!)).sort();
  if (identities.length === 0) return notOffered(`no call with a mesh identity was observed at ${targetLabel}`);
  const created = newResource(context, { mesh: 'linkerd', kind: 'MeshTLSAuthentication', namespace: policy.resource.namespace }, `${policy.resource.name}-clients`);
  const name = created.name;
  const ref = { group: 'policy.linkerd.io', kind: 'MeshTLSAuthentication', name };
  const refs = nodeAt(policy.resource, ['spec', 'requiredAuthenticationRefs']);
  const spec = nodeAt(policy.resource, ['spec']);
  const reference = refs?.type === 'array' ? insertItems(file, refs, [ref]) : spec?.type === 'object' ? insertField(file, spec, 'requiredAuthenticationRefs', [ref]) : undefined;
  if (!reference) return empty();
  const fix: TrafficFix = {
    kind: 'create-authentication', file: file.path,
    title: `Create MeshTLSAuthentication ${name} for the ${identities.length} observed identit${identities.length === 1 ? 'y' : 'ies'} and require it in ${label(policy)}`,
    edits: [reference, appendDocuments(file, [meshTlsAuthentication(name, policy.resource.namespace, identities)])],
    creates: [created],
  };
  const ok = verified(context, file, fix, calls.map((o) => o.shape.record), (d) => d.verdict === 'allow');
  return ok ? { fixes: [ok], notOffered: [] } : notOffered(`the new MeshTLSAuthentication would not admit every observed identity at ${targetLabel}`);
}

export const linkerdTrafficFixes: MeshTrafficFixes = {
  mesh: 'linkerd',
  allowCall,
  denyCall,
  narrowWildcard,
  shadowPolicy,
};

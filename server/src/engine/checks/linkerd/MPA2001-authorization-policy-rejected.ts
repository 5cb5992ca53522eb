import type { Fix } from '../../findings';
import type { Check, CheckContext } from '../check';
import { GATEWAY_GROUP, POLICY_GROUP, addFieldFix, arr, canonicalKind, isRec, namespaceOf, quote, replaceFix, str, targetsKind, type Rec } from './lib/common';
import { authnRefKind, linkerdModel } from './lib/model';

/** The AuthorizationPolicy rules of Linkerd's admission webhook that the JSON schema cannot
 * express (linkerd/linkerd2:policy-controller/runtime/src/admission.rs, `Validate<AuthorizationPolicySpec>`,
 * and k8s/index/src/inbound/authorization_policy.rs `target`, `authentication_ref`). */

const TARGETS: { group: string; kind: string }[] = [
  { group: POLICY_GROUP, kind: 'Server' },
  { group: POLICY_GROUP, kind: 'HTTPRoute' },
  { group: GATEWAY_GROUP, kind: 'HTTPRoute' },
  { group: GATEWAY_GROUP, kind: 'GRPCRoute' },
  { group: 'core', kind: 'Namespace' },
];

const AUTHENTICATIONS: { group: string; kind: string }[] = [
  { group: POLICY_GROUP, kind: 'MeshTLSAuthentication' },
  { group: POLICY_GROUP, kind: 'NetworkAuthentication' },
  { group: 'core', kind: 'ServiceAccount' },
];

function groupText(group: string): string {
  return group === 'core' ? 'the core group (no group)' : `group ${group}`;
}

/** Fixes that put the right group on a reference whose kind is right. */
function groupFixes(context: CheckContext, path: (string | number)[], ref: Rec, groups: string[], preferredGroup: string | undefined): Fix[] {
  const fixes: Fix[] = [];
  for (const group of groups) {
    const preferred = group === preferredGroup;
    if (group === 'core') {
      if (ref['group'] !== undefined) fixes.push(...replaceFix(context, [...path, 'group'], '', 'Set group to "" (core)', preferred));
    } else if (ref['group'] === undefined) {
      fixes.push(...addFieldFix(context, path, 'group', group, `Add group: ${group}`, preferred));
    } else {
      fixes.push(...replaceFix(context, [...path, 'group'], group, `Change group to ${group}`, preferred));
    }
  }
  return fixes;
}

function checkTarget(context: CheckContext, spec: Rec): void {
  const ref = spec['targetRef'];
  if (!isRec(ref) || typeof ref['kind'] !== 'string') return;
  const path = ['spec', 'targetRef'];
  const namespace = namespaceOf(context.resource);
  if (targetsKind(ref, 'core', 'Namespace')) {
    const name = str(ref['name']);
    if (name !== undefined && context.resource.namespace !== undefined && name !== namespace) {
      context.report({ path: [...path, 'name'] }, `an AuthorizationPolicy can only target its own namespace (${namespace}), not ${quote(name)}; the admission webhook rejects it ("cannot target another namespace: ${name}")`, {
        fixes: replaceFix(context, [...path, 'name'], namespace, `Change to ${quote(namespace)}`, false),
      });
    }
    return;
  }
  if (TARGETS.some((t) => targetsKind(ref, t.group, t.kind))) return;
  const kind = ref['kind'];
  const sameKind = TARGETS.filter((t) => t.kind.toLowerCase() === kind.toLowerCase());
  const upstream = `"unsupported authorization target type: ${canonicalKind(ref)}"`;
  if (sameKind.length) {
    const groups = sameKind.map((t) => t.group);
    let preferredGroup = groups.length === 1 ? groups[0] : undefined;
    if (!preferredGroup) {
      // HTTPRoute: prefer the group of a route of that name in the namespace.
      const name = str(ref['name']);
      const routes = linkerdModel(context.workspace).named(namespace, 'HTTPRoute').filter((r) => r.name === name);
      preferredGroup = routes.length === 1 ? routes[0]!.group : POLICY_GROUP;
    }
    const written = ref['group'] === undefined || ref['group'] === '' ? 'without a group it means the core group' : `group ${quote(String(ref['group']))} is not one of them`;
    context.report({ path: ref['group'] === undefined ? [...path, 'kind'] : [...path, 'group'] },
      `${article(kind)} ${kind} target needs ${listGroups(groups)}; ${written}, and the admission webhook rejects it (${upstream})`,
      { fixes: groupFixes(context, path, ref, groups, preferredGroup) });
    return;
  }
  context.report({ path: [...path, 'kind'] }, `Linkerd cannot attach an AuthorizationPolicy to ${article(kind)} ${kind}: target a Server, an HTTPRoute, a GRPCRoute or the policy's own Namespace; the admission webhook rejects it (${upstream})`);
}

function article(word: string): string {
  return /^[aeiouAEIOU]|^HTTP|^X/.test(word) ? 'an' : 'a';
}

function listGroups(groups: string[]): string {
  return groups.map(groupText).join(' or ');
}

function checkAuthentications(context: CheckContext, spec: Rec): void {
  const refs = arr(spec['requiredAuthenticationRefs']);
  const counts = { meshtls: 0, serviceaccount: 0, network: 0 };
  refs.forEach((raw, index) => {
    if (!isRec(raw) || typeof raw['kind'] !== 'string') return;
    const path = ['spec', 'requiredAuthenticationRefs', index];
    const kind = authnRefKind(raw);
    if (kind === 'other') {
      const upstream = `"unsupported authentication kind(s): ${canonicalKind(raw)}"`;
      const sameKind = AUTHENTICATIONS.find((a) => a.kind.toLowerCase() === String(raw['kind']).toLowerCase());
      if (sameKind) {
        const written = raw['group'] === undefined || raw['group'] === '' ? 'without a group it means the core group' : `not group ${quote(String(raw['group']))}`;
        context.report({ path: raw['group'] === undefined ? [...path, 'kind'] : [...path, 'group'] },
          `${sameKind.kind} needs ${groupText(sameKind.group)}; ${written}, and the admission webhook rejects the policy (${upstream})`,
          { fixes: groupFixes(context, path, raw, [sameKind.group], sameKind.group) });
      } else {
        context.report({ path: [...path, 'kind'] }, `${raw['kind']} cannot be a required authentication: use a MeshTLSAuthentication, a NetworkAuthentication or a ServiceAccount; the admission webhook rejects the policy (${upstream})`);
      }
      return;
    }
    counts[kind]++;
    if (kind === 'meshtls' && counts.meshtls > 1) {
      context.report({ path: [...path, 'kind'] }, 'a second MeshTLSAuthentication: a policy takes at most one (its identities are alternatives already, put them in one MeshTLSAuthentication); the admission webhook rejects it ("only a single MeshTLSAuthentication may be set")');
    } else if (kind === 'serviceaccount' && counts.serviceaccount > 1) {
      context.report({ path: [...path, 'kind'] }, 'a second ServiceAccount: a policy takes at most one (use a MeshTLSAuthentication with identityRefs to allow several); the admission webhook rejects it ("only a single ServiceAccount may be set")');
    } else if ((kind === 'meshtls' && counts.serviceaccount > 0) || (kind === 'serviceaccount' && counts.meshtls > 0)) {
      context.report({ path: [...path, 'kind'] }, 'a MeshTLSAuthentication and a ServiceAccount cannot be required together (a client has one identity; list the ServiceAccount in the MeshTLSAuthentication instead); the admission webhook rejects it ("a MeshTLSAuthentication and ServiceAccount may not be set together")');
    } else if (kind === 'network' && counts.network > 1) {
      context.report({ path: [...path, 'kind'] }, 'a second NetworkAuthentication: a policy takes at most one (put all networks in one NetworkAuthentication); the admission webhook rejects it ("only a single NetworkAuthentication may be set")');
    }
  });
}

export const authorizationPolicyRejected: Check = {
  code: 'MPA2001',
  mesh: 'linkerd',
  title: 'AuthorizationPolicy rejected by the Linkerd admission webhook',
  defaultSeverity: 'error',
  upstream: 'Linkerd policy admission webhook: "cannot target another namespace", "unsupported authorization target type", "only a single MeshTLSAuthentication may be set", "unsupported authentication kind(s)"',
  kinds: ['AuthorizationPolicy'],
  run(context) {
    const spec = context.value['spec'];
    if (!isRec(spec)) return;
    checkTarget(context, spec);
    checkAuthentications(context, spec);
  },
};

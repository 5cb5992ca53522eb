import { POLICY_GROUP } from '../checks/linkerd/lib/common';
import { parseServiceAccountIdentity } from '../checks/linkerd/lib/identity';
import type { Resource } from '../resource';
import type { SourceNode } from '../source/tree';
import { child, items, text, textValue } from './nodes';
import type { Reference, ReferenceContext, Target } from './types';

/** The kinds a Linkerd reference may name among the workspace's policies, by group ('' = core). */
const POLICY_KINDS = new Set(['server', 'httproute', 'grpcroute', 'meshtlsauthentication', 'networkauthentication']);

/**
 * Linkerd (spec §2.3–§2.5), every reference namespace-local unless it says otherwise: a Server's
 * `podSelector` names the pods it selects; an AuthorizationPolicy's `targetRef` a Server, route or
 * Namespace and its `requiredAuthenticationRefs` authentications or a ServiceAccount; a route's
 * `parentRefs` a Server or Service; a MeshTLSAuthentication's `identityRefs` and `identities`
 * ServiceAccounts and Namespaces; a ServerAuthorization its Server and client ServiceAccounts.
 */
export function linkerdReferences(resource: Resource, _context: ReferenceContext): Reference[] {
  const found: Reference[] = [];
  const spec = child(resource.node, 'spec');
  const namespace = resource.namespace ?? 'default';
  const add = (node: SourceNode | undefined, target: Target | undefined, partial?: Reference['partial']): void => {
    if (node && target) found.push({ span: node.span, target, ...(node.type === 'scalar' && (target.type === 'resource' || target.type === 'serviceAccount') ? { node, ...(partial ? { partial } : {}) } : {}) });
  };
  const addRef = (ref: SourceNode | undefined): void => {
    const name = text(ref, 'name');
    if (name) add(name, refTarget(ref, textValue(ref, 'namespace') ?? namespace, name.value));
  };
  const addIdentities = (list: SourceNode | undefined): void => {
    for (const item of items(list)) {
      const value = text(item);
      const identity = value && parseServiceAccountIdentity(value.value);
      if (!identity || identity.serviceAccount === '*') continue;
      // `<account>.<namespace>.serviceaccount.identity.<control plane ns>.<trust domain>`: the account leads
      const rest = value.value.slice(identity.serviceAccount.length);
      add(value, { type: 'serviceAccount', namespace: identity.namespace, name: identity.serviceAccount }, value.value.startsWith(identity.serviceAccount) ? { at: 0, renamed: (newName) => `${newName}${rest}` } : undefined);
    }
  };
  switch (resource.kind) {
    case 'Server':
      add(child(spec, 'podSelector'), { type: 'attachment' });
      break;
    case 'AuthorizationPolicy':
      addRef(child(spec, 'targetRef'));
      for (const ref of items(child(spec, 'requiredAuthenticationRefs'))) addRef(ref);
      break;
    case 'HTTPRoute':
    case 'GRPCRoute':
      for (const ref of items(child(spec, 'parentRefs'))) addRef(ref);
      break;
    case 'MeshTLSAuthentication':
      for (const ref of items(child(spec, 'identityRefs'))) addRef(ref);
      addIdentities(child(spec, 'identities'));
      break;
    case 'ServerAuthorization': {
      const server = child(spec, 'server');
      const name = text(server, 'name');
      if (name) add(name, { type: 'resource', mesh: 'linkerd', kind: 'Server', group: POLICY_GROUP, namespace, name: name.value });
      else add(child(server, 'selector'), { type: 'attachment' });
      const meshTls = child(child(spec, 'client'), 'meshTLS');
      for (const account of items(child(meshTls, 'serviceAccounts'))) {
        const accountName = text(account, 'name');
        if (accountName) add(accountName, { type: 'serviceAccount', namespace: textValue(account, 'namespace') ?? namespace, name: accountName.value });
      }
      addIdentities(child(meshTls, 'identities'));
      break;
    }
  }
  return found;
}

function refTarget(ref: SourceNode | undefined, namespace: string, name: string): Target | undefined {
  const written = textValue(ref, 'kind') ?? '';
  const kind = written.toLowerCase();
  const group = (textValue(ref, 'group') ?? '').toLowerCase();
  const core = group === '' || group === 'core';
  if (core && kind === 'serviceaccount') return { type: 'serviceAccount', namespace, name };
  if (core && kind === 'namespace') return { type: 'namespace', name };
  if (core && kind === 'service') return { type: 'service', namespace, name };
  if (!core && POLICY_KINDS.has(kind)) return { type: 'resource', mesh: 'linkerd', kind: written, group, namespace, name };
  return undefined;
}

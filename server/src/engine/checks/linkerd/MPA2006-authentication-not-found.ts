import type { Check } from '../check';
import { arr, closest, isRec, namespaceOf, quote, replaceFix, someText, str } from './lib/common';
import { authnRefKind, linkerdModel } from './lib/model';

/** An AuthorizationPolicy that requires a MeshTLSAuthentication or NetworkAuthentication the
 * workspace does not have. The API accepts it; the policy controller ignores the whole policy
 * ("Illegal AuthorizationPolicy; ignoring", linkerd/linkerd2:policy-controller/k8s/index/src/inbound/index.rs
 * `policy_client_authz`), so it authorizes no one. Reported only when the workspace has some
 * MeshTLSAuthentication or NetworkAuthentication in the referenced namespace: otherwise they
 * are probably managed elsewhere. */
export const authenticationNotFound: Check = {
  code: 'MPA2006',
  mesh: 'linkerd',
  title: 'Required authentication does not exist',
  defaultSeverity: 'warning',
  upstream: 'Linkerd policy controller: "Illegal AuthorizationPolicy; ignoring" (could not find MeshTLSAuthentication / NetworkAuthentication)',
  kinds: ['AuthorizationPolicy'],
  run(context) {
    const spec = context.value['spec'];
    if (!isRec(spec)) return;
    const model = linkerdModel(context.workspace);
    const own = namespaceOf(context.resource);
    arr(spec['requiredAuthenticationRefs']).forEach((ref, index) => {
      if (!isRec(ref)) return;
      const type = authnRefKind(ref);
      if (type !== 'meshtls' && type !== 'network') return;
      const kind = type === 'meshtls' ? 'MeshTLSAuthentication' : 'NetworkAuthentication';
      const name = str(ref['name']);
      if (!name) return;
      const namespace = str(ref['namespace']) ?? own;
      // The workspace must manage authentications in that namespace: otherwise they are
      // probably kept elsewhere.
      if (model.named(namespace, 'MeshTLSAuthentication').length === 0 && model.named(namespace, 'NetworkAuthentication').length === 0) return;
      if (model.find(namespace, kind, name)) return;
      const candidates = model.names(namespace, kind);
      const near = closest(name, candidates);
      const known = candidates.length ? ` (it has ${someText(candidates.map(quote))})` : '';
      context.report({ path: ['spec', 'requiredAuthenticationRefs', index, 'name'] },
        `${kind} ${quote(name)} does not exist in namespace ${namespace}${known}: Linkerd ignores an AuthorizationPolicy whose authentication it cannot find, so this policy authorizes no one`,
        near ? { fixes: replaceFix(context, ['spec', 'requiredAuthenticationRefs', index, 'name'], near, `Change to ${quote(near)}`) } : undefined);
    });
  },
};

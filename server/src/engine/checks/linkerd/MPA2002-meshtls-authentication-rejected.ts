import type { Check } from '../check';
import { arr, canonicalKind, isRec, quote, removeFieldFix, replaceFix, targetsKind } from './lib/common';
import { identityProblem } from './lib/identity';

/** MeshTLSAuthentication rules of Linkerd's admission webhook beyond the schema
 * (linkerd/linkerd2:policy-controller/runtime/src/admission.rs `Validate<MeshTLSAuthenticationSpec>`,
 * `validate_identity_ref`; runtime/src/validation.rs `validate_identity`). */

/** A repaired identity for the usual slips (upper case, spaces, a trailing dot), if that is
 * then valid. */
function repaired(id: string): string | undefined {
  let candidate = id.trim();
  if (candidate.startsWith('spiffe://')) {
    const rest = candidate.slice('spiffe://'.length);
    const slash = rest.indexOf('/');
    const td = slash < 0 ? rest : rest.slice(0, slash);
    candidate = `spiffe://${td.toLowerCase()}${slash < 0 ? '' : rest.slice(slash).replace(/\/+$/, '')}`;
  } else {
    candidate = candidate.toLowerCase().replace(/\.+$/, '');
  }
  return candidate !== id && identityProblem(candidate) === undefined ? candidate : undefined;
}

export const meshTLSAuthenticationRejected: Check = {
  code: 'MPA2002',
  mesh: 'linkerd',
  title: 'MeshTLSAuthentication rejected by the Linkerd admission webhook',
  defaultSeverity: 'error',
  upstream: 'Linkerd policy admission webhook: "id ... is invalid", "invalid identity target kind", "Namespace identity_ref is cluster-scoped and cannot have a namespace"',
  kinds: ['MeshTLSAuthentication'],
  run(context) {
    const spec = context.value['spec'];
    if (!isRec(spec)) return;
    arr(spec['identities']).forEach((id, index) => {
      if (typeof id !== 'string') return;
      const problem = identityProblem(id);
      if (!problem) return;
      const path = ['spec', 'identities', index];
      const fix = repaired(id);
      context.report({ path }, `identity ${quote(id)} is rejected by the admission webhook ("id ${id} is invalid: ${problem}")`, {
        ...(fix ? { fixes: replaceFix(context, path, fix, `Change to ${quote(fix)}`) } : {}),
      });
    });
    arr(spec['identityRefs']).forEach((ref, index) => {
      if (!isRec(ref) || typeof ref['kind'] !== 'string') return;
      const path = ['spec', 'identityRefs', index];
      if (targetsKind(ref, 'core', 'ServiceAccount')) return;
      if (targetsKind(ref, 'core', 'Namespace')) {
        if (ref['namespace'] !== undefined) {
          context.report({ path: [...path, 'namespace'], part: 'key' }, 'a Namespace reference is cluster-scoped and takes no namespace (name the namespace in name); the admission webhook rejects it ("Namespace identity_ref is cluster-scoped and cannot have a namespace")', {
            fixes: removeFieldFix(context, path, 'namespace', 'Remove namespace'),
          });
        }
        return;
      }
      const kind = String(ref['kind']);
      const near = ['ServiceAccount', 'Namespace'].find((k) => k.toLowerCase() === kind.toLowerCase());
      const hint = near ? `${near} references take no group (or group core)` : 'identityRefs take ServiceAccount or Namespace references';
      context.report({ path: near ? [...path, 'group'] : [...path, 'kind'] }, `${hint}; the admission webhook rejects this one ("invalid identity target kind: ${canonicalKind(ref)}")`, {
        ...(near ? { fixes: removeFieldFix(context, path, 'group', 'Remove group') } : {}),
      });
    });
  },
};

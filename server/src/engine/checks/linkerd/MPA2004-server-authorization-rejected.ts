import type { Check } from '../check';
import { arr, isRec, removeFieldFix } from './lib/common';

/** ServerAuthorization client rules of the Linkerd admission webhook
 * (linkerd/linkerd2:policy-controller/runtime/src/admission.rs `Validate<ServerAuthorizationSpec>`).
 * The network rules of the same validator are MPA2003. */
export const serverAuthorizationRejected: Check = {
  code: 'MPA2004',
  mesh: 'linkerd',
  title: 'ServerAuthorization client rejected by the Linkerd admission webhook',
  defaultSeverity: 'error',
  upstream: 'Linkerd policy admission webhook: "`unauthenticated` must be false if `mesh_tls` is specified", "`unauthenticatedTLS` be false if any `identities` or `service_accounts` is specified"',
  kinds: ['ServerAuthorization'],
  run(context) {
    const spec = context.value['spec'];
    const client = isRec(spec) ? spec['client'] : undefined;
    if (!isRec(client)) return;
    const meshTLS = client['meshTLS'];
    if (meshTLS === undefined) return;
    if (client['unauthenticated'] === true) {
      context.report({ path: ['spec', 'client', 'unauthenticated'] }, 'unauthenticated: true cannot be combined with meshTLS (one admits any client, the other only meshed ones: keep the one you mean); the admission webhook rejects it ("`unauthenticated` must be false if `mesh_tls` is specified")');
    }
    if (isRec(meshTLS) && meshTLS['unauthenticatedTLS'] === true) {
      const named = arr(meshTLS['identities']).length + arr(meshTLS['serviceAccounts']).length;
      if (named > 0) {
        context.report({ path: ['spec', 'client', 'meshTLS', 'unauthenticatedTLS'] }, 'unauthenticatedTLS: true admits TLS clients without checking who they are, so it cannot be combined with identities or serviceAccounts; the admission webhook rejects it ("`unauthenticatedTLS` be false if any `identities` or `service_accounts` is specified")', {
          fixes: removeFieldFix(context, ['spec', 'client', 'meshTLS'], 'unauthenticatedTLS', 'Remove unauthenticatedTLS (keep the named identities)'),
        });
      }
    }
  },
};

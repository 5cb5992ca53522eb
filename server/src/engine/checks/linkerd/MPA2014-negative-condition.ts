import { negativeConditionCheck } from '../statusConditions';

/** The policy controller writes Accepted and ResolvedRefs per parent on HTTPRoute and GRPCRoute
 * status (`statusConditions.ts`). */
export const linkerdNegativeCondition = negativeConditionCheck({
  code: 'MPA2014',
  mesh: 'linkerd',
  kinds: ['Server', 'ServerAuthorization', 'AuthorizationPolicy', 'MeshTLSAuthentication', 'NetworkAuthentication', 'HTTPRoute', 'GRPCRoute'],
  controller: 'Linkerd\'s policy controller',
  upstream: 'Gateway API route status (Accepted, ResolvedRefs per parent), as istioctl analyze IST0171 reads conditions',
});

import { negativeConditionCheck } from '../statusConditions';
import { AP, PA, RA } from './util';

/** istioctl analyze IST0171 NegativeConditionStatus: istiod writes ZtunnelAccepted and
 * WaypointAccepted on ambient AuthorizationPolicies (`statusConditions.ts`). */
export const istioNegativeCondition = negativeConditionCheck({
  code: 'MPA1038',
  mesh: 'istio',
  kinds: [AP, PA, RA],
  controller: 'istiod',
  upstream: 'istioctl analyze IST0171 NegativeConditionStatus',
});

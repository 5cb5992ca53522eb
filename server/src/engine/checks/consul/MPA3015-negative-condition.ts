import { negativeConditionCheck } from '../statusConditions';

/** consul-k8s writes Synced on ServiceIntentions: False with Consul's error when writing the
 * config entry failed (`statusConditions.ts`). */
export const consulNegativeCondition = negativeConditionCheck({
  code: 'MPA3015',
  mesh: 'consul',
  kinds: ['ServiceIntentions'],
  controller: 'consul-k8s',
  upstream: 'consul-k8s CRD status (Synced), as istioctl analyze IST0171 reads conditions',
});

import { installedCrdCheck } from '../installedCrds';

/** consul-k8s ServiceIntentions against the `consul.hashicorp.com` CRD of the workspace (`installedCrds.ts`); config entries are not custom resources. */
export const consulInstalledCrd = installedCrdCheck({ code: 'MPA3016', mesh: 'consul', kinds: ['ServiceIntentions'] });

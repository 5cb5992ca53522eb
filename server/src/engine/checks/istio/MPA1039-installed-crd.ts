import { installedCrdCheck } from '../installedCrds';
import { AP, PA, RA } from './util';

/** The Istio kinds against the `security.istio.io` CRDs of the workspace (`installedCrds.ts`). */
export const istioInstalledCrd = installedCrdCheck({ code: 'MPA1039', mesh: 'istio', kinds: [AP, PA, RA] });

import type { MeshTranslator } from '../model';
import { readIstio } from './read';
import { writeIstio } from './write';

/** Istio AuthorizationPolicies ↔ the access model (docs/translate/istio.md). */
export const istioTranslator: MeshTranslator = {
  mesh: 'istio',
  read: readIstio,
  write: writeIstio,
};

import type { MeshTranslator } from '../model';
import { readConsul } from './read';
import { consulReferences } from './references';
import { writeConsul } from './write';

/** Consul service intentions ↔ the access model (docs/translate/consul.md). */
export const consulTranslator: MeshTranslator = {
  mesh: 'consul',
  read: readConsul,
  references: consulReferences,
  write: writeConsul,
};

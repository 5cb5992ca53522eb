import type { MeshTranslator } from '../model';
import { readLinkerd } from './read';
import { writeLinkerd } from './write';

/** Linkerd's translator (docs/translate/linkerd.md). */
export const linkerdTranslator: MeshTranslator = {
  mesh: 'linkerd',
  read: readLinkerd,
  write: writeLinkerd,
};

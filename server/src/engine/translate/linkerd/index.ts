import type { MeshTranslator } from '../model';
import { readLinkerd } from './read';
import { linkerdReferences } from './references';
import { writeLinkerd } from './write';

/** Linkerd's translator (docs/translate/linkerd.md). */
export const linkerdTranslator: MeshTranslator = {
  mesh: 'linkerd',
  read: readLinkerd,
  references: linkerdReferences,
  write: writeLinkerd,
};

import type { SourceDocument, SourceFile } from './sourceFile';
import { getEntry, getScalarString, type ObjectNode } from './tree';

/** The document's top-level object, or in its place the object items of a Kubernetes `...List`
 * (`kubectl get ... -o yaml|json` wraps what it returns in one). One level: the items of a List
 * are taken as they are. */
export function documentObjects(document: SourceDocument): ObjectNode[] {
  const root = document.root;
  if (root?.type !== 'object') return [];
  const items = getEntry(root, 'items')?.value;
  if (getScalarString(root, 'kind')?.endsWith('List') && items?.type === 'array') {
    const out: ObjectNode[] = [];
    for (const item of items.items) if (item.type === 'object') out.push(item);
    return out;
  }
  return [root];
}

/** Each document's top-level object, and the items of a Kubernetes `...List` in its place. */
export function topLevelObjects(file: SourceFile): ObjectNode[] {
  return file.documents.flatMap(documentObjects);
}

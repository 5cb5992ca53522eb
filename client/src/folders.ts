// Which workspace folder a document belongs to, by URI alone (no vscode import: unit-tested).

interface FolderLike {
  uri: { toString(): string };
}

const prefixOf = (folder: FolderLike): string => {
  const key = folder.uri.toString();
  return key.endsWith('/') ? key : `${key}/`;
};

/** Whether `uri` is the folder or lies under it (`/ws/a` holds `/ws/a/x`, not `/ws/ab/x`). */
export function isUnder(uri: { toString(): string }, folder: FolderLike): boolean {
  const text = uri.toString();
  return text === folder.uri.toString() || text.startsWith(prefixOf(folder));
}

/** The folders that no other folder of the list contains, in the list's order: a folder inside another is part of the outer one's project. */
export function outermostFolders<F extends FolderLike>(folders: readonly F[]): F[] {
  return folders.filter((inner) => !folders.some((outer) => outer !== inner && outer.uri.toString() !== inner.uri.toString() && isUnder(inner.uri, outer)));
}

import type { SourceNode } from '../source/tree';

/** A key of a config entry as Consul matches it: in any letter case, with or without the underscores of its snake_case alias. */
function fold(key: string): string {
  return key.replace(/_/g, '').toLowerCase();
}

/** The entry of a config entry's object for a key, matched as Consul does (`fold`); the last one wins. */
export function entryCI(node: SourceNode | undefined, name: string) {
  if (node?.type !== 'object') return undefined;
  const folded = fold(name);
  for (let i = node.entries.length - 1; i >= 0; i--) if (fold(node.entries[i]!.key) === folded) return node.entries[i];
  return undefined;
}

import type { ScalarNode, SourceNode } from '../source/tree';
import { getEntry } from '../source/tree';

/** The value under `key` of an object node. */
export function child(node: SourceNode | undefined, key: string): SourceNode | undefined {
  return getEntry(node, key)?.value;
}

/** The items of an array node (none for anything else). */
export function items(node: SourceNode | undefined): SourceNode[] {
  return node?.type === 'array' ? node.items : [];
}

/** A string scalar: the node itself, or the one under `key`. */
export function text(node: SourceNode | undefined, key?: string): (ScalarNode & { value: string }) | undefined {
  const value = key === undefined ? node : child(node, key);
  return value?.type === 'scalar' && typeof value.value === 'string' && value.value !== '' ? (value as ScalarNode & { value: string }) : undefined;
}

/** The string under `key`, when it is one. */
export function textValue(node: SourceNode | undefined, key: string): string | undefined {
  return text(node, key)?.value;
}

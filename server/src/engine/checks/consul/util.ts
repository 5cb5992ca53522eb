import type { NodePath } from '../../source/tree';
import type { CheckContext } from '../check';

/** 1-based line of the node at `path` in the current resource, for messages. */
export function lineOf(context: CheckContext, path: NodePath): number | undefined {
  const node = context.locate(path).node;
  return node ? context.file.lines.position(node.span.start).line + 1 : undefined;
}

import type { Resource } from '../resource';
import type { NodePath } from '../source/tree';

/** A part of a policy that decides calls on its own: a rule, an intention source, a permission. */
export interface RulePath {
  path: NodePath;
  label: string;
}

/** Per mesh: which parts of a resource are rules worth a lens, a hover and an "unused" hint. */
export type RuleOutliner = (resource: Resource, value: Record<string, unknown>) => RulePath[];

import type { RuleOutliner } from './types';

/** Route rules (HTTPRoute, GRPCRoute); Servers and authorizations decide as a whole. */
export const linkerdRules: RuleOutliner = (resource, value) => {
  if (resource.kind !== 'HTTPRoute' && resource.kind !== 'GRPCRoute') return [];
  const rules = (value['spec'] as Record<string, unknown> | undefined)?.['rules'];
  return Array.isArray(rules) ? rules.map((_, i) => ({ path: ['spec', 'rules', i], label: `rules[${i}]` })) : [];
};

import type { RuleOutliner } from './types';

/** AuthorizationPolicy `spec.rules[i]`; PeerAuthentication and RequestAuthentication decide as a whole. */
export const istioRules: RuleOutliner = (resource, value) => {
  if (resource.kind !== 'AuthorizationPolicy') return [];
  const rules = (value['spec'] as Record<string, unknown> | undefined)?.['rules'];
  return Array.isArray(rules) ? rules.map((_, i) => ({ path: ['spec', 'rules', i], label: `rules[${i}]` })) : [];
};

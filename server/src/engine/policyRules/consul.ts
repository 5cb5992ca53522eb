import type { RuleOutliner } from './types';

/** Intention sources and their L7 permissions, in the CRD (`spec.sources`) and config-entry (`Sources`) forms. */
export const consulRules: RuleOutliner = (resource, value) => {
  const crd = resource.kind === 'ServiceIntentions';
  const body = crd ? (value['spec'] as Record<string, unknown> | undefined) : value;
  const base = crd ? ['spec', 'sources'] : ['Sources'];
  const permissionsKey = crd ? 'permissions' : 'Permissions';
  const sources = body?.[crd ? 'sources' : 'Sources'];
  if (!Array.isArray(sources)) return [];
  return sources.flatMap((source, i) => {
    const record = source && typeof source === 'object' ? (source as Record<string, unknown>) : {};
    const name = record[crd ? 'name' : 'Name'];
    const label = `${base[base.length - 1]}[${i}]${typeof name === 'string' ? ` ${name}` : ''}`;
    const permissions = record[permissionsKey];
    return [
      { path: [...base, i], label },
      ...(Array.isArray(permissions) ? permissions.map((_, j) => ({ path: [...base, i, permissionsKey, j], label: `${label} ${permissionsKey}[${j}]` })) : []),
    ];
  });
};

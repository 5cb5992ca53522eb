import type { Check } from '../check';
import { modelOf, type JwtProviderRef } from './model';
import { jwtProviderNames } from './workspaceIndex';

/**
 * Write-time graph check: a JWT provider named in the entry-level `JWT` or in a permission's
 * `JWT` must exist as a `jwt-provider` config entry ("Referenced JWT Provider does not exist.
 * Provider Name: %s"). Reported only when the workspace holds at least one jwt-provider entry
 * (or JWTProvider resource); otherwise the providers are managed elsewhere and nothing is known.
 */
export const unknownJwtProvider: Check = {
  code: 'MPA3011',
  mesh: 'consul',
  title: 'JWT provider not defined',
  defaultSeverity: 'warning',
  upstream: 'Consul config entry graph validation: "Referenced JWT Provider does not exist. Provider Name: %s"',
  kinds: ['ServiceIntentions', 'service-intentions'],
  run(context) {
    const index = jwtProviderNames(context.workspace);
    if (index.jwtProviderCount === 0) return;
    const model = modelOf(context.resource);
    const refs: JwtProviderRef[] = [...model.jwtProviders, ...model.sources.flatMap((s) => (s.permissions ?? []).flatMap((p) => p.jwtProviders))];
    const known = [...index.jwtProviders].sort();
    for (const ref of refs) {
      if (index.jwtProviders.has(ref.name)) continue;
      context.report({ path: ref.path },
        `JWT provider ${JSON.stringify(ref.name)} has no jwt-provider config entry in the workspace (${known.length ? `known: ${known.map((n) => JSON.stringify(n)).join(', ')}` : 'none has a name'}); Consul rejects the intentions ("Referenced JWT Provider does not exist. Provider Name: ${ref.name}")`);
    }
  },
};

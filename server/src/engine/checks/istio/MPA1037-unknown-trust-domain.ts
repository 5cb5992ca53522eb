import { replaceScalar } from '../../edits';
import type { Check } from '../check';
import { parsePrincipal } from '../../traffic/ingest/identity';
import { AP, principalValuesOf } from './util';

/**
 * Kiali KIA0108; spec §1.5.2. Istio rewrites a principal whose trust domain is the mesh's, one of
 * its `trustDomainAliases` or the literal `cluster.local` into one principal per trust domain of
 * the mesh; `*` stays a wildcard. Any other trust domain is kept as written (istiod logs a
 * warning): it matches only peers of another mesh that has it, a federated or migrated one.
 */
export const unknownTrustDomainCheck: Check = {
  code: 'MPA1037',
  mesh: 'istio',
  title: 'Principal in a trust domain the mesh does not have',
  defaultSeverity: 'warning',
  upstream: 'Kiali KIA0108 (principal with an unknown trust domain); istiod logs a warning',
  kinds: [AP],
  run(ctx) {
    const { trustDomain, trustDomainAliases } = ctx.workspace.config.istio;
    const known = new Set([trustDomain, ...trustDomainAliases, 'cluster.local']);
    for (const { path, value } of principalValuesOf(ctx)) {
      const parts = parsePrincipal(value);
      const domain = parts?.mesh === 'istio' ? parts.trustDomain : undefined;
      // (a wildcard in the trust domain is a pattern over whatever domains exist: not one to know)
      if (domain === undefined || domain.includes('*') || known.has(domain)) continue;
      const node = ctx.locate(path).node;
      const fixed = value.replace(domain, trustDomain);
      const mesh = trustDomainAliases.length ? `the mesh's (${trustDomain}) nor one of its trustDomainAliases (${trustDomainAliases.join(', ')})` : `the mesh's (${trustDomain}, and no trustDomainAliases are set)`;
      ctx.report({ path }, `trust domain ${domain} of principal ${JSON.stringify(value)} is not ${mesh}: Istio keeps it as written, so it matches only callers from another mesh with that trust domain`, {
        fixes: node ? [{ title: `Change to ${fixed}`, edits: [replaceScalar(ctx.file, node, fixed)] }] : [],
      });
    }
  },
};

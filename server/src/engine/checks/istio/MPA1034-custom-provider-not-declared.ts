import { replaceScalar } from '../../edits';
import type { Fix } from '../../findings';
import { unusableProvider } from '../../istio/meshConfig';
import type { Check } from '../check';
import { AP, actionOf, closest, isObj, nonEmpty, specOf } from './util';

/**
 * A CUSTOM policy whose `provider.name` the known mesh config (the workspace's `istio` ConfigMap
 * or IstioOperator, or `istio.extensionProviders` in `.meshpolicy.yaml`) does not declare as an
 * ext_authz provider it can use. The webhook accepts it; istiod then generates DENY rules from
 * its rules (builder.go `getBadCustomDenyRules`), so the requests it was to send to an authorizer
 * are denied. Quiet while the mesh config is unknown.
 */
export const customProviderNotDeclaredCheck: Check = {
  code: 'MPA1034',
  mesh: 'istio',
  title: 'CUSTOM provider not declared in the mesh config',
  defaultSeverity: 'error',
  upstream: 'none (the webhook does not look up provider.name; istiod logs "failed to process CUSTOM action for provider …, will generate deny configs")',
  kinds: [AP],
  run(ctx) {
    const spec = specOf(ctx);
    const istio = ctx.workspace.config.istio;
    if (!spec || actionOf(spec) !== 'CUSTOM' || istio.extensionProviders === undefined || !nonEmpty(spec['rules'])) return;
    const provider = spec['provider'];
    const name = isObj(provider) ? provider['name'] : undefined;
    // (no name at all is MPA1004)
    if (typeof name !== 'string' || name === '') return;
    const why = unusableProvider(istio, name);
    if (why === undefined) return;
    const usable = istio.extensionProviders.filter((p) => !p.problem).map((p) => p.name);
    const near = usable.includes(name) ? undefined : closest(name, usable);
    const node = ctx.locate(['spec', 'provider', 'name']).node;
    const fixes: Fix[] = near && node ? [{ title: `Change to ${near}`, edits: [replaceScalar(ctx.file, node, near)], preferred: true }] : [];
    ctx.report(
      { path: ['spec', 'provider', 'name'] },
      `${why}: istiod accepts the policy but turns its rules into DENY rules, so every request they match is denied instead of going to an external authorizer${near ? `; did you mean ${near}?` : ''}`,
      { fixes },
    );
  },
};

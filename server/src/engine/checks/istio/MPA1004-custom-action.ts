import { addField, replaceScalar } from '../../edits';
import type { Fix } from '../../findings';
import { getEntry } from '../../source/tree';
import type { Check } from '../check';
import { AP, actionOf, conditionsOf, has, isObj, nonEmpty, rulesOf, sourcesOf, specOf, upstreamName, whenKey } from './util';

/** Source fields CUSTOM cannot use: identity is not passed to the external authorizer this way. */
const CUSTOM_FORBIDDEN_SOURCE = ['namespaces', 'notNamespaces', 'serviceAccounts', 'notServiceAccounts', 'trustDomains', 'notTrustDomains', 'principals', 'notPrincipals', 'requestPrincipals', 'notRequestPrincipals'];
const CUSTOM_FORBIDDEN_KEYS = new Set(['source.namespace', 'source.serviceAccount', 'source.trustDomain', 'source.principal']);

/** istiod's CUSTOM rules (§1.9.2 C2–C4, C6). C5 (a null `when` entry) is a schema type error. */
export const customActionCheck: Check = {
  code: 'MPA1004',
  mesh: 'istio',
  title: 'CUSTOM action misconfigured',
  defaultSeverity: 'error',
  admissionRefusal: true,
  upstream: 'istiod webhook: "`provider.name` must not be empty", "From.Principals is currently not supported with CUSTOM action", "KEY is currently not supported with CUSTOM action", "`provider` must not be with non CUSTOM action"',
  kinds: [AP],
  run(ctx) {
    const spec = specOf(ctx);
    if (!spec) return;
    const action = actionOf(spec);
    const provider = spec['provider'];
    if (action === undefined) return;
    if (action !== 'CUSTOM') {
      if (provider === undefined) return;
      const specNode = ctx.locate(['spec']).node;
      const actionNode = getEntry(specNode, 'action')?.value;
      const edit = actionNode ? replaceScalar(ctx.file, actionNode, 'CUSTOM') : specNode?.type === 'object' ? addField(ctx.file, specNode, 'action', 'CUSTOM') : undefined;
      const fixes: Fix[] = edit ? [{ title: 'Change the action to CUSTOM', edits: [edit] }] : [];
      ctx.report({ path: ['spec', 'provider'], part: 'key' }, `\`provider\` must not be with non CUSTOM action, found ${action}${spec['action'] === undefined ? ' (the default)' : ''}: a provider is only used by action: CUSTOM`, { fixes });
      return;
    }
    if (nonEmpty(spec['rules'])) {
      const name = isObj(provider) ? provider['name'] : undefined;
      if (typeof name !== 'string' || name === '') {
        const where = isObj(provider) ? (name === '' ? { path: ['spec', 'provider', 'name'] } : { path: ['spec', 'provider'], part: 'key' as const }) : { path: ['spec', 'action'] };
        ctx.report(where, '`provider.name` must not be empty: a CUSTOM policy names the extension provider (meshConfig.extensionProviders) that decides the matching requests');
      }
    }
    for (const rule of rulesOf(spec)) {
      for (const source of sourcesOf(rule)) {
        for (const field of CUSTOM_FORBIDDEN_SOURCE) {
          if (!has(source.source, field)) continue;
          ctx.report({ path: [...source.path, field], part: 'key' }, `From.${upstreamName(field)} is currently not supported with CUSTOM action: a CUSTOM rule can only match on request attributes (ipBlocks, operations, request headers)`);
        }
      }
      for (const condition of conditionsOf(rule)) {
        const key = whenKey(condition.condition);
        if (key === undefined || !(CUSTOM_FORBIDDEN_KEYS.has(key) || key.startsWith('request.auth.'))) continue;
        ctx.report({ path: [...condition.path, 'key'] }, `${key} is currently not supported with CUSTOM action`);
      }
    }
  },
};

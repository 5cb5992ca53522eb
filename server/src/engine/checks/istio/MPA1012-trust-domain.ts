import { replaceScalar } from '../../edits';
import type { Fix } from '../../findings';
import type { NodePath } from '../../source/tree';
import type { Check, CheckContext } from '../check';
import { AP, conditionsOf, rulesOf, sourcesOf, specOf, strings, whenKey } from './util';

/** istiod's trust-domain value rules (§1.9.2 R8); the empty value is MPA1006. */
export function trustDomainError(value: string): string | undefined {
  const stars = value.split('*').length - 1;
  if (stars > 1) return 'at most one wildcard is allowed';
  if (stars === 1 && value !== '*' && !value.startsWith('*') && !value.endsWith('*')) return 'wildcard is only allowed at the start or end';
  if (value.includes('/')) return "trust domain must not contain '/'";
  return undefined;
}

function suggest(value: string): { value: string; preferred: boolean } | undefined {
  const withoutScheme = value.replace(/^spiffe:\/\//, '').replace(/\/+$/, '');
  if (withoutScheme !== value && withoutScheme !== '' && !trustDomainError(withoutScheme)) return { value: withoutScheme, preferred: true };
  const principal = /^(?:spiffe:\/\/)?([^/]+)\/ns\//.exec(value);
  if (principal && !trustDomainError(principal[1]!)) return { value: principal[1]!, preferred: false };
  return undefined;
}

function report(ctx: CheckContext, path: NodePath, value: string, prefix: string): void {
  if (value === '') return;
  const error = trustDomainError(value);
  if (!error) return;
  const suggestion = suggest(value);
  const node = ctx.locate(path).node;
  const fixes: Fix[] = suggestion && node ? [{ title: `Change to ${suggestion.value}`, edits: [replaceScalar(ctx.file, node, suggestion.value)], preferred: suggestion.preferred }] : [];
  const hint = error.includes("'/'") ? ' (write the trust domain alone, without spiffe:// or a path)' : ' (a trust domain pattern is "*", "*.suffix" or "prefix.*")';
  ctx.report({ path }, `${prefix}${error}, found ${JSON.stringify(value)}${hint}`, { fixes });
}

/** istiod's trust-domain validation (Istio 1.31; §1.9.2 R8, W4 source.trustDomain). */
export const trustDomainCheck: Check = {
  code: 'MPA1012',
  mesh: 'istio',
  title: 'Invalid trust domain',
  defaultSeverity: 'error',
  admissionRefusal: true,
  upstream: 'istiod webhook: "at most one wildcard is allowed", "wildcard is only allowed at the start or end", "trust domain must not contain \'/\'"',
  kinds: [AP],
  run(ctx) {
    for (const rule of rulesOf(specOf(ctx))) {
      for (const source of sourcesOf(rule)) {
        for (const field of ['trustDomains', 'notTrustDomains']) {
          for (const { value, index } of strings(source.source[field])) report(ctx, [...source.path, field, index], value, `${field}: `);
        }
      }
      for (const condition of conditionsOf(rule)) {
        if (whenKey(condition.condition) !== 'source.trustDomain') continue;
        for (const field of ['values', 'notValues']) {
          for (const { value, index } of strings(condition.condition[field])) {
            report(ctx, [...condition.path, field, index], value, `invalid \`${field === 'values' ? 'value' : 'notValue'}\` for \`key\` source.trustDomain: `);
          }
        }
      }
    }
  },
};

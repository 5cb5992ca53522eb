import { replaceScalar } from '../../edits';
import type { Fix } from '../../findings';
import type { NodePath } from '../../source/tree';
import type { Check, CheckContext } from '../check';
import { AP, conditionsOf, rulesOf, sourcesOf, specOf, strings, upstreamName, whenKey } from './util';

/** istiod's CheckServiceAccount for one value (the empty value is MPA1006). */
export function serviceAccountError(value: string, field: string): string | undefined {
  if (value.includes('*')) return `wildcard not allowed, found in ${field}`;
  const slashes = value.split('/').length - 1;
  if (slashes !== 0 && slashes !== 1) return `expected format 'serviceAccount' or 'namespace/serviceAccount', found ${JSON.stringify(value)} in ${field}`;
  if (value.length > 320) return `value cannot exceed 320 characters, found ${JSON.stringify(value)} in ${field}`;
  const [ns, sa] = value.split('/');
  if (slashes === 1 && ns === '') return `expected format 'serviceAccount' or 'namespace/serviceAccount', found empty namespace ${JSON.stringify(value)} in ${field}`;
  if (slashes === 1 && sa === '') return `expected format 'serviceAccount' or 'namespace/serviceAccount', found empty serviceAccount ${JSON.stringify(value)} in ${field}`;
  return undefined;
}

/** `cluster.local/ns/foo/sa/bar` (a principal) written where `foo/bar` belongs. */
function fromPrincipal(value: string): string | undefined {
  const match = /^(?:spiffe:\/\/)?[^/*]+\/ns\/([^/*]+)\/sa\/([^/*]+)$/.exec(value);
  return match ? `${match[1]}/${match[2]}` : undefined;
}

function report(ctx: CheckContext, path: NodePath, value: string, field: string, prefix: string): void {
  if (value === '') return;
  const error = serviceAccountError(value, field);
  // For the source fields the CRD schema already limits the length (MPA0106).
  if (!error || (error.startsWith('value cannot exceed') && field !== 'source.serviceAccount')) return;
  const suggestion = fromPrincipal(value);
  const node = ctx.locate(path).node;
  const fixes: Fix[] = suggestion && node ? [{ title: `Change to ${suggestion}`, edits: [replaceScalar(ctx.file, node, suggestion)], preferred: true }] : [];
  const hint = suggestion ? `; this is a principal, the service account is written ${suggestion}` : value.includes('*') ? '; to match a whole namespace use namespaces (or source.namespace)' : '';
  ctx.report({ path }, `${prefix}${error}${hint}`, { fixes });
}

/** istiod's CheckServiceAccount (§1.9.2 R7, W4 source.serviceAccount). The list and length
 * limits of the source fields are in the CRD schema; for the `when` key only istiod checks them. */
export const serviceAccountCheck: Check = {
  code: 'MPA1011',
  mesh: 'istio',
  title: 'Invalid service account',
  defaultSeverity: 'error',
  admissionRefusal: true,
  upstream: 'istiod webhook (CheckServiceAccount): "wildcard not allowed, found in ServiceAccounts", "expected format \'serviceAccount\' or \'namespace/serviceAccount\' ...", "may not have more than 16 values"',
  kinds: [AP],
  run(ctx) {
    for (const rule of rulesOf(specOf(ctx))) {
      for (const source of sourcesOf(rule)) {
        for (const field of ['serviceAccounts', 'notServiceAccounts']) {
          for (const { value, index } of strings(source.source[field])) report(ctx, [...source.path, field, index], value, upstreamName(field), '');
        }
      }
      for (const condition of conditionsOf(rule)) {
        if (whenKey(condition.condition) !== 'source.serviceAccount') continue;
        for (const field of ['values', 'notValues']) {
          const items = strings(condition.condition[field]);
          const prefix = `invalid \`${field === 'values' ? 'value' : 'notValue'}\` for \`key\` source.serviceAccount: `;
          if (Array.isArray(condition.condition[field]) && (condition.condition[field] as unknown[]).length > 16) {
            ctx.report({ path: [...condition.path, field], part: 'key' }, `${prefix}may not have more than 16 values`);
          }
          for (const { value, index } of items) report(ctx, [...condition.path, field, index], value, 'source.serviceAccount', prefix);
        }
      }
    }
  },
};

import { replaceScalar } from '../../edits';
import type { Fix } from '../../findings';
import type { Check } from '../check';
import { AP, closest, conditionsOf, nonEmpty, rulesOf, specOf } from './util';

/** Keys taken as they are (§1.4.3). */
const EXACT_KEYS = [
  'source.ip', 'remote.ip', 'source.namespace', 'source.serviceAccount', 'source.trustDomain', 'source.principal',
  'request.auth.principal', 'request.auth.audiences', 'request.auth.presenter', 'destination.ip', 'destination.port', 'connection.sni',
];
/* Keys written `name[x]`: request.headers, request.auth.claims, experimental.envoy.filters.*, and
 * request.experimental.inline.headers, which istiod's ValidateAttribute accepts although §1.4.3
 * does not list it. */

function mapKeyError(key: string): string | undefined {
  const open = key.indexOf('[');
  return key.endsWith(']') && open > 0 && open < key.length - 2 ? undefined : `bad key (${key}): should have format a[b]`;
}

/** istiod's ValidateAttribute for the key; the error, or undefined for a valid key. */
export function attributeError(key: string): string | undefined {
  if (key.startsWith('request.headers') || key.startsWith('request.experimental.inline.headers')) return mapKeyError(key);
  if (EXACT_KEYS.includes(key)) return undefined;
  if (key.startsWith('request.auth.claims') || key.startsWith('experimental.envoy.filters.')) return mapKeyError(key);
  if (key === 'destination.namespace') return `attribute ${key} is replaced by the metadata.namespace`;
  if (key.startsWith('destination.labels')) return `attribute ${key} is replaced by the workload selector`;
  if (key === 'destination.name' || key === 'destination.user') return `deprecated attribute ${key}: only supported in v1alpha1`;
  return `unknown attribute: ${key}`;
}

/** A valid key the author probably meant. */
function suggestKey(key: string): string | undefined {
  const trimmed = key.trim();
  if (trimmed !== key && !attributeError(trimmed)) return trimmed;
  // request.headers.x-user / request.auth.claims.groups -> bracket form
  for (const base of ['request.headers', 'request.auth.claims']) {
    if (key.startsWith(`${base}.`) && key.length > base.length + 1 && !key.includes('[')) return `${base}[${key.slice(base.length + 1)}]`;
  }
  const open = key.indexOf('[');
  if (open > 0 && key.endsWith(']')) {
    const base = closest(key.slice(0, open), ['request.headers', 'request.auth.claims'], 3);
    const candidate = base ? `${base}${key.slice(open)}` : undefined;
    return candidate && !attributeError(candidate) ? candidate : undefined;
  }
  if (open < 0) {
    const candidate = closest(key, EXACT_KEYS, 3);
    return candidate && !attributeError(candidate) ? candidate : undefined;
  }
  return undefined;
}

/** istiod's checks of `when` conditions (§1.9.2 W1, W2, W4 key format, W5). Value formats of
 * the IP, port, service-account and trust-domain keys have their own codes. */
export const whenConditionCheck: Check = {
  code: 'MPA1010',
  mesh: 'istio',
  title: 'Invalid condition key',
  defaultSeverity: 'error',
  admissionRefusal: true,
  upstream: 'istiod webhook: "`key` must not be empty", "at least one of `values` or `notValues` must be set for key KEY", "unknown attribute: KEY", "bad key (KEY): should have format a[b]"',
  kinds: [AP],
  run(ctx) {
    for (const rule of rulesOf(specOf(ctx))) {
      for (const { condition, path } of conditionsOf(rule)) {
        const key = condition['key'];
        if (typeof key !== 'string') continue; // missing or not a string: schema
        if (key === '') {
          ctx.report({ path: [...path, 'key'] }, '`key` must not be empty: name the attribute to compare, e.g. request.headers[x-user] or source.ip');
          continue;
        }
        if (!nonEmpty(condition['values']) && !nonEmpty(condition['notValues'])) {
          ctx.report({ path: [...path, 'key'] }, `at least one of \`values\` or \`notValues\` must be set for key ${key}`);
          continue;
        }
        const error = attributeError(key);
        if (!error) continue;
        const suggestion = suggestKey(key);
        const keyNode = ctx.locate([...path, 'key']).node;
        const fixes: Fix[] = suggestion && keyNode ? [{ title: `Change to ${suggestion}`, edits: [replaceScalar(ctx.file, keyNode, suggestion)], preferred: true }] : [];
        const hint = suggestion ? `; did you mean ${suggestion}?` : error.startsWith('unknown') ? ' (keys are case-sensitive; see the list of supported condition keys)' : '';
        ctx.report({ path: [...path, 'key'] }, `invalid \`key\` ${key}: ${error}${hint}`, { fixes });
      }
    }
  },
};

import { replaceScalar } from '../../edits';
import type { Fix } from '../../findings';
import type { Check } from '../check';
import { AP, operationsOf, rulesOf, specOf, strings, upstreamName } from './util';

const MATCH_ONE = '{*}';
const MATCH_ANY = '{**}';
const VALID_LITERAL = /^[a-zA-Z0-9\-._~%!$&'()+,;:@=]+$/;

export function containsTemplate(path: string): boolean {
  return path.includes(MATCH_ONE) || path.includes(MATCH_ANY);
}

/** istiod's CheckValidPathTemplate for one path; the reason, or undefined when accepted. */
export function pathTemplateError(path: string, field: string): string | undefined {
  const template = containsTemplate(path);
  const trimmed = path.replace(/^\/+|\/+$/g, '');
  let foundAny = false;
  for (const glob of trimmed.split('/')) {
    if (glob === MATCH_ONE && !foundAny) continue;
    if (glob === MATCH_ANY && !foundAny) {
      foundAny = true;
      continue;
    }
    if ((glob === MATCH_ANY || glob === MATCH_ONE) && foundAny) {
      return `invalid or unsupported path ${trimmed}, found in ${field}. {**} is not the last operator`;
    }
    if (/[{}]/.test(glob)) {
      return `invalid or unsupported path ${trimmed}, found in ${field}. Contains '{' or '}' beyond a supported path template`;
    }
    if (template && !VALID_LITERAL.test(glob)) {
      return `invalid or unsupported path ${trimmed}, found in ${field}. Contains segment ${glob} with invalid string literal`;
    }
  }
  return undefined;
}

/** Named variables and bare globs rewritten to Istio's two operators. */
function rewrite(path: string): string {
  const segments = path.split('/').map((segment) => {
    if (/^\{\w*(=\*)?\}$/.test(segment)) return MATCH_ONE;
    if (/^\{\w*=\*\*\}$/.test(segment)) return MATCH_ANY;
    return segment;
  });
  if (!segments.some((s) => s === MATCH_ONE || s === MATCH_ANY)) return path;
  return segments.map((s) => (s === '*' ? MATCH_ONE : s === '**' ? MATCH_ANY : s)).join('/');
}

/** istiod: path templates accept only `{*}` and `{**}` (§1.6, §1.9.2 O5–O7). */
export const pathTemplateCheck: Check = {
  code: 'MPA1009',
  mesh: 'istio',
  title: 'Unsupported path template',
  defaultSeverity: 'error',
  admissionRefusal: true,
  upstream: 'istiod webhook (CheckValidPathTemplate): "invalid or unsupported path PATH, found in Paths. Contains \'{\' or \'}\' beyond a supported path template", "{**} is not the last operator", "Contains segment SEGMENT with invalid string literal"',
  kinds: [AP],
  run(ctx) {
    for (const rule of rulesOf(specOf(ctx))) {
      for (const operation of operationsOf(rule)) {
        for (const field of ['paths', 'notPaths']) {
          for (const { value, index } of strings(operation.operation[field])) {
            const error = value === '' ? undefined : pathTemplateError(value, upstreamName(field));
            if (!error) continue;
            const path = [...operation.path, field, index];
            const rewritten = rewrite(value);
            const node = ctx.locate(path).node;
            const fixes: Fix[] = rewritten !== value && !pathTemplateError(rewritten, field) && node
              ? [{ title: `Change to ${rewritten}`, edits: [replaceScalar(ctx.file, node, rewritten)], preferred: true }]
              : [];
            const hint = error.includes("'{' or '}'")
              ? '; Istio has no named variables: use {*} for one segment or {**} for the rest of the path'
              : error.includes('invalid string literal') ? '; in a path template every other segment must be literal text (no *, no empty segment)' : '';
            ctx.report({ path }, `${error}${hint}`, { fixes });
          }
        }
      }
    }
  },
};

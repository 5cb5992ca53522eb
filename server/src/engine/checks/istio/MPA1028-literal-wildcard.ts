import { replaceScalar } from '../../edits';
import type { Fix } from '../../findings';
import type { NodePath } from '../../source/tree';
import type { Check, CheckContext } from '../check';
import { containsTemplate, pathTemplateError } from './MPA1009-path-template';
import { AP, conditionsOf, operationsOf, rulesOf, sourcesOf, specOf, strings, whenKey } from './util';

/** `when` keys whose values use the generic string match (§1.5.1). */
function stringMatchKey(key: string): boolean {
  return key.startsWith('request.headers[') || key.startsWith('request.auth.claims[') || key.startsWith('experimental.envoy.filters.')
    || key === 'source.principal' || key === 'request.auth.audiences' || key === 'request.auth.presenter' || key === 'connection.sni';
}

/** True when a `*` other than one leading or one trailing wildcard is in the value. */
export function hasLiteralStar(value: string): boolean {
  if (value === '*' || !value.includes('*')) return false;
  const rest = value.startsWith('*') ? value.slice(1) : value.endsWith('*') ? value.slice(0, -1) : value;
  return rest.includes('*');
}

/** `/api/*\/items` as the path template Istio 1.22+ understands. */
function asTemplate(path: string): string | undefined {
  if (!path.startsWith('/')) return undefined;
  const segments = path.split('/');
  const last = segments.length - 1;
  const converted = segments.map((s, i) => (s === '**' ? '{**}' : s === '*' ? (i === last ? '{**}' : '{*}') : s)).join('/');
  return converted !== path && containsTemplate(converted) && !pathTemplateError(converted, 'Paths') ? converted : undefined;
}

function check(ctx: CheckContext, path: NodePath, value: string, kind: 'path' | 'principal' | 'host' | 'value'): void {
  if (!hasLiteralStar(value) || (kind === 'path' && containsTemplate(value))) return;
  const fixes: Fix[] = [];
  let hint = '';
  if (kind === 'path') {
    const template = asTemplate(value);
    const node = ctx.locate(path).node;
    if (template && node) fixes.push({ title: `Change to ${template}`, edits: [replaceScalar(ctx.file, node, template)], preferred: true });
    hint = template ? `; for "any segment" use the path template ${template}` : '; for "any segment" use a path template ({*} for one segment, {**} for the rest)';
  } else if (kind === 'principal') {
    hint = '; to match every service account of a namespace use namespaces (where * works anywhere), or list the principals';
  } else if (value.startsWith('*') && value.endsWith('*')) {
    hint = '; there is no "contains" match';
  }
  ctx.report({ path }, `${JSON.stringify(value)} contains a * that is matched literally: Istio treats only one leading or one trailing * as a wildcard${hint}`, { fixes });
}

/** §1.5.1: in string matches only a single leading or trailing `*` is special. */
export const literalWildcardCheck: Check = {
  code: 'MPA1028',
  mesh: 'istio',
  title: 'Wildcard in the middle of a value',
  defaultSeverity: 'warning',
  upstream: 'none (istiod accepts the value and matches the inner * literally)',
  kinds: [AP],
  run(ctx) {
    for (const rule of rulesOf(specOf(ctx))) {
      for (const source of sourcesOf(rule)) {
        for (const field of ['principals', 'notPrincipals']) {
          for (const { value, index } of strings(source.source[field])) check(ctx, [...source.path, field, index], value, 'principal');
        }
      }
      for (const operation of operationsOf(rule)) {
        for (const [field, kind] of [['paths', 'path'], ['notPaths', 'path'], ['hosts', 'host'], ['notHosts', 'host']] as const) {
          for (const { value, index } of strings(operation.operation[field])) check(ctx, [...operation.path, field, index], value, kind);
        }
      }
      for (const condition of conditionsOf(rule)) {
        const key = whenKey(condition.condition);
        if (!key || !stringMatchKey(key)) continue;
        for (const field of ['values', 'notValues']) {
          for (const { value, index } of strings(condition.condition[field])) check(ctx, [...condition.path, field, index], value, key === 'source.principal' ? 'principal' : 'value');
        }
      }
    }
  },
};

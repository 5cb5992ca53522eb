import type { NodePath } from '../../source/tree';
import type { Check } from '../check';
import { re2 } from '../../simulate/re2';
import { key, modelOf } from './model';

/**
 * `PathRegex` and header `Regex` become Envoy `safe_regex` matchers (Google RE2). Consul stores
 * whatever string it gets; a pattern RE2 cannot compile (look-arounds, back-references, an
 * unclosed bracket), or one whose program is far over Envoy's size limit (`simulate/consul/http.ts`
 * `re2`), makes Envoy reject the RBAC configuration pushed to the destination's proxies, so the
 * update does not apply. Patterns are compiled with re2js (RE2 syntax), never
 * with JavaScript's RegExp, whose syntax differs.
 */
export const invalidRegex: Check = {
  code: 'MPA3005',
  mesh: 'consul',
  title: 'Regular expression is not valid RE2',
  defaultSeverity: 'error',
  upstream: 'Envoy safe_regex (RE2) compilation: "Invalid regex"',
  kinds: ['ServiceIntentions', 'service-intentions'],
  run(context) {
    const model = modelOf(context.resource);
    const k = (name: string) => key(model.form, name);
    for (const source of model.sources) {
      for (const permission of source.permissions ?? []) {
        const http = permission.http;
        if (!http) continue;
        if (http.pathRegex !== undefined) check(context, [...http.path, k('PathRegex')], k('PathRegex'), http.pathRegex);
        for (const header of http.headers) {
          if (header.regex) check(context, [...header.path, k('Regex')], `${k('Header')}[${header.index}].${k('Regex')}`, header.regex);
        }
      }
    }
  },
};

/** Why Envoy refuses a pattern (an RE2 syntax error, or a program far over its size limit), or undefined. */
export function re2Error(pattern: string): string | undefined {
  const compiled = re2(pattern);
  return typeof compiled === 'string' ? compiled : undefined;
}

function check(context: Parameters<Check['run']>[0], path: NodePath, field: string, pattern: string): void {
  const error = re2Error(pattern);
  if (error === undefined) return;
  context.report({ path }, `${field} is not a valid RE2 regular expression (${error}); Envoy rejects the proxy configuration that carries it`);
}

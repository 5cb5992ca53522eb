import { RE2JS } from 're2js';
import type { NodePath } from '../../source/tree';
import type { Check } from '../check';
import { key, modelOf } from './model';

/**
 * `PathRegex` and header `Regex` become Envoy `safe_regex` matchers (Google RE2). Consul stores
 * whatever string it gets; a pattern RE2 cannot compile (look-arounds, back-references, an
 * unclosed bracket) makes Envoy reject the RBAC configuration pushed to the destination's
 * proxies, so the update does not apply. Patterns are compiled with re2js (RE2 syntax), never
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

const compiled = new Map<string, string | undefined>();

/** The RE2 syntax error of a pattern, or undefined when it compiles. Memoized: patterns repeat. */
export function re2Error(pattern: string): string | undefined {
  if (compiled.has(pattern)) return compiled.get(pattern);
  let error: string | undefined;
  try {
    RE2JS.compile(pattern);
  } catch (e) {
    error = (e instanceof Error ? e.message : String(e)).replace(/^error parsing regexp:\s*/, '');
  }
  if (compiled.size > 5000) compiled.clear();
  compiled.set(pattern, error);
  return error;
}

function check(context: Parameters<Check['run']>[0], path: NodePath, field: string, pattern: string): void {
  const error = re2Error(pattern);
  if (error === undefined) return;
  context.report({ path }, `${field} is not a valid RE2 regular expression (${error}); Envoy rejects the proxy configuration that carries it`);
}

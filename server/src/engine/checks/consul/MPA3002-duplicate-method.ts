import type { Check } from '../check';
import { modelOf } from './model';
import { removeArrayItem } from './removal';
import { lineOf } from './util';

/**
 * V24, the part the schema cannot see: Consul upper-cases `Methods` while normalizing a config
 * entry and only then rejects repeats, so `["GET", "get"]` fails ("Methods contains "GET" more
 * than once") although the strings differ. Exact repeats are MPA0108 (the schema's uniqueItems);
 * the CRD takes upper-case methods only, so a lower-case one there is MPA0104.
 */
export const duplicateMethod: Check = {
  code: 'MPA3002',
  mesh: 'consul',
  title: 'Method listed twice in another letter case',
  defaultSeverity: 'error',
  upstream: 'Consul config entry validation: "Sources[%d].Permissions[%d].HTTP.Methods contains %q more than once"',
  kinds: ['service-intentions'],
  run(context) {
    const model = modelOf(context.resource);
    for (const source of model.sources) {
      for (const permission of source.permissions ?? []) {
        const methods = permission.http?.methods;
        if (!methods) continue;
        const seen = new Map<string, { value: string; path: (string | number)[] }>();
        for (const method of methods) {
          const upper = method.value.toUpperCase();
          const first = seen.get(upper);
          if (!first) {
            seen.set(upper, method);
            continue;
          }
          if (first.value === method.value) continue; // MPA0108 says it
          const list = context.locate(method.path.slice(0, -1)).node;
          const edit = list?.type === 'array' ? removeArrayItem(context.file, list, method.path[method.path.length - 1] as number) : undefined;
          const line = lineOf(context, first.path);
          const sameLine = line === lineOf(context, method.path);
          context.report(
            { path: method.path },
            `method ${JSON.stringify(method.value)} repeats ${JSON.stringify(first.value)}${sameLine || !line ? '' : ` (line ${line})`}: Consul upper-cases methods, then rejects Methods that contain ${JSON.stringify(upper)} more than once`,
            { fixes: edit ? [{ title: `Remove the repeated method ${JSON.stringify(method.value)}`, edits: [edit], preferred: true }] : [] },
          );
        }
      }
    }
  },
};

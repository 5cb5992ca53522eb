import type { NodePath } from '../../source/tree';
import type { Check, CheckContext } from '../check';
import { hasPermissions, isWildcardDestination, modelOf } from './model';

/**
 * The consul-k8s webhook validates a ServiceIntentions resource only partly (spec §3.7.3); the
 * rest of Consul's own validation (§3.7.1) runs when consul-k8s writes the config entry, and a
 * failure there leaves the resource applied but not in force (condition `Synced` false). The
 * config-entry schema already holds these rules; the CRD schema follows the webhook, so they are
 * checked here for the CRD only: V1, V2/V3 (partial wildcards), V4, V16, V19, V22, V23, V25.
 */
export const rejectedAtSync: Check = {
  code: 'MPA3006',
  mesh: 'consul',
  title: 'ServiceIntentions that Consul rejects at sync',
  defaultSeverity: 'error',
  upstream: 'Consul config entry validation, reported by consul-k8s as a sync error (condition Synced=False)',
  kinds: ['ServiceIntentions'],
  run(context) {
    const model = modelOf(context.resource);
    if (!context.value['spec'] || typeof context.value['spec'] !== 'object') return;

    if (!model.name) {
      const where: NodePath = context.locate(['spec', 'destination']).node ? ['spec', 'destination'] : ['spec'];
      report(context, where, 'spec.destination.name is missing', 'Name is required');
    } else {
      wildcards(context, model.name, model.namespace, ['spec', 'destination'], 'spec.destination');
    }

    for (const source of model.sources) {
      const at = `spec.sources[${source.index}]`;
      if (source.name) wildcards(context, source.name, source.namespace, source.path, at);
      if (isWildcardDestination(model) && hasPermissions(source)) {
        report(context, source.permissionsPath, `${at}.permissions cannot be used with the wildcard destination ${JSON.stringify(model.name === '*' ? '*' : `${model.namespace}/${model.name}`)}`,
          `Sources[${source.index}].Permissions cannot be specified on intentions with wildcarded destinations`, 'key');
      }
      for (const permission of source.permissions ?? []) {
        const pat = `${at}.permissions[${permission.index}]`;
        const prefix = `Sources[${source.index}].Permissions[${permission.index}].HTTP`;
        const http = permission.http;
        if (!http) {
          report(context, permission.path, `${pat} has no http block`, `${prefix} is required`);
          continue;
        }
        const criteria = [http.pathExact, http.pathPrefix, http.pathRegex].filter((p) => p !== undefined).length + http.headers.length + (http.methods?.length ? 1 : 0);
        if (criteria === 0) report(context, http.path, `${pat}.http sets no path, header or method`, `${prefix} should not be empty`, 'key');
        for (const header of http.headers) {
          const hat = `${pat}.http.header[${header.index}]`;
          if (!header.name) {
            report(context, header.path, `${hat} has no name`, `${prefix}.Header[${header.index}] missing required Name field`);
            continue;
          }
          const matchers = [header.present === true, !!header.exact, !!header.prefix, !!header.suffix, !!header.contains, !!header.regex].filter(Boolean).length;
          if (matchers === 0) {
            report(context, header.path, `${hat} (${JSON.stringify(header.name)}) has none of present, exact, prefix, suffix, contains or regex`,
              `${prefix}.Header[${header.index}] should only contain one of Present, Exact, Prefix, Suffix, or Regex`);
          }
        }
      }
    }
  },
};

function wildcards(context: CheckContext, name: string, namespace: string | undefined, path: NodePath, at: string): void {
  if (namespace !== undefined && namespace !== '*' && namespace.includes('*')) {
    report(context, [...path, 'namespace'], `${at}.namespace ${JSON.stringify(namespace)} uses "*" as part of a value`, `Namespace: wildcard character '*' cannot be used with partial values`);
  }
  if (name !== '*' && name.includes('*')) {
    report(context, [...path, 'name'], `${at}.name ${JSON.stringify(name)} uses "*" as part of a value`, `Name: wildcard character '*' cannot be used with partial values`);
  } else if (name !== '*' && namespace === '*') {
    report(context, [...path, 'name'], `${at}.name ${JSON.stringify(name)} is exact but its namespace is "*"`, 'Name: exact value cannot follow wildcard namespace');
  }
}

function report(context: CheckContext, path: NodePath, what: string, consul: string, part?: 'key'): void {
  context.report({ path, ...(part ? { part } : {}) }, `${what}: the consul-k8s webhook lets it through, but Consul rejects the entry when consul-k8s syncs it ("${consul}")`);
}

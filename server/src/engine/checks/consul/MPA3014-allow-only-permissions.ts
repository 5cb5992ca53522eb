import type { Check } from '../check';
import { describeSource, modelOf } from './model';

/**
 * A source whose permissions are all `allow` while the default intention policy is allow. Per
 * spec §3.5, a request from a source that has permissions is decided by those permissions alone,
 * and one that matches none gets the default intention policy, never a lower-precedence source
 * such as `* -> deny`. With a default of allow, every request from the source is allowed: the
 * permissions restrict nothing (hashicorp/consul#10699). With a default of deny they are the
 * allowlist they look like, and nothing is reported. The default is taken from `.meshpolicy.yaml`
 * (`consul.defaultIntentionPolicy`, allow unless set), as for MPA3012.
 */
export const allowOnlyPermissions: Check = {
  code: 'MPA3014',
  mesh: 'consul',
  title: 'Only allow permissions under a default allow: they restrict nothing',
  defaultSeverity: 'warning',
  upstream: 'Consul L7 intentions: a request that matches no permission gets the default intention policy (hashicorp/consul#10699)',
  kinds: ['ServiceIntentions', 'service-intentions'],
  run(context) {
    if (context.workspace.config.consul.defaultIntentionPolicy === 'deny') return;
    const model = modelOf(context.resource);
    for (const source of model.sources) {
      const permissions = source.permissions ?? [];
      if (!permissions.length || !permissions.every((p) => p.action === 'allow')) continue;
      const who = JSON.stringify(describeSource(model, source));
      const wildcard = model.sources.some((s) => s !== source && s.name === '*' && s.action === 'deny' && !s.permissions?.length) ? ' (not the "*" deny source of this entry)' : '';
      context.report({ path: source.permissionsPath, part: 'key' },
        `every permission of source ${who} is allow, and requests that match none of them get the default intention policy${wildcard}, which is allow here (consul.defaultIntentionPolicy): every request from ${who} is allowed and these permissions restrict nothing; end them with a permission that denies the rest (Action "deny", PathPrefix "/")`);
    }
  },
};

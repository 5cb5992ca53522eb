import type { Check } from '../check';
import { describeSource, key, matchesEverything, modelOf } from './model';
import { defaultIntentionPolicy } from './workspaceIndex';

/**
 * A source whose permissions are all `allow` while the default intention policy is allow. Per
 * spec §3.5, a request from a source that has permissions is decided by those permissions alone,
 * and one that matches none gets the default intention policy, never a lower-precedence source
 * such as `* -> deny`. With a default of allow, every request from the source is allowed: the
 * permissions restrict nothing (hashicorp/consul#10699). With a default of deny they are the
 * allowlist they look like, and nothing is reported. The default is the simulator's, as for MPA3012.
 * The same holds for the allow permissions after a source's last deny permission (the first
 * match wins, so an allow before a deny is an exception to it and does decide something).
 */
export const allowOnlyPermissions: Check = {
  code: 'MPA3014',
  mesh: 'consul',
  title: 'Allow permissions under a default allow: they restrict nothing',
  defaultSeverity: 'warning',
  upstream: 'Consul L7 intentions: a request that matches no permission gets the default intention policy (hashicorp/consul#10699)',
  kinds: ['ServiceIntentions', 'service-intentions'],
  run(context) {
    const { policy, from } = defaultIntentionPolicy(context.workspace);
    if (policy === 'deny') return;
    const model = modelOf(context.resource);
    for (const source of model.sources) {
      const permissions = source.permissions ?? [];
      if (!permissions.length) continue;
      const lastDeny = permissions.map((p) => p.action).lastIndexOf('deny');
      const trailing = permissions.slice(lastDeny + 1).filter((p) => p.action === 'allow');
      // (a trailing allow of every request says in so many words that the rest is allowed)
      if (!trailing.length || trailing.some((p) => !p.hasJwt && (!p.http || matchesEverything(p.http)))) continue;
      const who = JSON.stringify(describeSource(model, source));
      const wildcard = model.sources.some((s) => s !== source && s.name === '*' && s.action === 'deny' && !s.permissions?.length) ? ' (not the "*" deny source of this entry)' : '';
      if (lastDeny < 0) {
        context.report({ path: source.permissionsPath, part: 'key' },
          `every permission of source ${who} is allow, and requests that match none of them get the default intention policy${wildcard}, which is allow here (${from}): every request from ${who} is allowed and these permissions restrict nothing; end them with a permission that denies the rest (Action "deny", PathPrefix "/")`);
        continue;
      }
      const list = key(model.form, 'Permissions');
      const which = trailing.map((p) => `${list}[${p.index}]`).join(', ');
      context.report({ path: trailing[0]!.path },
        `source ${who}'s allow ${trailing.length === 1 ? 'permission' : 'permissions'} ${which}, after its last deny, restrict${trailing.length === 1 ? 's' : ''} nothing: requests that match no permission get the default intention policy${wildcard}, which is allow here (${from}), so only the deny permissions restrict; end the list with a permission that denies the rest (Action "deny", PathPrefix "/") to allow only what the allow permissions name`);
    }
  },
};

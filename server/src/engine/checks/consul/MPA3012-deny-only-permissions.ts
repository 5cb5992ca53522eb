import type { Check } from '../check';
import { describeSource, matchesEverything, modelOf } from './model';
import { defaultIntentionPolicy } from './workspaceIndex';

/**
 * A source whose permissions are all `deny`. Per spec §3.5, a request from a source that has
 * permissions is decided by those permissions alone: when none matches, the *default intention
 * policy* applies (agent `default_intention_policy`, else the ACL default policy), never a
 * lower-precedence source of the same destination such as `*`. So:
 * - default allow: everything from this source that the deny rules do not name is allowed, even
 *   when a `* -> deny` intention exists;
 * - default deny: everything from this source is denied anyway and the rules change nothing.
 * The default is the simulator's: `.meshpolicy.yaml`'s `consul.defaultIntentionPolicy`, else the
 * workspace's agent configuration, else allow.
 * Not reported when one of the deny permissions matches every request and no JWT requirement
 * (the entry's or its own) can leave a request to the default (nothing is left over).
 */
export const denyOnlyPermissions: Check = {
  code: 'MPA3012',
  mesh: 'consul',
  title: 'Only deny permissions: the rest falls to the default policy',
  defaultSeverity: 'info',
  upstream: 'Consul L7 intentions: a request that matches no permission gets the default intention policy',
  kinds: ['ServiceIntentions', 'service-intentions'],
  run(context) {
    const model = modelOf(context.resource);
    const { policy, from } = defaultIntentionPolicy(context.workspace);
    for (const source of model.sources) {
      const permissions = source.permissions ?? [];
      if (!permissions.length || !permissions.every((p) => p.action === 'deny')) continue;
      // A final deny-everything rule leaves nothing to the default: that is an L4 deny, written long.
      if (!model.jwtProviders.length && permissions.some((p) => p.http && matchesEverything(p.http) && !p.hasJwt)) continue;
      const who = JSON.stringify(describeSource(model, source));
      const lower = model.sources.filter((s) => s !== source && s.name === '*' && s.action !== undefined && !s.permissions?.length);
      const wildcard = lower.length ? 'not by the "*" source of this entry' : 'not by any other intention';
      context.report({ path: source.permissionsPath, part: 'key' }, policy === 'deny'
        ? `every permission of source ${who} is deny, and requests that match none get the default intention policy, which is deny here (${from}): every request from ${who} is denied and these permissions change nothing; an L4 action "deny" says the same`
        : `every permission of source ${who} is deny: requests from ${who} that match none of them are decided by the default intention policy (allow here, from ${from}), ${wildcard}, so they are allowed`);
    }
  },
};

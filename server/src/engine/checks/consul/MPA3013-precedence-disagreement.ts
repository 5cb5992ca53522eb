import type { Check } from '../check';
import { key, modelOf, normalizedSource, type IntentionsModel, type SourceModel } from './model';
import { defaultIntentionPolicy, location, wildcardDestinations } from './workspaceIndex';

/**
 * The precedence corner case of spec §3.5 (open question 6). For a caller `web` and a destination
 * `api`, take `* -> api` (precedence 8) and `web -> *` (precedence 6) with different actions.
 * Consul's first-match evaluation (`consul intention check`, the agent authorize endpoint) picks
 * the higher precedence, `* -> api`. The Envoy RBAC rules Consul generates only subtract a higher
 * intention from a lower one when the higher one's source is contained in the lower one's
 * (`removeSourcePrecedence` / `ixnSourceMatches`); `*` is not contained in `web`, so nothing is
 * subtracted. The intention whose action equals the default is dropped, the other one is kept:
 * when `* -> api` has the default action, the proxy applies `web -> *` and the two disagree.
 *
 * Flagged only in that shape: an L4 `*` source (exact namespace) in an entry with an exact
 * destination, an L4 exact source of the same namespace and partition with the other action in a
 * `*` destination entry anywhere in the workspace, no exact source for that caller in the first
 * entry, and the `*` source's action equal to the default (the simulator's: `consul.defaultIntentionPolicy`, else the agent configuration).
 * Peers and sameness groups are left out. Read from the code, not observed on a cluster: a
 * warning that explains both outcomes.
 */
export const precedenceDisagreement: Check = {
  code: 'MPA3013',
  mesh: 'consul',
  title: 'Envoy and consul intention check disagree',
  defaultSeverity: 'warning',
  upstream: 'Consul agent/xds/rbac.go removeSourcePrecedence versus Intention.Check first match',
  kinds: ['ServiceIntentions', 'service-intentions'],
  run(context) {
    const model = modelOf(context.resource);
    if (!model.name || model.name === '*' || model.namespace === '*') return;
    const { policy, from } = defaultIntentionPolicy(context.workspace);
    const destinationNs = model.namespace || 'default';
    const destinationPartition = model.partition || 'default';
    const wildcardEntries = wildcardDestinations(context.workspace).filter((r) =>
      [destinationNs, '*'].includes(r.model.namespace || 'default') && (r.model.partition || 'default') === destinationPartition);
    if (!wildcardEntries.length) return;
    for (const broad of model.sources) {
      if (broad.name !== '*' || !isL4(broad) || broad.action !== policy) continue;
      const b = normalizedSource(model, broad);
      if (b.peer || b.samenessGroup || b.namespace === '*') continue;
      for (const record of wildcardEntries) {
        for (const narrow of record.model.sources) {
          if (!narrow.name || narrow.name === '*' || !isL4(narrow) || narrow.action === broad.action) continue;
          const n = normalizedSource(record.model, narrow);
          if (n.peer || n.samenessGroup || n.namespace !== b.namespace || n.partition !== b.partition) continue;
          if (hasExact(model, n.namespace, n.name)) continue;
          const caller = JSON.stringify(narrow.name);
          const verdict = (action: string | undefined) => (action === 'allow' ? 'allowed' : 'denied');
          context.report({ path: [...broad.path, key(model.form, 'Name')] },
            `${caller} -> ${JSON.stringify(model.name)}: consul intention check answers ${verdict(broad.action)} (this "*" source outranks ${caller} -> "*" ${narrow.action}, ${location(record.file, record.resource.node.span, context.file)}), but the proxy has it ${verdict(narrow.action)}: Consul's Envoy rules do not subtract a broader source from a narrower one, and this ${broad.action} is the default (${from}), so it is left out; add ${caller} to this entry to make both agree`);
        }
      }
    }
  },
};

function isL4(source: SourceModel): boolean {
  return (source.action === 'allow' || source.action === 'deny') && !source.permissions?.length;
}

function hasExact(model: IntentionsModel, namespace: string, name: string): boolean {
  return model.sources.some((s) => {
    const n = normalizedSource(model, s);
    return !n.peer && !n.samenessGroup && n.name === name && n.namespace === namespace;
  });
}

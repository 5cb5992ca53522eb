import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { isUnknown } from '../../../server/src/engine/authz';
import { listed, listFor, rowsOf, workspaceOf } from './workspace';

// The intentions for a service in precedence order, from /work/shared/spec/mesh-semantics.md
// §3.3 (precedence = how many of namespace and name are exact, destination first: the 9-row
// table; ties by source namespace, source name) and §3.4 (no match: the default intention
// policy, allow unless configured).

const entry = (name: string, sources: { Name: string; Namespace?: string; Action?: string; Permissions?: unknown[] }[], namespace?: string): string =>
  JSON.stringify({ Kind: 'service-intentions', Name: name, ...(namespace ? { Namespace: namespace } : {}), Sources: sources });

const CE = {
  'api.json': entry('api', [{ Name: '*', Action: 'deny' }, { Name: 'web', Action: 'allow' }, { Name: 'admin', Permissions: [{ Action: 'allow', HTTP: { PathPrefix: '/admin' } }, { Action: 'deny', HTTP: { PathPrefix: '/' } }] }]),
  'all.json': entry('*', [{ Name: '*', Action: 'deny' }, { Name: 'web', Action: 'allow' }]),
};

describe('mesh-policy authz: Consul', () => {
  it('exact destination before wildcard, exact source before wildcard (§3.3 rows 9, 8, 6, 5)', () => {
    const listing = listed(listFor('consul', workspaceOf(CE), { name: 'api' }));
    assert.equal(listing.sections.length, 1);
    assert.deepEqual(rowsOf(listing, 0), [
      // precedence 9: exact source names, ordered by name
      'L7 service-intentions api Sources[2] admin',
      'allow service-intentions api Sources[1] web',
      'deny service-intentions api Sources[0] *',
      'allow service-intentions * Sources[1] web',
      'deny service-intentions * Sources[0] *',
    ]);
    assert.deepEqual(listing.sections[0]!.rows.map((r) => r.detail), ['precedence 9, 2 permissions', 'precedence 9', 'precedence 8', 'precedence 6', 'precedence 5']);
    assert.equal(listing.sections[0]!.rows[3]!.attachment, 'every destination in namespace default (default/*), source default/web');
    assert.deepEqual(listing.sections[0]!.summary, ['a caller no source matches, or an L7 request no permission matches: the default intention policy (allow, from consul.defaultIntentionPolicy)']);
  });

  it('a service with no entry of its own: only the wildcard entry applies (§3.3 rows 6, 5)', () => {
    const listing = listed(listFor('consul', workspaceOf({ ...CE, 'inventory.yaml': 'apiVersion: v1\nkind: Service\nmetadata: {name: billing, namespace: shop}\nspec: {selector: {app: billing}}\n' }), { name: 'billing' }));
    assert.deepEqual(rowsOf(listing, 0), ['allow service-intentions * Sources[1] web', 'deny service-intentions * Sources[0] *']);
  });

  it('the default intention policy from the configuration (§3.4)', () => {
    const listing = listed(listFor('consul', workspaceOf(CE, (config) => { config.consul.defaultIntentionPolicy = 'deny'; }), { name: 'api' }));
    assert.match(listing.sections[0]!.summary[0]!, /the default intention policy \(deny, from consul\.defaultIntentionPolicy\)$/);
  });

  it('Enterprise namespaces: <namespace>/<service>, and the */* entry last (§3.3 rows 9, 1)', () => {
    const files = {
      'api.json': entry('api', [{ Name: 'web', Namespace: 'team', Action: 'allow' }], 'shop'),
      'all.json': entry('*', [{ Name: '*', Namespace: '*', Action: 'deny' }], '*'),
    };
    const listing = listed(listFor('consul', workspaceOf(files), { namespace: 'shop', name: 'api' }));
    assert.equal(listing.target, 'shop/api');
    assert.deepEqual(listing.sections[0]!.rows.map((r) => [r.resource, r.detail]), [
      ['service-intentions shop/api Sources[0] web', 'precedence 9'],
      ['service-intentions */* Sources[0] *', 'precedence 1'],
    ]);
  });

  it('a service no intention or manifest names: the nearest names', () => {
    const result = listFor('consul', workspaceOf(CE), { name: 'apx' });
    assert.ok(isUnknown(result));
    assert.deepEqual(result.near, ['api']);
  });
});

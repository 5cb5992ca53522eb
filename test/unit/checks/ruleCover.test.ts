import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ruleCovers } from '../../../server/src/engine/checks/istio/ruleCover';

/** Rules as Istio writes them; `covers` says whether the first matches every request the second
 * matches (spec §1.4 rule shape, §1.5.1 value forms, §1.5.2 identities). */
const op = (operation: Record<string, string[]>) => ({ to: [{ operation }] });
const src = (source: Record<string, string[]>) => ({ from: [{ source }] });
const when = (key: string, values: string[], notValues?: string[]) => ({ when: [{ key, values, ...(notValues ? { notValues } : {}) }] });

const CASES: Array<{ name: string; wide: object; narrow: object; covers: boolean }> = [
  { name: 'an empty rule covers any rule', wide: {}, narrow: op({ methods: ['GET'] }), covers: true },
  { name: 'a constrained rule does not cover an empty one', wide: op({ methods: ['GET'] }), narrow: {}, covers: false },
  { name: 'exact equal', wide: op({ paths: ['/a'] }), narrow: op({ paths: ['/a'] }), covers: true },
  { name: 'exact differs', wide: op({ paths: ['/a'] }), narrow: op({ paths: ['/b'] }), covers: false },
  { name: 'prefix covers an exact value under it', wide: op({ paths: ['/api/*'] }), narrow: op({ paths: ['/api/v1'] }), covers: true },
  { name: 'prefix matches the bare prefix itself', wide: op({ paths: ['/api*'] }), narrow: op({ paths: ['/api'] }), covers: true },
  { name: 'prefix covers a longer prefix', wide: op({ paths: ['/api/*'] }), narrow: op({ paths: ['/api/v1/*'] }), covers: true },
  { name: 'a longer prefix does not cover a shorter one', wide: op({ paths: ['/api/v1/*'] }), narrow: op({ paths: ['/api/*'] }), covers: false },
  { name: 'suffix covers an exact value', wide: op({ paths: ['*.json'] }), narrow: op({ paths: ['/a/b.json'] }), covers: true },
  { name: 'suffix covers a longer suffix', wide: op({ paths: ['*.json'] }), narrow: op({ paths: ['*/b.json'] }), covers: true },
  { name: 'suffix does not cover a prefix', wide: op({ paths: ['*.json'] }), narrow: op({ paths: ['/a/*'] }), covers: false },
  { name: 'presence covers a prefix', wide: op({ methods: ['*'] }), narrow: op({ methods: ['GE*'] }), covers: true },
  { name: 'a value does not cover presence', wide: op({ methods: ['GET'] }), narrow: op({ methods: ['*'] }), covers: false },
  { name: 'methods are case-sensitive', wide: op({ methods: ['GET'] }), narrow: op({ methods: ['get'] }), covers: false },
  { name: 'hosts are not', wide: op({ hosts: ['API.example.com'] }), narrow: op({ hosts: ['api.EXAMPLE.com'] }), covers: true },
  { name: 'a template path only under presence', wide: op({ paths: ['/u/*'] }), narrow: op({ paths: ['/u/{*}'] }), covers: false },
  { name: 'presence covers a template path', wide: op({ paths: ['*'] }), narrow: op({ paths: ['/u/{**}'] }), covers: true },
  { name: 'every narrow value must be covered', wide: op({ methods: ['GET'] }), narrow: op({ methods: ['GET', 'POST'] }), covers: false },
  { name: 'one wide value may cover several', wide: op({ methods: ['GET', 'P*'] }), narrow: op({ methods: ['PUT', 'POST'] }), covers: true },
  { name: 'principal presence', wide: src({ principals: ['*'] }), narrow: src({ principals: ['cluster.local/ns/a/sa/b'] }), covers: true },
  { name: 'principal prefix not reasoned about (aliasing)', wide: src({ principals: ['cluster.local/ns/a/*'] }), narrow: src({ principals: ['cluster.local/ns/a/sa/b'] }), covers: false },
  { name: 'namespace presence', wide: src({ namespaces: ['*'] }), narrow: src({ namespaces: ['dev*'] }), covers: true },
  { name: 'serviceAccounts whole', wide: src({ serviceAccounts: ['a/b'] }), narrow: src({ serviceAccounts: ['a/b'] }), covers: true },
  { name: 'requestPrincipals whole', wide: src({ requestPrincipals: ['iss/*'] }), narrow: src({ requestPrincipals: ['iss/sub'] }), covers: false },
  { name: 'ports whole', wide: op({ ports: ['80'] }), narrow: op({ ports: ['8080'] }), covers: false },
  { name: 'CIDR covers an address', wide: src({ ipBlocks: ['10.0.0.0/8'] }), narrow: src({ ipBlocks: ['10.9.8.7'] }), covers: true },
  { name: 'CIDR covers a narrower CIDR', wide: src({ ipBlocks: ['10.0.0.0/8'] }), narrow: src({ ipBlocks: ['10.9.0.0/16'] }), covers: true },
  { name: 'CIDR does not cover a wider one', wide: src({ ipBlocks: ['10.9.0.0/16'] }), narrow: src({ ipBlocks: ['10.0.0.0/8'] }), covers: false },
  { name: 'IPv4 does not cover IPv6', wide: src({ ipBlocks: ['0.0.0.0/0'] }), narrow: src({ ipBlocks: ['::1'] }), covers: false },
  { name: 'notPaths: the narrow rule excludes more', wide: op({ notPaths: ['/admin/x'] }), narrow: op({ notPaths: ['/admin/*'] }), covers: true },
  { name: 'notPaths: the narrow rule excludes less', wide: op({ notPaths: ['/admin/*'] }), narrow: op({ notPaths: ['/admin/x'] }), covers: false },
  { name: 'a wide not… field the narrow rule lacks', wide: op({ notMethods: ['DELETE'] }), narrow: op({ methods: ['GET'] }), covers: false },
  { name: 'a field the wide rule lacks is no constraint', wide: op({ methods: ['GET'] }), narrow: op({ methods: ['GET'], paths: ['/a'] }), covers: true },
  { name: 'when: the same header key in another case', wide: when('request.headers[X-Env]', ['prod*']), narrow: when('request.headers[x-env]', ['prod-eu']), covers: true },
  { name: 'when: source.ip by containment', wide: when('source.ip', ['10.0.0.0/8']), narrow: when('source.ip', ['10.1.1.1']), covers: true },
  { name: 'when: notValues', wide: when('request.headers[x-env]', ['*'], ['dev']), narrow: when('request.headers[x-env]', ['prod'], ['dev', 'test']), covers: true },
  { name: 'when: another key', wide: when('request.headers[x-env]', ['prod']), narrow: when('request.headers[x-tenant]', ['prod']), covers: false },
  { name: 'when: a claim value by pattern', wide: when('request.auth.claims[groups]', ['admin*']), narrow: when('request.auth.claims[groups]', ['admins']), covers: true },
  { name: 'from: every narrow entry needs a wide entry', wide: { from: [{ source: { namespaces: ['a'] } }] }, narrow: { from: [{ source: { namespaces: ['a'] } }, { source: { namespaces: ['b'] } }] }, covers: false },
  { name: 'from: one of several wide entries', wide: { from: [{ source: { namespaces: ['b'] } }, { source: { namespaces: ['a'] } }] }, narrow: src({ namespaces: ['a'], principals: ['x/ns/a/sa/s'] }), covers: true },
];

describe('Istio rule covering (MPA1025, MPA1040)', () => {
  for (const c of CASES) {
    it(c.name, () => assert.equal(ruleCovers(c.wide as Record<string, unknown>, c.narrow as Record<string, unknown>), c.covers));
  }
});

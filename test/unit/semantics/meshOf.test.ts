import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { meshOfPrincipal } from '../../../server/src/engine/simulate';

// The identity forms of docs/access-records.md ("Identity forms").
const CASES: [string | null | undefined, string | undefined][] = [
  ['cluster.local/ns/foo/sa/sleep', 'istio'],
  ['spiffe://cluster.local/ns/foo/sa/sleep', 'istio'],
  ['spiffe://acme.org/ns/foo/sa/sleep', 'istio'],
  ['web.emojivoto.serviceaccount.identity.linkerd.cluster.local', 'linkerd'],
  ['spiffe://1111-2222.consul/ns/default/dc/dc1/svc/web', 'consul'],
  ['spiffe://1111-2222.consul/ap/part1/ns/default/dc/dc1/svc/web', 'consul'],
  ['spiffe://example.org/workload/x', undefined],
  [null, undefined],
  [undefined, undefined],
];

describe('which mesh a record without `mesh` belongs to, from its principal', () => {
  for (const [principal, mesh] of CASES) it(`${String(principal)} → ${String(mesh)}`, () => assert.equal(meshOfPrincipal(principal), mesh));
});

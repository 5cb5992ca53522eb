import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { neutralOf, recordFor, type NeutralCall } from '../../../server/src/engine/translate/calls';
import { contextOf } from './harness';

// One call in each mesh's record form (the translation check decides the same call with two
// meshes' simulators). Identity forms: mesh-semantics §1.5.2 (Istio), §2.2 (Linkerd), §3.2 (Consul).

const INVENTORY = `apiVersion: v1
kind: Service
metadata: {name: cart, namespace: shop}
spec: {selector: {app: cart}, ports: [{port: 80, targetPort: 8080}]}
---
apiVersion: apps/v1
kind: Deployment
metadata: {name: cart, namespace: shop}
spec:
  selector: {matchLabels: {app: cart}}
  template:
    metadata: {labels: {app: cart}}
    spec: {serviceAccountName: cart-sa, containers: [{name: c, image: c, ports: [{containerPort: 8080}]}]}
---
apiVersion: v1
kind: Service
metadata: {name: web, namespace: front}
spec: {selector: {app: web}, ports: [{port: 80}]}
---
apiVersion: apps/v1
kind: Deployment
metadata: {name: web, namespace: front}
spec:
  selector: {matchLabels: {app: web}}
  template:
    metadata: {labels: {app: web}}
    spec: {serviceAccountName: web-sa, containers: [{name: c, image: c}]}
`;

const context = contextOf(INVENTORY);
const call: NeutralCall = {
  caller: { namespace: 'front', serviceAccount: 'web-sa' },
  callerIp: '10.1.2.3',
  destination: { namespace: 'shop', workload: 'cart', service: 'cart', labels: { app: 'cart' }, port: 8080 },
  request: { method: 'GET', path: '/v1/carts/7' },
};

describe('a neutral call in each mesh\'s record form, and back', () => {
  it('Istio: the principal <trust domain>/ns/<ns>/sa/<sa>', () => {
    assert.equal(recordFor('istio', call, context).source?.principal, 'cluster.local/ns/front/sa/web-sa');
  });
  it('Linkerd: <sa>.<ns>.serviceaccount.identity.linkerd.<trust domain>', () => {
    assert.equal(recordFor('linkerd', call, context).source?.principal, 'web-sa.front.serviceaccount.identity.linkerd.cluster.local');
  });
  it('Consul: the SPIFFE ID of the Service that selects the caller\'s workloads', () => {
    const record = recordFor('consul', call, context);
    assert.equal(record.source?.service, 'web');
    assert.equal(record.source?.principal, 'spiffe://consul/ns/default/dc/dc1/svc/web');
  });
  it('a plaintext caller has a null principal in every mesh', () => {
    for (const mesh of ['istio', 'linkerd'] as const) assert.equal(recordFor(mesh, { ...call, caller: null }, context).source?.principal, null);
  });
  it('a TCP connection has no request', () => {
    const { request: _request, ...tcp } = call;
    const record = recordFor('istio', tcp, context);
    assert.equal(record.protocol, 'tcp');
    assert.equal(record.request, undefined);
  });

  for (const mesh of ['istio', 'linkerd', 'consul'] as const) {
    it(`${mesh}: the record read back gives the same call`, () => {
      assert.deepEqual(neutralOf(mesh, recordFor(mesh, call, context), context), { ...call, destination: { ...call.destination, serviceAccount: 'cart-sa' } });
    });
  }

  it('an Istio record\'s Service host becomes the Service\'s name (what Consul intentions name)', () => {
    const read = neutralOf('istio', { mesh: 'istio', protocol: 'http', source: { principal: 'cluster.local/ns/front/sa/web-sa' }, destination: { namespace: 'shop', workload: 'cart', service: 'cart.shop.svc.cluster.local', port: 8080 }, request: { method: 'GET', path: '/' } }, context);
    assert.ok(!('why' in read));
    assert.equal(read.destination.service, 'cart');
    assert.deepEqual(read.destination.labels, { app: 'cart' }, 'labels from the inventory');
  });

  it('a Consul record (Consul namespace default) is placed in the Kubernetes namespace its Service is in', () => {
    const read = neutralOf('consul', { mesh: 'consul', protocol: 'http', source: { principal: 'spiffe://x.consul/ns/default/dc/dc1/svc/web' }, destination: { namespace: 'default', service: 'cart', port: 8080 }, request: { method: 'GET', path: '/' } }, context);
    assert.ok(!('why' in read));
    assert.deepEqual(read.caller, { namespace: 'front', serviceAccount: 'web-sa' });
    assert.equal(read.destination.namespace, 'shop');
    assert.equal(read.destination.workload, 'cart');
  });

  it('says why a record cannot be compared', () => {
    assert.deepEqual(neutralOf('istio', { mesh: 'istio', source: {}, destination: { namespace: 'shop', port: 80 } }, context), { why: 'the caller identity is not recorded' });
    assert.deepEqual(neutralOf('istio', { mesh: 'istio', source: { principal: null }, destination: { namespace: 'shop' } }, context), { why: 'the destination namespace or port is not recorded' });
    const foreign = (mesh: 'istio' | 'linkerd', principal: string) => neutralOf(mesh, { mesh, source: { principal }, destination: { namespace: 'shop', port: 80 } }, context);
    for (const [mesh, principal] of [
      ['linkerd', 'not-an-identity'],
      ['linkerd', 'web.front.serviceaccount.identity.linkerd.other.example'],
      ['istio', 'other.example/ns/front/sa/web-sa'],
      ['istio', 'spiffe://other.example/ns/front/sa/web-sa'],
    ] as const) assert.deepEqual(foreign(mesh, principal), { why: `the caller identity ${principal} names no service account of this cluster's trust domain` }, principal);
    const aliased = neutralOf('istio', { mesh: 'istio', source: { principal: 'old.example/ns/front/sa/web-sa' }, destination: { namespace: 'shop', port: 80 } }, contextOf(INVENTORY, (c) => { c.istio.trustDomainAliases = ['old.example']; }));
    assert.ok(!('why' in aliased) && aliased.caller?.serviceAccount === 'web-sa', 'a trust domain alias is the mesh\'s own');
  });
});

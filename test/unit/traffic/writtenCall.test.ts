import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { defaultConfig } from '../../../server/src/engine/config/projectConfig';
import type { Mesh } from '../../../server/src/engine/meshes';
import type { AccessRecord } from '../../../server/src/engine/traffic/accessRecord';
import { Engine } from '../../../server/src/engine/engine';
import { Simulation } from '../../../server/src/engine/simulate';
import { decideWrittenCall, parseWrittenCall, recordFor } from '../../../server/src/engine/traffic/writtenCall';
import { WorkspaceModel } from '../../../server/src/engine/workspace';

/**
 * The calls written by hand for `explain --call` and the editor's "Enter a call…"
 * (engine/traffic/writtenCall.ts). The identity forms are those of docs/access-records.md
 * ("Identity forms"): Istio `<td>/ns/N/sa/S`, Linkerd `S.N.serviceaccount.identity.linkerd.<td>`,
 * Consul `spiffe://<td>/ns/N/dc/DC/svc/S`.
 */
const config = defaultConfig('/nowhere');

function decided(text: string, mesh: Mesh | undefined): AccessRecord {
  const parsed = parseWrittenCall(text);
  assert.ok('call' in parsed, `${text}: ${'problem' in parsed ? parsed.problem : ''}`);
  return recordFor(parsed.call, parsed.call.record.mesh ?? mesh, config);
}

describe('the short form of a written call', () => {
  const valid: Array<[string, Mesh | undefined, AccessRecord]> = [
    ['shop/frontend -> shop/cart:8080 GET /items', 'istio', {
      observed: 'unknown', mesh: 'istio', protocol: 'http',
      source: { principal: 'cluster.local/ns/shop/sa/frontend', namespace: 'shop', serviceAccount: 'frontend' },
      destination: { port: 8080, namespace: 'shop', workload: 'cart' },
      request: { method: 'GET', path: '/items' },
    }],
    ['  shop/frontend->shop/cart  ', 'linkerd', {
      observed: 'unknown', mesh: 'linkerd', protocol: 'tcp',
      source: { principal: 'frontend.shop.serviceaccount.identity.linkerd.cluster.local', namespace: 'shop', serviceAccount: 'frontend' },
      destination: { namespace: 'shop', workload: 'cart' },
    }],
    ['consul: web/frontend -> db/postgres:5432', undefined, {
      observed: 'unknown', mesh: 'consul', protocol: 'tcp',
      source: { principal: 'spiffe://consul/ns/web/dc/dc1/svc/frontend', namespace: 'web', service: 'frontend' },
      destination: { port: 5432, namespace: 'db', service: 'postgres' },
    }],
    // Consul CE: every service is in namespace default, so after consul: the name alone will do
    ['consul: frontend -> postgres:5432', undefined, {
      observed: 'unknown', mesh: 'consul', protocol: 'tcp',
      source: { principal: 'spiffe://consul/ns/default/dc/dc1/svc/frontend', namespace: 'default', service: 'frontend' },
      destination: { port: 5432, namespace: 'default', service: 'postgres' },
    }],
    ['istio: shop/frontend -> shop/cart POST', undefined, {
      observed: 'unknown', mesh: 'istio', protocol: 'http',
      source: { principal: 'cluster.local/ns/shop/sa/frontend', namespace: 'shop', serviceAccount: 'frontend' },
      destination: { namespace: 'shop', workload: 'cart' },
      request: { method: 'POST' },
    }],
    ['linkerd:- -> shop/cart', undefined, {
      observed: 'unknown', mesh: 'linkerd', protocol: 'tcp',
      source: { principal: null, notLoopback: true },
      destination: { namespace: 'shop', workload: 'cart' },
    }],
    ['- -> shop/cart /healthz', 'istio', {
      observed: 'unknown', mesh: 'istio', protocol: 'http',
      source: { principal: null, notLoopback: true },
      destination: { namespace: 'shop', workload: 'cart' },
      request: { path: '/healthz' },
    }],
    // a principal says the mesh, whatever the workspace's
    ['spiffe://cluster.local/ns/shop/sa/frontend -> shop/cart:8080 DELETE /items?id=1', undefined, {
      observed: 'unknown', mesh: 'istio', protocol: 'http',
      source: { principal: 'spiffe://cluster.local/ns/shop/sa/frontend', namespace: 'shop', serviceAccount: 'frontend' },
      destination: { port: 8080, namespace: 'shop', workload: 'cart' },
      request: { method: 'DELETE', path: '/items?id=1' },
    }],
    ['webapp.booksapp.serviceaccount.identity.linkerd.cluster.local -> booksapp/authors:7001 GET /authors.json', 'istio', {
      observed: 'unknown', mesh: 'linkerd', protocol: 'http',
      source: { principal: 'webapp.booksapp.serviceaccount.identity.linkerd.cluster.local', namespace: 'booksapp', serviceAccount: 'webapp' },
      destination: { port: 7001, namespace: 'booksapp', workload: 'authors' },
      request: { method: 'GET', path: '/authors.json' },
    }],
    ['spiffe://a1b2.consul/ns/default/dc/east/svc/web -> default/api:20000', undefined, {
      observed: 'unknown', mesh: 'consul', protocol: 'tcp',
      source: { principal: 'spiffe://a1b2.consul/ns/default/dc/east/svc/web', namespace: 'default', service: 'web' },
      destination: { port: 20000, namespace: 'default', service: 'api' },
    }],
  ];
  for (const [text, mesh, record] of valid) {
    it(`reads ${JSON.stringify(text)}${mesh ? ` (deciding mesh ${mesh})` : ''}`, () => {
      assert.deepEqual(decided(text, mesh), record);
    });
  }

  it('leaves a <namespace>/<name> caller without a principal while no mesh is known (the simulation then says the mesh is missing)', () => {
    const parsed = parseWrittenCall('shop/frontend -> shop/cart');
    assert.ok('call' in parsed);
    assert.deepEqual(recordFor(parsed.call, undefined, config), { observed: 'unknown', protocol: 'tcp' });
  });

  const invalid: Array<[string, RegExp]> = [
    ['', /is empty/],
    ['   ', /is empty/],
    ['shop/frontend shop/cart', /no "->"/],
    ['shop/frontend -> shop/cart -> shop/db', /more than one "->"/],
    [' -> shop/cart', /no caller/],
    ['shop/frontend ->', /no destination/],
    ['frontend -> shop/cart', /the caller "frontend" is not <namespace>\/<name>/],
    ['shop/frontend -> cart', /the destination "cart" is not <namespace>\/<name>/],
    ['shop/ -> shop/cart', /no valid name after the \//],
    ['shop/frontend -> /cart', /no valid namespace before the \//],
    ['shop/frontend -> shop/cart:http', /the port "http" is not a number from 1 to 65535/],
    ['shop/frontend -> shop/cart:0', /the port "0"/],
    ['shop/frontend -> shop/cart:65536', /the port "65536"/],
    ['shop/frontend -> shop/cart get /items', /"get" is neither an upper-case method/],
    ['shop/frontend -> shop/cart /items GET', /"GET" after the path/],
    ['shop/frontend -> shop/cart GET POST', /"POST" after the method/],
    ['shop/frontend -> shop/cart /a /b', /a second path "\/b"/],
    ['kuma: shop/frontend -> shop/cart', /"kuma" is not a mesh/],
    ['Istio:shop/frontend -> shop/cart', /the caller "Istio:shop\/frontend" has no valid namespace/],
    ['linkerd: cluster.local/ns/shop/sa/frontend -> shop/cart', /is an identity of istio, not of linkerd/],
    ['cluster.local/shop/frontend -> shop/cart', /neither <namespace>\/<name> nor a principal/],
    // a name alone only for Consul, where namespaces are optional
    ['frontend -> shop/cart', /the caller "frontend" is not <namespace>\/<name> \(a Consul service may be written alone after "consul:"\)/],
    ['istio: shop/frontend -> cart', /the destination "cart" is not <namespace>\/<name> \(the short form/],
  ];
  for (const [text, message] of invalid) {
    it(`refuses ${JSON.stringify(text)} saying what is wrong`, () => {
      const parsed = parseWrittenCall(text);
      assert.ok('problem' in parsed, JSON.stringify(parsed));
      assert.match(parsed.problem, message);
      if (text.trim()) assert.match(parsed.problem, /^cannot be read: .*\(the short form: /);
    });
  }
});

describe('a written call in JSON', () => {
  it('is an access record, taken as written', () => {
    const record = { mesh: 'istio', source: { principal: 'cluster.local/ns/shop/sa/frontend' }, destination: { namespace: 'shop', workload: 'cart', port: 8080 }, request: { method: 'GET', path: '/items' } };
    assert.deepEqual(decided(JSON.stringify(record), 'linkerd'), record);
  });

  const invalid: Array<[string, RegExp]> = [
    ['{nope', /^is not valid JSON: /],
    ['[1, 2]', /^must be a JSON object \(an access record\)$/],
    ['{"mesh": "kuma"}', /^is not an access record \(docs\/access-records\.md\): mesh must be one of istio, linkerd, consul/],
    ['{"source": {"principle": "x"}}', /source has an unknown field "principle"/],
  ];
  for (const [text, message] of invalid) {
    it(`refuses ${text}`, () => {
      const parsed = parseWrittenCall(text);
      assert.ok('problem' in parsed);
      assert.match(parsed.problem, message);
    });
  }
});

describe('a Consul caller written as <namespace>/<service>, decided by the workspace', () => {
  // Consul CE has no namespaces: consul-k8s registers every service in "default", whatever its
  // Kubernetes namespace, and the caller's certificate says ns/default. With Enterprise namespaces
  // (an intention names one) the Kubernetes namespace is the Consul namespace.
  const decide = (entries: string, text: string) => {
    const engine = new Engine();
    const workspace = new WorkspaceModel(defaultConfig('/ws'));
    workspace.update(engine.prepare(engine.read('/ws/config/api.hcl', entries)));
    const parsed = parseWrittenCall(text);
    assert.ok('call' in parsed);
    return decideWrittenCall(new Simulation(workspace), parsed.call, workspace.config);
  };
  const CE = 'Kind = "service-intentions"\nName = "api"\nSources = [\n  { Name = "dashboard", Action = "deny" },\n]\n';
  const ENTERPRISE = 'Kind = "service-intentions"\nName = "api"\nNamespace = "shop"\nSources = [\n  { Name = "dashboard", Namespace = "shop", Action = "deny" },\n]\n';
  const cases: [string, string, string, string, AccessRecord['source']][] = [
    ['CE: a Kubernetes namespace is Consul\'s default, for the caller as for the destination', CE, 'shop/dashboard -> shop/api:8080 GET /v1/count', 'deny',
      { principal: 'spiffe://consul/ns/default/dc/dc1/svc/dashboard', namespace: 'shop', service: 'dashboard' }],
    ['CE: another caller falls to the default intention policy (allow)', CE, 'shop/reporting -> shop/api:8080', 'allow',
      { principal: 'spiffe://consul/ns/default/dc/dc1/svc/reporting', namespace: 'shop', service: 'reporting' }],
    ['Enterprise: the namespace written is the Consul namespace', ENTERPRISE, 'shop/dashboard -> shop/api:8080', 'deny',
      { principal: 'spiffe://consul/ns/shop/dc/dc1/svc/dashboard', namespace: 'shop', service: 'dashboard' }],
    ['CE: the service alone after consul:', CE, 'consul: dashboard -> api:8080 GET /v1/count', 'deny',
      { principal: 'spiffe://consul/ns/default/dc/dc1/svc/dashboard', namespace: 'default', service: 'dashboard' }],
    ['Enterprise: the service alone after consul: is in namespace default, not shop', ENTERPRISE, 'consul: dashboard -> shop/api:8080', 'allow',
      { principal: 'spiffe://consul/ns/default/dc/dc1/svc/dashboard', namespace: 'default', service: 'dashboard' }],
    ['Enterprise: the same service in another namespace is another caller', ENTERPRISE, 'web/dashboard -> shop/api:8080', 'allow',
      { principal: 'spiffe://consul/ns/web/dc/dc1/svc/dashboard', namespace: 'web', service: 'dashboard' }],
  ];
  for (const [name, entries, text, verdict, source] of cases) {
    it(name, () => {
      const { record, decision } = decide(entries, text);
      assert.deepEqual(record.source, source);
      assert.equal(decision.verdict, verdict, decision.reason);
    });
  }
});

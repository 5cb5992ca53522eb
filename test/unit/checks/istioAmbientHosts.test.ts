import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Engine } from '../../../server/src/engine/engine';

const engine = new Engine();
const codesOf = (text: string, code: string) => engine.lintText('/ws/p.yaml', text).findings.filter((f) => f.code === code).map((f) => `${f.range.start.line + 1}: ${f.message}`);

const ns = (labels: string) => `apiVersion: v1\nkind: Namespace\nmetadata:\n  name: shop\n  labels: {${labels}}\n---\n`;
const deploy = (labels = 'app: cart') => `apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: cart, namespace: shop}\nspec:\n  selector: {matchLabels: {app: cart}}\n  template:\n    metadata: {labels: {${labels}}}\n    spec: {containers: [{name: c, image: c}]}\n---\n`;
const policy = (spec: string) => `apiVersion: security.istio.io/v1\nkind: AuthorizationPolicy\nmetadata: {name: p, namespace: shop}\nspec:\n${spec}`;

describe('MPA1030 L7 rule enforced by ztunnel', () => {
  const cases: { name: string; text: string; expect: RegExp | null }[] = [
    { name: 'ALLOW with methods in an ambient namespace', text: ns('istio.io/dataplane-mode: ambient') + deploy() + policy('  selector: {matchLabels: {app: cart}}\n  rules:\n  - to:\n    - operation: {methods: [GET]}\n'), expect: /uses methods.*drops this ALLOW rule, so it allows nothing/ },
    { name: 'DENY with only paths: no effect at ztunnel', text: ns('istio.io/dataplane-mode: ambient') + policy('  action: DENY\n  rules:\n  - to:\n    - operation: {paths: [/admin]}\n'), expect: /DENY rule left with no constraint never matches/ },
    { name: 'DENY with paths and ports: L4 part only', text: ns('istio.io/dataplane-mode: ambient') + policy('  action: DENY\n  rules:\n  - to:\n    - operation: {paths: [/admin], ports: ["8080"]}\n'), expect: /enforces the rule on its L4 fields alone/ },
    { name: 'a request header when-key', text: ns('istio.io/dataplane-mode: ambient') + policy('  rules:\n  - when:\n    - key: request.headers[x-team]\n      values: [a]\n'), expect: /when request\.headers\[x-team\]/ },
    { name: 'the namespace has a waypoint: the message says to attach to it', text: ns('istio.io/dataplane-mode: ambient, istio.io/use-waypoint: wp') + policy('  rules:\n  - to:\n    - operation: {methods: [GET]}\n'), expect: /uses waypoint wp: attach this policy to it with targetRefs/ },
    // Istio's ambient docs: istio.io/use-waypoint-namespace names the waypoint's namespace; a waypoint for workloads only takes no Service traffic
    { name: 'the namespace\'s waypoint lives in another namespace', text: ns('istio.io/dataplane-mode: ambient, istio.io/use-waypoint: wp, istio.io/use-waypoint-namespace: mesh-gw') + policy('  rules:\n  - to:\n    - operation: {methods: [GET]}\n'), expect: /namespace shop uses waypoint mesh-gw\/wp: attach/ },
    { name: 'the namespace\'s waypoint is for workloads only: the message says to deploy one', text: ns('istio.io/dataplane-mode: ambient, istio.io/use-waypoint: wp') + 'apiVersion: gateway.networking.k8s.io/v1\nkind: Gateway\nmetadata: {name: wp, namespace: shop, labels: {istio.io/waypoint-for: workload}}\nspec: {gatewayClassName: istio-waypoint, listeners: [{name: mesh, port: 15008, protocol: HBONE}]}\n---\n' + policy('  rules:\n  - to:\n    - operation: {methods: [GET]}\n'), expect: /deploy a waypoint/ },
    { name: 'the namespace opts out of waypoints: the message says to deploy one', text: ns('istio.io/dataplane-mode: ambient, istio.io/use-waypoint: none') + policy('  rules:\n  - to:\n    - operation: {methods: [GET]}\n'), expect: /deploy a waypoint/ },
    { name: 'the workload\'s Service names the waypoint', text: ns('istio.io/dataplane-mode: ambient') + deploy() + 'apiVersion: v1\nkind: Service\nmetadata: {name: cart, namespace: shop, labels: {istio.io/use-waypoint: cart-wp}}\nspec:\n  selector: {app: cart}\n  ports: [{port: 80}]\n---\n' + policy('  selector: {matchLabels: {app: cart}}\n  rules:\n  - to:\n    - operation: {methods: [GET]}\n'), expect: /Services use waypoint cart-wp: attach this policy to it with targetRefs \(kind Gateway, name cart-wp\)/ },
    { name: 'L4-only rules are fine', text: ns('istio.io/dataplane-mode: ambient') + policy('  rules:\n  - from:\n    - source: {principals: ["cluster.local/ns/shop/sa/web"]}\n    to:\n    - operation: {ports: ["8080"]}\n    when:\n    - key: source.ip\n      values: [10.0.0.0/8]\n'), expect: null },
    { name: 'targetRefs: enforced by the waypoint', text: ns('istio.io/dataplane-mode: ambient') + policy('  targetRefs:\n  - {kind: Gateway, group: gateway.networking.k8s.io, name: wp}\n  rules:\n  - to:\n    - operation: {methods: [GET]}\n'), expect: null },
    { name: 'sidecar namespace', text: ns('istio-injection: enabled') + policy('  rules:\n  - to:\n    - operation: {methods: [GET]}\n'), expect: null },
    { name: 'workload opted out of ambient', text: ns('istio.io/dataplane-mode: ambient') + deploy('app: cart, istio.io/dataplane-mode: none') + policy('  selector: {matchLabels: {app: cart}}\n  rules:\n  - to:\n    - operation: {methods: [GET]}\n'), expect: null },
    { name: 'no inventory: quiet', text: policy('  rules:\n  - to:\n    - operation: {methods: [GET]}\n'), expect: null },
    // Gateways and sidecars are Envoy proxies: they enforce L7 rules in an ambient namespace too (istio/istio#58316)
    { name: 'a classic ingress gateway in an ambient namespace enforces the L7 rule itself', text: ns('istio.io/dataplane-mode: ambient') + deploy('app: cart, istio: ingressgateway') + policy('  selector: {matchLabels: {istio: ingressgateway}}\n  action: DENY\n  rules:\n  - to:\n    - operation: {paths: [/admin*]}\n'), expect: null },
    { name: 'a Gateway API gateway\'s pod in an ambient namespace', text: ns('istio.io/dataplane-mode: ambient') + deploy('app: cart, gateway.networking.k8s.io/gateway-name: public') + policy('  selector: {matchLabels: {app: cart}}\n  rules:\n  - to:\n    - operation: {methods: [GET]}\n'), expect: null },
    { name: 'a pod with an injected sidecar in an ambient namespace', text: ns('istio.io/dataplane-mode: ambient') + deploy('app: cart, sidecar.istio.io/inject: "true"') + policy('  selector: {matchLabels: {app: cart}}\n  rules:\n  - to:\n    - operation: {methods: [GET]}\n'), expect: null },
    { name: 'a namespace-wide policy over a gateway and an ambient workload: named for the ambient one', text: ns('istio.io/dataplane-mode: ambient') + deploy() + deploy('app: gw, istio: ingressgateway').replace(/name: cart/, 'name: gw').replace('{app: cart}}\n  template', '{app: gw}}\n  template') + policy('  action: DENY\n  rules:\n  - to:\n    - operation: {paths: [/admin]}\n'), expect: /enforced by ztunnel \(L4 only\) for shop\/cart \(shop\/gw, with an Envoy proxy of its own, enforces them\); ztunnel drops those attributes/ },
  ];
  for (const c of cases) {
    it(c.name, () => {
      const found = codesOf(c.text, 'MPA1030');
      if (c.expect) assert.ok(found.length === 1 && c.expect.test(found[0]!), JSON.stringify(found));
      else assert.deepEqual(found, []);
    });
  }
});

describe('MPA1033 client identity checked by ztunnel behind a waypoint', () => {
  // Istio's ambient docs: behind a waypoint, a selector or namespace policy (enforced by ztunnel)
  // sees the waypoint as the source of the calls that come through it.
  const space = (labels: string) => `apiVersion: v1\nkind: Namespace\nmetadata:\n  name: notes\n  labels: {istio.io/dataplane-mode: ambient${labels}}\n---\n`;
  const WAYPOINT = ', istio.io/use-waypoint: waypoint';
  const api = 'apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: api, namespace: notes}\nspec:\n  selector: {matchLabels: {app: api}}\n  template:\n    metadata: {labels: {app: api}}\n    spec: {serviceAccountName: api, containers: [{name: c, image: c}]}\n---\n';
  const service = (labels = '') => `apiVersion: v1\nkind: Service\nmetadata: {name: api, namespace: notes, labels: {${labels}}}\nspec:\n  selector: {app: api}\n  ports: [{port: 80, targetPort: 8080}]\n---\n`;
  const gateway = (waypointFor: string) => `apiVersion: gateway.networking.k8s.io/v1\nkind: Gateway\nmetadata: {name: waypoint, namespace: notes, labels: {istio.io/waypoint-for: ${waypointFor}}}\nspec: {gatewayClassName: istio-waypoint, listeners: [{name: mesh, port: 15008, protocol: HBONE}]}\n---\n`;
  const ap = (spec: string) => `apiVersion: security.istio.io/v1\nkind: AuthorizationPolicy\nmetadata: {name: p, namespace: notes}\nspec:\n${spec}`;
  const SELECT = '  selector: {matchLabels: {app: api}}\n';
  const fromWeb = '  rules:\n  - from:\n    - source: {principals: ["cluster.local/ns/notes/sa/web"]}\n';
  const cases: { name: string; text: string; expect: RegExp | null }[] = [
    { name: 'ALLOW naming the client, behind the namespace waypoint', text: space(WAYPOINT) + api + service() + ap(SELECT + fromWeb), expect: /api is behind the waypoint notes\/waypoint: .*identity cluster\.local\/ns\/notes\/sa\/waypoint, so this rule allows only the calls that skip the waypoint/ },
    { name: 'DENY naming a namespace, namespace-wide', text: space(WAYPOINT) + api + service() + ap('  action: DENY\n  rules:\n  - from:\n    - source: {namespaces: [sandbox]}\n'), expect: /this DENY rule does not stop the callers it names when they come through the waypoint/ },
    { name: 'a source.principal condition', text: space(WAYPOINT) + api + service() + ap(SELECT + '  rules:\n  - when:\n    - key: source.principal\n      values: ["cluster.local/ns/notes/sa/web"]\n'), expect: /behind the waypoint notes\/waypoint/ },
    { name: 'the waypoint named by the Service label', text: space('') + api + service('istio.io/use-waypoint: waypoint') + ap(SELECT + fromWeb), expect: /behind the waypoint notes\/waypoint/ },
    { name: 'a rule that admits the waypoint (waypoint-only)', text: space(WAYPOINT) + api + service() + ap(SELECT + '  rules:\n  - from:\n    - source: {principals: ["cluster.local/ns/notes/sa/waypoint"]}\n'), expect: null },
    { name: 'another source of the rule admits the waypoint', text: space(WAYPOINT) + api + service() + ap(SELECT + '  rules:\n  - from:\n    - source: {principals: ["cluster.local/ns/notes/sa/web"]}\n    - source: {namespaces: ["notes"]}\n'), expect: null },
    { name: 'a wildcard principal the waypoint matches', text: space(WAYPOINT) + api + service() + ap(SELECT + '  rules:\n  - from:\n    - source: {principals: ["cluster.local/ns/notes/*"]}\n'), expect: null },
    { name: 'the Service opts out of the waypoint', text: space(WAYPOINT) + api + service('istio.io/use-waypoint: none') + ap(SELECT + fromWeb), expect: null },
    { name: 'a waypoint for workloads only takes no Service traffic', text: space(WAYPOINT) + gateway('workload') + api + service() + ap(SELECT + fromWeb), expect: null },
    { name: 'no waypoint', text: space('') + api + service() + ap(SELECT + fromWeb), expect: null },
    { name: 'targetRefs: the waypoint enforces it', text: space(WAYPOINT) + api + service() + ap('  targetRefs: [{kind: Service, group: "", name: api}]\n' + fromWeb), expect: null },
    { name: 'a rule without from', text: space(WAYPOINT) + api + service() + ap(SELECT + '  rules:\n  - to:\n    - operation: {ports: ["8080"]}\n'), expect: null },
  ];
  for (const c of cases) {
    it(c.name, () => {
      const found = codesOf(c.text, 'MPA1033');
      if (c.expect) assert.ok(found.length === 1 && c.expect.test(found[0]!), JSON.stringify(found));
      else assert.deepEqual(found, []);
    });
  }
});

describe('MPA1031 host not found', () => {
  const svc = 'apiVersion: v1\nkind: Service\nmetadata: {name: reviews, namespace: bookinfo}\nspec:\n  selector: {app: reviews}\n  ports: [{port: 9080}]\n---\n';
  const se = 'apiVersion: networking.istio.io/v1\nkind: ServiceEntry\nmetadata: {name: ext, namespace: bookinfo}\nspec:\n  hosts: ["api.example.com", "*.wiki.example.org"]\n---\n';
  const ap = (hosts: string) => `apiVersion: security.istio.io/v1\nkind: AuthorizationPolicy\nmetadata: {name: p, namespace: bookinfo}\nspec:\n  rules:\n  - to:\n    - operation: {hosts: [${hosts}]}\n`;
  const cases: { name: string; text: string; expect: RegExp | null }[] = [
    { name: 'a typo in a Service host', text: svc + ap('"review.bookinfo.svc.cluster.local"'), expect: /host "review\.bookinfo\.svc\.cluster\.local" matches no .*did you mean "reviews\.bookinfo\.svc\.cluster\.local"/ },
    { name: 'an unknown external host', text: svc + se + ap('"api.example.net"'), expect: /host "api\.example\.net"/ },
    { name: 'every DNS form of a Service, with a port', text: svc + ap('"reviews", "reviews.bookinfo:9080", "reviews.bookinfo.svc", "REVIEWS.bookinfo.svc.cluster.local"'), expect: null },
    { name: 'ServiceEntry hosts and wildcards', text: svc + se + ap('"api.example.com", "docs.wiki.example.org", "*.example.com", "*"'), expect: null },
    { name: 'Gateway API listener hostnames and route hostnames', text: svc + 'apiVersion: gateway.networking.k8s.io/v1\nkind: Gateway\nmetadata: {name: gw, namespace: bookinfo}\nspec:\n  gatewayClassName: istio\n  listeners: [{name: http, port: 80, protocol: HTTP, hostname: shop.example.com}]\n---\napiVersion: gateway.networking.k8s.io/v1\nkind: HTTPRoute\nmetadata: {name: r, namespace: bookinfo}\nspec:\n  hostnames: [api.shop.example.com]\n---\n' + ap('"shop.example.com", "shop.example.com:*", "api.shop.example.com:443"'), expect: null },
    { name: 'no Services in the workspace: quiet', text: ap('"anything.example"'), expect: null },
    // The Host of a request sent to an address is that address, which `hosts` compares as sent.
    { name: 'IP literal hosts, with and without port', text: svc + ap('"10.0.1.7", "10.0.1.7:9080", "[::1]:8080", "[fd00::7]", "::1"'), expect: null },
    { name: 'a host that only looks like an address', text: svc + ap('"10.0.1.700:9080"'), expect: /host "10\.0\.1\.700:9080"/ },
  ];
  for (const c of cases) {
    it(c.name, () => {
      const found = codesOf(c.text, 'MPA1031');
      if (c.expect) assert.ok(found.length === 1 && c.expect.test(found[0]!), JSON.stringify(found));
      else assert.deepEqual(found, []);
    });
  }
});

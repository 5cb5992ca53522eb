import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { listed, listFor, rowsOf, workspaceOf } from './workspace';

// The Server, routes and authorizations of a pod's port, from /work/shared/spec/mesh-semantics.md
// §2.3 (Servers of the pod's namespace whose podSelector matches and whose port selects the port;
// sorted by creationTimestamp then name, the first wins; no Server: the pod's
// config.linkerd.io/default-inbound-policy annotation, else the cluster default; a Server's
// authorizations: ServerAuthorizations naming it, AuthorizationPolicies targeting it or the
// Namespace, its accessPolicy) and §2.5 (routes name the Server in parentRefs).

const INVENTORY = `apiVersion: v1
kind: Namespace
metadata: {name: app}
---
apiVersion: apps/v1
kind: Deployment
metadata: {name: web, namespace: app}
spec:
  selector: {matchLabels: {app: web}}
  template:
    metadata:
      labels: {app: web, tier: front}
      annotations: {config.linkerd.io/default-inbound-policy: cluster-authenticated}
    spec: {containers: [{name: web, image: web, ports: [{name: http, containerPort: 8080}, {name: admin, containerPort: 9990}]}]}
`;

const server = (name: string, created: string, selector: string, port: string | number) => `apiVersion: policy.linkerd.io/v1beta3
kind: Server
metadata: {name: ${name}, namespace: app, creationTimestamp: "${created}"}
spec: {podSelector: {matchLabels: ${selector}}, port: ${port}, proxyProtocol: HTTP/1}
`;

const POLICIES = [
  // Both select port 8080 of web (one by name, one by number): the older one wins (§2.3 item 1).
  server('web-new', '2024-05-01T00:00:00Z', '{app: web}', 'http'),
  server('web-old', '2024-01-01T00:00:00Z', '{tier: front}', 8080),
  `apiVersion: policy.linkerd.io/v1beta1
kind: HTTPRoute
metadata: {name: web-api, namespace: app}
spec:
  parentRefs: [{group: policy.linkerd.io, kind: Server, name: web-old}]
  rules: [{matches: [{path: {type: PathPrefix, value: /api}}]}, {matches: [{path: {type: Exact, value: /health}}]}]
`,
  `apiVersion: policy.linkerd.io/v1alpha1
kind: AuthorizationPolicy
metadata: {name: api-clients, namespace: app}
spec:
  targetRef: {group: policy.linkerd.io, kind: HTTPRoute, name: web-api}
  requiredAuthenticationRefs: [{kind: ServiceAccount, name: client}]
`,
  `apiVersion: policy.linkerd.io/v1alpha1
kind: AuthorizationPolicy
metadata: {name: whole-namespace, namespace: app}
spec:
  targetRef: {kind: Namespace, name: app}
  requiredAuthenticationRefs: [{kind: ServiceAccount, name: monitor}]
`,
  `apiVersion: policy.linkerd.io/v1beta1
kind: ServerAuthorization
metadata: {name: old-style, namespace: app}
spec:
  server: {name: web-old}
  client: {unauthenticated: true}
`,
  // Names the losing Server: not on the port.
  `apiVersion: policy.linkerd.io/v1beta1
kind: ServerAuthorization
metadata: {name: for-the-loser, namespace: app}
spec:
  server: {name: web-new}
  client: {unauthenticated: true}
`,
].join('---\n');

const workspace = workspaceOf({ 'inventory.yaml': INVENTORY, 'policies.yaml': POLICIES });

describe('mesh-policy authz: Linkerd', () => {
  it('two Servers on one port: the older wins, the other is listed as losing; then its routes and authorizations (§2.3, §2.5)', () => {
    const listing = listed(listFor('linkerd', workspace, { namespace: 'app', name: 'web', port: 8080 }));
    assert.equal(listing.sections.length, 1);
    assert.match(listing.sections[0]!.title, /^port 8080: Server app\/web-old selects port 8080/);
    assert.deepEqual(rowsOf(listing, 0), [
      'Server Server app/web-old',
      'loses Server app/web-new',
      'HTTPRoute HTTPRoute app/web-api',
      'AuthorizationPolicy AuthorizationPolicy app/api-clients',
      // Server-level authorizations: the ServerAuthorization naming it, the Namespace-wide policy.
      'ServerAuthorization ServerAuthorization app/old-style',
      'AuthorizationPolicy AuthorizationPolicy app/whole-namespace',
    ]);
    const rows = listing.sections[0]!.rows;
    assert.deepEqual(rows[1]!.notes, ['Server app/web-old is older and wins the port']);
    assert.equal(rows[2]!.detail, '2 rules, most specific: Exact /health');
    assert.equal(rows[3]!.attachment, 'targetRef HTTPRoute web-api');
    assert.equal(rows[4]!.attachment, 'server.name web-old');
    assert.equal(rows[5]!.attachment, 'targetRef Namespace app');
    assert.ok(listing.sections[0]!.summary.includes('a request no HTTPRoute matches is refused (HTTP 404)'));
  });

  it('several routes: listed in the order that breaks ties (age, then name before group), with how a request picks one (§2.5)', () => {
    // policy-controller/grpc/src/inbound/http.rs to_route_list and core/src/routes.rs GroupKindName:
    // of two routes without creationTimestamp, a-gateway (gateway.networking.k8s.io) comes before
    // b-policy (policy.linkerd.io) by name; c-policy, older, comes first.
    const routeOf = (apiVersion: string, name: string, created = '') => `apiVersion: ${apiVersion}
kind: HTTPRoute
metadata: {name: ${name}, namespace: app${created ? `, creationTimestamp: "${created}"` : ''}}
spec:
  parentRefs: [{group: policy.linkerd.io, kind: Server, name: web-only}]
  rules: [{matches: [{path: {type: PathPrefix, value: /}}]}]
`;
    const several = workspaceOf({
      'inventory.yaml': INVENTORY,
      'policies.yaml': [server('web-only', '2024-01-01T00:00:00Z', '{app: web}', 8080), routeOf('policy.linkerd.io/v1beta3', 'b-policy'), routeOf('gateway.networking.k8s.io/v1', 'a-gateway'), routeOf('policy.linkerd.io/v1beta3', 'c-policy', '2024-02-01T00:00:00Z')].join('---\n'),
    });
    const listing = listed(listFor('linkerd', several, { namespace: 'app', name: 'web', port: 8080 }));
    assert.deepEqual(rowsOf(listing, 0), ['Server Server app/web-only', 'HTTPRoute HTTPRoute app/c-policy', 'HTTPRoute HTTPRoute app/a-gateway', 'HTTPRoute HTTPRoute app/b-policy']);
    assert.ok(listing.sections[0]!.summary.some((line) => /most specific .*hostname, then path length with Exact first.*on a tie, the one listed first/.test(line)), listing.sections[0]!.summary.join('\n'));
  });

  it('a port no Server selects: the default policy of the pod\'s annotation (§2.3 item 2); a Namespace policy does not reach it (item 4)', () => {
    const listing = listed(listFor('linkerd', workspace, { namespace: 'app', name: 'web', port: 9990 }));
    assert.match(listing.sections[0]!.title, /^port 9990: no Server selects port 9990 of the pod: the default policy cluster-authenticated applies, from the pod annotation/);
    assert.deepEqual(listing.sections[0]!.rows, []);
    assert.deepEqual(listing.sections[0]!.summary, ['the default policy cluster-authenticated: admits a mesh identity (any)']);
  });

  it('routes in the order the proxy prefers them: Exact, longest prefix, method, headers, query parameters; ties oldest first, then name (§2.5)', () => {
    // Gateway API HTTPRoute precedence, which Linkerd's proxy follows (spec §2.5 best match, ties
    // keep routes oldest creationTimestamp first, then by name): an Exact path over any prefix
    // (for a request both match, the exact path is the whole request path), a longer prefix over
    // a shorter one, then a method, then more header matches, then more query parameter matches.
    const route = (name: string, created: string | undefined, rules: string) => `apiVersion: policy.linkerd.io/v1beta3
kind: HTTPRoute
metadata: {name: ${name}, namespace: app${created ? `, creationTimestamp: "${created}"` : ''}}
spec:
  parentRefs: [{group: policy.linkerd.io, kind: Server, name: api}]
  rules: ${rules}
`;
    const routes = [
      // Written oldest first, so that the order below is not the written one.
      route('catch-all', '2024-01-01T00:00:00Z', '[{}]'),
      route('prefix-api', '2024-01-02T00:00:00Z', '[{matches: [{path: {type: PathPrefix, value: /api}}]}]'),
      route('with-query', '2024-01-03T00:00:00Z', '[{matches: [{path: {type: PathPrefix, value: /api}, queryParams: [{name: v, value: "2"}]}]}]'),
      route('with-header', '2024-01-04T00:00:00Z', '[{matches: [{path: {type: PathPrefix, value: /api}, headers: [{name: x-env, value: prod}]}]}]'),
      route('with-method', '2024-01-05T00:00:00Z', '[{matches: [{path: {type: PathPrefix, value: /api}, method: POST}]}]'),
      route('prefix-api-v1', '2024-01-06T00:00:00Z', '[{matches: [{path: {type: PathPrefix, value: /api/v1}}]}]'),
      // Its most specific match decides its place: the Exact one, not the catch-all rule.
      route('exact', '2024-01-07T00:00:00Z', '[{}, {matches: [{path: {type: Exact, value: /api/v1/items}}]}]'),
      // The same match: the older first, then by name.
      route('tie-b', '2024-01-08T00:00:00Z', '[{matches: [{path: {type: PathPrefix, value: /web}}]}]'),
      route('tie-a', '2024-01-09T00:00:00Z', '[{matches: [{path: {type: PathPrefix, value: /web}}]}]'),
      route('tie-c', '2024-01-09T00:00:00Z', '[{matches: [{path: {type: PathPrefix, value: /web}}]}]'),
    ];
    const api = `apiVersion: policy.linkerd.io/v1beta3
kind: Server
metadata: {name: api, namespace: app}
spec: {podSelector: {matchLabels: {app: web}}, port: 8080, proxyProtocol: HTTP/1}
`;
    const listing = listed(listFor('linkerd', workspaceOf({ 'inventory.yaml': INVENTORY, 'policies.yaml': [api, ...routes].join('---\n') }), { namespace: 'app', name: 'web', port: 8080 }));
    const order = listing.sections[0]!.rows.filter((r) => r.role === 'HTTPRoute').map((r) => r.resource.replace('HTTPRoute app/', ''));
    assert.deepEqual(order, ['exact', 'prefix-api-v1', 'with-method', 'with-header', 'with-query', 'prefix-api', 'tie-b', 'tie-a', 'tie-c', 'catch-all']);
    const detail = new Map(listing.sections[0]!.rows.map((r) => [r.resource, r.detail]));
    assert.equal(detail.get('HTTPRoute app/exact'), '2 rules, most specific: Exact /api/v1/items');
    assert.equal(detail.get('HTTPRoute app/with-method'), '1 rule, most specific: POST PathPrefix /api');
    assert.equal(detail.get('HTTPRoute app/catch-all'), '1 rule, most specific: every request');
  });

  describe('the probe route Linkerd adds for the kubelet (§2.5: GET on each httpGet probe path, query dropped, unauthenticated from probeNetworks, only while no route is attached)', () => {
    const PROBED = `apiVersion: v1
kind: Namespace
metadata: {name: app, annotations: {config.linkerd.io/default-inbound-policy: deny}}
---
apiVersion: apps/v1
kind: Deployment
metadata: {name: api, namespace: app}
spec:
  selector: {matchLabels: {app: api}}
  template:
    metadata: {labels: {app: api}}
    spec:
      containers:
      - name: api
        image: api
        ports: [{name: http, containerPort: 8080}]
        readinessProbe: {httpGet: {path: "/health?ready=1", port: http}}
        livenessProbe: {httpGet: {path: /live, port: 8080}}
`;
    const apiServer = (accessPolicy: string) => `apiVersion: policy.linkerd.io/v1beta3
kind: Server
metadata: {name: api-http, namespace: app}
spec: {podSelector: {matchLabels: {app: api}}, port: http, proxyProtocol: HTTP/1, accessPolicy: ${accessPolicy}}
`;
    const route = `apiVersion: policy.linkerd.io/v1beta3
kind: HTTPRoute
metadata: {name: api-routes, namespace: app}
spec:
  parentRefs: [{group: policy.linkerd.io, kind: Server, name: api-http}]
  rules: [{matches: [{path: {type: PathPrefix, value: /api}}]}]
`;
    // (the order of the probe paths is not the point: the proxy matches each one exactly)
    const probeLine = /^the probe route \(no HTTPRoute attached\): (GET \/live, GET \/health|GET \/health, GET \/live), the pod's HTTP probes on this port, admits any client \(unauthenticated\) from any network$/;
    const cases: Array<{ name: string; policies: string; summary: Array<string | RegExp> }> = [
      {
        name: 'no Server, default policy deny: the probes still pass',
        policies: apiServer('deny').replace('api-http', 'elsewhere').replace('port: http', 'port: 9999'),
        summary: ['the default policy deny: nothing is authorized (but localhost and the probe route): every other call is denied', probeLine],
      },
      {
        name: 'a Server without routes and accessPolicy deny: the probes still pass',
        policies: apiServer('deny'),
        summary: ['nothing authorizes calls to this Server (but localhost and the probe route): every other call is denied', probeLine],
      },
      {
        name: 'a route attached: no probe route',
        policies: [apiServer('deny'), route].join('---\n'),
        summary: ['nothing authorizes calls to this Server (but localhost): every call is denied', 'a request no HTTPRoute matches is refused (HTTP 404)'],
      },
    ];
    for (const c of cases) {
      it(c.name, () => {
        const listing = listed(listFor('linkerd', workspaceOf({ 'inventory.yaml': PROBED, 'policies.yaml': c.policies }), { namespace: 'app', name: 'api', port: 8080 }));
        const summary = listing.sections[0]!.summary;
        assert.equal(summary.length, c.summary.length, summary.join('\n'));
        c.summary.forEach((want, i) => (typeof want === 'string' ? assert.equal(summary[i], want) : assert.match(summary[i]!, want)));
      });
    }
  });

  it('without --port, every port the pod declares or a Server names', () => {
    const listing = listed(listFor('linkerd', workspace, { namespace: 'app', name: 'web' }));
    assert.deepEqual(listing.sections.map((s) => s.title.split(':')[0]), ['port 8080', 'port 9990']);
  });
});

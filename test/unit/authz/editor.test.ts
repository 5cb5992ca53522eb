import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { workspaceAuthz } from '../../../server/src/engine/authz';
import { workspaceOf } from './workspace';

// What the editor shows of `mesh-policy authz` (docs/authz.md, "In the editor"): the lens line
// per mesh of each workload of a file, and the workloads a resource applies to where it says
// what it attaches to. Which policies apply follows /work/shared/spec/mesh-semantics.md: Istio
// §1.2 (no selector: every workload of the namespace; matchLabels: the workloads carrying every
// pair) and §1.3 (CUSTOM, DENY, ALLOW; no ALLOW policy: allow); Linkerd §2.3 (the oldest Server
// selecting the port wins; no Server: the default inbound policy); Consul §3.3, §3.4 (the
// destination's intention sources; none: the default intention policy).

const deployment = (name: string, labels: string, extra = '') => `apiVersion: apps/v1
kind: Deployment
metadata: {name: ${name}, namespace: shop}
spec:
  template:
    metadata: {labels: ${labels}${extra}}
    spec: {containers: [{name: c, image: c, ports: [{name: http, containerPort: 8080}]}]}
`;

const WORKLOADS = [deployment('payments', '{app: payments}'), deployment('payments-v2', '{app: payments}'), deployment('cart', '{app: cart}')].join('---\n');

const ap = (name: string, spec: string) => `apiVersion: security.istio.io/v1
kind: AuthorizationPolicy
metadata: {name: ${name}, namespace: shop}
spec:
${spec}`;

const ISTIO = [
  ap('deny-admin', '  action: DENY\n  rules: [{to: [{operation: {paths: ["/admin"]}}]}]\n'),
  ap('payments-callers', '  selector:\n    matchLabels: {app: payments}\n  rules: [{from: [{source: {namespaces: [shop]}}]}]\n'),
  ap('nobody', '  selector:\n    matchLabels: {app: nothing}\n  rules: [{}]\n'),
].join('---\n');

describe('mesh-policy authz in the editor', () => {
  it('Istio: one lens line per workload of the file, in evaluation order (§1.2, §1.3)', async () => {
    const authz = workspaceAuthz(workspaceOf({ 'app.yaml': WORKLOADS, 'policies.yaml': ISTIO, 'ns.yaml': 'apiVersion: v1\nkind: Namespace\nmetadata: {name: shop, labels: {istio-injection: enabled}}\n' }));
    assert.deepEqual((await authz.headlines('/ws/app.yaml')).map((h) => [h.target, h.headlines]), [
      ['shop/payments', ['Istio: 2 policies apply (DENY deny-admin, ALLOW payments-callers)']],
      ['shop/payments-v2', ['Istio: 2 policies apply (DENY deny-admin, ALLOW payments-callers)']],
      ['shop/cart', ['Istio: 1 policy applies (DENY deny-admin)']],
    ]);
    assert.deepEqual(await authz.headlines('/ws/policies.yaml'), [], 'a file without workloads');
  });

  it('Istio: no policy in the namespace is the mesh default, allow (§1.3)', async () => {
    const other = ap('elsewhere', '  action: DENY\n  rules: [{}]\n').replace('namespace: shop', 'namespace: other');
    const authz = workspaceAuthz(workspaceOf({ 'app.yaml': deployment('cart', '{app: cart}'), 'p.yaml': other, 'ns.yaml': 'apiVersion: v1\nkind: Namespace\nmetadata: {name: shop, labels: {istio-injection: enabled}}\n' }));
    assert.deepEqual((await authz.headlines('/ws/app.yaml')).flatMap((h) => h.headlines), ['Istio: no policy applies: mesh default (allow)']);
  });

  it('no policy of any mesh in the workspace: no lens', async () => {
    assert.deepEqual(await workspaceAuthz(workspaceOf({ 'app.yaml': WORKLOADS })).headlines('/ws/app.yaml'), []);
  });

  it('"Applies to" only on what the resource attaches by, naming the workloads its listing rows reach', async () => {
    const workspace = workspaceOf({ 'app.yaml': WORKLOADS, 'policies.yaml': ISTIO });
    const authz = workspaceAuthz(workspace);
    const file = workspace.sourceFile('/ws/policies.yaml')!;
    const at = (policy: string, text: string) => {
      const resource = workspace.resources.find((r) => r.resource.name === policy)!.resource;
      return authz.appliesTo(file, resource, file.text.indexOf(text, resource.node.span.start) + 1);
    };
    assert.deepEqual(await at('payments-callers', 'matchLabels'), ['shop/payments', 'shop/payments-v2']);
    assert.deepEqual(await at('payments-callers', 'app: payments'), ['shop/payments', 'shop/payments-v2']);
    assert.deepEqual(await at('nobody', 'matchLabels'), []);
    assert.equal(await at('payments-callers', 'rules'), undefined, 'rules are not the attachment');
    assert.equal(await at('deny-admin', 'action'), undefined, 'nor is the action');
  });

  it('Linkerd: per port, the Server that wins it and its authorizations, or the default policy (§2.3)', async () => {
    const server = (name: string, created: string, port: string) => `apiVersion: policy.linkerd.io/v1beta3
kind: Server
metadata: {name: ${name}, namespace: shop, creationTimestamp: "${created}"}
spec: {podSelector: {matchLabels: {app: payments}}, port: ${port}, proxyProtocol: HTTP/1}
`;
    const policies = [
      server('old', '2024-01-01T00:00:00Z', 'http'),
      server('new', '2024-06-01T00:00:00Z', '8080'),
      `apiVersion: policy.linkerd.io/v1alpha1
kind: AuthorizationPolicy
metadata: {name: clients, namespace: shop}
spec:
  targetRef: {group: policy.linkerd.io, kind: Server, name: old}
  requiredAuthenticationRefs: [{kind: ServiceAccount, name: client}]
`,
    ].join('---\n');
    const inject = ', annotations: {linkerd.io/inject: enabled}';
    const workspace = workspaceOf({ 'app.yaml': [deployment('payments', '{app: payments}', inject), deployment('cart', '{app: cart}', inject)].join('---\n'), 'policies.yaml': policies });
    const authz = workspaceAuthz(workspace);
    assert.deepEqual((await authz.headlines('/ws/app.yaml')).map((h) => h.headlines), [
      ['Linkerd: port 8080 Server old, 1 authorization'],
      ['Linkerd: port 8080 default policy all-unauthenticated'],
    ]);
    // The Server that loses port 8080 to the older one selects the pod but applies to nothing.
    const file = workspace.sourceFile('/ws/policies.yaml')!;
    const podSelector = (name: string) => {
      const resource = workspace.resources.find((r) => r.resource.name === name)!.resource;
      return authz.appliesTo(file, resource, file.text.indexOf('podSelector', resource.node.span.start) + 1);
    };
    assert.deepEqual(await podSelector('old'), ['shop/payments']);
    assert.deepEqual(await podSelector('new'), []);
  });

  it('Consul: the sources per definition, or the default intention policy (§3.3, §3.4)', async () => {
    const entry = (name: string, sources: string[]) => JSON.stringify({ Kind: 'service-intentions', Name: name, Sources: sources.map((s) => ({ Name: s, Action: 'allow' })) });
    const workspace = workspaceOf({
      'app.yaml': [deployment('payments', '{app: payments}', ', annotations: {consul.hashicorp.com/connect-inject: "true"}'), deployment('cart', '{app: cart}', ', annotations: {consul.hashicorp.com/connect-inject: "true"}')].join('---\n'),
      'payments.json': entry('payments', ['web', 'cart']),
    }, (config) => { config.consul.defaultIntentionPolicy = 'deny'; });
    const authz = workspaceAuthz(workspace);
    assert.deepEqual((await authz.headlines('/ws/app.yaml')).map((h) => h.headlines), [
      ['Consul: 2 intention sources'],
      ['Consul: no intention applies: default intention policy (deny)'],
    ]);
    const file = workspace.sourceFile('/ws/payments.json')!;
    const resource = workspace.resources[0]!.resource;
    assert.deepEqual(await authz.appliesTo(file, resource, file.text.indexOf('"payments"') + 1), ['shop/payments']);
  });
});

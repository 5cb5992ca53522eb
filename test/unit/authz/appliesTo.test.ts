import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { join } from 'node:path';
import { loadWorkspace } from '../../../server/src/cli/simulate';
import { ATTACHES_AT, authzReaders, WorkspaceAuthz, type AuthzTarget, type MeshAuthz } from '../../../server/src/engine/authz';
import { Pace } from '../../../server/src/engine/pace';
import type { Resource } from '../../../server/src/engine/resource';
import type { SourceRef } from '../../../server/src/engine/simulate/types';
import type { PathSegment, SourceNode } from '../../../server/src/engine/source/tree';
import type { WorkspaceModel } from '../../../server/src/engine/workspace';
import { REPO_ROOT } from '../../helpers/paths';
import { workspaceOf } from './workspace';

// The editor's "Applies to" (docs/authz.md): the workloads whose listing has a row in the
// resource. It asks only for the workloads the resource can reach, which the attachment rules
// of /work/shared/spec/mesh-semantics.md bound by namespace: Istio §1.2 (a policy outside the
// root namespace applies in its own namespace; targetRefs to a Service or ServiceEntry of its
// namespace; the root namespace's reach every namespace; a waypoint's Gateway may serve others),
// Linkerd §2.3-§2.5 (everything is namespace-local), Consul §3.3 (an entry's destination
// service, or every service for `*`).

const deployment = (namespace: string, name: string, annotations = '{}') => `apiVersion: apps/v1
kind: Deployment
metadata: {name: ${name}, namespace: ${namespace}}
spec:
  template:
    metadata: {labels: {app: ${name}}, annotations: ${annotations}}
    spec: {containers: [{name: c, image: c, ports: [{containerPort: 8080}]}]}
`;

const istioNamespace = (name: string) => `apiVersion: v1\nkind: Namespace\nmetadata: {name: ${name}, labels: {istio-injection: enabled}}\n`;

const WORKLOADS = [istioNamespace('shop'), istioNamespace('bank'), deployment('shop', 'cart'), deployment('shop', 'payments'), deployment('bank', 'ledger'), deployment('bank', 'cart')].join('---\n');

/** An Istio security resource of `kind` (spec lines indented under `spec:`). */
const istio = (kind: string, namespace: string, name: string, spec: string) => `apiVersion: security.istio.io/v1
kind: ${kind}
metadata: {name: ${name}, namespace: ${namespace}}
spec:
${spec}`;

const ISTIO = [
  istio('AuthorizationPolicy', 'shop', 'shop-wide', '  action: DENY\n  rules: [{to: [{operation: {paths: ["/admin"]}}]}]\n'),
  istio('AuthorizationPolicy', 'istio-system', 'mesh-cart', '  selector:\n    matchLabels: {app: cart}\n  action: DENY\n  rules: [{to: [{operation: {paths: ["/x"]}}]}]\n'),
  istio('AuthorizationPolicy', 'shop', 'via-gateway', '  targetRefs: [{group: gateway.networking.k8s.io, kind: Gateway, name: waypoint}]\n  rules: [{}]\n'),
  istio('PeerAuthentication', 'shop', 'cart-mtls', '  selector:\n    matchLabels: {app: cart}\n  mtls: {mode: STRICT}\n'),
  istio('RequestAuthentication', 'shop', 'payments-jwt', '  selector:\n    matchLabels: {app: payments}\n  jwtRules: [{issuer: "https://auth.example.com"}]\n'),
].join('---\n');

/** The workspace's readers, each recording the targets it is asked to list. */
function counted(workspace: WorkspaceModel): { readers: MeshAuthz[]; asked: string[] } {
  const asked: string[] = [];
  const readers = authzReaders(workspace).map((reader): MeshAuthz => ({
    ...reader,
    list: (target: AuthzTarget) => {
      asked.push(`${reader.mesh} ${target.namespace}/${target.name}`);
      return reader.list(target);
    },
  }));
  return { readers, asked };
}

/** The offset of `key` inside the resource named `name` (its first occurrence there). */
function resourceAndOffset(workspace: WorkspaceModel, file: string, name: string, key: string): { resource: Resource; offset: number } {
  const text = workspace.sourceFile(file)!.text;
  const resource = workspace.resources.find((r) => r.file.path === file && r.resource.name === name)!.resource;
  return { resource, offset: text.indexOf(key, resource.node.span.start) + 1 };
}

describe('"Applies to" asks only for the workloads a resource can reach', () => {
  const cases: { name: string; policy: string; key: string; asked: string[]; applies: string[] }[] = [
    { name: 'a selector outside the root namespace: its namespace', policy: 'cart-mtls', key: 'matchLabels', asked: ['shop/cart', 'shop/payments'], applies: ['shop/cart'] },
    { name: 'a RequestAuthentication\'s selector: its namespace', policy: 'payments-jwt', key: 'matchLabels', asked: ['shop/cart', 'shop/payments'], applies: ['shop/payments'] },
    { name: 'a selector in the root namespace: every namespace', policy: 'mesh-cart', key: 'matchLabels', asked: ['bank/cart', 'bank/ledger', 'shop/cart', 'shop/payments'], applies: ['bank/cart', 'shop/cart'] },
    { name: 'targetRefs to a Gateway: every namespace (a waypoint may serve others)', policy: 'via-gateway', key: 'targetRefs', asked: ['bank/cart', 'bank/ledger', 'shop/cart', 'shop/payments'], applies: [] },
  ];
  for (const c of cases) {
    it(`Istio: ${c.name}`, async () => {
      const workspace = workspaceOf({ 'app.yaml': WORKLOADS, 'policies.yaml': ISTIO });
      const { readers, asked } = counted(workspace);
      const authz = new WorkspaceAuthz(workspace, readers);
      const { resource, offset } = resourceAndOffset(workspace, '/ws/policies.yaml', c.policy, c.key);
      assert.deepEqual(await authz.appliesTo(workspace.sourceFile('/ws/policies.yaml')!, resource, offset), c.applies);
      assert.deepEqual([...new Set(asked.map((a) => a.slice(a.indexOf(' ') + 1)))].sort(), c.asked);
    });
  }

  it('Linkerd: its own namespace; Consul: the destination service, in any namespace', async () => {
    const inject = '{linkerd.io/inject: enabled, consul.hashicorp.com/connect-inject: "true"}';
    const workspace = workspaceOf({
      'app.yaml': [deployment('shop', 'cart', inject), deployment('shop', 'payments', inject), deployment('bank', 'cart', inject)].join('---\n'),
      'server.yaml': `apiVersion: policy.linkerd.io/v1beta3
kind: Server
metadata: {name: cart-http, namespace: shop}
spec: {podSelector: {matchLabels: {app: cart}}, port: 8080, proxyProtocol: HTTP/1}
`,
      'cart.json': JSON.stringify({ Kind: 'service-intentions', Name: 'cart', Sources: [{ Name: 'web', Action: 'allow' }] }),
    });
    const { readers, asked } = counted(workspace);
    const authz = new WorkspaceAuthz(workspace, readers);
    const server = resourceAndOffset(workspace, '/ws/server.yaml', 'cart-http', 'podSelector');
    assert.deepEqual(await authz.appliesTo(workspace.sourceFile('/ws/server.yaml')!, server.resource, server.offset), ['shop/cart']);
    assert.deepEqual([...new Set(asked)].sort(), ['consul shop/cart', 'consul shop/payments', 'linkerd shop/cart', 'linkerd shop/payments']);
    asked.length = 0;
    const intentions = workspace.resources.find((r) => r.file.path === '/ws/cart.json')!.resource;
    const text = workspace.sourceFile('/ws/cart.json')!.text;
    assert.deepEqual(await authz.appliesTo(workspace.sourceFile('/ws/cart.json')!, intentions, text.indexOf('"cart"') + 1), ['bank/cart', 'shop/cart']);
    // shop/cart was listed for the Server already (each workload is listed once per state).
    assert.deepEqual([...new Set(asked.map((a) => a.slice(a.indexOf(' ') + 1)))].sort(), ['bank/cart']);
  });

  it('stops when the request is cancelled, and keeps nothing of the unfinished answer', async () => {
    const workspace = workspaceOf({ 'app.yaml': WORKLOADS, 'policies.yaml': ISTIO });
    const { readers, asked } = counted(workspace);
    const authz = new WorkspaceAuthz(workspace, readers);
    const file = workspace.sourceFile('/ws/policies.yaml')!;
    const { resource, offset } = resourceAndOffset(workspace, '/ws/policies.yaml', 'mesh-cart', 'matchLabels');
    const controller = new AbortController();
    controller.abort(new Error('cancelled'));
    await assert.rejects(authz.appliesTo(file, resource, offset, new Pace(controller.signal)), /cancelled/);
    assert.deepEqual(asked, [], 'no workload was listed');
    assert.deepEqual(await authz.appliesTo(file, resource, offset, new Pace(new AbortController().signal)), ['bank/cart', 'shop/cart']);
  });
});

describe('"Applies to" on the examples equals asking every workload', () => {
  // The bound above never leaves a workload out: for every resource of the examples, at every
  // field it attaches by, the answer is the workloads of the whole inventory whose listing has a
  // row (or an authentication row) in the resource.
  for (const example of ['istio', 'istio-ambient', 'linkerd', 'consul']) {
    it(`examples/${example}`, async () => {
      const folder = join(REPO_ROOT, 'examples', example);
      const loaded = loadWorkspace({ policies: [folder], inventory: [] }, { cwd: folder, stdout: () => undefined, stderr: () => undefined, env: {} } as never);
      assert.notEqual(typeof loaded, 'number');
      const workspace = (loaded as Exclude<typeof loaded, number>).workspace;
      const authz = new WorkspaceAuthz(workspace);
      let checked = 0;
      for (const { file: source, resource } of workspace.resources) {
        const file = workspace.sourceFile(source.path)!;
        for (const offset of attachmentOffsets(resource)) {
          const inResource = (at: SourceRef | undefined) => {
            if (!at || at.file !== file.path) return false;
            const o = file.lines.offset(at.range.start);
            return o >= resource.node.span.start && o <= resource.node.span.end;
          };
          const everyWorkload = authz.workloads().filter((w) => authz.list({ namespace: w.namespace, name: w.name }).listings
            .filter((l) => l.mesh === resource.mesh)
            .some((l) => l.sections.some((s) => s.rows.some((r) => r.role !== 'loses' && inResource(r.at)) || s.authentication?.rows.some((r) => inResource(r.at)))))
            .map((w) => `${w.namespace}/${w.name}`).sort();
          assert.deepEqual(await new WorkspaceAuthz(workspace).appliesTo(file, resource, offset), everyWorkload, `${resource.kind} ${resource.name}`);
          checked++;
        }
      }
      assert.ok(checked > 0, 'some resource attaches by a field');
    });
  }
});

/** The start offset of each top-level field under `spec` (or at the top, for Consul) a resource attaches by. */
function attachmentOffsets(resource: Resource): number[] {
  const out: number[] = [];
  const visit = (node: SourceNode, path: PathSegment[]) => {
    if (node.type !== 'object') return;
    for (const entry of node.entries) {
      const at = [...path, entry.key];
      if (ATTACHES_AT[resource.mesh](resource.kind, at)) out.push(entry.value.span.start);
      if (at.length < 2) visit(entry.value, at);
    }
  };
  visit(resource.node, []);
  return out;
}

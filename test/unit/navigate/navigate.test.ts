import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { workspaceAuthz } from '../../../server/src/engine/authz';
import { workspaceNavigation } from '../../../server/src/engine/navigate';
import type { WorkspaceModel } from '../../../server/src/engine/workspace';
import { workspaceOf } from '../authz/workspace';

// Navigation follows the references each mesh resolves (/work/shared/spec/mesh-semantics.md):
// Istio §1.2 (selector and targetRefs in the policy's namespace) and §1.4 (principals
// `<td>/ns/<ns>/sa/<sa>`, namespaces); Linkerd §2.3–§2.5 (targetRef, requiredAuthenticationRefs,
// parentRefs, identityRefs: namespace-local unless the ref names a namespace; identities
// `<sa>.<ns>.serviceaccount.identity.<...>`); Consul §3 (an intention names services; JWT
// providers by name). A cursor is written `‸` in the text; the expected answers are the labels
// of what is defined there, `file:line` (1-based) of each place.

const CURSOR = '‸';

const MANIFESTS = `apiVersion: v1
kind: Namespace
metadata: {name: shop, labels: {istio-injection: enabled}}
---
apiVersion: v1
kind: ServiceAccount
metadata: {name: cart, namespace: shop}
---
apiVersion: apps/v1
kind: Deployment
metadata: {name: cart, namespace: shop}
spec:
  selector: {matchLabels: {app: cart}}
  template:
    metadata: {labels: {app: cart}}
    spec: {serviceAccountName: cart, containers: [{name: c, image: c, ports: [{name: http, containerPort: 8080}]}]}
---
apiVersion: apps/v1
kind: Deployment
metadata: {name: web, namespace: shop}
spec:
  selector: {matchLabels: {app: web}}
  template:
    metadata: {labels: {app: web}}
    spec: {serviceAccountName: web, containers: [{name: c, image: c, ports: [{name: http, containerPort: 8080}]}]}
---
apiVersion: v1
kind: Service
metadata: {name: cart, namespace: shop}
spec: {selector: {app: cart}, ports: [{port: 80, targetPort: 8080}]}
`;

interface Case {
  name: string;
  /** Files by name; one of them holds the cursor. */
  files: Record<string, string>;
  /** What go to definition answers: `label @ file:line`. */
  definitions: string[] | undefined;
}

function at(files: Record<string, string>): { clean: Record<string, string>; file: string; offset: number } {
  const clean: Record<string, string> = {};
  let found: { file: string; offset: number } | undefined;
  for (const [name, text] of Object.entries(files)) {
    const offset = text.indexOf(CURSOR);
    if (offset >= 0) found = { file: name, offset };
    clean[name] = text.replace(CURSOR, '');
  }
  if (!found) throw new Error('no cursor in the case');
  return { clean, ...found };
}

function open(files: Record<string, string>): { workspace: WorkspaceModel; file: string; offset: number } {
  const { clean, file, offset } = at(files);
  return { workspace: workspaceOf(clean), file: `/ws/${file}`, offset };
}

const placeText = (p: { label: string; file: string; range: { start: { line: number } } }) => `${p.label} @ ${p.file.replace('/ws/', '')}:${p.range.start.line + 1}`;

const istio = (body: string) => `apiVersion: security.istio.io/v1
kind: AuthorizationPolicy
metadata: {name: cart-policy, namespace: shop}
spec:
${body}`;

const linkerd = (kind: string, name: string, spec: string, apiVersion = 'policy.linkerd.io/v1alpha1') => `apiVersion: ${apiVersion}
kind: ${kind}
metadata: {name: ${name}, namespace: shop}
spec:
${spec}`;

const SERVER = linkerd('Server', 'cart-http', '  podSelector: {matchLabels: {app: cart}}\n  port: http\n', 'policy.linkerd.io/v1beta3');
const MTLS = linkerd('MeshTLSAuthentication', 'web-only', '  identities: ["web.shop.serviceaccount.identity.linkerd.cluster.local"]\n');

const CASES: Case[] = [
  {
    name: 'Istio: a principal names its ServiceAccount',
    files: { 'm.yaml': MANIFESTS, 'p.yaml': istio('  rules:\n  - from:\n    - source: {principals: ["cluster.local/ns/shop/sa/ca‸rt"]}\n') },
    definitions: ['ServiceAccount shop/cart @ m.yaml:7'],
  },
  {
    name: 'Istio: a principal with spiffe:// and a wildcard trust domain',
    files: { 'm.yaml': MANIFESTS, 'p.yaml': istio('  rules:\n  - from:\n    - source: {notPrincipals: ["spiffe://*/ns/shop/sa/cart‸"]}\n') },
    definitions: ['ServiceAccount shop/cart @ m.yaml:7'],
  },
  {
    name: 'Istio: a principal whose account has no manifest leads to the workloads that run as it',
    files: { 'm.yaml': MANIFESTS, 'p.yaml': istio('  rules:\n  - from:\n    - source: {principals: ["cluster.local/ns/shop/sa/‸web"]}\n') },
    definitions: ['Deployment shop/web (service account web) @ m.yaml:20'],
  },
  {
    name: 'Istio: a wildcard account names no one thing',
    files: { 'm.yaml': MANIFESTS, 'p.yaml': istio('  rules:\n  - from:\n    - source: {principals: ["cluster.local/ns/shop/sa/*‸"]}\n') },
    definitions: undefined,
  },
  {
    name: 'Istio: a namespace in a source and in a when condition',
    files: { 'm.yaml': MANIFESTS, 'p.yaml': istio('  rules:\n  - when:\n    - key: source.namespace\n      values: ["sh‸op"]\n') },
    definitions: ['Namespace shop @ m.yaml:3'],
  },
  {
    name: 'Istio: a targetRef to a Service of the policy\'s namespace',
    files: { 'm.yaml': MANIFESTS, 'p.yaml': istio('  targetRefs:\n  - {kind: Service, group: "", name: c‸art}\n  rules: [{}]\n') },
    definitions: ['Service shop/cart @ m.yaml:29'],
  },
  {
    name: 'Istio: a selector leads to the workloads the policy applies to',
    files: { 'm.yaml': MANIFESTS, 'p.yaml': istio('  selector:\n    matchLabels: {app: ca‸rt}\n  rules: [{}]\n') },
    definitions: ['Deployment shop/cart @ m.yaml:11'],
  },
  {
    name: 'Istio: a rule\'s path names nothing',
    files: { 'm.yaml': MANIFESTS, 'p.yaml': istio('  rules:\n  - to:\n    - operation: {paths: ["/ca‸rt"]}\n') },
    definitions: undefined,
  },
  {
    name: 'Linkerd: an AuthorizationPolicy targets a Server of its namespace',
    files: { 'm.yaml': MANIFESTS, 's.yaml': SERVER, 'a.yaml': linkerd('AuthorizationPolicy', 'cart-authz', '  targetRef: {group: policy.linkerd.io, kind: Server, name: cart-h‸ttp}\n  requiredAuthenticationRefs: [{group: policy.linkerd.io, kind: MeshTLSAuthentication, name: web-only}]\n') },
    definitions: ['Server shop/cart-http @ s.yaml:3'],
  },
  {
    name: 'Linkerd: a required authentication',
    files: { 'm.yaml': MANIFESTS, 'mtls.yaml': MTLS, 'a.yaml': linkerd('AuthorizationPolicy', 'cart-authz', '  targetRef: {group: policy.linkerd.io, kind: Server, name: cart-http}\n  requiredAuthenticationRefs: [{group: policy.linkerd.io, kind: MeshTLSAuthentication, name: web-o‸nly}]\n') },
    definitions: ['MeshTLSAuthentication shop/web-only @ mtls.yaml:3'],
  },
  {
    name: 'Linkerd: a ref in another namespace is looked up there',
    files: { 'm.yaml': MANIFESTS, 'mtls.yaml': MTLS, 'a.yaml': linkerd('AuthorizationPolicy', 'cart-authz', '  targetRef: {group: policy.linkerd.io, kind: Server, name: cart-http}\n  requiredAuthenticationRefs: [{group: policy.linkerd.io, kind: MeshTLSAuthentication, name: web-o‸nly, namespace: other}]\n') },
    definitions: [],
  },
  {
    name: 'Linkerd: a kind compared in any letter case, a group that must match',
    files: { 'm.yaml': MANIFESTS, 's.yaml': SERVER, 'a.yaml': linkerd('AuthorizationPolicy', 'cart-authz', '  targetRef: {group: gateway.networking.k8s.io, kind: server, name: cart-h‸ttp}\n  requiredAuthenticationRefs: []\n') },
    definitions: [],
  },
  {
    name: 'Linkerd: a Namespace target',
    files: { 'm.yaml': MANIFESTS, 'a.yaml': linkerd('AuthorizationPolicy', 'shop-authz', '  targetRef: {kind: Namespace, name: sh‸op}\n  requiredAuthenticationRefs: []\n') },
    definitions: ['Namespace shop @ m.yaml:3'],
  },
  {
    name: 'Linkerd: a MeshTLSAuthentication identity names a ServiceAccount',
    files: { 'm.yaml': MANIFESTS, 'mtls.yaml': linkerd('MeshTLSAuthentication', 'cart-only', '  identities: ["cart.shop.serviceaccount.identity.linkerd.cluster.l‸ocal"]\n') },
    definitions: ['ServiceAccount shop/cart @ m.yaml:7'],
  },
  {
    name: 'Linkerd: identityRefs default to the authentication\'s namespace',
    files: { 'm.yaml': MANIFESTS, 'mtls.yaml': linkerd('MeshTLSAuthentication', 'cart-only', '  identityRefs: [{kind: ServiceAccount, name: c‸art}]\n') },
    definitions: ['ServiceAccount shop/cart @ m.yaml:7'],
  },
  {
    name: 'Linkerd: an HTTPRoute\'s parent Server',
    files: { 'm.yaml': MANIFESTS, 's.yaml': SERVER, 'r.yaml': linkerd('HTTPRoute', 'cart-route', '  parentRefs: [{group: policy.linkerd.io, kind: Server, name: cart-ht‸tp}]\n  rules: [{matches: [{path: {type: PathPrefix, value: /}}]}]\n', 'policy.linkerd.io/v1beta3') },
    definitions: ['Server shop/cart-http @ s.yaml:3'],
  },
  {
    name: 'Linkerd: a Server\'s podSelector leads to the pods it selects',
    files: { 'm.yaml': MANIFESTS, 's.yaml': linkerd('Server', 'cart-http', '  podSelector: {matchLabels: {app: c‸art}}\n  port: http\n', 'policy.linkerd.io/v1beta3') },
    definitions: ['Deployment shop/cart @ m.yaml:11'],
  },
  {
    name: 'Consul: an intention\'s source names a service',
    files: { 'm.yaml': MANIFESTS, 'i.yaml': 'apiVersion: consul.hashicorp.com/v1alpha1\nkind: ServiceIntentions\nmetadata: {name: cart, namespace: shop}\nspec:\n  destination: {name: cart}\n  sources: [{name: ca‸rt, action: allow}]\n' },
    definitions: ['Service shop/cart @ m.yaml:29'],
  },
  {
    name: 'Consul: a config entry\'s destination, in HCL',
    files: { 'm.yaml': MANIFESTS, 'i.hcl': 'Kind = "service-intentions"\nName = "ca‸rt"\nSources = [\n  { Name = "web", Action = "allow" }\n]\n' },
    definitions: ['Service shop/cart @ m.yaml:29'],
  },
  {
    name: 'Consul: a JWT provider',
    files: {
      'jwt.hcl': 'Kind = "jwt-provider"\nName = "okta"\nIssuer = "https://okta.example.com"\nJSONWebKeySet = { Remote = { URI = "https://okta.example.com/keys" } }\n',
      'i.hcl': 'Kind = "service-intentions"\nName = "cart"\nJWT = { Providers = [ { Name = "ok‸ta" } ] }\nSources = [\n  { Name = "*", Action = "allow" }\n]\n',
    },
    definitions: ['jwt-provider okta @ jwt.hcl:2'],
  },
  {
    name: 'Consul: `*` names no one service',
    files: { 'i.hcl': 'Kind = "service-intentions"\nName = "cart"\nSources = [\n  { Name = "‸*", Action = "deny" }\n]\n' },
    definitions: undefined,
  },
];

describe('go to definition', () => {
  for (const c of CASES) {
    it(c.name, async () => {
      const { workspace, file, offset } = open(c.files);
      const navigation = workspaceNavigation(workspace, workspaceAuthz(workspace));
      const found = await navigation.definitions(workspace.sourceFile(file)!, offset);
      assert.deepEqual(found?.map(placeText), c.definitions);
    });
  }
});

describe('what a hover says of a reference', () => {
  it('what it names and where, or that the workspace has no such thing', () => {
    const text = (files: Record<string, string>) => {
      const { workspace, file, offset } = open(files);
      return workspaceNavigation(workspace).referenceText(workspace.sourceFile(file)!, offset, (p) => `${p.file.replace('/ws/', '')}:${p.range.start.line + 1}`);
    };
    const policy = (name: string) => linkerd('AuthorizationPolicy', 'cart-authz', `  targetRef: {group: policy.linkerd.io, kind: Server, name: ${name}}\n  requiredAuthenticationRefs: []\n`);
    assert.equal(text({ 's.yaml': SERVER, 'a.yaml': policy('cart-h‸ttp') }), 'Refers to `Server shop/cart-http` (s.yaml:3)');
    assert.equal(text({ 's.yaml': SERVER, 'a.yaml': policy('cart-g‸one') }), 'Refers to Server shop/cart-gone, which the workspace does not define');
    assert.equal(text({ 's.yaml': SERVER.replace('podSelector: {matchLabels: {app: cart}}', 'podSelector: {matchLabels: {app: c‸art}}') }), undefined);
  });
});

describe('find references', () => {
  const files = {
    'm.yaml': MANIFESTS,
    's.yaml': SERVER,
    'mtls.yaml': MTLS,
    'a.yaml': linkerd('AuthorizationPolicy', 'cart-authz', '  targetRef: {group: policy.linkerd.io, kind: Server, name: cart-http}\n  requiredAuthenticationRefs: [{group: policy.linkerd.io, kind: MeshTLSAuthentication, name: web-only}]\n'),
    'r.yaml': linkerd('HTTPRoute', 'cart-route', '  parentRefs: [{group: policy.linkerd.io, kind: Server, name: cart-http}]\n  rules: [{matches: [{path: {type: PathPrefix, value: /}}]}]\n', 'policy.linkerd.io/v1beta3'),
    'p.yaml': istio('  rules:\n  - from:\n    - source: {principals: ["cluster.local/ns/shop/sa/cart"]}\n'),
  };
  const references = async (cursorFile: string, marker: string, includeDeclaration: boolean) => {
    const withCursor = { ...files, [cursorFile]: files[cursorFile as keyof typeof files].replace(marker, `${marker.slice(0, 2)}${CURSOR}${marker.slice(2)}`) };
    const { workspace, file, offset } = open(withCursor);
    const navigation = workspaceNavigation(workspace, workspaceAuthz(workspace));
    return (await navigation.references(workspace.sourceFile(file)!, offset, includeDeclaration)).map(placeText);
  };

  it('from a Server\'s name: the policies and routes that name it', async () => {
    assert.deepEqual(await references('s.yaml', 'cart-http', false), [
      'AuthorizationPolicy shop/cart-authz @ a.yaml:5',
      'HTTPRoute shop/cart-route @ r.yaml:5',
    ]);
  });

  it('from a reference: the declaration first when asked, then every reference to the same thing', async () => {
    assert.deepEqual(await references('r.yaml', 'cart-http}]', true), [
      'Server shop/cart-http @ s.yaml:3',
      'AuthorizationPolicy shop/cart-authz @ a.yaml:5',
      'HTTPRoute shop/cart-route @ r.yaml:5',
    ]);
  });

  it('from a ServiceAccount manifest: principals and identities across meshes', async () => {
    assert.deepEqual(await references('m.yaml', 'name: cart, namespace: shop}\n---\napiVersion: apps/v1', false), [
      'AuthorizationPolicy shop/cart-policy @ p.yaml:7',
    ]);
  });

  it('from a workload manifest: the policies that apply to it, from its listing', async () => {
    // A namespace-wide Istio policy applies to every workload of its namespace (§1.2).
    assert.deepEqual(await references('m.yaml', 'name: cart, namespace: shop}\nspec:\n  selector', false), ['AuthorizationPolicy shop/cart-policy @ p.yaml:3']);
    // A meshed Linkerd pod: the Server that selects its port, the authorization that targets the Server (§2.3, §2.4).
    const meshed = {
      'lk.yaml': `apiVersion: v1
kind: Namespace
metadata: {name: lk, annotations: {linkerd.io/inject: enabled}}
---
apiVersion: apps/v1
kind: Deployment
metadata: {name: a‸pi, namespace: lk}
spec:
  selector: {matchLabels: {app: api}}
  template:
    metadata: {labels: {app: api}}
    spec: {containers: [{name: c, image: c, ports: [{name: http, containerPort: 8080}]}]}
`,
      's.yaml': SERVER.replaceAll('shop', 'lk').replaceAll('cart', 'api'),
      'a.yaml': linkerd('AuthorizationPolicy', 'api-authz', '  targetRef: {group: policy.linkerd.io, kind: Server, name: api-http}\n  requiredAuthenticationRefs: []\n').replace('shop', 'lk'),
    };
    const { workspace, file, offset } = open(meshed);
    const navigation = workspaceNavigation(workspace, workspaceAuthz(workspace));
    assert.deepEqual((await navigation.references(workspace.sourceFile(file)!, offset, false)).map(placeText), ['Server lk/api-http @ s.yaml:1', 'AuthorizationPolicy lk/api-authz @ a.yaml:1']);
  });

  it('nothing from a place that names nothing', async () => {
    assert.deepEqual(await references('m.yaml', 'containerPort', true), []);
    assert.deepEqual(await references('s.yaml', 'port: http', true), []);
  });
});

describe('outline and workspace symbols', () => {
  it('lists a file\'s policies with their rules, Consul permissions under their source', () => {
    const workspace = workspaceOf({
      'i.yaml': 'apiVersion: consul.hashicorp.com/v1alpha1\nkind: ServiceIntentions\nmetadata: {name: api, namespace: shop}\nspec:\n  destination: {name: api}\n  sources:\n  - name: web\n    permissions:\n    - action: allow\n      http: {pathPrefix: /}\n  - name: "*"\n    action: deny\n',
      'p.yaml': istio('  rules:\n  - to: [{operation: {methods: [GET]}}]\n  - to: [{operation: {methods: [POST]}}]\n'),
    });
    const navigation = workspaceNavigation(workspace);
    const outline = (path: string) => {
      const file = workspace.sourceFile(`/ws/${path}`)!;
      const resources = workspace.resources.filter((r) => r.file === file).map((r) => r.resource);
      const show = (s: { name: string; selectionRange: { start: { line: number } }; children: unknown[] }): unknown => ({ name: s.name, line: s.selectionRange.start.line + 1, ...(s.children.length ? { children: (s.children as typeof s[]).map(show) } : {}) });
      return navigation.outline(file, resources).map(show);
    };
    assert.deepEqual(outline('i.yaml'), [{
      name: 'ServiceIntentions shop/api', line: 3,
      children: [{ name: 'sources[0] web', line: 7, children: [{ name: 'permissions[0]', line: 9 }] }, { name: 'sources[1] *', line: 11 }],
    }]);
    assert.deepEqual(outline('p.yaml'), [{ name: 'AuthorizationPolicy shop/cart-policy', line: 3, children: [{ name: 'rules[0]', line: 6 }, { name: 'rules[1]', line: 7 }] }]);
    assert.deepEqual(navigation.symbols('intentionscart').map((s) => s.name), []);
    assert.deepEqual(navigation.symbols('authzcart').map((s) => s.name), ['AuthorizationPolicy shop/cart-policy']);
    assert.deepEqual(navigation.symbols('').map((s) => s.name).sort(), ['AuthorizationPolicy shop/cart-policy', 'ServiceIntentions shop/api']);
  });
});

describe('rename', () => {
  const files = {
    'm.yaml': MANIFESTS,
    's.yaml': SERVER,
    'a.yaml': linkerd('AuthorizationPolicy', 'cart-authz', '  targetRef: {group: policy.linkerd.io, kind: Server, name: cart-http}\n  requiredAuthenticationRefs: [{group: policy.linkerd.io, kind: MeshTLSAuthentication, name: web-only}]\n'),
    'r.yaml': linkerd('HTTPRoute', 'cart-route', '  parentRefs:\n  - {group: policy.linkerd.io, kind: Server, name: "cart-http"}\n  rules: [{matches: [{path: {type: PathPrefix, value: /}}]}]\n', 'policy.linkerd.io/v1beta3'),
    'mtls.yaml': MTLS,
  };
  const renameAt = async (cursorFile: keyof typeof files, marker: string, newName: string) => {
    const withCursor = { ...files, [cursorFile]: files[cursorFile].replace(marker, `${marker.slice(0, 2)}${CURSOR}${marker.slice(2)}`) };
    const { workspace, file, offset } = open(withCursor);
    const navigation = workspaceNavigation(workspace, workspaceAuthz(workspace));
    const edits = await navigation.rename(workspace.sourceFile(file)!, offset, newName);
    if ('refused' in edits) return edits.refused;
    return edits.flatMap((e) => e.edits.map((edit) => `${e.file.replace('/ws/', '')}:${edit.range.start.line + 1}:${edit.range.start.character + 1} ${edit.newText}`)).sort();
  };

  it('a Server from its name: the name, the AuthorizationPolicy\'s targetRef and the route\'s parentRef (its quotes kept)', async () => {
    assert.deepEqual(await renameAt('s.yaml', 'cart-http', 'cart-web'), ['a.yaml:5:61 cart-web', 'r.yaml:6:52 "cart-web"', 's.yaml:3:18 cart-web']);
  });

  it('the same from a reference to it', async () => {
    assert.deepEqual(await renameAt('r.yaml', 'cart-http"', 'cart-web'), ['a.yaml:5:61 cart-web', 'r.yaml:6:52 "cart-web"', 's.yaml:3:18 cart-web']);
  });

  it('refuses manifests, names that are not Kubernetes names, and references to nothing', async () => {
    assert.match(String(await renameAt('mtls.yaml', 'web.shop', 'x')), /^no manifest of the workspace declares ServiceAccount shop\/web: renaming only the places that name it/);
    assert.match(String(await renameAt('s.yaml', 'cart-http', 'Cart_Web')), /^"Cart_Web" is not a Kubernetes name/);
    assert.equal(await renameAt('s.yaml', 'app: cart', 'x'), 'a selector picks workloads by their labels, not by a name');
    const dangling = { ...files, 'a.yaml': files['a.yaml'].replace('name: cart-http', 'name: c‸art-gone') };
    const { workspace, file, offset } = open(dangling);
    const found = await workspaceNavigation(workspace, workspaceAuthz(workspace)).rename(workspace.sourceFile(file)!, offset, 'x');
    assert.deepEqual(found, { refused: 'it names nothing in the workspace' });
  });
});

describe('rename a ServiceAccount', () => {
  // The name lives in its manifest, in the pods that run as it, and inside the values that name
  // it: Istio principals `<td>/ns/<ns>/sa/<sa>`, `serviceAccounts` entries `<ns>/<sa>` or `<sa>`
  // (the policy's namespace) and the `when` keys of both (spec §1.4); Linkerd identities
  // `<sa>.<ns>.serviceaccount.identity...`, identityRefs and ServerAuthorization accounts (§2.4).
  const files = {
    'm.yaml': MANIFESTS,
    'p.yaml': istio('  rules:\n  - from:\n    - source: {principals: ["cluster.local/ns/shop/sa/cart", "cluster.local/ns/other/sa/cart"]}\n  - from:\n    - source: {serviceAccounts: ["shop/cart", cart, web]}\n  - when:\n    - {key: source.principal, values: ["spiffe://cluster.local/ns/shop/sa/cart"]}\n'),
    'mtls.yaml': linkerd('MeshTLSAuthentication', 'cart-only', '  identities: ["cart.shop.serviceaccount.identity.linkerd.cluster.local"]\n  identityRefs: [{kind: ServiceAccount, name: cart}]\n'),
    // policy test calls with the account as caller: renamed where the deciding mesh names callers by account
    't.yaml': 'kind: MeshPolicyTest\ntests:\n  - {call: "istio: shop/cart -> shop/web:8080 GET /", expect: allow}\n  - {call: "shop/cart -> shop/web:8080", expect: allow}\n  - {call: "consul: shop/cart -> shop/web", expect: allow}\n',
  };
  const renameAt = async (cursorFile: keyof typeof files, marker: string, newName: string) => {
    // (`marker` is the text around the cursor, the cursor written in it)
    const withCursor = { ...files, [cursorFile]: files[cursorFile].replace(marker.replace(CURSOR, ''), marker) };
    const { workspace, file, offset } = open(withCursor);
    const navigation = workspaceNavigation(workspace, workspaceAuthz(workspace));
    const target = await navigation.renameTarget(workspace.sourceFile(file)!, offset);
    const edits = await navigation.rename(workspace.sourceFile(file)!, offset, newName);
    const shown = (range: { start: { line: number; character: number }; end: { character: number } }) => `${range.start.line + 1}:${range.start.character + 1}-${range.end.character + 1}`;
    return {
      target: target && ('refused' in target ? target.refused : `${target.name} ${shown(target.range)}`),
      edits: 'refused' in edits ? edits.refused : edits.flatMap((e) => e.edits.map((edit) => `${e.file.replace('/ws/', '')}:${edit.range.start.line + 1}:${edit.range.start.character + 1} ${edit.newText}`)).sort(),
    };
  };
  const EVERY_PLACE = [
    'm.yaml:16:32 cart-svc', // the Deployment's serviceAccountName
    'm.yaml:7:18 cart-svc', // the ServiceAccount's name
    'mtls.yaml:5:16 "cart-svc.shop.serviceaccount.identity.linkerd.cluster.local"',
    'mtls.yaml:6:47 cart-svc', // identityRefs
    'p.yaml:11:40 "spiffe://cluster.local/ns/shop/sa/cart-svc"', // when source.principal
    'p.yaml:7:29 "cluster.local/ns/shop/sa/cart-svc"', // not ns/other's cart
    'p.yaml:9:34 "shop/cart-svc"',
    'p.yaml:9:47 cart-svc', // `cart`: the policy's namespace
    't.yaml:3:12 "istio: shop/cart-svc -> shop/web:8080 GET /"', // not the others: two meshes here, and Consul's callers are services
  ];

  it('from its manifest: the manifest, the pods, principals, serviceAccounts entries, identities and refs', async () => {
    const { target, edits } = await renameAt('m.yaml', 'ServiceAccount\nmetadata: {name: ca‸rt', 'cart-svc');
    assert.equal(target, 'cart 7:18-22');
    assert.deepEqual(edits, EVERY_PLACE);
  });

  it('from a principal: the name part of the value is what the editor offers to rename', async () => {
    const { target, edits } = await renameAt('p.yaml', 'ns/shop/sa/ca‸rt"', 'cart-svc');
    assert.equal(target, 'cart 7:55-59');
    assert.deepEqual(edits, EVERY_PLACE);
  });

  it('from a Linkerd identity: the account leads it', async () => {
    const { target, edits } = await renameAt('mtls.yaml', 'ca‸rt.shop', 'cart-svc');
    assert.equal(target, 'cart 5:17-21');
    assert.deepEqual(edits, EVERY_PLACE);
  });

  it('refuses the default account, an account no manifest declares, and a name that is none', async () => {
    const withDefault = { ...files, 'p.yaml': files['p.yaml'].replace('ns/other/sa/cart', 'ns/shop/sa/default') };
    const { workspace, file, offset } = open({ ...withDefault, 'p.yaml': withDefault['p.yaml'].replace('sa/default', 'sa/def‸ault') });
    const refused = await workspaceNavigation(workspace, workspaceAuthz(workspace)).renameTarget(workspace.sourceFile(file)!, offset);
    assert.deepEqual(refused, { refused: 'ServiceAccount shop/default is the one Kubernetes makes in every namespace: it cannot be renamed' });
    assert.match(String((await renameAt('p.yaml', 'cart, we‸b]', 'x')).target), /^no manifest of the workspace declares ServiceAccount shop\/web/);
    assert.match(String((await renameAt('p.yaml', 'ns/shop/sa/ca‸rt"', 'Cart')).edits), /is not a Kubernetes name/);
  });
});


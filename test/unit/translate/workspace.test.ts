import assert from 'node:assert/strict';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { runTranslateCli } from '../../../server/src/cli/translate';
import { translatePolicies, type Translation } from '../../../server/src/engine/translate';
import { linkerdReferences } from '../../../server/src/engine/translate/linkerd/references';
import type { MeshResources } from '../../../server/src/engine/translate/model';
import type { AccessRecord } from '../../../server/src/engine/traffic/accessRecord';
import { scratchDir } from '../../helpers/scratch';
import { contextOf, decideUnder, resourcesOf } from './harness';

/**
 * One file's policies translated with the rest of the workspace at hand: a Linkerd
 * AuthorizationPolicy grants access on the Server or route it targets, wherever that is defined,
 * and grants nothing while its target does not exist (mesh-semantics §2.4, §2.5, §2.7.3). Routes
 * attached to a Server decide which requests reach it (404 for the others, §2.5); authorizations
 * of other files are theirs to translate, not this file's. The Istio form is an ALLOW of the
 * Server's pods and port, with the MeshTLSAuthentication's identities as principals
 * `cluster.local/ns/<ns>/sa/<sa>` (§1.5.2, §2.2).
 */

const INVENTORY = `apiVersion: apps/v1
kind: Deployment
metadata: {name: web, namespace: shop}
spec:
  selector: {matchLabels: {app: web}}
  template:
    metadata: {labels: {app: web}}
    spec:
      serviceAccountName: web
      containers: [{name: web, image: web, ports: [{name: http, containerPort: 8080}]}]
`;

const SERVERS = `apiVersion: policy.linkerd.io/v1beta3
kind: Server
metadata: {name: web-http, namespace: shop}
spec:
  podSelector: {matchLabels: {app: web}}
  port: 8080
  proxyProtocol: HTTP/1
`;

const ROUTES = `apiVersion: policy.linkerd.io/v1beta3
kind: HTTPRoute
metadata: {name: web-api, namespace: shop}
spec:
  parentRefs: [{group: policy.linkerd.io, kind: Server, name: web-http}]
  rules:
  - matches: [{path: {type: PathPrefix, value: /api}}]
`;

const FRONTEND_AUTHN = `apiVersion: policy.linkerd.io/v1alpha1
kind: MeshTLSAuthentication
metadata: {name: frontend, namespace: shop}
spec:
  identities: [frontend.shop.serviceaccount.identity.linkerd.cluster.local]
`;

function authorization(name: string, target: string, authn: string): string {
  return `apiVersion: policy.linkerd.io/v1alpha1
kind: AuthorizationPolicy
metadata: {name: ${name}, namespace: shop}
spec:
  targetRef: ${target}
  requiredAuthenticationRefs:
  - {group: policy.linkerd.io, kind: MeshTLSAuthentication, name: ${authn}}
`;
}
const TO_SERVER = '{group: policy.linkerd.io, kind: Server, name: web-http}';
const TO_ROUTE = '{group: policy.linkerd.io, kind: HTTPRoute, name: web-api}';

/** The policy file translated: its policies and the MeshTLSAuthentication they require. */
const POLICY_FILE = `${authorization('web-from-frontend', TO_SERVER, 'frontend')}---\n${FRONTEND_AUTHN}`;

/** Another file granting `ops` on the same Server: not part of the policy file's translation. */
const OPS_FILE = `${authorization('web-from-ops', TO_SERVER, 'ops')}---
apiVersion: policy.linkerd.io/v1alpha1
kind: MeshTLSAuthentication
metadata: {name: ops, namespace: shop}
spec:
  identities: [cron.ops.serviceaccount.identity.linkerd.cluster.local]
`;

/** Files of a workspace, each read as `/ws/<name>`. */
function workspaceOf(files: Record<string, string>): MeshResources {
  return Object.entries(files).flatMap(([name, text]) => resourcesOf(text, `/ws/${name}`));
}

async function translateFile(file: string, files: Record<string, string>, withWorkspace = true): Promise<Translation> {
  const workspace = workspaceOf(files);
  const selected = workspace.filter((r) => r.file.path === `/ws/${file}`);
  const list = await translatePolicies(selected, 'istio', contextOf(INVENTORY), { path: '/ws/translated.yaml', ...(withWorkspace ? { workspace } : {}) });
  assert.equal(list.length, 1, 'one source mesh');
  return list[0]!;
}

const call = (from: string | null, method: string | undefined, path = '/'): AccessRecord => ({
  protocol: method ? 'http' : 'tcp',
  source: { principal: from },
  destination: { namespace: 'shop', workload: 'web', labels: { app: 'web' }, port: 8080 },
  ...(method ? { request: { method, path } } : {}),
});
const FRONTEND = 'cluster.local/ns/shop/sa/frontend';
const CRON = 'cluster.local/ns/ops/sa/cron';

describe('translating one file with the workspace at hand', () => {
  const cases: { name: string; file: string; files: Record<string, string>; calls: [string, AccessRecord, 'allow' | 'deny'][] }[] = [
    {
      name: 'a policy targeting a Server of another file',
      file: 'policy.yaml',
      files: { 'servers.yaml': SERVERS, 'policy.yaml': POLICY_FILE, 'ops.yaml': OPS_FILE },
      calls: [
        ['frontend, any request', call(FRONTEND, 'GET', '/anything'), 'allow'],
        ['frontend, a TCP connection', call(FRONTEND, undefined), 'allow'],
        ['ops: granted by another file, not by this one', call(CRON, 'GET', '/anything'), 'deny'],
        ['plaintext', call(null, 'GET', '/'), 'deny'],
      ],
    },
    {
      name: 'a policy targeting a route of another file, whose Server is in a third',
      file: 'policy.yaml',
      files: { 'servers.yaml': SERVERS, 'routes.yaml': ROUTES, 'policy.yaml': `${authorization('api-from-frontend', TO_ROUTE, 'frontend')}---\n${FRONTEND_AUTHN}` },
      calls: [
        ['frontend, on the route', call(FRONTEND, 'GET', '/api/items'), 'allow'],
        ['frontend, off the route (404)', call(FRONTEND, 'GET', '/admin'), 'deny'],
        ['plaintext, on the route', call(null, 'GET', '/api/items'), 'deny'],
      ],
    },
    {
      name: 'a policy targeting a Server of another file, which a route of a third file narrows',
      file: 'policy.yaml',
      files: { 'servers.yaml': SERVERS, 'routes.yaml': ROUTES, 'policy.yaml': POLICY_FILE },
      calls: [
        ['frontend, on the route', call(FRONTEND, 'GET', '/api'), 'allow'],
        ['frontend, off the route (404)', call(FRONTEND, 'GET', '/other'), 'deny'],
      ],
    },
  ];
  for (const c of cases) {
    it(`${c.name}: translated into Istio AuthorizationPolicies, decided as Linkerd decides`, async () => {
      const t = await translateFile(c.file, c.files);
      assert.ok(t.written.resources > 0, t.yaml);
      assert.match(t.yaml, /^kind: AuthorizationPolicy$/m);
      assert.ok(t.referenced > 0, 'resources of other files were read');
      assert.ok(t.check.probes.decided > 0 && t.check.probes.differing === 0, `${t.yaml}\n${JSON.stringify(t.check.probes.differ.slice(0, 3), null, 2)}`);
      const context = contextOf(INVENTORY);
      const decisions = decideUnder('istio', t.written.yaml, context, c.calls.map(([, record]) => record));
      assert.deepEqual(decisions.map((d, i) => `${c.calls[i]![0]}: ${d.verdict}`), c.calls.map(([name, , verdict]) => `${name}: ${verdict}`), t.yaml);
    });
  }

  it('reads the targets of the file\'s policies, the routes on those Servers and the authentications they require, not other files\' authorizations', () => {
    const workspace = workspaceOf({ 'servers.yaml': SERVERS, 'routes.yaml': ROUTES, 'policy.yaml': authorization('p', TO_SERVER, 'frontend'), 'authn.yaml': FRONTEND_AUTHN, 'ops.yaml': OPS_FILE });
    const selected = workspace.filter((r) => r.file.path === '/ws/policy.yaml');
    const read = linkerdReferences(selected, workspace).map((r) => `${r.file.path} ${r.resource.kind} ${r.resource.name}`);
    assert.deepEqual(read.sort(), ['/ws/authn.yaml MeshTLSAuthentication frontend', '/ws/routes.yaml HTTPRoute web-api', '/ws/servers.yaml Server web-http']);
  });

  const missing: { name: string; files: Record<string, string>; note: RegExp }[] = [
    { name: 'a Server', files: { 'policy.yaml': POLICY_FILE }, note: /its target Server shop\/web-http is defined in none of the files read: .*grants nothing/ },
    { name: 'a route', files: { 'servers.yaml': SERVERS, 'policy.yaml': `${authorization('api', TO_ROUTE, 'frontend')}---\n${FRONTEND_AUTHN}` }, note: /its target HTTPRoute shop\/web-api is defined in none of the files read/ },
    { name: 'a Server the admission webhook rejects (§2.7.2: an unknown proxyProtocol)', files: { 'servers.yaml': SERVERS.replace('HTTP/1', 'HTTP/3'), 'policy.yaml': POLICY_FILE }, note: /its target Server shop\/web-http would be rejected by the admission webhook, so it never exists/ },
    { name: 'a route\'s parent Server', files: { 'routes.yaml': ROUTES, 'policy.yaml': `${authorization('api', TO_ROUTE, 'frontend')}---\n${FRONTEND_AUTHN}` }, note: /HTTPRoute shop\/web-api's parent Server web-http is defined in none of the files read/ },
  ];
  for (const m of missing) {
    it(`a target truly missing (${m.name}): nothing is written, and a note on the policy says why`, async () => {
      const t = await translateFile('policy.yaml', m.files);
      assert.equal(t.written.resources, 0);
      const notes = t.notes.filter((n) => m.note.test(n.text));
      assert.equal(notes.length, 1, JSON.stringify(t.notes, null, 2));
      assert.match(notes[0]!.at.label, /^AuthorizationPolicy shop\/api|^AuthorizationPolicy shop\/web-from-frontend/);
      assert.match(t.yaml, /^# Nothing was written: no policy read could be carried; the notes below say why for each\.$/m);
    });
  }

  it('without the workspace, the same file names its missing target (the editor always passes the workspace)', async () => {
    const t = await translateFile('policy.yaml', { 'servers.yaml': SERVERS, 'policy.yaml': POLICY_FILE }, false);
    assert.equal(t.written.resources, 0);
    assert.ok(t.notes.some((n) => /Server shop\/web-http is defined in none of the files read/.test(n.text)));
  });
});

/**
 * Consul merges the sources of a wildcard-destination entry into the decision of every
 * destination it covers, after the destination's own (mesh-semantics §3.3, §3.5): with a `*` → `*`
 * deny elsewhere in the workspace, the callers api's own entry does not name are denied.
 */
function consulApp(name: string): string {
  return `apiVersion: apps/v1
kind: Deployment
metadata: {name: ${name}, namespace: default}
spec:
  selector: {matchLabels: {app: ${name}}}
  template:
    metadata: {labels: {app: ${name}}}
    spec: {serviceAccountName: ${name}, containers: [{name: c, image: x, ports: [{containerPort: 8080}]}]}
---
apiVersion: v1
kind: Service
metadata: {name: ${name}, namespace: default}
spec: {selector: {app: ${name}}, ports: [{port: 80, targetPort: 8080}]}
`;
}
const CONSUL_INVENTORY = ['web', 'api', 'admin'].map(consulApp).join('---\n');
const API_INTENTIONS = `apiVersion: consul.hashicorp.com/v1alpha1
kind: ServiceIntentions
metadata: {name: api, namespace: default}
spec:
  destination: {name: api}
  sources:
  - {name: web, action: allow}
`;
const DENY_ALL = `apiVersion: consul.hashicorp.com/v1alpha1
kind: ServiceIntentions
metadata: {name: deny-all, namespace: default}
spec:
  destination: {name: "*"}
  sources:
  - {name: "*", action: deny}
`;

describe('translating one Consul file with the wildcard entries of the workspace', () => {
  const toIstio = (from: string, to: string): AccessRecord => ({
    protocol: 'tcp', source: { principal: `cluster.local/ns/default/sa/${from}` },
    destination: { namespace: 'default', workload: to, labels: { app: to }, port: 8080 },
  });
  const consulCall = (from: string, to: string): AccessRecord => ({
    mesh: 'consul', protocol: 'tcp', source: { principal: `spiffe://consul/ns/default/dc/dc1/svc/${from}` }, destination: { service: to, namespace: 'default', port: 8080 },
  });
  const translateApi = async (withWorkspace: boolean) => {
    const workspace = workspaceOf({ 'api.yaml': API_INTENTIONS, 'deny-all.yaml': DENY_ALL });
    const selected = workspace.filter((r) => r.file.path === '/ws/api.yaml');
    const observed = [consulCall('admin', 'api'), consulCall('web', 'admin')].map((record) => ({ record, count: 3, samples: [], sourceBy: {}, destinationBy: {}, joined: 0 }));
    const [t] = await translatePolicies(selected, 'istio', contextOf(CONSUL_INVENTORY), { path: '/ws/t.yaml', observed, ...(withWorkspace ? { workspace } : {}) });
    return t!;
  };

  const cases: [string, AccessRecord, 'allow' | 'deny'][] = [
    ['web → api: its own source', toIstio('web', 'api'), 'allow'],
    ['admin → api: the wildcard entry\'s deny', toIstio('admin', 'api'), 'deny'],
    ['web → admin: the wildcard entry alone decides; not this file\'s to translate', toIstio('web', 'admin'), 'allow'],
  ];
  it('writes api\'s policy as Consul decides calls to api, and nothing for the wildcard entry itself', async () => {
    const t = await translateApi(true);
    assert.equal(t.referenced, 1);
    const decisions = decideUnder('istio', t.written.yaml, contextOf(CONSUL_INVENTORY), cases.map(([, r]) => r));
    assert.deepEqual(decisions.map((d, i) => `${cases[i]![0]}: ${d.verdict}`), cases.map(([name, , v]) => `${name}: ${v}`), t.yaml);
    assert.equal(t.check.probes.differing, 0, JSON.stringify(t.check.probes.differ.slice(0, 3), null, 2));
    // the observed call to admin is decided by deny-all alone: not compared
    assert.deepEqual([t.check.observed!.decided, t.check.observed!.differing], [3, 0], JSON.stringify(t.check.observed));
    assert.deepEqual(t.check.observed!.skipped.map((x) => [x.calls, /no translated policy governs their destination/.test(x.why)]), [[3, true]]);
  });

  it('without the workspace, the file alone: api\'s allow changes nothing under the default allow', async () => {
    const t = await translateApi(false);
    assert.equal(t.referenced, 0);
    const decisions = decideUnder('istio', t.written.yaml, contextOf(CONSUL_INVENTORY), [toIstio('admin', 'api')]);
    assert.equal(decisions[0]!.verdict, 'allow');
  });
});

describe('mesh-policy translate --workspace', () => {
  const dir = scratchDir('mesh-policy-translate-ws-');
  mkdirSync(join(dir, 'policy'));
  writeFileSync(join(dir, 'servers.yaml'), `${SERVERS}---\n${INVENTORY}`);
  writeFileSync(join(dir, 'policy', 'frontend.yaml'), POLICY_FILE);
  writeFileSync(join(dir, 'ops.yaml'), OPS_FILE);

  async function run(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
    const out: string[] = [];
    const err: string[] = [];
    const code = await runTranslateCli(args, { stdout: (t) => out.push(t), stderr: (t) => err.push(t), cwd: dir });
    return { code, stdout: out.join('\n'), stderr: err.join('\n') };
  }

  it('translates the file given, its targets read from the workspace', async () => {
    const { code, stdout, stderr } = await run(['--to', 'istio', 'policy/frontend.yaml', '--workspace', '.']);
    assert.equal(code, 0, stderr);
    assert.match(stdout, /^# Istio policies translated by mesh-policy translate from 2 Linkerd resources \(read with 1 resource of other files they refer to\): [1-9]\d* resources? written\.$/m);
    assert.match(stdout, /^kind: AuthorizationPolicy$/m);
    assert.match(stdout, /cluster\.local\/ns\/shop\/sa\/frontend/);
    assert.doesNotMatch(stdout, /cluster\.local\/ns\/ops\/sa\/cron/, 'ops.yaml is read, not translated');
  });

  it('without --workspace: nothing written, the policy\'s note, a hint, and exit code 1', async () => {
    const { code, stdout, stderr } = await run(['--to', 'istio', 'policy/frontend.yaml']);
    assert.equal(code, 1);
    assert.match(stdout, /policy\/frontend\.yaml:1 AuthorizationPolicy shop\/web-from-frontend: same decisions: its target Server shop\/web-http is defined in none of the files read/);
    assert.match(stderr, /^mesh-policy: some policies target resources of files not given: name the files or folders that define them with --workspace/m);
  });
});

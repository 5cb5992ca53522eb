import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { allowCall, createMeshTlsAuthentication, denyCall, narrowWildcard, shadowPolicy, trafficFixesAt } from '../../../server/src/engine/trafficFixes';
import type { AccessRecord } from '../../../server/src/engine/traffic/accessRecord';
import { apply, changes, find, loadExample, loadInline, rangeAt, type Loaded } from './harness';

/** Linkerd traffic fixes (mesh-semantics §2): applied, re-read and decided again. */

const id = (sa: string, ns = 'emojivoto') => `${sa}.${ns}.serviceaccount.identity.linkerd.cluster.local`;

let examples: Promise<Loaded> | undefined;
const example = () => (examples ??= loadExample('linkerd', ['policy', 'app']));

function only(l: Loaded, applied: ReturnType<typeof apply>, from: string, to: string, ...principals: string[]): void {
  const changed = changes(l, applied);
  assert.ok(changed.length > 0, 'some call changes');
  for (const [i, a, b] of changed) {
    assert.deepEqual([a, b], [from, to]);
    assert.ok(principals.includes(l.outcomes[i]!.shape.record.source?.principal ?? ''), String(l.outcomes[i]!.shape.record.source?.principal));
  }
}

describe('linkerd: the examples', () => {
  it('allow a refused identity: added to the MeshTLSAuthentication the route policy requires', async () => {
    const l = await example();
    const refused = find(l, (o) => o.decision.verdict === 'deny' && o.shape.record.source?.principal === id('default'));
    const fix = allowCall(l.context, refused).fixes[0]!;
    assert.match(fix.file, /authentications\.yaml$/);
    const applied = apply(l, fix);
    assert.ok(applied.after.includes(`    - vote-bot.emojivoto.serviceaccount.identity.linkerd.cluster.local\n    - ${id('default')}\n`), applied.after);
    only(l, applied, 'deny', 'allow', id('default'));
  });

  it('allow through identityRefs when the authentication names service accounts', async () => {
    const l = await example();
    const refused = find(l, (o) => o.decision.verdict === 'deny' && o.shape.record.source?.principal === id('prometheus', 'monitoring'));
    const applied = apply(l, allowCall(l.context, refused).fixes[0]!);
    assert.ok(applied.after.includes('      namespace: linkerd-viz\n    - kind: ServiceAccount\n      name: prometheus\n      namespace: monitoring\n  serviceAccounts:'), applied.after);
    only(l, applied, 'deny', 'allow', id('prometheus', 'monitoring'));
  });

  it('allow where no policy admits anyone: a new AuthorizationPolicy and MeshTLSAuthentication, appended', async () => {
    const l = await example();
    const refused = find(l, (o) => o.decision.verdict === 'deny' && o.decision.policy?.label === 'Server emojivoto/emoji-grpc');
    const fix = allowCall(l.context, refused).fixes[0]!;
    const applied = apply(l, fix);
    assert.ok(applied.after.startsWith(applied.before));
    assert.match(applied.after.slice(applied.before.length), /^---\napiVersion: policy.linkerd.io\/v1alpha1\nkind: MeshTLSAuthentication\n[\s\S]*---\napiVersion: policy.linkerd.io\/v1alpha1\nkind: AuthorizationPolicy\n[\s\S]*    kind: Server\n    name: emoji-grpc\n/);
    only(l, applied, 'deny', 'allow', id('web'));
  });

  it('a 404 (no route) and a default-policy decision are not fixed by authorizations', async () => {
    const l = await example();
    const noRoute = find(l, (o) => o.decision.status === 404);
    assert.match(allowCall(l.context, noRoute).notOffered[0]!, /no route/);
    const byDefault = find(l, (o) => o.decision.verdict === 'allow' && !o.decision.policy);
    const result = denyCall(l.context, byDefault);
    assert.deepEqual(result.fixes, []);
    assert.match(result.notOffered[0]!, /Linkerd has no deny rule/);
  });

  it('deny: Linkerd cannot; taking the identity out of the authentication does it', async () => {
    const l = await example();
    const admitted = find(l, (o) => o.decision.verdict === 'allow' && o.shape.record.source?.principal === id('vote-bot'));
    const result = denyCall(l.context, admitted);
    assert.match(result.notOffered[0]!, /no deny rule/);
    const applied = apply(l, result.fixes[0]!);
    assert.ok(!applied.after.includes(id('vote-bot')) && applied.after.includes(id('ingress-nginx', 'ingress-nginx')));
    only(l, applied, 'allow', 'deny', id('vote-bot'));
  });

  it('audit: the Server accessPolicy (not the pod annotation, which only covers ports without a Server)', async () => {
    const l = await example();
    const refused = find(l, (o) => o.decision.verdict === 'deny' && o.decision.policy?.label === 'Server emojivoto/emojivoto-prom');
    const result = shadowPolicy(l.context, refused.decision.policy!.file, refused.decision.policy!.range);
    const applied = apply(l, result.fixes[0]!);
    assert.ok(applied.after.includes('  proxyProtocol: HTTP/1\n  accessPolicy: audit\n'), applied.after);
    assert.equal(applied.verdicts[l.outcomes.indexOf(refused)], 'allow');
    for (const [, a, b] of changes(l, applied)) assert.deepEqual([a, b], ['deny', 'allow']);
  });

  it('create the MeshTLSAuthentication for the identities observed at the policy target', async () => {
    const l = await example();
    const file = l.workspace.sourceFiles.find((f) => f.path.endsWith('authorization-policies.yaml'))!;
    const result = createMeshTlsAuthentication(l.context, file.path, rangeAt(file.text, 'emoji-grpc-web'));
    const fix = result.fixes[0]!;
    // web, and a debug pod seen calling emoji in the example logs.
    assert.match(fix.title, /Create MeshTLSAuthentication emoji-grpc-web-clients for the 2 observed identities/);
    const applied = apply(l, fix);
    assert.ok(applied.after.includes('    name: emoji-grpc\n  requiredAuthenticationRefs:\n    - group: policy.linkerd.io\n      kind: MeshTLSAuthentication\n      name: emoji-grpc-web-clients\n'), applied.after);
    assert.ok(applied.after.endsWith(`---\napiVersion: policy.linkerd.io/v1alpha1\nkind: MeshTLSAuthentication\nmetadata:\n  name: emoji-grpc-web-clients\n  namespace: emojivoto\nspec:\n  identities:\n    - ${id('default', 'debug')}\n    - ${id('web')}\n`));
    only(l, applied, 'deny', 'allow', id('web'), id('default', 'debug'));
    // A policy that already names identities gets no new authentication.
    assert.deepEqual(createMeshTlsAuthentication(l.context, file.path, rangeAt(file.text, 'web-app-clients')).fixes, []);
    // trafficFixesAt offers it on the policy.
    assert.ok(trafficFixesAt({ workspace: l.workspace, file: file.path, range: rangeAt(file.text, 'emoji-grpc-web'), outcomes: l.outcomes, engine: l.context.engine }).some((f) => f.kind === 'create-authentication'));
  });
});

describe('linkerd: narrow identities "*"', () => {
  const policies = (identities: string) => `apiVersion: policy.linkerd.io/v1beta3
kind: Server
metadata: {name: web-http, namespace: emojivoto}
spec: {podSelector: {matchLabels: {app: web}}, port: 8080, proxyProtocol: HTTP/1}
---
apiVersion: policy.linkerd.io/v1alpha1
kind: AuthorizationPolicy
metadata: {name: web-clients, namespace: emojivoto}
spec:
  targetRef: {group: policy.linkerd.io, kind: Server, name: web-http}
  requiredAuthenticationRefs: [{group: policy.linkerd.io, kind: MeshTLSAuthentication, name: clients}]
---
apiVersion: policy.linkerd.io/v1alpha1
kind: MeshTLSAuthentication
metadata: {name: clients, namespace: emojivoto}
spec:
  identities: ${identities}  # who
`;
  const call = (principal: string): AccessRecord => ({
    mesh: 'linkerd', protocol: 'http', observed: 'allowed', source: { principal, ip: '10.42.0.9' },
    destination: { namespace: 'emojivoto', workload: 'web', labels: { app: 'web' }, port: 8080 }, request: { method: 'GET', path: '/' },
  });
  const cases: [string, string, string, string][] = [
    ['flow "*"', '["*"]', '"*"', `identities: ["${id('vote-bot')}", "${id('web')}"]  # who`],
    ['flow suffix, plain', '[a.example, "*.emojivoto.serviceaccount.identity.linkerd.cluster.local"]', '"*.emojivoto', `identities: [a.example, "${id('vote-bot')}", "${id('web')}"]  # who`],
  ];
  it('JSON authentication: allow adds the identity to its list; deny takes it out', () => {
    const yaml = policies('[]').split('---\n').slice(0, 2).join('---\n');
    const json = JSON.stringify({ apiVersion: 'policy.linkerd.io/v1alpha1', kind: 'MeshTLSAuthentication', metadata: { name: 'clients', namespace: 'emojivoto' }, spec: { identities: [id('web')] } }, null, 2);
    const l = loadInline({ '/ws/p.yaml': yaml, '/ws/clients.json': json }, [call(id('web')), { ...call(id('vote-bot')), observed: 'denied' }]);
    assert.deepEqual(l.outcomes.map((o) => o.decision.verdict), ['allow', 'deny']);
    const allow = allowCall(l.context, l.outcomes[1]!).fixes[0]!;
    assert.equal(allow.file, '/ws/clients.json');
    const allowed = apply(l, allow);
    assert.deepEqual(JSON.parse(allowed.after).spec.identities, [id('web'), id('vote-bot')]);
    assert.ok(allowed.after.includes(`      "${id('web')}",\n      "${id('vote-bot')}"\n`), allowed.after);
    assert.deepEqual(changes(l, allowed), [[1, 'deny', 'allow']]);
    const both = loadInline({ '/ws/p.yaml': yaml, '/ws/clients.json': allowed.after }, [call(id('web')), call(id('vote-bot'))]);
    const denied = apply(both, denyCall(both.context, both.outcomes[1]!).fixes[0]!);
    assert.equal(denied.after, json, 'taking the identity out restores the file byte for byte');
  });

  for (const [name, identities, at, expected] of cases) {
    it(name, () => {
      const text = policies(identities);
      const l = loadInline({ '/ws/p.yaml': text }, [call(id('web')), call(id('vote-bot')), call(id('vote-bot'))]);
      assert.deepEqual(l.outcomes.map((o) => o.decision.verdict), ['allow', 'allow', 'allow']);
      const fix = narrowWildcard(l.context, '/ws/p.yaml', rangeAt(text, at)).fixes[0]!;
      const applied = apply(l, fix);
      assert.ok(applied.after.includes(expected), applied.after);
      assert.deepEqual(changes(l, applied), []);
      const stranger = loadInline({ '/ws/p.yaml': applied.after }, [call(id('stranger'))]);
      assert.equal(stranger.outcomes[0]!.decision.verdict, 'deny');
    });
  }
});

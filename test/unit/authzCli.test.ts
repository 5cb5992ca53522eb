import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { runAuthzCli } from '../../server/src/cli/authz';
import { REPO_ROOT } from '../helpers/paths';

function run(args: string[]): { code: number; stdout: string; stderr: string } {
  let stdout = '';
  let stderr = '';
  const code = runAuthzCli(args, { stdout: (t) => { stdout += `${t}\n`; }, stderr: (t) => { stderr += `${t}\n`; }, cwd: REPO_ROOT });
  return { code, stdout, stderr };
}

/** The rows of a text table: the lines that start with the role, cells split on runs of 2+ spaces. */
function rows(text: string, roles: RegExp): string[][] {
  return text.split('\n').filter((l) => roles.test(l.trim().split(/\s{2,}/)[0] ?? '')).map((l) => l.trim().split(/\s{2,}/));
}

describe('mesh-policy authz on the examples', () => {
  it('examples/istio shop/frontend: CUSTOM, DENY, then the namespace-wide allow-nothing; the lower-case action is not applied (spec §1.2, §1.3, §1.9.1)', () => {
    const { code, stdout, stderr } = run(['shop/frontend', '--policies', 'examples/istio']);
    assert.equal(code, 0, stderr);
    assert.match(stdout, /^Istio: shop\/frontend$/m);
    assert.match(stdout, /^ {2}the sidecar \(injection enabled\)$/m);
    assert.deepEqual(rows(stdout, /^(CUSTOM|DENY|ALLOW|AUDIT)$/), [
      ['CUSTOM', 'AuthorizationPolicy shop/frontend-fraud-check', 'selector app=frontend', '1 rule', 'examples/istio/security/authz-ext-authz.yaml:8', 'provider fraud-check'],
      ['DENY', 'AuthorizationPolicy shop/frontend-deny-internal', 'selector app=frontend', '1 rule', 'examples/istio/security/authorization-policies.yaml:95'],
      ['ALLOW', 'AuthorizationPolicy shop/allow-nothing', 'namespace-wide', 'no rules: allow-nothing', 'examples/istio/security/authorization-policies.yaml:10'],
    ]);
    assert.match(stdout, /→ ALLOW policies apply: only what a rule allows gets through/);
    assert.match(stdout, /→ allow-nothing: AuthorizationPolicy shop\/allow-nothing has no rules/);
    assert.match(stdout, /note: AuthorizationPolicy shop\/frontend-from-gateway would attach but is not in effect: Istio refuses to store it \(action "allow" is not one of ALLOW, DENY, AUDIT, CUSTOM\)/);
  });

  it('examples/istio the gateway: its targetRefs policy (spec §1.2 item 2)', () => {
    const { code, stdout } = run(['shop/shop-gateway-istio', '--policies', 'examples/istio']);
    assert.equal(code, 0);
    assert.match(stdout, /^ {2}the Gateway API gateway shop\/shop-gateway$/m);
    assert.deepEqual(rows(stdout, /^ALLOW$/).map((r) => [r[1], r[2]]), [
      ['AuthorizationPolicy shop/allow-nothing', 'namespace-wide'],
      ['AuthorizationPolicy shop/gateway-access', 'targetRefs Gateway shop-gateway'],
    ]);
  });

  it('examples/istio shop/payments: the mTLS mode of its ports, set by its workload-level PeerAuthentication over the namespace\'s (spec §1.8)', () => {
    const { code, stdout, stderr } = run(['shop/payments', '--policies', 'examples/istio']);
    assert.equal(code, 0, stderr);
    // payments-metrics selects app=payments (workload level, which wins over the namespace-wide
    // STRICT default): STRICT, and PERMISSIVE on port 9102 through portLevelMtls.
    assert.deepEqual(rows(stdout, /^mTLS$/), [
      ['mTLS', 'STRICT (every other port)', 'PeerAuthentication shop/payments-metrics', 'workload selector app=payments', 'examples/istio/security/peer-authentication.yaml:17'],
      ['mTLS', 'port 9102: PERMISSIVE', 'PeerAuthentication shop/payments-metrics', 'workload selector app=payments', 'examples/istio/security/peer-authentication.yaml:17'],
    ]);
    assert.match(stdout, /→ mTLS STRICT on the other ports: a plaintext call is rejected before authorization/);
    assert.match(stdout, /→ mTLS PERMISSIVE on port 9102: plaintext calls are accepted with no peer identity/);
    // No RequestAuthentication reaches the sidecar (shopper-jwt targets the gateway).
    assert.deepEqual(rows(stdout, /^JWT$/), []);
    assert.doesNotMatch(stdout, /401/);
    // The frontend has no workload-level policy: the namespace's.
    const frontend = run(['shop/frontend', '--policies', 'examples/istio']).stdout;
    assert.deepEqual(rows(frontend, /^mTLS$/).map((r) => r.slice(0, 4)), [['mTLS', 'STRICT', 'PeerAuthentication shop/default', 'namespace-wide']]);
  });

  it('examples/istio the gateway, as JSON: its RequestAuthentication, the 401 consequence; PeerAuthentication does not govern a gateway (spec §1.8)', () => {
    const { code, stdout } = run(['shop/shop-gateway-istio', '--policies', 'examples/istio', '--format', 'json']);
    assert.equal(code, 0);
    const json = JSON.parse(stdout) as { listings: { sections: { authentication: { rows: { role: string; setting: string; resource: string; attachment: string; notes: string[]; at?: { file: string } }[]; summary: string[] } }[] }[] };
    const authn = json.listings[0]!.sections[0]!.authentication;
    assert.deepEqual(authn.rows.map((r) => [r.role, r.setting, r.resource, r.attachment, r.at?.file, r.notes]), [
      ['JWT', 'issuer https://auth.shop.example.com', 'RequestAuthentication shop/shopper-jwt', 'targetRefs Gateway shop-gateway', 'examples/istio/security/request-authentication.yaml', ['jwksUri https://auth.shop.example.com/.well-known/jwks.json', 'audiences shop-web']],
    ]);
    assert.equal(authn.summary.length, 3);
    assert.match(authn.summary[0]!, /PeerAuthentication does not govern a gateway's listener/);
    assert.match(authn.summary[1]!, /invalid token .* rejected with 401 before authorization, even where no AuthorizationPolicy applies/);
    assert.match(authn.summary[2]!, /without a token passes authentication, with no request identity/);
  });

  it('examples/istio-ambient notes/notes-api: the waypoint (targetRefs Service) before ztunnel (selector)', () => {
    const { code, stdout } = run(['notes/notes-api', '--policies', 'examples/istio-ambient']);
    assert.equal(code, 0);
    const titles = stdout.split('\n').filter((l) => /^ {2}\S/.test(l)).map((l) => l.trim());
    assert.deepEqual(titles, [
      'the waypoint notes/waypoint (namespace notes has istio.io/use-waypoint=waypoint), for calls through Service notes/notes-api',
      'ztunnel (ambient: istio.io/dataplane-mode=ambient)',
    ]);
    assert.deepEqual(rows(stdout, /^ALLOW$/).map((r) => [r[1], r[2]]), [
      ['AuthorizationPolicy notes/notes-api-callers', 'targetRefs Service notes-api'],
      ['AuthorizationPolicy notes/notes-api-waypoint-only', 'selector app=notes-api'],
    ]);
  });

  it('examples/istio-dry-run bank/ledger: dry-run policies marked, listed with the enforced ones', () => {
    const { code, stdout } = run(['bank/ledger', '--policies', 'examples/istio-dry-run', '--format', 'json']);
    assert.equal(code, 0);
    const json = JSON.parse(stdout) as { listings: { mesh: string; sections: { rows: { role: string; resource: string; notes: string[]; at: { file: string } }[]; summary: string[] }[] }[] };
    const rowsOf = json.listings[0]!.sections[0]!.rows;
    assert.deepEqual(rowsOf.map((r) => [r.role, r.resource, r.notes.includes('dry-run (not enforced)')]), [
      ['DENY', 'AuthorizationPolicy bank/ledger-deny-deletes', true],
      ['ALLOW', 'AuthorizationPolicy bank/ledger-allowlist-v2', true],
      ['ALLOW', 'AuthorizationPolicy bank/ledger-callers', false],
    ]);
    assert.equal(rowsOf[2]!.at.file, 'examples/istio-dry-run/security/ledger-callers.yaml');
    assert.deepEqual(json.listings[0]!.sections[0]!.summary, ['ALLOW policies apply: only what a rule allows gets through']);
  });

  it('examples/linkerd emojivoto/web port 8080: the Server, each HTTPRoute with the policy targeting it (spec §2.3, §2.5)', () => {
    const { code, stdout } = run(['emojivoto/web', '--port', '8080', '--policies', 'examples/linkerd']);
    assert.equal(code, 0);
    assert.match(stdout, /^ {2}port 8080: Server emojivoto\/web-http selects port 8080 of the pod \(podSelector app=web-svc, port http, proxyProtocol HTTP\/1\)$/m);
    assert.deepEqual(rows(stdout, /^(Server|loses|HTTPRoute|GRPCRoute|AuthorizationPolicy|ServerAuthorization|accessPolicy)$/).map((r) => [r[0], r[1], r[2], r[4]]), [
      ['Server', 'Server emojivoto/web-http', 'podSelector app=web-svc, port http', 'examples/linkerd/policy/servers.yaml:3'],
      // Routes in the order the policy controller sends them: of the same age, by name before
      // group (core/src/routes.rs GroupKindName), so web-app before web-probes.
      ['HTTPRoute', 'HTTPRoute emojivoto/web-app', 'parentRefs Server emojivoto/web-http', 'examples/linkerd/policy/web-routes.yaml:6'],
      ['AuthorizationPolicy', 'AuthorizationPolicy emojivoto/web-app-clients', 'targetRef HTTPRoute web-app', 'examples/linkerd/policy/authorization-policies.yaml:4'],
      ['HTTPRoute', 'HTTPRoute emojivoto/web-probes', 'parentRefs Server emojivoto/web-http', 'examples/linkerd/policy/web-routes.yaml:32'],
      ['AuthorizationPolicy', 'AuthorizationPolicy emojivoto/web-probes-kubelet', 'targetRef HTTPRoute web-probes', 'examples/linkerd/policy/authorization-policies.yaml:20'],
    ]);
    assert.match(stdout, /→ a request no HTTPRoute matches is refused \(HTTP 404\)/);
  });

  it('examples/linkerd emojivoto/voting: port 8080 has no admitted Server, so the namespace\'s default policy (spec §2.3 item 2, §2.7.2)', () => {
    const { code, stdout } = run(['emojivoto/voting', '--policies', 'examples/linkerd']);
    assert.equal(code, 0);
    assert.match(stdout, /^ {2}port 8080: no Server selects port 8080 of the pod: the default policy all-authenticated applies, from the namespace emojivoto annotation/m);
    assert.match(stdout, /note: Server emojivoto\/voting-grpc would select the pod but is rejected at admission: proxyProtocol "HTTP\/3"/);
    assert.match(stdout, /^ {2}port 8801: Server emojivoto\/emojivoto-prom selects port 8801/m);
  });

  it('examples/consul counting: its own intentions (precedence 9, ties by source name) before the wildcard deny-all (precedence 5); the CRD Consul refuses is a note (spec §3.3, §3.7)', () => {
    const { code, stdout } = run(['counting', '--policies', 'examples/consul']);
    assert.equal(code, 0);
    const titles = stdout.split('\n').filter((l) => /^ {2}intentions for/.test(l)).map((l) => l.trim());
    assert.deepEqual(titles, ['intentions for counting in namespace default, first matching source decides']);
    assert.deepEqual(rows(stdout, /^(allow|deny|L7)$/).map((r) => [r[0], r[1], r[3], r[4]]), [
      ['allow', 'service-intentions counting Sources[1] api', 'precedence 9', 'examples/consul/config/counting.hcl:13'],
      ['allow', 'service-intentions counting Sources[0] dashboard', 'precedence 9', 'examples/consul/config/counting.hcl:8'],
      ['deny', 'service-intentions * Sources[0] *', 'precedence 5', 'examples/consul/config/deny-all.json:5'],
    ]);
    // examples/README.md mistake 8: "Allow" is not an action, so the resource is refused
    assert.match(stdout, /note: ServiceIntentions counting-demo\/counting is not applied, Consul refuses to store it: sources\[0\] dashboard has action "Allow", not "allow" or "deny"/);
    assert.doesNotMatch(stdout, /service-intentions api is not applied/, 'an entry for another destination is not noted');
    assert.match(stdout, /→ a caller no source matches, or an L7 request no permission matches: the default intention policy \(allow, /);
  });

  it('examples/consul api: the config entry Consul refuses decides nothing, the CRD\'s L7 sources with their permission counts do', () => {
    const config = run(['api', '--policies', 'examples/consul/config']);
    assert.equal(config.code, 0);
    // examples/README.md mistake 9: a source with both Action and Permissions
    assert.deepEqual(rows(config.stdout, /^(allow|deny|L7)$/).map((r) => [r[0], r[1], r[3]]), [['deny', 'service-intentions * Sources[0] *', 'precedence 5']]);
    assert.match(config.stdout, /note: service-intentions api is not applied, Consul refuses to store it: Sources\[0\] dashboard sets both Action and Permissions/);
    const crds = run(['api', '--policies', 'examples/consul/crds']);
    assert.deepEqual(rows(crds.stdout, /^(allow|deny|L7)$/).map((r) => [r[0], r[1], r[3]]), [
      ['L7', 'ServiceIntentions counting-demo/api sources[0] dashboard', 'precedence 9, 4 permissions'],
      ['L7', 'ServiceIntentions counting-demo/api sources[1] ops-console', 'precedence 9, 2 permissions'],
      ['deny', 'ServiceIntentions counting-demo/deny-all sources[0] *', 'precedence 5'],
    ]);
  });

  it('the whole examples folder: a workload is listed for the meshes the inventory puts it in', () => {
    const meshes = (target: string) => run([target, '--policies', 'examples']).stdout.split('\n').filter((l) => /^(Istio|Linkerd|Consul): /.test(l));
    assert.deepEqual(meshes('shop/frontend'), ['Istio: shop/frontend']);
    assert.deepEqual(meshes('emojivoto/web'), ['Linkerd: emojivoto/web']);
    assert.deepEqual(meshes('counting'), ['Consul: counting']);
  });

  it('an unknown workload exits 2 and names the nearest', () => {
    const { code, stdout, stderr } = run(['shop/frontnd', '--policies', 'examples/istio']);
    assert.equal(code, 2);
    assert.equal(stdout, '');
    assert.match(stderr, /unknown workload "shop\/frontnd".*did you mean "shop\/frontend"\?/);
  });

  it('without an inventory, an Istio workload is unknown and the message says where workloads come from', () => {
    const { code, stderr } = run(['shop/frontend', '--policies', 'examples/istio/security']);
    assert.equal(code, 2);
    assert.match(stderr, /unknown workload "shop\/frontend".*the inventory has no workloads: give their manifests with --inventory/);
  });

  const usage: [string, string[], RegExp][] = [
    ['no workload', ['--policies', 'examples/istio'], /authz needs a workload/],
    ['no --policies', ['shop/cart'], /authz needs --policies/],
    ['two workloads', ['shop/cart', 'shop/frontend', '--policies', 'examples/istio'], /unexpected argument "shop\/frontend"/],
    ['a bad port', ['shop/cart', '--port', '0', '--policies', 'examples/istio'], /--port must be a port number/],
    ['a bad format', ['shop/cart', '--format', 'yaml', '--policies', 'examples/istio'], /--format must be text or json/],
    ['a bad target', ['a/b/c', '--policies', 'examples/istio'], /the workload must be/],
  ];
  for (const [name, args, message] of usage) {
    it(`usage error: ${name}`, () => {
      const { code, stderr } = run(args);
      assert.equal(code, 2);
      assert.match(stderr, message);
      assert.match(stderr, /Usage: mesh-policy authz/);
    });
  }
});

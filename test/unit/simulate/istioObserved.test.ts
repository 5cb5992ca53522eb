import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { defaultConfig } from '../../../server/src/engine/config/projectConfig';
import { Engine } from '../../../server/src/engine/engine';
import { buildInventory } from '../../../server/src/engine/inventory/inventory';
import { observedDifference } from '../../../server/src/engine/simulate';
import { istioSimulator } from '../../../server/src/engine/simulate/istio';
import { observedDenier } from '../../../server/src/engine/simulate/istio/observed';
import type { AccessRecord } from '../../../server/src/engine/traffic/accessRecord';
import { createReader } from '../../../server/src/engine/traffic/detect';
import type { ParsedLine } from '../../../server/src/engine/traffic/readerTypes';

// What a log names as the denier, and when it disagrees with the simulation. The names come from
// the proxies' sources: Envoy writes the matched RBAC policy, which istiod names
// ns[<ns>]-policy[<name>]-rule[<i>], or `none` (ALLOW policies, none matched); ztunnel writes
// `explicitly denied by: <ns>/<name>` or `allow policies exist, but none allowed` (src/proxy.rs),
// and istiod hands it PeerAuthentications as `istio_converted_static_strict` (STRICT mesh- or
// namespace-wide, root namespace) or `converted_peer_authentication_<name>`.

const engine = new Engine();

function compile(yaml: string) {
  const file = engine.read('/ws/policies.yaml', yaml);
  const resources = engine.prepare(file).recognition.resources.map((resource) => ({ file, resource }));
  return istioSimulator.compile({ resources, inventory: buildInventory([]), config: defaultConfig('/ws') });
}

const POLICIES = `apiVersion: security.istio.io/v1
kind: AuthorizationPolicy
metadata: {name: deny-get, namespace: foo}
spec: {action: DENY, rules: [{to: [{operation: {methods: [GET]}}]}]}
---
apiVersion: security.istio.io/v1
kind: AuthorizationPolicy
metadata: {name: allow-sleep, namespace: foo}
spec: {action: ALLOW, rules: [{from: [{source: {principals: [cluster.local/ns/foo/sa/sleep]}}]}]}
`;
const STRICT = `apiVersion: security.istio.io/v1
kind: PeerAuthentication
metadata: {name: default, namespace: istio-system}
spec: {mtls: {mode: STRICT}}
`;

const SLEEP = 'cluster.local/ns/foo/sa/sleep';
const OTHER = 'cluster.local/ns/foo/sa/other';

function call(method: string, principal: string | null, deniedBy: string | undefined): AccessRecord {
  return {
    mesh: 'istio', protocol: 'http',
    source: { principal },
    destination: { namespace: 'foo', workload: 'httpbin', port: 8080 },
    request: { method, path: '/x', host: 'httpbin.foo:8000' },
    response: { status: 403, ...(deniedBy ? { deniedBy } : {}) },
    observed: 'denied',
  };
}

interface Case { name: string; policies: string; record: AccessRecord; expect: RegExp | undefined }

const CASES: Case[] = [
  { name: 'the log and the simulation name the same DENY policy', policies: POLICIES, record: call('GET', SLEEP, 'foo/deny-get'), expect: undefined },
  { name: 'the log names another DENY policy', policies: POLICIES, record: call('GET', SLEEP, 'foo/deny-old'), expect: /^observed: denied by foo\/deny-old; simulated: denied by .*foo\/deny-get/ },
  { name: 'both: ALLOW policies apply and none matched', policies: POLICIES, record: call('POST', OTHER, 'none'), expect: undefined },
  { name: 'the log saw no ALLOW match, the simulation allows', policies: POLICIES, record: call('POST', SLEEP, 'none'), expect: /^observed: denied: ALLOW policies apply and none allowed the call; simulated: allowed/ },
  { name: 'the log names a DENY policy, the simulation finds no ALLOW match', policies: POLICIES, record: call('POST', OTHER, 'foo/deny-get'), expect: /^observed: denied by foo\/deny-get; simulated: denied: no ALLOW policy matches/ },
  { name: 'the log names a DENY policy, the simulation allows', policies: POLICIES, record: call('POST', SLEEP, 'foo/deny-post'), expect: /^observed: denied by foo\/deny-post; simulated: allowed/ },
  { name: 'a log that names no policy compares nothing', policies: POLICIES, record: call('POST', SLEEP, undefined), expect: undefined },
  { name: 'ztunnel\'s converted mesh-wide STRICT mode, the simulation rejects the plaintext call', policies: STRICT, record: call('POST', null, 'istio-system/istio_converted_static_strict'), expect: undefined },
  { name: 'ztunnel\'s converted STRICT mode, without a STRICT PeerAuthentication in the workspace', policies: POLICIES, record: call('POST', null, 'istio-system/istio_converted_static_strict'), expect: /^observed: denied by istio-system\/istio_converted_static_strict, a PeerAuthentication requiring mutual TLS .*; simulated: denied: no ALLOW policy/ },
];

describe('Istio: the denier a log names, against the simulation', () => {
  for (const c of CASES) {
    it(c.name, () => {
      const decision = compile(c.policies).decide(c.record);
      const difference = observedDifference(decision, c.record);
      if (c.expect === undefined) assert.equal(difference, undefined);
      else assert.match(difference ?? '(none)', c.expect);
    });
  }

  it('reads the names ztunnel and Envoy write', () => {
    assert.deepEqual(observedDenier('none'), { kind: 'no-allow' });
    assert.deepEqual(observedDenier('foo/deny-get'), { kind: 'policy', namespace: 'foo', name: 'deny-get' });
    assert.deepEqual(observedDenier('istio-system/istio_converted_static_strict'), { kind: 'peer-authentication' });
    assert.deepEqual(observedDenier('foo/converted_peer_authentication_httpbin'), { kind: 'peer-authentication', namespace: 'foo', name: 'httpbin' });
    assert.deepEqual(observedDenier('deny-get'), { kind: 'policy', name: 'deny-get' }, 'a name without a namespace (an access record written elsewhere)');
  });

  it('from log line to comparison: a waypoint\'s RBAC denial names its policy as a sidecar\'s does', () => {
    const line = '[2025-04-01T07:36:49.102Z] "POST /x HTTP/1.1" 403 - rbac_access_denied_matched_policy[ns[foo]-policy[deny-post]-rule[0]] - "-" 0 19 0 - "-" "curl/8.12.1" "5b0f1f8e-0c2a-4d3b-9e4f-1a2b3c4d5e6f" "httpbin:8000" "-" inbound-vip|8000|http|httpbin.foo.svc.cluster.local - 10.96.81.28:8000 10.244.1.16:37740 - default';
    const parsed = createReader('envoy-text').read(line) as ParsedLine;
    assert.equal(parsed.record.response?.deniedBy, 'foo/deny-post');
    const record = { ...parsed.record, source: { principal: SLEEP } };
    assert.match(observedDifference(compile(POLICIES).decide(record), record) ?? '(none)', /^observed: denied by foo\/deny-post; simulated: allowed/);
  });

  it('from log line to comparison: a ztunnel rejection naming another policy than the simulation', () => {
    const line = '2025-03-14T11:00:09.334611Z\terror\taccess\tconnection complete\tsrc.addr=10.244.2.41:60300 src.identity="spiffe://cluster.local/ns/foo/sa/sleep" dst.addr=10.244.1.14:15008 dst.hbone_addr=10.244.1.14:8080 dst.workload="httpbin-5d8f9c7b6-x2x9z" dst.namespace="foo" direction="inbound" error="connection closed due to policy rejection: explicitly denied by: foo/deny-sleep"';
    const parsed = createReader('ztunnel').read(line) as ParsedLine;
    assert.equal(parsed.record.response?.deniedBy, 'foo/deny-sleep');
    const decision = compile(POLICIES).decide(parsed.record);
    // (a TCP connection: the DENY rule's HTTP-only methods are dropped, so deny-get matches it)
    assert.match(observedDifference(decision, parsed.record) ?? '(none)', /^observed: denied by foo\/deny-sleep; simulated: denied by .*foo\/deny-get/);
  });
});

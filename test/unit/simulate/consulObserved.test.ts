import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { defaultConfig } from '../../../server/src/engine/config/projectConfig';
import { Engine } from '../../../server/src/engine/engine';
import { buildInventory } from '../../../server/src/engine/inventory/inventory';
import { observedDifference } from '../../../server/src/engine/simulate';
import { consulSimulator } from '../../../server/src/engine/simulate/consul';
import type { AccessRecord } from '../../../server/src/engine/traffic/accessRecord';
import { createReader } from '../../../server/src/engine/traffic/detect';
import type { ParsedLine } from '../../../server/src/engine/traffic/readerTypes';

// What a Consul proxy's RBAC denial says of the filter Consul built (hashicorp/consul
// agent/xds/rbac.go): with the default intention policy deny, an allow-list, whose denials log
// rbac_access_denied_matched_policy[none]; with allow, a deny-list whose denials name
// consul-intentions-layer4 (the L4 deny sources) or consul-intentions-layer7-<i> (an L7 source),
// <i> its position in the destination's RBAC list: sources in precedence order (ties by source
// name), without those rbac.go drops because they would only repeat the default (an L4 source
// with the default's action, an L7 source whose permissions all have it). Under allow, for api:
// admin (dropped), beta (dropped), ops (0), web (1, layer4), zeta (2).

const engine = new Engine();

function compile(defaultIntentionPolicy: 'allow' | 'deny') {
  const file = engine.read('/ws/api.hcl', 'Kind = "service-intentions"\nName = "api"\nSources = [\n  { Name = "web", Action = "deny" },\n  { Name = "admin", Action = "allow" },\n  { Name = "ops", Permissions = [ { Action = "deny", HTTP { PathPrefix = "/admin" } } ] },\n  { Name = "beta", Permissions = [ { Action = "allow", HTTP { PathPrefix = "/" } } ] },\n  { Name = "zeta", Permissions = [ { Action = "deny", HTTP { PathPrefix = "/logs" } } ] }\n]\n');
  const resources = engine.prepare(file).recognition.resources.map((resource) => ({ file, resource }));
  const config = defaultConfig('/ws');
  config.consul = { ...config.consul, defaultIntentionPolicy };
  return consulSimulator.compile({ resources, inventory: buildInventory([]), config });
}

function call(caller: string | null, details: string | undefined, path = '/x'): AccessRecord {
  return {
    mesh: 'consul', protocol: 'http',
    source: { principal: caller === null ? null : `spiffe://7d4e1f2a.consul/ns/default/dc/dc1/svc/${caller}` },
    destination: { service: 'api', namespace: 'default', port: 20000 },
    request: { method: 'GET', path },
    response: { status: 403, ...(details ? { details } : {}) },
    observed: 'denied',
  };
}

const NONE = 'rbac_access_denied_matched_policy[none]';
const LAYER4 = 'rbac_access_denied_matched_policy[consul-intentions-layer4]';
const LAYER7 = 'rbac_access_denied_matched_policy[consul-intentions-layer7-0]';
const LAYER7_1 = 'rbac_access_denied_matched_policy[consul-intentions-layer7-1]';
const LAYER7_2 = 'rbac_access_denied_matched_policy[consul-intentions-layer7-2]';

const CASES: Array<[string, 'allow' | 'deny', AccessRecord, RegExp | undefined]> = [
  ['default deny, no intention for the caller: the log\'s allow-list agrees', 'deny', call('billing', NONE), undefined],
  ['default deny, a deny intention: an allow-list denial too (deny intentions are left out of it)', 'deny', call('web', NONE), undefined],
  ['default allow, a deny intention: the log names the deny-list\'s L4 policy', 'allow', call('web', LAYER4), undefined],
  ['default allow, an L7 deny permission: the log names the deny-list\'s L7 policy', 'allow', call('ops', LAYER7, '/admin/x'), undefined],
  ['the workspace denies by its default deny; the log shows a deny-list: the deployed default is allow',
    'deny', call('billing', LAYER4), /^observed: denied by a deny intention of the proxy's RBAC deny-list \(consul-intentions-layer4\), which Consul builds when the default intention policy is allow; simulated: denied by the default intention policy \(deny/],
  ['the workspace denies by a deny intention under allow; the log shows an allow-list: the deployed default is deny',
    'allow', call('web', NONE), /^observed: denied by the proxy's RBAC allow-list \(\[none\]: no allow intention matched\), which Consul builds when the default intention policy is deny; simulated: denied by service-intentions api Sources\[0\] web/],
  ['the log shows a denial the simulation allows', 'allow', call('billing', NONE), /^observed: denied by the proxy's RBAC allow-list .*; simulated: allowed by the default intention policy \(allow/],
  ['default allow, the third retained source (the dropped L4 allow and L7 all-allow sources not counted): the log names layer7-2', 'allow', call('zeta', LAYER7_2, '/logs/x'), undefined],
  ['the log names another L7 policy than the simulated source\'s: the cluster\'s intentions differ',
    'allow', call('zeta', LAYER7_1, '/logs/x'), /^observed: denied by consul-intentions-layer7-1 of the proxy's RBAC deny-list; simulated: .*zeta.*, which Consul puts in consul-intentions-layer7-2 \(the index counts/],
  ['the log names an L7 policy where the workspace denies by an L4 deny intention',
    'allow', call('web', LAYER7, '/x'), /^observed: denied by consul-intentions-layer7-0 of the proxy's RBAC deny-list; simulated: denied by service-intentions api Sources\[0\] web.*, which Consul puts in consul-intentions-layer4$/],
  ['the log names the L4 policy where the workspace denies by an L7 permission',
    'allow', call('ops', LAYER4, '/admin/x'), /^observed: denied by consul-intentions-layer4 of the proxy's RBAC deny-list; simulated: .*, which Consul puts in consul-intentions-layer7-0$/],
  ['a denial whose log names no RBAC policy compares nothing', 'deny', call('admin', 'jwt_authn_access_denied{Jwt_is_missing}'), undefined],
  ['a log without details compares nothing', 'allow', call('web', undefined), undefined],
];

describe('Consul: the RBAC filter a denial\'s log shows, against the simulation (MPA4007)', () => {
  for (const [name, dflt, record, expected] of CASES) {
    it(name, () => {
      const difference = observedDifference(compile(dflt).decide(record), record);
      if (expected === undefined) assert.equal(difference, undefined);
      else assert.match(difference ?? '(none)', expected);
    });
  }

  it('a plaintext caller or a request refused before RBAC names no RBAC denier', () => {
    assert.equal(compile('deny').decide(call(null, undefined)).deniedBy, undefined);
    const rejected = compile('deny').decide({ ...call('billing', undefined), request: { method: 'GET', path: '/a%2Fb' } });
    if (rejected.status === 400) assert.equal(rejected.deniedBy, undefined);
    assert.deepEqual(compile('deny').decide(call('billing', undefined)).deniedBy, { kind: 'no-allow' });
    assert.deepEqual(compile('allow').decide(call('web', undefined)).deniedBy, { kind: 'policy', policyId: 'consul-intentions-layer4' });
    assert.deepEqual(compile('allow').decide(call('ops', undefined, '/admin/x')).deniedBy, { kind: 'policy', policyId: 'consul-intentions-layer7-0' });
    assert.deepEqual(compile('allow').decide(call('zeta', undefined, '/logs/x')).deniedBy, { kind: 'policy', policyId: 'consul-intentions-layer7-2' });
    const overTcp = compile('allow').decide({ ...call('zeta', undefined), protocol: 'tcp', request: undefined });
    if (overTcp.verdict === 'deny') assert.deepEqual(overTcp.deniedBy, { kind: 'policy', policyId: 'consul-intentions-layer4' });
  });

  it('from log line to comparison: a TCP connection the deployed deny-list closed, under a workspace default of deny', () => {
    const line = '{"authority":null,"bytes_received":0,"bytes_sent":0,"connection_termination_details":"rbac_access_denied_matched_policy[consul-intentions-layer4]","downstream_local_address":"10.5.0.40:20000","downstream_remote_address":"10.5.0.30:51111","duration":1,"method":null,"path":null,"protocol":null,"request_id":null,"requested_server_name":"api.default.dc1.internal.7d4e1f2a-0b1c-4d2e-9f30-a1b2c3d4e5f6.consul","response_code":0,"response_code_details":null,"response_flags":"-","route_name":null,"start_time":"2025-03-14T14:01:00.000Z","upstream_cluster":null,"upstream_host":null,"upstream_local_address":null,"upstream_service_time":null,"upstream_transport_failure_reason":null,"user_agent":null,"x_forwarded_for":null,"upstream_peer_uri_san":null,"downstream_peer_uri_san":"spiffe://7d4e1f2a-0b1c-4d2e-9f30-a1b2c3d4e5f6.consul/ns/default/dc/dc1/svc/billing"}';
    const parsed = createReader('consul-envoy-json').read(line) as ParsedLine;
    assert.equal(parsed.record.observed, 'denied');
    const decision = compile('deny').decide(parsed.record);
    assert.equal(decision.verdict, 'deny', decision.reason);
    assert.match(observedDifference(decision, parsed.record) ?? '(none)', /^observed: denied by a deny intention of the proxy's RBAC deny-list \(consul-intentions-layer4\)/);
  });
});

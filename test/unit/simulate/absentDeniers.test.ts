import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Engine } from '../../../server/src/engine/engine';
import { absentDeniers } from '../../../server/src/engine/simulate/absentDeniers';
import type { ShapeOutcome } from '../../../server/src/engine/simulate';
import type { AccessRecord } from '../../../server/src/engine/traffic/accessRecord';

// The deniers a log names: Istio's RBAC details (`ns[<ns>]-policy[<name>]-rule[<i>]`, kept as
// response.deniedBy `<ns>/<name>`; `none` names no policy) and Linkerd's policy events
// (`server.name`, kept as `server:<name>`; a default policy as `default:<policy>`).

const engine = new Engine();
const resources = engine.prepare(engine.read('/ws/p.yaml', `apiVersion: security.istio.io/v1
kind: AuthorizationPolicy
metadata: {name: deny-admin, namespace: bank}
spec: {action: DENY, rules: [{to: [{operation: {paths: ["/admin*"]}}]}]}
---
apiVersion: policy.linkerd.io/v1beta3
kind: Server
metadata: {name: web-http, namespace: emojivoto}
spec: {podSelector: {matchLabels: {app: web}}, port: http}
`)).recognition.resources.map((resource) => ({ resource }));

function outcome(mesh: 'istio' | 'linkerd', namespace: string, deniedBy: string, count = 1, observed: AccessRecord['observed'] = 'denied'): ShapeOutcome {
  const record: AccessRecord = { mesh, destination: { namespace, workload: 'x' }, response: { status: 403, deniedBy }, observed };
  return { shape: { record, count, samples: [{ file: '/ws/a.log', line: count }] }, decision: { verdict: 'deny', mesh, reason: '', trace: [] }, change: 'unchanged' } as unknown as ShapeOutcome;
}

const CASES: Array<[string, ShapeOutcome[], string[]]> = [
  ['an Istio policy the workspace has', [outcome('istio', 'bank', 'bank/deny-admin')], []],
  ['an Istio policy it lacks, calls summed, busiest first', [outcome('istio', 'bank', 'bank/old-deny', 2), outcome('istio', 'bank', 'bank/old-deny', 3), outcome('istio', 'shop', 'shop/x', 9)], ['istio AuthorizationPolicy shop/x 9 (line 9)', 'istio AuthorizationPolicy bank/old-deny 5 (line 3)']],
  ['`none` (ALLOW policies, none matched) names no policy', [outcome('istio', 'bank', 'none')], []],
  ['ztunnel\'s converted PeerAuthentication is no AuthorizationPolicy', [outcome('istio', 'bank', 'istio-system/istio_converted_static_strict')], []],
  ['a Linkerd Server the workspace has, in the destination\'s namespace', [outcome('linkerd', 'emojivoto', 'server:web-http')], []],
  ['a Linkerd Server of that name in another namespace does not count', [outcome('linkerd', 'shop', 'server:web-http')], ['linkerd Server shop/web-http 1 (line 1)']],
  ['a Linkerd default policy is no resource', [outcome('linkerd', 'emojivoto', 'default:deny')], []],
  ['a call observed allowed names no denier', [outcome('istio', 'bank', 'bank/old-deny', 1, 'allowed')], []],
];

describe('the deniers the logs name that the workspace lacks', () => {
  for (const [name, outcomes, expected] of CASES) {
    it(name, () => {
      assert.deepEqual(absentDeniers(outcomes, resources).map((d) => `${d.mesh} ${d.kind} ${d.namespace}/${d.name} ${d.calls} (line ${d.busiest.shape.samples[0]!.line})`), expected);
    });
  }
});

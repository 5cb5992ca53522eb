import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { admissionRefusalCodes, admissionRefusals } from '../../../server/src/engine/checks/admission';
import { runChecks, runChecksTracked } from '../../../server/src/engine/checks/runChecks';
import { allChecks } from '../../../server/src/engine/checks/registry';
import { Engine } from '../../../server/src/engine/engine';
import { WorkspaceModel } from '../../../server/src/engine/workspace';

// The checks marked `admissionRefusal` are the one list of what a mesh's admission webhook
// refuses: the lint reports their errors, the simulators leave the resources they refuse out.
const engine = new Engine();

/** An AuthorizationPolicy with one problem for each of several admission checks, and a warning. */
const POLICY = `apiVersion: security.istio.io/v1
kind: AuthorizationPolicy
metadata:
  name: p
  namespace: shop
  annotations: {istio.io/dry-run: "yes"}
spec:
  action: DENY
  rules:
  - from: []
  - from: [{source: {principals: [""]}}]
    to: [{operation: {ports: ["8000-9000"], paths: ["/users/{id}"]}}]
    when: [{key: request.method, values: [GET]}]
`;

describe('admission refusals: the lint checks the webhook refuses for', () => {
  it('are istiod\'s webhook checks (MPA1001–MPA1013), spec §1.9.2 and §1.9.4', () => {
    assert.deepEqual(admissionRefusalCodes(), ['MPA1001', 'MPA1002', 'MPA1003', 'MPA1004', 'MPA1005', 'MPA1006', 'MPA1007', 'MPA1008', 'MPA1009', 'MPA1010', 'MPA1011', 'MPA1012', 'MPA1013']);
  });

  it('are the errors the lint reports through those checks, warnings left out', () => {
    const file = engine.read('/ws/p.yaml', POLICY);
    const [resource] = engine.prepare(file).recognition.resources;
    const workspace = new WorkspaceModel();
    workspace.update(engine.prepare(file));
    const codes = new Set(admissionRefusalCodes());
    const lint = runChecks(file, resource!, workspace, allChecks()).filter((f) => codes.has(f.code));
    assert.ok(lint.some((f) => f.severity === 'warning'), 'from: [] is a warning (the webhook cannot tell it from no from)');
    const refusals = admissionRefusals(file, resource!);
    assert.deepEqual(refusals, lint.filter((f) => f.severity === 'error').map((f) => f.message));
    assert.equal(refusals.length, 5, refusals.join('\n'));
  });

  it('read the resource alone, never the workspace (so the simulators can ask without one)', () => {
    const file = engine.read('/ws/p.yaml', POLICY);
    const [resource] = engine.prepare(file).recognition.resources;
    const workspace = new WorkspaceModel();
    workspace.update(engine.prepare(file));
    const marked = allChecks().filter((c) => c.admissionRefusal);
    for (const tracked of runChecksTracked(file, resource!, workspace, undefined, marked)) {
      assert.equal(tracked.readsWorkspace, false, `${tracked.check.code} reads the workspace`);
    }
  });
});

import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { after, before, describe, it } from 'node:test';
import type { Diagnostic } from 'vscode-languageserver-protocol';
import { LspTestClient } from '../helpers/lspClient';
import { scratchDir } from '../helpers/scratch';
import { crdYaml, OLD_AUTHORIZATION_POLICY, OLD_ISTIO_AP_CRD } from '../helpers/crds';

/**
 * The cluster's CRDs in the editor (MPA1039): a policy is checked against the CRD of its kind as
 * soon as the CRD is in the workspace, and again whenever the CRD changes, without touching the
 * policy.
 */
describe('installed CRDs in the editor (LSP)', () => {
  let client: LspTestClient;
  const workspace = scratchDir('mesh-policy-crds-');
  const policyUri = pathToFileURL(join(workspace, 'policy.yaml')).href;
  const crdUri = pathToFileURL(join(workspace, 'cluster', 'crds.yaml')).href;
  const policy = 'apiVersion: security.istio.io/v1beta1\nkind: AuthorizationPolicy\nmetadata:\n  name: cart-readers\n  namespace: shop\nspec:\n  targetRefs:\n    - kind: Service\n      group: ""\n      name: cart\n';
  const crdFindings = (diagnostics: Diagnostic[]) => diagnostics.filter((d) => d.code === 'MPA1039').map((d) => `${d.range.start.line + 1}: ${d.message}`);

  before(async () => {
    writeFileSync(join(workspace, 'policy.yaml'), policy);
    client = new LspTestClient();
    await client.initialize(pathToFileURL(workspace).href, [{ uri: pathToFileURL(workspace).href, name: 'crds' }]);
    await client.open(policyUri, policy);
  });

  after(async () => {
    await client.shutdown();
  });

  it('nothing without a CRD; the unknown field once the CRD is opened; nothing once the CRD declares it', async () => {
    assert.deepEqual(crdFindings(await client.diagnosticsFor(policyUri)), []);
    await client.open(crdUri, OLD_ISTIO_AP_CRD);
    const withCrd = await client.diagnosticsFor(policyUri, { ready: (d) => crdFindings(d).length > 0 });
    assert.deepEqual(crdFindings(withCrd), ['7: unknown field "spec.targetRefs": the CustomResourceDefinition authorizationpolicies.security.istio.io (crds.yaml) does not declare it in v1beta1; kubectl apply refuses the resource (strict field validation), and a client that does not ask for it (Helm, Argo CD, Flux) has the API server drop the field, so the mesh never sees it']);
    const upgraded = structuredClone(OLD_AUTHORIZATION_POLICY) as { properties: { spec: { properties: Record<string, unknown> } } };
    upgraded.properties.spec.properties['targetRefs'] = { type: 'array', items: { type: 'object', 'x-kubernetes-preserve-unknown-fields': true } };
    await client.change(crdUri, crdYaml('security.istio.io', 'AuthorizationPolicy', 'authorizationpolicies', [{ name: 'v1beta1', schema: upgraded }]), 2);
    const afterUpgrade = await client.diagnosticsFor(policyUri, { ready: (d) => crdFindings(d).length === 0 });
    assert.deepEqual(crdFindings(afterUpgrade), []);
  });
});

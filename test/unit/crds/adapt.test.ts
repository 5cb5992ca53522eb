import assert from 'node:assert/strict';
import { join } from 'node:path';
import { readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import { generateChecked } from '../../../server/src/engine/audit';
import { defaultConfig } from '../../../server/src/engine/config/projectConfig';
import { inServedVersions, servedApiVersion } from '../../../server/src/engine/crds/adapt';
import { Engine } from '../../../server/src/engine/engine';
import { buildInventory } from '../../../server/src/engine/inventory/inventory';
import { readSource } from '../../../server/src/engine/source/read';
import { ingestTraffic } from '../../../server/src/engine/traffic/ingest';
import { collectPolicyFiles } from '../../../server/src/engine/workspaceFiles';
import { WorkspaceModel } from '../../../server/src/engine/workspace';
import { crdYaml, OLD_AUTHORIZATION_POLICY, OLD_ISTIO_AP_CRD } from '../../helpers/crds';
import { EXAMPLES, REPO_ROOT } from '../../helpers/paths';
import { scratchDir } from '../../helpers/scratch';

/** What we write (generated policies, translations, new policies of quick fixes) in versions the cluster's CRDs serve. */
const crdsOf = (text: string) => buildInventory([readSource('crds.yaml', text)]).crds;
const POLICY = '# the shop\'s cart\n---\n# allow the frontend\napiVersion: security.istio.io/v1\nkind: AuthorizationPolicy\nmetadata:\n  name: cart\n  namespace: shop\nspec:\n  selector:\n    matchLabels:\n      app: cart  # the pods\n  action: ALLOW\n  rules:\n  - from:\n    - source:\n        principals: ["cluster.local/ns/shop/sa/frontend"]\n';

describe('resources we write, in versions the cluster serves', () => {
  it('a version the CRD does not serve moves to one it serves, comments and layout kept', () => {
    const { yaml, notes } = inServedVersions(POLICY, crdsOf(OLD_ISTIO_AP_CRD));
    assert.equal(yaml, POLICY.replace('apiVersion: security.istio.io/v1\n', 'apiVersion: security.istio.io/v1beta1\n'));
    assert.deepEqual(notes, ['AuthorizationPolicy shop/cart: written as security.istio.io/v1beta1, which the cluster\'s CustomResourceDefinition serves (not security.istio.io/v1)']);
  });

  it('without CRDs, or with one that serves the version, nothing changes', () => {
    assert.deepEqual(inServedVersions(POLICY, undefined), { yaml: POLICY, notes: [] });
    const both = crdYaml('security.istio.io', 'AuthorizationPolicy', 'authorizationpolicies', [{ name: 'v1beta1', schema: OLD_AUTHORIZATION_POLICY }, { name: 'v1', schema: OLD_AUTHORIZATION_POLICY }]);
    assert.deepEqual(inServedVersions(POLICY, crdsOf(both)), { yaml: POLICY, notes: [] });
  });

  it('a field the served version does not declare, and a version nothing serves, are said', () => {
    const withTargetRefs = POLICY.replace('  selector:\n    matchLabels:\n      app: cart  # the pods\n', '  targetRefs:\n  - {kind: Service, group: "", name: cart}\n');
    assert.deepEqual(inServedVersions(withTargetRefs, crdsOf(OLD_ISTIO_AP_CRD)).notes.slice(1), ['AuthorizationPolicy shop/cart: the cluster\'s CustomResourceDefinition does not declare spec.targetRefs: the API server would drop it (or kubectl refuse the resource)']);
    const alpha = crdYaml('security.istio.io', 'AuthorizationPolicy', 'authorizationpolicies', [{ name: 'v1alpha1' }]);
    const none = inServedVersions(POLICY, crdsOf(alpha));
    assert.equal(none.yaml, POLICY);
    assert.deepEqual(none.notes, ['AuthorizationPolicy shop/cart: the cluster\'s CustomResourceDefinition does not serve security.istio.io/v1, and no version it serves takes the resource as written; the API server would refuse it']);
  });

  it('a new resource\'s version', () => {
    assert.equal(servedApiVersion('security.istio.io/v1', 'AuthorizationPolicy', crdsOf(OLD_ISTIO_AP_CRD)), 'security.istio.io/v1beta1');
    assert.equal(servedApiVersion('security.istio.io/v1', 'AuthorizationPolicy', undefined), 'security.istio.io/v1');
    assert.equal(servedApiVersion('security.istio.io/v1', 'PeerAuthentication', crdsOf(OLD_ISTIO_AP_CRD)), 'security.istio.io/v1');
  });

  it('generate on examples/istio with the cluster\'s CRD: policies the cluster takes, which decide as without it', async () => {
    const engine = new Engine();
    const workspaceOf = (crds?: string) => {
      const workspace = new WorkspaceModel(defaultConfig(REPO_ROOT));
      for (const path of collectPolicyFiles([join(EXAMPLES, 'istio', 'app')]).files) workspace.update(engine.prepare(engine.read(path, readFileSync(path, 'utf8'))));
      if (crds) workspace.update(engine.prepare(engine.read(join(EXAMPLES, 'istio', 'cluster-crds.yaml'), crds)));
      return workspace;
    };
    const plain = workspaceOf();
    const traffic = await ingestTraffic([join(EXAMPLES, 'istio', 'traffic')], { inventory: plain.inventory, config: plain.config, workers: 1 });
    const out = scratchDir('mesh-policy-crds-generate-');
    const without = await generateChecked('istio', traffic.shapes, plain, { inventory: plain.inventory, config: plain.config, path: join(out, 'a.yaml') });
    const withCrds = workspaceOf(OLD_ISTIO_AP_CRD);
    const served = await generateChecked('istio', traffic.shapes, withCrds, { inventory: withCrds.inventory, config: withCrds.config, path: join(out, 'b.yaml') });
    assert.ok(!/^apiVersion: security\.istio\.io\/v1$/m.test(served.generated.yaml), 'no v1 document');
    assert.match(served.generated.yaml, /^# Cluster CRDs: AuthorizationPolicy shop\/cart-least-privilege: written as security\.istio\.io\/v1beta1/m);
    assert.deepEqual(served.check, without.check, 'the self-check decides them as the same policies in v1');
  });
});

import assert from 'node:assert/strict';
import { cpSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { after, before, describe, it } from 'node:test';
import { LspTestClient, waitForLast } from '../helpers/lspClient';
import { REPO_ROOT } from '../helpers/paths';

/**
 * The editor's translation of one file, over a real LSP connection, on a copy of examples/linkerd:
 * its AuthorizationPolicies target Servers and HTTPRoutes of other files (policy/servers.yaml,
 * policy/web-routes.yaml) and require MeshTLSAuthentications of a third; a policy targets what
 * exists wherever it is written (mesh-semantics §2.4, §2.5), so translating that file alone
 * writes Istio policies for the targets found in the workspace.
 */
interface Status { state: string; policies: number }

describe('translating one file in the editor (LSP)', () => {
  let client: LspTestClient;
  let workspace: string;
  const statuses: Status[] = [];

  before(async () => {
    workspace = mkdtempSync(join(tmpdir(), 'mesh-policy-translate-'));
    cpSync(join(REPO_ROOT, 'examples', 'linkerd'), workspace, { recursive: true });
    client = new LspTestClient();
    client.connection.onNotification('meshPolicy/trafficStatus', (s: Status) => { statuses.push(s); });
    client.connection.onRequest('workspace/codeLens/refresh', () => null);
    await client.initialize(pathToFileURL(workspace).href, [{ uri: pathToFileURL(workspace).href, name: 'linkerd' }]);
    await waitForLast(statuses, (s) => s.state === 'ready' && s.policies > 0);
  });

  after(async () => {
    await client.shutdown();
    rmSync(workspace, { recursive: true, force: true });
  });

  it('reads the Servers, routes and authentications of the other files, and writes Istio policies for the file\'s own', async () => {
    const uri = pathToFileURL(join(workspace, 'policy', 'authorization-policies.yaml')).href;
    const translated = await client.request<{ yaml: string; resources: number; notes: number; differing: number } | null>('meshPolicy/translate', { to: 'istio', uri });
    assert.ok(translated && translated.resources > 0, translated?.yaml);
    assert.match(translated.yaml, /^# Istio policies translated by mesh-policy translate from 5 Linkerd resources \(read with \d+ resources of other files they refer to\): \d+ resources written\.$/m);
    assert.match(translated.yaml, /^kind: AuthorizationPolicy$/m);
    // web-app-clients targets the HTTPRoute web-app of policy/web-routes.yaml: carried, not "does not exist"
    assert.match(translated.yaml, /^# from policy\/servers\.yaml:\d+ Server emojivoto\/web-http$/m);
    assert.doesNotMatch(translated.yaml, /web-app-clients: same decisions: its target/);
    // a policy whose Server the admission webhook would reject says so
    assert.match(translated.yaml, /voting-grpc-web: same decisions: its target Server emojivoto\/voting-grpc would be rejected by the admission webhook/);
  });
});

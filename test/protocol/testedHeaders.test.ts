import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { after, before, describe, it } from 'node:test';
import { LspTestClient, waitForLast } from '../helpers/lspClient';

/**
 * Traffic is folded without the request headers no policy tests. When an edit makes a policy test
 * a header, the server reads the logs again, keeping that header; an edit that tests no new
 * header (here: one above the policy, which moves it) reads nothing again.
 */
interface Status { state: string; calls: number; shapes: number; newlyDenied: number }

const record = (tenant: string, count: number) => JSON.stringify({
  time: '2026-11-01T10:00:00Z', mesh: 'istio', protocol: 'http',
  source: { principal: 'cluster.local/ns/shop/sa/frontend', namespace: 'shop', serviceAccount: 'frontend', workload: 'frontend' },
  destination: { namespace: 'shop', workload: 'cart', service: 'cart', labels: { app: 'cart' }, port: 8080 },
  request: { method: 'GET', path: '/cart', headers: { 'x-tenant': tenant } },
  response: { status: 200 }, observed: 'allowed', count,
});

const policies = (firstName: string, when: string) => `apiVersion: security.istio.io/v1
kind: AuthorizationPolicy
metadata:
  name: ${firstName}
  namespace: other
spec:
  action: ALLOW
  rules:
  - from:
    - source:
        namespaces: ["other"]
---
apiVersion: security.istio.io/v1
kind: AuthorizationPolicy
metadata:
  name: cart
  namespace: shop
spec:
  selector:
    matchLabels:
      app: cart
  action: ALLOW
  rules:
  - from:
    - source:
        principals: ["cluster.local/ns/shop/sa/frontend"]
${when}`;

const TENANT_A_ONLY = `    when:
    - key: request.headers[x-tenant]
      values: ["a"]
`;

describe('headers tested by the policies (LSP)', () => {
  let client: LspTestClient;
  let workspace: string;
  const statuses: Status[] = [];

  const waitForStatus = (ready: (s: Status) => boolean, timeoutMs?: number): Promise<Status> => waitForLast(statuses, ready, timeoutMs);
  const loads = () => statuses.filter((s) => s.state === 'loading').length;

  before(async () => {
    workspace = mkdtempSync(join(tmpdir(), 'mesh-policy-headers-'));
    mkdirSync(join(workspace, 'traffic'));
    mkdirSync(join(workspace, 'policies'));
    writeFileSync(join(workspace, '.meshpolicy.yaml'), 'traffic: ["traffic/*.jsonl"]\ninventory: []\n');
    writeFileSync(join(workspace, 'traffic', 'calls.jsonl'), `${record('a', 5)}\n${record('b', 3)}\n`);
    writeFileSync(join(workspace, 'policies', 'cart.yaml'), policies('other', ''));
    client = new LspTestClient();
    client.connection.onNotification('meshPolicy/trafficStatus', (s: Status) => { statuses.push(s); });
    client.connection.onRequest('workspace/codeLens/refresh', () => null);
    await client.initialize(pathToFileURL(workspace).href, [{ uri: pathToFileURL(workspace).href, name: 'headers' }]);
    await waitForStatus((s) => s.state === 'ready' && s.calls === 8);
  });

  after(async () => {
    await client.shutdown();
    rmSync(workspace, { recursive: true, force: true });
  });

  it('folds the two tenants into one shape while no policy tests the header', () => {
    const ready = statuses[statuses.length - 1]!;
    assert.equal(ready.shapes, 1);
    assert.equal(ready.newlyDenied, 0);
  });

  it('reads the logs again when an edit tests the header, and decides by it', async () => {
    const uri = pathToFileURL(join(workspace, 'policies', 'cart.yaml')).href;
    await client.open(uri, policies('other', ''));
    await client.diagnosticsFor(uri, { version: 1 });
    const loadsBefore = loads();
    await client.change(uri, policies('other', TENANT_A_ONLY), 2);
    // (the status of the reload can come before the one of its simulation under load: wait for the settled one)
    const ready = await waitForStatus((s) => s.state === 'ready' && s.shapes === 2 && s.newlyDenied === 3);
    assert.equal(loads(), loadsBefore + 1, 'one reload');
    assert.equal(ready.calls, 8);
    assert.equal(ready.newlyDenied, 3, 'the tenant-b calls no longer match the ALLOW rule');
  });

  it('does not read the logs again for an edit above the policy that tests no new header', async () => {
    const uri = pathToFileURL(join(workspace, 'policies', 'cart.yaml')).href;
    const loadsBefore = loads();
    await client.change(uri, policies('other-renamed', TENANT_A_ONLY), 3);
    await client.diagnosticsFor(uri, { version: 3 });
    await new Promise((r) => setTimeout(r, 500));
    assert.equal(loads(), loadsBefore, 'no reload');
    const last = statuses[statuses.length - 1]!;
    assert.deepEqual([last.state, last.shapes, last.newlyDenied], ['ready', 2, 3]);
  });
});

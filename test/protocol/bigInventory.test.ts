import assert from 'node:assert/strict';
import { closeSync, mkdirSync, mkdtempSync, openSync, rmSync, writeFileSync, writeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { after, before, describe, it } from 'node:test';
import type { ProgressToken, WorkDoneProgressBegin, WorkDoneProgressEnd, WorkDoneProgressReport } from 'vscode-languageserver-protocol';
import { LspTestClient } from '../helpers/lspClient';

/**
 * A kubectl dump over the size limit is parsed for its inventory objects (js-yaml: seconds for
 * tens of MB, in one piece). The server keeps answering meanwhile: the parse runs in a worker
 * thread and its objects come back in small batches. Here the limit is lowered to 1 MB so that a
 * dump of a few MB takes that path; hovers are sent one after another while the workspace check
 * reads it, and none waits more than a small part of the time the check takes. On a server that
 * parses on its event loop, the hovers sent during the parse wait for all of it.
 */
const SETTINGS = { limits: { maxFileSizeMB: 1 } };
const POLICY = 'apiVersion: security.istio.io/v1\nkind: AuthorizationPolicy\nmetadata:\n  name: cart\n  namespace: shop\nspec:\n  action: ALLOW\n';

function writeDump(path: string, pods: number): void {
  const fd = openSync(path, 'w');
  writeSync(fd, 'apiVersion: v1\nitems:\n');
  for (let i = 0; i < pods; i++) {
    writeSync(fd, `- apiVersion: v1
  kind: Pod
  metadata:
    name: cart-${i}
    namespace: shop
    labels:
      app: cart
      pod-template-hash: "${i % 97}"
    ownerReferences:
    - apiVersion: apps/v1
      kind: ReplicaSet
      name: cart-${i % 97}
      controller: true
  spec:
    serviceAccountName: cart
    containers:
    - name: cart
      image: "registry.example/cart:1.${i % 9}"
      ports:
      - containerPort: 8080
        name: http
        protocol: TCP
  status:
    phase: Running
    podIP: "10.${(i >> 16) & 255}.${(i >> 8) & 255}.${i & 255}"
`);
  }
  writeSync(fd, 'kind: List\nmetadata:\n  resourceVersion: ""\n');
  closeSync(fd);
}

describe('a big inventory file loading (LSP)', () => {
  let client: LspTestClient;
  let workspace: string;
  const progress = new Map<ProgressToken, { title?: string; begun?: number; ended?: number }>();

  const waitFor = async <T>(what: string, find: () => T | undefined, timeoutMs = 60_000): Promise<T> => {
    for (const deadline = Date.now() + timeoutMs; Date.now() < deadline;) {
      const found = find();
      if (found !== undefined) return found;
      await new Promise((r) => setTimeout(r, 2));
    }
    throw new Error(`timed out waiting for ${what}`);
  };

  before(async () => {
    workspace = mkdtempSync(join(tmpdir(), 'mesh-policy-big-inventory-'));
    mkdirSync(join(workspace, 'cluster'));
    writeFileSync(join(workspace, 'policy.yaml'), POLICY);
    // about 8 MB
    writeDump(join(workspace, 'cluster', 'pods.yaml'), 18_000);
    client = new LspTestClient();
    const c = client.connection;
    c.onRequest('workspace/configuration', (params: { items: unknown[] }) => params.items.map(() => SETTINGS));
    c.onRequest('window/workDoneProgress/create', (params: { token: ProgressToken }) => {
      progress.set(params.token, {});
      return null;
    });
    c.onNotification('$/progress', (params: { token: ProgressToken; value: WorkDoneProgressBegin | WorkDoneProgressReport | WorkDoneProgressEnd }) => {
      const entry = progress.get(params.token) ?? {};
      if (params.value.kind === 'begin') Object.assign(entry, { title: params.value.title, begun: Date.now() });
      else if (params.value.kind === 'end') entry.ended = Date.now();
      progress.set(params.token, entry);
    });
    await c.sendRequest('initialize', {
      processId: process.pid,
      rootUri: pathToFileURL(workspace).href,
      workspaceFolders: [{ uri: pathToFileURL(workspace).href, name: 'w' }],
      initializationOptions: { settings: SETTINGS },
      capabilities: { window: { workDoneProgress: true }, workspace: { configuration: true } },
    });
    await c.sendNotification('initialized', {});
  });

  after(async () => {
    await client.shutdown();
    rmSync(workspace, { recursive: true, force: true });
  });

  it('answers hovers while the workspace check parses the dump', async () => {
    const check = await waitFor('the workspace check to begin', () => [...progress.values()].find((p) => p.title !== undefined && /checking the workspace/.test(p.title)));
    const uri = pathToFileURL(join(workspace, 'policy.yaml')).href;
    await client.open(uri, POLICY);
    const latencies: number[] = [];
    while (check.ended === undefined) {
      const sent = Date.now();
      const answer = await client.request<{ contents: { value: string } } | null>('textDocument/hover', { textDocument: { uri }, position: { line: 1, character: 2 } });
      latencies.push(Date.now() - sent);
      assert.match(answer?.contents.value ?? '', /AuthorizationPolicy/i);
    }
    const checkMs = check.ended - check.begun!;
    const longest = Math.max(...latencies);
    assert.ok(checkMs > 300, `the check took ${checkMs} ms: too short to tell`);
    assert.ok(longest < checkMs / 4, `a hover waited ${longest} ms during a check of ${checkMs} ms (${latencies.length} hovers)`);
    assert.ok(latencies.length >= 10, `${latencies.length} hovers answered during the check of ${checkMs} ms`);
  });
});

import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { after, before, describe, it } from 'node:test';
import { CancellationTokenSource, ResponseError } from 'vscode-jsonrpc/node';
import { LspTestClient } from '../helpers/lspClient';

/**
 * `$/cancelRequest` (LSP 3.17, "Cancellation Support"): a cancelled request still gets an answer,
 * and that answer is the error RequestCancelled (-32800) when the server stops its work. Here the
 * long request is `meshPolicy/generate` over 40,000 call shapes (2,000 callers with their own
 * service accounts, 20 paths each, to one workload): its self-check decides every shape again.
 */
const REQUEST_CANCELLED = -32800;
const CALLERS = 2_000;
const PATHS = 20;

const ip = (i: number): string => `10.9.${(i >> 8) & 255}.${i & 255}`;

function writeWorkspace(dir: string): void {
  const pods = [`- apiVersion: v1
  kind: Pod
  metadata: {name: httpbin-1, namespace: foo, labels: {app: httpbin}}
  spec: {serviceAccountName: httpbin, containers: [{name: httpbin, ports: [{containerPort: 8080}]}]}
  status: {podIP: 10.244.2.23}`];
  for (let i = 0; i < CALLERS; i++) {
    pods.push(`- apiVersion: v1
  kind: Pod
  metadata: {name: client-${i}, namespace: bar, labels: {app: client-${i}}}
  spec: {serviceAccountName: client-${i}, containers: [{name: client}]}
  status: {podIP: ${ip(i)}}`);
  }
  writeFileSync(join(dir, 'inventory.yaml'), `apiVersion: v1\nkind: List\nitems:\n${pods.join('\n')}\n`);
  const lines: string[] = [];
  for (let i = 0; i < CALLERS; i++) {
    for (let p = 0; p < PATHS; p++) {
      lines.push(`[2025-03-14T09:26:53.412Z] "GET /items/${p} HTTP/1.1" 200 - via_upstream - "-" 0 0 3 2 "-" "curl/8.5.0" "-" "httpbin.foo:8000" "10.244.2.23:8080" inbound|8080|| 127.0.0.6:51022 10.244.2.23:8080 ${ip(i)}:40318 outbound_.8000_._.httpbin.foo.svc.cluster.local default`);
    }
  }
  writeFileSync(join(dir, 'access.log'), `${lines.join('\n')}\n`);
}

describe('$/cancelRequest (LSP)', () => {
  let client: LspTestClient;
  let workspace: string;
  const statuses: { state: string; shapes: number }[] = [];

  /** Sends `method` and cancels it after `cancelAfterMs`; the answer (result or error) and when it came. */
  const sendAndCancel = async (method: string, params: unknown, cancelAfterMs: number): Promise<{ ms: number; result?: unknown; error?: ResponseError<unknown> }> => {
    const source = new CancellationTokenSource();
    const started = Date.now();
    const pending = client.connection.sendRequest(method, params, source.token);
    setTimeout(() => source.cancel(), cancelAfterMs);
    try {
      const result = await pending;
      return { ms: Date.now() - started, result };
    } catch (error) {
      return { ms: Date.now() - started, error: error as ResponseError<unknown> };
    }
  };

  before(async () => {
    workspace = mkdtempSync(join(tmpdir(), 'mesh-policy-cancel-request-'));
    writeWorkspace(workspace);
    client = new LspTestClient();
    client.connection.onNotification('meshPolicy/trafficStatus', (s: { state: string; shapes: number }) => { statuses.push(s); });
    await client.initialize(pathToFileURL(workspace).href, [{ uri: pathToFileURL(workspace).href, name: 'w' }]);
    for (const deadline = Date.now() + 120_000; !statuses.some((s) => s.state === 'ready'); await new Promise((r) => setTimeout(r, 20))) {
      if (Date.now() > deadline) throw new Error(`traffic not loaded: ${JSON.stringify(statuses)}`);
    }
  });

  after(async () => {
    await client.shutdown();
    rmSync(workspace, { recursive: true, force: true });
  });

  it('answers a cancelled generate with RequestCancelled well before the uncancelled run ends, and keeps answering', async () => {
    assert.equal(statuses.find((s) => s.state === 'ready')!.shapes, CALLERS * PATHS);
    const started = Date.now();
    const full = await client.request<{ resources: number; wouldDeny: number } | null>('meshPolicy/generate', { mesh: 'istio' });
    const fullMs = Date.now() - started;
    assert.equal(full?.resources, 1);
    assert.equal(full?.wouldDeny, 0);

    // cancelled during the self-check (the larger part of the run)
    const cancelled = await sendAndCancel('meshPolicy/generate', { mesh: 'istio' }, Math.round(fullMs * 0.4));
    assert.equal(cancelled.error?.code, REQUEST_CANCELLED, `answered ${JSON.stringify(cancelled.result ?? cancelled.error)} after ${cancelled.ms} ms`);
    assert.ok(cancelled.ms < fullMs * 0.75, `cancelled at ${Math.round(fullMs * 0.4)} ms, answered after ${cancelled.ms} ms; the whole run takes ${fullMs} ms`);

    const asked = Date.now();
    assert.equal((await client.request<{ state: string }>('meshPolicy/trafficStatus', {})).state, 'ready');
    assert.ok(Date.now() - asked < 2_000);
  });

  it('cancels one request of two: the other still gets its result', async () => {
    const first = client.request<{ resources: number } | null>('meshPolicy/generate', { mesh: 'istio' });
    const second = await sendAndCancel('meshPolicy/generate', { mesh: 'istio' }, 0);
    assert.equal(second.error?.code, REQUEST_CANCELLED);
    assert.equal((await first)?.resources, 1);
  });
});

import assert from 'node:assert/strict';
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import * as net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { after, before, describe, it } from 'node:test';
import type { CodeLens, Diagnostic, Hover, MarkupContent } from 'vscode-languageserver-protocol';
import { clickhouseSkipReason, envoyRowsFromLog, freePort, loadEnvoyTable, startClickHouse, type ClickHouseServer } from '../helpers/clickhouse';
import { LspTestClient } from '../helpers/lspClient';
import { REPO_ROOT } from '../helpers/paths';

/**
 * The editor cannot tell a ClickHouse table from log files (#11): examples/istio's logs are put
 * into a real clickhouse-server; one workspace reads them as files, another (without the files)
 * from the table its `.meshpolicy.yaml` configures. Both show the same status, diagnostics,
 * lenses and hovers. A server that is down gives a clear failure, not a hang; an untrusted
 * workspace never connects.
 */
const ISTIO = join(REPO_ROOT, 'examples', 'istio');
const LOGS = ['cart.log', 'frontend.log', 'gateway.log', 'payments.log'].map((f) => join(ISTIO, 'traffic', f));

interface Status { state: string; calls: number; newlyDenied: number; newlyAllowed: number; policies: number; message?: string }

/** A language server on a workspace; resolves once the traffic status is final (not loading). */
async function startEditor(workspace: string, options: { trusted?: boolean; until?: (s: Status) => boolean } = {}) {
  const client = new LspTestClient();
  const statuses: Status[] = [];
  const logs: string[] = [];
  client.connection.onNotification('meshPolicy/trafficStatus', (s: Status) => { statuses.push(s); });
  client.connection.onNotification('window/logMessage', (m: { message: string }) => { logs.push(m.message); });
  client.connection.onRequest('workspace/codeLens/refresh', () => null);
  const uri = pathToFileURL(workspace).href;
  await client.initialize(uri, [{ uri, name: 'w' }], { trusted: options.trusted ?? true });
  const until = options.until ?? ((s: Status) => s.state === 'ready' && s.policies > 0);
  for (const deadline = Date.now() + 60_000; !statuses.some(until);) {
    if (Date.now() > deadline) throw new Error(`no final status: ${JSON.stringify(statuses)}; log: ${logs.join(' | ')}`);
    await new Promise((r) => setTimeout(r, 25));
  }
  return { client, statuses, logs, final: statuses.find(until)! };
}

function clickhouseBlock(url: string, table: string): string {
  return `clickhouse:\n  url: ${url}\n  database: default\n  table: ${table}\n  timeoutSeconds: 5\n`;
}

describe('the editor reads the traffic from ClickHouse when .meshpolicy.yaml says so (LSP)', () => {
  const skip = clickhouseSkipReason();
  let server: ClickHouseServer | undefined;
  const dirs: string[] = [];
  const workspaceFrom = (withLogs: boolean, config?: string): string => {
    const dir = mkdtempSync(join(tmpdir(), 'mesh-policy-ch-editor-'));
    dirs.push(dir);
    cpSync(ISTIO, dir, { recursive: true, filter: (src) => withLogs || !src.startsWith(join(ISTIO, 'traffic')) });
    if (config) writeFileSync(join(dir, '.meshpolicy.yaml'), config);
    return dir;
  };

  before(async () => {
    if (skip) return;
    server = await startClickHouse();
    await loadEnvoyTable(server.url, 'istio_logs', LOGS.flatMap((f) => envoyRowsFromLog(f)));
  });
  after(async () => {
    await server?.stop();
    for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
  });

  it('shows the same status, diagnostics, lenses and hovers as the same logs read as files', { skip, timeout: 120_000 }, async () => {
    const files = await startEditor(workspaceFrom(true));
    const tableWorkspace = workspaceFrom(false, clickhouseBlock(server!.url, 'istio_logs'));
    const table = await startEditor(tableWorkspace);
    try {
      const pick = (s: Status) => ({ calls: s.calls, newlyDenied: s.newlyDenied, newlyAllowed: s.newlyAllowed, policies: s.policies });
      assert.equal(files.final.calls, 3549, 'mesh-policy simulate on examples/istio');
      assert.deepEqual(pick(table.final), pick(files.final));
      assert.ok(table.logs.some((l) => /reading the traffic from clickhouse:\/\/127\.0\.0\.1:\d+\/default\.istio_logs/.test(l)), table.logs.join('\n'));

      const policy = (workspace: string) => pathToFileURL(join(workspace, 'security', 'authorization-policies.yaml')).href;
      const filesWorkspace = dirs[dirs.length - 2]!;
      // Related information names sample lines: log files in one, table rows in the other.
      const comparable = (d: Diagnostic[]) => d.map((x) => ({ code: x.code, message: x.message, range: x.range, severity: x.severity, related: x.relatedInformation?.length ?? 0 }));
      const ready = (d: Diagnostic[]) => d.some((x) => x.code === 'MPA4001');
      const text = readFileSync(join(ISTIO, 'security', 'authorization-policies.yaml'), 'utf8');
      await files.client.open(policy(filesWorkspace), text);
      await table.client.open(policy(tableWorkspace), text);
      const fromFiles = comparable(await files.client.diagnosticsFor(policy(filesWorkspace), { ready, timeoutMs: 30_000 }));
      const fromTable = comparable(await table.client.diagnosticsFor(policy(tableWorkspace), { ready, timeoutMs: 30_000 }));
      assert.ok(fromFiles.some((d) => String(d.message).startsWith('AuthorizationPolicy shop/allow-nothing would deny 1,505 observed calls')));
      assert.deepEqual(fromTable, fromFiles);

      const lenses = async (editor: typeof files, workspace: string) => (await editor.client.request<CodeLens[]>('textDocument/codeLens', { textDocument: { uri: policy(workspace) } })).map((l) => ({ range: l.range, title: l.command?.title }));
      const filesLenses = await lenses(files, filesWorkspace);
      assert.ok(filesLenses.some((l) => l.title === '0 allowed · 1,653 denied · 1,505 changed'));
      assert.deepEqual(await lenses(table, tableWorkspace), filesLenses);

      // The hover of allow-nothing (line 10): its busiest calls, the same.
      const hover = async (editor: typeof files, workspace: string) => {
        const h = await editor.client.request<Hover>('textDocument/hover', { textDocument: { uri: policy(workspace) }, position: { line: 9, character: 12 } });
        return (h.contents as MarkupContent).value.replace(/\/tmp\/mesh-policy-ch-editor-\w+/g, '<ws>').replace(/%2Ftmp%2Fmesh-policy-ch-editor-\w+/g, '<ws>');
      };
      const filesHover = await hover(files, filesWorkspace);
      assert.match(filesHover, /1,653 denied/);
      assert.equal(await hover(table, tableWorkspace), filesHover);
    } finally {
      await files.client.shutdown();
      await table.client.shutdown();
    }
  });

  it('says clearly when the server is down, without hanging; an untrusted workspace never connects', { skip, timeout: 120_000 }, async () => {
    // A port where something accepts and drops every connection: counts the attempts.
    let connections = 0;
    const dropper = net.createServer((socket) => { connections++; socket.destroy(); });
    await new Promise<void>((resolve) => dropper.listen(0, '127.0.0.1', resolve));
    const dropping = `http://127.0.0.1:${(dropper.address() as net.AddressInfo).port}`;
    try {
      const untrusted = await startEditor(workspaceFrom(false, clickhouseBlock(dropping, 'istio_logs')), { trusted: false, until: (s) => s.state === 'off' });
      await untrusted.client.shutdown();
      assert.equal(connections, 0, 'an untrusted workspace never connects');

      const started = Date.now();
      const down = await startEditor(workspaceFrom(false, clickhouseBlock(dropping, 'istio_logs')), { until: (s) => s.state === 'failed' });
      await down.client.shutdown();
      assert.ok(connections > 0, 'the trusted one tried');
      assert.ok(Date.now() - started < 30_000);
      assert.match(down.final.message ?? '', /cannot reach ClickHouse at http:\/\/127\.0\.0\.1:\d+ \(ECONNRESET\)|ClickHouse at http:\/\/127\.0\.0\.1:\d+/);
      assert.ok(down.logs.some((l) => /could not read the access logs: .*ClickHouse/.test(l)), down.logs.join('\n'));

      // Nothing listening at all.
      const closed = `http://127.0.0.1:${await freePort()}`;
      const refused = await startEditor(workspaceFrom(false, clickhouseBlock(closed, 'istio_logs')), { until: (s) => s.state === 'failed' });
      await refused.client.shutdown();
      assert.match(refused.final.message ?? '', /cannot reach ClickHouse at http:\/\/127\.0\.0\.1:\d+ \(ECONNREFUSED\): is the server running/);
    } finally {
      dropper.close();
    }
  });
});

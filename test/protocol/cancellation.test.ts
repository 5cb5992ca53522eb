import assert from 'node:assert/strict';
import { closeSync, mkdirSync, mkdtempSync, openSync, readFileSync, rmSync, writeFileSync, writeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { after, before, describe, it } from 'node:test';
import type { ProgressToken, WorkDoneProgressBegin, WorkDoneProgressEnd, WorkDoneProgressReport } from 'vscode-languageserver-protocol';
import { LspTestClient } from '../helpers/lspClient';
import { FIXTURES } from '../helpers/paths';

/**
 * The two long jobs of the server, the first check of every policy file in the workspace and the
 * reading of the access logs, show work-done progress that the user can cancel
 * (`window/workDoneProgress/cancel`, what VS Code sends for the progress notification's Cancel).
 * A cancelled job ends its progress promptly, says so in the log, and the server keeps answering.
 */
const FILES = 3_000;

describe('cancelling the workspace check and the traffic load (LSP)', () => {
  let client: LspTestClient;
  let workspace: string;
  const progress = new Map<ProgressToken, { title?: string; begun: number; ended?: number; reports: number }>();
  const logs: string[] = [];
  const statuses: { state: string; message?: string }[] = [];
  let published = 0;

  const waitFor = async <T>(what: string, find: () => T | undefined, timeoutMs = 60_000): Promise<T> => {
    for (const deadline = Date.now() + timeoutMs; Date.now() < deadline;) {
      const found = find();
      if (found !== undefined) return found;
      await new Promise((r) => setTimeout(r, 5));
    }
    throw new Error(`timed out waiting for ${what}; progress: ${JSON.stringify([...progress.values()])}; log: ${logs.slice(-5).join(' | ')}`);
  };
  /** Cancels the progress titled `title` once it begins; resolves when it has ended (asserting: within 2 s). */
  const cancelProgress = async (title: RegExp): Promise<void> => {
    const token = await waitFor(`${title} to begin`, () => tokenTitled(title));
    await client.connection.sendNotification('window/workDoneProgress/cancel', { token });
    const cancelledAt = Date.now();
    const ended = await waitFor(`${title} to end`, () => progress.get(token)!.ended);
    assert.ok(ended - cancelledAt < 2_000, `ended ${ended - cancelledAt} ms after the cancel`);
  };
  const tokenTitled = (title: RegExp) => [...progress.entries()].find(([, p]) => p.title !== undefined && title.test(p.title))?.[0];

  before(async () => {
    workspace = mkdtempSync(join(tmpdir(), 'mesh-policy-cancel-'));
    mkdirSync(join(workspace, 'policies'));
    // Every file has a schema error, so every checked file publishes a diagnostic.
    for (let i = 0; i < FILES; i++) {
      writeFileSync(join(workspace, 'policies', `p${i}.yaml`), `apiVersion: security.istio.io/v1\nkind: AuthorizationPolicy\nmetadata: {name: p${i}, namespace: shop}\nspec: {action: allow}\n`);
    }
    // ~60 MB of Envoy access log: seconds of reading.
    const line = `${readFileSync(join(FIXTURES, 'traffic', 'formats', 'istio-text.log'), 'utf8').split('\n')[0]!}\n`.repeat(2_000);
    const fd = openSync(join(workspace, 'big.log'), 'w');
    for (let i = 0; i < 100; i++) writeSync(fd, line);
    closeSync(fd);

    client = new LspTestClient();
    const c = client.connection;
    c.onRequest('window/workDoneProgress/create', (params: { token: ProgressToken }) => {
      progress.set(params.token, { begun: 0, reports: 0 });
      return null;
    });
    c.onNotification('$/progress', (params: { token: ProgressToken; value: WorkDoneProgressBegin | WorkDoneProgressReport | WorkDoneProgressEnd }) => {
      const entry = progress.get(params.token) ?? { begun: 0, reports: 0 };
      if (params.value.kind === 'begin') Object.assign(entry, { title: params.value.title, begun: Date.now() });
      else if (params.value.kind === 'report') entry.reports++;
      else entry.ended = Date.now();
      progress.set(params.token, entry);
    });
    c.onNotification('window/logMessage', (m: { message: string }) => { logs.push(m.message); });
    c.onNotification('meshPolicy/trafficStatus', (s: { state: string; message?: string }) => { statuses.push(s); });
    c.onNotification('textDocument/publishDiagnostics', () => { published++; });
    await c.sendRequest('initialize', {
      processId: process.pid,
      rootUri: pathToFileURL(workspace).href,
      workspaceFolders: [{ uri: pathToFileURL(workspace).href, name: 'w' }],
      capabilities: { window: { workDoneProgress: true }, workspace: { configuration: true } },
    });
    await c.sendNotification('initialized', {});
  });

  after(async () => {
    await client.shutdown();
    rmSync(workspace, { recursive: true, force: true });
  });

  it('stops the workspace check, keeps what it read, then reads the traffic', async () => {
    await cancelProgress(/checking the workspace/);
    const said = await waitFor('the log line', () => logs.find((l) => /checking the workspace was cancelled after \d+ of 3000 files/.test(l)));
    const checked = Number(/after (\d+) of/.exec(said)![1]);
    assert.ok(checked < FILES, said);
    // What was read was checked (diagnostics for those files), the rest was not.
    await waitFor('the diagnostics of the files read', () => (published >= checked ? true : undefined), 20_000);
    assert.ok(published < FILES, `${published} files published`);
  });

  it('stops reading the access logs, says so in the status, and keeps answering requests', async () => {
    await cancelProgress(/reading access logs/);
    await waitFor('the log line', () => logs.find((l) => /reading access logs was cancelled/.test(l)));
    const status = await waitFor('the status', () => statuses.find((s) => s.message === 'cancelled'));
    assert.equal(status.state, 'empty', 'nothing loaded before: no traffic');
    const started = Date.now();
    const answer = await client.request<{ state: string }>('meshPolicy/trafficStatus', {});
    assert.equal(answer.state, 'empty');
    assert.ok(Date.now() - started < 2_000);
  });
});

import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { cpSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { after, before, describe, it } from 'node:test';
import type { CodeLens, PublishDiagnosticsParams } from 'vscode-languageserver-protocol';
import { LspTestClient, waitForLast } from '../helpers/lspClient';
import { REPO_ROOT } from '../helpers/paths';

/**
 * After the traffic is loaded, the server runs its edit path on a changed copy of an open policy
 * file (`allow-nothing` renamed `allow-nothingr`) and then on the file's own text. The user must
 * see nothing of it: no publish, no status with other totals, the same lenses, and edits after it
 * answered as without it. Expected counts are those of examples/istio (see traffic.test.ts).
 */
interface Status { state: string; calls: number; newlyDenied: number }

describe('the edit rehearsal after a load (LSP)', () => {
  let client: LspTestClient;
  let workspace: string;
  let policyUri: string;
  let policyText: string;
  const statuses: Status[] = [];
  const logs: string[] = [];
  let rehearsed: RegExpExecArray | undefined;
  const policyPublishes = (): PublishDiagnosticsParams[] => client.published.filter((p) => p.uri === policyUri);
  const denyMessage = (p: PublishDiagnosticsParams): string | undefined => p.diagnostics.map((d) => String(d.message)).find((m) => m.includes('would deny 1,505 observed calls'));

  before(async () => {
    workspace = mkdtempSync(join(tmpdir(), 'mesh-policy-rehearsal-'));
    cpSync(join(REPO_ROOT, 'examples', 'istio'), workspace, { recursive: true });
    const git = (...args: string[]) => execFileSync('git', ['-c', 'user.name=t', '-c', 'user.email=t@example.com', ...args], { cwd: workspace, stdio: 'ignore' });
    git('init', '-q');
    git('add', '.');
    git('commit', '-q', '-m', 'policies');
    const policyPath = join(workspace, 'security', 'authorization-policies.yaml');
    policyUri = pathToFileURL(policyPath).href;
    policyText = readFileSync(policyPath, 'utf8');
    client = new LspTestClient();
    client.connection.onNotification('meshPolicy/trafficStatus', (s: Status) => { statuses.push(s); });
    client.connection.onNotification('window/logMessage', (m: { message: string }) => { logs.push(m.message); });
    client.connection.onRequest('workspace/codeLens/refresh', () => null);
    await client.initialize(pathToFileURL(workspace).href, [{ uri: pathToFileURL(workspace).href, name: 'istio' }]);
    await client.open(policyUri, policyText);
    await waitForLast(statuses, (s) => s.state === 'ready' && s.calls === 3549, 60_000);
    const deadline = Date.now() + 60_000;
    while (!rehearsed && Date.now() < deadline) {
      rehearsed = logs.map((m) => /ran the edit path (\d+) times ahead of the first edit/.exec(m)).find((m) => m !== null) ?? undefined;
      await new Promise((r) => setTimeout(r, 50));
    }
    await new Promise((r) => setTimeout(r, 300));
  });

  after(async () => {
    await client.shutdown();
    rmSync(workspace, { recursive: true, force: true });
  });

  it('runs after the load, and says so in the log', () => {
    assert.ok(rehearsed, logs.join('\n'));
    assert.equal(rehearsed[1], '4');
  });

  it('publishes nothing of the changed copy, and nothing again after the traffic findings', () => {
    const publishes = policyPublishes();
    assert.ok(publishes.every((p) => p.diagnostics.every((d) => !String(d.message).includes('allow-nothingr'))), 'the renamed copy never reaches the editor');
    const firstWithTraffic = publishes.findIndex((p) => denyMessage(p) !== undefined);
    assert.ok(firstWithTraffic >= 0, 'the traffic findings were published');
    assert.equal(publishes.length - 1, firstWithTraffic, 'no publish after them');
    assert.match(denyMessage(publishes[firstWithTraffic]!)!, /^AuthorizationPolicy shop\/allow-nothing would deny/);
  });

  it('sends no status with other totals', () => {
    const afterReady = statuses.slice(statuses.findIndex((s) => s.state === 'ready' && s.newlyDenied > 0));
    assert.deepEqual([...new Set(afterReady.map((s) => `${s.state} ${s.calls} ${s.newlyDenied}`))], ['ready 3549 1505']);
  });

  it('leaves the lenses of the file as the load made them', async () => {
    const lenses = await client.request<CodeLens[]>('textDocument/codeLens', { textDocument: { uri: policyUri } });
    const titles = lenses.map((l) => l.command?.title ?? '');
    assert.ok(titles.some((t) => t.startsWith('0 allowed · 1,653 denied · 1,505 changed')), titles.join('\n'));
    assert.ok(titles.some((t) => t.startsWith('778 allowed · 0 denied · 0 changed')), titles.join('\n'));
  });

  it('answers edits after it as the text says', async () => {
    const published = policyPublishes().at(-1)!.diagnostics;
    await client.change(policyUri, policyText.replace('name: allow-nothing', 'name: allow-none'), 2);
    const renamed = await client.diagnosticsFor(policyUri, { version: 2, ready: (d) => d.some((x) => String(x.message).includes('allow-none would deny 1,505')), timeoutMs: 30_000 });
    assert.ok(renamed.every((d) => !String(d.message).includes('shop/allow-nothing ')));
    await client.change(policyUri, policyText, 3);
    const back = await client.diagnosticsFor(policyUri, { version: 3, ready: (d) => d.some((x) => String(x.message).includes('allow-nothing would deny 1,505')), timeoutMs: 30_000 });
    assert.deepEqual(back, published);
  });
});

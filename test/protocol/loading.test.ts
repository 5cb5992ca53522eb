import assert from 'node:assert/strict';
import { cpSync, createWriteStream, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { createGzip } from 'node:zlib';
import { after, before, describe, it } from 'node:test';
import type { CompletionItem, Hover } from 'vscode-languageserver-protocol';
import { LspTestClient } from '../helpers/lspClient';
import { REPO_ROOT } from '../helpers/paths';

/**
 * Issue 5: "the server stays responsive while traffic loads: hover, completion and lint answer
 * while a large log is still being read". A copy of examples/istio with a large gzipped log (the
 * example's own lines, repeated): while the server says it is loading, the editor's requests are
 * answered, and before the load ends.
 */
interface Status { state: string; lines: number }

const REPEAT = 40; // × the example's ~3,500 lines: about 140,000 lines to read

describe('the server answers while a large log loads (LSP)', () => {
  let client: LspTestClient;
  let workspace: string;
  const statuses: { at: number; status: Status }[] = [];

  before(async () => {
    workspace = mkdtempSync(join(tmpdir(), 'mesh-policy-loading-'));
    cpSync(join(REPO_ROOT, 'examples', 'istio'), workspace, { recursive: true });
    const lines = ['cart', 'frontend', 'gateway', 'payments'].map((name) => readFileSync(join(workspace, 'traffic', `${name}.log`)));
    const gzip = createGzip();
    const done = new Promise((resolve, reject) => gzip.pipe(createWriteStream(join(workspace, 'traffic', 'large.log.gz'))).on('finish', () => resolve(undefined)).on('error', reject));
    for (let i = 0; i < REPEAT; i++) for (const chunk of lines) if (!gzip.write(chunk)) await new Promise((resolve) => gzip.once('drain', resolve));
    gzip.end();
    await done;
    client = new LspTestClient();
    client.connection.onNotification('meshPolicy/trafficStatus', (status: Status) => { statuses.push({ at: Date.now(), status }); });
    client.connection.onRequest('window/workDoneProgress/create', () => null);
    await client.initialize(pathToFileURL(workspace).href, [{ uri: pathToFileURL(workspace).href, name: 'istio' }]);
  });

  after(async () => {
    await client.shutdown();
    rmSync(workspace, { recursive: true, force: true });
  });

  it('lints, hovers and completes while the log is read, each well before the load ends', async () => {
    const deadline = Date.now() + 60_000;
    while (!statuses.some((s) => s.status.state === 'loading') && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
    assert.ok(statuses.some((s) => s.status.state === 'loading'), 'the server said it was loading');
    const loadingSince = Date.now();

    const path = join(workspace, 'security', 'authorization-policies.yaml');
    const uri = pathToFileURL(path).href;
    // A lint finding planted in the text: an unknown action (the schema allows ALLOW, DENY, AUDIT, CUSTOM).
    const text = readFileSync(path, 'utf8').replace('action: ALLOW', 'action: PERMIT');
    assert.notEqual(text, readFileSync(path, 'utf8'));
    const lines = text.split('\n');
    const answered: Record<string, number> = {};

    await client.open(uri, text);
    const diagnostics = await client.diagnosticsFor(uri, { ready: (d) => d.some((x) => /PERMIT|action/.test(String(x.message))), timeoutMs: 30_000 });
    answered.lint = Date.now();
    assert.ok(diagnostics.length > 0);

    const actionLine = lines.findIndex((l) => l.includes('action: PERMIT'));
    const hover = await client.request<Hover | null>('textDocument/hover', { textDocument: { uri }, position: { line: actionLine, character: lines[actionLine]!.indexOf('action') + 1 } });
    answered.hover = Date.now();
    const hoverText = hover && typeof hover.contents === 'object' && 'value' in hover.contents ? hover.contents.value : '';
    assert.match(hoverText, /ALLOW|DENY/);

    const completion = await client.request<CompletionItem[] | { items: CompletionItem[] }>('textDocument/completion', { textDocument: { uri }, position: { line: actionLine, character: lines[actionLine]!.indexOf('PERMIT') } });
    answered.completion = Date.now();
    const labels = (Array.isArray(completion) ? completion : completion.items).map((c) => c.label);
    assert.ok(labels.includes('DENY'), labels.join(', '));

    // The load ends after all three answers (the log is large enough to be still reading).
    const ready = statuses.find((s) => s.at >= loadingSince && s.status.state !== 'loading');
    for (const [what, at] of Object.entries(answered)) assert.ok(!ready || at < ready.at, `${what} answered before the load ended (${at - loadingSince} ms after it began; load ended ${ready ? `${ready.at - loadingSince} ms` : 'not yet'})`);
    // And it does end, with every line counted.
    while (!statuses.some((s) => s.at >= loadingSince && s.status.state === 'ready') && Date.now() < deadline + 60_000) await new Promise((r) => setTimeout(r, 50));
    const final = statuses.find((s) => s.at >= loadingSince && s.status.state === 'ready');
    assert.ok(final, `the load ended: ${JSON.stringify(statuses.slice(-2))}`);
    assert.ok(final.status.lines > REPEAT * 3000, `${final.status.lines} lines read`);
  });
});

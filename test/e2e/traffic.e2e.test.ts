// Real VS Code end to end, with traffic: the packaged .vsix in code-server on a copy of
// examples/istio (policies, manifests and access logs). A user sees the code lens counts, the
// traffic table in a hover, the calls behind a lens, and "Explain Call..." from the palette.
// Skips when code-server/chromium are missing, fails instead when MESH_POLICY_E2E=required.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import * as path from 'node:path';
import { test } from 'node:test';
import type { Locator, Page, Request } from 'playwright-core';
import { CodeServerRun, hoverAt, openFile, prerequisitesOrSkip, runCommand, withCodeServer } from './codeServer';
import { ensureVsix, repoRoot } from './helpers';
import { isLocal, readNetLog } from './netRecorder';

test('VS Code (code-server) shows code lenses, traffic hovers and traffic commands on examples/istio', { timeout: 300_000 }, async (t) => {
  if (!prerequisitesOrSkip(t)) return;
  const vsix = ensureVsix();
  const cs = new CodeServerRun(path.join(repoRoot, 'examples', 'istio'));
  const requests: Request[] = [];
  const netLog = cs.recordNetwork();
  await withCodeServer(t, cs, async () => {
    assert.match(await cs.installExtension(vsix), /successfully installed/i);
    await cs.start();
    const p = await cs.open();
    p.on('request', (r) => requests.push(r));

    await openFile(p, 'authorization-policies.yaml', 'frontend-from-gateway');

    // 1. the status bar shows the traffic once read
    const statusItem = p.locator('.statusbar-item', { hasText: /calls · \d+ policies · [\d,]+ changed/ }).first();
    await statusItem.waitFor({ timeout: 120_000 });
    t.diagnostic(`status bar: ${(await statusItem.innerText()).trim()}`);
    assert.match(await statusItem.innerText(), /3,549 calls/);

    // 2. code lenses with the counts (CLI: allow-nothing 0 allowed · 1,653 denied · 1,505 changed)
    const lens = p.locator('.monaco-editor .codelens-decoration', { hasText: '1,653 denied' }).first();
    await lens.waitFor({ timeout: 60_000 });
    const lensTexts = (await p.locator('.monaco-editor .codelens-decoration').allInnerTexts()).map((s) => s.trim());
    t.diagnostic(`lenses: ${JSON.stringify(lensTexts)}`);
    assert.ok(lensTexts.some((s) => s === '0 allowed · 1,653 denied · 1,505 changed'));
    await p.screenshot({ path: path.join(cs.shots, 'traffic-1-lenses.png') });

    // 3. hover the allow-nothing policy's name (line 10): the traffic table of the calls it decides
    const hover = await hoverAt(p, '10:13', 'Observed traffic');
    const hoverText = await hover.innerText();
    t.diagnostic(`hover: ${hoverText.replace(/\s+/g, ' ').slice(0, 400)}`);
    assert.match(hoverText, /0 allowed · 1,653 denied · 1,505 changed/);
    assert.ok((await hover.locator('table tr').count()) > 1, 'the calls are a rendered table');
    assert.ok(!hoverText.includes('| calls |'), 'markdown rendered, not raw');
    await p.screenshot({ path: path.join(cs.shots, 'traffic-2-hover.png') });
    await p.keyboard.press('Escape');

    // 4. clicking a lens lists its calls
    await lens.locator('a').first().click();
    await renderedListing(p, 'Observed calls decided by AuthorizationPolicy shop/allow-nothing');
    await p.screenshot({ path: path.join(cs.shots, 'traffic-3-calls.png') });
    // (a preview may take the focus as it settles, which closes a quick pick opened meanwhile)
    await runCommand(p, 'View: Close All Editors');

    // 5. a command from the palette: Explain Call... → pick the busiest call (after "Enter a call…") → its walkthrough
    await runCommand(p, 'Mesh Policy: Explain Call...');
    const rows = p.locator('.quick-input-list .monaco-list-row');
    await rows.nth(1).waitFor({ timeout: 30_000 });
    assert.match(await rows.first().innerText(), /Enter a call/);
    t.diagnostic(`first call: ${(await rows.nth(1).innerText()).replace(/\s+/g, ' ')}`);
    await p.keyboard.press('ArrowDown');
    await p.keyboard.press('Enter');
    await renderedListing(p, 'Walkthrough');
    await p.screenshot({ path: path.join(cs.shots, 'traffic-4-explain.png') });

    // 5a. Explain Call... → Enter a call… → a call written in the short form → its walkthrough
    await runCommand(p, 'View: Close All Editors');
    await runCommand(p, 'Mesh Policy: Explain Call...');
    await rows.first().waitFor({ timeout: 30_000 });
    await p.keyboard.press('Enter');
    await p.locator('.quick-input-widget input').fill('shop/frontend -> shop/cart:8080 GET /v1/carts/42');
    await p.keyboard.press('Enter');
    await renderedListing(p, 'a call written by hand');
    await p.screenshot({ path: path.join(cs.shots, 'traffic-4a-written-call.png') });

    // 5b. translate the policy file to Linkerd from the palette: the translation opens beside,
    // headed by what was not carried exactly and by the check on the loaded calls
    // (the walkthrough's preview, a webview, has the focus: closed first, so that Quick Open's Enter reaches the workbench)
    await runCommand(p, 'View: Close All Editors');
    await openFile(p, 'authorization-policies.yaml', 'frontend-from-gateway');
    await runCommand(p, 'Mesh Policy: Translate Policies to Another Mesh...');
    await p.locator('.quick-input-list .monaco-list-row', { hasText: 'linkerd' }).first().waitFor({ timeout: 30_000 });
    await p.locator('.quick-input-widget input').fill('linkerd');
    await p.keyboard.press('Enter');
    const translation = p.locator('.monaco-editor .view-lines', { hasText: 'Linkerd policies translated by mesh-policy translate' }).first();
    await translation.waitFor({ timeout: 60_000 });
    assert.match(await translation.innerText(), /from\s\d+\sIstio\sresources/); // Monaco renders spaces as U+00A0
    await p.screenshot({ path: path.join(cs.shots, 'traffic-4b-translate.png') });
    await closeUntitled(p, translation, 'the translation');

    // 6. the traffic map and the access report in webviews, rendered by the server
    await runCommand(p, 'View: Close All Editors');
    await runCommand(p, 'Mesh Policy: Show Traffic Map');
    const map = p.frameLocator('iframe.webview.ready').last().frameLocator('iframe#active-frame');
    await map.locator('svg').first().waitFor({ timeout: 60_000 });
    assert.ok(await map.locator('svg line, svg path').count() > 0, 'the map has edges');
    await p.screenshot({ path: path.join(cs.shots, 'traffic-5-map.png') });
    await runCommand(p, 'Mesh Policy: Show Access Report');
    const report = p.frameLocator('iframe.webview.ready').last().frameLocator('iframe#active-frame');
    await report.locator('h1', { hasText: 'Mesh Policy: access report' }).waitFor({ timeout: 60_000 });
    assert.match(await report.locator('body').innerText(), /shop\/frontend/);
    await p.screenshot({ path: path.join(cs.shots, 'traffic-6-report.png') });

    // 7. the language server dies: the extension says so, restarts it, and the traffic comes back
    const servers = serverProcesses(cs.extensionsDir);
    assert.ok(servers.length > 0, 'the language server process is running');
    for (const pid of servers) process.kill(pid, 'SIGKILL');
    await p.locator('.notifications-toasts', { hasText: 'stopped unexpectedly' }).first().waitFor({ timeout: 60_000 });
    await p.locator('.statusbar-item', { hasText: /reading traffic/ }).first().waitFor({ timeout: 60_000 }).catch(() => undefined);
    await p.locator('.statusbar-item', { hasText: /3,549 calls/ }).first().waitFor({ timeout: 120_000 });
    const restarted = serverProcesses(cs.extensionsDir);
    assert.ok(restarted.length > 0 && restarted.every((pid) => !servers.includes(pid)), 'a new server process runs');
    await p.screenshot({ path: path.join(cs.shots, 'traffic-7-restarted.png') });

    // The workbench only ever talked to code-server on 127.0.0.1.
    // A webview's resources (the markdown preview's styles and scripts) have URLs under
    // vscode-cdn.net that the webview's service worker answers from the workbench: they count as
    // local only when the service worker answered them.
    const outside: string[] = [];
    for (const r of requests) {
      const u = r.url();
      if (/^(https?|wss?):\/\/127\.0\.0\.1[:/]/.test(u) || u.startsWith('data:') || u.startsWith('blob:') || u.startsWith('vscode-')) continue;
      if (/^https:\/\/[^/]+\.vscode-resource\.vscode-cdn\.net\//.test(u) && (await r.response())?.fromServiceWorker()) continue;
      outside.push(u);
    }
    assert.deepEqual(outside, [], 'no requests outside 127.0.0.1');
    t.diagnostic(`screenshots: ${cs.shots} (traffic-1-lenses.png … traffic-4-explain.png)`);

    // Neither did any Node process: code-server, the extension host, both language servers.
    await cs.stop();
    const events = readNetLog(netLog);
    const loaded = events.filter((e) => e.kind === 'loaded');
    t.diagnostic(`network recorder: ${events.length} events; processes: ${[...new Set(loaded.map((e) => `${e.pid}${e.thread ? `/${e.thread}` : ''} ${e.argv}`))].join(' | ')}`);
    t.diagnostic(`connections: ${JSON.stringify([...new Set(events.filter((e) => e.kind !== 'loaded').map((e) => `${e.kind} ${e.path ?? `${e.host}:${e.port ?? ''}`} ${e.via ?? ''}`))])}`);
    const inProcess = (pids: number[]) => pids.every((pid) => loaded.some((e) => e.pid === pid));
    assert.ok(inProcess([...servers, ...restarted]), `the recorder ran in both language servers (${[...servers, ...restarted].join(', ')})`);
    assert.ok(loaded.some((e) => /extensionHost/.test(e.argv)), 'the recorder ran in the extension host');
    assert.deepEqual(events.filter((e) => !isLocal(e)), [], 'no connection or lookup outside 127.0.0.1/::1/unix sockets');
  });
});



/**
 * Closes the untitled editor showing `editor` without saving. The command acts on the focused
 * editor, which a slow workbench may not have moved to the new one yet: focus it, close, and
 * check by the tabs that no untitled editor is left, for a while (the editor's lines alone can
 * vanish for a moment while it re-renders).
 */
async function closeUntitled(p: Page, editor: Locator, what: string): Promise<void> {
  const untitledTabs = p.locator('.tabs-container .tab', { hasText: 'Untitled' });
  for (let attempt = 1; ; attempt++) {
    if (await untitledTabs.count() > 0) {
      await editor.click();
      await runCommand(p, 'View: Revert and Close Editor');
    }
    const gone = await untitledTabs.first().waitFor({ state: 'detached', timeout: 10_000 }).then(() => true, () => false);
    if (gone && await staysAbsent(untitledTabs, 1_500)) return;
    if (attempt === 3) assert.fail(`${what} editor did not close`);
  }
}

/**
 * Waits until a webview's frame (a rendered markdown preview: listings and walkthroughs open as
 * previews) shows `text`. Every frame is searched, as several previews may be open.
 */
async function renderedListing(p: Page, text: string, timeout = 30_000): Promise<void> {
  for (const deadline = Date.now() + timeout; ;) {
    for (const frame of p.frames()) {
      if (frame === p.mainFrame()) continue;
      if (await frame.locator('body', { hasText: text }).count().catch(() => 0) > 0) return;
    }
    if (Date.now() > deadline) assert.fail(`no rendered preview shows "${text}"`);
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
}

/** True when nothing matches `locator` at any check over `ms` milliseconds. */
async function staysAbsent(locator: Locator, ms: number): Promise<boolean> {
  for (const deadline = Date.now() + ms; Date.now() < deadline;) {
    if (await locator.count() > 0) return false;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  return await locator.count() === 0;
}

/** PIDs of our language server started from the extension installed in `extensionsDir`. */
function serverProcesses(extensionsDir: string): number[] {
  const out = execFileSync('ps', ['-eo', 'pid=,args='], { encoding: 'utf8' });
  return out.split('\n').filter((l) => l.includes(extensionsDir) && l.includes('dist/server.js')).map((l) => Number(l.trim().split(/\s+/)[0]));
}

test('VS Code (code-server) generates least-privilege policies from the palette and from the MPA4004 quick fix on examples/linkerd', { timeout: 300_000 }, async (t) => {
  if (!prerequisitesOrSkip(t)) return;
  const vsix = ensureVsix();
  const cs = new CodeServerRun(path.join(repoRoot, 'examples', 'linkerd'));
  await withCodeServer(t, cs, async () => {
    assert.match(await cs.installExtension(vsix), /successfully installed/i);
    await cs.start();
    const p = await cs.open();
    await openFile(p, 'emojivoto.yaml', 'emojivoto');
    await p.locator('.statusbar-item', { hasText: /calls · \d+ policies/ }).first().waitFor({ timeout: 120_000 });

    // 1. the command from the palette: pick the mesh, the generated YAML opens beside
    await runCommand(p, 'Mesh Policy: Generate Least-Privilege Policies from Traffic...');
    await p.locator('.quick-input-list .monaco-list-row', { hasText: 'linkerd' }).first().waitFor({ timeout: 30_000 });
    await p.locator('.quick-input-widget input').fill('linkerd');
    await p.keyboard.press('Enter');
    const generated = p.locator('.monaco-editor .view-lines', { hasText: 'Least-privilege Linkerd policies generated' }).first();
    await generated.waitFor({ timeout: 30_000 });
    assert.match(await generated.innerText(), /Evidence:\s[\d,]+\sobserved\sallowed\scalls/); // Monaco renders spaces as U+00A0
    await p.screenshot({ path: path.join(cs.shots, 'generate-1-palette.png') });
    await closeUntitled(p, generated, 'the generated policies');

    // 2. the quick fix on the uncovered workload (MPA4004 on Deployment emojivoto/voting, line 96),
    // in the manifest's editor, focused through its tab
    await p.locator('.tabs-container .tab', { hasText: 'emojivoto.yaml' }).first().click();
    await runCommand(p, 'Go to Line/Column...');
    await p.keyboard.type('96:1');
    await p.keyboard.press('Enter');
    await p.locator('.statusbar-item', { hasText: 'Ln 96, Col 1' }).first().waitFor({ timeout: 30_000 });
    await p.keyboard.press('Control+.');
    const fixTitle = 'Generate a least-privilege Linkerd policy for emojivoto/voting';
    await p.locator('.action-widget .monaco-list-row', { hasText: fixTitle }).first().waitFor({ timeout: 60_000 });
    const titles = (await p.locator('.action-widget .monaco-list-row').allInnerTexts()).map((s) => s.trim());
    t.diagnostic(`quick fixes: ${JSON.stringify(titles)}`);
    const focused = p.locator('.action-widget .monaco-list-row.focused').first();
    for (let i = 0; i < titles.length && !(await focused.innerText().catch(() => '')).includes(fixTitle); i++) await p.keyboard.press('ArrowDown');
    assert.match(await focused.innerText(), /Generate a least-privilege Linkerd policy for emojivoto\/voting/);
    await p.keyboard.press('Enter');
    const forVoting = p.locator('.monaco-editor .view-lines', { hasText: /#\semojivoto\/voting:\d+:\s[\d,]+\sallowed\scalls/ }).first();
    await forVoting.waitFor({ timeout: 30_000 });
    assert.doesNotMatch(await forVoting.innerText(), /#\semojivoto\/(emoji|web):/, 'only the policies of the uncovered workload');
    await p.screenshot({ path: path.join(cs.shots, 'generate-2-quick-fix.png') });
  });
});

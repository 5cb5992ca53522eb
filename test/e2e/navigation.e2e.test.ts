// Real VS Code end to end: go to definition, find all references and the outline of the packaged
// extension on examples/linkerd, driven through the UI (code-server + Chromium, as vscode.e2e.test.ts).
import assert from 'node:assert/strict';
import * as path from 'node:path';
import { test } from 'node:test';
import type { Page } from 'playwright-core';
import { CodeServerRun, openFile, prerequisitesOrSkip, runCommand, withCodeServer } from './codeServer';
import { ensureVsix, repoRoot } from './helpers';

async function goTo(p: Page, position: string): Promise<void> {
  await runCommand(p, 'Go to Line/Column...');
  await p.keyboard.type(position);
  await p.keyboard.press('Enter');
  const [line, column] = position.split(':');
  await p.locator('.statusbar-item', { hasText: `Ln ${line}, Col ${column}` }).first().waitFor({ timeout: 30_000 });
}

test('VS Code (code-server) goes to a definition, finds references and outlines policies on examples/linkerd', { timeout: 240_000 }, async (t) => {
  if (!prerequisitesOrSkip(t)) return;
  const vsix = ensureVsix();
  const cs = new CodeServerRun(path.join(repoRoot, 'examples', 'linkerd'));
  await withCodeServer(t, cs, async () => {
    assert.match(await cs.installExtension(vsix), /successfully installed/i);
    await cs.start();
    const p = await cs.open();
    await openFile(p, 'authorization-policies.yaml', 'web-app-clients');
    // (the server has read the workspace once the traffic status shows)
    await p.locator('.statusbar-item', { hasText: /calls · \d+ policies/ }).first().waitFor({ timeout: 120_000 });

    // 1. F12 on the targetRef's name (line 13, `name: web-app`): the HTTPRoute's name in web-routes.yaml, line 9
    await goTo(p, '13:13');
    await p.keyboard.press('F12');
    await p.locator('.tabs-container .tab.active', { hasText: 'web-routes.yaml' }).first().waitFor({ timeout: 30_000 });
    await p.locator('.statusbar-item', { hasText: /Ln 9, Col 9/ }).first().waitFor({ timeout: 30_000 });
    await p.screenshot({ path: path.join(cs.shots, 'navigate-1-definition.png') });

    // 2. the outline of web-routes.yaml (Go to Symbol in Editor): both routes, named as kind namespace/name
    await runCommand(p, 'Go to Symbol in Editor...');
    await p.locator('.quick-input-list .monaco-list-row', { hasText: 'HTTPRoute emojivoto/web-probes' }).first().waitFor({ timeout: 30_000 });
    const symbols = (await p.locator('.quick-input-list .monaco-list-row').allInnerTexts()).map((s) => s.replace(/\s+/g, ' ').trim());
    t.diagnostic(`symbols: ${JSON.stringify(symbols)}`);
    assert.ok(symbols.some((s) => s.includes('HTTPRoute emojivoto/web-app')), symbols.join(' | '));
    await p.keyboard.press('Escape');

    // 3. Shift+F12 on the Server web-http's name (servers.yaml line 6): the peek lists its declaration and both routes whose parent it is
    await openFile(p, 'servers.yaml', 'web-http');
    await goTo(p, '6:11');
    await p.keyboard.press('Shift+F12');
    const peek = p.locator('.peekview-widget');
    await peek.locator('.monaco-list-row', { hasText: 'web-routes.yaml' }).first().waitFor({ timeout: 30_000 });
    const rows = (await peek.locator('.monaco-list-row').allInnerTexts()).map((s) => s.replace(/\s+/g, ' ').trim());
    t.diagnostic(`references: ${JSON.stringify(rows)}`);
    // (a row per file with its count; the declaration's file comes first and is expanded)
    assert.ok(rows.some((r) => /^servers\.yaml.*1$/.test(r)), rows.join(' | '));
    assert.ok(rows.some((r) => /^web-routes\.yaml.*2$/.test(r)), rows.join(' | '));
    await p.screenshot({ path: path.join(cs.shots, 'navigate-2-references.png') });
  });
});

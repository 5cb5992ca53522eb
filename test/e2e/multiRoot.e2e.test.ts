// Real VS Code end to end, in a multi-root workspace: examples/istio as folder "shop" and
// examples/linkerd as folder "mesh". Each folder gets its own language server, which reads its own
// policies, inventory and access logs: the status bar shows the active editor's folder and its
// traffic alone, and a command asks the server of the folder the user is in.
// Skips when code-server/chromium are missing, fails instead when MESH_POLICY_E2E=required.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { test } from 'node:test';
import type { Page } from 'playwright-core';
import { CodeServerRun, openFile, prerequisitesOrSkip, runCommand, withCodeServer } from './codeServer';
import { ensureVsix, repoRoot } from './helpers';

test('VS Code (code-server) runs one server per folder of a multi-root workspace', { timeout: 300_000 }, async (t) => {
  if (!prerequisitesOrSkip(t)) return;
  const vsix = ensureVsix();
  const cs = new CodeServerRun(path.join(repoRoot, 'examples', 'istio'));
  const second = path.join(cs.dir, 'mesh');
  fs.cpSync(path.join(repoRoot, 'examples', 'linkerd'), second, { recursive: true });
  const workspaceFile = path.join(cs.dir, 'two-meshes.code-workspace');
  fs.writeFileSync(workspaceFile, JSON.stringify({ folders: [{ path: cs.workspace, name: 'shop' }, { path: second, name: 'mesh' }] }, null, 2));
  await withCodeServer(t, cs, async () => {
    assert.match(await cs.installExtension(vsix), /successfully installed/i);
    await cs.start();
    const p = await cs.open('', workspaceFile);

    // 1. each folder's traffic in the status bar, as its own server read it (the CLI on each
    // example: 3,549 calls for examples/istio, 3,849 for examples/linkerd)
    await openFile(p, 'cart.yaml', 'cart');
    const shopStatus = p.locator('.statusbar-item', { hasText: /shop: 3,549 calls · \d+ policies/ }).first();
    await shopStatus.waitFor({ timeout: 120_000 });
    t.diagnostic(`status bar in shop: ${(await shopStatus.innerText()).trim()}`);
    await openFile(p, 'emojivoto.yaml', 'emojivoto');
    const meshStatus = p.locator('.statusbar-item', { hasText: /mesh: 3,849 calls · \d+ policies/ }).first();
    await meshStatus.waitFor({ timeout: 120_000 });
    t.diagnostic(`status bar in mesh: ${(await meshStatus.innerText()).trim()}`);
    await p.screenshot({ path: path.join(cs.shots, 'multi-root-1-status.png') });

    const servers = execFileSync('ps', ['-eo', 'pid=,args='], { encoding: 'utf8' }).split('\n').filter((l) => l.includes(cs.extensionsDir) && l.includes('dist/server.js'));
    assert.equal(servers.length, 2, `one language server per folder:\n${servers.join('\n')}`);

    // 2. a command asks the active folder's server: the observed calls listed are that folder's
    assert.match(await firstObservedCall(p), /emojivoto/);
    await p.keyboard.press('Escape');
    await openFile(p, 'cart.yaml', 'cart');
    await shopStatus.waitFor({ timeout: 30_000 });
    const shopCall = await firstObservedCall(p);
    assert.match(shopCall, /shop\//);
    assert.doesNotMatch(shopCall, /emojivoto/);
    await p.keyboard.press('Escape');
  });
});

/** Runs Explain Call... and returns the first observed call it offers (after "Enter a call…"). */
async function firstObservedCall(p: Page): Promise<string> {
  await runCommand(p, 'Mesh Policy: Explain Call...');
  const rows = p.locator('.quick-input-list .monaco-list-row');
  await rows.nth(1).waitFor({ timeout: 30_000 });
  assert.match(await rows.first().innerText(), /Enter a call/);
  return (await rows.nth(1).innerText()).replace(/\s+/g, ' ');
}

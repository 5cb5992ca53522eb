// Real VS Code end to end: the packaged .vsix installed into a fresh code-server 4.100.3
// (VS Code 1.100.3), driven through the UI by Debian Chromium via playwright-core.
// Skips when code-server/chromium are missing, fails instead when MESH_POLICY_E2E=required.
// Prerequisites: apt-get install chromium fonts-liberation + scripts/e2e/install-code-server.sh.
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { test } from 'node:test';
import { CodeServerRun, prerequisitesOrSkip, runCommand, withCodeServer } from './codeServer';
import { ensureVsix } from './helpers';

const EXTENSION_ID = 'mesh-policy.mesh-policy-auditor';

test('VS Code (code-server) shows the diagnostic, hover and quick fix of the packaged extension, and reads .hcl files as HCL', { timeout: 240_000 }, async (t) => {
  if (!prerequisitesOrSkip(t)) return;

  const timings: string[] = [];
  const t0 = Date.now();
  const mark = (what: string) => timings.push(`${what} ${((Date.now() - t0) / 1000).toFixed(1)}s`);
  const vsix = ensureVsix();
  mark('vsix ready');
  const cs = new CodeServerRun();
  await withCodeServer(t, cs, async () => {
    // 1. install the vsix into the fresh extensions dir, then start code-server on 127.0.0.1
    assert.match(await cs.installExtension(vsix), /successfully installed/i);
    const installed = fs.readdirSync(cs.extensionsDir);
    assert.ok(installed.some((d) => d.startsWith(`${EXTENSION_ID}-`)), `${EXTENSION_ID} in the extensions dir: ${installed.join(', ')}`);
    mark('vsix installed');
    await cs.start();
    mark('code-server up');
    const p = await cs.open();
    mark('workbench loaded');

    // 2. open the policy with Quick Open
    await p.keyboard.press('Control+P');
    await p.locator('.quick-input-widget input').fill('authz-frontend.yaml');
    await p.locator('.quick-input-list .monaco-list-row', { hasText: 'authz-frontend.yaml' }).first().waitFor({ timeout: 30_000 });
    await p.keyboard.press('Enter');
    await p.locator('.monaco-editor .view-lines', { hasText: 'action: allow' }).waitFor({ timeout: 30_000 });

    // 3. the error squiggle from our language server
    const squiggle = p.locator('.monaco-editor .squiggly-error').first();
    await squiggle.waitFor({ timeout: 90_000 });
    mark('squiggle shown');

    // 4. Problems panel: message and source
    await runCommand(p, 'View: Focus Problems');
    const row = p.locator('.markers-panel .monaco-list-row', { hasText: 'action must be one of' }).first();
    await row.waitFor({ timeout: 30_000 });
    const rowLabel = `${await row.getAttribute('aria-label') ?? ''} ${await row.innerText()}`;
    t.diagnostic(`Problems row: ${rowLabel.replace(/\s+/g, ' ').trim()}`);
    assert.match(rowLabel, /action must be one of ALLOW, DENY, AUDIT, CUSTOM/);
    assert.match(rowLabel, /mesh-policy/);

    // 5. hover over the squiggle: the diagnostic plus our schema documentation (rendered markdown)
    const box = await squiggle.boundingBox();
    assert.ok(box, 'squiggle has a bounding box');
    const cx = box.x + box.width / 2;
    const cy = box.y + box.height / 2;
    await p.mouse.move(cx, cy - 30);
    await p.mouse.move(cx, cy, { steps: 5 });
    const hover = p.locator('.monaco-hover-content', { hasText: 'What a match means' }).first();
    await hover.waitFor({ timeout: 30_000 });
    const hoverText = await hover.innerText();
    t.diagnostic(`hover: ${hoverText.replace(/\s+/g, ' ').trim().slice(0, 300)}`);
    assert.match(hoverText, /What a match means: ALLOW lets the request through/);
    assert.match(hoverText, /Allowed:\s*ALLOW\s*,\s*DENY\s*,\s*AUDIT\s*,\s*CUSTOM/); // code spans rendered, backticks gone
    assert.ok(!hoverText.includes('**'), 'hover markdown is rendered, not shown raw');
    await p.screenshot({ path: path.join(cs.shots, '1-hover.png') });
    mark('hover checked');

    // 6. quick fix with the keyboard (clicking a row is intercepted by .context-view-pointerBlock)
    await p.keyboard.press('Escape');
    await p.mouse.click(cx, cy);
    await p.keyboard.press('Control+.');
    const fixTitle = 'Change to "ALLOW"';
    await p.locator('.action-widget .monaco-list-row', { hasText: fixTitle }).first().waitFor({ timeout: 30_000 });
    const titles = (await p.locator('.action-widget .monaco-list-row').allInnerTexts()).map((s) => s.trim());
    t.diagnostic(`quick fix list: ${JSON.stringify(titles)}`);
    const focused = p.locator('.action-widget .monaco-list-row.focused').first();
    for (let i = 0; i < titles.length && !(await focused.innerText().catch(() => '')).includes(fixTitle); i++) {
      await p.keyboard.press('ArrowDown');
    }
    assert.match(await focused.innerText(), /Change to "ALLOW"/);
    await p.keyboard.press('Enter');
    await p.locator('.monaco-editor .view-lines', { hasText: 'action: ALLOW' }).waitFor({ timeout: 30_000 });
    await p.locator('.monaco-editor .squiggly-error').first().waitFor({ state: 'detached', timeout: 60_000 });
    assert.ok(!(await p.locator('.monaco-editor .view-lines').innerText()).includes('action: allow'), 'lower-case action is gone');
    await p.keyboard.press('Escape');
    await p.mouse.move(5, 5);
    await p.locator('#status\\.problems[aria-label*="No Problems"]').waitFor({ timeout: 30_000 });
    mark('quick fix applied');

    await p.screenshot({ path: path.join(cs.shots, '2-after-fix.png') });

    // 7. a Consul config entry in HCL: the language HCL from the vsix (its name in the status bar,
    // its grammar's colours) and our diagnostic on it. Written now: before, its error would have
    // kept the Problems count above from reaching zero.
    fs.writeFileSync(path.join(cs.workspace, 'security', 'intentions.hcl'), '# Consul intentions\nKind = "service-intentions"\nName = "api"\nSources = [\n  {\n    Name   = "web"\n    Action = "permit"\n  },\n]\n');
    // (from the Explorer: Quick Open's file index does not know a file created after it started)
    await p.locator('.explorer-folders-view .monaco-list-row', { hasText: 'intentions.hcl' }).first().click({ timeout: 60_000 });
    await p.locator('.monaco-editor .view-lines', { hasText: 'service-intentions' }).waitFor({ timeout: 30_000 });
    await p.locator('#status\\.editor\\.mode', { hasText: 'HCL' }).waitFor({ timeout: 30_000 });
    await p.locator('.monaco-editor .squiggly-error').first().waitFor({ timeout: 90_000 });
    const tokenClass = async (text: string) => p.locator('.monaco-editor .view-line span span', { hasText: text }).first().getAttribute('class');
    // the grammar's scopes reach the theme: a comment, a string and a name get three colours
    const [comment, string, name] = [await tokenClass('Consul intentions'), await tokenClass('permit'), await tokenClass('Action')];
    t.diagnostic(`HCL token classes: comment ${comment}, string ${string}, attribute ${name}`);
    assert.equal(new Set([comment, string, name]).size, 3, `three token colours: ${comment}, ${string}, ${name}`);
    await runCommand(p, 'View: Focus Problems');
    const hclRow = p.locator('.markers-panel .monaco-list-row', { hasText: 'Action must be one of allow, deny' }).first();
    await hclRow.waitFor({ timeout: 30_000 });
    await p.screenshot({ path: path.join(cs.shots, '3-hcl.png') });
    mark('HCL file checked');
    t.diagnostic(`screenshots: ${cs.shots} (1-hover.png, 2-after-fix.png, 3-hcl.png)`);
  }).finally(() => {
    mark('teardown done');
    t.diagnostic(`timings: ${timings.join(', ')}`);
  });
});


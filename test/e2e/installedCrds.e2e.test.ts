// Real VS Code end to end: a policy written for a newer Istio than the cluster's. The cluster's
// CRD (saved with `kubectl get crd -o yaml`) sits in the workspace; the Problems panel says that
// it does not serve security.istio.io/v1, the quick fix moves the policy to the version it
// serves, and then the panel names the field that version does not declare (targetRefs).
// Skips when code-server/chromium are missing.
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { test } from 'node:test';
import { CodeServerRun, openFile, prerequisitesOrSkip, runCommand, withCodeServer } from './codeServer';
import { ensureVsix } from './helpers';
import { cartReadersByTargetRefs, OLD_ISTIO_AP_CRD } from '../helpers/crds';

const POLICY = cartReadersByTargetRefs('v1');

test('VS Code (code-server) checks a policy against the cluster\'s CRD in the workspace', { timeout: 300_000 }, async (t) => {
  if (!prerequisitesOrSkip(t)) return;
  const vsix = ensureVsix();
  const folder = fs.mkdtempSync(path.join(os.tmpdir(), 'mesh-policy-crds-e2e-'));
  fs.mkdirSync(path.join(folder, 'cluster'));
  fs.mkdirSync(path.join(folder, 'security'));
  fs.writeFileSync(path.join(folder, 'cluster', 'crds.yaml'), OLD_ISTIO_AP_CRD);
  fs.writeFileSync(path.join(folder, 'security', 'cart-readers.yaml'), POLICY);
  const cs = new CodeServerRun(folder);
  await withCodeServer(t, cs, async () => {
    assert.match(await cs.installExtension(vsix), /successfully installed/i);
    await cs.start();
    const p = await cs.open();
    await openFile(p, 'cart-readers.yaml', 'targetRefs');

    // 1. the version the cluster does not serve
    await runCommand(p, 'View: Focus Problems');
    const unserved = p.locator('.markers-panel .monaco-list-row', { hasText: 'does not serve security.istio.io/v1' }).first();
    await unserved.waitFor({ timeout: 120_000 });
    t.diagnostic(`problem: ${(await unserved.innerText()).replace(/\s+/g, ' ')}`);
    assert.match(await unserved.innerText(), /MPA1039/);
    await p.screenshot({ path: path.join(cs.shots, 'crds-1-unserved.png') });

    // 2. the quick fix on apiVersion: the version the CRD serves
    await runCommand(p, 'Go to Line/Column...');
    await p.keyboard.type('1:20');
    await p.keyboard.press('Enter');
    await p.keyboard.press('Control+.');
    const fixTitle = 'Change to security.istio.io/v1beta1';
    await p.locator('.action-widget .monaco-list-row', { hasText: fixTitle }).first().waitFor({ timeout: 30_000 });
    const titles = (await p.locator('.action-widget .monaco-list-row').allInnerTexts()).map((s) => s.trim());
    const focused = p.locator('.action-widget .monaco-list-row.focused').first();
    for (let i = 0; i < titles.length && !(await focused.innerText().catch(() => '')).includes(fixTitle); i++) await p.keyboard.press('ArrowDown');
    await p.keyboard.press('Enter');
    await p.locator('.monaco-editor .view-lines', { hasText: 'security.istio.io/v1beta1' }).waitFor({ timeout: 30_000 });

    // 3. then the field that version does not declare
    await runCommand(p, 'View: Focus Problems');
    const unknownField = p.locator('.markers-panel .monaco-list-row', { hasText: 'unknown field "spec.targetRefs"' }).first();
    await unknownField.waitFor({ timeout: 60_000 });
    t.diagnostic(`problem: ${(await unknownField.innerText()).replace(/\s+/g, ' ')}`);
    assert.match(await unknownField.innerText(), /does not declare it in v1beta1/);
    await p.locator('.markers-panel .monaco-list-row', { hasText: 'does not serve' }).first().waitFor({ state: 'detached', timeout: 30_000 });
    await p.screenshot({ path: path.join(cs.shots, 'crds-2-unknown-field.png') });
  });
});

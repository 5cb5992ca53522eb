// Real VS Code end to end: policy tests (docs/policy-tests.md) of the packaged extension on
// examples/istio, in the Test Explorer and as diagnostics, driven through the UI (code-server +
// Chromium, as vscode.e2e.test.ts).
import assert from 'node:assert/strict';
import * as path from 'node:path';
import { test } from 'node:test';
import { CodeServerRun, openFile, prerequisitesOrSkip, runCommand, withCodeServer } from './codeServer';
import { ensureVsix, repoRoot } from './helpers';

test('VS Code (code-server) runs the policy tests of examples/istio from the Test Explorer', { timeout: 240_000 }, async (t) => {
  if (!prerequisitesOrSkip(t)) return;
  const vsix = ensureVsix();
  const cs = new CodeServerRun(path.join(repoRoot, 'examples', 'istio'));
  await withCodeServer(t, cs, async () => {
    assert.match(await cs.installExtension(vsix), /successfully installed/i);
    await cs.start();
    const p = await cs.open();
    await openFile(p, 'shop-access.yaml', 'MeshPolicyTest');
    await p.locator('.statusbar-item', { hasText: /calls · \d+ policies/ }).first().waitFor({ timeout: 120_000 });

    // 1. the lens above each test, and the failing test's error on its expect
    await p.locator('.codelens-decoration', { hasText: '✓ passes: allow by shop/payments-callers rules[0]' }).first().waitFor({ timeout: 60_000 });
    await p.locator('.codelens-decoration', { hasText: '✗ fails: deny by shop/allow-nothing, expected allow' }).first().waitFor({ timeout: 30_000 });
    await p.locator('.monaco-editor .squiggly-error').first().waitFor({ timeout: 30_000 });

    // 2. Test Explorer: run every test; four pass, the one mistake 2 breaks fails
    await runCommand(p, 'Test: Run All Tests');
    await runCommand(p, 'View: Show Testing');
    const tree = p.locator('.test-explorer');
    await tree.locator('.monaco-list-row', { hasText: 'shop-access.yaml' }).first().waitFor({ timeout: 60_000 });
    // each test's row shows its outcome as an icon (the file's row is expanded once it ran)
    const rowOf = (name: string) => tree.locator('.monaco-list-row', { hasText: name }).first();
    const fileRow = tree.locator('.monaco-list-row', { hasText: 'shop-access.yaml' }).first();
    if ((await fileRow.getAttribute('aria-expanded')) !== 'true') await fileRow.locator('.monaco-tl-twistie').click();
    await rowOf('the frontend reads carts').waitFor({ timeout: 30_000 });
    const rows = await tree.locator('.monaco-list-row').evaluateAll((list) => list.map((r) => `${(r.textContent ?? "").trim().split('\n')[0]} | ${[...r.querySelectorAll('.codicon')].map((c) => c.className).join(' ')}`));
    t.diagnostic(`test rows: ${JSON.stringify(rows)}`);
    const iconOf = async (name: string) => (await rowOf(name).locator('.codicon').evaluateAll((icons) => icons.map((i) => i.className))).join(' ');
    assert.match(await iconOf('the frontend reads carts'), /testing-failed-icon|testing-error-icon/);
    for (const name of ['the frontend creates charges', 'the frontend may not refund', 'the back office refunds', 'nobody reaches the frontend']) assert.match(await iconOf(name), /testing-passed-icon/, name);
    // the summary above the tree: four of five pass
    await p.locator('.test-explorer-header, .result-summary', { hasText: '4/5' }).first().waitFor({ timeout: 30_000 });
    await p.screenshot({ path: path.join(cs.shots, 'policy-tests-explorer.png') });

    // 3. coverage: the policy files with the share of their policies and rules that decide a test
    await runCommand(p, 'Test: Run All Tests with Coverage');
    const coverageRow = p.locator('.monaco-list-row', { hasText: 'authorization-policies.yaml' }).filter({ hasText: '%' }).first();
    await coverageRow.waitFor({ timeout: 60_000 });
    const rowText = (await coverageRow.innerText()).replace(/\s+/g, ' ');
    t.diagnostic(`coverage row: ${rowText}`);
    // 6 of its 7 policies and rules in effect decide a test: payments-callers rules[2] (the
    // scrapes) decides none; cart-from-frontend is not in effect and not counted
    assert.match(rowText, /85\.71%/);
    await p.screenshot({ path: path.join(cs.shots, 'policy-tests-coverage.png') });

    // 4. tests written from the observed calls: pick what they expect, the file opens beside
    await runCommand(p, 'Mesh Policy: Generate Policy Tests from Traffic...');
    await p.locator('.quick-input-list .monaco-list-row', { hasText: 'What the policies decide now' }).first().waitFor({ timeout: 30_000 });
    await p.locator('.quick-input-widget input').fill('policies decide now');
    await p.keyboard.press('Enter');
    const generated = p.locator('.monaco-editor .view-lines', { hasText: 'Policy tests generated from observed traffic' }).first();
    await generated.waitFor({ timeout: 30_000 });
    assert.match(await generated.innerText(), /kind:\sMeshPolicyTest/); // Monaco renders spaces as U+00A0
    await p.screenshot({ path: path.join(cs.shots, 'policy-tests-generated.png') });
  });
});

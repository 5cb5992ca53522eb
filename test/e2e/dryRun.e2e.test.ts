// Real VS Code end to end on examples/istio-dry-run: the packaged .vsix in code-server. A user
// trying out policies in dry-run sees, above each dry-run policy, what it would do with the
// observed calls; its hover lists the calls it would deny and those the proxy logged otherwise;
// the Problems panel says where the logged dry-run results differ (MPA4008). The figures are
// those of `mesh-policy simulate` on the same example (test/unit/dryRunExample.test.ts counts them
// from the log lines). Skips when code-server/chromium are missing.
import assert from 'node:assert/strict';
import * as path from 'node:path';
import { test } from 'node:test';
import { CodeServerRun, hoverAt, openFile, prerequisitesOrSkip, runCommand, withCodeServer } from './codeServer';
import { ensureVsix, repoRoot } from './helpers';

test('VS Code (code-server) shows what dry-run policies would do on examples/istio-dry-run', { timeout: 300_000 }, async (t) => {
  if (!prerequisitesOrSkip(t)) return;
  const vsix = ensureVsix();
  const cs = new CodeServerRun(path.join(repoRoot, 'examples', 'istio-dry-run'));
  await withCodeServer(t, cs, async () => {
    assert.match(await cs.installExtension(vsix), /successfully installed/i);
    await cs.start();
    const p = await cs.open();
    await openFile(p, 'dry-run.yaml', 'ledger-allowlist-v2');

    // 1. the lenses of the dry-run policies
    const allowlist = p.locator('.monaco-editor .codelens-decoration', { hasText: 'matches 1,791' }).first();
    await allowlist.waitFor({ timeout: 120_000 });
    const lenses = (await p.locator('.monaco-editor .codelens-decoration').allInnerTexts()).map((s) => s.trim());
    t.diagnostic(`lenses: ${JSON.stringify(lenses)}`);
    assert.ok(lenses.includes('dry run (not enforced): 1,964 calls · matches 1,791 · without the other ALLOW policies would deny 173 (167 now allowed)'), 'the dry-run ALLOW');
    assert.ok(lenses.includes('dry run: matches 1,508 calls'), 'its first rule');
    await p.screenshot({ path: path.join(cs.shots, 'dry-run-1-lenses.png') });

    // 2. the hover of the dry-run DENY: the calls it would deny, those logged otherwise
    const hover = await hoverAt(p, '47:11', 'Observed traffic');
    const hoverText = await hover.innerText();
    t.diagnostic(`hover: ${hoverText.replace(/\s+/g, ' ').slice(0, 500)}`);
    assert.match(hoverText, /Calls it would deny if enforced/);
    assert.match(hoverText, /Logged otherwise/);
    assert.match(hoverText, /DELETE \/v1\/holds\//);
    await p.screenshot({ path: path.join(cs.shots, 'dry-run-2-hover.png') });
    await p.keyboard.press('Escape');

    // 3. the Problems panel: the dry-run results the logs report otherwise
    await runCommand(p, 'View: Focus Problems');
    const problem = p.locator('.markers-panel .monaco-list-row', { hasText: 'MPA4008' }).first();
    await problem.waitFor({ timeout: 60_000 });
    t.diagnostic(`problem: ${(await problem.innerText()).replace(/\s+/g, ' ')}`);
    assert.match(await problem.innerText(), /ledger-deny-deletes/);
    await p.screenshot({ path: path.join(cs.shots, 'dry-run-3-problems.png') });
  });
});

// Runs the @vscode/test-electron mocha suite (out/test/vscode/suite) offline, inside code-server's
// Node extension host instead of a downloaded desktop VS Code: the workbench URL's `payload`
// parameter carries --extensionDevelopmentPath / --extensionTestsPath, and mocha's report reaches the
// browser console (extension-development mode forwards the extension host's console).
// Skips like vscode.e2e.test.ts when code-server/chromium are missing.
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { test } from 'node:test';
import { format } from 'node:util';
import { CodeServerRun, delay, prerequisitesOrSkip, withCodeServer } from './codeServer';
import { repoRoot } from './helpers';

const suiteIndex = path.join(repoRoot, 'out', 'test', 'vscode', 'suite', 'index.js');

test('the VS Code mocha suite passes in code-server\'s extension host', { timeout: 240_000 }, async (t) => {
  if (!prerequisitesOrSkip(t)) return;
  assert.ok(fs.existsSync(suiteIndex), `${suiteIndex} (run npm run build)`);
  assert.ok(fs.existsSync(path.join(repoRoot, 'dist', 'client.js')), 'dist/client.js (run npm run build)');

  const t0 = Date.now();
  // The fixture for the lint tests, and examples/istio (policies, manifests, logs) for the traffic tests.
  const cs = new CodeServerRun(undefined, path.join(repoRoot, 'examples', 'istio'));
  const lines: string[] = [];
  await withCodeServer(t, cs, async () => {
    await cs.start();
    const remote = (p: string) => `vscode-remote://127.0.0.1:${cs.port}${p}`;
    const payload = JSON.stringify([['extensionDevelopmentPath', remote(repoRoot)], ['extensionTestsPath', remote(suiteIndex)]]);

    let summary = '';
    let passingAt = 0;
    const page = await cs.open(`&payload=${encodeURIComponent(payload)}`);
    page.on('console', (msg) => {
      void Promise.all(msg.args().map((a) => a.jsonValue().catch(() => '')))
        .then((args) => {
          // forwarded as ['%c INFO', '<css>', '<mocha format>', ...values]
          if (typeof args[0] === 'string' && args[0].startsWith('%c')) args.splice(0, 2);
          const text = args.length ? format(...args) : msg.text();
          lines.push(text);
          if (/\d+ (passing|failing)/.test(text)) summary += `${text.trim()} `;
          if (!passingAt && /\d+ passing/.test(text)) passingAt = Date.now();
        });
    });
    const deadline = Date.now() + 180_000;
    // mocha prints "N failing" right after "N passing" when there are failures: give it 2 s
    while (!/failing/.test(summary) && !(passingAt && Date.now() - passingAt > 2_000) && Date.now() < deadline) await delay(250);

    const report = lines.filter((l) => /✔|✓|^\s+\d+\) |passing|failing|Error|assert/i.test(l)).join('\n');
    for (const line of report.split('\n')) t.diagnostic(line);
    assert.match(summary, /\d+ passing/, `mocha summary not seen within 180 s; console:\n${lines.slice(-40).join('\n')}`);
    assert.doesNotMatch(summary, /failing/, report);
    assert.match(report, /✔.*restartServer/, 'all five tests ran');
    t.diagnostic(`suite in code-server: ${((Date.now() - t0) / 1000).toFixed(1)} s`);
  });
});

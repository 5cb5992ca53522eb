// Real VS Code end to end: code-server 4.100.3 (VS Code 1.100.3) with the packaged .vsix installed,
// driven by Debian Chromium through playwright-core. See /work/shared/recipes/vscode-e2e.md.
//
// Prerequisites (skipped with a reason when missing, failed when MESH_POLICY_E2E=required):
//   apt-get install chromium fonts-liberation (+ build deps, see scripts/e2e/install-code-server.sh)
//   scripts/e2e/install-code-server.sh          -> .vscode-e2e/cs
// Overrides: MESH_POLICY_CODE_SERVER_DIR, MESH_POLICY_CHROMIUM, MESH_POLICY_VSIX,
//   MESH_POLICY_E2E_KEEP=1 (keep the temp run folder).
import { spawn, execFile, type ChildProcess } from 'node:child_process';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as http from 'node:http';
import * as net from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';
import { after, test } from 'node:test';
import { promisify } from 'node:util';
import type { Browser, Page } from 'playwright-core';
import { ensureVsix, repoRoot } from './helpers';

const required = process.env['MESH_POLICY_E2E'] === 'required';
const csDir = process.env['MESH_POLICY_CODE_SERVER_DIR'] ?? path.join(repoRoot, '.vscode-e2e', 'cs');
const csEntry = path.join(csDir, 'node_modules', 'code-server', 'out', 'node', 'entry.js');
const chromiumPath = process.env['MESH_POLICY_CHROMIUM'] ??
  ['/usr/bin/chromium', '/usr/bin/chromium-browser', '/usr/bin/google-chrome'].find((p) => fs.existsSync(p));
const fixture = path.join(repoRoot, 'test', 'e2e', 'fixtures', 'authz-allow-lowercase.yaml');
const EXTENSION_ID = 'mesh-policy.mesh-policy-auditor';

function missingPrerequisites(): string[] {
  const missing: string[] = [];
  if (!fs.existsSync(csEntry)) missing.push(`code-server not found at ${csEntry} (run scripts/e2e/install-code-server.sh)`);
  if (!chromiumPath) missing.push('chromium not found (apt-get install chromium fonts-liberation, or set MESH_POLICY_CHROMIUM)');
  if (process.versions.node.split('.')[0] !== '20') missing.push(`code-server 4.100.x needs Node 20, this is ${process.version}`);
  try {
    require.resolve('playwright-core');
  } catch {
    missing.push('playwright-core is not installed (npm ci)');
  }
  return missing;
}

// ---- process bookkeeping: everything started here is stopped in teardown, even after a timeout ----

let server: ChildProcess | undefined;
let browser: Browser | undefined;

function killGroup(child: ChildProcess | undefined, signal: NodeJS.Signals): void {
  if (!child?.pid || child.exitCode !== null || child.signalCode !== null) return;
  try {
    process.kill(-child.pid, signal); // code-server is a group leader: this reaches the extension host and the language server
  } catch {
    try { child.kill(signal); } catch { /* already gone */ }
  }
}

async function stopAll(): Promise<void> {
  const b = browser;
  browser = undefined;
  if (b) await Promise.race([b.close().catch(() => undefined), delay(10_000)]);
  const s = server;
  server = undefined;
  if (s?.pid && s.exitCode === null && s.signalCode === null) {
    const exited = new Promise<void>((resolve) => s.once('exit', () => resolve()));
    killGroup(s, 'SIGTERM');
    const timedOut = await Promise.race([exited.then(() => false), delay(8_000).then(() => true)]);
    if (timedOut) {
      killGroup(s, 'SIGKILL');
      await Promise.race([exited, delay(2_000)]);
    }
  }
  if (s?.pid) {
    // the extension host and language server may outlive the code-server process itself for a moment
    try { process.kill(-s.pid, 'SIGKILL'); } catch { /* group is empty */ }
  }
}
after(stopAll);
process.on('exit', () => {
  if (server?.pid) try { process.kill(-server.pid, 'SIGKILL'); } catch { /* gone */ }
});

// ---- small utilities ----

const delay = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms).unref());

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address() as net.AddressInfo;
      srv.close(() => resolve(port));
    });
  });
}

function healthz(port: number): Promise<number> {
  return new Promise((resolve) => {
    const req = http.get({ host: '127.0.0.1', port, path: '/healthz', timeout: 2_000 }, (res) => {
      res.resume();
      resolve(res.statusCode ?? 0);
    });
    req.on('error', () => resolve(0));
    req.on('timeout', () => { req.destroy(); resolve(0); });
  });
}

function tail(file: string, lines = 40): string {
  try {
    return fs.readFileSync(file, 'utf8').split('\n').slice(-lines).join('\n');
  } catch {
    return `(no ${file})`;
  }
}

function findFiles(dir: string, pattern: RegExp): string[] {
  const found: string[] = [];
  const walk = (d: string): void => {
    let entries: fs.Dirent[];
    try { entries = fs.readdirSync(d, { withFileTypes: true }); } catch { return; }
    for (const e of entries) {
      const p = path.join(d, e.name);
      if (e.isDirectory()) walk(p);
      else if (pattern.test(p)) found.push(p);
    }
  };
  walk(dir);
  return found;
}

// ---- the test ----

test('VS Code (code-server) shows the diagnostic, hover and quick fix of the packaged extension', { timeout: 240_000 }, async (t) => {
  const missing = missingPrerequisites();
  if (missing.length) {
    const reason = `VS Code e2e prerequisites missing: ${missing.join('; ')}`;
    if (required) assert.fail(`${reason} (MESH_POLICY_E2E=required)`);
    t.skip(reason);
    return;
  }

  const timings: string[] = [];
  const t0 = Date.now();
  const mark = (what: string) => timings.push(`${what} ${((Date.now() - t0) / 1000).toFixed(1)}s`);

  const vsix = ensureVsix();
  mark('vsix ready');
  const run = fs.mkdtempSync(path.join(os.tmpdir(), 'mesh-policy-e2e-'));
  const shots = fs.mkdtempSync(path.join(os.tmpdir(), 'mesh-policy-e2e-shots-'));
  const ws = path.join(run, 'ws');
  const userData = path.join(run, 'ud');
  fs.mkdirSync(path.join(ws, 'security'), { recursive: true });
  fs.mkdirSync(path.join(userData, 'User'), { recursive: true });
  fs.copyFileSync(fixture, path.join(ws, 'security', 'authz-frontend.yaml'));
  fs.writeFileSync(path.join(run, 'config.yaml'), 'auth: none\n');
  fs.writeFileSync(path.join(userData, 'User', 'settings.json'), JSON.stringify({
    'workbench.startupEditor': 'none',
    'security.workspace.trust.enabled': false,
    'telemetry.telemetryLevel': 'off',
    'update.mode': 'none',
    'extensions.autoUpdate': false,
    'extensions.autoCheckUpdates': false,
    'workbench.tips.enabled': false,
    'workbench.enableExperiments': false,
    'git.enabled': false,
    'editor.hover.delay': 100,
    'files.autoSave': 'off',
  }, null, 2));

  const env = { ...process.env, XDG_DATA_HOME: path.join(run, 'xdg'), XDG_CONFIG_HOME: path.join(run, 'xdg') };
  const common = ['--config', path.join(run, 'config.yaml'), '--user-data-dir', userData, '--extensions-dir', path.join(run, 'ext')];
  let ok = false;
  let page: Page | undefined;
  const serverLog = path.join(run, 'code-server.log');

  try {
    // 1. install the vsix into the fresh extensions dir
    const install = await promisify(execFile)(process.execPath, [csEntry, ...common, '--install-extension', vsix], { env, timeout: 60_000 });
    assert.match(install.stdout + install.stderr, /successfully installed/i);
    const installed = fs.readdirSync(path.join(run, 'ext'));
    assert.ok(installed.some((d) => d.startsWith(`${EXTENSION_ID}-`)), `${EXTENSION_ID} in the extensions dir: ${installed.join(', ')}`);
    mark('vsix installed');

    // 2. start code-server on 127.0.0.1 only
    const port = await freePort();
    const logFd = fs.openSync(serverLog, 'a');
    server = spawn(process.execPath, [csEntry, ...common, '--auth', 'none', '--bind-addr', `127.0.0.1:${port}`,
      '--disable-telemetry', '--disable-update-check', '--disable-workspace-trust', '--disable-getting-started-override', ws], {
      env, cwd: run, detached: true, stdio: ['ignore', logFd, logFd],
    });
    fs.closeSync(logFd);
    const started = server;
    for (let i = 0; ; i++) {
      if (started.exitCode !== null || started.signalCode !== null) throw new Error(`code-server exited (${started.exitCode ?? started.signalCode}):\n${tail(serverLog)}`);
      if (await healthz(port) === 200) break;
      if (i > 120) throw new Error(`code-server did not answer /healthz within 30 s:\n${tail(serverLog)}`);
      await delay(250);
    }
    mark('code-server up');

    // 3. browser
    const { chromium } = await import('playwright-core');
    browser = await chromium.launch({
      executablePath: chromiumPath!,
      headless: true,
      args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking',
        '--disable-component-update', '--disable-sync', '--disable-dev-shm-usage', '--disable-domain-reliability',
        '--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1'],
    });
    const context = await browser.newContext({ viewport: { width: 1400, height: 900 } });
    const p = page = await context.newPage();
    await p.goto(`http://127.0.0.1:${port}/?folder=${encodeURIComponent(ws)}`);
    await p.locator('.monaco-workbench').waitFor({ timeout: 60_000 });
    mark('workbench loaded');

    // 4. open the policy with Quick Open
    await p.keyboard.press('Control+P');
    await p.locator('.quick-input-widget input').fill('authz-frontend.yaml');
    await p.locator('.quick-input-list .monaco-list-row', { hasText: 'authz-frontend.yaml' }).first().waitFor({ timeout: 30_000 });
    await p.keyboard.press('Enter');
    await p.locator('.monaco-editor .view-lines', { hasText: 'action: allow' }).waitFor({ timeout: 30_000 });

    // 5. the error squiggle from our language server
    const squiggle = p.locator('.monaco-editor .squiggly-error').first();
    await squiggle.waitFor({ timeout: 90_000 });
    mark('squiggle shown');

    // 6. Problems panel
    await runCommand(p, 'View: Focus Problems');
    const row = p.locator('.markers-panel .monaco-list-row', { hasText: 'action must be one of' }).first();
    await row.waitFor({ timeout: 30_000 });
    const rowLabel = `${await row.getAttribute('aria-label') ?? ''} ${await row.innerText()}`;
    t.diagnostic(`Problems row: ${rowLabel.replace(/\s+/g, ' ').trim()}`);
    assert.match(rowLabel, /action must be one of ALLOW, DENY, AUDIT, CUSTOM/);
    assert.match(rowLabel, /mesh-policy/);

    // 7. hover over the squiggle: the diagnostic plus our schema documentation (markdown)
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
    assert.match(hoverText, /Allowed:\s*ALLOW,\s*DENY,\s*AUDIT,\s*CUSTOM/); // rendered markdown: the code spans lose their backticks
    assert.ok(!hoverText.includes('**'), 'hover markdown is rendered, not shown raw');
    await p.screenshot({ path: path.join(shots, '1-hover.png') });
    mark('hover checked');

    // 8. quick fix with the keyboard (clicking a row is intercepted by .context-view-pointerBlock)
    await p.keyboard.press('Escape');
    await p.mouse.click(cx, cy);
    await p.keyboard.press('Control+.');
    const fixTitle = 'Change to "ALLOW"';
    const rows = p.locator('.action-widget .monaco-list-row');
    await p.locator('.action-widget .monaco-list-row', { hasText: fixTitle }).first().waitFor({ timeout: 30_000 });
    const titles = (await rows.allInnerTexts()).map((s) => s.trim());
    t.diagnostic(`quick fix list: ${JSON.stringify(titles)}`);
    for (let i = 0; i < titles.length; i++) {
      const focused = (await p.locator('.action-widget .monaco-list-row.focused').first().innerText().catch(() => '')).trim();
      if (focused.includes(fixTitle)) break;
      await p.keyboard.press('ArrowDown');
    }
    assert.match(await p.locator('.action-widget .monaco-list-row.focused').first().innerText(), /Change to "ALLOW"/);
    await p.keyboard.press('Enter');
    await p.locator('.monaco-editor .view-lines', { hasText: 'action: ALLOW' }).waitFor({ timeout: 30_000 });
    await p.locator('.monaco-editor .squiggly-error').first().waitFor({ state: 'detached', timeout: 60_000 });
    assert.ok(!(await p.locator('.monaco-editor .view-lines').innerText()).includes('action: allow'), 'lower-case action is gone');
    await p.keyboard.press('Escape');
    await p.mouse.move(5, 5);
    await p.locator('#status\\.problems[aria-label*="No Problems"]').waitFor({ timeout: 30_000 });
    mark('quick fix applied');

    const shot = path.join(shots, '2-after-fix.png');
    await p.screenshot({ path: shot });
    t.diagnostic(`screenshots: ${shots} (1-hover.png, 2-after-fix.png)`);
    console.log(`screenshots: ${shots}`);
    ok = true;
  } catch (error) {
    if (page) await page.screenshot({ path: path.join(shots, 'failure.png') }).catch(() => undefined);
    const exthostLogs = findFiles(path.join(userData, 'logs'), /(remoteexthost\.log|Mesh Policy Auditor\.log)$/);
    t.diagnostic(`FAILED; screenshots in ${shots}; run folder kept: ${run}`);
    const show = (title: string, text: string) => { t.diagnostic(title); for (const line of text.split('\n')) t.diagnostic(`  ${line}`); };
    show(`code-server log ${serverLog}:`, tail(serverLog));
    for (const f of exthostLogs) show(`${f}:`, tail(f, 30));
    throw error;
  } finally {
    await stopAll();
    mark('teardown done');
    t.diagnostic(`timings: ${timings.join(', ')}`);
    if (ok && process.env['MESH_POLICY_E2E_KEEP'] !== '1') fs.rmSync(run, { recursive: true, force: true });
  }
});

async function runCommand(page: Page, label: string): Promise<void> {
  await page.keyboard.press('F1');
  await page.locator('.quick-input-widget input').fill('>' + label);
  await page.locator('.quick-input-list .monaco-list-row', { hasText: label }).first().waitFor({ timeout: 30_000 });
  await page.keyboard.press('Enter');
}

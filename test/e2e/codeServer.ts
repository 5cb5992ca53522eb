// Harness for the real-VS-Code tests: code-server 4.100.3 (VS Code 1.100.3, installed by
// scripts/e2e/install-code-server.sh) on 127.0.0.1, driven by Debian Chromium via playwright-core.
// See /work/shared/recipes/vscode-e2e.md.
//
// Environment: MESH_POLICY_E2E=required (missing prerequisites fail instead of skip) or =off (skip),
// MESH_POLICY_CODE_SERVER_DIR, MESH_POLICY_CHROMIUM, MESH_POLICY_VSIX, MESH_POLICY_E2E_KEEP=1.
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import * as fs from 'node:fs';
import * as http from 'node:http';
import * as net from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';
import type { TestContext } from 'node:test';
import { promisify } from 'node:util';
import type { Browser, Locator, Page } from 'playwright-core';
import { repoRoot } from './helpers';

export const e2eRequired = process.env['MESH_POLICY_E2E'] === 'required';
const csDir = process.env['MESH_POLICY_CODE_SERVER_DIR'] ?? path.join(repoRoot, '.vscode-e2e', 'cs');
const csEntry = path.join(csDir, 'node_modules', 'code-server', 'out', 'node', 'entry.js');
const chromiumPath = process.env['MESH_POLICY_CHROMIUM'] ??
  ['/usr/bin/chromium', '/usr/bin/chromium-browser', '/usr/bin/google-chrome'].find((p) => fs.existsSync(p));
export const fixture = path.join(repoRoot, 'test', 'e2e', 'fixtures', 'authz-allow-lowercase.yaml');

/**
 * Skips the test (returns false) when code-server, chromium, Node 20 or playwright-core are missing;
 * with MESH_POLICY_E2E=required it throws instead.
 */
export function prerequisitesOrSkip(t: TestContext): boolean {
  if (process.env['MESH_POLICY_E2E'] === 'off') {
    t.skip('VS Code e2e tests switched off (MESH_POLICY_E2E=off)');
    return false;
  }
  const missing: string[] = [];
  if (!fs.existsSync(csEntry)) missing.push(`code-server not found at ${csEntry} (run scripts/e2e/install-code-server.sh)`);
  if (!chromiumPath) missing.push('chromium not found (apt-get install chromium fonts-liberation, or set MESH_POLICY_CHROMIUM)');
  if (process.versions.node.split('.')[0] !== '20') missing.push(`code-server 4.100.x needs Node 20, this is ${process.version}`);
  try {
    require.resolve('playwright-core');
  } catch {
    missing.push('playwright-core is not installed (npm ci)');
  }
  if (!missing.length) return true;
  const reason = `VS Code e2e prerequisites missing: ${missing.join('; ')}`;
  if (e2eRequired) throw new Error(`${reason} (MESH_POLICY_E2E=required)`);
  t.skip(reason);
  return false;
}

/** Environment that preloads test/e2e/netRecorder into every Node process started with it, logging to `log`. */
export function recorderEnv(log: string): Record<string, string> {
  const recorder = path.join(__dirname, 'netRecorder.js');
  return { NODE_OPTIONS: `${process.env['NODE_OPTIONS'] ?? ''} --require ${recorder}`.trim(), MESH_POLICY_NET_LOG: log };
}

export const delay = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms).unref());

// Every code-server started here, so that a timed-out test still leaves nothing running.
const live = new Set<ChildProcess>();
const killLive = () => {
  for (const child of live) if (child.pid) signalGroup(child.pid, 'SIGKILL');
  live.clear();
};
process.on('exit', killLive);
for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) {
  process.once(signal, () => {
    killLive();
    process.kill(process.pid, signal); // then die of the same signal (this handler was a `once`)
  });
}

export class CodeServerRun {
  readonly dir = fs.mkdtempSync(path.join(os.tmpdir(), 'mesh-policy-e2e-'));
  private shotsDir: string | undefined;
  readonly workspace = path.join(this.dir, 'ws');
  readonly userData = path.join(this.dir, 'ud');
  readonly extensionsDir = path.join(this.dir, 'ext');
  readonly serverLog = path.join(this.dir, 'code-server.log');
  port = 0;
  page: Page | undefined;
  private server: ChildProcess | undefined;
  private browser: Browser | undefined;
  private readonly env: NodeJS.ProcessEnv = { ...process.env, XDG_DATA_HOME: path.join(this.dir, 'xdg'), XDG_CONFIG_HOME: path.join(this.dir, 'xdg') };
  /** Where the network recorder logs, once recordNetwork() was called. */
  netLog: string | undefined;
  private readonly common = ['--config', path.join(this.dir, 'config.yaml'), '--user-data-dir', this.userData, '--extensions-dir', this.extensionsDir];

  /** A workspace holding the fixture as security/authz-frontend.yaml (or a copy of `folder`), optionally an example app as shop/, and quiet user settings. */
  constructor(folder?: string, withExample?: string) {
    fs.mkdirSync(path.join(this.workspace, 'security'), { recursive: true });
    fs.mkdirSync(path.join(this.userData, 'User'), { recursive: true });
    if (folder) fs.cpSync(folder, this.workspace, { recursive: true });
    else fs.copyFileSync(fixture, path.join(this.workspace, 'security', 'authz-frontend.yaml'));
    if (withExample) fs.cpSync(withExample, path.join(this.workspace, 'shop'), { recursive: true });
    fs.writeFileSync(path.join(this.dir, 'config.yaml'), 'auth: none\n');
    fs.writeFileSync(path.join(this.userData, 'User', 'settings.json'), JSON.stringify({
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
  }

  async installExtension(vsix: string): Promise<string> {
    const r = await promisify(execFile)(process.execPath, [csEntry, ...this.common, '--install-extension', vsix], { env: this.env, timeout: 60_000 });
    return `${r.stdout}${r.stderr}`;
  }

  /**
   * From the next start() on, every Node process of code-server (itself, the extension host, our
   * language server and its workers) logs its connection attempts and lookups to `netLog`, and
   * non-loopback ones are refused (test/e2e/netRecorder.ts).
   */
  recordNetwork(): string {
    this.netLog = path.join(this.dir, 'net.jsonl');
    Object.assign(this.env, recorderEnv(this.netLog));
    return this.netLog;
  }

  /** Starts code-server on a free 127.0.0.1 port and waits for /healthz. */
  async start(): Promise<void> {
    this.port = await freePort();
    const logFd = fs.openSync(this.serverLog, 'a');
    const child = spawn(process.execPath, [csEntry, ...this.common, '--auth', 'none', '--bind-addr', `127.0.0.1:${this.port}`,
      '--disable-telemetry', '--disable-update-check', '--disable-workspace-trust', '--disable-getting-started-override', this.workspace], {
      env: this.env, cwd: this.dir, detached: true, stdio: ['ignore', logFd, logFd], // detached: own process group, see stop()
    });
    fs.closeSync(logFd);
    this.server = child;
    live.add(child);
    child.once('exit', () => live.delete(child));
    for (let i = 0; ; i++) {
      if (child.exitCode !== null || child.signalCode !== null) throw new Error(`code-server exited (${child.exitCode ?? child.signalCode}):\n${tail(this.serverLog)}`);
      if (await healthz(this.port) === 200) return;
      if (i > 120) throw new Error(`code-server did not answer /healthz within 30 s:\n${tail(this.serverLog)}`);
      await delay(250);
    }
  }

  /**
   * Launches headless Chromium (no DNS except 127.0.0.1) and loads the workbench at `query`, on the
   * workspace folder, or on a `.code-workspace` file (a multi-root workspace) when given.
   */
  async open(query = '', workspaceFile?: string): Promise<Page> {
    const { chromium } = await import('playwright-core');
    this.browser = await chromium.launch({
      executablePath: chromiumPath!,
      headless: true,
      args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking',
        '--disable-component-update', '--disable-sync', '--disable-dev-shm-usage', '--disable-domain-reliability',
        '--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1'],
    });
    const context = await this.browser.newContext({ viewport: { width: 1400, height: 900 } });
    const page = this.page = await context.newPage();
    const opened = workspaceFile ? `workspace=${encodeURIComponent(workspaceFile)}` : `folder=${encodeURIComponent(this.workspace)}`;
    await page.goto(`${this.url}/?${opened}${query}`, { timeout: 90_000 }); // a loaded machine is slow to serve the workbench
    await page.locator('.monaco-workbench').waitFor({ timeout: 60_000 });
    return page;
  }

  /** Screenshot folder, outside the run folder so that it survives cleanup(); made on first use. */
  get shots(): string {
    return this.shotsDir ??= fs.mkdtempSync(path.join(os.tmpdir(), 'mesh-policy-e2e-shots-'));
  }

  get url(): string {
    return `http://127.0.0.1:${this.port}`;
  }

  /** Closes the browser, then SIGTERMs code-server's process group (extension host and language server included). */
  async stop(): Promise<void> {
    const browser = this.browser;
    this.browser = undefined;
    this.page = undefined;
    if (browser) await Promise.race([browser.close().catch(() => undefined), delay(10_000)]);
    const child = this.server;
    this.server = undefined;
    if (!child?.pid) return;
    if (child.exitCode === null && child.signalCode === null) {
      const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
      signalGroup(child.pid, 'SIGTERM');
      if (await Promise.race([exited.then(() => false), delay(8_000).then(() => true)])) {
        signalGroup(child.pid, 'SIGKILL');
        await Promise.race([exited, delay(2_000)]);
      }
    }
    signalGroup(child.pid, 'SIGKILL'); // anything of the group that outlived code-server itself
    live.delete(child);
  }

  /** On failure: screenshot, code-server and extension-host log tails as test diagnostics. */
  async report(t: TestContext): Promise<void> {
    if (this.page) await this.page.screenshot({ path: path.join(this.shots, 'failure.png') }).catch(() => undefined);
    const show = (title: string, text: string) => {
      t.diagnostic(title);
      for (const line of text.split('\n')) t.diagnostic(`  ${line}`);
    };
    t.diagnostic(`FAILED; screenshots in ${this.shots}; run folder kept: ${this.dir}`);
    show(`code-server log ${this.serverLog}:`, tail(this.serverLog));
    for (const f of findFiles(path.join(this.userData, 'logs'), /(remoteexthost\.log|Mesh Policy Auditor\.log)$/)) show(`${f}:`, tail(f, 30));
  }

  /** Deletes the run folder (kept when MESH_POLICY_E2E_KEEP=1). Screenshots stay. */
  cleanup(): void {
    if (process.env['MESH_POLICY_E2E_KEEP'] !== '1') fs.rmSync(this.dir, { recursive: true, force: true });
  }
}

/** Runs `body` against `cs`: on failure a screenshot and the logs go to the test's diagnostics; code-server is always stopped; the run folder is removed after success. */
export async function withCodeServer(t: TestContext, cs: CodeServerRun, body: () => Promise<void>): Promise<void> {
  let ok = false;
  try {
    await body();
    ok = true;
  } catch (error) {
    await cs.report(t);
    throw error;
  } finally {
    await cs.stop();
    if (ok) cs.cleanup();
  }
}

function signalGroup(pid: number, signal: NodeJS.Signals): void {
  try {
    process.kill(-pid, signal);
  } catch {
    /* the group is already gone */
  }
}

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
    req.on('timeout', () => {
      req.destroy();
      resolve(0);
    });
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
    try {
      entries = fs.readdirSync(d, { withFileTypes: true });
    } catch {
      return;
    }
    for (const e of entries) {
      const p = path.join(d, e.name);
      if (e.isDirectory()) walk(p);
      else if (pattern.test(p)) found.push(p);
    }
  };
  walk(dir);
  return found;
}

/** Runs a command from the palette by its label. */
export async function runCommand(page: Page, label: string): Promise<void> {
  await openQuickInput(page, 'F1');
  await page.locator('.quick-input-widget input').fill('>' + label);
  // (Enter runs the focused row: wait until the filtered list has put the command first)
  await page.locator('.quick-input-list .monaco-list-row.focused', { hasText: label }).first().waitFor({ timeout: 30_000 });
  await page.keyboard.press('Enter');
}

/**
 * Presses `key` until the quick input shows (three tries): a key pressed while the workbench moves
 * focus (a tab's tooltip, an editor closing) can be lost, and the palette then never opens.
 */
async function openQuickInput(page: Page, key: string): Promise<void> {
  const input = page.locator('.quick-input-widget input');
  for (let attempt = 1; ; attempt++) {
    await page.keyboard.press(key);
    try {
      await input.waitFor({ state: 'visible', timeout: 5_000 });
      return;
    } catch (error) {
      if (attempt === 3) throw error;
    }
  }
}

/** Opens a workspace file by name (Quick Open) and waits until the editor shows `expectedText`. */
export async function openFile(p: Page, name: string, expectedText: string): Promise<void> {
  await openQuickInput(p, 'Control+P');
  await p.locator('.quick-input-widget input').fill(name);
  await p.locator('.quick-input-list .monaco-list-row.focused', { hasText: name }).first().waitFor({ timeout: 30_000 });
  await p.keyboard.press('Enter');
  await p.locator('.monaco-editor .view-lines', { hasText: expectedText }).waitFor({ timeout: 30_000 });
}

/** Moves the cursor to `position` ("line:column", 1-based), shows the hover there, and returns it once it holds `text`. */
export async function hoverAt(p: Page, position: string, text: string): Promise<Locator> {
  await runCommand(p, 'Go to Line/Column...');
  await p.keyboard.type(position);
  await p.keyboard.press('Enter');
  await runCommand(p, 'Show or Focus Hover');
  const hover = p.locator('.monaco-hover-content', { hasText: text }).first();
  await hover.waitFor({ timeout: 30_000 });
  return hover;
}

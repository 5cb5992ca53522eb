// A small LSP client over stdio for the benchmarks: it drives our server and yaml-language-server
// the same way (initialize, workspace/configuration answers, didOpen/didChange, and waiting for
// the publishDiagnostics of one document version), so their figures compare like with like.
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';

const require = createRequire(import.meta.url);
const { createMessageConnection, StreamMessageReader, StreamMessageWriter } = require('vscode-jsonrpc/node');

/**
 * The command that starts our built server over stdio as the VS Code client starts it: with the
 * V8 flags of server/node-flags.json. `extra` node flags (a profiler's) go before the script.
 */
export function ourServerCommand(root, extra = []) {
  const flags = JSON.parse(readFileSync(join(root, 'server', 'node-flags.json'), 'utf8'));
  return [process.execPath, ...flags, ...extra, join(root, 'dist', 'server.js'), '--stdio'];
}

export class LspClient {
  /**
   * @param {string[]} command  executable and arguments (the server's stdio mode)
   * @param {{ settings?: (section: string | undefined) => unknown, env?: Record<string, string>, nodeOptions?: string[] }} options
   */
  constructor(command, options = {}) {
    this.settings = options.settings ?? (() => null);
    this.published = new Map();
    /** The text of each open document as last sent. */
    this.texts = new Map();
    this.incrementalSync = false;
    this.waiters = [];
    this.notifications = [];
    this.stderr = '';
    this.lastPublishAt = 0;
    this.process = spawn(command[0], command.slice(1), { stdio: 'pipe', env: { ...process.env, ...(options.env ?? {}) } });
    this.process.stderr.on('data', (chunk) => { this.stderr += chunk.toString(); if (this.stderr.length > 100_000) this.stderr = this.stderr.slice(-50_000); });
    this.exited = new Promise((resolve) => this.process.on('exit', (code) => resolve(code)));
    const connection = createMessageConnection(new StreamMessageReader(this.process.stdout), new StreamMessageWriter(this.process.stdin));
    this.connection = connection;
    connection.onNotification('textDocument/publishDiagnostics', (params) => {
      const list = this.published.get(params.uri) ?? [];
      list.push({ at: performance.now(), version: params.version, diagnostics: params.diagnostics });
      if (list.length > 50) list.splice(0, list.length - 50);
      this.published.set(params.uri, list);
      this.lastPublishAt = performance.now();
      this.wake();
    });
    connection.onNotification((method, params) => {
      this.notifications.push({ at: performance.now(), method, params });
      if (this.notifications.length > 500) this.notifications.splice(0, 250);
      this.wake();
    });
    connection.onRequest('workspace/configuration', (params) => params.items.map((item) => this.settings(item.section)));
    connection.onRequest('client/registerCapability', () => null);
    connection.onRequest('client/unregisterCapability', () => null);
    connection.onRequest('window/workDoneProgress/create', () => null);
    connection.onRequest('workspace/workspaceFolders', () => this.folders ?? null);
    connection.onRequest((method) => {
      // yaml-language-server asks for custom things (e.g. custom/schema/request); answer null
      if (process.env.BENCH_LSP_DEBUG) process.stderr.write(`unhandled request ${method}\n`);
      return null;
    });
    connection.listen();
  }

  wake() {
    const waiters = this.waiters;
    this.waiters = [];
    for (const w of waiters) w();
  }

  async initialize(rootPath, initializationOptions = undefined) {
    const rootUri = rootPath ? `file://${rootPath}` : null;
    this.folders = rootPath ? [{ uri: rootUri, name: 'bench' }] : null;
    const result = await this.connection.sendRequest('initialize', {
      processId: process.pid, rootUri, rootPath: rootPath ?? null, workspaceFolders: this.folders, initializationOptions,
      capabilities: {
        textDocument: { publishDiagnostics: { relatedInformation: true, versionSupport: true }, synchronization: { didSave: true }, hover: { contentFormat: ['markdown'] } },
        workspace: { configuration: true, workspaceFolders: true, didChangeConfiguration: { dynamicRegistration: true } },
        window: { workDoneProgress: true },
      },
    });
    this.connection.sendNotification('initialized', {});
    const sync = result?.capabilities?.textDocumentSync;
    this.incrementalSync = (typeof sync === 'number' ? sync : sync?.change) === 2;
    return result;
  }

  didChangeConfiguration(settings) {
    this.connection.sendNotification('workspace/didChangeConfiguration', { settings });
  }

  open(uri, text, version = 1, languageId = 'yaml') {
    this.texts.set(uri, text);
    this.connection.sendNotification('textDocument/didOpen', { textDocument: { uri, languageId, version, text } });
  }

  /** Changes the document to `text`. To a server that asked for incremental sync, as VS Code
   * does: only the changed range (between the common prefix and suffix) and its new text. */
  change(uri, text, version) {
    const before = this.texts.get(uri);
    this.texts.set(uri, text);
    const change = this.incrementalSync && before !== undefined ? rangeChange(before, text) : { text };
    this.connection.sendNotification('textDocument/didChange', { textDocument: { uri, version }, contentChanges: [change] });
  }

  /** Latest publish for `uri` that satisfies `accept` (default: for `version`, if given), after `since`. */
  latest(uri, { version, since = 0, accept } = {}) {
    const list = this.published.get(uri) ?? [];
    for (let i = list.length - 1; i >= 0; i--) {
      const p = list[i];
      if (p.at < since) break;
      if (version !== undefined && p.version !== undefined && p.version !== null && p.version !== version) continue;
      if (accept && !accept(p.diagnostics)) continue;
      return p;
    }
    return undefined;
  }

  /** Waits until a publish for `uri` satisfies the condition; resolves with it (its `at` is when it arrived). */
  async waitForDiagnostics(uri, { version, since = 0, accept, timeoutMs = 120_000 } = {}) {
    const deadline = performance.now() + timeoutMs;
    for (;;) {
      const found = this.latest(uri, { version, since, accept });
      if (found) return found;
      const remaining = deadline - performance.now();
      if (remaining <= 0) throw new Error(`no diagnostics for ${uri} (version ${version}) within ${timeoutMs} ms; stderr: ${this.stderr.slice(-2000)}`);
      await new Promise((resolve) => {
        const timer = setTimeout(resolve, remaining);
        this.waiters.push(() => { clearTimeout(timer); resolve(); });
      });
    }
  }

  /** Waits for any notification (method, params) the predicate accepts, after `since`. */
  async waitForNotification(predicate, { since = 0, timeoutMs = 600_000 } = {}) {
    const deadline = performance.now() + timeoutMs;
    for (;;) {
      const found = this.notifications.find((n) => n.at >= since && predicate(n.method, n.params));
      if (found) return found;
      const remaining = deadline - performance.now();
      if (remaining <= 0) return undefined;
      await new Promise((resolve) => {
        const timer = setTimeout(resolve, Math.min(remaining, 1000));
        this.waiters.push(() => { clearTimeout(timer); resolve(); });
      });
    }
  }

  request(method, params) {
    return this.connection.sendRequest(method, params);
  }

  async shutdown() {
    try {
      await Promise.race([this.connection.sendRequest('shutdown'), new Promise((r) => setTimeout(r, 3000))]);
      this.connection.sendNotification('exit');
    } catch {
      // already gone
    }
    const timer = setTimeout(() => this.process.kill('SIGKILL'), 5000);
    await this.exited;
    clearTimeout(timer);
    this.connection.dispose();
  }
}

export function percentile(values, p) {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))];
}

/** Peak RSS (VmHWM) of a running process, in MiB, from /proc; undefined where there is no /proc. */
export async function peakRssMiB(pid) {
  const { readFile } = await import('node:fs/promises');
  try {
    const status = await readFile(`/proc/${pid}/status`, 'utf8');
    const m = /VmHWM:\s+(\d+) kB/.exec(status);
    return m ? Math.round(Number(m[1]) / 1024) : undefined;
  } catch {
    return undefined;
  }
}

/** The one range edit that turns `before` into `after`, in LSP positions (UTF-16, as JS strings). */
export function rangeChange(before, after) {
  let prefix = 0;
  const shorter = Math.min(before.length, after.length);
  while (prefix < shorter && before.charCodeAt(prefix) === after.charCodeAt(prefix)) prefix++;
  let suffix = 0;
  while (suffix < shorter - prefix && before.charCodeAt(before.length - 1 - suffix) === after.charCodeAt(after.length - 1 - suffix)) suffix++;
  const position = (offset) => {
    const lineStart = before.lastIndexOf('\n', offset - 1) + 1;
    let line = 0;
    for (let i = before.indexOf('\n'); i >= 0 && i < offset; i = before.indexOf('\n', i + 1)) line++;
    return { line, character: offset - lineStart };
  };
  return { range: { start: position(prefix), end: position(before.length - suffix) }, text: after.slice(prefix, after.length - suffix) };
}

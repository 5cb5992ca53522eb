import { spawn, type ChildProcess } from 'node:child_process';
import { join } from 'node:path';
import { createMessageConnection, StreamMessageReader, StreamMessageWriter, type MessageConnection } from 'vscode-jsonrpc/node';
import type { Diagnostic, PublishDiagnosticsParams } from 'vscode-languageserver-protocol';
import { REPO_ROOT } from './paths';

/** A real LSP client over stdio to the built server (`bin/mesh-policy-server.js --stdio`). */
export class LspTestClient {
  readonly connection: MessageConnection;
  private readonly process: ChildProcess;
  get pid(): number | undefined {
    return this.process.pid;
  }
  private readonly diagnostics = new Map<string, PublishDiagnosticsParams>();
  /** Every publishDiagnostics received, in order. */
  readonly published: PublishDiagnosticsParams[] = [];
  private waiters: Array<() => void> = [];
  readonly stderr: string[] = [];
  /** The server's window/logMessage texts, in order. */
  readonly logs: string[] = [];
  exited = false;
  exitCode: number | null = null;

  /** `nodeFlags` go before the launcher on the node command line (the launcher adds the server's own flags when they are missing). */
  constructor(extraEnv: Record<string, string> = {}, nodeFlags: string[] = []) {
    this.process = spawn(process.execPath, [...nodeFlags, join(REPO_ROOT, 'bin', 'mesh-policy-server.js'), '--stdio'], { stdio: 'pipe', env: { ...process.env, ...extraEnv } });
    this.process.stderr!.on('data', (chunk: Buffer) => this.stderr.push(chunk.toString()));
    this.process.on('exit', (code) => { this.exited = true; this.exitCode = code; });
    this.connection = createMessageConnection(new StreamMessageReader(this.process.stdout!), new StreamMessageWriter(this.process.stdin!));
    this.connection.onNotification('textDocument/publishDiagnostics', (params: PublishDiagnosticsParams) => {
      this.diagnostics.set(params.uri, params);
      this.published.push(params);
      const waiters = this.waiters;
      this.waiters = [];
      waiters.forEach((w) => w());
    });
    this.connection.onNotification('window/logMessage', (params: { message: string }) => { this.logs.push(params.message); });
    this.connection.onRequest('workspace/configuration', (params: { items: unknown[] }) => params.items.map(() => null));
    this.connection.onRequest('client/registerCapability', () => null);
    this.connection.listen();
  }

  /** `textDocument`: more client capabilities of that section (e.g. `definition: {linkSupport: true}`). */
  async initialize(rootUri: string | null = null, workspaceFolders: { uri: string; name: string }[] | null = null, initializationOptions?: unknown, textDocument: Record<string, unknown> = {}): Promise<unknown> {
    const result = await this.connection.sendRequest('initialize', {
      processId: process.pid, rootUri, workspaceFolders, ...(initializationOptions !== undefined ? { initializationOptions } : {}),
      capabilities: { textDocument: { publishDiagnostics: { relatedInformation: true }, hover: { contentFormat: ['markdown'] }, ...textDocument }, workspace: { configuration: true } },
    });
    await this.connection.sendNotification('initialized', {});
    return result;
  }

  async open(uri: string, text: string, languageId = 'yaml', version = 1): Promise<void> {
    await this.connection.sendNotification('textDocument/didOpen', { textDocument: { uri, languageId, version, text } });
  }

  async change(uri: string, text: string, version: number): Promise<void> {
    await this.connection.sendNotification('textDocument/didChange', { textDocument: { uri, version }, contentChanges: [{ text }] });
  }

  /** Resolves with the diagnostics for `uri` once they satisfy `ready` (default: any publish, for a version if given). */
  async diagnosticsFor(uri: string, options: { version?: number; ready?: (d: Diagnostic[]) => boolean; timeoutMs?: number } = {}): Promise<Diagnostic[]> {
    const deadline = Date.now() + (options.timeoutMs ?? 10_000);
    for (;;) {
      const current = this.diagnostics.get(uri);
      if (current && (options.version === undefined || current.version === options.version) && (options.ready?.(current.diagnostics) ?? true)) return current.diagnostics;
      const remaining = deadline - Date.now();
      if (remaining <= 0) throw new Error(`no matching diagnostics for ${uri} within the timeout (last: ${JSON.stringify(current?.diagnostics.map((d) => d.message))})`);
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, remaining);
        this.waiters.push(() => { clearTimeout(timer); resolve(); });
      });
    }
  }

  request<R>(method: string, params: unknown): Promise<R> {
    return this.connection.sendRequest(method, params) as Promise<R>;
  }

  async shutdown(): Promise<void> {
    try {
      await Promise.race([this.connection.sendRequest('shutdown'), new Promise((r) => setTimeout(r, 2000))]);
      await this.connection.sendNotification('exit');
    } catch {
      // The server may already be gone.
    }
    await new Promise<void>((resolve) => {
      if (this.exited) return resolve();
      const timer = setTimeout(() => { this.process.kill('SIGKILL'); resolve(); }, 3000);
      this.process.on('exit', () => { clearTimeout(timer); resolve(); });
    });
    this.connection.dispose();
  }
}

/** Waits until the last notification in `received` satisfies `ready`, and returns it. */
export async function waitForLast<T>(received: readonly T[], ready: (last: T) => boolean, timeoutMs = 30_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    const last = received[received.length - 1];
    if (last !== undefined && ready(last)) return last;
    await new Promise((r) => setTimeout(r, 25));
  }
  throw new Error(`status never became ready: ${JSON.stringify(received.slice(-3))}`);
}

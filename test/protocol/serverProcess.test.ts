import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { LspTestClient } from '../helpers/lspClient';
import { REPO_ROOT } from '../helpers/paths';

const SERVER_FLAGS: string[] = JSON.parse(readFileSync(join(REPO_ROOT, 'server', 'node-flags.json'), 'utf8')) as string[];

/** The server's first log line: `mesh-policy-server <version> on Node <v>, process <pid>, flags: <flags>`. */
async function startLine(client: LspTestClient): Promise<{ pid: number; flags: string[] }> {
  const deadline = Date.now() + 10_000;
  for (;;) {
    const line = client.logs.find((message) => message.startsWith('mesh-policy-server '));
    const match = line && /process (\d+), flags: (.*)$/.exec(line);
    if (match) return { pid: Number(match[1]), flags: match[2] === 'none' ? [] : match[2]!.split(' ') };
    if (Date.now() > deadline) throw new Error(`no start line among ${JSON.stringify(client.logs)}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

describe('mesh-policy-server: the server runs with its V8 flags however it is started', () => {
  const clients: LspTestClient[] = [];
  after(async () => { await Promise.all(clients.map((c) => c.shutdown())); });

  it('names flags that V8 takes: none of them is rejected at start', () => {
    assert.ok(SERVER_FLAGS.length > 0);
    for (const flag of SERVER_FLAGS) assert.match(flag, /^--[a-z-]+(=\d+)?$/);
  });

  it('started without them (as `npx mesh-policy-server --stdio`), it runs in a child process that has them, and answers over the same streams', async () => {
    const client = new LspTestClient();
    clients.push(client);
    await client.initialize(null);
    const started = await startLine(client);
    assert.notEqual(started.pid, client.pid, 'a child process');
    for (const flag of SERVER_FLAGS) assert.ok(started.flags.includes(flag), `${flag} in ${started.flags.join(' ')}`);
    await client.shutdown();
    assert.equal(client.exitCode, 0, 'the launcher exits as the server did');
  });

  it('started with them (as the VS Code client starts it), it runs in that process', async () => {
    const client = new LspTestClient({}, SERVER_FLAGS);
    clients.push(client);
    await client.initialize(null);
    const started = await startLine(client);
    assert.equal(started.pid, client.pid);
    for (const flag of SERVER_FLAGS) assert.ok(started.flags.includes(flag));
  });

  it('started under a debugger (`node --inspect`), it runs in that process, where the debugger is attached', async () => {
    // (port 0: any free port, on the loopback address only)
    const client = new LspTestClient({}, ['--inspect=127.0.0.1:0']);
    clients.push(client);
    await client.initialize(null);
    const started = await startLine(client);
    assert.equal(started.pid, client.pid, 'a child would ask for the inspector port the launcher holds');
    await client.shutdown();
    assert.equal(client.exitCode, 0);
  });
});

describe('mesh-policy-server: after shutdown', () => {
  it('refuses requests with InvalidRequest, drops notifications, and exits on `exit`', async () => {
    const client = new LspTestClient();
    const uri = 'file:///nowhere/policy.yaml';
    const text = 'apiVersion: security.istio.io/v1\nkind: AuthorizationPolicy\nmetadata:\n  name: p\nspec:\n  action: allow\n';
    try {
      await client.initialize(null);
      await client.open(uri, text);
      await client.diagnosticsFor(uri);
      await client.request('shutdown', null);
      const published = client.published.length;
      await assert.rejects(client.request('textDocument/hover', { textDocument: { uri }, position: { line: 5, character: 4 } }), (error: { code?: number }) => error.code === -32600);
      await client.change(uri, text.replace('allow', 'deny'), 2);
      await new Promise((resolve) => setTimeout(resolve, 300));
      assert.deepEqual(client.published.slice(published).filter((p) => p.version === 2), [], 'a change after shutdown is not linted');
      await client.connection.sendNotification('exit');
      for (let waited = 0; !client.exited && waited < 3000; waited += 50) await new Promise((resolve) => setTimeout(resolve, 50));
      assert.equal(client.exitCode, 0);
    } finally {
      await client.shutdown();
    }
  });
});

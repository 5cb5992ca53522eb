import assert from 'node:assert/strict';
import { cpSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { after, before, describe, it } from 'node:test';
import type { CompletionItem, Hover } from 'vscode-languageserver-protocol';
import { LspTestClient, waitForLast } from '../helpers/lspClient';
import { REPO_ROOT } from '../helpers/paths';
import { scratchDir } from '../helpers/scratch';

/** A Consul HCL config entry in the editor, on a copy of examples/consul with its access logs. */
describe('Consul HCL in the editor (LSP)', () => {
  let client: LspTestClient;
  const statuses: { state: string; policies: number }[] = [];
  const workspace = scratchDir('mesh-policy-consul-');
  const path = join(workspace, 'config', 'api.hcl');
  const uri = pathToFileURL(path).href;

  before(async () => {
    cpSync(join(REPO_ROOT, 'examples', 'consul'), workspace, { recursive: true });
    // Without the dashboard's last permission (a deny for the rest of /v1/, in both definitions of
    // api's intentions), its form posts, observed denied, fall to the default intention policy
    // (allow): an MPA4002 on the source.
    for (const [file, lastPermission] of [['config/api.hcl', /\n {4}# Any other write[^]*?\n {4}\},\n/], ['crds/service-intentions.yaml', /\n {8}# Any other write[^]*?pathPrefix: \/v1\/\n/]] as const) {
      const text = readFileSync(join(workspace, file), 'utf8');
      assert.match(text, lastPermission, `examples/consul/${file} ends the dashboard's permissions with a deny`);
      writeFileSync(join(workspace, file), text.replace(lastPermission, '\n'));
    }
    // The example's dashboard source in api.hcl also sets Action next to its Permissions (mistake 9
    // of examples/README.md), which makes Consul refuse the whole entry: taken out here, so that the
    // entry is stored and decides.
    const api = readFileSync(path, 'utf8');
    const both = '  Name   = "dashboard"\n  Action = "allow"\n';
    assert.ok(api.includes(both));
    writeFileSync(path, api.replace(both, '  Name   = "dashboard"\n'));
    client = new LspTestClient();
    client.connection.onNotification('meshPolicy/trafficStatus', (s: { state: string; policies: number }) => { statuses.push(s); });
    await client.initialize(pathToFileURL(workspace).href, [{ uri: pathToFileURL(workspace).href, name: 'consul' }]);
    await waitForLast(statuses, (s) => s.state === 'ready' && s.policies > 0);
    await client.open(uri, readFileSync(path, 'utf8'), 'hcl');
  });

  after(async () => {
    await client.shutdown();
  });

  it('names a source\'s intention once, and underlines the source\'s Name, not its whole block', async () => {
    const diagnostics = await client.diagnosticsFor(uri, { ready: (d) => d.some((x) => x.code === 'MPA4002') });
    const allowed = diagnostics.find((d) => d.code === 'MPA4002')!;
    assert.match(String(allowed.message), /^service-intentions api Sources\[0\] dashboard would allow /);
    const lines = readFileSync(path, 'utf8').split('\n');
    const name = lines.findIndex((line) => /^\s*Name\s*=\s*"dashboard"/.test(line));
    assert.deepEqual(allowed.range, { start: { line: name, character: lines[name]!.indexOf('"dashboard"') }, end: { line: name, character: lines[name]!.indexOf('"dashboard"') + '"dashboard"'.length } });
  });

  it('reads an untitled buffer of the language hcl as HCL', async () => {
    const untitled = 'untitled:Untitled-1';
    // Consul's intention actions are allow and deny, in lower case.
    await client.open(untitled, 'Kind = "service-intentions"\nName = "api"\nSources = [\n  {\n    Name   = "web"\n    Action = "permit"\n  },\n]\n', 'hcl');
    const diagnostics = await client.diagnosticsFor(untitled, { ready: (d) => d.some((x) => x.code === 'MPA0104') });
    const action = diagnostics.find((d) => d.code === 'MPA0104')!;
    assert.equal(action.message, 'Action must be one of allow, deny (got "permit")');
    assert.equal(action.range.start.line, 5);
    assert.ok(!diagnostics.some((d) => d.code === 'MPA0001'), 'no syntax error: not read as YAML');
    await client.connection.sendNotification('textDocument/didClose', { textDocument: { uri: untitled } });
  });

  it('offers no completion and no hover in a comment', async () => {
    for (const character of [1, 2, 20]) {
      const position = { line: 0, character };
      assert.deepEqual(await client.request<CompletionItem[]>('textDocument/completion', { textDocument: { uri }, position }), []);
      assert.equal(await client.request<Hover | null>('textDocument/hover', { textDocument: { uri }, position }), null);
    }
    assert.notEqual(await client.request<Hover | null>('textDocument/hover', { textDocument: { uri }, position: { line: 2, character: 1 } }), null, 'the code below the comment has a hover');
  });
});

import assert from 'node:assert/strict';
import { cpSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { after, before, describe, it } from 'node:test';
import type { DocumentSymbol, Location, LocationLink, SymbolInformation } from 'vscode-languageserver-protocol';
import { LspTestClient, waitForLast } from '../helpers/lspClient';
import { REPO_ROOT } from '../helpers/paths';

/**
 * Navigation over a real LSP connection, on a copy of examples/linkerd (docs/navigation.md).
 * What each reference names follows Linkerd's reference rules (linkerd.io "Authorization Policy"
 * reference: an AuthorizationPolicy's `targetRef` names a Server or HTTPRoute of its namespace,
 * `requiredAuthenticationRefs` a MeshTLSAuthentication, NetworkAuthentication or ServiceAccount;
 * an HTTPRoute's `parentRefs` its Server).
 */
describe('go to definition, references and symbols (LSP)', () => {
  let workspace: string;
  let client: LspTestClient;
  let capabilities: Record<string, unknown>;
  const uriOf = (path: string) => pathToFileURL(join(workspace, path)).href;
  /** `file:line:character` of a location, 1-based line, relative to the workspace. */
  const where = (uri: string, range: { start: { line: number; character: number } }) => `${relative(workspace, fileURLToPath(uri))}:${range.start.line + 1}:${range.start.character}`;
  /** The position of `text` on 1-based `line` of `path`, plus `into` characters. */
  const at = (path: string, line: number, text: string, into = 1) => {
    const character = readFileSync(join(workspace, path), 'utf8').split('\n')[line - 1]!.indexOf(text);
    assert.ok(character >= 0, `${text} on ${path}:${line}`);
    return { textDocument: { uri: uriOf(path) }, position: { line: line - 1, character: character + into } };
  };
  const opened = new Set<string>();
  const open = async (path: string) => {
    if (opened.has(path)) return;
    opened.add(path);
    await client.open(uriOf(path), readFileSync(join(workspace, path), 'utf8'));
  };

  before(async () => {
    workspace = mkdtempSync(join(tmpdir(), 'mesh-policy-navigate-'));
    cpSync(join(REPO_ROOT, 'examples', 'linkerd'), workspace, { recursive: true });
    client = new LspTestClient();
    const statuses: { state: string }[] = [];
    client.connection.onNotification('meshPolicy/trafficStatus', (s: { state: string }) => { statuses.push(s); });
    client.connection.onRequest('workspace/codeLens/refresh', () => null);
    const uri = pathToFileURL(workspace).href;
    const result = await client.initialize(uri, [{ uri, name: 'linkerd' }], { trusted: true }, { definition: { linkSupport: true } }) as { capabilities: Record<string, unknown> };
    capabilities = result.capabilities;
    await waitForLast(statuses, (s) => s.state === 'ready' || s.state === 'empty', 60_000);
  });

  after(async () => {
    await client?.shutdown();
    rmSync(workspace, { recursive: true, force: true });
  });

  it('announces the four providers', () => {
    assert.equal(capabilities['definitionProvider'], true);
    assert.equal(capabilities['referencesProvider'], true);
    assert.ok(capabilities['documentSymbolProvider']);
    assert.equal(capabilities['workspaceSymbolProvider'], true);
  });

  it('goes from a targetRef to the HTTPRoute it names, underlining the reference', async () => {
    await open('policy/authorization-policies.yaml');
    const links = await client.request<LocationLink[]>('textDocument/definition', at('policy/authorization-policies.yaml', 13, 'web-app'));
    assert.deepEqual(links.map((l) => where(l.targetUri, l.targetSelectionRange)), ['policy/web-routes.yaml:9:8']);
    assert.deepEqual(links[0]!.originSelectionRange, { start: { line: 12, character: 10 }, end: { line: 12, character: 17 } });
  });

  it('goes from a required authentication and from a ServiceAccount ref to their definitions', async () => {
    await open('policy/authorization-policies.yaml');
    const auth = await client.request<LocationLink[]>('textDocument/definition', at('policy/authorization-policies.yaml', 17, 'web-clients'));
    assert.deepEqual(auth.map((l) => where(l.targetUri, l.targetSelectionRange)), ['policy/authentications.yaml:8:8']);
    const text = readFileSync(join(workspace, 'policy/authorization-policies.yaml'), 'utf8').split('\n');
    const accountLine = text.findIndex((l, i) => i > 58 && /^\s+name: /.test(l)) + 1;
    const account = await client.request<LocationLink[]>('textDocument/definition', at('policy/authorization-policies.yaml', accountLine, 'name: ', 7));
    const name = text[accountLine - 1]!.trim().slice('name: '.length);
    assert.deepEqual(account.map((l) => where(l.targetUri, l.targetSelectionRange)).map((w) => w.split(':')[0]), ['app/emojivoto.yaml']);
    const target = readFileSync(join(workspace, 'app/emojivoto.yaml'), 'utf8').split('\n')[account[0]!.targetSelectionRange.start.line]!;
    assert.match(target, new RegExp(`name: ${name}\\b`));
  });

  it('follows edits: the changed name, then the changed group, lead to the other route', async () => {
    await open('policy/authorization-policies.yaml');
    const uri = uriOf('policy/authorization-policies.yaml');
    const original = readFileSync(join(workspace, 'policy/authorization-policies.yaml'), 'utf8');
    const lines = original.split('\n');
    lines[12] = lines[12]!.replace('name: web-app', 'name: web-probes');
    await client.change(uri, lines.join('\n'), 2);
    const links = await client.request<LocationLink[]>('textDocument/definition', at('policy/authorization-policies.yaml', 17, 'web-clients'));
    assert.deepEqual(links.map((l) => where(l.targetUri, l.targetSelectionRange)), ['policy/authentications.yaml:8:8']);
    // web-probes is a gateway.networking.k8s.io HTTPRoute: a policy.linkerd.io ref names no such route
    assert.equal(await client.request('textDocument/definition', { textDocument: { uri }, position: { line: 12, character: 14 } }), null);
    lines[10] = lines[10]!.replace('group: policy.linkerd.io', 'group: gateway.networking.k8s.io');
    await client.change(uri, lines.join('\n'), 3);
    const moved = await client.request<LocationLink[]>('textDocument/definition', { textDocument: { uri }, position: { line: 12, character: 14 } });
    assert.deepEqual(moved.map((l) => where(l.targetUri, l.targetSelectionRange)), ['policy/web-routes.yaml:35:8']);
    await client.change(uri, original, 4);
    const back = await client.request<LocationLink[]>('textDocument/definition', { textDocument: { uri }, position: { line: 12, character: 12 } });
    assert.deepEqual(back.map((l) => where(l.targetUri, l.targetSelectionRange)), ['policy/web-routes.yaml:9:8']);
  });

  it('hovers a reference with what it names and where', async () => {
    await open('policy/authorization-policies.yaml');
    const hover = await client.request<{ contents: { value: string } }>('textDocument/hover', at('policy/authorization-policies.yaml', 13, 'web-app'));
    assert.match(hover.contents.value, /Refers to `HTTPRoute emojivoto\/web-app` \(policy\/web-routes\.yaml:9\)/);
  });

  it('answers null where the cursor names nothing', async () => {
    await open('policy/authorization-policies.yaml');
    assert.equal(await client.request('textDocument/definition', at('policy/authorization-policies.yaml', 11, 'policy.linkerd.io')), null);
  });

  it('finds every reference to a Server from its name, the declaration first when asked', async () => {
    await open('policy/servers.yaml');
    const locations = await client.request<Location[]>('textDocument/references', { ...at('policy/servers.yaml', 18, 'emoji-grpc'), context: { includeDeclaration: true } });
    const places = locations.map((l) => where(l.uri, l.range));
    assert.equal(places[0], 'policy/servers.yaml:18:8');
    assert.ok(places.includes('policy/authorization-policies.yaml:45:10'), places.join(', '));
  });

  it('renames a Server with F2: its name and the routes whose parent it is', async () => {
    await open('policy/servers.yaml');
    const prepared = await client.request<{ range: unknown; placeholder: string }>('textDocument/prepareRename', at('policy/servers.yaml', 6, 'web-http'));
    assert.deepEqual(prepared, { range: { start: { line: 5, character: 8 }, end: { line: 5, character: 16 } }, placeholder: 'web-http' });
    const edit = await client.request<{ changes: Record<string, { range: { start: { line: number; character: number } }; newText: string }[]> }>('textDocument/rename', { ...at('policy/servers.yaml', 6, 'web-http'), newName: 'web-app-http' });
    const places = Object.entries(edit.changes).flatMap(([uri, edits]) => edits.map((e) => `${where(uri, e.range)} ${e.newText}`)).sort();
    assert.deepEqual(places, ['policy/servers.yaml:6:8 web-app-http', 'policy/web-routes.yaml:15:12 web-app-http', 'policy/web-routes.yaml:41:12 web-app-http']);
  });

  it('renames a ServiceAccount with F2: its manifest, the pods that run as it, and the refs that name it; an account no manifest declares is refused with why', async () => {
    await open('policy/authentications.yaml');
    const prepared = await client.request<{ range: unknown; placeholder: string }>('textDocument/prepareRename', at('policy/authentications.yaml', 24, 'web'));
    assert.deepEqual(prepared, { range: { start: { line: 23, character: 12 }, end: { line: 23, character: 15 } }, placeholder: 'web' });
    const edit = await client.request<{ changes: Record<string, { range: { start: { line: number; character: number } }; newText: string }[]> }>('textDocument/rename', { ...at('policy/authentications.yaml', 24, 'web'), newName: 'web-frontend' });
    const places = Object.entries(edit.changes).flatMap(([uri, edits]) => edits.map((e) => `${where(uri, e.range)} ${e.newText}`)).sort();
    assert.deepEqual(places, ['app/emojivoto.yaml:18:8 web-frontend', 'app/emojivoto.yaml:50:26 web-frontend', 'policy/authentications.yaml:24:12 web-frontend', 'policy/authorization-policies.yaml:61:12 web-frontend']);
    // an account that only the identities name (ingress-nginx's, installed elsewhere)
    await assert.rejects(client.request('textDocument/prepareRename', at('policy/authentications.yaml', 12, 'ingress-nginx')), /no manifest of the workspace declares ServiceAccount ingress-nginx\/ingress-nginx/);
  });

  it('outlines a file\'s policies with their rules', async () => {
    await open('policy/web-routes.yaml');
    const symbols = await client.request<DocumentSymbol[]>('textDocument/documentSymbol', { textDocument: { uri: uriOf('policy/web-routes.yaml') } });
    assert.deepEqual(symbols.map((s) => s.name), ['HTTPRoute emojivoto/web-app', 'HTTPRoute emojivoto/web-probes']);
    assert.ok(symbols[0]!.children!.length > 0 && symbols[0]!.children!.every((c) => /^rules\[\d+\]$/.test(c.name)));
    assert.equal(symbols[0]!.selectionRange.start.line, 8);
  });

  it('finds the workspace\'s policies by name', async () => {
    const symbols = await client.request<SymbolInformation[]>('workspace/symbol', { query: 'emoji-grpc' });
    // Those that contain the query as typed come first; the others match its letters in order (emojivoto/voting-grpc).
    assert.deepEqual(symbols.map((s) => s.name), ['AuthorizationPolicy emojivoto/emoji-grpc-web', 'Server emojivoto/emoji-grpc', 'AuthorizationPolicy emojivoto/voting-grpc-web', 'Server emojivoto/voting-grpc']);
    assert.ok(symbols.every((s) => s.location.uri.startsWith('file:')));
  });
});

import assert from 'node:assert/strict';
import { cpSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { after, before, describe, it } from 'node:test';
import type { CodeAction, Diagnostic, Range } from 'vscode-languageserver-protocol';
import { LspTestClient, waitForLast } from '../helpers/lspClient';
import { REPO_ROOT } from '../helpers/paths';
import { applyEdits } from '../helpers/edits';
import { LineIndex } from '../../server/src/engine/source/lineIndex';

/**
 * The quick-fix list as the editor asks for it (textDocument/codeAction over a real connection),
 * on copies of examples/istio and examples/linkerd with their access logs. What the list must do comes from the LSP
 * specification: `context.diagnostics` are the diagnostics at the range, `context.only` the kinds
 * wanted (a kind takes its dotted sub-kinds and nothing else), `isPreferred` marks the fix that
 * properly addresses the error (what auto fix applies); and from Kubernetes: a new object needs a
 * name no other object of its kind in the namespace has.
 */

interface Status { state: string; policies: number }

/** "Kind namespace/name" of each YAML document in `text`. */
function documentsOf(text: string): string[] {
  return text.split(/^---$/m).flatMap((doc) => {
    const kind = /^kind: (\S+)$/m.exec(doc)?.[1];
    return kind ? [`${kind} ${/^ {2}namespace: (\S+)$/m.exec(doc)?.[1]}/${/^ {2}name: (\S+)$/m.exec(doc)?.[1]}`] : [];
  });
}

/** The documents an action's edits add. */
function addedDocuments(action: CodeAction): string[] {
  return Object.values(action.edit?.changes ?? {}).flat().flatMap((edit) => documentsOf(edit.newText));
}

function documentsIn(folder: string): string[] {
  return readdirSync(folder).filter((file) => file.endsWith('.yaml')).flatMap((file) => documentsOf(readFileSync(join(folder, file), 'utf8')));
}

async function startOn(example: string): Promise<{ client: LspTestClient; workspace: string }> {
  const workspace = mkdtempSync(join(tmpdir(), 'mesh-policy-quickfix-'));
  cpSync(join(REPO_ROOT, 'examples', example), workspace, { recursive: true });
  return { client: await startIn(workspace, example), workspace };
}

/** A server on the workspace folder, once its traffic is loaded. */
async function startIn(workspace: string, name: string): Promise<LspTestClient> {
  const statuses: Status[] = [];
  const client = new LspTestClient();
  client.connection.onNotification('meshPolicy/trafficStatus', (s: Status) => { statuses.push(s); });
  client.connection.onRequest('workspace/codeLens/refresh', () => null);
  await client.initialize(pathToFileURL(workspace).href, [{ uri: pathToFileURL(workspace).href, name }]);
  await waitForLast(statuses, (s) => s.state === 'ready' && s.policies > 0, 60_000);
  return client;
}

/**
 * Asks for the fixes at `diagnostic`, checks the first is `title` and the only preferred one,
 * applies its edit, and checks that only the diagnostic's own text changed (to `replacement`) and
 * that the server, given the new text, no longer reports the diagnostic while keeping the file's
 * other lint findings. The original text is restored afterwards.
 */
async function applyPreferredFix(client: LspTestClient, uri: string, text: string, diagnostic: Diagnostic, title: string, replacement: string): Promise<void> {
  const actions = await client.request<CodeAction[]>('textDocument/codeAction', { textDocument: { uri }, range: inside(diagnostic.range), context: { diagnostics: [diagnostic], triggerKind: 1 } });
  assert.equal(actions[0]?.title, title, actions.map((a) => a.title).join('\n'));
  assert.deepEqual(actions.filter((a) => a.isPreferred).map((a) => a.title), [title]);
  const changes = actions[0]!.edit?.changes ?? {};
  assert.deepEqual(Object.keys(changes), [uri], 'the fix edits this file only');
  const after = applyEdits(text, changes[uri]!);
  const lines = new LineIndex(text);
  const [start, end] = [lines.offset(diagnostic.range.start), lines.offset(diagnostic.range.end)];
  assert.equal(after, text.slice(0, start) + replacement + text.slice(end), 'every byte outside the value stays');
  const lint = (d: Diagnostic) => !String(d.code).startsWith('MPA4');
  const before = (await client.diagnosticsFor(uri)).filter(lint).map((d) => `${String(d.code)} ${d.message}`);
  await client.change(uri, after, 2);
  const fixed = (await client.diagnosticsFor(uri, { version: 2 })).filter(lint).map((d) => `${String(d.code)} ${d.message}`);
  assert.deepEqual(fixed, before.filter((d) => d !== `${String(diagnostic.code)} ${diagnostic.message}`));
  await client.change(uri, text, 3);
  await client.diagnosticsFor(uri, { version: 3 });
}

const inside = (range: Range): Range => ({ start: { line: range.start.line, character: range.start.character + 1 }, end: { line: range.start.line, character: range.start.character + 1 } });

describe('the quick-fix list (LSP textDocument/codeAction)', () => {
  let client: LspTestClient;
  let workspace: string;
  let uri: string;
  let text: string;
  let diagnostics: Diagnostic[];

  const diagnostic = (message: RegExp): Diagnostic => {
    const found = diagnostics.find((d) => message.test(String(d.message)));
    assert.ok(found, `a diagnostic ${message}: ${diagnostics.map((d) => d.message).join(' | ')}`);
    return found;
  };
  const ask = (range: Range, context: { diagnostics: Diagnostic[]; only?: string[] }) =>
    client.request<CodeAction[]>('textDocument/codeAction', { textDocument: { uri }, range, context: { triggerKind: 1, ...context } });
  const addedPolicies = (action: CodeAction): string[] => addedDocuments(action).filter((d) => d.startsWith('AuthorizationPolicy ')).map((d) => d.split(' ')[1]!);

  before(async () => {
    ({ client, workspace } = await startOn('istio'));
    const path = join(workspace, 'security', 'authorization-policies.yaml');
    uri = pathToFileURL(path).href;
    text = readFileSync(path, 'utf8');
    await client.open(uri, text);
    diagnostics = await client.diagnosticsFor(uri, { ready: (d) => d.some((x) => x.code === 'MPA0101') && d.some((x) => x.code === 'MPA4001') });
  });

  after(async () => {
    await client.shutdown();
    rmSync(workspace, { recursive: true, force: true });
  });

  it('at the misspelt "principal": the rename first and alone preferred; no traffic fix for a policy Istio refuses to store', async () => {
    const principal = diagnostic(/unknown field "principal"/);
    const actions = await ask(inside(principal.range), { diagnostics: [principal] });
    const titles = actions.map((a) => a.title);
    assert.equal(titles[0], 'Rename "principal" to "principals"', titles.join('\n'));
    assert.deepEqual(actions[0]!.diagnostics?.map((d) => d.code), ['MPA0101']);
    assert.deepEqual(actions.filter((a) => a.isPreferred).map((a) => a.title), ['Rename "principal" to "principals"']);
    assert.equal(new Set(titles).size, titles.length, `no title twice:\n${titles.join('\n')}`);
    // Stored without the misspelt field, the rule's source is empty and istiod refuses the policy: it decides no call,
    // so there is no call of it to deny, and a dry-run annotation would not get it stored either.
    assert.ok(!titles.some((t) => /^Deny |^Dry-run shop\/cart-from-frontend/.test(t)), titles.join('\n'));
  });

  it('with several diagnostics at the range, the one holding the cursor comes first, whatever order the client sends them in', async () => {
    const principal = diagnostic(/unknown field "principal"/);
    const action = diagnostic(/action must be one of/);
    // the whole rule as a wider warning that also holds the cursor, sent first
    const rule: Diagnostic = { range: { start: { line: principal.range.start.line - 2, character: 4 }, end: { line: principal.range.start.line + 6, character: 0 } }, severity: 2, source: 'mesh-policy', code: 'MPA4003', message: 'a rule-wide warning' };
    const actions = await ask(inside(principal.range), { diagnostics: [rule, action, principal] });
    assert.equal(actions[0]!.title, 'Rename "principal" to "principals"', actions.map((a) => a.title).join('\n'));
    assert.deepEqual(actions.filter((a) => a.isPreferred).map((a) => a.title), ['Rename "principal" to "principals"'], 'auto fix applies the fix of the diagnostic under the cursor');
    const other = actions.findIndex((a) => a.title === 'Change to "ALLOW"');
    assert.ok(other > 0, 'the fix of the other diagnostic is still offered, after');
    assert.equal(actions[other]!.isPreferred, false);
    assert.deepEqual(actions[other]!.diagnostics?.map((d) => d.code), ['MPA0104']);
  });

  it('honours context.only: quickfix, source.fixAll and their parents take their own kinds only', async () => {
    const principal = diagnostic(/unknown field "principal"/);
    const at = inside(principal.range);
    const kinds = async (only?: string[]) => [...new Set((await ask(at, { diagnostics: [principal], ...(only ? { only } : {}) })).map((a) => a.kind))];
    assert.deepEqual(await kinds(['quickfix']), ['quickfix']);
    assert.deepEqual(await kinds(['source.fixAll']), ['source.fixAll.meshPolicy']);
    assert.deepEqual(await kinds(['source.fixAll.meshPolicy']), ['source.fixAll.meshPolicy']);
    assert.deepEqual((await kinds(['source'])).sort(), ['source.fixAll.meshPolicy', 'source.meshPolicy.translate']);
    for (const only of [['refactor'], ['source.fix'], ['quickfix.other'], ['source.organizeImports']]) assert.deepEqual(await kinds(only), [], JSON.stringify(only));
    const all = await ask(at, { diagnostics: [principal] });
    assert.equal(all[all.length - 1]!.kind, 'source.fixAll.meshPolicy', 'asked without only, fix-all comes last');
    const fixAll = await ask(at, { diagnostics: [], only: ['source.fixAll'] });
    assert.equal(fixAll.length, 1);
    assert.equal(fixAll[0]!.title, 'Fix all mechanical mesh-policy problems in this file');
  });

  it('at "ports: [9090]": quoting the port as written is the preferred fix, and it clears the error', async () => {
    // examples/README.md mistake 3; Istio's operation.ports are strings
    const path = join(workspace, 'security', 'authz-payments-refunds.yaml');
    const refundsUri = pathToFileURL(path).href;
    const refundsText = readFileSync(path, 'utf8');
    await client.open(refundsUri, refundsText);
    const found = (await client.diagnosticsFor(refundsUri, { ready: (d) => d.some((x) => x.code === 'MPA0103') })).find((d) => /ports\[0\] must be a string \(got the number 9090\)/.test(String(d.message)));
    assert.ok(found);
    await applyPreferredFix(client, refundsUri, refundsText, found, 'Quote 9090 as "9090"', '"9090"');
  });

  it('at a traffic diagnostic: each new ALLOW policy offered has its own name', async () => {
    const wouldDeny = diagnostic(/allow-nothing would deny/);
    const actions = await ask(inside(wouldDeny.range), { diagnostics: [wouldDeny] });
    const allows = actions.filter((a) => /^Allow .*: new ALLOW policy /.test(a.title));
    assert.ok(allows.length >= 2, actions.map((a) => a.title).join('\n'));
    const added = allows.flatMap(addedPolicies);
    assert.equal(added.length, allows.length);
    assert.equal(new Set(added).size, added.length, added.join(', '));
  });
});

describe('the quick-fix list on examples/linkerd (LSP textDocument/codeAction)', () => {
  let client: LspTestClient;
  let workspace: string;

  before(async () => { ({ client, workspace } = await startOn('linkerd')); });
  after(async () => {
    await client.shutdown();
    rmSync(workspace, { recursive: true, force: true });
  });

  it('at the AuthorizationPolicy without requiredAuthenticationRefs: its own fix first, then new resources each with a name of its own', async () => {
    const path = join(workspace, 'policy', 'authorization-policies.yaml');
    const uri = pathToFileURL(path).href;
    await client.open(uri, readFileSync(path, 'utf8'));
    const diagnostics = await client.diagnosticsFor(uri, { ready: (d) => d.some((x) => x.code === 'MPA0102') });
    const missing = diagnostics.find((d) => d.code === 'MPA0102')!;
    const actions = await client.request<CodeAction[]>('textDocument/codeAction', { textDocument: { uri }, range: inside(missing.range), context: { diagnostics: [missing], triggerKind: 1 } });
    const titles = actions.map((a) => a.title);
    assert.equal(titles[0], 'Add the missing field "requiredAuthenticationRefs"', titles.join('\n'));
    assert.deepEqual(actions.filter((a) => a.isPreferred), [], 'a placeholder is no preferred fix (docs/rules/MPA0102.md)');
    assert.ok(titles.some((t) => /^Create MeshTLSAuthentication \S+ for the \d+ observed identities and require it in emojivoto\/emoji-grpc-web$/.test(t)), titles.join('\n'));
    const added = actions.flatMap(addedDocuments);
    assert.ok(added.length >= 3, added.join(', '));
    assert.equal(new Set(added).size, added.length, `each new resource has its own name: ${added.join(', ')}`);
    const existing = new Set(documentsIn(join(workspace, 'policy')));
    for (const document of added) assert.ok(!existing.has(document), `${document} is not in the workspace`);
  });
});

describe('the quick-fix list on examples/consul (LSP textDocument/codeAction)', () => {
  let client: LspTestClient;
  let workspace: string;

  before(async () => { ({ client, workspace } = await startOn('consul')); });
  after(async () => {
    await client.shutdown();
    rmSync(workspace, { recursive: true, force: true });
  });

  it('at "PathPrefix": "assets/": starting the path with "/" is the preferred fix, and it clears the error', async () => {
    // examples/README.md mistake 10; Consul requires PathPrefix and PathExact to start with "/"
    const path = join(workspace, 'config', 'dashboard.json');
    const uri = pathToFileURL(path).href;
    const text = readFileSync(path, 'utf8');
    await client.open(uri, text, 'json');
    const diagnostics = await client.diagnosticsFor(uri, { ready: (d) => d.some((x) => x.code === 'MPA0105') });
    const prefix = diagnostics.find((d) => d.code === 'MPA0105')!;
    assert.equal(prefix.message, 'PathPrefix must start with "/" (got "assets/")');
    await applyPreferredFix(client, uri, text, prefix, 'Start the path with /', '"/assets/"');
  });
});

// Consul keeps one ServiceIntentions per destination (the consul-k8s webhook refuses a second
// resource with the same spec.destination.name; a config entry is one per destination by its
// key). Two denied calls to a destination without intentions each get a fix that adds one: they
// are alternatives, applied one at a time from the light bulb, and neither is preferred nor part
// of the fix-all, so no single action adds two.
describe('two new ServiceIntentions for one destination in one list (LSP textDocument/codeAction)', () => {
  let client: LspTestClient;
  let workspace: string;
  const intentions = [
    'apiVersion: consul.hashicorp.com/v1alpha1', 'kind: ServiceIntentions', 'metadata:', '  name: deny-all', '  namespace: demo', 'spec:', '  destination:', '    name: "*"', '  sources:', '    - name: "*"', '      action: deny',
    '---', 'apiVersion: consul.hashicorp.com/v1alpha1', 'kind: ServiceIntentions', 'metadata:', '  name: cache', '  namespace: demo', 'spec:', '  destination:', '    name: cache', '  sources:', '    - name: web', '      action: Allow', '',
  ].join('\n');
  const defaults = 'apiVersion: consul.hashicorp.com/v1alpha1\nkind: ServiceDefaults\nmetadata:\n  name: db\n  namespace: demo\nspec:\n  protocol: http\n';
  const record = (path: string) => JSON.stringify({
    mesh: 'consul', protocol: 'http', observed: 'allowed',
    source: { principal: 'spiffe://7d4e1f2a-0b1c-4d2e-9f30-a1b2c3d4e5f6.consul/ns/default/dc/dc1/svc/web', service: 'web' },
    destination: { service: 'db', namespace: 'default', port: 20000 }, request: { method: 'GET', path },
  });

  before(async () => {
    workspace = mkdtempSync(join(tmpdir(), 'mesh-policy-quickfix-'));
    mkdirSync(join(workspace, 'policy'));
    mkdirSync(join(workspace, 'traffic'));
    writeFileSync(join(workspace, 'policy', 'intentions.yaml'), intentions);
    writeFileSync(join(workspace, 'policy', 'defaults.yaml'), defaults);
    writeFileSync(join(workspace, 'traffic', 'calls.jsonl'), `${[record('/a'), record('/a'), record('/b')].join('\n')}\n`);
    client = await startIn(workspace, 'consul-two');
  });
  after(async () => {
    await client.shutdown();
    rmSync(workspace, { recursive: true, force: true });
  });

  it('each alternative adds one ServiceIntentions for db, none is preferred, and the fix-all adds none', async () => {
    const path = join(workspace, 'policy', 'intentions.yaml');
    const uri = pathToFileURL(path).href;
    await client.open(uri, intentions);
    const diagnostics = await client.diagnosticsFor(uri, { ready: (d) => d.some((x) => x.code === 'MPA0104') && d.some((x) => x.code === 'MPA4001') });
    const source = intentions.indexOf('- name: "*"');
    const line = intentions.slice(0, source).split('\n').length - 1;
    const range = { start: { line, character: 6 }, end: { line, character: 10 } };
    const actions = await client.request<CodeAction[]>('textDocument/codeAction', { textDocument: { uri }, range, context: { diagnostics: diagnostics.filter((d) => d.range.start.line === line), triggerKind: 1 } });
    const adding = actions.filter((a) => addedDocuments(a).some((d) => d.startsWith('ServiceIntentions ')));
    assert.deepEqual(adding.map((a) => a.title), [
      'Allow web → db GET /a: new ServiceIntentions for db, a permission for this request only',
      'Allow web → db GET /b: new ServiceIntentions for db, a permission for this request only',
    ], actions.map((a) => a.title).join('\n'));
    for (const action of adding) {
      assert.equal(addedDocuments(action).length, 1, 'one resource per action');
      assert.ok(!action.isPreferred, `${action.title} is no preferred fix`);
    }
    const fixAll = await client.request<CodeAction[]>('textDocument/codeAction', { textDocument: { uri }, range, context: { diagnostics, only: ['source.fixAll'], triggerKind: 1 } });
    assert.equal(fixAll.length, 1, 'the file has a mechanical fix (action: Allow)');
    assert.deepEqual(addedDocuments(fixAll[0]!), [], 'the fix-all adds no resource');
    assert.ok(Object.values(fixAll[0]!.edit?.changes ?? {}).flat().every((e) => !e.newText.includes('ServiceIntentions')));
  });
});

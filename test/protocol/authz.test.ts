import assert from 'node:assert/strict';
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { pathToFileURL } from 'node:url';
import { after, before, describe, it } from 'node:test';
import { CancellationTokenSource, ResponseError } from 'vscode-jsonrpc/node';
import type { CodeLens, Hover, MarkupContent } from 'vscode-languageserver-protocol';
import { loadWorkspace } from '../../server/src/cli/simulate';
import { accessMap, accessMarkdown, observedCallers, unmappedNote, withObserved } from '../../server/src/engine/access';
import type { AccessRecord } from '../../server/src/engine/traffic/accessRecord';
import { ingestTraffic } from '../../server/src/engine/traffic/ingest';
import { listingMarkdown, workspaceAuthz } from '../../server/src/engine/authz';
import { LspTestClient, waitForLast } from '../helpers/lspClient';
import { REPO_ROOT } from '../helpers/paths';

/**
 * `mesh-policy authz` in the editor over a real LSP connection, on a copy of examples/istio:
 * a lens per workload manifest, the listing behind its command, and the workloads a policy's
 * selector reaches in its hover. The expected policies per workload follow Istio's attachment
 * rules (istio.io AuthorizationPolicy reference, "Workload Selector" and "Policy Target":
 * a policy without a selector applies to every workload of its namespace, one with
 * `selector.matchLabels` to the workloads with those labels; a resource Istio refuses to store,
 * here the lower-case action of `frontend-from-gateway`, or `cart-from-frontend`, whose one
 * source field is misspelt: the API server drops it, and istiod refuses the empty `source` left,
 * applies to nothing) and its evaluation
 * order (CUSTOM, then DENY, then ALLOW); the titles must also be exactly what the engine gives.
 */
const EXPECTED_LENSES: Record<string, string[]> = {
  'app/payments.yaml': ['Istio: 2 policies apply (ALLOW allow-nothing, ALLOW payments-callers)'],
  'app/cart.yaml': ['Istio: 1 policy applies (ALLOW allow-nothing)'],
  'app/frontend.yaml': ['Istio: 3 policies apply (CUSTOM frontend-fraud-check, DENY frontend-deny-internal, ALLOW allow-nothing)'],
};

interface Status { state: string }

async function startEditor(folder: string, trusted: boolean) {
  const client = new LspTestClient();
  const statuses: Status[] = [];
  client.connection.onNotification('meshPolicy/trafficStatus', (s: Status) => { statuses.push(s); });
  client.connection.onRequest('workspace/codeLens/refresh', () => null);
  const uri = pathToFileURL(folder).href;
  await client.initialize(uri, [{ uri, name: 'istio' }], { trusted });
  // The scan is over once the traffic is read (or found absent, or off when untrusted).
  await waitForLast(statuses, (s) => s.state === 'ready' || s.state === 'empty' || s.state === 'off', 60_000);
  return client;
}

async function lensesOf(client: LspTestClient, path: string): Promise<CodeLens[]> {
  const uri = pathToFileURL(path).href;
  await client.open(uri, readFileSync(path, 'utf8'));
  return client.request<CodeLens[]>('textDocument/codeLens', { textDocument: { uri } });
}

describe('policies that apply to a workload, in the editor (LSP)', () => {
  let workspace: string;
  let client: LspTestClient;

  before(async () => {
    workspace = mkdtempSync(join(tmpdir(), 'mesh-policy-authz-'));
    cpSync(join(REPO_ROOT, 'examples', 'istio'), workspace, { recursive: true });
    client = await startEditor(workspace, true);
  });

  after(async () => {
    await client.shutdown();
    rmSync(workspace, { recursive: true, force: true });
  });

  it('puts a lens per mesh on each workload manifest, titled as the engine sums up its listing', async () => {
    const loaded = loadWorkspace({ policies: [workspace], inventory: [] }, { cwd: workspace, stdout: () => undefined, stderr: () => undefined, env: {} } as never);
    assert.notEqual(typeof loaded, 'number');
    const authz = workspaceAuthz((loaded as Exclude<typeof loaded, number>).workspace);
    for (const [file, expected] of Object.entries(EXPECTED_LENSES)) {
      const path = join(workspace, file);
      const lenses = (await lensesOf(client, path)).filter((l) => l.command?.command === 'meshPolicy.showPoliciesForWorkload');
      assert.deepEqual(lenses.map((l) => l.command!.title), expected, file);
      assert.deepEqual(lenses.map((l) => l.command!.title), (await authz.headlines(path)).flatMap((h) => h.headlines), `${file}: the engine's titles`);
      // On the Deployment's first line (`apiVersion: apps/v1`), with the workload as argument.
      const deployment = readFileSync(path, 'utf8').split('\n').findIndex((line, i, lines) => line === 'apiVersion: apps/v1' && lines[i + 1] === 'kind: Deployment');
      assert.equal(lenses[0]!.range.start.line, deployment, file);
      assert.deepEqual(lenses[0]!.command!.arguments, [`shop/${file.slice('app/'.length, -'.yaml'.length)}`]);
    }
    // A policy file has no workload: no such lens.
    const policies = await lensesOf(client, join(workspace, 'security', 'authorization-policies.yaml'));
    assert.equal(policies.filter((l) => l.command?.command === 'meshPolicy.showPoliciesForWorkload').length, 0);
  });

  it('puts an access lens on each workload manifest: per port, how many callers are allowed, depending on the request, denied', async () => {
    // examples/istio, shop/payments (docs/access-map.md): on 9090 payments-callers admits the
    // frontend for some requests only, allow-nothing refuses the cart and payments, STRICT mTLS the
    // plaintext caller; on 9102 its port-only rule admits all four.
    const lenses = (await lensesOf(client, join(workspace, 'app', 'payments.yaml'))).filter((l) => l.command?.command === 'meshPolicy.showAccessMap');
    assert.deepEqual(lenses.map((l) => [l.command!.title, l.command!.arguments]), [['Access (Istio, 4 callers): :9090 1 depending · 3 denied; :9102 4 allowed', [{ to: 'shop/payments' }]]]);
  });

  it('answers the command with the markdown listing the engine renders', async () => {
    const markdown = await client.request<string>('meshPolicy/policiesForWorkload', { target: 'shop/payments' });
    const loaded = loadWorkspace({ policies: [workspace], inventory: [] }, { cwd: workspace, stdout: () => undefined, stderr: () => undefined, env: {} } as never) as Exclude<ReturnType<typeof loadWorkspace>, number>;
    const { listings } = workspaceAuthz(loaded.workspace).list({ namespace: 'shop', name: 'payments' });
    const expected = listingMarkdown('shop/payments', listings, { rel: (p) => relative(workspace, p) });
    assert.equal(markdown, expected);
    assert.match(markdown, /^# Policies that apply to shop\/payments\n/);
    assert.match(markdown, /\| ALLOW \| AuthorizationPolicy shop\/allow-nothing \| namespace-wide \| no rules: allow-nothing \| security\/authorization-policies\.yaml:10 \|/);
    // plain text: the markdown preview shows a file: link as its markdown source
    assert.doesNotMatch(markdown, /\]\(file:/);
    assert.match(markdown, /\| ALLOW \| AuthorizationPolicy shop\/payments-callers \| selector app=payments \| 3 rules \|/);
    // An unknown workload gets the nearest names, as the CLI says.
    assert.match(await client.request<string>('meshPolicy/policiesForWorkload', { target: 'shop/payment' }), /unknown workload "shop\/payment".*did you mean "shop\/payments"/);
    // The picker's list: the inventory's workloads.
    const workloads = await client.request<{ target: string; kind: string; file: string }[]>('meshPolicy/workloads', null);
    assert.deepEqual(workloads.map((w) => [w.target, w.kind, w.file]), [
      ['shop/cart', 'Deployment', 'app/cart.yaml'],
      ['shop/frontend', 'Deployment', 'app/frontend.yaml'],
      ['shop/payments', 'Deployment', 'app/payments.yaml'],
    ]);
  });

  it('answers Show Access Map with the map of the workspace as edited, unsaved edits included', async () => {
    const markdown = await client.request<string>('meshPolicy/accessMap', {});
    const loaded = loadWorkspace({ policies: [workspace], inventory: [] }, { cwd: workspace, stdout: () => undefined, stderr: () => undefined, env: {} } as never) as Exclude<ReturnType<typeof loadWorkspace>, number>;
    // The example's logs are loaded: the map is set against them, as `access --traffic` does.
    const { shapes } = await ingestTraffic([join(workspace, 'traffic')], { inventory: loaded.workspace.inventory, config: loaded.workspace.config, workers: 1 });
    const meshOf = (record: AccessRecord) => loaded.simulation.meshOf(record);
    const expected = withObserved(accessMap(loaded.workspace, loaded.simulation, { moreCallers: observedCallers(shapes, meshOf) }), shapes, meshOf);
    expected.map.notes.push(unmappedNote(expected.unmapped));
    assert.equal(markdown, accessMarkdown(expected.map, (p) => relative(workspace, p), { links: false }));
    const frontendCalls = shapes.filter((s) => s.record.source?.principal === 'cluster.local/ns/shop/sa/frontend' && s.record.destination?.workload === 'payments' && s.record.destination.port === 9090).reduce((n, s) => n + s.count, 0);
    assert.ok(frontendCalls > 0);
    assert.match(markdown, new RegExp(`^\\| \`shop/payments:9090 \\(port http, HTTP, via Service payments\\)\` \\| — \\| \`shop/frontend\` \\(${frontendCalls.toLocaleString('en-US')} calls\\) — depends on request\\.method, request\\.path \\(AuthorizationPolicy shop/payments-callers, security/authorization-policies\\.yaml:61\\) \\|`, 'm'));
    assert.match(markdown, /^- in the logs: \d+ of \d+ cells called; /m);
    assert.doesNotMatch(markdown, /\]\(/);
    // One request decided in every cell: the frontend may POST /v1/charges to payments.
    const charges = await client.request<string>('meshPolicy/accessMap', { to: 'shop/payments', request: 'POST /v1/charges' });
    assert.match(charges, /^\| `shop\/payments:9090 [^|]*\| `shop\/frontend` \([\d,]+ calls\) \(by AuthorizationPolicy shop\/payments-callers rules\[0\], security\/authorization-policies\.yaml:69\) \|/m);
    assert.match(await client.request<string>('meshPolicy/accessMap', { request: 'post /x' }), /^The request must be \[METHOD\] \[\/path\]/);
    // the command's input box asks the server whether a request reads
    assert.equal(await client.request<string | null>('meshPolicy/checkAccessRequest', { text: 'DELETE /admin' }), null);
    assert.match(await client.request<string>('meshPolicy/checkAccessRequest', { text: 'delete /admin' }), /^The request must be \[METHOD\] \[\/path\]/);
    // The payments policy edited, not saved: the cart's identity takes the frontend's place.
    const path = join(workspace, 'security', 'authorization-policies.yaml');
    const uri = pathToFileURL(path).href;
    // (the first test opened the file: it changes, with versions of its own)
    await client.change(uri, readFileSync(path, 'utf8').replace('principals: ["cluster.local/ns/shop/sa/frontend"]', 'principals: ["cluster.local/ns/shop/sa/cart"]'), 100);
    try {
      const edited = await client.request<string>('meshPolicy/accessMap', { to: 'shop/payments' });
      assert.match(edited, /^\| `shop\/payments:9090 [^|]*\| — \| `shop\/cart` \(no call\) — depends on request\.method, request\.path/m);
      assert.doesNotMatch(edited, /shop\/cart:7070/);
    } finally {
      await client.change(uri, readFileSync(path, 'utf8'), 101);
    }
  });

  it('names the workloads a policy selector reaches in its hover', async () => {
    const path = join(workspace, 'security', 'authorization-policies.yaml');
    const uri = pathToFileURL(path).href;
    const lines = readFileSync(path, 'utf8').split('\n');
    const hoverAt = async (line: number, text: string) => {
      const hover = await client.request<Hover | null>('textDocument/hover', { textDocument: { uri }, position: { line, character: lines[line]!.indexOf(text) + 1 } });
      return (hover?.contents as MarkupContent | undefined)?.value ?? '';
    };
    const callers = lines.findIndex((l) => l.includes('name: payments-callers'));
    const matchLabels = lines.findIndex((l, i) => i > callers && l.includes('matchLabels'));
    assert.match(await hoverAt(matchLabels, 'matchLabels'), /Applies to: `shop\/payments` \(1 workload\)/);
    // The selector's label too; a rule is not the attachment.
    assert.match(await hoverAt(matchLabels + 1, 'app'), /Applies to: `shop\/payments` \(1 workload\)/);
    const principals = lines.findIndex((l, i) => i > callers && l.includes('principals'));
    assert.doesNotMatch(await hoverAt(principals, 'principals'), /Applies to/);
  });

  it('after an edit, the first hover names the workloads of the edited selector; a PeerAuthentication\'s selector names the workloads whose mTLS mode it sets', async () => {
    const path = join(workspace, 'security', 'authorization-policies.yaml');
    const uri = pathToFileURL(path).href;
    const original = readFileSync(path, 'utf8');
    const hoverAt = async (target: string, line: number, text: string) => {
      const lines = readFileSync(target, 'utf8').split('\n');
      const hover = await client.request<Hover | null>('textDocument/hover', { textDocument: { uri: pathToFileURL(target).href }, position: { line, character: lines[line]!.indexOf(text) + 1 } });
      return (hover?.contents as MarkupContent | undefined)?.value ?? '';
    };
    const lines = original.split('\n');
    const callers = lines.findIndex((l) => l.includes('name: payments-callers'));
    const label = lines.findIndex((l, i) => i > callers && /app: payments/.test(l));
    // The edited text selects the cart instead (spec §1.2: matchLabels selects the workloads
    // carrying every pair); the hover is asked right after the change, in the new state.
    const edited = lines.map((l, i) => (i === label ? l.replace('app: payments', 'app: cart') : l)).join('\n');
    await client.open(uri, original);
    await client.change(uri, edited, 2);
    const hover = await client.request<Hover | null>('textDocument/hover', { textDocument: { uri }, position: { line: label, character: edited.split('\n')[label]!.indexOf('app') + 1 } });
    assert.match((hover?.contents as MarkupContent | undefined)?.value ?? '', /Applies to: `shop\/cart` \(1 workload\)/);
    await client.change(uri, original, 3);
    // examples/istio/security/peer-authentication.yaml: payments-metrics selects app=payments
    // (workload level, §1.8), the namespace-wide default has no selector to hover.
    const peer = join(workspace, 'security', 'peer-authentication.yaml');
    const peerLines = readFileSync(peer, 'utf8').split('\n');
    await client.open(pathToFileURL(peer).href, readFileSync(peer, 'utf8'));
    const selector = peerLines.findIndex((l) => l.includes('matchLabels'));
    assert.match(await hoverAt(peer, selector, 'matchLabels'), /Applies to: `shop\/payments` \(1 workload\)/);
  });

  it('gives no lens to a file outside the workspace, nor in an untrusted workspace', async () => {
    const elsewhere = mkdtempSync(join(tmpdir(), 'mesh-policy-authz-elsewhere-'));
    const untrustedCopy = mkdtempSync(join(tmpdir(), 'mesh-policy-authz-untrusted-'));
    try {
      cpSync(join(workspace, 'app', 'payments.yaml'), join(elsewhere, 'payments.yaml'));
      assert.deepEqual(await lensesOf(client, join(elsewhere, 'payments.yaml')), []);
      cpSync(join(REPO_ROOT, 'examples', 'istio'), untrustedCopy, { recursive: true });
      const untrusted = await startEditor(untrustedCopy, false);
      try {
        assert.deepEqual(await lensesOf(untrusted, join(untrustedCopy, 'app', 'payments.yaml')), []);
        assert.match(await untrusted.request<string>('meshPolicy/policiesForWorkload', { target: 'shop/payments' }), /not trusted/);
        assert.match(await untrusted.request<string>('meshPolicy/accessMap', {}), /not trusted/);
      } finally {
        await untrusted.shutdown();
      }
    } finally {
      rmSync(elsewhere, { recursive: true, force: true });
      rmSync(untrustedCopy, { recursive: true, force: true });
    }
  });
});

/**
 * `$/cancelRequest` (LSP 3.17) on a hover whose "Applies to" lists many workloads: a policy of
 * the root namespace reaches every namespace (spec §1.2), so the first hover after an edit lists
 * each of the 2,000 workloads. Cancelled, it answers RequestCancelled well before an uncancelled
 * one ends (it lists in slices and stops), and keeps nothing half-done: the next hover is whole.
 */
describe('a cancelled "Applies to" hover (LSP)', () => {
  const WORKLOADS = 2_000;
  const REQUEST_CANCELLED = -32800;
  let workspace: string;
  let client: LspTestClient;
  const policy = (app: string) => `apiVersion: security.istio.io/v1
kind: AuthorizationPolicy
metadata: {name: mesh-wide, namespace: istio-system}
spec:
  selector:
    matchLabels: {app: ${app}}
  rules: [{}]
`;

  before(async () => {
    workspace = mkdtempSync(join(tmpdir(), 'mesh-policy-authz-cancel-'));
    const documents = ['apiVersion: v1\nkind: Namespace\nmetadata: {name: big, labels: {istio-injection: enabled}}\n'];
    for (let i = 0; i < WORKLOADS; i++) documents.push(`apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: w${i}, namespace: big}\nspec:\n  template:\n    metadata: {labels: {app: w${i}}}\n    spec: {containers: [{name: c, image: c, ports: [{containerPort: 8080}]}]}\n`);
    writeFileSync(join(workspace, 'app.yaml'), documents.join('---\n'));
    writeFileSync(join(workspace, 'policy.yaml'), policy('w0'));
    client = await startEditor(workspace, true);
  });

  after(async () => {
    await client.shutdown();
    rmSync(workspace, { recursive: true, force: true });
  });

  it('answers RequestCancelled before an uncancelled one would end, then answers whole', async () => {
    const uri = pathToFileURL(join(workspace, 'policy.yaml')).href;
    const at = { textDocument: { uri }, position: { line: 5, character: 6 } };
    const text = (hover: Hover | null) => (hover?.contents as MarkupContent | undefined)?.value ?? '';
    await client.open(uri, policy('w0'));
    // Uncancelled, on the state after an edit.
    await client.change(uri, policy('w1'), 2);
    let started = Date.now();
    assert.match(text(await client.request<Hover | null>('textDocument/hover', at)), /Applies to: `big\/w1` \(1 workload\)/);
    const whole = Date.now() - started;
    // Cancelled shortly after it is sent, on a new state.
    await client.change(uri, policy('w2'), 3);
    const source = new CancellationTokenSource();
    started = Date.now();
    const pending = client.connection.sendRequest('textDocument/hover', at, source.token);
    setTimeout(() => source.cancel(), 20);
    const error = await pending.then(() => undefined, (e: unknown) => e as ResponseError<unknown>);
    const cancelled = Date.now() - started;
    assert.equal(error?.code, REQUEST_CANCELLED, 'answered RequestCancelled');
    assert.ok(cancelled < whole / 2, `cancelled after ${cancelled} ms, a whole hover took ${whole} ms`);
    assert.match(text(await client.request<Hover | null>('textDocument/hover', at)), /Applies to: `big\/w2` \(1 workload\)/);
  });
});

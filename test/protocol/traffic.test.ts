import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { cpSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { after, before, describe, it } from 'node:test';
import type { CodeLens, Diagnostic, Hover, MarkupContent } from 'vscode-languageserver-protocol';
import { LspTestClient, waitForLast } from '../helpers/lspClient';
import { REPO_ROOT } from '../helpers/paths';
import { mkfifo } from '../helpers/unreadable';

/**
 * The simulation in the editor, over a real LSP connection, on a copy of examples/istio (its
 * policies, manifests and access logs). Expected counts come from the CLI's own simulation of the
 * same files (`mesh-policy simulate`), which the unit tests check against the spec.
 */
interface Status { state: string; calls: number; newlyDenied: number; policies: number }

describe('traffic in the editor (LSP)', () => {
  let client: LspTestClient;
  let workspace: string;
  const statuses: Status[] = [];
  let policyPath: string;
  let policyUri: string;

  const waitForStatus = (ready: (s: Status) => boolean, timeoutMs?: number): Promise<Status> => waitForLast(statuses, ready, timeoutMs);

  before(async () => {
    workspace = mkdtempSync(join(tmpdir(), 'mesh-policy-traffic-'));
    cpSync(join(REPO_ROOT, 'examples', 'istio'), workspace, { recursive: true });
    // A git repository, so that edits are compared with the policies at HEAD.
    const git = (...args: string[]) => execFileSync('git', ['-c', 'user.name=t', '-c', 'user.email=t@example.com', ...args], { cwd: workspace, stdio: 'ignore' });
    git('init', '-q');
    git('add', '.');
    git('commit', '-q', '-m', 'policies');
    policyPath = join(workspace, 'security', 'authorization-policies.yaml');
    policyUri = pathToFileURL(policyPath).href;
    client = new LspTestClient();
    client.connection.onNotification('meshPolicy/trafficStatus', (s: Status) => { statuses.push(s); });
    client.connection.onRequest('workspace/codeLens/refresh', () => null);
    await client.initialize(pathToFileURL(workspace).href, [{ uri: pathToFileURL(workspace).href, name: 'istio' }]);
    await waitForStatus((s) => s.state === 'ready' && s.policies > 0);
  });

  after(async () => {
    await client.shutdown();
    rmSync(workspace, { recursive: true, force: true });
  });

  it('loads the access logs and reports the totals in a status notification', async () => {
    const status = await waitForStatus((s) => s.state === 'ready' && s.policies > 0);
    // 3,549 calls. Newly denied: the 1,505 that allow-nothing denies, because two ALLOW policies are not
    // stored: 1,004 to the frontend (frontend-from-gateway, lower-case action) and 501 to the cart
    // (cart-from-frontend, whose stored source is empty once its misspelt field is dropped). The gateway's
    // calls to /account and /checkout, which gateway-access allows with a token, are unknown: the log does
    // not record the token. The 50 allowed calls to payments
    // whose caller the default TEXT log does not name are unknown, not guessed plaintext (STRICT would reject those).
    assert.equal(status.calls, 3549);
    assert.equal(status.newlyDenied, 1505);
  });

  it('publishes one aggregated "would deny" diagnostic on the deciding policy, linked to log lines', async () => {
    const diagnostics = await client.diagnosticsFor(policyUri, { ready: (d) => d.some((x) => x.code === 'MPA4001') });
    const denials = diagnostics.filter((d) => d.code === 'MPA4001');
    const allowNothing = denials.find((d) => String(d.message).startsWith('AuthorizationPolicy shop/allow-nothing would deny 1,505 observed calls that succeeded'));
    assert.ok(allowNothing, JSON.stringify(denials.map((d) => d.message)));
    assert.equal(allowNothing.severity, 2);
    assert.equal(allowNothing.range.start.line, 9, 'on metadata.name of allow-nothing');
    const related = allowNothing.relatedInformation ?? [];
    // One link for each call the message names, in the message's order: "CALL (N×); CALL (N×); ...".
    const named = String(allowNothing.message).split(': ').slice(1).join(': ').split('; ').filter((part) => /\(\d[\d,]*×\)$/.test(part));
    assert.equal(named.length, 3, String(allowNothing.message));
    assert.deepEqual(related.map((info) => /^([\d,]+)× (.*) \(observed \w+\)$/.exec(info.message)!.slice(1, 3).reverse().join(' (') + '×)'), named);
    for (const info of related) {
      assert.ok(info.location.uri.startsWith(pathToFileURL(join(workspace, 'traffic')).href), info.location.uri);
      const line = readFileSync(new URL(info.location.uri), 'utf8').split('\n')[info.location.range.start.line]!;
      assert.match(line, /allow-nothing|shop/, 'the linked line is a log line of a call to the shop namespace');
    }
  });

  it('shows code lenses with counts above policies and rules', async () => {
    await client.open(policyUri, readFileSync(policyPath, 'utf8'));
    const lenses = await client.request<CodeLens[]>('textDocument/codeLens', { textDocument: { uri: policyUri } });
    const titles = lenses.map((l) => `${l.range.start.line}:${l.command?.title}`);
    assert.ok(titles.some((t) => t.endsWith('0 allowed · 1,653 denied · 1,505 changed')), titles.join('\n'));
    assert.ok(titles.some((t) => t.endsWith('778 allowed · 0 denied · 0 changed')), titles.join('\n'));
    assert.ok(lenses.every((l) => l.command?.command === 'meshPolicy.showTrafficForPolicy'));
    const listing = await client.request<string>('meshPolicy/callsFor', lenses.find((l) => l.command?.title.startsWith('778 allowed'))!.command!.arguments![0]);
    assert.match(listing, /^# Observed calls decided by AuthorizationPolicy shop\/payments-callers/);
    assert.match(listing, /\| calls \| request \| source → destination \|/);
    // the policy's place: relative to the workspace (not the absolute path)
    assert.match(listing, /\n\nsecurity\/authorization-policies\.yaml:\d+\n/);
    assert.ok(!listing.includes(workspace), listing.slice(0, 300));
  });

  it('Show Traffic for Policy in a file without policies (an access log) says what to do instead of showing nothing', async () => {
    const logUri = pathToFileURL(join(workspace, 'traffic', 'frontend.log')).href;
    const answer = await client.request<string | null>('meshPolicy/callsFor', { uri: logUri, position: { line: 0, character: 0 } });
    assert.equal(typeof answer, 'string');
    assert.match(answer!, /no policy/i);
    assert.match(answer!, /Open a policy file/);
  });

  it('hovers a rule with the observed calls it decides, busiest first, and an explain link', async () => {
    const text = readFileSync(policyPath, 'utf8').split('\n');
    const callers = text.findIndex((l) => l.includes('name: payments-callers'));
    const line = text.findIndex((l, i) => i > callers && l.includes('- from:'));
    const hover = await client.request<Hover>('textDocument/hover', { textDocument: { uri: policyUri }, position: { line, character: text[line]!.indexOf('from') } });
    const value = (hover.contents as MarkupContent).value;
    assert.match(value, /\*\*Observed traffic\*\* · AuthorizationPolicy shop\/payments-callers rules\[0\]/);
    assert.match(value, /58 allowed · 0 denied · 0 changed/);
    // how many callers, as the rows name them (the source before " → ")
    const callerLine = /^From (\d+) distinct callers?: (.+)\.$/m.exec(value);
    assert.ok(callerLine, value);
    const shownCallers = new Set(value.split('\n').filter((l) => /^\| [\d,]+ \|/.test(l)).map((r) => r.split(' | ')[2]!.split(' → ')[0]!.replace(/`/g, '')));
    assert.equal(Number(callerLine[1]), shownCallers.size, value);
    assert.match(value, /command:meshPolicy\.explainCall\?/);
    const rows = value.split('\n').filter((l) => /^\| [\d,]+ \|/.test(l));
    assert.ok(rows.length > 0 && rows.length <= 10);
    const counts = rows.map((r) => Number(r.split('|')[1]!.trim().replace(/,/g, '')));
    assert.deepEqual(counts, [...counts].sort((a, b) => b - a));
    // the request right after the count, whole (method and path): a narrow hover cut it off after the long principal
    for (const row of rows) assert.match(row.split(' | ')[1]!, /^(GET|POST|PUT|DELETE|PATCH) \/\S*$/, row);
    const paymentsLog = readFileSync(join(workspace, 'traffic', 'payments.log'), 'utf8');
    // (markdown escapes undone)
    for (const row of rows) assert.ok(paymentsLog.includes(`\\"${row.split(' | ')[1]!.replace(/\\(.)/g, '$1')} HTTP/`), `${row}: the request as the log has it`);
  });

  it('offers traffic quick fixes at a policy (dry-run, allow the denied calls) that edit only their range', async () => {
    const started = Date.now();
    const actions = await client.request<{ title: string; edit?: { changes?: Record<string, { range: unknown; newText: string }[]> } }[]>('textDocument/codeAction', {
      textDocument: { uri: policyUri }, range: { start: { line: 9, character: 10 }, end: { line: 9, character: 10 } }, context: { diagnostics: [] },
    });
    const titles = actions.map((a) => a.title);
    assert.ok(titles.some((t) => /dry-run/i.test(t)), titles.join('\n'));
    assert.ok(titles.some((t) => /^Allow /.test(t)), titles.join('\n'));
    for (const action of actions) assert.ok(Object.keys(action.edit?.changes ?? {}).length > 0, action.title);
    assert.ok(Date.now() - started < 2000, `code actions answered in ${Date.now() - started} ms`);
  });

  it('answers the traffic map\'s edge actions with the verified fixes as workspace edits (meshPolicy/edgeFixes)', async () => {
    // shop/allow-nothing leaves the gateway's calls to frontend with no ALLOW match (newly denied);
    // frontend's calls to payments are allowed by a rule of shop/payments-callers
    type EdgeFixList = { calls: number; fixes: { title: string; kind: string; edit: { changes?: Record<string, { range: unknown; newText: string }[]> } }[]; notOffered: string[] };
    const allow = await client.request<EdgeFixList>('meshPolicy/edgeFixes', { source: 'shop/shop-gateway-istio', destination: 'shop/frontend', action: 'allow' });
    assert.ok(allow.calls > 0);
    assert.ok(allow.fixes.length > 0, allow.notOffered.join('; '));
    for (const fix of allow.fixes) {
      assert.equal(fix.kind, 'allow');
      assert.match(fix.title, /^Allow cluster\.local\/ns\/shop\/sa\/shop-gateway-istio → frontend /);
      const uris = Object.keys(fix.edit.changes ?? {});
      assert.equal(uris.length, 1);
      assert.ok(uris[0]!.startsWith(pathToFileURL(workspace).href), uris[0]);
    }
    const deny = await client.request<EdgeFixList>('meshPolicy/edgeFixes', { source: 'shop/frontend', destination: 'shop/payments', action: 'deny' });
    assert.ok(deny.fixes.length > 0 && deny.fixes.every((f) => f.kind === 'deny' && /^Deny /.test(f.title)), JSON.stringify(deny));
    const none = await client.request<EdgeFixList>('meshPolicy/edgeFixes', { source: 'nobody', destination: 'shop/frontend', action: 'allow' });
    assert.deepEqual(none, { calls: 0, fixes: [], notOffered: [] });
    for (const params of [null, {}, { source: 'shop/frontend', destination: 'shop/payments', action: 'maybe' }]) assert.equal(await client.request('meshPolicy/edgeFixes', params), null);
    // the editor's map carries the buttons; the map for a file (CLI) does not
    const map = await client.request<string>('meshPolicy/auditHtml', { view: 'map', nonce: 'abc' });
    assert.match(map, /data-actions="allow"/);
    assert.match(map, /<script nonce="abc">/);
  });

  it('completes values seen in the traffic (principals)', async () => {
    const text = readFileSync(policyPath, 'utf8').split('\n');
    const line = text.findIndex((l) => l.includes('- cluster.local/ns/shop/sa/shop-gateway-istio'));
    const character = text[line]!.indexOf('cluster.local');
    const items = await client.request<{ label: string }[]>('textDocument/completion', { textDocument: { uri: policyUri }, position: { line, character } });
    assert.ok(items.some((i) => i.label === 'cluster.local/ns/shop/sa/frontend'), items.map((i) => i.label).slice(0, 20).join(', '));
  });

  it('generates a least-privilege policy for one workload from its observed calls', async () => {
    const generated = await client.request<{ yaml: string; resources: number } | null>('meshPolicy/generate', { mesh: 'istio', namespace: 'shop', workload: 'cart' });
    assert.ok(generated && generated.resources > 0);
    assert.match(generated.yaml, /kind: AuthorizationPolicy/);
    assert.match(generated.yaml, /cluster\.local\/ns\/shop\/sa\/frontend/);
    assert.equal(await client.request('meshPolicy/generate', { mesh: 'istio', namespace: 'nowhere', workload: 'none' }), null);
  });

  it('writes policy tests from the observed calls (meshPolicy/generateTests), which the server then runs as it says', async () => {
    const snapshot = await client.request<{ yaml: string; tests: number; failing: number } | null>('meshPolicy/generateTests', { expect: 'policies' });
    assert.ok(snapshot && snapshot.tests > 0);
    assert.equal(snapshot.failing, 0, 'a snapshot of what the policies decide passes');
    const observed = await client.request<{ yaml: string; tests: number; failing: number } | null>('meshPolicy/generateTests', { expect: 'observed' });
    // the charges the frontend makes are allowed, observed and decided alike (examples/README.md)
    assert.match(observed!.yaml, /- call: "shop\/frontend -> shop\/payments:9090 POST \/v1\/charges"\n {4}expect: allow\n/);
    // mistake 1 (allow-nothing) denies calls the mesh allowed: those tests fail, each as MPA0005 once the file is in the workspace
    assert.ok(observed!.failing > 0);
    const uri = pathToFileURL(join(workspace, 'tests', 'observed.yaml')).href;
    await client.open(uri, observed!.yaml);
    const failures = await client.diagnosticsFor(uri, { ready: (d) => d.length > 0, timeoutMs: 30_000 });
    assert.deepEqual([...new Set(failures.map((d) => d.code))], ['MPA0005']);
    assert.equal(failures.length, observed!.failing);
    await client.connection.sendNotification('textDocument/didClose', { textDocument: { uri } });
  });

  it('exports the access inventory as CSV (meshPolicy/accessCsv), as report --format csv writes it', async () => {
    const inventory = await client.request<{ csv: string; rows: number } | null>('meshPolicy/accessCsv', {});
    const lines = inventory!.csv.split('\r\n');
    assert.match(lines[0]!, /^mesh,caller,caller_principal,caller_address,destination,port,protocol,method,path,calls,/);
    assert.equal(inventory!.rows, lines.length - 2);
    // the frontend's charges: observed allowed, allowed by payments-callers rules[0], placed relative to the workspace
    assert.ok(lines.some((l) => /^istio,shop\/frontend,cluster\.local\/ns\/shop\/sa\/frontend,[^,]*,shop\/payments,9090,http,POST,\/v1\/charges,\d+,\d+,0,0,allow,AuthorizationPolicy shop\/payments-callers,rules\[0\],security\/authorization-policies\.yaml,/.test(l)), lines.slice(0, 10).join('\n'));
  });

  it('self-checks generated policies as the CLI does, without touching the workspace', async () => {
    const cart = await client.request<{ wouldDeny: number; wouldAllow: number } | null>('meshPolicy/generate', { mesh: 'istio', namespace: 'shop', workload: 'cart' });
    assert.deepEqual(cart && [cart.wouldDeny, cart.wouldAllow], [0, 0]);
    // payments' plaintext scrapes (9102 PERMISSIVE) are allowed by address; the refunds, over mutual
    // TLS (9090 STRICT) from identities the log does not give, would be denied by its ALLOW policy
    const payments = await client.request<{ yaml: string; wouldDeny: number } | null>('meshPolicy/generate', { mesh: 'istio', namespace: 'shop', workload: 'payments' });
    assert.equal(payments?.wouldDeny, 50);
    assert.match(payments!.yaml, /^# Self-check: these policies would deny 50 calls the logs show allowed/m);
    assert.match(payments!.yaml, /ipBlocks:\n {14}- 10\.244\.5\.9\/32 {2}# 720 calls/);
    // the generated policies were decided in a copy: the workspace's calls are still decided by its own policies
    const calls = await client.request<{ key: string; label: string }[]>('meshPolicy/calls', {});
    for (const call of calls.slice(0, 20)) {
      const markdown = await client.request<string>('meshPolicy/explain', { key: call.key });
      assert.doesNotMatch(markdown, /least-privilege/, call.label);
    }
  });

  it('offers translation to the other meshes as source actions only, and translates the file on request (checked on the loaded calls)', async () => {
    const range = { start: { line: 9, character: 10 }, end: { line: 9, character: 10 } };
    const source = await client.request<{ title: string; kind: string; command?: { command: string; arguments: unknown[] } }[]>('textDocument/codeAction', {
      textDocument: { uri: policyUri }, range, context: { diagnostics: [], only: ['source'] },
    });
    const translations = source.filter((a) => a.kind === 'source.meshPolicy.translate');
    assert.deepEqual(translations.map((a) => a.title), ["Translate this file's Istio policies to Linkerd", "Translate this file's Istio policies to Consul"]);
    assert.deepEqual(translations[0]!.command, { title: translations[0]!.title, command: 'meshPolicy.translatePolicies', arguments: [{ to: 'linkerd', uri: policyUri }] });
    const lightBulb = await client.request<{ kind?: string }[]>('textDocument/codeAction', { textDocument: { uri: policyUri }, range, context: { diagnostics: [] } });
    assert.ok(!lightBulb.some((a) => a.kind === 'source.meshPolicy.translate'), 'not on the light bulb');
    const translated = await client.request<{ yaml: string; resources: number; notes: number; differing: number } | null>('meshPolicy/translate', { to: 'linkerd', uri: policyUri });
    assert.ok(translated && translated.resources > 0);
    assert.match(translated.yaml, /^# Linkerd policies translated by mesh-policy translate from \d+ Istio resources/);
    assert.match(translated.yaml, /^kind: Server$/m);
    assert.match(translated.yaml, /^kind: AuthorizationPolicy$/m);
    assert.match(translated.yaml, /^# Check: Istio's and Linkerd's simulators decide .* \(observed calls\)/m);
    assert.match(translated.yaml, /security\/authorization-policies\.yaml:\d+/, 'places are relative to the workspace');
    assert.equal(await client.request('meshPolicy/translate', { to: 'istio', uri: policyUri }), null, 'nothing of another mesh in the file');
    assert.equal(await client.request('meshPolicy/translate', { to: 'kuma' }), null);
  });

  it('explains a call with the full walkthrough', async () => {
    const calls = await client.request<{ key: string; label: string }[]>('meshPolicy/calls', {});
    assert.ok(calls.length > 0);
    const markdown = await client.request<string>('meshPolicy/explain', { key: calls[0]!.key });
    assert.match(markdown, /^# (ALLOW|DENY|UNKNOWN|EXTERNAL): /);
    assert.match(markdown, /## Walkthrough/);
  });

  it('says a call key it does not know is not in the loaded traffic, not that no traffic is loaded, and takes requests without parameters', async () => {
    const calls = await client.request<{ key: string }[]>('meshPolicy/calls', {});
    for (const key of [`call-${calls.length + 1000}`, 'constructor', 'x'.repeat(100_000)]) {
      const markdown = await client.request<string>('meshPolicy/explain', { key });
      assert.doesNotMatch(markdown, /No observed traffic is loaded/, key.slice(0, 20));
      assert.match(markdown, /is not a call of the traffic loaded now/, key.slice(0, 20));
      assert.ok(markdown.length < 500, 'the key is not echoed whole');
    }
    for (const method of ['meshPolicy/explain', 'meshPolicy/callsFor', 'meshPolicy/generate', 'meshPolicy/translate', 'meshPolicy/auditHtml']) await client.request(method, null);
    for (const params of [null, {}, { key: 7 }]) assert.match(await client.request<string>('meshPolicy/explain', params), /^No call was given/, JSON.stringify(params));
  });

  it('re-simulates on each edit: removing allow-nothing removes its denials', async () => {
    const text = readFileSync(policyPath, 'utf8');
    const documents = text.split(/^---$/m);
    const kept = documents.filter((d) => !d.includes('name: allow-nothing')).join('---');
    assert.notEqual(kept, text);
    await client.change(policyUri, kept, 2);
    // Lint findings are published first, the simulation's right after: wait for the comparison with HEAD.
    const impactSentence = /compared with HEAD, [\d,]+ allowed calls? becomes? denied and [1-9][\d,]* denied calls? becomes? allowed/;
    const diagnostics = await client.diagnosticsFor(policyUri, { version: 2, ready: (d) => d.some((x) => x.code === 'MPA4006' && impactSentence.test(String(x.message))) });
    assert.ok(!diagnostics.some((d: Diagnostic) => d.code === 'MPA4001' && String(d.message).includes('allow-nothing')), JSON.stringify(diagnostics.map((d) => d.message)));
    const status = await waitForStatus((s) => s.newlyDenied < 1505);
    assert.ok(status.newlyDenied < 1505);
    // Compared with the policies at HEAD, calls allow-nothing denied are now allowed (MPA4006).
    const impact = diagnostics.filter((d) => d.code === 'MPA4006').map((d) => String(d.message));
    assert.ok(impact.some((m) => impactSentence.test(m)), JSON.stringify(impact));
  });

  it('fast edits that change the simulation: the last version is published with its own simulation, never an older version after it', async () => {
    const text = readFileSync(policyPath, 'utf8');
    const kept = text.split(/^---$/m).filter((d) => !d.includes('name: allow-nothing')).join('---');
    const from = client.published.length;
    // Alternating between the policy file with and without allow-nothing; the last version has it again (as at HEAD).
    for (let version = 3; version <= 22; version++) await client.change(policyUri, version % 2 === 0 ? text : kept, version);
    const allowNothingDenies = (d: Diagnostic[]) => d.some((x) => x.code === 'MPA4001' && String(x.message).includes('allow-nothing'));
    const last = await client.diagnosticsFor(policyUri, { version: 22, ready: allowNothingDenies });
    assert.ok(!last.some((d) => d.code === 'MPA4006'), 'no difference from HEAD is left');
    await new Promise((resolve) => setTimeout(resolve, 1000));
    const publishes = client.published.slice(from).filter((p) => p.uri === policyUri);
    assert.equal(publishes.at(-1)?.version, 22, `versions published: ${publishes.map((p) => p.version).join(' ')}`);
    assert.ok(allowNothingDenies(publishes.at(-1)!.diagnostics), 'the last publish carries the last version\'s simulation');
    for (const [i, p] of publishes.entries()) if (i > 0) assert.ok(p.version! >= publishes[i - 1]!.version!, `version ${p.version} published after ${publishes[i - 1]!.version}`);
  });

  it('a line added above a policy moves its traffic findings with its lint findings: no publish shows them at their old lines', async () => {
    const text = readFileSync(policyPath, 'utf8');
    const allowNothingAt = (d: Diagnostic[]) => d.find((x) => x.code === 'MPA4001' && String(x.message).includes('allow-nothing'))?.range.start.line;
    const before = allowNothingAt(await client.diagnosticsFor(policyUri, { version: 22, ready: (d) => allowNothingAt(d) !== undefined }));
    assert.equal(before, 9, 'on metadata.name of allow-nothing');
    const from = client.published.length;
    await client.change(policyUri, `# reviewed\n${text}`, 23);
    await client.diagnosticsFor(policyUri, { version: 23, ready: (d) => allowNothingAt(d) === 10 });
    await new Promise((resolve) => setTimeout(resolve, 500));
    const publishes = client.published.slice(from).filter((p) => p.uri === policyUri && p.version === 23);
    assert.ok(publishes.length > 0);
    for (const p of publishes) assert.equal(allowNothingAt(p.diagnostics), 10, `a publish of version 23 has the denial at line ${allowNothingAt(p.diagnostics)}`);
  });
});


describe('named pipes among the policies and the logs (LSP)', () => {
  it('are skipped with a note, never opened: the other files are linted and the logs simulated', { timeout: 90_000 }, async (t) => {
    const workspace = mkdtempSync(join(tmpdir(), 'mesh-policy-pipes-'));
    cpSync(join(REPO_ROOT, 'examples', 'istio'), workspace, { recursive: true });
    // named to come first, so that a walk which opened them would stop before the rest
    if (!mkfifo(join(workspace, 'security', '0-pipe.yaml')) || !mkfifo(join(workspace, 'traffic', '0-pipe.log'))) {
      rmSync(workspace, { recursive: true, force: true });
      return t.skip('mkfifo is not available');
    }
    const statuses: Status[] = [];
    const client = new LspTestClient();
    client.connection.onNotification('meshPolicy/trafficStatus', (s: Status) => { statuses.push(s); });
    client.connection.onRequest('workspace/codeLens/refresh', () => null);
    try {
      await client.initialize(pathToFileURL(workspace).href, [{ uri: pathToFileURL(workspace).href, name: 'istio' }]);
      const status = await waitForLast(statuses, (s) => s.state === 'ready' && s.policies > 0, 60_000);
      assert.equal(status.calls, 3549, 'every call of the example logs, as without the pipes');
      const policyUri = pathToFileURL(join(workspace, 'security', 'authorization-policies.yaml')).href;
      const diagnostics = await client.diagnosticsFor(policyUri, { ready: (d) => d.some((x) => x.code === 'MPA4001'), timeoutMs: 30_000 });
      assert.ok(diagnostics.some((d) => !String(d.code).startsWith('MPA4')), 'the lint findings beside the traffic ones');
      assert.ok(client.logs.some((l) => l.includes('note: skipped "security/0-pipe.yaml": is a named pipe, not a regular file')), client.logs.join('\n'));
      assert.ok(client.logs.some((l) => l.includes('0-pipe.log: skipped, is a named pipe, not a regular file')), client.logs.join('\n'));
    } finally {
      await client.shutdown();
      rmSync(workspace, { recursive: true, force: true });
    }
  });
});

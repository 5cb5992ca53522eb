import assert from 'node:assert/strict';
import { cpSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { after, before, describe, it } from 'node:test';
import type { CodeAction, CodeLens, Hover, PublishDiagnosticsParams } from 'vscode-languageserver-protocol';
import { LspTestClient } from '../helpers/lspClient';
import { REPO_ROOT } from '../helpers/paths';

/**
 * Secrets from the access logs never reach the editor (#9): a copy of examples/istio gets calls
 * whose credential headers (the built-in list and one from `redact.headers`) and query string
 * carry secrets, and a policy that tests those headers, so that the calls keep them and the
 * simulator's traces quote them. Every hover, lens, code action title, diagnostic (message and
 * related information), `meshPolicy/*` response and log line is searched for the secret values.
 * A header that is not secret keeps its value where headers are shown (the walkthrough).
 */
const SECRETS = {
  authorization: 'Bearer S3CRET-bearer-7f3a9c0d',
  cookie: 'session=S3CRET-cookie-1b2c3d',
  'x-api-key': 'S3CRET-apikey-99aa77',
  'x-internal-token': 'S3CRET-custom-5e6f7a', // secret only through .meshpolicy.yaml redact.headers
};
const QUERY_SECRET = 'S3CRET-query-42ab';
const VISIBLE = 'staging-canary-7';

const POLICY = `# Deny callers that present revoked credentials (tests every credential header).
apiVersion: security.istio.io/v1
kind: AuthorizationPolicy
metadata:
  name: cart-revoked-credentials
  namespace: shop
spec:
  selector:
    matchLabels:
      app: cart
  action: DENY
  rules:
${Object.keys(SECRETS).map((name) => `    - when:
        - key: request.headers[${name}]
          values: ["revoked-value-0000"]
`).join('')}    - when:
        - key: request.headers[x-env]
          values: ["production-blue"]
`;

function record(path: string, count: number): string {
  return JSON.stringify({
    time: '2025-03-14T10:00:00Z', mesh: 'istio', protocol: 'http',
    source: { principal: 'cluster.local/ns/shop/sa/frontend', namespace: 'shop', serviceAccount: 'frontend', workload: 'frontend' },
    destination: { namespace: 'shop', workload: 'cart', service: 'cart.shop.svc.cluster.local', port: 7070 },
    request: { method: 'GET', path, host: 'cart.shop.svc.cluster.local', headers: { ...SECRETS, 'x-env': VISIBLE } },
    response: { status: 200 }, observed: 'allowed', count,
  });
}

describe('secrets from the logs never reach the editor (LSP)', () => {
  let client: LspTestClient;
  let workspace: string;
  const shown: { what: string; text: string }[] = [];
  const show = (what: string, value: unknown) => shown.push({ what, text: typeof value === 'string' ? value : JSON.stringify(value) });
  const diagnostics = new Map<string, PublishDiagnosticsParams>();
  let policyUri: string;
  let policyText: string;

  before(async () => {
    workspace = mkdtempSync(join(tmpdir(), 'mesh-policy-redact-'));
    cpSync(join(REPO_ROOT, 'examples', 'istio'), workspace, { recursive: true });
    writeFileSync(join(workspace, '.meshpolicy.yaml'), 'redact:\n  headers: [X-Internal-Token]\n');
    policyText = POLICY;
    writeFileSync(join(workspace, 'security', 'authz-cart-revoked.yaml'), policyText);
    writeFileSync(join(workspace, 'traffic', 'secrets.jsonl'), `${record(`/v1/carts/probe-9?access_token=${QUERY_SECRET}&page=2`, 700)}\n${record('/v1/carts/probe-8', 300)}\n`);
    policyUri = pathToFileURL(join(workspace, 'security', 'authz-cart-revoked.yaml')).href;
    client = new LspTestClient();
    let ready = false;
    client.connection.onNotification('meshPolicy/trafficStatus', (s: { state: string; calls: number }) => { ready ||= s.state === 'ready' && s.calls > 0; });
    client.connection.onNotification('window/logMessage', (m: { message: string }) => { show('log', m.message); });
    client.connection.onNotification('textDocument/publishDiagnostics', (p: PublishDiagnosticsParams) => {
      diagnostics.set(p.uri, p);
      show(`diagnostics ${p.uri}`, p.diagnostics.map((d) => ({ message: d.message, related: d.relatedInformation })));
    });
    client.connection.onRequest('workspace/codeLens/refresh', () => null);
    await client.initialize(pathToFileURL(workspace).href, [{ uri: pathToFileURL(workspace).href, name: 'istio' }]);
    for (const deadline = Date.now() + 30_000; !ready && Date.now() < deadline;) await new Promise((r) => setTimeout(r, 50));
    assert.ok(ready, 'traffic loaded');
    await client.open(policyUri, policyText);
  });

  after(async () => {
    await client.shutdown();
    rmSync(workspace, { recursive: true, force: true });
  });

  it('masks them in hovers, lenses, code actions, diagnostics, every traffic request and the log', async () => {
    // Hovers and code actions on every line of the policy (rules, header names, values).
    const lines = policyText.split('\n');
    for (let line = 0; line < lines.length; line++) {
      const character = Math.max(0, lines[line]!.search(/\S/));
      show(`hover ${line}`, await client.request<Hover | null>('textDocument/hover', { textDocument: { uri: policyUri }, position: { line, character } }));
      const range = { start: { line, character: 0 }, end: { line, character: lines[line]!.length } };
      const actions = await client.request<CodeAction[]>('textDocument/codeAction', { textDocument: { uri: policyUri }, range, context: { diagnostics: [] } });
      show(`code actions ${line}`, actions.map((a) => a.title));
    }
    const lenses = await client.request<CodeLens[]>('textDocument/codeLens', { textDocument: { uri: policyUri } });
    assert.ok(lenses.length > 1, 'lenses above the policy and its rules');
    show('lenses', lenses);
    for (const lens of lenses) show('callsFor', await client.request('meshPolicy/callsFor', lens.command!.arguments![0]));

    const calls = await client.request<{ key: string; label: string; detail: string }[]>('meshPolicy/calls', {});
    show('calls', calls);
    const ours = calls.filter((c) => c.label.includes('shop/cart:7070 GET /v1/carts/probe-'));
    assert.equal(ours.length, 2, JSON.stringify(calls.slice(0, 5)));
    const explained: string[] = [];
    for (const call of ours) {
      const markdown = await client.request<string>('meshPolicy/explain', { key: call.key });
      explained.push(markdown);
      show('explain', markdown);
    }
    for (const view of ['report', 'map']) show(`auditHtml ${view}`, await client.request('meshPolicy/auditHtml', { view }));
    show('generate', await client.request('meshPolicy/generate', { mesh: 'istio' }));
    show('generate cart', await client.request('meshPolicy/generate', { mesh: 'istio', namespace: 'shop', workload: 'cart' }));
    show('status', await client.request('meshPolicy/trafficStatus', {}));

    const secrets = [...Object.values(SECRETS), ...Object.values(SECRETS).map((v) => v.split(/[ =]/).pop()!), QUERY_SECRET, 'S3CRET'];
    const leaks = shown.flatMap(({ what, text }) => secrets.filter((s) => text.includes(s)).map((s) => `${what}: ${s} in …${text.slice(Math.max(0, text.indexOf(s) - 80), text.indexOf(s) + 40)}…`));
    assert.deepEqual(leaks, []);

    // The checks above looked at something: the traces name the headers and show the masked values,
    // the query string keeps its other parameters, and the header that is no secret keeps its value.
    const walkthrough = explained.join('\n');
    assert.match(walkthrough, /header authorization: "\[redacted\]"/);
    assert.match(walkthrough, /header x-internal-token: "\[redacted\]"/, 'redact.headers of .meshpolicy.yaml');
    assert.match(walkthrough, new RegExp(`header x-env: "${VISIBLE}"`));
    assert.ok(shown.some(({ what, text }) => what === 'calls' && text.includes('access_token=[redacted]&page=2')));
    // The busiest near misses of the policy are these calls: hovers quote their headers too.
    const hovers = shown.filter(({ what }) => what.startsWith('hover')).map(({ text }) => text).join('\n');
    assert.ok(hovers.includes(`header x-env: \\"${VISIBLE}\\"`), 'a near miss in a hover quotes the x-env value');
    assert.ok(hovers.includes('header cookie: \\"[redacted]\\"'), 'and the cookie header, masked');
    assert.ok(shown.filter(({ what }) => what === 'log').length > 0, 'log lines were seen');
    assert.ok(diagnostics.size > 0);
  });
});

import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { cpSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { after, before, describe, it } from 'node:test';
import type { CodeLens } from 'vscode-languageserver-protocol';
import { LspTestClient, waitForLast } from '../helpers/lspClient';
import { REPO_ROOT } from '../helpers/paths';

/**
 * The lenses above examples/istio's PeerAuthentications and RequestAuthentication, over a real
 * LSP connection, and after an edit. The expected numbers are counted here from the example's
 * calls as `mesh-policy traffic --format jsonl` prints them (one record per call shape, with its
 * count), by the rules of mesh-semantics §1.8 applied to the example's three resources:
 * - shop/default (namespace-wide STRICT) sets the mode of every shop workload without a
 *   PeerAuthentication of its own: frontend and cart; shop/payments-metrics (selector
 *   app=payments, STRICT, port 9102 PERMISSIVE) sets payments'. PeerAuthentication does not
 *   govern the Gateway API gateway's listener (shop-gateway-istio).
 * - a call arrived with mutual TLS when its record names the caller's principal, plaintext when
 *   it names none, and the log does not say when it marks the principal unknown.
 * - shop/shopper-jwt attaches to the gateway (targetRefs Gateway shop-gateway): of its HTTP calls,
 *   a token the log marks invalid is rejected with 401; a call without one is let through.
 */
interface Shape {
  count: number;
  protocol?: string;
  source?: { principal?: string; principalUnknown?: boolean };
  destination?: { namespace?: string; workload?: string; port?: number };
  request?: { jwt?: { valid?: boolean }; jwtUnknown?: boolean };
}

const sum = (shapes: readonly Shape[]) => shapes.reduce((total, s) => total + s.count, 0).toLocaleString('en-US');

function arrivals(shapes: readonly Shape[], plaintext: string): string {
  const mtls = shapes.filter((s) => s.source?.principal);
  const notLogged = shapes.filter((s) => !s.source?.principal && s.source?.principalUnknown);
  const plain = shapes.filter((s) => !s.source?.principal && !s.source?.principalUnknown);
  return `${sum(shapes)} calls (${sum(mtls)} mutual TLS · ${sum(plain)} plaintext, ${plaintext}${notLogged.length ? ` · ${sum(notLogged)} not logged whether mTLS` : ''})`;
}

describe('lenses over PeerAuthentication and RequestAuthentication (LSP, examples/istio)', () => {
  let client: LspTestClient;
  let workspace: string;
  const statuses: { state: string; policies: number }[] = [];
  let shapes: Shape[];
  const uriOf = (file: string) => pathToFileURL(join(workspace, 'security', file)).href;
  const lensTitles = async (file: string) => (await client.request<CodeLens[]>('textDocument/codeLens', { textDocument: { uri: uriOf(file) } })).map((l) => l.command?.title ?? '');

  before(async () => {
    workspace = mkdtempSync(join(tmpdir(), 'mesh-policy-authn-'));
    cpSync(join(REPO_ROOT, 'examples', 'istio'), workspace, { recursive: true });
    const jsonl = execFileSync(process.execPath, [join(REPO_ROOT, 'bin', 'mesh-policy.js'), 'traffic', 'traffic', '--format', 'jsonl'], { cwd: workspace, encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'], maxBuffer: 256 * 1024 * 1024 });
    shapes = jsonl.trim().split('\n').map((line) => JSON.parse(line) as Shape);
    client = new LspTestClient();
    client.connection.onNotification('meshPolicy/trafficStatus', (s: { state: string; policies: number }) => { statuses.push(s); });
    client.connection.onRequest('workspace/codeLens/refresh', () => null);
    await client.initialize(pathToFileURL(workspace).href, [{ uri: pathToFileURL(workspace).href, name: 'istio' }]);
    await waitForLast(statuses, (s) => s.state === 'ready' && s.policies > 0);
    for (const file of ['peer-authentication.yaml', 'request-authentication.yaml']) await client.open(uriOf(file), readFileSync(join(workspace, 'security', file), 'utf8'));
  });

  after(async () => {
    await client.shutdown();
    rmSync(workspace, { recursive: true, force: true });
  });

  const to = (workload: string, port?: (p: number | undefined) => boolean) => shapes.filter((s) => s.destination?.namespace === 'shop' && s.destination.workload === workload && (!port || port(s.destination.port)));

  it('says above each PeerAuthentication and its port entry which mode it sets, for how many calls, and how they arrived', async () => {
    const frontendAndCart = [...to('frontend'), ...to('cart')];
    const payments = to('payments', (p) => p !== 9102);
    const metrics = to('payments', (p) => p === 9102);
    assert.ok(frontendAndCart.length && payments.length && metrics.length, 'the example has calls to each');
    assert.deepEqual(await lensTitles('peer-authentication.yaml'), [
      `mTLS STRICT for 2 workloads: ${arrivals(frontendAndCart, 'refused')} · ${sum(to('payments'))} calls to 1 workload it selects go by PeerAuthentication shop/payments-metrics`,
      `mTLS STRICT, port 9102 PERMISSIVE for 1 workload: STRICT ${arrivals(payments, 'refused')} · PERMISSIVE ${arrivals(metrics, 'accepted')}`,
      `port 9102: mTLS PERMISSIVE for 1 workload: ${arrivals(metrics, 'accepted')}`,
    ]);
  });

  it('says above the RequestAuthentication how many calls carry a valid, an invalid, no or an unlogged token, and a click lists them', async () => {
    const gateway = to('shop-gateway-istio').filter((s) => s.protocol !== 'tcp');
    const invalid = gateway.filter((s) => s.request?.jwt?.valid === false);
    const valid = gateway.filter((s) => s.request?.jwt?.valid === true);
    const none = gateway.filter((s) => !s.request?.jwt && s.request?.jwtUnknown !== true);
    // Envoy logs do not record the token: only a 401's line says it was invalid (or missing)
    const unlogged = gateway.filter((s) => !s.request?.jwt && s.request?.jwtUnknown === true);
    assert.ok(invalid.length && unlogged.length);
    assert.equal(invalid.length + valid.length + none.length + unlogged.length, gateway.length, 'every call of the example is counted once');
    const titles = await lensTitles('request-authentication.yaml');
    assert.deepEqual(titles, [`${sum(gateway)} HTTP calls to 1 workload: ${sum(valid)} with a valid token · ${sum(invalid)} with an invalid one (401) · ${sum(none)} without a token (let through) · ${sum(unlogged)} whose token is not logged`]);
    const lens = (await client.request<CodeLens[]>('textDocument/codeLens', { textDocument: { uri: uriOf('request-authentication.yaml') } }))[0]!;
    assert.equal(lens.command?.command, 'meshPolicy.showTrafficForPolicy');
    const listing = await client.request<string>('meshPolicy/callsFor', lens.command!.arguments![0]);
    assert.match(listing, /^# Observed calls under RequestAuthentication shop\/shopper-jwt/);
    assert.ok(listing.includes(`## Invalid token: rejected with 401 before authorization (${sum(invalid)} calls)`), listing.slice(0, 600));
    assert.ok(listing.includes(`## Token not logged (or not fully): whether there is one and whether it validates is not known (${sum(unlogged)} calls)`), listing.slice(0, 900));
  });

  it('follows an edit: the namespace made PERMISSIVE, its lens says plaintext calls are accepted', async () => {
    const path = join(workspace, 'security', 'peer-authentication.yaml');
    const text = readFileSync(path, 'utf8');
    const edited = text.replace('    mode: STRICT\n---', '    mode: PERMISSIVE\n---');
    assert.notEqual(edited, text);
    await client.change(uriOf('peer-authentication.yaml'), edited, 2);
    const expected = `mTLS PERMISSIVE for 2 workloads: ${arrivals([...to('frontend'), ...to('cart')], 'accepted')} · ${sum(to('payments'))} calls to 1 workload it selects go by PeerAuthentication shop/payments-metrics`;
    const deadline = Date.now() + 20_000;
    let titles = await lensTitles('peer-authentication.yaml');
    while (titles[0] !== expected && Date.now() < deadline) {
      await new Promise((resolve) => setTimeout(resolve, 100));
      titles = await lensTitles('peer-authentication.yaml');
    }
    assert.equal(titles[0], expected);
    await client.change(uriOf('peer-authentication.yaml'), text, 3);
    const deadlineBack = Date.now() + 20_000;
    while ((titles = await lensTitles('peer-authentication.yaml'))[0]!.startsWith('mTLS PERMISSIVE') && Date.now() < deadlineBack) await new Promise((resolve) => setTimeout(resolve, 100));
    assert.match(titles[0]!, /^mTLS STRICT for 2 workloads: /);
  });
});

import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { after, before, describe, it } from 'node:test';
import { LspTestClient, waitForLast } from '../helpers/lspClient';
import { scratchDir } from '../helpers/scratch';
import { CART_READERS_WORKSPACE as POLICIES } from '../helpers/cartReaders';

/**
 * "Would this call be allowed?" in the editor: `meshPolicy/explain` with a call written by hand
 * (the short form or an access record), in a workspace with no access logs. The verdicts are
 * Istio's (AuthorizationPolicy reference): ALLOW policies apply to the workload, a request that
 * matches a rule of one is allowed, any other request is denied; `allow-nothing` (an ALLOW
 * policy without rules) matches nothing. `cart-readers` selects the pods labelled app=cart,
 * which the call does not carry: the `cart` Deployment in the workspace gives them.
 */
interface Status { state: string; calls: number; advice?: string }

describe('a call written by hand, explained in the editor with no traffic loaded (LSP)', () => {
  let client: LspTestClient;
  let policyPath: string;
  const statuses: Status[] = [];

  before(async () => {
    const workspace = scratchDir('mesh-policy-written-call-');
    policyPath = join(workspace, 'policies.yaml');
    writeFileSync(policyPath, POLICIES);
    client = new LspTestClient();
    client.connection.onNotification('meshPolicy/trafficStatus', (s: Status) => { statuses.push(s); });
    client.connection.onRequest('workspace/codeLens/refresh', () => null);
    const uri = pathToFileURL(workspace).href;
    await client.initialize(uri, [{ uri, name: 'shop' }]);
    // The scan is over once the traffic is found absent.
    await waitForLast(statuses, (s) => s.state === 'empty' || s.state === 'off' || s.state === 'ready', 60_000);
  });

  after(async () => {
    await client.shutdown();
  });

  it('has no observed calls to pick from', async () => {
    assert.deepEqual(await client.request('meshPolicy/calls', {}), []);
    assert.notEqual(statuses.at(-1)?.state, 'ready');
  });

  it('says that no .meshpolicy.yaml names access logs and how to add one, in the status and in a traffic view', async () => {
    const status = statuses.at(-1)!;
    assert.equal(status.state, 'empty');
    assert.match(String(status.advice), /no file in the workspace matches the default traffic globs/);
    assert.match(String(status.advice), /create `\.meshpolicy\.yaml` at the root of the workspace with a `traffic:` list/);
    const view = await client.request<string>('meshPolicy/callsFor', { uri: pathToFileURL(policyPath).href, position: { line: 0, character: 0 } });
    assert.equal(view, `No observed traffic is loaded. ${status.advice}`);
  });

  const cases: Array<[string, unknown, RegExp]> = [
    ['a short-form call a rule allows', 'shop/frontend -> shop/cart:8080 GET /items', /^# ALLOW: /],
    ['a short-form call with a method no rule allows', 'shop/frontend -> shop/cart:8080 DELETE /items', /^# DENY: /],
    ['a short-form call from another service account', 'shop/backend -> shop/cart:8080 GET /items', /^# DENY: /],
    ['an access record as a JSON object', { mesh: 'istio', protocol: 'http', source: { principal: 'cluster.local/ns/shop/sa/frontend' }, destination: { namespace: 'shop', workload: 'cart', port: 8080 }, request: { method: 'GET', path: '/items' } }, /^# ALLOW: /],
    ['an access record as JSON text', JSON.stringify({ mesh: 'istio', protocol: 'http', source: { principal: 'cluster.local/ns/shop/sa/frontend' }, destination: { namespace: 'shop', workload: 'cart', port: 8080 }, request: { method: 'POST', path: '/items' } }), /^# DENY: /],
  ];
  for (const [name, call, verdict] of cases) {
    it(`walks through ${name}`, async () => {
      const markdown = await client.request<string>('meshPolicy/explain', { call });
      assert.match(markdown, verdict);
      assert.match(markdown, /a call written by hand/);
      assert.match(markdown, /## Walkthrough/);
      if (verdict.source.includes('ALLOW')) assert.match(markdown, /cart-readers/);
    });
  }

  it('checks a call as it is typed: null for one it takes, what is wrong otherwise', async () => {
    assert.equal(await client.request('meshPolicy/checkCall', { text: 'shop/frontend -> shop/cart:8080 GET /items' }), null);
    assert.match(await client.request<string>('meshPolicy/checkCall', { text: 'shop/frontend -> shop/cart:80800' }), /^The call cannot be read: the port "80800" is not a number from 1 to 65535/);
    assert.match(await client.request<string>('meshPolicy/checkCall', { text: '{"mesh": "kuma"}' }), /^The call is not an access record \(docs\/access-records\.md\): mesh must be one of/);
  });

  const invalid: Array<[string, unknown, RegExp]> = [
    ['a short form without an arrow', 'shop/frontend shop/cart', /^The call cannot be read: no "->"/],
    ['JSON that does not parse', '{"mesh": ', /^The call is not valid JSON/],
    ['a record with a misspelt field', { source: { principle: 'cluster.local/ns/shop/sa/frontend' } }, /source has an unknown field "principle"/],
    ['a value that is no record', 42, /^The call must be a JSON object/],
  ];
  for (const [name, call, message] of invalid) {
    it(`answers ${name} with an InvalidParams error saying why, and keeps serving`, async () => {
      await assert.rejects(client.request('meshPolicy/explain', { call }), (error: { code?: number; message?: string }) => {
        assert.equal(error.code, -32602);
        assert.match(error.message ?? '', message);
        return true;
      });
      assert.match(await client.request<string>('meshPolicy/explain', { call: 'shop/frontend -> shop/cart GET' }), /^# ALLOW: /);
      assert.equal(client.exited, false);
    });
  }

  it('masks the credentials a written call carries, as for observed calls', async () => {
    const markdown = await client.request<string>('meshPolicy/explain', { call: { mesh: 'istio', source: { principal: 'cluster.local/ns/shop/sa/frontend' }, destination: { namespace: 'shop', workload: 'cart' }, request: { method: 'GET', path: '/items?access_token=topsecret123', headers: { authorization: 'Bearer opaque-credential-42' } } } });
    assert.match(markdown, /^# ALLOW: /);
    assert.doesNotMatch(markdown, /topsecret123|opaque-credential-42/);
  });

  it('decides with the text of an open policy file as edited, unsaved', async () => {
    const uri = pathToFileURL(policyPath).href;
    await client.open(uri, POLICIES);
    await client.change(uri, POLICIES.replace('methods: ["GET"]', 'methods: ["GET", "DELETE"]'), 2);
    assert.match(await client.request<string>('meshPolicy/explain', { call: 'shop/frontend -> shop/cart:8080 DELETE /items' }), /^# ALLOW: /);
  });
});

describe('a call written by hand in an untrusted workspace (LSP)', () => {
  it('is not decided: the answer says why, as for the policies that apply to a workload', async () => {
    const workspace = scratchDir('mesh-policy-written-call-untrusted-');
    writeFileSync(join(workspace, 'policies.yaml'), POLICIES);
    const client = new LspTestClient();
    const statuses: Status[] = [];
    client.connection.onNotification('meshPolicy/trafficStatus', (s: Status) => { statuses.push(s); });
    client.connection.onRequest('workspace/codeLens/refresh', () => null);
    try {
      const uri = pathToFileURL(workspace).href;
      await client.initialize(uri, [{ uri, name: 'shop' }], { trusted: false });
      await waitForLast(statuses, (s) => s.state === 'off', 60_000);
      assert.match(await client.request<string>('meshPolicy/explain', { call: 'shop/frontend -> shop/cart GET' }), /^This workspace is not trusted/);
    } finally {
      await client.shutdown();
    }
  });
});

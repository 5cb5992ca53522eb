import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { parse } from 'yaml';
import { runGenerateCli } from '../../server/src/cli/audit';
import { runTestCli } from '../../server/src/cli/test';
import { pathTemplate } from '../../server/src/engine/policyTests/fromTraffic';
import { CART_READERS_FROM_WEB, SHOP_CART_MANIFESTS } from '../helpers/cartReaders';
import { REPO_ROOT } from '../helpers/paths';

// `mesh-policy generate --tests` (docs/policy-tests.md): observed calls written as policy tests.
// The verdicts follow Istio's evaluation (mesh-semantics §1.3): with an ALLOW policy on the
// workload, a call no ALLOW rule matches is denied; a rule with `hosts` needs the request's host.

const MANIFESTS = SHOP_CART_MANIFESTS;

const POLICY = `${CART_READERS_FROM_WEB.replace('methods: [GET]', 'methods: [GET], paths: ["/v1/carts/*"]')}  - from: [{source: {principals: ["cluster.local/ns/shop/sa/admin"]}}]
    to: [{operation: {hosts: ["cart.internal"]}}]
`;

const SECRET = 'Bearer s3cr3t-token-value';

function call(caller: string | null | 'unknown', method: string, path: string, observed: string, count: number, extra: Record<string, unknown> = {}): string {
  const source = caller === 'unknown' ? { principalUnknown: true } : { principal: caller === null ? null : `cluster.local/ns/shop/sa/${caller}` };
  const { headers, host, ...rest } = extra as { headers?: Record<string, string>; host?: string };
  return JSON.stringify({
    time: '2026-11-30T10:00:00Z', mesh: 'istio', protocol: 'http', source,
    destination: { namespace: 'shop', workload: 'cart', port: 8080 },
    request: { method, path, ...(host ? { host } : {}), ...(headers ? { headers } : {}) },
    observed, count, ...rest,
  });
}

const TRAFFIC = [
  call('web', 'GET', '/v1/carts/c1', 'allowed', 5),
  call('web', 'GET', '/v1/carts/c2?page=2', 'allowed', 3), // the same call as c1: one test, 8 calls
  call('web', 'POST', '/v1/carts', 'allowed', 2), // the policy denies it now: the test fails
  call('web', 'GET', '/v1/orders', 'denied', 4),
  call('admin', 'GET', '/admin', 'allowed', 1, { host: 'cart.internal', headers: { authorization: SECRET, 'user-agent': 'curl/8' } }),
  call(null, 'GET', '/v1/carts/c9', 'denied', 6),
  call('unknown', 'GET', '/v1/carts/c1', 'allowed', 7),
  call('web', 'GET', '/v1/carts/c3', 'unknown', 9),
  // observed both ways, written alike: nothing pins it
  call('web', 'GET', '/v1/stats', 'allowed', 1),
  call('web', 'GET', '/v1/stats', 'denied', 1),
].join('\n');

const dir = mkdtempSync(join(tmpdir(), 'mpa-tests-from-traffic-'));
writeFileSync(join(dir, 'manifests.yaml'), MANIFESTS);
writeFileSync(join(dir, 'policy.yaml'), POLICY);
writeFileSync(join(dir, 'access.jsonl'), `${TRAFFIC}\n`);
after(() => rmSync(dir, { recursive: true, force: true }));

async function generate(...args: string[]) {
  let stdout = '';
  let stderr = '';
  const code = await runGenerateCli(['--tests', '--traffic', 'access.jsonl', '--policies', '.', ...args], { stdout: (t) => { stdout += `${t}\n`; }, stderr: (t) => { stderr += `${t}\n`; }, cwd: dir });
  return { code, stdout, stderr };
}

interface WrittenTest { call: unknown; expect: string; name?: string }
const testsOf = (yaml: string) => (parse(yaml) as { kind: string; tests: WrittenTest[] }).tests;

describe('generate --tests: observed calls as policy tests', () => {
  it('writes one test per distinct call, expecting what the mesh observed', async () => {
    const { code, stdout, stderr } = await generate();
    assert.equal(code, 1, stderr); // a test fails with the policies now
    const tests = testsOf(stdout);
    assert.deepEqual(tests.map((t) => [t.call, t.expect]), [
      ['- -> shop/cart:8080 GET /v1/carts/c9', 'deny'],
      [{ source: { principal: 'cluster.local/ns/shop/sa/admin' }, destination: { namespace: 'shop', workload: 'cart', port: 8080 }, request: { method: 'GET', path: '/admin', host: 'cart.internal' } }, 'allow'],
      ['shop/web -> shop/cart:8080 POST /v1/carts', 'allow'],
      ['shop/web -> shop/cart:8080 GET /v1/carts/c1', 'allow'],
      ['shop/web -> shop/cart:8080 GET /v1/orders', 'deny'],
    ]);
    assert.equal(tests[1]!.name, 'cluster.local/ns/shop/sa/admin → shop/cart:8080 GET /admin');
    assert.match(stdout, /# 8 calls observed allowed, 2026-11-30T10:00:00Z/);
    assert.match(stdout, /# fails now: the policies decide deny, decided by AuthorizationPolicy shop\/cart-readers\n {2}- call: "shop\/web -> shop\/cart:8080 POST \/v1\/carts"/);
    assert.match(stdout, /# {3}7 calls: the policies decide unknown: the log lacks source.principal/);
    assert.match(stdout, /# {3}9 calls: the log does not say whether the call was allowed/);
    assert.match(stdout, /# {3}2 calls: observed both allowed and denied/);
    assert.match(stderr, /5 tests from 7 distinct calls \(39 calls\); 18 calls not written; 1 test fails with the policies now/);
    assert.ok(!stdout.includes('s3cr3t') && !stderr.includes('s3cr3t'), 'no credential is written');
  });

  it('writes tests that `mesh-policy test` decides as the generator said', async () => {
    const { stdout } = await generate();
    writeFileSync(join(dir, 'generated-tests.yaml'), stdout);
    let out = '';
    const code = runTestCli(['generated-tests.yaml', '--policies', 'policy.yaml', '--inventory', 'manifests.yaml'], { stdout: (t) => { out += `${t}\n`; }, stderr: (t) => { out += `${t}\n`; }, cwd: dir });
    assert.equal(code, 1);
    assert.match(out, /5 tests: 4 passed, 1 failed/);
    assert.match(out, /FAIL .*shop\/web -> shop\/cart:8080 POST \/v1\/carts/);
  });

  it('--expect policies pins what the policies decide now: every test passes', async () => {
    const { code, stdout, stderr } = await generate('--expect', 'policies', '--output', 'snapshot.yaml');
    assert.equal(code, 0, stderr);
    assert.equal(stdout, '');
    const tests = testsOf(readFileSync(join(dir, 'snapshot.yaml'), 'utf8'));
    // the calls observed unknown are written too: what the mesh did does not matter here
    assert.deepEqual(tests.map((t) => [typeof t.call === 'string' ? t.call : 'record', t.expect]), [
      ['- -> shop/cart:8080 GET /v1/carts/c9', 'deny'],
      ['record', 'allow'],
      ['shop/web -> shop/cart:8080 POST /v1/carts', 'deny'],
      ['shop/web -> shop/cart:8080 GET /v1/carts/c3', 'allow'],
      ['shop/web -> shop/cart:8080 GET /v1/orders', 'deny'],
      ['shop/web -> shop/cart:8080 GET /v1/stats', 'deny'],
    ]);
  });

  it('--max-tests keeps the busiest call of each caller and destination first', async () => {
    const { stdout, stderr } = await generate('--max-tests', '2');
    // edges by calls: web→cart allowed (10), plaintext denied (6), web→cart denied (4), admin (1)
    assert.deepEqual(testsOf(stdout).map((t) => t.call), ['- -> shop/cart:8080 GET /v1/carts/c9', 'shop/web -> shop/cart:8080 GET /v1/carts/c1']);
    assert.match(stdout, /# {3}9 calls: more than --max-tests 2 distinct calls/);
    assert.match(stderr, /2 tests from 7 distinct calls/);
  });

  it('refuses options that do not go with --tests, and --tests options without it', async () => {
    for (const [args, message] of [
      [['--expect', 'maybe'], /--expect must be observed or policies/],
      [['--max-tests', '0'], /--max-tests must be a whole number from 1/],
      [['--include-unknown'], /--include-unknown is an option of generate without --tests/],
      [['--plaintext-callers', 'any'], /--plaintext-callers is an option of generate without --tests/],
    ] as const) {
      const { code, stderr } = await generate(...args);
      assert.equal(code, 2, args.join(' '));
      assert.match(stderr, message);
    }
    let stderr = '';
    const code = await runGenerateCli(['--mesh', 'istio', '--traffic', 'access.jsonl', '--expect', 'observed'], { stdout: () => {}, stderr: (t) => { stderr += t; }, cwd: dir });
    assert.equal(code, 2);
    assert.match(stderr, /--expect is an option of generate --tests/);
  });
});

describe('generate --tests on every example: the tests decide as the generator said', () => {
  // The generator's promises, checked by running what it wrote: with --expect policies every
  // test passes; with --expect observed exactly the tests it counts as failing fail.
  for (const example of ['istio', 'istio-ambient', 'linkerd', 'consul']) {
    for (const expect of ['observed', 'policies']) {
      it(`examples/${example}, --expect ${expect}`, async () => {
        const out = join(dir, `${example}-${expect}.yaml`);
        let said = '';
        const generated = await runGenerateCli(['--tests', '--expect', expect, '--traffic', `examples/${example}`, '--policies', `examples/${example}`, '--output', out], { stdout: () => {}, stderr: (t) => { said += `${t}\n`; }, cwd: REPO_ROOT });
        const failing = Number(/; (\d+) tests? fails? with the policies now/.exec(said)?.[1] ?? 0);
        const tests = Number(/: (\d+) tests from/.exec(said)?.[1]);
        assert.ok(tests > 0, said);
        assert.equal(generated, failing ? 1 : 0, said);
        if (expect === 'policies') assert.equal(failing, 0, said);
        let ran = '';
        runTestCli([out, '--policies', `examples/${example}`], { stdout: (t) => { ran += `${t}\n`; }, stderr: (t) => { ran += `${t}\n`; }, cwd: REPO_ROOT });
        assert.match(ran, new RegExp(`\\n${tests} tests: ${tests - failing} passed, ${failing} failed\\n`));
      });
    }
  }
});

describe('pathTemplate: paths that differ only in ids are one call', () => {
  for (const [path, template] of [
    ['/v1/carts/c1000', '/v1/carts/{}'],
    ['/v1/carts/c1000/items?x=1', '/v1/carts/{}/items'],
    ['/products', '/products'],
    ['/static/style.8b2d4a.css', '/static/{}'],
    ['/', '/'],
    ['/api/v2.1/users/42', '/api/v2.1/users/{}'],
  ] as const) {
    it(`${path} → ${template}`, () => assert.equal(pathTemplate(path), template));
  }
});

import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { runExplainCli, runSimulateCli } from '../../server/src/cli/simulate';
import { runTrafficCli } from '../../server/src/cli/traffic';
import { Redactor, REDACTED, SecretValues } from '../../server/src/engine/traffic/redact';
import { scratchDir } from '../helpers/scratch';

// A JWT (header {"alg":"RS256"}, payload {"sub":"alice"}) and credentials that must never be printed.
const JWT = 'eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJhbGljZSJ9.c2lnbmF0dXJlLW9mLWFsaWNl';
const SECRETS = {
  bearer: 'tok-7f3a9c1e5b2d',
  cookie: 'sess-0a1b2c3d4e5f',
  setCookie: 'setc-99887766aa',
  apiKey: 'akey-55aa66bb77cc',
  proxy: 'prox-1234abcd5678',
  custom: 'cust-deadbeef0042',
  queryKey: 'qkey-31415926535',
  otherHeader: 'xauth-SECRETi9',
  encodedQuery: 'enc-SECRETf6',
};
const ALL = [...Object.values(SECRETS), JWT, JWT.split('.')[1]!, JWT.split('.')[2]!];

const dir = scratchDir('mesh-policy-redact-');
mkdirSync(join(dir, 'logs'));
writeFileSync(join(dir, '.meshpolicy.yaml'), 'redact:\n  headers: [X-Internal-Secret]\n');
const getReaders = `apiVersion: security.istio.io/v1
kind: AuthorizationPolicy
metadata: {name: api-readers, namespace: shop}
spec:
  selector:
    matchLabels: {app: api}
  action: ALLOW
  rules:
  - to:
    - operation: {methods: ["GET"]}
`;
// At git HEAD the policy allows every GET, so `--baseline HEAD` lists the calls that the header
// condition below now denies, with their records and reasons.
writeFileSync(join(dir, 'policy.yaml'), getReaders);
const git = (...args: string[]) => execFileSync('git', ['-c', 'user.name=test', '-c', 'user.email=test@example.invalid', ...args], { cwd: dir, stdio: 'ignore' });
git('init', '-q');
git('add', 'policy.yaml');
git('commit', '-q', '-m', 'policy at HEAD');
// A policy that tests the authorization header, so simulate keeps it and its trace quotes it.
writeFileSync(join(dir, 'policy.yaml'), `${getReaders}    when:
    - key: request.headers[authorization]
      values: ["Bearer admin-*"]
`);
const record = {
  time: '2025-03-14T09:00:00Z', mesh: 'istio', protocol: 'http',
  source: { principal: 'cluster.local/ns/shop/sa/web', namespace: 'shop', workload: 'web' },
  destination: { namespace: 'shop', workload: 'api', labels: { app: 'api' }, port: 8080 },
  request: {
    method: 'GET', path: `/orders?access_token=${JWT}&api_key=${SECRETS.queryKey}&page=2&access%5Ftoken=${SECRETS.encodedQuery}`, host: 'api',
    headers: {
      authorization: `Bearer ${SECRETS.bearer}`, cookie: `session=${SECRETS.cookie}; theme=dark`, 'set-cookie': `id=${SECRETS.setCookie}`,
      'x-api-key': SECRETS.apiKey, 'proxy-authorization': `Basic ${SECRETS.proxy}`, 'x-internal-secret': SECRETS.custom, 'x-env': 'prod', 'x-auth': `Bearer ${SECRETS.otherHeader}`,
    },
  },
  response: { status: 200 }, observed: 'allowed',
};
writeFileSync(join(dir, 'logs', 'records.jsonl'), `${JSON.stringify(record)}\n${JSON.stringify({ ...record, request: { ...record.request, headers: { ...record.request.headers, authorization: `Bearer ${JWT}` } } })}\n`);
writeFileSync(join(dir, 'logs', 'envoy.log'), `[2025-03-14T09:00:01.000Z] "GET /pay?token=${SECRETS.queryKey}&access_token=${JWT} HTTP/1.1" 200 - via_upstream - "-" 0 19 3 2 "-" "curl/8.5.0" "5f0c2a9e-1b7d-4c36-9a0e-2d41c7e0b3aa" "api.shop:8080" "10.244.2.23:8080" inbound|8080|| 127.0.0.6:51022 10.244.2.23:8080 10.244.2.21:40318 outbound_.8080_._.api.shop.svc.cluster.local default\n`);
writeFileSync(join(dir, 'logs', 'linkerd.log'), `${JSON.stringify({ 'client.addr': '10.42.3.11:38844', 'client.id': 'web.shop.serviceaccount.identity.linkerd.cluster.local', host: 'api:8080', method: 'GET', status: 200, timestamp: '2025-03-14T13:00:02.5Z', uri: `http://api:8080/x?access_token=${JWT}`, version: 'HTTP/2.0' })}\n`);

async function capture(run: (io: { stdout: (t: string) => void; stderr: (t: string) => void; cwd: string }) => Promise<number> | number): Promise<{ code: number; out: string }> {
  let out = '';
  const io = { stdout: (t: string) => { out += `${t}\n`; }, stderr: (t: string) => { out += `${t}\n`; }, cwd: dir };
  const code = await run(io);
  return { code, out };
}

function assertNoSecret(out: string, what: string): void {
  for (const secret of ALL) assert.ok(!out.includes(secret), `${what} printed the secret ${secret}:\n${out.slice(0, 3000)}`);
}

describe('secret redaction', () => {
  const runs: [string, (io: Parameters<Parameters<typeof capture>[0]>[0]) => Promise<number> | number][] = [
    ...(['text', 'jsonl'] as const).map((format) => [`traffic --format ${format}`, (io: never) => runTrafficCli(['logs', '--format', format, '--no-inventory', '--workers', '1', '--top', '0'], io)] as [string, never]),
    ...(['text', 'json', 'jsonl', 'sarif'] as const).map((format) => [`simulate --format ${format}`, (io: never) => runSimulateCli(['--policies', 'policy.yaml', '--traffic', 'logs', '--format', format], io)] as [string, never]),
    ...(['text', 'json', 'sarif'] as const).map((format) => [`simulate --baseline HEAD --format ${format}`, (io: never) => runSimulateCli(['--policies', 'policy.yaml', '--traffic', 'logs', '--baseline', 'HEAD', '--format', format], io)] as [string, never]),
    ...(['text', 'json'] as const).map((format) => [`explain --format ${format}`, (io: never) => runExplainCli(['--policies', 'policy.yaml', '--call', JSON.stringify(record), '--format', format], io)] as [string, never]),
  ];
  for (const [name, run] of runs) {
    it(`mesh-policy ${name} prints no credential from the logs`, async () => {
      const { code, out } = await capture(run);
      assert.ok(code === 0 || code === 1, `exit ${code}: ${out}`);
      assertNoSecret(out, name);
      // the comparison with HEAD lists the calls that the header condition now denies
      if (name.includes('--baseline')) assert.match(out, /allow → deny|"before": "allow"|MPA4006/, out.slice(0, 2000));
    });
  }

  it('keeps the header names and the rest of the record, with the values masked', async () => {
    const { out } = await capture((io) => runTrafficCli(['logs/records.jsonl', '--format', 'jsonl', '--no-inventory', '--workers', '1'], io));
    const printed = JSON.parse(out.split('\n')[0]!) as typeof record;
    assert.equal(printed.request.headers.authorization, REDACTED);
    assert.equal(printed.request.headers['x-internal-secret'], REDACTED, 'redact.headers of .meshpolicy.yaml');
    assert.equal(printed.request.headers['x-env'], 'prod');
    assert.equal(printed.request.headers['x-auth'], `Bearer ${REDACTED}`, 'a scheme credential in a header not on the list');
    assert.equal(printed.request.path, `/orders?access_token=${REDACTED}&api_key=${REDACTED}&page=2&access%5Ftoken=${REDACTED}`);
  });

  it('explain still decides on the real value (the trace says why), but shows it masked', async () => {
    const { out } = await capture((io) => runExplainCli(['--policies', 'policy.yaml', '--call', JSON.stringify(record)], io));
    assert.match(out, /^DENY/);
    assert.match(out, /\[redacted\]/);
  });

  it('masks JWTs, scheme credentials and token parameters in any text', () => {
    const r = new Redactor();
    assert.equal(r.text(`token ${JWT} end`), `token ${REDACTED} end`);
    assert.equal(r.text('Authorization: Bearer abc.def-123'), `Authorization: Bearer ${REDACTED}`);
    assert.equal(r.text('/a?b=1&access_token=xyz&c=2'), `/a?b=1&access_token=${REDACTED}&c=2`);
    // parameter names as the server reads them: percent-decoded (once or twice encoded), any case
    const params: [string, string][] = [
      ['/a?access%5Ftoken=s1&b=2', `/a?access%5Ftoken=${REDACTED}&b=2`],
      ['/a?access%5ftoken=s1', `/a?access%5ftoken=${REDACTED}`],
      ['/a?%61pi_key=s1', `/a?%61pi_key=${REDACTED}`],
      ['/a?access%255Ftoken=s1', `/a?access%255Ftoken=${REDACTED}`],
      ['/a?API_KEY=s1&Token=s2', `/a?API_KEY=${REDACTED}&Token=${REDACTED}`],
      ['/a?x=1&amp;pwd=s1', `/a?x=1&amp;pwd=${REDACTED}`],
      ['/a?tokens=1&key%2Fx=2&%zz=3', '/a?tokens=1&key%2Fx=2&%zz=3'],
    ];
    for (const [text, expected] of params) assert.equal(r.text(text), expected, text);
    // header values not on the secret list: scheme credentials and JWTs are masked, the rest kept
    assert.deepEqual(r.maskHeaders({ 'x-auth': 'Bearer SECRETi9', 'x-sig': `Token abcd1234 ${JWT}`, authorization: 'anything', 'x-env': 'prod' }), { 'x-auth': `Bearer ${REDACTED}`, 'x-sig': `Token ${REDACTED} ${REDACTED}`, authorization: REDACTED, 'x-env': 'prod' });
    assert.equal(r.text('header authorization: "s3cr3t-value"', ['s3cr3t-value']), `header authorization: "${REDACTED}"`);
    assert.equal(r.text('/plain/path?page=2'), '/plain/path?page=2');
    // a header name ending in -token is no `Token <credential>`
    assert.equal(r.text('does not match no x-internal-token header'), 'does not match no x-internal-token header');
  });

  it('finds many known secret values in one pass, also as JSON, markdown table cells and HTML escape them', () => {
    const values = new SecretValues();
    for (let i = 0; i < 5_000; i++) values.add(`secret-${String(i).padStart(5, '0')}-value`);
    values.add('a_b|c<d>"e"');
    values.add('short'); // below the length searched for in free text
    const cases: [string, string][] = [
      ['x secret-00042-value y', `x ${REDACTED} y`],
      ['secret-04999-valuesecret-00000-value', `${REDACTED}${REDACTED}`],
      ['header cookie: "a_b|c<d>\\"e\\""', `header cookie: "${REDACTED}"`],
      ['| a\\_b\\|c\\<d\\>"e" |', `| ${REDACTED} |`],
      ['<td>a_b|c&lt;d&gt;&quot;e&quot;</td>', `<td>${REDACTED}</td>`],
      ['secret-0004-value short', 'secret-0004-value short'],
    ];
    for (const [text, expected] of cases) assert.equal(new Redactor().text(text, values), expected, text);
    const records = [{ request: { headers: { authorization: 'Bearer tok-123456', 'x-env': 'staging-1' } } }, { request: { path: '/p?api_key=k-999999' } }];
    const fromRecords = new Redactor().secretValues(records);
    assert.equal(new Redactor().text('tok-123456 staging-1 k-999999', fromRecords), `${REDACTED} staging-1 ${REDACTED}`);
  });
});

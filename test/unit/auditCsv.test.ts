import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { runReportCli } from '../../server/src/cli/audit';
import { ACCESS_CSV_COLUMNS, csvCell } from '../../server/src/engine/audit/render/csv';
import { CART_READERS_FROM_WEB, SHOP_CART_MANIFESTS } from '../helpers/cartReaders';

// `mesh-policy report --format csv` (docs/audit.md): one row per distinct access, none left out.
// Decisions follow Istio's evaluation (mesh-semantics §1.3): an ALLOW policy on the workload
// denies what none of its rules match.

const dir = mkdtempSync(join(tmpdir(), 'mpa-csv-'));
after(() => rmSync(dir, { recursive: true, force: true }));
writeFileSync(join(dir, 'policy.yaml'), `${CART_READERS_FROM_WEB}---\n${SHOP_CART_MANIFESTS}`);
const JWT = 'eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJhbGljZSJ9.c2lnbmF0dXJl';
const record = (sa: string | null, method: string, path: string, observed: string, count: number, time: string) => JSON.stringify({
  time, mesh: 'istio', protocol: 'http', source: { principal: sa === null ? null : `cluster.local/ns/shop/sa/${sa}`, namespace: 'shop', ...(sa ? { serviceAccount: sa } : { ip: '10.1.2.3' }) },
  destination: { namespace: 'shop', workload: 'cart', port: 8080 }, request: { method, path }, observed, count,
});
writeFileSync(join(dir, 'access.jsonl'), [
  record('web', 'GET', '/v1/carts/1?x=1', 'allowed', 3, '2026-11-30T10:00:00Z'),
  record('web', 'GET', '/v1/carts/1?x=2', 'allowed', 2, '2026-11-30T11:00:00Z'), // the same access: its query string aside
  record('web', 'DELETE', '/v1/carts/1', 'allowed', 4, '2026-11-30T10:30:00Z'), // denied now
  record(null, 'GET', `/reset/${JWT}`, 'denied', 1, '2026-11-30T12:00:00Z'),
  record('=cmd', 'GET', '/v1/carts', 'denied', 1, '2026-11-30T12:00:00Z'),
].join('\n'));

async function report(...args: string[]) {
  let stdout = '';
  let stderr = '';
  const code = await runReportCli(['--traffic', 'access.jsonl', '--policies', 'policy.yaml', '--format', 'csv', ...args], { stdout: (t) => { stdout += t; }, stderr: (t) => { stderr += `${t}\n`; }, cwd: dir });
  return { code, stdout, stderr };
}

describe('report --format csv', () => {
  it('writes one row per caller, destination, port, method and path, with what was observed and what decides now', async () => {
    const { code, stdout, stderr } = await report();
    assert.equal(code, 1, stderr); // observed-allowed calls are newly denied, as with every report format
    const lines = stdout.split('\r\n');
    assert.equal(lines[0], ACCESS_CSV_COLUMNS.join(','));
    const rows = lines.slice(1).map((l) => Object.fromEntries(l.split(',').map((v, i) => [ACCESS_CSV_COLUMNS[i], v])));
    const pick = (r: Record<string, string>) => [r.caller, r.caller_address, r.method, r.path, r.calls, r.observed_allowed, r.observed_denied, r.decision, r.decided_by, r.rule, r.newly_denied, r.first_seen, r.last_seen];
    assert.deepEqual(rows.map(pick), [
      ['shop/web', '', 'GET', '/v1/carts/1', '5', '5', '0', 'allow', 'AuthorizationPolicy shop/cart-readers', 'rules[0]', '0', '2026-11-30T10:00:00Z', '2026-11-30T11:00:00Z'],
      ['shop/web', '', 'DELETE', '/v1/carts/1', '4', '4', '0', 'deny', 'AuthorizationPolicy shop/cart-readers', '', '4', '2026-11-30T10:30:00Z', '2026-11-30T10:30:00Z'],
      ['(plaintext callers)', '10.1.2.3', 'GET', '/reset/[redacted]', '1', '0', '1', 'deny', 'AuthorizationPolicy shop/cart-readers', '', '0', '2026-11-30T12:00:00Z', '2026-11-30T12:00:00Z'],
      ['shop/=cmd', '', 'GET', '/v1/carts', '1', '0', '1', 'deny', 'AuthorizationPolicy shop/cart-readers', '', '0', '2026-11-30T12:00:00Z', '2026-11-30T12:00:00Z'],
    ]);
    assert.equal(rows[0]!.policy_file, 'policy.yaml');
    assert.equal(rows[0]!.policy_line, '3'); // the policy's metadata line, where every output places it
    assert.match(rows[0]!.sample!, /^access\.jsonl:[12]$/);
    assert.ok(!stdout.includes(JWT.split('.')[2]!), 'the token is not written');
  });

  it('refuses a format it does not have', async () => {
    const { code, stderr } = await report('--format', 'xlsx');
    assert.equal(code, 2);
    assert.match(stderr, /--format must be html, md, json or csv/);
  });
});

describe('csvCell: RFC 4180 fields, never a formula', () => {
  for (const [value, cell] of [
    ['plain', 'plain'],
    ['a,b', '"a,b"'],
    ['say "hi"', '"say ""hi"""'],
    ['two\nlines', '"two\nlines"'],
    ['=HYPERLINK("x")', '"\'=HYPERLINK(""x"")"'],
    ['+1', "'+1"],
    ['-2', "'-2"],
    ['@SUM(A1)', "'@SUM(A1)"],
    ['\tx', "'\tx"],
    [42, '42'],
  ] as const) {
    it(`${JSON.stringify(value)} → ${cell}`, () => assert.equal(csvCell(value), cell));
  }
});

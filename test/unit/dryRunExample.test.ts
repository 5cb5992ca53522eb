// examples/istio-dry-run: a ledger with an enforced ALLOW policy and two policies in dry-run, its
// sidecar logging each dry-run engine's result (Envoy's RBAC shadow metadata). The expected
// figures are counted here from the example's own log lines, by what each line says (method,
// path, status, the logged dry-run results), and checked against the simulation: the logged
// results of the dry-run ALLOW agree with it everywhere; the dry-run DENY was widened after the
// logs were written (from /v1/accounts/* to /v1/*), so its logged results differ exactly for the
// deletes outside /v1/accounts/.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { runSimulateCli } from '../../server/src/cli/simulate';
import { EXAMPLES, REPO_ROOT } from '../helpers/paths';

interface Line { method: string; path: string; response_code: number; istio_dry_run_allow_shadow_engine_result: string; istio_dry_run_deny_shadow_engine_result: string }

const lines: Line[] = readFileSync(join(EXAMPLES, 'istio-dry-run', 'traffic', 'ledger.log'), 'utf8').split('\n').flatMap((text) => {
  try {
    const inner = JSON.parse(JSON.parse(text).log) as Line;
    return typeof inner.method === 'string' ? [inner] : [];
  } catch {
    return [];
  }
});
const count = (test: (l: Line) => boolean): number => lines.filter(test).length;
const deletes = (l: Line): boolean => l.method === 'DELETE';

const expected = {
  calls: lines.length,
  denied: count((l) => l.response_code === 403),
  allowlistDenies: count((l) => l.istio_dry_run_allow_shadow_engine_result === 'denied'),
  allowlistDeniesNowAllowed: count((l) => l.istio_dry_run_allow_shadow_engine_result === 'denied' && l.response_code !== 403),
  deletes: count(deletes),
  // logged by the deployed version, which matched /v1/accounts/* only
  deletesLoggedOtherwise: count((l) => deletes(l) && l.istio_dry_run_deny_shadow_engine_result === 'allowed'),
};

interface DryRunTally { ref: { label: string }; engine: string; calls: number; matched: number; wouldDeny: number; wouldNewlyDeny: number; loggedOtherwise: number }
interface Result {
  totals: { calls: number; deny: number; newlyDenied: number; newlyAllowed: number; unknown: number };
  dryRun: DryRunTally[];
  calls: { count: number; observedDryRunDifference?: string; record: { request: { method: string; path: string } } }[];
}

describe('examples/istio-dry-run', () => {
  it('the log lines hold every kind of call the example is about', () => {
    for (const [name, n] of Object.entries(expected)) assert.ok(n > 0, `${name}: no such line`);
    assert.ok(expected.deletesLoggedOtherwise < expected.deletes, 'some deletes were matched by the deployed version too');
  });

  it('the dry-run policies say what they would do, and where the logs report otherwise', async () => {
    let stdout = '';
    const io = { stdout: (t: string) => { stdout += `${t}\n`; }, stderr: () => undefined, cwd: REPO_ROOT };
    const code = await runSimulateCli(['--policies', 'examples/istio-dry-run', '--traffic', 'examples/istio-dry-run/traffic', '--format', 'json'], io);
    assert.equal(code, 0);
    const result = JSON.parse(stdout) as Result;
    // The dry-run policies change nothing the proxies did.
    assert.deepEqual([result.totals.calls, result.totals.deny, result.totals.newlyDenied, result.totals.newlyAllowed, result.totals.unknown], [expected.calls, expected.denied, 0, 0, 0]);
    const policy = (name: string): DryRunTally => {
      const found = result.dryRun.find((p) => p.ref.label === `AuthorizationPolicy bank/${name}`);
      assert.ok(found, `${name} applied to calls`);
      return found;
    };
    const allowlist = policy('ledger-allowlist-v2');
    assert.deepEqual([allowlist.engine, allowlist.calls, allowlist.wouldDeny, allowlist.wouldNewlyDeny, allowlist.loggedOtherwise], ['allow', expected.calls, expected.allowlistDenies, expected.allowlistDeniesNowAllowed, 0]);
    const denyDeletes = policy('ledger-deny-deletes');
    assert.deepEqual([denyDeletes.engine, denyDeletes.calls, denyDeletes.matched, denyDeletes.wouldDeny, denyDeletes.loggedOtherwise], ['deny', expected.calls, expected.deletes, expected.deletes, expected.deletesLoggedOtherwise]);
    // Exactly the deletes outside /v1/accounts/ carry a difference, each naming the dry-run DENY engine.
    const differing = result.calls.filter((c) => c.observedDryRunDifference !== undefined);
    assert.equal(differing.reduce((n, c) => n + c.count, 0), expected.deletesLoggedOtherwise);
    for (const c of differing) {
      assert.equal(c.record.request.method, 'DELETE');
      assert.ok(!c.record.request.path.startsWith('/v1/accounts/'), c.record.request.path);
      assert.match(c.observedDryRunDifference!, /^dry-run DENY: observed would not deny; simulated would deny \(AuthorizationPolicy bank\/ledger-deny-deletes rules\[0\] matches\)$/);
    }
  });
});

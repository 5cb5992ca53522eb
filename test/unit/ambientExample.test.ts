// examples/istio-ambient: an app in Istio's ambient mode, with a waypoint in front of its API and
// ztunnel on every node. The expected figures are counted here from the example's own log lines,
// by what each line says (who called, where, what the proxy answered), and checked against what
// the simulator decides and which policy it credits, as Istio's ambient docs say the split works:
// the waypoint enforces the policies that target the Service (L7), the destination's ztunnel the
// selector and namespace policies (L4), seeing the waypoint's identity for calls it forwards.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { runSimulateCli } from '../../server/src/cli/simulate';
import { EXAMPLES, REPO_ROOT } from '../helpers/paths';

interface Tally { calls: number; allow: number; deny: number; unknown: number; newlyDenied: number; newlyAllowed: number; ref: { label: string }; rules?: Tally[] }

const root = join(EXAMPLES, 'istio-ambient');
const lines = (file: string): string[] => readFileSync(join(root, 'traffic', file), 'utf8').split('\n');
const waypoint = lines('waypoint.log').filter((l) => l.includes('inbound-vip|80|http|notes-api.notes.svc.cluster.local'));
const ztunnel = lines('ztunnel.log').filter((l) => /\taccess\tconnection complete\t.*direction="inbound"/.test(l) && l.includes('dst.namespace='));
const count = (list: string[], test: (l: string) => boolean): number => list.filter(test).length;

const expected = {
  // the waypoint: web's requests, allowed (via_upstream) or denied by RBAC with no ALLOW rule matching
  webAllowed: count(waypoint, (l) => l.includes(' via_upstream ')),
  webDenied: count(waypoint, (l) => l.includes('rbac_access_denied_matched_policy[none]')),
  // ztunnel: the waypoint's own connections to the API pods, the API's to the database
  waypointHops: count(ztunnel, (l) => l.includes('src.identity="spiffe://cluster.local/ns/notes/sa/waypoint"') && !l.includes('error=')),
  databaseClients: count(ztunnel, (l) => l.includes('sa/notes-api"') && l.includes('dst.workload="postgres-0"') && !l.includes('error=')),
  // ztunnel's denials: the report job at the database, the debug pod around the waypoint, the sandbox
  reportJob: count(ztunnel, (l) => l.includes('sa/reporting"') && l.includes('policy rejection')),
  debugPod: count(ztunnel, (l) => l.includes('src.workload="debug"') && l.includes('policy rejection')),
  sandbox: count(ztunnel, (l) => l.includes('explicitly denied by: notes/postgres-deny-sandbox')),
};

describe('examples/istio-ambient', () => {
  it('the log lines hold every kind of call the example is about', () => {
    for (const [name, n] of Object.entries(expected)) assert.ok(n > 0, `${name}: no such line`);
  });

  it('every call is decided as observed, and credited to the policy that enforced it', async () => {
    let stdout = '';
    const io = { stdout: (t: string) => { stdout += `${t}\n`; }, stderr: () => undefined, cwd: REPO_ROOT };
    const code = await runSimulateCli(['--policies', 'examples/istio-ambient', '--traffic', 'examples/istio-ambient/traffic', '--format', 'json'], io);
    assert.equal(code, 0);
    const result = JSON.parse(stdout) as { totals: Tally; policies: Tally[] };
    const policy = (name: string): Tally => {
      const found = result.policies.find((p) => p.ref.label === `AuthorizationPolicy notes/${name}`);
      assert.ok(found, `${name} decided some calls`);
      return found;
    };
    // Nothing changes against what the proxies answered, and every call is decided.
    assert.equal(result.totals.newlyDenied, 0);
    assert.equal(result.totals.newlyAllowed, 0);
    assert.equal(result.totals.unknown, 0);
    // The waypoint: notes-api-callers allows web's GETs and POSTs on /v1/notes and denies the rest.
    const callers = policy('notes-api-callers');
    assert.deepEqual([callers.allow, callers.deny], [expected.webAllowed, expected.webDenied]);
    assert.equal(callers.rules?.[0]?.allow, expected.webAllowed, 'its rule is credited with the calls it allowed at the waypoint');
    // ztunnel at the API pods: the waypoint's identity passes (web's requests and the waypoint's own
    // connections); the debug pod calling a pod directly does not.
    const waypointOnly = policy('notes-api-waypoint-only');
    assert.deepEqual([waypointOnly.allow, waypointOnly.deny], [expected.webAllowed + expected.waypointHops, expected.debugPod]);
    // ztunnel at the database, which skips the waypoint (its Service says istio.io/use-waypoint: none)
    const database = policy('postgres-clients');
    assert.deepEqual([database.allow, database.deny], [expected.databaseClients, expected.reportJob]);
    // the database's DENY of the sandbox, at ztunnel
    const sandbox = policy('postgres-deny-sandbox');
    assert.deepEqual([sandbox.allow, sandbox.deny], [0, expected.sandbox]);
  });
});

import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { defaultConfig } from '../../../server/src/engine/config/projectConfig';
import { Engine } from '../../../server/src/engine/engine';
import { AuthenticationIndex } from '../../../server/src/engine/insight/authnLens';
import { LiveInsight } from '../../../server/src/engine/insight/live';
import { TrafficInsight } from '../../../server/src/engine/insight/trafficInsight';
import { Simulation, simulateShapes } from '../../../server/src/engine/simulate';
import { headersTestedBy } from '../../../server/src/engine/simulate/testedHeaders';
import { ingestTraffic } from '../../../server/src/engine/traffic/ingest/ingest';
import { WorkspaceModel } from '../../../server/src/engine/workspace';

// The lenses above Istio PeerAuthentications and RequestAuthentications say what they do to the
// observed calls (mesh-semantics §1.8). Expected values follow the spec:
// - the mode of a workload's port: its workload-selector policy's portLevelMtls entry, else that
//   policy's mode, else its namespace's policy, else the root namespace's (mesh-wide), else
//   PERMISSIVE; UNSET inherits from the next level; the oldest policy of a level is the level's;
//   a selector policy in the root namespace is ignored; a mode outside the enum is not in effect (Istio refuses to store it);
// - STRICT refuses a plaintext call, PERMISSIVE accepts it, DISABLE accepts plaintext only, so
//   no call keeps a peer identity;
// - a RequestAuthentication rejects an invalid token (bad signature, an issuer or audience its
//   rules do not list) with 401 and lets a request without a token through.

const engine = new Engine();
const dir = mkdtempSync(join(tmpdir(), 'mpa-authn-lens-'));
after(() => rmSync(dir, { recursive: true, force: true }));

type Arrival = 'mtls' | 'plaintext' | 'not-logged';

/** `count` calls from a caller that arrived as `arrival` to shop/<workload> (labels app=<workload>) on `port`; `jwt` as the record carries it. */
function calls(count: number, arrival: Arrival, workload = 'cart', port = 8080, jwt?: object): string {
  const source = arrival === 'mtls' ? { principal: 'cluster.local/ns/shop/sa/frontend' } : arrival === 'not-logged' ? { ip: '10.0.0.9', principalUnknown: true } : { ip: '10.0.0.9' };
  const path = `/${arrival}/${JSON.stringify(jwt ?? null).length}`;
  return JSON.stringify({
    time: '2026-11-20T10:00:00Z', mesh: 'istio', protocol: 'http', source,
    destination: { namespace: 'shop', workload, labels: { app: workload }, port },
    request: { method: 'GET', path, ...(jwt ? { jwt } : {}) },
    observed: 'allowed', count,
  });
}

/** The record without the destination's labels (no inventory either: which workload selectors apply is not known). */
function withoutLabels(record: string): string {
  const parsed = JSON.parse(record) as { destination: { labels?: unknown } };
  delete parsed.destination.labels;
  return JSON.stringify(parsed);
}

/** 10 mutual TLS, 3 plaintext and 2 not-logged calls to shop/cart:8080. */
const MIXED = [calls(10, 'mtls'), calls(3, 'plaintext'), calls(2, 'not-logged')];

function peer(name: string, namespace: string, spec: string, created?: string): string {
  return `apiVersion: security.istio.io/v1\nkind: PeerAuthentication\nmetadata:\n  name: ${name}\n  namespace: ${namespace}\n${created ? `  creationTimestamp: "${created}"\n` : ''}spec:\n${spec}`;
}

const CART = '  selector:\n    matchLabels:\n      app: cart\n';

interface Case {
  name: string;
  /** Policy documents (one file). */
  docs: string[];
  records: string[];
  /** Lens titles expected, by the item's label (a policy's, or `portLevelMtls <port>`). */
  lenses: Record<string, string | RegExp>;
}

const CASES: Case[] = [
  {
    name: 'namespace STRICT: plaintext calls are refused',
    docs: [peer('strict', 'shop', '  mtls:\n    mode: STRICT\n')],
    records: MIXED,
    lenses: { 'PeerAuthentication shop/strict': 'mTLS STRICT for 1 workload: 15 calls (10 mutual TLS · 3 plaintext, refused · 2 not logged whether mTLS)' },
  },
  {
    name: 'namespace PERMISSIVE: plaintext calls are accepted',
    docs: [peer('permissive', 'shop', '  mtls:\n    mode: PERMISSIVE\n')],
    records: MIXED,
    lenses: { 'PeerAuthentication shop/permissive': 'mTLS PERMISSIVE for 1 workload: 15 calls (10 mutual TLS · 3 plaintext, accepted · 2 not logged whether mTLS)' },
  },
  {
    name: 'DISABLE: a caller presenting mutual TLS is refused (pass_through_filter_chain_test.go), plaintext accepted',
    docs: [peer('off', 'shop', '  mtls:\n    mode: DISABLE\n')],
    records: [calls(10, 'mtls'), calls(3, 'plaintext')],
    lenses: { 'PeerAuthentication shop/off': 'mTLS DISABLE for 1 workload: 13 calls (10 mutual TLS, refused · 3 plaintext, accepted)' },
  },
  {
    name: 'DISABLE: an identity inferred from the inventory arrives as plaintext (auto mTLS)',
    docs: [peer('off', 'shop', '  mtls:\n    mode: DISABLE\n')],
    records: [calls(10, 'mtls').replace('"principal":"cluster.local/ns/shop/sa/frontend"', '"principal":"cluster.local/ns/shop/sa/frontend","principalInferred":true'), calls(3, 'plaintext')],
    lenses: { 'PeerAuthentication shop/off': 'mTLS DISABLE for 1 workload: 13 calls (0 mutual TLS, refused · 13 plaintext, accepted)' },
  },
  {
    name: 'DISABLE at an ambient workload: ztunnel does not support it and accepts plaintext as PERMISSIVE does',
    docs: [peer('off', 'shop', '  mtls:\n    mode: DISABLE\n')],
    records: [calls(10, 'mtls'), calls(3, 'plaintext')].map((r) => r.replace('"labels":{"app":"cart"}', '"labels":{"app":"cart","istio.io/dataplane-mode":"ambient"}')),
    lenses: { 'PeerAuthentication shop/off': 'mTLS DISABLE for 1 workload: PERMISSIVE 13 calls (10 mutual TLS · 3 plaintext, accepted)' },
  },
  {
    name: 'UNSET inherits: a workload policy from the mesh-wide one, which sets the mode',
    docs: [peer('cart-unset', 'shop', `${CART}  mtls:\n    mode: UNSET\n`), peer('mesh', 'istio-system', '  mtls:\n    mode: STRICT\n')],
    records: [calls(10, 'mtls'), calls(3, 'plaintext')],
    lenses: {
      'PeerAuthentication shop/cart-unset': 'mTLS UNSET (inherits STRICT from PeerAuthentication istio-system/mesh) for 1 workload: 13 calls (10 mutual TLS · 3 plaintext, refused)',
      'PeerAuthentication istio-system/mesh': 'mTLS STRICT for 1 workload: 13 calls (10 mutual TLS · 3 plaintext, refused)',
    },
  },
  {
    name: 'UNSET with nothing above it: PERMISSIVE, the default',
    docs: [peer('unset', 'shop', '  mtls: {}\n')],
    records: [calls(3, 'plaintext')],
    lenses: { 'PeerAuthentication shop/unset': 'mTLS UNSET (inherits PERMISSIVE, the default) for 1 workload: 3 calls (0 mutual TLS · 3 plaintext, accepted)' },
  },
  {
    name: 'a workload selector wins over its namespace; the namespace policy keeps the other workloads',
    docs: [peer('ns-strict', 'shop', '  mtls:\n    mode: STRICT\n'), peer('cart-permissive', 'shop', `${CART}  mtls:\n    mode: PERMISSIVE\n`)],
    records: [calls(3, 'plaintext'), calls(4, 'plaintext', 'orders', 8080)],
    lenses: {
      'PeerAuthentication shop/ns-strict': 'mTLS STRICT for 1 workload: 4 calls (0 mutual TLS · 4 plaintext, refused) · 3 calls to 1 workload it selects go by PeerAuthentication shop/cart-permissive',
      'PeerAuthentication shop/cart-permissive': 'mTLS PERMISSIVE for 1 workload: 3 calls (0 mutual TLS · 3 plaintext, accepted)',
    },
  },
  {
    name: 'the oldest policy of a level wins, whatever the order written',
    docs: [peer('newer', 'shop', '  mtls:\n    mode: STRICT\n', '2025-06-01T00:00:00Z'), peer('older', 'shop', '  mtls:\n    mode: PERMISSIVE\n', '2024-01-01T00:00:00Z')],
    records: [calls(3, 'plaintext')],
    lenses: {
      'PeerAuthentication shop/newer': 'mTLS STRICT: no observed call goes by it · 3 calls to 1 workload it selects go by PeerAuthentication shop/older',
      'PeerAuthentication shop/older': 'mTLS PERMISSIVE for 1 workload: 3 calls (0 mutual TLS · 3 plaintext, accepted)',
    },
  },
  {
    name: 'a port-level override: its port goes by the entry, the other ports by the policy',
    docs: [peer('cart', 'shop', `${CART}  mtls:\n    mode: STRICT\n  portLevelMtls:\n    9090:\n      mode: PERMISSIVE\n`)],
    records: [calls(5, 'plaintext', 'cart', 8080), calls(7, 'plaintext', 'cart', 9090), calls(2, 'mtls', 'cart', 9090)],
    lenses: {
      'PeerAuthentication shop/cart': 'mTLS STRICT, port 9090 PERMISSIVE for 1 workload: STRICT 5 calls (0 mutual TLS · 5 plaintext, refused) · PERMISSIVE 9 calls (2 mutual TLS · 7 plaintext, accepted)',
      'portLevelMtls 9090': 'port 9090: mTLS PERMISSIVE for 1 workload: 9 calls (2 mutual TLS · 7 plaintext, accepted)',
    },
  },
  {
    name: 'an UNSET port inherits the workload\'s mode',
    docs: [peer('cart', 'shop', `${CART}  mtls:\n    mode: STRICT\n  portLevelMtls:\n    9090:\n      mode: UNSET\n`)],
    records: [calls(7, 'plaintext', 'cart', 9090)],
    lenses: {
      'PeerAuthentication shop/cart': 'mTLS STRICT, port 9090 UNSET for 1 workload: 7 calls (0 mutual TLS · 7 plaintext, refused)',
      'portLevelMtls 9090': 'port 9090: mTLS UNSET, inherits the workload\'s mode',
    },
  },
  {
    name: 'a mode outside the enum: not in effect, it sets nothing (the calls keep the default)',
    docs: [peer('typo', 'shop', '  mtls:\n    mode: strict\n'), peer('unset', 'shop', '  mtls: {}\n', '2030-01-01T00:00:00Z')],
    records: [calls(3, 'plaintext')],
    lenses: {
      'PeerAuthentication shop/typo': /^not in effect, Istio refuses to store it \(.*mtls\.mode.*\): it sets no mode · 3 observed calls to 1 workload it selects$/,
      'PeerAuthentication shop/unset': 'mTLS UNSET (inherits PERMISSIVE, the default) for 1 workload: 3 calls (0 mutual TLS · 3 plaintext, accepted)',
    },
  },
  {
    name: 'a workload selector in the root namespace: ignored',
    docs: [peer('root-cart', 'istio-system', `${CART}  mtls:\n    mode: STRICT\n`)],
    records: [calls(3, 'plaintext')],
    lenses: { 'PeerAuthentication istio-system/root-cart': 'Istio ignores it: a workload selector in the root namespace · 3 observed calls to 1 workload it selects' },
  },
  {
    // (the namespace's STRICT, unless the workload selector PERMISSIVE selects it: its labels decide)
    name: 'labels not logged: the calls may go by a workload selector, and the lens names the modes they get',
    docs: [peer('strict', 'shop', '  mtls:\n    mode: STRICT\n'), peer('cart-permissive', 'shop', `${CART}  mtls:\n    mode: PERMISSIVE\n`)],
    records: MIXED.map(withoutLabels),
    lenses: {
      'PeerAuthentication shop/strict': 'mTLS STRICT: no observed call goes by it · may govern 15 more calls, which get STRICT or PERMISSIVE (what decides is not logged)',
      'PeerAuthentication shop/cart-permissive': 'mTLS PERMISSIVE: no observed call goes by it · may govern 15 more calls, which get STRICT or PERMISSIVE (what decides is not logged)',
    },
  },
  {
    name: 'RequestAuthentication: valid, invalid (bad signature, issuer not listed, audience not listed) and absent tokens',
    docs: [`apiVersion: security.istio.io/v1\nkind: RequestAuthentication\nmetadata:\n  name: cart-jwt\n  namespace: shop\nspec:\n${CART}  jwtRules:\n  - issuer: https://auth.example.com\n    audiences: [cart]\n`],
    records: [
      calls(4, 'mtls', 'cart', 8080, { valid: true, issuer: 'https://auth.example.com', audiences: ['cart'] }),
      calls(2, 'mtls', 'cart', 8080, { valid: false }),
      calls(3, 'mtls', 'cart', 8080, { issuer: 'https://other.example.com', audiences: ['cart'] }),
      calls(1, 'mtls', 'cart', 8080, { issuer: 'https://auth.example.com', audiences: ['shop'] }),
      calls(6, 'mtls', 'cart', 8080),
      calls(9, 'mtls', 'orders', 8080),
    ],
    lenses: { 'RequestAuthentication shop/cart-jwt': '16 HTTP calls to 1 workload: 4 with a valid token · 6 with an invalid one (401) · 6 without a token (let through)' },
  },
  {
    name: 'STRICT and a RequestAuthentication: a plaintext call is refused in the handshake, so its token is never read',
    docs: [
      peer('strict', 'shop', '  mtls:\n    mode: STRICT\n'),
      `apiVersion: security.istio.io/v1\nkind: RequestAuthentication\nmetadata:\n  name: cart-jwt\n  namespace: shop\nspec:\n${CART}  jwtRules:\n  - issuer: https://auth.example.com\n`,
    ],
    records: [calls(4, 'mtls'), calls(5, 'plaintext')],
    lenses: {
      'PeerAuthentication shop/strict': 'mTLS STRICT for 1 workload: 9 calls (4 mutual TLS · 5 plaintext, refused)',
      'RequestAuthentication shop/cart-jwt': '4 HTTP calls to 1 workload: 0 with a valid token · 0 with an invalid one (401) · 4 without a token (let through)',
    },
  },
  {
    name: 'a port entry at an ambient workload: ztunnel enforces DISABLE as PERMISSIVE, and the entry\'s lens says so',
    docs: [peer('cart', 'shop', `${CART}  mtls:\n    mode: STRICT\n  portLevelMtls:\n    9090:\n      mode: DISABLE\n`)],
    records: [calls(3, 'mtls', 'cart', 9090), calls(5, 'plaintext', 'cart', 9090)].map((r) => r.replace('"labels":{"app":"cart"}', '"labels":{"app":"cart","istio.io/dataplane-mode":"ambient"}')),
    lenses: { 'portLevelMtls 9090': 'port 9090: mTLS DISABLE for 1 workload: PERMISSIVE 8 calls (3 mutual TLS · 5 plaintext, accepted)' },
  },
];

async function insightFor(name: string, docs: string[], records: string[]): Promise<{ insight: TrafficInsight; path: string; workspace: WorkspaceModel; live: LiveInsight }> {
  const workspace = new WorkspaceModel(defaultConfig(dir));
  const path = join(dir, `${name}.yaml`);
  workspace.update(engine.prepare(engine.read(path, docs.join('---\n'))));
  const logs = join(dir, `${name}.jsonl`);
  writeFileSync(logs, `${records.join('\n')}\n`);
  const model = await ingestTraffic([logs], { inventory: workspace.inventory, config: workspace.config, keyHeaders: headersTestedBy(workspace), workers: 1 });
  const live = new LiveInsight(workspace, model.shapes);
  return { insight: live.next([]), path, workspace, live };
}

describe('lenses over PeerAuthentication and RequestAuthentication: what they do to the observed calls', () => {
  CASES.forEach((c, i) => {
    it(c.name, async () => {
      const { insight, path } = await insightFor(`case-${i}`, c.docs, c.records);
      const titles = new Map(insight.lenses(path).map((l) => [l.item.label, l.title]));
      for (const [label, expected] of Object.entries(c.lenses)) {
        const title = titles.get(label);
        if (typeof expected === 'string') assert.equal(title, expected, `${label}; every lens: ${JSON.stringify([...titles])}`);
        else assert.match(title ?? '', expected, label);
      }
    });
  });

  it('a click lists the calls of each kind, and a port entry lists only its port\'s', async () => {
    const c = CASES.find((x) => x.name.startsWith('a port-level override'))!;
    const { insight, path } = await insightFor('listing', c.docs, c.records);
    const lenses = insight.lenses(path);
    const policy = insight.callsMarkdown(path, lenses.find((l) => l.item.label === 'PeerAuthentication shop/cart')!.item.span.start)!;
    assert.match(policy, /^# Observed calls under PeerAuthentication shop\/cart\n/);
    assert.match(policy, /## Plaintext, refused, under mTLS STRICT \(5 calls\)/);
    assert.match(policy, /## Plaintext, accepted, under mTLS PERMISSIVE \(7 calls\)/);
    assert.match(policy, /## With mutual TLS, under mTLS PERMISSIVE \(2 calls\)/);
    const port = insight.callsMarkdown(path, lenses.find((l) => l.item.label === 'portLevelMtls 9090')!.item.span.start)!;
    assert.match(port, /^# Observed calls under port 9090 of PeerAuthentication shop\/cart\n/);
    assert.doesNotMatch(port, /:8080/);
    assert.match(port, /shop\/cart:9090/);
  });

  it('a PeerAuthentication that governs calls gets no "decides no observed call" hint; one that governs none does', async () => {
    const c = CASES.find((x) => x.name.startsWith('the oldest policy'))!;
    const { insight, path } = await insightFor('unused', c.docs, c.records);
    const hints = insight.findings(path).filter((f) => f.code === 'MPA4003').map((f) => f.message);
    assert.ok(hints.some((m) => m.startsWith('PeerAuthentication shop/newer ')), JSON.stringify(hints));
    assert.ok(!hints.some((m) => m.startsWith('PeerAuthentication shop/older ')), JSON.stringify(hints));
  });

  it('one that may govern calls names the modes they get, in its hint and its listing; a RequestAuthentication\'s hint speaks of tokens', async () => {
    const c = CASES.find((x) => x.name.startsWith('labels not logged'))!;
    const ra = `apiVersion: security.istio.io/v1\nkind: RequestAuthentication\nmetadata:\n  name: orders-jwt\n  namespace: shop\nspec:\n  selector:\n    matchLabels:\n      app: orders\n  jwtRules:\n  - issuer: https://auth.example.com\n`;
    const { insight, path } = await insightFor('maybe', [...c.docs, ra], c.records);
    const hints = insight.findings(path).filter((f) => f.code === 'MPA4003').map((f) => f.message);
    assert.deepEqual(hints, [
      'PeerAuthentication shop/strict sets the mTLS mode of none of the 15 observed calls (mTLS STRICT) · may govern 15 more calls, which get STRICT or PERMISSIVE (what decides is not logged)',
      'PeerAuthentication shop/cart-permissive sets the mTLS mode of none of the 15 observed calls (mTLS PERMISSIVE) · may govern 15 more calls, which get STRICT or PERMISSIVE (what decides is not logged)',
      // (the calls go to shop/cart, whose labels are not logged: it may check their tokens)
      'RequestAuthentication shop/orders-jwt checks the token of none of the 15 observed calls · may check 15 more calls (labels not known)',
    ]);
    const listing = insight.callsMarkdown(path, insight.lenses(path).find((l) => l.item.label === 'PeerAuthentication shop/strict')!.item.span.start)!;
    assert.match(listing, /\n## It may govern, STRICT or PERMISSIVE \(what decides is not logged\) \(15 calls\)\n/);
  });

  it('follows edits in another file: an AuthorizationPolicy edited keeps it, a narrower PeerAuthentication added takes its calls', async () => {
    // (mutual TLS calls only: the STRICT policy decides none of them, so only its lens and hint tell it apart)
    const { path, workspace, live } = await insightFor('other-file', [peer('strict', 'shop', '  mtls:\n    mode: STRICT\n')], [calls(10, 'mtls')]);
    const other = join(dir, 'other-file-b.yaml');
    const allow = (name: string) => `apiVersion: security.istio.io/v1\nkind: AuthorizationPolicy\nmetadata:\n  name: ${name}\n  namespace: shop\nspec:\n  action: DENY\n  rules:\n  - to:\n    - operation:\n        methods: ["DELETE"]\n`;
    const table: [string, string, string[]][] = [
      [allow('no-delete'), 'mTLS STRICT for 1 workload: 10 calls (10 mutual TLS · 0 plaintext, refused)', []],
      [allow('no-deletes'), 'mTLS STRICT for 1 workload: 10 calls (10 mutual TLS · 0 plaintext, refused)', []],
      [peer('cart-permissive', 'shop', `${CART}  mtls:\n    mode: PERMISSIVE\n`), 'mTLS STRICT: no observed call goes by it · 10 calls to 1 workload it selects go by PeerAuthentication shop/cart-permissive', ['PeerAuthentication shop/strict']],
      [allow('no-delete'), 'mTLS STRICT for 1 workload: 10 calls (10 mutual TLS · 0 plaintext, refused)', []],
    ];
    for (const [text, expected, unused] of table) {
      workspace.update(engine.prepare(engine.read(other, text)));
      const insight = live.next([other]);
      assert.equal(insight.lenses(path)[0]!.title, expected);
      const hints = insight.findings(path).filter((f) => f.code === 'MPA4003').map((f) => f.message);
      assert.deepEqual(hints.map((m) => m.split(' sets the mTLS mode of none ')[0]), unused);
      // (in its own terms: it allows nothing, so it never "decides" a call)
      for (const hint of hints) assert.equal(hint, 'PeerAuthentication shop/strict sets the mTLS mode of none of the 10 observed calls (mTLS STRICT) · 10 calls to 1 workload it selects go by PeerAuthentication shop/cart-permissive');
      const simulation = new Simulation(workspace);
      const fresh = new TrafficInsight(workspace, simulation, simulateShapes(simulation, insight.result.outcomes.map((o) => o.shape)));
      assert.deepEqual(insight.findings(path), fresh.findings(path));
    }
  });

  it('follows a move: lines added above the resources keep what was filed, and the listings link to the new lines', async () => {
    const docs = [peer('strict', 'shop', '  mtls:\n    mode: STRICT\n'), `apiVersion: security.istio.io/v1\nkind: RequestAuthentication\nmetadata:\n  name: cart-jwt\n  namespace: shop\nspec:\n${CART}  jwtRules:\n  - issuer: https://auth.example.com\n`];
    const { path, workspace, live } = await insightFor('move', docs, MIXED);
    const index = new AuthenticationIndex(new Simulation(workspace).compiledFor('istio'));
    const table: [string, boolean][] = [
      // [text before the resources, whether the index built for the first text still holds]
      ['# cart and its callers\n# (moved down)\n', true],
      ['# cart\n', true],
      [`${peer('cart-permissive', 'shop', `${CART}  mtls:\n    mode: PERMISSIVE\n`)}---\n`, false],
    ];
    for (const [above, holds] of table) {
      workspace.update(engine.prepare(engine.read(path, above + docs.join('---\n'))));
      const insight = live.next([path]);
      const simulation = new Simulation(workspace);
      assert.equal(index.adopt(simulation.compiledFor('istio')), holds, above);
      const fresh = new TrafficInsight(workspace, simulation, simulateShapes(simulation, insight.result.outcomes.map((o) => o.shape)));
      assert.deepEqual(insight.lenses(path), fresh.lenses(path), above);
      assert.deepEqual(insight.findings(path), fresh.findings(path), above);
      for (const lens of insight.lenses(path)) {
        const offset = lens.item.span.start;
        assert.equal(insight.callsMarkdown(path, offset), fresh.callsMarkdown(path, offset), `${above}: ${lens.item.label}`);
      }
    }
  });

  it('follows edits: a mode changed in the editor changes the lens, as a fresh computation says', async () => {
    const docs = [peer('strict', 'shop', '  mtls:\n    mode: STRICT\n')];
    const { path, workspace, live } = await insightFor('edit', docs, MIXED);
    const table: [string, string][] = [
      ['  mtls:\n    mode: PERMISSIVE\n', 'mTLS PERMISSIVE for 1 workload: 15 calls (10 mutual TLS · 3 plaintext, accepted · 2 not logged whether mTLS)'],
      ['  mtls:\n    mode: STRICTT\n', 'not in effect, Istio refuses to store it (mtls.mode is not one of UNSET, DISABLE, PERMISSIVE, STRICT): it sets no mode · 15 observed calls to 1 workload it selects'],
      ['  mtls:\n    mode: STRICT\n', 'mTLS STRICT for 1 workload: 15 calls (10 mutual TLS · 3 plaintext, refused · 2 not logged whether mTLS)'],
    ];
    for (const [spec, expected] of table) {
      workspace.update(engine.prepare(engine.read(path, peer('strict', 'shop', spec))));
      const insight = live.next([path]);
      assert.equal(insight.lenses(path)[0]!.title, expected);
      const simulation = new Simulation(workspace);
      const fresh = new TrafficInsight(workspace, simulation, simulateShapes(simulation, insight.result.outcomes.map((o) => o.shape)));
      assert.deepEqual(insight.lenses(path), fresh.lenses(path));
      assert.deepEqual(insight.findings(path), fresh.findings(path));
      // (the insight built by difference took over the last one's indexes: its listing reads its own calls)
      const offset = insight.lenses(path)[0]!.item.span.start;
      assert.equal(insight.callsMarkdown(path, offset), fresh.callsMarkdown(path, offset));
      assert.match(insight.callsMarkdown(path, offset)!, /\| 10 \| GET \/mtls\/4 \| cluster\.local\/ns\/shop\/sa\/frontend → shop\/cart:8080 \|/);
    }
  });
});

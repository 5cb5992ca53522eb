import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { isUnknown } from '../../../server/src/engine/authz';
import { ISTIO_INVENTORY as INVENTORY, listed, listFor, rowsOf, workspaceOf } from './workspace';

// Which AuthorizationPolicies apply to a workload and in what order, from
// /work/shared/spec/mesh-semantics.md §1.2 (attachment: root namespace, namespace-wide, selector;
// targetRefs only at waypoints and Gateway API gateways, never at sidecars or ztunnel) and §1.3
// (CUSTOM, then DENY, then ALLOW; AUDIT decides nothing; dry-run policies do not count as ALLOW
// policies). Within an action the order does not change the verdict; the listing keeps the
// oldest first (document order without creationTimestamp).


interface Meta { name: string; namespace: string; dryRun?: boolean }

function policy(meta: Meta, spec: Record<string, unknown>): string {
  const annotations = meta.dryRun ? '\n  annotations: {istio.io/dry-run: "true"}' : '';
  return `apiVersion: security.istio.io/v1
kind: AuthorizationPolicy
metadata:
  name: ${meta.name}
  namespace: ${meta.namespace}${annotations}
spec: ${JSON.stringify(spec)}
`;
}

const cart = { matchLabels: { app: 'cart' } };
const rule = { to: [{ operation: { methods: ['GET'] } }] };

const POLICIES = [
  // §1.2: root namespace, no selector: every workload of the mesh.
  policy({ name: 'mesh-allow-health', namespace: 'istio-system' }, { action: 'ALLOW', rules: [{ to: [{ operation: { paths: ['/healthz'] } }] }] }),
  // §1.2: a selector in the root namespace matches workloads of every namespace.
  policy({ name: 'root-deny-cart', namespace: 'istio-system' }, { selector: cart, action: 'DENY', rules: [rule] }),
  // §1.2: no selector in the workload's namespace: namespace-wide.
  policy({ name: 'ns-deny', namespace: 'foo' }, { action: 'DENY', rules: [rule] }),
  policy({ name: 'ext', namespace: 'foo' }, { selector: cart, action: 'CUSTOM', provider: { name: 'opa' }, rules: [rule] }),
  policy({ name: 'audit-cart', namespace: 'foo' }, { selector: cart, action: 'AUDIT', rules: [rule] }),
  policy({ name: 'cart-callers', namespace: 'foo' }, { selector: cart, action: 'ALLOW', rules: [rule, rule] }),
  policy({ name: 'cart-dry', namespace: 'foo', dryRun: true }, { selector: cart, action: 'ALLOW', rules: [rule] }),
  // Not attached to foo/cart: another selector, another namespace, targetRefs at a sidecar (§1.2 item 1).
  policy({ name: 'other', namespace: 'foo' }, { selector: { matchLabels: { app: 'other' } }, action: 'DENY', rules: [rule] }),
  policy({ name: 'bar-wide', namespace: 'bar' }, { action: 'DENY', rules: [rule] }),
  policy({ name: 'svc-cart', namespace: 'foo' }, { targetRefs: [{ kind: 'Service', group: '', name: 'cart' }], action: 'ALLOW', rules: [rule] }),
  // Ambient namespace amb: targetRefs on the Service (waypoint, §1.2 item 3) and selectors (ztunnel, item 4).
  policy({ name: 'api-svc', namespace: 'amb' }, { targetRefs: [{ kind: 'Service', group: '', name: 'api' }], action: 'ALLOW', rules: [rule] }),
  policy({ name: 'api-l4', namespace: 'amb' }, { selector: { matchLabels: { app: 'api' } }, action: 'ALLOW', rules: [{ from: [{ source: { namespaces: ['amb'] } }] }] }),
  policy({ name: 'api-audit', namespace: 'amb' }, { selector: { matchLabels: { app: 'api' } }, action: 'AUDIT', rules: [rule] }),
  // A dry-run policy at ztunnel: istiod sends it none unless AMBIENT_ENABLE_DRY_RUN_AUTHORIZATION_POLICY
  // (istio/istio pilot/pkg/features/ambient.go; the 1.29 upgrade notes: older ztunnels enforce them).
  policy({ name: 'api-dry', namespace: 'amb', dryRun: true }, { selector: { matchLabels: { app: 'api' } }, action: 'DENY', rules: [{ from: [{ source: { namespaces: ['other'] } }] }] }),
].join('---\n');

const workspace = workspaceOf({ 'inventory.yaml': INVENTORY, 'policies.yaml': POLICIES });

describe('mesh-policy authz: Istio', () => {
  it('lists a sidecar workload\'s policies CUSTOM → DENY → ALLOW → AUDIT, from the root namespace, the namespace and selectors (§1.2, §1.3)', () => {
    const listing = listed(listFor('istio', workspace, { namespace: 'foo', name: 'cart' }));
    assert.equal(listing.target, 'foo/cart');
    assert.equal(listing.sections.length, 1, 'a sidecar: one enforcement point, no waypoint');
    assert.match(listing.sections[0]!.title, /sidecar/);
    assert.deepEqual(rowsOf(listing, 0), [
      'CUSTOM AuthorizationPolicy foo/ext',
      'DENY AuthorizationPolicy istio-system/root-deny-cart',
      'DENY AuthorizationPolicy foo/ns-deny',
      'ALLOW AuthorizationPolicy istio-system/mesh-allow-health',
      'ALLOW AuthorizationPolicy foo/cart-callers',
      'ALLOW AuthorizationPolicy foo/cart-dry',
      'AUDIT AuthorizationPolicy foo/audit-cart',
    ]);
    const by = new Map(listing.sections[0]!.rows.map((r) => [r.resource.split(' ')[1], r]));
    const table: [string, string, string][] = [
      ['istio-system/mesh-allow-health', 'root namespace', '1 rule'],
      ['istio-system/root-deny-cart', 'root namespace, selector app=cart', '1 rule'],
      ['foo/ns-deny', 'namespace-wide', '1 rule'],
      ['foo/cart-callers', 'selector app=cart', '2 rules'],
    ];
    for (const [name, attachment, detail] of table) {
      assert.equal(by.get(name)?.attachment, attachment, name);
      assert.equal(by.get(name)?.detail, detail, name);
    }
    assert.ok(by.get('foo/cart-dry')!.notes.some((n) => /dry-run/.test(n)), 'dry-run marked');
    assert.ok(!by.get('foo/cart-callers')!.notes.some((n) => /dry-run/.test(n)));
    assert.equal(by.get('foo/cart-callers')!.at.range.start.line > 0, true, 'points into the file');
    assert.deepEqual(listing.sections[0]!.summary, ['ALLOW policies apply: only what a rule allows gets through']);
  });

  it('lists a Service\'s targetRefs policy at its waypoint, before ztunnel; ztunnel ignores AUDIT (§1.2 items 3-4, §1.3)', () => {
    const listing = listed(listFor('istio', workspace, { namespace: 'amb', name: 'api' }));
    assert.equal(listing.sections.length, 2);
    assert.match(listing.sections[0]!.title, /^the waypoint amb\/waypoint .*through Service amb\/api/);
    assert.deepEqual(rowsOf(listing, 0), ['ALLOW AuthorizationPolicy amb/api-svc']);
    assert.equal(listing.sections[0]!.rows[0]!.attachment, 'targetRefs Service api');
    assert.match(listing.sections[1]!.title, /^ztunnel/);
    // The root namespace's policy attaches at ztunnel too, but its only rule tests a path (§1.7).
    assert.deepEqual(rowsOf(listing, 1), ['DENY AuthorizationPolicy amb/api-dry', 'ALLOW AuthorizationPolicy istio-system/mesh-allow-health', 'ALLOW AuthorizationPolicy amb/api-l4', 'AUDIT AuthorizationPolicy amb/api-audit']);
    assert.ok(listing.sections[1]!.rows[0]!.notes.includes('istiod sends ztunnel no dry-run policies (unless AMBIENT_ENABLE_DRY_RUN_AUTHORIZATION_POLICY=true: then ztunnel 1.29+ only logs them, an older ztunnel enforces them)'), listing.sections[1]!.rows[0]!.notes.join('; '));
    assert.deepEqual(listing.sections[1]!.rows[1]!.notes, ['ztunnel drops 1 rule (attributes beyond L4)']);
    assert.deepEqual(listing.sections[1]!.rows[2]!.notes, []);
    assert.ok(listing.sections[1]!.rows[3]!.notes.includes('ztunnel ignores AUDIT policies'));
  });

  const defaults: [string, string, string[]][] = [
    // §1.3: no enforced ALLOW policy: default allow.
    ['only DENY', policy({ name: 'd', namespace: 'foo' }, { action: 'DENY', rules: [rule] }), ['no ALLOW policy applies: calls not denied are allowed']],
    // §1.3: dry-run ALLOW policies do not make the workload default-deny.
    ['only a dry-run ALLOW', policy({ name: 'a', namespace: 'foo', dryRun: true }, { action: 'ALLOW', rules: [rule] }), ['no ALLOW policy applies: calls not denied are allowed', 'the dry-run ALLOW policies do not make the workload deny by default']],
    // §1.3: `spec: {}` is allow-nothing.
    ['allow-nothing', policy({ name: 'allow-nothing', namespace: 'foo' }, {}), ['ALLOW policies apply: only what a rule allows gets through', 'allow-nothing: AuthorizationPolicy foo/allow-nothing has no rules, so a call is allowed only by another ALLOW policy\'s rule']],
  ];
  for (const [name, yaml, summary] of defaults) {
    it(`says what happens to a call no policy decides: ${name}`, () => {
      const listing = listed(listFor('istio', workspaceOf({ 'inventory.yaml': INVENTORY, 'p.yaml': yaml }), { namespace: 'foo', name: 'cart' }));
      assert.deepEqual(listing.sections[0]!.summary, summary);
    });
  }

  it('names a policy the API server would not admit instead of listing it', () => {
    const listing = listed(listFor('istio', workspaceOf({ 'inventory.yaml': INVENTORY, 'p.yaml': policy({ name: 'lower', namespace: 'foo' }, { action: 'allow', rules: [rule] }) }), { namespace: 'foo', name: 'cart' }));
    assert.deepEqual(listing.sections[0]!.rows, []);
    assert.match(listing.notes.join('\n'), /AuthorizationPolicy foo\/lower would attach but is not in effect: Istio refuses to store it \(action "allow" is not one of/);
  });

  it('names a policy that sets both selector and targetRefs where its selector would attach it', () => {
    // spec §1.2: only one of selector, targetRef, targetRefs may be set; such a policy is not admitted
    const both = policy({ name: 'both', namespace: 'foo' }, { selector: cart, targetRefs: [{ kind: 'Service', group: '', name: 'cart' }], action: 'AUDIT', rules: [rule] });
    const listing = listed(listFor('istio', workspaceOf({ 'inventory.yaml': INVENTORY, 'p.yaml': both }), { namespace: 'foo', name: 'cart' }));
    assert.deepEqual(listing.sections.flatMap((s) => s.rows), []);
    assert.match(listing.notes.join('\n'), /AuthorizationPolicy foo\/both would attach but is not in effect: Istio refuses to store it \(only one of targetRefs or workloadSelector can be set/);
    // a selector that does not select the workload: no note
    const elsewhere = policy({ name: 'both', namespace: 'foo' }, { selector: { matchLabels: { app: 'ratings' } }, targetRefs: [{ kind: 'Service', group: '', name: 'ratings' }], action: 'AUDIT', rules: [rule] });
    assert.deepEqual(listed(listFor('istio', workspaceOf({ 'inventory.yaml': INVENTORY, 'p.yaml': elsewhere }), { namespace: 'foo', name: 'cart' })).notes, []);
  });

  it('an unknown workload: the nearest names the inventory has', () => {
    const result = listFor('istio', workspace, { namespace: 'foo', name: 'carts' });
    assert.ok(isUnknown(result));
    assert.deepEqual(result.near, ['foo/cart']);
  });
});

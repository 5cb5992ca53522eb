import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { AuthzListing } from '../../../server/src/engine/authz';
import { ISTIO_INVENTORY as INVENTORY, listed, listFor, workspaceOf } from './workspace';

// What authenticates a call before the AuthorizationPolicies, from
// /work/shared/spec/mesh-semantics.md §1.8:
// - PeerAuthentication: the effective mode is the narrowest one that is not UNSET, workload level
//   (a selector with matchLabels, not in the root namespace) over namespace level (no selector)
//   over mesh level (the root namespace, no selector); none at all: PERMISSIVE. A selector in the
//   root namespace is ignored. portLevelMtls (with a selector only) sets a port's mode; an UNSET
//   port inherits the workload-level result. Ambient: DISABLE is not supported.
// - RequestAuthentication: attaches as an AuthorizationPolicy does (selector, namespace, root
//   namespace); a request with an invalid token is rejected 401 before authorization; one
//   without a token passes with no request identity.
// §1.2/§1.10: PeerAuthentication does not govern a gateway's or waypoint's listener; ztunnel is L4.


// Something must be an authorization policy for a mesh to be listed at all: a DENY matching nothing relevant.
const ANCHOR = `apiVersion: security.istio.io/v1
kind: AuthorizationPolicy
metadata: {name: anchor, namespace: other}
spec: {action: DENY, rules: [{to: [{operation: {paths: ["/never"]}}]}]}
`;

function resource(kind: string, name: string, namespace: string, spec: Record<string, unknown>): string {
  return `apiVersion: security.istio.io/v1
kind: ${kind}
metadata: {name: ${name}, namespace: ${namespace}}
spec: ${JSON.stringify(spec)}
`;
}

const pa = (name: string, namespace: string, spec: Record<string, unknown>) => resource('PeerAuthentication', name, namespace, spec);
const ra = (name: string, namespace: string, spec: Record<string, unknown>) => resource('RequestAuthentication', name, namespace, spec);
const cart = { matchLabels: { app: 'cart' } };

function listing(policies: string[], target = { namespace: 'foo', name: 'cart' }): AuthzListing {
  return listed(listFor('istio', workspaceOf({ 'inventory.yaml': INVENTORY, 'policies.yaml': [ANCHOR, ...policies].join('---\n') }), target));
}

/** The mTLS rows of a section as `setting | resource | attachment`. */
function mtls(l: AuthzListing, section = 0): string[] {
  return l.sections[section]!.authentication!.rows.filter((r) => r.role === 'mTLS').map((r) => `${r.setting} | ${r.resource} | ${r.attachment}`);
}

describe('mesh-policy authz: Istio authentication (§1.8)', () => {
  const cases: { name: string; policies: string[]; rows: string[] }[] = [
    { name: 'no PeerAuthentication: PERMISSIVE', policies: [], rows: ['PERMISSIVE | (none) | default: no PeerAuthentication applies'] },
    {
      name: 'mesh level: the root namespace without a selector',
      policies: [pa('default', 'istio-system', { mtls: { mode: 'STRICT' } })],
      rows: ['STRICT | PeerAuthentication istio-system/default | mesh-wide (root namespace istio-system)'],
    },
    {
      name: 'namespace level over mesh level',
      policies: [pa('default', 'istio-system', { mtls: { mode: 'STRICT' } }), pa('default', 'foo', { mtls: { mode: 'PERMISSIVE' } })],
      rows: ['PERMISSIVE | PeerAuthentication foo/default | namespace-wide'],
    },
    {
      name: 'workload level over namespace level',
      policies: [pa('default', 'foo', { mtls: { mode: 'STRICT' } }), pa('cart', 'foo', { selector: cart, mtls: { mode: 'DISABLE' } })],
      rows: ['DISABLE | PeerAuthentication foo/cart | workload selector app=cart'],
    },
    {
      name: 'an UNSET workload level inherits the namespace level',
      policies: [pa('default', 'foo', { mtls: { mode: 'STRICT' } }), pa('cart', 'foo', { selector: cart, mtls: { mode: 'UNSET' } })],
      rows: ['STRICT | PeerAuthentication foo/default | namespace-wide'],
    },
    {
      name: 'a selector that does not match the workload does not apply',
      policies: [pa('other', 'foo', { selector: { matchLabels: { app: 'other' } }, mtls: { mode: 'DISABLE' } })],
      rows: ['PERMISSIVE | (none) | default: no PeerAuthentication applies'],
    },
    {
      name: 'another namespace\'s policy does not apply',
      policies: [pa('default', 'bar', { mtls: { mode: 'STRICT' } })],
      rows: ['PERMISSIVE | (none) | default: no PeerAuthentication applies'],
    },
    {
      name: 'portLevelMtls: a port of its own, the others the workload level',
      policies: [pa('cart', 'foo', { selector: cart, mtls: { mode: 'STRICT' }, portLevelMtls: { 7070: { mode: 'PERMISSIVE' } } })],
      rows: ['STRICT (every other port) | PeerAuthentication foo/cart | workload selector app=cart', 'port 7070: PERMISSIVE | PeerAuthentication foo/cart | workload selector app=cart'],
    },
    {
      name: 'portLevelMtls under an UNSET workload mode: the other ports take the namespace level',
      policies: [pa('default', 'foo', { mtls: { mode: 'STRICT' } }), pa('cart', 'foo', { selector: cart, portLevelMtls: { 7070: { mode: 'DISABLE' } } })],
      rows: ['STRICT (every other port) | PeerAuthentication foo/default | namespace-wide', 'port 7070: DISABLE | PeerAuthentication foo/cart | workload selector app=cart'],
    },
    {
      name: 'an UNSET port inherits the workload level',
      policies: [pa('default', 'foo', { mtls: { mode: 'STRICT' } }), pa('cart', 'foo', { selector: cart, mtls: { mode: 'PERMISSIVE' }, portLevelMtls: { 7070: { mode: 'UNSET' } } })],
      rows: ['PERMISSIVE (every other port) | PeerAuthentication foo/cart | workload selector app=cart', 'port 7070: PERMISSIVE | PeerAuthentication foo/cart | workload selector app=cart'],
    },
  ];
  for (const c of cases) {
    it(`mTLS: ${c.name}`, () => {
      assert.deepEqual(mtls(listing(c.policies)), c.rows);
    });
  }

  it('mTLS: says what each mode means for a call, per port when they differ', () => {
    const strict = listing([pa('default', 'foo', { mtls: { mode: 'STRICT' } })]).sections[0]!.authentication!.summary;
    assert.equal(strict.length, 1);
    assert.match(strict[0]!, /^mTLS STRICT: a plaintext call is rejected before authorization/);
    const ports = listing([pa('cart', 'foo', { selector: cart, mtls: { mode: 'STRICT' }, portLevelMtls: { 7070: { mode: 'PERMISSIVE' } } })]).sections[0]!.authentication!.summary;
    assert.equal(ports.length, 2);
    assert.match(ports[0]!, /^mTLS STRICT on the other ports: a plaintext call is rejected/);
    assert.match(ports[1]!, /^mTLS PERMISSIVE on port 7070: plaintext calls are accepted with no peer identity/);
    const none = listing([]).sections[0]!.authentication!.summary;
    assert.match(none.join('\n'), /^mTLS PERMISSIVE: plaintext calls are accepted/);
  });

  it('mTLS: a selector in the root namespace is ignored, and the listing says so', () => {
    const l = listing([pa('root-cart', 'istio-system', { selector: cart, mtls: { mode: 'DISABLE' } })]);
    assert.deepEqual(mtls(l), ['PERMISSIVE | (none) | default: no PeerAuthentication applies']);
    assert.ok(l.sections[0]!.notes.some((n) => /PeerAuthentication istio-system\/root-cart has a workload selector in the root namespace: Istio ignores it/.test(n)), l.sections[0]!.notes.join('\n'));
  });

  it('mTLS: a PeerAuthentication with a mode outside the enum is not admitted (§1.9 CRD enum): the level above decides, and the listing says why', () => {
    const l = listing([pa('default', 'istio-system', { mtls: { mode: 'STRICT' } }), pa('default', 'foo', { mtls: { mode: 'strict' } }), pa('cart', 'foo', { selector: cart, mtls: { mode: 'STRICT' }, portLevelMtls: { 9102: { mode: 'Permissive' } } })]);
    assert.deepEqual(mtls(l), ['STRICT | PeerAuthentication istio-system/default | mesh-wide (root namespace istio-system)']);
    const notes = l.sections[0]!.notes.join('\n');
    assert.match(notes, /PeerAuthentication foo\/default would apply but is not in effect: Istio refuses to store it \(mtls\.mode is not one of UNSET, DISABLE, PERMISSIVE, STRICT/);
    assert.match(notes, /PeerAuthentication foo\/cart would apply but is not in effect: Istio refuses to store it \(portLevelMtls\.9102\.mode/);
  });

  it('mTLS: ztunnel reads DISABLE as PERMISSIVE; the waypoint\'s listener is not governed by PeerAuthentication', () => {
    const l = listing([pa('default', 'amb', { mtls: { mode: 'DISABLE' } })], { namespace: 'amb', name: 'api' });
    const zt = l.sections.findIndex((s) => /^ztunnel/.test(s.title));
    const waypoint = l.sections.findIndex((s) => /^the waypoint/.test(s.title));
    assert.ok(zt >= 0 && waypoint >= 0, l.sections.map((s) => s.title).join('\n'));
    assert.deepEqual(mtls(l, zt), ['PERMISSIVE | PeerAuthentication amb/default | namespace-wide']);
    assert.ok(l.sections[zt]!.notes.some((n) => /ztunnel does not support DISABLE/.test(n)));
    assert.deepEqual(mtls(l, waypoint), []);
    assert.match(l.sections[waypoint]!.authentication!.summary.join('\n'), /PeerAuthentication does not govern a waypoint's listener/);
  });

  const jwtRule = { issuer: 'https://auth.example.com', jwksUri: 'https://auth.example.com/jwks.json', audiences: ['shop'] };
  const jwtCases: { name: string; policies: string[]; rows: string[] }[] = [
    { name: 'a selector that matches', policies: [ra('cart-jwt', 'foo', { selector: cart, jwtRules: [jwtRule] })], rows: ['issuer https://auth.example.com | RequestAuthentication foo/cart-jwt | selector app=cart | jwksUri https://auth.example.com/jwks.json; audiences shop'] },
    { name: 'namespace-wide', policies: [ra('ns-jwt', 'foo', { jwtRules: [{ issuer: 'https://a.example', jwks: '{"keys":[]}' }] })], rows: ['issuer https://a.example | RequestAuthentication foo/ns-jwt | namespace-wide | inline jwks'] },
    { name: 'the root namespace, every workload of the mesh', policies: [ra('mesh-jwt', 'istio-system', { jwtRules: [{ issuer: 'https://a.example' }] })], rows: ['issuer https://a.example | RequestAuthentication istio-system/mesh-jwt | root namespace | keys from the issuer\'s OpenID discovery'] },
    {
      name: 'several, merged, one row per JWT rule',
      policies: [ra('ns-jwt', 'foo', { jwtRules: [{ issuer: 'https://a.example' }, { issuer: 'https://b.example' }] }), ra('cart-jwt', 'foo', { selector: cart, jwtRules: [{ issuer: 'https://c.example' }] })],
      rows: ['issuer https://a.example | RequestAuthentication foo/ns-jwt | namespace-wide | keys from the issuer\'s OpenID discovery', 'issuer https://b.example | RequestAuthentication foo/ns-jwt | namespace-wide | keys from the issuer\'s OpenID discovery', 'issuer https://c.example | RequestAuthentication foo/cart-jwt | selector app=cart | keys from the issuer\'s OpenID discovery'],
    },
    { name: 'another workload\'s selector', policies: [ra('other', 'foo', { selector: { matchLabels: { app: 'other' } }, jwtRules: [jwtRule] })], rows: [] },
    { name: 'another namespace', policies: [ra('bar', 'bar', { jwtRules: [jwtRule] })], rows: [] },
    { name: 'targetRefs (never at a sidecar)', policies: [ra('svc', 'foo', { targetRefs: [{ kind: 'Service', group: '', name: 'cart' }], jwtRules: [jwtRule] })], rows: [] },
  ];
  for (const c of jwtCases) {
    it(`JWT: ${c.name}`, () => {
      const authn = listing(c.policies).sections[0]!.authentication!;
      assert.deepEqual(authn.rows.filter((r) => r.role === 'JWT').map((r) => `${r.setting} | ${r.resource} | ${r.attachment} | ${r.notes.join('; ')}`), c.rows);
      const consequences = authn.summary.filter((s) => /token/.test(s));
      if (c.rows.length) {
        assert.equal(consequences.length, 2);
        assert.match(consequences[0]!, /invalid token .* is rejected with 401 before authorization, even where no AuthorizationPolicy applies/);
        assert.match(consequences[1]!, /without a token passes authentication, with no request identity/);
      } else assert.deepEqual(consequences, []);
    });
  }

  it('JWT: at a waypoint (targetRefs Service); ztunnel validates no token', () => {
    const l = listing([
      ra('api-svc', 'amb', { targetRefs: [{ kind: 'Service', group: '', name: 'api' }], jwtRules: [jwtRule] }),
      ra('api-sel', 'amb', { selector: { matchLabels: { app: 'api' } }, jwtRules: [jwtRule] }),
    ], { namespace: 'amb', name: 'api' });
    const waypoint = l.sections.find((s) => /^the waypoint/.test(s.title))!;
    const zt = l.sections.find((s) => /^ztunnel/.test(s.title))!;
    assert.deepEqual(waypoint.authentication!.rows.map((r) => r.resource), ['RequestAuthentication amb/api-svc']);
    assert.match(waypoint.authentication!.summary.join('\n'), /rejected with 401/);
    assert.deepEqual(zt.authentication!.rows.filter((r) => r.role === 'JWT').map((r) => [r.resource, r.notes.includes('ztunnel validates no token (L4 only)')]), [['RequestAuthentication amb/api-sel', true]]);
    assert.doesNotMatch(zt.authentication!.summary.join('\n'), /401/);
  });
});

import type { SourceRef, TraceStep } from '../types';
import { cachedIp, coversEverything, describeNetworks, matchesNetworks, type Ip, type NetMatch } from './net';
import { identityMatch, type IdentitySet } from './model';

/**
 * One client authorization as the proxy holds it (linkerd/linkerd2-proxy:
 * linkerd/app/inbound/src/policy.rs `is_authorized`): a set of networks AND an authentication
 * requirement. Networks are checked first, so "the first field that failed" is the network,
 * then the identity.
 */

export type AuthzKind = 'ServerAuthorization' | 'AuthorizationPolicy' | 'default' | 'probe' | 'localhost';

export const enum Check {
  Match = 0,
  Network = 1,
  /** No mesh identity (plaintext client) where TLS or an identity is required. */
  Plaintext = 2,
  Identity = 3,
  /** The client IP is not recorded and the networks do not cover everything. */
  IpUnknown = 4,
}

export interface Authz {
  kind: AuthzKind;
  label: string;
  /** The resource to point at (the AuthorizationPolicy, ServerAuthorization, or the Server for accessPolicy). */
  at?: SourceRef;
  /** Decision.policy when this authorization decides (absent for built-in defaults). */
  policyRef?: SourceRef;
  audit: boolean;
  networks: readonly NetMatch[];
  allNetworks: boolean;
  /** 0 unauthenticated, 1 TLS without identity requirement, 2 identities. */
  authn: 0 | 1 | 2;
  ids?: IdentitySet;
  /** "any client", "a mesh identity", "identity emojivoto-web.... or ..." */
  requires: string;
  steps: Record<'matched' | 'network' | 'plaintext' | 'identity' | 'ipUnknown', TraceStep>;
}

export function makeAuthz(init: { kind: AuthzKind; label: string; at?: SourceRef; policyRef?: SourceRef; audit?: boolean; networks: readonly NetMatch[]; authn: 0 | 1 | 2; ids?: IdentitySet; via?: string }): Authz {
  const allNetworks = coversEverything(init.networks);
  const requires = init.authn === 0 ? 'any client (unauthenticated)' : init.authn === 1 ? 'a TLS connection (any or no mesh identity)' : identityText(init.ids!);
  const from = allNetworks ? 'from any network' : `from ${describeNetworks(init.networks)}`;
  const via = init.via ? ` (${init.via})` : '';
  const at = init.at ? { at: init.at } : {};
  const a: Authz = {
    kind: init.kind, label: init.label, audit: init.audit ?? false, networks: init.networks, allNetworks, authn: init.authn,
    ...(init.ids ? { ids: init.ids } : {}), requires,
    ...(init.at ? { at: init.at } : {}), ...(init.policyRef ? { policyRef: init.policyRef } : {}),
    steps: {
      matched: { text: `${init.label}${via} authorizes the client: it admits ${requires} ${from}`, outcome: 'matched', ...at },
      network: { text: `${init.label}${via} does not apply: the client IP is not in ${describeNetworks(init.networks)}`, outcome: 'not-matched', ...at },
      plaintext: { text: `${init.label}${via} does not apply: it requires ${requires} and the client has no mesh identity (plaintext)`, outcome: 'not-matched', ...at },
      identity: { text: `${init.label}${via} does not apply: the client identity is not ${requires}`, outcome: 'not-matched', ...at },
      ipUnknown: { text: `${init.label}${via} admits only ${describeNetworks(init.networks)} and the record has no client IP`, outcome: 'unknown', ...at },
    },
  };
  return a;
}

function identityText(ids: IdentitySet): string {
  const shown = ids.text.slice(0, 5).map((t) => (t === '*' ? 'any mesh identity' : t));
  const more = ids.text.length > 5 ? ` and ${ids.text.length - 5} more` : '';
  return ids.text.length === 1 && ids.text[0] === '*' ? 'a mesh identity (any)' : `mesh identity ${shown.join(' or ')}${more}`;
}

/** The client address of a call, parsed on first use (many decisions never need it). */
export interface ClientAddress {
  ipText: string | undefined;
  ip: Ip | undefined;
  ipParsed: boolean;
  /** With the IP not recorded: the client is known not to be on the pod's loopback (`source.notLoopback`). */
  notLoopback: boolean;
}

export function clientIp(c: ClientAddress): Ip | undefined {
  if (!c.ipParsed) {
    c.ip = c.ipText ? cachedIp(c.ipText) : undefined;
    c.ipParsed = true;
  }
  return c.ip;
}

/** `principal` undefined = plaintext; an IP that is absent or unreadable = not recorded. */
export function checkAuthz(a: Authz, client: ClientAddress, principal: string | undefined): Check {
  if (!a.allNetworks) {
    const ip = clientIp(client);
    if (ip === undefined) {
      // A client with a mesh identity reaches the pod from its own proxy over the pod network,
      // never from the pod's loopback: the localhost authorization cannot apply to it (nor to a
      // client the record says is elsewhere).
      if (a.kind === 'localhost' && (principal !== undefined || client.notLoopback)) return Check.Network;
      return checkAuthn(a, principal) === Check.Match ? Check.IpUnknown : checkAuthn(a, principal);
    }
    if (!matchesNetworks(a.networks, ip)) return Check.Network;
  }
  return checkAuthn(a, principal);
}

export function checkAuthn(a: Authz, principal: string | undefined): Check {
  if (a.authn === 0) return Check.Match;
  if (principal === undefined) return Check.Plaintext;
  if (a.authn === 1) return Check.Match;
  return identityMatch(a.ids!, principal) ? Check.Match : Check.Identity;
}

export function stepFor(a: Authz, c: Check): TraceStep {
  switch (c) {
    case Check.Match: return a.steps.matched;
    case Check.Network: return a.steps.network;
    case Check.Plaintext: return a.steps.plaintext;
    case Check.Identity: return a.steps.identity;
    default: return a.steps.ipUnknown;
  }
}

/** The same step with the call's values, for explain(). */
export function verboseStep(a: Authz, c: Check, ip: string | undefined, principal: string | undefined): TraceStep {
  const base = stepFor(a, c);
  let detail = '';
  if (c === Check.Network) {
    // (an address not recorded fails only the localhost authorization, for a client known to be elsewhere)
    detail = ip !== undefined ? ` (client IP ${ip})` : principal !== undefined ? ' (a client with a mesh identity connects from its own proxy, never over loopback)' : ' (the client is on another pod or host: source.notLoopback)';
  }
  else if (c === Check.Identity) detail = ` (client identity ${principal})`;
  else if (c === Check.Match) detail = ` (client ${principal ?? 'without mesh identity'}${ip ? ` from ${ip}` : ''})`;
  return { ...base, text: base.text + detail };
}

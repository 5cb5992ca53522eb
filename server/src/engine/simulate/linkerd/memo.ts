import type { Decision } from '../types';
import { Check, checkAuthn, clientIp, type Authz, type ClientAddress } from './authz';
import { matchesNetworks } from './net';

/**
 * Decisions shared per outcome. Once the destination's inbound server and the route rule are
 * known, the authorizations (a fixed list, tried in order) read nothing of the call but the
 * client's identity and, only where a network does not cover every address, whether the client
 * IP is in that network. Whether the IP is read at all depends on the identity alone. So the
 * decision for one (server, rule, identity) is made once, and every later call with that
 * identity gets the same `Decision` object; when the evaluation read the IP, the decision is
 * kept per network class of the IP instead: which of the list's networks contain it (or that it
 * is not recorded).
 *
 * Decisions are therefore shared between calls: nobody may change one after `decide` returned
 * it (the simulator copies before adding to a decision on its slow paths).
 */
export interface DecisionMemo {
  /** By identity, when the evaluation did not read the client IP. */
  byIdentity: Map<string, Decision>;
  /** By identity, then network class, when it did. */
  byIdentityAndNetworks: Map<string, Map<number, Decision>> | undefined;
}

/** Entries per map before it starts over (bounds memory on a long-running server). */
const MEMO_LIMIT = 50_000;
const PLAINTEXT = '\u0000plaintext';
/** Network classes are bit sets: at most this many networks-limited authorizations. */
const MAX_CLASS_BITS = 30;
export const NO_CLASS = -2;
/** The class of an IP not recorded, of a client known not to be on the pod's loopback. */
const NOT_LOOPBACK_CLASS = -3;

export function newDecisionMemo(): DecisionMemo {
  return { byIdentity: new Map(), byIdentityAndNetworks: undefined };
}

/** Which of the authorizations' limited networks contain the client IP, as bits; -1 when the IP
 * is not recorded (or unreadable), -3 when not recorded of a client not on loopback; NO_CLASS
 * when there are too many to count. */
export function networkClass(authzs: readonly Authz[], client: ClientAddress): number {
  const ip = clientIp(client);
  if (ip === undefined) return client.notLoopback ? NOT_LOOPBACK_CLASS : -1;
  let cls = 0;
  let bit = 0;
  for (const a of authzs) {
    if (a.allNetworks) continue;
    if (bit >= MAX_CLASS_BITS) return NO_CLASS;
    if (matchesNetworks(a.networks, ip)) cls |= 1 << bit;
    bit++;
  }
  return cls;
}

/** The decision already made for this identity (and network class, when the evaluation read
 * the IP) against `authzs`, the list the evaluation tries. */
export function recall(memo: DecisionMemo, authzs: readonly Authz[], principal: string | undefined, client: ClientAddress): Decision | undefined {
  const key = principal ?? PLAINTEXT;
  const decision = memo.byIdentity.get(key);
  if (decision !== undefined || memo.byIdentityAndNetworks === undefined) return decision;
  const byClass = memo.byIdentityAndNetworks.get(key);
  return byClass === undefined ? undefined : byClass.get(networkClass(authzs, client));
}

/** Keeps `decision`; `readIp`: whether its evaluation looked at the client IP. Returns `decision`. */
export function remember(memo: DecisionMemo, authzs: readonly Authz[], principal: string | undefined, client: ClientAddress, readIp: boolean, decision: Decision): Decision {
  const key = principal ?? PLAINTEXT;
  if (!readIp) {
    if (memo.byIdentity.size >= MEMO_LIMIT) memo.byIdentity.clear();
    memo.byIdentity.set(key, decision);
    return decision;
  }
  const cls = networkClass(authzs, client);
  if (cls === NO_CLASS) return decision;
  const all = (memo.byIdentityAndNetworks ??= new Map());
  if (all.size >= MEMO_LIMIT) all.clear();
  let byClass = all.get(key);
  if (!byClass) all.set(key, (byClass = new Map()));
  byClass.set(cls, decision);
  return decision;
}

/** Whether trying `authzs` in order for a client with this identity reads the client IP: it does
 * when an authorization limited to some networks comes before the first one the identity
 * satisfies (those covering every address are decided by the identity alone). */
export function readsClientIp(authzs: readonly Authz[], principal: string | undefined): boolean {
  for (const a of authzs) {
    if (!a.allNetworks) return true;
    if (checkAuthn(a, principal) === Check.Match) return false;
  }
  return false;
}

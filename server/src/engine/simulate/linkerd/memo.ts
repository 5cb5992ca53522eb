import type { Decision } from '../types';
import type { ClientAddress } from './authz';

/**
 * Decisions shared per outcome. Once the destination's inbound server and the route rule are
 * known, the authorizations read nothing of the call but the client's identity and, only when a
 * network does not cover every address, its IP; whether the IP is read at all depends on the
 * identity alone (authorizations are tried in a fixed order). So the decision for one (server,
 * rule, identity) is made once, and every later call with that identity gets the same `Decision`
 * object; when the evaluation read the IP, it is kept per IP text instead.
 *
 * Decisions are therefore shared between calls: nobody may change one after `decide` returned
 * it (the simulator copies before adding to a decision on its slow paths).
 */
export interface DecisionMemo {
  /** By identity, when the evaluation did not read the client IP. */
  byIdentity: Map<string, Decision>;
  /** By identity, then IP text, when it did. */
  byIdentityAndIp: Map<string, Map<string, Decision>> | undefined;
}

/** Entries per map before it starts over (bounds memory on a long-running server). */
const MEMO_LIMIT = 50_000;
const PLAINTEXT = '\u0000plaintext';

export function newDecisionMemo(): DecisionMemo {
  return { byIdentity: new Map(), byIdentityAndIp: undefined };
}

/** The decision already made for this identity (and IP, when the evaluation read it). */
export function recall(memo: DecisionMemo, principal: string | undefined, client: ClientAddress): Decision | undefined {
  const key = principal ?? PLAINTEXT;
  const decision = memo.byIdentity.get(key);
  if (decision !== undefined || memo.byIdentityAndIp === undefined) return decision;
  return memo.byIdentityAndIp.get(key)?.get(client.ipText ?? '');
}

/** Keeps `decision`; `readIp`: whether its evaluation looked at the client IP. Returns `decision`. */
export function remember(memo: DecisionMemo, principal: string | undefined, client: ClientAddress, readIp: boolean, decision: Decision): Decision {
  const key = principal ?? PLAINTEXT;
  if (!readIp) {
    if (memo.byIdentity.size >= MEMO_LIMIT) memo.byIdentity.clear();
    memo.byIdentity.set(key, decision);
    return decision;
  }
  const all = (memo.byIdentityAndIp ??= new Map());
  if (all.size >= MEMO_LIMIT) all.clear();
  let byIp = all.get(key);
  if (!byIp) all.set(key, (byIp = new Map()));
  if (byIp.size >= MEMO_LIMIT) byIp.clear();
  byIp.set(client.ipText ?? '', decision);
  return decision;
}

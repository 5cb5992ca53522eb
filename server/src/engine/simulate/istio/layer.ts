import { F, T, type Call, type Tri } from './call';
import { policyObject, ruleObject, type CompiledPolicy, type CompiledRule, type RuleMatcher } from './compile';
import type { Field } from './fields';

/** The chain a rule is evaluated on: HTTP, TCP (sidecar/gateway), or ztunnel (L4). */
export type Variant = 'http' | 'tcp' | 'zt';

/** Policies that attach together (one namespace-wide scope or one selector), by action. */
export interface Bucket {
  all: CompiledPolicy[];
  custom: CompiledPolicy[];
  deny: CompiledPolicy[];
  allow: CompiledPolicy[];
  audit: CompiledPolicy[];
  dryDeny: CompiledPolicy[];
  dryAllow: CompiledPolicy[];
  /** `deny` and `allow` indexed by the peer identities their rules require (built once compiled). */
  denyByPeer: PeerIndex | null;
  allowByPeer: PeerIndex | null;
}

/**
 * The policies of a list that a call with a given peer identity can match, in list order. A policy
 * whose every rule requires, in every `from` entry, a principal out of a fixed set of exact values
 * fails for any other peer (and for a plaintext call); the rest (`others`) are always tried.
 */
export interface PeerIndex {
  byPeer: Map<string, CompiledPolicy[]>;
  others: CompiledPolicy[];
}

export function bucket(): Bucket {
  return { all: [], custom: [], deny: [], allow: [], audit: [], dryDeny: [], dryAllow: [], denyByPeer: null, allowByPeer: null };
}

export function addToBucket(b: Bucket, p: CompiledPolicy): void {
  b.all.push(p);
  if (p.action === 'CUSTOM') b.custom.push(p);
  else if (p.action === 'AUDIT') b.audit.push(p);
  else if (p.action === 'DENY') (p.dryRun ? b.dryDeny : b.deny).push(p);
  else (p.dryRun ? b.dryAllow : b.allow).push(p);
}

/**
 * The policies that attach at one enforcement point, as buckets with how certainly each attaches
 * (T, or U when the destination's labels or namespace are not recorded), in evaluation order.
 * A destination's layers are kept for the life of the compiled policies (evaluate.ts,
 * `DestinationView`); `folded` then keeps, per chain and peer identity, the same layer with the
 * rules' peer-identity tests already decided.
 */
export interface Layer {
  groups: Bucket[];
  attach: Tri[];
  n: number;
  /** Per variant (http, tcp, zt). */
  folded: (FoldedLayers | undefined)[];
  /** For a folded layer: what it decided per request line, by `c.http` (null: its rules read more
   * than the method, path and port; undefined: not yet known). */
  requests: RequestMemo[] | null | undefined;
}

/**
 * What a folded layer decided (evaluate.ts: the outcome, audit mark and shadow list, all shared
 * objects) by the request's method, path as sent and destination port. Exact only for a layer
 * whose rules read nothing else (`requestMemos`): the same three values give the same tests.
 */
export class RequestMemo {
  private readonly byMethod = new Map<string | undefined, Map<object, Map<number | undefined, unknown>>>();

  /** `path`: the path as sent, by its `Interned` key. */
  get(method: string | undefined, path: object, port: number | undefined): unknown {
    return this.byMethod.get(method)?.get(path)?.get(port);
  }

  set(method: string | undefined, path: object, port: number | undefined, value: unknown): void {
    let byPath = this.byMethod.get(method);
    if (byPath === undefined) this.byMethod.set(method, (byPath = new Map()));
    let byPort = byPath.get(path);
    if (byPort === undefined) byPath.set(path, (byPort = new Map()));
    byPort.set(port, value);
  }
}

/** The layer's request memos (HTTP, TCP), or null when one of its rules reads more than the
 * method, path and port (peer fields are folded already; headers, addresses, tokens are not keyed). */
export function requestMemos(layer: Layer, variant: Variant): RequestMemo[] | null {
  if (layer.requests !== undefined) return layer.requests;
  let keyed = true;
  const check = (f: Field) => { if (!f.readsRequestLine()) keyed = false; };
  for (let g = 0; g < layer.n && keyed; g++) {
    const b = layer.groups[g]!;
    for (const list of [b.custom, b.deny, b.allow, b.audit, b.dryDeny, b.dryAllow]) {
      for (const p of list) {
        for (const rule of p.rules) {
          const m = formOf(rule, variant);
          if (m === null) continue;
          for (const entry of m.from ?? []) entry.forEach(check);
          for (const entry of m.to ?? []) entry.forEach(check);
          m.when.forEach(check);
        }
      }
    }
  }
  return (layer.requests = keyed ? [new RequestMemo(), new RequestMemo()] : null);
}

interface FoldedLayers {
  /** Every peer-identity field of the layer's rules for the variant, once each. */
  fields: Field[];
  /** By peer identity (its `Interned` key). */
  byPeer: Map<object, Layer>;
  /** By the values of `fields` for a peer: peers that every field treats alike share a layer. */
  bySignature: Map<string, Layer>;
}

/**
 * One key object per distinct string, for the caches kept per layer: comparing two copies of a
 * string reads both from memory, and the copies of a call's strings are spread over the records
 * (most reads of a per-layer cache by string would miss the CPU cache on the stored copy). One
 * table per compiled policies, whose few stored strings stay hot.
 */
export class Interned {
  private readonly keys = new Map<string, object>();
  private readonly none = {};

  key(value: string | null | undefined): object {
    if (value === null || value === undefined) return this.none;
    let key = this.keys.get(value);
    if (key === undefined) this.keys.set(value, (key = {}));
    return key;
  }
}

export function emptyLayer(): Layer {
  return { groups: [], attach: [], n: 0, folded: [undefined, undefined, undefined], requests: undefined };
}

export function pushGroup(layer: Layer, b: Bucket, a: Tri): void {
  const n = layer.n++;
  layer.groups[n] = b;
  layer.attach[n] = a;
}

const VARIANT_INDEX: Record<Variant, number> = { http: 0, tcp: 1, zt: 2 };

function formOf(rule: CompiledRule, variant: Variant): RuleMatcher | null {
  return variant === 'http' ? rule.http : variant === 'tcp' ? rule.tcp : rule.zt;
}

/**
 * `layer` for a call whose peer identity is known (`c.peerMissing === null`): every rule with the
 * fields that read only the peer identity decided for `c.peer`. A rule one of them fails is gone
 * (it could only be F), the fields that hold are gone, and the rest is evaluated as before in the
 * same order, so values, the matching rule and the missing attributes are those of `layer`. The
 * policies keep their place in every list (ALLOW lists and dry-run lists are read for their first
 * policy and their length); DENY and AUDIT policies left without rules are dropped (they add
 * nothing). Built once per distinct signature and remembered per peer.
 */
export function foldedLayer(layer: Layer, variant: Variant, c: Call, peers: Interned): Layer {
  const vi = VARIANT_INDEX[variant];
  let cache = layer.folded[vi];
  if (cache === undefined) layer.folded[vi] = cache = { fields: peerFields(layer, variant), byPeer: new Map(), bySignature: new Map() };
  const peer = peers.key(c.peer);
  let out = cache.byPeer.get(peer);
  if (out === undefined) {
    let signature = '';
    const fields = cache.fields;
    for (let i = 0; i < fields.length; i++) signature += fields[i]!.test(c) === T ? '1' : '0';
    out = cache.bySignature.get(signature);
    if (out === undefined) {
      out = emptyLayer();
      for (let g = 0; g < layer.n; g++) pushGroup(out, foldBucket(layer.groups[g]!, variant, c), layer.attach[g]!);
      cache.bySignature.set(signature, out);
    }
    cache.byPeer.set(peer, out);
  }
  return out;
}

function peerFields(layer: Layer, variant: Variant): Field[] {
  const seen = new Set<Field>();
  for (let g = 0; g < layer.n; g++) {
    for (const p of layer.groups[g]!.all) {
      for (const rule of p.rules) {
        const m = formOf(rule, variant);
        if (m === null) continue;
        for (const entry of m.from ?? []) for (const f of entry) if (f.readsPeer()) seen.add(f);
        for (const entry of m.to ?? []) for (const f of entry) if (f.readsPeer()) seen.add(f);
        for (const f of m.when) if (f.readsPeer()) seen.add(f);
      }
    }
  }
  return [...seen];
}

function foldBucket(b: Bucket, variant: Variant, c: Call): Bucket {
  const fold = (p: CompiledPolicy) => foldPolicy(p, variant, c);
  const matchable = (p: CompiledPolicy) => p.rules.length > 0;
  return {
    all: b.all,
    custom: b.custom.map(fold),
    deny: b.deny.map(fold).filter(matchable),
    allow: b.allow.map(fold),
    audit: b.audit.map(fold).filter(matchable),
    dryDeny: b.dryDeny.map(fold),
    dryAllow: b.dryAllow.map(fold),
    denyByPeer: null,
    allowByPeer: null,
  };
}

/** The policy with only the rules that can still match, each with its folded form. The copies
 * share the policy's and rules' identity fields and outcome caches. */
function foldPolicy(p: CompiledPolicy, variant: Variant, c: Call): CompiledPolicy {
  const rules: CompiledRule[] = [];
  for (const rule of p.rules) {
    const m = formOf(rule, variant);
    if (m === null) continue;
    const folded = foldMatcher(m, c);
    if (folded === null) continue;
    rules.push(variant === 'http' ? ruleObject(rule, folded, null, null) : variant === 'tcp' ? ruleObject(rule, null, folded, null) : ruleObject(rule, null, null, folded));
  }
  return policyObject(p, rules);
}

/** The matcher with its peer fields decided; null when one of them makes it F. */
function foldMatcher(m: RuleMatcher, c: Call): RuleMatcher | null {
  const from = foldEntries(m.from, c);
  if (from === false) return null;
  const to = foldEntries(m.to, c);
  if (to === false) return null;
  const when: Field[] = [];
  for (const f of m.when) {
    if (!f.readsPeer()) when.push(f);
    else if (f.test(c) === F) return null;
  }
  return { from, to, when };
}

/**
 * An OR of entries (each an AND of fields): an entry a peer field fails is F and goes; an entry
 * whose every field is a peer field that holds is T, and so is the whole OR (null: no constraint);
 * false when every entry went.
 */
function foldEntries(entries: Field[][] | null, c: Call): Field[][] | null | false {
  if (entries === null) return null;
  const out: Field[][] = [];
  for (const entry of entries) {
    const kept: Field[] = [];
    let fails = false;
    for (const f of entry) {
      if (!f.readsPeer()) kept.push(f);
      else if (f.test(c) === F) { fails = true; break; }
    }
    if (fails) continue;
    if (kept.length === 0) return null;
    out.push(kept);
  }
  return out.length === 0 ? false : out;
}

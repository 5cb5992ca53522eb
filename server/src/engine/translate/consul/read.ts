import { InventoryIndex } from '../../inventory/inventoryIndex';
import { readEntries, type HeaderRule, type IntentionEntry, type PermissionRule, type SourceIntention } from '../../simulate/consul/model';
import { resourceRef } from '../../simulate/sourceRefs';
import type { SourceRef } from '../../simulate/types';
import { dnsName } from '../../audit/generate/yaml';
import { serviceAccountsOfConsulService } from '../identities';
import { ANY_IDENTITY, type AccessModel, type AccessRule, type Callers, type HeaderCondition, type HeaderTest, type Identity, type MeshResources, type PathMatch, type Protection, type RequestException, type Requests, type TranslationContext, type TranslationNote, type Workloads } from '../model';

/**
 * Consul service intentions (ServiceIntentions CRDs and `service-intentions` config entries) into
 * the access model. Entries are read by the simulator's reader (`simulate/consul/model.ts`), so
 * both forms are normalized as Consul normalizes them. For a call to a destination, Consul takes
 * the sources of its entry and of the wildcard entries covering it in precedence order, decides
 * a caller by the most specific source that names it (exact service, then `ns/*`, then `*`),
 * and inside an L7 source by the first permission that matches, falling back to the default
 * intention policy (mesh-semantics §3.3–3.5). The model has deny-first and "allow protection
 * denies the rest" only, so each source of that merged list becomes deny rules (its L4 deny, its
 * deny permissions) and allow rules (its L4 allow, its allow permissions), and an allow
 * protection exists when Consul denies what is not allowed: the default intention policy is deny
 * (then also one of every workload, with no rules), or a `*` source decides every caller no
 * exact source names. What precedence does that this cannot say is noted.
 */

type Dflt = 'allow' | 'deny';

interface Ixn {
  src: SourceIntention;
  /** The callers the source names (undefined: left out, noted). */
  from: Callers[];
  /** Every mesh identity. */
  any: boolean;
  /** 0 exact, 1 `ns/*`, 2 any. */
  wild: number;
  namespace: string;
  /** Whether the intention decides every request of its callers as deny. */
  denyAll: boolean;
}

const ANY_HTTP: Requests = { paths: [{ kind: 'prefix', value: '/' }] };

export function readConsul(resources: MeshResources, context: TranslationContext): AccessModel {
  const notes: TranslationNote[] = [];
  const protections: Protection[] = [];
  const dflt: Dflt = context.config.consul.defaultIntentionPolicy ?? 'allow';
  const entries = readEntries(resources, 'default');
  const enterprise = context.config.consul.namespaces
    ?? entries.some((e) => e.namespace !== 'default' || e.sources.some((s) => s.namespace !== 'default'));
  const seenKeys = new Map<string, IntentionEntry>();
  const usable: IntentionEntry[] = [];
  for (const entry of entries) {
    const origin = resourceRef(entry.file, entry.resource, entry.label);
    if (entry.problems.length) {
      notes.push({ at: origin, effect: 'unknown', text: `not read: Consul refuses this entry (${entry.problems.join('; ')})` });
      continue;
    }
    if (entry.partition !== 'default') {
      notes.push({ at: origin, effect: 'unknown', text: `not read: partition ${entry.partition} (Enterprise admin partitions) has no Kubernetes workloads in the model` });
      continue;
    }
    const prior = seenKeys.get(entry.key);
    if (prior) notes.push({ at: origin, effect: 'unknown', text: `Consul keeps one intentions entry per destination; ${prior.label} (${prior.file.path}:${prior.ref.range.start.line + 1}) also defines ${entry.name}, and which one Consul holds is not known: both are read` });
    seenKeys.set(entry.key, entry);
    if (entry.jwt) notes.push({ at: entry.jwt.ref, effect: 'narrower', text: 'JWT requirements cannot be carried: allow rules of this entry are left out, deny rules apply without the token condition' });
    usable.push(entry);
  }
  // Consul evaluates, for a call to a destination, the sources of its own entry and of the
  // wildcard entries that cover it, merged in precedence order (mesh-semantics §3.3, §3.5): each
  // entry is read as that merged list. Wildcard entries first, so that what their protections
  // (which apply to every destination they cover) give those destinations can be checked.
  const read = new Map<IntentionEntry, EntryRules>();
  for (const entry of [...usable].sort((a, b) => specificity(a) - specificity(b))) {
    const covering = usable.filter((w) => covers(w, entry)).sort((a, b) => specificity(b) - specificity(a));
    const merged = [...entry.sources, ...covering.flatMap((w) => w.sources)];
    read.set(entry, rulesOf(entry, merged, dflt, enterprise, context, notes));
  }
  for (const entry of usable) {
    const origin = resourceRef(entry.file, entry.resource, entry.label);
    const targets = targetsOf(entry, enterprise, context, notes, origin);
    const { deny, allow, needAllow } = read.get(entry)!;
    for (const w of usable.filter((x) => covers(x, entry))) spillNotes(read.get(w)!, read.get(entry)!, entry, notes);
    const base = dnsName(entry.resource.name && entry.resource.name !== '*' ? entry.resource.name : entry.name === '*' ? 'all-services' : entry.name);
    for (const target of targets) {
      const name = targets.length > 1 ? dnsName(base, target.namespace) : base;
      if (deny.length) protections.push({ origin, name: needAllow ? dnsName(name, 'deny') : name, action: 'deny', target, rules: deny });
      // Under the default deny the mesh-wide allow protection below already denies the rest.
      if (needAllow && (allow.length || dflt === 'allow')) protections.push({ origin, name, action: 'allow', target, rules: allow });
    }
  }
  if (dflt === 'deny' && entries.length) {
    const first = entries[0]!;
    const at = resourceRef(first.file, first.resource, first.label);
    protections.push({ origin: at, name: 'default-intention-policy', action: 'allow', target: { namespace: '*' }, rules: [] });
    notes.push({ at, effect: 'same', text: 'the default intention policy is deny (consul.defaultIntentionPolicy): an allow protection of every workload with no rules, so every call no allow rule allows is denied, as Consul denies calls no intention allows' });
  }
  return { mesh: 'consul', protections, notes: uniqueNotes(notes) };
}

interface EntryRules {
  deny: AccessRule[];
  allow: AccessRule[];
  needAllow: boolean;
}

/** 0 for `*\/*`, 1 for `ns/*`, 2 for an exact destination. */
function specificity(e: IntentionEntry): number {
  return e.name !== '*' ? 2 : e.namespace !== '*' ? 1 : 0;
}

/** Whether a wildcard entry's sources take part in deciding calls to `e`'s destination. */
export function covers(w: IntentionEntry, e: IntentionEntry): boolean {
  return w.name === '*' && specificity(w) < specificity(e) && (w.namespace === '*' || w.namespace === e.namespace);
}

/**
 * A wildcard destination's protections apply to the destinations with their own entry too (the
 * model cannot leave workloads out of a target), where Consul decides by the merged list
 * instead. A wildcard rule the destination's merged rules already imply changes nothing; any
 * other is noted.
 */
function spillNotes(w: EntryRules, e: EntryRules, entry: IntentionEntry, notes: TranslationNote[]): void {
  const implied = (r: AccessRule, list: AccessRule[]) => list.some((x) => sameRule(x, r) || (sameFrom(x, r) && !x.to.length && !x.headers.length));
  for (const r of w.deny) {
    if (!implied(r, e.deny)) notes.push({ at: r.origin, effect: 'narrower', text: `this deny applies to ${entry.name} too in the model (its protection is every destination's), where Consul decides calls to ${entry.name} by ${entry.label} merged with this entry, which does not deny them` });
  }
  for (const r of w.allow) {
    if (!implied(r, e.allow) && !implied(r, e.deny)) notes.push({ at: r.origin, effect: 'wider', text: `this allow applies to ${entry.name} too in the model (its protection is every destination's), where Consul decides calls to ${entry.name} by ${entry.label} merged with this entry, which does not allow them` });
  }
}

function sameFrom(a: AccessRule, b: AccessRule): boolean {
  return JSON.stringify(a.from) === JSON.stringify(b.from);
}

function sameRule(a: AccessRule, b: AccessRule): boolean {
  return JSON.stringify([a.origin, a.from, a.to, a.headers]) === JSON.stringify([b.origin, b.from, b.to, b.headers]);
}

/** A wildcard entry's sources are read once per destination they merge into: one note each. */
function uniqueNotes(notes: TranslationNote[]): TranslationNote[] {
  const seen = new Set<string>();
  return notes.filter((n) => {
    const k = JSON.stringify([n.at.file, n.at.range, n.at.label, n.effect, n.text]);
    if (seen.has(k)) return false;
    seen.add(k);
    return true;
  });
}

/** The workloads of an entry's destination: the Services of that name in the inventory. */
function targetsOf(entry: IntentionEntry, enterprise: boolean, context: TranslationContext, notes: TranslationNote[], origin: SourceRef): Workloads[] {
  if (entry.name === '*') {
    if (!enterprise || entry.namespace === '*') return [{ namespace: '*' }];
    notes.push({ at: origin, effect: 'unknown', text: `the Consul namespace ${entry.namespace} is taken to be the Kubernetes namespace of the same name (namespace mirroring)` });
    return [{ namespace: entry.namespace }];
  }
  const index = InventoryIndex.of(context.inventory);
  const services = index.services(entry.name, enterprise ? entry.namespace : undefined).filter((s) => s.selector && Object.keys(s.selector).length);
  if (services.length) {
    if (!enterprise && services.length > 1) notes.push({ at: origin, effect: 'same', text: `Consul CE has one service ${entry.name} for the Services of that name in ${services.map((s) => s.namespace).join(', ')}: one protection each` });
    return services.map((s) => ({ namespace: s.namespace, labels: { ...s.selector! } }));
  }
  const namespace = enterprise ? entry.namespace : entry.resource.namespace ?? 'default';
  notes.push({ at: origin, effect: 'unknown', text: `no Service named ${entry.name} with a selector in the inventory: its workloads are assumed to be those labelled app: ${entry.name} in namespace ${namespace}` });
  return [{ namespace, labels: { app: entry.name } }];
}

/** The deny and allow rules of an entry's sources, and whether Consul denies what they do not allow. */
function rulesOf(entry: IntentionEntry, sources: SourceIntention[], dflt: Dflt, enterprise: boolean, context: TranslationContext, notes: TranslationNote[]): EntryRules {
  const ixns: Ixn[] = [];
  const seen = new Map<string, SourceIntention>();
  for (const src of sources) {
    const allowing = src.action === 'allow' || (src.permissions ?? []).some((p) => p.action === 'allow');
    if (src.peer || src.samenessGroup || (src.partition && src.partition !== 'default')) {
      const where = src.peer ? `cluster peer ${src.peer}` : src.samenessGroup ? `sameness group ${src.samenessGroup}` : `admin partition ${src.partition}`;
      notes.push({ at: src.ref, effect: allowing ? 'narrower' : 'wider', text: `left out: callers from ${where} are not workloads of this cluster, which the model names` });
      continue;
    }
    const sourceKey = `${src.namespace}/${src.name}`;
    const kept = seen.get(sourceKey);
    if (kept) {
      notes.push(kept.entry === src.entry
        ? { at: src.ref, effect: 'same', text: `left out: ${src.describe} is already a source of this entry (Consul refuses the entry; its proxies keep the first)` }
        : kept.entry.key === src.entry.key
          ? { at: src.ref, effect: 'unknown', text: `where the entries of this destination merge into another's, ${kept.entry.label} (the one read first) decides ${src.describe}` }
          : { at: src.ref, effect: 'same', text: `left out for ${entry.name}: ${kept.entry.label} names the same source with a higher precedence, and Consul keeps only that one (removeSameSourceIntentions)` });
      continue;
    }
    seen.set(sourceKey, src);
    const any = src.namespace === '*' || (src.name === '*' && !enterprise);
    const ixn: Ixn = { src, any, wild: any ? 2 : src.name === '*' ? 1 : 0, namespace: src.namespace, from: [], denyAll: !src.permissions && src.action !== 'allow' };
    if (any) ixn.from = [{ identities: [ANY_IDENTITY] }];
    else if (src.name === '*') {
      ixn.from = [{ identities: [{ namespace: src.namespace, serviceAccount: '*' }] }];
      notes.push({ at: src.ref, effect: 'unknown', text: `the Consul namespace ${src.namespace} is taken to be the Kubernetes namespace of the same name (namespace mirroring)` });
    } else ixn.from = [{ identities: identitiesOf(context, enterprise ? src.namespace : '*', src.name, src.ref, notes) }];
    ixns.push(ixn);
  }
  ixns.sort((a, b) => a.wild - b.wild);
  for (const [i, narrow] of ixns.entries()) {
    for (const broad of ixns.slice(i + 1)) {
      if (broad.wild > narrow.wild && broad.src.precedence > narrow.src.precedence && (broad.any || broad.namespace === narrow.namespace)) {
        notes.push({ at: narrow.src.ref, effect: 'unknown', text: `${broad.src.describe} (${broad.src.entry.label}) is broader but has a higher precedence: Consul's RBAC subtracts it from no narrower source, so both decide ${narrow.src.describe}'s calls to ${entry.name} (default deny: allowed when either allows; default allow: denied when either denies; mesh-semantics §3.5), which the model's deny-first order does not always repeat` });
      }
    }
  }
  const anyCatch = ixns.find((i) => i.any);
  const needAllow = dflt === 'deny' || anyCatch !== undefined;
  const deny: AccessRule[] = [];
  const allow: AccessRule[] = [];
  const allowsFrom = new Set<Ixn>();
  for (const ixn of ixns) {
    const { src, from } = ixn;
    const narrower = ixns.filter((o) => o.wild < ixn.wild && (ixn.any || o.namespace === ixn.namespace));
    const shadowDeny = (at: SourceRef, p?: PermissionRule): void => {
      const decidedOtherwise = narrower.filter((o) => !o.denyAll && !(p && deniesFirst(o, p)));
      if (decidedOtherwise.length) notes.push({ at, effect: 'narrower', text: `Consul decides ${decidedOtherwise.map((o) => o.src.describe).join(', ')} by ${decidedOtherwise.length === 1 ? 'its own, more specific intention' : 'their own, more specific intentions'}; this deny applies to them too in the model` });
    };
    if (!src.permissions) {
      if (src.action === 'allow') {
        if (needAllow && src.entry.jwt) continue;
        if (needAllow) {
          allow.push({ origin: src.ref, from, to: [], headers: [] });
          allowsFrom.add(ixn);
        } else notes.push({ at: src.ref, effect: 'same', text: `the default intention policy is allow and no wildcard source denies: ${src.describe} is allowed whether or not this intention exists, so it is no "allow only these" protection and the model leaves these calls to the target mesh's default` });
      } else if (ixn !== anyCatch) {
        deny.push({ origin: src.ref, from, to: [], headers: [] });
        shadowDeny(src.ref);
      }
      continue;
    }
    // A permission matching every HTTP request ends the list: what follows it, and the default, never decide.
    const all = src.permissions;
    const stop = all.findIndex(isCatchAll);
    const perms = stop < 0 ? all : all.slice(0, stop);
    const fallback: Dflt = stop < 0 ? dflt : all[stop]!.action;
    for (const p of all.slice(stop < 0 ? all.length : stop + 1)) notes.push({ at: p.ref, effect: 'same', text: `never decides: ${all[stop]!.label} before it matches every HTTP request` });
    if (stop >= 0 && fallback === 'deny' && needAllow) notes.push({ at: all[stop]!.ref, effect: 'same', text: 'carried by the allow protection, which denies what no allow rule matches' });
    const reachedByBroader = ixns.some((b) => b.wild > ixn.wild && (b.any || b.namespace === ixn.namespace) && mayAllow(b, dflt, needAllow));
    for (const [i, p] of perms.entries()) {
      if (p.action === 'deny') {
        const converted = requestOf(p, notes);
        if (p.jwt) notes.push({ at: p.jwt.ref, effect: 'narrower', text: 'the JWT requirement cannot be carried: the deny applies whatever the token' });
        const overlapping = perms.slice(0, i).filter((a) => a.action === 'allow' && mayOverlap(a, p));
        if (overlapping.length) {
          const laterAllow = perms.slice(i + 1).some((a) => a.action === 'allow' && mayOverlap(a, p));
          if (needAllow && fallback === 'deny' && !laterAllow && !reachedByBroader) {
            notes.push({ at: p.ref, effect: 'same', text: `carried by the allow protection: requests it matches are denied unless ${overlapping.map((a) => a.label).join(', ')} (earlier, so first) allows them` });
            continue;
          }
        }
        // Consul takes the first permission that matches: what the earlier allows match is theirs
        const unless: RequestException[] = [];
        const uncarried: string[] = [];
        for (const a of overlapping) {
          const exception = exceptionOf(a, src.entry.jwt !== undefined);
          if (typeof exception === 'string') uncarried.push(`${a.label} (${exception})`);
          else unless.push(exception);
        }
        if (uncarried.length) notes.push({ at: p.ref, effect: 'narrower', text: `Consul takes the first permission that matches: requests that also match the earlier allow ${uncarried.join(', ')} are allowed by Consul, but this deny applies to them in the model` });
        if (converted) {
          deny.push({ origin: p.ref, from, ...converted, ...(unless.length ? { unless } : {}) });
          shadowDeny(p.ref, p);
        }
        continue;
      }
      if (!needAllow) {
        notes.push({ at: p.ref, effect: 'same', text: 'the default intention policy is allow and no wildcard source denies: this permission allows nothing the default would not' });
        continue;
      }
      if (fallback === 'allow') {
        notes.push({ at: p.ref, effect: 'same', text: `every request of ${src.describe} that no deny permission matches is allowed (${stop < 0 ? 'the default intention policy is allow' : `${all[stop]!.label} allows the rest`}): one rule says so, and this permission adds nothing` });
        continue;
      }
      if (p.jwt || src.entry.jwt) {
        if (p.jwt) notes.push({ at: p.jwt.ref, effect: 'narrower', text: 'the JWT requirement cannot be carried: the permission is left out' });
        continue;
      }
      const converted = requestOf(p, notes);
      if (!converted) continue;
      allow.push({ origin: p.ref, from, ...converted });
      allowsFrom.add(ixn);
    }
    const catchAll = stop >= 0 ? all[stop]! : undefined;
    if (fallback === 'allow' && needAllow && !src.entry.jwt) {
      allow.push({ origin: catchAll?.ref ?? src.ref, from, to: [ANY_HTTP], headers: [] });
      allowsFrom.add(ixn);
    }
    if (fallback === 'deny' && !needAllow && catchAll) {
      if (perms.some((a) => a.action === 'allow')) notes.push({ at: catchAll.ref, effect: 'narrower', text: 'without an allow protection the model cannot deny only what the earlier permissions do not allow: every HTTP request of this source is denied' });
      deny.push({ origin: catchAll.ref, from, to: [ANY_HTTP], headers: [] });
    }
    if (!needAllow) notes.push({ at: src.ref, effect: 'wider', text: 'Consul denies connections without HTTP from a source with permissions (an L7 intention on a TCP listener); the model leaves them to the default. Consul accepts permissions only for a destination whose protocol is HTTP, where there are none' });
  }
  if (dflt === 'deny') {
    for (const ixn of ixns) {
      if (!ixn.src.permissions) continue;
      const broader = [...allowsFrom].filter((b) => b.wild > ixn.wild && (b.any || b.namespace === ixn.namespace));
      if (broader.length) notes.push({ at: ixn.src.ref, effect: 'wider', text: `requests from ${ixn.src.describe} that none of its permissions matches are denied by the default intention policy (Consul never falls through to a less specific source), but the model's allow rules of ${broader.map((b) => b.src.describe).join(', ')} allow them` });
    }
  }
  return { deny, allow, needAllow };
}

/** Whether an L7 intention denies the requests of `p` before any of its allows can match them. */
function deniesFirst(o: Ixn, p: PermissionRule): boolean {
  for (const q of o.src.permissions ?? []) {
    if (q.action === 'deny' && !q.jwt && sameHttp(q, p)) return true;
    if (q.action === 'allow' && mayOverlap(q, p)) return false;
  }
  return false;
}

function sameHttp(a: PermissionRule, b: PermissionRule): boolean {
  const digest = (p: PermissionRule): string => JSON.stringify(p.http ? [p.http.pathExact, p.http.pathPrefix, p.http.pathRegex, [...(p.http.methods ?? [])].sort(), p.http.headers.map((h) => [h.name.toLowerCase(), h.present, h.exact, h.prefix, h.suffix, h.contains, h.regex, h.ignoreCase, h.invert])] : null);
  return digest(a) === digest(b);
}

/** Whether a permission matches every HTTP request (`PathPrefix "/"` and nothing else, no JWT). */
function isCatchAll(p: PermissionRule): boolean {
  const h = p.http;
  return !p.jwt && !!h && h.pathPrefix === '/' && h.pathExact === undefined && h.pathRegex === undefined && !h.methods?.length && !h.headers.length;
}

/** Whether an intention gives its callers allow rules. */
function mayAllow(ixn: Ixn, dflt: Dflt, needAllow: boolean): boolean {
  if (!needAllow) return false;
  if (!ixn.src.permissions) return ixn.src.action === 'allow';
  return dflt === 'allow' || ixn.src.permissions.some((p) => p.action === 'allow');
}

/** The identities a Consul service's pods have, keeping the Kubernetes namespace of each Service. */
function identitiesOf(context: TranslationContext, namespace: string, service: string, at: SourceRef, notes: TranslationNote[]): Identity[] {
  const index = InventoryIndex.of(context.inventory);
  const namespaces = [...new Set(index.services(service, namespace === '*' ? undefined : namespace).map((s) => s.namespace))].sort();
  const out: Identity[] = [];
  for (const ns of namespaces) {
    const found = serviceAccountsOfConsulService(context, ns, service);
    if (!found.assumed) for (const sa of found.serviceAccounts) out.push({ namespace: ns, serviceAccount: sa });
  }
  if (out.length) return out;
  notes.push({ at, effect: 'unknown', text: `no workload of a Service named ${service} in the inventory: its pods are assumed to run as the service account ${service}${namespace === '*' ? ' (in any namespace: Consul CE service names are not per namespace)' : ''}` });
  return [{ namespace, serviceAccount: service }];
}

/** A permission's HTTP match as model requests and headers; undefined when it is left out. */
function requestOf(p: PermissionRule, notes: TranslationNote[]): Pick<AccessRule, 'to' | 'headers'> | undefined {
  const allow = p.action === 'allow';
  if (!p.http) {
    notes.push({ at: p.ref, effect: allow ? 'narrower' : 'wider', text: 'left out: a permission without HTTP criteria (Consul refuses it)' });
    return undefined;
  }
  const req: Requests = methodsAndPath(p.http);
  const headers: HeaderCondition[] = [];
  for (const h of p.http.headers) {
    const condition = headerOf(h);
    if (condition) {
      headers.push(condition);
      continue;
    }
    if (allow) {
      notes.push({ at: h.ref, effect: 'narrower', text: `left out: the header test on ${h.name} (${describeHeader(h)}) cannot be carried (the model has exact values and presence only), so the permission is left out` });
      return undefined;
    }
    notes.push({ at: h.ref, effect: 'narrower', text: `the header test on ${h.name} (${describeHeader(h)}) cannot be carried: the deny applies without it` });
  }
  return { to: req.methods || req.paths ? [req] : [], headers };
}

/** A permission's methods and path test as model requests. */
function methodsAndPath(http: NonNullable<PermissionRule['http']>): Requests {
  const req: Requests = {};
  if (http.methods?.length) req.methods = [...http.methods];
  const path: PathMatch | undefined = http.pathExact !== undefined ? { kind: 'exact', value: http.pathExact }
    : http.pathPrefix !== undefined ? { kind: 'prefix', value: http.pathPrefix }
    : http.pathRegex !== undefined ? { kind: 'regex', value: http.pathRegex } : undefined;
  if (path) req.paths = [path];
  return req;
}

/** An allow permission as the requests a later deny leaves to it, or why it cannot be one. */
function exceptionOf(p: PermissionRule, entryJwt: boolean): RequestException | string {
  if (!p.http) return 'it has no HTTP criteria';
  if (p.jwt || entryJwt) return 'its JWT requirement cannot be carried';
  const requests = methodsAndPath(p.http);
  const headers: HeaderTest[] = [];
  for (const h of p.http.headers) {
    const values = (['exact', 'prefix', 'suffix'] as const).filter((k) => h[k] !== undefined);
    const simple = h.name && !h.invert && !h.ignoreCase && h.regex === undefined && h.contains === undefined;
    if (simple && values.length === 1 && h.present === undefined) headers.push({ name: h.name.toLowerCase(), match: values[0]!, value: h[values[0]!]! });
    else if (simple && values.length === 0 && h.present === true) headers.push({ name: h.name.toLowerCase(), match: 'present' });
    else return `the header test on ${h.name} (${describeHeader(h)}) cannot be carried`;
  }
  return { origin: p.ref, requests, headers };
}

function headerOf(h: HeaderRule): HeaderCondition | undefined {
  if (!h.name || h.invert || h.prefix !== undefined || h.suffix !== undefined || h.regex !== undefined || h.contains !== undefined || h.ignoreCase) return undefined;
  if (h.exact !== undefined && h.present === undefined) return { name: h.name.toLowerCase(), values: [h.exact] };
  if (h.present === true && h.exact === undefined) return { name: h.name.toLowerCase(), values: [] };
  return undefined;
}

function describeHeader(h: HeaderRule): string {
  const parts = (['exact', 'prefix', 'suffix', 'contains', 'regex'] as const).filter((k) => h[k] !== undefined).map((k) => `${k} ${JSON.stringify(h[k])}`);
  if (h.present !== undefined) parts.push(`present ${h.present}`);
  if (h.ignoreCase) parts.push('ignoreCase');
  if (h.invert) parts.push('invert');
  return parts.join(', ') || 'no matcher';
}

/** Whether two permissions can match one request (false only when that is certain). */
function mayOverlap(a: PermissionRule, b: PermissionRule): boolean {
  const x = a.http;
  const y = b.http;
  if (!x || !y) return true;
  if (x.methods?.length && y.methods?.length && !x.methods.some((m) => y.methods!.includes(m))) return false;
  const exact = (h: typeof x) => h.pathExact;
  const prefix = (h: typeof x) => h.pathPrefix;
  if (exact(x) !== undefined && exact(y) !== undefined && exact(x) !== exact(y)) return false;
  if (exact(x) !== undefined && prefix(y) !== undefined && !exact(x)!.startsWith(prefix(y)!)) return false;
  if (prefix(x) !== undefined && exact(y) !== undefined && !exact(y)!.startsWith(prefix(x)!)) return false;
  if (prefix(x) !== undefined && prefix(y) !== undefined && !prefix(x)!.startsWith(prefix(y)!) && !prefix(y)!.startsWith(prefix(x)!)) return false;
  for (const hx of x.headers) {
    for (const hy of y.headers) {
      if (hx.name.toLowerCase() === hy.name.toLowerCase() && !hx.invert && !hy.invert && !hx.ignoreCase && !hy.ignoreCase && hx.exact !== undefined && hy.exact !== undefined && hx.exact !== hy.exact) return false;
    }
  }
  return true;
}

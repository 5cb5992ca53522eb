import type { AccessRecord } from '../../traffic/accessRecord';
import type { CallFold, CompiledPolicies, Decision, DecisionAlternative, PolicySet, SourceRef, TraceStep, Verdict } from '../types';
import { ConsulFold } from './fold';
import { and3, compileHttp, evalCriteria, F, isPlainPath, or3, preparePath, T, U, type Criterion, type RequestNormalization, type RequestView, type Tri } from './http';
import { key, readEntries, type IntentionEntry, type JwtRequirement, type PermissionRule, type SourceIntention } from './model';
import { resolveOptions, type ConsulSimulatorOptions, type ResolvedOptions } from './options';
import { describeJwtProvider, jwtProviderDigest, jwtProvidersIn, type JwtProviderDefinition } from '../../consul/jwtProviders';
import { describeMeshEntry, meshEntriesIn, meshEntryDigest, type MeshEntryDefinition } from '../../consul/meshEntries';
import { agentConfigsIn, agentDefaultPolicy } from '../../consul/agentConfig';
import { consulDenier, LAYER4_DENIAL, LAYER4_POLICY } from './observed';
import type { SourceFile } from '../../source/sourceFile';
import { installedCrdDrops } from '../../crds/stored';

/**
 * Consul intentions compiled for the simulator (spec §3). The decision reproduces the Envoy RBAC
 * filter that agent/xds/rbac.go `makeRBACRules` builds for the destination's public listener:
 *
 * 1. the intentions that apply to the destination (entries for `ns/name`, `ns/*`, `*\/*` in its
 *    partition) are sorted by precedence (`IntentionPrecedenceSorter`), and a lower-precedence
 *    intention with the same source as a higher one is dropped (`removeSameSourceIntentions`);
 * 2. each intention's principal is its source AND NOT every earlier intention whose source is a
 *    strict subset of it (`removeSourcePrecedence`, `ixnSourceMatches`); intentions whose action
 *    equals the default are then dropped (the catch-all covers them, but their source stays
 *    subtracted from the broader ones);
 * 3. each L7 permission is AND NOT every earlier permission (`removePermissionPrecedence`): the
 *    first permission whose HTTP criteria match decides; a failed JWT requirement on it gives
 *    the default, never the next permission;
 * 4. default deny → an RBAC ALLOW engine (allowed iff some policy matches); default allow → a
 *    DENY engine (denied iff some policy matches).
 *
 * Because every source pattern that matches one caller is one of `ns/name`, `ns/*`, `*\/*` in the
 * caller's partition or peer, a call looks at no more than three intentions, found by map
 * lookups; sources in other partitions or peers never interact (their SPIFFE patterns are
 * disjoint). The result is therefore the literal RBAC result, including the corner case where a
 * broader higher-precedence source is not subtracted from a narrower lower-precedence one
 * (spec §3.5); the trace says when `consul intention check` (first match) would disagree.
 */

type Action = 'allow' | 'deny';

const OA = 1; // explicit allow
const OD = 2; // explicit deny
const ODEF = 4; // the default applies

interface CJwt {
  req: JwtRequirement;
  text: string;
}

/** A jwt-provider name the workspace defines, with the trace text around the token's values
 * built once per compile. Differing definitions: only what the decision then misses. */
type WorkspaceProvider =
  | {
      definition: JwtProviderDefinition;
      /** `JWT provider okta: jwt-provider "okta" (okta.hcl:1-9) ` */
      head: string;
      /** `Issuer "okta"`; undefined when the definition sets none. */
      issuer: string | undefined;
      /** `Audiences ["api"]`; '' when it lists none. */
      audiences: string;
      /** Why `consul.jwtProviders.<name>.issuer` is not used; '' when it is unset or the same. */
      configuredNote: string;
      ref: SourceRef;
    }
  | { definition: undefined; ambiguity: string };

interface CPerm {
  rule: PermissionRule;
  criteria: Criterion[];
  path?: Criterion;
  jwt?: CJwt;
  label: string;
  matched: TraceStep;
  failed: TraceStep[];
  unknown: TraceStep[];
  verdict: TraceStep;
  jwtFailed: TraceStep;
}

interface CSource {
  src: SourceIntention;
  entry: IntentionEntry;
  l7: boolean;
  action: Action;
  perms: CPerm[];
  entryJwt?: CJwt;
  /** Configuration Envoy rejects (an invalid RE2 pattern). */
  errors: string[];
  matched: TraceStep;
  verdict: TraceStep;
  tcpL7: TraceStep;
  noPermission: TraceStep;
  jwtFailed: TraceStep;
  title: string;
}

interface Ixn {
  cs: CSource;
  order: number;
  wild: number;
  /** The fixed walkthrough when this L4 intention decides alone. */
  trace?: TraceStep[];
  /** Decisions of `decide` when this intention alone matches the caller, made once and shared
   * (no JWT, nothing rewritten or rejected before RBAC): per listener, and for L7 per
   * permission outcome (`permissionOutcome`). */
  decidedTcp?: Decision;
  decidedHttp?: Decision;
  decidedByOutcome?: Map<number, Decision>;
}

interface DestRbac {
  list: Ixn[];
  dropped: { src: SourceIntention; by: SourceIntention }[];
  exact: Map<string, Map<string, Ixn>>;
  nsWild: Map<string, Ixn>;
  all: Ixn | undefined;
}

interface SourceMatches {
  rb: DestRbac;
  a: Ixn | undefined;
  b: Ixn | undefined;
  c: Ixn | undefined;
}

interface DestCand {
  partition: string;
  namespace: string;
  name: string;
  label: string;
  entries: IntentionEntry[];
  sorted: CSource[];
  byLoc: Map<string, DestRbac>;
  rejected: string | undefined;
  rejectRef: SourceRef | undefined;
  hasL7: boolean;
  hasJwt: boolean;
  groups: string[];
  sourceNamespaces: string[];
  sourcePartitions: string[];
  entrySteps: TraceStep[];
  variantNote: string | undefined;
  /** Decisions of `decide` when no intention source matches, per caller (TCP, HTTP). */
  noMatch?: Map<CallerInfo, [Decision | undefined, Decision | undefined]>;
  /** What the fold keeps of an HTTP call here (`foldPlan`), made on first use. */
  httpPlan?: ConsulFoldPlan;
  /** Each L7 source's `<i>` in the `consul-intentions-layer7-<i>` policy its HTTP listener gets
   * (`layer7Indexes`), made on first use; null when the workspace cannot fix it. */
  layer7Index?: Map<CSource, number> | null;
}

interface Alt<V> {
  value: V;
  /** What the record or configuration would have to say to pick this alternative. */
  missing?: string;
  label?: string;
}

interface CallerInfo {
  kind: 'spiffe' | 'foreign' | 'service' | 'plaintext';
  ns: string | undefined;
  name: string;
  desc: string;
  /** Location alternatives (`ap:<partition>`, `peer:<name>`, `foreign`); undefined: per destination. */
  locs: Alt<string>[] | undefined;
  nsAlts?: Alt<string>[];
  noMatchStep?: TraceStep;
  defaultStep?: TraceStep;
  note?: string;
}

interface ReqState {
  call: AccessRecord;
  view: RequestView | undefined;
  reject: string | undefined;
  pathNote: string | undefined;
  prepared: boolean;
  /** The index in `norms` the request was prepared with. */
  norm: number;
}

/** Request normalization settings and where they come from, for the trace. */
export interface Normalization {
  settings: RequestNormalization;
  from: string;
}

/** A request's path as RBAC reads it under one normalization (`normalizePath`). */
export interface NormalizedPath {
  /** With the query string (what a `:path` header test reads). */
  fullPath: string | undefined;
  /** Without query and fragment (what PathExact, PathPrefix and PathRegex read). */
  path: string | undefined;
  /** The 400 the proxy answers instead, with why. */
  reject: string | undefined;
  /** What normalization rewrote, for the trace. */
  note: string | undefined;
}

/**
 * What a fold keeps of a call beyond its destination, caller and protocol class (`foldPlan`):
 * `nothing` when `decide` reads no more of it (a plaintext caller, a TCP listener, a destination
 * whose configuration Envoy rejects, HTTP where no intention there reads the request), `request`
 * for the one scenario of an HTTP call whose request it reads, `everything` when the record or
 * configuration leave alternatives open (every attribute `decide` may read is kept whole).
 */
export type ConsulFoldPlan = { reads: 'nothing' } | { reads: 'everything' } | { reads: 'request'; request: ConsulRequestReads };

/** What `decide` reads of an HTTP request at one destination, besides the destination and caller. */
export interface ConsulRequestReads {
  /** Every L7 permission criterion of the destination's intentions, by what it reads: the method
   * (Methods, a `:method` header), the path (url_path tests, a `:path` header), the authority (a
   * `host` or `:authority` header) and the other headers. */
  methods: readonly Criterion[];
  paths: readonly Criterion[];
  hosts: readonly Criterion[];
  headers: readonly Criterion[];
  /** An intention there has a JWT requirement. */
  jwt: boolean;
  /** The destination proxy's request normalization (HTTP scenarios have only one). */
  normalization: Normalization;
}

const READS_NOTHING: ConsulFoldPlan = { reads: 'nothing' };
const READS_EVERYTHING: ConsulFoldPlan = { reads: 'everything' };

interface Scenario {
  dc: DestCand;
  loc: string;
  mask: number;
  ns: string;
  http: boolean;
  /** The index in `norms` (HTTP only). */
  norm: number;
  labels: string[];
  missing: string[];
}

const BOTH: Alt<boolean>[] = [{ value: false, missing: 'protocol', label: 'over TCP' }, { value: true, missing: 'protocol', label: 'over HTTP' }];
const ONLY_HTTP: Alt<boolean>[] = [{ value: true }];
const ONLY_TCP: Alt<boolean>[] = [{ value: false }];
const OTHER = '\u0000other';
const MAX_SCENARIOS = 256;
const NO_LABELS: string[] = [];
const NO_IXNS: Ixn[] = [];

interface IxnResult {
  mask: number;
  perm?: CPerm;
  kind: 'l4' | 'tcp-l7' | 'perm' | 'perm-jwt' | 'entry-jwt' | 'no-perm';
}

const L4_ALLOW: IxnResult = { mask: OA, kind: 'l4' };
const L4_DENY: IxnResult = { mask: OD, kind: 'l4' };
const TCP_L7: IxnResult = { mask: OD, kind: 'tcp-l7' };
const ENTRY_JWT_FAILED: IxnResult = { mask: ODEF, kind: 'entry-jwt' };

const compiledSources = new WeakMap<SourceIntention, { defaultText: string; compiled: CSource }>();

/** The intentions for one destination, as `ConsulPolicies.intentionsFor` gives them. */
export interface DestinationIntentions {
  /** "api in namespace default". */
  label: string;
  /** Which partition or definition this list is for, when the workspace leaves that open. */
  alternative?: string;
  entries: IntentionEntry[];
  /** Precedence order; `action` is the L4 action (anything but allow reads as deny), `l7` when the source has permissions. */
  sources: { source: SourceIntention; l7: boolean; action: Action }[];
  /** Why Envoy rejects the destination's RBAC configuration, if it does. */
  rejected?: string;
}

export class ConsulPolicies implements CompiledPolicies {
  readonly options: ResolvedOptions;
  readonly entries: IntentionEntry[];
  /** Entries that can take effect, by key, one per distinct definition. */
  private readonly byKey = new Map<string, IntentionEntry[]>();
  private readonly ignored: IntentionEntry[] = [];
  /** The entries Consul refuses, by the destination key they were written for (what the traces name). */
  private readonly refusedByKey = new Map<string, IntentionEntry[]>();
  private readonly compiledSources = new Map<SourceIntention, CSource>();
  private readonly destCache = new Map<string, Map<string, Map<string, Alt<DestCand>[]>>>();
  private readonly callerCache = new Map<string, CallerInfo>();
  private readonly enterprise: boolean; // Enterprise namespaces in use
  private readonly unconfiguredPeers: string[];
  private readonly entryPartitions: string[];
  private readonly partitionAlts: Alt<string>[];
  private readonly defaultAction: Action;
  private readonly defaultText: string;
  /** Normalization settings that can reject a request before RBAC, whatever the intentions. */
  private readonly earlyRequest: boolean;
  /** The request of the call being decided (reused from call to call; decisions keep nothing of it). */
  private readonly req: ReqState = { call: undefined as unknown as AccessRecord, view: undefined, reject: undefined, pathNote: undefined, prepared: false, norm: 0 };
  private readonly view: RequestView = { method: undefined, fullPath: undefined, path: undefined, host: undefined, headers: undefined, recorded: undefined, dropUnderscore: false, lower: undefined, missing: [] };
  /** The path of the request being prepared (reused). */
  private readonly normalized: NormalizedPath = { fullPath: undefined, path: undefined, reject: undefined, note: undefined };
  private readonly found: SourceMatches = { rb: undefined as unknown as DestRbac, a: undefined, b: undefined, c: undefined };
  /** Which criterion failed, written by evalCriteria. */
  private readonly failedAt = { index: -1 };
  /** The workspace's jwt-provider entries by name, one per differing definition. */
  private readonly jwtProviders: Map<string, WorkspaceProvider>;
  private readonly jwtProviderDigest: string;
  /** The request normalization of the destinations' proxies: the workspace's mesh entry (one
   * alternative per differing definition), else `consul.requestNormalization`, else the defaults. */
  private readonly norms: Alt<Normalization>[];
  private readonly meshEntryDigest: string;
  /** The scenario of the fast path, reused (scenario() keeps no reference to it). */
  private readonly scratch: Scenario = { dc: undefined as unknown as DestCand, loc: '', mask: 0, ns: '', http: false, norm: 0, labels: NO_LABELS, missing: NO_LABELS };

  constructor(policies: PolicySet, options: ConsulSimulatorOptions = {}) {
    const files = policies.sourceFiles ?? policies.resources.map((r) => r.file);
    this.options = resolveOptions(policies.config, options, agentDefaultPolicy([...new Set(files)].flatMap((f) => agentConfigsIn(f))));
    this.defaultAction = this.options.defaultPolicy;
    this.defaultText = `the default intention policy (${this.defaultAction}, from ${this.options.defaultSource})`;
    this.entries = readEntries(policies.resources, this.options.partition ?? 'default', policies.forms);
    [this.jwtProviders, this.jwtProviderDigest] = readJwtProviders(files, this.options.jwtProviders);
    [this.norms, this.meshEntryDigest] = readMeshEntries(files, this.options.normalization);
    this.earlyRequest = this.norms.some(({ value: { settings: n } }) => n.pathWithEscapedSlashesAction === 'REJECT_REQUEST' || n.headersWithUnderscoresAction === 'REJECT_REQUEST');
    let usesNamespaces = false;
    const peers = new Set<string>();
    const partitions = new Set<string>();
    for (const entry of this.entries) {
      if (entry.problems.length > 0) {
        this.ignored.push(entry);
        const refused = this.refusedByKey.get(entry.key);
        if (refused) refused.push(entry);
        else this.refusedByKey.set(entry.key, [entry]);
        continue;
      }
      const list = this.byKey.get(entry.key) ?? [];
      if (!list.some((e) => e.fingerprint === entry.fingerprint)) list.push(entry);
      this.byKey.set(entry.key, list);
      partitions.add(entry.partition);
      if (entry.namespace !== 'default') usesNamespaces = true;
      for (const s of entry.sources) {
        if (s.namespace !== 'default') usesNamespaces = true;
        if (s.peer) peers.add(s.peer);
        this.compiledSources.set(s, this.compiledSource(s));
      }
    }
    for (const g of Object.values(this.options.samenessGroups)) for (const p of g.peers ?? []) peers.add(p);
    this.enterprise = this.options.namespaces ?? usesNamespaces;
    this.unconfiguredPeers = [...peers].filter((p) => !this.options.peers[p]).sort();
    this.entryPartitions = [...partitions].sort();
    this.partitionAlts = this.options.partition ? [{ value: this.options.partition }]
      : this.entryPartitions.length <= 1 ? [{ value: this.entryPartitions[0] ?? 'default' }]
      : this.entryPartitions.map((p) => ({ value: p, missing: 'the destination\'s partition (consul.partition)', label: `if the destination is in partition ${p}` }));
  }

  decide(call: AccessRecord): Decision {
    return this.namingDenier(call, this.run(call, false));
  }

  fold(): CallFold {
    return new ConsulFold(this);
  }

  /** The same decision with the full walkthrough: every intention for the destination in
   * precedence order and why it does or does not match, the RBAC construction, each permission's
   * criteria, and what `consul intention check` would answer. Slower; for one call at a time. */
  explain(call: AccessRecord): Decision {
    return this.namingDenier(call, this.run(call, true));
  }

  /** An RBAC denial (not a 400 or a token's 401, not a plaintext caller's failed handshake) with
   * what the proxy would log for it; decisions are shared, and this is the same for every caller. */
  private namingDenier(call: AccessRecord, d: Decision): Decision {
    if (d.verdict === 'deny' && d.deniedBy === undefined && d.status !== 400 && d.status !== 401 && this.callerOf(call).kind !== 'plaintext') d.deniedBy = consulDenier(this.defaultAction);
    return d;
  }

  /**
   * `consul intention check SRC DST` (spec §3.8): the first intention for the destination, in
   * precedence order, whose source matches; L7 intentions answer Denied (the endpoint cannot see
   * HTTP attributes); none answers the default. Names are `[partition/][namespace/]name`.
   */
  intentionCheck(source: { name: string; namespace?: string; partition?: string; peer?: string }, destination: { name: string; namespace?: string; partition?: string }): { allowed: boolean; reason: string; intention?: SourceRef } {
    const partition = destination.partition ?? this.options.partition ?? 'default';
    const dcs = this.destCands(partition, destination.namespace ?? 'default', destination.name);
    const dc = dcs[0]!.value;
    const loc = source.peer ? `peer:${source.peer}` : `ap:${source.partition ?? 'default'}`;
    const rb = this.rbac(dc, loc, 0);
    const c = this.candidates(rb, source.namespace ?? 'default', source.name);
    const first = c[0];
    if (!first) return { allowed: this.defaultAction === 'allow', reason: `no intention matches; ${this.defaultText}` };
    const cs = first.cs;
    if (cs.l7) return { allowed: false, reason: `Matched L7 intention: ${cs.title} (consul intention check answers Denied for L7 intentions)`, intention: cs.src.ref };
    return { allowed: cs.action === 'allow', reason: `Matched L4 intention: ${cs.title} → ${cs.action}`, intention: cs.src.ref };
  }

  /**
   * The intention sources that apply to a destination, in the precedence order `decide` tries
   * them (spec §3.3), with the entries they come from: one list per partition the destination may
   * be in, and per definition when the workspace defines its entries more than once (`alternative`
   * says which). What `mesh-policy authz` lists.
   */
  intentionsFor(destination: { name: string; namespace?: string }): DestinationIntentions[] {
    const namespace = this.enterprise ? destination.namespace ?? 'default' : 'default';
    const out: DestinationIntentions[] = [];
    for (const p of this.partitionAlts) {
      const alts = this.destCands(p.value, namespace, destination.name);
      for (const alt of alts) {
        const dc = alt.value;
        const definition = alts.length > 1 ? `if the workspace's definition with ${dc.entries.map((e) => e.label).join(', ')} is applied` : undefined;
        const alternative = [p.label, definition].filter((l): l is string => l !== undefined).join(', ');
        out.push({
          label: dc.label, entries: dc.entries, sources: dc.sorted.map((cs) => ({ source: cs.src, l7: cs.l7, action: cs.action })),
          ...(alternative ? { alternative } : {}), ...(dc.rejected ? { rejected: dc.rejected } : {}),
        });
      }
    }
    return out;
  }

  /** "the default intention policy (deny, from ...)": what decides a call no intention matches (spec §3.4). */
  get defaultIntention(): { action: Action; text: string } {
    return { action: this.defaultAction, text: this.defaultText };
  }

  /** Whether Enterprise namespaces are in use (else every namespace is `default`). */
  get usesNamespaces(): boolean {
    return this.enterprise;
  }

  identityNamespace(namespace: string): string {
    return this.enterprise ? namespace : 'default';
  }

  /** Entries that cannot take effect (no destination name, an invalid wildcard), with why. */
  get ignoredEntries(): readonly IntentionEntry[] {
    return this.ignored;
  }

  notInEffect(): readonly { ref: SourceRef; reason: string }[] {
    return this.ignored.map((e) => ({ ref: e.ref, reason: refusalReason(e) }));
  }

  // ---------------------------------------------------------------- compile

  /** A source of an entry taken over from the last compile (`readEntries` with forms) keeps its
   * compiled form while the default policy it quotes is the same. */
  private compiledSource(src: SourceIntention): CSource {
    const kept = compiledSources.get(src);
    if (kept && kept.defaultText === this.defaultText) return kept.compiled;
    const compiled = this.compileSource(src);
    compiledSources.set(src, { defaultText: this.defaultText, compiled });
    return compiled;
  }

  private compileSource(src: SourceIntention): CSource {
    const entry = src.entry;
    const k = (c: string) => key(entry.form, c);
    const title = `${entry.label} ${src.label}`;
    const l7 = (src.permissions?.length ?? 0) > 0;
    const action: Action = src.action ?? 'deny';
    const errors: string[] = [];
    const entryJwt = entry.jwt ? compileJwt(entry.jwt) : undefined;
    const perms: CPerm[] = (src.permissions ?? []).map((rule) => {
      const criteria = compileHttp(rule.http, { header: `${k('Header')}`, methods: k('Methods'), pathExact: k('PathExact'), pathPrefix: k('PathPrefix'), pathRegex: k('PathRegex') });
      for (const c of criteria) if (c.error) errors.push(`${title} ${rule.label}: ${c.error}`);
      const path = rule.http && (rule.http.pathExact !== undefined || rule.http.pathPrefix !== undefined || rule.http.pathRegex !== undefined) ? criteria[0] : undefined;
      const label = `${rule.label} (${rule.action}${criteria.length ? `: ${criteria.map((c) => c.label).join(', ')}` : ': any request'})`;
      const at = rule.ref;
      const verb = rule.action === 'allow' ? 'allowed' : 'denied';
      const perm: CPerm = {
        rule, criteria, label,
        matched: { text: `${rule.label} matches the request${rule.rawAction === undefined ? ' (no Action: rbac.go reads it as deny)' : ''}: ${rule.action}`, outcome: 'matched', at },
        failed: criteria.map((c) => ({ text: `${rule.label}: ${c.label} does not match`, outcome: 'not-matched' as const, at })),
        unknown: criteria.map((c) => ({ text: `${rule.label}: ${c.label} cannot be evaluated (${c.attr} not recorded)`, outcome: 'unknown' as const, at })),
        verdict: { text: `${verb} by ${title} ${rule.label} (first matching permission)`, outcome: 'verdict', at },
        jwtFailed: { text: `${this.defaultAction === 'allow' ? 'allowed' : 'denied'} by ${this.defaultText}: ${title} ${rule.label} matches but its JWT requirement is not met`, outcome: 'verdict', at },
      };
      if (path) perm.path = path;
      if (rule.jwt) perm.jwt = compileJwt(rule.jwt);
      return perm;
    });
    const at = src.ref;
    const defVerb = this.defaultAction === 'allow' ? 'allowed' : 'denied';
    const cs: CSource = {
      src, entry, l7, action, perms, errors, title,
      matched: { text: `${src.label} (${src.describe}, precedence ${src.precedence}) matches the caller`, outcome: 'matched', at },
      verdict: { text: `${action === 'allow' ? 'allowed' : 'denied'} by ${title} (L4 ${action}${src.rawAction !== undefined && src.rawAction !== 'allow' && src.rawAction !== 'deny' ? `; Action ${JSON.stringify(src.rawAction)} reads as deny` : ''})`, outcome: 'verdict', at },
      tcpL7: { text: `denied by ${title}: it has L7 permissions but the destination is not HTTP, and rbac.go treats L7 intentions on a TCP listener as deny`, outcome: 'verdict', at },
      noPermission: { text: `${defVerb} by ${this.defaultText}: ${title} matches the caller but none of its permissions matches the request`, outcome: 'verdict', at },
      jwtFailed: { text: `${defVerb} by ${this.defaultText}: ${title} matches the caller but the entry's JWT requirement is not met`, outcome: 'verdict', at },
    };
    if (entryJwt) cs.entryJwt = entryJwt;
    return cs;
  }

  // ---------------------------------------------------------------- destinations

  /** The candidates for a destination; one unless the workspace defines its entries twice. */
  private destCands(partition: string, namespace: string, name: string): Alt<DestCand>[] {
    let byNs = this.destCache.get(partition);
    if (!byNs) this.destCache.set(partition, (byNs = new Map()));
    let byName = byNs.get(namespace);
    if (!byName) byNs.set(namespace, (byName = new Map()));
    let alts = byName.get(name);
    if (!alts) {
      const list = this.buildDest(partition, namespace, name);
      alts = list.length === 1 ? [{ value: list[0]! }] : list.map((dc) => ({ value: dc, missing: `which definition of the intentions for ${dc.label} is applied`, label: dc.variantNote ?? dc.label }));
      if (byName.size > 200_000) byName.clear();
      byName.set(name, alts);
    }
    return alts;
  }

  private buildDest(partition: string, namespace: string, name: string): DestCand[] {
    const levels: IntentionEntry[][] = [];
    const exact = name === OTHER ? undefined : this.byKey.get(`${partition}/${namespace}/${name}`);
    const nsWild = namespace === OTHER ? undefined : this.byKey.get(`${partition}/${namespace}/*`);
    const all = this.byKey.get(`${partition}/*/*`);
    for (const l of [exact, nsWild, all]) if (l) levels.push(l);
    const combos: IntentionEntry[][] = [[]];
    for (const variants of levels) {
      const next: IntentionEntry[][] = [];
      for (const c of combos) for (const v of variants) next.push([...c, v]);
      combos.splice(0, combos.length, ...next.slice(0, 64));
    }
    const shown = `${name === OTHER ? '(another service)' : name} in ${namespace === OTHER ? '(another namespace)' : `namespace ${namespace}`}${partition !== 'default' ? `, partition ${partition}` : ''}`;
    const refused = [
      ...(name === OTHER ? [] : this.refusedByKey.get(`${partition}/${namespace}/${name}`) ?? []),
      ...(namespace === OTHER ? [] : this.refusedByKey.get(`${partition}/${namespace}/*`) ?? []),
      ...this.refusedByKey.get(`${partition}/*/*`) ?? [],
    ].sort((a, b) => a.order - b.order);
    const refusedSteps: TraceStep[] = refused.map((e) => ({ text: refusedText(e), outcome: 'skipped', at: e.problemAt ?? e.ref }));
    return combos.map((entries) => this.makeDest(partition, namespace, name, shown, entries, combos.length > 1, refusedSteps));
  }

  private makeDest(partition: string, namespace: string, name: string, label: string, entries: IntentionEntry[], variant: boolean, refusedSteps: TraceStep[]): DestCand {
    const sources: CSource[] = [];
    for (const e of entries) for (const s of e.sources) sources.push(this.compiledSources.get(s)!);
    sources.sort((a, b) => {
      const x = a.src;
      const y = b.src;
      if (x.precedence !== y.precedence) return y.precedence - x.precedence;
      return cmp(x.namespace, y.namespace) || cmp(x.name, y.name) || cmp(x.entry.namespace, y.entry.namespace) || cmp(x.entry.name, y.entry.name)
        || cmp(x.peer, y.peer) || cmp(x.partition, y.partition) || x.entry.order - y.entry.order || x.index - y.index;
    });
    const errors = sources.flatMap((s) => s.errors);
    const groups = [...new Set(sources.map((s) => s.src.samenessGroup).filter((g) => g && !this.options.samenessGroups[g]))].sort();
    const steps: TraceStep[] = [...refusedSteps, ...(entries.length === 0
      ? [{ text: `no intentions apply to ${label}`, outcome: 'skipped' as const }]
      : entries.flatMap((e) => [
        { text: `${e.label} applies to ${label} (${e.name === '*' ? e.namespace === '*' ? 'every destination' : `every destination in namespace ${e.namespace}` : 'exact destination'}, ${e.sources.length} source${e.sources.length === 1 ? '' : 's'})`, outcome: 'applies' as const, at: e.ref },
        // what the cluster's CRD dropped from it (crds/stored.ts)
        ...installedCrdDrops(e.resource).map((note) => ({ text: `${e.label}: ${note}`, outcome: 'applies' as const, at: e.ref })),
      ]))];
    const dc: DestCand = {
      partition, namespace, name, label, entries, sorted: sources, byLoc: new Map(),
      rejected: errors.length ? `Envoy rejects the RBAC configuration for this destination (${errors[0]}) and keeps the one it had before, which the workspace does not show` : undefined,
      rejectRef: errors.length ? sources.find((s) => s.errors.length)!.src.ref : undefined,
      hasL7: sources.some((s) => s.l7),
      hasJwt: sources.some((s) => s.entryJwt || s.perms.some((p) => p.jwt)),
      groups,
      sourceNamespaces: [...new Set(sources.map((s) => s.src.namespace).filter((n) => n !== '*'))].sort(),
      sourcePartitions: [...new Set(sources.filter((s) => !s.src.peer && !s.src.samenessGroup).map((s) => s.src.partition))].sort(),
      entrySteps: steps,
      variantNote: variant ? `with ${entries.map((e) => `${e.label} from ${e.file.path}:${e.ref.range.start.line + 1}`).join(', ')}` : undefined,
    };
    return dc;
  }

  /** The RBAC view of a destination for callers in one location (`mask`: the unresolved
   * sameness groups taken to include that location). */
  private rbac(dc: DestCand, loc: string, mask: number): DestRbac {
    const cacheKey = mask ? `${loc}\u0000${mask}` : loc;
    let rb = dc.byLoc.get(cacheKey);
    if (rb) return rb;
    rb = { list: [], dropped: [], exact: new Map(), nsWild: new Map(), all: undefined };
    const seen = new Map<string, SourceIntention>();
    for (const cs of dc.sorted) {
      const s = cs.src;
      let inLoc: boolean;
      if (s.samenessGroup) {
        const g = this.options.samenessGroups[s.samenessGroup];
        if (g) inLoc = (g.partitions ?? []).some((p) => loc === `ap:${p}`) || (g.peers ?? []).some((p) => loc === `peer:${p}`);
        else inLoc = (mask & (1 << dc.groups.indexOf(s.samenessGroup))) !== 0;
      } else {
        inLoc = loc === (s.peer ? `peer:${s.peer}` : `ap:${s.partition || 'default'}`);
      }
      if (!inLoc) continue;
      const k = `${s.namespace}/${s.name}`;
      const prior = seen.get(k);
      if (prior) {
        rb.dropped.push({ src: s, by: prior });
        continue;
      }
      seen.set(k, s);
      const ixn: Ixn = { cs, order: rb.list.length, wild: s.wild };
      rb.list.push(ixn);
      if (s.namespace === '*') rb.all = ixn;
      else if (s.name === '*') rb.nsWild.set(s.namespace, ixn);
      else {
        let m = rb.exact.get(s.namespace);
        if (!m) rb.exact.set(s.namespace, (m = new Map()));
        m.set(s.name, ixn);
      }
    }
    dc.byLoc.set(cacheKey, rb);
    return rb;
  }

  /** The intentions whose source pattern matches the caller, in precedence order (≤ 3). */
  private candidates(rb: DestRbac, ns: string, name: string): Ixn[] {
    const out: Ixn[] = [];
    const a = rb.exact.get(ns)?.get(name);
    if (a) out.push(a);
    const b = rb.nsWild.get(ns);
    if (b) out.push(b);
    if (rb.all) out.push(rb.all);
    if (out.length > 1) out.sort((x, y) => x.order - y.order);
    return out;
  }

  // ---------------------------------------------------------------- callers

  private callerOf(call: AccessRecord): CallerInfo {
    const source = call.source;
    const principal = source?.principal;
    if (typeof principal === 'string' && principal !== '') {
      let c = this.callerCache.get(principal);
      if (!c) {
        c = this.parsePrincipal(principal);
        if (this.callerCache.size > 100_000) this.callerCache.clear();
        this.callerCache.set(principal, c);
      }
      return c;
    }
    if (principal === undefined && source?.service) {
      const ns = this.enterprise ? source.namespace : 'default';
      const cacheKey = `\u0000${ns ?? '\u0000'}\u0000${source.service}`;
      const cached = this.callerCache.get(cacheKey);
      if (cached) return cached;
      const c: CallerInfo = {
        kind: 'service', ns, name: source.service, locs: undefined,
        desc: `${ns ?? '?'}/${source.service} (from source.service; the record has no certificate identity)`,
        note: `the record has no source.principal; the caller is taken to be the local service ${source.service}${this.enterprise ? ns ? ` in namespace ${ns} (source.namespace)` : ' (namespace not recorded)' : ' (Consul CE: namespace default)'}`,
      };
      this.callerCache.set(cacheKey, c);
      return c;
    }
    return { kind: 'plaintext', ns: undefined, name: '', locs: [], desc: 'a plaintext client' };
  }

  private parsePrincipal(principal: string): CallerInfo {
    for (const san of principal.split(',')) {
      const m = /^spiffe:\/\/([^/]+)(?:\/ap\/([^/]+))?\/ns\/([^/]+)\/dc\/([^/]+)\/svc\/([^/]+)$/.exec(san.trim());
      if (!m) continue;
      const td = m[1]!;
      const ap = m[2];
      const ns = m[3]!;
      const name = m[5]!;
      const apLoc = ap === undefined ? 'ap:default' : ap === 'default' ? 'ap:/ap/default' : `ap:${ap}`;
      const desc = `${ns}/${name}${ap ? ` (partition ${ap})` : ''} [${san.trim()}]`;
      const locs: Alt<string>[] = [];
      const peer = Object.entries(this.options.peers).find(([, p]) => p.trustDomain === td && (p.partition && p.partition !== 'default' ? ap === p.partition : ap === undefined));
      if (peer) {
        locs.push({ value: `peer:${peer[0]}` });
      } else if (this.options.trustDomain !== undefined && td === this.options.trustDomain) {
        locs.push({ value: apLoc });
      } else {
        const extra = this.unconfiguredPeers.map((p) => ({ value: `peer:${p}`, missing: `the trust domain of peer ${p} (consul.peers)`, label: `if the caller is from peer ${p}` }));
        if (this.options.trustDomain !== undefined) locs.push({ value: 'foreign', ...(extra.length ? { missing: 'the trust domains of the peers (consul.peers)', label: 'if the caller is from no known peer' } : {}) });
        else locs.push({ value: apLoc, ...(extra.length ? { missing: 'the trust domains of the peers (consul.peers)', label: 'if the caller is local' } : {}) });
        locs.push(...extra);
      }
      return { kind: 'spiffe', ns, name, desc, locs };
    }
    return { kind: 'foreign', ns: undefined, name: principal, desc: principal, locs: [{ value: 'foreign' }], note: `${principal} is not a Consul service identity; no intention source can match it` };
  }

  private callerLocs(caller: CallerInfo, dc: DestCand): Alt<string>[] {
    if (caller.locs) return caller.locs;
    if (this.options.partition) return [{ value: `ap:${this.options.partition}` }];
    const parts = new Set(['default', ...dc.sourcePartitions]);
    if (parts.size === 1) return [{ value: 'ap:default' }];
    return [...parts].map((p) => ({ value: `ap:${p}`, missing: 'source.principal (the caller\'s partition)', label: `if the caller is in partition ${p}` }));
  }

  private callerNamespaces(caller: CallerInfo, dc: DestCand): Alt<string>[] {
    if (caller.ns !== undefined) return (caller.nsAlts ??= [{ value: caller.ns }]);
    const list = [...dc.sourceNamespaces, OTHER];
    return list.map((n) => ({ value: n, missing: 'source.namespace', label: n === OTHER ? 'if the caller is in another namespace' : `if the caller is in namespace ${n}` }));
  }

  // ---------------------------------------------------------------- deciding

  /** Enterprise namespaces, partitions, peers and the destinations' namespaces: they open
   * alternatives for calls to any destination. The jwt-provider entries decide the JWT
   * requirements of intentions anywhere in the mesh, the mesh entry how every proxy rewrites
   * requests. */
  globals(): string {
    const namespaces = [...new Set([...this.byKey.keys()].map((k) => k.slice(0, k.lastIndexOf('/'))))].sort();
    return JSON.stringify([this.enterprise, this.unconfiguredPeers, this.entryPartitions, this.partitionAlts.map((a) => a.value), namespaces, this.jwtProviderDigest, this.meshEntryDigest, this.defaultText]);
  }

  private run(call: AccessRecord, full: boolean): Decision {
    const caller = this.callerOf(call);
    if (caller.kind === 'plaintext') return this.plaintext(call, full);
    const dst = call.destination;
    const dstName = dst?.service;
    const protocols = protocolsOf(call);
    const req = this.req;
    req.call = call;
    req.view = undefined;
    req.reject = undefined;
    req.pathNote = undefined;
    req.prepared = false;
    const dstNs = this.enterprise ? dst?.namespace : 'default';
    const sole = this.soleScenario(caller, dstNs, dstName, protocols);
    if (sole !== undefined) return this.scenario(sole, caller, full);
    const dcs: Alt<DestCand>[] = [];
    for (const p of this.partitionAlts) {
      const namespaces: Alt<string>[] = dstNs !== undefined ? [{ value: dstNs }]
        : this.namespacesOf(p.value).map((n) => ({ value: n, missing: 'destination.namespace', label: n === OTHER ? 'if the destination is in another namespace' : `if the destination is in namespace ${n}` }));
      for (const n of namespaces) {
        const names: Alt<string>[] = dstName !== undefined ? [{ value: dstName }]
          : this.namesOf(p.value, n.value).map((x) => ({ value: x, missing: 'destination.service', label: x === OTHER ? 'if the destination is another service' : `if the destination is ${x}` }));
        for (const x of names) {
          for (const d of this.destCands(p.value, n.value, x.value)) {
            const missing = [p.missing, n.missing, x.missing, d.missing].filter((m): m is string => m !== undefined);
            const labels = [p.label, n.label, x.label, d.label].filter((m): m is string => m !== undefined);
            dcs.push({ value: d.value, ...(missing.length ? { missing: missing.join('\u0000') } : {}), ...(labels.length ? { label: labels.join(', ') } : {}) });
          }
        }
      }
    }
    const scenarios: Scenario[] = [];
    let overflow = false;
    outer: for (const d of dcs) {
      const dc = d.value;
      for (const l of this.callerLocs(caller, dc)) {
        for (const n of this.callerNamespaces(caller, dc)) {
          const masks = dc.groups.length === 0 ? 1 : 1 << Math.min(dc.groups.length, 6);
          for (let mask = 0; mask < masks; mask++) {
            for (const pr of protocols) for (let norm = 0; norm < (pr.value ? this.norms.length : 1); norm++) {
              if (scenarios.length >= MAX_SCENARIOS) {
                overflow = true;
                break outer;
              }
              const nm = pr.value ? this.norms[norm]! : undefined;
              const labels = [d.label, l.label, n.label, pr.label, nm?.label].filter((x): x is string => x !== undefined);
              const missing = [...(d.missing ? d.missing.split('\u0000') : []), l.missing, n.missing, pr.missing, nm?.missing].filter((x): x is string => x !== undefined);
              if (dc.groups.length) {
                dc.groups.forEach((g, i) => {
                  if (i >= 6) return;
                  labels.push(`if sameness group ${g} ${mask & (1 << i) ? 'includes' : 'does not include'} the caller's partition or peer`);
                  missing.push(`the members of sameness group ${g} (consul.samenessGroups)`);
                });
              }
              scenarios.push({ dc, loc: l.value, mask, ns: n.value, http: pr.value, norm, labels, missing });
            }
          }
        }
      }
    }
    const results = scenarios.map((s) => ({ s, d: this.scenario(s, caller, full) }));
    return combine(results, overflow);
  }

  /** Fast path: the one scenario of a call when the record and the configuration leave nothing
   * open (the scratch scenario, valid until the next call), else undefined. */
  private soleScenario(caller: CallerInfo, dstNs: string | undefined, dstName: string | undefined, protocols: Alt<boolean>[]): Scenario | undefined {
    if (this.partitionAlts.length !== 1 || dstNs === undefined || dstName === undefined || protocols.length !== 1 || (this.norms.length !== 1 && protocols[0]!.value)) return undefined;
    const alts = this.destCands(this.partitionAlts[0]!.value, dstNs, dstName);
    if (alts.length !== 1) return undefined;
    const dc = alts[0]!.value;
    const locs = this.callerLocs(caller, dc);
    const nss = this.callerNamespaces(caller, dc);
    if (locs.length !== 1 || nss.length !== 1 || dc.groups.length !== 0) return undefined;
    const sc = this.scratch;
    sc.dc = dc;
    sc.loc = locs[0]!.value;
    sc.ns = nss[0]!.value;
    sc.http = protocols[0]!.value;
    sc.norm = 0;
    return sc;
  }

  /**
   * For the fold (`fold.ts`): what `decide` reads of `call` beyond its destination (its
   * namespace and Service), its caller (`callerOf`: the principal, or the source service and
   * namespace) and its protocol class (`protocolsOf`, and gRPC apart: a missing method is POST).
   * Calls alike in those get the same plan.
   */
  foldPlan(call: AccessRecord): ConsulFoldPlan {
    const caller = this.callerOf(call);
    if (caller.kind === 'plaintext') return READS_NOTHING;
    const dst = call.destination;
    const s = this.soleScenario(caller, this.enterprise ? dst?.namespace : 'default', dst?.service, protocolsOf(call));
    if (s === undefined) return READS_EVERYTHING;
    if (!s.http || s.dc.rejected) return READS_NOTHING;
    return (s.dc.httpPlan ??= this.httpPlan(s.dc));
  }

  /** What an HTTP call's one scenario at `dc` reads of its request: its path and headers when
   * normalization may reject or rewrite it before RBAC (`prepare`), the attributes the L7
   * permissions test, the token for a JWT requirement. */
  private httpPlan(dc: DestCand): ConsulFoldPlan {
    if (!this.earlyRequest && !dc.hasL7 && !dc.hasJwt) return READS_NOTHING;
    const request: ConsulRequestReads = { methods: [], paths: [], hosts: [], headers: [], jwt: dc.hasJwt, normalization: this.norms[0]!.value };
    // Sources often repeat one permission: a criterion's label spells out all its test reads, so
    // one of each label answers for its copies.
    const labels = new Set<string>();
    for (const cs of dc.sorted) {
      if (!cs.l7) continue;
      for (const p of cs.perms) {
        for (const c of p.criteria) {
          if (labels.has(c.label)) continue;
          labels.add(c.label);
          const list = c.attr === 'request.method' ? request.methods : c.attr === 'request.path' ? request.paths : c.attr === 'request.host' ? request.hosts : c.attr.startsWith('request.headers.') ? request.headers : undefined;
          if (list === undefined) return READS_EVERYTHING;
          (list as Criterion[]).push(c);
        }
      }
    }
    return { reads: 'request', request };
  }

  private namespacesOf(partition: string): string[] {
    const set = new Set<string>();
    for (const k of this.byKey.keys()) {
      const [p, ns] = k.split('/');
      if (p === partition && ns !== '*') set.add(ns!);
    }
    return [...[...set].sort(), OTHER];
  }

  private namesOf(partition: string, namespace: string): string[] {
    const set = new Set<string>();
    for (const k of this.byKey.keys()) {
      const [p, ns, name] = k.split('/');
      if (p === partition && ns === namespace && name !== '*') set.add(name!);
    }
    const list = [...set].sort();
    return list.length > 31 ? [...list.slice(0, 31), OTHER] : [...list, OTHER];
  }

  private plaintext(call: AccessRecord, full: boolean): Decision {
    const service = call.destination?.service;
    const permissive = this.options.permissiveMtls === true || (Array.isArray(this.options.permissiveMtls) && service !== undefined && this.options.permissiveMtls.includes(service));
    const explicit = call.source?.principal === null ? 'source.principal is null' : 'the record has no source.principal or source.service';
    const trace: TraceStep[] = [{ text: `the caller presents no client certificate (${explicit}): a plaintext connection`, outcome: 'applies' }];
    if (full) trace.push({ text: 'Consul evaluates intentions against the SPIFFE ID of the client certificate; without mTLS there is none', outcome: 'applies' });
    if (permissive) {
      const reason = `allowed: ${service ?? 'the destination'} accepts plaintext (MutualTLSMode permissive), and intentions are not enforced on plaintext connections`;
      trace.push({ text: reason, outcome: 'verdict' });
      return { verdict: 'allow', mesh: 'consul', reason, trace };
    }
    const reason = 'denied: the destination\'s sidecar accepts only mTLS (MutualTLSMode strict), so a plaintext connection is refused before intentions are evaluated';
    trace.push({ text: reason, outcome: 'verdict' });
    return { verdict: 'deny', mesh: 'consul', reason, trace };
  }

  /** Prepares the request once per call and normalization, when an HTTP scenario needs it. */
  private prepare(req: ReqState, index: number): void {
    if (req.prepared && req.norm === index) return;
    req.prepared = true;
    req.norm = index;
    req.reject = undefined;
    req.pathNote = undefined;
    const call = req.call;
    const r = call.request;
    const normalization = this.norms[index]!.value;
    const normalized = normalizePath(r?.path, normalization, this.normalized);
    req.reject = normalized.reject ?? underscoreRejection(r?.headers, normalization);
    req.pathNote = normalized.note;
    const view = this.view;
    view.method = r?.method ?? (call.protocol === 'grpc' ? 'POST' : undefined);
    view.fullPath = normalized.fullPath;
    view.path = normalized.path;
    view.host = r?.host;
    view.headers = r?.headers;
    view.recorded = r?.recordedHeaders;
    view.dropUnderscore = normalization.settings.headersWithUnderscoresAction === 'DROP_HEADER';
    view.lower = undefined;
    view.missing.length = 0;
    req.view = view;
  }

  /**
   * One scenario, for `decide`: when the caller's intentions leave one principal matching and
   * nothing before RBAC (JWT, path rewriting, a 400) is involved, the decision depends only on
   * that intention, the listener and, for L7, which permission matched and which criterion
   * failed in the ones before it. Such decisions are made once and shared.
   */
  private scenario(s: Scenario, caller: CallerInfo, full: boolean): Decision {
    const dc = s.dc;
    if (full || dc.rejected || (s.http && dc.hasJwt)) return this.evaluateScenario(s, caller, full);
    const { a, b, c } = this.sourcesMatching(s, caller);
    const m = soleMatch(a, b, c);
    const l7 = m !== undefined && m.cs.l7;
    // The request is prepared when evaluateScenario would prepare it (its notes go in the trace).
    if (s.http && (this.earlyRequest || a?.cs.l7 || b?.cs.l7 || c?.cs.l7)) {
      this.prepare(this.req, s.norm);
      if (this.req.pathNote || this.req.reject) return this.evaluateScenario(s, caller, full);
    }
    if (!a && !b && !c) {
      const byCaller = (dc.noMatch ??= new Map());
      let known = byCaller.get(caller);
      if (!known) {
        if (byCaller.size >= 10_000) byCaller.clear();
        byCaller.set(caller, (known = [undefined, undefined]));
      }
      const slot = s.http ? 1 : 0;
      return (known[slot] ??= this.evaluateScenario(s, caller, full));
    }
    if (!m) return this.evaluateScenario(s, caller, full);
    if (!l7) {
      if (s.http) return (m.decidedHttp ??= this.evaluateScenario(s, caller, full));
      return (m.decidedTcp ??= this.evaluateScenario(s, caller, full));
    }
    if (!s.http) return (m.decidedTcp ??= this.evaluateScenario(s, caller, full));
    const outcome = this.permissionOutcome(m.cs, this.req.view!);
    if (outcome < 0) return this.evaluateScenario(s, caller, full);
    const byOutcome = (m.decidedByOutcome ??= new Map());
    let d = byOutcome.get(outcome);
    if (!d) {
      d = this.evaluateScenario(s, caller, full);
      if (byOutcome.size < 10_000) byOutcome.set(outcome, d);
    }
    return d;
  }

  /** The intentions whose source pattern matches the caller (ns/name, ns/*, *\/*), ≤ 3, in a
   * reused object (read it before the next call). */
  private sourcesMatching(s: Scenario, caller: CallerInfo): SourceMatches {
    const found = this.found;
    const rb = (found.rb = this.rbac(s.dc, s.loc, s.mask));
    const local = s.loc !== 'foreign';
    found.a = local ? rb.exact.get(s.ns)?.get(caller.name) : undefined;
    found.b = local ? rb.nsWild.get(s.ns) : undefined;
    found.c = local ? rb.all : undefined;
    return found;
  }

  /**
   * What the L7 permissions of `cs` make of the request, as one number: for each permission
   * tried in order, the index of its first failing criterion, or its criteria count when it
   * matches (the last one tried), in mixed radix. -1 when a criterion cannot be evaluated
   * (the record lacks the attribute) or the number would be too large.
   */
  private permissionOutcome(cs: CSource, view: RequestView): number {
    let outcome = 0;
    let radix = 1;
    const at = this.failedAt;
    view.missing.length = 0;
    for (const p of cs.perms) {
      const n = p.criteria.length;
      const h = evalCriteria(p.criteria, view, at);
      if (h === U) return -1;
      outcome += radix * (h === T ? n : at.index);
      radix *= n + 1;
      if (radix > 2 ** 40) return -1;
      if (h === T) break;
    }
    return outcome;
  }

  private evaluateScenario(s: Scenario, caller: CallerInfo, full: boolean): Decision {
    const dc = s.dc;
    const req = this.req;
    let view: RequestView | undefined;
    let early: TraceStep[] | undefined;
    if (full) this.explainIdentity((early = []), caller, s);
    if (dc.rejected) {
      const trace = [...dc.entrySteps, ...(early ?? [])];
      trace.push(dc.rejectRef ? { text: dc.rejected, outcome: 'unknown', at: dc.rejectRef } : { text: dc.rejected, outcome: 'unknown' });
      const d: Decision = { verdict: 'unknown', mesh: 'consul', reason: dc.rejected, trace, missing: ['the proxy configuration in effect (Envoy rejected the new one)'] };
      if (dc.rejectRef) d.policy = dc.rejectRef;
      return d;
    }
    const { rb, a, b, c } = this.sourcesMatching(s, caller);
    const count = (a ? 1 : 0) + (b ? 1 : 0) + (c ? 1 : 0);
    // The request is read only when something looks at it.
    if (s.http && (this.earlyRequest || (count > 0 && (dc.hasJwt || a?.cs.l7 || b?.cs.l7 || c?.cs.l7)))) {
      this.prepare(req, s.norm);
      view = req.view!;
      view.missing.length = 0;
      if (req.pathNote) (early ??= []).push({ text: req.pathNote, outcome: 'applies' });
      if (req.reject) {
        const reason = `denied (400): ${req.reject}; the proxy answers before intentions are evaluated`;
        const trace = [...dc.entrySteps, ...(early ?? [])];
        trace.push({ text: reason, outcome: 'verdict' });
        return { verdict: 'deny', mesh: 'consul', reason, trace, status: 400 };
      }
    }
    if (count === 1 && !early && !(s.http && dc.hasJwt)) {
      // The common case: one intention decides, no JWT.
      const m = (a ?? b ?? c)!;
      const cs = m.cs;
      if (!cs.l7) {
        // An L4 intention: the whole walkthrough is fixed; copy it.
        const d: Decision = { verdict: cs.action, mesh: 'consul', reason: cs.verdict.text, trace: (m.trace ??= [...dc.entrySteps, cs.matched, cs.verdict]).slice(), policy: cs.entry.ref, rule: cs.src.ref };
        if (s.http && cs.action === 'deny') d.status = 403;
        if (cs.action === 'deny' && this.defaultAction === 'allow') d.deniedBy = LAYER4_DENIAL;
        return d;
      }
      const trace = dc.entrySteps.slice();
      trace.push(cs.matched);
      const r = this.evalIntention(cs, s.http, view, undefined, trace, false);
      return this.verdictOf(dc, trace, [m], [r], view, s.http, false, m);
    }
    const trace: TraceStep[] = dc.entrySteps.slice();
    if (early) for (const st of early) trace.push(st);
    if (count === 0) {
      if (full) this.explainSources(trace, dc, rb, s, caller, NO_IXNS);
      trace.push(caller.noMatchStep ??= { text: `no intention source matches ${caller.desc}`, outcome: 'not-matched' });
      if (full) this.explainCheck(trace, undefined, this.defaultAction);
      const step = this.defaultStep(caller);
      trace.push(step);
      const d: Decision = { verdict: this.defaultAction, mesh: 'consul', reason: step.text, trace };
      if (s.http && this.defaultAction === 'deny') d.status = 403;
      return d;
    }
    const cands: Ixn[] = [];
    if (a) cands.push(a);
    if (b) cands.push(b);
    if (c) cands.push(c);
    if (cands.length > 1) cands.sort((x, y) => x.order - y.order);
    if (full) this.explainSources(trace, dc, rb, s, caller, cands);
    // Envoy RBAC principals: a candidate is shadowed by an earlier, narrower one.
    const matching = cands.length > 1 ? cands.filter((x, i) => !cands.some((o, j) => j < i && o.wild < x.wild)) : cands;
    // Since Consul 1.16.1 jwt_authn lets every request through (allow_missing_or_failed) and only
    // stores a valid token's payload: a missing or invalid token fails RBAC's JWT condition, never a 401.
    const jwt = req.call.request?.jwt ?? (req.call.request?.jwtUnknown === true ? TOKEN_NOT_RECORDED : undefined);
    const results: IxnResult[] = [];
    for (const m of matching) {
      trace.push(m.cs.matched);
      results.push(this.evalIntention(m.cs, s.http, view, jwt, trace, full));
    }
    if (matching.length > 1) {
      trace.push({ text: `Envoy RBAC: ${matching.map((m) => m.cs.src.label).join(' and ')} all match the caller: a higher-precedence source is subtracted from a lower one only when it is narrower (rbac.go ixnSourceMatches), so each principal stands on its own`, outcome: 'applies' });
    }
    return this.verdictOf(dc, trace, matching, results, view, s.http, full, cands[0]);
  }

  /** Combines the outcomes of the intentions whose principals match, as the RBAC engine does:
   * default deny → allowed iff one of them allows; default allow → denied iff one denies. */
  private verdictOf(dc: DestCand, trace: TraceStep[], matching: Ixn[], results: IxnResult[], view: RequestView | undefined, http: boolean, full: boolean, first: Ixn | undefined): Decision {
    let allowPossible = this.defaultAction !== 'deny';
    let denyPossible = this.defaultAction === 'deny';
    for (let i = 0; i < results.length; i++) {
      const mask = results[i]!.mask;
      if (this.defaultAction === 'deny') {
        if (mask & OA) allowPossible = true;
        if (!(mask & (OD | ODEF))) denyPossible = false;
      } else {
        if (mask & OD) denyPossible = true;
        if (!(mask & (OA | ODEF))) allowPossible = false;
      }
    }
    if (allowPossible && denyPossible) {
      const missing = view ? view.missing.slice() : [];
      if (missing.length === 0) missing.push('request attributes');
      const reason = `unknown: the verdict depends on ${missing.join(', ')}, which the record does not carry`;
      trace.push({ text: reason, outcome: 'verdict' });
      return { verdict: 'unknown', mesh: 'consul', reason, trace, missing, policy: matching[0]!.cs.entry.ref, rule: matching[0]!.cs.src.ref };
    }
    const verdict: Action = allowPossible ? 'allow' : 'deny';
    // Attribution: the intention whose outcome is definite and decisive, else the first match.
    let idx = 0;
    if (verdict !== this.defaultAction) {
      const want = verdict === 'allow' ? OA : OD;
      for (let i = 0; i < results.length; i++) if (results[i]!.mask === want) { idx = i; break; }
    }
    const m = matching[idx]!;
    const r = results[idx]!;
    const perm = r.perm;
    const kind = r.kind;
    const step = kind === 'l4' ? m.cs.verdict : kind === 'tcp-l7' ? m.cs.tcpL7 : kind === 'perm' ? perm!.verdict : kind === 'perm-jwt' ? perm!.jwtFailed : kind === 'entry-jwt' ? m.cs.jwtFailed : m.cs.noPermission;
    let reason: string;
    if ((kind !== 'no-perm' && kind !== 'entry-jwt' && kind !== 'perm-jwt') || verdict === this.defaultAction) {
      reason = step.text;
      trace.push(step);
    } else {
      reason = `${verdict === 'allow' ? 'allowed' : 'denied'} (Envoy RBAC ${this.defaultAction === 'deny' ? 'allow-list' : 'deny-list'})`;
      trace.push({ text: reason, outcome: 'verdict' });
    }
    if (full || matching.length > 1) this.explainCheck(trace, first, verdict);
    const out: Decision = { verdict, mesh: 'consul', reason, trace, policy: m.cs.entry.ref, rule: perm && kind !== 'no-perm' ? perm.rule.ref : m.cs.src.ref };
    if (verdict === 'deny' && http) out.status = 403;
    // Envoy logs the first matching policy by name; with several principals matching, which one
    // that is depends on every one's outcome, so only a sole match names its policy.
    if (verdict === 'deny' && this.defaultAction === 'allow' && matching.length === 1) {
      const policyId = this.denyListPolicy(dc, m.cs, http);
      if (policyId !== undefined) out.deniedBy = { kind: 'policy', policyId };
    }
    return out;
  }

  /**
   * The name of the deny-list policy (default allow) that an intention of this destination
   * becomes (hashicorp/consul agent/xds/rbac.go `makeRBACRules`): every L4 source (and, on a TCP
   * listener, every L7 one) joins `consul-intentions-layer4`; on an HTTP listener an L7 source
   * gets `consul-intentions-layer7-<i>`. Undefined when `<i>` cannot be known.
   */
  private denyListPolicy(dc: DestCand, cs: CSource, http: boolean): string | undefined {
    if (!cs.l7 || !http) return LAYER4_POLICY;
    const index = (dc.layer7Index === undefined ? (dc.layer7Index = this.layer7Indexes(dc)) : dc.layer7Index)?.get(cs);
    return index === undefined ? undefined : `consul-intentions-layer7-${index}`;
  }

  /**
   * `<i>` counts the sources of the destination's RBAC list, L4 and L7 alike, in precedence order,
   * after rbac.go drops a lower-precedence source equal to a higher one (`removeSameSourceIntentions`),
   * an L4 source whose action is the default (`removeSourcePrecedence`) and an L7 source whose
   * permissions all have the default's action (`removeIntentionPrecedence`). Null when the order
   * is not fixed by what Consul sorts on (`IntentionPrecedenceSorter`: precedence, then source
   * and destination names, so sources differing only by partition or peer tie), or when a
   * sameness group expands into sources the workspace does not list.
   */
  private layer7Indexes(dc: DestCand): Map<CSource, number> | null {
    const out = new Map<CSource, number>();
    const seen = new Set<string>();
    let index = 0;
    let previous: SourceIntention | undefined;
    for (const cs of dc.sorted) {
      const s = cs.src;
      if (s.samenessGroup) return null;
      if (previous !== undefined && previous.precedence === s.precedence && previous.namespace === s.namespace && previous.name === s.name
        && previous.entry.namespace === s.entry.namespace && previous.entry.name === s.entry.name) return null;
      previous = s;
      const key = `${s.peer ?? ''}\u0000${s.partition}\u0000${s.namespace}/${s.name}`;
      if (seen.has(key)) continue;
      seen.add(key);
      const retained = cs.l7 ? cs.perms.some((p) => p.rule.action !== this.defaultAction) : cs.action !== this.defaultAction;
      if (!retained) continue;
      if (cs.l7) out.set(cs, index);
      index++;
    }
    return out;
  }

  private defaultStep(caller: CallerInfo): TraceStep {
    return (caller.defaultStep ??= { text: `${this.defaultAction === 'allow' ? 'allowed' : 'denied'} by ${this.defaultText}: no intention source matches ${caller.desc}`, outcome: 'verdict' });
  }

  /** One intention's outcome for the request: which of allow / deny / default it can lead to. */
  private evalIntention(cs: CSource, http: boolean, view: RequestView | undefined, jwt: JwtView | undefined, trace: TraceStep[], full: boolean): IxnResult {
    if (!cs.l7) {
      if (http && cs.entryJwt) {
        const j = this.jwtTri(cs.entryJwt, jwt, view!, trace, full);
        if (j === F) return ENTRY_JWT_FAILED;
        if (j === U) return { mask: (cs.action === 'allow' ? OA : OD) | ODEF, kind: 'l4' };
      }
      return cs.action === 'allow' ? L4_ALLOW : L4_DENY;
    }
    if (!http) return TCP_L7;
    const je: Tri = cs.entryJwt ? this.jwtTri(cs.entryJwt, jwt, view!, trace, full) : T;
    // The entry's JWT is part of the principal: when it fails, no permission of this source matches.
    if (je === F) return ENTRY_JWT_FAILED;
    let mask = 0;
    const at = { index: -1 };
    for (const p of cs.perms) {
      const h = evalCriteria(p.criteria, view!, at);
      if (full) for (let i = 0; i < p.criteria.length; i++) if (p.criteria[i]!.skipped) trace.push({ text: p.criteria[i]!.skipped!, outcome: 'skipped', at: p.rule.ref });
      if (h === F) {
        trace.push(p.failed[at.index]!);
        continue;
      }
      trace.push(h === T ? p.matched : p.unknown[at.index]!);
      const jp: Tri = p.jwt ? this.jwtTri(p.jwt, jwt, view!, trace, full) : T;
      const j = and3(je, jp);
      const act = p.rule.action === 'allow' ? OA : OD;
      const bits = j === T ? act : j === F ? ODEF : act | ODEF;
      mask |= bits;
      if (h === T) {
        if (j === F) return { mask, perm: p, kind: 'perm-jwt' };
        return { mask, perm: p, kind: 'perm' };
      }
    }
    return { mask: mask | ODEF, kind: 'no-perm' };
  }

  /** The RBAC JWT condition: for any listed provider, the token's `iss` is the provider's issuer
   * and every VerifyClaims path holds its value (rbac.go addJWTPrincipal / Flatten). The payload
   * RBAC reads is the one the provider's jwt_authn verification stored, so the provider's
   * `Audiences`, when it lists any, must name one of the token's `aud` as well. */
  private jwtTri(cj: CJwt, jwt: JwtView | undefined, view: RequestView, trace: TraceStep[], full: boolean): Tri {
    if (jwt === TOKEN_NOT_RECORDED) {
      trace.push({ text: `JWT ${cj.text}: the log does not record the request's token`, outcome: 'unknown', at: cj.req.ref });
      return missAttr(view, 'request.jwt');
    }
    if (!jwt || jwt.valid === false) {
      trace.push({ text: `JWT ${cj.text}: ${!jwt ? 'no token' : 'the token is not valid'}, so no payload is available`, outcome: 'not-matched', at: cj.req.ref });
      return F;
    }
    const avail: Tri = jwt.valid === true ? T : missAttr(view, 'request.jwt.valid');
    let any: Tri = F;
    const notes: string[] = [];
    for (const p of cj.req.providers) {
      const iss = this.providerTri(p.name, cj.req.providers.length, jwt, view, trace, full, notes);
      let claims: Tri = T;
      for (const c of p.claims) {
        const ok = claimTri(jwt, c.path, c.value, view);
        if (full) notes.push(`${p.name}: claim ${c.path.join('.')} ${ok === T ? 'holds' : ok === F ? 'does not hold' : 'may or may not hold'} ${JSON.stringify(c.value)}${ok === U ? ' (the record gives the audiences, not whether the token\'s aud is a string or a list)' : ''}`);
        claims = and3(claims, ok);
        if (claims === F) break;
      }
      any = or3(any, and3(iss, claims));
      if (any === T) break;
    }
    const r = and3(avail, any);
    trace.push({ text: `JWT ${cj.text}: ${r === T ? 'satisfied' : r === F ? 'not satisfied' : 'cannot be decided'}${notes.length ? ` (${notes.join('; ')})` : ''}`, outcome: r === T ? 'matched' : r === F ? 'not-matched' : 'unknown', at: cj.req.ref });
    return r;
  }

  /** Whether the token is one that provider `name` verified and whose `iss` RBAC accepts: by the
   * workspace's jwt-provider entry when there is one (its Issuer and Audiences), else by
   * `consul.jwtProviders` (the Issuer only), else unknown unless the requirement names this
   * provider alone (the token passed jwt_authn, which checked it against that provider). */
  private providerTri(name: string, providers: number, jwt: JwtView, view: RequestView, trace: TraceStep[], full: boolean, notes: string[]): Tri {
    const defined = this.jwtProviders.get(name);
    const configured = this.options.jwtProviders[name]?.issuer;
    const tokenIss = jwt.issuer ?? (typeof jwt.claims?.['iss'] === 'string' ? (jwt.claims['iss'] as string) : undefined);
    if (defined) {
      const d = defined.definition;
      if (!d) return missAttr(view, defined.ambiguity);
      // rbac.go newJWTInfo takes the entry's Issuer as it is: unset, RBAC wants an empty `iss`.
      const want = d.issuer ?? '';
      const iss: Tri = tokenIss === undefined ? missAttr(view, 'request.jwt.issuer') : tokenIss === want ? T : F;
      const aud = tokenAudiences(jwt);
      const audOk: Tri = d.audiences.length === 0 || aud.some((a) => d.audiences.includes(a)) ? T : F;
      const r = and3(iss, audOk);
      let text = defined.issuer === undefined
        ? `${defined.head}sets no Issuer, so RBAC wants an empty iss (the token's: ${tokenIss === undefined ? 'not recorded' : JSON.stringify(tokenIss)})`
        : `${defined.head}${defined.issuer} ${iss === T ? '=' : iss === F ? '≠' : 'vs'} the token's iss ${tokenIss === undefined ? '(not recorded)' : JSON.stringify(tokenIss)}`;
      if (defined.audiences) text += `; ${defined.audiences} ${audOk === T ? 'include' : 'include none of'} the token's aud ${JSON.stringify(aud)}`;
      trace.push({ text: text + defined.configuredNote, outcome: r === T ? 'matched' : r === F ? 'not-matched' : 'unknown', at: defined.ref });
      return r;
    }
    if (configured !== undefined) {
      const iss: Tri = tokenIss === undefined ? missAttr(view, 'request.jwt.issuer') : tokenIss === configured ? T : F;
      if (full) notes.push(`${name}: iss ${tokenIss === undefined ? 'not recorded' : JSON.stringify(tokenIss)} ${iss === T ? '=' : '≠'} ${JSON.stringify(configured)} (consul.jwtProviders; no jwt-provider entry in the workspace)`);
      return iss;
    }
    if (providers === 1) {
      // The token passed jwt_authn, which verifies it against this provider (issuer included).
      if (full) notes.push(`${name}: the token is taken to be ${name}'s (it passed jwt_authn, which checks the provider's issuer)`);
      return T;
    }
    return missAttr(view, `the Issuer of jwt-provider ${name} (no jwt-provider entry in the workspace, nor consul.jwtProviders)`);
  }

  // ---------------------------------------------------------------- explain

  private explainIdentity(trace: TraceStep[], caller: CallerInfo, s: Scenario): void {
    trace.push({ text: `caller: ${caller.desc}${caller.note ? `; ${caller.note}` : ''}; location ${s.loc === 'foreign' ? 'outside this cluster and its known peers' : s.loc.startsWith('peer:') ? `peer ${s.loc.slice(5)}` : `partition ${s.loc.slice(3)}`}${this.options.trustDomain ? ` (local trust domain ${this.options.trustDomain})` : ' (any trust domain is accepted for local sources)'}`, outcome: 'applies' });
    trace.push({ text: `listener: ${s.http ? 'HTTP (Envoy HTTP RBAC filter; L7 permissions and JWT apply)' : 'TCP (Envoy network RBAC filter; L7 intentions count as deny)'}; Envoy RBAC ${this.defaultAction === 'deny' ? 'ALLOW engine (allow-list)' : 'DENY engine (deny-list)'} because the default is ${this.defaultAction} (${this.options.defaultSource}; Consul takes the agent's default_intention_policy when set, otherwise acl.default_policy, which is allow when ACLs are disabled)`, outcome: 'applies' });
  }

  private explainSources(trace: TraceStep[], dc: DestCand, rb: DestRbac, s: Scenario, caller: CallerInfo, cands: Ixn[]): void {
    const inRb = new Set(rb.list.map((i) => i.cs.src));
    const dropped = new Map(rb.dropped.map((d) => [d.src, d.by]));
    for (const cs of dc.sorted) {
      const src = cs.src;
      const at = src.ref;
      const label = `${cs.title} (${src.describe}, precedence ${src.precedence})`;
      const by = dropped.get(src);
      if (by) {
        trace.push({ text: `${label}: dropped, the same source as the higher-precedence ${by.entry.label} ${by.label} (removeSameSourceIntentions)`, outcome: 'skipped', at });
        continue;
      }
      if (!inRb.has(src)) {
        const why = src.samenessGroup ? `sameness group ${src.samenessGroup} does not include the caller's ${s.loc.startsWith('peer:') ? 'peer' : 'partition'}`
          : src.peer ? s.loc.startsWith('peer:') ? `peer ${src.peer} ≠ peer ${s.loc.slice(5)}` : `peer ${src.peer}, but the caller is not from that peer`
          : s.loc.startsWith('peer:') ? `a local source, but the caller is from peer ${s.loc.slice(5)}`
          : s.loc === 'foreign' ? 'the caller\'s certificate is not from this cluster' : `partition ${src.partition} ≠ ${s.loc.slice(3)}`;
        trace.push({ text: `${label}: does not match (${why})`, outcome: 'not-matched', at });
        continue;
      }
      const ixn = rb.list.find((i) => i.cs.src === src)!;
      const isCand = cands.includes(ixn);
      if (!isCand) {
        const why = src.namespace !== '*' && src.namespace !== s.ns ? `namespace ${src.namespace} ≠ ${s.ns === OTHER ? '(another namespace)' : s.ns}` : `name ${src.name} ≠ ${caller.name}`;
        trace.push({ text: `${label}: does not match (${why})`, outcome: 'not-matched', at });
        continue;
      }
      const shadow = cands.find((o) => o.order < ixn.order && o.wild < ixn.wild);
      const retained = cs.l7 ? (s.http ? cs.perms.some((p) => p.rule.action !== this.defaultAction) : this.defaultAction !== 'deny') : cs.action !== this.defaultAction;
      if (shadow) trace.push({ text: `${label}: its pattern matches, but RBAC subtracts the narrower, higher-precedence ${shadow.cs.src.label} from it (removeSourcePrecedence)`, outcome: 'skipped', at });
      else trace.push({ text: `${label}: matches${retained ? '' : ` (in RBAC it is no policy of its own: its action equals the default, but its source is still subtracted from broader ones)`}`, outcome: 'matched', at });
      if (!shadow && cs.l7 && s.http) for (const p of cs.perms) trace.push({ text: `${p.label}${p.jwt ? `, JWT ${p.jwt.text}` : ''}`, outcome: 'applies', at: p.rule.ref });
    }
  }

  private explainCheck(trace: TraceStep[], first: Ixn | undefined, verdict: Verdict): void {
    let check: Action;
    let why: string;
    if (!first) {
      check = this.defaultAction;
      why = 'no intention matches';
    } else if (first.cs.l7) {
      check = 'deny';
      why = `${first.cs.src.label} is L7 (the endpoint answers Denied)`;
    } else {
      check = first.cs.action;
      why = `${first.cs.src.label} is the first matching intention`;
    }
    const same = (check === 'allow') === (verdict === 'allow');
    trace.push({ text: `consul intention check would answer ${check === 'allow' ? 'Allowed' : 'Denied'} (${why})${same ? '' : `, which disagrees with what the proxy does: ${verdict}`}`, outcome: 'applies', ...(first ? { at: first.cs.src.ref } : {}) });
  }
}

type JwtView = NonNullable<NonNullable<AccessRecord['request']>['jwt']>;

/** The token of a request whose log does not record it (`request.jwtUnknown`): any JWT condition on it is unknown. */
const TOKEN_NOT_RECORDED: JwtView = {};

/** Which listeners a call may reach: TCP, HTTP, or either when the record says neither. */
function protocolsOf(call: AccessRecord): Alt<boolean>[] {
  return call.protocol === 'tcp' ? ONLY_TCP : call.protocol ? ONLY_HTTP : call.request?.method !== undefined || call.request?.path !== undefined ? ONLY_HTTP : BOTH;
}

/** `raw` as the proxy hands it to RBAC under `n` (Envoy's rewriting, `preparePath`), into `out`. */
export function normalizePath(raw: string | undefined, n: Normalization, out: NormalizedPath): NormalizedPath {
  out.reject = undefined;
  out.note = undefined;
  if (raw === undefined || isPlainPath(raw, n.settings)) {
    out.fullPath = raw;
    out.path = raw;
    return out;
  }
  const prepared = preparePath(raw, n.settings);
  if (prepared.reject) out.reject = `${prepared.reject} (${n.from})`;
  if (prepared.note) out.note = `${prepared.note} (${n.from})`;
  out.fullPath = prepared.fullPath;
  out.path = prepared.path;
  return out;
}

/** The 400 for a header name with "_" when `n` says REJECT_REQUEST, else undefined. */
export function underscoreRejection(headers: Record<string, string> | undefined, n: Normalization): string | undefined {
  if (n.settings.headersWithUnderscoresAction !== 'REJECT_REQUEST' || !headers) return undefined;
  for (const name of Object.keys(headers)) if (name.includes('_')) return `a request header name contains "_" and HeadersWithUnderscoresAction is REJECT_REQUEST (${n.from})`;
  return undefined;
}

function compileJwt(req: JwtRequirement): CJwt {
  const text = req.providers.map((p) => `${p.name}${p.claims.length ? ` with ${p.claims.map((c) => `${c.path.join('.')}=${JSON.stringify(c.value)}`).join(' and ')}` : ''}`).join(' or ');
  return { req, text: `from ${text}` };
}

/**
 * Whether the token's claim at `path` is the string `value`, as the RBAC principal Consul builds
 * for a VerifyClaims entry reads it (agent/xds/rbac.go `segmentToPrincipal`: a metadata matcher
 * on the jwt_authn payload with a plain `string_match` exact). Envoy's string matcher matches only
 * a string value (envoy source/common/common/matchers.cc `StringMatcherImpl::match(const
 * ProtobufWkt::Value&)`): a list claim (`aud: ["a", "b"]`, `groups`), a number, a boolean or an
 * object never holds, even when it contains the value. `iss`, `sub`, `azp` fall back to the
 * record's issuer, subject and presenter; `aud` to its audiences, which do not say whether the
 * token's `aud` was a string or a list: one audience equal to the value is undecided.
 */
export function claimTri(jwt: JwtView, path: readonly string[], value: string, view?: RequestView): Tri {
  let cur: unknown = jwt.claims;
  for (let i = 0; i < path.length; i++) {
    const seg = path[i]!;
    let next: unknown = cur && typeof cur === 'object' && !Array.isArray(cur) ? (cur as Record<string, unknown>)[seg] : undefined;
    if (next === undefined && i === 0 && path.length === 1) {
      if (seg === 'iss') next = jwt.issuer;
      else if (seg === 'sub') next = jwt.subject;
      else if (seg === 'azp') next = jwt.presenter;
      else if (seg === 'aud' && jwt.audiences !== undefined) {
        // A one-element list or the string itself: the record cannot tell.
        if (jwt.audiences.length !== 1 || jwt.audiences[0] !== value) return F;
        return view ? missAttr(view, 'request.jwt.claims.aud') : U;
      }
    }
    cur = next;
    if (cur === undefined) return F;
  }
  return typeof cur === 'string' && cur === value ? T : F;
}

/** The jwt-provider definitions of `files` by name (identical copies once), and a digest of
 * them, places included (traces cite them). `configured`: `consul.jwtProviders`. */
function readJwtProviders(files: readonly SourceFile[], configured: ResolvedOptions['jwtProviders']): [Map<string, WorkspaceProvider>, string] {
  const byName = new Map<string, JwtProviderDefinition[]>();
  const digest: string[] = [];
  for (const file of new Set(files)) {
    for (const d of jwtProvidersIn(file)) {
      if (d.name === undefined) continue;
      const list = byName.get(d.name) ?? [];
      if (!list.some((o) => o.issuer === d.issuer && o.audiences.join('\u0000') === d.audiences.join('\u0000'))) list.push(d);
      byName.set(d.name, list);
    }
    const inFile = jwtProviderDigest(file);
    if (inFile) digest.push(inFile);
  }
  const providers = new Map<string, WorkspaceProvider>();
  for (const [name, defs] of byName) {
    const d = defs[0]!;
    if (defs.length > 1) {
      providers.set(name, { definition: undefined, ambiguity: `which definition of jwt-provider ${name} Consul holds (${defs.map(describeJwtProvider).join(', ')})` });
      continue;
    }
    const issuer = configured[name]?.issuer;
    providers.set(name, {
      definition: d,
      head: `JWT provider ${name}: ${describeJwtProvider(d)} `,
      issuer: d.issuer === undefined ? undefined : `Issuer ${JSON.stringify(d.issuer)}`,
      audiences: d.audiences.length ? `Audiences ${JSON.stringify(d.audiences)}` : '',
      configuredNote: issuer !== undefined && issuer !== d.issuer ? `; consul.jwtProviders.${name}.issuer ${JSON.stringify(issuer)} is not used: the workspace's entry defines the provider` : '',
      ref: { file: d.file.path, range: d.file.lines.range(d.span), label: `${d.kind} ${d.name ?? ''}`.trimEnd() },
    });
  }
  return [providers, digest.join('\n')];
}

/** The request normalization alternatives and a digest of the mesh entries of `files`, places
 * included (traces cite them). The workspace's entry wins over `consul.requestNormalization`
 * (`configured`), as a jwt-provider entry wins over `consul.jwtProviders`: it is what the
 * workspace gives Consul. Differing definitions are alternatives: which one Consul holds is open. */
function readMeshEntries(files: readonly SourceFile[], configured: RequestNormalization): [Alt<Normalization>[], string] {
  const defs: MeshEntryDefinition[] = [];
  const digest: string[] = [];
  for (const file of new Set(files)) {
    for (const d of meshEntriesIn(file)) if (!defs.some((o) => sameNormalization(o.normalization, d.normalization))) defs.push(d);
    const inFile = meshEntryDigest(file);
    if (inFile) digest.push(inFile);
  }
  const isConfigured = Object.keys(configured).length > 0;
  if (defs.length === 0) return [[{ value: { settings: configured, from: isConfigured ? 'request normalization: consul.requestNormalization' : 'request normalization: Consul\'s defaults' } }], ''];
  const unused = isConfigured ? '; consul.requestNormalization is not used: the workspace\'s mesh entry defines it' : '';
  if (defs.length === 1) return [[{ value: { settings: defs[0]!.normalization, from: `request normalization: ${describeMeshEntry(defs[0]!)}${unused}` } }], digest.join('\n')];
  const missing = `which mesh entry Consul holds (${defs.map(describeMeshEntry).join(', ')})`;
  return [defs.map((d) => ({ value: { settings: d.normalization, from: `request normalization: ${describeMeshEntry(d)}${unused}` }, missing, label: `if Consul holds ${describeMeshEntry(d)}` })), digest.join('\n')];
}

/** Whether two settings make the proxy treat every request alike (an unset field is its default). */
function sameNormalization(a: RequestNormalization, b: RequestNormalization): boolean {
  const escaped = (n: RequestNormalization): string => (n.pathWithEscapedSlashesAction ?? 'KEEP_UNCHANGED').replace('IMPLEMENTATION_SPECIFIC_DEFAULT', 'KEEP_UNCHANGED');
  return (a.insecureDisablePathNormalization ?? false) === (b.insecureDisablePathNormalization ?? false) && (a.mergeSlashes ?? false) === (b.mergeSlashes ?? false)
    && escaped(a) === escaped(b) && (a.headersWithUnderscoresAction ?? 'ALLOW') === (b.headersWithUnderscoresAction ?? 'ALLOW');
}

/** The token's `aud`: the record's audiences, else the `aud` claim (a string or a list). */
function tokenAudiences(jwt: JwtView): string[] {
  if (jwt.audiences) return jwt.audiences;
  const aud = jwt.claims?.['aud'];
  if (typeof aud === 'string') return [aud];
  return Array.isArray(aud) ? aud.filter((a): a is string => typeof a === 'string') : [];
}

function missAttr(view: RequestView, attr: string): Tri {
  if (!view.missing.includes(attr)) view.missing.push(attr);
  return U;
}

/** The one intention whose RBAC principal matches, when exactly one does: a candidate is
 * shadowed by an earlier (higher-precedence), narrower one (see `scenario`). */
function soleMatch(a: Ixn | undefined, b: Ixn | undefined, c: Ixn | undefined): Ixn | undefined {
  const standsA = stands(a, b, c);
  const standsB = stands(b, a, c);
  const standsC = stands(c, a, b);
  if (standsA) return standsB || standsC ? undefined : a;
  if (standsB) return standsC ? undefined : b;
  return standsC ? c : undefined;
}

/** `x` is a candidate that no earlier, narrower candidate shadows. */
function stands(x: Ixn | undefined, o: Ixn | undefined, p: Ixn | undefined): boolean {
  if (!x) return false;
  return !(o && o.order < x.order && o.wild < x.wild) && !(p && p.order < x.order && p.wild < x.wild);
}

function cmp(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/** Combines the verdicts of the alternatives a record leaves open (§4.0: when every possible
 * value gives the same verdict, that verdict stands; otherwise unknown). */
function combine(results: { s: Scenario; d: Decision }[], overflow: boolean): Decision {
  const first = results[0]!.d;
  const definite = results.every((r) => r.d.verdict !== 'unknown' && r.d.verdict === first.verdict);
  if (definite && !overflow) {
    if (results.length > 1) {
      // `first` may be shared with other calls (scenario): extend a copy.
      const open = [...new Set(results.flatMap((r) => r.s.missing))];
      return { ...first, trace: [...first.trace, { text: `the same verdict holds for every alternative the record and configuration leave open (${open.join('; ')})`, outcome: 'applies' }], alternatives: alternativesOf(results) };
    }
    return first;
  }
  const missing = new Set<string>();
  const trace: TraceStep[] = [];
  for (const r of results) {
    const differs = results.some((o) => o.d.verdict !== r.d.verdict) || r.d.verdict === 'unknown';
    if (differs) for (const m of r.s.missing) missing.add(m);
    for (const m of r.d.missing ?? []) missing.add(m);
  }
  const seen = new Set<string>();
  for (const r of results) {
    const text = `${r.s.labels.length ? r.s.labels.join(', ') : 'in this case'}: ${r.d.reason}`;
    if (seen.has(text)) continue;
    seen.add(text);
    trace.push({ text, outcome: r.d.verdict === 'unknown' ? 'unknown' : 'applies', ...(r.d.rule ? { at: r.d.rule } : r.d.policy ? { at: r.d.policy } : {}) });
  }
  if (overflow) missing.add('too many open alternatives to enumerate');
  const list = [...missing];
  const reason = `unknown: the verdict depends on ${list.join(', ')}`;
  trace.push({ text: reason, outcome: 'verdict' });
  return { verdict: 'unknown', mesh: 'consul', reason, trace, missing: list, ...(results.length > 1 ? { alternatives: alternativesOf(results) } : {}) };
}

function alternativesOf(results: { d: Decision }[]): DecisionAlternative[] {
  const seen = new Set<string>();
  const out: DecisionAlternative[] = [];
  const at = (r: SourceRef | undefined): string => (r ? `${r.file}\u0000${r.range.start.line}\u0000${r.range.start.character}` : '');
  for (const { d } of results) {
    const key = `${d.verdict}\u0000${at(d.policy)}\u0000${at(d.rule)}`;
    if (seen.has(key)) continue;
    seen.add(key);
    out.push({ verdict: d.verdict, ...(d.policy ? { policy: d.policy } : {}), ...(d.rule ? { rule: d.rule } : {}) });
  }
  return out;
}

/** Why Consul refuses an entry: its first problem, and how many more. */
function refusalReason(entry: IntentionEntry): string {
  const more = entry.problems.length > 1 ? ` and ${entry.problems.length - 1} more problem${entry.problems.length === 2 ? '' : 's'}` : '';
  return `Consul refuses to store it (${entry.problems[0]}${more})`;
}

/** The trace step of an entry Consul refuses to store: it is decided as if it did not exist. */
function refusedText(entry: IntentionEntry): string {
  return `${entry.label} is not in effect: ${refusalReason(entry)}, so the calls are decided as if it did not exist (the cluster keeps what it had before, which the workspace does not show)`;
}

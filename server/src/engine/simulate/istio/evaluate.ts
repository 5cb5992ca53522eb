import type { Inventory, WorkloadInfo } from '../../inventory/inventory';
import { InventoryIndex } from '../../inventory/inventoryIndex';
import { chooseWaypoint, isAmbient, isClassicGateway, isWaypointGateway, isWaypointPeer, sidecarInjected, waypointPrincipal } from '../../istio/ambient';
import { withoutSpiffe } from '../../istio/match';
import { httpOnlyProvider, unusableProvider } from '../../istio/meshConfig';
import type { IstioSettings } from '../../config/projectConfig';
import type { AccessRecord } from '../../traffic/accessRecord';
import type { CallFold, CompiledPolicies, AuditMark, Decision, Denier, PolicySet, ShadowMatch, ShadowVerdict, SourceRef, TraceStep, Verdict } from '../types';
import { gatewayNameOf, istioAttachesToWorkload, selectorAttach } from '../attachment';
import { Call, F, hasLowerCase, hasWhitespace, T, U, type Tri } from './call';
import {
  compileIstioResource,
  type Attachable, type CompiledPeerAuthentication, type CompiledPolicy, type CompiledRequestAuthentication,
  type CompiledRule, type JwtRule, type MtlsMode, type RuleMatcher,
} from './compile';
import { ENVOY_REFUSES, ISTIOD_SKIPS, type Field } from './fields';
import { IstioFold } from './fold';
import type { PathNormalization } from './path';

/** Where a policy is enforced for a call (spec §1.2, §1.7). */
export type LayerKind = 'sidecar' | 'ztunnel' | 'gateway' | 'waypoint';

/** An AuthorizationPolicy that attaches at an enforcement point (`enforcementPoints`). */
export interface AttachedPolicy {
  policy: CompiledPolicy;
  /** False when it may attach: what decides is not known (labels, a ServiceEntry's hosts). */
  certain: boolean;
  /** How it attaches here, in words. */
  how: string;
  /** Why the enforcement point does not enforce it although it attaches (ztunnel: AUDIT, CUSTOM, dry-run). */
  ignored?: string;
}

/** One proxy a call to a destination passes, with the policies that attach there. */
export interface EnforcementPoint {
  kind: LayerKind;
  /** Which proxy, and why: "ztunnel (ambient: ...)", "the waypoint ns/name (Service ... has istio.io/use-waypoint=...)". */
  why: string;
  policies: AttachedPolicy[];
  /** Policies that would attach here but that the API server does not admit (`rejected` says why). */
  rejected: CompiledPolicy[];
  /** Whether the inventory says this proxy runs (sidecar injection, ambient, a gateway), rather than assumed. */
  known: boolean;
  /** The mTLS mode PeerAuthentication gives this proxy (spec §1.8); undefined where it does not
   * govern the listener (a gateway, a waypoint: the peer identity is the caller's own mTLS, if any). */
  peerAuthentication: PeerAuthenticationAt | undefined;
  /** The RequestAuthentications that attach here (spec §1.8: merged; at ztunnel, attached but not enforced). */
  requestAuthentications: AttachedRequestAuthentication[];
}

/** An effective mTLS mode, for every port of a workload or one port. */
export interface PeerModeAnswer {
  /** The mode, or the modes it may be when what decides is not known (the workload's labels). */
  modes: Exclude<MtlsMode, 'UNSET'>[];
  /** The PeerAuthentication that sets it (undefined: none does, or which one is not known). */
  by: CompiledPeerAuthentication | undefined;
  /** Where `by` sits: a workload selector, its namespace, the root namespace (mesh-wide). */
  level: 'workload' | 'namespace' | 'mesh' | undefined;
  /** In words, as the trace says it. */
  text: string;
}

/** What PeerAuthentication decides at one proxy (ComposePeerAuthentication, spec §1.8). */
export interface PeerAuthenticationAt {
  /** Every port no portLevelMtls entry of the workload's own policy names. */
  workload: PeerModeAnswer;
  /** The ports a workload-level policy's portLevelMtls names, in port order. */
  ports: { port: number; mode: PeerModeAnswer }[];
  /** PeerAuthentications Istio ignores although they select the workload (a selector in the root namespace). */
  ignored: CompiledPeerAuthentication[];
  /** PeerAuthentications that would apply here but are not admitted (`rejected` says why). */
  rejected: CompiledPeerAuthentication[];
  /** Set when the proxy reads a mode otherwise than written (ztunnel: DISABLE is not supported). */
  note: string | undefined;
}

/** Where Istio reads a PeerAuthentication (spec §1.8): a workload selector, its namespace, the root namespace (mesh-wide); or not at all: a selector in the root namespace (`ignored`), not admitted (`rejected`). */
export type PeerLevel = 'workload' | 'namespace' | 'mesh' | 'ignored' | 'rejected';

/** What PeerAuthentication does to one call at the proxy it governs (`authenticationOf`). */
export interface CallPeerAuthentication {
  kind: LayerKind;
  /** The modes the proxy enforces; several when what decides is not recorded. */
  modes: Exclude<MtlsMode, 'UNSET'>[];
  /** The PeerAuthentication that sets the mode, when one does and the answer is definite. */
  by: CompiledPeerAuthentication | undefined;
  /** The port whose portLevelMtls entry of `by` sets the mode. */
  port: number | undefined;
  /** When definite: the PeerAuthentications read, narrowest first, down to `by` (those before it are UNSET and inherit). */
  chain: readonly CompiledPeerAuthentication[];
  /** When not: every PeerAuthentication one of the possible answers reads. */
  maybe: readonly CompiledPeerAuthentication[];
  /** Admitted PeerAuthentications that select the workload but are not read for this call (a narrower or older one of the same level decides); empty when the answer is not definite. */
  passedOver: CompiledPeerAuthentication[];
  /** How the call came, as logged: with a peer identity (mutual TLS), plaintext, or the log does not say. */
  arrival: 'mtls' | 'plaintext' | 'not-logged';
  /** PeerAuthentications that select the workload but that Istio does not read: a selector in the root namespace (`ignored`), not admitted (`rejected`). */
  ignored: CompiledPeerAuthentication[];
  rejected: CompiledPeerAuthentication[];
}

/** What the RequestAuthentications attached at one proxy do with a call's token (`authenticationOf`). */
export interface CallTokenCheck {
  kind: LayerKind;
  /** The RequestAuthentications that attach there; `maybe`: may attach (the workload's labels are not known). */
  certain: CompiledRequestAuthentication[];
  maybe: CompiledRequestAuthentication[];
  /** `invalid`: rejected with 401 before authorization (`reason` says why); `absent`: no token,
   * let through with no request identity; `unknown`: the log lacks what validation reads. */
  check: 'valid' | 'invalid' | 'absent' | 'unknown';
  reason?: string;
}

export interface CallAuthentication {
  /** Undefined where PeerAuthentication governs no listener the call reaches (a gateway). */
  peer: CallPeerAuthentication | undefined;
  /** Per proxy with RequestAuthentications that validates tokens, in the order the call passes; none for a TCP call. */
  tokens: CallTokenCheck[];
}

/** A RequestAuthentication that attaches at an enforcement point. */
export interface AttachedRequestAuthentication {
  policy: CompiledRequestAuthentication;
  /** False when it may attach: the workload's labels are not known. */
  certain: boolean;
  /** Why the proxy validates no token although it attaches (ztunnel: L4 only). */
  ignored?: string;
}
type Variant = 'http' | 'tcp' | 'zt';

interface Bucket {
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
interface PeerIndex {
  byPeer: Map<string, CompiledPolicy[]>;
  others: CompiledPolicy[];
}

function bucket(): Bucket {
  return { all: [], custom: [], deny: [], allow: [], audit: [], dryDeny: [], dryAllow: [], denyByPeer: null, allowByPeer: null };
}

// Compiled policies are shared from one compile to the next and never change (compiledForms.ts):
// what is derived from them alone is kept with them.
const requiredPeersOf = new WeakMap<CompiledPolicy, Set<string> | null>();
/** Per policy, the last list it came first in and that list's index. */
const peerIndexes = new WeakMap<CompiledPolicy, { list: CompiledPolicy[]; index: PeerIndex | null }>();

/** The exact peer identities a policy can match, or null when some rule does not pin them down. */
function requiredPeers(p: CompiledPolicy): Set<string> | null {
  let peers = requiredPeersOf.get(p);
  if (peers === undefined) requiredPeersOf.set(p, (peers = computeRequiredPeers(p)));
  return peers;
}

function computeRequiredPeers(p: CompiledPolicy): Set<string> | null {
  const peers = new Set<string>();
  for (const rule of p.rules) {
    for (const m of [rule.http, rule.tcp, rule.zt]) {
      if (m === null) continue;
      if (m.from === null) return null;
      for (const entry of m.from) {
        let values: string[] | null = null;
        for (const field of entry) if ((values = field.requiredPeers()) !== null) break;
        if (values === null) return null;
        for (const v of values) peers.add(v);
      }
    }
  }
  return peers;
}

/** A list of policies equal to one indexed in an earlier compile (the same forms in the same order) keeps its index. */
function peerIndex(list: CompiledPolicy[]): PeerIndex | null {
  if (list.length < 2) return null;
  const kept = peerIndexes.get(list[0]!);
  if (kept && kept.list.length === list.length && kept.list.every((p, i) => p === list[i])) return kept.index;
  const index = computePeerIndex(list);
  peerIndexes.set(list[0]!, { list, index });
  return index;
}

function computePeerIndex(list: CompiledPolicy[]): PeerIndex | null {
  const required = list.map(requiredPeers);
  if (required.every((r) => r === null)) return null;
  const others = list.filter((_, i) => required[i] === null);
  const byPeer = new Map<string, CompiledPolicy[]>();
  for (const peers of required) for (const peer of peers ?? []) byPeer.set(peer, list.filter((_, i) => required[i] === null || required[i]!.has(peer)));
  return { byPeer, others };
}

function indexBucket(b: Bucket): void {
  b.denyByPeer = peerIndex(b.deny);
  b.allowByPeer = peerIndex(b.allow);
}

/** The part of a deny or allow list worth evaluating for the call (every other policy is F). */
function forPeer(list: CompiledPolicy[], index: PeerIndex | null, c: Call): CompiledPolicy[] {
  if (index === null || c.peerMissing !== null) return list;
  const peer = c.peer;
  return peer === null ? index.others : index.byPeer.get(peer) ?? index.others;
}

const EMPTY_BUCKET = bucket();

/** The destination of a call as far as attachment needs it. */
interface Dest {
  ns: string | undefined;
  workload: string | undefined;
  service: string | undefined;
  labels: Record<string, string> | undefined;
  labelsFrom: string;
  kind: LayerKind;
  /** Why `kind` was chosen, for the trace. */
  kindWhy: string;
  gatewayName: string | undefined;
  /** A classic (label-selected) ingress/egress gateway: PeerAuthentication does not govern it. */
  classic: boolean;
  /** The inventory says the pod runs a sidecar (injection label/annotation). */
  sidecarKnown: boolean;
  /** A waypoint in front of the destination's Service (ambient), enforcing targetRefs policies first. */
  waypoint: { name: string | undefined; ns: string; why: string } | null;
}

/** The result of one enforcement point. */
interface Outcome {
  verdict: Verdict;
  policy: SourceRef | undefined;
  rule: SourceRef | undefined;
  reason: string;
  step: TraceStep;
  status: number | undefined;
  missing: string[] | undefined;
  deniedBy: Denier | undefined;
}

/** Non-targeted policies of one namespace, indexed by their selector so that attachment is a
 * few map lookups per call. */
interface Scope {
  /** No selector, or empty matchLabels. */
  always: Bucket | null;
  /** Label keys of single-label selectors, and per key: value → bucket. */
  keys: string[];
  single: Map<string, Map<string, Bucket>>;
  /** Selectors with several labels, one bucket per distinct selector. */
  multi: { selector: [string, string][]; bucket: Bucket }[];
}

class Tracer {
  readonly steps: TraceStep[] = [];
  add(text: string, outcome: TraceStep['outcome'], at?: SourceRef): void {
    this.steps.push(at ? { text, outcome, at } : { text, outcome });
  }
}

interface IstioOptions {
  rootNamespace: string;
  trustDomain: string;
  trustDomainAliases: string[];
  normalization: PathNormalization;
  /** The extension providers and where they were read (undefined: the mesh config is unknown). */
  mesh: Pick<IstioSettings, 'extensionProviders' | 'meshConfig'>;
}

const RECORD_GAP = 'attributes the record does not carry';
/** Ends a `missing` entry that the inventory, not the record, lacks. */
const NOT_IN_INVENTORY = ' (not in the inventory)';

const NORMALIZATIONS = new Set<PathNormalization>(['NONE', 'BASE', 'MERGE_SLASHES', 'DECODE_AND_MERGE_SLASHES']);

/** Mesh options: the contract's config gives root namespace, trust domain and its aliases, and the
 * path normalization (`config.istio.pathNormalization`: `.meshpolicy.yaml`'s, else the workspace's
 * mesh config's `pathNormalization.normalization`), else Istio's default, BASE. */
function optionsOf(policies: PolicySet): IstioOptions {
  const istio = (policies.config?.istio ?? {}) as { rootNamespace?: string; trustDomain?: string; trustDomainAliases?: unknown; pathNormalization?: unknown; extensionProviders?: unknown; meshConfig?: unknown };
  const aliases = Array.isArray(istio.trustDomainAliases) ? istio.trustDomainAliases.filter((a): a is string => typeof a === 'string') : [];
  const normalization = typeof istio.pathNormalization === 'string' && NORMALIZATIONS.has(istio.pathNormalization.toUpperCase() as PathNormalization)
    ? istio.pathNormalization.toUpperCase() as PathNormalization
    : istio.pathNormalization === 'DEFAULT' ? 'BASE' : 'BASE';
  return {
    rootNamespace: istio.rootNamespace || 'istio-system',
    trustDomain: istio.trustDomain || 'cluster.local',
    trustDomainAliases: aliases,
    normalization,
    mesh: {
      ...(Array.isArray(istio.extensionProviders) ? { extensionProviders: istio.extensionProviders as IstioSettings['extensionProviders'] } : {}),
      ...(typeof istio.meshConfig === 'string' ? { meshConfig: istio.meshConfig } : {}),
    },
  };
}

const MODE_BIT: Record<Exclude<MtlsMode, 'UNSET'>, number> = { STRICT: 1, PERMISSIVE: 2, DISABLE: 4 };

interface PeerModes {
  /** Bit set of possible effective modes (STRICT 1, PERMISSIVE 2, DISABLE 4). */
  modes: number;
  /** The PeerAuthentication that decided, when one did and the answer is definite. */
  by: CompiledPeerAuthentication | undefined;
  text: string;
  missing: string | undefined;
  /** When the answer is definite: the PeerAuthentications read for it, narrowest first (a
   * workload's, its namespace's, the mesh-wide one), down to the one that sets the mode; the
   * UNSET ones before it inherit. */
  chain: readonly CompiledPeerAuthentication[];
  /** When it is not: every PeerAuthentication one of the possible answers reads. */
  maybe: readonly CompiledPeerAuthentication[];
  /** The port whose portLevelMtls entry (of `chain[0]`) sets the mode. */
  port: number | undefined;
}

function showLabels(labels: Record<string, string>): string {
  const entries = Object.entries(labels);
  return entries.length === 0 ? '(none)' : entries.map(([k, v]) => `${k}=${v}`).join(', ');
}

function showSelector(selector: [string, string][]): string {
  return selector.length === 0 ? 'matchLabels {}' : selector.map(([k, v]) => `${k}=${v}`).join(', ');
}

/**
 * The compiled Istio policies of a workspace. `decide` returns a decision with a one-step trace
 * (the deciding step) and is built for throughput; `explain` returns the same decision with the
 * full walkthrough: the destination, every policy that applies or not and why, per rule the
 * first field that failed, PeerAuthentication and RequestAuthentication effects, and the verdict.
 */
export class IstioCompiledPolicies implements CompiledPolicies {
  private readonly options: IstioOptions;
  private readonly trustBundle: string[];
  private readonly policies: CompiledPolicy[] = [];
  private readonly peerAuths: CompiledPeerAuthentication[] = [];
  /** The admitted RequestAuthentications (those Istio refuses to store are only in `refused`). */
  private readonly requestAuths: CompiledRequestAuthentication[] = [];
  /** Every resource Istio refuses to store (`rejected`), in document order. */
  private readonly refused: (CompiledPolicy | CompiledPeerAuthentication | CompiledRequestAuthentication)[] = [];
  /** Policies without targetRefs, by namespace. */
  private readonly byNamespace = new Map<string, Bucket>();
  /** Policies with targetRefs, by namespace. */
  private readonly targetedByNamespace = new Map<string, Bucket>();
  private readonly requestAuthByNamespace = new Map<string, CompiledRequestAuthentication[]>();
  /** PeerAuthentication: mesh level (root namespace, no selector), namespace level, workload level. */
  private readonly meshPeer: CompiledPeerAuthentication[] = [];
  private readonly namespacePeer = new Map<string, CompiledPeerAuthentication[]>();
  private readonly workloadPeer = new Map<string, CompiledPeerAuthentication[]>();
  private readonly ignoredPeer: CompiledPeerAuthentication[] = [];
  /** PeerAuthentications the API server does not admit (a mode outside the enum): they set nothing. */
  private readonly rejectedPeer: CompiledPeerAuthentication[] = [];
  /** Each PeerAuthentication's level, as filed above. */
  private readonly peerLevels = new Map<CompiledPeerAuthentication, PeerLevel>();
  private readonly inventory: Inventory;
  private readonly inventoryIndex: InventoryIndex;
  private readonly workloads = new Map<string, Map<string, WorkloadInfo | null>>();
  /** Per `namespace, service, sidecar known`: the waypoint a call to that Service passes (null: none). */
  private readonly serviceWaypoints = new Map<string, Dest['waypoint']>();
  private readonly customVerdicts: Record<string, 'allow' | 'deny'>;
  /** Per provider named by a CUSTOM policy, why istiod cannot use it (the mesh config lacks it ...): its policies' rules become DENY rules. */
  private readonly badProviders = new Map<string, string>();
  /** Providers the mesh config declares as envoyExtAuthzHttp: skipped on a TCP filter chain. */
  private readonly httpOnlyProviders = new Set<string>();
  private readonly call = new Call();
  /** The waypoint the last `resolveCallDest` found the caller to be (its own connection to the pod), or null. */
  private hop: Dest['waypoint'] = null;
  private readonly dest: Dest = {
    ns: undefined, workload: undefined, service: undefined, labels: undefined, labelsFrom: '', kind: 'sidecar', kindWhy: '',
    gatewayName: undefined, classic: false, sidecarKnown: false, waypoint: null,
  };
  /** Non-targeted policies per namespace, indexed by selector. */
  private readonly scopes = new Map<string, Scope>();
  /** Policies targeting a Gateway API Gateway: namespace → gateway name → bucket. */
  private readonly gatewayTargets = new Map<string, Map<string, Bucket>>();
  /** The inventory's ServiceEntries' hosts, by `namespace/name`. */
  private readonly serviceEntryHosts = new Map<string, readonly string[]>();
  private readonly groups: Bucket[] = [];
  private readonly groupAttach: Tri[] = [];
  private nGroups = 0;
  private layerAudited: AuditMark[] | undefined = undefined;
  private layerShadow: ShadowVerdict[] | undefined;
  private readonly peerCache = new Map<string, PeerModes>();
  /** Whether any policy outside the root namespace exists (a call without a namespace is then unknown). */
  private readonly outsideRoot: boolean;
  /** Whether the kind of enforcement point (sidecar, gateway, waypoint, ztunnel) can change a decision. */
  private readonly needsKind: boolean;
  private readonly anyCustom: boolean;
  private readonly anyAudit: boolean;
  private readonly anyDryRun: boolean;
  /** The rule that made the last policyMatch() true. */
  private hitRule: CompiledRule | undefined;

  constructor(set: PolicySet) {
    this.options = optionsOf(set);
    this.trustBundle = [this.options.trustDomain, ...this.options.trustDomainAliases.filter((a) => a !== this.options.trustDomain)];
    this.inventory = set.inventory;
    for (const e of set.inventory.serviceEntries ?? []) if (!this.serviceEntryHosts.has(`${e.namespace}/${e.name}`)) this.serviceEntryHosts.set(`${e.namespace}/${e.name}`, e.hosts);
    this.inventoryIndex = InventoryIndex.of(set.inventory);
    this.customVerdicts = set.customProviderVerdicts ?? set.config.istio.customProviderVerdicts ?? {};
    this.call.normalization = this.options.normalization;
    let order = 0;
    for (const { file, resource } of set.resources) {
      if (resource.mesh !== 'istio') continue;
      order++;
      const form = compileIstioResource(file, resource, order, this.trustBundle, set.forms);
      if (form?.kind === 'AuthorizationPolicy') this.policies.push(form);
      else if (form?.kind === 'PeerAuthentication') this.peerAuths.push(form);
      else if (form?.kind === 'RequestAuthentication' && !form.rejected) this.requestAuths.push(form);
      if (form?.rejected) this.refused.push(form);
    }
    for (const p of this.policies) {
      if (p.rejected) continue;
      const map = p.targetRefs ? this.targetedByNamespace : this.byNamespace;
      let b = map.get(p.namespace);
      if (!b) map.set(p.namespace, (b = bucket()));
      addToBucket(b, p);
      if (p.targetRefs) {
        const names = new Set(p.targetRefs.filter((r) => r.group === 'gateway.networking.k8s.io' && r.kind === 'Gateway' && (r.namespace === undefined || r.namespace === p.namespace)).map((r) => r.name));
        for (const name of names) {
          let byName = this.gatewayTargets.get(p.namespace);
          if (!byName) this.gatewayTargets.set(p.namespace, (byName = new Map()));
          let gb = byName.get(name);
          if (!gb) byName.set(name, (gb = bucket()));
          addToBucket(gb, p);
        }
        continue;
      }
      let scope = this.scopes.get(p.namespace);
      if (!scope) this.scopes.set(p.namespace, (scope = { always: null, keys: [], single: new Map(), multi: [] }));
      const selector = p.selector;
      if (selector === null || selector.length === 0) addToBucket((scope.always ??= bucket()), p);
      else if (selector.length === 1) {
        const [key, value] = selector[0]!;
        let byValue = scope.single.get(key);
        if (!byValue) { scope.single.set(key, (byValue = new Map())); scope.keys.push(key); }
        let vb = byValue.get(value);
        if (!vb) byValue.set(value, (vb = bucket()));
        addToBucket(vb, p);
      } else {
        const signature = JSON.stringify([...selector].sort());
        let group = scope.multi.find((m) => JSON.stringify([...m.selector].sort()) === signature);
        if (!group) scope.multi.push((group = { selector, bucket: bucket() }));
        addToBucket(group.bucket, p);
      }
    }
    for (const scope of this.scopes.values()) {
      if (scope.always) indexBucket(scope.always);
      for (const byValue of scope.single.values()) for (const b of byValue.values()) indexBucket(b);
      for (const group of scope.multi) indexBucket(group.bucket);
    }
    for (const byName of this.gatewayTargets.values()) for (const b of byName.values()) indexBucket(b);
    const root = this.options.rootNamespace;
    this.outsideRoot = [...this.policies, ...this.peerAuths, ...this.requestAuths].some((p) => p.namespace !== root && !p.rejected);
    for (const r of this.requestAuths) {
      let list = this.requestAuthByNamespace.get(r.namespace);
      if (!list) this.requestAuthByNamespace.set(r.namespace, (list = []));
      list.push(r);
    }
    const admitted = this.policies.filter((p) => !p.rejected);
    this.anyCustom = admitted.some((p) => p.action === 'CUSTOM');
    for (const p of admitted) {
      if (p.action !== 'CUSTOM' || p.provider === undefined) continue;
      const bad = unusableProvider(this.options.mesh, p.provider);
      if (bad !== undefined) this.badProviders.set(p.provider, bad);
      else if (httpOnlyProvider(this.options.mesh, p.provider)) this.httpOnlyProviders.add(p.provider);
    }
    this.anyAudit = admitted.some((p) => p.action === 'AUDIT');
    this.anyDryRun = admitted.some((p) => p.dryRun);
    this.needsKind = set.inventory.present || this.peerAuths.some((pa) => !pa.rejected) || admitted.some((p) => p.targetRefs) || this.requestAuths.some((r) => r.targetRefs);
    const oldestFirst = (a: Attachable, b: Attachable) => (a.created && b.created && a.created !== b.created ? (a.created < b.created ? -1 : 1) : a.order - b.order);
    for (const pa of [...this.peerAuths].sort(oldestFirst)) {
      const root = pa.namespace === this.options.rootNamespace;
      const workloadLevel = pa.selector !== null && pa.selector.length > 0;
      const level: PeerLevel = pa.rejected ? 'rejected' : workloadLevel && root ? 'ignored' : workloadLevel ? 'workload' : root ? 'mesh' : 'namespace';
      this.peerLevels.set(pa, level);
      if (level === 'rejected') this.rejectedPeer.push(pa);
      else if (level === 'ignored') this.ignoredPeer.push(pa);
      else if (level === 'workload') push(this.workloadPeer, pa.namespace, pa);
      else if (level === 'mesh') this.meshPeer.push(pa);
      else push(this.namespacePeer, pa.namespace, pa);
    }
  }

  decide(call: AccessRecord): Decision {
    return this.run(call, null);
  }

  /** The resources Istio refuses to store (the API server's schema or istiod's validating webhook, spec §1.9.2, §1.9.4), which decide nothing. */
  notInEffect(): readonly { ref: SourceRef; reason: string }[] {
    return this.refused.map((r) => ({ ref: r.ref, reason: r.rejected! }));
  }

  globals(): string {
    return `needsKind=${this.needsKind} outsideRoot=${this.outsideRoot}`;
  }

  fold(): CallFold {
    return new IstioFold(this, this.options.normalization);
  }

  /**
   * What the policies may read of a call to `rec`'s destination, whatever else the call records:
   * the fields of every policy of every group that attaches, certainly or maybe, at each
   * enforcement point of that destination, in every rule form (HTTP, TCP, ztunnel), and whether
   * a RequestAuthentication may apply there (then the token decides), and whether mTLS modes
   * are set per port. Reads only the record's
   * destination namespace, workload, Service and labels (and the inventory about them), like
   * the attachment of `decide`. What the fold (`fold.ts`) keeps of a call. `fromWaypoint` tells
   * the destination's waypoint by its identity: its own calls skip it (`decideAs`).
   */
  destinationReads(rec: AccessRecord): { fields: Field[]; requestAuthentication: boolean; portLevelMtls: boolean; fromWaypoint: ((principal: string) => boolean) | null } {
    const d = this.resolveDest(rec);
    const waypoint = d.waypoint;
    const fromWaypoint = waypoint !== null && waypoint.name !== undefined ? (principal: string): boolean => this.fromWaypoint(principal, waypoint) : null;
    const fields = new Set<Field>();
    const add = (entries: Field[][] | null): void => { if (entries) for (const list of entries) for (const f of list) fields.add(f); };
    for (const kind of d.waypoint ? ['waypoint' as const, d.kind] : [d.kind]) {
      this.collectGroups(kind, d);
      for (let g = 0; g < this.nGroups; g++) {
        for (const p of this.groups[g]!.all) {
          for (const rule of p.rules) {
            for (const m of [rule.http, rule.tcp, rule.zt]) {
              if (m === null) continue;
              add(m.from);
              add(m.to);
              for (const f of m.when) fields.add(f);
            }
          }
        }
      }
    }
    const requestAuthentication = [d.ns, d.waypoint?.ns, this.options.rootNamespace].some((ns) => ns !== undefined && this.requestAuthByNamespace.has(ns));
    // Port-level mTLS reads the port itself (a PeerAuthentication's portLevelMtls).
    const portLevelMtls = this.peerAuths.some((pa) => pa.ports.size > 0);
    return { fields: [...fields], requestAuthentication, portLevelMtls, fromWaypoint };
  }

  /**
   * The proxies a call to `destination` passes, in the order it passes them (its waypoint
   * first, then its own sidecar, gateway or ztunnel), each with the AuthorizationPolicies that
   * attach there, as `decide` attaches them (spec §1.2). What `mesh-policy authz` lists.
   */
  enforcementPoints(destination: NonNullable<AccessRecord['destination']>): EnforcementPoint[] {
    const d = this.resolveDest({ destination });
    const points: EnforcementPoint[] = [];
    for (const kind of d.waypoint ? ['waypoint' as const, d.kind] : [d.kind]) {
      const policies: AttachedPolicy[] = [];
      for (const b of this.computeCandidates(kind, d)) {
        for (const p of b.all) {
          const a = this.attach(p, kind, d);
          if (a === F) continue;
          const ignored = kind === 'ztunnel' ? ztunnelIgnores(p) : undefined;
          policies.push({ policy: p, certain: a === T, how: this.attachText(p, kind, d, a), ...(ignored ? { ignored } : {}) });
        }
      }
      const candidateNamespaces = new Set([d.ns, this.options.rootNamespace, ...(kind === 'waypoint' ? [d.waypoint?.ns] : [])]);
      const rejected = this.policies.filter((p) => p.rejected !== undefined && candidateNamespaces.has(p.namespace) && this.wouldAttach(p, kind, d));
      const waypoint = d.waypoint;
      const why = kind === 'waypoint' && waypoint ? `the waypoint ${waypoint.name ? `${waypoint.ns}/${waypoint.name}` : `of Service ${d.ns}/${d.service}`} (${waypoint.why})` : d.kindWhy;
      const requestAuthentications: AttachedRequestAuthentication[] = [];
      this.forEachRequestAuthentication(kind, d, (ra, attach) => requestAuthentications.push({
        policy: ra, certain: attach === T, ...(kind === 'ztunnel' ? { ignored: 'ztunnel validates no token (L4 only)' } : {}),
      }));
      const peerAuthentication = this.peerAuthenticationGoverns(kind, d) ? this.peerAuthenticationAt(kind, d) : undefined;
      points.push({ kind, why, policies, rejected, known: kind !== 'sidecar' || d.sidecarKnown || d.classic, peerAuthentication, requestAuthentications });
    }
    return points;
  }

  /**
   * What PeerAuthentication and RequestAuthentication do to one call (spec §1.8), by the same
   * composition and token check as `decide`, whatever the AuthorizationPolicies then decide:
   * what the editor's lenses over those resources count. Reads of the record only its
   * destination's namespace, workload, Service, labels and port, the caller's principal (or that
   * it is not logged), the protocol (or whether it has request fields) and the token.
   */
  authenticationOf(rec: AccessRecord): CallAuthentication {
    const d = this.resolveCallDest(rec);
    const kinds: LayerKind[] = d.waypoint ? ['waypoint', d.kind] : [d.kind];
    const own = kinds[kinds.length - 1]!;
    let peer: CallPeerAuthentication | undefined;
    if (this.peerAuthenticationGoverns(own, d)) {
      const selects = (pa: CompiledPeerAuthentication): boolean => this.attach(pa, 'sidecar', d) === T;
      const principal = recordPrincipal(rec);
      // Behind a waypoint, ztunnel is reached over the waypoint's own mutual TLS (evaluateLayer).
      let arrival: CallPeerAuthentication['arrival'] = own === 'ztunnel' && d.waypoint ? 'mtls' : principal !== null ? 'mtls' : rec.source?.principalUnknown === true ? 'not-logged' : 'plaintext';
      const pm = this.peerModes(d, rec.destination?.port);
      const enforced = modesAt(own, pm.modes);
      // (an identity inferred from the inventory goes as plaintext where mTLS is DISABLE: auto mTLS)
      if (arrival === 'mtls' && inferredUnderDisable(enforced, rec)) arrival = 'plaintext';
      peer = {
        kind: own,
        modes: (['STRICT', 'PERMISSIVE', 'DISABLE'] as const).filter((m) => enforced & MODE_BIT[m]),
        by: pm.by,
        port: pm.port,
        chain: pm.chain,
        maybe: pm.maybe,
        arrival,
        passedOver: pm.chain.length || pm.maybe.length === 0 ? this.passedOver(d, pm.chain) : [],
        ignored: this.ignoredPeer.filter(selects),
        rejected: this.rejectedPeer.filter(selects),
      };
    }
    const req = rec.request;
    const http = rec.protocol !== undefined ? rec.protocol !== 'tcp' : req !== undefined && (req.method !== undefined || req.path !== undefined || req.host !== undefined);
    // A sidecar refuses a plaintext call under STRICT in the TLS handshake, before any HTTP filter
    // reads a token (behind a waypoint the tokens are read at the waypoint, before ztunnel).
    const refusedFirst = peer !== undefined && kinds.length === 1 && peer.arrival === 'plaintext' && peer.modes.length === 1 && peer.modes[0] === 'STRICT';
    const tokens: CallTokenCheck[] = [];
    if (http && !refusedFirst) {
      const c = this.call;
      for (const kind of kinds) {
        if (kind === 'ztunnel') continue;
        const certain: CompiledRequestAuthentication[] = [];
        const maybe: CompiledRequestAuthentication[] = [];
        this.forEachRequestAuthentication(kind, d, (ra, attach) => (attach === T ? certain : maybe).push(ra));
        if (!certain.length && !maybe.length) continue;
        c.reset(rec, true);
        const rejected = this.requestAuthentication(kind, d, c, null);
        const check: CallTokenCheck['check'] = rejected ? 'invalid' : !req?.jwt && req?.jwtUnknown !== true ? 'absent' : c.jwtState === 1 ? 'valid' : 'unknown';
        tokens.push({ kind, certain, maybe, check, ...(rejected ? { reason: rejected.reason } : {}) });
        // (a 401 here: the call goes no further)
        if (rejected) break;
      }
    }
    return { peer, tokens };
  }

  /** The workspace's PeerAuthentications, each with the level Istio reads it at (spec §1.8) or why it reads it not, and its RequestAuthentications. */
  authenticationResources(): { peer: { policy: CompiledPeerAuthentication; level: PeerLevel }[]; request: readonly CompiledRequestAuthentication[] } {
    return { peer: this.peerAuths.map((policy) => ({ policy, level: this.peerLevels.get(policy)! })), request: this.requestAuths };
  }

  /** The admitted PeerAuthentications of each level that select the destination but that a definite composition does not read (`chain`): a narrower or older one decides. */
  private passedOver(d: Dest, chain: readonly CompiledPeerAuthentication[]): CompiledPeerAuthentication[] {
    const ns = d.ns;
    const selecting = [
      ...(ns === undefined ? [] : (this.workloadPeer.get(ns) ?? []).filter((pa) => this.attach(pa, 'sidecar', d) === T)),
      ...(ns === undefined || ns === this.options.rootNamespace ? [] : this.namespacePeer.get(ns) ?? []),
      ...this.meshPeer,
    ];
    return selecting.filter((pa) => !chain.includes(pa));
  }

  /** The listing's view of `computePeerModes`: the mode of the workload's ports, and of each port portLevelMtls names. */
  private peerAuthenticationAt(kind: LayerKind, d: Dest): PeerAuthenticationAt {
    let disableRead = false;
    const answer = (port: number): PeerModeAnswer => {
      const pm = this.peerAuths.length ? this.computePeerModes(d, port) : NO_PEER_AUTHENTICATION;
      const enforced = modesAt(kind, pm.modes);
      if (enforced !== pm.modes) disableRead = true;
      const modes = (['STRICT', 'PERMISSIVE', 'DISABLE'] as const).filter((m) => enforced & MODE_BIT[m]);
      // (the policy that sets a mode is admitted and read: its level is one of the three)
      const level = pm.by === undefined ? undefined : (this.peerLevels.get(pm.by) as 'workload' | 'namespace' | 'mesh');
      return { modes, by: pm.by, level, text: pm.text };
    };
    const named = new Set<number>();
    for (const pa of d.ns === undefined ? [] : this.workloadPeer.get(d.ns) ?? []) {
      if (this.attach(pa, 'sidecar', d) !== F) for (const port of pa.ports.keys()) named.add(port);
    }
    const workload = answer(PORT_NO_PORT_LEVEL_MTLS_NAMES);
    const ports = [...named].sort((a, b) => a - b).map((port) => ({ port, mode: answer(port) }));
    return {
      workload,
      ports,
      ignored: this.ignoredPeer.filter((pa) => this.attach(pa, 'sidecar', d) !== F),
      rejected: this.rejectedPeer.filter((pa) => this.attach(pa, 'sidecar', d) !== F),
      note: disableRead ? 'ztunnel does not support DISABLE: it accepts plaintext calls as PERMISSIVE does' : undefined,
    };
  }

  /** Whether PeerAuthentication governs the proxy's inbound listener: a sidecar's or ztunnel's, not a gateway's or a waypoint's. */
  private peerAuthenticationGoverns(kind: LayerKind, d: Dest): boolean {
    return (kind === 'sidecar' && !d.classic) || kind === 'ztunnel';
  }

  /** The root namespace the policies were compiled with (spec §1.2). */
  get rootNamespace(): string {
    return this.options.rootNamespace;
  }

  /** The same decision as `decide`, with the full walkthrough in `trace`. */
  explain(call: AccessRecord): Decision {
    return this.run(call, new Tracer());
  }

  // --- top level ----------------------------------------------------------------------------

  private run(rec: AccessRecord, t: Tracer | null): Decision {
    const protocol = rec.protocol;
    if (protocol !== undefined) return this.decideAs(rec, protocol !== 'tcp', t, undefined);
    const req = rec.request;
    if (req && (req.method !== undefined || req.path !== undefined || req.host !== undefined)) {
      return this.decideAs(rec, true, t, 'protocol not recorded: treated as HTTP because the record has request fields');
    }
    const asHttp = this.decideAs(rec, true, null, undefined);
    const asTcp = this.decideAs(rec, false, null, undefined);
    if (asHttp.verdict === asTcp.verdict && asTcp.verdict !== 'unknown') {
      return t ? this.decideAs(rec, false, t, `protocol not recorded: HTTP and TCP give the same verdict (${asTcp.verdict})`) : asTcp;
    }
    const missing = uniq(['protocol', ...(asTcp.missing ?? []), ...(asHttp.missing ?? [])]);
    const reason = `unknown: the record does not say whether the call is HTTP or TCP (as HTTP: ${asHttp.verdict}; as TCP: ${asTcp.verdict})`;
    const trace: TraceStep[] = [];
    if (t) {
      const http = this.decideAs(rec, true, new Tracer(), undefined);
      const tcp = this.decideAs(rec, false, new Tracer(), undefined);
      trace.push({ text: 'protocol not recorded: evaluating the call as HTTP and as TCP', outcome: 'unknown' });
      for (const s of http.trace) trace.push({ ...s, text: `[as HTTP] ${s.text}` });
      for (const s of tcp.trace) trace.push({ ...s, text: `[as TCP] ${s.text}` });
    }
    trace.push({ text: reason, outcome: 'verdict' });
    return { verdict: 'unknown', mesh: 'istio', reason, trace, missing };
  }

  private decideAs(rec: AccessRecord, http: boolean, t: Tracer | null, note: string | undefined): Decision {
    const c = this.call;
    c.reset(rec, http);
    if (t && note) t.add(note, 'applies');
    const d = this.resolveCallDest(rec);
    const hop = this.hop;
    if (t) {
      this.traceDest(d, rec, http, t);
      this.traceRefused(d, t);
      if (hop !== null) t.add(`the caller is the waypoint ${hop.ns}/${hop.name} (${hop.why}) itself: this is its own connection to the pod, which only the destination's ztunnel checks (the waypoint applied its policies to the call it forwards)`, 'applies');
    }
    if (d.ns === undefined && this.outsideRoot) {
      c.missing.push('destination.namespace');
      return this.finish(this.unknown(c, 'the destination namespace decides which policies apply, and it is not recorded'), t);
    }
    // Rejections before any authorization (spec §1.10).
    if (http) {
      const method = c.method();
      if (method !== undefined && hasLowerCase(method)) {
        return this.finish(this.preAuthz(`denied before authorization: method ${JSON.stringify(method)} is not upper-case and the proxy answers 400`, 400), t);
      }
      const rejection = c.pathRejection();
      if (rejection !== undefined) return this.finish(this.preAuthz(`denied before authorization: ${rejection}`, 400), t);
      const headers = rec.request?.headers;
      if (headers) {
        for (const name in headers) {
          // (named in lower case, as the proxy reads header names: records that differ only in a
          // header name's case are one call shape, decided once)
          if (hasWhitespace(name)) return this.finish(this.preAuthz(`denied before authorization: the header name ${JSON.stringify(name.toLowerCase())} contains whitespace and the proxy answers 400`, 400), t);
        }
      }
    }
    let first: Outcome | undefined;
    let audited: AuditMark[] | undefined;
    let shadow: ShadowVerdict[] | undefined;
    if (d.waypoint) {
      first = this.evaluateLayer('waypoint', d, c, t);
      audited = this.layerAudited;
      shadow = this.layerShadow;
      if (first.verdict === 'deny') return this.finish(first, t, audited, shadow);
    }
    const second = this.evaluateLayer(d.kind, d, c, t);
    if (this.layerAudited) audited = audited ? [...audited, ...this.layerAudited] : this.layerAudited;
    if (this.layerShadow) shadow = shadow ? [...shadow, ...this.layerShadow] : this.layerShadow;
    const combined = first ? combine(first, second) : second;
    const decision = this.finish(combined, t, audited, shadow);
    if (first?.policy && first.verdict === 'allow' && combined !== first && combined.verdict === 'allow') decision.passed = first.rule ? { policy: first.policy, rule: first.rule } : { policy: first.policy };
    return decision;
  }

  private preAuthz(reason: string, status: number): Outcome {
    return outcome('deny', undefined, undefined, reason, status);
  }

  private finish(o: Outcome, t: Tracer | null, audited?: AuditMark[], shadow?: ShadowVerdict[]): Decision {
    const decision: Decision = { verdict: o.verdict, mesh: 'istio', reason: o.reason, trace: t ? t.steps : [o.step] };
    if (o.policy) decision.policy = o.policy;
    if (o.rule) decision.rule = o.rule;
    if (o.missing) decision.missing = o.missing;
    if (audited) {
      decision.audited = true;
      decision.auditedBy = audited;
    }
    if (shadow && shadow.length) decision.shadow = shadow;
    if (o.status !== undefined) decision.status = o.status;
    if (o.deniedBy) decision.deniedBy = o.deniedBy;
    if (t) t.add(o.reason, 'verdict', o.rule ?? o.policy);
    return decision;
  }

  // --- destination --------------------------------------------------------------------------

  /** The destination of a call; a waypoint's own connection to the pod (`hop`) passes no waypoint. */
  private resolveCallDest(rec: AccessRecord): Dest {
    const d = this.resolveDest(rec);
    const hop = d.waypoint !== null && this.fromWaypoint(rec.source?.principal, d.waypoint) ? d.waypoint : null;
    if (hop !== null) d.waypoint = null;
    this.hop = hop;
    return d;
  }

  private resolveDest(rec: AccessRecord): Dest {
    const d = this.dest;
    const dst = rec.destination;
    d.ns = dst?.namespace;
    d.workload = dst?.workload;
    d.service = dst?.service;
    d.labels = undefined;
    d.labelsFrom = '';
    d.gatewayName = undefined;
    d.classic = false;
    d.sidecarKnown = false;
    d.waypoint = null;
    const nsLabels = d.ns !== undefined && this.inventory.present ? this.inventory.namespaces.get(d.ns)?.labels : undefined;
    let info: WorkloadInfo | null = null;
    // The inventory gives labels when the record has none, and injection annotations.
    if (d.ns !== undefined && d.workload !== undefined && this.inventory.present && (!dst?.labels || nsLabels !== undefined)) info = this.workloadInfo(d.ns, d.workload);
    if (dst?.labels) {
      d.labels = dst.labels;
      d.labelsFrom = 'from the record';
    } else if (info) {
      d.labels = info.labels;
      d.labelsFrom = `from the inventory (${info.kind} ${info.namespace}/${info.name})`;
    }
    const labels = d.labels;
    if (!this.needsKind && !isAmbient(labels, undefined)) {
      // No PeerAuthentication, no targetRefs, no inventory, and a pod the record does not enroll in
      // ambient: sidecars and gateways behave alike (ztunnel does not: L4 only).
      d.kind = 'sidecar';
      d.kindWhy = 'the sidecar';
      return d;
    }
    const gateway = gatewayNameOf(labels);
    if (gateway !== undefined) {
      d.gatewayName = gateway;
      const declared = this.inventory.gateways?.find((g) => g.namespace === d.ns && g.name === gateway);
      const waypoint = labels!['gateway.istio.io/managed'] === 'istio.io-mesh-controller' || (declared !== undefined && isWaypointGateway(declared));
      d.kind = waypoint ? 'waypoint' : 'gateway';
      d.kindWhy = waypoint ? `the waypoint ${d.ns}/${gateway}` : `the Gateway API gateway ${d.ns}/${gateway}`;
      return d;
    }
    if (isClassicGateway(labels)) {
      d.classic = true;
      d.kind = 'sidecar';
      d.kindWhy = `the ${labels!['istio']} (selected by its labels)`;
    } else {
      const sidecar = sidecarInjected(labels, info?.annotations, nsLabels);
      d.sidecarKnown = sidecar;
      if (!sidecar && isAmbient(labels, nsLabels)) {
        d.kind = 'ztunnel';
        d.kindWhy = 'ztunnel (ambient: istio.io/dataplane-mode=ambient)';
      } else {
        d.kind = 'sidecar';
        d.kindWhy = sidecar ? 'the sidecar (injection enabled)' : 'the sidecar';
      }
    }
    if (d.ns !== undefined) d.waypoint = this.waypointOf(d, nsLabels);
    return d;
  }

  /**
   * The waypoint in front of the destination (ambient). `istio.io/use-waypoint` names it: on the
   * Service for a call to a Service (on the pod for a call addressed to a pod), else on the
   * namespace; `none` at the nearer level opts out. A waypoint takes only the traffic its
   * `istio.io/waypoint-for` label admits (`service` when unset or not in the inventory, `workload`,
   * `all`, `none`). With no label, a policy that targets the Service implies one (only waypoints
   * enforce those).
   */
  private waypointOf(d: Dest, nsLabels: Record<string, string> | undefined): Dest['waypoint'] {
    if (d.service === undefined) return this.chooseDestWaypoint(d, nsLabels);
    // A call to a Service: the same answer for every call to it (the inventory is fixed per compile).
    const key = `${d.ns}\u0000${d.service}\u0000${d.sidecarKnown ? 1 : 0}`;
    let waypoint = this.serviceWaypoints.get(key);
    if (waypoint === undefined) this.serviceWaypoints.set(key, (waypoint = this.chooseDestWaypoint(d, nsLabels)));
    return waypoint;
  }

  private chooseDestWaypoint(d: Dest, nsLabels: Record<string, string> | undefined): Dest['waypoint'] {
    const ns = d.ns!;
    const toService = d.service !== undefined;
    const choice = chooseWaypoint(this.inventory, ns, toService ? this.serviceLabels(ns, d.service!) : d.labels, nsLabels, toService);
    if (choice.kind === 'named') {
      const level = !choice.own ? `namespace ${ns}` : toService ? `Service ${ns}/${kubernetesServiceName(d.service!, ns) ?? d.service}` : `pod ${ns}/${d.workload ?? '(not recorded)'}`;
      return { name: choice.name, ns: choice.ns, why: `${level} has istio.io/use-waypoint=${choice.name}` };
    }
    if (choice.kind === 'unset' && toService && !d.sidecarKnown && this.targetsService(ns, d.service!)) {
      return { name: undefined, ns, why: `a policy targets Service ${ns}/${kubernetesServiceName(d.service!, ns) ?? d.service}, which only its waypoint enforces` };
    }
    return null;
  }

  /** The labels of the inventory's Service that a recorded service names in `ns`. */
  private serviceLabels(ns: string, service: string): Record<string, string> | undefined {
    const name = kubernetesServiceName(service, ns);
    return name === undefined ? undefined : this.inventoryIndex.services(name, ns)[0]?.labels;
  }

  /**
   * Whether the call's peer is the waypoint itself: the waypoint's own connection to the pod
   * (ztunnel logs it inbound), which only the destination's ztunnel checks.
   */
  private fromWaypoint(principal: string | null | undefined, waypoint: NonNullable<Dest['waypoint']>): boolean {
    return waypoint.name !== undefined && isWaypointPeer(principal, { ns: waypoint.ns, name: waypoint.name }, this.trustBundle);
  }

  private targetsService(ns: string, service: string): boolean {
    const b = this.targetedByNamespace.get(ns);
    if (!b) return false;
    for (const p of b.all) for (const ref of p.targetRefs!) if (serviceRef(ref, service, ns)) return true;
    return false;
  }

  private workloadInfo(ns: string, name: string): WorkloadInfo | null {
    let byName = this.workloads.get(ns);
    if (!byName) this.workloads.set(ns, (byName = new Map()));
    let info = byName.get(name);
    if (info === undefined) {
      info = this.inventoryIndex.workload(ns, name) ?? null;
      if (!info) {
        const match = this.inventoryIndex.workloadForPod(name, ns);
        info = match ? (match.pod ?? { ...match.workload, labels: match.labels }) : null;
      }
      byName.set(name, info);
    }
    return info;
  }

  private traceDest(d: Dest, rec: AccessRecord, http: boolean, t: Tracer): void {
    const dst = rec.destination;
    const who = d.ns === undefined ? 'an unknown namespace' : `${d.ns}/${d.workload ?? '(workload not recorded)'}`;
    const labels = d.labels ? `labels ${showLabels(d.labels)} ${d.labelsFrom}` : 'labels not recorded and not in the inventory';
    t.add(`destination ${who}${d.service ? ` (Service ${d.service})` : ''}, ${labels}; port ${dst?.port ?? 'not recorded'}; ${http ? `HTTP (${rec.protocol ?? 'http'})` : 'TCP'}; enforced by ${d.kindWhy}`, 'applies');
    if (d.waypoint) t.add(`the call passes the waypoint ${d.waypoint.name ? `${d.waypoint.ns}/${d.waypoint.name}` : `of Service ${d.ns}/${kubernetesServiceName(d.service!, d.ns!) ?? d.service}`} first (${d.waypoint.why})`, 'applies');
  }

  /** One step for each resource Istio refuses to store that would reach this destination if stored: it decides nothing. */
  private traceRefused(d: Dest, t: Tracer): void {
    if (this.refused.length === 0) return;
    const kinds: LayerKind[] = d.waypoint ? ['waypoint', d.kind] : [d.kind];
    const candidateNamespaces = new Set([d.ns, this.options.rootNamespace, d.waypoint?.ns]);
    for (const r of this.refused) {
      if (!candidateNamespaces.has(r.namespace)) continue;
      const reaches = r.kind === 'AuthorizationPolicy' ? kinds.some((kind) => this.wouldAttach(r, kind, d))
        : r.kind === 'PeerAuthentication' ? this.attach(r, 'sidecar', d) !== F
        : kinds.some((kind) => this.attach(r, kind, d) !== F || (r.selector !== null && r.targetRefs !== null && this.attach({ ...r, targetRefs: null }, kind, d) !== F));
      if (reaches) t.add(`${r.label} is not in effect: ${r.rejected}, so the calls are decided as if it did not exist (the cluster keeps what it had before, which the workspace does not show)`, 'skipped', r.ref);
    }
  }

  // --- one enforcement point ----------------------------------------------------------------

  private computeCandidates(kind: LayerKind, d: Dest): Bucket[] {
    const root = this.options.rootNamespace;
    const out: Bucket[] = [];
    const ns = d.ns;
    if (kind === 'waypoint') {
      const wpNs = d.kind === 'waypoint' ? ns : d.waypoint?.ns;
      const seen = new Set<string | undefined>();
      for (const n of [ns, wpNs, root]) {
        if (n === undefined || seen.has(n)) continue;
        seen.add(n);
        out.push(this.targetedByNamespace.get(n) ?? EMPTY_BUCKET);
      }
      return out;
    }
    if (ns !== undefined) out.push(this.byNamespace.get(ns) ?? EMPTY_BUCKET);
    if (ns !== root) out.push(this.byNamespace.get(root) ?? EMPTY_BUCKET);
    if (kind === 'gateway' && ns !== undefined) out.push(this.targetedByNamespace.get(ns) ?? EMPTY_BUCKET);
    return out;
  }

  /** Whether a policy (or RequestAuthentication) attaches at this enforcement point (spec §1.2). */
  private attach(p: Attachable, kind: LayerKind, d: Dest): Tri {
    if (d.ns === undefined && p.namespace !== this.options.rootNamespace) return U;
    if (kind === 'waypoint') {
      if (!p.targetRefs) return F;
      const wpName = d.kind === 'waypoint' ? d.gatewayName : d.waypoint?.name;
      const wpNs = d.kind === 'waypoint' ? d.ns : d.waypoint?.ns;
      let result: Tri = F;
      for (const ref of p.targetRefs) {
        if (d.service !== undefined && p.namespace === d.ns) {
          if (serviceRef(ref, d.service, d.ns)) return T;
          if (isServiceEntryRef(ref)) {
            const hosts = this.serviceEntryHosts.get(`${d.ns}/${ref.name}`);
            if (hosts === undefined) result = U;
            else if (coversHost(hosts, d.service)) return T;
          }
        }
        if (ref.group === 'gateway.networking.k8s.io' && ref.kind === 'Gateway' && p.namespace === wpNs) {
          if (wpName === undefined) result = U;
          else if (ref.name === wpName) return T;
        }
        if (ref.group === 'gateway.networking.k8s.io' && ref.kind === 'GatewayClass' && ref.name === 'istio-waypoint' && p.namespace === this.options.rootNamespace) return T;
      }
      return result;
    }
    return istioAttachesToWorkload(p, d.ns, d.labels, kind === 'gateway' ? d.gatewayName : undefined);
  }

  /**
   * Whether a policy the API server rejects would attach here if admitted: one that sets both a
   * selector and targetRefs (which `attach` reads by its targetRefs alone) by either of them.
   */
  private wouldAttach(p: CompiledPolicy, kind: LayerKind, d: Dest): boolean {
    if (this.attach(p, kind, d) !== F) return true;
    return p.selector !== null && p.targetRefs !== null && this.attach({ ...p, targetRefs: null }, kind, d) !== F;
  }

  /** A ServiceEntry that the policy's targetRefs name for this destination and the inventory does not hold (`namespace/name`). */
  private absentServiceEntry(p: Attachable, d: Dest): string | undefined {
    if (!p.targetRefs || d.service === undefined || p.namespace !== d.ns) return undefined;
    const ref = p.targetRefs.find((r) => isServiceEntryRef(r) && !this.serviceEntryHosts.has(`${d.ns}/${r.name}`));
    return ref ? `${d.ns}/${ref.name}` : undefined;
  }

  /** What an uncertain attachment (`attach` gave U) waits for, as `missing` names it. */
  private attachMissing(p: Attachable | undefined, d: Dest): string {
    if (d.ns === undefined) return 'destination.namespace';
    const entry = p && this.absentServiceEntry(p, d);
    return entry ? `the hosts of ServiceEntry ${entry}${NOT_IN_INVENTORY}` : 'destination.labels';
  }

  private attachText(p: Attachable, kind: LayerKind, d: Dest, v: Tri): string {
    const root = p.namespace === this.options.rootNamespace;
    if (v === U) {
      if (d.ns === undefined) return 'the destination namespace is not recorded';
      const entry = kind === 'waypoint' ? this.absentServiceEntry(p, d) : undefined;
      if (entry) return `targetRefs ServiceEntry ${entry}, which the inventory does not hold: whether its hosts cover ${d.service} is unknown`;
      if (kind === 'waypoint') return 'targets the waypoint by Gateway name, and the waypoint is not named';
      return `selector ${showSelector(p.selector ?? [])}, and the destination's labels are not recorded`;
    }
    if (kind === 'waypoint') {
      if (!p.targetRefs) return v === T ? '' : 'selector and namespace-wide policies do not apply at a waypoint (only targetRefs)';
      const refs = p.targetRefs.map((r) => `${r.kind} ${r.name}`).join(', ');
      return v === T ? `targetRefs ${refs} names this waypoint or its Service` : `targetRefs ${refs} names neither this waypoint nor Service ${d.service ?? '(not recorded)'}`;
    }
    if (p.targetRefs) {
      const refs = p.targetRefs.map((r) => `${r.kind} ${r.name}`).join(', ');
      if (kind !== 'gateway') return `targetRefs ${refs}: ${kind === 'ztunnel' ? 'ztunnel' : 'sidecars'} ignore policies with targetRefs`;
      return v === T ? `targetRefs Gateway ${d.gatewayName}` : `targetRefs ${refs} does not name the gateway ${d.gatewayName}`;
    }
    if (p.selector === null) return root ? `no selector in the root namespace ${p.namespace}: applies to every workload of the mesh` : `no selector: applies to every workload in namespace ${p.namespace}`;
    if (p.selector.length === 0) return 'selector with empty matchLabels selects every workload';
    const sel = showSelector(p.selector);
    return v === T ? `selector ${sel} matches${root ? ' (root namespace: in every namespace)' : ''}` : `selector ${sel} does not match the destination's labels`;
  }

  /** Fills groups/groupAttach with the buckets of policies that attach here (spec §1.2). */
  private collectGroups(kind: LayerKind, d: Dest): void {
    this.nGroups = 0;
    const root = this.options.rootNamespace;
    if (kind === 'waypoint') {
      const certain = bucket();
      const maybe = bucket();
      for (const b of this.computeCandidates('waypoint', d)) {
        for (const p of b.all) {
          const a = this.attach(p, kind, d);
          if (a !== F) addToBucket(a === T ? certain : maybe, p);
        }
      }
      if (certain.all.length) this.pushGroup(certain, T);
      if (maybe.all.length) this.pushGroup(maybe, U);
      return;
    }
    const ns = d.ns;
    if (ns !== undefined) this.addScope(this.scopes.get(ns), d);
    if (ns !== root) this.addScope(this.scopes.get(root), d);
    if (kind === 'gateway' && ns !== undefined && d.gatewayName !== undefined) {
      const b = this.gatewayTargets.get(ns)?.get(d.gatewayName);
      if (b) this.pushGroup(b, T);
    } else if (kind === 'sidecar' && ns !== undefined && d.labels === undefined) {
      // Without labels the destination might be a Gateway API gateway that these policies target.
      const byName = this.gatewayTargets.get(ns);
      if (byName) for (const b of byName.values()) this.pushGroup(b, U);
    }
  }

  private addScope(scope: Scope | undefined, d: Dest): void {
    if (!scope) return;
    if (scope.always) this.pushGroup(scope.always, T);
    const labels = d.labels;
    for (let k = 0; k < scope.keys.length; k++) {
      const key = scope.keys[k]!;
      const byValue = scope.single.get(key)!;
      if (labels === undefined) {
        for (const b of byValue.values()) this.pushGroup(b, U);
        continue;
      }
      const value = labels[key];
      if (typeof value !== 'string') continue;
      const b = byValue.get(value);
      if (b) this.pushGroup(b, T);
    }
    for (let m = 0; m < scope.multi.length; m++) {
      const group = scope.multi[m]!;
      const a = selectorAttach(group.selector, labels);
      if (a !== F) this.pushGroup(group.bucket, a);
    }
  }

  private pushGroup(b: Bucket, a: Tri): void {
    const n = this.nGroups++;
    this.groups[n] = b;
    this.groupAttach[n] = a;
  }

  private evaluateLayer(kind: LayerKind, d: Dest, c: Call, t: Tracer | null): Outcome {
    const variant: Variant = kind === 'ztunnel' ? 'zt' : c.http ? 'http' : 'tcp';
    this.layerAudited = undefined;
    this.layerShadow = undefined;
    if (t) t.add(`enforcement point: ${kind === 'waypoint' ? 'waypoint' : kind === 'ztunnel' ? 'ztunnel (L4 only)' : kind === 'gateway' || d.classic ? 'gateway proxy' : 'sidecar'}${variant === 'tcp' ? ' (TCP chain: HTTP attributes cannot be evaluated)' : ''}`, 'applies');
    // Identity (spec §1.8).
    const principal = recordPrincipal(c.rec);
    let strictUnknown: string | undefined;
    /** Set when mTLS may be DISABLE here, which refuses a caller with a mesh identity: what it depends on. */
    let disableUnknown: string | undefined;
    c.peer = principal;
    // A log without the caller's identity: not plaintext, just not known (docs/access-records.md).
    const unknownPeer = principal === null && c.rec.source?.principalUnknown === true;
    c.peerMissing = unknownPeer ? 'source.principal' : null;
    c.sourceIpMissing = null;
    if (kind === 'ztunnel' && d.waypoint) {
      // Behind a waypoint, ztunnel sees the waypoint's identity and address, not the client's.
      c.peer = d.waypoint.name ? waypointPrincipal(this.options.trustDomain, { ns: d.waypoint.ns, name: d.waypoint.name }) : null;
      c.peerMissing = d.waypoint.name ? null : 'waypoint identity (istio.io/use-waypoint)';
      c.sourceIpMissing = 'source.ip of the waypoint';
      if (t) t.add(`ztunnel sees the waypoint's identity${c.peer ? ` ${c.peer}` : ''}, not the client's`, 'applies');
    } else if (this.peerAuthenticationGoverns(kind, d)) {
      const pm = this.peerModes(d, c.rec.destination?.port);
      const modes = modesAt(kind, pm.modes);
      if (t) {
        t.add(pm.text, pm.missing ? 'unknown' : 'applies', pm.by?.ref);
        for (const ignored of this.ignoredPeer) {
          if (this.attach(ignored, 'sidecar', d) !== F) t.add(`${ignored.label} has a workload selector in the root namespace: Istio ignores it`, 'skipped', ignored.ref);
        }
      }
      if (unknownPeer) {
        if (modes & MODE_BIT.STRICT) strictUnknown = 'source.principal';
        if (modes === MODE_BIT.DISABLE) c.peerMissing = null;
      } else if (principal === null) {
        if (modes === MODE_BIT.STRICT) {
          const reason = `denied before authorization: ${pm.by ? pm.by.label : 'PeerAuthentication'} requires mutual TLS (STRICT) and the call is plaintext, so the connection is rejected`;
          return outcome('deny', pm.by?.ref, undefined, reason, undefined, undefined, pm.by ? { kind: 'peer-authentication', namespace: pm.by.namespace, name: pm.by.name } : { kind: 'peer-authentication' });
        }
        if (modes & MODE_BIT.STRICT) strictUnknown = pm.missing;
      } else if (inferredUnderDisable(modes, c.rec)) {
        // The identity is the inventory's guess, not the wire's: auto mTLS sends plaintext to a
        // workload whose mode is DISABLE, so the call arrives without one.
        c.peer = null;
        if (t) t.add(`mTLS is DISABLE for this workload: the caller's identity (${principal}, inferred from the inventory) is not presented here; auto mTLS sends plaintext`, 'applies');
      } else if (modes === MODE_BIT.DISABLE) {
        // Under DISABLE the inbound listener does not terminate TLS, so a caller that presents a
        // mesh identity cannot connect (istio/istio tests/integration/security/
        // pass_through_filter_chain_test.go: an ISTIO_MUTUAL client fails on every DISABLE port;
        // auto mTLS sends plaintext to such a workload, which a record shows without a principal).
        const reason = `denied before authorization: ${pm.by ? pm.by.label : 'PeerAuthentication'} sets mutual TLS to DISABLE, so the proxy does not terminate TLS and a caller that presents a mesh identity (${principal}) cannot connect`;
        return outcome('deny', pm.by?.ref, undefined, reason, undefined, undefined, pm.by ? { kind: 'peer-authentication', namespace: pm.by.namespace, name: pm.by.name } : { kind: 'peer-authentication' });
      } else if (modes & MODE_BIT.DISABLE) {
        c.peerMissing = pm.missing ?? 'destination.labels';
        // (an inferred identity is never refused: under DISABLE it is simply not presented)
        if (c.rec.source?.principalInferred !== true) disableUnknown = pm.missing ?? 'destination.labels';
      }
    } else if (t) {
      t.add(`${kind === 'gateway' || d.classic ? 'gateway' : 'waypoint'}: the peer identity is the recorded one (${principal ?? 'none, plaintext'}); PeerAuthentication does not govern this listener`, 'applies');
    }
    // Request authentication (spec §1.8).
    const jwtOutcome = this.requestAuthentication(kind, d, c, t);
    if (jwtOutcome) return jwtOutcome;

    if (t) this.traceAttachment(kind, d, t);
    this.collectGroups(kind, d);
    const n = this.nGroups;
    const groups = this.groups;
    const attach = this.groupAttach;
    const ztunnel = kind === 'ztunnel';
    // CUSTOM (spec §1.3). Several providers on one workload, a policy without a provider or one
    // naming a provider the mesh config lacks become DENY (istiod builder.go getBadCustomDenyRules).
    let customValue: Tri = F;
    let customBy: CompiledPolicy | undefined;
    let customRule: CompiledRule | undefined;
    let customMaybe: CompiledPolicy | undefined;
    let customAsDeny = false;
    let missingMark = c.missing.length;
    if (!ztunnel && this.anyCustom) {
      let provider: string | undefined;
      let providers = 0;
      for (let g = 0; g < n; g++) {
        const list = groups[g]!.custom;
        for (let i = 0; i < list.length; i++) {
          const p = list[i]!;
          const name = p.provider ?? '';
          if (providers === 0 || name !== provider) { providers++; provider = name; }
          if (p.provider === undefined || this.badProviders.has(p.provider)) {
            if (t && !customAsDeny) t.add(`CUSTOM policy ${p.namespace}/${p.name}: ${p.provider === undefined ? 'no provider.name' : this.badProviders.get(p.provider)}: istiod turns the rules of the provider's CUSTOM policies into DENY rules (${badCustomPolicyId(p, 0)} ...)`, 'applies', p.ref);
            customAsDeny = true;
          }
        }
      }
      if (providers > 1) {
        customAsDeny = true;
        if (t) t.add('more than one CUSTOM provider applies to the workload: istiod turns their rules into DENY rules (PILOT_ENABLE_MULTIPLE_CUSTOM_AUTHZ_PROVIDERS is off by default)', 'applies');
      } else if (providers === 1 && !customAsDeny && variant === 'tcp' && this.httpOnlyProviders.has(provider!)) {
        // istiod builds no TCP filter for an HTTP-only provider (builder.go buildTCP)
        providers = 0;
        if (t) t.add(`CUSTOM provider ${provider} is envoyExtAuthzHttp (${this.options.mesh.meshConfig ?? 'mesh config'}): istiod skips its CUSTOM policies on a TCP filter chain`, 'skipped');
      }
      for (let g = 0; g < n && providers > 0; g++) {
        const list = groups[g]!.custom;
        for (let i = 0; i < list.length; i++) {
          const p = list[i]!;
          const v = this.policyValue(p, attach[g]!, variant, d, c, t);
          if (v === T) {
            if (customValue !== T) { customBy = p; customRule = this.hitRule; }
            customValue = T;
          } else if (v === U) {
            customMaybe ??= p;
            if (customValue === F) customValue = U;
          }
        }
      }
      if (customValue !== U) c.truncate(missingMark);
    }
    // DENY.
    missingMark = c.missing.length;
    let denyValue: Tri = F;
    let denyBy: CompiledPolicy | undefined;
    let denyRule: CompiledRule | undefined;
    let denyMaybe: CompiledPolicy | undefined;
    for (let g = 0; g < n; g++) {
      const list = t ? groups[g]!.deny : forPeer(groups[g]!.deny, groups[g]!.denyByPeer, c);
      for (let i = 0; i < list.length; i++) {
        const p = list[i]!;
        const v = this.policyValue(p, attach[g]!, variant, d, c, t);
        if (v === T) {
          if (denyValue !== T) { denyBy = p; denyRule = this.hitRule; }
          denyValue = T;
          if (!t) break;
        } else if (v === U) {
          denyMaybe ??= p;
          if (denyValue === F) denyValue = U;
        }
      }
      if (denyValue === T && !t) break;
    }
    if (denyValue !== U) c.truncate(missingMark);
    if (customAsDeny && customValue !== F) {
      if (customValue === T && denyValue !== T) { denyBy = customBy; denyRule = customRule; }
      denyValue = denyValue === T || customValue === T ? T : U;
      customValue = F;
    }
    // ALLOW.
    missingMark = c.missing.length;
    let allowExists: Tri = F;
    let allowValue: Tri = F;
    let allowBy: CompiledPolicy | undefined;
    let allowRule: CompiledRule | undefined;
    let firstAllow: CompiledPolicy | undefined;
    let allowMaybe: CompiledPolicy | undefined;
    if (!(denyValue === T && !t)) {
      for (let g = 0; g < n; g++) {
        const list = groups[g]!.allow;
        if (list.length === 0) continue;
        const a = attach[g]!;
        if (a === T) {
          if (allowExists !== T) firstAllow = list[0];
          allowExists = T;
        } else if (allowExists === F) {
          allowExists = U;
          firstAllow ??= list[0];
        }
        if (allowValue === T && !t) continue;
        const tried = t ? list : forPeer(list, groups[g]!.allowByPeer, c);
        for (let i = 0; i < tried.length; i++) {
          const p = tried[i]!;
          const v = this.policyValue(p, a, variant, d, c, t);
          if (v === T) {
            if (allowValue !== T) { allowBy = p; allowRule = this.hitRule; }
            allowValue = T;
            if (!t) break;
          } else if (v === U) {
            allowMaybe ??= p;
            if (allowValue === F) allowValue = U;
          }
        }
      }
    }
    if (allowValue !== U && allowExists !== U) c.truncate(missingMark);
    else if (allowExists === U && allowValue !== U) c.missing.push(this.attachMissing(firstAllow, d));
    // AUDIT (never changes the verdict).
    if (!ztunnel && this.anyAudit) {
      const mark = c.missing.length;
      let audited: AuditMark[] | undefined;
      for (let g = 0; g < n; g++) {
        const list = groups[g]!.audit;
        for (let i = 0; i < list.length; i++) if (this.policyValue(list[i]!, attach[g]!, variant, d, c, t) === T) (audited ??= []).push({ policy: list[i]!.ref, rule: this.hitRule!.ref });
      }
      c.truncate(mark);
      this.layerAudited = audited;
    }
    // Combine (spec §1.10): DENY, then ALLOW; CUSTOM can only add a denial.
    let result: Outcome;
    if (denyValue === T) result = this.denied(denyBy!, denyRule!, c);
    else {
      let allowSide: Outcome;
      if (allowExists === F) allowSide = this.defaultAllow(kind);
      else if (allowValue === T) allowSide = this.allowed(allowBy!, allowRule!);
      else if (allowValue === F && allowExists === T) allowSide = this.noAllow(firstAllow!, c);
      else allowSide = this.unknown(c, `whether an ALLOW policy matches depends on ${RECORD_GAP}`, allowMaybe ?? firstAllow);
      if (denyValue === F || allowSide.verdict === 'deny') result = allowSide;
      else result = this.unknown(c, `whether a DENY policy matches depends on ${RECORD_GAP}`, denyMaybe);
    }
    if (customValue !== F && result.verdict !== 'deny') {
      const cp = customBy ?? customMaybe!;
      const provider = cp.provider ?? '';
      const stub = this.customVerdicts[provider];
      if (customValue === T) {
        if (stub === 'deny') {
          const reason = `denied by the external authorizer ${provider} (stub verdict from the configuration): CUSTOM policy ${cp.namespace}/${cp.name} rules[${customRule!.index}] matches`;
          result = outcome('deny', cp.ref, customRule!.ref, reason, c.http ? 403 : undefined);
        } else if (stub !== 'allow') result = this.external(cp, customRule!);
      } else if (stub !== 'allow') {
        result = this.unknown(c, `whether CUSTOM policy ${cp.namespace}/${cp.name} (provider ${provider}) matches depends on ${RECORD_GAP}`, cp);
      }
    }
    if (disableUnknown !== undefined && result.verdict !== 'deny') {
      if (!c.missing.includes(disableUnknown)) c.missing.push(disableUnknown);
      result = this.unknown(c, 'whether mTLS is DISABLE for this workload (which refuses this caller\'s mutual TLS) depends on attributes the record does not carry');
    }
    if (strictUnknown !== undefined && result.verdict !== 'deny') {
      c.missing.push(strictUnknown);
      result = strictUnknown === 'source.principal'
        ? this.unknown(c, 'mTLS is STRICT for this workload, and the log does not say whether the caller presented a mesh identity (a plaintext call is rejected)')
        : this.unknown(c, 'whether mTLS is STRICT for this workload (which rejects this plaintext call) depends on attributes the record does not carry');
    }
    // Dry-run policies: separate shadow verdicts (spec §1.3).
    if (!ztunnel && this.anyDryRun) this.layerShadow = this.shadow(variant, d, c, t);
    return result;
  }

  /** Attach × match of one policy, with trace lines in explain mode. */
  private policyValue(p: CompiledPolicy, a: Tri, variant: Variant, d: Dest, c: Call, t: Tracer | null): Tri {
    const mark = c.missing.length;
    if (a === U) c.missing.push(this.attachMissing(p, d));
    const m = this.policyMatch(p, variant, c);
    const v: Tri = m === F ? F : a === T ? m : U;
    if (v !== U) c.truncate(mark);
    if (t) this.traceRules(p, variant, c, t, v);
    return v;
  }

  /** OR over the rules of a policy in the given form; sets hitRule to the first matching rule. */
  private policyMatch(p: CompiledPolicy, variant: Variant, c: Call): Tri {
    const rules = p.rules;
    const mark = c.missing.length;
    let r: Tri = F;
    for (let i = 0; i < rules.length; i++) {
      const rule = rules[i]!;
      const m = variant === 'http' ? rule.http : variant === 'tcp' ? rule.tcp : rule.zt;
      if (m === null) continue;
      const v = evalRule(m, c);
      if (v === T) {
        c.truncate(mark);
        this.hitRule = rule;
        return T;
      }
      if (v === U) r = U;
    }
    if (r === F) c.truncate(mark);
    return r;
  }

  /** Outcomes that do not depend on the call are built once and shared. */
  private cached(key: { outcomes: unknown[] }, slot: number, make: () => Outcome): Outcome {
    let o = key.outcomes[slot] as Outcome | undefined;
    if (o === undefined) key.outcomes[slot] = o = make();
    return o;
  }

  private denied(p: CompiledPolicy, rule: CompiledRule, c: Call): Outcome {
    const http = c.http;
    return this.cached(rule, http ? 0 : 1, () => {
      if (p.action !== 'CUSTOM') return outcome('deny', p.ref, rule.ref, rule.denyReason, http ? 403 : undefined, undefined, p.action === 'DENY' ? { kind: 'policy', namespace: p.namespace, name: p.name } : undefined);
      const why = p.provider === undefined ? 'no provider.name' : this.badProviders.get(p.provider) ?? 'several CUSTOM providers on one workload';
      const reason = `denied: CUSTOM policy ${p.namespace}/${p.name} rules[${rule.index}] matches and istiod enforces it as DENY (${why})`;
      return outcome('deny', p.ref, rule.ref, reason, http ? 403 : undefined, undefined, { kind: 'policy', namespace: p.namespace, name: p.name, policyId: badCustomPolicyId(p, rule.index) });
    });
  }

  private allowed(p: CompiledPolicy, rule: CompiledRule): Outcome {
    return this.cached(rule, 2, () => outcome('allow', p.ref, rule.ref, rule.allowReason, undefined));
  }

  private external(p: CompiledPolicy, rule: CompiledRule): Outcome {
    return this.cached(rule, 3, () => outcome('external', p.ref, rule.ref, rule.externalReason, undefined));
  }

  private noAllow(p: CompiledPolicy, c: Call): Outcome {
    const http = c.http;
    return this.cached(p, http ? 0 : 1, () => outcome('deny', p.ref, undefined, p.noAllowReason, http ? 403 : undefined, undefined, NO_ALLOW));
  }

  private defaultAllow(kind: LayerKind): Outcome {
    return this.cached(DEFAULT_KEY, kind === 'waypoint' ? 0 : kind === 'ztunnel' ? 1 : 2, () => {
      const reason = kind === 'waypoint' ? 'allowed: no ALLOW policy applies at the waypoint' : kind === 'ztunnel' ? 'allowed: no ALLOW policy applies to the workload at ztunnel' : 'allowed: no ALLOW policy applies to the workload';
      return outcome('allow', undefined, undefined, reason, undefined);
    });
  }

  /** `hinge`: the first policy whose match could not be decided, where the editor shows the unknown calls. */
  private unknown(c: Call, why: string, hinge?: CompiledPolicy): Outcome {
    const missing = uniq(c.missing);
    const said = missing.some((m) => m.endsWith(NOT_IN_INVENTORY)) ? why.replace(RECORD_GAP, 'what the record and the inventory do not say') : why;
    const reason = `unknown: ${said}: ${missing.length ? missing.join(', ') : 'see the trace'}`;
    return outcome('unknown', hinge?.ref, undefined, reason, undefined, missing);
  }

  // --- PeerAuthentication -------------------------------------------------------------------

  private peerModes(d: Dest, port: number | undefined): PeerModes {
    if (this.peerAuths.length === 0) return NO_PEER_AUTHENTICATION;
    const ns = d.ns;
    if (ns !== undefined && !this.workloadPeer.has(ns)) {
      let cached = this.peerCache.get(ns);
      if (!cached) this.peerCache.set(ns, (cached = this.computePeerModes(d, port)));
      return cached;
    }
    return this.computePeerModes(d, port);
  }

  private computePeerModes(d: Dest, port: number | undefined): PeerModes {
    const ns = d.ns;
    if (ns === undefined) {
      if (this.namespacePeer.size === 0 && this.workloadPeer.size === 0) {
        const mesh = this.meshPeer[0]?.mode === 'UNSET' ? undefined : this.meshPeer[0];
        const mode = mesh?.mode ?? 'PERMISSIVE';
        return { modes: MODE_BIT[mode as Exclude<MtlsMode, 'UNSET'>], by: mesh, text: mesh ? `${mesh.label} (mesh-wide) sets mTLS ${mode}` : 'no PeerAuthentication: mTLS PERMISSIVE (the default)', missing: undefined, chain: this.meshPeer.slice(0, 1), maybe: [], port: undefined };
      }
      return { modes: 7, by: undefined, text: 'mTLS mode unknown: the destination namespace is not recorded', missing: 'destination.namespace', chain: [], maybe: [...this.meshPeer.slice(0, 1), ...[...this.namespacePeer.values()].map((list) => list[0]!), ...[...this.workloadPeer.values()].flat()], port: undefined };
    }
    // Candidate workload-level policies, oldest first: the first that certainly selects wins.
    const candidates: (CompiledPeerAuthentication | null)[] = [];
    let missing: string | undefined;
    let certain = false;
    for (const pa of this.workloadPeer.get(ns) ?? []) {
      const a = this.attach(pa, 'sidecar', d);
      if (a === F) continue;
      candidates.push(pa);
      if (a === T) { certain = true; break; }
      missing = 'destination.labels';
    }
    if (!certain) candidates.push(null);
    let modes = 0;
    let by: CompiledPeerAuthentication | undefined;
    let byPort: number | undefined;
    const texts: string[] = [];
    const read: CompiledPeerAuthentication[] = [];
    for (const wl of candidates) {
      let mode: MtlsMode = 'UNSET';
      let decidedBy: CompiledPeerAuthentication | undefined;
      let via = '';
      let viaPort: number | undefined;
      const wlModes: MtlsMode[] = [];
      if (wl) {
        if (wl.ports.size > 0 && port === undefined) {
          const distinct = new Set<MtlsMode>([...wl.ports.values(), wl.mode]);
          if (distinct.size > 1) {
            missing = 'destination.port';
            for (const m of distinct) wlModes.push(m);
          }
        }
        const pm = port !== undefined ? wl.ports.get(port) : undefined;
        if (pm !== undefined && pm !== 'UNSET') { mode = pm; via = ` (portLevelMtls ${port})`; viaPort = port; }
        else mode = wl.mode;
        if (mode !== 'UNSET') decidedBy = wl;
        read.push(wl);
      }
      const resolve = (start: MtlsMode): [MtlsMode, CompiledPeerAuthentication | undefined, string] => {
        if (start !== 'UNSET') return [start, decidedBy, via];
        // The oldest policy of a level is that level's, whatever its mode; an UNSET one inherits.
        const nsLevel = ns === this.options.rootNamespace ? undefined : this.namespacePeer.get(ns)?.[0];
        if (nsLevel) read.push(nsLevel);
        if (nsLevel && nsLevel.mode !== 'UNSET') return [nsLevel.mode, nsLevel, ' (namespace-wide)'];
        const mesh = this.meshPeer[0];
        if (mesh) read.push(mesh);
        if (mesh && mesh.mode !== 'UNSET') return [mesh.mode, mesh, ' (mesh-wide)'];
        return ['PERMISSIVE', undefined, ''];
      };
      const starts = wlModes.length ? wlModes : [mode];
      for (const start of starts) {
        const [m, who, how] = resolve(start);
        modes |= MODE_BIT[m as Exclude<MtlsMode, 'UNSET'>];
        by = who;
        byPort = who !== undefined && who === decidedBy ? viaPort : undefined;
        texts.push(who ? `${who.label}${how} sets mTLS ${m}` : 'no PeerAuthentication applies: mTLS PERMISSIVE (the default)');
      }
    }
    const single = candidates.length === 1 && texts.length === 1;
    return {
      modes,
      by: single ? by : undefined,
      text: single ? texts[0]! : `mTLS mode depends on ${missing}: ${uniq(texts).join('; or ')}`,
      missing: single ? undefined : missing,
      chain: single ? read : [],
      maybe: single ? [] : [...new Set(read)],
      port: single ? byPort : undefined,
    };
  }

  // --- RequestAuthentication ----------------------------------------------------------------

  /** Each RequestAuthentication that attaches (certainly or maybe) at this enforcement point, given to `visit`: as AuthorizationPolicies do (spec §1.8), from the destination's namespace, the waypoint's and the root namespace. (A visitor: `decide` calls it per call and keeps no list.) */
  private forEachRequestAuthentication(kind: LayerKind, d: Dest, visit: (ra: CompiledRequestAuthentication, attach: Tri) => void): void {
    if (this.requestAuths.length === 0) return;
    const root = this.options.rootNamespace;
    const waypointNs = kind === 'waypoint' ? d.waypoint?.ns : undefined;
    const visitNamespace = (ns: string | undefined): void => {
      for (const ra of (ns === undefined ? undefined : this.requestAuthByNamespace.get(ns)) ?? []) {
        const attach = this.attach(ra, kind, d);
        if (attach !== F) visit(ra, attach);
      }
    };
    visitNamespace(d.ns);
    if (waypointNs !== d.ns) visitNamespace(waypointNs);
    if (root !== d.ns && root !== waypointNs) visitNamespace(root);
  }

  private requestAuthentication(kind: LayerKind, d: Dest, c: Call, t: Tracer | null): Outcome | undefined {
    c.jwtState = 0;
    c.jwtMissing = 'request.jwt';
    if (!c.http || kind === 'ztunnel') return undefined;
    const jwt = c.rec.request?.jwt;
    // (a native log records no token: whether there was one matters only where one is validated)
    const unrecorded = jwt === undefined && c.rec.request?.jwtUnknown === true;
    if (!jwt && !unrecorded) {
      if (t) t.add('no token in the request: no request identity (requestPrincipals and request.auth.* match nothing; their not-forms match)', 'applies');
      return undefined;
    }
    let anyUnknown = false;
    let rules: JwtRule[] | undefined;
    let first: CompiledRequestAuthentication | undefined;
    this.forEachRequestAuthentication(kind, d, (ra, attach) => {
      if (attach === U) { anyUnknown = true; return; }
      first ??= ra;
      (rules ??= []).push(...ra.jwtRules);
    });
    if (!rules) {
      if (anyUnknown) {
        c.jwtState = 2;
        c.jwtMissing = 'destination.labels';
        if (t) t.add('whether a RequestAuthentication applies depends on the destination labels, which are not recorded', 'unknown');
      } else if (t) t.add('no RequestAuthentication applies: the token is not validated and gives no request identity', 'applies');
      return undefined;
    }
    if (!jwt) {
      // An invalid token would have been logged as a 401 (the reader then gives jwt.valid false):
      // the call had none or a valid one, and which is not recorded.
      c.jwtState = 2;
      c.jwtMissing = 'request.jwt';
      if (t) t.add(`${first!.label} validates tokens here, and the log does not record whether the request carried one: request identity unknown`, 'unknown', first!.ref);
      return undefined;
    }
    const reject = (why: string): Outcome => {
      const reason = `denied before authorization (401): ${why}`;
      return outcome('deny', first!.ref, undefined, reason, 401);
    };
    if (jwt.valid === false) return reject(`the request's token is invalid and ${first!.label} validates tokens for this workload`);
    if (jwt.issuer === undefined) {
      if (jwt.valid !== true) {
        c.jwtState = 2;
        c.jwtMissing = 'request.jwt.issuer';
        if (t) t.add('the token\'s issuer is not recorded: whether it validates is unknown', 'unknown');
        return undefined;
      }
    } else {
      const matching = rules.filter((r) => r.issuer === jwt.issuer);
      if (matching.length === 0) return reject(`Jwt issuer is not configured: ${JSON.stringify(jwt.issuer)} is not an issuer of ${first!.label}${rules.length ? ` (configured: ${uniq(rules.map((r) => r.issuer)).join(', ')})` : ''}`);
      if (!matching.some((r) => r.audiences.length === 0)) {
        const audiences = jwt.audiences;
        if (audiences === undefined) {
          if (jwt.valid !== true) {
            c.jwtState = 2;
            c.jwtMissing = 'request.jwt.audiences';
            if (t) t.add('the token\'s audiences are not recorded and the RequestAuthentication requires some', 'unknown');
            return undefined;
          }
        } else if (!matching.some((r) => r.audiences.some((a) => audiences.includes(a)))) {
          return reject(`Audiences in Jwt are not allowed: ${JSON.stringify(audiences)} is not among ${JSON.stringify(uniq(matching.flatMap((r) => r.audiences)))}`);
        }
      }
      const extra = matching.flatMap((r) => r.spaceDelimitedClaims);
      c.spaceDelimited = extra.length ? new Set(['scope', 'permission', ...extra]) : DEFAULT_SPACE_DELIMITED;
    }
    c.spaceDelimited ??= DEFAULT_SPACE_DELIMITED;
    c.jwtState = 1;
    if (t) t.add(`${first!.label} validates the token: request principal ${jwt.issuer ?? '(issuer not recorded)'}/${jwt.subject ?? ''}`, 'applies', first!.ref);
    return undefined;
  }

  // --- dry run ------------------------------------------------------------------------------

  private shadow(variant: Variant, d: Dest, c: Call, t: Tracer | null): ShadowVerdict[] | undefined {
    const n = this.nGroups;
    let dry = false;
    for (let g = 0; g < n; g++) if (this.groups[g]!.dryDeny.length || this.groups[g]!.dryAllow.length) { dry = true; break; }
    if (!dry) return undefined;
    let out: ShadowVerdict[] | undefined;
    const mark = c.missing.length;
    for (const action of ['dryDeny', 'dryAllow'] as const) {
      const policies: ShadowMatch[] = [];
      let value: Tri = F;
      let first: ShadowMatch | undefined;
      let by: CompiledPolicy | undefined;
      for (let g = 0; g < n; g++) {
        const a = this.groupAttach[g]!;
        for (const p of this.groups[g]![action]) {
          if (t) t.add(`dry-run ${p.label} (${p.action}) ${a === T ? 'applies' : 'may apply'}: it only yields a shadow verdict`, a === T ? 'applies' : 'unknown', p.ref);
          const v = this.policyValue(p, a, variant, d, c, t);
          const match: ShadowMatch = v === T ? { policy: p.ref, rule: this.hitRule!.ref, matches: true } : { policy: p.ref, matches: v === F ? false : undefined };
          policies.push(match);
          if (v === T && value !== T) { value = T; first = match; by = p; }
          else if (v === U && value === F) value = U;
        }
      }
      if (policies.length === 0) continue;
      out ??= [];
      const engine = action === 'dryDeny' ? 'deny' : 'allow';
      if (value === T) {
        const rule = first!.rule!;
        out.push({ engine, verdict: engine, policy: first!.policy, rule, policies, reason: `dry-run: ${engine === 'deny' ? 'would deny' : 'would allow'}: ${by!.label} ${rule.label} matches` });
      } else if (value === F) {
        out.push({ engine, verdict: engine === 'deny' ? 'allow' : 'deny', policy: policies[0]!.policy, policies, reason: engine === 'deny' ? 'dry-run: no dry-run DENY policy matches (would not deny)' : 'dry-run: no dry-run ALLOW policy matches (would deny)' });
      } else out.push({ engine, verdict: 'unknown', policy: policies[0]!.policy, policies, reason: `dry-run: unknown: ${uniq(c.missing.slice(mark)).join(', ')}` });
    }
    c.truncate(mark);
    return out;
  }

  // --- explain ------------------------------------------------------------------------------

  private traceAttachment(kind: LayerKind, d: Dest, t: Tracer): void {
    const seen = new Set<CompiledPolicy>();
    const buckets = this.computeCandidates(kind, d);
    for (const b of buckets) {
      for (const p of b.all) {
        seen.add(p);
        const v = this.attach(p, kind, d);
        const extra = p.dryRun ? ', dry-run' : '';
        const ignored = kind === 'ztunnel' ? ztunnelIgnores(p) : undefined;
        const skipAction = ignored ? `; ${ignored}` : '';
        const text = v === T ? `${p.label} (${p.action}${extra}) applies: ${this.attachText(p, kind, d, v)}${skipAction}`
          : v === U ? `${p.label} (${p.action}${extra}) may apply: ${this.attachText(p, kind, d, v)}`
          : `${p.label} (${p.action}${extra}) does not apply: ${this.attachText(p, kind, d, v)}`;
        t.add(text, v === T ? 'applies' : v === U ? 'unknown' : 'skipped', p.ref);
        for (const note of p.notes) if (v !== F) t.add(`${p.label}: ${note}`, 'applies', p.ref);
      }
    }
    // Policies elsewhere, for completeness (bounded).
    let others = 0;
    const root = this.options.rootNamespace;
    for (const p of this.policies) {
      // (a policy Istio refuses to store is named once, at the top: `traceRefused`)
      if (seen.has(p) || p.rejected) continue;
      let why: string;
      if (p.namespace !== d.ns && p.namespace !== root && !(kind === 'waypoint' && p.namespace === d.waypoint?.ns)) why = `in namespace ${p.namespace}, not ${d.ns ?? '(not recorded)'} or the root namespace ${root}`;
      else if (p.targetRefs) why = `targetRefs ${p.targetRefs.map((r) => `${r.kind} ${r.name}`).join(', ')}: ${kind === 'ztunnel' ? 'ztunnel does not enforce policies with targetRefs' : kind === 'sidecar' ? 'sidecars ignore policies with targetRefs' : 'names something other than this proxy'}`;
      else why = kind === 'waypoint' ? 'selector and namespace-wide policies do not apply at a waypoint' : 'not a candidate here';
      if (others++ < 20) t.add(`${p.label} does not apply: ${why}`, 'skipped', p.ref);
    }
    if (others > 20) t.add(`… and ${others - 20} more policies that do not apply`, 'skipped');
  }

  private traceRules(p: CompiledPolicy, variant: Variant, c: Call, t: Tracer, value: Tri): void {
    const mark = c.missing.length;
    if (p.rules.length === 0) {
      // the policy's own step: a summary after it would name the policy a second time
      t.add(`${p.label}: no rules, so it matches nothing${p.action === 'ALLOW' ? ' (allow-nothing)' : ''}`, 'not-matched', p.ref);
      return;
    }
    for (const rule of p.rules) {
      const at = rule.ref;
      const label = `${p.label} rules[${rule.index}]`;
      if (rule.error) {
        const effect = rule.error.includes(ENVOY_REFUSES) ? 'the proxy rejects the configuration and keeps the one it had, which the workspace does not show; the simulator leaves the rule out'
          : rule.error.includes(ISTIOD_SKIPS) ? "istiod's validation accepts the policy, and istiod skips the ALLOW rule when it builds the proxy's configuration"
          : "istiod's validation rejects this; if the policy is applied anyway, istiod skips the rule";
        t.add(`${label} skipped: ${rule.error} (${effect})`, 'skipped', at);
        continue;
      }
      const m = variant === 'http' ? rule.http : variant === 'tcp' ? rule.tcp : rule.zt;
      const note = variant === 'tcp' ? rule.tcpNote : variant === 'zt' ? rule.ztNote : undefined;
      if (!m) { t.add(`${label} ${note ?? 'does not apply here'}`, 'skipped', at); continue; }
      const [v, text] = explainRule(m, c);
      t.add(`${label}: ${text}${note ? ` (${note})` : ''}`, v === T ? 'matched' : v === U ? 'unknown' : 'not-matched', at);
    }
    c.truncate(mark);
    t.add(`${p.label}: ${value === T ? 'matches' : value === U ? 'may match' : 'does not match'}`, value === T ? 'matched' : value === U ? 'unknown' : 'not-matched', p.ref);
  }
}

/** A port no portLevelMtls entry names (they name ports 1-65535): asked for the mode of the workload's other ports. */
const PORT_NO_PORT_LEVEL_MTLS_NAMES = 0;

/** The modes a proxy enforces of those PeerAuthentication gives: ztunnel does not support DISABLE and reads it as PERMISSIVE (spec §1.8, ambient). */
function modesAt(kind: LayerKind, modes: number): number {
  return kind === 'ztunnel' && modes & MODE_BIT.DISABLE ? (modes & ~MODE_BIT.DISABLE) | MODE_BIT.PERMISSIVE : modes;
}

const NO_PEER_AUTHENTICATION: PeerModes = { modes: MODE_BIT.PERMISSIVE, by: undefined, text: 'no PeerAuthentication applies: mTLS PERMISSIVE (the default)', missing: undefined, chain: [], maybe: [], port: undefined };
const DEFAULT_KEY: { outcomes: unknown[] } = { outcomes: [undefined, undefined, undefined] };
const NO_ALLOW: Denier = Object.freeze({ kind: 'no-allow' });
const DEFAULT_SPACE_DELIMITED: ReadonlySet<string> = new Set(['scope', 'permission']);

/** The RBAC policy id istiod gives a CUSTOM policy's rule that it enforces as DENY, which Envoy
 * logs as `rbac_access_denied_matched_policy[<id>]` (builder.go `policyName` with the provider,
 * then `getBadCustomDenyRules`' suffix). */
function badCustomPolicyId(p: CompiledPolicy, rule: number): string {
  return `istio-ext-authz-${p.provider ? `${p.provider}-` : ''}ns[${p.namespace}]-policy[${p.name}]-rule[${rule}]-deny-due-to-bad-CUSTOM-action`;
}

/** Every outcome has the same shape (one hidden class); the step points at the rule, else the policy. */
function outcome(verdict: Verdict, policy: SourceRef | undefined, rule: SourceRef | undefined, reason: string, status: number | undefined, missing?: string[], deniedBy?: Denier): Outcome {
  const at = rule ?? policy;
  return { verdict, policy, rule, reason, step: at ? { text: reason, outcome: 'verdict', at } : { text: reason, outcome: 'verdict' }, status, missing, deniedBy };
}

function combine(first: Outcome, second: Outcome): Outcome {
  // Deny anywhere denies; otherwise unknown, then external, then allow (the workload's reason).
  if (second.verdict === 'deny') return second;
  if (first.verdict === 'unknown' || second.verdict === 'unknown') {
    const u = first.verdict === 'unknown' ? first : second;
    return outcome(u.verdict, u.policy, u.rule, u.reason, u.status, uniq([...(first.missing ?? []), ...(second.missing ?? [])]));
  }
  if (first.verdict === 'external') return first;
  if (second.verdict === 'external') return second;
  return second.policy ? second : first.policy ? first : second;
}

function addToBucket(b: Bucket, p: CompiledPolicy): void {
  b.all.push(p);
  if (p.action === 'CUSTOM') b.custom.push(p);
  else if (p.action === 'AUDIT') b.audit.push(p);
  else if (p.action === 'DENY') (p.dryRun ? b.dryDeny : b.deny).push(p);
  else (p.dryRun ? b.dryAllow : b.allow).push(p);
}

/** Evaluates one rule form: (OR from) AND (OR to) AND (AND when), three-valued. */
export function evalRule(m: RuleMatcher, c: Call): Tri {
  const mark = c.missing.length;
  let r: Tri = T;
  if (m.from !== null) {
    const v = anyOf(m.from, c);
    if (v === F) { c.truncate(mark); return F; }
    r = v;
  }
  if (m.to !== null) {
    const v = anyOf(m.to, c);
    if (v === F) { c.truncate(mark); return F; }
    if (v === U) r = U;
  }
  const when = m.when;
  for (let i = 0; i < when.length; i++) {
    const v = when[i]!.test(c);
    if (v === F) { c.truncate(mark); return F; }
    if (v === U) r = U;
  }
  return r;
}

function anyOf(entries: Field[][], c: Call): Tri {
  const mark = c.missing.length;
  let unknown = false;
  for (let e = 0; e < entries.length; e++) {
    const fields = entries[e]!;
    const entryMark = c.missing.length;
    let v: Tri = T;
    for (let i = 0; i < fields.length; i++) {
      const f = fields[i]!.test(c);
      if (f === F) { v = F; break; }
      if (f === U) v = U;
    }
    if (v === T) { c.truncate(mark); return T; }
    if (v === F) c.truncate(entryMark);
    else unknown = true;
  }
  if (!unknown) { c.truncate(mark); return F; }
  return U;
}

/** The rule's value with a sentence naming, per failed part, the first field that failed. */
function explainRule(m: RuleMatcher, c: Call): [Tri, string] {
  const failures: string[] = [];
  const unknowns: string[] = [];
  const describe = (f: Field, v: Tri): string => (v === U ? `${f.path}: ${f.actual(c)}` : f.negative ? `${f.path} ${f.shown} matches ${f.actual(c)}` : `${f.path} ${f.shown} does not match ${f.actual(c)}`);
  const part = (entries: Field[][] | null, name: string): Tri => {
    if (entries === null) return T;
    const reasons: string[] = [];
    let unknown = false;
    for (const fields of entries) {
      let v: Tri = T;
      let why = '';
      for (const f of fields) {
        const fv = f.test(c);
        if (fv === F) { v = F; why = describe(f, fv); break; }
        if (fv === U && v === T) { v = U; why = describe(f, fv); }
      }
      if (v === T) return T;
      if (v === U) unknown = true;
      reasons.push(why);
    }
    (unknown ? unknowns : failures).push(entries.length > 1 ? `no ${name} entry matches (${reasons.join('; ')})` : reasons[0]!);
    return unknown ? U : F;
  };
  const from = part(m.from, 'from');
  const to = part(m.to, 'to');
  let when: Tri = T;
  for (const f of m.when) {
    const v = f.test(c);
    if (v === F) { when = F; failures.push(describe(f, v)); break; }
    if (v === U) { when = U; unknowns.push(describe(f, v)); }
  }
  const value: Tri = from === F || to === F || when === F ? F : from === U || to === U || when === U ? U : T;
  if (value === T) return [T, m.from === null && m.to === null && m.when.length === 0 ? 'no constraints: matches every request' : 'matches'];
  if (value === F) return [F, failures[0]!];
  return [U, `depends on attributes the record does not carry: ${unknowns.join('; ')}`];
}

function recordPrincipal(rec: AccessRecord): string | null {
  const p = rec.source?.principal;
  if (p === undefined || p === null || p === '') return null;
  return withoutSpiffe(p);
}

/** Whether a `targetRefs` entry names the Kubernetes Service of namespace `ns` that `service` (a
 * record's `destination.service`: a short name or a host such as `name.ns.svc.cluster.local`) is. */
function serviceRef(ref: { group: string; kind: string; name: string }, service: string, ns: string): boolean {
  return (ref.group === '' || ref.group === 'core') && ref.kind === 'Service' && kubernetesServiceName(service, ns) === ref.name;
}

/** The Service name a recorded service names in namespace `ns`: `name`, or the host `name.ns`,
 * `name.ns.svc` or `name.ns.svc.<cluster domain>` (port and case aside); undefined for another
 * namespace's host or an external one. */
export function kubernetesServiceName(service: string, ns: string): string | undefined {
  const host = recordedHost(service);
  const labels = host.split('.');
  if (labels.length === 1) return host;
  if (labels[1] !== ns) return undefined;
  return labels.length === 2 || labels[2] === 'svc' ? labels[0] : undefined;
}

/** A recorded service as a host: lower case, without a port. */
function recordedHost(service: string): string {
  const colon = service.lastIndexOf(':');
  return (colon > 0 && /^\d+$/.test(service.slice(colon + 1)) ? service.slice(0, colon) : service).toLowerCase();
}

function isServiceEntryRef(ref: { group: string; kind: string }): boolean {
  return ref.group === 'networking.istio.io' && ref.kind === 'ServiceEntry';
}

/** Whether a ServiceEntry's `hosts` cover `service` (a record's `destination.service`, a host):
 * one of them exactly or by a `*.` wildcard. (Without its hosts, whether a ServiceEntry covers a
 * call is unknown: `attach` says U.) */
function coversHost(hosts: readonly string[], service: string): boolean {
  const host = recordedHost(service);
  return hosts.some((h) => h === host || (h.startsWith('*') && host.endsWith(h.slice(1)) && host.length > h.length - 1));
}

function uniq(list: readonly string[]): string[] {
  return [...new Set(list)];
}

function push<K, V>(map: Map<K, V[]>, key: K, value: V): void {
  const list = map.get(key);
  if (list) list.push(value);
  else map.set(key, [value]);
}

/**
 * Whether the record's principal is the inventory's guess at a port whose mTLS mode is DISABLE:
 * auto mTLS sends plaintext there, so the identity is not presented (an identity the log gives is
 * refused there instead).
 */
function inferredUnderDisable(modes: number, rec: AccessRecord): boolean {
  return modes === MODE_BIT.DISABLE && rec.source?.principalInferred === true;
}

/**
 * Why ztunnel enforces nothing of a policy that attaches to it: it takes ALLOW and DENY only, and
 * istiod sends it a dry-run policy only under AMBIENT_ENABLE_DRY_RUN_AUTHORIZATION_POLICY (off by
 * default; istio/istio pilot/pkg/features/ambient.go `EnableWdsDryRunAuthzPol`), which a
 * ztunnel older than 1.29 then enforces instead of only logging.
 */
function ztunnelIgnores(p: CompiledPolicy): string | undefined {
  if (p.dryRun) return ZTUNNEL_DRY_RUN;
  return p.action === 'AUDIT' || p.action === 'CUSTOM' ? `ztunnel ignores ${p.action} policies` : undefined;
}
const ZTUNNEL_DRY_RUN = 'istiod sends ztunnel no dry-run policies (unless AMBIENT_ENABLE_DRY_RUN_AUTHORIZATION_POLICY=true: then ztunnel 1.29+ only logs them, an older ztunnel enforces them)';

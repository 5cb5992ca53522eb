import type { ProjectConfig } from '../config/projectConfig';
import type { Range } from '../findings';
import type { Inventory } from '../inventory/inventory';
import type { Mesh } from '../meshes';
import type { Resource } from '../resource';
import type { SourceFile } from '../source/sourceFile';
import type { AccessRecord } from '../traffic/accessRecord';
import type { CompiledForms } from './compiledForms';

/**
 * The contract between the per-mesh simulators (simulate/istio, simulate/linkerd,
 * simulate/consul) and everything that shows decisions (CLI simulate/explain, diagnostics,
 * code lenses, hovers, reports). A simulator decides one observed call exactly as the mesh's
 * proxy would, and says why.
 */

export type Verdict = 'allow' | 'deny' | 'external' | 'unknown';

/** A place in a policy file: the policy, rule, intention or authorization that a step is about. */
export interface SourceRef {
  file: string;
  range: Range;
  /** e.g. "AuthorizationPolicy shop/allow-frontend", "rules[1]", "Sources[0] web". */
  label: string;
  /** Where a finding about it is underlined, when narrower than `range` (a Consul source: its `Name`). */
  focus?: Range;
}

export interface TraceStep {
  /** One sentence of the walkthrough, e.g. "rules[0]: from[0].source.principals does not match cluster.local/ns/shop/sa/cart". */
  text: string;
  outcome: 'applies' | 'skipped' | 'matched' | 'not-matched' | 'unknown' | 'verdict';
  at?: SourceRef;
}

export interface Decision {
  verdict: Verdict;
  mesh: Mesh;
  /** The policy (or intention entry, Server, default) that decided; absent for a built-in default. */
  policy?: SourceRef;
  /** The rule / source / permission / authorization inside it that decided, when one did. */
  rule?: SourceRef;
  /** One line: why, e.g. "denied by DENY policy shop/deny-delete rules[0]". */
  reason: string;
  trace: TraceStep[];
  /** For `unknown`: the attributes the call lacks that the policies need, e.g. "source.principal". */
  missing?: string[];
  /** Istio AUDIT matched, Linkerd audit access policy: the call is marked for audit. */
  audited?: boolean;
  /** Istio: the AUDIT policies that matched, each with its first matching rule (they never decide). */
  auditedBy?: readonly AuditMark[];
  /** Verdicts of dry-run policies (Istio istio.io/dry-run): never change `verdict`. */
  shadow?: ShadowVerdict[];
  /** An HTTP status the proxy would answer with, when the mesh decides one (e.g. Linkerd 404 with no route). */
  status?: number;
  /**
   * When the verdict combines alternatives the record or configuration leave open (Consul:
   * differing definitions of the same intentions, the caller's partition or peer): what decided
   * in each, once per distinct outcome, in the order tried. The audit's unused rules read it.
   */
  alternatives?: readonly DecisionAlternative[];
  /**
   * Istio ambient: the waypoint's ALLOW policy (and rule) the call passed before the destination's
   * ztunnel decided with `policy`. It allowed these calls too, so its tallies count them.
   */
  passed?: { policy: SourceRef; rule?: SourceRef };
  /** For a denial: what denied, in the terms a proxy's log names it (compared with an observed
   * `response.deniedBy`); absent when the mesh's logs name nothing for it. */
  deniedBy?: Denier;
}

/**
 * What one dry-run engine would have done with a call. Istio keeps a proxy's dry-run ALLOW
 * policies and its dry-run DENY policies in two shadow engines and reports each engine's result
 * apart (Envoy's `istio_dry_run_allow_` / `istio_dry_run_deny_` metadata).
 */
export interface ShadowVerdict {
  engine: 'allow' | 'deny';
  /** The engine's result: `deny` when a dry-run DENY policy matches, or no dry-run ALLOW policy does. */
  verdict: Verdict;
  /** The first matching dry-run policy, else the first that applied. */
  policy: SourceRef;
  /** The rule of `policy` that matched, when one did. */
  rule?: SourceRef;
  reason: string;
  /** Every dry-run policy of the engine that applied to the call, and whether it matches (undefined: the call lacks what it tests). */
  policies: readonly ShadowMatch[];
}

export interface AuditMark {
  policy: SourceRef;
  rule: SourceRef;
}

export interface ShadowMatch {
  policy: SourceRef;
  /** Its first matching rule. */
  rule?: SourceRef;
  matches: boolean | undefined;
}

/** What denied a call, as a proxy's log can name it. */
export interface Denier {
  /** `policy`: a rule of the named policy matched (Istio: a DENY AuthorizationPolicy);
   * `no-allow`: ALLOW policies applied and none matched; `peer-authentication`: the named
   * PeerAuthentication requires mutual TLS and the call was plaintext. Linkerd: `server`, no
   * authorization of the named Server admitted the call; `default`, none of the named default
   * policy's (`name`: `all-authenticated`, `deny`, ...). */
  kind: 'policy' | 'no-allow' | 'peer-authentication' | 'server' | 'default';
  namespace?: string;
  name?: string;
  /** The RBAC policy id Envoy logs, when it is not `ns[<namespace>]-policy[<name>]-rule[<n>]`
   * (Istio: a CUSTOM policy enforced as DENY). */
  policyId?: string;
}

export interface DecisionAlternative {
  verdict: Verdict;
  policy?: SourceRef;
  rule?: SourceRef;
}

export interface PolicySet {
  /** Every recognized resource of the mesh in the workspace, with its file (for ranges). */
  resources: ReadonlyArray<{ file: SourceFile; resource: Resource }>;
  inventory: Inventory;
  /** Every file of the workspace as read at compile time (inventory manifests included), so that
   * a simulator reading what the inventory does not keep (Linkerd: probes) need not read the disk. */
  sourceFiles?: readonly SourceFile[];
  config: ProjectConfig;
  /** Stub verdicts for Istio CUSTOM providers, by provider name (from configuration). */
  customProviderVerdicts?: Record<string, 'allow' | 'deny'>;
  /** Compiled forms of single resources from the last compile of the mesh, to reuse those
   * whose text and place did not change (`compiledForms.ts`); a simulator may ignore it. */
  forms?: CompiledForms;
}

/**
 * Calls folded by what a mesh's policies can read of them (`simulate/fold.ts`): calls that reach
 * the same slot get equal decisions from `decide` (verdict, policy, rule, reason, missing,
 * trace, status, audit mark, shadow verdicts), so a list of calls is decided once per slot and
 * the decision is shared. Built from the compiled policies, e.g. without the caller's address
 * at a destination where no policy tests it.
 */
export interface CallFold {
  /** The call's slot, or undefined when the call is to be decided on its own. `ids`: the
   * call's row of value ids (`TrafficShape.ids`), when ingest gave one. */
  slot(call: AccessRecord, ids?: Int32Array): FoldSlot | undefined;
}

/** Where the decision of the calls folded together is kept. */
export interface FoldSlot {
  decision: Decision | undefined;
}

export interface CompiledPolicies {
  decide(call: AccessRecord): Decision;
  /** A fresh fold for one list of calls (its memory goes with it); absent: decide each call. */
  fold?(): CallFold;
  /**
   * Facts drawn from all the mesh's policies together that change decisions beyond the
   * destinations each policy attaches to (e.g. whether any PeerAuthentication exists). When the
   * text differs after an edit, every call of the mesh is decided again.
   */
  globals?(): string;
  /**
   * The namespace a caller's identity names for a workload of Kubernetes namespace `namespace`
   * (Consul without Enterprise namespaces: `default`, where consul-k8s registers every service);
   * absent: the same namespace.
   */
  identityNamespace?(namespace: string): string;
  /**
   * The resources the mesh refuses to store (Consul: an entry its validation rejects; Istio: a
   * resource the API server's schema or istiod's validating webhook rejects), which therefore
   * decide nothing: `ref` the resource (Consul's: the whole entry; Istio's: its name), `reason`
   * why, as a sentence's end ("Consul refuses to store it (...)", "Istio refuses to store it
   * (...)"). Absent: none is refused at this level.
   */
  notInEffect?(): readonly { ref: SourceRef; reason: string }[];
}

export interface MeshSimulator {
  mesh: Mesh;
  /** Compiles the policies once into matchers; decide() is then called per observed call shape. */
  compile(policies: PolicySet): CompiledPolicies;
  /**
   * What `compile` reads of a workspace file beyond the mesh's recognized resources (Consul: its
   * jwt-provider entries), as a digest that differs when that part of the file changed ('' when
   * the file holds none). After an edit, a mesh whose digest of a changed file differs between
   * its old and new versions must be compiled again. A mesh without such inputs leaves it out.
   */
  fileInputs?(file: SourceFile): string;
  /**
   * When the call's log names what decided it (e.g. the policy that denied it) and the decision
   * says otherwise: one sentence with both. A mesh whose logs name no decider leaves it out.
   */
  observedDifference?(decision: Decision, call: AccessRecord): string | undefined;
}

/** How a decision compares with what the logs observed. */
export type Change = 'unchanged' | 'newly-denied' | 'newly-allowed' | 'unknown';

export function classify(decision: Decision, observed: AccessRecord['observed']): Change {
  if (decision.verdict === 'unknown' || decision.verdict === 'external' || !observed || observed === 'unknown') return decision.verdict === 'unknown' ? 'unknown' : 'unchanged';
  if (decision.verdict === 'deny' && observed === 'allowed') return 'newly-denied';
  if (decision.verdict === 'allow' && observed === 'denied') return 'newly-allowed';
  return 'unchanged';
}

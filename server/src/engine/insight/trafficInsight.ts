import { sameStrings } from '../strings';
import type { WorkspaceView } from '../checks/check';
import { applyRuleSettings } from '../checks/suppress';
import type { RuleSetting } from '../config/projectConfig';
import { rangeMovedBy, type Finding, type Range, type RelatedLocation } from '../findings';
import { MESH_DISPLAY_NAMES, type Mesh } from '../meshes';
import type { Resource } from '../resource';
import { observedDifference, sameTally, type MovedLines, type RefusedResource as ResourceNotInEffect, type Simulation, type ShapeOutcome, type SimulationResult } from '../simulate';
import { sameDeciders, sameRef } from '../simulate/sourceRefs';
import { absentDeniers, absentDeniersSentence, PresentDeniers } from '../simulate/absentDeniers';
import { dryRunCountsIn, dryRunEngineDifference, dryRunSummary, type DryRunCounts } from '../simulate/dryRun';
import type { Decision, SourceRef } from '../simulate/types';
import type { SourceFile } from '../source/sourceFile';
import { CompiledForms } from '../simulate/compiledForms';
import { getEntry, nodeAt, type Span } from '../source/tree';
import { describeCall } from '../traffic/describeCall';
import { TrafficCodes, TRAFFIC_RULES } from './codes';
import { outlineWithKeys, type FileOutline, type OutlineItem } from './outline';
import { impactAt, impactLens, impactSentence, type BaselineComparison, type PolicyImpact } from '../baseline';
import { keyLinesBetween, lowerBound, MovedKeys, PositionIndex, positionKey } from './decidedIndex';
import { callersLine, callsTable, count, displayedCalls, explainMarkdown, plural, rowCall, type DisplayedCall } from './render';
import { valueFilter } from './valueFilter';
import { AuthenticationIndex, isAuthnItem, type AuthenticationSummary, type AuthnLens } from './authnLens';

/** Counts shown in a lens: calls decided by a policy or rule, by verdict and change. */
export interface LensCounts {
  calls: number;
  allowed: number;
  denied: number;
  other: number;
  newlyDenied: number;
  newlyAllowed: number;
  /** Of `allowed`, the calls only a Linkerd audit authorization admitted (`accessPolicy: audit`): enforced, they would be denied. */
  auditAllowed: number;
}

export interface TrafficLens {
  item: OutlineItem;
  counts: LensCounts;
  title: string;
}

/** The client command that opens generated policies (meshPolicy/generate). */
export const GENERATE_COMMAND = 'meshPolicy.generatePolicies';

const DEFAULT_SEVERITY = new Map(TRAFFIC_RULES.map((r) => [r.code, r.defaultSeverity]));
const TOP_IN_MESSAGE = 3;
const HOVER_ROWS = 10;
const NEAR_MISS_CANDIDATES = 2_000;

/** An inventory workload that receives calls no policy decided, and those calls (outcome indexes). */
interface Uncovered {
  workload: { file: string; span: Span; kind: string; name: string; namespace: string };
  calls: Set<number>;
}


/**
 * The indexes one insight hands on to the next while the traffic stays the same: the next one
 * updates them by difference (only outcomes decided again move) and then owns them.
 */
interface InsightState {
  outcomes: readonly ShapeOutcome[];
  /** Outcome indexes, busiest shape first (ties in shape order); shapes do not change with edits. */
  byCount: number[];
  /** Per file: outcomes by where their deciding policy and rule start. */
  refs: Map<string, PositionIndex>;
  /** Per file: undecided outcomes by where a policy or rule that decides one of their alternatives starts (Consul: differing definitions, partitions, peers). */
  alternativeRefs: Map<string, PositionIndex>;
  /** Per file: outcomes by where a dry-run policy that applied to them, and its matching rule, start (Decision.shadow). */
  shadowRefs: Map<string, PositionIndex>;
  /** Per file: the outcomes of `shadowRefs` whose log reports dry-run results (`response.dryRun`), by where their dry-run policies start (MPA4008 reads only these). */
  loggedShadowRefs: Map<string, PositionIndex>;
  /** Per file and dry-run policy (its `loggedShadowRefs` key): its MPA4008 findings, before rule settings. */
  dryRunFindings: Map<string, Map<number, Finding[]>>;
  /** Per file: outcomes by where an AUDIT policy that marked them, and its matching rule, start (Decision.auditedBy). */
  auditRefs: Map<string, PositionIndex>;
  /** Per file: outcomes by the ref their MPA4001–4003 finding goes on (the rule in the file, else the policy). */
  groups: Map<string, PositionIndex>;
  /** Per file and group: its findings, before rule settings. */
  groupFindings: Map<string, Map<number, Finding[]>>;
  meshes: Map<Mesh, number>;
  uncovered: Map<string, Uncovered>;
  outlines: Map<string, FileOutline>;
  /** Outline items per resource text and place, kept from the last outline of a file. */
  outlineForms: CompiledForms;
  /** Per file: MPA4xxx findings after rule settings. */
  findings: Map<string, Finding[]>;
  /** Per file: the baseline comparison's policy tallies there. */
  impacts: Map<string, PolicyImpact[]>;
  /**
   * Findings kept by what they were made from, so that a file's findings after an edit are
   * mostly the same objects as before (the server redacts, converts and compares them once):
   * MPA4005 per file by range and message, MPA4006 by the baseline comparison's policy tally
   * (kept while its calls do not change) and whether the policy is in the file.
   */
  unusedKept: Map<string, Map<string, Finding>>;
  impactFindings: WeakMap<PolicyImpact, { inFile: boolean; findings: Finding[] }>;
  /**
   * Per file: lens counts by the item's position keys ("from:to"), and the positions filed or
   * taken out since (a count stays right while no outcome under its range moved).
   */
  lensCounts: Map<string, { counts: Map<string, LensCounts>; moved: number[] }>;
  /** The inventory's workloads by namespace/name, for the inventory object they were read from. */
  workloads?: { inventory: object; byName: Map<string, Uncovered['workload']> };
  /** What PeerAuthentications and RequestAuthentications do to the calls, for the Istio policies as compiled (`authnLens.ts`). */
  authn?: AuthenticationIndex;
  /** The workspace's AuthorizationPolicies and Linkerd Servers, which MPA4002, MPA4004 and MPA4007 compare the deniers the logs name with. */
  presentDeniers: PresentDeniers;
}

/** What changed since the previous insight, for an insight built by difference. */
export interface InsightChange {
  previous: TrafficInsight;
  /** Indexes of the outcomes decided again, ascending (the outcome list may be the previous one, changed in place). */
  redecided: readonly number[];
  /** The outcomes they replaced, in the same order. */
  replaced: readonly ShapeOutcome[];
  /** Files read again, added or removed since the previous insight. */
  changedFiles: readonly string[];
  /** Resources the edit only moved (`SimulationUpdate.moved`): their outcomes were not decided again, and their refs now name the new lines. */
  moved?: readonly MovedLines[];
}

/**
 * What the simulation of the observed traffic says about each policy file: findings (MPA4xxx),
 * lens counts, hovers, call lists and explanations. LSP-free, the language server and the CLI
 * adapt it. Built from scratch after a traffic load, or, after an edit, from the previous
 * insight by difference (`InsightChange`): only the outcomes decided again are re-filed, and
 * findings are computed again only for `dirtyFiles`. Either way the answers are the same.
 */
export class TrafficInsight {
  private state: InsightState;
  /** Files whose findings may differ from those of the insight it was built from (`basis`); undefined: every file. */
  readonly dirtyFiles: ReadonlySet<string> | undefined;
  /** The insight this one was built from by difference. */
  readonly basis: TrafficInsight | undefined;

  constructor(
    private readonly workspace: WorkspaceView,
    private readonly simulation: Simulation,
    readonly result: SimulationResult,
    private readonly rules: Record<string, RuleSetting> = {},
    /** The same calls decided by the policies at a git ref, when there is one to compare with. */
    readonly baseline?: BaselineComparison,
    change?: InsightChange,
  ) {
    const previous = change?.previous.takeState();
    if (previous && previous.outcomes.length === result.outcomes.length) {
      this.state = previous;
      this.dirtyFiles = this.update(previous, change!);
      this.basis = change!.previous;
      // Only the last step is kept: an older insight (and its outcomes) can be collected.
      change!.previous.forgetBasis();
    } else {
      this.state = this.build();
      this.dirtyFiles = undefined;
      this.basis = undefined;
    }
  }

  private forgetBasis(): void {
    (this as { basis: TrafficInsight | undefined }).basis = undefined;
  }

  /** Hands the indexes on to the next insight; this one must not be asked anything afterwards. */
  private takeState(): InsightState | undefined {
    const state = this.state;
    this.state = undefined as unknown as InsightState;
    return state;
  }

  private build(): InsightState {
    const outcomes = this.result.outcomes;
    const state: InsightState = {
      outcomes,
      byCount: [...outcomes.keys()].sort((a, b) => outcomes[b]!.shape.count - outcomes[a]!.shape.count || a - b),
      refs: new Map(), alternativeRefs: new Map(), shadowRefs: new Map(), loggedShadowRefs: new Map(), dryRunFindings: new Map(), auditRefs: new Map(), groups: new Map(), groupFindings: new Map(), meshes: new Map(), uncovered: new Map(),
      outlines: new Map(), outlineForms: new CompiledForms(), findings: new Map(), impacts: impactsByFile(this.baseline),
      unusedKept: new Map(), impactFindings: new WeakMap(), lensCounts: new Map(), presentDeniers: new PresentDeniers(this.workspace.resources),
    };
    this.state = state;
    this.refreshOutlines(new Set());
    const workloads = this.workloads();
    outcomes.forEach((outcome, index) => this.file(index, outcome, 1, new Set(), workloads));
    return state;
  }

  /** Re-files the outcomes decided again and says which files' findings may have changed. */
  private update(state: InsightState, change: InsightChange): Set<string> {
    const dirty = new Set(change.changedFiles);
    this.moveKeys(state, change.moved ?? [], dirty);
    const meshesBefore = [...state.meshes.keys()].join();
    const workloads = this.workloads();
    change.redecided.forEach((index, k) => {
      const before = change.replaced[k]!;
      const after = this.result.outcomes[index]!;
      if (sameFiling(before, after)) return;
      this.file(index, before, -1, dirty, workloads);
      this.file(index, after, 1, dirty, workloads);
    });
    state.outcomes = this.result.outcomes;
    this.refreshOutlines(dirty);
    // Whether a PeerAuthentication or RequestAuthentication is in use (MPA4003) follows them as compiled.
    const authnBefore = state.authn;
    const authn = this.authentication();
    if (authnBefore && authnBefore !== authn) for (const path of state.outlines.keys()) if (authnBefore.hasResourcesIn(path) || authn.hasResourcesIn(path)) dirty.add(path);
    const impacts = impactsByFile(this.baseline);
    for (const path of new Set([...impacts.keys(), ...state.impacts.keys()])) {
      const before = state.impacts.get(path) ?? [];
      const after = impacts.get(path) ?? [];
      if (before.length !== after.length || before.some((p, i) => p !== after[i])) dirty.add(path);
    }
    state.impacts = impacts;
    // Unused-rule hints are given only for meshes with traffic.
    if ([...state.meshes.keys()].join() !== meshesBefore) for (const path of state.outlines.keys()) dirty.add(path);
    // A denier the logs name that a policy now added or renamed is (or no longer is): the messages naming absent ones change.
    const presentDeniers = new PresentDeniers(this.workspace.resources);
    if (presentDeniers.signature !== state.presentDeniers.signature) {
      state.presentDeniers = presentDeniers;
      state.groupFindings.clear();
      for (const path of state.outlines.keys()) dirty.add(path);
      for (const { workload } of state.uncovered.values()) dirty.add(workload.file);
    }
    for (const path of dirty) state.findings.delete(path);
    return dirty;
  }

  /**
   * Files what was filed at the lines of resources that only moved at their new lines (the refs
   * of their decisions were moved in place). Their findings are moved, as new objects, and their
   * lens counts stay, under the items' new keys; where two keys meet, the findings are made again.
   */
  private moveKeys(state: InsightState, moved: readonly MovedLines[], dirty: Set<string>): void {
    const byFile = new Map<string, MovedLines[]>();
    for (const move of moved) {
      const list = byFile.get(move.file);
      if (list) list.push(move);
      else byFile.set(move.file, [move]);
    }
    for (const [path, moves] of byFile) {
      dirty.add(path);
      const to = new MovedKeys(moves).to;
      // (a key that another one meets now holds more outcomes: its findings are made again)
      const met = new Set<number>();
      for (const indexes of [state.refs, state.alternativeRefs, state.shadowRefs, state.loggedShadowRefs, state.auditRefs, state.groups]) {
        const index = indexes.get(path);
        if (!index) continue;
        const landed = new Set<number>();
        for (const key of index.keys()) {
          const target = to(key);
          if (landed.has(target)) met.add(target);
          landed.add(target);
        }
        index.rekey(to);
      }
      // The findings of a key that only moved are its findings moved (their messages name no line of the file).
      for (const caches of [state.groupFindings, state.dryRunFindings]) {
        const cache = caches.get(path);
        if (!cache) continue;
        const kept = new Map<number, Finding[]>();
        for (const [key, findings] of cache) {
          const target = to(key);
          if (met.has(target)) continue;
          const lines = keyLinesBetween(key, target);
          kept.set(target, lines === 0 ? findings : findings.map((finding) => ({ ...finding, range: rangeMovedBy(finding.range, lines) })));
        }
        caches.set(path, kept);
      }
      const lensCounts = state.lensCounts.get(path);
      if (lensCounts) {
        const counts = new Map<string, LensCounts>();
        for (const [key, value] of lensCounts.counts) {
          const [from, until] = key.split(':').map(Number) as [number, number];
          counts.set(`${to(from)}:${to(until)}`, value);
        }
        state.lensCounts.set(path, { counts, moved: lensCounts.moved.map(to) });
      }
      for (const policy of state.impacts.get(path) ?? []) state.impactFindings.delete(policy);
    }
  }

  /** Outlines of files not seen yet or read again; files gone lose theirs. */
  private refreshOutlines(dirty: Set<string>): void {
    const byFile = new Map<string, { file: SourceFile; resources: Resource[] }>();
    for (const { file, resource } of this.workspace.resources) {
      let entry = byFile.get(file.path);
      if (!entry) byFile.set(file.path, (entry = { file, resources: [] }));
      entry.resources.push(resource);
    }
    const outlines = this.state.outlines;
    for (const path of outlines.keys()) {
      if (byFile.has(path)) continue;
      outlines.delete(path);
      dirty.add(path);
    }
    for (const [path, { file, resources }] of byFile) {
      if (outlines.get(path)?.file === file) continue;
      outlines.set(path, outlineWithKeys(file, resources, this.state.outlineForms));
      dirty.add(path);
    }
    this.state.outlineForms.settle();
  }

  /** The inventory stays the same object until a file changes what it adds to it: read once per inventory. */
  private workloads(): Map<string, Uncovered['workload']> {
    const inventory = this.workspace.inventory;
    if (this.state.workloads?.inventory === inventory) return this.state.workloads.byName;
    const workloads = new Map<string, Uncovered['workload']>();
    if (inventory.present) for (const w of inventory.workloads) if (!workloads.has(`${w.namespace}/${w.name}`)) workloads.set(`${w.namespace}/${w.name}`, w);
    this.state.workloads = { inventory, byName: workloads };
    return workloads;
  }

  /** The authentication of the calls for the Istio policies as compiled now: kept while the PeerAuthentications and RequestAuthentications stay as they were. */
  private authentication(): AuthenticationIndex {
    const compiled = this.simulation.compiledFor('istio');
    const kept = this.state.authn;
    if (kept?.adopt(compiled)) return kept;
    return (this.state.authn = new AuthenticationIndex(compiled));
  }

  /** What every PeerAuthentication and RequestAuthentication did to the calls (the audit's authentication section). */
  /** The resources the meshes refuse to store, as the simulation of this insight compiled them. */
  notInEffect(): ResourceNotInEffect[] {
    return this.simulation.notInEffect();
  }

  authenticationSummaries(): AuthenticationSummary[] {
    return this.authentication().summaries(this.result.outcomes);
  }

  /** The authentication lens of a PeerAuthentication or RequestAuthentication item (`from`, `to`: its position keys). */
  private authnLens(item: Pick<OutlineItem, 'kind' | 'label' | 'file'>, from: number, to: number): AuthnLens | undefined {
    return isAuthnItem(item) ? this.authentication().lensOf({ file: item.file, from, to }, this.result.outcomes) : undefined;
  }

  /** A PeerAuthentication's portLevelMtls entries, each with its own lens item. */
  private portItems(item: OutlineItem): { port: number; item: OutlineItem; from: number; to: number }[] {
    if (!item.label.startsWith('PeerAuthentication ')) return [];
    const file = this.workspace.sourceFile(item.file);
    const resource = this.workspace.resources.find((r) => r.file.path === item.file && r.resource.node.span.start === item.span.start);
    const ports = getEntry(getEntry(resource?.resource.node, 'spec')?.value, 'portLevelMtls')?.value;
    if (!file || ports?.type !== 'object') return [];
    return ports.entries.flatMap((entry) => {
      const port = Number(entry.key);
      if (!Number.isInteger(port)) return [];
      const span = { start: entry.keySpan.start, end: entry.value.span.end };
      const start = file.lines.position(span.start);
      const head = { start, end: file.lines.position(Math.min(span.end, file.lines.lineEnd(start.line))) };
      return [{ port, item: { kind: 'rule' as const, mesh: item.mesh, file: item.file, label: `portLevelMtls ${entry.key}`, span, head, policyLabel: item.label }, from: positionKey(start), to: positionKey(file.lines.position(span.end)) }];
    });
  }

  /** The authentication lens at an offset: a portLevelMtls entry's, else its PeerAuthentication's or RequestAuthentication's. */
  private authnLensAt(path: string, offset: number): AuthnLens | undefined {
    const item = this.itemAt(path, offset);
    const file = this.workspace.sourceFile(path);
    if (!item || !file || !isAuthnItem(item)) return undefined;
    const from = positionKey(file.lines.position(item.span.start));
    const to = positionKey(file.lines.position(item.span.end));
    const entry = this.portItems(item).find((p) => within(offset, p.item.span));
    return entry ? this.authentication().portLensOf({ file: path, from, to }, entry.port, this.result.outcomes) : this.authnLens(item, from, to);
  }

  /** Files (sign 1) or takes out (sign -1) one outcome in every index, noting the files it touches. */
  private file(index: number, outcome: ShapeOutcome, sign: 1 | -1, dirty: Set<string>, workloads: Map<string, Uncovered['workload']>): void {
    const state = this.state;
    const { decision } = outcome;
    state.meshes.set(decision.mesh, (state.meshes.get(decision.mesh) ?? 0) + sign);
    if (state.meshes.get(decision.mesh) === 0) state.meshes.delete(decision.mesh);
    /** Files the outcome at `ref` in the per-file index `byFile`; false for a ref outside the workspace (filed nowhere, and was not before). */
    const fileAt = (byFile: Map<string, PositionIndex>, ref: SourceRef): boolean => {
      if (sign === 1 && !this.workspace.sourceFile(ref.file)) return false;
      dirty.add(ref.file);
      let refs = byFile.get(ref.file);
      if (!refs) byFile.set(ref.file, (refs = new PositionIndex()));
      const key = positionKey(ref.range.start);
      if (sign === 1) refs.add(key, index);
      else refs.remove(key, index);
      if (byFile === state.loggedShadowRefs) state.dryRunFindings.get(ref.file)?.delete(key);
      else if (byFile !== state.alternativeRefs) state.lensCounts.get(ref.file)?.moved.push(key);
      return true;
    };
    for (const [ref, deciders] of filedRefs(decision)) {
      if (!fileAt(state.refs, ref)) continue;
      const group = findingRef(deciders, ref.file)!;
      const groupKey = positionKey(group.range.start);
      let groups = state.groups.get(ref.file);
      if (!groups) state.groups.set(ref.file, (groups = new PositionIndex()));
      if (sign === 1) groups.add(groupKey, index);
      else groups.remove(groupKey, index);
      state.groupFindings.get(ref.file)?.delete(groupKey);
    }
    for (const alternative of decision.alternatives ?? []) for (const ref of decidingRefs(alternative)) fileAt(state.alternativeRefs, ref);
    for (const ref of shadowRefs(decision)) fileAt(state.shadowRefs, ref);
    if (outcome.shape.record.response?.dryRun) for (const shadow of decision.shadow ?? []) for (const { policy } of shadow.policies) fileAt(state.loggedShadowRefs, policy);
    for (const mark of decision.auditedBy ?? []) {
      fileAt(state.auditRefs, mark.policy);
      fileAt(state.auditRefs, mark.rule);
    }
    if (decision.policy || decision.verdict === 'unknown') return;
    const destination = outcome.shape.record.destination;
    if (!destination?.workload || !destination.namespace) return;
    const key = `${destination.namespace}/${destination.workload}`;
    const workload = workloads.get(key);
    if (!workload) return;
    let entry = state.uncovered.get(key);
    if (sign === 1) {
      if (!entry) state.uncovered.set(key, (entry = { workload, calls: new Set() }));
      entry.calls.add(index);
    } else if (entry?.calls.delete(index) && entry.calls.size === 0) state.uncovered.delete(key);
    dirty.add(workload.file);
  }

  get files(): string[] {
    return [...new Set([...this.state.outlines.keys(), ...[...this.state.uncovered.values()].map((u) => u.workload.file)])];
  }

  /** The outcomes a policy or rule decided: those whose deciding policy or rule lies in its text, in shape order. */
  outcomesOf(item: { file: string; span: Span }): ShapeOutcome[] {
    return this.indexesOf(item).map((i) => this.result.outcomes[i]!);
  }

  private indexesOf(item: { file: string; span: Span }): number[] {
    const refs = this.state.refs.get(item.file);
    const file = this.workspace.sourceFile(item.file);
    if (!refs || !file) return [];
    return refs.indexesIn(positionKey(file.lines.position(item.span.start)), positionKey(file.lines.position(item.span.end)));
  }

  offsetOf(path: string, position: { line: number; character: number }): number | undefined {
    const file = this.workspace.sourceFile(path);
    return file && position.line < file.lines.lineCount ? file.lines.offset(position) : undefined;
  }

  outline(path: string): OutlineItem[] {
    return this.state.outlines.get(path)?.items ?? [];
  }

  /** Lenses of a file; counts are kept from the last call where no outcome under the item moved. */
  lenses(path: string): TrafficLens[] {
    const outline = this.state.outlines.get(path);
    if (!outline) return [];
    const refs = this.state.refs.get(path);
    const before = this.state.lensCounts.get(path);
    const moved = before ? before.moved.sort((a, b) => a - b) : [];
    const counts = new Map<string, LensCounts>();
    const countsOf = (from: number, to: number): LensCounts => {
      const key = `${from}:${to}`;
      let found = counts.get(key) ?? (before && !anyWithin(moved, from, to) ? before.counts.get(key) : undefined);
      found ??= tally(refs ? refs.indexesIn(from, to).map((i) => this.result.outcomes[i]!) : []);
      counts.set(key, found);
      return found;
    };
    const shadows = this.state.shadowRefs.get(path);
    const audits = this.state.auditRefs.get(path);
    const lenses = outline.items.flatMap((item, i) => {
      const { from, to } = outline.keys[i]!;
      const counts = countsOf(from, to);
      const impact = this.baseline ? impactAt(this.baseline, path, item.head) : undefined;
      const versus = this.baseline && impact ? impactLens(this.baseline.ref, impact) : undefined;
      // PeerAuthentication and RequestAuthentication seldom decide a call: their lens says what they do to the calls.
      const authn = this.authnLens(item, from, to);
      // A dry-run policy decides no call: its lens says what it would have done.
      const dryRun = counts.calls === 0 && shadows?.any(from, to) ? this.dryRunIn(shadows, from, to) : undefined;
      // An AUDIT policy decides no call either: its lens counts the calls it marks.
      const audit = counts.calls === 0 && dryRun === undefined && audits?.any(from, to) ? auditTitle(tally(audits.indexesIn(from, to).map((i) => this.result.outcomes[i]!))) : undefined;
      const title = authn?.title ?? dryRun ?? audit ?? lensTitle(counts);
      const lens: TrafficLens = { item, counts, title: versus ? `${title} · ${versus}` : title };
      if (!authn) return [lens];
      const ports = this.portItems(item).map((entry): TrafficLens => ({ item: entry.item, counts: countsOf(entry.from, entry.to), title: this.authentication().portLensOf({ file: path, from, to }, entry.port, this.result.outcomes)!.title }));
      return [lens, ...ports];
    });
    this.state.lensCounts.set(path, { counts, moved: [] });
    return lenses;
  }

  /** The dry-run summary of the item from `from` to `to` (position keys), when a dry-run policy or rule there met any call. */
  private dryRunIn(shadows: PositionIndex, from: number, to: number): string | undefined {
    const dryRun = this.dryRunOf(shadows, from, to);
    return dryRun && dryRunSummary(dryRun.counts, dryRun.engine, dryRun.rule);
  }

  private dryRunOf(shadows: PositionIndex, from: number, to: number): { counts: DryRunCounts; engine: 'allow' | 'deny'; rule: boolean; shown: ShapeOutcome[]; indexOf: Map<ShapeOutcome, number> } | undefined {
    const inItem = (ref: SourceRef): boolean => {
      const key = positionKey(ref.range.start);
      return key >= from && key <= to;
    };
    const indexOf = new Map(shadows.indexesIn(from, to).map((i) => [this.result.outcomes[i]!, i]));
    const found = dryRunCountsIn(indexOf.keys(), inItem, inItem);
    return found.engine === undefined ? undefined : { ...found, engine: found.engine, indexOf };
  }

  /** The hover lines of a dry-run policy or rule: what it would do, and the busiest calls it would deny (a rule: it matches). */
  private dryRunHover(path: string, item: OutlineItem): string[] {
    const shadows = this.state.shadowRefs.get(path);
    const file = this.workspace.sourceFile(path);
    if (!shadows || !file) return [];
    const from = positionKey(file.lines.position(item.span.start));
    const to = positionKey(file.lines.position(item.span.end));
    const dryRun = this.dryRunOf(shadows, from, to);
    if (!dryRun) return [];
    const rows = displayedCalls(dryRun.shown.sort((a, b) => b.shape.count - a.shape.count));
    const lines = [`${dryRunSummary(dryRun.counts, dryRun.engine, dryRun.rule)}.`, ''];
    if (rows.length) lines.push(dryRun.rule ? 'Calls it matches:' : 'Calls it would deny if enforced:', '', callsTable(rows.slice(0, HOVER_ROWS), { explainId: (o) => callId(dryRun.indexOf.get(o)!) }), '');
    const otherwise = displayedCalls([...dryRun.indexOf.keys()].filter((o) => o.decision.shadow?.some((s) => s.engine === dryRun.engine && dryRunEngineDifference(s.engine, o.decision, o.shape.record) !== undefined)));
    if (!dryRun.rule && otherwise.length) {
      lines.push('**Logged otherwise** (the proxy reported another dry-run result):', '');
      for (const row of otherwise.slice(0, 5)) lines.push(`- ${count(row.calls)}× \`${rowCall(row)}\`: ${dryRunEngineDifference(dryRun.engine, row.outcome.decision, row.outcome.shape.record)}`);
      lines.push('');
    }
    return lines;
  }

  /** MPA4xxx findings of one file, after the configured severities and inline suppressions. */
  findings(path: string): Finding[] {
    let cached = this.state.findings.get(path);
    if (!cached) {
      const file = this.workspace.sourceFile(path);
      cached = file ? applyRuleSettings([...this.decisionFindings(path), ...this.dryRunFindings(path), ...this.unusedFindings(path), ...this.uncoveredFindings(path), ...this.baselineFindings(path)], file, this.rules) : [];
      this.state.findings.set(path, cached);
    }
    return cached;
  }

  /** A finding at a copy of `range` (a ref's range moves in place when its resource moves: `CompiledForms`). */
  private finding(code: string, file: string, range: Range, message: string, related?: RelatedLocation[]): Finding {
    return { file, range: rangeMovedBy(range, 0), severity: DEFAULT_SEVERITY.get(code) ?? 'info', code, message, ...(related?.length ? { related } : {}) };
  }

  /** Newly denied, newly allowed and undecided calls, one finding per deciding rule (or policy), in source order. */
  private decisionFindings(path: string): Finding[] {
    return this.findingsPerKey(path, this.state.groups, this.state.groupFindings, (_key, outcomes) => this.groupFindings(path, outcomes));
  }

  /**
   * Findings made per key of a file's index from the outcomes filed there, kept in `caches` until
   * an outcome is filed at or taken from that key (`file` deletes the entry), in key order.
   */
  private findingsPerKey(path: string, indexes: Map<string, PositionIndex>, caches: Map<string, Map<number, Finding[]>>, make: (key: number, outcomes: ShapeOutcome[]) => Finding[]): Finding[] {
    const index = indexes.get(path);
    if (!index) return [];
    let cache = caches.get(path);
    if (!cache) caches.set(path, (cache = new Map()));
    const out: Finding[] = [];
    for (const key of index.keys()) {
      let findings = cache.get(key);
      if (!findings) cache.set(key, (findings = make(key, index.indexesAt(key).map((i) => this.result.outcomes[i]!))));
      out.push(...findings);
    }
    return out;
  }

  private groupFindings(path: string, outcomes: ShapeOutcome[]): Finding[] {
    const decision = outcomes[0]!.decision;
    const ref = findingRef(decision, path)!;
    // A rule is named after its policy, as MPA4003 names it (Consul's rule labels already start with it).
    const label = ref === decision.rule && decision.policy && !`${ref.label} `.startsWith(`${decision.policy.label} `) ? `${decision.policy.label} ${ref.label}` : ref.label;
    const denied = outcomes.filter((o) => o.change === 'newly-denied');
    const allowed = outcomes.filter((o) => o.change === 'newly-allowed');
    const unknown = outcomes.filter((o) => o.change !== 'newly-denied' && o.change !== 'newly-allowed' && o.decision.verdict === 'unknown');
    // (a call the logs show denied and the policies allow is MPA4002's)
    const otherwise = outcomes.filter((o) => o.decision.verdict === 'deny' && observedDifference(o.decision, o.shape.record) !== undefined);
    const out: Finding[] = [];
    if (denied.length) {
      const rows = displayedCalls(denied);
      out.push(this.finding(TrafficCodes.newlyDenied, path, ref.focus ?? ref.range, `${label} would deny ${plural(sum(denied), 'observed call')} that succeeded: ${topCalls(rows)}`, sampleLinks(rows)));
    }
    if (allowed.length) {
      const rows = displayedCalls(allowed);
      out.push(this.finding(TrafficCodes.newlyAllowed, path, ref.focus ?? ref.range, `${label} would allow ${plural(sum(allowed), 'observed call')} that were denied: ${topCalls(rows)}${this.absentDeniersNote(allowed)}`, sampleLinks(rows)));
    }
    if (otherwise.length) {
      const rows = displayedCalls(otherwise);
      const busiest = rows[0]!.outcome;
      out.push(this.finding(TrafficCodes.deniedOtherwise, path, ref.focus ?? ref.range, `${label} denies ${plural(sum(otherwise), 'observed call')} that the logs show denied by another policy (${observedDifference(busiest.decision, busiest.shape.record)}): ${topCalls(rows)}${this.absentDeniersNote(otherwise)}`, sampleLinks(rows)));
    }
    if (unknown.length) {
      const missing = [...new Set(unknown.flatMap((o) => o.decision.missing ?? []))];
      const rows = displayedCalls(unknown);
      out.push(this.finding(TrafficCodes.undecided, path, ref.focus ?? ref.range, `${label} cannot decide ${plural(sum(unknown), 'observed call')}${missing.length ? `: the logs do not record ${missing.join(', ')}` : ''}: ${topCalls(rows)}`, sampleLinks(rows)));
    }
    return out;
  }

  /** MPA4008: per dry-run policy of the file, the calls whose log reports another result of its dry-run engine (kept per policy until its calls move). */
  private dryRunFindings(path: string): Finding[] {
    return this.findingsPerKey(path, this.state.loggedShadowRefs, this.state.dryRunFindings, (key, outcomes) => this.loggedOtherwiseFindings(path, key, outcomes));
  }

  private loggedOtherwiseFindings(path: string, key: number, outcomes: ShapeOutcome[]): Finding[] {
    let ref: SourceRef | undefined;
    let engine: 'allow' | 'deny' = 'deny';
    const differing: ShapeOutcome[] = [];
    for (const outcome of outcomes) {
      for (const shadow of outcome.decision.shadow ?? []) {
        const match = shadow.policies.find((m) => m.policy.file === path && positionKey(m.policy.range.start) === key);
        if (!match) continue;
        ref = match.policy;
        engine = shadow.engine;
        if (dryRunEngineDifference(shadow.engine, outcome.decision, outcome.shape.record) !== undefined) differing.push(outcome);
      }
    }
    if (!ref || differing.length === 0) return [];
    const rows = displayedCalls(differing);
    const busiest = rows[0]!.outcome;
    return [this.finding(TrafficCodes.dryRunLoggedOtherwise, path, ref.focus ?? ref.range, `${ref.label} is in dry run; for ${plural(sum(differing), 'observed call')} the logs report another result of the ${engine === 'deny' ? 'dry-run DENY' : 'dry-run ALLOW'} policies than the simulation, so one of them, probably this one, was changed since the logs were written (${dryRunEngineDifference(engine, busiest.decision, busiest.shape.record)}): ${topCalls(rows)}`, sampleLinks(rows))];
  }

  /** MPA4006: per policy (or rule) whose decisions differ from the baseline's. */
  private baselineFindings(path: string): Finding[] {
    const comparison = this.baseline;
    if (!comparison) return [];
    const out: Finding[] = [];
    for (const policy of this.state.impacts.get(path) ?? []) {
      const inFile = this.state.outlines.get(path)?.policyLabels.has(policy.ref.label) === true;
      const cached = this.state.impactFindings.get(policy);
      if (cached?.inFile === inFile) {
        out.push(...cached.findings);
        continue;
      }
      const findings: Finding[] = [];
      // A policy only the baseline has: its range is in the old text, so the finding goes to the top.
      if (!inFile) {
        if (policy.becomeDenied || policy.becomeAllowed) findings.push(this.finding(TrafficCodes.baselineChange, path, { start: { line: 0, character: 0 }, end: { line: 0, character: 0 } }, `${policy.ref.label} (removed since ${comparison.ref}): ${impactSentence(comparison.ref, policy)}`));
      } else {
        const targets = policy.rules.size ? [...policy.rules.values()].map((r) => ({ ...r, label: `${policy.ref.label} ${r.ref.label}` })) : [{ ...policy, label: policy.ref.label }];
        for (const target of targets) {
          if (!target.becomeDenied && !target.becomeAllowed) continue;
          findings.push(this.finding(TrafficCodes.baselineChange, path, target.ref.range, `${target.label}: ${impactSentence(comparison.ref, target)}`));
        }
      }
      this.state.impactFindings.set(policy, { inFile, findings });
      out.push(...findings);
    }
    return out;
  }

  /** Rules (and rule-less policies) that decide no observed call, for meshes that have traffic. */
  private unusedFindings(path: string): Finding[] {
    const outline = this.state.outlines.get(path);
    if (!outline) {
      this.state.unusedKept.delete(path);
      return [];
    }
    const refs = this.state.refs.get(path);
    const alternativeRefs = this.state.alternativeRefs.get(path);
    const shadowRefs = this.state.shadowRefs.get(path);
    const auditRefs = this.state.auditRefs.get(path);
    const out: Finding[] = [];
    const before = this.state.unusedKept.get(path);
    const kept = new Map<string, Finding>();
    const add = (item: OutlineItem, message: string) => {
      const { start, end } = item.head;
      const key = `${start.line}:${start.character}:${end.line}:${end.character}\u0000${message}`;
      const finding = before?.get(key) ?? this.finding(TrafficCodes.noObservedTraffic, path, item.head, message);
      kept.set(key, finding);
      out.push(finding);
    };
    const refused = this.refusedResources(path);
    // No span is read here: the items as kept, not moved to their place.
    outline.local.forEach((item, i) => {
      if (!this.state.meshes.has(item.mesh)) return;
      const { from, to } = outline.keys[i]!;
      // A resource the mesh refuses decides nothing: said once, at its first item, with why.
      const refusal = refused.find((r) => r.mesh === item.mesh && refusalCovers(r, item, from, to));
      if (refusal) {
        if (!refusal.said) add(item, `${refusal.label} decides none of the ${plural(this.result.totals.calls, 'observed call')}: it is not in effect, ${refusal.reason}`);
        refusal.said = true;
        return;
      }
      // a rule that decides calls in one of the alternatives of undecided ones is in use
      // (a dry-run policy or rule that applied to calls, or matched them, is in use too; so is an AUDIT rule that marked calls)
      if (outline.hasRules[i] || refs?.any(from, to) || alternativeRefs?.any(from, to) || shadowRefs?.any(from, to) || auditRefs?.any(from, to)) return;
      if (item.kind === 'policy' && !decidesCalls(item.label)) return;
      // (a PeerAuthentication or RequestAuthentication that governs calls is in use, though it
      // decides none; one that governs none is told so in its own terms: it allows nothing)
      const authn = this.authnLens(item, from, to);
      if ((authn?.reaches ?? 0) > 0) return;
      add(item, authn ? authn.unused(this.result.totals.calls) : `${item.kind === 'rule' ? `${item.policyLabel} ${item.label}` : item.label} decides none of the ${plural(this.result.totals.calls, 'observed call')}: it may be unused, or broader than the traffic needs`);
    });
    this.state.unusedKept.set(path, kept);
    return out;
  }

  /** The resources of a file that their mesh refuses to store (`CompiledPolicies.notInEffect`), as position keys. */
  private refusedResources(path: string): RefusedResource[] {
    const out: RefusedResource[] = [];
    for (const mesh of this.state.meshes.keys()) {
      for (const { ref, reason } of this.simulation.compiledFor(mesh)?.notInEffect?.() ?? []) {
        if (ref.file === path) out.push({ mesh, from: positionKey(ref.range.start), to: positionKey(ref.range.end), label: ref.label, reason, said: false });
      }
    }
    return out;
  }

  /** Workloads of the inventory (in the file) that receive calls no policy decided (the mesh default did), in source order. */
  private uncoveredFindings(path: string): Finding[] {
    const file = this.workspace.sourceFile(path);
    if (!file) return [];
    const out: Finding[] = [];
    const here = [...this.state.uncovered.values()].filter((u) => u.workload.file === path).sort((a, b) => a.workload.span.start - b.workload.span.start || a.workload.span.end - b.workload.span.end);
    for (const { workload, calls } of here) {
      const outcomes = [...calls].sort((a, b) => a - b).map((i) => this.result.outcomes[i]!);
      const start = file.lines.position(workload.span.start);
      const range = { start, end: file.lines.position(Math.min(workload.span.end, file.lines.lineEnd(start.line))) };
      const mesh = outcomes[0]!.decision.mesh;
      const callers = new Set(outcomes.map((o) => describeCall(o.shape.record).split(' → ')[0]));
      out.push({
        ...this.finding(TrafficCodes.uncoveredWorkload, path, range, `${workload.kind} ${workload.namespace}/${workload.name} receives ${plural(sum(outcomes), 'observed call')} from ${plural(callers.size, 'caller')}, but no ${MESH_DISPLAY_NAMES[mesh]} policy covers it: ${outcomes[0]!.decision.reason}${this.absentDeniersNote(outcomes)}`, sampleLinks(displayedCalls(outcomes))),
        command: { title: `Generate a least-privilege ${MESH_DISPLAY_NAMES[mesh]} policy for ${workload.namespace}/${workload.name} from the observed calls`, command: GENERATE_COMMAND, arguments: [{ mesh, namespace: workload.namespace, workload: workload.name }] },
      });
    }
    return out;
  }

  /** ` ` and a sentence naming the deniers the logs give for these calls that the workspace lacks, or nothing. */
  private absentDeniersNote(outcomes: readonly ShapeOutcome[]): string {
    const absent = absentDeniers(outcomes, this.state.presentDeniers);
    return absent.length ? ` ${absentDeniersSentence(absent)}` : '';
  }

  /** The innermost rule (else policy) whose text contains the offset. */
  itemAt(path: string, offset: number): OutlineItem | undefined {
    let best: OutlineItem | undefined;
    for (const item of this.outline(path)) {
      if (offset < item.span.start || offset > item.span.end) continue;
      if (!best || item.span.end - item.span.start <= best.span.end - best.span.start) best = item;
    }
    return best;
  }

  /** Hover text over a policy, rule or value inside one: the calls it decides and those it narrowly misses. */
  hover(path: string, offset: number, cancelled: () => boolean = () => false): string | undefined {
    const item = this.itemAt(path, offset);
    if (!item) return undefined;
    const file = this.workspace.sourceFile(path);
    const resource = this.workspace.resources.find((r) => r.file.path === path && offset >= r.resource.node.span.start && offset <= r.resource.node.span.end);
    const at = resource ? nodeAt(resource.resource.node, offset) : undefined;
    const filter = file && at ? valueFilter(resource!.resource.mesh, at.path, at.node) : undefined;
    const indexes = this.indexesOf(item);
    const indexOf = new Map(indexes.map((i) => [this.result.outcomes[i]!, i]));
    let matched = indexes.map((i) => this.result.outcomes[i]!).sort((a, b) => b.shape.count - a.shape.count);
    const heading = `**Observed traffic** · ${item.kind === 'rule' ? `${item.policyLabel} ${item.label}` : item.label}`;
    const lines = [heading, ''];
    const authn = this.authnLensAt(path, offset);
    if (authn) lines.push(`${authn.title}.`, '');
    if (filter) {
      matched = matched.filter((o) => filter.test(o.shape.record));
      lines.push(`Calls it decides with ${filter.label}:`, '');
    }
    const counts = tally(matched);
    const rows = displayedCalls(matched);
    const dryRun = matched.length ? [] : this.dryRunHover(path, item);
    if (dryRun.length) lines.push(...dryRun);
    else if (matched.length || !authn) lines.push(matched.length ? lensTitle(counts) : 'It decides no observed call.', '');
    if (rows.length && !dryRun.length) lines.push(callersLine(rows), '');
    if (rows.length) lines.push(callsTable(rows.slice(0, HOVER_ROWS), { explainId: (o) => callId(indexOf.get(o)!) }), '');
    if (rows.length > HOVER_ROWS) lines.push(`…and ${plural(rows.length - HOVER_ROWS, 'more kind')} of call.`, '');
    const differing = attributedOtherwise(matched, 5);
    if (differing.length) lines.push('**Attributed otherwise in the logs** (another denier named):', '', ...differing, '');
    const misses = this.nearMisses(item, cancelled).slice(0, 5);
    if (misses.length) {
      lines.push('**Narrowly missed** (reached it, failed one condition):', '');
      for (const miss of misses) lines.push(`- ${count(miss.calls)}× \`${describeCall(miss.outcome.shape.record)}\`: ${miss.why}`);
      lines.push('');
    }
    lines.push(`[Show all calls](command:meshPolicy.showTrafficForPolicy?${encodeURIComponent(JSON.stringify([{ file: path, offset: item.span.start }]))})`);
    return lines.join('\n');
  }

  /** Calls whose walkthrough reached the item and stopped at a condition in it. */
  nearMisses(item: OutlineItem, cancelled: () => boolean = () => false): { outcome: ShapeOutcome; why: string; calls: number }[] {
    const file = this.workspace.sourceFile(item.file);
    if (!file) return [];
    const decided = new Set(this.indexesOf(item));
    const candidates: ShapeOutcome[] = [];
    for (const index of this.state.byCount) {
      if (candidates.length >= NEAR_MISS_CANDIDATES) break;
      const outcome = this.result.outcomes[index]!;
      if (!decided.has(index) && outcome.decision.mesh === item.mesh) candidates.push(outcome);
    }
    // Shapes that differ only in what the line shows no sign of (pod IPs, status) read the same: merge them.
    const byText = new Map<string, { outcome: ShapeOutcome; why: string; calls: number }>();
    for (const outcome of candidates) {
      if (cancelled()) break;
      const full = this.simulation.decide(outcome.shape.record, true);
      const step = full.trace.find((s) => s.outcome === 'not-matched' && s.at?.file === item.file && within(file.lines.offset(s.at.range.start), item.span));
      if (!step) continue;
      const text = `${describeCall(outcome.shape.record)}\u0000${step.text}`;
      const seen = byText.get(text);
      if (seen) seen.calls += outcome.shape.count;
      else if (byText.size < 10) byText.set(text, { outcome, why: step.text, calls: outcome.shape.count });
    }
    return [...byText.values()].sort((a, b) => b.calls - a.calls);
  }

  /** Every call a policy or rule decides, as markdown (the lens and "Show traffic for policy"). */
  callsMarkdown(path: string, offset: number, limit = 200, cancelled: () => boolean = () => false): string | undefined {
    const item = this.itemAt(path, offset);
    if (!item) return undefined;
    const authn = this.authnLensAt(path, offset);
    if (authn) return authn.markdown(limit);
    const matched = this.outcomesOf(item).sort((a, b) => b.shape.count - a.shape.count);
    const title = item.kind === 'rule' ? `${item.policyLabel} ${item.label}` : item.label;
    const rows = displayedCalls(matched);
    const out = [`# Observed calls decided by ${title}`, '', `${item.file}:${item.head.start.line + 1}`, '', matched.length ? `${lensTitle(tally(matched))}.` : 'It decides no observed call.', ''];
    if (rows.length) out.push(callersLine(rows), '');
    if (rows.length) out.push(callsTable(rows.slice(0, limit), { samples: true, decidedBy: true }), '');
    if (rows.length > limit) out.push(`…and ${plural(rows.length - limit, 'more kind')} of call.`);
    const differing = attributedOtherwise(matched, limit);
    if (differing.length) out.push('', '## Attributed otherwise in the logs', '', ...differing);
    const misses = this.nearMisses(item, cancelled);
    if (misses.length) {
      out.push('', '## Narrowly missed', '');
      for (const miss of misses) out.push(`- ${count(miss.calls)}× \`${describeCall(miss.outcome.shape.record)}\`: ${miss.why}`);
    }
    return out.join('\n');
  }

  /** Observed calls, busiest first, for a picker. */
  calls(limit = 1_000): { key: string; label: string; detail: string }[] {
    return this.state.byCount.slice(0, limit).map((index) => ({ o: this.result.outcomes[index]!, index })).map(({ o, index }) => ({
      key: callId(index),
      label: `${count(o.shape.count)}× ${describeCall(o.shape.record)}`,
      // (an unknown verdict is its own change: "unknown (unknown)" said nothing more)
      detail: `${o.decision.verdict}${o.change === 'newly-denied' || o.change === 'newly-allowed' ? ` (${o.change.replace('-', ' ')})` : ''} · observed ${o.shape.record.observed ?? 'unknown'} · ${o.decision.reason}`,
    }));
  }

  /** The full walkthrough of one observed call shape. */
  explain(key: string): string | undefined {
    const outcome = this.outcomeByKey(key);
    if (!outcome) return undefined;
    return explainMarkdown(outcome, this.simulation.decide(outcome.shape.record, true));
  }

  private outcomeByKey(key: string): ShapeOutcome | undefined {
    const match = /^call-(\d+)$/.exec(key);
    return match ? this.result.outcomes[Number(match[1])] : undefined;
  }

  decisionFor(key: string): Decision | undefined {
    const outcome = this.outcomeByKey(key);
    return outcome ? this.simulation.decide(outcome.shape.record, true) : undefined;
  }
}

/** Calls are named by their place in the shape list, which stays the same until the logs are read again. */
function callId(index: number): string {
  return `call-${index}`;
}

/** Where the finding about an outcome in `file` goes: its deciding rule when in the file, else its policy when in the file. */
function findingRef(decision: Pick<Decision, 'policy' | 'rule'>, file: string): SourceRef | undefined {
  const ref = decision.rule?.file === file ? decision.rule : decision.policy;
  return ref?.file === file ? ref : undefined;
}

/** The comparison's policy tallies, by the file of the policy. */
function impactsByFile(comparison: BaselineComparison | undefined): Map<string, PolicyImpact[]> {
  const out = new Map<string, PolicyImpact[]>();
  for (const policy of comparison?.policies ?? []) {
    const list = out.get(policy.ref.file);
    if (list) list.push(policy);
    else out.set(policy.ref.file, [policy]);
  }
  return out;
}

/**
 * Whether an outcome decided again files, counts and reads exactly as before: the same deciding
 * policy and rule at the same place, verdict, change, reason and missing attributes (what the
 * indexes, lens counts and finding messages read of it). Most re-decided calls are such.
 */
function sameFiling(before: ShapeOutcome, after: ShapeOutcome): boolean {
  const a = before.decision;
  const b = after.decision;
  return sameTally(before, after) && (a === b || (a.mesh === b.mesh && a.reason === b.reason && sameStrings(a.missing, b.missing) && sameAlternatives(a.alternatives, b.alternatives) && sameShadows(a.shadow, b.shadow) && sameAuditMarks(a.auditedBy, b.auditedBy)));
}

/** Whether two decisions' dry-run verdicts are filed alike: the same policies and matching rules, at the same places, with the same results. */
function sameShadows(a: Decision['shadow'], b: Decision['shadow']): boolean {
  if (a === b) return true;
  if (!a || !b || a.length !== b.length) return false;
  return a.every((x, i) => {
    const y = b[i]!;
    return x.verdict === y.verdict && x.policies.length === y.policies.length && x.policies.every((m, j) => m.matches === y.policies[j]!.matches && sameRef(m.policy, y.policies[j]!.policy) && sameRef(m.rule, y.policies[j]!.rule));
  });
}

/** Whether two decisions were marked by the same AUDIT policies and rules, written at the same places. */
function sameAuditMarks(a: Decision['auditedBy'], b: Decision['auditedBy']): boolean {
  if (a === b) return true;
  if (!a || !b || a.length !== b.length) return false;
  return a.every((x, i) => sameRef(x.policy, b[i]!.policy) && sameRef(x.rule, b[i]!.rule));
}

/** Whether two decisions' alternatives name the same deciders, written at the same places (they are filed by place). */
function sameAlternatives(a: Decision['alternatives'], b: Decision['alternatives']): boolean {
  if (a === b) return true;
  if (!a || !b || a.length !== b.length) return false;
  return a.every((x, i) => x.verdict === b[i]!.verdict && sameDeciders(x, b[i]!));
}

function decidingRefs(decision: Pick<Decision, 'policy' | 'rule'>): SourceRef[] {
  return [decision.policy, decision.rule].filter((r): r is SourceRef => r !== undefined);
}

/** The refs an outcome is filed at, each with the policy and rule it belongs to: the deciding ones, and those of the policy it passed before (Decision.passed). */
function filedRefs(decision: Decision): [SourceRef, Pick<Decision, 'policy' | 'rule'>][] {
  const out = decidingRefs(decision).map((ref): [SourceRef, Pick<Decision, 'policy' | 'rule'>] => [ref, decision]);
  if (decision.passed) for (const ref of decidingRefs(decision.passed)) out.push([ref, decision.passed]);
  return out;
}

/** Where a decision's dry-run policies, and the rules of theirs that matched, start. */
function shadowRefs(decision: Decision): SourceRef[] {
  const out: SourceRef[] = [];
  for (const shadow of decision.shadow ?? []) {
    for (const match of shadow.policies) {
      out.push(match.policy);
      if (match.rule) out.push(match.rule);
    }
  }
  return out;
}

/** Kinds that decide calls themselves (others, like MeshTLSAuthentication, are referenced). */
function decidesCalls(label: string): boolean {
  return !/^(MeshTLSAuthentication|NetworkAuthentication)\b/.test(label);
}

/** Whether a sorted list has a value from `from` to `to`. */
function anyWithin(sorted: readonly number[], from: number, to: number): boolean {
  const i = lowerBound(sorted, from);
  return i < sorted.length && sorted[i]! <= to;
}

function within(offset: number, span: Span): boolean {
  return offset >= span.start && offset <= span.end;
}

function sum(outcomes: readonly ShapeOutcome[]): number {
  return outcomes.reduce((total, o) => total + o.shape.count, 0);
}

export function tally(outcomes: readonly ShapeOutcome[]): LensCounts {
  const counts: LensCounts = { calls: 0, allowed: 0, denied: 0, other: 0, newlyDenied: 0, newlyAllowed: 0, auditAllowed: 0 };
  for (const { shape, decision, change } of outcomes) {
    counts.calls += shape.count;
    if (decision.verdict === 'allow') {
      counts.allowed += shape.count;
      // (Istio's audit mark says an AUDIT policy matched; Linkerd's, that only the audit authorization admitted the call)
      if (decision.audited && decision.mesh === 'linkerd') counts.auditAllowed += shape.count;
    } else if (decision.verdict === 'deny') counts.denied += shape.count;
    else counts.other += shape.count;
    if (change === 'newly-denied') counts.newlyDenied += shape.count;
    if (change === 'newly-allowed') counts.newlyAllowed += shape.count;
  }
  return counts;
}

export function lensTitle(counts: LensCounts): string {
  if (counts.calls === 0) return 'decides no observed call';
  const parts = [`${count(counts.allowed)} allowed${counts.auditAllowed ? ` (${count(counts.auditAllowed)} only by audit: denied once enforced)` : ''}`, `${count(counts.denied)} denied`];
  if (counts.other) parts.push(`${count(counts.other)} undecided`);
  const changed = counts.newlyDenied + counts.newlyAllowed;
  parts.push(`${count(changed)} changed`);
  return parts.join(' · ');
}

/** The lens of an AUDIT policy or rule: the calls it marks for audit logging, by their verdict. */
function auditTitle(counts: LensCounts): string {
  return `audit: marks ${plural(counts.calls, 'call')} (${count(counts.allowed)} allowed · ${count(counts.denied)} denied)`;
}

/** One list item per kind of call whose log names another denier than the decision (busiest first, up to `limit`). */
function attributedOtherwise(outcomes: readonly ShapeOutcome[], limit: number): string[] {
  const rows = displayedCalls(outcomes.filter((o) => observedDifference(o.decision, o.shape.record) !== undefined));
  return rows.slice(0, limit).map((row) => `- ${count(row.calls)}× \`${rowCall(row)}\`: ${observedDifference(row.outcome.decision, row.outcome.shape.record)}`);
}

/** The busiest rows (`displayedCalls`) in a message. */
function topCalls(rows: readonly DisplayedCall[]): string {
  const top = rows.slice(0, TOP_IN_MESSAGE).map((r) => `${rowCall(r)} (${count(r.calls)}×)`);
  return top.join('; ') + (rows.length > TOP_IN_MESSAGE ? `; and ${plural(rows.length - TOP_IN_MESSAGE, 'more kind')} of call` : '');
}

/** Links to the first log lines of the busiest calls, one for each call the message names, so a click opens the log there. */
function sampleLinks(rows: readonly DisplayedCall[]): RelatedLocation[] {
  const out: RelatedLocation[] = [];
  for (const row of rows) {
    const o = row.outcome;
    const sample = o.shape.samples[0];
    if (!sample) continue;
    const line = Math.max(0, sample.line - 1);
    out.push({ file: sample.file, range: { start: { line, character: 0 }, end: { line, character: 0 } }, message: `${count(row.calls)}× ${rowCall(row)} (observed ${o.shape.record.observed ?? 'unknown'})` });
    if (out.length >= TOP_IN_MESSAGE) break;
  }
  return out;
}

/** A resource its mesh refuses to store, as position keys of its ref, and of its outline item once found. */
interface RefusedResource {
  mesh: Mesh;
  from: number;
  to: number;
  label: string;
  reason: string;
  said: boolean;
  /** The whole resource (its policy item), when its ref is only a part of it (Istio's: its name). */
  item?: { from: number; to: number };
}

/**
 * Whether an outline item (at position keys `from`..`to`) belongs to a refused resource: it lies
 * within the resource's ref (Consul's entry), or it is the policy item that holds the ref (an
 * Istio resource, whose ref is its name), or one of that item's rules (items come in the order
 * written: a policy before its rules).
 */
function refusalCovers(refused: RefusedResource, item: OutlineItem, from: number, to: number): boolean {
  if (refused.from <= from && to <= refused.to) return true;
  if (refused.item) return refused.item.from <= from && to <= refused.item.to;
  if (item.kind === 'policy' && from <= refused.from && refused.to <= to) {
    refused.item = { from, to };
    return true;
  }
  return false;
}

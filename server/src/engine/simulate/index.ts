import type { WorkspaceView } from '../checks/check';
import type { Mesh } from '../meshes';
import type { AccessRecord } from '../traffic/accessRecord';
import type { TrafficShape } from '../traffic/ingest/types';
import { inventoryContributionKey } from '../inventory/inventory';
import type { Resource } from '../resource';
import type { SourceFile } from '../source/sourceFile';
import { attachmentOf, inAnyScope, type AttachmentScope } from './attachment';
import { CompiledForms } from './compiledForms';
import { storedByInstalledCrds } from '../crds/stored';
import { sameText } from '../resourceValue';
import { childMap } from './fold';
import { consulSimulator } from './consul';
import { istioSimulator } from './istio';
import { linkerdSimulator } from './linkerd';
import { classify, type CallFold, type Change, type CompiledPolicies, type Decision, type MeshSimulator, type PolicySet, type SourceRef, type Verdict } from './types';
import { sameDeciders } from './sourceRefs';

export const SIMULATORS: Record<Mesh, MeshSimulator> = { istio: istioSimulator, linkerd: linkerdSimulator, consul: consulSimulator };
const MESHES = Object.keys(SIMULATORS) as Mesh[];

/** What the call's log says decided it, when the decision disagrees (MeshSimulator.observedDifference). */
export function observedDifference(decision: Decision, call: AccessRecord): string | undefined {
  return SIMULATORS[decision.mesh].observedDifference?.(decision, call);
}

/** Policies compiled once per mesh (a mesh without policies decides by its defaults). */
/** A resource its mesh refuses to store, which decides nothing, and why. */
export interface RefusedResource {
  mesh: Mesh;
  ref: SourceRef;
  reason: string;
}

export class Simulation {
  private readonly compiled = new Map<Mesh, CompiledPolicies>();
  meshes: Mesh[];
  private readonly options: SimulationOptions;
  /** What the policies were compiled from, per file: to know, after an edit, what changed. */
  private files = new Map<string, FileSnapshot>();
  /** Per mesh, the compiled forms of single resources, reused by the next compile. */
  private readonly forms = new Map<Mesh, CompiledForms>();

  constructor(workspace: WorkspaceView, options: SimulationOptions = {}) {
    this.options = options;
    this.files = snapshot(workspace);
    this.meshes = meshesPresent(workspace);
    // A mesh without policies still decides its calls: by its defaults (Istio allows, Linkerd's
    // default inbound policy, Consul's default intention policy).
    for (const mesh of MESHES) this.compiled.set(mesh, this.compile(workspace, mesh));
  }

  private compile(workspace: WorkspaceView, mesh: Mesh): CompiledPolicies {
    let forms = this.forms.get(mesh);
    if (!forms) this.forms.set(mesh, (forms = new CompiledForms()));
    const compiled = SIMULATORS[mesh].compile(policySetOf(workspace, mesh, forms, this.options));
    forms.settle();
    return compiled;
  }

  /** The compiled policies of a mesh, as `decide` reads them now (a new object after each compile of the mesh). */
  compiledFor(mesh: Mesh): CompiledPolicies | undefined {
    return this.compiled.get(mesh);
  }

  /** The resources each mesh refuses to store (`CompiledPolicies.notInEffect`): they decide nothing. In mesh order. */
  notInEffect(): RefusedResource[] {
    return MESHES.flatMap((mesh) => (this.compiledFor(mesh)?.notInEffect?.() ?? []).map(({ ref, reason }) => ({ mesh, ref, reason })));
  }

  /** How many single resources the last compile of `mesh` compiled and took over from the one before. */
  compileCounts(mesh: Mesh): { compiled: number; reused: number } {
    const last = this.forms.get(mesh)?.last;
    return last ? { compiled: last.compiled, reused: last.reused } : { compiled: 0, reused: 0 };
  }

  /**
   * Brings the simulation up to date after `changedFiles` (added, edited or removed) changed in
   * `workspace` (the same workspace, or one with the same configuration; after a configuration
   * change build a new Simulation). Recompiles only the meshes with resources in those files,
   * and says which calls may now be decided differently: those to the destinations that the
   * changed files' resources attach to, before or after the change. A change to the inventory
   * (a manifest in a changed file), to the meshes present, or to a mesh-wide fact recompiles
   * every mesh and affects every call. Pass the result's `affects` to `resimulate`.
   */
  update(workspace: WorkspaceView, changedFiles: readonly string[]): SimulationUpdate {
    const before = this.files;
    const changed = [...new Set(changedFiles)];
    const after = snapshot(workspace, before, changed);
    this.files = after;
    const meshes = meshesPresent(workspace);
    const inventoryChanged = changed.some((path) => inventoryContributionKey(before.get(path)?.file) !== inventoryContributionKey(after.get(path)?.file));
    const edits = changed.map((path) => editedResources(before.get(path), after.get(path)));
    const changedResources = edits.flatMap((edit) => edit.changed);
    const moves = edits.flatMap((edit) => edit.moves);
    const meshesChanged = meshes.join() !== this.meshes.join();
    // What a mesh reads of a file besides its recognized resources (Consul: jwt-provider entries).
    const inputsOf = (mesh: Mesh, snapshot: FileSnapshot | undefined): string => (snapshot ? SIMULATORS[mesh].fileInputs?.(snapshot.file) ?? '' : '');
    const filesRead = meshes.filter((mesh) => changed.some((path) => inputsOf(mesh, before.get(path)) !== inputsOf(mesh, after.get(path))));
    const recompile = inventoryChanged || meshesChanged ? new Set<Mesh>(MESHES) : new Set([...changedResources.map((r) => r.mesh), ...moves.map((m) => m.move.mesh), ...filesRead]);
    const wholeMesh = new Set<Mesh>();
    for (const mesh of recompile) {
      const old = this.compiled.get(mesh);
      const fresh = this.compile(workspace, mesh);
      this.compiled.set(mesh, fresh);
      // What a mesh reads of a file beyond its resources (Consul's jwt-provider entries, Linkerd's probes) may reach any of its calls.
      if (inventoryChanged || meshesChanged || !old || filesRead.includes(mesh) || old.globals?.() !== fresh.globals?.()) wholeMesh.add(mesh);
    }
    // A resource that only moved decides as before where its compile took over its form (whose
    // refs then name the new place); anywhere else it is a changed resource.
    const movedForms = new Set<string>();
    for (const mesh of recompile) for (const m of this.forms.get(mesh)?.last.moved ?? []) movedForms.add(`${m.path}\u0000${m.from}\u0000${m.to}`);
    const moved: MovedLines[] = [];
    for (const { old, now, move } of moves) {
      if (movedForms.has(`${move.path}\u0000${move.from}\u0000${move.from + move.lines}`)) moved.push({ file: move.path, from: move.from, to: move.to, lines: move.lines });
      else changedResources.push(old, now);
    }
    const previousMeshes = this.meshes;
    this.meshes = meshes;
    const rootNamespace = rootNamespaceOf(workspace);
    // Only a Linkerd resource's attachment reads the other Linkerd resources (the Servers it names, the policies naming it).
    const linkerdResources = changedResources.some((r) => r.mesh === 'linkerd')
      ? [...new Set([...before.values(), ...after.values()])].flatMap((f) => f.resources.filter((r) => r.mesh === 'linkerd'))
      : [];
    const scopes = new Map<Mesh, AttachmentScope[]>();
    for (const resource of changedResources) {
      if (wholeMesh.has(resource.mesh)) continue;
      // A field the installed CRD drops (targetRefs) can widen where the resource attaches beyond what its text says.
      if (storedByInstalledCrds({ resource }, workspace.inventory.crds).resource !== resource) {
        wholeMesh.add(resource.mesh);
        continue;
      }
      const list = scopes.get(resource.mesh) ?? [];
      list.push(...attachmentOf(resource, rootNamespace, linkerdResources));
      scopes.set(resource.mesh, list);
    }
    const all = meshesChanged || inventoryChanged;
    const meshOf = (record: AccessRecord): Mesh | undefined => record.mesh ?? (previousMeshes.length === 1 ? previousMeshes[0] : undefined);
    return {
      recompiled: [...recompile],
      moved,
      all,
      wholeMesh: [...wholeMesh],
      scopes,
      affects: (record) => {
        if (all) return true;
        const mesh = meshOf(record);
        if (mesh === undefined) return true;
        if (wholeMesh.has(mesh)) return true;
        const list = scopes.get(mesh);
        return list !== undefined && inAnyScope(list, record);
      },
    };
  }

  /** The mesh a record belongs to: its own `mesh`, the only mesh with policies, or the one
   * whose identity form the caller's principal has (each mesh writes identities its own way). */
  meshOf(record: AccessRecord): Mesh | undefined {
    if (record.mesh) return record.mesh;
    if (this.meshes.length === 1) return this.meshes[0];
    const byPrincipal = meshOfPrincipal(record.source?.principal);
    return byPrincipal && this.meshes.includes(byPrincipal) ? byPrincipal : undefined;
  }

  /** The namespace `mesh`'s identities name for a workload of Kubernetes namespace `namespace` (CompiledPolicies.identityNamespace). */
  identityNamespace(mesh: Mesh, namespace: string): string {
    return this.compiled.get(mesh)?.identityNamespace?.(namespace) ?? namespace;
  }

  decide(record: AccessRecord, full = false): Decision {
    const mesh = this.meshOf(record);
    const compiled = mesh ? this.compiled.get(mesh) : undefined;
    if (!mesh || !compiled) {
      const why = 'the record does not say which mesh carried it, and the workspace has policies of several meshes (or none)';
      return { verdict: 'unknown', mesh: mesh ?? 'istio', reason: why, trace: [{ text: why, outcome: 'unknown' }], missing: ['mesh'] };
    }
    const explaining = compiled as CompiledPolicies & { explain?: (call: AccessRecord) => Decision };
    return full && explaining.explain ? explaining.explain(record) : compiled.decide(record);
  }

  /**
   * `decide` for one list of calls, folded: per mesh, calls that its policies cannot tell apart
   * (`CompiledPolicies.fold`: same destination view, and the same values of what the policies
   * there can read) are decided once and share the decision, which equals what `decide` gives
   * each of them. The fold's memory goes with the returned function.
   */
  folded(): (record: AccessRecord, ids?: Int32Array) => Decision {
    const folds = new Map<Mesh, CallFold | null>();
    // Calls of one list are mostly of one mesh: its compiled policies and fold are kept at hand.
    let lastMesh: Mesh | undefined;
    let lastCompiled: CompiledPolicies | undefined;
    let lastFold: CallFold | null = null;
    return (record, ids) => {
      const mesh = this.meshOf(record);
      if (mesh === undefined) return this.decide(record);
      if (mesh !== lastMesh) {
        lastMesh = mesh;
        lastCompiled = this.compiled.get(mesh);
        let fold = folds.get(mesh);
        if (fold === undefined && lastCompiled) folds.set(mesh, (fold = lastCompiled.fold?.() ?? null));
        lastFold = fold ?? null;
      }
      const compiled = lastCompiled;
      if (!compiled) return this.decide(record);
      const slot = lastFold?.slot(record, ids);
      if (!slot) return compiled.decide(record);
      return (slot.decision ??= compiled.decide(record));
    };
  }
}

/** What a mesh's simulator compiles from a workspace: its resources, the inventory, the files, the configuration. */
export function policySetOf(workspace: WorkspaceView, mesh: Mesh, forms?: CompiledForms, options: SimulationOptions = {}): PolicySet {
  return {
    // As the cluster stores them: the workspace's CRDs may drop fields or refuse a resource.
    resources: workspace.resources.filter((r) => r.resource.mesh === mesh).map((r) => storedByInstalledCrds(r, workspace.inventory.crds)),
    inventory: workspace.inventory,
    sourceFiles: workspace.sourceFiles,
    config: workspace.config,
    ...(forms ? { forms } : {}),
    ...(options.customProviderVerdicts ? { customProviderVerdicts: options.customProviderVerdicts } : {}),
  };
}

export interface SimulationOptions {
  customProviderVerdicts?: Record<string, 'allow' | 'deny'>;
}

/** What `Simulation.update` did and which calls it may have changed. */
export interface SimulationUpdate {
  /** Meshes whose policies were compiled again. */
  recompiled: Mesh[];
  /** Resources that only moved: their calls are not decided again, and their decisions' refs now name the new lines. */
  moved: MovedLines[];
  /** Every call is affected: the inventory or the set of meshes with policies changed. */
  all: boolean;
  /** Meshes whose every call is affected (a mesh-wide fact changed, or its policies are gone). */
  wholeMesh: Mesh[];
  /** Per mesh, where the changed files' resources attach, before and after the change. */
  scopes: ReadonlyMap<Mesh, readonly AttachmentScope[]>;
  /** Whether a call's decision may differ from the one before the update. Reads only the
   * record's mesh and destination namespace, service and labels (see `DestinationGroups`). */
  affects(record: AccessRecord): boolean;
}

interface FileSnapshot {
  file: SourceFile;
  resources: Resource[];
}

/** Every file of the workspace with its resources; after an edit, `previous` with only the
 * `changed` files read again. */
function snapshot(workspace: WorkspaceView, previous?: ReadonlyMap<string, FileSnapshot>, changed?: readonly string[]): Map<string, FileSnapshot> {
  if (previous && changed) {
    const out = new Map(previous);
    const paths = new Set(changed);
    for (const path of paths) {
      const file = workspace.sourceFile(path);
      if (file) out.set(path, { file, resources: [] });
      else out.delete(path);
    }
    for (const { file, resource } of workspace.resources) {
      if (!paths.has(file.path)) continue;
      let entry = out.get(file.path);
      if (!entry || entry.file !== file) out.set(file.path, (entry = { file, resources: [] }));
      entry.resources.push(resource);
    }
    return out;
  }
  const out = new Map<string, FileSnapshot>();
  for (const file of workspace.sourceFiles) out.set(file.path, { file, resources: [] });
  for (const { file, resource } of workspace.resources) {
    let entry = out.get(file.path);
    if (!entry) out.set(file.path, (entry = { file, resources: [] }));
    entry.resources.push(resource);
  }
  return out;
}

/** A resource an edit only moved: the same text, starting at the same column of another line. */
interface ResourceMove {
  mesh: Mesh;
  path: string;
  /** The lines it spanned before the edit (first and last), and by how many lines it moved. */
  from: number;
  to: number;
  lines: number;
}

/** Resources an edit moved, as `SimulationUpdate.moved` reports them: lines `from` to `to` (before the edit) of `file` are now `lines` further down. */
export interface MovedLines {
  file: string;
  from: number;
  to: number;
  lines: number;
}

/**
 * The resources of a file that an edit added, removed or changed (text or place), old and new
 * versions both, and apart from them those it only moved (`moves`: lines added or removed above
 * them). A resource left as it was, at the same line and column, decides as before.
 */
function editedResources(before: FileSnapshot | undefined, after: FileSnapshot | undefined): { changed: Resource[]; moves: { old: Resource; now: Resource; move: ResourceMove }[] } {
  const changed: Resource[] = [];
  const moves: { old: Resource; now: Resource; move: ResourceMove }[] = [];
  if (before && after && before.resources.length === after.resources.length) {
    // Usually an edit keeps every resource in its order: compare them pairwise, without keys.
    before.resources.forEach((old, i) => {
      const now = after.resources[i]!;
      if (old === now || samePlaceAndText(before.file, old, after.file, now)) return;
      const move = movedOnly(before.file, old, after.file, now);
      if (move) moves.push({ old, now, move });
      else changed.push(old, now);
    });
    return { changed, moves };
  }
  const identity = (snapshot: FileSnapshot, resource: Resource): string => {
    const span = resource.node.span;
    const range = snapshot.file.lines.range(span);
    return `${resource.mesh}\u0000${range.start.line}:${range.start.character}-${range.end.line}:${range.end.character}\u0000${snapshot.file.text.slice(span.start, span.end)}`;
  };
  const old = new Map<string, Resource>();
  for (const resource of before?.resources ?? []) old.set(identity(before!, resource), resource);
  const added: Resource[] = [];
  for (const resource of after?.resources ?? []) {
    const key = identity(after!, resource);
    if (old.has(key)) old.delete(key);
    else added.push(resource);
  }
  // Of those left, a text found once before and once after (at the same column) only moved.
  const textOf = (snapshot: FileSnapshot, resource: Resource): string => `${resource.mesh}\u0000${snapshot.file.text.slice(resource.node.span.start, resource.node.span.end)}`;
  const removedByText = new Map<string, Resource[]>();
  for (const resource of old.values()) removedByText.set(textOf(before!, resource), [...(removedByText.get(textOf(before!, resource)) ?? []), resource]);
  const addedByText = new Map<string, Resource[]>();
  for (const resource of added) addedByText.set(textOf(after!, resource), [...(addedByText.get(textOf(after!, resource)) ?? []), resource]);
  const paired = new Set<Resource>();
  for (const [text, [now, ...more]] of addedByText) {
    const removed = removedByText.get(text);
    if (more.length || removed?.length !== 1) continue;
    const move = movedOnly(before!.file, removed[0]!, after!.file, now!);
    if (!move) continue;
    moves.push({ old: removed[0]!, now: now!, move });
    paired.add(removed[0]!).add(now!);
  }
  for (const resource of [...old.values(), ...added]) if (!paired.has(resource)) changed.push(resource);
  return { changed, moves };
}

/** How a resource moved, when its text is the same and it starts at the same column of another line. */
function movedOnly(fileA: SourceFile, a: Resource, fileB: SourceFile, b: Resource): ResourceMove | undefined {
  const spanA = a.node.span;
  const spanB = b.node.span;
  if (a.mesh !== b.mesh || spanA.end - spanA.start !== spanB.end - spanB.start) return undefined;
  const startA = fileA.lines.position(spanA.start);
  const startB = fileB.lines.position(spanB.start);
  if (startA.character !== startB.character || startA.line === startB.line) return undefined;
  if (!sameResourceText(fileA, a, fileB, b)) return undefined;
  return { mesh: a.mesh, path: fileB.path, from: startA.line, to: fileA.lines.position(spanA.end).line, lines: startB.line - startA.line };
}

function samePlaceAndText(fileA: SourceFile, a: Resource, fileB: SourceFile, b: Resource): boolean {
  const spanA = a.node.span;
  const spanB = b.node.span;
  if (a.mesh !== b.mesh || spanA.end - spanA.start !== spanB.end - spanB.start) return false;
  const startA = fileA.lines.position(spanA.start);
  const startB = fileB.lines.position(spanB.start);
  const endA = fileA.lines.position(spanA.end);
  const endB = fileB.lines.position(spanB.end);
  return startA.line === startB.line && startA.character === startB.character && endA.line === endB.line && endA.character === endB.character
    && sameResourceText(fileA, a, fileB, b);
}

/** Whether two resources have the same text: at once when both were placed from one cached parse (`sameText`). */
function sameResourceText(fileA: SourceFile, a: Resource, fileB: SourceFile, b: Resource): boolean {
  return sameText(a) === sameText(b) || fileA.text.slice(a.node.span.start, a.node.span.end) === fileB.text.slice(b.node.span.start, b.node.span.end);
}

function meshesPresent(workspace: WorkspaceView): Mesh[] {
  const present = new Set(workspace.resources.map((r) => r.resource.mesh));
  return MESHES.filter((m) => present.has(m));
}

export interface ShapeOutcome {
  shape: TrafficShape;
  decision: Decision;
  change: Change;
}

export interface Tally {
  calls: number;
  allow: number;
  deny: number;
  external: number;
  unknown: number;
  newlyDenied: number;
  newlyAllowed: number;
}

export interface PolicyTally extends Tally {
  ref: SourceRef;
  rules: Map<string, Tally & { ref: SourceRef }>;
}

export interface SimulationResult {
  outcomes: ShapeOutcome[];
  totals: Tally & { unchanged: number };
  /** Per deciding policy (and rule), keyed by file + label. */
  policies: PolicyTally[];
}

export function emptyTally(): Tally {
  return { calls: 0, allow: 0, deny: 0, external: 0, unknown: 0, newlyDenied: 0, newlyAllowed: 0 };
}

function count(tally: Tally, verdict: Verdict, change: Change, calls: number): void {
  tally.calls += calls;
  tally[verdict] += calls;
  if (change === 'newly-denied') tally.newlyDenied += calls;
  if (change === 'newly-allowed') tally.newlyAllowed += calls;
}

/** Decides every shape (folded: `Simulation.folded`) and tallies the calls per policy and rule that decided them. */
export function simulateShapes(simulation: Simulation, shapes: readonly TrafficShape[]): SimulationResult {
  const outcomes: ShapeOutcome[] = new Array(shapes.length);
  const decide = simulation.folded();
  const tallies = new Tallies();
  // One pass: each shape is tallied while it is at hand.
  for (let i = 0; i < shapes.length; i++) {
    const shape = shapes[i]!;
    const decision = decide(shape.record, shape.ids);
    const outcome = { shape, decision, change: classify(decision, shape.record.observed) };
    outcomes[i] = outcome;
    tallies.add(outcome);
  }
  tallies.finish();
  return { outcomes, totals: tallies.totals, policies: inSourceOrder(tallies.policies.values()) };
}

/** A re-simulation's result, with the outcomes it decided again. */
export interface Resimulation extends SimulationResult {
  /** Indexes of the outcomes decided again, ascending: exactly those whose object differs from the previous result's. */
  redecided: number[];
  /** The previous result's outcomes at those indexes, in the same order. */
  replaced: ShapeOutcome[];
}

/**
 * After `simulation.update(...)`: decides again only the shapes `affects` names, keeps every
 * other outcome of `previous`, and adjusts the tallies by the difference. Work in proportion to
 * the affected shapes, plus a copy of the outcome list and a pass over the policy list: the
 * tallies of policies that no re-decided call touches are shared with `previous` (they are
 * never changed in place; a touched one is copied first). Equal to
 * `simulateShapes(simulation, shapes)` over the same shapes when `affects` is the update's.
 * `inPlace`: the new outcomes are written into `previous.outcomes` instead of a copy (the
 * editor's loop, which reads the previous result no more: `replaced` keeps what was there).
 */
export function resimulate(previous: SimulationResult, simulation: Simulation, affects: (record: AccessRecord) => boolean, destinations?: DestinationGroups, inPlace = false): Resimulation {
  const totals = { ...previous.totals };
  // The previous result's index of its tallies, taken over when the previous result is read no more.
  const previousIndex = tallyIndex(previous.policies);
  const policies = inPlace ? previousIndex : new Map(previousIndex);
  if (inPlace) tallyIndexes.delete(previous.policies);
  /** Keys whose tally is ours to change (a copy of the previous result's, or made here). */
  const touched = new Set<string>();
  /** The previous result's tallies that were copied: they leave the kept list. */
  const replacedTallies = new Set<PolicyTally>();
  /** The tally of the policy deciding `decision`, made ours to change (a copy of the shared one). */
  const own = (decision: Decision): void => {
    if (!decision.policy) return;
    const key = policyKey(decision.policy);
    if (touched.has(key)) return;
    touched.add(key);
    const policy = policies.get(key);
    if (!policy) return;
    replacedTallies.add(policy);
    policies.set(key, { ...policy, rules: new Map([...policy.rules].map(([label, rule]) => [label, { ...rule }])) });
  };
  /**
   * A call counted as before whose policy was compiled again (its refs are new objects, at the
   * same place): its tallies take the new refs. A compiled form's refs move with it when only
   * lines above it change (`CompiledForms`), and the tallies must move with them.
   */
  const takeRefs = (deciders: { policy?: SourceRef; rule?: SourceRef; passed?: { policy: SourceRef; rule?: SourceRef } }): void => {
    if (deciders.passed) takeRefs(deciders.passed);
    if (!deciders.policy) return;
    const key = policyKey(deciders.policy);
    const before = policies.get(key);
    const rule = deciders.rule && before?.rules.get(deciders.rule.label);
    if (!before || (before.ref === deciders.policy && (!rule || rule.ref === deciders.rule))) return;
    own(deciders as Decision);
    const policy = policies.get(key)!;
    policy.ref = deciders.policy;
    if (deciders.rule) {
      const ruleTally = policy.rules.get(deciders.rule.label);
      if (ruleTally) ruleTally.ref = deciders.rule;
    }
  };
  const outcomes = inPlace ? previous.outcomes : previous.outcomes.slice();
  let redo: number[] = [];
  if (destinations && destinations.shapes === outcomes.length) {
    for (const group of destinations.groups) if (affects(group.record)) for (const i of group.indexes) redo.push(i);
    redo = redo.sort((a, b) => a - b);
  } else {
    for (let i = 0; i < outcomes.length; i++) if (affects(outcomes[i]!.shape.record)) redo.push(i);
  }
  const replaced: ShapeOutcome[] = [];
  // Decide first: a call counted as before (the same policy and rule, written where they were, verdict and change) leaves every tally as it is.
  const moved: number[] = [];
  const decide = simulation.folded();
  for (const i of redo) {
    const outcome = outcomes[i]!;
    replaced.push(outcome);
    const shape = outcome.shape;
    const decision = decide(shape.record, shape.ids);
    const now = { shape, decision, change: classify(decision, shape.record.observed) };
    outcomes[i] = now;
    if (!sameTally(outcome, now)) moved.push(replaced.length - 1);
    else takeRefs(now.decision);
  }
  for (const k of moved) {
    const outcome = replaced[k]!;
    own(outcome.decision);
    tally(totals, policies, outcome, -1);
  }
  // A tally left empty goes: its policy may have moved or changed, and the new decisions bring its new place.
  for (const key of touched) {
    const policy = policies.get(key)!;
    if (policy.calls === 0) { policies.delete(key); continue; }
    for (const [label, rule] of policy.rules) if (rule.calls === 0) policy.rules.delete(label);
  }
  for (const k of moved) {
    const outcome = outcomes[redo[k]!]!;
    own(outcome.decision);
    tally(totals, policies, outcome, 1);
  }
  // Untouched tallies keep their order (a subsequence of a list in source order); the touched ones are merged in.
  const kept = replacedTallies.size ? previous.policies.filter((p) => !replacedTallies.has(p)) : previous.policies.slice();
  const changed = new Map<string, PolicyTally>();
  for (const key of touched) {
    const policy = policies.get(key);
    if (policy) changed.set(key, policy);
  }
  const list = mergeBySource(kept, inSourceOrder(changed.values()));
  tallyIndexes.set(list, policies);
  return { outcomes, totals, policies: list, redecided: redo, replaced };
}

/** Per list of tallies (a result's `policies`), its tallies by `policyKey`: a re-simulation takes it over. */
const tallyIndexes = new WeakMap<readonly PolicyTally[], Map<string, PolicyTally>>();

function tallyIndex(list: readonly PolicyTally[]): Map<string, PolicyTally> {
  let index = tallyIndexes.get(list);
  if (!index) {
    index = new Map();
    for (const p of list) index.set(policyKey(p.ref), p);
    tallyIndexes.set(list, index);
  }
  return index;
}

/**
 * Shapes grouped by what `SimulationUpdate.affects` reads of a record (its mesh and destination
 * namespace, service and labels), built once per list of shapes (when the traffic is loaded):
 * `resimulate` then asks `affects` once per group instead of once per shape.
 */
export class DestinationGroups {
  readonly groups: { record: AccessRecord; indexes: number[] }[] = [];
  readonly shapes: number;

  constructor(shapes: readonly TrafficShape[]) {
    this.shapes = shapes.length;
    // By mesh, then destination (or none), namespace, Service and labels, one Map level each: no
    // key string per shape. Shapes of one workload share its label map (ingest copies each once):
    // its key is built once per map.
    const byMesh = new Map<unknown, Map<unknown, unknown>>();
    const labelKeys = new Map<Record<string, string>, string>();
    const labelKey = (labels: Record<string, string>): string => {
      let key = labelKeys.get(labels);
      if (key === undefined) {
        key = JSON.stringify(Object.entries(labels).sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0)));
        labelKeys.set(labels, key);
      }
      return key;
    };
    for (let index = 0; index < shapes.length; index++) {
      const record = shapes[index]!.record;
      const destination = record.destination;
      // (absent and null alike, as a record's JSON reads)
      let node = childMap(byMesh, record.mesh ?? null);
      node = childMap(node, destination ? 1 : 0);
      node = childMap(node, destination?.namespace ?? null);
      node = childMap(node, destination?.service ?? null);
      const labels = destination?.labels ? labelKey(destination.labels) : undefined;
      let group = node.get(labels) as { record: AccessRecord; indexes: number[] } | undefined;
      if (!group) {
        node.set(labels, (group = { record, indexes: [] }));
        this.groups.push(group);
      }
      group.indexes.push(index);
    }
  }

  /**
   * How many of the shapes are calls to where a policy resource attaches: about what a change
   * to that resource alone decides again (`Simulation.update` adds what the changed resource
   * attaches to afterwards, and every call of a mesh when a mesh-wide fact changed). The
   * workspace's root namespace and Linkerd resources are read once per estimator.
   */
  reachEstimator(workspace: WorkspaceView): (resource: Resource) => number {
    const rootNamespace = rootNamespaceOf(workspace);
    let linkerdResources: Resource[] | undefined;
    return (resource) => {
      if (resource.mesh === 'linkerd') linkerdResources ??= workspace.resources.map((entry) => entry.resource).filter((r) => r.mesh === 'linkerd');
      const scopes = attachmentOf(resource, rootNamespace, resource.mesh === 'linkerd' ? linkerdResources : []);
      let reached = 0;
      for (const group of this.groups) {
        const { mesh } = group.record;
        if ((mesh === undefined || mesh === resource.mesh) && inAnyScope(scopes, group.record)) reached += group.indexes.length;
      }
      return reached;
    };
  }
}

/** The Istio root namespace of a workspace's configuration. */
function rootNamespaceOf(workspace: WorkspaceView): string {
  return workspace.config.istio.rootNamespace || 'istio-system';
}

/** Totals and per policy and rule tallies of a list of outcomes: `add` each, then `finish`. */
class Tallies {
  readonly totals = { ...emptyTally(), unchanged: 0 };
  readonly policies = new Map<string, PolicyTally>();
  /** Folded shapes share decisions: per decision, its tallies (found once) and its calls per change, counted in at `finish`. */
  private readonly byDecision = new Map<Decision, { place: Place | null; calls: number[] }>();

  add(outcome: ShapeOutcome): void {
    const decision = outcome.decision;
    let entry = this.byDecision.get(decision);
    if (entry === undefined) this.byDecision.set(decision, (entry = { place: placeOf(this.policies, decision), calls: [0, 0, 0, 0] }));
    entry.calls[CHANGES.indexOf(outcome.change)] += outcome.shape.count;
  }

  finish(): void {
    for (const [decision, { place, calls }] of this.byDecision) {
      for (let i = 0; i < CHANGES.length; i++) if (calls[i] !== 0) countAt(this.totals, place, { decision, change: CHANGES[i]! }, calls[i]!);
    }
    this.byDecision.clear();
  }
}

const CHANGES: readonly Change[] = ['unchanged', 'newly-denied', 'newly-allowed', 'unknown'];

/** The tallies of the policy and rule that made a decision (and of the one it passed before, Decision.passed). */
interface Place {
  policy: PolicyTally;
  rule: Tally | undefined;
  passed: Place | null;
}

/** The tallies a decision counts in (made when missing), or null for a decision of no policy. */
function placeOf(policies: Map<string, PolicyTally>, decision: Pick<Decision, 'policy' | 'rule' | 'passed'>): Place | null {
  if (!decision.policy) return null;
  const key = policyKey(decision.policy);
  let policy = policies.get(key);
  if (!policy) policies.set(key, (policy = { ...emptyTally(), ref: decision.policy, rules: new Map() }));
  const passed = decision.passed ? placeOf(policies, decision.passed) : null;
  if (!decision.rule) return { policy, rule: undefined, passed };
  let rule = policy.rules.get(decision.rule.label);
  if (!rule) policy.rules.set(decision.rule.label, (rule = { ...emptyTally(), ref: decision.rule }));
  return { policy, rule, passed };
}

/** Whether two outcomes of a shape add the same calls to the same tallies. */
export function sameTally(a: ShapeOutcome, b: ShapeOutcome): boolean {
  return a.shape === b.shape && a.change === b.change && a.decision.verdict === b.decision.verdict && sameDeciders(a.decision, b.decision);
}

const policyKeys = new WeakMap<SourceRef, string>();

/** A policy's file and label; refs of kept compiled forms are the same objects from edit to edit. */
function policyKey(ref: SourceRef): string {
  let key = policyKeys.get(ref);
  if (key === undefined) policyKeys.set(ref, (key = `${ref.file}\u0000${ref.label}`));
  return key;
}

/** Adds (sign 1) or takes back (sign -1) one outcome's calls. */
function tally(totals: SimulationResult['totals'], policies: Map<string, PolicyTally>, outcome: ShapeOutcome, sign: 1 | -1): void {
  countAt(totals, placeOf(policies, outcome.decision), outcome, sign * outcome.shape.count);
}

/** Counts an outcome's calls in the totals and in the tallies of the policy and rule that decided it. */
function countAt(totals: SimulationResult['totals'], place: Place | null, { decision, change }: Pick<ShapeOutcome, 'decision' | 'change'>, calls: number): void {
  count(totals, decision.verdict, change, calls);
  if (change === 'unchanged') totals.unchanged += calls;
  for (let at = place; at !== null; at = at.passed) {
    count(at.policy, decision.verdict, change, calls);
    if (at.rule) count(at.rule, decision.verdict, change, calls);
  }
}

function bySource(a: SourceRef, b: SourceRef): number {
  if (a.file !== b.file) return a.file < b.file ? -1 : 1;
  const s = a.range.start;
  const t = b.range.start;
  return s.line - t.line || s.character - t.character || (a.label < b.label ? -1 : a.label > b.label ? 1 : 0);
}

/** Two lists in source order as one. */
function mergeBySource(a: PolicyTally[], b: readonly PolicyTally[]): PolicyTally[] {
  if (b.length === 0) return a;
  const out: PolicyTally[] = [];
  let i = 0;
  let j = 0;
  while (i < a.length && j < b.length) out.push(bySource(a[i]!.ref, b[j]!.ref) <= 0 ? a[i++]! : b[j++]!);
  while (i < a.length) out.push(a[i++]!);
  while (j < b.length) out.push(b[j++]!);
  return out;
}

/** Policies, and the rules of each, in the order they are written. */
export function inSourceOrder<T extends { ref: SourceRef; rules: Map<string, { ref: SourceRef }> }>(policies: Iterable<T>): T[] {
  const list = [...policies].sort((a, b) => bySource(a.ref, b.ref));
  for (const p of list) if (p.rules.size > 1) p.rules = new Map([...p.rules].sort((a, b) => bySource(a[1].ref, b[1].ref))) as T['rules'];
  return list;
}

/**
 * Per AUDIT policy (`Decision.auditedBy`) and its rules, the calls it marked, in source order.
 * AUDIT policies decide nothing, so the tallies of `simulateShapes` never count them.
 */
export function auditTallies(outcomes: readonly ShapeOutcome[]): PolicyTally[] {
  const policies = new Map<string, PolicyTally>();
  for (const { shape, decision, change } of outcomes) {
    for (const mark of decision.auditedBy ?? []) {
      const place = placeOf(policies, mark)!;
      count(place.policy, decision.verdict, change, shape.count);
      count(place.rule!, decision.verdict, change, shape.count);
    }
  }
  return inSourceOrder(policies.values());
}

const CONSUL_IDENTITY = /\/ns\/[^/]+\/dc\/[^/]+\/svc\/[^/]+$/;
const ISTIO_IDENTITY = /\/ns\/[^/]+\/sa\/[^/]+$/;

/** Linkerd `sa.ns.serviceaccount.identity.…`, Consul `…/ns/N/dc/DC/svc/S`, Istio `…/ns/N/sa/S`. */
export function meshOfPrincipal(principal: string | null | undefined): Mesh | undefined {
  if (!principal) return undefined;
  if (principal.includes('.serviceaccount.identity.')) return 'linkerd';
  if (CONSUL_IDENTITY.test(principal)) return 'consul';
  if (ISTIO_IDENTITY.test(principal)) return 'istio';
  return undefined;
}

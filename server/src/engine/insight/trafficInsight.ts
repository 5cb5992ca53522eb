import type { WorkspaceView } from '../checks/check';
import { applyRuleSettings } from '../checks/suppress';
import type { RuleSetting } from '../config/projectConfig';
import type { Finding, Range, RelatedLocation } from '../findings';
import type { Mesh } from '../meshes';
import type { Resource } from '../resource';
import type { Simulation, ShapeOutcome, SimulationResult } from '../simulate';
import type { Decision, SourceRef } from '../simulate/types';
import type { SourceFile } from '../source/sourceFile';
import { nodeAt, type Span } from '../source/tree';
import { describeCall } from '../traffic/describeCall';
import { TrafficCodes, TRAFFIC_RULES } from './codes';
import { outlineFile, type OutlineItem } from './outline';
import { impactAt, impactLens, impactSentence, type BaselineComparison } from '../baseline';
import { callsTable, count, displayedCalls, explainMarkdown, plural } from './render';
import { valueFilter } from './valueFilter';

/** Counts shown in a lens: calls decided by a policy or rule, by verdict and change. */
export interface LensCounts {
  calls: number;
  allowed: number;
  denied: number;
  other: number;
  newlyDenied: number;
  newlyAllowed: number;
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
const SAMPLE_LINKS = 5;
const HOVER_ROWS = 10;
const NEAR_MISS_CANDIDATES = 2_000;

/**
 * What the simulation of the observed traffic says about each policy file: findings (MPA4xxx),
 * lens counts, hovers, call lists and explanations. Built once per simulation run; LSP-free, the
 * language server and the CLI adapt it.
 */
export class TrafficInsight {
  private readonly outlines = new Map<string, OutlineItem[]>();
  /** Per file: the outcomes whose deciding policy or rule lies in it, by the ref's offset. */
  private readonly refsByFile = new Map<string, { offset: number; outcome: number }[]>();
  private readonly meshesWithTraffic = new Set<Mesh>();
  private readonly findingsCache = new Map<string, Finding[]>();
  private readonly byKey = new Map<string, ShapeOutcome>();
  private readonly indexOf = new Map<ShapeOutcome, number>();

  constructor(
    private readonly workspace: WorkspaceView,
    private readonly simulation: Simulation,
    readonly result: SimulationResult,
    private readonly rules: Record<string, RuleSetting> = {},
    /** The same calls decided by the policies at a git ref, when there is one to compare with. */
    readonly baseline?: BaselineComparison,
  ) {
    const resourcesByFile = new Map<string, { file: SourceFile; resources: Resource[] }>();
    for (const { file, resource } of workspace.resources) {
      let entry = resourcesByFile.get(file.path);
      if (!entry) resourcesByFile.set(file.path, (entry = { file, resources: [] }));
      entry.resources.push(resource);
    }
    for (const [path, { file, resources }] of resourcesByFile) this.outlines.set(path, outlineFile(file, resources));
    result.outcomes.forEach((outcome, index) => {
      this.byKey.set(callId(index), outcome);
      this.indexOf.set(outcome, index);
      this.meshesWithTraffic.add(outcome.decision.mesh);
      for (const ref of decidingRefs(outcome.decision)) {
        const file = workspace.sourceFile(ref.file);
        if (!file) continue;
        let list = this.refsByFile.get(ref.file);
        if (!list) this.refsByFile.set(ref.file, (list = []));
        list.push({ offset: file.lines.offset(ref.range.start), outcome: index });
      }
    });
    for (const list of this.refsByFile.values()) list.sort((a, b) => a.offset - b.offset);
  }

  get files(): string[] {
    return [...new Set([...this.outlines.keys(), ...this.uncoveredFiles()])];
  }

  /** The outcomes a policy or rule decided: those whose deciding policy or rule lies in its text. */
  outcomesOf(item: { file: string; span: Span }): ShapeOutcome[] {
    const list = this.refsByFile.get(item.file);
    if (!list) return [];
    const seen = new Set<number>();
    let low = 0;
    let high = list.length;
    while (low < high) {
      const mid = (low + high) >> 1;
      if (list[mid]!.offset < item.span.start) low = mid + 1;
      else high = mid;
    }
    for (let i = low; i < list.length && list[i]!.offset <= item.span.end; i++) seen.add(list[i]!.outcome);
    return [...seen].map((i) => this.result.outcomes[i]!);
  }

  offsetOf(path: string, position: { line: number; character: number }): number | undefined {
    const file = this.workspace.sourceFile(path);
    return file && position.line < file.lines.lineCount ? file.lines.offset(position) : undefined;
  }

  outline(path: string): OutlineItem[] {
    return this.outlines.get(path) ?? [];
  }

  lenses(path: string): TrafficLens[] {
    return this.outline(path).map((item) => {
      const counts = tally(this.outcomesOf(item));
      const impact = this.baseline ? impactAt(this.baseline, path, item.head) : undefined;
      const versus = this.baseline && impact ? impactLens(this.baseline.ref, impact) : undefined;
      return { item, counts, title: versus ? `${lensTitle(counts)} · ${versus}` : lensTitle(counts) };
    });
  }

  /** MPA4xxx findings of one file, after the configured severities and inline suppressions. */
  findings(path: string): Finding[] {
    let cached = this.findingsCache.get(path);
    if (!cached) {
      const file = this.workspace.sourceFile(path);
      cached = file ? applyRuleSettings([...this.decisionFindings(path), ...this.unusedFindings(path), ...this.uncoveredFindings(path), ...this.baselineFindings(path)], file, this.rules) : [];
      this.findingsCache.set(path, cached);
    }
    return cached;
  }

  private finding(code: string, file: string, range: Range, message: string, related?: RelatedLocation[]): Finding {
    return { file, range, severity: DEFAULT_SEVERITY.get(code) ?? 'info', code, message, ...(related?.length ? { related } : {}) };
  }

  /** Newly denied, newly allowed and undecided calls, one finding per deciding rule (or policy). */
  private decisionFindings(path: string): Finding[] {
    const groups = new Map<string, { ref: SourceRef; denied: ShapeOutcome[]; allowed: ShapeOutcome[]; unknown: ShapeOutcome[] }>();
    for (const outcome of this.outcomesOf({ file: path, span: { start: 0, end: Number.MAX_SAFE_INTEGER } })) {
      const ref = outcome.decision.rule?.file === path ? outcome.decision.rule : outcome.decision.policy;
      if (!ref || ref.file !== path) continue;
      const key = `${ref.range.start.line}:${ref.range.start.character}`;
      let group = groups.get(key);
      if (!group) groups.set(key, (group = { ref, denied: [], allowed: [], unknown: [] }));
      if (outcome.change === 'newly-denied') group.denied.push(outcome);
      else if (outcome.change === 'newly-allowed') group.allowed.push(outcome);
      else if (outcome.decision.verdict === 'unknown') group.unknown.push(outcome);
    }
    const out: Finding[] = [];
    for (const { ref, denied, allowed, unknown } of groups.values()) {
      if (denied.length) out.push(this.finding(TrafficCodes.newlyDenied, path, ref.range, `${ref.label} would deny ${plural(sum(denied), 'observed call')} that succeeded: ${topCalls(denied)}`, sampleLinks(denied)));
      if (allowed.length) out.push(this.finding(TrafficCodes.newlyAllowed, path, ref.range, `${ref.label} would allow ${plural(sum(allowed), 'observed call')} that were denied: ${topCalls(allowed)}`, sampleLinks(allowed)));
      if (unknown.length) {
        const missing = [...new Set(unknown.flatMap((o) => o.decision.missing ?? []))];
        out.push(this.finding(TrafficCodes.undecided, path, ref.range, `${ref.label} cannot decide ${plural(sum(unknown), 'observed call')}${missing.length ? `: the logs do not record ${missing.join(', ')}` : ''}: ${topCalls(unknown)}`, sampleLinks(unknown)));
      }
    }
    return out;
  }

  /** MPA4006: per policy (or rule) whose decisions differ from the baseline's. */
  private baselineFindings(path: string): Finding[] {
    const comparison = this.baseline;
    if (!comparison) return [];
    const out: Finding[] = [];
    for (const policy of comparison.policies) {
      if (policy.ref.file !== path) continue;
      // A policy only the baseline has: its range is in the old text, so the finding goes to the top.
      if (!this.outline(path).some((item) => item.kind === 'policy' && item.label === policy.ref.label)) {
        if (policy.becomeDenied || policy.becomeAllowed) out.push(this.finding(TrafficCodes.baselineChange, path, { start: { line: 0, character: 0 }, end: { line: 0, character: 0 } }, `${policy.ref.label} (removed since ${comparison.ref}): ${impactSentence(comparison.ref, policy)}`));
        continue;
      }
      const targets = policy.rules.size ? [...policy.rules.values()].map((r) => ({ ...r, label: `${policy.ref.label} ${r.ref.label}` })) : [{ ...policy, label: policy.ref.label }];
      for (const target of targets) {
        if (!target.becomeDenied && !target.becomeAllowed) continue;
        out.push(this.finding(TrafficCodes.baselineChange, path, target.ref.range, `${target.label}: ${impactSentence(comparison.ref, target)}`));
      }
    }
    return out;
  }

  /** Rules (and rule-less policies) that decide no observed call, for meshes that have traffic. */
  private unusedFindings(path: string): Finding[] {
    const items = this.outline(path);
    const out: Finding[] = [];
    for (const item of items) {
      if (!this.meshesWithTraffic.has(item.mesh)) continue;
      const hasRules = item.kind === 'policy' && items.some((r) => r.kind === 'rule' && r.policyLabel === item.label && r.span.start >= item.span.start && r.span.end <= item.span.end);
      if (hasRules || this.outcomesOf(item).length) continue;
      if (item.kind === 'policy' && !decidesCalls(item.label)) continue;
      out.push(this.finding(TrafficCodes.noObservedTraffic, path, item.head, `${item.kind === 'rule' ? `${item.policyLabel} ${item.label}` : item.label} decides none of the ${plural(this.result.totals.calls, 'observed call')}: it may be unused, or broader than the traffic needs`));
    }
    return out;
  }

  private uncoveredCache: Map<string, { workload: { file: string; span: Span; kind: string; name: string; namespace: string }; outcomes: ShapeOutcome[] }> | undefined;

  /** Workloads of the inventory that receive calls no policy decided (the mesh default did). */
  private uncovered(): Map<string, { workload: { file: string; span: Span; kind: string; name: string; namespace: string }; outcomes: ShapeOutcome[] }> {
    if (this.uncoveredCache) return this.uncoveredCache;
    const out = new Map<string, { workload: { file: string; span: Span; kind: string; name: string; namespace: string }; outcomes: ShapeOutcome[] }>();
    if (!this.workspace.inventory.present) return out;
    const workloads = new Map<string, (typeof this.workspace.inventory.workloads)[number]>();
    for (const w of this.workspace.inventory.workloads) if (!workloads.has(`${w.namespace}/${w.name}`)) workloads.set(`${w.namespace}/${w.name}`, w);
    for (const outcome of this.result.outcomes) {
      if (outcome.decision.policy || outcome.decision.verdict === 'unknown') continue;
      const destination = outcome.shape.record.destination;
      if (!destination?.workload || !destination.namespace) continue;
      const workload = workloads.get(`${destination.namespace}/${destination.workload}`);
      if (!workload) continue;
      const key = `${workload.namespace}/${workload.name}`;
      let entry = out.get(key);
      if (!entry) out.set(key, (entry = { workload, outcomes: [] }));
      entry.outcomes.push(outcome);
    }
    this.uncoveredCache = out;
    return out;
  }

  private uncoveredFiles(): string[] {
    return [...this.uncovered().values()].map((u) => u.workload.file);
  }

  private uncoveredFindings(path: string): Finding[] {
    const file = this.workspace.sourceFile(path);
    if (!file) return [];
    const out: Finding[] = [];
    for (const { workload, outcomes } of this.uncovered().values()) {
      if (workload.file !== path) continue;
      const start = file.lines.position(workload.span.start);
      const range = { start, end: file.lines.position(Math.min(workload.span.end, file.lines.lineEnd(start.line))) };
      const mesh = outcomes[0]!.decision.mesh;
      const callers = new Set(outcomes.map((o) => describeCall(o.shape.record).split(' → ')[0]));
      out.push({
        ...this.finding(TrafficCodes.uncoveredWorkload, path, range, `${workload.kind} ${workload.namespace}/${workload.name} receives ${plural(sum(outcomes), 'observed call')} from ${plural(callers.size, 'caller')}, but no ${mesh} policy covers it: ${outcomes[0]!.decision.reason}`, sampleLinks(outcomes)),
        command: { title: `Generate a least-privilege ${mesh} policy for ${workload.namespace}/${workload.name} from the observed calls`, command: GENERATE_COMMAND, arguments: [{ mesh, namespace: workload.namespace, workload: workload.name }] },
      });
    }
    return out;
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
    let matched = this.outcomesOf(item).sort((a, b) => b.shape.count - a.shape.count);
    const heading = `**Observed traffic** · ${item.kind === 'rule' ? `${item.policyLabel} ${item.label}` : item.label}`;
    const lines = [heading, ''];
    if (filter) {
      matched = matched.filter((o) => filter.test(o.shape.record));
      lines.push(`Calls it decides with ${filter.label}:`, '');
    }
    const counts = tally(matched);
    const rows = displayedCalls(matched);
    lines.push(matched.length ? lensTitle(counts) : 'It decides no observed call.', '');
    if (rows.length) lines.push(callsTable(rows.slice(0, HOVER_ROWS), { explainId: (o) => callId(this.indexOf.get(o)!) }), '');
    if (rows.length > HOVER_ROWS) lines.push(`…and ${plural(rows.length - HOVER_ROWS, 'more kind')} of call.`, '');
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
    const decided = new Set(this.outcomesOf(item));
    const candidates = [...this.result.outcomes].filter((o) => !decided.has(o) && o.decision.mesh === item.mesh).sort((a, b) => b.shape.count - a.shape.count).slice(0, NEAR_MISS_CANDIDATES);
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
    const matched = this.outcomesOf(item).sort((a, b) => b.shape.count - a.shape.count);
    const title = item.kind === 'rule' ? `${item.policyLabel} ${item.label}` : item.label;
    const rows = displayedCalls(matched);
    const out = [`# Observed calls decided by ${title}`, '', `${item.file}:${item.head.start.line + 1}`, '', matched.length ? `${lensTitle(tally(matched))}.` : 'It decides no observed call.', ''];
    if (rows.length) out.push(callsTable(rows.slice(0, limit), { samples: true, decidedBy: true }), '');
    if (rows.length > limit) out.push(`…and ${plural(rows.length - limit, 'more kind')} of call.`);
    const misses = this.nearMisses(item, cancelled);
    if (misses.length) {
      out.push('', '## Narrowly missed', '');
      for (const miss of misses) out.push(`- ${count(miss.calls)}× \`${describeCall(miss.outcome.shape.record)}\`: ${miss.why}`);
    }
    return out.join('\n');
  }

  /** Observed calls, busiest first, for a picker. */
  calls(limit = 1_000): { key: string; label: string; detail: string }[] {
    return this.result.outcomes.map((o, index) => ({ o, index })).sort((a, b) => b.o.shape.count - a.o.shape.count).slice(0, limit).map(({ o, index }) => ({
      key: callId(index),
      label: `${count(o.shape.count)}× ${describeCall(o.shape.record)}`,
      detail: `${o.decision.verdict}${o.change !== 'unchanged' ? ` (${o.change})` : ''} · observed ${o.shape.record.observed ?? 'unknown'} · ${o.decision.reason}`,
    }));
  }

  /** The full walkthrough of one observed call shape. */
  explain(key: string): string | undefined {
    const outcome = this.byKey.get(key);
    if (!outcome) return undefined;
    return explainMarkdown(outcome, this.simulation.decide(outcome.shape.record, true));
  }

  decisionFor(key: string): Decision | undefined {
    const outcome = this.byKey.get(key);
    return outcome ? this.simulation.decide(outcome.shape.record, true) : undefined;
  }
}

/** Calls are named by their place in the shape list, which stays the same until the logs are read again. */
function callId(index: number): string {
  return `call-${index}`;
}

function decidingRefs(decision: Decision): SourceRef[] {
  return [decision.policy, decision.rule].filter((r): r is SourceRef => r !== undefined);
}

/** Kinds that decide calls themselves (others, like MeshTLSAuthentication, are referenced). */
function decidesCalls(label: string): boolean {
  return !/^(MeshTLSAuthentication|NetworkAuthentication)\b/.test(label);
}

function within(offset: number, span: Span): boolean {
  return offset >= span.start && offset <= span.end;
}

function sum(outcomes: readonly ShapeOutcome[]): number {
  return outcomes.reduce((total, o) => total + o.shape.count, 0);
}

export function tally(outcomes: readonly ShapeOutcome[]): LensCounts {
  const counts: LensCounts = { calls: 0, allowed: 0, denied: 0, other: 0, newlyDenied: 0, newlyAllowed: 0 };
  for (const { shape, decision, change } of outcomes) {
    counts.calls += shape.count;
    if (decision.verdict === 'allow') counts.allowed += shape.count;
    else if (decision.verdict === 'deny') counts.denied += shape.count;
    else counts.other += shape.count;
    if (change === 'newly-denied') counts.newlyDenied += shape.count;
    if (change === 'newly-allowed') counts.newlyAllowed += shape.count;
  }
  return counts;
}

export function lensTitle(counts: LensCounts): string {
  if (counts.calls === 0) return 'no observed calls';
  const parts = [`${count(counts.allowed)} allowed`, `${count(counts.denied)} denied`];
  if (counts.other) parts.push(`${count(counts.other)} undecided`);
  const changed = counts.newlyDenied + counts.newlyAllowed;
  parts.push(`${count(changed)} changed`);
  return parts.join(' · ');
}

function topCalls(outcomes: readonly ShapeOutcome[]): string {
  const rows = displayedCalls(outcomes);
  const top = rows.slice(0, TOP_IN_MESSAGE).map((r) => `${describeCall(r.outcome.shape.record)} (${count(r.calls)}×)`);
  return top.join('; ') + (rows.length > TOP_IN_MESSAGE ? `; and ${plural(rows.length - TOP_IN_MESSAGE, 'more kind')} of call` : '');
}

/** Links to the first log lines of the busiest calls, so a click opens the log there. */
function sampleLinks(outcomes: readonly ShapeOutcome[]): RelatedLocation[] {
  const out: RelatedLocation[] = [];
  for (const { outcome: o, calls } of displayedCalls(outcomes)) {
    const sample = o.shape.samples[0];
    if (!sample) continue;
    const line = Math.max(0, sample.line - 1);
    out.push({ file: sample.file, range: { start: { line, character: 0 }, end: { line, character: 0 } }, message: `${count(calls)}× ${describeCall(o.shape.record)} (observed ${o.shape.record.observed ?? 'unknown'})` });
    if (out.length >= SAMPLE_LINKS) break;
  }
  return out;
}

import type { Simulation, ShapeOutcome } from '../simulate';
import type { Decision, SourceRef, Verdict } from '../simulate/types';
import { sameDeciders } from '../simulate/sourceRefs';
import type { BaselineComparison, BaselineFiles, CallImpact, ImpactTally, PolicyImpact } from './index';

export function emptyImpact(): ImpactTally {
  return { becomeDenied: 0, becomeAllowed: 0, otherwise: 0 };
}

/** Adds `calls` (negative: takes them back) to the tally of a change from `before` to `after`. */
export function countImpact(tally: ImpactTally, before: Verdict, after: Verdict, calls: number): void {
  if (before === 'allow' && after === 'deny') tally.becomeDenied += calls;
  else if (before === 'deny' && after === 'allow') tally.becomeAllowed += calls;
  else tally.otherwise += calls;
}

/** The calls charged to one policy, and the tally built from them (rebuilt when they change). */
interface Charged {
  calls: Set<number>;
  impact?: PolicyImpact;
  /** The smallest outcome index charged: policies are listed in the order of their first call. */
  first: number;
}

type Charge = (impact: CallImpact) => { policy?: SourceRef; rule?: SourceRef };
/** Now: the policy deciding the call, or the baseline's when none decides it now. */
const chargedNow: Charge = ({ outcome, baseline }) => (outcome.decision.policy ? outcome.decision : baseline);
const chargedAtRef: Charge = ({ baseline }) => baseline;

/**
 * The comparison with the baseline, kept call by call so that after an edit only the calls
 * decided again are compared again. The baseline's decisions never change while it lives (one
 * per traffic load), so a call's difference can only change when its current decision does.
 * Policy tallies whose calls did not change keep their objects; changed ones are built anew
 * from their calls in outcome order, so the result equals a comparison of every call.
 */
export class BaselineTracker {
  private readonly differing = new Map<number, CallImpact>();
  private readonly now = new Map<string, Charged>();
  private readonly atRef = new Map<string, Charged>();
  private totals = emptyImpact();
  /** The baseline's decision per outcome index, and the shape it was made for (it never changes while the tracker lives). */
  private readonly atRefDecisions: (Decision | undefined)[] = [];
  private readonly atRefShapes: (ShapeOutcome['shape'] | undefined)[] = [];

  constructor(
    private readonly baseline: Pick<Simulation, 'decide'>,
    private readonly files: Pick<BaselineFiles, 'ref' | 'commit' | 'added' | 'deleted'>,
  ) {}

  /** Compares every call, forgetting earlier comparisons. */
  compareAll(outcomes: readonly ShapeOutcome[]): BaselineComparison {
    this.differing.clear();
    this.now.clear();
    this.atRef.clear();
    this.totals = emptyImpact();
    return this.update(outcomes, outcomes.keys());
  }

  /** After a re-simulation of the same shapes: compares again the outcomes at `redecided` indexes. */
  update(outcomes: readonly ShapeOutcome[], redecided: Iterable<number>): BaselineComparison {
    const touchedNow = new Set<string>();
    const touchedAtRef = new Set<string>();
    const totals = { ...this.totals };
    const charge = (charges: Map<string, Charged>, touched: Set<string>, policy: SourceRef | undefined, index: number, sign: 1 | -1): void => {
      if (!policy) return;
      const key = policyKey(policy);
      touched.add(key);
      let charged = charges.get(key);
      if (!charged) charges.set(key, (charged = { calls: new Set(), first: index }));
      if (sign === 1) charged.calls.add(index);
      else charged.calls.delete(index);
    };
    const move = (index: number, impact: CallImpact, sign: 1 | -1): void => {
      countImpact(totals, impact.baseline.verdict, impact.outcome.decision.verdict, sign * impact.outcome.shape.count);
      charge(this.now, touchedNow, chargedNow(impact).policy, index, sign);
      charge(this.atRef, touchedAtRef, chargedAtRef(impact).policy, index, sign);
    };
    for (const index of redecided) {
      const outcome = outcomes[index]!;
      const before = this.atRefDecision(index, outcome.shape);
      const old = this.differing.get(index);
      if (before.verdict === outcome.decision.verdict) {
        if (old) {
          this.differing.delete(index);
          move(index, old, -1);
        }
        continue;
      }
      const impact = { outcome, baseline: before };
      this.differing.set(index, impact);
      // The usual re-decided call: charged as before, to a policy and rule written where they were.
      if (old && old.outcome.decision.verdict === outcome.decision.verdict && old.outcome.shape === outcome.shape && sameDeciders(chargedNow(old), chargedNow(impact))) {
        // (its policy compiled again: the impact takes the new refs, which move with the policy when lines above it change)
        const was = chargedNow(old);
        const now = chargedNow(impact);
        if (now.policy && (was.policy !== now.policy || was.rule !== now.rule)) touchedNow.add(policyKey(now.policy));
        continue;
      }
      if (old) move(index, old, -1);
      move(index, impact, 1);
    }
    this.totals = totals;
    for (const key of touchedNow) this.rebuild(this.now, key, chargedNow);
    for (const key of touchedAtRef) this.rebuild(this.atRef, key, chargedAtRef);
    const differing = this.differing;
    let changed: CallImpact[] | undefined;
    return {
      ...totals,
      ref: this.files.ref,
      commit: this.files.commit,
      // Only reports read the list of calls: sorted when asked for, busiest first (ties in outcome order).
      get changed(): CallImpact[] {
        changed ??= [...differing].sort((a, b) => b[1].outcome.shape.count - a[1].outcome.shape.count || a[0] - b[0]).map(([, impact]) => impact);
        return changed;
      },
      policies: inOrder(this.now),
      baselinePolicies: inOrder(this.atRef),
      added: this.files.added,
      deleted: this.files.deleted,
    };
  }

  private atRefDecision(index: number, shape: ShapeOutcome['shape']): Decision {
    if (this.atRefShapes[index] !== shape) {
      this.atRefShapes[index] = shape;
      this.atRefDecisions[index] = this.baseline.decide(shape.record);
    }
    return this.atRefDecisions[index]!;
  }

  private rebuild(charges: Map<string, Charged>, key: string, charge: Charge): void {
    const charged = charges.get(key)!;
    if (charged.calls.size === 0) {
      charges.delete(key);
      return;
    }
    const calls = [...charged.calls].sort((a, b) => a - b);
    charged.first = calls[0]!;
    let policy: PolicyImpact | undefined;
    for (const index of calls) {
      const impact = this.differing.get(index)!;
      const { policy: policyRef, rule: ruleRef } = charge(impact);
      const before = impact.baseline.verdict;
      const after = impact.outcome.decision.verdict;
      const n = impact.outcome.shape.count;
      policy ??= { ...emptyImpact(), ref: policyRef!, rules: new Map() };
      countImpact(policy, before, after, n);
      if (!ruleRef) continue;
      let rule = policy.rules.get(ruleRef.label);
      if (!rule) policy.rules.set(ruleRef.label, (rule = { ...emptyImpact(), ref: ruleRef }));
      countImpact(rule, before, after, n);
    }
    charged.impact = policy;
  }
}

function policyKey(ref: SourceRef): string {
  return `${ref.file}\u0000${ref.label}`;
}

function inOrder(charges: Map<string, Charged>): PolicyImpact[] {
  return [...charges.values()].sort((a, b) => a.first - b.first).map((c) => c.impact!);
}

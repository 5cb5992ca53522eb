import type { AccessRecord } from '../traffic/accessRecord';
import { inSourceOrder, type ShapeOutcome } from './index';
import type { Decision, ShadowMatch, ShadowVerdict, SourceRef } from './types';

/**
 * What dry-run policies (Istio `istio.io/dry-run`) would have done with the observed calls, read
 * from the decisions' shadow verdicts. A dry-run policy never decides a call, so the tallies of
 * deciding policies never count it; these counts are what its author wants to see before
 * enforcing it.
 */
export interface DryRunCounts {
  /** Calls the policy applied to (for a rule: calls it matched). */
  calls: number;
  /** Calls the policy (rule) matches: a DENY policy would deny them, an ALLOW policy would allow them. */
  matched: number;
  /** Calls lacking what it tests. */
  unknown: number;
  /** Calls it would deny if enforced: a DENY policy those it matches; an ALLOW policy those that none of the proxy's dry-run ALLOW policies matches. */
  wouldDeny: number;
  /** Of those, the calls observed allowed: what enforcing the engine's policies would newly deny. */
  wouldNewlyDeny: number;
  /** Calls whose log reports another result of the policy's dry-run engine (`dryRunDifference`). */
  loggedOtherwise: number;
}

export interface DryRunTally extends DryRunCounts {
  ref: SourceRef;
  engine: ShadowVerdict['engine'];
  /** Per rule label: the calls the rule matched first. */
  rules: Map<string, { ref: SourceRef; matched: number }>;
}

export function emptyDryRunCounts(): DryRunCounts {
  return { calls: 0, matched: 0, unknown: 0, wouldDeny: 0, wouldNewlyDeny: 0, loggedOtherwise: 0 };
}

function countMatch(counts: DryRunCounts, shadow: ShadowVerdict, match: ShadowMatch, outcome: ShapeOutcome): void {
  const calls = outcome.shape.count;
  counts.calls += calls;
  if (match.matches === true) counts.matched += calls;
  else if (match.matches === undefined) counts.unknown += calls;
  if (shadow.engine === 'deny' ? match.matches === true : shadow.verdict === 'deny') {
    counts.wouldDeny += calls;
    if (outcome.shape.record.observed === 'allowed') counts.wouldNewlyDeny += calls;
  }
  if (dryRunEngineDifference(shadow.engine, outcome.decision, outcome.shape.record) !== undefined) counts.loggedOtherwise += calls;
}

/** Per dry-run policy that applied to any of `outcomes`, in the order they are written. */
export function dryRunTallies(outcomes: readonly ShapeOutcome[]): DryRunTally[] {
  const byPolicy = new Map<string, DryRunTally>();
  for (const outcome of outcomes) {
    const shadows = outcome.decision.shadow;
    if (shadows === undefined) continue;
    for (const shadow of shadows) {
      for (const match of shadow.policies) {
        const key = `${match.policy.file}\u0000${match.policy.label}`;
        let tally = byPolicy.get(key);
        if (!tally) byPolicy.set(key, (tally = { ...emptyDryRunCounts(), ref: match.policy, engine: shadow.engine, rules: new Map() }));
        countMatch(tally, shadow, match, outcome);
        if (match.matches === true && match.rule) {
          let rule = tally.rules.get(match.rule.label);
          if (!rule) tally.rules.set(match.rule.label, (rule = { ref: match.rule, matched: 0 }));
          rule.matched += outcome.shape.count;
        }
      }
    }
  }
  return inSourceOrder(byPolicy.values());
}

/**
 * The dry-run counts of one item of a file (a policy, or a rule in it): `policyIn` says whether a
 * dry-run policy starts within the item, `ruleIn` whether a rule does. A rule counts the calls it
 * matched. `engine` is undefined when no dry-run policy of the item applied to any call. `shown`:
 * the calls a policy would deny, or those a rule matches.
 */
export function dryRunCountsIn(outcomes: Iterable<ShapeOutcome>, policyIn: (ref: SourceRef) => boolean, ruleIn: (ref: SourceRef) => boolean): { counts: DryRunCounts; engine: ShadowVerdict['engine'] | undefined; rule: boolean; shown: ShapeOutcome[] } {
  const counts = emptyDryRunCounts();
  let engine: ShadowVerdict['engine'] | undefined;
  let rule = false;
  const shown: ShapeOutcome[] = [];
  for (const outcome of outcomes) {
    for (const shadow of outcome.decision.shadow ?? []) {
      for (const match of shadow.policies) {
        if (policyIn(match.policy)) {
          engine = shadow.engine;
          const denied = counts.wouldDeny;
          countMatch(counts, shadow, match, outcome);
          if (counts.wouldDeny !== denied) shown.push(outcome);
        } else if (match.matches === true && match.rule && ruleIn(match.rule)) {
          engine = shadow.engine;
          rule = true;
          counts.calls += outcome.shape.count;
          counts.matched += outcome.shape.count;
          shown.push(outcome);
        }
      }
    }
  }
  return { counts, engine, rule, shown };
}

/** One line for a dry-run policy's (or rule's) counts, e.g. "dry run (not enforced): 1,241 calls · would deny 37 (12 now allowed)". */
export function dryRunSummary(counts: DryRunCounts, engine: ShadowVerdict['engine'], rule = false): string {
  const n = (value: number): string => value.toLocaleString('en-US');
  if (rule) return `dry run: matches ${n(counts.matched)} ${counts.matched === 1 ? 'call' : 'calls'}`;
  const parts = [`dry run (not enforced): ${n(counts.calls)} ${counts.calls === 1 ? 'call' : 'calls'}`];
  // The proxy's dry-run ALLOW engine holds the dry-run ALLOW policies only: what it denies, they would deny without the enforced ones.
  const denied = `would deny ${n(counts.wouldDeny)}${counts.wouldNewlyDeny ? ` (${n(counts.wouldNewlyDeny)} now allowed)` : ''}`;
  if (engine === 'allow') parts.push(`matches ${n(counts.matched)}`, `without the other ALLOW policies ${denied}`);
  else parts.push(denied);
  if (counts.unknown) parts.push(`${n(counts.unknown)} undecided`);
  if (counts.loggedOtherwise) parts.push(`${n(counts.loggedOtherwise)} logged otherwise`);
  return parts.join(' · ');
}

const ENGINE_NAME = { allow: 'dry-run ALLOW', deny: 'dry-run DENY' } as const;

/**
 * When the call's log reports what one of its proxy's dry-run engines did and the simulation's
 * shadow verdict differs (another result, or another matching policy than the one logged): one
 * sentence with both. Undefined when they agree, when the log carries nothing of that engine,
 * or when the simulation cannot decide it.
 */
export function dryRunEngineDifference(engine: ShadowVerdict['engine'], decision: Decision, record: AccessRecord): string | undefined {
  const logged = record.response?.dryRun?.[engine];
  if (logged === undefined) return undefined;
  const loggedText = `${logged.result === 'denied' ? 'would deny' : engine === 'deny' ? 'would not deny' : 'would allow'}${logged.policy ? ` (matched by ${logged.policy})` : ''}`;
  const simulated = decision.shadow?.find((s) => s.engine === engine);
  if (simulated === undefined) return `${ENGINE_NAME[engine]}: observed ${loggedText}; simulated: no ${ENGINE_NAME[engine]} policy applies to the call`;
  if (simulated.verdict === 'unknown' || simulated.verdict === 'external') return undefined;
  const verb = simulated.verdict === 'deny' ? 'would deny' : engine === 'deny' ? 'would not deny' : 'would allow';
  const why = simulated.rule ? `${simulated.policy.label} ${simulated.rule.label} matches` : `no ${ENGINE_NAME[engine]} policy matches`;
  const simulatedText = `${verb} (${why})`;
  if ((simulated.verdict === 'deny') !== (logged.result === 'denied')) return `${ENGINE_NAME[engine]}: observed ${loggedText}; simulated ${simulatedText}`;
  // Envoy names the first matching policy by its RBAC policy name (a std::map's order), which
  // may differ from the simulation's first: the logged one must be among those that match.
  if (logged.policy !== undefined && !simulated.policies.some((m) => m.matches === true && m.policy.label.endsWith(` ${logged.policy}`))) {
    return `${ENGINE_NAME[engine]}: observed ${loggedText}; simulated ${simulatedText}`;
  }
  return undefined;
}

/** Every dry-run engine whose logged result differs from the simulation's, as one sentence (undefined: none). */
export function dryRunDifference(decision: Decision, record: AccessRecord): string | undefined {
  const differences = (['deny', 'allow'] as const).map((engine) => dryRunEngineDifference(engine, decision, record)).filter((d): d is string => d !== undefined);
  return differences.length ? differences.join('; ') : undefined;
}

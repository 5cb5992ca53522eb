import type { CodeLens } from 'vscode-languageserver';
import type { LintResult } from '../engine/engine';
import type { TrafficInsight } from '../engine/insight/trafficInsight';
import type { PolicyTestResult } from '../engine/policyTests';

export const SHOW_TRAFFIC_COMMAND = 'meshPolicy.showTrafficForPolicy';

/** A lens above every policy and rule: the observed calls it decides. Clicking lists them. */
export function codeLenses(result: LintResult, insight: TrafficInsight | undefined): CodeLens[] {
  if (!insight) return [];
  return insight.lenses(result.file.path).map((lens) => ({
    range: lens.item.head,
    command: { title: lens.title, command: SHOW_TRAFFIC_COMMAND, arguments: [{ file: lens.item.file, offset: lens.item.span.start }] },
  }));
}

export const EXPLAIN_WRITTEN_CALL_COMMAND = 'meshPolicy.explainWrittenCall';

/** A lens above every policy test: passes or fails, and what decided; clicking opens the walkthrough. */
export function policyTestLenses(result: LintResult, results: readonly PolicyTestResult[]): CodeLens[] {
  return results.map(({ test, decision, failures }) => {
    const at = result.file.lines.position(test.span.start);
    const decidedBy = decision.policy ? ` by ${shortLabel(decision.policy.label)}${decision.rule ? ` ${decision.rule.label}` : ''}` : ' by the default';
    const title = failures.length ? `✗ fails: ${decision.verdict}${decidedBy}, expected ${test.expect}` : `✓ passes: ${decision.verdict}${decidedBy}`;
    return { range: { start: at, end: at }, command: { title, command: EXPLAIN_WRITTEN_CALL_COMMAND, arguments: [test.callText] } };
  });
}

/** `AuthorizationPolicy shop/cart` → `shop/cart`: the lens is short. */
function shortLabel(label: string): string {
  return label.slice(label.lastIndexOf(' ') + 1);
}

import type { WorkspaceView } from '../checks/check';
import type { Range } from '../findings';
import { RULE_OUTLINERS } from '../policyRules';
import { resourceLabel, type Resource } from '../resource';
import { resourceValue } from '../resourceValue';
import type { Simulation } from '../simulate';
import type { SourceRef } from '../simulate/types';
import { locate } from '../source/tree';
import type { PolicyTestResult } from './index';

/**
 * Which policies and rules the policy tests exercise (`mesh-policy test --coverage`), as `opa test
 * --coverage` does for Rego: a policy or rule is covered when it decides at least one test's call.
 * Only what can decide a call is counted: Istio AuthorizationPolicies (not dry-run or AUDIT ones,
 * which never decide) and their rules, Linkerd Servers, ServerAuthorizations and
 * AuthorizationPolicies, Consul intentions and their sources and permissions; resources the mesh
 * refuses to store are not in effect and are left out.
 */
const DECIDING_KINDS: Record<Resource['mesh'], ReadonlySet<string>> = {
  istio: new Set(['AuthorizationPolicy']),
  linkerd: new Set(['Server', 'ServerAuthorization', 'AuthorizationPolicy']),
  consul: new Set(['ServiceIntentions', 'service-intentions']),
};

export interface CoverageItem {
  label: string;
  file: string;
  /** 1-based. */
  line: number;
}

/** A policy or rule with where it is and how many tests it decides (the editor's coverage view). */
export interface CoveredPlace extends CoverageItem {
  kind: 'policy' | 'rule';
  range: Range;
  tests: number;
}

export interface PolicyTestCoverage {
  policies: { covered: number; total: number; uncovered: CoverageItem[] };
  rules: { covered: number; total: number; uncovered: CoverageItem[] };
  /** Every policy and rule counted, covered or not, in workspace order. */
  places: CoveredPlace[];
}

export function policyTestCoverage(results: readonly PolicyTestResult[], workspace: Pick<WorkspaceView, 'resources'>, simulation: Pick<Simulation, 'notInEffect'>): PolicyTestCoverage {
  const decided = (ref: SourceRef | undefined) => (ref ? `${ref.file}\u0000${ref.label}` : '');
  const policies = tally(results.map((r) => decided(r.decision.policy)));
  const rules = tally(results.flatMap((r) => (r.decision.policy && r.decision.rule ? [`${decided(r.decision.policy)}\u0000${r.decision.rule.label}`] : [])));
  const refused = new Set(simulation.notInEffect().map((r) => `${r.ref.file}\u0000${r.ref.label}`));
  const coverage: PolicyTestCoverage = { policies: { covered: 0, total: 0, uncovered: [] }, rules: { covered: 0, total: 0, uncovered: [] }, places: [] };
  for (const { file, resource } of workspace.resources) {
    if (!DECIDING_KINDS[resource.mesh].has(resource.kind) || neverDecides(resource)) continue;
    const label = resourceLabel(resource);
    const key = `${file.path}\u0000${label}`;
    if (refused.has(key)) continue;
    const line = (offset: number) => file.lines.position(offset).line + 1;
    // (at its name, where the walkthrough and `decided by` place a policy)
    const name = locate(resource.node, ['metadata', 'name']).node ?? locate(resource.node, ['Name']).node ?? resource.node;
    const policyTests = policies.get(key) ?? 0;
    count(coverage.policies, policyTests > 0, { label, file: file.path, line: line(name.span.start) });
    coverage.places.push({ kind: 'policy', label, file: file.path, line: line(name.span.start), range: file.lines.range(name.span), tests: policyTests });
    for (const rule of RULE_OUTLINERS[resource.mesh](resource, resourceValue(resource))) {
      const node = locate(resource.node, rule.path).node;
      // (a decision names a Consul rule after its entry, `ServiceIntentions ns/api sources[0] web`;
      // a source is covered too when one of its permissions decides)
      let ruleTests = 0;
      for (const [r, n] of rules) if (r.startsWith(`${key}\u0000`) && [`\u0000${rule.label}`, ` ${rule.label}`].some((named) => r.endsWith(named) || r.includes(`${named} `))) ruleTests += n;
      const at = node?.span ?? resource.node.span;
      count(coverage.rules, ruleTests > 0, { label: `${label} ${rule.label}`, file: file.path, line: line(at.start) });
      // (the rule's first line: where the editor marks it)
      const start = file.lines.position(at.start);
      coverage.places.push({ kind: 'rule', label: `${label} ${rule.label}`, file: file.path, line: start.line + 1, range: { start, end: { line: start.line, character: start.character + 1 } }, tests: ruleTests });
    }
  }
  return coverage;
}

/** How many times each key occurs. */
function tally(keys: readonly string[]): Map<string, number> {
  const counts = new Map<string, number>();
  for (const key of keys) if (key) counts.set(key, (counts.get(key) ?? 0) + 1);
  return counts;
}

function count(tally: PolicyTestCoverage['policies'], covered: boolean, item: CoverageItem): void {
  tally.total++;
  if (covered) tally.covered++;
  else tally.uncovered.push(item);
}

/** An Istio dry-run or AUDIT policy: it marks calls, never decides one. */
function neverDecides(resource: Resource): boolean {
  if (resource.mesh !== 'istio') return false;
  const value = resourceValue(resource) as { metadata?: { annotations?: Record<string, unknown> }; spec?: { action?: unknown } };
  return value.spec?.action === 'AUDIT' || String(value.metadata?.annotations?.['istio.io/dry-run']) === 'true';
}

import type { Fix } from '../../findings';
import type { Check } from '../check';
import { removeListItem } from './edits';
import { hasZtunnelHttpParts, matchesEverything, ruleCovers } from './ruleCover';
import { AP, actionOf, hasTargetRefs, isObj, namespaceOf, rulesOf, specOf, type RuleItem } from './util';
import { mayRunAtZtunnel } from './workspaceIndex';

/** A canonical text: key order, value order and repeated values do not change what a rule matches. */
function canonical(value: unknown): string {
  if (Array.isArray(value)) return `[${[...new Set(value.map(canonical))].sort().join(',')}]`;
  if (isObj(value)) {
    const keys = Object.keys(value).filter((k) => !(Array.isArray(value[k]) && (value[k] as unknown[]).length === 0)).sort();
    return `{${keys.map((k) => `${JSON.stringify(k)}:${canonical(value[k])}`).join(',')}}`;
  }
  return JSON.stringify(value) ?? 'null';
}

/** Rules are alternatives (OR): a rule that repeats another, or matches only requests another
 * rule of the same policy matches too, changes nothing, and is often a copy that was meant to differ. */
export const redundantRuleCheck: Check = {
  code: 'MPA1025',
  mesh: 'istio',
  title: 'Duplicate or shadowed rule',
  defaultSeverity: 'warning',
  upstream: 'none (istiod accepts repeated rules)',
  kinds: [AP],
  run(ctx) {
    const spec = specOf(ctx);
    const rules = rulesOf(spec);
    if (rules.length < 2) return;
    const rulesNode = ctx.locate(['spec', 'rules']).node;
    const seen = new Map<string, number>();
    const reported = new Set<number>();
    for (const rule of rules) {
      const key = canonical(rule.rule);
      const first = seen.get(key);
      if (first === undefined) {
        seen.set(key, rule.index);
        continue;
      }
      reported.add(rule.index);
      const edit = rulesNode?.type === 'array' ? removeListItem(ctx.file, rulesNode, rule.index) : undefined;
      const fixes: Fix[] = edit ? [{ title: `Remove rules[${rule.index}]`, edits: [edit], preferred: true }] : [];
      ctx.report({ path: rule.path }, `rules[${rule.index}] repeats rules[${first}] (the same matches, maybe in another order): it changes nothing; remove it, or change what was meant to differ`, { fixes });
    }
    if (rules.length > 200) return; // pairwise comparison only for policies of a reasonable size
    // At ztunnel a DENY rule's HTTP parts never match (spec §1.7): such a rule may cover nothing.
    const partialAtZtunnel = actionOf(spec) === 'DENY' && !hasTargetRefs(spec) && mayRunAtZtunnel(ctx.workspace.inventory, namespaceOf(ctx.resource), ctx.workspace.config.istio.rootNamespace);
    const canCover = (w: RuleItem) => !(partialAtZtunnel && hasZtunnelHttpParts(w.rule));
    for (const narrow of rules) {
      if (reported.has(narrow.index)) continue;
      const wide = rules.find((w) => w !== narrow && !reported.has(w.index) && canCover(w) && ruleCovers(w.rule, narrow.rule) && (!ruleCovers(narrow.rule, w.rule) || w.index < narrow.index));
      if (!wide) continue;
      const everything = matchesEverything(wide.rule);
      ctx.report({ path: narrow.path }, everything
        ? `rules[${narrow.index}] never decides anything: rules[${wide.index}] is an empty rule, which matches every request`
        : `rules[${narrow.index}] is shadowed by rules[${wide.index}]: every request it matches, rules[${wide.index}] matches too, so it changes nothing`);
    }
  },
};

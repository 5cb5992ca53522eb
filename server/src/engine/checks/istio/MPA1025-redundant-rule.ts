import type { Fix } from '../../findings';
import type { Check } from '../check';
import { removeListItem } from './edits';
import { AP, isObj, list, nonEmpty, rulesOf, specOf, type Obj } from './util';

/** A canonical text: key order, value order and repeated values do not change what a rule matches. */
function canonical(value: unknown): string {
  if (Array.isArray(value)) return `[${[...new Set(value.map(canonical))].sort().join(',')}]`;
  if (isObj(value)) {
    const keys = Object.keys(value).filter((k) => !(Array.isArray(value[k]) && (value[k] as unknown[]).length === 0)).sort();
    return `{${keys.map((k) => `${JSON.stringify(k)}:${canonical(value[k])}`).join(',')}}`;
  }
  return JSON.stringify(value) ?? 'null';
}

function stringSet(value: unknown): Set<string> | undefined {
  if (!Array.isArray(value) || !value.every((v) => typeof v === 'string')) return undefined;
  return new Set(value as string[]);
}

function subset(a: Set<string>, b: Set<string>): boolean {
  for (const v of a) if (!b.has(v)) return false;
  return true;
}

/** Every request `narrow` matches on its fields, `wide` matches too (exact values only, no wildcard reasoning). */
function fieldsCover(wide: Obj, narrow: Obj): boolean {
  for (const [field, raw] of Object.entries(wide)) {
    if (!nonEmpty(raw)) continue;
    const w = stringSet(raw);
    const n = stringSet(narrow[field]);
    if (!w || !n || n.size === 0) return false;
    if (/^not[A-Z]/.test(field) ? !subset(w, n) : !subset(n, w)) return false;
  }
  return true;
}

function listCovers(wide: Obj, narrow: Obj, side: 'from' | 'to', inner: string): boolean {
  if (!nonEmpty(wide[side])) return true;
  if (!nonEmpty(narrow[side])) return false;
  const wides = list(wide[side]).map((e) => (isObj(e) ? e[inner] : undefined));
  return list(narrow[side]).every((e) => {
    const n = isObj(e) ? e[inner] : undefined;
    return isObj(n) && wides.some((w) => isObj(w) && fieldsCover(w, n));
  });
}

function whenCovers(wide: Obj, narrow: Obj): boolean {
  return list(wide['when']).every((c1) => {
    if (!isObj(c1)) return false;
    return list(narrow['when']).some((c2) => isObj(c2) && c2['key'] === c1['key'] && fieldsCover(
      { values: c1['values'], notValues: c1['notValues'] },
      { values: c2['values'], notValues: c2['notValues'] },
    ));
  });
}

export function ruleCovers(wide: Obj, narrow: Obj): boolean {
  return listCovers(wide, narrow, 'from', 'source') && listCovers(wide, narrow, 'to', 'operation') && whenCovers(wide, narrow);
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
    const rules = rulesOf(specOf(ctx));
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
    for (const narrow of rules) {
      if (reported.has(narrow.index)) continue;
      const wide = rules.find((w) => w !== narrow && !reported.has(w.index) && ruleCovers(w.rule, narrow.rule) && (!ruleCovers(narrow.rule, w.rule) || w.index < narrow.index));
      if (!wide) continue;
      const everything = Object.keys(wide.rule).every((k) => !nonEmpty(wide.rule[k]));
      ctx.report({ path: narrow.path }, everything
        ? `rules[${narrow.index}] never decides anything: rules[${wide.index}] is an empty rule, which matches every request`
        : `rules[${narrow.index}] is shadowed by rules[${wide.index}]: every request it matches, rules[${wide.index}] matches too, so it changes nothing`);
    }
  },
};

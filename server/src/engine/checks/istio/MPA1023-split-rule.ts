import { spanEdit } from '../../edits';
import type { Fix, TextEdit } from '../../findings';
import { getEntry, type NodePath, type ObjectNode, type SourceNode } from '../../source/tree';
import type { Check, CheckContext } from '../check';
import { dashOffset } from './edits';
import { AP, actionOf, isObj, list, nonEmpty, rulesOf, specOf, type Obj } from './util';

function onlyKey(rule: Obj): string | undefined {
  const keys = Object.keys(rule);
  return keys.length === 1 && nonEmpty(rule[keys[0]!]) ? keys[0] : undefined;
}

function column(ctx: CheckContext, offset: number): number {
  return ctx.file.lines.position(offset).character;
}

/** Turns `- to:` into `  to:` so that it joins the mapping above (block YAML only). */
function joinRuleFix(ctx: CheckContext, previous: SourceNode | undefined, current: SourceNode | undefined, key: string): TextEdit | undefined {
  if (previous?.type !== 'object' || current?.type !== 'object' || previous.flow || current.flow) return undefined;
  if (getEntry(previous, key)) return undefined;
  const dash = dashOffset(ctx.file, current);
  const firstPrevious = previous.entries[0];
  const firstCurrent = current.entries[0];
  if (dash === undefined || !firstPrevious || !firstCurrent) return undefined;
  if (column(ctx, firstPrevious.keySpan.start) !== column(ctx, firstCurrent.keySpan.start)) return undefined;
  return spanEdit(ctx.file, { start: dash, end: dash + 1 }, ' ');
}

/** Moves the fields of one `- source:` (or `- operation:`) into the entry above (block YAML only). */
function mergeEntriesFix(ctx: CheckContext, entries: SourceNode | undefined, index: number, inner: string): TextEdit | undefined {
  if (entries?.type !== 'array' || entries.flow || index === 0) return undefined;
  const previous = getEntry(entries.items[index - 1], inner)?.value;
  const currentEntry = entries.items[index];
  const current = getEntry(currentEntry, inner)?.value;
  if (previous?.type !== 'object' || current?.type !== 'object' || previous.flow || current.flow) return undefined;
  if (currentEntry?.type !== 'object' || currentEntry.entries.length !== 1) return undefined;
  if (current.entries.some((e) => getEntry(previous, e.key))) return undefined;
  const firstPrevious = (previous as ObjectNode).entries[0];
  const firstCurrent = current.entries[0];
  const dash = dashOffset(ctx.file, currentEntry);
  if (!firstPrevious || !firstCurrent || dash === undefined) return undefined;
  const keyColumn = column(ctx, firstPrevious.keySpan.start);
  if (keyColumn !== column(ctx, firstCurrent.keySpan.start)) return undefined;
  let start = dash;
  while (start > 0 && /\s/.test(ctx.file.text[start - 1]!)) start--;
  const removed = ctx.file.text.slice(start, firstCurrent.keySpan.start);
  if (removed.includes('#')) return undefined;
  return spanEdit(ctx.file, { start, end: firstCurrent.keySpan.start }, `\n${' '.repeat(keyColumn)}`);
}

function negativeOnly(object: Obj): boolean {
  const keys = Object.keys(object).filter((k) => nonEmpty(object[k]));
  return keys.length > 0 && keys.every((k) => /^not[A-Z]/.test(k));
}

function positive(object: Obj): boolean {
  return Object.keys(object).some((k) => nonEmpty(object[k]) && !/^not[A-Z]/.test(k));
}

/**
 * The "extra dash" mistake (istio/istio.io#9043): a `-` too many turns fields meant to hold
 * together (AND) into alternatives (OR), which in an ALLOW policy lets more through.
 * Heuristics, both for ALLOW only:
 *  1. two neighbouring rules, one with only `from` and one with only `to`: every listed caller
 *     may do anything, and anyone may do the listed operations;
 *  2. a `from` (or `to`) list where one entry sets only not-fields (notPrincipals, notPaths, …)
 *     and another sets positive fields: the negative-only entry matches almost every request on
 *     its own, so the positive entries add nothing.
 */
export const splitRuleCheck: Check = {
  code: 'MPA1023',
  mesh: 'istio',
  title: 'Rule split by an extra dash',
  defaultSeverity: 'warning',
  upstream: 'none; the mistake is described in the Istio security best practices (istio/istio.io#9043)',
  kinds: [AP],
  run(ctx) {
    const spec = specOf(ctx);
    if (actionOf(spec) !== 'ALLOW') return;
    const rules = rulesOf(spec);
    const rulesNode = ctx.locate(['spec', 'rules']).node;
    for (let i = 1; i < rules.length; i++) {
      const previous = rules[i - 1]!;
      const current = rules[i]!;
      if (previous.index !== current.index - 1) continue;
      const a = onlyKey(previous.rule);
      const b = onlyKey(current.rule);
      if (!a || !b || a === b || (a !== 'from' && a !== 'to') || (b !== 'from' && b !== 'to')) continue;
      const edit = rulesNode?.type === 'array' ? joinRuleFix(ctx, rulesNode.items[previous.index], rulesNode.items[current.index], b) : undefined;
      const fixes: Fix[] = edit ? [{ title: `Join with rules[${previous.index}] (remove the "-" before ${b})`, edits: [edit] }] : [];
      const from = a === 'from' ? previous.index : current.index;
      const to = a === 'to' ? previous.index : current.index;
      ctx.report({ path: [...current.path, b], part: 'key' },
        `rules[${from}] has only \`from\` and rules[${to}] only \`to\`: as two rules they are alternatives (OR), so the sources of rules[${from}] may call anything and anyone may make the calls of rules[${to}]; if both were meant to hold together, remove the "-" before \`${b}\``,
        { fixes });
    }
    for (const rule of rules) {
      for (const [side, inner] of [['from', 'source'], ['to', 'operation']] as const) {
        const entries = list(rule.rule[side]);
        const objects = entries.map((e) => (isObj(e) && isObj(e[inner]) ? e[inner] : undefined));
        if (!objects.some((o) => o && positive(o))) continue;
        objects.forEach((object, index) => {
          if (!object || !negativeOnly(object)) return;
          const path: NodePath = [...rule.path, side, index, inner];
          const edit = mergeEntriesFix(ctx, ctx.locate([...rule.path, side]).node, index, inner);
          const fixes: Fix[] = edit ? [{ title: `Merge into ${side}[${index - 1}].${inner} (AND instead of OR)`, edits: [edit] }] : [];
          const fields = Object.keys(object).filter((k) => nonEmpty(object[k])).join(', ');
          ctx.report({ path, part: 'key' },
            `${side}[${index}].${inner} sets only ${fields}: ${side} entries are alternatives (OR), so on its own this entry matches almost every ${side === 'from' ? 'caller' : 'request'} and the other entries of this \`${side}\` add nothing; if it was meant to narrow another entry, put its fields in the same ${inner}`,
            { fixes });
        });
      }
    }
  },
};

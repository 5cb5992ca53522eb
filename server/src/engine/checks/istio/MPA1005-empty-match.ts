import type { Check, CheckContext } from '../check';
import type { NodePath } from '../../source/tree';
import { AP, OPERATION_FIELDS, SOURCE_FIELDS, isObj, rulesOf, specOf, type Obj } from './util';

const SOURCE_SET = new Set<string>(SOURCE_FIELDS);
const OPERATION_SET = new Set<string>(OPERATION_FIELDS);

/** Empty when every key is a known field with no values; unknown keys and values of another type (`methods: GET`) are the schema's finding. */
function isEmpty(object: Obj, known: Set<string>): boolean {
  return Object.entries(object).every(([key, value]) => known.has(key) && (value === null || (Array.isArray(value) && value.length === 0)));
}

function checkList(ctx: CheckContext, rulePath: NodePath, rule: Obj, side: 'from' | 'to'): void {
  const raw = rule[side];
  if (!Array.isArray(raw)) return;
  const inner = side === 'from' ? 'source' : 'operation';
  const anyWhat = side === 'from' ? 'any source (any caller)' : 'any operation (any host, port, method and path)';
  if (raw.length === 0) {
    // Protobuf cannot tell `from: []` from a missing `from`, so istiod never sees it as empty.
    ctx.report({ path: [...rulePath, side], part: 'key' }, `\`${side}: []\` is the same as leaving \`${side}\` out: the rule then matches ${anyWhat}; remove it, or list at least one ${inner}`, { severity: 'warning' });
    return;
  }
  raw.forEach((entry, i) => {
    if (!isObj(entry)) return;
    const path = [...rulePath, side, i];
    const value = entry[inner];
    if (value === undefined) {
      if (Object.keys(entry).length === 0) ctx.report({ path }, `\`${side}.${inner}\` must not be nil: each ${side} entry needs ${inner === 'source' ? 'a' : 'an'} \`${inner}\`; istiod rejects the policy`);
      return;
    }
    if (isObj(value) && isEmpty(value, side === 'from' ? SOURCE_SET : OPERATION_SET)) {
      ctx.report({ path: [...path, inner], part: 'key' }, `\`${side}.${inner}\` must not be empty: set at least one of its fields, or remove the entry; istiod rejects the policy`);
    }
  });
}

/** istiod: `from`/`to` entries need a non-empty source/operation (§1.9.2 R2, R3, O1, O2). */
export const emptyMatchCheck: Check = {
  code: 'MPA1005',
  mesh: 'istio',
  title: 'Empty source or operation',
  defaultSeverity: 'error',
  admissionRefusal: true,
  upstream: 'istiod webhook: "`from.source` must not be nil", "`from.source` must not be empty", "`to.operation` must not be nil", "`to.operation` must not be empty"',
  kinds: [AP],
  run(ctx) {
    for (const rule of rulesOf(specOf(ctx))) {
      checkList(ctx, rule.path, rule.rule, 'from');
      checkList(ctx, rule.path, rule.rule, 'to');
    }
  },
};

import type { Fix } from '../../findings';
import type { NodePath } from '../../source/tree';
import type { Check, CheckContext } from '../check';
import { removeListItem } from './edits';
import { AP, OPERATION_FIELDS, SOURCE_FIELDS, conditionsOf, operationsOf, rulesOf, sourcesOf, specOf, strings, upstreamName, whenKey, type Obj } from './util';

const NO_WILDCARD = /ipblocks|ports|serviceaccounts/i;

function checkField(ctx: CheckContext, object: Obj, path: NodePath, field: string, describe: (field: string) => string): void {
  for (const { value, index } of strings(object[field])) {
    if (value !== '') continue;
    const arrayNode = ctx.locate([...path, field]).node;
    const edit = arrayNode?.type === 'array' ? removeListItem(ctx.file, arrayNode, index) : undefined;
    const fixes: Fix[] = edit ? [{ title: 'Remove the empty value', edits: [edit], preferred: true }] : [];
    ctx.report({ path: [...path, field, index] }, describe(field), { fixes });
  }
}

/** istiod's CheckEmptyValues (§1.9.2 R6, R7, R8, O4, W3): "" is never a valid match value. */
export const emptyValueCheck: Check = {
  code: 'MPA1006',
  mesh: 'istio',
  title: 'Empty value',
  defaultSeverity: 'error',
  admissionRefusal: true,
  upstream: 'istiod webhook: "empty value not allowed, found in FIELD"',
  kinds: [AP],
  run(ctx) {
    const plain = (field: string) => `empty value not allowed, found in ${upstreamName(field)}: istiod rejects ""${NO_WILDCARD.test(field) ? '' : ' (to match any non-empty value, use "*")'}`;
    for (const rule of rulesOf(specOf(ctx))) {
      for (const source of sourcesOf(rule)) for (const field of SOURCE_FIELDS) checkField(ctx, source.source, source.path, field, plain);
      for (const operation of operationsOf(rule)) for (const field of OPERATION_FIELDS) checkField(ctx, operation.operation, operation.path, field, plain);
      for (const condition of conditionsOf(rule)) {
        const key = whenKey(condition.condition) ?? '';
        for (const field of ['values', 'notValues']) {
          checkField(ctx, condition.condition, condition.path, field, () => `invalid \`${field === 'values' ? 'value' : 'notValue'}\` for \`key\` ${key}: empty value not allowed (use "*" to match any non-empty value)`);
        }
      }
    }
  },
};

import type { Fix } from '../../findings';
import { getEntry, type ObjectNode } from '../../source/tree';
import type { Check } from '../check';
import { removeEntry, setEmptyValue } from './edits';
import { AP, actionOf, specOf } from './util';

/**
 * §1.3: an ALLOW policy without rules is "allow-nothing": the workloads it covers deny every
 * request no other ALLOW policy allows. Written as `spec: {}` that is a well-known pattern and
 * stays silent; reported when `rules` is written but empty (`rules: []`, or `rules:` with the
 * items commented out or mis-indented), where allow-nothing is more likely an accident.
 */
export const emptyAllowRulesCheck: Check = {
  code: 'MPA1027',
  mesh: 'istio',
  title: 'ALLOW policy with empty rules',
  defaultSeverity: 'info',
  upstream: 'none (istiod accepts it; the Istio docs call this the allow-nothing policy)',
  kinds: [AP],
  run(ctx) {
    const spec = specOf(ctx);
    if (!spec || actionOf(spec) !== 'ALLOW') return;
    const specNode = ctx.locate(['spec']).node;
    const rulesEntry = getEntry(specNode, 'rules');
    const rulesNode = rulesEntry?.value;
    if (!rulesEntry || !rulesNode) return;
    const empty = (rulesNode.type === 'array' && rulesNode.items.length === 0) || (rulesNode.type === 'scalar' && rulesNode.value === null);
    if (!empty) return;
    const fixes: Fix[] = [];
    const remove = specNode?.type === 'object' ? removeEntry(ctx.file, specNode as ObjectNode, 'rules') : undefined;
    if (remove) fixes.push({ title: 'Remove the empty rules (keep allow-nothing)', edits: [remove] });
    const allowAll = setEmptyValue(ctx.file, rulesEntry.keySpan, rulesNode, '[{}]');
    if (allowAll) fixes.push({ title: 'Allow every request: rules: [{}]', edits: [allowAll] });
    ctx.report({ path: ['spec', 'rules'], part: 'key' },
      '`rules` is empty, so this ALLOW policy matches nothing (allow-nothing): the workloads it covers now deny every request that no other ALLOW policy allows; if that is intended, leave `rules` out; to allow everything, use rules: [{}]',
      { fixes });
  },
};

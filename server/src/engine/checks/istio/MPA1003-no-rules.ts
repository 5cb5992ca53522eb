import { addField } from '../../edits';
import { setEmptyValue } from './edits';
import type { Fix } from '../../findings';
import { getEntry } from '../../source/tree';
import type { Check } from '../check';
import { AP, actionOf, nonEmpty, specOf } from './util';

/** istiod: "DENY/CUSTOM action without `rules` is meaningless as it will never be triggered"
 * (§1.9.2 C1, D1). `rules: []` counts as missing: protobuf cannot tell them apart. */
export const noRulesCheck: Check = {
  code: 'MPA1003',
  mesh: 'istio',
  title: 'DENY or CUSTOM policy without rules',
  defaultSeverity: 'error',
  admissionRefusal: true,
  upstream: 'istiod webhook: "DENY action without `rules` is meaningless as it will never be triggered, add an empty rule `{}` if you want it be triggered for every request" (same for CUSTOM)',
  kinds: [AP],
  run(ctx) {
    const spec = specOf(ctx);
    const action = actionOf(spec);
    if (!spec || (action !== 'DENY' && action !== 'CUSTOM') || nonEmpty(spec['rules'])) return;
    const specNode = ctx.locate(['spec']).node;
    const rulesEntry = getEntry(specNode, 'rules');
    const rulesNode = rulesEntry?.value;
    const fixes: Fix[] = [];
    const edit = rulesEntry && rulesNode
      ? (rulesNode.type === 'array' || (rulesNode.type === 'scalar' && rulesNode.value === null) ? setEmptyValue(ctx.file, rulesEntry.keySpan, rulesNode, '[{}]') : undefined)
      : specNode?.type === 'object' ? addField(ctx.file, specNode, 'rules', [{}]) : undefined;
    if (edit) {
      fixes.push({
        title: action === 'DENY' ? 'Add an empty rule {} (denies every request)' : 'Add an empty rule {} (sends every request to the provider)',
        edits: [edit],
        // A DENY policy that matches everything is a big change; only CUSTOM gets it as the default fix.
        preferred: action === 'CUSTOM',
      });
    }
    const effect = action === 'DENY' ? 'denies nothing' : 'never calls the provider';
    ctx.report({ path: ['spec', 'action'] }, `${action} action without \`rules\` is meaningless as it will never be triggered, so istiod rejects it (it ${effect}); add an empty rule \`{}\` if it should apply to every request`, { fixes });
  },
};

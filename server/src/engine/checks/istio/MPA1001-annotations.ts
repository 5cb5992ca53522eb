import { replaceScalar } from '../../edits';
import type { Fix } from '../../findings';
import { getEntry, type ObjectNode } from '../../source/tree';
import type { Check } from '../check';
import { removeEntry } from './edits';
import { AP, PA, RA, actionOf, annotationsOf, specOf } from './util';

const DRY_RUN = 'istio.io/dry-run';
/** Go strconv.ParseBool. */
const PARSE_BOOL = new Set(['1', 't', 'T', 'TRUE', 'true', 'True', '0', 'f', 'F', 'FALSE', 'false', 'False']);
const NEAR_TRUE = new Set(['yes', 'y', 'on', 'enabled', 'enable']);
const NEAR_FALSE = new Set(['no', 'n', 'off', 'disabled', 'disable']);
const INTERNAL: Record<string, string> = {
  'internal.istio.io/webhook-always-reject': 'annotation found, rejecting',
  'internal.istio.io/parent-namespace': 'annotation found, this may not be set by users',
  'internal.istio.io/parents': 'annotation found, this may not be set by users',
};

/** istiod's validateMetadata: the dry-run annotation and the internal annotations (§1.9.2 M1–M3). */
export const annotationsCheck: Check = {
  code: 'MPA1001',
  mesh: 'istio',
  title: 'Annotation rejected by istiod',
  defaultSeverity: 'error',
  admissionRefusal: true,
  upstream: 'istiod webhook (validateMetadata): "the annotation istio.io/dry-run currently only supports action ALLOW/DENY", "has annotation istio.io/dry-run with invalid value", "has unsupported annotation", "annotation found, rejecting"',
  kinds: [AP, PA, RA],
  run(ctx) {
    const annotations = annotationsOf(ctx.value);
    const path = ['metadata', 'annotations'];
    const annotationsNode = ctx.locate(path).node;
    const removal = (key: string): Fix[] => {
      const edit = annotationsNode?.type === 'object' ? removeEntry(ctx.file, annotationsNode as ObjectNode, key) : undefined;
      return edit ? [{ title: `Remove the ${key} annotation`, edits: [edit], preferred: true }] : [];
    };
    for (const [key, raw] of Object.entries(annotations)) {
      const where = { path: [...path, key], part: 'key' as const };
      if (key in INTERNAL) {
        ctx.report(where, `"${key}" ${INTERNAL[key]}: this internal annotation is set by Istio itself, and istiod rejects resources that carry it`, { fixes: removal(key) });
        continue;
      }
      if (key !== DRY_RUN) continue;
      if (ctx.resource.kind !== AP) {
        ctx.report(where, `${ctx.resource.kind} has unsupported annotation ${DRY_RUN}, please remove the annotation: only AuthorizationPolicy can run in dry-run mode`, { fixes: removal(key) });
        continue;
      }
      const action = actionOf(specOf(ctx));
      if (action === 'AUDIT' || action === 'CUSTOM') {
        ctx.report(where, `the annotation ${DRY_RUN} currently only supports action ALLOW/DENY, found action ${action}`, { fixes: removal(key) });
        continue;
      }
      if (typeof raw !== 'string' || PARSE_BOOL.has(raw)) continue;
      const valueNode = getEntry(annotationsNode, key)?.value;
      const replacement = NEAR_TRUE.has(raw.toLowerCase()) ? 'true' : NEAR_FALSE.has(raw.toLowerCase()) ? 'false' : undefined;
      const fixes: Fix[] = valueNode
        ? (replacement ? [replacement] : ['true', 'false']).map((v) => ({ title: `Change to "${v}"`, edits: [replaceScalar(ctx.file, valueNode, v)], preferred: replacement !== undefined }))
        : [];
      ctx.report({ path: [...path, key] }, `annotation ${DRY_RUN} has an invalid value (${raw}): istiod parses it as a boolean ("true" or "false") and rejects anything else`, { fixes });
    }
  },
};

import { addField, replaceScalar } from '../../edits';
import type { Fix } from '../../findings';
import { getEntry, type NodePath } from '../../source/tree';
import type { Check, CheckContext } from '../check';
import { AP, RA, specOf, targetRefsOf, type Obj } from './util';

/** (canonical group, kind) pairs istiod accepts; the empty group is spelled "core". */
const ALLOWED: Array<[string, string]> = [
  ['core', 'Service'],
  ['networking.istio.io', 'ServiceEntry'],
  ['gateway.networking.k8s.io', 'Gateway'],
  ['gateway.networking.k8s.io', 'GatewayClass'],
];
const ALLOWED_TEXT = 'Service, networking.istio.io/ServiceEntry, gateway.networking.k8s.io/Gateway or gateway.networking.k8s.io/GatewayClass';

function check(ctx: CheckContext, ref: Obj, path: NodePath): void {
  if (typeof ref['kind'] !== 'string' || (ref['group'] !== undefined && typeof ref['group'] !== 'string')) return;
  const kind = ref['kind'];
  const group = (ref['group'] as string | undefined) ?? '';
  const canonical = group === '' ? 'core' : group;
  if (ALLOWED.some(([g, k]) => g === canonical && k === kind)) return;
  const fixes: Fix[] = [];
  const refNode = ctx.locate(path).node;
  const kindNode = getEntry(refNode, 'kind')?.value;
  const groupNode = getEntry(refNode, 'group')?.value;
  const sameKind = ALLOWED.find(([, k]) => k === kind) ?? ALLOWED.find(([, k]) => k.toLowerCase() === kind.toLowerCase());
  if (sameKind && refNode?.type === 'object') {
    const [wantGroup, wantKind] = sameKind;
    const edits = [];
    if (wantKind !== kind && kindNode) edits.push(replaceScalar(ctx.file, kindNode, wantKind));
    const writtenGroup = wantGroup === 'core' ? '' : wantGroup;
    if (writtenGroup !== group && !(wantGroup === 'core' && canonical === 'core')) {
      if (groupNode) edits.push(replaceScalar(ctx.file, groupNode, writtenGroup));
      else edits.push(addField(ctx.file, refNode, 'group', writtenGroup));
    }
    if (edits.length) fixes.push({ title: `Change to ${wantGroup === 'core' ? '' : `${wantGroup}/`}${wantKind}`, edits, preferred: true });
  }
  const shown = `${group === '' ? '' : `${group}/`}${kind}`;
  const hint = sameKind && sameKind[1] === kind ? ` (${kind} belongs to group ${sameKind[0] === 'core' ? '"" (core)' : sameKind[0]})` : '';
  ctx.report({ path: [...path, group !== '' && sameKind?.[1] === kind ? 'group' : 'kind'] }, `targetRef must be to one of ${ALLOWED_TEXT}, but was ${shown}${hint}; istiod rejects the policy`, { fixes });
}

/** istiod's validatePolicyTargetReference: the kinds a policy can attach to (§1.9.2 T3). */
export const targetRefKindCheck: Check = {
  code: 'MPA1002',
  mesh: 'istio',
  title: 'Target kind not supported',
  defaultSeverity: 'error',
  admissionRefusal: true,
  upstream: 'istiod webhook: "targetRef must be to one of [Service ServiceEntry Gateway GatewayClass] but was GROUP/KIND"',
  kinds: [AP, RA],
  run(ctx) {
    for (const { ref, path } of targetRefsOf(specOf(ctx))) check(ctx, ref, path);
  },
};

import { replaceScalar } from '../../edits';
import type { Fix } from '../../findings';
import type { NodePath } from '../../source/tree';
import type { Check, CheckContext } from '../check';
import { AP, principalValuesOf } from './util';

/** What a principal was probably meant to be, and why the written one never matches. */
export function principalProblem(value: string): { reason: string; fixed?: string; preferred?: boolean } | undefined {
  if (value === '' || value === '*') return undefined;
  if (value.startsWith('spiffe://')) {
    return { reason: 'principals are written without the spiffe:// scheme: Istio adds spiffe:// itself, so this value is compared as spiffe://spiffe://… and never matches', fixed: value.slice('spiffe://'.length), preferred: true };
  }
  if (value.includes('*')) return undefined;
  const missingTd = /^\/?(ns\/[^/]+\/sa\/[^/]+)$/.exec(value);
  if (missingTd) {
    return { reason: 'the trust domain is missing: a principal is <trust-domain>/ns/<namespace>/sa/<service-account>', fixed: `cluster.local/${missingTd[1]}`, preferred: true };
  }
  const shortForm = /^([a-z0-9]([-a-z0-9]*[a-z0-9])?)\/([a-z0-9]([-a-z0-9.]*[a-z0-9])?)$/.exec(value);
  if (shortForm) {
    return { reason: `"namespace/service-account" is the serviceAccounts form; as a principal it is compared with spiffe://${value} and never matches an Istio workload`, fixed: `cluster.local/ns/${shortForm[1]}/sa/${shortForm[3]}`, preferred: false };
  }
  if (!value.includes('/')) {
    return { reason: 'a principal is a SPIFFE identity <trust-domain>/ns/<namespace>/sa/<service-account>; a bare name never matches a workload (use serviceAccounts or namespaces for those)' };
  }
  return undefined;
}

function check(ctx: CheckContext, path: NodePath, value: string): void {
  const problem = principalProblem(value);
  if (!problem) return;
  const node = ctx.locate(path).node;
  const fixes: Fix[] = problem.fixed && node ? [{ title: `Change to ${problem.fixed}`, edits: [replaceScalar(ctx.file, node, problem.fixed)], preferred: problem.preferred ?? false }] : [];
  ctx.report({ path }, `principal ${JSON.stringify(value)} never matches: ${problem.reason}`, { fixes });
}

/** §1.4.1, §1.5.2: principals are matched as spiffe://<value>. istiod accepts any string. */
export const principalFormatCheck: Check = {
  code: 'MPA1020',
  mesh: 'istio',
  title: 'Principal in the wrong form',
  defaultSeverity: 'warning',
  upstream: 'none (istiod accepts any non-empty principal); Kiali KIA0106 covers only existing service accounts',
  kinds: [AP],
  run(ctx) {
    for (const { path, value } of principalValuesOf(ctx)) check(ctx, path, value);
  },
};

import type { Resource } from '../../resource';
import type { SourceFile } from '../../source/sourceFile';
import { toValue } from '../../source/tree';
import type { SourceRef } from '../types';
import { resourceRef as policyRef } from '../sourceRefs';
import { isRecord } from '../../plainValues';

/*
 * What every Istio security resource says about where it attaches (spec §1.2), and what the API
 * server and istiod refuse in it. Apart from the compiler (which also runs the lint's admission
 * checks) so that the checks can read attachments without importing them.
 */

export interface TargetRef {
  group: string;
  kind: string;
  name: string;
  namespace?: string;
}

/** What every Istio security resource shares: where it is and what it attaches to (spec §1.2). */
export interface Attachable {
  kind: string;
  name: string;
  namespace: string;
  /** matchLabels pairs; null = no selector; [] = empty matchLabels (selects every workload). */
  selector: [string, string][] | null;
  targetRefs: TargetRef[] | null;
  ref: SourceRef;
  /** "AuthorizationPolicy ns/name". */
  label: string;
  /** Document order, for "oldest wins" when no creationTimestamp says otherwise. */
  order: number;
  created: string | undefined;
}

/**
 * What the API server and istiod's webhook both refuse in the attachment of any Istio security
 * resource (spec §1.9.2 S1–S3, T1, T2): the lint reports these through the CRD schema (MPA0104,
 * MPA0106, MPA0107), not through a check, so they are read here. The target kinds (T3) are
 * MPA1002's, an admission check.
 */
function attachmentProblems(spec: Record<string, unknown>, selector: [string, string][] | null, targetRefs: TargetRef[] | null): string[] {
  const problems: string[] = [];
  const targetRefSet = isRecord(spec['targetRef']);
  const targetRefsSet = Array.isArray(spec['targetRefs']) && spec['targetRefs'].length > 0;
  if ([selector !== null, targetRefSet, targetRefsSet].filter(Boolean).length > 1) problems.push('only one of targetRefs or workloadSelector can be set');
  for (const [key, value] of selector ?? []) {
    if (key === '') problems.push('empty key is not supported in selector');
    else if (key.includes('*') || value.includes('*')) problems.push(`wildcard is not supported in selector (${key}: ${value})`);
  }
  for (const ref of targetRefs ?? []) {
    if (ref.name === '') problems.push('targetRef name must be set');
    if (ref.namespace !== undefined) problems.push(`targetRef namespace must not be set (${ref.namespace}); cross namespace referencing is not supported`);
  }
  return problems;
}

/** A resource's attachment, as read by the compiler; `problems`: what is refused in it. */
export function readAttachable(file: SourceFile, resource: Resource, order: number): Omit<Attachable, 'kind'> & { spec: Record<string, unknown>; metadata: Record<string, unknown>; problems: string[] } {
  const value = toValue(resource.node);
  const root = isRecord(value) ? value : {};
  const metadata = isRecord(root['metadata']) ? root['metadata'] : {};
  const spec = isRecord(root['spec']) ? root['spec'] : {};
  const name = typeof metadata['name'] === 'string' ? metadata['name'] : resource.name ?? '';
  const namespace = typeof metadata['namespace'] === 'string' && metadata['namespace'] !== '' ? metadata['namespace'] : resource.namespace ?? 'default';
  const label = `${resource.kind} ${namespace}/${name}`;
  const problems: string[] = [];
  let selector: [string, string][] | null = null;
  if (isRecord(spec['selector'])) {
    const matchLabels = spec['selector']['matchLabels'];
    selector = isRecord(matchLabels) ? Object.entries(matchLabels).map(([k, v]) => [k, v === null ? '' : String(v)] as [string, string]) : [];
  }
  let targetRefs: TargetRef[] | null = null;
  const refs: unknown[] = [];
  if (isRecord(spec['targetRef'])) refs.push(spec['targetRef']);
  if (Array.isArray(spec['targetRefs'])) refs.push(...spec['targetRefs']);
  if (refs.length > 0) {
    targetRefs = refs.filter(isRecord).map((r) => ({
      group: typeof r['group'] === 'string' ? r['group'] : '',
      kind: typeof r['kind'] === 'string' ? r['kind'] : '',
      name: typeof r['name'] === 'string' ? r['name'] : '',
      ...(typeof r['namespace'] === 'string' && r['namespace'] !== '' ? { namespace: r['namespace'] } : {}),
    }));
  }
  problems.push(...attachmentProblems(spec, selector, targetRefs));
  const created = typeof metadata['creationTimestamp'] === 'string' ? metadata['creationTimestamp'] : undefined;
  return { name, namespace, selector, targetRefs, ref: policyRef(file, resource, label), label, order, created, spec, metadata, problems };
}


/** Go's `strconv.ParseBool` true values, as istiod reads `istio.io/dry-run`. */
const TRUE = new Set(['1', 't', 'T', 'TRUE', 'true', 'True']);

/** Whether the metadata's `istio.io/dry-run` annotation says true (it applies to ALLOW and DENY only). */
export function dryRunAnnotated(metadata: Record<string, unknown>): boolean {
  const annotations = isRecord(metadata['annotations']) ? metadata['annotations'] : {};
  const value = annotations['istio.io/dry-run'];
  return value !== undefined && value !== null && TRUE.has(String(value));
}

import type { CheckContext } from '../check';
import type { NodePath } from '../../source/tree';

/** Shared helpers of the Istio checks: typed access to the plain resource value. Every check
 * tolerates values of the wrong type (the schema reports those), so the accessors return
 * nothing rather than throw. */

export const AP = 'AuthorizationPolicy';
export const PA = 'PeerAuthentication';
export const RA = 'RequestAuthentication';

export type Obj = Record<string, unknown>;
export type Action = 'ALLOW' | 'DENY' | 'AUDIT' | 'CUSTOM';

export function isObj(value: unknown): value is Obj {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

export function list(value: unknown): unknown[] {
  return Array.isArray(value) ? value : [];
}

/** A list with at least one item (protobuf cannot tell an empty list from a missing one). */
export function nonEmpty(value: unknown): value is unknown[] {
  return Array.isArray(value) && value.length > 0;
}

/** The string items of a list, with their index (other items are the schema's business). */
export function strings(value: unknown): Array<{ value: string; index: number }> {
  const out: Array<{ value: string; index: number }> = [];
  list(value).forEach((item, index) => {
    if (typeof item === 'string') out.push({ value: item, index });
  });
  return out;
}

export function specOf(ctx: CheckContext): Obj | undefined {
  return isObj(ctx.value['spec']) ? ctx.value['spec'] : undefined;
}

/** The action, ALLOW when left out; undefined for a value the schema rejects. */
export function actionOf(spec: Obj | undefined): Action | undefined {
  const raw = spec?.['action'];
  if (raw === undefined) return 'ALLOW';
  return raw === 'ALLOW' || raw === 'DENY' || raw === 'AUDIT' || raw === 'CUSTOM' ? raw : undefined;
}

/** The namespace a resource lands in: kubectl applies one without namespace to `default`. */
export function namespaceOf(resource: { namespace?: string | undefined }): string {
  return resource.namespace ?? 'default';
}

export function annotationsOf(value: Obj): Obj {
  const metadata = value['metadata'];
  return isObj(metadata) && isObj(metadata['annotations']) ? metadata['annotations'] : {};
}

export const SOURCE_FIELDS = [
  'principals', 'notPrincipals', 'requestPrincipals', 'notRequestPrincipals', 'namespaces', 'notNamespaces',
  'serviceAccounts', 'notServiceAccounts', 'trustDomains', 'notTrustDomains', 'ipBlocks', 'notIpBlocks',
  'remoteIpBlocks', 'notRemoteIpBlocks',
] as const;
export const OPERATION_FIELDS = ['hosts', 'notHosts', 'ports', 'notPorts', 'methods', 'notMethods', 'paths', 'notPaths'] as const;

/** Source fields that also work on TCP, as the webhook's DENY warning counts them (trustDomains is not in its list). */
export const TCP_SOURCE_FIELDS = ['principals', 'notPrincipals', 'ipBlocks', 'notIpBlocks', 'namespaces', 'notNamespaces', 'remoteIpBlocks', 'notRemoteIpBlocks', 'serviceAccounts', 'notServiceAccounts'] as const;
/** Fields that only exist on HTTP (§1.7). */
export const HTTP_SOURCE_FIELDS = ['requestPrincipals', 'notRequestPrincipals'] as const;
export const HTTP_OPERATION_FIELDS = ['hosts', 'notHosts', 'methods', 'notMethods', 'paths', 'notPaths'] as const;
/** Fields that need the peer certificate of an mTLS connection (§1.8). */
export const MTLS_SOURCE_FIELDS = ['principals', 'notPrincipals', 'namespaces', 'notNamespaces', 'serviceAccounts', 'notServiceAccounts', 'trustDomains', 'notTrustDomains'] as const;
export const MTLS_WHEN_KEYS = ['source.principal', 'source.namespace', 'source.serviceAccount', 'source.trustDomain'] as const;

export function isHttpWhenKey(key: string): boolean {
  return key.startsWith('request.headers') || key.startsWith('request.auth.') || key.startsWith('request.experimental.inline.headers');
}

/** The field name as the webhook's messages spell it (`From.Principals`, `found in NotPaths`). */
export function upstreamName(field: string): string {
  return field.charAt(0).toUpperCase() + field.slice(1);
}

export interface RuleItem { index: number; rule: Obj; path: NodePath }
export interface SourceItem { rule: RuleItem; index: number; source: Obj; path: NodePath }
export interface OperationItem { rule: RuleItem; index: number; operation: Obj; path: NodePath }
export interface ConditionItem { rule: RuleItem; index: number; condition: Obj; path: NodePath }

/* The walks below are memoized per object: the ~30 checks of one resource share `ctx.value`, so
 * the rules, sources, operations and conditions (and their paths) are built once, not per check. */
const noSpec: Obj = {};
const rulesMemo = new WeakMap<Obj, RuleItem[]>();
const sourcesMemo = new WeakMap<RuleItem, SourceItem[]>();
const operationsMemo = new WeakMap<RuleItem, OperationItem[]>();
const conditionsMemo = new WeakMap<RuleItem, ConditionItem[]>();

export function rulesOf(spec: Obj | undefined): RuleItem[] {
  const key = spec ?? noSpec;
  let out = rulesMemo.get(key);
  if (!out) {
    out = [];
    list(key['rules']).forEach((rule, index) => {
      if (isObj(rule)) out!.push({ index, rule, path: ['spec', 'rules', index] });
    });
    rulesMemo.set(key, out);
  }
  return out;
}

export function sourcesOf(rule: RuleItem): SourceItem[] {
  let out = sourcesMemo.get(rule);
  if (!out) {
    out = [];
    list(rule.rule['from']).forEach((from, index) => {
      if (isObj(from) && isObj(from['source'])) out!.push({ rule, index, source: from['source'], path: [...rule.path, 'from', index, 'source'] });
    });
    sourcesMemo.set(rule, out);
  }
  return out;
}

export function operationsOf(rule: RuleItem): OperationItem[] {
  let out = operationsMemo.get(rule);
  if (!out) {
    out = [];
    list(rule.rule['to']).forEach((to, index) => {
      if (isObj(to) && isObj(to['operation'])) out!.push({ rule, index, operation: to['operation'], path: [...rule.path, 'to', index, 'operation'] });
    });
    operationsMemo.set(rule, out);
  }
  return out;
}

export function conditionsOf(rule: RuleItem): ConditionItem[] {
  let out = conditionsMemo.get(rule);
  if (!out) {
    out = [];
    list(rule.rule['when']).forEach((condition, index) => {
      if (isObj(condition)) out!.push({ rule, index, condition, path: [...rule.path, 'when', index] });
    });
    conditionsMemo.set(rule, out);
  }
  return out;
}

export function whenKey(condition: Obj): string | undefined {
  return typeof condition['key'] === 'string' ? condition['key'] : undefined;
}

/** A field with at least one value. */
/** Every principal an AuthorizationPolicy names: in sources (`principals`, `notPrincipals`) and
 * in `source.principal` conditions (`values`, `notValues`), with the path of each value. */
export function principalValuesOf(ctx: CheckContext): Array<{ path: NodePath; value: string }> {
  const found: Array<{ path: NodePath; value: string }> = [];
  for (const rule of rulesOf(specOf(ctx))) {
    for (const source of sourcesOf(rule)) {
      for (const field of ['principals', 'notPrincipals']) {
        for (const { value, index } of strings(source.source[field])) found.push({ path: [...source.path, field, index], value });
      }
    }
    for (const condition of conditionsOf(rule)) {
      if (whenKey(condition.condition) !== 'source.principal') continue;
      for (const field of ['values', 'notValues']) {
        for (const { value, index } of strings(condition.condition[field])) found.push({ path: [...condition.path, field, index], value });
      }
    }
  }
  return found;
}

export function has(object: Obj, field: string): boolean {
  return nonEmpty(object[field]);
}

export function matchLabelsOf(spec: Obj | undefined): Record<string, string> | undefined {
  const selector = spec?.['selector'];
  if (!isObj(selector)) return undefined;
  const labels = selector['matchLabels'];
  const out: Record<string, string> = {};
  if (isObj(labels)) for (const [k, v] of Object.entries(labels)) if (typeof v === 'string') out[k] = v;
  return out;
}

/** The `targetRef` and `targetRefs` entries of a spec that are objects, with their paths. */
export function targetRefsOf(spec: Obj | undefined): Array<{ ref: Obj; path: NodePath }> {
  const out: Array<{ ref: Obj; path: NodePath }> = [];
  if (isObj(spec?.['targetRef'])) out.push({ ref: spec['targetRef'], path: ['spec', 'targetRef'] });
  list(spec?.['targetRefs']).forEach((ref, i) => {
    if (isObj(ref)) out.push({ ref, path: ['spec', 'targetRefs', i] });
  });
  return out;
}

export function hasTargetRefs(spec: Obj | undefined): boolean {
  return isObj(spec?.['targetRef']) || nonEmpty(spec?.['targetRefs']);
}

/** Levenshtein distance, bounded (returns max + 1 once it is clearly larger). */
export function distance(a: string, b: string, max = 3): number {
  if (Math.abs(a.length - b.length) > max) return max + 1;
  let previous = Array.from({ length: b.length + 1 }, (_, i) => i);
  for (let i = 1; i <= a.length; i++) {
    const current = [i];
    let best = i;
    for (let j = 1; j <= b.length; j++) {
      const value = Math.min(previous[j]! + 1, current[j - 1]! + 1, previous[j - 1]! + (a[i - 1] === b[j - 1] ? 0 : 1));
      current.push(value);
      best = Math.min(best, value);
    }
    if (best > max) return max + 1;
    previous = current;
  }
  return previous[b.length]!;
}

/** The closest candidate within `max` edits (ties: the first), ignoring case first. */
export function closest(value: string, candidates: Iterable<string>, max = 2): string | undefined {
  let best: string | undefined;
  let bestDistance = max + 1;
  for (const candidate of candidates) {
    if (candidate === value) continue;
    const d = candidate.toLowerCase() === value.toLowerCase() ? 0 : distance(value, candidate, max);
    if (d < bestDistance) {
      best = candidate;
      bestDistance = d;
    }
  }
  return best;
}

/** Memoizes a computation per object (the workspace's resource list or inventory), which the
 * workspace keeps until something changes, so per-resource checks stay linear. */
export function memo<K extends object, V>(compute: (key: K) => V): (key: K) => V {
  const cache = new WeakMap<K, V>();
  return (key) => {
    let value = cache.get(key);
    if (value === undefined) {
      value = compute(key);
      cache.set(key, value);
    }
    return value;
  };
}

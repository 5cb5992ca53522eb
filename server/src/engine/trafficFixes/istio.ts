import { admissionRefusals } from '../checks/admission';
import { replaceScalar } from '../edits';
import { stringMatch } from '../istio/match';
import type { Range, TextEdit } from '../findings';
import type { ShapeOutcome } from '../simulate';
import type { Decision } from '../simulate/types';
import { decideWithFix } from './verify';
import type { SourceFile } from '../source/sourceFile';
import { nodeAt as treeNodeAt } from '../source/tree';
import type { AccessRecord } from '../traffic/accessRecord';
import {
  asList, asRecord, contains, decidedBy, describeCall, empty, newResource, isHttp, merge, nodeAt, notOffered, pathOf, resourceAtRange, resourceAtRef, resourcesOf,
  unique, valueAt, verified, type FixContext, type Located, type MeshTrafficFixes, type TrafficFix, type TrafficFixResult,
} from './common';
import { appendDocuments, insertField, insertItems, replaceItem } from './layout';
import { servedApiVersion } from '../crds/adapt';

/**
 * Istio AuthorizationPolicy fixes. Which values a rule needs follows mesh-semantics §1.4–1.6:
 * string fields match exactly, by `prefix*`, `*suffix` or `*`; paths may use `{*}`/`{**}`.
 */

const ISTIO_API = 'security.istio.io/v1';

function matchesIstio(pattern: unknown, value: string): boolean {
  const p = String(pattern);
  if (p.includes('{*}') || p.includes('{**}')) {
    const source = p.split(/(\{\*\*\}|\{\*\})/).map((part) => (part === '{**}' ? '.*' : part === '{*}' ? '[^/]+' : part.replace(/[.*+?^${}()|[\]\\]/g, '\\$&'))).join('');
    return new RegExp(`^${source}$`).test(value);
  }
  return stringMatch(p, value);
}

function namespaceOf(record: AccessRecord): string | undefined {
  return record.source?.namespace ?? /\/ns\/([^/]+)\//.exec(record.source?.principal ?? '')?.[1];
}

function actionOf(located: Located): string {
  const action = valueAt(located.resource, ['spec', 'action']);
  return typeof action === 'string' ? action : 'ALLOW';
}

const refusals = new WeakMap<Located['resource'], string | null>();

/** Why Istio refuses to store the policy, null when it does not (once per resource: a list of fixes asks for every call). */
function refusalOf(located: Located): string | null {
  let refusal = refusals.get(located.resource);
  if (refusal === undefined) refusals.set(located.resource, (refusal = admissionRefusals(located.file, located.resource)[0] ?? null));
  return refusal;
}

function isDryRun(located: Located): boolean {
  return String(asRecord(valueAt(located.resource, ['metadata', 'annotations']))['istio.io/dry-run']).toLowerCase() === 'true';
}

/** Policies with a selector (or none) that reach the destination workload. */
function applyingPolicies(context: FixContext, record: AccessRecord, action: string): Located[] {
  const root = asRecord(asRecord(context.workspace.config as unknown)['istio'])['rootNamespace'] ?? 'istio-system';
  const labels = record.destination?.labels ?? {};
  return resourcesOf(context.workspace, 'istio', 'AuthorizationPolicy').filter((p) => {
    if (actionOf(p) !== action || isDryRun(p)) return false;
    if (p.resource.namespace !== record.destination?.namespace && p.resource.namespace !== root) return false;
    const spec = asRecord(valueAt(p.resource, ['spec']));
    if (spec['targetRef'] || spec['targetRefs']) return false;
    const matchLabels = asRecord(asRecord(spec['selector'])['matchLabels']);
    // (an edit to a policy Istio refuses to store changes nothing, unless it mends what is refused)
    return Object.entries(matchLabels).every(([k, v]) => labels[k] === v) && refusalOf(p) === null;
  }).sort((a, b) => Object.keys(asRecord(valueAt(b.resource, ['spec', 'selector', 'matchLabels']))).length - Object.keys(asRecord(valueAt(a.resource, ['spec', 'selector', 'matchLabels']))).length);
}

interface Addition {
  path: (string | number)[];
  value: string | number;
}

/** What a rule lacks to match the call, or undefined when adding values cannot make it match. */
function missingFromRule(rule: Record<string, unknown>, record: AccessRecord): Addition[] | undefined {
  if (rule['when'] !== undefined) return undefined;
  const sourceFields: [string, string | undefined][] = [['principals', record.source?.principal ?? undefined], ['namespaces', namespaceOf(record)]];
  const path = pathOf(record);
  const port = record.destination?.port;
  const operationFields: [string, string | undefined][] = [['methods', record.request?.method], ['paths', path], ['hosts', record.request?.host]];
  const bestOf = (clauses: unknown[], key: 'source' | 'operation', fields: [string, string | undefined][], list: string): Addition[] | undefined => {
    if (clauses.length === 0) return [];
    let best: Addition[] | undefined;
    clauses.forEach((clause, index) => {
      const body = asRecord(asRecord(clause)[key]);
      const additions: Addition[] = [];
      for (const [field, raw] of Object.entries(body)) {
        const values = asList(raw);
        if (field.startsWith('not')) {
          const positive = field[3]!.toLowerCase() + field.slice(4);
          const actual = positive === 'ports' ? (port === undefined ? undefined : String(port)) : [...fields].find(([f]) => f === positive)?.[1];
          if (actual !== undefined && values.some((v) => matchesIstio(v, actual))) return;
          continue;
        }
        if (field === 'ports') {
          if (port === undefined) return;
          if (!values.some((v) => String(v) === String(port))) additions.push({ path: [list, index, key, field], value: typeof values[0] === 'number' ? port : String(port) });
          continue;
        }
        const actual = fields.find(([f]) => f === field);
        if (!actual || actual[1] === undefined) return;
        if (!values.some((v) => matchesIstio(v, actual[1]!))) additions.push({ path: [list, index, key, field], value: actual[1] });
      }
      if (!best || additions.length < best.length) best = additions;
    });
    return best;
  };
  const from = bestOf(asList(rule['from']), 'source', sourceFields, 'from');
  const to = bestOf(asList(rule['to']), 'operation', operationFields, 'to');
  return from && to ? [...from, ...to] : undefined;
}

function ruleFor(record: AccessRecord, sourceOnly = false): Record<string, unknown> {
  const source: Record<string, unknown> = {};
  if (record.source?.principal) source['principals'] = [record.source.principal];
  else if (record.source?.ip) source['ipBlocks'] = [record.source.ip];
  const operation: Record<string, unknown> = {};
  if (isHttp(record) && !sourceOnly) {
    operation['methods'] = [record.request!.method];
    if (pathOf(record)) operation['paths'] = [pathOf(record)];
  }
  if (record.destination?.port !== undefined) operation['ports'] = [String(record.destination.port)];
  const rule: Record<string, unknown> = {};
  if (Object.keys(source).length) rule['from'] = [{ source }];
  if (Object.keys(operation).length) rule['to'] = [{ operation }];
  return rule;
}

function selectorFor(record: AccessRecord): Record<string, string> | undefined {
  const labels = record.destination?.labels ?? {};
  for (const key of ['app', 'app.kubernetes.io/name', 'service.istio.io/canonical-name']) if (labels[key]) return { [key]: labels[key]! };
  return undefined;
}

function label(located: Located): string {
  return `${located.resource.namespace ?? 'default'}/${located.resource.name ?? '?'}`;
}

/** Adds `rule` to the policy's rules (creating the list when the policy has none). */
function addRule(located: Located, rule: Record<string, unknown>): TextEdit | undefined {
  const rules = nodeAt(located.resource, ['spec', 'rules']);
  if (rules?.type === 'array') return insertItems(located.file, rules, [rule]);
  const spec = nodeAt(located.resource, ['spec']);
  if (spec?.type === 'object') return insertField(located.file, spec, 'rules', [rule]);
  return undefined;
}

function newPolicyDocument(context: FixContext, record: AccessRecord, name: string, action: 'ALLOW' | 'DENY', rule: Record<string, unknown>, selector: Record<string, string>): Record<string, unknown> {
  return {
    // a version the cluster's CRDs serve, when the workspace holds them
    apiVersion: servedApiVersion(ISTIO_API, 'AuthorizationPolicy', context.workspace.inventory.crds), kind: 'AuthorizationPolicy',
    metadata: { name, namespace: record.destination!.namespace },
    spec: { selector: { matchLabels: selector }, action, rules: [rule] },
  };
}

function allowCall(context: FixContext, outcome: ShapeOutcome): TrafficFixResult {
  const { record } = outcome.shape;
  if (!record.destination?.namespace) return notOffered('the call does not say which namespace it went to');
  if (!record.source?.principal && !record.source?.ip) return notOffered('the call has neither a peer identity nor a source address to allow');
  const decider = resourceAtRef(context.workspace, outcome.decision.policy);
  if (decider && decider.resource.kind !== 'AuthorizationPolicy') return notOffered(`the call is refused before authorization, by ${decider.resource.kind} ${label(decider)}; no AuthorizationPolicy can allow it (${outcome.decision.reason})`);
  if (decider && actionOf(decider) !== 'ALLOW' && !outcome.decision.reason.includes('no ALLOW policy')) return notOffered(`the call is denied by ${actionOf(decider)} policy ${label(decider)}, which an ALLOW rule cannot override; narrow that policy's rule instead`);
  const call = describeCall(record);
  const allowed = (d: { verdict: string }) => d.verdict === 'allow';
  const result = empty();
  const policies = applyingPolicies(context, record, 'ALLOW');
  // The closest rule: the fewest values to add.
  const candidates: { located: Located; index: number; additions: { path: (string | number)[]; value: string | number }[] }[] = [];
  for (const located of policies) {
    asList(valueAt(located.resource, ['spec', 'rules'])).forEach((rule, index) => {
      const additions = missingFromRule(asRecord(rule), record);
      if (additions && additions.length > 0) candidates.push({ located, index, additions });
    });
  }
  candidates.sort((a, b) => a.additions.length - b.additions.length);
  for (const candidate of candidates.slice(0, 4)) {
    const edits: TextEdit[] = [];
    for (const addition of candidate.additions) {
      const list = nodeAt(candidate.located.resource, ['spec', 'rules', candidate.index, ...addition.path]);
      if (list?.type !== 'array') break;
      edits.push(insertItems(candidate.located.file, list, [addition.value]));
    }
    if (edits.length !== candidate.additions.length) continue;
    const what = candidate.additions.map((a) => `${String(a.value)} to ${String(a.path[a.path.length - 1])}`).join(', ');
    const fix: TrafficFix = { kind: 'allow', file: candidate.located.file.path, title: `Allow ${call}: add ${what} of ${label(candidate.located)} rules[${candidate.index}]`, edits, preferred: true };
    const ok = verified(context, candidate.located.file, fix, [record], allowed);
    if (ok) {
      result.fixes.push(ok);
      break;
    }
  }
  const rule = ruleFor(record);
  const withSelector = policies.find((p) => Object.keys(asRecord(valueAt(p.resource, ['spec', 'selector', 'matchLabels']))).length > 0);
  if (withSelector) {
    const edit = addRule(withSelector, rule);
    const fix: TrafficFix | undefined = edit && { kind: 'allow', file: withSelector.file.path, title: `Allow ${call}: new rule in ${label(withSelector)}`, edits: [edit], preferred: result.fixes.length === 0 };
    const ok = fix && verified(context, withSelector.file, fix, [record], allowed);
    if (ok) result.fixes.push(ok);
  } else {
    const selector = selectorFor(record);
    const home = resourceAtRef(context.workspace, outcome.decision.policy) ?? policies[0];
    if (selector && home && home.file.format === 'yaml') {
      const created = newResource(context, { mesh: 'istio', kind: 'AuthorizationPolicy', namespace: record.destination.namespace }, `allow-${record.source?.serviceAccount ?? 'observed'}-to-${Object.values(selector)[0]}`);
      const name = created.name;
      const fix: TrafficFix = { kind: 'allow', file: home.file.path, title: `Allow ${call}: new ALLOW policy ${record.destination.namespace}/${name}`, edits: [appendDocuments(home.file, [newPolicyDocument(context, record, name, 'ALLOW', rule, selector)])], preferred: result.fixes.length === 0, creates: [created] };
      const ok = verified(context, home.file, fix, [record], allowed);
      if (ok) result.fixes.push(ok);
    }
  }
  if (result.fixes.length === 0) result.notOffered.push(`no edit to the ALLOW policies of ${record.destination.namespace}/${record.destination.workload ?? '?'} makes the call allowed (${outcome.decision.reason})`);
  return result;
}

function denyCall(context: FixContext, outcome: ShapeOutcome): TrafficFixResult {
  const { record } = outcome.shape;
  if (!record.destination?.namespace) return notOffered('the call does not say which namespace it went to');
  if (!record.source?.principal && !record.source?.ip) return notOffered('the call has neither a peer identity nor a source address to deny');
  const call = describeCall(record);
  const denied = (d: { verdict: string }) => d.verdict === 'deny';
  const rule = ruleFor(record);
  const existing = applyingPolicies(context, record, 'DENY').find((p) => Object.keys(asRecord(valueAt(p.resource, ['spec', 'selector', 'matchLabels']))).length > 0);
  if (existing) {
    const edit = addRule(existing, rule);
    const fix: TrafficFix | undefined = edit && { kind: 'deny', file: existing.file.path, title: `Deny ${call}: new rule in DENY policy ${label(existing)}`, edits: [edit], preferred: true };
    const ok = fix && verified(context, existing.file, fix, [record], denied);
    if (ok) return { fixes: [ok], notOffered: [] };
  }
  const selector = selectorFor(record);
  const home = resourceAtRef(context.workspace, outcome.decision.policy) ?? resourcesOf(context.workspace, 'istio', 'AuthorizationPolicy').find((p) => p.resource.namespace === record.destination!.namespace && p.file.format === 'yaml');
  if (!selector) return notOffered('the destination has no app label to select it by');
  if (!home || home.file.format !== 'yaml') return notOffered('no YAML policy file to add a DENY policy to');
  const created = newResource(context, { mesh: 'istio', kind: 'AuthorizationPolicy', namespace: record.destination.namespace }, `deny-${record.source?.serviceAccount ?? 'observed'}-${record.request?.method ?? 'tcp'}-${Object.values(selector)[0]}`);
  const name = created.name;
  const fix: TrafficFix = { kind: 'deny', file: home.file.path, title: `Deny ${call}: new DENY policy ${record.destination.namespace}/${name}`, edits: [appendDocuments(home.file, [newPolicyDocument(context, record, name, 'DENY', rule, selector)])], preferred: true, creates: [created] };
  const ok = verified(context, home.file, fix, [record], denied);
  return ok ? { fixes: [ok], notOffered: [] } : notOffered('a DENY policy for this call would not deny it (see the explanation of the call)');
}

const NARROWABLE = new Set(['principals', 'namespaces', 'paths', 'hosts', 'requestPrincipals']);
const MAX_NARROWED = 20;

function observedValue(field: string, record: AccessRecord): string | undefined {
  switch (field) {
    case 'principals': return record.source?.principal ?? undefined;
    case 'namespaces': return namespaceOf(record);
    case 'paths': return pathOf(record);
    case 'hosts': return record.request?.host;
    case 'requestPrincipals': return record.request?.jwt?.issuer && record.request.jwt.subject ? `${record.request.jwt.issuer}/${record.request.jwt.subject}` : undefined;
    default: return undefined;
  }
}

function narrowWildcard(context: FixContext, file: SourceFile, range: Range): TrafficFixResult {
  const located = resourceAtRange(context.workspace, file.path, range);
  if (!located || located.resource.kind !== 'AuthorizationPolicy') return empty();
  const offset = file.lines.offset(range.start);
  const { path } = treeNodeAt(located.resource.node, offset);
  // spec.rules[r].from[i].source.<field>[k]
  const fieldIndex = path.findIndex((s) => typeof s === 'string' && NARROWABLE.has(s));
  if (fieldIndex < 0 || path[0] !== 'spec' || path[1] !== 'rules' || typeof path[path.length - 1] !== 'number' || fieldIndex !== path.length - 2) return empty();
  const field = path[fieldIndex] as string;
  const index = path[path.length - 1] as number;
  const list = nodeAt(located.resource, path.slice(0, -1));
  const item = list?.type === 'array' ? list.items[index] : undefined;
  if (list?.type !== 'array' || item?.type !== 'scalar' || typeof item.value !== 'string' || !item.value.includes('*')) return empty();
  const pattern = item.value;
  const ruleNode = nodeAt(located.resource, path.slice(0, 3));
  if (!ruleNode) return empty();
  const matched = decidedBy(context.outcomes, file.path, file.lines.range(ruleNode.span)).filter((o) => o.decision.rule);
  const values = unique(matched.map((o) => observedValue(field, o.shape.record)).filter((v): v is string => v !== undefined && matchesIstio(pattern, v))).sort();
  if (values.length === 0) return notOffered(`no observed call went through ${field} "${pattern}"`);
  if (values.length > MAX_NARROWED) return notOffered(`${values.length} different ${field} went through "${pattern}"; too many to list`);
  const fix: TrafficFix = { kind: 'narrow', file: file.path, title: `Narrow "${pattern}" to the ${values.length} observed ${field}`, edits: [replaceItem(file, list, index, values)] };
  const ok = verified(context, file, fix, matched.map((o) => o.shape.record), (d, i) => d.verdict === matched[i]!.decision.verdict);
  return ok ? { fixes: [ok], notOffered: [] } : notOffered(`narrowing "${pattern}" would change the verdict of observed calls`);
}

function shadowPolicy(context: FixContext, file: SourceFile, range: Range): TrafficFixResult {
  const located = resourceAtRange(context.workspace, file.path, range);
  if (!located || located.resource.kind !== 'AuthorizationPolicy') return empty();
  const action = actionOf(located);
  if (action !== 'ALLOW' && action !== 'DENY') return notOffered(`istio.io/dry-run supports only ALLOW and DENY policies, not ${action}`);
  const refusal = refusalOf(located);
  if (refusal !== null) return notOffered(`Istio refuses to store the policy (${refusal}), dry-run or not`);
  const annotations = nodeAt(located.resource, ['metadata', 'annotations']);
  const metadata = nodeAt(located.resource, ['metadata']);
  let edit: TextEdit | undefined;
  if (annotations?.type === 'object') {
    const current = annotations.entries.find((e) => e.key === 'istio.io/dry-run');
    if (current && String((current.value as { value?: unknown }).value).toLowerCase() === 'true') return enforcePolicy(context, file, located, replaceScalar(file, current.value, 'false'));
    edit = current ? replaceScalar(file, current.value, 'true') : insertField(file, annotations, 'istio.io/dry-run', 'true');
  } else if (metadata?.type === 'object') {
    edit = insertField(file, metadata, 'annotations', { 'istio.io/dry-run': 'true' });
  }
  if (!edit) return empty();
  const fix: TrafficFix = { kind: 'dry-run', file: file.path, title: `Dry-run ${label(located)}: evaluate it without enforcing it (istio.io/dry-run)`, edits: [edit] };
  const decided = decidedBy(context.outcomes, file.path, file.lines.range(located.resource.node.span));
  if (decided.length === 0) return { fixes: [fix], notOffered: [] };
  const ok = verified(context, file, fix, decided.slice(0, 20).map((o) => o.shape.record), (d) => (d.shadow ?? []).some((s) => s.policy.file === file.path));
  return ok ? { fixes: [ok], notOffered: [] } : notOffered('the simulator does not report the policy as dry-run after the edit');
}

/** Most calls a dry-run policy applied to that the enforce fix decides again to say what it changes. */
const ENFORCE_CALLS = 5_000;

/**
 * Enforce a dry-run policy (`istio.io/dry-run: "false"`): offered with what it would change, the
 * calls it applied to decided again with the edit (the busiest first, up to ENFORCE_CALLS).
 */
function enforcePolicy(context: FixContext, file: SourceFile, located: Located, edit: TextEdit): TrafficFixResult {
  const policyRange = file.lines.range(located.resource.node.span);
  const applied = context.outcomes
    .filter((o) => o.decision.shadow?.some((s) => s.policies.some((m) => m.policy.file === file.path && contains(policyRange, m.policy.range))))
    .sort((a, b) => b.shape.count - a.shape.count);
  const fix: TrafficFix = { kind: 'enforce', file: file.path, title: `Enforce ${label(located)} (istio.io/dry-run: "false")`, edits: [edit] };
  if (applied.length === 0) return { fixes: [fix], notOffered: [] };
  const decided = applied.slice(0, ENFORCE_CALLS);
  let after: Decision[];
  try {
    after = decideWithFix(context.engine, context.workspace, file, fix, decided.map((o) => o.shape.record));
  } catch {
    return notOffered('the policy could not be decided again without dry-run');
  }
  let newlyDenied = 0;
  let newlyAllowed = 0;
  // (what the edit changes: a call the workspace's other policies already decide so is not counted)
  after.forEach((d, i) => {
    const { shape, decision } = decided[i]!;
    if (d.verdict === 'deny' && decision.verdict !== 'deny' && shape.record.observed === 'allowed') newlyDenied += shape.count;
    if (d.verdict === 'allow' && decision.verdict !== 'allow' && shape.record.observed === 'denied') newlyAllowed += shape.count;
  });
  const calls = (n: number): string => `${n.toLocaleString('en-US')} observed ${n === 1 ? 'call' : 'calls'}`;
  const partial = applied.length > decided.length ? ' (of the busiest calls)' : '';
  const impact = newlyDenied || newlyAllowed
    ? [newlyDenied ? `would deny ${calls(newlyDenied)} that succeeded` : '', newlyAllowed ? `would allow ${calls(newlyAllowed)} that were denied` : ''].filter(Boolean).join(' and ')
    : 'changes no observed call';
  return { fixes: [{ ...fix, title: `${fix.title}: ${impact}${partial}` }], notOffered: [] };
}

export const istioTrafficFixes: MeshTrafficFixes = {
  mesh: 'istio',
  allowCall,
  denyCall,
  narrowWildcard,
  shadowPolicy: (context, file, range) => merge(shadowPolicy(context, file, range)),
};

import { renderScalar, replaceScalar, spanEdit } from '../edits';
import type { Range, TextEdit } from '../findings';
import type { ShapeOutcome } from '../simulate';
import type { SourceFile } from '../source/sourceFile';
import { nodeAt as treeNodeAt, type ArrayNode, type ObjectNode, type SourceNode } from '../source/tree';
import type { AccessRecord } from '../traffic/accessRecord';
import {
  asList, asRecord, decidedBy, describeCall, empty, newResource, isHttp, nodeAt, notOffered, pathOf, resourceAtRange, resourceAtRef, resourcesOf, unique, valueAt,
  verified, type FixContext, type Located, type MeshTrafficFixes, type TrafficFix, type TrafficFixResult,
} from './common';
import { destinationProtocols, isHttpLike } from '../checks/consul/workspaceIndex';
import { appendDocuments, column, hclBlock, insertItems, jsonBlock, lineIndent, yamlBlock, yamlFlow } from './layout';

/**
 * Consul intention fixes (mesh-semantics §3). Sources are ordered by precedence, not by their
 * place in the file, so an exact source always wins over `*`; permissions are first-match, so
 * a new permission that must win goes first.
 */

type KeyStyle = 'pascal' | 'camel' | 'snake';

/** The resource's canonical field names (resource.node): PascalCase for config entries, camelCase for the CRD. */
function isCrd(located: Located): boolean {
  return located.resource.kind === 'ServiceIntentions';
}

function canonical(located: Located, pascal: string): string {
  if (!isCrd(located)) return pascal;
  return pascal === 'HTTP' ? 'http' : pascal[0]!.toLowerCase() + pascal.slice(1);
}

/** How the file spells field names: the CRD's camelCase, or a config entry's PascalCase or snake_case. */
function keyStyle(located: Located): KeyStyle {
  if (isCrd(located)) return 'camel';
  const kind = located.resource.node.entries.find((e) => e.key === 'Kind');
  const written = kind ? located.file.text.slice(kind.keySpan.start, kind.keySpan.end).replace(/^["']|["']$/g, '') : 'Kind';
  return /^[a-z]/.test(written) ? 'snake' : 'pascal';
}

function spell(style: KeyStyle, pascal: string): string {
  if (pascal === 'HTTP') return style === 'pascal' ? 'HTTP' : 'http';
  if (style === 'pascal') return pascal;
  if (style === 'camel') return pascal[0]!.toLowerCase() + pascal.slice(1);
  return pascal.replace(/([a-z])([A-Z])/g, '$1_$2').toLowerCase();
}

/** A value written with PascalCase keys, respelled for the file. */
function respell(style: KeyStyle, value: unknown): unknown {
  if (Array.isArray(value)) return value.map((v) => respell(style, v));
  if (value && typeof value === 'object') return Object.fromEntries(Object.entries(value).map(([k, v]) => [spell(style, k), respell(style, v)]));
  return value;
}

function destinationName(located: Located): string | undefined {
  const name = isCrd(located) ? valueAt(located.resource, ['spec', 'destination', 'name']) : valueAt(located.resource, ['Name']);
  return typeof name === 'string' ? name : undefined;
}

function sourcesPath(located: Located): string[] {
  return isCrd(located) ? ['spec', 'sources'] : ['Sources'];
}

function callerOf(record: AccessRecord): string | undefined {
  return record.source?.service ?? /\/svc\/([^/]+)$/.exec(record.source?.principal ?? '')?.[1];
}

/** The caller's Consul identity: its service, and its namespace and partition as its SPIFFE ID
 * (`spiffe://<trust domain>[/ap/<partition>]/ns/<ns>/dc/<dc>/svc/<name>`) says; without one, only
 * the service is known (a record's Kubernetes namespace is not a Consul namespace). */
interface ConsulCaller {
  name: string;
  namespace?: string;
  partition?: string;
}

function consulCaller(record: AccessRecord): ConsulCaller | undefined {
  const spiffe = /^spiffe:\/\/[^/]+(?:\/ap\/([^/]+))?\/ns\/([^/]+)\/dc\/[^/]+\/svc\/([^/]+)$/.exec(record.source?.principal ?? '');
  if (spiffe) return { name: spiffe[3]!, namespace: spiffe[2]!, partition: spiffe[1] ?? 'default' };
  const name = callerOf(record);
  return name === undefined ? undefined : { name };
}

/**
 * The caller as people know it in Consul: the service name, with its namespace (`ns/name`) and
 * partition (`partition/ns/name`) only when they are not `default`.
 */
export function consulCallerName(record: AccessRecord): string | undefined {
  const caller = consulCaller(record);
  if (!caller) return undefined;
  const { name, namespace = 'default', partition = 'default' } = caller;
  if (partition !== 'default') return `${partition}/${namespace}/${name}`;
  return namespace !== 'default' ? `${namespace}/${name}` : name;
}

/** The destination's namespace and partition as Consul normalizes the entry (spec §3.1): what a source without its own inherits. */
function entryScope(located: Located | undefined): { namespace: string; partition: string } {
  if (!located) return { namespace: 'default', partition: 'default' };
  const crd = isCrd(located);
  const namespace = crd ? valueAt(located.resource, ['spec', 'destination', 'namespace']) : valueAt(located.resource, ['Namespace']);
  const partition = crd ? undefined : valueAt(located.resource, ['Partition']);
  const scoped = (v: unknown) => (typeof v === 'string' && v !== '' && v !== '*' ? v : 'default');
  return { namespace: scoped(namespace), partition: scoped(partition) };
}

/** A new source for the caller: `Namespace` and `Partition` written where the caller's differ from
 * what the source would inherit from the entry (a source in another namespace or partition must name it). */
function sourceFor(caller: ConsulCaller, entry: Located | undefined): { Name: string; Namespace?: string; Partition?: string } {
  const scope = entryScope(entry);
  return {
    Name: caller.name,
    ...(caller.namespace !== undefined && caller.namespace !== scope.namespace ? { Namespace: caller.namespace } : {}),
    ...(caller.partition !== undefined && caller.partition !== scope.partition ? { Partition: caller.partition } : {}),
  };
}

/** The call as a fix title names it, the caller by its Consul name. */
function consulCall(record: AccessRecord): string {
  const caller = consulCallerName(record);
  return caller ? describeCall(record, caller) : describeCall(record);
}

function destinationOf(record: AccessRecord): string | undefined {
  return record.destination?.service ?? record.destination?.workload;
}

function entryFor(context: FixContext, destination: string): Located | undefined {
  return resourcesOf(context.workspace, 'consul', 'ServiceIntentions', 'service-intentions').find((e) => destinationName(e) === destination);
}

/** The entry's source for the caller: its name, and its namespace and partition (written, or inherited from the entry) where the caller's are known; never a peer's or sameness group's. */
function sourceIndex(located: Located, caller: ConsulCaller): number {
  const scope = entryScope(located);
  const field = (source: Record<string, unknown>, pascal: string, inherited: string) => {
    const v = source[canonical(located, pascal)];
    return typeof v === 'string' && v !== '' ? v : inherited;
  };
  return asList(valueAt(located.resource, sourcesPath(located))).findIndex((raw) => {
    const source = asRecord(raw);
    if (source[canonical(located, 'Name')] !== caller.name || source[canonical(located, 'Peer')] || source[canonical(located, 'SamenessGroup')]) return false;
    return (caller.namespace === undefined || field(source, 'Namespace', scope.namespace) === caller.namespace)
      && (caller.partition === undefined || field(source, 'Partition', scope.partition) === caller.partition);
  });
}

function isBlockList(node: SourceNode | undefined): boolean {
  return node?.type === 'array' && node.items.length > 0 && node.items.every((i) => i.type === 'object' && i.block);
}

/** The key an HCL list of repeated blocks was written under, and where it starts. */
function blockKey(located: Located, parent: ObjectNode, canonicalKey: string): { text: string; start: number } | undefined {
  const entry = parent.entries.find((e) => e.key === canonicalKey);
  return entry ? { text: located.file.text.slice(entry.keySpan.start, entry.keySpan.end), start: entry.keySpan.start } : undefined;
}

/** Inserts a PascalCase value into a list of the entry (Sources, Permissions), in the file's style. */
function insertInto(located: Located, parent: ObjectNode, list: ArrayNode, canonicalKey: string, value: unknown, index?: number): TextEdit | undefined {
  const rendered = respell(keyStyle(located), value);
  const { file } = located;
  if (!isBlockList(list)) return insertItems(file, list, [rendered], index);
  const key = blockKey(located, parent, canonicalKey);
  if (!key) return undefined;
  const pad = lineIndent(file, key.start);
  const block = `${key.text} ${hclBlock(rendered, pad.length)}`;
  if (index === 0) return spanEdit(file, { start: key.start, end: key.start }, `${block}\n\n${pad}`);
  const last = list.items[list.items.length - 1]!;
  return spanEdit(file, { start: last.span.end, end: last.span.end }, `\n\n${pad}${block}`);
}

/** `key: value` written where an entry of `object` starts (for replacing one field by another). */
function renderField(located: Located, object: ObjectNode, pascalKey: string, value: unknown, at: number): string {
  const { file } = located;
  const style = keyStyle(located);
  const key = spell(style, pascalKey);
  const rendered = respell(style, value);
  const col = column(file, at);
  if (file.format === 'json') return `${JSON.stringify(key)}: ${jsonBlock(rendered, col)}`;
  if (file.format === 'hcl') return `${key} = ${hclBlock(rendered, col)}`;
  return object.flow ? `${key}: ${yamlFlow(rendered)}` : yamlBlock({ [key]: rendered }, col);
}

function permission(action: 'allow' | 'deny', record: AccessRecord): Record<string, unknown> {
  const http: Record<string, unknown> = {};
  const path = pathOf(record);
  if (path) http['PathExact'] = path;
  if (record.request?.method) http['Methods'] = [record.request.method];
  return { Action: action, HTTP: http };
}

function newEntryDocument(home: Located, name: string, destination: string, source: Record<string, unknown>): Record<string, unknown> {
  return {
    apiVersion: home.resource.apiVersion ?? 'consul.hashicorp.com/v1alpha1', kind: 'ServiceIntentions',
    metadata: { name, ...(home.resource.namespace ? { namespace: home.resource.namespace } : {}) },
    spec: { destination: { name: destination }, sources: [respell('camel', source)] },
  };
}

/**
 * Adds an intention source (`Sources` entry) to the service-intentions entry (config entry in
 * HCL or JSON, or ServiceIntentions CRD), in the file's own spelling and layout.
 */
export function addIntentionSource(entry: Located, source: { Name: string; Namespace?: string; Partition?: string; Action?: 'allow' | 'deny'; Permissions?: unknown[]; Description?: string }): TextEdit | undefined {
  const list = nodeAt(entry.resource, sourcesPath(entry));
  const parent = nodeAt(entry.resource, sourcesPath(entry).slice(0, -1));
  if (list?.type !== 'array' || parent?.type !== 'object') return undefined;
  return insertInto(entry, parent, list, canonical(entry, 'Sources'), source);
}

/** The fix that changes the call's verdict to `want` by editing the caller's source, or adding one. */
function changeVerdict(context: FixContext, outcome: ShapeOutcome, want: 'allow' | 'deny'): TrafficFixResult {
  const { record } = outcome.shape;
  const caller = consulCaller(record);
  const destination = destinationOf(record);
  if (!caller || !destination) return notOffered('the call does not name its source and destination services');
  const call = consulCall(record);
  const named = consulCallerName(record) ?? caller.name;
  const verb = want === 'allow' ? 'Allow' : 'Deny';
  const expect = (d: { verdict: string }) => d.verdict === want;
  const entry = entryFor(context, destination);
  const http = isHttp(record);
  if (!entry) {
    const decidedIn = resourceAtRef(context.workspace, outcome.decision.policy);
    const home = decidedIn && isCrd(decidedIn) ? decidedIn : resourcesOf(context.workspace, 'consul', 'ServiceIntentions').find((e) => e.file.format === 'yaml');
    if (!home || home.file.format !== 'yaml') return notOffered(`there is no service-intentions entry for ${destination}; write one (a config entry file, or a ServiceIntentions resource)`);
    // (the Kubernetes name only names the resource; the entry's destination is spec.destination.name)
    const created = newResource(context, { mesh: 'consul', kind: 'ServiceIntentions', namespace: home.resource.namespace }, destination);
    const name = created.name;
    const newEntry = (source: Record<string, unknown>, title: string): TrafficFix | undefined => verified(context, home.file, {
      kind: 'add-source', file: home.file.path, title,
      edits: [appendDocuments(home.file, [newEntryDocument(home, name, destination, source)])], preferred: true, creates: [created],
    }, [record], expect);
    for (const { source, request } of sourcesGiving(want, record, sourceFor(caller, undefined), http && httpDestination(context, destination))) {
      const ok = newEntry(source, request ? `${verb} ${call}: new ServiceIntentions for ${destination}, a permission for this request only` : `${verb} ${named} → ${destination} (every request: a new intention with Action ${want})`);
      if (ok) return { fixes: [ok], notOffered: [] };
    }
    return notOffered(`a new intention for ${destination} would not ${want} the call`);
  }
  const wildcardDestination = destinationName(entry) === '*';
  const index = sourceIndex(entry, caller);
  const fixes: TrafficFix[] = [];
  const attempt = (title: string, edits: (TextEdit | undefined)[], kind: TrafficFix['kind'] = want) => {
    if (edits.some((e) => e === undefined) || fixes.length > 0) return;
    const fix: TrafficFix = { kind, file: entry.file.path, title: `${verb} ${call}: ${title}`, edits: edits as TextEdit[], preferred: true };
    const ok = verified(context, entry.file, fix, [record], expect);
    if (ok) fixes.push(ok);
  };
  if (index >= 0) {
    const sourceNode = nodeAt(entry.resource, [...sourcesPath(entry), index]);
    const permissions = nodeAt(entry.resource, [...sourcesPath(entry), index, canonical(entry, 'Permissions')]);
    const action = sourceNode?.type === 'object' ? sourceNode.entries.find((e) => e.key === canonical(entry, 'Action')) : undefined;
    if (sourceNode?.type === 'object' && permissions?.type === 'array' && http) {
      attempt(`a first permission for this request in source ${named}`, [insertInto(entry, sourceNode, permissions, canonical(entry, 'Permissions'), permission(want, record), 0)]);
    } else if (action && action.value.type === 'scalar') {
      if (want === 'allow' || !http) attempt(`change source ${named} to ${want}`, [replaceScalar(entry.file, action.value, want)]);
      else if (sourceNode?.type === 'object' && !wildcardDestination) {
        // An L4 allow becomes L7: deny this request first, allow the rest as before.
        const replacement = renderField(entry, sourceNode, 'Permissions', [permission('deny', record), { Action: 'allow', HTTP: { PathPrefix: '/' } }], action.keySpan.start);
        attempt(`deny this request first in source ${named} (its other requests stay allowed)`, [spanEdit(entry.file, { start: action.keySpan.start, end: action.value.span.end }, replacement)]);
      }
    }
    return fixes.length ? { fixes, notOffered: [] } : notOffered(`no edit of the intentions of ${destination} gives the call the verdict ${want}`);
  }
  const base = sourceFor(caller, entry);
  const intentionsOf = `the intentions of ${destinationName(entry)}`;
  if (want === 'deny' && http && !wildcardDestination && outcome.decision.verdict === 'allow') {
    attempt(`add source ${named} (deny this request, allow the rest) to ${intentionsOf}`, [addIntentionSource(entry, { ...base, Permissions: [permission('deny', record), { Action: 'allow', HTTP: { PathPrefix: '/' } }] })], 'add-source');
    return fixes.length ? { fixes, notOffered: [] } : notOffered(`no edit of the intentions of ${destination} gives the call the verdict ${want}`);
  }
  // Permissions for this request where Consul takes them (the destination is HTTP, or the entry
  // already has L7 sources, which Consul stores only for one); an L4 Action, which decides every
  // request of the caller, as the other, not preferred, choice.
  const l7 = !wildcardDestination && http && (httpDestination(context, destination) || hasPermissions(entry));
  for (const { source, request } of sourcesGiving(want, record, base, l7)) {
    const title = request ? `${verb} ${call}: add source ${named} to ${intentionsOf}, a permission for this request only`
      : `${verb} ${named} → ${destinationName(entry)} (every request: add source ${named} with Action ${want} to ${intentionsOf})`;
    const edit = addIntentionSource(entry, source);
    const fix = edit && verified(context, entry.file, { kind: 'add-source', file: entry.file.path, title, edits: [edit], preferred: fixes.length === 0 }, [record], expect);
    if (fix) fixes.push(fix);
  }
  return fixes.length ? { fixes, notOffered: [] } : notOffered(`no edit of the intentions of ${destination} gives the call the verdict ${want}`);
}

/**
 * The sources that give the caller `want`, best first: with `l7`, a permission for this request
 * alone (method and path), then an L4 `Action`, which decides every request of the caller. A
 * permission needs a destination Consul knows as http, http2 or grpc (it refuses permissions
 * otherwise), so `l7` is the caller's to establish.
 */
function sourcesGiving(want: 'allow' | 'deny', record: AccessRecord, base: Record<string, unknown>, l7: boolean): { source: Record<string, unknown> & { Name: string }; request: boolean }[] {
  const l4 = { source: { ...base, Name: String(base['Name']), Action: want }, request: false };
  return l7 ? [{ source: { ...base, Name: String(base['Name']), Permissions: [permission(want, record)] }, request: true }, l4] : [l4];
}

/** Whether some source of the entry has L7 permissions (Consul stores those only for an HTTP destination). */
function hasPermissions(entry: Located): boolean {
  return asList(valueAt(entry.resource, sourcesPath(entry))).some((s) => asList(asRecord(s)[canonical(entry, 'Permissions')]).length > 0);
}

/** Whether every protocol the workspace sets for the service (its service-defaults, else proxy-defaults) is HTTP-like, and one is set. */
function httpDestination(context: FixContext, service: string): boolean {
  const { declarations } = destinationProtocols(context.workspace, { name: service });
  return declarations.length > 0 && declarations.every((d) => isHttpLike(d.protocol));
}

function narrowWildcard(context: FixContext, file: SourceFile, range: Range): TrafficFixResult {
  const located = resourceAtRange(context.workspace, file.path, range);
  if (!located || (located.resource.kind !== 'ServiceIntentions' && located.resource.kind !== 'service-intentions')) return empty();
  const { path } = treeNodeAt(located.resource.node, file.lines.offset(range.start));
  const base = sourcesPath(located);
  if (base.some((segment, i) => path[i] !== segment) || typeof path[base.length] !== 'number' || path[base.length + 1] !== canonical(located, 'Name')) return empty();
  const index = path[base.length] as number;
  const list = nodeAt(located.resource, base);
  const item = list?.type === 'array' ? list.items[index] : undefined;
  const nameNode = item?.type === 'object' ? item.entries.find((e) => e.key === canonical(located, 'Name'))?.value : undefined;
  if (list?.type !== 'array' || item?.type !== 'object' || nameNode?.type !== 'scalar' || nameNode.value !== '*') return empty();
  const source = asRecord(asList(valueAt(located.resource, base))[index]);
  if (source[canonical(located, 'Action')] === 'deny') return notOffered('a wildcard deny source is the usual default deny; narrowing it would let unobserved callers through');
  const matched = decidedBy(context.outcomes, file.path, file.lines.range(item.span)).filter((o) => o.decision.rule);
  const names = unique(matched.map((o) => callerOf(o.shape.record)).filter((n): n is string => !!n)).sort();
  if (names.length === 0) return notOffered('no observed call went through the wildcard source');
  const style = nameNode.style !== 'block' ? nameNode.style : 'plain';
  const edits: TextEdit[] = [replaceScalar(file, nameNode, names[0])];
  const itemText = (name: string) => file.text.slice(item.span.start, nameNode.span.start) + renderScalar(file.format, name, style) + file.text.slice(nameNode.span.end, item.span.end);
  const rest = names.slice(1);
  if (rest.length) {
    if (isBlockList(list)) {
      const parent = nodeAt(located.resource, base.slice(0, -1));
      const key = parent?.type === 'object' ? blockKey(located, parent, canonical(located, 'Sources')) : undefined;
      if (!key) return empty();
      const pad = lineIndent(file, key.start);
      edits.push(spanEdit(file, { start: item.span.end, end: item.span.end }, rest.map((n) => `\n\n${pad}${key.text} ${itemText(n)}`).join('')));
    } else if (file.format === 'yaml' && !list.flow) {
      const pad = ' '.repeat(Math.max(0, column(file, item.span.start) - 2));
      const end = file.lines.lineEnd(file.lines.position(Math.max(item.span.end - 1, item.span.start)).line);
      edits.push(spanEdit(file, { start: end, end }, rest.map((n) => `\n${pad}- ${itemText(n)}`).join('')));
    } else {
      const multiline = file.lines.position(item.span.start).line !== file.lines.position(list.span.start).line;
      const separator = multiline ? `,\n${' '.repeat(column(file, item.span.start))}` : ', ';
      edits.push(spanEdit(file, { start: item.span.end, end: item.span.end }, rest.map((n) => `${separator}${itemText(n)}`).join('')));
    }
  }
  const fix: TrafficFix = { kind: 'narrow', file: file.path, title: `Narrow source "*" to the ${names.length} observed caller${names.length === 1 ? '' : 's'} (${names.join(', ')})`, edits };
  const ok = verified(context, file, fix, matched.map((o) => o.shape.record), (d, i) => d.verdict === matched[i]!.decision.verdict);
  return ok ? { fixes: [ok], notOffered: [] } : notOffered('narrowing the wildcard source would change the verdict of observed calls');
}

export const consulTrafficFixes: MeshTrafficFixes = {
  mesh: 'consul',
  allowCall: (context, outcome) => changeVerdict(context, outcome, 'allow'),
  denyCall: (context, outcome) => changeVerdict(context, outcome, 'deny'),
  narrowWildcard,
  shadowPolicy: () => notOffered('Consul intentions have no dry-run or audit mode'),
};

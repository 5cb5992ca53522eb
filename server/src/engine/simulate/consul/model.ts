import type { Resource } from '../../resource';
import type { SourceFile } from '../../source/sourceFile';
import { locate, type NodePath, type SourceNode } from '../../source/tree';
import type { SourceRef } from '../types';
import { resourceValue } from '../../resourceValue';
import { admissionRefusals } from '../../checks/admission';
import { decodeConfigEntry } from '../../consul/configEntryDecode';
import { movingRefs, type CompiledForms } from '../compiledForms';

/**
 * One internal model for both ways of writing Consul intentions:
 *
 * - the `ServiceIntentions` custom resource (consul-k8s; lowerCamelCase keys under `spec`,
 *   destination in `spec.destination`), and
 * - the `service-intentions` config entry (HCL/JSON; canonical CamelCase keys at the top, which
 *   recognition has already mapped from any letter case or snake_case alias).
 *
 * The model is what Consul holds after `Normalize` (agent/structs/config_entry_intentions.go):
 * a source that is neither peered nor a sameness group inherits the destination's namespace and
 * partition (never a wildcard), empty values become `default`, methods are upper-cased, and the
 * precedence is recomputed (a `Precedence` written in the file, as `consul config read` prints
 * it, is ignored). Values of the wrong type (the schema reports those) are read as absent.
 */

export type IntentionAction = 'allow' | 'deny';

export interface ClaimCheck {
  path: string[];
  value: string;
}

export interface JwtProviderRequirement {
  name: string;
  claims: ClaimCheck[];
}

export interface JwtRequirement {
  providers: JwtProviderRequirement[];
  ref: SourceRef;
}

export interface HeaderRule {
  index: number;
  name: string;
  present?: boolean;
  exact?: string;
  prefix?: string;
  suffix?: string;
  contains?: string;
  regex?: string;
  ignoreCase?: boolean;
  invert?: boolean;
  ref: SourceRef;
}

export interface HttpRule {
  pathExact?: string;
  pathPrefix?: string;
  pathRegex?: string;
  /** Upper-cased, as Consul's Normalize leaves them. */
  methods?: string[];
  headers: HeaderRule[];
  ref: SourceRef;
}

export interface PermissionRule {
  index: number;
  /** `allow` or `deny`; anything else (including a missing Action) is `deny`, as rbac.go reads it. */
  action: IntentionAction;
  rawAction?: string;
  /** Absent: rbac.go turns a permission without HTTP into "any" (validation rejects it). */
  http?: HttpRule;
  jwt?: JwtRequirement;
  ref: SourceRef;
  label: string;
}

export interface SourceIntention {
  entry: IntentionEntry;
  index: number;
  name: string;
  /** Normalized: `default` when unset, inherited from the destination when not peered. */
  namespace: string;
  /** Normalized; empty for peered and sameness-group sources. */
  partition: string;
  peer: string;
  samenessGroup: string;
  /** L4 action (absent for L7 sources). Anything but `allow` counts as `deny` (rbac.go). */
  action?: IntentionAction;
  rawAction?: string;
  /** L7 permissions, when the source has any. */
  permissions?: PermissionRule[];
  precedence: number;
  /** Wildcards in (namespace, name): 0 exact, 1 `ns/*`, 2 `*\/*` (rbac.go countWild). */
  wild: number;
  ref: SourceRef;
  /** `Sources[0] web` / `sources[1] *`. */
  label: string;
  /** `default/web`, `default/* (partition floor-a)`, `web from peer dc2`. */
  describe: string;
}

export interface IntentionEntry {
  /** Position in the policy set, for stable ordering. */
  order: number;
  form: 'crd' | 'entry';
  /** Where the entry is read from: after a move (`readEntries` with forms), the file and resource now. */
  file: SourceFile;
  resource: Resource;
  /** Destination, normalized. `*` for wildcards. */
  name: string;
  namespace: string;
  partition: string;
  jwt?: JwtRequirement;
  sources: SourceIntention[];
  ref: SourceRef;
  /** `service-intentions api` / `ServiceIntentions shop/api-intentions`. */
  label: string;
  /** partition/namespace/name: Consul keeps one entry per destination. */
  key: string;
  /** A digest of what the entry means, to tell identical copies from different definitions. */
  fingerprint: string;
  /** Why Consul refuses to store the entry (its `Validate`, or the consul-k8s webhook for the
   * CRD), so that it does not exist in the cluster: no destination name, an invalid wildcard, a
   * source with both `Action` and `Permissions`, ... (spec §3.7). */
  problems: string[];
  /** Where the first problem is. */
  problemAt?: SourceRef;
}

/**
 * Reads every recognized Consul intentions resource into entries. `localPartition` is the
 * partition of CRDs and of config entries without `Partition`.
 *
 * With `forms`, an entry whose text only moved to another line (lines added or removed above it)
 * is the entry read before, its refs moved in place (`moveEntry`), so that the decisions made
 * with it name its new lines without being made again; unless decisions cite its line in their
 * text (`citesLineOf`): then it is read again, as a changed resource.
 */
export function readEntries(resources: ReadonlyArray<{ file: SourceFile; resource: Resource }>, localPartition: string, forms?: CompiledForms): IntentionEntry[] {
  const intentions: { file: SourceFile; resource: Resource; order: number }[] = [];
  resources.forEach(({ file, resource }, order) => {
    if (resource.mesh !== 'consul') return;
    if (resource.kind === 'ServiceIntentions' || resource.kind === 'service-intentions') intentions.push({ file, resource, order });
  });
  if (!forms) return intentions.map(({ file, resource, order }) => readEntry(file, resource, order, localPartition));
  // Whether a moved entry may be taken over depends on every entry: look at them all first.
  const variantOf = (order: number): string => `consul-entry\u0000${order}\u0000${localPartition}`;
  const known = intentions.map(({ file, resource, order }) => {
    const kept = forms.peek<IntentionEntry>(file, resource, variantOf(order));
    return kept ? { entry: kept.form, moves: kept.lines !== 0 } : { entry: readEntry(file, resource, order, localPartition), moves: false, read: true };
  });
  const citesLine = known.some((k) => k.moves) ? citesLineOf(known.map((k) => k.entry)) : () => false;
  return intentions.map(({ file, resource, order }, i) => {
    const { entry, moves, read } = known[i]!;
    const move = moves && citesLine(entry) ? undefined : (moved: IntentionEntry, lines: number) => moveEntry(moved, lines, file, resource);
    return forms.get(file, resource, variantOf(order), () => (read ? entry : readEntry(file, resource, order, localPartition)), move);
  });
}

const moveRefsOfEntry = movingRefs(refsOfEntry);

/** Takes over `entry` for `resource` of `file`, which holds its text `lines` lines further down. */
function moveEntry(entry: IntentionEntry, lines: number, file: SourceFile, resource: Resource): void {
  moveRefsOfEntry(entry, lines);
  entry.file = file;
  entry.resource = resource;
}

/** Every source ref an entry holds (`problemAt` is one of the others). */
function* refsOfEntry(entry: IntentionEntry): Iterable<SourceRef> {
  yield entry.ref;
  if (entry.problemAt) yield entry.problemAt;
  if (entry.jwt) yield entry.jwt.ref;
  for (const source of entry.sources) {
    yield source.ref;
    for (const permission of source.permissions ?? []) {
      yield permission.ref;
      if (permission.jwt) yield permission.jwt.ref;
      if (!permission.http) continue;
      yield permission.http.ref;
      for (const header of permission.http.headers) yield header.ref;
    }
  }
}

/**
 * Whether decisions cite an entry's line in their text: where a destination's entries are defined
 * more than once, differently, each alternative names its entries with their lines
 * (`variantNote`, "with ServiceIntentions shop/api from intentions.yaml:12"), a text made when
 * deciding. A destination's entries are those of its key, of its namespace's `ns/*` and of its
 * partition's `*\/*`; refused entries take no part.
 */
function citesLineOf(entries: readonly IntentionEntry[]): (entry: IntentionEntry) => boolean {
  const definitions = new Map<string, Set<string>>();
  for (const entry of entries) {
    if (entry.problems.length > 0) continue;
    const fingerprints = definitions.get(entry.key) ?? new Set<string>();
    fingerprints.add(entry.fingerprint);
    definitions.set(entry.key, fingerprints);
  }
  const definedTwice = [...definitions].filter(([, fingerprints]) => fingerprints.size > 1).map(([key]) => key);
  if (definedTwice.length === 0) return () => false;
  const twice = new Set(definedTwice);
  return (entry) => {
    const { partition, namespace, name } = entry;
    if (entry.problems.length > 0) return false;
    if (twice.has(entry.key)) return true;
    if (namespace === '*') return definedTwice.some((key) => key.startsWith(`${partition}/`));
    if (name === '*') return twice.has(`${partition}/*/*`) || definedTwice.some((key) => key.startsWith(`${partition}/${namespace}/`));
    return twice.has(`${partition}/${namespace}/*`) || twice.has(`${partition}/*/*`);
  };
}

function readEntry(file: SourceFile, resource: Resource, order: number, localPartition: string): IntentionEntry {
  const form = resource.kind === 'ServiceIntentions' ? 'crd' : 'entry';
  const k = (canonical: string) => key(form, canonical);
  const root = resource.node;
  const decoded = form === 'entry' ? decodeConfigEntry(resourceValue(resource)) : undefined;
  const value = decoded?.value ?? resourceValue(resource);
  const bodyPath: NodePath = form === 'crd' ? ['spec'] : [];
  const body = form === 'crd' ? obj(value['spec']) ?? {} : value;
  const destination = form === 'crd' ? obj(body['destination']) ?? {} : body;
  const problems: string[] = [];
  const name = str(destination[k('Name')]) ?? '';
  if (!name) problems.push('it has no destination name');
  const namespace = str(destination[k('Namespace')]) || 'default';
  const partition = (form === 'entry' ? str(destination['Partition']) : undefined) || localPartition;
  if (namespace !== '*' && namespace.includes('*')) problems.push('its namespace uses "*" with a partial value');
  if (name !== '*' && name.includes('*')) problems.push('its name uses "*" with a partial value');
  if (name !== '*' && namespace === '*') problems.push('an exact name cannot follow a wildcard namespace');
  if (partition.includes('*')) problems.push('its partition uses "*"');
  const metaName = resource.name;
  const label = form === 'crd'
    ? `ServiceIntentions ${resource.namespace ? `${resource.namespace}/` : ''}${metaName ?? name}`
    : `service-intentions ${namespace !== 'default' || partition !== 'default' ? `${partition !== 'default' ? `${partition}/` : ''}${namespace}/` : ''}${name}`;
  const entry: IntentionEntry = {
    order, form, file, resource, name, namespace, partition,
    sources: [], ref: refOf(file, root, [], label), label,
    key: `${partition}/${namespace}/${name}`, fingerprint: '', problems,
  };
  const jwt = jwtRequirement(form, file, root, body[k('JWT')], [...bodyPath, k('JWT')], `${label} ${k('JWT')}`);
  if (jwt) entry.jwt = jwt;
  const destCount = countExact(namespace, name);
  const refuse = (problem: string, at: SourceRef) => {
    if (problems.length === 0) entry.problemAt = at;
    problems.push(problem);
  };
  if (problems.length > 0) entry.problemAt = entry.ref;
  const sourcesRaw = arr(body[k('Sources')]) ?? [];
  if (sourcesRaw.length === 0) refuse(`it has no ${k('Sources')} (Consul requires at least one)`, entry.ref);
  const seenSources = new Map<string, string>();
  sourcesRaw.forEach((raw, index) => {
    const source = obj(raw);
    if (!source) return;
    const path = [...bodyPath, k('Sources'), index];
    const srcName = str(source[k('Name')]) ?? '';
    const peer = str(source[k('Peer')]) ?? '';
    const samenessGroup = str(source[k('SamenessGroup')]) ?? '';
    const inherit = (v: string) => (v === '*' ? '' : v);
    let srcNamespace: string;
    let srcPartition: string;
    if (peer || samenessGroup) {
      srcNamespace = str(source[k('Namespace')]) || 'default';
      srcPartition = str(source[k('Partition')]) ?? '';
    } else {
      srcNamespace = str(source[k('Namespace')]) || inherit(namespace) || 'default';
      srcPartition = str(source[k('Partition')]) || inherit(partition) || 'default';
    }
    const permsRaw = arr(source[k('Permissions')]);
    const srcLabel = `${k('Sources')}[${index}] ${srcName || '(no name)'}`;
    const precedence = destCount < 0 ? 0 : ({ 2: 9, 1: 6, 0: 3 } as Record<number, number>)[destCount]! - (2 - countExact(srcNamespace, srcName));
    const rawAction = str(source[k('Action')]);
    const src: SourceIntention = {
      entry, index, name: srcName, namespace: srcNamespace, partition: srcPartition, peer, samenessGroup,
      precedence, wild: 2 - countExact(srcNamespace, srcName),
      ref: refOf(file, root, path, `${label} ${srcLabel}`, [...path, k('Name')]),
      label: srcLabel, describe: describeSource(srcNamespace, srcName, srcPartition, peer, samenessGroup),
    };
    if (rawAction !== undefined) src.rawAction = rawAction;
    if (permsRaw && permsRaw.length > 0) {
      src.permissions = permsRaw.flatMap((p, j) => permission(form, file, root, p, [...path, k('Permissions'), j], j, `${label} ${srcLabel}`));
    } else {
      src.action = rawAction === 'allow' ? 'allow' : 'deny';
    }
    for (const problem of sourceProblems(form, source, src, name === '*' || namespace === '*')) refuse(`${srcLabel} ${problem}`, src.ref);
    src.permissions?.forEach((p) => { for (const problem of permissionProblems(form, p, permsRaw![p.index])) refuse(`${srcLabel} ${p.label} ${problem}`, p.ref); });
    const identity = JSON.stringify([peer, samenessGroup, srcPartition, srcNamespace, srcName]);
    const earlier = seenSources.get(identity);
    if (earlier !== undefined) refuse(`${srcLabel} names the same caller as ${earlier} (Consul allows each source once per entry)`, src.ref);
    else seenSources.set(identity, srcLabel);
    entry.sources.push(src);
  });
  if (form === 'entry') for (const problem of metaProblems(obj(body['Meta']))) refuse(problem, entry.ref);
  // A ServiceIntentions custom resource refused for nothing else may still fail its CRD schema
  // (a wrong type, spec §3.7.3): the API server refuses it before the webhook sees it.
  for (const refusal of admissionRefusals(file, resource, problems)) refuse(refusal, entry.ref);
  // An entry `consul config write` cannot decode is refused before any validation, for that alone.
  if (decoded !== undefined && decoded.refusals.length > 0) {
    problems.splice(0, problems.length, ...decoded.refusals);
    entry.problemAt = entry.ref;
  }
  entry.fingerprint = JSON.stringify([entry.key, jwtDigest(entry.jwt), entry.sources.map((s) => [
    s.name, s.namespace, s.partition, s.peer, s.samenessGroup, s.action ?? null,
    s.permissions?.map((p) => [p.action, p.http ? [p.http.pathExact, p.http.pathPrefix, p.http.pathRegex, p.http.methods, p.http.headers.map((h) => [h.name, h.present, h.exact, h.prefix, h.suffix, h.contains, h.regex, h.ignoreCase, h.invert])] : null, jwtDigest(p.jwt)]) ?? null,
  ])]);
  return entry;
}

function permission(form: 'crd' | 'entry', file: SourceFile, root: SourceNode, raw: unknown, path: NodePath, index: number, owner: string): PermissionRule[] {
  const k = (canonical: string) => key(form, canonical);
  const p = obj(raw);
  if (!p) return [];
  const rawAction = str(p[k('Action')]);
  const label = `${k('Permissions')}[${index}]`;
  const out: PermissionRule = {
    index, action: rawAction === 'allow' ? 'allow' : 'deny', label,
    ref: refOf(file, root, path, `${owner} ${label}`),
  };
  if (rawAction !== undefined) out.rawAction = rawAction;
  const httpRaw = obj(p[k('HTTP')]);
  if (httpRaw) {
    const httpPath = [...path, k('HTTP')];
    const http: HttpRule = { headers: [], ref: refOf(file, root, httpPath, `${owner} ${label}.${k('HTTP')}`) };
    const pe = nonEmpty(httpRaw[k('PathExact')]);
    const pp = nonEmpty(httpRaw[k('PathPrefix')]);
    const pr = nonEmpty(httpRaw[k('PathRegex')]);
    if (pe !== undefined) http.pathExact = pe;
    if (pp !== undefined) http.pathPrefix = pp;
    if (pr !== undefined) http.pathRegex = pr;
    const methods = arr(httpRaw[k('Methods')]);
    if (methods && methods.length > 0) http.methods = methods.filter((m): m is string => typeof m === 'string').map((m) => m.toUpperCase());
    (arr(httpRaw[k('Header')]) ?? []).forEach((h, i) => {
      const header = obj(h);
      if (!header) return;
      const rule: HeaderRule = {
        index: i, name: str(header[k('Name')]) ?? '',
        ref: refOf(file, root, [...httpPath, k('Header'), i], `${owner} ${label}.${k('HTTP')}.${k('Header')}[${i}]`),
      };
      const present = bool(header[k('Present')]);
      if (present !== undefined) rule.present = present;
      for (const f of ['Exact', 'Prefix', 'Suffix', 'Contains', 'Regex'] as const) {
        const v = nonEmpty(header[k(f)]);
        if (v !== undefined) rule[f.toLowerCase() as 'exact' | 'prefix' | 'suffix' | 'contains' | 'regex'] = v;
      }
      const ignoreCase = bool(header[k('IgnoreCase')]);
      if (ignoreCase !== undefined) rule.ignoreCase = ignoreCase;
      const invert = bool(header[k('Invert')]);
      if (invert !== undefined) rule.invert = invert;
      http.headers.push(rule);
    });
    out.http = http;
  }
  const jwt = jwtRequirement(form, file, root, p[k('JWT')], [...path, k('JWT')], `${owner} ${label}.${k('JWT')}`);
  if (jwt) out.jwt = jwt;
  return [out];
}

const HTTP_METHODS = new Set(['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE', 'CONNECT', 'OPTIONS', 'TRACE']);

/** What Consul's `Validate` (and the consul-k8s webhook, for the CRD) refuses in one source (spec §3.7.1, §3.7.3). */
function sourceProblems(form: 'crd' | 'entry', raw: Record<string, unknown>, src: SourceIntention, wildcardDestination: boolean): string[] {
  const k = (canonical: string) => key(form, canonical);
  const out: string[] = [];
  const name = str(raw[k('Name')]) ?? '';
  const namespace = str(raw[k('Namespace')]) ?? '';
  if (!name) out.push('has no name');
  else if (name !== '*' && name.includes('*')) out.push(`uses "*" in its name with a partial value (${JSON.stringify(name)})`);
  if (namespace !== '*' && namespace.includes('*')) out.push(`uses "*" in its namespace with a partial value (${JSON.stringify(namespace)})`);
  if (name && name !== '*' && namespace === '*') out.push('has an exact name under the wildcard namespace "*"');
  for (const field of ['Partition', 'Peer', 'SamenessGroup']) {
    if ((str(raw[k(field)]) ?? '').includes('*')) out.push(`uses "*" in ${k(field)}`);
  }
  if (src.peer && str(raw[k('Partition')])) out.push(`sets both ${k('Peer')} and ${k('Partition')}`);
  if (src.samenessGroup && str(raw[k('Partition')])) out.push(`sets both ${k('SamenessGroup')} and ${k('Partition')}`);
  if (src.samenessGroup && src.peer) out.push(`sets both ${k('SamenessGroup')} and ${k('Peer')}`);
  const action = str(raw[k('Action')]) ?? '';
  if (src.permissions) {
    if (action !== '') out.push(`sets both ${k('Action')} and ${k('Permissions')} (a source is either L4 or L7)`);
    if (wildcardDestination) out.push(`has ${k('Permissions')}, which an entry for a wildcard destination cannot have`);
  } else if (action !== 'allow' && action !== 'deny') {
    out.push(action === '' ? `has neither ${k('Action')} nor ${k('Permissions')}` : `has ${k('Action')} ${JSON.stringify(action)}, not "allow" or "deny"`);
  }
  const type = str(raw[k('Type')]) ?? '';
  if (type !== '' && type !== 'consul') out.push(`has ${k('Type')} ${JSON.stringify(type)}, not "consul"`);
  if (goLength(str(raw[k('Description')]) ?? '') > META_VALUE_MAX) out.push(`has a ${k('Description')} longer than ${META_VALUE_MAX} bytes`);
  // Normalize clears the other legacy fields of a normal write; a non-empty LegacyMeta stays and fails validation.
  if (form === 'entry' && Object.keys(obj(raw['LegacyMeta']) ?? {}).length > 0) out.push('has LegacyMeta, which Consul accepts only on intentions it migrated from before 1.9');
  return out;
}

/** Consul's limits on an entry's `Meta` (agent/structs/config_entry.go `validateConfigEntryMeta`), also the source `Description` limit; Go counts bytes. */
const META_MAX_PAIRS = 64;
const META_KEY_MAX = 128;
const META_VALUE_MAX = 512;

function goLength(text: string): number {
  return Buffer.byteLength(text, 'utf8');
}

/**
 * What `validateConfigEntryMeta` refuses in a config entry's `Meta`: more than 64 pairs, a key
 * over 128 bytes, a value over 512 bytes. (A ServiceIntentions resource has no `Meta`: consul-k8s
 * writes its own.)
 */
export function metaProblems(meta: Record<string, unknown> | undefined): string[] {
  if (!meta) return [];
  const out: string[] = [];
  const entries = Object.entries(meta);
  if (entries.length > META_MAX_PAIRS) out.push(`its Meta has ${entries.length} pairs (at most ${META_MAX_PAIRS})`);
  for (const [name, value] of entries) {
    if (goLength(name) > META_KEY_MAX) out.push(`its Meta key ${JSON.stringify(name.slice(0, 16))}… is longer than ${META_KEY_MAX} bytes`);
    if (typeof value === 'string' && goLength(value) > META_VALUE_MAX) out.push(`its Meta value for ${JSON.stringify(name)} is longer than ${META_VALUE_MAX} bytes`);
  }
  return out;
}

/** What Consul refuses in one permission: its action, a missing or empty HTTP block, paths, headers and methods (spec §3.7.1 V18-V25). */
function permissionProblems(form: 'crd' | 'entry', rule: PermissionRule, raw: unknown): string[] {
  const k = (canonical: string) => key(form, canonical);
  const out: string[] = [];
  if (rule.rawAction !== 'allow' && rule.rawAction !== 'deny') out.push(rule.rawAction === undefined ? `has no ${k('Action')}` : `has ${k('Action')} ${JSON.stringify(rule.rawAction)}, not "allow" or "deny"`);
  const http = obj(obj(raw)?.[k('HTTP')]);
  if (!http) return [...out, `has no ${k('HTTP')} block`];
  const paths = (['PathExact', 'PathPrefix', 'PathRegex'] as const).filter((f) => nonEmpty(http[k(f)]) !== undefined);
  if (paths.length > 1) out.push(`sets ${paths.map(k).join(' and ')} (at most one path match)`);
  for (const f of ['PathExact', 'PathPrefix'] as const) {
    const path = nonEmpty(http[k(f)]);
    if (path !== undefined && !path.startsWith('/')) out.push(`has ${k(f)} ${JSON.stringify(path)}, which does not start with "/"`);
  }
  const methods = (arr(http[k('Methods')]) ?? []).filter((m): m is string => typeof m === 'string');
  const seen = new Set<string>();
  for (const written of methods) {
    // Consul upper-cases methods before it checks them; the consul-k8s webhook checks them as written.
    const method = form === 'entry' ? written.toUpperCase() : written;
    if (!HTTP_METHODS.has(method)) out.push(`has the method ${JSON.stringify(written)}, which is not one of ${[...HTTP_METHODS].join(', ')}`);
    else if (seen.has(method)) out.push(`lists the method ${method} twice`);
    seen.add(method);
  }
  const headers = arr(http[k('Header')]) ?? [];
  headers.forEach((h, i) => {
    const header = obj(h) ?? {};
    if (!nonEmpty(header[k('Name')])) out.push(`${k('Header')}[${i}] has no ${k('Name')}`);
    const matchers = (['Exact', 'Prefix', 'Suffix', 'Contains', 'Regex'] as const).filter((f) => nonEmpty(header[k(f)]) !== undefined).length + (header[k('Present')] === true ? 1 : 0);
    if (matchers !== 1) out.push(`${k('Header')}[${i}] has ${matchers === 0 ? 'no' : matchers} value matches (exactly one of Present, Exact, Prefix, Suffix, Contains or Regex)`);
  });
  if (paths.length === 0 && methods.length === 0 && headers.length === 0) out.push(`has an empty ${k('HTTP')} block (no path, header or method)`);
  return out;
}

function jwtRequirement(form: 'crd' | 'entry', file: SourceFile, root: SourceNode, raw: unknown, path: NodePath, label: string): JwtRequirement | undefined {
  const k = (canonical: string) => key(form, canonical);
  const jwt = obj(raw);
  if (!jwt) return undefined;
  const providers = (arr(jwt[k('Providers')]) ?? []).flatMap((p) => {
    const provider = obj(p);
    const name = str(provider?.[k('Name')]);
    if (!provider || !name) return [];
    const claims = (arr(provider[k('VerifyClaims')]) ?? []).flatMap((c) => {
      const claim = obj(c);
      const claimPath = arr(claim?.[k('Path')])?.filter((s): s is string => typeof s === 'string');
      const v = claim?.[k('Value')];
      if (!claimPath || claimPath.length === 0 || v === undefined || v === null || typeof v === 'object') return [];
      return [{ path: claimPath, value: String(v) }];
    });
    return [{ name, claims }];
  });
  // rbac.go: `if ixn.JWT != nil` with no providers adds nothing.
  if (providers.length === 0) return undefined;
  return { providers, ref: refOf(file, root, path, label) };
}

function jwtDigest(jwt: JwtRequirement | undefined): unknown {
  return jwt ? jwt.providers.map((p) => [p.name, p.claims.map((c) => [c.path, c.value])]) : null;
}

/** agent/structs/config_entry_intentions.go intentionCountExact: 0 for `*\/*`, 1 for `ns/*`, 2 exact. */
export function countExact(namespace: string, name: string): number {
  if (namespace === '*') return 0;
  if (name === '*') return 1;
  return 2;
}

export function describeSource(namespace: string, name: string, partition: string, peer: string, samenessGroup: string): string {
  const base = `${namespace}/${name}`;
  if (peer) return `${base} from peer ${peer}`;
  if (samenessGroup) return `${base} from sameness group ${samenessGroup}`;
  return partition && partition !== 'default' ? `${base} in partition ${partition}` : base;
}

/** The key a field has in this form: `PathExact` in a config entry, `pathExact` in the CRD. */
export function key(form: 'crd' | 'entry', canonical: string): string {
  if (form === 'entry') return canonical;
  if (canonical === canonical.toUpperCase()) return canonical.toLowerCase();
  return canonical[0]!.toLowerCase() + canonical.slice(1);
}

function refOf(file: SourceFile, root: SourceNode, path: NodePath, label: string, focusPath?: NodePath): SourceRef {
  const located = locate(root, path);
  const node = located.node ?? root;
  const focus = focusPath && locate(root, focusPath).node;
  return { file: file.path, range: file.lines.range(node.span), label, ...(focus ? { focus: file.lines.range(focus.span) } : {}) };
}

// ---- plain-data helpers ----


function obj(value: unknown): Record<string, unknown> | undefined {
  return value && typeof value === 'object' && !Array.isArray(value) ? (value as Record<string, unknown>) : undefined;
}

function arr(value: unknown): unknown[] | undefined {
  return Array.isArray(value) ? value : undefined;
}

function str(value: unknown): string | undefined {
  return typeof value === 'string' ? value : undefined;
}

function nonEmpty(value: unknown): string | undefined {
  return typeof value === 'string' && value !== '' ? value : undefined;
}

function bool(value: unknown): boolean | undefined {
  return typeof value === 'boolean' ? value : undefined;
}

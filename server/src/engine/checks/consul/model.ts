import type { Resource } from '../../resource';
import type { NodePath } from '../../source/tree';
import { resourceValue, sameText } from '../../resourceValue';

/**
 * One view of a Consul intentions resource whatever its form: the `ServiceIntentions` custom
 * resource (lowerCamelCase keys under `spec`) or a `service-intentions` config entry (canonical
 * CamelCase keys at the top). Checks read the model and report on the `path`s it carries, so a
 * check is written once for both forms. Values of the wrong type (the schema reports those) are
 * read as absent, so a check never trips over them.
 */

export type IntentionsForm = 'crd' | 'entry';

export interface HeaderModel {
  index: number;
  path: NodePath;
  name?: string;
  present?: boolean;
  exact?: string;
  prefix?: string;
  suffix?: string;
  contains?: string;
  regex?: string;
  ignoreCase?: boolean;
  invert?: boolean;
}

export interface HttpModel {
  path: NodePath;
  pathExact?: string;
  pathPrefix?: string;
  pathRegex?: string;
  /** The methods as written (not upper-cased), when `Methods` is a list. */
  methods?: { value: string; path: NodePath }[];
  headers: HeaderModel[];
}

export interface JwtProviderRef {
  name: string;
  path: NodePath;
}

export interface PermissionModel {
  index: number;
  path: NodePath;
  action?: string;
  /** Absent when the permission has no HTTP object. */
  http?: HttpModel;
  hasJwt: boolean;
  jwtProviders: JwtProviderRef[];
}

export interface SourceModel {
  index: number;
  path: NodePath;
  name?: string;
  namespace?: string;
  partition?: string;
  peer?: string;
  samenessGroup?: string;
  action?: string;
  /** Absent when the source has no permissions list. */
  permissions?: PermissionModel[];
  permissionsPath: NodePath;
  raw: Record<string, unknown>;
}

export interface IntentionsModel {
  form: IntentionsForm;
  /** Destination service; `undefined` when missing. */
  name?: string;
  namespace?: string;
  partition?: string;
  /** Path of the destination name (`spec.destination.name` or `Name`), or of its parent when missing. */
  namePath: NodePath;
  namespacePath: NodePath;
  partitionPath: NodePath;
  sources: SourceModel[];
  jwtProviders: JwtProviderRef[];
}

/** The key a field has in this form: `PathExact` in a config entry, `pathExact` in the CRD. */
export function key(form: IntentionsForm, canonical: string): string {
  if (form === 'entry') return canonical;
  if (canonical === canonical.toUpperCase()) return canonical.toLowerCase();
  return canonical[0]!.toLowerCase() + canonical.slice(1);
}

export function isIntentions(resource: Resource): boolean {
  return resource.mesh === 'consul' && (resource.kind === 'ServiceIntentions' || resource.kind === 'service-intentions');
}

export function formOf(resource: Resource): IntentionsForm {
  return resource.kind === 'ServiceIntentions' ? 'crd' : 'entry';
}

const cache = new WeakMap<Resource, IntentionsModel>();

/** The model of a recognized intentions resource, built once per resource text (it holds paths,
 * not positions). */
export function modelOf(resource: Resource): IntentionsModel {
  const key = sameText(resource);
  let model = cache.get(key);
  if (!model) {
    model = buildModel(formOf(resource), resourceValue(resource));
    cache.set(key, model);
  }
  return model;
}

export function buildModel(form: IntentionsForm, value: Record<string, unknown>): IntentionsModel {
  const k = (name: string) => key(form, name);
  const root: NodePath = form === 'crd' ? ['spec'] : [];
  const body = form === 'crd' ? obj(value['spec']) ?? {} : value;
  const destinationPath: NodePath = form === 'crd' ? ['spec', 'destination'] : [];
  const destination = form === 'crd' ? obj(body['destination']) ?? {} : body;
  const sources: SourceModel[] = [];
  (arr(body[k('Sources')]) ?? []).forEach((raw, index) => {
    const source = obj(raw);
    if (!source) return;
    const path = [...root, k('Sources'), index];
    const permissionsPath = [...path, k('Permissions')];
    const list = arr(source[k('Permissions')]);
    sources.push({
      index, path, permissionsPath, raw: source,
      ...opt('name', str(source[k('Name')])),
      ...opt('namespace', str(source[k('Namespace')])),
      ...opt('partition', str(source[k('Partition')])),
      ...opt('peer', str(source[k('Peer')])),
      ...opt('samenessGroup', str(source[k('SamenessGroup')])),
      ...opt('action', str(source[k('Action')])),
      ...(list ? { permissions: list.flatMap((p, j) => permission(form, p, [...permissionsPath, j], j)) } : {}),
    });
  });
  return {
    form,
    ...opt('name', str(destination[k('Name')])),
    ...opt('namespace', str(destination[k('Namespace')])),
    ...opt('partition', form === 'entry' ? str(destination['Partition']) : undefined),
    namePath: [...destinationPath, k('Name')],
    namespacePath: [...destinationPath, k('Namespace')],
    partitionPath: [...destinationPath, k('Partition')],
    sources,
    jwtProviders: jwtProviders(form, body[k('JWT')], [...root, k('JWT')]),
  };
}

function permission(form: IntentionsForm, raw: unknown, path: NodePath, index: number): PermissionModel[] {
  const k = (name: string) => key(form, name);
  const p = obj(raw);
  if (!p) return [];
  const httpRaw = obj(p[k('HTTP')]);
  let http: HttpModel | undefined;
  if (httpRaw) {
    const httpPath = [...path, k('HTTP')];
    const methodList = arr(httpRaw[k('Methods')]);
    http = {
      path: httpPath,
      ...opt('pathExact', nonEmpty(httpRaw[k('PathExact')])),
      ...opt('pathPrefix', nonEmpty(httpRaw[k('PathPrefix')])),
      ...opt('pathRegex', nonEmpty(httpRaw[k('PathRegex')])),
      ...(methodList ? { methods: methodList.flatMap((m, i) => typeof m === 'string' ? [{ value: m, path: [...httpPath, k('Methods'), i] }] : []) } : {}),
      headers: (arr(httpRaw[k('Header')]) ?? []).flatMap((h, i) => {
        const header = obj(h);
        if (!header) return [];
        return [{
          index: i, path: [...httpPath, k('Header'), i],
          ...opt('name', str(header[k('Name')])),
          ...opt('present', bool(header[k('Present')])),
          ...opt('exact', str(header[k('Exact')])),
          ...opt('prefix', str(header[k('Prefix')])),
          ...opt('suffix', str(header[k('Suffix')])),
          ...opt('contains', str(header[k('Contains')])),
          ...opt('regex', str(header[k('Regex')])),
          ...opt('ignoreCase', bool(header[k('IgnoreCase')])),
          ...opt('invert', bool(header[k('Invert')])),
        }];
      }),
    };
  }
  const jwtRaw = p[k('JWT')];
  return [{
    index, path,
    ...opt('action', str(p[k('Action')])),
    ...(http ? { http } : {}),
    hasJwt: obj(jwtRaw) !== undefined && (arr(obj(jwtRaw)![k('Providers')])?.length ?? 0) > 0,
    jwtProviders: jwtProviders(form, jwtRaw, [...path, k('JWT')]),
  }];
}

function jwtProviders(form: IntentionsForm, raw: unknown, path: NodePath): JwtProviderRef[] {
  const providers = arr(obj(raw)?.[key(form, 'Providers')]) ?? [];
  return providers.flatMap((p, i) => {
    const name = str(obj(p)?.[key(form, 'Name')]);
    return name ? [{ name, path: [...path, key(form, 'Providers'), i, key(form, 'Name')] }] : [];
  });
}

/** The source's identity after Consul's `Normalize`: a source that is neither peered nor a
 * sameness group inherits the destination's namespace and partition (never a wildcard), and
 * empty values become `default`. */
export function normalizedSource(model: IntentionsModel, source: SourceModel): { peer: string; samenessGroup: string; partition: string; namespace: string; name: string } {
  const peer = source.peer ?? '';
  const samenessGroup = source.samenessGroup ?? '';
  const inherit = (value: string | undefined) => (value && value !== '*' ? value : '');
  if (peer || samenessGroup) {
    return { peer, samenessGroup, partition: source.partition ?? '', namespace: source.namespace || 'default', name: source.name ?? '' };
  }
  return {
    peer, samenessGroup,
    partition: source.partition || inherit(model.partition) || 'default',
    namespace: source.namespace || inherit(model.namespace) || 'default',
    name: source.name ?? '',
  };
}

/** How Consul prints a source in its messages: `peer:ns/name`-like, kept readable. */
export function describeSource(model: IntentionsModel, source: SourceModel): string {
  const n = normalizedSource(model, source);
  const qualified = n.namespace !== 'default' || (n.partition && n.partition !== 'default') ? `${n.partition && n.partition !== 'default' ? `${n.partition}/` : ''}${n.namespace}/${n.name}` : n.name;
  if (n.peer) return `${qualified} from peer ${n.peer}`;
  if (n.samenessGroup) return `${qualified} from sameness group ${n.samenessGroup}`;
  return qualified;
}

export function hasPermissions(source: SourceModel): boolean {
  return (source.permissions?.length ?? 0) > 0;
}

export function isWildcardDestination(model: IntentionsModel): boolean {
  return model.name === '*' || model.namespace === '*';
}

const CATCH_ALL_REGEX = new Set(['.*', '^.*$', '^.*', '.*$', '/.*', '^/.*$', '^/.*', '/.*$', '.+', '^.+$', '(.*)', '^(.*)$']);

/** True when the path criterion (or its absence) lets every request path through. */
export function pathMatchesEverything(http: HttpModel): boolean {
  if (http.pathExact !== undefined) return false;
  if (http.pathPrefix !== undefined) return http.pathPrefix === '/';
  if (http.pathRegex !== undefined) return CATCH_ALL_REGEX.has(http.pathRegex);
  return true;
}

/** An HTTP block that matches every request: a catch-all path and no method or header. */
export function matchesEverything(http: HttpModel): boolean {
  return pathMatchesEverything(http) && !http.methods?.length && http.headers.length === 0;
}

// ---- plain-data helpers ----


export function obj(value: unknown): Record<string, unknown> | undefined {
  return value && typeof value === 'object' && !Array.isArray(value) ? (value as Record<string, unknown>) : undefined;
}

export function arr(value: unknown): unknown[] | undefined {
  return Array.isArray(value) ? value : undefined;
}

export function str(value: unknown): string | undefined {
  return typeof value === 'string' ? value : undefined;
}

function nonEmpty(value: unknown): string | undefined {
  return typeof value === 'string' && value !== '' ? value : undefined;
}

function bool(value: unknown): boolean | undefined {
  return typeof value === 'boolean' ? value : undefined;
}

function opt<K extends string, V>(name: K, value: V | undefined): Partial<Record<K, V>> {
  return value === undefined ? {} : ({ [name]: value } as Record<K, V>);
}


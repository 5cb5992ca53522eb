import { HEADERS_WITH_UNDERSCORES_ACTIONS, PATH_ESCAPED_SLASHES_ACTIONS, type RequestNormalization } from '../simulate/consul/http';
import type { SourceFile } from '../source/sourceFile';
import { blockAt, entryCI, entryExtent, entryReader, placeOf } from './configEntries';
import { getEntry, getScalarString, type ObjectEntry, type ObjectNode, type SourceNode, type Span } from '../source/tree';

/**
 * The `mesh` config entries (HCL, JSON or YAML, keys in any letter case or snake_case) and the
 * `Mesh` custom resources (consul-k8s `consul.hashicorp.com/v1alpha1`, lowerCamelCase keys under
 * `spec`) of a file: the request normalization of `HTTP.Incoming.RequestNormalization`, which
 * every sidecar's HTTP connection manager applies before the RBAC filter sees a request.
 *
 * Like jwt-provider entries they are not recognized resources, so they are read from the
 * workspace's files; a file is read once per text (cached by its `SourceFile`).
 */
export interface MeshEntryDefinition {
  /** The fields the entry sets; an entry without `RequestNormalization` sets none (Consul's defaults). */
  normalization: RequestNormalization;
  kind: 'mesh' | 'Mesh';
  file: SourceFile;
  /** The entry or resource, from its first key to the end of its last value. */
  span: Span;
}

const PATH_ESCAPED_SLASHES: readonly string[] = PATH_ESCAPED_SLASHES_ACTIONS;
const HEADERS_WITH_UNDERSCORES: readonly string[] = HEADERS_WITH_UNDERSCORES_ACTIONS;

/** The entry for a field given by its config-entry name. */
type Lookup = (node: SourceNode | undefined, key: string) => ObjectEntry | undefined;

/** A CRD spells the config entry's fields in lowerCamelCase (`HTTP` is `http`). */
const crdEntry: Lookup = (node, key) => getEntry(node, key === 'HTTP' ? 'http' : key.charAt(0).toLowerCase() + key.slice(1));

export const meshEntriesIn: (file: SourceFile) => readonly MeshEntryDefinition[] = entryReader(read);

/** What the file's mesh entries say, places included ('' when it has none). */
export function meshEntryDigest(file: SourceFile): string {
  const found = meshEntriesIn(file);
  return found.length ? JSON.stringify(found.map((d) => [describeMeshEntry(d), d.normalization])) : '';
}

/** `mesh entry (config/mesh.hcl:1-9)`: the definition and its place, for messages. */
export function describeMeshEntry(d: MeshEntryDefinition): string {
  return `${d.kind === 'mesh' ? 'mesh entry' : 'Mesh'} (${placeOf(d.file, d.span)})`;
}

function read(file: SourceFile, node: ObjectNode, out: MeshEntryDefinition[]): void {
  const apiVersion = getScalarString(node, 'apiVersion');
  if (apiVersion !== undefined) {
    if (!apiVersion.startsWith('consul.hashicorp.com/') || getScalarString(node, 'kind') !== 'Mesh') return;
    out.push({ normalization: normalizationOf(getEntry(node, 'spec')?.value, crdEntry), kind: 'Mesh', file, span: entryExtent(file, node) });
    return;
  }
  // A config entry: Consul matches its keys in any letter case and takes their snake_case forms.
  const kind = entryCI(node, 'Kind')?.value;
  if (kind?.type !== 'scalar' || kind.value !== 'mesh') return;
  out.push({ normalization: normalizationOf(node, entryCI), kind: 'mesh', file, span: entryExtent(file, node) });
}

function normalizationOf(root: SourceNode | undefined, at: Lookup): RequestNormalization {
  const rn = blockAt(blockAt(blockAt(root, 'HTTP', at), 'Incoming', at), 'RequestNormalization', at);
  const out: RequestNormalization = {};
  const disable = booleanAt(rn, 'InsecureDisablePathNormalization', at);
  if (disable !== undefined) out.insecureDisablePathNormalization = disable;
  const merge = booleanAt(rn, 'MergeSlashes', at);
  if (merge !== undefined) out.mergeSlashes = merge;
  const escaped = oneOf(rn, 'PathWithEscapedSlashesAction', PATH_ESCAPED_SLASHES, at);
  if (escaped !== undefined) out.pathWithEscapedSlashesAction = escaped as RequestNormalization['pathWithEscapedSlashesAction'];
  const underscores = oneOf(rn, 'HeadersWithUnderscoresAction', HEADERS_WITH_UNDERSCORES, at);
  if (underscores !== undefined) out.headersWithUnderscoresAction = underscores as RequestNormalization['headersWithUnderscoresAction'];
  return out;
}


function booleanAt(node: SourceNode | undefined, key: string, at: Lookup): boolean | undefined {
  const value = at(node, key)?.value;
  return value?.type === 'scalar' && typeof value.value === 'boolean' ? value.value : undefined;
}

/** A value Consul would refuse to store is left out (the default applies). */
function oneOf(node: SourceNode | undefined, key: string, allowed: readonly string[], at: Lookup): string | undefined {
  const value = at(node, key)?.value;
  return value?.type === 'scalar' && typeof value.value === 'string' && allowed.includes(value.value) ? value.value : undefined;
}

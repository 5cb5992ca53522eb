import { consulModule } from './consul';
import { istioModule } from './istio';
import { linkerdModule } from './linkerd';
import type { MeshModule } from './meshModule';
import type { Mesh } from './meshes';
import type { Resource, UnservedVersion } from './resource';
import type { CatalogEntry } from './schema/catalog';
import type { SchemaRegistry } from './schema/registry';
import type { SourceDocument, SourceFile } from './source/sourceFile';
import { documentOrigin } from './source/yamlReader';
import { notePlaced } from './resourceValue';
import { getEntry, getScalarString, locate, type NodePath, type ObjectNode } from './source/tree';

export const MESH_MODULES: readonly MeshModule[] = [istioModule, linkerdModule, consulModule];
const moduleFor = new Map(MESH_MODULES.map((m) => [m.mesh, m]));

/** The pipeline's hooks of a mesh. */
export function meshModule(mesh: Mesh): MeshModule | undefined {
  return moduleFor.get(mesh);
}

export interface Recognition {
  resources: Resource[];
  unserved: UnservedVersion[];
}

/** Per registry, what each document holds: a document the reader hands out again unchanged
 * (the same object) keeps its resources. */
const byDocument = new WeakMap<SchemaRegistry, WeakMap<SourceDocument, Recognition>>();

/** Finds the mesh policy resources in a file. Anything else is left alone. */
export function recognize(file: SourceFile, registry: SchemaRegistry): Recognition {
  let known = byDocument.get(registry);
  if (!known) byDocument.set(registry, (known = new WeakMap()));
  const result: Recognition = { resources: [], unserved: [] };
  for (const document of file.documents) {
    let found = known.get(document);
    if (!found) known.set(document, (found = recognizePlaced(document, registry, known)));
    result.resources.push(...found.resources);
    result.unserved.push(...found.unserved);
  }
  return result;
}

/** A document the YAML cache placed at a new offset (the documents after an edited one) holds
 * what its cached parse holds: recognition reads no position, so the parse's recognition is
 * taken over and pointed at the placed nodes, which are shifted only where read. */
function recognizePlaced(document: SourceDocument, registry: SchemaRegistry, known: WeakMap<SourceDocument, Recognition>): Recognition {
  const parsed = documentOrigin(document)?.parsed;
  if (!parsed || !document.root) return recognizeDocument(document, registry);
  let template = known.get(parsed);
  if (!template) known.set(parsed, (template = recognizeDocument(parsed, registry)));
  const placed = (path: NodePath): ObjectNode => (path.length === 0 ? document.root : locate(document.root!, path).node) as ObjectNode;
  return {
    resources: template.resources.map((r) => {
      const node = placed(r.path);
      const module = moduleFor.get(r.mesh);
      const resource = { ...r, documentIndex: document.index, node: module?.canonicalize ? module.canonicalize(node, r.entry, registry) : node };
      notePlaced(resource, r);
      return resource;
    }),
    unserved: template.unserved.map((u) => ({ ...u, documentIndex: document.index, node: placed(u.path) })),
  };
}

function recognizeDocument(document: SourceDocument, registry: SchemaRegistry): Recognition {
  const result: Recognition = { resources: [], unserved: [] };
  const root = document.root;
  if (root?.type !== 'object') return result;
  const items = getEntry(root, 'items')?.value;
  if (getScalarString(root, 'kind')?.endsWith('List') && items?.type === 'array') {
    // `kubectl get ... -o yaml` wraps what it returns in a List.
    items.items.forEach((item, i) => {
      if (item.type === 'object') recognizeObject(item, ['items', i], document.index, registry, result);
    });
  } else {
    recognizeObject(root, [], document.index, registry, result);
  }
  return result;
}

function recognizeObject(node: ObjectNode, path: NodePath, documentIndex: number, registry: SchemaRegistry, out: Recognition): void {
  const entries = registry.catalog.entries;
  const apiVersion = getScalarString(node, 'apiVersion');
  const kind = getScalarString(node, 'kind');
  let entry: CatalogEntry | undefined;
  if (apiVersion !== undefined && kind !== undefined) {
    const [group, version] = apiVersion.includes('/') ? splitOnce(apiVersion) : ['', apiVersion];
    const sameKind = entries.filter((e) => e.group === group && e.kind === kind && accepts(e, node));
    entry = sameKind.find((e) => e.version === version);
    if (!entry) {
      if (sameKind.length) out.unserved.push({ documentIndex, path, node, apiVersion, kind, servedVersions: sameKind.map((e) => e.version!) });
      return;
    }
  } else if (apiVersion === undefined) {
    for (const module of MESH_MODULES) {
      entry = module.recognizeUntyped?.(node, entries);
      if (entry) break;
    }
  }
  if (!entry) return;
  const module = moduleFor.get(entry.mesh);
  const canonical = module?.canonicalize ? module.canonicalize(node, entry, registry) : node;
  const metadata = getEntry(canonical, 'metadata')?.value;
  out.resources.push({
    mesh: entry.mesh,
    entry,
    documentIndex,
    path,
    node: canonical,
    kind: kind ?? entry.configEntryKind ?? '',
    ...(apiVersion !== undefined ? { apiVersion } : {}),
    ...optional('name', getScalarString(metadata, 'name') ?? getScalarString(canonical, 'Name')),
    ...optional('namespace', getScalarString(metadata, 'namespace') ?? getScalarString(canonical, 'Namespace')),
  });
}

function accepts(entry: CatalogEntry, node: ObjectNode): boolean {
  return moduleFor.get(entry.mesh)?.accepts?.(entry, node) ?? true;
}

function splitOnce(apiVersion: string): [string, string] {
  const slash = apiVersion.indexOf('/');
  return [apiVersion.slice(0, slash), apiVersion.slice(slash + 1)];
}

function optional<K extends string>(key: K, value: string | undefined): Partial<Record<K, string>> {
  return value === undefined ? {} : ({ [key]: value } as Record<K, string>);
}

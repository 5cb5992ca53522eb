import type { WorkspaceView } from '../checks/check';
import { objectAtSpan } from '../checks/linkerd/lib/common';
import { jwtProvidersIn } from '../consul/jwtProviders';
import type { Declared } from '../inventory/inventory';
import { InventoryIndex } from '../inventory/inventoryIndex';
import type { Resource } from '../resource';
import type { SourceFile } from '../source/sourceFile';
import type { SourceNode, Span } from '../source/tree';
import { child, text } from './nodes';
import type { Definition, Target } from './types';

/**
 * Where targets are defined in one state of the workspace: policy resources, inventory objects,
 * jwt-provider entries. Each target is resolved once (many references name the same account).
 */
export class Resolver {
  private readonly known = new Map<string, Definition[]>();
  private byName: Map<string, { file: SourceFile; resource: Resource }[]> | undefined;

  constructor(private readonly workspace: WorkspaceView) {}

  resolve(target: Target): Definition[] {
    const key = JSON.stringify(target);
    let found = this.known.get(key);
    if (!found) this.known.set(key, (found = this.find(target)));
    return found;
  }

  /** The policy resources of a mesh, kind (any letter case), namespace and name. */
  private resources(mesh: string, kind: string, namespace: string, name: string): { file: SourceFile; resource: Resource }[] {
    if (!this.byName) {
      this.byName = new Map();
      for (const entry of this.workspace.resources) {
        const { resource } = entry;
        const key = resourceKey(resource.mesh, resource.kind, resource.namespace ?? 'default', resource.name ?? '');
        const list = this.byName.get(key);
        if (list) list.push(entry);
        else this.byName.set(key, [entry]);
      }
    }
    return this.byName.get(resourceKey(mesh, kind, namespace, name)) ?? [];
  }

  private find(target: Target): Definition[] {
    const workspace = this.workspace;
    const inventory = workspace.inventory;
    const declared = <T extends Declared & { name: string }>(objects: readonly T[] | undefined, kind: string, where: (d: T) => string | undefined): Definition[] =>
      (objects ?? []).flatMap((d) => {
        const namespace = where(d);
        return declaredDefinition(workspace, d, `${kind} ${namespace ? `${namespace}/` : ''}${d.name}`) ?? [];
      });
    switch (target.type) {
      case 'resource':
        return this.resources(target.mesh, target.kind, target.namespace, target.name)
          .filter(({ resource }) => target.group === undefined || groupOf(resource) === target.group.toLowerCase())
          .map(({ file, resource }) => resourceDefinition(file, resource));
      case 'serviceAccount': {
        const accounts = inventory.serviceAccounts.filter((a) => a.namespace === target.namespace && a.name === target.name);
        if (accounts.length) return declared(accounts, 'ServiceAccount', (a) => a.namespace);
        // No ServiceAccount manifest: the workloads that run as it stand for it.
        return InventoryIndex.of(inventory).workloadsForServiceAccount(target.namespace, target.name).flatMap((w) => declaredDefinition(workspace, w, `${w.kind} ${w.namespace}/${w.name} (service account ${target.name})`) ?? []);
      }
      case 'namespace': {
        const found = inventory.namespaces.get(target.name);
        return found ? declared([found], 'Namespace', () => undefined) : [];
      }
      case 'service':
        return declared(inventory.services.filter((s) => s.name === target.name && (target.namespace === undefined || s.namespace === target.namespace)), 'Service', (s) => s.namespace);
      case 'gateway':
        return declared(inventory.gateways?.filter((g) => g.namespace === target.namespace && g.name === target.name), 'Gateway', (g) => g.namespace);
      case 'serviceEntry':
        return declared(inventory.serviceEntries?.filter((g) => g.namespace === target.namespace && g.name === target.name), 'ServiceEntry', (e) => e.namespace);
      case 'jwtProvider':
        return workspace.sourceFiles.flatMap((file) => jwtProvidersIn(file)
          .filter((p) => p.name === target.name)
          .map((p) => definitionAt(file, p.span, nameSpan(objectAround(file, p.span.start)) ?? p.span, `${p.kind} ${target.name}`)));
      case 'attachment':
        return [];
    }
  }
}

function resourceKey(mesh: string, kind: string, namespace: string, name: string): string {
  return `${mesh}\u0000${kind.toLowerCase()}\u0000${namespace}\u0000${name}`;
}

/** Per resource, its definition in the version of its file last asked for (a resource object
 * may outlive its file's text when its document kept its place). */
const resourceDefinitions = new WeakMap<Resource, { file: SourceFile; definition: Definition }>();

/** A policy resource as a definition: its name, or its first line. */
export function resourceDefinition(file: SourceFile, resource: Resource): Definition {
  let kept = resourceDefinitions.get(resource);
  if (kept?.file !== file) resourceDefinitions.set(resource, (kept = { file, definition: newResourceDefinition(file, resource) }));
  return kept.definition;
}

function newResourceDefinition(file: SourceFile, resource: Resource): Definition {
  const label = `${resource.kind} ${resource.namespace ? `${resource.namespace}/` : ''}${resource.name ?? '(no name)'}`;
  return definitionAt(file, resource.node.span, nameSpan(resource.node) ?? { start: resource.node.span.start, end: resource.node.span.start }, label);
}

/** An inventory object as a definition, when its file's text is at hand (a large dump read without positions is not). */
export function declaredDefinition(workspace: WorkspaceView, declared: Declared, label: string): Definition | undefined {
  const file = workspace.sourceFile(declared.file);
  if (!file || declared.span.end > file.text.length || declared.span.end <= declared.span.start) return undefined;
  return definitionAt(file, declared.span, nameSpan(objectAtSpan(file, declared.span)) ?? { start: declared.span.start, end: declared.span.start }, label);
}

function definitionAt(file: SourceFile, object: Span, name: Span, label: string): Definition {
  return { file: file.path, range: file.lines.range(name), label, key: definitionKey(file.path, object) };
}

export function definitionKey(path: string, object: Span): string {
  return `${path}\u0000${object.start}`;
}

/** `metadata.name`, or a config entry's `Name` (any letter case). */
function nameSpan(node: SourceNode | undefined): Span | undefined {
  const name = text(child(node, 'metadata'), 'name') ?? text(node, 'Name') ?? text(node, 'name') ?? text(node, 'NAME');
  return name?.span;
}

/** The innermost document root or List item that holds `offset`. */
function objectAround(file: SourceFile, offset: number): SourceNode | undefined {
  for (const document of file.documents) {
    const root = document.root;
    if (!root || offset < root.span.start || offset > root.span.end) continue;
    const list = child(root, 'items');
    return (list?.type === 'array' ? list.items.find((item) => offset >= item.span.start && offset <= item.span.end) : undefined) ?? root;
  }
  return undefined;
}

function groupOf(resource: Resource): string {
  const apiVersion = resource.apiVersion ?? '';
  const slash = apiVersion.indexOf('/');
  return slash < 0 ? 'core' : apiVersion.slice(0, slash).toLowerCase();
}

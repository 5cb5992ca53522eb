import type { WorkspaceAuthz } from '../authz';
import type { WorkspaceView } from '../checks/check';
import type { Range } from '../findings';
import type { Declared, Inventory } from '../inventory/inventory';
import { InventoryIndex } from '../inventory/inventoryIndex';
import type { Mesh } from '../meshes';
import type { Pace } from '../pace';
import { readPolicyTests } from '../policyTests';
import { RULE_OUTLINERS } from '../policyRules';
import type { Resource } from '../resource';
import { resourceAt } from '../resourceAt';
import { resourceValue } from '../resourceValue';
import type { SourceFile } from '../source/sourceFile';
import { locate, type NodePath, type SourceNode, type Span } from '../source/tree';
import { replaceScalar } from '../edits';
import type { TextEdit } from '../findings';
import { objectAtSpan } from '../checks/linkerd/lib/common';
import { child, text } from './nodes';
import { consulReferences } from './consul';
import { istioReferences } from './istio';
import { linkerdReferences } from './linkerd';
import { declaredDefinition, definitionKey, Resolver, resourceDefinition } from './resolve';
import type { Definition, Place, Reference, ReferenceContext, Target } from './types';

export type { Definition, Place, Reference, Target } from './types';

/** A Kubernetes object name (RFC 1123 subdomain). */
const KUBERNETES_NAME = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;

const REFERENCES: Record<Mesh, (resource: Resource, context: ReferenceContext) => Reference[]> = {
  istio: istioReferences, linkerd: linkerdReferences, consul: consulReferences,
};

/** A resource or rule in a file's outline; rules nest under their resource (a Consul permission under its source). */
export interface OutlineSymbol {
  name: string;
  detail: string;
  kind: 'resource' | 'rule' | 'test';
  /** The whole resource or rule. */
  range: Range;
  /** Its name (a resource) or its first line (a rule). */
  selectionRange: Range;
  children: OutlineSymbol[];
}

/** A policy of the workspace, for a search by name. */
export interface WorkspaceSymbol {
  name: string;
  mesh: Mesh;
  kind: string;
  place: Place;
}

/**
 * Go to definition, find references, the outline and workspace symbols over one state of the
 * workspace (its resources and inventory). The references of every resource, inverted, are
 * built on the first "find references" and kept while that state lasts.
 */
export class WorkspaceNavigation {
  private inverted: Map<string, Place[]> | undefined;
  private readonly resolver: Resolver;

  /** `authz`: which workloads a selector attaches to (absent: selectors lead nowhere, as in an untrusted workspace). */
  constructor(private readonly workspace: WorkspaceView, private readonly authz?: WorkspaceAuthz) {
    this.resolver = new Resolver(workspace);
  }

  /** What the value at `offset` names, where it is defined; undefined when the offset is on no reference. */
  async definitions(file: SourceFile, offset: number, pace?: Pace): Promise<Definition[] | undefined> {
    const found = this.referenceAt(file, offset);
    if (!found) return undefined;
    const { resource, reference } = found;
    if (reference.target.type !== 'attachment') return this.resolver.resolve(reference.target);
    const names = await this.authz?.appliesTo(file, resource, offset, pace);
    if (!names) return [];
    const index = InventoryIndex.of(this.workspace.inventory);
    return names.flatMap((target) => {
      const slash = target.indexOf('/');
      const workload = index.workload(target.slice(0, slash), target.slice(slash + 1));
      return (workload && declaredDefinition(this.workspace, workload, `${workload.kind} ${target}`)) ?? [];
    });
  }

  /** For a hover over a reference: what it names and where that is, or that the workspace has none
   * (selectors are left to the hover's "Applies to"). `where` writes a place as the user reads it. */
  referenceText(file: SourceFile, offset: number, where: (place: Place) => string): string | undefined {
    const found = this.referenceAt(file, offset);
    if (!found || found.reference.target.type === 'attachment') return undefined;
    const definitions = this.resolver.resolve(found.reference.target);
    if (!definitions.length) return `Refers to ${targetText(found.reference.target)}, which the workspace does not define`;
    return `Refers to ${definitions.map((d) => `\`${d.label}\` (${where(d)})`).join(', ')}`;
  }

  /** The reference at `offset` (what the editor underlines on the way to its definition). */
  referenceSpan(file: SourceFile, offset: number): Span | undefined {
    return this.referenceAt(file, offset)?.reference.span;
  }

  /**
   * Every place that refers to what is at `offset`: a reference's target, a policy's name, or an
   * inventory object of the file (a workload: the policies that apply to it, from its listing).
   * With `includeDeclaration`, the definitions come first.
   */
  async references(file: SourceFile, offset: number, includeDeclaration: boolean, pace?: Pace): Promise<Place[]> {
    const definitions = await this.definitionsFor(file, offset, pace);
    const places: Place[] = includeDeclaration ? [...definitions] : [];
    const inverted = await this.invertedReferences(pace);
    for (const definition of definitions) places.push(...(inverted.get(definition.key) ?? []));
    for (const workload of this.workloadsAmong(definitions)) {
      const { listings } = this.authz?.list({ namespace: workload.namespace, name: workload.name }) ?? { listings: [] };
      for (const row of listings.flatMap((l) => l.sections.flatMap((s) => [...s.rows, ...(s.authentication?.rows ?? [])]))) {
        if (row.at) places.push({ file: row.at.file, range: row.at.range, label: row.resource });
      }
    }
    return distinct(places);
  }

  /**
   * What a rename at `offset` would rename: a policy resource, by its name or by a reference to
   * it (a Linkerd `targetRef`, `parentRefs`, `requiredAuthenticationRefs`, a ServerAuthorization's
   * `server.name`), or a ServiceAccount of the workspace's manifests, by its name or by a value
   * that names it (a principal, a Linkerd identity, a `serviceAccounts` entry or ref). Other
   * manifests (Services, Namespaces, workloads) are not renamed from here.
   */
  async renameTarget(file: SourceFile, offset: number, pace?: Pace): Promise<{ range: Range; name: string } | { refused: string } | undefined> {
    const found = this.referenceAt(file, offset);
    if (found?.reference.target.type === 'attachment') return { refused: 'a selector picks workloads by their labels, not by a name' };
    const account = this.serviceAccountAt(file, offset, found?.reference);
    if (account) return this.accountRenameTarget(file, account, found?.reference);
    const definitions = await this.definitionsFor(file, offset, pace);
    if (!definitions.length) return found ? { refused: 'it names nothing in the workspace' } : undefined;
    if (!definitions.every((d) => this.resourceOf(d))) return { refused: `${definitions[0]!.label} is not a policy resource or a ServiceAccount: rename it in its manifest, and the places that name it` };
    const range = found ? file.lines.range(found.reference.span) : definitions.find((d) => d.file === file.path)?.range;
    const name = this.resourceOf(definitions[0]!)!.resource.name ?? '';
    return range ? { range, name } : undefined;
  }

  /** The edits of renaming what `renameTarget` names to `newName`: its name, and every reference to it. */
  async rename(file: SourceFile, offset: number, newName: string, pace?: Pace): Promise<{ file: string; edits: TextEdit[] }[] | { refused: string }> {
    const target = await this.renameTarget(file, offset, pace);
    if (!target) return { refused: 'nothing to rename here' };
    if ('refused' in target) return target;
    if (!KUBERNETES_NAME.test(newName) || newName.length > 253) return { refused: `"${newName}" is not a Kubernetes name: lower-case letters, digits, "-" and ".", starting and ending with a letter or digit` };
    const edits = new Map<string, TextEdit[]>();
    const add = (at: SourceFile, node: SourceNode, value = newName) => edits.set(at.path, [...(edits.get(at.path) ?? []), replaceScalar(at, node, value)]);
    const account = this.serviceAccountAt(file, offset, this.referenceAt(file, offset)?.reference);
    if (account) {
      for (const { file: at, node } of this.accountNames(account)) add(at, node);
      for (const { file: at, resource } of this.workspace.resources) {
        for (const reference of this.referencesOf(resource)) {
          const t = reference.target;
          if (!reference.node || t.type !== 'serviceAccount' || t.namespace !== account.namespace || t.name !== account.name) continue;
          add(at, reference.node, reference.partial ? reference.partial.renamed(newName) : newName);
        }
      }
      for (const { file: at, node, text } of this.testCallsBy(account)) add(at, node, text(newName));
      return [...edits].map(([path, list]) => ({ file: path, edits: list }));
    }
    const definitions = await this.definitionsFor(file, offset, pace);
    const keys = new Set(definitions.map((d) => d.key));
    for (const definition of definitions) {
      const { file: at, resource } = this.resourceOf(definition)!;
      const name = child(child(resource.node, 'metadata'), 'name');
      if (name) add(at, name);
    }
    for (const { file: at, resource } of this.workspace.resources) {
      for (const reference of this.referencesOf(resource)) {
        if (!reference.node || reference.target.type !== 'resource') continue;
        if (this.resolver.resolve(reference.target).some((d) => keys.has(d.key))) add(at, reference.node);
      }
    }
    return [...edits].map(([path, list]) => ({ file: path, edits: list }));
  }

  /** The ServiceAccount at `offset`: one a reference there names, or the manifest whose name the cursor is on. */
  private serviceAccountAt(file: SourceFile, offset: number, reference: Reference | undefined): { namespace: string; name: string } | undefined {
    if (reference) return reference.target.type === 'serviceAccount' ? { namespace: reference.target.namespace, name: reference.target.name } : undefined;
    if (this.resourceAt(file, offset)) return undefined;
    const declared = this.declaredAt(file, offset);
    if (!declared || !onName(file, declared.definition, offset)) return undefined;
    return this.workspace.inventory.serviceAccounts.find((a) => a === declared.object);
  }

  /** Whether a ServiceAccount can be renamed, and the part of the text under the cursor that is its name. */
  private accountRenameTarget(file: SourceFile, account: { namespace: string; name: string }, reference: Reference | undefined): { range: Range; name: string } | { refused: string } {
    const label = `ServiceAccount ${account.namespace}/${account.name}`;
    if (account.name === 'default') return { refused: `${label} is the one Kubernetes makes in every namespace: it cannot be renamed` };
    if (!this.workspace.inventory.serviceAccounts.some((a) => a.namespace === account.namespace && a.name === account.name)) return { refused: `no manifest of the workspace declares ${label}: renaming only the places that name it would leave them naming an account that still exists` };
    const span = reference?.node ? nameWithin(file, reference.node.span, reference.partial?.at ?? 0, account.name.length) : this.accountNames(account).find((n) => n.file === file)?.node.span;
    return span ? { range: file.lines.range(span), name: account.name } : { refused: `${label} cannot be renamed from here` };
  }

  /**
   * The policy test calls written in the short form with the account as caller (`shop/cart ->
   * ...`), where the mesh that decides them names callers by service account: Istio and Linkerd,
   * by the call's `istio:`/`linkerd:` or as the workspace's only mesh (a Consul caller is a service).
   */
  private testCallsBy(account: { namespace: string; name: string }): { file: SourceFile; node: SourceNode; text: (newName: string) => string }[] {
    const meshes = new Set(this.workspace.resources.map((r) => r.resource.mesh));
    const only = meshes.size === 1 ? [...meshes][0] : undefined;
    const found: { file: SourceFile; node: SourceNode; text: (newName: string) => string }[] = [];
    for (const file of this.workspace.sourceFiles) {
      for (const test of readPolicyTests(file)?.cases ?? []) {
        const caller = test.call.caller;
        const mesh = test.call.record.mesh ?? only;
        if (!caller || caller.namespace !== account.namespace || caller.name !== account.name || (mesh !== 'istio' && mesh !== 'linkerd')) continue;
        const written = /^(\s*(?:[a-z]+\s*:(?!\/\/)\s*)?)(\S+)(\s*->[\s\S]*)$/.exec(test.callText);
        if (written?.[2] === `${account.namespace}/${account.name}`) found.push({ file, node: test.nodes.call, text: (newName) => `${written[1]}${account.namespace}/${newName}${written[3]}` });
      }
    }
    return found;
  }

  /** The name nodes of a ServiceAccount: its manifests' `metadata.name`, and the `serviceAccountName` (or old `serviceAccount`) of the pods that run as it. */
  private accountNames(account: { namespace: string; name: string }): { file: SourceFile; node: SourceNode }[] {
    const found: { file: SourceFile; node: SourceNode }[] = [];
    const at = (declared: Declared): { file: SourceFile; object: SourceNode } | undefined => {
      const file = this.workspace.sourceFile(declared.file);
      const object = file && objectAtSpan(file, declared.span);
      return file && object ? { file, object } : undefined;
    };
    for (const manifest of this.workspace.inventory.serviceAccounts) {
      if (manifest.namespace !== account.namespace || manifest.name !== account.name) continue;
      const place = at(manifest);
      const name = place && text(child(place.object, 'metadata'), 'name');
      if (place && name) found.push({ file: place.file, node: name });
    }
    for (const workload of this.workspace.inventory.workloads) {
      if (workload.owner || workload.namespace !== account.namespace || workload.serviceAccount !== account.name) continue;
      const place = at(workload);
      const podSpec = place && podSpecOf(place.object);
      for (const key of ['serviceAccountName', 'serviceAccount']) {
        const value = text(podSpec, key);
        if (place && value?.value === account.name) found.push({ file: place.file, node: value });
      }
    }
    return found;
  }

  /** The policy resource a definition is, if it is one. */
  private resourceOf(definition: Definition): { file: SourceFile; resource: Resource } | undefined {
    return this.workspace.resources.find(({ file, resource }) => definitionKey(file.path, resource.node.span) === definition.key);
  }

  /** The policies of a file and their rules, in file order; or the tests of a policy test file. */
  outline(file: SourceFile, resources: readonly Resource[]): OutlineSymbol[] {
    const tests = readPolicyTests(file);
    if (tests) {
      return tests.cases.map((test) => {
        const range = file.lines.range(test.span);
        return { name: test.name, detail: `expect ${test.expect}`, kind: 'test', range, selectionRange: { start: range.start, end: range.start }, children: [] };
      });
    }
    return resources.map((resource) => {
      const definition = resourceDefinition(file, resource);
      const range = file.lines.range(resource.node.span);
      const rules = RULE_OUTLINERS[resource.mesh](resource, resourceValue(resource)).flatMap(({ path, label }) => {
        const node = locate(resource.node, path).node;
        if (!node) return [];
        const rule = file.lines.range(node.span);
        return [{ path, symbol: { name: label, detail: '', kind: 'rule' as const, range: rule, selectionRange: { start: rule.start, end: rule.start }, children: [] as OutlineSymbol[] } }];
      });
      return { name: definition.label, detail: resource.mesh, kind: 'resource', range, selectionRange: definition.range, children: nest(rules) };
    });
  }

  /** The workspace's policies whose label contains the query's characters in order (any case):
   * those that contain it as written first, then by label. */
  symbols(query: string, limit = 500): WorkspaceSymbol[] {
    const wanted = query.toLowerCase().replace(/\s+/g, '');
    const found: (WorkspaceSymbol & { whole: boolean })[] = [];
    for (const { file, resource } of this.workspace.resources) {
      const definition = resourceDefinition(file, resource);
      const label = definition.label.toLowerCase();
      if (!inOrder(wanted, label)) continue;
      found.push({ name: definition.label, mesh: resource.mesh, kind: resource.kind, place: { file: definition.file, range: definition.range, label: definition.label }, whole: label.includes(wanted) });
    }
    found.sort((a, b) => Number(b.whole) - Number(a.whole) || a.name.localeCompare(b.name));
    return found.slice(0, limit).map(({ whole: _whole, ...symbol }) => symbol);
  }

  private referencesOf(resource: Resource): Reference[] {
    return REFERENCES[resource.mesh](resource, { config: this.workspace.config });
  }

  /** The innermost reference at `offset`, in the resource there. */
  private referenceAt(file: SourceFile, offset: number): { resource: Resource; reference: Reference } | undefined {
    const resource = this.resourceAt(file, offset);
    if (!resource) return undefined;
    let best: Reference | undefined;
    for (const reference of this.referencesOf(resource)) {
      const { start, end } = reference.span;
      if (offset < start || offset > end) continue;
      if (!best || end - start < best.span.end - best.span.start) best = reference;
    }
    return best && { resource, reference: best };
  }

  private resourceAt(file: SourceFile, offset: number): Resource | undefined {
    const resources = this.workspace.resources.filter((r) => r.file.path === file.path).map((r) => r.resource);
    return resourceAt(file, resources, offset);
  }

  /** What the cursor stands on as something others refer to. */
  private async definitionsFor(file: SourceFile, offset: number, pace?: Pace): Promise<Definition[]> {
    const found = this.referenceAt(file, offset);
    if (found) return found.reference.target.type === 'attachment' ? [] : this.resolver.resolve(found.reference.target);
    await pace?.turn();
    // A policy or an inventory object when the cursor is on its name, as on a declaration.
    const resource = this.resourceAt(file, offset);
    const definition = resource ? resourceDefinition(file, resource) : this.declaredAt(file, offset)?.definition;
    return definition && onName(file, definition, offset) ? [definition] : [];
  }

  /** The smallest inventory object of the file around `offset`. */
  private declaredAt(file: SourceFile, offset: number): { object: Declared; definition: Definition } | undefined {
    let best: { object: Declared; label: string } | undefined;
    for (const { object, label } of declaredObjects(this.workspace.inventory)) {
      if (object.file !== file.path || offset < object.span.start || offset > object.span.end) continue;
      if (!best || object.span.end - object.span.start < best.object.span.end - best.object.span.start) best = { object, label };
    }
    const definition = best && declaredDefinition(this.workspace, best.object, best.label);
    return best && definition && { object: best.object, definition };
  }

  /** The top-level workloads among `definitions` (a Deployment, not its pods). */
  private workloadsAmong(definitions: readonly Definition[]): { namespace: string; name: string }[] {
    const keys = new Set(definitions.map((d) => d.key));
    return this.workspace.inventory.workloads.filter((w) => !w.owner && keys.has(definitionKey(w.file, w.span)));
  }

  private async invertedReferences(pace?: Pace): Promise<Map<string, Place[]>> {
    if (this.inverted) return this.inverted;
    const inverted = new Map<string, Place[]>();
    for (const { file, resource } of this.workspace.resources) {
      await pace?.turn();
      for (const reference of this.referencesOf(resource)) {
        if (reference.target.type === 'attachment') continue;
        const place: Place = { file: file.path, range: file.lines.range(reference.span), label: resourceDefinition(file, resource).label };
        for (const definition of this.resolver.resolve(reference.target)) {
          const list = inverted.get(definition.key);
          if (list) list.push(place);
          else inverted.set(definition.key, [place]);
        }
      }
    }
    this.inverted = inverted;
    return inverted;
  }
}

/** The pod spec of a workload manifest: a Pod's `spec`, a CronJob's job template's, any other's template's. */
function podSpecOf(object: SourceNode): SourceNode | undefined {
  const kind = child(object, 'kind');
  const spec = child(object, 'spec');
  if (kind?.type === 'scalar' && kind.value === 'Pod') return spec;
  if (kind?.type === 'scalar' && kind.value === 'CronJob') return child(child(child(child(spec, 'jobTemplate'), 'spec'), 'template'), 'spec');
  return child(child(spec, 'template'), 'spec');
}

/** Where `length` characters from position `at` of a scalar's value are in the file: after its opening quote, if it has one. */
function nameWithin(file: SourceFile, value: Span, at: number, length: number): Span {
  const quoted = file.text[value.start] === '"' || file.text[value.start] === "'" ? 1 : 0;
  const start = value.start + quoted + at;
  return { start, end: start + length };
}

function declaredObjects(inventory: Inventory): { object: Declared; label: string }[] {
  return [
    ...[...inventory.namespaces.values()].map((n) => ({ object: n, label: `Namespace ${n.name}` })),
    ...inventory.serviceAccounts.map((a) => ({ object: a, label: `ServiceAccount ${a.namespace}/${a.name}` })),
    ...inventory.workloads.filter((w) => !w.owner).map((w) => ({ object: w, label: `${w.kind} ${w.namespace}/${w.name}` })),
    ...inventory.services.map((s) => ({ object: s, label: `Service ${s.namespace}/${s.name}` })),
    ...(inventory.gateways ?? []).map((g) => ({ object: g, label: `Gateway ${g.namespace}/${g.name}` })),
    ...(inventory.serviceEntries ?? []).map((e) => ({ object: e, label: `ServiceEntry ${e.namespace}/${e.name}` })),
  ];
}

/** Rules whose path extends another's become its children. */
function nest(rules: { path: NodePath; symbol: OutlineSymbol }[]): OutlineSymbol[] {
  const top: OutlineSymbol[] = [];
  const placed: { path: NodePath; symbol: OutlineSymbol }[] = [];
  for (const rule of rules) {
    const parent = [...placed].reverse().find((p) => p.path.length < rule.path.length && p.path.every((segment, i) => rule.path[i] === segment));
    if (parent && rule.symbol.name.startsWith(`${parent.symbol.name} `)) rule.symbol.name = rule.symbol.name.slice(parent.symbol.name.length + 1);
    (parent ? parent.symbol.children : top).push(rule.symbol);
    placed.push(rule);
  }
  return top;
}

/** Whether `offset` is within the name's line, from its key to the end of its value (`name: cart`). */
function onName(file: SourceFile, definition: Definition, offset: number): boolean {
  const start = file.lines.offset(definition.range.start);
  const end = file.lines.offset(definition.range.end);
  const lineStart = file.lines.offset({ line: definition.range.start.line, character: 0 });
  const before = file.text.slice(lineStart, start);
  const keyAt = Math.max(before.lastIndexOf('name'), before.lastIndexOf('Name'));
  return offset <= end && offset >= (keyAt >= 0 ? lineStart + keyAt : start);
}

/** A target as the user names it: `Server emojivoto/web-http`, `ServiceAccount shop/cart`. */
function targetText(target: Target): string {
  switch (target.type) {
    case 'resource': return `${target.kind} ${target.namespace}/${target.name}`;
    case 'serviceAccount': return `ServiceAccount ${target.namespace}/${target.name}`;
    case 'namespace': return `Namespace ${target.name}`;
    case 'service': return `Service ${target.namespace ? `${target.namespace}/` : ''}${target.name}`;
    case 'gateway': return `Gateway ${target.namespace}/${target.name}`;
    case 'serviceEntry': return `ServiceEntry ${target.namespace}/${target.name}`;
    case 'jwtProvider': return `jwt-provider ${target.name}`;
    case 'attachment': return 'the workloads it selects';
  }
}

function inOrder(wanted: string, label: string): boolean {
  let at = 0;
  for (const char of wanted) {
    at = label.indexOf(char, at);
    if (at < 0) return false;
    at++;
  }
  return true;
}

function distinct(places: Place[]): Place[] {
  const seen = new Set<string>();
  return places.filter((p) => {
    const key = `${p.file}\u0000${p.range.start.line}:${p.range.start.character}`;
    if (seen.has(key)) return false;
    seen.add(key);
    return true;
  });
}

const cache = new WeakMap<object, { inventory: Inventory; authz: WorkspaceAuthz | undefined; navigation: WorkspaceNavigation }>();

/** The navigation of the workspace's current state: the same object while its resources, inventory and listings stay. */
export function workspaceNavigation(workspace: WorkspaceView, authz?: WorkspaceAuthz): WorkspaceNavigation {
  const cached = cache.get(workspace.resources);
  if (cached && cached.inventory === workspace.inventory && cached.authz === authz) return cached.navigation;
  const navigation = new WorkspaceNavigation(workspace, authz);
  cache.set(workspace.resources, { inventory: workspace.inventory, authz, navigation });
  return navigation;
}

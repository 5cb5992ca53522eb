import { basename, dirname } from 'node:path';
import type { Resource } from '../../resource';
import type { SourceFile } from '../../source/sourceFile';
import { getEntry, getScalarString, type ObjectNode, type SourceNode, type Span } from '../../source/tree';
import { entryCI } from '../../consul/configEntries';
import { jwtProvidersIn } from '../../consul/jwtProviders';
import { agentConfigsIn, agentDefaultPolicy } from '../../consul/agentConfig';
import { resolveDefaultPolicy } from '../../simulate/consul/options';
import { topLevelObjects } from '../../source/topLevelObjects';
import type { WorkspaceFact, WorkspaceView } from '../check';
import { readFact, textId } from '../facts';
import { resourceValue } from '../../resourceValue';
import { isIntentions, modelOf, type IntentionsModel } from './model';
import { InventoryIndex } from '../../inventory/inventoryIndex';
import { consulServiceName } from '../../traffic/ingest/identity';

/**
 * What the Consul checks need to know about the whole workspace, built once per workspace state
 * (keyed by the `resources` array, which the workspace replaces whenever a file changes).
 *
 * Framework gap: `WorkspaceView` only lists recognized policy resources, but the write-time graph
 * checks need `service-defaults`, `proxy-defaults` and `jwt-provider` entries (and their CRDs),
 * which are not policies. `WorkspaceModel` keeps every file it was given in a private `files`
 * map; we read that when it is there and fall back to the files that hold a recognized
 * resource otherwise (which still covers multi-document YAML).
 */

export interface IntentionsRecord {
  file: SourceFile;
  resource: Resource;
  model: IntentionsModel;
}

export interface ProtocolDeclaration {
  /** Lower-cased protocol. */
  protocol: string;
  name?: string;
  namespace?: string;
  partition?: string;
  /** `service-defaults`, `ServiceDefaults`, ... */
  kind: string;
  file: SourceFile;
  span: Span;
}

export interface WorkspaceIndex {
  intentions: IntentionsRecord[];
  /** The intentions by folder and destination name (`sameFolderAndName`), so that a check
   * comparing destinations looks at a few candidates rather than every entry. */
  intentionsByFolderAndName: Map<string, IntentionsRecord[]>;
  /** `service-defaults` entries and `ServiceDefaults` resources that set a protocol. */
  serviceProtocols: ProtocolDeclaration[];
  /** `proxy-defaults` entries and `ProxyDefaults` resources that set `Config.protocol`. */
  proxyProtocols: ProtocolDeclaration[];
  /** Names of `jwt-provider` entries and `JWTProvider` resources (`consul/jwtProviders.ts`). */
  jwtProviders: Set<string>;
  jwtProviderCount: number;
}

/**
 * The index, once per workspace state. It is not a fact (`index: true`): a check reads it through
 * the accessors below, each of which records the fact it depends on, so that its findings are
 * kept while that part of the workspace (with the places its messages cite) stays as it was.
 */
const INDEX: WorkspaceFact<WorkspaceIndex> = { index: true, compute: build, key: () => '' };

function workspaceIndex(workspace: WorkspaceView): WorkspaceIndex {
  return readFact(workspace, INDEX);
}

/** Intentions by file, line (messages cite it) and text. */
function recordsKey(records: readonly IntentionsRecord[]): string {
  return records.map((r) => `${r.file.path}\u0000${r.file.lines.position(r.resource.node.span.start).line}\u0000${textId(resourceValue(r.resource))}`).join('\u0001');
}

const namedIntentions = new Map<string, WorkspaceFact<string>>();

/** The intentions named `name` in the folder of `file` (the candidates for MPA3007 and MPA3008). */
export function intentionsNamed(workspace: WorkspaceView, file: SourceFile, name: string): readonly IntentionsRecord[] {
  const key = folderAndName(file, name);
  let fact = namedIntentions.get(key);
  if (!fact) {
    fact = { compute: (w) => recordsKey(workspaceIndex(w).intentionsByFolderAndName.get(key) ?? []), key: (value) => value };
    namedIntentions.set(key, fact);
  }
  readFact(workspace, fact);
  return workspaceIndex(workspace).intentionsByFolderAndName.get(key) ?? [];
}

const WILDCARD_DESTINATIONS: WorkspaceFact<string> = { compute: (w) => recordsKey(workspaceIndex(w).intentions.filter((r) => r.model.name === '*')), key: (value) => value };

/** The intentions whose destination name is `*` (MPA3013). */
export function wildcardDestinations(workspace: WorkspaceView): IntentionsRecord[] {
  readFact(workspace, WILDCARD_DESTINATIONS);
  return workspaceIndex(workspace).intentions.filter((r) => r.model.name === '*');
}

const PROTOCOLS: WorkspaceFact<string> = {
  compute: (w) => {
    const index = workspaceIndex(w);
    return JSON.stringify([index.serviceProtocols, index.proxyProtocols].map((list) => list.map((d) => [d.protocol, d.name, d.namespace, d.partition, d.kind, d.file.path, d.file.lines.position(d.span.start).line])));
  },
  key: (value) => value,
};

/** `service-defaults` and global `proxy-defaults` protocols, with where they are set (MPA3010). */
export function protocolDeclarations(workspace: WorkspaceView): Pick<WorkspaceIndex, 'serviceProtocols' | 'proxyProtocols'> {
  readFact(workspace, PROTOCOLS);
  return workspaceIndex(workspace);
}

/** The protocol declarations that apply to a destination service: its `service-defaults` (or
 * ServiceDefaults), else the global `proxy-defaults` (`fromProxyDefaults`); none when the
 * workspace sets no protocol for it (Consul then takes `tcp`, unless it is set elsewhere). */
export function destinationProtocols(workspace: WorkspaceView, service: { name: string; namespace?: string | undefined; partition?: string | undefined }): { declarations: ProtocolDeclaration[]; fromProxyDefaults: boolean } {
  const index = protocolDeclarations(workspace);
  const applies = (d: ProtocolDeclaration) => d.name === service.name &&
    (d.namespace === undefined || service.namespace === undefined || d.namespace === service.namespace) &&
    (d.partition === undefined || service.partition === undefined || d.partition === service.partition);
  const declarations = index.serviceProtocols.filter(applies);
  return declarations.length ? { declarations, fromProxyDefaults: false } : { declarations: index.proxyProtocols, fromProxyDefaults: true };
}

const JWT_PROVIDERS: WorkspaceFact<string> = {
  compute: (w) => {
    const index = workspaceIndex(w);
    return JSON.stringify([index.jwtProviderCount, [...index.jwtProviders].sort()]);
  },
  key: (value) => value,
};

/** The Consul services the workspace shows, by name (MPA3017). */
export interface ConsulServiceNames {
  /** Of the inventory's workloads and Services, and of service-defaults. */
  names: Set<string>;
  /** The destinations of the workspace's intentions (a service kept outside Kubernetes has its intentions too). */
  destinations: Set<string>;
  /** Some workload of the inventory is connect-injected: the inventory holds the mesh's services. */
  injected: boolean;
}

const SERVICE_NAMES: WorkspaceFact<ConsulServiceNames> = {
  compute: (w) => {
    const inventory = w.inventory;
    const index = InventoryIndex.of(inventory);
    const names = new Set<string>();
    let injected = false;
    // consul-k8s registers a pod under its Service's name (or its connect-service annotation);
    // with connect injection on by default no pod carries the annotation, so every workload's
    // and Service's name counts
    for (const workload of inventory.workloads) {
      if (workload.annotations['consul.hashicorp.com/connect-inject'] === 'true') injected = true;
      names.add(workload.name);
      names.add(consulServiceName(index, workload));
      for (const name of (workload.annotations['consul.hashicorp.com/connect-service'] ?? '').split(',')) if (name.trim()) names.add(name.trim());
    }
    for (const service of inventory.services) names.add(service.name);
    const entries = workspaceIndex(w);
    for (const declaration of entries.serviceProtocols) if (declaration.name) names.add(declaration.name);
    const destinations = new Set<string>();
    for (const { model } of entries.intentions) if (model.name) destinations.add(model.name);
    return { names, destinations, injected };
  },
  key: (value) => JSON.stringify([value.injected, [...value.names].sort(), [...value.destinations].sort()]),
};

/** The Consul services the workspace shows: connect-injected workloads and their Services, service-defaults, intentions' destinations (MPA3017). */
export function consulServiceNames(workspace: WorkspaceView): ConsulServiceNames {
  return readFact(workspace, SERVICE_NAMES);
}

/** The names of the workspace's jwt-provider entries, and how many entries there are (MPA3011). */
export function jwtProviderNames(workspace: WorkspaceView): Pick<WorkspaceIndex, 'jwtProviders' | 'jwtProviderCount'> {
  readFact(workspace, JWT_PROVIDERS);
  return workspaceIndex(workspace);
}

/** The default intention policy in force, and where the checks' messages say it comes from. */
export interface DefaultIntentionPolicy {
  policy: 'allow' | 'deny';
  /** `consul.defaultIntentionPolicy`, or the agent file that decides (`agent configuration acl.hcl:1`). */
  from: string;
}

const DEFAULT_POLICY: WorkspaceFact<DefaultIntentionPolicy> = {
  compute: (w) => {
    const agent = agentDefaultPolicy(workspaceFiles(w).flatMap((file) => agentConfigsIn(file)));
    const resolved = resolveDefaultPolicy(w.config, {}, agent);
    const from = resolved.fromAgents && agent ? `${agent.decidedBy.kind} ${location(agent.decidedBy.file, agent.decidedBy.span)}` : 'consul.defaultIntentionPolicy';
    return { policy: resolved.defaultPolicy, from };
  },
  key: (value) => `${value.policy}\u0000${value.from}`,
};

/** The default intention policy the simulator takes (`.meshpolicy.yaml`, else the workspace's agent configuration, else allow): MPA3012-MPA3014. */
export function defaultIntentionPolicy(workspace: WorkspaceView): DefaultIntentionPolicy {
  return readFact(workspace, DEFAULT_POLICY);
}

/** Every file the workspace read, policies or not. */
export function workspaceFiles(workspace: WorkspaceView): readonly SourceFile[] {
  return workspace.sourceFiles;
}

function build(workspace: WorkspaceView): WorkspaceIndex {
  const index: WorkspaceIndex = { intentions: [], intentionsByFolderAndName: new Map(), serviceProtocols: [], proxyProtocols: [], jwtProviders: new Set(), jwtProviderCount: 0 };
  for (const { file, resource } of workspace.resources) {
    if (!isIntentions(resource)) continue;
    const record = { file, resource, model: modelOf(resource) };
    index.intentions.push(record);
    if (record.model.name === undefined) continue;
    const key = folderAndName(file, record.model.name);
    const list = index.intentionsByFolderAndName.get(key);
    if (list) list.push(record);
    else index.intentionsByFolderAndName.set(key, [record]);
  }
  for (const file of workspaceFiles(workspace)) {
    const read = fileEntries(file);
    index.jwtProviderCount += read.jwtProviderNames.length;
    for (const name of read.jwtProviderNames) if (name) index.jwtProviders.add(name);
    for (const d of read.serviceProtocols) index.serviceProtocols.push(d);
    for (const d of read.proxyProtocols) index.proxyProtocols.push(d);
  }
  return index;
}

type FileEntries = Pick<WorkspaceIndex, 'serviceProtocols' | 'proxyProtocols'> & { jwtProviderNames: (string | undefined)[] };

/** What one file declares (its jwt-providers and protocols), read once per file: after an edit
 * only the edited file is a new object, and a workspace has many files without any of them. */
const entriesOfFile = new WeakMap<SourceFile, FileEntries>();

function fileEntries(file: SourceFile): FileEntries {
  let read = entriesOfFile.get(file);
  if (read === undefined) {
    read = { serviceProtocols: [], proxyProtocols: [], jwtProviderNames: jwtProvidersIn(file).map((provider) => provider.name) };
    for (const node of topLevelObjects(file)) scan(file, node, read);
    entriesOfFile.set(file, read);
  }
  return read;
}

function scan(file: SourceFile, node: ObjectNode, index: Pick<WorkspaceIndex, 'serviceProtocols' | 'proxyProtocols'>): void {
  const apiVersion = getScalarString(node, 'apiVersion');
  if (apiVersion !== undefined) {
    if (!apiVersion.startsWith('consul.hashicorp.com/')) return;
    const kind = getScalarString(node, 'kind');
    const metadata = getEntry(node, 'metadata')?.value;
    const name = getScalarString(metadata, 'name');
    const spec = getEntry(node, 'spec')?.value;
    if (kind === 'ServiceDefaults') {
      const protocol = getEntry(spec, 'protocol')?.value;
      if (protocol?.type === 'scalar' && typeof protocol.value === 'string' && protocol.value !== '') {
        index.serviceProtocols.push({ protocol: protocol.value.toLowerCase(), ...(name ? { name } : {}), kind, file, span: protocol.span });
      }
    } else if (kind === 'ProxyDefaults' && name === 'global') {
      const protocol = getEntry(getEntry(spec, 'config')?.value, 'protocol')?.value;
      if (protocol?.type === 'scalar' && typeof protocol.value === 'string' && protocol.value !== '') {
        index.proxyProtocols.push({ protocol: protocol.value.toLowerCase(), name: 'global', kind, file, span: protocol.span });
      }
    }
    return;
  }
  // A config entry: Consul matches its keys in any letter case (and snake_case where aliased).
  const kind = scalarCI(node, 'Kind');
  if (kind === undefined) return;
  const name = scalarCI(node, 'Name');
  if (kind === 'service-defaults') {
    const protocol = entryCI(node, 'Protocol')?.value;
    if (protocol?.type === 'scalar' && typeof protocol.value === 'string' && protocol.value !== '') {
      const namespace = scalarCI(node, 'Namespace');
      const partition = scalarCI(node, 'Partition');
      index.serviceProtocols.push({
        protocol: protocol.value.toLowerCase(), ...(name ? { name } : {}), ...(namespace ? { namespace } : {}), ...(partition ? { partition } : {}),
        kind, file, span: protocol.span,
      });
    }
  } else if (kind === 'proxy-defaults' && name === 'global') {
    let config = entryCI(node, 'Config')?.value;
    if (config?.type === 'array' && config.items.length === 1) config = config.items[0];
    const protocol = config?.type === 'object' ? entryCI(config, 'protocol')?.value : undefined;
    if (protocol?.type === 'scalar' && typeof protocol.value === 'string' && protocol.value !== '') {
      index.proxyProtocols.push({ protocol: protocol.value.toLowerCase(), name: 'global', kind, file, span: protocol.span });
    }
  }
}

function scalarCI(node: SourceNode | undefined, name: string): string | undefined {
  const value = entryCI(node, name)?.value;
  return value?.type === 'scalar' && typeof value.value === 'string' ? value.value : undefined;
}

/** `file.hcl:12` for messages that point at another place, or `line 12` inside `from`. */
export function location(file: SourceFile, span: Span, from?: SourceFile): string {
  const line = file.lines.position(span.start).line + 1;
  return from && from.path === file.path ? `line ${line}` : `${basename(file.path)}:${line}`;
}

/** `service-defaults "api" (api.hcl:3)`, or `(line 3)` when it is in `from`. */
export function describeDeclaration(d: ProtocolDeclaration, from: SourceFile): string {
  return `${d.kind}${d.name ? ` "${d.name}"` : ''} (${location(d.file, d.span, from)})`;
}

export function directoryOf(file: SourceFile): string {
  return dirname(file.path);
}

function folderAndName(file: SourceFile, name: string): string {
  return `${directoryOf(file)}\0${name}`;
}

/** Consul's HTTP-like protocols, the ones L7 intentions need. */
export function isHttpLike(protocol: string): boolean {
  return protocol === 'http' || protocol === 'http2' || protocol === 'grpc';
}

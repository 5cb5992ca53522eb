import { parseIpInto } from '../../net/ip';
import { getEntry, toValue } from '../../source/tree';
import type { SourceDocument } from '../../source/sourceFile';
import { documentOrigin } from '../../source/yamlReader';
import type { Check, WorkspaceFact, WorkspaceView } from '../check';
import { readFact } from '../facts';
import { AP, closest, operationsOf, rulesOf, specOf, strings } from './util';
import { memo } from './util';

/** Every host name the workspace defines: Services (all their DNS forms), ServiceEntry hosts, and
 * the hosts of Gateways (Istio and Gateway API), VirtualServices and routes (for policies on gateways). */
const REGISTRY_HOSTS: WorkspaceFact<{ exact: Set<string>; wildcards: string[] }> = {
  compute: (workspace) => registryHosts(workspace.sourceFiles),
  key: ({ exact, wildcards }) => JSON.stringify([[...exact], wildcards]),
};

const registryHosts = memo((files: WorkspaceView['sourceFiles']): { exact: Set<string>; wildcards: string[] } => {
  const exact = new Set<string>();
  const wildcards: string[] = [];
  for (const file of files) {
    for (const document of file.documents) {
      const hosts = documentHosts(document);
      for (const host of hosts.exact) exact.add(host);
      wildcards.push(...hosts.wildcards);
    }
  }
  return { exact, wildcards };
});

/** The hosts one document defines, kept per parsed text (a document moved by an edit above it defines the same). */
const hostsByDocument = new WeakMap<SourceDocument, { exact: string[]; wildcards: string[] }>();

function documentHosts(document: SourceDocument): { exact: string[]; wildcards: string[] } {
  const key = documentOrigin(document)?.parsed ?? document;
  let hosts = hostsByDocument.get(key);
  if (hosts) return hosts;
  hosts = { exact: [], wildcards: [] };
  hostsByDocument.set(key, hosts);
  const { exact, wildcards } = hosts;
  const root = document.root;
  if (root?.type !== 'object') return hosts;
  const items = getEntry(root, 'items')?.value;
  const objects = items?.type === 'array' ? items.items : [root];
  for (const object of objects) {
    const value = toValue(object) as { apiVersion?: unknown; kind?: unknown; metadata?: { name?: unknown; namespace?: unknown }; spec?: { hosts?: unknown; servers?: unknown; listeners?: unknown; hostnames?: unknown } } | undefined;
    if (!value || typeof value.kind !== 'string') continue;
    const add = (host: unknown) => {
      if (typeof host !== 'string' || !host) return;
      const bare = host.includes('/') ? host.slice(host.indexOf('/') + 1) : host;
      if (bare.startsWith('*')) wildcards.push(bare.slice(1).toLowerCase());
      else exact.push(bare.toLowerCase());
    };
    if (value.kind === 'Service' && value.apiVersion === 'v1' && typeof value.metadata?.name === 'string') {
      const name = value.metadata.name;
      const ns = typeof value.metadata.namespace === 'string' ? value.metadata.namespace : 'default';
      exact.push(name, `${name}.${ns}`, `${name}.${ns}.svc`, `${name}.${ns}.svc.cluster.local`);
    } else if (['ServiceEntry', 'VirtualService'].includes(value.kind) && Array.isArray(value.spec?.hosts)) {
      value.spec.hosts.forEach(add);
    } else if (value.kind === 'Gateway' && Array.isArray(value.spec?.servers)) {
      for (const server of value.spec.servers as { hosts?: unknown }[]) if (Array.isArray(server?.hosts)) server.hosts.forEach(add);
    } else if (value.kind === 'Gateway' && Array.isArray(value.spec?.listeners)) {
      // Gateway API: each listener may name a hostname.
      for (const listener of value.spec.listeners as { hostname?: unknown }[]) add(listener?.hostname);
    } else if ((value.kind === 'HTTPRoute' || value.kind === 'GRPCRoute') && Array.isArray(value.spec?.hostnames)) {
      value.spec.hostnames.forEach(add);
    }
  }
  return hosts;
}

const ADDRESS = new Uint32Array(4);

function stripPort(host: string): string {
  const match = /^(.*):(\d+|\*)$/.exec(host);
  return match && !host.startsWith('[') ? match[1]! : host;
}

/**
 * Kiali's "host not found" (KIA0101) for AuthorizationPolicy `hosts`: a value that matches no
 * Service, ServiceEntry, Gateway or VirtualService host in the workspace. Quiet when the
 * workspace declares no Services at all.
 */
export const unknownHostCheck: Check = {
  code: 'MPA1031',
  mesh: 'istio',
  title: 'Host not found in the registry',
  defaultSeverity: 'warning',
  upstream: 'Kiali KIA0101 "Host not found in the service registry"',
  kinds: [AP],
  needsInventory: true,
  run(ctx) {
    if (ctx.workspace.inventory.services.length === 0) return;
    const registry = readFact(ctx.workspace, REGISTRY_HOSTS);
    for (const rule of rulesOf(specOf(ctx))) {
      for (const operation of operationsOf(rule)) {
        for (const { value, index } of strings(operation.operation['hosts'])) {
          const host = stripPort(value).toLowerCase();
          if (!host || host === '*') continue;
          // A request sent to an address carries it as its Host (`10.0.1.7:8000`, `[::1]:8080`),
          // which no registry lists and the rule still matches.
          if (parseIpInto(value, ADDRESS, true) !== 0) continue;
          if (host.startsWith('*')) {
            const suffix = host.slice(1);
            if ([...registry.exact].some((h) => h.endsWith(suffix)) || registry.wildcards.some((w) => w.endsWith(suffix) || suffix.endsWith(w))) continue;
          } else if (host.endsWith('*')) {
            const prefix = host.slice(0, -1);
            if ([...registry.exact].some((h) => h.startsWith(prefix))) continue;
          } else if (registry.exact.has(host) || registry.wildcards.some((w) => host.endsWith(w))) {
            continue;
          }
          const near = closest(host, registry.exact, 3);
          ctx.report({ path: [...operation.path, 'hosts', index] }, `host "${value}" matches no Service, ServiceEntry, Gateway or VirtualService host in the workspace (Kiali KIA0101), so this rule never matches it${near ? `; did you mean "${near}"?` : ''}`);
        }
      }
    }
  },
};

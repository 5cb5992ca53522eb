import { matchesLabels, type DestinationRuleInfo, type DestinationRulePolicy, type DestinationRuleTls, type Inventory, type ServiceInfo } from '../../inventory/inventory';
import { InventoryIndex } from '../../inventory/inventoryIndex';
import type { Check } from '../check';
import { readFact } from '../facts';
import { PA, namespaceOf } from './util';
import { PEER_MODES, resolvePeerMode, type PeerMode, type PeerModes } from './peerModes';
import { inMesh } from './workspaceIndex';

/** Client TLS modes a STRICT server always refuses: plain text, and TLS without a client
 * certificate. MUTUAL is left alone: with certificates of the mesh's CA it passes (Kiali counts
 * it as mTLS too). */
const REFUSED: Record<string, string> = {
  DISABLE: 'client sidecars send plain text',
  SIMPLE: 'client sidecars originate TLS without a client certificate',
};
const SHOWN = 3;

/** The Kubernetes FQDN of a Service (the default cluster domain, as DestinationRule hosts name it). */
function fqdn(service: ServiceInfo): string {
  return `${service.name}.${service.namespace}.svc.cluster.local`;
}

/** How narrowly `host` (in a rule of namespace `ns`) names the Service: undefined when not at all;
 * an exact name beats any wildcard, a longer wildcard suffix a shorter one. */
function specificity(host: string, ns: string, service: ServiceInfo): number | undefined {
  if (host === '*') return 0;
  if (host.startsWith('*.')) return fqdn(service).endsWith(host.slice(1)) ? host.length : undefined;
  // a short name is read in the rule's namespace; other dotted names are taken as written
  if (!host.includes('.')) return service.name === host && service.namespace === ns ? Infinity : undefined;
  return fqdn(service) === host ? Infinity : undefined;
}

/** The Services a DestinationRule is the most specific rule of its namespace for. */
function servicesOf(dr: DestinationRuleInfo, inventory: Inventory): ServiceInfo[] {
  const rivals = (inventory.destinationRules ?? []).filter((o) => o !== dr && o.namespace === dr.namespace);
  return inventory.services.filter((s) => {
    const own = specificity(dr.host, dr.namespace, s);
    return own !== undefined && !rivals.some((o) => (specificity(o.host, o.namespace, s) ?? -1) > own);
  });
}

type Subset = DestinationRuleInfo['subsets'][number];

/** The `tls` a client sidecar uses toward a Service port (undefined: none, auto mTLS), and where
 * it is written. As istiod merges them: a `portLevelSettings` entry for the port replaces its
 * traffic policy's settings, `tls` included, even without one; a subset's traffic policy
 * overrides the rule's, and what it does not set is the rule's for that port. */
function effectiveTls(dr: DestinationRuleInfo, subset: Subset | undefined, port: number | undefined): { tls: DestinationRuleTls; where: string } | undefined {
  /** null: set to nothing here; undefined: not set here. */
  const at = (policy: DestinationRulePolicy | undefined, label: string): { tls: DestinationRuleTls; where: string } | null | undefined => {
    const entry = port !== undefined ? policy?.ports.find((p) => p.port === port) : undefined;
    if (entry) return entry.tls ? { tls: entry.tls, where: `${label}port ${port}` } : null;
    return policy?.tls ? { tls: policy.tls, where: label ? label.slice(0, -2) : 'traffic policy' } : undefined;
  };
  if (subset) {
    const own = at(subset.trafficPolicy, `subset ${subset.name}, `);
    if (own !== undefined) return own ?? undefined;
  }
  return at(dr.trafficPolicy, '') ?? undefined;
}

interface Conflict {
  path: (string | number)[];
  message: string;
}

const byInventory = new WeakMap<Inventory, WeakMap<PeerModes, Map<string, Map<string, Conflict[]>>>>();

/** Every conflict of the workspace, by the PeerAuthentication (`namespace/name`) that makes the
 * workloads STRICT: worked out once per inventory, PeerAuthentications and root namespace, not
 * once per PeerAuthentication. */
function conflicts(inventory: Inventory, peerModes: PeerModes, root: string): Map<string, Conflict[]> {
  let byModes = byInventory.get(inventory);
  if (!byModes) byInventory.set(inventory, (byModes = new WeakMap()));
  let byRoot = byModes.get(peerModes);
  if (!byRoot) byModes.set(peerModes, (byRoot = new Map()));
  let found = byRoot.get(root);
  if (!found) byRoot.set(root, (found = findConflicts(inventory, peerModes, root)));
  return found;
}

function findConflicts(inventory: Inventory, { byNamespace }: PeerModes, root: string): Map<string, Conflict[]> {
  const out = new Map<string, Conflict[]>();
  const refuses = (policy: DestinationRulePolicy | undefined) => Boolean(policy && [policy.tls, ...policy.ports.map((p) => p.tls)].some((t) => t && REFUSED[t.mode]));
  const rules = (inventory.destinationRules ?? []).filter((dr) => refuses(dr.trafficPolicy) || dr.subsets.some((s) => refuses(s.trafficPolicy)));
  if (rules.length === 0) return out;
  const index = InventoryIndex.of(inventory);
  for (const dr of rules) {
    // per DestinationRule tls and place in a PeerAuthentication (its mode, or one port's), the workloads it makes STRICT
    const hits = new Map<string, { tls: DestinationRuleTls; where: string; by: PeerMode; path: (string | number)[]; port?: string; workloads: Set<string> }>();
    for (const service of servicesOf(dr, inventory)) {
      for (const w of index.workloadsFor(service)) {
        if (!inMesh(w, inventory)) continue;
        const resolved = resolvePeerMode(byNamespace, root, w.namespace, (labels) => (matchesLabels(labels, w.labels) ? 'yes' : 'no'));
        if (!resolved) continue;
        const portLevel = Object.keys(resolved.portLevel).length > 0;
        for (const subset of [undefined, ...dr.subsets.filter((s) => matchesLabels(s.labels, w.labels))]) {
          const ports: (number | undefined)[] = service.ports.length ? service.ports.map((p) => p.port) : [undefined];
          for (const port of ports) {
            const effective = effectiveTls(dr, subset, port);
            if (!effective || !REFUSED[effective.tls.mode]) continue;
            let targets: (string | undefined)[] = port !== undefined ? index.targetPort(service, port).map((t) => String(t.containerPort)) : [];
            if (targets.length === 0) {
              // no container port known (none declared, or a named targetPort the pod templates do not list): only a mode without port-level ones answers
              if (portLevel) continue;
              targets = [undefined];
            }
            for (const target of targets) {
              const portMode = target !== undefined ? resolved.portLevel[target] : undefined;
              const byPort = portMode !== undefined && portMode !== 'UNSET';
              const [mode, by] = byPort ? [portMode, resolved.portBy!] : [resolved.mode, resolved.by];
              if (mode !== 'STRICT') continue;
              const key = `${effective.tls.line}\u0000${effective.where}\u0000${by.namespace}/${by.name}\u0000${byPort ? target : ''}`;
              let hit = hits.get(key);
              if (!hit) hits.set(key, (hit = { ...effective, by, path: byPort ? ['spec', 'portLevelMtls', target!, 'mode'] : ['spec', 'mtls', 'mode'], ...(byPort ? { port: target! } : {}), workloads: new Set() }));
              hit.workloads.add(`${w.namespace}/${w.name}`);
            }
          }
        }
      }
    }
    for (const hit of hits.values()) {
      const names = [...hit.workloads];
      const shown = names.length > SHOWN ? `${names.slice(0, SHOWN).join(', ')} and ${names.length - SHOWN} more` : names.join(', ');
      const pa = `${hit.by.namespace}/${hit.by.name}`;
      let list = out.get(pa);
      if (!list) out.set(pa, (list = []));
      list.push({
        path: hit.path,
        message: `DestinationRule ${dr.namespace}/${dr.name} (${dr.file.split(/[\\/]/).pop()}:${hit.tls.line}) sets tls.mode ${hit.tls.mode} for host ${dr.host} (${hit.where}), so ${REFUSED[hit.tls.mode]}, but PeerAuthentication ${pa} makes mTLS STRICT${hit.port !== undefined ? ` on port ${hit.port}` : ''} for ${names.length === 1 ? 'workload' : 'workloads'} ${shown}: their sidecars reject those connections (clients get 503 "upstream connect error"); remove the DestinationRule's tls block (auto mTLS) or set it to ISTIO_MUTUAL`,
      });
    }
  }
  return out;
}

/** Kiali KIA0207/KIA0208 and Istio's "503 errors after setting destination rule": a DestinationRule
 * `tls` that is not Istio mTLS toward workloads that a PeerAuthentication makes STRICT. */
export const destinationRuleTlsConflictCheck: Check = {
  code: 'MPA1036',
  mesh: 'istio',
  title: 'DestinationRule turns off mutual TLS to workloads that require it',
  defaultSeverity: 'warning',
  upstream: 'Kiali KIA0207 "PeerAuthentication with TLS strict mode found, it should be permissive"; istioctl IST0113 MTLSPolicyConflict (older releases); Istio docs "503 errors after setting destination rule"',
  kinds: [PA],
  needsInventory: true,
  run(ctx) {
    if (!ctx.workspace.inventory.destinationRules?.length) return;
    const found = conflicts(ctx.workspace.inventory, readFact(ctx.workspace, PEER_MODES), ctx.workspace.config.istio.rootNamespace);
    for (const { path, message } of found.get(`${namespaceOf(ctx.resource)}/${ctx.resource.name ?? '(unnamed)'}`) ?? []) ctx.report({ path }, message);
  },
};

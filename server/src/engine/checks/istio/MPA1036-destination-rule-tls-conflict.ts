import { matchesLabels, type DestinationRuleInfo, type DestinationRuleTls, type Inventory, type ServiceInfo } from '../../inventory/inventory';
import { InventoryIndex } from '../../inventory/inventoryIndex';
import type { Check } from '../check';
import { readFact } from '../facts';
import { PA, namespaceOf } from './util';
import { PEER_MODES, resolvePeerMode, type PeerMode } from './peerModes';
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

/** The Service ports a `tls` setting governs: its own port, or every port no `portLevelSettings`
 * entry of the same traffic policy gives a `tls` of its own. */
function portsOf(tls: DestinationRuleTls, dr: DestinationRuleInfo, service: ServiceInfo): number[] {
  if (tls.port !== undefined) return service.ports.some((p) => p.port === tls.port) ? [tls.port] : [];
  const overridden = new Set(dr.tls.filter((t) => t.port !== undefined && t.subset?.name === tls.subset?.name).map((t) => t.port));
  return service.ports.map((p) => p.port).filter((p) => !overridden.has(p));
}

function same(a: PeerMode, b: { namespace: string; name: string }): boolean {
  return a.namespace === b.namespace && a.name === b.name;
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
    const { inventory } = ctx.workspace;
    const rules = inventory.destinationRules ?? [];
    if (!rules.some((dr) => dr.tls.some((t) => REFUSED[t.mode]))) return;
    const self = { namespace: namespaceOf(ctx.resource), name: ctx.resource.name ?? '(unnamed)' };
    const { byNamespace } = readFact(ctx.workspace, PEER_MODES);
    const root = ctx.workspace.config.istio.rootNamespace;
    const index = InventoryIndex.of(inventory);
    for (const dr of rules) {
      for (const tls of dr.tls) {
        const effect = REFUSED[tls.mode];
        if (!effect) continue;
        // per place in this PeerAuthentication (its mode, or one port's), the workloads it makes STRICT
        const hits = new Map<string, { path: (string | number)[]; port?: string; workloads: Set<string> }>();
        for (const service of servicesOf(dr, inventory)) {
          const ports = portsOf(tls, dr, service);
          if (tls.port !== undefined && ports.length === 0) continue;
          for (const w of index.workloadsFor(service)) {
            if (tls.subset && !matchesLabels(tls.subset.labels, w.labels)) continue;
            if (!inMesh(w, inventory)) continue;
            const resolved = resolvePeerMode(byNamespace, root, w.namespace, (labels) => (matchesLabels(labels, w.labels) ? 'yes' : 'no'));
            if (!resolved) continue;
            let targets: (string | undefined)[] = ports.flatMap((p) => index.targetPort(service, p).map((t) => String(t.containerPort)));
            if (targets.length === 0) {
              // no port known (none declared, or a named targetPort the pod templates do not list): only a mode without port-level ones answers
              if (Object.keys(resolved.portLevel).length) continue;
              targets = [undefined];
            }
            for (const target of targets) {
              const portMode = target !== undefined ? resolved.portLevel[target] : undefined;
              const byPort = portMode !== undefined && portMode !== 'UNSET';
              const [mode, by] = byPort ? [portMode, resolved.portBy!] : [resolved.mode, resolved.by];
              if (mode !== 'STRICT' || !same(by, self)) continue;
              const key = byPort ? target! : '';
              let hit = hits.get(key);
              if (!hit) hits.set(key, (hit = { path: byPort ? ['spec', 'portLevelMtls', target!, 'mode'] : ['spec', 'mtls', 'mode'], ...(byPort ? { port: target! } : {}), workloads: new Set() }));
              hit.workloads.add(`${w.namespace}/${w.name}`);
            }
          }
        }
        for (const hit of hits.values()) {
          const names = [...hit.workloads];
          const shown = names.length > SHOWN ? `${names.slice(0, SHOWN).join(', ')} and ${names.length - SHOWN} more` : names.join(', ');
          const where = `${tls.subset ? `subset ${tls.subset.name}, ` : ''}${tls.port !== undefined ? `port ${tls.port}` : 'traffic policy'}`;
          ctx.report({ path: hit.path }, `DestinationRule ${dr.namespace}/${dr.name} (${dr.file.split(/[\\/]/).pop()}:${tls.line}) sets tls.mode ${tls.mode} for host ${dr.host} (${where}), so ${effect}, but PeerAuthentication ${self.namespace}/${self.name} makes mTLS STRICT${hit.port !== undefined ? ` on port ${hit.port}` : ''} for ${names.length === 1 ? 'workload' : 'workloads'} ${shown}: their sidecars reject those connections (clients get 503 "upstream connect error"); remove the DestinationRule's tls block (auto mTLS) or set it to ISTIO_MUTUAL`);
        }
      }
    }
  },
};

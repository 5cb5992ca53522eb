import type { Check } from '../check';
import { closest, isRec, quote, replaceFix, someText } from './lib/common';
import { linkerdModel, selectedWorkloads, spec, workloadsIn } from './lib/model';
import { PROXY_PORTS, describeWorkload, workloadPorts } from './lib/probes';

/** A Server whose podSelector matches no workload of its namespace, or whose named port no
 * selected container declares (as a TCP port): it selects no pod port, so its policy applies
 * nowhere and the ports keep the default policy. Needs the inventory; stays quiet for a
 * namespace the inventory has no workload in. */
export const serverSelectsNothing: Check = {
  code: 'MPA2011',
  mesh: 'linkerd',
  title: 'Server selects no pod or no port',
  defaultSeverity: 'warning',
  upstream: 'none (linkerd authz and linkerd diagnostics policy show the Server unused)',
  kinds: ['Server'],
  needsInventory: true,
  run(context) {
    const self = linkerdModel(context.workspace).itemOf(context.resource);
    if (!self) return;
    const s = spec(self);
    const selector = s['podSelector'];
    if (!isRec(selector)) return;
    const inNamespace = workloadsIn(context.workspace.inventory, self.namespace);
    if (inNamespace.length === 0) return;
    const selected = selectedWorkloads(context.workspace.inventory, self);
    if (selected.length === 0) {
      const declared = [...new Set(inNamespace.map((w) => `${describeWorkload(w)} (${Object.entries(w.labels).map(([k, v]) => `${k}=${v}`).join(', ') || 'no labels'})`))];
      context.report({ path: ['spec', 'podSelector'], part: 'key' }, `podSelector matches no workload in namespace ${self.namespace} (it has ${someText(declared)}): this Server applies to no pod`);
      return;
    }
    const port = s['port'];
    if (typeof port !== 'string' || PROXY_PORTS[port] !== undefined) return;
    const ports = selected.map((w) => workloadPorts(context.workspace, w));
    if (ports.some((list) => list.some((p) => p.name === port && p.protocol.toUpperCase() === 'TCP'))) return;
    const names = [...new Set(ports.flatMap((list) => list.filter((p) => p.name && p.protocol.toUpperCase() === 'TCP').map((p) => p.name!)))];
    const near = closest(port, names);
    const declared = names.length ? `they declare ${someText(names.map(quote), 8)}` : 'they declare no named TCP port';
    context.report({ path: ['spec', 'port'] }, `no container or init container of the selected pods (${someText(selected.map(describeWorkload))}) declares a TCP port named ${quote(port)} (${declared}): this Server selects no port`,
      near ? { fixes: replaceFix(context, ['spec', 'port'], near, `Change to ${quote(near)}`) } : undefined);
  },
};

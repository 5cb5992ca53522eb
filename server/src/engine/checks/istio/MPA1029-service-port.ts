import { replaceScalar } from '../../edits';
import type { Fix } from '../../findings';
import { matchesLabels, type WorkloadInfo } from '../../inventory/inventory';
import type { NodePath } from '../../source/tree';
import type { Check, CheckContext } from '../check';
import { AP, conditionsOf, hasTargetRefs, matchLabelsOf, namespaceOf, operationsOf, rulesOf, specOf, strings, whenKey } from './util';
import { inventoryIndex } from './workspaceIndex';

/** The container ports a Service port of these workloads forwards to, keyed by Service name. */
function targetPorts(ctx: CheckContext, workloads: WorkloadInfo[], port: number): Map<string, Set<number>> {
  const out = new Map<string, Set<number>>();
  const ns = workloads[0]!.namespace;
  for (const service of ctx.workspace.inventory.services) {
    if (service.namespace !== ns || !service.selector || Object.keys(service.selector).length === 0) continue;
    const backends = workloads.filter((w) => matchesLabels(service.selector!, w.labels));
    if (backends.length === 0) continue;
    for (const sp of service.ports) {
      if (sp.port !== port || (sp.protocol && sp.protocol !== 'TCP')) continue;
      for (const w of backends) {
        const target = sp.targetPort === undefined ? sp.port
          : typeof sp.targetPort === 'number' ? sp.targetPort
            : /^\d+$/.test(sp.targetPort) ? Number(sp.targetPort)
              : w.ports.find((p) => p.name === sp.targetPort)?.containerPort;
        if (target === undefined || target === port) continue;
        let set = out.get(service.name);
        if (!set) out.set(service.name, (set = new Set()));
        set.add(target);
      }
    }
  }
  return out;
}

/**
 * §1.4.2: `ports` and `destination.port` compare the workload's (container) port, not the
 * Service port (istio/api#3075). Reported when every selected workload declares its container
 * ports, none uses the port, and a Service in front of them exposes it with another target port.
 */
export const servicePortCheck: Check = {
  code: 'MPA1029',
  mesh: 'istio',
  title: 'Service port instead of container port',
  defaultSeverity: 'warning',
  upstream: 'none (istiod cannot know); the Istio API docs say ports are the workload ports',
  kinds: [AP],
  needsInventory: true,
  run(ctx) {
    const spec = specOf(ctx);
    if (!spec || hasTargetRefs(spec)) return;
    const ns = namespaceOf(ctx.resource);
    if (ns === ctx.workspace.config.istio.rootNamespace) return;
    const selector = matchLabelsOf(spec);
    const workloads = (inventoryIndex(ctx.workspace.inventory).workloadsByNamespace.get(ns) ?? []).filter((w) => !selector || matchesLabels(selector, w.labels));
    if (workloads.length === 0 || workloads.some((w) => w.ports.length === 0)) return;
    const containerPorts = new Set(workloads.flatMap((w) => w.ports.map((p) => p.containerPort)));
    const check = (path: NodePath, value: string) => {
      if (!/^\d+$/.test(value)) return;
      const port = Number(value);
      if (containerPorts.has(port)) return;
      const services = targetPorts(ctx, workloads, port);
      if (services.size === 0) return;
      const targets = new Set([...services.values()].flatMap((s) => [...s]));
      const node = ctx.locate(path).node;
      const only = targets.size === 1 ? String([...targets][0]) : undefined;
      const fixes: Fix[] = only && node ? [{ title: `Change to ${only}`, edits: [replaceScalar(ctx.file, node, only)], preferred: true }] : [];
      ctx.report({ path }, `port ${port} is the port of Service ${[...services.keys()].join(', ')}, not of the selected workloads: authorization compares the container port (targetPort), here ${[...targets].join(' or ')}, so this value never matches`, { fixes });
    };
    for (const rule of rulesOf(spec)) {
      for (const operation of operationsOf(rule)) {
        for (const field of ['ports', 'notPorts']) {
          for (const { value, index } of strings(operation.operation[field])) check([...operation.path, field, index], value);
        }
      }
      for (const condition of conditionsOf(rule)) {
        if (whenKey(condition.condition) !== 'destination.port') continue;
        for (const field of ['values', 'notValues']) {
          for (const { value, index } of strings(condition.condition[field])) check([...condition.path, field, index], value);
        }
      }
    }
  },
};

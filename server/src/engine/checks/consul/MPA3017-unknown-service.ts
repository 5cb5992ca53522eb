import type { Check, CheckContext } from '../check';
import { closest, replaceFix } from '../nearNames';
import type { NodePath } from '../../source/tree';
import { key, modelOf } from './model';
import { consulServiceNames } from './workspaceIndex';

/**
 * An intention names a service the workspace does not have (no connect-injected workload,
 * Kubernetes Service or service-defaults by that name, nor, for a source, intentions for it)
 * but one it has is a likely typo of (`closest`). Consul stores intentions for any name, so a
 * misspelt source admits or denies no caller, and a misspelt destination governs no service. A
 * name close to none is taken for a service kept elsewhere (a VM, another cluster, a gateway the
 * inventory does not hold) and not reported. Only when the inventory has a connect-injected
 * workload (so it holds the mesh's services); wildcards, peers, sameness groups and other
 * partitions are not checked. Names are compared without namespaces: consul-k8s maps Kubernetes
 * namespaces to Consul's in several ways.
 */
export const unknownService: Check = {
  code: 'MPA3017',
  mesh: 'consul',
  title: 'Service name that looks misspelt',
  defaultSeverity: 'warning',
  upstream: 'none: Consul keeps intentions for any name (Kiali\'s KIA0106 checks Istio principals the same way)',
  kinds: ['ServiceIntentions', 'service-intentions'],
  needsInventory: true,
  run(context) {
    const services = consulServiceNames(context.workspace);
    if (!services.injected) return;
    const model = modelOf(context.resource);
    const { name } = model;
    if (name !== undefined && name !== '*' && !services.names.has(name)) {
      report(context, model.namePath, name, services.names, 'so these intentions govern no service (Consul keeps intentions for any name)');
    }
    const callers = new Set([...services.names, ...services.destinations]);
    for (const source of model.sources) {
      if (source.name === undefined || source.name === '*' || source.peer !== undefined || source.samenessGroup !== undefined || source.partition !== undefined) continue;
      if (callers.has(source.name)) continue;
      report(context, [...source.path, key(model.form, 'Name')], source.name, callers, 'so this source matches no caller (Consul keeps intentions for any name)');
    }
  },
};

function report(context: CheckContext, path: NodePath, name: string, known: Iterable<string>, consequence: string): void {
  const near = closest(name, known);
  if (near === undefined) return;
  context.report({ path }, `service ${JSON.stringify(name)} is not in the workspace, but ${JSON.stringify(near)} is: no connect-injected workload, Kubernetes Service or service-defaults has the name written, ${consequence}`,
    { fixes: replaceFix(context, path, near, `Change to ${JSON.stringify(near)}`, false) });
}

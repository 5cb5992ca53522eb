import type { NodePath } from '../../source/tree';
import type { Check, CheckContext } from '../check';
import { key, modelOf } from './model';

/**
 * V10 and the CE namespace/partition rules: sameness groups, namespaces other than `default` and
 * admin partitions other than `default` exist only in Consul Enterprise. Consul CE rejects a
 * sameness group ("Sameness groups are a Consul Enterprise feature.") and any other namespace or
 * partition. For the CRD the consul-k8s webhook is stricter: any `namespace` (even `default`)
 * needs Consul namespaces enabled, any source `partition` needs admin partitions enabled. A
 * warning, since the linter cannot know which edition runs; turn it off for Enterprise.
 */
export const enterpriseFeature: Check = {
  code: 'MPA3004',
  mesh: 'consul',
  title: 'Needs Consul Enterprise',
  defaultSeverity: 'warning',
  upstream: 'Consul CE: "Sameness groups are a Consul Enterprise feature."; consul-k8s webhook: "Consul Enterprise namespaces must be enabled to set ..."',
  kinds: ['ServiceIntentions', 'service-intentions'],
  run(context) {
    const model = modelOf(context.resource);
    const crd = model.form === 'crd';
    const k = (name: string) => key(model.form, name);
    if (crd) {
      if (model.namespace) namespaceFinding(context, model.namespacePath, 'destination.namespace', model.namespace, true);
    } else {
      if (model.namespace && model.namespace !== 'default') namespaceFinding(context, model.namespacePath, 'Namespace', model.namespace, false);
      if (model.partition && model.partition !== 'default') partitionFinding(context, model.partitionPath, 'Partition', model.partition, false);
    }
    for (const source of model.sources) {
      if (source.namespace && (crd || source.namespace !== 'default')) namespaceFinding(context, [...source.path, k('Namespace')], crd ? 'source.namespace' : 'Namespace', source.namespace, crd);
      if (source.partition && (crd || source.partition !== 'default')) partitionFinding(context, [...source.path, k('Partition')], crd ? 'source.partition' : 'Partition', source.partition, crd);
      if (source.samenessGroup) {
        context.report({ path: [...source.path, k('SamenessGroup')], part: 'key' },
          `${k('SamenessGroup')} needs Consul Enterprise: Consul CE rejects the entry ("Sameness groups are a Consul Enterprise feature.")`);
      }
    }
  },
};

function namespaceFinding(context: CheckContext, path: NodePath, field: string, value: string, crd: boolean): void {
  context.report({ path, part: 'key' }, crd
    ? `${field} needs Consul Enterprise namespaces: the consul-k8s webhook rejects it unless namespaces are enabled ("Consul Enterprise namespaces must be enabled to set ${field}")`
    : `Namespace ${JSON.stringify(value)} needs Consul Enterprise: Consul CE only has the namespace "default"`);
}

function partitionFinding(context: CheckContext, path: NodePath, field: string, value: string, crd: boolean): void {
  context.report({ path, part: 'key' }, crd
    ? `${field} needs Consul Enterprise admin partitions: the consul-k8s webhook rejects it unless they are enabled ("Consul Enterprise Admin Partitions must be enabled to set ${field}")`
    : `Partition ${JSON.stringify(value)} needs Consul Enterprise admin partitions: Consul CE only has the partition "default"`);
}

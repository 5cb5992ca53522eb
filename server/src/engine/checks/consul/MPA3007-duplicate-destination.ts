import type { SourceFile } from '../../source/sourceFile';
import type { Check } from '../check';
import { modelOf } from './model';
import { intentionsNamed, location, type IntentionsRecord } from './workspaceIndex';

/**
 * Two ServiceIntentions resources for one destination: consul-k8s keeps one config entry per
 * destination, and its webhook refuses to create a second resource with the same
 * `spec.destination.name` ("an existing ServiceIntentions resource has
 * `spec.destination.name: api`"), in any Kubernetes namespace. With Consul namespaces and
 * mirroring the namespace counts too, so resources that name different `destination.namespace`
 * values are not compared.
 *
 * Scope: resources in the same file or the same folder (what `kubectl apply -f <folder>` sends
 * together). Resources in different folders are not compared, because repositories commonly keep
 * one copy per cluster or environment (kustomize overlays, `clusters/<name>/`).
 */
export const duplicateDestination: Check = {
  code: 'MPA3007',
  mesh: 'consul',
  title: 'Two ServiceIntentions for one destination',
  defaultSeverity: 'error',
  upstream: 'consul-k8s webhook: "an existing ServiceIntentions resource has `spec.destination.name: %s`"',
  kinds: ['ServiceIntentions'],
  run(context) {
    const model = modelOf(context.resource);
    if (!model.name) return;
    const mine = destinationKey(model.name, model.namespace);
    const others = intentionsNamed(context.workspace, context.file, model.name).filter((other) =>
      other.resource !== context.resource && other.model.form === 'crd' && other.model.name !== undefined &&
      destinationKey(other.model.name, other.model.namespace) === mine);
    if (!others.length) return;
    const names = others.map((o) => describe(o, context.file)).join(', ');
    context.report({ path: model.namePath },
      `${names} also ${others.length === 1 ? 'has' : 'have'} spec.destination.name ${JSON.stringify(model.name)}: consul-k8s keeps one intentions entry per destination, and its webhook rejects the second resource ("an existing ServiceIntentions resource has spec.destination.name: ${model.name}"); merge the sources into one resource`);
  },
};

function destinationKey(name: string, namespace: string | undefined): string {
  return `${namespace ?? ''}/${name}`;
}

function describe(record: IntentionsRecord, from: SourceFile): string {
  const name = record.resource.name;
  const node = record.resource.node;
  return `ServiceIntentions${name ? ` "${name}"` : ''} (${location(record.file, node.span, from)})`;
}

import type { Resource } from '../../resource';
import type { SourceFile } from '../../source/sourceFile';
import { getEntry, getScalarString } from '../../source/tree';
import type { Check } from '../check';
import { modelOf, type IntentionsModel } from './model';
import { intentionsNamed, location, type IntentionsRecord } from './workspaceIndex';

/**
 * Intentions for one destination written as a config entry next to another config entry or a
 * ServiceIntentions resource. Consul holds one service-intentions entry per destination:
 * `consul config write` replaces it whole (the last write wins), and consul-k8s refuses to sync a
 * resource over an entry it did not create ("config entry already exists in Consul") unless the
 * resource carries the `consul.hashicorp.com/migrate-entry: "true"` annotation, and overwrites
 * one it did create. Two CRDs are MPA3007.
 *
 * Scope: the same file or folder, as MPA3007. A repository that keeps the CRD form for one
 * installation and config entries for another (as examples/ does) keeps them in separate folders.
 */
export const definedTwice: Check = {
  code: 'MPA3008',
  mesh: 'consul',
  title: 'Intentions for one destination defined twice',
  defaultSeverity: 'warning',
  upstream: 'consul config write replaces the whole entry; consul-k8s: "config entry already exists in Consul"',
  kinds: ['ServiceIntentions', 'service-intentions'],
  run(context) {
    const model = modelOf(context.resource);
    if (!model.name) return;
    const mineIsCrd = model.form === 'crd';
    const migrating = migrates(context.resource);
    const others = intentionsNamed(context.workspace, context.file, model.name).filter((other) =>
      other.resource !== context.resource && sameDestination(model, other.model) &&
      // Two CRDs are MPA3007's; a CRD that migrates the entry is meant to take it over.
      !(mineIsCrd && other.model.form === 'crd') && !migrating && !migrates(other.resource));
    if (!others.length) return;
    const entries = others.filter((o) => o.model.form === 'entry');
    const crds = others.filter((o) => o.model.form === 'crd');
    const parts = [...entries, ...crds].map((o) => o.model.form === 'crd'
      ? `the ServiceIntentions${o.resource.name ? ` ${JSON.stringify(o.resource.name)}` : ''} (${where(o, context.file)})`
      : `the config entry (${where(o, context.file)})`);
    const why = !mineIsCrd && !crds.length
      ? 'consul config write replaces the whole entry, so the file written last wins'
      : 'Consul holds one entry per destination, so consul-k8s and consul config write overwrite each other (consul-k8s refuses to sync over an entry it did not create)';
    context.report({ path: model.namePath }, `${parts.length > 1 ? `${parts.slice(0, -1).join(', ')} and ${parts[parts.length - 1]}` : parts[0]} also ${others.length === 1 ? 'defines' : 'define'} the intentions of ${JSON.stringify(model.name)}; ${why}`);
  },
};

/** Consul names a destination by partition, namespace and name; unset means `default`. */
function sameDestination(a: IntentionsModel, b: IntentionsModel): boolean {
  return a.name === b.name && (a.namespace || 'default') === (b.namespace || 'default') && (a.partition || 'default') === (b.partition || 'default');
}

function where(record: IntentionsRecord, from: SourceFile): string {
  return location(record.file, record.resource.node.span, from);
}

/** A ServiceIntentions with `consul.hashicorp.com/migrate-entry: "true"` takes over an existing entry. */
function migrates(resource: Resource): boolean {
  if (resource.kind !== 'ServiceIntentions') return false;
  const metadata = getEntry(resource.node, 'metadata')?.value;
  return getScalarString(getEntry(metadata, 'annotations')?.value, 'consul.hashicorp.com/migrate-entry') === 'true';
}

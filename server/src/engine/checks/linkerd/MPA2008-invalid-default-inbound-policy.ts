import { replaceScalar } from '../../edits';
import type { Fix } from '../../findings';
import type { Inventory } from '../../inventory/inventory';
import { getEntry, type ObjectNode } from '../../source/tree';
import type { Check, WorkspaceView } from '../check';
import { closest, listText, objectAtSpan, quote, whereText, workspaceFile } from './lib/common';
import { ALL_DEFAULTS, linkerdModel, type LinkerdItem } from './lib/model';

/** An invalid `config.linkerd.io/default-inbound-policy` annotation on a Namespace or a pod
 * template (from the inventory). Nothing rejects it; the policy controller logs "Invalid
 * default policy annotation value" and the pods get the cluster default instead
 * (linkerd/linkerd2:policy-controller/k8s/index/src/inbound/workload.rs `default_policy`).
 *
 * Checks run on mesh resources only, and a Namespace or a Deployment is not one. So the
 * finding is reported by one Linkerd resource: the first one in the same file as the
 * annotation (the finding then points at the annotation itself and can fix it), else the
 * first one in the annotated namespace (the finding then says where the annotation is). */

const ANNOTATION = 'config.linkerd.io/default-inbound-policy';
const VALUES = [...ALL_DEFAULTS];

interface BadAnnotation {
  owner: string;
  namespace: string;
  file: string;
  span: { start: number; end: number };
  value: string;
  isNamespace: boolean;
}

const badByInventory = new WeakMap<Inventory, BadAnnotation[]>();

function badAnnotations(inventory: Inventory): BadAnnotation[] {
  let bad = badByInventory.get(inventory);
  if (bad) return bad;
  bad = [];
  for (const ns of inventory.namespaces.values()) {
    const value = ns.annotations[ANNOTATION];
    if (value !== undefined && !ALL_DEFAULTS.has(value)) bad.push({ owner: `Namespace ${ns.name}`, namespace: ns.name, file: ns.file, span: ns.span, value, isNamespace: true });
  }
  for (const w of inventory.workloads) {
    const value = w.annotations[ANNOTATION];
    if (value !== undefined && !ALL_DEFAULTS.has(value)) bad.push({ owner: `${w.kind} ${w.name}`, namespace: w.namespace, file: w.file, span: w.span, value, isNamespace: false });
  }
  badByInventory.set(inventory, bad);
  return bad;
}

const cache = new WeakMap<object, { inventory: Inventory; reporters: Map<LinkerdItem, BadAnnotation[]> }>();

function reporters(workspace: WorkspaceView, bad: BadAnnotation[]): Map<LinkerdItem, BadAnnotation[]> {
  const inventory = workspace.inventory;
  const cached = cache.get(workspace.resources);
  if (cached && cached.inventory === inventory) return cached.reporters;
  const model = linkerdModel(workspace);
  const out = new Map<LinkerdItem, BadAnnotation[]>();
  for (const annotation of bad) {
    const reporter = model.items.find((i) => i.file.path === annotation.file) ?? model.inNamespace(annotation.namespace)[0];
    if (!reporter) continue;
    const list = out.get(reporter) ?? [];
    list.push(annotation);
    out.set(reporter, list);
  }
  cache.set(workspace.resources, { inventory, reporters: out });
  return out;
}

/** The annotation's value node inside the annotated object (metadata, or the pod template's metadata). */
function annotationNode(object: ObjectNode, isNamespace: boolean) {
  const metadataOf = (node: ObjectNode | undefined) => {
    const annotations = getEntry(getEntry(node, 'metadata')?.value, 'annotations')?.value;
    return getEntry(annotations, ANNOTATION)?.value;
  };
  if (isNamespace) return metadataOf(object);
  const spec = getEntry(object, 'spec')?.value;
  const kind = getEntry(object, 'kind')?.value;
  if (kind?.type === 'scalar' && kind.value === 'Pod') return metadataOf(object);
  if (kind?.type === 'scalar' && kind.value === 'CronJob') {
    const template = getEntry(getEntry(getEntry(spec, 'jobTemplate')?.value, 'spec')?.value, 'template')?.value;
    return metadataOf(template?.type === 'object' ? template : undefined);
  }
  const template = getEntry(spec, 'template')?.value;
  return metadataOf(template?.type === 'object' ? template : undefined);
}

export const invalidDefaultInboundPolicy: Check = {
  code: 'MPA2008',
  mesh: 'linkerd',
  title: 'Invalid default-inbound-policy annotation',
  defaultSeverity: 'warning',
  upstream: 'Linkerd policy controller: "Invalid default policy annotation value" (the annotation is ignored)',
  kinds: ['Server', 'ServerAuthorization', 'AuthorizationPolicy', 'MeshTLSAuthentication', 'NetworkAuthentication', 'HTTPRoute', 'GRPCRoute'],
  needsInventory: true,
  run(context) {
    // Without a bad annotation (the usual case) the check reads only the inventory, so its
    // answer is kept across edits to the policies.
    const bad = badAnnotations(context.workspace.inventory);
    if (bad.length === 0) return;
    const item = linkerdModel(context.workspace).itemOf(context.resource);
    const list = item ? reporters(context.workspace, bad).get(item) : undefined;
    if (!list) return;
    const clusterDefault = context.workspace.config.linkerd.defaultInboundPolicy;
    for (const annotation of list) {
      const near = closest(annotation.value, VALUES);
      const fallback = annotation.isNamespace
        ? `Linkerd ignores it, and pods created in ${annotation.namespace} get the cluster default (${clusterDefault})`
        : `Linkerd ignores it, and the pods get the cluster default (${clusterDefault}), not the namespace's annotation`;
      const message = `${annotation.owner} has ${ANNOTATION}: ${quote(annotation.value)}, which is not one of ${listText(VALUES, 'or')}${near ? ` (did you mean ${quote(near)}?)` : ''}: ${fallback}`;
      const sameFile = annotation.file === context.file.path;
      const object = sameFile ? objectAtSpan(context.file, annotation.span) : undefined;
      const node = object ? annotationNode(object, annotation.isNamespace) : undefined;
      if (node) {
        const fixes: Fix[] = near ? [{ title: `Change to ${quote(near)}`, edits: [replaceScalar(context.file, node, near)], preferred: true }] : [];
        context.report({ span: node.span }, message, fixes.length ? { fixes } : undefined);
      } else {
        const file = workspaceFile(context.workspace, annotation.file);
        const line = file ? file.lines.position(annotation.span.start).line : 0;
        context.report({ path: ['metadata', 'namespace'] }, `${message} (${whereText(annotation.file, line)})`);
      }
    }
  },
};

import type { Resource } from '../resource';
import type { SourceNode } from '../source/tree';
import { parsePrincipal } from '../traffic/ingest/identity';
import { child, items, text, textValue } from './nodes';
import type { Reference, ReferenceContext, Target } from './types';

/**
 * Istio: a selector names the workloads it attaches to; `targetRef(s)` a Service, ServiceEntry or
 * Gateway of the policy's namespace (spec §1.2); a principal `<td>/ns/<ns>/sa/<sa>` a
 * ServiceAccount and `namespaces` a Namespace (§1.4), in `from` sources and in `when` conditions.
 * Wildcards name no one thing and are left alone; the trust domain is the lint's business.
 */
export function istioReferences(resource: Resource, _context: ReferenceContext): Reference[] {
  const found: Reference[] = [];
  const spec = child(resource.node, 'spec');
  const namespace = resource.namespace ?? 'default';
  const selector = child(spec, 'selector');
  if (selector) found.push({ span: selector.span, target: { type: 'attachment' } });
  for (const ref of [child(spec, 'targetRef'), ...items(child(spec, 'targetRefs'))]) {
    const name = text(ref, 'name');
    const target = name && targetRefTarget(textValue(ref, 'kind'), namespace, name.value);
    if (name && target) found.push({ span: name.span, target });
  }
  if (resource.kind !== 'AuthorizationPolicy') return found;
  for (const rule of items(child(spec, 'rules'))) {
    for (const from of items(child(rule, 'from'))) {
      const source = child(from, 'source');
      for (const key of ['principals', 'notPrincipals']) addEach(found, child(source, key), principalTarget);
      for (const key of ['namespaces', 'notNamespaces']) addEach(found, child(source, key), namespaceTarget);
      for (const key of ['serviceAccounts', 'notServiceAccounts']) addEach(found, child(source, key), (value) => serviceAccountTarget(value, namespace));
    }
    for (const condition of items(child(rule, 'when'))) {
      const key = textValue(condition, 'key');
      const read = key === 'source.principal' ? principalTarget : key === 'source.namespace' ? namespaceTarget : key === 'source.serviceAccount' ? (value: string) => serviceAccountTarget(value, namespace) : undefined;
      if (!read) continue;
      for (const list of ['values', 'notValues']) addEach(found, child(condition, list), read);
    }
  }
  return found;
}

function targetRefTarget(kind: string | undefined, namespace: string, name: string): Target | undefined {
  if (kind === 'Service') return { type: 'service', namespace, name };
  if (kind === 'ServiceEntry') return { type: 'serviceEntry', namespace, name };
  if (kind === 'Gateway') return { type: 'gateway', namespace, name };
  return undefined;
}

type Read = (value: string) => { target: Target; partial?: Reference['partial'] } | undefined;

function addEach(found: Reference[], list: SourceNode | undefined, read: Read): void {
  for (const item of items(list)) {
    const value = text(item);
    const got = value && read(value.value);
    // (a service account is renamed in the value that names it; a namespace is not renamed here)
    if (value && got) found.push({ span: value.span, target: got.target, ...(got.target.type === 'serviceAccount' ? { node: item, ...(got.partial ? { partial: got.partial } : {}) } : {}) });
  }
}

/** `[spiffe://]<trust domain>/ns/<namespace>/sa/<service account>`, namespace and account without wildcards. */
function principalTarget(principal: string): ReturnType<Read> {
  const parts = parsePrincipal(principal);
  if (parts?.mesh !== 'istio' || parts.serviceAccount === undefined) return undefined;
  const { namespace, serviceAccount: name } = parts;
  if (namespace.includes('*') || name.includes('*')) return undefined;
  const at = principal.length - name.length;
  return { target: { type: 'serviceAccount', namespace, name }, partial: { at, renamed: (newName) => `${principal.slice(0, at)}${newName}` } };
}

/** `serviceAccounts` and `source.serviceAccount`: `<namespace>/<name>`, or `<name>` in the policy's namespace (spec §1.4). */
function serviceAccountTarget(value: string, policyNamespace: string): ReturnType<Read> {
  const parts = value.split('/');
  if (parts.length > 2 || parts.some((p) => p === '' || p.includes('*'))) return undefined;
  const [namespace, name] = parts.length === 2 ? [parts[0]!, parts[1]!] : [policyNamespace, parts[0]!];
  const at = value.length - name.length;
  return { target: { type: 'serviceAccount', namespace, name }, ...(parts.length === 2 ? { partial: { at, renamed: (newName: string) => `${namespace}/${newName}` } } : {}) };
}

function namespaceTarget(name: string): ReturnType<Read> {
  return name.includes('*') ? undefined : { target: { type: 'namespace', name } };
}

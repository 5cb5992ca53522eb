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
    }
    for (const condition of items(child(rule, 'when'))) {
      const key = textValue(condition, 'key');
      const read = key === 'source.principal' ? principalTarget : key === 'source.namespace' ? namespaceTarget : undefined;
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

function addEach(found: Reference[], list: SourceNode | undefined, read: (value: string) => Target | undefined): void {
  for (const item of items(list)) {
    const value = text(item);
    const target = value && read(value.value);
    if (value && target) found.push({ span: value.span, target });
  }
}

/** `[spiffe://]<trust domain>/ns/<namespace>/sa/<service account>`, namespace and account without wildcards. */
function principalTarget(principal: string): Target | undefined {
  const parts = parsePrincipal(principal);
  if (parts?.mesh !== 'istio' || parts.serviceAccount === undefined) return undefined;
  const { namespace, serviceAccount: name } = parts;
  return !namespace.includes('*') && !name.includes('*') ? { type: 'serviceAccount', namespace, name } : undefined;
}

function namespaceTarget(name: string): Target | undefined {
  return name.includes('*') ? undefined : { type: 'namespace', name };
}

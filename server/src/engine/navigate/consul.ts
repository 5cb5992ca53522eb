import type { Resource } from '../resource';
import { key } from '../simulate/consul/model';
import type { SourceNode } from '../source/tree';
import { child, items, text } from './nodes';
import type { Reference, ReferenceContext } from './types';

/**
 * Consul (spec §3): an intention's destination and each source name a service, which on
 * Kubernetes is the Service of that name (consul-k8s registers a pod under its Service's name);
 * a JWT requirement's `Providers` name jwt-provider entries. `*` names no one service.
 */
export function consulReferences(resource: Resource, _context: ReferenceContext): Reference[] {
  const form = resource.kind === 'ServiceIntentions' ? 'crd' : 'entry';
  const k = (canonical: string) => key(form, canonical);
  const found: Reference[] = [];
  const service = (node: SourceNode | undefined): void => {
    const name = text(node, k('Name'));
    if (name && name.value !== '*') found.push({ span: name.span, target: { type: 'service', name: name.value } });
  };
  const providers = (owner: SourceNode | undefined): void => {
    for (const provider of items(child(child(owner, k('JWT')), k('Providers')))) {
      const name = text(provider, k('Name'));
      if (name) found.push({ span: name.span, target: { type: 'jwtProvider', name: name.value } });
    }
  };
  const body = form === 'crd' ? child(resource.node, 'spec') : resource.node;
  service(form === 'crd' ? child(body, 'destination') : body);
  providers(body);
  for (const source of items(child(body, k('Sources')))) {
    service(source);
    for (const permission of items(child(source, k('Permissions')))) providers(permission);
  }
  return found;
}

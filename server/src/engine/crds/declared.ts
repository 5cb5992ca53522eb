import type { Resource } from '../resource';
import type { NodePath } from '../source/tree';
import { isRecord } from '../plainValues';
import { crdLabel, installedCrdsFor, servedVersion, type InstalledCrd } from './installed';

/**
 * For completion: whether the cluster's CRDs take a field or a value we would suggest at a path of
 * a resource. Our schemas follow the latest releases; a suggestion the installed CRD would drop or
 * refuse is marked, so that nobody writes a field their cluster does not have without knowing.
 */
export function notInInstalledCrd(resource: Resource, crds: readonly InstalledCrd[] | undefined, path: NodePath, suggestion: { kind: 'field' | 'value' | 'template'; label: string }): string | undefined {
  if (!crds?.length || !resource.apiVersion) return undefined;
  for (const crd of installedCrdsFor(crds, resource.apiVersion, resource.kind)) {
    const schema = servedVersion(crd, resource.apiVersion)?.schema;
    if (!schema) continue;
    const node = schemaAt(schema, path);
    if (!node) continue;
    if (suggestion.kind === 'field') {
      const open = node['x-kubernetes-preserve-unknown-fields'] === true || node['additionalProperties'] !== undefined && node['additionalProperties'] !== false;
      const properties = isRecord(node['properties']) ? node['properties'] : {};
      if (!open && !(suggestion.label in properties)) return `not in the cluster's CRD ${crdLabel(crd)}`;
    } else if (Array.isArray(node['enum']) && !node['enum'].some((v) => String(v) === suggestion.label)) {
      return `not allowed by the cluster's CRD ${crdLabel(crd)}`;
    }
  }
  return undefined;
}

/** The schema node at `path` (object keys and list indexes), or undefined where the schema says nothing (preserved or undeclared). */
function schemaAt(schema: Record<string, unknown>, path: NodePath): Record<string, unknown> | undefined {
  let node: Record<string, unknown> | undefined = schema;
  for (const segment of path) {
    if (!node) return undefined;
    if (typeof segment === 'number') {
      node = isRecord(node['items']) ? node['items'] : undefined;
      continue;
    }
    const properties: Record<string, unknown> | undefined = isRecord(node['properties']) ? node['properties'] : undefined;
    const child: unknown = properties?.[segment] ?? node['additionalProperties'];
    node = isRecord(child) ? child : undefined;
  }
  return node;
}

import type { Declared } from '../inventory/inventory';
import { isRecord } from '../plainValues';

/**
 * A CustomResourceDefinition read from the workspace: a vendored chart's CRDs, or the cluster's
 * own (`kubectl get crd -o yaml`). It says which versions of a kind the API server serves and,
 * per version, the structural schema it validates and prunes stored objects with.
 */
export interface InstalledCrd extends Declared {
  /** `metadata.name`, `<plural>.<group>`. */
  name: string;
  group: string;
  kind: string;
  versions: InstalledCrdVersion[];
}

export interface InstalledCrdVersion {
  name: string;
  served: boolean;
  /** `schema.openAPIV3Schema`, when the version has one. */
  schema?: Record<string, unknown>;
  /** Whether `status` is a subresource: the API server then ignores a `status` sent with the object. */
  statusSubresource: boolean;
}

/**
 * The kinds whose CRDs are kept, by API group: the kinds our catalog recognizes (a table test keeps
 * the two in step). A cluster's `kubectl get crd -o yaml` holds every operator's CRDs; their
 * schemas are not ours to keep.
 */
export const MESH_CRD_KINDS: Readonly<Record<string, readonly string[]>> = {
  'security.istio.io': ['AuthorizationPolicy', 'PeerAuthentication', 'RequestAuthentication'],
  'policy.linkerd.io': ['Server', 'ServerAuthorization', 'AuthorizationPolicy', 'MeshTLSAuthentication', 'NetworkAuthentication', 'HTTPRoute'],
  'gateway.networking.k8s.io': ['HTTPRoute', 'GRPCRoute'],
  'consul.hashicorp.com': ['ServiceIntentions'],
};

/** The CRD of an object (`apiextensions.k8s.io/v1` CustomResourceDefinition) of a kind we read, or undefined. */
export function installedCrdOf(value: Record<string, unknown>, declared: Declared): InstalledCrd | undefined {
  if (value['kind'] !== 'CustomResourceDefinition' || value['apiVersion'] !== 'apiextensions.k8s.io/v1') return undefined;
  const metadata = isRecord(value['metadata']) ? value['metadata'] : {};
  const spec = isRecord(value['spec']) ? value['spec'] : {};
  const names = isRecord(spec['names']) ? spec['names'] : {};
  const group = spec['group'];
  const kind = names['kind'];
  if (typeof group !== 'string' || typeof kind !== 'string' || !Array.isArray(spec['versions'])) return undefined;
  if (!MESH_CRD_KINDS[group]?.includes(kind)) return undefined;
  const versions: InstalledCrdVersion[] = [];
  for (const entry of spec['versions']) {
    if (!isRecord(entry) || typeof entry['name'] !== 'string') continue;
    const schema = isRecord(entry['schema']) && isRecord(entry['schema']['openAPIV3Schema']) ? entry['schema']['openAPIV3Schema'] : undefined;
    const subresources = isRecord(entry['subresources']) ? entry['subresources'] : {};
    versions.push({
      name: entry['name'],
      served: entry['served'] === true,
      ...(schema ? { schema } : {}),
      statusSubresource: subresources['status'] !== undefined && subresources['status'] !== null,
    });
  }
  return { ...declared, name: typeof metadata['name'] === 'string' ? metadata['name'] : `${group}/${kind}`, group, kind, versions };
}

/** The CRDs of the workspace that define `group`/`kind`, in the order read; one per distinct definition. */
export function installedCrdsFor(crds: readonly InstalledCrd[] | undefined, apiVersion: string | undefined, kind: string): InstalledCrd[] {
  if (!crds?.length || !apiVersion) return [];
  const group = apiVersion.includes('/') ? apiVersion.slice(0, apiVersion.indexOf('/')) : '';
  return crds.filter((crd) => crd.group === group && crd.kind === kind);
}

/** The version part of an apiVersion (`v1` of `security.istio.io/v1`). */
export function versionOf(apiVersion: string): string {
  return apiVersion.slice(apiVersion.indexOf('/') + 1);
}

/** The version of `crd` that serves `apiVersion` (`group/version`), if it serves it. */
export function servedVersion(crd: InstalledCrd, apiVersion: string): InstalledCrdVersion | undefined {
  const name = versionOf(apiVersion);
  return crd.versions.find((v) => v.name === name && v.served);
}

/** How messages name a CRD: `authorizationpolicies.security.istio.io (crds.yaml)`. */
export function crdLabel(crd: InstalledCrd): string {
  return `${crd.name} (${crd.file.split(/[\\/]/).pop() ?? crd.file})`;
}

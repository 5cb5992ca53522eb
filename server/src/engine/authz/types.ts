import type { Mesh } from '../meshes';
import type { SourceRef } from '../simulate/types';

/**
 * `mesh-policy authz`: the policies that apply to one workload (a Consul service), in the order
 * its mesh evaluates them, read from files. One module per mesh (`istio.ts`, `linkerd.ts`,
 * `consul.ts`), each a thin reader of what that mesh's simulator already decides: attachment,
 * Server selection, precedence are the simulator's, never computed again here.
 */

/** What to list: `namespace/name` (Istio, Linkerd: a workload; Consul: a service), and a port (Linkerd). */
export interface AuthzTarget {
  namespace?: string;
  name: string;
  port?: number;
}

/** One resource of a listing. */
export interface AuthzRow {
  /** What it does there: CUSTOM, DENY, ALLOW, AUDIT (Istio); Server, HTTPRoute, AuthorizationPolicy ... (Linkerd); allow, deny, L7 (Consul). */
  role: string;
  /** Kind and name, e.g. "AuthorizationPolicy shop/cart-from-frontend". */
  resource: string;
  /** How it attaches: "namespace-wide", "root namespace", "selector app=cart", "targetRefs Service payments" ... */
  attachment: string;
  /** What it holds: "2 rules", "3 permissions", "any request" ... */
  detail: string;
  /** Markers: "dry-run", "may apply: ...", "ztunnel ignores AUDIT policies" ... */
  notes: string[];
  at: SourceRef;
}

/** One step of the evaluation: an enforcement point (Istio), a port (Linkerd), a destination (Consul). */
export interface AuthzSection {
  title: string;
  rows: AuthzRow[];
  /** The closing lines: what happens to a call no row decides. */
  summary: string[];
  /** Resources that name this step but are ignored, and why. */
  notes: string[];
}

/** The listing of one mesh for one target. */
export interface AuthzListing {
  mesh: Mesh;
  /** The target as the mesh names it. */
  target: string;
  sections: AuthzSection[];
  /** About the target or the listing as a whole (resources not admitted, settings assumed). */
  notes: string[];
  /** Whether the inventory or the policies say the target runs in this mesh (a proxy injected,
   * ambient, named by an intention), rather than only that the mesh has policies. */
  enrolled: boolean;
}

/** A target the mesh does not know, with the names it does know that are nearest. */
export interface AuthzUnknown {
  mesh: Mesh;
  unknown: string;
  /** The nearest names the mesh knows (`namespace/name`), best first; maybe empty. */
  near: string[];
}

/** What a mesh answers about a target. */
export interface MeshAuthz {
  mesh: Mesh;
  list(target: AuthzTarget): AuthzListing | AuthzUnknown;
  /** One short line for a listing of this mesh (the editor's lens on a workload), `Istio: ...`. */
  headline(listing: AuthzListing): string;
}

export function isUnknown(result: AuthzListing | AuthzUnknown): result is AuthzUnknown {
  return 'unknown' in result;
}

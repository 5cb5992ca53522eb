import type { Mesh } from '../meshes';
import type { Resource } from '../resource';
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

/** One resource (or default) a call meets before authorization: a mutual TLS mode, a JWT rule. */
export interface AuthnRow {
  /** "mTLS" (Istio PeerAuthentication) or "JWT" (Istio RequestAuthentication). */
  role: string;
  /** What it sets there: "STRICT", "port 9102: PERMISSIVE", "issuer https://auth.example.com". */
  setting: string;
  /** Kind and name, or "(none)" for a default no resource sets. */
  resource: string;
  /** How it reaches the workload: "workload selector app=cart", "namespace-wide", "mesh-wide (root namespace istio-system)", "default" ... */
  attachment: string;
  /** Markers: the signing keys, audiences, "may apply: ...". */
  notes: string[];
  /** Absent for a default. */
  at?: SourceRef;
}

/** What authenticates a call at a step, before its authorization rows decide. */
export interface AuthnTable {
  rows: AuthnRow[];
  /** What it means for a call: plaintext rejected, an invalid token rejected with 401 ... */
  summary: string[];
}

/** One step of the evaluation: an enforcement point (Istio), a port (Linkerd), a destination (Consul). */
export interface AuthzSection {
  title: string;
  /** Istio: the PeerAuthentication and RequestAuthentication of the proxy (spec §1.8); absent for the other meshes. */
  authentication?: AuthnTable;
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
  /**
   * The workloads `resource` (of this mesh) may have a row in the listing of, by namespace and
   * name alone: a bound that never leaves one out, so that the editor's "Applies to" lists only
   * those (a policy outside the root namespace reaches its own namespace only).
   */
  mayApply(resource: Resource): (workload: { namespace: string; name: string }) => boolean;
}

/** Every workload: what `mayApply` answers when nothing narrows it. */
export const EVERY_WORKLOAD = (): boolean => true;

export function isUnknown(result: AuthzListing | AuthzUnknown): result is AuthzUnknown {
  return 'unknown' in result;
}

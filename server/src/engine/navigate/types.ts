import type { Range } from '../findings';
import type { ProjectConfig } from '../config/projectConfig';
import type { Mesh } from '../meshes';
import type { SourceNode, Span } from '../source/tree';

/**
 * Go to definition, find references and the outline (`docs/navigation.md`). A policy names other
 * things: the Server an AuthorizationPolicy targets, the ServiceAccount behind a principal, the
 * workloads a selector picks. Each mesh module (`istio.ts`, `linkerd.ts`, `consul.ts`) lists the
 * references a resource makes, as `Target`s; `resolve.ts` finds them in the workspace.
 */

/** What a reference names. */
export type Target =
  /** A policy resource of the workspace: kinds compared case-insensitively, group where given (Linkerd `targets_kind`). */
  | { type: 'resource'; mesh: Mesh; kind: string; group?: string; namespace: string; name: string }
  | { type: 'serviceAccount'; namespace: string; name: string }
  | { type: 'namespace'; name: string }
  /** A Kubernetes Service; any namespace when absent (a Consul service name). */
  | { type: 'service'; namespace?: string; name: string }
  | { type: 'gateway'; namespace: string; name: string }
  | { type: 'serviceEntry'; namespace: string; name: string }
  /** A Consul `jwt-provider` config entry or `JWTProvider` resource. */
  | { type: 'jwtProvider'; name: string }
  /** The workloads the resource applies to, as the simulator attaches it (a selector). */
  | { type: 'attachment' };

/** A value in a resource that names something. */
export interface Reference {
  /** The value (or, for a selector, the whole selector). */
  span: Span;
  target: Target;
  /** The value's node, when a rename rewrites it: the whole value is the name, or holds it (`renamed`). */
  node?: SourceNode;
  /** For a value that holds the name among other parts (a principal, a Linkerd identity): the
   * value with the name replaced, and where the name sits in it. Absent: the value is the name. */
  partial?: { renamed: (newName: string) => string; at: number };
}

/** Where something is defined or referred to. */
export interface Place {
  file: string;
  /** The name (a definition) or the referring value. */
  range: Range;
  /** e.g. "ServiceAccount shop/cart", "Server shop/web-http". */
  label: string;
}

/** A definition, and what identifies it however the cursor reached it. */
export interface Definition extends Place {
  /** The file and offset of the object that defines it. */
  key: string;
}

export interface ReferenceContext {
  config: ProjectConfig;
}

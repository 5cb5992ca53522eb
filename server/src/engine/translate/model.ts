import type { ProjectConfig } from '../config/projectConfig';
import type { Inventory } from '../inventory/inventory';
import type { Mesh } from '../meshes';
import type { Resource } from '../resource';
import type { SourceFile } from '../source/sourceFile';
import type { SourceRef } from '../simulate/types';

/**
 * The mesh-neutral access model that translation goes through (docs/translate.md): each mesh's
 * reader (`translate/<mesh>/read.ts`) turns its authorization resources into it, and each
 * mesh's writer (`translate/<mesh>/write.ts`) turns it into that mesh's resources. What a reader
 * or writer cannot carry exactly becomes a `TranslationNote` naming the place and the effect;
 * nothing is dropped silently.
 *
 * Semantics are those of the fields' names, the same in every mesh:
 * - a `Protection` applies to calls to the workloads of `target` (on its `ports`, when set);
 * - `deny`: a call matched by a rule of a deny protection that applies is denied, before any allow;
 * - `allow`: a call that one or more allow protections apply to is allowed when a rule of one of
 *   them matches it, and denied otherwise (an allow protection with no rules allows nothing);
 * - a call no protection applies to is left to the target mesh's default (a reader notes where
 *   its mesh's default differs: Linkerd's default inbound policy, Consul's default intention
 *   policy; Istio's default is to allow);
 * - a rule matches when one of `from` (or `from` is empty) and one of `to` (or `to` is empty)
 *   match, and every `headers` condition holds;
 * - inside `Callers` and `Requests`, every field that is set must match (AND); inside a field's
 *   list, one item must match (OR).
 */

export type Action = 'allow' | 'deny';

/** Workloads in one namespace chosen by labels; `labels` undefined: every workload of the
 * namespace; `namespace` `'*'`: in every namespace (Istio's root namespace). */
export interface Workloads {
  namespace: string;
  labels?: Record<string, string>;
}

export interface Protection {
  /** The resource this protection was read from. */
  origin: SourceRef;
  /** A DNS-1123 name to derive the written resources' names from (the source resource's name). */
  name: string;
  action: Action;
  target: Workloads;
  /** The ports of the target the protection governs (a Linkerd Server's port); calls to other
   * ports are not its business. Undefined: every port. */
  ports?: number[];
  /** OR. For `allow`, an empty list allows nothing. */
  rules: AccessRule[];
  /** Rules of the source that lost a part the model cannot carry, as far as it can: the callers
   * and requests they name, for the check's probes only (writers do not write them). */
  probes?: AccessRule[];
}

export interface AccessRule {
  /** The rule (authorization, source, permission) this was read from. */
  origin: SourceRef;
  /** OR; empty: any caller, with or without an identity, from anywhere. */
  from: Callers[];
  /** OR; empty: any request or connection, on any port. */
  to: Requests[];
  /** AND; HTTP header conditions (a call without HTTP never satisfies one). */
  headers: HeaderCondition[];
  /** OR; requests the rule does not match although the rest of it does: a deny that comes after
   * allows in a first-match list (a Consul deny permission after allow permissions of the same
   * source) leaves what those allows match to them. Undefined: none. Deny rules only. */
  unless?: RequestException[];
}

/** HTTP requests a rule leaves out: those matching `requests` (methods AND paths) and every header test. */
export interface RequestException {
  /** The permission (or rule) this exception was read from. */
  origin: SourceRef;
  requests: Omit<Requests, 'ports'>;
  headers: HeaderTest[];
}

/** A header test of an exception: present with a value that equals, starts or ends with `value`, or present with any value. */
export interface HeaderTest {
  /** Lower case. */
  name: string;
  match: 'exact' | 'prefix' | 'suffix' | 'present';
  /** Undefined for `present`. */
  value?: string;
}

/** A mesh identity, as the service account it is issued to. `'*'` in either part: any. */
export interface Identity {
  namespace: string;
  serviceAccount: string;
}

/** Any caller that presents a mesh identity. */
export const ANY_IDENTITY: Identity = Object.freeze({ namespace: '*', serviceAccount: '*' });

export interface Callers {
  /** OR; undefined: identity is not required (plaintext callers match too). */
  identities?: Identity[];
  /** OR; undefined: any address. */
  networks?: Network[];
}

export interface Network {
  /** An address prefix (`10.0.0.0/8`) or a single address. */
  cidr: string;
  /** Prefixes or addresses inside `cidr` that do not match. */
  except: string[];
}

export interface Requests {
  /** OR; undefined: any port. */
  ports?: number[];
  /** OR, upper case; undefined: any method (and connections without HTTP). */
  methods?: string[];
  /** OR; undefined: any path (and connections without HTTP). */
  paths?: PathMatch[];
}

/**
 * A path test on the path as sent without its query string. `prefix` is a plain string prefix
 * (Istio `/api/*`, Consul `PathPrefix`), not Linkerd's segment-aware `PathPrefix`; `regex` is
 * RE2 syntax matched against the whole path.
 */
export interface PathMatch {
  kind: 'exact' | 'prefix' | 'regex';
  value: string;
}

/** A header that must be present with one of `values` (exact, OR); `values` empty: present with any value. */
export interface HeaderCondition {
  /** Lower case. */
  name: string;
  values: string[];
}

/**
 * What a reader or writer could not carry exactly. `narrower`: the translation allows less than
 * the source (e.g. a rule left out); `wider`: it allows more; `same`: a change of form that
 * decides the same calls; `unknown`: it depends on what the workspace does not say.
 */
export interface TranslationNote {
  at: SourceRef;
  effect: 'narrower' | 'wider' | 'same' | 'unknown';
  text: string;
}

export interface AccessModel {
  /** The mesh the model was read from. */
  mesh: Mesh;
  protections: Protection[];
  notes: TranslationNote[];
}

/** What readers and writers are given besides the model. */
export interface TranslationContext {
  inventory: Inventory;
  config: ProjectConfig;
}

/** The resources of one mesh to read, each with its file (for source ranges). */
export type MeshResources = ReadonlyArray<{ file: SourceFile; resource: Resource }>;

export interface WrittenPolicies {
  mesh: Mesh;
  /** Multi-document YAML; a comment above each resource names the source it comes from. */
  yaml: string;
  /** Resources (documents) written. */
  resources: number;
  /** What the writer could not carry exactly (the reader's notes are the model's). */
  notes: TranslationNote[];
}

export interface MeshTranslator {
  mesh: Mesh;
  read(resources: MeshResources, context: TranslationContext): AccessModel;
  /** The resources of `workspace`, outside `selected`, that the selected ones refer to and must be
   * read with (a Linkerd AuthorizationPolicy's Server in another file); they grant nothing of their
   * own. Undefined: a mesh whose policies name no other resource. */
  references?(selected: MeshResources, workspace: MeshResources): MeshResources;
  write(model: AccessModel, context: TranslationContext): WrittenPolicies;
}

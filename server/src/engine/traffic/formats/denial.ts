/**
 * Mesh denial markers in Envoy's `%RESPONSE_CODE_DETAILS%`, `%CONNECTION_TERMINATION_DETAILS%`
 * and `%RESPONSE_FLAGS%` (docs/access-records.md, "Denial markers").
 */

export const DENIAL_NONE = 0;
/** `rbac_access_denied_matched_policy[<policy>]`: Istio AuthorizationPolicy, Consul intentions. */
export const DENIAL_RBAC = 1;
/** `ext_authz_denied` or the `UAEX` flag: Istio CUSTOM action (external authorizer). */
export const DENIAL_EXT_AUTHZ = 2;
/** `jwt_authn_access_denied{<reason>}`: a 401 from JWT authentication. */
export const DENIAL_JWT = 3;

export type DenialKind = typeof DENIAL_NONE | typeof DENIAL_RBAC | typeof DENIAL_EXT_AUTHZ | typeof DENIAL_JWT;

const RBAC_PREFIX = 'rbac_access_denied';
const UAEX_IN_LIST = /(?:^|,)UAEX(?:,|$)/;
/**
 * istiod's name of an RBAC policy: `ns[<namespace>]-policy[<name>]-rule[<index>]`; a CUSTOM policy
 * istiod enforces as DENY (its provider undeclared or unusable) gets `istio-ext-authz-[<provider>-]`
 * before it and `-deny-due-to-bad-CUSTOM-action` after (builder.go, `getBadCustomDenyRules`).
 */
const ISTIO_POLICY_NAME = /^(?:istio-ext-authz-(?:[^[]*-)?)?ns\[([^\]]*)\]-policy\[([^\]]*)\]-rule\[(\d+)\](?:-deny-due-to-bad-CUSTOM-action)?$/;

export function isRbacDenial(details: string | undefined): boolean {
  return details !== undefined && details.startsWith(RBAC_PREFIX);
}

/** The flag list holds `UAEX` (short form) or `UnauthorizedExternalService` (`%RESPONSE_FLAGS_LONG%`). */
export function hasExtAuthzFlag(flags: string | undefined): boolean {
  if (flags === undefined) return false;
  if (flags === 'UAEX') return true;
  return flags.includes('UAEX') ? UAEX_IN_LIST.test(flags) : flags.includes('UnauthorizedExternalService');
}

/**
 * Which mesh denial the line shows. `ext_authz_error` (the authorizer failed and the filter
 * fails closed) also sets UAEX, but no policy decided it, so it is not a denial here.
 */
export function denialOf(details: string | undefined, termination: string | undefined, flags: string | undefined): DenialKind {
  if (details !== undefined) {
    if (details.startsWith(RBAC_PREFIX)) return DENIAL_RBAC;
    if (details === 'ext_authz_denied') return DENIAL_EXT_AUTHZ;
    if (details.startsWith('jwt_authn_access_denied')) return DENIAL_JWT;
  }
  if (termination !== undefined && termination.startsWith(RBAC_PREFIX)) return DENIAL_RBAC;
  if (details !== 'ext_authz_error' && hasExtAuthzFlag(flags)) return DENIAL_EXT_AUTHZ;
  return DENIAL_NONE;
}

/** What a denial detail says, for messages and the simulator's comparison. */
export type DenyReason =
  | { kind: 'rbac'; policy: 'none' }
  | { kind: 'rbac'; policy: string; namespace?: string; name?: string; rule?: number }
  /** The older `rbac_access_denied`, which names no policy: a DENY policy's match or no ALLOW policy's, unknown which. */
  | { kind: 'rbac'; policy?: undefined }
  | { kind: 'ext_authz' }
  | { kind: 'jwt'; reason?: string }
  | { kind: 'linkerd'; status: number };

/**
 * Reads a denial detail (`response.details`):
 * - `rbac_access_denied_matched_policy[none]`: ALLOW policies exist and none matched;
 * - `rbac_access_denied_matched_policy[ns[foo]-policy[deny-get]-rule[0]]`: the Istio policy that matched;
 * - `rbac_access_denied_matched_policy[consul-intentions-layer4]`: a Consul intention (any other name passes through);
 * - `rbac_access_denied` (Envoy before the matched policy was logged): a denial by no policy named;
 * - `ext_authz_denied`, `jwt_authn_access_denied{Jwt_is_missing}`, `linkerd_policy_403`.
 */
export function parseDenyReason(details: string | undefined): DenyReason | undefined {
  if (details === undefined) return undefined;
  if (details.startsWith(RBAC_PREFIX)) {
    if (details.length === RBAC_PREFIX.length) return { kind: 'rbac' };
    const open = details.indexOf('[');
    const policy = open >= 0 && details.endsWith(']') ? details.slice(open + 1, -1) : '';
    if (policy === 'none' || policy === '') return { kind: 'rbac', policy: 'none' };
    const m = ISTIO_POLICY_NAME.exec(policy);
    if (m) return { kind: 'rbac', policy, namespace: m[1], name: m[2], rule: Number(m[3]) };
    return { kind: 'rbac', policy };
  }
  if (details === 'ext_authz_denied') return { kind: 'ext_authz' };
  if (details.startsWith('jwt_authn_access_denied')) {
    const open = details.indexOf('{');
    return open >= 0 && details.endsWith('}') ? { kind: 'jwt', reason: details.slice(open + 1, -1) } : { kind: 'jwt' };
  }
  if (details === LINKERD_DENIAL_DETAIL) return { kind: 'linkerd', status: 403 };
  return undefined;
}

/**
 * The Istio policy an RBAC denial detail names, in `response.deniedBy`'s form: `<namespace>/<name>`
 * of the policy whose rule matched (Envoy writes the matched RBAC policy's id, which istiod names
 * `ns[<namespace>]-policy[<name>]-rule[<index>]`), or `none` when ALLOW policies apply and none
 * matched. Undefined for any other detail, and for the older `rbac_access_denied`, which names
 * neither.
 */
export function istioDeniedBy(details: string | undefined): string | undefined {
  if (details === undefined || !details.startsWith(RBAC_PREFIX)) return undefined;
  const reason = parseDenyReason(details);
  if (reason?.kind !== 'rbac') return undefined;
  if (reason.policy === 'none') return DENIED_BY_NO_ALLOW;
  // (parseDenyReason read the policy's name with the same pattern as istioPolicyOfId)
  return 'name' in reason && reason.name !== undefined ? `${reason.namespace}/${reason.name}` : undefined;
}

/**
 * `<namespace>/<name>` of an Envoy RBAC policy id as istiod names them,
 * `ns[<namespace>]-policy[<name>]-rule[<index>]` (pilot/pkg/security/authz/builder/builder.go,
 * `policyName`): the form of `response.deniedBy` and `response.dryRun`'s `policy`. Undefined for
 * any other id.
 */
export function istioPolicyOfId(id: string): string | undefined {
  const m = ISTIO_POLICY_NAME.exec(id);
  return m === null ? undefined : `${m[1]}/${m[2]}`;
}

/** `response.deniedBy` of a denial because ALLOW policies apply and none matched. */
export const DENIED_BY_NO_ALLOW = 'none';

/**
 * The detail the Linkerd readers give a 403: Linkerd's access log has no detail field, and its
 * policy rejections are 403s (docs/access-records.md). An application 403 reads the same.
 */
export const LINKERD_DENIAL_DETAIL = 'linkerd_policy_403';

/**
 * Linkerd's identity-string validation (linkerd/linkerd2:policy-controller/runtime/src/validation.rs
 * `validate_identity`), reimplemented character by character: a SPIFFE ID or a DNS-like name.
 * Returns the webhook's own words for the first problem, or undefined when the id is valid.
 */

const VALID_TRUST_DOMAIN_CHARS = /^[a-z0-9\-._]$/;
const VALID_PATH_SEGMENT_CHARS = /^[a-zA-Z0-9\-._]$/;
export const DNS_LIKE_IDENTITY = /^(\*|[a-z0-9]([-a-z0-9]*[a-z0-9])?)(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;
export const DNS_LIKE_IDENTITY_TEXT = '^(\\*|[a-z0-9]([-a-z0-9]*[a-z0-9])?)(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$';

export function identityProblem(id: string): string | undefined {
  const prefix = 'spiffe://';
  if (id.startsWith(prefix)) {
    const rest = id.slice(prefix.length);
    const slash = rest.indexOf('/');
    const i = slash < 0 ? rest.length : slash;
    if (i === 0) return 'SPIFFE trust domain is missing';
    const td = rest.slice(0, i);
    if ([...td].some((c) => !VALID_TRUST_DOMAIN_CHARS.test(c))) return 'SPIFFE trust domain characters are limited to lowercase letters, numbers, dots, dashes, and underscores';
    const path = rest.slice(i);
    return path ? pathProblem(path) : undefined;
  }
  // The DNS-like pattern only uses ASCII classes; a JavaScript RegExp of our own making, never
  // a user-written one.
  return DNS_LIKE_IDENTITY.test(id) ? undefined : `identity must be a valid SPIFFE id or a DNS SAN, matching the regex: ${DNS_LIKE_IDENTITY_TEXT}`;
}

function pathProblem(path: string): string | undefined {
  let segmentStart = 0;
  for (let idx = 0; idx < path.length; idx++) {
    const c = path[idx]!;
    if (c === '/') {
      const segment = path.slice(segmentStart, idx);
      if (segment === '/') return 'SPIFFE path cannot contain empty segments';
      if (segment === '/.' || segment === '/..') return 'SPIFFE path cannot contain dot segments';
      segmentStart = idx;
      continue;
    }
    if (!VALID_PATH_SEGMENT_CHARS.test(c)) return 'SPIFFE path segment characters are limited to letters, numbers, dots, dashes, and underscores';
  }
  const last = path.slice(segmentStart);
  if (last === '/') return 'SPIFFE path cannot have a trailing slash';
  if (last === '/.' || last === '/..') return 'SPIFFE path cannot contain dot segments';
  return undefined;
}

/** A mesh identity of a ServiceAccount: `<sa>.<ns>.serviceaccount.identity.<cp-ns>.<trust-domain>`,
 * or the namespace wildcard `*.<ns>.serviceaccount.identity...`. */
export interface ServiceAccountIdentity {
  serviceAccount: string;
  namespace: string;
  /** `<cp-ns>.<trust-domain>`. */
  suffix: string;
}

export function parseServiceAccountIdentity(id: string): ServiceAccountIdentity | undefined {
  const match = /^([a-z0-9]([-a-z0-9]*[a-z0-9])?|\*)\.([a-z0-9]([-a-z0-9]*[a-z0-9])?)\.serviceaccount\.identity\.(.+)$/.exec(id);
  if (!match) return undefined;
  return { serviceAccount: match[1]!, namespace: match[3]!, suffix: match[5]! };
}

/** The Istio form `spiffe://<td>/ns/<ns>/sa/<sa>`. */
export function parseIstioSpiffe(id: string): { trustDomain: string; namespace: string; serviceAccount: string } | undefined {
  const match = /^spiffe:\/\/([a-z0-9\-._]+)\/ns\/([a-z0-9]([-a-z0-9]*[a-z0-9])?)\/sa\/([a-z0-9]([-a-z0-9.]*[a-z0-9])?)$/.exec(id);
  return match ? { trustDomain: match[1]!, namespace: match[2]!, serviceAccount: match[4]! } : undefined;
}

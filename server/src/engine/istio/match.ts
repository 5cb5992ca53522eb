/** Istio principals are written without the `spiffe://` scheme (AuthorizationPolicy `principals`, the simulator's peer). */
export function withoutSpiffe(principal: string): string {
  return principal.startsWith('spiffe://') ? principal.slice(9) : principal;
}

/** Istio's string match of a policy value: exact, `*`, `prefix*` or `*suffix`. */
export function stringMatch(pattern: string, value: string): boolean {
  if (pattern === '*') return true;
  if (pattern.endsWith('*')) return value.startsWith(pattern.slice(0, -1));
  if (pattern.startsWith('*')) return value.endsWith(pattern.slice(1));
  return pattern === value;
}

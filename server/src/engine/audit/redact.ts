/**
 * Header values that carry credentials never leave the engine in a report, a map or generated
 * YAML: they are replaced by a marker that keeps the header's presence visible.
 */
export const CREDENTIAL_HEADERS: readonly string[] = ['authorization', 'proxy-authorization', 'cookie', 'set-cookie', 'x-api-key'];

export const REDACTED = '[redacted]';

/** A copy of `headers` with the credential headers' values (and `extra` names) redacted. */
export function redactHeaders(headers: Record<string, string> | undefined, extra: readonly string[] = []): Record<string, string> | undefined {
  if (!headers) return undefined;
  const secret = new Set([...CREDENTIAL_HEADERS, ...extra.map((h) => h.toLowerCase())]);
  const out: Record<string, string> = {};
  for (const [name, value] of Object.entries(headers)) out[name] = secret.has(name.toLowerCase()) ? REDACTED : value;
  return out;
}

/** Query parameters whose values are credentials by their name (tokens, keys, passwords, signatures). */
const SECRET_QUERY = /^(access_?token|id_?token|refresh_?token|token|api_?key|apikey|key|secret|client_secret|password|passwd|pwd|auth|authorization|sig|signature|x-amz-signature|x-goog-signature|session|sessionid|jwt)$/i;

/** A path with the values of credential-like query parameters redacted. */
export function redactPath(path: string): string {
  const q = path.indexOf('?');
  if (q < 0) return path;
  const query = path.slice(q + 1).split('&').map((part) => {
    const eq = part.indexOf('=');
    if (eq < 0) return part;
    let name = part.slice(0, eq);
    try { name = decodeURIComponent(name); } catch { /* keep as written */ }
    return SECRET_QUERY.test(name) ? `${part.slice(0, eq)}=${REDACTED}` : part;
  });
  return `${path.slice(0, q)}?${query.join('&')}`;
}

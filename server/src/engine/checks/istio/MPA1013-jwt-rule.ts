import { replaceScalar } from '../../edits';
import type { Fix } from '../../findings';
import type { NodePath } from '../../source/tree';
import type { Check, CheckContext } from '../check';
import { parseDuration } from '../goDuration';
import { RA, isObj, list, specOf, type Obj } from './util';

/** The first `%` in `text` not followed by two hex digits, as Go's url.Parse reports it. */
function badEscape(text: string, host: boolean): string | undefined {
  for (let i = text.indexOf('%'); i >= 0; i = text.indexOf('%', i + 1)) {
    const escape = text.slice(i, i + 3);
    if (!/^%[0-9A-Fa-f]{2}$/.test(escape)) return `invalid URL escape ${JSON.stringify(escape)}`;
    // In a host name only non-ASCII bytes may be %-encoded (and %25, for IPv6 zones).
    if (host && parseInt(escape.slice(1), 16) < 0x80 && escape !== '%25') return `invalid URL escape ${JSON.stringify(escape)}`;
  }
  return undefined;
}

/** What Go's url.Parse rejects in a jwksUri beyond the scheme (which the schema checks). */
export function jwksUriError(uri: string): string | undefined {
  if (/[\x00-\x1f\x7f]/.test(uri)) return 'net/url: invalid control character in URL';
  const hash = uri.indexOf('#');
  const fragment = hash >= 0 ? uri.slice(hash + 1) : '';
  const withoutFragment = hash >= 0 ? uri.slice(0, hash) : uri;
  const match = /^[A-Za-z][A-Za-z0-9+.-]*:\/\/([^/?]*)([^?]*)/.exec(withoutFragment);
  if (!match) return undefined;
  const authority = match[1]!.slice(match[1]!.lastIndexOf('@') + 1);
  let host = authority;
  if (authority.startsWith('[')) {
    const close = authority.indexOf(']');
    if (close < 0) return 'missing \']\' in host';
    host = authority.slice(1, close);
    const rest = authority.slice(close + 1);
    if (rest !== '' && !/^:[0-9]*$/.test(rest)) return `invalid port ${JSON.stringify(rest)} after host`;
  } else {
    const colon = authority.lastIndexOf(':');
    if (colon >= 0) {
      const port = authority.slice(colon + 1);
      host = authority.slice(0, colon);
      if (!/^[0-9]*$/.test(port)) return `invalid port ${JSON.stringify(`:${port}`)} after host`;
    }
    const escape = badEscape(host, true);
    if (escape) return escape;
  }
  // Go allows the sub-delimiters and < > " in a host name; these ASCII characters it refuses.
  const bad = /[ `{}|\\^]/.exec(host);
  if (bad) return `invalid character ${JSON.stringify(bad[0])} in host name`;
  return badEscape(match[2]!, false) ?? badEscape(fragment, false);
}

/** Why istiod refuses a JWT rule's `timeout` (agent.ValidateDuration), or undefined; the CRD schema reports durations under 1ms. */
export function jwtTimeoutError(timeout: string): string | undefined {
  const nanoseconds = parseDuration(timeout);
  if (nanoseconds === undefined || nanoseconds < 1_000_000n) return undefined;
  return nanoseconds % 1_000_000n === 0n ? undefined : `timeout ${timeout} is not a whole number of milliseconds: istiod rejects it ("only durations to ms precision are supported")`;
}

const KEY_MEMBERS: Record<string, string[]> = { RSA: ['n', 'e'], EC: ['crv', 'x', 'y'], OKP: ['crv', 'x'], oct: ['k'] };
const PRIVATE_MEMBERS = ['d', 'p', 'q', 'dp', 'dq', 'qi', 'oth'];

/** Checks an inline JWKS roughly as the jwx library istiod uses would parse it. */
export function jwksProblems(jwks: string): { error?: string; privateKeys: string[] } {
  let parsed: unknown;
  try {
    parsed = JSON.parse(jwks);
  } catch (error) {
    return { error: `jwks parse error: not JSON (${error instanceof Error ? error.message : String(error)})`, privateKeys: [] };
  }
  if (!isObj(parsed)) return { error: 'jwks parse error: expected a JSON object (a key set {"keys": [...]} or a single key)', privateKeys: [] };
  const keys = 'keys' in parsed ? parsed['keys'] : [parsed];
  if (!Array.isArray(keys)) return { error: 'jwks parse error: "keys" must be a list of keys', privateKeys: [] };
  const privateKeys: string[] = [];
  for (const [i, key] of keys.entries()) {
    const name = `key ${isObj(key) && typeof key['kid'] === 'string' ? JSON.stringify(key['kid']) : i}`;
    if (!isObj(key)) return { error: `jwks parse error: ${name} is not an object`, privateKeys };
    const kty = key['kty'];
    if (typeof kty !== 'string') return { error: `jwks parse error: ${name} has no "kty"`, privateKeys };
    const members = KEY_MEMBERS[kty];
    if (!members) return { error: `jwks parse error: ${name} has an unsupported "kty" ${JSON.stringify(kty)} (RSA, EC, OKP or oct)`, privateKeys };
    const missing = members.filter((m) => typeof key[m] !== 'string');
    if (missing.length) return { error: `jwks parse error: ${name} (${kty}) is missing ${missing.map((m) => `"${m}"`).join(', ')}`, privateKeys };
    if (kty === 'oct' || PRIVATE_MEMBERS.some((m) => key[m] !== undefined)) privateKeys.push(name);
  }
  return { privateKeys };
}

function checkRule(ctx: CheckContext, rule: Obj, path: NodePath): void {
  const issuer = rule['issuer'];
  const uriField = rule['jwksUri'] !== undefined ? 'jwksUri' : 'jwks_uri';
  const uri = rule[uriField];
  if ((issuer === undefined || issuer === '') && (uri === undefined || uri === '')) {
    ctx.report({ path }, 'issuer or jwksUri must be non-empty string: a JWT rule needs the issuer (iss) it accepts, or the URL of its keys');
  }
  if (typeof uri === 'string' && uri !== '') {
    const error = jwksUriError(uri);
    if (error) ctx.report({ path: [...path, uriField] }, `jwksUri ${JSON.stringify(uri)} does not parse as a URL: ${error}`);
  }
  const timeout = rule['timeout'];
  if (typeof timeout === 'string') {
    const error = jwtTimeoutError(timeout);
    if (error) ctx.report({ path: [...path, 'timeout'] }, error);
  }
  const jwks = rule['jwks'];
  if (typeof jwks === 'string' && jwks !== '') {
    const { error, privateKeys } = jwksProblems(jwks);
    if (error) ctx.report({ path: [...path, 'jwks'] }, error);
    else if (privateKeys.length) {
      ctx.report({ path: [...path, 'jwks'] }, `jwks contains private key material (${privateKeys.join(', ')}): publish only the public keys; anyone who can read this resource can sign tokens`, { severity: 'warning' });
    }
  }
  list(rule['outputClaimToHeaders']).forEach((item, i) => {
    if (!isObj(item) || typeof item['header'] !== 'string') return;
    const header = item['header'];
    // The CRD accepts [-_A-Za-z0-9]; istiod's ValidateStrictHTTPHeaderName does not take "_".
    if (!/^[-_A-Za-z0-9]+$/.test(header) || /^[-A-Za-z0-9]+$/.test(header)) return;
    const headerPath = [...path, 'outputClaimToHeaders', i, 'header'];
    const node = ctx.locate(headerPath).node;
    const fixed = header.replace(/_/g, '-');
    const fixes: Fix[] = node ? [{ title: `Change to ${fixed}`, edits: [replaceScalar(ctx.file, node, fixed)], preferred: true }] : [];
    ctx.report({ path: headerPath }, `header name ${header} is not a valid header name: istiod accepts letters, digits and "-" only (Envoy drops headers with "_" by default)`, { fixes });
  });
}

/** istiod's validateJwtRule (§1.9.4) beyond what the CRD schema checks. */
export const jwtRuleCheck: Check = {
  code: 'MPA1013',
  mesh: 'istio',
  title: 'Invalid JWT rule',
  defaultSeverity: 'error',
  admissionRefusal: true,
  upstream: 'istiod webhook (validateJwtRule): "issuer or jwksUri must be non-empty string", "jwks parse error", "header name NAME is not a valid header name", "only durations to ms precision are supported"; private key warning',
  kinds: [RA],
  run(ctx) {
    list(specOf(ctx)?.['jwtRules']).forEach((rule, i) => {
      if (isObj(rule)) checkRule(ctx, rule, ['spec', 'jwtRules', i]);
    });
  },
};

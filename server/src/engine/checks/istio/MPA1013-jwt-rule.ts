import { replaceScalar } from '../../edits';
import type { Fix } from '../../findings';
import type { NodePath } from '../../source/tree';
import type { Check, CheckContext } from '../check';
import { RA, isObj, list, specOf, type Obj } from './util';

/** What Go's url.Parse rejects in a jwksUri beyond the scheme (which the schema checks). */
export function jwksUriError(uri: string): string | undefined {
  if (/[\x00-\x1f\x7f]/.test(uri)) return 'net/url: invalid control character in URL';
  const match = /^[A-Za-z][A-Za-z0-9+.-]*:\/\/([^/?#]*)/.exec(uri);
  if (!match) return undefined;
  const authority = match[1]!.slice(match[1]!.lastIndexOf('@') + 1);
  let port = '';
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
      port = authority.slice(colon + 1);
      host = authority.slice(0, colon);
      if (!/^[0-9]*$/.test(port)) return `invalid port ${JSON.stringify(`:${port}`)} after host`;
    }
  }
  const bad = /[ <>"`{}|\\^]/.exec(host);
  if (bad) return `invalid character ${JSON.stringify(bad[0])} in host name`;
  return undefined;
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
  upstream: 'istiod webhook (validateJwtRule): "issuer or jwksUri must be non-empty string", "jwks parse error", "header name NAME is not a valid header name"; private key warning',
  kinds: [RA],
  run(ctx) {
    list(specOf(ctx)?.['jwtRules']).forEach((rule, i) => {
      if (isObj(rule)) checkRule(ctx, rule, ['spec', 'jwtRules', i]);
    });
  },
};

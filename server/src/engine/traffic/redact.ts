import type { AccessRecord } from './accessRecord';

/**
 * Secrets in observed traffic never reach output: the one place that decides what is a secret and
 * how it is masked, for every adapter (CLI text, JSON, JSONL, SARIF, explain; hovers; reports).
 *
 * - request headers that carry credentials (`authorization`, `proxy-authorization`, `cookie`,
 *   `set-cookie`, `x-api-key`, plus `redact.headers` of `.meshpolicy.yaml`) keep their name and
 *   lose their value;
 * - JWTs anywhere in text (three base64url parts, the first starting `eyJ`) and in any header's
 *   value, credentials after `Bearer`/`Basic`, and query parameters that carry tokens
 *   (`access_token=`, `api_key=`, ..., names percent-decoded and in any case);
 * - the values above, wherever else they turn up in text (a trace quoting a header's value).
 */

export const DEFAULT_REDACTED_HEADERS: readonly string[] = ['authorization', 'proxy-authorization', 'cookie', 'set-cookie', 'x-api-key'];
export const REDACTED = '[redacted]';

const JWT = /\beyJ[A-Za-z0-9_-]{2,}\.[A-Za-z0-9_-]{2,}\.[A-Za-z0-9_-]*/g;
// Not after `-`: `x-internal-token header` names a header, it is no `Token <credential>`.
const SCHEME_CREDENTIALS = /(?<![\w-])(Bearer|Basic|Digest|Negotiate|Token)(\s+)[A-Za-z0-9._~+/=-]{4,}/gi;
const QUERY_PARAM = /([?&;])([^=&#;?\s"']+)=([^&#\s"']*)/g;
const SECRET_QUERY_NAME = /^(?:access_?token|id_?token|refresh_?token|token|api_?key|apikey|api-key|key|password|passwd|pwd|secret|client_secret|sig|signature|x-amz-signature|x-goog-signature|auth|authorization|session|sessionid|jwt)$/;
/** Values shorter than this are not searched for in free text: too likely to hit ordinary words. */
const MIN_SECRET_LENGTH = 6;

export class Redactor {
  private readonly headers: Set<string>;

  /** `extraHeaders`: more header names whose values are secret (case-insensitive). */
  constructor(extraHeaders: readonly string[] = []) {
    this.headers = new Set([...DEFAULT_REDACTED_HEADERS, ...extraHeaders.map((h) => h.toLowerCase())]);
  }

  isSecretHeader(name: string): boolean {
    return this.headers.has(name) || this.headers.has(name.toLowerCase());
  }

  /** A copy of request headers with the secret ones' values masked (names kept: their presence shows), the others as `text` masks them. */
  maskHeaders<V>(headers: Record<string, V> | undefined, secrets: readonly string[] = []): Record<string, V | string> | undefined {
    if (!headers) return undefined;
    const out: Record<string, V | string> = {};
    for (const [name, value] of Object.entries(headers)) out[name] = this.isSecretHeader(name) ? REDACTED : typeof value === 'string' ? this.text(value, secrets) : value;
    return out;
  }

  /** The secret values a record carries, to scrub from text printed about it. */
  secretsOf(record: AccessRecord | undefined): string[] {
    const out = new Set<string>();
    const headers = record?.request?.headers;
    if (headers && typeof headers === 'object') {
      for (const name in headers) {
        const value = (headers as Record<string, unknown>)[name];
        if (typeof value === 'string' && Object.prototype.hasOwnProperty.call(headers, name) && this.isSecretHeader(name)) addSecret(out, value);
      }
    }
    const path = record?.request?.path;
    // (both patterns need these characters: most paths are passed over without a regex)
    if (typeof path === 'string') {
      if (path.includes('=')) for (const m of path.matchAll(QUERY_PARAM)) if (isSecretQueryName(m[2]!)) addSecret(out, m[3]!);
      if (path.includes('eyJ')) for (const m of path.matchAll(JWT)) addSecret(out, m[0]);
    }
    return out.size === 0 ? [] : [...out].sort((a, b) => b.length - a.length);
  }

  /** Every secret value the records carry, indexed to be found in any text at once (the editor's many calls). */
  secretValues(records: Iterable<AccessRecord>): SecretValues {
    const values = new SecretValues();
    for (const record of records) for (const secret of this.secretsOf(record)) values.add(secret);
    return values;
  }

  /** Text with JWTs, scheme credentials, token query parameters and the given secret values masked. */
  text(text: string, secrets: readonly string[] | SecretValues = []): string {
    let out = text;
    if (secrets instanceof SecretValues) out = secrets.scrub(out);
    else for (const secret of secrets) if (out.includes(secret)) out = out.split(secret).join(REDACTED);
    if (out.includes('eyJ')) out = out.replace(JWT, REDACTED);
    return out.replace(SCHEME_CREDENTIALS, (_m, scheme: string, space: string) => `${scheme}${space}${REDACTED}`).replace(QUERY_PARAM, (m, sep: string, name: string) => (isSecretQueryName(name) ? `${sep}${name}=${REDACTED}` : m));
  }

  /** A finding whose message and related messages (which quote calls) are masked as `text` masks. */
  finding<F extends { message: string; related?: { message: string }[] }>(finding: F, secrets: readonly string[] | SecretValues = []): F {
    return {
      ...finding,
      message: this.text(finding.message, secrets),
      ...(finding.related ? { related: finding.related.map((r) => ({ ...r, message: this.text(r.message, secrets) })) } : {}),
    };
  }

  /** A copy of the record with secret header values and path credentials masked (the record itself is not changed). */
  record(record: AccessRecord): AccessRecord {
    const request = record.request;
    if (!request || typeof request !== 'object') return record;
    const secrets = this.secretsOf(record);
    const copy: AccessRecord = { ...record, request: { ...request } };
    if (typeof request.path === 'string') copy.request!.path = this.text(request.path, secrets);
    if (request.headers && typeof request.headers === 'object') copy.request!.headers = this.maskHeaders(request.headers, secrets);
    return copy;
  }

  /**
   * Any value about to be printed (a decision, a JSON result): strings are scrubbed, `headers`
   * objects lose their secret values, records inside are redacted as records.
   */
  deep<T>(value: T, secrets: readonly string[] | SecretValues = []): T {
    const visit = (v: unknown, key: string | undefined): unknown => {
      if (typeof v === 'string') return key !== undefined && this.isSecretHeader(key) ? REDACTED : this.text(v, secrets);
      if (Array.isArray(v)) return v.map((item) => visit(item, undefined));
      if (v && typeof v === 'object') {
        if (v instanceof Map) return new Map([...v].map(([k, x]) => [k, visit(x, undefined)]));
        return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, visit(x, k)]));
      }
      return v;
    };
    return visit(value, undefined) as T;
  }
}

/**
 * Whether a query parameter name carries a credential, read as the server reads it: percent-decoded
 * (`access%5Ftoken`; again while it changes, so a double encoding cannot hide one) and in any case.
 */
function isSecretQueryName(raw: string): boolean {
  let name = raw;
  for (let i = 0; i < 3 && name.includes('%'); i++) {
    const decoded = name.replace(/%([0-9a-fA-F]{2})/g, (_m, hex: string) => String.fromCharCode(parseInt(hex, 16)));
    if (decoded === name) break;
    name = decoded;
  }
  return SECRET_QUERY_NAME.test(name.toLowerCase());
}

/** A secret value, and its parts that may be quoted on their own (`Bearer <token>`, `a=1; b=2`). */
function addSecret(out: Set<string>, value: string): void {
  if (value.length >= MIN_SECRET_LENGTH) out.add(value);
  for (const part of value.split(/[\s;,]+/)) {
    const token = part.includes('=') && !part.startsWith('ey') ? part.slice(part.indexOf('=') + 1) : part;
    if (token.length >= MIN_SECRET_LENGTH && !/^(bearer|basic|digest|negotiate|token)$/i.test(token)) out.add(token);
  }
}

/**
 * Known secret values, found in any text in one pass however many there are: each is indexed by
 * its first MIN_SECRET_LENGTH characters. Each value is also indexed as it reads once escaped for
 * JSON strings (traces quote values), markdown table cells and HTML, so that escaping done by a
 * renderer cannot hide it.
 */
export class SecretValues {
  private readonly byPrefix = new Map<string, string[]>();

  get size(): number {
    return this.byPrefix.size;
  }

  add(secret: string): void {
    const forms = new Set([
      secret,
      JSON.stringify(secret).slice(1, -1),
      secret.replace(/\\/g, '\\\\').replace(/\|/g, '\\|').replace(/([*_`[\]<>])/g, '\\$1'),
      secret.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;').replace(/'/g, '&#39;'),
    ]);
    for (const form of forms) {
      if (form.length < MIN_SECRET_LENGTH) continue;
      const key = form.slice(0, MIN_SECRET_LENGTH);
      const list = this.byPrefix.get(key) ?? [];
      if (list.includes(form)) continue;
      list.push(form);
      list.sort((a, b) => b.length - a.length); // the longest match wins
      this.byPrefix.set(key, list);
    }
  }

  /** `text` with every occurrence of a known value replaced by REDACTED. */
  scrub(text: string): string {
    if (this.byPrefix.size === 0 || text.length < MIN_SECRET_LENGTH) return text;
    let out = '';
    let copied = 0;
    for (let i = 0; i + MIN_SECRET_LENGTH <= text.length;) {
      const match = this.byPrefix.get(text.slice(i, i + MIN_SECRET_LENGTH))?.find((secret) => text.startsWith(secret, i));
      if (match === undefined) {
        i++;
        continue;
      }
      out += text.slice(copied, i) + REDACTED;
      i += match.length;
      copied = i;
    }
    return copied === 0 ? text : out + text.slice(copied);
  }
}

const DEFAULT_REDACTOR = new Redactor();

/** A request path with JWTs and credential query parameters masked, for one-line descriptions of calls. */
export function redactPathCredentials(path: string): string {
  return path.includes('=') || path.includes('eyJ') ? DEFAULT_REDACTOR.text(path) : path;
}

/** The redactor for a configuration: `redact.headers` adds header names to the default list. */
export function redactorFor(config: { redact?: { headers: string[] } } | undefined): Redactor {
  return new Redactor(config?.redact?.headers ?? []);
}

/**
 * Request paths as Istio's proxies see them before authorization (spec §0.2, §1.6), and path
 * templates `{*}` / `{**}` (Envoy `uri_template`).
 */

export type PathNormalization = 'NONE' | 'BASE' | 'MERGE_SLASHES' | 'DECODE_AND_MERGE_SLASHES';

/** Unreserved characters RFC 3986 §2.3: decoded by Envoy's `normalize_path` (one pass). */
function isUnreserved(c: number): boolean {
  return (c >= 65 && c <= 90) || (c >= 97 && c <= 122) || (c >= 48 && c <= 57) || c === 45 || c === 46 || c === 95 || c === 126;
}

function hex(c: number): number {
  if (c >= 48 && c <= 57) return c - 48;
  if (c >= 97 && c <= 102) return c - 87;
  if (c >= 65 && c <= 70) return c - 55;
  return -1;
}

/** The result of normalizing: the path to match, or why the proxy answers 400 first. */
export type NormalizedPath = { ok: true; path: string } | { ok: false; reason: string };

const NUL_REASON = 'the path contains %00, which the proxy rejects (400) before authorization';

/** Like normalizePath, without allocating a result: the path, or null when the proxy rejects it
 * (the reason is `rejectionReason`). */
export function normalizePathFast(raw: string, mode: PathNormalization): string | null {
  let end = raw.length;
  for (let i = 0; i < raw.length; i++) {
    const c = raw.charCodeAt(i);
    if (c === 63 /* ? */ || c === 35 /* # */) { end = i; break; }
  }
  const path = end === raw.length ? raw : raw.slice(0, end);
  if (mode === 'NONE' || isPlain(path)) return path;
  const result = normalizePath(path, mode);
  return result.ok ? result.path : null;
}

export const rejectionReason = NUL_REASON;

function isPlain(path: string): boolean {
  for (let i = 0; i < path.length; i++) {
    const c = path.charCodeAt(i);
    if (c === 37 || c === 92 || ((c === 46 || c === 47) && i > 0 && path.charCodeAt(i - 1) === 47)) return false;
  }
  return true;
}

/**
 * Strips query and fragment, then applies the mesh's normalization:
 * NONE = nothing; BASE (Istio's default) = Envoy `normalize_path` (decode percent-encoded
 * unreserved characters once, `\` → `/`, RFC 3986 dot-segment removal); MERGE_SLASHES = BASE +
 * collapse runs of `/`; DECODE_AND_MERGE_SLASHES = decode `%2F %5C` first, then MERGE_SLASHES.
 * `%00` is rejected (400) whenever normalization is on.
 */
export function normalizePath(raw: string, mode: PathNormalization): NormalizedPath {
  let end = raw.length;
  for (let i = 0; i < raw.length; i++) {
    const c = raw.charCodeAt(i);
    if (c === 63 /* ? */ || c === 35 /* # */) { end = i; break; }
  }
  let path = end === raw.length ? raw : raw.slice(0, end);
  if (mode === 'NONE') return { ok: true, path };
  // Fast path: nothing to decode, no backslash, no dot segment, no double slash.
  if (isPlain(path)) return { ok: true, path };
  if (path.includes('%00')) return { ok: false, reason: NUL_REASON };
  if (mode === 'DECODE_AND_MERGE_SLASHES') path = path.replace(/%2f/gi, '/').replace(/%5c/gi, '\\');
  path = decodeUnreserved(path).replace(/\\/g, '/');
  path = removeDotSegments(path);
  if (mode === 'MERGE_SLASHES' || mode === 'DECODE_AND_MERGE_SLASHES') path = path.replace(/\/{2,}/g, '/');
  return { ok: true, path };
}

function decodeUnreserved(path: string): string {
  if (!path.includes('%')) return path;
  let out = '';
  let last = 0;
  for (let i = 0; i < path.length; i++) {
    if (path.charCodeAt(i) !== 37 || i + 2 >= path.length) continue;
    const h = hex(path.charCodeAt(i + 1));
    const l = hex(path.charCodeAt(i + 2));
    if (h < 0 || l < 0) continue;
    const code = h * 16 + l;
    if (!isUnreserved(code)) continue;
    out += path.slice(last, i) + String.fromCharCode(code);
    last = i + 3;
    i += 2;
  }
  return last === 0 ? path : out + path.slice(last);
}

/** RFC 3986 §5.2.4 remove_dot_segments. */
export function removeDotSegments(input: string): string {
  if (!input.includes('.')) return input;
  const output: string[] = [];
  let i = input;
  while (i.length > 0) {
    if (i.startsWith('../')) i = i.slice(3);
    else if (i.startsWith('./')) i = i.slice(2);
    else if (i.startsWith('/./')) i = i.slice(2);
    else if (i === '/.') i = '/';
    else if (i.startsWith('/../')) { i = i.slice(3); output.pop(); }
    else if (i === '/..') { i = '/'; output.pop(); }
    else if (i === '.' || i === '..') i = '';
    else {
      const next = i.indexOf('/', i.startsWith('/') ? 1 : 0);
      const segment = next < 0 ? i : i.slice(0, next);
      output.push(segment);
      i = next < 0 ? '' : i.slice(next);
    }
  }
  return output.join('');
}

const SEGMENT = "[a-zA-Z0-9\\-._~%!$&'()+,;:@=]";
const LITERAL = /^[a-zA-Z0-9\-._~%!$&'()+,;:@=]+$/;

/** Whether a `paths` value is a template (contains `{*}` or `{**}`). */
export function isTemplate(value: string): boolean {
  return value.includes('{*}') || value.includes('{**}');
}

/** How the reason begins when Envoy (not istiod's validation) refuses what istiod generates. */
export const ENVOY_REFUSES = 'Envoy refuses';

/**
 * Compiles a path template to a full-match regular expression, the way Envoy's `uri_template`
 * does: split on `/`; `{*}` = one or more segment characters (never `/`); `{**}` = zero or more
 * characters including `/`; literal segments match themselves; `/` between segments is literal.
 * The expression has at most one unbounded class that can contain `/`, so it runs in linear time.
 * Returns an error message for a template istiod rejects (spec §1.9.2 O5–O7: checked on the path
 * without its leading and trailing slashes, as istiod's `CheckValidPathTemplate` does), or one
 * beginning with `ENVOY_REFUSES` for a template istiod accepts and hands on but Envoy's template
 * parser does not: one that does not begin with `/`, or has an empty segment (`//`) other than a
 * single trailing `/` (envoy `uri_template_internal.cc` `parsePathPatternSyntax`).
 */
export function compileTemplate(template: string): RegExp | string {
  // istiod's validation, on the path without leading and trailing slashes.
  const trimmed = template.replace(/^\/+|\/+$/g, '');
  let sawDoubleStar = false;
  for (const segment of trimmed.split('/')) {
    if (segment === '{*}' || segment === '{**}') {
      if (sawDoubleStar) return `invalid path template ${template}: {**} is not the last operator`;
      if (segment === '{**}') sawDoubleStar = true;
      continue;
    }
    if (segment.includes('{') || segment.includes('}')) return `invalid or unsupported path ${template}: contains '{' or '}' beyond a supported path template`;
    if (!LITERAL.test(segment)) return `invalid path template ${template}: segment "${segment}" has an invalid literal`;
  }
  // Envoy's parser: a leading `/`, then non-empty segments, and at most one trailing `/`.
  if (!template.startsWith('/')) return `${ENVOY_REFUSES} the path template ${template} that istiod generates: it does not begin with "/"`;
  const segments = template.slice(1).split('/');
  const parts: string[] = [];
  for (let index = 0; index < segments.length; index++) {
    const segment = segments[index]!;
    if (segment === '' && !(index > 0 && index === segments.length - 1)) return `${ENVOY_REFUSES} the path template ${template} that istiod generates: it has an empty segment ("//")`;
    if (segment === '{*}') parts.push(`${SEGMENT}+`);
    else if (segment === '{**}') parts.push(`(?:${SEGMENT}|/)*`);
    else parts.push(segment.replace(/[.*+?^${}()|[\]\\]/g, '\\$&'));
  }
  return new RegExp(`^/${parts.join('/')}$`);
}

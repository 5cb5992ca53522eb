import { escapeRegex } from '../../audit/generate/yaml';
import { compileTemplate, isTemplate } from '../../simulate/istio/path';
import type { PathMatch } from '../model';

/**
 * Istio `paths` values ↔ the model's path matches. Istio has exact values, `prefix*`, `*suffix`,
 * `*` (any path) and templates (spec §1.6: `{*}` one segment of one or more characters, `{**}`
 * any characters, `/` included; the simulator's `compileTemplate` is the reference). A template
 * becomes the regular expression below, which `istioPath` recognizes to write it back.
 */

const SEGMENT = "[a-zA-Z0-9\\-._~%!$&'()+,;:@=]";
const ONE = `${SEGMENT}+`;
const ANY = `(?:${SEGMENT}|/)*`;
const LITERAL_SEGMENT = /^[a-zA-Z0-9\-._~%!$&'()+,;:@=]+$/;
const METACHARACTERS = /[.*+?^${}()|[\]\\]/;

/** A template's regular expression (RE2, whole path), as Envoy's uri_template matches it. */
export function templateRegex(template: string): string {
  return template.split('/').map((s) => (s === '{*}' ? ONE : s === '{**}' ? ANY : escapeRegex(s))).join('/');
}

/** A `paths` value as a path match. */
export function pathMatchOf(value: string): PathMatch {
  if (isTemplate(value)) return { kind: 'regex', value: templateRegex(value) };
  if (value.startsWith('*')) return { kind: 'regex', value: `.*${escapeRegex(value.slice(1))}` };
  if (value.endsWith('*')) return { kind: 'prefix', value: value.slice(0, -1) };
  return { kind: 'exact', value };
}

/** The text of an escaped literal, or undefined when it has an unescaped metacharacter. */
function literal(regex: string): string | undefined {
  let out = '';
  for (let i = 0; i < regex.length; i++) {
    const c = regex[i]!;
    if (c === '\\') {
      const next = regex[i + 1];
      if (next === undefined || /[a-zA-Z0-9]/.test(next)) return undefined;
      out += next;
      i++;
    } else if (METACHARACTERS.test(c)) return undefined;
    else out += c;
  }
  return out;
}

/** Whether Istio reads `value` as written (not as a pattern or an invalid template). */
function plain(value: string): boolean {
  return value !== '' && !value.startsWith('*') && !value.endsWith('*') && !value.includes('{') && !value.includes('}');
}

/** The Istio `paths` value that matches exactly what `match` matches, when there is one. */
export function istioPath(match: PathMatch): string | undefined {
  if (match.kind === 'exact') return plain(match.value) ? match.value : undefined;
  if (match.kind === 'prefix') {
    if (match.value === '') return '*';
    return plain(match.value) || (match.value.endsWith('*') && plain(match.value.slice(0, -1))) ? `${match.value}*` : undefined;
  }
  const regex = match.value.replace(/^\^/, '').replace(/\$$/, '');
  const whole = literal(regex);
  if (whole !== undefined) return plain(whole) ? whole : undefined;
  if (regex.startsWith('.*')) {
    const suffix = literal(regex.slice(2));
    if (suffix !== undefined && suffix !== '' && !suffix.includes('*') && !suffix.includes('{') && !suffix.includes('}')) return `*${suffix}`;
  }
  if (regex.endsWith('.*')) {
    const prefix = literal(regex.slice(0, -2));
    if (prefix !== undefined && plain(prefix)) return `${prefix}*`;
  }
  return templateOf(regex);
}

/** A regular expression of `templateRegex`'s form back as its template. */
function templateOf(regex: string): string | undefined {
  const marked = regex.split(ANY).join('\u0001').split(ONE).join('\u0002');
  if (!marked.includes('\u0001') && !marked.includes('\u0002')) return undefined;
  const segments: string[] = [];
  for (const part of marked.split('/')) {
    if (part === '\u0001') segments.push('{**}');
    else if (part === '\u0002') segments.push('{*}');
    else {
      const text = literal(part);
      if (text === undefined || /[\u0001\u0002]/.test(part)) return undefined;
      segments.push(text);
    }
  }
  const template = segments.join('/');
  // a segment Istio does not accept as a template literal, or `{**}` not last: no template
  const check = compileTemplate(template);
  if (typeof check === 'string' || !isTemplate(template)) return undefined;
  return segments.every((s, i) => s === '{*}' || s === '{**}' || (s === '' ? i === 0 || i === segments.length - 1 : LITERAL_SEGMENT.test(s))) ? template : undefined;
}

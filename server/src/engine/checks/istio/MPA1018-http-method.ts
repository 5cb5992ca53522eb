import { replaceScalar } from '../../edits';
import type { Fix } from '../../findings';
import type { Check } from '../check';
import { AP, closest, operationsOf, rulesOf, specOf, strings } from './util';

const STANDARD = ['GET', 'HEAD', 'POST', 'PUT', 'DELETE', 'CONNECT', 'OPTIONS', 'TRACE', 'PATCH'];
/** Registered extension methods (WebDAV and friends) that a proxy may legitimately see. */
const EXTENSION = ['PROPFIND', 'PROPPATCH', 'MKCOL', 'COPY', 'MOVE', 'LOCK', 'UNLOCK', 'SEARCH', 'REPORT', 'MKACTIVITY', 'CHECKOUT', 'CHECKIN', 'MERGE', 'MKCALENDAR', 'ACL', 'BIND', 'UNBIND', 'REBIND', 'LINK', 'UNLINK', 'UPDATE', 'LABEL', 'VERSION-CONTROL', 'BASELINE-CONTROL', 'MKWORKSPACE', 'ORDERPATCH', 'UNCHECKOUT', 'UPDATEREDIRECTREF', 'PURGE', 'PRI', 'QUERY', 'NOTIFY', 'SUBSCRIBE', 'UNSUBSCRIBE', 'M-SEARCH'];
const KNOWN = new Set([...STANDARD, ...EXTENSION]);

/** The part of a match value that is compared literally (Istio treats one leading or trailing `*` as a wildcard). */
function literal(value: string): { text: string; rebuild: (text: string) => string } {
  if (value === '*') return { text: '', rebuild: () => value };
  if (value.startsWith('*')) return { text: value.slice(1), rebuild: (t) => `*${t}` };
  if (value.endsWith('*')) return { text: value.slice(0, -1), rebuild: (t) => `${t}*` };
  return { text: value, rebuild: (t) => t };
}

function couldMatchKnown(value: string): boolean {
  if (value === '*') return true;
  if (value.startsWith('*')) return [...KNOWN].some((m) => m.endsWith(value.slice(1)));
  if (value.endsWith('*')) return [...KNOWN].some((m) => m.startsWith(value.slice(0, -1)));
  return KNOWN.has(value);
}

/** Kiali KIA0102 and §1.4.2: methods are compared case-sensitively with the request's method,
 * which Envoy only accepts in upper case, so anything else never matches. */
export const httpMethodCheck: Check = {
  code: 'MPA1018',
  mesh: 'istio',
  title: 'Not an HTTP method',
  defaultSeverity: 'warning',
  upstream: 'Kiali KIA0102 "Only HTTP methods and fully-qualified gRPC names are allowed"; not checked by istiod',
  kinds: [AP],
  run(ctx) {
    for (const rule of rulesOf(specOf(ctx))) {
      for (const operation of operationsOf(rule)) {
        for (const field of ['methods', 'notMethods']) {
          for (const { value, index } of strings(operation.operation[field])) {
            if (value === '' || couldMatchKnown(value)) continue;
            const path = [...operation.path, field, index];
            const node = ctx.locate(path).node;
            const { text, rebuild } = literal(value.trim());
            const upper = text.toUpperCase();
            const fixes: Fix[] = [];
            const effect = field === 'methods' ? 'so this value never matches a request' : 'so excluding it excludes nothing';
            let message: string;
            if (value.startsWith('/') || /^[\w.]+\/\w+$/.test(value)) {
              message = `${JSON.stringify(value)} looks like a gRPC method: gRPC calls always use the HTTP method POST, and the gRPC method is the path (/package.Service/Method); move it to ${field === 'methods' ? 'paths' : 'notPaths'}`;
            } else if (couldMatchKnown(rebuild(upper))) {
              const fixed = rebuild(upper);
              if (node) fixes.push({ title: `Change to ${fixed}`, edits: [replaceScalar(ctx.file, node, fixed)], preferred: true });
              message = `HTTP method ${JSON.stringify(value)} is not upper case: methods are case-sensitive and the proxy rejects requests whose method is not upper case, ${effect}; use ${fixed}`;
            } else {
              const near = closest(upper, KNOWN, 2);
              if (near && node) fixes.push({ title: `Change to ${rebuild(near)}`, edits: [replaceScalar(ctx.file, node, rebuild(near))], preferred: true });
              // (an upper-case token is an extension method HTTP allows, which a client may send: rare, not impossible)
              const extension = /^[!#$%&'*+\-.^_`|~0-9A-Z]+$/.test(text) ? (field === 'methods' ? 'so only a client sending this extension method matches it' : 'so it excludes only requests with this extension method') : undefined;
              message = `${JSON.stringify(value)} is not ${extension ? 'a registered' : 'an'} HTTP method, ${extension ?? effect}${near ? `; did you mean ${rebuild(near)}?` : ''}`;
            }
            ctx.report({ path }, message, { fixes });
          }
        }
      }
    }
  },
};

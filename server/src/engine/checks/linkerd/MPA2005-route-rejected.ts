import type { Check, CheckContext } from '../check';
import { GATEWAY_GROUP, POLICY_GROUP, arr, isRec, quote, replaceFix, str, targetsKind, type Rec } from './lib/common';
import { parseDuration } from '../goDuration';
import { routeAnnotationProblems } from './lib/routeAnnotations';
import { AnchoredRegex } from '../../simulate/linkerd/regex';

/** HTTPRoute and GRPCRoute rules of Linkerd's admission webhook beyond the schemas
 * (linkerd/linkerd2:policy-controller/runtime/src/admission.rs `Validate<HttpRouteSpec>`,
 * `Validate<gateway::HTTPRouteSpec>`, `Validate<gateway::GRPCRouteSpec>`;
 * k8s/index/src/routes/http.rs `path_match`, `header_match`, `query_param_match`, `req_redirect`;
 * for a route with a Service or EgressNetwork parent, the retry, timeout and failure-accrual
 * annotations of k8s/index/src/outbound/index.rs, see lib/routeAnnotations.ts). */

type Path = (string | number)[];

/** Compiles a user's regular expression as Linkerd does (Rust `regex`: RE2 syntax, no
 * backreferences, no lookaround, and a brace that is not a repetition refused), the simulator's way. */
function regexError(pattern: string): string | undefined {
  const compiled = AnchoredRegex.compile(pattern);
  return 'error' in compiled ? compiled.error : undefined;
}

/** `http::HeaderValue` refuses control characters other than tab. */
function badHeaderValue(value: string): boolean {
  return [...value].some((c) => {
    const code = c.charCodeAt(0);
    return (code < 0x20 && code !== 0x09) || code === 0x7f;
  });
}

function checkRegex(context: CheckContext, path: Path, what: string, pattern: string): void {
  const error = regexError(pattern);
  if (error) context.report({ path }, `${what} ${quote(pattern)} is not a valid regular expression (${error}); the admission webhook rejects the route`);
}

function checkMatch(context: CheckContext, match: Rec, path: Path, schemaChecksPaths: boolean): void {
  const pathMatch = match['path'];
  if (isRec(pathMatch)) {
    const type = str(pathMatch['type']) ?? 'PathPrefix';
    const value = str(pathMatch['value']) ?? '/';
    if (type === 'RegularExpression') {
      checkRegex(context, [...path, 'path', 'value'], 'path', value);
    } else if (!value.startsWith('/') && !schemaChecksPaths && typeof pathMatch['value'] === 'string') {
      context.report({ path: [...path, 'path', 'value'] }, `${type} path ${quote(value)} must start with "/"; the admission webhook rejects the route ("HttpPathMatch paths must be absolute (begin with \`/\`)")`, {
        fixes: replaceFix(context, [...path, 'path', 'value'], `/${value}`, `Change to ${quote(`/${value}`)}`),
      });
    }
  }
  arr(match['headers']).forEach((header, k) => {
    if (!isRec(header) || typeof header['value'] !== 'string') return;
    const valuePath = [...path, 'headers', k, 'value'];
    if (header['type'] === 'RegularExpression') checkRegex(context, valuePath, 'header pattern', header['value']);
    else if (badHeaderValue(header['value'])) context.report({ path: valuePath }, 'header value contains a control character, which is not a valid HTTP header value; the admission webhook rejects the route');
  });
  arr(match['queryParams']).forEach((param, k) => {
    if (isRec(param) && param['type'] === 'RegularExpression' && typeof param['value'] === 'string') checkRegex(context, [...path, 'queryParams', k, 'value'], 'query parameter pattern', param['value']);
  });
}

function checkFilters(context: CheckContext, filters: unknown[], base: Path): void {
  filters.forEach((filter, f) => {
    if (!isRec(filter)) return;
    for (const modifier of ['requestHeaderModifier', 'responseHeaderModifier']) {
      const m = filter[modifier];
      if (!isRec(m)) continue;
      for (const op of ['set', 'add']) {
        arr(m[op]).forEach((header, h) => {
          if (isRec(header) && typeof header['value'] === 'string' && badHeaderValue(header['value'])) {
            context.report({ path: [...base, f, modifier, op, h, 'value'] }, 'header value contains a control character, which is not a valid HTTP header value; the admission webhook rejects the route');
          }
        });
      }
    }
    const redirect = filter['requestRedirect'];
    const redirectPath = isRec(redirect) ? redirect['path'] : undefined;
    if (!isRec(redirectPath)) return;
    for (const key of ['replaceFullPath', 'replacePrefixMatch']) {
      const value = redirectPath[key];
      if (typeof value === 'string' && !value.startsWith('/')) {
        const p = [...base, f, 'requestRedirect', 'path', key];
        context.report({ path: p }, `redirect ${key} ${quote(value)} must start with "/"; the admission webhook rejects the route ("RequestRedirect filters may only contain absolute paths")`, {
          fixes: replaceFix(context, p, `/${value}`, `Change to ${quote(`/${value}`)}`),
        });
      }
    }
  });
}

function checkTimeouts(context: CheckContext, timeouts: Rec, base: Path): void {
  const request = str(timeouts['request']);
  const backend = str(timeouts['backendRequest']);
  const requestNs = request !== undefined ? parseDuration(request) : undefined;
  const backendNs = backend !== undefined ? parseDuration(backend) : undefined;
  if (backendNs !== undefined && backendNs < 0n) context.report({ path: [...base, 'backendRequest'] }, `backendRequest timeout ${quote(backend!)} is negative; the admission webhook rejects the route ("backendRequest timeout must not be negative")`);
  if (requestNs !== undefined && requestNs < 0n) context.report({ path: [...base, 'request'] }, `request timeout ${quote(request!)} is negative; the admission webhook rejects the route ("request timeout must not be negative")`);
  if (requestNs !== undefined && backendNs !== undefined && requestNs >= 0n && backendNs > requestNs) {
    context.report({ path: [...base, 'backendRequest'] }, `backendRequest timeout ${backend} is longer than the request timeout ${request}: one attempt cannot take longer than the whole request; the admission webhook rejects the route ("backendRequest timeout (${backend}) must not be greater than request timeout (${request})")`);
  }
}

/** Only for a route with a Service or EgressNetwork parent: the webhook reads the annotations
 * of no other route. */
function checkAnnotations(context: CheckContext, grpc: boolean): void {
  const metadata = context.value['metadata'];
  const raw = isRec(metadata) ? metadata['annotations'] : undefined;
  if (!isRec(raw)) return;
  const annotations: Record<string, string> = {};
  for (const [key, value] of Object.entries(raw)) if (typeof value === 'string') annotations[key] = value;
  for (const problem of routeAnnotationProblems(annotations, grpc)) {
    context.report({ path: ['metadata', 'annotations', problem.key] }, `${problem.message}; the admission webhook rejects the route`);
  }
}

export const routeRejected: Check = {
  code: 'MPA2005',
  mesh: 'linkerd',
  title: 'Route rejected by the Linkerd admission webhook',
  defaultSeverity: 'error',
  upstream: 'Linkerd policy admission webhook: "HttpPathMatch paths must be absolute", regex parse errors, "backendRequest timeout ... must not be greater than request timeout ...", "cannot reference a Service without a port", "cannot target an EgressNetwork without specifying a port", "invalid retry condition", "invalid duration unit", "unsupported failure accrual mode"',
  kinds: ['HTTPRoute', 'GRPCRoute'],
  run(context) {
    const spec = context.value['spec'];
    if (!isRec(spec)) return;
    const group = context.resource.entry.group;
    const isGateway = group === GATEWAY_GROUP;
    const isHttp = context.resource.kind === 'HTTPRoute';
    let outbound = false;
    arr(spec['parentRefs']).forEach((parent, p) => {
      if (!isRec(parent)) return;
      const ref = { ...parent, group: parent['group'] ?? (isGateway ? GATEWAY_GROUP : POLICY_GROUP) };
      const egress = targetsKind(ref, POLICY_GROUP, 'EgressNetwork');
      if (egress || targetsKind(ref, '', 'Service')) outbound = true;
      if (egress && parent['port'] === undefined) {
        context.report({ path: ['spec', 'parentRefs', p, 'name'] }, 'a route attached to an EgressNetwork must say which port it is for; the admission webhook rejects it ("cannot target an EgressNetwork without specifying a port")');
      }
    });
    if (outbound) checkAnnotations(context, !isHttp);
    arr(spec['rules']).forEach((rule, r) => {
      if (!isRec(rule)) return;
      const base: Path = ['spec', 'rules', r];
      arr(rule['matches']).forEach((match, m) => {
        // The Gateway API HTTPRoute schema already requires absolute Exact/PathPrefix paths.
        if (isRec(match)) checkMatch(context, match, [...base, 'matches', m], !isHttp || isGateway);
      });
      checkFilters(context, arr(rule['filters']), [...base, 'filters']);
      if (isHttp && !isGateway && isRec(rule['timeouts'])) checkTimeouts(context, rule['timeouts'], [...base, 'timeouts']);
      if (isGateway) {
        arr(rule['backendRefs']).forEach((backend, b) => {
          // The schema covers an empty or omitted group; the webhook also takes "core" as the
          // core group, which the schema's condition does not.
          if (!isRec(backend) || backend['group'] !== 'core') return;
          const kind = backend['kind'];
          if ((kind === undefined || kind === 'Service') && (backend['port'] === undefined || backend['port'] === 0)) {
            context.report({ path: [...base, 'backendRefs', b, 'name'] }, 'a backend Service needs a port; the admission webhook rejects the route ("invalid backendRef: cannot reference a Service without a port")');
          }
        });
      }
    });
  },
};

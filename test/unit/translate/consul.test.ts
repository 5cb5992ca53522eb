import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Engine } from '../../../server/src/engine/engine';
import type { AccessRecord } from '../../../server/src/engine/traffic/accessRecord';
import { translatePolicies } from '../../../server/src/engine/translate';
import { consulTranslator } from '../../../server/src/engine/translate/consul';
import { ANY_IDENTITY, type AccessModel, type AccessRule, type Identity, type Protection, type TranslationContext } from '../../../server/src/engine/translate/model';
import { Prng } from '../../fuzz/prng';
import { contextOf, decideUnder, resourcesOf } from './harness';

/**
 * Consul intentions ↔ the access model. Expected verdicts are Consul's (mesh-semantics.md §3.3–3.6,
 * from hashicorp/consul agent/xds/rbac.go and website/content/docs/secure-mesh/intention/index.mdx:
 * the most specific source decides a caller; inside it the first matching permission, and when
 * none matches the default intention policy; a permission's PathPrefix is a plain string prefix),
 * checked with our Consul simulator and, for the model read, with the model's own semantics
 * (model.ts header) evaluated below. Where a note says the model decides otherwise, the table
 * gives the model's verdict too.
 */

const engine = new Engine();

function app(name: string, namespace = 'default'): string {
  return `apiVersion: apps/v1
kind: Deployment
metadata: { name: ${name}, namespace: ${namespace} }
spec:
  selector: { matchLabels: { app: ${name} } }
  template:
    metadata: { labels: { app: ${name} } }
    spec: { serviceAccountName: ${name}-sa, containers: [{ name: c, image: x, ports: [{ containerPort: 8080 }] }] }
---
apiVersion: v1
kind: Service
metadata: { name: ${name}, namespace: ${namespace} }
spec:
  selector: { app: ${name} }
  ports: [{ port: 80, targetPort: 8080 }]
`;
}

/** Services web, api, admin, batch in default (each run as `<name>-sa`), orders in shop. */
const INVENTORY = ['web', 'api', 'admin', 'batch'].map((n) => app(n)).join('---\n') + '---\n' + app('orders', 'shop');
const NS: Record<string, string> = { orders: 'shop' };

interface Call {
  from: string;
  to: string;
  method?: string;
  path?: string;
  headers?: Record<string, string>;
}

type Verdict = 'allow' | 'deny';

function context(dflt: Verdict): TranslationContext {
  return contextOf(INVENTORY, (c) => {
    c.consul = { ...c.consul, defaultIntentionPolicy: dflt };
  });
}

/** `enterprise`: Consul namespaces mirror Kubernetes ones; otherwise (CE) every service is in `default`. */
function record(call: Call, enterprise = false): AccessRecord {
  return {
    protocol: call.method ? 'http' : 'tcp',
    source: { principal: `spiffe://consul/ns/${enterprise ? NS[call.from] ?? 'default' : 'default'}/dc/dc1/svc/${call.from}` },
    destination: { service: call.to, namespace: 'default' },
    ...(call.method ? { request: { method: call.method, path: call.path ?? '/', ...(call.headers ? { headers: call.headers } : {}) } } : {}),
  };
}

function show(call: Call): string {
  return `${call.from} → ${call.to}${call.method ? ` ${call.method} ${call.path ?? '/'}` : ' tcp'}${call.headers ? ` ${JSON.stringify(call.headers)}` : ''}`;
}

// ---- the model's semantics (model.ts header), for calls between the inventory's apps ----

function identityMatches(pattern: Identity, call: Call): boolean {
  return (pattern.namespace === '*' || pattern.namespace === (NS[call.from] ?? 'default')) && (pattern.serviceAccount === '*' || pattern.serviceAccount === `${call.from}-sa`);
}

function ruleMatches(rule: AccessRule, call: Call): boolean {
  const from = !rule.from.length || rule.from.some((c) => !c.networks && (!c.identities || c.identities.some((i) => identityMatches(i, call))));
  const to = !rule.to.length || rule.to.some((r) => (!r.methods || (call.method !== undefined && r.methods.includes(call.method)))
    && (!r.paths || (call.method !== undefined && r.paths.some((p) => {
      const path = call.path ?? '/';
      return p.kind === 'exact' ? path === p.value : p.kind === 'prefix' ? path.startsWith(p.value) : new RegExp(`^(?:${p.value})$`).test(path);
    }))));
  const header = (name: string) => (call.method ? Object.entries(call.headers ?? {}).find(([k]) => k.toLowerCase() === name)?.[1] : undefined);
  const headers = rule.headers.every((h) => {
    const v = header(h.name);
    return v !== undefined && (!h.values.length || h.values.includes(v));
  });
  // an exception matches an HTTP request whose method, path and every header test match
  const excepted = (rule.unless ?? []).some((e) => call.method !== undefined
    && ruleMatches({ origin: e.origin, from: [], to: [e.requests], headers: [] }, call)
    && e.headers.every((h) => {
      const v = header(h.name);
      return v !== undefined && (h.match === 'present' || (h.match === 'exact' ? v === h.value : h.match === 'prefix' ? v.startsWith(h.value!) : v.endsWith(h.value!)));
    }));
  return from && to && headers && !excepted;
}

function applies(p: Protection, call: Call): boolean {
  const ns = NS[call.to] ?? 'default';
  return (p.target.namespace === '*' || p.target.namespace === ns) && Object.entries(p.target.labels ?? {}).every(([k, v]) => k === 'app' && v === call.to);
}

/** The model's verdict; `dflt` for a call no protection applies to (the target mesh's default). */
function decideModel(model: AccessModel, call: Call, dflt: Verdict): Verdict {
  const ps = model.protections.filter((p) => applies(p, call));
  if (ps.some((p) => p.action === 'deny' && p.rules.some((r) => ruleMatches(r, call)))) return 'deny';
  const allows = ps.filter((p) => p.action === 'allow');
  if (!allows.length) return dflt;
  return allows.some((p) => p.rules.some((r) => ruleMatches(r, call))) ? 'allow' : 'deny';
}

// ---- compact descriptions of protections ----

function describeRule(r: AccessRule): string {
  const from = !r.from.length ? 'anyone' : r.from.map((c) => (c.identities ?? []).map((i) => (i === ANY_IDENTITY || (i.namespace === '*' && i.serviceAccount === '*') ? '*' : `${i.namespace}/${i.serviceAccount}`)).join(',')).join(' | ');
  const to = !r.to.length ? 'any' : r.to.map((q) => [q.methods?.join(','), q.paths?.map((p) => (p.kind === 'exact' ? `=${p.value}` : p.kind === 'prefix' ? `${p.value}*` : `~${p.value}`)).join(',')].filter(Boolean).join(' ')).join(' | ');
  const headers = r.headers.map((h) => ` ${h.name}${h.values.length ? `=${h.values.join('|')}` : '?'}`).join('');
  const unless = (r.unless ?? []).map((e) => ` unless ${describeRule({ origin: e.origin, from: [], to: [e.requests], headers: [] }).slice('anyone -> '.length)}${e.headers.map((h) => ` ${h.name} ${h.match}${h.value !== undefined ? ` ${h.value}` : ''}`).join('')}`).join('');
  return `${from} -> ${to}${headers}${unless}`;
}

function describe1(p: Protection): string {
  const labels = p.target.labels ? Object.entries(p.target.labels).map(([k, v]) => `${k}=${v}`).join(',') : '';
  return `${p.action} ${p.name} ${p.target.namespace}${labels ? `/${labels}` : ''}: ${p.rules.map(describeRule).join('; ')}`;
}

// ---- reader ----

interface ReaderCase {
  name: string;
  dflt: Verdict;
  /** Consul Enterprise namespaces (an intention names one). */
  enterprise?: boolean;
  yaml: string;
  protections: string[];
  /** `effect: text fragment`, each to be found among the notes. */
  notes: string[];
  /** Consul's verdict; `model` when a note says the model decides otherwise. */
  calls: { call: Call; consul: Verdict; model?: Verdict }[];
}

const crd = (dest: string, sources: string, name = dest): string => `apiVersion: consul.hashicorp.com/v1alpha1
kind: ServiceIntentions
metadata: { name: ${name} }
spec:
  destination: { name: "${dest}" }
  sources:
${sources}`;

/** The common "deny all" entry: every source to every destination. */
const DENY_ALL = crd('*', '  - { name: "*", action: deny }\n', 'deny-all');

const READER: ReaderCase[] = [
  {
    // intention/index.mdx: an exact source (precedence 9) before the wildcard (8) of one destination.
    name: 'L4 allow with a wildcard deny: an allow protection (default allow)',
    dflt: 'allow',
    yaml: crd('api', '  - { name: web, action: allow }\n  - { name: "*", action: deny }\n'),
    protections: ['allow api default/app=api: default/web-sa -> any'],
    notes: [],
    calls: [
      { call: { from: 'web', to: 'api' }, consul: 'allow' },
      { call: { from: 'admin', to: 'api', method: 'GET' }, consul: 'deny' },
      { call: { from: 'web', to: 'batch' }, consul: 'allow' },
    ],
  },
  {
    // §3.4: with default allow, callers no intention names are allowed: no "allow only these".
    name: 'only specific allows under default allow decide nothing',
    dflt: 'allow',
    yaml: crd('api', '  - { name: web, action: allow }\n'),
    protections: [],
    notes: ['same: no "allow only these" protection'],
    calls: [
      { call: { from: 'web', to: 'api' }, consul: 'allow' },
      { call: { from: 'admin', to: 'api' }, consul: 'allow' },
    ],
  },
  {
    // §3.4: with default deny, the same intention allows only web.
    name: 'only specific allows under default deny: an allow protection',
    dflt: 'deny',
    yaml: crd('api', '  - { name: web, action: allow }\n  - { name: batch, action: deny }\n'),
    protections: ['deny api-deny default/app=api: default/batch-sa -> any', 'allow api default/app=api: default/web-sa -> any', 'allow default-intention-policy *: '],
    notes: ['same: the default intention policy is deny'],
    calls: [
      { call: { from: 'web', to: 'api' }, consul: 'allow' },
      { call: { from: 'admin', to: 'api' }, consul: 'deny' },
      { call: { from: 'batch', to: 'api' }, consul: 'deny' },
      { call: { from: 'web', to: 'batch' }, consul: 'deny' },
      { call: { from: 'api', to: 'web', method: 'GET' }, consul: 'deny' },
    ],
  },
  {
    // §3.5: a caller matched by an L7 intention is decided only by its permissions, then the
    // default; it never falls through to the wildcard allow.
    name: 'L7 source shadowing a wildcard allow (default deny)',
    dflt: 'deny',
    yaml: crd('api', `  - name: web
    permissions:
    - { action: deny, http: { pathPrefix: /admin } }
    - { action: allow, http: { pathPrefix: /, methods: [GET] } }
  - { name: "*", action: allow }
`),
    protections: ['deny api-deny default/app=api: default/web-sa -> /admin*', 'allow api default/app=api: default/web-sa -> GET /*; * -> any', 'allow default-intention-policy *: '],
    notes: ['wider: requests from default/web that none of its permissions matches'],
    calls: [
      { call: { from: 'web', to: 'api', method: 'GET', path: '/x' }, consul: 'allow' },
      { call: { from: 'web', to: 'api', method: 'GET', path: '/admin/users' }, consul: 'deny' },
      { call: { from: 'web', to: 'api', method: 'POST', path: '/x' }, consul: 'deny', model: 'allow' },
      { call: { from: 'admin', to: 'api', method: 'POST', path: '/admin' }, consul: 'allow' },
    ],
  },
  {
    // §3.5: first match wins; a deny after an overlapping allow leaves the allow's requests to it.
    name: 'deny permission after an overlapping allow (default allow, no wildcard)',
    dflt: 'allow',
    yaml: crd('api', `  - name: web
    permissions:
    - { action: allow, http: { pathPrefix: /v1, methods: [GET] } }
    - { action: deny, http: { pathPrefix: /v1/secret } }
`),
    protections: ['deny api default/app=api: default/web-sa -> /v1/secret* unless GET /v1*'],
    notes: ['same: allows nothing the default would not', 'wider: connections without HTTP'],
    calls: [
      { call: { from: 'web', to: 'api', method: 'GET', path: '/v1/secret/x' }, consul: 'allow' },
      { call: { from: 'web', to: 'api', method: 'POST', path: '/v1/secret/x' }, consul: 'deny' },
      { call: { from: 'web', to: 'api', method: 'POST', path: '/v2' }, consul: 'allow' },
      { call: { from: 'admin', to: 'api', method: 'GET', path: '/v1/secret' }, consul: 'allow' },
    ],
  },
  {
    // §3.5, §3.6: the examples' api.hcl. Deny permissions after allows, one allow testing a header
    // by prefix: each later deny leaves to the earlier allows what they match, the header's prefix
    // included; a request without the header fails the allow's test and reaches the deny.
    name: 'deny permissions after allows, one with a header prefix (default allow)',
    dflt: 'allow',
    yaml: crd('api', `  - name: web
    permissions:
    - { action: deny, http: { pathPrefix: /v1/admin } }
    - { action: allow, http: { pathPrefix: /v1/, methods: [GET, HEAD] } }
    - { action: allow, http: { pathExact: /v1/votes, methods: [POST], header: [{ name: Content-Type, prefix: application/json }] } }
    - { action: deny, http: { pathPrefix: /v1/ } }
`),
    protections: ['deny api default/app=api: default/web-sa -> /v1/admin*; default/web-sa -> /v1/* unless GET,HEAD /v1/* unless POST =/v1/votes content-type prefix application/json'],
    notes: ['same: allows nothing the default would not', 'wider: connections without HTTP'],
    calls: [
      { call: { from: 'web', to: 'api', method: 'GET', path: '/v1/admin/stats' }, consul: 'deny' },
      { call: { from: 'web', to: 'api', method: 'GET', path: '/v1/votes' }, consul: 'allow' },
      { call: { from: 'web', to: 'api', method: 'HEAD', path: '/v1/count' }, consul: 'allow' },
      { call: { from: 'web', to: 'api', method: 'POST', path: '/v1/votes', headers: { 'content-type': 'application/json; charset=utf-8' } }, consul: 'allow' },
      { call: { from: 'web', to: 'api', method: 'POST', path: '/v1/votes' }, consul: 'deny' },
      { call: { from: 'web', to: 'api', method: 'POST', path: '/v1/votes', headers: { 'content-type': 'text/plain' } }, consul: 'deny' },
      { call: { from: 'web', to: 'api', method: 'POST', path: '/v1/votes/x', headers: { 'content-type': 'application/json' } }, consul: 'deny' },
      { call: { from: 'web', to: 'api', method: 'DELETE', path: '/v1/votes' }, consul: 'deny' },
      { call: { from: 'web', to: 'api', method: 'POST', path: '/v2/votes' }, consul: 'allow' },
      { call: { from: 'admin', to: 'api', method: 'POST', path: '/v1/votes' }, consul: 'allow' },
    ],
  },
  {
    // An earlier allow whose header test the model cannot hold (a regular expression): the deny
    // applies to its requests too, and a note says so.
    name: 'deny permission after an allow with a regex header (default allow)',
    dflt: 'allow',
    yaml: crd('api', `  - name: web
    permissions:
    - { action: allow, http: { pathPrefix: /v1/, header: [{ name: x-team, regex: "ops|sre" }] } }
    - { action: deny, http: { pathPrefix: /v1/ } }
`),
    protections: ['deny api default/app=api: default/web-sa -> /v1/*'],
    notes: ['narrower: requests that also match the earlier allow', 'same: allows nothing the default would not'],
    calls: [
      { call: { from: 'web', to: 'api', method: 'GET', path: '/v1/x', headers: { 'x-team': 'ops' } }, consul: 'allow', model: 'deny' },
      { call: { from: 'web', to: 'api', method: 'GET', path: '/v1/x' }, consul: 'deny' },
    ],
  },
  {
    // The least-privilege generator's form: allows, then a deny of every other request, then `*` deny.
    name: 'allows ended by a catch-all deny, wildcard deny (default allow)',
    dflt: 'allow',
    yaml: crd('api', `  - name: web
    permissions:
    - { action: allow, http: { pathExact: /health } }
    - { action: allow, http: { pathPrefix: /v1/, methods: [GET, HEAD] } }
    - { action: deny, http: { pathPrefix: / } }
  - { name: "*", action: deny }
`),
    protections: ['allow api default/app=api: default/web-sa -> =/health; default/web-sa -> GET,HEAD /v1/*'],
    notes: ['same: carried by the allow protection'],
    calls: [
      { call: { from: 'web', to: 'api', method: 'GET', path: '/health' }, consul: 'allow' },
      { call: { from: 'web', to: 'api', method: 'HEAD', path: '/v1/a' }, consul: 'allow' },
      { call: { from: 'web', to: 'api', method: 'POST', path: '/v1/a' }, consul: 'deny' },
      { call: { from: 'web', to: 'api', method: 'GET', path: '/v1' }, consul: 'deny' },
      { call: { from: 'admin', to: 'api', method: 'GET', path: '/health' }, consul: 'deny' },
    ],
  },
  {
    // §3.5 and §3.6: a wildcard source with permissions; no match → the default (allow).
    name: 'wildcard source with a deny permission, an exact L4 deny (default allow)',
    dflt: 'allow',
    yaml: crd('api', `  - { name: batch, action: deny }
  - name: "*"
    permissions:
    - { action: deny, http: { pathExact: /admin, header: [{ name: X-Team, exact: ops }] } }
`),
    protections: ['deny api-deny default/app=api: default/batch-sa -> any; * -> =/admin x-team=ops', 'allow api default/app=api: * -> /*'],
    notes: [],
    calls: [
      { call: { from: 'admin', to: 'api', method: 'GET', path: '/admin', headers: { 'x-team': 'ops' } }, consul: 'deny' },
      { call: { from: 'admin', to: 'api', method: 'GET', path: '/admin', headers: { 'x-team': 'dev' } }, consul: 'allow' },
      { call: { from: 'admin', to: 'api', method: 'GET', path: '/adminx' }, consul: 'allow' },
      { call: { from: 'batch', to: 'api', method: 'GET', path: '/' }, consul: 'deny' },
    ],
  },
  {
    // §3.6: header tests the model cannot carry; an allow permission is left out, a deny keeps the rest.
    name: 'header prefix and invert (default deny)',
    dflt: 'deny',
    yaml: crd('api', `  - name: web
    permissions:
    - { action: deny, http: { pathPrefix: /a, header: [{ name: x-env, prefix: prod }] } }
    - { action: allow, http: { pathPrefix: /, header: [{ name: x-user, present: true, invert: true }] } }
    - { action: allow, http: { methods: [GET] } }
`),
    protections: ['deny api-deny default/app=api: default/web-sa -> /a*', 'allow api default/app=api: default/web-sa -> GET', 'allow default-intention-policy *: '],
    notes: ['narrower: x-env (prefix "prod")', 'narrower: x-user (present true, invert)'],
    calls: [
      { call: { from: 'web', to: 'api', method: 'GET', path: '/b' }, consul: 'allow' },
      { call: { from: 'web', to: 'api', method: 'GET', path: '/a', headers: { 'x-env': 'prod-1' } }, consul: 'deny' },
      { call: { from: 'web', to: 'api', method: 'GET', path: '/a', headers: { 'x-env': 'dev' } }, consul: 'allow', model: 'deny' },
      { call: { from: 'web', to: 'api', method: 'POST', path: '/b' }, consul: 'allow', model: 'deny' },
    ],
  },
  {
    // §3.3 (Enterprise): `shop/*` (precedence 8) after the exact shop/orders (9); the wildcard
    // deny cannot exclude orders in the model.
    name: 'Enterprise namespaces: a namespace wildcard deny after an exact allow (default allow)',
    dflt: 'allow',
    enterprise: true,
    yaml: crd('api', '  - { name: orders, namespace: shop, action: allow }\n  - { name: "*", namespace: shop, action: deny }\n'),
    protections: ['deny api default/app=api: shop/* -> any'],
    notes: ['unknown: namespace mirroring', 'narrower: Consul decides shop/orders by its own, more specific intention', 'same: no "allow only these" protection'],
    calls: [
      { call: { from: 'orders', to: 'api' }, consul: 'allow', model: 'deny' },
      { call: { from: 'web', to: 'api' }, consul: 'allow' },
    ],
  },
  {
    // §3.3/§3.5: a call to api is decided by api's sources and then the `*` entry's (precedence
    // 9 before 6 in CE): the common "deny all" entry makes api's own allow an "allow only web".
    name: 'a destination entry merged with the "* → *" deny entry (default allow)',
    dflt: 'allow',
    yaml: crd('api', '  - { name: web, action: allow }\n') + '---\n' + DENY_ALL,
    protections: ['allow api default/app=api: default/web-sa -> any', 'allow deny-all *: '],
    notes: [],
    calls: [
      { call: { from: 'web', to: 'api' }, consul: 'allow' },
      { call: { from: 'web', to: 'api', method: 'POST', path: '/x' }, consul: 'allow' },
      { call: { from: 'admin', to: 'api', method: 'GET' }, consul: 'deny' },
      { call: { from: 'web', to: 'batch' }, consul: 'deny' },
      { call: { from: 'api', to: 'web', method: 'GET' }, consul: 'deny' },
    ],
  },
  {
    // §3.5: web is decided by its L7 intention alone; a request no permission matches gets the
    // default (allow), never the merged wildcard deny.
    name: 'an L7 destination entry merged with the "* → *" deny entry (default allow)',
    dflt: 'allow',
    yaml: crd('api', `  - name: web
    permissions:
    - { action: deny, http: { pathPrefix: /admin } }
    - { action: allow, http: { pathPrefix: /v1/, methods: [GET] } }
`) + '---\n' + DENY_ALL,
    protections: ['deny api-deny default/app=api: default/web-sa -> /admin*', 'allow api default/app=api: default/web-sa -> /*', 'allow deny-all *: '],
    notes: ['same: every request of default/web that no deny permission matches is allowed'],
    calls: [
      { call: { from: 'web', to: 'api', method: 'GET', path: '/v1/a' }, consul: 'allow' },
      { call: { from: 'web', to: 'api', method: 'POST', path: '/v2' }, consul: 'allow' },
      { call: { from: 'web', to: 'api', method: 'GET', path: '/admin' }, consul: 'deny' },
      { call: { from: 'web', to: 'api' }, consul: 'deny' },
      { call: { from: 'admin', to: 'api', method: 'GET', path: '/v1/a' }, consul: 'deny' },
      { call: { from: 'web', to: 'batch', method: 'GET', path: '/v1/a' }, consul: 'deny' },
    ],
  },
  {
    // §3.5 removeSameSourceIntentions: api's own web (precedence 9) replaces the `*` entry's web
    // (6) for calls to api; the wildcard protection's deny of web still reaches api in the model.
    name: 'a wildcard entry denying a source that a destination entry allows (default allow)',
    dflt: 'allow',
    yaml: crd('api', '  - { name: web, action: allow }\n') + '---\n' + crd('*', '  - { name: web, action: deny }\n  - { name: "*", action: allow }\n', 'wild'),
    protections: ['allow api default/app=api: default/web-sa -> any; * -> any', 'deny wild-deny *: default/web-sa -> any', 'allow wild *: * -> any'],
    notes: ['same: left out for api: ServiceIntentions api names the same source', 'narrower: this deny applies to api too'],
    calls: [
      { call: { from: 'web', to: 'api' }, consul: 'allow', model: 'deny' },
      { call: { from: 'web', to: 'batch' }, consul: 'deny' },
      { call: { from: 'admin', to: 'api' }, consul: 'allow' },
      { call: { from: 'admin', to: 'batch' }, consul: 'allow' },
    ],
  },
  {
    // §3.5 known corner case: api's `*` deny (precedence 8) is broader than the `*` entry's web
    // allow (6); RBAC subtracts it from nothing, so under the default allow its deny list denies web.
    name: 'a broader source with a higher precedence (default allow)',
    dflt: 'allow',
    yaml: crd('api', '  - { name: "*", action: deny }\n') + '---\n' + crd('*', '  - { name: web, action: allow }\n', 'wild'),
    protections: ['allow api default/app=api: default/web-sa -> any'],
    notes: ['unknown: is broader but has a higher precedence', 'same: no "allow only these" protection'],
    calls: [
      { call: { from: 'web', to: 'api' }, consul: 'deny', model: 'allow' },
      { call: { from: 'admin', to: 'api' }, consul: 'deny' },
      { call: { from: 'web', to: 'batch' }, consul: 'allow' },
    ],
  },
  {
    // The same under the default deny: the RBAC allow list keeps web, so web is allowed.
    name: 'a broader source with a higher precedence (default deny)',
    dflt: 'deny',
    yaml: crd('api', '  - { name: "*", action: deny }\n') + '---\n' + crd('*', '  - { name: web, action: allow }\n', 'wild'),
    protections: ['allow api default/app=api: default/web-sa -> any', 'allow wild *: default/web-sa -> any', 'allow default-intention-policy *: '],
    notes: ['unknown: is broader but has a higher precedence'],
    calls: [
      { call: { from: 'web', to: 'api' }, consul: 'allow' },
      { call: { from: 'admin', to: 'api' }, consul: 'deny' },
      { call: { from: 'web', to: 'batch' }, consul: 'allow' },
      { call: { from: 'admin', to: 'batch' }, consul: 'deny' },
    ],
  },
  {
    // §3.3 (Enterprise): the `default/*` entry (precedence 4 for its `*/*` source) covers api in
    // namespace default; api's own shop/orders (9) comes first.
    name: 'Enterprise namespaces: a namespace wildcard destination merged (default allow)',
    dflt: 'allow',
    enterprise: true,
    yaml: crd('api', '  - { name: orders, namespace: shop, action: allow }\n') + `---
apiVersion: consul.hashicorp.com/v1alpha1
kind: ServiceIntentions
metadata: { name: default-deny }
spec:
  destination: { name: "*", namespace: default }
  sources:
  - { name: "*", namespace: "*", action: deny }
`,
    protections: ['allow api default/app=api: shop/orders-sa -> any', 'allow default-deny default: '],
    notes: ['unknown: namespace mirroring'],
    calls: [
      { call: { from: 'orders', to: 'api' }, consul: 'allow' },
      { call: { from: 'web', to: 'api' }, consul: 'deny' },
      { call: { from: 'orders', to: 'web' }, consul: 'deny' },
    ],
  },
  {
    // A destination with no Service in the inventory; a source that is not in it.
    name: 'unknown destination and source (default allow)',
    dflt: 'allow',
    yaml: crd('billing', '  - { name: ledger, action: allow }\n  - { name: "*", action: deny }\n'),
    protections: ['allow billing default/app=billing: */ledger -> any'],
    notes: ['unknown: no Service named billing', 'unknown: run as the service account ledger'],
    calls: [],
  },
];

describe('consul translator: read', () => {
  for (const c of READER) {
    it(c.name, () => {
      const ctx = context(c.dflt);
      const model = consulTranslator.read(resourcesOf(c.yaml), ctx);
      assert.deepEqual(model.protections.map(describe1), c.protections);
      for (const n of c.notes) {
        const [effect, text] = [n.slice(0, n.indexOf(':')), n.slice(n.indexOf(':') + 2)];
        assert.ok(model.notes.some((x) => x.effect === effect && x.text.includes(text)), `note ${n} in ${JSON.stringify(model.notes.map((x) => `${x.effect}: ${x.text}`), null, 1)}`);
      }
      if (!c.notes.length) assert.deepEqual(model.notes.map((x) => x.text), []);
      const decisions = decideUnder('consul', c.yaml, ctx, c.calls.map((x) => record(x.call, c.enterprise)));
      c.calls.forEach(({ call, consul, model: m }, i) => {
        assert.equal(decisions[i]!.verdict, consul, `simulator: ${show(call)}: ${decisions[i]!.reason}`);
        assert.equal(decideModel(model, call, c.dflt), m ?? consul, `model: ${show(call)}`);
      });
    });
  }

  it('an earlier allow under the entry\'s JWT requirement is no exception of a later deny (the token condition cannot be carried): noted', () => {
    const yaml = `apiVersion: consul.hashicorp.com/v1alpha1
kind: ServiceIntentions
metadata: { name: api }
spec:
  destination: { name: api }
  jwt: { providers: [{ name: okta }] }
  sources:
  - name: web
    permissions:
    - { action: allow, http: { pathPrefix: /v1/, methods: [GET] } }
    - { action: deny, http: { pathPrefix: /v1/ } }
`;
    const model = consulTranslator.read(resourcesOf(yaml), context('allow'));
    const denies = model.protections.filter((p) => p.action === 'deny').flatMap((p) => p.rules);
    assert.equal(denies.length, 1, JSON.stringify(model.protections.map(describe1)));
    assert.equal(denies[0]!.unless, undefined);
    assert.ok(model.notes.some((n) => n.effect === 'narrower' && /earlier allow .*JWT requirement cannot be carried/.test(n.text)), JSON.stringify(model.notes.map((n) => n.text), null, 1));
  });

  it('reads the config entry form, JWT, peers and a wildcard destination, each noted', () => {
    const hcl = `Kind = "service-intentions"
Name = "api"
JWT { Providers = [{ Name = "okta" }] }
Sources = [
  { Name = "web", Action = "allow" },
  { Name = "billing", Peer = "dc2", Action = "allow" },
  { Name = "batch", Action = "deny" },
]
`;
    const file = engine.read('/ws/api.hcl', hcl);
    const resources = engine.prepare(file).recognition.resources.map((resource) => ({ file, resource }));
    const model = consulTranslator.read(resources, context('deny'));
    // Under the default deny, the mesh-wide allow protection with no rules stands for the allow only web would get (left out: JWT).
    assert.deepEqual(model.protections.map(describe1), ['deny api-deny default/app=api: default/batch-sa -> any', 'allow default-intention-policy *: ']);
    const texts = model.notes.map((n) => `${n.effect}: ${n.text}`);
    assert.ok(texts.some((t) => t.startsWith('narrower: JWT requirements')), texts.join('\n'));
    assert.ok(texts.some((t) => t.startsWith('narrower: left out: callers from cluster peer dc2')), texts.join('\n'));
    assert.ok(model.notes.every((n) => n.at.file === '/ws/api.hcl'));

    const wild = consulTranslator.read(resourcesOf(DENY_ALL), context('allow'));
    assert.deepEqual(wild.protections.map(describe1), ['allow deny-all *: ']);
    const entryFile = engine.read('/ws/deny-all.json', '{ "Kind": "service-intentions", "Name": "*", "Sources": [{ "Name": "*", "Action": "deny" }] }\n');
    const entryModel = consulTranslator.read(engine.prepare(entryFile).recognition.resources.map((resource) => ({ file: entryFile, resource })), context('allow'));
    assert.deepEqual(entryModel.protections.map(describe1), ['allow all-services *: ']);
  });
});

// ---- writer ----

const ORIGIN = { file: '/src/policy.yaml', range: { start: { line: 4, character: 0 }, end: { line: 4, character: 10 } }, label: 'AuthorizationPolicy default/api' };
const sa = (name: string, namespace = 'default'): Identity => ({ namespace, serviceAccount: `${name}-sa` });
const rule = (r: Partial<AccessRule>): AccessRule => ({ origin: ORIGIN, from: [], to: [], headers: [], ...r });
const protection = (p: Partial<Protection> & Pick<Protection, 'action' | 'rules'>): Protection => ({ origin: ORIGIN, name: 'api-policy', target: { namespace: 'default', labels: { app: 'api' } }, ...p });
const model = (...protections: Protection[]): AccessModel => ({ mesh: 'istio', protections, notes: [] });

interface WriterCase {
  name: string;
  model: AccessModel;
  /** Fragments of the written YAML, in order. */
  yaml: string[];
  notes: string[];
  /** The model's verdicts (model.ts semantics); the default intention policy decides only calls no protection applies to. */
  calls: { call: Call; verdict: Verdict | 'default' }[];
}

const WRITER: WriterCase[] = [
  {
    name: 'an allow of one identity: L4 allow and a wildcard deny',
    model: model(protection({ action: 'allow', rules: [rule({ from: [{ identities: [sa('web')] }] })] })),
    yaml: ['# from /src/policy.yaml:5 AuthorizationPolicy default/api (allow)', 'name: api-policy', 'destination:\n    name: api', '- name: "web"\n      action: allow', '- name: "*"  # every other service\n      action: deny'],
    notes: [],
    calls: [
      { call: { from: 'web', to: 'api' }, verdict: 'allow' },
      { call: { from: 'web', to: 'api', method: 'GET', path: '/' }, verdict: 'allow' },
      { call: { from: 'admin', to: 'api' }, verdict: 'deny' },
      { call: { from: 'admin', to: 'web' }, verdict: 'default' },
    ],
  },
  {
    name: 'a deny of any caller on a path, allows by path and of every request',
    model: model(
      protection({ action: 'deny', name: 'api-deny', rules: [rule({ to: [{ paths: [{ kind: 'prefix', value: '/admin' }] }] })] }),
      protection({ action: 'allow', rules: [
        rule({ from: [{ identities: [sa('web')] }], to: [{ methods: ['GET'], paths: [{ kind: 'prefix', value: '/v1' }, { kind: 'exact', value: '/health' }] }] }),
        rule({ from: [{ identities: [sa('admin')] }] }),
      ] }),
    ),
    yaml: ['- name: "admin"\n      permissions:\n        - action: deny', 'pathPrefix: /admin', '- action: allow', 'pathPrefix: /\n', '- name: "web"', 'pathExact: /health', '- action: deny  # every other request', '- name: "*"'],
    notes: ['unknown: need its protocol to be http'],
    calls: [
      { call: { from: 'admin', to: 'api', method: 'GET', path: '/admin/x' }, verdict: 'deny' },
      { call: { from: 'admin', to: 'api', method: 'POST', path: '/x' }, verdict: 'allow' },
      { call: { from: 'web', to: 'api', method: 'GET', path: '/v1/a' }, verdict: 'allow' },
      { call: { from: 'web', to: 'api', method: 'GET', path: '/health' }, verdict: 'allow' },
      { call: { from: 'web', to: 'api', method: 'GET', path: '/healthz' }, verdict: 'deny' },
      { call: { from: 'web', to: 'api', method: 'POST', path: '/v1' }, verdict: 'deny' },
      { call: { from: 'web', to: 'api', method: 'GET', path: '/admin' }, verdict: 'deny' },
      { call: { from: 'batch', to: 'api', method: 'GET', path: '/' }, verdict: 'deny' },
      { call: { from: 'batch', to: 'api', method: 'GET', path: '/admin' }, verdict: 'deny' },
    ],
  },
  {
    name: 'a deny protection alone: the default decides the rest',
    model: model(protection({ action: 'deny', rules: [rule({ from: [{ identities: [sa('web')] }], headers: [{ name: 'x-debug', values: [] }] }), rule({ from: [{ identities: [sa('batch')] }] })] })),
    yaml: ['- name: "batch"\n      action: deny', '- name: "web"\n      permissions:\n        - action: deny', 'header:\n              - name: x-debug\n                present: true'],
    notes: [],
    calls: [
      { call: { from: 'web', to: 'api', method: 'GET', path: '/', headers: { 'X-Debug': '1' } }, verdict: 'deny' },
      { call: { from: 'web', to: 'api', method: 'GET', path: '/' }, verdict: 'default' },
      { call: { from: 'batch', to: 'api', method: 'GET', path: '/' }, verdict: 'deny' },
      { call: { from: 'admin', to: 'api' }, verdict: 'default' },
    ],
  },
  {
    name: 'header values are ORed: one permission per value',
    model: model(protection({ action: 'allow', rules: [rule({ from: [{ identities: [ANY_IDENTITY] }], to: [{ methods: ['GET'] }], headers: [{ name: 'x-team', values: ['ops', 'dev'] }] })] })),
    yaml: ['- name: "*"\n      permissions', 'exact: ops', 'exact: dev', '- action: deny  # every other request'],
    notes: [],
    calls: [
      { call: { from: 'admin', to: 'api', method: 'GET', path: '/', headers: { 'x-team': 'dev' } }, verdict: 'allow' },
      { call: { from: 'admin', to: 'api', method: 'GET', path: '/', headers: { 'x-team': 'qa' } }, verdict: 'deny' },
      { call: { from: 'admin', to: 'api', method: 'POST', path: '/', headers: { 'x-team': 'ops' } }, verdict: 'deny' },
    ],
  },
  {
    // One intention per service, every port (mesh-semantics.md §3.1): each protection's callers
    // reach the port the other one governs, where the model admits only the other's callers.
    name: 'allow protections of two ports of one service: each allows more on the other\'s port',
    model: model(
      protection({ action: 'allow', ports: [8080], rules: [rule({ from: [{ identities: [sa('web')] }] })] }),
      protection({ action: 'allow', name: 'api-metrics', ports: [9102], rules: [rule({ from: [{ identities: [sa('admin')] }] })] }),
    ),
    yaml: ['- name: "admin"\n      action: allow', '- name: "web"\n      action: allow'],
    notes: ['wider: port 8080 applies to all of them: it admits its callers on ports other protections govern', 'wider: port 9102 applies to all of them: it admits its callers on ports other protections govern'],
    calls: [
      { call: { from: 'web', to: 'api' }, verdict: 'allow' },
      { call: { from: 'admin', to: 'api' }, verdict: 'allow' },
      { call: { from: 'batch', to: 'api' }, verdict: 'deny' },
    ],
  },
  {
    // api listens on 8080 (the inventory), which neither protection governs: every other caller
    // loses it too
    name: 'allow protections of ports the workload does not listen on: more on each other\'s port, less on 8080',
    model: model(
      protection({ action: 'allow', ports: [9102], rules: [rule({ from: [{ identities: [sa('admin')] }] })] }),
      protection({ action: 'allow', name: 'api-debug', ports: [9200], rules: [rule({ from: [{ identities: [sa('web')] }] })] }),
    ),
    yaml: ['- name: "admin"\n      action: allow', '- name: "web"\n      action: allow'],
    notes: ['unknown: port 9102 applies to all of them: it admits its callers on ports other protections govern (allows more there) and denies every other caller on ports no other protection governs (allows less there)'],
    calls: [
      { call: { from: 'admin', to: 'api' }, verdict: 'allow' },
      { call: { from: 'batch', to: 'api' }, verdict: 'deny' },
    ],
  },
  {
    name: 'an allow protection of one port, the workload listening on another: allows less',
    model: model(protection({ action: 'allow', ports: [9102], rules: [rule({ from: [{ identities: [sa('admin')] }] })] })),
    yaml: ['- name: "admin"\n      action: allow'],
    notes: ['narrower: port 9102 applies to all of them'],
    calls: [
      { call: { from: 'admin', to: 'api' }, verdict: 'allow' },
      { call: { from: 'web', to: 'api' }, verdict: 'deny' },
    ],
  },
  {
    name: 'networks, ports, plaintext, a namespace of identities and every workload',
    model: model(
      protection({ action: 'allow', ports: [8080], rules: [
        rule({ from: [{ identities: [sa('web')], networks: [{ cidr: '10.0.0.0/8', except: [] }] }, { identities: [sa('orders', 'shop')] }] }),
        rule({ from: [{ identities: [{ namespace: 'shop', serviceAccount: '*' }] }], to: [{ ports: [9090] }] }),
        rule({ from: [] , to: [{ paths: [{ kind: 'exact', value: '/public' }] }] }),
      ] }),
      protection({ action: 'deny', name: 'deny-batch-everywhere', target: { namespace: '*' }, rules: [rule({ from: [{ identities: [sa('batch')] }] })] }),
    ),
    yaml: ['- name: "batch"\n      action: deny', '- name: "orders"\n      action: allow', '- name: "*"\n      permissions:', 'pathExact: /public', 'name: deny-batch-everywhere', 'destination:\n    name: "*"'],
    notes: ['narrower: left out: callers from 10.0.0.0/8', 'same: this protection of port 8080', 'wider: cannot test a port', 'narrower: plaintext', 'narrower: Consul CE cannot name every service of Kubernetes namespace shop'],
    calls: [
      { call: { from: 'web', to: 'api', method: 'GET', path: '/x' }, verdict: 'deny' },
      { call: { from: 'orders', to: 'api', method: 'GET', path: '/x' }, verdict: 'allow' },
      { call: { from: 'admin', to: 'api', method: 'GET', path: '/public' }, verdict: 'allow' },
      { call: { from: 'batch', to: 'api', method: 'GET', path: '/public' }, verdict: 'deny' },
      { call: { from: 'batch', to: 'web' }, verdict: 'deny' },
      { call: { from: 'admin', to: 'web' }, verdict: 'default' },
    ],
  },
];

function lintErrors(yaml: string): string[] {
  return engine.lintText('/ws/translated.yaml', yaml).findings.filter((f) => f.severity === 'error').map((f) => `${f.range.start.line + 1}: ${f.code} ${f.message}`);
}

describe('consul translator: write', () => {
  for (const c of WRITER) {
    for (const dflt of ['allow', 'deny'] as const) {
      it(`${c.name} (default ${dflt})`, () => {
        const ctx = context(dflt);
        const written = consulTranslator.write(c.model, ctx);
        let at = 0;
        for (const fragment of c.yaml) {
          const found = written.yaml.indexOf(fragment, at);
          assert.ok(found >= 0, `${JSON.stringify(fragment)} after ${at} in\n${written.yaml}`);
          at = found + fragment.length;
        }
        assert.equal(written.resources, (written.yaml.match(/^kind: ServiceIntentions$/gm) ?? []).length);
        assert.deepEqual(lintErrors(written.yaml), [], written.yaml);
        for (const n of c.notes) {
          const [effect, text] = [n.slice(0, n.indexOf(':')), n.slice(n.indexOf(':') + 2)];
          assert.ok(written.notes.some((x) => x.effect === effect && x.text.includes(text)), `note ${n} in ${JSON.stringify(written.notes.map((x) => `${x.effect}: ${x.text}`), null, 1)}`);
        }
        const decisions = decideUnder('consul', written.yaml, ctx, c.calls.map((x) => record(x.call)));
        c.calls.forEach(({ call, verdict }, i) => {
          const expected = verdict === 'default' ? dflt : verdict;
          assert.equal(decideModel(c.model, call, dflt), expected, `model: ${show(call)}`);
          assert.equal(decisions[i]!.verdict, expected, `${show(call)}: ${decisions[i]!.reason}\n${written.yaml}`);
        });
        assert.equal(consulTranslator.write(c.model, ctx).yaml, written.yaml, 'deterministic');
      });
    }
  }
});

describe('consul translator: write, Consul CE names', () => {
  it('notes a source name that also names a Service of another namespace', () => {
    const ctx = contextOf(`${INVENTORY}---\n${app('web', 'shop')}`);
    const written = consulTranslator.write(WRITER[0]!.model, ctx);
    assert.ok(written.notes.some((n) => n.effect === 'wider' && n.text.includes('also names the Services shop/web')), JSON.stringify(written.notes));
  });
});

// ---- round trip ----

/** Every call between the inventory's apps over a grid of requests. */
function grid(): Call[] {
  const out: Call[] = [];
  for (const from of ['web', 'admin', 'batch', 'orders']) {
    for (const to of ['api', 'web']) {
      for (const [method, path] of [['GET', '/'], ['GET', '/v1/a'], ['POST', '/v1'], ['GET', '/admin/x'], ['GET', '/health'], ['GET', '/public']] as const) {
        out.push({ from, to, method, path });
        out.push({ from, to, method, path, headers: { 'x-debug': '1', 'x-team': 'ops' } });
      }
    }
  }
  return out;
}

describe('consul translator: round trip', () => {
  for (const c of WRITER.slice(0, 4)) {
    for (const dflt of ['allow', 'deny'] as const) {
      it(`read(write(m)) decides as m: ${c.name} (default ${dflt})`, () => {
        const ctx = context(dflt);
        const written = consulTranslator.write(c.model, ctx);
        const back = consulTranslator.read(resourcesOf(written.yaml), ctx);
        for (const call of grid()) assert.equal(decideModel(back, call, dflt), decideModel(c.model, call, dflt), `${show(call)}\n${back.protections.map(describe1).join('\n')}`);
        assert.deepEqual(back.notes.filter((n) => n.effect !== 'same' && !n.text.startsWith('the default intention policy is deny') && !n.text.includes('connections without HTTP')).map((n) => n.text), []);
      });
    }
  }

  it('gives back the same protections for an L4 allow', () => {
    const ctx = context('allow');
    const back = consulTranslator.read(resourcesOf(consulTranslator.write(WRITER[0]!.model, ctx).yaml), ctx);
    assert.deepEqual(back.protections.map(describe1), ['allow api-policy default/app=api: default/web-sa -> any']);
  });
});

// Generated L7 intentions (deny and allow permissions in any order, first match wins, §3.5; the
// default intention policy allow, §3.4) translated into Istio: every HTTP request is decided by
// Istio's simulator under the translation as by Consul's under the original, unless a note says
// the translation allows less or more.
describe('consul → istio: generated first-match permissions', () => {
  const PERMISSIONS = [
    '{ action: deny, http: { pathPrefix: /v1/admin } }',
    '{ action: allow, http: { pathPrefix: /v1/, methods: [GET, HEAD] } }',
    '{ action: allow, http: { pathExact: /v1/votes, methods: [POST], header: [{ name: Content-Type, prefix: application/json }] } }',
    '{ action: deny, http: { pathPrefix: /v1/ } }',
    '{ action: allow, http: { pathPrefix: /v1/admin, header: [{ name: x-team, exact: ops }] } }',
    '{ action: deny, http: { pathExact: /v1/votes } }',
    '{ action: allow, http: { pathPrefix: /, methods: [DELETE] } }',
    '{ action: deny, http: { pathPrefix: /v, methods: [POST, DELETE] } }',
    '{ action: allow, http: { pathPrefix: /v1/, header: [{ name: Content-Type, suffix: json }] } }',
  ];
  const CALLS: Call[] = [];
  for (const method of ['GET', 'POST', 'DELETE']) {
    for (const path of ['/v1/votes', '/v1/admin/x', '/v1/other', '/v2']) {
      for (const headers of [undefined, { 'content-type': 'application/json' }, { 'content-type': 'text/json' }, { 'x-team': 'ops' }] as (Record<string, string> | undefined)[]) {
        CALLS.push({ from: 'web', to: 'api', method, path, ...(headers ? { headers } : {}) });
      }
    }
  }
  const toIstio = (c: Call): AccessRecord => ({
    protocol: 'http', source: { principal: `cluster.local/ns/default/sa/${c.from}-sa` },
    destination: { namespace: 'default', workload: c.to, labels: { app: c.to }, port: 8080 },
    request: { method: c.method!, path: c.path!, ...(c.headers ? { headers: c.headers } : {}) },
  });
  let compared = 0;
  for (let seed = 1; seed <= 30; seed++) {
    it(`seed ${seed}`, async () => {
      const rng = new Prng(seed);
      const picked: string[] = [];
      for (let i = rng.between(2, 5); i > 0; i--) picked.push(rng.pick(PERMISSIONS));
      const yaml = crd('api', `  - name: web\n    permissions:\n${picked.map((p) => `    - ${p}\n`).join('')}`);
      const ctx = context('allow');
      const [t] = await translatePolicies(resourcesOf(yaml), 'istio', ctx, { path: '/ws/t.yaml' });
      // allows and denies of HTTP requests only: the TCP notes (an L7 source's plain connections) do not bear on them
      const bearing = t!.notes.filter((n) => n.effect !== 'same' && !/connections without HTTP|on a TCP port/.test(n.text));
      if (bearing.length) return;
      const consul = decideUnder('consul', yaml, ctx, CALLS.map((c) => record(c)));
      const istio = decideUnder('istio', t!.written.yaml, ctx, CALLS.map(toIstio));
      const wrong = CALLS.filter((_, i) => consul[i]!.verdict !== istio[i]!.verdict).map((c, i) => `${show(c)}: Consul ${consul[i]!.verdict}, Istio ${istio[i]!.verdict}`);
      assert.deepEqual(wrong, [], `${yaml}\n${t!.written.yaml}`);
      compared++;
    });
  }
  it('most generated cases were compared', () => {
    assert.ok(compared >= 25, `${compared} of 30`);
  });
});

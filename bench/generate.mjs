#!/usr/bin/env node
// Synthetic mesh for the benchmarks (issue 8): namespaces, services, policies for each mesh, a
// cluster inventory and access logs in every native format, all from one seeded model, so the same
// flags give the same bytes. Logs are streamed to disk (millions of lines never sit in memory).
//
//   node bench/generate.mjs [--namespaces 20] [--services 200] [--policies 1000] [--lines 100000]
//                           [--mesh istio|linkerd|consul|all] [--out bench/.data/mesh] [--seed 8]
//                           [--formats istio-text,istio-json,...] [--malformed-every 200000]
//
// Layout of --out:
//   .meshpolicy.yaml                    traffic + inventory globs for this folder
//   inventory/cluster.yaml              Namespaces, ServiceAccounts, Deployments, Services, Pods (with IPs)
//   policies/{istio,linkerd,consul}.yaml
//   traffic/istio-text.log              Istio default TEXT format, client and server line per call
//   traffic/istio-json.log              Istio JSON encoding (same keys as Envoy's), client and server line
//   traffic/linkerd-apache.log          Linkerd proxy access log, apache format (inbound only)
//   traffic/linkerd-json.log            Linkerd proxy access log, json format (inbound only)
//   traffic/consul-json.log             Consul Envoy JSON (default keys + source_principal on most lines)
//   traffic/records.jsonl               canonical access records (docs/access-records.md)
//   manifest.json                       flags, line counts, deliberate malformed lines per file
//
// Traffic mix: each service calls the two to four services it depends on (its operations,
// ids skewed towards a few hot ones); a tenth comes through the ingress gateway; about 4% of
// calls come from a service that is not a declared caller (denied: no ALLOW matches), about 1%
// go to /admin paths (denied by a DENY policy), some are application errors (404, 503) and
// application 403s (`via_upstream`, not a mesh denial). The policies the generator writes say
// the same thing, so simulation mostly agrees with what was observed.
import { createWriteStream, mkdirSync, writeFileSync } from 'node:fs';
import { once } from 'node:events';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

// ---------------------------------------------------------------------------------------------
// Seeded randomness

/** SplitMix32: a small, fast, well-mixed generator; one 32-bit state, so any seed works. */
export function splitmix32(seed) {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x9e3779b9) | 0;
    let t = a ^ (a >>> 16);
    t = Math.imul(t, 0x21f0aaad);
    t ^= t >>> 15;
    t = Math.imul(t, 0x735a2d97);
    t ^= t >>> 15;
    return (t >>> 0) / 4294967296;
  };
}

export class Random {
  constructor(seed) { this.next = splitmix32(seed); }
  int(lo, hi) { return lo + Math.floor(this.next() * (hi - lo + 1)); }
  pick(list) { return list[Math.floor(this.next() * list.length)]; }
  chance(p) { return this.next() < p; }
  /** Skewed towards the first elements: a few hot ids, a long tail. */
  skewed(n) { const x = this.next(); return Math.floor(x * x * x * n); }
  hex(n) { let s = ''; for (let i = 0; i < n; i++) s += HEX[Math.floor(this.next() * 16)]; return s; }
  /** Eight hex digits from one draw. */
  hex8() { return Math.floor(this.next() * 4294967296).toString(16).padStart(8, '0'); }
  uuid() {
    const a = this.hex8();
    const b = this.hex8();
    const c = this.hex8();
    const d = this.hex8();
    return `${a}-${b.slice(0, 4)}-4${b.slice(5)}-${HEX[8 + (c.charCodeAt(0) & 3)]}${c.slice(1, 4)}-${c.slice(4)}${d}`;
  }
  port() { return 32768 + Math.floor(this.next() * 28232); }
}
const HEX = '0123456789abcdef';

// ---------------------------------------------------------------------------------------------
// The model

const NS_WORDS = ['shop', 'payments', 'identity', 'platform', 'data', 'media', 'growth', 'support', 'logistics', 'search'];
const SVC_WORDS = ['orders', 'billing', 'catalog', 'search', 'users', 'auth', 'cart', 'ledger', 'inventory', 'shipping', 'reviews', 'pricing', 'fraud', 'profile', 'notify', 'media', 'quotes', 'tax', 'reports', 'sessions'];
const RESOURCES = ['items', 'orders', 'accounts', 'events', 'jobs', 'records'];
const USER_AGENTS = ['Go-http-client/1.1', 'python-requests/2.31.0', 'okhttp/4.12.0', 'axios/1.6.7', 'Java-http-client/17.0.9'];
const BROWSER = 'Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/122.0.0.0 Safari/537.36';
export const CONSUL_TRUST_DOMAIN = '7d4e1f2a-0b1c-4d2e-9f30-a1b2c3d4e5f6.consul';
const ID_RANGE = 24;

/**
 * Namespaces, services (kind http, grpc or tcp; labels; a named port; two or three pods with IPs;
 * a cluster IP; operations; the services each calls) and the ingress gateway.
 */
export function buildModel({ namespaces = 20, services = 200, seed = 8 } = {}) {
  const rnd = new Random(seed);
  const nsList = Array.from({ length: namespaces }, (_, i) => `${NS_WORDS[i % NS_WORDS.length]}${i >= NS_WORDS.length ? `-${Math.floor(i / NS_WORDS.length)}` : ''}`);
  const list = [];
  for (let i = 0; i < services; i++) {
    const name = `${SVC_WORDS[i % SVC_WORDS.length]}${i >= SVC_WORDS.length ? `-${Math.floor(i / SVC_WORDS.length)}` : ''}`;
    const ns = nsList[rnd.skewed(nsList.length)];
    const r = rnd.next();
    const kind = r < 0.08 ? 'grpc' : r < 0.12 ? 'tcp' : 'http';
    const port = kind === 'grpc' ? 9090 : kind === 'tcp' ? 6379 : rnd.pick([8080, 8080, 3000, 8000]);
    const portName = kind === 'grpc' ? 'grpc' : kind === 'tcp' ? 'tcp-redis' : 'http';
    const hash = (0x5b7d9c6f4 + i * 7919).toString(36).slice(0, 9);
    const pods = Array.from({ length: rnd.chance(0.3) ? 3 : 2 }, (_, j) => ({
      name: `${name}-${hash}-${(j * 31337 + i * 17 + 10000000).toString(36).slice(-5)}`,
      ip: `10.${40 + (i >> 8)}.${i & 255}.${10 + j}`,
    }));
    const resource = RESOURCES[i % RESOURCES.length];
    const base = `/api/v1/${name}/${resource}`;
    /** Operations: method, how a path is made, weight, and whether it is administrative. */
    const ops = kind === 'grpc'
      ? ['Get', 'List', 'Create', 'Watch'].map((m, k) => ({ method: 'POST', path: () => `/${name.replace(/-/g, '_')}.v1.${cap(resource)}Service/${m}${cap(resource)}`, weight: [6, 3, 1, 1][k] }))
      : kind === 'tcp' ? [{ method: undefined, path: () => undefined, weight: 1 }]
        : [
          { method: 'GET', path: (rd) => (rd.chance(0.3) ? `${base}?page=${1 + rd.skewed(5)}&limit=50` : base), weight: 8 },
          { method: 'GET', path: (rd) => `${base}/${1000 + rd.skewed(ID_RANGE)}`, weight: 12 },
          { method: 'POST', path: () => base, weight: 3 },
          { method: 'PUT', path: (rd) => `${base}/${1000 + rd.skewed(ID_RANGE)}`, weight: 2 },
          { method: 'DELETE', path: (rd) => `${base}/${1000 + rd.skewed(ID_RANGE)}`, weight: 1 },
          { method: 'GET', path: () => '/healthz', weight: 1 },
          { method: 'POST', path: (rd) => `/admin/${rd.pick(['cache/flush', 'reindex', 'config'])}`, weight: 0.15, admin: true },
        ];
    const totalWeight = ops.reduce((s, o) => s + o.weight, 0);
    list.push({
      index: i, name, ns, kind, port, portName, pods, resource, base, ops, totalWeight,
      vip: `10.96.${i >> 8}.${(i & 255) || 1}`,
      labels: { app: name, version: rnd.pick(['v1', 'v1', 'v2']), tier: i % 7 === 0 ? 'frontend' : kind === 'tcp' ? 'data' : 'backend' },
      ua: USER_AGENTS[i % USER_AGENTS.length],
      deps: [], callers: [],
    });
  }
  for (const s of list) {
    const n = rnd.int(2, 4);
    while (s.deps.length < n) {
      const d = list[rnd.int(0, list.length - 1)];
      if (d !== s && !s.deps.includes(d)) s.deps.push(d);
    }
    for (const d of s.deps) d.callers.push(s);
  }
  const frontends = list.filter((s) => s.labels.tier === 'frontend' && s.kind === 'http');
  const gateway = { name: 'istio-ingressgateway-7d9c8b6f5-k2x9z', ns: 'istio-system', sa: 'istio-ingressgateway-service-account', ip: '10.39.0.5', app: 'istio-ingressgateway' };
  return { namespaces: nsList, services: list, frontends, gateway };
}

const cap = (s) => s[0].toUpperCase() + s.slice(1);

function pickOp(rnd, svc) {
  let r = rnd.next() * svc.totalWeight;
  for (const op of svc.ops) if ((r -= op.weight) < 0) return op;
  return svc.ops[0];
}

/**
 * One observed call at a time (time in ms): who calls whom, with what, and what happened.
 * outcome: 'ok' | 'app-error' | 'app-403' | 'deny-none' (no ALLOW matched) | 'deny-admin' (DENY policy).
 */
export function* calls(model, count, seed) {
  const rnd = new Random(seed);
  const { services, frontends, gateway } = model;
  let t = Date.UTC(2025, 2, 14, 8, 0, 0);
  for (let i = 0; i < count; i++) {
    t += Math.floor(rnd.next() * 7);
    let client;
    let server;
    let stray = false;
    const r = rnd.next();
    if (r < 0.1 && frontends.length) server = rnd.pick(frontends);
    else {
      client = services[rnd.int(0, services.length - 1)];
      if (r < 0.14) {
        server = services[rnd.int(0, services.length - 1)];
        stray = server !== client && !client.deps.includes(server);
        if (server === client) server = client.deps[0];
      } else server = rnd.pick(client.deps);
    }
    const op = pickOp(rnd, server);
    const path = op.path(rnd);
    const fromPod = client ? rnd.pick(client.pods) : { ip: gateway.ip, name: gateway.name };
    const toPod = rnd.pick(server.pods);
    let outcome = 'ok';
    if (stray) outcome = 'deny-none';
    else if (op.admin) outcome = 'deny-admin';
    else if (rnd.chance(0.02)) outcome = 'app-error';
    else if (server.kind === 'http' && rnd.chance(0.005)) outcome = 'app-403';
    yield {
      t, client, server, fromPod, toPod, method: op.method, path, outcome,
      rid: rnd.uuid(), dur: 1 + rnd.skewed(60), bytes: rnd.int(40, 9000), eph1: rnd.port(), eph2: rnd.port(),
      xff: client ? undefined : `203.0.113.${rnd.int(1, 200)}`, tenant: `t-${rnd.skewed(8)}`,
      jwt: client ? undefined : rnd.chance(0.8) ? { valid: true, issuer: 'https://auth.example.com', subject: `user-${rnd.skewed(400)}` } : undefined,
    };
  }
}

const denied = (c) => c.outcome === 'deny-none' || c.outcome === 'deny-admin';
const status = (c) => (denied(c) || c.outcome === 'app-403' ? 403 : c.outcome === 'app-error' ? (c.t % 3 === 0 ? 503 : 404) : c.method === 'POST' && c.server.kind === 'http' ? 201 : c.method === 'DELETE' ? 204 : 200);
const iso = (ms) => new Date(ms).toISOString();
const istioPrincipal = (ns, sa) => `cluster.local/ns/${ns}/sa/${sa}`;
const linkerdId = (ns, sa) => `${sa}.${ns}.serviceaccount.identity.linkerd.cluster.local`;
const consulSpiffe = (svc) => `spiffe://${CONSUL_TRUST_DOMAIN}/ns/default/dc/dc1/svc/${svc}`;
const consulSni = (svc) => `${svc}.default.dc1.internal.${CONSUL_TRUST_DOMAIN}`;
const host = (s) => `${s.name}.${s.ns}.svc.cluster.local`;

// ---------------------------------------------------------------------------------------------
// Istio: default TEXT and JSON encodings (one client-side and one server-side line per call)

/** The Istio deny marker for a denied call: `[none]` when no ALLOW matched, the DENY policy's name otherwise. */
function istioDenyDetail(c) {
  return c.outcome === 'deny-admin' ? `rbac_access_denied_matched_policy[ns[${c.server.ns}]-policy[${c.server.name}-deny-admin]-rule[0]]` : 'rbac_access_denied_matched_policy[none]';
}

/** Envoy fields of the two sides of a call (undefined prints as `-` or null). */
function envoySides(c) {
  const s = c.server;
  const tcp = s.kind === 'tcp';
  const proto = tcp ? undefined : s.kind === 'grpc' ? 'HTTP/2' : 'HTTP/1.1';
  const code = tcp ? 0 : status(c);
  const d = denied(c);
  const authority = tcp ? undefined : `${s.name}.${s.ns}:${s.kind === 'grpc' ? s.port : 80}`;
  const ua = tcp ? undefined : c.client ? (s.kind === 'grpc' ? 'grpc-go/1.62.0' : c.client.ua) : BROWSER;
  const bytesOut = d ? (tcp ? 0 : 19) : c.bytes;
  const bytesIn = c.method === 'POST' || c.method === 'PUT' ? 120 : 0;
  // Object literals with every key (no spreads): one hidden class, which keeps generation fast.
  const client = {
    method: c.method, path: c.path, protocol: proto, requestId: tcp ? undefined : c.rid, authority, userAgent: ua, xff: c.xff, bytesIn,
    start: c.t, code: d && tcp ? 0 : code, details: tcp ? undefined : 'via_upstream', termination: undefined, flags: d && tcp ? 'UC' : '-', bytesOut,
    duration: c.dur + 1, upstreamTime: tcp ? undefined : c.dur,
    upstreamHost: `${c.toPod.ip}:${s.port}`, cluster: `outbound|${tcp ? s.port : 80}||${host(s)}`, upstreamLocal: `${c.fromPod.ip}:${c.eph2}`,
    downstreamLocal: `${s.vip}:${tcp ? s.port : 80}`, downstreamRemote: `${c.fromPod.ip}:${c.eph1}`, sni: undefined, route: tcp ? undefined : c.client ? 'default' : 'shop~storefront.0',
  };
  const server = {
    method: c.method, path: c.path, protocol: proto, requestId: tcp ? undefined : c.rid, authority, userAgent: ua, xff: c.xff, bytesIn,
    start: c.t + 1, code, details: tcp ? undefined : d ? istioDenyDetail(c) : 'via_upstream', termination: tcp && d ? istioDenyDetail(c) : undefined, flags: '-', bytesOut,
    duration: d ? 0 : c.dur, upstreamTime: d || tcp ? undefined : Math.max(1, c.dur - 1),
    upstreamHost: d ? undefined : `${c.toPod.ip}:${s.port}`, cluster: d ? undefined : `inbound|${s.port}||`, upstreamLocal: d ? undefined : `127.0.0.6:${c.eph1}`,
    downstreamLocal: `${c.toPod.ip}:${s.port}`, downstreamRemote: `${c.fromPod.ip}:${c.eph2}`,
    sni: `outbound_.${tcp ? s.port : 80}_._.${host(s)}`, route: d || tcp ? undefined : 'default',
  };
  return [client, server];
}

function envoyTextLine(f) {
  const q = (v) => `"${v ?? '-'}"`;
  const b = (v) => (v === undefined || v === null || v === '' ? '-' : String(v));
  const request = f.method ? `${f.method} ${f.path} ${f.protocol}` : '- - -';
  return `[${iso(f.start)}] "${request}" ${f.code} ${b(f.flags)} ${b(f.details)} ${b(f.termination)} "-" ${f.bytesIn} ${f.bytesOut} ${f.duration} ${b(f.upstreamTime)} ${q(f.xff)} ${q(f.userAgent)} ${q(f.requestId)} ${q(f.authority)} ${q(f.upstreamHost)} ${b(f.cluster)} ${b(f.upstreamLocal)} ${b(f.downstreamLocal)} ${b(f.downstreamRemote)} ${b(f.sni)} ${b(f.route)}`;
}

/** Istio's JSON encoding: its default keys in its order, numbers as numbers, empty as null. */
function envoyJsonLine(f, sourcePrincipal) {
  const v = (x) => (x === undefined || x === '' ? null : x);
  const o = {
    start_time: iso(f.start), route_name: v(f.route), method: v(f.method), path: v(f.path), protocol: v(f.protocol),
    response_code: f.code, response_flags: f.flags ?? '-', response_code_details: v(f.details), connection_termination_details: v(f.termination),
    upstream_transport_failure_reason: null, bytes_received: f.bytesIn, bytes_sent: f.bytesOut, duration: f.duration,
    upstream_service_time: f.upstreamTime === undefined ? null : String(f.upstreamTime), x_forwarded_for: v(f.xff), user_agent: v(f.userAgent),
    request_id: v(f.requestId), authority: v(f.authority), upstream_host: v(f.upstreamHost), upstream_cluster: v(f.cluster),
    upstream_local_address: v(f.upstreamLocal), downstream_local_address: v(f.downstreamLocal), downstream_remote_address: v(f.downstreamRemote),
    requested_server_name: v(f.sni),
  };
  if (sourcePrincipal !== undefined) o.source_principal = sourcePrincipal;
  return JSON.stringify(o);
}

function istioLines(c, encode) {
  const [client, server] = envoySides(c);
  return `${encode(client)}\n${encode(server)}\n`;
}

// ---------------------------------------------------------------------------------------------
// Linkerd: apache and json (the inbound proxy of the destination writes one line per request)

const nsTime = (ms, c) => `${iso(ms).slice(0, 23)}${String((c.eph1 * 7919) % 1000000).padStart(6, '0')}Z`;

function linkerdFields(c) {
  const s = c.server;
  // Linkerd logs inbound HTTP only; TCP services are called over HTTP here (a Redis proxy would not log)
  const grpc = s.kind === 'grpc';
  const authority = `${s.name}.${s.ns}.svc.cluster.local:${s.port}`;
  const id = c.client ? linkerdId(c.client.ns, c.client.name) : c.t % 4 === 0 ? undefined : linkerdId('ingress-nginx', 'ingress-nginx');
  const path = c.path ?? '/';
  // policy denials: 403, except gRPC, which is answered 200 + grpc-status 7 (the log shows 200)
  const st = grpc && denied(c) ? 200 : status(c);
  return {
    clientAddr: `${c.fromPod.ip}:${c.eph1}`, clientId: id, time: nsTime(c.t, c), method: c.method ?? 'GET',
    uri: `http://${authority}${path}`, version: grpc ? 'HTTP/2.0' : 'HTTP/1.1', status: st, host: authority,
    ua: c.client ? (grpc ? 'grpc-go/1.62.0' : c.client.ua) : BROWSER, trace: c.rid.replace(/-/g, '').slice(0, 16),
  };
}

function linkerdApacheLine(c) {
  const f = linkerdFields(c);
  return `${f.clientAddr} ${f.clientId ?? '-'} - [${f.time}] "${f.method} ${f.uri} ${f.version}" ${f.status}\n`;
}

function linkerdJsonLine(c) {
  const f = linkerdFields(c);
  return `${JSON.stringify({
    'client.addr': f.clientAddr, 'client.id': f.clientId ?? '-', host: f.host, method: f.method, processing_ns: String(6000 + (c.eph2 % 30000)),
    request_bytes: c.method === 'POST' ? '120' : '', response_bytes: String(denied(c) ? 0 : c.bytes), status: f.status, timestamp: f.time,
    total_ns: String(90000 + c.dur * 1000), trace_id: c.t % 3 === 0 ? f.trace : '', uri: f.uri, user_agent: f.ua, version: f.version,
  })}\n`;
}

// ---------------------------------------------------------------------------------------------
// Consul: Envoy JSON, inbound lines of each sidecar's public listener (port 20000)

function consulLine(c) {
  const s = c.server;
  const tcp = s.kind === 'tcp';
  const d = denied(c);
  // Consul's markers: default deny → [none]; a deny intention on an L7 source → layer7-<i>
  const marker = c.outcome === 'deny-admin' ? 'rbac_access_denied_matched_policy[consul-intentions-layer7-0]' : 'rbac_access_denied_matched_policy[none]';
  const f = {
    start: c.t, method: c.method, path: c.path, protocol: tcp ? undefined : s.kind === 'grpc' ? 'HTTP/2' : 'HTTP/1.1', code: tcp ? 0 : status(c),
    flags: '-', details: tcp ? undefined : d ? marker : 'via_upstream', termination: tcp && d ? marker : undefined,
    bytesIn: c.method === 'POST' ? 120 : 0, bytesOut: d ? (tcp ? 0 : 19) : c.bytes, duration: d ? 0 : c.dur, upstreamTime: d || tcp ? undefined : c.dur,
    xff: c.xff, userAgent: tcp ? undefined : c.client ? c.client.ua : BROWSER, requestId: tcp ? undefined : c.rid,
    authority: tcp ? undefined : `${s.name}.virtual.consul`, upstreamHost: d ? undefined : `127.0.0.1:${s.port}`, cluster: d ? undefined : 'local_app',
    upstreamLocal: d ? undefined : `127.0.0.1:${c.eph2}`, downstreamLocal: `${c.toPod.ip}:20000`, downstreamRemote: `${c.fromPod.ip}:${c.eph1}`,
    sni: consulSni(s.name), route: d || tcp ? undefined : 'default',
  };
  // proxy-defaults JSONFormat with the documented source_principal key on most sidecars
  const principal = c.client ? consulSpiffe(c.client.name) : consulSpiffe('ingress-gateway');
  return `${envoyJsonLine(f, c.eph1 % 10 < 8 ? principal : undefined)}\n`;
}

// ---------------------------------------------------------------------------------------------
// Canonical access records

export function accessRecord(c, gateway) {
  const s = c.server;
  const tcp = s.kind === 'tcp';
  const src = c.client
    ? { principal: istioPrincipal(c.client.ns, c.client.name), namespace: c.client.ns, serviceAccount: c.client.name, workload: c.client.name, service: c.client.name, ip: c.fromPod.ip }
    : { principal: istioPrincipal(gateway.ns, gateway.sa), namespace: gateway.ns, serviceAccount: gateway.sa, workload: 'istio-ingressgateway', ip: gateway.ip, remoteIp: c.xff };
  const record = {
    time: iso(c.t), mesh: 'istio', protocol: tcp ? 'tcp' : s.kind === 'grpc' ? 'grpc' : 'http',
    source: src,
    destination: { namespace: s.ns, workload: s.name, service: s.name, serviceAccount: s.name, ip: c.toPod.ip, port: s.port },
  };
  if (!tcp) {
    record.request = { method: c.method, path: c.path, host: `${s.name}.${s.ns}.svc.cluster.local`, headers: { 'x-tenant': c.tenant } };
    if (c.jwt) record.request.jwt = { valid: c.jwt.valid, issuer: c.jwt.issuer, subject: c.jwt.subject, audiences: ['shop'] };
  }
  record.response = tcp ? { flags: denied(c) ? 'UC' : '-' } : { status: status(c), details: denied(c) ? istioDenyDetail(c) : 'via_upstream' };
  if (tcp && denied(c)) record.response.details = istioDenyDetail(c);
  record.observed = denied(c) ? 'denied' : 'allowed';
  return record;
}

// ---------------------------------------------------------------------------------------------
// Policies

const yamlList = (items) => `[${items.map((x) => JSON.stringify(x)).join(', ')}]`;

/**
 * Istio: per service a round of policies (ALLOW for its callers with methods, path prefixes and
 * templates, ports and a when-condition; a DENY for /admin/*; a namespace-wide health ALLOW;
 * dry-run and AUDIT policies; wildcard principals), until `count` documents, plus one strict
 * PeerAuthentication and one RequestAuthentication (not counted).
 */
export function istioPolicies(model, count) {
  const { services, gateway } = model;
  const docs = [
    `apiVersion: security.istio.io/v1\nkind: PeerAuthentication\nmetadata:\n  name: default\n  namespace: istio-system\nspec:\n  mtls:\n    mode: STRICT`,
    `apiVersion: security.istio.io/v1\nkind: RequestAuthentication\nmetadata:\n  name: gateway-jwt\n  namespace: istio-system\nspec:\n  selector:\n    matchLabels:\n      app: istio-ingressgateway\n  jwtRules:\n  - issuer: https://auth.example.com\n    jwksUri: https://auth.example.com/.well-known/jwks.json`,
  ];
  const meta = (name, ns, annotations = '') => `metadata:\n  name: ${name}\n  namespace: ${ns}${annotations}`;
  const selector = (s) => `  selector:\n    matchLabels:\n      app: ${s.name}`;
  const callers = (s) => {
    const p = s.callers.map((c) => istioPrincipal(c.ns, c.name));
    if (s.labels.tier === 'frontend') p.push(istioPrincipal(gateway.ns, gateway.sa));
    return p.length ? p : [istioPrincipal(s.ns, 'nobody')];
  };
  for (let i = 0; docs.length - 2 < count; i++) {
    const s = services[i % services.length];
    const round = Math.floor(i / services.length);
    const tcp = s.kind === 'tcp';
    let doc;
    switch (round % 6) {
      case 0: // the service's main ALLOW
        doc = tcp
          ? `apiVersion: security.istio.io/v1\nkind: AuthorizationPolicy\n${meta(`${s.name}-allow`, s.ns)}\nspec:\n${selector(s)}\n  action: ALLOW\n  rules:\n  - from:\n    - source:\n        principals: ${yamlList(callers(s))}\n    to:\n    - operation:\n        ports: ["${s.port}"]`
          : `apiVersion: security.istio.io/v1\nkind: AuthorizationPolicy\n${meta(`${s.name}-allow`, s.ns)}\nspec:\n${selector(s)}\n  action: ALLOW\n  rules:\n  - from:\n    - source:\n        principals: ${yamlList(callers(s))}\n    to:\n    - operation:\n        methods: ${yamlList(s.kind === 'grpc' ? ['POST'] : ['GET', 'POST', 'PUT', 'DELETE'])}\n        paths: ${yamlList(s.kind === 'grpc' ? [`/${s.name.replace(/-/g, '_')}.v1.*`] : [s.base, `${s.base}/*`, '/healthz'])}\n  - from:\n    - source:\n        namespaces: ["${s.ns}"]\n    to:\n    - operation:\n        methods: ["GET"]\n        paths: ["/healthz"]`;
        break;
      case 1: // DENY on administrative paths unless from the ops namespace
        doc = `apiVersion: security.istio.io/v1\nkind: AuthorizationPolicy\n${meta(`${s.name}-deny-admin`, s.ns)}\nspec:\n${selector(s)}\n  action: DENY\n  rules:\n  - from:\n    - source:\n        notNamespaces: ["ops"]\n    to:\n    - operation:\n        ports: ["${s.port}"]${tcp ? '' : '\n        paths: ["/admin/*", "/debug/*"]'}`;
        break;
      case 2: // reads of one record by id (template), with a tenant header condition
        doc = `apiVersion: security.istio.io/v1\nkind: AuthorizationPolicy\n${meta(`${s.name}-tenant-reads`, s.ns)}\nspec:\n${selector(s)}\n  action: ALLOW\n  rules:\n  - from:\n    - source:\n        principals: ["cluster.local/ns/${s.ns}/sa/*"]\n    to:\n    - operation:\n        methods: ["GET", "HEAD"]\n        paths: ["${s.base}/{*}"]\n        ports: ["${s.port}"]\n    when:\n    - key: request.headers[x-tenant]\n      values: ["t-0", "t-1", "t-2"]\n    - key: source.ip\n      notValues: ["10.200.0.0/16"]`;
        break;
      case 3: // namespace-wide (no selector) for the namespace's first service, else a DENY in dry-run
        doc = services.find((x) => x.ns === s.ns) === s
          ? `apiVersion: security.istio.io/v1\nkind: AuthorizationPolicy\n${meta(`${s.name}-ns-health-${round}`, s.ns)}\nspec:\n  action: ALLOW\n  rules:\n  - to:\n    - operation:\n        methods: ["GET"]\n        paths: ["/healthz", "/readyz"]`
          : `apiVersion: security.istio.io/v1\nkind: AuthorizationPolicy\n${meta(`${s.name}-tighten`, s.ns, '\n  annotations:\n    istio.io/dry-run: "true"')}\nspec:\n${selector(s)}\n  action: DENY\n  rules:\n  - from:\n    - source:\n        notPrincipals: ${yamlList(callers(s))}\n    to:\n    - operation:\n        ports: ["${s.port}"]${tcp ? '' : '\n        notMethods: ["GET"]'}`;
        break;
      case 4: // AUDIT of writes
        doc = `apiVersion: security.istio.io/v1\nkind: AuthorizationPolicy\n${meta(`${s.name}-audit-writes`, s.ns)}\nspec:\n${selector(s)}\n  action: AUDIT\n  rules:\n  - to:\n    - operation:\n        methods: ["POST", "PUT", "DELETE"]`;
        break;
      default: // prefix and suffix forms, hosts, request principals
        doc = `apiVersion: security.istio.io/v1\nkind: AuthorizationPolicy\n${meta(`${s.name}-extra-${round}`, s.ns)}\nspec:\n${selector(s)}\n  action: ALLOW\n  rules:\n  - from:\n    - source:\n        principals: ["*/sa/${s.callers[0]?.name ?? 'nobody'}"]\n    to:\n    - operation:\n        hosts: ["${s.name}.${s.ns}.svc.cluster.local", "${s.name}.${s.ns}*"]\n        paths: ["*.json", "${s.base}*"]\n  - from:\n    - source:\n        requestPrincipals: ["https://auth.example.com/*"]\n    when:\n    - key: request.auth.claims[iss]\n      values: ["https://auth.example.com"]`;
    }
    docs.push(doc);
  }
  return `${docs.join('\n---\n')}\n`;
}

/**
 * Linkerd: per service a Server for its port, an HTTPRoute (or GRPCRoute) of its API, the
 * MeshTLSAuthentication of its callers (plus a namespace wildcard) and an AuthorizationPolicy on
 * the route; further rounds add routes for health (NetworkAuthentication for kubelets) and admin
 * (audit), until `count` documents.
 */
export function linkerdPolicies(model, count) {
  const { services } = model;
  const docs = [];
  const meta = (name, ns) => `metadata:\n  name: ${name}\n  namespace: ${ns}`;
  const parent = (s) => `  parentRefs:\n  - name: ${s.name}-${s.portName}\n    kind: Server\n    group: policy.linkerd.io`;
  outer: for (let round = 0; ; round++) {
    for (const s of services) {
      const bundle = [];
      const ids = s.callers.map((c) => linkerdId(c.ns, c.name));
      if (round === 0) {
        bundle.push(`apiVersion: policy.linkerd.io/v1beta3\nkind: Server\n${meta(`${s.name}-${s.portName}`, s.ns)}\nspec:\n  podSelector:\n    matchLabels:\n      app: ${s.name}\n  port: ${s.portName}\n  proxyProtocol: ${s.kind === 'grpc' ? 'gRPC' : s.kind === 'tcp' ? 'opaque' : 'HTTP/1'}`);
        bundle.push(`apiVersion: policy.linkerd.io/v1alpha1\nkind: MeshTLSAuthentication\n${meta(`${s.name}-callers`, s.ns)}\nspec:\n  identities: ${yamlList([...ids, `*.${s.ns}.serviceaccount.identity.linkerd.cluster.local`])}`);
        if (s.kind === 'tcp') {
          bundle.push(`apiVersion: policy.linkerd.io/v1alpha1\nkind: AuthorizationPolicy\n${meta(`${s.name}-server-authz`, s.ns)}\nspec:\n  targetRef:\n    group: policy.linkerd.io\n    kind: Server\n    name: ${s.name}-${s.portName}\n  requiredAuthenticationRefs:\n  - name: ${s.name}-callers\n    kind: MeshTLSAuthentication\n    group: policy.linkerd.io`);
        } else {
          bundle.push(s.kind === 'grpc'
            ? `apiVersion: gateway.networking.k8s.io/v1\nkind: GRPCRoute\n${meta(`${s.name}-api`, s.ns)}\nspec:\n${parent(s)}\n  rules:\n  - matches:\n    - method:\n        service: ${s.name.replace(/-/g, '_')}.v1.${cap(s.resource)}Service`
            : `apiVersion: policy.linkerd.io/v1beta3\nkind: HTTPRoute\n${meta(`${s.name}-api`, s.ns)}\nspec:\n${parent(s)}\n  rules:\n  - matches:\n    - path:\n        type: PathPrefix\n        value: ${s.base}\n    - path:\n        type: Exact\n        value: /healthz\n      method: GET`);
          bundle.push(`apiVersion: policy.linkerd.io/v1alpha1\nkind: AuthorizationPolicy\n${meta(`${s.name}-api-authz`, s.ns)}\nspec:\n  targetRef:\n    group: ${s.kind === 'grpc' ? 'gateway.networking.k8s.io' : 'policy.linkerd.io'}\n    kind: ${s.kind === 'grpc' ? 'GRPCRoute' : 'HTTPRoute'}\n    name: ${s.name}-api\n  requiredAuthenticationRefs:\n  - name: ${s.name}-callers\n    kind: MeshTLSAuthentication\n    group: policy.linkerd.io`);
        }
      } else if (s.kind === 'http') {
        const r = `${s.name}-r${round}`;
        bundle.push(round % 2
          ? `apiVersion: policy.linkerd.io/v1beta3\nkind: HTTPRoute\n${meta(r, s.ns)}\nspec:\n${parent(s)}\n  rules:\n  - matches:\n    - path:\n        type: PathPrefix\n        value: /admin/\n      method: POST`
          : `apiVersion: policy.linkerd.io/v1beta3\nkind: HTTPRoute\n${meta(r, s.ns)}\nspec:\n${parent(s)}\n  rules:\n  - matches:\n    - path:\n        type: RegularExpression\n        value: "${s.base}/[0-9]+"\n      method: PUT\n      headers:\n      - name: x-tenant\n        value: t-0`);
        bundle.push(round % 2
          ? `apiVersion: policy.linkerd.io/v1alpha1\nkind: NetworkAuthentication\n${meta(`${r}-ops-net`, s.ns)}\nspec:\n  networks:\n  - cidr: 10.0.0.0/8\n    except: ["10.96.0.0/12"]`
          : `apiVersion: policy.linkerd.io/v1alpha1\nkind: AuthorizationPolicy\n${meta(`${r}-authz`, s.ns)}\nspec:\n  targetRef:\n    group: policy.linkerd.io\n    kind: HTTPRoute\n    name: ${r}\n  requiredAuthenticationRefs:\n  - name: ${s.name}-callers\n    kind: MeshTLSAuthentication\n    group: policy.linkerd.io`);
        if (round % 2) bundle.push(`apiVersion: policy.linkerd.io/v1alpha1\nkind: AuthorizationPolicy\n${meta(`${r}-authz`, s.ns)}\nspec:\n  targetRef:\n    group: policy.linkerd.io\n    kind: HTTPRoute\n    name: ${r}\n  requiredAuthenticationRefs:\n  - name: ${r}-ops-net\n    kind: NetworkAuthentication\n    group: policy.linkerd.io`);
      }
      for (const doc of bundle) {
        if (docs.length >= count) break outer;
        docs.push(doc);
      }
    }
    if (round > 50) break;
  }
  return `${docs.join('\n---\n')}\n`;
}

/**
 * Consul (consul-k8s CRDs): one ServiceIntentions per destination, its sources the intentions
 * (`count` in all, spread over the services): L4 allows for TCP services, L7 permissions (deny
 * /admin first, then path prefix/exact/regex with methods and a header) for HTTP ones, explicit
 * denies and a `*` wildcard deny; plus a ServiceDefaults per HTTP/gRPC service and a default deny.
 */
export function consulPolicies(model, count) {
  const { services } = model;
  const perEntry = Math.max(1, Math.ceil(count / services.length));
  const docs = [`apiVersion: consul.hashicorp.com/v1alpha1\nkind: ServiceIntentions\nmetadata:\n  name: deny-all\n  namespace: consul\nspec:\n  destination:\n    name: "*"\n  sources:\n  - name: "*"\n    action: deny`];
  let left = count - 1;
  for (const s of services) {
    if (left <= 0) break;
    const sources = [];
    const n = Math.min(perEntry, left);
    const names = s.callers.map((c) => c.name);
    const taken = new Set([s.name, ...names]);
    for (let k = 0; k < n; k++) {
      if (k < names.length) {
        if (s.kind === 'tcp') sources.push(`  - name: ${names[k]}\n    action: allow`);
        else if (s.kind === 'grpc') sources.push(`  - name: ${names[k]}\n    permissions:\n    - action: allow\n      http:\n        pathPrefix: /${s.name.replace(/-/g, '_')}.v1.\n        methods: ["POST"]`);
        else sources.push(`  - name: ${names[k]}\n    permissions:\n    - action: deny\n      http:\n        pathPrefix: /admin/\n    - action: allow\n      http:\n        pathPrefix: ${s.base}\n        methods: ["GET", "POST", "PUT", "DELETE"]\n    - action: allow\n      http:\n        pathExact: /healthz\n    - action: allow\n      http:\n        pathRegex: "${s.base}/[0-9]+"\n        header:\n        - name: x-tenant\n          prefix: t-`);
      } else if (k === n - 1) sources.push('  - name: "*"\n    action: deny');
      else {
        let j = s.index + 7 * k + 3;
        while (taken.has(services[j % services.length].name)) j++;
        taken.add(services[j % services.length].name);
        sources.push(`  - name: ${services[j % services.length].name}\n    action: deny\n    description: not a declared caller`);
      }
    }
    left -= n;
    docs.push(`apiVersion: consul.hashicorp.com/v1alpha1\nkind: ServiceIntentions\nmetadata:\n  name: ${s.name}\n  namespace: ${s.ns}\nspec:\n  destination:\n    name: ${s.name}\n  sources:\n${sources.join('\n')}`);
  }
  for (const s of services) {
    if (s.kind !== 'tcp') docs.push(`apiVersion: consul.hashicorp.com/v1alpha1\nkind: ServiceDefaults\nmetadata:\n  name: ${s.name}\n  namespace: ${s.ns}\nspec:\n  protocol: ${s.kind === 'grpc' ? 'grpc' : 'http'}`);
  }
  return `${docs.join('\n---\n')}\n`;
}

// ---------------------------------------------------------------------------------------------
// Inventory

export function inventoryYaml(model) {
  const docs = [];
  for (const ns of [...model.namespaces, 'istio-system']) {
    docs.push(`apiVersion: v1\nkind: Namespace\nmetadata:\n  name: ${ns}\n  labels:\n    istio-injection: enabled\n  annotations:\n    linkerd.io/inject: enabled`);
  }
  for (const s of model.services) {
    const labels = Object.entries(s.labels).map(([k, v]) => `        ${k}: ${v}`).join('\n');
    docs.push(`apiVersion: v1\nkind: ServiceAccount\nmetadata:\n  name: ${s.name}\n  namespace: ${s.ns}`);
    docs.push(`apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: ${s.name}\n  namespace: ${s.ns}\nspec:\n  replicas: ${s.pods.length}\n  selector:\n    matchLabels:\n      app: ${s.name}\n  template:\n    metadata:\n      labels:\n${labels}\n    spec:\n      serviceAccountName: ${s.name}\n      containers:\n      - name: ${s.name}\n        image: registry.example.com/${s.name}:1.${s.index % 9}.0\n        ports:\n        - name: ${s.portName}\n          containerPort: ${s.port}`);
    docs.push(`apiVersion: v1\nkind: Service\nmetadata:\n  name: ${s.name}\n  namespace: ${s.ns}\nspec:\n  clusterIP: ${s.vip}\n  selector:\n    app: ${s.name}\n  ports:\n  - name: ${s.portName}\n    port: ${s.kind === 'http' ? 80 : s.port}\n    targetPort: ${s.portName}`);
    for (const p of s.pods) {
      docs.push(`apiVersion: v1\nkind: Pod\nmetadata:\n  name: ${p.name}\n  namespace: ${s.ns}\n  labels:\n${labels.replace(/^ {4}/gm, '')}\nspec:\n  serviceAccountName: ${s.name}\n  containers:\n  - name: ${s.name}\n    ports:\n    - name: ${s.portName}\n      containerPort: ${s.port}\nstatus:\n  podIP: ${p.ip}`);
    }
  }
  const g = model.gateway;
  docs.push(`apiVersion: v1\nkind: ServiceAccount\nmetadata:\n  name: ${g.sa}\n  namespace: ${g.ns}`);
  docs.push(`apiVersion: v1\nkind: Pod\nmetadata:\n  name: ${g.name}\n  namespace: ${g.ns}\n  labels:\n    app: ${g.app}\n    istio: ingressgateway\nspec:\n  serviceAccountName: ${g.sa}\n  containers:\n  - name: istio-proxy\n    ports:\n    - containerPort: 8080\nstatus:\n  podIP: ${g.ip}`);
  return `${docs.join('\n---\n')}\n`;
}

// ---------------------------------------------------------------------------------------------
// Writing

export const FORMATS = {
  'istio-text': { mesh: 'istio', file: 'istio-text.log', linesPerCall: 2, line: (c) => istioLines(c, envoyTextLine), malformed: '[2025-03-14T08:00:00.000Z] "GET /api/v1/orders HTTP/1.1" 200 - via_upst' },
  'istio-json': { mesh: 'istio', file: 'istio-json.log', linesPerCall: 2, line: (c) => istioLines(c, (f) => envoyJsonLine(f)), malformed: '{"start_time":"2025-03-14T08:00:00.000Z","route_name":"default","method":"GET","pa' },
  'linkerd-apache': { mesh: 'linkerd', file: 'linkerd-apache.log', linesPerCall: 1, line: linkerdApacheLine, malformed: '10.42.2.18:51234 web.shop.serviceaccount.identity.linkerd.cluster.local - [2025-03-14T13:41:07.1' },
  'linkerd-json': { mesh: 'linkerd', file: 'linkerd-json.log', linesPerCall: 1, line: linkerdJsonLine, malformed: '{"client.addr":"10.42.1.15:40112","client.id":"web.shop.serviceaccount.identity.linkerd.cluster.local","host":"emo' },
  'consul-json': { mesh: 'consul', file: 'consul-json.log', linesPerCall: 1, line: consulLine, malformed: '{"authority":"api.virtual.consul","bytes_received":0,"bytes_sent":' },
  records: { mesh: 'istio', file: 'records.jsonl', linesPerCall: 1, line: null, malformed: '{"time":"2025-03-14T08:00:00.000Z","mesh":"istio","source":{"principal":"cluster.lo' },
};

/** Streams `lines` lines of one format to `path`; returns the number of deliberate malformed lines. */
export async function writeTraffic(model, format, lines, path, { seed = 8, malformedEvery = 0 } = {}) {
  const spec = FORMATS[format];
  const out = createWriteStream(path, { highWaterMark: 1 << 20 });
  const encode = spec.line ?? ((c) => `${JSON.stringify(accessRecord(c, model.gateway))}\n`);
  let buffer = '';
  let written = 0;
  let malformed = 0;
  let nextBroken = malformedEvery > 0 ? Math.floor(malformedEvery / 2) : Infinity;
  const formatSeed = seed * 1000 + Object.keys(FORMATS).indexOf(format);
  for (const c of calls(model, Number.MAX_SAFE_INTEGER, formatSeed)) {
    if (written >= lines) break;
    if (written >= nextBroken) {
      buffer += `${spec.malformed}\n`;
      written++;
      malformed++;
      nextBroken += malformedEvery;
      continue;
    }
    let text = encode(c);
    if (written + spec.linesPerCall > lines) text = text.slice(0, text.indexOf('\n') + 1);
    buffer += text;
    written += spec.linesPerCall > 1 && text.indexOf('\n') !== text.length - 1 ? spec.linesPerCall : 1;
    if (buffer.length > 1 << 20) {
      if (!out.write(buffer)) await once(out, 'drain');
      buffer = '';
    }
  }
  out.end(buffer);
  await once(out, 'finish');
  return malformed;
}

const MESHES = ['istio', 'linkerd', 'consul'];

export async function generate(options) {
  const o = { namespaces: 20, services: 200, policies: 1000, lines: 100_000, mesh: 'all', out: 'bench/.data/mesh', seed: 8, malformedEvery: 0, ...options };
  const meshes = o.mesh === 'all' ? MESHES : [o.mesh];
  if (!meshes.every((m) => MESHES.includes(m))) throw new Error(`--mesh must be istio, linkerd, consul or all, not ${o.mesh}`);
  const formats = o.formats ?? Object.keys(FORMATS).filter((f) => meshes.includes(FORMATS[f].mesh));
  const model = buildModel(o);
  for (const dir of ['inventory', 'policies', 'traffic']) mkdirSync(join(o.out, dir), { recursive: true });
  writeFileSync(join(o.out, 'inventory', 'cluster.yaml'), inventoryYaml(model));
  const writers = { istio: istioPolicies, linkerd: linkerdPolicies, consul: consulPolicies };
  for (const mesh of meshes) writeFileSync(join(o.out, 'policies', `${mesh}.yaml`), writers[mesh](model, o.policies));
  const manifest = { flags: { namespaces: o.namespaces, services: o.services, policies: o.policies, lines: o.lines, mesh: o.mesh, seed: o.seed, malformedEvery: o.malformedEvery }, files: {} };
  for (const format of formats) {
    const path = join(o.out, 'traffic', FORMATS[format].file);
    const malformed = await writeTraffic(model, format, o.lines, path, o);
    manifest.files[format] = { path: join('traffic', FORMATS[format].file), lines: o.lines, malformed };
  }
  writeFileSync(join(o.out, '.meshpolicy.yaml'), '# written by bench/generate.mjs\ntraffic:\n  - traffic/*.log\n  - traffic/*.jsonl\ninventory:\n  - inventory/*.yaml\n');
  writeFileSync(join(o.out, 'manifest.json'), `${JSON.stringify(manifest, null, 2)}\n`);
  return { model, manifest };
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const args = process.argv.slice(2);
  const flag = (name) => {
    const i = args.indexOf(`--${name}`);
    return i >= 0 ? args[i + 1] : undefined;
  };
  const num = (name) => (flag(name) === undefined ? undefined : Number(flag(name)));
  const options = Object.fromEntries(Object.entries({
    namespaces: num('namespaces'), services: num('services'), policies: num('policies'), lines: num('lines'),
    mesh: flag('mesh'), out: flag('out'), seed: num('seed'), malformedEvery: num('malformed-every'),
    formats: flag('formats')?.split(','),
  }).filter(([, v]) => v !== undefined));
  const started = Date.now();
  const { manifest } = await generate(options);
  console.log(`generated in ${((Date.now() - started) / 1000).toFixed(1)} s: ${Object.entries(manifest.files).map(([f, v]) => `${f} ${v.lines.toLocaleString('en-US')} lines`).join(', ')}`);
}

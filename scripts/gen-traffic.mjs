#!/usr/bin/env node
// Generates the example access logs under examples/<mesh>/traffic/ from a seeded traffic model of
// each example app (see examples/README.md and examples/traffic/README.md). Deterministic: the same
// seed gives byte-identical files.
//
//   node scripts/gen-traffic.mjs            # writes the files
//   node scripts/gen-traffic.mjs --check    # fails when the files on disk differ from what it generates
//
// The logs follow what the example policies mean to say, as if the deliberate mistakes planted for
// the linter were fixed (an invalid resource would not be admitted by the cluster at all).
import { mkdirSync, readFileSync, writeFileSync, existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..');
const SEED = 20250314;

// ---------------------------------------------------------------------------------------------
// Seeded randomness

function mulberry32(seed) {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

class Random {
  constructor(seed) { this.next = mulberry32(seed); }
  int(lo, hi) { return lo + Math.floor(this.next() * (hi - lo + 1)); }
  pick(list) { return list[Math.floor(this.next() * list.length)]; }
  chance(p) { return this.next() < p; }
  /** One of [weight, value] pairs. */
  weighted(entries) {
    const total = entries.reduce((s, [w]) => s + w, 0);
    let r = this.next() * total;
    for (const [w, v] of entries) { if ((r -= w) < 0) return v; }
    return entries[entries.length - 1][1];
  }
  hex(n) { let s = ''; for (let i = 0; i < n; i++) s += '0123456789abcdef'[this.int(0, 15)]; return s; }
  uuid() { return `${this.hex(8)}-${this.hex(4)}-4${this.hex(3)}-${'89ab'[this.int(0, 3)]}${this.hex(3)}-${this.hex(12)}`; }
  port() { return this.int(32768, 60999); }
  /** Exponential gap with the given mean (ms). */
  gap(mean) { return -Math.log(1 - this.next()) * mean; }
}

// ---------------------------------------------------------------------------------------------
// Output helpers

const iso = (ms) => new Date(ms).toISOString();
/** RFC 3339 with nanoseconds, as Linkerd writes it. */
const isoNs = (ms, rnd) => `${iso(ms).slice(0, 23)}${String(rnd.int(0, 999999)).padStart(6, '0')}Z`;

/** Lines of one file, kept with their time so that each file comes out in time order. */
class LogFile {
  constructor(path) { this.path = path; this.entries = []; this.malformed = []; }
  add(t, text) { this.entries.push({ t, text, n: this.entries.length }); }
  /** A line that no reader can take, inserted near the given fraction of the file. */
  broken(fraction, text) { this.malformed.push({ fraction, text }); }
  render() {
    const lines = this.entries.sort((a, b) => a.t - b.t || a.n - b.n).map((e) => e.text);
    const malformed = [...this.malformed].sort((a, b) => b.fraction - a.fraction);
    for (const m of malformed) lines.splice(Math.floor(lines.length * m.fraction), 0, m.text);
    return `${lines.join('\n')}\n`;
  }
}

/** Istio/Envoy default TEXT format (istio/istio EnvoyTextLogFormat). */
function envoyText(f) {
  const q = (v) => `"${v ?? '-'}"`;
  const b = (v) => (v === undefined || v === null || v === '' ? '-' : String(v));
  const request = f.method ? `${f.method} ${f.path} ${f.protocol}` : '- - -';
  return `[${iso(f.start)}] "${request}" ${f.code} ${b(f.flags)} ${b(f.details)} ${b(f.termination)} ${q(f.transportFailure)} ${f.bytesIn} ${f.bytesOut} ${f.duration} ${b(f.upstreamTime)} ${q(f.xff)} ${q(f.userAgent)} ${q(f.requestId)} ${q(f.authority)} ${q(f.upstreamHost)} ${b(f.cluster)} ${b(f.upstreamLocal)} ${b(f.downstreamLocal)} ${b(f.downstreamRemote)} ${b(f.sni)} ${b(f.route)}`;
}

/** Envoy JSON encoding: Istio's / Consul's default keys (numbers as numbers, empty as null). */
function envoyJson(f, extra = {}) {
  const v = (x) => (x === undefined || x === '' ? null : x);
  const o = {
    authority: v(f.authority), bytes_received: f.bytesIn, bytes_sent: f.bytesOut,
    connection_termination_details: v(f.termination), downstream_local_address: v(f.downstreamLocal),
    downstream_remote_address: v(f.downstreamRemote), duration: f.duration, method: v(f.method), path: v(f.path),
    protocol: v(f.protocol), request_id: v(f.requestId), requested_server_name: v(f.sni), response_code: f.code,
    response_code_details: v(f.details), response_flags: f.flags ?? '-', route_name: v(f.route), start_time: iso(f.start),
    upstream_cluster: v(f.cluster), upstream_host: v(f.upstreamHost), upstream_local_address: v(f.upstreamLocal),
    upstream_service_time: f.upstreamTime === undefined ? null : String(f.upstreamTime), upstream_transport_failure_reason: null,
    user_agent: v(f.userAgent), x_forwarded_for: v(f.xff), ...extra,
  };
  const sorted = {};
  for (const key of Object.keys(o).sort()) sorted[key] = o[key];
  return JSON.stringify(sorted);
}

/** `kubectl logs --prefix` */
const prefixed = (pod, container, line) => `[pod/${pod.name}/${container}] ${line}`;

/** A Fluent Bit record (tail + kubernetes filter, JSON output). */
function fluentBit(pod, container, t, line) {
  return JSON.stringify({
    date: Number((t / 1000).toFixed(6)), log: `${line}\n`, stream: 'stdout',
    kubernetes: { pod_name: pod.name, namespace_name: pod.namespace, container_name: container, labels: pod.labels, host: pod.node },
  });
}

const BROWSERS = [
  'Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/122.0.0.0 Safari/537.36',
  'Mozilla/5.0 (Macintosh; Intel Mac OS X 14_3) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.3 Safari/605.1.15',
  'Mozilla/5.0 (X11; Linux x86_64; rv:123.0) Gecko/20100101 Firefox/123.0',
  'Mozilla/5.0 (iPhone; CPU iPhone OS 17_3 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.3 Mobile/15E148 Safari/604.1',
];

// ---------------------------------------------------------------------------------------------
// Istio: the "shop" (examples/istio)

function istio(rnd) {
  const ns = 'shop';
  const pod = (name, ip, app, version, node, hash) => ({
    name, ip, namespace: ns, node,
    labels: { app, version, 'pod-template-hash': hash, 'security.istio.io/tlsMode': 'istio', 'service.istio.io/canonical-name': app, 'service.istio.io/canonical-revision': version },
  });
  const gateway = { name: 'shop-gateway-istio-6d5f7b8c9-q7w2e', ip: '10.244.0.5', namespace: ns };
  const frontends = [pod('frontend-7d9c8b6f5-k2x9z', '10.244.1.11', 'frontend', 'v3', 'node-1', '7d9c8b6f5'), pod('frontend-7d9c8b6f5-p4m7q', '10.244.2.12', 'frontend', 'v3', 'node-2', '7d9c8b6f5')];
  const carts = [pod('cart-5b7d9c6f4-x2k9p', '10.244.1.21', 'cart', 'v1', 'node-1', '5b7d9c6f4'), pod('cart-5b7d9c6f4-h8n3v', '10.244.3.22', 'cart', 'v1', 'node-3', '5b7d9c6f4')];
  const payments = [
    pod('payments-6c8f9d7b4-q4w2e', '10.244.1.31', 'payments', 'v2', 'node-1', '6c8f9d7b4'),
    pod('payments-6c8f9d7b4-t7y5u', '10.244.2.32', 'payments', 'v2', 'node-2', '6c8f9d7b4'),
    pod('payments-6c8f9d7b4-z9c3v', '10.244.3.33', 'payments', 'v2', 'node-3', '6c8f9d7b4'),
  ];
  const VIP = { frontend: '10.96.14.10', cart: '10.96.14.20', payments: '10.96.14.30' };
  const backoffice = ['10.244.7.40', '10.244.7.41'];
  const prometheus = '10.244.5.9';
  const debugPod = '10.244.3.77';
  const clients = Array.from({ length: 24 }, (_, i) => (i % 3 === 0 ? `198.51.100.${10 + i}` : `203.0.113.${20 + i}`));

  const dir = join(ROOT, 'examples', 'istio', 'traffic');
  const files = {
    gateway: new LogFile(join(dir, 'gateway.log')),
    frontend: new LogFile(join(dir, 'frontend.log')),
    cart: new LogFile(join(dir, 'cart.log')),
    payments: new LogFile(join(dir, 'payments.log')),
  };
  const gatewayLine = (f) => files.gateway.add(f.start, prefixed(gateway, 'istio-proxy', envoyJson(f)));
  const sidecarLine = (file, p, f) => files[file].add(f.start, fluentBit(p, 'istio-proxy', f.start, envoyText(f)));

  /** One call between two sidecars: the client's outbound line and the server's inbound line. */
  function meshCall(t, from, fromFile, service, to, toFile, port, req, outcome) {
    const clientPort = rnd.port();
    const d = rnd.int(1, 25);
    const denied = outcome.denied;
    const code = outcome.code;
    const bytesOut = denied ? 19 : req.bytesOut ?? rnd.int(80, 2400);
    const authority = `${service}.shop.svc.cluster.local`;
    const common = { method: req.method, path: req.path, protocol: 'HTTP/1.1', bytesIn: req.bytesIn ?? 0, userAgent: req.userAgent, requestId: req.requestId, authority, xff: req.xff };
    if (from) {
      sidecarLine(fromFile, from, {
        ...common, start: t, code, details: 'via_upstream', bytesOut, duration: d + 1, upstreamTime: d,
        upstreamHost: `${to.ip}:${port}`, cluster: `outbound|80||${authority}`, upstreamLocal: `${from.ip}:${rnd.port()}`,
        downstreamLocal: `${VIP[service]}:80`, downstreamRemote: `${from.ip}:${clientPort}`, route: 'default',
      });
    }
    sidecarLine(toFile, to, {
      ...common, start: t + rnd.int(0, 2), code, flags: outcome.flags, details: outcome.details ?? 'via_upstream', bytesOut,
      duration: denied ? 0 : d, upstreamTime: denied ? undefined : d - 1 || 1,
      upstreamHost: denied ? undefined : `${to.ip}:${port}`, cluster: denied ? undefined : `inbound|${port}||`,
      upstreamLocal: denied ? undefined : `127.0.0.6:${rnd.port()}`, downstreamLocal: `${to.ip}:${port}`,
      downstreamRemote: `${from ? from.ip : req.callerIp}:${from ? rnd.port() : rnd.port()}`,
      sni: req.plaintext ? undefined : `outbound_.80_._.${authority}`, route: denied ? undefined : 'default',
    });
  }

  const ALLOW = (code = 200) => ({ code });
  const RBAC_NONE = { code: 403, denied: true, details: 'rbac_access_denied_matched_policy[none]' };

  /** A request from the internet through the gateway to the frontend, and what the frontend calls. */
  function userRequest(t, kind) {
    const client = rnd.pick(clients);
    const ua = rnd.pick(BROWSERS);
    const rid = rnd.uuid();
    const fe = rnd.pick(frontends);
    const cartId = `c${rnd.int(1000, 1019)}`;
    let method = 'GET';
    let path;
    let jwt = 'none';
    switch (kind) {
      case 'browse': path = rnd.weighted([[5, '/'], [3, '/products'], [6, `/products/${rnd.int(101, 112)}`], [2, `/products?page=${rnd.int(2, 6)}`], [4, rnd.pick(['/static/app.3f9c1e.js', '/static/style.8b2d4a.css', '/static/logo.svg'])]]); break;
      case 'health': path = '/healthz'; break;
      case 'account': path = rnd.pick(['/account', '/account/orders', '/account/addresses']); jwt = rnd.weighted([[8, 'valid'], [3, 'none'], [1, 'invalid']]); break;
      case 'order': path = `/account/orders/o${rnd.int(5000, 5007)}`; jwt = 'valid'; break;
      case 'add': method = 'POST'; path = '/checkout/cart/items'; jwt = rnd.weighted([[12, 'valid'], [1, 'none']]); break;
      case 'checkout': method = 'POST'; path = '/checkout'; jwt = 'valid'; break;
      case 'scan': method = rnd.pick(['GET', 'GET', 'POST']); path = method === 'POST' ? '/products' : rnd.pick(['/admin', '/wp-login.php', '/.env', '/internal/metrics', '/debug/vars', '/api/v1/users']); break;
    }
    const xff = client;
    const gatewayPort = rnd.port();
    const base = { method, path, protocol: 'HTTP/1.1', userAgent: kind === 'health' ? 'kube-probe/1.29' : ua, requestId: rid, authority: 'shop.example.com', xff };
    // gateway decisions (authz-gateway.yaml, request-authentication.yaml)
    const catalogue = ['GET', 'HEAD'].includes(method) && (/^\/(products(\/.*|\?.*)?|static\/.*|healthz)?$/.test(path) || path === '/');
    const needsJwt = /^\/(account|checkout)(\/|$)/.test(path);
    let gatewayDenial;
    if (jwt === 'invalid') gatewayDenial = { code: 401, details: 'jwt_authn_access_denied{Jwt_verification_fails}' };
    else if (!catalogue && !(needsJwt && jwt === 'valid')) gatewayDenial = { code: 403, details: 'rbac_access_denied_matched_policy[none]' };
    if (gatewayDenial) {
      gatewayLine({ ...base, start: t, code: gatewayDenial.code, details: gatewayDenial.details, bytesIn: 0, bytesOut: gatewayDenial.code === 401 ? 79 : 19, duration: 0, downstreamLocal: `${gateway.ip}:80`, downstreamRemote: `${client}:${gatewayPort}` });
      return;
    }
    // frontend decisions: CUSTOM fraud-check on POST /checkout*, DENY on /internal/* and /debug/*
    let frontendOutcome = ALLOW(method === 'POST' ? 201 : path === '/products/112' ? 404 : path.startsWith('/static') && rnd.chance(0.3) ? 304 : 200);
    if (method === 'POST' && path.startsWith('/checkout') && rnd.chance(0.06)) frontendOutcome = { code: 403, denied: true, flags: 'UAEX', details: 'ext_authz_denied' };
    const t1 = t + rnd.int(1, 3);
    const calls = [];
    if (!frontendOutcome.denied) {
      if (kind === 'browse' && !path.startsWith('/static') && rnd.chance(0.6)) {
        const newCart = rnd.chance(0.08);
        calls.push(['cart', newCart ? { method: 'POST', path: '/v1/carts' } : { method: 'GET', path: `/v1/carts/${cartId}` }, newCart ? RBAC_NONE : ALLOW()]);
      }
      if (kind === 'add') calls.push(['cart', { method: 'PUT', path: `/v1/carts/${cartId}/items`, bytesIn: rnd.int(40, 90) }, ALLOW()]);
      if (kind === 'checkout') {
        calls.push(['cart', { method: 'GET', path: `/v1/carts/${cartId}` }, ALLOW()]);
        calls.push(['payments', { method: 'POST', path: '/v1/charges', bytesIn: rnd.int(180, 320) }, ALLOW(201)]);
        calls.push(['cart', { method: 'DELETE', path: `/v1/carts/${cartId}` }, ALLOW(204)]);
      }
      if (kind === 'order') calls.push(['payments', { method: 'GET', path: `/v1/charges/ch_${5000 + rnd.int(0, 7)}` }, RBAC_NONE]);
    }
    let t2 = t1 + 2;
    let failed = false;
    for (const [service, req, outcome] of calls) {
      const to = service === 'cart' ? rnd.pick(carts) : rnd.pick(payments);
      meshCall(t2, fe, 'frontend', service, to, service, service === 'cart' ? 7070 : 9090, { ...req, userAgent: 'shop-frontend/3.4.1 (+node-fetch)', requestId: rid }, outcome);
      if (outcome.denied) failed = true;
      t2 += rnd.int(3, 30);
    }
    const code = frontendOutcome.denied ? 403 : failed ? (kind === 'order' ? 502 : 500) : frontendOutcome.code;
    const duration = t2 - t + rnd.int(1, 8);
    const bytesOut = frontendOutcome.denied ? 19 : code >= 500 ? 21 : rnd.int(400, 18000);
    // the frontend's server-side line and the gateway's client-side line
    sidecarLine('frontend', fe, {
      ...base, start: t1, code, flags: frontendOutcome.flags, details: frontendOutcome.details ?? 'via_upstream', bytesIn: method === 'POST' ? rnd.int(60, 400) : 0, bytesOut,
      duration: frontendOutcome.denied ? 1 : duration - 2, upstreamTime: frontendOutcome.denied ? undefined : duration - 3,
      upstreamHost: frontendOutcome.denied ? undefined : `${fe.ip}:8080`, cluster: frontendOutcome.denied ? undefined : 'inbound|8080||',
      upstreamLocal: frontendOutcome.denied ? undefined : `127.0.0.6:${rnd.port()}`, downstreamLocal: `${fe.ip}:8080`, downstreamRemote: `${gateway.ip}:${rnd.port()}`,
      sni: 'outbound_.80_._.frontend.shop.svc.cluster.local', route: frontendOutcome.denied ? undefined : 'default',
    });
    gatewayLine({
      ...base, start: t, code, details: 'via_upstream', bytesIn: method === 'POST' ? rnd.int(60, 400) : 0, bytesOut, duration, upstreamTime: duration - 1,
      upstreamHost: `${fe.ip}:8080`, cluster: 'outbound|80||frontend.shop.svc.cluster.local', upstreamLocal: `${gateway.ip}:${rnd.port()}`,
      downstreamLocal: `${gateway.ip}:80`, downstreamRemote: `${client}:${gatewayPort}`, route: 'shop~storefront.0',
    });
  }

  const start = Date.UTC(2025, 2, 14, 9, 0, 0);
  const end = start + 60 * 60 * 1000;
  // internet traffic
  for (let t = start + rnd.int(0, 400); t < end; t += Math.round(rnd.gap(3200))) {
    userRequest(t, rnd.weighted([[46, 'browse'], [6, 'health'], [8, 'account'], [4, 'order'], [7, 'add'], [5, 'checkout'], [3, 'scan']]));
  }
  // back office refunds: namespace "backoffice", allowed by payments-callers rule 2 (not in the inventory)
  for (let t = start + 90_000; t < end; t += Math.round(rnd.gap(45_000))) {
    const id = `re_${rnd.int(700, 709)}`;
    const req = rnd.weighted([
      [5, { method: 'POST', path: '/v1/refunds', outcome: ALLOW(201) }],
      [4, { method: 'POST', path: `/v1/refunds/${id}`, outcome: ALLOW() }],
      [2, { method: 'POST', path: `/v1/refunds/${id}/approve`, outcome: RBAC_NONE }], // {*} is one path segment
      [2, { method: 'GET', path: '/v1/refunds?status=pending', outcome: RBAC_NONE }],
    ]);
    meshCall(t, undefined, undefined, 'payments', rnd.pick(payments), 'payments', 9090, { method: req.method, path: req.path, bytesIn: req.method === 'POST' ? rnd.int(90, 200) : 0, userAgent: 'refund-worker/0.9 python-requests/2.31.0', requestId: rnd.uuid(), callerIp: rnd.pick(backoffice) }, req.outcome);
  }
  // Prometheus (not meshed) scrapes the payments metrics port, which accepts plain text
  for (let t = start + 7_000; t < end; t += 15_000) {
    for (const p of payments) {
      sidecarLine('payments', p, {
        start: t + rnd.int(0, 400), method: 'GET', path: '/metrics', protocol: 'HTTP/1.1', code: 200, details: 'via_upstream', bytesIn: 0, bytesOut: rnd.int(9000, 12000),
        duration: rnd.int(2, 9), upstreamTime: rnd.int(1, 8), userAgent: 'Prometheus/2.53.0', requestId: rnd.uuid(), authority: `${p.ip}:9102`,
        upstreamHost: `${p.ip}:9102`, cluster: 'inbound|9102||', upstreamLocal: `127.0.0.6:${rnd.port()}`, downstreamLocal: `${p.ip}:9102`,
        downstreamRemote: `${prometheus}:${rnd.port()}`, route: 'default',
      });
    }
  }
  // a debug pod nobody declared pokes around
  for (let i = 0; i < 14; i++) {
    const t = start + 1_500_000 + i * rnd.int(5_000, 20_000);
    const target = rnd.weighted([[3, 'frontend'], [2, 'cart']]);
    if (target === 'frontend') {
      const fe = rnd.pick(frontends);
      const path = rnd.pick(['/debug/pprof/heap', '/debug/vars', '/internal/feature-flags']);
      sidecarLine('frontend', fe, {
        start: t, method: 'GET', path, protocol: 'HTTP/1.1', code: 403, details: 'rbac_access_denied_matched_policy[ns[shop]-policy[frontend-deny-internal]-rule[0]]',
        bytesIn: 0, bytesOut: 19, duration: 0, userAgent: 'curl/8.5.0', requestId: rnd.uuid(), authority: 'frontend.shop:80',
        downstreamLocal: `${fe.ip}:8080`, downstreamRemote: `${debugPod}:${rnd.port()}`, sni: 'outbound_.80_._.frontend.shop.svc.cluster.local',
      });
    } else {
      meshCall(t, undefined, undefined, 'cart', rnd.pick(carts), 'cart', 7070, { method: 'GET', path: `/v1/carts/c${rnd.int(1000, 1019)}`, userAgent: 'curl/8.5.0', requestId: rnd.uuid(), callerIp: debugPod }, RBAC_NONE);
    }
  }
  // what else a proxy writes, and damage
  const warn = (t, msg) => `${iso(t).replace('Z', '123Z')}\twarning\tenvoy config external/envoy/source/extensions/config_subscription/grpc/grpc_stream.h:152\t${msg}`;
  files.frontend.broken(0.31, fluentBit(frontends[0], 'istio-proxy', start + 1_100_000, warn(start + 1_100_000, 'StreamAggregatedResources gRPC config stream to xds-grpc closed since 1742s ago: 14, connection error: desc = "transport: Error while dialing: dial tcp 10.96.0.15:15012: connect: connection refused"')));
  files.frontend.broken(0.62, fluentBit(frontends[1], 'istio-proxy', start + 2_200_000, '').replace('"log":"\\n"', '"log":""'));
  files.frontend.broken(0.8, '');
  files.cart.broken(0.5, fluentBit(carts[0], 'istio-proxy', start + 1_800_000, envoyText({ start: start + 1_800_000, method: 'GET', path: '/v1/carts/c1003', protocol: 'HTTP/1.1', code: 200, bytesIn: 0, bytesOut: 311, duration: 3 })).slice(0, 161));
  files.cart.broken(0.75, fluentBit(carts[1], 'istio-proxy', start + 2_700_000, `${iso(start + 2_700_000)}\tinfo\txdsproxy\tconnected to delta upstream XDS server: istiod.istio-system.svc:15012\tid=4`));
  files.payments.broken(0.4, '{"date":1741944000.0,"log":"[2025-03-14T09:40:00.000Z] \\"POST /v1/charges HTTP/1.1\\" 201 - via_upst');
  files.payments.broken(0.9, '\u0000\u0000\u0000\u0000');
  files.gateway.broken(0.2, prefixed(gateway, 'istio-proxy', `${iso(start + 720_000)}\tinfo\tenvoy upstream\texternal/envoy/source/common/upstream/cds_api_helper.cc:32\tcds: add 14 cluster(s), remove 2 cluster(s)\tthread=15`));
  files.gateway.broken(0.55, prefixed(gateway, 'istio-proxy', '{"authority":"shop.example.com","bytes_received":0,"bytes_sent":'));
  files.gateway.broken(0.85, prefixed(gateway, 'istio-proxy', '{"level":"info","msg":"Envoy proxy is ready"}'));
  return Object.values(files);
}

// ---------------------------------------------------------------------------------------------
// Linkerd: emojivoto (examples/linkerd)

function linkerd(rnd) {
  const id = (sa, ns) => `${sa}.${ns}.serviceaccount.identity.linkerd.cluster.local`;
  const web = { name: 'web-7f9c6d8b5-2xk4p', ip: '10.42.1.15' };
  const emoji = { name: 'emoji-6b8d7c9f4-h7m2q', ip: '10.42.2.16' };
  const voting = { name: 'voting-5c9f8d7b6-q3w8z', ip: '10.42.1.17' };
  const callers = {
    voteBot: { ip: '10.42.2.18', id: id('vote-bot', 'emojivoto') },
    nginx: { ip: '10.42.0.20', id: id('ingress-nginx', 'ingress-nginx') },
    web: { ip: web.ip, id: id('web', 'emojivoto') },
    prometheus: { ip: '10.42.0.30', id: id('prometheus', 'linkerd-viz') },
    stray: { ip: '10.42.3.44', id: id('default', 'emojivoto') },
    unmeshed: { ip: '10.42.3.99', id: undefined },
    debug: { ip: '10.42.3.60', id: id('default', 'debug') },
  };
  const kubelets = ['10.42.1.1', '10.42.2.1'];
  const dir = join(ROOT, 'examples', 'linkerd', 'traffic');
  const files = { web: new LogFile(join(dir, 'web.log')), emoji: new LogFile(join(dir, 'emoji.log')), voting: new LogFile(join(dir, 'voting.log')) };
  const EMOJI = ['doughnut', 'pizza', 'unicorn', 'taco', 'rocket', 'cat', 'ghost', 'burrito', 'fire', 'hugging_face', 'star', 'champagne'];

  /** web: apache format, through kubectl logs --prefix */
  const apache = (t, caller, method, uri, version, status) =>
    files.web.add(t, prefixed(web, 'linkerd-proxy', `${caller.ip}:${rnd.port()} ${caller.id ?? '-'} - [${isoNs(t, rnd)}] "${method} ${uri} ${version}" ${status}`));
  /** emoji and voting: JSON format, through kubectl logs --prefix */
  const json = (file, pod, t, caller, f) => {
    const o = {
      'client.addr': `${caller.ip}:${rnd.port()}`, 'client.id': caller.id ?? '-', host: f.host, method: f.method,
      processing_ns: String(rnd.int(6000, 40000)), request_bytes: f.requestBytes ?? '', response_bytes: String(f.responseBytes ?? rnd.int(0, 900)),
      status: f.status, timestamp: isoNs(t, rnd), total_ns: String(rnd.int(90000, 900000)), trace_id: f.traceId ?? '', uri: f.uri, user_agent: f.userAgent, version: f.version,
    };
    files[file].add(t, prefixed(pod, 'linkerd-proxy', JSON.stringify(o)));
  };
  const grpc = (file, pod, t, caller, service, method, status = 200) => json(file, pod, t, caller, {
    host: `${file}-svc.emojivoto:8080`, method: 'POST', uri: `http://${file}-svc.emojivoto:8080/emojivoto.v1.${service}/${method}`,
    requestBytes: String(rnd.int(0, 24)), status, userAgent: 'grpc-go/1.62.0', version: 'HTTP/2.0', traceId: rnd.hex(16),
  });

  const start = Date.UTC(2025, 2, 14, 13, 0, 0);
  const end = start + 60 * 60 * 1000;
  /** The proxy's own INFO event when the policy refuses a request (plain layout, on stdout; the
   * JSON access log is on stderr; kubectl logs gives both), written just before the access log
   * line of the request. The proxy logs its uptime; these pods started an hour before. */
  const refused = (file, pod, t, caller, server) => {
    const ms = t - start + 3_600_000;
    const uptime = `${String(Math.floor(ms / 1000)).padStart(6)}.${String((ms % 1000) * 1000).padStart(6, '0')}`;
    files[file].add(t, prefixed(pod, 'linkerd-proxy', `[${uptime}s]  INFO ThreadId(01) inbound:server{port=8080}: linkerd_app_inbound::policy::http: Request denied server.group=policy.linkerd.io server.kind=server server.name=${server} route.group= route.kind=default route.name=default client.tls=Some(Established { client_id: Some(ClientId(${caller.id})), negotiated_protocol: None }) client.ip=${caller.ip}`));
  };
  for (let t = start + 200; t < end; t += Math.round(rnd.gap(2600))) {
    const kind = rnd.weighted([[40, 'vote'], [18, 'list'], [10, 'leaderboard'], [14, 'page'], [3, 'stray'], [2, 'unmeshed'], [2, 'notfound'], [1, 'direct']]);
    const h2 = (path) => `http://web-svc.emojivoto:80${path}`;
    if (kind === 'vote') {
      const e = rnd.pick(EMOJI);
      const caller = rnd.chance(0.85) ? callers.voteBot : callers.nginx;
      apache(t, caller, 'GET', h2(`/api/vote?choice=:${e}:`), 'HTTP/2.0', 200);
      grpc('emoji', emoji, t + 1, callers.web, 'EmojiService', 'FindByShortcode');
      grpc('voting', voting, t + 2, callers.web, 'VotingService', `Vote${e.split('_').map((w) => w[0].toUpperCase() + w.slice(1)).join('')}`);
    } else if (kind === 'list') {
      apache(t, rnd.chance(0.7) ? callers.voteBot : callers.nginx, 'GET', h2('/api/list'), 'HTTP/2.0', 200);
      grpc('emoji', emoji, t + 1, callers.web, 'EmojiService', 'ListAll');
    } else if (kind === 'leaderboard') {
      apache(t, callers.nginx, 'GET', h2('/api/leaderboard'), 'HTTP/2.0', 200);
      grpc('voting', voting, t + 1, callers.web, 'VotingService', 'Results');
      grpc('emoji', emoji, t + 3, callers.web, 'EmojiService', 'ListAll');
    } else if (kind === 'page') {
      apache(t, callers.nginx, 'GET', h2(rnd.pick(['/', '/', '/js/app.js', '/js/vendor.js'])), 'HTTP/2.0', 200);
    } else if (kind === 'stray') {
      // a meshed workload that is not a web client (web-app-clients) calls the API
      apache(t, callers.stray, 'GET', h2(rnd.pick(['/api/list', '/api/vote?choice=:ghost:'])), 'HTTP/2.0', 403);
    } else if (kind === 'unmeshed') {
      apache(t, callers.unmeshed, 'GET', rnd.pick(['/api/list', '/api/leaderboard']), 'HTTP/1.1', 403);
    } else if (kind === 'notfound') {
      apache(t, callers.nginx, 'GET', h2(rnd.pick(['/img/favicon.ico', '/robots.txt', '/leaderboard'])), 'HTTP/2.0', 404);
    } else {
      // vote-bot calls voting directly: refused by voting-grpc-web; the access log shows gRPC
      // denials as 200 (grpc-status 7 is in the trailers), the proxy's Request denied event says it
      refused('voting', voting, t, callers.voteBot, 'voting-grpc');
      grpc('voting', voting, t, callers.voteBot, 'VotingService', 'VoteUnicorn');
    }
  }
  // a debug pod in another namespace tries the gRPC services (refused: the proxy's event, then 200 with grpc-status 7)
  for (let i = 0; i < 6; i++) {
    const [file, pod, server] = i % 2 ? ['emoji', emoji, 'emoji-grpc'] : ['voting', voting, 'voting-grpc'];
    refused(file, pod, start + 2_000_000 + i * 9_000, callers.debug, server);
    grpc(file, pod, start + 2_000_000 + i * 9_000, callers.debug, i % 2 ? 'EmojiService' : 'VotingService', i % 2 ? 'ListAll' : 'Results');
  }
  // kubelet probes (no mesh identity) and Prometheus scrapes of the prom port
  for (let t = start + 3_000; t < end; t += 10_000) apache(t + rnd.int(0, 50), { ip: rnd.pick(kubelets), id: undefined }, 'GET', '/healthz', 'HTTP/1.1', 200);
  for (let t = start + 5_000; t < end; t += 30_000) {
    for (const [file, pod] of [['web', web], ['emoji', emoji], ['voting', voting]]) {
      const when = t + rnd.int(0, 500);
      if (file === 'web') apache(when, callers.prometheus, 'GET', `http://${pod.ip}:8801/metrics`, 'HTTP/2.0', 200);
      else json(file, pod, when, callers.prometheus, { host: `${pod.ip}:8801`, method: 'GET', uri: `http://${pod.ip}:8801/metrics`, status: 200, userAgent: 'Prometheus/2.51.0', version: 'HTTP/2.0', responseBytes: rnd.int(6000, 9000) });
    }
  }
  // a Prometheus that is not linkerd-viz's is refused by emojivoto-prom (accessPolicy: deny)
  for (let i = 0; i < 8; i++) apache(start + 600_000 + i * 30_000, { ip: '10.42.0.31', id: id('prometheus', 'monitoring') }, 'GET', `http://${web.ip}:8801/metrics`, 'HTTP/2.0', 403);
  // proxy log lines and damage
  files.web.broken(0.33, prefixed(web, 'linkerd-proxy', '[  1204.118340s]  INFO ThreadId(02) inbound:server{port=8080}:rescue{client.addr=10.42.3.99:38844}: linkerd_app_inbound::policy::http: Request denied server.group=policy.linkerd.io server.kind=server server.name=web-http route.group=policy.linkerd.io route.kind=HTTPRoute route.name=web-app client.tls=None(NoClientHello) client.ip=10.42.3.99'));
  files.web.broken(0.66, prefixed(web, 'linkerd-proxy', '10.42.2.18:51234 vote-bot.emojivoto.serviceaccount.identity.linkerd.cluster.local - [2025-03-14T13:41:07.1'));
  files.emoji.broken(0.5, prefixed(emoji, 'linkerd-proxy', '{"client.addr":"10.42.1.15:40112","client.id":"web.emojivoto.serviceaccount.identity.linkerd.cluster.local","host":"emoji-svc.emojivoto:8080","meth'));
  files.voting.broken(0.45, prefixed(voting, 'linkerd-proxy', '[  2411.000012s]  WARN ThreadId(01) linkerd_app_core::serve: Server failed to accept connection error=Too many open files (os error 24)'));
  files.voting.broken(0.9, '');
  return Object.values(files);
}

// ---------------------------------------------------------------------------------------------
// Consul: dashboard / counting / api (examples/consul)

function consul(rnd) {
  const td = '7d4e1f2a-0b1c-4d2e-9f30-a1b2c3d4e5f6.consul';
  const spiffe = (svc) => `spiffe://${td}/ns/default/dc/dc1/svc/${svc}`;
  const sni = (svc) => `${svc}.default.dc1.internal.${td}`;
  const dashboard = { name: 'dashboard-6f7c8d9b5-m4n8p', ip: '10.244.1.40' };
  const counting = [{ name: 'counting-7b8c9d6f5-x1k2z', ip: '10.244.3.42' }, { name: 'counting-7b8c9d6f5-w8r5t', ip: '10.244.2.43' }];
  const api = [{ name: 'api-5d6f7c8b9-p2q4r', ip: '10.244.2.41' }, { name: 'api-5d6f7c8b9-s6v8x', ip: '10.244.1.44' }];
  const ingress = { ip: '10.244.2.50', svc: 'ingress-gateway' };
  const strangers = [{ ip: '10.244.4.61', svc: 'web-legacy' }, { ip: '10.244.4.62', svc: 'reporting' }];
  const ops = { ip: '10.244.4.70', svc: 'ops-console' };
  const VIP = { counting: '240.0.0.2', api: '240.0.0.3' };
  const dir = join(ROOT, 'examples', 'consul', 'traffic');
  const files = { dashboard: new LogFile(join(dir, 'dashboard.log')), api: new LogFile(join(dir, 'api.log')), counting: new LogFile(join(dir, 'counting.log')) };
  // proxy-defaults AccessLogs.JSONFormat: the default keys plus the caller's identity and the content type
  const line = (file, pod, f, principal) => files[file].add(f.start, prefixed(pod, 'consul-dataplane', envoyJson(f, { source_principal: principal ?? null, content_type: f.contentType ?? null })));

  function http(t, from, fromPod, service, to, req, outcome) {
    const d = rnd.int(1, 20);
    const denied = outcome.denied;
    const common = { method: req.method, path: req.path, protocol: 'HTTP/1.1', bytesIn: req.bytesIn ?? 0, userAgent: req.userAgent, requestId: req.requestId, authority: `${service}.virtual.consul`, contentType: req.contentType };
    const bytesOut = denied ? 19 : rnd.int(20, 900);
    if (fromPod) {
      line('dashboard', fromPod, {
        ...common, start: t, code: outcome.code, details: 'via_upstream', bytesOut, duration: d + 1, upstreamTime: d,
        upstreamHost: `${to.ip}:20000`, cluster: sni(service), upstreamLocal: `${fromPod.ip}:${rnd.port()}`,
        downstreamLocal: `${VIP[service] ?? '240.0.0.9'}:80`, downstreamRemote: `${fromPod.ip}:${rnd.port()}`, route: null,
      });
    }
    line(service, to, {
      ...common, start: t + rnd.int(0, 2), code: outcome.code, details: outcome.details ?? 'via_upstream', bytesOut, duration: denied ? 0 : d,
      upstreamTime: denied ? undefined : Math.max(1, d - 1), upstreamHost: denied ? undefined : `127.0.0.1:${service === 'api' ? 8080 : 9002}`,
      cluster: denied ? undefined : 'local_app', upstreamLocal: denied ? undefined : `127.0.0.1:${rnd.port()}`,
      downstreamLocal: `${to.ip}:20000`, downstreamRemote: `${from.ip}:${rnd.port()}`, sni: sni(service), route: denied ? undefined : 'default',
    }, spiffe(from.svc));
  }

  function tcp(t, from, fromPod, to, outcome) {
    const d = rnd.int(1, 40);
    if (fromPod) {
      line(from.svc === 'dashboard' ? 'dashboard' : 'api', fromPod, {
        start: t, code: 0, bytesIn: outcome.denied ? 0 : rnd.int(20, 60), bytesOut: outcome.denied ? 0 : rnd.int(30, 90), duration: d,
        upstreamHost: `${to.ip}:20000`, cluster: sni('counting'), upstreamLocal: `${fromPod.ip}:${rnd.port()}`,
        downstreamLocal: `${VIP.counting}:9001`, downstreamRemote: `${fromPod.ip}:${rnd.port()}`, flags: outcome.denied ? 'UC' : undefined,
      });
    }
    line('counting', to, {
      start: t + rnd.int(0, 2), code: 0, bytesIn: outcome.denied ? 0 : rnd.int(20, 60), bytesOut: outcome.denied ? 0 : rnd.int(30, 90), duration: outcome.denied ? 0 : d,
      termination: outcome.denied ? 'rbac_access_denied_matched_policy[consul-intentions-layer4]' : undefined,
      upstreamHost: outcome.denied ? undefined : '127.0.0.1:9001', cluster: outcome.denied ? undefined : 'local_app',
      upstreamLocal: outcome.denied ? undefined : `127.0.0.1:${rnd.port()}`, downstreamLocal: `${to.ip}:20000`, downstreamRemote: `${from.ip}:${rnd.port()}`, sni: sni('counting'),
    }, spiffe(from.svc));
  }

  const ALLOW = (code = 200) => ({ code });
  // The default intention policy is allow (no agent configuration), so Consul builds a deny-list
  // (agent/xds/rbac.go): the wildcard deny source is its L4 policy, the L7 source's deny its L7 one.
  const DENY_L4 = { code: 403, denied: true, details: 'rbac_access_denied_matched_policy[consul-intentions-layer4]' };
  const DENY_L7 = { code: 403, denied: true, details: 'rbac_access_denied_matched_policy[consul-intentions-layer7-0]' };
  const dashboardFrom = { ip: dashboard.ip, svc: 'dashboard' };
  const start = Date.UTC(2025, 2, 14, 14, 0, 0);
  const end = start + 60 * 60 * 1000;
  for (let t = start + 100; t < end; t += Math.round(rnd.gap(2400))) {
    const kind = rnd.weighted([[30, 'poll'], [12, 'page'], [8, 'count'], [5, 'vote'], [2, 'admin'], [2, 'badvote'], [3, 'socket']]);
    const rid = rnd.uuid();
    const ua = rnd.pick(BROWSERS);
    if (kind === 'poll') {
      // the dashboard polls the counter over TCP
      tcp(t, dashboardFrom, dashboard, rnd.pick(counting), ALLOW());
    } else if (kind === 'page') {
      const path = rnd.weighted([[3, '/'], [4, rnd.pick(['/assets/app.js', '/assets/app.css', '/assets/logo.png'])]]);
      http(t, ingress, undefined, 'dashboard', dashboard, { method: 'GET', path, userAgent: ua, requestId: rid }, ALLOW(path === '/' ? 200 : rnd.chance(0.3) ? 304 : 200));
    } else if (kind === 'socket') {
      http(t, ingress, undefined, 'dashboard', dashboard, { method: 'GET', path: `/socket.io/?EIO=4&transport=polling&t=${rnd.hex(7)}`, userAgent: ua, requestId: rid }, ALLOW());
    } else if (kind === 'count') {
      http(t, dashboardFrom, dashboard, 'api', rnd.pick(api), { method: 'GET', path: rnd.pick(['/v1/count', '/v1/votes', '/v1/votes/summary']), userAgent: 'Go-http-client/1.1', requestId: rid }, ALLOW());
    } else if (kind === 'vote') {
      http(t, dashboardFrom, dashboard, 'api', rnd.pick(api), { method: 'POST', path: '/v1/votes', bytesIn: rnd.int(20, 40), contentType: 'application/json', userAgent: 'Go-http-client/1.1', requestId: rid }, ALLOW(201));
    } else if (kind === 'badvote') {
      // a form post: denied by the intention's last permission (a caller matched by an L7 intention
      // never falls through to the wildcard deny-all; with no matching permission the default
      // intention policy would decide)
      http(t, dashboardFrom, dashboard, 'api', rnd.pick(api), { method: 'POST', path: '/v1/votes', bytesIn: rnd.int(20, 40), contentType: 'application/x-www-form-urlencoded', userAgent: 'Go-http-client/1.1', requestId: rid }, DENY_L7);
    } else {
      http(t, dashboardFrom, dashboard, 'api', rnd.pick(api), { method: 'GET', path: rnd.pick(['/v1/admin/stats', '/v1/admin/config']), userAgent: 'Go-http-client/1.1', requestId: rid }, DENY_L7);
    }
  }
  // api reads the counter
  for (let t = start + 1_000; t < end; t += Math.round(rnd.gap(9000))) {
    const from = rnd.pick(api);
    tcp(t, { ip: from.ip, svc: 'api' }, from, rnd.pick(counting), ALLOW());
  }
  // the ops console (not in this workspace) flushes caches; services nobody allowed knock on doors
  for (let t = start + 300_000; t < end; t += Math.round(rnd.gap(240_000))) {
    http(t, ops, undefined, 'api', rnd.pick(api), { method: 'POST', path: '/v1/admin/cache/flush', userAgent: 'ops-console/2.1', requestId: rnd.uuid() }, ALLOW(204));
  }
  for (let t = start + 200_000; t < end; t += Math.round(rnd.gap(120_000))) {
    const who = rnd.pick(strangers);
    if (rnd.chance(0.5)) http(t, who, undefined, 'api', rnd.pick(api), { method: 'GET', path: '/v1/count', userAgent: 'python-requests/2.31.0', requestId: rnd.uuid() }, DENY_L4);
    else tcp(t, who, undefined, rnd.pick(counting), { denied: true });
  }
  // what else consul-dataplane writes, and damage
  files.dashboard.broken(0.25, prefixed(dashboard, 'consul-dataplane', `${iso(start + 900_000)} [INFO]  consul-dataplane.server-connection-manager: trying to connect to a Consul server`));
  files.dashboard.broken(0.7, prefixed(dashboard, 'consul-dataplane', '{"authority":"api.virtual.consul","bytes_received":0,"bytes_sent":312,"connection_termi'));
  files.api.broken(0.5, prefixed(api[0], 'consul-dataplane', `${iso(start + 1_800_000)} [WARN]  envoy.config(14) gRPC config for type.googleapis.com/envoy.config.listener.v3.Listener rejected: Error adding/updating listener(s) public_listener`));
  files.api.broken(0.8, '');
  files.counting.broken(0.6, prefixed(counting[1], 'consul-dataplane', '{"bytes_received":12,"bytes_sent":'));
  return Object.values(files);
}

// ---------------------------------------------------------------------------------------------
// Istio ambient: the "notes" app (examples/istio-ambient)

/** A ztunnel access event (text log format: tab-separated, then key=value pairs). */
function ztunnelLine(t, level, message, fields) {
  const pairs = Object.entries(fields).filter(([, v]) => v !== undefined).map(([k, v]) => (typeof v === 'number' ? `${k}=${v}` : `${k}="${v}"`));
  return `${iso(t).replace('Z', `${String(t % 997).padStart(3, '0')}Z`)}\t${level}\taccess\t${message}\t${pairs.join(' ')}`.replace(/(src|dst)\.addr="([^"]*)"/g, '$1.addr=$2').replace(/dst\.hbone_addr="([^"]*)"/, 'dst.hbone_addr=$1');
}

function ambient(rnd) {
  const ns = 'notes';
  const spiffe = (namespace, sa) => `spiffe://cluster.local/ns/${namespace}/sa/${sa}`;
  const pod = (name, ip, sa, node, namespace = ns) => ({ name, ip, sa, node, namespace });
  const webs = [pod('web-6c9d7f8b5-k2x9z', '10.244.1.11', 'web', 1), pod('web-6c9d7f8b5-p4m7q', '10.244.2.12', 'web', 2)];
  const apis = [pod('notes-api-5b8f6d9c7-x2k9p', '10.244.1.21', 'notes-api', 1), pod('notes-api-5b8f6d9c7-h8n3v', '10.244.2.22', 'notes-api', 2)];
  const postgres = pod('postgres-0', '10.244.2.31', 'postgres', 2);
  const waypoint = pod('waypoint-7d5f9c8b6-q7w2e', '10.244.2.40', 'waypoint', 2);
  const debug = pod('debug', '10.244.3.77', 'default', 3);
  const scratch = pod('scratch', '10.244.3.60', 'default', 3, 'sandbox');
  const reporting = (i) => pod(`reporting-2890${String(40 + i).padStart(2, '0')}-${rnd.hex(5)}`, `10.244.3.${80 + (i % 20)}`, 'reporting', 3);
  const API_VIP = '10.96.40.20';
  const ztunnels = { 1: { name: 'ztunnel-4xk2p' }, 2: { name: 'ztunnel-8m7qd' }, 3: { name: 'ztunnel-q2n9w' } };

  const dir = join(ROOT, 'examples', 'istio-ambient', 'traffic');
  const files = { waypoint: new LogFile(join(dir, 'waypoint.log')), ztunnel: new LogFile(join(dir, 'ztunnel.log')) };
  const waypointLine = (f) => files.waypoint.add(f.start, prefixed(waypoint, 'istio-proxy', envoyText(f)));
  /** An inbound connection event, logged by the ztunnel of the destination's node. */
  function inbound(t, from, to, port, service, outcome) {
    const denied = outcome !== undefined;
    files.ztunnel.add(t, prefixed(ztunnels[to.node], 'istio-proxy', ztunnelLine(t, denied ? 'error' : 'info', 'connection complete', {
      'src.addr': `${from.ip}:${rnd.port()}`, 'src.workload': from.name, 'src.namespace': from.namespace, 'src.identity': spiffe(from.namespace, from.sa),
      'dst.addr': `${to.ip}:15008`, 'dst.hbone_addr': `${to.ip}:${port}`, 'dst.service': service, 'dst.workload': to.name, 'dst.namespace': to.namespace, 'dst.identity': spiffe(to.namespace, to.sa),
      direction: 'inbound', bytes_sent: denied ? 0 : rnd.int(2_000, 900_000), bytes_recv: denied ? 0 : rnd.int(900, 300_000), duration: `${denied ? 0 : rnd.int(20_000, 600_000)}ms`,
      error: denied ? `connection closed due to policy rejection: ${outcome}` : undefined,
    })));
  }
  /** The client node's view of a connection to the waypoint (logged outbound, not a call of its own). */
  function outbound(t, from) {
    files.ztunnel.add(t, prefixed(ztunnels[from.node], 'istio-proxy', ztunnelLine(t, 'info', 'connection complete', {
      'src.addr': `${from.ip}:${rnd.port()}`, 'src.workload': from.name, 'src.namespace': ns, 'src.identity': spiffe(ns, from.sa),
      'dst.addr': `${waypoint.ip}:15008`, 'dst.hbone_addr': `${API_VIP}:80`, 'dst.service': 'notes-api.notes.svc.cluster.local', 'dst.workload': waypoint.name, 'dst.namespace': ns, 'dst.identity': spiffe(ns, 'waypoint'),
      direction: 'outbound', bytes_sent: rnd.int(900, 300_000), bytes_recv: rnd.int(2_000, 900_000), duration: `${rnd.int(20_000, 600_000)}ms`,
    })));
  }

  const start = Date.UTC(2025, 4, 6, 13, 0, 0);
  const end = start + 60 * 60 * 1000;
  const users = Array.from({ length: 30 }, (_, i) => `u${100 + i}`);
  // web → notes-api through the waypoint, one line per request (the waypoint's log)
  for (let t = start + rnd.int(0, 500); t < end; t += Math.round(rnd.gap(1400))) {
    const web = rnd.pick(webs);
    const api = rnd.pick(apis);
    const id = `n${rnd.int(4000, 4999)}`;
    const [method, path] = rnd.weighted([
      [40, ['GET', `/v1/notes?owner=${rnd.pick(users)}`]], [35, ['GET', `/v1/notes/${id}`]], [14, ['POST', '/v1/notes']],
      [5, ['PUT', `/v1/notes/${id}`]], [4, ['DELETE', `/v1/notes/${id}`]], [2, ['GET', '/admin/stats']],
    ]);
    const allowed = method === 'GET' || method === 'POST' ? path.startsWith('/v1/notes') : false;
    const d = rnd.int(2, 40);
    waypointLine({
      start: t, method, path, protocol: 'HTTP/1.1', code: allowed ? (method === 'POST' ? 201 : path === '/v1/notes/n4999' ? 404 : 200) : 403,
      details: allowed ? 'via_upstream' : 'rbac_access_denied_matched_policy[none]', bytesIn: method === 'POST' ? rnd.int(120, 900) : 0,
      bytesOut: allowed ? rnd.int(150, 8000) : 19, duration: allowed ? d + 1 : 0, upstreamTime: allowed ? d : undefined,
      userAgent: 'notes-web/2.3.1 undici', requestId: rnd.uuid(), authority: 'notes-api.notes.svc.cluster.local',
      upstreamHost: allowed ? `envoy://connect_originate/${api.ip}:8080` : undefined, cluster: 'inbound-vip|80|http|notes-api.notes.svc.cluster.local',
      upstreamLocal: allowed ? 'envoy://internal_client_address/' : undefined, downstreamLocal: `${API_VIP}:80`, downstreamRemote: `${web.ip}:${rnd.port()}`,
      route: allowed ? 'default' : undefined,
    });
  }
  // the waypoint's pooled connections to the API pods, and the web pods' to the waypoint (ztunnel logs each when it closes)
  for (let t = start + 30_000; t < end; t += Math.round(rnd.gap(50_000))) {
    inbound(t, waypoint, rnd.pick(apis), 8080, 'notes-api.notes.svc.cluster.local');
    if (rnd.chance(0.6)) outbound(t + rnd.int(5, 400), rnd.pick(webs));
  }
  // the API's connection pool to the database: plain TCP, no waypoint
  for (let t = start + 60_000; t < end; t += Math.round(rnd.gap(110_000))) {
    inbound(t, rnd.pick(apis), postgres, 5432, 'postgres.notes.svc.cluster.local');
  }
  // the report job every 15 minutes, three tries each: not a database client
  for (let i = 0; i < 4; i++) {
    const job = reporting(i);
    for (let k = 0; k < 3; k++) inbound(start + i * 900_000 + 4_000 + k * 10_000, job, postgres, 5432, 'postgres.notes.svc.cluster.local', 'allow policies exist, but none allowed');
  }
  // someone's scratch pod in the sandbox tries the database
  for (let i = 0; i < 5; i++) {
    inbound(start + 1_900_000 + i * rnd.int(20_000, 90_000), scratch, postgres, 5432, 'postgres.notes.svc.cluster.local', 'explicitly denied by: notes/postgres-deny-sandbox');
  }
  // a debug pod calls an API pod by its IP, around the waypoint
  for (let i = 0; i < 6; i++) inbound(start + 2_400_000 + i * rnd.int(3_000, 30_000), debug, rnd.pick(apis), 8080, undefined, 'allow policies exist, but none allowed');
  // what else the proxies write, and damage
  files.waypoint.broken(0.3, prefixed(waypoint, 'istio-proxy', `${iso(start + 1_080_000)}\twarning\tenvoy config external/envoy/source/extensions/config_subscription/grpc/grpc_stream.h:152\tStreamAggregatedResources gRPC config stream to xds-grpc closed since 412s ago: 14, upstream connect error`));
  files.waypoint.broken(0.7, prefixed(waypoint, 'istio-proxy', '[2025-05-06T13:42:10.114Z] "GET /v1/notes/n4120 HTTP/1.1" 200 - via_upstream - "-" 0 1893 9 8 "-" "notes-web/2.3.1 undici" "6f1c'));
  files.ztunnel.broken(0.2, prefixed(ztunnels[2], 'istio-proxy', `${iso(start + 700_000)}\tinfo\txds::client\treceived response\ttype_url="type.googleapis.com/istio.workload.Address" size=3`));
  files.ztunnel.broken(0.6, prefixed(ztunnels[1], 'istio-proxy', `${iso(start + 2_100_000)}\tinfo\taccess\tconnection complete\tsrc.addr=10.244.2.40:4`));
  files.ztunnel.broken(0.9, '');
  return Object.values(files);
}

// ---------------------------------------------------------------------------------------------
// Istio, trying out policies in dry-run: the "bank" ledger (examples/istio-dry-run)

/**
 * The ledger's sidecar logs Envoy JSON with the caller's identity and the results of the dry-run
 * engines (Envoy's RBAC shadow metadata, `istio_dry_run_{allow,deny}_shadow_*`). The results follow
 * the dry-run policies as they were deployed when the logs were written: the same
 * ledger-allowlist-v2 as in the workspace, and a ledger-deny-deletes that matched DELETE on
 * /v1/accounts/* only (the workspace's version has since been widened to /v1/*).
 */
function dryRun(rnd) {
  const pod = (name, ip, namespace, app, hash, node) => ({ name, ip, namespace, node, labels: { app, 'pod-template-hash': hash, 'security.istio.io/tlsMode': 'istio', 'service.istio.io/canonical-name': app } });
  const ledgers = [pod('ledger-7c9d8f6b5-q2xlp', '10.244.1.30', 'bank', 'ledger', '7c9d8f6b5', 'node-1'), pod('ledger-7c9d8f6b5-wm4kd', '10.244.2.31', 'bank', 'ledger', '7c9d8f6b5', 'node-2')];
  const callers = {
    teller: { ip: '10.244.1.40', principal: 'spiffe://cluster.local/ns/bank/sa/teller', userAgent: 'teller/4.2.0 okhttp/4.12.0' },
    statements: { ip: '10.244.2.55', principal: 'spiffe://cluster.local/ns/bank/sa/statements', userAgent: 'statements-job/1.7.3 python-requests/2.31.0' },
    backoffice: { ip: '10.244.3.61', principal: 'spiffe://cluster.local/ns/ops/sa/backoffice', userAgent: 'backoffice/9.0.1 (+axios)' },
    prometheus: { ip: '10.244.5.9', principal: 'spiffe://cluster.local/ns/monitoring/sa/prometheus', userAgent: 'Prometheus/2.51.0' },
    debug: { ip: '10.244.2.77', principal: 'spiffe://cluster.local/ns/bank/sa/default', userAgent: 'curl/8.5.0' },
  };
  const file = new LogFile(join(ROOT, 'examples', 'istio-dry-run', 'traffic', 'ledger.log'));
  const policyId = (name, rule) => `ns[bank]-policy[${name}]-rule[${rule}]`;
  /** The dry-run ALLOW engine (ledger-allowlist-v2): its rule that matches, if any. */
  const allowlistRule = (caller, method, path) => {
    if (caller === 'teller' && (method === 'GET' || method === 'POST') && path.startsWith('/v1/')) return 0;
    if (caller === 'backoffice' && method === 'GET' && path.startsWith('/v1/')) return 1;
    if (caller === 'prometheus' && method === 'GET' && path === '/metrics') return 2;
    return undefined;
  };
  /** The dry-run DENY engine as deployed then (ledger-deny-deletes: DELETE on /v1/accounts/*). */
  const deployedDenyMatches = (method, path) => method === 'DELETE' && path.startsWith('/v1/accounts/');
  /** The enforced ALLOW policy (ledger-callers). */
  const enforcedAllows = (caller, method, path) =>
    (caller === 'teller' && (method === 'GET' || method === 'POST') && path.startsWith('/v1/'))
    || (caller === 'statements' && method === 'GET' && /^\/v1\/accounts\/[^/]+\/entries(\?|$)/.test(path))
    || (caller === 'backoffice' && (method === 'GET' || method === 'DELETE') && path.startsWith('/v1/'))
    || (caller === 'prometheus' && method === 'GET' && path === '/metrics');

  function call(t, callerName, method, path) {
    const caller = callers[callerName];
    const ledger = rnd.pick(ledgers);
    const allowed = enforcedAllows(callerName, method, path.split('?')[0]);
    const rule = allowlistRule(callerName, method, path);
    const denyMatch = deployedDenyMatches(method, path);
    const d = rnd.int(2, 40);
    const f = {
      start: t, method, path, protocol: 'HTTP/1.1', code: allowed ? (method === 'POST' ? 201 : method === 'DELETE' ? 204 : 200) : 403,
      details: allowed ? 'via_upstream' : 'rbac_access_denied_matched_policy[none]', bytesIn: method === 'POST' ? rnd.int(120, 480) : 0,
      bytesOut: allowed ? (method === 'DELETE' ? 0 : rnd.int(60, 3200)) : 19, duration: allowed ? d : 0, upstreamTime: allowed ? d - 1 || 1 : undefined,
      userAgent: caller.userAgent, requestId: rnd.uuid(), authority: 'ledger.bank.svc.cluster.local',
      upstreamHost: allowed ? `${ledger.ip}:8080` : undefined, cluster: allowed ? 'inbound|8080||' : undefined,
      upstreamLocal: allowed ? `127.0.0.6:${rnd.port()}` : undefined, downstreamLocal: `${ledger.ip}:8080`,
      downstreamRemote: `${caller.ip}:${rnd.port()}`, sni: 'outbound_.8080_._.ledger.bank.svc.cluster.local', route: allowed ? 'default' : undefined,
    };
    const extra = {
      source_principal: caller.principal,
      istio_dry_run_allow_shadow_engine_result: rule === undefined ? 'denied' : 'allowed',
      istio_dry_run_allow_shadow_effective_policy_id: rule === undefined ? null : policyId('ledger-allowlist-v2', rule),
      istio_dry_run_deny_shadow_engine_result: denyMatch ? 'denied' : 'allowed',
      istio_dry_run_deny_shadow_effective_policy_id: denyMatch ? policyId('ledger-deny-deletes', 0) : null,
    };
    file.add(t, fluentBit(ledger, 'istio-proxy', t, envoyJson(f, extra)));
  }

  const start = Date.parse('2025-06-02T08:00:00Z');
  const hour = 3_600_000;
  const account = () => `ac-${rnd.int(100000, 100400)}`;
  for (let t = start + rnd.gap(2_500); t < start + hour; t += rnd.gap(2_500)) {
    if (rnd.chance(0.7)) call(t, 'teller', 'GET', `/v1/accounts/${account()}/balance`);
    else call(t, 'teller', 'POST', '/v1/transfers');
  }
  for (let t = start + 30 * 60_000; t < start + 36 * 60_000; t += rnd.gap(2_200)) call(t, 'statements', 'GET', `/v1/accounts/${account()}/entries?from=2025-05-01&to=2025-05-31`);
  for (let t = start + 4 * 60_000; t < start + hour; t += rnd.gap(90_000)) call(t, 'backoffice', 'GET', `/v1/accounts/${account()}`);
  for (let t = start + 9 * 60_000; t < start + hour; t += rnd.gap(240_000)) call(t, 'backoffice', 'DELETE', `/v1/holds/h-${rnd.int(5000, 5999)}`);
  for (const minute of [17, 41, 52]) call(start + minute * 60_000 + rnd.int(0, 59_000), 'backoffice', 'DELETE', `/v1/accounts/${account()}/flags/overdraft-review`);
  for (let t = start + rnd.int(0, 15_000); t < start + hour; t += 15_000) call(t, 'prometheus', 'GET', '/metrics');
  for (let i = 0; i < 6; i++) call(start + 47 * 60_000 + i * rnd.int(4_000, 20_000), 'debug', 'GET', `/v1/accounts/${account()}`);
  // what else the sidecar writes, and damage
  file.broken(0.25, fluentBit(ledgers[0], 'istio-proxy', start + 900_000, `${iso(start + 900_000)}\twarning\tenvoy config\tgRPC config for type.googleapis.com/envoy.config.listener.v3.Listener rejected: 1 listener(s) skipped`));
  file.broken(0.8, '{"date":1748853600.5,"log":"{\\"authority\\":\\"ledger.bank.svc.cluster.local\\",\\"bytes_received\\":0,\\"method\\":\\"GET\\",\\"path\\":\\"/v1/acc');
  return [file];
}

// ---------------------------------------------------------------------------------------------

const check = process.argv.includes('--check');
let stale = 0;
const seeds = { istio: SEED, linkerd: SEED + 1, consul: SEED + 2, 'istio-ambient': SEED + 3, 'istio-dry-run': SEED + 4 };
for (const [name, generate] of [['istio', istio], ['linkerd', linkerd], ['consul', consul], ['istio-ambient', ambient], ['istio-dry-run', dryRun]]) {
  for (const file of generate(new Random(seeds[name]))) {
    const text = file.render();
    const rel = file.path.slice(ROOT.length + 1);
    const lines = text.split('\n').length - 1;
    if (check) {
      const current = existsSync(file.path) ? readFileSync(file.path, 'utf8') : '';
      if (current !== text) { stale++; console.error(`${rel}: differs from what scripts/gen-traffic.mjs generates`); }
      continue;
    }
    mkdirSync(dirname(file.path), { recursive: true });
    writeFileSync(file.path, text);
    console.log(`${rel.padEnd(40)} ${String(lines).padStart(6)} lines ${(Buffer.byteLength(text) / 1024).toFixed(0).padStart(6)} KiB`);
  }
}
if (check && stale) process.exit(1);

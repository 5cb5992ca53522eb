import assert from 'node:assert/strict';
import { createWriteStream, mkdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { once } from 'node:events';
import { describe, it } from 'node:test';
import { constants as zlibConstants, gunzipSync, gzipSync } from 'node:zlib';
import { defaultConfig } from '../../../server/src/engine/config/projectConfig';
import { buildInventory, emptyInventory, type Inventory } from '../../../server/src/engine/inventory/inventory';
import { readSource } from '../../../server/src/engine/source/read';
import type { AccessRecord } from '../../../server/src/engine/traffic/accessRecord';
import { ingestTraffic, readerSettingProblems, type IngestOptions, type TrafficModel } from '../../../server/src/engine/traffic/ingest';
import { collectTrafficFiles, compileGlob } from '../../../server/src/engine/traffic/ingest/files';
import { parsePrincipal, principalFor, workloadNameFromPod } from '../../../server/src/engine/traffic/ingest/identity';
import { CUT_OFF, MAX_LINE_BYTES, readLineBatches, splitOffsets } from '../../../server/src/engine/traffic/ingest/lineSource';
import { MAX_CLAIMS_DEPTH } from '../../../server/src/engine/traffic/formats/accessRecordJsonl';
import { Folder } from '../../../server/src/engine/traffic/ingest/folder';
import { foldTasks } from '../../../server/src/engine/traffic/ingest/pipeline';
import { InventoryIndex } from '../../../server/src/engine/inventory/inventoryIndex';
import { Resolver, serviceFromSni } from '../../../server/src/engine/traffic/ingest/resolve';
import { mix } from '../../../server/src/engine/traffic/hash';
import { ShapeTable, sameShape, shapeKey, sortShapes } from '../../../server/src/engine/traffic/ingest/shapes';
import { TimeParser } from '../../../server/src/engine/traffic/ingest/time';
import type { LineReader, ParsedLine, ShipperMetadata } from '../../../server/src/engine/traffic/readerTypes';
import { createReader, detectFormat } from '../../../server/src/engine/traffic/detect';
import { runTrafficCli } from '../../../server/src/cli/traffic';
import { FIXTURES } from '../../helpers/paths';
import { scratchDir } from '../../helpers/scratch';
import { assertAccounting } from '../../helpers/trafficModel';

/**
 * A fake reader: each line is a JSON object {rec, side, rid, shipper, gap}; anything else is
 * skipped ("not JSON"), and {"skip": reason} is skipped with that reason. It stands for the real
 * per-format readers, so these tests exercise only the pipeline.
 */
const fakeReader: LineReader = {
  format: 'access-record',
  read(line) {
    let value: { rec?: AccessRecord; side?: ParsedLine['side']; rid?: string; shipper?: ShipperMetadata; gap?: string; skip?: string };
    try {
      value = JSON.parse(line);
    } catch {
      return { kind: 'skip', reason: 'not JSON' };
    }
    if (value.skip) return { kind: 'skip', reason: value.skip };
    return {
      kind: 'record', record: value.rec ?? {}, side: value.side ?? 'unknown',
      ...(value.rid ? { requestId: value.rid } : {}),
      ...(value.shipper ? { shipper: value.shipper } : {}),
      ...(value.gap ? { identityGap: value.gap } : {}),
    };
  },
};

const MANIFESTS = `apiVersion: v1
kind: Namespace
metadata: {name: shop, labels: {istio-injection: enabled}}
---
apiVersion: apps/v1
kind: Deployment
metadata: {name: frontend, namespace: shop}
spec:
  template:
    metadata: {labels: {app: frontend}}
    spec: {serviceAccountName: frontend, containers: [{name: f, ports: [{name: http, containerPort: 8080}]}]}
---
apiVersion: apps/v1
kind: Deployment
metadata: {name: cart, namespace: shop}
spec:
  template:
    metadata: {labels: {app: cart}}
    spec: {serviceAccountName: cart, containers: [{name: c, ports: [{name: http, containerPort: 7070}]}]}
---
apiVersion: v1
kind: Service
metadata: {name: cart, namespace: shop}
spec:
  selector: {app: cart}
  clusterIP: 10.96.0.20
  ports: [{name: http, port: 80, targetPort: http}]
---
apiVersion: v1
kind: List
items:
  - apiVersion: v1
    kind: Pod
    metadata: {name: frontend-6d5f7b8c9-aaaaa, namespace: shop, labels: {app: frontend, pod-template-hash: 6d5f7b8c9}}
    spec: {serviceAccountName: frontend, containers: [{name: f}]}
    status: {podIP: 10.244.0.10}
  - apiVersion: v1
    kind: Pod
    metadata: {name: cart-7c8d9e6f5-bbbbb, namespace: shop, labels: {app: cart, pod-template-hash: 7c8d9e6f5}}
    spec: {serviceAccountName: cart, containers: [{name: c}]}
    status: {podIP: 10.244.0.20}
`;

const inventory: Inventory = buildInventory([readSource('shop.yaml', MANIFESTS)]);
const dir = scratchDir('mesh-policy-ingest-');
let fileCount = 0;

function file(lines: (string | object)[], name = `f${fileCount++}.log`): string {
  const path = join(dir, name);
  writeFileSync(path, lines.map((l) => (typeof l === 'string' ? l : JSON.stringify(l))).join('\n') + '\n');
  return path;
}

function ingest(paths: string[], options: IngestOptions = {}): Promise<TrafficModel> {
  return ingestTraffic(paths, { inventory, config: defaultConfig(dir), readerFor: () => fakeReader, workers: 1, ...options });
}

function at(second: number): string {
  return new Date(Date.UTC(2025, 2, 14, 9, 0, 0) + second * 1000).toISOString();
}

/** Server-side line of a call to cart, as Istio's default format gives it: no caller identity. */
function inbound(second: number, extra: { rid?: string; ip?: string; path?: string; shipper?: ShipperMetadata; principal?: string | null } = {}): object {
  return {
    rec: {
      time: at(second), mesh: 'istio', protocol: 'http',
      source: { ...(extra.ip ? { ip: extra.ip } : {}), ...(extra.principal !== undefined ? { principal: extra.principal } : {}) },
      destination: { ip: '10.244.0.20', port: 7070 },
      request: { method: 'GET', path: extra.path ?? '/v1/carts/1', host: 'cart.shop:80', headers: { 'x-request-id': extra.rid ?? 'none', 'user-agent': 'curl/8' } },
      response: { status: 200, details: 'via_upstream' }, observed: 'allowed',
    },
    side: 'inbound', ...(extra.rid ? { rid: extra.rid } : {}), ...(extra.shipper ? { shipper: extra.shipper } : {}),
    gap: 'the default Istio format has no peer identity',
  };
}

/** Client-side line of the same call, written by the frontend's proxy. */
function outbound(second: number, extra: { rid?: string; path?: string; shipper?: ShipperMetadata; ip?: string } = {}): object {
  return {
    rec: {
      time: at(second), mesh: 'istio', protocol: 'http',
      source: { ip: extra.ip ?? '10.244.0.10' },
      destination: { service: 'cart.shop.svc.cluster.local', port: 80, ip: '10.244.0.20' },
      request: { method: 'GET', path: extra.path ?? '/v1/carts/1', host: 'cart.shop:80', headers: { 'x-request-id': extra.rid ?? 'none', 'user-agent': 'curl/8' } },
      response: { status: 200, details: 'via_upstream' }, observed: 'unknown',
    },
    side: 'outbound', ...(extra.rid ? { rid: extra.rid } : {}), ...(extra.shipper ? { shipper: extra.shipper } : {}),
  };
}


describe('ingest: folding and accounting', () => {
  it('folds identical calls into one shape with count, first/last time and sample locations', async () => {
    const path = file([inbound(5, { ip: '10.244.0.10' }), inbound(1, { ip: '10.244.0.10' }), inbound(9, { ip: '10.244.0.10' }), inbound(3, { ip: '10.244.0.10' })]);
    const model = await ingest([path]);
    assert.equal(model.shapes.length, 1);
    const shape = model.shapes[0]!;
    assert.equal(shape.count, 4);
    assert.equal(shape.firstTime, at(1));
    assert.equal(shape.lastTime, at(9));
    assert.equal(shape.record.time, at(1));
    assert.equal(shape.record.count, 4);
    assert.deepEqual(shape.samples, [{ file: path, line: 1 }, { file: path, line: 2 }, { file: path, line: 3 }]);
    assertAccounting(model);
  });

  it('keeps calls that differ in path, method, headers, identity or outcome apart, and ignores x-request-id', async () => {
    const base = inbound(1, { ip: '10.244.0.10', rid: 'a' }) as { rec: AccessRecord };
    const variants = [
      base,
      { ...base, rid: 'b', rec: { ...base.rec, request: { ...base.rec.request, headers: { 'x-request-id': 'other', 'user-agent': 'curl/8' } } } },
      { ...base, rec: { ...base.rec, request: { ...base.rec.request, path: '/v1/carts/2' } } },
      { ...base, rec: { ...base.rec, request: { ...base.rec.request, method: 'PUT' } } },
      { ...base, rec: { ...base.rec, request: { ...base.rec.request, headers: { 'user-agent': 'wget' } } } },
      { ...base, rec: { ...base.rec, response: { status: 403, details: 'rbac_access_denied_matched_policy[none]' }, observed: 'denied' } },
      { ...base, rec: { ...base.rec, source: { principal: 'cluster.local/ns/shop/sa/cart' } } },
    ];
    const model = await ingest([file(variants.map((v) => ({ ...v, side: 'unknown' })))]);
    assert.equal(model.shapes.length, 6, 'the first two differ only in x-request-id');
    assertAccounting(model);
  });

  it('accounts for every line: parsed, folded or skipped with a reason', async () => {
    const path = file([
      inbound(1, { ip: '10.244.0.10' }), '', '   ', 'garbage', '{"skip":"no request fields"}', inbound(2, { ip: '10.9.9.9' }),
      outbound(3, { rid: 'r1' }), inbound(3, { rid: 'r1' }), '{"skip":"no request fields"}',
    ]);
    const model = await ingest([path]);
    const s = model.stats;
    assert.equal(s.lines, 9);
    assert.equal(s.skipped, 5);
    assert.deepEqual(s.skippedByReason, { 'blank line': 2, 'not JSON': 1, 'no request fields': 2 });
    assert.equal(s.parsed, 4);
    assert.equal(s.joinedPairs, 1);
    assert.equal(s.calls, 3);
    assertAccounting(model);
  });

  it('counts the last line without a newline, CRLF line ends and a BOM', async () => {
    const path = join(dir, 'crlf.log');
    writeFileSync(path, '\ufeff' + JSON.stringify(inbound(1, { ip: '10.244.0.10' })) + '\r\n' + JSON.stringify(inbound(2, { ip: '10.244.0.10' })));
    const model = await ingest([path]);
    assert.equal(model.stats.lines, 2);
    assert.equal(model.stats.parsed, 2);
    assert.equal(model.shapes[0]!.count, 2);
  });

  it('keeps memory with the shapes: 200,000 lines from a stream become a handful of shapes', async () => {
    const path = join(dir, 'many.log');
    const out = createWriteStream(path);
    const paths = ['/v1/carts/1', '/v1/carts/2', '/v1/carts/3', '/healthz'];
    for (let i = 0; i < 200_000; i++) {
      const line = JSON.stringify(i % 2 ? outbound(i / 100, { rid: `r${i >> 1}`, path: paths[(i >> 1) % 4]! }) : inbound(i / 100, { rid: `r${(i + 1) >> 1}`, path: paths[((i + 1) >> 1) % 4]! }));
      if (!out.write(line + '\n')) await once(out, 'drain');
    }
    out.end();
    await once(out, 'finish');
    const model = await ingest([path], { maxPendingJoins: 1000 });
    assert.equal(model.stats.lines, 200_000);
    assert.ok(model.shapes.length <= 8, `${model.shapes.length} shapes`);
    assert.equal(model.stats.calls + model.stats.joinedPairs, 200_000);
    assertAccounting(model);
  });
});

describe('ingest: who called whom', () => {
  it('1. takes the identity in the line first (and completes it from the inventory)', async () => {
    const line = inbound(1, { ip: '10.244.0.99', principal: 'spiffe://cluster.local/ns/shop/sa/frontend', rid: 'x1' });
    const model = await ingest([file([line, outbound(1, { rid: 'x1', shipper: { shipper: 'kubectl', pod: 'cart-7c8d9e6f5-bbbbb' } })])]);
    assert.equal(model.shapes.length, 1);
    const shape = model.shapes[0]!;
    assert.deepEqual(shape.sourceBy, { line: 1 });
    const src = shape.record.source!;
    assert.equal(src.principal, 'spiffe://cluster.local/ns/shop/sa/frontend');
    assert.equal(src.namespace, 'shop');
    assert.equal(src.serviceAccount, 'frontend');
    assert.equal(src.workload, 'frontend', 'the one workload running as that service account');
  });

  it('2. then the shipper metadata of a client-side line (the writer is the caller)', async () => {
    const model = await ingest([file([outbound(1, { ip: '10.244.0.77', shipper: { shipper: 'fluent-bit', pod: 'frontend-6d5f7b8c9-zzzzz', namespace: 'shop' } })])]);
    const shape = model.shapes[0]!;
    assert.deepEqual(shape.sourceBy, { shipper: 1 });
    assert.equal(shape.record.source!.workload, 'frontend');
    assert.equal(shape.record.source!.serviceAccount, 'frontend');
    assert.equal(shape.record.source!.principal, 'cluster.local/ns/shop/sa/frontend');
    // destination filled from the inventory: Service port 80 → named targetPort http → 7070
    const d = shape.record.destination!;
    assert.equal(d.workload, 'cart');
    assert.equal(d.namespace, 'shop');
    assert.equal(d.serviceAccount, 'cart');
    assert.equal(d.port, 7070);
    assert.deepEqual(d.labels, { app: 'cart', 'pod-template-hash': '7c8d9e6f5' });
  });

  it('2. the shipper of a server-side line names the destination', async () => {
    const line = inbound(1, { ip: '10.9.9.9', shipper: { shipper: 'kubectl', pod: 'cart-7c8d9e6f5-qqqqq' } }) as { rec: AccessRecord };
    delete line.rec.destination;
    const model = await ingest([file([line])]);
    const shape = model.shapes[0]!;
    assert.deepEqual(shape.destinationBy, { shipper: 1 });
    assert.equal(shape.record.destination!.workload, 'cart');
    assert.equal(shape.record.destination!.port, 7070, 'from the host port through the Service');
  });

  it('2. a Fluentd server-side line: its writer\'s labels, de-dotted by the kubernetes_metadata filter, reach the destination with their dots (selectors read them)', async () => {
    const envoy = { start_time: '2025-03-14T09:00:01.000Z', method: 'GET', path: '/reviews/1', protocol: 'HTTP/1.1', response_code: 200, response_code_details: 'via_upstream', authority: 'reviews:9080', upstream_cluster: 'inbound|9080||', downstream_local_address: '10.244.1.5:9080', downstream_remote_address: '10.244.1.9:40000' };
    const line = JSON.stringify({
      log: `${JSON.stringify(envoy)}\n`, stream: 'stdout', docker: { container_id: 'c0ffee123456' },
      kubernetes: { container_name: 'istio-proxy', namespace_name: 'bookinfo', pod_name: 'reviews-v1-6f9d5c7b8-abcde', namespace_id: 'e5d1a0c2', master_url: 'https://10.96.0.1:443/api', labels: { app: 'reviews', 'app_kubernetes_io/name': 'reviews', 'sidecar_istio_io/inject': 'true' } },
    });
    const model = await ingestTraffic([file([line])], { inventory: emptyInventory(), config: defaultConfig(dir), workers: 1 });
    const shape = model.shapes[0]!;
    assert.deepEqual(shape.destinationBy, { shipper: 1 });
    assert.equal(shape.record.destination!.workload, 'reviews-v1');
    assert.deepEqual(shape.record.destination!.labels, { app: 'reviews', 'app.kubernetes.io/name': 'reviews', 'sidecar.istio.io/inject': 'true' });
  });

  it('2. but the shipper of an ambient waypoint\'s line is the waypoint: the destination is the pod it forwarded to', async () => {
    // The waypoint's Envoy line of a call to Service cart (cluster inbound-vip|80|http|<host>, the
    // pod behind connect_originate), as `kubectl logs --prefix` of the waypoint pod prints it.
    const line = '[pod/waypoint-5d6c7b8a9-wwwww/istio-proxy] [2025-03-14T09:00:01.000Z] "GET /v1/carts/1 HTTP/1.1" 200 - via_upstream - "-" 0 10 3 2 "-" "curl/8" "wp-1" "cart.shop:80" "envoy://connect_originate/10.244.0.20:7070" inbound-vip|80|http|cart.shop.svc.cluster.local envoy://internal_client_address/ 10.96.0.20:80 10.244.0.10:40000 - default';
    const model = await ingest([file([line])], { readerFor: () => createReader('envoy-text') });
    assert.equal(model.shapes.length, 1);
    const shape = model.shapes[0]!;
    assert.equal(shape.destinationBy.shipper, undefined);
    const d = shape.record.destination!;
    assert.deepEqual([d.workload, d.namespace, d.service, d.ip, d.port], ['cart', 'shop', 'cart.shop.svc.cluster.local', '10.244.0.20', 7070]);
    assert.equal(shape.record.source!.workload, 'frontend', 'the caller from its pod IP, the downstream address');
    assertAccounting(model);
  });

  it('3. then the client-side line with the same x-request-id, in another file: one call', async () => {
    const client = file([outbound(10, { rid: 'req-1', ip: '10.1.1.1', shipper: { shipper: 'kubectl', pod: 'frontend-6d5f7b8c9-aaaaa' } })]);
    const server = file([inbound(10.004, { rid: 'req-1', ip: '10.244.0.10' })]);
    const model = await ingest([server, client]);
    assert.equal(model.stats.joinedPairs, 1);
    assert.equal(model.stats.calls, 1);
    const shape = model.shapes[0]!;
    assert.deepEqual(shape.sourceBy, { join: 1 }, 'the join comes before the pod IP');
    assert.equal(shape.joined, 1);
    assert.equal(shape.record.source!.workload, 'frontend');
    assert.equal(shape.record.source!.principal, 'cluster.local/ns/shop/sa/frontend');
    assert.equal(shape.record.source!.principalInferred, true, 'from the client line\'s writer in the inventory');
    assert.equal(shape.record.source!.ip, '10.244.0.10', 'the server-side view of the caller address is kept');
    assert.equal(shape.record.observed, 'allowed', 'the server side decides');
    assert.deepEqual(shape.samples.map((s) => s.file).sort(), [client, server].sort());
    assertAccounting(model);
  });

  it('3. joins only the same request (id, method, host and path) within the window', async () => {
    const model = await ingest([file([
      outbound(0, { rid: 'same', path: '/a', shipper: { shipper: 'kubectl', pod: 'frontend-6d5f7b8c9-aaaaa' } }),
      inbound(0.01, { rid: 'same', path: '/b', ip: '10.5.5.5' }),
      outbound(100, { rid: 'late', shipper: { shipper: 'kubectl', pod: 'frontend-6d5f7b8c9-aaaaa' } }),
      inbound(300, { rid: 'late', ip: '10.5.5.5' }),
    ])], { joinWindowMs: 60_000 });
    assert.equal(model.stats.joinedPairs, 0);
    assert.equal(model.stats.calls, 4);
    assert.equal(model.stats.join.unmatched, 4);
    assert.equal(model.stats.join.unmatchedServer, 2, 'the two inbound lines');
    assertAccounting(model);
  });

  it('3. a server-side retry with the same id takes the caller from the joined call', async () => {
    const model = await ingest([file([
      outbound(0, { rid: 'retry', shipper: { shipper: 'kubectl', pod: 'frontend-6d5f7b8c9-aaaaa' } }),
      inbound(0.01, { rid: 'retry', ip: '10.5.5.5' }),
      inbound(0.02, { rid: 'retry', ip: '10.5.5.5' }),
    ])]);
    assert.equal(model.stats.joinedPairs, 1);
    assert.equal(model.stats.join.reused, 1);
    assert.equal(model.stats.calls, 2);
    assert.deepEqual(model.stats.sourceBy, { join: 2 });
  });

  it('3. the join window is bounded in size; evicted lines are still resolved alone', async () => {
    const lines: object[] = [];
    for (let i = 0; i < 50; i++) lines.push(outbound(i * 0.001, { rid: `o${i}`, shipper: { shipper: 'kubectl', pod: 'frontend-6d5f7b8c9-aaaaa' } }));
    for (let i = 0; i < 50; i++) lines.push(inbound(1 + i * 0.001, { rid: `o${i}`, ip: '10.244.0.10' }));
    const model = await ingest([file(lines)], { maxPendingJoins: 10 });
    assert.ok(model.stats.join.evictedBySize >= 40, `${model.stats.join.evictedBySize}`);
    assert.ok(model.stats.joinedPairs <= 10);
    assert.equal(model.stats.calls + model.stats.joinedPairs, 100);
    assert.equal(model.stats.sourceBy.unresolved ?? 0, 0, 'inbound lines fell back to pod IPs');
    assertAccounting(model);
  });

  it('4. then the inventory pod IPs', async () => {
    const model = await ingest([file([inbound(1, { ip: '10.244.0.10' })])]);
    const shape = model.shapes[0]!;
    assert.deepEqual(shape.sourceBy, { ip: 1 });
    assert.equal(shape.record.source!.workload, 'frontend');
    assert.equal(shape.record.source!.namespace, 'shop');
    assert.equal(shape.record.source!.principal, 'cluster.local/ns/shop/sa/frontend', 'istio-injection: enabled on the namespace');
    assert.equal(shape.record.source!.principalInferred, true, 'the principal is the inventory\'s, not the line\'s');
    assert.deepEqual(shape.destinationBy, { ip: 1 });
    assert.equal(shape.record.destination!.workload, 'cart');
    assert.equal(shape.record.destination!.service, 'cart.shop.svc.cluster.local');
  });

  it('4. the classic ingress gateway presents its identity, though it opts out of injection', async () => {
    // istioctl's gateway pods carry sidecar.istio.io/inject "false" because their own container is
    // the proxy (manifests/charts/gateways/istio-ingress); istioctl analyze counts a pod with an
    // istio-proxy container as in the mesh before it reads any injection label (analyzers/util inMesh).
    const gatewayPod = `apiVersion: v1
kind: Pod
metadata:
  name: istio-ingressgateway-5d9c8b7f6-ccccc
  namespace: istio-system
  labels: {app: istio-ingressgateway, istio: ingressgateway, sidecar.istio.io/inject: "false"}
  annotations: {sidecar.istio.io/inject: "false"}
spec:
  serviceAccountName: istio-ingressgateway-service-account
  containers: [{name: istio-proxy, image: docker.io/istio/proxyv2:1.24.0}]
status: {podIP: 10.244.0.30}
`;
    const withGateway = buildInventory([readSource('shop.yaml', MANIFESTS), readSource('gateway.yaml', gatewayPod)]);
    const model = await ingest([file([inbound(1, { ip: '10.244.0.30' })])], { inventory: withGateway });
    const source = model.shapes[0]!.record.source!;
    assert.equal(source.workload, 'istio-ingressgateway-5d9c8b7f6-ccccc');
    assert.equal(source.principal, 'cluster.local/ns/istio-system/sa/istio-ingressgateway-service-account');
    assert.equal(source.principalInferred, true);
  });

  it('keeps unresolved calls, with the reason', async () => {
    const noIp = inbound(3) as { rec: AccessRecord };
    const model = await ingest([file([inbound(1, { ip: '10.9.9.9' }), inbound(2, { ip: '10.9.9.9' }), noIp, inbound(4, { ip: '10.96.0.20' })])]);
    assert.equal(model.stats.calls, 4);
    assert.deepEqual(model.stats.unresolvedSourceByReason, {
      'caller IP not in the inventory': 2,
      'no caller identity or IP in the line': 1,
      'caller IP is a Service IP': 1,
    });
    const shape = model.shapes.find((s) => s.record.source?.ip === '10.9.9.9')!;
    assert.deepEqual(shape.unresolvedSource, { 'caller IP not in the inventory': 2 });
    assert.equal(shape.identityGap, 'the default Istio format has no peer identity');
    assert.equal(shape.record.source!.principalUnknown, true, 'not plaintext: the identity is not known');
    const noInventory = await ingest([file([inbound(1, { ip: '10.244.0.10' })])], { inventory: emptyInventory() });
    assert.deepEqual(noInventory.stats.unresolvedSourceByReason, { 'no caller identity in the line, and the inventory has no pod IPs': 1 });
    assert.deepEqual(noInventory.stats.destinationBy, { unresolved: 1 });
    assert.deepEqual(noInventory.stats.unresolvedDestinationByReason, { 'destination not in the inventory': 1 });
  });

  it('a null principal says plaintext: resolved from the line, workload added from the IP', async () => {
    const model = await ingest([file([inbound(1, { ip: '10.244.0.10', principal: null })])]);
    const shape = model.shapes[0]!;
    assert.deepEqual(shape.sourceBy, { line: 1 });
    assert.equal(shape.record.source!.principal, null);
    assert.equal(shape.record.source!.principalUnknown, undefined);
    assert.equal(shape.record.source!.workload, 'frontend');
  });
});

describe('ingest: files, streams, progress, cancellation', () => {
  it('reads gzip files, by name and by magic bytes, and folds them with plain ones', async () => {
    const text = [inbound(1, { ip: '10.244.0.10' }), inbound(2, { ip: '10.244.0.10' })].map((l) => JSON.stringify(l)).join('\n') + '\n';
    const gz = join(dir, 'a.log.gz');
    writeFileSync(gz, gzipSync(text));
    const magic = join(dir, 'b.log');
    writeFileSync(magic, gzipSync(text));
    const plain = file([inbound(3, { ip: '10.244.0.10' })]);
    const model = await ingest([gz, magic, plain]);
    assert.deepEqual(model.stats.files.map((f) => [f.gzip, f.lines]), [[true, 2], [true, 2], [false, 1]]);
    assert.equal(model.shapes.length, 1);
    assert.equal(model.shapes[0]!.count, 5);
    assertAccounting(model);
  });

  /** What `gunzip` recovers of a truncated file: its whole lines, and 1 when a line is cut off. */
  const linesBeforeTheDamage = (gz: Buffer): { whole: number; cut: number } => {
    const text = gunzipSync(gz, { finishFlush: zlibConstants.Z_SYNC_FLUSH }).toString('utf8');
    const parts = text.split('\n');
    return { whole: parts.length - 1, cut: parts[parts.length - 1] === '' ? 0 : 1 };
  };

  it("a proxy's startup log longer than the first sample: the format is found further on, no line is lost", async () => {
    const text = readFileSync(join(FIXTURES, 'traffic', 'formats', 'istio-text.log'), 'utf8');
    const plain = await ingestTraffic([join(FIXTURES, 'traffic', 'formats', 'istio-text.log')], { config: defaultConfig(dir), workers: 1 });
    const startup = Array.from({ length: 120 }, (_, i) => `2026-02-10T08:00:${String(i % 60).padStart(2, '0')}.000000Z\tinfo\tads\tADS: new connection for node:sidecar~10.244.1.${i}~x`);
    for (const gzip of [false, true]) {
      const path = join(dir, `startup-first.log${gzip ? '.gz' : ''}`);
      const content = `${startup.join('\n')}\n${text}`;
      writeFileSync(path, gzip ? gzipSync(content) : content);
      const model = await ingestTraffic([path], { config: defaultConfig(dir), workers: 1 });
      assert.equal(model.stats.files[0]!.format, 'envoy-text');
      assert.equal(model.stats.parsed, plain.stats.parsed);
      assert.equal(model.stats.skipped, plain.stats.skipped + startup.length);
      assert.deepEqual(model.stats.problems, []);
      assertAccounting(model);
    }
    // a file of no format at all is still one
    const none = join(dir, 'no-format.log');
    writeFileSync(none, `${startup.join('\n')}\n`);
    const model = await ingestTraffic([none], { config: defaultConfig(dir), workers: 1 });
    assert.deepEqual(model.stats.problems, [`${none}: format not recognized`]);
    assert.equal(model.stats.skipped, startup.length);
  });

  // with the byte-order mark (PowerShell's >), and without it, in either byte order
  for (const [name, encode] of [
    ['UTF-16LE with its mark', (t: string) => Buffer.concat([Buffer.from([0xff, 0xfe]), Buffer.from(t, 'utf16le')])],
    ['UTF-16LE without a mark', (t: string) => Buffer.from(t, 'utf16le')],
    ['UTF-16BE without a mark', (t: string) => Buffer.from(t, 'utf16le').swap16()],
  ] as const) it(`names ${name} as the reason its lines are skipped, instead of "format not recognized"`, async () => {
    const text = readFileSync(join(FIXTURES, 'traffic', 'formats', 'istio-text.log'), 'utf8');
    const utf8 = join(dir, 'as-utf8.log');
    const utf16 = join(dir, `as-${name.replace(/ /g, '-')}.log`);
    writeFileSync(utf8, text);
    writeFileSync(utf16, encode(text));
    const plain = await ingestTraffic([utf8], { config: defaultConfig(dir), workers: 1 });
    assert.ok(plain.stats.parsed > 0, 'the same lines in UTF-8 are read');
    const model = await ingestTraffic([utf16], { config: defaultConfig(dir), workers: 1 });
    const reason = 'UTF-16 text, not UTF-8: convert it first (iconv -f UTF-16 -t UTF-8)';
    assert.equal(model.stats.parsed, 0);
    assert.ok(model.stats.lines >= plain.stats.lines, 'every line counted (split on the byte 0x0A, UTF-16 leaves its last NUL as one more)');
    assert.equal(model.stats.skippedByReason[reason], model.stats.lines);
    assert.deepEqual(model.stats.problems, [`${utf16}: ${reason}`]);
    assertAccounting(model);
  });

  // 2000 lines: damaged long after the format sample; 40 lines: within it (the sample holds 50),
  // where the damage is met while the reader is chosen
  for (const [count, name] of [[2000, 'broken.log.gz'], [40, 'short-broken.log.gz']] as const) {
    it(`reports a truncated gzip file and keeps the lines read before the damage (${count} lines)`, async () => {
      const lines = Array.from({ length: count }, (_, i) => JSON.stringify(inbound(i, { ip: '10.244.0.10', path: `/p${i}` }))).join('\n') + '\n';
      const full = gzipSync(lines);
      const cut = full.subarray(0, Math.floor(full.length * 0.6));
      const path = join(dir, name);
      writeFileSync(path, cut);
      const model = await ingest([path]);
      const f = model.stats.files[0]!;
      assert.match(f.error ?? '', /gzip|unexpected end/i);
      assert.ok(f.parsed > 0 && f.lines < count, `${f.parsed} of ${f.lines}`);
      // every line gunzip recovers is parsed, and the one the damage cut in two counted as skipped
      assert.deepEqual(linesBeforeTheDamage(cut), { whole: f.parsed, cut: f.skippedByReason[CUT_OFF] ?? 0 });
      assert.equal(model.stats.problems.filter((p) => p.includes(name)).length, 1);
      assertAccounting(model);
    });
  }

  // What follows a gzip file's compressed data: every member's lines are read (as GNU gzip
  // decompresses them: "decompression OK, trailing garbage ignored"), zero padding is fine, other
  // bytes are named with the file; a member cut short is damage, as above.
  {
    const lines = Array.from({ length: 2000 }, (_, i) => JSON.stringify(inbound(i, { ip: '10.244.0.10', path: `/p${i}` })));
    const text = `${lines.join('\n')}\n`;
    // (the second member starts inside a line, and ends without a newline)
    const middle = text.indexOf('\n', text.length >> 1) - 10;
    const twoMembers = Buffer.concat([gzipSync(text.slice(0, middle)), gzipSync(text.slice(middle, -1))]);
    const secondCut = Buffer.concat([gzipSync(text.slice(0, middle)), gzipSync(text.slice(middle)).subarray(0, 2000)]);
    const ignored = (n: string): string => `${n} bytes after the end of the compressed data were ignored (not gzip)`;
    for (const [name, content, error] of [
      ['text', Buffer.concat([gzipSync(text), Buffer.from('garbage')]), ignored('7')],
      ['bytes starting as a gzip member does', Buffer.concat([gzipSync(text), Buffer.from([0x1f, 0x8b, 0x01, 0x00, 0x00, 0x00, 0x00, 0x00])]), ignored('8')],
      ['zero padding', Buffer.concat([gzipSync(text), Buffer.alloc(1000)]), undefined],
      ['zeros, then text', Buffer.concat([gzipSync(text), Buffer.alloc(1000), Buffer.from('x')]), ignored('1,001')],
      ['two members, then text', Buffer.concat([twoMembers, Buffer.from('garbage\n')]), ignored('8')],
      ['two members', twoMembers, undefined],
    ] as const) {
      it(`reads every line of a gzip file followed by ${name}, and names what it ignored`, async () => {
        const path = join(dir, `after-the-members-${name.replace(/\W+/g, '-')}.log.gz`);
        writeFileSync(path, content);
        const model = await ingest([path]);
        const f = model.stats.files[0]!;
        assert.deepEqual([f.lines, f.parsed, f.skipped], [2000, 2000, 0]);
        assert.equal(f.error, error);
        assert.deepEqual(model.stats.problems, error === undefined ? [] : [`${path}: ${error}`]);
        assertAccounting(model);
      });
    }

    it('reads a gzip file whose second member is cut short as a truncated one: the lines before the damage, the line it cuts', async () => {
      assert.deepEqual(linesBeforeTheDamage(secondCut).cut, 1);
      const path = join(dir, 'second-member-cut.log.gz');
      writeFileSync(path, secondCut);
      const model = await ingest([path]);
      const f = model.stats.files[0]!;
      const { whole, cut } = linesBeforeTheDamage(secondCut);
      assert.deepEqual([f.lines, f.parsed, f.skippedByReason], [whole + cut, whole, { [CUT_OFF]: cut }]);
      assert.ok(whole > 1000 && whole < 2000, `${whole}`);
      assert.equal(f.error, 'gzip data is corrupt or truncated (unexpected end of file)');
      assert.deepEqual(model.stats.problems, [`${path}: ${f.error}`]);
      assertAccounting(model);
    });
  }

  it('counts the line a gzip file is damaged in before its first newline, as cut off, with the file read by its format or by a reader given', async () => {
    // incompressible text: the first line is far longer than the 300 bytes kept decompress to
    let seed = 7;
    const noise = (n: number): string => Array.from({ length: n }, () => ((seed = (seed * 48271) % 2147483647) % 36).toString(36)).join('');
    const lines = Array.from({ length: 3 }, (_, i) => JSON.stringify({ time: at(i), mesh: 'istio', destination: { namespace: 'shop', workload: 'cart', port: 7070 }, request: { method: 'GET', path: `/${noise(4000)}` } }));
    const cut = gzipSync(`${lines.join('\n')}\n`).subarray(0, 300);
    assert.deepEqual(linesBeforeTheDamage(cut), { whole: 0, cut: 1 });
    const path = join(dir, 'broken-first-line.log.gz');
    writeFileSync(path, cut);
    for (const options of [{ readerFor: undefined }, { readerFor: () => fakeReader }]) {
      const model = await ingestTraffic([path], { config: defaultConfig(dir), workers: 1, ...options });
      const f = model.stats.files[0]!;
      assert.match(f.error ?? '', /^gzip data is corrupt or truncated/);
      assert.deepEqual([f.lines, f.parsed, f.skipped, f.skippedByReason], [1, 0, 1, { [CUT_OFF]: 1 }]);
      assert.deepEqual(model.stats.problems, [`${path}: ${f.error}`]);
      assertAccounting(model);
    }
  });

  it('skips an access record whose JWT claims nest too deep for the walks over records (a depth no stack holds), and reads the others', async () => {
    const call = { mesh: 'istio', destination: { namespace: 'shop', workload: 'cart', port: 7070 }, request: { method: 'GET', path: '/' } };
    const deep = `{"mesh":"istio","destination":{"namespace":"shop","workload":"cart","port":7070},"request":{"method":"GET","path":"/","jwt":{"claims":{"a":${'['.repeat(100_000)}${']'.repeat(100_000)}}}}}`;
    const path = file([deep, call], 'deep-claims.jsonl');
    const model = await ingestTraffic([path], { config: defaultConfig(dir), workers: 1 });
    const f = model.stats.files[0]!;
    assert.equal(f.format, 'access-record');
    assert.deepEqual([f.lines, f.parsed, f.skippedByReason], [2, 1, { [`access record: request.jwt.claims nests objects and arrays more than ${MAX_CLAIMS_DEPTH} deep`]: 1 }]);
    assert.equal(f.error, undefined);
    assert.deepEqual(model.shapes.map((shape) => [shape.count, shape.record.request?.path]), [[1, '/']]);
    assertAccounting(model);
  });

  it('reports progress in bytes and lines, ending at the totals', async () => {
    const lines = Array.from({ length: 30_000 }, (_, i) => inbound(i, { ip: '10.244.0.10', path: `/p${i % 7}` }));
    const path = file(lines);
    const seen: { bytesRead: number; lines: number; totalBytes: number }[] = [];
    const model = await ingest([path], { onProgress: (p) => seen.push({ ...p }) });
    assert.ok(seen.length >= 2);
    for (let i = 1; i < seen.length; i++) assert.ok(seen[i]!.bytesRead >= seen[i - 1]!.bytesRead);
    const last = seen[seen.length - 1]!;
    assert.equal(last.bytesRead, last.totalBytes);
    assert.equal(last.lines, 30_000);
    assert.equal(model.stats.bytes, last.totalBytes);
  });

  it('stops when cancelled', async () => {
    const lines = Array.from({ length: 100_000 }, (_, i) => inbound(i, { ip: '10.244.0.10' }));
    const path = file(lines);
    const controller = new AbortController();
    let calls = 0;
    await assert.rejects(
      ingest([path], { signal: controller.signal, onProgress: (p) => { if (p.lines > 0 && ++calls === 1) controller.abort(); } }),
      (error: Error) => error.name === 'AbortError',
    );
    const before = new AbortController();
    before.abort();
    await assert.rejects(ingest([path], { signal: before.signal }), (error: Error) => error.name === 'AbortError');
  });

  it('reports missing paths and unrecognized formats; their lines are skipped, not lost', async () => {
    const path = file(['hello', 'world']);
    const model = await ingestTraffic([path, join(dir, 'missing.log')], { inventory, config: defaultConfig(dir), readerFor: () => undefined, workers: 1 });
    assert.ok(model.stats.problems.some((p) => p.includes('missing.log')));
    assert.equal(model.stats.lines, 2);
    assert.equal(model.stats.skipped, 2);
  });

  it('collects traffic files from folders with the configuration globs', () => {
    const root = scratchDir('mesh-policy-collect-');
    for (const name of ['a.log', 'b.log.gz', 'c.jsonl', 'd.yaml', 'e.json']) writeFileSync(join(root, name), '');
    const config = defaultConfig(root);
    assert.deepEqual(collectTrafficFiles([root], config).files.map((f) => f.slice(root.length + 1)), ['a.log', 'b.log.gz', 'c.jsonl']);
    assert.deepEqual(collectTrafficFiles([join(root, 'd.yaml')], config).files.length, 1, 'named files are always read');
    assert.deepEqual(collectTrafficFiles([join(root, 'nope')], config).missing, [join(root, 'nope')]);
    // a folder named traffic, given itself (outside the configuration folder): its JSON documents are taken
    const elsewhere = join(scratchDir('mesh-policy-collect-named-'), 'traffic');
    mkdirSync(join(elsewhere, 'otel'), { recursive: true });
    for (const name of ['a.log', 'export.json', 'otel/export.json']) writeFileSync(join(elsewhere, name), '');
    assert.deepEqual(collectTrafficFiles([elsewhere], config).files.map((f) => f.slice(elsewhere.length + 1)), ['a.log', 'export.json', 'otel/export.json']);
    assert.ok(compileGlob('**/traffic/**/*.json').test('examples/traffic/x.json'));
    assert.ok(compileGlob('**/*.{log,txt}').test('a/b.txt'));
    assert.ok(!compileGlob('*.log').test('a/b.log'));
  });

  it('matches a hostile glob in linear time', () => {
    const started = performance.now();
    assert.equal(compileGlob(`${'*a'.repeat(30)}*b`).test('a'.repeat(3000)), false);
    assert.equal(compileGlob('{{{{a,b},c},d},e}/**/x?.log').test('c/1/2/xy.log'), true);
    assert.ok(performance.now() - started < 1000, 'a backtracking matcher takes minutes here');
  });

  it('splits lines across chunk boundaries and keeps multi-byte characters whole', async () => {
    const path = join(dir, 'chunks.log');
    const lines = Array.from({ length: 500 }, (_, i) => `line ${i} ${'é'.repeat(i % 37)} ✓`);
    writeFileSync(path, lines.join('\n'));
    const got: string[] = [];
    for await (const batch of readLineBatches(path, { chunkBytes: 97 })) got.push(...batch.lines);
    assert.deepEqual(got, lines);
  });
});

describe('ingest helpers', () => {
  it('orders shapes by count, then by their hash, then by their key, whatever the input order', () => {
    // keys with equal counts; hashes of 5 bits here, so that many shapes tie on count and hash
    // and the order of those comes from the key (built only for them)
    const shapes = Array.from({ length: 400 }, (_, i) => ({ count: 1 + (i % 9 === 0 ? i % 4 : 0), key: `istio\u0001http\u0001cluster.local/ns/n${i % 13}/sa/s${i}\u0002/p/${i * 7}` }));
    const hash = (key: string) => (mix(0x811c9dc5, key) >>> 0) & 31;
    const expected = shapes.slice().sort((a, b) => b.count - a.count || hash(a.key) - hash(b.key) || (a.key < b.key ? -1 : 1)).map((s) => s.key);
    let built = 0;
    const keyOf = (s: { key: string }) => { built++; return s.key; };
    for (const order of [shapes.slice(), shapes.slice().reverse(), shapes.filter((_, i) => i % 2).concat(shapes.filter((_, i) => i % 2 === 0))]) {
      assert.deepEqual(sortShapes(order, order.map((s) => hash(s.key)), keyOf).map((s) => s.key), expected);
    }
    // full 32-bit hashes: no tie, no key built
    built = 0;
    const wide = (key: string) => mix(0x811c9dc5, key) >>> 0;
    const sorted = sortShapes(shapes.slice(), shapes.map((s) => wide(s.key)), keyOf);
    assert.equal(built, 0);
    assert.deepEqual(sorted.map((s) => s.count), sorted.map((s) => s.count).sort((a, b) => b - a));
    // equal counts and equal hashes (the same key twice here): still a total, stable answer
    const three = [{ count: 2, key: 'b' }, { count: 2, key: 'a' }, { count: 2, key: 'b' }];
    assert.deepEqual(sortShapes(three, three.map((s) => wide(s.key)), keyOf).map((s) => s.key), wide('a') < wide('b') ? ['a', 'b', 'b'] : ['b', 'b', 'a']);
  });

  it('a shape counts at most 2^53 - 1 calls: the calls beyond go to another shape of the same call, also when tables merge', () => {
    const MAX = Number.MAX_SAFE_INTEGER;
    const record = (count: number): AccessRecord => ({ mesh: 'istio', protocol: 'http', request: { method: 'GET', path: '/a' }, observed: 'allowed', count });
    const call = (count: number, line: number) => ({ record: record(count), t: line * 1000, file: 0, line, sourceMethod: 'line' as const, destinationMethod: 'line' as const });
    const table = new ShapeTable();
    const first = table.add(call(MAX - 1, 1));
    assert.equal(table.add(call(1, 2)), first, 'room for one more');
    const second = table.add(call(1, 3));
    assert.notEqual(second, first);
    assert.equal(table.count(first, call(1, 4), undefined, 1), second, 'a full shape hands its calls to the one that took its place');
    const other = new ShapeTable();
    other.add(call(MAX, 5));
    other.add(call(4, 6));
    table.merge(other.shapes);
    const shapes = table.finish(['f']);
    assert.deepEqual(shapes.map((s) => [s.count, s.record.count, s.sourceBy]), [[MAX, MAX, { line: MAX }], [MAX, MAX, { line: MAX }], [4, 4, { line: 4 }], [2, 2, { line: 2 }]]);
    assert.equal(new Set(shapes.map((s) => shapeKey(s.record))).size, 1, 'one call');
  });

  it('parses and builds principals of the three meshes', () => {
    assert.deepEqual(parsePrincipal('cluster.local/ns/shop/sa/frontend'), { mesh: 'istio', trustDomain: 'cluster.local', namespace: 'shop', serviceAccount: 'frontend' });
    assert.deepEqual(parsePrincipal('spiffe://td/ns/a/sa/b'), { mesh: 'istio', trustDomain: 'td', namespace: 'a', serviceAccount: 'b' });
    assert.deepEqual(parsePrincipal('web.emojivoto.serviceaccount.identity.linkerd.cluster.local'), { mesh: 'linkerd', trustDomain: 'cluster.local', namespace: 'emojivoto', serviceAccount: 'web' });
    assert.deepEqual(parsePrincipal('spiffe://7d4e.consul/ns/default/dc/dc1/svc/web'), { mesh: 'consul', trustDomain: '7d4e.consul', namespace: 'default', datacenter: 'dc1', service: 'web' });
    assert.equal(parsePrincipal('nonsense'), undefined);
    assert.equal(principalFor('linkerd', 'emojivoto', 'web', 'x'), 'web.emojivoto.serviceaccount.identity.linkerd.cluster.local');
    assert.equal(principalFor('consul', 'default', 'web', 'x'), undefined);
  });

  it('guesses workload names from pod names and services from SNI', () => {
    assert.equal(workloadNameFromPod('shop-gateway-istio-6d5f7b8c9-q7w2e'), 'shop-gateway-istio');
    assert.equal(workloadNameFromPod('db-0'), 'db');
    assert.equal(workloadNameFromPod('standalone'), 'standalone');
    assert.equal(serviceFromSni('outbound_.8000_._.httpbin.foo.svc.cluster.local'), 'httpbin.foo.svc.cluster.local');
    assert.equal(serviceFromSni('api.default.dc1.internal.7d4e1f2a-0b1c-4d2e-9f30-a1b2c3d4e5f6.consul'), 'api');
  });

  it('parses RFC 3339 times fast and exactly', () => {
    const parser = new TimeParser();
    for (const t of ['2025-03-14T09:26:53.412Z', '2025-03-14T09:26:53Z', '2025-03-14T13:00:01.118273645Z', '2025-03-14T09:26:53.412+02:00', '2025-12-31T23:59:59.999Z']) {
      assert.equal(parser.parse(t), Date.parse(t), t);
    }
    assert.ok(Number.isNaN(parser.parse('yesterday')));
    // out of range: refused as Date.parse refuses them, not rolled into the next minute or hour
    for (const t of ['2025-03-14T09:99:53.412Z', '2025-03-14T09:26:99Z', '2025-03-14T09:26:60Z']) assert.ok(Number.isNaN(parser.parse(t)), t);
  });

  it('leaves volatile values out of the shape key', () => {
    const a: AccessRecord = { request: { headers: { 'x-request-id': '1', traceparent: 'x', a: 'b' }, jwt: { issuer: 'i', claims: { exp: 1, sub: 's' } } } };
    const b: AccessRecord = { request: { headers: { a: 'b', 'x-request-id': '2' }, jwt: { issuer: 'i', claims: { sub: 's', exp: 2 } } } };
    assert.equal(shapeKey(a), shapeKey(b));
    assert.notEqual(shapeKey({ source: { principal: null } }), shapeKey({ source: {} }), 'plaintext is not "not recorded"');
  });

  it('keeps calls to or from pods with different labels apart (selectors read them)', () => {
    const cases: [string, AccessRecord, AccessRecord, boolean][] = [
      ['same labels, other order', { destination: { workload: 'w', labels: { app: 'a', v: '1' } } }, { destination: { workload: 'w', labels: { v: '1', app: 'a' } } }, true],
      ['destination label value differs', { destination: { workload: 'w', labels: { app: 'a' } } }, { destination: { workload: 'w', labels: { app: 'b' } } }, false],
      ['destination has an extra label', { destination: { workload: 'w', labels: { app: 'a' } } }, { destination: { workload: 'w', labels: { app: 'a', tier: 'db' } } }, false],
      ['labels against none', { destination: { workload: 'w', labels: { app: 'a' } } }, { destination: { workload: 'w' } }, false],
      ['source labels differ', { source: { workload: 'c', labels: { app: 'x' } } }, { source: { workload: 'c', labels: { app: 'y' } } }, false],
    ];
    for (const [name, a, b, same] of cases) {
      assert.equal(shapeKey(a) === shapeKey(b), same, `${name}: shapeKey`);
      assert.equal(sameShape(a, b), same, `${name}: sameShape`);
      assert.equal(sameShape(b, a), same, `${name}: sameShape reversed`);
    }
  });
});

// ---------------------------------------------------------------------------------------------
// With the real readers

/** Istio JSON lines for `calls` calls: a client-side and a server-side line each, one per file or both in one. */
function envoyJsonCalls(calls: number, seed = 1): { client: string[]; server: string[] } {
  let x = seed;
  const rnd = () => ((x = (Math.imul(x ^ (x >>> 15), 2246822519) + 0x9e3779b9) >>> 0) / 4294967296);
  const client: string[] = [];
  const server: string[] = [];
  const t0 = Date.UTC(2025, 2, 14, 9, 0, 0);
  for (let i = 0; i < calls; i++) {
    const t = t0 + i * 40 + Math.floor(rnd() * 30);
    const path = `/v1/carts/${Math.floor(rnd() * 5)}`;
    const denied = rnd() < 0.1;
    const rid = `rid-${seed}-${i}`;
    const common = { authority: 'cart.shop:80', method: 'GET', path, protocol: 'HTTP/1.1', request_id: rid, user_agent: 'node-fetch/1.0' };
    client.push(JSON.stringify({ ...common, start_time: new Date(t).toISOString(), response_code: denied ? 403 : 200, response_code_details: 'via_upstream', response_flags: '-', upstream_cluster: 'outbound|80||cart.shop.svc.cluster.local', upstream_host: '10.244.0.20:7070', downstream_local_address: '10.96.0.20:80', downstream_remote_address: `10.244.0.10:${40000 + (i % 1000)}` }));
    server.push(JSON.stringify({ ...common, start_time: new Date(t + 2).toISOString(), response_code: denied ? 403 : 200, response_code_details: denied ? 'rbac_access_denied_matched_policy[none]' : 'via_upstream', response_flags: '-', upstream_cluster: denied ? null : 'inbound|7070||', upstream_host: denied ? null : '10.244.0.20:7070', downstream_local_address: '10.244.0.20:7070', downstream_remote_address: `10.244.0.10:${50000 + (i % 1000)}`, requested_server_name: 'outbound_.80_._.cart.shop.svc.cluster.local' }));
  }
  return { client, server };
}

/** Folds the file on line keys (one thread), checks that reading every line in full gives the same result, and returns it. */
async function foldedAsInFull(path: string): Promise<TrafficModel> {
  const withoutPeek = (f: string, sample: string[]): LineReader | undefined => {
    const reader = createReader(detectFormat(sample, f)!);
    return { format: reader.format, read: (line) => reader.read(line) };
  };
  const full = await withReaders([path], { workers: 1, readerFor: withoutPeek });
  const fast = await withReaders([path], { workers: 1 });
  assertAccounting(fast);
  const { durationMs: _a, ...fullStats } = full.stats;
  const { durationMs: _b, ...fastStats } = fast.stats;
  assert.deepEqual(fastStats, fullStats);
  assert.deepEqual(fast.shapes, full.shapes);
  return fast;
}

function withReaders(paths: string[], options: IngestOptions = {}): Promise<TrafficModel> {
  return ingestTraffic(paths, { inventory, config: defaultConfig(dir), ...options });
}

function summary(model: TrafficModel): unknown {
  const s = model.stats;
  return {
    lines: s.lines, parsed: s.parsed, skipped: s.skipped, calls: s.calls, joinedPairs: s.joinedPairs, sourceBy: s.sourceBy, observed: s.observed,
    shapes: Object.fromEntries(model.shapes.map((x) => [shapeKey(x.record), x.count])),
  };
}

describe('ingest with the format readers', () => {
  it('access records: repeated lines count their `count`, and a key whose record is invalid is skipped on every line', async () => {
    const valid = (i: number) => `{"time":"2025-03-14T09:00:0${i}Z","mesh":"istio","protocol":"http","destination":{"port":8080},"request":{"method":"GET","path":"/a"},"count":3}`;
    const invalid = (i: number) => `{"time":"2025-03-14T09:00:0${i}Z","mesh":"istio","destination":{"port":0}}`;
    const lines = [0, 1, 2, 3, 4].flatMap((i) => [valid(i), invalid(i)]);
    const model = await withReaders([file(lines, 'records-repeat.jsonl')], { workers: 1 });
    assert.equal(model.shapes.length, 1);
    assert.equal(model.shapes[0]!.count, 15);
    assert.equal(model.shapes[0]!.firstTime, '2025-03-14T09:00:00Z');
    assert.equal(model.shapes[0]!.lastTime, '2025-03-14T09:00:04Z');
    assert.equal(model.stats.calls, 15);
    assert.equal(model.stats.parsed, 5);
    assert.deepEqual(model.stats.skippedByReason, { 'access record: destination.port must be an integer from 1 to 65535, not number 0': 5 });
    assertAccounting(model);
  });

  it('CRI files ending in P fragments: the joined text of each stream is read at the end, or skipped as unended; every line accounted', async () => {
    const [whole, start, end] = readFileSync(join(FIXTURES, 'traffic', 'formats', 'cri.log'), 'utf8').split('\n');
    const fragment = (line: string) => line.replace(' stdout F ', ' stdout P ');
    const lines = [whole!, start!, fragment(end!), '2025-03-14T13:00:02.510002100Z stderr P 10.42.3.11:38844 books'];
    const model = await withReaders([file(lines, 'cri-cut.log')], { workers: 1 });
    assert.deepEqual([model.stats.lines, model.stats.parsed, model.stats.skippedByReason], [
      4, 2, { 'partial line (joined with the next)': 1, 'partial line at the end of the input (no F line ends it)': 1 },
    ]);
    assert.deepEqual(model.shapes.map((s) => [s.record.observed, s.samples.map((x) => x.line)]).sort(), [['allowed', [1]], ['denied', [3]]]);
    assertAccounting(model);
  });

  it('ztunnel: one call per inbound connection, folded by caller and destination; the outbound side and open events are skipped', async () => {
    const event = (time: string, level: string, message: string, srcPort: number, direction: string, error?: string) =>
      `${time}\t${level}\taccess\t${message}\tsrc.addr=10.244.1.12:${srcPort} src.workload="curl-6d8f9b7c5-k2x9z" src.namespace="default" src.identity="spiffe://cluster.local/ns/default/sa/curl" dst.addr=10.244.1.10:15008 dst.hbone_addr=10.244.1.10:9080 dst.service="productpage.default.svc.cluster.local" dst.workload="productpage-v1-7c9d8f6b5-q4w2e" dst.namespace="default" direction="${direction}"${error ? ` error="${error}"` : ''}`;
    const lines = [
      event('2025-03-14T11:00:01Z', 'debug', 'connection opened', 51402, 'inbound'),
      event('2025-03-14T11:00:01Z', 'info', 'connection complete', 51402, 'outbound'),
      event('2025-03-14T11:00:01Z', 'info', 'connection complete', 51402, 'inbound'),
      event('2025-03-14T11:00:05Z', 'info', 'connection complete', 51500, 'inbound'),
      event('2025-03-14T11:00:09Z', 'error', 'connection complete', 51600, 'inbound', 'connection closed due to policy rejection: allow policies exist, but none allowed'),
    ];
    const model = await withReaders([file(lines, 'ztunnel.log')], { workers: 1 });
    assert.deepEqual(model.stats.files.map((f) => f.format), ['ztunnel']);
    assert.deepEqual(model.shapes.map((s) => [s.count, s.record.observed, s.firstTime, s.lastTime]).sort(), [
      [1, 'denied', '2025-03-14T11:00:09Z', '2025-03-14T11:00:09Z'],
      [2, 'allowed', '2025-03-14T11:00:01Z', '2025-03-14T11:00:05Z'],
    ]);
    assert.equal(model.stats.parsed, 3);
    assert.equal(model.stats.skipped, 2);
    assertAccounting(model);
  });

  it("Linkerd: a proxy's TCP policy events are calls of their own; its HTTP events mark the request's access log line", async () => {
    // `kubectl logs --prefix` of a linkerd-proxy container: access log lines (stderr) and the
    // proxy's own lines (stdout) in one stream (linkerd2-proxy policy/tcp.rs and policy/http.rs).
    const pod = '[pod/cart-5d8f9b7c6-k2x9z/linkerd-proxy]';
    const id = 'frontend.shop.serviceaccount.identity.linkerd.cluster.local';
    const tls = `Some(Established { client_id: Some(ClientId(${id})), negotiated_protocol: None })`;
    const lines = [
      `${pod} [     0.002143s]  INFO ThreadId(01) linkerd2_proxy: Admin interface on 0.0.0.0:4191`,
      `${pod} 10.1.0.5:41000 ${id} - [2025-03-14T13:00:01.000000000Z] "GET http://cart:7070/items HTTP/2.0" 200`,
      `${pod} [  4021.118340s]  INFO ThreadId(02) inbound:server{port=7070}: linkerd_app_inbound::policy::http: Request denied server.group=policy.linkerd.io server.kind=server server.name=cart-http route.group= route.kind=default route.name=default client.tls=${tls} client.ip=10.1.0.5`,
      `${pod} 10.1.0.5:41002 ${id} - [2025-03-14T13:00:02.000000000Z] "DELETE http://cart:7070/items HTTP/2.0" 403`,
      // a gRPC request the policy refused: the access log shows 200 (grpc-status 7 is in the trailers)
      `${pod} [  4021.5s]  INFO ThreadId(02) inbound:server{port=7070}: linkerd_app_inbound::policy::http: Request denied server.group=policy.linkerd.io server.kind=server server.name=cart-http route.group= route.kind=default route.name=default client.tls=${tls} client.ip=10.1.0.5`,
      `${pod} 10.1.0.5:41004 ${id} - [2025-03-14T13:00:03.000000000Z] "POST http://cart:7070/cart.v1.Cart/Empty HTTP/2.0" 200`,
      `${pod} [  4022.5s]  INFO ThreadId(03) inbound:server{port=9000}: linkerd_app_inbound::policy::tcp: Connection denied server.group= server.kind=default server.name=all-authenticated tls=None(NoClientHello) client=10.9.9.9:5000`,
      `${pod} [  4023.5s]  INFO ThreadId(03) inbound:server{port=9000}: linkerd_app_inbound::policy::tcp: Connection denied server.group= server.kind=default server.name=all-authenticated tls=None(NoClientHello) client=10.9.9.9:5001`,
      `${pod} [  4024.5s]  INFO ThreadId(03) inbound:server{port=9000}: linkerd_app_inbound::policy::tcp: Request allowed server.group= server.kind=default server.name=audit client.tls=${tls} client.ip=10.1.0.5 authz.group= authz.kind=default authz.name=audit`,
    ];
    const model = await withReaders([file(lines, 'cart-proxy.log')], { workers: 1 });
    assert.deepEqual(model.stats.files.map((f) => f.format), ['linkerd-apache']);
    const calls = model.shapes.map((s) => [s.count, s.record.protocol, s.record.observed, s.record.response?.details ?? null, s.record.destination?.workload, s.record.destination?.port ?? null, s.record.source?.principal ?? null]).sort();
    assert.deepEqual(calls, [
      [1, 'grpc', 'denied', 'linkerd_grpc_permission_denied', 'cart', 7070, id],
      [1, 'http2', 'allowed', null, 'cart', 7070, id],
      [1, 'http2', 'denied', 'linkerd_policy_403', 'cart', 7070, id],
      [1, 'tcp', 'allowed', 'linkerd_audit_allowed', 'cart', 9000, id],
      [2, 'tcp', 'denied', 'linkerd_connection_denied', 'cart', 9000, null],
    ]);
    assert.equal(model.stats.parsed, 6);
    assert.equal(model.stats.skipped, 3);
    assertAccounting(model);
  });

  it('a field named __proto__ (a header, a claim) is kept as a field of the shape\'s record, not taken as its prototype', async () => {
    const line = (i: number) => `{"time":"2025-03-14T09:00:0${i}Z","mesh":"istio","protocol":"http","destination":{"port":8080},"request":{"method":"GET","path":"/a","headers":{"__proto__":"a value","x-a":"1"},"jwt":{"valid":true,"issuer":"https://issuer.example","claims":{"__proto__":{"role":"admin"},"sub":"me"}}}}`;
    const model = await withReaders([file([line(0), line(1)], 'records-proto.jsonl')], { workers: 1 });
    assert.equal(model.shapes.length, 1);
    const request = model.shapes[0]!.record.request!;
    assert.equal(model.shapes[0]!.count, 2);
    assert.deepEqual(Object.keys(request.headers!), ['__proto__', 'x-a']);
    assert.equal(Object.getOwnPropertyDescriptor(request.headers, '__proto__')?.value, 'a value');
    assert.equal(Object.getPrototypeOf(request.headers), Object.prototype);
    const claims = request.jwt!.claims as Record<string, unknown>;
    assert.deepEqual(Object.getOwnPropertyDescriptor(claims, '__proto__')?.value, { role: 'admin' });
    assert.equal(Object.getPrototypeOf(claims), Object.prototype);
    assert.equal((claims as { role?: unknown }).role, undefined);
  });

  it('claims that differ only under a nested key named __proto__ are two shapes, not one', async () => {
    const line = (role: string) => `{"time":"2025-03-14T09:00:00Z","mesh":"istio","protocol":"http","destination":{"port":8080},"request":{"method":"GET","path":"/a","jwt":{"valid":true,"issuer":"https://issuer.example","claims":{"org":{"__proto__":{"role":"${role}"}}}}}}`;
    const model = await withReaders([file([line('admin'), line('guest'), line('admin')], 'records-nested-proto.jsonl')], { workers: 1 });
    assert.deepEqual(model.shapes.map((s) => s.count), [2, 1]);
  });

  it("keeps each shape's first and last time exactly as its lines wrote them, sub-millisecond digits included", async () => {
    const line = (time: string, path = '/api/v1/x') => `10.40.163.11:34765 search-8.platform.serviceaccount.identity.linkerd.cluster.local - [${time}] "GET http://fraud-8.identity.svc.cluster.local:8080${path} HTTP/1.1" 200`;
    // per shape, its lines' times in log order: nanoseconds across an hour, microseconds, a
    // fraction shorter than milliseconds, seconds only
    const times: Record<string, string[]> = {
      '/a': ['2025-03-14T08:59:59.999000001Z', '2025-03-14T09:00:00.000000009Z', '2025-03-14T09:00:01.123456Z'],
      '/b': ['2025-03-14T09:00:01.5Z', '2025-03-14T09:00:02.1234567Z', '2025-03-14T09:00:03.25Z'],
      '/c': ['2025-03-14T09:00:04Z', '2025-03-14T09:00:05.000100000Z'],
    };
    const lines = Object.entries(times).flatMap(([path, list]) => list.map((t) => line(t, path)));
    const model = await withReaders([file(lines, 'linkerd-times.log')], { workers: 1 });
    assert.equal(model.shapes.length, 3);
    for (const shape of model.shapes) {
      const list = times[shape.record.request!.path!]!;
      assert.equal(shape.firstTime, list[0]);
      assert.equal(shape.lastTime, list[list.length - 1]);
      assert.equal(shape.record.time, list[0]);
    }
  });

  it('reads one file with worker threads exactly as on one thread, line numbers included', async () => {
    const { client, server } = envoyJsonCalls(3000);
    const lines: string[] = [];
    client.forEach((c, i) => lines.push(c, server[i]!));
    lines.splice(1234, 0, 'not a log line', '');
    const path = file(lines, 'parallel.log');
    const one = await withReaders([path], { workers: 1 });
    const two = await withReaders([path], { workers: 2, parallelThreshold: 0 });
    assert.equal(one.stats.workers, 1);
    assert.equal(two.stats.workers, 2);
    assert.deepEqual(summary(two), summary(one));
    assert.equal(one.stats.joinedPairs, 3000);
    assertAccounting(two);
    const text = lines;
    for (const shape of two.shapes) {
      for (const sample of shape.samples) {
        assert.ok(text[sample.line - 1]!.includes(`"path":"${shape.record.request!.path}"`), `${sample.file}:${sample.line} is a line of the shape`);
      }
    }
  });

  it('reads a CRI file with worker threads without cutting it between a P fragment and the F line that ends it', async () => {
    const [whole] = readFileSync(join(FIXTURES, 'traffic', 'formats', 'cri.log'), 'utf8').split('\n');
    const body = whole!.slice(whole!.indexOf(' stdout F ') + ' stdout F '.length);
    const half = Math.floor(body.length / 2);
    const criFile = (pairs: number): string[] => Array.from({ length: pairs }, (_, i) => {
      const time = `2025-03-14T09:26:53.${String(i).padStart(9, '0')}Z`;
      return [`${time} stdout P ${body.slice(0, half)}`, `${time} stdout F ${body.slice(half)}`];
    }).flat();
    // a file whose middle falls in a P line, so that the first line start after it follows a fragment
    let lines: string[] = [];
    for (let pairs = 20; pairs < 40 && lines.length === 0; pairs++) {
      const candidate = criFile(pairs);
      const text = candidate.join('\n') + '\n';
      const middle = Math.floor(Buffer.byteLength(text) / 2);
      const nextStart = text.indexOf('\n', middle) + 1;
      if (text.slice(text.lastIndexOf('\n', nextStart - 2) + 1, nextStart).includes(' stdout P ')) lines = candidate;
    }
    assert.ok(lines.length > 0);
    const path = file(lines, 'cri-parallel.log');
    const offsets = await splitOffsets(path, statSync(path).size, 2);
    const text = readFileSync(path, 'latin1');
    for (const cut of offsets.slice(1, -1)) assert.match(text.slice(cut, cut + 60), / stdout P /, `the range at ${cut} starts with a fragment`);
    const one = await withReaders([path], { workers: 1 });
    const two = await withReaders([path], { workers: 2, parallelThreshold: 0 });
    assert.equal(two.stats.workers, 2);
    assert.deepEqual(summary(two), summary(one));
    assert.deepEqual([two.stats.parsed, two.stats.skippedByReason], [lines.length / 2, { 'partial line (joined with the next)': lines.length / 2 }]);
    assertAccounting(two);
  });

  it('folds lines on their keys exactly as reading every line in full would', async () => {
    const { client, server } = envoyJsonCalls(2000, 11);
    const lines: string[] = [];
    // pairs, lines alone, retries of a joined request, and lines the fast path leaves to the full read
    client.forEach((c, i) => {
      lines.push(c, server[i]!);
      if (i % 7 === 0) lines.push(server[i]!.replace(/"start_time":"[^"]*"/, `"start_time":"${new Date(Date.UTC(2025, 2, 14, 9, 0, 0) + i * 40 + 35).toISOString()}"`));
      if (i % 11 === 0) lines.push(server[i]!.replace(/"request_id":"[^"]*"/, '"request_id":null'));
      if (i % 13 === 0) lines.push(c.replace('node-fetch/1.0', 'node \\"fetch\\"'));
    });
    const fast = await foldedAsInFull(file(lines, 'keys.log'));
    assert.ok(fast.stats.join.reused > 0 && fast.stats.joinedPairs > 0 && fast.stats.join.unmatched > 0, 'retries, pairs and lines alone');
  });

  it('keeps calls that differ only in their Istio dry-run results apart, on line keys as in full', async () => {
    // JSON keys named as the RBAC filters' metadata keys (docs/access-records.md, "Making logs complete")
    const base = { method: 'GET', path: '/v1/carts/1', protocol: 'HTTP/1.1', response_code: 200, response_code_details: 'via_upstream', authority: 'cart.shop:80', upstream_cluster: 'inbound|7070||', upstream_host: '10.244.0.20:7070', downstream_local_address: '10.244.0.20:7070', downstream_remote_address: '10.244.0.10:50000', requested_server_name: 'outbound_.80_._.cart.shop.svc.cluster.local', source_principal: 'spiffe://cluster.local/ns/shop/sa/frontend' };
    const variants: [Record<string, string>, unknown][] = [
      [{}, undefined],
      [{ istio_dry_run_deny_shadow_engine_result: 'denied', istio_dry_run_deny_shadow_effective_policy_id: 'ns[shop]-policy[deny-carts-dry-run]-rule[0]' }, { deny: { result: 'denied', policy: 'shop/deny-carts-dry-run' } }],
      [{ istio_dry_run_deny_shadow_engine_result: 'denied', istio_dry_run_deny_shadow_effective_policy_id: 'ns[shop]-policy[other-dry-run]-rule[0]' }, { deny: { result: 'denied', policy: 'shop/other-dry-run' } }],
      [{ istio_dry_run_deny_shadow_engine_result: 'allowed' }, { deny: { result: 'allowed' } }],
      [{ istio_dry_run_allow_shadow_engine_result: 'allowed' }, { allow: { result: 'allowed' } }],
      [{ istio_dry_run_allow_shadow_engine_result: 'denied' }, { allow: { result: 'denied' } }],
    ];
    // each variant three times, interleaved, at other times and with other request ids (lines of a kept key, and lines that wait to be joined)
    const lines: string[] = [];
    for (let round = 0; round < 3; round++) variants.forEach(([fields], i) => lines.push(JSON.stringify({ ...base, start_time: at(round * 10 + i), request_id: `dry-${round}-${i}`, ...fields })));
    const model = await foldedAsInFull(file(lines, 'dry-run.log'));
    const byDryRun = (list: unknown[]) => list.map((x) => JSON.stringify(x ?? null)).sort();
    assert.deepEqual(byDryRun(model.shapes.map((x) => x.record.response?.dryRun)), byDryRun(variants.map(([, dryRun]) => dryRun)));
    assert.deepEqual(model.shapes.map((x) => x.count), [3, 3, 3, 3, 3, 3]);

    const records = variants.map(([fields]) => createReader('envoy-json').read(JSON.stringify({ ...base, ...fields })) as ParsedLine);
    for (let i = 0; i < records.length; i++) {
      for (let k = 0; k < records.length; k++) {
        assert.equal(sameShape(records[i]!.record, records[k]!.record), i === k, `sameShape ${i} ${k}`);
        assert.equal(shapeKey(records[i]!.record) === shapeKey(records[k]!.record), i === k, `shapeKey ${i} ${k}`);
      }
    }
  });

  it('joins waiting lines by their keys alone: the same hop joins, another method, host or path does not', async () => {
    const { client, server } = envoyJsonCalls(600, 5);
    const lines: string[] = [];
    client.forEach((c, i) => {
      // the client line waits (its record rebuilt from its key when the call is folded)
      lines.push(c);
      const s = server[i]!;
      if (i % 5 === 1) lines.push(s.replace(/"path":"([^"]*)"/, '"path":"$1/other"'));
      else if (i % 5 === 2) lines.push(s.replace('"authority":"cart.shop:80"', '"authority":"cart.shop:81"'));
      else if (i % 5 === 3) lines.push(s.replace('"method":"GET"', '"method":"PUT"'));
      else if (i % 10 === 4) lines.push(s.replace('"authority":"cart.shop:80",', ''));
      else lines.push(s);
    });
    const fast = await foldedAsInFull(file(lines, 'hops.log'));
    // pairs: the 180 calls whose server side asked for the same hop (i % 5 = 0, i % 10 = 9)
    assert.equal(fast.stats.joinedPairs, 180);
  });

  it('folds the same when every batch is a line or two (waiting lines compacted at each batch end)', async () => {
    const { client, server } = envoyJsonCalls(400, 7);
    const lines: string[] = [];
    // new keys (their lines wait with a copy of their parts), pairs in both orders, other hops,
    // and server sides that come several lines after their client side
    client.forEach((c, i) => {
      const s = server[i]!;
      if (i % 4 === 0) lines.push(s, c);
      else if (i % 4 === 1) lines.push(c, s.replace('"method":"GET"', '"method":"PUT"'));
      else if (i % 4 === 2) lines.push(c);
      else lines.push(c, s);
      if (i % 4 === 3 && i >= 3) lines.push(server[i - 1]!);
    });
    const path = file(lines, 'batches.log');
    const reader = () => createReader(detectFormat(lines.slice(0, 20), 'batches.log')!);
    const fold = async (chunkBytes: number | undefined) => {
      const folder = new Folder(new Resolver({ index: InventoryIndex.of(inventory), trustDomain: 'cluster.local', defaultMesh: 'istio' }), { joinWindowMs: 60_000, maxPending: 100_000, maxSamples: 3 });
      await foldTasks([{ task: { id: 0, path, gzip: false }, reader: reader() }], folder, chunkBytes === undefined ? {} : { chunkBytes });
      return { shapes: folder.table.finish([path]), join: folder.join };
    };
    const whole = await fold(undefined);
    const small = await fold(300);
    assert.ok(whole.join.joinedPairs > 200 && whole.join.unmatched > 100, JSON.stringify(whole.join));
    assert.deepEqual(small.join, whole.join);
    assert.deepEqual(small.shapes, whole.shapes);
  });

  it('reads a file with readers.envoyFormat when its lines fit the format, with no readers.format', async () => {
    // Istio's default JSON access log (spec §2.1)
    const ISTIO_JSON_LINE = '{"authority":"httpbin.foo:8000","bytes_received":0,"bytes_sent":19,"downstream_local_address":"10.244.2.23:8080","downstream_remote_address":"10.244.2.21:40330","method":"GET","path":"/get","protocol":"HTTP/1.1","request_id":"c41e93d2-77aa-4f2e-8d05-1b6e2f9a0c33","response_code":403,"response_code_details":"rbac_access_denied_matched_policy[none]","start_time":"2025-03-14T09:27:31.870Z","upstream_cluster":null}';
    const text = '%START_TIME(%s)% %REQ(:METHOD)% %REQ(:PATH)% %RESPONSE_CODE% %DOWNSTREAM_PEER_URI_SAN%';
    const json = '{"ts":"%START_TIME%","m":"%REQ(:METHOD)%","p":"%REQ(:PATH)%","code":"%RESPONSE_CODE%"}';
    const cases: { name: string; envoyFormat: string; lines: string[]; parsed: number }[] = [
      { name: 'text format', envoyFormat: text, lines: ['1767607200 GET /a 200 spiffe://cluster.local/ns/shop/sa/web', '1767607201 POST /b 403 spiffe://cluster.local/ns/shop/sa/web'], parsed: 2 },
      { name: 'JSON format', envoyFormat: json, lines: ['{"ts":"2026-01-05T10:00:00Z","m":"GET","p":"/a","code":200}', '{"ts":"2026-01-05T10:00:01Z","m":"GET","p":"/b","code":200}'], parsed: 2 },
      // a file in another format is still detected as before
      { name: 'default Istio JSON beside a text format', envoyFormat: text, lines: [ISTIO_JSON_LINE, ISTIO_JSON_LINE], parsed: 2 },
    ];
    for (const { name, envoyFormat, lines, parsed } of cases) {
      const path = file(lines, `custom-format-${fileCount}.log`);
      const model = await ingestTraffic([path], { inventory, config: { ...defaultConfig(dir), readers: { envoyFormat } }, workers: 1 });
      assert.equal(model.stats.parsed, parsed, `${name}: ${JSON.stringify(model.stats.skippedByReason)}`);
      assert.equal(model.stats.skipped, 0, name);
    }
  });

  it('reads on one thread unless workers are asked for, by option or by readers.workers of the configuration', async () => {
    const { client, server } = envoyJsonCalls(1500, 5);
    const path = file([...client, ...server], 'workers-default.log');
    // (parallelThreshold 0: the file is large enough for workers; only the setting decides)
    const byDefault = await ingestTraffic([path], { inventory, config: defaultConfig(dir), parallelThreshold: 0 });
    const configured = await ingestTraffic([path], { inventory, config: { ...defaultConfig(dir), readers: { workers: 2 } }, parallelThreshold: 0 });
    const overridden = await ingestTraffic([path], { inventory, config: { ...defaultConfig(dir), readers: { workers: 2 } }, workers: 1, parallelThreshold: 0 });
    assert.deepEqual([byDefault.stats.workers, configured.stats.workers, overridden.stats.workers], [1, 2, 1]);
    assert.deepEqual(summary(configured), summary(byDefault));
    assert.deepEqual(readerSettingProblems({ ...defaultConfig(dir), readers: { workers: 0.5 } }), ['readers.workers must be a positive whole number of threads (got 0.5); logs are read on one thread']);
    const invalid = await ingestTraffic([path], { inventory, config: { ...defaultConfig(dir), readers: { workers: 'many' } }, parallelThreshold: 0 });
    assert.equal(invalid.stats.workers, 1);
  });

  it('joins the two sides of calls logged in two files, also across worker slices', async () => {
    const { client, server } = envoyJsonCalls(2500, 7);
    const clientFile = file(client.map((l) => `[pod/frontend-6d5f7b8c9-aaaaa/istio-proxy] ${l}`), 'client-side.log');
    const serverFile = file(server, 'server-side.log');
    const one = await withReaders([clientFile, serverFile], { workers: 1 });
    const two = await withReaders([clientFile, serverFile], { workers: 2, parallelThreshold: 0 });
    assert.equal(one.stats.joinedPairs, 2500);
    assert.deepEqual(one.stats.sourceBy, { join: 2500 });
    assert.deepEqual(summary(two), summary(one));
    assertAccounting(two);
  });

  it('stops the worker threads when cancelled', async () => {
    const { client, server } = envoyJsonCalls(4000, 3);
    const path = file([...client, ...server], 'cancel-parallel.log');
    const controller = new AbortController();
    await assert.rejects(
      withReaders([path], { workers: 2, parallelThreshold: 0, signal: controller.signal, onProgress: (p) => { if (p.lines > 0) controller.abort(); } }),
      (error: Error) => error.name === 'AbortError',
    );
  });

  it('joins TCP connections on their addresses', async () => {
    const td = '7d4e.consul';
    const out = JSON.stringify({ start_time: '2025-03-14T14:00:00.000Z', method: null, path: null, protocol: null, response_code: 0, response_flags: '-', upstream_cluster: `counting.default.dc1.internal.${td}`, upstream_host: '10.244.0.20:20000', downstream_remote_address: '10.244.0.10:41000', downstream_local_address: '240.0.0.2:9001', request_id: null, connection_termination_details: null });
    const inb = JSON.stringify({ start_time: '2025-03-14T14:00:00.001Z', method: null, path: null, protocol: null, response_code: 0, response_flags: '-', upstream_cluster: 'local_app', upstream_host: '127.0.0.1:9001', downstream_remote_address: '10.244.0.10:41002', downstream_local_address: '10.244.0.20:20000', requested_server_name: `counting.default.dc1.internal.${td}`, request_id: null, connection_termination_details: null });
    const model = await withReaders([file([`[pod/frontend-6d5f7b8c9-aaaaa/consul-dataplane] ${out}`, inb], 'tcp.log')]);
    assert.equal(model.stats.tcpPairs, 1);
    assert.equal(model.stats.calls, 1);
    const shape = model.shapes[0]!;
    assert.equal(shape.record.protocol, 'tcp');
    assert.equal(shape.record.observed, 'allowed');
    assert.equal(shape.record.source!.workload, 'frontend');
    assert.equal(shape.record.source!.namespace, undefined, 'Consul namespaces are not Kubernetes namespaces');
  });

  it('adds the call a gateway received, from the gateway\'s own client-side line', async () => {
    const gw = readSource('gw.yaml', 'apiVersion: gateway.networking.k8s.io/v1\nkind: Gateway\nmetadata: {name: shop-gateway, namespace: shop}\nspec:\n  gatewayClassName: istio\n  listeners: [{name: http, port: 80, protocol: HTTP}]\n');
    const withGateway = buildInventory([readSource('shop.yaml', MANIFESTS), gw]);
    const line = JSON.stringify({ start_time: '2025-03-14T09:00:00.000Z', authority: 'shop.example.com', method: 'GET', path: '/products', protocol: 'HTTP/1.1', request_id: 'g1', response_code: 200, response_code_details: 'via_upstream', response_flags: '-', upstream_cluster: 'outbound|80||frontend.shop.svc.cluster.local', upstream_host: '10.244.0.10:8080', downstream_remote_address: '203.0.113.9:5555', downstream_local_address: '10.244.0.5:80' });
    const model = await withReaders([file([`[pod/shop-gateway-istio-6d5f7b8c9-q7w2e/istio-proxy] ${line}`], 'gw.log')], { inventory: withGateway });
    assert.equal(model.stats.gatewayLegs, 1);
    assert.equal(model.stats.calls, 2);
    const leg = model.shapes.find((s) => s.record.destination?.workload === 'shop-gateway-istio')!;
    assert.equal(leg.record.source!.ip, '203.0.113.9');
    assert.equal(leg.record.destination!.port, 80);
    assert.equal(leg.record.observed, 'allowed');
    const upstream = model.shapes.find((s) => s.record.destination?.workload === 'frontend')!;
    assert.equal(upstream.record.source!.principal, 'cluster.local/ns/shop/sa/shop-gateway-istio');
    assertAccounting(model);
  });

  it('detects the format past long first lines: each line up to the line limit is read, a longer one skipped', async () => {
    const line = (i: number, userAgent = 'curl/8') => JSON.stringify({ start_time: `2025-03-14T09:00:${String(i % 60).padStart(2, '0')}.000Z`, authority: 'cart.shop:80', method: 'GET', path: '/x', protocol: 'HTTP/1.1', user_agent: userAgent, response_code: 200, response_code_details: 'via_upstream', upstream_cluster: 'inbound|7070||', downstream_local_address: '10.244.0.20:7070', downstream_remote_address: '10.244.0.10:1' });
    const normal = Array.from({ length: 20 }, (_, i) => line(i));
    const long = (bytes: number) => line(0, 'x'.repeat(bytes));
    const cases: { name: string; lines: string[]; parsed: number; skipped: Record<string, number> }[] = [
      { name: 'a 300 KB first line', lines: [long(300_000), ...normal], parsed: 21, skipped: {} },
      { name: 'a 1 MB first line', lines: [long(1 << 20), ...normal], parsed: 21, skipped: {} },
      { name: 'ten 1 MB lines', lines: Array.from({ length: 10 }, () => long(1 << 20)), parsed: 10, skipped: {} },
      { name: 'a first line over the limit', lines: [long(MAX_LINE_BYTES + 1), ...normal], parsed: 20, skipped: { 'line too long': 1 } },
    ];
    for (const c of cases) {
      const model = await withReaders([file(c.lines, `long-${fileCount}.log`)]);
      assert.equal(model.stats.files[0]!.format, 'envoy-json', c.name);
      assert.equal(model.stats.parsed, c.parsed, c.name);
      assert.deepEqual(model.stats.skippedByReason, c.skipped, c.name);
      assert.deepEqual(model.stats.problems, [], c.name);
      assertAccounting(model);
    }
  });

  it('folds on the key headers only, when asked', async () => {
    const lines = ['curl/8', 'wget/1', 'curl/8'].map((ua, i) => JSON.stringify({ start_time: `2025-03-14T09:00:0${i}.000Z`, authority: 'cart.shop:80', method: 'GET', path: '/x', protocol: 'HTTP/1.1', user_agent: ua, response_code: 200, response_code_details: 'via_upstream', upstream_cluster: 'inbound|7070||', downstream_local_address: '10.244.0.20:7070', downstream_remote_address: '10.244.0.10:1' }));
    const path = file(lines, 'headers.log');
    assert.equal((await withReaders([path])).shapes.length, 2);
    assert.equal((await withReaders([path], { keyHeaders: ['x-tenant'] })).shapes.length, 1);
  });
});

describe('the example logs', () => {
  const examples = join(__dirname, '..', '..', ...(__dirname.includes(join('out', 'test')) ? ['..'] : []), '..', 'examples');
  const load = (mesh: string) => {
    const files = collectTrafficFiles([join(examples, mesh)], { ...defaultConfig(examples), traffic: ['**/*.yaml'] }).files;
    return buildInventory(files.map((f) => readSource(f, require('node:fs').readFileSync(f, 'utf8'))));
  };

  for (const mesh of ['istio', 'linkerd', 'consul']) {
    it(`${mesh}: every line accounted for, calls resolved as documented`, async () => {
      const model = await ingestTraffic([join(examples, mesh, 'traffic')], { inventory: load(mesh), config: defaultConfig(examples) });
      assertAccounting(model);
      assert.ok(model.stats.lines >= 3000, `${model.stats.lines} lines`);
      assert.ok(model.stats.skipped >= 3, 'a few malformed lines');
      assert.ok((model.stats.observed['denied'] ?? 0) > 0, 'denials');
      assert.deepEqual(model.stats.problems, []);
      assert.equal(model.stats.destinationBy.unresolved ?? 0, 0);
      if (mesh === 'istio') {
        const denied = model.shapes.find((s) => s.record.request?.method === 'POST' && s.record.request.path === '/v1/carts')!;
        assert.equal(denied.record.source!.principal, 'cluster.local/ns/shop/sa/frontend');
        assert.equal(denied.record.destination!.port, 7070);
        assert.equal(denied.record.observed, 'denied');
        assert.ok(model.stats.unresolvedSourceByReason['no caller identity in the line, and the inventory has no pod IPs']! > 0, 'unknown callers');
      }
      if (mesh === 'linkerd') {
        assert.deepEqual(model.stats.sourceBy, { line: model.stats.calls });
        const probe = model.shapes.find((s) => s.record.request?.path === '/healthz')!;
        assert.equal(probe.record.source!.principal, null);
        assert.equal(probe.record.destination!.port, 8080, 'Service port http → container port 8080');
      }
      if (mesh === 'consul') {
        assert.ok(model.stats.tcpPairs > 0);
        assert.ok(model.shapes.some((s) => s.record.response?.details === 'rbac_access_denied_matched_policy[consul-intentions-layer7-0]'));
      }
    });

    it(`${mesh}: worker threads give the same shapes, counts and joins as one thread`, async () => {
      const inventory = load(mesh);
      const read = (workers: number) => ingestTraffic([join(examples, mesh, 'traffic')], { inventory, config: defaultConfig(examples), workers, parallelThreshold: 0 });
      const [one, two] = [await read(1), await read(2)];
      assert.equal(one.stats.workers, 1);
      assert.ok(two.stats.workers > 1, 'the parallel path ran');
      assertAccounting(two);
      const facts = (m: TrafficModel) => ({
        ...(summary(m) as object),
        gatewayLegs: m.stats.gatewayLegs, tcpPairs: m.stats.tcpPairs, join: m.stats.join, destinationBy: m.stats.destinationBy,
        perShape: Object.fromEntries(m.shapes.map((s) => [shapeKey(s.record), { count: s.count, joined: s.joined, sourceBy: s.sourceBy, destinationBy: s.destinationBy, first: s.firstTime, last: s.lastTime }])),
      });
      assert.deepEqual(facts(two), facts(one));
    });
  }
});

describe('mesh-policy traffic', () => {
  const root = join(__dirname, '..', '..', ...(__dirname.includes(join('out', 'test')) ? ['..'] : []), '..');
  async function cli(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
    let stdout = '';
    let stderr = '';
    const code = await runTrafficCli(args, { stdout: (t) => { stdout += `${t}\n`; }, stderr: (t) => { stderr += `${t}\n`; }, cwd: root });
    return { code, stdout, stderr };
  }

  it('prints what was read, resolved and skipped, per file and reason, then the top shapes', async () => {
    const result = await cli(['examples/istio/traffic', '--inventory', 'examples/istio', '--top', '5']);
    assert.equal(result.code, 0, result.stderr);
    for (const section of ['Files:', 'Skipped lines:', 'Calls:', 'Caller resolved by:', 'Unresolved callers, why:', 'Destination resolved by:', 'Top 5 of']) {
      assert.ok(result.stdout.includes(section), section);
    }
    assert.match(result.stdout, /examples\/istio\/traffic\/gateway\.log\s+envoy-json/);
    assert.match(result.stdout, /not an Envoy access log line/);
  });

  it('a number option out of its range, a fraction or no number at all is a usage error that says what it takes', async () => {
    const cases: [string, string, RegExp][] = [
      ['--top', '', /--top must be a whole number, 0 or more \(got ""\)/],
      ['--top', '-1', /--top must be a whole number, 0 or more/],
      ['--max-lines', '1.5', /--max-lines must be a whole number from 1 \(got "1\.5"\)/],
      ['--workers', '0x2', /--workers must be a whole number from 1/],
      ['--workers', '0', /--workers must be a whole number from 1/],
      ['--join-window', '0.5', /--join-window must be a number of seconds, 1 or more/],
    ];
    for (const [flag, value, message] of cases) {
      const result = await cli(['examples/istio/traffic', `${flag}=${value}`]);
      assert.equal(result.code, 2, `${flag}=${value}`);
      assert.match(result.stderr, message);
    }
    assert.equal((await cli(['examples/istio/traffic', '--no-inventory', '--join-window', '1.5', '--top', '0'])).code, 0);
  });

  it('prints one access record per shape as JSON Lines, which reads back as the same calls', async () => {
    const result = await cli(['examples/linkerd/traffic', '--inventory', 'examples/linkerd', '--format', 'jsonl']);
    assert.equal(result.code, 0, result.stderr);
    const records = result.stdout.trim().split('\n').map((l) => JSON.parse(l) as AccessRecord);
    assert.ok(records.every((r) => r.mesh === 'linkerd' && typeof r.count === 'number' && r.time));
    assert.match(result.stderr, /Calls: [\d,]+ in [\d,]+ shapes?/);
    const back = join(dir, 'records.jsonl');
    writeFileSync(back, result.stdout);
    const again = await ingestTraffic([back], { inventory: emptyInventory(), config: defaultConfig(dir) });
    assert.equal(again.stats.skipped, 0);
    assert.equal(again.stats.parsed, records.length);
    assert.equal(again.shapes.length, records.length);
    assert.equal(again.stats.calls, records.reduce((n, r) => n + (r.count ?? 1), 0), 'a record with a count stands for that many calls');
    assertAccounting(again);
  });

  it('JSON Lines: counts past 2^53 - 1 are written as more records of the same call, which read back; the totals stop there and say so', async () => {
    const MAX = Number.MAX_SAFE_INTEGER;
    const record = (count: number) => JSON.stringify({ mesh: 'istio', protocol: 'http', request: { method: 'GET', path: '/x' }, observed: 'allowed', count });
    const first = await cli([file([record(MAX), record(MAX), record(5)], 'huge-counts.jsonl'), '--no-inventory', '--format', 'jsonl']);
    assert.equal(first.code, 0, first.stderr);
    const counts = (stdout: string) => stdout.trim().split('\n').map((l) => (JSON.parse(l) as AccessRecord).count);
    assert.deepEqual(counts(first.stdout), [MAX, MAX, 5]);
    assert.match(first.stderr, /the calls add up to more than 9007199254740991 \(2\^53 - 1, the largest count kept exactly\): the totals of calls .* stop at 9007199254740991; each shape's count is exact/);
    const again = await cli([file([first.stdout.trim()], 'huge-counts-again.jsonl'), '--no-inventory', '--format', 'jsonl']);
    assert.equal(again.code, 0, again.stderr);
    assert.doesNotMatch(again.stderr, /must be an integer/);
    assert.deepEqual(counts(again.stdout), [MAX, MAX, 5]);
    const model = await withReaders([file([record(MAX), record(MAX)], 'huge-counts-model.jsonl')], { workers: 1 });
    assert.equal(model.stats.skipped, 0);
    assert.deepEqual(model.shapes.map((s) => s.count), [MAX, MAX]);
    assert.equal(model.stats.calls, MAX);
    assert.deepEqual(model.stats.observed, { allowed: MAX });
    assert.equal(model.stats.extraCalls, MAX);
    assert.equal(model.stats.problems.length, 1);
  });

  it('JSON Lines: a part no line named is left out, not printed as {} (an access record prints back as itself)', async () => {
    const record = { mesh: 'istio', protocol: 'http', request: { method: 'GET', path: '/x' }, observed: 'allowed', count: 1 };
    const linkerd = '10.42.1.15:48212 web.emojivoto.serviceaccount.identity.linkerd.cluster.local - [2026-02-10T12:00:01.000000001Z] "GET http://web-svc.emojivoto:80/api/unknown HTTP/2.0" 404';
    const records = await cli([file([JSON.stringify(record)], 'bare-record.jsonl'), '--no-inventory', '--format', 'jsonl']);
    assert.equal(records.code, 0, records.stderr);
    assert.deepEqual(records.stdout.trim().split('\n').map((l) => JSON.parse(l) as unknown), [record]);
    const apache = await cli([file([linkerd], 'no-writer.log'), '--no-inventory', '--format', 'jsonl']);
    assert.equal(apache.code, 0, apache.stderr);
    assert.deepEqual(JSON.parse(apache.stdout.trim()), {
      time: '2026-02-10T12:00:01.000000001Z',
      mesh: 'linkerd',
      protocol: 'http2',
      source: { principal: 'web.emojivoto.serviceaccount.identity.linkerd.cluster.local', namespace: 'emojivoto', serviceAccount: 'web', ip: '10.42.1.15' },
      // (the apache format records no request header)
      request: { method: 'GET', path: '/api/unknown', host: 'web-svc.emojivoto:80', recordedHeaders: [] },
      response: { status: 404 },
      observed: 'unknown',
      count: 1,
    });
  });

  it('prints Istio dry-run results: in JSON Lines as response.dryRun, which reads back the same, and beside the outcome in text', async () => {
    const line = (second: number, fields: object) => JSON.stringify({ start_time: at(second), method: 'GET', path: '/v1/carts/1', protocol: 'HTTP/1.1', response_code: 200, response_code_details: 'via_upstream', authority: 'cart.shop:80', upstream_cluster: 'inbound|7070||', upstream_host: '10.244.0.20:7070', downstream_local_address: '10.244.0.20:7070', downstream_remote_address: '10.244.0.10:50000', source_principal: 'spiffe://cluster.local/ns/shop/sa/frontend', ...fields });
    const path = file([
      line(1, { istio_dry_run_deny_shadow_engine_result: 'denied', istio_dry_run_deny_shadow_effective_policy_id: 'ns[shop]-policy[deny-carts-dry-run]-rule[0]', istio_dry_run_allow_shadow_engine_result: 'denied' }),
      line(2, { istio_dry_run_deny_shadow_engine_result: 'denied', istio_dry_run_deny_shadow_effective_policy_id: 'ns[shop]-policy[deny-carts-dry-run]-rule[0]', istio_dry_run_allow_shadow_engine_result: 'denied' }),
      line(3, {}),
    ], 'dry-run-cli.log');
    const expected = [{ allow: { result: 'denied' }, deny: { result: 'denied', policy: 'shop/deny-carts-dry-run' } }, undefined];
    const jsonl = await cli([path, '--format', 'jsonl']);
    assert.equal(jsonl.code, 0, jsonl.stderr);
    const records = jsonl.stdout.trim().split('\n').map((l) => JSON.parse(l) as AccessRecord);
    assert.deepEqual(records.map((r) => r.response?.dryRun), expected);
    const back = join(dir, 'dry-run-records.jsonl');
    writeFileSync(back, jsonl.stdout);
    const again = await ingestTraffic([back], { inventory: emptyInventory(), config: defaultConfig(dir) });
    assert.equal(again.stats.skipped, 0);
    assert.deepEqual(again.shapes.map((x) => x.record.response?.dryRun), expected);
    const text = await cli([path]);
    assert.match(text.stdout, /200 allowed, dry-run allow: denied, deny: denied by shop\/deny-carts-dry-run/);
  });

  it('JSON Lines: the summary on stderr counts the calls and joins as the text summary does', async () => {
    // Consul's example joins TCP connections on their addresses besides requests on x-request-id
    for (const paths of [['examples/consul/traffic'], ['examples']]) {
      const args = [...paths, '--inventory', 'examples'];
      const text = await cli(args);
      const jsonl = await cli([...args, '--format', 'jsonl']);
      const calls = /^Calls: .*$/m.exec(text.stdout)![0];
      assert.match(calls, /\d on x-request-id, [\d,]+ TCP on addresses/);
      assert.ok(jsonl.stderr.includes(calls), `${paths}: ${jsonl.stderr}`);
    }
  });

  it('exits 2 on usage errors and unreadable input', async () => {
    assert.equal((await cli([])).code, 2);
    assert.equal((await cli(['examples', '--format', 'xml'])).code, 2);
    assert.equal((await cli(['examples', '--frobnicate'])).code, 2);
    assert.equal((await cli(['does/not/exist'])).code, 2);
    assert.equal((await cli(['examples/istio/traffic', '--inventory', 'nope'])).code, 2);
    assert.equal((await cli(['examples/istio/traffic', '--config', 'nope.yaml'])).code, 2);
    const help = await cli(['--help']);
    assert.equal(help.code, 0);
    assert.match(help.stdout, /Usage: mesh-policy traffic/);
  });

  it('names a gzip file followed by bytes that are not gzip with how many it ignored, not as a file it cannot read, and exits 2', async () => {
    const text = readFileSync(join(root, 'examples', 'istio', 'traffic', 'cart.log'));
    const path = join(dir, 'cart-then-garbage.log.gz');
    writeFileSync(path, Buffer.concat([gzipSync(text), Buffer.from('garbage')]));
    const result = await cli([path, '--no-inventory']);
    assert.equal(result.code, 2);
    assert.match(result.stderr, /^mesh-policy: .*cart-then-garbage\.log\.gz: 7 bytes after the end of the compressed data were ignored \(not gzip\)$/m);
    assert.doesNotMatch(result.stderr, /cannot read/);
    const plain = await cli(['examples/istio/traffic/cart.log', '--no-inventory']);
    const lines = (stdout: string): string | undefined => /^Read 1 file, ([\d,]+) lines/m.exec(stdout)?.[1];
    assert.equal(lines(result.stdout), lines(plain.stdout));
  });
});

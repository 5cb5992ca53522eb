import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { buildInventory, emptyInventory, inventoryContributionKey, namespaceKnown, type Inventory } from '../../../server/src/engine/inventory/inventory';
import { InventoryIndex, podNameMatches, portOf, stripPort } from '../../../server/src/engine/inventory/inventoryIndex';
import { readSource } from '../../../server/src/engine/source/read';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Engine } from '../../../server/src/engine/engine';
import { DEFAULT_READ_LIMITS, type SourceFile } from '../../../server/src/engine/source/sourceFile';
import { WorkspaceModel } from '../../../server/src/engine/workspace';
import { scratchDir } from '../../helpers/scratch';

function index(files: Record<string, string>): InventoryIndex {
  return new InventoryIndex(buildInventory(Object.entries(files).map(([path, text]) => readSource(path, text))));
}

const MANIFESTS = `apiVersion: v1
kind: Namespace
metadata:
  name: shop
  labels:
    istio-injection: enabled
  annotations:
    owner: team-shop
---
apiVersion: v1
kind: ServiceAccount
metadata: {name: cart, namespace: shop}
---
apiVersion: apps/v1
kind: Deployment
metadata: {name: cart, namespace: shop}
spec:
  template:
    metadata:
      labels: {app: cart, version: v1}
    spec:
      serviceAccountName: cart
      containers:
        - name: cart
          ports:
            - {name: http, containerPort: 7070}
            - {name: metrics, containerPort: 9102}
---
apiVersion: v1
kind: Service
metadata: {name: cart, namespace: shop}
spec:
  selector: {app: cart}
  clusterIP: 10.96.10.7
  ports:
    - {name: http, port: 80, targetPort: http}
    - {name: metrics, port: 9102, targetPort: 9102}
---
apiVersion: apps/v1
kind: StatefulSet
metadata: {name: db, namespace: shop}
spec:
  template:
    metadata: {labels: {app: db}}
    spec:
      containers: [{name: db, ports: [{containerPort: 5432}]}]
---
apiVersion: batch/v1
kind: CronJob
metadata: {name: report, namespace: shop}
spec:
  jobTemplate:
    spec:
      template:
        metadata: {labels: {app: report}}
        spec: {serviceAccountName: reporter, containers: [{name: r}]}
`;

/** \`kubectl get deploy,rs,pods,svc -o yaml\` style dump. */
const YAML_DUMP = `apiVersion: v1
kind: List
items:
  - apiVersion: apps/v1
    kind: Deployment
    metadata: {name: payments, namespace: shop}
    spec:
      template:
        metadata: {labels: {app: payments}}
        spec:
          serviceAccountName: payments
          containers: [{name: p, ports: [{name: http, containerPort: 9090}]}]
  - apiVersion: apps/v1
    kind: ReplicaSet
    metadata:
      name: payments-7c9d8f6b5
      namespace: shop
      ownerReferences:
        - {apiVersion: apps/v1, kind: Deployment, name: payments, controller: true}
    spec:
      template:
        metadata: {labels: {app: payments, pod-template-hash: 7c9d8f6b5}}
        spec: {serviceAccountName: payments, containers: [{name: p}]}
  - apiVersion: v1
    kind: Pod
    metadata:
      name: payments-7c9d8f6b5-q4w2e
      namespace: shop
      labels: {app: payments, pod-template-hash: 7c9d8f6b5}
      ownerReferences:
        - {apiVersion: apps/v1, kind: ReplicaSet, name: payments-7c9d8f6b5, controller: true}
    spec:
      serviceAccountName: payments
      containers: [{name: p, ports: [{name: http, containerPort: 9090}]}]
    status:
      podIP: 10.244.1.17
      podIPs: [{ip: 10.244.1.17}, {ip: "fd00::17"}]
  - apiVersion: v1
    kind: Service
    metadata: {name: payments, namespace: shop}
    spec:
      selector: {app: payments}
      clusterIP: 10.96.20.1
      clusterIPs: [10.96.20.1]
      ports: [{name: http, port: 80, targetPort: 9090}]
`;

/** \`kubectl get pods -o json\`: a PodList whose ReplicaSet is not in the dump. */
const JSON_DUMP = JSON.stringify({
  apiVersion: 'v1',
  kind: 'PodList',
  items: [
    {
      apiVersion: 'v1', kind: 'Pod',
      metadata: {
        name: 'cart-5b7d9c6f4-x2k9p', namespace: 'shop', labels: { app: 'cart', version: 'v1', 'pod-template-hash': '5b7d9c6f4' },
        ownerReferences: [{ apiVersion: 'apps/v1', kind: 'ReplicaSet', name: 'cart-5b7d9c6f4', controller: true }],
      },
      spec: { serviceAccountName: 'cart', containers: [{ name: 'cart', ports: [{ name: 'http', containerPort: 7070 }] }] },
      status: { podIP: '10.244.2.30', podIPs: [{ ip: '10.244.2.30' }] },
    },
    {
      apiVersion: 'v1', kind: 'Pod',
      metadata: { name: 'debug-shell', namespace: 'shop', labels: { run: 'debug' } },
      spec: { containers: [{ name: 'sh' }] },
      status: { podIP: '10.244.2.99' },
    },
  ],
});

const DESTINATION_RULE = `apiVersion: networking.istio.io/v1
kind: DestinationRule
metadata: {name: backend, namespace: shop}
spec:
  host: Backend
  trafficPolicy:
    tls: {mode: DISABLE}
    portLevelSettings:
    - port: {number: 9090}
      tls: {mode: ISTIO_MUTUAL}
    - port: {number: 9091}
      connectionPool: {tcp: {maxConnections: 10}}
  subsets:
  - name: v2
    labels: {version: v2}
    trafficPolicy:
      tls: {mode: SIMPLE}
  - name: v3
    labels: {version: v3}
`;

describe('inventory', () => {
  it('reads manifests: namespaces with labels and annotations, service accounts, pod templates, services', () => {
    const inv = buildInventory([readSource('app.yaml', MANIFESTS)]);
    assert.equal(inv.present, true);
    assert.deepEqual(inv.namespaces.get('shop')?.labels, { 'istio-injection': 'enabled' });
    assert.deepEqual(inv.namespaces.get('shop')?.annotations, { owner: 'team-shop' });
    assert.deepEqual(inv.serviceAccounts.map((s) => `${s.namespace}/${s.name}`), ['shop/cart']);
    assert.deepEqual(inv.workloads.map((w) => `${w.kind}/${w.name}:${w.serviceAccount}`), ['Deployment/cart:cart', 'StatefulSet/db:default', 'CronJob/report:reporter']);
    assert.deepEqual(inv.services[0]!.clusterIPs, ['10.96.10.7']);
    assert.equal(namespaceKnown(inv, 'shop'), true);
  });

  it('reads List dumps in YAML and JSON, with pod IPs and owner references', () => {
    const inv = buildInventory([readSource('dump.yaml', YAML_DUMP), readSource('pods.json', JSON_DUMP)]);
    const pod = inv.workloads.find((w) => w.name === 'payments-7c9d8f6b5-q4w2e')!;
    assert.deepEqual(pod.ips, ['10.244.1.17', 'fd00::17']);
    assert.deepEqual(pod.owner, { kind: 'ReplicaSet', name: 'payments-7c9d8f6b5' });
    const jsonPod = inv.workloads.find((w) => w.name === 'cart-5b7d9c6f4-x2k9p')!;
    assert.equal(jsonPod.file, 'pods.json');
    assert.deepEqual(jsonPod.ips, ['10.244.2.30']);
  });

  it('reads a kind: List beside plain manifests: its object items in its place, where they are written', () => {
    const text = [
      'apiVersion: v1\nkind: Namespace\nmetadata: {name: shop}\n',
      'apiVersion: v1\nkind: List\nitems:\n  - apiVersion: v1\n    kind: ServiceAccount\n    metadata: {name: cart, namespace: shop}\n  - not an object\n',
      'apiVersion: v1\nkind: ServiceList\nitems: {apiVersion: v1, kind: ServiceAccount, metadata: {name: odd}}\n',
    ].join('---\n');
    const inv = buildInventory([readSource('mixed.yaml', text)]);
    assert.deepEqual([...inv.namespaces.keys()], ['shop']);
    assert.deepEqual(inv.serviceAccounts.map((s) => `${s.namespace}/${s.name}`), ['shop/cart'], 'items that are not a list are no objects of the List');
    const account = inv.serviceAccounts[0]!;
    assert.ok(text.slice(account.span.start, account.span.end).startsWith('apiVersion: v1\n    kind: ServiceAccount'), 'the item\'s own place, for go-to');
  });

  it('reads Istio DestinationRules as facts: host, tls modes of the traffic policy, its portLevelSettings and its subsets', () => {
    const text = DESTINATION_RULE;
    const inv = buildInventory([readSource('dr.yaml', text)]);
    assert.equal(inv.present, false, 'not a Kubernetes workload object');
    const { span: _span, ...rule } = inv.destinationRules![0]!;
    assert.deepEqual(rule, {
      file: 'dr.yaml', name: 'backend', namespace: 'shop', host: 'backend',
      trafficPolicy: { tls: { mode: 'DISABLE', line: 7 }, ports: [{ port: 9090, tls: { mode: 'ISTIO_MUTUAL', line: 10 } }, { port: 9091 }] },
      subsets: [{ name: 'v2', labels: { version: 'v2' }, trafficPolicy: { tls: { mode: 'SIMPLE', line: 17 }, ports: [] } }, { name: 'v3', labels: { version: 'v3' } }],
    });
    assert.notEqual(inventoryContributionKey(readSource('dr.yaml', text)), '', 'a file with one changes the inventory');
    assert.equal(buildInventory([readSource('vs.yaml', text.replace('DestinationRule', 'VirtualService'))]).destinationRules?.length, 0);
  });

  it('reads files over the size limit for their Kubernetes objects alone, to the same inventory without positions', () => {
    const dir = scratchDir('mesh-policy-bulk-inventory-');
    const engine = new Engine(undefined, { limits: { ...DEFAULT_READ_LIMITS, maxFileBytes: 64 } });
    const files: Record<string, string> = { 'app.yaml': MANIFESTS, 'dump.yaml': YAML_DUMP, 'pods.json': JSON_DUMP };
    const withoutPlaces = (inventory: Inventory): unknown => JSON.parse(JSON.stringify(inventory, (key, value: unknown) => (key === 'span' || key === 'file' ? undefined : value instanceof Map ? [...value.entries()] : value)));
    for (const [name, text] of Object.entries(files)) {
      const path = join(dir, name);
      writeFileSync(path, text);
      const bulk = engine.readFile(path);
      assert.equal(bulk.text, '', `${name} is not kept`);
      assert.deepEqual(withoutPlaces(buildInventory([bulk])), withoutPlaces(buildInventory([readSource(path, text)])), name);
      assert.ok(buildInventory([bulk]).present, name);
      // not a policy file: the size limit is not reported
      assert.deepEqual(engine.lint(engine.prepare(bulk)).findings, [], name);
      // the same text open in the editor (read from memory) gives the same inventory
      assert.deepEqual(withoutPlaces(buildInventory([engine.read(path, text)])), withoutPlaces(buildInventory([bulk])), `${name} open`);
    }
    // a DestinationRule is no workload: the same facts, without its lines
    writeFileSync(join(dir, 'dr.yaml'), DESTINATION_RULE);
    const noLines = (inventory: Inventory): unknown => JSON.parse(JSON.stringify(withoutPlaces(inventory), (key, value: unknown) => (key === 'line' ? undefined : value)));
    assert.deepEqual(noLines(buildInventory([engine.readFile(join(dir, 'dr.yaml'))])), noLines(buildInventory([readSource(join(dir, 'dr.yaml'), DESTINATION_RULE)])));
    assert.equal(buildInventory([engine.readFile(join(dir, 'dr.yaml'))]).destinationRules?.length, 1);
    // what does not parse adds nothing, and says nothing
    writeFileSync(join(dir, 'broken.yaml'), `${MANIFESTS}\n  - : [\n`);
    assert.equal(buildInventory([engine.readFile(join(dir, 'broken.yaml'))]).present, false);
    // beyond maxInventoryFileBytes: only scanned
    const capped = new Engine(undefined, { limits: { ...DEFAULT_READ_LIMITS, maxFileBytes: 64, maxInventoryFileBytes: 128 } });
    assert.equal(buildInventory([capped.readFile(join(dir, 'app.yaml'))]).present, false);
  });

  it('reads a file over the size limit in a worker thread (readFileAsync) to the same file and inventory as on the calling thread', async () => {
    const dir = scratchDir('mesh-policy-bulk-worker-');
    const engine = new Engine(undefined, { limits: { ...DEFAULT_READ_LIMITS, maxFileBytes: 64 } });
    const files: Record<string, string> = { 'app.yaml': MANIFESTS, 'dump.yaml': YAML_DUMP, 'pods.json': JSON_DUMP, 'broken.yaml': `${MANIFESTS}\n  - : [\n`, 'policy.yaml': 'apiVersion: security.istio.io/v1\nkind: AuthorizationPolicy\nmetadata: {name: p}\n' };
    const fromWorker: SourceFile[] = [];
    const onThread: SourceFile[] = [];
    for (const [name, text] of Object.entries(files)) {
      const path = join(dir, name);
      writeFileSync(path, text);
      const read = await engine.readFileAsync(path);
      const expected = engine.readFile(path);
      assert.deepEqual(read, expected, name);
      assert.equal(inventoryContributionKey(read), inventoryContributionKey(expected), name);
      fromWorker.push(read);
      onThread.push(expected);
    }
    // a workspace builds its inventory from each file's contribution, in file order
    const workspace = new WorkspaceModel();
    for (const file of fromWorker) workspace.update(engine.prepare(file));
    assert.deepEqual(workspace.inventory, buildInventory(onThread));
    assert.ok(workspace.inventory.present);
  });

  it('indexes a dump of 18,000 pods of one namespace whose ReplicaSets it lacks without comparing each pod with every other', () => {
    // `kubectl get pods -A -o yaml`: owners are named, not listed. A ReplicaSet of a Deployment is
    // named <deployment>-<pod-template-hash> (Kubernetes docs, "Deployments"), so the pod's
    // workload is the Deployment's name even without the ReplicaSet.
    const pods = Array.from({ length: 18_000 }, (_, i) => `- apiVersion: v1
  kind: Pod
  metadata:
    name: cart-${i % 97}-${i}
    namespace: shop
    labels: {app: cart, pod-template-hash: "${i % 97}"}
    ownerReferences: [{apiVersion: apps/v1, kind: ReplicaSet, name: cart-${i % 97}, controller: true}]
  spec: {serviceAccountName: cart}
  status: {podIP: 10.1.${i >> 8}.${i & 255}}`);
    const engine = new Engine(undefined, { limits: { ...DEFAULT_READ_LIMITS, maxFileBytes: 64 } });
    const dump = engine.read('/cluster/pods.yaml', `apiVersion: v1\nkind: List\nitems:\n${pods.join('\n')}\n`);
    const started = performance.now();
    const idx = new InventoryIndex(buildInventory([dump]));
    const ms = performance.now() - started;
    const hit = idx.byIp('10.1.70.79');
    assert.ok(hit?.kind === 'pod');
    assert.equal(hit.match.name, 'cart');
    assert.equal(hit.match.pod?.name, 'cart-54-17999');
    // each pod compared with every other of its namespace: over a minute
    assert.ok(ms < 5_000, `${Math.round(ms)} ms`);
  });

  it('takes only the ports Kubernetes admits (whole numbers 1 to 65535; a targetPort may be a name): nothing downstream sees NaN, 0 or out of range', () => {
    // [a value as written in YAML, kept as a containerPort or Service port]
    const cases: [string, number | undefined][] = [
      ['8080', 8080], ['1', 1], ['65535', 65535],
      ['http', undefined], ['"8080"', undefined], ['{}', undefined], ['[]', undefined], ['null', undefined],
      ['0', undefined], ['-1', undefined], ['65536', undefined], ['99999', undefined], ['1.5', undefined], ['.nan', undefined], ['true', undefined],
    ];
    for (const [value, kept] of cases) {
      const inv = buildInventory([readSource('app.yaml', `apiVersion: apps/v1
kind: Deployment
metadata: {name: cart, namespace: shop}
spec: {template: {spec: {containers: [{name: cart, ports: [{name: web, containerPort: ${value}}, {containerPort: 9090}]}]}}}
---
apiVersion: v1
kind: Service
metadata: {name: cart, namespace: shop}
spec: {ports: [{name: web, port: ${value}}, {port: 82, targetPort: 9090}]}
`)]);
      const ports = kept === undefined ? [] : [kept];
      assert.deepEqual(inv.workloads[0]!.ports.map((p) => p.containerPort), [...ports, 9090], `containerPort: ${value}`);
      assert.deepEqual(inv.services[0]!.ports.map((p) => p.port), [...ports, 82], `port: ${value}`);
    }
    // [targetPort as written, as kept; null: the Service port is left out whole, as Kubernetes
    // refuses it]. 0, "" and null are the port (Kubernetes defaults them); a string is a port name.
    const targets: [string, number | string | undefined | null][] = [
      ['8080', 8080], ['0', undefined], ['""', undefined], ['null', undefined], ['web', 'web'], ['"8080"', '8080'],
      ['"99999"', null], ['-1', null], ['99999', null], ['1.5', null], ['{}', null], ['[]', null],
    ];
    for (const [value, target] of targets) {
      const inv = buildInventory([readSource('svc.yaml', `apiVersion: v1\nkind: Service\nmetadata: {name: cart, namespace: shop}\nspec: {ports: [{port: 80, targetPort: ${value}}]}\n`)]);
      assert.deepEqual(inv.services[0]!.ports.map((p) => p.targetPort), target === null ? [] : [target], `targetPort: ${value}`);
    }
  });

  it('keeps an empty inventory empty', () => {
    const idx = new InventoryIndex(emptyInventory());
    assert.equal(idx.present, false);
    assert.equal(idx.byIp('10.0.0.1'), undefined);
    assert.equal(idx.workloadForPod('cart-5b7d9c6f4-x2k9p'), undefined);
  });
});

describe('inventory index', () => {
  const idx = index({ 'app.yaml': MANIFESTS, 'dump.yaml': YAML_DUMP, 'pods.json': JSON_DUMP });

  it('maps pod IPs to the top-level workload (Pod → ReplicaSet → Deployment)', () => {
    const hit = idx.byIp('10.244.1.17');
    assert.equal(hit?.kind, 'pod');
    if (hit?.kind !== 'pod') return;
    assert.equal(hit.match.name, 'payments');
    assert.equal(hit.match.workload.kind, 'Deployment');
    assert.equal(hit.match.serviceAccount, 'payments');
    assert.equal(hit.match.pod?.name, 'payments-7c9d8f6b5-q4w2e');
    assert.equal(idx.byIp('[fd00::17]:9090')?.kind, 'pod');
    assert.equal(idx.byIp('10.244.1.17:9090')?.kind, 'pod');
  });

  it('maps a pod whose ReplicaSet is missing to its Deployment by pod-template-hash', () => {
    const hit = idx.byIp('10.244.2.30');
    assert.ok(hit?.kind === 'pod');
    assert.equal(hit.match.name, 'cart');
    assert.equal(hit.match.workload.kind, 'Deployment');
    assert.equal(hit.match.labels['pod-template-hash'], '5b7d9c6f4');
  });

  it('keeps a bare pod as its own workload', () => {
    const hit = idx.byIp('10.244.2.99');
    assert.ok(hit?.kind === 'pod');
    assert.equal(hit.match.name, 'debug-shell');
    assert.equal(hit.match.serviceAccount, 'default');
  });

  it('maps Service cluster IPs to the Service', () => {
    const hit = idx.byIp('10.96.10.7');
    assert.ok(hit?.kind === 'service');
    assert.equal(hit.service.name, 'cart');
    assert.equal(idx.byIp('10.96.20.1:80')?.kind, 'service');
    assert.equal(idx.byIp('10.1.1.1'), undefined);
  });

  it('finds the workload of a pod by name when the inventory has only templates', () => {
    assert.equal(idx.workloadForPod('cart-6f8d9c7b5-abcde', 'shop')?.name, 'cart');
    assert.equal(idx.workloadForPod('db-0', 'shop')?.name, 'db');
    assert.equal(idx.workloadForPod('report-28912345-k2j4h', 'shop')?.name, 'report');
    assert.equal(idx.workloadForPod('report-28912345-k2j4h', 'shop')?.serviceAccount, 'reporter');
    assert.equal(idx.workloadForPod('cart-6f8d9c7b5-abcde')?.namespace, 'shop', 'no namespace: unique by name');
    assert.equal(idx.workloadForPod('cartography-6f8d9c7b5-abcde', 'shop'), undefined);
    assert.equal(idx.workloadForPod('nothing-here', 'shop'), undefined);
    assert.equal(idx.workloadForPod('payments-7c9d8f6b5-q4w2e', 'shop')?.pod?.name, 'payments-7c9d8f6b5-q4w2e');
  });

  it('finds the workload of a pod by its labels', () => {
    assert.equal(idx.workloadForPod('whatever', 'shop', { app: 'db', 'controller-revision-hash': 'x' })?.name, 'db');
  });

  it('links services and workloads through selectors', () => {
    const cart = idx.workload('shop', 'cart')!;
    assert.deepEqual(idx.servicesFor(cart).map((s) => s.name), ['cart']);
    const service = idx.services('payments', 'shop')[0]!;
    assert.deepEqual(idx.workloadsFor(service).map((w) => `${w.kind}/${w.name}`), ['Deployment/payments'], 'ReplicaSet and Pod fold into the Deployment');
  });

  it('resolves named and numeric targetPorts to container ports', () => {
    const cart = idx.services('cart', 'shop')[0]!;
    assert.deepEqual(idx.targetPort(cart, 80), [{ containerPort: 7070, name: 'http' }]);
    assert.deepEqual(idx.targetPort(cart, 'http'), [{ containerPort: 7070, name: 'http' }]);
    assert.deepEqual(idx.targetPort(cart, 9102), [{ containerPort: 9102, name: 'metrics' }]);
    assert.deepEqual(idx.targetPort(cart, 81), []);
    assert.equal(idx.namedPort(idx.workload('shop', 'cart')!, 'metrics'), 9102);
  });

  it('finds services from host names', () => {
    for (const host of ['cart', 'cart:80', 'cart.shop', 'cart.shop.svc', 'cart.shop.svc.cluster.local', 'cart.shop.svc.cluster.local:80']) {
      assert.equal(idx.serviceByHost(host, 'shop')?.name, 'cart', host);
    }
    assert.equal(idx.serviceByHost('cart.other')?.name, undefined);
    assert.equal(idx.serviceByHost('cart', 'elsewhere')?.name, 'cart', 'a short name unique in the inventory');
    assert.equal(idx.serviceByHost('shop.example.com'), undefined);
  });

  it('gives namespace labels and annotations', () => {
    assert.deepEqual(idx.namespaceLabels('shop'), { 'istio-injection': 'enabled' });
    assert.deepEqual(idx.namespaceAnnotations('shop'), { owner: 'team-shop' });
    assert.deepEqual(idx.namespaceLabels('nope'), {});
  });

  it('lists workloads per service account', () => {
    assert.deepEqual(idx.workloadsForServiceAccount('shop', 'payments').map((w) => w.name), ['payments']);
    assert.deepEqual(idx.workloadsForServiceAccount('shop', 'cart').map((w) => w.name), ['cart']);
  });

  it('implies the Deployment Istio creates for a Gateway API gateway', () => {
    const gw = index({ 'gw.yaml': 'apiVersion: gateway.networking.k8s.io/v1\nkind: Gateway\nmetadata: {name: shop-gateway, namespace: shop}\nspec:\n  gatewayClassName: istio\n  listeners: [{name: http, port: 80, protocol: HTTP}]\n' });
    const match = gw.workloadForPod('shop-gateway-istio-6d5f7b8c9-q7w2e', 'shop');
    assert.equal(match?.name, 'shop-gateway-istio');
    assert.equal(match?.serviceAccount, 'shop-gateway-istio');
    assert.equal(gw.inventory.workloads.length, 0, 'not added to the workloads the lint checks see');
  });

  it('splits host:port', () => {
    assert.equal(stripPort('10.0.0.1:80'), '10.0.0.1');
    assert.equal(stripPort('[fd00::1]:80'), 'fd00::1');
    assert.equal(stripPort('fd00::1'), 'fd00::1');
    assert.equal(portOf('cart:8080'), 8080);
    assert.equal(portOf('cart'), undefined);
    assert.equal(portOf('fd00::1'), undefined);
    assert.equal(portOf('[fd00::1]:443'), 443);
  });

  it('matches pod names by workload kind', () => {
    const w = (kind: string, name: string) => ({ kind, name } as Parameters<typeof podNameMatches>[0]);
    assert.equal(podNameMatches(w('Deployment', 'web'), 'web-5f7d8c9b6-abcde'), true);
    assert.equal(podNameMatches(w('Deployment', 'web'), 'web-0'), false);
    assert.equal(podNameMatches(w('StatefulSet', 'web'), 'web-0'), true);
    assert.equal(podNameMatches(w('DaemonSet', 'agent'), 'agent-x7k2p'), true);
  });
});

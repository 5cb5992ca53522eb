// The ClickHouse traffic source against a real clickhouse-server (Debian's 18.16 in CI, or any
// newer one on PATH): shapes and decisions equal to reading the same logs from files, and clear
// errors for servers that are down, slow or refusing. Skipped (with the reason) without the
// binary, unless MESH_POLICY_CLICKHOUSE=required.
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { createServer as createHttpServer, type ServerResponse } from 'node:http';
import { createServer, type Server, type Socket } from 'node:net';
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { runSimulateCli } from '../../../server/src/cli/simulate';
import { headersTestedBy } from '../../../server/src/engine/simulate/testedHeaders';
import { runTrafficCli } from '../../../server/src/cli/traffic';
import { parseClickHouseSettings } from '../../../server/src/engine/config/clickhouseConfig';
import { defaultConfig, parseConfig } from '../../../server/src/engine/config/projectConfig';
import { Engine } from '../../../server/src/engine/engine';
import { loadInventory } from '../../../server/src/engine/inventory/loadInventory';
import { Simulation, simulateShapes } from '../../../server/src/engine/simulate';
import type { TrafficShape } from '../../../server/src/engine/traffic/ingest';
import { ClickHouseTrafficSource, FileTrafficSource, TrafficSourceError, planQueries } from '../../../server/src/engine/traffic/sources';
import { collectPolicyFiles } from '../../../server/src/engine/workspaceFiles';
import { WorkspaceModel } from '../../../server/src/engine/workspace';
import { clickhouseSkipReason, envoyRowsFromLog, freePort, loadEnvoyTable, startClickHouse, tableSettings, type ClickHouseServer } from '../../helpers/clickhouse';
import { createAccessRecordReader } from '../../../server/src/engine/traffic/formats/accessRecordJsonl';
import { EXAMPLES, REPO_ROOT } from '../../helpers/paths';
import { assertAccounting } from '../../helpers/trafficModel';
import { shapeKey } from '../../../server/src/engine/traffic/ingest/shapes';
import { scratchDir } from '../../helpers/scratch';

const ISTIO = join(EXAMPLES, 'istio');
const LOGS = ['cart.log', 'frontend.log', 'gateway.log', 'payments.log'].map((f) => join(ISTIO, 'traffic', f));
/** Logs of server-side proxies only: no client-side line, nothing to join. */
const SERVER_SIDE_LOGS = ['cart.log', 'payments.log'].map((f) => join(ISTIO, 'traffic', f));

/** What a shape says, without where its samples are (files vs table rows). */
function comparable(shape: TrafficShape): unknown {
  return {
    key: shapeKey(shape.record), record: shape.record, count: shape.count, firstTime: shape.firstTime, lastTime: shape.lastTime,
    sourceBy: shape.sourceBy, destinationBy: shape.destinationBy,
    unresolvedSource: shape.unresolvedSource, unresolvedDestination: shape.unresolvedDestination, identityGap: shape.identityGap,
  };
}

describe('configuration: clickhouse block', () => {
  it('reads url, table, columns, window and credentials by variable name; reports problems without failing', () => {
    const config = parseConfig(`clickhouse:
  url: http://127.0.0.1:8123
  database: logs
  table: envoy_access_logs
  passwordEnv: CH_PASSWORD
  password: hunter2
  columns: {pod_labels: null, downstream_peer_uri_san: peer_san, bogus: x, path: "a b"}
  window: {last: 24h}
`, defaultConfig('/w'));
    const ch = config.clickhouse!;
    assert.equal(ch.url, 'http://127.0.0.1:8123');
    assert.equal(ch.database, 'logs');
    assert.equal(ch.passwordEnv, 'CH_PASSWORD');
    assert.equal(ch.columns.pod_labels, undefined);
    assert.equal(ch.columns.downstream_peer_uri_san, 'peer_san');
    assert.equal(ch.columns.path, 'path', 'an invalid column name keeps the default');
    assert.deepEqual(ch.window, { last: '24h' });
    assert.ok(config.problems.some((p) => p.message.includes('password is not read from the file')));
    assert.ok(config.problems.some((p) => p.message.includes('unknown field "bogus"')));
    assert.ok(config.problems.some((p) => p.message.includes('columns.path must be a column name')));
    assert.ok(!JSON.stringify(ch).includes('hunter2'), 'a password in the file is never kept');
  });

  it('without url or table there is no source, and the problem says why', () => {
    const problems: string[] = [];
    assert.equal(parseClickHouseSettings({ database: 'logs' }, (message) => problems.push(message)), undefined);
    assert.ok(problems.some((p) => p.endsWith('url is required')));
    assert.ok(problems.some((p) => p.endsWith('table is required')));
  });

  it('quotes values into the SQL (18.16 has no query parameters) and filters the window', () => {
    const plan = planQueries(tableSettings('http://h:1', 'logs', { window: { since: '2025-03-14T09:00:00Z', until: '2025-03-15T00:00:00.000Z' } }));
    assert.match(plan.serverQuery, /parseDateTimeBestEffortOrNull\(ifNull\(toString\(`start_time`\), ''\)\) >= toDateTime\('2025-03-14 09:00:00', 'UTC'\)/);
    assert.match(plan.serverQuery, /< toDateTime\('2025-03-15 00:00:00', 'UTC'\)/);
    assert.ok(!plan.fields.includes('start_time') && !plan.fields.includes('request_id'), 'time and request id are not grouped');
    assert.ok(!/JSONExtract|\{[a-z_]+:[A-Za-z]+\}/.test(plan.serverQuery + plan.clientQuery), 'no JSONExtract or query parameters');
  });
});

describe('ClickHouse source against a real clickhouse-server', () => {
  const skip = clickhouseSkipReason();
  let server: ClickHouseServer | undefined;

  before(async () => {
    if (skip) return;
    server = await startClickHouse();
    const rows = LOGS.flatMap((f) => envoyRowsFromLog(f));
    await loadEnvoyTable(server.url, 'istio_logs', rows);
    await loadEnvoyTable(server.url, 'server_side_logs', SERVER_SIDE_LOGS.flatMap((f) => envoyRowsFromLog(f)));
  });
  after(async () => {
    await server?.stop();
  });

  it('gives the same shapes as reading the same logs as files, and the same decisions', { skip }, async () => {
    const config = defaultConfig(ISTIO);
    const inventory = loadInventory([join(ISTIO, 'app')], config).inventory;
    const engine = new Engine();
    const workspace = new WorkspaceModel(config);
    for (const path of collectPolicyFiles([ISTIO]).files) workspace.update(engine.prepare(engine.read(path, readFileSync(path, 'utf8'))));
    const keyHeaders = headersTestedBy(workspace);

    for (const options of [{ inventory, config }, { inventory, config, keyHeaders }]) {
      const files = await new FileTrafficSource(LOGS, { workers: 1 }).read(options);
      const progress: number[] = [];
      const table = await new ClickHouseTrafficSource(tableSettings(server!.url, 'istio_logs')).read({ ...options, onProgress: (p) => progress.push(p.lines) });
      assert.ok(files.shapes.length > 20, 'the example has many shapes');
      assert.deepEqual(table.shapes.map(comparable), files.shapes.map(comparable));
      assert.equal(table.stats.calls, files.stats.calls);
      assert.equal(table.stats.parsed, files.stats.parsed);
      assert.equal(table.stats.joinedPairs, files.stats.joinedPairs);
      assert.equal(table.stats.gatewayLegs, files.stats.gatewayLegs);
      assert.deepEqual(table.stats.observed, files.stats.observed);
      assert.deepEqual(table.stats.problems, []);
      // the counts add up as IngestStats says
      const s = table.stats;
      assert.equal(s.parsed + s.gatewayLegs + s.extraCalls, s.calls + s.joinedPairs);
      assert.equal(progress.at(-1), s.lines);
      // samples name the table and a row
      assert.match(table.shapes[0]!.samples[0]!.file, /^clickhouse:\/\/127\.0\.0\.1:\d+\/default\.istio_logs\?start_time=2025-03-14T/);

      const simulation = new Simulation(workspace);
      const decide = (shapes: TrafficShape[]) => simulateShapes(simulation, shapes).outcomes.map((o) => ({ key: shapeKey(o.shape.record), count: o.shape.count, verdict: o.decision.verdict, policy: o.decision.policy?.label, rule: o.decision.rule?.label, change: o.change }));
      const fromTable = decide(table.shapes);
      assert.deepEqual(fromTable, decide(files.shapes));
      assert.ok(fromTable.some((d) => d.verdict === 'deny') && fromTable.some((d) => d.verdict === 'allow'));
    }
  });

  it('CLI: traffic and simulate --source clickhouse read the configured table', { skip }, async () => {
    const dir = scratchDir('mesh-policy-ch-cli-');
    const config = join(dir, '.meshpolicy.yaml');
    writeFileSync(config, `clickhouse:\n  url: ${server!.url}\n  table: istio_logs\n  username: reader\n  passwordEnv: MESH_POLICY_TEST_CH_PASSWORD\n`);
    process.env['MESH_POLICY_TEST_CH_PASSWORD'] = server!.readerPassword;
    const run = async (cli: (args: string[], io: { stdout: (t: string) => void; stderr: (t: string) => void; cwd: string }) => Promise<number>, args: string[]) => {
      let stdout = '';
      let stderr = '';
      const code = await cli(args, { stdout: (t) => { stdout += `${t}\n`; }, stderr: (t) => { stderr += `${t}\n`; }, cwd: dir });
      return { code, stdout, stderr };
    };
    try {
      const traffic = await run(runTrafficCli, ['--source', 'clickhouse', '--config', config, '--inventory', join(ISTIO, 'app'), '--format', 'jsonl']);
      assert.equal(traffic.code, 0, traffic.stderr);
      const fromFiles = await run(runTrafficCli, [...LOGS, '--config', config, '--inventory', join(ISTIO, 'app'), '--format', 'jsonl', '--workers', '1']);
      assert.equal(traffic.stdout, fromFiles.stdout);
      const policies = ['--policies', join(ISTIO, 'security'), '--inventory', join(ISTIO, 'app'), '--config', config, '--format', 'json'];
      const simulated = await run(runSimulateCli, [...policies, '--source', 'clickhouse']);
      const simulatedFiles = await run(runSimulateCli, [...policies, '--traffic', LOGS.join(',')]);
      assert.equal(simulated.code, simulatedFiles.code);
      assert.deepEqual(JSON.parse(simulated.stdout).totals, JSON.parse(simulatedFiles.stdout).totals);
      const usage = await run(runTrafficCli, ['--source', 'clickhouse', '--config', config, LOGS[0]!]);
      assert.equal(usage.code, 2);
      assert.match(usage.stderr, /--source clickhouse reads the configured table: give no files/);
      writeFileSync(config, `clickhouse:\n  url: http://127.0.0.1:${await freePort()}\n  table: istio_logs\n`);
      const down = await run(runTrafficCli, ['--source', 'clickhouse', '--config', config, '--no-inventory']);
      assert.equal(down.code, 2);
      assert.match(down.stderr, /cannot reach ClickHouse at http:\/\/127\.0\.0\.1:\d+ \(ECONNREFUSED\)/);
      writeFileSync(config, 'rules: {}\n');
      const unconfigured = await run(runSimulateCli, [...policies, '--source', 'clickhouse']);
      assert.equal(unconfigured.code, 2);
      assert.match(unconfigured.stderr, /--source clickhouse needs a clickhouse: block/);
    } finally {
      delete process.env['MESH_POLICY_TEST_CH_PASSWORD'];
    }
  });

  it('logs of the server side only: the same shapes, without the join', { skip }, async () => {
    const config = defaultConfig(ISTIO);
    const inventory = loadInventory([join(ISTIO, 'app')], config).inventory;
    const files = await new FileTrafficSource(SERVER_SIDE_LOGS, { workers: 1 }).read({ inventory, config });
    const table = await new ClickHouseTrafficSource(tableSettings(server!.url, 'server_side_logs')).read({ inventory, config });
    assert.ok(files.shapes.length > 10);
    assert.equal(files.stats.joinedPairs, 0);
    assert.deepEqual(table.shapes.map(comparable), files.shapes.map(comparable));
    assert.deepEqual(table.stats.join, files.stats.join);
  });

  it('a time window keeps only the lines inside it', { skip }, async () => {
    const all = await new ClickHouseTrafficSource(tableSettings(server!.url, 'istio_logs')).read();
    const window = { since: '2025-03-14T09:00:00Z', until: '2025-03-14T09:05:00Z' };
    const part = await new ClickHouseTrafficSource(tableSettings(server!.url, 'istio_logs', { window })).read();
    assert.ok(part.stats.lines > 0 && part.stats.lines < all.stats.lines);
    for (const shape of part.shapes) assert.ok(shape.lastTime! < '2025-03-14T09:05:00' && shape.firstTime! >= '2025-03-14T09:00:00', `${shape.firstTime} .. ${shape.lastTime}`);
    // the same window on the table's materialized DateTime column (the sorting key)
    const byColumn = await new ClickHouseTrafficSource(tableSettings(server!.url, 'istio_logs', { window, timeColumn: 'timestamp' })).read();
    assert.deepEqual(byColumn.shapes.map(comparable), part.shapes.map(comparable));
  });

  it('uses the password from the named environment variable; a wrong one is refused clearly', { skip }, async () => {
    const settings = tableSettings(server!.url, 'istio_logs', { username: 'reader', passwordEnv: 'CH_TEST_PASSWORD' });
    const ok = await new ClickHouseTrafficSource(settings, { CH_TEST_PASSWORD: server!.readerPassword }).read();
    assert.ok(ok.shapes.length > 0);
    await assert.rejects(new ClickHouseTrafficSource(settings, { CH_TEST_PASSWORD: 'wrong' }).read(), (e: unknown) => e instanceof TrafficSourceError && e.reason === 'refused' && /refused the credentials/.test(e.message));
    await assert.rejects(new ClickHouseTrafficSource(settings, {}).read(), /environment variable CH_TEST_PASSWORD \(clickhouse.passwordEnv\) is not set/);
  });

  it('a missing table or column is a clear query error', { skip }, async () => {
    await assert.rejects(new ClickHouseTrafficSource(tableSettings(server!.url, 'no_such_table')).read(), (e: unknown) => e instanceof TrafficSourceError && e.reason === 'query' && /no_such_table/.test(e.message) && /check clickhouse\.database, table and columns/.test(e.message));
    const badColumn = tableSettings(server!.url, 'istio_logs');
    badColumn.columns.user_agent = 'ua_column';
    await assert.rejects(new ClickHouseTrafficSource(badColumn).read(), (e: unknown) => e instanceof TrafficSourceError && e.reason === 'query' && /ua_column/.test(e.message));
  });

  it('cancels with the abort signal', { skip }, async () => {
    const controller = new AbortController();
    controller.abort();
    await assert.rejects(new ClickHouseTrafficSource(tableSettings(server!.url, 'istio_logs')).read({ signal: controller.signal }), { name: 'AbortError' });
    const later = new AbortController();
    const reading = new ClickHouseTrafficSource(tableSettings(server!.url, 'istio_logs')).read({ signal: later.signal, onProgress: () => later.abort() });
    await assert.rejects(reading, { name: 'AbortError' });
  });
});

describe('docs/scale.md: the jq filter that turns aggregated rows into access records', () => {
  const jq = spawnSync('jq', ['--version']).status === 0;
  it('gives valid access records with their count (denied, allowed, plaintext, TCP)', { skip: jq ? undefined : 'jq is not installed' }, () => {
    const doc = readFileSync(join(REPO_ROOT, 'docs', 'scale.md'), 'utf8');
    const filter = /```jq\n([\s\S]*?)```/.exec(doc)![1]!;
    const rows = [
      { namespace: 'shop', workload: 'cart', method: 'POST', path: '/v1/carts', protocol: 'HTTP/1.1', authority: 'cart.shop.svc.cluster.local', response_code: '403', response_flags: '-', response_code_details: 'rbac_access_denied_matched_policy[none]', requested_server_name: 'outbound_.80_._.cart.shop.svc.cluster.local', downstream_local_address: '10.244.3.22:7070', src_ip: '10.244.2.12', n: '12', first_time: '2025-03-14T09:02:16.127Z' },
      { namespace: 'shop', workload: 'payments', method: 'GET', path: '/metrics', protocol: 'HTTP/2', authority: '10.244.2.32:9102', response_code: 200, response_flags: null, response_code_details: 'via_upstream', requested_server_name: null, downstream_local_address: '10.244.2.32:9102', src_ip: '10.244.5.9', peer: '-', n: 240 },
      { namespace: 'db', workload: 'postgres', method: null, response_code: 0, response_flags: 'UF', downstream_local_address: '10.1.0.7:5432', src_ip: '10.1.0.9', peer: 'spiffe://cluster.local/ns/shop/sa/cart', n: 3 },
    ];
    const run = spawnSync('jq', ['-c', filter], { input: rows.map((r) => JSON.stringify(r)).join('\n'), encoding: 'utf8' });
    assert.equal(run.status, 0, run.stderr);
    const reader = createAccessRecordReader();
    const records = run.stdout.trim().split('\n').map((line) => {
      const result = reader.read(line);
      assert.equal(result.kind, 'record', line);
      return JSON.parse(line) as Record<string, unknown>;
    });
    assert.deepEqual(records, [
      { time: '2025-03-14T09:02:16.127Z', mesh: 'istio', protocol: 'http', source: { ip: '10.244.2.12' }, destination: { namespace: 'shop', workload: 'cart', ip: '10.244.3.22', port: 7070 }, request: { method: 'POST', path: '/v1/carts', host: 'cart.shop.svc.cluster.local' }, sni: 'outbound_.80_._.cart.shop.svc.cluster.local', response: { status: 403, details: 'rbac_access_denied_matched_policy[none]' }, observed: 'denied', count: 12 },
      { mesh: 'istio', protocol: 'http2', source: { ip: '10.244.5.9', principal: null }, destination: { namespace: 'shop', workload: 'payments', ip: '10.244.2.32', port: 9102 }, request: { method: 'GET', path: '/metrics', host: '10.244.2.32:9102' }, response: { status: 200, details: 'via_upstream' }, observed: 'allowed', count: 240 },
      { mesh: 'istio', protocol: 'tcp', source: { ip: '10.1.0.9', principal: 'spiffe://cluster.local/ns/shop/sa/cart' }, destination: { namespace: 'db', workload: 'postgres', ip: '10.1.0.7', port: 5432 }, response: { flags: 'UF' }, observed: 'unknown', count: 3 },
    ]);
  });
});

describe('ClickHouse source: servers that are down or slow', () => {
  it('connection refused: a clear error at once', async () => {
    const port = await freePort();
    const started = Date.now();
    await assert.rejects(new ClickHouseTrafficSource(tableSettings(`http://127.0.0.1:${port}`, 't')).read(), (e: unknown) => e instanceof TrafficSourceError && e.reason === 'unreachable' && /cannot reach ClickHouse at http:\/\/127\.0\.0\.1:\d+ \(ECONNREFUSED\)/.test(e.message));
    assert.ok(Date.now() - started < 5000);
  });

  it('a server that accepts and never answers: a timeout error, no hang', async () => {
    const sockets: Socket[] = [];
    const silent: Server = createServer((s) => { sockets.push(s); });
    await new Promise<void>((r) => silent.listen(0, '127.0.0.1', () => r()));
    const port = (silent.address() as { port: number }).port;
    try {
      const started = Date.now();
      await assert.rejects(new ClickHouseTrafficSource(tableSettings(`http://127.0.0.1:${port}`, 't', { timeoutSeconds: 1 })).read(), (e: unknown) => e instanceof TrafficSourceError && e.reason === 'timeout' && /did not answer within 1 s/.test(e.message));
      assert.ok(Date.now() - started < 8000, `gave up after ${Date.now() - started} ms`);
    } finally {
      for (const s of sockets) s.destroy();
      await new Promise((r) => silent.close(r));
    }
  });

  it('a server that stalls in the middle of the result: a timeout error, no hang', async () => {
    const stalling = createHttpServer((request, response) => {
      request.resume();
      response.writeHead(200, { 'content-type': 'text/plain' });
      response.write('{"n":"0"}\n');
    });
    await new Promise<void>((r) => stalling.listen(0, '127.0.0.1', () => r()));
    const port = (stalling.address() as { port: number }).port;
    try {
      await assert.rejects(new ClickHouseTrafficSource(tableSettings(`http://127.0.0.1:${port}`, 't', { timeoutSeconds: 1 })).read(), (e: unknown) => e instanceof TrafficSourceError && e.reason === 'timeout');
    } finally {
      stalling.closeAllConnections();
      await new Promise((r) => stalling.close(r));
    }
  });
});

/**
 * A fake ClickHouse HTTP interface on 127.0.0.1: `answer` gets each query (the request body) and
 * writes the response. close() ends every connection, dripping ones included.
 */
async function fakeClickHouse(answer: (query: string, response: ServerResponse) => void): Promise<{ url: string; queries: string[]; close(): Promise<void> }> {
  const queries: string[] = [];
  const server = createHttpServer((request, response) => {
    let body = '';
    request.on('data', (d: Buffer) => { body += d.toString(); });
    request.on('end', () => {
      queries.push(body);
      answer(body, response);
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  const port = (server.address() as { port: number }).port;
  return {
    url: `http://127.0.0.1:${port}`,
    queries,
    close: async () => {
      server.closeAllConnections();
      await new Promise((r) => server.close(r));
    },
  };
}

/** Answers with HTTP 200 and then one byte every 100 ms, never ending the line. */
function drip(response: ServerResponse): void {
  response.writeHead(200, { 'content-type': 'application/x-ndjson' });
  const timer = setInterval(() => { if (!response.destroyed) response.write(' '); }, 100);
  response.on('close', () => clearInterval(timer));
}

const isCountQuery = (query: string): boolean => query.startsWith('SELECT count() AS n FROM');

describe('ClickHouse source: timeoutSeconds is the time a whole read may take', () => {
  it('a server that answers 200 and then drips a byte at a time: a timeout error after timeoutSeconds', async () => {
    const fake = await fakeClickHouse((_query, response) => drip(response));
    try {
      const started = Date.now();
      await assert.rejects(new ClickHouseTrafficSource(tableSettings(fake.url, 't', { timeoutSeconds: 1 })).read(),
        (e: unknown) => e instanceof TrafficSourceError && e.reason === 'timeout' && /did not send its whole answer within 1 s \(clickhouse\.timeoutSeconds, the time a read may take\)/.test(e.message));
      const took = Date.now() - started;
      assert.ok(took >= 900 && took < 3000, `gave up after ${took} ms`);
    } finally {
      await fake.close();
    }
  });

  it('the deadline covers every query of the read: a prompt count and a dripping result still end after timeoutSeconds', async () => {
    const fake = await fakeClickHouse((query, response) => {
      if (!isCountQuery(query)) return drip(response);
      response.writeHead(200);
      response.end('{"n":"0"}\n');
    });
    try {
      const started = Date.now();
      await assert.rejects(new ClickHouseTrafficSource(tableSettings(fake.url, 't', { timeoutSeconds: 1 })).read(), (e: unknown) => e instanceof TrafficSourceError && e.reason === 'timeout');
      assert.ok(Date.now() - started < 3000, `gave up after ${Date.now() - started} ms`);
      assert.equal(fake.queries.length, 2);
      assert.match(fake.queries[1]!, /GROUP BY/);
    } finally {
      await fake.close();
    }
  });

  it('the caller\'s signal stops a dripping answer at once', async () => {
    const fake = await fakeClickHouse((_query, response) => drip(response));
    try {
      const started = Date.now();
      const read = new ClickHouseTrafficSource(tableSettings(fake.url, 't', { timeoutSeconds: 60 })).read({ signal: AbortSignal.timeout(300) });
      await assert.rejects(read, (e: unknown) => e instanceof Error && e.name === 'TimeoutError');
      assert.ok(Date.now() - started < 2000, `stopped after ${Date.now() - started} ms`);
    } finally {
      await fake.close();
    }
  });

  it('CLI: traffic --source clickhouse with timeoutSeconds: 1 against a dripping server exits with the reason', async () => {
    const fake = await fakeClickHouse((_query, response) => drip(response));
    const dir = scratchDir('mesh-policy-ch-drip-');
    const config = join(dir, '.meshpolicy.yaml');
    writeFileSync(config, `clickhouse:\n  url: ${fake.url}\n  table: t\n  timeoutSeconds: 1\n`);
    let stderr = '';
    try {
      const started = Date.now();
      const code = await runTrafficCli(['--source', 'clickhouse', '--config', config, '--no-inventory'], { stdout: () => undefined, stderr: (t) => { stderr += `${t}\n`; }, cwd: dir });
      assert.equal(code, 2);
      assert.match(stderr, /did not send its whole answer within 1 s/);
      assert.ok(Date.now() - started < 3000, `exited after ${Date.now() - started} ms`);
    } finally {
      await fake.close();
    }
  });
});

describe('ClickHouse source: rows the reader cannot take are skipped with a reason, the others read', () => {
  const fields = planQueries(tableSettings('http://127.0.0.1:1', 't')).fields;
  const column = (field: string): string => `f${fields.indexOf(field as (typeof fields)[number])}`;
  /** A server-side row of orders, `n` lines; `more` overrides columns. */
  const row = (n: unknown, more: Record<string, unknown> = {}): string => JSON.stringify({
    [column('method')]: 'GET', [column('path')]: '/api/orders', [column('protocol')]: 'HTTP/1.1', [column('response_code')]: 200,
    [column('authority')]: 'orders.shop:8080', [column('upstream_cluster')]: 'inbound|8080||', [column('upstream_host')]: '10.4.0.5:8080',
    [column('downstream_local_address')]: '10.4.0.5:8080', [column('downstream_remote_address')]: '10.4.1.9',
    fpod: 'orders-7c9d-x', fpod_namespace: 'shop', fpod_labels: null, has_request_id: 0, client_found: 0,
    n, first_time: '2025-03-14T09:00:00.000Z', last_time: '2025-03-14T09:00:00.000Z', sample_request_id: '', ...more,
  });

  it('non-text values, null rows, bad counts and lines that are not JSON: counted as skipped, by reason', async () => {
    const rows = [
      row('3'),
      row('2', { [column('method')]: ['GET'] }),
      row('4', { [column('path')]: { p: '/' } }),
      row('5', { fpod: ['x'] }),
      'null',
      row('abc'), row('-3'), row('1e400'), row(1e20), row('9007199254740992'),
      'not json',
      row(1, { [column('path')]: '/api/other' }),
    ];
    const fake = await fakeClickHouse((query, response) => {
      response.writeHead(200);
      response.end(isCountQuery(query) ? '{"n":"0"}\n' : `${rows.join('\n')}\n`);
    });
    try {
      const model = await new ClickHouseTrafficSource(tableSettings(fake.url, 't', { timeoutSeconds: 5 })).read();
      assert.deepEqual(model.shapes.map((s) => [s.record.request?.path, s.count]), [['/api/orders', 3], ['/api/other', 1]]);
      const s = model.stats;
      assert.deepEqual({ lines: s.lines, parsed: s.parsed, skipped: s.skipped, calls: s.calls }, { lines: 22, parsed: 4, skipped: 18, calls: 4 });
      const count = (kind: string) => `a row's count (column n) must be an integer from 1 to 9007199254740991, not ${kind}`;
      assert.deepEqual(s.skippedByReason, {
        [`method (column ${column('method')}) must be text or a number, not an array`]: 2,
        [`path (column ${column('path')}) must be text or a number, not an object`]: 4,
        'pod_name (column fpod) must be text or a number, not an array': 5,
        'a row must be a JSON object, not null': 1,
        [count('text')]: 2,
        [count('a whole number out of range')]: 3,
        'a row that is not valid JSON': 1,
      });
      assert.deepEqual(s.files[0]!.skippedByReason, s.skippedByReason);
      assertAccounting(model);
    } finally {
      await fake.close();
    }
  });

  it('a server error written into the result fails the read with its message', async () => {
    const fake = await fakeClickHouse((query, response) => {
      response.writeHead(200);
      response.end(isCountQuery(query) ? '{"n":"0"}\n' : `${row('1')}\nCode: 241, e.displayText() = DB::Exception: Memory limit (for query) exceeded\n`);
    });
    try {
      await assert.rejects(new ClickHouseTrafficSource(tableSettings(fake.url, 't', { timeoutSeconds: 5 })).read(),
        (e: unknown) => e instanceof TrafficSourceError && e.reason === 'query' && /failed: DB::Exception: Memory limit \(for query\) exceeded/.test(e.message));
    } finally {
      await fake.close();
    }
  });

  it('a count of client-side lines that is not a count is a clear error', async () => {
    const fake = await fakeClickHouse((_query, response) => {
      response.writeHead(200);
      response.end('{"n":["1"]}\n');
    });
    try {
      await assert.rejects(new ClickHouseTrafficSource(tableSettings(fake.url, 't', { timeoutSeconds: 5 })).read(),
        (e: unknown) => e instanceof TrafficSourceError && e.reason === 'query' && /answered the count of client-side lines with \{"n":\["1"\]\}/.test(e.message));
    } finally {
      await fake.close();
    }
  });
});

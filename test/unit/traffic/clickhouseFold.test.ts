// Folding the ClickHouse source's grouped rows into shapes (sources/clickhouse/fold.ts), without a
// server: rows that differ only in what folding drops meet in one shape, and the shapes of one
// workload share what they repeat.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { ClickHouseField } from '../../../server/src/engine/config/clickhouseConfig';
import { emptyInventory } from '../../../server/src/engine/inventory/inventory';
import { InventoryIndex } from '../../../server/src/engine/inventory/inventoryIndex';
import { Resolver } from '../../../server/src/engine/traffic/ingest/resolve';
import { CALL_ID } from '../../../server/src/engine/traffic/callIds';
import { shapeKey } from '../../../server/src/engine/traffic/ingest/shapes';
import { planQueries } from '../../../server/src/engine/traffic/sources';
import { RowFolder, type GroupRow } from '../../../server/src/engine/traffic/sources/clickhouse/fold';
import { tableSettings } from '../../helpers/clickhouse';

const settings = tableSettings('http://127.0.0.1:8123', 'logs');
const plan = planQueries(settings);

/** An Istio server-side line of orders (pod orders-7c9d-x, app=orders) called by checkout, grouped `n` times. */
function row(n: number, firstTime: string, lastTime: string, requestId: string, more: Partial<Record<ClickHouseField, string>> = {}): GroupRow {
  const values: Partial<Record<ClickHouseField, string>> = {
    method: 'GET', path: '/api/orders', protocol: 'HTTP/1.1', response_code: '200', response_flags: '-', response_code_details: 'via_upstream',
    authority: 'orders.shop.svc.cluster.local:8080', upstream_host: '10.4.0.5:8080', upstream_cluster: 'inbound|8080||',
    downstream_local_address: '10.4.0.5:8080', downstream_remote_address: '10.4.1.9', requested_server_name: 'outbound_.8080_._.orders.shop.svc.cluster.local',
    user_agent: 'Go-http-client/1.1', ...more,
  };
  const out: GroupRow = {
    fpod: 'orders-7c9d-x', fpod_namespace: 'shop', fpod_labels: '{"app":"orders","version":"v1"}',
    has_request_id: 1, client_found: 0, n: String(n), first_time: firstTime, last_time: lastTime, sample_request_id: requestId,
  };
  plan.fields.forEach((field, i) => { out[`f${i}`] = values[field] ?? null; });
  return out;
}

function folder(): RowFolder {
  const resolver = new Resolver({ index: new InventoryIndex(emptyInventory()), trustDomain: 'cluster.local', defaultMesh: 'istio' });
  return new RowFolder(plan.fields, Object.keys(settings.columns) as ClickHouseField[], resolver, undefined, 'clickhouse://127.0.0.1:8123/default.logs', 3, undefined);
}

describe('ClickHouse source: folding grouped rows', () => {
  it('rows that differ only in their times and request ids are one shape: counts add, the earliest row stands for it', () => {
    const f = folder();
    f.addServerRow(row(5, '2025-03-14T10:00:00.000Z', '2025-03-14T11:00:00.000Z', 'id-late'));
    f.addServerRow(row(2, '2025-03-14T09:00:00.000Z', '2025-03-14T09:30:00.000Z', 'id-early'));
    const shapes = f.finish();
    assert.equal(shapes.length, 1);
    const [shape] = shapes;
    assert.equal(shape!.count, 7);
    assert.equal(shape!.record.count, 7);
    assert.equal(shape!.firstTime, '2025-03-14T09:00:00.000Z');
    assert.equal(shape!.record.time, '2025-03-14T09:00:00.000Z');
    assert.equal(shape!.lastTime, '2025-03-14T11:00:00.000Z');
    assert.equal('key' in shape!, false, 'a shape keeps no key string');
    assert.deepEqual(shape!.samples.map((s) => s.file), [
      'clickhouse://127.0.0.1:8123/default.logs?start_time=2025-03-14T09%3A00%3A00.000Z&request_id=id-early',
      'clickhouse://127.0.0.1:8123/default.logs?start_time=2025-03-14T10%3A00%3A00.000Z&request_id=id-late',
    ]);
    assert.equal(f.counts.lines, 7);
    assert.equal(f.counts.calls, 7);
  });

  it('shapes of one workload share its label map and repeated values; each keeps its own record', () => {
    const f = folder();
    f.addServerRow(row(3, '2025-03-14T09:00:00.000Z', '2025-03-14T09:00:00.000Z', 'a'));
    f.addServerRow(row(2, '2025-03-14T09:00:01.000Z', '2025-03-14T09:00:01.000Z', 'b', { path: '/api/orders/17' }));
    f.addServerRow(row(1, '2025-03-14T09:00:02.000Z', '2025-03-14T09:00:02.000Z', 'c', { path: '/api/orders/17', response_code: '403', response_code_details: 'rbac_access_denied_matched_policy[none]' }));
    const shapes = f.finish();
    assert.deepEqual(shapes.map((s) => [s.count, s.record.request?.path, s.record.response?.status]), [[3, '/api/orders', 200], [2, '/api/orders/17', 200], [1, '/api/orders/17', 403]]);
    const [a, b, c] = shapes.map((s) => s.record);
    assert.deepEqual(a!.destination?.labels, { app: 'orders', version: 'v1' });
    assert.equal(b!.destination?.labels, a!.destination?.labels, 'one label map for the workload');
    assert.equal(c!.destination?.labels, a!.destination?.labels);
    assert.notEqual(b!.destination, a!.destination, 'records are not shared');
    for (const s of shapes) assert.equal('key' in s, false, 'a shape keeps no key string');
    assert.equal(new Set(shapes.map((s) => shapeKey(s.record))).size, 3);
  });

  it('shapes carry rows of value ids in one space, as the shapes of files do (the simulators\' folds read them)', () => {
    const f = folder();
    f.addServerRow(row(3, '2025-03-14T09:00:00.000Z', '2025-03-14T09:00:00.000Z', 'a'));
    f.addServerRow(row(2, '2025-03-14T09:00:01.000Z', '2025-03-14T09:00:01.000Z', 'b', { path: '/api/orders/17' }));
    f.addServerRow(row(1, '2025-03-14T09:00:02.000Z', '2025-03-14T09:00:02.000Z', 'c', { method: 'POST' }));
    const shapes = f.finish();
    const rows = shapes.map((s) => s.ids);
    for (const ids of rows) assert.ok(ids instanceof Int32Array, 'every shape has its row');
    const [a, b, c] = rows as Int32Array[];
    assert.equal(new Set(rows.map((ids) => ids![CALL_ID.space])).size, 1, 'one id space');
    assert.equal(a![CALL_ID.destination], b![CALL_ID.destination], 'one destination');
    assert.equal(a![CALL_ID.method], b![CALL_ID.method]);
    assert.notEqual(a![CALL_ID.path], b![CALL_ID.path], 'two paths');
    assert.notEqual(a![CALL_ID.method], c![CALL_ID.method], 'two methods');
    assert.equal(Object.keys(shapes[0]!).includes('ids'), false, 'the row is not part of the shape\'s data');
  });
});

describe('ClickHouse source: rows the reader cannot take', () => {
  const skippedBy = (f: RowFolder) => ({ lines: f.counts.lines, skipped: f.counts.skipped, calls: f.counts.calls, reasons: f.counts.skippedByReason });
  const methodColumn = `f${plan.fields.indexOf('method')}`;

  it('a row with a value that is not text or a number is skipped for its n lines, with the field named; the other rows are read', () => {
    const f = folder();
    f.addServerRow(row(2, '2025-03-14T09:00:00.000Z', '2025-03-14T09:00:00.000Z', 'a'));
    f.addServerRow({ ...row(3, '2025-03-14T09:00:01.000Z', '2025-03-14T09:00:01.000Z', 'b'), [methodColumn]: ['GET'] } as unknown);
    f.addServerRow({ ...row(4, '2025-03-14T09:00:02.000Z', '2025-03-14T09:00:02.000Z', 'c'), [methodColumn]: { m: 'GET' } } as unknown);
    f.addServerRow({ ...row(5, '2025-03-14T09:00:03.000Z', '2025-03-14T09:00:03.000Z', 'd'), fpod: ['x'] } as unknown);
    f.addClientRow({ ...row(6, '2025-03-14T09:00:04.000Z', '2025-03-14T09:00:04.000Z', 'e'), first_time: true } as unknown);
    const shapes = f.finish();
    assert.deepEqual(shapes.map((s) => s.count), [2]);
    assert.deepEqual(skippedBy(f), {
      lines: 20, skipped: 18, calls: 2,
      reasons: {
        [`method (column ${methodColumn}) must be text or a number, not an array`]: 3,
        [`method (column ${methodColumn}) must be text or a number, not an object`]: 4,
        'pod_name (column fpod) must be text or a number, not an array': 5,
        'column first_time must be text or a number, not a boolean': 6,
      },
    });
  });

  it('a row that is not an object, or whose count n is not an integer from 1 to 2^53 - 1, is one skipped line', () => {
    const f = folder();
    const withCount = (n: unknown): unknown => ({ ...row(1, '2025-03-14T09:00:00.000Z', '2025-03-14T09:00:00.000Z', 'a'), n });
    for (const bad of [null, ['n', 1], 'text', 7]) f.addServerRow(bad);
    for (const n of ['abc', '-3', '0', '1e400', '2.5', '9007199254740992', 1e20, -3, 2.5, null, undefined]) f.addServerRow(withCount(n));
    f.addServerRow(withCount('2'));
    f.addUnreadableRow();
    assert.deepEqual(f.finish().map((s) => s.count), [2]);
    const count = (kind: string) => `a row's count (column n) must be an integer from 1 to 9007199254740991, not ${kind}`;
    assert.deepEqual(f.counts.skippedByReason, {
      'a row must be a JSON object, not null': 1,
      'a row must be a JSON object, not an array': 1,
      'a row must be a JSON object, not text': 1,
      'a row must be a JSON object, not a number': 1,
      [count('text')]: 3,
      [count('a whole number out of range')]: 5,
      [count('a number that is not whole')]: 1,
      [count('null')]: 1,
      [count('missing')]: 1,
      'a row that is not valid JSON': 1,
    });
    assert.equal(f.counts.skipped, 16);
    assert.equal(f.counts.lines, 18);

    const largest = folder();
    largest.addServerRow(withCount('9007199254740991'));
    assert.deepEqual(largest.finish().map((s) => s.count), [Number.MAX_SAFE_INTEGER]);
    assert.equal(largest.counts.skipped, 0);
  });

  it('a shape that would count more than 2^53 - 1 calls continues in a second shape of the same call', () => {
    const f = folder();
    f.addServerRow(row(Number.MAX_SAFE_INTEGER - 1, '2025-03-14T09:00:00.000Z', '2025-03-14T09:00:00.000Z', 'a'));
    f.addServerRow(row(1, '2025-03-14T09:00:01.000Z', '2025-03-14T09:00:01.000Z', 'b'));
    f.addServerRow(row(1, '2025-03-14T09:00:02.000Z', '2025-03-14T09:00:02.000Z', 'c'));
    f.addServerRow(row(1, '2025-03-14T09:00:03.000Z', '2025-03-14T09:00:03.000Z', 'd'));
    const shapes = f.finish();
    assert.deepEqual(shapes.map((s) => [s.count, s.record.count, s.firstTime, s.lastTime]), [
      [Number.MAX_SAFE_INTEGER, Number.MAX_SAFE_INTEGER, '2025-03-14T09:00:00.000Z', '2025-03-14T09:00:01.000Z'],
      [2, 2, '2025-03-14T09:00:02.000Z', '2025-03-14T09:00:03.000Z'],
    ]);
    assert.equal(shapeKey(shapes[0]!.record), shapeKey(shapes[1]!.record), 'the same call');
    for (const s of shapes) assert.equal(Object.values(s.sourceBy).reduce((a, b) => a + (b ?? 0), 0), s.count);
    assert.equal(f.counts.lines, Number.MAX_SAFE_INTEGER, 'the count of lines stops at 2^53 - 1');
    assert.equal(f.capped, true, 'and says so');
  });
});

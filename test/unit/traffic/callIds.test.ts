import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { AccessRecord } from '../../../server/src/engine/traffic/accessRecord';
import { CALL_ID, callIdRows, EMPTY_ID, NULL_ID, UNDEFINED_ID, ValueIds } from '../../../server/src/engine/traffic/callIds';
import { ShapeTable } from '../../../server/src/engine/traffic/ingest/shapes';

// A row of value ids stands for a call's values (traffic/callIds.ts): in one id space, equal ids
// must mean equal values, so a call that differs in one attribute must differ in that slot.

const labels = { app: 'api', version: 'v1' };

function base(): AccessRecord {
  return {
    mesh: 'istio', protocol: 'http', observed: 'allowed', sni: 'outbound_.80_._.api.shop.svc.cluster.local',
    source: { principal: 'cluster.local/ns/shop/sa/web', namespace: 'shop', ip: '10.0.0.1', remoteIp: '203.0.113.9' },
    destination: { namespace: 'shop', workload: 'api', service: 'api', labels, ip: '10.0.1.1', port: 8080 },
    request: { method: 'GET', path: '/items', host: 'api.shop', headers: { 'x-tenant': 'a' }, jwt: { issuer: 'https://issuer', subject: 'u1' } },
  };
}

const CHANGES: [keyof typeof CALL_ID, (r: AccessRecord) => void][] = [
  ['destination', (r) => { r.destination!.namespace = 'other'; }],
  ['destination', (r) => { r.destination!.workload = 'api-v2'; }],
  ['destination', (r) => { r.destination!.service = undefined; }],
  ['destination', (r) => { r.destination!.labels = { app: 'api', version: 'v2' }; }],
  ['protocol', (r) => { r.protocol = 'grpc'; }],
  ['principal', (r) => { r.source!.principal = 'cluster.local/ns/shop/sa/admin'; }],
  ['principal', (r) => { r.source!.principal = null; }],
  ['principalUnknown', (r) => { r.source!.principalUnknown = true; }],
  ['method', (r) => { r.request!.method = 'get'; }],
  ['port', (r) => { r.destination!.port = 8081; }],
  ['path', (r) => { r.request!.path = '/items?x=1'; }],
  ['host', (r) => { r.request!.host = 'API.shop'; }],
  ['headers', (r) => { r.request!.headers = { 'x-tenant': 'b' }; }],
  ['headers', (r) => { r.request!.headers = { 'X-Tenant': 'a' }; }],
  ['headers', (r) => { r.request!.headers = { 'x-tenant': 'a', 'x-other': '' }; }],
  ['sourceIp', (r) => { r.source!.ip = '10.0.0.2'; }],
  ['remoteIp', (r) => { delete r.source!.remoteIp; }],
  ['destinationIp', (r) => { r.destination!.ip = '10.0.1.2'; }],
  ['sni', (r) => { delete r.sni; }],
  ['jwt', (r) => { r.request!.jwt = { issuer: 'https://issuer', subject: 'u2' }; }],
];

describe('rows of value ids', () => {
  it('equal calls get equal rows; the observed verdict, time and count are not read', () => {
    const ids = new ValueIds();
    const other = { ...base(), observed: 'denied' as const, time: '2026-11-29T10:00:00Z', count: 7 };
    assert.deepEqual([...ids.rowInto(base(), new Int32Array(15))], [...ids.rowInto(other, new Int32Array(15))]);
  });

  for (const [slot, change] of CHANGES) {
    it(`a change of ${slot} (${change.toString().slice(8, 60)}) changes that slot only`, () => {
      const ids = new ValueIds();
      const before = [...ids.rowInto(base(), new Int32Array(15))];
      const record = base();
      change(record);
      const after = [...ids.rowInto(record, new Int32Array(15))];
      for (const [name, at] of Object.entries(CALL_ID)) {
        if (name === slot) assert.notEqual(after[at], before[at], `${slot} changed`);
        else assert.equal(after[at], before[at], `${name} unchanged`);
      }
    });
  }

  it('absent, null and empty values have the same ids in every space; others never meet across signs', () => {
    const up = new ValueIds();
    const down = new ValueIds(-1);
    const empty: AccessRecord = { source: { principal: null, ip: '' } };
    for (const ids of [up, down]) {
      const row = ids.rowInto(empty, new Int32Array(15));
      assert.equal(row[CALL_ID.principal], NULL_ID);
      assert.equal(row[CALL_ID.sourceIp], EMPTY_ID);
      assert.equal(row[CALL_ID.path], UNDEFINED_ID);
      assert.equal(row[CALL_ID.destination], UNDEFINED_ID);
    }
    assert.ok(up.rowInto(base(), new Int32Array(15))[CALL_ID.path]! > EMPTY_ID);
    assert.ok(down.rowInto(base(), new Int32Array(15))[CALL_ID.path]! < -EMPTY_ID);
    assert.notEqual(up.space, down.space);
  });

  it('a source address not recorded but known not to be loopback (source.notLoopback) is a value of its own, in rows and shapes', () => {
    const ids = new ValueIds();
    const unrecorded = base();
    delete unrecorded.source!.ip;
    const elsewhere = base();
    delete elsewhere.source!.ip;
    elsewhere.source!.notLoopback = true;
    const rows = [unrecorded, elsewhere].map((r) => [...ids.rowInto(r, new Int32Array(15))]);
    for (const [name, at] of Object.entries(CALL_ID)) {
      if (name === 'sourceIp') assert.notEqual(rows[1]![at], rows[0]![at]);
      else assert.equal(rows[1]![at], rows[0]![at], name);
    }
    const table = new ShapeTable();
    [unrecorded, elsewhere].forEach((record, line) => table.add({ record, t: 0, file: 0, line, sourceMethod: 'line', destinationMethod: 'line' }));
    assert.equal(table.finish(['f']).length, 2);
  });

  it('rows lie in one buffer, one per record in order', () => {
    const records = [base(), { ...base(), sni: 'x' }, base()];
    const rows = callIdRows(records, new ValueIds());
    assert.equal(rows.length, 3);
    assert.equal(rows[0]!.buffer, rows[2]!.buffer);
    assert.deepEqual([...rows[0]!], [...rows[2]!]);
    assert.notEqual(rows[0]![CALL_ID.sni], rows[1]![CALL_ID.sni]);
  });

  it('ShapeTable.finish gives every shape a row, which JSON and copies do not carry', () => {
    const table = new ShapeTable();
    const records = [base(), { ...base(), request: { ...base().request!, path: '/other' } }, base()];
    records.forEach((record, line) => table.add({ record, t: 0, file: 0, line, sourceMethod: 'line', destinationMethod: 'line' }));
    const shapes = table.finish(['f']);
    assert.equal(shapes.length, 2);
    for (const shape of shapes) {
      assert.ok(shape.ids instanceof Int32Array && shape.ids.length === 15);
      assert.ok(!('ids' in JSON.parse(JSON.stringify(shape))));
      assert.equal({ ...shape }.ids, undefined);
    }
    assert.equal(shapes[0]!.ids![CALL_ID.space], shapes[1]!.ids![CALL_ID.space]);
    // Every mesh's fold reads rows: shapes of each get one, in one id space.
    const others = new ShapeTable();
    for (const mesh of ['linkerd', 'consul'] as const) others.add({ record: { ...base(), mesh }, t: 0, file: 0, line: 0, sourceMethod: 'line', destinationMethod: 'line' });
    const finished = others.finish(['f']);
    assert.equal(finished.length, 2);
    for (const shape of finished) assert.ok(shape.ids instanceof Int32Array, shape.record.mesh);
    assert.equal(finished[0]!.ids![CALL_ID.space], finished[1]!.ids![CALL_ID.space]);
    assert.notEqual(shapes[0]!.ids![CALL_ID.path], shapes[1]!.ids![CALL_ID.path]);
  });
});

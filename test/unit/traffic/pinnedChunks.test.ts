import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { getHeapSnapshot } from 'node:v8';
import { defaultConfig } from '../../../server/src/engine/config/projectConfig';
import { loadInventory } from '../../../server/src/engine/inventory/loadInventory';
import { ingestTraffic, type TrafficModel } from '../../../server/src/engine/traffic/ingest';
import { EXAMPLES } from '../../helpers/paths';

/** Input is read in chunks of 120 KiB; a string this long made of log text is (part of) one. */
const CHUNK_SIZED = 16 * 1024;

interface HeapString {
  type: string;
  size: number;
  text: string;
}

/** The strings of the heap of at least `minSize` bytes, after the full collection a snapshot does. */
async function bigStrings(minSize: number): Promise<HeapString[]> {
  let json = '';
  for await (const chunk of getHeapSnapshot()) json += chunk as string;
  const snapshot = JSON.parse(json) as {
    snapshot: { meta: { node_fields: string[]; node_types: [string[]] } };
    nodes: number[];
    strings: string[];
  };
  json = '';
  const { node_fields: fields, node_types: [types] } = snapshot.snapshot.meta;
  const at = { type: fields.indexOf('type'), name: fields.indexOf('name'), size: fields.indexOf('self_size') };
  const out: HeapString[] = [];
  for (let i = 0; i < snapshot.nodes.length; i += fields.length) {
    const type = types[snapshot.nodes[i + at.type]!]!;
    const size = snapshot.nodes[i + at.size]!;
    if (size >= minSize && type.includes('string')) out.push({ type, size, text: snapshot.strings[snapshot.nodes[i + at.name]!]! });
  }
  return out;
}

describe('memory: no chunk of input outlives its read', () => {
  it('after reading the example apps\' logs (every format, shippers included), no piece of the logs of a chunk\'s size is left in the heap', { timeout: 120_000 }, async () => {
    // The logs as bytes: strings of them held here would be found below.
    const logs: Buffer[] = [];
    const models: TrafficModel[] = [];
    for (const app of ['istio', 'linkerd', 'consul']) {
      const dir = join(EXAMPLES, app);
      const files = readdirSync(join(dir, 'traffic')).map((name) => join(dir, 'traffic', name));
      for (const file of files) logs.push(readFileSync(file));
      const config = defaultConfig(dir);
      const { inventory } = loadInventory([dir], config);
      // Caches outlive a read (the readers' memos are their modules', the inventory's index lives as
      // long as the inventory): the models and inventories are kept, as the editor keeps them.
      models.push(await ingestTraffic(files, { inventory, config, workers: 1 }));
    }
    assert.ok(models.every((m) => m.stats.calls > 1000), 'each app has its calls');
    const bytes = logs.reduce((n, log) => n + log.length, 0);
    assert.ok(bytes > 30 * 120 * 1024, `${bytes} bytes of logs: tens of chunks of input`);
    const pieces = (await bigStrings(CHUNK_SIZED)).filter((s) => {
      const start = Buffer.from(s.text.slice(0, 200), 'utf8');
      return start.length >= 40 && logs.some((log) => log.includes(start));
    });
    assert.deepEqual(pieces.map((p) => `${p.type} of ${p.size} bytes: ${p.text.slice(0, 80)}`), []);
    // (the models are used after the snapshot, so they were alive in it)
    assert.equal(models.length, 3);
  });
});

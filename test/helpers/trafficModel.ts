import assert from 'node:assert/strict';
import { runTrafficCli } from '../../server/src/cli/traffic';
import type { AccessRecord } from '../../server/src/engine/traffic/accessRecord';
import type { TrafficModel } from '../../server/src/engine/traffic/ingest';

/** Every line and call of an ingest accounted for: each count equals the sum of its parts. */
export function assertAccounting(model: TrafficModel): void {
  const s = model.stats;
  const sum = (o: Record<string, number | undefined>) => Object.values(o).reduce<number>((a, b) => a + (b ?? 0), 0);
  assert.equal(s.lines, s.parsed + s.skipped, 'lines = parsed + skipped');
  assert.equal(s.skipped, sum(s.skippedByReason), 'skipped = Σ reasons');
  assert.equal(s.parsed + s.gatewayLegs + s.extraCalls, s.calls + s.joinedPairs, 'parsed + gateway legs + extra calls = calls + joined pairs');
  assert.equal(s.calls, model.shapes.reduce((a, x) => a + x.count, 0), 'calls = Σ shape counts');
  assert.equal(s.calls, sum(s.sourceBy), 'calls = Σ source resolutions');
  assert.equal(s.calls, sum(s.destinationBy), 'calls = Σ destination resolutions');
  assert.equal(s.sourceBy.unresolved ?? 0, sum(s.unresolvedSourceByReason), 'unresolved = Σ reasons');
  assert.equal(s.shapes, model.shapes.length);
  for (const f of s.files) assert.equal(f.lines, f.parsed + f.skipped, `${f.path}: lines = parsed + skipped`);
  assert.equal(s.lines, s.files.reduce((a, f) => a + f.lines, 0));
  for (const shape of model.shapes) {
    assert.equal(shape.record.count, shape.count);
    assert.equal(sum(shape.sourceBy), shape.count);
  }
  assert.equal(s.extraCalls >= 0, true);
}

/** `mesh-policy traffic` run in `cwd`, its output collected. */
export async function trafficCli(args: string[], cwd: string): Promise<{ code: number; stdout: string; stderr: string }> {
  let stdout = '';
  let stderr = '';
  const code = await runTrafficCli(args, { stdout: (t) => { stdout += `${t}\n`; }, stderr: (t) => { stderr += `${t}\n`; }, cwd });
  return { code, stdout, stderr };
}

/** The records of `traffic --format jsonl` output. */
export function jsonlRecords(stdout: string): AccessRecord[] {
  return stdout.trim().split('\n').map((l) => JSON.parse(l) as AccessRecord);
}

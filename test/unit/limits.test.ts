import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { defaultConfig } from '../../server/src/engine/config/projectConfig';
import { Engine } from '../../server/src/engine/engine';
import { Simulation } from '../../server/src/engine/simulate';
import { ingestTraffic, readerSettingProblems } from '../../server/src/engine/traffic/ingest';
import { WorkspaceModel } from '../../server/src/engine/workspace';
import { FIXTURES } from '../helpers/paths';
import { scratchDir } from '../helpers/scratch';

const dir = scratchDir('mesh-policy-limits-');
const line = readFileSync(join(FIXTURES, 'traffic', 'formats', 'istio-text.log'), 'utf8').split('\n')[0]!;
const log = join(dir, 'ten.log');
writeFileSync(log, `${line}\n`.repeat(10));

describe('limits', () => {
  it('log lines past the per-file limit are counted and skipped with the reason', async () => {
    const model = await ingestTraffic([log], { workers: 1, config: defaultConfig(dir), maxLinesPerFile: 4 });
    const file = model.stats.files[0]!;
    assert.deepEqual({ lines: file.lines, parsed: file.parsed, skipped: file.skipped }, { lines: 10, parsed: 4, skipped: 6 });
    assert.deepEqual(file.skippedByReason, { 'past the line limit (4 lines per file, set by --max-lines or readers.maxLines)': 6 });
    assert.equal(model.stats.calls, 4);
  });

  it('readers.maxLines of .meshpolicy.yaml sets the limit; a bad value is reported', async () => {
    const config = { ...defaultConfig(dir), readers: { maxLines: 7 } };
    const model = await ingestTraffic([log], { workers: 1, config });
    assert.equal(model.stats.parsed, 7);
    assert.deepEqual(readerSettingProblems({ ...config, readers: { maxLines: 'lots' } }), ['readers.maxLines must be a positive whole number of lines (got "lots"); no line limit is applied']);
  });

  it('an envoyFormat that cannot be read is reported where it is set, before any file is read', () => {
    const skipped = 'the files it applies to in that format are not read (every line skipped with this reason)';
    const cases: [string, Record<string, unknown>, string[]][] = [
      ['a valid text format', { envoyFormat: '[%START_TIME%] "%REQ(:METHOD)%"' }, []],
      ['a valid JSON format', { envoyFormat: '{"m": "%REQ(:METHOD)%"}' }, []],
      ['an unterminated operator', { envoyFormat: '[%START_TIME% %BOGUS' }, [`readers.envoyFormat: unterminated command operator at column 15 of the Envoy format string; ${skipped}`]],
      ['JSON that names no field', { files: { 'gw/*.log': { envoyFormat: '{"a": 1}' } } }, [`readers.files["gw/*.log"].envoyFormat: no key of the JSON Envoy format maps to an access record field; ${skipped}`]],
      ['broken JSON in an override', { overrides: [{ files: '*.json', envoyFormat: '{"a": ' }] }, [`readers.overrides[0].envoyFormat: a JSON Envoy format must be an object of key → "%OPERATOR%" strings; ${skipped}`]],
      ['not a string', { envoyFormat: 42 }, [`readers.envoyFormat: must be a string; ${skipped}`]],
      ['an unknown format in an override', { overrides: [{ files: '*.log', format: 'nginx' }] }, ['readers.overrides[0].format must be one of envoy-text, envoy-json, linkerd-apache, linkerd-json, consul-envoy-json, ztunnel, access-record, loki-api, otlp-json (got "nginx")']],
      ['files that is not a mapping', { files: ['gw/*.log'] }, ['readers.files must map globs to reader settings; it applies to no file']],
      ['a glob without settings', { files: { 'gw/*.log': 'envoy-json' } }, ['readers.files["gw/*.log"] must be a mapping of reader settings; it applies to no file']],
      ['overrides that is not a list', { overrides: { files: '*.log', format: 'envoy-json' } }, ['readers.overrides must be a list of reader settings with their files; it applies to no file']],
      ['an override without files', { overrides: [{ format: 'envoy-json' }] }, ['readers.overrides[0] must be a mapping with files (a glob); it applies to no file']],
    ];
    for (const [name, readers, problems] of cases) assert.deepEqual(readerSettingProblems({ ...defaultConfig(dir), readers }), problems, name);
  });

  it('a YAML alias bomb stops at the node limit, quickly', () => {
    const levels = Array.from({ length: 12 }, (_, i) => (i === 0 ? 'a0: &a0 ["lol"]' : `a${i}: &a${i} [${Array(9).fill(`*a${i - 1}`).join(', ')}]`));
    const text = `apiVersion: security.istio.io/v1\nkind: AuthorizationPolicy\nmetadata: {name: x}\nspec:\n${levels.map((l) => `  ${l}`).join('\n')}\n`;
    const started = Date.now();
    const findings = new Engine().lintText('/bomb.yaml', text).findings;
    assert.ok(Date.now() - started < 5000);
    assert.deepEqual(findings.map((f) => [f.code, f.message]), [['MPA0002', 'document expands to more than 250000 nodes (aliases included); it was not checked (limit set by maxNodes)']]);
  });

  it('JSON nested past the depth limit is reported, not parsed (no stack overflow)', () => {
    const text = `{"apiVersion":"security.istio.io/v1","kind":"AuthorizationPolicy","spec":${'['.repeat(100_000)}${']'.repeat(100_000)}}`;
    const findings = new Engine().lintText('/deep.json', text).findings;
    assert.deepEqual(findings.map((f) => f.message), ['document is nested more than 64 levels deep; it was not checked (limit set by maxDepth)']);
  });

  it('YAML nested past what the parser can read is a limit in words, never a JavaScript message', () => {
    const text = `apiVersion: security.istio.io/v1\nkind: AuthorizationPolicy\nmetadata:\n  name: x\nspec:\n  rules: ${'['.repeat(5000)}${']'.repeat(5000)}\n`;
    const cases: { maxDepth: number; messages: string[] }[] = [
      { maxDepth: 64, messages: ['document is nested more than 64 levels deep; it was not checked (limit set by maxDepth)'] },
      { maxDepth: 100_000, messages: ['document is nested too deeply to be read; it was not checked'] },
    ];
    for (const c of cases) {
      const engine = new Engine(undefined, { limits: { ...new Engine().options.limits, maxDepth: c.maxDepth } });
      const findings = engine.lintText('/deep.yaml', text).findings;
      assert.deepEqual(findings.map((f) => [f.code, f.message]), c.messages.map((m) => ['MPA0002', m]), `maxDepth ${c.maxDepth}`);
    }
  });

  it('hostile regexes in Consul PathRegex and Linkerd RegularExpression run in linear time (RE2)', () => {
    const engine = new Engine();
    const workspace = new WorkspaceModel(defaultConfig(dir));
    workspace.update(engine.prepare(engine.read('/consul.json', JSON.stringify({ Kind: 'service-intentions', Name: 'api', Sources: [{ Name: 'web', Permissions: [{ Action: 'deny', HTTP: { PathRegex: '(a+)+$' } }] }] }))));
    const started = Date.now();
    const decision = new Simulation(workspace).decide({ mesh: 'consul', source: { service: 'web' }, destination: { service: 'api' }, request: { method: 'GET', path: `/${'a'.repeat(50_000)}!` } });
    assert.ok(Date.now() - started < 2000, `${Date.now() - started} ms`);
    assert.ok(['allow', 'deny', 'unknown'].includes(decision.verdict));
  });
});

import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { Engine } from '../../../server/src/engine/engine';
import { parseAllDocuments } from 'yaml';
import { DEFAULT_JSON_KEYS, operatorTarget } from '../../../server/src/engine/traffic/formats/envoyFields';
import { LOG_CONFIGURATION } from '../../../server/src/engine/traffic/logConfiguration';
import { REPO_ROOT } from '../../helpers/paths';

describe('access log configuration snippets', () => {
  const doc = readFileSync(join(REPO_ROOT, 'docs', 'access-records.md'), 'utf8');
  for (const snippet of LOG_CONFIGURATION) {
    it(`${snippet.title}: the same text as docs/access-records.md`, () => {
      assert.ok(doc.includes(snippet.text), 'the snippet and the docs differ');
    });
  }

  it('every mesh has one, and the YAML ones parse', () => {
    assert.deepEqual([...new Set(LOG_CONFIGURATION.map((s) => s.mesh))].sort(), ['consul', 'istio', 'linkerd']);
    const engine = new Engine();
    for (const snippet of LOG_CONFIGURATION.filter((s) => s.language === 'yaml')) {
      const file = engine.read('snippet.yaml', snippet.text);
      assert.deepEqual(file.documents.flatMap((d) => d.problems).filter((p) => p.severity === 'error'), [], snippet.title);
    }
  });

  it("Istio's JSON labels are read without configuration: each key is a default key of its operator's field (dry-run results included)", () => {
    const istio = LOG_CONFIGURATION.find((s) => s.mesh === 'istio')!;
    const meshConfig = parseAllDocuments(istio.text)[0]!.toJS() as { extensionProviders: { envoyFileAccessLog: { logFormat: { labels: Record<string, string> } } }[] };
    const labels = meshConfig.extensionProviders[0]!.envoyFileAccessLog.logFormat.labels;
    const defaults = new Map(DEFAULT_JSON_KEYS);
    for (const [key, format] of Object.entries(labels)) {
      const target = operatorTarget(format.slice(1, -1));
      assert.ok(target && 'slot' in target, `${key}: ${format} maps to a record field`);
      assert.equal(defaults.get(key), target.slot, `${key} is read as ${format} without configuration`);
    }
    for (const filter of ['http', 'network']) {
      for (const key of ['allow_shadow_engine_result', 'allow_shadow_effective_policy_id', 'deny_shadow_engine_result', 'deny_shadow_effective_policy_id']) {
        assert.ok(Object.values(labels).includes(`%DYNAMIC_METADATA(envoy.filters.${filter}.rbac:istio_dry_run_${key})%`), `${filter} ${key}`);
      }
    }
  });
});

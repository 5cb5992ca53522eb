import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { Engine } from '../../../server/src/engine/engine';
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
});

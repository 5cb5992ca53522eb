import assert from 'node:assert/strict';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { Engine } from '../../server/src/engine/engine';
import { recognize } from '../../server/src/engine/recognize';
import { toValue } from '../../server/src/engine/source/tree';
import { FIXTURES } from '../helpers/paths';

/**
 * Every schema fixture, for every mesh: valid documents (written after the upstream docs and
 * CRDs) lint clean; each invalid one produces the schema error its `# expect:` lines name, and
 * the engine turns it into an error finding with a range narrower than the document.
 */
const engine = new Engine();

for (const mesh of ['istio', 'linkerd', 'consul']) {
  describe(`${mesh} schema fixtures`, () => {
    const validDir = join(FIXTURES, 'schemas', mesh, 'valid');
    const invalidDir = join(FIXTURES, 'schemas', mesh, 'invalid');
    if (!existsSync(validDir)) return;

    for (const name of readdirSync(validDir).sort()) {
      it(`accepts valid/${name}`, () => {
        const path = join(validDir, name);
        const result = engine.lintText(path, readFileSync(path, 'utf8'));
        assert.ok(result.resources.length > 0, 'no policy recognized');
        // The fixtures are about structure: upstream's API server accepts them. Semantic checks
        // (MPA1xxx and up) may still warn, e.g. about a webhook rule a fixture breaks on purpose.
        assert.deepEqual(result.findings.filter((f) => f.code.startsWith('MPA0')).map((f) => `${f.range.start.line + 1}: ${f.code} ${f.message}`), []);
      });
    }

    for (const name of readdirSync(invalidDir).sort()) {
      it(`rejects invalid/${name}`, () => {
        const path = join(invalidDir, name);
        const text = readFileSync(path, 'utf8');
        const expectations = [...text.matchAll(/^# expect: (\S*) (\S+)/gm)].map((m) => ({ path: m[1]!, keyword: m[2]! }));
        assert.ok(expectations.length > 0, 'fixture has no # expect: line');
        const file = engine.read(path, text);
        const { resources } = recognize(file, engine.registry);
        assert.equal(resources.length, 1, 'expected one recognized policy');
        const errors = engine.registry.validate(resources[0]!.entry, toValue(resources[0]!.node));
        for (const expected of expectations) {
          assert.ok(errors.some((e) => e.instancePath === expected.path && e.keyword === expected.keyword),
            `expected ${expected.keyword} at ${expected.path}; got ${errors.map((e) => `${e.keyword}@${e.instancePath}`).join(', ')}`);
        }
        const findings = engine.lint(file).findings;
        assert.ok(findings.some((f) => f.severity === 'error'), 'no error finding');
        const lastLine = file.lines.lineCount - 1;
        for (const finding of findings) {
          assert.ok(!(finding.range.start.line === 0 && finding.range.end.line >= lastLine), `range covers the whole document: ${finding.message}`);
          assert.doesNotMatch(finding.message, /must match pattern|must NOT have|must match "then"/, 'raw validator wording leaked into a message');
        }
      });
    }
  });
}

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Engine } from '../../server/src/engine/engine';
import type { TextEdit } from '../../server/src/engine/findings';
import { checkFix } from './invariants';
import { examplePolicies } from './policies';

/**
 * Every fix of every example file, applied together (one fix per finding, the preferred one
 * first, skipping any that would overlap an edit already taken): everything outside the fix
 * ranges stays byte for byte, and the result reads with no new syntax error.
 */
describe('round trip: all fixes of every example', () => {
  const engine = new Engine();
  for (const example of examplePolicies()) {
    it(example.name, () => {
      const { findings } = engine.lint(engine.read(example.path, example.text));
      const taken: TextEdit[] = [];
      const overlaps = (a: TextEdit, b: TextEdit): boolean => {
        const before = (p: TextEdit['range']['start'], q: TextEdit['range']['start']) => p.line < q.line || (p.line === q.line && p.character <= q.character);
        return !(before(a.range.end, b.range.start) || before(b.range.end, a.range.start));
      };
      for (const finding of findings) {
        const fix = [...(finding.fixes ?? [])].sort((a, b) => Number(Boolean(b.preferred)) - Number(Boolean(a.preferred)))[0];
        if (fix && !fix.edits.some((e) => taken.some((t) => overlaps(e, t)))) taken.push(...fix.edits);
      }
      if (taken.length === 0) return;
      const fixed = checkFix(example.text, undefined, taken, `all fixes of ${example.name}`);
      const syntax = (text: string) => engine.lint(engine.read(example.path, text)).findings.filter((f) => f.code === 'MPA0001').length;
      assert.ok(syntax(fixed) <= syntax(example.text), 'the fixes introduce a syntax error');
      // Comments are kept: every comment line of the original is still there.
      for (const line of example.text.split('\n').filter((l) => /^\s*#/.test(l))) assert.ok(fixed.includes(line), `comment lost: ${line}`);
    });
  }
});

import assert from 'node:assert/strict';
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { findRuleDocsDir, rulePagePath } from '../../server/src/engine/ruleDocs';
import { ALL_RULES } from '../../server/src/engine/rules';
import { REPO_ROOT } from '../helpers/paths';
import { scratchDir } from '../helpers/scratch';

describe('rule pages (the links of diagnostics and SARIF help)', () => {
  it('every rule has its page, found next to the running code', () => {
    for (const rule of ALL_RULES) assert.equal(rulePagePath(rule.code), join(REPO_ROOT, 'docs', 'rules', `${rule.code}.md`), rule.code);
  });

  it('no page, no link: an unknown code, or a code that is not one, gives none', () => {
    assert.equal(rulePagePath('MPA9999'), undefined);
    assert.equal(rulePagePath('../README'), undefined);
  });

  it('the folder is the nearest docs/rules with its index above the start, else none', () => {
    const root = scratchDir('mesh-policy-ruledocs-');
    const deep = join(root, 'ext', 'dist');
    mkdirSync(deep, { recursive: true });
    mkdirSync(join(root, 'ext', 'docs', 'rules'), { recursive: true });
    // (a docs/rules without its index, as in some unrelated project, is not ours)
    assert.ok(!existsSync(join(root, 'ext', 'docs', 'rules', 'README.md')));
    const found = findRuleDocsDir(deep);
    assert.ok(found === undefined || !found.startsWith(root), String(found));
    writeFileSync(join(root, 'ext', 'docs', 'rules', 'README.md'), '# Rules\n');
    assert.equal(findRuleDocsDir(deep), join(root, 'ext', 'docs', 'rules'));
  });
});

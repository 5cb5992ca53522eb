// npm run docs: rewrites the generated index table in docs/rules/README.md from the registry.
import { readFileSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);
const { ruleIndexTable, RULE_INDEX_START, RULE_INDEX_END } = require('../out/server/src/engine/rules.js');
const path = new URL('../docs/rules/README.md', import.meta.url);
const text = readFileSync(path, 'utf8');
const start = text.indexOf(RULE_INDEX_START);
const end = text.indexOf(RULE_INDEX_END);
if (start < 0 || end < start) throw new Error('docs/rules/README.md lacks the rule-index markers');
writeFileSync(path, `${text.slice(0, start + RULE_INDEX_START.length)}\n${ruleIndexTable()}\n${text.slice(end)}`);
console.log('docs/rules/README.md: index regenerated');

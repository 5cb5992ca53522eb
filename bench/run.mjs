// npm run bench: every benchmark with its target, each in its own process so that one's heap
// does not disturb the next. Figures are printed as they come, and gathered in bench/results.json.
//   npm run bench                 all: lint, decide, ingest
//   npm run bench -- lint decide  a selection
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';

const SUITES = {
  lint: { script: 'bench/lint.mjs', results: 'bench/.data/lint-results.json', what: 'schema lint of a 1,000-document file (target 300 ms)' },
  decide: { script: 'bench/decide.mjs', results: 'bench/.data/decide-results.json', what: 'decisions per CPU-second, 1,000 policies × 100k shapes (target 2M)' },
  ingest: { script: 'bench/ingest.mjs', results: 'bench/.data/ingest-results.json', what: 'read + fold 1M log lines vs read + split + parse (target ≤ 1.0×)' },
};
const chosen = process.argv.slice(2).filter((a) => a in SUITES);
const results = { date: new Date().toISOString(), node: process.version };
let failed = false;
for (const name of chosen.length ? chosen : Object.keys(SUITES)) {
  const suite = SUITES[name];
  console.log(`\n## ${name}: ${suite.what}`);
  const run = spawnSync(process.execPath, ['--expose-gc', suite.script], { stdio: 'inherit' });
  if (run.status !== 0) failed = true;
  if (existsSync(suite.results)) results[name] = JSON.parse(readFileSync(suite.results, 'utf8'));
}
writeFileSync('bench/results.json', `${JSON.stringify(results, null, 2)}\n`);
console.log('\nResults: bench/results.json');
process.exit(failed ? 1 : 0);

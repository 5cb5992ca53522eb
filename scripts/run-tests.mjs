// Runs every compiled *.test.js under out/test with node's test runner. Node 20 takes no glob
// on the command line, and a bare folder would also run helpers and the VS Code suite.
import { spawnSync } from 'node:child_process';
import { readdirSync } from 'node:fs';
import { join } from 'node:path';

function find(dir) {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) return find(path);
    return entry.name.endsWith('.test.js') ? [path] : [];
  });
}

const only = process.argv.slice(2);
const files = find('out/test').filter((f) => only.length === 0 || only.some((o) => f.includes(o))).sort();
const result = spawnSync(process.execPath, ['--test', '--test-concurrency=1', '--test-reporter=./scripts/tap-with-failures.mjs', '--test-reporter-destination=stdout', ...files], { stdio: 'inherit' });
process.exit(result.status ?? 1);

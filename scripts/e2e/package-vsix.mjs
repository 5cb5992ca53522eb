#!/usr/bin/env node
// Builds mesh-policy-auditor.vsix with @vscode/vsce (`vsce package --no-dependencies`); .vscodeignore
// decides what goes in (only the dist/ bundles, schemas/, package.json, README.md, LICENSE).
//
// vsce 3.x refuses to package when package.json has a "files" list (used for the npm package of the
// CLI) *and* a .vscodeignore exists ("VSCE does not support combining both strategies"). In that case
// the project is copied to a temporary folder whose package.json lacks only "files" (an npm-only key
// that VS Code ignores) and vsce runs there; the same .vscodeignore applies.
//
// Usage: node scripts/e2e/package-vsix.mjs [output.vsix]   (default: <repo>/mesh-policy-auditor.vsix)
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
const out = path.resolve(process.argv[2] ?? path.join(root, 'mesh-policy-auditor.vsix'));
const vsce = path.join(root, 'node_modules', '@vscode', 'vsce', 'vsce');
const manifest = JSON.parse(fs.readFileSync(path.join(root, 'package.json'), 'utf8'));

for (const f of ['dist/client.js', 'dist/server.js', 'dist/cli.js', 'schemas', '.vscodeignore']) {
  if (!fs.existsSync(path.join(root, f))) fail(`${f} is missing (run npm run build first)`);
}

let cwd = root;
let stage;
if (manifest.files !== undefined) {
  stage = fs.mkdtempSync(path.join(os.tmpdir(), 'mesh-policy-vsix-'));
  const skip = new Set(['node_modules', '.git', '.vscode-e2e', '.vscode-test', 'out']);
  for (const entry of fs.readdirSync(root)) {
    if (skip.has(entry) || entry.endsWith('.vsix')) continue;
    fs.cpSync(path.join(root, entry), path.join(stage, entry), { recursive: true, verbatimSymlinks: true });
  }
  const { files: _npmFiles, ...rest } = manifest;
  fs.writeFileSync(path.join(stage, 'package.json'), JSON.stringify(rest, null, 2) + '\n');
  console.log(`package.json has a "files" list (npm); packaging from a copy without it: ${stage}`);
  cwd = stage;
}

fs.rmSync(out, { force: true });
const started = Date.now();
const r = spawnSync(process.execPath, [vsce, 'package', '--no-dependencies', '-o', out], {
  cwd,
  stdio: ['ignore', 'inherit', 'inherit'], // no stdin: vsce must never wait for a "continue? [y/N]" answer
  env: { ...process.env, VSCE_TELEMETRY: 'off' },
});
if (stage) fs.rmSync(stage, { recursive: true, force: true });
if (r.status !== 0) fail(`vsce exited with ${r.status ?? r.signal}`);
console.log(`vsix: ${out} (${fs.statSync(out).size} bytes, vsce ${((Date.now() - started) / 1000).toFixed(1)} s)`);

function fail(message) {
  console.error(`package-vsix: ${message}`);
  process.exit(1);
}

#!/usr/bin/env node
// Summarizes a V8 CPU profile (`node --cpu-prof`): the functions with the most self time, and the
// source files with the most self time, as shares of the samples (idle excluded).
//
//   node bench/profile-summary.mjs <file.cpuprofile | folder of them> [--top 20] [--from-ms N]
// --from-ms skips the samples of the first N ms of each profile (e.g. the load before the edits).
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';

const target = process.argv[2];
const topIndex = process.argv.indexOf('--top');
const TOP = topIndex >= 0 ? Number(process.argv[topIndex + 1]) : 20;
const fromIndex = process.argv.indexOf('--from-ms');
const FROM_US = fromIndex >= 0 ? Number(process.argv[fromIndex + 1]) * 1000 : 0;
if (!target) {
  console.error('usage: node bench/profile-summary.mjs <file.cpuprofile | folder> [--top 20]');
  process.exit(2);
}
const files = statSync(target).isDirectory() ? readdirSync(target).filter((f) => f.endsWith('.cpuprofile')).map((f) => join(target, f)) : [target];

const byFunction = new Map();
const byFile = new Map();
let total = 0;
for (const file of files) {
  const profile = JSON.parse(readFileSync(file, 'utf8'));
  const nodes = new Map(profile.nodes.map((n) => [n.id, n]));
  const counts = new Map();
  let elapsed = 0;
  profile.samples.forEach((id, i) => {
    elapsed += profile.timeDeltas?.[i] ?? 0;
    if (elapsed >= FROM_US) counts.set(id, (counts.get(id) ?? 0) + 1);
  });
  for (const [id, count] of counts) {
    const { functionName, url, lineNumber } = nodes.get(id).callFrame;
    if (functionName === '(idle)' || functionName === '(program)') continue;
    const where = url ? url.replace(/^file:\/\//, '').replace(/^.*\/(out|dist|bench|node_modules)\//, '$1/') : '';
    const fn = `${functionName || '(anonymous)'} ${where ? `${where}:${lineNumber + 1}` : ''}`.trim();
    byFunction.set(fn, (byFunction.get(fn) ?? 0) + count);
    const f = where || functionName;
    byFile.set(f, (byFile.get(f) ?? 0) + count);
    total += count;
  }
}
const show = (title, map, n) => {
  console.log(title);
  for (const [name, count] of [...map].sort((a, b) => b[1] - a[1]).slice(0, n)) console.log(`  ${((100 * count) / total).toFixed(1).padStart(5)}%  ${name}`);
};
console.log(`${files.length} profile(s), ${total.toLocaleString('en-US')} samples (idle excluded)`);
show('Top self time by function:', byFunction, TOP);
show('Top self time by file:', byFile, Math.ceil(TOP / 2));

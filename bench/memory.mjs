#!/usr/bin/env node
// Memory benchmark (issue 8): peak RSS of reading and folding 100k, 1M and 5M lines of the Istio
// TEXT format (client and server line per call, so the join window is exercised too), each in its
// own process; the peak is the kernel's high-water mark for the process (getrusage ru_maxrss,
// the figure /usr/bin/time -v prints). Target: at most 1 GB for 1M lines, growing with the
// number of distinct shapes rather than with the number of lines.
//
//   node bench/memory.mjs [--quick] [--sizes 100000,1000000,5000000] [--format istio-text]
import { existsSync, mkdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { FORMATS } from './generate.mjs';
import { ensureMesh } from './data.mjs';
import { runMeasure } from './ingest.mjs';

const HERE = dirname(fileURLToPath(import.meta.url));
const arg = (name, fallback) => {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 && process.argv[i + 1] !== undefined ? process.argv[i + 1] : fallback;
};
const quick = process.argv.includes('--quick');
const INGEST_RESULTS = join(HERE, '.data', 'ingest-results.json');

/** The ingest suite's measurements of `file`, when it ran in the last hour. */
function fromIngestSuite(file) {
  if (!existsSync(INGEST_RESULTS) || Date.now() - statSync(INGEST_RESULTS).mtimeMs > 3_600_000) return undefined;
  const runs = JSON.parse(readFileSync(INGEST_RESULTS, 'utf8')).runs ?? {};
  return Object.values(runs).find((r) => r.file === file);
}
const sizes = arg('sizes', quick ? '10000,100000,500000' : '100000,1000000,5000000').split(',').map(Number);
const format = arg('format', 'istio-text');

const rows = [];
console.log(`Memory: peak RSS of read + fold, ${format}, by lines; target ≤ 1,024 MiB at 1M lines, growth with shapes`);
console.log(`${'lines'.padStart(10)}${'MB'.padStart(7)}${'calls'.padStart(10)}${'shapes'.padStart(9)}${'peak MiB'.padStart(10)}${'KiB/shape'.padStart(11)}${'baseline MiB'.padStart(14)}${'time s'.padStart(8)}`);
for (const lines of sizes) {
  const mesh = await ensureMesh(lines, [format]);
  const file = join(mesh.dir, 'traffic', FORMATS[format].file);
  // the ingest suite of this run may have measured this file already (same process setup)
  const earlier = fromIngestSuite(file);
  const ours = earlier?.ingest ?? runMeasure('ingest', format, file, mesh.inventory);
  // the bare read's peak: what streaming the file costs by itself
  const baseline = earlier?.baseline ?? runMeasure('baseline', format, file, mesh.inventory);
  const row = { lines, calls: ours.calls, shapes: ours.shapes, peakRssMiB: ours.maxRssMiB, baselinePeakRssMiB: baseline.maxRssMiB, ingestMs: ours.ingestMs, cpuMs: ours.cpuMs };
  rows.push(row);
  const mb = statSync(file).size / 1e6;
  console.log(`${lines.toLocaleString('en-US').padStart(10)}${mb.toFixed(0).padStart(7)}${ours.calls.toLocaleString('en-US').padStart(10)}${ours.shapes.toLocaleString('en-US').padStart(9)}${String(ours.maxRssMiB).padStart(10)}${((ours.maxRssMiB * 1024) / Math.max(1, ours.shapes)).toFixed(1).padStart(11)}${String(baseline.maxRssMiB).padStart(14)}${(ours.ingestMs / 1000).toFixed(1).padStart(8)}`);
}
// growth between consecutive sizes: MiB per extra 1,000 shapes and per extra 100k lines
const growth = rows.slice(1).map((r, i) => {
  const p = rows[i];
  return { from: p.lines, to: r.lines, mibPerThousandShapes: (r.peakRssMiB - p.peakRssMiB) / Math.max(1, (r.shapes - p.shapes) / 1000), mibPer100kLines: (r.peakRssMiB - p.peakRssMiB) / ((r.lines - p.lines) / 100_000) };
});
for (const g of growth) console.log(`  ${g.from.toLocaleString('en-US')} → ${g.to.toLocaleString('en-US')} lines: +${g.mibPerThousandShapes.toFixed(2)} MiB per 1,000 new shapes, +${g.mibPer100kLines.toFixed(1)} MiB per 100k lines`);
const at1m = rows.find((r) => r.lines === 1_000_000);
if (at1m) console.log(`  1M lines: ${at1m.peakRssMiB} MiB (${at1m.peakRssMiB <= 1024 ? 'met' : 'NOT met'}: target ≤ 1,024 MiB)`);
mkdirSync(join(HERE, '.data'), { recursive: true });
writeFileSync(join(HERE, '.data', 'memory-results.json'), `${JSON.stringify({ format, rows, growth, targetMiB: 1024 }, null, 2)}\n`);

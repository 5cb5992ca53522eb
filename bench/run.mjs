// npm run bench: every benchmark with its target, each suite in its own process so that one's
// heap does not disturb the next. Figures are printed as they come, then one summary table
// (figure, baseline measured in the same run, ratio, target), gathered in bench/results.json
// with the machine they were taken on.
//   npm run bench                                 all: decide lint edit floors ingest report memory clickhouse
//   npm run bench -- lint decide                  a selection
//   npm run bench -- --quick                      smaller sizes (a smoke run of a minute or two)
//   npm run bench -- memory --keep                run a selection, keep the other suites' last results
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';

// cheapest first, so a long run that is stopped still has the quick figures
const SUITES = {
  decide: { script: 'bench/decide.mjs', results: 'bench/.data/decide-results.json', what: 'decisions per CPU-second, 1,000 policies × 100k shapes per mesh (target ≥ 2M)' },
  lint: { script: 'bench/lint.mjs', results: 'bench/.data/lint-results.json', what: 'edit to one document of 1,000: ours vs yaml-language-server (target ≤ 0.2×)' },
  edit: { script: 'bench/edit.mjs', results: 'bench/.data/edit-results.json', what: 'didChange → publishDiagnostics in examples/istio and with 1M lines loaded (target p95 ≤ 100 ms)' },
  floors: { script: 'bench/floors.mjs', results: 'bench/.data/floors-results.json', what: 'the least any design of ours pays under the missed ingest and decide targets' },
  ingest: { script: 'bench/ingest.mjs', results: 'bench/.data/ingest-results.json', what: 'read + fold 1M lines per format vs read + split + parse (target ≤ 1.0×)' },
  report: { script: 'bench/report.mjs', results: 'bench/.data/report-results.json', what: 'report --format html vs simulate on the same 1M lines (target ≤ 2×, HTML < 2 MB)' },
  memory: { script: 'bench/memory.mjs', results: 'bench/.data/memory-results.json', what: 'peak RSS for 100k, 1M, 5M lines (target ≤ 1 GB at 1M)' },
  // Last: it takes ~25 min at 10M rows (most of it reading the same rows from a file), and it
  // prints "skipped" with the reason when clickhouse-server is not installed.
  clickhouse: { script: 'bench/clickhouse.mjs', results: 'bench/.data/clickhouse-results.json', what: 'fold 10M rows in ClickHouse + simulate vs the same rows from a file (RSS < 200 MB, faster)' },
};
const quick = process.argv.includes('--quick');
const chosen = process.argv.slice(2).filter((a) => a in SUITES);
const cpus = os.cpus();
const results = {
  date: new Date().toISOString(), quick,
  machine: { cpus: cpus.length, cpuModel: cpus[0]?.model, availableParallelism: os.availableParallelism(), memoryGiB: Number((os.totalmem() / 2 ** 30).toFixed(1)), platform: `${os.platform()} ${os.release()}`, node: process.version, loadAverageAtStart: os.loadavg().map((l) => Number(l.toFixed(2))) },
  suites: {},
};
if (process.argv.includes('--keep') && existsSync('bench/results.json')) {
  // the other suites' figures from the last run, each with the date of its own run
  const previous = JSON.parse(readFileSync('bench/results.json', 'utf8'));
  for (const [name, r] of Object.entries(previous.suites ?? {})) if (!chosen.includes(name)) results.suites[name] = { runDate: r.runDate ?? previous.date, ...r };
}
let failed = false;
const started = Date.now();
for (const name of chosen.length ? chosen : Object.keys(SUITES)) {
  const suite = SUITES[name];
  console.log(`\n## ${name}: ${suite.what}`);
  rmSync(suite.results, { force: true });
  const t0 = Date.now();
  const run = spawnSync(process.execPath, ['--expose-gc', suite.script, ...(quick ? ['--quick'] : [])], { stdio: 'inherit' });
  if (run.status !== 0) { failed = true; console.log(`(${name} failed with status ${run.status})`); }
  if (existsSync(suite.results)) results.suites[name] = { runDate: new Date(t0).toISOString(), seconds: Math.round((Date.now() - t0) / 1000), ...JSON.parse(readFileSync(suite.results, 'utf8')) };
  writeFileSync('bench/results.json', `${JSON.stringify(results, null, 2)}\n`); // kept current after each suite
}
results.machine.loadAverageAtEnd = os.loadavg().map((l) => Number(l.toFixed(2)));
results.totalSeconds = Math.round((Date.now() - started) / 1000);

// Summary: one row per figure, with its baseline from the same run.
const rows = [];
const s = results.suites;
const x = (v) => `${v.toFixed(2)}×`;
if (s.ingest) {
  for (const [format, r] of Object.entries(s.ingest.runs)) {
    rows.push([`ingest ${format}`, `${(r.ingest.ingestMs / 1000).toFixed(1)} s`, `${(r.baseline.ingestMs / 1000).toFixed(1)} s`, x(r.ratio), '≤ 1.00×', r.ratio <= 1]);
  }
}
if (s.decide) {
  for (const [mesh, r] of Object.entries(s.decide.meshes)) {
    rows.push([`decide ${mesh}`, `${(r.decisionsPerSecond / 1e6).toFixed(3)} M/s`, `${(r.baselinePerSecond / 1e6).toFixed(2)} M/s`, x(r.ratioToBaseline), '≥ 2 M/s', r.decisionsPerSecond >= 2e6]);
    // the product path: simulateShapes over the same calls folded into shapes (shapes per CPU-second)
    if (r.product) rows.push([`decide ${mesh} (product)`, `${(r.product.shapesPerSecond / 1e6).toFixed(3)} M/s`, `${(r.product.baselinePerSecond / 1e6).toFixed(2)} M/s`, x(r.product.ratioToBaseline), '≥ 2 M/s', r.product.shapesPerSecond >= 2e6]);
  }
}
if (s.floors) {
  const f = s.floors;
  const base = f.ingest.baseline;
  rows.push([`floor ingest scan+join`, `${(f.ingest['scan+join'].ms / 1000).toFixed(1)} s`, `${(base.ms / 1000).toFixed(1)} s`, x(f.ingest['scan+join'].ms / base.ms), '(ingest ≤ 1.00×)', undefined]);
  for (const [mesh, r] of Object.entries(f.decide)) rows.push([`floor decide ${mesh}`, `${r.outcomesUs.toFixed(2)} µs/shape`, `${r.budgetUs} µs (2M/s)`, x(r.outcomesUs / r.budgetUs), '', undefined]);
}
if (s.edit?.settledP95Ms !== undefined) {
  rows.push(['edit p95 (settled)', `${s.edit.settledP95Ms.toFixed(0)} ms`, '100 ms target', x(s.edit.settledP95Ms / 100), '≤ 100 ms', s.edit.settledP95Ms <= 100]);
  rows.push(['edit p50 (settled)', `${s.edit.settledP50Ms.toFixed(0)} ms`, '', '', '', undefined]);
}
if (s.edit?.examples) {
  const e = s.edit.examples;
  rows.push(['edit p95 examples (settled)', `${e.settledP95Ms.toFixed(0)} ms`, '100 ms target', x(e.settledP95Ms / 100), '≤ 100 ms', e.settledP95Ms <= 100]);
}
if (s.lint) {
  rows.push(['lint edit p95', `${s.lint.ours.editP95Ms.toFixed(0)} ms`, `${s.lint.yamlLanguageServer.editP95Ms.toFixed(0)} ms (yaml-ls)`, x(s.lint.ratioEditP95), '≤ 0.20×', s.lint.ratioEditP95 <= 0.2]);
  rows.push(['lint open', `${s.lint.ours.openMs.toFixed(0)} ms`, `${s.lint.yamlLanguageServer.openMs.toFixed(0)} ms (yaml-ls)`, x(s.lint.ratioOpen), '', undefined]);
}
if (s.report) {
  rows.push(['report vs simulate', `${(s.report.report.wallMs / 1000).toFixed(1)} s`, `${(s.report.simulate.wallMs / 1000).toFixed(1)} s (simulate)`, x(s.report.ratioWall), '≤ 2.00×', s.report.ratioWall <= 2]);
  rows.push(['report HTML size', `${(s.report.htmlBytes / 1024).toFixed(0)} KiB`, '', '', '< 2,048 KiB', s.report.htmlBytes < 2 * 1024 * 1024]);
}
if (s.memory) {
  for (const r of s.memory.rows) {
    rows.push([`memory ${r.lines.toLocaleString('en-US')} lines`, `${r.peakRssMiB} MiB`, `${r.baselinePeakRssMiB} MiB (bare read)`, `${r.shapes.toLocaleString('en-US')} shapes`, r.lines === 1_000_000 ? '≤ 1,024 MiB' : '', r.lines === 1_000_000 ? r.peakRssMiB <= 1024 : undefined]);
  }
}
if (s.clickhouse?.targets) {
  const c = s.clickhouse;
  const mb = (mib) => Math.round(mib * 1048576 / 1e6);
  rows.push([`clickhouse ${c.rows >= 1e6 ? `${c.rows / 1e6}M` : c.rows.toLocaleString('en-US')} rows`, `${(c.clickhouse.ms / 1000).toFixed(1)} s`, c.files ? `${(c.files.ms / 1000).toFixed(1)} s (same rows, file)` : '(file side not run)', c.ratio !== undefined ? x(c.ratio) : '', '< 1.00×', c.targets.fasterThanFiles ?? undefined]);
  rows.push(['clickhouse peak RSS', `${c.targets.peakRssMB} MB`, c.files ? `${mb(c.files.maxRssMiB)} MB (file)` : '', '', '< 200 MB', c.targets.rssUnder200MB]);
}
results.summary = rows.map(([figure, ours, baseline, ratio, target, met]) => ({ figure, ours, baseline, ratio, target, met }));
const widths = [28, 16, 26, 18, 18];
console.log(`\n## Summary (${results.machine.cpus} × ${results.machine.cpuModel}, Node ${process.version}, load ${results.machine.loadAverageAtStart[0]} → ${results.machine.loadAverageAtEnd[0]}, ${results.totalSeconds} s)`);
console.log(['figure', 'ours', 'baseline (same run)', 'ratio', 'target', 'met'].map((h, i) => (i < widths.length ? h.padEnd(widths[i]) : h)).join(''));
for (const r of rows) console.log(r.map((c, i) => (i < widths.length ? String(c).padEnd(widths[i]) : c === undefined ? '' : c ? 'yes' : 'NO')).join(''));
writeFileSync('bench/results.json', `${JSON.stringify(results, null, 2)}\n`);
console.log('\nResults: bench/results.json');
process.exit(failed ? 1 : 0);

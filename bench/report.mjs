// Report benchmark (issue 10): `mesh-policy report --format html` against `mesh-policy simulate`
// on the same 1M log lines, policies and inventory, each in its own process (the built CLI, as a
// user runs it), one after the other. Targets: the report takes at most 2× simulate's time, and
// the HTML stays under 2 MB whatever the traffic size.
//
//   node bench/report.mjs [--quick]       (--quick: 100k lines)
// Each process reports its own CPU time and peak RSS when it exits (bench/usage-on-exit.cjs), so
// the CPU-time ratio, which the machine's load moves less, is printed next to the wall-time one.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ensureMesh } from './data.mjs';

const HERE = dirname(fileURLToPath(import.meta.url));
const ROOT = join(HERE, '..');
const QUICK = process.argv.includes('--quick');
const LINES = QUICK ? 100_000 : 1_000_000;
const FORMAT = 'istio-text';
const TARGET_RATIO = 2;
const TARGET_HTML_BYTES = 2 * 1024 * 1024;

/** The generated mesh for LINES lines. A folder that already has the log is used as it is (other
 * suites may be reading it); otherwise the generator writes what is missing. */
async function inputs() {
  const dir = join(HERE, '.data', `mesh-${LINES}`);
  const manifestPath = join(dir, 'manifest.json');
  const manifest = existsSync(manifestPath) ? JSON.parse(readFileSync(manifestPath, 'utf8')) : undefined;
  const log = manifest?.files?.[FORMAT] && join(dir, manifest.files[FORMAT].path);
  const ready = log && existsSync(log) && existsSync(join(dir, 'policies', 'istio.yaml')) && existsSync(join(dir, 'inventory', 'cluster.yaml'));
  const mesh = ready ? { dir, manifest } : await ensureMesh(LINES, [FORMAT]);
  return {
    dir: mesh.dir,
    log: join(mesh.dir, mesh.manifest.files[FORMAT].path),
    policies: join(mesh.dir, 'policies', 'istio.yaml'),
    inventory: join(mesh.dir, 'inventory', 'cluster.yaml'),
    config: join(mesh.dir, '.meshpolicy.yaml'),
  };
}

/** Runs the CLI once; wall time from here, CPU time and peak RSS from the process itself. */
function run(label, args, { expect = [0, 1] } = {}) {
  const usageFile = join(HERE, '.data', `report-usage-${process.pid}.json`);
  rmSync(usageFile, { force: true });
  const start = performance.now();
  const child = spawnSync(process.execPath, ['--require', join(HERE, 'usage-on-exit.cjs'), join(ROOT, 'bin', 'mesh-policy.js'), ...args], {
    cwd: ROOT, env: { ...process.env, MESH_POLICY_USAGE_FILE: usageFile }, stdio: ['ignore', 'ignore', 'pipe'], maxBuffer: 1 << 24,
  });
  const wallMs = performance.now() - start;
  if (!expect.includes(child.status)) throw new Error(`${label} exited with ${child.status}: ${String(child.stderr).slice(-2000)}`);
  const usage = JSON.parse(readFileSync(usageFile, 'utf8'));
  rmSync(usageFile, { force: true });
  return { wallMs: Math.round(wallMs), cpuMs: usage.cpuMs, maxRssMiB: usage.maxRssMiB, exitCode: child.status };
}

const input = await inputs();
mkdirSync(join(HERE, '.data'), { recursive: true });
const htmlPath = join(HERE, '.data', `report-${LINES}.html`);
rmSync(htmlPath, { force: true });
const common = ['--policies', input.policies, '--traffic', input.log, '--inventory', input.inventory, '--config', input.config];
console.log(`Report vs simulate: ${LINES.toLocaleString('en-US')} ${FORMAT} lines, ${input.policies.replace(`${ROOT}/`, '')}; each in its own process`);
const simulate = run('simulate', ['simulate', ...common, '--format', 'text']);
const report = run('report', ['report', ...common, '--format', 'html', '--output', htmlPath]);
const htmlBytes = statSync(htmlPath).size;
const html = readFileSync(htmlPath, 'utf8');
if (!html.includes('</html>')) throw new Error('the report is not a complete HTML file');
// The uncapped access inventory and the policy tests written from the same traffic (no target of
// their own: their time against simulate's is recorded, as each decides the same shapes).
const csvPath = join(HERE, '.data', `report-${LINES}.csv`);
const testsPath = join(HERE, '.data', `report-${LINES}-tests.yaml`);
const csv = run('report csv', ['report', ...common, '--format', 'csv', '--output', csvPath]);
const csvRows = readFileSync(csvPath, 'utf8').split('\r\n').length - 2;
const tests = run('generate --tests', ['generate', '--tests', ...common, '--output', testsPath]);
const testCount = (readFileSync(testsPath, 'utf8').match(/^ {2}- /gm) ?? []).length;
const results = {
  lines: LINES, format: FORMAT, logBytes: statSync(input.log).size, simulate, report, htmlBytes,
  csv: { ...csv, bytes: statSync(csvPath).size, rows: csvRows, ratioWall: Number((csv.wallMs / simulate.wallMs).toFixed(3)), ratioCpu: Number((csv.cpuMs / simulate.cpuMs).toFixed(3)) },
  generateTests: { ...tests, tests: testCount, ratioWall: Number((tests.wallMs / simulate.wallMs).toFixed(3)), ratioCpu: Number((tests.cpuMs / simulate.cpuMs).toFixed(3)) },
  ratioWall: Number((report.wallMs / simulate.wallMs).toFixed(3)), ratioCpu: Number((report.cpuMs / simulate.cpuMs).toFixed(3)),
  targetRatio: TARGET_RATIO, targetHtmlBytes: TARGET_HTML_BYTES,
};
const s = (ms) => `${(ms / 1000).toFixed(1)} s`.padStart(9);
console.log(`${'command'.padEnd(26)}${'wall'.padStart(9)}${'CPU'.padStart(9)}${'peak RSS'.padStart(10)}`);
console.log(`${'simulate --format text'.padEnd(26)}${s(simulate.wallMs)}${s(simulate.cpuMs)}${`${simulate.maxRssMiB} MiB`.padStart(10)}`);
console.log(`${'report --format html'.padEnd(26)}${s(report.wallMs)}${s(report.cpuMs)}${`${report.maxRssMiB} MiB`.padStart(10)}`);
console.log(`${'report --format csv'.padEnd(26)}${s(csv.wallMs)}${s(csv.cpuMs)}${`${csv.maxRssMiB} MiB`.padStart(10)}  ${results.csv.ratioWall.toFixed(2)}× simulate's wall, ${csvRows.toLocaleString('en-US')} rows, ${(results.csv.bytes / 1048576).toFixed(1)} MiB`);
console.log(`${'generate --tests'.padEnd(26)}${s(tests.wallMs)}${s(tests.cpuMs)}${`${tests.maxRssMiB} MiB`.padStart(10)}  ${results.generateTests.ratioWall.toFixed(2)}× simulate's wall, ${testCount} tests`);
console.log(`ratio report/simulate: wall ${results.ratioWall.toFixed(2)}×, CPU ${results.ratioCpu.toFixed(2)}× (target ≤ ${TARGET_RATIO}×: ${results.ratioWall <= TARGET_RATIO ? 'met' : 'NOT met'})`);
console.log(`HTML report: ${(htmlBytes / 1024).toFixed(0)} KiB (target < 2 MiB: ${htmlBytes < TARGET_HTML_BYTES ? 'met' : 'NOT met'})`);
writeFileSync(join(HERE, '.data', 'report-results.json'), `${JSON.stringify(results, null, 2)}\n`);

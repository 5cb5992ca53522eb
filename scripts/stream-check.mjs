// Streams a ~2 GB access log through `mesh-policy traffic` and checks the memory bound and Ctrl-C.
// Not part of `npm test` (it writes 2 GB and reads it twice). Usage, after `npm run build`:
//   node scripts/stream-check.mjs [--gb 2] [--dir /tmp] [--workers N] [--keep]
// Prints the peak RSS (VmHWM of the CLI process, polled from /proc) and the time; exits 1 when the
// peak reaches 1 GiB or the interrupted run does not stop cleanly within 2 s.
import { spawn } from 'node:child_process';
import { createWriteStream, mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const args = process.argv.slice(2);
const option = (name, fallback) => { const i = args.indexOf(name); return i >= 0 ? args[i + 1] : fallback; };
const gigabytes = Number(option('--gb', '2'));
const workers = option('--workers', undefined);
const dir = mkdtempSync(join(option('--dir', tmpdir()), 'mesh-policy-stream-'));
const log = join(dir, 'big.log');
const LIMIT = 1024 * 1024 * 1024;

/** Envoy default-format lines: 997 distinct calls (callers, services, paths, statuses) repeated in
 * a shuffled order, as real traffic repeats itself; times and request ids are unique per line. */
function line(i) {
  const t = new Date(Date.UTC(2025, 2, 14, 9) + i * 3).toISOString();
  const c = (i * 7919) % 997;
  const ns = `ns${c % 7}`;
  const path = `/api/v${c % 3}/items/${c % 50}`;
  const status = c % 41 === 0 ? 403 : 200;
  const details = status === 403 ? 'rbac_access_denied_matched_policy[none]' : 'via_upstream';
  const id = `${(i * 2654435761 >>> 0).toString(16).padStart(8, '0')}-1b7d-4c36-9a0e-${String(i).padStart(12, '0')}`;
  return `[${t}] "${c % 5 === 0 ? 'POST' : 'GET'} ${path} HTTP/1.1" ${status} - ${details} - "-" 0 19 3 2 "-" "curl/8.5.0" "${id}" "svc${c % 11}.${ns}:8080" "10.244.${c % 4}.${c % 200}:8080" inbound|8080|| 127.0.0.6:51022 10.244.${c % 4}.${c % 200}:8080 10.244.9.${c % 250}:40318 outbound_.8080_._.svc${c % 11}.${ns}.svc.cluster.local default\n`;
}

async function generate(bytes) {
  const out = createWriteStream(log, { highWaterMark: 4 * 1024 * 1024 });
  let written = 0;
  let i = 0;
  const started = Date.now();
  while (written < bytes) {
    let chunk = '';
    for (let k = 0; k < 2000; k++) chunk += line(i++);
    written += Buffer.byteLength(chunk);
    if (!out.write(chunk)) await new Promise((resolve) => out.once('drain', resolve));
    if (i % 1_000_000 < 2000) process.stderr.write(`\rwriting: ${(written / 1024 ** 3).toFixed(2)} of ${gigabytes} GB`);
  }
  await new Promise((resolve) => out.end(resolve));
  process.stderr.write(`\rwrote ${(written / 1024 ** 3).toFixed(2)} GB, ${i.toLocaleString('en-US')} lines in ${((Date.now() - started) / 1000).toFixed(0)} s\n`);
  return i;
}

/** Runs the CLI on the log, polling its VmHWM; `interruptAfterMs` sends SIGINT then. */
function runTraffic(interruptAfterMs) {
  return new Promise((resolve) => {
    const argv = [join(root, 'bin', 'mesh-policy.js'), 'traffic', log, '--no-inventory', '--progress', '--top', '5', ...(workers ? ['--workers', workers] : [])];
    const child = spawn(process.execPath, argv, { cwd: dir, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    let peak = 0;
    child.stdout.on('data', (d) => { stdout += d; });
    child.stderr.on('data', (d) => { stderr += d; process.stderr.write(d); });
    // The CLI and its worker threads share one process: VmHWM is the peak of all of them.
    const poll = setInterval(() => {
      try {
        const status = readFileSync(`/proc/${child.pid}/status`, 'utf8');
        const hwm = /VmHWM:\s+(\d+) kB/.exec(status);
        if (hwm) peak = Math.max(peak, Number(hwm[1]) * 1024);
      } catch { /* exited */ }
    }, 200);
    const started = Date.now();
    let interruptedAt;
    if (interruptAfterMs !== undefined) setTimeout(() => { interruptedAt = Date.now(); child.kill('SIGINT'); }, interruptAfterMs);
    child.on('close', (code, signal) => {
      clearInterval(poll);
      resolve({ code, signal, stdout, stderr, peak, ms: Date.now() - started, stopMs: interruptedAt ? Date.now() - interruptedAt : undefined });
    });
  });
}

const mib = (n) => `${(n / 1024 / 1024).toFixed(0)} MiB`;
let failed = false;
try {
  const lines = await generate(gigabytes * 1024 ** 3);
  const size = statSync(log).size;
  console.log(`log: ${(size / 1024 ** 3).toFixed(2)} GiB, ${lines.toLocaleString('en-US')} lines`);

  const full = await runTraffic();
  const read = /Read 1 file, ([\d,]+) lines/.exec(full.stdout);
  console.log(`traffic: exit ${full.code}, ${(full.ms / 1000).toFixed(1)} s (${(size / 1024 / 1024 / (full.ms / 1000)).toFixed(0)} MiB/s), peak RSS ${mib(full.peak)} (limit ${mib(LIMIT)}), lines read ${read ? read[1] : '?'}`);
  console.log(full.stdout.split('\n').slice(0, 12).join('\n'));
  if (full.code !== 0 || full.peak >= LIMIT || !read || Number(read[1].replace(/,/g, '')) !== lines) failed = true;

  const stopped = await runTraffic(Math.min(10_000, full.ms / 2));
  console.log(`interrupted: exit ${stopped.code}, stopped ${stopped.stopMs} ms after SIGINT, stdout ${stopped.stdout.length} bytes, message: ${JSON.stringify(stopped.stderr.trim().split('\n').pop())}`);
  if (stopped.code !== 130 || stopped.stopMs >= 2000 || stopped.stdout !== '') failed = true;
} finally {
  if (!args.includes('--keep')) rmSync(dir, { recursive: true, force: true });
}
console.log(failed ? 'FAILED' : 'ok');
process.exitCode = failed ? 1 : 0;

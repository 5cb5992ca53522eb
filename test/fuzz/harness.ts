import { spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { gunzipSync } from 'node:zlib';
import { completeAt } from '../../server/src/engine/complete';
import { newPolicySuggestions, templateFacts } from '../../server/src/engine/newPolicy';
import { defaultConfig } from '../../server/src/engine/config/projectConfig';
import { describeAt } from '../../server/src/engine/describe';
import { Engine } from '../../server/src/engine/engine';
import { Simulation, simulateShapes } from '../../server/src/engine/simulate';
import type { AccessRecord } from '../../server/src/engine/traffic/accessRecord';
import { createReader, detectFormat } from '../../server/src/engine/traffic/detect';
import { ingestTraffic } from '../../server/src/engine/traffic/ingest';
import { FORMAT_IDS } from '../../server/src/engine/traffic/ingest/readers';
import { WorkspaceModel } from '../../server/src/engine/workspace';
import { LspTestClient } from '../helpers/lspClient';
import { EXAMPLES, REPO_ROOT } from '../helpers/paths';
import { hugeString, regexVictim } from './hostile';
import { check, checkFindings, checkFix, hasStackTrace, InvariantError } from './invariants';
import { expectedLineCount, fuzzLines, fuzzLogFile, JWT, mutateLine } from './logs';
import { examplePolicies, fuzzPolicy, type PolicyFormat } from './policies';
import { caseSeed, Prng } from './prng';

export type CaseKind = 'lint' | 'reader' | 'ingest' | 'decide' | 'cli' | 'lsp';

/**
 * One generated case. `parts` are the texts a case is made of (policy text, log lines, file
 * contents as latin1 so that any byte survives); the minimizer shrinks them.
 */
export interface FuzzCase {
  kind: CaseKind;
  seed: number;
  index: number;
  parts: string[];
  meta: Record<string, unknown>;
}

export interface Failure {
  fuzzCase: FuzzCase;
  message: string;
}

/** How long one case may take before it counts as a hang (the LSP budget is per request). */
export const HANG_MS = { inProcess: 5000, lspRequest: 2000, cli: 30_000 };

// ---- shared state: one engine, the examples' simulations, one language server ----

let engine: Engine | undefined;
function theEngine(): Engine {
  engine ??= new Engine();
  return engine;
}

let exampleSimulations: Simulation[] | undefined;
function simulations(): Simulation[] {
  if (exampleSimulations) return exampleSimulations;
  exampleSimulations = ['istio', 'linkerd', 'consul'].map((mesh) => {
    const workspace = new WorkspaceModel(defaultConfig(join(EXAMPLES, mesh)));
    for (const policy of examplePolicies().filter((p) => p.name.startsWith(`${mesh}/`))) workspace.update(theEngine().prepare(theEngine().read(policy.path, policy.text)));
    return new Simulation(workspace);
  });
  return exampleSimulations;
}

let scratch: string | undefined;
function scratchDir(): string {
  scratch ??= mkdtempSync(join(tmpdir(), 'mesh-policy-fuzz-'));
  return scratch;
}

export function cleanup(): void {
  if (scratch) rmSync(scratch, { recursive: true, force: true });
  scratch = undefined;
}

// ---- generation ----

/** The mix of a run: mostly in-process engine cases, a few over the CLI and the language server. */
export function kindOf(index: number, mix: { cliEvery: number; lspEvery: number }): CaseKind {
  if (mix.cliEvery > 0 && index % mix.cliEvery === mix.cliEvery - 1) return 'cli';
  if (mix.lspEvery > 0 && index % mix.lspEvery === mix.lspEvery - 3) return 'lsp';
  const r = caseSeed(index, 7) % 100;
  return r < 40 ? 'lint' : r < 70 ? 'reader' : r < 85 ? 'decide' : 'ingest';
}

/** Templates filled in from no workspace: their placeholders. */
const NO_TEMPLATE_FACTS = templateFacts(undefined);

const EXT: Record<PolicyFormat, string> = { yaml: 'yaml', json: 'json', hcl: 'hcl' };

export function generate(kind: CaseKind, seed: number, index: number): FuzzCase {
  const rng = new Prng(caseSeed(seed, index));
  const base = { kind, seed, index };
  switch (kind) {
    case 'lint': {
      const policy = fuzzPolicy(rng);
      const offsets = Array.from({ length: 4 }, () => rng.int(policy.text.length + 1));
      return { ...base, parts: [policy.text], meta: { name: `fuzz.${EXT[policy.format]}`, offsets } };
    }
    case 'reader': {
      const { seed: from, lines } = fuzzLines(rng);
      const format = rng.chance(0.5) ? undefined : rng.pick(FORMAT_IDS);
      return { ...base, parts: lines, meta: { from: from.file.slice(REPO_ROOT.length + 1), ...(format ? { format } : {}) } };
    }
    case 'ingest': {
      const files = Array.from({ length: rng.between(1, 3) }, (_, i) => fuzzLogFile(rng, i));
      return { ...base, parts: files.map((f) => f.content.toString('latin1')), meta: { names: files.map((f) => f.name), maxLines: rng.chance(0.3) ? rng.between(1, 8) : undefined } };
    }
    case 'decide': {
      const policy = fuzzPolicy(rng);
      const records = Array.from({ length: rng.between(1, 6) }, () => recordJson(rng));
      return { ...base, parts: [policy.text, ...records], meta: { name: `fuzz.${EXT[policy.format]}` } };
    }
    case 'cli': {
      const policy = fuzzPolicy(rng);
      const log = fuzzLogFile(rng, 0);
      const command = rng.pick(['lint', 'lint', 'traffic', 'simulate', 'explain', 'bogus']);
      const format = rng.pick(['text', 'json', 'jsonl', 'sarif', 'xml']);
      const extra = rng.chance(0.15) ? [rng.pick(['--max-documents', '--max-file-size', '--top', '--workers', '--nope', '--max-lines']), rng.pick(['0', '-1', 'x', '1', '1e999', ''])] : [];
      return { ...base, parts: [policy.text, log.content.toString('latin1'), recordJson(rng)], meta: { name: `fuzz.${EXT[policy.format]}`, logName: log.name, command, format, extra } };
    }
    case 'lsp': {
      const policy = fuzzPolicy(rng);
      const edited = rng.chance(0.5) ? fuzzPolicy(rng).text : policy.text.slice(0, rng.int(policy.text.length + 1));
      const positions = Array.from({ length: 3 }, () => ({ line: rng.int(40), character: rng.int(60) }));
      return { ...base, parts: [policy.text, edited], meta: { name: `fuzz.${EXT[policy.format]}`, languageId: policy.format === 'hcl' ? 'hcl' : policy.format, positions } };
    }
  }
}

/** A fuzzed record as JSON text (a record nested too deep to print again is kept as printed). */
function recordJson(rng: Prng): string {
  const record = fuzzRecord(rng);
  try {
    return JSON.stringify(record);
  } catch {
    return '{"request":{"path":"/deep"}}';
  }
}

/** An access record: a parsed example line, mutated, or made up with hostile values. */
function fuzzRecord(rng: Prng): unknown {
  const mesh = rng.pick(['istio', 'linkerd', 'consul', undefined, 'bogus']);
  const record: Record<string, unknown> = {
    mesh,
    protocol: rng.pick(['http', 'http2', 'grpc', 'tcp', 'x']),
    source: rng.chance(0.8) ? { principal: rng.pick(['cluster.local/ns/shop/sa/frontend', null, `${'a/'.repeat(2000)}ns/shop/sa/x`, 'web.emojivoto.serviceaccount.identity.linkerd.cluster.local', 'spiffe://dc1/ns/default/dc/dc1/svc/dashboard']), namespace: rng.pick(['shop', 'emojivoto', 'default']), ip: rng.pick(['10.0.0.1', '::1', 'x', '999.1.1.1']) } : rng.pick([null, 'x', 5]),
    destination: { namespace: rng.pick(['shop', 'emojivoto', 'default']), workload: rng.pick(['cart', 'web', 'api', 'payments', 'voting']), service: rng.pick(['api', 'web-svc', 'counting']), port: rng.pick([8080, 9090, 0, -1, 70000, '80' as unknown as number]) },
    request: rng.chance(0.9) ? {
      method: rng.pick(['GET', 'POST', 'get', '', 'CONNECT']),
      path: rng.pick(['/', '/api/x', `/x?access_token=${JWT}`, regexVictim(rng), hugeString(rng).slice(0, 100_000), '/v1/admin/a', '/%zz']),
      host: rng.pick(['api', 'a:b:c', '']),
      headers: { authorization: `Bearer ${JWT}`, 'x-env': rng.pick(['prod', regexVictim(rng)]), 'x-a': regexVictim(rng), cookie: 'session=fuzz-cookie-value' },
      ...(rng.chance(0.3) ? { jwt: { valid: rng.chance(0.5), issuer: 'x', claims: { groups: ['a'], nested: { deep: rng.pick([1, 'x', null]) } } } } : {}),
    } : rng.pick([null, [], 'x']),
    observed: rng.pick(['allowed', 'denied', 'unknown', 'maybe']),
    response: { status: rng.pick([200, 403, 0, -5, 1e9]) },
    count: rng.pick([1, 2, 0, -1, 1e12, 0.5, undefined]),
  };
  if (rng.chance(0.3)) {
    try {
      return JSON.parse(mutateLine(rng, JSON.stringify(record))) as unknown;
    } catch {
      return record;
    }
  }
  return record;
}

// ---- running ----

/** Runs `run` and checks it ends within the hang threshold, in CPU time: a synchronous run that
 * loops burns CPU, while other processes on a shared machine only stretch its wall time. A slow
 * run is timed once more (a GC of earlier cases' garbage may land in it); a slow input is slow twice. */
function timed<T>(what: string, run: () => T): T {
  let ms = 0;
  let result: T | undefined;
  for (let attempt = 0; attempt < 2; attempt++) {
    const started = process.cpuUsage();
    result = run();
    const used = process.cpuUsage(started);
    ms = (used.user + used.system) / 1000;
    if (ms < HANG_MS.inProcess) return result;
  }
  throw new InvariantError(`${what} took ${Math.round(ms)} ms of CPU, twice (hang threshold ${HANG_MS.inProcess} ms)`);
}

function runLint(c: FuzzCase): void {
  const text = c.parts[0]!;
  const name = c.meta['name'] as string;
  const e = theEngine();
  const path = join('/fuzz', name);
  const { findings, resources, file } = timed('lint', () => e.lint(e.read(path, text)));
  checkFindings(text, findings);
  for (const offset of c.meta['offsets'] as number[]) {
    timed('hover', () => describeAt(file, resources, e.registry, Math.min(offset, text.length)));
    timed('completion', () => completeAt(file, resources, e.registry, Math.min(offset, text.length)));
    // Where no policy is recognized: a new policy's templates, apiVersion and kind; each replaces text inside the file.
    for (const s of timed('new-policy completion', () => newPolicySuggestions(file, resources, e.registry, Math.min(offset, text.length), NO_TEMPLATE_FACTS))) {
      check(s.replace.start >= 0 && s.replace.start <= s.replace.end && s.replace.end <= text.length, `new-policy completion "${s.label}" replaces ${s.replace.start}..${s.replace.end} of ${text.length} characters`);
    }
  }
  // Each fix applied alone keeps the rest of the file and adds no syntax error.
  const syntaxErrors = findings.filter((f) => f.code === 'MPA0001').length;
  for (const finding of findings.slice(0, 10)) {
    for (const fix of finding.fixes ?? []) {
      const fixed = checkFix(text, undefined, fix.edits, `${finding.code} fix "${fix.title}"`);
      const after = timed('lint after a fix', () => e.lint(e.read(path, fixed)));
      check(after.findings.filter((f) => f.code === 'MPA0001').length <= syntaxErrors, `${finding.code} fix "${fix.title}" introduces a syntax error: ${after.findings.find((f) => f.code === 'MPA0001')?.message}`);
    }
  }
}

function runReader(c: FuzzCase): void {
  const forced = c.meta['format'] as (typeof FORMAT_IDS)[number] | undefined;
  const format = forced ?? timed('detect', () => detectFormat(c.parts, 'fuzz.log'));
  if (!format) return;
  check(FORMAT_IDS.includes(format), `detectFormat returned ${JSON.stringify(format)}`);
  const reader = createReader(format);
  for (const line of c.parts) {
    let result;
    try {
      result = timed('read a line', () => reader.read(line));
    } catch (error) {
      throw new InvariantError(`the ${format} reader threw: ${error instanceof Error ? `${error.name}: ${error.message}` : String(error)}`);
    }
    check(result && (result.kind === 'record' || result.kind === 'skip'), `the ${format} reader returned ${JSON.stringify(result)?.slice(0, 200)}`);
    if (result.kind === 'skip') check(typeof result.reason === 'string' && result.reason.length > 0, `a skip without a reason: ${JSON.stringify(result)}`);
    else {
      check(result.record && typeof result.record === 'object', 'a record that is not an object');
      JSON.stringify(result.record);
      for (const sim of simulations()) timed('decide', () => sim.decide(result.record, true));
    }
  }
}

/** Lines in a file's content as the engine should see it, or undefined when it cannot be known
 * (gzip that does not decompress whole). */
function expectedLines(content: Buffer, name: string): number | undefined {
  const gzip = name.toLowerCase().endsWith('.gz') || (content.length >= 2 && content[0] === 0x1f && content[1] === 0x8b);
  let data = content;
  if (gzip) {
    try {
      data = gunzipSync(content);
    } catch {
      return undefined;
    }
  }
  return expectedLineCount(data.toString('latin1'));
}

async function runIngest(c: FuzzCase): Promise<void> {
  const dir = join(scratchDir(), `ingest-${c.seed}-${c.index}`);
  mkdirSync(dir, { recursive: true });
  const names = c.meta['names'] as string[];
  const paths = c.parts.map((content, i) => {
    const path = join(dir, names[i]!);
    writeFileSync(path, Buffer.from(content, 'latin1'));
    return path;
  });
  try {
    const maxLines = c.meta['maxLines'] as number | undefined;
    const started = performance.now();
    const model = await ingestTraffic(paths, { workers: 1, config: defaultConfig(dir), ...(maxLines ? { maxLinesPerFile: maxLines } : {}) });
    check(performance.now() - started < HANG_MS.inProcess, `ingest took ${Math.round(performance.now() - started)} ms`);
    const s = model.stats;
    check(s.files.length === paths.length, `${s.files.length} files in the stats for ${paths.length} read`);
    let lines = 0;
    for (const [i, f] of s.files.entries()) {
      check(f.lines === f.parsed + f.skipped, `${names[i]}: lines ${f.lines} ≠ parsed ${f.parsed} + skipped ${f.skipped}`);
      const reasons = Object.values(f.skippedByReason).reduce((a, b) => a + b, 0);
      check(reasons === f.skipped, `${names[i]}: skipped ${f.skipped} but the reasons add up to ${reasons}`);
      const expected = expectedLines(Buffer.from(c.parts[i]!, 'latin1'), names[i]!);
      // (a Loki API document's lines are its entries, not the file's lines)
      if (expected !== undefined && !f.error && f.document === undefined) check(f.lines === expected, `${names[i]}: ${f.lines} lines counted, the file has ${expected}`);
      if (maxLines !== undefined) check(f.parsed <= maxLines, `${names[i]}: ${f.parsed} lines parsed past the limit of ${maxLines}`);
      lines += f.lines;
    }
    check(s.lines === lines && s.lines === s.parsed + s.skipped, `total lines ${s.lines} ≠ parsed ${s.parsed} + skipped ${s.skipped}`);
    const sum = (counts: Record<string, number | undefined>) => Object.values(counts).reduce<number>((a, b) => a + (b ?? 0), 0);
    const shapeCalls = model.shapes.reduce((a, shape) => a + shape.count, 0);
    check(s.calls === shapeCalls, `calls ${s.calls} ≠ Σ shape counts ${shapeCalls}`);
    check(sum(s.sourceBy) === s.calls && sum(s.destinationBy) === s.calls, 'calls ≠ Σ sourceBy or Σ destinationBy');
    check(s.parsed + s.gatewayLegs + s.extraCalls === s.calls + s.joinedPairs, `parsed ${s.parsed} + gateway legs ${s.gatewayLegs} + extra ${s.extraCalls} ≠ calls ${s.calls} + joined pairs ${s.joinedPairs}`);
    for (const sim of simulations()) {
      const result = timed('simulate', () => simulateShapes(sim, model.shapes));
      check(result.totals.calls === s.calls, `simulated ${result.totals.calls} calls of ${s.calls}`);
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

function runDecide(c: FuzzCase): void {
  const e = theEngine();
  const workspace = new WorkspaceModel(defaultConfig('/fuzz'));
  workspace.update(e.prepare(e.read(join('/fuzz', c.meta['name'] as string), c.parts[0]!)));
  const simulation = timed('compile', () => new Simulation(workspace));
  for (const raw of c.parts.slice(1)) {
    let record: AccessRecord;
    try {
      record = JSON.parse(raw) as AccessRecord;
    } catch {
      continue;
    }
    for (const sim of [simulation, ...simulations()]) {
      const decision = timed('decide', () => sim.decide(record, true));
      check(['allow', 'deny', 'external', 'unknown'].includes(decision.verdict), `verdict ${JSON.stringify(decision.verdict)}`);
      check(Array.isArray(decision.trace) && decision.trace.length > 0, 'a decision without a trace');
    }
  }
}

// ---- over the CLI ----

function spawnCli(args: string[], cwd: string): Promise<{ code: number | null; signal: NodeJS.Signals | null; stdout: string; stderr: string; ms: number }> {
  return new Promise((resolve) => {
    const started = performance.now();
    const child = spawn(process.execPath, [join(REPO_ROOT, 'bin', 'mesh-policy.js'), ...args], { cwd, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => { if (stdout.length < 1_000_000) stdout += d.toString(); });
    child.stderr.on('data', (d: Buffer) => { if (stderr.length < 1_000_000) stderr += d.toString(); });
    const timer = setTimeout(() => child.kill('SIGKILL'), HANG_MS.cli);
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      resolve({ code, signal, stdout, stderr, ms: performance.now() - started });
    });
  });
}

const EXIT_CODES: Record<string, number[]> = { lint: [0, 1, 2], traffic: [0, 2], simulate: [0, 1, 2], explain: [0, 2], bogus: [2] };

async function runCliCase(c: FuzzCase): Promise<void> {
  const dir = join(scratchDir(), `cli-${c.seed}-${c.index}`);
  mkdirSync(dir, { recursive: true });
  const name = c.meta['name'] as string;
  const logName = c.meta['logName'] as string;
  writeFileSync(join(dir, name), c.parts[0]!);
  writeFileSync(join(dir, logName), Buffer.from(c.parts[1]!, 'latin1'));
  const command = c.meta['command'] as string;
  const format = c.meta['format'] as string;
  const extra = c.meta['extra'] as string[];
  const args = command === 'lint' ? ['lint', name, '--format', format]
    : command === 'traffic' ? ['traffic', logName, '--format', format, '--no-inventory', '--workers', '1']
      : command === 'simulate' ? ['simulate', '--policies', name, '--traffic', logName, '--format', format]
        : command === 'explain' ? ['explain', '--policies', name, '--call', c.parts[2]!.length > 64_000 ? '{"mesh":"istio"}' : c.parts[2]!, '--format', format]
          : [command, name];
  try {
    const result = await spawnCli([...args, ...extra], dir);
    const shown = `mesh-policy ${args.slice(0, 1).join(' ')} (exit ${result.code}${result.signal ? `, ${result.signal}` : ''})`;
    check(result.signal === null, `${shown}: killed after ${Math.round(result.ms)} ms`);
    check(EXIT_CODES[command]!.includes(result.code!), `${shown}: exit code not documented; stderr: ${result.stderr.slice(0, 300)}`);
    check(!hasStackTrace(result.stderr) && !hasStackTrace(result.stdout), `${shown}: stack trace printed: ${result.stderr.slice(0, 500)}`);
    check(!/internal error/i.test(result.stderr), `${shown}: ${result.stderr.slice(0, 300)}`);
    if (result.code === 2 && result.stdout === '') check(result.stderr.trim().length > 0, `${shown}: exit 2 without a message`);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

// ---- over the language server ----

let lsp: { client: LspTestClient; errors: string[]; workspace: string } | undefined;

async function server(): Promise<NonNullable<typeof lsp>> {
  if (lsp && !lsp.client.exited) return lsp;
  const workspace = join(scratchDir(), 'lsp');
  mkdirSync(workspace, { recursive: true });
  const client = new LspTestClient();
  const errors: string[] = [];
  client.connection.onNotification('window/logMessage', (params: { type: number; message: string }) => {
    if (params.type === 1 || /unhandled|rejection/i.test(params.message)) errors.push(params.message);
  });
  await client.initialize(pathToFileURL(workspace).href, [{ uri: pathToFileURL(workspace).href, name: 'fuzz' }]);
  // The 2 s budget is for a running server: let it start up (compile the schemas) first.
  const warm = pathToFileURL(join(workspace, 'warm-up.yaml')).href;
  await client.open(warm, 'apiVersion: security.istio.io/v1\nkind: AuthorizationPolicy\nmetadata: {name: w}\nspec: {action: allow}\n');
  await client.diagnosticsFor(warm, { timeoutMs: 60_000 });
  await client.request('textDocument/hover', { textDocument: { uri: warm }, position: { line: 3, character: 8 } });
  lsp = { client, errors, workspace };
  return lsp;
}

export async function stopServer(): Promise<string[]> {
  if (!lsp) return [];
  const { client, errors } = lsp;
  lsp = undefined;
  await client.shutdown();
  const stderr = client.stderr.join('');
  return [...errors, ...(hasStackTrace(stderr) || /unhandled/i.test(stderr) ? [stderr.slice(0, 1000)] : [])];
}

/**
 * Sends a request and checks it is answered within the budget. A slow answer is asked once more:
 * on a shared CI machine a single slow answer can be load, a slow input is slow twice.
 */
async function within<T>(what: string, send: () => Promise<T>): Promise<T> {
  let last = 0;
  for (let attempt = 0; attempt < 2; attempt++) {
    const started = performance.now();
    const result = await Promise.race([send(), new Promise<'late'>((resolve) => setTimeout(() => resolve('late'), 30_000))]);
    last = performance.now() - started;
    if (result === 'late') throw new InvariantError(`${what} got no answer within 30 s`);
    if (last < HANG_MS.lspRequest) return result;
  }
  throw new InvariantError(`${what} answered after ${Math.round(last)} ms, twice (budget ${HANG_MS.lspRequest} ms)`);
}

async function runLspCase(c: FuzzCase): Promise<void> {
  const s = await server();
  const uri = pathToFileURL(join(s.workspace, `${c.seed}-${c.index}-${c.meta['name'] as string}`)).href;
  const languageId = c.meta['languageId'] as string;
  const before = s.errors.length;
  await s.client.open(uri, c.parts[0]!, languageId, 1);
  const positions = c.meta['positions'] as { line: number; character: number }[];
  const ask = async (version: number) => {
    for (const position of positions) {
      await within('hover', () => s.client.request('textDocument/hover', { textDocument: { uri }, position }));
      await within('completion', () => s.client.request('textDocument/completion', { textDocument: { uri }, position }));
      await within('codeAction', () => s.client.request('textDocument/codeAction', { textDocument: { uri }, range: { start: { line: 0, character: 0 }, end: position }, context: { diagnostics: [], only: version === 1 ? undefined : ['source.fixAll.meshPolicy'] } }));
    }
  };
  await ask(1);
  await s.client.change(uri, c.parts[1]!, 2);
  await ask(2);
  await s.client.connection.sendNotification('textDocument/didClose', { textDocument: { uri } });
  check(!s.client.exited, 'the language server exited');
  check(s.errors.length === before, `the server logged an error: ${s.errors.slice(before).join(' | ').slice(0, 500)}`);
}

export async function runCase(c: FuzzCase): Promise<void> {
  switch (c.kind) {
    case 'lint': return runLint(c);
    case 'reader': return runReader(c);
    case 'ingest': return runIngest(c);
    case 'decide': return runDecide(c);
    case 'cli': return runCliCase(c);
    case 'lsp': return runLspCase(c);
  }
}

/** Runs a case; a throw or a broken invariant is a failure message, anything else undefined. */
export const timeByKind: Partial<Record<CaseKind, number>> = {};

export async function failureOf(c: FuzzCase): Promise<string | undefined> {
  const started = performance.now();
  try {
    await runCase(c);
    return undefined;
  } catch (error) {
    if (error instanceof InvariantError) return error.message;
    return `threw ${error instanceof Error ? `${error.name}: ${error.message}\n${(error.stack ?? '').split('\n').slice(1, 6).join('\n')}` : String(error)}`;
  } finally {
    timeByKind[c.kind] = (timeByKind[c.kind] ?? 0) + performance.now() - started;
  }
}

/** The first line of a failure: what must stay the same while the input shrinks. */
function signature(message: string): string {
  return message.split('\n')[0]!.replace(/\d+/g, 'N').slice(0, 120);
}

/**
 * Shrinks a failing case's parts while it fails the same way: drops parts, then halves, then
 * smaller and smaller chunks of each part. Bounded by `budget` runs.
 */
export async function minimize(c: FuzzCase, message: string, budget = 150): Promise<{ fuzzCase: FuzzCase; message: string }> {
  const wanted = signature(message);
  let best = c;
  let bestMessage = message;
  let runs = 0;
  const tryCase = async (parts: string[]): Promise<boolean> => {
    if (runs++ >= budget) return false;
    const candidate = { ...best, parts };
    const failure = await failureOf(candidate);
    if (failure && signature(failure) === wanted) {
      best = candidate;
      bestMessage = failure;
      return true;
    }
    return false;
  };
  for (let i = best.parts.length - 1; i >= 0 && best.parts.length > 1 && c.kind === 'reader'; i--) await tryCase(best.parts.filter((_, j) => j !== i));
  for (let p = 0; p < best.parts.length; p++) {
    for (let chunk = Math.ceil(best.parts[p]!.length / 2); chunk >= 1 && runs < budget; chunk = Math.floor(chunk / 2)) {
      for (let at = 0; at < best.parts[p]!.length && runs < budget;) {
        const part = best.parts[p]!;
        const parts = [...best.parts];
        parts[p] = part.slice(0, at) + part.slice(at + chunk);
        if (!(await tryCase(parts))) at += chunk;
      }
    }
  }
  return { fuzzCase: best, message: bestMessage };
}

export function describeFailure(f: Failure): string {
  const c = f.fuzzCase;
  const parts = c.parts.map((p, i) => `  part ${i} (${p.length} chars): ${JSON.stringify(p.length > 600 ? `${p.slice(0, 300)}…${p.slice(-300)}` : p)}`);
  return [`seed ${c.seed} case ${c.index} (${c.kind}): ${f.message}`, `  meta: ${JSON.stringify(c.meta).slice(0, 400)}`, ...parts, `  reproduce: npm run fuzz -- --seed ${c.seed} --case ${c.index} --kind ${c.kind}`].join('\n');
}

export interface RunOptions {
  seed: number;
  cases: number;
  first?: number;
  cliEvery: number;
  lspEvery: number;
  minimize: boolean;
  /** Run every case as this kind (to replay one case of a run with another mix). */
  kind?: CaseKind;
  onProgress?: (done: number, failures: number) => void;
}

/** Runs cases first..first+cases-1 of a seed; returns the failures, minimized when asked. */
export async function runFuzz(options: RunOptions): Promise<Failure[]> {
  const failures: Failure[] = [];
  const first = options.first ?? 0;
  try {
    for (let index = first; index < first + options.cases; index++) {
      const c = generate(options.kind ?? kindOf(index, options), options.seed, index);
      const message = await failureOf(c);
      if (message) failures.push({ fuzzCase: c, message });
      options.onProgress?.(index - first + 1, failures.length);
    }
    const serverErrors = await stopServer();
    for (const e of serverErrors) failures.push({ fuzzCase: { kind: 'lsp', seed: options.seed, index: -1, parts: [], meta: {} }, message: `language server: ${e}` });
    if (options.minimize) {
      for (let i = 0; i < failures.length; i++) {
        if (failures[i]!.fuzzCase.index < 0) continue;
        const { fuzzCase, message } = await minimize(failures[i]!.fuzzCase, failures[i]!.message);
        failures[i] = { fuzzCase, message };
      }
      await stopServer();
    }
  } finally {
    await stopServer();
    cleanup();
  }
  return failures;
}

export function leftoverScratch(): string[] {
  return readdirSync(tmpdir()).filter((n) => n.startsWith('mesh-policy-fuzz-'));
}

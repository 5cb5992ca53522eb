import { stringify } from 'yaml';
import type { ProjectConfig } from '../config/projectConfig';
import type { Mesh } from '../meshes';
import type { ShapeOutcome, Simulation } from '../simulate';
import type { Decision, Verdict } from '../simulate/types';
import type { AccessRecord } from '../traffic/accessRecord';
import { parsePrincipal } from '../traffic/ingest/identity';
import type { Redactor } from '../traffic/redact';
import { describeCall } from '../traffic/describeCall';
import { widenTimeSpan } from '../traffic/timeSpan';
import { decideWrittenCall, parseWrittenCall, writtenCallFromValue } from '../traffic/writtenCall';
import { YamlWriter, str } from '../audit/generate/yaml';
import { decidedByText, POLICY_TEST_KIND } from './index';

/**
 * Policy tests written from observed traffic (`mesh-policy generate --tests`, docs/policy-tests.md):
 * the calls the logs show, each with the verdict it must keep, so that what production does today
 * stays pinned in the repository after the logs have rotated away.
 *
 * - One test per distinct call: the caller, the destination and port, the protocol, the method
 *   and the path without its query string. The busiest call of each caller → destination edge
 *   (per verdict) comes first, so a limit keeps every edge before a second path of one.
 * - `expect`: what the logs observed (`observed`, the default: the test fails where the policies
 *   now disagree with production), or what the policies decide now (`policies`: a snapshot).
 * - A call is written in the short form when that decides as the observed call did (verdict,
 *   policy and rule), else as its access record (headers, token facts, addresses); a call that
 *   neither form decides the same, calls whose caller or outcome the logs do not say, and calls
 *   the policies decide `unknown` are counted with the reason, not written.
 */
export type ExpectFrom = 'observed' | 'policies';
export const EXPECT_FROM: readonly ExpectFrom[] = ['observed', 'policies'];
export const DEFAULT_MAX_TESTS = 200;

export interface TestsFromTrafficOptions {
  expect: ExpectFrom;
  maxTests: number;
  /** Only calls of this mesh. */
  mesh?: Mesh;
  redactor: Redactor;
  /** How a log file is named in the comments (relative to the working folder, say). */
  displayPath?: (path: string) => string;
}

export interface TestsFromTraffic {
  yaml: string;
  tests: number;
  /** Tests that fail with the policies now (only with `expect: observed`). */
  failing: number;
  /** Distinct calls that could be tests, and the calls (counts) they stand for. */
  candidates: number;
  calls: number;
  /** Calls not written, per reason. */
  skipped: { reason: string; calls: number }[];
}

type Simulator = Pick<Simulation, 'meshOf' | 'decide' | 'identityNamespace'>;

interface Candidate {
  mesh: Mesh;
  edge: string;
  expect: Verdict;
  /** The busiest outcome of the call, whose record is written. */
  busiest: ShapeOutcome;
  calls: number;
  firstTime?: string;
  lastTime?: string;
}

interface WrittenTest {
  candidate: Candidate;
  /** The short form, or the record as a mapping. */
  call: string | AccessRecord;
  decision: Decision;
}

export function policyTestsFromTraffic(outcomes: readonly ShapeOutcome[], simulation: Simulator, config: Pick<ProjectConfig, 'istio' | 'linkerd' | 'consul'>, options: TestsFromTrafficOptions): TestsFromTraffic {
  const skipped = new Map<string, number>();
  const skip = (reason: string, calls: number) => skipped.set(reason, (skipped.get(reason) ?? 0) + calls);
  const byCall = new Map<string, Candidate>();
  let calls = 0;
  for (const outcome of outcomes) {
    const { shape, decision } = outcome;
    const record = shape.record;
    if (options.mesh && decision.mesh !== options.mesh) continue;
    calls += shape.count;
    const why = unwritable(record, decision, options.expect);
    if (why) { skip(why, shape.count); continue; }
    // (a call an Istio CUSTOM provider decides: the mesh asked the provider, whose answer no policy gives)
    const expect = options.expect === 'observed' && decision.verdict !== 'external' ? (record.observed === 'allowed' ? 'allow' : 'deny') : decision.verdict;
    const destination = record.destination!;
    const request = record.request;
    const edge = [decision.mesh, record.source?.principal ?? '-', destination.namespace, destination.workload ?? destination.service, destination.port ?? '', expect].join('\u0000');
    // (calls to /carts/c1 and /carts/c2 are one call when the policies decide them alike)
    const key = [edge, decision.policy?.label ?? '', decision.rule?.label ?? '', record.protocol === 'tcp' ? 'tcp' : 'l7', request?.method ?? '', pathTemplate(request?.path)].join('\u0000');
    const found = byCall.get(key);
    if (!found) {
      byCall.set(key, { mesh: decision.mesh, edge, expect, busiest: outcome, calls: shape.count, ...times(shape) });
      continue;
    }
    found.calls += shape.count;
    if (shape.count > found.busiest.shape.count) found.busiest = outcome;
    widenTimeSpan(found, shape);
  }

  const written: WrittenTest[] = [];
  for (const candidate of byPriority([...byCall.values()])) {
    if (written.length >= options.maxTests) { skip(`more than --max-tests ${options.maxTests} distinct calls: the busiest of each caller and destination were written first`, candidate.calls); continue; }
    const test = writeCall(candidate, simulation, config, options.redactor);
    if (typeof test === 'string') skip(test, candidate.calls);
    else written.push(test);
  }
  const consistent = withoutContradictions(written, skip);
  consistent.sort((a, b) => byText(sortKey(a), sortKey(b)));
  const failing = consistent.filter((t) => t.decision.verdict !== t.candidate.expect).length;
  const skippedList = [...skipped].map(([reason, n]) => ({ reason, calls: n })).sort((a, b) => b.calls - a.calls);
  const yaml = render(consistent, { candidates: byCall.size, calls, failing, skipped: skippedList }, options);
  return { yaml, tests: consistent.length, failing, candidates: byCall.size, calls, skipped: skippedList };
}

/**
 * The tests, each call written once: those written alike and observed both allowed and denied
 * are left out (what told them apart, a token or a header the log does not print, is not in the
 * log, and a pair of tests of which one must fail pins nothing); those written alike with one
 * verdict are one test.
 */
function withoutContradictions(tests: WrittenTest[], skip: (reason: string, calls: number) => void): WrittenTest[] {
  const byCall = new Map<string, WrittenTest[]>();
  for (const test of tests) {
    const key = typeof test.call === 'string' ? test.call : JSON.stringify(test.call);
    const list = byCall.get(key);
    if (list) list.push(test);
    else byCall.set(key, [test]);
  }
  const kept: WrittenTest[] = [];
  for (const list of byCall.values()) {
    if (new Set(list.map((t) => t.candidate.expect)).size > 1) {
      for (const t of list) skip('observed both allowed and denied, and what told them apart is not in the log (a token, an unlogged header)', t.candidate.calls);
      continue;
    }
    // calls written alike (their addresses, say, dropped as the decision does not need them) are one test
    const [first, ...same] = list as [WrittenTest, ...WrittenTest[]];
    for (const { candidate } of same) {
      first.candidate.calls += candidate.calls;
      widenTimeSpan(first.candidate, candidate);
    }
    kept.push(first);
  }
  return kept;
}

/** Why a call cannot become a test, or undefined when it can. */
function unwritable(record: AccessRecord, decision: Decision, expect: ExpectFrom): string | undefined {
  if (decision.verdict === 'unknown') return `the policies decide unknown: the log lacks ${decision.missing?.join(', ') || 'an attribute they test'}`;
  if (expect === 'observed' && record.observed !== 'allowed' && record.observed !== 'denied') return 'the log does not say whether the call was allowed';
  const principal = record.source?.principal;
  if (principal === undefined && record.source?.principalUnknown) return 'the caller is not known';
  if (typeof principal === 'string' && !parsePrincipal(principal)) return 'the caller\'s identity is in no mesh\'s form';
  const destination = record.destination;
  if (!destination?.namespace || !(destination.workload ?? destination.service)) return 'the destination is not known';
  return undefined;
}

/** The path without its query string, each segment that holds a digit (an id, a hash; not an API version such as `v1`) standing for any such segment. */
export function pathTemplate(path: string | undefined): string {
  if (path === undefined) return '';
  const query = path.indexOf('?');
  return (query < 0 ? path : path.slice(0, query)).split('/').map((segment) => (/\d/.test(segment) && !/^v\d+(\.\d+)*$/i.test(segment) ? '{}' : segment)).join('/');
}

function times(shape: ShapeOutcome['shape']): Pick<Candidate, 'firstTime' | 'lastTime'> {
  return { ...(shape.firstTime ? { firstTime: shape.firstTime } : {}), ...(shape.lastTime ? { lastTime: shape.lastTime } : {}) };
}

/** The busiest call of each edge first (busiest edges first), then the other calls, busiest first. */
function byPriority(candidates: Candidate[]): Candidate[] {
  const ordered = candidates.sort((a, b) => b.calls - a.calls || byText(sortText(a), sortText(b)));
  const firstOfEdge: Candidate[] = [];
  const rest: Candidate[] = [];
  const seen = new Set<string>();
  for (const c of ordered) {
    if (seen.has(c.edge)) rest.push(c);
    else { seen.add(c.edge); firstOfEdge.push(c); }
  }
  return [...firstOfEdge, ...rest];
}

/** Code-unit order: the separators must sort before every character, as localeCompare does not keep them. */
function byText(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

function sortText(c: Candidate): string {
  const r = c.busiest.shape.record;
  return `${c.edge}\u0000${r.request?.method ?? ''}\u0000${r.request?.path ?? ''}`;
}

function sortKey(t: WrittenTest): string {
  const r = t.candidate.busiest.shape.record;
  const d = r.destination!;
  return [d.namespace, d.workload ?? d.service, String(d.port ?? 0).padStart(5, '0'), r.source?.principal ?? '', r.request?.path ?? '', r.request?.method ?? '', t.candidate.expect].join('\u0000');
}

/**
 * The call written so that it decides as observed: the short form with `<ns>/<name>` as caller,
 * then with the principal, then the access record; a reason when none does.
 */
function writeCall(candidate: Candidate, simulation: Simulator, config: Pick<ProjectConfig, 'istio' | 'linkerd' | 'consul'>, redactor: Redactor): WrittenTest | string {
  const { busiest } = candidate;
  const record = busiest.shape.record;
  const wanted = busiest.decision;
  const same = (decision: Decision) => decision.verdict === wanted.verdict && decision.policy?.label === wanted.policy?.label && decision.rule?.label === wanted.rule?.label;
  const tryCall = (text: string): WrittenTest | undefined => {
    const parsed = parseWrittenCall(text);
    if ('problem' in parsed) return undefined;
    const decided = decideWrittenCall(simulation, parsed.call, config).decision;
    return same(decided) ? { candidate, call: text, decision: decided } : undefined;
  };
  const redacted = redactor.record(record);
  for (const text of shortForms(candidate.mesh, redacted, simulation)) {
    const test = tryCall(text);
    if (test) return test;
  }
  const decidesSame = (value: AccessRecord): Decision | undefined => {
    const parsed = writtenCallFromValue(value);
    if ('problem' in parsed) return undefined;
    const decided = decideWrittenCall(simulation, parsed.call, config).decision;
    return same(decided) ? decided : undefined;
  };
  const asRecord = recordToWrite(redacted, candidate.mesh);
  const decided = decidesSame(asRecord);
  if (decided) return { candidate, ...withoutIdleParts({ call: asRecord, decision: decided }, decidesSame) };
  return redactor.secretsOf(record).length
    ? 'the call decides as observed only with a credential, which is never written'
    : 'the call as written decides otherwise than observed (the log line carries more than an access record keeps)';
}

/**
 * The record without the parts its decision does not need, for a test that reads: each part
 * (an address, the labels the inventory gives anyway, a header no policy tests) is dropped when
 * the call still decides the same without it. The decision of what is left comes with it.
 */
function withoutIdleParts(decided: { call: AccessRecord; decision: Decision }, decidesSame: (record: AccessRecord) => Decision | undefined): { call: AccessRecord; decision: Decision } {
  let current = decided;
  const record = decided.call;
  const headers = Object.keys(record.request?.headers ?? {});
  const parts: [section: 'source' | 'destination' | 'request' | undefined, key: string, header?: string][] = [
    [undefined, 'protocol'], ['source', 'namespace'], ['source', 'labels'], ['source', 'workload'], ['source', 'service'], ['source', 'serviceAccount'], ['source', 'remoteIp'], ['source', 'ip'],
    ['destination', 'labels'], ['destination', 'serviceAccount'], ['destination', 'service'], ['destination', 'ip'],
    ...headers.map((h): [ 'request', string, string ] => ['request', 'headers', h]),
    ['request', 'recordedHeaders'], ['request', 'jwtUnknown'], ['request', 'host'], [undefined, 'sni'], [undefined, 'mesh'],
  ];
  for (const [section, key, header] of parts) {
    const next = without(current.call, section, key, header);
    const decision = next !== current.call ? decidesSame(next) : undefined;
    if (decision) current = { call: next, decision };
  }
  return current;
}

/** A copy of the record without one part; the record itself when it has no such part. */
function without(record: AccessRecord, section: 'source' | 'destination' | 'request' | undefined, key: string, header?: string): AccessRecord {
  if (!section) {
    if (!(key in record)) return record;
    const copy = { ...record } as Record<string, unknown>;
    delete copy[key];
    return copy as AccessRecord;
  }
  const part = record[section] as Record<string, unknown> | undefined;
  if (!part || !(key in part)) return record;
  const copy = { ...part };
  if (header !== undefined) {
    const headers = { ...(copy[key] as Record<string, unknown>) };
    delete headers[header];
    if (Object.keys(headers).length) copy[key] = headers;
    else delete copy[key];
  } else {
    delete copy[key];
  }
  const out = { ...record } as Record<string, unknown>;
  if (Object.keys(copy).length) out[section] = copy;
  else delete out[section];
  return out as AccessRecord;
}

/** The short forms the record can be written in, most readable first; none when it needs the record form. */
function shortForms(mesh: Mesh, record: AccessRecord, simulation: Simulator): string[] {
  const request = record.request;
  const method = request?.method;
  const path = request?.path;
  if (method !== undefined && !/^[A-Z]+$/.test(method)) return [];
  if (path !== undefined && (!path.startsWith('/') || /\s/.test(path))) return [];
  if (record.protocol !== 'tcp' && method === undefined && path === undefined) return [];
  const destination = record.destination!;
  const target = `${destination.namespace}/${destination.workload ?? destination.service}${destination.port !== undefined ? `:${destination.port}` : ''}`;
  const operation = record.protocol === 'tcp' ? '' : [method, path].filter((x) => x !== undefined).join(' ');
  const principal = record.source?.principal;
  const callers: string[] = [];
  if (typeof principal !== 'string') callers.push('-');
  else {
    const parts = parsePrincipal(principal)!;
    callers.push(`${parts.namespace}/${parts.serviceAccount ?? parts.service}`, principal);
  }
  return callers.map((caller) => {
    const text = `${caller} -> ${target}${operation ? ` ${operation}` : ''}`;
    // the mesh is written only where the workspace cannot tell it from the caller
    const parsed = parseWrittenCall(text);
    const needsMesh = 'problem' in parsed || simulation.meshOf(parsed.call.record) !== mesh;
    return needsMesh ? `${mesh}: ${text}` : text;
  });
}

/** The parts of an observed record a test's call keeps: what it was, not when or how it went. */
function recordToWrite(record: AccessRecord, mesh: Mesh): AccessRecord {
  const { time: _time, count: _count, observed: _observed, response: _response, ...call } = record;
  return { ...call, mesh };
}

function render(tests: WrittenTest[], totals: { candidates: number; calls: number; failing: number; skipped: { reason: string; calls: number }[] }, options: TestsFromTrafficOptions): string {
  const out = new YamlWriter();
  const n = (x: number) => x.toLocaleString('en-US');
  const calls = (x: number) => `${n(x)} ${x === 1 ? 'call' : 'calls'}`;
  out.comment(0, 'Policy tests generated from observed traffic by `mesh-policy generate --tests` (docs/policy-tests.md).');
  out.comment(0, options.expect === 'observed'
    ? 'Each test is a call the logs show, expecting what the mesh did: allow for calls observed allowed, deny for calls observed denied.'
    : 'Each test is a call the logs show, expecting what the policies decided when this file was written.');
  out.comment(0, `${calls(totals.calls)} read: ${n(totals.candidates)} distinct calls (caller, destination, port, method, path; paths that differ only in segments with digits, decided alike, are one), ${n(tests.length)} written as tests.`);
  if (totals.failing) out.comment(0, `${n(totals.failing)} of them ${totals.failing === 1 ? 'fails' : 'fail'} with the policies now: the policies decide those calls otherwise than the mesh did (see each test's comment).`);
  if (totals.skipped.length) {
    out.comment(0, 'Calls not written:');
    for (const s of totals.skipped) out.comment(0, `  ${calls(s.calls)}: ${s.reason}`);
  }
  out.line(0, `kind: ${POLICY_TEST_KIND}`);
  if (!tests.length) return out.line(0, 'tests: []').toString();
  out.key(0, 'tests');
  for (const test of tests) {
    const { candidate, decision } = test;
    const shape = candidate.busiest.shape;
    const observed = candidate.busiest.shape.record.observed;
    const when = candidate.firstTime ? `, ${candidate.firstTime}${candidate.lastTime && candidate.lastTime !== candidate.firstTime ? ` to ${candidate.lastTime}` : ''}` : '';
    const sample = shape.samples[0];
    out.comment(2, `${calls(candidate.calls)} observed ${observed ?? 'unknown'}${when}${sample ? ` (${(options.displayPath ?? ((p: string) => p))(sample.file)}:${sample.line})` : ''}`);
    if (decision.verdict !== candidate.expect) out.comment(2, options.redactor.text(`fails now: the policies decide ${decision.verdict}, ${decidedByText(decision)}`));
    if (typeof test.call === 'string') {
      out.line(2, `- call: ${str(test.call)}`);
    } else {
      // the record as a block mapping, each key on its own line, named in one line
      out.line(2, `- name: ${str(options.redactor.text(describeCall(test.call)))}`);
      out.line(4, 'call:');
      for (const line of stringify(test.call, { lineWidth: 0, flowCollectionPadding: false }).trimEnd().split('\n')) out.line(6, line);
    }
    out.key(4, 'expect', candidate.expect);
  }
  return out.toString();
}

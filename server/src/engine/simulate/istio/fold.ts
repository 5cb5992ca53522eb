import type { AccessRecord } from '../../traffic/accessRecord';
import { FoldKey } from '../fold';
import type { CallFold, FoldSlot } from '../types';
import { Call, hasLowerCase, hasWhitespace } from './call';
import type { IstioCompiledPolicies } from './evaluate';
import type { Field } from './fields';
import { parseIpInto } from './ip';
import type { PathNormalization } from './path';

/** Above this many tests of one attribute, the fold keeps the attribute's value instead of which tests match. */
const MAX_BITS = 8;

/**
 * What the policies at one destination can read of a call (`destinationReads`), and the calls
 * to it folded by that. A test of a peer identity, method, port, path, host, header or address
 * reads it only through whether it matches, so for each such attribute the fold keeps which of
 * the destination's tests match the call's value (e.g. `/items/1042` and `/items/7` alike when
 * every test says the same of both); an attribute no test reads is not kept at all (the caller's
 * address where no policy tests `source.ip`).
 */
interface View {
  root: Map<unknown, unknown>;
  /** Tests of the peer identity, or null when there are too many (the principal is kept); likewise below. */
  peer: Tests | null;
  /** Method tests, `:method` header conditions included. */
  methods: Tests | null;
  ports: Tests | null;
  /** mTLS modes set per port: the port is kept. */
  rawPort: boolean;
  paths: Tests | null;
  /** A `:path` header condition reads the path as sent: it is kept. */
  rawPath: boolean;
  hosts: Tests | null;
  /** A `host`/`:authority` header condition reads the host as sent: it is kept. */
  rawHost: boolean;
  headers: { name: string; tests: Tests | null }[];
  sourceIps: Tests | null;
  remoteIps: Tests | null;
  destinationIps: Tests | null;
  sni: boolean;
  /** A RequestAuthentication may apply: the token (if any) is kept whole. */
  jwt: boolean;
}

/** The tests of one attribute at a destination, and which of them match each value seen. */
class Tests {
  /** Parts are 0 and 1 for the attribute's states (absent, not recorded, rejected), then 2 + which tests match. */
  readonly range: number;
  readonly memo = new Map<unknown, number>();
  last: unknown = undefined;
  lastPart = -1;
  constructor(readonly fields: Field[]) {
    this.range = 2 + (1 << fields.length);
  }

  /** The part remembered for `value`, or -1. */
  recall(value: unknown): number {
    if (value === this.last && this.lastPart >= 0) return this.lastPart;
    const part = this.memo.get(value);
    if (part === undefined) return -1;
    this.last = value;
    this.lastPart = part;
    return part;
  }

  remember(value: unknown, part: number): number {
    this.memo.set(value, part);
    this.last = value;
    this.lastPart = part;
    return part;
  }
}

interface ViewEntry {
  labels: Record<string, string> | undefined;
  view: View;
}

type ByName<V> = Map<string | undefined, V>;

/**
 * Istio's fold (`CompiledPolicies.fold`): one list of calls' slots, by destination view and then
 * by what that view's policies can read. Two calls in one slot are decided alike by `decide`:
 * beyond the destination (namespace, workload, Service, labels: the view), a decision reads the
 * protocol, whether a header name has whitespace (400), whether the method has lower case (400,
 * quoted: such calls are decided on their own), whether the caller has an identity, and
 * otherwise only what the tests say, which the key holds.
 */
export class IstioFold implements CallFold {
  private readonly views: ByName<ByName<ByName<ViewEntry[]>>> = new Map();
  private readonly key = new FoldKey();
  private readonly call = new Call();

  constructor(private readonly policies: IstioCompiledPolicies, normalization: PathNormalization) {
    this.call.normalization = normalization;
  }

  slot(rec: AccessRecord): FoldSlot | undefined {
    const view = this.viewOf(rec);
    const c = this.call;
    c.reset(rec, true);
    const method = c.method();
    if (method !== undefined && hasLowerCase(method)) return undefined;
    const k = this.key;
    k.start(view.root);
    const request = rec.request;
    const source = rec.source;
    const destination = rec.destination;
    // Values kept whole (rare): first, as Map levels.
    if (view.peer === null) k.value(source?.principal);
    if (view.methods === null) k.value(method);
    if (view.rawPort || view.ports === null) k.value(destination?.port);
    if (view.rawPath || view.paths === null) k.value(request?.path);
    if (view.rawHost || view.hosts === null) k.value(request?.host);
    for (const header of view.headers) if (header.tests === null) k.value(c.header(header.name));
    if (view.sourceIps === null || view.remoteIps === null) { k.value(source?.ip); k.value(source?.remoteIp); }
    if (view.destinationIps === null) k.value(destination?.ip);
    if (view.sni) k.value(rec.sni);
    if (view.jwt) {
      const jwt = request?.jwt;
      k.value(jwt === undefined ? undefined : JSON.stringify(jwt));
    }
    // The rest: few values each, packed into one number.
    const protocol = rec.protocol;
    k.small(protocol === undefined ? 0 : protocol === 'tcp' ? 1 : protocol === 'grpc' ? 2 : 3, 4);
    const headers = request?.headers;
    let spaced = 0;
    if (headers) for (const name in headers) if (hasWhitespace(name)) { spaced = 1; break; }
    k.small(spaced, 2);
    const principal = source?.principal;
    const peerless = principal === undefined || principal === null || principal === '';
    if (view.peer === null) k.small(peerless && source?.principalUnknown === true ? 1 : 0, 2);
    else k.small(peerless ? (source?.principalUnknown === true ? 1 : 0) : peerPart(view.peer, principal), view.peer.range);
    if (view.methods !== null) k.small(method === undefined ? 0 : textPart(view.methods, method, false), view.methods.range);
    const ports = view.ports;
    if (ports !== null && !view.rawPort) {
      const port = destination?.port;
      k.small(port === undefined ? 0 : portPart(ports, port), ports.range);
    }
    const paths = view.paths;
    if (paths !== null && !view.rawPath) {
      const raw = request?.path;
      k.small(raw === undefined ? 0 : pathPart(paths, raw, c), paths.range);
    }
    const hosts = view.hosts;
    if (hosts !== null && !view.rawHost) {
      const host = request?.host;
      k.small(host === undefined ? 0 : textPart(hosts, host, true), hosts.range);
    }
    for (const header of view.headers) {
      const tests = header.tests;
      if (tests === null) continue;
      const value = c.header(header.name);
      k.small(value === null || value === undefined ? 0 : textPart(tests, value, false), tests.range);
    }
    const sourceIps = view.sourceIps;
    if (sourceIps !== null && sourceIps.fields.length) k.small(addressPart(sourceIps, source?.ip), sourceIps.range);
    const remoteIps = view.remoteIps;
    if (remoteIps !== null && remoteIps.fields.length) k.small(addressPart(remoteIps, source?.remoteIp ?? source?.ip), remoteIps.range);
    const destinationIps = view.destinationIps;
    if (destinationIps !== null && destinationIps.fields.length) k.small(addressPart(destinationIps, destination?.ip), destinationIps.range);
    return k.slot();
  }

  /** The view of `rec`'s destination: found by namespace, workload, Service and equal labels. */
  private viewOf(rec: AccessRecord): View {
    const dst = rec.destination;
    const ns = dst?.namespace;
    const workload = dst?.workload;
    const service = dst?.service;
    const labels = dst?.labels;
    let byWorkload = this.views.get(ns);
    if (!byWorkload) this.views.set(ns, (byWorkload = new Map()));
    let byService = byWorkload.get(workload);
    if (!byService) byWorkload.set(workload, (byService = new Map()));
    let entries = byService.get(service);
    if (!entries) byService.set(service, (entries = []));
    for (let i = 0; i < entries.length; i++) {
      const entry = entries[i]!;
      if (sameLabels(entry.labels, labels)) return entry.view;
    }
    const view = this.buildView(rec);
    entries.push({ labels, view });
    return view;
  }

  private buildView(rec: AccessRecord): View {
    const { fields, requestAuthentication, portLevelMtls } = this.policies.destinationReads(rec);
    const of = (read: ReturnType<Field['reads']>): Field[] => fields.filter((f) => f.reads() === read);
    const capped = (list: Field[]): Tests | null => (list.length > MAX_BITS ? null : new Tests(list));
    const headerFields = of('header');
    const names = [...new Set(headerFields.map((f) => f.key))];
    return {
      root: new Map(),
      peer: capped(of('peer')),
      // A `:method` condition reads the method as a method test does.
      methods: capped([...of('method'), ...headerFields.filter((f) => f.key === ':method')]),
      ports: capped(of('port')),
      rawPort: portLevelMtls,
      paths: capped(of('path')),
      rawPath: names.includes(':path'),
      hosts: capped(of('host')),
      rawHost: names.includes('host') || names.includes(':authority'),
      headers: names.filter((n) => n !== ':path' && n !== 'host' && n !== ':authority' && n !== ':method').map((name) => ({ name, tests: capped(headerFields.filter((f) => f.key === name)) })),
      sourceIps: capped(of('source.ip')),
      remoteIps: capped(of('remote.ip')),
      destinationIps: capped(of('destination.ip')),
      sni: fields.some((f) => f.reads() === 'sni'),
      jwt: requestAuthentication,
    };
  }
}

/** 2 + which tests match the peer identity (`spiffe://` removed, as `decide` does). */
function peerPart(tests: Tests, principal: string): number {
  let part = tests.recall(principal);
  if (part >= 0) return part;
  const peer = principal.startsWith('spiffe://') ? principal.slice(9) : principal;
  part = 2;
  for (let i = 0; i < tests.fields.length; i++) if (tests.fields[i]!.matchesPeer(peer)) part += 1 << i;
  return tests.remember(principal, part);
}

/** 2 + which tests match a method, a header's value or the host (lower-cased). */
function textPart(tests: Tests, value: string, host: boolean): number {
  let part = tests.recall(value);
  if (part >= 0) return part;
  const text = host ? value.toLowerCase() : value;
  part = 2;
  for (let i = 0; i < tests.fields.length; i++) if (tests.fields[i]!.matchesText(text)) part += 1 << i;
  return tests.remember(value, part);
}

function portPart(tests: Tests, port: number): number {
  let part = tests.recall(port);
  if (part >= 0) return part;
  part = 2;
  for (let i = 0; i < tests.fields.length; i++) if (tests.fields[i]!.matchesPort(port)) part += 1 << i;
  return tests.remember(port, part);
}

/** 1 when the proxy rejects the path before authorization (%00), else 2 + which tests match the normalized path. */
function pathPart(tests: Tests, raw: string, c: Call): number {
  let part = tests.recall(raw);
  if (part >= 0) return part;
  const path = c.normalizedPath();
  part = path === undefined ? 1 : 2;
  if (path !== undefined) for (let i = 0; i < tests.fields.length; i++) if (tests.fields[i]!.matchesPath(path)) part += 1 << i;
  return tests.remember(raw, part);
}

/** 0 when not recorded, 1 when unreadable, else 2 + which tests contain the address. */
function addressPart(tests: Tests, ip: string | undefined): number {
  if (ip === undefined) return 0;
  let part = tests.recall(ip);
  if (part >= 0) return part;
  const family = parseIpInto(ip, ADDRESS, true);
  part = family === 0 ? 1 : 2;
  if (family !== 0) for (let i = 0; i < tests.fields.length; i++) if (tests.fields[i]!.matchesAddress(family, ADDRESS)) part += 1 << i;
  return tests.remember(ip, part);
}

const ADDRESS = new Uint32Array(4);

function sameLabels(a: Record<string, string> | undefined, b: Record<string, string> | undefined): boolean {
  if (a === b) return true;
  if (a === undefined || b === undefined) return false;
  let count = 0;
  for (const key in a) {
    if (b[key] !== a[key] || !Object.prototype.hasOwnProperty.call(b, key)) return false;
    count++;
  }
  for (const key in b) if (Object.prototype.hasOwnProperty.call(b, key)) count--;
  return count === 0;
}

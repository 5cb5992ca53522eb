import type { Mesh } from '../meshes';
import { Pace } from '../pace';
import { SIMULATORS } from '../simulate';
import type { CompiledPolicies, Decision, SourceRef, Verdict } from '../simulate/types';
import type { TrafficShape } from '../traffic/ingest/types';
import { redactorFor, type Redactor } from '../traffic/redact';
import { InventoryIndex } from '../inventory/inventoryIndex';
import type { WorkloadInfo } from '../inventory/inventory';
import { recordFor, neutralOf, type NeutralCall, type NeutralOrWhy } from './calls';
import { re2 } from '../simulate/re2';
import { parseIpPrefix, prefixContains, type IpPrefix } from '../net/ip';
import type { AccessModel, AccessRule, Identity, MeshResources, Network, Protection, Requests, TranslationContext } from './model';

/**
 * Whether a translation decides as its source does: the same calls decided by the source mesh's
 * simulator under the original policies and by the target mesh's simulator under the translated
 * ones. The calls are probes made from the model (each protected workload and port, each caller
 * the rules name and one they do not, plaintext, each method and path the rules test and one
 * they do not, a TCP connection, with and without the headers they require) and, when given,
 * the observed traffic of the source mesh.
 */

/** Probes tried at most, shared among the protections (deterministic: the first ones made for each). */
const MAX_PROBES = 20_000;
/** Request samples per protection, before the header variants. */
const MAX_REQUESTS = 48;
/** Disagreements kept per list, with examples. */
const MAX_DISAGREEMENTS = 200;

export interface Disagreement {
  /** The call, in neutral terms, e.g. `shop/frontend → shop/cart:8080 GET /v1/carts/x`. */
  call: string;
  source: { verdict: Verdict; reason: string };
  target: { verdict: Verdict; reason: string };
  /** Calls it stands for (observed: the shape's count; a probe: 1). */
  calls: number;
  /** The protection of the destination, where the call reached one. */
  protection?: SourceRef;
}

export interface CheckedCalls {
  /** Calls decided by both. */
  decided: number;
  same: number;
  /** Decided `unknown` or `external` by either side: not compared. */
  undecided: number;
  differ: Disagreement[];
  /** Disagreeing calls in all (`differ` keeps the first ones). */
  differing: number;
  /** Why calls were left undecided, the commonest first (at most 5): the side and its reason. */
  undecidedBecause: { reason: string; calls: number }[];
}

export interface EquivalenceReport {
  probes: CheckedCalls;
  /** The observed traffic's calls, when traffic was given. */
  observed?: CheckedCalls & { skipped: { why: string; calls: number }[] };
}

export interface CheckInput {
  source: { mesh: Mesh; resources: MeshResources };
  target: { mesh: Mesh; resources: MeshResources };
  model: AccessModel;
  context: TranslationContext;
  observed?: readonly TrafficShape[];
  signal?: AbortSignal;
  /** Compare only the observed calls to what the model's protections govern (a translation of
   * some files: calls elsewhere are decided by policies not translated). */
  governedOnly?: boolean;
}

export async function checkTranslation(input: CheckInput): Promise<EquivalenceReport> {
  const pace = new Pace(input.signal);
  const { context } = input;
  const compile = (mesh: Mesh, resources: MeshResources): CompiledPolicies =>
    SIMULATORS[mesh].compile({ resources, inventory: context.inventory, config: context.config, sourceFiles: [...new Set(resources.map((r) => r.file))] });
  const before = compile(input.source.mesh, input.source.resources);
  const after = compile(input.target.mesh, input.target.resources);
  const compare = new Comparison();
  for (const [i, probe] of probesOf(input.model, context, [input.source.mesh, input.target.mesh]).entries()) {
    if (i % 256 === 0) await pace.turn();
    compare.add(probe.call, 1, probe.protection, before.decide(recordFor(input.source.mesh, probe.call, context)), after.decide(recordFor(input.target.mesh, probe.call, context)));
  }
  const report: EquivalenceReport = { probes: compare.result() };
  if (input.observed) {
    // observed calls carry what the logs hold: secrets never reach the report (traffic/redact.ts)
    const redactor = redactorFor(context.config);
    const seen = new Comparison(redactor, testedHeaders(input.model));
    const skipped = new Map<string, number>();
    for (const [i, shape] of input.observed.entries()) {
      if (i % 256 === 0) await pace.turn();
      const record = shape.record;
      const call: NeutralOrWhy = record.mesh !== undefined && record.mesh !== input.source.mesh ? { why: `a call of ${record.mesh}, not of ${input.source.mesh}` } : neutralOf(input.source.mesh, record, context);
      if ('why' in call || (input.governedOnly && !input.model.protections.some((p) => governs(p, call)))) {
        const why = 'why' in call ? call.why : NOT_GOVERNED;
        skipped.set(why, (skipped.get(why) ?? 0) + shape.count);
        continue;
      }
      seen.add(call, shape.count, undefined, before.decide({ ...record, mesh: input.source.mesh }), after.decide(recordFor(input.target.mesh, call, context)), redactor.secretsOf(record));
    }
    report.observed = { ...seen.result(), skipped: [...skipped].map(([why, calls]) => ({ why, calls })).sort((a, b) => b.calls - a.calls) };
  }
  return report;
}

const NOT_GOVERNED = 'no translated policy governs their destination (the policies of other files decide them)';

/** Whether the protection applies to calls to the call's destination and port. */
function governs(p: Protection, call: NeutralCall): boolean {
  const d = call.destination;
  return (p.target.namespace === '*' || p.target.namespace === d.namespace)
    && Object.entries(p.target.labels ?? {}).every(([k, v]) => d.labels[k] === v)
    && (!p.ports || p.ports.includes(d.port));
}

/** The header names the model's rules test: the only headers a call's description shows. */
function testedHeaders(model: AccessModel): Set<string> {
  const names = new Set<string>();
  for (const p of model.protections) {
    for (const rule of probedRules(p)) for (const h of [...rule.headers, ...(rule.unless ?? []).flatMap((e) => e.headers)]) names.add(h.name);
  }
  return names;
}

class Comparison {
  /** `redactor` and `shownHeaders`: for observed calls, whose paths and headers are the logs'. */
  constructor(private readonly redactor?: Redactor, private readonly shownHeaders?: ReadonlySet<string>) {}

  private readonly undecidedReasons = new Map<string, number>();

  private decided = 0;
  private same = 0;
  private undecided = 0;
  private differing = 0;
  private readonly differ: Disagreement[] = [];

  add(call: NeutralCall, calls: number, protection: SourceRef | undefined, source: Decision, target: Decision, secrets: readonly string[] = []): void {
    const open = (v: Verdict) => v === 'unknown' || v === 'external';
    if (open(source.verdict) || open(target.verdict)) {
      this.undecided += calls;
      const side = open(source.verdict) ? `${source.mesh} ${source.verdict}` : `${target.mesh} ${target.verdict}`;
      const key = `${side}: ${this.redactor ? this.redactor.text(open(source.verdict) ? source.reason : target.reason, secrets) : open(source.verdict) ? source.reason : target.reason}`;
      if (this.undecidedReasons.has(key) || this.undecidedReasons.size < 1000) this.undecidedReasons.set(key, (this.undecidedReasons.get(key) ?? 0) + calls);
      return;
    }
    this.decided += calls;
    if (source.verdict === target.verdict) {
      this.same += calls;
      return;
    }
    this.differing += calls;
    if (this.differ.length < MAX_DISAGREEMENTS) {
      const text = (t: string) => (this.redactor ? this.redactor.text(t, secrets) : t);
      let shown = call;
      if (this.redactor && call.request) {
        const { headers, ...request } = call.request;
        const kept = headers && this.shownHeaders ? Object.fromEntries(Object.entries(headers).filter(([name]) => this.shownHeaders!.has(name.toLowerCase()))) : headers;
        const masked = kept && Object.keys(kept).length ? (this.redactor.maskHeaders(kept, secrets) as Record<string, string>) : undefined;
        shown = { ...call, request: { ...request, path: text(request.path), ...(masked ? { headers: masked } : {}) } };
      }
      this.differ.push({
        call: describeCall(shown), calls,
        source: { verdict: source.verdict, reason: text(source.reason) },
        target: { verdict: target.verdict, reason: text(target.reason) },
        ...(protection ? { protection } : {}),
      });
    }
  }

  result(): CheckedCalls {
    const undecidedBecause = [...this.undecidedReasons].map(([reason, calls]) => ({ reason, calls })).sort((a, b) => b.calls - a.calls).slice(0, 5);
    return { decided: this.decided, same: this.same, undecided: this.undecided, differ: this.differ, differing: this.differing, undecidedBecause };
  }
}

export function describeCall(call: NeutralCall): string {
  const caller = call.caller === null ? `plaintext${call.callerIp ? ` ${call.callerIp}` : ''}` : `${call.caller.namespace}/${call.caller.serviceAccount}${call.callerIp ? ` (${call.callerIp})` : ''}`;
  const d = call.destination;
  const labels = Object.entries(d.labels).map(([k, v]) => `${k}=${v}`).join(',');
  const to = `${d.namespace}/${d.workload ?? (labels || '*')}:${d.port}`;
  const r = call.request;
  const headers = r?.headers ? ` ${Object.entries(r.headers).map(([k, v]) => `${k}: ${v}`).join(', ')}` : '';
  return `${caller} → ${to} ${r ? `${r.method} ${r.path}${headers}` : 'TCP'}`;
}

interface Probe {
  call: NeutralCall;
  protection: SourceRef;
}

/** A caller outside every namespace a policy names. */
const OUTSIDER: Identity = { namespace: 'mpa-outside', serviceAccount: 'mpa-outsider' };
/** An address outside every private range (TEST-NET-3). */
const OUTSIDE_IP = '203.0.113.7';
const DEFAULT_CALLER_IP = '10.244.0.10';
const MISSING_PATH = '/mpa-probe/no-rule-names-this';

/**
 * The probes for a model. Per protection, its destinations and ports, its callers (those its rules
 * name first, then those the other protections of its namespace name, one outside every
 * namespace, and a plaintext one) and its requests (a TCP connection, each method and path its
 * rules test, then those of its namespace's other protections, one no rule names, with and
 * without the headers they require), walked along diagonals so that a protection's share of the
 * budget covers every caller and every request before it repeats either. A probe made for an
 * earlier protection is not made again.
 */
export function probesOf(model: AccessModel, context: TranslationContext, meshes: readonly Mesh[]): Probe[] {
  const index = InventoryIndex.of(context.inventory);
  const probes: Probe[] = [];
  const seen = new Set<string>();
  const plaintext = !meshes.includes('consul');
  const share = Math.max(1, Math.floor(MAX_PROBES / Math.max(1, model.protections.length)));
  for (const protection of model.protections) {
    const neighbours = model.protections.filter((p) => p !== protection && (p.target.namespace === protection.target.namespace || p.target.namespace === '*'));
    const callers = callerSamples(protection, neighbours, plaintext);
    const requests = requestSamples(protection, neighbours);
    const targets: { destination: Omit<NeutralCall['destination'], 'port'>; port: number; identity: Identity | null; ip: string }[] = [];
    for (const destination of destinationsOf(protection, index, context)) {
      for (const port of portsOf(protection, destination.workload)) for (const caller of callers) targets.push({ destination: destination.call, port, ...caller });
    }
    let made = 0;
    diagonals: for (let offset = 0; offset < requests.length; offset++) {
      for (let t = 0; t < targets.length; t++) {
        if (made >= share) break diagonals;
        const target = targets[t]!;
        const request = requests[(t + offset) % requests.length];
        const call: NeutralCall = { caller: target.identity, callerIp: target.ip, destination: { ...target.destination, port: target.port }, ...(request ? { request } : {}) };
        const key = describeCall(call);
        if (seen.has(key)) continue;
        seen.add(key);
        probes.push({ call, protection: protection.origin });
        made++;
      }
    }
  }
  return probes;
}

function destinationsOf(protection: Protection, index: InventoryIndex, context: TranslationContext): { call: Omit<NeutralCall['destination'], 'port'>; workload?: WorkloadInfo }[] {
  const target = protection.target;
  const matching = context.inventory.workloads.filter((w) => w.kind !== 'Pod' && (target.namespace === '*' || w.namespace === target.namespace) && (!target.labels || Object.entries(target.labels).every(([k, v]) => w.labels[k] === v)));
  if (matching.length === 0) {
    const labels = target.labels ?? {};
    const service = labels['app'];
    return [{ call: { namespace: target.namespace === '*' ? 'default' : target.namespace, labels, ...(service ? { service } : {}) } }];
  }
  return matching.slice(0, 3).map((w) => {
    const service = index.servicesFor(w)[0]?.name;
    return { workload: w, call: { namespace: w.namespace, workload: w.name, labels: w.labels, serviceAccount: w.serviceAccount, ...(service ? { service } : {}) } };
  });
}

/** The rules whose callers and requests are probed: the model's, and what the source's lossy rules name. */
function probedRules(protection: Protection): AccessRule[] {
  return protection.probes ? [...protection.rules, ...protection.probes] : protection.rules;
}

function portsOf(protection: Protection, workload: WorkloadInfo | undefined): number[] {
  const ports = new Set<number>(protection.ports ?? []);
  for (const rule of probedRules(protection)) for (const r of rule.to) for (const p of r.ports ?? []) ports.add(p);
  for (const p of workload?.ports ?? []) ports.add(p.containerPort);
  if (ports.size === 0) ports.add(8080);
  return [...ports].slice(0, 4);
}

/** A concrete identity for one the rules name (a wildcard part becomes a name no rule uses). */
function concrete(id: Identity): Identity {
  return { namespace: id.namespace === '*' ? 'mpa-any' : id.namespace, serviceAccount: id.serviceAccount === '*' ? 'mpa-any-sa' : id.serviceAccount };
}

/** The protection's callers first, then its namespace's other protections', then an outsider and a plaintext caller, each from every address the rules tell apart. */
function callerSamples(protection: Protection, neighbours: readonly Protection[], plaintext: boolean): { identity: Identity | null; ip: string }[] {
  const identities = new Map<string, Identity>();
  const ips = new Set<string>([DEFAULT_CALLER_IP]);
  for (const p of [protection, ...neighbours]) {
    for (const rule of probedRules(p)) {
      for (const callers of rule.from) {
        for (const id of callers.identities ?? []) {
          const c = concrete(id);
          identities.set(`${c.namespace}/${c.serviceAccount}`, c);
        }
        for (const network of callers.networks ?? []) {
          const inside = addressInside(network);
          if (inside) ips.add(inside);
          for (const except of network.except) {
            const excluded = addressInside({ cidr: except, except: [] });
            if (excluded) ips.add(excluded);
          }
        }
      }
    }
  }
  if (ips.size > 1) ips.add(OUTSIDE_IP);
  const list: (Identity | null)[] = [...identities.values(), OUTSIDER, ...(plaintext ? [null] : [])];
  const samples: { identity: Identity | null; ip: string }[] = [];
  for (const identity of list) for (const ip of ips) samples.push({ identity, ip });
  return samples;
}

/** An IPv4 address inside the network and outside its exceptions (its first or last address), when one is found. */
function addressInside(network: Network): string | undefined {
  const prefix = prefixOf(network.cidr);
  if (!prefix || prefix.family !== 4) return undefined;
  const first = prefix.words[0]!;
  const last = first + 2 ** (32 - prefix.bits) - 1;
  const excluded = network.except.map(prefixOf).filter((x): x is IpPrefix => x !== undefined);
  const pick = [first, last, first + Math.floor((last - first) / 2)].find((a) => !excluded.some((x) => prefixContains(x, 4, Uint32Array.of(a, 0, 0, 0))));
  return pick === undefined ? undefined : [pick >>> 24, (pick >>> 16) & 255, (pick >>> 8) & 255, pick & 255].join('.');
}

/** A network as Linkerd reads it (a prefix, or a bare address meaning that one). */
function prefixOf(cidr: string): IpPrefix | undefined {
  const parsed = parseIpPrefix(cidr, { length: 'rust', bare: true });
  return 'error' in parsed ? undefined : parsed;
}

/** Requests to try at a protection's destination: a TCP connection (undefined), each method and
 * path its rules test, then its neighbours', one of neither, with and without the headers they require. */
function requestSamples(protection: Protection, neighbours: readonly Protection[]): (NeutralCall['request'] | undefined)[] {
  const methods = new Set<string>();
  const paths = new Set<string>();
  const headers: Record<string, string>[] = [{}];
  for (const p of [protection, ...neighbours]) {
    for (const rule of probedRules(p)) {
      for (const r of rule.to) addRequestSamples(r, methods, paths);
      if (rule.headers.length) {
        const required: Record<string, string> = {};
        for (const h of rule.headers) required[h.name] = h.values[0] ?? 'present';
        headers.push(required);
      }
      // the requests a deny leaves to earlier allows, and their near misses
      for (const e of rule.unless ?? []) {
        addRequestSamples(e.requests, methods, paths);
        if (e.headers.length) headers.push(Object.fromEntries(e.headers.map((h) => [h.name, h.match === 'suffix' ? `mpa-${h.value}` : h.match === 'prefix' ? `${h.value}; mpa` : h.value ?? 'present'])));
      }
    }
  }
  methods.add('GET');
  methods.add('DELETE');
  paths.add(MISSING_PATH);
  const samples: (NeutralCall['request'] | undefined)[] = [undefined];
  const methodList = [...methods];
  const pathList = [...paths];
  // along diagonals too: every method and every path early, not the first method with every path
  const pairs = Math.max(methodList.length, pathList.length) * Math.min(methodList.length, pathList.length);
  for (let k = 0; k < pairs && k < MAX_REQUESTS; k++) {
    const method = methodList[k % methodList.length]!;
    const path = pathList[(k + Math.floor(k / pathList.length)) % pathList.length]!;
    for (const h of headers.slice(0, 4)) samples.push({ method, path, ...(Object.keys(h).length ? { headers: h } : {}) });
  }
  return samples;
}

function addRequestSamples(r: Requests, methods: Set<string>, paths: Set<string>): void {
  for (const m of r.methods ?? []) methods.add(m);
  for (const p of r.paths ?? []) {
    if (p.kind === 'exact') paths.add(p.value);
    else if (p.kind === 'prefix') {
      paths.add(`${p.value}mpa-probe`);
      // just short of the prefix: a string prefix and a segment prefix differ here
      if (p.value.endsWith('/') && p.value.length > 1) paths.add(p.value.slice(0, -1));
    } else {
      const sample = regexSample(p.value);
      if (sample !== undefined) paths.add(sample);
    }
  }
}

/**
 * A path the RE2 pattern matches, for the common forms of path patterns (literals, `.`, `.*`,
 * `[^/]+`, `[0-9]+`, `\d`, classes, `?`, groups with `|`), checked with RE2 itself; undefined
 * when the guess does not match.
 */
function regexSample(pattern: string): string | undefined {
  if (pattern.length > 1000) return undefined;
  let out = '';
  for (let i = 0; i < pattern.length; i++) {
    const c = pattern[i]!;
    if (c === '^' || c === '$' || c === '(' || c === ')') continue;
    if (c === '|') {
      // the first alternative: skip to the end of the group
      let depth = 0;
      for (i++; i < pattern.length; i++) {
        if (pattern[i] === '(') depth++;
        else if (pattern[i] === ')' && depth-- === 0) break;
      }
      continue;
    }
    let atom: string;
    if (c === '\\') {
      const e = pattern[++i] ?? '';
      atom = e === 'd' ? '1' : e === 'w' ? 'a' : e === 's' ? ' ' : e;
    } else if (c === '[') {
      const end = pattern.indexOf(']', i + 2);
      if (end < 0) return undefined;
      const body = pattern.slice(i + 1, end);
      i = end;
      atom = body.startsWith('^') ? (body.includes('x') ? '_' : 'x') : body[0] === '\\' ? (body[1] === 'd' ? '1' : body[1] ?? 'a') : body[0]!;
    } else atom = c === '.' ? 'x' : c;
    const q = pattern[i + 1];
    if (q === '*' || q === '?') { i++; continue; }
    if (q === '+') i++;
    else if (q === '{') {
      const close = pattern.indexOf('}', i + 1);
      const n = Number(pattern.slice(i + 2, close).split(',')[0]);
      if (close < 0 || !Number.isInteger(n) || n > 100) return undefined;
      i = close;
      atom = atom.repeat(n);
    }
    out += atom;
  }
  const compiled = re2(pattern);
  return typeof compiled !== 'string' && compiled.matches(out) ? out : undefined;
}

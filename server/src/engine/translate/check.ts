import type { Mesh } from '../meshes';
import { Pace } from '../pace';
import { SIMULATORS } from '../simulate';
import type { CompiledPolicies, Decision, SourceRef, Verdict } from '../simulate/types';
import type { TrafficShape } from '../traffic/ingest/types';
import { InventoryIndex } from '../inventory/inventoryIndex';
import type { WorkloadInfo } from '../inventory/inventory';
import { recordFor, neutralOf, type NeutralCall } from './calls';
import type { AccessModel, Identity, MeshResources, Network, Protection, Requests, TranslationContext } from './model';

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
    const seen = new Comparison();
    const skipped = new Map<string, number>();
    for (const [i, shape] of input.observed.entries()) {
      if (i % 256 === 0) await pace.turn();
      const record = shape.record;
      if (record.mesh !== undefined && record.mesh !== input.source.mesh) continue;
      const call = neutralOf(input.source.mesh, record, context);
      if ('why' in call) {
        skipped.set(call.why, (skipped.get(call.why) ?? 0) + shape.count);
        continue;
      }
      seen.add(call, shape.count, undefined, before.decide({ ...record, mesh: input.source.mesh }), after.decide(recordFor(input.target.mesh, call, context)));
    }
    report.observed = { ...seen.result(), skipped: [...skipped].map(([why, calls]) => ({ why, calls })).sort((a, b) => b.calls - a.calls) };
  }
  return report;
}

class Comparison {
  private decided = 0;
  private same = 0;
  private undecided = 0;
  private differing = 0;
  private readonly differ: Disagreement[] = [];

  add(call: NeutralCall, calls: number, protection: SourceRef | undefined, source: Decision, target: Decision): void {
    const open = (v: Verdict) => v === 'unknown' || v === 'external';
    if (open(source.verdict) || open(target.verdict)) {
      this.undecided += calls;
      return;
    }
    this.decided += calls;
    if (source.verdict === target.verdict) {
      this.same += calls;
      return;
    }
    this.differing += calls;
    if (this.differ.length < MAX_DISAGREEMENTS) {
      this.differ.push({
        call: describeCall(call), calls,
        source: { verdict: source.verdict, reason: source.reason },
        target: { verdict: target.verdict, reason: target.reason },
        ...(protection ? { protection } : {}),
      });
    }
  }

  result(): CheckedCalls {
    return { decided: this.decided, same: this.same, undecided: this.undecided, differ: this.differ, differing: this.differing };
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

/** The probes for a model: per protected destination and port, every caller × request sample. */
export function probesOf(model: AccessModel, context: TranslationContext, meshes: readonly Mesh[]): Probe[] {
  const index = InventoryIndex.of(context.inventory);
  const probes: Probe[] = [];
  const callers = callerSamples(model, meshes);
  // every protection gets its share of the probes, so that a large workspace is probed throughout
  const share = Math.max(1, Math.floor(MAX_PROBES / Math.max(1, model.protections.length)));
  for (const protection of model.protections) {
    const requests = requestSamples(protection, model);
    let made = 0;
    made: for (const destination of destinationsOf(protection, index, context)) {
      for (const port of portsOf(protection, destination.workload)) {
        for (const caller of callers) {
          for (const request of requests) {
            if (made++ >= share) break made;
            const call: NeutralCall = { caller: caller.identity, callerIp: caller.ip, destination: { ...destination.call, port }, ...(request ? { request } : {}) };
            probes.push({ call, protection: protection.origin });
          }
        }
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

function portsOf(protection: Protection, workload: WorkloadInfo | undefined): number[] {
  const ports = new Set<number>(protection.ports ?? []);
  for (const rule of protection.rules) for (const r of rule.to) for (const p of r.ports ?? []) ports.add(p);
  for (const p of workload?.ports ?? []) ports.add(p.containerPort);
  if (ports.size === 0) ports.add(8080);
  return [...ports].slice(0, 4);
}

function callerSamples(model: AccessModel, meshes: readonly Mesh[]): { identity: Identity | null; ip: string }[] {
  const identities = new Map<string, Identity>();
  const ips = new Set<string>([DEFAULT_CALLER_IP]);
  for (const protection of model.protections) {
    for (const rule of protection.rules) {
      for (const callers of rule.from) {
        for (const id of callers.identities ?? []) {
          const concrete = { namespace: id.namespace === '*' ? 'mpa-any' : id.namespace, serviceAccount: id.serviceAccount === '*' ? 'mpa-any-sa' : id.serviceAccount };
          identities.set(`${concrete.namespace}/${concrete.serviceAccount}`, concrete);
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
  const samples: { identity: Identity | null; ip: string }[] = [];
  const list = [...identities.values(), OUTSIDER];
  for (const ip of ips) {
    for (const identity of list) samples.push({ identity, ip });
    // Consul's proxies accept mutual TLS only: a plaintext call is no Consul call
    if (!meshes.includes('consul')) samples.push({ identity: null, ip });
  }
  return samples;
}

/** An IPv4 address inside the network and outside its exceptions (its first or last address), when one is found. */
function addressInside(network: Network): string | undefined {
  const range = rangeOf(network.cidr);
  if (!range) return undefined;
  const [first, last] = range;
  const candidates = [first, last, first + Math.floor((last - first) / 2)];
  const excluded = network.except.map(rangeOf).filter((r): r is [number, number] => r !== undefined);
  const pick = candidates.find((a) => !excluded.some(([lo, hi]) => a >= lo && a <= hi));
  return pick === undefined ? undefined : [pick >>> 24, (pick >>> 16) & 255, (pick >>> 8) & 255, pick & 255].join('.');
}

/** The first and last address of an IPv4 prefix or address, as numbers. */
function rangeOf(cidr: string): [number, number] | undefined {
  const m = /^(\d+)\.(\d+)\.(\d+)\.(\d+)(?:\/(\d+))?$/.exec(cidr);
  if (!m) return undefined;
  const base = ((Number(m[1]) << 24) | (Number(m[2]) << 16) | (Number(m[3]) << 8) | Number(m[4])) >>> 0;
  const size = m[5] === undefined || Number(m[5]) >= 32 ? 1 : 2 ** (32 - Number(m[5]));
  const first = base - (base % size);
  return [first, first + size - 1];
}

/** Requests to try at a protection's destination: a TCP connection (undefined), each method and
 * path its rules (and the other protections') test, one of neither, with and without the headers they require. */
function requestSamples(protection: Protection, model: AccessModel): (NeutralCall['request'] | undefined)[] {
  const methods = new Set<string>(['GET', 'DELETE']);
  const paths = new Set<string>([MISSING_PATH]);
  const headers: Record<string, string>[] = [{}];
  const sameTarget = model.protections.filter((p) => p === protection || (p.target.namespace === protection.target.namespace || p.target.namespace === '*'));
  for (const p of sameTarget) {
    for (const rule of p.rules) {
      for (const r of rule.to) addRequestSamples(r, methods, paths);
      if (rule.headers.length) {
        const required: Record<string, string> = {};
        for (const h of rule.headers) required[h.name] = h.values[0] ?? 'present';
        headers.push(required);
      }
    }
  }
  const samples: (NeutralCall['request'] | undefined)[] = [undefined];
  for (const method of [...methods].slice(0, 6)) {
    for (const path of [...paths].slice(0, 12)) {
      for (const h of headers.slice(0, 3)) samples.push({ method, path, ...(Object.keys(h).length ? { headers: h } : {}) });
    }
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
    }
  }
}

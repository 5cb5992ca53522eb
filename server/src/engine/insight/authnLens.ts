import { isDeepStrictEqual } from 'node:util';
import type { ShapeOutcome } from '../simulate';
import { IstioCompiledPolicies, type CallAuthentication, type CallTokenCheck, type PeerLevel } from '../simulate/istio';
import type { CompiledPeerAuthentication, CompiledRequestAuthentication, MtlsMode } from '../simulate/istio/compile';
import type { CompiledPolicies, SourceRef } from '../simulate/types';
import { positionKey } from './decidedIndex';
import { callsTable, count, displayedCalls, plural } from './render';

/**
 * What Istio's PeerAuthentications and RequestAuthentications do to the observed calls (spec
 * §1.8), for the lenses above them and the listing a lens opens. They rarely decide a call
 * themselves (a STRICT mode refusing a plaintext call, a 401 for an invalid token), so the
 * lenses of deciding policies say little about them. Every call is asked of the simulator
 * (`IstioCompiledPolicies.authenticationOf`: the same composition and token check as `decide`);
 * nothing here chooses which PeerAuthentication applies.
 */

type Mode = Exclude<MtlsMode, 'UNSET'>;
type Arrival = 'mtls' | 'plaintext' | 'not-logged';

/** How one call meets a PeerAuthentication. */
type PeerRole =
  /** It sets the call's mode (`port`: through its portLevelMtls entry). */
  | { role: 'sets'; mode: Mode; port: number | undefined; arrival: Arrival }
  /** It is read but UNSET: the mode comes from a wider level (`by`, or the default). */
  | { role: 'inherits'; mode: Mode; by: CompiledPeerAuthentication | undefined; arrival: Arrival }
  /** It selects the workload, but a narrower or older one decides (`by`). */
  | { role: 'passed-over'; by: CompiledPeerAuthentication | undefined }
  /** It may decide: what decides is not recorded (labels, port); the call gets one of `modes`. */
  | { role: 'maybe'; modes: readonly Mode[] }
  /** It selects the workload and Istio does not read it (not admitted, or ignored). */
  | { role: 'not-read' };

/** A call shape a resource reaches, with what the tallies read of it (copied once: the records are of many shapes). */
interface Reached<R> {
  index: number;
  count: number;
  namespace: string | undefined;
  workload: string | undefined;
  how: R;
}

function reached<R>(index: number, outcome: ShapeOutcome, how: R): Reached<R> {
  const d = outcome.shape.record.destination;
  return { index, count: outcome.shape.count, namespace: d?.namespace, workload: d?.workload ?? d?.service ?? d?.ip, how };
}

/** The resource of an outline item: its kind, and where its name is. */
export interface AuthnItem {
  file: string;
  /** Position keys (`positionKey`) of the item's text. */
  from: number;
  to: number;
}

/** Whether a policy's label ("Kind namespace/name") names a PeerAuthentication or RequestAuthentication: they authenticate calls, and allow none. */
export function isAuthenticationLabel(label: string): boolean {
  return /^(PeerAuthentication|RequestAuthentication) /.test(label);
}

/** Whether an outline item is a PeerAuthentication or RequestAuthentication (which get authentication lenses). */
export function isAuthnItem(item: { kind: string; label: string }): boolean {
  return item.kind === 'policy' && isAuthenticationLabel(item.label);
}

/**
 * What one PeerAuthentication or RequestAuthentication did to the observed calls, for the
 * reports (the audit's authentication section, `simulate`'s text): the numbers and the text of
 * its editor lens.
 */
export interface AuthenticationSummary {
  kind: 'PeerAuthentication' | 'RequestAuthentication';
  ref: SourceRef;
  /** "Kind namespace/name". */
  label: string;
  /** Calls it governs: whose mTLS mode it sets or passes on (PeerAuthentication), whose token it checks (RequestAuthentication). */
  governs: number;
  /** Calls it refuses: plaintext under the STRICT mode it sets (the connection is refused), an invalid token (401). */
  refused: number;
  /** The lens title: what it does, in words. */
  text: string;
}

export interface AuthnLens {
  title: string;
  /** The listing a click opens. */
  markdown: (limit: number) => string;
  /** Observed calls it reaches (for the unused-policy hint). */
  reaches: number;
  /** The hint when it reaches no observed call (of `total`): what it would do, never that it "decides" (it allows nothing). */
  unused: (total: number) => string;
}

/**
 * The authentication of every Istio call of one simulation result, by resource, built on first
 * use. It reads only the compiled PeerAuthentications and RequestAuthentications, the mesh-wide
 * facts and the records, so an insight built by difference keeps it across compiles while those
 * stay the same objects (their text and place unchanged) or only move (`adopt`: lines added above
 * them); any other change builds it again.
 */
export class AuthenticationIndex {
  private peer = new Map<CompiledPeerAuthentication, Reached<PeerRole>[]>();
  private request = new Map<CompiledRequestAuthentication, Reached<CallTokenCheck['check'] | 'maybe'>[]>();
  private levels: Map<CompiledPeerAuthentication, PeerLevel>;
  private requestAuths: readonly CompiledRequestAuthentication[];
  private built = false;
  /**
   * The lenses made so far, per resource (and per port entry): their titles read only what `build`
   * filed, which stays while the index does. Each remembers where its resource stood: a compiled
   * form kept across a move (lines added above it) is the same object at a new line, and its
   * listing names the line.
   */
  private readonly lenses = new Map<unknown, { lens: AuthnLens; at: number }>();
  private readonly portLenses = new Map<CompiledPeerAuthentication, { byPort: Map<number, AuthnLens>; at: number }>();
  /** The outcomes of the latest request: a listing shows the calls as decided now. */
  private outcomes: readonly ShapeOutcome[] = [];
  private readonly current = (index: number): ShapeOutcome => this.outcomes[index]!;

  private compiled: CompiledPolicies | undefined;
  /** What a call's authentication reads besides the records: the compiled forms of the PeerAuthentications and RequestAuthentications (the same objects while their text, place and order stay) and the mesh-wide facts. */
  private inputs: readonly unknown[];

  constructor(compiled: CompiledPolicies | undefined) {
    this.compiled = compiled;
    const resources = compiled instanceof IstioCompiledPolicies ? compiled.authenticationResources() : { peer: [], request: [] };
    this.levels = new Map(resources.peer.map(({ policy, level }) => [policy, level]));
    this.requestAuths = resources.request;
    this.inputs = inputsOf(compiled, resources);
  }

  /**
   * Whether this index holds for `compiled` too, and then takes it: Istio is compiled again on
   * every edit of an Istio file, and most such edits change AuthorizationPolicies only, which the
   * authentication of a call does not read.
   */
  adopt(compiled: CompiledPolicies | undefined): boolean {
    if (compiled === this.compiled) return true;
    const resources = compiled instanceof IstioCompiledPolicies ? compiled.authenticationResources() : { peer: [], request: [] };
    const inputs = inputsOf(compiled, resources);
    if (inputs.length !== this.inputs.length) return false;
    /** The resources that only moved (lines added or removed above them): compiled again, read alike. */
    const moved = new Map<unknown, unknown>();
    for (let i = 0; i < inputs.length; i++) {
      const before = this.inputs[i];
      const now = inputs[i];
      if (before === now) continue;
      if (!readAlike(before, now)) return false;
      moved.set(before, now);
    }
    if (moved.size) this.move(moved, resources);
    this.compiled = compiled;
    this.inputs = inputs;
    return true;
  }

  /** Files what was filed under each moved resource under its new compiled form; their lenses (whose listings link to the old place) are made again. */
  private move(moved: ReadonlyMap<unknown, unknown>, resources: { peer: readonly { policy: CompiledPeerAuthentication; level: PeerLevel }[]; request: readonly CompiledRequestAuthentication[] }): void {
    const to = <T>(x: T): T => (moved.get(x) as T | undefined) ?? x;
    const rekey = <K, V>(map: Map<K, V>): Map<K, V> => new Map([...map].map(([k, v]) => [to(k), v]));
    this.levels = new Map(resources.peer.map(({ policy, level }) => [policy, level]));
    this.requestAuths = resources.request;
    this.peer = rekey(this.peer);
    this.request = rekey(this.request);
    for (const list of this.peer.values()) {
      for (const r of list) if ('by' in r.how && r.how.by !== undefined) r.how = { ...r.how, by: to(r.how.by) };
    }
    for (const old of moved.keys()) {
      this.lenses.delete(old);
      this.portLenses.delete(old as CompiledPeerAuthentication);
    }
  }

  /** Whether the file has a PeerAuthentication or RequestAuthentication. */
  hasResourcesIn(path: string): boolean {
    for (const pa of this.levels.keys()) if (pa.ref.file === path) return true;
    return this.requestAuths.some((ra) => ra.ref.file === path);
  }

  /** Reads every Istio call of `outcomes` once; outcomes are named by index afterwards (the list may be decided again in place while the Istio policies stay compiled: another mesh's edit). */
  private build(outcomes: readonly ShapeOutcome[]): void {
    if (this.built) return;
    this.built = true;
    if (!(this.compiled instanceof IstioCompiledPolicies)) return;
    if (this.levels.size === 0 && this.requestAuths.length === 0) return;
    const compiled = this.compiled;
    outcomes.forEach((outcome, index) => {
      if (outcome.decision.mesh !== 'istio') return;
      const authn = compiled.authenticationOf(outcome.shape.record);
      this.filePeer(index, outcome, authn);
      this.fileTokens(index, outcome, authn);
    });
  }

  private filePeer(index: number, outcome: ShapeOutcome, { peer }: CallAuthentication): void {
    if (!peer) return;
    const add = (pa: CompiledPeerAuthentication, how: PeerRole): void => {
      let list = this.peer.get(pa);
      if (!list) this.peer.set(pa, (list = []));
      list.push(reached(index, outcome, how));
    };
    const mode = peer.modes.length === 1 ? peer.modes[0]! : undefined;
    if (mode !== undefined) {
      for (const pa of peer.chain) add(pa, pa === peer.by ? { role: 'sets', mode, port: peer.port, arrival: peer.arrival } : { role: 'inherits', mode, by: peer.by, arrival: peer.arrival });
      for (const pa of peer.passedOver) add(pa, { role: 'passed-over', by: peer.by ?? peer.chain[0] });
    }
    for (const pa of peer.maybe) add(pa, { role: 'maybe', modes: peer.modes });
    for (const pa of [...peer.ignored, ...peer.rejected]) add(pa, { role: 'not-read' });
  }

  private fileTokens(index: number, outcome: ShapeOutcome, { tokens }: CallAuthentication): void {
    for (const layer of tokens) {
      const add = (ra: CompiledRequestAuthentication, how: CallTokenCheck['check'] | 'maybe'): void => {
        let list = this.request.get(ra);
        if (!list) this.request.set(ra, (list = []));
        // (a root-namespace one may attach at the waypoint and at the destination both: the call counts once, by the first check)
        if (list.at(-1)?.index === index) return;
        list.push(reached(index, outcome, how));
      };
      for (const ra of layer.certain) add(ra, layer.check);
      for (const ra of layer.maybe) add(ra, 'maybe');
    }
  }

  /** The lens of the PeerAuthentication or RequestAuthentication whose name lies in `item`, if one does. */
  lensOf(item: AuthnItem, outcomes: readonly ShapeOutcome[]): AuthnLens | undefined {
    this.outcomes = outcomes;
    const within = (ref: SourceRef): boolean => {
      if (ref.file !== item.file) return false;
      const key = positionKey(ref.range.start);
      return key >= item.from && key <= item.to;
    };
    for (const [pa, level] of this.levels) {
      if (within(pa.ref)) return this.peerLensOf(pa, level);
    }
    for (const ra of this.requestAuths) {
      if (within(ra.ref)) return this.requestLensOf(ra);
    }
    return undefined;
  }

  /** Every PeerAuthentication Istio stores, then every RequestAuthentication it stores, in the order compiled, with what it did to `outcomes`. */
  summaries(outcomes: readonly ShapeOutcome[]): AuthenticationSummary[] {
    this.outcomes = outcomes;
    // (one Istio refuses to store is listed with the other resources not in effect, `notInEffect`)
    const peer = [...this.levels.keys()].filter((pa) => this.levels.get(pa) !== 'rejected').map((pa): AuthenticationSummary => {
      const lens = this.peerLensOf(pa, this.levels.get(pa)!);
      const refused = (this.peer.get(pa) ?? []).filter((r) => r.how.role === 'sets' && refusedArrival(r.how.mode, r.how.arrival));
      return { kind: 'PeerAuthentication', ref: pa.ref, label: pa.label, governs: lens.reaches, refused: calls(refused), text: lens.title };
    });
    const request = this.requestAuths.map((ra): AuthenticationSummary => {
      const lens = this.requestLensOf(ra);
      return { kind: 'RequestAuthentication', ref: ra.ref, label: ra.label, governs: lens.reaches, refused: calls((this.request.get(ra) ?? []).filter((r) => r.how === 'invalid')), text: lens.title };
    });
    return [...peer, ...request];
  }

  /** The lens of a PeerAuthentication's portLevelMtls entry for `port`. */
  portLensOf(item: AuthnItem, port: number, outcomes: readonly ShapeOutcome[]): AuthnLens | undefined {
    this.outcomes = outcomes;
    for (const pa of this.levels.keys()) {
      if (pa.ref.file !== item.file) continue;
      const key = positionKey(pa.ref.range.start);
      if (key < item.from || key > item.to) continue;
      let kept = this.portLenses.get(pa);
      if (kept?.at !== key) this.portLenses.set(pa, (kept = { byPort: new Map(), at: key }));
      const byPort = kept.byPort;
      let lens = byPort.get(port);
      if (!lens) {
        this.build(outcomes);
        byPort.set(port, (lens = portLens(pa, this.levels.get(pa)!, port, this.peer.get(pa) ?? [], this.current)));
      }
      return lens;
    }
    return undefined;
  }

  private peerLensOf(pa: CompiledPeerAuthentication, level: PeerLevel): AuthnLens {
    return this.kept(pa, () => peerLens(pa, level, this.peer.get(pa) ?? [], this.current));
  }

  private requestLensOf(ra: CompiledRequestAuthentication): AuthnLens {
    return this.kept(ra, () => requestLens(ra, this.request.get(ra) ?? [], this.current));
  }

  /** The lens of `resource`, made on first use: a title counts every call the resource reaches. */
  private kept(resource: CompiledPeerAuthentication | CompiledRequestAuthentication, make: () => AuthnLens): AuthnLens {
    const at = positionKey(resource.ref.range.start);
    const kept = this.lenses.get(resource);
    if (kept?.at === at) return kept.lens;
    this.build(this.outcomes);
    const lens = make();
    this.lenses.set(resource, { lens, at });
    return lens;
  }
}

/** "refused 3 plaintext calls" (PeerAuthentication), "refused 13 calls with an invalid token (401)" (RequestAuthentication). */
export function refusedText(summary: Pick<AuthenticationSummary, 'kind' | 'refused'>): string {
  return summary.kind === 'PeerAuthentication' ? `refused ${plural(summary.refused, 'plaintext call')}` : `refused ${plural(summary.refused, 'call')} with an invalid token (401)`;
}

/** What every PeerAuthentication and RequestAuthentication of `compiled` (Istio's) did to `outcomes`, for a one-off report. */
export function authenticationSummaries(compiled: CompiledPolicies | undefined, outcomes: readonly ShapeOutcome[]): AuthenticationSummary[] {
  return new AuthenticationIndex(compiled).summaries(outcomes);
}

function inputsOf(compiled: CompiledPolicies | undefined, resources: { peer: readonly { policy: CompiledPeerAuthentication }[]; request: readonly CompiledRequestAuthentication[] }): unknown[] {
  return [compiled instanceof IstioCompiledPolicies, compiled?.globals?.(), ...resources.peer.map((p) => p.policy), '', ...resources.request];
}

/**
 * Whether two compiled PeerAuthentications or RequestAuthentications of one file tell a call's
 * authentication alike: everything but where they are written.
 */
function readAlike(a: unknown, b: unknown): boolean {
  if (!isAuthnResource(a) || !isAuthnResource(b) || a.ref.file !== b.ref.file) return false;
  const { ref: _a, ...restA } = a;
  const { ref: _b, ...restB } = b;
  return isDeepStrictEqual(restA, restB);
}

function isAuthnResource(x: unknown): x is CompiledPeerAuthentication | CompiledRequestAuthentication {
  const kind = (x as { kind?: unknown } | null)?.kind;
  return kind === 'PeerAuthentication' || kind === 'RequestAuthentication';
}

function calls(list: readonly Reached<unknown>[]): number {
  let total = 0;
  for (const r of list) total += r.count;
  return total;
}

/** How many workloads the calls go to (by namespace, then name: no key string per call). */
function workloads(list: readonly Reached<unknown>[]): number {
  const byNamespace = new Map<string | undefined, Set<string | undefined>>();
  let total = 0;
  for (const r of list) {
    let names = byNamespace.get(r.namespace);
    if (!names) byNamespace.set(r.namespace, (names = new Set()));
    if (!names.has(r.workload)) {
      names.add(r.workload);
      total++;
    }
  }
  return total;
}

/** What a mode does to a plaintext call (spec §1.8). */
const PLAINTEXT: Record<Mode, string> = { STRICT: 'refused', PERMISSIVE: 'accepted', DISABLE: 'accepted' };

/** Whether a mode refuses a call that arrives so: STRICT plaintext, and DISABLE mutual TLS (the proxy does not terminate TLS there). */
function refusedArrival(mode: Mode, arrival: Arrival): boolean {
  return (mode === 'STRICT' && arrival === 'plaintext') || (mode === 'DISABLE' && arrival === 'mtls');
}

/** "N calls (A mutual TLS · B plaintext, refused · C not logged whether mTLS)" for calls under one mode. */
function arrivals(mode: Mode, list: readonly Reached<{ arrival: Arrival }>[]): string {
  const by = (arrival: Arrival): number => calls(list.filter((r) => r.how.arrival === arrival));
  const notLogged = by('not-logged');
  // DISABLE: the proxy accepts plaintext only; a caller presenting mutual TLS cannot connect.
  const mtls = mode === 'DISABLE' ? `${count(by('mtls'))} mutual TLS, refused` : `${count(by('mtls'))} mutual TLS`;
  return `${plural(calls(list), 'call')} (${mtls} · ${count(by('plaintext'))} plaintext, ${PLAINTEXT[mode]}${notLogged ? ` · ${count(notLogged)} not logged whether mTLS` : ''})`;
}

type Sets = Reached<Extract<PeerRole, { role: 'sets' }>>;

function byMode<T extends { how: { mode: Mode } }>(list: readonly T[]): [Mode, T[]][] {
  const out = new Map<Mode, T[]>();
  for (const r of list) {
    const group = out.get(r.how.mode);
    if (group) group.push(r);
    else out.set(r.how.mode, [r]);
  }
  return [...out];
}

function declared(pa: CompiledPeerAuthentication): string {
  const ports = [...pa.ports].sort((a, b) => a[0] - b[0]).map(([port, mode]) => `port ${port} ${mode}`);
  return `mTLS ${pa.mode}${ports.length ? `, ${ports.join(', ')}` : ''}`;
}

const NOT_READ: Partial<Record<PeerLevel, (pa: CompiledPeerAuthentication) => string>> = {
  rejected: (pa) => `not in effect, ${pa.rejected}: it sets no mode`,
  ignored: () => 'Istio ignores it: a workload selector in the root namespace',
};

type Current = (index: number) => ShapeOutcome;

function peerLens(pa: CompiledPeerAuthentication, level: PeerLevel, reached: readonly Reached<PeerRole>[], current: Current): AuthnLens {
  const notRead = NOT_READ[level];
  const title = notRead ? notReadTitle(notRead(pa), reached) : readTitle(pa, reached);
  return { title, reaches: notRead ? 0 : calls(reached.filter((r) => r.how.role === 'sets' || r.how.role === 'inherits')), markdown: (limit) => peerMarkdown(pa, title, reached, limit, current), unused: (total) => {
    const none = `${pa.label} sets the mTLS mode of none of the ${plural(total, 'observed call')}`;
    return notRead ? `${none}: ${title}` : [`${none} (${declared(pa)})`, ...notGoverned(reached)].join(' · ');
  } };
}

function notReadTitle(why: string, reached: readonly Reached<PeerRole>[]): string {
  return reached.length ? `${why} · ${plural(calls(reached), 'observed call')} to ${plural(workloads(reached), 'workload')} it selects` : why;
}

function readTitle(pa: CompiledPeerAuthentication, reached: readonly Reached<PeerRole>[]): string {
  const sets = reached.filter((r): r is Sets => r.how.role === 'sets');
  const inherits = reached.filter((r): r is Reached<Extract<PeerRole, { role: 'inherits' }>> => r.how.role === 'inherits');
  const parts: string[] = [];
  const governed = [...sets, ...inherits];
  let head = declared(pa);
  if (pa.mode === 'UNSET' && inherits.length) head += ` (inherits ${[...new Set(inherits.map((r) => r.how.by ? `${r.how.mode} from ${r.how.by.label}` : `${r.how.mode}, the default`))].join(', ')})`;
  if (!governed.length) parts.push(`${head}: no observed call goes by it`);
  else {
    // The mode it declares first; the head names every mode, so a single one needs no repeating.
    const groups = byMode(governed).sort((a, b) => Number(a[0] !== pa.mode) - Number(b[0] !== pa.mode));
    // (a mode other than the one it names: ztunnel reads DISABLE as PERMISSIVE)
    const single = groups.length === 1 && (pa.mode === 'UNSET' || groups[0]![0] === pa.mode);
    parts.push(`${head} for ${plural(workloads(governed), 'workload')}: ${groups.map(([mode, list]) => `${single ? '' : `${mode} `}${arrivals(mode, list)}`).join(' · ')}`);
  }
  return [...parts, ...notGoverned(reached)].join(' · ');
}

/** What the title says of the calls it does not govern: those a narrower or older one takes, those it may govern. */
function notGoverned(reached: readonly Reached<PeerRole>[]): string[] {
  const parts: string[] = [];
  const passed = reached.filter((r) => r.how.role === 'passed-over');
  if (passed.length) parts.push(`${plural(calls(passed), 'call')} to ${plural(workloads(passed), 'workload')} it selects go by ${deciders(passed)}`);
  const maybe = reached.filter((r): r is Maybe => r.how.role === 'maybe');
  if (maybe.length) parts.push(mayGovern(maybe));
  return parts;
}

type Maybe = Reached<Extract<PeerRole, { role: 'maybe' }>>;

/** "STRICT or PERMISSIVE": the modes a call may get, in the enum's order. */
function modeChoice(modes: readonly Mode[]): string {
  const names = (['STRICT', 'PERMISSIVE', 'DISABLE'] as const).filter((m) => modes.includes(m));
  if (!names.length) return 'a mode not known';
  return names.length > 1 ? `${names.slice(0, -1).join(', ')} or ${names[names.length - 1]}` : names[0]!;
}

/** The calls it may govern, grouped by the modes they may get, the most calls first. */
function byModeChoice(list: readonly Maybe[]): [string, Maybe[]][] {
  const out = new Map<string, Maybe[]>();
  for (const r of list) {
    const choice = modeChoice(r.how.modes);
    const group = out.get(choice);
    if (group) group.push(r);
    else out.set(choice, [r]);
  }
  return [...out].sort((a, b) => calls(b[1]) - calls(a[1]));
}

/** "may govern N more calls, which get STRICT or PERMISSIVE (what decides is not logged)"; several choices each with their calls. */
function mayGovern(maybe: readonly Maybe[]): string {
  const groups = byModeChoice(maybe);
  const head = `may govern ${plural(calls(maybe), 'more call')}`;
  if (groups.length === 1) return `${head}, which get ${groups[0]![0]} (what decides is not logged)`;
  return `${head} (what decides is not logged): ${groups.map(([choice, list]) => `${count(calls(list))} get ${choice}`).join(' · ')}`;
}

function deciders(list: readonly Reached<PeerRole>[]): string {
  const names = [...new Set(list.map((r) => (r.how.role === 'passed-over' && r.how.by ? r.how.by.label : 'the default')))];
  return names.length > 2 ? `${names.slice(0, 2).join(', ')} and ${plural(names.length - 2, 'other')}` : names.join(' and ');
}

function portLens(pa: CompiledPeerAuthentication, level: PeerLevel, port: number, reached: readonly Reached<PeerRole>[], current: Current): AuthnLens {
  const mode = pa.ports.get(port);
  const notRead = NOT_READ[level];
  const onPort = reached.filter((r): r is Sets => r.how.role === 'sets' && r.how.port === port);
  let title: string;
  if (notRead) title = notRead(pa);
  else if (mode === undefined) title = `port ${port}: not a port the API server admits`;
  else if (mode === 'UNSET') title = `port ${port}: mTLS UNSET, inherits the workload's mode`;
  else if (!onPort.length) title = `port ${port}: mTLS ${mode}: no observed call goes by this entry`;
  else {
    // (the mode enforced: ztunnel reads DISABLE as PERMISSIVE)
    const groups = byMode(onPort);
    const single = groups.length === 1 && groups[0]![0] === mode;
    title = `port ${port}: mTLS ${mode} for ${plural(workloads(onPort), 'workload')}: ${groups.map(([enforced, list]) => `${single ? '' : `${enforced} `}${arrivals(enforced, list)}`).join(' · ')}`;
  }
  return { title, reaches: calls(onPort), markdown: (limit) => peerMarkdown(pa, title, onPort, limit, current, `port ${port} of `), unused: (total) => `${pa.label} port ${port} sets the mTLS mode of none of the ${plural(total, 'observed call')}: ${title}` };
}

function peerMarkdown(pa: CompiledPeerAuthentication, title: string, reached: readonly Reached<PeerRole>[], limit: number, current: Current, what = ''): string {
  const out = [`# Observed calls under ${what}${pa.label}`, '', `${pa.ref.file}:${pa.ref.range.start.line + 1}`, '', `${title}.`, ''];
  const sections: [string, Reached<PeerRole>[]][] = [];
  const governed = reached.filter((r): r is Reached<Extract<PeerRole, { role: 'sets' | 'inherits' }>> => r.how.role === 'sets' || r.how.role === 'inherits');
  for (const [mode, list] of byMode(governed)) {
    for (const arrival of ['plaintext', 'mtls', 'not-logged'] as const) {
      const heading = arrival === 'plaintext' ? `Plaintext, ${PLAINTEXT[mode]}, under mTLS ${mode}` : arrival === 'mtls' ? `With mutual TLS, ${mode === 'DISABLE' ? 'refused (the proxy does not terminate TLS), ' : ''}under mTLS ${mode}` : `Not logged whether mTLS, under mTLS ${mode}`;
      sections.push([heading, list.filter((r) => r.how.arrival === arrival)]);
    }
  }
  sections.push(['Going by another PeerAuthentication (narrower, or older at the same level)', reached.filter((r) => r.how.role === 'passed-over')]);
  for (const [choice, list] of byModeChoice(reached.filter((r): r is Maybe => r.how.role === 'maybe'))) sections.push([`It may govern, ${choice} (what decides is not logged)`, list]);
  sections.push(['To workloads it selects (Istio does not read it)', reached.filter((r) => r.how.role === 'not-read')]);
  return [...out, ...listing(sections, limit, current)].join('\n');
}

const TOKEN_HEADINGS: [CallTokenCheck['check'] | 'maybe', string][] = [
  ['invalid', 'Invalid token: rejected with 401 before authorization'],
  ['absent', 'Without a token: let through with no request identity'],
  ['valid', 'Valid token'],
  ['unknown', 'Token not logged (or not fully): whether there is one and whether it validates is not known'],
  ['maybe', 'It may apply (the workload\'s labels are not known)'],
];

function requestLens(ra: CompiledRequestAuthentication, reached: readonly Reached<CallTokenCheck['check'] | 'maybe'>[], current: Current): AuthnLens {
  const of = (check: CallTokenCheck['check'] | 'maybe'): number => calls(reached.filter((r) => r.how === check));
  const checked = reached.filter((r) => r.how !== 'maybe');
  let title: string;
  if (!checked.length) title = 'checks the token of no observed HTTP call';
  else {
    title = `${plural(calls(checked), 'HTTP call')} to ${plural(workloads(checked), 'workload')}: ${count(of('valid'))} with a valid token · ${count(of('invalid'))} with an invalid one (401) · ${count(of('absent'))} without a token (let through)`;
    if (of('unknown')) title += ` · ${count(of('unknown'))} whose token is not logged`;
  }
  const mayCheck = of('maybe') ? `may check ${plural(of('maybe'), 'more call')} (labels not known)` : '';
  if (mayCheck) title += ` · ${mayCheck}`;
  const out = [`# Observed calls under ${ra.label}`, '', `${ra.ref.file}:${ra.ref.range.start.line + 1}`, '', `${title}.`, ''];
  const sections = TOKEN_HEADINGS.map(([check, heading]): [string, Reached<unknown>[]] => [heading, reached.filter((r) => r.how === check)]);
  return { title, reaches: calls(checked), markdown: (limit) => [...out, ...listing(sections, limit, current)].join('\n'), unused: (total) => `${ra.label} checks the token of none of the ${plural(total, 'observed call')}${mayCheck ? ` · ${mayCheck}` : ''}` };
}

function listing(sections: readonly [string, readonly Reached<unknown>[]][], limit: number, current: Current): string[] {
  const out: string[] = [];
  for (const [heading, list] of sections) {
    if (!list.length) continue;
    const rows = displayedCalls(list.map((r) => current(r.index)));
    out.push(`## ${heading} (${plural(calls(list), 'call')})`, '', callsTable(rows.slice(0, limit), { samples: true, decidedBy: true }), '');
    if (rows.length > limit) out.push(`…and ${plural(rows.length - limit, 'more kind')} of call.`, '');
  }
  if (!out.length) out.push('No observed call reaches it.');
  return out;
}

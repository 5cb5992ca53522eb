import type { ProjectConfig } from '../../config/projectConfig';
import type { AccessRecord } from '../../traffic/accessRecord';
import type { Decision, Denier, PolicySet, SourceRef, TraceStep } from '../types';
import { Check, checkAuthz, makeAuthz, stepFor, verboseStep, type Authz, type ClientAddress } from './authz';
import {
  PROTOCOL_TEXT, isDefaultPolicy, matchSelector, newIdentitySet, addIdentity, addExactIdentity, readResources, selectorMismatch,
  serviceAccountIdentity, type ClusterIdentity, type DefaultPolicyName, type HttpMatchDef, type PolicyDef, type ProxyProtocol,
  type ResourceIndex, type RouteDef, type Selector, type ServerAuthorizationDef, type ServerDef,
} from './model';
import { ALL_NETWORKS, LOCALHOST_NETWORKS, parseNet, type NetMatch } from './net';
import { ANNOTATION, podViewsFor, type PodView, type PodViews } from './pod';
import { newDecisionMemo, recall, remember, type DecisionMemo } from './memo';
import { fillRequestView, requestHost, routeMismatch, selectRoute, type RequestView, type RouteC, type RuleC } from './routes';

/** Cluster settings the project configuration does not carry (Helm values of the control plane). */
export interface LinkerdClusterOptions {
  /** `identityTrustDomain`, default `cluster.local`. */
  trustDomain?: string;
  /** The control plane's namespace, default `linkerd`. */
  controlPlaneNamespace?: string;
  /** `probeNetworks`, default `0.0.0.0/0` and `::/0`. */
  probeNetworks?: string[];
}

/** A decided world (one possible value of the attributes a record lacks); already a Decision. */
type Outcome = Decision;

export interface Inbound {
  server?: ServerDef;
  label: string;
  policyRef?: SourceRef;
  /** Who denies what no authorization admits here, as the proxy's policy events name it. */
  denier: Denier;
  protocol: ProxyProtocol;
  /** Server-level authorizations, audit last, localhost before audit. */
  authzs: Authz[];
  http: RouteC[];
  grpc: RouteC[];
  step: TraceStep;
  notes: TraceStep[];
  port: number;
  connAllow: Map<Authz, { reason: string; step: TraceStep }>;
  connDeny?: DenyText;
  notFound?: { reason: string; step: TraceStep };
  notFoundGrpc?: { reason: string; step: TraceStep };
  /** Decisions of `decide` (not `explain`) per route rule and client identity (`memo.ts`). */
  decided?: Map<RuleC, DecisionMemo>;
  decidedGrpc?: Map<RuleC, DecisionMemo>;
  decidedConn?: DecisionMemo;
  /** The 404 / NOT_FOUND decision of `decide`, the same for every call. */
  notFoundDecision?: Decision;
  notFoundGrpcDecision?: Decision;
}

export interface PortWorlds {
  worlds: Inbound[];
  missing: string[];
  /** The Servers of the namespace that do not take the port, and why; their trace steps
   * (`notes`) are written only when a call is explained. */
  skipped: { server: ServerDef; why: 'rejected' | 'selector' | 'port' | 'older'; older?: ServerDef }[];
  notes: TraceStep[] | undefined;
  pod: PodView;
  port: number;
}

interface ServerBase {
  authzs: Authz[];
  /** Explicit routes (undefined = none attached: default routes apply). */
  http?: RouteC[];
  grpc?: RouteC[];
  notes: TraceStep[];
}

export interface CallView extends ClientAddress, RequestView {
  call: AccessRecord;
  verbose: boolean;
  principal: string | undefined;
  proto: 'tcp' | 'http' | 'grpc' | undefined;
  /** The request attributes (this object itself). */
  req: RequestView;
}

const MESH = 'linkerd' as const;
const CONN = ['conn'] as const;
/** Shared, never written to: decideWorlds only adds preliminary steps on slow paths, which copy it first. */
const NO_STEPS: TraceStep[] = [];
const HTTP = ['http'] as const;
const BOTH = ['conn', 'http'] as const;

export class LinkerdPolicies {
  private readonly idx: ResourceIndex;
  private readonly cluster: ClusterIdentity;
  private readonly clusterNetworks: NetMatch[];
  private readonly probeNetworks: NetMatch[];
  /** Destination views, kept across compiles (`podViewsFor`), and this compile's copies with its inbound views. */
  private readonly pods: PodViews;
  private readonly compiledPods = new Map<PodView, PodView>();
  /** The per-port inbound views of pods, shared by pods with the same `inboundKey`. */
  private readonly inboundByKey = new Map<string, Map<number, unknown>>();
  /** The call view of `decide`, reused from call to call (decisions never keep it). */
  private readonly scratch = newCallView();
  private readonly serverBases = new Map<ServerDef, ServerBase>();
  private readonly policyAuthz = new Map<PolicyDef, Authz | string>();
  private readonly saAuthz = new Map<ServerAuthorizationDef, Authz>();
  private readonly defaultAuthzCache = new Map<string, Authz[]>();
  private readonly localhost: Authz;
  private readonly defaultRouteCache = new Map<string, RouteC[]>();
  private targetIndex: TargetIndex | undefined;
  /** Problems found while compiling (unparseable cluster networks and the like). */
  readonly problems: string[] = [];

  constructor(policies: PolicySet, options: LinkerdClusterOptions = {}) {
    const config: ProjectConfig = policies.config;
    this.cluster = { trustDomain: options.trustDomain ?? config.linkerd.trustDomain, controlPlaneNamespace: options.controlPlaneNamespace ?? config.linkerd.controlPlaneNamespace };
    this.idx = readResources(policies.resources, this.cluster, policies.forms);
    this.clusterNetworks = this.nets(config.linkerd.clusterNetworks, 'linkerd.clusterNetworks');
    this.probeNetworks = options.probeNetworks ? this.nets(options.probeNetworks, 'probeNetworks') : [...ALL_NETWORKS];
    const configured = config.linkerd.defaultInboundPolicy;
    const clusterDefault: DefaultPolicyName = isDefaultPolicy(configured) ? configured : 'all-unauthenticated';
    const files = [...policies.resources.map((r) => r.file), ...(policies.sourceFiles ?? [])];
    this.pods = podViewsFor({ inventory: policies.inventory, clusterDefault, clusterDefaultFromConfig: config.file !== undefined && configured !== 'all-unauthenticated' }, files);
    this.localhost = makeAuthz({ kind: 'localhost', label: 'the proxy\'s localhost authorization', networks: LOCALHOST_NETWORKS, authn: 0 });
  }

  /** The resources Linkerd's admission webhook (or the CRD schema) refuses: they never exist, so they decide nothing (spec §2.7.2). */
  notInEffect(): readonly { ref: SourceRef; reason: string }[] {
    return this.idx.all.filter((resource) => resource.rejected !== undefined).map((resource) => ({ ref: resource.at, reason: `Linkerd refuses to store it (${resource.rejected})` }));
  }

  private nets(list: string[], what: string): NetMatch[] {
    const out: NetMatch[] = [];
    for (const text of list) {
      const net = parseNet(text);
      if (net) out.push({ net, except: [] });
      else this.problems.push(`${what}: "${text}" is not a network`);
    }
    return out;
  }

  // ------------------------------------------------------------------ authorizations

  private defaultAuthzs(policy: DefaultPolicyName, authenticatedOnly: boolean, server?: ServerDef): Authz[] {
    // defaults.rs `default_authzs`; `proxy-require-identity-inbound-ports` turns an allow policy
    // into its authenticated form (workload.rs `default_inbound_server`).
    let name: string = policy;
    if (authenticatedOnly && policy === 'all-unauthenticated') name = 'all-authenticated';
    if (authenticatedOnly && policy === 'cluster-unauthenticated') name = 'cluster-authenticated';
    const key = `${name}\u0000${server ? `${server.namespace}/${server.name}` : ''}`;
    const cached = this.defaultAuthzCache.get(key);
    if (cached) return cached;
    const label = server ? `${server.at.label} accessPolicy ${name}` : `default policy ${name}`;
    const common = { kind: 'default' as const, label, ...(server ? { at: server.at, policyRef: server.at } : {}) };
    let out: Authz[] = [];
    const anyId = newIdentitySet();
    addIdentity(anyId, '*');
    switch (name) {
      case 'all-unauthenticated': out = [makeAuthz({ ...common, networks: ALL_NETWORKS, authn: 0 })]; break;
      case 'all-authenticated': out = [makeAuthz({ ...common, networks: ALL_NETWORKS, authn: 2, ids: anyId })]; break;
      case 'cluster-unauthenticated': out = [makeAuthz({ ...common, networks: this.clusterNetworks, authn: 0 })]; break;
      case 'cluster-authenticated': out = [makeAuthz({ ...common, networks: this.clusterNetworks, authn: 2, ids: anyId })]; break;
      case 'audit': out = [makeAuthz({ ...common, label: server ? `${server.at.label} accessPolicy audit` : 'default policy audit', networks: ALL_NETWORKS, authn: 0, audit: true })]; break;
      default: out = [];
    }
    this.defaultAuthzCache.set(key, out);
    return out;
  }

  /** `policy_client_authz`: the AuthorizationPolicy as one authorization, or why it is ignored. */
  private authzOfPolicy(p: PolicyDef): Authz | string {
    const cached = this.policyAuthz.get(p);
    if (cached) return cached;
    let result: Authz | string;
    if (p.rejected) result = `rejected at admission: ${p.rejected}`;
    else {
      let ids: ReturnType<typeof newIdentitySet> | undefined;
      let networks: NetMatch[] | undefined;
      const via: string[] = [];
      result = '';
      for (const ref of p.authns) {
        const ns = ref.namespace ?? p.namespace;
        if (ref.kind === 'meshtls') {
          const m = this.idx.meshTLS.get(`${ns}/${ref.name}`);
          if (!m || !m.ids) {
            result = m ? `MeshTLSAuthentication ${ns}/${ref.name} is not usable (${m.rejected ?? 'no identities'}); the policy is ignored` : `MeshTLSAuthentication ${ns}/${ref.name} does not exist; the policy is ignored ("Illegal AuthorizationPolicy")`;
            break;
          }
          ids = m.ids;
          via.push(`MeshTLSAuthentication ${ns}/${ref.name}`);
        } else if (ref.kind === 'serviceaccount') {
          ids = newIdentitySet();
          addExactIdentity(ids, serviceAccountIdentity(this.cluster, ns, ref.name));
          via.push(`ServiceAccount ${ns}/${ref.name}`);
        } else {
          const n = this.idx.networks.get(`${ns}/${ref.name}`);
          if (!n || !n.networks) {
            result = n ? `NetworkAuthentication ${ns}/${ref.name} is not usable (${n.rejected ?? 'no networks'}); the policy is ignored` : `NetworkAuthentication ${ns}/${ref.name} does not exist; the policy is ignored ("Illegal AuthorizationPolicy")`;
            break;
          }
          networks = n.networks;
          via.push(`NetworkAuthentication ${ns}/${ref.name}`);
        }
      }
      if (result === '') {
        result = makeAuthz({
          kind: 'AuthorizationPolicy', label: p.at.label, at: p.at, policyRef: p.at,
          networks: networks ?? ALL_NETWORKS, authn: ids ? 2 : 0, ...(ids ? { ids } : {}),
          via: via.length ? via.join(' + ') : 'no required authentication: every client',
        });
      }
    }
    this.policyAuthz.set(p, result);
    return result;
  }

  private authzOfServerAuthorization(s: ServerAuthorizationDef): Authz {
    let a = this.saAuthz.get(s);
    if (!a) {
      const authn = s.authn!;
      // An omitted client.networks means the cluster networks (grpc/src/inbound.rs `to_authz`).
      const networks = s.networks.length ? s.networks : this.clusterNetworks;
      a = makeAuthz({
        kind: 'ServerAuthorization', label: s.at.label, at: s.at, policyRef: s.at, networks,
        authn: authn.type === 'any' ? 0 : authn.type === 'tls' ? 1 : 2, ...(authn.type === 'ids' ? { ids: authn.ids } : {}),
        ...(s.networks.length ? {} : { via: 'no client.networks: the cluster networks' }),
      });
      this.saAuthz.set(s, a);
    }
    return a;
  }

  /** AuthorizationPolicies and routes by what they attach to (built on first use). */
  private targets(): TargetIndex {
    return (this.targetIndex ??= new TargetIndex(this.idx));
  }

  /** Everything that authorizes a Server on every route (index.rs `client_authzs`), plus routes. */
  private serverBase(s: ServerDef): ServerBase {
    const cached = this.serverBases.get(s);
    if (cached) return cached;
    const notes: TraceStep[] = [];
    // what the cluster's CRDs dropped from the resources that make up the Server's policy
    const droppedFrom = (def: { at: SourceRef; dropped?: readonly string[] }) => { for (const note of def.dropped ?? []) notes.push({ text: `${def.at.label}: ${note}`, outcome: 'applies', at: def.at }); };
    droppedFrom(s);
    const authzs: Authz[] = [];
    for (const sa of this.idx.serverAuthorizations.get(s.namespace) ?? []) {
      const selects = 'name' in sa.server ? sa.server.name === s.name : matchSelector(sa.server.selector, s.labels) === 1;
      if (!selects) continue;
      droppedFrom(sa);
      if (sa.rejected) notes.push({ text: `${sa.at.label} selects ${s.at.label} but would be rejected at admission: ${sa.rejected}`, outcome: 'skipped', at: sa.at });
      else if (sa.ignored) notes.push({ text: `${sa.at.label} selects ${s.at.label} but is ignored: ${sa.ignored}`, outcome: 'skipped', at: sa.at });
      else authzs.push(this.authzOfServerAuthorization(sa));
    }
    for (const p of this.targets().serverPolicies(s)) {
      droppedFrom(p);
      const t = p.target!;
      const a = this.authzOfPolicy(p);
      if (typeof a === 'string') notes.push({ text: `${p.at.label} targets ${t.type === 'namespace' ? `namespace ${s.namespace}` : s.at.label} but ${a}`, outcome: 'skipped', at: p.at });
      else authzs.push(a);
    }
    const access = s.accessPolicy ? this.defaultAuthzs(s.accessPolicy, false, s) : [];
    const base: ServerBase = { authzs: orderAuthzs([...authzs, ...access], this.localhost), notes };
    // Routes attached to the Server (index.rs `http_routes`/`grpc_routes`); an HTTPRoute is not
    // accepted when a GRPCRoute is attached to the same Server (status/index.rs).
    const attached = this.targets().routesOf(s);
    const usable: RouteDef[] = [];
    for (const r of attached) {
      droppedFrom(r);
      if (r.ignored) notes.push({ text: `${r.at.label} names ${s.at.label} as parent but is ignored by the policy controller: ${r.ignored}`, outcome: 'skipped', at: r.at });
      else usable.push(r);
    }
    const grpcRoutes = usable.filter((r) => r.kind === 'GRPCRoute');
    let httpRoutes = usable.filter((r) => r.kind === 'HTTPRoute');
    if (grpcRoutes.length && httpRoutes.length) {
      for (const r of httpRoutes) notes.push({ text: `${r.at.label} is not accepted by ${s.at.label}: a GRPCRoute is attached to the same Server (RouteReasonConflicted)`, outcome: 'skipped', at: r.at });
      httpRoutes = [];
    }
    if (httpRoutes.length) base.http = httpRoutes.map((r) => this.routeC(r, base.authzs));
    if (grpcRoutes.length) base.grpc = grpcRoutes.map((r) => this.routeC(r, base.authzs));
    this.serverBases.set(s, base);
    return base;
  }

  private routeC(r: RouteDef, serverAuthzs: Authz[]): RouteC {
    const routeAuthzs: Authz[] = [];
    for (const p of this.targets().routePolicies(r)) {
      const a = this.authzOfPolicy(p);
      if (typeof a !== 'string') routeAuthzs.push(a);
    }
    const ordered = orderAuthzs(routeAuthzs, undefined);
    return {
      kind: r.kind, def: r, label: r.at.label, at: r.at, hostnames: r.hostnames,
      rules: r.rules.map((rule) => ({
        index: rule.index, matches: rule.matches, at: rule.at, label: rule.at.label,
        ...(rule.redirect ? { redirect: rule.redirect } : {}),
        step: { text: `${rule.at.label} matches the request`, outcome: 'matched', at: rule.at },
      })),
      authzs: joinAuthzs(ordered, serverAuthzs), routeLevel: ordered.length, allowCache: new Map(),
    };
  }

  /** The default route (matches everything), plus the probe route for HTTP. */
  private defaultRoutes(ownerLabel: string, serverAuthzs: Authz[], probePaths: string[] | undefined, grpc: boolean): RouteC[] {
    const key = `${ownerLabel}\u0000${grpc ? 'g' : 'h'}\u0000${probePaths?.join('\u0001') ?? ''}`;
    const cached = this.defaultRouteCache.get(key);
    if (cached) return cached;
    const routes: RouteC[] = [{
      kind: 'default', label: `the default route of ${ownerLabel} (no ${grpc ? 'GRPCRoute' : 'HTTPRoute'} attached)`, hostnames: [],
      rules: [{ index: 0, matches: [], label: 'the default route', step: { text: `no ${grpc ? 'GRPCRoute' : 'HTTPRoute'} is attached to ${ownerLabel}: the default route matches every request`, outcome: 'matched' } }],
      authzs: serverAuthzs, routeLevel: 0, allowCache: new Map(),
    }];
    if (!grpc && probePaths?.length && this.probeNetworks.length) {
      const probe = makeAuthz({ kind: 'probe', label: 'the probe authorization (probeNetworks)', networks: this.probeNetworks, authn: 0 });
      const matches: HttpMatchDef[] = probePaths.map((p, i) => ({
        index: i, method: 'GET', path: { type: 'Exact', value: p, trimmed: p }, headers: [], query: [], text: `GET ${p}`,
      }));
      routes.push({
        kind: 'probe', label: `the probe route of ${ownerLabel} (GET ${probePaths.join(', ')})`, hostnames: [],
        rules: [{ index: 0, matches, label: 'the probe route', step: { text: `the probe route matches (GET ${probePaths.join(', ')}: the pod's HTTP probes on this port)`, outcome: 'matched' } }],
        authzs: joinAuthzs([probe], serverAuthzs), routeLevel: 1, allowCache: new Map(),
      });
    }
    this.defaultRouteCache.set(key, routes);
    return routes;
  }

  // ------------------------------------------------------------------ servers per pod and port

  /** The candidate inbound servers of a pod's port (also read by the fold, `fold.ts`). */
  portWorlds(pod: PodView, port: number): PortWorlds {
    const cached = pod.inbound.get(port) as PortWorlds | undefined;
    if (cached) return cached;
    const worlds: Inbound[] = [];
    const missing: string[] = [];
    const skipped: PortWorlds['skipped'] = [];
    let certain: ServerDef | undefined;
    for (const s of this.idx.servers.get(pod.namespace) ?? []) {
      if (s.rejected) {
        skipped.push({ server: s, why: 'rejected' });
        continue;
      }
      const selector = selectorFor(s, pod);
      if (!selector) continue;
      const sm = matchSelector(selector, pod.labels);
      if (sm === 0) {
        skipped.push({ server: s, why: 'selector' });
        continue;
      }
      let pm: 0 | 1 | 2;
      if (typeof s.port === 'number') pm = s.port === port ? 1 : 0;
      else if (pod.namedPorts) pm = pod.namedPorts.get(s.port)?.includes(port) ? 1 : 0;
      else pm = 2;
      if (pm === 0) {
        skipped.push({ server: s, why: 'port' });
        continue;
      }
      if (certain) {
        skipped.push({ server: s, why: 'older', older: certain });
        continue;
      }
      worlds.push(this.inboundFor(s, pod, port));
      if (sm === 1 && pm === 1) certain = s;
      else {
        if (sm === 2 && !missing.includes('destination.labels')) missing.push('destination.labels');
        if (pm === 2 && !missing.includes('destination.workload')) missing.push('destination.workload');
      }
    }
    if (!certain) worlds.push(this.defaultInbound(pod, port));
    const out: PortWorlds = { worlds, missing, skipped, notes: undefined, pod, port };
    pod.inbound.set(port, out);
    return out;
  }

  /** The trace steps for the Servers that do not take the port (explain only). */
  private portNotes(pw: PortWorlds): TraceStep[] {
    if (pw.notes) return pw.notes;
    const { pod, port } = pw;
    pw.notes = pw.skipped.map(({ server: s, why, older }): TraceStep => {
      const text = why === 'rejected' ? `${s.at.label} would be rejected at admission: ${s.rejected}`
        : why === 'selector' ? `${s.at.label} does not select the ${pod.external ? 'external workload' : 'pod'}: ${selectorMismatch(selectorFor(s, pod)!, pod.labels ?? {})}`
          : why === 'port' ? `${s.at.label} selects the pod but not port ${port} (port ${typeof s.port === 'number' ? s.port : `"${s.port}" = ${pod.namedPorts?.get(s.port)?.join(', ') || 'no TCP container port of that name'}`})`
            : `${s.at.label} also selects port ${port}, but the older ${older!.at.label} wins`;
      return { text, outcome: 'skipped', at: s.at };
    });
    return pw.notes;
  }

  private inboundFor(s: ServerDef, pod: PodView, port: number): Inbound {
    const base = this.serverBase(s);
    const probes = pod.probes.get(port);
    const http = base.http ?? this.defaultRoutes(s.at.label, base.authzs, probes, false);
    const grpc = base.grpc ?? this.defaultRoutes(s.at.label, base.authzs, undefined, true);
    return {
      server: s, label: s.at.label, policyRef: s.at, denier: { kind: 'server', namespace: s.namespace, name: s.name }, protocol: s.protocol, authzs: base.authzs, http, grpc, port,
      step: { text: `${s.at.label} selects port ${port} of the ${pod.external ? 'external workload (externalWorkloadSelector' : 'pod (podSelector'} ${selectorFor(s, pod)!.text}, port ${s.port}, proxyProtocol ${PROTOCOL_TEXT[s.protocol]})`, outcome: 'applies', at: s.at },
      notes: base.notes, connAllow: new Map(),
    };
  }

  private defaultInbound(pod: PodView, port: number): Inbound {
    const d = pod.defaultPolicy;
    const requireId = pod.requireIdPorts.has(port);
    const authzs = orderAuthzs(this.defaultAuthzs(d.name, requireId), this.localhost);
    const opaque = pod.opaquePorts.has(port);
    const effective = requireId && d.name === 'all-unauthenticated' ? 'all-authenticated' : requireId && d.name === 'cluster-unauthenticated' ? 'cluster-authenticated' : d.name;
    const label = `the default policy ${effective}`;
    const notes: TraceStep[] = [];
    if (d.ignoredNote) notes.push({ text: d.ignoredNote, outcome: 'skipped' });
    let text = `no Server selects port ${port} of the pod: the default policy ${d.name} applies, from the ${d.source}`;
    if (effective !== d.name) text += `; port ${port} is in ${ANNOTATION.requireIdentity}, so it becomes ${effective}`;
    if (opaque) text += `; port ${port} is opaque (${ANNOTATION.opaquePorts})`;
    return {
      label, denier: { kind: 'default', name: effective }, protocol: opaque ? 'opaque' : 'detect', authzs, port,
      http: this.defaultRoutes(label, authzs, pod.probes.get(port), false), grpc: [],
      step: { text, outcome: 'applies', ...(d.at ? { at: d.at } : {}) },
      notes, connAllow: new Map(),
    };
  }

  // ------------------------------------------------------------------ pods

  /** The compile's view of a call's destination: the kept pod view, with this compile's inbound views. */
  podFor(call: AccessRecord): PodView | undefined {
    const d = call.destination;
    if (!d) return undefined;
    const base = this.pods.viewOf(d);
    if (!base) return undefined;
    let pod = this.compiledPods.get(base);
    if (!pod) {
      let inbound = this.inboundByKey.get(base.inboundKey);
      if (!inbound) this.inboundByKey.set(base.inboundKey, (inbound = new Map()));
      this.compiledPods.set(base, (pod = { ...base, inbound }));
    }
    return pod;
  }

  /**
   * A destination's inbound servers, per port (`port`, or every port the pod declares or a Server
   * selecting it names), as `decide` finds them: the Server that selects the port or the default,
   * and the Servers that do not take it and why. What `mesh-policy authz` lists.
   */
  inboundPorts(destination: NonNullable<AccessRecord['destination']>, port?: number): { pod: PodView; ports: PortWorlds[] } | undefined {
    const pod = this.podFor({ destination });
    if (!pod) return undefined;
    const ports = port !== undefined ? [port] : this.candidatePorts(pod).filter((p) => p !== 0);
    return { pod, ports: ports.map((p) => this.portWorlds(pod, p)) };
  }

  /** The AuthorizationPolicy or ServerAuthorization an authorization was made from. */
  definitionOf(a: Authz): PolicyDef | ServerAuthorizationDef | undefined {
    if (a.kind !== 'AuthorizationPolicy' && a.kind !== 'ServerAuthorization') return undefined;
    const list: readonly (PolicyDef | ServerAuthorizationDef)[] = a.kind === 'AuthorizationPolicy' ? [...this.idx.policies.values()].flat() : [...this.idx.serverAuthorizations.values()].flat();
    return list.find((d) => d.at === a.at);
  }

  // ------------------------------------------------------------------ deciding

  decide(call: AccessRecord, verbose: boolean): Decision {
    const cv = verbose ? newCallView() : this.scratch;
    fillCallView(cv, call, verbose);
    const trace: TraceStep[] = verbose ? [] : NO_STEPS;
    let out = this.decideWorlds(cv, trace);
    // `out` may be a decision shared with other calls (memo.ts): change a copy.
    if (trace.length) out = { ...out, trace: [...trace, ...out.trace] };
    if (out.missing && out.missing.length === 0) {
      out = { ...out };
      delete out.missing;
    }
    return out;
  }

  private decideWorlds(cv: CallView, pre: TraceStep[]): Outcome {
    const call = cv.call;
    const pod = this.podFor(call);
    if (!pod) {
      const missing = ['destination.namespace'];
      return unknownOutcome(`unknown: the record does not say which namespace the destination pod is in`, missing, [{ text: 'the destination pod is not known: no destination.namespace (or a pod IP of the inventory)', outcome: 'unknown' }]);
    }
    if (cv.verbose) {
      pre.push({ text: pod.description, outcome: 'applies', ...(pod.at ? { at: pod.at } : {}) });
      if (call.source?.principal === undefined || call.source.principal === null) pre.push({ text: 'the client presented no mesh identity (plaintext or unmeshed)', outcome: 'applies' });
      else pre.push({ text: `the client's mesh identity is ${call.source.principal}`, outcome: 'applies' });
    }
    if (pod.injectDisabled) {
      const at = pod.injectDisabled === true ? undefined : pod.injectDisabled;
      const step: TraceStep = { text: `the destination pod has ${ANNOTATION.inject}: disabled: no Linkerd proxy, so no inbound policy applies`, outcome: 'verdict', ...(at ? { at } : {}) };
      return { verdict: 'allow', mesh: MESH, reason: 'allowed: the destination is not meshed (linkerd.io/inject: disabled)', trace: [step] };
    }
    const port = call.destination?.port;
    if (port !== undefined && !pod.skipPorts.has(port)) {
      const pw = this.portWorlds(pod, port);
      if (pw.worlds.length === 1) {
        const ib = pw.worlds[0]!;
        const protos = protocolWorlds(ib.protocol, cv.proto);
        if (protos.length === 1) return this.evaluate(ib, protos[0]!, cv, pw);
      }
    }
    let ports: number[];
    const worldMissing: string[] = [];
    let portStep: TraceStep | undefined;
    if (port !== undefined) ports = [port];
    else {
      ports = this.candidatePorts(pod);
      worldMissing.push('destination.port');
      portStep = ({ text: `the record has no destination port: deciding for every port the policies could treat differently (${ports.map((p) => (p === 0 ? 'any other port' : String(p))).join(', ')})`, outcome: 'unknown' });
    }
    const outcomes: { o: Outcome; world: string }[] = [];
    for (const p of ports) {
      if (pod.skipPorts.has(p)) {
        outcomes.push({ world: `port ${p}`, o: { verdict: 'allow', mesh: MESH, reason: `allowed: port ${p} is in ${ANNOTATION.skipInbound}; the proxy does not intercept it and no policy applies`, trace: [{ text: `port ${p} is in ${ANNOTATION.skipInbound}: traffic bypasses the proxy`, outcome: 'verdict' }] } });
        continue;
      }
      const pw = this.portWorlds(pod, p);
      for (const m of pw.missing) if (!worldMissing.includes(m)) worldMissing.push(m);
      for (const ib of pw.worlds) {
        const protos = protocolWorlds(ib.protocol, cv.proto);
        if (protos.length > 1 && !worldMissing.includes('protocol')) worldMissing.push('protocol');
        for (const proto of protos) {
          const o = this.evaluate(ib, proto, cv, pw);
          outcomes.push({ o, world: `${ports.length > 1 ? `port ${p === 0 ? 'other' : p}, ` : ''}${pw.worlds.length > 1 ? `${ib.label}, ` : ''}${protos.length > 1 ? `${proto === 'conn' ? 'non-HTTP connection' : 'HTTP request'}` : ''}`.replace(/, $/, '') });
        }
      }
    }
    let result: Outcome;
    if (outcomes.length === 1) {
      result = { ...outcomes[0]!.o };
      if (worldMissing.length && result.verdict === 'unknown') result.missing = union(result.missing, worldMissing);
    } else {
      result = combine(outcomes, worldMissing);
    }
    if (portStep) result.trace = [portStep, ...result.trace];
    return result;
  }

  private candidatePorts(pod: PodView): number[] {
    const set = new Set<number>();
    for (const p of pod.declaredPorts ?? []) set.add(p);
    for (const s of this.idx.servers.get(pod.namespace) ?? []) {
      const selector = selectorFor(s, pod);
      if (s.rejected || !selector || matchSelector(selector, pod.labels) === 0) continue;
      if (typeof s.port === 'number') set.add(s.port);
      else for (const n of pod.namedPorts?.get(s.port) ?? []) set.add(n);
    }
    const list = [...set].sort((a, b) => a - b);
    // Without the pod's declared ports, the call may reach a port no policy names.
    if (!pod.declaredPorts || pod.declaredPorts.length === 0) list.push(0);
    return list;
  }

  /** Decides one call on one inbound server (spec §2.6). */
  private evaluate(ib: Inbound, mode: 'conn' | 'http', cv: CallView, pw: PortWorlds): Outcome {
    if (mode === 'conn') {
      if (cv.verbose) return this.evaluateConnection(ib, cv, [...this.portNotes(pw), ...ib.notes, ib.step]);
      const memo = (ib.decidedConn ??= newDecisionMemo());
      const known = recall(memo, ib.authzs, cv.principal, cv);
      if (known) return known;
      const ipRead = cv.ipParsed;
      const o = this.evaluateConnection(ib, cv, [ib.step]);
      return remember(memo, ib.authzs, cv.principal, cv, ipRead || cv.ipParsed, o);
    }
    const grpcRoutes = ib.protocol === 'grpc';
    const routes = grpcRoutes ? ib.grpc : ib.http;
    const grpcCall = cv.proto === 'grpc' || grpcRoutes;
    if (!cv.verbose) {
      // decide(): the same rule and identity (and IP, when read) give the same decision.
      const sel = selectRoute(routes, cv.req, grpcRoutes);
      if (sel.maybes.length === 0) {
        if (!sel.best) return this.notFoundDecision(ib, grpcCall);
        const { route, rule } = sel.best;
        const byRule = grpcCall ? (ib.decidedGrpc ??= new Map()) : (ib.decided ??= new Map());
        let memo = byRule.get(rule);
        if (!memo) byRule.set(rule, (memo = newDecisionMemo()));
        const known = recall(memo, route.authzs, cv.principal, cv);
        if (known) return known;
        const ipRead = cv.ipParsed;
        const o = this.authorizeRoute(ib, route, rule, cv, [ib.step], grpcCall);
        return remember(memo, route.authzs, cv.principal, cv, ipRead || cv.ipParsed, o);
      }
    }
    const steps: TraceStep[] = cv.verbose ? [...this.portNotes(pw), ...ib.notes, ib.step] : [ib.step];
    if (cv.verbose) {
      const what = grpcRoutes ? 'GRPCRoutes' : 'HTTPRoutes';
      const scope = ib.server ? `the ${what} of ${ib.label}` : 'the default routes (no Server)';
      steps.push({ text: `the request: ${cv.req.method ?? '(method not recorded)'} ${cv.req.path ?? '(path not recorded)'}${cv.req.query ? `?${cv.req.query}` : ''}${requestHost(cv.req) ? ` host ${requestHost(cv.req)}` : ''}; matching ${scope}`, outcome: 'applies' });
    }
    const sel = selectRoute(routes, cv.req, grpcRoutes);
    // The selection object is reused by the next selectRoute call: keep what we need.
    const best = sel.best ? { route: sel.best.route, rule: sel.best.rule, match: sel.best.match } : undefined;
    const maybes = sel.maybes;
    const missing = sel.missing;
    if (cv.verbose) {
      for (const r of routes) {
        if (best?.route === r || maybes.some((m) => m.route === r)) continue;
        const alone = selectRoute([r], cv.req, grpcRoutes).best;
        const text = alone
          ? `${r.label} matches too, but ${best ? `${best.rule.label} is a better match (hostname, then longer path with Exact first, method, headers, query parameters; on a tie the older route, then the first by name)` : 'another route is preferred'}`
          : `${r.label} does not match: ${routeMismatch(r, cv.req, grpcRoutes)}`;
        steps.push({ text, outcome: 'not-matched', ...(r.at ? { at: r.at } : {}) });
      }
    }
    if (!best && maybes.length === 0) return this.notFound(ib, steps, grpcCall);
    if (maybes.length === 0) return this.authorizeRoute(ib, best!.route, best!.rule, cv, steps, grpcCall, best!.match);
    // Some route might match: decide under each possibility.
    const outcomes: { o: Outcome; world: string }[] = [];
    if (best) outcomes.push({ world: `${best.rule.label}`, o: this.authorizeRoute(ib, best.route, best.rule, cv, [...steps], grpcCall, best.match) });
    for (const m of maybes) outcomes.push({ world: `${m.rule.label}`, o: this.authorizeRoute(ib, m.route, m.rule, cv, [...steps], grpcCall, m.match) });
    if (!best) outcomes.push({ world: 'no route', o: this.notFound(ib, [...steps], grpcCall) });
    return combine(outcomes, missing);
  }

  /** The not-found decision of `decide` for the inbound server, made once. */
  private notFoundDecision(ib: Inbound, grpc: boolean): Outcome {
    if (grpc) return (ib.notFoundGrpcDecision ??= this.notFound(ib, [ib.step], true));
    return (ib.notFoundDecision ??= this.notFound(ib, [ib.step], false));
  }

  private notFound(ib: Inbound, steps: TraceStep[], grpc: boolean): Outcome {
    let nf = grpc ? ib.notFoundGrpc : ib.notFound;
    if (!nf) {
      const reason = `denied (${grpc ? 'gRPC NOT_FOUND' : 'HTTP 404'}): no route of ${ib.label} matches the request`;
      nf = { reason, step: { text: reason, outcome: 'verdict', ...(ib.policyRef ? { at: ib.policyRef } : {}) } };
      if (grpc) ib.notFoundGrpc = nf;
      else ib.notFound = nf;
    }
    steps.push(nf.step);
    const o: Outcome = { verdict: 'deny', mesh: MESH, reason: nf.reason, trace: steps };
    if (!grpc) o.status = 404;
    if (ib.policyRef) o.policy = ib.policyRef;
    return o;
  }

  private evaluateConnection(ib: Inbound, cv: CallView, steps: TraceStep[]): Outcome {
    const why = ib.protocol === 'opaque' || ib.protocol === 'tls' ? `${ib.label} is ${PROTOCOL_TEXT[ib.protocol]}: the connection is authorized as a whole` : 'the connection is not HTTP: it is authorized as a whole';
    if (cv.verbose) steps.push({ text: why, outcome: 'applies' });
    let ipUnknown = false;
    for (const a of ib.authzs) {
      const c = checkAuthz(a, cv, cv.principal);
      if (c === Check.Match) {
        steps.push(cv.verbose ? verboseStep(a, c, cv.ipText, cv.principal) : a.steps.matched);
        let cached = ib.connAllow.get(a);
        if (!cached) {
          const reason = `allowed${a.audit ? ' (audit)' : ''}: ${a.label} authorizes the connection to ${ib.server ? ib.label : 'the port (no Server selects it)'}`;
          cached = { reason, step: { text: reason, outcome: 'verdict', ...(a.at ? { at: a.at } : {}) } };
          ib.connAllow.set(a, cached);
        }
        steps.push(cached.step);
        const o: Outcome = { verdict: 'allow', mesh: MESH, reason: cached.reason, trace: steps };
        if (a.audit) o.audited = true;
        if (a.policyRef) o.policy = a.policyRef;
        return o;
      }
      if (c === Check.IpUnknown) ipUnknown = true;
      steps.push(cv.verbose ? verboseStep(a, c, cv.ipText, cv.principal) : stepFor(a, c));
    }
    if (ipUnknown) return unknownOutcome('unknown: an authorization depends on the client IP, which the record lacks', ['source.ip'], steps);
    if (!ib.connDeny) {
      const reason = `denied (connection refused): ${noneText(ib, undefined, ib.authzs)}`;
      ib.connDeny = { reason, step: { text: reason, outcome: 'verdict', ...(ib.policyRef ? { at: ib.policyRef } : {}) }, ...nothingStep(ib, undefined, ib.authzs) };
    }
    if (ib.connDeny.nothing) steps.push(ib.connDeny.nothing);
    steps.push(ib.connDeny.step);
    const o: Outcome = { verdict: 'deny', mesh: MESH, reason: ib.connDeny.reason, trace: steps, deniedBy: ib.denier };
    if (ib.policyRef) o.policy = ib.policyRef;
    return o;
  }

  private authorizeRoute(ib: Inbound, route: RouteC, rule: RuleC, cv: CallView, steps: TraceStep[], grpc: boolean, match?: HttpMatchDef): Outcome {
    steps.push(cv.verbose && match?.at ? { text: `${match.at.label} (${match.text}) matches the request`, outcome: 'matched', at: match.at } : rule.step);
    if (cv.verbose && route.authzs.length === 0) steps.push({ text: `${route.label} has no authorization at all`, outcome: 'not-matched' });
    let ipUnknown = false;
    const ruleRef = route.kind === 'HTTPRoute' || route.kind === 'GRPCRoute' ? rule.at : undefined;
    for (const a of route.authzs) {
      const c = checkAuthz(a, cv, cv.principal);
      if (c === Check.Match) {
        steps.push(cv.verbose ? verboseStep(a, c, cv.ipText, cv.principal) : a.steps.matched);
        let cached = route.allowCache.get(a);
        if (!cached) {
          const where = route.kind === 'default' ? (ib.server ? ib.label : 'the port (no Server selects it)') : route.kind === 'probe' ? route.label : `${route.label} of ${ib.label}`;
          const redirect = rule.redirect ? ` (the rule answers with a ${rule.redirect.status} redirect)` : '';
          const reason = `allowed${a.audit ? ' (audit)' : ''}: ${a.label} authorizes the request on ${where}${redirect}`;
          cached = { reason, step: { text: reason, outcome: 'verdict', ...(a.at ? { at: a.at } : {}) } };
          route.allowCache.set(a, cached);
        }
        steps.push(cached.step);
        // One literal per shape (no properties added later: cheaper objects on the hot path).
        const p = a.policyRef;
        const o: Outcome = p
          ? (ruleRef ? { verdict: 'allow', mesh: MESH, reason: cached.reason, trace: steps, policy: p, rule: ruleRef } : { verdict: 'allow', mesh: MESH, reason: cached.reason, trace: steps, policy: p })
          : (ruleRef ? { verdict: 'allow', mesh: MESH, reason: cached.reason, trace: steps, rule: ruleRef } : { verdict: 'allow', mesh: MESH, reason: cached.reason, trace: steps });
        if (a.audit) o.audited = true;
        if (rule.redirect) o.status = rule.redirect.status;
        return o;
      }
      if (c === Check.IpUnknown) ipUnknown = true;
      steps.push(cv.verbose ? verboseStep(a, c, cv.ipText, cv.principal) : stepFor(a, c));
    }
    if (ipUnknown) return unknownOutcome('unknown: an authorization depends on the client IP, which the record lacks', ['source.ip'], steps);
    let d = grpc ? route.denyCacheGrpc : route.denyCache;
    if (!d) {
      const reason = `denied (${grpc ? 'gRPC PERMISSION_DENIED' : 'HTTP 403'}): ${noneText(ib, route, route.authzs)}`;
      d = { reason, step: { text: reason, outcome: 'verdict', ...(ib.policyRef ? { at: ib.policyRef } : {}) }, ...nothingStep(ib, route, route.authzs) };
      if (grpc) route.denyCacheGrpc = d;
      else route.denyCache = d;
    }
    if (d.nothing) steps.push(d.nothing);
    steps.push(d.step);
    const p = ib.policyRef;
    const o: Outcome = p
      ? (ruleRef ? { verdict: 'deny', mesh: MESH, reason: d.reason, trace: steps, policy: p, rule: ruleRef, deniedBy: ib.denier } : { verdict: 'deny', mesh: MESH, reason: d.reason, trace: steps, policy: p, deniedBy: ib.denier })
      : { verdict: 'deny', mesh: MESH, reason: d.reason, trace: steps, deniedBy: ib.denier };
    if (!grpc) o.status = 403;
    return o;
  }

  /** What the compiled policies hold, for diagnostics and tests. */
  stats(): { servers: number; policies: number; routes: number } {
    let servers = 0;
    let policies = 0;
    let routes = 0;
    for (const l of this.idx.servers.values()) servers += l.length;
    for (const l of this.idx.policies.values()) policies += l.length;
    for (const l of this.idx.routes.values()) routes += l.length;
    return { servers, policies, routes };
  }
}

/**
 * What attaches to a Server or a route, in the order of the resource index, found by key
 * instead of scanning the namespace's policies and routes once per Server and route.
 */
export class TargetIndex {
  /** Per namespace: policies targeting the namespace, and those targeting each Server, with
   * their position in the namespace's list (to merge them in that order). */
  private readonly namespaceWide = new Map<string, PolicyDef[]>();
  private readonly byServer = new Map<string, PolicyDef[]>();
  private readonly position = new Map<PolicyDef, number>();
  private readonly byRoute = new Map<string, PolicyDef[]>();
  private readonly routesByParent = new Map<string, RouteDef[]>();

  constructor(idx: ResourceIndex) {
    for (const [namespace, policies] of idx.policies) {
      policies.forEach((p, i) => {
        const t = p.target;
        if (!t) return;
        this.position.set(p, i);
        if (t.type === 'namespace') append(this.namespaceWide, namespace, p);
        else if (t.type === 'server') append(this.byServer, `${namespace}\u0000${t.name}`, p);
        else append(this.byRoute, routeKey(namespace, t.group, t.kind, t.name), p);
      });
    }
    for (const [namespace, routes] of idx.routes) {
      for (const r of routes) for (const parent of new Set(r.parents)) append(this.routesByParent, `${namespace}\u0000${parent}`, r);
    }
  }

  /** Policies targeting the Server or its namespace, in the namespace's order. */
  serverPolicies(s: ServerDef): PolicyDef[] {
    const wide = this.namespaceWide.get(s.namespace) ?? [];
    const own = this.byServer.get(`${s.namespace}\u0000${s.name}`) ?? [];
    if (own.length === 0 || wide.length === 0) return own.length ? own : wide;
    return [...wide, ...own].sort((a, b) => this.position.get(a)! - this.position.get(b)!);
  }

  routePolicies(r: RouteDef): PolicyDef[] {
    return this.byRoute.get(routeKey(r.namespace, r.group, r.kind, r.name)) ?? [];
  }

  /** Routes naming the Server as a parent, in the namespace's order. */
  routesOf(s: ServerDef): RouteDef[] {
    return this.routesByParent.get(`${s.namespace}\u0000${s.name}`) ?? [];
  }
}

/** Route targets compare group, kind and name case-insensitively. */
/** The selector a Server matches the destination with: ExternalWorkloads are selected by
 * `externalWorkloadSelector` only, pods by `podSelector` only (index.rs). */
function selectorFor(s: ServerDef, pod: PodView): Selector | undefined {
  return pod.external ? s.externalSelector : s.podSelector;
}

function routeKey(namespace: string, group: string, kind: string, name: string): string {
  return `${namespace}\u0000${group.toLowerCase()}\u0000${kind.toLowerCase()}\u0000${name.toLowerCase()}`;
}

function append<T>(map: Map<string, T[]>, key: string, value: T): void {
  const list = map.get(key);
  if (list) list.push(value);
  else map.set(key, [value]);
}

/** The destination view of a pod IP, for the namespace first asked (a record may name another). */

interface DenyText {
  reason: string;
  step: TraceStep;
  /** "Nothing authorizes ...", when no authorization besides localhost exists. */
  nothing?: TraceStep;
}

/** Why nobody got in, in one phrase (the proxy's own localhost authorization is not counted). */
function noneText(ib: Inbound, route: RouteC | undefined, authzs: Authz[]): string {
  const where = !route || route.kind === 'default' ? ib.label : route.kind === 'probe' ? route.label : `${route.label} of ${ib.label}`;
  const n = authzs.filter((a) => a.kind !== 'localhost').length;
  if (n === 0) return ib.server ? `no authorization applies to ${where}` : `${ib.label} authorizes no client`;
  return n === 1 ? `the one authorization of ${where} does not admit the client` : `none of the ${n} authorizations of ${where} admits the client`;
}

function nothingStep(ib: Inbound, route: RouteC | undefined, authzs: Authz[]): { nothing?: TraceStep } {
  if (authzs.some((a) => a.kind !== 'localhost')) return {};
  let text: string;
  if (!ib.server) text = `${ib.label} admits no client`;
  else if (route && (route.kind === 'HTTPRoute' || route.kind === 'GRPCRoute')) text = `no AuthorizationPolicy targets ${route.label}, and none (nor any ServerAuthorization or accessPolicy) authorizes ${ib.label}`;
  else text = `no AuthorizationPolicy, ServerAuthorization or accessPolicy authorizes ${ib.label}`;
  return { nothing: { text, outcome: 'not-matched', ...(route?.at ? { at: route.at } : ib.policyRef ? { at: ib.policyRef } : {}) } };
}

/** Non-audit before audit, localhost before audit (spec §2.6: report audit only when no other
 * authorization matches). */
function orderAuthzs(authzs: Authz[], localhost: Authz | undefined): Authz[] {
  const plain = authzs.filter((a) => !a.audit);
  const audit = authzs.filter((a) => a.audit);
  return localhost ? [...plain, localhost, ...audit] : [...plain, ...audit];
}

function joinAuthzs(routeLevel: Authz[], server: Authz[]): Authz[] {
  const plainRoute = routeLevel.filter((a) => !a.audit);
  const auditRoute = routeLevel.filter((a) => a.audit);
  const plainServer = server.filter((a) => !a.audit);
  const auditServer = server.filter((a) => a.audit);
  return [...plainRoute, ...plainServer, ...auditRoute, ...auditServer];
}

function newCallView(): CallView {
  const cv = {
    call: undefined, verbose: false, ip: undefined, ipParsed: false, ipText: undefined, notLoopback: false, principal: undefined, proto: undefined,
    method: undefined, path: undefined, query: undefined, authority: undefined, host: undefined, hostRead: false, hasRequest: false, headers: undefined, queryPairs: undefined,
  } as unknown as CallView;
  cv.req = cv;
  return cv;
}

/** How the proxy reads the call: as recorded, else HTTP when the request has a method or path
 * (a record read from JSON may say `"request": null`: no request, as when absent). */
export function callProto(protocol: AccessRecord['protocol'], request: AccessRecord['request'] | null): CallView['proto'] {
  if (protocol === 'tcp') return 'tcp';
  if (protocol === 'grpc') return 'grpc';
  if (protocol === 'http' || protocol === 'http2') return 'http';
  if (request && (request.method !== undefined || request.path !== undefined)) return 'http';
  return undefined;
}

/** Whether an inbound server of this protocol authorizes the call as a connection, as HTTP requests, or (protocol not recorded, detected) either. */
export function protocolWorlds(protocol: ProxyProtocol, proto: CallView['proto']): readonly ('conn' | 'http')[] {
  if (protocol === 'opaque' || protocol === 'tls') return CONN;
  if (protocol !== 'detect') return HTTP;
  if (proto === 'tcp') return CONN;
  if (proto === undefined) return BOTH;
  return HTTP;
}

/** The client's mesh identity as the authorizations read it; undefined for a plaintext client. */
export function callPrincipal(call: AccessRecord): string | undefined {
  const principal = call.source?.principal;
  return typeof principal === 'string' && principal !== '' ? principal : undefined;
}

/** Reads the call's attributes into `cv` (every field written, so a reused view keeps nothing). */
function fillCallView(cv: CallView, call: AccessRecord, verbose: boolean): CallView {
  const src = call.source;
  const principal = callPrincipal(call);
  const proto = callProto(call.protocol, call.request);
  cv.call = call;
  cv.verbose = verbose;
  cv.ip = undefined;
  cv.ipParsed = false;
  cv.ipText = src?.ip;
  cv.notLoopback = src?.notLoopback === true;
  cv.principal = principal;
  cv.proto = proto;
  return fillRequestView(cv, call.request);
}

function union(a: string[] | undefined, b: string[]): string[] {
  const out = [...(a ?? [])];
  for (const x of b) if (!out.includes(x)) out.push(x);
  return out;
}

function unknownOutcome(reason: string, missing: string[], steps: TraceStep[]): Outcome {
  steps.push({ text: `${reason} (missing: ${missing.join(', ')})`, outcome: 'verdict' });
  return { verdict: 'unknown', mesh: MESH, reason, trace: steps, missing };
}

/** Several possible worlds: the verdict stands when they all agree (spec §4.0). */
function combine(outcomes: { o: Outcome; world: string }[], worldMissing: string[]): Outcome {
  const first = outcomes[0]!.o;
  const anyUnknown = outcomes.some((x) => x.o.verdict === 'unknown');
  const same = !anyUnknown && outcomes.every((x) => x.o.verdict === first.verdict);
  if (same) {
    const statusSame = outcomes.every((x) => x.o.status === first.status);
    const o: Outcome = { ...first, trace: [...first.trace] };
    if (!statusSame) delete o.status;
    if (outcomes.some((x) => x.o.audited)) o.audited = true;
    o.trace.splice(o.trace.length - 1, 0, { text: `${worldMissing.join(', ')} not recorded, but every possibility (${[...new Set(outcomes.map((x) => x.world || 'as recorded'))].join('; ')}) gives ${first.verdict}`, outcome: 'applies' });
    return o;
  }
  let missing: string[] = [...worldMissing];
  for (const x of outcomes) if (x.o.missing) missing = union(missing, x.o.missing);
  const steps: TraceStep[] = [];
  // (two worlds can read alike, e.g. the probe route reached by either of its paths: one line each)
  const written = new Set<string>();
  for (const x of outcomes) {
    const text = `if ${x.world || 'as recorded'}: ${x.o.reason}`;
    if (!written.has(text)) steps.push({ text, outcome: 'unknown', ...(x.o.policy ? { at: x.o.policy } : {}) });
    written.add(text);
  }
  const known = [...new Set(outcomes.map((x) => x.o.verdict).filter((v) => v !== 'unknown'))];
  const reason = `unknown: the verdict depends on ${missing.join(', ')}, which the record lacks${known.length > 1 ? ` (${known.join(' or ')})` : ''}`;
  steps.push({ text: reason, outcome: 'verdict' });
  return { verdict: 'unknown', mesh: MESH, reason, trace: steps, missing };
}


import type { WorkloadInfo } from '../../inventory/inventory';
import { escapeRegex } from '../../audit/generate/yaml';
import { fileProbes, workloadKey } from '../../inventory/probes';
import { isDefaultPolicy, matchSelector, readResources, type DefaultPolicyName, type HttpMatchDef, type IdentitySet, type PolicyDef, type RouteDef, type Selector, type ServerAuthorizationDef, type ServerDef } from '../../simulate/linkerd/model';
import { TargetIndex } from '../../simulate/linkerd/evaluate';
import { coversEverything, parseNet, type NetMatch } from '../../simulate/linkerd/net';
import { ANNOTATION, FileLookup } from '../../simulate/linkerd/pod';
import { resourceRef } from '../../simulate/sourceRefs';
import type { SourceRef } from '../../simulate/types';
import { linkerdCluster, linkerdIdentitySuffix } from '../identities';
import { contains, intersect, makeAtom, mergeHeaders, type Atom } from './requests';
import { ANY_IDENTITY, type AccessModel, type AccessRule, type Callers, type HeaderCondition, type Identity, type MeshResources, type Network, type PathMatch, type Protection, type Requests, type TranslationContext, type TranslationNote } from '../model';

/**
 * Linkerd → access model (docs/translate/linkerd.md). The resources are read by the simulator's
 * own reader (`simulate/linkerd/model.ts`: admission rejections and controller "ignoring" cases
 * included) and attached by its `TargetIndex`; each Server becomes an allow protection of its
 * pods and port, with one rule per authorization (per set of header conditions of its requests).
 */

/** How a note says that a policy's target is in no file read (the CLI then suggests --workspace). */
export const MISSING_TARGET = 'is defined in none of the files read';


/** One request form a route admits, with the header conditions it needs. */
interface Alternative {
  requests: Requests;
  headers: HeaderCondition[];
}

/** One authorization, as the callers it admits (`from: []`: any caller). */
interface Authorization {
  origin: SourceRef;
  from: Callers[];
}

/** A model identity from a Linkerd identity string, or undefined when it is no service account's or namespace's of this cluster. */
export function identityOf(text: string, suffix: string): Identity | undefined {
  if (text === '*') return ANY_IDENTITY;
  if (!text.endsWith(suffix)) return undefined;
  const parts = text.slice(0, -suffix.length).split('.');
  if (parts.length !== 2 || parts[1] === '*' || parts[1] === '') return undefined;
  if (parts[0] === '*') return { namespace: parts[1]!, serviceAccount: '*' };
  return parts[0] && !parts[0].includes('*') ? { namespace: parts[1]!, serviceAccount: parts[0] } : undefined;
}

export function networkOf(m: NetMatch): Network {
  return { cidr: m.net.text, except: m.except.map((e) => e.text) };
}

/** A literal written as RE2 by `escapeRegex`, followed by `.*`: a plain string prefix. */
export function prefixOfRegex(regex: string): string | undefined {
  const m = /^((?:[^.*+?^${}()|[\]\\]|\\[.*+?^${}()|[\]\\])*)\.\*$/.exec(regex);
  if (!m) return undefined;
  const literal = m[1]!.replace(/\\(.)/g, '$1');
  return literal.startsWith('/') ? literal : undefined;
}

/** The header regular expression that admits every value: the writer's form of "present with any value". */
export const ANY_VALUE_REGEX = '.*';

export function readLinkerd(resources: MeshResources, context: TranslationContext): AccessModel {
  return new Reader(resources, context).read();
}

class Reader {
  private readonly notes: TranslationNote[] = [];
  private readonly protections: Protection[] = [];
  private readonly own: MeshResources;
  private readonly idx;
  private readonly targets;
  private readonly files;
  private readonly policyCache = new Map<PolicyDef, Authorization | undefined>();
  private readonly clusterNetworks: NetMatch[];
  private readonly cluster: { controlPlaneNamespace: string; trustDomain: string };

  constructor(resources: MeshResources, private readonly context: TranslationContext) {
    this.own = resources.filter((r) => r.resource.mesh === 'linkerd');
    this.cluster = linkerdCluster(context);
    this.idx = readResources(this.own, this.cluster);
    this.targets = new TargetIndex(this.idx);
    this.files = new FileLookup(this.own.map((r) => r.file));
    this.clusterNetworks = context.config.linkerd.clusterNetworks.flatMap((text) => {
      const net = parseNet(text);
      return net ? [{ net, except: [] }] : [];
    });
  }

  private note(at: SourceRef, effect: TranslationNote['effect'], text: string): void {
    this.notes.push({ at, effect, text });
  }

  read(): AccessModel {
    for (const def of this.idx.all) {
      if (def.rejected) this.note(def.at, 'same', `the admission webhook would reject it (${def.rejected}): it never exists, so it is not translated`);
      else if (def.ignored) this.note(def.at, 'same', `the policy controller ignores it (${def.ignored}): it grants nothing, so it is not translated`);
    }
    this.duplicates();
    this.defaultPolicyNotes();
    for (const servers of this.idx.servers.values()) {
      const usable = servers.filter((s) => !s.rejected);
      usable.forEach((s, i) => this.readServer(s, usable.slice(0, i)));
    }
    this.unattached();
    return { mesh: 'linkerd', protections: this.protections, notes: this.notes };
  }

  /** An object written twice (same group, kind, namespace, name) exists once: the simulator takes the first one read. */
  private duplicates(): void {
    const seen = new Set<string>();
    for (const { file, resource } of this.own) {
      const key = `${resource.entry.group ?? ''}/${resource.kind}/${resource.namespace ?? 'default'}/${resource.name ?? ''}`;
      if (seen.has(key)) this.note(resourceRef(file, resource, `${resource.kind} ${resource.namespace ?? 'default'}/${resource.name ?? ''}`), 'unknown', 'the same object is written more than once: the first one read is translated, as the simulator decides with it');
      seen.add(key);
    }
  }

  // ------------------------------------------------------------------ defaults

  private defaultPolicyNotes(): void {
    const meaning = (name: DefaultPolicyName): string => {
      switch (name) {
        case 'all-authenticated': return 'only clients with a mesh identity, from any network';
        case 'cluster-unauthenticated': return 'any client from the cluster networks';
        case 'cluster-authenticated': return 'only clients with a mesh identity from the cluster networks';
        case 'deny': return 'no client at all';
        case 'audit': return 'every client, each call logged as audited';
        default: return 'every client';
      }
    };
    const say = (at: SourceRef, name: DefaultPolicyName, where: string): void => {
      if (name === 'all-unauthenticated') return;
      this.note(at, name === 'audit' ? 'same' : 'wider', `${where} default inbound policy is ${name} (${meaning(name)}) on ports no Server selects; the model leaves those calls to the target mesh's default, which may allow more`);
    };
    const configured = this.context.config.linkerd.defaultInboundPolicy;
    if (isDefaultPolicy(configured)) say({ file: this.context.config.file ?? '.meshpolicy.yaml', range: ZERO_RANGE, label: 'linkerd.defaultInboundPolicy' }, configured, 'the cluster-wide');
    const inventory = this.context.inventory;
    for (const ns of [...inventory.namespaces.values()].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0))) {
      const value = ns.annotations[ANNOTATION.defaultPolicy];
      if (isDefaultPolicy(value)) say(this.files.ref(ns, `Namespace ${ns.name}`) ?? { file: ns.file, range: ZERO_RANGE, label: `Namespace ${ns.name}` }, value, `namespace ${ns.name}'s`);
    }
    for (const w of inventory.workloads) {
      const value = w.annotations[ANNOTATION.defaultPolicy];
      const label = `${w.kind} ${w.namespace}/${w.name}`;
      if (isDefaultPolicy(value)) say(this.files.ref(w, label) ?? { file: w.file, range: ZERO_RANGE, label }, value, `${label}'s`);
    }
  }

  // ------------------------------------------------------------------ servers

  private readServer(s: ServerDef, older: ServerDef[]): void {
    if (!s.podSelector) {
      this.note(s.at, 'wider', 'an externalWorkloadSelector Server protects ExternalWorkloads, which the model cannot name: left out, so calls to them get the target mesh\'s default');
      return;
    }
    const selector = s.podSelector;
    if (selector.exprs.length) this.note(s.at, 'unknown', `podSelector.matchExpressions (${selector.exprs.map((e) => `${e.key} ${e.op}`).join(', ')}) cannot be carried: the protection selects by matchLabels alone, so pods the expressions exclude are governed too`);
    const ports = this.portsOf(s);
    if (!ports) return;
    for (const o of older) {
      if (o.podSelector && compatible(o.podSelector, selector) && (o.port === s.port || typeof o.port !== 'number' || typeof s.port !== 'number')) {
        this.note(s.at, 'wider', `where ${o.at.label} also selects a pod's port, Linkerd uses the older Server alone; the model applies both`);
      }
    }
    const protection: Protection = {
      origin: s.at, name: s.name, action: 'allow',
      target: { namespace: s.namespace, ...(selector.labels.length ? { labels: Object.fromEntries(selector.labels) } : {}) },
      ports, rules: [],
    };
    const serverAuthzs = this.serverAuthorizations(s);
    const routes = this.routesOf(s);
    if (!routes) {
      for (const a of serverAuthzs) protection.rules.push({ origin: a.origin, from: a.from, to: [], headers: [] });
      if (s.protocol !== 'opaque' && s.protocol !== 'tls' && s.protocol !== 'grpc') this.probeRule(s, ports, protection);
    } else {
      const all = routes.flatMap((r) => r.alternatives);
      // A route matching every request leaves the Server's own authorizations unrestricted.
      const catchAll = all.some((a) => !a.headers.length && !a.requests.methods && a.requests.paths?.length === 1 && a.requests.paths[0]!.kind === 'prefix' && a.requests.paths[0]!.value === '/');
      if (catchAll) for (const a of serverAuthzs) protection.rules.push({ origin: a.origin, from: a.from, to: [], headers: [] });
      else if (serverAuthzs.length && s.protocol === 'detect') {
        this.note(s.at, 'narrower', 'routes are attached: Linkerd still authorizes non-HTTP connections to this port by the Server\'s own authorizations, while the rules carried here admit the routes\' HTTP requests only');
      }
      if (!catchAll) for (const a of serverAuthzs) protection.rules.push(...rulesFor(a, all));
      for (const r of routes) for (const a of r.policies) protection.rules.push(...rulesFor(a, r.alternatives));
      this.overlaps(routes);
    }
    this.protections.push(protection);
  }

  private portsOf(s: ServerDef): number[] | undefined {
    if (typeof s.port === 'number') return [s.port];
    const ports = new Set<number>();
    for (const w of this.selected(s)) for (const p of w.ports) if (p.name === s.port && p.protocol.toUpperCase() === 'TCP') ports.add(p.containerPort);
    if (ports.size === 0) {
      this.note(s.at, 'unknown', `port "${s.port}" is a container port name that no workload of the inventory selected by the Server declares: the Server is left out`);
      return undefined;
    }
    return [...ports].sort((a, b) => a - b);
  }

  private selected(s: ServerDef): WorkloadInfo[] {
    return this.context.inventory.workloads.filter((w) => w.namespace === s.namespace && s.podSelector && matchSelector(s.podSelector, w.labels) === 1);
  }

  /** The kubelet's probe route of a Server without routes: GET on each probe path of the selected workloads, from `probeNetworks`. */
  private probeRule(s: ServerDef, ports: number[], protection: Protection): void {
    const paths = new Set<string>();
    for (const w of this.selected(s)) {
      const file = this.files.get(w.file);
      const probes = file ? fileProbes(file).byWorkload.get(workloadKey(w.kind, w.span)) ?? [] : [];
      for (const p of probes) if (ports.includes(p.port)) paths.add(p.path.split('?')[0]!);
    }
    // from `probeNetworks`: every address in the default install, as the simulator takes it
    if (paths.size === 0) return;
    protection.rules.push({
      origin: { ...s.at, label: `${s.at.label} probe route` }, from: [],
      to: [{ methods: ['GET'], paths: [...paths].sort().map((value) => ({ kind: 'exact', value })) }], headers: [],
    });
  }

  // ------------------------------------------------------------------ authorizations

  /** Server-level authorizations (mesh-semantics §2.3 step 4), in the simulator's order. */
  private serverAuthorizations(s: ServerDef): Authorization[] {
    const out: Authorization[] = [];
    for (const sa of this.idx.serverAuthorizations.get(s.namespace) ?? []) {
      const selects = 'name' in sa.server ? sa.server.name === s.name : matchSelector(sa.server.selector, s.labels) === 1;
      if (!selects || sa.rejected || sa.ignored) continue;
      const a = this.ofServerAuthorization(sa);
      if (a) out.push(a);
    }
    for (const p of this.targets.serverPolicies(s)) {
      const a = this.ofPolicy(p);
      if (a) out.push(a);
    }
    if (s.accessPolicy) {
      const origin = { ...s.at, label: `${s.at.label} accessPolicy ${s.accessPolicy}` };
      const any: Identity[] = [ANY_IDENTITY];
      const cluster = this.clusterNetworks.map(networkOf);
      switch (s.accessPolicy) {
        case 'all-unauthenticated': out.push({ origin, from: [] }); break;
        case 'audit':
          this.note(origin, 'same', 'accessPolicy audit admits every call (and logs it as audited): carried as an allow of every caller');
          out.push({ origin, from: [] });
          break;
        case 'all-authenticated': out.push({ origin, from: [{ identities: any }] }); break;
        case 'cluster-unauthenticated': out.push({ origin, from: [{ networks: cluster }] }); break;
        case 'cluster-authenticated': out.push({ origin, from: [{ identities: any, networks: cluster }] }); break;
        default: break;
      }
    }
    return out;
  }

  private ofServerAuthorization(sa: ServerAuthorizationDef): Authorization | undefined {
    const callers: Callers = {};
    const networks = sa.networks.length ? sa.networks : this.clusterNetworks;
    if (!coversEverything(networks)) callers.networks = networks.map(networkOf);
    const authn = sa.authn!;
    if (authn.type === 'tls') {
      this.note(sa.at, 'narrower', 'meshTLS.unauthenticatedTLS admits TLS clients with or without a mesh identity; the model requires an identity (any)');
      callers.identities = [ANY_IDENTITY];
    } else if (authn.type === 'ids') {
      const ids = this.identities(authn.ids, sa.at);
      if (!ids.length) return undefined;
      callers.identities = ids;
    }
    return { origin: sa.at, from: callers.identities || callers.networks ? [callers] : [] };
  }

  /** An AuthorizationPolicy as one authorization (its refs AND-ed), or undefined when it grants nothing. */
  private ofPolicy(p: PolicyDef): Authorization | undefined {
    if (this.policyCache.has(p)) return this.policyCache.get(p);
    let result: Authorization | undefined;
    if (!p.rejected) {
      const callers: Callers = {};
      let usable = true;
      for (const ref of p.authns) {
        const ns = ref.namespace ?? p.namespace;
        if (ref.kind === 'meshtls') {
          const m = this.idx.meshTLS.get(`${ns}/${ref.name}`);
          if (!m?.ids) {
            this.note(ref.at, 'same', `MeshTLSAuthentication ${ns}/${ref.name} ${m ? 'is not usable' : 'does not exist'}: Linkerd ignores the policy, which grants nothing, so it is not translated`);
            usable = false;
            break;
          }
          const ids = this.identities(m.ids, m.at);
          if (!ids.length) {
            usable = false;
            break;
          }
          callers.identities = ids;
        } else if (ref.kind === 'serviceaccount') {
          callers.identities = [{ namespace: ns, serviceAccount: ref.name }];
        } else {
          const n = this.idx.networks.get(`${ns}/${ref.name}`);
          if (!n?.networks) {
            this.note(ref.at, 'same', `NetworkAuthentication ${ns}/${ref.name} ${n ? 'is not usable' : 'does not exist'}: Linkerd ignores the policy, which grants nothing, so it is not translated`);
            usable = false;
            break;
          }
          if (!coversEverything(n.networks)) callers.networks = n.networks.map(networkOf);
        }
      }
      if (usable) result = { origin: p.at, from: callers.identities || callers.networks ? [callers] : [] };
    }
    this.policyCache.set(p, result);
    return result;
  }

  private identities(ids: IdentitySet, at: SourceRef): Identity[] {
    const out: Identity[] = [];
    for (const text of ids.text) {
      const suffix = linkerdIdentitySuffix(this.cluster);
      const id = identityOf(text, suffix);
      if (id) out.push(id);
      else this.note(at, 'narrower', `identity "${text}" is not a service account's or namespace's identity of this cluster (…${suffix}) nor "*": left out`);
    }
    return out;
  }

  // ------------------------------------------------------------------ routes

  /** The routes that decide the Server's HTTP requests (undefined: none, the default route). */
  private routesOf(s: ServerDef): { route: RouteDef; alternatives: Alternative[]; policies: Authorization[] }[] | undefined {
    const attached = this.targets.routesOf(s).filter((r) => !r.ignored);
    if (attached.length === 0) return undefined;
    if (s.protocol === 'opaque' || s.protocol === 'tls') {
      for (const r of attached) this.note(r.at, 'same', `${s.at.label} is ${s.protocol === 'tls' ? 'TLS' : 'opaque'}: its routes are never used, so this one is not translated`);
      return undefined;
    }
    const grpc = attached.filter((r) => r.kind === 'GRPCRoute');
    const http = attached.filter((r) => r.kind === 'HTTPRoute');
    let used: RouteDef[];
    if (s.protocol === 'grpc') {
      for (const r of http) this.note(r.at, 'same', `${s.at.label} is gRPC: HTTPRoutes are not used there, so this one is not translated`);
      used = grpc;
    } else if (grpc.length) {
      for (const r of http) this.note(r.at, 'same', `a GRPCRoute is attached to ${s.at.label} too: this HTTPRoute is not accepted (RouteReasonConflicted), so it is not translated`);
      for (const r of grpc) this.note(r.at, 'same', `${s.at.label} is not declared gRPC: it uses HTTPRoutes only, so this GRPCRoute is not translated`);
      used = [];
    } else used = http;
    if (used.length === 0) return undefined;
    return used.map((route) => ({
      route,
      alternatives: this.alternatives(route),
      policies: this.targets.routePolicies(route).map((p) => this.ofPolicy(p)).filter((a): a is Authorization => a !== undefined),
    }));
  }

  private alternatives(r: RouteDef): Alternative[] {
    if (r.hostnames.length) {
      this.note(r.at, 'narrower', `hostnames (${r.hostnames.map((h) => h.text).join(', ')}) cannot be carried: the route's requests are left out`);
      return [];
    }
    const out: Alternative[] = [];
    for (const rule of r.rules) {
      if (rule.redirect) {
        this.note(rule.at, 'narrower', 'a RequestRedirect filter answers with a redirect instead of serving the request: the rule is left out');
        continue;
      }
      if (rule.matches.length === 0) {
        out.push({ requests: { paths: [{ kind: 'prefix', value: '/' }] }, headers: [] });
        continue;
      }
      for (const m of rule.matches) {
        const alt = this.alternative(r, m);
        if (alt) out.push(alt);
      }
    }
    return out;
  }

  private alternative(r: RouteDef, m: HttpMatchDef): Alternative | undefined {
    const at = m.at ?? r.at;
    if (m.query.length) {
      this.note(at, 'narrower', `query parameter matches (${m.query.map((q) => q.text).join(', ')}) cannot be carried: the match is left out`);
      return undefined;
    }
    const headers: HeaderCondition[] = [];
    for (const h of m.headers) {
      if (h.exact !== undefined) headers.push({ name: h.name, values: [h.exact] });
      else if (h.regex && h.text.endsWith(`~ ${ANY_VALUE_REGEX}`)) headers.push({ name: h.name, values: [] });
      else {
        this.note(at, 'narrower', `a RegularExpression header match (${h.text}) cannot be carried: the match is left out`);
        return undefined;
      }
    }
    const requests: Requests = {};
    if (m.grpc) {
      const { service, method } = m.grpc;
      if (service && method) requests.paths = [{ kind: 'exact', value: `/${service}/${method}` }];
      else if (service) requests.paths = [{ kind: 'prefix', value: `/${service}/` }];
      else if (method) requests.paths = [{ kind: 'regex', value: `/[^/]*/${escapeRegex(method)}` }];
    } else {
      if (m.method) requests.methods = [m.method];
      if (m.path) requests.paths = pathMatches(m.path);
    }
    // An empty match admits every HTTP request (and no plain connection): a prefix `/` says so.
    if (!requests.methods && !requests.paths && !headers.length) requests.paths = [{ kind: 'prefix', value: '/' }];
    return { requests, headers };
  }

  /** Route precedence: where two routes with different authorizations may both match a
   * request, only the best one's apply, while the model takes both. That is exact when a match
   * equal to their overlap wins over both and carries both routes' authorizations (the
   * writer's form); any other overlap is noted. */
  private overlaps(routes: { route: RouteDef; policies: Authorization[] }[]): void {
    const atoms = routes.map((r, i) => routeAtoms(r.route, i));
    // authorizations compared by the callers they admit (the writer repeats one per route)
    const keys = routes.map((r) => new Set(r.policies.map((a) => JSON.stringify(a.from))));
    routes.forEach((b, j) => {
      for (const [i, a] of routes.slice(0, j).entries()) {
        if (sameSet(keys[i]!, keys[j]!)) continue;
        const ai = atoms[i];
        const bj = atoms[j];
        const exposed = ai && bj ? ai.some((x) => bj.some((y) => !covered(x, y, atoms.flatMap((list) => list ?? []), keys))) : routesMayOverlap(a.route, b.route);
        if (exposed) {
          this.note(b.route.at, 'unknown', `${a.route.at.label} and this route may match the same requests and are authorized differently: Linkerd applies only the best match's route authorizations, the model both`);
          return;
        }
      }
    });
  }

  /** AuthorizationPolicies whose target does not exist, and ServerAuthorizations that select no Server, grant nothing. */
  private unattached(): void {
    for (const [ns, policies] of this.idx.policies) {
      for (const p of policies) {
        if (p.rejected || !p.target || p.target.type === 'namespace') continue;
        const t = p.target;
        const what = `its target ${t.type === 'server' ? 'Server' : t.kind} ${ns}/${t.name}`;
        if (t.type === 'server') {
          const named = (this.idx.servers.get(ns) ?? []).filter((s) => s.name === t.name);
          if (named.length && named.every((s) => s.rejected)) this.note(p.at, 'same', `${what} would be rejected by the admission webhook, so it never exists: the policy grants nothing and is not translated`);
          else if (!named.length) this.note(p.at, 'same', `${what} ${MISSING_TARGET}: Linkerd ignores the policy until it exists, so it grants nothing and is not translated`);
          continue;
        }
        const routes = (this.idx.routes.get(ns) ?? []).filter((r) => r.kind.toLowerCase() === t.kind.toLowerCase() && r.name.toLowerCase() === t.name.toLowerCase() && r.group.toLowerCase() === t.group.toLowerCase());
        if (routes.length === 0) this.note(p.at, 'same', `${what} ${MISSING_TARGET}: Linkerd ignores the policy until it exists, so it grants nothing and is not translated`);
        else if (!routes.some((r) => r.parents.length > 0)) this.note(p.at, 'same', `${what} names no Server among its parentRefs: it routes nothing, so the policy grants nothing and is not translated`);
        else if (!routes.some((r) => r.parents.some((parent) => (this.idx.servers.get(ns) ?? []).some((s) => !s.rejected && s.name === parent)))) {
          this.note(p.at, 'same', `${what}'s parent Server ${routes.flatMap((r) => r.parents).join(', ')} ${MISSING_TARGET}: the policy grants nothing until it exists, so it is not translated`);
        }
      }
    }
    for (const [ns, list] of this.idx.serverAuthorizations) {
      for (const sa of list) {
        if (sa.rejected || sa.ignored) continue;
        const selects = (this.idx.servers.get(ns) ?? []).some((s) => !s.rejected && ('name' in sa.server ? sa.server.name === s.name : matchSelector(sa.server.selector, s.labels) === 1));
        if (!selects) this.note(sa.at, 'same', 'it selects no Server here: it grants nothing, so it is not translated');
      }
    }
  }
}

const ZERO_RANGE = { start: { line: 0, character: 0 }, end: { line: 0, character: 0 } };

/** Linkerd path match → model paths: a segment-aware PathPrefix is the exact path or a string prefix ending in `/`. */
function pathMatches(p: NonNullable<HttpMatchDef['path']>): PathMatch[] {
  if (p.type === 'Exact') return [{ kind: 'exact', value: p.value }];
  if (p.type === 'RegularExpression') {
    const prefix = prefixOfRegex(p.value);
    return [prefix !== undefined ? { kind: 'prefix', value: prefix } : { kind: 'regex', value: p.value }];
  }
  if (p.trimmed === '/') return [{ kind: 'prefix', value: '/' }];
  return [{ kind: 'exact', value: p.trimmed }, { kind: 'prefix', value: `${p.trimmed}/` }];
}

/** The rules of one authorization over request alternatives: one rule per set of header conditions. */
function rulesFor(a: Authorization, alternatives: Alternative[]): AccessRule[] {
  const groups = new Map<string, { headers: HeaderCondition[]; to: Requests[] }>();
  for (const alt of alternatives) {
    const key = JSON.stringify(alt.headers);
    let g = groups.get(key);
    if (!g) groups.set(key, (g = { headers: alt.headers, to: [] }));
    if (!g.to.some((r) => JSON.stringify(r) === JSON.stringify(alt.requests))) g.to.push(alt.requests);
  }
  return [...groups.values()].map((g) => ({ origin: a.origin, from: a.from, to: g.to, headers: g.headers }));
}


/** Two pod selectors that could select the same pod (no label asked for with two values). */
function compatible(a: Selector, b: Selector): boolean {
  const labels = new Map(a.labels);
  return b.labels.every(([k, v]) => !labels.has(k) || labels.get(k) === v);
}

/** A route match as a request form, with what the proxy ranks it by (routes.ts `matchHttp`). */
interface RouteAtom {
  atom: Atom;
  route: number;
  /** A fixed path-match length (and whether Exact), or the request's own length (RegularExpression). */
  path: { fixed: number; exact: boolean } | 'request';
  method: number;
  headers: number;
  query: number;
}

/** Undefined when the route's precedence is not compared here (hostnames, gRPC). */
function routeAtoms(r: RouteDef, route: number): RouteAtom[] | undefined {
  if (r.hostnames.length || r.kind === 'GRPCRoute') return undefined;
  const out: RouteAtom[] = [];
  for (const rule of r.rules) {
    const matches: Partial<HttpMatchDef>[] = rule.matches.length ? rule.matches : [{}];
    for (const m of matches) {
      // a regular-expression header counts as "present": a superset of what it matches
      const headers = mergeHeaders((m.headers ?? []).map((h): [string, string] => [h.name, h.exact ?? '*']));
      if (!headers) continue;
      const p = m.path;
      const path: RouteAtom['path'] = !p ? { fixed: 1, exact: false } : p.type === 'Exact' ? { fixed: p.value.length, exact: true } : p.type === 'PathPrefix' ? { fixed: p.trimmed === '/' ? 1 : p.trimmed.length, exact: false } : 'request';
      for (const pm of p ? pathMatches(p) : [undefined]) {
        out.push({ atom: makeAtom(m.method, pm, headers), route, path, method: m.method ? 1 : 0, headers: m.headers?.length ?? 0, query: m.query?.length ?? 0 });
      }
    }
  }
  return out;
}

/** Whether the requests both `x` and `y` match are decided by a match equal to their overlap that outranks both and carries both routes' authorizations. */
function covered(x: RouteAtom, y: RouteAtom, all: RouteAtom[], keys: Set<string>[]): boolean {
  const overlap = intersect(x.atom, y.atom);
  if (overlap === null) return true;
  if (overlap === 'inexpressible') return false;
  const needed = new Set([...keys[x.route]!, ...keys[y.route]!]);
  return all.some((z) => contains(overlap, z.atom) && contains(z.atom, x.atom) && contains(z.atom, y.atom)
    && [...needed].every((k) => keys[z.route]!.has(k)) && outranks(z, x) && outranks(z, y));
}

/** `z` wins over `x` on every request both match (precedence of mesh-semantics §2.5; ties: the earlier route). */
function outranks(z: RouteAtom, x: RouteAtom): boolean {
  if (z === x) return true;
  let c: number;
  if (z.path === 'request' && x.path === 'request') c = 0;
  else if (z.path === 'request') c = (x.path as { exact: boolean }).exact ? -1 : 0;
  else if (x.path === 'request') c = z.path.exact ? 1 : -1;
  else c = z.path.fixed * 2 + (z.path.exact ? 1 : 0) - (x.path.fixed * 2 + (x.path.exact ? 1 : 0));
  if (c !== 0) return c > 0;
  for (const k of ['method', 'headers', 'query'] as const) if (z[k] !== x[k]) return z[k] > x[k];
  return z.route <= x.route;
}


function sameSet(a: Set<string>, b: Set<string>): boolean {
  return a.size === b.size && [...a].every((k) => b.has(k));
}

function routesMayOverlap(a: RouteDef, b: RouteDef): boolean {
  const matches = (r: RouteDef): HttpMatchDef[] => r.rules.flatMap((rule) => (rule.matches.length ? rule.matches : [{ index: 0, headers: [], query: [], text: '' } as HttpMatchDef]));
  return matches(a).some((x) => matches(b).some((y) => matchesMayOverlap(x, y)));
}

function matchesMayOverlap(x: HttpMatchDef, y: HttpMatchDef): boolean {
  if (x.grpc || y.grpc) {
    const gx = x.grpc ?? {};
    const gy = y.grpc ?? {};
    return (!gx.service || !gy.service || gx.service === gy.service) && (!gx.method || !gy.method || gx.method === gy.method);
  }
  if (x.method && y.method && x.method !== y.method) return false;
  for (const hx of x.headers) for (const hy of y.headers) if (hx.name === hy.name && hx.exact !== undefined && hy.exact !== undefined && hx.exact !== hy.exact) return false;
  const px = x.path;
  const py = y.path;
  if (!px || !py) return true;
  const admits = (p: NonNullable<HttpMatchDef['path']>, path: string): boolean => {
    if (p.type === 'Exact') return p.value === path;
    if (p.type === 'RegularExpression') return p.regex ? p.regex.matches(path) : true;
    const trimmed = path.replace(/\/+$/, '');
    return p.trimmed === '/' || trimmed === p.trimmed || trimmed.startsWith(`${p.trimmed}/`);
  };
  if (px.type === 'Exact') return admits(py, px.value);
  if (py.type === 'Exact') return admits(px, py.value);
  if (px.type === 'PathPrefix' && py.type === 'PathPrefix') return admits(px, py.trimmed) || admits(py, px.trimmed);
  return true;
}


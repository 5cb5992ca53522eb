import { dnsName, escapeRegex, str, YamlWriter } from '../../audit/generate/yaml';
import type { WorkloadInfo } from '../../inventory/inventory';
import { InventoryIndex } from '../../inventory/inventoryIndex';
import { fileProbes, workloadKey } from '../../inventory/probes';
import { FileLookup } from '../../simulate/linkerd/pod';
import { AnchoredRegex } from '../../simulate/linkerd/regex';
import type { SourceRef } from '../../simulate/types';
import { linkerdCluster, linkerdIdentity, linkerdIdentitySuffix } from '../identities';
import { identityInvalid } from '../../simulate/linkerd/model';
import { netCovers, parseNet } from '../../simulate/linkerd/net';
import type { AccessModel, AccessRule, Callers, Identity, Network, PathMatch, Protection, TranslationContext, TranslationNote, WrittenPolicies } from '../model';
import { ANY_VALUE_REGEX } from './read';
import { atomsOf, contains, describeAtom, intersect, type Atom } from './requests';

/**
 * Access model → Linkerd (docs/translate/linkerd.md). Per allow protection and port, a Server
 * (v1beta3, so nothing is authorized but what is written); a rule without request conditions
 * becomes AuthorizationPolicies on the Server, a rule with some becomes one HTTPRoute per
 * request form ("atom": method, path, header values) with the rule's policies on it. Linkerd
 * answers a request with the best-matching route's authorizations alone, so the atoms are
 * closed under intersection, each carries the authorizations of every atom containing it, and
 * route names sort the more specific atoms first (precedence ties go to the older route, then
 * the name). With any route, a catch-all route keeps the Server's own authorizations reaching
 * every request.
 */

const MAX_ATOMS = 256;


/** One caller alternative of one rule: an AuthorizationPolicy per target it reaches. */
interface Auth {
  rule: AccessRule;
  callers?: Callers;
  /** Index among the Server's authorizations (names). */
  n: number;
}

interface ServerGroup {
  namespace: string;
  labels?: Record<string, string>;
  port: number;
  protections: Protection[];
  name: string;
  /** The inventory's workloads the Server was written for, where protections overlap there. */
  workloads?: WorkloadInfo[];
}

export function writeLinkerd(model: AccessModel, context: TranslationContext): WrittenPolicies {
  return new Writer(model, context).write();
}

class Writer {
  private readonly notes: TranslationNote[] = [];
  private readonly body = new YamlWriter();
  private resources = 0;
  /** The inventory's manifests, for the workloads' probes (which the inventory does not keep). */
  private readonly files = new FileLookup([]);

  constructor(private readonly model: AccessModel, private readonly context: TranslationContext) {}

  /** Each note once (a rule is written once per port and namespace). */
  private note(at: SourceRef, effect: TranslationNote['effect'], text: string): void {
    if (this.notes.some((n) => n.at === at && n.effect === effect && n.text === text)) return;
    this.notes.push({ at, effect, text });
  }

  write(): WrittenPolicies {
    const allows = this.model.protections.filter((p) => p.action === 'allow');
    const groups = this.groups(allows);
    for (const d of this.model.protections.filter((p) => p.action === 'deny')) this.deny(d, allows);
    for (const g of groups) this.server(g);
    return { mesh: 'linkerd', yaml: this.resources ? this.body.toString() : '', resources: this.resources, notes: this.notes };
  }

  // ------------------------------------------------------------------ servers

  private namespacesOf(p: Protection): string[] {
    if (p.target.namespace !== '*') return [p.target.namespace];
    const inv = this.context.inventory;
    const all = [...new Set([...inv.namespaces.keys(), ...inv.workloads.map((w) => w.namespace)])].sort();
    if (!all.length) this.note(p.origin, 'wider', 'the protection applies in every namespace and the inventory names none: Linkerd Servers are namespaced, so nothing is written and calls get Linkerd\'s default inbound policy');
    return all;
  }

  private portsOf(p: Protection, namespace: string): number[] {
    if (p.ports) return p.ports;
    const named = new Set<number>();
    let everyRuleNamesPorts = p.rules.length > 0;
    for (const r of p.rules) {
      if (!r.to.length || r.to.some((t) => !t.ports)) everyRuleNamesPorts = false;
      for (const t of r.to) for (const port of t.ports ?? []) named.add(port);
    }
    if (!everyRuleNamesPorts) {
      for (const w of this.context.inventory.workloads) {
        if (w.namespace !== namespace || !labelsMatch(p.target.labels, w.labels)) continue;
        for (const port of w.ports) if (port.protocol.toUpperCase() === 'TCP') named.add(port.containerPort);
      }
    }
    const ports = [...named].sort((a, b) => a - b);
    if (!ports.length) this.note(p.origin, 'wider', `the protection governs every port of its workloads in ${namespace}, and neither its rules nor the inventory name one: a Linkerd Server needs a port, so nothing is written and calls get Linkerd's default inbound policy`);
    else this.note(p.origin, 'wider', `the protection governs every port; Servers are written for port${ports.length > 1 ? 's' : ''} ${ports.join(', ')} in ${namespace} (${everyRuleNamesPorts ? 'the ports its rules name' : 'its rules\' ports and the ports the inventory\'s workloads declare'}): calls to other ports get Linkerd's default inbound policy`);
    return ports;
  }

  /**
   * The Servers to write. One per namespace, pod labels and port, shared by the protections with
   * the same target; but Linkerd applies a single Server to a pod's port, so where the inventory
   * shows workloads that protections with different targets select on one port, those
   * protections' Servers are replaced by one Server per group of workloads the same protections
   * apply to, carrying all their rules (the model's union).
   */
  private groups(allows: Protection[]): ServerGroup[] {
    const order = new Map(allows.map((p, i) => [p, i]));
    const byKey = new Map<string, ServerGroup>();
    const ports = new Map<string, number[]>();
    for (const p of allows) {
      for (const namespace of this.namespacesOf(p)) {
        const written = this.portsOf(p, namespace);
        ports.set(JSON.stringify([order.get(p)!, namespace]), written);
        for (const port of written) {
          const key = JSON.stringify([namespace, sortedLabels(p.target.labels), port]);
          const g = byKey.get(key);
          if (g) g.protections.push(p);
          else byKey.set(key, { namespace, ...(p.target.labels ? { labels: p.target.labels } : {}), port, protections: [p], name: '' });
        }
      }
    }
    const index = InventoryIndex.of(this.context.inventory);
    const workloadsIn = memoByKey((namespace: string) => topLevelWorkloads(index, namespace));
    const selections = new Map<string, { list: WorkloadInfo[]; set: Set<WorkloadInfo> }>();
    const selection = (p: Protection, namespace: string): { list: WorkloadInfo[]; set: Set<WorkloadInfo> } => {
      const key = `${order.get(p)!}/${namespace}`;
      let found = selections.get(key);
      if (!found) {
        const list = workloadsIn(namespace).filter((w) => labelsMatch(p.target.labels, w.labels));
        selections.set(key, (found = { list, set: new Set(list) }));
      }
      return found;
    };
    const selected = (p: Protection, namespace: string): WorkloadInfo[] => selection(p, namespace).list;
    const appliesOn = (p: Protection, namespace: string, port: number): boolean => !!ports.get(JSON.stringify([order.get(p)!, namespace]))?.includes(port);

    const used = new Set<string>();
    const named = (g: ServerGroup, base: string): ServerGroup => {
      const trim = (i?: number): string => dnsName(base, g.port, ...(i ? [i] : [])).slice(0, 40).replace(/-$/, '');
      let name = trim();
      for (let i = 2; used.has(`${g.namespace}/${name}`); i++) name = trim(i);
      used.add(`${g.namespace}/${name}`);
      g.name = name;
      return g;
    };
    const out: ServerGroup[] = [];
    const unknown = new Set<ServerGroup>();
    const written = new Set<string>();
    const split = new Set<Protection>();
    for (const g of byKey.values()) {
      const members = selected(g.protections[0]!, g.namespace);
      if (!members.length) unknown.add(g);
      const keyOf = (w: WorkloadInfo): Protection[] => allows.filter((p) => appliesOn(p, g.namespace, g.port) && selection(p, g.namespace).set.has(w));
      if (members.every((w) => sameSet(keyOf(w), g.protections))) {
        out.push(named(g, g.protections[0]!.name));
        continue;
      }
      // the protections overlap on these workloads: one Server per group of workloads the same protections apply to
      const classes = new Map<string, { key: Protection[]; workloads: WorkloadInfo[] }>();
      for (const w of members) {
        const key = keyOf(w);
        const id = key.map((p) => order.get(p)!).join(',');
        const c = classes.get(id);
        if (c) c.workloads.push(w);
        else classes.set(id, { key, workloads: [w] });
      }
      const ordered = [...classes.entries()].sort((a, b) => compareText(firstName(a[1].workloads), firstName(b[1].workloads)));
      for (const [id, c] of ordered) {
        const classId = `${g.namespace}/${g.port}/${id}`;
        if (written.has(classId)) continue;
        written.add(classId);
        for (const p of c.key) split.add(p);
        // the protection selecting the fewest workloads names the Server
        const owner = c.key.reduce((a, b) => (selected(b, g.namespace).length < selected(a, g.namespace).length ? b : a));
        const all = workloadsIn(g.namespace);
        const selector = exactSelector(c.workloads, all, c.key);
        const parts = selector ? [{ labels: selector, workloads: c.workloads }] : c.workloads.map((w) => ({ labels: exactSelector([w], all, c.key), workloads: [w] }));
        for (const part of parts) {
          if (!part.labels && !Object.keys(part.workloads[0]!.labels).length) {
            this.note(owner.origin, 'wider', `Linkerd uses one Server per pod port, and workload ${g.namespace}/${part.workloads[0]!.name} has no labels to select it by without the rest of the namespace: no Server is written for it on port ${g.port}, so its calls there get Linkerd's default inbound policy`);
            continue;
          }
          const whole = sameSet(part.workloads, selected(owner, g.namespace));
          const server = named({ namespace: g.namespace, port: g.port, protections: c.key, name: '', labels: part.labels ?? part.workloads[0]!.labels, workloads: part.workloads }, whole ? owner.name : `${owner.name}-${part.workloads[0]!.name}`);
          if (!part.labels) this.note(owner.origin, 'narrower', `Linkerd uses one Server per pod port, and no labels pick workload ${g.namespace}/${part.workloads[0]!.name} without others that other protections apply to on port ${g.port}: its Server overlaps theirs and only one of them (the older, then the first by name) applies`);
          out.push(server);
        }
      }
    }
    // a split protection's Servers cover the pods the inventory does not show only on ports where one of them selects its whole target
    const uncovered = new Map<string, { p: Protection; namespace: string; ports: number[] }>();
    for (const g of byKey.values()) {
      for (const p of g.protections) {
        if (!split.has(p) || out.some((o) => o.namespace === g.namespace && o.port === g.port && o.protections.includes(p) && sameLabels(o.labels, p.target.labels))) continue;
        const key = `${order.get(p)!}/${g.namespace}`;
        const u = uncovered.get(key) ?? { p, namespace: g.namespace, ports: [] };
        u.ports.push(g.port);
        uncovered.set(key, u);
      }
    }
    for (const { p, namespace, ports: list } of uncovered.values()) {
      this.note(p.origin, 'unknown', `Linkerd uses one Server per pod port, and other protections apply to some of these workloads: in ${namespace} on port${list.length > 1 ? 's' : ''} ${list.join(', ')}, the Servers are written per group of workloads of the inventory that the same protections apply to, each with the rules of all of them, so pods the inventory does not show get no Server there from this protection and follow Linkerd's default inbound policy`);
    }
    out.forEach((g, j) => {
      if (!unknown.has(g)) return;
      const other = out.find((o, i) => i !== j && o.namespace === g.namespace && o.port === g.port && compatibleLabels(o.labels, g.labels));
      if (other) this.note(g.protections[0]!.origin, 'narrower', `Linkerd uses one Server per pod port, and the inventory shows no workload this protection selects: where its workloads and those of ${other.protections[0]!.origin.label} overlap on port ${g.port}, only one Server (the older, then the first by name) applies, not both`);
    });
    return out;
  }

  private server(g: ServerGroup): void {
    const { body } = this;
    const auths: Auth[] = [];
    const serverLevel: Auth[] = [];
    const originals: { atom: Atom; auths: Auth[] }[] = [];
    for (const p of g.protections) {
      for (const rule of p.rules) {
        const applicable = rule.to.length ? rule.to.filter((t) => !t.ports || t.ports.includes(g.port)) : [{}];
        if (!applicable.length) continue;
        const ruleAuths = this.authsOf(rule, auths);
        if (!ruleAuths.length) continue;
        if (!rule.headers.length && applicable.some((t) => !t.methods && !t.paths)) {
          serverLevel.push(...ruleAuths);
          continue;
        }
        for (const atom of atomsOf(applicable, rule)) {
          const problem = unwritable(atom);
          if (problem) {
            this.note(rule.origin, 'narrower', `${problem}: an HTTPRoute cannot match it, so the request form is left out`);
            continue;
          }
          const known = originals.find((o) => o.atom.key === atom.key);
          if (known) known.auths.push(...ruleAuths);
          else originals.push({ atom, auths: [...ruleAuths] });
        }
      }
    }
    const routes = this.routes(originals, g);
    if (!routes.length && !serverLevel.some((a) => !a.callers)) this.probeNote(g);

    body.document();
    for (const p of g.protections) body.comment(0, `from ${where(p.origin)}`);
    if (g.workloads) body.comment(0, `Linkerd uses one Server per pod port: this one is for ${g.workloads.map((w) => w.name).join(', ')}, with the rules of every protection that applies there.`);
    if (!serverLevel.length && !routes.length) body.comment(0, 'No authorization: the Server denies every call to the port.');
    body.key(0, 'apiVersion', 'policy.linkerd.io/v1beta3').key(0, 'kind', 'Server');
    this.metadata(g.name, g.namespace);
    body.key(0, 'spec');
    if (g.labels && Object.keys(g.labels).length) {
      body.key(2, 'podSelector').key(4, 'matchLabels');
      for (const [k, v] of sortedLabels(g.labels)) body.key(6, k, v);
    } else body.line(2, 'podSelector: {}');
    body.key(2, 'port', g.port);
    this.resources++;

    // authentications, once per authorization that some target uses
    const usedAuths = auths.filter((a) => serverLevel.includes(a) || routes.some((r) => r.auths.includes(a)));
    for (const a of usedAuths) this.authentications(g, a);
    for (const a of serverLevel) this.policy(g, a, 'Server', g.name);
    if (routes.length && serverLevel.length) {
      this.route(g, dnsName(g.name, 'rest'), undefined, 'Every request no other route matches: the Server\'s own authorizations apply to it.');
    }
    routes.forEach((r, i) => {
      const name = dnsName(g.name, `r${String(i + 1).padStart(3, '0')}`);
      this.route(g, name, r.atom, `from ${[...new Set(r.auths.map((a) => where(a.rule.origin)))].join('; ')}`);
      for (const a of r.auths) this.policy(g, a, 'HTTPRoute', name);
    });
  }

  /** Linkerd gives a Server without routes a route for the kubelet's probes, authorized from `probeNetworks` (every address by default; mesh-semantics §2.5). */
  private probeNote(g: ServerGroup): void {
    const paths = new Set<string>();
    const names: string[] = [];
    for (const w of g.workloads ?? this.context.inventory.workloads.filter((w) => w.namespace === g.namespace && labelsMatch(g.labels, w.labels))) {
      const file = this.files.get(w.file);
      const probes = (file ? fileProbes(file).byWorkload.get(workloadKey(w.kind, w.span)) : undefined)?.filter((p) => p.port === g.port) ?? [];
      for (const p of probes) paths.add(p.path.replace(/[?#].*$/, '') || '/');
      if (probes.length) names.push(w.name);
    }
    if (!paths.size) return;
    this.note(g.protections[0]!.origin, 'wider', `Linkerd gives a Server without HTTPRoutes a probe route: GET ${[...paths].sort().join(', ')} on port ${g.port} of ${names.join(', ')} (their HTTP probes) is allowed from probeNetworks (every address by default), whatever the protections say`);
  }

  /** One authorization per caller alternative of the rule (any caller: one without requirements). */
  private authsOf(rule: AccessRule, all: Auth[]): Auth[] {
    const out: Auth[] = [];
    const alternatives: (Callers | undefined)[] = rule.from.length ? rule.from : [undefined];
    for (const callers of alternatives) {
      const c = callers && this.writable(callers, rule);
      if (callers && !c) continue;
      const auth: Auth = { rule, ...(c ? { callers: c } : {}), n: all.length + 1 };
      all.push(auth);
      out.push(auth);
    }
    return out;
  }

  /** The callers as Linkerd can require them (identities it cannot name and networks it would refuse left out, noted), or undefined when none is left. */
  private writable(callers: Callers, rule: AccessRule): Callers | undefined {
    const out: Callers = {};
    if (callers.identities) {
      out.identities = callers.identities.filter((id) => {
        if (id.namespace === '*' && id.serviceAccount !== '*') {
          this.note(rule.origin, 'narrower', `identity of service account ${id.serviceAccount} in any namespace: Linkerd matches identities exactly or by a suffix, so it is left out`);
          return false;
        }
        if (identityInvalid(identityText(this.context, id))) {
          this.note(rule.origin, 'narrower', `identity ${id.namespace}/${id.serviceAccount} does not make a DNS-like Linkerd identity (lower-case letters, digits, dashes): left out`);
          return false;
        }
        return true;
      });
      if (!out.identities.length) return undefined;
    }
    if (callers.networks) {
      out.networks = callers.networks.filter((n) => {
        const problem = networkProblem(n);
        if (problem) this.note(rule.origin, 'narrower', `network ${n.cidr}: ${problem}, which Linkerd refuses; left out`);
        return !problem;
      });
      if (!out.networks.length) return undefined;
    }
    return out;
  }

  /** The atoms closed under intersection, each with the authorizations of every atom containing it, most specific first. */
  private routes(originals: { atom: Atom; auths: Auth[] }[], g: ServerGroup): { atom: Atom; auths: Auth[] }[] {
    if (!originals.length) return [];
    const atoms = originals.map((o) => o.atom);
    const keys = new Set(atoms.map((a) => a.key));
    // authorizations compared by the callers they admit
    const authKey = (atom: Atom): string => [...new Set(originals.filter((o) => contains(atom, o.atom)).flatMap((o) => o.auths.map((a) => JSON.stringify(a.callers ?? null))))].sort().join('|');
    let capped = false;
    for (let i = 0; i < atoms.length; i++) {
      for (let j = 0; j < i; j++) {
        const x = intersect(atoms[i]!, atoms[j]!);
        if (x === null || keys.has(x === 'inexpressible' ? '' : x.key)) continue;
        if (x === 'inexpressible') {
          if (authKey(atoms[i]!) !== authKey(atoms[j]!)) {
            const o = originals.find((r) => r.atom === atoms[i]) ?? originals.find((r) => r.atom === atoms[j]);
            this.note(o?.auths[0]?.rule.origin ?? g.protections[0]!.origin, 'unknown', `the paths ${describeAtom(atoms[j]!)} and ${describeAtom(atoms[i]!)} may overlap, and Linkerd authorizes a request by its best-matching route alone: their overlap cannot be written as a route of its own`);
          }
          continue;
        }
        if (atoms.length >= MAX_ATOMS) {
          capped = true;
          continue;
        }
        atoms.push(x);
        keys.add(x.key);
      }
    }
    if (capped) this.note(g.protections[0]!.origin, 'unknown', `more than ${MAX_ATOMS} request forms on port ${g.port}: overlaps beyond them are not written as routes of their own, and Linkerd authorizes a request by its best-matching route alone`);
    const routes = atoms.map((atom) => {
      const auths = [...new Set(originals.filter((o) => contains(atom, o.atom)).flatMap((o) => o.auths))].sort((a, b) => a.n - b.n);
      const containers = atoms.filter((b) => b !== atom && contains(atom, b)).length;
      return { atom, auths, containers };
    });
    routes.sort((a, b) => b.containers - a.containers || (a.atom.key < b.atom.key ? -1 : a.atom.key > b.atom.key ? 1 : 0));
    return routes;
  }

  // ------------------------------------------------------------------ resources

  private metadata(name: string, namespace: string): void {
    this.body.key(0, 'metadata').key(2, 'name', name).key(2, 'namespace', namespace);
  }

  private authentications(g: ServerGroup, a: Auth): void {
    const { body } = this;
    const c = a.callers;
    if (c?.identities) {
      body.document().comment(0, `from ${where(a.rule.origin)}`);
      body.key(0, 'apiVersion', 'policy.linkerd.io/v1alpha1').key(0, 'kind', 'MeshTLSAuthentication');
      this.metadata(dnsName(g.name, `a${a.n}`), g.namespace);
      body.key(0, 'spec');
      body.list(2, 'identities', [...new Set(c.identities.map((id) => identityText(this.context, id)))].map((value) => ({ value })));
      this.resources++;
    }
    if (c?.networks) {
      body.document().comment(0, `from ${where(a.rule.origin)}`);
      body.key(0, 'apiVersion', 'policy.linkerd.io/v1alpha1').key(0, 'kind', 'NetworkAuthentication');
      this.metadata(dnsName(g.name, `a${a.n}`, 'net'), g.namespace);
      body.key(0, 'spec').key(2, 'networks');
      for (const n of c.networks) {
        body.line(4, `- cidr: ${str(n.cidr)}`);
        if (n.except.length) body.list(6, 'except', n.except.map((value) => ({ value })));
      }
      this.resources++;
    }
  }

  private policy(g: ServerGroup, a: Auth, kind: 'Server' | 'HTTPRoute', target: string): void {
    const { body } = this;
    body.document().comment(0, `from ${where(a.rule.origin)}`);
    body.key(0, 'apiVersion', 'policy.linkerd.io/v1alpha1').key(0, 'kind', 'AuthorizationPolicy');
    this.metadata(dnsName(target, `a${a.n}`), g.namespace);
    body.key(0, 'spec').key(2, 'targetRef');
    body.key(4, 'group', 'policy.linkerd.io').key(4, 'kind', kind).key(4, 'name', target);
    const refs: [string, string][] = [];
    if (a.callers?.identities) refs.push(['MeshTLSAuthentication', dnsName(g.name, `a${a.n}`)]);
    if (a.callers?.networks) refs.push(['NetworkAuthentication', dnsName(g.name, `a${a.n}`, 'net')]);
    if (!refs.length) body.line(2, 'requiredAuthenticationRefs: []', 'every client, from every network');
    else {
      body.key(2, 'requiredAuthenticationRefs');
      for (const [k, name] of refs) body.line(4, '- group: policy.linkerd.io').key(6, 'kind', k).key(6, 'name', name);
    }
    this.resources++;
  }

  private route(g: ServerGroup, name: string, atom: Atom | undefined, comment: string): void {
    const { body } = this;
    body.document().comment(0, comment);
    body.key(0, 'apiVersion', 'policy.linkerd.io/v1beta3').key(0, 'kind', 'HTTPRoute');
    this.metadata(name, g.namespace);
    body.key(0, 'spec').key(2, 'parentRefs');
    body.line(4, '- group: policy.linkerd.io').key(6, 'kind', 'Server').key(6, 'name', g.name);
    body.key(2, 'rules').line(4, '- matches:');
    const path = atom ? atom.path : { kind: 'prefix', value: '/' } as PathMatch;
    let first = true;
    const item = (text: string): void => {
      body.line(first ? 8 : 10, `${first ? '- ' : ''}${text}`);
      first = false;
    };
    if (path) {
      const written = linkerdPath(path);
      item('path:');
      body.key(12, 'type', written.type).key(12, 'value', written.value);
    }
    if (atom?.method) item(`method: ${atom.method}`);
    if (atom?.headers.length) {
      item('headers:');
      for (const [h, v] of atom.headers) {
        body.line(12, `- name: ${str(h)}`);
        if (v === '*') body.key(14, 'type', 'RegularExpression').key(14, 'value', ANY_VALUE_REGEX);
        else body.key(14, 'value', v);
      }
    }
    if (first) {
      item('path:');
      body.key(12, 'type', 'PathPrefix').key(12, 'value', '/');
    }
    this.resources++;
  }

  // ------------------------------------------------------------------ deny

  private deny(d: Protection, allows: Protection[]): void {
    const overlapping = allows.filter((a) => (a.target.namespace === d.target.namespace || a.target.namespace === '*' || d.target.namespace === '*')
      && compatibleLabels(a.target.labels, d.target.labels) && portsOverlap(a.ports, d.ports));
    if (!overlapping.length) {
      this.note(d.origin, 'wider', 'Linkerd has no deny, and no allow protection governs these workloads: the calls it denies get Linkerd\'s default inbound policy');
      return;
    }
    const disjoint = d.rules.every((dr) => overlapping.every((a) => a.rules.every((ar) => callersDisjoint(dr.from, ar.from))));
    if (disjoint && d.rules.length) this.note(d.origin, 'same', 'Linkerd has no deny: none of the callers it denies is admitted by the allow protections of the same workloads, so leaving it out decides the same');
    else this.note(d.origin, 'wider', 'Linkerd has no deny: it is left out, so calls that the allow protections of the same workloads admit are allowed even where it would deny them');
  }
}

const METHODS = new Set(['GET', 'HEAD', 'POST', 'PUT', 'DELETE', 'CONNECT', 'OPTIONS', 'TRACE', 'PATCH']);
const HEADER_NAME = /^[A-Za-z0-9!#$%&'*+\-.^_`|~]+$/;

/** Why the HTTPRoute CRD or the admission webhook would refuse the atom's match, if it would. */
function unwritable(atom: Atom): string | undefined {
  if (atom.method && !METHODS.has(atom.method)) return `method ${atom.method} is not one an HTTPRoute names`;
  for (const [h] of atom.headers) if (!HEADER_NAME.test(h) || h.length > 256) return `header ${h} is not a valid HTTP header name for an HTTPRoute`;
  const p = atom.path;
  if (!p) return undefined;
  const written = linkerdPath(p);
  if (written.value.length > 1024) return `path ${p.kind} ${p.value} is longer than an HTTPRoute path value may be`;
  if (written.type === 'RegularExpression') {
    if (!(AnchoredRegex.compile(written.value) instanceof AnchoredRegex)) return `path regex ${p.value} is not RE2 syntax`;
  } else if (!written.value.startsWith('/')) return `path ${p.value} does not start with /`;
  return undefined;
}

/** A model path as a Linkerd path match: a plain string prefix other than `/` is not Linkerd's segment-aware PathPrefix, so it is a regular expression. */
function linkerdPath(p: PathMatch): { type: string; value: string } {
  if (p.kind === 'exact') return { type: 'Exact', value: p.value };
  if (p.kind === 'regex') return { type: 'RegularExpression', value: p.value };
  return p.value === '/' ? { type: 'PathPrefix', value: '/' } : { type: 'RegularExpression', value: `${escapeRegex(p.value)}.*` };
}

// ---------------------------------------------------------------------- helpers

/** Why NetworkAuthentication validation (mesh-semantics §2.7.2) would refuse the network, if it would. */
function networkProblem(n: Network): string | undefined {
  const net = parseNet(n.cidr);
  if (!net) return 'not an address or prefix';
  for (const text of n.except) {
    const e = parseNet(text);
    if (!e) return `exception ${text} is not an address or prefix`;
    if (!netCovers(net, e)) return `exception ${text} is not inside it`;
    if (e.bits <= net.bits) return `exception ${text} covers all of it`;
  }
  return undefined;
}

function identityText(context: TranslationContext, id: Identity): string {
  if (id.namespace === '*' && id.serviceAccount === '*') return '*';
  if (id.serviceAccount === '*') return `*.${id.namespace}${linkerdIdentitySuffix(linkerdCluster(context))}`;
  return linkerdIdentity(context, id);
}

function where(ref: SourceRef): string {
  return `${ref.file}:${ref.range.start.line + 1} ${ref.label}`;
}

function sortedLabels(labels: Record<string, string> | undefined): [string, string][] {
  return Object.entries(labels ?? {}).sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0));
}

function labelsMatch(selector: Record<string, string> | undefined, labels: Record<string, string>): boolean {
  return Object.entries(selector ?? {}).every(([k, v]) => labels[k] === v);
}

function sameLabels(a: Record<string, string> | undefined, b: Record<string, string> | undefined): boolean {
  return JSON.stringify(sortedLabels(a)) === JSON.stringify(sortedLabels(b));
}

function sameSet<T>(a: readonly T[], b: readonly T[]): boolean {
  return a.length === b.length && a.every((x) => b.includes(x));
}

function compareText(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

function firstName(workloads: WorkloadInfo[]): string {
  return workloads.map((w) => w.name).sort(compareText)[0] ?? '';
}

function memoByKey<T>(f: (key: string) => T): (key: string) => T {
  const cache = new Map<string, T>();
  return (key) => {
    if (!cache.has(key)) cache.set(key, f(key));
    return cache.get(key)!;
  };
}

/** The workloads of a namespace whose pods a Server can select: pod templates and Pods of none (the inventory's and those it implies), by name. */
function topLevelWorkloads(index: InventoryIndex, namespace: string): WorkloadInfo[] {
  const tops = new Set<WorkloadInfo>();
  for (const w of [...index.inventory.workloads, ...index.impliedWorkloads]) {
    if (w.namespace !== namespace) continue;
    tops.add(w.kind === 'Pod' ? index.matchForPod(w).workload : index.topLevel(w));
  }
  return [...tops].sort((a, b) => compareText(a.name, b.name) || compareText(a.kind, b.kind));
}

const MAX_SELECTOR_LABELS = 3;

/**
 * The fewest pod labels that select exactly `chosen` among the namespace's workloads `all`: the
 * protections' own target labels when they do, else the smallest set of the labels all of
 * `chosen` share (by size, then name). Undefined when no labels do.
 */
function exactSelector(chosen: WorkloadInfo[], all: WorkloadInfo[], protections: Protection[]): Record<string, string> | undefined {
  const exact = (selector: Record<string, string>): boolean => sameSet(all.filter((w) => labelsMatch(selector, w.labels)), chosen);
  const own: Record<string, string> = {};
  let consistent = true;
  for (const p of protections) {
    for (const [k, v] of Object.entries(p.target.labels ?? {})) {
      if (own[k] !== undefined && own[k] !== v) consistent = false;
      own[k] = v;
    }
  }
  if (consistent && exact(own)) return own;
  const common = sortedLabels(chosen[0]?.labels).filter(([k, v]) => chosen.every((w) => w.labels[k] === v));
  const search = (from: number, size: number, picked: [string, string][]): Record<string, string> | undefined => {
    if (picked.length === size) {
      const selector = Object.fromEntries(picked);
      return exact(selector) ? selector : undefined;
    }
    for (let i = from; i < common.length; i++) {
      const found = search(i + 1, size, [...picked, common[i]!]);
      if (found) return found;
    }
    return undefined;
  };
  for (let size = 1; size <= Math.min(MAX_SELECTOR_LABELS, common.length); size++) {
    const found = search(0, size, []);
    if (found) return found;
  }
  const everything = Object.fromEntries(common);
  return exact(everything) ? everything : undefined;
}

function compatibleLabels(a: Record<string, string> | undefined, b: Record<string, string> | undefined): boolean {
  return Object.entries(a ?? {}).every(([k, v]) => b?.[k] === undefined || b[k] === v);
}

function portsOverlap(a: number[] | undefined, b: number[] | undefined): boolean {
  return !a || !b || a.some((p) => b.includes(p));
}

function identitiesOverlap(a: Identity, b: Identity): boolean {
  return (a.namespace === '*' || b.namespace === '*' || a.namespace === b.namespace) && (a.serviceAccount === '*' || b.serviceAccount === '*' || a.serviceAccount === b.serviceAccount);
}

/** Whether no caller can match both lists (each needs identities, and none of them overlap). */
function callersDisjoint(a: Callers[], b: Callers[]): boolean {
  if (!a.length || !b.length) return false;
  return a.every((x) => b.every((y) => !!x.identities && !!y.identities && x.identities.every((i) => y.identities!.every((j) => !identitiesOverlap(i, j)))));
}

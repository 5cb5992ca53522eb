import { dnsName, escapeRegex, str, YamlWriter } from '../../audit/generate/yaml';
import { AnchoredRegex } from '../../simulate/linkerd/regex';
import type { SourceRef } from '../../simulate/types';
import { linkerdIdentity, LINKERD_CONTROL_PLANE_NAMESPACE, LINKERD_TRUST_DOMAIN } from '../identities';
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
}

export function writeLinkerd(model: AccessModel, context: TranslationContext): WrittenPolicies {
  return new Writer(model, context).write();
}

class Writer {
  private readonly notes: TranslationNote[] = [];
  private readonly body = new YamlWriter();
  private resources = 0;

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

  /** One Server per namespace, pod labels and port; protections with the same target share it. */
  private groups(allows: Protection[]): ServerGroup[] {
    const byKey = new Map<string, ServerGroup>();
    const used = new Set<string>();
    for (const p of allows) {
      for (const namespace of this.namespacesOf(p)) {
        for (const port of this.portsOf(p, namespace)) {
          const key = JSON.stringify([namespace, sortedLabels(p.target.labels), port]);
          const g = byKey.get(key);
          if (g) {
            g.protections.push(p);
            continue;
          }
          let name = dnsName(p.name, port).slice(0, 40).replace(/-$/, '');
          for (let i = 2; used.has(`${namespace}/${name}`); i++) name = dnsName(p.name, port, i).slice(0, 40).replace(/-$/, '');
          used.add(`${namespace}/${name}`);
          byKey.set(key, { namespace, ...(p.target.labels ? { labels: p.target.labels } : {}), port, protections: [p], name });
        }
      }
    }
    const groups = [...byKey.values()];
    groups.forEach((g, j) => {
      const other = groups.slice(0, j).find((o) => o.namespace === g.namespace && o.port === g.port && compatibleLabels(o.labels, g.labels));
      if (other) this.note(g.protections[0]!.origin, 'narrower', `Linkerd uses one Server per pod port: where the workloads of ${other.protections[0]!.origin.label} and of this protection overlap on port ${g.port}, only one Server (the first by name) applies, not both`);
    });
    return groups;
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

    body.document();
    for (const p of g.protections) body.comment(0, `from ${where(p.origin)}`);
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
        if (identityInvalid(identityText(id))) {
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
      body.list(2, 'identities', [...new Set(c.identities.map(identityText))].map((value) => ({ value })));
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

function identityText(id: Identity): string {
  if (id.namespace === '*' && id.serviceAccount === '*') return '*';
  if (id.serviceAccount === '*') return `*.${id.namespace}.serviceaccount.identity.${LINKERD_CONTROL_PLANE_NAMESPACE}.${LINKERD_TRUST_DOMAIN}`;
  return linkerdIdentity(id);
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
